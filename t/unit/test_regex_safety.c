
/*
 * Copyright (C) Tollgate
 *
 * The admin API's check of regex paths (backends/metadata/
 * metadata_regex.h): the static check refuses repeats over bodies that
 * can match one text in several ways and passes the usual route
 * patterns; the probe refuses, under lib/router's match limit, what the
 * static check lets through and backtracks all the same (polynomially,
 * or hidden from it), and passes the usual patterns; every pattern the
 * static check refuses also hits the limit in the probe (so the static
 * check refuses nothing harmless among these).
 */


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif

#include <stdio.h>
#include <string.h>

#include <pcre2.h>

#include "metadata_regex.h"
#include "tap.h"


/* refused by the static check */
static const char  *bad[] = {
    "^(a+)+$",
    "^/x/(a|a)*$",
    "^(.*)*$",
    "^/(\\w+\\s?)+$",
    "(a*)*b",
    "^(\\w|\\d)+x$",
    "^/([a-z]+[0-9]*)+/$",
    "^((ab)*)+$",
    "^(?:[a-z]+\\.?)+@$",
    "^(a*b*)*c$",
    "^(?i)(A|a)+$",
    "^((a+)|b)+$",
    "^(x+x+)+y$",
    "^(a+|b)+$",
    "^/(\\d+)*z$",
    "^(a{1,10}){2,}$",
    "^(?x)(a+ )+$",
    "^/(.*a){12}$",
    "^/(a|b?a)+!$",
    NULL
};

/* passed by both checks */
static const char  *good[] = {
    "^/users/[0-9]+$",
    "^/users/([0-9]+)/orders$",
    "^/(v[0-9]+)/items/[^/]+$",
    "^/files/(.+)\\.(png|jpg)$",
    "^/a/([^/]+/)*b$",
    "^/w/(\\w+\\s)+$",
    "^/p(\\.[a-z]+)*$",
    "^/(a+b)+$",
    "^/(?>a+)+$",
    "^/(a++)+$",
    "^/(a+)++$",
    "^/api/.*\\.json$",
    "^/(foo|bar|baz)/[a-z0-9-]{1,64}$",
    "/static/",
    "^/a/(?:[a-z]+-)*[a-z]+$",
    "^/d/\\d{4}-\\d{2}-\\d{2}$",
    "^/x/(?=[a-z])[a-z]+$",
    "^/(?<name>[a-z]+)/\\k<name>$",
    "^/q/[\\[\\]]+$",
    "^/c/[[:alpha:]]+/[^[:space:]]+$",
    NULL
};

/* passed by the static check, refused by the probe */
static const char  *probe_bad[] = {
    "^(.*)(.*)(.*)(.*)(.*)x$",
    "^(a?a)+$",
    "^(?:a?){24}a{24}$",
    NULL
};


static int
compiles(const char *re)
{
    int          rc;
    size_t       at;
    pcre2_code  *code;

    code = pcre2_compile((PCRE2_SPTR) re, strlen(re), 0, &rc, &at, NULL);
    pcre2_code_free(code);

    return code != NULL;
}


int
main(void)
{
    int             rc;
    char            msg[512];
    size_t          i;
    md_rx_probe_t   pr;

    for (i = 0; bad[i] != NULL; i++) {
        ok(compiles(bad[i]), "compiles: %s", bad[i]);

        rc = md_regex_static(bad[i], strlen(bad[i]), &pr, msg, sizeof(msg));
        ok(rc == -1, "static refuses %s", bad[i]);
        ok(strstr(msg, "offset") != NULL
           && strstr(msg, "catastrophically") != NULL,
           "... saying where and why (%s)", msg);

        /* the probe agrees: what is refused statically is harmful */
        md_regex_static(bad[i], strlen(bad[i]), &pr, msg, sizeof(msg));
        rc = md_regex_probe(bad[i], strlen(bad[i]), &pr, msg, sizeof(msg));
        ok(rc == 1, "the probe hits the limit too: %s (%s)", bad[i], msg);
    }

    for (i = 0; good[i] != NULL; i++) {
        ok(compiles(good[i]), "compiles: %s", good[i]);

        rc = md_regex_static(good[i], strlen(good[i]), &pr, msg,
                             sizeof(msg));
        ok(rc == 0, "static passes %s (%s)", good[i], msg);

        rc = md_regex_probe(good[i], strlen(good[i]), &pr, msg, sizeof(msg));
        ok(rc == 0, "probe passes %s (%s)", good[i], msg);
    }

    for (i = 0; probe_bad[i] != NULL; i++) {
        rc = md_regex_static(probe_bad[i], strlen(probe_bad[i]), &pr, msg,
                             sizeof(msg));
        ok(rc == 0, "static passes %s (%s)", probe_bad[i], msg);

        rc = md_regex_probe(probe_bad[i], strlen(probe_bad[i]), &pr, msg,
                            sizeof(msg));
        ok(rc == 1, "probe refuses %s", probe_bad[i]);
        ok(strstr(msg, "match limit") != NULL, "... saying why (%s)", msg);
    }

    /* deep nesting is refused, not recursed into */
    {
        char  deep[2 * MD_RX_DEPTH_MAX + 8];

        memset(deep, '(', MD_RX_DEPTH_MAX + 1);
        deep[MD_RX_DEPTH_MAX + 1] = 'a';
        memset(deep + MD_RX_DEPTH_MAX + 2, ')', MD_RX_DEPTH_MAX + 1);
        deep[2 * MD_RX_DEPTH_MAX + 3] = '\0';

        rc = md_regex_static(deep, strlen(deep), &pr, msg, sizeof(msg));
        ok(rc == -1 && strstr(msg, "nested deeper") != NULL,
           "groups nested deeper than %d refused (%s)", MD_RX_DEPTH_MAX,
           msg);
    }

    /* a pattern that does not compile: the probe says so */
    rc = md_regex_probe("(a", 2, &pr, msg, sizeof(msg));
    ok(rc == -1 && strstr(msg, "compile") != NULL, "probe: (a (%s)", msg);

    return done_testing();
}
