
/*
 * Copyright (C) Tollgate
 *
 * JSON to and from Lua (lib/lua/gw_lua_json.c): random round trips,
 * every rejection of gw_lua_to_json(), and the "json" module.
 */


#include <math.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include <lauxlib.h>

#include "gw_lua.h"
#include "tap.h"


typedef struct {
    json_t         *in;
    json_t         *out;
    const char     *lua;        /* code whose result is converted */
    gw_lua_err_t    err;
} conv_t;


static uint64_t  rnd_state = 0x9e3779b97f4a7c15ULL;


static uint64_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}


static json_t *
rnd_string(void)
{
    char    buf[32];
    size_t  i, n;

    static const char  *pieces[] = {
        "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\"", "\\",
        "\n", "", "z"
    };

    buf[0] = '\0';
    n = rnd() % 6;

    for (i = 0; i < n; i++) {
        strcat(buf, pieces[rnd() % 9]);
    }

    if (rnd() % 8 == 0) {
        /* a NUL byte inside */
        return json_stringn("a\0b", 3);
    }

    return json_string(buf);
}


static json_t *
rnd_json(int depth)
{
    int       i, n;
    char      key[16];
    json_t   *v;
    double    d;

    switch (depth > 5 ? rnd() % 5 : rnd() % 7) {

    case 0:
        return json_null();

    case 1:
        return json_boolean(rnd() % 2);

    case 2:
        return json_integer((json_int_t) (rnd() % (1ULL << 53))
                            - (json_int_t) (1ULL << 52));

    case 3:
        d = (double) (rnd() % 1000000) / 7.0 + 0.5;
        return json_real(rnd() % 2 ? d : -d);

    case 4:
        return rnd_string();

    case 5:
        v = json_array();
        n = rnd() % 5;

        for (i = 0; i < n; i++) {
            json_array_append_new(v, rnd_json(depth + 1));
        }

        return v;

    default:
        v = json_object();
        n = rnd() % 5;

        for (i = 0; i < n; i++) {
            snprintf(key, sizeof(key), "k%d", (int) (rnd() % 10));
            json_object_set_new(v, key, rnd_json(depth + 1));
        }

        return v;
    }
}


static int
conv_push_back(lua_State *L)
{
    conv_t  *c;

    c = lua_touserdata(L, 1);

    if (c->lua != NULL) {
        if (luaL_loadstring(L, c->lua) != 0) {
            return lua_error(L);
        }

        lua_call(L, 0, 1);

    } else {
        gw_lua_push_json(L, c->in);
    }

    c->out = gw_lua_to_json(L, -1, &c->err);

    return 0;
}


static json_t *
convert(gw_lua_t *s, json_t *in, const char *lua, gw_lua_rc_e *rc,
    gw_lua_err_t *err)
{
    conv_t  c;

    memset(&c, 0, sizeof(conv_t));
    c.in = in;
    c.lua = lua;

    *rc = gw_lua_cpcall(s, conv_push_back, &c, err);

    if (*rc == GW_LUA_OK && c.out == NULL) {
        *err = c.err;
    }

    return c.out;
}


static void
test_round_trips(gw_lua_t *s)
{
    int           i, bad;
    json_t       *in, *out;
    gw_lua_rc_e   rc;
    gw_lua_err_t  err;

    bad = 0;

    for (i = 0; i < 2000; i++) {
        in = rnd_json(0);
        out = convert(s, in, NULL, &rc, &err);

        if (rc != GW_LUA_OK || out == NULL || !json_equal(in, out)) {
            if (bad++ == 0) {
                char *t = json_dumps(in, JSON_ENCODE_ANY);
                diag("round trip failed (%s): %s", err.msg, t);
                free(t);
            }
        }

        json_decref(in);
        json_decref(out);
    }

    is_int(bad, 0, "2000 random values: push_json then to_json is equal");
}


static const struct {
    const char  *lua;
    const char  *what;
} rejected[] = {
    { "local t = {} t.self = t return t", "a cycle" },
    { "local t = {} local u = {t} t[1] = u return t", "a longer cycle" },
    { "local t = {} for i = 1, 70 do t = {t} end return t", "depth 70" },
    { "return function () end", "a function" },
    { "return {f = print or type}", "a function inside" },
    { "return coroutine.create(type)", "a thread" },
    { "return 0/0", "NaN" },
    { "return {x = 1/0}", "infinity" },
    { "return {-1/0}", "-infinity" },
    { "return {1, 2, x = 3}", "mixed keys" },
    { "return {[1] = 1, [3] = 3}", "a sparse array" },
    { "return {[2] = 1}", "an array not from 1" },
    { "return {[1.5] = 1}", "a fractional key" },
    { "return {[true] = 1}", "a boolean key" },
    { "return {[{}] = 1}", "a table key" },
    { "return '\\255'", "a string that is not UTF-8" },
    { "return {['\\192\\128'] = 1}", "a key that is not UTF-8" },
    { "return '\\237\\160\\128'", "a surrogate in UTF-8" }
};


