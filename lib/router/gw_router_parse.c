
/*
 * Copyright (C) Tollgate
 *
 * A definition's members, checked one by one (docs/routing.md, "Route
 * definitions").  Patterns are refused when they could never match the
 * normalized path nginx gives ($uri: decoded, dot segments resolved,
 * slashes merged): "." and ".." segments, and empty segments except a
 * trailing slash's.
 */


#include <stdio.h>
#include <string.h>

#include "gw_router_parse.h"


static int gw_rt_parse_segments(const char *s, size_t n, int prefix,
    gw_rt_path_t *p, char *msg, size_t len);
static int gw_rt_parse_label(const char *s, size_t n);


static const char  *gw_rt_methods[GW_ROUTER_METHODS_N] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT",
    "TRACE"
};

#define GW_RT_NMETHODS  (sizeof(gw_rt_methods) / sizeof(gw_rt_methods[0]))


int
gw_rt_parse_path(const char *s, gw_rt_path_t *p, char *msg, size_t len)
{
    size_t          n, i;
    unsigned char   c;

    memset(p, 0, sizeof(gw_rt_path_t));

    n = strlen(s);

    if (n > GW_ROUTER_PATH_MAX) {
        snprintf(msg, len, "longer than %d bytes", GW_ROUTER_PATH_MAX);
        return -1;
    }

    if (s[0] == '~') {
        if (n == 1) {
            snprintf(msg, len, "empty regular expression");
            return -1;
        }

        p->kind = GW_RT_P_REGEX;
        p->src = s + 1;
        p->src_len = n - 1;
        return 0;
    }

    if (s[0] != '/') {
        snprintf(msg, len, "does not start with \"/\" or \"~\"");
        return -1;
    }

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') {
            snprintf(msg, len, "byte 0x%02x at %zu is not allowed", c, i);
            return -1;
        }

        if (c == '*' && (i != n - 1 || s[i - 1] != '/')) {
            snprintf(msg, len, "\"*\" is allowed only as a final \"/*\"");
            return -1;
        }
    }

    p->src = s;
    p->src_len = n;

    if (s[n - 1] == '*') {
        p->kind = GW_RT_P_PREFIX;
        return gw_rt_parse_segments(s, n - 2, 1, p, msg, len);
    }

    if (gw_rt_parse_segments(s, n, 0, p, msg, len) != 0) {
        return -1;
    }

    p->kind = (p->nvars > 0) ? GW_RT_P_TMPL : GW_RT_P_EXACT;

    return 0;
}


/*
 * Splits s[0..n) ("/a/b", or "" for the root prefix) into segments and
 * sets the variables and the rank's spec bits.
 */

static int
gw_rt_parse_segments(const char *s, size_t n, int prefix, gw_rt_path_t *p,
    char *msg, size_t len)
{
    size_t        i, j, k, sl;
    const char   *seg, *e;

    p->nseg = 0;
    i = 1;

    while (i <= n && n > 0) {
        seg = s + i;
        e = memchr(seg, '/', n - i);
        sl = (e != NULL) ? (size_t) (e - seg) : n - i;

        if (p->nseg == GW_ROUTER_SEGMENTS_MAX) {
            snprintf(msg, len, "more than %d segments",
                     GW_ROUTER_SEGMENTS_MAX);
            return -1;
        }

        if (sl > GW_ROUTER_SEGMENT_MAX) {
            snprintf(msg, len, "segment %zu is longer than %d bytes",
                     p->nseg + 1, GW_ROUTER_SEGMENT_MAX);
            return -1;
        }

        if (sl == 0 && (e != NULL || prefix)) {
            snprintf(msg, len, "empty segment (\"//\")");
            return -1;
        }

        if ((sl == 1 && seg[0] == '.')
            || (sl == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            snprintf(msg, len, "dot segment \"%.*s\"", (int) sl, seg);
            return -1;
        }

        p->seg[p->nseg].p = seg;
        p->seg[p->nseg].len = sl;
        p->seg[p->nseg].var = 0;

        if (memchr(seg, '{', sl) != NULL || memchr(seg, '}', sl) != NULL) {

            if (sl < 3 || seg[0] != '{' || seg[sl - 1] != '}'
                || gw_rt_parse_name_var(seg + 1, sl - 2) != 0)
            {
                snprintf(msg, len, "segment \"%.*s\" is not a variable "
                         "\"{name}\" (name: [A-Za-z_][A-Za-z0-9_]*, "
                         "at most %d bytes)", (int) sl, seg,
                         GW_ROUTER_NAME_MAX);
                return -1;
            }

            if (prefix) {
                snprintf(msg, len, "a prefix cannot hold variables");
                return -1;
            }

            if (p->nvars == GW_ROUTER_VARS_MAX) {
                snprintf(msg, len, "more than %d variables",
                         GW_ROUTER_VARS_MAX);
                return -1;
            }

            for (j = 0; j < p->nvars; j++) {
                k = p->var[j];

                if (p->seg[k].len == sl && memcmp(p->seg[k].p, seg, sl) == 0)
                {
                    snprintf(msg, len, "duplicate variable \"%.*s\"",
                             (int) sl - 2, seg + 1);
                    return -1;
                }
            }

            p->seg[p->nseg].var = 1;
            p->var[p->nvars++] = p->nseg;

        } else {
            p->spec |= 1u << (31 - p->nseg);
        }

        p->nseg++;
        i += sl + 1;
    }

    if (prefix) {
        p->spec = (uint32_t) p->nseg;
    }

    return 0;
}


int
gw_rt_parse_name_var(const char *s, size_t n)
{
    size_t  i;

    if (n == 0 || n > GW_ROUTER_NAME_MAX || (s[0] >= '0' && s[0] <= '9')) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
        {
            return -1;
        }
    }

    return 0;
}


