
/*
 * Copyright (C) Tollgate
 *
 * What the files of ngx_http_gw_router_module share:
 *
 *   ngx_http_gw_router_module.c   the directive, the match, the variables,
 *                                 the "plugins" policy kind
 *   ngx_http_gw_router_conf.c     routes' location configurations, made
 *                                 per worker and cached (route policies)
 */


#ifndef _NGX_HTTP_GW_ROUTER_INT_H_INCLUDED_
#define _NGX_HTTP_GW_ROUTER_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_router.h"


typedef struct {
    void                       *policy;     /* FIRST: ngx_http_gw_policy.c's
                                               registry of policy kinds */
    ngx_http_conf_ctx_t        *http_ctx;   /* the http block's: run-time
                                               configuration contexts */
} ngx_http_gw_router_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;     /* gw_router */
    ngx_array_t                *plugins;    /* _plugin_t: a route's, or NULL */
} ngx_http_gw_router_loc_conf_t;


/* a request's ctx: the public part first (ngx_http_gw_router_ctx()) */
typedef struct {
    ngx_http_gw_router_ctx_t    pub;
    ngx_str_t                   path;       /* matched: variables' base */
    unsigned                    picked:1;   /* split_pick() done */
} ngx_http_gw_router_req_t;


/*
 * The location configuration of route i of s for base (the gw_router
 * location's r->loc_conf): base itself for a route without policies;
 * else this worker's, made at the route's first request from its policy
 * text and shared by every snapshot with the same (id, policy_hash).
 * Returns NGX_OK with *loc_conf set, NGX_DECLINED when the policy does
 * not build (logged once per route, policy and location), or NGX_ERROR.
 */
ngx_int_t ngx_http_gw_router_route_conf(ngx_http_request_t *r,
    ngx_http_gw_snap_t *s, ngx_uint_t i, void **base, void ***loc_conf);

void ngx_http_gw_router_conf_init(void);


#endif /* _NGX_HTTP_GW_ROUTER_INT_H_INCLUDED_ */
