
/*
 * Copyright (C) Tollgate
 *
 * The builder, first half: each definition is checked member by member
 * (gw_router_parse.c) and turned into records: its route, conditions,
 * path patterns with their variables, and one entry per (host, path).
 * Each host spelling (an exact host, a wildcard's suffix, or "any") has
 * a group: the root of its own segment trie, and the parent of its
 * exact paths in the hash.  An entry goes to the list of its group and
 * pattern, created on first use.  gw_router_layout.c does the rest.
 *
 * The arrays grow by doubling; a gw_router_work_t keeps them, grown,
 * from one build to the next (gw_router_build_in()).  Whatever the
 * block copies from an array is either written member by member, or
 * zeroed when the array is taken (routes, lists, slots), so a reused
 * array leaves nothing of the previous build in the block.
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_router_build.h"
#include "gw_router_parse.h"


#define GW_RT_ERRLEN  384


static int gw_rt_b_route(gw_rt_b_t *b, size_t i);
static int gw_rt_b_conds(gw_rt_b_t *b, size_t i, const gw_router_cond_t *c,
    size_t n, int kind);
static int gw_rt_b_path(gw_rt_b_t *b, size_t i, size_t k, gw_rt_path_t *p);
static int gw_rt_b_entry(gw_rt_b_t *b, size_t i, size_t k, uint32_t root,
    int hcls, const char *host, size_t hlen, gw_rt_path_t *p);
static uint32_t gw_rt_b_group(gw_rt_b_t *b, int cls, const char *h,
    size_t len);
static uint32_t gw_rt_b_node(gw_rt_b_t *b, uint32_t parent);
static uint32_t gw_rt_b_list(gw_rt_b_t *b);
static int64_t gw_rt_b_str(gw_rt_b_t *b, const char *s, size_t len);
static int64_t gw_rt_b_slot(gw_rt_b_t *b, uint32_t kind, uint32_t parent,
    const char *key, size_t len, int create);
static void gw_rt_b_free(gw_rt_b_t *b, gw_router_work_t *work);
static void gw_rt_b_fail(gw_rt_b_t *b, size_t i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


gw_router_t *
gw_router_build(const gw_router_def_t *defs, size_t n,
    const gw_router_conf_t *conf, gw_router_err_t *err)
{
    return gw_router_build_in(defs, n, conf, NULL, err);
}


gw_router_work_t *
gw_router_work_create(void)
{
    return calloc(1, sizeof(gw_router_work_t));
}


void
gw_router_work_free(gw_router_work_t *work)
{
    if (work != NULL) {
        gw_rt_b_free(&work->b, NULL);
        free(work);
    }
}


gw_router_t *
gw_router_build_in(const gw_router_def_t *defs, size_t n,
    const gw_router_conf_t *conf, gw_router_work_t *work,
    gw_router_err_t *err)
{
    size_t        i;
    gw_rt_b_t     b;
    gw_router_t  *rt;

    if (work != NULL) {
        b = work->b;
        b.nroutes = b.nconds = b.npats = b.nvars = b.nentries = 0;
        b.nlists = b.nnodes = b.nregex = b.nre = b.slen = b.used = 0;

    } else {
        memset(&b, 0, sizeof(gw_rt_b_t));
    }

    b.defs = defs;
    b.err = err;
    b.any = GW_RT_NONE;
    err->route = -1;
    err->msg[0] = '\0';
    rt = NULL;

    if (n > GW_ROUTER_ROUTES_MAX) {
        snprintf(err->msg, sizeof(err->msg), "more than %d routes",
                 GW_ROUTER_ROUTES_MAX);
        gw_rt_b_free(&b, work);
        return NULL;
    }

    b.nslots = 1024;

    if (gw_rt_b_zgrow(&b.routes, &b.croutes, n + 1, sizeof(gw_rt_route_t))
        != 0
        || gw_rt_b_zgrow(&b.slots, &b.cslots, b.nslots, sizeof(gw_rt_slot_t))
           != 0)
    {
        goto nomem;
    }

    for (i = 0; i < n; i++) {
        if (gw_rt_b_route(&b, i) != 0) {
            goto failed;
        }
    }

    b.nroutes = n;

    if (gw_rt_b_layout(&b) != 0) {
        goto failed;
    }

    rt = gw_rt_b_block(&b, conf);
    if (rt == NULL) {
        goto failed;
    }

    gw_rt_b_free(&b, work);
    return rt;

nomem:
failed:

    if (err->msg[0] == '\0') {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
    }

    gw_rt_b_free(&b, work);
    return NULL;
}


static int
gw_rt_b_route(gw_rt_b_t *b, size_t i)
{
    int                     bit, cls[GW_ROUTER_HOSTS_MAX];
    char                    host[GW_ROUTER_HOSTS_MAX][GW_ROUTER_HOST_MAX + 1];
    char                    msg[GW_RT_ERRLEN];
    size_t                  k, j, hlen[GW_ROUTER_HOSTS_MAX], len;
    int64_t                 off;
    uint32_t                root;
    gw_rt_path_t            p;
    gw_rt_route_t          *r;
    const gw_router_def_t  *d;

    d = &b->defs[i];
    r = &b->routes[i];

    len = (d->id != NULL) ? strlen(d->id) : 0;

    if (len == 0 || len > GW_ROUTER_NAME_MAX) {
        gw_rt_b_fail(b, i, "id: empty or longer than %d bytes",
                     GW_ROUTER_NAME_MAX);
        return -1;
    }

    if (d->priority > GW_ROUTER_PRIORITY_MAX) {
        gw_rt_b_fail(b, i, "priority: %u is above %d", d->priority,
                     GW_ROUTER_PRIORITY_MAX);
        return -1;
    }

    if (d->npaths == 0 || d->npaths > GW_ROUTER_PATHS_MAX
        || d->nhosts > GW_ROUTER_HOSTS_MAX || d->nmethods > 9)
    {
        gw_rt_b_fail(b, i, "paths: 1 to %d, hosts: at most %d, methods: at "
                     "most 9 (has %zu, %zu, %zu)", GW_ROUTER_PATHS_MAX,
                     GW_ROUTER_HOSTS_MAX, d->npaths, d->nhosts, d->nmethods);
        return -1;
    }

    off = gw_rt_b_str(b, d->id, len);
    if (off < 0) {
        return -1;
    }

    r->id = (uint32_t) off;
    r->id_len = (uint32_t) len;
    r->index = (uint32_t) i;
    r->priority = d->priority;
    r->methods = 0;

    for (k = 0; k < d->nmethods; k++) {
        bit = (d->methods[k] != NULL) ? gw_rt_parse_method(d->methods[k])
                                      : -1;
        if (bit < 0 || (r->methods & (uint32_t) bit)) {
            gw_rt_b_fail(b, i, "methods[%zu] \"%s\": %s", k,
                         d->methods[k] ? d->methods[k] : "(null)",
                         bit < 0 ? "not one of GET HEAD POST PUT PATCH "
                                   "DELETE OPTIONS CONNECT TRACE"
                                 : "duplicate");
            return -1;
        }

        r->methods |= (uint32_t) bit;
    }

    if (r->methods == 0) {
        r->methods = GW_RT_M_ANY;
    }

    r->cond = (uint32_t) b->nconds;

    if (gw_rt_b_conds(b, i, d->headers, d->nheaders, GW_RT_C_HEADER) != 0
        || gw_rt_b_conds(b, i, d->args, d->nargs, GW_RT_C_ARG) != 0)
    {
        return -1;
    }

    r->ncond = (uint32_t) b->nconds - r->cond;

    for (k = 0; k < d->nhosts; k++) {
        if (d->hosts[k] == NULL
            || gw_rt_parse_host(d->hosts[k], host[k], &hlen[k], &cls[k],
                                msg, sizeof(msg)) != 0)
        {
            gw_rt_b_fail(b, i, "hosts[%zu] \"%s\": %s", k,
                         d->hosts[k] ? d->hosts[k] : "(null)",
                         d->hosts[k] ? msg : "null");
            return -1;
        }

        for (j = 0; j < k; j++) {
            if (cls[j] == cls[k] && strcmp(host[j], host[k]) == 0) {
                gw_rt_b_fail(b, i, "hosts[%zu] \"%s\": duplicate of "
                             "hosts[%zu]", k, d->hosts[k], j);
                return -1;
            }
        }
    }

    for (k = 0; k < d->npaths; k++) {
        if (d->paths[k] == NULL
            || gw_rt_parse_path(d->paths[k], &p, msg, sizeof(msg)) != 0
            || (p.kind == GW_RT_P_REGEX
                && gw_rt_regex_check(p.src, p.src_len, msg, sizeof(msg))
                   != 0))
        {
            gw_rt_b_fail(b, i, "paths[%zu] \"%s\": %s", k,
                         d->paths[k] ? d->paths[k] : "(null)",
                         d->paths[k] ? msg : "null");
            return -1;
        }

        if (gw_rt_b_path(b, i, k, &p) != 0) {
            return -1;
        }

        if (d->nhosts == 0) {
            if (b->any == GW_RT_NONE) {
                b->any = gw_rt_b_node(b, GW_RT_NONE);
                if (b->any == GW_RT_NONE) {
                    return -1;
                }
            }

            if (gw_rt_b_entry(b, i, k, b->any, GW_RT_H_ANY, "", 0, &p) != 0)
            {
                return -1;
            }

            continue;
        }

        for (j = 0; j < d->nhosts; j++) {
            root = gw_rt_b_group(b, cls[j], host[j], hlen[j]);

            if (root == GW_RT_NONE
                || gw_rt_b_entry(b, i, k, root, cls[j], host[j], hlen[j], &p)
                   != 0)
            {
                return -1;
            }
        }
    }

    return 0;
}


static int
gw_rt_b_conds(gw_rt_b_t *b, size_t i, const gw_router_cond_t *c, size_t n,
    int kind)
{
    char           msg[GW_RT_ERRLEN];
    size_t         k, j, vl;
    int64_t        off;
    const char    *what;
    gw_rt_cond_t  *rc;

    what = (kind == GW_RT_C_HEADER) ? "headers" : "args";

    if (n > GW_ROUTER_CONDS_MAX) {
        gw_rt_b_fail(b, i, "%s: more than %d", what, GW_ROUTER_CONDS_MAX);
        return -1;
    }

    for (k = 0; k < n; k++) {
        if (c[k].name == NULL
            || gw_rt_parse_name(c[k].name, kind == GW_RT_C_HEADER, msg,
                                sizeof(msg)) != 0)
        {
            gw_rt_b_fail(b, i, "%s[%zu]: %s", what, k,
                         c[k].name ? msg : "null name");
            return -1;
        }

        vl = (c[k].value != NULL) ? strlen(c[k].value) : 0;

        if (vl > GW_ROUTER_VALUE_MAX
            || (c[k].value != NULL && strpbrk(c[k].value, "\r\n") != NULL)
            || (kind == GW_RT_C_ARG && c[k].value != NULL
                && strpbrk(c[k].value, "&#") != NULL))
        {
            gw_rt_b_fail(b, i, "%s[%zu] \"%s\": value longer than %d bytes, "
                         "or holding CR, LF%s", what, k, c[k].name,
                         GW_ROUTER_VALUE_MAX,
                         kind == GW_RT_C_ARG ? ", \"&\" or \"#\"" : "");
            return -1;
        }

        for (j = 0; j < k; j++) {
            if (kind == GW_RT_C_HEADER ? strcasecmp(c[j].name, c[k].name) == 0
                                       : strcmp(c[j].name, c[k].name) == 0)
            {
                gw_rt_b_fail(b, i, "%s[%zu] \"%s\": duplicate name", what, k,
                             c[k].name);
                return -1;
            }
        }

        if (gw_rt_b_grow(&b->conds, &b->cconds, b->nconds + 1,
                         sizeof(gw_rt_cond_t)) != 0)
        {
            return -1;
        }

        rc = &b->conds[b->nconds];
        rc->kind = (uint32_t) kind;

        off = gw_rt_b_str(b, c[k].name, strlen(c[k].name));
        if (off < 0) {
            return -1;
        }

        rc->name = (uint32_t) off;
        rc->name_len = (uint32_t) strlen(c[k].name);
        rc->value = GW_RT_NONE;
        rc->value_len = 0;

        if (c[k].value != NULL) {
            off = gw_rt_b_str(b, c[k].value, vl);
            if (off < 0) {
                return -1;
            }

            rc->value = (uint32_t) off;
            rc->value_len = (uint32_t) vl;
        }

        b->nconds++;
    }

    return 0;
}


/* the pattern record of paths[k] and its variables */

