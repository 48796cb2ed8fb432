
/*
 * Copyright (C) Tollgate
 *
 * Numbers as written: exact decimal arithmetic on the text of a number,
 * for the numbers a double does not hold (GW_SCHEMA_DECIMAL values, see
 * gw_schema.h) and the rare comparisons the doubles leave open.
 *
 * A number is read, without copying, as its significant digits (from the
 * first non-zero digit to the last one, in at most two runs of the text,
 * either side of the point) and the power of ten of the first of them:
 * "-0.00120e3" is -1.2, the digits "12" at 10^0.  Two such numbers
 * compare by sign, then that power, then digit by digit; an integer is
 * one whose last digit is at 10^0 or above; a multiple of a decimal m,
 * digits * 10^exp of at most 19 digits, is decided by the remainder of
 * the digits modulo m's digits, carried with 128-bit arithmetic.  None
 * of this has a cap on the count of digits: each is one pass over the
 * text.  The exponent as written is read up to +-10^15 (saturating);
 * past it, the text cannot be a number within the double range anyway
 * (the parser refuses those), or only tiny ones are told apart the less.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


#define GW_SCH_EXP_MAX  1000000000000000LL      /* 10^15 */


/* the digit i of x's significant digits */

static inline int
gw_sch_num_digit(const gw_sch_num_t *x, size_t i)
{
    return (i < x->na) ? x->a[i] - '0' : x->b[i - x->na] - '0';
}


/*
 * x from the text of a JSON number (its grammar is taken as checked:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
 */

void
gw_sch_num_text(gw_sch_num_t *x, const char *p, size_t len)
{
    int          eneg;
    size_t       ni, nf;
    int64_t      e;
    const char  *end, *ip, *fp, *q;

    end = p + len;
    memset(x, 0, sizeof(gw_sch_num_t));

    if (p < end && *p == '-') {
        x->neg = 1;
        p++;
    }

    ip = p;

    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }

    ni = p - ip;
    fp = p;
    nf = 0;

    if (p < end && *p == '.') {
        fp = ++p;

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

        nf = p - fp;
    }

    e = 0;

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        eneg = 0;

        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }

        for ( /* void */ ; p < end && *p >= '0' && *p <= '9'; p++) {
            if (e < GW_SCH_EXP_MAX) {
                e = e * 10 + (*p - '0');
            }
        }

        if (e > GW_SCH_EXP_MAX) {
            e = GW_SCH_EXP_MAX;
        }

        if (eneg) {
            e = -e;
        }
    }

    /* the digits: ip[0 .. ni) then fp[0 .. nf); the point after ni */

    for (q = ip; q < ip + ni && *q == '0'; q++) {
        /* void */
    }

    if (q < ip + ni) {
        /* the first significant digit is in the integer part */

        x->lead = e + (int64_t) (ip + ni - q) - 1;
        x->a = q;
        x->na = ip + ni - q;
        x->b = fp;
        x->nb = nf;

    } else {
        for (q = fp; q < fp + nf && *q == '0'; q++) {
            /* void */
        }

        if (q == fp + nf) {
            x->neg = 0;                 /* zero: -0 is 0 */
            return;
        }

        x->lead = e - (int64_t) (q - fp) - 1;
        x->a = q;
        x->na = fp + nf - q;
        x->b = NULL;
        x->nb = 0;
    }

    /* trailing zeros are not significant */

    while (x->nb > 0 && x->b[x->nb - 1] == '0') {
        x->nb--;
    }

    if (x->nb == 0) {
        while (x->na > 0 && x->a[x->na - 1] == '0') {
            x->na--;
        }
    }
}


/* x from a decimal digits * 10^exp; buf (24 bytes) holds its digits */

void
gw_sch_num_dec(gw_sch_num_t *x, const gw_sch_dec_t *d, char *buf)
{
    int       n;
    uint64_t  u;

    memset(x, 0, sizeof(gw_sch_num_t));

    if (d->digits == 0) {
        return;
    }

    n = 0;

    for (u = d->digits; u != 0; u /= 10) {
        n++;
    }

    x->neg = d->neg;
    x->a = buf;
    x->na = n;
    x->lead = (int64_t) d->exp + n - 1;

    for (u = d->digits; n > 0; u /= 10) {
        buf[--n] = (char) ('0' + u % 10);
    }

    /* digits came with no trailing zero, by gw_sch_dec_from() */

    while (x->na > 0 && x->a[x->na - 1] == '0') {
        x->na--;
    }
}


