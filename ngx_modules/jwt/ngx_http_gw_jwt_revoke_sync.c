
/*
 * Copyright (C) Tollgate
 *
 * The revocation list's upkeep: how each worker keeps the shared set of
 * ngx_http_gw_jwt_revoke.c equal to Redis' zset gw:jwt:revoked.
 *
 * The identity service records a revoked access token's jti in the zset,
 * scored by the token's exp, and publishes "jti <jti>" on gw:events in the
 * same MULTI/EXEC (lib/model/gw_model.h).  Every worker subscribes to
 * gw:events and writes what it hears into the set.  A message's entry
 * first lives gw_jwt_revocation_zone's ttl (the message has no exp), and a
 * ZSCORE sent at once gives it the token's own.
 *
 * The key design decision: messages alone are not trusted, since any may
 * be lost while the worker is not subscribed.  After every
 * (re)subscription the worker loads the whole zset again, a page at a
 * time (ZRANGEBYSCORE from now less the leeway, paged by score, not by
 * offset, so members the service drops meanwhile never shift a page), and
 * entries no load has seen since it started go when it ends; only then is
 * the set complete.  A timer drops expired entries, and retries the load
 * while the set is incomplete (a load failed, or the zone was full).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_jwt_revoke.h"
#include "ngx_http_gw_redis.h"
#include "gw_model.h"


#define NGX_HTTP_GW_JWT_REVOKE_PAGE   1000      /* members per ZRANGEBYSCORE */
#define NGX_HTTP_GW_JWT_REVOKE_TIMER  2000      /* ms between housekeeping */
#define NGX_HTTP_GW_JWT_REVOKE_SCORE  64        /* bytes of a score kept */


/* this worker's load of the zset: one at a time, a newer one wins */
typedef struct {
    ngx_uint_t              id;             /* of the load in flight */
    ngx_uint_t              running;
    ngx_uint_t              pending;        /* a load is owed */
    ngx_uint_t              gen;
    ngx_uint_t              failed;         /* an entry found no room */
    ngx_uint_t              offset;         /* members of score min seen */
    ngx_uint_t              count;
    size_t                  min_len;
    u_char                  min[NGX_HTTP_GW_JWT_REVOKE_SCORE];
} ngx_http_gw_jwt_revoke_load_t;


static void ngx_http_gw_jwt_revoke_message(void *data, ngx_str_t *channel,
    ngx_str_t *message);
