
/*
 * Copyright (C) Tollgate
 *
 * Matching (docs/routing.md, "Priority").  A request has at most three
 * host groups: its exact host's, the wildcard's that covers its first
 * label, and the any-host group.  In each: one hash probe for the exact
 * path, then a walk of the segment trie, literal edge (a hash probe) and
 * variable edge, pruned where a subtree's best rank cannot beat the best
 * candidate so far.  Each list met is scanned best first and stops at
 * its first entry whose method and conditions hold.  Regex entries come
 * last, in their global order, and only while one could still win.
 *
 * The request's path is split once into at most GW_ROUTER_SEGMENTS_MAX
 * + 1 segments on the stack: no pattern is deeper.  Nothing is
 * allocated, nothing but *m written.
 */


#include <string.h>
#include <strings.h>

#include "gw_router_int.h"
#include "gw_router_parse.h"


#define GW_RT_SEGS  (GW_ROUTER_SEGMENTS_MAX + 1)


typedef struct {
    const gw_router_t      *rt;
    const gw_router_req_t  *req;
    const gw_rt_entry_t    *best;
    uint32_t                method;
    size_t                  nseg;
    uint32_t                off[GW_RT_SEGS];
    uint32_t                len[GW_RT_SEGS];
} gw_rt_m_t;


static void gw_rt_group(gw_rt_m_t *c, uint32_t root);
static void gw_rt_walk(gw_rt_m_t *c, uint32_t node, size_t depth);
static void gw_rt_scan(gw_rt_m_t *c, uint32_t list);
static int gw_rt_better(const gw_rt_entry_t *e, const gw_rt_entry_t *best);
static int gw_rt_conds(gw_rt_m_t *c, const gw_rt_route_t *r);
static int gw_rt_arg(const gw_router_req_t *req, const char *name,
    size_t nlen, const char **v, size_t *vlen);
static uint32_t gw_rt_find(const gw_router_t *rt, uint32_t kind,
    uint32_t parent, const char *key, size_t len);


uint32_t
gw_rt_hash(uint32_t kind, uint32_t parent, const char *p, size_t len)
{
    size_t    i;
    uint32_t  h;

    /* FNV-1a, then a finalizer: the table takes the low bits */

    h = 2166136261u;
    h = (h ^ kind) * 16777619u;
    h = (h ^ parent) * 16777619u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) p[i]) * 16777619u;
    }

    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;

    return h;
}


