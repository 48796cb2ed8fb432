
/*
 * Copyright (C) Tollgate
 *
 * The static check of a regex path (metadata_regex.h says what it
 * refuses).  A recursive reading of PCRE2's syntax, run only on a
 * pattern PCRE2 compiled, so it can be lenient: it summarises each item
 * (the bytes it can begin with, the bytes it can consume, the bytes of
 * the repeats of variable count inside it, whether it can match empty, a
 * text it matches) and judges each repeat of a group from its body's
 * summary.  Byte sets are 256 bits: the patterns are byte-wise.
 *
 * Constructs read as "any byte" (the cautious reading): backreferences,
 * subroutine calls and recursion, \p{...}, \X, \C.  Lookarounds and
 * anchors consume nothing; their bodies are checked as any group.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_regex.h"


#define MD_RX_ALTS     4            /* alternatives' samples kept */
#define MD_RX_INF      -1L


typedef struct {
    uint64_t        w[4];
} md_cset_t;


typedef struct {
    md_cset_t       first;          /* bytes it can begin with */
    md_cset_t       all;            /* bytes it can consume */
    md_cset_t       var;            /* bytes of variable repeats inside */
    long            var_at;         /* offset of the first, or -1 */
    int             nullable;
    int             zero;           /* consumes nothing (anchor, look) */
    int             atom;           /* one byte of a set */
    int             atomic;         /* (?>...): no backtracking into it */
    int             sep_ok;         /* a group: every alternative has a
                                       separator none of var matches */
    long            overlap_at;     /* a group: an alternative beginning
                                       as an earlier one, or -1 */
    size_t          slen;
    unsigned char   sample[MD_RX_UNIT_MAX];
    size_t          nalts;
    size_t          alen[MD_RX_ALTS];
    unsigned char   alt[MD_RX_ALTS][MD_RX_UNIT_MAX];
} md_rx_sum_t;


/* the separators of a group's alternatives: mandatory atoms' sets */
typedef struct {
    md_cset_t      *set;
    size_t         *alt;
    size_t          n, cap;
    size_t          cur;            /* the alternative being read */
} md_rx_seps_t;


typedef struct {
    const unsigned char  *s;
    size_t                len;
    size_t                i;
    int                   caseless;
    int                   extended;
    int                   dotall;
    int                   refused;      /* msg says why; read on */
    char                 *msg;
    size_t                mlen;
    md_rx_probe_t        *pr;
    md_cset_t             all;
} md_rx_t;


static int md_rx_alts(md_rx_t *rx, int depth, md_rx_sum_t *sum);
static int md_rx_seq(md_rx_t *rx, int depth, md_rx_sum_t *sum,
    md_rx_seps_t *seps);
static int md_rx_item(md_rx_t *rx, int depth, md_rx_sum_t *it);
static int md_rx_group(md_rx_t *rx, int depth, md_rx_sum_t *it);
static int md_rx_escape(md_rx_t *rx, md_cset_t *set, int in_class);
static void md_rx_class(md_rx_t *rx, md_cset_t *set);
static int md_rx_quant(md_rx_t *rx, long *min, long *max, int *poss);
static void md_rx_skip(md_rx_t *rx);
static void md_rx_flags(md_rx_t *rx);
static void md_rx_unit(md_rx_t *rx, const unsigned char *p, size_t n);
static void md_rx_prefix(md_rx_t *rx);
static void md_rx_killers(md_rx_t *rx);
static int md_rx_push(md_rx_seps_t *seps, const md_cset_t *set);
static void md_rx_atom(md_rx_t *rx, md_rx_sum_t *it, const md_cset_t *set);
static unsigned char md_rx_rep(const md_cset_t *set);


/* ---- byte sets ---------------------------------------------------------- */

#define md_cs_has(cs, c)  (((cs)->w[(c) >> 6] >> ((c) & 63)) & 1)
#define md_cs_add(cs, c)  ((cs)->w[(c) >> 6] |= (uint64_t) 1 << ((c) & 63))


static void
md_cs_range(md_cset_t *cs, unsigned a, unsigned b)
{
    unsigned  c;

    for (c = a; c <= b && c < 256; c++) {
        md_cs_add(cs, c);
    }
}


static void
md_cs_or(md_cset_t *a, const md_cset_t *b)
{
    int  k;

    for (k = 0; k < 4; k++) {
        a->w[k] |= b->w[k];
    }
}


