
/*
 * Copyright (C) Tollgate
 *
 * The per-worker cache of consumer lookups: "is this key hash (or this
 * consumer id) valid, and whose is it".  Positive and negative answers are
 * cached, each with the TTL the location asked for.  Entries are looked up
 * by a red-black tree on the MurmurHash2 of the lookup string (the string
 * itself is compared) and kept in least-recently-used order; past the
 * configured number of entries the oldest is dropped.
 *
 * Freshness comes from Redis pub/sub on gw:events: "key <hash>" drops that
 * key's entry, "consumer <id>" drops the consumer's entry and every key
 * entry that resolved to it; after the subscriber (re)connects, messages
 * may have been missed, so everything is dropped.  The cache is the
 * worker's own memory: no locks, nothing shared.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_keyauth.h"


typedef struct {
    ngx_rbtree_node_t                node;      /* must be first */
    ngx_queue_t                      queue;
    time_t                           fetched;
    time_t                           expires;
    size_t                           len;
    u_char                           lookup[NGX_HTTP_GW_KEYAUTH_LOOKUP_MAX];
    ngx_http_gw_keyauth_record_t     rec;
} ngx_http_gw_keyauth_entry_t;


static void ngx_http_gw_keyauth_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_keyauth_entry_t *ngx_http_gw_keyauth_find(
    ngx_str_t *lookup);
static void ngx_http_gw_keyauth_drop(ngx_http_gw_keyauth_entry_t *e);


static ngx_rbtree_t       ngx_http_gw_keyauth_rbtree;
static ngx_rbtree_node_t  ngx_http_gw_keyauth_sentinel;
static ngx_queue_t        ngx_http_gw_keyauth_lru;
static ngx_uint_t         ngx_http_gw_keyauth_count;
static ngx_uint_t         ngx_http_gw_keyauth_max = 10000;
static ngx_uint_t         ngx_http_gw_keyauth_ready;
static ngx_uint_t         ngx_http_gw_keyauth_epoch;


void
ngx_http_gw_keyauth_cache_configure(ngx_uint_t max_entries)
{
    ngx_http_gw_keyauth_max = max_entries;
}


static void
ngx_http_gw_keyauth_init(void)
{
    ngx_rbtree_init(&ngx_http_gw_keyauth_rbtree,
                    &ngx_http_gw_keyauth_sentinel,
                    ngx_http_gw_keyauth_rbtree_insert);
    ngx_queue_init(&ngx_http_gw_keyauth_lru);
    ngx_http_gw_keyauth_ready = 1;
}


static void
ngx_http_gw_keyauth_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t            **p;
    ngx_http_gw_keyauth_entry_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_gw_keyauth_entry_t *) node;
            t = (ngx_http_gw_keyauth_entry_t *) temp;

            p = (ngx_memn2cmp(n->lookup, t->lookup, n->len, t->len) < 0)
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


