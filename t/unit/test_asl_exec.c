
/*
 * Copyright (C) Tollgate
 *
 * The interpreter (lib/asl/gw_asl_exec*.c) one state at a time, and the
 * local runner (lib/asl/gw_asl_local.c): each state type; InputPath,
 * Parameters, Result, ResultSelector, ResultPath and OutputPath absent,
 * null and given; Wait's four forms and their bad values; Task's
 * payload and timeouts; Retry counting and delays; Catch and its
 * ResultPath; Parallel and Map (ItemsPath, ItemSelector with
 * $$.Map.Item, tolerated failures); whole runs with their history; the
 * caps (payload, transitions, nesting) just at and just past.
 *
 * The machines are built here from a definition's JSON by a small
 * builder of our own (tb_*), not by gw_asl_def_parse, so that these
 * tests check the interpreter alone: the builder checks nothing.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_asl.h"
#include "tap.h"


static const char  *tb_types[] = {
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"
};


static json_t *
J(const char *text)
{
    json_t        *v;
    json_error_t   e;

    v = json_loads(text, JSON_DECODE_ANY, &e);
    if (v == NULL) {
        diag("bad JSON in the test: %s: %s", e.text, text);
        bail_out("bad JSON in the test");
    }

    return v;
}


/* 1 when got equals the JSON text expected (numbers compared as such) */

static int
is_json(json_t *got, const char *expected, const char *name)
{
    int      pass;
    char    *g;
    json_t  *e;

    e = J(expected);
    pass = (got != NULL && json_equal(got, e));

    if (!pass) {
        /* jansson keeps 1 and 1.0 apart: compare their text too */
        g = got != NULL ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY
                                          | JSON_SORT_KEYS)
                        : NULL;
        diag("got:      %s", g != NULL ? g : "(null)");
        diag("expected: %s", expected);
        free(g);
    }

    json_decref(e);

    return ok(pass, "%s", name);
}


static int
tb_index(json_t *states, const char *name)
{
    int          i;
    json_t      *v;
    const char  *key;

    i = 0;

    json_object_foreach(states, key, v) {
        if (name != NULL && strcmp(key, name) == 0) {
            return i;
        }

        i++;
    }

    return -1;
}


static const char **
tb_errors(json_t *list, size_t *n)
{
    size_t        i;
    const char  **e;

    *n = json_array_size(list);
    e = calloc(*n + 1, sizeof(char *));
    if (e == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < *n; i++) {
        e[i] = json_string_value(json_array_get(list, i));
    }

    return e;
}


static gw_asl_machine_t *tb_machine(json_t *obj, gw_asl_machine_t *parent);


static void
tb_state(gw_asl_state_t *st, json_t *states)
{
    size_t             i;
    json_t            *v, *r, *list;
    gw_asl_err_t       err;
    gw_asl_retrier_t  *rt;

    st->next = tb_index(states, json_string_value(json_object_get(st->raw,
                                                                  "Next")));
    st->end = json_is_true(json_object_get(st->raw, "End"))
              || st->type == GW_ASL_SUCCEED || st->type == GW_ASL_FAIL;
    st->resource = json_string_value(json_object_get(st->raw, "Resource"));
    st->default_next = tb_index(states,
                                json_string_value(json_object_get(st->raw,
                                                              "Default")));

    list = json_object_get(st->raw, "Retry");
    st->nretry = json_array_size(list);
    st->retry = calloc(st->nretry + 1, sizeof(gw_asl_retrier_t));
    if (st->retry == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < st->nretry; i++) {
        r = json_array_get(list, i);
        rt = &st->retry[i];
        rt->errors = tb_errors(json_object_get(r, "ErrorEquals"),
                               &rt->nerrors);
        v = json_object_get(r, "IntervalSeconds");
        rt->interval = v != NULL ? json_number_value(v) : 1;
        v = json_object_get(r, "MaxAttempts");
        rt->max_attempts = v != NULL ? json_integer_value(v) : 3;
        v = json_object_get(r, "BackoffRate");
        rt->backoff = v != NULL ? json_number_value(v) : 2.0;
        rt->max_delay = json_number_value(json_object_get(r,
                                                       "MaxDelaySeconds"));
        v = json_object_get(r, "JitterStrategy");
        rt->jitter_full = (v != NULL
                           && strcmp(json_string_value(v), "FULL") == 0);
    }

    list = json_object_get(st->raw, "Catch");
    st->ncatches = json_array_size(list);
    st->catches = calloc(st->ncatches + 1, sizeof(gw_asl_catcher_t));
    if (st->catches == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < st->ncatches; i++) {
        r = json_array_get(list, i);
        st->catches[i].errors = tb_errors(json_object_get(r, "ErrorEquals"),
                                          &st->catches[i].nerrors);
        st->catches[i].next = tb_index(states,
                                       json_string_value(
                                           json_object_get(r, "Next")));
        st->catches[i].result_path = json_object_get(r, "ResultPath");
    }

    list = json_object_get(st->raw, "Choices");
    st->nchoices = json_array_size(list);
    st->choices = calloc(st->nchoices + 1, sizeof(gw_asl_rule_t *));
    st->choice_next = calloc(st->nchoices + 1, sizeof(int));
    if (st->choices == NULL || st->choice_next == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < st->nchoices; i++) {
        r = json_array_get(list, i);
        st->choices[i] = gw_asl_rule_compile(r, 1, "", &err);
        if (st->choices[i] == NULL) {
            diag("a Choice rule did not compile: %s", err.cause);
            bail_out("gw_asl_rule_compile");
        }

        st->choice_next[i] = tb_index(states,
                                      json_string_value(
                                          json_object_get(r, "Next")));
    }

    list = json_object_get(st->raw, "Branches");
    st->nbranches = json_array_size(list);
    st->branches = calloc(st->nbranches + 1, sizeof(gw_asl_machine_t *));
    if (st->branches == NULL) {
        bail_out("out of memory");
    }

    for (i = 0; i < st->nbranches; i++) {
        st->branches[i] = tb_machine(json_array_get(list, i), st->machine);
    }

    v = json_object_get(st->raw, "ItemProcessor");
    if (v == NULL) {
        v = json_object_get(st->raw, "Iterator");
    }

    if (v != NULL) {
        st->processor = tb_machine(v, st->machine);
    }
}


static gw_asl_machine_t *
tb_machine(json_t *obj, gw_asl_machine_t *parent)
{
    size_t             i, t;
    json_t            *states, *v;
    const char        *key, *type;
    gw_asl_state_t    *st;
    gw_asl_machine_t  *m;

    m = calloc(1, sizeof(gw_asl_machine_t));
    states = json_object_get(obj, "States");
    if (m == NULL) {
        bail_out("out of memory");
    }

    m->raw = obj;
    m->parent = parent;
    m->pointer = "";
    m->nstates = json_object_size(states);
    m->states = calloc(m->nstates + 1, sizeof(gw_asl_state_t));
    if (m->states == NULL) {
        bail_out("out of memory");
    }

    m->start = tb_index(states,
                        json_string_value(json_object_get(obj, "StartAt")));

    i = 0;

    json_object_foreach(states, key, v) {
        st = &m->states[i];
        st->name = key;
        st->raw = v;
        st->machine = m;
        st->index = i;

        type = json_string_value(json_object_get(v, "Type"));

        for (t = 0; t < 8; t++) {
            if (type != NULL && strcmp(type, tb_types[t]) == 0) {
                st->type = (gw_asl_type_e) t;
            }
        }

        i++;
    }

    for (i = 0; i < m->nstates; i++) {
        tb_state(&m->states[i], states);
    }

    return m;
}


static void
tb_free(gw_asl_machine_t *m)
{
    size_t           i, j;
    gw_asl_state_t  *st;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nstates; i++) {
        st = &m->states[i];

        for (j = 0; j < st->nretry; j++) {
            free(st->retry[j].errors);
        }

        for (j = 0; j < st->ncatches; j++) {
            free(st->catches[j].errors);
        }

        for (j = 0; j < st->nchoices; j++) {
            gw_asl_rule_free(st->choices[j]);
        }

        for (j = 0; j < st->nbranches; j++) {
            tb_free(st->branches[j]);
        }

        tb_free(st->processor);
        free(st->retry);
        free(st->catches);
        free(st->choices);
        free(st->choice_next);
        free(st->branches);
    }

    free(m->states);
    free(m);
}


/* a definition built from text; tb_def_free() releases it */

static gw_asl_def_t *
tb_def(const char *text)
{
    gw_asl_def_t  *def;

    def = calloc(1, sizeof(gw_asl_def_t));
    if (def == NULL) {
        bail_out("out of memory");
    }

    def->root = J(text);
    def->top = tb_machine(def->root, NULL);

    return def;
}


static void
tb_def_free(gw_asl_def_t *def)
{
    tb_free(def->top);
    json_decref(def->root);
    free(def);
}


static gw_asl_state_t *
tb_find(gw_asl_def_t *def, const char *name)
{
    size_t  i;

    for (i = 0; i < def->top->nstates; i++) {
        if (strcmp(def->top->states[i].name, name) == 0) {
            return &def->top->states[i];
        }
    }

    bail_out("no such state in the test");
}


