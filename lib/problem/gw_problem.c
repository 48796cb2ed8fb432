
/*
 * Copyright (C) Tollgate
 *
 * Problem details bodies.  Length and writing share one escaping walk
 * (gw_json_escape_one) so the two can never disagree about a byte.
 */


#include <stdio.h>
#include <string.h>
#include "gw_problem.h"


static size_t gw_utf8_seq_len(const unsigned char *s, size_t len);
static size_t gw_json_escape_one(unsigned char *dst, const unsigned char *s,
    size_t len, size_t *used);


static const char  gw_hex[] = "0123456789abcdef";


/*
 * Returns the length of the well-formed UTF-8 sequence at s (1 to 4), or 0
 * when s starts an ill-formed one (overlong forms, surrogates and values
 * above U+10FFFF included).
 */

static size_t
gw_utf8_seq_len(const unsigned char *s, size_t len)
{
    size_t         n, i;
    unsigned int   c, min;

    c = s[0];

    if (c < 0x80) {
        return 1;
    }

    if ((c & 0xe0) == 0xc0) {
        n = 2; c &= 0x1f; min = 0x80;

    } else if ((c & 0xf0) == 0xe0) {
        n = 3; c &= 0x0f; min = 0x800;

    } else if ((c & 0xf8) == 0xf0) {
        n = 4; c &= 0x07; min = 0x10000;

    } else {
        return 0;
    }

    if (n > len) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (s[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    return n;
}


/*
 * Escapes the character at s: writes it to dst unless dst is NULL, sets
 * *used to the input bytes consumed and returns the output bytes.
 */

static size_t
gw_json_escape_one(unsigned char *dst, const unsigned char *s, size_t len,
    size_t *used)
{
    size_t          n;
    unsigned char   c;

    c = s[0];
    *used = 1;

    if (c == '"' || c == '\\') {
        if (dst != NULL) {
            dst[0] = '\\';
            dst[1] = c;
        }

        return 2;
    }

    if (c < 0x20 || c == 0x7f) {
        if (dst != NULL) {
            memcpy(dst, "\\u00", 4);
            dst[4] = gw_hex[c >> 4];
            dst[5] = gw_hex[c & 0xf];
        }

        return 6;
    }

    if (c < 0x80) {
        if (dst != NULL) {
            dst[0] = c;
        }

        return 1;
    }

    n = gw_utf8_seq_len(s, len);

    if (n == 0) {
        if (dst != NULL) {
            memcpy(dst, "\\ufffd", 6);
        }

        return 6;
    }

    if (dst != NULL) {
        memcpy(dst, s, n);
    }

    *used = n;

    return n;
}


size_t
gw_json_escape_len(const unsigned char *s, size_t len)
{
    size_t  n, used;

    n = 0;

    while (len > 0) {
        n += gw_json_escape_one(NULL, s, len, &used);
        s += used;
        len -= used;
    }

    return n;
}


unsigned char *
gw_json_escape(unsigned char *dst, const unsigned char *s, size_t len)
{
    size_t  used;

    while (len > 0) {
        dst += gw_json_escape_one(dst, s, len, &used);
        s += used;
        len -= used;
    }

    return dst;
}


#define gw_cstr(s)  (const unsigned char *) (s), strlen(s)


size_t
gw_problem_len(const gw_problem_t *p)
{
    size_t  n;

    n = sizeof("{\"type\":\"\",\"title\":\"\",\"status\":000,\"detail\":\"\","
               "\"request_id\":\"\"}") - 1;

    n += gw_json_escape_len(gw_cstr(p->type));
    n += gw_json_escape_len(gw_cstr(p->title));
    n += gw_json_escape_len(p->detail, p->detail_len);
    n += gw_json_escape_len(p->request_id, p->request_id_len);

    if (p->extra != NULL && p->extra_len > 0) {
        n += 1 + p->extra_len;
    }

    return n;
}


unsigned char *
gw_problem_write(unsigned char *dst, const gw_problem_t *p)
{
    int  status;

    /* three digits keep gw_problem_len() exact */
    status = (p->status >= 100 && p->status <= 999) ? p->status : 500;

    dst = (unsigned char *) memcpy(dst, "{\"type\":\"", 9) + 9;
    dst = gw_json_escape(dst, gw_cstr(p->type));
    dst = (unsigned char *) memcpy(dst, "\",\"title\":\"", 11) + 11;
    dst = gw_json_escape(dst, gw_cstr(p->title));
    dst = (unsigned char *) memcpy(dst, "\",\"status\":", 11) + 11;
    dst[0] = (unsigned char) ('0' + status / 100);
    dst[1] = (unsigned char) ('0' + status / 10 % 10);
    dst[2] = (unsigned char) ('0' + status % 10);
    dst += 3;
    dst = (unsigned char *) memcpy(dst, ",\"detail\":\"", 11) + 11;
    dst = gw_json_escape(dst, p->detail, p->detail_len);
    dst = (unsigned char *) memcpy(dst, "\",\"request_id\":\"", 16) + 16;
    dst = gw_json_escape(dst, p->request_id, p->request_id_len);
    *dst++ = '"';

    if (p->extra != NULL && p->extra_len > 0) {
        *dst++ = ',';
        dst = (unsigned char *) memcpy(dst, p->extra, p->extra_len)
              + p->extra_len;
    }

    *dst++ = '}';

    return dst;
}
