
/*
 * Copyright (C) Tollgate
 *
 * What features report to ngx_http_gw_metrics_module: one call where a
 * feature has decided, costing a few plain increments in this worker's own
 * slice of the metrics zone (no lock, no atomic operation).  Every call is
 * safe whether or not gw_metrics_zone is configured: without it, only the
 * request's variables ($gw_auth_outcome, ...) are set.  Counts go to the
 * route of the location r is in when the call is made.
 */


#ifndef _NGX_HTTP_GW_METRICS_H_INCLUDED_
#define _NGX_HTTP_GW_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* authentication mechanisms (label "mechanism") */
#define NGX_HTTP_GW_AUTH_JWT            0
#define NGX_HTTP_GW_AUTH_KEY            1
#define NGX_HTTP_GW_AUTH_MECHANISMS     2

/* authentication outcomes (label "outcome") */
#define NGX_HTTP_GW_AUTH_OK             0   /* credential accepted */
#define NGX_HTTP_GW_AUTH_MISSING        1   /* no credential: 401 */
#define NGX_HTTP_GW_AUTH_INVALID        2   /* bad, unknown, expired: 401 */
#define NGX_HTTP_GW_AUTH_FORBIDDEN      3   /* valid but not allowed: 403 */
#define NGX_HTTP_GW_AUTH_UNAVAILABLE    4   /* could not decide: 503 */
#define NGX_HTTP_GW_AUTH_OUTCOMES       5

/* rate-limit decisions (label "decision") */
#define NGX_HTTP_GW_METRICS_LIMIT_PASSED     0  /* under the limit */
#define NGX_HTTP_GW_METRICS_LIMIT_DELAYED    1  /* over the burst, delayed */
#define NGX_HTTP_GW_METRICS_LIMIT_REJECTED   2  /* over the limit: 429 */
#define NGX_HTTP_GW_METRICS_LIMIT_DRY_RUN    3  /* would have been rejected */
#define NGX_HTTP_GW_METRICS_LIMIT_DEGRADED   4  /* the store was unavailable
                                                   and the configured
                                                   fallback decided */
#define NGX_HTTP_GW_METRICS_LIMIT_ZONE_FULL  5  /* a new key found no room
                                                   in a full zone: 503, or
                                                   let through by config */
#define NGX_HTTP_GW_METRICS_LIMIT_DECISIONS  6


/* one authentication decision of a mechanism for r */
void ngx_http_gw_metrics_auth(ngx_http_request_t *r, ngx_uint_t mechanism,
    ngx_uint_t outcome);

/* one rate-limit decision for r */
void ngx_http_gw_metrics_limit(ngx_http_request_t *r, ngx_uint_t decision);

/* r failed request validation (JSON Schema, before the upstream) */
void ngx_http_gw_metrics_validation(ngx_http_request_t *r);

/* n audit events were dropped because the audit queue was full */
void ngx_http_gw_metrics_audit_dropped(ngx_uint_t n);

/*
 * A feature's own metric families, appended to every scrape of
 * gw_metrics_endpoint after the module's own: export(r, data) returns a
 * chain of buffers made in r's pool holding complete Prometheus text
 * lines (# HELP, # TYPE, samples), NULL when it has nothing to say, or
 * NGX_CHAIN_ERROR.  The feature keeps its own counters (in its own
 * shared memory): nothing here is per request.  Registered at
 * configuration time (postconfiguration); exporters run in registration
 * order.  Returns NGX_OK or NGX_ERROR.
 */
typedef ngx_chain_t *(*ngx_http_gw_metrics_export_pt)(ngx_http_request_t *r,
    void *data);

ngx_int_t ngx_http_gw_metrics_exporter(ngx_conf_t *cf,
    ngx_http_gw_metrics_export_pt export, void *data);

/* an exporter's answer: one empty buffer of size bytes in r's pool, in a
 * chain link; NULL on no memory */
ngx_chain_t *ngx_http_gw_metrics_chain(ngx_http_request_t *r, size_t size);


extern ngx_module_t  ngx_http_gw_metrics_module;


#endif /* _NGX_HTTP_GW_METRICS_H_INCLUDED_ */
