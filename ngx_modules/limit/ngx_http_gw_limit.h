
/*
 * Copyright (C) Tollgate
 *
 * Rate limits (docs/limit.md): what the limit module's files share.  The
 * arithmetic is lib/limit's; here are the configuration, the per-request
 * context, the shared-memory zone of local mode (ngx_http_gw_limit_zone.c)
 * and the Redis side of global mode (ngx_http_gw_limit_redis.c).
 */


#ifndef _NGX_HTTP_GW_LIMIT_H_INCLUDED_
#define _NGX_HTTP_GW_LIMIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_limit.h"
#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_LIMIT_MAX        16     /* limits per location */
#define NGX_HTTP_GW_LIMIT_ZONE_SIZE  (10 * 1024 * 1024)

/* the longest item of RateLimit-Policy or RateLimit, with its ", " */
#define NGX_HTTP_GW_LIMIT_ITEM_LEN                                            \
    (sizeof("\"\";q=;w=, ") - 1 + GW_LIMIT_NAME_MAX + 2 * NGX_INT64_LEN)

#define NGX_HTTP_GW_LIMIT_LOCAL      1
#define NGX_HTTP_GW_LIMIT_GLOBAL     2
#define NGX_HTTP_GW_LIMIT_LEASE      3      /* global, spent from leases
                                               (ngx_http_gw_limit_lease.c) */

/* gw_limit_redis_down, and gw_limit_zone_full (reject or allow) */
#define NGX_HTTP_GW_LIMIT_FALLBACK   1
#define NGX_HTTP_GW_LIMIT_DENY       2
#define NGX_HTTP_GW_LIMIT_ALLOW      3
#define NGX_HTTP_GW_LIMIT_REJECT     4

/* $gw_limit_status, in the order of precedence when limits disagree */
#define NGX_HTTP_GW_LIMIT_NONE       0
#define NGX_HTTP_GW_LIMIT_PASSED     1
#define NGX_HTTP_GW_LIMIT_DEGRADED   2
#define NGX_HTTP_GW_LIMIT_DELAYED    3
#define NGX_HTTP_GW_LIMIT_DRY_RUN    4
#define NGX_HTTP_GW_LIMIT_REJECTED   5
#define NGX_HTTP_GW_LIMIT_ZONE_FULL  6

/*
 * The zone tells its own states from a global limit's local fallback, and
 * a key from the digest standing for a longer one (or'ed in): the two can
 * never share an entry, whatever their bytes.
 */
#define NGX_HTTP_GW_LIMIT_STATE_LOCAL     'L'
#define NGX_HTTP_GW_LIMIT_STATE_FALLBACK  'F'
#define NGX_HTTP_GW_LIMIT_STATE_HASHED    0x80
#define NGX_HTTP_GW_LIMIT_STATE_LOG       0x20  /* an exact quota's log:
                                                   'l', 'f' */


/* a plan's replacement for one limit: gw_limit_plan PLAN LIMIT ... */
typedef struct {
    ngx_str_t                   plan;
    ngx_str_t                   limit;
    gw_limit_rule_t             rule;
    ngx_uint_t                  off;            /* unlimited */
} ngx_http_gw_limit_plan_t;


/* one gw_limit directive */
typedef struct {
    ngx_str_t                   name;
    ngx_http_complex_value_t    key;
    ngx_int_t                   key_var;        /* the index when key= is
                                                   one variable, else
                                                   NGX_ERROR */
    gw_limit_rule_t             rule;
    ngx_uint_t                  mode;           /* 0: gw_limit_mode's */
    ngx_shm_zone_t             *zone;
    ngx_array_t                *plans;          /* of plan_t *, this
                                                   limit's, set at merge */
    ngx_uint_t                  settled;        /* by a merge */
    ngx_str_t                   policy;         /* its RateLimit-Policy
                                                   item, made once */
} ngx_http_gw_limit_t;


