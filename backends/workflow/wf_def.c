
/*
 * Copyright (C) Tollgate
 *
 * Definitions' API (docs/workflow.md, "The service"):
 *
 *   POST   /v1/definitions                  a new one: 201, version 1
 *   PUT    /v1/definitions/{name}           a new version: 201, n + 1
 *   GET    /v1/definitions                  names (?cursor=&limit=)
 *   GET    /v1/definitions/{name}           the latest version
 *   GET    /v1/definitions/{name}/versions/{n}
 *   DELETE /v1/definitions/{name}           no new executions: 204
 *
 * A version, once stored, never changes: an execution runs the version
 * it started with to its end, whatever comes after.  Writes need an
 * admin caller.  A definition is checked by lib/asl exactly as `workflow
 * check` does, then every Task's resource by the tasks' own rule (unless
 * in test mode, where mocks answer any), and "compensation" must name a
 * state of the top machine (wf_def_check.c).  One script stores a
 * version, its name in gw:wf:defs and the audit event together.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


typedef struct {
    gw_svc_req_t           *req;
    json_t                 *doc;
    const char             *name;
    int                     create;
    long long               limit;
} wf_def_ctx_t;


static void wf_def_root(gw_svc_req_t *req, void *data);
static void wf_def_one(gw_svc_req_t *req, void *data);
static void wf_def_write(gw_svc_req_t *req, wf_caller_t *caller,
    const char *name, json_t *body, int create);
static void wf_def_written(redisReply *reply, void *data);
static void wf_def_read(gw_svc_req_t *req, const char *name,
    const char *ver);
static void wf_def_got(redisReply *reply, void *data);
static void wf_def_list(gw_svc_req_t *req);
static void wf_def_listed(redisAsyncContext *c, void *r, void *data);
static void wf_def_delete(gw_svc_req_t *req, wf_caller_t *caller,
    const char *name);
static void wf_def_deleted(redisReply *reply, void *data);


/*
 * ARGV: name, "create" or "update", the document (an object without
 * "version"), the audit event (without "id").  {version}, or {-1}: the
 * name exists (create), {-2}: no such definition (update).
 */
gw_svc_script_t  wf_script_def_put = { .text =
    "local key = 'gw:wf:def:' .. ARGV[1]\n"
    "local latest = tonumber(redis.call('HGET', key, 'latest') or '0')\n"
    "local deleted = redis.call('HGET', key, 'deleted')\n"
    "if ARGV[2] == 'create' and latest > 0 and not deleted then\n"
    "  return {-1}\n"
    "end\n"
    "if ARGV[2] == 'update' and (latest == 0 or deleted) then\n"
    "  return {-2}\n"
    "end\n"
    "local v = latest + 1\n"
    "redis.call('HSET', key, 'latest', v, tostring(v),\n"
    "           '{\"version\":' .. v .. ',' .. string.sub(ARGV[3], 2))\n"
    "redis.call('HDEL', key, 'deleted')\n"
    "redis.call('ZADD', 'gw:wf:defs', 0, ARGV[1])\n"
    "redis.call('XADD', 'gw:audit', '*', 'event',\n"
    "           '{\"id\":\"workflow-def-' .. ARGV[1] .. '-' .. v .. '\",'\n"
    "           .. string.sub(ARGV[4], 2))\n"
    "return {v}\n"
};

/* ARGV: name, now, the audit event.  1, or 0: no such definition */
gw_svc_script_t  wf_script_def_del = { .text =
    "local key = 'gw:wf:def:' .. ARGV[1]\n"
    "local latest = redis.call('HGET', key, 'latest')\n"
    "if not latest or redis.call('HEXISTS', key, 'deleted') == 1 then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', key, 'deleted', ARGV[2])\n"
    "redis.call('ZREM', 'gw:wf:defs', ARGV[1])\n"
    "redis.call('XADD', 'gw:audit', '*', 'event',\n"
    "           '{\"id\":\"workflow-def-' .. ARGV[1] .. '-deleted-'\n"
    "           .. ARGV[2] .. '\",' .. string.sub(ARGV[3], 2))\n"
    "return 1\n"
};

/*
 * ARGV: name, version ("": the latest, not deleted).  The document, or
 * nil.
 */
gw_svc_script_t  wf_script_def_get = { .text =
    "local key = 'gw:wf:def:' .. ARGV[1]\n"
    "local v = ARGV[2]\n"
    "if v == '' then\n"
    "  if redis.call('HEXISTS', key, 'deleted') == 1 then return nil end\n"
    "  v = redis.call('HGET', key, 'latest')\n"
    "  if not v then return nil end\n"
    "end\n"
    "return redis.call('HGET', key, v)\n"
};


int
wf_def_routes(gw_svc_t *svc)
{
    if (gw_svc_script_init(&wf_script_def_get) != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST, "/v1/definitions", 0,
                        wf_def_root, NULL)
           != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_PUT | GW_SVC_DELETE,
                        "/v1/definitions/", GW_SVC_PREFIX, wf_def_one, NULL)
           != 0)
    {
        return -1;
    }

    return 0;
}


