
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
#include "ngx_http_gw_limit_lease.h"
#include "gw_model.h"


#define NGX_HTTP_GW_LIMIT_LEASE_MARGIN  1000.0   /* microseconds */


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