static int
gw_rt_b_path(gw_rt_b_t *b, size_t i, size_t k, gw_rt_path_t *p)
{
    size_t        v;
    int64_t       off;
    gw_rt_pat_t  *pt;
    gw_rt_seg_t  *s;

    if (gw_rt_b_grow(&b->pats, &b->cpats, b->npats + 1, sizeof(gw_rt_pat_t))
        != 0
        || gw_rt_b_grow(&b->vars, &b->cvars, b->nvars + p->nvars,
                        sizeof(gw_rt_var_t)) != 0)
    {
        return -1;
    }

    off = gw_rt_b_str(b, p->src, p->src_len);
    if (off < 0) {
        return -1;
    }

    pt = &b->pats[b->npats++];
    pt->kind = (uint32_t) p->kind;
    pt->src = (uint32_t) off;
    pt->src_len = (uint32_t) p->src_len;
    pt->var = (uint32_t) b->nvars;
    pt->nvars = (uint32_t) p->nvars;
    pt->regex = GW_RT_NONE;

    if (p->kind == GW_RT_P_REGEX) {
        if (b->nre == GW_ROUTER_REGEX_MAX) {
            gw_rt_b_fail(b, i, "paths[%zu]: more than %d regex paths in all",
                         k, GW_ROUTER_REGEX_MAX);
            return -1;
        }

        pt->regex = (uint32_t) b->nre++;
    }

    for (v = 0; v < p->nvars; v++) {
        s = &p->seg[p->var[v]];

        off = gw_rt_b_str(b, s->p + 1, s->len - 2);
        if (off < 0) {
            return -1;
        }

        b->vars[b->nvars].name = (uint32_t) off;
        b->vars[b->nvars].name_len = (uint32_t) s->len - 2;
        b->vars[b->nvars].segment = (uint32_t) p->var[v];
        b->nvars++;
    }

    return 0;
}


