
/*
 * Copyright (C) Tollgate
 *
 * Numbers and equality as JSON Schema defines them, not as jansson does:
 * 1 and 1.0 are the same number (in "enum", "const", "uniqueItems"), an
 * integer is any number with no fractional part (1.0 included), and
 * "multipleOf" is decided exactly.
 *
 * Values keep integers as 64-bit integers, most other numbers as a
 * double, which stands for the shortest decimal that reads back as it
 * (the number as written, when that has at most 15 significant digits:
 * two such decimals never share a double), and a number a double does
 * not hold as its text (GW_SCHEMA_DECIMAL).  Rounding to a double keeps
 * the order of numbers, so two doubles that differ compare as their
 * decimals do, and two that are equal are the same decimal: comparing
 * doubles is exact.  Integers against doubles go through long double,
 * whose 64-bit mantissa holds both exactly on x86-64, up to 2^53; past
 * it, and for every number kept as text, the decimals are compared
 * (gw_schema_decimal.c), the doubles first where they tell.
 *
 * multipleOf with a fraction cannot use fmod() (0.0075 is not a
 * multiple of 0.0001 in binary), so both numbers are turned into
 * decimals, digits * 10^exp, and the division is checked on those
 * integers with 128-bit arithmetic: 1e308 against 0.123456789 is then
 * simply "no".
 */


#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


typedef struct {
    uint64_t  hash;
    size_t    index;
} gw_sch_hidx_t;


static uint64_t gw_sch_hash(const gw_schema_value_t *v);
static int gw_sch_hidx_cmp(const void *a, const void *b);


#define gw_sch_is_number(v)                                                   \
    ((v)->type == GW_SCHEMA_INTEGER || (v)->type == GW_SCHEMA_REAL            \
     || (v)->type == GW_SCHEMA_DECIMAL)

#define GW_SCH_2P53  9007199254740992.0


/* v as a decimal, its digits in buf (24 bytes); -1 not finite */

static int
gw_sch_num_of(const gw_schema_value_t *v, gw_sch_num_t *x, char *buf)
{
    gw_sch_dec_t  d;

    if (v->type == GW_SCHEMA_DECIMAL) {
        gw_sch_num_text(x, v->u.s, v->len);
        return 0;
    }

    if (gw_sch_dec_from(v, &d) != 0) {
        return -1;
    }

    gw_sch_num_dec(x, &d, buf);

    return 0;
}


/*
 * The order of two numbers, exactly: one of them kept as text, or an
 * integer and a double past 2^53.
 */

static int
gw_sch_num_exact(const gw_schema_value_t *a, const gw_schema_value_t *b)
{
    char          ba[24], bb[24];
    double        x, y;
    gw_sch_num_t  na, nb;

    if (a->type == GW_SCHEMA_DECIMAL && b->type == GW_SCHEMA_DECIMAL) {
        gw_sch_num_text(&na, a->u.s, a->len);
        gw_sch_num_text(&nb, b->u.s, b->len);
        return gw_sch_num_order(&na, &nb);
    }

    /* text against a double: the doubles first, when they differ */

    if ((a->type == GW_SCHEMA_DECIMAL && b->type == GW_SCHEMA_REAL)
        || (a->type == GW_SCHEMA_REAL && b->type == GW_SCHEMA_DECIMAL))
    {
        if (a->type == GW_SCHEMA_DECIMAL) {
            gw_sch_num_text(&na, a->u.s, a->len);
            x = gw_sch_num_approx(&na);
            y = b->u.d;

        } else {
            gw_sch_num_text(&nb, b->u.s, b->len);
            x = a->u.d;
            y = gw_sch_num_approx(&nb);
        }

        if (x != y) {
            return (x > y) - (x < y);
        }
    }

    if (gw_sch_num_of(a, &na, ba) != 0 || gw_sch_num_of(b, &nb, bb) != 0) {
        /* not finite: only from a jansson value built so */
        x = (a->type == GW_SCHEMA_REAL) ? a->u.d : 0;
        y = (b->type == GW_SCHEMA_REAL) ? b->u.d : 0;
        return (x > y) - (x < y);
    }

    return gw_sch_num_order(&na, &nb);
}


