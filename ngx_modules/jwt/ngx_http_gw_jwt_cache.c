
/*
 * Copyright (C) Tollgate
 *
 * The verified-token cache: a shared-memory set of "this exact token was
 * verified by the key with this fingerprint, until this time".  Keys are
 * the SHA-256 of the token bytes, so a token that differs in one byte is a
 * different entry, and the entry stores the key's fingerprint, so a token
 * stops matching as soon as its key leaves the configuration.  Claims are
 * never cached: each location checks its own policy on every request.
 *
 * Layout is nginx's usual one for such zones: a red-black tree keyed by
 * the first machine word of the hash (the full hash is compared), and a
 * queue in least-recently-used order.  An insert first drops up to two
 * expired entries from the old end; when the slab is full, it evicts from
 * there until the new entry fits.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_gw_jwt.h"


#define NGX_HTTP_GW_JWT_CACHE_NAME  "gw_jwt_cache"


typedef struct {
    ngx_rbtree_node_t       node;           /* must be first */
    ngx_queue_t             queue;
    time_t                  expires;
    u_char                  hash[SHA256_DIGEST_LENGTH];
    u_char                  fp[GW_KEY_FP_LEN];
} ngx_http_gw_jwt_cache_node_t;


typedef struct {
    ngx_rbtree_t            rbtree;
    ngx_rbtree_node_t       sentinel;
    ngx_queue_t             queue;
} ngx_http_gw_jwt_cache_sh_t;


typedef struct {
    ngx_http_gw_jwt_cache_sh_t  *sh;
    ngx_slab_pool_t             *shpool;
} ngx_http_gw_jwt_cache_t;


static ngx_int_t ngx_http_gw_jwt_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gw_jwt_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_jwt_cache_node_t *ngx_http_gw_jwt_cache_find(
    ngx_http_gw_jwt_cache_t *cache, const u_char *hash);
static void ngx_http_gw_jwt_cache_expire(ngx_http_gw_jwt_cache_t *cache,
    ngx_uint_t n, time_t now);


static ngx_str_t  ngx_http_gw_jwt_cache_name =
    ngx_string(NGX_HTTP_GW_JWT_CACHE_NAME);


static ngx_rbtree_key_t
ngx_http_gw_jwt_cache_key(const u_char *hash)
{
    ngx_rbtree_key_t  key;

    ngx_memcpy(&key, hash, sizeof(ngx_rbtree_key_t));

    return key;
}


static ngx_shm_zone_t *
ngx_http_gw_jwt_cache_add(ngx_conf_t *cf, ngx_http_gw_jwt_main_conf_t *jmcf)
{
    ngx_shm_zone_t           *zone;
    ngx_http_gw_jwt_cache_t  *cache;

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_cache_t));
    if (cache == NULL) {
        return NULL;
    }

    zone = ngx_shared_memory_add(cf, &ngx_http_gw_jwt_cache_name,
                                 jmcf->cache_size, &ngx_http_gw_jwt_module);
    if (zone == NULL) {
        return NULL;
    }

    zone->init = ngx_http_gw_jwt_cache_init_zone;
    zone->data = cache;

    return zone;
}


/*
 * gw_jwt_cache_zone size [ttl=time];
 */

char *
ngx_http_gw_jwt_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_main_conf_t *jmcf = conf;

    ngx_str_t  *value, s;

    if (jmcf->cache_size != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    jmcf->cache_size = ngx_parse_size(&value[1]);

    if (jmcf->cache_size == NGX_ERROR
        || jmcf->cache_size < NGX_HTTP_GW_JWT_CACHE_MIN)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid cache size \"%V\", at least %dk",
                           &value[1], NGX_HTTP_GW_JWT_CACHE_MIN / 1024);
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

        jmcf->cache_ttl = ngx_parse_time(&s, 1);

        if (jmcf->cache_ttl == (time_t) NGX_ERROR || jmcf->cache_ttl == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid cache ttl \"%V\"", &s);
            return NGX_CONF_ERROR;
        }
    }

    jmcf->cache_zone = ngx_http_gw_jwt_cache_add(cf, jmcf);

    return jmcf->cache_zone ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* a 1m zone with a 5m ttl when gw_jwt is used and no zone is configured */

ngx_int_t
ngx_http_gw_jwt_cache_add_default(ngx_conf_t *cf,
    ngx_http_gw_jwt_main_conf_t *jmcf)
{
    if (jmcf->cache_ttl == NGX_CONF_UNSET) {
        jmcf->cache_ttl = 300;
    }

    if (jmcf->cache_zone != NULL) {
        return NGX_OK;
    }

    jmcf->cache_size = 1024 * 1024;
    jmcf->cache_zone = ngx_http_gw_jwt_cache_add(cf, jmcf);

    return jmcf->cache_zone ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_gw_jwt_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_jwt_cache_t  *ocache = data;

    size_t                    len;
    ngx_http_gw_jwt_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache != NULL) {
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_gw_jwt_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_gw_jwt_cache_rbtree_insert);
    ngx_queue_init(&cache->sh->queue);

    len = sizeof(" in gw_jwt cache zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in gw_jwt cache zone \"%V\"%Z",
                &shm_zone->shm.name);

    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_gw_jwt_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_gw_jwt_cache_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_gw_jwt_cache_node_t *) node;
            t = (ngx_http_gw_jwt_cache_node_t *) temp;

            p = (ngx_memcmp(n->hash, t->hash, SHA256_DIGEST_LENGTH) < 0)
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


