
/*
 * Copyright (C) Tollgate
 *
 * Decoding the keywords of one schema object for gw_schema_compile.c:
 * the applicators (allOf to contains, draft-07's array "items" and
 * "additionalItems"), the object keywords (a hashed "properties" table,
 * compiled patternProperties, dependencies in all three spellings) and
 * the validation vocabulary (type, enum, const, the numeric, string,
 * array and object bounds).  Every value is checked here; a bad one
 * fails the compile at its JSON pointer, so validation never meets a
 * keyword it does not understand.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_int.h"


/* an array of one or more schemas: allOf, anyOf, oneOf, prefixItems */

static int
gw_sch_list(gw_sch_cc_t *cc, json_t *js, const char *kw,
    gw_sch_node_t ***list, size_t *nlist, int empty_ok)
{
    char      *seg;
    size_t     i, n;
    json_t    *v;

    v = json_object_get(js, kw);
    if (v == NULL) {
        return 0;
    }

    if (!json_is_array(v) || (json_array_size(v) == 0 && !empty_ok)) {
        return gw_sch_fail(cc, kw, "must be a non-empty array of schemas");
    }

    n = json_array_size(v);

    *list = gw_sch_alloc(cc->s, (n + 1) * sizeof(gw_sch_node_t *));
    if (*list == NULL) {
        return gw_sch_fail(cc, kw, "out of memory");
    }

    for (i = 0; i < n; i++) {
        seg = gw_sch_segi(cc->s, kw, i);
        if (seg == NULL) {
            return gw_sch_fail(cc, kw, "out of memory");
        }

        (*list)[i] = gw_sch_child(cc, json_array_get(v, i), seg);
        if ((*list)[i] == NULL) {
            return -1;
        }
    }

    *nlist = n;

    return 0;
}


static int
gw_sch_one(gw_sch_cc_t *cc, json_t *js, const char *kw, gw_sch_node_t **to)
{
    json_t  *v;

    v = json_object_get(js, kw);
    if (v == NULL) {
        return 0;
    }

    *to = gw_sch_child(cc, v, kw);

    return *to == NULL ? -1 : 0;
}


/* allOf to else, and the array applicators: 0, or -1 with cc->err */

int
gw_sch_kw_applicators(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js)
{
    json_t  *v;

    if (gw_sch_list(cc, js, "allOf", &n->all_of, &n->nall_of, 0) != 0
        || gw_sch_list(cc, js, "anyOf", &n->any_of, &n->nany_of, 0) != 0
        || gw_sch_list(cc, js, "oneOf", &n->one_of, &n->none_of, 0) != 0
        || gw_sch_one(cc, js, "not", &n->not_) != 0
        || gw_sch_one(cc, js, "if", &n->if_) != 0
        || gw_sch_one(cc, js, "then", &n->then_) != 0
        || gw_sch_one(cc, js, "else", &n->else_) != 0)
    {
        return -1;
    }

    if (n->nall_of || n->nany_of || n->none_of || n->not_ || n->if_) {
        n->kw |= GW_SCH_KW_APPLY;
    }

    /* arrays */

    if (cc->draft == GW_SCHEMA_DRAFT_07 || cc->draft == GW_SCH_DRAFT_2019) {
        v = json_object_get(js, "items");

        if (json_is_array(v)) {
            if (gw_sch_list(cc, js, "items", &n->prefix, &n->nprefix, 1)
                != 0
                || gw_sch_one(cc, js, "additionalItems", &n->items) != 0)
            {
                return -1;
            }

        } else if (gw_sch_one(cc, js, "items", &n->items) != 0) {
            return -1;
        }

    } else if (gw_sch_list(cc, js, "prefixItems", &n->prefix, &n->nprefix,
                           0) != 0
               || gw_sch_one(cc, js, "items", &n->items) != 0)
    {
        return -1;
    }

    if (gw_sch_one(cc, js, "contains", &n->contains) != 0) {
        return -1;
    }

    if (n->nprefix || n->items || n->contains) {
        n->kw |= GW_SCH_KW_ARRAY;
    }

    return 0;
}


/*
 * Whether a property's name is written in JSON as it is, with no escape
 * possible in its place: printable ASCII but '"' and '\\', of a length
 * an instance string can have (gw_schema_check() compares the text with
 * it).
 */