static void
wf_def_root(gw_svc_req_t *req, void *data)
{
    json_t       *body, *name;
    wf_caller_t   caller;

    if (wf_caller(req, &caller) != 0) {
        return;
    }

    if (strcmp(gw_svc_req_method(req), "GET") == 0) {
        wf_def_list(req);
        return;
    }

    if (!caller.admin) {
        gw_svc_reply_problem(req, 403, "forbidden", "Forbidden",
                             "writing definitions needs the scope "
                             "workflow:admin");
        return;
    }

    body = wf_body(req);
    if (body == NULL) {
        return;
    }

    name = json_object_get(body, "name");

    if (!json_is_string(name)
        || !wf_name_valid(json_string_value(name), json_string_length(name)))
    {
        json_decref(body);
        gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                             "name must be 1 to 80 of [A-Za-z0-9_-]",
                             json_pack("{s:s}", "pointer", "/name"));
        return;
    }

    wf_def_write(req, &caller, json_string_value(name), body, 1);
    json_decref(body);
}


/* {name}, {name}/versions/{n} */

static void
wf_def_one(gw_svc_req_t *req, void *data)
{
    char          *name, *p;
    json_t        *body;
    const char    *path, *method, *ver;
    wf_caller_t    caller;

    if (wf_caller(req, &caller) != 0) {
        return;
    }

    path = gw_svc_req_path(req) + sizeof("/v1/definitions/") - 1;
    method = gw_svc_req_method(req);

    name = gw_svc_req_alloc(req, strlen(path) + 1);
    if (name == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    strcpy(name, path);
    ver = NULL;

    p = strchr(name, '/');

    if (p != NULL) {
        *p++ = '\0';

        if (strncmp(p, "versions/", 9) != 0 || strcmp(method, "GET") != 0) {
            gw_svc_reply_problem(req, 404, "not-found", "Not found",
                                 "no such resource");
            return;
        }

        ver = p + 9;

        if (ver[0] < '1' || ver[0] > '9' || strlen(ver) > 15
            || strspn(ver, "0123456789") != strlen(ver))
        {
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 "a version is a number from 1");
            return;
        }
    }

    if (!wf_name_valid(name, strlen(name))) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "a definition's name is 1 to 80 of "
                             "[A-Za-z0-9_-]");
        return;
    }

    if (strcmp(method, "GET") == 0) {
        wf_def_read(req, name, ver != NULL ? ver : "");
        return;
    }

    if (!caller.admin) {
        gw_svc_reply_problem(req, 403, "forbidden", "Forbidden",
                             "writing definitions needs the scope "
                             "workflow:admin");
        return;
    }

    if (strcmp(method, "DELETE") == 0) {
        wf_def_delete(req, &caller, name);
        return;
    }

    body = wf_body(req);
    if (body == NULL) {
        return;
    }

    if (json_object_get(body, "name") != NULL) {
        json_decref(body);
        gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                             "the name is the path's, not the body's",
                             json_pack("{s:s}", "pointer", "/name"));
        return;
    }

    wf_def_write(req, &caller, name, body, 0);
    json_decref(body);
}


static void
wf_def_write(gw_svc_req_t *req, wf_caller_t *caller, const char *name,
    json_t *body, int create)
{
    char          *doc_text, *audit, res[128];
    json_t        *doc;
    const char    *argv[4];
    wf_def_ctx_t  *ctx;

    doc = wf_def_check(req, body);
    if (doc == NULL) {
        return;
    }

    /* name may be the body's, freed before the reply: a copy of ours */
    ctx = gw_svc_req_alloc(req, sizeof(wf_def_ctx_t) + strlen(name) + 1);

    if (ctx == NULL
        || json_object_set_new(doc, "name", json_string(name)) != 0
        || json_object_set_new(doc, "created",
                               json_integer(wf_now_ms())) != 0)
    {
        json_decref(doc);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    snprintf(res, sizeof(res), "/v1/definitions/%s", name);

    doc_text = json_dumps(doc, JSON_COMPACT);
    audit = wf_audit(gw_svc_req_id(req), caller->owner,
                     create ? "create" : "update", res, 201);

    if (doc_text == NULL || audit == NULL) {
        free(doc_text);
        free(audit);
        json_decref(doc);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    ctx->req = req;
    ctx->doc = doc;
    ctx->name = strcpy((char *) (ctx + 1), name);
    ctx->create = create;

    argv[0] = name;
    argv[1] = create ? "create" : "update";
    argv[2] = doc_text;
    argv[3] = audit;

    if (wf_api_eval(&wf_script_def_put, 4, argv,
                    wf_def_written, ctx)
        != 0)
    {
        json_decref(doc);
        wf_unavailable(req);
    }

    free(doc_text);
    free(audit);
}


static void
wf_def_written(redisReply *reply, void *data)
{
    wf_def_ctx_t  *ctx = data;

    char           loc[160];
    long long      v;
    gw_svc_req_t  *req;

    req = ctx->req;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        json_decref(ctx->doc);
        wf_unavailable(req);
        return;
    }

    v = reply->element[0]->integer;

    if (v == -1) {
        json_decref(ctx->doc);
        gw_svc_reply_problem(req, 409, "conflict", "Conflict",
                             "a definition of that name exists: PUT "
                             "/v1/definitions/{name} adds a version");
        return;
    }

    if (v == -2) {
        json_decref(ctx->doc);
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such definition");
        return;
    }

    json_object_set_new(ctx->doc, "version", json_integer(v));

    snprintf(loc, sizeof(loc), "/v1/definitions/%s/versions/%lld",
             ctx->name, v);
    gw_svc_req_add_header(req, "Location", loc);

    gw_svc_log(wf.svc, GW_SVC_INFO, req, "definition stored",
               json_pack("{s:s, s:I}", "definition", ctx->name,
                         "version", (json_int_t) v));

    gw_svc_reply_json(req, 201, ctx->doc);
}


static void
wf_def_read(gw_svc_req_t *req, const char *name, const char *ver)
{
    const char  *argv[2];

    argv[0] = name;
    argv[1] = ver;

    if (wf_api_eval(&wf_script_def_get, 2, argv, wf_def_got,
                    req)
        != 0)
    {
        wf_unavailable(req);
    }
}


static void
wf_def_got(redisReply *reply, void *data)
{
    gw_svc_req_t  *req = data;

    json_t        *doc;

    if (reply == NULL) {
        wf_unavailable(req);
        return;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such definition or version");
        return;
    }

    doc = json_loadb(reply->str, reply->len, JSON_ALLOW_NUL, NULL);
    if (doc == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "a stored definition is not JSON");
        return;
    }

    gw_svc_reply_json(req, 200, doc);
}


