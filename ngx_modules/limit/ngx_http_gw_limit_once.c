
/*
 * Copyright (C) Tollgate
 *
 * A request is counted once (docs/limit.md, "Counted once"):
 *
 *   - across internal redirects.  nginx clears a request's module
 *     contexts when it redirects it (error_page, try_files, a named
 *     location), so the decision is also hung off the request's pool as
 *     a cleanup record of our own, which a redirect leaves alone: a
 *     location reached afterwards finds it, takes the decision back as
 *     its context (so the answer still carries the fields and
 *     $gw_limit_status of the limits that decided) and limits nothing
 *     again.
 *
 *   - across local and global limits.  The local limits of a request that
 *     also has global ones are first decided without taking anything:
 *     when one refuses, Redis is not asked at all.  When all admit, Redis
 *     decides the global ones, and only then are the local ones decided
 *     again and taken, or left as they were if a global one refused.  A
 *     local refusal at that point (a concurrent request took the local
 *     room while Redis was deciding) gives back what the global limits
 *     took, with the give back script (gw_limit_refund.c), sent without
 *     waiting for its answer.
 */


#include "ngx_http_gw_limit.h"
#include "gw_limit_log.h"
#include "gw_model.h"


static void ngx_http_gw_limit_once_cleanup(void *data);


/* the record's mark: its handler, which forgets the decision */

static void
ngx_http_gw_limit_once_cleanup(void *data)
{
    ngx_http_gw_limit_ctx_t **ctxp = data;

    *ctxp = NULL;
}


ngx_int_t
ngx_http_gw_limit_once_mark(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_gw_limit_ctx_t  **ctxp;

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_gw_limit_ctx_t *));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ctxp = cln->data;
    *ctxp = ctx;
    cln->handler = ngx_http_gw_limit_once_cleanup;

    return NGX_OK;
}


ngx_http_gw_limit_ctx_t *
ngx_http_gw_limit_once_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_gw_limit_once_cleanup) {
            return *(ngx_http_gw_limit_ctx_t **) cln->data;
        }
    }

    return NULL;
}


/*
 * The local limits of ctx decided without taking anything, before Redis
 * is asked.  NGX_OK: all admit (or have no room and may pass), ask Redis;
 * NGX_DECLINED: one refused, or has no room and may not pass: answer
 * without asking (its decided items say which).
 */

ngx_int_t
ngx_http_gw_limit_once_probe(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_uint_t allow, double now)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i, refused;
    ngx_http_gw_limit_item_t  *it;

    rc = ngx_http_gw_limit_zone_decide(r, ctx->items, ctx->n, 0, 1, 1,
                                       allow, now);

    if (rc != NGX_OK && !allow) {
        return NGX_DECLINED;
    }

    refused = 0;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_GLOBAL && it->decided
            && !it->res.admit)
        {
            refused = 1;
        }
    }

    if (refused) {
        return NGX_DECLINED;
    }

    /*
     * decided again, and taken, once Redis has answered; lease items were
     * decided (and spent) before, from their leases, and stay so
     */

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode == NGX_HTTP_GW_LIMIT_LOCAL) {
            it->decided = 0;
            ngx_memzero(&it->res, sizeof(gw_limit_result_t));
        }
    }

    return NGX_OK;
}


/*
 * Gives back what Redis' admission took for every global limit of ctx,
 * since a local limit refused the request after all: the give back
 * script, sent without waiting (its failure leaves the global limits
 * tighter, never looser).  The items' results then say the request took
 * nothing.
 */

void
ngx_http_gw_limit_once_give_back(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx)
{
    int                             argc, k, numkeys;
    u_char                         *p;
    size_t                         *argvlen, len;
    ngx_uint_t                      i;
    const char                    **argv;
    ngx_http_gw_limit_item_t       *it;
    ngx_http_gw_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_limit_module);

    numkeys = 0;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode == NGX_HTTP_GW_LIMIT_GLOBAL && it->decided
            && it->res.admit && !it->degraded)
        {
            numkeys++;
        }
    }

    if (numkeys == 0) {
        return;
    }

    argc = numkeys * (1 + GW_LIMIT_REFUND_ARGS) + 1;

    argv = ngx_palloc(r->pool, argc * sizeof(char *));
    argvlen = ngx_palloc(r->pool, argc * sizeof(size_t));
    p = ngx_pnalloc(r->pool, (argc - numkeys) * NGX_HTTP_GW_LIMIT_NUM_LEN);
    if (argv == NULL || argvlen == NULL || p == NULL) {
        return;
    }

    k = 0;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_GLOBAL || !it->decided
            || !it->res.admit || it->degraded)
        {
            continue;
        }

        argv[k] = (const char *) it->redis_key.data;
        argvlen[k++] = it->redis_key.len;
    }

    argv[k] = (const char *) p;
    len = ngx_sprintf(p, "%uL", (uint64_t) ctx->redis_now) - p;
    argvlen[k++] = len;
    p += NGX_HTTP_GW_LIMIT_NUM_LEN;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (it->mode != NGX_HTTP_GW_LIMIT_GLOBAL || !it->decided
            || !it->res.admit || it->degraded)
        {
            continue;
        }

        argv[k] = (const char *) p;
        argvlen[k++] = ngx_sprintf(p, "%d", it->rule.kind) - p;
        p += NGX_HTTP_GW_LIMIT_NUM_LEN;

        argv[k] = (const char *) p;
        argvlen[k++] = snprintf((char *) p, NGX_HTTP_GW_LIMIT_NUM_LEN,
                                "%.17g", it->rule.count);
        p += NGX_HTTP_GW_LIMIT_NUM_LEN;

        argv[k] = (const char *) p;
        argvlen[k++] = snprintf((char *) p, NGX_HTTP_GW_LIMIT_NUM_LEN,
                                "%.17g", it->rule.period);
        p += NGX_HTTP_GW_LIMIT_NUM_LEN;

        if (it->rule.kind == GW_LIMIT_LOG) {
            gw_limit_log_unconsumed(&it->rule, &it->res);

        } else {
            gw_limit_unconsumed(&it->rule, &it->res);
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_limit: a local limit refused what Redis admitted: %d "
                  "global admissions given back", numkeys);

    if (ngx_http_gw_redis_command_script(&lmcf->refund, NULL, NULL, numkeys,
                                         argc, argv, argvlen)
        == NGX_ERROR)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_limit: the give back of global limits could not "
                      "be sent");
    }
}
