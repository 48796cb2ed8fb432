
/*
 * Copyright (C) Tollgate
 *
 * The randomized check of lib/router: random routes over a small
 * alphabet (so that they overlap a lot) and random requests, each
 * matched by gw_router_match() and by a naive reference that tries
 * every (route, host, path) and keeps the best by the rules of
 * docs/routing.md, written here again from the document, not from the
 * library.  Routes the builder refuses as conflicts are dropped, one at
 * a time, and the build retried.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "gw_router.h"
#include "router_test.h"


typedef struct {
    char               id[24];
    unsigned           prio;
    char               hosts[2][32];
    const char        *hp[2];
    size_t             nhosts;
    char               paths[2][64];
    const char        *pp[2];
    size_t             npaths;
    const char        *methods[2];
    size_t             nmethods;
    gw_router_cond_t   cond[2];         /* [0] header X-A, [1] arg q */
    size_t             nheaders, nargs;
    pcre2_code        *re[2];
} rr_t;


typedef struct {
    const char  *method;
    char         host[32];
    char         path[64];
    char         args[16];
    char         hdr[16];               /* "X-A: v\n" or "" */
} rq_t;


typedef struct {
    long         route;
    long         path;
    unsigned     key[5];
} best_t;


gw_router_work_t  *router_ref_work;
size_t             router_ref_works;
size_t             router_ref_diffs;
char               router_ref_diff[512];


static const char  *lits[] = { "a", "b", "c", "d", "e", "f" };
static const char  *hostpool[] = { "x.com", "y.com", "*.x.com", "*.y.com" };
static const char  *mpool[] = { "GET", "POST", "PUT" };
static const char  *vpool[] = { "1", "2", NULL };
static const char  *repool[] = {
    "~^/a/[0-9]+$", "~^/b/", "~c$", "~^/[a-f]/[a-f]/?$"
};


static unsigned            rnd_state;
static pcre2_match_data   *ref_md;


static unsigned
rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;

    return (rnd_state >> 8) % n;
}


static void
gen_path(char *p, size_t size)
{
    int     kind, d, i, nv, var;
    size_t  n;

    kind = rnd(100);

    if (kind >= 94) {
        snprintf(p, size, "%s", repool[rnd(4)]);
        return;
    }

    d = rnd(4);
    n = 0;
    nv = 0;

    if (kind >= 64 && d == 0) {
        d = 1;
    }

    for (i = 0; i < d; i++) {
        var = (kind >= 64) && (rnd(100) < 40 || (i == d - 1 && nv == 0));

        if (var) {
            n += snprintf(p + n, size - n, "/{v%d}", nv++);

        } else {
            n += snprintf(p + n, size - n, "/%s", lits[rnd(6)]);
        }
    }

    if (kind >= 40 && kind < 64) {
        snprintf(p + n, size - n, "/*");

    } else if (n == 0 || rnd(10) == 0) {
        snprintf(p + n, size - n, "/");
    }
}


static void
gen_route(rr_t *r, size_t i)
{
    size_t  k;

    memset(r, 0, sizeof(rr_t));
    snprintf(r->id, sizeof(r->id), "r%zu", i);
    r->prio = rnd(5);

    if (rnd(2)) {
        r->nhosts = 1 + rnd(2);
        k = rnd(4);
        snprintf(r->hosts[0], 32, "%s", hostpool[k]);
        snprintf(r->hosts[1], 32, "%s", hostpool[(k + 1 + rnd(3)) % 4]);
    }

    r->npaths = 1 + (rnd(4) == 0);
    gen_path(r->paths[0], 64);
    gen_path(r->paths[1], 64);

    if (r->npaths == 2 && strcmp(r->paths[0], r->paths[1]) == 0) {
        r->npaths = 1;
    }

    if (rnd(2)) {
        r->nmethods = 1 + rnd(2);
        k = rnd(3);
        r->methods[0] = mpool[k];
        r->methods[1] = mpool[(k + 1) % 3];
    }

    if (rnd(100) < 15) {
        r->nheaders = 1;
        r->cond[0].name = "X-A";
        r->cond[0].value = vpool[rnd(3)];
    }

    if (rnd(100) < 15) {
        r->nargs = 1;
        r->cond[1].name = "q";
        r->cond[1].value = vpool[rnd(3)];
    }

    for (k = 0; k < 2; k++) {
        r->hp[k] = r->hosts[k];
        r->pp[k] = r->paths[k];
    }
}


