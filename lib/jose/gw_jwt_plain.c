
/*
 * Copyright (C) Tollgate
 *
 * The fast way through a JWT payload of the usual shape, without building
 * a jansson tree: one pass over the text that either takes it, with the
 * members the policy reads (exp, nbf, iat, iss, aud, scope, scp) and the
 * jti the revocation check reads noted, or declines it, and then jansson
 * judges it as before.  The scanner never
 * refuses anything by itself, so it cannot be stricter than jansson; it
 * takes only text that jansson's json_loadb(JSON_REJECT_DUPLICATES) takes
 * as an object with the same values, which the fuzz driver (t/fuzz/jwt.c)
 * checks on every input.  What it takes:
 *
 *   JSON (RFC 8259) with white space of space, tab, CR and LF only; an
 *   object at the top; at most GW_JWT_PLAIN_DEPTH levels of nesting and
 *   GW_JWT_PLAIN_KEYS member names open at a time, names unique in each
 *   object (compared as bytes, which for strings without escapes is
 *   jansson's comparison); strings without any backslash escape, of bytes
 *   from 0x20 up and well-formed UTF-8 (RFC 3629: no overlong forms, no
 *   surrogates, nothing past U+10FFFF); integers of at most 18 digits,
 *   which a long long holds exactly (jansson's own integers), and other
 *   numbers whose strtod() value is finite (jansson refuses an overflow);
 *   every value followed by white space, ",", "]" or "}".
 *
 * Everything else (escapes, NUL bytes, long integers, deep nesting, a
 * duplicate name, any syntax error) is declined, not refused.
 *
 * The checks on the noted members are gw_jwt_plain_check.c.
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jwt.h"


#define GW_JWT_PLAIN_DEPTH  16
#define GW_JWT_PLAIN_KEYS   64
#define GW_JWT_PLAIN_DIGITS 18


typedef struct {
    const char          *start;     /* the "[" or "{" */
    gw_jwt_value_t      *slot;      /* the noted member it is, or NULL */
    size_t               keys;      /* its first name in the key stack */
    unsigned             obj;
} gw_jwt_plain_level_t;


typedef struct {
    const char          *data;
    size_t               len;
} gw_jwt_plain_key_t;


static const char *gw_jwt_plain_ws(const char *p, const char *end);
static const char *gw_jwt_plain_string(const char *p, const char *end);
static const char *gw_jwt_plain_number(const char *p, const char *end,
    double *num);
static gw_jwt_value_t *gw_jwt_plain_slot(gw_jwt_plain_t *c,
    const char *key, size_t len);


