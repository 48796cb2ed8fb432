
/*
 * Copyright (C) Tollgate
 *
 * Lease mode of global quotas (mode=lease, docs/limit.md): a gateway
 * takes several admissions of a quota from Redis at once (a lease, see
 * lib/limit/gw_limit_lease.h) and its workers spend them from shared
 * memory, so most requests cost no round trip; the limit is never
 * exceeded, since an admission is spent only after Redis counted it, in
 * the window it was counted in.
 *
 * The key design decision: one lease per key and gateway, in a zone of
 * its own (gw_limit_lease_zone), refilled by one request at a time.  A
 * request finding the lease empty while another refills it asks Redis
 * for itself alone, exactly as global mode does, rather than wait: no
 * queue across workers, and never more than one lease in flight.  A
 * lease's size adapts to the traffic: doubled when it ran out before its
 * end, cut to what was spent (at least 2) when it expired with some
 * left, always at most gw_limit_lease_max of the quota (1% by default)
 * divided by gw_limit_nodes, and at most half of what Redis has left, so
 * the last admissions of a window are given one by one.  A lease lives
 * until the TTL (gw_limit_lease_ttl) or its window's end, less a
 * millisecond, on this gateway's clock from the moment it was asked
 * (never later than on Redis' clock); its unspent admissions are then
 * given back to Redis, by the next request of that key or by a timer of
 * each worker.  When
 * Redis refuses, the refusal holds here until the Retry-After Redis gave
 * (no round trip per refused request).  A key the zone has no room for
 * is decided in Redis request by request.  When Redis is unavailable the
 * items become global ones that found Redis down: gw_limit_redis_down
 * decides, as for global mode.
 */


#include <math.h>

#include "ngx_http_gw_limit.h"
#include "gw_limit_lease.h"
#include "gw_model.h"


#define NGX_HTTP_GW_LIMIT_LEASE_TICK    100      /* ms: expired leases are
                                                    given back this often */
#define NGX_HTTP_GW_LIMIT_LEASE_MARGIN  1000.0   /* microseconds */
#define NGX_HTTP_GW_LIMIT_LEASE_FREE_MAX  64     /* entries looked at when
                                                    the zone has no room */
#define NGX_HTTP_GW_LIMIT_LEASE_NUM_LEN   24


/* one key's lease, in shared memory */
typedef struct {
    u_char                      color;
    u_char                      hashed;
    u_short                     len;
    ngx_queue_t                 queue;          /* LRU */
    ngx_queue_t                 held;           /* sh->held, while left */
    double                      expires;        /* local us: spend before */
    double                      window;         /* Redis' window index */
    double                      win_end;        /* local us: its end */
    double                      remaining;      /* Redis' after the lease */
    double                      refused;        /* local us: refused until */
    double                      refill;         /* local us: a refill was
                                                   asked, 0: none */
    uint32_t                    left;
    uint32_t                    granted;        /* the last lease's size */
    uint32_t                    want;           /* the next one's */
    uint32_t                    gen;            /* leases stored */
    unsigned                    ran_out:1;      /* before its end */
    u_char                      data[1];        /* name, NUL, key */
} ngx_http_gw_limit_lease_node_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 queue;
    ngx_queue_t                 held;
} ngx_http_gw_limit_lease_sh_t;


typedef struct {
    size_t                      size;
    ngx_shm_zone_t             *zone;
    ngx_http_gw_limit_lease_sh_t  *sh;
    ngx_slab_pool_t            *shpool;
    ngx_http_gw_redis_script_t  script;
    ngx_event_t                 timer;
} ngx_http_gw_limit_lease_main_conf_t;


typedef struct {
    ngx_msec_t                  ttl;
    ngx_uint_t                  share;          /* ten-thousandths */
} ngx_http_gw_limit_lease_loc_conf_t;


/* what one request does with one lease item */
typedef struct {
    double                      want;
    double                      give;
    double                      give_window;
    double                      back;           /* granted beyond need */
    double                      window;         /* of its admission */
    double                      granted;        /* Redis' answer */
    double                      remaining;
    double                      reset;
    double                      retry;
    double                      life;
    uint32_t                    gen;            /* spent from this lease */
    unsigned                    asking:1;
    unsigned                    refiller:1;
    unsigned                    spent:1;        /* from a lease */
    unsigned                    taken:1;        /* from Redis, alone */
    unsigned                    returned:1;
} ngx_http_gw_limit_lease_item_t;


