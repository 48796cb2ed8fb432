
/*
 * Copyright (C) Tollgate
 *
 * Global rate limits: every global limit of a request is decided by one
 * run of lib/limit's script in Redis (EVALSHA, then EVAL once on
 * NOSCRIPT: the shared client does both), pipelined with the worker's
 * other commands on its one connection.  So N gateways share each limit
 * exactly, on Redis' clock.  A request whose only global limit is a
 * rate or a quota joins the batch of its key instead
 * (ngx_http_gw_limit_batch.c, gw_limit_batch), decided with the worker's
 * other requests of that key.  The reply is checked strictly (shape, count,
 * integer types); anything else counts as Redis being unavailable, and the
 * caller falls back as gw_limit_redis_down says.
 *
 * Keys: gw:limit:<name>:<r|q|l>:<key> (lib/model/gw_model.h), a string
 * (rate: the TAT), a hash (quota: window, current and previous counts) or
 * a string holding a ring of times (an exact quota's log, gw_limit_log.h),
 * each expiring once its state is a fresh one again; a key longer than
 * gw_limit_key_max is gw:limit:<name>:<rh|qh|lh>:<its sha256-hex> instead.
 * A name holds no ':', so the byte after "<r|q|l>" tells the two forms apart
 * whatever the key's bytes.
 */


#include <math.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_limit.h"
#include "gw_model.h"
#include "gw_limit_log.h"


static void ngx_http_gw_limit_redis_handler(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);


ngx_int_t
ngx_http_gw_limit_redis_ask(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx)
{
    int                             argc, k, numkeys;
    u_char                         *p;
    size_t                         *argvlen;
    ngx_int_t                       rc;
    ngx_uint_t                      i, j;
    const char                    **argv;
    ngx_http_gw_limit_item_t       *it, *one;
    ngx_http_gw_limit_loc_conf_t   *lcf;
    ngx_http_gw_limit_main_conf_t  *lmcf;
    double                          nums[GW_LIMIT_SCRIPT_ARGS];

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_limit_module);

    one = NULL;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_GLOBAL) {
            continue;
        }

        if (ngx_http_gw_limit_redis_key(r, it) != NGX_OK) {
            return NGX_ERROR;
        }

        one = it;
    }

    /* one global limit: decided with the other requests of its key */

    if (ctx->nglobal == 1 && lcf->batch > 1) {
        rc = ngx_http_gw_limit_batch_join(r, ctx, one, lcf->batch);

        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    numkeys = (int) ctx->nglobal;
    argc = numkeys * (1 + GW_LIMIT_SCRIPT_ARGS);

    argv = ngx_palloc(r->pool, argc * sizeof(char *));
    argvlen = ngx_palloc(r->pool, argc * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    k = 0;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode == NGX_HTTP_GW_LIMIT_GLOBAL) {
            argv[k] = (const char *) it->redis_key.data;
            argvlen[k] = it->redis_key.len;
            k++;
        }
    }

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_GLOBAL) {
            continue;
        }

        nums[0] = it->rule.kind;
        nums[1] = it->rule.count;
        nums[2] = it->rule.period;
        nums[3] = it->rule.burst;
        nums[4] = it->rule.delay;

        for (j = 0; j < GW_LIMIT_SCRIPT_ARGS; j++) {
            p = ngx_pnalloc(r->pool, NGX_HTTP_GW_LIMIT_NUM_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }

            argv[k] = (const char *) p;
            argvlen[k] = ngx_http_gw_limit_redis_num(p, nums[j]);
            k++;
        }
    }

    return ngx_http_gw_redis_request_script(r, &lmcf->script,
                                            ngx_http_gw_limit_redis_handler,
                                            ctx, numkeys, argc, argv,
                                            argvlen);
}


ngx_int_t
ngx_http_gw_limit_redis_key(ngx_http_request_t *r,
    ngx_http_gw_limit_item_t *it)
{
    u_char  *p;
    size_t   len;

    /* gw:limit:<name>:<r|q|l>[h]:<key> */

    len = sizeof(GW_MODEL_LIMIT_PREFIX) - 1 + it->limit->name.len + 3
          + it->hashed + it->key.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    it->redis_key.data = p;
    it->redis_key.len = len;

    p = ngx_cpymem(p, GW_MODEL_LIMIT_PREFIX,
                   sizeof(GW_MODEL_LIMIT_PREFIX) - 1);
    p = ngx_cpymem(p, it->limit->name.data, it->limit->name.len);
    *p++ = ':';
    *p++ = (it->rule.kind == GW_LIMIT_RATE) ? 'r'
           : (it->rule.kind == GW_LIMIT_LOG) ? 'l' : 'q';

    if (it->hashed) {
        *p++ = 'h';
    }

    *p++ = ':';
    ngx_memcpy(p, it->key.data, it->key.len);

    return NGX_OK;
}


/*
 * A script's number: whole numbers (the usual case) without libc's float
 * formatting; both spellings read back as the same double.
 */

size_t
ngx_http_gw_limit_redis_num(u_char *p, double v)
{
    if (v >= 0 && v < 1e15 && v == floor(v)) {
        return ngx_http_gw_write_uint(p, (ngx_uint_t) v) - p;
    }

    return snprintf((char *) p, NGX_HTTP_GW_LIMIT_NUM_LEN, "%.17g", v);
}


/*
 * Records Redis' answer in the items: the reply must be an array of the
 * time and five integers per global limit, as the script returns.
 */

static void
ngx_http_gw_limit_redis_handler(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_limit_ctx_t *ctx = data;

    size_t                     i, k;
    ngx_str_t                  err;
    ngx_http_gw_limit_item_t  *it;
    u_char                     buf[NGX_HTTP_GW_LOG_SIZE];

    ctx->answered = 1;
    ctx->redis_status = status;

    if (status != NGX_HTTP_GW_REDIS_OK) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 1 + ctx->nglobal * GW_LIMIT_REPLY_ITEMS)
    {
        goto invalid;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_INTEGER) {
            goto invalid;
        }
    }

    ctx->redis_now = (double) reply->element[0]->integer;
    k = 1;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_GLOBAL) {
            continue;
        }

        it->res.admit = reply->element[k]->integer ? 1 : 0;
        it->res.remaining = (double) reply->element[k + 1]->integer;
        it->res.reset = (double) reply->element[k + 2]->integer;
        it->res.retry_after = (double) reply->element[k + 3]->integer;
        it->res.delay = (double) reply->element[k + 4]->integer;
        it->decided = 1;

        k += GW_LIMIT_REPLY_ITEMS;
    }

    return;

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gw_limit: unexpected reply from Redis to the limit "
                  "script%s%V",
                  reply->type == REDIS_REPLY_ERROR ? ": " : "",
                  ngx_http_gw_log_escape(&err, buf, (u_char *) reply->str,
                                         reply->type == REDIS_REPLY_ERROR
                                         ? (size_t) reply->len : 0));

    ctx->redis_status = NGX_HTTP_GW_REDIS_DOWN;
}
