
/*
 * Copyright (C) Tollgate
 *
 * The builder's working state: growable arrays in the block's final
 * formats (gw_router_int.h), filled by gw_router_build.c from the
 * definitions, then sorted, checked for conflicts and laid out into one
 * block by gw_router_layout.c.
 */


#ifndef _GW_ROUTER_BUILD_H_INCLUDED_
#define _GW_ROUTER_BUILD_H_INCLUDED_


#include "gw_router_int.h"


typedef struct {
    const gw_router_def_t  *defs;
    gw_router_err_t        *err;

    gw_rt_route_t          *routes;
    gw_rt_cond_t           *conds;
    gw_rt_pat_t            *pats;
    gw_rt_var_t            *vars;
    gw_rt_entry_t          *entries;
    gw_rt_list_t           *lists;
    gw_rt_node_t           *nodes;
    gw_rt_slot_t           *slots;
    uint32_t               *regex;
    char                   *str;
    gw_rt_slot_t           *spare;          /* the next table, growing */
    void                   *order;          /* the regex entries' sort */

    size_t                  nroutes, nconds, npats, nvars, nentries;
    size_t                  nlists, nnodes, nslots, nregex, nre, slen;
    size_t                  cconds, cpats, cvars, centries, cnodes, cslen;
    size_t                  croutes, clists, cslots, cspare, cregex;
    size_t                  corder;
    size_t                  used;           /* slots taken */
    uint32_t                any;            /* root of the any-host group */
} gw_rt_b_t;


/* the arrays above (their capacities), kept between builds */
struct gw_router_work_s {
    gw_rt_b_t               b;
};


int gw_rt_b_grow(void *a, size_t *cap, size_t n, size_t size);
int gw_rt_b_zgrow(void *a, size_t *cap, size_t n, size_t size);
int gw_rt_b_layout(gw_rt_b_t *b);
gw_router_t *gw_rt_b_block(gw_rt_b_t *b, const gw_router_conf_t *conf);
int gw_rt_regex_check(const char *src, size_t len, char *msg, size_t mlen);


#endif /* _GW_ROUTER_BUILD_H_INCLUDED_ */
