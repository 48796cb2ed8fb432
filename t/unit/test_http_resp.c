
/*
 * Copyright (C) Tollgate
 *
 * The strict HTTP/1.1 response parser (lib/http): a body by
 * Content-Length, by chunks (decoded in place, extensions and trailers
 * skipped) and up to the close; responses that come in pieces, in a
 * buffer that moves between reads; the fields kept (ETag, the smallest
 * max-age, no-store and no-cache as 0) and those ignored; and each
 * refusal: malformed status lines, interim responses, control bytes,
 * folding, a field name that is not a token, too many fields, a header
 * past its cap, a bad or second Content-Length, both framings, an
 * unknown Transfer-Encoding, a body past max_size, bad chunk framing,
 * and a truncated response.
 */


#include <string.h>

#include "gw_http_resp.h"
#include "tap.h"


#define OK200  "HTTP/1.1 200 OK\r\n"


static u_char  buf[64 * 1024];


/* parses s whole (eof set), in buf, with a body cap of max */

static int
parse(gw_http_resp_t *r, const char *s, size_t max)
{
    size_t  len;

    len = strlen(s);
    memcpy(buf, s, len);

    gw_http_resp_init(r, max);

    return gw_http_resp_parse(r, buf, len, 1);
}


static int
body_is(gw_http_resp_t *r, const char *want)
{
    return r->body_len == strlen(want)
           && memcmp(buf + r->body, want, r->body_len) == 0;
}


static int
etag_is(gw_http_resp_t *r, const char *want)
{
    return r->etag_len == strlen(want)
           && memcmp(buf + r->etag, want, r->etag_len) == 0;
}


static void
err_is(const char *s, size_t max, const char *want, const char *name)
{
    int             rc;
    gw_http_resp_t  r;

    rc = parse(&r, s, max);

    ok(rc == GW_HTTP_RESP_ERROR && r.err != NULL && strcmp(r.err, want) == 0,
       "%s: %s", name, rc == GW_HTTP_RESP_ERROR ? r.err : "accepted");
}


static void
test_bodies(void)
{
    gw_http_resp_t  r;

    is_int(parse(&r, OK200 "Content-Length: 5\r\n\r\nhelloXX", 100),
           GW_HTTP_RESP_OK, "Content-Length body");
    is_int(r.status, 200, "status");
    ok(body_is(&r, "hello"), "bytes past Content-Length ignored");
    is_int(r.max_age, -1, "no max-age");
    is_int(r.etag_len, 0, "no ETag");

    is_int(parse(&r, OK200 "Server: x\r\n\r\n{\"keys\":[]}", 100),
           GW_HTTP_RESP_OK, "body up to the close");
    ok(body_is(&r, "{\"keys\":[]}"), "body to the close");

    is_int(parse(&r, OK200 "Transfer-Encoding: Chunked\r\n\r\n"
                 "5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\n"
                 "X-Trailer: y\r\n\r\n", 100),
           GW_HTTP_RESP_OK, "chunked body");
    ok(body_is(&r, "hello, world!!!"), "chunks decoded in place");

    is_int(parse(&r, "HTTP/1.0 304 Not Modified\r\nETag: \"v1\"\r\n"
                 "Cache-Control: max-age=60\r\n\r\n", 100),
           GW_HTTP_RESP_OK, "304");
    is_int(r.status, 304, "status 304");
    ok(etag_is(&r, "\"v1\""), "ETag of a 304");
    is_int(r.max_age, 60, "max-age of a 304");

    is_int(parse(&r, "HTTP/1.1 404\r\nContent-Length: 999999\r\n\r\nno",
                 100),
           GW_HTTP_RESP_OK, "a 404's body is not read, nor capped");
    is_int(r.body_len, 0, "no body for a 404");
}


