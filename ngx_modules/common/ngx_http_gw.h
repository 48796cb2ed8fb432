
/*
 * Copyright (C) Tollgate
 *
 * What every Tollgate nginx module shares: the request id used in logs and
 * problem bodies, and the one way to answer a request with an RFC 9457
 * problem from a phase handler.
 */


#ifndef _NGX_HTTP_GW_H_INCLUDED_
#define _NGX_HTTP_GW_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    ngx_uint_t      status;
    const char     *type;               /* urn:tollgate:problem:... */
    const char     *title;
    ngx_str_t       detail;
    ngx_str_t       extra;              /* raw JSON members, or empty */
} ngx_http_gw_problem_t;


/*
 * Sends the problem as the whole response (headers the caller added to
 * r->headers_out stay), discarding any request body, and finalizes the
 * request.  Returns NGX_DONE, which a phase handler returns as it is, or
 * NGX_ERROR.
 */
ngx_int_t ngx_http_gw_send_problem(ngx_http_request_t *r,
    ngx_http_gw_problem_t *problem);

/* the request id: a well-formed X-Request-ID from the client, else nginx's
 * $request_id */
ngx_int_t ngx_http_gw_request_id(ngx_http_request_t *r, ngx_str_t *id);


extern ngx_module_t  ngx_http_gw_module;


#endif /* _NGX_HTTP_GW_H_INCLUDED_ */
