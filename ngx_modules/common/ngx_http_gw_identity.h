
/*
 * Copyright (C) Tollgate
 *
 * Identity headers (ngx_http_gw_identity.c): the headers through which the
 * gateway tells an upstream who the caller is (X-Consumer-*, and the
 * gw_jwt_claim_header names), which no client may supply.
 */


#ifndef _NGX_HTTP_GW_IDENTITY_H_INCLUDED_
#define _NGX_HTTP_GW_IDENTITY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Called by the authentication modules while the configuration is read:
 * turns the stripping on for the whole http block and, when name is not
 * NULL, adds a header name to strip besides X-Consumer-*.  name must live
 * as long as the configuration.
 */
ngx_int_t ngx_http_gw_identity_add(ngx_conf_t *cf, ngx_str_t *name);

/*
 * 1 when r's client identity headers were removed in this pass through
 * the phases (since the last internal redirect), so a module about to set
 * its own need not strip the client's copies first; 0 otherwise.
 */
ngx_uint_t ngx_http_gw_identity_clean(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_gw_identity_module;


#endif /* _NGX_HTTP_GW_IDENTITY_H_INCLUDED_ */
