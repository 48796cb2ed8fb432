
/*
 * Copyright (C) Tollgate
 *
 * gw_schema_json_loadb(): JSON text (RFC 8259) into jansson values, for
 * the bodies a gateway validates.  jansson's own parser reads through a
 * generic stream one character at a time; this one scans the buffer
 * directly, builds each string once (without a copy when it has no
 * escape), and checks UTF-8 inline, which roughly halves the cost of a
 * parse, the larger part of parse + validate.  It also keeps integers
 * beyond 64 bits as reals, as JSON Schema needs, where jansson fails.
 *
 * It accepts a strict subset of what json_loadb() accepts with the same
 * flags: on anything unusual (an error, a NUL in a key, flags it does
 * not implement) it gives up and json_loadb() parses the text again, so
 * errors keep jansson's messages and positions, and an integer overflow
 * is retried with JSON_DECODE_INT_AS_REAL.  Nesting is capped at
 * GW_SCHEMA_JSON_DEPTH (jansson's own 2048).
 */


#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


#define GW_SCHEMA_JSON_DEPTH  2048      /* nesting, as jansson's parser */


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    size_t                flags;
    unsigned              depth;
    char                 *buf;          /* unescaped strings */
    size_t                size;
} gw_sch_jp_t;


static json_t *gw_sch_jp_value(gw_sch_jp_t *jp);


static void
gw_sch_jp_ws(gw_sch_jp_t *jp)
{
    while (jp->p < jp->end
           && (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\r'
               || *jp->p == '\t'))
    {
        jp->p++;
    }
}


/* the length of the well-formed UTF-8 sequence at p, or 0 */

static size_t
gw_sch_jp_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned  c;

    c = p[0];

    if (c < 0xc2 || c > 0xf4) {
        return 0;
    }

    if (c < 0xe0) {
        return (end - p >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c < 0xf0) {
        if (end - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
            || (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
        {
            return 0;
        }

        return 3;
    }

    if (end - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
        || (p[3] & 0xc0) != 0x80 || (c == 0xf0 && p[1] < 0x90)
        || (c == 0xf4 && p[1] > 0x8f))
    {
        return 0;
    }

    return 4;
}


static int
gw_sch_jp_hex4(const unsigned char *p, unsigned *v)
{
    int  i, c;

    *v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c -= 'a' - 10;

        } else if (c >= 'A' && c <= 'F') {
            c -= 'A' - 10;

        } else {
            return -1;
        }

        *v = *v * 16 + (unsigned) c;
    }

    return 0;
}


/*
 * The string at jp->p (after its opening quote): *str and *len point to
 * it, into the input when it has no escape, into jp->buf otherwise.
 * Returns 0, or -1 for anything the fallback should judge.
 */

