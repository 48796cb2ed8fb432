
/*
 * Copyright (C) Tollgate
 *
 * Health of gw_upstream's targets (docs/routing.md, "gw_upstream"), kept
 * in the snapshot's health slots so that every worker agrees.
 *
 * Passive: each failed try of a target (what proxy_next_upstream calls
 * an error, a timeout or a counted status) adds to the slot's "fails";
 * max_fails of them within fail_window_ms take the target out until
 * fail_timeout_ms later; then it is back, with a new window.  The counts
 * are atomic operations on the slot; two workers racing at a window's
 * edge may lose a count, never take a target out for nothing.
 *
 * Active: the builder worker (ngx_http_gw_config_is_builder(), one per
 * gateway) sends "GET check_path" to every target of every upstream that
 * has health_check, every check_interval_ms, non-blocking; a 2xx or 3xx
 * status line within check_timeout_ms is a success, anything else a
 * failure.  check_unhealthy failures in a row take the target out,
 * check_healthy successes in a row bring it back ("active_down" and
 * "active_count" of the slot; only the builder writes them).  Every
 * worker runs the tick; it does nothing but re-arm where this worker is
 * not the builder.  A result is applied to the target as the snapshot
 * current at that time has it (found again by upstream id and address),
 * so a check that outlives a change cannot touch another target's slot.
 * This file keeps the schedule and the verdicts; the HTTP exchange of
 * one check is ngx_http_gw_upstream_check.c's.
 *
 * Snapshots are pinned through ngx_http_gw_snapshot_get(), which takes
 * a request: the tick and each result use a minimal request of their own
 * whose pool's destruction releases the pin.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_upstream.h"


static void ngx_http_gw_upstream_tick(ngx_event_t *ev);
static void ngx_http_gw_upstream_check_all(ngx_log_t *log);
static ngx_http_gw_check_node_t *ngx_http_gw_upstream_check_node(
    ngx_str_t *key, ngx_log_t *log);
static ngx_http_gw_snap_t *ngx_http_gw_upstream_pin(ngx_pool_t *pool);
static void ngx_http_gw_upstream_check_forget(ngx_uint_t all);


static ngx_event_t        ngx_http_gw_upstream_tick_ev;
static ngx_connection_t   ngx_http_gw_upstream_tick_conn;
static ngx_uint_t         ngx_http_gw_upstream_ticks;

static ngx_rbtree_t       ngx_http_gw_check_tree;
static ngx_rbtree_node_t  ngx_http_gw_check_sentinel;
static ngx_queue_t        ngx_http_gw_check_nodes;


ngx_uint_t
ngx_http_gw_upstream_target_up(ngx_http_gw_snap_upstream_t *up,
    ngx_http_gw_snap_health_t *h, ngx_msec_t now)
{
    /* a slot's active verdict counts only while the upstream checks */
    if (up->check_interval_ms != 0 && h->active_down) {
        return 0;
    }

    if (up->max_fails != 0
        && (ngx_msec_int_t) (h->down_until_ms - now) > 0)
    {
        return 0;
    }

    return 1;
}


void
ngx_http_gw_upstream_passive_fail(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t,
    ngx_log_t *log)
{
    ngx_msec_t                  now;
    ngx_atomic_t                start;
    ngx_atomic_uint_t           fails;
    ngx_http_gw_snap_health_t  *h;

    if (up->max_fails == 0) {
        return;
    }

    h = ngx_http_gw_snapshot_health(snap, t);
    now = ngx_current_msec;

    if ((ngx_msec_int_t) (h->down_until_ms - now) > 0) {
        /* already out: a try that was in flight */
        return;
    }

    /* a new window when the last one is over */
    start = h->window_start_ms;

    if (now - start >= up->fail_window_ms
        && ngx_atomic_cmp_set(&h->window_start_ms, start, now))
    {
        h->fails = 0;
    }

    fails = ngx_atomic_fetch_add(&h->fails, 1) + 1;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "gw_upstream: target %s of upstream \"%s\" failed "
                  "(%uA of %uD within %uD ms)",
                  ngx_http_gw_snap_string(snap, t->address),
                  ngx_http_gw_snap_string(snap, up->id), fails,
                  up->max_fails, up->fail_window_ms);

    /* exactly one of the racing workers sees max_fails */
    if (fails != up->max_fails) {
        return;
    }

    h->down_until_ms = now + up->fail_timeout_ms;
    h->fails = 0;

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "gw_upstream: target %s of upstream \"%s\" is out for "
                  "%uD ms after %uD failures",
                  ngx_http_gw_snap_string(snap, t->address),
                  ngx_http_gw_snap_string(snap, up->id),
                  up->fail_timeout_ms, up->max_fails);
}