/*
 * Accepts "a.example.com" and "*.example.com" (the star stands for one
 * label); writes the lowercased host, or the wildcard's part after
 * "*.", to out (GW_ROUTER_HOST_MAX + 1 bytes).
 */

int
gw_rt_parse_host(const char *s, char *out, size_t *olen, int *cls,
    char *msg, size_t len)
{
    size_t       n, i, l;
    const char  *h, *dot;

    *cls = GW_RT_H_EXACT;
    h = s;

    if (s[0] == '*') {
        if (s[1] != '.') {
            snprintf(msg, len, "a wildcard is \"*.\" and a domain");
            return -1;
        }

        *cls = GW_RT_H_WILD;
        h = s + 2;
    }

    n = strlen(h);

    if (n == 0 || n > GW_ROUTER_HOST_MAX) {
        snprintf(msg, len, "empty or longer than %d bytes",
                 GW_ROUTER_HOST_MAX);
        return -1;
    }

    for (i = 0; i < n; i = (size_t) (dot - h) + 1) {
        dot = memchr(h + i, '.', n - i);
        if (dot == NULL) {
            dot = h + n;
        }

        l = (size_t) (dot - h) - i;

        if (gw_rt_parse_label(h + i, l) != 0) {
            snprintf(msg, len, "label \"%.*s\" is not a DNS label "
                     "([a-z0-9-], 1 to 63 bytes, no \"-\" at its ends)",
                     (int) l, h + i);
            return -1;
        }

        if (dot == h + n) {
            break;
        }

        if (dot == h + n - 1) {
            snprintf(msg, len, "ends with \".\"");
            return -1;
        }
    }

    for (i = 0; i < n; i++) {
        out[i] = (h[i] >= 'A' && h[i] <= 'Z') ? h[i] | 0x20 : h[i];
    }

    out[n] = '\0';
    *olen = n;

    return 0;
}


static int
gw_rt_parse_label(const char *s, size_t n)
{
    size_t  i;

    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
        {
            return -1;
        }
    }

    return 0;
}


const char *
gw_router_method(size_t i)
{
    return (i < GW_RT_NMETHODS) ? gw_rt_methods[i] : NULL;
}


/* the method's bit, or -1 */

int
gw_rt_parse_method(const char *s)
{
    size_t  i;

    for (i = 0; i < GW_RT_NMETHODS; i++) {
        if (strcmp(s, gw_rt_methods[i]) == 0) {
            return 1 << i;
        }
    }

    return -1;
}


/* a request's method: its bit, GW_RT_M_OTHER for another one */

int
gw_rt_method_req(const char *m, size_t len)
{
    size_t  i;

    for (i = 0; i < GW_RT_NMETHODS; i++) {
        if (strlen(gw_rt_methods[i]) == len
            && memcmp(m, gw_rt_methods[i], len) == 0)
        {
            return 1 << i;
        }
    }

    return GW_RT_M_OTHER;
}


/*
 * A condition's name: a header's is an RFC 9110 token; a query
 * argument's any printable bytes but '&', '=', '#', '+' and '%' (they
 * are compared raw, undecoded).
 */

int
gw_rt_parse_name(const char *s, int header, char *msg, size_t len)
{
    size_t          n, i;
    unsigned char   c;

    n = strlen(s);

    if (n == 0 || n > GW_ROUTER_NAME_MAX) {
        snprintf(msg, len, "name empty or longer than %d bytes",
                 GW_ROUTER_NAME_MAX);
        return -1;
    }

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c <= 0x20 || c >= 0x7f) {
            goto bad;
        }

        if (header && strchr("\"(),/:;<=>?@[\\]{}", c) != NULL) {
            goto bad;
        }

        if (!header && strchr("&=#+%", c) != NULL) {
            goto bad;
        }
    }

    return 0;

bad:

    snprintf(msg, len, "name \"%s\" has a byte not allowed (0x%02x)", s,
             (unsigned char) s[i]);
    return -1;
}
