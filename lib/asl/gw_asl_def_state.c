
/*
 * Copyright (C) Tollgate
 *
 * A state's fields checked and compiled (docs/workflow-language.md):
 * which fields each type may have (any other is refused, so that a typo
 * never passes silently), which it must have, their types and ranges,
 * the transitions (Next XOR End), and the parts compiled for the
 * executor: Choice rules, Retry, Catch, Parallel branches, the Map
 * processor.
 */


#include <stdio.h>
#include <string.h>

#include "gw_asl_def_int.h"


#define GW_ASL_T(t)     (1u << (t))
#define GW_ASL_T_ANY    0xffu
#define GW_ASL_T_IO     (GW_ASL_T_ANY & ~GW_ASL_T(GW_ASL_FAIL))
#define GW_ASL_T_FLOW   (GW_ASL_T(GW_ASL_PASS) | GW_ASL_T(GW_ASL_TASK)      \
                         | GW_ASL_T(GW_ASL_WAIT) | GW_ASL_T(GW_ASL_PARALLEL) \
                         | GW_ASL_T(GW_ASL_MAP))
#define GW_ASL_T_RESULT (GW_ASL_T(GW_ASL_PASS) | GW_ASL_T(GW_ASL_TASK)      \
                         | GW_ASL_T(GW_ASL_PARALLEL) | GW_ASL_T(GW_ASL_MAP))
#define GW_ASL_T_WORK   (GW_ASL_T(GW_ASL_TASK) | GW_ASL_T(GW_ASL_PARALLEL)  \
                         | GW_ASL_T(GW_ASL_MAP))
#define GW_ASL_T_TASK   GW_ASL_T(GW_ASL_TASK)
#define GW_ASL_T_MAP    GW_ASL_T(GW_ASL_MAP)
#define GW_ASL_T_WAIT   GW_ASL_T(GW_ASL_WAIT)
#define GW_ASL_T_FAIL   GW_ASL_T(GW_ASL_FAIL)


typedef struct {
    const char          *name;
    unsigned             types;
} gw_asl_field_t;


static const gw_asl_field_t  gw_asl_fields[] = {
    { "Type",                            GW_ASL_T_ANY },
    { "Comment",                         GW_ASL_T_ANY },
    { "QueryLanguage",                   GW_ASL_T_ANY },
    { "InputPath",                       GW_ASL_T_IO },
    { "OutputPath",                      GW_ASL_T_IO },
    { "Next",                            GW_ASL_T_FLOW },
    { "End",                             GW_ASL_T_FLOW },
    { "ResultPath",                      GW_ASL_T_RESULT },
    { "Parameters",                      GW_ASL_T_RESULT },
    { "Result",                          GW_ASL_T(GW_ASL_PASS) },
    { "ResultSelector",                  GW_ASL_T_WORK },
    { "Retry",                           GW_ASL_T_WORK },
    { "Catch",                           GW_ASL_T_WORK },
    { "Resource",                        GW_ASL_T_TASK },
    { "TimeoutSeconds",                  GW_ASL_T_TASK },
    { "TimeoutSecondsPath",              GW_ASL_T_TASK },
    { "HeartbeatSeconds",                GW_ASL_T_TASK },
    { "HeartbeatSecondsPath",            GW_ASL_T_TASK },
    { "Credentials",                     GW_ASL_T_TASK },
    { "Choices",                         GW_ASL_T(GW_ASL_CHOICE) },
    { "Default",                         GW_ASL_T(GW_ASL_CHOICE) },
    { "Seconds",                         GW_ASL_T_WAIT },
    { "Timestamp",                       GW_ASL_T_WAIT },
    { "SecondsPath",                     GW_ASL_T_WAIT },
    { "TimestampPath",                   GW_ASL_T_WAIT },
    { "Error",                           GW_ASL_T_FAIL },
    { "ErrorPath",                       GW_ASL_T_FAIL },
    { "Cause",                           GW_ASL_T_FAIL },
    { "CausePath",                       GW_ASL_T_FAIL },
    { "Branches",                        GW_ASL_T(GW_ASL_PARALLEL) },
    { "ItemsPath",                       GW_ASL_T_MAP },
    { "ItemSelector",                    GW_ASL_T_MAP },
    { "ItemProcessor",                   GW_ASL_T_MAP },
    { "Iterator",                        GW_ASL_T_MAP },
    { "MaxConcurrency",                  GW_ASL_T_MAP },
    { "MaxConcurrencyPath",              GW_ASL_T_MAP },
    { "ToleratedFailurePercentage",      GW_ASL_T_MAP },
    { "ToleratedFailurePercentagePath",  GW_ASL_T_MAP },
    { "ToleratedFailureCount",           GW_ASL_T_MAP },
    { "ToleratedFailureCountPath",       GW_ASL_T_MAP },
    { "ItemReader",                      GW_ASL_T_MAP },
    { "ItemBatcher",                     GW_ASL_T_MAP },
    { "ResultWriter",                    GW_ASL_T_MAP },
    { "Label",                           GW_ASL_T_MAP },
    { NULL, 0 }
};


