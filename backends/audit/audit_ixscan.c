
/*
 * Copyright (C) Tollgate
 *
 * The index keys of a stored record, read straight from its text: what
 * audit_index_extract() takes from the record parsed by jansson, at a
 * fraction of the cost, for the records a start indexes again (the tail
 * of the open segment after a crash).  Stored records are canonical
 * (RFC 8785): no whitespace, strings escaped only where they must be.
 *
 * The scanner is strict and knows its limits: it answers only for a
 * text it fully checked to be a JSON object that jansson would read the
 * same way, and gives up (-1: the caller parses with jansson) on
 * anything else: whitespace, an escape inside an indexed string or in
 * a member name, a number with an exponent that might overflow, nesting
 * deeper than AUDIT_SCAN_DEPTH, an indexed member seen twice, invalid
 * UTF-8 or a lone surrogate, or any text after the object.  So a record
 * gets the same keys either way (t/unit/test_audit_scan.c compares them
 * on generated records).
 */


#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"


#define AUDIT_SCAN_DEPTH    32
#define AUDIT_SCAN_NUM_MAX  64          /* bytes of a number read */


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} audit_scan_t;


static int audit_scan_utf8(audit_scan_t *s);
static int audit_scan_string(audit_scan_t *s, const unsigned char **v,
    size_t *len, int *escaped);
static int audit_scan_number(audit_scan_t *s, double *d);
static int audit_scan_value(audit_scan_t *s, unsigned depth);


/* one multibyte UTF-8 character at s->p, as jansson checks it */

static int
audit_scan_utf8(audit_scan_t *s)
{
    size_t    n, i;
    uint32_t  c, u;

    c = s->p[0];

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        u = c & 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        u = c & 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        u = c & 0x07;

    } else {
        return -1;
    }

    if ((size_t) (s->end - s->p) < n) {
        return -1;
    }

    for (i = 1; i < n; i++) {
        if ((s->p[i] & 0xc0) != 0x80) {
            return -1;
        }
        u = (u << 6) | (s->p[i] & 0x3f);
    }

    if ((n == 3 && u < 0x800) || (n == 4 && u < 0x10000)
        || (u >= 0xd800 && u <= 0xdfff) || u > 0x10ffff)
    {
        return -1;
    }

    s->p += n;

    return 0;
}


/*
 * A string at s->p (its opening quote): *v and *len its raw bytes,
 * *escaped 1 when it holds an escape (then the bytes are not its value).
 */

static int
audit_scan_string(audit_scan_t *s, const unsigned char **v, size_t *len,
    int *escaped)
{
    size_t   i;
    unsigned c;

    s->p++;
    *v = s->p;
    *escaped = 0;

    while (s->p < s->end) {
        c = *s->p;

        if (c == '"') {
            *len = s->p - *v;
            s->p++;
            return 0;
        }

        if (c < 0x20) {
            return -1;
        }

        if (c >= 0x80) {
            if (audit_scan_utf8(s) != 0) {
                return -1;
            }
            continue;
        }

        if (c != '\\') {
            s->p++;
            continue;
        }

        *escaped = 1;

        if (s->end - s->p < 2) {
            return -1;
        }

        c = s->p[1];

        if (c == 'u') {
            /* a surrogate needs its pair checked: left to jansson */
            if (s->end - s->p < 6
                || ((s->p[2] | 0x20) == 'd' && s->p[3] >= '8'))
            {
                return -1;
            }
            for (i = 2; i < 6; i++) {
                c = s->p[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                      || (c >= 'A' && c <= 'F')))
                {
                    return -1;
                }
            }
            s->p += 6;
            continue;
        }

        if (strchr("\"\\/bfnrt", (int) c) == NULL || c == '\0') {
            return -1;
        }

        s->p += 2;
    }

    return -1;
}


/* a number at s->p; *d its value (NULL: not needed) */

static int
audit_scan_number(audit_scan_t *s, double *d)
{
    int                   exp;
    size_t                len;
    char                  buf[AUDIT_SCAN_NUM_MAX + 1];
    const unsigned char  *b;

    b = s->p;
    exp = 0;

    if (s->p < s->end && *s->p == '-') {
        s->p++;
    }

    if (s->p >= s->end) {
        return -1;
    }

    if (*s->p == '0') {
        s->p++;

    } else if (*s->p >= '1' && *s->p <= '9') {
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
            s->p++;
        }

    } else {
        return -1;
    }

    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9') {
            return -1;
        }
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
            s->p++;
        }
    }

    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        exp = 1;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (s->p >= s->end || *s->p < '0' || *s->p > '9') {
            return -1;
        }
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
            s->p++;
        }
    }

    len = s->p - b;

    /* without an exponent, up to 300 digits cannot overflow a double */

    if (d == NULL && !exp && len <= 300) {
        return 0;
    }

    if (len > AUDIT_SCAN_NUM_MAX) {
        return -1;
    }

    memcpy(buf, b, len);
    buf[len] = '\0';

    /* jansson fails on an overflow (HUGE_VAL), not on an underflow */

    if (d != NULL) {
        *d = strtod(buf, NULL);
        return isinf(*d) ? -1 : 0;
    }

    return isinf(strtod(buf, NULL)) ? -1 : 0;
}


