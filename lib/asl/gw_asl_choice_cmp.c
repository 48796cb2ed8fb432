
/*
 * Copyright (C) Tollgate
 *
 * The comparisons of Choice rules: strings in UTF-16 code unit order
 * (as Java, and so AWS, compares them), numbers exactly across
 * jansson's integers and reals, StringMatches' glob ("*" any string,
 * "\*" a star, "\\" a backslash: the pattern compiled into bytes and
 * GW_ASL_STAR), matched without recursion.
 */


#include <sys/types.h>
#include <math.h>
#include <string.h>

#include "gw_asl_def_int.h"


static uint32_t gw_asl_utf16_key(const u_char *s, size_t n, size_t *i);
static int gw_asl_int_real_cmp(json_int_t i, double d);


/*
 * Strings in UTF-16 code unit order (Java's String.compareTo): the
 * same as code point order but for code points past U+FFFF, whose
 * surrogates sort before U+E000..U+FFFF.  jansson's strings are valid
 * UTF-8.
 */

int
gw_asl_utf16_cmp(json_t *a, json_t *b)
{
    size_t          i, j, na, nb;
    uint32_t        ka, kb;
    const u_char   *sa, *sb;

    sa = (const u_char *) json_string_value(a);
    sb = (const u_char *) json_string_value(b);
    na = json_string_length(a);
    nb = json_string_length(b);

    i = 0;
    j = 0;

    while (i < na && j < nb) {
        ka = gw_asl_utf16_key(sa, na, &i);
        kb = gw_asl_utf16_key(sb, nb, &j);

        if (ka != kb) {
            return ka < kb ? -1 : 1;
        }
    }

    return (i == na && j == nb) ? 0 : (i == na) ? -1 : 1;
}


/*
 * The code point at s[*i] (moved past it) as a key of UTF-16 order:
 * below U+D800 itself; past U+FFFF (surrogates in UTF-16) next; then
 * U+E000..U+FFFF.
 */

static uint32_t
gw_asl_utf16_key(const u_char *s, size_t n, size_t *i)
{
    size_t    k, len;
    uint32_t  cp;

    cp = s[*i];
    len = (cp < 0x80) ? 1 : (cp < 0xe0) ? 2 : (cp < 0xf0) ? 3 : 4;

    if (len > 1) {
        cp &= (len == 2) ? 0x1f : (len == 3) ? 0x0f : 0x07;
    }

    for (k = 1; k < len && *i + k < n; k++) {
        cp = (cp << 6) | (s[*i + k] & 0x3f);
    }

    *i += len;

    if (cp < 0xd800) {
        return cp;
    }

    if (cp >= 0x10000) {
        return 0xd800 + (cp - 0x10000);
    }

    return cp + 0x200000;
}


int
gw_asl_number_cmp(json_t *a, json_t *b)
{
    double      x, y;
    json_int_t  i, j;

    if (json_is_integer(a) && json_is_integer(b)) {
        i = json_integer_value(a);
        j = json_integer_value(b);
        return (i < j) ? -1 : (i > j);
    }

    if (json_is_integer(a)) {
        return gw_asl_int_real_cmp(json_integer_value(a), json_real_value(b));
    }

    if (json_is_integer(b)) {
        return -gw_asl_int_real_cmp(json_integer_value(b),
                                    json_real_value(a));
    }

    x = json_real_value(a);
    y = json_real_value(b);

    return (x < y) ? -1 : (x > y);
}


/* an integer against a real, exactly (no rounding past 2^53) */

static int
gw_asl_int_real_cmp(json_int_t i, double d)
{
    double      f;
    json_int_t  k;

    if (d >= 9223372036854775808.0) {
        return -1;
    }

    if (d < -9223372036854775808.0) {
        return 1;
    }

    f = floor(d);
    k = (json_int_t) f;

    if (i != k) {
        return (i < k) ? -1 : 1;
    }

    return (d > f) ? -1 : 0;
}


/* a glob with "*" only, iterative: the last star backtracks */

int
gw_asl_matches(const int *p, size_t np, const char *s, size_t n)
{
    size_t  i, j, star, mark;

    i = 0;
    j = 0;
    star = (size_t) -1;
    mark = 0;

    while (i < n) {
        if (j < np && p[j] == GW_ASL_STAR) {
            star = j++;
            mark = i;

        } else if (j < np && p[j] == (u_char) s[i]) {
            i++;
            j++;

        } else if (star != (size_t) -1) {
            j = star + 1;
            i = ++mark;

        } else {
            return 0;
        }
    }

    while (j < np && p[j] == GW_ASL_STAR) {
        j++;
    }

    return j == np;
}
