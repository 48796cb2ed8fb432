
/*
 * Copyright (C) Tollgate
 *
 * A copy of a request body made by a request body filter as nginx reads
 * it (gw_validate_body, gw_publish), so that a body nginx spools to a
 * file is never read back: the copy grows (doubling, for a chunked body)
 * up to a cap, past which it only notes that the body is too large.
 */


#ifndef _NGX_HTTP_GW_BODY_H_INCLUDED_
#define _NGX_HTTP_GW_BODY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct {
    u_char                     *buf;            /* the body, as read */
    size_t                      len;
    size_t                      size;           /* of buf */
    size_t                      max;
    unsigned                    lost:1;         /* a part was in a file */
    unsigned                    too_large:1;    /* past max: copy stopped */
} ngx_http_gw_body_copy_t;


/* a copy of at most max bytes, size of them allocated now; NGX_OK, or
 * NGX_ERROR when out of memory */
ngx_int_t ngx_http_gw_body_copy_init(ngx_pool_t *pool,
    ngx_http_gw_body_copy_t *copy, size_t size, size_t max);

/*
 * Appends the in-memory buffers of in (a request body filter's chain):
 * a buffer in a file sets copy->lost instead.  NGX_OK, or NGX_ERROR when
 * out of memory.
 */
ngx_int_t ngx_http_gw_body_copy_chain(ngx_pool_t *pool,
    ngx_http_gw_body_copy_t *copy, ngx_chain_t *in);

/*
 * The copy made again from r->request_body, for a body the filter did
 * not see whole: its memory buffers, and the part nginx wrote to its
 * temporary file (a local file, just written, of at most copy->max
 * bytes), read back.  The copy is one byte longer than the body, for a
 * parser's terminator.  NGX_OK (copy->too_large when the body is over
 * the cap), or NGX_ERROR, logged naming who.
 */
ngx_int_t ngx_http_gw_body_copy_read(ngx_http_request_t *r,
    ngx_http_gw_body_copy_t *copy, const char *who);

/*
 * The request headers that say how to read its body, in one walk: how
 * many Content-Type and Content-Encoding headers it has (more than one
 * of either makes the body ambiguous), and the last Content-Encoding
 * (NULL: none).
 */
void ngx_http_gw_body_headers(ngx_http_request_t *r, ngx_uint_t *types,
    ngx_uint_t *codings, ngx_table_elt_t **coding);


#endif /* _NGX_HTTP_GW_BODY_H_INCLUDED_ */
