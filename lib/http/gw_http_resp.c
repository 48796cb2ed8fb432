
/*
 * Copyright (C) Tollgate
 *
 * The strict HTTP/1.1 response parser (gw_http_resp.h): the status line
 * and header fields once the empty line that ends them is in, then the
 * body by Content-Length, by chunks (RFC 9112 section 7.1), or up to the
 * peer's close.  The header is parsed in one go, never piecewise, so a
 * field is judged only once all of it has come; the body is judged again
 * on each call, which is cheap at the sizes allowed (max_size).
 *
 * Every cap is checked before the bytes it bounds are used: the header's
 * size while searching for its end, the number of fields as each is
 * read, Content-Length against max_size before the body comes, a chunk
 * size of at most 8 hex digits and the sum of the chunks against
 * max_size.
 */


#include <string.h>
#include <strings.h>

#include "gw_http_resp.h"


#define CR  '\r'
#define LF  '\n'


static int gw_http_resp_headers(gw_http_resp_t *r, u_char *buf,
    u_char *p, u_char *end);
static int gw_http_resp_field(gw_http_resp_t *r, u_char *buf,
    u_char *name, size_t name_len, u_char *value, size_t value_len);
static void gw_http_resp_cache_control(gw_http_resp_t *r, u_char *value,
    size_t len);
static int gw_http_resp_unchunk(gw_http_resp_t *r, u_char *buf,
    size_t len, int eof);
static u_char *gw_http_resp_find(u_char *p, u_char *last, u_char c);
static int gw_http_resp_hex(u_char c);


void
gw_http_resp_init(gw_http_resp_t *r, size_t max_size)
{
    memset(r, 0, sizeof(gw_http_resp_t));

    r->max_size = max_size;
    r->max_age = -1;
    r->content_length = -1;
}


int
gw_http_resp_parse(gw_http_resp_t *r, u_char *buf, size_t len, int eof)
{
    u_char  *p, *end;
    size_t   n;

    if (!r->headers_done) {
        n = len < GW_HTTP_RESP_HEADER_MAX ? len : GW_HTTP_RESP_HEADER_MAX;
        end = NULL;

        for (p = buf; p + 4 <= buf + n; p++) {
            if (p[0] == CR && p[1] == LF && p[2] == CR && p[3] == LF) {
                end = p;
                break;
            }
        }

        if (end == NULL) {
            if (n == GW_HTTP_RESP_HEADER_MAX) {
                r->err = "response header too large";
                return GW_HTTP_RESP_ERROR;
            }

            return GW_HTTP_RESP_AGAIN;
        }

        if (gw_http_resp_headers(r, buf, buf, end + 2) != GW_HTTP_RESP_OK) {
            return GW_HTTP_RESP_ERROR;
        }

        r->headers_done = 1;
        r->body_start = end + 4 - buf;
    }

    if (r->status != 200) {
        return GW_HTTP_RESP_OK;     /* the body of anything else is unread */
    }

    if (r->chunked) {
        return gw_http_resp_unchunk(r, buf, len, eof);
    }

    n = len - r->body_start;

    if (r->content_length >= 0) {
        if (n < (uint64_t) r->content_length) {
            return GW_HTTP_RESP_AGAIN;
        }

        n = (size_t) r->content_length;

    } else if (n > r->max_size) {
        r->err = "response too large";
        return GW_HTTP_RESP_ERROR;

    } else if (!eof) {
        return GW_HTTP_RESP_AGAIN;
    }

    r->body = r->body_start;
    r->body_len = n;

    return GW_HTTP_RESP_OK;
}


/* the status line and the fields, p to end (the last field's CRLF) */

