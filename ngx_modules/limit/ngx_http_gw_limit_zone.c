
/*
 * Copyright (C) Tollgate
 *
 * The shared-memory zone of local rate limits, and of the local fallback
 * of global ones: a red-black tree of states keyed by the CRC32 of the
 * state's kind and "<name>\0<key>", with an LRU queue, in the way of nginx's
 * limit_req.  Each lookup frees up to two entries at the cold end whose
 * state has become a fresh one; when the slab allocator is full, the
 * oldest entries are evicted, whatever their state, until the new one
 * fits: a full zone forgets its least recently seen clients, it never
 * fails a request for lack of room unless one entry cannot fit at all.
 *
 * Several limits of one request may live in several zones: the zones are
 * locked in the order of their addresses, so two workers never wait on
 * each other, and all decisions are made under the locks, so states
 * change only when every limit admits the request.
 */


#include "ngx_http_gw_limit.h"


#define NGX_HTTP_GW_LIMIT_EVICT_MAX  64     /* entries per allocation */


typedef struct {
    u_char                      color;
    u_char                      kind;           /* local or fallback */
    u_short                     len;
    ngx_queue_t                 queue;
    double                      expires;        /* microseconds */
    gw_limit_state_t            state;
    u_char                      data[1];        /* name, NUL, key */
} ngx_http_gw_limit_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
} ngx_http_gw_limit_shctx_t;


typedef struct {
    ngx_http_gw_limit_shctx_t  *sh;
    ngx_slab_pool_t            *shpool;
} ngx_http_gw_limit_zone_t;


static ngx_int_t ngx_http_gw_limit_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gw_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_limit_node_t *ngx_http_gw_limit_lookup(
    ngx_http_request_t *r, ngx_http_gw_limit_zone_t *z, u_char kind,
    ngx_http_gw_limit_item_t *item, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld);
static void ngx_http_gw_limit_expire(ngx_http_gw_limit_zone_t *z,
    double now, ngx_uint_t force, ngx_http_gw_limit_node_t **held,
    ngx_uint_t nheld);


ngx_shm_zone_t *
ngx_http_gw_limit_zone_add(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_shm_zone_t            *shm_zone;
    ngx_http_gw_limit_zone_t  *z;

    shm_zone = ngx_shared_memory_add(cf, name, size,
                                     &ngx_http_gw_limit_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data == NULL) {
        z = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_limit_zone_t));
        if (z == NULL) {
            return NULL;
        }

        shm_zone->init = ngx_http_gw_limit_zone_init;
        shm_zone->data = z;
    }

    return shm_zone;
}


static ngx_int_t
ngx_http_gw_limit_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                     len;
    ngx_http_gw_limit_zone_t  *z, *oz;

    z = shm_zone->data;
    oz = data;

    if (oz != NULL) {
        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_alloc(z->shpool, sizeof(ngx_http_gw_limit_shctx_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }

    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel,
                    ngx_http_gw_limit_rbtree_insert);
    ngx_queue_init(&z->sh->queue);

    len = sizeof(" in gw_limit zone \"\"") + shm_zone->shm.name.len;

    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(z->shpool->log_ctx, " in gw_limit zone \"%V\"%Z",
                &shm_zone->shm.name);

    z->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_gw_limit_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_http_gw_limit_node_t   *n, *nt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_gw_limit_node_t *) &node->color;
            nt = (ngx_http_gw_limit_node_t *) &temp->color;

            p = (n->kind < nt->kind
                 || (n->kind == nt->kind
                     && ngx_memn2cmp(n->data, nt->data, n->len, nt->len)
                        < 0))
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


