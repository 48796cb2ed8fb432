
/*
 * Copyright (C) Tollgate
 *
 * lib/router (docs/routing.md): every kind of host and path, the
 * precedence between them, variables' values, conditions, methods,
 * normalization, case, empty and huge inputs, every refusal with its
 * message, a block copied to another address, and a randomized check
 * against a naive linear matcher (router_ref.c).
 *
 * `test_router bench [max]` prints the benchmark instead
 * (router_bench.c; not a test: nothing about timing is asserted).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_router.h"
#include "router_test.h"
#include "tap.h"


/* the tables below name only the members they use */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"


typedef struct {
    const char        *id;
    unsigned           prio;
    const char        *hosts[4];
    const char        *paths[4];
    const char        *methods[4];
    gw_router_cond_t   headers[3];
    gw_router_cond_t   args[3];
} spec_t;


static gw_router_match_t  last;
static gw_router_err_t    err;


static size_t
count(const void *a, size_t size, size_t max)
{
    size_t  n;

    for (n = 0; n < max; n++) {
        if (*(const char *const *) ((const char *) a + n * size) == NULL) {
            break;
        }
    }

    return n;
}


static gw_router_t *
build(const spec_t *s, size_t n, uint64_t gen)
{
    size_t             i;
    gw_router_t       *rt;
    gw_router_def_t   *d;
    gw_router_conf_t   conf;

    d = calloc(n + 1, sizeof(gw_router_def_t));
    if (d == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < n; i++) {
        d[i].id = s[i].id;
        d[i].priority = s[i].prio;
        d[i].hosts = s[i].hosts;
        d[i].nhosts = count(s[i].hosts, sizeof(char *), 4);
        d[i].paths = s[i].paths;
        d[i].npaths = count(s[i].paths, sizeof(char *), 4);
        d[i].methods = s[i].methods;
        d[i].nmethods = count(s[i].methods, sizeof(char *), 4);
        d[i].headers = s[i].headers;
        d[i].nheaders = count(s[i].headers, sizeof(gw_router_cond_t), 3);
        d[i].args = s[i].args;
        d[i].nargs = count(s[i].args, sizeof(gw_router_cond_t), 3);
    }

    memset(&conf, 0, sizeof(conf));
    conf.generation = gen;

    rt = gw_router_build(d, n, &conf, &err);
    free(d);

    return rt;
}


/* headers as "Name: value\n" lines */

static int
header(void *ctx, const char *name, size_t nlen, const char **v, size_t *len)
{
    const char  *p, *e;

    for (p = ctx; p != NULL && *p != '\0'; p = e + 1) {
        e = strchr(p, '\n');
        if (e == NULL) {
            return 0;
        }

        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            *v = p + nlen + 2;
            *len = (size_t) (e - *v);
            return 1;
        }
    }

    return 0;
}


/* the id of the route matched, "404", or "ERROR" */

static const char *
match(const gw_router_t *rt, const gw_router_re_t *re, const char *method,
    const char *host, const char *path, const char *args, const char *hdrs)
{
    int                     rc;
    static char             id[128];
    gw_router_req_t  req;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.method_len = strlen(method);
    req.host = host;
    req.host_len = strlen(host);
    req.path = path;
    req.path_len = strlen(path);
    req.args = args;
    req.args_len = args ? strlen(args) : 0;
    req.header = header;
    req.ctx = (void *) hdrs;

    rc = gw_router_match(rt, re, &req, &last);

    if (rc == GW_ROUTER_NONE) {
        return "404";
    }

    if (rc != GW_ROUTER_OK) {
        return "ERROR";
    }

    snprintf(id, sizeof(id), "%.*s", (int) last.id_len, last.id);

    return id;
}


/* "name=value,..." of the last match's variables */

static const char *
vars(const char *path)
{
    size_t       i, n;
    static char  buf[512];

    n = 0;
    buf[0] = '\0';

    for (i = 0; i < last.nvars; i++) {
        n += snprintf(buf + n, sizeof(buf) - n, "%s%.*s=%.*s",
                      i ? "," : "", (int) last.vars[i].name_len,
                      last.vars[i].name, (int) last.vars[i].len,
                      path + last.vars[i].off);
    }

    return buf;
}


#define GET(rt, host, path)  match(rt, NULL, "GET", host, path, NULL, NULL)


