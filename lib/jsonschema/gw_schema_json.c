
/*
 * Copyright (C) Tollgate
 *
 * gw_schema_json_loadb(): JSON text (RFC 8259) into jansson values, for
 * the bodies a gateway validates.  jansson's own parser reads through a
 * generic stream one character at a time; this one scans the buffer
 * directly, builds each string once (without a copy when it has no
 * escape; a table tells the bytes that need a look), checks UTF-8 inline,
 * and reads numbers without strtod() when the result is exact anyway
 * (integers; decimals of few digits), which roughly halves the cost of a
 * parse, the larger part of parse + validate.  It also keeps integers
 * beyond 64 bits as reals, as JSON Schema needs, where jansson fails.
 * With JSON_REJECT_DUPLICATES, an object holding fewer members than it
 * was given has a duplicate key, left to json_loadb() to report.
 *
 * It accepts a strict subset of what json_loadb() accepts with the same
 * flags: on anything unusual (an error, a NUL in a key, flags it does
 * not implement) it gives up and json_loadb() parses the text again, so
 * errors keep jansson's messages and positions, and an integer overflow
 * is retried with JSON_DECODE_INT_AS_REAL.  Nesting is capped at
 * GW_SCHEMA_JSON_DEPTH (jansson's own 2048).
 */


#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


#define GW_SCHEMA_JSON_DEPTH  2048      /* nesting, as jansson's parser */


/* the bytes a string can hold as they are: printable ASCII but " and \ */

static const unsigned char  gw_sch_jp_plain[256] = {
    [0x20 ... 0x21] = 1,            /* '"' is 0x22 */
    [0x23 ... 0x5b] = 1,            /* '\\' is 0x5c */
    [0x5d ... 0x7f] = 1
};


/* 10^0 .. 10^22, each exact in a double */

static const double  gw_sch_jp_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    size_t                flags;
    unsigned              depth;
    char                 *buf;          /* unescaped strings */
    size_t                size;
} gw_sch_jp_t;


static json_t *gw_sch_jp_value(gw_sch_jp_t *jp);


/* the first byte from p that a string cannot hold as it is, or end */

static inline const unsigned char *
gw_sch_jp_plain_run(const unsigned char *p, const unsigned char *end)
{
    /* four bytes a round while four remain: fewer tests of end */

    while (end - p >= 4) {
        if (!gw_sch_jp_plain[p[0]]) {
            return p;
        }

        if (!gw_sch_jp_plain[p[1]]) {
            return p + 1;
        }

        if (!gw_sch_jp_plain[p[2]]) {
            return p + 2;
        }

        if (!gw_sch_jp_plain[p[3]]) {
            return p + 3;
        }

        p += 4;
    }

    while (p < end && gw_sch_jp_plain[*p]) {
        p++;
    }

    return p;
}


