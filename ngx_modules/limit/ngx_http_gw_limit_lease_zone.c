
/*
 * Copyright (C) Tollgate
 *
 * The leases of lease mode in shared memory (gw_limit_lease_zone): one
 * entry per key, in a red-black tree keyed by the CRC32 of the key's form
 * and "<name>\0<key>", with an LRU queue and a list of the entries that
 * hold admissions.  An entry that holds admissions, has a refill in
 * flight or holds a refusal is never forgotten: a new key finds room
 * among the idle ones at the cold end, or none, and is then decided in
 * Redis request by request.  Unspent admissions go back to Redis by a
 * script run no request waits for; each worker's timer gives back those
 * of expired leases.
 */


#include <math.h>

#include "ngx_http_gw_limit_lease.h"
#include "gw_model.h"


#define NGX_HTTP_GW_LIMIT_LEASE_FREE_MAX  64    /* entries looked at when
                                                   the zone has no room */


static void ngx_http_gw_limit_lease_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


/*
 * Finds a key's lease, moved to the hot end of the queue; with create,
 * makes it when missing (NULL when there is no room without forgetting a
 * lease that holds admissions or is being refilled).  Called locked.
 */

ngx_http_gw_limit_lease_node_t *
ngx_http_gw_limit_lease_lookup(ngx_http_gw_limit_lease_main_conf_t *llmcf,
    ngx_http_gw_limit_item_t *it, double now, ngx_uint_t create)
{
    size_t                           size;
    u_char                           hashed;
    uint32_t                         hash;
    ngx_int_t                        rc;
    ngx_uint_t                       n;
    ngx_queue_t                     *q, *prev;
    ngx_rbtree_node_t               *node, *sentinel;
    ngx_http_gw_limit_lease_sh_t    *sh;
    ngx_http_gw_limit_lease_node_t  *e;

    sh = llmcf->sh;
    hashed = it->hashed;

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, &hashed, 1);
    ngx_crc32_update(&hash, it->id.data, it->id.len);
    ngx_crc32_final(hash);

    node = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    while (node != sentinel) {

        if (hash != node->key) {
            node = (hash < node->key) ? node->left : node->right;
            continue;
        }

        e = (ngx_http_gw_limit_lease_node_t *) &node->color;

        rc = (ngx_int_t) hashed - (ngx_int_t) e->hashed;

        if (rc == 0) {
            rc = ngx_memn2cmp(it->id.data, e->data, it->id.len,
                              (size_t) e->len);
        }

        if (rc == 0) {
            ngx_queue_remove(&e->queue);
            ngx_queue_insert_head(&sh->queue, &e->queue);
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    if (!create) {
        return NULL;
    }

    size = offsetof(ngx_rbtree_node_t, color)
           + offsetof(ngx_http_gw_limit_lease_node_t, data) + it->id.len;

    /* idle entries (nothing held, no refill) at the cold end make room */

    node = NULL;
    q = ngx_queue_last(&sh->queue);

    for (n = 0;
         n < NGX_HTTP_GW_LIMIT_LEASE_FREE_MAX
         && q != ngx_queue_sentinel(&sh->queue);
         n++)
    {
        prev = ngx_queue_prev(q);
        e = ngx_queue_data(q, ngx_http_gw_limit_lease_node_t, queue);
        q = prev;

        if (n >= 2) {
            node = ngx_slab_alloc_locked(llmcf->shpool, size);
            if (node != NULL) {
                break;
            }
        }

        if (e->left > 0 || e->refill != 0 || now < e->refused) {
            continue;
        }

        ngx_queue_remove(&e->queue);
        node = (ngx_rbtree_node_t *)
                   ((u_char *) e - offsetof(ngx_rbtree_node_t, color));
        ngx_rbtree_delete(&sh->rbtree, node);
        ngx_slab_free_locked(llmcf->shpool, node);
        node = NULL;
    }

    if (node == NULL) {
        node = ngx_slab_alloc_locked(llmcf->shpool, size);
        if (node == NULL) {
            return NULL;
        }
    }

    node->key = hash;

    e = (ngx_http_gw_limit_lease_node_t *) &node->color;
    ngx_memzero(e, offsetof(ngx_http_gw_limit_lease_node_t, data));
    e->hashed = hashed;
    e->len = (u_short) it->id.len;
    e->want = 2;
    ngx_memcpy(e->data, it->id.data, it->id.len);

    ngx_rbtree_insert(&sh->rbtree, node);
    ngx_queue_insert_head(&sh->queue, &e->queue);

    return e;
}


/* the lease holds nothing any more: off the list the timer walks */

void
ngx_http_gw_limit_lease_drop(ngx_http_gw_limit_lease_node_t *e)
{
    ngx_queue_remove(&e->held);
}


/* n admissions taken in window go back to Redis; nobody waits for it */

void
ngx_http_gw_limit_lease_give_back(ngx_http_gw_limit_lease_main_conf_t *llmcf,
    u_char *name, size_t nlen, u_char *key, size_t klen, ngx_uint_t hashed,
    double n, double window)
{
    u_char       *p, *k;
    size_t        argvlen[1 + GW_LIMIT_LEASE_ARGS];
    ngx_uint_t    i;
    const char   *argv[1 + GW_LIMIT_LEASE_ARGS];
    u_char        nums[GW_LIMIT_LEASE_ARGS][NGX_HTTP_GW_LIMIT_LEASE_NUM_LEN];
    double        v[GW_LIMIT_LEASE_ARGS];

    k = ngx_alloc(sizeof(GW_MODEL_LIMIT_PREFIX) + 4 + nlen + klen,
                  ngx_cycle->log);
    if (k == NULL) {
        return;
    }

    argv[0] = (const char *) k;
    argvlen[0] = ngx_http_gw_limit_lease_key(k, name, nlen, key, klen,
                                             hashed);

    /* count and period are not read when nothing is taken (want 0) */
    v[0] = 1;
    v[1] = 1;
    v[2] = 0;
    v[3] = 0;
    v[4] = n;
    v[5] = window;

    for (i = 0; i < GW_LIMIT_LEASE_ARGS; i++) {
        p = nums[i];
        argv[1 + i] = (const char *) p;
        argvlen[1 + i] = ngx_http_gw_limit_lease_num(p, v[i]);
    }

    (void) ngx_http_gw_redis_command_script(&llmcf->script, NULL, NULL, 1,
                                            1 + GW_LIMIT_LEASE_ARGS, argv,
                                            argvlen);
    ngx_free(k);
}


/* gw:limit:<name>:q[h]:<key> into buf; its length */

size_t
ngx_http_gw_limit_lease_key(u_char *buf, u_char *name, size_t nlen,
    u_char *key, size_t klen, ngx_uint_t hashed)
{
    u_char  *p;

    p = ngx_cpymem(buf, GW_MODEL_LIMIT_PREFIX,
                   sizeof(GW_MODEL_LIMIT_PREFIX) - 1);
    p = ngx_cpymem(p, name, nlen);
    *p++ = ':';
    *p++ = 'q';

    if (hashed) {
        *p++ = 'h';
    }

    *p++ = ':';
    p = ngx_cpymem(p, key, klen);

    return p - buf;
}


/* a whole, non-negative number (every argument of the script is one) */

size_t
ngx_http_gw_limit_lease_num(u_char *buf, double v)
{
    if (v < 0) {
        v = 0;
    }

    return ngx_sprintf(buf, "%uL", (uint64_t) floor(v)) - buf;
}


/* microseconds since the epoch, read now, not nginx's cached time: a
   lease's end is checked to the microsecond */

double
ngx_http_gw_limit_lease_now(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (double) tv.tv_sec * 1000000.0 + (double) tv.tv_usec;
}


/*
 * Each worker, every NGX_HTTP_GW_LIMIT_LEASE_TICK: the leases past their
 * end with admissions unspent give them back to Redis, so an idle
 * gateway does not hold what another one's clients are refused.
 */

void
ngx_http_gw_limit_lease_tick(ngx_event_t *ev)
{
    u_char                               *key;
    size_t                                nlen;
    double                                now;
    ngx_queue_t                          *q, *next;
    ngx_http_gw_limit_lease_node_t       *e;
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    llmcf = ev->data;
    now = ngx_http_gw_limit_lease_now();

    ngx_shmtx_lock(&llmcf->shpool->mutex);

    for (q = ngx_queue_head(&llmcf->sh->held);
         q != ngx_queue_sentinel(&llmcf->sh->held);
         q = next)
    {
        next = ngx_queue_next(q);
        e = ngx_queue_data(q, ngx_http_gw_limit_lease_node_t, held);

        if (now < e->expires) {
            continue;
        }

        nlen = ngx_strlen(e->data);
        key = e->data + nlen + 1;

        /* Redis copies the command at once: sent under the lock */
        ngx_http_gw_limit_lease_give_back(llmcf, e->data, nlen, key,
                                          e->len - nlen - 1, e->hashed,
                                          e->left, e->window);

        e->want = ngx_max(e->granted - e->left, 1);
        e->left = 0;
        ngx_http_gw_limit_lease_drop(e);
    }

    ngx_shmtx_unlock(&llmcf->shpool->mutex);

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_GW_LIMIT_LEASE_TICK);
    }
}


