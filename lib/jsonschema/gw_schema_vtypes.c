
/*
 * Copyright (C) Tollgate
 *
 * The keywords that apply to one type of instance: numbers (minimum,
 * maximum, their exclusive forms, multipleOf), strings (minLength and
 * maxLength in code points, pattern, format, draft-07 content), arrays
 * (sizes, uniqueItems, prefixItems and items, contains with its bounds)
 * and objects (sizes, required, dependencies, and one pass over the
 * members for properties, patternProperties, additionalProperties and
 * propertyNames).  Each returns 1 valid, 0 invalid, -1 aborted, and
 * stops at the first failure unless errors are being collected; each
 * marks in ann what it evaluated, for "unevaluated*".
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_schema_vc.h"


int
gw_sch_numbers(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst)
{
    int   valid;
    char  num[64];

    valid = 1;

    if (n->minimum != NULL
        && gw_sch_bound_cmp(inst, n->minimum, &n->dmin) < 0)
    {
        valid = 0;
        if (!gw_sch_report(vc, "minimum", "must be >= %s",
                           gw_sch_num_str(n->minimum, num, sizeof(num))))
        {
            return 0;
        }
    }

    if (n->maximum != NULL
        && gw_sch_bound_cmp(inst, n->maximum, &n->dmax) > 0)
    {
        valid = 0;
        if (!gw_sch_report(vc, "maximum", "must be <= %s",
                           gw_sch_num_str(n->maximum, num, sizeof(num))))
        {
            return 0;
        }
    }

    if (n->xminimum != NULL
        && gw_sch_bound_cmp(inst, n->xminimum, &n->dxmin) <= 0)
    {
        valid = 0;
        if (!gw_sch_report(vc, "exclusiveMinimum", "must be > %s",
                           gw_sch_num_str(n->xminimum, num, sizeof(num))))
        {
            return 0;
        }
    }

    if (n->xmaximum != NULL
        && gw_sch_bound_cmp(inst, n->xmaximum, &n->dxmax) >= 0)
    {
        valid = 0;
        if (!gw_sch_report(vc, "exclusiveMaximum", "must be < %s",
                           gw_sch_num_str(n->xmaximum, num, sizeof(num))))
        {
            return 0;
        }
    }

    if (n->multiple_of != NULL
        && !gw_sch_multiple_of(inst, n->multiple_of, &n->mult))
    {
        valid = 0;
        if (!gw_sch_report(vc, "multipleOf", "must be a multiple of %s",
                           gw_sch_num_str(n->multiple_of, num,
                                          sizeof(num))))
        {
            return 0;
        }
    }

    return valid;
}


int
gw_sch_strings(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst)
{
    int          valid, rc;
    size_t       i, len, cps;
    const char  *str;

    valid = 1;
    str = inst->u.s;
    len = inst->len;

    /* code points: at most the bytes, at least a quarter of them */

    if ((n->min_length > 0 && len / 4 < n->min_length)
        || (n->max_length != SIZE_MAX && len > n->max_length))
    {
        cps = 0;

        for (i = 0; i < len; i++) {
            cps += ((unsigned char) str[i] & 0xc0) != 0x80;
        }

        if (cps < n->min_length) {
            valid = 0;
            if (!gw_sch_report(vc, "minLength",
                               "must be at least %zu characters long",
                               n->min_length))
            {
                return 0;
            }
        }

        if (cps > n->max_length) {
            valid = 0;
            if (!gw_sch_report(vc, "maxLength",
                               "must be at most %zu characters long",
                               n->max_length))
            {
                return 0;
            }
        }
    }

    if (n->pattern != NULL) {
        rc = gw_sch_regex_match(vc->s, n->pattern, str, len);

        if (rc != 1) {
            valid = 0;
            if (!gw_sch_report(vc, "pattern", rc == 0
                               ? "must match the pattern \"%.100s\""
                               : "too costly to match against \"%.100s\"",
                               n->pattern_src))
            {
                return 0;
            }
        }
    }

    if (n->format != GW_SCH_FMT_NONE
        && !gw_sch_format_check(n->format, str, len))
    {
        valid = 0;
        if (!gw_sch_report(vc, "format", "must be a valid %s",
                           json_string_value(json_object_get(n->json,
                                                             "format"))))
        {
            return 0;
        }
    }

    if ((n->content_b64 || n->content_json)
        && !gw_sch_content_check(n, str, len))
    {
        valid = 0;
        if (!gw_sch_report(vc, n->content_json ? "contentMediaType"
                                               : "contentEncoding",
                           "must be %s", n->content_json
                                         ? "an encoded JSON document"
                                         : "valid base64"))
        {
            return 0;
        }
    }

    return valid;
}