static inline void
gw_sch_jp_ws(gw_sch_jp_t *jp)
{
    /* most tokens follow the previous one at once */

    if (jp->p < jp->end && *jp->p > ' ') {
        return;
    }

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
 * The rest of a string from its first escape at p, start being its first
 * byte: unescaped into jp->buf, at most as long as the input.  Out of
 * line, so that the common case stays short.
 */

static __attribute__((noinline)) int
gw_sch_jp_escaped(gw_sch_jp_t *jp, const unsigned char *start,
    const unsigned char *p, const char **str, size_t *len)
{
    char                 *buf;
    size_t                n, k, need;
    unsigned              cp, lo;
    const unsigned char  *run;

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
            run = p;
            p = gw_sch_jp_plain_run(p + 1, jp->end);

            memcpy(jp->buf + n, run, p - run);
            n += p - run;
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


/*
 * The string at jp->p (after its opening quote): *str and *len point to
 * it, into the input when it has no escape, into jp->buf otherwise.
 * Returns 0, or -1 for anything the fallback should judge.
 */

static inline int
gw_sch_jp_string(gw_sch_jp_t *jp, const char **str, size_t *len)
{
    size_t                k;
    const unsigned char  *p, *start;

    p = jp->p;
    start = p;

    /* the common case: no escape */

    for ( ;; ) {
        p = gw_sch_jp_plain_run(p, jp->end);

        if (p == jp->end || *p < 0x20) {
            return -1;
        }

        if (*p < 0x80) {
            break;
        }

        k = gw_sch_jp_utf8(p, jp->end);
        if (k == 0) {
            return -1;
        }

        p += k;
    }

    if (*p == '"') {
        *str = (const char *) start;
        *len = p - start;
        jp->p = p + 1;
        return 0;
    }

    return gw_sch_jp_escaped(jp, start, p, str, len);
}


/*
 * A number: an integer of at most 19 digits as a json_integer() without
 * strtod(); a real whose significand has at most 19 digits and is at
 * most 2^53, with a decimal exponent within +-22, as one exact IEEE
 * operation on two exact doubles (Clinger's fast path, hence correctly
 * rounded, as strtod()); anything else through strtod().
 */

static json_t *
gw_sch_jp_number(gw_sch_jp_t *jp)
{
    int                   real, neg, dexp, eneg, ndig, nfrac, big;
    char                  tmp[64], *text, *e;
    double                d;
    size_t                n;
    json_t               *v;
    uint64_t              u;
    const unsigned char  *p, *start, *end;

    p = jp->p;
    end = jp->end;
    start = p;
    real = 0;
    neg = 0;
    u = 0;
    ndig = 0;
    nfrac = 0;
    dexp = 0;
    big = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (p == end) {
        return NULL;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        do {
            if (ndig < 19) {
                u = u * 10 + (uint64_t) (*p - '0');
            }

            ndig++;
            p++;
        } while (p < end && *p >= '0' && *p <= '9');

    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        real = 1;
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        do {
            /* leading zeros of "0.000x" are not significant digits */

            if (ndig < 19 && nfrac < 64) {
                u = u * 10 + (uint64_t) (*p - '0');
                nfrac++;

                if (u != 0) {
                    ndig++;
                }

            } else {
                big = 1;
            }

            p++;
        } while (p < end && *p >= '0' && *p <= '9');
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        eneg = 0;
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        do {
            if (dexp < 10000) {
                dexp = dexp * 10 + (*p - '0');
            }

            p++;
        } while (p < end && *p >= '0' && *p <= '9');

        if (eneg) {
            dexp = -dexp;
        }
    }

    jp->p = p;
    n = p - start;

    if (!real && !(jp->flags & JSON_DECODE_INT_AS_REAL) && ndig <= 19) {
        /* at most 19 digits: fits in 64 bits before the sign */

        if (neg && u <= (uint64_t) INT64_MAX + 1) {
            return json_integer((json_int_t) (0 - u));
        }

        if (!neg && u <= (uint64_t) INT64_MAX) {
            return json_integer((json_int_t) u);
        }
    }

#if (FLT_EVAL_METHOD == 0)

    dexp -= nfrac;

    if (ndig <= 19 && !big && u <= ((uint64_t) 1 << 53)
        && dexp >= -22 && dexp <= 22)
    {
        d = (double) u;

        if (u != 0) {
            d = (dexp < 0) ? d / gw_sch_jp_pow10[-dexp]
                           : d * gw_sch_jp_pow10[dexp];
        }

        return json_real(neg ? -d : d);
    }

#endif

    /* a long real, or an integer beyond 64 bits kept as one */

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
    size_t       len, count;
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
        count = 0;

        for ( ;; ) {
            gw_sch_jp_ws(jp);

            if (jp->p == jp->end || *jp->p != '"') {
                break;
            }

            jp->p++;

            if (gw_sch_jp_string(jp, &str, &len) != 0) {
                break;
            }

            /* a key in jp->buf, which the value may reuse: a copy; only an
             * escape can put a NUL in a key */

            if (str == jp->buf) {
                if (memchr(str, '\0', len) != NULL) {
                    break;
                }

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

            count++;

            if (key != NULL) {
                free(key);
                key = NULL;
            }

            gw_sch_jp_ws(jp);

            if (jp->p < jp->end && *jp->p == ',') {
                jp->p++;
                continue;
            }

            if (jp->p < jp->end && *jp->p == '}') {
                /* a duplicate replaced a member: jansson's error, if
                 * asked for */

                if ((jp->flags & JSON_REJECT_DUPLICATES)
                    && json_object_size(v) != count)
                {
                    break;
                }

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
                            | JSON_DECODE_INT_AS_REAL
                            | JSON_REJECT_DUPLICATES)) == 0)
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