/*
 * One entry: paths[k] of route i under a host group.  Finds or makes
 * the list of (group, pattern): an exact path's hash slot, the trie node
 * where a template or prefix ends, a regex's slot.
 */

static int
gw_rt_b_entry(gw_rt_b_t *b, size_t i, size_t k, uint32_t root, int hcls,
    const char *host, size_t hlen, gw_rt_path_t *p)
{
    size_t          s;
    int64_t         slot, off;
    uint32_t        node, list, *lp, pat;
    gw_rt_entry_t  *e;

    pat = (uint32_t) b->npats - 1;
    node = root;
    slot = -1;
    lp = NULL;

    if (p->kind == GW_RT_P_EXACT || p->kind == GW_RT_P_REGEX) {
        slot = gw_rt_b_slot(b, p->kind == GW_RT_P_EXACT ? GW_RT_S_PATH
                                                        : GW_RT_S_REGEX,
                            root, p->src, p->src_len, 1);
        if (slot < 0) {
            return -1;
        }

        lp = &b->slots[slot].value;

    } else {
        for (s = 0; s < p->nseg; s++) {
            if (p->seg[s].var) {
                if (b->nodes[node].var == GW_RT_NONE) {
                    list = gw_rt_b_node(b, node);
                    if (list == GW_RT_NONE) {
                        return -1;
                    }

                    b->nodes[node].var = list;
                }

                node = b->nodes[node].var;
                continue;
            }

            slot = gw_rt_b_slot(b, GW_RT_S_EDGE, node, p->seg[s].p,
                                p->seg[s].len, 1);
            if (slot < 0) {
                return -1;
            }

            if (b->slots[slot].value == GW_RT_NONE) {
                list = gw_rt_b_node(b, node);
                if (list == GW_RT_NONE) {
                    return -1;
                }

                b->slots[slot].value = list;
            }

            node = b->slots[slot].value;
        }

        lp = (p->kind == GW_RT_P_TMPL) ? &b->nodes[node].tmpl
                                       : &b->nodes[node].prefix;
    }

    if (*lp == GW_RT_NONE) {
        list = gw_rt_b_list(b);
        if (list == GW_RT_NONE) {
            return -1;
        }

        /* the slots and nodes may have moved: find the member again */
        lp = (p->kind == GW_RT_P_TMPL) ? &b->nodes[node].tmpl
             : (p->kind == GW_RT_P_PREFIX) ? &b->nodes[node].prefix
             : &b->slots[slot].value;
        *lp = list;
    }

    if (gw_rt_b_grow(&b->entries, &b->centries, b->nentries + 1,
                     sizeof(gw_rt_entry_t)) != 0)
    {
        return -1;
    }

    off = gw_rt_b_str(b, host, hlen);
    if (off < 0) {
        return -1;
    }

    e = &b->entries[b->nentries++];
    e->rank = gw_rt_rank(b->routes[i].priority, hcls, p->kind, p->spec,
                         b->routes[i].ncond);
    e->route = (uint32_t) i;
    e->pat = pat;
    e->path = (uint32_t) k;
    e->methods = b->routes[i].methods;
    e->host = (uint32_t) off;
    e->host_len = (uint32_t) hlen;
    e->list = *lp;
    e->host_class = (uint32_t) hcls;

    return 0;
}