static int
gw_http_resp_headers(gw_http_resp_t *r, u_char *buf, u_char *p, u_char *end)
{
    u_char    *eol, *q, *name, *value;
    size_t     name_len;
    unsigned   nfields;

    /* "HTTP/1.x DDD" [SP reason] CRLF */

    if (end - p < 14
        || memcmp(p, "HTTP/1.", 7) != 0
        || (p[7] != '0' && p[7] != '1')
        || p[8] != ' '
        || p[9] < '1' || p[9] > '5'
        || p[10] < '0' || p[10] > '9'
        || p[11] < '0' || p[11] > '9'
        || (p[12] != ' ' && p[12] != CR))
    {
        r->err = "malformed status line";
        return GW_HTTP_RESP_ERROR;
    }

    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

    if (r->status < 200) {
        r->err = "unexpected interim response";
        return GW_HTTP_RESP_ERROR;
    }

    eol = gw_http_resp_find(p, end, CR);

    if (eol == NULL || eol + 1 >= end || eol[1] != LF) {
        r->err = "malformed status line";
        return GW_HTTP_RESP_ERROR;
    }

    for (q = p + 12; q < eol; q++) {
        if ((*q < 0x20 && *q != '\t') || *q == 0x7f) {
            r->err = "control byte in the status line";
            return GW_HTTP_RESP_ERROR;
        }
    }

    p = eol + 2;
    nfields = 0;

    while (p < end) {
        eol = gw_http_resp_find(p, end, CR);

        if (eol == NULL || eol + 1 >= end || eol[1] != LF) {
            r->err = "malformed header field";
            return GW_HTTP_RESP_ERROR;
        }

        if (++nfields > GW_HTTP_RESP_FIELDS_MAX) {
            r->err = "too many header fields";
            return GW_HTTP_RESP_ERROR;
        }

        /* field-name = token (RFC 9110 section 5.1); no folding */

        name = p;

        for (q = p; q < eol && *q != ':'; q++) {
            if (*q <= 0x20 || *q >= 0x7f
                || strchr("\"(),/;<=>?@[\\]{}", *q) != NULL)
            {
                r->err = "malformed header field";
                return GW_HTTP_RESP_ERROR;
            }
        }

        if (q == eol || q == p) {
            r->err = "malformed header field";
            return GW_HTTP_RESP_ERROR;
        }

        name_len = q - p;

        for (q++; q < eol && (*q == ' ' || *q == '\t'); q++) { /* void */ }

        value = q;

        for ( /* void */ ; q < eol; q++) {
            if ((*q < 0x20 && *q != '\t') || *q == 0x7f) {
                r->err = "control byte in a header field";
                return GW_HTTP_RESP_ERROR;
            }
        }

        while (q > value && (q[-1] == ' ' || q[-1] == '\t')) {
            q--;
        }

        if (gw_http_resp_field(r, buf, name, name_len, value, q - value)
            != GW_HTTP_RESP_OK)
        {
            return GW_HTTP_RESP_ERROR;
        }

        p = eol + 2;
    }

    if (r->chunked && r->content_length >= 0) {
        r->err = "both Content-Length and Transfer-Encoding";
        return GW_HTTP_RESP_ERROR;
    }

    return GW_HTTP_RESP_OK;
}


/* one field: those the parser keeps or obeys, the others ignored */

static int
gw_http_resp_field(gw_http_resp_t *r, u_char *buf, u_char *name,
    size_t name_len, u_char *value, size_t value_len)
{
    size_t   i;
    int64_t  n;

    if (name_len == 14
        && strncasecmp((char *) name, "Content-Length", 14) == 0)
    {
        /* 1*DIGIT, within int64_t */

        n = 0;

        for (i = 0; i < value_len; i++) {
            if (value[i] < '0' || value[i] > '9'
                || n > (INT64_MAX - (value[i] - '0')) / 10)
            {
                break;
            }

            n = n * 10 + (value[i] - '0');
        }

        if (value_len == 0 || i != value_len || r->content_length >= 0) {
            r->err = "invalid Content-Length";
            return GW_HTTP_RESP_ERROR;
        }

        if (r->status == 200 && (uint64_t) n > r->max_size) {
            r->err = "response too large";
            return GW_HTTP_RESP_ERROR;
        }

        r->content_length = n;
        return GW_HTTP_RESP_OK;
    }

    if (name_len == 17
        && strncasecmp((char *) name, "Transfer-Encoding", 17) == 0)
    {
        if (value_len != 7 || r->chunked
            || strncasecmp((char *) value, "chunked", 7) != 0)
        {
            r->err = "unsupported Transfer-Encoding";
            return GW_HTTP_RESP_ERROR;
        }

        r->chunked = 1;
        return GW_HTTP_RESP_OK;
    }

    if (name_len == 4 && strncasecmp((char *) name, "ETag", 4) == 0) {

        /* kept only when it can go back as it came: visible ASCII */

        r->etag_len = 0;

        if (value_len == 0 || value_len > GW_HTTP_RESP_ETAG_MAX) {
            return GW_HTTP_RESP_OK;
        }

        for (i = 0; i < value_len; i++) {
            if (value[i] <= 0x20 || value[i] >= 0x7f) {
                return GW_HTTP_RESP_OK;
            }
        }

        r->etag = value - buf;
        r->etag_len = value_len;
        return GW_HTTP_RESP_OK;
    }

    if (name_len == 13
        && strncasecmp((char *) name, "Cache-Control", 13) == 0)
    {
        gw_http_resp_cache_control(r, value, value_len);
    }

    return GW_HTTP_RESP_OK;
}


