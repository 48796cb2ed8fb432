
/*
 * Copyright (C) Tollgate
 *
 * RFC 8785 canonical JSON.  The writer walks a jansson tree once, into a
 * buffer that doubles as it fills; objects are written from an array of
 * their members sorted by UTF-16 code units.  Comparing code units rather
 * than bytes matters only when a name holds a character above U+FFFF
 * (two surrogates, 0xD800-0xDFFF) and another one in U+E000-U+FFFF: UTF-8
 * byte order puts the first after, UTF-16 before.
 *
 * Numbers are written by gw_jcs_number() (gw_jcs_number.c).
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jcs.h"


#define GW_JCS_INT_MAX  9007199254740992LL      /* 2^53 */


typedef struct {
    unsigned char  *data;
    size_t          len;
    size_t          cap;
    const char     *err;
} gw_jcs_out_t;


typedef struct {
    const char  *key;
    size_t       len;
    json_t      *value;
} gw_jcs_member_t;


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    unsigned              low;          /* pending low surrogate, or 0 */
} gw_jcs_units_t;


static int gw_jcs_write(gw_jcs_out_t *o, const json_t *v, int depth);
static int gw_jcs_write_object(gw_jcs_out_t *o, const json_t *v,
    int depth);
static int gw_jcs_write_string(gw_jcs_out_t *o, const char *s,
    size_t len);
static int gw_jcs_member_cmp(const void *a, const void *b);
static int gw_jcs_next_unit(gw_jcs_units_t *u);
static int gw_jcs_utf8(const unsigned char *p, const unsigned char *end,
    uint32_t *cp);
static int gw_jcs_put(gw_jcs_out_t *o, const void *s, size_t len);


int
gw_jcs_encode(const json_t *json, unsigned char **out, size_t *out_len,
    const char **err)
{
    gw_jcs_out_t  o;

    *out = NULL;
    *out_len = 0;

    o.cap = 256;
    o.len = 0;
    o.err = NULL;

    o.data = malloc(o.cap);
    if (o.data == NULL) {
        *err = "out of memory";
        return -1;
    }

    if (gw_jcs_write(&o, json, 0) != 0 || gw_jcs_put(&o, "", 1) != 0) {
        *err = o.err;
        free(o.data);
        return -1;
    }

    *out = o.data;
    *out_len = o.len - 1;

    return 0;
}


int
gw_jcs_canonicalize(const unsigned char *text, size_t len,
    unsigned char **out, size_t *out_len, const char **err)
{
    int            rc;
    json_t        *json;
    json_error_t   jerr;

    *out = NULL;
    *out_len = 0;

    if (len > GW_JCS_MAX_LEN) {
        *err = "JSON text too long";
        return -1;
    }

    json = json_loadb((const char *) text, len,
                      JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL
                      | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (json == NULL) {
        *err = "invalid JSON text";
        return -1;
    }

    rc = gw_jcs_encode(json, out, out_len, err);

    json_decref(json);

    return rc;
}


static int
gw_jcs_write(gw_jcs_out_t *o, const json_t *v, int depth)
{
    int          n;
    char         num[GW_JCS_NUMBER_LEN];
    size_t       i;
    json_int_t   iv;

    if (depth >= GW_JCS_MAX_DEPTH) {
        o->err = "JSON nested too deeply";
        return -1;
    }

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        return gw_jcs_write_object(o, v, depth);

    case JSON_ARRAY:
        if (gw_jcs_put(o, "[", 1) != 0) {
            return -1;
        }

        for (i = 0; i < json_array_size(v); i++) {
            if ((i != 0 && gw_jcs_put(o, ",", 1) != 0)
                || gw_jcs_write(o, json_array_get(v, i), depth + 1) != 0)
            {
                return -1;
            }
        }

        return gw_jcs_put(o, "]", 1);

    case JSON_STRING:
        return gw_jcs_write_string(o, json_string_value(v),
                                   json_string_length(v));

    case JSON_INTEGER:
        iv = json_integer_value(v);

        if (iv > GW_JCS_INT_MAX || iv < -GW_JCS_INT_MAX) {
            o->err = "integer beyond 2^53";
            return -1;
        }

        n = gw_jcs_number((double) iv, num);
        return gw_jcs_put(o, num, n);

    case JSON_REAL:
        n = gw_jcs_number(json_real_value(v), num);
        if (n < 0) {
            o->err = "number is not finite";
            return -1;
        }

        return gw_jcs_put(o, num, n);

    case JSON_TRUE:
        return gw_jcs_put(o, "true", 4);

    case JSON_FALSE:
        return gw_jcs_put(o, "false", 5);

    case JSON_NULL:
        return gw_jcs_put(o, "null", 4);
    }

    o->err = "unknown JSON type";
    return -1;
}


static int
gw_jcs_write_object(gw_jcs_out_t *o, const json_t *v, int depth)
{
    int               rc;
    void             *it;
    size_t            i, n;
    gw_jcs_member_t  *m;

    n = json_object_size(v);

    if (n == 0) {
        return gw_jcs_put(o, "{}", 2);
    }

    m = malloc(n * sizeof(gw_jcs_member_t));
    if (m == NULL) {
        o->err = "out of memory";
        return -1;
    }

    i = 0;

    for (it = json_object_iter((json_t *) v);
         it != NULL && i < n;
         it = json_object_iter_next((json_t *) v, it))
    {
        m[i].key = json_object_iter_key(it);
        m[i].len = json_object_iter_key_len(it);
        m[i].value = json_object_iter_value(it);
        i++;
    }

    qsort(m, i, sizeof(gw_jcs_member_t), gw_jcs_member_cmp);

    rc = gw_jcs_put(o, "{", 1);

    for (n = 0; rc == 0 && n < i; n++) {
        if ((n != 0 && gw_jcs_put(o, ",", 1) != 0)
            || gw_jcs_write_string(o, m[n].key, m[n].len) != 0
            || gw_jcs_put(o, ":", 1) != 0
            || gw_jcs_write(o, m[n].value, depth + 1) != 0)
        {
            rc = -1;
        }
    }

    free(m);

    return rc == 0 ? gw_jcs_put(o, "}", 1) : -1;
}


