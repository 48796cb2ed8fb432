
/*
 * Copyright (C) Tollgate
 *
 * Validating an instance against compiled nodes.  One recursive function
 * evaluates a node: its "$ref"s, then the keywords for the instance's
 * type, then the applicators, then "unevaluated*", which need to know
 * what the others evaluated.
 *
 * That knowledge (annotations, in the specification's terms) is a byte
 * per member or item of the instance, kept only while a node with
 * "unevaluatedProperties" or "unevaluatedItems" is being evaluated: the
 * node allocates it and hands it to the keywords that apply to the same
 * instance, and the branches of anyOf, oneOf and if get a copy that is
 * merged back only when the branch passes.  Every other schema pays
 * nothing for it.
 *
 * Errors are collected only when the caller asks for them, and never
 * inside a branch whose failure is not an error (anyOf, oneOf, not, if,
 * contains, propertyNames): there the evaluation stops at the first
 * failing keyword.  Each error carries the instance location and the
 * keyword location along the path of evaluation, "$ref" hops included,
 * both kept as stacks of pointers into the compiled schema and turned
 * into strings only when an error is recorded.
 *
 * Two conditions stop the whole validation instead of failing a keyword,
 * so that no "not" can turn them into a success: an instance nested
 * deeper than max_depth and an evaluation deeper than max_eval (a
 * schema that refers to itself without consuming the instance) make the
 * instance invalid; running out of memory makes the result -1.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_schema_vc.h"


/* a child instance: its location pushed, its depth checked */

int
gw_sch_eval_at(gw_sch_vc_t *vc, const gw_sch_node_t *n, const char *seg,
    const gw_schema_value_t *inst, const char *key, size_t len, size_t index)
{
    int             rc;
    gw_sch_iloc_t  *il;

    /* a leaf node takes the short way, and the long one only to report
     * its errors; neither cap can be reached on the short way */

    if (n->leaf && vc->idepth < vc->s->opts.max_depth
        && vc->depth < vc->s->opts.max_eval)
    {
        rc = gw_sch_leaf(vc, n, inst);

        if (rc == 1 || !gw_sch_more(vc)) {
            return rc;
        }
    }

    if (vc->idepth >= vc->s->opts.max_depth) {
        return gw_sch_abort(vc, 0, "the instance is nested too deeply");
    }

    il = &vc->s->ipath[vc->ni++];
    il->key = key;
    il->len = len;
    il->index = index;
    vc->idepth++;

    rc = gw_sch_eval(vc, n, seg, inst, NULL);

    vc->idepth--;
    vc->ni--;

    return rc;
}


/* a branch whose failure is not an error; its annotations into *ann */

static int
gw_sch_branch(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann)
{
    int           rc;
    gw_sch_ann_t  tmp;

    if (ann != NULL && gw_sch_ann_init(&tmp, ann->n) != 0) {
        return gw_sch_abort(vc, -1, NULL);
    }

    vc->quiet++;
    rc = gw_sch_eval(vc, n, n->seg, inst, ann != NULL ? &tmp : NULL);
    vc->quiet--;

    if (ann != NULL) {
        if (rc == 1) {
            gw_sch_ann_merge(ann, &tmp);
        }

        free(tmp.mark);
    }

    return rc;
}


/* allOf, anyOf, oneOf, not, if/then/else: 1, 0, or -1 aborted */

