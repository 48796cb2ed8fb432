
/*
 * Copyright (C) Tollgate
 *
 * Vetted modules and the sandbox's require() (gw_lua.h, gw_lua_module()).
 *
 * Two tables of the registry, per state:
 *
 *   "gw.modules"  name -> the compiled chunk of a module gw_lua_module()
 *                 vetted and no require() has run yet (its environment
 *                 is the sandbox's, "gw.env");
 *   "gw.loaded"   name -> what require(name) gives: "json" and "ffi"
 *                 (gw_lua_env.c), and each module once it ran; while it
 *                 runs, the light userdata gw_lua_loading, so that a
 *                 module requiring itself is an error, not a recursion
 *                 that ends in a stack overflow.
 *
 * A module runs inside the call that required it, through lua_pcall():
 * the count hook goes on charging that call's budget, the watchdog
 * watches that call, the allocator charges the state.  Its depth counts
 * with the other C functions that call Lua back (GW_LUA_CCALL_MAX).
 */


#include <string.h>

#include "gw_lua_int.h"


typedef struct {
    const char         *name;
    const char         *text;
    size_t              len;
    const char         *refused;    /* why, when not compiled */
} gw_lua_module_arg_t;


static char  gw_lua_loading_tag;
#define gw_lua_loading  ((void *) &gw_lua_loading_tag)


static int
gw_lua_module_name_ok(const char *name)
{
    size_t  i;

    if (name[0] < 'a' || name[0] > 'z') {
        return 0;
    }

    for (i = 1; name[i] != '\0'; i++) {
        if (i >= GW_LUA_MODULE_NAME_MAX) {
            return 0;
        }

        if ((name[i] < 'a' || name[i] > 'z')
            && (name[i] < '0' || name[i] > '9')
            && name[i] != '_' && name[i] != '.' && name[i] != '-')
        {
            return 0;
        }
    }

    return 1;
}


/* in protected mode: compiles the text into "gw.modules" */

static int
gw_lua_module_add(lua_State *L)
{
    gw_lua_module_arg_t  *arg;

    arg = lua_touserdata(L, 1);

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.loaded");
    lua_getfield(L, -1, arg->name);
    lua_getfield(L, LUA_REGISTRYINDEX, "gw.modules");
    lua_getfield(L, -1, arg->name);

    if (!lua_isnil(L, -1) || !lua_isnil(L, -3)) {
        arg->refused = "a module of that name is vetted already";
        return 0;
    }

    lua_pop(L, 1);

    lua_pushfstring(L, "=%s", arg->name);

    if (luaL_loadbufferx(L, arg->text, arg->len, lua_tostring(L, -1), "t")
        != 0)
    {
        return lua_error(L);
    }

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.env");
    (void) lua_setfenv(L, -2);

    lua_setfield(L, -3, arg->name);

    return 0;
}


gw_lua_rc_e
gw_lua_module(gw_lua_t *s, const char *name, const char *text, size_t len,
    gw_lua_err_t *err)
{
    gw_lua_rc_e          rc;
    gw_lua_module_arg_t  arg;

    if (!gw_lua_module_name_ok(name)) {
        gw_lua_err_set(err, GW_LUA_ERROR, "invalid module name", 19);
        return GW_LUA_ERROR;
    }

    if (strcmp(name, "json") == 0 || strcmp(name, "ffi") == 0) {
        gw_lua_err_set(err, GW_LUA_ERROR, "a built-in module's name", 24);
        return GW_LUA_ERROR;
    }

    if (len > 0 && text[0] == 0x1b) {
        gw_lua_err_set(err, GW_LUA_ERROR, "bytecode is refused", 19);
        return GW_LUA_ERROR;
    }

    arg.name = name;
    arg.text = text;
    arg.len = len;
    arg.refused = NULL;

    rc = gw_lua_cpcall(s, gw_lua_module_add, &arg, err);

    if (rc == GW_LUA_OK && arg.refused != NULL) {
        gw_lua_err_set(err, GW_LUA_ERROR, arg.refused, strlen(arg.refused));
        return GW_LUA_ERROR;
    }

    return rc;
}


/*
 * require(name) of the sandbox: what "gw.loaded" holds, else the vetted
 * module run once, else an error.  A module's error is raised again as it
 * is (the budget's too: the hook raises it again anyway).
 */

int
gw_lua_require(lua_State *L)
{
    int          status;
    gw_lua_t    *s;
    const char  *name;

    name = luaL_checkstring(L, 1);
    lua_settop(L, 1);

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.loaded");       /* 2 */
    lua_getfield(L, 2, name);                              /* 3 */

    if (lua_touserdata(L, 3) == gw_lua_loading) {
        /* lua_error(): luaL_error()'s position would be the module's */
        lua_pushfstring(L, "module '%s' requires itself", name);
        return lua_error(L);
    }

    if (!lua_isnil(L, 3)) {
        return 1;
    }

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.modules");      /* 4 */
    lua_getfield(L, 4, name);                              /* 5 */

    if (!lua_isfunction(L, 5)) {
        lua_pushfstring(L, "module '%s' is not available in the sandbox",
                        name);
        return lua_error(L);
    }

    s = gw_lua_from(L);

    if (s->ccalls >= GW_LUA_CCALL_MAX) {
        return luaL_error(L, "C stack overflow");
    }

    /* may raise (no memory): then nothing is set */
    lua_pushlightuserdata(L, gw_lua_loading);
    lua_setfield(L, 2, name);

    lua_pushvalue(L, 1);

    s->ccalls++;
    status = lua_pcall(L, 1, 1, 0);
    s->ccalls--;

    if (status != 0) {
        /* the key exists: setting it allocates nothing */
        lua_pushnil(L);
        lua_setfield(L, 2, name);
        return lua_error(L);
    }

    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }

    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);

    /* the chunk is not needed any more */
    lua_pushnil(L);
    lua_setfield(L, 4, name);

    return 1;
}