static void
test_hosts(void)
{
    gw_router_t  *rt;

    static const spec_t  s[] = {
        { "exact", 0, { "api.example.com" }, { "/a" } },
        { "wild", 0, { "*.example.com" }, { "/a" } },
        { "any", 0, { NULL }, { "/a" } },
        { "deep", 0, { "*.b.example.com" }, { "/a" } },
    };

    rt = build(s, 4, 1);
    ok(rt != NULL, "hosts: built (%s)", err.msg);

    is_str(GET(rt, "api.example.com", "/a"), "exact", "exact host");
    is_str(GET(rt, "API.Example.COM", "/a"), "exact", "host: any case");
    is_str(GET(rt, "api.example.com.", "/a"), "exact",
           "host: trailing dot ignored");
    is_str(GET(rt, "www.example.com", "/a"), "wild", "wildcard: one label");
    is_str(GET(rt, "a.b.example.com", "/a"), "deep",
           "wildcard: the one of the first label's suffix");
    is_str(GET(rt, "x.y.example.com", "/a"), "any",
           "wildcard: not two labels");
    is_str(GET(rt, "example.com", "/a"), "any", "wildcard: not the apex");
    is_str(GET(rt, ".example.com", "/a"), "any",
           "wildcard: not an empty label");
    is_str(GET(rt, "other.org", "/a"), "any", "any host");
    is_str(GET(rt, "", "/a"), "any", "no host: the any-host routes");

    free(rt);
}


static void
test_paths(void)
{
    gw_router_t  *rt;

    static const spec_t  s[] = {
        { "exact", 0, { NULL }, { "/a/b" } },
        { "pa", 0, { NULL }, { "/a/*" } },
        { "pab", 0, { NULL }, { "/a/b/*" } },
        { "root", 0, { NULL }, { "/*" } },
        { "slash", 0, { NULL }, { "/s/" } },
        { "noslash", 0, { NULL }, { "/s" } },
        { "user", 0, { NULL }, { "/users/{id}" } },
        { "me", 0, { NULL }, { "/users/me" } },
        { "orders", 0, { NULL }, { "/users/{id}/orders/{oid}" } },
        { "lit2", 0, { NULL }, { "/users/{id}/orders/latest" } },
        { "litfirst", 0, { NULL }, { "/t/x/{b}" } },
        { "varfirst", 0, { NULL }, { "/t/{a}/y" } },
        { "tslash", 0, { NULL }, { "/v/{x}/" } },
        { "upper", 0, { NULL }, { "/Case" } },
    };

    rt = build(s, sizeof(s) / sizeof(s[0]), 1);
    ok(rt != NULL, "paths: built (%s)", err.msg);

    is_str(GET(rt, "h", "/a/b"), "exact", "exact before prefix");
    is_str(GET(rt, "h", "/a"), "pa", "prefix /a/* matches /a");
    is_str(GET(rt, "h", "/a/"), "pa", "prefix matches /a/");
    is_str(GET(rt, "h", "/a/c/d"), "pa", "prefix matches deeper");
    is_str(GET(rt, "h", "/a/b/c"), "pab", "longer prefix first");
    is_str(GET(rt, "h", "/a/b/"), "pab", "/a/b/ is under /a/b/*");
    is_str(GET(rt, "h", "/ab"), "root", "a prefix ends at a segment");
    is_str(GET(rt, "h", "/"), "root", "/* matches /");
    is_str(GET(rt, "h", "/s/"), "slash", "trailing slash: its own path");
    is_str(GET(rt, "h", "/s"), "noslash", "no trailing slash: its own");
    is_str(GET(rt, "h", "/users/42"), "user", "template");
    is_str(vars("/users/42"), "id=42", "template: value");
    is_str(GET(rt, "h", "/users/me"), "me", "exact before template");
    is_int(last.nvars, 0, "exact: no variables");
    is_str(GET(rt, "h", "/users/"), "root",
           "a variable is never an empty segment");
    is_str(GET(rt, "h", "/users/42/x"), "root",
           "a template matches its count of segments only");
    is_str(GET(rt, "h", "/users/7/orders/9"), "orders", "two variables");
    is_str(vars("/users/7/orders/9"), "id=7,oid=9", "two values");
    is_int(last.vars[1].off, 16, "value's offset in the path");
    is_str(GET(rt, "h", "/users/7/orders/latest"), "lit2",
           "more literal segments first");
    is_str(GET(rt, "h", "/t/x/y"), "litfirst",
           "the first differing segment decides: literal first");
    is_str(GET(rt, "h", "/t/q/y"), "varfirst", "then the other");
    is_str(GET(rt, "h", "/v/1/"), "tslash", "template with trailing slash");
    is_str(GET(rt, "h", "/v/1"), "root", "... needs it");
    is_str(GET(rt, "h", "/Case"), "upper", "paths: case-sensitive");
    is_str(GET(rt, "h", "/case"), "root", "... /case is another path");
    is_str(GET(rt, "h", "/users/%2e%2e"), "user",
           "percent-encoding is not decoded: %%2e%%2e is a value");
    is_str(vars("/users/%2e%2e"), "id=%2e%2e", "... given raw");
    is_str(GET(rt, "h", "/a%2Fb"), "root", "%%2F is not a slash");
    is_str(GET(rt, "h", "/users/../a/b"), "root",
           "the caller normalizes: \"..\" is a segment like another");

    free(rt);
}