/*
 * The claims (priority, host, path pattern) seen: a new route that
 * repeats one is made again, most of the time, so that the builder
 * refuses some conflicts but not half of the routes.
 */

#define CLAIMS  16384

static char  *claims[CLAIMS];


static int
claim(const rr_t *r, int add)
{
    char      key[128];
    size_t    j, k, n, i, nh;
    unsigned  h;

    nh = r->nhosts ? r->nhosts : 1;

    for (j = 0; j < nh; j++) {
        for (k = 0; k < r->npaths; k++) {
            n = (size_t) snprintf(key, sizeof(key), "%u|%s|", r->prio,
                                  r->nhosts ? r->hosts[j] : "*");

            for (i = 0; r->paths[k][i] != '\0'; i++) {
                key[n++] = r->paths[k][i];

                if (r->paths[k][i] == '{') {
                    i += 2;
                }
            }

            key[n] = '\0';

            for (h = 0, i = 0; i < n; i++) {
                h = h * 31 + (unsigned char) key[i];
            }

            for (h %= CLAIMS; claims[h] != NULL; h = (h + 1) % CLAIMS) {
                if (strcmp(claims[h], key) == 0) {
                    if (!add) {
                        return 1;
                    }

                    break;
                }
            }

            if (add && claims[h] == NULL) {
                claims[h] = strdup(key);
                if (claims[h] == NULL) {
                    return -1;
                }
            }
        }
    }

    return 0;
}


static void
gen_req(rq_t *q)
{
    int     d, i;
    size_t  n;

    static const char  *hosts[] = {
        "x.com", "a.x.com", "Y.COM", "b.y.com", "z.org", "", "a.b.x.com"
    };

    static const char  *segs[] = {
        "a", "b", "c", "d", "e", "f", "1", "22", ""
    };

    static const char  *methods[] = { "GET", "POST", "PUT", "DELETE" };
    static const char  *args[] = { "", "q=1", "q=2", "q", "a=1&q=2&q=1" };
    static const char  *hdrs[] = { "", "X-A: 1\n", "x-a: 2\n", "X-A: 3\n" };

    q->method = methods[rnd(4)];
    snprintf(q->host, sizeof(q->host), "%s", hosts[rnd(7)]);
    snprintf(q->args, sizeof(q->args), "%s", args[rnd(5)]);
    snprintf(q->hdr, sizeof(q->hdr), "%s", hdrs[rnd(4)]);

    d = 1 + rnd(4);
    n = 0;

    for (i = 0; i < d; i++) {
        n += snprintf(q->path + n, sizeof(q->path) - n, "/%s",
                      segs[rnd(i == d - 1 ? 9 : 8)]);
    }
}


static int
ref_header(void *ctx, const char *name, size_t nlen, const char **v,
    size_t *len)
{
    const char  *h = ctx;

    if (h[0] == '\0' || strncasecmp(h, name, nlen) != 0 || h[nlen] != ':') {
        return 0;
    }

    *v = h + nlen + 2;
    *len = strlen(*v) - 1;

    return 1;
}


static int
ref_arg(const char *args, const gw_router_cond_t *c)
{
    size_t       n;
    const char  *p, *e, *eq;

    n = strlen(c->name);

    for (p = args; *p != '\0'; p = (*e == '&') ? e + 1 : e) {
        e = p + strcspn(p, "&");
        eq = memchr(p, '=', (size_t) (e - p));

        if ((size_t) ((eq ? eq : e) - p) == n && memcmp(p, c->name, n) == 0)
        {
            if (c->value == NULL) {
                return 1;
            }

            if (eq == NULL) {
                return c->value[0] == '\0';
            }

            return (size_t) (e - eq - 1) == strlen(c->value)
                   && memcmp(eq + 1, c->value, strlen(c->value)) == 0;
        }
    }

    return 0;
}