static int
gw_sch_applicators(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann)
{
    int     valid, rc;
    size_t  i, count;

    valid = 1;

    for (i = 0; i < n->nall_of; i++) {
        rc = gw_sch_eval(vc, n->all_of[i], n->all_of[i]->seg, inst, ann);
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

    if (n->nany_of != 0) {
        count = 0;

        for (i = 0; i < n->nany_of; i++) {
            rc = gw_sch_branch(vc, n->any_of[i], inst, ann);
            if (rc < 0) {
                return -1;
            }

            if (rc == 1) {
                count++;

                if (ann == NULL) {
                    break;
                }
            }
        }

        if (count == 0) {
            valid = 0;
            if (!gw_sch_report(vc, "anyOf", "must match at least one schema"
                               " of anyOf"))
            {
                return 0;
            }
        }
    }

    if (n->none_of != 0) {
        count = 0;

        for (i = 0; i < n->none_of; i++) {
            rc = gw_sch_branch(vc, n->one_of[i], inst, ann);
            if (rc < 0) {
                return -1;
            }

            if (rc == 1 && ++count > 1 && ann == NULL) {
                break;
            }
        }

        if (count != 1) {
            valid = 0;
            if (!gw_sch_report(vc, "oneOf", count == 0
                               ? "must match exactly one schema of oneOf,"
                                 " matches none"
                               : "must match exactly one schema of oneOf,"
                                 " matches more"))
            {
                return 0;
            }
        }
    }

    if (n->not_ != NULL) {
        rc = gw_sch_branch(vc, n->not_, inst, NULL);
        if (rc < 0) {
            return -1;
        }

        if (rc == 1) {
            valid = 0;
            if (!gw_sch_report(vc, "not", "must not match the schema of"
                               " not"))
            {
                return 0;
            }
        }
    }

    if (n->if_ != NULL && (n->then_ != NULL || n->else_ != NULL
                           || ann != NULL))
    {
        rc = gw_sch_branch(vc, n->if_, inst, ann);
        if (rc < 0) {
            return -1;
        }

        if (rc == 1 && n->then_ != NULL) {
            rc = gw_sch_eval(vc, n->then_, "then", inst, ann);

        } else if (rc == 0 && n->else_ != NULL) {
            rc = gw_sch_eval(vc, n->else_, "else", inst, ann);

        } else {
            rc = 1;
        }

        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            valid = 0;
        }
    }

    return valid;
}


/* unevaluatedItems / unevaluatedProperties over what ann left */

