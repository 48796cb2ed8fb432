
/*
 * Copyright (C) Tollgate
 *
 * What the key-auth module's files share: a request's lookup state
 * (ngx_http_gw_keyauth_module.c asks, ngx_http_gw_keyauth_reply.c reads
 * Redis' answer into it).
 */


#ifndef _NGX_HTTP_GW_KEYAUTH_INT_H_INCLUDED_
#define _NGX_HTTP_GW_KEYAUTH_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_redis.h"
#include "ngx_http_gw_keyauth.h"


#define NGX_HTTP_GW_KEYAUTH_NEW          0
#define NGX_HTTP_GW_KEYAUTH_WAITING      1
#define NGX_HTTP_GW_KEYAUTH_DONE         2


typedef struct {
    ngx_uint_t                   state;
    ngx_uint_t                   authenticated;
    ngx_uint_t                   epoch;         /* when Redis was asked */
    ngx_http_gw_redis_status_e   status;
    ngx_str_t                    lookup;
    u_char                       buf[NGX_HTTP_GW_KEYAUTH_LOOKUP_MAX];
    ngx_http_gw_keyauth_record_t rec;
} ngx_http_gw_keyauth_ctx_t;


/*
 * The lookup script's reply for r (data: its ctx): fills ctx->rec,
 * caches it and marks ctx done; a reply of the wrong shape counts as
 * Redis down (logged at most once a minute).
 */
void ngx_http_gw_keyauth_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);


#endif /* _NGX_HTTP_GW_KEYAUTH_INT_H_INCLUDED_ */
