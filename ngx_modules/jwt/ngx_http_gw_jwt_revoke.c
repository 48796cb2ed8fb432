
/*
 * Copyright (C) Tollgate
 *
 * The revocation list at the edge (gw_jwt_revocation): the set itself, in
 * shared memory, and gw_jwt_revocation_zone.
 *
 * The identity service records a revoked access token's jti in the zset
 * gw:jwt:revoked, scored by the token's exp.  Every worker keeps a copy of
 * it here, in one shared-memory set: a red-black tree keyed by the
 * MurmurHash2 of the jti, the jti's bytes compared, each entry living until
 * its token's exp plus the largest leeway of a location that checks.  The
 * set is filled and kept up by ngx_http_gw_jwt_revoke_sync.c (gw:events
 * messages, the load of the zset, the timer) and read on every request by
 * ngx_http_gw_jwt_revoke_check.c.
 *
 * The key design decision: the set is trusted only when it is complete,
 * that is once a load has finished since the zone was made (or the
 * configuration reloaded), and while no entry has found the zone full.
 * Nothing is ever evicted to make room: a full zone marks the set
 * incomplete, is logged at [error] once per incident, and the check asks
 * Redis per request until a load fits again.  Only expired entries, and
 * those the last load did not see, are dropped.
 *
 * Every function of ngx_http_gw_jwt_revoke.h takes the zone's mutex itself.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_jwt_revoke.h"


#define NGX_HTTP_GW_JWT_REVOKE_NAME   "gw_jwt_revocation"


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


static ngx_int_t ngx_http_gw_jwt_revoke_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gw_jwt_revoke_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_jwt_revoke_node_t *ngx_http_gw_jwt_revoke_find(
    ngx_http_gw_jwt_revoke_t *rv, u_char *jti, size_t len);
static void ngx_http_gw_jwt_revoke_sweep(ngx_http_gw_jwt_revoke_t *rv,
    ngx_uint_t gen, time_t now);


static ngx_str_t  ngx_http_gw_jwt_revoke_name =
    ngx_string(NGX_HTTP_GW_JWT_REVOKE_NAME);


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
 * Adds the zone "gw_jwt_revocation" of jmcf->revoke.size bytes: from the
 * directive, or from postconfiguration with the default size when a
 * location checks and no directive made one.
 */

ngx_int_t
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

ngx_int_t
ngx_http_gw_jwt_revoke_add(ngx_shm_zone_t *zone, u_char *jti, size_t len,
    time_t expires, ngx_uint_t exact)
{
    ngx_uint_t                      full;
    ngx_http_gw_jwt_revoke_t       *rv;
    ngx_http_gw_jwt_revoke_node_t  *n;

    rv = zone->data;

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
 * Whether the set holds a live entry for jti; *trusted tells whether the
 * set is complete, so that a miss means the jti is not revoked.
 */

ngx_uint_t
ngx_http_gw_jwt_revoke_lookup(ngx_shm_zone_t *zone, u_char *jti, size_t len,
    ngx_uint_t *trusted)
{
    ngx_uint_t                      found;
    ngx_http_gw_jwt_revoke_t       *rv;
    ngx_http_gw_jwt_revoke_node_t  *n;

    rv = zone->data;

    ngx_shmtx_lock(&rv->shpool->mutex);

    *trusted = rv->sh->synced && !rv->sh->full;
    n = ngx_http_gw_jwt_revoke_find(rv, jti, len);
    found = (n != NULL && n->expires > ngx_time());

    ngx_shmtx_unlock(&rv->shpool->mutex);

    return found;
}


/*
 * A load starts: returns its generation, newer than any entry's, with
 * which the load's entries (and messages' meanwhile) are stamped.
 */

ngx_uint_t
ngx_http_gw_jwt_revoke_generation(ngx_shm_zone_t *zone)
{
    ngx_uint_t                 gen;
    ngx_http_gw_jwt_revoke_t  *rv;

    rv = zone->data;

    ngx_shmtx_lock(&rv->shpool->mutex);
    gen = ++rv->sh->gen;
    ngx_shmtx_unlock(&rv->shpool->mutex);

    return gen;
}


/*
 * A load of generation gen has read the whole zset: the entries it did
 * not see go, and the set is complete; no longer full unless an entry of
 * this load found no room (failed).
 */

void
ngx_http_gw_jwt_revoke_loaded(ngx_shm_zone_t *zone, ngx_uint_t gen,
    ngx_uint_t failed)
{
    ngx_http_gw_jwt_revoke_t  *rv;

    rv = zone->data;

    ngx_shmtx_lock(&rv->shpool->mutex);

    ngx_http_gw_jwt_revoke_sweep(rv, gen, ngx_time());

    rv->sh->synced = 1;

    if (!failed) {
        rv->sh->full = 0;
    }

    ngx_shmtx_unlock(&rv->shpool->mutex);
}


/*
 * Housekeeping: drops expired entries.  Returns whether the set is
 * incomplete (never loaded, or full), so that a load is due.
 */

ngx_uint_t
ngx_http_gw_jwt_revoke_expire(ngx_shm_zone_t *zone)
{
    ngx_uint_t                 again;
    ngx_http_gw_jwt_revoke_t  *rv;

    rv = zone->data;

    ngx_shmtx_lock(&rv->shpool->mutex);

    ngx_http_gw_jwt_revoke_sweep(rv, 0, ngx_time());

    again = !rv->sh->synced || rv->sh->full;

    ngx_shmtx_unlock(&rv->shpool->mutex);

    return again;
}
