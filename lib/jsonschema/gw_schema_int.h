
/*
 * Copyright (C) Tollgate
 *
 * The compiled form shared by the files of lib/jsonschema.  A schema
 * object becomes one gw_sch_node_t holding its keywords decoded; the
 * subschemas it applies are pointers to other nodes, and "$ref" is a
 * pointer to its target, so that validation never looks anything up by
 * name except instance property names.  Every byte of a compiled schema
 * comes from one arena, freed at once; the schema documents themselves
 * stay referenced, since nodes point at their strings and values.
 */


#ifndef _GW_SCHEMA_INT_H_INCLUDED_
#define _GW_SCHEMA_INT_H_INCLUDED_


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH  8
#endif

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <pcre2.h>

#include "gw_schema.h"


/* draft 2019-09, read as 2020-12 but for the array form of "items" */
#define GW_SCH_DRAFT_2019   2

/* node->types: JSON types */
#define GW_SCH_T_NULL       0x01
#define GW_SCH_T_BOOLEAN    0x02
#define GW_SCH_T_OBJECT     0x04
#define GW_SCH_T_ARRAY      0x08
#define GW_SCH_T_NUMBER     0x10
#define GW_SCH_T_STRING     0x20
#define GW_SCH_T_INTEGER    0x40

/* node->kw: keywords present, so that validation tests one word */
#define GW_SCH_KW_TYPE          (1u << 0)
#define GW_SCH_KW_ENUM          (1u << 1)
#define GW_SCH_KW_CONST         (1u << 2)
#define GW_SCH_KW_NUMBER        (1u << 3)   /* any numeric keyword */
#define GW_SCH_KW_STRING        (1u << 4)   /* min/maxLength, pattern,
                                               format */
#define GW_SCH_KW_ARRAY         (1u << 5)   /* any array keyword */
#define GW_SCH_KW_OBJECT        (1u << 6)   /* any object keyword */
#define GW_SCH_KW_APPLY         (1u << 7)   /* allOf anyOf oneOf not if */
#define GW_SCH_KW_REF           (1u << 8)
#define GW_SCH_KW_DYNREF        (1u << 9)
#define GW_SCH_KW_UNEV_PROPS    (1u << 10)
#define GW_SCH_KW_UNEV_ITEMS    (1u << 11)

/* the keywords of a container gw_schema_check() walks itself, when the
 * node has none of uniqueItems, contains, patternProperties,
 * propertyNames, dependentSchemas either (node->simple) */
#define GW_SCH_KW_SIMPLE  (GW_SCH_KW_TYPE | GW_SCH_KW_NUMBER                 \
                           | GW_SCH_KW_STRING | GW_SCH_KW_ARRAY              \
                           | GW_SCH_KW_OBJECT)

/* the keywords gw_sch_leaf() knows: those of a scalar's type */
#define GW_SCH_KW_LEAF  (GW_SCH_KW_TYPE | GW_SCH_KW_NUMBER | GW_SCH_KW_STRING)

#define GW_SCH_NONE         0           /* node->boolean: an object */
#define GW_SCH_TRUE         1
#define GW_SCH_FALSE        2

/* vocabularies in force for a node (2020-12 "$vocabulary") */
#define GW_SCH_V_APPLICATOR     0x01
#define GW_SCH_V_VALIDATION     0x02
#define GW_SCH_V_UNEVALUATED    0x04
#define GW_SCH_V_FORMAT         0x08    /* format-assertion */
#define GW_SCH_V_ALL            0x07

/* formats that can assert; 0 means annotation only */
enum {
    GW_SCH_FMT_NONE = 0,
    GW_SCH_FMT_DATE_TIME,
    GW_SCH_FMT_DATE,
    GW_SCH_FMT_TIME,
    GW_SCH_FMT_DURATION,
    GW_SCH_FMT_EMAIL,
    GW_SCH_FMT_IDN_EMAIL,
    GW_SCH_FMT_HOSTNAME,
    GW_SCH_FMT_IDN_HOSTNAME,
    GW_SCH_FMT_IPV4,
    GW_SCH_FMT_IPV6,
    GW_SCH_FMT_URI,
    GW_SCH_FMT_URI_REFERENCE,
    GW_SCH_FMT_IRI,
    GW_SCH_FMT_IRI_REFERENCE,
    GW_SCH_FMT_URI_TEMPLATE,
    GW_SCH_FMT_JSON_POINTER,
    GW_SCH_FMT_REL_JSON_POINTER,
    GW_SCH_FMT_REGEX,
    GW_SCH_FMT_UUID
};


