
/*
 * Copyright (C) Tollgate
 *
 * What a route and an upstream may say beyond their schemas: exactly
 * what the gateway can serve (docs/admin-api.md, "Routes and upstreams
 * the gateway serves").
 *
 *   - a route is built alone by lib/router, the gateway's own matcher:
 *     its refusal (a path, host, method or condition; two paths of one
 *     pattern) is the 422's message, at the member it names;
 *   - a regex path must pass the static check and the probe of
 *     metadata_regex.h;
 *   - splits: each weight a multiple of 0.01, their sum at most 100, no
 *     upstream twice;
 *   - jwt.jwks_url: https, or http to a loopback address;
 *   - an upstream's targets are IP literals (the gateway resolves no
 *     names at run time); hash_on only with algorithm hash.
 *
 * And a route's match keys (metadata.h): "<priority> <host> <method>
 * <pattern>", the host lowercased, the pattern as written but for a
 * template's variables, written "{}" (their names do not count); a
 * route with conditions adds "\x1f<n>\x1f<cond>\x1f..." (n conditions,
 * sorted, "h<name lowercased>=<value>", "h<name>" when any value does,
 * "a<name>=<value>" for arguments), which the commit script compares as
 * lib/router does: two routes clash on a base and n unless a name both
 * require has two different values.
 */


#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_router.h"
#include "metadata_regex.h"
#include "metadata_type_int.h"


#define MD_COND_SEP  '\x1f'


static int md_route_router(json_t *data, json_t *errors);
static int md_route_regex(json_t *data, json_t *errors);
static int md_route_splits(json_t *data, json_t *errors);
static int md_route_jwks(json_t *data, json_t *errors);
static int md_route_conds(json_t *obj, gw_router_cond_t *c,
    const char **names);
static int md_route_pointer(const char *msg, const char **hnames,
    const char **anames, char *ptr, size_t size);
static int md_pointer_escape(const char *name, char *out, size_t size);
static char *md_route_conds_key(json_t *data);
static int md_cond_cmp(const void *a, const void *b);


int
md_route_check(json_t *data, json_t *errors)
{
    int  rc;

    rc = md_route_router(data, errors);

    if (rc == 1) {
        rc = md_route_regex(data, errors);
    }

    if (rc >= 0) {
        rc = (md_route_splits(data, errors) < 0) ? -1 : rc;
    }

    if (rc >= 0) {
        rc = (md_route_jwks(data, errors) < 0) ? -1 : rc;
    }

    if (rc >= 0 && json_array_size(errors) > 0) {
        rc = 0;
    }

    return rc;
}


/* the route alone through gw_router_build(): 1 built, 0 refused, -1 */