int
gw_jwt_plain_scan(gw_jwt_plain_t *c, const char *json, size_t len)
{
    size_t                 i, nkeys, klen;
    double                 num;
    unsigned               depth;
    const char            *p, *q, *end, *key;
    gw_jwt_value_t        *slot;
    gw_jwt_plain_level_t  *top, st[GW_JWT_PLAIN_DEPTH];
    gw_jwt_plain_key_t     keys[GW_JWT_PLAIN_KEYS];

    memset(c, 0, sizeof(gw_jwt_plain_t));

    end = json + len;
    p = gw_jwt_plain_ws(json, end);

    if (p == end || *p != '{') {
        return 0;
    }

    depth = 0;
    nkeys = 0;
    slot = NULL;

    for ( ;; ) {

        /* p is at a value, inside the input */

        switch (*p) {

        case '{':
        case '[':
            if (depth == GW_JWT_PLAIN_DEPTH) {
                return 0;
            }

            top = &st[depth++];
            top->start = p;
            top->slot = slot;
            top->keys = nkeys;
            top->obj = (*p == '{');

            slot = NULL;

            p = gw_jwt_plain_ws(p + 1, end);
            if (p == end) {
                return 0;
            }

            if (*p == (top->obj ? '}' : ']')) {
                goto close;
            }

            if (top->obj) {
                goto member;
            }

            continue;

        case '"':
            q = gw_jwt_plain_string(p + 1, end);
            if (q == NULL) {
                return 0;
            }

            if (slot != NULL) {
                slot->type = GW_JWT_V_STRING;
                slot->data = p + 1;
                slot->len = q - p - 1;
            }

            p = q + 1;
            break;

        case 't':
            if (end - p < 4 || memcmp(p, "true", 4) != 0) {
                return 0;
            }

            if (slot != NULL) {
                slot->type = GW_JWT_V_TRUE;
            }

            p += 4;
            break;

        case 'f':
            if (end - p < 5 || memcmp(p, "false", 5) != 0) {
                return 0;
            }

            if (slot != NULL) {
                slot->type = GW_JWT_V_FALSE;
            }

            p += 5;
            break;

        case 'n':
            if (end - p < 4 || memcmp(p, "null", 4) != 0) {
                return 0;
            }

            if (slot != NULL) {
                slot->type = GW_JWT_V_NULL;
            }

            p += 4;
            break;

        default:
            p = gw_jwt_plain_number(p, end, &num);
            if (p == NULL) {
                return 0;
            }

            if (slot != NULL) {
                slot->type = GW_JWT_V_NUMBER;
                slot->num = num;
            }

            break;
        }

    next:

        /* past a value inside container st[depth - 1] */

        p = gw_jwt_plain_ws(p, end);
        if (p == end) {
            return 0;
        }

        top = &st[depth - 1];

        if (*p == ',') {
            p = gw_jwt_plain_ws(p + 1, end);
            if (p == end) {
                return 0;
            }

            slot = NULL;

            if (top->obj) {
                goto member;
            }

            continue;
        }

        if (*p != (top->obj ? '}' : ']')) {
            return 0;
        }

    close:

        p++;
        depth--;
        top = &st[depth];
        nkeys = top->keys;

        if (top->slot != NULL) {
            top->slot->type = top->obj ? GW_JWT_V_OBJECT : GW_JWT_V_ARRAY;
            top->slot->data = top->start;
            top->slot->len = p - top->start;
        }

        if (depth == 0) {
            return gw_jwt_plain_ws(p, end) == end;
        }

        goto next;

    member:

        /* p is at a member name of the object st[depth - 1] */

        if (*p != '"') {
            return 0;
        }

        q = gw_jwt_plain_string(p + 1, end);
        if (q == NULL) {
            return 0;
        }

        key = p + 1;
        klen = q - key;

        for (i = st[depth - 1].keys; i < nkeys; i++) {
            if (keys[i].len == klen && memcmp(keys[i].data, key, klen) == 0) {
                return 0;
            }
        }

        if (nkeys == GW_JWT_PLAIN_KEYS) {
            return 0;
        }

        keys[nkeys].data = key;
        keys[nkeys].len = klen;
        nkeys++;

        p = gw_jwt_plain_ws(q + 1, end);
        if (p == end || *p != ':') {
            return 0;
        }

        p = gw_jwt_plain_ws(p + 1, end);
        if (p == end) {
            return 0;
        }

        slot = (depth == 1) ? gw_jwt_plain_slot(c, key, klen) : NULL;
    }
}