struct ngx_http_gw_limit_lease_ctx_s {
    ngx_http_gw_limit_lease_item_t  *items;     /* as ctx->items */
    ngx_uint_t                  nasking;
    double                      ask;            /* local us, when sent */
    ngx_http_gw_redis_status_e  status;
    unsigned                    asked:1;
    unsigned                    answered:1;
    unsigned                    done:1;
};


static ngx_int_t ngx_http_gw_limit_lease_start(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_lease_ctx_t *lctx);
static ngx_int_t ngx_http_gw_limit_lease_ask(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_lease_ctx_t *lctx);
static void ngx_http_gw_limit_lease_handler(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_limit_lease_answer(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_lease_ctx_t *lctx);
static void ngx_http_gw_limit_lease_down(ngx_http_gw_limit_ctx_t *ctx,
    ngx_http_gw_limit_lease_ctx_t *lctx);
static ngx_http_gw_limit_lease_node_t *ngx_http_gw_limit_lease_lookup(
    ngx_http_gw_limit_lease_main_conf_t *llmcf,
    ngx_http_gw_limit_item_t *it, double now, ngx_uint_t create);
static void ngx_http_gw_limit_lease_drop(ngx_http_gw_limit_lease_node_t *e);
static void ngx_http_gw_limit_lease_give_back(
    ngx_http_gw_limit_lease_main_conf_t *llmcf, u_char *name, size_t nlen,
    u_char *key, size_t klen, ngx_uint_t hashed, double n, double window);
static size_t ngx_http_gw_limit_lease_key(u_char *buf, u_char *name,
    size_t nlen, u_char *key, size_t klen, ngx_uint_t hashed);
static size_t ngx_http_gw_limit_lease_num(u_char *buf, double v);
static double ngx_http_gw_limit_lease_now(void);
static void ngx_http_gw_limit_lease_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_gw_limit_lease_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gw_limit_lease_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static char *ngx_http_gw_limit_lease_max_slot(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_gw_limit_lease_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_limit_lease_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_limit_lease_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_gw_limit_lease_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_limit_lease_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gw_limit_lease_commands[] = {

    { ngx_string("gw_limit_lease_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_lease_main_conf_t, size),
      NULL },

    { ngx_string("gw_limit_lease_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_lease_loc_conf_t, ttl),
      NULL },

    { ngx_string("gw_limit_lease_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_limit_lease_max_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_limit_lease_loc_conf_t, share),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_limit_lease_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_limit_lease_init,          /* postconfiguration */

    ngx_http_gw_limit_lease_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_limit_lease_create_loc_conf, /* create location conf */
    ngx_http_gw_limit_lease_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_gw_limit_lease_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_limit_lease_module_ctx,   /* module context */
    ngx_http_gw_limit_lease_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_limit_lease_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_int_t
ngx_http_gw_limit_lease(ngx_http_request_t *r, ngx_http_gw_limit_ctx_t *ctx)
{
    ngx_int_t                       rc;
    ngx_http_gw_limit_lease_ctx_t  *lctx;

    lctx = ctx->lease;

    if (lctx == NULL) {
        lctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_limit_lease_ctx_t));
        if (lctx == NULL) {
            return NGX_ERROR;
        }

        lctx->items = ngx_pcalloc(r->pool, ctx->n
                                  * sizeof(ngx_http_gw_limit_lease_item_t));
        if (lctx->items == NULL) {
            return NGX_ERROR;
        }

        ctx->lease = lctx;

        rc = ngx_http_gw_limit_lease_start(r, ctx, lctx);
        if (rc != NGX_OK || lctx->nasking == 0) {
            lctx->done = (rc == NGX_OK);
            return rc;
        }

        lctx->asked = 1;

        rc = ngx_http_gw_limit_lease_ask(r, ctx, lctx);

        if (rc == NGX_AGAIN || rc == NGX_ERROR) {
            return rc;
        }

        /* Redis is down now, or too busy */

        lctx->answered = 1;
        lctx->status = NGX_HTTP_GW_REDIS_DOWN;
    }

    if (lctx->done) {
        return NGX_OK;
    }

    lctx->done = 1;

    if (lctx->status == NGX_HTTP_GW_REDIS_OK) {
        ngx_http_gw_limit_lease_answer(r, ctx, lctx);

    } else {
        ngx_http_gw_limit_lease_down(ctx, lctx);
    }

    return NGX_OK;
}


/*
 * Under the zone's lock: spends one admission of each item's lease, or
 * marks the item as asking Redis (the first to find a key's lease empty
 * refills it, the others ask for themselves alone); an expired lease's
 * unspent admissions go back with the ask.  An item Redis refused a
 * moment ago is refused here, and then nothing is spent from the others
 * (they stay undecided) and nobody asks.
 */

static ngx_int_t
ngx_http_gw_limit_lease_start(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_lease_ctx_t *lctx)
{
    double                                now, cap, stale;
    ngx_uint_t                            i, refused;
    ngx_http_gw_limit_item_t             *it;
    ngx_http_gw_redis_main_conf_t        *rmcf;
    ngx_http_gw_limit_lease_item_t       *li;
    ngx_http_gw_limit_lease_node_t       *e;
    ngx_http_gw_limit_loc_conf_t         *lcf;
    ngx_http_gw_limit_lease_loc_conf_t   *llcf;
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_limit_module);
    llcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_limit_lease_module);
    llmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_lease_module);
    rmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_redis_module);

    /* a refill not answered within twice the timeout has been forgotten */
    stale = 2000.0 * rmcf->timeout;

    now = ngx_http_gw_limit_lease_now();
    refused = 0;

    ngx_shmtx_lock(&llmcf->shpool->mutex);

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_LEASE) {
            continue;
        }

        e = ngx_http_gw_limit_lease_lookup(llmcf, it, now, 0);

        if (e != NULL && e->left == 0 && now < e->refused) {
            it->decided = 1;
            it->res.admit = 0;
            it->res.retry_after = e->refused - now;
            it->res.reset = ngx_max(e->win_end - now, 0);
            refused = 1;
        }
    }

    for (i = 0; i < ctx->n && !refused; i++) {
        it = &ctx->items[i];
        li = &lctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_LEASE) {
            continue;
        }

        e = ngx_http_gw_limit_lease_lookup(llmcf, it, now, 1);

        if (e == NULL) {
            li->want = 1;           /* no room: this request alone */
            li->asking = 1;
            lctx->nasking++;
            continue;
        }

        if (e->left > 0 && now < e->expires) {
            e->left--;

            if (e->left == 0) {
                ngx_http_gw_limit_lease_drop(e);
                e->ran_out = 1;
            }

            li->spent = 1;
            li->gen = e->gen;
            li->window = e->window;

            it->decided = 1;
            it->res.admit = 1;
            it->res.remaining = e->remaining + e->left;
            it->res.reset = ngx_max(e->win_end - now, 0);
            continue;
        }

        li->asking = 1;
        lctx->nasking++;

        if (e->refill != 0 && now - e->refill < stale) {
            li->want = 1;           /* another request refills it */
            continue;
        }

        /* this request refills the lease: its next size first */

        if (e->left > 0) {
            li->give = e->left;
            li->give_window = e->window;
            e->want = e->granted - e->left;
            e->left = 0;
            ngx_http_gw_limit_lease_drop(e);

        } else if (e->ran_out) {
            e->want = 2 * ngx_max(e->granted, 1);
        }

        cap = gw_limit_lease_max(it->rule.count, (unsigned) llcf->share,
                                 (unsigned) lcf->nodes);

        /* at least 2: a lease of 1 would hold nothing to learn from */
        e->want = (uint32_t) ngx_min(ngx_max(e->want, 2), cap);
        e->refill = now;

        li->want = e->want;
        li->refiller = 1;
    }

    ngx_shmtx_unlock(&llmcf->shpool->mutex);

    if (refused) {
        lctx->nasking = 0;
    }

    return NGX_OK;
}