static void ngx_http_gw_jwt_revoke_score(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_jwt_revoke_resync(void *data);
static void ngx_http_gw_jwt_revoke_page(void);
static void ngx_http_gw_jwt_revoke_page_reply(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_jwt_revoke_timer(ngx_event_t *ev);


static ngx_str_t  ngx_http_gw_jwt_revoke_channel =
    ngx_string(GW_MODEL_EVENTS);


/* this worker's view: the zone, the leeway and ttl, its load and timer */
static ngx_http_gw_jwt_revoke_conf_t  *ngx_http_gw_jwt_revoke_conf;
static ngx_http_gw_jwt_revoke_load_t   ngx_http_gw_jwt_revoke_load;
static ngx_event_t                     ngx_http_gw_jwt_revoke_event;


/*
 * From postconfiguration: with a location that checks, needs gw_redis,
 * makes the default zone (1m, ttl=1h) and subscribes to gw:events.
 */

ngx_int_t
ngx_http_gw_jwt_revoke_init(ngx_conf_t *cf, ngx_http_gw_jwt_main_conf_t *jmcf)
{
    /* a reload may have turned it off: no worker may use the old conf */

    ngx_http_gw_jwt_revoke_conf = NULL;

    if (jmcf->revoke.ttl == 0) {
        jmcf->revoke.ttl = 3600;
    }

    if (!jmcf->revoke.used) {
        return NGX_OK;
    }

    if (!ngx_http_gw_redis_configured(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gw_jwt_revocation\" needs \"gw_redis\" in the "
                           "http block");
        return NGX_ERROR;
    }

    if (jmcf->revoke.zone == NULL) {
        jmcf->revoke.size = 1024 * 1024;

        if (ngx_http_gw_jwt_revoke_add_zone(cf, jmcf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_gw_redis_subscribe(cf, &ngx_http_gw_jwt_revoke_channel,
                                    ngx_http_gw_jwt_revoke_message,
                                    ngx_http_gw_jwt_revoke_resync, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_gw_jwt_revoke_conf = &jmcf->revoke;

    return NGX_OK;
}


/*
 * A gw:events message.  "jti <jti>" adds the jti at once, for the ttl,
 * and asks Redis for its score (the token's exp); a message that starts
 * with "jti " but whose jti is not a valid id is ignored, logged at info
 * escaped.  Other kinds are other modules'.
 */

static void
ngx_http_gw_jwt_revoke_message(void *data, ngx_str_t *channel,
    ngx_str_t *message)
{
    u_char             *copy;
    ngx_str_t           text;
    const char         *argv[3];
    size_t              argvlen[3];
    gw_model_event_t    ev;
    u_char              buf[NGX_HTTP_GW_LOG_SIZE];

    if (gw_model_event_parse((char *) message->data, message->len, &ev) != 0) {
        if (message->len > sizeof(GW_MODEL_EVENT_JTI)
            && ngx_strncmp(message->data, GW_MODEL_EVENT_JTI " ",
                           sizeof(GW_MODEL_EVENT_JTI)) == 0)
        {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "gw_jwt: ignored a revocation with an invalid "
                          "jti: \"%V\"",
                          ngx_http_gw_log_escape(&text, buf, message->data,
                                                 message->len));
        }

        return;
    }

    if (ev.kind != GW_MODEL_EVENT_IS_JTI) {
        return;
    }

    if (ngx_http_gw_jwt_revoke_add(ngx_http_gw_jwt_revoke_conf->zone,
                                   (u_char *) ev.id, ev.id_len,
                                   ngx_time()
                                   + ngx_http_gw_jwt_revoke_conf->ttl, 0)
        != NGX_OK)
    {
        return;
    }

    /* the token's exp, for the entry's life: the jti's copy goes along */

    copy = ngx_alloc(ev.id_len + 1, ngx_cycle->log);
    if (copy == NULL) {
        return;
    }

    copy[0] = (u_char) ev.id_len;
    ngx_memcpy(copy + 1, ev.id, ev.id_len);

    argv[0] = "ZSCORE";
    argvlen[0] = sizeof("ZSCORE") - 1;
    argv[1] = GW_MODEL_JWT_REVOKED;
    argvlen[1] = sizeof(GW_MODEL_JWT_REVOKED) - 1;
    argv[2] = (char *) copy + 1;
    argvlen[2] = ev.id_len;

    if (ngx_http_gw_redis_command(ngx_http_gw_jwt_revoke_score, copy, 3,
                                  argv, argvlen)
        != NGX_OK)
    {
        ngx_free(copy);
    }
}


/* a score (a token's exp): seconds since the epoch, 0 when not one */

static time_t
ngx_http_gw_jwt_revoke_exp(redisReply *e)
{
    char    buf[NGX_HTTP_GW_JWT_REVOKE_SCORE], *end;
    double  d;

    if (e->type != REDIS_REPLY_STRING || e->len == 0
        || e->len >= NGX_HTTP_GW_JWT_REVOKE_SCORE)
    {
        return 0;
    }

    ngx_memcpy(buf, e->str, e->len);
    buf[e->len] = '\0';

    d = strtod(buf, &end);

    if (*end != '\0' || !isfinite(d) || d < 1 || d > 1e15) {
        return 0;
    }

    /* a fraction of a second more is a second more */

    return (time_t) d + ((double) (time_t) d < d);
}


/* the ZSCORE of a message's jti: the entry lives until the token's exp */

static void
ngx_http_gw_jwt_revoke_score(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    u_char *copy = data;

    time_t  exp;

    if (status == NGX_HTTP_GW_REDIS_OK) {
        exp = ngx_http_gw_jwt_revoke_exp(reply);

        if (exp != 0) {
            exp += ngx_http_gw_jwt_revoke_conf->leeway;
            (void) ngx_http_gw_jwt_revoke_add(ngx_http_gw_jwt_revoke_conf->zone,
                                              copy + 1, copy[0], exp, 1);
        }
    }

    ngx_free(copy);
}


/*
 * After every (re)subscription: messages may have been lost, so the whole
 * zset is loaded again, replacing the set.  A load in flight is
 * abandoned: its replies are recognised by their id and dropped.
 */

static void
ngx_http_gw_jwt_revoke_resync(void *data)
{
    ngx_http_gw_jwt_revoke_load_t  *ld;

    ld = &ngx_http_gw_jwt_revoke_load;

    ld->id++;
    ld->running = 1;
    ld->pending = 0;
    ld->failed = 0;
    ld->offset = 0;
    ld->count = 0;

    ld->gen = ngx_http_gw_jwt_revoke_generation(
                                            ngx_http_gw_jwt_revoke_conf->zone);

    ld->min_len = ngx_sprintf(ld->min, "%T",
                              ngx_time() - ngx_http_gw_jwt_revoke_conf->leeway)
                  - ld->min;

    ngx_http_gw_jwt_revoke_page();
}


/* asks for the next page of the load: members from score min on */

static void
ngx_http_gw_jwt_revoke_page(void)
{
    u_char                          offset[NGX_INT_T_LEN], count[NGX_INT_T_LEN];
    const char                     *argv[9];
    size_t                          argvlen[9];
    ngx_http_gw_jwt_revoke_load_t  *ld;

    ld = &ngx_http_gw_jwt_revoke_load;

    argv[0] = "ZRANGEBYSCORE";
    argv[1] = GW_MODEL_JWT_REVOKED;
    argv[2] = (char *) ld->min;
    argv[3] = "+inf";
    argv[4] = "WITHSCORES";
    argv[5] = "LIMIT";
    argv[6] = (char *) offset;
    argv[7] = (char *) count;

    argvlen[0] = sizeof("ZRANGEBYSCORE") - 1;
    argvlen[1] = sizeof(GW_MODEL_JWT_REVOKED) - 1;
    argvlen[2] = ld->min_len;
    argvlen[3] = sizeof("+inf") - 1;
    argvlen[4] = sizeof("WITHSCORES") - 1;
    argvlen[5] = sizeof("LIMIT") - 1;
    argvlen[6] = ngx_sprintf(offset, "%ui", ld->offset) - offset;
    argvlen[7] = ngx_sprintf(count, "%d", NGX_HTTP_GW_JWT_REVOKE_PAGE)
                 - count;

    if (ngx_http_gw_redis_command(ngx_http_gw_jwt_revoke_page_reply,
                                  (void *) (uintptr_t) ld->id, 8, argv,
                                  argvlen)
        != NGX_OK)
    {
        /* down now: the timer tries again */
        ld->running = 0;
        ld->pending = 1;
    }
}


/*
 * A page: member, score, member, score...  Each member that is a valid id
 * is added with its exact expiry; the next page starts at the last score,
 * past the members of that score already seen.  A short page ends the
 * load: entries it did not see go, and the set is complete unless an
 * entry found no room.
 */

static void
ngx_http_gw_jwt_revoke_page_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    size_t                          i, n, same;
    time_t                          exp, leeway;
    redisReply                     *m, *s, *last;
    ngx_shm_zone_t                 *zone;
    ngx_http_gw_jwt_revoke_load_t  *ld;

    ld = &ngx_http_gw_jwt_revoke_load;

    if ((ngx_uint_t) (uintptr_t) data != ld->id || !ld->running) {
        return;                 /* an abandoned load's */
    }

    if (status != NGX_HTTP_GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY
        || reply->elements % 2 != 0)
    {
        if (status == NGX_HTTP_GW_REDIS_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "gw_jwt: unexpected reply loading \""
                          GW_MODEL_JWT_REVOKED "\"");
        }

        ld->running = 0;
        ld->pending = 1;
        return;
    }

    zone = ngx_http_gw_jwt_revoke_conf->zone;
    leeway = ngx_http_gw_jwt_revoke_conf->leeway;
    n = reply->elements / 2;

    for (i = 0; i < n; i++) {
        m = reply->element[2 * i];
        s = reply->element[2 * i + 1];
        exp = ngx_http_gw_jwt_revoke_exp(s);

        if (m->type != REDIS_REPLY_STRING || exp == 0
            || !gw_model_id_valid(m->str, m->len))
        {
            continue;           /* no jti of ours: no token carries it */
        }

        if (ngx_http_gw_jwt_revoke_add(zone, (u_char *) m->str, m->len,
                                       exp + leeway, 1)
            != NGX_OK)
        {
            ld->failed = 1;
        }

        ld->count++;
    }

    if (n == NGX_HTTP_GW_JWT_REVOKE_PAGE) {
        last = reply->element[2 * n - 1];

        if (last->type != REDIS_REPLY_STRING
            || last->len >= NGX_HTTP_GW_JWT_REVOKE_SCORE)
        {
            ld->running = 0;
            ld->pending = 1;
            return;
        }

        /* the page's members of the last score, to skip next time */

        for (same = 0; same < n; same++) {
            s = reply->element[2 * (n - same) - 1];

            if (s->type != REDIS_REPLY_STRING || s->len != last->len
                || ngx_memcmp(s->str, last->str, last->len) != 0)
            {
                break;
            }
        }

        if (ld->min_len == last->len
            && ngx_memcmp(ld->min, last->str, last->len) == 0)
        {
            ld->offset += same;

        } else {
            ld->offset = same;
            ld->min_len = last->len;
            ngx_memcpy(ld->min, last->str, last->len);
        }

        ngx_http_gw_jwt_revoke_page();
        return;
    }

    ld->running = 0;

    ngx_http_gw_jwt_revoke_loaded(zone, ld->gen, ld->failed);

    ld->pending = ld->failed;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "gw_jwt: revocation list loaded: %ui jti%s%s",
                  ld->count, ld->count == 1 ? "" : "s",
                  ld->failed ? ", the zone is full" : "");
}


ngx_int_t
ngx_http_gw_jwt_revoke_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev;

    if (ngx_http_gw_jwt_revoke_conf == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ev = &ngx_http_gw_jwt_revoke_event;

    ev->handler = ngx_http_gw_jwt_revoke_timer;
    ev->log = cycle->log;
    ev->data = ngx_http_gw_jwt_revoke_conf;
    ev->cancelable = 1;

    ngx_add_timer(ev, NGX_HTTP_GW_JWT_REVOKE_TIMER);

    return NGX_OK;
}


/*
 * Housekeeping: drops expired entries, and loads the zset again when a
 * load is owed (it failed, or the zone was full) or the set was never
 * complete, and none is running.
 */

static void
ngx_http_gw_jwt_revoke_timer(ngx_event_t *ev)
{
    ngx_uint_t                      again;
    ngx_http_gw_jwt_revoke_load_t  *ld;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ld = &ngx_http_gw_jwt_revoke_load;

    again = ngx_http_gw_jwt_revoke_expire(ngx_http_gw_jwt_revoke_conf->zone);

    if ((again || ld->pending) && !ld->running
        && ngx_http_gw_redis_connected())
    {
        ngx_http_gw_jwt_revoke_resync(NULL);
    }

    ngx_add_timer(ev, NGX_HTTP_GW_JWT_REVOKE_TIMER);
}
