
/*
 * Copyright (C) Tollgate
 *
 * The transform contract (lib/lua/gw_lua_transform.h): what a function
 * may return, ctx (params, metadata, emit), the failures as values, and
 * the transparent replacement of a state the watchdog stopped.
 */


#include <string.h>

#include <jansson.h>

#include "gw_lua.h"
#include "gw_lua_transform.h"
#include "tap.h"


static gw_lua_conf_t  conf = {
    .mem_max = 16 * 1024 * 1024, .time_max = 200, .name = "t"
};


static gw_lua_transform_t *
make(const char *text, const char *params, gw_lua_err_t *err)
{
    json_t              *p;
    gw_lua_transform_t  *t;

    p = (params != NULL) ? json_loads(params, 0, NULL) : NULL;
    t = gw_lua_transform_new(&conf, "tr", text, strlen(text), p, err);
    json_decref(p);

    return t;
}


/* runs t on record text, the output as compact text (or "rc <name>") */

static const char *
apply(gw_lua_transform_t *t, const char *record, const char *meta,
    char *buf, size_t size)
{
    char          *text;
    json_t        *rec, *m, *out;
    gw_lua_rc_e    rc;
    gw_lua_err_t   err;

    rec = json_loads(record, JSON_DECODE_ANY, NULL);
    m = (meta != NULL) ? json_loads(meta, 0, NULL) : NULL;

    rc = gw_lua_transform_run(t, rec, m, &out, &err);

    json_decref(rec);
    json_decref(m);

    if (rc != GW_LUA_OK) {
        snprintf(buf, size, "rc %s: %.200s", gw_lua_rc_name(rc), err.msg);
        return buf;
    }

    text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, size, "%s", text);
    free(text);
    json_decref(out);

    return buf;
}


static void
test_outputs(void)
{
    char                 buf[400];
    gw_lua_err_t         err;
    gw_lua_transform_t  *t;

    t = make("return function (rec, ctx) rec.n = rec.n * 2 return rec end",
             NULL, &err);
    ok(t != NULL, "a chunk returning a function");
    is_str(apply(t, "{\"n\":2}", NULL, buf, sizeof(buf)), "[{\"n\":4}]",
           "a record in, the changed record out");
    gw_lua_transform_free(t);

    t = make("local M = {} function M.transform(rec, ctx) return nil end"
             " return M", NULL, &err);
    ok(t != NULL, "a chunk returning a table with .transform");
    is_str(apply(t, "{\"n\":2}", NULL, buf, sizeof(buf)), "[]",
           "nil: no record");
    gw_lua_transform_free(t);

    t = make("return function (rec, ctx) return rec.keep end", NULL, &err);
    is_str(apply(t, "{\"keep\":false}", NULL, buf, sizeof(buf)), "[]",
           "false: no record");
    is_str(apply(t, "{\"keep\":{}}", NULL, buf, sizeof(buf)), "[{}]",
           "{}: one empty record");
    is_str(apply(t, "{\"keep\":[]}", NULL, buf, sizeof(buf)), "[]",
           "an empty list: no record");
    is_str(apply(t, "{\"keep\":[{\"a\":1},{\"b\":2}]}", NULL, buf,
                 sizeof(buf)),
           "[{\"a\":1},{\"b\":2}]", "a list: its records");
    is_str(apply(t, "{\"keep\":\"x\"}", NULL, buf, sizeof(buf)),
           "rc error: a transform returns nil, a record or a list of"
           " records, not a string", "a string: an error");
    is_str(apply(t, "{\"keep\":[1]}", NULL, buf, sizeof(buf)),
           "rc error: the records returned: each must be an object, at most"
           " 10000", "a list of non-objects: an error");
    is_str(apply(t, "[1]", NULL, buf, sizeof(buf)),
           "rc error: a record must be an object", "a record in that is not"
           " an object");
    gw_lua_transform_free(t);

    t = make("return function (rec, ctx)"
             " for i = 1, rec.n do ctx.emit({i = i}) end"
             " return {last = true} end", NULL, &err);
    is_str(apply(t, "{\"n\":3}", NULL, buf, sizeof(buf)),
           "[{\"i\":1},{\"i\":2},{\"i\":3},{\"last\":true}]",
           "emitted records, then the returned one");
    is_str(apply(t, "{\"n\":0}", NULL, buf, sizeof(buf)),
           "[{\"last\":true}]", "no emit");
    is_str(apply(t, "{\"n\":10001}", NULL, buf, sizeof(buf)),
           "rc error: tr:1: emit: more than 10000 records",
           "emit is capped");
    gw_lua_transform_free(t);

    t = make("return function (rec, ctx) local r = {v = 1} ctx.emit(r)"
             " r.v = 2 ctx.emit(r) ctx.emit('x') end", NULL, &err);
    is_str(apply(t, "{}", NULL, buf, sizeof(buf)),
           "rc error: tr:1: emit: a record must be an object",
           "emit of a non-object: an error, nothing out");
    gw_lua_transform_free(t);

    t = make("return function (rec, ctx) local r = {v = 1} ctx.emit(r)"
             " r.v = 2 ctx.emit(r) end", NULL, &err);
    is_str(apply(t, "{}", NULL, buf, sizeof(buf)),
           "[{\"v\":1},{\"v\":2}]", "emit copies the record");
    gw_lua_transform_free(t);
}


