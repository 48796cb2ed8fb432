
/*
 * Copyright (C) Tollgate
 *
 * The shared-memory zone of local rate limits, and of the local fallback
 * of global ones: a red-black tree of states keyed by the CRC32 of the
 * state's kind and "<name>\0<key>", with an LRU queue, in the way of nginx's
 * limit_req.
 *
 * The key design decision: an entry is forgotten only once its state has
 * become a fresh one again (its "expires" is past), since forgetting it
 * sooner would hand its key a whole limit, and whoever fills the zone
 * (with keys of their own choosing, on any route sharing it) could wipe
 * anyone's state.  Each new entry first frees up to two such entries at
 * the cold end of the queue; when the slab allocator is still full, up to
 * NGX_HTTP_GW_LIMIT_RECLAIM_MAX of the least recently seen entries are
 * looked at and the expired ones among them freed.  When none of them
 * makes room, the zone is full of live states: the new key gets no entry,
 * and the request is refused (503 limit-zone-full) or let through
 * unlimited, as gw_limit_zone_full says.  Known keys are decided as
 * always.  The first such refusal of an incident logs one warn line per
 * zone (the zone is too small for its traffic: the operator's concern);
 * one more comes only after a minute without any.
 *
 * An exact quota's entry (kind | STATE_LOG) holds its sliding log: a ring
 * of N times (gw_limit_log.c) allocated from the same zone beside the
 * entry, 8 bytes a time rounded up by the slab allocator, made again with
 * the newest times when a plan changes N; it is live while it holds an
 * admission of the last window, and its ring goes with it.
 *
 * Several limits of one request may live in several zones: the zones are
 * locked in the order of their addresses, so two workers never wait on
 * each other, and all decisions are made under the locks, so states
 * change only when every limit admits the request.
 */


#include "ngx_http_gw_limit.h"
#include "gw_limit_log.h"


#define NGX_HTTP_GW_LIMIT_RECLAIM_MAX  64   /* entries looked at when
                                               the zone has no room */
#define NGX_HTTP_GW_LIMIT_QUIET  60000000.0 /* microseconds without a
                                               refusal for want of room
                                               that end an incident */


typedef struct {
    u_char                      color;
    u_char                      kind;           /* local or fallback,
                                                   | STATE_HASHED */
    u_short                     len;
    ngx_queue_t                 queue;
    double                      expires;        /* microseconds */
    union {
        gw_limit_state_t        state;
        gw_limit_log_t          log;            /* STATE_LOG: its ring is
                                                   in the zone too */
    } u;
    u_char                      data[1];        /* name, NUL, key */
} ngx_http_gw_limit_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
    double                      full;           /* microseconds: the last
                                                   refusal for want of
                                                   room, 0: none yet */
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
    ngx_http_gw_limit_zone_t *z, u_char kind, ngx_http_gw_limit_item_t *item,
    double now, ngx_http_gw_limit_node_t **held, ngx_uint_t nheld);
static void ngx_http_gw_limit_expire(ngx_http_gw_limit_zone_t *z,
    double now, ngx_http_gw_limit_node_t **held, ngx_uint_t nheld);
static ngx_rbtree_node_t *ngx_http_gw_limit_reclaim(
    ngx_http_gw_limit_zone_t *z, size_t size, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld);
static void ngx_http_gw_limit_free(ngx_http_gw_limit_zone_t *z,
    ngx_http_gw_limit_node_t *lr);