/* one script run for every asking item: its give-back and its lease */

static ngx_int_t
ngx_http_gw_limit_lease_ask(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_lease_ctx_t *lctx)
{
    int                                   argc, k, numkeys;
    u_char                               *p;
    size_t                               *argvlen;
    ngx_uint_t                            i, j;
    const char                          **argv;
    ngx_http_gw_limit_item_t             *it;
    ngx_http_gw_limit_lease_item_t       *li;
    ngx_http_gw_limit_lease_loc_conf_t   *llcf;
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;
    double                                nums[GW_LIMIT_LEASE_ARGS];

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_limit_lease_module);
    llmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_lease_module);

    numkeys = (int) lctx->nasking;
    argc = numkeys * (1 + GW_LIMIT_LEASE_ARGS);

    argv = ngx_palloc(r->pool, argc * sizeof(char *));
    argvlen = ngx_palloc(r->pool, argc * sizeof(size_t));
    p = ngx_pnalloc(r->pool, numkeys * GW_LIMIT_LEASE_ARGS
                             * NGX_HTTP_GW_LIMIT_LEASE_NUM_LEN);
    if (argv == NULL || argvlen == NULL || p == NULL) {
        return NGX_ERROR;
    }

    k = numkeys;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];
        li = &lctx->items[i];

        if (!li->asking) {
            continue;
        }

        nums[0] = it->rule.count;
        nums[1] = it->rule.period;
        nums[2] = li->want;
        nums[3] = llcf->ttl * 1000.0;
        nums[4] = li->give;
        nums[5] = li->give_window;

        for (j = 0; j < GW_LIMIT_LEASE_ARGS; j++) {
            argv[k] = (const char *) p;
            argvlen[k] = ngx_http_gw_limit_lease_num(p, nums[j]);
            p += NGX_HTTP_GW_LIMIT_LEASE_NUM_LEN;
            k++;
        }
    }

    k = 0;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (!lctx->items[i].asking) {
            continue;
        }

        p = ngx_pnalloc(r->pool, sizeof(GW_MODEL_LIMIT_PREFIX) + 4
                                 + it->limit->name.len + it->key.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        argv[k] = (const char *) p;
        argvlen[k] = ngx_http_gw_limit_lease_key(p, it->limit->name.data,
                                                 it->limit->name.len,
                                                 it->key.data, it->key.len,
                                                 it->hashed);
        k++;
    }

    lctx->ask = ngx_http_gw_limit_lease_now();

    return ngx_http_gw_redis_request_script(r, &llmcf->script,
                                            ngx_http_gw_limit_lease_handler,
                                            ctx, numkeys, argc, argv,
                                            argvlen);
}