/* the path pattern's class and spec when it matches, else -1 */

static int
ref_path(rr_t *r, size_t k, const char *path, unsigned *spec)
{
    int          cls;
    size_t       bl, i, n;
    const char  *pat, *a, *b, *ae, *be;

    pat = r->paths[k];
    *spec = 0;

    if (pat[0] == '~') {
        return pcre2_match(r->re[k], (PCRE2_SPTR) path, strlen(path), 0, 0,
                           ref_md, NULL) >= 0 ? 0 : -1;
    }

    n = strlen(pat);

    if (pat[n - 1] == '*') {
        bl = n - 2;

        if (strncmp(path, pat, bl) != 0
            || (path[bl] != '\0' && path[bl] != '/'))
        {
            return -1;
        }

        for (i = 0; i < bl; i++) {
            *spec += (pat[i] == '/');
        }

        return 1;
    }

    if (strchr(pat, '{') == NULL) {
        return strcmp(pat, path) == 0 ? 3 : -1;
    }

    cls = 2;
    a = pat + 1;
    b = path + 1;

    for (i = 0; ; i++) {
        ae = a + strcspn(a, "/");
        be = b + strcspn(b, "/");

        if (*a == '{') {
            if (be == b) {
                return -1;
            }

        } else {
            if (ae - a != be - b || memcmp(a, b, (size_t) (ae - a)) != 0) {
                return -1;
            }

            *spec |= 1u << (31 - i);
        }

        if (*ae == '\0' || *be == '\0') {
            return (*ae == '\0' && *be == '\0') ? cls : -1;
        }

        a = ae + 1;
        b = be + 1;
    }
}


/* the host class when the route's host j (or any) takes host, else -1 */

static int
ref_host(rr_t *r, size_t j, const char *host)
{
    const char  *h, *dot;

    if (r->nhosts == 0) {
        return 0;
    }

    h = r->hosts[j];

    if (h[0] != '*') {
        return strcasecmp(h, host) == 0 ? 2 : -1;
    }

    dot = strchr(host, '.');

    return (dot != NULL && dot != host && strcasecmp(dot + 1, h + 2) == 0)
           ? 1 : -1;
}


static int
ref_better(const unsigned *key, long route, long path, const best_t *b)
{
    int  i;

    if (b->route < 0) {
        return 1;
    }

    for (i = 0; i < 5; i++) {
        if (key[i] != b->key[i]) {
            return key[i] > b->key[i];
        }
    }

    return route != b->route ? route < b->route : path < b->path;
}


static void
ref_match(rr_t *rs, size_t n, rq_t *q, best_t *b)
{
    int       hc, pc, mok;
    size_t    i, j, k, nh, m;
    unsigned  key[5], spec;
    rr_t     *r;

    b->route = -1;
    b->path = -1;

    for (i = 0; i < n; i++) {
        r = &rs[i];

        mok = (r->nmethods == 0);
        for (m = 0; m < r->nmethods; m++) {
            mok |= (strcmp(r->methods[m], q->method) == 0);
        }

        if (!mok) {
            continue;
        }

        if (r->nheaders) {
            const char  *v;
            size_t       vl;

            if (!ref_header(q->hdr, "X-A", 3, &v, &vl)
                || (r->cond[0].value != NULL
                    && (vl != strlen(r->cond[0].value)
                        || memcmp(v, r->cond[0].value, vl) != 0)))
            {
                continue;
            }
        }

        if (r->nargs && !ref_arg(q->args, &r->cond[1])) {
            continue;
        }

        nh = r->nhosts ? r->nhosts : 1;

        for (j = 0; j < nh; j++) {
            hc = ref_host(r, j, q->host);
            if (hc < 0) {
                continue;
            }

            for (k = 0; k < r->npaths; k++) {
                pc = ref_path(r, k, q->path, &spec);
                if (pc < 0) {
                    continue;
                }

                key[0] = r->prio;
                key[1] = (unsigned) hc;
                key[2] = (unsigned) pc;
                key[3] = spec;
                key[4] = (unsigned) (r->nheaders + r->nargs);

                if (ref_better(key, (long) i, (long) k, b)) {
                    b->route = (long) i;
                    b->path = (long) k;
                    memcpy(b->key, key, sizeof(key));
                }
            }
        }
    }
}


