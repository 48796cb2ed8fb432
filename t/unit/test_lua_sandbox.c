
/*
 * Copyright (C) Tollgate
 *
 * The LuaJIT sandbox (lib/lua, docs/plugins-sandbox.md).
 */


#include <string.h>

#include "gw_lua.h"
#include "tap.h"


static gw_lua_rc_e
run(gw_lua_t *s, const char *text, gw_lua_err_t *err)
{
    gw_lua_rc_e  rc;

    rc = gw_lua_load(s, "=test", text, strlen(text), err);

    if (rc == GW_LUA_OK) {
        lua_pop(gw_lua_state(s), 1);
    }

    return rc;
}


int
main(void)
{
    gw_lua_t       *s;
    gw_lua_err_t    err;
    gw_lua_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.time_max = 200;
    conf.name = "t";

    s = gw_lua_new(&conf, &err);
    ok(s != NULL, "new");
    is_int(run(s, "return 1 + 1", &err), GW_LUA_OK, "load ok");
    is_int(run(s, "local s = string.rep('x', 2^30)", &err), GW_LUA_MEMORY,
           "rep bomb: %s", err.msg);
    is_int(run(s, "while true do end", &err), GW_LUA_BUDGET, "loop: %s",
           err.msg);
    is_int(run(s, "return 1", &err), GW_LUA_OK, "usable");
    gw_lua_free(s);

    conf.trusted = 1;
    s = gw_lua_new(&conf, &err);
    is_int(run(s, "local i = 0 while true do i = i + 1 end", &err),
           GW_LUA_TIMEOUT, "jit loop: %s", err.msg);
    is_int(run(s, "return 1", &err), GW_LUA_DEAD, "dead");
    gw_lua_free(s);
    is_int(gw_lua_mem_total(), 0, "all freed");

    return done_testing();
}