ngx_int_t
ngx_http_gw_limit_zone_decide(ngx_http_request_t *r,
    ngx_http_gw_limit_item_t *items, ngx_uint_t n, ngx_uint_t fallback,
    ngx_uint_t nodes, ngx_uint_t refused, double now)
{
    u_char                     kind;
    ngx_int_t                  rc;
    ngx_uint_t                 i, j, nz, nheld, all;
    gw_limit_rule_t            share;
    ngx_shm_zone_t            *zones[NGX_HTTP_GW_LIMIT_MAX], *t;
    gw_limit_state_t           next[NGX_HTTP_GW_LIMIT_MAX];
    ngx_http_gw_limit_zone_t  *z;
    ngx_http_gw_limit_node_t  *held[NGX_HTTP_GW_LIMIT_MAX];
    ngx_http_gw_limit_item_t  *it;
    ngx_http_gw_limit_item_t  *mine[NGX_HTTP_GW_LIMIT_MAX];

    /* the items this call decides, and their zones in address order */

    nheld = 0;
    nz = 0;

    for (i = 0; i < n; i++) {
        it = &items[i];

        if (it->decided
            || (it->mode == NGX_HTTP_GW_LIMIT_GLOBAL) != (fallback != 0))
        {
            continue;
        }

        mine[nheld++] = it;

        for (j = 0; j < nz; j++) {
            if (zones[j] == it->limit->zone) {
                break;
            }
        }

        if (j == nz) {
            zones[nz++] = it->limit->zone;
        }
    }

    if (nheld == 0) {
        return NGX_OK;
    }

    for (i = 1; i < nz; i++) {
        for (j = i; j > 0 && zones[j - 1] > zones[j]; j--) {
            t = zones[j];
            zones[j] = zones[j - 1];
            zones[j - 1] = t;
        }
    }

    for (i = 0; i < nz; i++) {
        z = zones[i]->data;
        ngx_shmtx_lock(&z->shpool->mutex);
    }

    kind = fallback ? NGX_HTTP_GW_LIMIT_STATE_FALLBACK
                    : NGX_HTTP_GW_LIMIT_STATE_LOCAL;
    rc = NGX_OK;
    all = !refused;

    for (i = 0; i < nheld; i++) {
        it = mine[i];
        z = it->limit->zone->data;

        held[i] = ngx_http_gw_limit_lookup(r, z, kind, it, now, held, i);
        if (held[i] == NULL) {
            rc = NGX_ERROR;
            goto unlock;
        }

        if (fallback) {
            gw_limit_share(&it->rule, (unsigned) nodes, &share);
            gw_limit_decide(&share, &held[i]->state, now, &it->res,
                            &next[i]);

        } else {
            gw_limit_decide(&it->rule, &held[i]->state, now, &it->res,
                            &next[i]);
        }

        if (!it->res.admit) {
            all = 0;
        }
    }

    for (i = 0; i < nheld; i++) {
        it = mine[i];
        it->decided = 1;
        it->degraded = fallback ? 1 : 0;

        if (all) {
            held[i]->state = next[i];
            held[i]->expires = it->res.expires;

        } else if (fallback) {
            gw_limit_share(&it->rule, (unsigned) nodes, &share);
            gw_limit_unconsumed(&share, &it->res);

        } else {
            gw_limit_unconsumed(&it->rule, &it->res);
        }
    }

unlock:

    for (i = nz; i > 0; i--) {
        z = zones[i - 1]->data;
        ngx_shmtx_unlock(&z->shpool->mutex);
    }

    return rc;
}


/*
 * Finds or makes the entry of item, moved to the hot end of the queue;
 * NULL when it cannot be made.  Called with the zone locked; held are the
 * entries this request already uses, which eviction must spare.
 */

static ngx_http_gw_limit_node_t *
ngx_http_gw_limit_lookup(ngx_http_request_t *r, ngx_http_gw_limit_zone_t *z,
    u_char kind, ngx_http_gw_limit_item_t *item, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld)
{
    size_t                     size, len;
    uint32_t                   hash;
    ngx_int_t                  rc;
    ngx_uint_t                 tries;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_gw_limit_node_t  *lr;

    len = item->id.len;

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, &kind, 1);
    ngx_crc32_update(&hash, item->id.data, item->id.len);
    ngx_crc32_final(hash);

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        lr = (ngx_http_gw_limit_node_t *) &node->color;

        rc = (ngx_int_t) kind - (ngx_int_t) lr->kind;

        if (rc == 0) {
            rc = ngx_memn2cmp(item->id.data, lr->data, item->id.len,
                              (size_t) lr->len);
        }

        if (rc == 0) {
            ngx_queue_remove(&lr->queue);
            ngx_queue_insert_head(&z->sh->queue, &lr->queue);
            return lr;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    /* a new entry; tidy up on the way */

    ngx_http_gw_limit_expire(z, now, 0, held, nheld);

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_gw_limit_node_t, data) + len;

    for (tries = 0; ; tries++) {
        node = ngx_slab_alloc_locked(z->shpool, size);
        if (node != NULL) {
            break;
        }

        if (tries == NGX_HTTP_GW_LIMIT_EVICT_MAX / 8) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gw_limit: no room for an entry of %uz bytes "
                          "even after evicting the oldest ones", size);
            return NULL;
        }

        ngx_http_gw_limit_expire(z, now, 1, held, nheld);
    }

    node->key = hash;

    lr = (ngx_http_gw_limit_node_t *) &node->color;
    lr->kind = kind;
    lr->len = (u_short) len;
    lr->expires = 0;
    ngx_memzero(&lr->state, sizeof(gw_limit_state_t));

    ngx_memcpy(lr->data, item->id.data, len);

    ngx_rbtree_insert(&z->sh->rbtree, node);
    ngx_queue_insert_head(&z->sh->queue, &lr->queue);

    return lr;
}


/*
 * Frees entries from the cold end: up to two whose state is a fresh one's
 * again, or with force up to 8 whatever their state (but never one this
 * request holds).
 */

static void
ngx_http_gw_limit_expire(ngx_http_gw_limit_zone_t *z, double now,
    ngx_uint_t force, ngx_http_gw_limit_node_t **held, ngx_uint_t nheld)
{
    ngx_uint_t                 n, i;
    ngx_queue_t               *q;
    ngx_rbtree_node_t         *node;
    ngx_http_gw_limit_node_t  *lr;

    for (n = 0; n < (force ? 8 : 2); n++) {

        if (ngx_queue_empty(&z->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&z->sh->queue);
        lr = ngx_queue_data(q, ngx_http_gw_limit_node_t, queue);

        for (i = 0; i < nheld; i++) {
            if (held[i] == lr) {
                return;
            }
        }

        if (!force && lr->expires > now) {
            return;
        }

        ngx_queue_remove(q);

        node = (ngx_rbtree_node_t *)
                   ((u_char *) lr - offsetof(ngx_rbtree_node_t, color));

        ngx_rbtree_delete(&z->sh->rbtree, node);
        ngx_slab_free_locked(z->shpool, node);
    }
}