static ngx_http_gw_jwt_cache_node_t *
ngx_http_gw_jwt_cache_find(ngx_http_gw_jwt_cache_t *cache, const u_char *hash)
{
    ngx_int_t                      rc;
    ngx_rbtree_key_t               key;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_gw_jwt_cache_node_t  *n;

    key = ngx_http_gw_jwt_cache_key(hash);
    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_gw_jwt_cache_node_t *) node;
        rc = ngx_memcmp(hash, n->hash, SHA256_DIGEST_LENGTH);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Looks the token hash up.  Returns NGX_OK with the verifying key's
 * fingerprint copied to fp, or NGX_DECLINED when absent or expired.
 */

ngx_int_t
ngx_http_gw_jwt_cache_lookup(ngx_shm_zone_t *zone, const u_char *hash,
    u_char *fp)
{
    ngx_int_t                      rc;
    ngx_http_gw_jwt_cache_t       *cache;
    ngx_http_gw_jwt_cache_node_t  *n;

    cache = zone->data;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&cache->shpool->mutex);

    n = ngx_http_gw_jwt_cache_find(cache, hash);

    if (n != NULL && n->expires > ngx_time()) {
        ngx_memcpy(fp, n->fp, GW_KEY_FP_LEN);
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&cache->sh->queue, &n->queue);
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    return rc;
}


/*
 * Drops up to n entries from the old end: expired ones, or any when now is
 * 0 (eviction for room).
 */

static void
ngx_http_gw_jwt_cache_expire(ngx_http_gw_jwt_cache_t *cache, ngx_uint_t n,
    time_t now)
{
    ngx_uint_t                     i;
    ngx_queue_t                   *q;
    ngx_http_gw_jwt_cache_node_t  *node;

    for (i = 0; i < n; i++) {

        if (ngx_queue_empty(&cache->sh->queue)) {
            return;
        }

        q = ngx_queue_last(&cache->sh->queue);
        node = ngx_queue_data(q, ngx_http_gw_jwt_cache_node_t, queue);

        if (now != 0 && node->expires > now) {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&cache->sh->rbtree, &node->node);
        ngx_slab_free_locked(cache->shpool, node);
    }
}


void
ngx_http_gw_jwt_cache_insert(ngx_shm_zone_t *zone, const u_char *hash,
    const u_char *fp, time_t expires)
{
    ngx_uint_t                     tries;
    ngx_http_gw_jwt_cache_t       *cache;
    ngx_http_gw_jwt_cache_node_t  *n;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    ngx_http_gw_jwt_cache_expire(cache, 2, ngx_time());

    n = ngx_http_gw_jwt_cache_find(cache, hash);

    if (n != NULL) {
        ngx_memcpy(n->fp, fp, GW_KEY_FP_LEN);
        n->expires = expires;
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&cache->sh->queue, &n->queue);
        goto done;
    }

    for (tries = 0; tries < 16; tries++) {
        n = ngx_slab_alloc_locked(cache->shpool,
                                  sizeof(ngx_http_gw_jwt_cache_node_t));
        if (n != NULL) {
            break;
        }

        ngx_http_gw_jwt_cache_expire(cache, 1, 0);
    }

    if (n == NULL) {
        goto done;
    }

    n->node.key = ngx_http_gw_jwt_cache_key(hash);
    n->expires = expires;
    ngx_memcpy(n->hash, hash, SHA256_DIGEST_LENGTH);
    ngx_memcpy(n->fp, fp, GW_KEY_FP_LEN);

    ngx_rbtree_insert(&cache->sh->rbtree, &n->node);
    ngx_queue_insert_head(&cache->sh->queue, &n->queue);

done:

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * The per-worker memo in front of the shared zone: the last parsed tokens
 * of this worker, so a repeated token also skips base64 and JSON parsing.
 * It is direct-mapped (a new token replaces whatever shared its slot), its
 * entries hold a copy of the exact token bytes, compared in full, the
 * parsed header and payload (shared by reference with the requests that
 * use them), the verifying key's fingerprint and the expiry; nothing in it
 * is trusted without the caller selecting a key with that fingerprint
 * again.  Tokens longer than NGX_HTTP_GW_JWT_MEMO_TOKEN_MAX are not kept,
 * which bounds the memo to about 2 MiB per worker.
 */

#define NGX_HTTP_GW_JWT_MEMO_SLOTS      512
#define NGX_HTTP_GW_JWT_MEMO_TOKEN_MAX  4096


typedef struct {
    u_char                 *token;
    size_t                  len;
    size_t                  size;           /* of the token buffer */
    time_t                  expires;
    gw_jws_t                jws;
    u_char                  fp[GW_KEY_FP_LEN];
} ngx_http_gw_jwt_memo_t;