typedef struct gw_sch_node_s   gw_sch_node_t;
typedef struct gw_sch_res_s    gw_sch_res_t;
typedef struct gw_sch_arena_s  gw_sch_arena_t;


struct gw_sch_arena_s {
    gw_sch_arena_t  *next;
    size_t           used;
    size_t           size;
    /* data follows */
};


/*
 * An exact decimal, value = digits * 10^exp: a number of a schema as the
 * shortest decimal that reads back as its double (see gw_sch_dec_from()),
 * or a 64-bit integer; digits has no trailing zero but for 0.
 */
typedef struct {
    uint64_t  digits;           /* at most 19 significant digits */
    int       exp;
    int       neg;
} gw_sch_dec_t;


/*
 * A number as written (gw_schema_decimal.c): its significant digits, in
 * up to two runs of the text either side of the point, without leading
 * or trailing zeros; value = d1.d2d3... * 10^lead.  Zero: na + nb == 0.
 */
typedef struct {
    const char  *a;
    const char  *b;
    size_t       na;
    size_t       nb;
    int64_t      lead;          /* the power of ten of the first digit */
    int          neg;
} gw_sch_num_t;


typedef struct {
    pcre2_code  *code;
    int          jit;           /* JIT-compiled: pcre2_jit_match() */
} gw_sch_regex_t;


typedef struct {
    const char     *name;       /* in the schema document */
    size_t          len;
    uint32_t        hash;
    uint32_t        plain;      /* 1: printable ASCII without '"' and
                                   '\\', so the same as written in JSON */
    gw_sch_node_t  *node;
} gw_sch_prop_t;


typedef struct {
    gw_sch_regex_t  *re;
    const char      *seg;       /* "patternProperties/<pattern>" */
    gw_sch_node_t   *node;
} gw_sch_pprop_t;


typedef struct {
    const char     *name;
    size_t          len;
    const char    **names;      /* dependentRequired */
    size_t          nnames;
    gw_sch_node_t  *node;       /* dependentSchemas */
} gw_sch_dep_t;


typedef struct {
    const char     *name;
    gw_sch_node_t  *node;
} gw_sch_anchor_t;


/* a schema resource: a document root or a subschema with an "$id" */
struct gw_sch_res_s {
    const char       *uri;      /* absolute, no fragment */
    json_t           *root;     /* its JSON, for "#/..." pointers */
    gw_sch_node_t    *node;     /* NULL until compiled */
    gw_sch_anchor_t  *dyn;      /* its "$dynamicAnchor"s */
    size_t            ndyn;
    size_t            dyn_alloc;
    int               draft;
    unsigned          vocab;
    int               doc;      /* a registered document */
    gw_sch_res_t     *next;
};


struct gw_sch_node_s {
    uint32_t          kw;
    uint8_t           boolean;
    uint8_t           types;
    uint8_t           format;
    uint8_t           unique;
    uint8_t           draft;
    uint8_t           dyn_ref;      /* $dynamicRef may be dynamic */
    uint8_t           has_min_contains;
    uint8_t           has_max_contains;
    uint8_t           content_b64;  /* draft-07 contentEncoding base64 */
    uint8_t           content_json; /* draft-07 contentMediaType JSON */
    uint8_t           simple;       /* see GW_SCH_KW_SIMPLE */
    uint8_t           leaf;         /* an object of only GW_SCH_KW_LEAF */
    uint16_t          vtypes;       /* 1 << GW_SCHEMA_*: the instance
                                       types "type" takes outright */
    uint16_t          vplain;       /* of those, the types no other
                                       keyword of a leaf looks at */