static int
md_route_router(json_t *data, json_t *errors)
{
    char               ptr[160];
    size_t             i;
    json_t            *v;
    const char        *paths[GW_ROUTER_PATHS_MAX];
    const char        *hosts[GW_ROUTER_HOSTS_MAX];
    const char        *methods[GW_ROUTER_METHODS_N];
    const char        *hnames[GW_ROUTER_CONDS_MAX];
    const char        *anames[GW_ROUTER_CONDS_MAX];
    const char        *msg;
    gw_router_t       *rt;
    gw_router_def_t    def;
    gw_router_err_t    err;
    gw_router_conf_t   conf;
    gw_router_cond_t   headers[GW_ROUTER_CONDS_MAX];
    gw_router_cond_t   args[GW_ROUTER_CONDS_MAX];

    memset(&def, 0, sizeof(gw_router_def_t));
    memset(&conf, 0, sizeof(gw_router_conf_t));

    /* the schema capped every array and object at the router's caps */

    def.id = "route";
    def.priority = (unsigned) json_integer_value(json_object_get(data,
                                                              "priority"));

    json_array_foreach(json_object_get(data, "paths"), i, v) {
        paths[i] = json_string_value(v);
    }

    def.paths = paths;
    def.npaths = json_array_size(json_object_get(data, "paths"));

    json_array_foreach(json_object_get(data, "hosts"), i, v) {
        hosts[i] = json_string_value(v);
    }

    def.hosts = hosts;
    def.nhosts = json_array_size(json_object_get(data, "hosts"));

    json_array_foreach(json_object_get(data, "methods"), i, v) {
        methods[i] = json_string_value(v);
    }

    def.methods = methods;
    def.nmethods = json_array_size(json_object_get(data, "methods"));

    def.headers = headers;
    def.nheaders = md_route_conds(json_object_get(data, "headers"), headers,
                                  hnames);
    def.args = args;
    def.nargs = md_route_conds(json_object_get(data, "args"), args, anames);

    rt = gw_router_build(&def, 1, &conf, &err);

    if (rt != NULL) {
        free(rt);
        return 1;
    }

    if (strcmp(err.msg, "out of memory") == 0) {
        return -1;
    }

    /* 'route "route" (#0): paths[1] "/a": ...': the member and why */

    msg = strstr(err.msg, "): ");
    msg = (msg != NULL) ? msg + 3 : err.msg;

    if (md_route_pointer(msg, hnames, anames, ptr, sizeof(ptr)) != 0) {
        ptr[0] = '\0';
    }

    return (md_type_error(errors, ptr, "%s", msg) == 0) ? 0 : -1;
}


static int
md_route_conds(json_t *obj, gw_router_cond_t *c, const char **names)
{
    int          n;
    json_t      *v;
    const char  *name;

    n = 0;

    json_object_foreach(obj, name, v) {
        if (n == GW_ROUTER_CONDS_MAX) {
            break;
        }

        c[n].name = name;
        c[n].value = json_string_value(v);
        names[n] = name;
        n++;
    }

    return n;
}


/*
 * The pointer of the member a router message begins with: "paths[1]",
 * "hosts[0]", "methods[2]", "headers[3]" (the name of the fourth),
 * "args[0]", or "paths:" and the like for the whole array.
 */

static int
md_route_pointer(const char *msg, const char **hnames, const char **anames,
    char *ptr, size_t size)
{
    char         esc[140];
    size_t       n, k;
    const char  *br, *names[] = { "paths", "hosts", "methods", "headers",
                                  "args", "priority" };

    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        n = strlen(names[k]);

        if (strncmp(msg, names[k], n) == 0
            && (msg[n] == '[' || msg[n] == ':'))
        {
            break;
        }
    }

    if (k == sizeof(names) / sizeof(names[0])) {
        return -1;
    }

    br = msg + n;

    if (*br != '[') {
        snprintf(ptr, size, "/%s", names[k]);
        return 0;
    }

    n = (size_t) strtoul(br + 1, NULL, 10);

    if (k == 3 || k == 4) {
        if (n >= GW_ROUTER_CONDS_MAX
            || md_pointer_escape(k == 3 ? hnames[n] : anames[n], esc,
                                 sizeof(esc)) != 0)
        {
            snprintf(ptr, size, "/%s", names[k]);
            return 0;
        }

        snprintf(ptr, size, "/%s/%s", names[k], esc);
        return 0;
    }

    snprintf(ptr, size, "/%s/%zu", names[k], n);

    return 0;
}


/* RFC 6901: "~" as "~0", "/" as "~1" */

static int
md_pointer_escape(const char *name, char *out, size_t size)
{
    size_t  n;

    for (n = 0; *name != '\0'; name++) {
        if (n + 3 >= size) {
            return -1;
        }

        if (*name == '~' || *name == '/') {
            out[n++] = '~';
            out[n++] = (*name == '~') ? '0' : '1';

        } else {
            out[n++] = *name;
        }
    }

    out[n] = '\0';

    return 0;
}


/* every regex path through the static check, then the probe */