static void
test_pieces(void)
{
    int             rc;
    size_t          len, cut;
    const char     *s;
    gw_http_resp_t  r;

    s = OK200 "Transfer-Encoding: chunked\r\nETag: W/\"e\"\r\n\r\n"
        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    len = strlen(s);

    for (cut = 0; cut < len; cut++) {
        gw_http_resp_init(&r, 100);

        /* the first read at the end of buf, the second at its start */

        memcpy(buf + sizeof(buf) - cut, s, cut);
        rc = gw_http_resp_parse(&r, buf + sizeof(buf) - cut, cut, 0);

        if (rc != GW_HTTP_RESP_AGAIN) {
            break;
        }

        memcpy(buf, s, len);
        rc = gw_http_resp_parse(&r, buf, len, 0);

        if (rc != GW_HTTP_RESP_OK || !body_is(&r, "abcde")
            || !etag_is(&r, "W/\"e\""))
        {
            break;
        }
    }

    is_int(cut, len, "every cut of a chunked response: AGAIN, then OK");

    s = OK200 "\r\nabc";
    len = strlen(s);
    gw_http_resp_init(&r, 100);
    memcpy(buf, s, len);
    is_int(gw_http_resp_parse(&r, buf, len, 0), GW_HTTP_RESP_AGAIN,
           "a body without a length waits for the close");
    is_int(gw_http_resp_parse(&r, buf, len, 1), GW_HTTP_RESP_OK,
           "and ends with it");
    ok(body_is(&r, "abc"), "body to the close, in two reads");

    s = OK200 "Content-Length: 10\r\n\r\nabc";
    len = strlen(s);
    gw_http_resp_init(&r, 100);
    memcpy(buf, s, len);
    is_int(gw_http_resp_parse(&r, buf, len, 1), GW_HTTP_RESP_AGAIN,
           "a short Content-Length body at the close: AGAIN (truncated)");

    err_is(OK200 "Transfer-Encoding: chunked\r\n\r\n5\r\nab", 100,
           "response truncated", "a chunked body cut short");
}


static void
test_fields(void)
{
    gw_http_resp_t  r;

    parse(&r, OK200 "cache-control: public, max-age=300, max-age=60 \r\n"
          "Content-Length: 0\r\n\r\n", 100);
    is_int(r.max_age, 60, "the smallest max-age");

    parse(&r, OK200 "Cache-Control: no-store\r\nContent-Length: 0\r\n\r\n",
          100);
    is_int(r.max_age, 0, "no-store as 0");

    parse(&r, OK200 "Cache-Control: max-age=1x, no-cache\r\n\r\n", 100);
    is_int(r.max_age, 0, "malformed max-age ignored, no-cache as 0");

    parse(&r, OK200 "Cache-Control: max-age=99999999999\r\n\r\n", 100);
    is_int(r.max_age, GW_HTTP_RESP_AGE_MAX, "max-age capped");

    parse(&r, OK200 "ETag: \"a\"\r\nETag: \"b c\"\r\n\r\n", 100);
    is_int(r.etag_len, 0, "an ETag with a space is not kept");

    parse(&r, OK200 "X-Empty:\r\nETag:   \"x\"  \r\n\r\n", 100);
    ok(etag_is(&r, "\"x\""), "an empty field; ETag trimmed");
}


