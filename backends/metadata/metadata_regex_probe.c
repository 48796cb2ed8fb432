
/*
 * Copyright (C) Tollgate
 *
 * The probe of a regex path (metadata_regex.h): the pattern compiled as
 * lib/router compiles it (GW_ROUTER_RE_OPTIONS) and interpreted, under
 * the gateway's match limits, against inputs a backtracking regex
 * struggles with: the pattern's literal start, one of its repeated
 * parts (md_regex_static()'s units) over and over, then a byte the
 * pattern cannot consume, so that the match fails at the very end after
 * trying every way of splitting the repeated part.  The interpreter,
 * not the JIT: its step count is the one GW_ROUTER_RE_LIMIT bounds, and
 * it backtracks no less than the JIT code.
 */


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif

#include <stdio.h>
#include <string.h>

#include <pcre2.h>

#include "gw_router.h"
#include "metadata_regex.h"


static int md_rx_run(pcre2_code *code, pcre2_match_data *md,
    pcre2_match_context *mctx, const unsigned char *in, size_t len);
static size_t md_rx_input(unsigned char *buf, const unsigned char *pre,
    size_t plen, const unsigned char *unit, size_t ulen, int killer,
    const unsigned char *tail, size_t tlen);


int
md_regex_probe(const char *re, size_t len, const md_rx_probe_t *pr,
    char *msg, size_t mlen)
{
    int                    rc, hit;
    size_t                 at, u, k, p, n, plen, ulen;
    pcre2_code            *code;
    pcre2_match_data      *md;
    pcre2_match_context   *mctx;
    const unsigned char   *pre, *unit;
    unsigned char          in[MD_RX_PROBE_LEN + MD_RX_PREFIX_MAX
                              + MD_RX_UNIT_MAX + 8];
    static const unsigned char  generic[] = "a0/-. ";

    msg[0] = '\0';

    code = pcre2_compile((PCRE2_SPTR) re, len, GW_ROUTER_RE_OPTIONS, &rc, &at,
                         NULL);
    if (code == NULL) {
        snprintf(msg, mlen, "does not compile (error %d at %zu)", rc, at);
        return -1;
    }

    md = pcre2_match_data_create(1, NULL);
    mctx = pcre2_match_context_create(NULL);

    if (md == NULL || mctx == NULL) {
        snprintf(msg, mlen, "out of memory");
        hit = -1;
        goto done;
    }

    pcre2_set_match_limit(mctx, GW_ROUTER_RE_LIMIT);
    pcre2_set_depth_limit(mctx, GW_ROUTER_RE_DEPTH);

    hit = 0;

    /* the pattern's own units, then single bytes of the common kinds;
     * each after the literal start and after "/"; each ended by every
     * killer (alone, then followed by the whole pattern's sample, which
     * holds the literals PCRE2 requires before it tries at all), and by
     * nothing */

    for (u = 0; hit == 0 && u < pr->nunits + sizeof(generic) - 1; u++) {
        unit = (u < pr->nunits) ? pr->unit[u] : &generic[u - pr->nunits];
        ulen = (u < pr->nunits) ? pr->unit_len[u] : 1;

        for (p = 0; hit == 0 && p < 2 * (2 * pr->nkillers + 1); p++) {
            pre = (p & 1) ? (const unsigned char *) "/" : pr->prefix;
            plen = (p & 1) ? 1 : pr->prefix_len;
            k = p / 2;

            n = md_rx_input(in, pre, plen, unit, ulen,
                            k > 0 ? pr->killer[(k - 1) / 2] : -1,
                            (k > 0 && k % 2 == 0) ? pr->sample : NULL,
                            pr->sample_len);

            hit = md_rx_run(code, md, mctx, in, n);

            if (hit == 1) {
                snprintf(msg, mlen, "a probe of %zu bytes (\"%.*s\" "
                         "repeated) takes more than the gateway's match "
                         "limit (%d steps, depth %d): the regex "
                         "backtracks catastrophically", n, (int) ulen,
                         (const char *) unit, GW_ROUTER_RE_LIMIT,
                         GW_ROUTER_RE_DEPTH);

            } else if (hit == -1) {
                snprintf(msg, mlen, "the probe failed");
            }
        }
    }

done:

    pcre2_match_context_free(mctx);
    pcre2_match_data_free(md);
    pcre2_code_free(code);

    return hit;
}


/* pre, unit repeated up to MD_RX_PROBE_LEN bytes, killer, tail */

static size_t
md_rx_input(unsigned char *buf, const unsigned char *pre, size_t plen,
    const unsigned char *unit, size_t ulen, int killer,
    const unsigned char *tail, size_t tlen)
{
    size_t  n;

    memcpy(buf, pre, plen);
    n = plen;

    while (n + ulen <= plen + MD_RX_PROBE_LEN) {
        memcpy(buf + n, unit, ulen);
        n += ulen;
    }

    if (killer >= 0) {
        buf[n++] = (unsigned char) killer;
    }

    if (tail != NULL) {
        memcpy(buf + n, tail, tlen);
        n += tlen;
    }

    return n;
}


/* 0: ended (matched or not), 1: a limit hit, -1: another failure */

static int
md_rx_run(pcre2_code *code, pcre2_match_data *md,
    pcre2_match_context *mctx, const unsigned char *in, size_t len)
{
    int  rc;

    rc = pcre2_match(code, (PCRE2_SPTR) in, len, 0, 0, md, mctx);

    if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }

    switch (rc) {

    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
        return 1;

    default:
        return -1;
    }
}