static ngx_http_gw_jwt_memo_t  *ngx_http_gw_jwt_memo;


/*
 * The token's slot: a hash of all its bytes taken eight at a time (a
 * token is several hundred bytes and hashed on every request; a byte at
 * a time cost twice as much).  Only verified tokens are stored, so the
 * hash spreads them and need not resist a client's choices.
 */

static ngx_http_gw_jwt_memo_t *
ngx_http_gw_jwt_memo_slot(ngx_str_t *token)
{
    u_char    *p, *last;
    uint64_t   h, w;

    p = token->data;
    last = p + token->len;
    h = (uint64_t) token->len * 0x9e3779b97f4a7c15ULL;

    while (last - p >= 8) {
        ngx_memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += 8;
    }

    if (p < last) {
        w = 0;
        ngx_memcpy(&w, p, last - p);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
    }

    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 32;

    return &ngx_http_gw_jwt_memo[h % NGX_HTTP_GW_JWT_MEMO_SLOTS];
}


/*
 * Looks the exact token up.  On a hit, fills jws with references to the
 * parsed token (the caller frees them with gw_jws_free() as usual; the
 * signature is not kept) and fp with the verifying key's fingerprint.
 */

ngx_int_t
ngx_http_gw_jwt_memo_get(ngx_str_t *token, gw_jws_t *jws, u_char *fp)
{
    ngx_http_gw_jwt_memo_t  *m;

    if (ngx_http_gw_jwt_memo == NULL) {
        return NGX_DECLINED;
    }

    m = ngx_http_gw_jwt_memo_slot(token);

    if (m->token == NULL || m->len != token->len
        || m->expires <= ngx_time()
        || ngx_memcmp(m->token, token->data, token->len) != 0)
    {
        return NGX_DECLINED;
    }

    *jws = m->jws;

    /* kid and typ are copied with the jws: this request's, not the slot's */

    if (jws->kid != NULL) {
        jws->kid = jws->kid_buf;
    }

    if (jws->typ != NULL) {
        jws->typ = jws->typ_buf;
    }

    json_incref(jws->header);
    json_incref(jws->payload);
    ngx_memcpy(fp, m->fp, GW_KEY_FP_LEN);

    return NGX_OK;
}


void
ngx_http_gw_jwt_memo_put(ngx_log_t *log, ngx_str_t *token, gw_jws_t *jws,
    const u_char *fp, time_t expires)
{
    u_char                  *copy;
    ngx_http_gw_jwt_memo_t  *m;

    /* the memo keeps the tree: a plain payload's is built now */

    if (token->len > NGX_HTTP_GW_JWT_MEMO_TOKEN_MAX
        || gw_jws_payload(jws) == NULL)
    {
        return;
    }

    if (ngx_http_gw_jwt_memo == NULL) {
        ngx_http_gw_jwt_memo = ngx_calloc(NGX_HTTP_GW_JWT_MEMO_SLOTS
                                          * sizeof(ngx_http_gw_jwt_memo_t),
                                          log);
        if (ngx_http_gw_jwt_memo == NULL) {
            return;
        }
    }

    m = ngx_http_gw_jwt_memo_slot(token);

    if (m->size < token->len) {
        copy = ngx_alloc(token->len, log);
        if (copy == NULL) {
            return;
        }

        ngx_free(m->token);
        m->token = copy;
        m->size = token->len;
    }

    gw_jws_free(&m->jws);

    ngx_memcpy(m->token, token->data, token->len);
    m->len = token->len;
    m->expires = expires;
    ngx_memcpy(m->fp, fp, GW_KEY_FP_LEN);

    m->jws.alg = jws->alg;
    m->jws.kid = NULL;
    m->jws.kid_len = jws->kid_len;

    if (jws->kid != NULL) {
        ngx_memcpy(m->jws.kid_buf, jws->kid, jws->kid_len);
        m->jws.kid = m->jws.kid_buf;
    }

    /* the typ too: a location with gw_jwt_type checks it on a memo hit */

    m->jws.typ = NULL;
    m->jws.typ_len = jws->typ_len;
    m->jws.typ_other = jws->typ_other;

    if (jws->typ != NULL) {
        ngx_memcpy(m->jws.typ_buf, jws->typ, jws->typ_len);
        m->jws.typ = m->jws.typ_buf;
    }

    m->jws.header = json_incref(jws->header);
    m->jws.payload = json_incref(jws->payload);
}


/* frees the memo at worker exit, so leak checkers see a clean heap */

void
ngx_http_gw_jwt_memo_free(void)
{
    ngx_uint_t  i;

    if (ngx_http_gw_jwt_memo == NULL) {
        return;
    }

    for (i = 0; i < NGX_HTTP_GW_JWT_MEMO_SLOTS; i++) {
        gw_jws_free(&ngx_http_gw_jwt_memo[i].jws);
        ngx_free(ngx_http_gw_jwt_memo[i].token);
    }

    ngx_free(ngx_http_gw_jwt_memo);
    ngx_http_gw_jwt_memo = NULL;
}