int
gw_sch_num_cmp(const gw_schema_value_t *a, const gw_schema_value_t *b)
{
    long double  x, y;

    if (a->type == GW_SCHEMA_INTEGER && b->type == GW_SCHEMA_INTEGER) {
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    }

    if (a->type == GW_SCHEMA_REAL && b->type == GW_SCHEMA_REAL) {
        return (a->u.d > b->u.d) - (a->u.d < b->u.d);
    }

    if (a->type == GW_SCHEMA_DECIMAL || b->type == GW_SCHEMA_DECIMAL) {
        return gw_sch_num_exact(a, b);
    }

    /* an integer and a double */

    x = (a->type == GW_SCHEMA_INTEGER) ? (long double) a->u.i
                                       : (long double) a->u.d;
    y = (b->type == GW_SCHEMA_INTEGER) ? (long double) b->u.i
                                       : (long double) b->u.d;

    /*
     * Past 2^53 a double's shortest decimal is not its value: 1e19 and
     * the integer 10000000000000000000 are the same number, and the
     * double nearest 9223372036854770000 is not; within 2^64 of each
     * other the decimals decide.
     */

    if ((fabsl(x) > GW_SCH_2P53 || fabsl(y) > GW_SCH_2P53)
        && fabsl(x - y) < 1e-10L * (fabsl(x) + fabsl(y)))
    {
        return gw_sch_num_exact(a, b);
    }

    return (x > y) - (x < y);
}


/*
 * The order of v against a bound of a schema, b, given also as its
 * decimal bd, when gw_sch_bound_cmp() did not answer inline: numbers
 * kept as text compare with bd, the others as gw_sch_num_cmp() does.
 */

int
gw_sch_bound_order(const gw_schema_value_t *v, const gw_schema_value_t *b,
    const gw_sch_dec_t *bd)
{
    char          buf[24];
    gw_sch_num_t  x, y;

    if (v->type != GW_SCHEMA_DECIMAL) {
        return gw_sch_num_cmp(v, b);
    }

    gw_sch_num_text(&x, v->u.s, v->len);
    gw_sch_num_dec(&y, bd, buf);

    return gw_sch_num_order(&x, &y);
}


/*
 * Whether the number text (JSON's grammar, within the double range) is
 * to be kept as written: more than 15 significant digits, or nearer 0
 * than 1e-307 but not 0, where its double no longer tells it.
 */

int
gw_sch_decimal_keep(const char *text, size_t len)
{
    size_t        n;
    gw_sch_num_t  x;

    gw_sch_num_text(&x, text, len);

    n = x.na + x.nb;

    return n > 15 || (n > 0 && x.lead < -307);
}


int
gw_schema_number_fits(const char *text, size_t len)
{
    return !gw_sch_decimal_keep(text, len);
}


int
gw_sch_is_integer(const gw_schema_value_t *v)
{
    double        d;
    gw_sch_num_t  x;

    if (v->type == GW_SCHEMA_INTEGER) {
        return 1;
    }

    if (v->type == GW_SCHEMA_DECIMAL) {
        gw_sch_num_text(&x, v->u.s, v->len);
        return gw_sch_num_integral(&x);
    }

    if (v->type != GW_SCHEMA_REAL) {
        return 0;
    }

    d = v->u.d;

    return isfinite(d) && floor(d) == d;
}


/*
 * The shortest decimal digits * 10^exp that reads back as v's double, or
 * v's integer exactly; for a double, that of "%.*e" at the least
 * precision that reads back.  15 digits are tried first: when they read
 * back, stripped of trailing zeros they are the shortest (two decimals
 * of at most 15 digits never round to one normal double); then 16 and
 * 17; below the normal range, every precision in turn.  Returns 0, or -1
 * for a value that is not finite (or a text).
 */