ngx_int_t
ngx_http_gw_limit_lease_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_limit_lease_main_conf_t  *llmcf, *old;

    llmcf = shm_zone->data;
    old = data;

    if (old != NULL) {
        llmcf->sh = old->sh;
        llmcf->shpool = old->shpool;
        return NGX_OK;
    }

    llmcf->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        llmcf->sh = llmcf->shpool->data;
        return NGX_OK;
    }

    llmcf->sh = ngx_slab_alloc(llmcf->shpool,
                               sizeof(ngx_http_gw_limit_lease_sh_t));
    if (llmcf->sh == NULL) {
        return NGX_ERROR;
    }

    llmcf->shpool->data = llmcf->sh;

    ngx_rbtree_init(&llmcf->sh->rbtree, &llmcf->sh->sentinel,
                    ngx_http_gw_limit_lease_rbtree_insert);
    ngx_queue_init(&llmcf->sh->queue);
    ngx_queue_init(&llmcf->sh->held);

    llmcf->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_gw_limit_lease_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t               **p;
    ngx_http_gw_limit_lease_node_t   *n, *nt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_gw_limit_lease_node_t *) &node->color;
            nt = (ngx_http_gw_limit_lease_node_t *) &temp->color;

            p = (n->hashed < nt->hashed
                 || (n->hashed == nt->hashed
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
