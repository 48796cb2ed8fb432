
/*
 * Copyright (C) Tollgate
 *
 * JSON Schema validation (draft 2020-12, the default, and draft-07) on
 * jansson values.  A schema is compiled once into a graph of nodes in
 * which every keyword is decoded, every regular expression compiled and
 * every "$ref" resolved to a pointer; validating an instance then walks
 * that graph without parsing anything and, when no error details are
 * asked for, without allocating and stopping at the first failure.
 *
 * Nothing is ever fetched: a "$ref" to another document finds it among
 * the documents registered with gw_schema_add(), or among the official
 * metaschemas (2020-12 with its vocabularies, and draft-07), which are
 * built in.  Every input has a cap (below) and every cap a clear error.
 *
 * A gw_schema_t is not thread-safe: validation reuses one PCRE2 match
 * block held in it.  nginx workers are single-threaded, which suits.
 */


#ifndef _GW_SCHEMA_H_INCLUDED_
#define _GW_SCHEMA_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


#define GW_SCHEMA_DRAFT_2020_12     0
#define GW_SCHEMA_DRAFT_07          1

/* caps: the defaults of the gw_schema_opts_t fields left at 0 */

#define GW_SCHEMA_MAX_DEPTH         128     /* schema and instance nesting */
#define GW_SCHEMA_MAX_NODES         65536   /* subschemas in one schema,
                                               referenced documents too */
#define GW_SCHEMA_MAX_ERRORS        32      /* errors kept by a validation */
#define GW_SCHEMA_MAX_EVAL          1024    /* subschemas active at once
                                               while validating ($ref) */
#define GW_SCHEMA_MATCH_LIMIT       100000  /* PCRE2 match limit: steps
                                               of one regex match */


typedef struct {
    int       draft;            /* GW_SCHEMA_DRAFT_*, when no "$schema" */
    int       format_assert;    /* 1: "format" is an assertion */
    unsigned  max_depth;        /* 0: GW_SCHEMA_MAX_DEPTH */
    unsigned  max_nodes;        /* 0: GW_SCHEMA_MAX_NODES */
    unsigned  max_errors;       /* 0: GW_SCHEMA_MAX_ERRORS */
    unsigned  max_eval;         /* 0: GW_SCHEMA_MAX_EVAL */
    unsigned  match_limit;      /* 0: GW_SCHEMA_MATCH_LIMIT */
} gw_schema_opts_t;



/*
 * Instances as gw_schema_parse() builds them: a compact tree of values in
 * memory a gw_schema_doc_t owns, validated by gw_schema_validate_value().
 * A string points into the text parsed when it has no escape, into the
 * doc otherwise; it is not NUL-terminated.  Members keep the order of the
 * text.  The numbers: an integer that fits in 64 bits; a double, taken
 * as the shortest decimal that reads back as it (which is the number as
 * written when that has at most 15 significant digits); or, for a number
 * a double does not hold, its text (GW_SCHEMA_DECIMAL: u.s and len, JSON's
 * grammar), decided on exactly: one of more than 15 significant digits,
 * or nearer 0 than 1e-307 (but 0).  Those come only from
 * gw_schema_parse(), and the values of a jansson instance never hold one.
 */

#define GW_SCHEMA_NULL      0
#define GW_SCHEMA_FALSE     1
#define GW_SCHEMA_TRUE      2
#define GW_SCHEMA_INTEGER   3
#define GW_SCHEMA_REAL      4
#define GW_SCHEMA_STRING    5
#define GW_SCHEMA_ARRAY     6
#define GW_SCHEMA_OBJECT    7
#define GW_SCHEMA_DECIMAL   8       /* a number kept as written */

typedef struct gw_schema_value_s   gw_schema_value_t;
typedef struct gw_schema_member_s  gw_schema_member_t;
typedef struct gw_schema_block_s   gw_schema_block_t;

struct gw_schema_value_s {
    uint32_t                       type;    /* GW_SCHEMA_NULL ... */
    uint32_t                       len;     /* string bytes, array items,
                                               object members */
    union {
        int64_t                    i;
        double                     d;
        const char                *s;
        const gw_schema_value_t   *items;
        const gw_schema_member_t  *members;
    } u;
};

struct gw_schema_member_s {
    const char         *key;
    size_t              len;
    gw_schema_value_t   value;
};


/* the memory of parsed values, reused from one parse to the next */
typedef struct {
    /* private */
    gw_schema_block_t   *blocks;    /* the newest first; the last kept */
    gw_schema_value_t   *items;     /* the items of the open arrays */
    size_t               nitems;
    gw_schema_member_t  *members;   /* the members of the open objects */
    size_t               nmembers;
    uint32_t            *dups;      /* a hash table for duplicate keys */
    size_t               ndups;
} gw_schema_doc_t;


#define GW_SCHEMA_JSON_DEPTH        2048    /* nesting, as jansson's */

typedef struct gw_schema_s  gw_schema_t;


/* a compile error: where in which schema document, and what */
typedef struct {
    char  pointer[256];         /* JSON pointer, "" for the root; other
                                   documents as "uri#pointer" */
    char  message[256];
} gw_schema_cerr_t;


typedef struct {
    const char  *instance_location;     /* JSON pointer in the instance */
    const char  *keyword_location;      /* JSON pointer along the path
                                           of evaluation, "$ref" hops
                                           included */
    const char  *message;
} gw_schema_error_t;