/* a one-state definition: {"StartAt": "S", "States": {"S": state}} */

static gw_asl_def_t *
tb_one(const char *state)
{
    char  buf[8192];

    snprintf(buf, sizeof(buf),
             "{\"StartAt\": \"S\", \"States\": {\"S\": %s, "
             "\"N\": {\"Type\": \"Succeed\"}, "
             "\"H\": {\"Type\": \"Succeed\"}}}", state);

    return tb_def(buf);
}


/*
 * enter S of a one-state definition with input: the kind; the step is
 * left in *step (the caller frees it)
 */

static gw_asl_next_e
enter_one(const char *state, const char *input, gw_asl_step_t *step,
    gw_asl_def_t **def)
{
    json_t         *in, *ctx;
    gw_asl_next_e   k;

    *def = tb_one(state);
    in = J(input);
    ctx = J("{\"Execution\": {\"Name\": \"x\"}}");

    gw_asl_step_init(step);
    k = gw_asl_enter(tb_find(*def, "S"), in, ctx, 1000000, step);

    json_decref(in);
    json_decref(ctx);

    return k;
}


/* enter S and check the kind and the output (or the error) */

static void
t_enter(const char *state, const char *input, gw_asl_next_e kind,
    const char *expected, const char *name)
{
    char            buf[512];
    gw_asl_def_t   *def;
    gw_asl_step_t   step;
    gw_asl_next_e   k;

    k = enter_one(state, input, &step, &def);

    snprintf(buf, sizeof(buf), "%s: the kind", name);
    if (!is_int(k, kind, "%s", buf)) {
        diag("error: %s: %s", step.err.error, step.err.cause);
    }

    snprintf(buf, sizeof(buf), "%s: %s", name,
             kind == GW_ASL_FAILED ? "the error" : "the output");

    if (kind == GW_ASL_FAILED) {
        is_str(step.err.error, expected, "%s", buf);

    } else if (kind == GW_ASL_DISPATCH) {
        is_json(step.payload, expected, buf);

    } else if (kind == GW_ASL_FORK) {
        is_json(step.items, expected, buf);

    } else if (expected != NULL) {
        is_json(step.output, expected, buf);
    }

    gw_asl_step_free(&step);
    tb_def_free(def);
}


static void
test_pass(void)
{
    t_enter("{\"Type\": \"Pass\", \"Next\": \"N\"}", "{\"a\": 1}",
            GW_ASL_GO, "{\"a\": 1}", "Pass: the input passes");
    t_enter("{\"Type\": \"Pass\", \"End\": true}", "[1, 2]",
            GW_ASL_SUCCEEDED, "[1, 2]", "Pass End: the machine succeeds");
    t_enter("{\"Type\": \"Pass\", \"Result\": {\"r\": true}, \"End\": true}",
            "{\"a\": 1}", GW_ASL_SUCCEEDED, "{\"r\": true}",
            "Result, ResultPath absent: the result replaces the input");
    t_enter("{\"Type\": \"Pass\", \"Result\": 5, \"ResultPath\": \"$\","
            " \"End\": true}", "{\"a\": 1}", GW_ASL_SUCCEEDED, "5",
            "ResultPath \"$\": the result replaces the input");
    t_enter("{\"Type\": \"Pass\", \"Result\": 5, \"ResultPath\": null,"
            " \"End\": true}", "{\"a\": 1}", GW_ASL_SUCCEEDED,
            "{\"a\": 1}", "ResultPath null: the input kept");
    t_enter("{\"Type\": \"Pass\", \"Result\": 5, \"ResultPath\": \"$.r\","
            " \"End\": true}", "{\"a\": 1}", GW_ASL_SUCCEEDED,
            "{\"a\": 1, \"r\": 5}", "ResultPath $.r: the result added");
    t_enter("{\"Type\": \"Pass\", \"Result\": 5, \"ResultPath\": \"$.a.b\","
            " \"End\": true}", "{\"a\": 1}", GW_ASL_FAILED,
            GW_ASL_E_RESULT_PATH, "ResultPath through a number");
    t_enter("{\"Type\": \"Pass\", \"InputPath\": null, \"End\": true}",
            "{\"a\": 1}", GW_ASL_SUCCEEDED, "{}", "InputPath null: {}");
    t_enter("{\"Type\": \"Pass\", \"InputPath\": \"$.a\", \"End\": true}",
            "{\"a\": {\"b\": 2}}", GW_ASL_SUCCEEDED, "{\"b\": 2}",
            "InputPath $.a");
    t_enter("{\"Type\": \"Pass\", \"InputPath\": \"$.z\", \"End\": true}",
            "{\"a\": 1}", GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "InputPath naming nothing: States.Runtime");
    t_enter("{\"Type\": \"Pass\", \"OutputPath\": null, \"End\": true}",
            "{\"a\": 1}", GW_ASL_SUCCEEDED, "{}", "OutputPath null: {}");
    t_enter("{\"Type\": \"Pass\", \"OutputPath\": \"$.a\", \"End\": true}",
            "{\"a\": [1]}", GW_ASL_SUCCEEDED, "[1]", "OutputPath $.a");
    t_enter("{\"Type\": \"Pass\", \"OutputPath\": \"$.q\", \"End\": true}",
            "{\"a\": 1}", GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "OutputPath naming nothing: States.Runtime");
    t_enter("{\"Type\": \"Pass\", \"Parameters\": {\"x.$\": \"$.a\","
            " \"k\": \"v\"}, \"End\": true}", "{\"a\": 3}",
            GW_ASL_SUCCEEDED, "{\"x\": 3, \"k\": \"v\"}",
            "Parameters: the effective input is the result");
    t_enter("{\"Type\": \"Pass\", \"Parameters\": {\"x.$\": \"$.nope\"},"
            " \"End\": true}", "{\"a\": 3}", GW_ASL_FAILED,
            GW_ASL_E_RUNTIME, "Parameters naming nothing: States.Runtime");
    t_enter("{\"Type\": \"Pass\", \"Parameters\": {\"n.$\": "
            "\"$$.Execution.Name\"}, \"ResultPath\": \"$.p\","
            " \"End\": true}", "{\"a\": 3}", GW_ASL_SUCCEEDED,
            "{\"a\": 3, \"p\": {\"n\": \"x\"}}",
            "Parameters from the context, ResultPath over the raw input");
    t_enter("{\"Type\": \"Pass\", \"InputPath\": \"$.a\", \"Result\": 1,"
            " \"ResultPath\": \"$.r\", \"End\": true}",
            "{\"a\": {\"b\": 2}}", GW_ASL_SUCCEEDED,
            "{\"a\": {\"b\": 2}, \"r\": 1}",
            "ResultPath applies to the raw input, not InputPath's");
    t_enter("{\"Type\": \"Pass\", \"ResultSelector\": {\"x\": 1},"
            " \"End\": true}", "{\"a\": 1}", GW_ASL_SUCCEEDED,
            "{\"a\": 1}", "Pass has no ResultSelector");
}


static void
test_succeed_fail(void)
{
    t_enter("{\"Type\": \"Succeed\"}", "{\"a\": 1}", GW_ASL_SUCCEEDED,
            "{\"a\": 1}", "Succeed");
    t_enter("{\"Type\": \"Succeed\", \"InputPath\": \"$.a\","
            " \"OutputPath\": \"$.b\"}", "{\"a\": {\"b\": 7}}",
            GW_ASL_SUCCEEDED, "7", "Succeed: InputPath then OutputPath");
    t_enter("{\"Type\": \"Fail\", \"Error\": \"E.x\", \"Cause\": \"why\"}",
            "{}", GW_ASL_FAILED, "E.x", "Fail: Error");
    t_enter("{\"Type\": \"Fail\", \"ErrorPath\": \"$.e\"}",
            "{\"e\": \"From.Path\"}", GW_ASL_FAILED, "From.Path",
            "Fail: ErrorPath");
    t_enter("{\"Type\": \"Fail\", \"ErrorPath\": \"$.e\"}", "{\"e\": 5}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Fail: ErrorPath to a number: States.Runtime");
    t_enter("{\"Type\": \"Fail\", \"CausePath\": \"$.none\"}", "{}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Fail: CausePath naming nothing: States.Runtime");
    t_enter("{\"Type\": \"Fail\"}", "{}", GW_ASL_FAILED, "",
            "Fail without Error: an empty error");
}


static void
test_fail_cause(void)
{
    gw_asl_def_t   *def;
    gw_asl_step_t   step;

    enter_one("{\"Type\": \"Fail\", \"Error\": \"E\", \"CausePath\":"
              " \"$.c\"}", "{\"c\": \"the cause\"}", &step, &def);
    is_str(step.err.cause, "the cause", "Fail: CausePath");
    gw_asl_step_free(&step);
    tb_def_free(def);

    enter_one("{\"Type\": \"Fail\", \"Error\": \"E\", \"CausePath\":"
              " \"States.Format('n={}', $.n)\"}", "{\"n\": 4}", &step,
              &def);
    is_str(step.err.cause, "n=4", "Fail: CausePath as an intrinsic");
    gw_asl_step_free(&step);
    tb_def_free(def);
}


