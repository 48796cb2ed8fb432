
/*
 * Copyright (C) Tollgate
 *
 * What the files of a definition's checks share (gw_asl_def.c: the
 * machines, names and transitions; gw_asl_def_graph.c: reachability;
 * gw_asl_def_state.c: each state's fields; gw_asl_def_map.c: the Map
 * state; gw_asl_def_field.c: Retry, Catch, resources, paths, templates),
 * the comparisons of Choice rules (gw_asl_choice_cmp.c) and the RFC 3339
 * reader that Choice rules and Wait share (gw_asl_timestamp.c).  Not
 * part of the contract: lib/asl only (gw_asl_exec.c may read
 * timestamps with it).
 */


#ifndef _GW_ASL_DEF_INT_H_INCLUDED_
#define _GW_ASL_DEF_INT_H_INCLUDED_


#include "gw_asl.h"


#define GW_ASL_SECONDS_MAX    99999999       /* TimeoutSeconds, Wait ... */
#define GW_ASL_MAX_DELAY_MAX  31622400       /* MaxDelaySeconds, AWS's */
#define GW_ASL_LABEL_MAX      40             /* Map's Label, characters */
#define GW_ASL_RULE_DEPTH_MAX 16             /* And, Or, Not nested */
/* JSON nesting of a definition: a machine, States, a state, Branches
 * and a branch per level of Parallel or Map, then a value */
#define GW_ASL_DEF_DEPTH_MAX                                                  \
    (4 + 4 * GW_ASL_DEPTH_MAX + GW_ASL_JSON_DEPTH_MAX)


/* every block the compiled form holds, freed together; and the
 * compiled Choice rules, which gw_asl_rule_free() frees */
typedef struct {
    void               **ptrs;
    size_t               n;
    size_t               size;
    gw_asl_rule_t      **rules;
    size_t               nrules;
    size_t               rsize;
} gw_asl_pool_t;


typedef struct {
    gw_asl_def_t        *def;
    gw_asl_err_t        *err;
    gw_asl_pool_t       *pool;
    json_t              *names;         /* every state name: a set */
} gw_asl_ctx_t;


void *gw_asl_palloc(gw_asl_ctx_t *ctx, size_t size);
char *gw_asl_pstrdup(gw_asl_ctx_t *ctx, const char *s);
/* rule kept by the pool (freed with it, or at once on failure) */
int gw_asl_pool_rule(gw_asl_ctx_t *ctx, gw_asl_rule_t *rule);

/* ptr + "/" + token escaped as RFC 6901 says, into buf (size bytes) */
char *gw_asl_pointer(char *buf, size_t size, const char *ptr,
    const char *token);
char *gw_asl_pointer_index(char *buf, size_t size, const char *ptr,
    size_t index);

/* characters (code points) of a UTF-8 string */
size_t gw_asl_utf8_len(const char *s);

/* the machine of obj (Branches, ItemProcessor) compiled; depth: of
 * Parallel and Map around it, 0 at the top */
gw_asl_machine_t *gw_asl_machine_compile(gw_asl_ctx_t *ctx, json_t *obj,
    const char *ptr, gw_asl_machine_t *parent, unsigned depth);
/* the index of the state name in m, or -1 */
int gw_asl_state_index(gw_asl_machine_t *m, const char *name);
/* a transition (Next, Default, a catcher's Next) resolved in m: the
 * index, or -1 with err */
int gw_asl_def_target(gw_asl_ctx_t *ctx, gw_asl_machine_t *m,
    json_t *name, const char *ptr);

/* gw_asl_def_state.c: st's fields checked and compiled */
int gw_asl_state_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr, unsigned depth);

/* gw_asl_def_graph.c: reachability and a way out, for every state */
int gw_asl_graph_check(gw_asl_ctx_t *ctx, gw_asl_machine_t *m,
    const char *ptr);

/* gw_asl_def_map.c */
int gw_asl_map_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr, unsigned depth);
int gw_asl_map_config_check(gw_asl_ctx_t *ctx, json_t *obj,
    const char *ptr);

/* gw_asl_def_field.c */
int gw_asl_retry_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    json_t *v, const char *ptr);
int gw_asl_catch_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    json_t *v, const char *ptr);
/* a string field, one of values (NULL-terminated) */
int gw_asl_enum_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    const char *const *values, const char *ptr);
int gw_asl_resource_check(gw_asl_ctx_t *ctx, json_t *v, const char *ptr);
/* a field holding a Path (kind GW_ASL_PATH_*), null allowed if nullable */
int gw_asl_path_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    int kind, int nullable, const char *ptr);
/* a payload template field: every ".$" field valid, no two fields with
 * one name once ".$" is removed */
int gw_asl_template_field(gw_asl_ctx_t *ctx, json_t *v, const char *ptr);
/* an integer field in [min, max]; 0 when absent or valid */
int gw_asl_int_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    json_int_t min, json_int_t max, const char *ptr);
/* at most one of two fields */
int gw_asl_exclusive(gw_asl_ctx_t *ctx, json_t *obj, const char *a,
    const char *b, const char *ptr);
/* the keys of obj all in names (NULL-terminated) */
int gw_asl_keys_check(gw_asl_ctx_t *ctx, json_t *obj,
    const char *const *names, const char *what, const char *ptr);

/* gw_asl_choice_cmp.c: -1, 0, 1 */
#define GW_ASL_STAR  256            /* a "*" of StringMatches' pattern */
int gw_asl_utf16_cmp(json_t *a, json_t *b);
int gw_asl_number_cmp(json_t *a, json_t *b);
/* 1 when s (n bytes) matches the pattern p (np bytes and stars) */
int gw_asl_matches(const int *p, size_t np, const char *s, size_t n);

/*
 * gw_asl_timestamp.c: an RFC 3339 date-time (uppercase T and Z, an offset
 * or Z required, fractional seconds allowed) as milliseconds since the
 * epoch and the sub-millisecond rest in nanoseconds; -1 when s is not
 * one.
 */
int gw_asl_timestamp_parse(const char *s, int64_t *ms, int32_t *ns);


#endif /* _GW_ASL_DEF_INT_H_INCLUDED_ */