static int
md_route_regex(json_t *data, json_t *errors)
{
    int             rc, bad;
    char            ptr[32], msg[400];
    size_t          i, len;
    json_t         *v;
    const char     *p;
    md_rx_probe_t   pr;

    bad = 0;

    json_array_foreach(json_object_get(data, "paths"), i, v) {
        p = json_string_value(v);

        if (p == NULL || p[0] != '~') {
            continue;
        }

        len = strlen(p + 1);

        rc = md_regex_static(p + 1, len, &pr, msg, sizeof(msg));

        if (rc == 0) {
            rc = md_regex_probe(p + 1, len, &pr, msg, sizeof(msg));
        }

        if (rc == 0) {
            continue;
        }

        if (strcmp(msg, "out of memory") == 0) {
            return -1;
        }

        snprintf(ptr, sizeof(ptr), "/paths/%zu", i);

        if (md_type_error(errors, ptr, "the regular expression is "
                          "refused: %s", msg) != 0)
        {
            return -1;
        }

        bad = 1;
    }

    return bad ? 0 : 1;
}


static int
md_route_splits(json_t *data, json_t *errors)
{
    char         ptr[48];
    double       w, h;
    size_t       i, j;
    json_t      *s, *o;
    long long    sum;
    const char  *u;

    sum = 0;

    json_array_foreach(json_object_get(data, "splits"), i, s) {
        w = json_number_value(json_object_get(s, "weight"));
        h = w * 100.0;

        if (fabs(h - floor(h + 0.5)) > 1e-6) {
            snprintf(ptr, sizeof(ptr), "/splits/%zu/weight", i);

            if (md_type_error(errors, ptr, "%g is not a multiple of 0.01",
                              w) != 0)
            {
                return -1;
            }

            continue;
        }

        sum += (long long) floor(h + 0.5);

        u = json_string_value(json_object_get(s, "upstream"));

        for (j = 0; j < i && u != NULL; j++) {
            o = json_array_get(json_object_get(data, "splits"), j);

            if (json_is_string(json_object_get(o, "upstream"))
                && strcmp(json_string_value(json_object_get(o, "upstream")),
                          u) == 0)
            {
                snprintf(ptr, sizeof(ptr), "/splits/%zu/upstream", i);

                if (md_type_error(errors, ptr, "upstream \"%s\" is in "
                                  "splits[%zu] already", u, j) != 0)
                {
                    return -1;
                }

                break;
            }
        }
    }

    if (sum > 10000
        && md_type_error(errors, "/splits", "the weights add up to "
                         "%lld.%02lld, over 100", sum / 100, sum % 100) != 0)
    {
        return -1;
    }

    return 0;
}


/* https://..., or http:// to 127.0.0.0/8, [::1] or localhost */

