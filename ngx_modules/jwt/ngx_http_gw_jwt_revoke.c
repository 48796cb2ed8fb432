
/*
 * Copyright (C) Tollgate
 *
 * The revocation list at the edge (gw_jwt_revocation) and the token type
 * rule (gw_jwt_type).
 *
 * The identity service records a revoked access token's jti in the zset
 * gw:jwt:revoked, scored by the token's exp, and publishes "jti <jti>" on
 * gw:events in the same MULTI/EXEC (lib/model/gw_model.h).  Every worker
 * subscribes to gw:events and writes what it hears into one shared-memory
 * set: a red-black tree keyed by the MurmurHash2 of the jti, the jti's
 * bytes compared, each entry living until its token's exp plus the
 * largest leeway of a location that checks.  A message's entry first
 * lives gw_jwt_revocation_zone's ttl (the message has no exp), and a
 * ZSCORE sent at once gives it the token's own.  After every
 * (re)subscription the worker loads the whole zset again, a page at a
 * time (ZRANGEBYSCORE from now less the leeway, paged by score, not by
 * offset, so members the service drops meanwhile never shift a page), and
 * entries no load has seen since it started go when it ends.
 *
 * The set is trusted only when it is complete: once a load has finished
 * since the zone was made (or the configuration reloaded), and while no
 * entry has found the zone full.  Otherwise a token's jti is asked of
 * Redis on the request itself (ZSCORE, the request suspended, never the
 * worker), and when Redis cannot answer the request gets 503 with
 * Retry-After: a revoked token is never let through for want of room or
 * of a load.  A full zone is logged at [error] once per incident; a timer
 * retries the load while the set is incomplete, and drops expired entries.
 * Nothing is ever evicted to make room.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_redis.h"
#include "gw_model.h"


#define NGX_HTTP_GW_JWT_REVOKE_NAME   "gw_jwt_revocation"
#define NGX_HTTP_GW_JWT_REVOKE_PAGE   1000      /* members per ZRANGEBYSCORE */
#define NGX_HTTP_GW_JWT_REVOKE_TIMER  2000      /* ms between housekeeping */
#define NGX_HTTP_GW_JWT_REVOKE_SCORE  64        /* bytes of a score kept */

/* ctx->revoke: what Redis said of this request's jti */
#define NGX_HTTP_GW_JWT_REVOKE_NONE     0
#define NGX_HTTP_GW_JWT_REVOKE_WAITING  1
#define NGX_HTTP_GW_JWT_REVOKE_CLEAR    2
#define NGX_HTTP_GW_JWT_REVOKE_REVOKED  3
#define NGX_HTTP_GW_JWT_REVOKE_FAILED   4


typedef struct {
    ngx_rbtree_node_t       node;           /* must be first */
    ngx_queue_t             queue;
    time_t                  expires;
    ngx_uint_t              gen;            /* of the last load or message
                                               that saw it */
    u_char                  len;
    u_char                  jti[1];
} ngx_http_gw_jwt_revoke_node_t;


typedef struct {
    ngx_rbtree_t            rbtree;
    ngx_rbtree_node_t       sentinel;
    ngx_queue_t             queue;
    ngx_uint_t              entries;
    ngx_uint_t              gen;
    ngx_uint_t              synced;         /* a load has finished */
    ngx_uint_t              full;           /* an entry found no room */
} ngx_http_gw_jwt_revoke_sh_t;


typedef struct {
    ngx_http_gw_jwt_revoke_sh_t  *sh;
    ngx_slab_pool_t              *shpool;
} ngx_http_gw_jwt_revoke_t;


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


static ngx_int_t ngx_http_gw_jwt_revoke_add_zone(ngx_conf_t *cf,
    ngx_http_gw_jwt_main_conf_t *jmcf);
static ngx_int_t ngx_http_gw_jwt_revoke_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gw_jwt_revoke_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_jwt_revoke_node_t *ngx_http_gw_jwt_revoke_find(
    ngx_http_gw_jwt_revoke_t *rv, u_char *jti, size_t len);
