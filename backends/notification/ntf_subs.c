
/*
 * Copyright (C) Tollgate
 *
 * The webhook subscriptions API (docs/notification.md, "Subscriptions"):
 *
 *   POST   /v1/subscriptions               201, the secret shown once
 *   GET    /v1/subscriptions               the caller's
 *   GET    /v1/subscriptions/{sid}
 *   PATCH  /v1/subscriptions/{sid}         url, event_types, status, ...
 *   DELETE /v1/subscriptions/{sid}         204
 *   POST   /v1/subscriptions/{sid}/rotate  a new secret, shown once; the
 *                                          old one signs too until
 *                                          secret_overlap has passed
 *   POST   /v1/subscriptions/{sid}/test    one attempt now (ntf_webhook.c)
 *
 * This file takes the caller and the collection (POST, GET); one
 * subscription's calls are in ntf_subs_item.c.
 *
 * The caller is whom the gateway says: X-Consumer-ID, else
 * X-Consumer-Subject (neither: 401; two copies of one: 400).  A caller
 * sees and changes its own subscriptions only, and someone else's id is
 * answered 404 exactly like one that does not exist; the scope
 * notify:admin (or admin:write) acts for any owner ("owner" in a POST's
 * body, ?owner= on the list).  A receiver's URL is checked when it is
 * stored (http or https; a literal loopback, private or link-local
 * address refused unless webhook_allow names it), and again by the
 * socket check of every delivery (the kit's outbound HTTP, its guard).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ntf_subs.h"


#define NTF_SEALED_MAX      256


static void ntf_subs_collection(gw_svc_req_t *req, void *data);
static void ntf_subs_create(ntf_subs_ctx_t *ctx, json_t *body);
static void ntf_subs_created(redisAsyncContext *c, void *r, void *privdata);
static void ntf_subs_list(ntf_subs_ctx_t *ctx);
static void ntf_subs_listed(redisAsyncContext *c, void *r, void *privdata);


static const char  ntf_subs_create_lua[] =
    "if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 4))\n"
    "redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])\n"
    "return 1\n";

static const char  ntf_subs_list_lua[] =
    "local ids = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HGETALL', ARGV[1] .. id)\n"
    "  if #h > 0 then out[#out + 1] = h end\n"
    "end\n"
    "return out\n";


int
ntf_subs_routes(gw_svc_t *svc)
{
    if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST, "/v1/subscriptions", 0,
                     ntf_subs_collection, NULL)
        != 0)
    {
        return -1;
    }

    return gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST | GW_SVC_PATCH
                             | GW_SVC_DELETE,
                        "/v1/subscriptions/", GW_SVC_PREFIX, ntf_subs_item,
                        NULL);
}


int
ntf_subs_configure(gw_svc_t *svc)
{
    if (ntf_subs_seal_configure(svc) != 0) {
        return -1;
    }

    return ntf_subs_track_configure(svc);
}


static void
ntf_subs_collection(gw_svc_req_t *req, void *data)
{
    json_t          *body;
    ntf_subs_ctx_t  *ctx;

    ctx = ntf_subs_caller(req);
    if (ctx == NULL) {
        return;
    }

    if (strcmp(gw_svc_req_method(req), "GET") == 0) {
        ntf_subs_list(ctx);
        return;
    }

    body = ntf_subs_body(ctx);
    if (body == NULL) {
        return;
    }

    if (ntf_subs_checked(ctx, body, 1) != 0) {
        json_decref(body);
        return;
    }

    ntf_subs_create(ctx, body);
    json_decref(body);
}


/*
 * The caller's context, or NULL after a 400 (a duplicated identity
 * header) or 401 (none) was sent.
 */
ntf_subs_ctx_t *
ntf_subs_caller(gw_svc_req_t *req)
{
    size_t           len;
    const char      *id, *scope, *p;
    ntf_subs_ctx_t  *ctx;

    if (gw_svc_req_header_count(req, "X-Consumer-ID") > 1
        || gw_svc_req_header_count(req, "X-Consumer-Subject") > 1
        || gw_svc_req_header_count(req, "X-Consumer-Scope") > 1)
    {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "an identity header sent twice");
        return NULL;
    }

    id = gw_svc_req_header(req, "X-Consumer-ID");
    if (id == NULL || id[0] == '\0') {
        id = gw_svc_req_header(req, "X-Consumer-Subject");
    }

    if (id == NULL || id[0] == '\0') {
        gw_svc_reply_problem(req, 401, "unauthorized", "Unauthorized",
                             "no consumer: the gateway authenticates "
                             "callers of this service");
        return NULL;
    }

    for (p = id; *p != '\0'; p++) {
        if ((unsigned char) *p < 0x21 || *p == 0x7f) {
            break;
        }
    }

    if (*p != '\0' || p - id > NTF_OWNER_MAX) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "a malformed consumer header");
        return NULL;
    }

    ctx = calloc(1, sizeof(ntf_subs_ctx_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                             NULL);
        return NULL;
    }

    ctx->req = req;
    snprintf(ctx->owner, sizeof(ctx->owner), "%s", id);

    scope = gw_svc_req_header(req, "X-Consumer-Scope");

    for (p = scope; p != NULL && *p != '\0'; p += len) {
        p += strspn(p, " ");
        len = strcspn(p, " ");

        if ((len == 12 && strncmp(p, "notify:admin", 12) == 0)
            || (len == 11 && strncmp(p, "admin:write", 11) == 0))
        {
            ctx->admin = 1;
        }
    }

    return ctx;
}