static void
t_wait(const char *state, const char *input, gw_asl_next_e kind,
    int64_t until, const char *name)
{
    gw_asl_def_t   *def;
    gw_asl_step_t   step;
    gw_asl_next_e   k;

    k = enter_one(state, input, &step, &def);

    if (!is_int(k, kind, "%s: the kind", name)) {
        diag("error: %s: %s", step.err.error, step.err.cause);
    }

    if (kind == GW_ASL_SLEEP) {
        is_int(step.until_ms, until, "%s: until", name);

    } else {
        is_str(step.err.error, GW_ASL_E_RUNTIME, "%s: States.Runtime",
               name);
    }

    gw_asl_step_free(&step);
    tb_def_free(def);
}


static void
test_wait(void)
{
    json_t         *in;
    gw_asl_def_t   *def;
    gw_asl_step_t   step;
    gw_asl_next_e   k;

    /* enter_one's now is 1,000,000 ms */
    t_wait("{\"Type\": \"Wait\", \"Seconds\": 10, \"Next\": \"N\"}", "{}",
           GW_ASL_SLEEP, 1010000, "Wait Seconds");
    t_wait("{\"Type\": \"Wait\", \"Seconds\": 0, \"Next\": \"N\"}", "{}",
           GW_ASL_SLEEP, 1000000, "Wait Seconds 0");
    t_wait("{\"Type\": \"Wait\", \"Timestamp\": \"2024-01-01T00:00:00Z\","
           " \"End\": true}", "{}", GW_ASL_SLEEP, 1704067200000LL,
           "Wait Timestamp");
    t_wait("{\"Type\": \"Wait\", \"Timestamp\":"
           " \"2024-02-29T01:30:00.250+01:00\", \"End\": true}", "{}",
           GW_ASL_SLEEP, 1709166600250LL,
           "Wait Timestamp with fraction and offset");
    t_wait("{\"Type\": \"Wait\", \"Timestamp\": \"1969-12-31T23:00:00Z\","
           " \"End\": true}", "{}", GW_ASL_SLEEP, 1000000,
           "Wait Timestamp in the past: now");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": 3}", GW_ASL_SLEEP, 1003000, "Wait SecondsPath");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": -1}", GW_ASL_FAILED, 0, "SecondsPath negative");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": 1.5}", GW_ASL_FAILED, 0, "SecondsPath not integral");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": \"3\"}", GW_ASL_FAILED, 0, "SecondsPath a string");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": 2.0}", GW_ASL_SLEEP, 1002000, "SecondsPath 2.0 is 2");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": 1e30}", GW_ASL_FAILED, 0, "SecondsPath 1e30");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{}", GW_ASL_FAILED, 0, "SecondsPath naming nothing");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": 3162240000}", GW_ASL_SLEEP,
           3162240000LL * 1000 + 1000000,
           "SecondsPath at its cap (100 years of 366 days)");
    t_wait("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true}",
           "{\"s\": 3162240001}", GW_ASL_FAILED, 0, "SecondsPath past it");
    t_wait("{\"Type\": \"Wait\", \"TimestampPath\": \"$.t\", \"End\": true}",
           "{\"t\": \"2024-01-01T00:00:01Z\"}", GW_ASL_SLEEP,
           1704067201000LL, "Wait TimestampPath");
    t_wait("{\"Type\": \"Wait\", \"TimestampPath\": \"$.t\", \"End\": true}",
           "{\"t\": \"2024-01-01 00:00:01Z\"}", GW_ASL_FAILED, 0,
           "TimestampPath without T");
    t_wait("{\"Type\": \"Wait\", \"TimestampPath\": \"$.t\", \"End\": true}",
           "{\"t\": \"2023-02-29T00:00:00Z\"}", GW_ASL_FAILED, 0,
           "TimestampPath on no such day");
    t_wait("{\"Type\": \"Wait\", \"TimestampPath\": \"$.t\", \"End\": true}",
           "{\"t\": \"2024-01-01T00:00:00\"}", GW_ASL_FAILED, 0,
           "TimestampPath without a zone");
    t_wait("{\"Type\": \"Wait\", \"TimestampPath\": \"$.t\", \"End\": true}",
           "{\"t\": 17}", GW_ASL_FAILED, 0, "TimestampPath a number");
    t_wait("{\"Type\": \"Wait\", \"InputPath\": \"$.w\", \"SecondsPath\":"
           " \"$.s\", \"End\": true}", "{\"w\": {\"s\": 2}}", GW_ASL_SLEEP,
           1002000, "SecondsPath over the effective input");

    /* resumed: the effective input through OutputPath */
    def = tb_one("{\"Type\": \"Wait\", \"Seconds\": 1, \"InputPath\":"
                 " \"$.a\", \"OutputPath\": \"$.b\", \"Next\": \"N\"}");
    in = J("{\"a\": {\"b\": [9]}}");
    gw_asl_step_init(&step);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, NULL, &step);
    is_int(k, GW_ASL_GO, "Wait resumed: GO");
    is_int(step.next, tb_find(def, "N")->index, "Wait resumed: its Next");
    is_json(step.output, "[9]", "Wait resumed: InputPath, OutputPath");
    gw_asl_step_free(&step);
    json_decref(in);
    tb_def_free(def);
}


/* a string of n bytes as a JSON document "\"xxx...\"" (n + 2 bytes) */

static char *
big_string(size_t n)
{
    char  *s;

    s = malloc(n + 3);
    if (s == NULL) {
        bail_out("out of memory");
    }

    s[0] = '"';
    memset(s + 1, 'x', n);
    s[n + 1] = '"';
    s[n + 2] = '\0';

    return s;
}


static void
test_task(void)
{
    char           *big;
    json_t         *in, *res;
    gw_asl_def_t   *def;
    gw_asl_step_t   step;
    gw_asl_next_e   k;

    t_enter("{\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}",
            "{\"a\": 1}", GW_ASL_DISPATCH, "{\"a\": 1}",
            "Task: the input is the payload");
    t_enter("{\"Type\": \"Task\", \"Resource\": \"r\", \"InputPath\":"
            " \"$.a\", \"Parameters\": {\"v.$\": \"$.b\"}, \"End\": true}",
            "{\"a\": {\"b\": 2}}", GW_ASL_DISPATCH, "{\"v\": 2}",
            "Task: InputPath then Parameters");

    enter_one("{\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}",
              "{}", &step, &def);
    is_int(step.timeout_ms, 0, "Task: no TimeoutSeconds, no timeout");
    is_int(step.heartbeat_ms, 0, "Task: no HeartbeatSeconds");
    gw_asl_step_free(&step);
    tb_def_free(def);

    enter_one("{\"Type\": \"Task\", \"Resource\": \"r\", \"TimeoutSeconds\":"
              " 30, \"HeartbeatSeconds\": 5, \"End\": true}", "{}", &step,
              &def);
    is_int(step.timeout_ms, 30000, "Task: TimeoutSeconds in ms");
    is_int(step.heartbeat_ms, 5000, "Task: HeartbeatSeconds in ms");
    gw_asl_step_free(&step);
    tb_def_free(def);

    enter_one("{\"Type\": \"Task\", \"Resource\": \"r\","
              " \"TimeoutSecondsPath\": \"$.t\", \"HeartbeatSecondsPath\":"
              " \"$.h\", \"End\": true}", "{\"t\": 99999999, \"h\": 1}",
              &step, &def);
    is_int(step.timeout_ms, 99999999000LL, "TimeoutSecondsPath at its cap");
    is_int(step.heartbeat_ms, 1000, "HeartbeatSecondsPath");
    gw_asl_step_free(&step);
    tb_def_free(def);

    t_enter("{\"Type\": \"Task\", \"Resource\": \"r\","
            " \"TimeoutSecondsPath\": \"$.t\", \"End\": true}",
            "{\"t\": 100000000}", GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "TimeoutSecondsPath past its cap");
    t_enter("{\"Type\": \"Task\", \"Resource\": \"r\","
            " \"TimeoutSecondsPath\": \"$.t\", \"End\": true}", "{\"t\": 0}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME, "TimeoutSecondsPath 0");
    t_enter("{\"Type\": \"Task\", \"Resource\": \"r\","
            " \"HeartbeatSecondsPath\": \"$.h\", \"End\": true}", "{}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "HeartbeatSecondsPath naming nothing");

    /* resumed: ResultSelector, ResultPath, OutputPath */
    def = tb_one("{\"Type\": \"Task\", \"Resource\": \"r\","
                 " \"ResultSelector\": {\"v.$\": \"$.body.v\"},"
                 " \"ResultPath\": \"$.out\", \"OutputPath\": \"$.out\","
                 " \"Next\": \"N\"}");
    in = J("{\"a\": 1}");
    res = J("{\"body\": {\"v\": 42}, \"junk\": true}");
    gw_asl_step_init(&step);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_GO, "Task resumed: GO");
    is_json(step.output, "{\"v\": 42}",
            "Task resumed: ResultSelector, ResultPath, OutputPath");
    json_decref(res);

    res = J("{\"nobody\": 1}");
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_FAILED, "ResultSelector naming nothing: failed");
    is_str(step.err.error, GW_ASL_E_RUNTIME, "... with States.Runtime");
    json_decref(res);
    gw_asl_step_free(&step);
    json_decref(in);
    tb_def_free(def);

    /* the payload cap: a string of n bytes is n + 2 bytes of JSON */
    def = tb_one("{\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}");
    gw_asl_step_init(&step);

    big = big_string(GW_ASL_PAYLOAD_MAX - 2);
    in = J(big);
    k = gw_asl_enter(tb_find(def, "S"), in, NULL, 0, &step);
    is_int(k, GW_ASL_DISPATCH, "a payload of exactly the cap dispatched");
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, in, &step);
    is_int(k, GW_ASL_SUCCEEDED, "a result of exactly the cap taken");
    json_decref(in);
    free(big);

    big = big_string(GW_ASL_PAYLOAD_MAX - 1);
    in = J(big);
    k = gw_asl_enter(tb_find(def, "S"), in, NULL, 0, &step);
    is_int(k, GW_ASL_FAILED, "a payload one byte past the cap refused");
    is_str(step.err.error, GW_ASL_E_DATA_LIMIT,
           "... with States.DataLimitExceeded");
    res = J("{}");
    k = gw_asl_resume(tb_find(def, "S"), res, NULL, in, &step);
    is_int(k, GW_ASL_FAILED, "a result one byte past the cap refused");
    is_str(step.err.error, GW_ASL_E_DATA_LIMIT,
           "... with States.DataLimitExceeded");
    json_decref(res);
    json_decref(in);
    free(big);

    gw_asl_step_free(&step);
    tb_def_free(def);
}


