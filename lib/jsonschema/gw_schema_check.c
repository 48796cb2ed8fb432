
/*
 * Copyright (C) Tollgate
 *
 * gw_schema_check(): parsing and validating in one pass, for the common
 * case of a valid body.  The values are checked as they are read: an
 * object's members against "properties" and "additionalProperties", an
 * array's items against "prefixItems" and "items", with the sizes,
 * "required" and "dependentRequired" decided when the container closes;
 * nothing of the tree is kept but the keys that duplicates and those
 * keywords need.  A scalar is parsed into one value and handed to the
 * evaluator with its node, which then decides every keyword, "$ref"s and
 * applicators included (a leaf node's "type" and bounds inline).
 *
 * A container whose node holds more than those keywords (applicators,
 * "$ref" beside other keywords, "unevaluated*", "uniqueItems",
 * "contains", "patternProperties", "propertyNames", "dependentSchemas")
 * is parsed into values and handed to the evaluator whole, so that the
 * answer is always the evaluator's: the walk here only does, for the
 * simple keywords, what gw_sch_keywords() does, in the same order of
 * scope and with the same caps, and gives up on anything else.
 *
 * It answers only "valid and well-formed": at the first failure of any
 * kind it stops, and the caller parses the text into values and
 * validates them, for the error and its location.
 */


#include "gw_schema_scan.h"
#include "gw_schema_vc.h"


#define GW_SCH_CK_HOPS    64        /* "$ref"s followed for one value */


typedef struct {
    gw_sch_jp_t   jp;
    gw_sch_vc_t   vc;
    unsigned      max_depth;    /* vc.s->opts, at hand */
    unsigned      max_eval;
} gw_sch_ck_t;


static const unsigned char *gw_sch_ck_value(gw_sch_ck_t *ck,
    const unsigned char *p, const gw_sch_node_t *n, const char *seg);


/*
 * Enters node n as gw_sch_eval() does: the evaluation depth, and n's
 * resource in the dynamic scope.  0, or -1 past max_eval.
 */

static inline int
gw_sch_ck_enter(gw_sch_ck_t *ck, const gw_sch_node_t *n)
{
    gw_schema_t  *s;

    s = ck->vc.s;

    if (ck->vc.depth >= ck->max_eval) {
        return -1;
    }

    ck->vc.depth++;

    if (ck->vc.nscope == 0 || s->scope[ck->vc.nscope - 1] != n->res) {
        s->scope[ck->vc.nscope++] = n->res;
    }

    return 0;
}


/* a child value of n: the instance depth, as gw_sch_eval_at() keeps it */

static inline const unsigned char *
gw_sch_ck_child(gw_sch_ck_t *ck, const unsigned char *p,
    const gw_sch_node_t *child)
{
    if (child == NULL) {
        return gw_sch_ck_value(ck, p, NULL, NULL);
    }

    if (ck->vc.idepth >= ck->max_depth) {
        return NULL;
    }

    ck->vc.idepth++;
    p = gw_sch_ck_value(ck, p, child, child->seg);
    ck->vc.idepth--;

    return p;
}


/*
 * A member's value or an item at p, against child (NULL: anything):
 * scalars read and checked here without a call of gw_sch_ck_value()
 * each, and mostly without a call at all.
 */

static inline __attribute__((always_inline)) const unsigned char *
gw_sch_ck_item(gw_sch_ck_t *ck, const unsigned char *p,
    const gw_sch_node_t *child)
{
    int                   rc;
    gw_schema_value_t     v;
    const unsigned char  *end;

    end = ck->jp.end;
    p = gw_sch_jp_ws(p, end);

    if (p == end) {
        return NULL;
    }

    switch (*p) {

    case '"':
        p = gw_sch_jp_string(&ck->jp, p + 1, &v);
        break;

    case '{':
    case '[':
        return gw_sch_ck_child(ck, p, child);

    case 't':
    case 'f':
    case 'n':
        p = gw_sch_jp_literal(p, end, &v);
        break;

    default:
        p = gw_sch_jp_num(&ck->jp, p, &v);
    }

    if (p == NULL || child == NULL) {
        return p;
    }

    if (ck->vc.idepth >= ck->max_depth) {
        return NULL;
    }

    /* gw_sch_scalar(), knowing that no error is wanted */

    if (child->leaf && ck->vc.depth < ck->max_eval) {
        if ((child->vplain >> v.type) & 1) {
            return p;
        }

        rc = gw_sch_leaf(&ck->vc, child, &v);

    } else {
        ck->vc.idepth++;
        rc = gw_sch_eval(&ck->vc, child, child->seg, &v, NULL);
        ck->vc.idepth--;
    }

    return (rc == 1 && !ck->vc.aborted) ? p : NULL;
}


