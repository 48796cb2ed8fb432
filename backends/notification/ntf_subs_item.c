
/*
 * Copyright (C) Tollgate
 *
 * One webhook subscription's calls (docs/notification.md,
 * "Subscriptions"), under /v1/subscriptions/{sid}: GET, PATCH, DELETE,
 * POST .../rotate and POST .../test.  The id's form and the method are
 * checked first (404, 405), then the caller (ntf_subs.c) and a PATCH's
 * members; the subscription is read, and someone else's is 404 like a
 * missing one.  A PATCH or rotate is one script that does nothing when
 * the subscription went meanwhile (404 then); a rotate seals a new
 * secret, or with {"key": "ed25519"} a new Ed25519 key pair, and keeps
 * the old one, still sealed, until secret_overlap has passed; a test is
 * handed to ntf_webhook.c.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ntf_subs.h"


static int ntf_subs_rotate_what(ntf_subs_ctx_t *ctx);
static void ntf_subs_rotate_key(ntf_subs_ctx_t *ctx, redisAsyncContext *rc,
    const char *key, const char *until, const char *now);
static void ntf_subs_read(redisAsyncContext *c, void *r, void *privdata);
static void ntf_subs_patch(ntf_subs_ctx_t *ctx, json_t *old);
static void ntf_subs_written(redisAsyncContext *c, void *r,
    void *privdata);


/* ARGV[1] "enable", "disable" or "", then field/value pairs */
static const char  ntf_subs_patch_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "if ARGV[1] == 'enable' then\n"
    "  redis.call('HDEL', KEYS[1], 'failing_since', 'disabled_reason')\n"
    "elseif ARGV[1] == 'disable' then\n"
    "  redis.call('HSET', KEYS[1], 'disabled_reason', 'manual')\n"
    "end\n"
    "if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end\n"
    "return 1\n";

/*
 * ARGV: the new sealed key, its public key, the old one's end, now.  The
 * current pair becomes the previous one (a previous one is dropped): 1,
 * 0 when the subscription went, -1 when it has no Ed25519 key.
 */
static const char  ntf_subs_rotate_key_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local h = redis.call('HMGET', KEYS[1], 'ed25519_key', 'public_key')\n"
    "if not h[1] or not h[2] then return -1 end\n"
    "redis.call('HSET', KEYS[1], 'ed25519_key_old', h[1],\n"
    "  'public_key_old', h[2], 'ed25519_old_until', ARGV[3],\n"
    "  'ed25519_key', ARGV[1], 'public_key', ARGV[2], 'updated', ARGV[4])\n"
    "return 1\n";