static int
gw_sch_unevaluated(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann)
{
    int          valid, rc;
    size_t                     i;
    const char                *kw;
    const gw_schema_member_t  *m;

    valid = 1;

    if (inst->type == GW_SCHEMA_ARRAY) {
        for (i = 0; i < ann->n; i++) {
            if (ann->mark[i]) {
                continue;
            }

            rc = gw_sch_eval_at(vc, n->unev_items, "unevaluatedItems",
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

            ann->mark[i] = 1;
        }

        return valid;
    }

    kw = "unevaluatedProperties";
    for (i = 0; i < inst->len; i++) {
        if (ann->mark[i]) {
            continue;
        }

        m = &inst->u.members[i];

        if (n->unev_props->boolean == GW_SCH_FALSE) {
            valid = 0;
            if (!gw_sch_report_at(vc, m->key, m->len, kw)) {
                return 0;
            }

            continue;
        }

        rc = gw_sch_eval_at(vc, n->unev_props, kw, &m->value, m->key,
                            m->len, 0);
        if (rc < 0) {
            return -1;
        }

        if (rc == 0) {
            valid = 0;
            if (!gw_sch_more(vc)) {
                return 0;
            }
        }

        ann->mark[i] = 1;
    }

    return valid;
}


/*
 * Every keyword of n but "unevaluated*" against inst, in-place ones
 * receiving a: "$ref", "$dynamicRef" (resolved through the dynamic scope
 * when it lands on a matching "$dynamicAnchor"), type, const, enum, the
 * keywords of inst's type, the applicators.  1, 0, or -1 aborted.
 */

static int
gw_sch_keywords(gw_sch_vc_t *vc, const gw_sch_node_t *n,
    const gw_schema_value_t *inst, gw_sch_ann_t *a)
{
    int                   valid, rc;
    char                  buf[96];
    size_t                i, j;
    const gw_sch_node_t  *target;

#define gw_sch_step(expr)                                                     \
    rc = (expr);                                                              \
    if (rc < 0) {                                                             \
        return -1;                                                            \
    }                                                                         \
    if (rc == 0) {                                                            \
        valid = 0;                                                            \
        if (!gw_sch_more(vc)) {                                               \
            return 0;                                                         \
        }                                                                     \
    }

    valid = 1;

    if (n->kw & GW_SCH_KW_REF) {
        gw_sch_step(gw_sch_eval(vc, n->ref, "$ref", inst, a));
    }

    if (n->kw & GW_SCH_KW_DYNREF) {
        target = n->dref;

        if (n->dyn_ref) {
            /* the outermost resource in scope with that dynamic anchor */

            for (i = 0; i < vc->nscope; i++) {
                for (j = 0; j < vc->s->scope[i]->ndyn; j++) {
                    if (strcmp(vc->s->scope[i]->dyn[j].name, n->dref_anchor)
                        == 0)
                    {
                        target = vc->s->scope[i]->dyn[j].node;
                        goto found;
                    }
                }
            }
        }

    found:

        gw_sch_step(gw_sch_eval(vc, target, "$dynamicRef", inst, a));
    }

    if ((n->kw & GW_SCH_KW_TYPE) && !gw_sch_type_ok(n, inst)) {
        valid = 0;
        if (!gw_sch_report(vc, "type", "must be %s",
                           gw_sch_type_names(n->types, buf, sizeof(buf))))
        {
            return 0;
        }
    }

    if (n->kw & GW_SCH_KW_CONST) {
        if (!gw_sch_equal(inst, n->const_)) {
            valid = 0;
            if (!gw_sch_report(vc, "const", "must be equal to the constant"))
            {
                return 0;
            }
        }
    }

    if (n->kw & GW_SCH_KW_ENUM) {
        for (i = 0; i < n->enum_->len; i++) {
            if (gw_sch_equal(inst, &n->enum_->u.items[i])) {
                break;
            }
        }

        if (i == n->enum_->len) {
            valid = 0;
            if (!gw_sch_report(vc, "enum", "must be one of the allowed"
                               " values"))
            {
                return 0;
            }
        }
    }

    switch (inst->type) {

    case GW_SCHEMA_INTEGER:
    case GW_SCHEMA_REAL:
    case GW_SCHEMA_DECIMAL:
        if (n->kw & GW_SCH_KW_NUMBER) {
            gw_sch_step(gw_sch_numbers(vc, n, inst));
        }
        break;

    case GW_SCHEMA_STRING:
        if (n->kw & GW_SCH_KW_STRING) {
            gw_sch_step(gw_sch_strings(vc, n, inst));
        }
        break;

    case GW_SCHEMA_ARRAY:
        if (n->kw & GW_SCH_KW_ARRAY) {
            gw_sch_step(gw_sch_arrays(vc, n, inst, a));
        }
        break;

    case GW_SCHEMA_OBJECT:
        if (n->kw & GW_SCH_KW_OBJECT) {
            gw_sch_step(gw_sch_objects(vc, n, inst, a));
        }
        break;

    default:
        break;
    }

    if (n->kw & GW_SCH_KW_APPLY) {
        gw_sch_step(gw_sch_applicators(vc, n, inst, a));
    }

#undef gw_sch_step

    return valid;
}


/*
 * Evaluates node n, reached through seg, against inst; ann (or NULL)
 * receives what n evaluated of inst.  Returns 1 valid, 0 invalid, -1
 * when the whole validation stops (vc->abort_rc says how).
 */

int
gw_sch_eval(gw_sch_vc_t *vc, const gw_sch_node_t *n, const char *seg,
    const gw_schema_value_t *inst, gw_sch_ann_t *ann)
{
    int            rc, pushed;
    gw_sch_ann_t   local, *a;
    gw_schema_t   *s;

    s = vc->s;

    if (n->boolean != GW_SCH_NONE) {
        if (n->boolean == GW_SCH_TRUE) {
            return 1;
        }

        s->kpath[vc->nk++] = seg;
        (void) gw_sch_report(vc, NULL, "no value is allowed here");
        vc->nk--;

        return vc->aborted ? -1 : 0;
    }

    if (vc->depth >= s->opts.max_eval) {
        return gw_sch_abort(vc, 0, "the schema is evaluated too deeply");
    }

    vc->depth++;
    s->kpath[vc->nk++] = seg;

    pushed = (vc->nscope == 0 || s->scope[vc->nscope - 1] != n->res);

    if (pushed) {
        s->scope[vc->nscope++] = n->res;
    }

    /* a node with unevaluated* tracks its own keywords' annotations */

    a = ann;
    local.mark = NULL;

    if (((n->kw & GW_SCH_KW_UNEV_PROPS) && inst->type == GW_SCHEMA_OBJECT)
        || ((n->kw & GW_SCH_KW_UNEV_ITEMS) && inst->type == GW_SCHEMA_ARRAY))
    {
        if (gw_sch_ann_init(&local, inst->len) != 0) {
            rc = gw_sch_abort(vc, -1, NULL);
            goto done;
        }

        a = &local;
    }

    rc = gw_sch_keywords(vc, n, inst, a);

    if (local.mark != NULL && (rc == 1 || (rc == 0 && gw_sch_more(vc)))) {
        switch (gw_sch_unevaluated(vc, n, inst, &local)) {
        case -1:
            rc = -1;
            break;
        case 0:
            rc = 0;
            break;
        default:
            break;
        }

        if (rc == 1 && ann != NULL) {
            memset(ann->mark, 1, ann->n);
        }
    }

    /* only a node with unevaluated* allocated its annotations */

    if (local.mark != NULL) {
        free(local.mark);
    }

done:

    if (pushed) {
        vc->nscope--;
    }

    vc->nk--;
    vc->depth--;

    return rc;
}


/* a jansson instance: validated as a converted copy */

int
gw_schema_validate(gw_schema_t *s, const json_t *inst,
    gw_schema_result_t *res)
{
    const gw_schema_value_t  *v;

    if (s == NULL || inst == NULL) {
        return -1;
    }

    v = gw_schema_from_json(&s->conv, inst);
    if (v == NULL) {
        return -1;
    }

    return gw_schema_validate_value(s, v, res);
}


int
gw_schema_validate_value(gw_schema_t *s, const gw_schema_value_t *inst,
    gw_schema_result_t *res)
{
    int                 rc;
    size_t              i;
    gw_sch_vc_t         vc;
    gw_schema_error_t  *e;

    if (s == NULL || s->root == NULL || inst == NULL) {
        return -1;
    }

    memset(&vc, 0, sizeof(gw_sch_vc_t));
    vc.s = s;
    vc.res = res;

    if (res != NULL) {
        res->nerrors = 0;
        res->len = 0;
        res->truncated = 0;
    }

    rc = gw_sch_eval(&vc, s->root, "", inst, NULL);

    if (vc.aborted) {
        rc = vc.abort_rc;

        if (rc == 0 && vc.abort_why != NULL) {
            /* where it happened is gone: the whole instance, no keyword */
            vc.quiet = 0;
            vc.nk = 0;
            vc.ni = 0;
            vc.aborted = 0;

            (void) gw_sch_report(&vc, NULL, "%s", vc.abort_why);

            rc = vc.aborted ? -1 : 0;
        }
    }

    if (res != NULL) {
        for (i = 0; i < res->nerrors; i++) {
            e = &res->errors[i];
            e->instance_location = res->buf + (uintptr_t)
                                              e->instance_location;
            e->keyword_location = res->buf + (uintptr_t) e->keyword_location;
            e->message = res->buf + (uintptr_t) e->message;
        }
    }

    return rc;
}


void
gw_schema_result_free(gw_schema_result_t *res)
{
    if (res == NULL) {
        return;
    }

    free(res->errors);
    free(res->buf);

    memset(res, 0, sizeof(gw_schema_result_t));
}
