
/*
 * Copyright (C) Tollgate
 *
 * The intrinsic functions' insides, shared by gw_asl_intrinsic.c (the
 * parser, the checks, the evaluation of arguments), gw_asl_intrinsic_fn.c
 * (the functions) and gw_asl_intrinsic_text.c (text: a capped buffer,
 * values written as JSON text, UTF-8, equality of values).
 *
 * gw_asl_intrinsic_parse.c holds the parser.
 *
 * A call is parsed into a tree each time it is checked or evaluated: the
 * contract hands us text only, and parsing is cheaper than the JSON the
 * evaluation builds.  The tree is at most GW_ASL_INTRINSIC_MAX calls
 * deep, so every recursion over it is bounded.
 */


#ifndef _GW_ASL_INTRINSIC_INT_H_INCLUDED_
#define _GW_ASL_INTRINSIC_INT_H_INCLUDED_


#include "gw_asl.h"


/* AWS's caps (its intrinsic functions page) */
#define GW_ASL_I_TEXT_MAX     10000     /* characters: Base64Encode,
                                           Base64Decode, Hash input */
#define GW_ASL_I_RANGE_MAX    1000      /* elements of ArrayRange */
#define GW_ASL_I_VALUE_DEPTH  256       /* recursion over one value */


typedef enum {
    GW_ASL_IARG_VALUE = 0,              /* string, number, true, false,
                                           null */
    GW_ASL_IARG_PATH,
    GW_ASL_IARG_CALL
} gw_asl_iarg_e;


typedef struct gw_asl_icall_s  gw_asl_icall_t;
typedef struct gw_asl_ifn_s    gw_asl_ifn_t;


typedef struct {
    gw_asl_iarg_e        kind;
    size_t               pos;           /* its offset in the call text */
    json_t              *value;         /* VALUE, owned */
    const char          *raw;           /* a string literal as written,
                                           between its quotes */
    size_t               raw_len;
    char                *path;          /* PATH, owned */
    gw_asl_icall_t      *call;          /* CALL, owned */
} gw_asl_iarg_t;


struct gw_asl_icall_s {
    const gw_asl_ifn_t  *fn;
    size_t               pos;
    gw_asl_iarg_t       *args;
    size_t               nargs;
};


/*
 * A function: argv holds argc values (borrowed), already of the types
 * its "types" names; returns a new value, or NULL with err.
 */
typedef json_t *(*gw_asl_ifn_pt)(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);


/*
 * types: a letter per argument, the last one repeating past the end:
 * s string, n number, i integer (a number with no fraction), a array,
 * o object, b boolean, f a string, number, boolean or null, * any.
 */
struct gw_asl_ifn_s {
    const char          *name;          /* "States.Format" */
    size_t               min;
    size_t               max;           /* (size_t) -1: no limit */
    const char          *types;
    gw_asl_ifn_pt        handler;
};


#define gw_asl_ifn_fail(err, call, ...)                                       \
    (gw_asl_error(err, GW_ASL_E_INTRINSIC, NULL, __VA_ARGS__), NULL)


/* gw_asl_intrinsic_parse.c: text whole into a tree, NULL with err named
 * error (InvalidDefinition or IntrinsicFailure) when it is not a call */
gw_asl_icall_t *gw_asl_iparse(const char *text, const char *error,
    gw_asl_err_t *err);
void gw_asl_icall_free(gw_asl_icall_t *call);

#define gw_asl_ifn_name_char(c)                                               \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')                \
     || ((c) >= '0' && (c) <= '9'))


/* gw_asl_intrinsic_fn.c */
const gw_asl_ifn_t *gw_asl_ifn_find(const char *name, size_t len);
/* a definition-time check of what the literals of call show, or -1 */
int gw_asl_ifn_check(gw_asl_icall_t *call, gw_asl_err_t *err);
/* an argument the table checked integral, as int64 */
int64_t gw_asl_ifn_int(json_t *v);


/* gw_asl_intrinsic_str.c */
json_t *gw_asl_ifn_b64_encode(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
json_t *gw_asl_ifn_b64_decode(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
json_t *gw_asl_ifn_hash(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
json_t *gw_asl_ifn_random(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
json_t *gw_asl_ifn_add(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
json_t *gw_asl_ifn_split(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
json_t *gw_asl_ifn_uuid(gw_asl_icall_t *call, json_t **argv,
    size_t argc, gw_asl_err_t *err);
/* 1 when name is a digest States.Hash knows, else 0 */
int gw_asl_ifn_hash_known(const char *name);


/* gw_asl_intrinsic_text.c: a buffer that refuses to grow past max */
typedef struct {
    char                *data;
    size_t               len;
    size_t               size;
    size_t               max;
    unsigned             nomem:1;
    unsigned             over:1;
} gw_asl_ibuf_t;

int gw_asl_ibuf_add(gw_asl_ibuf_t *b, const char *s, size_t n);
/* "0" or -1 with err: DataLimitExceeded past max, else out of memory */
int gw_asl_ibuf_fail(gw_asl_ibuf_t *b, const char *what, gw_asl_err_t *err);
/* v as compact JSON text, as JavaScript's JSON.stringify() writes it */
int gw_asl_ibuf_json(gw_asl_ibuf_t *b, json_t *v, unsigned depth);
/* a number as JavaScript writes it */
int gw_asl_ibuf_number(gw_asl_ibuf_t *b, json_t *v);

/* 1 when a and b are the same JSON value (numbers by value), else 0 */
int gw_asl_ivalue_equal(json_t *a, json_t *b, unsigned depth);
uint64_t gw_asl_ivalue_hash(json_t *v, unsigned depth);
/* the length of the UTF-8 character at s (n bytes left), 0: invalid */
size_t gw_asl_iutf8_len(const unsigned char *s, size_t n);
/* characters (code points) of valid UTF-8 text */
size_t gw_asl_iutf8_count(const char *s, size_t n);
const char *gw_asl_itype_name(json_t *v);


#endif /* _GW_ASL_INTRINSIC_INT_H_INCLUDED_ */