static void
test_retry_catch(void)
{
    json_t           *in;
    unsigned          retries[2];
    gw_asl_def_t     *def;
    gw_asl_step_t     step;
    gw_asl_next_e     k;
    gw_asl_state_t   *st;

    def = tb_one("{\"Type\": \"Task\", \"Resource\": \"r\", \"Next\": \"N\","
                 " \"Retry\": [{\"ErrorEquals\": [\"E.one\"],"
                 " \"MaxAttempts\": 2},"
                 " {\"ErrorEquals\": [\"States.ALL\"], \"IntervalSeconds\":"
                 " 3, \"BackoffRate\": 1.5, \"MaxAttempts\": 1}],"
                 " \"Catch\": [{\"ErrorEquals\": [\"E.one\"],"
                 " \"ResultPath\": \"$.err\", \"Next\": \"H\"},"
                 " {\"ErrorEquals\": [\"E.two\"], \"ResultPath\": null,"
                 " \"Next\": \"H\"},"
                 " {\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"N\"}]}");
    st = tb_find(def, "S");
    in = J("{\"a\": 1}");
    gw_asl_step_init(&step);

    retries[0] = 0;
    retries[1] = 0;

    k = gw_asl_fail(st, in, "E.one", "c1", retries, 0, &step);
    is_int(k, GW_ASL_RETRY, "E.one: retried");
    is_int(step.retrier, 0, "... by the first retrier");
    is_int(step.delay_ms, 1000, "... after IntervalSeconds (1 s)");

    retries[0] = 1;
    k = gw_asl_fail(st, in, "E.one", "c1", retries, 0, &step);
    is_int(k, GW_ASL_RETRY, "E.one again: retried");
    is_int(step.delay_ms, 2000, "... after 1 s * BackoffRate 2");

    retries[0] = 2;
    k = gw_asl_fail(st, in, "E.one", "c1", retries, 0, &step);
    is_int(k, GW_ASL_GO, "E.one, MaxAttempts spent: caught");
    is_int(step.next, tb_find(def, "H")->index, "... to its Next");
    is_json(step.output, "{\"a\": 1, \"err\": {\"Error\": \"E.one\","
            " \"Cause\": \"c1\"}}", "... the error at ResultPath $.err");

    k = gw_asl_fail(st, in, "E.two", "c2", retries, 0, &step);
    is_int(k, GW_ASL_RETRY, "E.two: retried by States.ALL");
    is_int(step.retrier, 1, "... the second retrier");
    is_int(step.delay_ms, 3000, "... after its IntervalSeconds");

    retries[1] = 1;
    k = gw_asl_fail(st, in, "E.two", "c2", retries, 0, &step);
    is_int(k, GW_ASL_GO, "E.two, spent: caught");
    is_json(step.output, "{\"a\": 1}", "... ResultPath null keeps the input");

    k = gw_asl_fail(st, in, "E.three", "c3", retries, 0, &step);
    is_int(k, GW_ASL_GO, "E.three: caught by States.ALL");
    is_int(step.next, tb_find(def, "N")->index, "... to its Next");
    is_json(step.output, "{\"Error\": \"E.three\", \"Cause\": \"c3\"}",
            "... ResultPath absent: the error output alone");

    k = gw_asl_fail(st, in, "E.three", "c3", NULL, 0, &step);
    is_int(k, GW_ASL_GO, "no retry counts: the catchers alone");

    k = gw_asl_fail(st, in, GW_ASL_E_RUNTIME, "rt", retries, 0, &step);
    is_int(k, GW_ASL_FAILED, "States.Runtime: neither retried nor caught");
    is_str(step.err.error, GW_ASL_E_RUNTIME, "... its error");
    is_str(step.err.cause, "rt", "... its cause");

    /* error and cause given from the step's own error */
    k = gw_asl_fail(st, in, step.err.error, step.err.cause, retries, 0,
                    &step);
    is_str(step.err.cause, "rt", "the step's own error given back");

    gw_asl_step_free(&step);
    json_decref(in);
    tb_def_free(def);

    /* no Retry, no Catch */
    def = tb_one("{\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}");
    in = J("{}");
    gw_asl_step_init(&step);
    k = gw_asl_fail(tb_find(def, "S"), in, "E.x", "why", retries, 0, &step);
    is_int(k, GW_ASL_FAILED, "no Catch: failed");
    is_str(step.err.error, "E.x", "... with the task's error");
    is_str(step.err.cause, "why", "... and cause");
    gw_asl_step_free(&step);
    json_decref(in);
    tb_def_free(def);

    /* a processing error (ResultPath) goes to the catchers */
    def = tb_one("{\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true,"
                 " \"ResultPath\": \"$.a.b\", \"Retry\": [{\"ErrorEquals\":"
                 " [\"States.ALL\"]}], \"Catch\": [{\"ErrorEquals\":"
                 " [\"States.ResultPathMatchFailure\"], \"Next\": \"H\"}]}");
    in = J("{\"a\": 1}");
    gw_asl_step_init(&step);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, in, &step);
    is_int(k, GW_ASL_GO, "ResultPathMatchFailure caught, not retried");
    is_str(json_string_value(json_object_get(step.output, "Error")),
           GW_ASL_E_RESULT_PATH, "... the error output");
    gw_asl_step_free(&step);
    json_decref(in);
    tb_def_free(def);
}