/* fields of JSONata mode and of variables: named in the cause */
static const char *const  gw_asl_jsonata_fields[] = {
    "Arguments", "Output", "Assign", "Items", NULL
};


static int gw_asl_type_parse(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_fields_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_flow_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_io_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static unsigned gw_asl_json_depth(json_t *v, unsigned max);
static int gw_asl_result_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_task_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_choice_state_compile(gw_asl_ctx_t *ctx,
    gw_asl_state_t *st, const char *ptr);
static int gw_asl_wait_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_fail_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr);
static int gw_asl_parallel_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr, unsigned depth);
static int gw_asl_string_field(gw_asl_ctx_t *ctx, json_t *obj,
    const char *key, const char *ptr);
static int gw_asl_fail_field(gw_asl_ctx_t *ctx, json_t *obj,
    const char *key, const char *ptr);


/* the levels of v, counting v's own; stops past max (the definition's
 * own cap keeps the recursion bounded) */

static unsigned
gw_asl_json_depth(json_t *v, unsigned max)
{
    size_t       i;
    json_t      *e;
    unsigned     d, deepest;
    const char  *key;

    deepest = 0;

    if (max == 0) {
        return 1;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            d = gw_asl_json_depth(e, max - 1);
            deepest = (d > deepest) ? d : deepest;
        }

    } else if (json_is_object(v)) {
        json_object_foreach(v, key, e) {
            d = gw_asl_json_depth(e, max - 1);
            deepest = (d > deepest) ? d : deepest;
        }
    }

    return deepest + 1;
}


/* a Pass state's Result is a payload: nested GW_ASL_JSON_DEPTH_MAX deep
 * at most */

static int
gw_asl_result_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    json_t  *result;

    result = json_object_get(st->raw, "Result");

    if (result == NULL
        || gw_asl_json_depth(result, GW_ASL_JSON_DEPTH_MAX)
           <= GW_ASL_JSON_DEPTH_MAX)
    {
        return 0;
    }

    return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                        gw_asl_pointer(p, sizeof(p), ptr, "Result"),
                        "a Result nested over %d levels",
                        GW_ASL_JSON_DEPTH_MAX);
}


int
gw_asl_state_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr, unsigned depth)
{
    if (!json_is_object(st->raw)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a state is a JSON object");
    }

    if (gw_asl_type_parse(ctx, st, ptr) != 0
        || gw_asl_fields_check(ctx, st, ptr) != 0
        || gw_asl_flow_compile(ctx, st, ptr) != 0
        || gw_asl_io_check(ctx, st, ptr) != 0)
    {
        return -1;
    }

    switch (st->type) {

    case GW_ASL_PASS:
        return gw_asl_result_check(ctx, st, ptr);

    case GW_ASL_TASK:
        return gw_asl_task_check(ctx, st, ptr);

    case GW_ASL_CHOICE:
        return gw_asl_choice_state_compile(ctx, st, ptr);

    case GW_ASL_WAIT:
        return gw_asl_wait_check(ctx, st, ptr);

    case GW_ASL_FAIL:
        return gw_asl_fail_check(ctx, st, ptr);

    case GW_ASL_PARALLEL:
        return gw_asl_parallel_compile(ctx, st, ptr, depth);

    case GW_ASL_MAP:
        return gw_asl_map_compile(ctx, st, ptr, depth);

    default:
        return 0;
    }
}


static int
gw_asl_type_parse(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    int          t;
    char         p[GW_ASL_POINTER_MAX];
    json_t      *v;
    const char  *s;

    v = json_object_get(st->raw, "Type");

    if (v == NULL) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "the state \"%s\" has no Type", st->name);
    }

    s = json_is_string(v) ? json_string_value(v) : "";

    for (t = GW_ASL_PASS; t <= GW_ASL_MAP; t++) {
        if (strcmp(s, gw_asl_type_name(t)) == 0) {
            st->type = t;
            return 0;
        }
    }

    return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                        gw_asl_pointer(p, sizeof(p), ptr, "Type"),
                        "Type is one of Pass, Task, Choice, Wait, Succeed, "
                        "Fail, Parallel, Map");
}


