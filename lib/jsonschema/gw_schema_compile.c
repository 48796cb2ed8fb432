
/*
 * Copyright (C) Tollgate
 *
 * Compiling a schema document into nodes (gw_schema_int.h).  The walk
 * follows the document as the specification reads it: a base URI that
 * "$id" changes, anchors registered under that base, and keywords
 * decoded only for the vocabularies in force ("$schema", "$vocabulary",
 * draft-07's "$ref" hiding its siblings); gw_schema_keywords.c decodes
 * the keywords of each vocabulary.  Each keyword's value is checked as
 * it is decoded, and a bad one stops the compile with the
 * JSON pointer of the keyword, so a schema that compiles is one the
 * validator fully understands.  References are only recorded here, as
 * absolute URIs; gw_schema_ref.c resolves them once the walk is over.
 *
 * Caps: max_depth nested subschemas, max_nodes subschemas in all.
 */


#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_schema_int.h"


#define GW_SCH_ARENA_CHUNK  16384


static gw_sch_node_t *gw_sch_node(gw_sch_cc_t *cc, json_t *json,
    const char *seg);
static int gw_sch_keywords(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js);


void *
gw_sch_alloc(gw_schema_t *s, size_t size)
{
    size_t           chunk;
    unsigned char   *p;
    gw_sch_arena_t  *a;

    size = (size + 15) & ~(size_t) 15;
    a = s->arena;

    if (a == NULL || a->size - a->used < size) {
        chunk = size > GW_SCH_ARENA_CHUNK ? size : GW_SCH_ARENA_CHUNK;

        a = malloc(sizeof(gw_sch_arena_t) + 16 + chunk);
        if (a == NULL) {
            return NULL;
        }

        a->size = chunk;
        a->used = 0;
        a->next = s->arena;
        s->arena = a;
    }

    p = (unsigned char *) a + ((sizeof(gw_sch_arena_t) + 15) & ~15)
        + a->used;
    a->used += size;

    memset(p, 0, size);

    return p;
}


char *
gw_sch_strdup(gw_schema_t *s, const char *str, size_t len)
{
    char  *p;

    p = gw_sch_alloc(s, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, str, len);
    p[len] = '\0';

    return p;
}


int
gw_sch_fail(gw_sch_cc_t *cc, const char *kw, const char *fmt, ...)
{
    va_list  args;

    if (cc->err == NULL) {
        return -1;
    }

    snprintf(cc->err->pointer, sizeof(cc->err->pointer), "%s%s%s%s%s",
             cc->doc != NULL ? cc->doc : "", cc->doc != NULL ? "#" : "",
             cc->ptr, kw != NULL ? "/" : "", kw != NULL ? kw : "");

    va_start(args, fmt);
    vsnprintf(cc->err->message, sizeof(cc->err->message), fmt, args);
    va_end(args);

    return -1;
}


/* an error from a helper, placed at kw of the node being compiled */

static int
gw_sch_refail(gw_sch_cc_t *cc, const char *kw)
{
    char  msg[sizeof(cc->err->message)];

    memcpy(msg, cc->err->message, sizeof(msg));
    msg[sizeof(msg) - 1] = '\0';

    return gw_sch_fail(cc, kw, "%s", msg[0] != '\0' ? msg : "invalid");
}


/*
 * Compiles json at base, within res, at pointer ptr of its document,
 * with a draft and vocabularies: the entry for a document root and for
 * a pointer that lands outside the walked subschemas.  Returns the node,
 * or NULL with err filled.
 */

gw_sch_node_t *
gw_sch_compile_at(gw_schema_t *s, json_t *json, const char *base,
    gw_sch_res_t *res, const char *ptr, int draft, unsigned vocab,
    gw_schema_cerr_t *err)
{
    gw_sch_cc_t  cc;

    cc.s = s;
    cc.err = err;
    cc.base = base;
    cc.res = res;
    cc.ptr = "";
    cc.doc = res->doc ? res->uri : NULL;
    cc.draft = draft;
    cc.vocab = vocab;
    cc.depth = 0;

    /* a pointer into a document: the node's own pointer, seg "" */

    if (ptr[0] != '\0') {
        cc.ptr = ptr;
        cc.depth = 1;
    }

    return gw_sch_node(&cc, json, NULL);
}