/* the root node of an exact host's or a wildcard suffix's group */

static uint32_t
gw_rt_b_group(gw_rt_b_t *b, int cls, const char *h, size_t len)
{
    int64_t   slot;
    uint32_t  root;

    slot = gw_rt_b_slot(b, cls == GW_RT_H_EXACT ? GW_RT_S_HOST : GW_RT_S_WILD,
                        0, h, len, 1);
    if (slot < 0) {
        return GW_RT_NONE;
    }

    if (b->slots[slot].value != GW_RT_NONE) {
        return b->slots[slot].value;
    }

    root = gw_rt_b_node(b, GW_RT_NONE);
    if (root == GW_RT_NONE) {
        return GW_RT_NONE;
    }

    b->slots[slot].value = root;

    return root;
}


static uint32_t
gw_rt_b_node(gw_rt_b_t *b, uint32_t parent)
{
    gw_rt_node_t  *n;

    if (gw_rt_b_grow(&b->nodes, &b->cnodes, b->nnodes + 1,
                     sizeof(gw_rt_node_t)) != 0)
    {
        return GW_RT_NONE;
    }

    n = &b->nodes[b->nnodes];
    n->max_rank = 0;
    n->parent = parent;
    n->var = GW_RT_NONE;
    n->tmpl = GW_RT_NONE;
    n->prefix = GW_RT_NONE;

    return (uint32_t) b->nnodes++;
}