static void
test_precedence(void)
{
    gw_router_t  *rt;

    static const spec_t  s[] = {
        { "any-exact", 0, { NULL }, { "/p/x" } },
        { "host-prefix", 0, { "h.com" }, { "/p/*" } },
        { "wild-tmpl", 0, { "*.h.com" }, { "/p/{v}" } },
        { "any-hi", 5, { NULL }, { "/q/*" } },
        { "host-lo", 4, { "h.com" }, { "/q/x" } },
        { "re-hi", 9, { NULL }, { "~^/r/[0-9]+$" } },
        { "exact-lo", 1, { NULL }, { "/r/1" } },
        { "r-exact", 0, { NULL }, { "/s/1" } },
        { "r-prefix", 0, { NULL }, { "/s/*" } },
        { "r-re", 0, { NULL }, { "~^/s/" } },
        { "re-a", 0, { NULL }, { "~^/u/" } },
        { "re-b", 0, { NULL }, { "~^/u/a" } },
        { "re-host", 0, { "h.com" }, { "~^/u/" } },
    };

    gw_router_re_t  *re;

    rt = build(s, sizeof(s) / sizeof(s[0]), 7);
    ok(rt != NULL, "precedence: built (%s)", err.msg);

    re = gw_router_re_create(rt, &err);
    ok(re != NULL, "regex cache made (%s)", err.msg);

    is_str(match(rt, re, "GET", "h.com", "/p/x", NULL, NULL), "host-prefix",
           "exact host before any host, whatever the path");
    is_str(match(rt, re, "GET", "a.h.com", "/p/x", NULL, NULL), "wild-tmpl",
           "wildcard host before any host");
    is_str(match(rt, re, "GET", "h.com", "/q/x", NULL, NULL), "any-hi",
           "higher priority first, whatever the host");
    is_str(match(rt, re, "GET", "h", "/r/1", NULL, NULL), "re-hi",
           "a regex of higher priority beats an exact path");
    is_str(match(rt, re, "GET", "h", "/r/x", NULL, NULL), "404",
           "regex: no match");
    is_str(match(rt, re, "GET", "h", "/s/1", NULL, NULL), "r-exact",
           "exact before prefix before regex");
    is_str(match(rt, re, "GET", "h", "/s/2", NULL, NULL), "r-prefix",
           "prefix before regex");
    is_str(match(rt, re, "GET", "h", "/u/a", NULL, NULL), "re-a",
           "regexes of one rank: in the routes' order");
    is_str(match(rt, re, "GET", "h.com", "/u/a", NULL, NULL), "re-host",
           "regex: exact host first");
    is_str(match(rt, NULL, "GET", "h", "/u/a", NULL, NULL), "ERROR",
           "regex needed, no cache: an error");

    gw_router_re_free(re);
    free(rt);
}