    const char       *seg;          /* pointer segment from its parent */
    const char       *ptr;          /* its JSON pointer in its document */
    gw_sch_res_t     *res;          /* the resource it belongs to */
    json_t           *json;

    /* numbers: NULL when absent */
    const gw_schema_value_t  *minimum;
    const gw_schema_value_t  *maximum;
    const gw_schema_value_t  *xminimum;
    const gw_schema_value_t  *xmaximum;
    const gw_schema_value_t  *multiple_of;
    gw_sch_dec_t      mult;
    gw_sch_dec_t      dmin;         /* the bounds above as decimals, */
    gw_sch_dec_t      dmax;         /* for numbers kept as written */
    gw_sch_dec_t      dxmin;
    gw_sch_dec_t      dxmax;
    uint8_t           range;        /* only "minimum" and "maximum", of
                                       integers within 2^53 of 0: */
    int64_t           imin;         /* those bounds for integers */
    int64_t           imax;
    double            fmin;         /* and for doubles, exactly the */
    double            fmax;         /* same numbers */

    /* strings */
    size_t            min_length;
    size_t            max_length;   /* SIZE_MAX: none */
    gw_sch_regex_t   *pattern;
    const char       *pattern_src;

    /* arrays */
    size_t            min_items;
    size_t            max_items;
    size_t            min_contains;
    size_t            max_contains;
    gw_sch_node_t   **prefix;       /* prefixItems, draft-07 items[] */
    size_t            nprefix;
    gw_sch_node_t    *items;        /* the items after the prefix */
    gw_sch_node_t    *contains;
    gw_sch_node_t    *unev_items;

    /* objects */
    size_t            min_props;
    size_t            max_props;
    gw_sch_prop_t    *props;
    size_t            nprops;
    uint32_t         *ptab;         /* hash of props: index + 1, 0 free */
    uint32_t          ptab_mask;
    gw_sch_pprop_t   *pprops;
    size_t            npprops;
    gw_sch_node_t    *additional;
    gw_sch_node_t    *prop_names;
    gw_sch_node_t    *unev_props;
    const char      **required;
    size_t            nrequired;
    uint64_t          req_mask;     /* the props that are required, when
                                       all are among the first 64 */
    gw_sch_dep_t     *dep_req;
    size_t            ndep_req;
    gw_sch_dep_t     *dep_sch;
    size_t            ndep_sch;

    /* applicators */
    gw_sch_node_t   **all_of;
    size_t            nall_of;
    gw_sch_node_t   **any_of;
    size_t            nany_of;
    gw_sch_node_t   **one_of;
    size_t            none_of;
    gw_sch_node_t    *not_;
    gw_sch_node_t    *if_;
    gw_sch_node_t    *then_;
    gw_sch_node_t    *else_;

    /* enum (an array) and const */
    const gw_schema_value_t  *enum_;
    const gw_schema_value_t  *const_;

    /* references */
    const char       *ref_uri;
    gw_sch_node_t    *ref;
    const char       *dref_uri;
    gw_sch_node_t    *dref;
    const char       *dref_anchor;  /* its fragment, when a plain name */

    gw_sch_node_t    *next;         /* every node, for ref resolution */
};


/* a step of the instance location: a member name, or an index */
typedef struct {
    const char  *key;           /* NULL: index */
    size_t       len;
    size_t       index;
} gw_sch_iloc_t;


struct gw_schema_s {
    gw_schema_opts_t   opts;
    gw_sch_arena_t    *arena;
    gw_sch_node_t     *root;
    gw_sch_node_t     *nodes;       /* every node, newest first */
    size_t             nnodes;
    gw_sch_node_t    **jmap;        /* node by its JSON value, hashed */
    size_t             jmap_size;   /* a power of two, or 0 */
    gw_sch_res_t      *res;         /* resources and documents */
    gw_sch_anchor_t   *anchors;     /* "uri#name" -> node */
    size_t             nanchors;
    size_t             anchors_alloc;
    json_t           **held;        /* documents referenced */
    size_t             nheld;
    size_t             held_alloc;
    gw_sch_regex_t   **regexes;
    size_t             nregexes;
    size_t             regexes_alloc;
    gw_schema_doc_t    consts;      /* enum, const, numbers, converted */
    gw_schema_doc_t    conv;        /* a jansson instance, converted */
    pcre2_match_data  *md;
    pcre2_match_context  *mctx;
    int                compiled;

