
/*
 * Copyright (C) Tollgate
 *
 * The revoked set: the jti of every revoked access token of ours that
 * has not expired, held in memory so that introspection (and the token
 * exchange) need no Redis round trip.  It is loaded (ZRANGEBYSCORE
 * gw:jwt:revoked) whenever the gw:events subscriber (identity_client.c)
 * has subscribed, and fed by its "jti" messages since: a revocation made
 * by any instance reaches every other at once.  While the subscriber is
 * down, or the load has not answered, the set may miss revocations, so a
 * question goes to Redis (ZSCORE); when Redis cannot answer either, the
 * answer is "cannot be known" and callers refuse: fail closed.
 *
 * Every IDENTITY_TRIM_EVERY seconds the entries past exp go, here and in
 * Redis (ZREMRANGEBYSCORE).
 */


#include <stdlib.h>
#include <string.h>

#include "gw_model.h"
#include "identity_token.h"


#define IDENTITY_REVOKED_BUCKETS  4096
#define IDENTITY_TRIM_EVERY       60        /* seconds between trims */


typedef struct identity_rev_s  identity_rev_t;

struct identity_rev_s {
    identity_rev_t     *next;
    time_t              exp;
    char                jti[1];
};


typedef struct {
    identity_revoked_pt done;
    void               *data;
} identity_ask_t;


static void identity_revoke_tick(evutil_socket_t fd, short what, void *arg);
static void identity_revoked_load(void);
static void identity_revoked_loaded(redisAsyncContext *ac, void *r,
    void *data);
static int identity_revoked_has(const char *jti);
static void identity_revoked_clear(void);
static void identity_revoked_score(redisAsyncContext *ac, void *r,
    void *data);


static identity_rev_t      *identity_revoked[IDENTITY_REVOKED_BUCKETS];
static int                  identity_revoked_known;
static int                  identity_revoked_want;  /* a load is due */
static unsigned long        identity_revoked_gen;
static time_t               identity_trimmed;
static struct event        *identity_revoke_timer;


void
identity_revoked_start(struct event_base *base)
{
    struct timeval  tv;

    identity_revoke_timer = event_new(base, -1, EV_PERSIST,
                                      identity_revoke_tick, NULL);
    if (identity_revoke_timer == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", "no timer for revocations"));
        return;
    }

    tv.tv_sec = 1;
    tv.tv_usec = 0;
    event_add(identity_revoke_timer, &tv);
}


void
identity_revoked_stop(void)
{
    if (identity_revoke_timer != NULL) {
        event_free(identity_revoke_timer);
        identity_revoke_timer = NULL;
    }

    identity_revoked_clear();
    identity_revoked_known = 0;
}


/* ---- the revoked set ----------------------------------------------------- */


static unsigned
identity_revoked_bucket(const char *s, size_t len)
{
    size_t    i;
    unsigned  h;

    for (h = 2166136261u, i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 16777619u;
    }

    return h % IDENTITY_REVOKED_BUCKETS;
}


void
identity_revoked_add(const char *jti, size_t len, time_t exp)
{
    unsigned         b;
    identity_rev_t  *r;

    b = identity_revoked_bucket(jti, len);

    for (r = identity_revoked[b]; r != NULL; r = r->next) {
        if (strlen(r->jti) == len && memcmp(r->jti, jti, len) == 0) {
            if (exp > r->exp) {
                r->exp = exp;
            }

            return;
        }
    }

    r = malloc(sizeof(identity_rev_t) + len);
    if (r == NULL) {
        /* cannot remember it: ask Redis until the next load */
        identity_revoked_known = 0;
        identity_revoked_want = 1;
        return;
    }

    r->exp = exp;
    memcpy(r->jti, jti, len);
    r->jti[len] = '\0';
    r->next = identity_revoked[b];
    identity_revoked[b] = r;
}