static void
test_methods_conds(void)
{
    gw_router_t  *rt;

    static const spec_t  s[] = {
        { "get", 0, { NULL }, { "/m" }, { "GET", "HEAD" } },
        { "post", 0, { NULL }, { "/m" }, { "POST" } },
        { "other", 0, { NULL }, { "/m/*" } },
        { "canary", 0, { NULL }, { "/c" }, { NULL },
          { { "X-Canary", "1" } } },
        { "two", 0, { NULL }, { "/c" }, { NULL },
          { { "X-Canary", "1" }, { "X-Beta", NULL } } },
        { "plain", 0, { NULL }, { "/c" } },
        { "q1", 0, { NULL }, { "/q" }, { NULL }, { { NULL } },
          { { "v", "1" } } },
        { "q2", 0, { NULL }, { "/q" }, { NULL }, { { NULL } },
          { { "v", "2" } } },
        { "qp", 0, { NULL }, { "/qp" }, { NULL }, { { NULL } },
          { { "debug", NULL } } },
    };

    rt = build(s, sizeof(s) / sizeof(s[0]), 1);
    ok(rt != NULL, "methods, conditions: built (%s)", err.msg);

    is_str(match(rt, NULL, "GET", "h", "/m", NULL, NULL), "get", "GET");
    is_str(match(rt, NULL, "HEAD", "h", "/m", NULL, NULL), "get", "HEAD");
    is_str(match(rt, NULL, "POST", "h", "/m", NULL, NULL), "post", "POST");
    is_str(match(rt, NULL, "PUT", "h", "/m", NULL, NULL), "other",
           "another method: the next candidate");
    is_str(match(rt, NULL, "PROPFIND", "h", "/m/x", NULL, NULL), "other",
           "an unknown method: any-method routes");
    is_str(match(rt, NULL, "get", "h", "/m", NULL, NULL), "other",
           "methods are case-sensitive");
    is_str(match(rt, NULL, "GET", "h", "/c", NULL, NULL), "plain",
           "conditions fail: skipped, not a 404");
    is_str(match(rt, NULL, "GET", "h", "/c", NULL, "x-canary: 1\n"),
           "canary", "header exact, name in any case");
    is_str(match(rt, NULL, "GET", "h", "/c", NULL, "X-Canary: 2\n"), "plain",
           "header of another value");
    is_str(match(rt, NULL, "GET", "h", "/c", NULL,
                 "X-Canary: 1\nX-Beta: \n"), "two",
           "more conditions first; present with any value");
    is_str(match(rt, NULL, "GET", "h", "/q", "a=b&v=2", NULL), "q2",
           "query argument");
    is_str(match(rt, NULL, "GET", "h", "/q", "v=1&v=2", NULL), "q1",
           "the first occurrence counts");
    is_str(match(rt, NULL, "GET", "h", "/q", "v=3", NULL), "404",
           "no argument holds: 404");
    is_str(match(rt, NULL, "GET", "h", "/q", "vv=1", NULL), "404",
           "argument names compared whole");
    is_str(match(rt, NULL, "GET", "h", "/qp", "x&debug", NULL), "qp",
           "argument present without a value");
    is_str(match(rt, NULL, "GET", "h", "/qp", "", NULL), "404",
           "argument absent");

    free(rt);
}


static void
test_inputs(void)
{
    char          *big;
    size_t         n;
    gw_router_t   *rt;

    static const spec_t  s[] = {
        { "root", 0, { NULL }, { "/*" } },
        { "x", 0, { "h.com" }, { "/x/{a}" } },
    };

    rt = build(s, 0, 1);
    ok(rt != NULL, "no routes: built");
    is_str(GET(rt, "h", "/"), "404", "no routes: 404");
    free(rt);

    rt = build(s, 2, 1);
    ok(rt != NULL, "inputs: built (%s)", err.msg);

    is_str(GET(rt, "h", ""), "404", "empty path: 404");
    is_str(GET(rt, "h", "x"), "404", "a path not starting with /: 404");
    is_str(GET(rt, "h", "*"), "404", "OPTIONS *: 404");

    n = 200000;
    big = malloc(n + 1);
    if (big == NULL) {
        bail_out("out of memory");
    }

    memset(big, 'a', n);
    big[n] = '\0';
    big[0] = '/';
    is_str(GET(rt, "h", big), "root", "a path of 200 kB");

    memset(big, '/', n);
    is_str(GET(rt, "h", big), "root", "100,000 segments");

    memset(big, 'a', n);
    is_str(GET(rt, big, "/x/1"), "root", "a host of 200 kB: any host only");

    free(big);
    free(rt);
}


typedef struct {
    const char  *what;
    spec_t       s[2];
    size_t       n;
    long         route;
    const char  *msg;
} refusal_t;