typedef struct {
    gw_schema_error_t  *errors;
    size_t              nerrors;
    int                 truncated;      /* more than max_errors found */

    /* private */
    char               *buf;
    size_t              len;
    size_t              size;
    size_t              nalloc;
} gw_schema_result_t;


/* a new, empty schema with opts copied (NULL: every default); NULL: OOM */
gw_schema_t *gw_schema_new(const gw_schema_opts_t *opts);

/*
 * Registers doc as the document at uri (absolute, without fragment), for
 * the "$ref"s of the schema compiled later.  doc is referenced, not
 * copied, and must not change.  Returns 0, or -1 with err filled (a bad
 * URI, a URI registered twice, out of memory).
 */
int gw_schema_add(gw_schema_t *s, const char *uri, json_t *doc,
    gw_schema_cerr_t *err);

/*
 * Compiles schema (an object or a boolean) and everything it refers to;
 * once per gw_schema_t.  Returns 0, or -1 with err naming the JSON
 * pointer of the problem: a keyword of the wrong type, an invalid
 * regular expression, a "$ref" that resolves nowhere, an unknown
 * "$schema", a cap exceeded.
 */
int gw_schema_compile(gw_schema_t *s, json_t *schema, gw_schema_cerr_t *err);

/*
 * Validates inst against the compiled schema.  With res NULL, stops at
 * the first failure and allocates nothing unless the schema needs it
 * (unevaluated*, uniqueItems over 16 items, propertyNames); otherwise
 * collects up to max_errors errors into res (zeroed by the caller once,
 * reusable for the next validation, freed with gw_schema_result_free()),
 * valid until the next use of res.  Returns 1 valid, 0 invalid, -1 out
 * of memory or nothing compiled.  An instance nested deeper than
 * max_depth, or a schema evaluated deeper than max_eval (a "$ref" loop),
 * makes the instance invalid with one error saying so.
 */
int gw_schema_validate(gw_schema_t *s, const json_t *inst,
    gw_schema_result_t *res);

void gw_schema_result_free(gw_schema_result_t *res);

void gw_schema_free(gw_schema_t *s);

/*
 * Validates a parsed value (below) as gw_schema_validate() does a jansson
 * value; the fast way, since the tree is much lighter.
 */
int gw_schema_validate_value(gw_schema_t *s, const gw_schema_value_t *inst,
    gw_schema_result_t *res);

/* an empty doc: nothing allocated until the first parse */
void gw_schema_doc_init(gw_schema_doc_t *doc);

/* frees what doc holds; doc can be parsed into again */
void gw_schema_doc_free(gw_schema_doc_t *doc);

/*
 * Parses JSON text (RFC 8259) into doc, dropping what doc held before:
 * strings are checked UTF-8, numbers read exactly (integers beyond 64
 * bits as reals), nesting capped at max_depth (0: GW_SCHEMA_JSON_DEPTH).
 * flags: JSON_DECODE_ANY (any value at the top, not only an object or
 * an array), JSON_ALLOW_NUL (\u0000 in strings), JSON_REJECT_DUPLICATES,
 * JSON_DECODE_INT_AS_REAL (every number a real).
 * The values point into text, which must outlive them.  Returns the top
 * value, or NULL with err filled: jansson's message and position for the
 * first error (the text is parsed again by json_loadb() for it), or, for
 * nesting past a max_depth given, "JSON nested deeper than N levels" at
 * the bracket past it; "out of memory" as well.
 */
const gw_schema_value_t *gw_schema_parse(gw_schema_doc_t *doc,
    const char *text, size_t len, size_t flags, unsigned max_depth,
    json_error_t *err);

/*
 * Parses and validates text in one pass, for the common case of a valid
 * body: 1 when it is well-formed (as gw_schema_parse() with the same
 * flags and max_depth takes it) and valid against s, else 0, at its first
 * failure of any kind (malformed, invalid, out of memory): the caller
 * then parses it with gw_schema_parse() and validates the values with
 * gw_schema_validate_value(), for the error.  Uses doc as scratch (keys,
 * unescaped strings, the values of parts checked as a whole).
 */
int gw_schema_check(gw_schema_t *s, gw_schema_doc_t *doc, const char *text,
    size_t len, size_t flags, unsigned max_depth);

/*
 * Whether the number text (JSON's grammar, within the double range) is
 * held by its double: at most 15 significant digits, and 0 or at least
 * 1e-307 in magnitude.  A jansson value holds only the double; a number
 * it does not hold is decided on exactly only by gw_schema_parse()'s
 * values and gw_schema_check().  1 or 0.
 */
int gw_schema_number_fits(const char *text, size_t len);

/* j converted into doc, dropping what doc held; NULL: out of memory */
const gw_schema_value_t *gw_schema_from_json(gw_schema_doc_t *doc,
    const json_t *j);

/*
 * json_loadb() for instances and schemas, through gw_schema_parse():
 * about twice as fast, and keeping integers beyond 64 bits (as reals)
 * where jansson fails.  flags as gw_schema_parse(); others make it
 * json_loadb() itself.
 */
json_t *gw_schema_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error);


#endif /* _GW_SCHEMA_H_INCLUDED_ */
