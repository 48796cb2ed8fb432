
/*
 * Copyright (C) Tollgate
 *
 * What the files of ngx_http_gw_metrics_module share: the configuration
 * and the layout of the metrics zone (ngx_http_gw_metrics_module.c counts,
 * ngx_http_gw_metrics_export.c sums and prints).
 *
 * The zone holds one slice per worker process.  A slice is an array of
 * 64-bit counters: a global block, one block per route (routes are known
 * at configuration time, so a route is an index, never a lookup), then one
 * block per consumer when consumer labels are on.  A worker writes only
 * its own slice, with plain increments; a scrape reads every slice and
 * sums.  An aligned 64-bit load is never torn, so a scrape sees each
 * counter either before or after an increment, never a mix.
 */


#ifndef _NGX_HTTP_GW_METRICS_INT_H_INCLUDED_
#define _NGX_HTTP_GW_METRICS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_metrics.h"


#define NGX_HTTP_GW_METRICS_METHODS      8    /* GET ... OPTIONS, other */
#define NGX_HTTP_GW_METRICS_CLASSES      6    /* 1xx ... 5xx, other */
#define NGX_HTTP_GW_METRICS_BUCKETS_MAX  32
#define NGX_HTTP_GW_METRICS_ROUTE_MAX    64   /* bytes of a route name */
#define NGX_HTTP_GW_METRICS_CONSUMER_MAX 64   /* bytes of a consumer id */

/* the global block of a slice */
#define NGX_HTTP_GW_METRICS_AUDIT_DROPPED    0
#define NGX_HTTP_GW_METRICS_REDIS_CONNECTED  1
#define NGX_HTTP_GW_METRICS_REDIS_IN_FLIGHT  2
#define NGX_HTTP_GW_METRICS_REDIS_COMMANDS   3
#define NGX_HTTP_GW_METRICS_REDIS_TIMEOUTS   4
#define NGX_HTTP_GW_METRICS_REDIS_FAILED     5
#define NGX_HTTP_GW_METRICS_REDIS_RECONNECTS 6
#define NGX_HTTP_GW_METRICS_REDIS_OUTAGES    7
#define NGX_HTTP_GW_METRICS_GLOBAL           8


typedef uint64_t  ngx_http_gw_metrics_counter_t;


/* a feature's exporter (ngx_http_gw_metrics_exporter()) */
typedef struct {
    ngx_http_gw_metrics_export_pt   export;
    void                           *data;
} ngx_http_gw_metrics_exporter_t;


/*
 * Offsets, in counters, inside a route's block.  A histogram is nbuckets
 * + 1 bucket counts (not cumulative; the last one is +Inf), the sum in
 * milliseconds, and the count.
 */
typedef struct {
    ngx_uint_t                      requests;  /* [method][class] */
    ngx_uint_t                      duration;  /* histogram */
    ngx_uint_t                      upstream;  /* histogram */
    ngx_uint_t                      auth;      /* [mechanism][outcome] */
    ngx_uint_t                      limit;     /* [decision] */
    ngx_uint_t                      validation;
    ngx_uint_t                      size;      /* of a route's block */
} ngx_http_gw_metrics_route_layout_t;


/* one consumer seen: written once, under the zone's mutex */
typedef struct {
    ngx_uint_t                      len;       /* 0: not yet written */
    u_char                          id[NGX_HTTP_GW_METRICS_CONSUMER_MAX];
} ngx_http_gw_metrics_consumer_t;


/* the head of the zone; the slices and the consumer table follow it */
typedef struct {
    ngx_atomic_t                    nconsumers;
} ngx_http_gw_metrics_sh_t;


typedef struct {
    ngx_shm_zone_t                 *zone;
    ngx_slab_pool_t                *shpool;
    ngx_http_gw_metrics_sh_t       *sh;
    ngx_http_gw_metrics_counter_t  *slices;
    ngx_http_gw_metrics_consumer_t *consumers;
    uint32_t                       *consumer_index;   /* entry + 1, or 0 */
    ngx_uint_t                      consumer_slots;   /* a power of two */

    ngx_uint_t                      nslices;   /* worker_processes */
    size_t                          slice_size;       /* counters */
    ngx_http_gw_metrics_route_layout_t  layout;

    ngx_array_t                     routes;    /* ngx_str_t; 0 is "" */
    ngx_str_t                      *labels;    /* route="name" */

    ngx_uint_t                      nbuckets;
    ngx_msec_t                      bounds[NGX_HTTP_GW_METRICS_BUCKETS_MAX];
    ngx_str_t                       le[NGX_HTTP_GW_METRICS_BUCKETS_MAX + 1];

    ngx_uint_t                      max_consumers;    /* 0: no label */
    ngx_int_t                       consumer_var;     /* $gw_consumer_id */
    ngx_uint_t                      redis;     /* gw_redis is configured */
    ngx_uint_t                      endpoint;  /* gw_metrics_endpoint used */
    ngx_cycle_t                    *cycle;     /* the one being configured */
    ngx_array_t                     exporters; /* _exporter_t */
} ngx_http_gw_metrics_main_conf_t;


typedef struct {
    ngx_uint_t                      route;     /* index into routes */
    ngx_flag_t                      enabled;   /* gw_metrics on | off */
} ngx_http_gw_metrics_loc_conf_t;


/* the counters of consumer i (max_consumers is "other") in a slice */
#define ngx_http_gw_metrics_consumer_block(mmcf, slice, i)                    \
    ((slice) + NGX_HTTP_GW_METRICS_GLOBAL                                     \
     + (mmcf)->routes.nelts * (mmcf)->layout.size                             \
     + (i) * NGX_HTTP_GW_METRICS_CLASSES)


/* ngx_http_gw_metrics_conf.c */
char *ngx_http_gw_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gw_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_gw_metrics_buckets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gw_metrics_prepare(ngx_conf_t *cf,
    ngx_http_gw_metrics_main_conf_t *mmcf);

/* ngx_http_gw_metrics_module.c: refreshes this worker's Redis figures */
void ngx_http_gw_metrics_redis_refresh(ngx_http_gw_metrics_main_conf_t *mmcf);

/* ngx_http_gw_metrics_module.c: the status $gw_status writes */
ngx_uint_t ngx_http_gw_metrics_status(ngx_http_request_t *r);

/* ngx_http_gw_metrics_log.c: $gw_log_json */
ngx_int_t ngx_http_gw_metrics_log_init(ngx_conf_t *cf);
ngx_int_t ngx_http_gw_log_json_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* ngx_http_gw_metrics_export.c */
char *ngx_http_gw_metrics_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_GW_METRICS_INT_H_INCLUDED_ */
