
/*
 * Copyright (C) Tollgate
 *
 * Between the files of lib/asl's paths: gw_asl_path.c (the syntax, the
 * check, ResultPath's put), gw_asl_path_eval.c (what a path selects)
 * and gw_asl_path_filter.c (filter expressions); and what
 * gw_asl_template.c uses beyond the contract.
 */


#ifndef _GW_ASL_PATH_INT_H_INCLUDED_
#define _GW_ASL_PATH_INT_H_INCLUDED_


#include "gw_asl.h"


#define GW_ASL_JP_FILTER_DEPTH  32          /* ( and ! nested in a filter */
#define GW_ASL_JP_FRAMES        (2 * GW_ASL_PATH_MAX)  /* recursion */
#define GW_ASL_JP_WORK_MAX      16000000    /* nodes visited, filter bytes
                                               read / 8 */
#define GW_ASL_JP_INDEX_MAX     2147483647L
#define GW_ASL_JP_NUMBER_MAX    64          /* characters of a number */


typedef enum {
    GW_ASL_JP_NAME = 0,     /* .name ['name'] */
    GW_ASL_JP_INDEX,        /* [n] [-n] [(@.length-n)] */
    GW_ASL_JP_WILD,         /* .* [*] */
    GW_ASL_JP_UNION,        /* [a,b] ['a','b'] */
    GW_ASL_JP_SLICE,        /* [start:end:step] */
    GW_ASL_JP_FILTER        /* [?(expression)] */
} gw_asl_jp_sel_e;


typedef enum {
    GW_ASL_JP_EQ = 0,
    GW_ASL_JP_NE,
    GW_ASL_JP_LT,
    GW_ASL_JP_LE,
    GW_ASL_JP_GT,
    GW_ASL_JP_GE
} gw_asl_jp_op_e;


typedef struct {
    gw_asl_jp_sel_e      type;
    const char          *text;      /* NAME: as written; UNION, FILTER:
                                       the first byte inside */
    size_t               len;       /* NAME: bytes of text */
    long                 index;     /* INDEX: < 0 counts from the end */
    long                 from;
    long                 to;
    long                 step;
    unsigned             has_from:1;
    unsigned             has_to:1;
    unsigned             descent:1; /* preceded by ".." */
    unsigned             reference:1;  /* .name ['name'] [n] */
    unsigned             names:1;   /* UNION: of names */
} gw_asl_jp_seg_t;


typedef struct {
    const char          *path;
    json_t              *root;      /* $ for a filter's "$..." operands */
    json_t              *out;       /* what was selected */
    gw_asl_err_t        *err;
    size_t               work;
    unsigned             frames;
    unsigned             fdepth;
    unsigned             definite:1;
    unsigned             reference:1;
    unsigned             missing:1;
    char                 buf[GW_ASL_PATH_MAX + 1];
} gw_asl_jp_t;


int gw_asl_jp_fail(gw_asl_jp_t *jp, const char *p, const char *what);
const char *gw_asl_jp_ws(const char *p);
int gw_asl_jp_name_byte(unsigned char c);
const char *gw_asl_jp_quoted(gw_asl_jp_t *jp, const char *p, size_t *len);
size_t gw_asl_jp_unescape(gw_asl_jp_t *jp, const char *s, size_t len,
    int quoted);
const char *gw_asl_jp_int(gw_asl_jp_t *jp, const char *p, long *n);
const char *gw_asl_jp_segment(gw_asl_jp_t *jp, const char *p,
    gw_asl_jp_seg_t *seg);
int gw_asl_jp_parse(gw_asl_jp_t *jp);
const char *gw_asl_jp_or(gw_asl_jp_t *jp, const char *p, json_t *cur,
    int *v);
int gw_asl_jp_missing(gw_asl_jp_t *jp);


/*
 * gw_asl_path_get() that also tells, in *missing (may be NULL), whether
 * it failed because the path names nothing (1) rather than for another
 * reason (0): a bad path, too much work, no memory.
 */
json_t *gw_asl_path_select(const char *path, json_t *input, json_t *context,
    int *missing, gw_asl_err_t *err);

/* v as compact JSON in buf (size > 4), cut with "..." when it is longer */
void gw_asl_path_dump(json_t *v, char *buf, size_t size);


#endif /* _GW_ASL_PATH_INT_H_INCLUDED_ */