static int
md_cs_meets(const md_cset_t *a, const md_cset_t *b)
{
    int  k;

    for (k = 0; k < 4; k++) {
        if (a->w[k] & b->w[k]) {
            return 1;
        }
    }

    return 0;
}


static void
md_cs_not(md_cset_t *a)
{
    int  k;

    for (k = 0; k < 4; k++) {
        a->w[k] = ~a->w[k];
    }
}


static void
md_cs_fold(md_cset_t *cs)
{
    unsigned  c;

    for (c = 'a'; c <= 'z'; c++) {
        if (md_cs_has(cs, c) || md_cs_has(cs, c - 32)) {
            md_cs_add(cs, c);
            md_cs_add(cs, c - 32);
        }
    }
}


/* \d \w \s \h \v and their complements; 0 when c names none */

static int
md_cs_escape(md_cset_t *cs, int c)
{
    md_cset_t  t;

    memset(&t, 0, sizeof(md_cset_t));

    switch (c | 0x20) {

    case 'd':
        md_cs_range(&t, '0', '9');
        break;

    case 'w':
        md_cs_range(&t, '0', '9');
        md_cs_range(&t, 'a', 'z');
        md_cs_range(&t, 'A', 'Z');
        md_cs_add(&t, '_');
        break;

    case 's':
        md_cs_range(&t, 9, 13);
        md_cs_add(&t, ' ');
        break;

    case 'h':
        md_cs_add(&t, 9);
        md_cs_add(&t, ' ');
        md_cs_add(&t, 0xa0);
        break;

    case 'v':
        md_cs_range(&t, 10, 13);
        md_cs_add(&t, 0x85);
        break;

    default:
        return 0;
    }

    if (c >= 'A' && c <= 'Z') {
        md_cs_not(&t);
    }

    md_cs_or(cs, &t);

    return 1;
}


/* ---- the check ---------------------------------------------------------- */

int
md_regex_static(const char *re, size_t len, md_rx_probe_t *pr, char *msg,
    size_t mlen)
{
    int            rc;
    md_rx_t        rx;
    md_rx_sum_t    sum;
    md_rx_probe_t  dummy;

    memset(&rx, 0, sizeof(md_rx_t));
    rx.s = (const unsigned char *) re;
    rx.len = len;
    rx.msg = msg;
    rx.mlen = mlen;
    rx.pr = (pr != NULL) ? pr : &dummy;

    memset(rx.pr, 0, sizeof(md_rx_probe_t));
    msg[0] = '\0';

    md_rx_flags(&rx);

    rc = 0;

    while (rx.i < rx.len) {
        if (md_rx_alts(&rx, 0, &sum) != 0) {
            rc = -1;
            break;
        }

        /* the whole pattern's sample is a unit too: it holds the bytes
         * PCRE2 requires before it tries (a last literal, say) */
        md_rx_unit(&rx, sum.sample, sum.slen);

        if (rx.pr->sample_len == 0) {
            memcpy(rx.pr->sample, sum.sample, sum.slen);
            rx.pr->sample_len = sum.slen;
        }

        /* a stray ")": PCRE2 would not have compiled it; go on */
        rx.i++;
    }

    /* on a refusal too: the unit test probes what was refused */
    md_rx_prefix(&rx);
    md_rx_killers(&rx);

    return (rc == 0 && rx.refused) ? -1 : rc;
}


/* the (?i) and (?x) flags anywhere, taken as applying everywhere */

static void
md_rx_flags(md_rx_t *rx)
{
    int     on;
    size_t  i, j;

    for (i = 0; i + 2 < rx->len; i++) {
        if (rx->s[i] == '\\') {
            i++;
            continue;
        }

        if (rx->s[i] != '(' || rx->s[i + 1] != '?') {
            continue;
        }

        on = 1;

        for (j = i + 2; j < rx->len; j++) {
            if (rx->s[j] == '-') {
                on = 0;

            } else if (rx->s[j] == '^') {
                continue;

            } else if (rx->s[j] == 'i' && on) {
                rx->caseless = 1;

            } else if (rx->s[j] == 'x' && on) {
                rx->extended = 1;

            } else if (rx->s[j] == 's' && on) {
                rx->dotall = 1;

            } else if (!(rx->s[j] >= 'a' && rx->s[j] <= 'z')
                       && !(rx->s[j] >= 'A' && rx->s[j] <= 'Z'))
            {
                break;
            }
        }
    }
}


/* alternatives up to a ")" (not consumed) or the end */

