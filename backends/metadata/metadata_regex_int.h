
/*
 * Copyright (C) Tollgate
 *
 * What the static check of a regex path shares between its two files:
 * the byte sets (256 bits: the patterns are byte-wise), the reader's
 * state, and the lexical readers of metadata_regex_parse.c (escapes,
 * classes, quantifiers, (?x) white space, the flags) that the analysis
 * in metadata_regex.c calls as it descends the pattern.  Internal to the
 * check: metadata_regex.h is its interface.
 */


#ifndef _METADATA_REGEX_INT_H_INCLUDED_
#define _METADATA_REGEX_INT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "metadata_regex.h"


#define MD_RX_INF      -1L          /* a quantifier's max: no bound */


typedef struct {
    uint64_t        w[4];
} md_cset_t;


/*
 * The reader: the pattern, the position, the flags found anywhere (the
 * cautious reading), and what the analysis gathers as it reads.
 */
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


#define md_cs_has(cs, c)  (((cs)->w[(c) >> 6] >> ((c) & 63)) & 1)
#define md_cs_add(cs, c)  ((cs)->w[(c) >> 6] |= (uint64_t) 1 << ((c) & 63))


/* adds the bytes a..b (clipped to 255) */
void md_cs_range(md_cset_t *cs, unsigned a, unsigned b);

/* a |= b */
void md_cs_or(md_cset_t *a, const md_cset_t *b);

/* 1 when a and b share a byte, else 0 */
int md_cs_meets(const md_cset_t *a, const md_cset_t *b);

/* adds the other case of every ASCII letter in cs */
void md_cs_fold(md_cset_t *cs);


/*
 * Scans the whole pattern for option settings, (?i), (?x), (?s) and
 * their forms with more letters, and sets rx's flags for any turned on
 * anywhere (a "-" turns the following ones off, and they are ignored).
 * Does not move rx->i.
 */
void md_rx_flags(md_rx_t *rx);

/*
 * After "\" (rx->i past it): reads one escape and moves past it.  For
 * one that consumes a byte, adds the bytes it can match to set and
 * returns 0 (backreferences, \p{...}, \X, \C: any byte); for an
 * assertion (\b, \A, \K, an empty \Q\E...) returns 1.  In a class
 * (in_class) \b is a backspace and letters of assertions are literal.
 * A "\" at the end is a literal backslash.
 */
int md_rx_escape(md_rx_t *rx, md_cset_t *set, int in_class);

/*
 * After "[" (rx->i past it): reads the class up to and past its "]",
 * adding its bytes to set (complemented for "[^"): literals, ranges,
 * escapes, POSIX classes [:name:] and [:^name:].  Lenient: the pattern
 * compiled already.
 */
void md_rx_class(md_rx_t *rx, md_cset_t *set);

/*
 * A quantifier at rx->i: *, +, ?, {n}, {n,}, {n,m}, {,m} (counts capped
 * near 100000), then + (possessive, *poss = 1) or ? (lazy).  0 with
 * min, max (MD_RX_INF: none) and rx->i past it, or -1: none here
 * (rx->i unchanged; "{" not followed by a count is a literal).
 */
int md_rx_quant(md_rx_t *rx, long *min, long *max, int *poss);

/* with (?x) on: moves rx->i past white space and "#" comments */
void md_rx_skip(md_rx_t *rx);


#endif /* _METADATA_REGEX_INT_H_INCLUDED_ */