/* frees ctx, returning its request for the reply */
gw_svc_req_t *
ntf_subs_end(ntf_subs_ctx_t *ctx)
{
    gw_svc_req_t  *req;

    req = ctx->req;
    json_decref(ctx->sub);
    OPENSSL_cleanse(ctx, sizeof(ntf_subs_ctx_t));
    free(ctx);

    return req;
}


void
ntf_subs_fail(ntf_subs_ctx_t *ctx, int status, const char *pointer,
    const char *detail)
{
    gw_svc_req_t  *req;

    req = ntf_subs_end(ctx);

    switch (status) {

    case 400:
        gw_svc_reply_problem_extra(req, 400, "bad-request", "Bad request",
                                   detail, pointer != NULL
                                   ? json_pack("{s:s}", "pointer", pointer)
                                   : NULL);
        break;

    case 404:
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such subscription");
        break;

    case 409:
        gw_svc_reply_problem(req, 409, "conflict", "Conflict", detail);
        break;

    case 422:
        gw_svc_reply_problem_extra(req, 422, "invalid-subscription",
                                   "Invalid subscription", detail,
                                   pointer != NULL
                                   ? json_pack("{s:s}", "pointer", pointer)
                                   : NULL);
        break;

    default:
        gw_svc_reply_problem(req, 503, "unavailable", "Service unavailable",
                             "Redis is unavailable");
    }
}


/* the request's JSON object, or NULL after a 400 */
json_t *
ntf_subs_body(ntf_subs_ctx_t *ctx)
{
    size_t        len;
    json_t       *body;
    const char   *text;
    json_error_t  e;

    text = gw_svc_req_body(ctx->req, &len);

    body = json_loadb(text != NULL ? text : "", text != NULL ? len : 0,
                      JSON_REJECT_DUPLICATES, &e);

    if (body == NULL || !json_is_object(body)) {
        json_decref(body);
        ntf_subs_fail(ctx, 400, "", "the body is not a JSON object");
        return NULL;
    }

    return body;
}


/* the members of a POST (create) or PATCH; -1 after the 422 was sent */
int
ntf_subs_checked(ntf_subs_ctx_t *ctx, json_t *body, int create)
{
    int          rc;
    char         ptr[32], err[NTF_ERR_MAX];
    const char  *owner;

    rc = ntf_subs_check(body, create, ctx->admin, ptr, sizeof(ptr), err,
                        sizeof(err));
    if (rc != 0) {
        ntf_subs_fail(ctx, rc, ptr, err);
        return -1;
    }

    owner = json_string_value(json_object_get(body, "owner"));
    if (create && owner != NULL) {
        snprintf(ctx->owner, sizeof(ctx->owner), "%s", owner);
    }

    return 0;
}


