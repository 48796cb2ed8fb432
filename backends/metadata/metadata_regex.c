
/*
 * Copyright (C) Tollgate
 *
 * The static check of a regex path (metadata_regex.h says what it
 * refuses): its analysis, a recursive reading of PCRE2's syntax down
 * alternatives, sequences, items and groups.  The lexical readers it
 * calls (escapes, classes, quantifiers) and the byte sets are in
 * metadata_regex_parse.c.  It runs only on a pattern PCRE2 compiled, so
 * it can be lenient: it summarises each item (the bytes it can begin
 * with, the bytes it can consume, the bytes of the repeats of variable
 * count inside it, whether it can match empty, a text it matches) and
 * judges each repeat of a group from its body's summary.
 *
 * Constructs read as "any byte" (the cautious reading): backreferences,
 * subroutine calls and recursion, \p{...}, \X, \C.  Lookarounds and
 * anchors consume nothing; their bodies are checked as any group.  As
 * it reads, it gathers the probe's inputs (md_rx_probe_t): the samples
 * of repeated parts, the literal start, bytes the pattern cannot consume.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_regex_int.h"


#define MD_RX_ALTS     4            /* alternatives' samples kept */


/* what an item, an alternative or a group can match, in brief */
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


static int md_rx_alts(md_rx_t *rx, int depth, md_rx_sum_t *sum);
static int md_rx_seq(md_rx_t *rx, int depth, md_rx_sum_t *sum,
    md_rx_seps_t *seps);
static int md_rx_item(md_rx_t *rx, int depth, md_rx_sum_t *it);
static int md_rx_group(md_rx_t *rx, int depth, md_rx_sum_t *it);
static void md_rx_unit(md_rx_t *rx, const unsigned char *p, size_t n);
static void md_rx_prefix(md_rx_t *rx);
static void md_rx_killers(md_rx_t *rx);
static int md_rx_push(md_rx_seps_t *seps, const md_cset_t *set);
static void md_rx_atom(md_rx_t *rx, md_rx_sum_t *it, const md_cset_t *set);
static unsigned char md_rx_rep(const md_cset_t *set);


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