int
gw_router_match(const gw_router_t *rt, const gw_router_re_t *re,
    const gw_router_req_t *req, gw_router_match_t *m)
{
    int                   rc;
    char                  host[GW_ROUTER_HOST_MAX + 1];
    size_t                i, hlen, start;
    uint32_t              root, v;
    gw_rt_m_t             c;
    const char           *dot, *sfx;
    const gw_rt_pat_t    *pat;
    const gw_rt_var_t    *var;
    const gw_rt_entry_t  *e, *ents;
    const gw_rt_route_t  *r;
    const uint32_t       *order;

    if (req->path_len == 0 || req->path[0] != '/'
        || req->path_len > 0xffffffffu)
    {
        return GW_ROUTER_NONE;
    }

    c.rt = rt;
    c.req = req;
    c.best = NULL;
    c.method = (uint32_t) gw_rt_method_req(req->method, req->method_len);

    /* segments: "/" is one empty segment, "/a/" is "a" and "" */

    c.nseg = 0;
    start = 1;

    for (i = 1; i <= req->path_len && c.nseg < GW_RT_SEGS; i++) {
        if (i == req->path_len || req->path[i] == '/') {
            c.off[c.nseg] = (uint32_t) start;
            c.len[c.nseg] = (uint32_t) (i - start);
            c.nseg++;
            start = i + 1;
        }
    }

    /* the host: lowercased, without a trailing dot */

    hlen = req->host_len;

    if (hlen > 0 && req->host[hlen - 1] == '.') {
        hlen--;
    }

    if (hlen > GW_ROUTER_HOST_MAX) {
        hlen = 0;
    }

    for (i = 0; i < hlen; i++) {
        host[i] = (req->host[i] >= 'A' && req->host[i] <= 'Z')
                  ? req->host[i] | 0x20 : req->host[i];
    }

    sfx = NULL;

    if (hlen > 0) {
        root = gw_rt_find(rt, GW_RT_S_HOST, 0, host, hlen);
        if (root != GW_RT_NONE) {
            gw_rt_group(&c, root);
        }

        dot = memchr(host, '.', hlen);

        if (dot != NULL && dot != host && dot + 1 < host + hlen) {
            sfx = dot + 1;
            root = gw_rt_find(rt, GW_RT_S_WILD, 0, sfx,
                              hlen - (size_t) (sfx - host));
            if (root != GW_RT_NONE) {
                gw_rt_group(&c, root);
            }
        }
    }

    if (rt->any != GW_RT_NONE) {
        gw_rt_group(&c, rt->any);
    }

    /* regex entries, best first, while one could still win */

    ents = (const gw_rt_entry_t *) gw_rt_at(rt, rt->entries);
    order = (const uint32_t *) gw_rt_at(rt, rt->regex);

    for (i = 0; i < rt->nregex; i++) {
        e = &ents[order[i]];

        if (!gw_rt_better(e, c.best)) {
            break;
        }

        if (!(e->methods & c.method)) {
            continue;
        }

        if (e->host_class == GW_RT_H_EXACT
            && (e->host_len != hlen
                || memcmp(gw_rt_str(rt, e->host), host, hlen) != 0))
        {
            continue;
        }

        if (e->host_class == GW_RT_H_WILD
            && (sfx == NULL
                || e->host_len != hlen - (size_t) (sfx - host)
                || memcmp(gw_rt_str(rt, e->host), sfx, e->host_len) != 0))
        {
            continue;
        }

        r = (const gw_rt_route_t *) gw_rt_at(rt, rt->routes) + e->route;

        if (!gw_rt_conds(&c, r)) {
            continue;
        }

        if (re == NULL) {
            return GW_ROUTER_ERROR;
        }

        pat = (const gw_rt_pat_t *) gw_rt_at(rt, rt->pats) + e->pat;

        rc = gw_rt_regex_exec(re, rt, pat->regex, req->path, req->path_len);

        if (rc < 0) {
            return GW_ROUTER_ERROR;
        }

        if (rc == 1) {
            c.best = e;
            break;
        }
    }

    if (c.best == NULL) {
        return GW_ROUTER_NONE;
    }

    e = c.best;
    r = (const gw_rt_route_t *) gw_rt_at(rt, rt->routes) + e->route;
    pat = (const gw_rt_pat_t *) gw_rt_at(rt, rt->pats) + e->pat;
    var = (const gw_rt_var_t *) gw_rt_at(rt, rt->vars) + pat->var;

    m->route = r->index;
    m->path = e->path;
    m->id = gw_rt_str(rt, r->id);
    m->id_len = r->id_len;
    m->nvars = pat->nvars;

    for (v = 0; v < pat->nvars; v++) {
        m->vars[v].name = gw_rt_str(rt, var[v].name);
        m->vars[v].name_len = var[v].name_len;
        m->vars[v].off = c.off[var[v].segment];
        m->vars[v].len = c.len[var[v].segment];
    }

    return GW_ROUTER_OK;
}


static void
gw_rt_group(gw_rt_m_t *c, uint32_t root)
{
    uint32_t  list;

    list = gw_rt_find(c->rt, GW_RT_S_PATH, root, c->req->path,
                      c->req->path_len);
    if (list != GW_RT_NONE) {
        gw_rt_scan(c, list);
    }

    gw_rt_walk(c, root, 0);
}


/*
 * Depth first, literal edge before variable edge; a node's templates
 * are candidates when the path ends there, its prefixes always.
 * Depth is at most GW_ROUTER_SEGMENTS_MAX + 1 frames.
 */

static void
gw_rt_walk(gw_rt_m_t *c, uint32_t node, size_t depth)
{
    uint32_t             child;
    const gw_rt_node_t  *n;

    n = (const gw_rt_node_t *) gw_rt_at(c->rt, c->rt->nodes) + node;

    if (c->best != NULL && n->max_rank < c->best->rank) {
        return;
    }

    if (depth < c->nseg) {
        child = gw_rt_find(c->rt, GW_RT_S_EDGE, node,
                           c->req->path + c->off[depth], c->len[depth]);
        if (child != GW_RT_NONE) {
            gw_rt_walk(c, child, depth + 1);
        }

        if (n->var != GW_RT_NONE && c->len[depth] > 0) {
            gw_rt_walk(c, n->var, depth + 1);
        }

    } else if (n->tmpl != GW_RT_NONE) {
        gw_rt_scan(c, n->tmpl);
    }

    if (n->prefix != GW_RT_NONE) {
        gw_rt_scan(c, n->prefix);
    }
}


