
/*
 * Copyright (C) Tollgate
 *
 * Publishing at the edge (docs/publish.md): what the publish module's
 * files share.  ngx_http_gw_publish_module.c has the directives and the
 * content handler, ngx_http_gw_publish_body.c reads the body without
 * blocking and checks the request, ngx_http_gw_publish_metrics.c keeps
 * the counters and the streams' lengths.
 */


#ifndef _NGX_HTTP_GW_PUBLISH_H_INCLUDED_
#define _NGX_HTTP_GW_PUBLISH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_GW_PUBLISH_NAME_MAX     64         /* bytes of a topic */
#define NGX_HTTP_GW_PUBLISH_PARTS_MAX    1024
#define NGX_HTTP_GW_PUBLISH_MAXLEN       1000000    /* default cap */
#define NGX_HTTP_GW_PUBLISH_MAXLEN_MAX   1000000000
#define NGX_HTTP_GW_PUBLISH_KEY_MAX      1024       /* bytes of a key */
#define NGX_HTTP_GW_PUBLISH_CTYPE_MAX    256        /* of a Content-Type */
#define NGX_HTTP_GW_PUBLISH_BODY_MAX     (64 * 1024 * 1024)
#define NGX_HTTP_GW_PUBLISH_WARN         80         /* % of the cap */
#define NGX_HTTP_GW_PUBLISH_REARM        75

/* a topic's counters in the zone: these, then one length per partition */
#define NGX_HTTP_GW_PUBLISH_PUBLISHED    0
#define NGX_HTTP_GW_PUBLISH_FAILED       1
#define NGX_HTTP_GW_PUBLISH_REFUSED      2
#define NGX_HTTP_GW_PUBLISH_COUNTERS     3


typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  partitions;
    ngx_uint_t                  maxlen;
    ngx_str_t                   maxlen_text;
    ngx_str_t                  *streams;        /* gw:topic:<t>:<p> */
    ngx_uint_t                  slot;           /* first counter */
    u_char                     *above;          /* per partition: warned;
                                                   the checking worker's */
} ngx_http_gw_publish_topic_t;


typedef struct {
    ngx_array_t                 topics;         /* of _topic_t */
    ngx_msec_t                  interval;       /* XLEN checks; 0: none */
    ngx_uint_t                  nslots;
    ngx_atomic_t               *counters;       /* in the zone, or NULL */
    ngx_shm_zone_t             *zone;
    ngx_int_t                   consumer_var;   /* $gw_consumer_id */
    ngx_log_t                  *log;
    ngx_uint_t                  used;
} ngx_http_gw_publish_main_conf_t;


typedef struct {
    ngx_str_t                   name;           /* until merged */
    ngx_http_gw_publish_topic_t *topic;         /* NULL: off */
    ngx_http_complex_value_t   *key;            /* NULL: "" */
} ngx_http_gw_publish_loc_conf_t;


/* a request being published */
typedef struct {
    u_char                     *buf;            /* the body, as read */
    size_t                      len;
    size_t                      size;
    size_t                      max;
    ngx_str_t                   key;
    ngx_uint_t                  partition;
    unsigned                    collect:1;      /* the filter copies */
    unsigned                    lost:1;         /* a part went to a file */
    unsigned                    too_large:1;
} ngx_http_gw_publish_ctx_t;


/* ngx_http_gw_publish_body.c */
ngx_http_gw_publish_ctx_t *ngx_http_gw_publish_ctx(ngx_http_request_t *r,
    ngx_uint_t collect);
ngx_int_t ngx_http_gw_publish_body_init(ngx_conf_t *cf);
ngx_int_t ngx_http_gw_publish_body_collect(ngx_http_request_t *r,
    ngx_http_gw_publish_ctx_t *ctx);
ngx_int_t ngx_http_gw_publish_check(ngx_http_request_t *r,
    ngx_http_gw_publish_loc_conf_t *plcf, ngx_http_gw_publish_ctx_t *ctx);
ngx_int_t ngx_http_gw_publish_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail);

/* ngx_http_gw_publish_metrics.c */
ngx_int_t ngx_http_gw_publish_metrics_init(ngx_conf_t *cf,
    ngx_http_gw_publish_main_conf_t *pmcf);
void ngx_http_gw_publish_count(ngx_http_gw_publish_topic_t *t,
    ngx_uint_t what);
ngx_int_t ngx_http_gw_publish_checks_start(ngx_cycle_t *cycle,
    ngx_http_gw_publish_main_conf_t *pmcf);
void ngx_http_gw_publish_checks_stop(void);


extern ngx_module_t  ngx_http_gw_publish_module;


#endif /* _NGX_HTTP_GW_PUBLISH_H_INCLUDED_ */
