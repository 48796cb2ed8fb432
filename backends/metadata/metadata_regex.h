
/*
 * Copyright (C) Tollgate
 *
 * Regex paths that could backtrack catastrophically, refused at the
 * admin API (docs/admin-api.md, "Regex paths").  Two parts:
 *
 *   metadata_regex.c        the static check: pure C, no PCRE2; reads
 *                           the pattern (one PCRE2 compiled already) and
 *                           refuses a repeat over a body that can match
 *                           one text in several ways; it also gathers
 *                           the probe's inputs from the pattern
 *   metadata_regex_probe.c  the probe: the compiled regex run, under
 *                           lib/router's limits, against inputs built
 *                           from the pattern
 */


#ifndef _METADATA_REGEX_H_INCLUDED_
#define _METADATA_REGEX_H_INCLUDED_


#include <stddef.h>


#define MD_RX_DEPTH_MAX   64        /* nested groups the check reads */
#define MD_RX_UNITS       16        /* pump units gathered */
#define MD_RX_UNIT_MAX    32        /* bytes of one */
#define MD_RX_PREFIX_MAX  64
#define MD_RX_PROBE_LEN   256       /* bytes of a probe's input */


/*
 * What the probe feeds the regex: the prefix (or "/"), a unit repeated,
 * then nothing, a killer, or a killer and the sample.
 */
typedef struct {
    size_t          nunits;
    size_t          unit_len[MD_RX_UNITS];
    unsigned char   unit[MD_RX_UNITS][MD_RX_UNIT_MAX];
    size_t          prefix_len;
    unsigned char   prefix[MD_RX_PREFIX_MAX];
    size_t          sample_len;
    unsigned char   sample[MD_RX_UNIT_MAX];     /* the whole pattern's */
    size_t          nkillers;
    unsigned char   killer[4];
} md_rx_probe_t;


/*
 * The static check of a pattern PCRE2 compiles (byte-wise, as
 * lib/router compiles it).  Refuses, with msg saying what and where
 * (offsets in the pattern):
 *
 *   - a repeat (a quantifier allowing more than one: *, +, {n,m} with
 *     m > 1, not possessive) of a group holding a repeat of variable
 *     count, unless every alternative of the group has a mandatory
 *     single-character item (a character, a class, an escape) that none
 *     of those inner repeats can match: (a+)+, (.*)*, (\w+\s?)+ are
 *     refused, (\w+\s)+, ([^/]+/)* pass;
 *   - a repeat of a group whose alternatives can begin with the same
 *     character: (a|a)*, (a|ab)+, (\w|\d)+;
 *   - groups nested deeper than MD_RX_DEPTH_MAX.
 *
 * Atomic groups (?>...) and possessive quantifiers (a++, (...)*+) never
 * backtrack into what they matched: they are neither refused nor count
 * as inner repeats.  Caseless (?i) and extended (?x) flags anywhere are
 * taken as applying everywhere (the cautious reading).
 *
 * Fills pr (when not NULL) for md_regex_probe().  0: passes; -1:
 * refused.
 */
int md_regex_static(const char *re, size_t len, md_rx_probe_t *pr,
    char *msg, size_t mlen);

/*
 * Runs the pattern, compiled as lib/router compiles it and interpreted
 * (no JIT) under GW_ROUTER_RE_LIMIT and GW_ROUTER_RE_DEPTH, against
 * inputs made of the prefix (or "/"), a unit (or a common byte)
 * repeated to MD_RX_PROBE_LEN bytes, then nothing, a killer (a byte the
 * pattern cannot consume), or a killer and the whole pattern's sample.
 * 0: every run ended within the
 * limits; 1: one hit a limit (msg names the input); -1: the pattern
 * does not compile or memory ran out (msg).
 */
int md_regex_probe(const char *re, size_t len, const md_rx_probe_t *pr,
    char *msg, size_t mlen);


#endif /* _METADATA_REGEX_H_INCLUDED_ */
