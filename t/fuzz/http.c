
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for the strict HTTP/1.1 response parser
 * (lib/http/gw_http_resp.h), which reads what a JWKS or discovery
 * endpoint answers.  Byte 0 sets the body cap, max_size, to 1 << (byte
 * mod 16) bytes; the rest is the response.  It is parsed twice, each
 * time into a copy of its own:
 *   - whole, with eof set;
 *   - in two reads, the first half without eof, then all of it with eof,
 *     with the same parser state, as the gateway reads.
 * Both must give the same answer, status, max-age, ETag and body bytes
 * (a prefix that ends the parse ends it the same way the whole does).
 * Each answer is checked against the header's contract: an error has a
 * reason; a complete response has a status of 200 to 599, a max-age of
 * -1 to GW_HTTP_RESP_AGE_MAX, an ETag of at most GW_HTTP_RESP_ETAG_MAX
 * bytes of visible ASCII inside the input, and, for a 200, a body inside
 * the input of at most max_size bytes, which for a Content-Length body
 * is the input's own bytes.
 *
 * Cap: none beyond libFuzzer's -max_len.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_http_resp.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check(gw_http_resp_t *r, int rc, const u_char *in, const u_char *buf,
    size_t len)
{
    size_t  i;

    if (rc == GW_HTTP_RESP_ERROR) {
        if (r->err == NULL) {
            abort();
        }

        return;
    }

    if (rc != GW_HTTP_RESP_OK) {
        return;
    }

    if (r->status < 200 || r->status > 599
        || r->max_age < -1 || r->max_age > GW_HTTP_RESP_AGE_MAX
        || r->etag_len > GW_HTTP_RESP_ETAG_MAX
        || r->etag > len || r->etag_len > len - r->etag)
    {
        abort();
    }

    for (i = 0; i < r->etag_len; i++) {
        if (buf[r->etag + i] <= 0x20 || buf[r->etag + i] >= 0x7f) {
            abort();
        }
    }

    if (r->status != 200) {
        return;
    }

    if (r->body > len || r->body_len > len - r->body
        || r->body_len > r->max_size || r->body < r->body_start)
    {
        abort();
    }

    if (!r->chunked && memcmp(buf + r->body, in + r->body, r->body_len) != 0)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc1, rc2;
    size_t           len, half, max_size;
    u_char          *one, *two;
    gw_http_resp_t   r1, r2;

    if (size < 1) {
        return 0;
    }

    max_size = (size_t) 1 << (data[0] % 16);
    data++;
    len = size - 1;

    one = malloc(len + 1);
    two = malloc(len + 1);

    if (one == NULL || two == NULL) {
        abort();
    }

    memcpy(one, data, len);

    gw_http_resp_init(&r1, max_size);
    rc1 = gw_http_resp_parse(&r1, one, len, 1);
    check(&r1, rc1, data, one, len);

    /* in two reads: the second sees the first's bytes at a new address */

    half = len / 2;
    memcpy(two + 1, data, half);

    gw_http_resp_init(&r2, max_size);
    rc2 = gw_http_resp_parse(&r2, two + 1, half, 0);
    check(&r2, rc2, data, two + 1, half);

    if (rc2 == GW_HTTP_RESP_AGAIN) {
        memcpy(two, data, len);
        rc2 = gw_http_resp_parse(&r2, two, len, 1);
        check(&r2, rc2, data, two, len);

    } else {
        memmove(two, two + 1, half);
    }

    if (rc1 != rc2) {
        abort();
    }

    if (rc1 == GW_HTTP_RESP_OK
        && (r1.status != r2.status
            || r1.max_age != r2.max_age
            || r1.etag_len != r2.etag_len
            || memcmp(one + r1.etag, two + r2.etag, r1.etag_len) != 0
            || r1.body_len != r2.body_len
            || memcmp(one + r1.body, two + r2.body, r1.body_len) != 0))
    {
        abort();
    }

    free(one);
    free(two);

    return 0;
}
