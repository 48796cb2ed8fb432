
/*
 * Copyright (C) Tollgate
 *
 * What the files of ngx_http_gw_upstream_module share (docs/routing.md,
 * "gw_upstream"):
 *
 *   ngx_http_gw_upstream_module.c   the directive, the balancer (peer
 *                                   init, get, free), the per-worker
 *                                   round-robin state, the 502 and 503
 *                                   problems
 *   ngx_http_gw_upstream_health.c   whether a target is up, passive
 *                                   failures, the builder worker's active
 *                                   checks: their schedule and verdicts
 *   ngx_http_gw_upstream_check.c    one active check's HTTP exchange
 *   ngx_http_gw_upstream_metrics.c  the targets' metrics (up, in flight,
 *                                   failures) for gw_metrics_endpoint
 *
 * Health lives in the snapshot's health slots (ngx_http_gw_snap_health_t,
 * shared by every worker, kept across snapshots), so every worker of a
 * gateway agrees on which targets are out.
 */


#ifndef _NGX_HTTP_GW_UPSTREAM_H_INCLUDED_
#define _NGX_HTTP_GW_UPSTREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_snapshot.h"


#define NGX_HTTP_GW_UPSTREAM_TICK   100     /* ms between active ticks */


typedef struct {
    ngx_flag_t                  used;       /* gw_upstream is in a block */
    ngx_shm_zone_t             *zone;       /* the failure counters */
} ngx_http_gw_upstream_main_conf_t;


/* _health.c: this worker's schedule of one target's active checks */
typedef struct {
    ngx_str_node_t              sn;         /* str: "<upstream> <addr>" */
    ngx_queue_t                 queue;
    ngx_msec_t                  due;
    ngx_uint_t                  tick;       /* the last tick that saw it */
    unsigned                    busy:1;     /* a check is in flight */
    unsigned                    gone:1;     /* free it when it ends */
} ngx_http_gw_check_node_t;


extern ngx_module_t  ngx_http_gw_upstream_module;


/* whether target t of up is in now (passive and active health) */
ngx_uint_t ngx_http_gw_upstream_target_up(ngx_http_gw_snap_upstream_t *up,
    ngx_http_gw_snap_health_t *h, ngx_msec_t now);

/* one failed try of a target (a connection error, a timeout, a status
   proxy_next_upstream counts): may take it out for fail_timeout_ms */
void ngx_http_gw_upstream_passive_fail(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t,
    ngx_log_t *log);

/* _metrics.c: the counters' zone (at the first gw_upstream), the
   exporter (postconfiguration), one failed try of t */
ngx_int_t ngx_http_gw_upstream_metrics_conf(ngx_conf_t *cf,
    ngx_http_gw_upstream_main_conf_t *umcf);
ngx_int_t ngx_http_gw_upstream_metrics_init(ngx_conf_t *cf,
    ngx_http_gw_upstream_main_conf_t *umcf);
void ngx_http_gw_upstream_metrics_fail(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t);

/* the active checks' timer, armed in every worker (init process) */
ngx_int_t ngx_http_gw_upstream_health_init(ngx_cycle_t *cycle);

/* _health.c: one active check's result, counted on the target named by
   upstream id and address in the current snapshot (the builder only) */
void ngx_http_gw_upstream_check_apply(ngx_str_t *upstream, ngx_str_t *name,
    ngx_uint_t ok, const char *why, ngx_log_t *log);

/* _check.c: starts one active check of t (node busy until it ends, then
   freed if gone, else its result applied); copies what it needs of snap */
void ngx_http_gw_upstream_check_start(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t,
    ngx_http_gw_check_node_t *node, ngx_log_t *log);


#endif /* _NGX_HTTP_GW_UPSTREAM_H_INCLUDED_ */
