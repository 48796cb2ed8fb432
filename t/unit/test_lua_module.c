
/*
 * Copyright (C) Tollgate
 *
 * Vetted modules of the sandbox (lib/lua, gw_lua_module(), require()):
 * a module is compiled from text only, runs once, in the sandbox
 * environment, under the requiring call's budget; its errors, a
 * recursion through it and an unknown name come back as errors of the
 * caller, the state usable.
 */


#include <string.h>

#include "gw_lua.h"
#include "tap.h"


static gw_lua_conf_t  conf_untrusted = {
    .mem_max = 16 * 1024 * 1024, .time_max = 500, .budget = 1000000,
    .name = "untrusted"
};

static gw_lua_conf_t  conf_trusted = {
    .mem_max = 16 * 1024 * 1024, .time_max = 500, .trusted = 1, .ffi = 1,
    .name = "trusted"
};


static gw_lua_rc_e
module(gw_lua_t *s, const char *name, const char *text, gw_lua_err_t *err)
{
    return gw_lua_module(s, name, text, strlen(text), err);
}


/* the chunk's result as a string, or the outcome and message */

static const char *
eval(gw_lua_t *s, const char *text, char *buf, size_t size)
{
    const char    *v;
    gw_lua_err_t   err;

    if (gw_lua_load(s, "=test", text, strlen(text), &err) != GW_LUA_OK) {
        snprintf(buf, size, "rc %s: %.200s", gw_lua_rc_name(err.rc),
                 err.msg);
        return buf;
    }

    v = lua_tostring(gw_lua_state(s), -1);
    snprintf(buf, size, "%s", v != NULL ? v : "(not a string)");
    lua_pop(gw_lua_state(s), 1);

    return buf;
}


static void
test_require(void)
{
    char           buf[512];
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);
    ok(s != NULL, "a state");

    is_int(module(s, "greet", "runs = (runs or 0) + 1\n"
                  "local name = ...\n"
                  "return { hello = function (w) return 'hi ' .. w end,"
                  " name = name }", &err),
           GW_LUA_OK, "a module vetted");

    is_str(eval(s, "return require('greet').hello('you')", buf, sizeof(buf)),
           "hi you", "require gives the module's value");
    is_str(eval(s, "return require('greet').name", buf, sizeof(buf)),
           "greet", "the module gets its name as argument");
    is_str(eval(s, "return tostring(require('greet') == require('greet'))",
                buf, sizeof(buf)),
           "true", "the same table on two requires");
    is_str(eval(s, "return tostring(runs)", buf, sizeof(buf)),
           "1", "the module ran once");

    is_str(eval(s, "return require('nothere')", buf, sizeof(buf)),
           "rc error: module 'nothere' is not available in the sandbox",
           "an unknown module: an error");
    is_str(eval(s, "local ok, e = pcall(require, 'io') return e",
                buf, sizeof(buf)),
           "module 'io' is not available in the sandbox",
           "a library the sandbox removed: an error");
    is_str(eval(s, "return tostring(require('json').encode({1}))",
                buf, sizeof(buf)),
           "[1]", "json still there");
    is_str(eval(s, "return tostring(pcall(require, 'ffi'))",
                buf, sizeof(buf)),
           "false", "no ffi in an untrusted state");

    is_int(module(s, "nil-result", "x_set = true", &err), GW_LUA_OK,
           "a module returning nothing");
    is_str(eval(s, "return tostring(require('nil-result'))", buf,
                sizeof(buf)),
           "true", "gives true");

    gw_lua_free(s);

    s = gw_lua_new(&conf_trusted, &err);
    ok(s != NULL, "a trusted state");

    is_int(module(s, "m.x", "return { v = 42 }", &err), GW_LUA_OK,
           "a module in a trusted state");
    is_str(eval(s, "return tostring(require('m.x').v)", buf, sizeof(buf)),
           "42", "required");
    is_str(eval(s, "return tostring(require('ffi').sizeof('int'))", buf,
                sizeof(buf)),
           "4", "ffi still there for trusted + ffi");

    gw_lua_free(s);
}