static void
wf_def_list(gw_svc_req_t *req)
{
    int                 rc;
    char                cursor[WF_NAME_MAX + 2], min[WF_NAME_MAX + 2];
    const char         *q;
    wf_def_ctx_t       *ctx;
    redisAsyncContext  *redis;

    q = gw_svc_req_query(req);

    ctx = gw_svc_req_alloc(req, sizeof(wf_def_ctx_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    ctx->req = req;

    if (wf_query_int(req, q, "limit", WF_LIST_DFLT, 1, WF_LIST_MAX,
                     &ctx->limit)
        != 0)
    {
        return;
    }

    rc = wf_query_str(req, q, "cursor", cursor, sizeof(cursor));
    if (rc == -1) {
        return;
    }

    if (rc == 0 && !wf_name_valid(cursor, strlen(cursor))) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "bad cursor");
        return;
    }

    if (rc == 0) {
        snprintf(min, sizeof(min), "(%s", cursor);

    } else {
        strcpy(min, "-");
    }

    gw_svc_req_add_header(req, "Cache-Control", "no-store");

    redis = gw_svc_redis(wf.svc);

    if (redis == NULL
        || redisAsyncCommand(redis, wf_def_listed, ctx,
                             "ZRANGEBYLEX gw:wf:defs %s + LIMIT 0 %lld",
                             min, ctx->limit + 1)
           != REDIS_OK)
    {
        wf_unavailable(req);
    }
}


static void
wf_def_listed(redisAsyncContext *c, void *r, void *data)
{
    wf_def_ctx_t  *ctx = data;

    size_t         i, n;
    json_t        *names, *body;
    redisReply    *reply = r;
    gw_svc_req_t  *req;

    req = ctx->req;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        wf_unavailable(req);
        return;
    }

    names = json_array();
    body = json_pack("{s:o, s:n}", "definitions", names, "next");

    if (body == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    n = reply->elements;

    if (n > (size_t) ctx->limit) {
        n = (size_t) ctx->limit;

        if (reply->element[n - 1]->type == REDIS_REPLY_STRING) {
            json_object_set_new(body, "next",
                                json_string(reply->element[n - 1]->str));
        }
    }

    for (i = 0; i < n; i++) {
        if (reply->element[i]->type == REDIS_REPLY_STRING) {
            json_array_append_new(names,
                                  json_string(reply->element[i]->str));
        }
    }

    gw_svc_reply_json(req, 200, body);
}


static void
wf_def_delete(gw_svc_req_t *req, wf_caller_t *caller, const char *name)
{
    char         res[128], now[24], *audit;
    const char  *argv[3];

    snprintf(res, sizeof(res), "/v1/definitions/%s", name);
    snprintf(now, sizeof(now), "%lld", wf_now_ms());

    audit = wf_audit(gw_svc_req_id(req), caller->owner, "delete", res, 204);
    if (audit == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    argv[0] = name;
    argv[1] = now;
    argv[2] = audit;

    if (wf_api_eval(&wf_script_def_del, 3, argv,
                    wf_def_deleted, req)
        != 0)
    {
        wf_unavailable(req);
    }

    free(audit);
}


static void
wf_def_deleted(redisReply *reply, void *data)
{
    gw_svc_req_t  *req = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        wf_unavailable(req);
        return;
    }

    if (reply->integer == 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such definition");
        return;
    }

    gw_svc_reply(req, 204, NULL, NULL, 0);
}
