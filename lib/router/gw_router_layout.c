
/*
 * Copyright (C) Tollgate
 *
 * The builder, second half: entries sorted into their lists (best
 * first), the conflicts refused, each trie node's best rank below it
 * (for pruning), the regex entries' global order, and the block: every
 * array copied after the header, at 8-byte aligned offsets.
 *
 * Conflicts: two entries of one list share a host and a path pattern.
 * At equal priority they would both match a request of a method they
 * both take, unless their conditions decide: the one with more
 * conditions is tried first, and two with as many conditions are
 * accepted only when they cannot both hold (the same header or argument
 * required with two different values).  Everything else is refused.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_router_build.h"


typedef struct {
    uint64_t    rank;
    uint32_t    route;
    uint32_t    path;
    uint32_t    entry;
} gw_rt_order_t;


static int gw_rt_cmp_entry(const void *a, const void *b);
static int gw_rt_cmp_order(const void *a, const void *b);
static int gw_rt_b_conflicts(gw_rt_b_t *b);
static int gw_rt_b_disjoint(gw_rt_b_t *b, uint32_t ra, uint32_t rb);
static int gw_rt_b_regex(gw_rt_b_t *b);
static void gw_rt_b_put(char *p, size_t *off, const void *src, size_t len);


#define gw_rt_align(n)  (((n) + 7) & ~(size_t) 7)


int
gw_rt_b_layout(gw_rt_b_t *b)
{
    size_t          i;
    uint32_t        p;
    gw_rt_list_t   *l;
    gw_rt_node_t   *n;
    gw_rt_entry_t  *e;

    qsort(b->entries, b->nentries, sizeof(gw_rt_entry_t), gw_rt_cmp_entry);

    if (gw_rt_b_zgrow(&b->lists, &b->clists, b->nlists + 1,
                      sizeof(gw_rt_list_t)) != 0)
    {
        return -1;
    }

    for (i = 0; i < b->nentries; i++) {
        e = &b->entries[i];
        l = &b->lists[e->list];

        if (l->n++ == 0) {
            l->first = (uint32_t) i;
        }
    }

    if (gw_rt_b_conflicts(b) != 0) {
        return -1;
    }

    /* children come after their parents: one pass from the end */

    for (i = b->nnodes; i-- > 0; ) {
        n = &b->nodes[i];

        if (n->tmpl != GW_RT_NONE
            && b->entries[b->lists[n->tmpl].first].rank > n->max_rank)
        {
            n->max_rank = b->entries[b->lists[n->tmpl].first].rank;
        }

        if (n->prefix != GW_RT_NONE
            && b->entries[b->lists[n->prefix].first].rank > n->max_rank)
        {
            n->max_rank = b->entries[b->lists[n->prefix].first].rank;
        }

        p = n->parent;

        if (p != GW_RT_NONE && b->nodes[p].max_rank < n->max_rank) {
            b->nodes[p].max_rank = n->max_rank;
        }
    }

    return gw_rt_b_regex(b);
}


static int
gw_rt_cmp_entry(const void *a, const void *b)
{
    const gw_rt_entry_t  *x = a, *y = b;

    if (x->list != y->list) {
        return x->list < y->list ? -1 : 1;
    }

    if (x->rank != y->rank) {
        return x->rank > y->rank ? -1 : 1;
    }

    if (x->route != y->route) {
        return x->route < y->route ? -1 : 1;
    }

    return x->path < y->path ? -1 : (x->path > y->path);
}


/* refuses two entries of one list that nothing would choose between */