static void
test_refused(void)
{
    char           name[80];
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);

    is_int(module(s, "json", "return {}", &err), GW_LUA_ERROR,
           "json cannot be replaced");
    is_int(module(s, "ffi", "return {}", &err), GW_LUA_ERROR,
           "ffi cannot be vetted");
    is_int(module(s, "dup", "return {}", &err), GW_LUA_OK, "dup vetted");
    is_int(module(s, "dup", "return {}", &err), GW_LUA_ERROR,
           "a name vetted twice");
    is_str(err.msg, "a module of that name is vetted already", "says so");

    is_int(module(s, "Upper", "return {}", &err), GW_LUA_ERROR,
           "an upper-case name");
    is_int(module(s, "9x", "return {}", &err), GW_LUA_ERROR,
           "a name not starting with a letter");
    is_int(module(s, "a/b", "return {}", &err), GW_LUA_ERROR,
           "a name with a slash");
    is_int(module(s, "", "return {}", &err), GW_LUA_ERROR, "an empty name");

    memset(name, 'a', sizeof(name));
    name[GW_LUA_MODULE_NAME_MAX + 1] = '\0';
    is_int(module(s, name, "return {}", &err), GW_LUA_ERROR,
           "a name of 65 bytes");
    name[GW_LUA_MODULE_NAME_MAX] = '\0';
    is_int(module(s, name, "return {}", &err), GW_LUA_OK,
           "a name of 64 bytes");

    is_int(gw_lua_module(s, "bc", "\033LJ\002\000", 5, &err), GW_LUA_ERROR,
           "a bytecode module is refused");
    is_str(err.msg, "bytecode is refused", "says so");

    is_int(module(s, "syntax", "return {", &err), GW_LUA_ERROR,
           "a module that does not compile");
    ok(strncmp(err.msg, "syntax:1:", 9) == 0,
       "the message names the module and line (%s)", err.msg);

    gw_lua_free(s);
}


static void
test_failures(void)
{
    char           buf[512];
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);

    is_int(module(s, "bad", "tries = (tries or 0) + 1\n"
                  "error('bad module', 0)", &err),
           GW_LUA_OK, "a module that raises is vetted");
    is_str(eval(s, "return require('bad')", buf, sizeof(buf)),
           "rc error: bad module", "its error goes to the caller");
    is_str(eval(s, "local ok, e = pcall(require, 'bad') return e",
                buf, sizeof(buf)),
           "bad module", "again: nothing was kept, it runs again");
    is_str(eval(s, "return tostring(tries)", buf, sizeof(buf)),
           "2", "it ran twice");

    is_int(module(s, "self", "return require('self')", &err), GW_LUA_OK,
           "a module requiring itself");
    is_str(eval(s, "local ok, e = pcall(require, 'self') return e",
                buf, sizeof(buf)),
           "module 'self' requires itself", "is an error");

    is_int(module(s, "ping", "return { pong = require('pong') }", &err),
           GW_LUA_OK, "ping");
    is_int(module(s, "pong", "return { ping = require('ping') }", &err),
           GW_LUA_OK, "pong");
    is_str(eval(s, "local ok, e = pcall(require, 'ping') return e",
                buf, sizeof(buf)),
           "module 'ping' requires itself",
           "a recursion through another module is an error");
    is_str(eval(s, "local ok, e = pcall(require, 'pong') return e",
                buf, sizeof(buf)),
           "module 'pong' requires itself", "the other way too");

    is_int(module(s, "loads", "local f, e = load('\\27LJ\\2') return e",
                  &err),
           GW_LUA_OK, "a module that loads bytecode");
    is_str(eval(s, "return require('loads')", buf, sizeof(buf)),
           "load: bytecode is refused", "gets load's refusal");

    is_int(module(s, "spin", "while true do end", &err), GW_LUA_OK,
           "a module that loops");
    is_str(eval(s, "pcall(require, 'spin') return 'swallowed'", buf,
                sizeof(buf)),
           "rc budget: budget exhausted",
           "stopped by the caller's budget, pcall cannot swallow it");

    is_int(module(s, "hog", "local s = string.rep('x', 2^30)", &err),
           GW_LUA_OK, "a module that takes too much memory");
    is_str(eval(s, "local ok, e = pcall(require, 'hog') return e",
                buf, sizeof(buf)),
           "not enough memory", "the cap applies");

    is_str(eval(s, "return tostring(require('json') ~= nil)", buf,
                sizeof(buf)),
           "true", "the state is usable");

    gw_lua_free(s);
}


static void
test_env(void)
{
    char           buf[512];
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_trusted, &err);

    is_int(module(s, "env",
                  "return table.concat({ type(io), type(debug), type(jit),"
                  " type(package), type(os.execute), type(setfenv),"
                  " type(loadstring), type(string.dump), type(print),"
                  " tostring(_G == env_probe) }, ',')", &err),
           GW_LUA_OK, "a module looking around");

    is_str(eval(s, "env_probe = _G return require('env')", buf, sizeof(buf)),
           "nil,nil,nil,nil,nil,nil,nil,nil,nil,true",
           "it sees the sandbox environment only, even trusted");

    is_int(module(s, "setter", "shared = 'from module' return {}", &err),
           GW_LUA_OK, "a module setting a global");
    is_str(eval(s, "require('setter') return shared", buf, sizeof(buf)),
           "from module", "in the state's environment");

    gw_lua_free(s);
}


int
main(void)
{
    test_require();
    test_refused();
    test_failures();
    test_env();

    return done_testing();
}