static int
gw_asl_fields_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    char         p[GW_ASL_POINTER_MAX];
    size_t       i;
    json_t      *v;
    const char  *key;

    json_object_foreach(st->raw, key, v) {
        gw_asl_pointer(p, sizeof(p), ptr, key);

        for (i = 0; gw_asl_jsonata_fields[i] != NULL; i++) {
            if (strcmp(key, gw_asl_jsonata_fields[i]) == 0) {
                return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                    "%s is a field of JSONata mode or of "
                                    "variables: only JSONPath is "
                                    "supported", key);
            }
        }

        for (i = 0; gw_asl_fields[i].name != NULL; i++) {
            if (strcmp(key, gw_asl_fields[i].name) == 0) {
                break;
            }
        }

        if (gw_asl_fields[i].name == NULL
            || !(gw_asl_fields[i].types & GW_ASL_T(st->type)))
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "a %s state has no field \"%s\"",
                                gw_asl_type_name(st->type), key);
        }
    }

    if (gw_asl_string_field(ctx, st->raw, "Comment", ptr) != 0) {
        return -1;
    }

    v = json_object_get(st->raw, "QueryLanguage");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "QueryLanguage");

        if (!json_is_string(v)
            || strcmp(json_string_value(v), "JSONPath") != 0)
        {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "QueryLanguage \"%s\": only JSONPath is "
                                "supported",
                                json_is_string(v) ? json_string_value(v)
                                                  : "");
        }
    }

    return 0;
}


/*
 * Next XOR End for Pass, Task, Wait, Parallel and Map; Succeed and Fail
 * are terminal and have neither; a Choice's transitions are its rules'.
 */

static int
gw_asl_flow_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    int      next;
    char     p[GW_ASL_POINTER_MAX];
    json_t  *n, *e;

    if (st->type == GW_ASL_SUCCEED || st->type == GW_ASL_FAIL) {
        st->end = 1;
        return 0;
    }

    if (st->type == GW_ASL_CHOICE) {
        return 0;
    }

    n = json_object_get(st->raw, "Next");
    e = json_object_get(st->raw, "End");

    if (e != NULL && !json_is_boolean(e)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr, "End"),
                            "End is a boolean");
    }

    if (n != NULL && json_is_true(e)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a %s state has Next or \"End\": true, not "
                            "both", gw_asl_type_name(st->type));
    }

    if (n == NULL && !json_is_true(e)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a %s state has Next or \"End\": true",
                            gw_asl_type_name(st->type));
    }

    if (n == NULL) {
        st->end = 1;
        return 0;
    }

    next = gw_asl_def_target(ctx, st->machine, n,
                             gw_asl_pointer(p, sizeof(p), ptr, "Next"));
    if (next < 0) {
        return -1;
    }

    st->next = next;

    return 0;
}


/* InputPath, OutputPath, ResultPath, Parameters, ResultSelector */