static int
gw_sch_jp_string(gw_sch_jp_t *jp, const char **str, size_t *len)
{
    char                 *buf;
    size_t                n, k, need;
    unsigned              cp, lo;
    const unsigned char  *p, *start;

    p = jp->p;
    start = p;

    /* the common case: no escape */

    while (p < jp->end && *p != '"' && *p != '\\') {
        if (*p < 0x20) {
            return -1;
        }

        if (*p >= 0x80) {
            k = gw_sch_jp_utf8(p, jp->end);
            if (k == 0) {
                return -1;
            }

            p += k;
            continue;
        }

        p++;
    }

    if (p == jp->end) {
        return -1;
    }

    if (*p == '"') {
        *str = (const char *) start;
        *len = p - start;
        jp->p = p + 1;
        return 0;
    }

    /* escapes: unescape into jp->buf, at most as long as the input */

    need = (size_t) (jp->end - start) + 1;

    if (jp->size < need) {
        buf = realloc(jp->buf, need);
        if (buf == NULL) {
            return -1;
        }

        jp->buf = buf;
        jp->size = need;
    }

    n = p - start;
    memcpy(jp->buf, start, n);

    while (p < jp->end && *p != '"') {
        if (*p < 0x20) {
            return -1;
        }

        if (*p >= 0x80) {
            k = gw_sch_jp_utf8(p, jp->end);
            if (k == 0) {
                return -1;
            }

            memcpy(jp->buf + n, p, k);
            n += k;
            p += k;
            continue;
        }

        if (*p != '\\') {
            jp->buf[n++] = (char) *p++;
            continue;
        }

        if (jp->end - p < 2) {
            return -1;
        }

        switch (p[1]) {
        case '"': case '\\': case '/':
            jp->buf[n++] = (char) p[1];
            break;
        case 'b':
            jp->buf[n++] = '\b';
            break;
        case 'f':
            jp->buf[n++] = '\f';
            break;
        case 'n':
            jp->buf[n++] = '\n';
            break;
        case 'r':
            jp->buf[n++] = '\r';
            break;
        case 't':
            jp->buf[n++] = '\t';
            break;

        case 'u':
            if (jp->end - p < 6 || gw_sch_jp_hex4(p + 2, &cp) != 0) {
                return -1;
            }

            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;
            }

            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (jp->end - p < 12 || p[6] != '\\' || p[7] != 'u'
                    || gw_sch_jp_hex4(p + 8, &lo) != 0
                    || lo < 0xdc00 || lo > 0xdfff)
                {
                    return -1;
                }

                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }

            if (cp == 0 && !(jp->flags & JSON_ALLOW_NUL)) {
                return -1;
            }

            /* an escape of 6 or 12 bytes becomes at most 4 */

            if (cp < 0x80) {
                jp->buf[n++] = (char) cp;

            } else if (cp < 0x800) {
                jp->buf[n++] = (char) (0xc0 | (cp >> 6));
                jp->buf[n++] = (char) (0x80 | (cp & 0x3f));

            } else if (cp < 0x10000) {
                jp->buf[n++] = (char) (0xe0 | (cp >> 12));
                jp->buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                jp->buf[n++] = (char) (0x80 | (cp & 0x3f));

            } else {
                jp->buf[n++] = (char) (0xf0 | (cp >> 18));
                jp->buf[n++] = (char) (0x80 | ((cp >> 12) & 0x3f));
                jp->buf[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                jp->buf[n++] = (char) (0x80 | (cp & 0x3f));
            }

            p += 4;
            break;

        default:
            return -1;
        }

        p += 2;
    }

    if (p == jp->end) {
        return -1;
    }

    *str = jp->buf;
    *len = n;
    jp->p = p + 1;

    return 0;
}


