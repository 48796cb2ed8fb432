
/*
 * Copyright (C) Tollgate
 *
 * Types shared by the files of ngx_http_gw_keyauth_module: API-key
 * authentication and consumers (ngx_http_gw_keyauth_module.c) and the
 * per-worker cache of consumer lookups with its pub/sub invalidation
 * (ngx_http_gw_keyauth_cache.c), and a route's "key_auth" policy
 * (ngx_http_gw_keyauth_route.c).
 */


#ifndef _NGX_HTTP_GW_KEYAUTH_H_INCLUDED_
#define _NGX_HTTP_GW_KEYAUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_model.h"


/* the consumer's tags, comma-joined (gw_model_tags_valid()) */
#define NGX_HTTP_GW_KEYAUTH_TAGS_MAX  (GW_TAGS_MAX * (GW_ID_MAX + 1))


/* what a lookup found, cached as it is */
typedef enum {
    NGX_HTTP_GW_KEYAUTH_VALID = 0,
    NGX_HTTP_GW_KEYAUTH_UNKNOWN,        /* no such key or consumer */
    NGX_HTTP_GW_KEYAUTH_REVOKED,
    NGX_HTTP_GW_KEYAUTH_EXPIRED,
    NGX_HTTP_GW_KEYAUTH_DISABLED        /* the consumer is disabled */
} ngx_http_gw_keyauth_state_e;


typedef struct {
    ngx_http_gw_keyauth_state_e  state;
    time_t                       key_expires;   /* 0: never */
    u_char                       id[GW_ID_MAX];
    size_t                       id_len;
    u_char                       name[GW_NAME_MAX];
    size_t                       name_len;
    u_char                       plan[GW_ID_MAX];
    size_t                       plan_len;
    u_char                       tags[NGX_HTTP_GW_KEYAUTH_TAGS_MAX];
    size_t                       tags_len;      /* "a,b": comma-joined */
} ngx_http_gw_keyauth_record_t;


typedef struct {
    ngx_str_t                    realm;         /* len 0: off */
    ngx_str_t                    header;
    ngx_str_t                    lowcase;
    ngx_str_t                    query;         /* len 0: off */
    ngx_str_t                    consumer_claim;
    time_t                       cache_ttl;
    time_t                       negative_ttl;
    ngx_uint_t                   redis_down;
    size_t                       max_size;
    ngx_array_t                 *strip;         /* ngx_str_t */
} ngx_http_gw_keyauth_loc_conf_t;


/* a cache key: "k" + key hash, or "c" + consumer id */
#define NGX_HTTP_GW_KEYAUTH_LOOKUP_MAX  (1 + GW_KEY_HASH_HEX_LEN + GW_ID_MAX)


ngx_int_t ngx_http_gw_keyauth_cache_get(ngx_str_t *lookup,
    ngx_http_gw_keyauth_record_t *rec, time_t *fetched);
void ngx_http_gw_keyauth_cache_put(ngx_log_t *log, ngx_str_t *lookup,
    ngx_http_gw_keyauth_record_t *rec, time_t ttl, ngx_uint_t epoch);
ngx_uint_t ngx_http_gw_keyauth_cache_epoch(void);
void ngx_http_gw_keyauth_cache_invalidate(void *data, ngx_str_t *channel,
    ngx_str_t *message);
void ngx_http_gw_keyauth_cache_flush(void *data);
void ngx_http_gw_keyauth_cache_configure(ngx_uint_t max_entries);

/*
 * The consumer r was authenticated as (an API key's, or a JWT claim's),
 * or NULL: what $gw_consumer_id, _name, _plan and _tags give.
 */
ngx_http_gw_keyauth_record_t *ngx_http_gw_keyauth_consumer(
    ngx_http_request_t *r);

/* registers the "key_auth" route policy (ngx_http_gw_keyauth_route.c) */
ngx_int_t ngx_http_gw_keyauth_route_add(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_gw_keyauth_module;


#endif /* _NGX_HTTP_GW_KEYAUTH_H_INCLUDED_ */
