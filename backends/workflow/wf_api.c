
/*
 * Copyright (C) Tollgate
 *
 * Executions' API (docs/workflow.md, "The service"):
 *
 *   POST /v1/executions                 start one (wf_api_start.c)
 *   GET  /v1/executions                 list (wf_api_list.c)
 *   GET  /v1/executions/{id}            describe
 *   GET  /v1/executions/{id}/history    its events (wf_api_list.c)
 *   POST /v1/executions/{id}/stop       abort or compensate
 *   POST /v1/executions/{id}/redrive    run a failed one again
 *                                       (both wf_api_script.c)
 *   POST /v1/tasks/success|failure|heartbeat    (wf_api_token.c)
 *
 * Every call names its caller (wf_caller); a caller who is not an admin
 * sees and acts on its own executions only, and someone else's is 404,
 * never 403, so ids cannot be probed.
 *
 * A start keeps the caller's "Authorization: Bearer" token (the gateway
 * hands it on as the client sent it), sealed (wf_stok.c), for a
 * tollgate:http task that exchanges it (docs/workflow.md); the token is
 * never logged nor answered.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_form.h"
#include "wf_api.h"


#define WF_QUERY_MAX      4096


typedef struct {
    gw_svc_req_t           *req;
    wf_caller_t             caller;
    char                    id[WF_ID_MAX];
    int                     status;     /* of the answer: 200, 201 */
} wf_api_ctx_t;


static void wf_api_root(gw_svc_req_t *req, void *data);
static void wf_api_one(gw_svc_req_t *req, void *data);
static void wf_api_post(gw_svc_req_t *req, wf_caller_t *caller);
static void wf_api_started(int status, const char *id, const char *err,
    void *data);
static void wf_api_described(redisAsyncContext *c, void *r, void *data);
static int wf_api_bearer(gw_svc_req_t *req, const char **token);


static const char  *wf_api_fields[] = {
    "owner", "name", "def", "ver", "status", "input", "output", "error",
    "cause", "start", "stop", "state", "redrives", "parent", "slot"
};

#define WF_API_NFIELDS  (sizeof(wf_api_fields) / sizeof(wf_api_fields[0]))


int
wf_api_routes(gw_svc_t *svc)
{
    if (gw_svc_script_init(&wf_script_list) != 0
        || gw_svc_script_init(&wf_script_history) != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST, "/v1/executions", 0,
                        wf_api_root, NULL)
           != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST, "/v1/executions/",
                        GW_SVC_PREFIX, wf_api_one, NULL)
           != 0
        || gw_svc_route(svc, GW_SVC_POST, "/v1/tasks/", GW_SVC_PREFIX,
                        wf_api_token, NULL)
           != 0)
    {
        return -1;
    }

    return 0;
}


int
wf_query_str(gw_svc_req_t *req, const char *q, const char *name,
    char *buf, size_t size)
{
    char         detail[128];
    gw_form_t   *form;
    const char  *v, *err;
    const unsigned char  *p;

    if (q == NULL || q[0] == '\0') {
        return 1;
    }

    form = gw_form_parse("application/x-www-form-urlencoded", q, strlen(q),
                         WF_QUERY_MAX, &err);
    if (form == NULL) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             err != NULL ? err : "bad query");
        return -1;
    }

    v = gw_form_nth(form, name, 0);

    if (v == NULL) {
        gw_form_free(form);
        return 1;
    }

    for (p = (const unsigned char *) v; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            break;
        }
    }

    if (*p != '\0' || strlen(v) >= size || gw_form_nth(form, name, 1)
        != NULL)
    {
        gw_form_free(form);
        snprintf(detail, sizeof(detail), "bad %s", name);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return -1;
    }

    strcpy(buf, v);
    gw_form_free(form);

    return 0;
}


int
wf_query_int(gw_svc_req_t *req, const char *q, const char *name,
    long long dflt, long long min, long long max, long long *v)
{
    int    rc;
    char   buf[24], *end, detail[128];

    rc = wf_query_str(req, q, name, buf, sizeof(buf));

    if (rc == -1) {
        return -1;
    }

    if (rc == 1) {
        *v = dflt;
        return 0;
    }

    *v = strtoll(buf, &end, 10);

    if (end == buf || *end != '\0' || *v < min || *v > max) {
        snprintf(detail, sizeof(detail), "%s must be %lld to %lld", name,
                 min, max);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return -1;
    }

    return 0;
}