static ngx_int_t ngx_http_gw_limit_log_ring(ngx_http_gw_limit_zone_t *z,
    ngx_http_gw_limit_node_t *lr, gw_limit_rule_t *rule, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld);


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
    z->sh->full = 0;

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
    ngx_uint_t nodes, ngx_uint_t refused, ngx_uint_t allow, double now)
{
    u_char                     kind;
    ngx_int_t                  rc;
    ngx_uint_t                 i, j, nz, nheld, nbegan, all;
    ngx_shm_zone_t            *zones[NGX_HTTP_GW_LIMIT_MAX], *t;
    ngx_shm_zone_t            *began[NGX_HTTP_GW_LIMIT_MAX];
    gw_limit_rule_t            rule[NGX_HTTP_GW_LIMIT_MAX];
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

        if (it->decided || it->mode == NGX_HTTP_GW_LIMIT_LEASE
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
    nbegan = 0;

    for (i = 0; i < nheld; i++) {
        it = mine[i];
        z = it->limit->zone->data;

        held[i] = ngx_http_gw_limit_lookup(z, kind, it, now, held, i);

        if (held[i] == NULL) {
            /* no room: a first refusal after a quiet minute is news */

            if (now - z->sh->full >= NGX_HTTP_GW_LIMIT_QUIET) {
                began[nbegan++] = it->limit->zone;
            }

            z->sh->full = now;
            rc = NGX_DECLINED;
            continue;
        }

        if (fallback) {
            gw_limit_share(&it->rule, (unsigned) nodes, &rule[i]);

        } else {
            rule[i] = it->rule;
        }

        if (rule[i].kind == GW_LIMIT_LOG) {
            if (ngx_http_gw_limit_log_ring(z, held[i], &rule[i], now, held,
                                           i + 1)
                != NGX_OK)
            {
                held[i] = NULL;
                z->sh->full = now;
                rc = NGX_DECLINED;
                continue;
            }

            gw_limit_log_decide(&rule[i], &held[i]->u.log, now, &it->res);

        } else {
            gw_limit_decide(&rule[i], &held[i]->u.state, now, &it->res,
                            &next[i]);
        }

        if (!it->res.admit) {
            all = 0;
        }
    }

    if (rc == NGX_DECLINED && !allow) {
        all = 0;
    }

    for (i = 0; i < nheld; i++) {
        it = mine[i];

        if (held[i] == NULL) {
            continue;       /* undecided: no state holds it */
        }

        it->decided = 1;
        it->degraded = fallback ? 1 : 0;

        if (all) {
            if (rule[i].kind == GW_LIMIT_LOG) {
                gw_limit_log_commit(&held[i]->u.log, now);

            } else {
                held[i]->u.state = next[i];
            }

            held[i]->expires = it->res.expires;

        } else if (rule[i].kind == GW_LIMIT_LOG) {
            gw_limit_log_unconsumed(&rule[i], &it->res);

        } else {
            gw_limit_unconsumed(&rule[i], &it->res);
        }
    }

    for (i = nz; i > 0; i--) {
        z = zones[i - 1]->data;
        ngx_shmtx_unlock(&z->shpool->mutex);
    }

    for (i = 0; i < nbegan; i++) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gw_limit: zone \"%V\" has no room for new keys, "
                      "its entries all still hold limits: new keys are %s "
                      "until some expire; the zone is too small for this "
                      "traffic", &began[i]->shm.name,
                      allow ? "let through unlimited" : "refused");
    }

    return rc;
}


/*
 * Finds or makes the entry of item, moved to the hot end of the queue;
 * NULL when there is no room for a new one without forgetting a state
 * that still holds a limit.  Called with the zone locked; held are the
 * entries this request already uses (or NULL), which must be spared.
 */

static ngx_http_gw_limit_node_t *
ngx_http_gw_limit_lookup(ngx_http_gw_limit_zone_t *z, u_char kind,
    ngx_http_gw_limit_item_t *item, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld)
{
    size_t                     size, len;
    uint32_t                   hash;
    ngx_int_t                  rc;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_gw_limit_node_t  *lr;

    len = item->id.len;

    if (item->hashed) {
        kind |= NGX_HTTP_GW_LIMIT_STATE_HASHED;
    }

    if (item->rule.kind == GW_LIMIT_LOG) {
        kind |= NGX_HTTP_GW_LIMIT_STATE_LOG;
    }

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

    ngx_http_gw_limit_expire(z, now, held, nheld);

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_gw_limit_node_t, data) + len;

    node = ngx_slab_alloc_locked(z->shpool, size);

    if (node == NULL) {
        node = ngx_http_gw_limit_reclaim(z, size, now, held, nheld);
        if (node == NULL) {
            return NULL;
        }
    }

    node->key = hash;

    lr = (ngx_http_gw_limit_node_t *) &node->color;
    lr->kind = kind;
    lr->len = (u_short) len;
    lr->expires = 0;
    ngx_memzero(&lr->u, sizeof(lr->u));

    ngx_memcpy(lr->data, item->id.data, len);

    ngx_rbtree_insert(&z->sh->rbtree, node);
    ngx_queue_insert_head(&z->sh->queue, &lr->queue);

    return lr;
}


/*
 * Frees up to two entries at the cold end whose state is a fresh one's
 * again, stopping at the first that is not (or that this request holds).
 */