static ngx_int_t ngx_http_gw_jwt_revoke_add(ngx_http_gw_jwt_revoke_t *rv,
    u_char *jti, size_t len, time_t expires, ngx_uint_t exact);
static void ngx_http_gw_jwt_revoke_sweep(ngx_http_gw_jwt_revoke_t *rv,
    ngx_uint_t gen, time_t now);
static void ngx_http_gw_jwt_revoke_message(void *data, ngx_str_t *channel,
    ngx_str_t *message);
static void ngx_http_gw_jwt_revoke_score(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_jwt_revoke_resync(void *data);
static void ngx_http_gw_jwt_revoke_page(void);
static void ngx_http_gw_jwt_revoke_page_reply(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_jwt_revoke_timer(ngx_event_t *ev);
static ngx_int_t ngx_http_gw_jwt_revoke_jti(ngx_http_gw_jwt_ctx_t *ctx,
    ngx_str_t *jti);
static void ngx_http_gw_jwt_revoke_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_int_t ngx_http_gw_jwt_revoke_unavailable(ngx_http_request_t *r);


static ngx_str_t  ngx_http_gw_jwt_revoke_name =
    ngx_string(NGX_HTTP_GW_JWT_REVOKE_NAME);
static ngx_str_t  ngx_http_gw_jwt_revoke_channel =
    ngx_string(GW_MODEL_EVENTS);


/* this worker's view: the zone, the leeway and ttl, its load and timer */
static ngx_http_gw_jwt_revoke_conf_t  *ngx_http_gw_jwt_revoke_conf;
static ngx_http_gw_jwt_revoke_load_t   ngx_http_gw_jwt_revoke_load;
static ngx_event_t                     ngx_http_gw_jwt_revoke_event;


/*
 * gw_jwt_type media-type | off;
 * A media type of 1 to GW_TYP_MAX bytes of printable ASCII without ";".
 */

char *
ngx_http_gw_jwt_type(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (jlcf->type.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&jlcf->type, "");
        return NGX_CONF_OK;
    }

    if (value[1].len == 0 || value[1].len > GW_TYP_MAX) {
        goto invalid;
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] <= ' ' || value[1].data[i] >= 0x7f
            || value[1].data[i] == ';')
        {
            goto invalid;
        }
    }

    jlcf->type = value[1];

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid token type \"%V\" (a media type such as "
                       "\"at+jwt\", at most %d bytes)", &value[1],
                       GW_TYP_MAX);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_gw_jwt_revoke_add_zone(ngx_conf_t *cf,
    ngx_http_gw_jwt_main_conf_t *jmcf)
{
    ngx_http_gw_jwt_revoke_t  *rv;

    rv = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_revoke_t));
    if (rv == NULL) {
        return NGX_ERROR;
    }

    jmcf->revoke.zone = ngx_shared_memory_add(cf, &ngx_http_gw_jwt_revoke_name,
                                              jmcf->revoke.size,
                                              &ngx_http_gw_jwt_module);
    if (jmcf->revoke.zone == NULL) {
        return NGX_ERROR;
    }

    jmcf->revoke.zone->init = ngx_http_gw_jwt_revoke_init_zone;
    jmcf->revoke.zone->data = rv;

    return NGX_OK;
}


/*
 * gw_jwt_revocation_zone size [ttl=time];
 */

char *
ngx_http_gw_jwt_revocation_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gw_jwt_main_conf_t *jmcf = conf;

    ngx_str_t  *value, s;

    if (jmcf->revoke.zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    jmcf->revoke.size = ngx_parse_size(&value[1]);

    if (jmcf->revoke.size == NGX_ERROR
        || jmcf->revoke.size < NGX_HTTP_GW_JWT_CACHE_MIN)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid revocation zone size \"%V\", at least "
                           "%dk", &value[1], NGX_HTTP_GW_JWT_CACHE_MIN / 1024);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "ttl=", 4) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 4;
        s.len = value[2].len - 4;

        jmcf->revoke.ttl = ngx_parse_time(&s, 1);

        if (jmcf->revoke.ttl == (time_t) NGX_ERROR || jmcf->revoke.ttl == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid revocation ttl \"%V\"", &s);
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_gw_jwt_revoke_add_zone(cf, jmcf) == NGX_OK
           ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/*
 * From the location merge, once gw_jwt_leeway is merged: merges this
 * file's directives, and notes that a location checks revocation, and
 * the largest leeway of those that do (an entry outlives its token's exp
 * by that much, as the exp check does).
 */