static ngx_http_gw_keyauth_entry_t *
ngx_http_gw_keyauth_find(ngx_str_t *lookup)
{
    ngx_int_t                     rc;
    ngx_rbtree_key_t              key;
    ngx_rbtree_node_t            *node, *sentinel;
    ngx_http_gw_keyauth_entry_t  *e;

    if (!ngx_http_gw_keyauth_ready) {
        return NULL;
    }

    key = ngx_murmur_hash2(lookup->data, lookup->len);
    node = ngx_http_gw_keyauth_rbtree.root;
    sentinel = ngx_http_gw_keyauth_rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        e = (ngx_http_gw_keyauth_entry_t *) node;
        rc = ngx_memn2cmp(lookup->data, e->lookup, lookup->len, e->len);

        if (rc == 0) {
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_gw_keyauth_drop(ngx_http_gw_keyauth_entry_t *e)
{
    ngx_rbtree_delete(&ngx_http_gw_keyauth_rbtree, &e->node);
    ngx_queue_remove(&e->queue);
    ngx_free(e);
    ngx_http_gw_keyauth_count--;
}


/*
 * Copies the entry for lookup into rec and sets *fetched to when Redis
 * gave that answer; how long an answer stays good is the location's call.
 * Returns NGX_OK, or NGX_DECLINED when absent.
 */

ngx_int_t
ngx_http_gw_keyauth_cache_get(ngx_str_t *lookup,
    ngx_http_gw_keyauth_record_t *rec, time_t *fetched)
{
    ngx_http_gw_keyauth_entry_t  *e;

    e = ngx_http_gw_keyauth_find(lookup);

    if (e == NULL) {
        return NGX_DECLINED;
    }

    if (e->expires <= ngx_time()) {
        ngx_http_gw_keyauth_drop(e);
        return NGX_DECLINED;
    }

    *rec = e->rec;
    *fetched = e->fetched;

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&ngx_http_gw_keyauth_lru, &e->queue);

    return NGX_OK;
}


/*
 * The invalidation epoch: a lookup notes it when it asks Redis, and its
 * answer is cached only if no invalidation came in between.  The answer
 * and the message travel on two connections, so a revocation may be seen
 * before the answer given just before it; that answer must not outlive
 * the request it was fetched for.
 */

ngx_uint_t
ngx_http_gw_keyauth_cache_epoch(void)
{
    return ngx_http_gw_keyauth_epoch;
}


void
ngx_http_gw_keyauth_cache_put(ngx_log_t *log, ngx_str_t *lookup,
    ngx_http_gw_keyauth_record_t *rec, time_t ttl, ngx_uint_t epoch)
{
    ngx_queue_t                  *q;
    ngx_http_gw_keyauth_entry_t  *e;

    if (ngx_http_gw_keyauth_max == 0 || ttl <= 0
        || epoch != ngx_http_gw_keyauth_epoch
        || lookup->len > NGX_HTTP_GW_KEYAUTH_LOOKUP_MAX)
    {
        return;
    }

    if (!ngx_http_gw_keyauth_ready) {
        ngx_http_gw_keyauth_init();
    }

    e = ngx_http_gw_keyauth_find(lookup);

    if (e == NULL) {
        if (ngx_http_gw_keyauth_count >= ngx_http_gw_keyauth_max) {
            q = ngx_queue_last(&ngx_http_gw_keyauth_lru);
            ngx_http_gw_keyauth_drop(ngx_queue_data(q,
                                         ngx_http_gw_keyauth_entry_t, queue));
        }

        e = ngx_alloc(sizeof(ngx_http_gw_keyauth_entry_t), log);
        if (e == NULL) {
            return;
        }

        e->len = lookup->len;
        ngx_memcpy(e->lookup, lookup->data, lookup->len);
        e->node.key = ngx_murmur_hash2(lookup->data, lookup->len);

        ngx_rbtree_insert(&ngx_http_gw_keyauth_rbtree, &e->node);
        ngx_queue_insert_head(&ngx_http_gw_keyauth_lru, &e->queue);
        ngx_http_gw_keyauth_count++;

    } else {
        ngx_queue_remove(&e->queue);
        ngx_queue_insert_head(&ngx_http_gw_keyauth_lru, &e->queue);
    }

    e->rec = *rec;
    e->fetched = ngx_time();
    e->expires = e->fetched + ttl;
}


/* drops every entry; after a resubscription, or a message it cannot read */

void
ngx_http_gw_keyauth_cache_flush(void *data)
{
    ngx_queue_t  *q;

    ngx_http_gw_keyauth_epoch++;

    if (!ngx_http_gw_keyauth_ready) {
        return;
    }

    while (!ngx_queue_empty(&ngx_http_gw_keyauth_lru)) {
        q = ngx_queue_head(&ngx_http_gw_keyauth_lru);
        ngx_http_gw_keyauth_drop(ngx_queue_data(q, ngx_http_gw_keyauth_entry_t,
                                                queue));
    }
}


/*
 * A gw:events message: "key <hash>" or "consumer <id>" (a token's "jti"
 * and the signing "keys" are for the JWT module, "client" for the
 * identity service).  A consumer
 * message walks the whole cache for the keys that resolved to it, which
 * is bounded by the cache size and happens only when a consumer changes.
 */

void
ngx_http_gw_keyauth_cache_invalidate(void *data, ngx_str_t *channel,
    ngx_str_t *message)
{
    u_char                        buf[NGX_HTTP_GW_KEYAUTH_LOOKUP_MAX];
    ngx_str_t                     lookup;
    ngx_queue_t                  *q, *next;
    gw_model_event_t              ev;
    ngx_http_gw_keyauth_entry_t  *e;

    /* the message format is the model's (lib/model/gw_model.h) */

    if (gw_model_event_parse((char *) message->data, message->len, &ev)
        == 0
        && (ev.kind == GW_MODEL_EVENT_IS_JTI
            || ev.kind == GW_MODEL_EVENT_IS_KEYS
            || ev.kind == GW_MODEL_EVENT_IS_CLIENT))
    {
        return;                 /* the JWT module's, not about API keys */
    }

    ngx_http_gw_keyauth_epoch++;

    if (!ngx_http_gw_keyauth_ready) {
        return;
    }

    if (ev.kind == GW_MODEL_EVENT_NONE) {
        ngx_http_gw_keyauth_cache_flush(data);      /* unknown: be safe */
        return;
    }

    if (ev.kind == GW_MODEL_EVENT_IS_CONSUMER) {

        /* every key entry that resolved to the consumer goes too */

        for (q = ngx_queue_head(&ngx_http_gw_keyauth_lru);
             q != ngx_queue_sentinel(&ngx_http_gw_keyauth_lru);
             q = next)
        {
            next = ngx_queue_next(q);
            e = ngx_queue_data(q, ngx_http_gw_keyauth_entry_t, queue);

            if (e->rec.id_len == ev.id_len
                && ngx_memcmp(e->rec.id, ev.id, ev.id_len) == 0)
            {
                ngx_http_gw_keyauth_drop(e);
            }
        }
    }

    buf[0] = (ev.kind == GW_MODEL_EVENT_IS_KEY) ? 'k' : 'c';
    ngx_memcpy(buf + 1, ev.id, ev.id_len);
    lookup.data = buf;
    lookup.len = 1 + ev.id_len;

    e = ngx_http_gw_keyauth_find(&lookup);
    if (e != NULL) {
        ngx_http_gw_keyauth_drop(e);
    }
}