/* the list's first entry whose method and conditions hold, if better */

static void
gw_rt_scan(gw_rt_m_t *c, uint32_t list)
{
    uint32_t              i;
    const gw_rt_list_t   *l;
    const gw_rt_entry_t  *e;
    const gw_rt_route_t  *routes;

    l = (const gw_rt_list_t *) gw_rt_at(c->rt, c->rt->lists) + list;
    e = (const gw_rt_entry_t *) gw_rt_at(c->rt, c->rt->entries) + l->first;
    routes = (const gw_rt_route_t *) gw_rt_at(c->rt, c->rt->routes);

    for (i = 0; i < l->n; i++, e++) {
        if (!gw_rt_better(e, c->best)) {
            return;
        }

        if ((e->methods & c->method) && gw_rt_conds(c, &routes[e->route])) {
            c->best = e;
            return;
        }
    }
}


static int
gw_rt_better(const gw_rt_entry_t *e, const gw_rt_entry_t *best)
{
    if (best == NULL || e->rank > best->rank) {
        return 1;
    }

    if (e->rank < best->rank) {
        return 0;
    }

    if (e->route != best->route) {
        return e->route < best->route;
    }

    return e->path < best->path;
}


static int
gw_rt_conds(gw_rt_m_t *c, const gw_rt_route_t *r)
{
    int                  found;
    size_t               vlen;
    uint32_t             i;
    const char          *v;
    const gw_rt_cond_t  *cd;

    cd = (const gw_rt_cond_t *) gw_rt_at(c->rt, c->rt->conds) + r->cond;

    for (i = 0; i < r->ncond; i++, cd++) {
        v = NULL;
        vlen = 0;

        if (cd->kind == GW_RT_C_HEADER) {
            found = (c->req->header != NULL)
                    && c->req->header(c->req->ctx, gw_rt_str(c->rt, cd->name),
                                      cd->name_len, &v, &vlen);

        } else {
            found = gw_rt_arg(c->req, gw_rt_str(c->rt, cd->name),
                              cd->name_len, &v, &vlen);
        }

        if (!found) {
            return 0;
        }

        if (cd->value != GW_RT_NONE
            && (vlen != cd->value_len
                || memcmp(v, gw_rt_str(c->rt, cd->value), vlen) != 0))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * The first "name=value" (or bare "name", an empty value) of the raw
 * query with this name, compared undecoded, as nginx's $arg_name.
 */

static int
gw_rt_arg(const gw_router_req_t *req, const char *name, size_t nlen,
    const char **v, size_t *vlen)
{
    const char  *p, *end, *amp, *eq;

    if (req->args == NULL) {
        return 0;
    }

    p = req->args;
    end = req->args + req->args_len;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', (size_t) (amp - p));
        if (eq == NULL) {
            eq = amp;
        }

        if ((size_t) (eq - p) == nlen && memcmp(p, name, nlen) == 0) {
            *v = (eq < amp) ? eq + 1 : eq;
            *vlen = (eq < amp) ? (size_t) (amp - eq - 1) : 0;
            return 1;
        }

        p = amp + 1;
    }

    return 0;
}


static uint32_t
gw_rt_find(const gw_router_t *rt, uint32_t kind, uint32_t parent,
    const char *key, size_t len)
{
    uint32_t             h, i, mask;
    const gw_rt_slot_t  *s, *slots;

    h = gw_rt_hash(kind, parent, key, len);
    mask = rt->nslots - 1;
    slots = (const gw_rt_slot_t *) gw_rt_at(rt, rt->slots);

    for (i = h & mask; slots[i].kind != 0; i = (i + 1) & mask) {
        s = &slots[i];

        if (s->hash == h && s->kind == kind && s->parent == parent
            && s->len == len && memcmp(gw_rt_str(rt, s->key), key, len) == 0)
        {
            return s->value;
        }
    }

    return GW_RT_NONE;
}