static uint32_t
gw_sch_plain_name(const char *name, size_t len)
{
    size_t  i;

    if (len > UINT32_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) name[i] < 0x20 || (unsigned char) name[i] > 0x7e
            || name[i] == '"' || name[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


/* "properties": a table hashed by name, for the instance's members */

static int
gw_sch_properties(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *v)
{
    char        *seg;
    size_t       i, size;
    uint32_t     h;
    json_t      *d;
    const char  *key;

    if (!json_is_object(v)) {
        return gw_sch_fail(cc, "properties", "must be an object");
    }

    n->nprops = json_object_size(v);

    for (size = 4; size < n->nprops * 2; size *= 2) {
        /* void */
    }

    n->props = gw_sch_alloc(cc->s, n->nprops * sizeof(gw_sch_prop_t) + 1);
    n->ptab = gw_sch_alloc(cc->s, size * sizeof(uint32_t));
    if (n->props == NULL || n->ptab == NULL) {
        return gw_sch_fail(cc, "properties", "out of memory");
    }

    n->ptab_mask = (uint32_t) size - 1;
    i = 0;

    json_object_foreach(v, key, d) {
        n->props[i].name = key;
        n->props[i].len = json_object_iter_key_len(
                              json_object_key_to_iter(key));
        n->props[i].hash = gw_sch_keyhash(key, n->props[i].len);
        n->props[i].plain = gw_sch_plain_name(key, n->props[i].len);

        seg = gw_sch_seg2(cc->s, "properties", key, n->props[i].len);
        if (seg == NULL) {
            return gw_sch_fail(cc, "properties", "out of memory");
        }

        n->props[i].node = gw_sch_child(cc, d, seg);
        if (n->props[i].node == NULL) {
            return -1;
        }

        for (h = n->props[i].hash; n->ptab[h & n->ptab_mask] != 0; h++) {
            /* void */
        }

        n->ptab[h & n->ptab_mask] = (uint32_t) i + 1;
        i++;
    }

    return 0;
}


static int
gw_sch_names(gw_sch_cc_t *cc, json_t *v, const char *kw,
    const char ***names, size_t *nnames)
{
    size_t   i, n;
    json_t  *e;

    if (!json_is_array(v)) {
        return gw_sch_fail(cc, kw, "must be an array of strings");
    }

    n = json_array_size(v);

    *names = gw_sch_alloc(cc->s, (n + 1) * sizeof(char *));
    if (*names == NULL) {
        return gw_sch_fail(cc, kw, "out of memory");
    }

    for (i = 0; i < n; i++) {
        e = json_array_get(v, i);

        if (!json_is_string(e)) {
            return gw_sch_fail(cc, kw, "must be an array of strings");
        }

        (*names)[i] = json_string_value(e);
    }

    *nnames = n;

    return 0;
}


/*
 * dependentSchemas / dependentRequired, or draft-07 "dependencies" that
 * holds both kinds: arrays go to dep_req, schemas to dep_sch.
 */

static int
gw_sch_dependencies(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *v,
    const char *kw, int schemas, int names)
{
    char          *seg;
    json_t        *d;
    const char    *key;
    gw_sch_dep_t  *dep;

    if (!json_is_object(v)) {
        return gw_sch_fail(cc, kw, "must be an object");
    }

    if (schemas) {
        n->dep_sch = gw_sch_alloc(cc->s,
                                  json_object_size(v) * sizeof(gw_sch_dep_t)
                                  + 1);
    }

    if (names) {
        n->dep_req = gw_sch_alloc(cc->s,
                                  json_object_size(v) * sizeof(gw_sch_dep_t)
                                  + 1);
    }

    if ((schemas && n->dep_sch == NULL) || (names && n->dep_req == NULL)) {
        return gw_sch_fail(cc, kw, "out of memory");
    }

    json_object_foreach(v, key, d) {
        if (names && json_is_array(d)) {
            dep = &n->dep_req[n->ndep_req++];
            dep->name = key;
            dep->len = strlen(key);

            if (gw_sch_names(cc, d, kw, &dep->names, &dep->nnames) != 0) {
                return -1;
            }

            continue;
        }

        if (!schemas) {
            return gw_sch_fail(cc, kw, "must hold arrays of strings");
        }

        dep = &n->dep_sch[n->ndep_sch++];
        dep->name = key;
        dep->len = strlen(key);

        seg = gw_sch_seg2(cc->s, kw, key, strlen(key));
        if (seg == NULL) {
            return gw_sch_fail(cc, kw, "out of memory");
        }

        dep->node = gw_sch_child(cc, d, seg);
        if (dep->node == NULL) {
            return -1;
        }
    }

    return 0;
}


/* the object applicators and "dependencies": 0, or -1 with cc->err */

int
gw_sch_kw_objects(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js)
{
    char        *seg, errbuf[128];
    size_t       i;
    json_t      *v, *d;
    const char  *key;

    v = json_object_get(js, "properties");

    if (v != NULL && gw_sch_properties(cc, n, v) != 0) {
        return -1;
    }

    v = json_object_get(js, "patternProperties");

    if (v != NULL) {
        if (!json_is_object(v)) {
            return gw_sch_fail(cc, "patternProperties", "must be an object");
        }

        n->pprops = gw_sch_alloc(cc->s, json_object_size(v)
                                        * sizeof(gw_sch_pprop_t) + 1);
        if (n->pprops == NULL) {
            return gw_sch_fail(cc, "patternProperties", "out of memory");
        }

        i = 0;

        json_object_foreach(v, key, d) {
            seg = gw_sch_seg2(cc->s, "patternProperties", key, strlen(key));
            if (seg == NULL) {
                return gw_sch_fail(cc, "patternProperties", "out of memory");
            }

            n->pprops[i].seg = seg;
            n->pprops[i].re = gw_sch_regex_compile(cc->s, key, strlen(key),
                                                   errbuf, sizeof(errbuf));
            if (n->pprops[i].re == NULL) {
                return gw_sch_fail(cc, seg, "bad regular expression: %s",
                                   errbuf);
            }

            n->pprops[i].node = gw_sch_child(cc, d, seg);
            if (n->pprops[i].node == NULL) {
                return -1;
            }

            i++;
        }

        n->npprops = i;
    }

    if (gw_sch_one(cc, js, "additionalProperties", &n->additional) != 0
        || gw_sch_one(cc, js, "propertyNames", &n->prop_names) != 0)
    {
        return -1;
    }

    /* "dependencies" of draft-07, also read by 2020-12 schemas that have
     * neither of the two keywords that replaced it */

    v = json_object_get(js, "dependencies");

    if (v != NULL
        && (cc->draft == GW_SCHEMA_DRAFT_07
            || (json_object_get(js, "dependentSchemas") == NULL
                && json_object_get(js, "dependentRequired") == NULL))
        && gw_sch_dependencies(cc, n, v, "dependencies", 1, 1) != 0)
    {
        return -1;
    }

    v = json_object_get(js, "dependentSchemas");

    if (v != NULL && cc->draft != GW_SCHEMA_DRAFT_07
        && gw_sch_dependencies(cc, n, v, "dependentSchemas", 1, 0) != 0)
    {
        return -1;
    }

    if (n->nprops || n->npprops || n->additional || n->prop_names
        || n->ndep_sch || n->ndep_req)
    {
        n->kw |= GW_SCH_KW_OBJECT;
    }

    return 0;
}


/* a non-negative integer keyword into *to; 1 if present, -1 bad */

static int
gw_sch_count(gw_sch_cc_t *cc, json_t *js, const char *kw, size_t *to)
{
    double   d;
    json_t  *v;

    v = json_object_get(js, kw);
    if (v == NULL) {
        return 0;
    }

    if (!json_is_integer(v)
        && !(json_is_real(v) && isfinite(json_real_value(v))
             && floor(json_real_value(v)) == json_real_value(v)))
    {
        return gw_sch_fail(cc, kw, "must be a non-negative integer");
    }

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            return gw_sch_fail(cc, kw, "must be a non-negative integer");
        }

        *to = (size_t) json_integer_value(v);
        return 1;
    }

    d = json_real_value(v);

    if (d < 0) {
        return gw_sch_fail(cc, kw, "must be a non-negative integer");
    }

    *to = d >= 1.8e19 ? SIZE_MAX : (size_t) d;

    return 1;
}


