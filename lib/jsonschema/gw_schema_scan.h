
/*
 * Copyright (C) Tollgate
 *
 * Scanning JSON text, shared by the parser into values (gw_schema_json.c)
 * and the one-pass check (gw_schema_check.c): the state of a parse, and
 * the inline scanners of strings and white space; the rest of the
 * scanning (escapes, numbers, duplicate keys, a value into the doc) is
 * in gw_schema_json.c.  Every function takes the position in the text
 * and returns the next one, or NULL on an error, so that the position
 * stays in a register.
 */


#ifndef _GW_SCHEMA_SCAN_H_INCLUDED_
#define _GW_SCHEMA_SCAN_H_INCLUDED_


#include <float.h>
#include <string.h>

#if (__SSE2__)
#include <emmintrin.h>
#endif

#include "gw_schema_int.h"


/* the bytes a string can hold as they are: printable ASCII but " and \ */

static const unsigned char  gw_sch_jp_plain[256] = {
    [0x20 ... 0x21] = 1,            /* '"' is 0x22 */
    [0x23 ... 0x5b] = 1,            /* '\\' is 0x5c */
    [0x5d ... 0x7f] = 1
};


/* the state of a parse */

typedef struct {
    const unsigned char  *end;
    gw_schema_doc_t      *doc;
    size_t                flags;
    size_t                nitems;       /* doc->items in use */
    size_t                nmembers;     /* doc->members in use */
    unsigned              depth;
    unsigned              max_depth;
    const unsigned char  *deep;         /* the bracket past max_depth */
    int                   nul;          /* the last string held a NUL */
    int                   nomem;
} gw_sch_jp_t;


/* gw_schema_json.c */
const unsigned char *gw_sch_jp_escaped(gw_sch_jp_t *jp,
    const unsigned char *start, const unsigned char *p, gw_schema_value_t *v);
const unsigned char *gw_sch_jp_number(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v);
const unsigned char *gw_sch_jp_value(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v);
int gw_sch_jp_dups(gw_sch_jp_t *jp, const gw_schema_member_t *m, size_t n);
int gw_sch_jp_grow(gw_sch_jp_t *jp, void **stack, size_t *alloc, size_t size);


/* 10^0 .. 10^22, each exact in a double */

static const double  gw_sch_jp_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


/*
 * The first byte from p that a string cannot hold as it is, or end.
 * Sixteen bytes a round while sixteen remain where SSE2 is; else eight
 * bytes a round while eight remain, on little-endian machines: a
 * byte below 0x20, '"', '\\' or from 0x80 sets its top bit in a mask
 * whose lowest set bit is exact (the borrows of the subtractions only
 * reach the bytes above a byte found), then the table for the rest.
 */

#define GW_SCH_JP_ONES  0x0101010101010101ULL
#define GW_SCH_JP_HIGH  0x8080808080808080ULL

static inline const unsigned char *
gw_sch_jp_plain_run(const unsigned char *p, const unsigned char *end)
{
#if (__SSE2__)
    int       mask;
    __m128i   x, t;

    /* sixteen bytes a round where SSE2 is (every x86-64): a signed
     * compare below 0x20 takes the bytes from 0x80 as well */

    while (end - p >= 16) {
        x = _mm_loadu_si128((const __m128i *) p);

        t = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                         _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
        t = _mm_or_si128(t, _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));

        mask = _mm_movemask_epi8(t);

        if (mask != 0) {
            return p + __builtin_ctz((unsigned) mask);
        }

        p += 16;
    }

    /* the last fifteen bytes at most: the table, since the words below
     * cost more to set up for every string than they save */

#elif (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    uint64_t  w, q, b, m;

    while (end - p >= 8) {
        memcpy(&w, p, 8);

        q = w ^ (GW_SCH_JP_ONES * '"');
        b = w ^ (GW_SCH_JP_ONES * '\\');

        m = ((w - GW_SCH_JP_ONES * 0x20) & ~w)
            | ((q - GW_SCH_JP_ONES) & ~q)
            | ((b - GW_SCH_JP_ONES) & ~b)
            | w;

        m &= GW_SCH_JP_HIGH;

        if (m != 0) {
            return p + (__builtin_ctzll(m) >> 3);
        }

        p += 8;
    }
#endif

    while (p < end && gw_sch_jp_plain[*p]) {
        p++;
    }

    return p;
}


/* the first byte from p that is not white space, or end */