static int
md_rx_alts(md_rx_t *rx, int depth, md_rx_sum_t *sum)
{
    int            rc;
    size_t         a, k;
    md_cset_t      seen;
    md_rx_sum_t   *alt;
    md_rx_seps_t   seps;

    alt = malloc(sizeof(md_rx_sum_t));
    if (alt == NULL) {
        snprintf(rx->msg, rx->mlen, "out of memory");
        return -1;
    }

    memset(sum, 0, sizeof(md_rx_sum_t));
    memset(&seen, 0, sizeof(md_cset_t));
    memset(&seps, 0, sizeof(md_rx_seps_t));
    sum->var_at = -1;
    sum->overlap_at = -1;
    sum->sep_ok = 1;
    rc = 0;

    for (a = 0; ; a++) {
        seps.cur = a;

        if (md_rx_seq(rx, depth, alt, &seps) != 0) {
            rc = -1;
            break;
        }

        if (a > 0 && md_cs_meets(&seen, &alt->first)
            && sum->overlap_at < 0)
        {
            sum->overlap_at = (long) rx->i;
        }

        md_cs_or(&seen, &alt->first);
        md_cs_or(&sum->first, &alt->first);
        md_cs_or(&sum->all, &alt->all);
        md_cs_or(&sum->var, &alt->var);

        if (sum->var_at < 0) {
            sum->var_at = alt->var_at;
        }

        sum->nullable |= alt->nullable;

        if (a == 0) {
            sum->slen = alt->slen;
            memcpy(sum->sample, alt->sample, alt->slen);
        }

        if (a < MD_RX_ALTS) {
            sum->alen[a] = alt->slen;
            memcpy(sum->alt[a], alt->sample, alt->slen);
            sum->nalts = a + 1;
        }

        if (rx->i >= rx->len || rx->s[rx->i] != '|') {
            break;
        }

        rx->i++;
    }

    /* every alternative needs a separator that no inner repeat matches */

    for (k = 0; rc == 0 && k <= a; k++) {
        size_t  j;
        int     found;

        found = 0;

        for (j = 0; j < seps.n && !found; j++) {
            found = (seps.alt[j] == k && !md_cs_meets(&seps.set[j],
                                                      &sum->var));
        }

        if (!found) {
            sum->sep_ok = 0;
            break;
        }
    }

    free(seps.set);
    free(seps.alt);
    free(alt);

    return rc;
}


/* one alternative: items up to "|", ")" or the end */

static int
md_rx_seq(md_rx_t *rx, int depth, md_rx_sum_t *sum, md_rx_seps_t *seps)
{
    int           poss, repeat, vary, open;
    long          min, max, n;
    size_t        at, qat, k;
    md_rx_sum_t   it;

    memset(sum, 0, sizeof(md_rx_sum_t));
    sum->var_at = -1;
    sum->nullable = 1;
    open = 1;                       /* first still takes items' firsts */

    for ( ;; ) {
        md_rx_skip(rx);

        if (rx->i >= rx->len || rx->s[rx->i] == '|'
            || rx->s[rx->i] == ')')
        {
            return 0;
        }

        at = rx->i;

        if (md_rx_item(rx, depth, &it) != 0) {
            return -1;
        }

        md_rx_skip(rx);
        qat = rx->i;

        if (md_rx_quant(rx, &min, &max, &poss) != 0) {
            min = 1;
            max = 1;
            poss = 0;
        }

        if (it.zero) {
            continue;
        }

        repeat = (max == MD_RX_INF || max > 1) && !poss && !it.atomic;
        vary = repeat && (max == MD_RX_INF || max > min);

        if (repeat && !it.atom && it.var_at >= 0 && !it.sep_ok
            && !rx->refused)
        {
            rx->refused = 1;
            snprintf(rx->msg, rx->mlen, "the repeat at offset %zu is of a "
                     "group (offset %zu) holding a repeat of variable count "
                     "(offset %ld) with no separator that the inner repeat "
                     "cannot match: it can backtrack catastrophically "
                     "(make one possessive, a++, or atomic, (?>...))",
                     qat, at, it.var_at);
        }

        if (repeat && !it.atom && it.overlap_at >= 0 && !rx->refused) {
            rx->refused = 1;
            snprintf(rx->msg, rx->mlen, "the repeat at offset %zu is of "
                     "alternatives (group at offset %zu) that can begin "
                     "with the same character: it can backtrack "
                     "catastrophically", qat, at);
        }

        if (max == 0) {
            continue;
        }

        if (it.atom && min >= 1 && seps != NULL
            && md_rx_push(seps, &it.first) != 0)
        {
            snprintf(rx->msg, rx->mlen, "out of memory");
            return -1;
        }

        if (vary) {
            md_rx_unit(rx, it.sample, it.slen);

            for (k = 0; k < it.nalts; k++) {
                md_rx_unit(rx, it.alt[k], it.alen[k]);
            }
        }

        if (it.atomic) {
            memset(&it.var, 0, sizeof(md_cset_t));
            it.var_at = -1;
        }

        if (vary) {
            md_cs_or(&it.var, &it.all);
            it.var_at = (it.var_at >= 0) ? it.var_at : (long) at;
        }

        if (open) {
            md_cs_or(&sum->first, &it.first);
        }

        if (min > 0 && !it.nullable) {
            open = 0;
            sum->nullable = 0;
        }

        md_cs_or(&sum->all, &it.all);
        md_cs_or(&sum->var, &it.var);

        if (sum->var_at < 0) {
            sum->var_at = it.var_at;
        }

        for (n = 0; n < (min > 1 ? min : 1); n++) {
            for (k = 0; k < it.slen && sum->slen < MD_RX_UNIT_MAX; k++) {
                sum->sample[sum->slen++] = it.sample[k];
            }
        }
    }
}