static const unsigned char *
gw_sch_ck_array(gw_sch_ck_t *ck, const unsigned char *p,
    const gw_sch_node_t *n)
{
    size_t                 count;
    const unsigned char   *end;
    const gw_sch_node_t   *child;

    end = ck->jp.end;
    count = 0;

    p = gw_sch_jp_ws(p, end);

    if (p < end && *p == ']') {
        p++;
        goto done;
    }

    for ( ;; ) {
        child = NULL;

        if (n != NULL) {
            child = (count < n->nprefix) ? n->prefix[count] : n->items;
        }

        p = gw_sch_ck_item(ck, p, child);
        if (p == NULL) {
            return NULL;
        }

        count++;

        /* a comma at once, mostly */

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        p = gw_sch_jp_ws(p, end);

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        if (p < end && *p == ']') {
            p++;
            break;
        }

        return NULL;
    }

done:

    if (n != NULL && (count < n->min_items || count > n->max_items)) {
        return NULL;
    }

    return p;
}


static const unsigned char *
gw_sch_ck_object(gw_sch_ck_t *ck, const unsigned char *p,
    const gw_sch_node_t *n)
{
    int                    keep, dups;
    size_t                 start, count, next, i, j;
    uint64_t               seen, bit;
    gw_sch_jp_t           *jp;
    gw_schema_doc_t       *doc;
    gw_schema_value_t      key, keys;
    const unsigned char   *end;
    const gw_sch_dep_t    *d;
    const gw_sch_prop_t   *prop;
    const gw_sch_node_t   *child;

    jp = &ck->jp;
    doc = jp->doc;
    end = jp->end;
    start = jp->nmembers;
    count = 0;
    seen = 0;
    next = 0;

    /*
     * The names kept on the stack: every one where "required" or
     * "dependentRequired" look names up, else only those that no bit of
     * seen stands for.  A property's name cannot be another's, nor one
     * no property has: a duplicate among the names seen stands for is
     * its bit set twice, and the stack holds the rest.
     */

    dups = (jp->flags & JSON_REJECT_DUPLICATES) != 0;
    keep = (n == NULL || n->ndep_req != 0
            || (n->nrequired != 0 && n->req_mask == 0));

    p = gw_sch_jp_ws(p, end);

    if (p < end && *p == '}') {
        p++;
        goto done;
    }

    for ( ;; ) {
        /*
         * Members mostly come in the order of "properties": the text is
         * compared first with the name of the one after the last found,
         * quotes included, when that name is written as it is.
         */

        prop = (n != NULL && next < n->nprops) ? &n->props[next] : NULL;

        if (prop != NULL && prop->plain && (size_t) (end - p) > prop->len + 1
            && *p == '"' && p[prop->len + 1] == '"'
            && gw_sch_same((const char *) p + 1, prop->name, prop->len))
        {
            key.u.s = (const char *) p + 1;
            key.len = (uint32_t) prop->len;
            next++;

            p = gw_sch_jp_colon(p + prop->len + 2, end);

        } else {
            p = gw_sch_jp_key(jp, p, &key);

            prop = (p != NULL && n != NULL && n->nprops != 0)
                   ? gw_sch_prop_find(n, key.u.s, key.len, &next) : NULL;
        }

        if (p == NULL) {
            return NULL;
        }

        count++;
        child = NULL;
        bit = 0;

        if (n != NULL) {
            if (prop != NULL) {
                child = prop->node;

                if (prop - n->props < 64) {
                    bit = (uint64_t) 1 << (prop - n->props);

                    if ((seen & bit) && dups) {
                        return NULL;
                    }

                    seen |= bit;
                }

            } else if (n->additional != NULL) {
                if (n->additional->boolean == GW_SCH_FALSE) {
                    return NULL;
                }

                child = n->additional;
            }
        }

        if ((keep || (bit == 0 && dups))
            && gw_sch_jp_member(jp, &key) == NULL)
        {
            return NULL;
        }

        p = gw_sch_ck_item(ck, p, child);
        if (p == NULL) {
            return NULL;
        }

        /* a comma at once, mostly */

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        p = gw_sch_jp_ws(p, end);

        if (p < end && *p == ',') {
            p++;
            continue;
        }

        if (p < end && *p == '}') {
            p++;
            break;
        }

        return NULL;
    }

done:

    if (dups && jp->nmembers - start > 1
        && gw_sch_jp_dups(jp, doc->members + start, jp->nmembers - start)
           != 0)
    {
        return NULL;
    }

    if (n != NULL) {
        if (count < n->min_props || count > n->max_props) {
            return NULL;
        }

        /* the keys on the stack, looked up as an object's members */

        keys.type = GW_SCHEMA_OBJECT;
        keys.len = (uint32_t) (jp->nmembers - start);
        keys.u.members = doc->members + start;

        /* "required": by the properties seen when the mask says it all */

        if (n->req_mask != 0) {
            if ((seen & n->req_mask) != n->req_mask) {
                return NULL;
            }

        } else {
            for (i = 0; i < n->nrequired; i++) {
                if (gw_sch_get(&keys, n->required[i],
                               strlen(n->required[i]))
                    == NULL)
                {
                    return NULL;
                }
            }
        }

        for (i = 0; i < n->ndep_req; i++) {
            d = &n->dep_req[i];

            if (gw_sch_get(&keys, d->name, d->len) == NULL) {
                continue;
            }

            for (j = 0; j < d->nnames; j++) {
                if (gw_sch_get(&keys, d->names[j], strlen(d->names[j]))
                    == NULL)
                {
                    return NULL;
                }
            }
        }
    }

    jp->nmembers = start;

    return p;
}