/* skips any value at s->p */

static int
audit_scan_value(audit_scan_t *s, unsigned depth)
{
    int                   esc;
    size_t                len;
    unsigned char         close;
    const unsigned char  *v;

    if (s->p >= s->end) {
        return -1;
    }

    switch (*s->p) {

    case '"':
        return audit_scan_string(s, &v, &len, &esc);

    case 't':
    case 'n':
        if (s->end - s->p < 4
            || memcmp(s->p, *s->p == 't' ? "true" : "null", 4) != 0)
        {
            return -1;
        }
        s->p += 4;
        return 0;

    case 'f':
        if (s->end - s->p < 5 || memcmp(s->p, "false", 5) != 0) {
            return -1;
        }
        s->p += 5;
        return 0;

    case '{':
    case '[':
        if (depth >= AUDIT_SCAN_DEPTH) {
            return -1;
        }

        close = (*s->p == '{') ? '}' : ']';
        s->p++;

        if (s->p < s->end && *s->p == close) {
            s->p++;
            return 0;
        }

        for ( ;; ) {
            if (close == '}') {
                if (s->p >= s->end || *s->p != '"'
                    || audit_scan_string(s, &v, &len, &esc) != 0
                    || esc || s->p >= s->end || *s->p != ':')
                {
                    return -1;
                }
                s->p++;
            }

            if (audit_scan_value(s, depth + 1) != 0 || s->p >= s->end) {
                return -1;
            }

            if (*s->p == close) {
                s->p++;
                return 0;
            }

            if (*s->p != ',') {
                return -1;
            }

            s->p++;
        }

    default:
        return audit_scan_number(s, NULL);
    }
}


int
audit_index_scan(const unsigned char *rec, size_t len, audit_ixrec_t *x)
{
    int                   esc;
    size_t                n, vlen;
    double                d;
    unsigned              f, seen;
    audit_scan_t          s;
    const unsigned char  *k, *v;

    static const struct {
        const char  *name;
        size_t       len;
    } names[5] = {
        { "actor", 5 }, { "action", 6 }, { "resource", 8 }, { "status", 6 },
        { "time", 4 }
    };

    memset(x, 0, sizeof(audit_ixrec_t));

    s.p = rec;
    s.end = rec + len;
    seen = 0;

    if (len < 2 || rec[0] != '{') {
        return -1;
    }

    s.p++;

    if (*s.p == '}') {
        s.p++;
        return s.p == s.end ? 0 : -1;
    }

    for ( ;; ) {
        if (s.p >= s.end || *s.p != '"'
            || audit_scan_string(&s, &k, &n, &esc) != 0 || esc
            || s.p >= s.end || *s.p != ':')
        {
            return -1;
        }

        s.p++;

        for (f = 0; f < 5; f++) {
            if (n == names[f].len && memcmp(k, names[f].name, n) == 0) {
                break;
            }
        }

        if (f < 5) {
            if (seen & (1u << f)) {
                return -1;
            }
            seen |= 1u << f;
        }

        if (s.p >= s.end) {
            return -1;
        }

        if (f < 3 && *s.p == '"') {
            if (audit_scan_string(&s, &v, &vlen, &esc) != 0 || esc) {
                return -1;
            }
            x->keys[f] = audit_index_key(f, v, vlen);
            x->has |= 1u << f;

        } else if (f >= 3 && f < 5
                   && (*s.p == '-' || (*s.p >= '0' && *s.p <= '9')))
        {
            if (audit_scan_number(&s, &d) != 0) {
                return -1;
            }
            if (f == 3) {
                x->keys[3] = audit_index_status_key(d);
                x->has |= 1u << 3;
            } else {
                x->time = d;
                x->has_time = 1;
            }

        } else if (audit_scan_value(&s, 1) != 0) {
            return -1;
        }

        if (s.p >= s.end) {
            return -1;
        }

        if (*s.p == '}') {
            s.p++;
            return s.p == s.end ? 0 : -1;
        }

        if (*s.p != ',') {
            return -1;
        }

        s.p++;
    }
}