int
wf_api_eval(gw_svc_script_t *script, int argc, const char **argv,
    gw_svc_eval_pt cb, void *data)
{
    int     i;
    size_t  lens[GW_SVC_EVAL_ARGS];

    if (argc > GW_SVC_EVAL_ARGS) {
        return -1;
    }

    for (i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }

    return gw_svc_eval(wf.svc, script, argc, argv, lens, cb, data);
}


void
wf_api_not_found(gw_svc_req_t *req, const char *id)
{
    gw_svc_reply_problem(req, 404, "not-found", "Not found",
                         "no such execution");
}


static void
wf_api_root(gw_svc_req_t *req, void *data)
{
    wf_caller_t  caller;

    if (wf_caller(req, &caller) != 0) {
        return;
    }

    if (strcmp(gw_svc_req_method(req), "GET") == 0) {
        wf_api_list(req, &caller);
        return;
    }

    wf_api_post(req, &caller);
}


/* {id}, {id}/history, {id}/stop, {id}/redrive */

static void
wf_api_one(gw_svc_req_t *req, void *data)
{
    char          id[WF_ID_MAX];
    size_t        n;
    const char   *path, *rest, *method;
    wf_caller_t   caller;

    if (wf_caller(req, &caller) != 0) {
        return;
    }

    path = gw_svc_req_path(req) + sizeof("/v1/executions/") - 1;
    method = gw_svc_req_method(req);

    n = strcspn(path, "/");
    rest = path + n;

    if (n >= sizeof(id)) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "not an execution id");
        return;
    }

    memcpy(id, path, n);
    id[n] = '\0';

    if (!wf_id_valid(id)) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "not an execution id");
        return;
    }

    if (strcmp(method, "GET") == 0 && rest[0] == '\0') {
        wf_api_describe(req, &caller, id);

    } else if (strcmp(method, "GET") == 0 && strcmp(rest, "/history") == 0) {
        wf_api_history(req, &caller, id);

    } else if (strcmp(method, "POST") == 0 && strcmp(rest, "/stop") == 0) {
        wf_api_stop(req, &caller, id);

    } else if (strcmp(method, "POST") == 0
               && strcmp(rest, "/redrive") == 0)
    {
        wf_api_redrive(req, &caller, id);

    } else if (rest[0] == '\0' || strcmp(rest, "/history") == 0
               || strcmp(rest, "/stop") == 0
               || strcmp(rest, "/redrive") == 0)
    {
        gw_svc_req_add_header(req, "Allow", rest[0] == '\0'
                              || rest[1] == 'h' ? "GET" : "POST");
        gw_svc_reply_problem(req, 405, "method-not-allowed",
                             "Method not allowed", NULL);

    } else {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such resource");
    }
}