/* a child of the node being compiled; seg is its escaped pointer step */

gw_sch_node_t *
gw_sch_child(gw_sch_cc_t *cc, json_t *json, const char *seg)
{
    gw_sch_cc_t  child;

    child = *cc;
    child.depth++;

    return gw_sch_node(&child, json, seg);
}


/* "kw/<escaped name>" in the arena */

char *
gw_sch_seg2(gw_schema_t *s, const char *kw, const char *name, size_t len)
{
    char    *p;
    size_t   n, k;

    k = strlen(kw);
    n = gw_sch_pointer_escape(NULL, name, len);

    p = gw_sch_alloc(s, k + n + 2);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, kw, k);
    p[k] = '/';
    gw_sch_pointer_escape(p + k + 1, name, len);
    p[k + 1 + n] = '\0';

    return p;
}


char *
gw_sch_segi(gw_schema_t *s, const char *kw, size_t i)
{
    char  buf[64];

    snprintf(buf, sizeof(buf), "%s/%zu", kw, i);

    return gw_sch_strdup(s, buf, strlen(buf));
}


/*
 * A node for json (an object or a boolean), reached from the node being
 * compiled through seg (NULL: a root).  Checks the caps, links the node
 * into s->nodes and s->jmap, decodes its keywords.  Returns the node, or
 * NULL with cc->err naming the pointer of the problem.
 */

static gw_sch_node_t *
gw_sch_node(gw_sch_cc_t *cc, json_t *json, const char *seg)
{
    gw_schema_t    *s;
    gw_sch_node_t  *n;

    s = cc->s;

    if (seg != NULL) {
        cc->ptr = gw_sch_pointer_join(s, cc->ptr, seg, strlen(seg));
        if (cc->ptr == NULL) {
            gw_sch_fail(cc, NULL, "out of memory");
            return NULL;
        }
    }

    if (!json_is_object(json) && !json_is_boolean(json)) {
        gw_sch_fail(cc, NULL, "a schema must be an object or a boolean");
        return NULL;
    }

    if (cc->depth > s->opts.max_depth) {
        gw_sch_fail(cc, NULL, "schema nested deeper than %u",
                    s->opts.max_depth);
        return NULL;
    }

    if (++s->nnodes > s->opts.max_nodes) {
        gw_sch_fail(cc, NULL, "schema has more than %u subschemas",
                    s->opts.max_nodes);
        return NULL;
    }

    n = gw_sch_alloc(s, sizeof(gw_sch_node_t));
    if (n == NULL) {
        gw_sch_fail(cc, NULL, "out of memory");
        return NULL;
    }

    n->seg = seg != NULL ? seg : "";
    n->ptr = cc->ptr;
    n->json = json;
    n->res = cc->res;
    n->draft = (uint8_t) cc->draft;
    n->max_length = SIZE_MAX;
    n->max_items = SIZE_MAX;
    n->max_props = SIZE_MAX;
    n->max_contains = SIZE_MAX;

    n->next = s->nodes;
    s->nodes = n;

    if (gw_sch_jmap_add(s, n) != 0) {
        gw_sch_fail(cc, NULL, "out of memory");
        return NULL;
    }

    if (json_is_boolean(json)) {
        n->boolean = json_is_true(json) ? GW_SCH_TRUE : GW_SCH_FALSE;
        return n;
    }

    if (gw_sch_keywords(cc, n, json) != 0) {
        return NULL;
    }

    return n;
}


/* "$schema" of a resource root: its draft and vocabularies */

static int
gw_sch_dialect(gw_sch_cc_t *cc, json_t *js)
{
    int       draft;
    json_t   *v;
    unsigned  vocab;

    v = json_object_get(js, "$schema");
    if (v == NULL) {
        return 0;
    }

    if (!json_is_string(v)) {
        return gw_sch_fail(cc, "$schema", "must be a string");
    }

    if (gw_sch_meta_dialect(cc->s, json_string_value(v), &draft, &vocab)
        != 0)
    {
        return gw_sch_fail(cc, "$schema", "unknown metaschema \"%s\"",
                           json_string_value(v));
    }

    cc->draft = draft;
    cc->vocab = vocab;

    return 0;
}


