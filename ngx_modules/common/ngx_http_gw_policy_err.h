
/*
 * Copyright (C) Tollgate
 *
 * For a route policy kind's set() (ngx_http_gw_policy.h) that runs a
 * directive's own parsing code: the message that code logs with
 * ngx_conf_log_error() becomes the kind's error instead of an
 * [emerg] line in the error log at run time.
 */


#ifndef _NGX_HTTP_GW_POLICY_ERR_H_INCLUDED_
#define _NGX_HTTP_GW_POLICY_ERR_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    ngx_log_t      log;         /* cf->log while capturing */
    ngx_log_t     *saved;
    ngx_pool_t    *pool;
    ngx_str_t     *err;
    ngx_str_t      file;        /* cf's file name, for " in file:line" */
} ngx_http_gw_policy_err_t;


/* from now on, cf's messages go to *err (the last one, in cf->pool) */
void ngx_http_gw_policy_err_capture(ngx_conf_t *cf,
    ngx_http_gw_policy_err_t *pe, ngx_str_t *err);

/* cf->log as it was */
void ngx_http_gw_policy_err_release(ngx_conf_t *cf,
    ngx_http_gw_policy_err_t *pe);


#endif /* _NGX_HTTP_GW_POLICY_ERR_H_INCLUDED_ */