static void
ntf_subs_create(ntf_subs_ctx_t *ctx, json_t *body)
{
    int                 argc;
    char                key[NTF_KEY_MAX], zkey[NTF_KEY_MAX], now[24],
                        max[16], *types, sealed[NTF_SEALED_MAX],
                        sealed_ed[NTF_SEALED_MAX], sk[NTF_SIGN_SECRET_MAX];
    long long           ms;
    const char         *argv[40];
    redisAsyncContext  *rc;

    ms = ntf_subs_now();
    ntf_subs_id(ctx->sid, sizeof(ctx->sid));

    types = json_dumps(json_object_get(body, "event_types"), JSON_COMPACT);
    if (types == NULL) {
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    sealed_ed[0] = '\0';

    if (ntf_sign_secret_new(ctx->secret, sizeof(ctx->secret)) != 0
        || ntf_subs_seal(ctx->sid, ctx->secret, sealed, sizeof(sealed)) != 0
        || (json_is_true(json_object_get(body, "ed25519"))
            && (ntf_sign_ed25519_new(sk, sizeof(sk), ctx->pk,
                                     sizeof(ctx->pk)) != 0
                || ntf_subs_seal(ctx->sid, sk, sealed_ed, sizeof(sealed_ed))
                   != 0)))
    {
        OPENSSL_cleanse(sk, sizeof(sk));
        free(types);
        gw_svc_log(ntf.svc, GW_SVC_ERROR, ctx->req,
                   "cannot make a subscription's secret", NULL);
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    OPENSSL_cleanse(sk, sizeof(sk));

    snprintf(key, sizeof(key), "gw:ntf:sub:%s", ctx->sid);
    snprintf(zkey, sizeof(zkey), "gw:ntf:subs:%s", ctx->owner);
    snprintf(now, sizeof(now), "%lld", ms);
    snprintf(max, sizeof(max), "%d", NTF_SUBS_MAX);

    argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = ntf_subs_create_lua;
    argv[argc++] = "2";
    argv[argc++] = key;
    argv[argc++] = zkey;
    argv[argc++] = now;
    argv[argc++] = ctx->sid;
    argv[argc++] = max;
    argv[argc++] = "id";
    argv[argc++] = ctx->sid;
    argv[argc++] = "owner";
    argv[argc++] = ctx->owner;
    argv[argc++] = "url";
    argv[argc++] = json_string_value(json_object_get(body, "url"));
    argv[argc++] = "event_types";
    argv[argc++] = types;
    argv[argc++] = "status";
    argv[argc++] = "enabled";
    argv[argc++] = "created";
    argv[argc++] = now;
    argv[argc++] = "updated";
    argv[argc++] = now;
    argv[argc++] = "secret";
    argv[argc++] = sealed;

    if (json_object_get(body, "description") != NULL) {
        argv[argc++] = "description";
        argv[argc++] = json_string_value(json_object_get(body,
                                                         "description"));
    }

    if (json_object_get(body, "owner_email") != NULL) {
        argv[argc++] = "owner_email";
        argv[argc++] = json_string_value(json_object_get(body,
                                                         "owner_email"));
    }

    if (sealed_ed[0] != '\0') {
        argv[argc++] = "ed25519_key";
        argv[argc++] = sealed_ed;
        argv[argc++] = "public_key";
        argv[argc++] = ctx->pk;
    }

    rc = gw_svc_redis(ntf.svc);

    if (rc == NULL
        || redisAsyncCommandArgv(rc, ntf_subs_created, ctx, argc, argv,
                                 NULL)
           != REDIS_OK)
    {
        free(types);
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    free(types);
}


static void
ntf_subs_created(redisAsyncContext *c, void *r, void *privdata)
{
    char             loc[NTF_KEY_MAX];
    json_t          *out;
    redisReply      *reply;
    gw_svc_req_t    *req;
    ntf_subs_ctx_t  *ctx;

    ctx = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    if (reply->integer == 0) {
        ntf_subs_fail(ctx, 409, NULL, "the owner has 1000 subscriptions "
                      "already");
        return;
    }

    /* read back what was stored, to show it as GET would */
    ctx->op = NTF_SUBS_GET;

    out = json_pack("{s:s,s:s}", "id", ctx->sid, "secret", ctx->secret);
    if (out != NULL && ctx->pk[0] != '\0') {
        json_object_set_new(out, "public_key", json_string(ctx->pk));
    }

    snprintf(loc, sizeof(loc), "/v1/subscriptions/%s", ctx->sid);

    req = ntf_subs_end(ctx);
    gw_svc_req_add_header(req, "Location", loc);
    gw_svc_reply_json(req, 201, out);
}


static void
ntf_subs_list(ntf_subs_ctx_t *ctx)
{
    const char         *q, *owner;
    redisAsyncContext  *rc;

    owner = ctx->owner;
    q = gw_svc_req_query(ctx->req);

    if (ctx->admin && q != NULL && strncmp(q, "owner=", 6) == 0
        && q[6] != '\0' && strlen(q + 6) <= NTF_OWNER_MAX
        && strpbrk(q + 6, "&%+") == NULL)
    {
        owner = q + 6;
    }

    rc = gw_svc_redis(ntf.svc);

    if (rc == NULL
        || redisAsyncCommand(rc, ntf_subs_listed, ctx,
                             "EVAL %s 1 gw:ntf:subs:%s gw:ntf:sub:",
                             ntf_subs_list_lua, owner)
           != REDIS_OK)
    {
        ntf_subs_fail(ctx, 503, NULL, NULL);
    }
}


static void
ntf_subs_listed(redisAsyncContext *c, void *r, void *privdata)
{
    size_t           i;
    json_t          *list, *one;
    redisReply      *reply;
    ntf_subs_ctx_t  *ctx;

    ctx = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    list = json_array();

    for (i = 0; list != NULL && i < reply->elements; i++) {
        one = ntf_subs_show(reply->element[i]);
        if (one != NULL) {
            json_array_append_new(list, one);
        }
    }

    gw_svc_reply_json(ntf_subs_end(ctx), 200,
                      json_pack("{s:o?}", "subscriptions", list));
}