/* "$id", "$anchor", "$dynamicAnchor": the node's identity */

static int
gw_sch_identity(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js)
{
    char           *uri;
    size_t          len;
    json_t         *v;
    const char     *id, *frag;
    gw_schema_t    *s;
    gw_sch_res_t   *res;

    s = cc->s;

    v = json_object_get(js, "$id");

    if (v != NULL && cc->draft == GW_SCHEMA_DRAFT_07
        && json_object_get(js, "$ref") != NULL)
    {
        v = NULL;           /* draft-07: "$ref" hides its siblings */
    }

    if (v != NULL) {
        if (!json_is_string(v)) {
            return gw_sch_fail(cc, "$id", "must be a string");
        }

        id = json_string_value(v);

        if (cc->draft == GW_SCHEMA_DRAFT_07 && id[0] == '#') {
            /* a location-independent identifier: a plain-name anchor */
            if (gw_sch_add_anchor(s, cc->base, id + 1, n, cc->err) != 0) {
                return gw_sch_refail(cc, "$id");
            }

            v = NULL;

        } else {
            frag = strchr(id, '#');

            if (frag != NULL && frag[1] != '\0'
                && cc->draft != GW_SCHEMA_DRAFT_07)
            {
                return gw_sch_fail(cc, "$id", "must not have a fragment");
            }

            uri = gw_sch_uri_resolve(s, cc->base, id);
            if (uri == NULL) {
                return gw_sch_fail(cc, "$id", "out of memory");
            }

            len = gw_sch_uri_strip(uri);

            res = gw_sch_find_res(s, uri, len);

            if (res != NULL && res->root != js) {
                return gw_sch_fail(cc, "$id", "\"%.*s\" is already used",
                                   (int) len, uri);
            }

            if (res == NULL) {
                res = gw_sch_alloc(s, sizeof(gw_sch_res_t));
                if (res == NULL) {
                    return gw_sch_fail(cc, "$id", "out of memory");
                }

                res->next = s->res;
                s->res = res;
            }

            if (frag != NULL && frag[1] != '\0') {
                /* draft-07 "$id": "x.json#name" */
                if (gw_sch_add_anchor(s, uri, frag + 1, n, cc->err) != 0) {
                    return gw_sch_refail(cc, "$id");
                }
            }

            uri[len] = '\0';
            res->uri = uri;
            res->root = js;
            res->node = n;

            if (gw_sch_dialect(cc, js) != 0) {
                return -1;
            }

            res->draft = cc->draft;
            res->vocab = cc->vocab;

            cc->base = uri;
            cc->res = res;
            n->res = res;
            n->draft = (uint8_t) cc->draft;
        }
    }

    if (cc->draft == GW_SCHEMA_DRAFT_07) {
        return 0;
    }

    v = json_object_get(js, "$anchor");

    if (v != NULL) {
        if (!json_is_string(v)) {
            return gw_sch_fail(cc, "$anchor", "must be a string");
        }

        if (gw_sch_add_anchor(s, cc->base, json_string_value(v), n, cc->err)
            != 0)
        {
            return gw_sch_refail(cc, "$anchor");
        }
    }

    v = json_object_get(js, "$dynamicAnchor");

    if (v != NULL) {
        if (!json_is_string(v)) {
            return gw_sch_fail(cc, "$dynamicAnchor", "must be a string");
        }

        if (gw_sch_add_anchor(s, cc->base, json_string_value(v), n, cc->err)
            != 0
            || gw_sch_add_dynamic(s, cc->res, json_string_value(v), n) != 0)
        {
            return gw_sch_refail(cc, "$dynamicAnchor");
        }
    }

    return 0;
}


/* every keyword of the schema object js into n: 0, or -1 with cc->err */

/*
 * The instance types (1 << GW_SCHEMA_*) that n's "type" takes whatever
 * their value: all without "type"; a real only where any number does,
 * since where only integers do its value decides.
 */