static void
ngx_http_gw_limit_expire(ngx_http_gw_limit_zone_t *z, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld)
{
    ngx_uint_t                 n, i;
    ngx_queue_t               *q;
    ngx_http_gw_limit_node_t  *lr;

    for (n = 0; n < 2; n++) {

        if (ngx_queue_empty(&z->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&z->sh->queue);
        lr = ngx_queue_data(q, ngx_http_gw_limit_node_t, queue);

        if (lr->expires > now) {
            return;
        }

        for (i = 0; i < nheld; i++) {
            if (held[i] == lr) {
                return;
            }
        }

        ngx_http_gw_limit_free(z, lr);
    }
}


/*
 * Room for an entry of size bytes when the slab allocator has none: looks
 * at up to NGX_HTTP_GW_LIMIT_RECLAIM_MAX entries from the cold end, frees
 * each one whose state is a fresh one's again (live ones, and those this
 * request holds, are passed over, never freed), and tries again after
 * each.  The new node, or NULL: no room without forgetting a live state.
 */

static ngx_rbtree_node_t *
ngx_http_gw_limit_reclaim(ngx_http_gw_limit_zone_t *z, size_t size,
    double now, ngx_http_gw_limit_node_t **held, ngx_uint_t nheld)
{
    ngx_uint_t                 n, i;
    ngx_queue_t               *q, *prev;
    ngx_rbtree_node_t         *node;
    ngx_http_gw_limit_node_t  *lr;

    q = ngx_queue_last(&z->sh->queue);

    for (n = 0;
         n < NGX_HTTP_GW_LIMIT_RECLAIM_MAX
         && q != ngx_queue_sentinel(&z->sh->queue);
         n++)
    {
        prev = ngx_queue_prev(q);
        lr = ngx_queue_data(q, ngx_http_gw_limit_node_t, queue);
        q = prev;

        if (lr->expires > now) {
            continue;
        }

        for (i = 0; i < nheld; i++) {
            if (held[i] == lr) {
                break;
            }
        }

        if (i < nheld) {
            continue;
        }

        ngx_http_gw_limit_free(z, lr);

        node = ngx_slab_alloc_locked(z->shpool, size);
        if (node != NULL) {
            return node;
        }
    }

    return NULL;
}


static void
ngx_http_gw_limit_free(ngx_http_gw_limit_zone_t *z,
    ngx_http_gw_limit_node_t *lr)
{
    ngx_rbtree_node_t  *node;

    if ((lr->kind & NGX_HTTP_GW_LIMIT_STATE_LOG) && lr->u.log.t != NULL) {
        ngx_slab_free_locked(z->shpool, lr->u.log.t);
    }

    ngx_queue_remove(&lr->queue);

    node = (ngx_rbtree_node_t *)
               ((u_char *) lr - offsetof(ngx_rbtree_node_t, color));

    ngx_rbtree_delete(&z->sh->rbtree, node);
    ngx_slab_free_locked(z->shpool, node);
}


/*
 * Gives the exact quota's entry lr a ring of rule's size: a new one for a
 * new entry, or one of another size holding the newest times when a plan
 * changed the count (the old ring freed).  Room is made as for a new
 * entry, never by forgetting a live state; NGX_DECLINED when there is
 * none (lr is left as it was).  Called with the zone locked.
 */

static ngx_int_t
ngx_http_gw_limit_log_ring(ngx_http_gw_limit_zone_t *z,
    ngx_http_gw_limit_node_t *lr, gw_limit_rule_t *rule, double now,
    ngx_http_gw_limit_node_t **held, ngx_uint_t nheld)
{
    size_t          size;
    uint32_t        cap;
    gw_limit_log_t  log;

    cap = gw_limit_log_cap(rule);

    if (lr->u.log.t != NULL && lr->u.log.cap == cap) {
        return NGX_OK;
    }

    size = cap * sizeof(double);

    log.t = ngx_slab_alloc_locked(z->shpool, size);

    if (log.t == NULL) {
        log.t = (double *) ngx_http_gw_limit_reclaim(z, size, now, held,
                                                     nheld);
        if (log.t == NULL) {
            return NGX_DECLINED;
        }
    }

    log.cap = cap;
    log.head = 0;
    log.n = 0;

    if (lr->u.log.t != NULL) {
        gw_limit_log_move(&log, &lr->u.log);
        ngx_slab_free_locked(z->shpool, lr->u.log.t);
    }

    lr->u.log = log;

    return NGX_OK;
}
