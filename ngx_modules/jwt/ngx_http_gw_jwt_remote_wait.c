
/*
 * Copyright (C) Tollgate
 *
 * Requests that wait for keys (docs/jwt.md, "Remote keys"): the access
 * handler's hooks into the remote key sets.  Before a token is checked,
 * ngx_http_gw_jwt_remote_sync_keys() brings the location's remote sets up
 * to what the shared zone holds.  When no key fits the token,
 * ngx_http_gw_jwt_remote_missing() asks each remote set of the location
 * for a fetch (at most one per cooldown) and suspends the request.
 *
 * The key design decision: a waiting request holds no timer and no
 * connection of its own.  It goes on the worker's queue of waiters
 * (ngx_http_gw_jwt_remote_main_conf_t.waiters) with a deadline, its
 * write handler emptied, and its read handler set to notice a client
 * that goes away; the worker's tick, which runs every
 * NGX_HTTP_GW_JWT_TICK_WAIT ms while the queue is not empty, and the end
 * of every fetch call ngx_http_gw_jwt_remote_wake(), which runs the
 * phases of the request again, so the access handler checks the token
 * with whatever keys came.  A pool cleanup takes a finalized request off
 * the queue.  Each request waits once: the second time round it is
 * answered with the keys at hand.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt_remote.h"


/* a request that waits for a fetch */
typedef struct {
    ngx_queue_t                 queue;
    ngx_http_request_t         *r;
    ngx_msec_t                  deadline;
    ngx_http_event_handler_pt   read_event_handler;
    unsigned                    queued:1;
    unsigned                    watching:1;
} ngx_http_gw_jwt_remote_ctx_t;


static void ngx_http_gw_jwt_remote_cleanup(void *data);


static ngx_str_t  ngx_http_gw_jwt_retry_after = ngx_string("Retry-After");


/* runs the phases of waiting requests again: all, or those past due */

void
ngx_http_gw_jwt_remote_wake(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_uint_t all)
{
    ngx_queue_t                    *q, *next, ready;
    ngx_connection_t               *c;
    ngx_http_request_t             *r;
    ngx_http_gw_jwt_remote_ctx_t   *ctx;

    ngx_queue_init(&ready);

    for (q = ngx_queue_head(&rmcf->waiters);
         q != ngx_queue_sentinel(&rmcf->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_gw_jwt_remote_ctx_t, queue);

        if (all || (ngx_msec_int_t) (ngx_current_msec - ctx->deadline) >= 0)
        {
            ngx_queue_remove(q);
            ngx_queue_insert_tail(&ready, q);
        }
    }

    while (!ngx_queue_empty(&ready)) {
        q = ngx_queue_head(&ready);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_gw_jwt_remote_ctx_t, queue);
        ctx->queued = 0;
        r = ctx->r;
        c = r->connection;

        if (ctx->watching && r->read_event_handler == ngx_http_test_reading)
        {
            r->read_event_handler = ctx->read_event_handler;
        }

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_gw_jwt_remote_cleanup(void *data)
{
    ngx_http_gw_jwt_remote_ctx_t  *ctx = data;

    if (ctx->queued) {
        ngx_queue_remove(&ctx->queue);
        ctx->queued = 0;
    }
}


/* request hooks of the access handler (ngx_http_gw_jwt.h) */

void
ngx_http_gw_jwt_remote_sync_keys(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf)
{
    ngx_uint_t                            i;
    ngx_http_gw_jwt_keyfile_t           **kf;
    ngx_http_gw_jwt_remote_main_conf_t   *rmcf;

    kf = jlcf->keyfiles->elts;
    rmcf = NULL;

    for (i = 0; i < jlcf->keyfiles->nelts; i++) {
        if (kf[i]->remote == NULL) {
            continue;
        }

        if (rmcf == NULL) {
            rmcf = ngx_http_get_module_main_conf(r,
                                                ngx_http_gw_jwt_remote_module);
        }

        ngx_http_gw_jwt_remote_sync(rmcf, kf[i]->remote);
    }
}


/*
 * No key of the location fits the token.  The first time, each remote set
 * of the location is asked for a fetch (at most one per cooldown, or the
 * one in progress is joined): r then waits, NGX_AGAIN.  Else NGX_DECLINED
 * (the caller denies, 401), or, when the location has no key at all, a
 * 503 with Retry-After is sent (NGX_DONE).
 */

ngx_int_t
ngx_http_gw_jwt_remote_missing(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf)
{
    time_t                                retry, now;
    ngx_uint_t                            i, waiting, keys, remote;
    ngx_table_elt_t                      *h;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_gw_problem_t                 problem;
    ngx_http_gw_jwt_slot_t               *slot;
    ngx_http_gw_jwt_remote_t             *s;
    ngx_http_gw_jwt_keyfile_t           **kf;
    ngx_http_gw_jwt_remote_ctx_t         *ctx;
    ngx_http_gw_jwt_remote_main_conf_t   *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_jwt_remote_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_jwt_remote_module);

    kf = jlcf->keyfiles->elts;
    waiting = 0;
    keys = 0;
    remote = 0;
    retry = 0;
    now = ngx_time();

    for (i = 0; i < jlcf->keyfiles->nelts; i++) {
        keys += kf[i]->keys.nkeys;
        s = kf[i]->remote;

        if (s == NULL) {
            continue;
        }

        remote = 1;

        if (ctx == NULL
            && ngx_http_gw_jwt_remote_trigger(rmcf, s, 1) == NGX_AGAIN)
        {
            waiting = 1;
        }

        slot = &rmcf->zone->sh->slots[s->index];

        if (retry == 0 || slot->refresh_at - now < retry) {
            retry = slot->refresh_at - now;
        }
    }

    if (!remote) {
        return NGX_DECLINED;
    }

    if (waiting) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_jwt_remote_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_gw_jwt_remote_cleanup;
        cln->data = ctx;

        ctx->r = r;
        ctx->deadline = ngx_current_msec + 2 * rmcf->timeout + 1000;
        ctx->queued = 1;
        ngx_queue_insert_tail(&rmcf->waiters, &ctx->queue);
        ngx_http_set_ctx(r, ctx, ngx_http_gw_jwt_remote_module);

        if (r == r->main && r->read_event_handler == ngx_http_block_reading)
        {
            ctx->read_event_handler = r->read_event_handler;
            ctx->watching = 1;
            r->read_event_handler = ngx_http_test_reading;
        }

        r->write_event_handler = ngx_http_request_empty_handler;

        if (rmcf->tick.timer_set) {
            ngx_del_timer(&rmcf->tick);
        }

        ngx_add_timer(&rmcf->tick, NGX_HTTP_GW_JWT_TICK_WAIT);

        return NGX_AGAIN;
    }

    if (keys) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_jwt: no verification keys yet, request answered 503");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    retry = ngx_max(retry, 1);

    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_gw_jwt_retry_after;
    h->value.len = ngx_sprintf(h->value.data, "%T", retry) - h->value.data;

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:keys-unavailable";
    problem.title = "Verification keys unavailable";
    ngx_str_set(&problem.detail,
                "the keys that verify tokens could not be fetched yet");
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}
