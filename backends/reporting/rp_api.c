
/*
 * Copyright (C) Tollgate
 *
 * The runs' API (docs/reporting.md):
 *
 *   POST /v1/reports/{id}/runs         {"format", "params", "delivery"}
 *                                      202 {"run", "status"}, Location;
 *                                      ?wait=<seconds>: 200 with the run
 *                                      when it ends in time
 *   GET  /v1/reports/{id}/runs/{run}   the run: status, rows so far, the
 *                                      error, a signed download link
 *
 * The caller is who the gateway says: X-Consumer-ID (its tenant, bound
 * to the definition's tenant_param), X-Consumer-Scope with reports:read
 * to run and read one's own runs, reports:admin to read anyone's.  Each
 * header once, capped, no control byte.  Someone else's run is 404.
 * The definition is read from the metadata store in Redis when the run
 * is asked for; the run keeps that version to its end.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rp.h"


#define RP_SCOPE_MAX    4096


typedef struct {
    gw_svc_req_t           *req;
    char                    id[RP_ID_MAX + 1];
    char                    owner[RP_OWNER_MAX + 1];
    json_t                 *body;
    long long               wait_ms;
} rp_api_post_t;


static void rp_api_reports(gw_svc_req_t *req, void *data);
static void rp_api_post(gw_svc_req_t *req, const char *id,
    rp_caller_t *caller);
static void rp_api_got_def(redisAsyncContext *ac, void *r, void *data);
static void rp_api_get(gw_svc_req_t *req, const char *id, const char *run,
    rp_caller_t *caller);
static void rp_api_got_run(redisAsyncContext *ac, void *r, void *data);
static int rp_api_id(const char *s, size_t len);


int
rp_api_caller(gw_svc_req_t *req, rp_caller_t *caller)
{
    size_t        i;
    const char   *names[2] = { "X-Consumer-ID", "X-Consumer-Scope" };
    const char   *v[2], *p, *e;
    const size_t  max[2] = { RP_OWNER_MAX, RP_SCOPE_MAX };

    for (i = 0; i < 2; i++) {
        v[i] = gw_svc_req_header(req, names[i]);

        if (gw_svc_req_header_count(req, names[i]) > 1) {
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 i == 0 ? "X-Consumer-ID sent twice"
                                        : "X-Consumer-Scope sent twice");
            return -1;
        }

        if (v[i] == NULL) {
            continue;
        }

        for (p = v[i]; *p != '\0'; p++) {
            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                break;
            }
        }

        if (*p != '\0' || strlen(v[i]) > max[i]) {
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 i == 0 ? "X-Consumer-ID is malformed"
                                        : "X-Consumer-Scope is malformed");
            return -1;
        }
    }

    if (v[0] == NULL || v[0][0] == '\0') {
        gw_svc_reply_problem(req, 401, "unauthorized", "Unauthorized",
                             "no X-Consumer-ID");
        return -1;
    }

    caller->owner = v[0];
    caller->read = 0;
    caller->admin = 0;

    for (p = v[1]; p != NULL && *p != '\0'; p = e) {
        p += strspn(p, " ");
        e = p + strcspn(p, " ");

        if (e - p == 12 && strncmp(p, "reports:read", 12) == 0) {
            caller->read = 1;

        } else if (e - p == 13 && strncmp(p, "reports:admin", 13) == 0) {
            caller->read = 1;
            caller->admin = 1;
        }
    }

    if (!caller->read) {
        gw_svc_reply_problem(req, 403, "forbidden", "Forbidden",
                             "the scope reports:read is needed");
        return -1;
    }

    return 0;
}


int
rp_run_routes(gw_svc_t *svc)
{
    return gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST, "/v1/reports/",
                        GW_SVC_PREFIX, rp_api_reports, NULL);
}


/* "{id}/runs" (POST) or "{id}/runs/{run}" (GET) */
static void
rp_api_reports(gw_svc_req_t *req, void *data)
{
    int           post;
    char          id[RP_ID_MAX + 1];
    size_t        n;
    const char   *path, *rest;
    rp_caller_t   caller;

    path = gw_svc_req_path(req) + sizeof("/v1/reports/") - 1;
    post = strcmp(gw_svc_req_method(req), "POST") == 0;

    n = strcspn(path, "/");
    rest = path + n;

    if (!rp_api_id(path, n)
        || strncmp(rest, "/runs", 5) != 0
        || (post && rest[5] != '\0')
        || (!post && (rest[5] != '/'
                      || strlen(rest + 6) != RP_RUN_LEN
                      || strspn(rest + 6, "0123456789abcdef")
                         != RP_RUN_LEN)))
    {
        gw_svc_reply_problem(req, 404, "not-found", "Not found", NULL);
        return;
    }

    memcpy(id, path, n);
    id[n] = '\0';

    if (rp_api_caller(req, &caller) != 0) {
        return;
    }

    if (post) {
        rp_api_post(req, id, &caller);
    } else {
        rp_api_get(req, id, rest + 6, &caller);
    }
}