static void
test_choice(void)
{
    t_enter("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.n\","
            " \"NumericEquals\": 1, \"Next\": \"H\"}], \"Default\": \"N\"}",
            "{\"n\": 1}", GW_ASL_GO, "{\"n\": 1}", "Choice: a rule matches");
    t_enter("{\"Type\": \"Choice\", \"InputPath\": \"$.a\", \"OutputPath\":"
            " \"$.n\", \"Choices\": [{\"Variable\": \"$.n\","
            " \"NumericEquals\": 1, \"Next\": \"H\"}], \"Default\": \"N\"}",
            "{\"a\": {\"n\": 2}}", GW_ASL_GO, "2",
            "Choice: InputPath and OutputPath");
    t_enter("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.n\","
            " \"NumericEquals\": 1, \"Next\": \"H\"}]}", "{\"n\": 2}",
            GW_ASL_FAILED, GW_ASL_E_NO_CHOICE,
            "Choice: none matches, no Default");
    t_enter("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.n\","
            " \"NumericEqualsPath\": \"$.m\", \"Next\": \"H\"}]}",
            "{\"n\": 2}", GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Choice: a ...Path naming nothing: States.Runtime");
}


static void
test_choice_next(void)
{
    gw_asl_def_t   *def;
    gw_asl_step_t   step;

    enter_one("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.n\","
              " \"NumericEquals\": 1, \"Next\": \"N\"}, {\"Variable\":"
              " \"$.n\", \"NumericGreaterThan\": 0, \"Next\": \"H\"}],"
              " \"Default\": \"N\"}", "{\"n\": 5}", &step, &def);
    is_int(step.next, tb_find(def, "H")->index,
           "Choice: the first rule that matches, in order");
    gw_asl_step_free(&step);
    tb_def_free(def);

    enter_one("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.n\","
              " \"NumericEquals\": 1, \"Next\": \"N\"}], \"Default\": \"H\"}",
              "{\"n\": 5}", &step, &def);
    is_int(step.next, tb_find(def, "H")->index, "Choice: the Default");
    gw_asl_step_free(&step);
    tb_def_free(def);
}


static void
test_fork(void)
{
    json_t         *in, *res;
    gw_asl_def_t   *def;
    gw_asl_step_t   step;
    gw_asl_next_e   k;

    t_enter("{\"Type\": \"Parallel\", \"End\": true, \"InputPath\": \"$.a\","
            " \"Branches\": [{\"StartAt\": \"P\", \"States\": {\"P\":"
            " {\"Type\": \"Pass\", \"End\": true}}}, {\"StartAt\": \"P\","
            " \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}}]}",
            "{\"a\": {\"x\": 1}}", GW_ASL_FORK,
            "[{\"x\": 1}, {\"x\": 1}]",
            "Parallel: the effective input once per branch");
    t_enter("{\"Type\": \"Parallel\", \"End\": true, \"Parameters\":"
            " {\"y.$\": \"$.x\"}, \"Branches\": [{\"StartAt\": \"P\","
            " \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}}]}",
            "{\"x\": 1}", GW_ASL_FORK, "[{\"y\": 1}]",
            "Parallel: Parameters");

    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemProcessor\":"
            " {\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\","
            " \"End\": true}}}}", "[1, 2, 3]", GW_ASL_FORK, "[1, 2, 3]",
            "Map: ItemsPath absent, the input's items");
    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.l\","
            " \"ItemProcessor\": {\"StartAt\": \"P\", \"States\": {\"P\":"
            " {\"Type\": \"Pass\", \"End\": true}}}}", "{\"l\": []}",
            GW_ASL_FORK, "[]", "Map: no items");
    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.l\","
            " \"ItemProcessor\": {\"StartAt\": \"P\", \"States\": {\"P\":"
            " {\"Type\": \"Pass\", \"End\": true}}}}", "{\"l\": {}}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Map: items not an array: States.Runtime");
    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.z\","
            " \"ItemProcessor\": {\"StartAt\": \"P\", \"States\": {\"P\":"
            " {\"Type\": \"Pass\", \"End\": true}}}}", "{\"l\": []}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Map: ItemsPath naming nothing: States.Runtime");
    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.l\","
            " \"ItemSelector\": {\"i.$\": \"$$.Map.Item.Index\", \"v.$\":"
            " \"$$.Map.Item.Value\", \"k.$\": \"$.k\", \"e.$\":"
            " \"$$.Execution.Name\"}, \"ItemProcessor\": {\"StartAt\":"
            " \"P\", \"States\": {\"P\": {\"Type\": \"Pass\", \"End\":"
            " true}}}}", "{\"l\": [\"a\", \"b\"], \"k\": 0}", GW_ASL_FORK,
            "[{\"i\": 0, \"v\": \"a\", \"k\": 0, \"e\": \"x\"},"
            " {\"i\": 1, \"v\": \"b\", \"k\": 0, \"e\": \"x\"}]",
            "Map: ItemSelector with $$.Map.Item and the context");
    t_enter("{\"Type\": \"Map\", \"End\": true, \"Parameters\": {\"v.$\":"
            " \"$$.Map.Item.Value\"}, \"Iterator\": {\"StartAt\": \"P\","
            " \"States\": {\"P\": {\"Type\": \"Pass\", \"End\": true}}}}",
            "[7]", GW_ASL_FORK, "[{\"v\": 7}]",
            "Map: the older Parameters and Iterator");

    enter_one("{\"Type\": \"Map\", \"End\": true, \"ItemProcessor\":"
              " {\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\","
              " \"End\": true}}}}", "[]", &step, &def);
    is_int(step.concurrency, 0, "Map: MaxConcurrency absent: 0");
    is_int(step.tolerated_count, -1, "Map: ToleratedFailureCount absent");
    ok(step.tolerated_pct < 0, "Map: ToleratedFailurePercentage absent");
    gw_asl_step_free(&step);
    tb_def_free(def);

    enter_one("{\"Type\": \"Map\", \"End\": true, \"MaxConcurrency\": 2,"
              " \"ToleratedFailureCount\": 0, \"ToleratedFailurePercentage\":"
              " 12.5, \"ItemProcessor\": {\"StartAt\": \"P\", \"States\":"
              " {\"P\": {\"Type\": \"Pass\", \"End\": true}}}}", "[]",
              &step, &def);
    is_int(step.concurrency, 2, "Map: MaxConcurrency");
    is_int(step.tolerated_count, 0, "Map: ToleratedFailureCount 0");
    ok(step.tolerated_pct == 12.5, "Map: ToleratedFailurePercentage 12.5");
    gw_asl_step_free(&step);
    tb_def_free(def);

    enter_one("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.l\","
              " \"MaxConcurrencyPath\": \"$.m\", \"ToleratedFailureCountPath\":"
              " \"$.c\", \"ToleratedFailurePercentagePath\": \"$.p\","
              " \"ItemProcessor\": {\"StartAt\": \"P\", \"States\":"
              " {\"P\": {\"Type\": \"Pass\", \"End\": true}}}}",
              "{\"l\": [], \"m\": 3, \"c\": 4, \"p\": 100}", &step, &def);
    is_int(step.concurrency, 3, "Map: MaxConcurrencyPath");
    is_int(step.tolerated_count, 4, "Map: ToleratedFailureCountPath");
    ok(step.tolerated_pct == 100, "Map: ToleratedFailurePercentagePath");
    gw_asl_step_free(&step);
    tb_def_free(def);

    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.l\","
            " \"ToleratedFailurePercentagePath\": \"$.p\", \"ItemProcessor\":"
            " {\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\","
            " \"End\": true}}}}", "{\"l\": [], \"p\": 100.5}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Map: a percentage past 100: States.Runtime");
    t_enter("{\"Type\": \"Map\", \"End\": true, \"ItemsPath\": \"$.l\","
            " \"MaxConcurrencyPath\": \"$.m\", \"ItemProcessor\":"
            " {\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\","
            " \"End\": true}}}}", "{\"l\": [], \"m\": -1}",
            GW_ASL_FAILED, GW_ASL_E_RUNTIME,
            "Map: MaxConcurrencyPath negative: States.Runtime");

    /* resumed with the outputs */
    def = tb_one("{\"Type\": \"Map\", \"Next\": \"N\", \"ResultSelector\":"
                 " {\"n.$\": \"$[1]\"}, \"ResultPath\": \"$.r\","
                 " \"ItemProcessor\": {\"StartAt\": \"P\", \"States\":"
                 " {\"P\": {\"Type\": \"Pass\", \"End\": true}}}}");
    in = J("{\"l\": 1}");
    res = J("[10, 20]");
    gw_asl_step_init(&step);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_GO, "Map resumed: GO");
    is_json(step.output, "{\"l\": 1, \"r\": {\"n\": 20}}",
            "Map resumed: ResultSelector and ResultPath");
    gw_asl_step_free(&step);
    json_decref(res);
    json_decref(in);
    tb_def_free(def);
}


/* a run: its result is expected; with hist, its history's types too */

static void
t_run(const char *definition, const char *input, const char *mocks,
    size_t max, const char *expected, const char *types, const char *name)
{
    size_t         i;
    json_t        *in, *mk, *ctx, *hist, *res, *t;
    gw_asl_def_t  *def;

    def = tb_def(definition);
    in = J(input);
    mk = J(mocks != NULL ? mocks : "{}");
    ctx = J("{\"Execution\": {\"Name\": \"run-1\", \"StartTime\":"
            " \"2024-01-01T00:00:00Z\"}}");
    hist = json_array();

    res = gw_asl_run_local(def, in, mk, ctx, hist, max);
    is_json(res, expected, name);

    if (types != NULL) {
        t = json_array();

        for (i = 0; i < json_array_size(hist); i++) {
            json_array_append(t, json_object_get(json_array_get(hist, i),
                                                 "type"));
        }

        is_json(t, types, "... its history");
        json_decref(t);
    }

    json_decref(res);
    json_decref(hist);
    json_decref(ctx);
    json_decref(mk);
    json_decref(in);
    tb_def_free(def);
}