int
gw_sch_dec_from(const gw_schema_value_t *v, gw_sch_dec_t *d)
{
    int        prec;
    char       buf[64], *p, *e;
    double     x;
    uint64_t   digits;
    int64_t    i;

    memset(d, 0, sizeof(gw_sch_dec_t));

    if (v->type == GW_SCHEMA_INTEGER) {
        i = v->u.i;
        d->neg = (i < 0);
        d->digits = (i < 0) ? (uint64_t) 0 - (uint64_t) i : (uint64_t) i;

        while (d->digits != 0 && d->digits % 10 == 0) {
            d->digits /= 10;
            d->exp++;
        }

        return 0;
    }

    if (v->type != GW_SCHEMA_REAL) {
        return -1;
    }

    x = v->u.d;

    if (!isfinite(x)) {
        return -1;
    }

    if (x == 0) {
        return 0;
    }

    prec = (fabs(x) >= DBL_MIN) ? 14 : 0;

    for ( /* void */ ; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, x);

        if (strtod(buf, NULL) == x) {
            break;
        }
    }

    /* buf: [-]D[.DDD]e[+-]XX */

    p = buf;
    if (*p == '-') {
        d->neg = 1;
        p++;
    }

    digits = 0;
    d->exp = 0;

    for ( /* void */ ; *p != 'e' && *p != '\0'; p++) {
        if (*p == '.') {
            continue;
        }

        digits = digits * 10 + (uint64_t) (*p - '0');
    }

    d->exp = (int) strtol(p + 1, &e, 10) - prec;

    while (digits != 0 && digits % 10 == 0) {
        digits /= 10;
        d->exp++;
    }

    d->digits = digits;

    return 0;
}


/*
 * Whether v is an integer multiple of m (m > 0, md its decimal form).
 * Returns 1 or 0.
 */

int
gw_sch_multiple_of(const gw_schema_value_t *v, const gw_schema_value_t *m,
    const gw_sch_dec_t *md)
{
    int                k;
    int64_t            a, b;
    gw_sch_num_t       x;
    gw_sch_dec_t       dv;
    unsigned __int128  r, big;

    if (v->type == GW_SCHEMA_DECIMAL) {
        gw_sch_num_text(&x, v->u.s, v->len);
        return gw_sch_num_multiple(&x, md);
    }

    if (v->type == GW_SCHEMA_INTEGER && m->type == GW_SCHEMA_INTEGER) {
        a = v->u.i;
        b = m->u.i;

        if (b == -1 || b == 1) {
            return 1;
        }

        return (a % b) == 0;
    }

    if (gw_sch_dec_from(v, &dv) != 0) {
        return 0;
    }

    if (dv.digits == 0) {
        return 1;
    }

    if (md->digits == 0) {
        return 0;
    }

    k = dv.exp - md->exp;

    if (k >= 0) {
        /* md->digits divides dv.digits * 10^k */
        r = dv.digits % md->digits;

        while (k-- > 0 && r != 0) {
            r = (r * 10) % md->digits;
        }

        return r == 0;
    }

    /* md->digits * 10^-k divides dv.digits */

    if (-k > 20) {
        return 0;
    }

    big = md->digits;

    while (k++ < 0) {
        big *= 10;

        if (big > dv.digits) {
            return 0;
        }
    }

    return (dv.digits % big) == 0;
}