    /* validation stacks, sized from the caps once */
    const char       **kpath;       /* max_eval + 2 keyword steps */
    gw_sch_res_t     **scope;       /* max_eval + 2 dynamic scope */
    gw_sch_iloc_t     *ipath;       /* max_depth + 2 instance steps */
};


/*
 * The hash of a property name in node->ptab: its length and three of its
 * bytes, so that looking up an instance member costs the same whatever
 * its length; names that collide are told apart by memcmp(), and a chain
 * is never longer than the schema's own property list.
 */

static inline uint32_t
gw_sch_keyhash(const char *p, size_t len)
{
    uint32_t  h;

    h = (uint32_t) len * 0x9e3779b1u;

    if (len > 0) {
        h ^= (uint32_t) (unsigned char) p[0] * 0x85ebca6bu;
        h ^= (uint32_t) (unsigned char) p[len / 2] * 0x27d4eb2fu;
        h ^= (uint32_t) (unsigned char) p[len - 1] * 0xc2b2ae35u;
    }

    return h ^ (h >> 15);
}


/* the state of compiling one subschema */
typedef struct {
    gw_schema_t       *s;
    gw_schema_cerr_t  *err;
    const char        *base;        /* base URI in force */
    gw_sch_res_t      *res;
    const char        *ptr;         /* the node's pointer in its document */
    const char        *doc;         /* document URI for errors, NULL main */
    int                draft;
    unsigned           vocab;
    unsigned           depth;
} gw_sch_cc_t;