static void
test_run(void)
{
    t_run("{\"StartAt\": \"A\", \"States\": {"
          "\"A\": {\"Type\": \"Pass\", \"Result\": 1, \"ResultPath\": \"$.a\","
          " \"Next\": \"T\"},"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\","
          " \"ResultPath\": \"$.t\", \"Next\": \"W\"},"
          "\"W\": {\"Type\": \"Wait\", \"Seconds\": 60, \"Next\": \"C\"},"
          "\"C\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\":"
          " \"$.t\", \"StringEquals\": \"ok\", \"Next\": \"D\"}],"
          " \"Default\": \"F\"},"
          "\"F\": {\"Type\": \"Fail\", \"Error\": \"Bad\"},"
          "\"D\": {\"Type\": \"Succeed\"}}}",
          "{\"in\": true}", "{\"T\": [{\"Return\": \"ok\"}]}", 0,
          "{\"status\": \"SUCCEEDED\", \"output\": {\"in\": true, \"a\": 1,"
          " \"t\": \"ok\"}}",
          "[\"ExecutionStarted\", \"PassStateEntered\", \"PassStateExited\","
          " \"TaskStateEntered\", \"TaskScheduled\", \"TaskSucceeded\","
          " \"TaskStateExited\", \"WaitStateEntered\", \"WaitStarted\","
          " \"WaitStateExited\", \"ChoiceStateEntered\","
          " \"ChoiceStateExited\", \"SucceedStateEntered\","
          " \"SucceedStateExited\", \"ExecutionSucceeded\"]",
          "run: Pass, Task, Wait, Choice, Succeed");

    t_run("{\"StartAt\": \"T\", \"States\": {"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}}}",
          "{}", "{\"T\": [{\"Throw\": {\"Error\": \"E.bad\", \"Cause\":"
          " \"no\"}}]}", 0,
          "{\"status\": \"FAILED\", \"error\": \"E.bad\", \"cause\": \"no\"}",
          "[\"ExecutionStarted\", \"TaskStateEntered\", \"TaskScheduled\","
          " \"TaskFailed\", \"ExecutionFailed\"]",
          "run: a task throws, nothing catches it");

    t_run("{\"StartAt\": \"T\", \"States\": {"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}}}",
          "{}", "{}", 0,
          "{\"status\": \"FAILED\", \"error\": \"States.TaskFailed\","
          " \"cause\": \"no mock answers this task\"}", NULL,
          "run: a task without mocks: States.TaskFailed");

    /* retried twice, then the last answer; RetryCount seen */
    t_run("{\"StartAt\": \"T\", \"States\": {"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\", \"Parameters\":"
          " {\"rc.$\": \"$$.State.RetryCount\"}, \"Retry\":"
          " [{\"ErrorEquals\": [\"E.x\"], \"MaxAttempts\": 5}],"
          " \"End\": true}}}",
          "{}", "{\"T\": [{\"Throw\": {\"Error\": \"E.x\"}},"
          " {\"Throw\": {\"Error\": \"E.x\"}}, {\"Return\": \"done\"}]}", 0,
          "{\"status\": \"SUCCEEDED\", \"output\": \"done\"}",
          "[\"ExecutionStarted\", \"TaskStateEntered\", \"TaskScheduled\","
          " \"TaskFailed\", \"StateRetried\", \"TaskStateEntered\","
          " \"TaskScheduled\", \"TaskFailed\", \"StateRetried\","
          " \"TaskStateEntered\", \"TaskScheduled\", \"TaskSucceeded\","
          " \"TaskStateExited\", \"ExecutionSucceeded\"]",
          "run: retried until it succeeds");

    /* the retries spent: caught */
    t_run("{\"StartAt\": \"T\", \"States\": {"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\", \"Retry\":"
          " [{\"ErrorEquals\": [\"E.x\"], \"MaxAttempts\": 2}], \"Catch\":"
          " [{\"ErrorEquals\": [\"E.x\"], \"ResultPath\": \"$.e\","
          " \"Next\": \"H\"}], \"End\": true},"
          "\"H\": {\"Type\": \"Pass\", \"Parameters\": {\"rc.$\":"
          " \"$$.State.RetryCount\", \"e.$\": \"$.e.Error\"}, \"End\":"
          " true}}}",
          "{\"k\": 1}", "{\"T\": [{\"Throw\": {\"Error\": \"E.x\","
          " \"Cause\": \"c\"}}]}", 0,
          "{\"status\": \"SUCCEEDED\", \"output\": {\"rc\": 0,"
          " \"e\": \"E.x\"}}", NULL,
          "run: retries spent, caught, RetryCount 0 in the next state");

    t_run("{\"StartAt\": \"T\", \"States\": {"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\", \"Parameters\":"
          " {\"rc.$\": \"$$.State.RetryCount\"}, \"Retry\":"
          " [{\"ErrorEquals\": [\"E.x\"], \"MaxAttempts\": 1}], \"Catch\":"
          " [{\"ErrorEquals\": [\"E.x\"], \"Next\": \"H\"}], \"End\": true},"
          "\"H\": {\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true}}}",
          "{}", "{\"T\": [{\"Throw\": {\"Error\": \"E.x\"}}],"
          " \"H\": [{\"Return\": 1}]}", 0,
          "{\"status\": \"SUCCEEDED\", \"output\": 1}",
          "[\"ExecutionStarted\", \"TaskStateEntered\", \"TaskScheduled\","
          " \"TaskFailed\", \"StateRetried\", \"TaskStateEntered\","
          " \"TaskScheduled\", \"TaskFailed\", \"StateCaught\","
          " \"TaskStateExited\", \"TaskStateEntered\", \"TaskScheduled\","
          " \"TaskSucceeded\", \"TaskStateExited\", \"ExecutionSucceeded\"]",
          "run: Retry then Catch, in the history");

    t_run("{\"StartAt\": \"P\", \"States\": {"
          "\"P\": {\"Type\": \"Pass\", \"Parameters\": {\"n.$\":"
          " \"$$.Execution.Name\", \"t.$\": \"$$.Execution.StartTime\","
          " \"s.$\": \"$$.State.Name\", \"e.$\": \"$$.State.EnteredTime\","
          " \"i.$\": \"$$.Execution.Input.k\"}, \"End\": true}}}",
          "{\"k\": 5}", NULL, 0,
          "{\"status\": \"SUCCEEDED\", \"output\": {\"n\": \"run-1\","
          " \"t\": \"2024-01-01T00:00:00Z\", \"s\": \"P\","
          " \"e\": \"2024-01-01T00:00:00.000Z\", \"i\": 5}}", NULL,
          "run: the context object");

    t_run("{\"StartAt\": \"W\", \"States\": {"
          "\"W\": {\"Type\": \"Wait\", \"Seconds\": 90, \"Next\": \"P\"},"
          "\"P\": {\"Type\": \"Pass\", \"Parameters\": {\"e.$\":"
          " \"$$.State.EnteredTime\"}, \"End\": true}}}",
          "{}", NULL, 0,
          "{\"status\": \"SUCCEEDED\", \"output\":"
          " {\"e\": \"2024-01-01T00:01:30.000Z\"}}", NULL,
          "run: a Wait moves the virtual clock");

    t_run("{\"StartAt\": \"F\", \"States\": {"
          "\"F\": {\"Type\": \"Fail\", \"Error\": \"E\", \"Cause\": \"c\"}}}",
          "{}", NULL, 0,
          "{\"status\": \"FAILED\", \"error\": \"E\", \"cause\": \"c\"}",
          "[\"ExecutionStarted\", \"FailStateEntered\","
          " \"ExecutionFailed\"]", "run: Fail");
}


