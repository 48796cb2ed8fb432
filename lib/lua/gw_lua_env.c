
/*
 * Copyright (C) Tollgate
 *
 * The environment of sandboxed code (gw_lua.h).  A fresh table, at the
 * registry's "gw.env", holds copies of what is safe:
 *
 *   - base: assert error getmetatable ipairs next pairs pcall rawequal
 *     rawget rawset select setmetatable tonumber tostring type unpack
 *     _VERSION _G (the environment itself); not getfenv/setfenv
 *     (they reach other functions' environments), load/loadstring/
 *     loadfile/dofile (replaced below), newproxy (userdata with __gc),
 *     print (stdout), gcinfo, module, collectgarbage (replaced below);
 *   - xpcall(f, handler, ...) written in Lua: the handler runs after the
 *     error unwound, not inside the error (debug is absent, so it could
 *     not inspect the stack anyway): a handler that loops or raises is
 *     then stopped by the budget like any code, while LuaJIT's own
 *     xpcall would call it again for each error it raises;
 *   - collectgarbage("count") only: the other options stop or tune the
 *     collector of a state the sandbox shares with the gateway's code;
 *   - copies of coroutine, string (without dump: bytecode), table, math
 *     and bit: changing them changes this environment's copy only;
 *   - os.time, os.clock, os.date, written here so that they hold the
 *     guard around the libc calls that take locks (localtime, mktime);
 *   - load(text [, name]): text only (never bytecode), into this same
 *     environment; nil and a message on a syntax error;
 *   - require(name): the vetted modules only (gw_lua_module.c): those at
 *     the registry's "gw.loaded", "json" (gw_lua_json.c) and "ffi" for a
 *     state made with conf.ffi and conf.trusted (the runtime may add its
 *     own there), and the Lua modules gw_lua_module() vetted.
 *
 * string.gsub (with a function or table as replacement), coroutine.resume
 * and coroutine.wrap are wrapped so that they nest GW_LUA_CCALL_MAX deep
 * at most ("C stack overflow"): each level takes C stack that LuaJIT does
 * not count, and a recursion through them would crash the process.
 *
 * The string metatable is replaced by one whose __index is another copy
 * of the string table and whose __metatable is false: getmetatable("")
 * gives false, so no code can change what ("x"):rep does for other code
 * of the state.  io, os.execute/exit/getenv/remove/rename, debug, jit,
 * package are not there at all.
 */


#include <string.h>
#include <time.h>

#include "gw_lua_int.h"


#define GW_LUA_DATE_FMT_MAX  256
#define GW_LUA_DATE_MAX      4096
#define GW_LUA_TIME_MAX      9007199254740992.0     /* 2^53 seconds */


static const char  gw_lua_xpcall[] =
    "local pcall = pcall\n"
    "local function finish(h, ok, ...)\n"
    "    if ok then return true, ... end\n"
    "    return false, h((...))\n"
    "end\n"
    "return function (f, h, ...) return finish(h, pcall(f, ...)) end\n";


static const char  *gw_lua_base_names[] = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall",
    "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber",
    "tostring", "type", "unpack", "_VERSION", NULL
};


/*
 * A copy of the table at t (absolute index) without the names in skip
 * (NULL-terminated), pushed.
 */

static void
gw_lua_copy(lua_State *L, int t, const char **skip)
{
    int          i, keep;
    const char  *key;

    lua_newtable(L);
    lua_pushnil(L);

    while (lua_next(L, t) != 0) {
        keep = 1;

        if (lua_type(L, -2) == LUA_TSTRING && skip != NULL) {
            key = lua_tostring(L, -2);

            for (i = 0; skip[i] != NULL; i++) {
                if (strcmp(key, skip[i]) == 0) {
                    keep = 0;
                    break;
                }
            }
        }

        if (keep) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);

        } else {
            lua_pop(L, 1);
        }
    }
}


/* a copy of the global library name into env (at -1) */

static void
gw_lua_copy_lib(lua_State *L, const char *name, const char **skip)
{
    lua_getglobal(L, name);
    gw_lua_copy(L, lua_gettop(L), skip);
    lua_setfield(L, -3, name);
    lua_pop(L, 1);
}


static int
gw_lua_env_collectgarbage(lua_State *L)
{
    const char  *opt;

    opt = luaL_optstring(L, 1, "collect");

    if (strcmp(opt, "count") != 0) {
        return luaL_error(L, "collectgarbage: only \"count\" is allowed");
    }

    lua_pushnumber(L, (lua_Number) lua_gc(L, LUA_GCCOUNT, 0)
                      + (lua_Number) lua_gc(L, LUA_GCCOUNTB, 0) / 1024);

    return 1;
}


