
/*
 * Copyright (C) Tollgate
 *
 * Parallel and Map entered (lib/asl/gw_asl_exec_int.h): what each child
 * starts with.  A Parallel's branches all take the effective input; a
 * Map's items are selected (ItemsPath) and shaped (ItemSelector) here,
 * once, so that the caller only runs machines and counts failures.
 */


#include <string.h>

#include "gw_asl.h"
#include "gw_asl_exec_int.h"


static int gw_asl_exec_map_items(const gw_asl_state_t *st, json_t *eff,
    json_t *context, gw_asl_step_t *step);
static int gw_asl_exec_percent(const gw_asl_state_t *st, json_t *input,
    json_t *context, double *pct, gw_asl_err_t *err);


/*
 * Parallel: the effective input, once per branch.  Map: its items (see
 * gw_asl_exec_map_items), MaxConcurrency(Path), ToleratedFailure...
 */

gw_asl_next_e
gw_asl_exec_fork(const gw_asl_state_t *st, json_t *input, json_t *context,
    gw_asl_step_t *step)
{
    size_t    i;
    json_t   *eff, *v;

    eff = gw_asl_exec_input(st, input, context, &step->err);
    if (eff == NULL) {
        return gw_asl_exec_error(st, input, step);
    }

    if (st->type == GW_ASL_MAP) {
        if (gw_asl_exec_map_items(st, eff, context, step) != 0) {
            json_decref(eff);
            return gw_asl_exec_error(st, input, step);
        }

        json_decref(eff);
        step->next_kind = GW_ASL_FORK;
        return step->next_kind;
    }

    v = gw_asl_exec_parameters(st, eff, context, &step->err);
    json_decref(eff);

    if (v == NULL
        || gw_asl_exec_size(v, "branches' input", &step->err) != 0)
    {
        json_decref(v);
        return gw_asl_exec_error(st, input, step);
    }

    step->items = json_array();
    if (step->items == NULL) {
        json_decref(v);
        gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        return gw_asl_exec_error(st, input, step);
    }

    for (i = 0; i < st->nbranches; i++) {
        if (json_array_append(step->items, v) != 0) {
            json_decref(v);
            gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                         "out of memory");
            return gw_asl_exec_error(st, input, step);
        }
    }

    json_decref(v);

    step->next_kind = GW_ASL_FORK;
    return step->next_kind;
}


/*
 * Map's items: ItemsPath (default "$") over the effective input must
 * select an array (else States.Runtime).  With ItemSelector (or the
 * older Parameters), item i becomes the template applied to the
 * effective input with a context that is a shallow copy of context
 * plus "Map": {"Item": {"Index": i, "Value": item}}; without one, the
 * item itself.  step->items holds what each item's processor starts
 * with; the caller builds the processor's own context (without Map).
 * MaxConcurrency(Path) gives step->concurrency (0: no limit);
 * ToleratedFailurePercentage(Path) and ToleratedFailureCount(Path) give
 * tolerated_pct and tolerated_count, -1 when absent: the caller counts
 * the failed items and fails the Map with
 * States.ExceedToleratedFailureThreshold past either; with neither, an
 * item's failure fails the Map with that item's error.
 */

static int
gw_asl_exec_map_items(const gw_asl_state_t *st, json_t *eff,
    json_t *context, gw_asl_step_t *step)
{
    int          rc;
    size_t       i, n;
    json_t      *items, *tmpl, *ctx, *item, *v, *p;
    const char  *path;
    int64_t      iv;

    p = json_object_get(st->raw, "ItemsPath");
    path = json_is_string(p) ? json_string_value(p) : "$";

    items = gw_asl_exec_path(path, eff, context, &step->err);
    if (items == NULL) {
        snprintf(step->err.error, sizeof(step->err.error), "%s",
                 GW_ASL_E_RUNTIME);
        return -1;
    }

    if (!json_is_array(items)) {
        json_decref(items);
        return gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                            "the items of the Map \"%s\" (ItemsPath \"%s\") "
                            "are not an array", st->name, path);
    }

    iv = 0;
    if (gw_asl_exec_int_field(st, "MaxConcurrency", eff, context, 0,
                              INT32_MAX, &iv, &step->err)
        != 0)
    {
        json_decref(items);
        return -1;
    }

    step->concurrency = (size_t) iv;

    if (gw_asl_exec_int_field(st, "ToleratedFailureCount", eff, context, 0,
                              INT64_MAX / 2, &step->tolerated_count,
                              &step->err)
        != 0)
    {
        json_decref(items);
        return -1;
    }

    if (gw_asl_exec_percent(st, eff, context, &step->tolerated_pct,
                            &step->err)
        != 0)
    {
        json_decref(items);
        return -1;
    }

    tmpl = json_object_get(st->raw, "ItemSelector");
    if (tmpl == NULL) {
        tmpl = json_object_get(st->raw, "Parameters");
    }

    if (tmpl == NULL) {
        step->items = items;
        return 0;
    }

    n = json_array_size(items);

    step->items = json_array();
    ctx = json_is_object(context) ? json_copy(context) : json_object();

    if (step->items == NULL || ctx == NULL) {
        json_decref(items);
        json_decref(ctx);
        return gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                            "out of memory");
    }

    rc = 0;

    for (i = 0; i < n; i++) {
        item = json_array_get(items, i);

        v = json_pack("{s:{s:I, s:O}}", "Item", "Index", (json_int_t) i,
                      "Value", item);
        if (v == NULL || json_object_set_new(ctx, "Map", v) != 0) {
            rc = gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                              "out of memory");
            break;
        }

        v = gw_asl_template_apply(tmpl, eff, ctx, GW_ASL_E_RUNTIME,
                                  &step->err);
        if (v == NULL) {
            rc = -1;
            break;
        }

        if (gw_asl_exec_size(v, "item's input", &step->err) != 0
            || json_array_append_new(step->items, v) != 0)
        {
            rc = -1;
            break;
        }
    }

    json_decref(items);
    json_decref(ctx);

    return rc;
}


/* ToleratedFailurePercentage(Path): a number in [0, 100], -1 absent */

static int
gw_asl_exec_percent(const gw_asl_state_t *st, json_t *input,
    json_t *context, double *pct, gw_asl_err_t *err)
{
    double   d;
    json_t  *f, *v;

    f = json_object_get(st->raw, "ToleratedFailurePercentage");

    if (f != NULL) {
        v = json_incref(f);

    } else {
        f = json_object_get(st->raw, "ToleratedFailurePercentagePath");

        if (f == NULL) {
            *pct = -1;
            return 0;
        }

        v = json_is_string(f)
            ? gw_asl_exec_path(json_string_value(f), input, context, err)
            : NULL;

        if (v == NULL) {
            return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                                "ToleratedFailurePercentagePath of \"%s\" "
                                "names no value", st->name);
        }
    }

    d = json_number_value(v);

    if (!json_is_number(v) || d < 0 || d > 100) {
        json_decref(v);
        return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                            "ToleratedFailurePercentage of \"%s\" is not "
                            "a number in [0, 100]", st->name);
    }

    json_decref(v);
    *pct = d;

    return 0;
}