/* a number keyword into *to, converted; 1 if present, -1 bad */

static int
gw_sch_number(gw_sch_cc_t *cc, json_t *js, const char *kw,
    const gw_schema_value_t **to)
{
    json_t  *v;

    v = json_object_get(js, kw);
    if (v == NULL) {
        return 0;
    }

    if (!json_is_number(v)) {
        return gw_sch_fail(cc, kw, "must be a number");
    }

    *to = gw_sch_const(cc->s, v);
    if (*to == NULL) {
        return gw_sch_fail(cc, kw, "out of memory");
    }

    return 1;
}


static int
gw_sch_type_bit(const char *name)
{
    static const struct {
        const char  *name;
        int          bit;
    } types[] = {
        { "null", GW_SCH_T_NULL }, { "boolean", GW_SCH_T_BOOLEAN },
        { "object", GW_SCH_T_OBJECT }, { "array", GW_SCH_T_ARRAY },
        { "number", GW_SCH_T_NUMBER }, { "string", GW_SCH_T_STRING },
        { "integer", GW_SCH_T_INTEGER }
    };

    size_t  i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(name, types[i].name) == 0) {
            return types[i].bit;
        }
    }

    return 0;
}


/*
 * When every required name is one of the first 64 "properties", the
 * pass over the members that "properties" makes anyway can tell which
 * are present: no lookup by name for "required" then.
 */