/* records the answer: the time, then six integers per asking item */

static void
ngx_http_gw_limit_lease_handler(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_limit_ctx_t *ctx = data;

    size_t                           i, k;
    ngx_http_gw_limit_lease_ctx_t   *lctx;
    ngx_http_gw_limit_lease_item_t  *li;

    lctx = ctx->lease;
    lctx->answered = 1;
    lctx->status = status;

    if (status != NGX_HTTP_GW_REDIS_OK) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 1 + lctx->nasking * GW_LIMIT_LEASE_ITEMS)
    {
        goto invalid;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            goto invalid;
        }
    }

    k = 1;

    for (i = 0; i < ctx->n; i++) {
        li = &lctx->items[i];

        if (!li->asking) {
            continue;
        }

        li->granted = (double) reply->element[k]->integer;
        li->remaining = (double) reply->element[k + 1]->integer;
        li->reset = (double) reply->element[k + 2]->integer;
        li->retry = (double) reply->element[k + 3]->integer;
        li->life = (double) reply->element[k + 4]->integer;
        li->window = (double) reply->element[k + 5]->integer;

        if (li->granted < 0 || li->granted > li->want) {
            goto invalid;
        }

        k += GW_LIMIT_LEASE_ITEMS;
    }

    return;

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gw_limit: unexpected reply from Redis to the lease "
                  "script%s%*s",
                  reply->type == REDIS_REPLY_ERROR ? ": " : "",
                  reply->type == REDIS_REPLY_ERROR ? (size_t) reply->len : 0,
                  reply->type == REDIS_REPLY_ERROR ? (u_char *) reply->str
                                                   : (u_char *) "");

    lctx->status = NGX_HTTP_GW_REDIS_DOWN;
}


/*
 * Redis answered: when every asking item was granted, each refiller
 * stores its lease (less the admission of this request); an item Redis
 * refused is refused here until its Retry-After; when one was refused,
 * nothing was taken in Redis, and what this request spent from leases
 * goes back to them.
 */