static int
md_route_jwks(json_t *data, json_t *errors)
{
    char            host[64];
    size_t          n;
    const char     *url, *h, *e;
    unsigned char   a[16];

    url = json_string_value(json_object_get(json_object_get(data, "jwt"),
                                            "jwks_url"));
    if (url == NULL) {
        return 0;
    }

    if (strchr(url, '#') != NULL) {
        goto bad;
    }

    if (strncmp(url, "https://", 8) == 0) {
        h = url + 8;
        e = h + strcspn(h, "/?");

        if (e == h || memchr(h, '@', e - h) != NULL) {
            goto bad;
        }

        return 0;
    }

    if (strncmp(url, "http://", 7) != 0) {
        goto bad;
    }

    h = url + 7;
    e = h + strcspn(h, "/?");

    if (memchr(h, '@', e - h) != NULL) {
        goto bad;
    }

    /* the host without its port */

    if (*h == '[') {
        h++;
        n = strcspn(h, "]");

    } else {
        n = strcspn(h, ":/?");
    }

    if (n == 0 || n >= sizeof(host)) {
        goto bad;
    }

    memcpy(host, h, n);
    host[n] = '\0';

    if (strcmp(host, "localhost") == 0
        || (inet_pton(AF_INET, host, a) == 1 && a[0] == 127)
        || (inet_pton(AF_INET6, host, a) == 1
            && memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
    {
        return 0;
    }

bad:

    return (md_type_error(errors, "/jwt/jwks_url", "a JWKS URL is https://"
                          " (or http:// to a loopback address), with a "
                          "host, no user information and no fragment")
            == 0) ? 0 : -1;
}


int
md_upstream_check(json_t *data, json_t *errors)
{
    char           ptr[48], host[64];
    size_t         i, n;
    json_t        *t;
    const char    *addr, *alg, *colon;
    unsigned char  a[16];

    json_array_foreach(json_object_get(data, "targets"), i, t) {
        addr = json_string_value(json_object_get(t, "address"));
        if (addr == NULL) {
            continue;
        }

        colon = strrchr(addr, ':');
        n = (colon != NULL) ? (size_t) (colon - addr) : 0;

        if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']'
            && n - 2 < sizeof(host))
        {
            memcpy(host, addr + 1, n - 2);
            host[n - 2] = '\0';

            if (inet_pton(AF_INET6, host, a) == 1) {
                continue;
            }

        } else if (n > 0 && n < sizeof(host)) {
            memcpy(host, addr, n);
            host[n] = '\0';

            if (inet_pton(AF_INET, host, a) == 1) {
                continue;
            }
        }

        snprintf(ptr, sizeof(ptr), "/targets/%zu/address", i);

        if (md_type_error(errors, ptr, "\"%s\" is not an IP address and a "
                          "port (10.0.0.1:80, [2001:db8::1]:80): the "
                          "gateway does not resolve host names at run time",
                          addr) != 0)
        {
            return -1;
        }
    }

    alg = json_string_value(json_object_get(data, "algorithm"));

    if (json_object_get(data, "hash_on") != NULL
        && (alg == NULL || strcmp(alg, "hash") != 0)
        && md_type_error(errors, "/hash_on", "hash_on is the key of "
                         "algorithm \"hash\", not of \"%s\"",
                         alg ? alg : "round_robin") != 0)
    {
        return -1;
    }

    return (json_array_size(errors) == 0) ? 1 : 0;
}


/* ---- match keys ---------------------------------------------------------- */

int
md_route_match(json_t *data, json_t *match)
{
    int           rc;
    char         *key, *conds, *pat, *q;
    size_t        i, j, k, nh, nm, len;
    json_t       *paths, *hosts, *methods, *p;
    long long     prio;
    const char   *host, *method, *path;

    paths = json_object_get(data, "paths");
    hosts = json_object_get(data, "hosts");
    methods = json_object_get(data, "methods");
    prio = json_integer_value(json_object_get(data, "priority"));

    nh = json_array_size(hosts);
    nm = json_array_size(methods);

    conds = md_route_conds_key(data);
    if (conds == NULL) {
        return -1;
    }

    rc = 0;
    key = NULL;
    pat = NULL;

    json_array_foreach(paths, i, p) {
        path = json_string_value(p);
        if (path == NULL) {
            continue;
        }

        free(pat);
        pat = md_route_norm(path);
        if (pat == NULL) {
            rc = -1;
            break;
        }

        for (j = 0; j < (nh ? nh : 1); j++) {
            host = nh ? json_string_value(json_array_get(hosts, j)) : "*";

            for (k = 0; k < (nm ? nm : GW_ROUTER_METHODS_N); k++) {
                method = nm ? json_string_value(json_array_get(methods, k))
                            : gw_router_method(k);

                if (host == NULL || method == NULL) {
                    continue;
                }

                len = strlen(host) + strlen(method) + strlen(pat)
                      + strlen(conds) + 32;

                free(key);
                key = malloc(len);
                if (key == NULL) {
                    rc = -1;
                    goto done;
                }

                snprintf(key, len, "%lld %s %s %s%s", prio, host, method,
                         pat, conds);

                /* hosts are case-insensitive */
                for (q = key; *q != ' '; q++) { /* void */ }
                for (q++; *q != ' '; q++) {
                    *q = (*q >= 'A' && *q <= 'Z') ? *q | 0x20 : *q;
                }

                if (json_array_append_new(match, json_string(key)) != 0) {
                    rc = -1;
                    goto done;
                }
            }
        }
    }

done:

    free(key);
    free(pat);
    free(conds);

    return rc;
}


/* a path's pattern in match keys: a template's variables as "{}" */

char *
md_route_norm(const char *path)
{
    char        *pat, *q;
    const char  *s;

    pat = malloc(strlen(path) + 1);
    if (pat == NULL) {
        return NULL;
    }

    for (s = path, q = pat; *s != '\0'; s++) {
        *q++ = *s;

        if (path[0] == '/' && *s == '{' && s[-1] == '/') {
            while (s[1] != '\0' && s[1] != '}') {
                s++;
            }
        }
    }

    *q = '\0';

    return pat;
}


/*
 * A match key as a 409's message shows it: the conditions' part
 * "\x1f2\x1fhx=1\x1fav" as " if header x=1, arg v".
 */

const char *
md_route_match_text(const char *key, char *buf, size_t size)
{
    size_t       n;
    const char  *c, *e;

    c = strchr(key, MD_COND_SEP);
    n = (c != NULL) ? (size_t) (c - key) : strlen(key);

    snprintf(buf, size, "%.*s", (int) n, key);

    if (c == NULL) {
        return buf;
    }

    c = strchr(c + 1, MD_COND_SEP);

    for (n = 0; c != NULL; n++) {
        c++;
        e = strchr(c, MD_COND_SEP);

        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s %.*s",
                 n ? "," : " if", c[0] == 'h' ? " header" : " arg",
                 (int) (e ? (size_t) (e - c) : strlen(c)) - 1, c + 1);
        c = e;
    }

    return buf;
}