static int
gw_rt_b_conflicts(gw_rt_b_t *b)
{
    int             k;
    size_t          i, j, m, end;
    uint32_t        both;
    const char     *pfx, *method;
    gw_rt_entry_t  *x, *y, *t;
    gw_rt_route_t  *rx, *ry;

    static const char  *methods[] = {
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
        "CONNECT", "TRACE"
    };

    for (i = 0; i < b->nentries; i = end) {
        x = &b->entries[i];

        for (end = i + 1; end < b->nentries; end++) {
            if (b->entries[end].list != x->list
                || (b->entries[end].rank >> 48) != (x->rank >> 48))
            {
                break;
            }
        }

        for (j = i; j < end; j++) {
            for (m = j + 1; m < end; m++) {
                x = &b->entries[j];
                y = &b->entries[m];
                rx = &b->routes[x->route];
                ry = &b->routes[y->route];
                both = x->methods & y->methods;

                if (both == 0 || rx->ncond != ry->ncond
                    || (x->route != y->route
                        && gw_rt_b_disjoint(b, x->route, y->route)))
                {
                    continue;
                }

                if (x->route > y->route
                    || (x->route == y->route && x->path > y->path))
                {
                    t = x; x = y; y = t;
                    rx = &b->routes[x->route];
                    ry = &b->routes[y->route];
                }

                method = "another";
                for (k = 0; k < 9; k++) {
                    if (both & (1u << k)) {
                        method = methods[k];
                        break;
                    }
                }

                pfx = (x->host_class == GW_RT_H_WILD) ? "*." : "";

                b->err->route = (long) y->route;

                if (x->route == y->route) {
                    snprintf(b->err->msg, sizeof(b->err->msg),
                             "route \"%s\" (#%u): paths[%u] \"%s\": the "
                             "same pattern as paths[%u]",
                             b->str + ry->id, y->route, y->path,
                             b->defs[y->route].paths[y->path], x->path);
                    return -1;
                }

                snprintf(b->err->msg, sizeof(b->err->msg),
                         "route \"%s\" (#%u): paths[%u] \"%s\": conflicts "
                         "with route \"%s\" (#%u) paths[%u] \"%s\": same "
                         "priority %u, host \"%s%s\", method %s%s",
                         b->str + ry->id, y->route, y->path,
                         b->defs[y->route].paths[y->path],
                         b->str + rx->id, x->route, x->path,
                         b->defs[x->route].paths[x->path], rx->priority,
                         pfx, x->host_class == GW_RT_H_ANY
                              ? "*" : b->str + x->host,
                         method, rx->ncond ? ", conditions not exclusive"
                                           : "");
                return -1;
            }
        }
    }

    return 0;
}


/* two routes' conditions cannot both hold */