static const char *
gw_jwt_plain_ws(const char *p, const char *end)
{
    while (p < end
           && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    {
        p++;
    }

    return p;
}


/*
 * A string's bytes from p (past the opening quote); returns its closing
 * quote, or NULL for an escape, a control byte, bad UTF-8 or no end.
 */

static const char *
gw_jwt_plain_string(const char *p, const char *end)
{
    size_t          n;
    unsigned char   c, lo, hi;

    while (p < end) {
        c = (unsigned char) *p;

        if (c == '"') {
            return p;
        }

        if (c == '\\' || c < 0x20) {
            return NULL;
        }

        if (c < 0x80) {
            p++;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            lo = (c == 0xe0) ? 0xa0 : 0x80;
            hi = (c == 0xed) ? 0x9f : 0xbf;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            lo = (c == 0xf0) ? 0x90 : 0x80;
            hi = (c == 0xf4) ? 0x8f : 0xbf;

        } else {
            return NULL;
        }

        if ((size_t) (end - p) <= n) {
            return NULL;
        }

        /* the second byte has the narrowed range, the others 80..bf */

        c = (unsigned char) p[1];

        if (c < lo || c > hi) {
            return NULL;
        }

        for (p += 2; --n != 0; p++) {
            c = (unsigned char) *p;

            if (c < 0x80 || c > 0xbf) {
                return NULL;
            }
        }
    }

    return NULL;
}


/*
 * A JSON number at p; returns the byte past it, or NULL when it is not
 * one, is an integer of more than GW_JWT_PLAIN_DIGITS digits, overflows a
 * double, or is not followed by a byte that may follow a value.
 */

static const char *
gw_jwt_plain_number(const char *p, const char *end, double *num)
{
    unsigned     real;
    long long    n;
    const char  *start, *digits;

    start = p;

    if (*p == '-') {
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return NULL;
    }

    digits = p;
    n = 0;

    if (*p == '0') {
        p++;

    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (p - digits == GW_JWT_PLAIN_DIGITS) {
                return NULL;
            }

            n = n * 10 + (*p++ - '0');
        }
    }

    real = 0;

    if (p < end && *p == '.') {
        real = 1;
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p == end
        || (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'
            && *p != ',' && *p != ']' && *p != '}'))
    {
        return NULL;
    }

    if (!real) {
        *num = (double) (*start == '-' ? -n : n);
        return p;
    }

    /* the number ends at a delimiter, where strtod() stops too */

    *num = strtod(start, NULL);

    if (!isfinite(*num)) {
        return NULL;
    }

    return p;
}


static gw_jwt_value_t *
gw_jwt_plain_slot(gw_jwt_plain_t *c, const char *key, size_t len)
{
    if (len == 3) {
        if (memcmp(key, "exp", 3) == 0) {
            return &c->exp;
        }

        if (memcmp(key, "nbf", 3) == 0) {
            return &c->nbf;
        }

        if (memcmp(key, "iat", 3) == 0) {
            return &c->iat;
        }

        if (memcmp(key, "iss", 3) == 0) {
            return &c->iss;
        }

        if (memcmp(key, "aud", 3) == 0) {
            return &c->aud;
        }

        if (memcmp(key, "scp", 3) == 0) {
            return &c->scp;
        }

        if (memcmp(key, "jti", 3) == 0) {
            return &c->jti;
        }

        return NULL;
    }

    if (len == 5 && memcmp(key, "scope", 5) == 0) {
        return &c->scope;
    }

    return NULL;
}


/*
 * The next element of a scanned array, from *pos (past its "[" or past
 * the last element read) to end (past its "]").  Returns 1 with v set (a
 * string's bytes, or the type alone for any other value), 0 at the end.
 */

int
gw_jwt_plain_next(const char **pos, const char *end, gw_jwt_value_t *v)
{
    int          depth;
    const char  *p;

    p = *pos;

    while (p < end
           && (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n'
               || *p == '\r'))
    {
        p++;
    }

    if (p == end || *p == ']') {
        return 0;
    }

    if (*p == '"') {
        v->type = GW_JWT_V_STRING;
        v->data = ++p;

        while (p < end && *p != '"') {
            p++;
        }

        v->len = p - v->data;
        *pos = p + 1;

        return 1;
    }

    /* any other value: skipped, nested ones whole */

    v->type = (*p == '[') ? GW_JWT_V_ARRAY
              : (*p == '{') ? GW_JWT_V_OBJECT
              : (*p == 't') ? GW_JWT_V_TRUE
              : (*p == 'f') ? GW_JWT_V_FALSE
              : (*p == 'n') ? GW_JWT_V_NULL : GW_JWT_V_NUMBER;
    depth = 0;

    for ( /* void */ ; p < end; p++) {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++) { /* void */ }
            continue;
        }

        if (*p == '[' || *p == '{') {
            depth++;

        } else if (*p == ']' || *p == '}') {
            if (depth == 0) {
                break;
            }

            depth--;

        } else if (*p == ',' && depth == 0) {
            break;
        }
    }

    *pos = p;

    return 1;
}