/* "" or "\x1f<n>\x1f<cond>\x1f<cond>...", conditions sorted */

static char *
md_route_conds_key(json_t *data)
{
    char         *out, *c[2 * GW_ROUTER_CONDS_MAX], *q;
    size_t        n, k, len;
    json_t       *v;
    const char   *name, *member;
    int           m;

    n = 0;
    len = 16;

    for (m = 0; m < 2; m++) {
        member = (m == 0) ? "headers" : "args";

        json_object_foreach(json_object_get(data, member), name, v) {
            if (n == 2 * GW_ROUTER_CONDS_MAX) {
                break;
            }

            k = strlen(name) + (json_is_string(v)
                                ? strlen(json_string_value(v)) : 0) + 4;

            c[n] = malloc(k);
            if (c[n] == NULL) {
                goto fail;
            }

            snprintf(c[n], k, "%c%s%s%s", m == 0 ? 'h' : 'a', name,
                     json_is_string(v) ? "=" : "",
                     json_is_string(v) ? json_string_value(v) : "");

            if (m == 0) {
                for (q = c[n] + 1; *q != '\0' && *q != '='; q++) {
                    *q = (*q >= 'A' && *q <= 'Z') ? *q | 0x20 : *q;
                }
            }

            len += k;
            n++;
        }
    }

    qsort(c, n, sizeof(char *), md_cond_cmp);

    out = malloc(len);
    if (out == NULL) {
        goto fail;
    }

    out[0] = '\0';

    if (n > 0) {
        q = out + sprintf(out, "%c%zu%c", MD_COND_SEP, n, MD_COND_SEP);

        for (k = 0; k < n; k++) {
            q += sprintf(q, "%s%s", k ? "\x1f" : "", c[k]);
        }
    }

    for (k = 0; k < n; k++) {
        free(c[k]);
    }

    return out;

fail:

    while (n > 0) {
        free(c[--n]);
    }

    return NULL;
}


static int
md_cond_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}