/*
 * RFC 8785 section 3.2.2.2: only '"', '\\' and U+0000-U+001F are escaped,
 * the five with a short form as such, the rest as \u00xx in lower case.
 */

static int
gw_jcs_write_string(gw_jcs_out_t *o, const char *s, size_t len)
{
    int                   n;
    char                  esc[8];
    uint32_t              cp;
    const unsigned char  *p, *end, *run;

    p = (const unsigned char *) s;
    end = p + len;

    if (gw_jcs_put(o, "\"", 1) != 0) {
        return -1;
    }

    run = p;

    while (p < end) {

        if (*p >= 0x80) {
            n = gw_jcs_utf8(p, end, &cp);
            if (n < 0) {
                o->err = "string is not UTF-8";
                return -1;
            }

            p += n;
            continue;
        }

        if (*p >= 0x20 && *p != '"' && *p != '\\') {
            p++;
            continue;
        }

        if (gw_jcs_put(o, run, p - run) != 0) {
            return -1;
        }

        switch (*p) {
        case '"':  n = snprintf(esc, sizeof(esc), "\\\""); break;
        case '\\': n = snprintf(esc, sizeof(esc), "\\\\"); break;
        case '\b': n = snprintf(esc, sizeof(esc), "\\b"); break;
        case '\f': n = snprintf(esc, sizeof(esc), "\\f"); break;
        case '\n': n = snprintf(esc, sizeof(esc), "\\n"); break;
        case '\r': n = snprintf(esc, sizeof(esc), "\\r"); break;
        case '\t': n = snprintf(esc, sizeof(esc), "\\t"); break;
        default:   n = snprintf(esc, sizeof(esc), "\\u%04x", *p); break;
        }

        if (gw_jcs_put(o, esc, n) != 0) {
            return -1;
        }

        p++;
        run = p;
    }

    if (gw_jcs_put(o, run, p - run) != 0) {
        return -1;
    }

    return gw_jcs_put(o, "\"", 1);
}


static int
gw_jcs_member_cmp(const void *a, const void *b)
{
    int                     ua, ub;
    gw_jcs_units_t          x, y;
    const gw_jcs_member_t  *ma, *mb;

    ma = a;
    mb = b;

    x.p = (const unsigned char *) ma->key;
    x.end = x.p + ma->len;
    x.low = 0;

    y.p = (const unsigned char *) mb->key;
    y.end = y.p + mb->len;
    y.low = 0;

    for ( ;; ) {
        ua = gw_jcs_next_unit(&x);
        ub = gw_jcs_next_unit(&y);

        if (ua != ub) {
            return ua < ub ? -1 : 1;
        }

        if (ua < 0) {
            return 0;
        }
    }
}


/*
 * The next UTF-16 code unit of a UTF-8 name, or -1 at its end.  A byte
 * that does not decode sorts as itself; gw_jcs_write_string() rejects
 * the name when it is written.
 */

static int
gw_jcs_next_unit(gw_jcs_units_t *u)
{
    int       n;
    uint32_t  cp;

    if (u->low != 0) {
        cp = u->low;
        u->low = 0;
        return (int) cp;
    }

    if (u->p >= u->end) {
        return -1;
    }

    if (*u->p < 0x80) {
        return *u->p++;
    }

    n = gw_jcs_utf8(u->p, u->end, &cp);
    if (n < 0) {
        return *u->p++;
    }

    u->p += n;

    if (cp < 0x10000) {
        return (int) cp;
    }

    cp -= 0x10000;
    u->low = 0xdc00 + (cp & 0x3ff);

    return (int) (0xd800 + (cp >> 10));
}


/*
 * Decodes one multi-byte UTF-8 sequence at p: returns its length and the
 * code point, or -1 for a truncated or overlong sequence, a surrogate or
 * a code point above U+10FFFF.
 */

static int
gw_jcs_utf8(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    int       i, n;
    uint32_t  c, min;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2; c = *p & 0x1f; min = 0x80;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3; c = *p & 0x0f; min = 0x800;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4; c = *p & 0x07; min = 0x10000;

    } else {
        return -1;
    }

    if (end - p < n) {
        return -1;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return -1;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return -1;
    }

    *cp = c;

    return n;
}


static int
gw_jcs_put(gw_jcs_out_t *o, const void *s, size_t len)
{
    size_t          cap;
    unsigned char  *p;

    if (len > o->cap - o->len) {
        cap = o->cap;

        while (len > cap - o->len) {
            if (cap > SIZE_MAX / 2) {
                o->err = "output too large";
                return -1;
            }

            cap *= 2;
        }

        p = realloc(o->data, cap);
        if (p == NULL) {
            o->err = "out of memory";
            return -1;
        }

        o->data = p;
        o->cap = cap;
    }

    memcpy(o->data + o->len, s, len);
    o->len += len;

    return 0;
}