/*
 * The value at p against n (NULL: anything), reached through seg.
 * Returns the byte after it, or NULL: malformed, invalid, or left to the
 * caller's second look.
 */

static const unsigned char *
gw_sch_ck_value(gw_sch_ck_t *ck, const unsigned char *p,
    const gw_sch_node_t *n, const char *seg)
{
    int                   rc;
    size_t                depth, nscope, hops;
    gw_sch_jp_t          *jp;
    gw_schema_value_t     v;
    const unsigned char  *end;

    jp = &ck->jp;
    end = jp->end;

    p = gw_sch_jp_ws(p, end);

    if (p == end) {
        return NULL;
    }

    if (*p != '{' && *p != '[') {
        /* a scalar: the evaluator decides every keyword of n on it */

        if (*p == '"') {
            p = gw_sch_jp_string(jp, p + 1, &v);

        } else if ((unsigned) (*p - '0') < 10 || *p == '-') {
            p = gw_sch_jp_num(jp, p, &v);

        } else {
            p = gw_sch_jp_value(jp, p, &v);
        }

        if (p == NULL || n == NULL) {
            return p;
        }

        rc = gw_sch_scalar(&ck->vc, n, seg, &v);

        return (rc == 1 && !ck->vc.aborted) ? p : NULL;
    }

    if (jp->depth >= jp->max_depth) {
        return NULL;
    }

    depth = ck->vc.depth;
    nscope = ck->vc.nscope;

    /* a node of only "$ref" is its target, with its scope */

    for (hops = 0;
         n != NULL && n->boolean == GW_SCH_NONE && n->kw == GW_SCH_KW_REF;
         hops++)
    {
        if (hops == GW_SCH_CK_HOPS || gw_sch_ck_enter(ck, n) != 0) {
            return NULL;
        }

        n = n->ref;
        seg = "$ref";
    }

    if (n != NULL && n->boolean != GW_SCH_NONE) {
        if (n->boolean == GW_SCH_FALSE) {
            return NULL;
        }

        n = NULL;
    }

    if (n != NULL && !n->simple) {
        /* the whole value to the evaluator */

        p = gw_sch_jp_value(jp, p, &v);

        if (p != NULL) {
            rc = gw_sch_eval(&ck->vc, n, seg, &v, NULL);

            if (rc != 1 || ck->vc.aborted) {
                p = NULL;
            }
        }

        goto done;
    }

    if (n != NULL) {
        if (gw_sch_ck_enter(ck, n) != 0) {
            return NULL;
        }

        if ((n->kw & GW_SCH_KW_TYPE)
            && !(n->types & (*p == '{' ? GW_SCH_T_OBJECT : GW_SCH_T_ARRAY)))
        {
            return NULL;
        }

        if (!(n->kw & (*p == '{' ? GW_SCH_KW_OBJECT : GW_SCH_KW_ARRAY))) {
            /* no keyword for this type: the items need no schema */
            n = NULL;
        }
    }

    jp->depth++;

    p = (*p == '{') ? gw_sch_ck_object(ck, p + 1, n)
                    : gw_sch_ck_array(ck, p + 1, n);

    jp->depth--;

done:

    ck->vc.depth = depth;
    ck->vc.nscope = nscope;

    return p;
}


int
gw_schema_check(gw_schema_t *s, gw_schema_doc_t *doc, const char *text,
    size_t len, size_t flags, unsigned max_depth)
{
    gw_sch_ck_t           ck;
    const unsigned char  *p;

    if (s == NULL || s->root == NULL) {
        return 0;
    }

    gw_sch_doc_reset(doc);

    memset(&ck, 0, sizeof(gw_sch_ck_t));
    ck.jp.end = (const unsigned char *) text + len;
    ck.jp.doc = doc;
    ck.jp.flags = flags;
    ck.jp.max_depth = (max_depth == 0 || max_depth > GW_SCHEMA_JSON_DEPTH)
                      ? GW_SCHEMA_JSON_DEPTH : max_depth;
    ck.vc.s = s;
    ck.max_depth = s->opts.max_depth;
    ck.max_eval = s->opts.max_eval;

    p = gw_sch_jp_ws((const unsigned char *) text, ck.jp.end);

    if (!(flags & JSON_DECODE_ANY)
        && (p == ck.jp.end || (*p != '{' && *p != '[')))
    {
        return 0;
    }

    p = gw_sch_ck_value(&ck, p, s->root, "");

    if (p == NULL) {
        return 0;
    }

    return gw_sch_jp_ws(p, ck.jp.end) == ck.jp.end;
}