static unsigned
gw_sch_vtypes(const gw_sch_node_t *n)
{
    unsigned  t;

    if (!(n->kw & GW_SCH_KW_TYPE)) {
        return (1u << GW_SCHEMA_NULL) | (1u << GW_SCHEMA_FALSE)
               | (1u << GW_SCHEMA_TRUE) | (1u << GW_SCHEMA_INTEGER)
               | (1u << GW_SCHEMA_REAL) | (1u << GW_SCHEMA_STRING)
               | (1u << GW_SCHEMA_ARRAY) | (1u << GW_SCHEMA_OBJECT)
               | (1u << GW_SCHEMA_DECIMAL);
    }

    t = 0;

    if (n->types & GW_SCH_T_NULL) {
        t |= 1u << GW_SCHEMA_NULL;
    }

    if (n->types & GW_SCH_T_BOOLEAN) {
        t |= (1u << GW_SCHEMA_FALSE) | (1u << GW_SCHEMA_TRUE);
    }

    if (n->types & (GW_SCH_T_NUMBER | GW_SCH_T_INTEGER)) {
        t |= 1u << GW_SCHEMA_INTEGER;
    }

    if (n->types & GW_SCH_T_NUMBER) {
        t |= (1u << GW_SCHEMA_REAL) | (1u << GW_SCHEMA_DECIMAL);
    }

    if (n->types & GW_SCH_T_STRING) {
        t |= 1u << GW_SCHEMA_STRING;
    }

    if (n->types & GW_SCH_T_ARRAY) {
        t |= 1u << GW_SCHEMA_ARRAY;
    }

    if (n->types & GW_SCH_T_OBJECT) {
        t |= 1u << GW_SCHEMA_OBJECT;
    }

    return t;
}


/*
 * n->range and its bounds, when the numeric keywords of n are only
 * "minimum" and "maximum" of integers within 2^53 of 0: an integer then
 * compares with them as one, and a double as one too, since each bound
 * is exact as a double and, that near 0, gw_sch_num_cmp() compares the
 * values themselves (beyond, a double is 2^53 + 2 or more and its
 * shortest decimal is still beyond the bound).
 */

static void
gw_sch_range(gw_sch_node_t *n)
{
    const int64_t  lim = (int64_t) 1 << 53;

    if (!(n->kw & GW_SCH_KW_NUMBER) || n->xminimum != NULL
        || n->xmaximum != NULL || n->multiple_of != NULL)
    {
        return;
    }

    n->imin = INT64_MIN;
    n->imax = INT64_MAX;
    n->fmin = -DBL_MAX;
    n->fmax = DBL_MAX;

    if (n->minimum != NULL) {
        if (n->minimum->type != GW_SCHEMA_INTEGER
            || n->minimum->u.i < -lim || n->minimum->u.i > lim)
        {
            return;
        }

        n->imin = n->minimum->u.i;
        n->fmin = (double) n->imin;
    }

    if (n->maximum != NULL) {
        if (n->maximum->type != GW_SCHEMA_INTEGER
            || n->maximum->u.i < -lim || n->maximum->u.i > lim)
        {
            return;
        }

        n->imax = n->maximum->u.i;
        n->fmax = (double) n->imax;
    }

    n->range = 1;
}