static void
gw_sch_required_mask(gw_sch_node_t *n)
{
    size_t  i, j, len;

    n->req_mask = 0;

    if (n->nprops > 64 || n->nrequired == 0) {
        return;
    }

    for (i = 0; i < n->nrequired; i++) {
        len = strlen(n->required[i]);

        for (j = 0; j < n->nprops; j++) {
            if (n->props[j].len == len
                && memcmp(n->props[j].name, n->required[i], len) == 0)
            {
                break;
            }
        }

        if (j == n->nprops) {
            n->req_mask = 0;
            return;
        }

        n->req_mask |= (uint64_t) 1 << j;
    }
}


/* the validation vocabulary: 0, or -1 with cc->err */

int
gw_sch_kw_validation(gw_sch_cc_t *cc, gw_sch_node_t *n, json_t *js)
{
    int      rc, bit;
    char     errbuf[128];
    size_t   i;
    json_t  *v, *e;

    v = json_object_get(js, "type");

    if (v != NULL) {
        if (json_is_string(v)) {
            n->types = (uint8_t) gw_sch_type_bit(json_string_value(v));

            if (n->types == 0) {
                return gw_sch_fail(cc, "type", "unknown type \"%s\"",
                                   json_string_value(v));
            }

        } else if (json_is_array(v)) {
            json_array_foreach(v, i, e) {
                bit = json_is_string(e) ? gw_sch_type_bit(json_string_value(e))
                                        : 0;
                if (bit == 0) {
                    return gw_sch_fail(cc, "type", "unknown type at %zu", i);
                }

                n->types |= (uint8_t) bit;
            }

        } else {
            return gw_sch_fail(cc, "type", "must be a string or an array");
        }

        n->kw |= GW_SCH_KW_TYPE;
    }

    v = json_object_get(js, "enum");

    if (v != NULL) {
        if (!json_is_array(v)) {
            return gw_sch_fail(cc, "enum", "must be an array");
        }

        n->enum_ = gw_sch_const(cc->s, v);
        if (n->enum_ == NULL) {
            return gw_sch_fail(cc, "enum", "out of memory");
        }

        n->kw |= GW_SCH_KW_ENUM;
    }

    v = json_object_get(js, "const");

    if (v != NULL) {
        n->const_ = gw_sch_const(cc->s, v);
        if (n->const_ == NULL) {
            return gw_sch_fail(cc, "const", "out of memory");
        }

        n->kw |= GW_SCH_KW_CONST;
    }

    /* numbers */

    rc = 0;

    if ((rc |= gw_sch_number(cc, js, "minimum", &n->minimum)) < 0
        || (rc |= gw_sch_number(cc, js, "maximum", &n->maximum)) < 0
        || (rc |= gw_sch_number(cc, js, "exclusiveMinimum", &n->xminimum))
           < 0
        || (rc |= gw_sch_number(cc, js, "exclusiveMaximum", &n->xmaximum))
           < 0
        || (rc |= gw_sch_number(cc, js, "multipleOf", &n->multiple_of)) < 0)
    {
        return -1;
    }

    /* the bounds as decimals too, for numbers kept as text (jansson
     * holds no number that is not finite) */

    if (n->minimum != NULL) {
        (void) gw_sch_dec_from(n->minimum, &n->dmin);
    }

    if (n->maximum != NULL) {
        (void) gw_sch_dec_from(n->maximum, &n->dmax);
    }

    if (n->xminimum != NULL) {
        (void) gw_sch_dec_from(n->xminimum, &n->dxmin);
    }

    if (n->xmaximum != NULL) {
        (void) gw_sch_dec_from(n->xmaximum, &n->dxmax);
    }

    if (n->multiple_of != NULL) {
        if ((n->multiple_of->type == GW_SCHEMA_INTEGER
             ? n->multiple_of->u.i <= 0
             : n->multiple_of->u.d <= 0)
            || gw_sch_dec_from(n->multiple_of, &n->mult) != 0)
        {
            return gw_sch_fail(cc, "multipleOf", "must be greater than 0");
        }
    }

    if (rc > 0) {
        n->kw |= GW_SCH_KW_NUMBER;
    }

    /* strings */

    rc = 0;

    if ((rc |= gw_sch_count(cc, js, "minLength", &n->min_length)) < 0
        || (rc |= gw_sch_count(cc, js, "maxLength", &n->max_length)) < 0)
    {
        return -1;
    }

    v = json_object_get(js, "pattern");

    if (v != NULL) {
        if (!json_is_string(v)) {
            return gw_sch_fail(cc, "pattern", "must be a string");
        }

        n->pattern_src = json_string_value(v);
        n->pattern = gw_sch_regex_compile(cc->s, n->pattern_src,
                                          json_string_length(v),
                                          errbuf, sizeof(errbuf));
        if (n->pattern == NULL) {
            return gw_sch_fail(cc, "pattern", "bad regular expression: %s",
                               errbuf);
        }

        rc = 1;
    }

    if (rc > 0) {
        n->kw |= GW_SCH_KW_STRING;
    }

    /* arrays */

    rc = 0;

    if ((rc |= gw_sch_count(cc, js, "minItems", &n->min_items)) < 0
        || (rc |= gw_sch_count(cc, js, "maxItems", &n->max_items)) < 0)
    {
        return -1;
    }

    if (cc->draft != GW_SCHEMA_DRAFT_07) {
        n->has_min_contains = (uint8_t) gw_sch_count(cc, js, "minContains",
                                                     &n->min_contains);
        n->has_max_contains = (uint8_t) gw_sch_count(cc, js, "maxContains",
                                                     &n->max_contains);

        if ((int8_t) n->has_min_contains < 0
            || (int8_t) n->has_max_contains < 0)
        {
            return -1;
        }
    }

    v = json_object_get(js, "uniqueItems");

    if (v != NULL) {
        if (!json_is_boolean(v)) {
            return gw_sch_fail(cc, "uniqueItems", "must be a boolean");
        }

        n->unique = json_is_true(v);
        rc |= n->unique;
    }

    if (rc > 0) {
        n->kw |= GW_SCH_KW_ARRAY;
    }

    /* objects */

    rc = 0;

    if ((rc |= gw_sch_count(cc, js, "minProperties", &n->min_props)) < 0
        || (rc |= gw_sch_count(cc, js, "maxProperties", &n->max_props)) < 0)
    {
        return -1;
    }

    v = json_object_get(js, "required");

    if (v != NULL) {
        if (gw_sch_names(cc, v, "required", &n->required, &n->nrequired)
            != 0)
        {
            return -1;
        }

        gw_sch_required_mask(n);

        rc = 1;
    }

    v = json_object_get(js, "dependentRequired");

    if (v != NULL && cc->draft != GW_SCHEMA_DRAFT_07) {
        if (gw_sch_dependencies(cc, n, v, "dependentRequired", 0, 1) != 0) {
            return -1;
        }

        rc = 1;
    }

    if (rc > 0) {
        n->kw |= GW_SCH_KW_OBJECT;
    }

    return 0;
}
