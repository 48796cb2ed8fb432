
/*
 * Copyright (C) Tollgate
 *
 * The one place that combines authentication (ngx_http_gw_auth.c).  Each
 * mechanism (JWT, API keys; mTLS later) registers itself once and, in its
 * own access handler, reports what it found for the request: no
 * credential, accepted, refused, or waiting.  The combination decides,
 * by gw_auth_satisfy (or a route's "auth" policy), whether the request
 * goes on, waits for another mechanism, or is denied, and which
 * challenges the 401 carries.  A mechanism never asks another one.
 */


#ifndef _NGX_HTTP_GW_AUTH_H_INCLUDED_
#define _NGX_HTTP_GW_AUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"


#define NGX_HTTP_GW_AUTH_MECHS_MAX     8

/* a mechanism's outcome for a request (0: it has not reported) */
#define NGX_HTTP_GW_AUTH_NO_CREDENTIAL 1
#define NGX_HTTP_GW_AUTH_ACCEPTED      2
#define NGX_HTTP_GW_AUTH_REFUSED       3
#define NGX_HTTP_GW_AUTH_WAITING       4


typedef struct ngx_http_gw_auth_mech_s  ngx_http_gw_auth_mech_t;

/* whether the mechanism is on in r's location configuration */
typedef ngx_uint_t (*ngx_http_gw_auth_on_pt)(ngx_http_request_t *r);

/*
 * The mechanism's challenge to a client that sent no credential at all
 * (e.g. Bearer realm="api"), in r->pool.  Returns NGX_OK or NGX_ERROR.
 */
typedef ngx_int_t (*ngx_http_gw_auth_challenge_pt)(ngx_http_request_t *r,
    ngx_str_t *challenge);


struct ngx_http_gw_auth_mech_s {
    ngx_str_t                       name;
    ngx_http_gw_auth_on_pt          on;
    ngx_http_gw_auth_challenge_pt   challenge;
    ngx_uint_t                      index;      /* set by _add() */
};


/*
 * Registers a mechanism, from its module's preconfiguration (mech lives
 * as long as the cycle).  Returns NGX_OK or NGX_ERROR (logged).
 */
ngx_int_t ngx_http_gw_auth_add(ngx_conf_t *cf, ngx_http_gw_auth_mech_t *mech);

/*
 * Records mech's outcome for r and decides.  Returns 1 when r must be
 * denied now by mech (refused; or no credential and no other mechanism
 * may still accept it): mech then answers through
 * ngx_http_gw_auth_deny().  Returns 0 when r goes on: accepted (the
 * handler returns NGX_OK), waiting (NGX_AGAIN), or no credential that
 * another mechanism makes up for, or may (NGX_DECLINED).
 */
ngx_uint_t ngx_http_gw_auth_report(ngx_http_request_t *r,
    ngx_http_gw_auth_mech_t *mech, ngx_uint_t outcome);

/*
 * Answers r's denial by mech: problem as the body, challenge (len 0:
 * none) as the first WWW-Authenticate header of a 401, then, when mech
 * found no credential and any mechanism would do, the challenge of every
 * other mechanism on in the location (RFC 9110, 11.6.1).  Returns what
 * the access handler returns.
 */
ngx_int_t ngx_http_gw_auth_deny(ngx_http_request_t *r,
    ngx_http_gw_auth_mech_t *mech, ngx_http_gw_problem_t *problem,
    ngx_str_t *challenge);


extern ngx_module_t  ngx_http_gw_auth_module;


#endif /* _NGX_HTTP_GW_AUTH_H_INCLUDED_ */