static void
test_run_fork(void)
{
    t_run("{\"StartAt\": \"P\", \"States\": {"
          "\"P\": {\"Type\": \"Parallel\", \"End\": true, \"Branches\": ["
          "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\","
          " \"Result\": \"a\", \"End\": true}}},"
          "{\"StartAt\": \"B\", \"States\": {\"B\": {\"Type\": \"Task\","
          " \"Resource\": \"r\", \"End\": true}}}]}}}",
          "{}", "{\"B\": [{\"Return\": {\"b\": 2}}]}", 0,
          "{\"status\": \"SUCCEEDED\", \"output\": [\"a\", {\"b\": 2}]}",
          "[\"ExecutionStarted\", \"ParallelStateEntered\","
          " \"ParallelStateStarted\", \"PassStateEntered\","
          " \"PassStateExited\", \"TaskStateEntered\", \"TaskScheduled\","
          " \"TaskSucceeded\", \"TaskStateExited\","
          " \"ParallelStateSucceeded\", \"ParallelStateExited\","
          " \"ExecutionSucceeded\"]",
          "run: Parallel, the outputs in order");

    t_run("{\"StartAt\": \"P\", \"States\": {"
          "\"P\": {\"Type\": \"Parallel\", \"End\": true, \"Branches\": ["
          "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\","
          " \"End\": true}}},"
          "{\"StartAt\": \"B\", \"States\": {\"B\": {\"Type\": \"Fail\","
          " \"Error\": \"E.branch\", \"Cause\": \"b\"}}}]}}}",
          "{}", NULL, 0,
          "{\"status\": \"FAILED\", \"error\": \"E.branch\","
          " \"cause\": \"b\"}", NULL,
          "run: a failed branch fails the Parallel with its error");

    t_run("{\"StartAt\": \"P\", \"States\": {"
          "\"P\": {\"Type\": \"Parallel\", \"Next\": \"H\", \"Catch\":"
          " [{\"ErrorEquals\": [\"E.branch\"], \"ResultPath\": \"$.err\","
          " \"Next\": \"H\"}], \"Branches\": ["
          "{\"StartAt\": \"B\", \"States\": {\"B\": {\"Type\": \"Fail\","
          " \"Error\": \"E.branch\", \"Cause\": \"b\"}}}]},"
          "\"H\": {\"Type\": \"Succeed\"}}}",
          "{\"i\": 0}", NULL, 0,
          "{\"status\": \"SUCCEEDED\", \"output\": {\"i\": 0, \"err\":"
          " {\"Error\": \"E.branch\", \"Cause\": \"b\"}}}", NULL,
          "run: a branch's error caught on the Parallel");

    t_run("{\"StartAt\": \"M\", \"States\": {"
          "\"M\": {\"Type\": \"Map\", \"End\": true, \"ItemSelector\":"
          " {\"v.$\": \"$$.Map.Item.Value\"}, \"ItemProcessor\":"
          " {\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\","
          " \"Resource\": \"r\", \"ResultPath\": \"$.r\","
          " \"End\": true}}}}}}",
          "[1, 2]", "{\"T\": [{\"Return\": \"x\"}, {\"Return\": \"y\"}]}", 0,
          "{\"status\": \"SUCCEEDED\", \"output\": [{\"v\": 1, \"r\": \"x\"},"
          " {\"v\": 2, \"r\": \"y\"}]}",
          "[\"ExecutionStarted\", \"MapStateEntered\", \"MapStateStarted\","
          " \"MapIterationStarted\", \"TaskStateEntered\","
          " \"TaskScheduled\", \"TaskSucceeded\", \"TaskStateExited\","
          " \"MapIterationSucceeded\", \"MapIterationStarted\","
          " \"TaskStateEntered\", \"TaskScheduled\", \"TaskSucceeded\","
          " \"TaskStateExited\", \"MapIterationSucceeded\","
          " \"MapStateSucceeded\", \"MapStateExited\","
          " \"ExecutionSucceeded\"]",
          "run: Map, items in order, mocks taken in order");

#define MAP_TOL(tol)                                                          \
    "{\"StartAt\": \"M\", \"States\": {"                                      \
    "\"M\": {\"Type\": \"Map\", \"End\": true, " tol                          \
    " \"ItemProcessor\": {\"StartAt\": \"C\", \"States\": {"                 \
    "\"C\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$\","       \
    " \"NumericGreaterThan\": 0, \"Next\": \"F\"}], \"Default\": \"D\"},"     \
    "\"F\": {\"Type\": \"Fail\", \"Error\": \"E.item\", \"Cause\": \"c\"},"   \
    "\"D\": {\"Type\": \"Succeed\"}}}}}}"

    t_run(MAP_TOL(""), "[0, 1, 0]", NULL, 0,
          "{\"status\": \"FAILED\", \"error\": \"E.item\", \"cause\": \"c\"}",
          NULL, "run: Map without tolerance: an item's error");
    t_run(MAP_TOL("\"ToleratedFailureCount\": 1,"), "[0, 1, 0]", NULL, 0,
          "{\"status\": \"SUCCEEDED\", \"output\": [0, {\"Error\":"
          " \"E.item\", \"Cause\": \"c\"}, 0]}", NULL,
          "run: Map, one failure, count 1 tolerated");
    t_run(MAP_TOL("\"ToleratedFailureCount\": 1,"), "[1, 1, 0]", NULL, 0,
          "{\"status\": \"FAILED\", \"error\":"
          " \"States.ExceedToleratedFailureThreshold\", \"cause\":"
          " \"2 of the 3 items of the Map \\\"M\\\" failed\"}", NULL,
          "run: Map, two failures past a count of 1");
    t_run(MAP_TOL("\"ToleratedFailureCount\": 0,"), "[0, 1]", NULL, 0,
          "{\"status\": \"FAILED\", \"error\":"
          " \"States.ExceedToleratedFailureThreshold\", \"cause\":"
          " \"1 of the 2 items of the Map \\\"M\\\" failed\"}", NULL,
          "run: Map, count 0: one failure is past it");
    t_run(MAP_TOL("\"ToleratedFailurePercentage\": 50,"), "[0, 1]", NULL, 0,
          "{\"status\": \"SUCCEEDED\", \"output\": [0, {\"Error\":"
          " \"E.item\", \"Cause\": \"c\"}]}", NULL,
          "run: Map, 50% failed, just at 50% tolerated");
    t_run(MAP_TOL("\"ToleratedFailurePercentage\": 49.9,"), "[0, 1]", NULL,
          0, "{\"status\": \"FAILED\", \"error\":"
          " \"States.ExceedToleratedFailureThreshold\", \"cause\":"
          " \"1 of the 2 items of the Map \\\"M\\\" failed\"}", NULL,
          "run: Map, 50% failed, past 49.9%");
}


static void
test_caps(void)
{
    int            i, j;
    char          *big;
    size_t         n;
    json_t        *in, *res;
    gw_asl_def_t  *def;
    static char    nested[16384];

    /* a cycle without exit: the transition cap */
    t_run("{\"StartAt\": \"A\", \"States\": {"
          "\"A\": {\"Type\": \"Pass\", \"Next\": \"B\"},"
          "\"B\": {\"Type\": \"Pass\", \"Next\": \"A\"}}}",
          "{}", NULL, 0,
          "{\"status\": \"FAILED\", \"error\": \"States.Runtime\","
          " \"cause\": \"the execution passed its cap of 100000 state"
          " transitions\"}", NULL, "run: a cycle stops at the default cap");

#define CHAIN3                                                                \
    "{\"StartAt\": \"A\", \"States\": {"                                      \
    "\"A\": {\"Type\": \"Pass\", \"Next\": \"B\"},"                           \
    "\"B\": {\"Type\": \"Pass\", \"Next\": \"C\"},"                           \
    "\"C\": {\"Type\": \"Pass\", \"End\": true}}}"

    t_run(CHAIN3, "1", NULL, 3, "{\"status\": \"SUCCEEDED\", \"output\": 1}",
          NULL, "run: three states within a cap of 3");
    t_run(CHAIN3, "1", NULL, 2,
          "{\"status\": \"FAILED\", \"error\": \"States.Runtime\","
          " \"cause\": \"the execution passed its cap of 2 state"
          " transitions\"}", NULL, "run: three states past a cap of 2");

    /* retries count as transitions */
    t_run("{\"StartAt\": \"T\", \"States\": {"
          "\"T\": {\"Type\": \"Task\", \"Resource\": \"r\", \"Retry\":"
          " [{\"ErrorEquals\": [\"States.ALL\"], \"MaxAttempts\": 99}],"
          " \"End\": true}}}",
          "{}", "{\"T\": [{\"Throw\": {\"Error\": \"E\"}}]}", 10,
          "{\"status\": \"FAILED\", \"error\": \"States.Runtime\","
          " \"cause\": \"the execution passed its cap of 10 state"
          " transitions\"}", NULL, "run: retries count as transitions");

    /* the input's cap */
    def = tb_def(CHAIN3);

    big = big_string(GW_ASL_PAYLOAD_MAX - 2);
    in = J(big);
    res = gw_asl_run_local(def, in, NULL, NULL, NULL, 0);
    is_str(json_string_value(json_object_get(res, "status")), "SUCCEEDED",
           "run: an input of exactly the cap");
    json_decref(res);
    json_decref(in);
    free(big);

    big = big_string(GW_ASL_PAYLOAD_MAX - 1);
    in = J(big);
    res = gw_asl_run_local(def, in, NULL, NULL, NULL, 0);
    is_str(json_string_value(json_object_get(res, "error")),
           GW_ASL_E_DATA_LIMIT, "run: an input a byte past the cap");
    json_decref(res);
    json_decref(in);
    free(big);

    tb_def_free(def);

    /* Parallel nested GW_ASL_DEPTH_MAX deep, then one more */
    for (i = GW_ASL_DEPTH_MAX; i <= GW_ASL_DEPTH_MAX + 1; i++) {
        n = 0;
        n += snprintf(nested + n, sizeof(nested) - n,
                      "{\"StartAt\": \"S\", \"States\": {\"S\": ");

        for (j = 0; j < i; j++) {
            n += snprintf(nested + n, sizeof(nested) - n,
                          "{\"Type\": \"Parallel\", \"End\": true,"
                          " \"Branches\": [{\"StartAt\": \"S\","
                          " \"States\": {\"S\": ");
        }

        n += snprintf(nested + n, sizeof(nested) - n,
                      "{\"Type\": \"Pass\", \"End\": true}");

        for (j = 0; j < i; j++) {
            n += snprintf(nested + n, sizeof(nested) - n, "}}]}");
        }

        snprintf(nested + n, sizeof(nested) - n, "}}");

        def = tb_def(nested);
        in = J("0");
        res = gw_asl_run_local(def, in, NULL, NULL, NULL, 0);

        if (i == GW_ASL_DEPTH_MAX) {
            is_str(json_string_value(json_object_get(res, "status")),
                   "SUCCEEDED", "run: Parallel nested %d deep", i);

        } else {
            is_str(json_string_value(json_object_get(res, "error")),
                   GW_ASL_E_RUNTIME, "run: Parallel nested %d deep refused",
                   i);
        }

        json_decref(res);
        json_decref(in);
        tb_def_free(def);
    }

    /* no definition */
    in = J("{}");
    res = gw_asl_run_local(NULL, in, NULL, NULL, NULL, 0);
    is_str(json_string_value(json_object_get(res, "error")),
           GW_ASL_E_RUNTIME, "run: no definition: States.Runtime");
    json_decref(res);
    json_decref(in);
}


/* the history's fields: delays, the virtual clock, payloads */

