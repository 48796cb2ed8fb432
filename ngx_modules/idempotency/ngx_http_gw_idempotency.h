
/*
 * Copyright (C) Tollgate
 *
 * Idempotency-Key at the edge (docs/idempotency.md): what the module's
 * files share.  ngx_http_gw_idempotency_module.c holds the directives
 * and the precontent handler (key, body fingerprint, the begin script);
 * ngx_http_gw_idempotency_answer.c its answers (the 4xx/503 problems and
 * the replay); the filter module in ngx_http_gw_idempotency_filter.c
 * captures the first answer as the content handler produced it and
 * stores it, or gives the key back.
 */


#ifndef _NGX_HTTP_GW_IDEMPOTENCY_H_INCLUDED_
#define _NGX_HTTP_GW_IDEMPOTENCY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_gw_redis.h"
#include "gw_idem.h"


#define NGX_HTTP_GW_IDEM_OFF          0
#define NGX_HTTP_GW_IDEM_ON           1
#define NGX_HTTP_GW_IDEM_REQUIRED     2

/* where a request stands (ctx->phase) */
#define NGX_HTTP_GW_IDEM_START        0     /* nothing done yet */
#define NGX_HTTP_GW_IDEM_READING      1     /* the body is being read */
#define NGX_HTTP_GW_IDEM_ASKING       2     /* the begin script is sent */
#define NGX_HTTP_GW_IDEM_OWNER        3     /* the key is ours: go on */
#define NGX_HTTP_GW_IDEM_PASS         4     /* nothing to do for r */


typedef struct {
    ngx_uint_t                      used;
    ngx_http_gw_redis_script_t      begin;
    ngx_http_gw_redis_script_t      store;
    ngx_http_gw_redis_script_t      release;
} ngx_http_gw_idem_main_conf_t;


typedef struct {
    ngx_uint_t                      mode;
    ngx_http_complex_value_t       *scope;
    ngx_msec_t                      ttl;
    ngx_msec_t                      lock_ttl;
    ngx_uint_t                      key_max;
    size_t                          body_max;       /* request body */
    size_t                          store_max;      /* answer body */
} ngx_http_gw_idem_loc_conf_t;


typedef struct {
    ngx_uint_t                      phase;
    EVP_MD_CTX                     *md;             /* the fingerprint */
    off_t                           body_len;
    u_char                          record[GW_IDEM_RECORD_KEY_LEN];
    u_char                          fp[64];         /* hex */
    u_char                          owner[32];      /* hex, random */

    /* the begin script's reply, copied into r->pool */
    ngx_str_t                       state;
    ngx_str_t                       status;
    ngx_str_t                       headers;
    ngx_str_t                       body;
    ngx_http_gw_redis_status_e      redis;

    /* the first answer, as captured */
    ngx_uint_t                      answer;         /* its status */
    ngx_str_t                       answer_headers;
    u_char                         *buf;
    size_t                          len;
    size_t                          size;
    size_t                          store_max;
    ngx_msec_t                      ttl;

    unsigned                        hashing:1;      /* the filter hashes */
    unsigned                        filtered:1;     /* from the first byte */
    unsigned                        too_large:1;    /* request body */
    unsigned                        read:1;
    unsigned                        waiting:1;
    unsigned                        replied:1;
    unsigned                        capture:1;      /* the answer's body */
    unsigned                        unstorable:1;   /* too large, or lost */
    unsigned                        finished:1;     /* stored or released */
} ngx_http_gw_idem_ctx_t;


/*
 * r's context, also after an internal redirect (which clears module
 * contexts: the pool cleanup that frees the digest still points to it);
 * NULL when r has none.
 */
ngx_http_gw_idem_ctx_t *ngx_http_gw_idem_get_ctx(ngx_http_request_t *r);

/*
 * After the begin script's reply (ngx_http_gw_idempotency_answer.c):
 * NGX_DECLINED when r now owns the key, else the answer sent (a replay,
 * 409, 422, 503), as a precontent handler returns it.
 */
ngx_int_t ngx_http_gw_idem_decide(ngx_http_request_t *r,
    ngx_http_gw_idem_loc_conf_t *lcf, ngx_http_gw_idem_ctx_t *ctx);

/* sends a problem (detail a constant string); returns NGX_DONE or error */
ngx_int_t ngx_http_gw_idem_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail);

/* the filters (ngx_http_gw_idempotency_filter.c) */
ngx_int_t ngx_http_gw_idem_filter_init(ngx_conf_t *cf);

/*
 * Sends the store (done, unstored) or release script for r's key, as a
 * command that outlives r; failures are logged.  Marks ctx finished.
 */
void ngx_http_gw_idem_finish(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx, ngx_uint_t release);


extern ngx_module_t  ngx_http_gw_idempotency_module;
extern ngx_module_t  ngx_http_gw_idempotency_filter_module;


#endif /* _NGX_HTTP_GW_IDEMPOTENCY_H_INCLUDED_ */