static json_t *
gw_sch_jp_number(gw_sch_jp_t *jp)
{
    int                   real;
    char                  tmp[64], *text, *e;
    double                d;
    size_t                n;
    json_t               *v;
    uint64_t              u;
    const unsigned char  *p, *start;

    p = jp->p;
    start = p;
    real = 0;

    if (*p == '-') {
        p++;
    }

    if (p == jp->end) {
        return NULL;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < jp->end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return NULL;
    }

    if (p < jp->end && *p == '.') {
        real = 1;
        p++;

        if (p == jp->end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < jp->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < jp->end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;

        if (p < jp->end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == jp->end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < jp->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    jp->p = p;
    n = p - start;

    if (!real && !(jp->flags & JSON_DECODE_INT_AS_REAL)
        && n - (*start == '-') <= 19)
    {
        /* at most 19 digits: fits in 64 bits before the sign */

        u = 0;

        for (p = start + (*start == '-'); p < jp->p; p++) {
            u = u * 10 + (uint64_t) (*p - '0');
        }

        if (*start == '-' && u <= (uint64_t) INT64_MAX + 1) {
            return json_integer((json_int_t) (0 - u));
        }

        if (*start != '-' && u <= (uint64_t) INT64_MAX) {
            return json_integer((json_int_t) u);
        }
    }

    /* a real, or an integer beyond 64 bits kept as one */

    text = (n < sizeof(tmp)) ? tmp : malloc(n + 1);
    if (text == NULL) {
        return NULL;
    }

    memcpy(text, start, n);
    text[n] = '\0';

    errno = 0;
    d = strtod(text, &e);

    v = (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
        || (size_t) (e - text) != n
        ? NULL : json_real(d);

    if (text != tmp) {
        free(text);
    }

    return v;
}


static json_t *
gw_sch_jp_value(gw_sch_jp_t *jp)
{
    char        *key;
    size_t       len;
    json_t      *v, *item;
    const char  *str;

    gw_sch_jp_ws(jp);

    if (jp->p == jp->end) {
        return NULL;
    }

    switch (*jp->p) {

    case '{':
        if (++jp->depth > GW_SCHEMA_JSON_DEPTH) {
            return NULL;
        }

        jp->p++;
        v = json_object();
        if (v == NULL) {
            return NULL;
        }

        gw_sch_jp_ws(jp);

        if (jp->p < jp->end && *jp->p == '}') {
            jp->p++;
            jp->depth--;
            return v;
        }

        key = NULL;

        for ( ;; ) {
            free(key);
            key = NULL;

            gw_sch_jp_ws(jp);

            if (jp->p == jp->end || *jp->p != '"') {
                break;
            }

            jp->p++;

            if (gw_sch_jp_string(jp, &str, &len) != 0
                || memchr(str, '\0', len) != NULL)
            {
                break;
            }

            /* a key in jp->buf, which the value may reuse: a copy */

            if (str == jp->buf) {
                key = malloc(len + 1);
                if (key == NULL) {
                    break;
                }

                memcpy(key, str, len);
                str = key;
            }

            gw_sch_jp_ws(jp);

            if (jp->p == jp->end || *jp->p != ':') {
                break;
            }

            jp->p++;

            item = gw_sch_jp_value(jp);
            if (item == NULL) {
                break;
            }

            if (json_object_setn_new_nocheck(v, str, len, item) != 0) {
                break;
            }

            gw_sch_jp_ws(jp);

            if (jp->p < jp->end && *jp->p == ',') {
                jp->p++;
                continue;
            }

            if (jp->p < jp->end && *jp->p == '}') {
                free(key);
                jp->p++;
                jp->depth--;
                return v;
            }

            break;
        }

        free(key);
        json_decref(v);
        return NULL;

    case '[':
        if (++jp->depth > GW_SCHEMA_JSON_DEPTH) {
            return NULL;
        }

        jp->p++;
        v = json_array();
        if (v == NULL) {
            return NULL;
        }

        gw_sch_jp_ws(jp);

        if (jp->p < jp->end && *jp->p == ']') {
            jp->p++;
            jp->depth--;
            return v;
        }

        for ( ;; ) {
            item = gw_sch_jp_value(jp);

            if (item == NULL || json_array_append_new(v, item) != 0) {
                break;
            }

            gw_sch_jp_ws(jp);

            if (jp->p < jp->end && *jp->p == ',') {
                jp->p++;
                continue;
            }

            if (jp->p < jp->end && *jp->p == ']') {
                jp->p++;
                jp->depth--;
                return v;
            }

            break;
        }

        json_decref(v);
        return NULL;

    case '"':
        jp->p++;

        if (gw_sch_jp_string(jp, &str, &len) != 0) {
            return NULL;
        }

        return json_stringn_nocheck(str, len);

    case 't':
        if (jp->end - jp->p >= 4 && memcmp(jp->p, "true", 4) == 0) {
            jp->p += 4;
            return json_true();
        }

        return NULL;

    case 'f':
        if (jp->end - jp->p >= 5 && memcmp(jp->p, "false", 5) == 0) {
            jp->p += 5;
            return json_false();
        }

        return NULL;

    case 'n':
        if (jp->end - jp->p >= 4 && memcmp(jp->p, "null", 4) == 0) {
            jp->p += 4;
            return json_null();
        }

        return NULL;

    default:
        return gw_sch_jp_number(jp);
    }
}


json_t *
gw_schema_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error)
{
    json_t       *j;
    gw_sch_jp_t   jp;

    if ((flags & ~(size_t) (JSON_DECODE_ANY | JSON_ALLOW_NUL
                            | JSON_DECODE_INT_AS_REAL)) == 0)
    {
        memset(&jp, 0, sizeof(gw_sch_jp_t));
        jp.p = (const unsigned char *) buf;
        jp.end = jp.p + len;
        jp.flags = flags;

        j = gw_sch_jp_value(&jp);

        free(jp.buf);

        if (j != NULL) {
            gw_sch_jp_ws(&jp);

            if (jp.p == jp.end
                && ((flags & JSON_DECODE_ANY) || json_is_object(j)
                    || json_is_array(j)))
            {
                return j;
            }

            json_decref(j);
        }
    }

    /* jansson's parser, for its error; with bignums as reals if need be */

    j = json_loadb(buf, len, flags, error);

    if (j == NULL && error != NULL
        && json_error_code(error) == json_error_numeric_overflow)
    {
        j = json_loadb(buf, len, flags | JSON_DECODE_INT_AS_REAL, error);
    }

    return j;
}