static int
gw_asl_io_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    json_t  *v;

    if (gw_asl_path_field(ctx, st->raw, "InputPath", GW_ASL_PATH_ANY, 1,
                          ptr) != 0
        || gw_asl_path_field(ctx, st->raw, "OutputPath", GW_ASL_PATH_ANY, 1,
                             ptr) != 0
        || gw_asl_path_field(ctx, st->raw, "ResultPath",
                             GW_ASL_PATH_REFERENCE, 1, ptr) != 0)
    {
        return -1;
    }

    v = json_object_get(st->raw, "Parameters");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "Parameters");

        if (!json_is_object(v) && !json_is_array(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "Parameters is a JSON object (a payload "
                                "template)");
        }

        if (gw_asl_template_field(ctx, v, p) != 0) {
            return -1;
        }
    }

    v = json_object_get(st->raw, "ResultSelector");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "ResultSelector");

        if (!json_is_object(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "ResultSelector is a JSON object (a "
                                "payload template)");
        }

        if (gw_asl_template_field(ctx, v, p) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
gw_asl_task_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    char        p[GW_ASL_POINTER_MAX];
    json_t     *v, *t, *h;

    v = json_object_get(st->raw, "Resource");

    if (v == NULL) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a Task state has a Resource");
    }

    if (gw_asl_resource_check(ctx, v,
                              gw_asl_pointer(p, sizeof(p), ptr, "Resource"))
        != 0)
    {
        return -1;
    }

    st->resource = json_string_value(v);

    if (gw_asl_exclusive(ctx, st->raw, "TimeoutSeconds",
                         "TimeoutSecondsPath", ptr) != 0
        || gw_asl_exclusive(ctx, st->raw, "HeartbeatSeconds",
                            "HeartbeatSecondsPath", ptr) != 0
        || gw_asl_int_field(ctx, st->raw, "TimeoutSeconds", 1,
                            GW_ASL_SECONDS_MAX, ptr) != 0
        || gw_asl_int_field(ctx, st->raw, "HeartbeatSeconds", 1,
                            GW_ASL_SECONDS_MAX, ptr) != 0
        || gw_asl_path_field(ctx, st->raw, "TimeoutSecondsPath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0
        || gw_asl_path_field(ctx, st->raw, "HeartbeatSecondsPath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0)
    {
        return -1;
    }

    t = json_object_get(st->raw, "TimeoutSeconds");
    h = json_object_get(st->raw, "HeartbeatSeconds");

    if (t != NULL && h != NULL
        && json_integer_value(h) >= json_integer_value(t))
    {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr,
                                           "HeartbeatSeconds"),
                            "HeartbeatSeconds is smaller than "
                            "TimeoutSeconds");
    }

    v = json_object_get(st->raw, "Credentials");

    if (v != NULL) {
        gw_asl_pointer(p, sizeof(p), ptr, "Credentials");

        if (!json_is_object(v)) {
            return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                                "Credentials is a JSON object (a payload "
                                "template)");
        }

        if (gw_asl_template_field(ctx, v, p) != 0) {
            return -1;
        }
    }

    if (gw_asl_retry_compile(ctx, st, json_object_get(st->raw, "Retry"),
                             ptr) != 0)
    {
        return -1;
    }

    return gw_asl_catch_compile(ctx, st, json_object_get(st->raw, "Catch"),
                                ptr);
}


static int
gw_asl_choice_state_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr)
{
    int      next;
    char     p[GW_ASL_POINTER_MAX], rp[GW_ASL_POINTER_MAX];
    size_t   i, n;
    json_t  *choices, *rule, *v;

    choices = json_object_get(st->raw, "Choices");
    gw_asl_pointer(p, sizeof(p), ptr, "Choices");

    if (!json_is_array(choices) || json_array_size(choices) == 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            choices != NULL ? p : ptr,
                            "a Choice state has Choices: a non-empty "
                            "array of rules");
    }

    n = json_array_size(choices);

    st->choices = gw_asl_palloc(ctx, n * sizeof(gw_asl_rule_t *));
    st->choice_next = gw_asl_palloc(ctx, n * sizeof(int));

    if (st->choices == NULL || st->choice_next == NULL) {
        return -1;
    }

    json_array_foreach(choices, i, rule) {
        gw_asl_pointer_index(rp, sizeof(rp), p, i);

        st->choices[i] = gw_asl_rule_compile(rule, 1, rp, ctx->err);
        if (st->choices[i] == NULL
            || gw_asl_pool_rule(ctx, st->choices[i]) != 0)
        {
            return -1;
        }

        st->nchoices = i + 1;

        next = gw_asl_def_target(ctx, st->machine,
                                 json_object_get(rule, "Next"),
                                 gw_asl_pointer(rp, sizeof(rp), rp,
                                                "Next"));
        if (next < 0) {
            return -1;
        }

        st->choice_next[i] = next;
    }

    v = json_object_get(st->raw, "Default");

    if (v != NULL) {
        next = gw_asl_def_target(ctx, st->machine, v,
                                 gw_asl_pointer(p, sizeof(p), ptr,
                                                "Default"));
        if (next < 0) {
            return -1;
        }

        st->default_next = next;
    }

    return 0;
}