char *
ngx_http_gw_jwt_revoke_merge(ngx_conf_t *cf, ngx_http_gw_jwt_loc_conf_t *prev,
    ngx_http_gw_jwt_loc_conf_t *jlcf)
{
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    ngx_conf_merge_str_value(jlcf->type, prev->type, "");
    ngx_conf_merge_value(jlcf->revocation, prev->revocation, 0);
    ngx_conf_merge_value(jlcf->revocation_jti, prev->revocation_jti, 1);

    if (jlcf->realm.len == 0 || !jlcf->revocation) {
        return NGX_CONF_OK;
    }

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_jwt_module);

    jmcf->revoke.used = 1;

    if (jlcf->leeway > jmcf->revoke.leeway) {
        jmcf->revoke.leeway = jlcf->leeway;
    }

    return NGX_CONF_OK;
}


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


static ngx_int_t
ngx_http_gw_jwt_revoke_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_jwt_revoke_t  *orv = data;

    size_t                     len;
    ngx_http_gw_jwt_revoke_t  *rv;

    rv = shm_zone->data;

    if (orv != NULL) {
        rv->sh = orv->sh;
        rv->shpool = orv->shpool;

        /*
         * a reload: the new workers subscribe anew, and what was published
         * between the old ones' leaving and that is lost; until one of
         * them has loaded the zset, the set is not trusted
         */

        rv->sh->synced = 0;
        return NGX_OK;
    }

    rv->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        rv->sh = rv->shpool->data;
        return NGX_OK;
    }

    rv->sh = ngx_slab_calloc(rv->shpool, sizeof(ngx_http_gw_jwt_revoke_sh_t));
    if (rv->sh == NULL) {
        return NGX_ERROR;
    }

    rv->shpool->data = rv->sh;

    ngx_rbtree_init(&rv->sh->rbtree, &rv->sh->sentinel,
                    ngx_http_gw_jwt_revoke_rbtree_insert);
    ngx_queue_init(&rv->sh->queue);

    len = sizeof(" in gw_jwt revocation zone \"\"") + shm_zone->shm.name.len;

    rv->shpool->log_ctx = ngx_slab_alloc(rv->shpool, len);
    if (rv->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(rv->shpool->log_ctx, " in gw_jwt revocation zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is our own incident, logged once (see _add) */

    rv->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_gw_jwt_revoke_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_gw_jwt_revoke_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_gw_jwt_revoke_node_t *) node;
            t = (ngx_http_gw_jwt_revoke_node_t *) temp;

            p = (ngx_memn2cmp(n->jti, t->jti, n->len, t->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the entry of jti, live or not; the caller holds the mutex */

static ngx_http_gw_jwt_revoke_node_t *
ngx_http_gw_jwt_revoke_find(ngx_http_gw_jwt_revoke_t *rv, u_char *jti,
    size_t len)
{
    ngx_int_t                       rc;
    ngx_rbtree_key_t                key;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_gw_jwt_revoke_node_t  *n;

    key = ngx_murmur_hash2(jti, len);
    node = rv->sh->rbtree.root;
    sentinel = rv->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_gw_jwt_revoke_node_t *) node;
        rc = ngx_memn2cmp(jti, n->jti, len, n->len);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Adds jti (a valid id) until expires, or refreshes its entry: an exact
 * expiry (the token's, from Redis) replaces the entry's, a guessed one
 * (a message's ttl) only lengthens it.  The entry is stamped with the
 * current generation.  Takes the mutex.  Returns NGX_OK, or NGX_DECLINED
 * when the zone is full: then the set is marked incomplete, and the first
 * entry of an incident that found no room logs it at [error].
 */

static ngx_int_t
ngx_http_gw_jwt_revoke_add(ngx_http_gw_jwt_revoke_t *rv, u_char *jti,
    size_t len, time_t expires, ngx_uint_t exact)
{
    ngx_uint_t                      full;
    ngx_http_gw_jwt_revoke_node_t  *n;

    ngx_shmtx_lock(&rv->shpool->mutex);

    n = ngx_http_gw_jwt_revoke_find(rv, jti, len);

    if (n != NULL) {
        if (exact || expires > n->expires) {
            n->expires = expires;
        }

        n->gen = rv->sh->gen;

        ngx_shmtx_unlock(&rv->shpool->mutex);
        return NGX_OK;
    }

    n = ngx_slab_alloc_locked(rv->shpool,
                              offsetof(ngx_http_gw_jwt_revoke_node_t, jti)
                              + len);

    if (n == NULL) {

        /* room held by expired entries first; never a live one */

        ngx_http_gw_jwt_revoke_sweep(rv, 0, ngx_time());

        n = ngx_slab_alloc_locked(rv->shpool,
                                  offsetof(ngx_http_gw_jwt_revoke_node_t, jti)
                                  + len);
    }

    if (n == NULL) {
        full = rv->sh->full;
        rv->sh->full = 1;

        ngx_shmtx_unlock(&rv->shpool->mutex);

        if (!full) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "gw_jwt: the revocation zone \"%V\" is full "
                          "(%ui entries): tokens are checked with Redis "
                          "per request until the list fits again",
                          &ngx_http_gw_jwt_revoke_name, rv->sh->entries);
        }

        return NGX_DECLINED;
    }

    n->node.key = ngx_murmur_hash2(jti, len);
    n->expires = expires;
    n->gen = rv->sh->gen;
    n->len = (u_char) len;
    ngx_memcpy(n->jti, jti, len);

    ngx_rbtree_insert(&rv->sh->rbtree, &n->node);
    ngx_queue_insert_head(&rv->sh->queue, &n->queue);
    rv->sh->entries++;

    ngx_shmtx_unlock(&rv->shpool->mutex);

    return NGX_OK;
}


/*
 * Drops the entries that expired by now, and those of a generation older
 * than gen (not seen by the load that just finished).  The caller holds
 * the mutex.
 */

static void
ngx_http_gw_jwt_revoke_sweep(ngx_http_gw_jwt_revoke_t *rv, ngx_uint_t gen,
    time_t now)
{
    ngx_queue_t                    *q, *next;
    ngx_http_gw_jwt_revoke_node_t  *n;

    for (q = ngx_queue_head(&rv->sh->queue);
         q != ngx_queue_sentinel(&rv->sh->queue);
         q = next)
    {
        next = ngx_queue_next(q);
        n = ngx_queue_data(q, ngx_http_gw_jwt_revoke_node_t, queue);

        if (n->expires > now && n->gen >= gen) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&rv->sh->rbtree, &n->node);
        ngx_slab_free_locked(rv->shpool, n);
        rv->sh->entries--;
    }
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
    u_char                    *copy;
    ngx_str_t                  text;
    const char                *argv[3];
    size_t                     argvlen[3];
    gw_model_event_t           ev;
    ngx_http_gw_jwt_revoke_t  *rv;
    u_char                     buf[NGX_HTTP_GW_LOG_SIZE];

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

    rv = ngx_http_gw_jwt_revoke_conf->zone->data;

    if (ngx_http_gw_jwt_revoke_add(rv, (u_char *) ev.id, ev.id_len,
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

    time_t                     exp;
    ngx_http_gw_jwt_revoke_t  *rv;

    if (status == NGX_HTTP_GW_REDIS_OK) {
        exp = ngx_http_gw_jwt_revoke_exp(reply);

        if (exp != 0) {
            rv = ngx_http_gw_jwt_revoke_conf->zone->data;

            exp += ngx_http_gw_jwt_revoke_conf->leeway;
            (void) ngx_http_gw_jwt_revoke_add(rv, copy + 1, copy[0], exp, 1);
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
    ngx_http_gw_jwt_revoke_t       *rv;

    ld = &ngx_http_gw_jwt_revoke_load;
    rv = ngx_http_gw_jwt_revoke_conf->zone->data;

    ld->id++;
    ld->running = 1;
    ld->pending = 0;
    ld->failed = 0;
    ld->offset = 0;
    ld->count = 0;

    ngx_shmtx_lock(&rv->shpool->mutex);
    ld->gen = ++rv->sh->gen;
    ngx_shmtx_unlock(&rv->shpool->mutex);

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
    ngx_http_gw_jwt_revoke_t       *rv;
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

    rv = ngx_http_gw_jwt_revoke_conf->zone->data;
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

        if (ngx_http_gw_jwt_revoke_add(rv, (u_char *) m->str, m->len,
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

    ngx_shmtx_lock(&rv->shpool->mutex);

    ngx_http_gw_jwt_revoke_sweep(rv, ld->gen, ngx_time());

    rv->sh->synced = 1;

    if (!ld->failed) {
        rv->sh->full = 0;
    }

    ngx_shmtx_unlock(&rv->shpool->mutex);

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
    ngx_http_gw_jwt_revoke_t       *rv;
    ngx_http_gw_jwt_revoke_load_t  *ld;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ld = &ngx_http_gw_jwt_revoke_load;
    rv = ngx_http_gw_jwt_revoke_conf->zone->data;

    ngx_shmtx_lock(&rv->shpool->mutex);

    ngx_http_gw_jwt_revoke_sweep(rv, 0, ngx_time());

    again = !rv->sh->synced || rv->sh->full;

    ngx_shmtx_unlock(&rv->shpool->mutex);

    if ((again || ld->pending) && !ld->running
        && ngx_http_gw_redis_connected())
    {
        ngx_http_gw_jwt_revoke_resync(NULL);
    }

    ngx_add_timer(ev, NGX_HTTP_GW_JWT_REVOKE_TIMER);
}


/*
 * The token's jti: NGX_OK with jti set, NGX_DECLINED when there is none,
 * or it is not a string, or not a valid id (lib/model: no list can hold
 * it, so it is as good as absent).
 */

static ngx_int_t
ngx_http_gw_jwt_revoke_jti(ngx_http_gw_jwt_ctx_t *ctx, ngx_str_t *jti)
{
    json_t  *v;

    if (ctx->jws.payload != NULL) {
        v = json_object_get(ctx->jws.payload, "jti");

        if (!json_is_string(v)) {
            return NGX_DECLINED;
        }

        jti->data = (u_char *) json_string_value(v);
        jti->len = json_string_length(v);

    } else if (ctx->jws.plain
               && ctx->jws.claims.jti.type == GW_JWT_V_STRING)
    {
        jti->data = (u_char *) ctx->jws.claims.jti.data;
        jti->len = ctx->jws.claims.jti.len;

    } else {
        return NGX_DECLINED;
    }

    return gw_model_id_valid((char *) jti->data, jti->len)
           ? NGX_OK : NGX_DECLINED;
}


/*
 * The revocation check of a verified token, on a location with
 * gw_jwt_revocation on.  Returns NGX_OK (not revoked), NGX_DECLINED with
 * *err (revoked, or no jti where one is required: 401), NGX_AGAIN (the
 * request waits for Redis; the handler returns NGX_AGAIN and runs again),
 * or a final code when the answer was sent (503) or for our failure.
 */

ngx_int_t
ngx_http_gw_jwt_revoke_check(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_http_gw_jwt_ctx_t *ctx,
    const char **err)
{
    ngx_int_t                       rc;
    ngx_str_t                       jti, text;
    ngx_uint_t                      trusted, found;
    const char                     *argv[3];
    size_t                          argvlen[3];
    ngx_log_handler_pt              handler;
    ngx_http_gw_jwt_revoke_t       *rv;
    ngx_http_gw_jwt_revoke_node_t  *n;
    u_char                          buf[NGX_HTTP_GW_LOG_SIZE];

    if (!jlcf->revocation) {
        return NGX_OK;
    }

    if (ngx_http_gw_jwt_revoke_jti(ctx, &jti) != NGX_OK) {
        if (!jlcf->revocation_jti) {
            return NGX_OK;
        }

        *err = "token has no usable jti";
        return NGX_DECLINED;
    }

    switch (ctx->revoke) {

    case NGX_HTTP_GW_JWT_REVOKE_NONE:
        break;

    case NGX_HTTP_GW_JWT_REVOKE_CLEAR:
        return NGX_OK;

    case NGX_HTTP_GW_JWT_REVOKE_REVOKED:
        found = 1;
        goto revoked;

    default: /* NGX_HTTP_GW_JWT_REVOKE_FAILED */
        return ngx_http_gw_jwt_revoke_unavailable(r);
    }

    rv = ngx_http_gw_jwt_revoke_conf->zone->data;

    ngx_shmtx_lock(&rv->shpool->mutex);

    trusted = rv->sh->synced && !rv->sh->full;
    n = ngx_http_gw_jwt_revoke_find(rv, jti.data, jti.len);
    found = (n != NULL && n->expires > ngx_time());

    ngx_shmtx_unlock(&rv->shpool->mutex);

    if (found) {
        goto revoked;
    }

    if (trusted) {
        return NGX_OK;
    }

    /* the set may miss it: Redis decides, the request waits */

    argv[0] = "ZSCORE";
    argvlen[0] = sizeof("ZSCORE") - 1;
    argv[1] = GW_MODEL_JWT_REVOKED;
    argvlen[1] = sizeof(GW_MODEL_JWT_REVOKED) - 1;
    argv[2] = (char *) jti.data;
    argvlen[2] = jti.len;

    rc = ngx_http_gw_redis_request(r, ngx_http_gw_jwt_revoke_reply, ctx, 3,
                                   argv, argvlen);

    if (rc == NGX_AGAIN) {
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_WAITING;
        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gw_jwt_revoke_unavailable(r);

revoked:

    /* without nginx's context, which may hold the token (a query) */

    handler = r->connection->log->handler;
    r->connection->log->handler = NULL;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_jwt: revoked token, jti: \"%V\"",
                  ngx_http_gw_log_escape(&text, buf, jti.data, jti.len));

    r->connection->log->handler = handler;

    *err = "token revoked";

    return NGX_DECLINED;
}


/* Redis' answer for a request's jti: a score is a revocation */

static void
ngx_http_gw_jwt_revoke_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_jwt_ctx_t *ctx = data;

    if (status != NGX_HTTP_GW_REDIS_OK) {
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_FAILED;
        return;
    }

    switch (reply->type) {

    case REDIS_REPLY_NIL:
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_CLEAR;
        break;

    case REDIS_REPLY_STRING:
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_REVOKED;
        break;

    default:
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_jwt: unexpected reply to ZSCORE \""
                      GW_MODEL_JWT_REVOKED "\"");
        ctx->revoke = NGX_HTTP_GW_JWT_REVOKE_FAILED;
        break;
    }
}


/* 503: no decision could be made, so none is risked */

static ngx_int_t
ngx_http_gw_jwt_revoke_unavailable(ngx_http_request_t *r)
{
    ngx_table_elt_t        *h;
    ngx_http_gw_problem_t   problem;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_jwt: request denied: the revocation list is "
                  "unavailable");

    ngx_http_gw_metrics_auth(r, NGX_HTTP_GW_AUTH_JWT,
                             NGX_HTTP_GW_AUTH_UNAVAILABLE);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:auth-unavailable";
    problem.title = "Authentication unavailable";
    ngx_str_set(&problem.detail, "the token revocation list is unavailable");
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}