static void
wf_api_post(gw_svc_req_t *req, wf_caller_t *caller)
{
    json_t        *body, *def, *ver, *name, *input, *mocks, *v;
    const char    *k, *bad;
    const char    *bearer;
    wf_api_ctx_t  *ctx;

    if (wf_api_bearer(req, &bearer) != 0) {
        return;
    }

    body = wf_body(req);
    if (body == NULL) {
        return;
    }

    bad = NULL;

    json_object_foreach(body, k, v) {
        if (strcmp(k, "definition") != 0 && strcmp(k, "version") != 0
            && strcmp(k, "name") != 0 && strcmp(k, "input") != 0
            && strcmp(k, "mocks") != 0)
        {
            bad = "unknown member: the body holds definition, version, "
                  "name, input, mocks";
        }
    }

    def = json_object_get(body, "definition");
    ver = json_object_get(body, "version");
    name = json_object_get(body, "name");
    input = json_object_get(body, "input");
    mocks = json_object_get(body, "mocks");

    if (bad != NULL) {
        /* said first: the member's name may be anything */

    } else if (!json_is_string(def)
               || !wf_name_valid(json_string_value(def),
                                 json_string_length(def)))
    {
        bad = "definition must name a definition: 1 to 80 of "
              "[A-Za-z0-9_-]";

    } else if (ver != NULL
               && (!json_is_integer(ver) || json_integer_value(ver) < 1))
    {
        bad = "version must be an integer from 1";

    } else if (name != NULL
               && (!json_is_string(name)
                   || !wf_name_valid(json_string_value(name),
                                     json_string_length(name))))
    {
        bad = "name must be 1 to 80 of [A-Za-z0-9_-]";

    } else if (mocks != NULL && !wf.mocks) {
        bad = "mocks are accepted in test mode only (mocks = on)";

    } else if (mocks != NULL && !json_is_object(mocks)) {
        bad = "mocks must be an object";
    }

    if (bad != NULL) {
        json_decref(body);

        if (mocks != NULL && !wf.mocks) {
            gw_svc_reply_problem(req, 422, "invalid", "Invalid", bad);

        } else {
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 bad);
        }

        return;
    }

    if (input != NULL && gw_asl_too_large(input, GW_ASL_PAYLOAD_MAX, NULL)) {
        json_decref(body);
        gw_svc_reply_problem(req, 413, "too-large", "Payload too large",
                             "input is at most 256 KiB as compact JSON");
        return;
    }

    ctx = gw_svc_req_alloc(req, sizeof(wf_api_ctx_t));
    if (ctx == NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    ctx->req = req;
    ctx->caller = *caller;
    ctx->status = 0;

    if (input == NULL) {
        input = json_object();
        json_object_set_new(body, "input", input);
    }

    wf_start_tok(json_string_value(def),
                 ver != NULL ? (long long) json_integer_value(ver) : 0,
                 name != NULL ? json_string_value(name) : NULL, input,
                 caller->owner, gw_svc_req_traceparent(req),
                 gw_svc_req_id(req), NULL, 0, mocks, bearer,
                 wf_api_started, ctx);

    json_decref(body);
}


/*
 * The caller's bearer token (RFC 6750 section 2.1: "Bearer" in any case,
 * one space, a token68 of at most WF_STOK_MAX bytes), NULL without one
 * or with another scheme; -1 when req was answered: 400 for two
 * Authorization headers or a malformed Bearer, 413 for one too long.
 */
static int
wf_api_bearer(gw_svc_req_t *req, const char **token)
{
    size_t       n, len;
    const char  *v;

    *token = NULL;

    if (gw_svc_req_header_count(req, "Authorization") > 1) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "Authorization: at most one");
        return -1;
    }

    v = gw_svc_req_header(req, "Authorization");

    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0) {
        return 0;
    }

    v += 7;
    len = strlen(v);

    if (len > WF_STOK_MAX) {
        gw_svc_reply_problem(req, 413, "too-large", "Payload too large",
                             "Authorization: a bearer token of at most "
                             "8192 bytes");
        return -1;
    }

    n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-._~+/");

    while (v[n] == '=') {
        n++;
    }

    if (len == 0 || n != len) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "Authorization: Bearer and a token68");
        return -1;
    }

    *token = v;

    return 0;
}


static void
wf_api_started(int status, const char *id, const char *err, void *data)
{
    wf_api_ctx_t  *ctx = data;

    char           loc[WF_ID_MAX + 32];
    redisAsyncContext  *redis;

    switch (status) {

    case 200:
    case 201:
        snprintf(loc, sizeof(loc), "/v1/executions/%s", id);
        gw_svc_req_add_header(ctx->req, "Location", loc);
        snprintf(ctx->id, sizeof(ctx->id), "%s", id);

        /* answered as a describe does, with the status of the start */
        ctx->status = status;

        redis = gw_svc_redis(wf.svc);

        if (redis == NULL
            || redisAsyncCommand(redis, wf_api_described, ctx,
                                 "HMGET gw:wf:x:%s owner name def ver "
                                 "status input output error cause start "
                                 "stop state redrives parent slot", id)
               != REDIS_OK)
        {
            wf_unavailable(ctx->req);
        }

        return;

    case 404:
        gw_svc_reply_problem(ctx->req, 404, "not-found", "Not found", err);
        return;

    case 409:
        /* not naming the execution: it may be another owner's */
        gw_svc_reply_problem(ctx->req, 409, "conflict", "Conflict",
                             err != NULL ? err : "conflict");
        return;

    case 422:
        gw_svc_reply_problem(ctx->req, 422, "invalid", "Invalid", err);
        return;

    default:
        wf_unavailable(ctx->req);
    }
}