static int
gw_lua_env_load(lua_State *L)
{
    size_t       len;
    const char  *text, *name;

    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushliteral(L, "load: only text chunks (strings) are allowed");
        return 2;
    }

    text = lua_tolstring(L, 1, &len);
    name = luaL_optstring(L, 2, "=(load)");

    if (len > 0 && text[0] == 0x1b) {
        lua_pushnil(L);
        lua_pushliteral(L, "load: bytecode is refused");
        return 2;
    }

    if (luaL_loadbufferx(L, text, len, name, "t") != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.env");
    (void) lua_setfenv(L, -2);

    return 1;
}


static int
gw_lua_os_clock(lua_State *L)
{
    lua_pushnumber(L, (lua_Number) clock() / CLOCKS_PER_SEC);
    return 1;
}


static int
gw_lua_date_field(lua_State *L, const char *key, int d)
{
    int  v;

    lua_getfield(L, 1, key);

    if (lua_isnumber(L, -1)) {
        v = (int) lua_tointeger(L, -1);

    } else if (d < 0) {
        return luaL_error(L, "field '%s' missing in date table", key);

    } else {
        v = d;
    }

    lua_pop(L, 1);

    return v;
}


static int
gw_lua_os_time(lua_State *L)
{
    time_t     t;
    struct tm  tm;

    if (lua_isnoneornil(L, 1)) {
        t = time(NULL);

    } else {
        luaL_checktype(L, 1, LUA_TTABLE);

        memset(&tm, 0, sizeof(struct tm));
        tm.tm_sec = gw_lua_date_field(L, "sec", 0);
        tm.tm_min = gw_lua_date_field(L, "min", 0);
        tm.tm_hour = gw_lua_date_field(L, "hour", 12);
        tm.tm_mday = gw_lua_date_field(L, "day", -1);
        tm.tm_mon = gw_lua_date_field(L, "month", -1) - 1;
        tm.tm_year = gw_lua_date_field(L, "year", -1) - 1900;

        lua_getfield(L, 1, "isdst");
        tm.tm_isdst = lua_isnil(L, -1) ? -1 : lua_toboolean(L, -1);
        lua_pop(L, 1);

        gw_lua_guard_enter();
        t = mktime(&tm);
        gw_lua_guard_leave();
    }

    if (t == (time_t) -1) {
        lua_pushnil(L);

    } else {
        lua_pushnumber(L, (lua_Number) t);
    }

    return 1;
}


static void
gw_lua_date_set(lua_State *L, const char *key, int v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, key);
}


static int
gw_lua_os_date(lua_State *L)
{
    int          utc;
    char         fmt[GW_LUA_DATE_FMT_MAX + 1], out[GW_LUA_DATE_MAX];
    double       d;
    size_t       len, n;
    time_t       t;
    struct tm    tm, *ok;
    const char  *f;

    f = luaL_optlstring(L, 1, "%c", &len);

    if (lua_isnoneornil(L, 2)) {
        t = time(NULL);

    } else {
        d = luaL_checknumber(L, 2);

        /* a double past time_t's range is undefined behaviour to cast */
        if (!(d > -GW_LUA_TIME_MAX && d < GW_LUA_TIME_MAX)) {
            return luaL_error(L, "os.date: time out of range");
        }

        t = (time_t) d;
    }

    utc = (len > 0 && f[0] == '!');
    if (utc) {
        f++;
        len--;
    }

    if (len > GW_LUA_DATE_FMT_MAX) {
        return luaL_error(L, "os.date: format too long");
    }

    memcpy(fmt, f, len);
    fmt[len] = '\0';

    gw_lua_guard_enter();
    ok = utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm);
    n = 0;

    if (ok != NULL && strcmp(fmt, "*t") != 0) {
        n = strftime(out, sizeof(out), fmt, &tm);
    }

    gw_lua_guard_leave();

    if (ok == NULL) {
        lua_pushnil(L);
        return 1;
    }

    if (strcmp(fmt, "*t") == 0) {
        lua_createtable(L, 0, 9);
        gw_lua_date_set(L, "sec", tm.tm_sec);
        gw_lua_date_set(L, "min", tm.tm_min);
        gw_lua_date_set(L, "hour", tm.tm_hour);
        gw_lua_date_set(L, "day", tm.tm_mday);
        gw_lua_date_set(L, "month", tm.tm_mon + 1);
        gw_lua_date_set(L, "year", tm.tm_year + 1900);
        gw_lua_date_set(L, "wday", tm.tm_wday + 1);
        gw_lua_date_set(L, "yday", tm.tm_yday + 1);
        lua_pushboolean(L, tm.tm_isdst > 0);
        lua_setfield(L, -2, "isdst");
        return 1;
    }

    lua_pushlstring(L, out, n);

    return 1;
}


/*
 * Calls the function below the top nargs arguments, with the count of
 * nested C calls of the state raised for the time of the call; the error
 * is raised again after the count is lowered.
 */

static int
gw_lua_ccall(lua_State *L, int nargs)
{
    int        base, status;
    gw_lua_t  *s;

    s = gw_lua_from(L);

    if (s->ccalls >= GW_LUA_CCALL_MAX) {
        return luaL_error(L, "C stack overflow");
    }

    base = lua_gettop(L) - nargs - 1;

    s->ccalls++;
    status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    s->ccalls--;

    if (status != 0) {
        return lua_error(L);
    }

    return lua_gettop(L) - base;
}