static void
test_refusals(void)
{
    size_t        i;
    char          seg[300], path[300], many[400];
    gw_router_t  *rt;

    static refusal_t  r[] = {
        { "no leading slash", { { "r", 0, { NULL }, { "a" } } }, 1, 0,
          "route \"r\" (#0): paths[0] \"a\": does not start with \"/\" "
          "or \"~\"" },
        { "star inside", { { "r", 0, { NULL }, { "/a*" } } }, 1, 0,
          "\"*\" is allowed only as a final \"/*\"" },
        { "empty segment", { { "r", 0, { NULL }, { "/a//b" } } }, 1, 0,
          "paths[0] \"/a//b\": empty segment" },
        { "dot segment", { { "r", 0, { NULL }, { "/a/../b" } } }, 1, 0,
          "dot segment \"..\"" },
        { "query", { { "r", 0, { NULL }, { "/a?b" } } }, 1, 0,
          "byte 0x3f at 2 is not allowed" },
        { "half variable", { { "r", 0, { NULL }, { "/a/{id" } } }, 1, 0,
          "segment \"{id\" is not a variable" },
        { "variable name", { { "r", 0, { NULL }, { "/a/{1d}" } } }, 1, 0,
          "segment \"{1d}\" is not a variable" },
        { "variable in a prefix", { { "r", 0, { NULL }, { "/a/{x}/*" } } },
          1, 0, "a prefix cannot hold variables" },
        { "duplicate variable", { { "r", 0, { NULL }, { "/a/{x}/{x}" } } },
          1, 0, "route \"r\" (#0): paths[0] \"/a/{x}/{x}\": duplicate "
          "variable \"x\"" },
        { "bad regex", { { "r", 0, { NULL }, { "~^/(a" } } }, 1, 0,
          "paths[0] \"~^/(a\": bad regular expression at offset 4: "
          "missing closing parenthesis" },
        { "empty regex", { { "r", 0, { NULL }, { "~" } } }, 1, 0,
          "empty regular expression" },
        { "duplicate path", { { "r", 0, { NULL }, { "/u/{a}", "/u/{b}" } } },
          1, 0, "paths[1] \"/u/{b}\": the same pattern as paths[0]" },
        { "conflict", { { "a", 3, { NULL }, { "/x" } },
                        { "b", 3, { NULL }, { "/y", "/x" },
                          { "GET" } } }, 2, 1,
          "route \"b\" (#1): paths[1] \"/x\": conflicts with route \"a\" "
          "(#0) paths[0] \"/x\": same priority 3, host \"*\", method GET" },
        { "conflict, templates", { { "a", 0, { "*.h.com" }, { "/u/{x}" } },
                                   { "b", 0, { "*.H.com" }, { "/u/{y}" } } },
          2, 1, "same priority 0, host \"*.h.com\", method GET" },
        { "conflict, conditions", { { "a", 0, { NULL }, { "/c" }, { NULL },
                                      { { "X-A", "1" } } },
                                    { "b", 0, { NULL }, { "/c" }, { NULL },
                                      { { "X-B", "1" } } } }, 2, 1,
          "method GET, conditions not exclusive" },
        { "bad host", { { "r", 0, { "a..b" }, { "/" } } }, 1, 0,
          "hosts[0] \"a..b\": label \"\" is not a DNS label" },
        { "wildcard inside", { { "r", 0, { "a.*.com" }, { "/" } } }, 1, 0,
          "hosts[0] \"a.*.com\": label \"*\" is not a DNS label" },
        { "bare star", { { "r", 0, { "*" }, { "/" } } }, 1, 0,
          "a wildcard is \"*.\" and a domain" },
        { "duplicate host", { { "r", 0, { "a.com", "A.com" }, { "/" } } },
          1, 0, "hosts[1] \"A.com\": duplicate of hosts[0]" },
        { "bad method", { { "r", 0, { NULL }, { "/" }, { "FETCH" } } }, 1, 0,
          "methods[0] \"FETCH\": not one of" },
        { "duplicate method", { { "r", 0, { NULL }, { "/" },
                                  { "GET", "GET" } } }, 1, 0,
          "methods[1] \"GET\": duplicate" },
        { "header name", { { "r", 0, { NULL }, { "/" }, { NULL },
                             { { "X A", "1" } } } }, 1, 0,
          "headers[0]: name \"X A\" has a byte not allowed (0x20)" },
        { "duplicate header", { { "r", 0, { NULL }, { "/" }, { NULL },
                                  { { "X-A", "1" }, { "x-a", "2" } } } },
          1, 0, "headers[1] \"x-a\": duplicate name" },
        { "arg value", { { "r", 0, { NULL }, { "/" }, { NULL }, { { NULL } },
                           { { "a", "1&b" } } } }, 1, 0,
          "args[0] \"a\": value longer than" },
        { "no id", { { "", 0, { NULL }, { "/" } } }, 1, 0,
          "id: empty or longer than 64 bytes" },
        { "priority cap", { { "r", 70000, { NULL }, { "/" } } }, 1, 0,
          "priority: 70000 is above 65535" },
        { "no paths", { { "r", 0, { NULL }, { NULL } } }, 1, 0,
          "paths: 1 to 16, hosts: at most 16, methods: at most 9 "
          "(has 0, 0, 0)" },
        { "second route", { { "ok", 0, { NULL }, { "/" } },
                            { "r", 0, { NULL }, { "/a", "b" } } }, 2, 1,
          "route \"r\" (#1): paths[1] \"b\"" },
    };

    for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        rt = build(r[i].s, r[i].n, 1);
        ok(rt == NULL, "refused: %s", r[i].what);
        is_int(err.route, r[i].route, "%s: the route at fault", r[i].what);

        if (!ok(strstr(err.msg, r[i].msg) != NULL, "%s: message",
                r[i].what))
        {
            diag("got: %s", err.msg);
        }

        free(rt);
    }

    /* caps, with patterns made here */

    memset(seg, 'a', sizeof(seg));
    seg[0] = '/';
    seg[257] = '\0';
    rt = build((spec_t[]) { { "r", 0, { NULL }, { seg } } }, 1, 1);
    ok(rt == NULL && strstr(err.msg, "segment 1 is longer than 255 bytes"),
       "cap: segment length (%s)", err.msg);

    for (i = 0; i < 33; i++) {
        memcpy(path + 2 * i, "/a", 2);
    }

    path[66] = '\0';
    rt = build((spec_t[]) { { "r", 0, { NULL }, { path } } }, 1, 1);
    ok(rt == NULL && strstr(err.msg, "more than 32 segments"),
       "cap: segments (%s)", err.msg);

    for (i = 0; i < 17; i++) {
        sprintf(many + 6 * i, "/{v%02zu}", i);
    }

    rt = build((spec_t[]) { { "r", 0, { NULL }, { many } } }, 1, 1);
    ok(rt == NULL && strstr(err.msg, "more than 16 variables"),
       "cap: variables (%s)", err.msg);

    /* not conflicts */

    rt = build((spec_t[]) {
                   { "a", 0, { NULL }, { "/x" } },
                   { "b", 1, { NULL }, { "/x" } },
               }, 2, 1);
    ok(rt != NULL, "different priorities: no conflict");
    free(rt);

    rt = build((spec_t[]) {
                   { "a", 0, { NULL }, { "/x", "/y/*" } },
                   { "b", 0, { "h.com" }, { "/x" } },
                   { "c", 0, { NULL }, { "/x/*", "/y/z/*" } },
                   { "d", 0, { NULL }, { "/y" }, { "GET" } },
                   { "e", 0, { NULL }, { "/y" }, { "POST" } },
               }, 5, 1);
    ok(rt != NULL, "host vs any, exact vs prefix, two prefixes, methods: "
       "no conflict (%s)", err.msg);
    free(rt);
}