static int
identity_revoked_has(const char *jti)
{
    size_t           len;
    identity_rev_t  *r;

    len = strlen(jti);

    for (r = identity_revoked[identity_revoked_bucket(jti, len)];
         r != NULL;
         r = r->next)
    {
        if (strcmp(r->jti, jti) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
identity_revoked_clear(void)
{
    size_t           i;
    identity_rev_t  *r;

    for (i = 0; i < IDENTITY_REVOKED_BUCKETS; i++) {
        while (identity_revoked[i] != NULL) {
            r = identity_revoked[i];
            identity_revoked[i] = r->next;
            free(r);
        }
    }
}


/*
 * A "jti" message: the exp is not in it, so the entry lives for the
 * longest a token of ours lives; the next load (or trim) corrects it.
 */

void
identity_token_revoked_event(const char *jti, size_t len)
{
    identity_revoked_add(jti, len,
                         identity_now() + identity.token_ttl
                         + identity.leeway);
}


void
identity_token_events(int up)
{
    identity_revoked_known = 0;
    identity_revoked_gen++;

    if (up) {
        identity_revoked_clear();
        identity_revoked_want = 1;
        identity_revoked_load();
    }
}


static void
identity_revoked_load(void)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(identity.svc);
    if (ac == NULL) {
        return;
    }

    identity_revoked_want = 0;

    if (redisAsyncCommand(ac, identity_revoked_loaded,
                          (void *) identity_revoked_gen,
                          "ZRANGEBYSCORE " GW_MODEL_JWT_REVOKED
                          " %lld +inf WITHSCORES",
                          (long long) (identity_now() - identity.leeway))
        != REDIS_OK)
    {
        identity_revoked_want = 1;
    }
}


static void
identity_revoked_loaded(redisAsyncContext *ac, void *r, void *data)
{
    size_t       i;
    redisReply  *reply, *m, *s;

    reply = r;

    if ((unsigned long) data != identity_revoked_gen) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        identity_revoked_want = 1;
        return;
    }

    for (i = 0; i + 1 < reply->elements; i += 2) {
        m = reply->element[i];
        s = reply->element[i + 1];

        if (m->type == REDIS_REPLY_STRING && s->type == REDIS_REPLY_STRING) {
            identity_revoked_add(m->str, m->len,
                                 (time_t) strtoll(s->str, NULL, 10));
        }
    }

    if (!identity_revoked_want) {
        identity_revoked_known = 1;
        gw_svc_log(identity.svc, GW_SVC_INFO, NULL, "revoked tokens loaded",
                   json_pack("{s:I}", "count",
                             (json_int_t) (reply->elements / 2)));
    }
}


/*
 * Every second: a load that is due; every IDENTITY_TRIM_EVERY seconds,
 * the entries past exp go, here and in Redis.
 */

static void
identity_revoke_tick(evutil_socket_t fd, short what, void *arg)
{
    size_t              i;
    time_t              now;
    identity_rev_t     *r, **pp;
    redisAsyncContext  *ac;

    if (identity_revoked_want) {
        identity_revoked_load();
    }

    now = identity_now();

    if (now - identity_trimmed < IDENTITY_TRIM_EVERY) {
        return;
    }

    identity_trimmed = now;

    for (i = 0; i < IDENTITY_REVOKED_BUCKETS; i++) {
        pp = &identity_revoked[i];

        while (*pp != NULL) {
            r = *pp;

            if (r->exp + identity.leeway < now) {
                *pp = r->next;
                free(r);

            } else {
                pp = &r->next;
            }
        }
    }

    ac = gw_svc_redis(identity.svc);

    if (ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL,
                          "ZREMRANGEBYSCORE " GW_MODEL_JWT_REVOKED
                          " -inf (%lld",
                          (long long) (now - identity.leeway));
    }
}


void
identity_token_check_revoked(const char *jti, identity_revoked_pt done,
    void *data)
{
    identity_ask_t     *ask;
    redisAsyncContext  *ac;

    if (identity_revoked_known) {
        done(data, identity_revoked_has(jti));
        return;
    }

    if (identity_revoked_has(jti)) {
        done(data, 1);
        return;
    }

    ac = gw_svc_redis(identity.svc);
    ask = (ac != NULL) ? calloc(1, sizeof(identity_ask_t)) : NULL;

    if (ask == NULL) {
        done(data, -1);
        return;
    }

    ask->done = done;
    ask->data = data;

    if (redisAsyncCommand(ac, identity_revoked_score, ask,
                          "ZSCORE " GW_MODEL_JWT_REVOKED " %s", jti)
        != REDIS_OK)
    {
        free(ask);
        done(data, -1);
    }
}


static void
identity_revoked_score(redisAsyncContext *ac, void *r, void *data)
{
    redisReply      *reply;
    identity_ask_t  *ask;

    ask = data;
    reply = r;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ask->done(ask->data, -1);

    } else {
        ask->done(ask->data, reply->type != REDIS_REPLY_NIL);
    }

    free(ask);
}
