
/*
 * Copyright (C) Tollgate
 *
 * The lexical half of the static check of a regex path
 * (metadata_regex.c is the other): byte sets, and readers of the parts
 * of PCRE2's syntax that stand for a set of bytes or a count (escapes,
 * classes with their ranges and POSIX names, quantifiers), plus the
 * (?x) white space between items and the flags that change how items
 * read.  Each reader takes the reader state at its construct and leaves
 * it past it; none judges anything.
 *
 * They run only on a pattern PCRE2 compiled, so they are lenient: a
 * construct cut short ends at the end of the pattern, an unknown
 * escape is its letter.  What they cannot know (a backreference's
 * text, a Unicode property) they read as any byte, the cautious
 * reading for a check that refuses overlaps.
 */


#include <stdint.h>
#include <string.h>

#include "metadata_regex_int.h"


static void md_cs_not(md_cset_t *a);
static int md_cs_escape(md_cset_t *cs, int c);


/* ---- byte sets ---------------------------------------------------------- */

void
md_cs_range(md_cset_t *cs, unsigned a, unsigned b)
{
    unsigned  c;

    for (c = a; c <= b && c < 256; c++) {
        md_cs_add(cs, c);
    }
}


void
md_cs_or(md_cset_t *a, const md_cset_t *b)
{
    int  k;

    for (k = 0; k < 4; k++) {
        a->w[k] |= b->w[k];
    }
}


int
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


void
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


/* ---- the readers -------------------------------------------------------- */

/* the (?i) and (?x) flags anywhere, taken as applying everywhere */

void
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


/*
 * After "\": an escape.  Sets set and returns 0 for one that consumes a
 * byte, 1 for an assertion (\b, \A, \K...).
 */

int
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

void
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

int
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

void
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