/* the pattern with each variable replaced by its value is the path */

static int
ref_vars(const char *pat, const char *path, gw_router_match_t *m)
{
    char         buf[128];
    size_t       n, v;
    const char  *p, *e;

    if (pat[0] == '~' || strchr(pat, '{') == NULL) {
        return m->nvars == 0 ? 0 : -1;
    }

    n = 0;
    v = 0;

    for (p = pat; *p != '\0'; p = e) {
        if (*p != '{') {
            buf[n++] = *p;
            e = p + 1;
            continue;
        }

        e = strchr(p, '}') + 1;

        if (v == m->nvars || m->vars[v].name_len != (size_t) (e - p - 2)
            || memcmp(m->vars[v].name, p + 1, m->vars[v].name_len) != 0)
        {
            return -1;
        }

        memcpy(buf + n, path + m->vars[v].off, m->vars[v].len);
        n += m->vars[v].len;
        v++;
    }

    buf[n] = '\0';

    return (v == m->nvars && strcmp(buf, path) == 0) ? 0 : -1;
}


/* the same build through router_ref_work: the same block or error */

static void
ref_work(const gw_router_def_t *d, size_t n, const gw_router_t *rt,
    const gw_router_err_t *err)
{
    const char       *diff;
    gw_router_t      *w;
    gw_router_err_t   werr;

    w = gw_router_build_in(d, n, NULL, router_ref_work, &werr);
    router_ref_works++;
    diff = NULL;

    if ((rt == NULL) != (w == NULL)) {
        diff = "one built, the other refused";

    } else if (rt == NULL) {
        if (werr.route != err->route || strcmp(werr.msg, err->msg) != 0) {
            diff = "another error";
        }

    } else if (gw_router_size(w) != gw_router_size(rt)
               || memcmp(w, rt, gw_router_size(rt)) != 0)
    {
        diff = "another block";
    }

    if (diff != NULL && router_ref_diffs++ == 0) {
        snprintf(router_ref_diff, sizeof(router_ref_diff),
                 "%zu routes: %s (%.200s / %.200s)", n, diff, err->msg,
                 werr.msg);
    }

    free(w);
}


static gw_router_t *
ref_build(rr_t *rs, size_t *n, gw_router_err_t *err)
{
    size_t            i;
    gw_router_t      *rt;
    gw_router_def_t  *d;

    d = calloc(*n + 1, sizeof(gw_router_def_t));
    if (d == NULL) {
        return NULL;
    }

    for ( ;; ) {
        for (i = 0; i < *n; i++) {
            d[i].id = rs[i].id;
            d[i].priority = rs[i].prio;
            d[i].hosts = rs[i].hp;
            d[i].nhosts = rs[i].nhosts;
            d[i].paths = rs[i].pp;
            d[i].npaths = rs[i].npaths;
            d[i].methods = rs[i].methods;
            d[i].nmethods = rs[i].nmethods;
            d[i].headers = &rs[i].cond[0];
            d[i].nheaders = rs[i].nheaders;
            d[i].args = &rs[i].cond[1];
            d[i].nargs = rs[i].nargs;
        }

        rt = gw_router_build(d, *n, NULL, err);

        if (router_ref_work != NULL) {
            ref_work(d, *n, rt, err);
        }

        if (rt != NULL || err->route < 0
            || (strstr(err->msg, "conflicts") == NULL
                && strstr(err->msg, "same pattern") == NULL))
        {
            free(d);
            return rt;
        }

        /* drop the route refused (its own pointers follow it) */

        i = (size_t) err->route;
        memmove(&rs[i], &rs[i + 1], (*n - i - 1) * sizeof(rr_t));
        (*n)--;

        for ( ; i < *n; i++) {
            rs[i].hp[0] = rs[i].hosts[0];
            rs[i].hp[1] = rs[i].hosts[1];
            rs[i].pp[0] = rs[i].paths[0];
            rs[i].pp[1] = rs[i].paths[1];
        }
    }
}