void
wf_api_describe(gw_svc_req_t *req, wf_caller_t *caller, const char *id)
{
    wf_api_ctx_t       *ctx;
    redisAsyncContext  *redis;

    ctx = gw_svc_req_alloc(req, sizeof(wf_api_ctx_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    ctx->req = req;
    ctx->caller = *caller;
    ctx->status = 0;
    strcpy(ctx->id, id);

    redis = gw_svc_redis(wf.svc);

    if (redis == NULL
        || redisAsyncCommand(redis, wf_api_described, ctx,
                             "HMGET gw:wf:x:%s owner name def ver status "
                             "input output error cause start stop state "
                             "redrives parent slot", id)
           != REDIS_OK)
    {
        wf_unavailable(req);
    }
}


/* a stored JSON text as a value: null when absent or not JSON */

static json_t *
wf_api_json(redisReply *r)
{
    json_t  *v;

    if (r->type != REDIS_REPLY_STRING || r->len == 0) {
        return json_null();
    }

    v = json_loadb(r->str, r->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    return (v != NULL) ? v : json_null();
}


static json_t *
wf_api_str(redisReply *r)
{
    if (r->type != REDIS_REPLY_STRING || r->len == 0) {
        return json_null();
    }

    return json_stringn(r->str, r->len);
}


static json_t *
wf_api_time(redisReply *r)
{
    char  buf[32];

    if (r->type != REDIS_REPLY_STRING || r->len == 0) {
        return json_null();
    }

    wf_rfc3339(strtoll(r->str, NULL, 10), buf, sizeof(buf));

    return buf[0] != '\0' ? json_string(buf) : json_null();
}


static void
wf_api_described(redisAsyncContext *c, void *r, void *data)
{
    wf_api_ctx_t  *ctx = data;

    int            status;
    json_t        *body;
    redisReply    *reply = r, **f;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != WF_API_NFIELDS)
    {
        wf_unavailable(ctx->req);
        return;
    }

    f = reply->element;
    status = (ctx->status != 0) ? ctx->status : 200;

    if (f[0]->type != REDIS_REPLY_STRING
        || (!ctx->caller.admin
            && strcmp(f[0]->str, ctx->caller.owner) != 0))
    {
        if (ctx->status == 200) {
            /* a start whose name another owner's execution has */
            gw_svc_reply_problem(ctx->req, 409, "conflict", "Conflict",
                                 "an execution of that name exists");
            return;
        }

        wf_api_not_found(ctx->req, ctx->id);
        return;
    }

    body = json_pack("{s:s, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o,"
                     " s:o, s:o, s:I}",
                     "id", ctx->id,
                     "name", wf_api_str(f[1]),
                     "definition", wf_api_str(f[2]),
                     "version", (json_int_t) (f[3]->type
                                              == REDIS_REPLY_STRING
                                              ? strtoll(f[3]->str, NULL, 10)
                                              : 0),
                     "status", wf_api_str(f[4]),
                     "input", wf_api_json(f[5]),
                     "output", wf_api_json(f[6]),
                     "error", wf_api_str(f[7]),
                     "cause", wf_api_str(f[8]),
                     "start", wf_api_time(f[9]),
                     "stop", wf_api_time(f[10]),
                     "state", wf_api_str(f[11]),
                     "redrives", (json_int_t) (f[12]->type
                                               == REDIS_REPLY_STRING
                                               ? strtoll(f[12]->str, NULL,
                                                         10)
                                               : 0));
    if (body == NULL) {
        gw_svc_reply_problem(ctx->req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    if (f[13]->type == REDIS_REPLY_STRING && f[13]->len > 0) {
        json_object_set_new(body, "parent", wf_api_str(f[13]));
    }

    gw_svc_reply_json(ctx->req, status, body);
}
