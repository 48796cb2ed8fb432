
/*
 * Copyright (C) Tollgate
 *
 * The router's answer for a request, which the other parts of dynamic
 * routing read (docs/routing.md):
 *
 *   ngx_http_gw_router_module.c   "gw_router": match, variables, 404,
 *                                 the route's policies (its location
 *                                 configuration, ngx_http_gw_policy.h)
 *   ngx_http_gw_router_life.c     versions: Deprecation, Sunset, Link,
 *                                 410 after the sunset, counts per
 *                                 consumer
 *   ngx_http_gw_router_split.c    canary splits, sticky per consumer
 *   ngx_http_gw_upstream_*.c      "gw_upstream": the balancer, passive
 *                                 and active health
 */


#ifndef _NGX_HTTP_GW_ROUTER_H_INCLUDED_
#define _NGX_HTTP_GW_ROUTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_snapshot.h"


typedef struct {
    ngx_http_gw_snap_t         *snap;       /* pinned for r's lifetime */
    ngx_http_gw_snap_route_t   *route;      /* the matched route */
    gw_router_match_t           match;      /* its path's variables */

    /* the upstream the request goes to: the route's, or a split's (set
       by ngx_http_gw_router_split_pick() before the balancer runs) */
    ngx_http_gw_snap_upstream_t *upstream;
    unsigned                    split:1;    /* upstream is a split's */
    unsigned                    deprecated:1;
} ngx_http_gw_router_ctx_t;


extern ngx_module_t  ngx_http_gw_router_module;


/* the router's answer for r, or NULL when r was not routed by gw_router */
ngx_http_gw_router_ctx_t *ngx_http_gw_router_ctx(ngx_http_request_t *r);


/* a plugin a route runs (its "plugins" policy; docs/plugins.md) */
typedef struct {
    ngx_str_t                   id;
    ngx_str_t                   name;
    ngx_str_t                   config;     /* compact JSON object text */
} ngx_http_gw_router_plugin_t;

/*
 * The plugins of r's route, in the route's order: an array of
 * ngx_http_gw_router_plugin_t living as long as r, or NULL when r was not
 * routed by gw_router or its route has none.
 */
ngx_array_t *ngx_http_gw_router_plugins(ngx_http_request_t *r);

/*
 * Chooses ctx->upstream among the route's upstream and its splits,
 * sticky by the route's "sticky" key (ngx_http_gw_router_split.c).
 * Returns NGX_OK, or NGX_ERROR.  Called by the router after the route's
 * access phase (the consumer is known then) and before the balancer.
 */
ngx_int_t ngx_http_gw_router_split_pick(ngx_http_request_t *r,
    ngx_http_gw_router_ctx_t *ctx);

/*
 * The lifecycle of the matched route (ngx_http_gw_router_life.c): adds
 * the Deprecation, Sunset and Link headers to r's answer when the
 * route's version is deprecated; returns NGX_DECLINED to go on, or
 * NGX_DONE after answering the sunset status itself.
 */
ngx_int_t ngx_http_gw_router_life(ngx_http_request_t *r,
    ngx_http_gw_router_ctx_t *ctx);

/*
 * The value of a sticky or hash key for r (the consumer's id when one
 * was authenticated, else the client address, for _KEY_CONSUMER), in
 * r's pool; an empty value when the header, argument or cookie is
 * absent.  Shared by the splits and the hash balancer.
 */
ngx_int_t ngx_http_gw_router_key(ngx_http_request_t *r,
    ngx_http_gw_snap_t *snap, ngx_http_gw_snap_key_t *key, ngx_str_t *value);


#endif /* _NGX_HTTP_GW_ROUTER_H_INCLUDED_ */