/* one item: an atom, a group, an anchor; the position after it */

static int
md_rx_item(md_rx_t *rx, int depth, md_rx_sum_t *it)
{
    int         c;
    md_cset_t   set;

    memset(it, 0, sizeof(md_rx_sum_t));
    memset(&set, 0, sizeof(md_cset_t));
    it->var_at = -1;
    it->overlap_at = -1;
    it->sep_ok = 1;

    c = rx->s[rx->i];

    switch (c) {

    case '(':
        if (depth >= MD_RX_DEPTH_MAX) {
            snprintf(rx->msg, rx->mlen, "groups nested deeper than %d "
                     "(offset %zu)", MD_RX_DEPTH_MAX, rx->i);
            return -1;
        }

        return md_rx_group(rx, depth + 1, it);

    case '^':
    case '$':
        rx->i++;
        it->zero = 1;
        it->nullable = 1;
        return 0;

    case '.':
        rx->i++;
        md_cs_range(&set, 0, 255);

        /* any byte but a newline (PCRE2's default: LF), without (?s) */
        if (!rx->dotall) {
            set.w[0] &= ~((uint64_t) 1 << '\n');
        }

        md_rx_atom(rx, it, &set);
        return 0;

    case '[':
        rx->i++;
        md_rx_class(rx, &set);
        md_rx_atom(rx, it, &set);
        return 0;

    case '\\':
        rx->i++;

        if (md_rx_escape(rx, &set, 0) != 0) {
            it->zero = 1;
            it->nullable = 1;
            return 0;
        }

        md_rx_atom(rx, it, &set);
        return 0;

    default:
        rx->i++;
        md_cs_add(&set, (unsigned) c);
        md_rx_atom(rx, it, &set);
        return 0;
    }
}


static void
md_rx_atom(md_rx_t *rx, md_rx_sum_t *it, const md_cset_t *set)
{
    it->first = *set;

    if (rx->caseless) {
        md_cs_fold(&it->first);
    }

    it->all = it->first;
    it->atom = 1;
    it->slen = 1;
    it->sample[0] = md_rx_rep(&it->first);

    md_cs_or(&rx->all, &it->all);
}


/* "(" at rx->i: a group, a lookaround, an option setting, a verb */