int
gw_sch_equal(const gw_schema_value_t *a, const gw_schema_value_t *b)
{
    size_t                     i, n;
    const gw_schema_value_t   *vb;
    const gw_schema_member_t  *m;

    if (gw_sch_is_number(a) && gw_sch_is_number(b)) {
        return gw_sch_num_cmp(a, b) == 0;
    }

    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case GW_SCHEMA_STRING:
        return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;

    case GW_SCHEMA_ARRAY:
        if (a->len != b->len) {
            return 0;
        }

        for (i = 0; i < a->len; i++) {
            if (!gw_sch_equal(&a->u.items[i], &b->u.items[i])) {
                return 0;
            }
        }

        return 1;

    case GW_SCHEMA_OBJECT:
        n = a->len;

        if (n != b->len) {
            return 0;
        }

        /* same size, no duplicate names: every name of a found in b */

        for (i = 0; i < n; i++) {
            m = &a->u.members[i];

            /* the same order, the common case, first */

            if (b->u.members[i].len == m->len
                && memcmp(b->u.members[i].key, m->key, m->len) == 0)
            {
                vb = &b->u.members[i].value;

            } else {
                vb = gw_sch_get(b, m->key, m->len);
            }

            if (vb == NULL || !gw_sch_equal(&m->value, vb)) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


static uint64_t
gw_sch_hash_bytes(uint64_t h, const char *p, size_t len)
{
    while (len-- > 0) {
        h ^= (unsigned char) *p++;
        h *= 0x100000001b3ULL;
    }

    return h;
}


static uint64_t
gw_sch_hash(const gw_schema_value_t *v)
{
    double                     d;
    size_t                     i;
    uint64_t                   h, sum;
    gw_sch_num_t               x;
    const gw_schema_member_t  *m;

    h = 0xcbf29ce484222325ULL ^ (uint64_t) v->type;

    switch (v->type) {

    case GW_SCHEMA_INTEGER:
    case GW_SCHEMA_REAL:
    case GW_SCHEMA_DECIMAL:
        /* equal numbers give equal doubles; -0 and 0 are equal */
        if (v->type == GW_SCHEMA_DECIMAL) {
            gw_sch_num_text(&x, v->u.s, v->len);
            d = gw_sch_num_approx(&x);

        } else {
            d = (v->type == GW_SCHEMA_INTEGER) ? (double) v->u.i : v->u.d;
        }

        if (d == 0) {
            d = 0;
        }

        h = 0x9e3779b97f4a7c15ULL;
        return gw_sch_hash_bytes(h, (const char *) &d, sizeof(double));

    case GW_SCHEMA_STRING:
        return gw_sch_hash_bytes(h, v->u.s, v->len);

    case GW_SCHEMA_ARRAY:
        for (i = 0; i < v->len; i++) {
            h = (h ^ gw_sch_hash(&v->u.items[i])) * 0x100000001b3ULL;
        }

        return h;

    case GW_SCHEMA_OBJECT:
        /* member order does not matter: a sum */
        sum = 0;

        for (i = 0; i < v->len; i++) {
            m = &v->u.members[i];
            sum += gw_sch_hash_bytes(0xcbf29ce484222325ULL, m->key, m->len)
                   * (gw_sch_hash(&m->value) | 1);
        }

        return h ^ sum;

    default:
        return h;
    }
}


static int
gw_sch_hidx_cmp(const void *a, const void *b)
{
    const gw_sch_hidx_t  *x = a, *y = b;

    return (x->hash > y->hash) - (x->hash < y->hash);
}


/*
 * Whether the items of arr are pairwise different.  Small arrays are
 * compared pair by pair; larger ones sorted by hash first, so that a 64
 * KiB array costs n log n.  Returns 1, 0, or -1 when out of memory.
 */

int
gw_sch_unique(const gw_schema_value_t *arr)
{
    size_t          i, j, n;
    gw_sch_hidx_t  *h;

    n = arr->len;

    if (n <= 16) {
        for (i = 0; i < n; i++) {
            for (j = i + 1; j < n; j++) {
                if (gw_sch_equal(&arr->u.items[i], &arr->u.items[j])) {
                    return 0;
                }
            }
        }

        return 1;
    }

    h = malloc(n * sizeof(gw_sch_hidx_t));
    if (h == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        h[i].hash = gw_sch_hash(&arr->u.items[i]);
        h[i].index = i;
    }

    qsort(h, n, sizeof(gw_sch_hidx_t), gw_sch_hidx_cmp);

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n && h[j].hash == h[i].hash; j++) {
            if (gw_sch_equal(&arr->u.items[h[i].index],
                             &arr->u.items[h[j].index]))
            {
                free(h);
                return 0;
            }
        }
    }

    free(h);

    return 1;
}