static void
test_refused(void)
{
    char            big[GW_HTTP_RESP_HEADER_MAX + 64];
    size_t          i, n;
    gw_http_resp_t  r;

    err_is("HTTP/2 200 OK\r\n\r\n", 100, "malformed status line",
           "HTTP/2");
    err_is("HTTP/1.1 200OK\r\n\r\n", 100, "malformed status line",
           "no space after the code");
    err_is("HTTP/1.1 600 X\r\n\r\n", 100, "malformed status line",
           "status 600");
    err_is("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 100,
           "unexpected interim response", "100 Continue");
    err_is("HTTP/1.1 200 O\001K\r\n\r\n", 100,
           "control byte in the status line", "control byte, status");
    err_is(OK200 "X: a\001b\r\n\r\n", 100,
           "control byte in a header field", "control byte, field");
    err_is(OK200 "X: a\r\n folded\r\n\r\n", 100, "malformed header field",
           "obsolete line folding");
    err_is(OK200 "X Y: a\r\n\r\n", 100, "malformed header field",
           "a space in a field name");
    err_is(OK200 ": a\r\n\r\n", 100, "malformed header field",
           "an empty field name");
    err_is(OK200 "X-No-Colon\r\n\r\n", 100, "malformed header field",
           "no colon");
    err_is(OK200 "X: a\nY: b\r\n\r\n", 100,
           "control byte in a header field", "a bare LF");
    err_is(OK200 "Content-Length: 1x\r\n\r\n", 100,
           "invalid Content-Length", "Content-Length not a number");
    err_is(OK200 "Content-Length: \r\n\r\n", 100,
           "invalid Content-Length", "Content-Length empty");
    err_is(OK200 "Content-Length: 99999999999999999999\r\n\r\n", 100,
           "invalid Content-Length", "Content-Length past int64");
    err_is(OK200 "Content-Length: 1\r\nContent-Length: 1\r\n\r\na", 100,
           "invalid Content-Length", "two Content-Length");
    err_is(OK200 "Content-Length: 101\r\n\r\n", 100, "response too large",
           "Content-Length past max_size");
    err_is(OK200 "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           100, "both Content-Length and Transfer-Encoding",
           "both framings");
    err_is(OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n", 100,
           "unsupported Transfer-Encoding", "gzip");
    err_is(OK200 "Transfer-Encoding: chunked\r\n"
           "Transfer-Encoding: chunked\r\n\r\n", 100,
           "unsupported Transfer-Encoding", "chunked twice");
    err_is(OK200 "\r\n0123456789", 8, "response too large",
           "a body to the close past max_size");
    err_is(OK200 "Transfer-Encoding: chunked\r\n\r\n"
           "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 8,
           "response too large", "chunks past max_size");
    err_is(OK200 "Transfer-Encoding: chunked\r\n\r\n"
           "000000005\r\nhello\r\n0\r\n\r\n", 100,
           "malformed chunked body", "nine digits of chunk size");
    err_is(OK200 "Transfer-Encoding: chunked\r\n\r\n"
           "5\r\nhelloXX0\r\n\r\n", 100,
           "malformed chunked body", "no CRLF after the data");
    err_is(OK200 "Transfer-Encoding: chunked\r\n\r\n"
           "5x\r\nhello\r\n0\r\n\r\n", 100,
           "malformed chunked body", "junk after the size");
    err_is(OK200 "Transfer-Encoding: chunked\r\n\r\n"
           "5\nhello\r\n0\r\n\r\n", 100,
           "malformed chunked body", "a bare LF after the size");

    n = 0;
    memcpy(big, OK200, sizeof(OK200) - 1);
    n += sizeof(OK200) - 1;

    for (i = 0; i <= GW_HTTP_RESP_FIELDS_MAX; i++) {
        memcpy(big + n, "X: y\r\n", 6);
        n += 6;
    }

    memcpy(big + n, "\r\n", 3);
    err_is(big, 100, "too many header fields", "65 fields");

    n = sizeof(OK200) - 1 + 6;
    memcpy(big + n, "\r\n", 3);
    is_int(parse(&r, big, 100), GW_HTTP_RESP_OK,
           "one field is fine");

    memcpy(big, OK200 "X: ", sizeof(OK200) - 1 + 3);
    memset(big + sizeof(OK200) - 1 + 3, 'a', sizeof(big) - 21);
    big[sizeof(big) - 1] = '\0';
    err_is(big, 100, "response header too large", "a header past its cap");
}


int
main(void)
{
    test_bodies();
    test_pieces();
    test_fields();
    test_refused();

    return done_testing();
}