static int
md_rx_group(md_rx_t *rx, int depth, md_rx_sum_t *it)
{
    int           look, atomic, any;
    size_t        at;
    md_cset_t     set;
    const char   *s;

    at = rx->i;
    rx->i++;
    look = 0;
    atomic = 0;
    any = 0;
    s = (const char *) rx->s + rx->i;

#define md_rx_at(lit)                                                         \
    (rx->len - rx->i >= sizeof(lit) - 1                                      \
     && memcmp(s, lit, sizeof(lit) - 1) == 0)

    if (md_rx_at("*") || md_rx_at("?#")) {
        /* a verb (*...) or a comment (?#...): up to ")" */
        while (rx->i < rx->len && rx->s[rx->i] != ')') {
            rx->i++;
        }

        rx->i++;
        it->zero = 1;
        it->nullable = 1;
        return 0;
    }

    if (md_rx_at("?=") || md_rx_at("?!")) {
        look = 1;
        rx->i += 2;

    } else if (md_rx_at("?<=") || md_rx_at("?<!")) {
        look = 1;
        rx->i += 3;

    } else if (md_rx_at("?>")) {
        atomic = 1;
        rx->i += 2;

    } else if (md_rx_at("?:") || md_rx_at("?|")) {
        rx->i += 2;

    } else if (md_rx_at("?<") || md_rx_at("?P<") || md_rx_at("?'")) {
        /* a named group: up to the end of its name */
        while (rx->i < rx->len && rx->s[rx->i] != '>'
               && rx->s[rx->i] != '\'')
        {
            rx->i++;
        }

        rx->i++;

    } else if (md_rx_at("?(")) {
        /* a conditional: its condition, then the alternatives */
        rx->i += 2;

        while (rx->i < rx->len && rx->s[rx->i] != ')') {
            rx->i++;
        }

        rx->i++;

    } else if (md_rx_at("?")) {
        rx->i++;

        while (rx->i < rx->len
               && ((rx->s[rx->i] >= 'a' && rx->s[rx->i] <= 'z')
                   || (rx->s[rx->i] >= 'A' && rx->s[rx->i] <= 'Z')
                   || rx->s[rx->i] == '-' || rx->s[rx->i] == '^'))
        {
            rx->i++;
        }

        if (rx->i < rx->len && rx->s[rx->i] == ')') {
            /* an option setting, (?i) */
            rx->i++;
            it->zero = 1;
            it->nullable = 1;
            return 0;
        }

        if (rx->i < rx->len && rx->s[rx->i] == ':') {
            rx->i++;

        } else {
            /* recursion, a subroutine call, a named backreference:
             * (?R), (?1), (?&name), (?P>name), (?P=name) */
            while (rx->i < rx->len && rx->s[rx->i] != ')') {
                rx->i++;
            }

            rx->i++;
            any = 1;
        }
    }

#undef md_rx_at

    if (any) {
        memset(&set, 0xff, sizeof(md_cset_t));
        md_rx_atom(rx, it, &set);
        it->atom = 0;
        it->nullable = 1;
        it->var = set;
        it->var_at = (long) at;
        it->sep_ok = 0;
        return 0;
    }

    if (md_rx_alts(rx, depth, it) != 0) {
        return -1;
    }

    if (rx->i < rx->len && rx->s[rx->i] == ')') {
        rx->i++;
    }

    if (look) {
        it->zero = 1;
        it->nullable = 1;
    }

    it->atomic = atomic;

    return 0;
}


/*
 * After "\": an escape.  Sets set and returns 0 for one that consumes a
 * byte, 1 for an assertion (\b, \A, \K...).
 */