/*
 * Cache-Control: "max-age=N" (the smallest, when several), "no-store" and
 * "no-cache" as 0; other directives are ignored.  A malformed max-age is
 * ignored too: the caller's bounds apply then.
 */

static void
gw_http_resp_cache_control(gw_http_resp_t *r, u_char *value, size_t len)
{
    u_char  *p, *last, *q;
    time_t   age;

    p = value;
    last = p + len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        q = p;

        while (q < last && *q != ',') {
            q++;
        }

        age = -1;

        if (q - p > 8 && strncasecmp((char *) p, "max-age=", 8) == 0) {
            age = 0;

            for (p += 8; p < q && *p >= '0' && *p <= '9'; p++) {
                age = age * 10 + (*p - '0');

                if (age > GW_HTTP_RESP_AGE_MAX) {
                    age = GW_HTTP_RESP_AGE_MAX;
                }
            }

            while (p < q && (*p == ' ' || *p == '\t')) {
                p++;
            }

            if (p != q) {
                age = -1;
            }

        } else if ((q - p >= 8 && strncasecmp((char *) p, "no-store", 8) == 0)
                   || (q - p >= 8
                       && strncasecmp((char *) p, "no-cache", 8) == 0))
        {
            age = 0;
        }

        if (age >= 0 && (r->max_age < 0 || age < r->max_age)) {
            r->max_age = age;
        }

        p = q;
    }
}


/*
 * A chunked body: chunk sizes of at most 8 hex digits, extensions
 * skipped, trailer fields skipped, the decoded size capped at max_size.
 * A first pass checks that the body is complete; a second one moves each
 * chunk's data down over the framing before it, which it has read
 * already (the data never moves up, so nothing unread is overwritten).
 */

static int
gw_http_resp_unchunk(gw_http_resp_t *r, u_char *buf, size_t len, int eof)
{
    int       decode, d;
    u_char   *p, *last, *eol, *o;
    size_t    size, total;
    unsigned  digits;

    last = buf + len;
    o = buf + r->body_start;

    for (decode = 0; decode < 2; decode++) {
        p = buf + r->body_start;
        total = 0;

        for ( ;; ) {
            size = 0;
            digits = 0;

            while (p < last && (d = gw_http_resp_hex(*p)) >= 0) {
                if (++digits > 8) {
                    r->err = "malformed chunked body";
                    return GW_HTTP_RESP_ERROR;
                }

                size = size * 16 + d;
                p++;
            }

            eol = gw_http_resp_find(p, last, LF);

            if (eol == NULL) {
                goto incomplete;
            }

            if (digits == 0 || eol == p || eol[-1] != CR
                || (eol - 1 != p && *p != ';'))
            {
                r->err = "malformed chunked body";
                return GW_HTTP_RESP_ERROR;
            }

            p = eol + 1;

            if (size == 0) {
                break;
            }

            total += size;

            if (total > r->max_size) {
                r->err = "response too large";
                return GW_HTTP_RESP_ERROR;
            }

            if ((size_t) (last - p) < size + 2) {
                goto incomplete;
            }

            if (decode) {
                memmove(o, p, size);
                o += size;
            }

            p += size;

            if (p[0] != CR || p[1] != LF) {
                r->err = "malformed chunked body";
                return GW_HTTP_RESP_ERROR;
            }

            p += 2;
        }

        /* trailer fields, then the empty line */

        for ( ;; ) {
            eol = gw_http_resp_find(p, last, LF);

            if (eol == NULL) {
                goto incomplete;
            }

            if (eol == p || eol[-1] != CR) {
                r->err = "malformed chunked body";
                return GW_HTTP_RESP_ERROR;
            }

            if (eol == p + 1) {
                break;
            }

            p = eol + 1;
        }
    }

    r->body = r->body_start;
    r->body_len = total;

    return GW_HTTP_RESP_OK;

incomplete:

    if (eof) {
        r->err = "response truncated";
        return GW_HTTP_RESP_ERROR;
    }

    return GW_HTTP_RESP_AGAIN;
}


static u_char *
gw_http_resp_find(u_char *p, u_char *last, u_char c)
{
    return (p < last) ? memchr(p, c, last - p) : NULL;
}


static int
gw_http_resp_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}
