
/*
 * Copyright (C) Tollgate
 *
 * The block's layout, shared by the builder, the matcher and the regex
 * cache.  Every reference is a 32-bit offset or index, never a pointer:
 * a block copied to another address works unchanged.
 *
 *   header | routes | conds | pats | vars | entries | lists | nodes
 *          | slots | regex order | strings
 *
 * An entry is one (route, host, path) of a definition.  Entries that
 * share a host and a path pattern form a list, sorted best first; a
 * list hangs off an exact-path slot, or a trie node (templates ending
 * there, prefixes ending there), or is a regex's.  The one hash table
 * (slots, open addressing, linear probing, at most half full) keys
 * exact hosts, wildcard suffixes, exact paths (per host group) and trie
 * edges (per parent node).
 *
 * An entry's rank orders candidates, higher first (docs/routing.md):
 *
 *   bits 63..48  priority
 *        47..46  host: 2 exact, 1 wildcard, 0 any
 *        45..44  path: 3 exact, 2 templated, 1 prefix, 0 regex
 *        43..12  templated: one bit per segment, literal = 1, the first
 *                segment highest; prefix: its count of segments
 *        11..7   count of conditions
 *
 * then the lower route index, then the lower path index.
 */


#ifndef _GW_ROUTER_INT_H_INCLUDED_
#define _GW_ROUTER_INT_H_INCLUDED_


#include "gw_router.h"


#define GW_RT_MAGIC      0x52574754u        /* "TGWR" */
#define GW_RT_NONE       0xffffffffu

#define GW_RT_S_HOST     1                  /* slot kinds */
#define GW_RT_S_WILD     2
#define GW_RT_S_PATH     3
#define GW_RT_S_EDGE     4
#define GW_RT_S_REGEX    5                  /* build only */

#define GW_RT_H_ANY      0
#define GW_RT_H_WILD     1
#define GW_RT_H_EXACT    2

#define GW_RT_P_REGEX    0
#define GW_RT_P_PREFIX   1
#define GW_RT_P_TMPL     2
#define GW_RT_P_EXACT    3

#define GW_RT_C_HEADER   1
#define GW_RT_C_ARG      2

#define GW_RT_M_ANY      0xffffu            /* nine methods and others */
#define GW_RT_M_OTHER    0x8000u

#define gw_rt_rank(prio, host, path, spec, ncond)                             \
    (((uint64_t) (prio) << 48) | ((uint64_t) (host) << 46)                    \
     | ((uint64_t) (path) << 44) | ((uint64_t) (spec) << 12)                  \
     | ((uint64_t) (ncond) << 7))

#define gw_rt_at(rt, off)  ((const char *) (rt) + (off))
#define gw_rt_str(rt, off) ((const char *) (rt) + (rt)->strings + (off))


typedef struct {
    uint32_t     id;                /* string */
    uint32_t     id_len;
    uint32_t     index;             /* in the definitions */
    uint32_t     priority;
    uint32_t     methods;           /* GW_RT_M_* bits */
    uint32_t     cond;              /* first in conds */
    uint32_t     ncond;
} gw_rt_route_t;


typedef struct {
    uint32_t     kind;              /* GW_RT_C_* */
    uint32_t     name;
    uint32_t     name_len;
    uint32_t     value;             /* GW_RT_NONE: present */
    uint32_t     value_len;
} gw_rt_cond_t;


typedef struct {
    uint32_t     kind;              /* GW_RT_P_* */
    uint32_t     src;               /* string: regex without '~' */
    uint32_t     src_len;
    uint32_t     var;               /* first in vars */
    uint32_t     nvars;
    uint32_t     regex;             /* index in the cache, or NONE */
} gw_rt_pat_t;


typedef struct {
    uint32_t     name;
    uint32_t     name_len;
    uint32_t     segment;           /* index of its segment */
} gw_rt_var_t;


typedef struct {
    uint64_t     rank;
    uint32_t     route;             /* index in routes */
    uint32_t     pat;               /* index in pats */
    uint32_t     path;              /* index in the route's paths[] */
    uint32_t     methods;
    uint32_t     host;              /* string, for regex entries */
    uint32_t     host_len;
    uint32_t     list;
    uint32_t     host_class;
} gw_rt_entry_t;


typedef struct {
    uint32_t     first;             /* in entries */
    uint32_t     n;
} gw_rt_list_t;


typedef struct {
    uint64_t     max_rank;          /* of every list at or below it */
    uint32_t     parent;
    uint32_t     var;               /* child by a variable, or NONE */
    uint32_t     tmpl;              /* list of templates ending here */
    uint32_t     prefix;            /* list of prefixes ending here */
} gw_rt_node_t;


typedef struct {
    uint32_t     kind;              /* 0: empty */
    uint32_t     parent;            /* group, node, or 0 */
    uint32_t     hash;
    uint32_t     key;               /* string */
    uint32_t     len;
    uint32_t     value;             /* group, list or node */
} gw_rt_slot_t;


struct gw_router_s {
    uint32_t     magic;
    uint32_t     size;
    uint64_t     generation;
    uint32_t     nroutes, routes;
    uint32_t     nconds, conds;
    uint32_t     npats, pats;
    uint32_t     nvars, vars;
    uint32_t     nentries, entries;
    uint32_t     nlists, lists;
    uint32_t     nnodes, nodes;
    uint32_t     nslots, slots;     /* nslots: a power of two */
    uint32_t     nregex, regex;     /* entry indexes, best first */
    uint32_t     nre;               /* regex patterns (cache size) */
    uint32_t     any;               /* the any-host group's root, or NONE */
    uint32_t     strings, strings_len;
};


uint32_t gw_rt_hash(uint32_t kind, uint32_t parent, const char *p,
    size_t len);
int gw_rt_regex_exec(const gw_router_re_t *re, const gw_router_t *rt,
    uint32_t i, const char *s, size_t len);


#endif /* _GW_ROUTER_INT_H_INCLUDED_ */