/* gw_schema_compile.c */
void *gw_sch_alloc(gw_schema_t *s, size_t size);
char *gw_sch_strdup(gw_schema_t *s, const char *str, size_t len);
int gw_sch_fail(gw_sch_cc_t *cc, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
gw_sch_node_t *gw_sch_child(gw_sch_cc_t *cc, json_t *json, const char *seg);
char *gw_sch_seg2(gw_schema_t *s, const char *kw, const char *name,
    size_t len);
char *gw_sch_segi(gw_schema_t *s, const char *kw, size_t i);

/* gw_schema_keywords.c */
int gw_sch_kw_applicators(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js);
int gw_sch_kw_objects(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js);
int gw_sch_kw_validation(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js);

typedef struct {
    const char  *uri;
    const char  *text;
} gw_sch_meta_t;


/* gw_schema_meta.c, generated from data/json-schema */
extern const gw_sch_meta_t  gw_sch_metas[];
extern const size_t         gw_sch_nmetas;

/* gw_schema_ref.c */
int gw_sch_meta_dialect(gw_schema_t *s, const char *uri, int *draft,
    unsigned *vocab);
int gw_sch_add_dynamic(gw_schema_t *s, gw_sch_res_t *res, const char *name,
    gw_sch_node_t *node);
int gw_sch_resolve_refs(gw_schema_t *s, gw_schema_cerr_t *err);
gw_sch_res_t *gw_sch_find_res(gw_schema_t *s, const char *uri, size_t len);
int gw_sch_jmap_add(gw_schema_t *s, gw_sch_node_t *n);
gw_sch_node_t *gw_sch_jmap_get(gw_schema_t *s, const json_t *json);
gw_sch_node_t *gw_sch_compile_at(gw_schema_t *s, json_t *json,
    const char *base, gw_sch_res_t *res, const char *ptr, int draft,
    unsigned vocab, gw_schema_cerr_t *err);
int gw_sch_add_anchor(gw_schema_t *s, const char *base, const char *name,
    gw_sch_node_t *node, gw_schema_cerr_t *err);
int gw_sch_remember(gw_schema_t *s, json_t *json);

/* gw_schema_uri.c */
char *gw_sch_uri_resolve(gw_schema_t *s, const char *base, const char *ref);
size_t gw_sch_uri_strip(const char *uri);
int gw_sch_uri_is_absolute(const char *uri);
size_t gw_sch_pct_decode(char *dst, const char *src, size_t len);
json_t *gw_sch_pointer_get(json_t *root, const char *ptr, size_t len);
char *gw_sch_pointer_join(gw_schema_t *s, const char *base,
    const char *seg, size_t seg_len);
size_t gw_sch_pointer_escape(char *dst, const char *src, size_t len);

/* gw_schema_regex.c */
gw_sch_regex_t *gw_sch_regex_compile(gw_schema_t *s, const char *src,
    size_t len, char *err, size_t errlen);
int gw_sch_regex_match(gw_schema_t *s, gw_sch_regex_t *re,
    const char *str, size_t len);
int gw_sch_regex_check(const char *src, size_t len);
int gw_sch_content_check(const gw_sch_node_t *n, const char *str,
    size_t len);

/* gw_schema_idn.c */
int gw_sch_hostname(const char *s, size_t len, int idn);

/* gw_schema_format.c */
int gw_sch_format_id(const char *name);
int gw_sch_format_check(int fmt, const char *str, size_t len);

/* gw_schema_decimal.c */
void gw_sch_num_text(gw_sch_num_t *x, const char *p, size_t len);
void gw_sch_num_dec(gw_sch_num_t *x, const gw_sch_dec_t *d, char *buf);
int gw_sch_num_order(const gw_sch_num_t *x, const gw_sch_num_t *y);
int gw_sch_num_integral(const gw_sch_num_t *x);
int gw_sch_num_multiple(const gw_sch_num_t *x, const gw_sch_dec_t *m);
double gw_sch_num_approx(const gw_sch_num_t *x);
double gw_sch_decimal_double(const char *text, size_t len);

/* gw_schema_number.c */
int gw_sch_num_cmp(const gw_schema_value_t *a, const gw_schema_value_t *b);
int gw_sch_bound_order(const gw_schema_value_t *v,
    const gw_schema_value_t *b, const gw_sch_dec_t *bd);
int gw_sch_decimal_keep(const char *text, size_t len);
int gw_sch_is_integer(const gw_schema_value_t *v);
int gw_sch_dec_from(const gw_schema_value_t *v, gw_sch_dec_t *d);
int gw_sch_multiple_of(const gw_schema_value_t *v,
    const gw_schema_value_t *m, const gw_sch_dec_t *md);
int gw_sch_equal(const gw_schema_value_t *a, const gw_schema_value_t *b);
int gw_sch_unique(const gw_schema_value_t *arr);

/* gw_schema_value.c */
void *gw_sch_doc_alloc(gw_schema_doc_t *doc, size_t size);
void gw_sch_doc_reset(gw_schema_doc_t *doc);
int gw_sch_value_from_json(gw_schema_doc_t *doc, const json_t *j,
    gw_schema_value_t *v);
json_t *gw_sch_value_to_json(const gw_schema_value_t *v);
const gw_schema_value_t *gw_sch_const(gw_schema_t *s, const json_t *j);
const gw_schema_value_t *gw_sch_get(const gw_schema_value_t *obj,
    const char *name, size_t len);


/*
 * The order of v (-1, 0, 1) against a bound of a schema, b, whose
 * decimal is bd: two integers or two doubles inline, the rest by
 * gw_sch_bound_order().
 */

static inline int
gw_sch_bound_cmp(const gw_schema_value_t *v, const gw_schema_value_t *b,
    const gw_sch_dec_t *bd)
{
    if (v->type == GW_SCHEMA_INTEGER && b->type == GW_SCHEMA_INTEGER) {
        return (v->u.i > b->u.i) - (v->u.i < b->u.i);
    }

    if (v->type == GW_SCHEMA_REAL && b->type == GW_SCHEMA_REAL) {
        return (v->u.d > b->u.d) - (v->u.d < b->u.d);
    }

    return gw_sch_bound_order(v, b, bd);
}


#endif /* _GW_SCHEMA_INT_H_INCLUDED_ */