typedef struct {
    ngx_array_t                 plans;          /* ngx_http_gw_limit_plan_t */
    ngx_shm_zone_t             *default_zone;
    ngx_http_complex_value_t   *default_plan_key;
    ngx_http_gw_redis_script_t  script;
    ngx_http_gw_redis_script_t  refund;         /* the give back script */
    ngx_http_gw_redis_script_t  batch;          /* gw_limit_batch_script */
    ngx_uint_t                  global;         /* a global limit exists */
    ngx_uint_t                  lease;          /* a lease limit exists */
    ngx_uint_t                  used;           /* a gw_limit exists */
    ngx_shm_zone_t             *route_zone;     /* routes' local limits */
    ngx_int_t                   route_index;    /* of $gw_route_id, or
                                                   NGX_ERROR */
} ngx_http_gw_limit_main_conf_t;


typedef struct {
    ngx_array_t                *limits;         /* ngx_http_gw_limit_t */
    ngx_http_complex_value_t   *plan_key;
    ngx_uint_t                  mode;
    ngx_uint_t                  nodes;
    ngx_uint_t                  redis_down;
    ngx_uint_t                  status;
    ngx_flag_t                  headers;
    ngx_flag_t                  legacy_headers;
    ngx_flag_t                  dry_run;
    size_t                      key_max;
    ngx_uint_t                  log_level;
    ngx_uint_t                  zone_full;
    ngx_uint_t                  batch;          /* gw_limit_batch */
} ngx_http_gw_limit_loc_conf_t;


/* one limit as it applies to one request */
typedef struct {
    ngx_http_gw_limit_t        *limit;
    gw_limit_rule_t             rule;           /* after the plan */
    ngx_str_t                   key;            /* hashed when long */
    ngx_str_t                   id;             /* name, NUL, key: the
                                                   zone's entry */
    ngx_str_t                   redis_key;      /* global: its Redis key */
    ngx_uint_t                  mode;
    gw_limit_result_t           res;
    unsigned                    hashed:1;       /* key is the hex SHA-256
                                                   of a longer one */
    unsigned                    decided:1;
    unsigned                    degraded:1;     /* global, decided locally
                                                   or let through */
} ngx_http_gw_limit_item_t;


typedef struct ngx_http_gw_limit_lease_ctx_s  ngx_http_gw_limit_lease_ctx_t;


typedef struct {
    ngx_http_gw_limit_item_t   *items;
    ngx_uint_t                  n;
    ngx_uint_t                  nglobal;
    ngx_uint_t                  nlease;
    ngx_http_gw_limit_lease_ctx_t  *lease;      /* lease mode's own */
    ngx_uint_t                  status;         /* $gw_limit_status */
    ngx_http_gw_redis_status_e  redis_status;
    double                      redis_now;      /* the script's time */
    unsigned                    asked:1;
    unsigned                    answered:1;
    unsigned                    done:1;
    unsigned                    zone_full:1;    /* a zone had no room */
} ngx_http_gw_limit_ctx_t;


/* zone: configuration and shared memory */
ngx_shm_zone_t *ngx_http_gw_limit_zone_add(ngx_conf_t *cf, ngx_str_t *name,
    size_t size);

/*
 * Decides the items (those with mode local, or global ones with fallback
 * set) whose decided flag is clear, at time now, atomically across them:
 * states change only when all of them admit and refused (another limit
 * of the request already refused it) is clear.  An entry whose state is
 * not yet a fresh one is never evicted: an item whose zone has no room
 * for its new key stays undecided, and then states change only when
 * allow is set.  NGX_OK, or NGX_DECLINED when some item found no room
 * (the first report of a zone's incident is logged here).
 */
ngx_int_t ngx_http_gw_limit_zone_decide(ngx_http_request_t *r,
    ngx_http_gw_limit_item_t *items, ngx_uint_t n, ngx_uint_t fallback,
    ngx_uint_t nodes, ngx_uint_t refused, ngx_uint_t allow, double now);