static void
test_history(void)
{
    json_t        *in, *mk, *hist, *res, *ev;
    gw_asl_def_t  *def;

    def = tb_def("{\"StartAt\": \"T\", \"States\": {"
                 "\"T\": {\"Type\": \"Task\", \"Resource\": \"arn:t\","
                 " \"Parameters\": {\"e.$\": \"$$.State.EnteredTime\","
                 " \"rc.$\": \"$$.State.RetryCount\"}, \"Retry\":"
                 " [{\"ErrorEquals\": [\"E\"], \"IntervalSeconds\": 2,"
                 " \"BackoffRate\": 3}], \"End\": true}}}");
    in = J("{}");
    mk = J("{\"T\": [{\"Throw\": {\"Error\": \"E\", \"Cause\": \"c\"}},"
           " {\"Throw\": {\"Error\": \"E\"}}, {\"Return\": null}]}");
    hist = json_array();

    res = gw_asl_run_local(def, in, mk, NULL, hist, 0);
    is_json(res, "{\"status\": \"SUCCEEDED\", \"output\": null}",
            "history: the run");

    ev = json_array_get(hist, 2);
    is_json(ev, "{\"type\": \"TaskScheduled\", \"name\": \"T\","
            " \"resource\": \"arn:t\", \"payload\": {\"e\":"
            " \"1970-01-01T00:00:00.000Z\", \"rc\": 0}}",
            "history: TaskScheduled, its payload");
    is_json(json_array_get(hist, 3), "{\"type\": \"TaskFailed\","
            " \"name\": \"T\", \"error\": \"E\", \"cause\": \"c\"}",
            "history: TaskFailed");
    is_json(json_array_get(hist, 4), "{\"type\": \"StateRetried\","
            " \"name\": \"T\", \"retrier\": 0, \"attempt\": 1,"
            " \"delay_ms\": 2000}", "history: the first retry, 2 s");
    is_json(json_object_get(json_array_get(hist, 6), "payload"),
            "{\"e\": \"1970-01-01T00:00:02.000Z\", \"rc\": 1}",
            "history: the second attempt 2 s later, RetryCount 1");
    is_json(json_array_get(hist, 8), "{\"type\": \"StateRetried\","
            " \"name\": \"T\", \"retrier\": 0, \"attempt\": 2,"
            " \"delay_ms\": 6000}", "history: the second retry, 2 s * 3");
    is_json(json_object_get(json_array_get(hist, 10), "payload"),
            "{\"e\": \"1970-01-01T00:00:08.000Z\", \"rc\": 2}",
            "history: the third attempt 6 s later, RetryCount 2");
    is_json(json_array_get(hist, json_array_size(hist) - 1),
            "{\"type\": \"ExecutionSucceeded\", \"output\": null}",
            "history: ExecutionSucceeded last");

    json_decref(res);
    json_decref(hist);
    json_decref(mk);
    json_decref(in);
    tb_def_free(def);
}


/* States.DataLimitExceeded: terminal for States.ALL, caught by its name */

static void
test_data_limit(void)
{
    int             i;
    char           *big, *text;
    size_t          len;
    json_t         *in, *res;
    gw_asl_def_t   *def;
    gw_asl_step_t   step;
    gw_asl_next_e   k;
    const char     *fmt;

    big = big_string(GW_ASL_PAYLOAD_MAX - 1);
    res = J(big);
    fmt = "{\"Type\": \"Task\", \"Resource\": \"r\", \"End\": true,"
          " \"Catch\": [{\"ErrorEquals\": [%s], \"Next\": \"H\"}]}";
    len = strlen(fmt) + 64;
    text = malloc(len);
    if (text == NULL) {
        bail_out("out of memory");
    }

    in = J("{}");

    snprintf(text, len, fmt, "\"States.ALL\"");
    def = tb_one(text);
    gw_asl_step_init(&step);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_FAILED, "a result past the cap: States.ALL does not "
           "catch it");
    is_str(step.err.error, GW_ASL_E_DATA_LIMIT, "... DataLimitExceeded");
    gw_asl_step_free(&step);
    tb_def_free(def);

    snprintf(text, len, fmt, "\"States.DataLimitExceeded\"");
    def = tb_one(text);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_GO, "... its own name catches it");
    gw_asl_step_free(&step);
    tb_def_free(def);

    json_decref(res);
    json_decref(in);
    free(text);
    free(big);

    /* nesting: GW_ASL_JSON_DEPTH_MAX arrays deep, then one more */
    def = tb_one("{\"Type\": \"Task\", \"Resource\": \"r\","
                 " \"End\": true}");
    in = J("{}");

    res = json_array();
    for (i = 1; i < GW_ASL_JSON_DEPTH_MAX; i++) {
        res = json_pack("[o]", res);
    }

    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_SUCCEEDED, "a result nested %d deep taken",
           GW_ASL_JSON_DEPTH_MAX);

    res = json_pack("[o]", res);
    k = gw_asl_resume(tb_find(def, "S"), in, NULL, res, &step);
    is_int(k, GW_ASL_FAILED, "a result nested %d deep refused",
           GW_ASL_JSON_DEPTH_MAX + 1);
    is_str(step.err.error, GW_ASL_E_DATA_LIMIT,
           "... with States.DataLimitExceeded");

    gw_asl_step_free(&step);
    json_decref(res);
    json_decref(in);
    tb_def_free(def);
}


/* a definition through gw_asl_def_parse, run whole */

#define SAGA                                                                  \
    "{\"StartAt\": \"Reserve\", \"States\": {"                              \
    "\"Reserve\": {\"Type\": \"Parallel\", \"ResultPath\": \"$.reserved\","   \
    " \"Next\": \"Each\", \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"],"    \
    " \"ResultPath\": \"$.error\", \"Next\": \"Undo\"}], \"Branches\": ["     \
    "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Task\","           \
    " \"Resource\": \"arn:a\", \"End\": true}}},"                            \
    "{\"StartAt\": \"B\", \"States\": {\"B\": {\"Type\": \"Task\","           \
    " \"Resource\": \"arn:b\", \"Retry\": [{\"ErrorEquals\":"                 \
    " [\"States.TaskFailed\"], \"MaxAttempts\": 2}], \"End\": true}}}]},"     \
    "\"Each\": {\"Type\": \"Map\", \"ItemsPath\": \"$.items\","                \
    " \"ItemSelector\": {\"n.$\": \"$$.Map.Item.Value\", \"i.$\":"            \
    " \"$$.Map.Item.Index\"}, \"ResultPath\": \"$.doubled\", \"Next\":"        \
    " \"Check\", \"ItemProcessor\": {\"StartAt\": \"D\", \"States\":"          \
    " {\"D\": {\"Type\": \"Pass\", \"Parameters\": {\"v.$\":"                 \
    " \"States.MathAdd($.n, $.n)\", \"i.$\": \"$.i\"}, \"End\": true}}}},"     \
    "\"Check\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\":"          \
    " \"$.doubled[0].v\", \"NumericEquals\": 2, \"Next\": \"Done\"}],"         \
    " \"Default\": \"Undo\"},"                                               \
    "\"Undo\": {\"Type\": \"Fail\", \"Error\": \"Undone\", \"CausePath\":"    \
    " \"$.error.Cause\"},"                                                    \
    "\"Done\": {\"Type\": \"Succeed\", \"OutputPath\": \"$.doubled\"}}}"

static void
t_parsed(const char *mocks, const char *expected, const char *name)
{
    json_t        *in, *mk, *res;
    gw_asl_err_t   err;
    gw_asl_def_t  *def;

    def = gw_asl_def_parse(SAGA, strlen(SAGA), &err);
    if (!ok(def != NULL, "%s: the definition parses", name)) {
        diag("%s at %s: %s", err.error, err.pointer, err.cause);
        skip(1, "no definition");
        return;
    }

    in = J("{\"items\": [1, 2]}");
    mk = J(mocks);

    res = gw_asl_run_local(def, in, mk, NULL, NULL, 0);
    is_json(res, expected, name);

    json_decref(res);
    json_decref(mk);
    json_decref(in);
    gw_asl_def_free(def);
}


static void
test_parsed(void)
{
    t_parsed("{\"A\": [{\"Return\": \"a\"}], \"B\": [{\"Throw\":"
             " {\"Error\": \"E.b\"}}, {\"Return\": \"b\"}]}",
             "{\"status\": \"SUCCEEDED\", \"output\": [{\"v\": 2,"
             " \"i\": 0}, {\"v\": 4, \"i\": 1}]}",
             "parsed: Parallel with a retried branch, Map, Choice");
    t_parsed("{\"A\": [{\"Return\": \"a\"}], \"B\": [{\"Throw\":"
             " {\"Error\": \"E.b\", \"Cause\": \"gone\"}}]}",
             "{\"status\": \"FAILED\", \"error\": \"Undone\","
             " \"cause\": \"gone\"}",
             "parsed: a branch's retries spent, caught, compensated");
}


int
main(void)
{
    test_pass();
    test_succeed_fail();
    test_fail_cause();
    test_wait();
    test_task();
    test_retry_catch();
    test_choice();
    test_choice_next();
    test_fork();
    test_run();
    test_run_fork();
    test_caps();
    test_history();
    test_data_limit();
    test_parsed();

    return done_testing();
}