static const char  ntf_subs_delete_lua[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "return 1\n";


void
ntf_subs_item(gw_svc_req_t *req, void *data)
{
    size_t              len;
    const char         *path, *method, *slash;
    ntf_subs_ctx_t     *ctx;
    redisAsyncContext  *rc;

    path = gw_svc_req_path(req) + sizeof("/v1/subscriptions/") - 1;
    method = gw_svc_req_method(req);
    slash = strchr(path, '/');
    len = slash != NULL ? (size_t) (slash - path) : strlen(path);

    if (len == 0 || len >= NTF_SUB_ID_MAX || strncmp(path, "sub_", 4) != 0
        || strspn(path, "sub_0123456789ABCDEFGHJKMNPQRSTVWXYZ") < len
        || (slash != NULL && strcmp(slash, "/rotate") != 0
            && strcmp(slash, "/test") != 0))
    {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such subscription");
        return;
    }

    if ((slash != NULL) != (strcmp(method, "POST") == 0)) {
        gw_svc_reply_problem(req, 405, "method-not-allowed",
                             "Method not allowed", NULL);
        return;
    }

    ctx = ntf_subs_caller(req);
    if (ctx == NULL) {
        return;
    }

    memcpy(ctx->sid, path, len);
    ctx->sid[len] = '\0';

    ctx->op = slash != NULL
              ? (strcmp(slash, "/test") == 0 ? NTF_SUBS_TEST
                                              : NTF_SUBS_ROTATE)
              : strcmp(method, "PATCH") == 0 ? NTF_SUBS_PATCH
              : strcmp(method, "DELETE") == 0 ? NTF_SUBS_DELETE
              : NTF_SUBS_GET;

    if (ctx->op == NTF_SUBS_PATCH) {
        ctx->sub = ntf_subs_body(ctx);
        if (ctx->sub == NULL) {
            return;
        }

        if (ntf_subs_checked(ctx, ctx->sub, 0) != 0) {
            return;
        }

    } else if (ctx->op == NTF_SUBS_ROTATE) {
        if (ntf_subs_rotate_what(ctx) != 0) {
            return;
        }

    } else if (ctx->op == NTF_SUBS_TEST) {
        (void) gw_svc_req_body(req, &len);

        if (len == 0) {
            ctx->sub = json_object();

        } else {
            ctx->sub = ntf_subs_body(ctx);
            if (ctx->sub == NULL) {
                return;
            }
        }
    }

    rc = gw_svc_redis(ntf.svc);

    if (rc == NULL
        || redisAsyncCommand(rc, ntf_subs_read, ctx, "HGETALL gw:ntf:sub:%s",
                             ctx->sid)
           != REDIS_OK)
    {
        ntf_subs_fail(ctx, 503, NULL, NULL);
    }
}


/* the subscription read for GET, PATCH, DELETE or rotate */
static void
ntf_subs_read(redisAsyncContext *c, void *r, void *privdata)
{
    char                key[NTF_KEY_MAX], zkey[NTF_KEY_MAX], sealed[256],
                        until[24], now[24];
    json_t             *sub, *body;
    const char         *owner;
    redisReply         *reply;
    ntf_subs_ctx_t     *ctx;
    redisAsyncContext  *rc;

    ctx = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    sub = ntf_subs_show(reply);
    owner = json_string_value(json_object_get(sub, "owner"));

    if (sub == NULL || owner == NULL
        || (!ctx->admin && strcmp(owner, ctx->owner) != 0))
    {
        json_decref(sub);
        ntf_subs_fail(ctx, 404, NULL, NULL);
        return;
    }

    snprintf(key, sizeof(key), "gw:ntf:sub:%s", ctx->sid);
    rc = gw_svc_redis(ntf.svc);

    switch (ctx->op) {

    case NTF_SUBS_GET:
        gw_svc_reply_json(ntf_subs_end(ctx), 200, sub);
        return;

    case NTF_SUBS_TEST:
        json_decref(sub);
        body = json_incref(ctx->sub);
        snprintf(zkey, sizeof(zkey), "%s", ctx->sid);
        ntf_webhook_test(ntf_subs_end(ctx), zkey, body);
        json_decref(body);
        return;

    case NTF_SUBS_PATCH:
        ntf_subs_patch(ctx, sub);
        json_decref(sub);
        return;

    case NTF_SUBS_DELETE:
        snprintf(zkey, sizeof(zkey), "gw:ntf:subs:%s", owner);
        json_decref(sub);

        if (rc == NULL
            || redisAsyncCommand(rc, ntf_subs_written, ctx, "EVAL %s 2 %s %s "
                                 "%s", ntf_subs_delete_lua, key, zkey,
                                 ctx->sid)
               != REDIS_OK)
        {
            ntf_subs_fail(ctx, 503, NULL, NULL);
        }

        return;

    case NTF_SUBS_ROTATE_KEY:
        if (json_object_get(sub, "public_key") == NULL) {
            json_decref(sub);
            ntf_subs_fail(ctx, 409, NULL, "the subscription has no Ed25519 "
                          "key (made without \"ed25519\": true)");
            return;
        }

        json_decref(sub);

        ctx->until = ntf_subs_now()
                     + gw_svc_conf_int(ntf.svc, "secret_overlap");
        snprintf(until, sizeof(until), "%lld", ctx->until);
        snprintf(now, sizeof(now), "%lld", ntf_subs_now());

        ntf_subs_rotate_key(ctx, rc, key, until, now);
        return;

    case NTF_SUBS_ROTATE:
        json_decref(sub);

        ctx->until = ntf_subs_now()
                     + gw_svc_conf_int(ntf.svc, "secret_overlap");
        snprintf(until, sizeof(until), "%lld", ctx->until);
        snprintf(now, sizeof(now), "%lld", ntf_subs_now());

        if (ntf_sign_secret_new(ctx->secret, sizeof(ctx->secret)) != 0
            || ntf_subs_seal(ctx->sid, ctx->secret, sealed, sizeof(sealed))
               != 0)
        {
            ntf_subs_fail(ctx, 503, NULL, NULL);
            return;
        }

        /* the old secret stays sealed as it was: copied by the script */
        if (rc == NULL
            || redisAsyncCommand(rc, ntf_subs_written, ctx,
                                 "EVAL %s 1 %s %s %s %s",
                                 "if redis.call('EXISTS', KEYS[1]) == 0 "
                                 "then return 0 end "
                                 "redis.call('HSET', KEYS[1], 'secret_old', "
                                 "redis.call('HGET', KEYS[1], 'secret'), "
                                 "'secret_old_until', ARGV[2], 'secret', "
                                 "ARGV[1], 'updated', ARGV[3]) return 1",
                                 key, sealed, until, now)
               != REDIS_OK)
        {
            ntf_subs_fail(ctx, 503, NULL, NULL);
        }

        return;
    }
}


/*
 * A rotate's body: none or {} (the secret), {"key": "secret"} or {"key":
 * "ed25519"} (the Ed25519 key pair: the op becomes NTF_SUBS_ROTATE_KEY).
 * 0, or -1 after the 400 or 422 was sent.
 */

static int
ntf_subs_rotate_what(ntf_subs_ctx_t *ctx)
{
    char         err[128];
    size_t       len;
    json_t      *body, *v;
    const char  *k, *what;

    (void) gw_svc_req_body(ctx->req, &len);

    if (len == 0) {
        return 0;
    }

    body = ntf_subs_body(ctx);
    if (body == NULL) {
        return -1;
    }

    what = "secret";

    json_object_foreach(body, k, v) {
        if (strcmp(k, "key") != 0) {
            snprintf(err, sizeof(err), "unknown member \"%.64s\"", k);
            json_decref(body);
            ntf_subs_fail(ctx, 422, "", err);
            return -1;
        }

        what = json_string_value(v);

        if (what == NULL
            || (strcmp(what, "secret") != 0 && strcmp(what, "ed25519") != 0))
        {
            json_decref(body);
            ntf_subs_fail(ctx, 422, "/key", "key: \"secret\" or "
                          "\"ed25519\"");
            return -1;
        }
    }

    if (strcmp(what, "ed25519") == 0) {
        ctx->op = NTF_SUBS_ROTATE_KEY;
    }

    json_decref(body);

    return 0;
}


/* a new Ed25519 pair sealed, the current one kept until the overlap ends */

static void
ntf_subs_rotate_key(ntf_subs_ctx_t *ctx, redisAsyncContext *rc,
    const char *key, const char *until, const char *now)
{
    char  sk[NTF_SIGN_SECRET_MAX], sealed[256];

    if (ntf_sign_ed25519_new(sk, sizeof(sk), ctx->pk, sizeof(ctx->pk)) != 0
        || ntf_subs_seal(ctx->sid, sk, sealed, sizeof(sealed)) != 0)
    {
        OPENSSL_cleanse(sk, sizeof(sk));
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                   "cannot make a subscription's Ed25519 key", NULL);
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    OPENSSL_cleanse(sk, sizeof(sk));

    if (rc == NULL
        || redisAsyncCommand(rc, ntf_subs_written, ctx,
                             "EVAL %s 1 %s %s %s %s %s",
                             ntf_subs_rotate_key_lua, key, sealed, ctx->pk,
                             until, now)
           != REDIS_OK)
    {
        ntf_subs_fail(ctx, 503, NULL, NULL);
    }
}


static void
ntf_subs_patch(ntf_subs_ctx_t *ctx, json_t *old)
{
    int                 argc;
    char                key[NTF_KEY_MAX], now[24], *types;
    json_t             *v;
    const char         *argv[24], *status;
    redisAsyncContext  *rc;

    snprintf(key, sizeof(key), "gw:ntf:sub:%s", ctx->sid);
    snprintf(now, sizeof(now), "%lld", ntf_subs_now());

    types = NULL;
    status = json_string_value(json_object_get(ctx->sub, "status"));

    argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = ntf_subs_patch_lua;
    argv[argc++] = "1";
    argv[argc++] = key;
    argv[argc++] = status == NULL ? ""
                   : strcmp(status, "enabled") == 0 ? "enable" : "disable";
    argv[argc++] = "updated";
    argv[argc++] = now;

    if (status != NULL) {
        argv[argc++] = "status";
        argv[argc++] = status;
    }

    v = json_object_get(ctx->sub, "event_types");
    if (v != NULL) {
        types = json_dumps(v, JSON_COMPACT);
        if (types == NULL) {
            ntf_subs_fail(ctx, 503, NULL, NULL);
            return;
        }

        argv[argc++] = "event_types";
        argv[argc++] = types;
    }

    if (json_object_get(ctx->sub, "url") != NULL) {
        argv[argc++] = "url";
        argv[argc++] = json_string_value(json_object_get(ctx->sub, "url"));
    }

    if (json_object_get(ctx->sub, "description") != NULL) {
        argv[argc++] = "description";
        argv[argc++] = json_string_value(json_object_get(ctx->sub,
                                                         "description"));
    }

    if (json_object_get(ctx->sub, "owner_email") != NULL) {
        argv[argc++] = "owner_email";
        argv[argc++] = json_string_value(json_object_get(ctx->sub,
                                                         "owner_email"));
    }

    rc = gw_svc_redis(ntf.svc);

    if (rc == NULL
        || redisAsyncCommandArgv(rc, ntf_subs_written, ctx, argc, argv,
                                 NULL)
           != REDIS_OK)
    {
        ntf_subs_fail(ctx, 503, NULL, NULL);
    }

    free(types);
}


/* a change was written: the answer */
static void
ntf_subs_written(redisAsyncContext *c, void *r, void *privdata)
{
    json_t             *out;
    redisReply         *reply;
    ntf_subs_ctx_t     *ctx;
    redisAsyncContext  *rc;

    ctx = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ntf_subs_fail(ctx, 503, NULL, NULL);
        return;
    }

    if (reply->integer == 0) {
        ntf_subs_fail(ctx, 404, NULL, NULL);
        return;
    }

    if (reply->integer < 0) {
        ntf_subs_fail(ctx, 409, NULL, "the subscription has no Ed25519 key");
        return;
    }

    switch (ctx->op) {

    case NTF_SUBS_DELETE:
        gw_svc_reply(ntf_subs_end(ctx), 204, NULL, NULL, 0);
        return;

    case NTF_SUBS_ROTATE:
        out = json_pack("{s:s,s:s,s:o}", "id", ctx->sid, "secret",
                        ctx->secret, "previous_valid_until",
                        ntf_subs_time(ctx->until));
        gw_svc_reply_json(ntf_subs_end(ctx), 200, out);
        return;

    case NTF_SUBS_ROTATE_KEY:
        out = json_pack("{s:s,s:s,s:o,s:o}", "id", ctx->sid, "public_key",
                        ctx->pk, "key_id", ntf_subs_key_id(ctx->pk),
                        "previous_valid_until", ntf_subs_time(ctx->until));
        gw_svc_reply_json(ntf_subs_end(ctx), 200, out);
        return;

    default:
        /* PATCH: the subscription as it is now */
        ctx->op = NTF_SUBS_GET;
        rc = gw_svc_redis(ntf.svc);

        if (rc == NULL
            || redisAsyncCommand(rc, ntf_subs_read, ctx,
                                 "HGETALL gw:ntf:sub:%s", ctx->sid)
               != REDIS_OK)
        {
            ntf_subs_fail(ctx, 503, NULL, NULL);
        }
    }
}