int
router_ref_check(unsigned seed, size_t n, size_t nreq, size_t *built,
    char *why, size_t len)
{
    int                rc, bad, err_n;
    size_t             i, k, v;
    rr_t              *rs;
    rq_t               q;
    best_t             b;
    gw_router_t       *rt;
    gw_router_re_t    *re;
    gw_router_err_t    err;
    gw_router_req_t    req;
    gw_router_match_t  m;

    rnd_state = seed;
    bad = 0;

    rs = calloc(n, sizeof(rr_t));
    ref_md = pcre2_match_data_create(1, NULL);

    if (rs == NULL || ref_md == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        do {
            gen_route(&rs[i], i);
        } while (claim(&rs[i], 0) == 1 && rnd(10) != 0);

        if (claim(&rs[i], 1) != 0) {
            return -1;
        }
    }

    for (i = 0; i < CLAIMS; i++) {
        free(claims[i]);
        claims[i] = NULL;
    }

    rt = ref_build(rs, &n, &err);
    *built = n;

    if (rt == NULL) {
        snprintf(why, len, "build: %s", err.msg);
        free(rs);
        pcre2_match_data_free(ref_md);
        return -1;
    }

    re = gw_router_re_create(rt, &err);

    for (i = 0; i < n; i++) {
        for (k = 0; k < rs[i].npaths; k++) {
            if (rs[i].paths[k][0] == '~') {
                rs[i].re[k] = pcre2_compile(
                    (PCRE2_SPTR) rs[i].paths[k] + 1, PCRE2_ZERO_TERMINATED,
                    0, &err_n, &v, NULL);
            }
        }
    }

    for (i = 0; i < nreq; i++) {
        gen_req(&q);
        ref_match(rs, n, &q, &b);

        memset(&req, 0, sizeof(req));
        req.method = q.method;
        req.method_len = strlen(q.method);
        req.host = q.host;
        req.host_len = strlen(q.host);
        req.path = q.path;
        req.path_len = strlen(q.path);
        req.args = q.args;
        req.args_len = strlen(q.args);
        req.header = ref_header;
        req.ctx = q.hdr;

        rc = gw_router_match(rt, re, &req, &m);

        if (rc == GW_ROUTER_NONE && b.route < 0) {
            continue;
        }

        if (rc == GW_ROUTER_OK && (long) m.route == b.route
            && (long) m.path == b.path
            && ref_vars(rs[b.route].paths[b.path], q.path, &m) == 0)
        {
            continue;
        }

        if (bad++ == 0) {
            snprintf(why, len, "%s %s%s?%s [%.*s]: router %d %ld/%ld "
                     "(%s), reference %ld/%ld (%s)", q.method, q.host,
                     q.path, q.args, (int) strcspn(q.hdr, "\n"), q.hdr, rc,
                     rc == GW_ROUTER_OK ? (long) m.route : -1L,
                     rc == GW_ROUTER_OK ? (long) m.path : -1L,
                     rc == GW_ROUTER_OK ? rs[m.route].paths[m.path] : "",
                     b.route, b.path,
                     b.route >= 0 ? rs[b.route].paths[b.path] : "");
        }
    }

    for (i = 0; i < n; i++) {
        pcre2_code_free(rs[i].re[0]);
        pcre2_code_free(rs[i].re[1]);
    }

    gw_router_re_free(re);
    pcre2_match_data_free(ref_md);
    free(rt);
    free(rs);

    return bad;
}