static int
md_rx_escape(md_rx_t *rx, md_cset_t *set, int in_class)
{
    int       c, n, v;
    size_t    k;

    if (rx->i >= rx->len) {
        md_cs_add(set, '\\');
        return 0;
    }

    c = rx->s[rx->i++];

    if (md_cs_escape(set, c)) {
        return 0;
    }

    switch (c) {

    case 'b':
        if (in_class) {
            md_cs_add(set, 8);
            return 0;
        }

        return 1;

    case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
        return in_class ? (md_cs_add(set, (unsigned) c), 0) : 1;

    case 'E':
        return 1;

    case 'Q':
        /* \Q...\E: read as one class of its bytes (cautious: it matches
         * fewer texts than the class does) */
        for ( ;; ) {
            if (rx->i >= rx->len) {
                break;
            }

            if (rx->s[rx->i] == '\\' && rx->i + 1 < rx->len
                && rx->s[rx->i + 1] == 'E')
            {
                rx->i += 2;
                break;
            }

            md_cs_add(set, rx->s[rx->i]);
            rx->i++;
        }

        return (set->w[0] | set->w[1] | set->w[2] | set->w[3]) ? 0 : 1;

    case 'n': md_cs_add(set, '\n'); return 0;
    case 'r': md_cs_add(set, '\r'); return 0;
    case 't': md_cs_add(set, '\t'); return 0;
    case 'f': md_cs_add(set, '\f'); return 0;
    case 'e': md_cs_add(set, 27); return 0;
    case 'a': md_cs_add(set, 7); return 0;

    case 'N':
        md_cs_range(set, 0, 255);
        return 0;

    case 'R':
        md_cs_range(set, 10, 13);
        md_cs_add(set, 0x85);
        return 0;

    case 'c':
        if (rx->i < rx->len) {
            v = (rx->s[rx->i] & 0xdf) ^ 0x40;
            md_cs_add(set, (unsigned) v);
            rx->i++;
        }

        return 0;

    case 'x':
        v = 0;

        if (rx->i < rx->len && rx->s[rx->i] == '{') {
            for (rx->i++; rx->i < rx->len && rx->s[rx->i] != '}'; rx->i++) {
                c = rx->s[rx->i];
                n = (c >= '0' && c <= '9') ? c - '0'
                    : ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                      ? (c | 0x20) - 'a' + 10 : 0;
                v = (v * 16 + n) & 0xffff;
            }

            rx->i++;

        } else {
            for (k = 0; k < 2 && rx->i < rx->len; k++, rx->i++) {
                c = rx->s[rx->i];

                if (c >= '0' && c <= '9') {
                    n = c - '0';

                } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
                    n = (c | 0x20) - 'a' + 10;

                } else {
                    break;
                }

                v = v * 16 + n;
            }
        }

        md_cs_add(set, (unsigned) v & 0xff);
        return 0;

    case 'o':
    case '0':
        v = 0;

        if (c == 'o' && rx->i < rx->len && rx->s[rx->i] == '{') {
            rx->i++;
        }

        for (k = 0; k < 3 && rx->i < rx->len
                    && rx->s[rx->i] >= '0' && rx->s[rx->i] <= '7'; k++)
        {
            v = v * 8 + rx->s[rx->i++] - '0';
        }

        if (c == 'o' && rx->i < rx->len && rx->s[rx->i] == '}') {
            rx->i++;
        }

        md_cs_add(set, (unsigned) v & 0xff);
        return 0;

    case 'g':
    case 'k':
    case 'p':
    case 'P':
        /* backreferences, subroutine calls, properties: their name */
        if (rx->i < rx->len && strchr("{<'", rx->s[rx->i]) != NULL) {
            while (rx->i < rx->len && strchr("}>'", rx->s[rx->i]) == NULL) {
                rx->i++;
            }

            rx->i++;

        } else if (rx->i < rx->len) {
            if (rx->s[rx->i] == '-' || rx->s[rx->i] == '+') {
                rx->i++;
            }

            while (rx->i < rx->len && rx->s[rx->i] >= '0'
                   && rx->s[rx->i] <= '9' && c != 'p' && c != 'P')
            {
                rx->i++;
            }

            if (c == 'p' || c == 'P') {
                rx->i++;
            }
        }

        md_cs_range(set, 0, 255);
        return 0;

    case 'X':
    case 'C':
        md_cs_range(set, 0, 255);
        return 0;

    default:
        if (c >= '1' && c <= '9' && !in_class) {
            /* a backreference (or an octal code): any byte */
            while (rx->i < rx->len && rx->s[rx->i] >= '0'
                   && rx->s[rx->i] <= '9')
            {
                rx->i++;
            }

            md_cs_range(set, 0, 255);
            return 0;
        }

        md_cs_add(set, (unsigned) c);
        return 0;
    }
}


/* after "[": the class up to its "]" */