/* configuration (ngx_http_gw_limit_conf.c) */
char *ngx_http_gw_limit_conf_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gw_limit_conf_add(ngx_conf_t *cf,
    ngx_http_gw_limit_loc_conf_t *lcf, ngx_str_t *value, ngx_uint_t nvalues,
    ngx_shm_zone_t *route_zone);
char *ngx_http_gw_limit_conf_plan(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gw_limit_conf_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
void *ngx_http_gw_limit_create_main_conf(ngx_conf_t *cf);
void *ngx_http_gw_limit_create_loc_conf(ngx_conf_t *cf);
char *ngx_http_gw_limit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);

/* response fields and $gw_limit_status (ngx_http_gw_limit_headers.c) */
ngx_int_t ngx_http_gw_limit_add_variables(ngx_conf_t *cf);
u_char *ngx_http_gw_limit_policy_item(u_char *p, ngx_str_t *name,
    gw_limit_rule_t *rule);
void ngx_http_gw_limit_header_filter_init(void);

/* routes' "limits" (ngx_http_gw_limit_route.c) */
ngx_int_t ngx_http_gw_limit_route_init(ngx_conf_t *cf,
    ngx_http_gw_limit_main_conf_t *lmcf);
ngx_int_t ngx_http_gw_limit_consumer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* counted once (ngx_http_gw_limit_once.c) */
ngx_int_t ngx_http_gw_limit_once_mark(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx);
ngx_http_gw_limit_ctx_t *ngx_http_gw_limit_once_find(ngx_http_request_t *r);
ngx_int_t ngx_http_gw_limit_once_probe(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_uint_t allow, double now);
void ngx_http_gw_limit_once_give_back(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx);

/*
 * Lease mode (ngx_http_gw_limit_lease.c): decides the lease items, first
 * of all, from this gateway's leases or with one script run in Redis.
 * NGX_OK: each is decided, or left undecided when one of them is refused
 * at once, or turned into a global item (and ctx marked as Redis having
 * failed) when Redis is unavailable; NGX_AGAIN: waiting for Redis;
 * NGX_ERROR.  ..._unspend(): the request was refused after all: what it
 * spent goes back to the leases (or to Redis).
 */
ngx_int_t ngx_http_gw_limit_lease(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx);
void ngx_http_gw_limit_lease_unspend(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx);

/*
 * Global mode (ngx_http_gw_limit_redis.c): asks Redis for the global
 * items, as ngx_http_gw_redis_request_script() answers; ..._key(): the
 * item's Redis key into it->redis_key; ..._num(): a script's number into
 * p (NGX_HTTP_GW_LIMIT_NUM_LEN bytes), its length.
 */
ngx_int_t ngx_http_gw_limit_redis_ask(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx);
ngx_int_t ngx_http_gw_limit_redis_key(ngx_http_request_t *r,
    ngx_http_gw_limit_item_t *it);
size_t ngx_http_gw_limit_redis_num(u_char *p, double v);

#define NGX_HTTP_GW_LIMIT_NUM_LEN  32       /* a "%.17g" double */

/*
 * Coalescing (ngx_http_gw_limit_batch.c): it, the request's one global
 * item (a rate or a quota, its Redis key made), joins the call of its key
 * that up to max requests of this worker share.  NGX_AGAIN: r waits,
 * suspended as by ngx_http_gw_redis_request(), and its phases run again
 * once ctx holds the answer (as the per-request handler leaves it);
 * NGX_DECLINED: ask alone (batching off, Redis down now, an exact quota,
 * the next call full, too many keys); NGX_ERROR.
 */
ngx_int_t ngx_http_gw_limit_batch_join(ngx_http_request_t *r,
    ngx_http_gw_limit_ctx_t *ctx, ngx_http_gw_limit_item_t *it,
    ngx_uint_t max);


extern ngx_module_t  ngx_http_gw_limit_module;


#endif /* _NGX_HTTP_GW_LIMIT_H_INCLUDED_ */
