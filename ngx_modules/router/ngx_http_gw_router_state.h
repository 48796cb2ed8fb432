
/*
 * Copyright (C) Tollgate
 *
 * The routes' shared state (ngx_http_gw_router_state.c, directive
 * gw_route_state): the memory of the sides canary splits gave to sticky
 * keys, and the counts of calls to deprecated routes per consumer.  Used
 * by ngx_http_gw_router_split.c and ngx_http_gw_router_life.c only.
 */


#ifndef _NGX_HTTP_GW_ROUTER_STATE_H_INCLUDED_
#define _NGX_HTTP_GW_ROUTER_STATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* whether gw_route_state is configured (in this worker's cycle) */
ngx_uint_t ngx_http_gw_route_state_enabled(void);

/* idle= of gw_route_state: seconds a remembered key is kept unused */
time_t ngx_http_gw_route_state_idle(void);

/* whether gw_redis is configured: the memory is also kept in Redis */
ngx_uint_t ngx_http_gw_route_state_redis(void);

/* r's authenticated consumer ($gw_consumer_id), empty when none */
ngx_int_t ngx_http_gw_route_state_consumer(ngx_http_request_t *r,
    ngx_str_t *id);

/* the splits' Redis script, at configuration time (with gw_redis) */
ngx_int_t ngx_http_gw_router_split_init(ngx_conf_t *cf);

/* the side remembered for a key hash (gw_split_hash()), or 0 */
uint32_t ngx_http_gw_route_state_get(uint64_t key);

/*
 * Remembers side for key (replacing a remembered one only when replace
 * is set); returns the side now held for key, or 0 when the table had no
 * room for it (counted) or there is no zone.
 */
uint32_t ngx_http_gw_route_state_put(uint64_t key, uint32_t side,
    ngx_uint_t replace);

/* counts one call of r to a deprecated route, by r's consumer */
void ngx_http_gw_route_state_deprecated(ngx_http_request_t *r,
    ngx_str_t *route, ngx_str_t *version);


extern ngx_module_t  ngx_http_gw_route_state_module;


#endif /* _NGX_HTTP_GW_ROUTER_STATE_H_INCLUDED_ */