int
gw_sch_arrays(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann)
{
    int      valid, rc;
    size_t   i, size, count, min;

    valid = 1;
    size = inst->len;

    if (size < n->min_items) {
        valid = 0;
        if (!gw_sch_report(vc, "minItems", "must have at least %zu items",
                           n->min_items))
        {
            return 0;
        }
    }

    if (size > n->max_items) {
        valid = 0;
        if (!gw_sch_report(vc, "maxItems", "must have at most %zu items",
                           n->max_items))
        {
            return 0;
        }
    }

    if (n->unique) {
        rc = gw_sch_unique(inst);

        if (rc < 0) {
            return gw_sch_abort(vc, -1, NULL);
        }

        if (rc == 0) {
            valid = 0;
            if (!gw_sch_report(vc, "uniqueItems", "must not have duplicate"
                               " items"))
            {
                return 0;
            }
        }
    }

    for (i = 0; i < size && i < n->nprefix; i++) {
        rc = gw_sch_eval_at(vc, n->prefix[i], n->prefix[i]->seg,
                            &inst->u.items[i], NULL, 0, i);
        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            valid = 0;
            if (!gw_sch_more(vc)) {
                return 0;
            }
        }

        if (ann != NULL) {
            ann->mark[i] = 1;
        }
    }

    if (n->items != NULL) {
        for ( /* void */ ; i < size; i++) {
            rc = gw_sch_eval_at(vc, n->items, n->items->seg,
                                &inst->u.items[i], NULL, 0, i);
            if (rc < 0) {
                return -1;
            }

            if (rc == 0) {
                valid = 0;
                if (!gw_sch_more(vc)) {
                    return 0;
                }
            }

            if (ann != NULL) {
                ann->mark[i] = 1;
            }
        }
    }

    if (n->contains != NULL) {
        min = n->has_min_contains ? n->min_contains : 1;
        count = 0;

        vc->quiet++;

        for (i = 0; i < size; i++) {
            rc = gw_sch_eval_at(vc, n->contains, "contains",
                                &inst->u.items[i], NULL, 0, i);
            if (rc < 0) {
                vc->quiet--;
                return -1;
            }

            if (rc == 1) {
                count++;

                if (ann != NULL) {
                    ann->mark[i] = 1;

                } else if (count >= min && !n->has_max_contains) {
                    break;
                }
            }
        }

        vc->quiet--;

        if (count < min) {
            valid = 0;
            if (!gw_sch_report(vc, n->has_min_contains ? "minContains"
                                                       : "contains",
                               "must contain at least %zu matching item%s",
                               min, min == 1 ? "" : "s"))
            {
                return 0;
            }
        }

        if (count > n->max_contains) {
            valid = 0;
            if (!gw_sch_report(vc, "maxContains", "must contain at most %zu"
                               " matching items", n->max_contains))
            {
                return 0;
            }
        }
    }

    return valid;
}


/* properties, patternProperties, additionalProperties, propertyNames */