static void
ngx_http_gw_limit_lease_answer(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_lease_ctx_t *lctx)
{
    double                                now, extra, expires;
    ngx_uint_t                            i, all;
    ngx_http_gw_limit_item_t             *it;
    ngx_http_gw_limit_lease_item_t       *li;
    ngx_http_gw_limit_lease_node_t       *e;
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    llmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_lease_module);

    all = 1;

    for (i = 0; i < ctx->n; i++) {
        if (lctx->items[i].asking && lctx->items[i].granted < 1) {
            all = 0;
        }
    }

    now = ngx_http_gw_limit_lease_now();

    ngx_shmtx_lock(&llmcf->shpool->mutex);

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];
        li = &lctx->items[i];

        if (!li->asking) {
            continue;
        }

        it->decided = 1;
        it->res.reset = li->reset;

        e = ngx_http_gw_limit_lease_lookup(llmcf, it, now, 0);

        if (e != NULL && li->refiller) {
            e->refill = 0;
        }

        if (li->granted < 1) {
            it->res.admit = 0;
            it->res.retry_after = li->retry;

            if (e != NULL) {
                e->refused = lctx->ask + li->retry;
                e->win_end = lctx->ask + li->reset;
            }

            continue;
        }

        it->res.admit = 1;

        if (!all) {
            it->res.remaining = li->remaining + li->granted;
            continue;
        }

        it->res.remaining = li->remaining + li->granted - 1;
        li->taken = 1;

        extra = li->granted - 1;
        expires = lctx->ask + li->life - NGX_HTTP_GW_LIMIT_LEASE_MARGIN;

        if (e == NULL || !li->refiller || extra < 1 || e->left > 0
            || expires <= now)
        {
            if (extra >= 1) {
                li->back = extra;       /* after the unlock */
            }

            continue;
        }

        e->left = (uint32_t) extra;
        e->granted = (uint32_t) li->granted;
        e->window = li->window;
        e->expires = expires;
        e->win_end = lctx->ask + li->reset;
        e->remaining = li->remaining;
        e->refused = 0;
        e->ran_out = 0;
        e->gen++;

        ngx_queue_insert_tail(&llmcf->sh->held, &e->held);

        /* the request's own admission counts as one spent from it */
        li->taken = 0;
        li->spent = 1;
        li->gen = e->gen;
    }

    ngx_shmtx_unlock(&llmcf->shpool->mutex);

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];
        li = &lctx->items[i];

        if (li->back >= 1) {
            ngx_http_gw_limit_lease_give_back(llmcf, it->limit->name.data,
                                              it->limit->name.len,
                                              it->key.data, it->key.len,
                                              it->hashed, li->back,
                                              li->window);
        }
    }

    if (!all) {
        ngx_http_gw_limit_lease_unspend(r, ctx);
    }
}


/*
 * Redis is unavailable: the asking items become global ones that found it
 * so (gw_limit_redis_down decides them); what was spent from leases
 * stands, it was counted in Redis before.
 */

static void
ngx_http_gw_limit_lease_down(ngx_http_gw_limit_ctx_t *ctx,
    ngx_http_gw_limit_lease_ctx_t *lctx)
{
    ngx_uint_t  i;

    for (i = 0; i < ctx->n; i++) {
        if (lctx->items[i].asking) {
            lctx->items[i].asking = 0;
            ctx->items[i].mode = NGX_HTTP_GW_LIMIT_GLOBAL;
            ctx->nglobal++;
        }
    }

    ctx->asked = 1;
    ctx->answered = 1;
    ctx->redis_status = lctx->status;
}


void
ngx_http_gw_limit_lease_unspend(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx)
{
    double                                now;
    ngx_uint_t                            i;
    ngx_http_gw_limit_item_t             *it;
    ngx_http_gw_limit_lease_ctx_t        *lctx;
    ngx_http_gw_limit_lease_item_t       *li;
    ngx_http_gw_limit_lease_node_t       *e;
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    lctx = ctx->lease;

    if (lctx == NULL) {
        return;
    }

    llmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_lease_module);
    now = ngx_http_gw_limit_lease_now();

    ngx_shmtx_lock(&llmcf->shpool->mutex);

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];
        li = &lctx->items[i];

        if (!li->spent || li->returned) {
            continue;
        }

        e = ngx_http_gw_limit_lease_lookup(llmcf, it, now, 0);

        if (e != NULL && e->gen == li->gen && now < e->expires) {
            if (e->left++ == 0) {
                ngx_queue_insert_tail(&llmcf->sh->held, &e->held);
            }

            li->returned = 1;

        } else {
            li->taken = 1;      /* that lease is gone: to Redis */
        }
    }

    ngx_shmtx_unlock(&llmcf->shpool->mutex);

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];
        li = &lctx->items[i];

        if (li->taken && !li->returned) {
            li->returned = 1;
            ngx_http_gw_limit_lease_give_back(llmcf, it->limit->name.data,
                                              it->limit->name.len,
                                              it->key.data, it->key.len,
                                              it->hashed, 1, li->window);
        }
    }
}