static uint32_t
gw_rt_b_list(gw_rt_b_t *b)
{
    return (uint32_t) b->nlists++;
}


/* copies s[0..len) and a NUL into the strings; returns its offset */

static int64_t
gw_rt_b_str(gw_rt_b_t *b, const char *s, size_t len)
{
    size_t  off;

    if (gw_rt_b_grow(&b->str, &b->cslen, b->slen + len + 1, 1) != 0) {
        return -1;
    }

    off = b->slen;
    memcpy(b->str + off, s, len);
    b->str[off + len] = '\0';
    b->slen += len + 1;

    if (b->slen > 0x7fffffff) {
        snprintf(b->err->msg, sizeof(b->err->msg), "block over 2 GB");
        return -1;
    }

    return (int64_t) off;
}


/*
 * Finds the slot of (kind, parent, key), or with create makes it (its
 * value GW_RT_NONE), doubling the table past half full.  Returns the
 * slot's index, or -1 (not found, or out of memory with err set).
 */

static int64_t
gw_rt_b_slot(gw_rt_b_t *b, uint32_t kind, uint32_t parent, const char *key,
    size_t len, int create)
{
    size_t         i, mask, n, c;
    int64_t        off;
    uint32_t       h;
    gw_rt_slot_t  *s, *old;

    h = gw_rt_hash(kind, parent, key, len);
    mask = b->nslots - 1;

    for (i = h & mask; b->slots[i].kind != 0; i = (i + 1) & mask) {
        s = &b->slots[i];

        if (s->hash == h && s->kind == kind && s->parent == parent
            && s->len == len && memcmp(b->str + s->key, key, len) == 0)
        {
            return (int64_t) i;
        }
    }

    if (!create) {
        return -1;
    }

    if ((b->used + 1) * 2 > b->nslots) {
        n = b->nslots;

        if (gw_rt_b_zgrow(&b->spare, &b->cspare, n * 2, sizeof(gw_rt_slot_t))
            != 0)
        {
            snprintf(b->err->msg, sizeof(b->err->msg), "out of memory");
            return -1;
        }

        /* the spare table becomes the table, the old one the spare */

        old = b->slots;
        b->slots = b->spare;
        b->spare = old;
        c = b->cslots;
        b->cslots = b->cspare;
        b->cspare = c;

        b->nslots = n * 2;
        mask = b->nslots - 1;

        for (i = 0; i < n; i++) {
            if (old[i].kind != 0) {
                for (s = &b->slots[old[i].hash & mask]; s->kind != 0;
                     s = &b->slots[(s - b->slots + 1) & mask])
                {
                    /* probe */
                }

                *s = old[i];
            }
        }

        for (i = h & mask; b->slots[i].kind != 0; i = (i + 1) & mask) {
            /* probe */
        }
    }

    off = gw_rt_b_str(b, key, len);
    if (off < 0) {
        return -1;
    }

    s = &b->slots[i];
    s->kind = kind;
    s->parent = parent;
    s->hash = h;
    s->key = (uint32_t) off;
    s->len = (uint32_t) len;
    s->value = GW_RT_NONE;
    b->used++;

    return (int64_t) i;
}