static int
gw_sch_members(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann, uint64_t *seen)
{
    int                        valid, rc, matched;
    size_t                     i, j, len, next;
    const char                *key;
    gw_schema_value_t          name;
    const gw_sch_prop_t       *p;
    const gw_schema_value_t   *v;
    const gw_schema_member_t  *m;

    valid = 1;
    next = 0;

    for (i = 0; i < inst->len; i++) {
        m = &inst->u.members[i];
        key = m->key;
        len = m->len;
        v = &m->value;
        matched = 0;

        if (n->prop_names != NULL) {
            name.type = GW_SCHEMA_STRING;
            name.len = (uint32_t) len;
            name.u.s = key;

            vc->quiet++;
            rc = gw_sch_eval(vc, n->prop_names, "propertyNames", &name, NULL);
            vc->quiet--;

            if (rc < 0) {
                return -1;
            }

            if (rc == 0) {
                valid = 0;
                if (!gw_sch_report(vc, "propertyNames", "property name"
                                   " \"%.*s\" is not allowed",
                                   (int) (len < 100 ? len : 100), key))
                {
                    return 0;
                }
            }
        }

        if (n->nprops != 0) {
            p = gw_sch_prop_find(n, key, len, &next);

            if (p != NULL) {
                matched = 1;

                if (p - n->props < 64) {
                    *seen |= (uint64_t) 1 << (p - n->props);
                }

                rc = gw_sch_eval_at(vc, p->node, p->node->seg, v, key, len,
                                    0);
                if (rc < 0) {
                    return -1;
                }

                if (rc == 0) {
                    valid = 0;
                    if (!gw_sch_more(vc)) {
                        return 0;
                    }
                }
            }
        }

        for (j = 0; j < n->npprops; j++) {
            rc = gw_sch_regex_match(vc->s, n->pprops[j].re, key, len);

            if (rc < 0) {
                valid = 0;
                if (!gw_sch_report(vc, n->pprops[j].seg, "too costly to"
                                   " match \"%.*s\"",
                                   (int) (len < 100 ? len : 100), key))
                {
                    return 0;
                }

                continue;
            }

            if (rc == 0) {
                continue;
            }

            matched = 1;

            rc = gw_sch_eval_at(vc, n->pprops[j].node, n->pprops[j].seg, v,
                                key, len, 0);
            if (rc < 0) {
                return -1;
            }

            if (rc == 0) {
                valid = 0;
                if (!gw_sch_more(vc)) {
                    return 0;
                }
            }
        }

        if (!matched && n->additional != NULL) {
            matched = 1;

            if (n->additional->boolean == GW_SCH_FALSE) {
                valid = 0;
                if (!gw_sch_report_at(vc, key, len, "additionalProperties"))
                {
                    return 0;
                }

            } else {
                rc = gw_sch_eval_at(vc, n->additional,
                                    "additionalProperties", v, key, len, 0);
                if (rc < 0) {
                    return -1;
                }

                if (rc == 0) {
                    valid = 0;
                    if (!gw_sch_more(vc)) {
                        return 0;
                    }
                }
            }
        }

        if (matched && ann != NULL) {
            ann->mark[i] = 1;
        }
    }

    return valid;
}


int
gw_sch_objects(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann)
{
    int                  valid, rc, fast;
    size_t               i, j, size;
    uint64_t             seen;
    const gw_sch_dep_t  *d;

    valid = 1;
    size = inst->len;

    if (size < n->min_props) {
        valid = 0;
        if (!gw_sch_report(vc, "minProperties", "must have at least %zu"
                           " properties", n->min_props))
        {
            return 0;
        }
    }

    if (size > n->max_props) {
        valid = 0;
        if (!gw_sch_report(vc, "maxProperties", "must have at most %zu"
                           " properties", n->max_props))
        {
            return 0;
        }
    }

    /* without errors to report in order, "required" can wait for the
     * pass over the members when that pass can answer it */

    fast = (n->req_mask != 0 && vc->res == NULL);
    seen = 0;

    for (i = 0; !fast && i < n->nrequired; i++) {
        if (gw_sch_get(inst, n->required[i], strlen(n->required[i]))
            == NULL)
        {
            valid = 0;
            if (!gw_sch_report(vc, "required", "required property"
                               " \"%.100s\" is missing", n->required[i]))
            {
                return 0;
            }
        }
    }

    for (i = 0; i < n->ndep_req; i++) {
        d = &n->dep_req[i];

        if (gw_sch_get(inst, d->name, d->len) == NULL) {
            continue;
        }

        for (j = 0; j < d->nnames; j++) {
            if (gw_sch_get(inst, d->names[j], strlen(d->names[j])) == NULL)
            {
                valid = 0;
                if (!gw_sch_report(vc, n->draft == GW_SCHEMA_DRAFT_07
                                       ? "dependencies" : "dependentRequired",
                                   "property \"%.100s\" requires"
                                   " \"%.100s\"", d->name, d->names[j]))
                {
                    return 0;
                }
            }
        }
    }

    for (i = 0; i < n->ndep_sch; i++) {
        d = &n->dep_sch[i];

        if (gw_sch_get(inst, d->name, d->len) == NULL) {
            continue;
        }

        rc = gw_sch_eval(vc, d->node, d->node->seg, inst, ann);
        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            valid = 0;
            if (!gw_sch_more(vc)) {
                return 0;
            }
        }
    }

    if (n->nprops || n->npprops || n->additional || n->prop_names) {
        rc = gw_sch_members(vc, n, inst, ann, &seen);
        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            valid = 0;
        }
    }

    if (fast && (seen & n->req_mask) != n->req_mask) {
        return 0;
    }

    return valid;
}
