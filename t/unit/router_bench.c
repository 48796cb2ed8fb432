
/*
 * Copyright (C) Tollgate
 *
 * The benchmark of lib/router (`build/unit/test_router bench [max]`,
 * part of `make bench` through scripts/bench-router.sh): for each kind
 * of route and each count (1k, 10k, 100k; regex 10, 100, 1000: they are
 * tried one by one), the build time, the block's size, and the mean
 * cost of a match over requests spread over all the routes.  The build
 * time twice: the first build of the process ("build ms", its memory
 * fresh from malloc() and faulted in), and the median of the next
 * BENCH_REBUILDS ("rebuild ms"), made as a gateway's builder makes them:
 * through one gw_router_work_t, into a block buffer kept between them.
 * Wall time on whatever else the machine runs: a figure, not a test.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_router.h"
#include "router_test.h"


#define BENCH_REQS      4096
#define BENCH_REBUILDS  5


typedef struct {
    char  host[48];
    char  path[64];
} breq_t;


static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


/* the kept block buffer of the rebuilds (conf->alloc) */

static void *
bench_alloc(void *ctx, size_t size)
{
    void           *p;
    static void    *buf;
    static size_t   cap;

    if (size > cap) {
        p = realloc(buf, size);
        if (p == NULL) {
            return NULL;
        }

        buf = p;
        cap = size;
    }

    return buf;
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


/* the median of BENCH_REBUILDS builds through one work, in ms */

static double
bench_rebuild(const gw_router_def_t *d, size_t n)
{
    int                i;
    double             t0, ms[BENCH_REBUILDS];
    gw_router_t       *rt;
    gw_router_err_t    err;
    gw_router_conf_t   conf;
    gw_router_work_t  *work;

    work = gw_router_work_create();
    if (work == NULL) {
        printf("out of memory\n");
        exit(1);
    }

    memset(&conf, 0, sizeof(conf));
    conf.alloc = bench_alloc;

    /* the first one grows the work and the buffer: not counted */

    for (i = -1; i < BENCH_REBUILDS; i++) {
        t0 = now_ns();
        rt = gw_router_build_in(d, n, &conf, work, &err);

        if (rt == NULL) {
            printf("rebuild failed: %s\n", err.msg);
            exit(1);
        }

        if (i >= 0) {
            ms[i] = (now_ns() - t0) / 1e6;
        }
    }

    gw_router_work_free(work);
    qsort(ms, BENCH_REBUILDS, sizeof(double), bench_cmp);

    return ms[BENCH_REBUILDS / 2];
}


/* route i of a kind: its host (or ""), its path; and a request for it */

static void
bench_gen(const char *kind, size_t i, char *host, char *path, breq_t *q)
{
    host[0] = '\0';
    q->host[0] = '\0';
    strcpy(q->host, "api.example.com");

    if (strcmp(kind, "mixed") == 0) {
        kind = (i % 4 == 0) ? "static" : (i % 4 == 1) ? "prefix"
               : (i % 4 == 2) ? "templated" : "wildcard";
    }

    if (strcmp(kind, "static") == 0) {
        sprintf(path, "/api/s%zu/items", i);
        strcpy(q->path, path);

    } else if (strcmp(kind, "prefix") == 0) {
        sprintf(path, "/p%zu/*", i);
        sprintf(q->path, "/p%zu/a/b/c", i);

    } else if (strcmp(kind, "templated") == 0) {
        sprintf(path, "/t%zu/users/{id}/orders/{oid}", i);
        sprintf(q->path, "/t%zu/users/42/orders/7", i);

    } else if (strcmp(kind, "wildcard") == 0) {
        sprintf(host, "*.w%zu.example.com", i);
        sprintf(q->host, "a.w%zu.example.com", i);
        strcpy(path, "/*");
        strcpy(q->path, "/x/y");

    } else {
        sprintf(path, "~^/r%zu/[0-9]+$", i);
        sprintf(q->path, "/r%zu/123", i);
    }
}


static void
bench_row(const char *kind, size_t n)
{
    int                 rc;
    char              (*hosts)[48], (*paths)[64];
    long                iters, k, miss;
    double              t0, t1, t2, rebuild;
    size_t              i;
    breq_t             *q, tmp;
    const char        **hp, **pp;
    gw_router_t        *rt;
    gw_router_re_t     *re;
    gw_router_err_t     err;
    gw_router_req_t     req;
    gw_router_def_t    *d;
    gw_router_match_t   m;

    d = calloc(n, sizeof(gw_router_def_t));
    hosts = calloc(n, sizeof(*hosts));
    paths = calloc(n, sizeof(*paths));
    hp = calloc(n, sizeof(char *));
    pp = calloc(n, sizeof(char *));
    q = calloc(BENCH_REQS, sizeof(breq_t));

    if (d == NULL || hosts == NULL || paths == NULL || hp == NULL
        || pp == NULL || q == NULL)
    {
        printf("out of memory\n");
        exit(1);
    }

    for (i = 0; i < n; i++) {
        bench_gen(kind, i, hosts[i], paths[i], &tmp);
        hp[i] = hosts[i];
        pp[i] = paths[i];
        d[i].id = "route";
        d[i].paths = &pp[i];
        d[i].npaths = 1;
        d[i].hosts = &hp[i];
        d[i].nhosts = (hosts[i][0] != '\0');
    }

    srand(7);

    for (i = 0; i < BENCH_REQS; i++) {
        bench_gen(kind, (size_t) rand() % n, tmp.host, tmp.path, &q[i]);
    }

    t0 = now_ns();
    rt = gw_router_build(d, n, NULL, &err);
    t1 = now_ns();

    if (rt == NULL) {
        printf("%-10s %7zu  build failed: %s\n", kind, n, err.msg);
        exit(1);
    }

    rebuild = bench_rebuild(d, n);
    re = gw_router_re_create(rt, &err);
    iters = (strcmp(kind, "regex") == 0) ? 20000 : 400000;
    miss = 0;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.method_len = 3;

    t2 = now_ns();

    for (k = 0; k < iters; k++) {
        req.host = q[k % BENCH_REQS].host;
        req.host_len = strlen(req.host);
        req.path = q[k % BENCH_REQS].path;
        req.path_len = strlen(req.path);

        rc = gw_router_match(rt, re, &req, &m);
        miss += (rc != GW_ROUTER_OK);
    }

    printf("%-10s %7zu %9.1f %11.1f %9zu %9.0f%s\n", kind, n,
           (t1 - t0) / 1e6, rebuild, gw_router_size(rt) / 1024,
           (now_ns() - t2) / iters, miss ? "  (misses!)" : "");

    gw_router_re_free(re);
    free(rt);
    free(d);
    free(hosts);
    free(paths);
    free(hp);
    free(pp);
    free(q);
}


void
router_bench(size_t max)
{
    size_t  i, j;

    static const char  *kinds[] = {
        "static", "prefix", "templated", "wildcard", "mixed"
    };

    static const size_t  counts[] = { 1000, 10000, 100000 };
    static const size_t  rcounts[] = { 10, 100, 1000 };

    printf("lib/router: build/unit/test_router bench %zu (wall time; build: "
           "the first,\nrebuild: the median of %d through one work; the ns "
           "include strlen() of\nhost and path)\n\n", max, BENCH_REBUILDS);
    printf("%-10s %7s %9s %11s %9s %9s\n", "kind", "routes", "build ms",
           "rebuild ms", "block KB", "ns/match");

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        for (j = 0; j < 3 && counts[j] <= max; j++) {
            bench_row(kinds[i], counts[j]);
        }
    }

    for (j = 0; j < 3; j++) {
        bench_row("regex", rcounts[j]);
    }
}