/* grows *a (of *cap elements of size bytes) to hold n; 0 or -1 */

int
gw_rt_b_grow(void *a, size_t *cap, size_t n, size_t size)
{
    void   **p, *q;
    size_t   c;

    if (n <= *cap) {
        return 0;
    }

    p = a;
    c = (*cap != 0) ? *cap : 64;

    while (c < n) {
        c *= 2;
    }

    q = realloc(*p, c * size);
    if (q == NULL) {
        return -1;
    }

    *p = q;
    *cap = c;

    return 0;
}


/*
 * Makes *a hold at least n elements of size bytes (contents not kept),
 * the first n of them zeroed; 0, or -1 (then *a is NULL and *cap 0).
 */

int
gw_rt_b_zgrow(void *a, size_t *cap, size_t n, size_t size)
{
    void   **p;
    size_t   c;

    p = a;

    if (n > *cap) {
        c = (*cap != 0) ? *cap : 64;

        while (c < n) {
            c *= 2;
        }

        free(*p);
        *p = malloc(c * size);

        if (*p == NULL) {
            *cap = 0;
            return -1;
        }

        *cap = c;
    }

    memset(*p, 0, n * size);

    return 0;
}


static void
gw_rt_b_fail(gw_rt_b_t *b, size_t i, const char *fmt, ...)
{
    int      n;
    va_list  args;

    b->err->route = (long) i;

    n = snprintf(b->err->msg, sizeof(b->err->msg), "route \"%.64s\" (#%zu): ",
                 b->defs[i].id != NULL ? b->defs[i].id : "", i);

    va_start(args, fmt);
    vsnprintf(b->err->msg + n, sizeof(b->err->msg) - n, fmt, args);
    va_end(args);
}


/* gives the arrays back to work, or frees them */

static void
gw_rt_b_free(gw_rt_b_t *b, gw_router_work_t *work)
{
    if (work != NULL) {
        work->b = *b;
        work->b.defs = NULL;
        work->b.err = NULL;
        return;
    }

    free(b->routes);
    free(b->conds);
    free(b->pats);
    free(b->vars);
    free(b->entries);
    free(b->lists);
    free(b->nodes);
    free(b->slots);
    free(b->regex);
    free(b->str);
    free(b->spare);
    free(b->order);
}