/* -1, 0, 1 as x is below, equal to, above y */

int
gw_sch_num_order(const gw_sch_num_t *x, const gw_sch_num_t *y)
{
    int     sign, dx, dy;
    size_t  i, nx, ny;

    nx = x->na + x->nb;
    ny = y->na + y->nb;

    if (nx == 0 || ny == 0) {
        if (nx == 0 && ny == 0) {
            return 0;
        }

        return (nx == 0) ? (y->neg ? 1 : -1) : (x->neg ? -1 : 1);
    }

    if (x->neg != y->neg) {
        return x->neg ? -1 : 1;
    }

    /* the order of the magnitudes, then the sign turns it */

    sign = x->neg ? -1 : 1;

    if (x->lead != y->lead) {
        return (x->lead > y->lead) ? sign : -sign;
    }

    for (i = 0; i < nx && i < ny; i++) {
        dx = gw_sch_num_digit(x, i);
        dy = gw_sch_num_digit(y, i);

        if (dx != dy) {
            return (dx > dy) ? sign : -sign;
        }
    }

    /* one is the other with more digits, none of them zero at its end */

    if (nx == ny) {
        return 0;
    }

    return (nx > ny) ? sign : -sign;
}


/* whether x has no fractional part */

int
gw_sch_num_integral(const gw_sch_num_t *x)
{
    size_t  n;

    n = x->na + x->nb;

    /* the last digit at 10^(lead - n + 1) */

    return n == 0 || x->lead >= (int64_t) n - 1;
}


/*
 * Whether x is an integer multiple of m, digits * 10^exp with digits
 * not 0 and without trailing zeros.  x's last digit at 10^e: below
 * 10^exp, x is no multiple (a multiple of m has no digit below 10^exp);
 * else m's digits must divide x's digits * 10^(e - exp).  Past 64
 * factors of ten, more of them add nothing: m's digits hold fewer than
 * 64 factors of 2 or of 5, and the rest of them is prime to 10.
 */

int
gw_sch_num_multiple(const gw_sch_num_t *x, const gw_sch_dec_t *m)
{
    size_t             i, n;
    int64_t            e, k;
    unsigned __int128  r, d;

    n = x->na + x->nb;

    if (n == 0) {
        return 1;
    }

    if (m->digits == 0) {
        return 0;
    }

    e = x->lead - (int64_t) n + 1;
    k = e - m->exp;

    if (k < 0) {
        return 0;
    }

    d = m->digits;
    r = 0;

    for (i = 0; i < n; i++) {
        r = (r * 10 + (unsigned) gw_sch_num_digit(x, i)) % d;
    }

    if (k > 64) {
        k = 64;
    }

    while (k-- > 0 && r != 0) {
        r = (r * 10) % d;
    }

    return r == 0;
}


/*
 * The double nearest x read from its first 40 digits: two equal numbers
 * give the same double (a number equal to a double's shortest decimal,
 * or to a 64-bit integer, has fewer digits than that), and a number
 * whose double is not the one of a value has the same order to it; for
 * hashing and for a first comparison only.
 */

double
gw_sch_num_approx(const gw_sch_num_t *x)
{
    char    buf[80], *p;
    size_t  i, n;

    n = x->na + x->nb;

    if (n == 0) {
        return 0;
    }

    p = buf;

    if (x->neg) {
        *p++ = '-';
    }

    for (i = 0; i < n && i < 40; i++) {
        *p++ = (char) ('0' + gw_sch_num_digit(x, i));

        if (i == 0) {
            *p++ = '.';
        }
    }

    snprintf(p, buf + sizeof(buf) - p, "e%lld",
             (long long) x->lead);

    return strtod(buf, NULL);
}


/*
 * The double of the number text as strtod() reads all of it, as jansson
 * does; NAN when out of memory.
 */

double
gw_sch_decimal_double(const char *text, size_t len)
{
    char    tmp[64], *p;
    double  d;

    p = (len < sizeof(tmp)) ? tmp : malloc(len + 1);
    if (p == NULL) {
        return NAN;
    }

    memcpy(p, text, len);
    p[len] = '\0';

    d = strtod(p, NULL);

    if (p != tmp) {
        free(p);
    }

    return d;
}