static int
gw_lua_env_gsub(lua_State *L)
{
    int  n, t;

    n = lua_gettop(L);
    t = lua_type(L, 3);

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);

    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        /* no Lua runs: no nesting */
        lua_call(L, n, LUA_MULTRET);
        return lua_gettop(L);
    }

    return gw_lua_ccall(L, n);
}


static int
gw_lua_env_resume(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);

    return gw_lua_ccall(L, lua_gettop(L) - 1);
}


/* the function coroutine.wrap() returns: upvalues resume, co */

static int
gw_lua_env_wrapped(lua_State *L)
{
    int  n;

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_insert(L, 1);

    n = gw_lua_ccall(L, lua_gettop(L) - 1);

    if (!lua_toboolean(L, -n)) {
        return lua_error(L);
    }

    return n - 1;
}


/* coroutine.wrap(f): upvalues create, resume */

static int
gw_lua_env_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 1, 1);

    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_pushcclosure(L, gw_lua_env_wrapped, 2);

    return 1;
}


/* replaces the library functions that call Lua back, in place */

static void
gw_lua_env_wrap_ccalls(lua_State *L)
{
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "gsub");
    lua_pushcclosure(L, gw_lua_env_gsub, 1);
    lua_setfield(L, -2, "gsub");
    lua_pop(L, 1);

    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "create");
    lua_getfield(L, -2, "resume");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, gw_lua_env_resume, 1);
    lua_setfield(L, -4, "resume");
    lua_pushcclosure(L, gw_lua_env_wrap, 2);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
}


int
gw_lua_env_open(lua_State *L)
{
    int                 i, env;
    gw_lua_t           *s;
    static const char  *no_dump[] = { "dump", NULL };

    s = lua_touserdata(L, 1);

    lua_pushcfunction(L, luaopen_base);
    lua_call(L, 0, 0);
    lua_pushcfunction(L, luaopen_string);
    lua_call(L, 0, 0);
    lua_pushcfunction(L, luaopen_table);
    lua_call(L, 0, 0);
    lua_pushcfunction(L, luaopen_math);
    lua_call(L, 0, 0);
    lua_pushcfunction(L, luaopen_bit);
    lua_call(L, 0, 0);

    if (s->trusted) {
        /* opening the jit library is what turns the JIT engine on */
        lua_pushcfunction(L, luaopen_jit);
        lua_call(L, 0, 0);
    }

    lua_settop(L, 1);

    gw_lua_env_wrap_ccalls(L);

    lua_newtable(L);
    env = lua_gettop(L);

    for (i = 0; gw_lua_base_names[i] != NULL; i++) {
        lua_getglobal(L, gw_lua_base_names[i]);
        lua_setfield(L, env, gw_lua_base_names[i]);
    }

    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");

    if (luaL_loadbuffer(L, gw_lua_xpcall, sizeof(gw_lua_xpcall) - 1,
                        "=xpcall")
        != 0)
    {
        return lua_error(L);
    }

    lua_call(L, 0, 1);
    lua_setfield(L, env, "xpcall");

    lua_pushcfunction(L, gw_lua_env_collectgarbage);
    lua_setfield(L, env, "collectgarbage");
    lua_pushcfunction(L, gw_lua_env_load);
    lua_setfield(L, env, "load");
    lua_pushcfunction(L, gw_lua_require);
    lua_setfield(L, env, "require");

    gw_lua_copy_lib(L, "coroutine", NULL);
    gw_lua_copy_lib(L, "string", no_dump);
    gw_lua_copy_lib(L, "table", NULL);
    gw_lua_copy_lib(L, "math", NULL);
    gw_lua_copy_lib(L, "bit", NULL);

    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, gw_lua_os_time);
    lua_setfield(L, -2, "time");
    lua_pushcfunction(L, gw_lua_os_clock);
    lua_setfield(L, -2, "clock");
    lua_pushcfunction(L, gw_lua_os_date);
    lua_setfield(L, -2, "date");
    lua_setfield(L, env, "os");

    /* the string metatable: another copy, hidden */
    lua_pushliteral(L, "");
    lua_createtable(L, 0, 2);
    lua_getglobal(L, "string");
    gw_lua_copy(L, lua_gettop(L), no_dump);
    lua_remove(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    /* the vetted modules */
    lua_newtable(L);
    gw_lua_json_open(L);
    lua_setfield(L, -2, "json");

    if (s->ffi) {
        lua_pushcfunction(L, luaopen_ffi);
        lua_call(L, 0, 1);
        lua_setfield(L, -2, "ffi");
    }

    lua_setfield(L, LUA_REGISTRYINDEX, "gw.loaded");

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "gw.modules");

    lua_pushvalue(L, env);
    lua_setfield(L, LUA_REGISTRYINDEX, "gw.env");

    return 0;
}
