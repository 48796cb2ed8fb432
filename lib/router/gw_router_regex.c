
/*
 * Copyright (C) Tollgate
 *
 * Regex paths.  A block holds their sources only: compiled code is
 * per process (PCRE2's JIT code is executable memory of the process
 * that made it), so each process keeps a gw_router_re_t made from the
 * block, bound to its generation.  A cache of another generation is
 * refused at match time instead of running the wrong code.
 *
 * Patterns are byte-wise (no UTF mode: a decoded $uri need not be UTF-8)
 * and unanchored unless written with ^ and $.  Each match is capped:
 * GW_ROUTER_RE_LIMIT steps and GW_ROUTER_RE_DEPTH depth, on one JIT
 * stack made with the cache; a regex that hits a cap does not match.
 * With the JIT nothing is allocated per match; without it (no JIT on
 * the platform) PCRE2 keeps its frames in the cache's match data, grown
 * at most a few times, then reused.
 */


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif

#include <stdio.h>
#include <stdlib.h>

#include <pcre2.h>

#include "gw_router_build.h"


#define GW_RT_JIT_STACK  (256 * 1024)       /* bytes */


struct gw_router_re_s {
    uint64_t                generation;
    uint32_t                n;
    int                     jit;
    pcre2_match_context    *mctx;
    pcre2_match_data       *md;
    pcre2_jit_stack        *stack;
    pcre2_code             *code[];
};


int
gw_rt_regex_check(const char *src, size_t len, char *msg, size_t mlen)
{
    int          rc;
    size_t       at;
    pcre2_code  *code;
    PCRE2_UCHAR  buf[160];

    code = pcre2_compile((PCRE2_SPTR) src, len, GW_ROUTER_RE_OPTIONS, &rc,
                         &at, NULL);

    if (code == NULL) {
        pcre2_get_error_message(rc, buf, sizeof(buf));
        snprintf(msg, mlen, "bad regular expression at offset %zu: %s", at,
                 (char *) buf);
        return -1;
    }

    pcre2_code_free(code);

    return 0;
}


gw_router_re_t *
gw_router_re_create(const gw_router_t *rt, gw_router_err_t *err)
{
    int                 rc;
    size_t              at;
    uint32_t            i;
    gw_router_re_t     *re;
    const gw_rt_pat_t  *pat;

    err->route = -1;
    err->msg[0] = '\0';

    re = calloc(1, sizeof(gw_router_re_t) + rt->nre * sizeof(pcre2_code *));
    if (re == NULL) {
        goto nomem;
    }

    re->generation = rt->generation;
    re->n = rt->nre;
    re->jit = 1;

    re->mctx = pcre2_match_context_create(NULL);
    re->md = pcre2_match_data_create(1, NULL);
    re->stack = pcre2_jit_stack_create(32 * 1024, GW_RT_JIT_STACK, NULL);

    if (re->mctx == NULL || re->md == NULL || re->stack == NULL) {
        goto nomem;
    }

    pcre2_set_match_limit(re->mctx, GW_ROUTER_RE_LIMIT);
    pcre2_set_depth_limit(re->mctx, GW_ROUTER_RE_DEPTH);
    pcre2_jit_stack_assign(re->mctx, NULL, re->stack);

    pat = (const gw_rt_pat_t *) gw_rt_at(rt, rt->pats);

    for (i = 0; i < rt->npats; i++, pat++) {
        if (pat->kind != GW_RT_P_REGEX) {
            continue;
        }

        re->code[pat->regex] = pcre2_compile(
            (PCRE2_SPTR) gw_rt_str(rt, pat->src), pat->src_len,
            GW_ROUTER_RE_OPTIONS, &rc, &at, NULL);

        if (re->code[pat->regex] == NULL) {
            snprintf(err->msg, sizeof(err->msg), "regex \"%s\" does not "
                     "compile (error %d at %zu)", gw_rt_str(rt, pat->src),
                     rc, at);
            gw_router_re_free(re);
            return NULL;
        }

        if (pcre2_jit_compile(re->code[pat->regex], PCRE2_JIT_COMPLETE) != 0)
        {
            re->jit = 0;
        }
    }

    return re;

nomem:

    snprintf(err->msg, sizeof(err->msg), "out of memory");
    gw_router_re_free(re);

    return NULL;
}


void
gw_router_re_free(gw_router_re_t *re)
{
    uint32_t  i;

    if (re == NULL) {
        return;
    }

    for (i = 0; i < re->n; i++) {
        pcre2_code_free(re->code[i]);
    }

    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mctx);
    pcre2_jit_stack_free(re->stack);
    free(re);
}


int
gw_router_re_jit(const gw_router_re_t *re)
{
    return re->jit;
}


/* 1: matches, 0: does not (or hit a cap), -1: wrong cache or failure */

int
gw_rt_regex_exec(const gw_router_re_t *re, const gw_router_t *rt,
    uint32_t i, const char *s, size_t len)
{
    int  rc;

    if (re->generation != rt->generation || re->n != rt->nre || i >= re->n) {
        return -1;
    }

    rc = pcre2_match(re->code[i], (PCRE2_SPTR) s, len, 0, 0, re->md,
                     re->mctx);

    if (rc >= 0) {
        return 1;
    }

    switch (rc) {

    case PCRE2_ERROR_NOMATCH:
    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return 0;

    default:
        return -1;
    }
}