ngx_int_t
ngx_http_gw_upstream_health_init(ngx_cycle_t *cycle)
{
    ngx_rbtree_init(&ngx_http_gw_check_tree, &ngx_http_gw_check_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ngx_http_gw_check_nodes);

    ngx_http_gw_upstream_tick_conn.fd = (ngx_socket_t) -1;

    ngx_http_gw_upstream_tick_ev.handler = ngx_http_gw_upstream_tick;
    ngx_http_gw_upstream_tick_ev.data = &ngx_http_gw_upstream_tick_conn;
    ngx_http_gw_upstream_tick_ev.log = cycle->log;
    ngx_http_gw_upstream_tick_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_gw_upstream_tick_ev, NGX_HTTP_GW_UPSTREAM_TICK);

    return NGX_OK;
}


static void
ngx_http_gw_upstream_tick(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_http_gw_upstream_check_forget(1);
        return;
    }

    if (ngx_http_gw_config_is_builder()) {
        ngx_http_gw_upstream_check_all(ev->log);

    } else if (!ngx_queue_empty(&ngx_http_gw_check_nodes)) {
        /* no longer the builder: its schedule goes */
        ngx_http_gw_upstream_check_forget(1);
    }

    ngx_add_timer(ev, NGX_HTTP_GW_UPSTREAM_TICK);
}


/* one tick of the builder: starts the checks that are due */
static void
ngx_http_gw_upstream_check_all(ngx_log_t *log)
{
    u_char                       *p;
    ngx_str_t                     key;
    ngx_uint_t                    i, j;
    ngx_pool_t                   *pool;
    ngx_msec_t                    now;
    ngx_http_gw_snap_t           *snap;
    ngx_http_gw_check_node_t     *node;
    ngx_http_gw_snap_target_t    *targets;
    ngx_http_gw_snap_upstream_t  *ups, *up;
    u_char                        buf[NGX_MAX_ERROR_STR];

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return;
    }

    snap = ngx_http_gw_upstream_pin(pool);

    if (snap == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_http_gw_upstream_ticks++;
    now = ngx_current_msec;
    ups = ngx_http_gw_snap_upstreams(snap);

    for (i = 0; i < snap->nupstreams; i++) {
        up = &ups[i];

        if (up->check_interval_ms == 0 || up->check_path.len == 0) {
            continue;
        }

        targets = ngx_http_gw_snap_ptr(snap, up->targets);

        for (j = 0; j < up->ntargets; j++) {
            if (up->id.len + targets[j].address.len + 1 > sizeof(buf)) {
                continue;
            }

            p = ngx_cpymem(buf, ngx_http_gw_snap_string(snap, up->id),
                           up->id.len);
            *p++ = ' ';
            p = ngx_cpymem(p, ngx_http_gw_snap_string(snap,
                                                      targets[j].address),
                           targets[j].address.len);

            key.data = buf;
            key.len = p - buf;

            node = ngx_http_gw_upstream_check_node(&key, log);
            if (node == NULL) {
                continue;
            }

            node->tick = ngx_http_gw_upstream_ticks;

            if (node->busy || (ngx_msec_int_t) (node->due - now) > 0) {
                continue;
            }

            node->due = now + up->check_interval_ms;
            ngx_http_gw_upstream_check_start(snap, up, &targets[j], node,
                                             log);
        }
    }

    ngx_destroy_pool(pool);

    /* targets no longer checked */
    ngx_http_gw_upstream_check_forget(0);
}


/* the schedule of key, made due now when new; NULL on no memory */
static ngx_http_gw_check_node_t *
ngx_http_gw_upstream_check_node(ngx_str_t *key, ngx_log_t *log)
{
    u_char                    *m;
    uint32_t                   hash;
    ngx_str_node_t            *sn;
    ngx_http_gw_check_node_t  *node;

    hash = ngx_crc32_short(key->data, key->len);

    sn = ngx_str_rbtree_lookup(&ngx_http_gw_check_tree, key, hash);
    if (sn != NULL) {
        return (ngx_http_gw_check_node_t *) sn;
    }

    m = ngx_alloc(sizeof(ngx_http_gw_check_node_t) + key->len, log);
    if (m == NULL) {
        return NULL;
    }

    node = (ngx_http_gw_check_node_t *) m;
    ngx_memzero(node, sizeof(ngx_http_gw_check_node_t));

    node->sn.str.len = key->len;
    node->sn.str.data = m + sizeof(ngx_http_gw_check_node_t);
    ngx_memcpy(node->sn.str.data, key->data, key->len);
    node->sn.node.key = hash;
    node->due = ngx_current_msec;

    ngx_rbtree_insert(&ngx_http_gw_check_tree, &node->sn.node);
    ngx_queue_insert_tail(&ngx_http_gw_check_nodes, &node->queue);

    return node;
}


