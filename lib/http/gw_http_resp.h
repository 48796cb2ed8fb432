
/*
 * Copyright (C) Tollgate
 *
 * A strict HTTP/1.1 response parser for the small documents the gateway
 * fetches itself (a JWKS, an OpenID discovery document).  It takes only
 * what such an endpoint needs and refuses the rest: a status line
 * "HTTP/1.x DDD", at most GW_HTTP_RESP_FIELDS_MAX header fields in
 * GW_HTTP_RESP_HEADER_MAX bytes, no control byte in a field, no obsolete
 * line folding, no interim (1xx) response, one Content-Length or
 * "Transfer-Encoding: chunked" (never both), a body of at most max_size
 * bytes.  Of the fields it keeps ETag and the max-age of Cache-Control.
 *
 * The key design decision: the parser owns no memory and keeps no
 * pointer.  The caller holds the bytes received so far in one buffer,
 * which it may move and grow between calls, and calls
 * gw_http_resp_parse() over all of it after each read; every position
 * the parser remembers or answers is an offset into that buffer.  A
 * chunked body is decoded in place, over its own framing, once it is
 * complete.  Without nginx types, so that a unit test and a fuzz driver
 * reach it.
 */


#ifndef _GW_HTTP_RESP_H_INCLUDED_
#define _GW_HTTP_RESP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define GW_HTTP_RESP_HEADER_MAX  (16 * 1024)    /* status line and header
                                                   fields, bytes */
#define GW_HTTP_RESP_FIELDS_MAX  64             /* header fields */
#define GW_HTTP_RESP_ETAG_MAX    256            /* an ETag kept, bytes */
#define GW_HTTP_RESP_AGE_MAX     (365 * 86400)  /* max-age, seconds */

#define GW_HTTP_RESP_OK          0
#define GW_HTTP_RESP_AGAIN       1
#define GW_HTTP_RESP_ERROR      -1


typedef struct {
    size_t        max_size;         /* in: of the body, decoded */

    unsigned      status;           /* 200..599, once the header is in */
    time_t        max_age;          /* -1: none given; "no-store" and
                                       "no-cache" count as 0 */
    size_t        etag;             /* offset of the ETag kept */
    size_t        etag_len;         /* 0: none (or not visible ASCII) */
    size_t        body;             /* offset of the body (status 200) */
    size_t        body_len;
    const char   *err;              /* a static reason, on an error */

    size_t        body_start;       /* offset, once headers_done */
    int64_t       content_length;   /* -1: none */
    unsigned      headers_done:1;
    unsigned      chunked:1;
} gw_http_resp_t;


/* readies r for one response of at most max_size body bytes */
void gw_http_resp_init(gw_http_resp_t *r, size_t max_size);

/*
 * Parses the len bytes received so far, buf[0] being the first byte of
 * the response; eof: the peer closed, no more bytes come.  Call again
 * with the same r and the same bytes (moved, and more of them) until the
 * answer is not GW_HTTP_RESP_AGAIN.  Returns
 *   GW_HTTP_RESP_OK     the response is complete: status, etag, max_age
 *                       set; for status 200 body and body_len too (the
 *                       body of any other status is not read);
 *   GW_HTTP_RESP_AGAIN  more bytes are needed; with eof set, the
 *                       response was cut short (the caller's error);
 *   GW_HTTP_RESP_ERROR  err says why; status may be set, and means
 *                       nothing then.
 * A complete chunked body is decoded into buf, from body onwards: the
 * bytes after it are left undefined.  Bytes past the response are
 * ignored.
 */
int gw_http_resp_parse(gw_http_resp_t *r, u_char *buf, size_t len,
    int eof);


#endif /* _GW_HTTP_RESP_H_INCLUDED_ */