static void
test_ctx(void)
{
    char                 buf[400];
    gw_lua_err_t         err;
    gw_lua_transform_t  *t;

    t = make("local seen = 0 return function (rec, ctx) seen = seen + 1"
             " return {stream = ctx.stream, key = ctx.key, time = ctx.time,"
             " limit = ctx.params.limit, seen = seen,"
             " emit = type(ctx.emit)} end", "{\"limit\":5}", &err);
    is_str(apply(t, "{}", "{\"stream\":\"s1\",\"key\":\"k\",\"time\":1.5,"
                 "\"emit\":1,\"params\":2}", buf, sizeof(buf)),
           "[{\"emit\":\"function\",\"key\":\"k\",\"limit\":5,\"seen\":1,"
           "\"stream\":\"s1\",\"time\":1.5}]",
           "ctx: metadata, params, emit (not overridden by metadata)");
    is_str(apply(t, "{}", NULL, buf, sizeof(buf)),
           "[{\"emit\":\"function\",\"limit\":5,\"seen\":2}]",
           "state kept across records; no metadata");
    gw_lua_transform_free(t);

    t = make("return function (rec, ctx) return {p = ctx.params} end", NULL,
             &err);
    is_str(apply(t, "{}", NULL, buf, sizeof(buf)), "[{\"p\":null}]",
           "no params: null");
    gw_lua_transform_free(t);
}


static void
test_failures(void)
{
    char                 buf[400];
    size_t               all;
    gw_lua_err_t         err;
    gw_lua_transform_t  *t;

    all = gw_lua_mem_total();

    ok(make("return 42", NULL, &err) == NULL
       && strstr(err.msg, "must return a function") != NULL,
       "a chunk returning a number: refused (%s)", err.msg);
    ok(make("return {}", NULL, &err) == NULL, "a table without transform");
    ok(make("return function (", NULL, &err) == NULL
       && err.rc == GW_LUA_ERROR, "a syntax error (%s)", err.msg);
    ok(make("while true do end", NULL, &err) == NULL
       && err.rc == GW_LUA_BUDGET, "a chunk that loops: budget");
    ok(make("\033LJ", NULL, &err) == NULL, "bytecode refused");

    t = make("return function (rec, ctx)"
             " if rec.op == 'loop' then while true do end end"
             " if rec.op == 'mem' then local s = string.rep('x', 2^30) end"
             " if rec.op == 'err' then error('bad record', 0) end"
             " if rec.op == 'find' then string.find(string.rep('a', 5000),"
             " string.rep('a*', 30) .. 'b') end"
             " return rec end", NULL, &err);
    is_str(apply(t, "{\"op\":\"loop\"}", NULL, buf, sizeof(buf)),
           "rc budget: budget exhausted", "a loop: budget");
    is_str(apply(t, "{\"op\":\"mem\"}", NULL, buf, sizeof(buf)),
           "rc memory: not enough memory", "a bomb: memory");
    is_str(apply(t, "{\"op\":\"err\"}", NULL, buf, sizeof(buf)),
           "rc error: bad record", "an error: its message");
    is_str(apply(t, "{\"op\":\"ok\"}", NULL, buf, sizeof(buf)),
           "[{\"op\":\"ok\"}]", "the state goes on");
    is_int(gw_lua_transform_reloads(t), 0, "never replaced");
    is_str(apply(t, "{\"op\":\"find\"}", NULL, buf, sizeof(buf)),
           "rc timeout: time limit exceeded", "a pattern spinning in C:"
           " timeout");
    is_str(apply(t, "{\"op\":\"ok\"}", NULL, buf, sizeof(buf)),
           "[{\"op\":\"ok\"}]", "the next record runs on a new state");
    is_int(gw_lua_transform_reloads(t), 1, "replaced once");
    gw_lua_transform_free(t);

    conf.trusted = 1;
    t = make("return function (rec, ctx) local i = 0"
             " while rec.loop do i = i + 1 end return rec end", NULL, &err);
    is_str(apply(t, "{\"loop\":true}", NULL, buf, sizeof(buf)),
           "rc timeout: time limit exceeded", "trusted, compiled loop:"
           " timeout");
    is_str(apply(t, "{\"loop\":false}", NULL, buf, sizeof(buf)),
           "[{\"loop\":false}]", "replaced transparently");
    gw_lua_transform_free(t);
    conf.trusted = 0;

    is_int(gw_lua_mem_total(), all, "all the states' memory is back");
}


int
main(void)
{
    test_outputs();
    test_ctx();
    test_failures();

    return done_testing();
}