static void
md_rx_class(md_rx_t *rx, md_cset_t *set)
{
    int         neg, c, prev, hi;
    size_t      n;
    md_cset_t   one;
    const char *name;

    static const struct {
        const char  *name;
        const char  *esc;       /* an escape with the same set, or "" */
        const char  *lo, *hi;   /* ranges */
    } posix[] = {
        { "alpha", "", "aA", "zZ" },
        { "digit", "d", "", "" },
        { "alnum", "", "aA0", "zZ9" },
        { "space", "s", "", "" },
        { "upper", "", "A", "Z" },
        { "lower", "", "a", "z" },
        { "xdigit", "", "0aA", "9fF" },
        { "word", "w", "", "" },
        { "blank", "h", "", "" },
        { "punct", "", "!:[{", "/@`~" },
        { "graph", "", "!", "~" },
        { "print", "", " ", "~" },
        { "cntrl", "", "\x01", "\x1f" },
        { "ascii", "", "\x01", "\x7f" },
    };

    neg = 0;
    prev = -1;

    if (rx->i < rx->len && rx->s[rx->i] == '^') {
        neg = 1;
        rx->i++;
    }

    for (n = 0; rx->i < rx->len; n++) {
        c = rx->s[rx->i];

        if (c == ']' && n > 0) {
            rx->i++;
            break;
        }

        if (c == '[' && rx->i + 1 < rx->len && rx->s[rx->i + 1] == ':') {
            size_t  k, e, j;
            int     pneg;

            e = rx->i + 2;
            pneg = (e < rx->len && rx->s[e] == '^');
            e += pneg;
            name = (const char *) rx->s + e;

            for (k = e; k + 1 < rx->len && rx->s[k] != ':'; k++) {
                /* the name */
            }

            memset(&one, 0, sizeof(md_cset_t));

            for (j = 0; j < sizeof(posix) / sizeof(posix[0]); j++) {
                if (strlen(posix[j].name) == k - e
                    && memcmp(posix[j].name, name, k - e) == 0)
                {
                    size_t  r;

                    if (posix[j].esc[0] != '\0') {
                        md_cs_escape(&one, posix[j].esc[0]);
                    }

                    for (r = 0; posix[j].lo[r] != '\0'; r++) {
                        md_cs_range(&one, (unsigned char) posix[j].lo[r],
                                    (unsigned char) posix[j].hi[r]);
                    }

                    if (j == 0 || j == 2) {
                        md_cs_range(&one, 'A', 'Z');
                    }
                }
            }

            if (pneg) {
                md_cs_not(&one);
            }

            md_cs_or(set, &one);
            rx->i = k + 2;
            prev = -1;
            continue;
        }

        if (c == '\\') {
            rx->i++;
            memset(&one, 0, sizeof(md_cset_t));
            md_rx_escape(rx, &one, 1);
            md_cs_or(set, &one);

            /* a single byte can start a range: find which */
            prev = -1;

            for (c = 0; c < 256; c++) {
                if (md_cs_has(&one, (unsigned) c)) {
                    prev = (prev == -1) ? c : -2;
                }
            }

            prev = (prev >= 0) ? prev : -1;
            continue;
        }

        rx->i++;

        if (c == '-' && prev >= 0 && rx->i < rx->len
            && rx->s[rx->i] != ']')
        {
            hi = rx->s[rx->i++];

            if (hi == '\\') {
                memset(&one, 0, sizeof(md_cset_t));
                md_rx_escape(rx, &one, 1);

                for (c = 255; c >= 0; c--) {
                    if (md_cs_has(&one, (unsigned) c)) {
                        break;
                    }
                }

                hi = c;
            }

            if (hi >= prev) {
                md_cs_range(set, (unsigned) prev, (unsigned) hi);
            }

            prev = -1;
            continue;
        }

        md_cs_add(set, (unsigned) c);
        prev = c;
    }

    if (neg) {
        md_cs_not(set);
    }
}


/*
 * A quantifier at rx->i: *, +, ?, {n}, {n,}, {n,m}, {,m}, then + (possessive)
 * or ? (lazy).  0 with min, max (MD_RX_INF: none), or -1: none here.
 */

static int
md_rx_quant(md_rx_t *rx, long *min, long *max, int *poss)
{
    int     c, comma, digits;
    long    a, b;
    size_t  i;

    if (rx->i >= rx->len) {
        return -1;
    }

    c = rx->s[rx->i];

    if (c == '*' || c == '+' || c == '?') {
        *min = (c == '+') ? 1 : 0;
        *max = (c == '?') ? 1 : MD_RX_INF;
        rx->i++;
        goto mode;
    }

    if (c != '{') {
        return -1;
    }

    i = rx->i + 1;
    a = 0;
    b = MD_RX_INF;
    comma = 0;
    digits = 0;

    for ( ; i < rx->len && rx->s[i] != '}'; i++) {
        c = rx->s[i];

        if (c == ',' && !comma) {
            comma = 1;
            b = 0;
            digits |= 2;
            continue;
        }

        if (c == ' ') {
            continue;
        }

        if (c < '0' || c > '9') {
            return -1;
        }

        if (comma) {
            b = (b < 100000) ? b * 10 + (c - '0') : b;
            digits |= 4;

        } else {
            a = (a < 100000) ? a * 10 + (c - '0') : a;
            digits |= 1;
        }
    }

    if (i >= rx->len || digits == 0 || digits == 2) {
        return -1;
    }

    if (!comma) {
        b = a;

    } else if (!(digits & 4)) {
        b = MD_RX_INF;
    }

    *min = a;
    *max = b;
    rx->i = i + 1;

mode:

    *poss = 0;

    if (rx->i < rx->len && rx->s[rx->i] == '+') {
        *poss = 1;
        rx->i++;

    } else if (rx->i < rx->len && rx->s[rx->i] == '?') {
        rx->i++;
    }

    return 0;
}


