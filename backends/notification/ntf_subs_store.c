
/*
 * Copyright (C) Tollgate
 *
 * Webhook subscriptions as deliveries use them (ntf_subs.h): one read
 * at send time with its secrets opened (ntf_subs_seal.c), the enabled
 * ones of an owner matched at accept against the event type, and the
 * event type patterns a subscription may hold ("*", "a.b", "a.*").
 * Their failures are tracked in ntf_subs_track.c.
 */


#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ntf_subs.h"


typedef struct {
    char                    sid[NTF_SUB_ID_MAX];
    ntf_subs_get_pt         done;
    void                   *data;
} ntf_subs_get_ctx_t;


typedef struct {
    char                    type[132];
    json_t                 *only;
    ntf_subs_match_pt       done;
    void                   *data;
} ntf_subs_match_ctx_t;


static void ntf_subs_got(redisAsyncContext *c, void *r, void *privdata);
static void ntf_subs_matched(redisAsyncContext *c, void *r,
    void *privdata);


/* the enabled subscriptions of an owner: id, event types, url each */
static const char  ntf_subs_match_lua[] =
    "local ids = redis.call('ZRANGE', KEYS[1], 0, -1)\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local h = redis.call('HMGET', ARGV[1] .. id, 'status',\n"
    "                       'event_types', 'url')\n"
    "  if h[1] == 'enabled' then\n"
    "    out[#out + 1] = id\n"
    "    out[#out + 1] = h[2]\n"
    "    out[#out + 1] = h[3]\n"
    "  end\n"
    "end\n"
    "return out\n";