static int
rp_api_id(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > RP_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9')
              || (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))))
        {
            return 0;
        }
    }

    return 1;
}


/* a query argument's value (no escapes are needed by ours); -1: none */
int
rp_api_arg(gw_svc_req_t *req, const char *name, char *buf, size_t len)
{
    size_t       n, m;
    const char  *q;

    q = gw_svc_req_query(req);
    n = strlen(name);

    while (q != NULL && *q != '\0') {
        m = strcspn(q, "&");

        if (m > n && strncmp(q, name, n) == 0 && q[n] == '=') {
            if (m - n - 1 >= len) {
                return -1;
            }
            memcpy(buf, q + n + 1, m - n - 1);
            buf[m - n - 1] = '\0';
            return 0;
        }

        q += m;
        q += (*q == '&');
    }

    return -1;
}


static void
rp_api_post(gw_svc_req_t *req, const char *id, rp_caller_t *caller)
{
    char                buf[32], *end;
    size_t              len;
    json_t             *body;
    const char         *text, *ct;
    json_error_t        jerr;
    rp_api_post_t      *ctx;
    redisAsyncContext  *ac;

    text = gw_svc_req_body(req, &len);
    ct = gw_svc_req_header(req, "Content-Type");

    if (len > 0
        && (ct == NULL || strncasecmp(ct, "application/json", 16) != 0
            || (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')))
    {
        gw_svc_reply_problem(req, 415, "unsupported-media-type",
                             "Unsupported media type",
                             "the body must be application/json");
        return;
    }

    body = (len == 0) ? json_object()
                      : json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(body)) {
        json_decref(body);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "the body is not a JSON object");
        return;
    }

    ctx = gw_svc_req_alloc(req, sizeof(rp_api_post_t));
    if (ctx == NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    ctx->req = req;
    ctx->body = body;
    ctx->wait_ms = 0;
    snprintf(ctx->id, sizeof(ctx->id), "%s", id);
    snprintf(ctx->owner, sizeof(ctx->owner), "%s", caller->owner);

    if (rp_api_arg(req, "wait", buf, sizeof(buf)) == 0) {
        ctx->wait_ms = strtoll(buf, &end, 10) * 1000;
        if (*end != '\0' || buf[0] == '\0' || ctx->wait_ms < 0) {
            json_decref(body);
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 "?wait= takes whole seconds");
            return;
        }
        if (ctx->wait_ms > rp.wait_max) {
            ctx->wait_ms = rp.wait_max;
        }
    }

    ac = gw_svc_redis(rp.svc);

    if (ac == NULL
        || redisAsyncCommand(ac, rp_api_got_def, ctx,
                             "HGET gw:md:e:u.reports:%s doc", id)
           != REDIS_OK)
    {
        json_decref(body);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "Redis is down");
    }
}


