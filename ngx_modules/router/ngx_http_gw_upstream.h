
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
 *                                   checks
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
} ngx_http_gw_upstream_main_conf_t;


extern ngx_module_t  ngx_http_gw_upstream_module;


/* whether target t of up is in now (passive and active health) */
ngx_uint_t ngx_http_gw_upstream_target_up(ngx_http_gw_snap_upstream_t *up,
    ngx_http_gw_snap_health_t *h, ngx_msec_t now);

/* one failed try of a target (a connection error, a timeout, a status
   proxy_next_upstream counts): may take it out for fail_timeout_ms */
void ngx_http_gw_upstream_passive_fail(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t,
    ngx_log_t *log);

/* the active checks' timer, armed in every worker (init process) */
ngx_int_t ngx_http_gw_upstream_health_init(ngx_cycle_t *cycle);


#endif /* _NGX_HTTP_GW_UPSTREAM_H_INCLUDED_ */