static int
gw_asl_wait_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    int          n;
    char         p[GW_ASL_POINTER_MAX];
    json_t      *v;
    int64_t      ms;
    int32_t      ns;

    n = (json_object_get(st->raw, "Seconds") != NULL)
        + (json_object_get(st->raw, "Timestamp") != NULL)
        + (json_object_get(st->raw, "SecondsPath") != NULL)
        + (json_object_get(st->raw, "TimestampPath") != NULL);

    if (n != 1) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, ptr,
                            "a Wait state has exactly one of Seconds, "
                            "Timestamp, SecondsPath, TimestampPath");
    }

    if (gw_asl_int_field(ctx, st->raw, "Seconds", 0, GW_ASL_SECONDS_MAX,
                         ptr) != 0
        || gw_asl_path_field(ctx, st->raw, "SecondsPath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0
        || gw_asl_path_field(ctx, st->raw, "TimestampPath",
                             GW_ASL_PATH_REFERENCE, 0, ptr) != 0)
    {
        return -1;
    }

    v = json_object_get(st->raw, "Timestamp");

    if (v != NULL
        && (!json_is_string(v)
            || gw_asl_timestamp_parse(json_string_value(v), &ms, &ns) != 0))
    {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr, "Timestamp"),
                            "Timestamp is an RFC 3339 date-time "
                            "(\"2016-03-14T01:59:00Z\")");
    }

    return 0;
}


static int
gw_asl_fail_check(gw_asl_ctx_t *ctx, gw_asl_state_t *st, const char *ptr)
{
    if (gw_asl_exclusive(ctx, st->raw, "Error", "ErrorPath", ptr) != 0
        || gw_asl_exclusive(ctx, st->raw, "Cause", "CausePath", ptr) != 0
        || gw_asl_string_field(ctx, st->raw, "Error", ptr) != 0
        || gw_asl_string_field(ctx, st->raw, "Cause", ptr) != 0
        || gw_asl_fail_field(ctx, st->raw, "ErrorPath", ptr) != 0
        || gw_asl_fail_field(ctx, st->raw, "CausePath", ptr) != 0)
    {
        return -1;
    }

    return 0;
}


static int
gw_asl_parallel_compile(gw_asl_ctx_t *ctx, gw_asl_state_t *st,
    const char *ptr, unsigned depth)
{
    char     p[GW_ASL_POINTER_MAX], bp[GW_ASL_POINTER_MAX];
    size_t   i, n;
    json_t  *branches, *b;

    branches = json_object_get(st->raw, "Branches");
    gw_asl_pointer(p, sizeof(p), ptr, "Branches");

    if (!json_is_array(branches) || json_array_size(branches) == 0) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            branches != NULL ? p : ptr,
                            "a Parallel state has Branches: a non-empty "
                            "array of state machines");
    }

    if (depth + 1 > GW_ASL_DEPTH_MAX) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID, p,
                            "Parallel and Map nested over %d levels",
                            GW_ASL_DEPTH_MAX);
    }

    n = json_array_size(branches);

    st->branches = gw_asl_palloc(ctx, n * sizeof(gw_asl_machine_t *));
    if (st->branches == NULL) {
        return -1;
    }

    json_array_foreach(branches, i, b) {
        gw_asl_pointer_index(bp, sizeof(bp), p, i);

        st->branches[i] = gw_asl_machine_compile(ctx, b, bp, st->machine,
                                                 depth + 1);
        if (st->branches[i] == NULL) {
            return -1;
        }

        st->nbranches = i + 1;
    }

    if (gw_asl_retry_compile(ctx, st, json_object_get(st->raw, "Retry"),
                             ptr) != 0)
    {
        return -1;
    }

    return gw_asl_catch_compile(ctx, st, json_object_get(st->raw, "Catch"),
                                ptr);
}


static int
gw_asl_string_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    json_t  *v;

    v = json_object_get(obj, key);

    if (v != NULL && !json_is_string(v)) {
        return gw_asl_error(ctx->err, GW_ASL_E_INVALID,
                            gw_asl_pointer(p, sizeof(p), ptr, key),
                            "%s is a string", key);
    }

    return 0;
}


/* Fail's ErrorPath and CausePath: a Reference Path or an intrinsic call */

static int
gw_asl_fail_field(gw_asl_ctx_t *ctx, json_t *obj, const char *key,
    const char *ptr)
{
    char     p[GW_ASL_POINTER_MAX];
    json_t  *v;

    v = json_object_get(obj, key);

    if (v == NULL) {
        return 0;
    }

    gw_asl_pointer(p, sizeof(p), ptr, key);

    if (json_is_string(v) && gw_asl_intrinsic_is_call(json_string_value(v)))
    {
        if (gw_asl_intrinsic_check(json_string_value(v), ctx->err) != 0) {
            snprintf(ctx->err->pointer, sizeof(ctx->err->pointer), "%s", p);
            snprintf(ctx->err->error, sizeof(ctx->err->error), "%s",
                     GW_ASL_E_INVALID);
            return -1;
        }

        return 0;
    }

    return gw_asl_path_field(ctx, obj, key, GW_ASL_PATH_REFERENCE, 0, ptr);
}