static void
rp_api_got_def(redisAsyncContext *ac, void *r, void *data)
{
    char            err[RP_ERR_MAX];
    size_t          i;
    json_t         *doc, *params, *f, *delivery, *body;
    rp_def_t       *def;
    redisReply     *reply;
    const char     *fmt_name;
    rp_api_post_t  *ctx;
    gw_report_format_e  fmt;

    ctx = data;
    reply = r;
    def = NULL;
    params = NULL;

    /* ctx lives in the request, which the reply frees: body outlives it */
    body = ctx->body;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        gw_svc_reply_problem(ctx->req, 503, "unavailable", "Unavailable",
                             "Redis failed");
        goto done;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        gw_svc_reply_problem(ctx->req, 404, "not-found", "Not found",
                             "no such report");
        goto done;
    }

    doc = json_loadb(reply->str, reply->len, 0, NULL);
    def = rp_def_parse(ctx->id, doc, err, sizeof(err));
    if (def == NULL) {
        gw_svc_reply_problem(ctx->req, 422, "definition-invalid",
                             "The report's definition cannot be run", err);
        goto done;
    }

    f = json_object_get(ctx->body, "format");
    fmt_name = json_is_string(f) ? json_string_value(f)
               : json_is_string(json_array_get(def->formats, 0))
                 ? json_string_value(json_array_get(def->formats, 0))
                 : "csv";

    if ((f != NULL && !json_is_string(f))
        || gw_report_format_parse(fmt_name, &fmt) != 0)
    {
        gw_svc_reply_problem(ctx->req, 422, "invalid", "Invalid request",
                             "/format: csv, json, ndjson, xlsx or pdf");
        goto done;
    }

    if (json_array_size(def->formats) > 0) {
        json_array_foreach(def->formats, i, f) {
            if (json_is_string(f) && strcmp(json_string_value(f), fmt_name)
                                     == 0)
            {
                break;
            }
        }

        if (i == json_array_size(def->formats)) {
            gw_svc_reply_problem(ctx->req, 422, "invalid",
                                 "Invalid request", "/format: not one of "
                                 "the report's formats");
            goto done;
        }
    }

    params = rp_def_params(def, json_object_get(ctx->body, "params"),
                           ctx->owner, err, sizeof(err));
    if (params == NULL) {
        gw_svc_reply_problem(ctx->req, 422, "invalid", "Invalid request",
                             err);
        goto done;
    }

    delivery = json_object_get(ctx->body, "delivery");
    if (delivery != NULL
        && (!json_is_object(delivery)
            || rp_notify_check(delivery, err, sizeof(err)) != 0))
    {
        gw_svc_reply_problem(ctx->req, 422, "invalid", "Invalid request",
                             json_is_object(delivery) ? err
                             : "/delivery: an object");
        goto done;
    }

    /* the run owns def and params from here, answered or not; delivery
     * is held by the run (json_incref) before the body goes */
    rp_run_submit(def, params, fmt, ctx->owner, delivery, ctx->req,
                  ctx->wait_ms);
    def = NULL;
    params = NULL;

done:

    rp_def_free(def);
    json_decref(params);
    json_decref(body);
}


typedef struct {
    gw_svc_req_t           *req;
    char                    id[RP_ID_MAX + 1];
    char                    run[RP_RUN_LEN + 1];
    int                     admin;
    const char             *owner;
} rp_api_get_t;


static void
rp_api_get(gw_svc_req_t *req, const char *id, const char *run,
    rp_caller_t *caller)
{
    rp_api_get_t       *ctx;
    redisAsyncContext  *ac;

    ctx = gw_svc_req_alloc(req, sizeof(rp_api_get_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    ctx->req = req;
    ctx->admin = caller->admin;
    ctx->owner = caller->owner;
    snprintf(ctx->id, sizeof(ctx->id), "%s", id);
    snprintf(ctx->run, sizeof(ctx->run), "%s", run);

    ac = gw_svc_redis(rp.svc);

    if (ac == NULL
        || redisAsyncCommand(ac, rp_api_got_run, ctx,
                             "HGETALL gw:rp:run:%s", run)
           != REDIS_OK)
    {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "Redis is down");
    }
}


static void
rp_api_got_run(redisAsyncContext *ac, void *r, void *data)
{
    size_t         i;
    json_t        *h, *out;
    redisReply    *reply;
    const char    *owner, *report;
    rp_api_get_t  *ctx;

    ctx = data;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        gw_svc_reply_problem(ctx->req, 503, "unavailable", "Unavailable",
                             "Redis failed");
        return;
    }

    h = json_object();
    if (h == NULL) {
        gw_svc_reply_problem(ctx->req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    for (i = 0; i + 1 < reply->elements; i += 2) {
        json_object_set_new(h, reply->element[i]->str,
                            json_string(reply->element[i + 1]->str));
    }

    owner = json_string_value(json_object_get(h, "owner"));
    report = json_string_value(json_object_get(h, "report"));

    if (owner == NULL || report == NULL || strcmp(report, ctx->id) != 0
        || (!ctx->admin && strcmp(owner, ctx->owner) != 0))
    {
        json_decref(h);
        gw_svc_reply_problem(ctx->req, 404, "not-found", "Not found",
                             "no such run");
        return;
    }

    out = rp_run_json(ctx->run, h);
    json_decref(h);

    gw_svc_reply_json(ctx->req, 200, out);
}