/* "*", "a.b", or "a.*": [a-z0-9._-] of at most 128 bytes */
int
ntf_subs_pattern_ok(const char *p)
{
    size_t  i, len;

    len = strlen(p);

    if (strcmp(p, "*") == 0) {
        return 1;
    }

    if (len == 0 || len > 128) {
        return 0;
    }

    if (len > 2 && p[len - 1] == '*' && p[len - 2] == '.') {
        len -= 2;
    }

    for (i = 0; i < len; i++) {
        if (!(islower((unsigned char) p[i]) || isdigit((unsigned char) p[i])
              || p[i] == '.' || p[i] == '_' || p[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/* 1 when one of the patterns (a JSON array of strings) matches type */
int
ntf_subs_type_matches(json_t *patterns, const char *type)
{
    size_t       i, len;
    json_t      *v;
    const char  *p;

    json_array_foreach(patterns, i, v) {
        p = json_string_value(v);
        if (p == NULL) {
            continue;
        }

        len = strlen(p);

        if (strcmp(p, "*") == 0 || strcmp(p, type) == 0) {
            return 1;
        }

        /* "invoice.*" matches "invoice.paid", not "invoice" */
        if (len > 2 && p[len - 1] == '*' && p[len - 2] == '.'
            && strncmp(p, type, len - 1) == 0 && type[len - 1] != '\0')
        {
            return 1;
        }
    }

    return 0;
}


long long
ntf_subs_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int
ntf_subs_get(const char *sid, ntf_subs_get_pt done, void *data)
{
    redisAsyncContext   *rc;
    ntf_subs_get_ctx_t  *ctx;

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL) {
        return -1;
    }

    ctx = calloc(1, sizeof(ntf_subs_get_ctx_t));
    if (ctx == NULL) {
        return -1;
    }

    snprintf(ctx->sid, sizeof(ctx->sid), "%s", sid);
    ctx->done = done;
    ctx->data = data;

    if (redisAsyncCommand(rc, ntf_subs_got, ctx, "HGETALL gw:ntf:sub:%s",
                          ctx->sid)
        != REDIS_OK)
    {
        free(ctx);
        return -1;
    }

    return 0;
}


static void
ntf_subs_got(redisAsyncContext *c, void *r, void *privdata)
{
    int                  bad;
    size_t               i;
    ntf_sub_t           *sub;
    long long            until, ed_until;
    redisReply          *reply, *k, *v;
    const char          *old, *old_ed;
    ntf_subs_get_ctx_t  *ctx;

    ctx = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ctx->done(NULL, 503, ctx->data);
        free(ctx);
        return;
    }

    if (reply->elements == 0) {
        ctx->done(NULL, 404, ctx->data);
        free(ctx);
        return;
    }

    sub = calloc(1, sizeof(ntf_sub_t));
    if (sub == NULL) {
        ctx->done(NULL, 503, ctx->data);
        free(ctx);
        return;
    }

    snprintf(sub->id, sizeof(sub->id), "%s", ctx->sid);
    bad = 0;
    old = NULL;
    old_ed = NULL;
    until = 0;
    ed_until = 0;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        k = reply->element[i];
        v = reply->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        if (strcmp(k->str, "url") == 0) {
            snprintf(sub->url, sizeof(sub->url), "%s", v->str);

        } else if (strcmp(k->str, "status") == 0) {
            sub->enabled = strcmp(v->str, "enabled") == 0;

        } else if (strcmp(k->str, "secret") == 0) {
            bad |= ntf_subs_unseal(ctx->sid, v->str, sub->secret,
                                   sizeof(sub->secret));

        } else if (strcmp(k->str, "secret_old") == 0) {
            old = v->str;

        } else if (strcmp(k->str, "secret_old_until") == 0) {
            until = atoll(v->str);

        } else if (strcmp(k->str, "ed25519_key") == 0) {
            bad |= ntf_subs_unseal(ctx->sid, v->str, sub->ed25519,
                                   sizeof(sub->ed25519));

        } else if (strcmp(k->str, "ed25519_key_old") == 0) {
            old_ed = v->str;

        } else if (strcmp(k->str, "ed25519_old_until") == 0) {
            ed_until = atoll(v->str);
        }
    }

    /* a rotated key signs beside the new one until the overlap ends */
    if (old_ed != NULL && ed_until > ntf_subs_now()) {
        bad |= ntf_subs_unseal(ctx->sid, old_ed, sub->old_ed25519,
                               sizeof(sub->old_ed25519));
    }

    if (old != NULL && until > ntf_subs_now()) {
        bad |= ntf_subs_unseal(ctx->sid, old, sub->old_secret,
                               sizeof(sub->old_secret));
    }

    if (bad || sub->secret[0] == '\0') {
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                   "a subscription's secret does not decrypt: is "
                   "secret_key_file the one it was stored under?",
                   json_pack("{s:s}", "subscription", ctx->sid));
        OPENSSL_cleanse(sub, sizeof(ntf_sub_t));
        free(sub);
        ctx->done(NULL, 503, ctx->data);
        free(ctx);
        return;
    }

    ctx->done(sub, 0, ctx->data);

    OPENSSL_cleanse(sub, sizeof(ntf_sub_t));
    free(sub);
    free(ctx);
}


int
ntf_subs_match(const char *owner, const char *type, json_t *only,
    ntf_subs_match_pt done, void *data)
{
    redisAsyncContext     *rc;
    ntf_subs_match_ctx_t  *ctx;

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL || strlen(type) >= sizeof(ctx->type)) {
        return -1;
    }

    ctx = calloc(1, sizeof(ntf_subs_match_ctx_t));
    if (ctx == NULL) {
        return -1;
    }

    snprintf(ctx->type, sizeof(ctx->type), "%s", type);
    ctx->only = only != NULL ? json_incref(only) : NULL;
    ctx->done = done;
    ctx->data = data;

    if (redisAsyncCommand(rc, ntf_subs_matched, ctx,
                          "EVAL %s 1 gw:ntf:subs:%s gw:ntf:sub:",
                          ntf_subs_match_lua, owner)
        != REDIS_OK)
    {
        json_decref(ctx->only);
        free(ctx);
        return -1;
    }

    return 0;
}


static void
ntf_subs_matched(redisAsyncContext *c, void *r, void *privdata)
{
    size_t                 i, k;
    json_t                *subs, *types, *v;
    redisReply            *reply, *id, *url;
    const char            *want;
    ntf_subs_match_ctx_t  *ctx;

    ctx = privdata;
    reply = r;

    subs = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        goto fail;
    }

    subs = json_array();
    if (subs == NULL) {
        goto fail;
    }

    for (i = 0; i + 2 < reply->elements; i += 3) {
        id = reply->element[i];
        url = reply->element[i + 2];

        if (id->type != REDIS_REPLY_STRING || url->type != REDIS_REPLY_STRING
            || reply->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        if (ctx->only != NULL) {
            json_array_foreach(ctx->only, k, v) {
                want = json_string_value(v);
                if (want != NULL && strcmp(want, id->str) == 0) {
                    break;
                }
            }

            if (k == json_array_size(ctx->only)) {
                continue;
            }
        }

        types = json_loads(reply->element[i + 1]->str, 0, NULL);

        if (types != NULL && ntf_subs_type_matches(types, ctx->type)) {
            json_array_append_new(subs, json_pack("{s:s,s:s}", "id",
                                                  id->str, "url", url->str));
        }

        json_decref(types);
    }

    ctx->done(subs, 0, ctx->data);
    json_decref(subs);
    json_decref(ctx->only);
    free(ctx);

    return;

fail:

    json_decref(subs);
    ctx->done(NULL, 503, ctx->data);
    json_decref(ctx->only);
    free(ctx);
}