/*
 * Finds a key's lease, moved to the hot end of the queue; with create,
 * makes it when missing (NULL when there is no room without forgetting a
 * lease that holds admissions or is being refilled).  Called locked.
 */

static ngx_http_gw_limit_lease_node_t *
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

static void
ngx_http_gw_limit_lease_drop(ngx_http_gw_limit_lease_node_t *e)
{
    ngx_queue_remove(&e->held);
}


/* n admissions taken in window go back to Redis; nobody waits for it */

static void
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

static size_t
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

static size_t
ngx_http_gw_limit_lease_num(u_char *buf, double v)
{
    if (v < 0) {
        v = 0;
    }

    return ngx_sprintf(buf, "%uL", (uint64_t) floor(v)) - buf;
}


/* microseconds since the epoch, read now, not nginx's cached time: a
   lease's end is checked to the microsecond */

static double
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

static void
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


static ngx_int_t
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


/* gw_limit_lease_max N%: 0.01% to 100%, kept in ten-thousandths */

static char *
ngx_http_gw_limit_lease_max_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gw_limit_lease_loc_conf_t *llcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (llcf->share != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = NGX_ERROR;

    if (value[1].len > 1 && value[1].data[value[1].len - 1] == '%') {
        n = ngx_atofp(value[1].data, value[1].len - 1, 2);
    }

    if (n == NGX_ERROR || n < 1 || n > 10000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_lease_max: invalid \"%V\", a share of "
                           "the limit from 0.01%% to 100%%, e.g. 1%%",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    llcf->share = (ngx_uint_t) n;

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_limit_lease_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    llmcf = ngx_pcalloc(cf->pool,
                        sizeof(ngx_http_gw_limit_lease_main_conf_t));
    if (llmcf == NULL) {
        return NULL;
    }

    llmcf->size = NGX_CONF_UNSET_SIZE;

    return llmcf;
}


static void *
ngx_http_gw_limit_lease_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_limit_lease_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_limit_lease_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->ttl = NGX_CONF_UNSET_MSEC;
    conf->share = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_gw_limit_lease_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gw_limit_lease_loc_conf_t *prev = parent;
    ngx_http_gw_limit_lease_loc_conf_t *conf = child;

    ngx_conf_merge_msec_value(conf->ttl, prev->ttl, 1000);
    ngx_conf_merge_uint_value(conf->share, prev->share, 100);

    if (conf->ttl < 10 || conf->ttl > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_lease_ttl: 10ms to 60s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* with a lease limit: the zone (1 MB by default) and the script */

static ngx_int_t
ngx_http_gw_limit_lease_init(ngx_conf_t *cf)
{
    ngx_str_t                             name;
    ngx_http_gw_limit_main_conf_t        *lmcf;
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_limit_module);
    llmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_gw_limit_lease_module);

    if (!lmcf->lease) {
        return NGX_OK;
    }

    if (llmcf->size == NGX_CONF_UNSET_SIZE) {
        llmcf->size = 1024 * 1024;
    }

    if (llmcf->size < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit_lease_zone: at least %uzk",
                           8 * ngx_pagesize / 1024);
        return NGX_ERROR;
    }

    ngx_str_set(&name, "gw_limit_lease");

    llmcf->zone = ngx_shared_memory_add(cf, &name, llmcf->size,
                                        &ngx_http_gw_limit_lease_module);
    if (llmcf->zone == NULL) {
        return NGX_ERROR;
    }

    llmcf->zone->init = ngx_http_gw_limit_lease_zone_init;
    llmcf->zone->data = llmcf;

    llmcf->script.text.data = (u_char *) gw_limit_lease_script;
    llmcf->script.text.len = ngx_strlen(gw_limit_lease_script);

    if (ngx_http_gw_redis_script_init(cf, &llmcf->script) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_limit: mode=lease needs gw_redis");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_limit_lease_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_limit_lease_main_conf_t  *llmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    llmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                ngx_http_gw_limit_lease_module);

    if (llmcf == NULL || llmcf->zone == NULL) {
        return NGX_OK;
    }

    llmcf->timer.handler = ngx_http_gw_limit_lease_tick;
    llmcf->timer.data = llmcf;
    llmcf->timer.log = cycle->log;
    llmcf->timer.cancelable = 1;

    ngx_add_timer(&llmcf->timer, NGX_HTTP_GW_LIMIT_LEASE_TICK);

    return NGX_OK;
}
