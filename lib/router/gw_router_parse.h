
/*
 * Copyright (C) Tollgate
 *
 * Parsing of a definition's members for the builder: each function
 * accepts one member, or says in a short message what is wrong with it
 * (the builder adds the route and member).
 */


#ifndef _GW_ROUTER_PARSE_H_INCLUDED_
#define _GW_ROUTER_PARSE_H_INCLUDED_


#include "gw_router_int.h"


typedef struct {
    const char   *p;
    size_t        len;
    int           var;              /* a "{name}" segment */
} gw_rt_seg_t;


typedef struct {
    int           kind;             /* GW_RT_P_* */
    const char   *src;              /* exact: the path; regex: no '~' */
    size_t        src_len;
    uint32_t      spec;             /* the rank's bits 43..12 */
    size_t        nseg;
    gw_rt_seg_t   seg[GW_ROUTER_SEGMENTS_MAX];
    size_t        nvars;
    size_t        var[GW_ROUTER_VARS_MAX];  /* their segments */
} gw_rt_path_t;


int gw_rt_parse_path(const char *s, gw_rt_path_t *p, char *msg, size_t len);
int gw_rt_parse_host(const char *s, char *out, size_t *olen, int *cls,
    char *msg, size_t len);
int gw_rt_parse_method(const char *s);
int gw_rt_method_req(const char *m, size_t len);
int gw_rt_parse_name(const char *s, int header, char *msg, size_t len);
int gw_rt_parse_name_var(const char *s, size_t n);


#endif /* _GW_ROUTER_PARSE_H_INCLUDED_ */