/* frees the schedules not seen by the last tick (all: every one); one
   with a check in flight goes when its check ends */
static void
ngx_http_gw_upstream_check_forget(ngx_uint_t all)
{
    ngx_queue_t               *q, *next;
    ngx_http_gw_check_node_t  *node;

    for (q = ngx_queue_head(&ngx_http_gw_check_nodes);
         q != ngx_queue_sentinel(&ngx_http_gw_check_nodes);
         q = next)
    {
        next = ngx_queue_next(q);
        node = ngx_queue_data(q, ngx_http_gw_check_node_t, queue);

        if (!all && node->tick == ngx_http_gw_upstream_ticks) {
            continue;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ngx_http_gw_check_tree, &node->sn.node);

        if (node->busy) {
            node->gone = 1;
            continue;
        }

        ngx_free(node);
    }
}


/*
 * Counts a result on the target as the current snapshot has it (by
 * upstream id and address): check_unhealthy failures in a row take it
 * out, check_healthy successes in a row bring it back.
 */
void
ngx_http_gw_upstream_check_apply(ngx_str_t *upstream, ngx_str_t *name,
    ngx_uint_t ok, const char *why, ngx_log_t *log)
{
    ngx_uint_t                    i, need, level;
    ngx_pool_t                   *pool;
    ngx_http_gw_snap_t           *snap;
    ngx_http_gw_snap_health_t    *h;
    ngx_http_gw_snap_target_t    *targets, *t;
    ngx_http_gw_snap_upstream_t  *up;

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return;
    }

    snap = ngx_http_gw_upstream_pin(pool);

    up = (snap != NULL) ? ngx_http_gw_snapshot_upstream(snap, upstream)
                        : NULL;

    if (up == NULL || up->check_interval_ms == 0) {
        goto done;
    }

    targets = ngx_http_gw_snap_ptr(snap, up->targets);
    t = NULL;

    for (i = 0; i < up->ntargets; i++) {
        if (targets[i].address.len == name->len
            && ngx_memcmp(ngx_http_gw_snap_string(snap, targets[i].address),
                          name->data, name->len) == 0)
        {
            t = &targets[i];
            break;
        }
    }

    if (t == NULL) {
        goto done;
    }

    h = ngx_http_gw_snapshot_health(snap, t);

    if (ok == !h->active_down) {
        /* as it is: the run of the other kind ends */
        h->active_count = 0;
        goto done;
    }

    need = h->active_down ? up->check_healthy : up->check_unhealthy;
    h->active_count++;

    if (!ok) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "gw_upstream: health check of target %V of upstream "
                      "\"%V\" failed: %s (%uA of %ui)", name, upstream,
                      why, h->active_count, need);
    }

    if (h->active_count < (need ? need : 1)) {
        goto done;
    }

    h->active_count = 0;
    h->active_down = !ok;

    level = ok ? NGX_LOG_NOTICE : NGX_LOG_WARN;

    ngx_log_error(level, log, 0,
                  "gw_upstream: target %V of upstream \"%V\" is %s "
                  "(active health check)", name, upstream,
                  ok ? "back in" : "out");

done:

    ngx_destroy_pool(pool);
}


/*
 * The current snapshot, pinned until pool is destroyed, or NULL.
 * ngx_http_gw_snapshot_get() pins for a request's lifetime, so this
 * makes a minimal request in pool (no client connection; the http{}
 * block's configuration) for it.
 */
static ngx_http_gw_snap_t *
ngx_http_gw_upstream_pin(ngx_pool_t *pool)
{
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_conf_ctx_t  *hctx;

    hctx = (ngx_http_conf_ctx_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                                ngx_http_module);
    if (hctx == NULL) {
        return NULL;
    }

    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    if (c == NULL) {
        return NULL;
    }

    c->fd = (ngx_socket_t) -1;
    c->pool = pool;
    c->log = pool->log;

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    if (r == NULL) {
        return NULL;
    }

    r->ctx = ngx_pcalloc(pool, sizeof(void *) * ngx_http_max_module);
    if (r->ctx == NULL) {
        return NULL;
    }

    r->signature = NGX_HTTP_MODULE;
    r->connection = c;
    r->pool = pool;
    r->main = r;
    r->count = 1;
    r->main_conf = hctx->main_conf;
    r->srv_conf = hctx->srv_conf;
    r->loc_conf = hctx->loc_conf;

    return ngx_http_gw_snapshot_get(r);
}