static int
gw_rt_b_disjoint(gw_rt_b_t *b, uint32_t ra, uint32_t rb)
{
    size_t         i, j;
    gw_rt_cond_t  *x, *y;

    for (i = 0; i < b->routes[ra].ncond; i++) {
        x = &b->conds[b->routes[ra].cond + i];

        for (j = 0; j < b->routes[rb].ncond; j++) {
            y = &b->conds[b->routes[rb].cond + j];

            if (x->kind != y->kind || x->value == GW_RT_NONE
                || y->value == GW_RT_NONE || x->name_len != y->name_len)
            {
                continue;
            }

            if ((x->kind == GW_RT_C_HEADER
                 ? strcasecmp(b->str + x->name, b->str + y->name)
                 : strcmp(b->str + x->name, b->str + y->name)) != 0)
            {
                continue;
            }

            if (x->value_len != y->value_len
                || memcmp(b->str + x->value, b->str + y->value,
                          x->value_len) != 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


/* the regex entries, best first: they are tried in this order */

static int
gw_rt_b_regex(gw_rt_b_t *b)
{
    size_t          i, n;
    gw_rt_order_t  *o;
    gw_rt_entry_t  *e;

    n = 0;

    for (i = 0; i < b->nentries; i++) {
        n += (b->pats[b->entries[i].pat].kind == GW_RT_P_REGEX);
    }

    if (gw_rt_b_zgrow(&b->order, &b->corder, n + 1, sizeof(gw_rt_order_t))
        != 0
        || gw_rt_b_zgrow(&b->regex, &b->cregex, n + 1, sizeof(uint32_t)) != 0)
    {
        return -1;
    }

    o = b->order;

    n = 0;

    for (i = 0; i < b->nentries; i++) {
        e = &b->entries[i];

        if (b->pats[e->pat].kind == GW_RT_P_REGEX) {
            o[n].rank = e->rank;
            o[n].route = e->route;
            o[n].path = e->path;
            o[n].entry = (uint32_t) i;
            n++;
        }
    }

    qsort(o, n, sizeof(gw_rt_order_t), gw_rt_cmp_order);

    for (i = 0; i < n; i++) {
        b->regex[i] = o[i].entry;
    }

    b->nregex = n;

    return 0;
}


static int
gw_rt_cmp_order(const void *a, const void *b)
{
    const gw_rt_order_t  *x = a, *y = b;

    if (x->rank != y->rank) {
        return x->rank > y->rank ? -1 : 1;
    }

    if (x->route != y->route) {
        return x->route < y->route ? -1 : 1;
    }

    return x->path < y->path ? -1 : (x->path > y->path);
}


/* the block: header, then each array at an aligned offset */

gw_router_t *
gw_rt_b_block(gw_rt_b_t *b, const gw_router_conf_t *conf)
{
    size_t        off, size;
    char         *p;
    gw_router_t   h, *rt;

    memset(&h, 0, sizeof(gw_router_t));
    off = gw_rt_align(sizeof(gw_router_t));

#define gw_rt_section(name, count, type)                                      \
    h.n##name = (uint32_t) (count);                                           \
    h.name = (uint32_t) off;                                                  \
    off = gw_rt_align(off + (count) * sizeof(type))

    gw_rt_section(routes, b->nroutes, gw_rt_route_t);
    gw_rt_section(conds, b->nconds, gw_rt_cond_t);
    gw_rt_section(pats, b->npats, gw_rt_pat_t);
    gw_rt_section(vars, b->nvars, gw_rt_var_t);
    gw_rt_section(entries, b->nentries, gw_rt_entry_t);
    gw_rt_section(lists, b->nlists, gw_rt_list_t);
    gw_rt_section(nodes, b->nnodes, gw_rt_node_t);
    gw_rt_section(slots, b->nslots, gw_rt_slot_t);
    gw_rt_section(regex, b->nregex, uint32_t);

#undef gw_rt_section

    h.strings = (uint32_t) off;
    h.strings_len = (uint32_t) b->slen;
    size = gw_rt_align(off + b->slen);

    if (size > 0x7fffffff) {
        snprintf(b->err->msg, sizeof(b->err->msg), "block over 2 GB");
        return NULL;
    }

    h.magic = GW_RT_MAGIC;
    h.size = (uint32_t) size;
    h.generation = (conf != NULL) ? conf->generation : 0;
    h.nre = (uint32_t) b->nre;
    h.any = b->any;

    if (conf != NULL && conf->alloc != NULL) {
        rt = conf->alloc(conf->ctx, size);

    } else {
        rt = malloc(size);
    }

    if (rt == NULL) {
        snprintf(b->err->msg, sizeof(b->err->msg),
                 "no memory for a block of %zu bytes", size);
        return NULL;
    }

    /* the sections one after the other, each padding zeroed: every
       byte written once */

    p = (char *) rt;
    off = 0;
    gw_rt_b_put(p, &off, &h, sizeof(gw_router_t));

#define gw_rt_copy(name, src, type)                                           \
    gw_rt_b_put(p, &off, src, h.n##name * sizeof(type))

    gw_rt_copy(routes, b->routes, gw_rt_route_t);
    gw_rt_copy(conds, b->conds, gw_rt_cond_t);
    gw_rt_copy(pats, b->pats, gw_rt_pat_t);
    gw_rt_copy(vars, b->vars, gw_rt_var_t);
    gw_rt_copy(entries, b->entries, gw_rt_entry_t);
    gw_rt_copy(lists, b->lists, gw_rt_list_t);
    gw_rt_copy(nodes, b->nodes, gw_rt_node_t);
    gw_rt_copy(slots, b->slots, gw_rt_slot_t);
    gw_rt_copy(regex, b->regex, uint32_t);

#undef gw_rt_copy

    gw_rt_b_put(p, &off, b->str, b->slen);

    return rt;
}


/* len bytes of src at *off, then zeros to the next 8-byte boundary */

static void
gw_rt_b_put(char *p, size_t *off, const void *src, size_t len)
{
    size_t  end;

    if (len != 0) {
        memcpy(p + *off, src, len);
    }

    end = gw_rt_align(*off + len);
    memset(p + *off + len, 0, end - *off - len);
    *off = end;
}


size_t
gw_router_size(const gw_router_t *rt)
{
    return rt->size;
}


size_t
gw_router_routes(const gw_router_t *rt)
{
    return rt->nroutes;
}


uint64_t
gw_router_generation(const gw_router_t *rt)
{
    return rt->generation;
}
