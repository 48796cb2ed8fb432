
/*
 * Copyright (C) Tollgate
 *
 * The revocation list's set in shared memory (ngx_http_gw_jwt_revoke.c),
 * as its upkeep (ngx_http_gw_jwt_revoke_sync.c) and the per-request check
 * (ngx_http_gw_jwt_revoke_check.c) use it.  Each function takes the
 * zone's mutex itself: none may be called with it held.
 */


#ifndef _NGX_HTTP_GW_JWT_REVOKE_H_INCLUDED_
#define _NGX_HTTP_GW_JWT_REVOKE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_jwt.h"


ngx_int_t ngx_http_gw_jwt_revoke_add_zone(ngx_conf_t *cf,
    ngx_http_gw_jwt_main_conf_t *jmcf);
ngx_int_t ngx_http_gw_jwt_revoke_add(ngx_shm_zone_t *zone, u_char *jti,
    size_t len, time_t expires, ngx_uint_t exact);
ngx_uint_t ngx_http_gw_jwt_revoke_lookup(ngx_shm_zone_t *zone, u_char *jti,
    size_t len, ngx_uint_t *trusted);
ngx_uint_t ngx_http_gw_jwt_revoke_generation(ngx_shm_zone_t *zone);
void ngx_http_gw_jwt_revoke_loaded(ngx_shm_zone_t *zone, ngx_uint_t gen,
    ngx_uint_t failed);
ngx_uint_t ngx_http_gw_jwt_revoke_expire(ngx_shm_zone_t *zone);


#endif /* _NGX_HTTP_GW_JWT_REVOKE_H_INCLUDED_ */