static inline const unsigned char *
gw_sch_jp_ws(const unsigned char *p, const unsigned char *end)
{
    /* most tokens follow the previous one at once */

    while (p < end && *p <= ' '
           && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    {
        p++;
    }

    return p;
}


/* the length of the well-formed UTF-8 sequence at p, or 0 */

static inline size_t
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


/*
 * The string at p (after its opening quote) into v: pointing into the
 * text when it has no escape, into the doc otherwise.  Returns the byte
 * after its closing quote, or NULL.
 */

static inline __attribute__((always_inline)) const unsigned char *
gw_sch_jp_string(gw_sch_jp_t *jp, const unsigned char *p,
    gw_schema_value_t *v)
{
    size_t                k;
    const unsigned char  *start, *end;

    start = p;
    end = jp->end;

    /* the common case: no escape */

    for ( ;; ) {
        p = gw_sch_jp_plain_run(p, end);

        if (p == end || *p < 0x20) {
            return NULL;
        }

        if (*p < 0x80) {
            break;
        }

        k = gw_sch_jp_utf8(p, end);
        if (k == 0) {
            return NULL;
        }

        p += k;
    }

    if (*p == '"' && (size_t) (p - start) <= UINT32_MAX) {
        v->type = GW_SCHEMA_STRING;
        v->len = (uint32_t) (p - start);
        v->u.s = (const char *) start;
        return p + 1;
    }

    return gw_sch_jp_escaped(jp, start, p, v);
}



/* true, false or null at p, whose first byte is t, f or n, into v */

static inline const unsigned char *
gw_sch_jp_literal(const unsigned char *p, const unsigned char *end,
    gw_schema_value_t *v)
{
    v->len = 0;

    if (*p == 'f') {
        if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
            v->type = GW_SCHEMA_FALSE;
            return p + 5;
        }

        return NULL;
    }

    if (end - p >= 4 && memcmp(p, (*p == 't') ? "true" : "null", 4) == 0) {
        v->type = (*p == 't') ? GW_SCHEMA_TRUE : GW_SCHEMA_NULL;
        return p + 4;
    }

    return NULL;
}


/* the colon after a member's name at p, white space allowed before */

static inline const unsigned char *
gw_sch_jp_colon(const unsigned char *p, const unsigned char *end)
{
    if (p == end || *p != ':') {
        p = gw_sch_jp_ws(p, end);

        if (p == end || *p != ':') {
            return NULL;
        }
    }

    return p + 1;
}


/*
 * A member's name and its colon at p (white space allowed around): the
 * name into key, NUL-free as jansson wants it.  Returns the byte after
 * the colon, or NULL.
 */

static inline __attribute__((always_inline)) const unsigned char *
gw_sch_jp_key(gw_sch_jp_t *jp, const unsigned char *p, gw_schema_value_t *key)
{
    /* the quote and the colon mostly come at once: looked for first */

    if (p == jp->end || *p != '"') {
        p = gw_sch_jp_ws(p, jp->end);

        if (p == jp->end || *p != '"') {
            return NULL;
        }
    }

    jp->nul = 0;

    p = gw_sch_jp_string(jp, p + 1, key);
    if (p == NULL || jp->nul) {
        return NULL;
    }

    return gw_sch_jp_colon(p, jp->end);
}


/* a new slot on the doc's stack of members, or NULL out of memory */

static inline gw_schema_member_t *
gw_sch_jp_member(gw_sch_jp_t *jp, const gw_schema_value_t *key)
{
    gw_schema_member_t  *m;

    if (jp->nmembers == jp->doc->nmembers
        && gw_sch_jp_grow(jp, (void **) &jp->doc->members,
                          &jp->doc->nmembers, sizeof(gw_schema_member_t))
           != 0)
    {
        return NULL;
    }

    m = &jp->doc->members[jp->nmembers++];
    m->key = key->u.s;
    m->len = key->len;

    return m;
}


/*
 * The usual number at p (after its first byte was found to be '-' or a
 * digit) inline: an integer of at most 18 digits, or a decimal of at
 * most 15 significant digits without an exponent, which is one exact
 * division (as strtod() would round it); anything else, or anything
 * wrong, to gw_sch_jp_number(), which says so.
 */

static inline __attribute__((always_inline)) const unsigned char *
gw_sch_jp_num(gw_sch_jp_t *jp, const unsigned char *p, gw_schema_value_t *v)
{
    int                   neg, nfrac;
    uint64_t              u;
    const unsigned char  *q, *digits, *end;

    v->len = 0;

    if (jp->flags & JSON_DECODE_INT_AS_REAL) {
        return gw_sch_jp_number(jp, p, v);
    }

    end = jp->end;
    q = p;
    neg = (*q == '-');
    q += neg;
    digits = q;
    u = 0;

    while (q < end && (unsigned) (*q - '0') < 10) {
        u = u * 10 + (*q++ - '0');

        if (q - digits > 15) {
            return gw_sch_jp_number(jp, p, v);
        }
    }

    /* no digit, or a leading zero: the long way judges */

    if (q == digits || (*digits == '0' && q - digits > 1)) {
        return gw_sch_jp_number(jp, p, v);
    }

    if (q == end || (*q != '.' && *q != 'e' && *q != 'E')) {
        v->type = GW_SCHEMA_INTEGER;
        v->u.i = neg ? -(int64_t) u : (int64_t) u;
        return q;
    }

    if (*q != '.') {
        return gw_sch_jp_number(jp, p, v);
    }

    q++;
    nfrac = 0;

    while (q < end && (unsigned) (*q - '0') < 10) {
        u = u * 10 + (*q++ - '0');

        /* at most 15 digits in all: u stays below 2^53 */

        if (q - digits - 1 > 15) {
            return gw_sch_jp_number(jp, p, v);
        }

        nfrac++;
    }

    if (nfrac == 0 || u >= ((uint64_t) 1 << 53)
        || (q < end && (*q == 'e' || *q == 'E')))
    {
        return gw_sch_jp_number(jp, p, v);
    }

#if (FLT_EVAL_METHOD == 0)
    v->type = GW_SCHEMA_REAL;
    v->u.d = (double) u / gw_sch_jp_pow10[nfrac];

    if (neg) {
        v->u.d = -v->u.d;
    }

    return q;
#else
    return gw_sch_jp_number(jp, p, v);
#endif
}


#endif /* _GW_SCHEMA_SCAN_H_INCLUDED_ */