static void *
arena_alloc(void *ctx, size_t size)
{
    size_t  *used = ctx;

    *used += size;

    return malloc(size);
}


static void
test_copy(void)
{
    char              *copy;
    size_t             used, size;
    gw_router_t       *rt, *moved;
    gw_router_re_t    *re, *old;
    gw_router_def_t    d[2];
    gw_router_conf_t   conf;

    static const char  *p1[] = { "/users/{id}/orders/{oid}" };
    static const char  *p2[] = { "~^/re/[0-9]+$" };
    static const char  *h1[] = { "*.example.com" };

    memset(d, 0, sizeof(d));
    d[0].id = "orders";
    d[0].paths = p1;
    d[0].npaths = 1;
    d[0].hosts = h1;
    d[0].nhosts = 1;
    d[1].id = "re";
    d[1].paths = p2;
    d[1].npaths = 1;

    used = 0;
    conf.generation = 42;
    conf.alloc = arena_alloc;
    conf.ctx = &used;

    rt = gw_router_build(d, 2, &conf, &err);
    ok(rt != NULL, "copy: built through the allocator");
    size = gw_router_size(rt);
    is_int(used, size, "one allocation, of the block's size");
    is_int(gw_router_routes(rt), 2, "two routes");
    is_int(gw_router_generation(rt), 42, "its generation");

    old = gw_router_re_create(rt, &err);

    copy = malloc(size + 8);
    if (copy == NULL || old == NULL) {
        bail_out("out of memory");
    }

    moved = (gw_router_t *) (copy + 8);
    memcpy(moved, rt, size);
    memset(rt, 0xa5, size);
    free(rt);

    re = gw_router_re_create(moved, &err);
    ok(re != NULL, "a cache made from the copy");
    diag("PCRE2 JIT: %s", gw_router_re_jit(re) ? "yes" : "no");

    is_str(match(moved, re, "GET", "a.example.com", "/users/5/orders/77",
                 NULL, NULL), "orders", "the copy matches at its address");
    is_str(vars("/users/5/orders/77"), "id=5,oid=77",
           "variables' names read from the copy");
    is_str(match(moved, re, "GET", "x", "/re/12", NULL, NULL), "re",
           "regex through the copy's cache");
    is_str(match(moved, old, "GET", "x", "/re/12", NULL, NULL), "re",
           "the original's cache: same generation, same sources");

    gw_router_re_free(old);
    gw_router_re_free(re);
    free(copy);
}