static void
test_rejections(gw_lua_t *s)
{
    char           lua[256];
    size_t         i;
    json_t        *out, *deep;
    gw_lua_rc_e    rc;
    gw_lua_err_t   err;

    for (i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
        out = convert(s, NULL, rejected[i].lua, &rc, &err);
        ok(rc == GW_LUA_OK && out == NULL, "to_json rejects %s (%s)",
           rejected[i].what, err.msg);
        json_decref(out);
    }

    out = convert(s, NULL, "local t = {} for i = 1, 63 do t = {t} end"
                  " return t", &rc, &err);
    ok(out != NULL, "depth 64 is fine");
    json_decref(out);

    deep = json_array();
    out = deep;

    for (i = 0; i < 70; i++) {
        json_array_append_new(out, json_array());
        out = json_array_get(out, 0);
    }

    out = convert(s, deep, NULL, &rc, &err);
    is_int(rc, GW_LUA_ERROR, "push_json raises past the depth (%s)", err.msg);
    json_decref(deep);

    snprintf(lua, sizeof(lua), "return {1, nil, 3}");
    out = convert(s, NULL, lua, &rc, &err);
    ok(out == NULL, "a hole in an array is refused");
    json_decref(out);

    out = convert(s, NULL, "return {}", &rc, &err);
    ok(out != NULL && json_is_object(out), "{} is an object");
    json_decref(out);

    out = convert(s, NULL, "return 3", &rc, &err);
    ok(out != NULL && json_is_integer(out), "3 is an integer");
    json_decref(out);

    out = convert(s, NULL, "return 2^53 + 2", &rc, &err);
    ok(out != NULL && json_is_real(out), "past 2^53: a real");
    json_decref(out);

    out = convert(s, NULL, "return nil", &rc, &err);
    ok(out != NULL && json_is_null(out), "nil is null");
    json_decref(out);
}


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
test_module(gw_lua_t *s)
{
    char  buf[300];

    is_str(eval(s, "local json = require('json') return json.encode({"
                   "b = {1, 2.5, json.null, true}, a = 'x', c = {}})",
                buf, sizeof(buf)),
           "{\"a\":\"x\",\"b\":[1,2.5,null,true],\"c\":{}}",
           "encode, sorted members");
    is_str(eval(s, "local json = require('json')"
                   " return json.encode(json.decode('{\"a\":[],\"b\":{}}'))",
                buf, sizeof(buf)),
           "{\"a\":[],\"b\":{}}", "an empty array stays an array");
    is_str(eval(s, "local json = require('json')"
                   " return json.encode(json.array())", buf, sizeof(buf)),
           "[]", "json.array()");
    is_str(eval(s, "local json = require('json')"
                   " return tostring(json.decode('null') == json.null)",
                buf, sizeof(buf)),
           "true", "null decodes to json.null");
    eval(s, "local json = require('json')"
            " local v, e = json.decode('{\"a\":') return e", buf,
         sizeof(buf));
    ok(strncmp(buf, "JSON at line 1, column 5: ", 26) == 0,
       "decode error: nil, message (%s)", buf);
    is_str(eval(s, "local json = require('json')"
                   " local v, e = json.decode(string.rep('[', 100)"
                   " .. string.rep(']', 100)) return e",
                buf, sizeof(buf)),
           "JSON nested deeper than 64", "decode past the depth");
    is_str(eval(s, "local json = require('json')"
                   " local t = {} t.t = t local v, e = json.encode(t)"
                   " return tostring(v) .. ': ' .. e", buf, sizeof(buf)),
           "nil: a table that contains itself", "encode error: nil, message");
    is_str(eval(s, "local json = require('json')"
                   " local v, e = json.encode(print or type) return e",
                buf, sizeof(buf)),
           "a value JSON cannot hold (function, userdata, thread or cdata)",
           "encode of a function");
    is_str(eval(s, "local json = require('json')"
                   " return json.decode('\"a\\\\u0000b\"')", buf,
                sizeof(buf)),
           "a", "a NUL in a string (the C string stops there)");
    is_str(eval(s, "local json = require('json') local big = {}"
                   " for i = 1, 1000 do big[i] = string.rep('x', 1e5) end"
                   " local v, e = json.encode(big)"
                   " return tostring(v) .. ': ' .. e", buf, sizeof(buf)),
           "nil: JSON larger than the memory cap",
           "an encode larger than the cap (one string many times)");
    is_str(eval(s, "local json = require('json')"
                   " local v, e = json.decode('[' .. string.rep('1,', 2^20)"
                   " .. '1]') return tostring(v) .. ': ' .. e",
                buf, sizeof(buf)),
           "nil: JSON text too large for the memory cap",
           "a decode of a text past a sixteenth of the cap");
    is_str(eval(s, "local json = require('json')"
                   " local v = json.decode('[' .. string.rep('1,', 2^16)"
                   " .. '1]') return tostring(#v)", buf, sizeof(buf)),
           "65537", "a decode below it");
    is_str(eval(s, "return 'up'", buf, sizeof(buf)), "up", "still usable");
}


int
main(void)
{
    gw_lua_t       *s;
    lua_State      *L;
    gw_lua_err_t    err;
    gw_lua_conf_t   conf;

    memset(&conf, 0, sizeof(conf));
    conf.mem_max = 32 * 1024 * 1024;
    conf.time_max = 2000;

    s = gw_lua_new(&conf, &err);

    /* the C-side loads run in the real globals: give them require */
    L = gw_lua_state(s);
    gw_lua_env(s);
    lua_getfield(L, -1, "require");
    lua_setglobal(L, "require");
    lua_getfield(L, -1, "coroutine");
    lua_setglobal(L, "coroutine");
    lua_pop(L, 1);

    test_round_trips(s);
    test_rejections(s);
    test_module(s);

    gw_lua_free(s);

    return done_testing();
}