/* (?x): white space and "#" comments are not items */

static void
md_rx_skip(md_rx_t *rx)
{
    while (rx->extended && rx->i < rx->len) {
        if (rx->s[rx->i] == '#') {
            while (rx->i < rx->len && rx->s[rx->i] != '\n') {
                rx->i++;
            }

            continue;
        }

        if (strchr(" \t\n\r\f\v", rx->s[rx->i]) == NULL) {
            return;
        }

        rx->i++;
    }
}


static int
md_rx_push(md_rx_seps_t *seps, const md_cset_t *set)
{
    size_t      cap;
    size_t     *alt;
    md_cset_t  *s;

    if (seps->n == seps->cap) {
        cap = seps->cap ? seps->cap * 2 : 8;

        s = realloc(seps->set, cap * sizeof(md_cset_t));
        if (s == NULL) {
            return -1;
        }

        seps->set = s;

        alt = realloc(seps->alt, cap * sizeof(size_t));
        if (alt == NULL) {
            return -1;
        }

        seps->alt = alt;
        seps->cap = cap;
    }

    seps->set[seps->n] = *set;
    seps->alt[seps->n] = seps->cur;
    seps->n++;

    return 0;
}


/* a pump unit for the probe, once */

static void
md_rx_unit(md_rx_t *rx, const unsigned char *p, size_t n)
{
    size_t          k;
    md_rx_probe_t  *pr;

    pr = rx->pr;

    if (n == 0 || pr->nunits == MD_RX_UNITS) {
        return;
    }

    for (k = 0; k < pr->nunits; k++) {
        if (pr->unit_len[k] == n && memcmp(pr->unit[k], p, n) == 0) {
            return;
        }
    }

    memcpy(pr->unit[pr->nunits], p, n);
    pr->unit_len[pr->nunits++] = n;
}


/* the pattern's literal start after "^": what a probe begins with */

static void
md_rx_prefix(md_rx_t *rx)
{
    int             c;
    size_t          i, n;
    md_rx_probe_t  *pr;

    pr = rx->pr;
    i = (rx->len > 0 && rx->s[0] == '^') ? 1 : 0;
    n = 0;

    while (i < rx->len && n < MD_RX_PREFIX_MAX) {
        c = rx->s[i];

        if (c == '\\' && i + 1 < rx->len
            && strchr("./-_~!$&'()*+,;=:@", rx->s[i + 1]) != NULL)
        {
            c = rx->s[i + 1];
            i += 2;

        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                   || (c >= '0' && c <= '9') || c == '/' || c == '-'
                   || c == '_')
        {
            i++;

        } else {
            break;
        }

        /* a quantified last byte is not part of the literal start */
        if (i < rx->len && strchr("*+?{", rx->s[i]) != NULL) {
            break;
        }

        pr->prefix[n++] = (unsigned char) c;
    }

    pr->prefix_len = n;
}


/* bytes that end a probe: none the pattern can consume, else none */

static void
md_rx_killers(md_rx_t *rx)
{
    size_t               k;
    md_rx_probe_t       *pr;
    static const char    cand[] = "!#~\x01\n@%";

    pr = rx->pr;

    for (k = 0; k < sizeof(cand) - 1 && pr->nkillers < 2; k++) {
        if (!md_cs_has(&rx->all, (unsigned char) cand[k])) {
            pr->killer[pr->nkillers++] = (unsigned char) cand[k];
        }
    }
}


/* a byte of set to stand for it in a sample: a plain one if it can */

static unsigned char
md_rx_rep(const md_cset_t *set)
{
    int                  c;
    const char          *p;
    static const char    pref[] = "a0/-._A ~";

    for (p = pref; *p != '\0'; p++) {
        if (md_cs_has(set, (unsigned char) *p)) {
            return (unsigned char) *p;
        }
    }

    for (c = 0x21; c < 0x7f; c++) {
        if (md_cs_has(set, (unsigned) c)) {
            return (unsigned char) c;
        }
    }

    for (c = 0; c < 256; c++) {
        if (md_cs_has(set, (unsigned) c)) {
            return (unsigned char) c;
        }
    }

    return 'a';
}