static void
test_stale(void)
{
    gw_router_t     *a, *b;
    gw_router_re_t  *re;

    static const spec_t  s[] = {
        { "re", 0, { NULL }, { "~^/x/(a+)+$" } },
        { "ex", 1, { NULL }, { "/x/aa" } },
    };

    a = build(s, 1, 1);
    b = build(s, 2, 2);
    re = gw_router_re_create(a, &err);

    ok(a != NULL && b != NULL && re != NULL, "stale: built");
    is_str(match(b, NULL, "GET", "h", "/x/aa", NULL, NULL), "ex",
           "no regex could win: no cache needed");
    is_str(match(a, re, "GET", "h", "/x/aa", NULL, NULL), "re", "fresh");
    is_str(match(b, re, "GET", "h", "/x/aaa", NULL, NULL), "ERROR",
           "a cache of another generation is refused");
    is_str(match(a, re, "GET", "h",
                 "/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", NULL,
                 NULL), "404",
           "catastrophic backtracking: stopped by the match limit");

    gw_router_re_free(re);
    free(a);
    free(b);
}


static void
test_random(void)
{
    int       bad;
    char      why[512];
    size_t    built;
    unsigned  seed;

    for (seed = 1; seed <= 3; seed++) {
        why[0] = '\0';
        bad = router_ref_check(seed, 2000, 5000, &built, why, sizeof(why));

        if (!is_int(bad, 0, "random seed %u: %zu routes, 5000 requests "
                    "agree with the linear reference", seed, built))
        {
            diag("%s", why);
        }
    }
}


/*
 * gw_router_build_in() with one work for builds of every size, refused
 * ones in between: each gives exactly gw_router_build()'s block or
 * error, whatever the work held before.
 */

static void
test_work(void)
{
    int       bad;
    char      why[512];
    size_t    built, i;
    unsigned  seed;

    static const size_t  sizes[] = { 1500, 200, 2500, 50 };

    router_ref_work = gw_router_work_create();
    if (router_ref_work == NULL) {
        bail_out("out of memory");
    }

    router_ref_works = 0;
    router_ref_diffs = 0;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        seed = 11 + (unsigned) i;
        bad = router_ref_check(seed, sizes[i], 200, &built, why, sizeof(why));
        ok(bad == 0, "work: seed %u, %zu routes kept", seed, built);
    }

    ok(router_ref_works > 20, "work: %zu builds, refused ones among them",
       router_ref_works);

    if (!is_int(router_ref_diffs, 0, "work: every block and error the "
                "same as without a work"))
    {
        diag("%s", router_ref_diff);
    }

    gw_router_work_free(router_ref_work);
    router_ref_work = NULL;
}


int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        router_bench(argc > 2 ? (size_t) atol(argv[2]) : 100000);
        return 0;
    }

    test_hosts();
    test_paths();
    test_precedence();
    test_methods_conds();
    test_inputs();
    test_refusals();
    test_copy();
    test_stale();
    test_random();
    test_work();

    return done_testing();
}
