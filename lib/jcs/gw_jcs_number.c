
/*
 * Copyright (C) Tollgate
 *
 * ECMAScript's Number::toString for RFC 8785: first the shortest digit
 * string that reads back to the same double, then a layout chosen by the
 * decimal exponent.  The digits come from the C library, whose printf and
 * strtod round correctly: "%.*e" at a precision gives the closest decimal
 * of that length, and the shortest length at which strtod maps it back
 * to the same double is found by bisection over 1..17.  The closest
 * decimal of a length can miss when another one of the same length does
 * not: just above a power of two the doubles below are twice as dense as
 * those above, so the round trip interval is lopsided.  For those doubles
 * each length also tries the two neighbours of the closest decimal.
 */


#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jcs.h"


static int gw_jcs_digits(double d, char *digits, int *exp10);
static int gw_jcs_at(double d, int prec, int lopsided, char *digits,
    int *exp10);
static int gw_jcs_try(double d, const char *digits, int ndigits, int exp10);
static int gw_jcs_step(char *digits, int n, int *exp10, int up);


/*
 * ECMAScript Number::toString (ECMA-262 section 6.1.6.1.20) for a finite
 * d: with k the number of shortest digits and n the decimal exponent such
 * that d = 0.digits * 10^n, integers up to 21 digits are written whole,
 * other numbers from 1e-6 up in fixed notation, the rest as d.ddde+-x.
 */

int
gw_jcs_number(double d, char *buf)
{
    int    k, n, e, i;
    char  *p;
    char   digits[24];

    if (isnan(d) || isinf(d)) {
        return -1;
    }

    p = buf;

    if (d == 0) {
        *p++ = '0';
        *p = '\0';
        return 1;
    }

    if (d < 0) {
        *p++ = '-';
        d = -d;
    }

    /*
     * An integer below 2^53: every integer around it is a double too, so
     * its own digits are the shortest that read back, and it is written
     * whole (at most 16 digits).
     */

    if (d < 9007199254740992.0 && d == (double) (int64_t) d) {
        p += sprintf(p, "%lld", (long long) d);
        return (int) (p - buf);
    }

    k = gw_jcs_digits(d, digits, &e);
    n = e + 1;

    if (k <= n && n <= 21) {
        memcpy(p, digits, k);
        p += k;

        for (i = 0; i < n - k; i++) {
            *p++ = '0';
        }

    } else if (0 < n && n <= 21) {
        memcpy(p, digits, n);
        p += n;
        *p++ = '.';
        memcpy(p, digits + n, k - n);
        p += k - n;

    } else if (-6 < n && n <= 0) {
        *p++ = '0';
        *p++ = '.';

        for (i = 0; i < -n; i++) {
            *p++ = '0';
        }

        memcpy(p, digits, k);
        p += k;

    } else {
        *p++ = digits[0];

        if (k > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, k - 1);
            p += k - 1;
        }

        p += sprintf(p, "e%c%d", n - 1 < 0 ? '-' : '+',
                     n - 1 < 0 ? 1 - n : n - 1);
    }

    *p = '\0';

    return (int) (p - buf);
}


/*
 * The shortest decimal digits of d > 0 that read back as d, the closest
 * to d among those, without trailing zeros; *exp10 is the exponent of the
 * first digit.  Returns the number of digits (1..17).  Whether some
 * decimal of p digits reads back only grows with p (append a zero), so
 * the shortest length is found by bisection, in four or five tries.
 */

static int
gw_jcs_digits(double d, char *digits, int *exp10)
{
    int       lo, hi, mid, k, lopsided;
    uint64_t  bits;

    /* only a significand of 1.0 has a closer double below than above */

    memcpy(&bits, &d, sizeof(bits));
    lopsided = (bits & 0x000fffffffffffffULL) == 0;

    lo = 1;
    hi = 17;

    while (lo < hi) {
        mid = (lo + hi) / 2;

        if (gw_jcs_at(d, mid, lopsided, digits, exp10)) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    (void) gw_jcs_at(d, lo, lopsided, digits, exp10);

    for (k = lo; k > 1 && digits[k - 1] == '0'; k--) {
        /* void */
    }

    digits[k] = '\0';

    return k;
}


/*
 * The decimal of prec digits closest to d that reads back as d, into
 * digits and *exp10: the correctly rounded one, else, when d's round
 * trip interval is lopsided, one of its two neighbours.  Where the
 * interval is symmetric, a decimal farther than the closest one cannot
 * read back when the closest does not.  Returns 0 when none reads back.
 */

static int
gw_jcs_at(double d, int prec, int lopsided, char *digits, int *exp10)
{
    int    k, e, ae, alt;
    char   tmp[40], cand[24], *p;

    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);

    /* "d.ddde+XX" or, with one digit, "de+XX" */

    k = 0;

    for (p = tmp; *p != 'e'; p++) {
        if (*p != '.') {
            digits[k++] = *p;
        }
    }

    e = (int) strtol(p + 1, NULL, 10);
    *exp10 = e;

    if (strtod(tmp, NULL) == d) {
        return 1;
    }

    for (alt = 0; lopsided && alt < 2; alt++) {
        memcpy(cand, digits, k);
        ae = e;

        if (gw_jcs_step(cand, k, &ae, alt) == 0
            && gw_jcs_try(d, cand, k, ae))
        {
            memcpy(digits, cand, k);
            *exp10 = ae;
            return 1;
        }
    }

    return 0;
}


/* whether digits (d.ddd) times 10^exp10 reads back as d */

static int
gw_jcs_try(double d, const char *digits, int ndigits, int exp10)
{
    char  tmp[48];

    snprintf(tmp, sizeof(tmp), "%c.%.*se%d", digits[0], ndigits - 1,
             digits + 1, exp10);

    return strtod(tmp, NULL) == d;
}


/*
 * Moves the n-digit decimal d.ddd * 10^exp10 one unit of its last digit
 * up (up != 0) or down, keeping n digits.  Returns -1 when that leaves no
 * positive n-digit decimal.
 */

static int
gw_jcs_step(char *digits, int n, int *exp10, int up)
{
    int  i;

    if (up) {
        for (i = n - 1; i >= 0 && digits[i] == '9'; i--) {
            digits[i] = '0';
        }

        if (i >= 0) {
            digits[i]++;
            return 0;
        }

        /* 9.99 -> 10.0: 1.00 with the exponent one up */

        digits[0] = '1';
        (*exp10)++;

        return 0;
    }

    for (i = n - 1; i >= 0 && digits[i] == '0'; i--) {
        digits[i] = '9';
    }

    if (i < 0) {
        return -1;
    }

    digits[i]--;

    if (digits[0] != '0') {
        return 0;
    }

    /* 1.00 -> 0.99: the n-digit decimal just below is 9.99, one down */

    if (n == 1) {
        return -1;
    }

    memmove(digits, digits + 1, n - 1);
    digits[n - 1] = '9';
    (*exp10)--;

    return 0;
}