static int
gw_sch_keywords(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js)
{
    char         *seg;
    json_t       *v, *d;
    const char   *key;
    gw_schema_t  *s;

    s = cc->s;

    if (gw_sch_identity(cc, n, js) != 0) {
        return -1;
    }

    /* containers of subschemas, walked for their "$id"s and anchors;
     * draft-07's "definitions" too when "$ref" hides the other keywords */

    key = (cc->draft == GW_SCHEMA_DRAFT_07) ? "definitions" : "$defs";
    v = json_object_get(js, key);

    if (v != NULL) {
        if (!json_is_object(v)) {
            return gw_sch_fail(cc, key, "must be an object");
        }

        json_object_foreach(v, key, d) {
            seg = gw_sch_seg2(s, cc->draft == GW_SCHEMA_DRAFT_07
                                 ? "definitions" : "$defs",
                              key, strlen(key));
            if (seg == NULL || gw_sch_child(cc, d, seg) == NULL) {
                return seg == NULL ? gw_sch_fail(cc, NULL, "out of memory")
                                   : -1;
            }
        }
    }

    v = json_object_get(js, "$ref");

    if (v != NULL) {
        if (!json_is_string(v)) {
            return gw_sch_fail(cc, "$ref", "must be a string");
        }

        n->ref_uri = gw_sch_uri_resolve(s, cc->base, json_string_value(v));
        if (n->ref_uri == NULL) {
            return gw_sch_fail(cc, "$ref", "out of memory");
        }

        n->kw |= GW_SCH_KW_REF;

        if (cc->draft == GW_SCHEMA_DRAFT_07) {
            return 0;
        }
    }

    if (cc->draft != GW_SCHEMA_DRAFT_07) {
        v = json_object_get(js, "$dynamicRef");

        if (v != NULL) {
            if (!json_is_string(v)) {
                return gw_sch_fail(cc, "$dynamicRef", "must be a string");
            }

            n->dref_uri = gw_sch_uri_resolve(s, cc->base,
                                             json_string_value(v));
            if (n->dref_uri == NULL) {
                return gw_sch_fail(cc, "$dynamicRef", "out of memory");
            }

            key = strchr(n->dref_uri, '#');

            if (key != NULL && key[1] != '/') {
                n->dref_anchor = key + 1;
            }

            n->kw |= GW_SCH_KW_DYNREF;
        }
    }

    if ((cc->vocab & GW_SCH_V_APPLICATOR)
        && (gw_sch_kw_applicators(cc, n, js) != 0
            || gw_sch_kw_objects(cc, n, js) != 0))
    {
        return -1;
    }

    if ((cc->vocab & GW_SCH_V_VALIDATION)
        && gw_sch_kw_validation(cc, n, js) != 0)
    {
        return -1;
    }

    v = json_object_get(js, "format");

    if (v != NULL && json_is_string(v)
        && (s->opts.format_assert || (cc->vocab & GW_SCH_V_FORMAT)))
    {
        n->format = (uint8_t) gw_sch_format_id(json_string_value(v));

        if (n->format != GW_SCH_FMT_NONE) {
            n->kw |= GW_SCH_KW_STRING;
        }
    }

    /* draft-07 lets content assert; 2020-12 makes it an annotation */

    if (cc->draft == GW_SCHEMA_DRAFT_07) {
        v = json_object_get(js, "contentEncoding");
        n->content_b64 = json_is_string(v)
                         && strcasecmp(json_string_value(v), "base64") == 0;

        v = json_object_get(js, "contentMediaType");
        n->content_json = json_is_string(v)
                          && strncasecmp(json_string_value(v),
                                         "application/json", 16) == 0
                          && (json_string_value(v)[16] == '\0'
                              || json_string_value(v)[16] == ';');

        if (n->content_b64 || n->content_json) {
            n->kw |= GW_SCH_KW_STRING;
        }
    }

    if (cc->draft != GW_SCHEMA_DRAFT_07 && (cc->vocab & GW_SCH_V_UNEVALUATED))
    {
        v = json_object_get(js, "unevaluatedItems");

        if (v != NULL) {
            n->unev_items = gw_sch_child(cc, v, "unevaluatedItems");
            if (n->unev_items == NULL) {
                return -1;
            }

            n->kw |= GW_SCH_KW_UNEV_ITEMS;
        }

        v = json_object_get(js, "unevaluatedProperties");

        if (v != NULL) {
            n->unev_props = gw_sch_child(cc, v, "unevaluatedProperties");
            if (n->unev_props == NULL) {
                return -1;
            }

            n->kw |= GW_SCH_KW_UNEV_PROPS;
        }
    }

    /* a container gw_schema_check() can walk itself, without values */

    n->simple = (n->kw & ~GW_SCH_KW_SIMPLE) == 0 && !n->unique
                && n->contains == NULL && n->npprops == 0
                && n->prop_names == NULL && n->ndep_sch == 0;

    /* what gw_sch_leaf() takes without a second look */

    n->leaf = (n->kw & ~GW_SCH_KW_LEAF) == 0;
    n->vtypes = gw_sch_vtypes(n);
    n->vplain = n->vtypes;

    if (n->kw & GW_SCH_KW_NUMBER) {
        n->vplain &= ~((1u << GW_SCHEMA_INTEGER) | (1u << GW_SCHEMA_REAL)
                       | (1u << GW_SCHEMA_DECIMAL));
    }

    if (n->kw & GW_SCH_KW_STRING) {
        n->vplain &= ~(1u << GW_SCHEMA_STRING);
    }

    gw_sch_range(n);

    return 0;
}
