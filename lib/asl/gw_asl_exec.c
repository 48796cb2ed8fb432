
/*
 * Copyright (C) Tollgate
 *
 * One state at a time (lib/asl/gw_asl.h): a state entered with its raw
 * input, resumed with its effect's result, or failed with an error, and
 * what the execution does next.  Nothing is remembered between the
 * calls, so that a service can persist an execution between them: the
 * caller keeps the place, the raw input, the retry counts.
 *
 * Input and output processing, as the spec and AWS do it:
 *
 *   raw input -> InputPath -> Parameters -> the effective input (a
 *   Task's payload; a Pass's result unless Result; the input of each
 *   Parallel branch) ... result -> ResultSelector -> ResultPath (over
 *   the raw input) -> OutputPath -> the output.
 *
 * InputPath and OutputPath absent are "$", null give {}.  ResultPath
 * absent is "$" (the result replaces the input), null keeps the input
 * and discards the result.  A path that names nothing in InputPath,
 * OutputPath, Parameters, ResultSelector, ItemsPath and the ...Path
 * fields is States.Runtime (AWS and the oracle both answer a Parameters
 * path that names nothing with States.Runtime, not with the spec's
 * States.ParameterPathFailure); States.Runtime is never retried nor
 * caught, it fails the execution.  Any other error of the processing
 * (States.ResultPathMatchFailure, States.IntrinsicFailure,
 * States.DataLimitExceeded, States.NoChoiceMatched) goes to the state's
 * catchers, but not to its retriers: the caller holds the retry counts
 * and enter/resume do not take them (only gw_asl_fail() retries).
 *
 * Every value given back may share parts with the values given in:
 * they are read, never changed, by this file; callers do the same.
 */


#include <stdio.h>
#include <string.h>

#include "gw_asl.h"
#include "gw_asl_def_int.h"
#include "gw_asl_exec_int.h"


static json_t *gw_asl_exec_output(const gw_asl_state_t *st, json_t *value,
    json_t *context, gw_asl_err_t *err);
static gw_asl_next_e gw_asl_exec_finish(const gw_asl_state_t *st,
    json_t *input, json_t *context, json_t *result, gw_asl_step_t *step);
static gw_asl_next_e gw_asl_exec_task(const gw_asl_state_t *st,
    json_t *input, json_t *context, gw_asl_step_t *step);
static gw_asl_next_e gw_asl_exec_wait(const gw_asl_state_t *st,
    json_t *input, json_t *context, int64_t now_ms, gw_asl_step_t *step);
static gw_asl_next_e gw_asl_exec_choice(const gw_asl_state_t *st,
    json_t *input, json_t *context, gw_asl_step_t *step);
static gw_asl_next_e gw_asl_exec_fail_state(const gw_asl_state_t *st,
    json_t *input, json_t *context, gw_asl_step_t *step);


void
gw_asl_step_init(gw_asl_step_t *step)
{
    memset(step, 0, sizeof(gw_asl_step_t));

    step->next = -1;
    step->tolerated_pct = -1;
    step->tolerated_count = -1;
    step->retrier = -1;
}


void
gw_asl_step_free(gw_asl_step_t *step)
{
    json_decref(step->output);
    json_decref(step->payload);
    json_decref(step->items);

    gw_asl_step_init(step);
}


/*
 * Every entry point starts from a clean step: step must have been
 * initialised once (gw_asl_step_init); what it held is released.
 */

gw_asl_next_e
gw_asl_enter(const gw_asl_state_t *st, json_t *input, json_t *context,
    int64_t now_ms, gw_asl_step_t *step)
{
    json_t  *eff, *res;

    gw_asl_step_free(step);

    switch (st->type) {

    case GW_ASL_TASK:
        return gw_asl_exec_task(st, input, context, step);

    case GW_ASL_WAIT:
        return gw_asl_exec_wait(st, input, context, now_ms, step);

    case GW_ASL_CHOICE:
        return gw_asl_exec_choice(st, input, context, step);

    case GW_ASL_FAIL:
        return gw_asl_exec_fail_state(st, input, context, step);

    case GW_ASL_PARALLEL:
    case GW_ASL_MAP:
        return gw_asl_exec_fork(st, input, context, step);

    case GW_ASL_SUCCEED:
        eff = gw_asl_exec_input(st, input, context, &step->err);
        if (eff == NULL) {
            return gw_asl_exec_error(st, input, step);
        }

        step->output = gw_asl_exec_output(st, eff, context, &step->err);
        json_decref(eff);

        if (step->output == NULL
            || gw_asl_exec_size(step->output, "output", &step->err) != 0)
        {
            return gw_asl_exec_error(st, input, step);
        }

        step->next_kind = GW_ASL_SUCCEEDED;
        return step->next_kind;

    default: /* GW_ASL_PASS */
        eff = gw_asl_exec_input(st, input, context, &step->err);
        if (eff == NULL) {
            return gw_asl_exec_error(st, input, step);
        }

        res = gw_asl_exec_parameters(st, eff, context, &step->err);
        json_decref(eff);

        if (res == NULL) {
            return gw_asl_exec_error(st, input, step);
        }

        if (json_object_get(st->raw, "Result") != NULL) {
            json_decref(res);
            res = json_incref(json_object_get(st->raw, "Result"));
        }

        return gw_asl_exec_finish(st, input, context, res, step);
    }
}


gw_asl_next_e
gw_asl_resume(const gw_asl_state_t *st, json_t *input, json_t *context,
    json_t *result, gw_asl_step_t *step)
{
    json_t  *eff;

    gw_asl_step_free(step);

    if (st->type == GW_ASL_WAIT) {
        /* a Wait's output is its effective input through OutputPath */
        eff = gw_asl_exec_input(st, input, context, &step->err);
        if (eff == NULL) {
            return gw_asl_exec_error(st, input, step);
        }

        step->output = gw_asl_exec_output(st, eff, context, &step->err);
        json_decref(eff);

        if (step->output == NULL) {
            return gw_asl_exec_error(st, input, step);
        }

        step->next_kind = st->end ? GW_ASL_SUCCEEDED : GW_ASL_GO;
        step->next = st->end ? -1 : st->next;
        return step->next_kind;
    }

    if (st->type != GW_ASL_TASK && st->type != GW_ASL_PARALLEL
        && st->type != GW_ASL_MAP)
    {
        gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                     "the state \"%s\" is not resumed", st->name);
        step->next_kind = GW_ASL_FAILED;
        return step->next_kind;
    }

    if (result == NULL) {
        result = json_null();

    } else {
        json_incref(result);
    }

    if (gw_asl_exec_size(result, "result", &step->err) != 0) {
        json_decref(result);
        return gw_asl_exec_error(st, input, step);
    }

    return gw_asl_exec_finish(st, input, context, result, step);
}


gw_asl_next_e
gw_asl_fail(const gw_asl_state_t *st, json_t *input, const char *error,
    const char *cause, const unsigned *retries, double rnd,
    gw_asl_step_t *step)
{
    int            r, c;
    char           name[GW_ASL_ERROR_MAX], why[GW_ASL_CAUSE_MAX];
    json_t        *eo, *rp;
    int64_t        delay;
    gw_asl_err_t  *err;

    /* error and cause may be step->err's own: copied before the reset */
    snprintf(name, sizeof(name), "%s", error != NULL ? error : "");
    snprintf(why, sizeof(why), "%s", cause != NULL ? cause : "");

    gw_asl_step_free(step);

    err = &step->err;
    gw_asl_error(err, name, NULL, "%s", why);

    step->next_kind = GW_ASL_FAILED;

    /* States.Runtime fails the execution: no retrier nor catcher */
    if (strcmp(name, GW_ASL_E_RUNTIME) == 0) {
        return step->next_kind;
    }

    if (retries != NULL && st->nretry > 0) {
        r = gw_asl_retrier_find(st, name);

        if (r >= 0 && (size_t) r < st->nretry) {
            delay = gw_asl_retry_delay(&st->retry[r], retries[r], rnd);

            if (delay >= 0) {
                step->next_kind = GW_ASL_RETRY;
                step->retrier = r;
                step->delay_ms = delay;
                return step->next_kind;
            }

            /* its attempts spent: the catchers decide */
        }
    }

    c = gw_asl_catcher_find(st, name);

    if (c < 0 || (size_t) c >= st->ncatches) {
        return step->next_kind;
    }

    eo = json_pack("{s:s, s:s}", "Error", name, "Cause", why);
    if (eo == NULL) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        return step->next_kind;
    }

    rp = st->catches[c].result_path;

    if (rp == NULL) {
        step->output = eo;

    } else if (json_is_null(rp)) {
        json_decref(eo);
        step->output = json_incref(input);

    } else {
        step->output = gw_asl_path_put(json_string_value(rp), input, eo,
                                       err);
        json_decref(eo);

        if (step->output == NULL) {
            /* the catcher's own ResultPath failed: the state fails */
            return step->next_kind;
        }
    }

    if (gw_asl_exec_size(step->output, "output", err) != 0) {
        json_decref(step->output);
        step->output = NULL;
        return step->next_kind;
    }

    err->error[0] = '\0';
    err->cause[0] = '\0';

    step->next_kind = GW_ASL_GO;
    step->next = st->catches[c].next;

    return step->next_kind;
}


/* a path's value: "$" is input itself, without a call */

json_t *
gw_asl_exec_path(const char *path, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    if (path[0] == '$' && path[1] == '\0') {
        return json_incref(input);
    }

    return gw_asl_path_get(path, input, context, err);
}


/* InputPath over the raw input: absent "$", null {} */

json_t *
gw_asl_exec_input(const gw_asl_state_t *st, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    json_t  *p, *v;

    p = json_object_get(st->raw, "InputPath");

    if (p == NULL) {
        return json_incref(input);
    }

    if (json_is_null(p)) {
        v = json_object();
        if (v == NULL) {
            gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        }

        return v;
    }

    if (!json_is_string(p)) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                     "InputPath of \"%s\" is not a string", st->name);
        return NULL;
    }

    v = gw_asl_exec_path(json_string_value(p), input, context, err);
    if (v == NULL) {
        /* a path's failure here is the execution's, whatever it says */
        snprintf(err->error, sizeof(err->error), "%s", GW_ASL_E_RUNTIME);
    }

    return v;
}


/* Parameters (Pass, Task, Parallel) over the effective input */

json_t *
gw_asl_exec_parameters(const gw_asl_state_t *st, json_t *eff,
    json_t *context, gw_asl_err_t *err)
{
    json_t  *tmpl;

    tmpl = json_object_get(st->raw, "Parameters");

    if (tmpl == NULL || st->type == GW_ASL_MAP) {
        return json_incref(eff);
    }

    return gw_asl_template_apply(tmpl, eff, context, GW_ASL_E_RUNTIME, err);
}


/* OutputPath over value: absent "$", null {} */

static json_t *
gw_asl_exec_output(const gw_asl_state_t *st, json_t *value,
    json_t *context, gw_asl_err_t *err)
{
    json_t  *p, *v;

    p = json_object_get(st->raw, "OutputPath");

    if (p == NULL) {
        return json_incref(value);
    }

    if (json_is_null(p)) {
        v = json_object();
        if (v == NULL) {
            gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        }

        return v;
    }

    if (!json_is_string(p)) {
        gw_asl_error(err, GW_ASL_E_RUNTIME, NULL,
                     "OutputPath of \"%s\" is not a string", st->name);
        return NULL;
    }

    v = gw_asl_exec_path(json_string_value(p), value, context, err);
    if (v == NULL) {
        snprintf(err->error, sizeof(err->error), "%s", GW_ASL_E_RUNTIME);
    }

    return v;
}


/* how deep objects and arrays nest in v (a scalar: 0), up to past max */

static unsigned
gw_asl_exec_depth(json_t *v, unsigned max)
{
    size_t       i;
    json_t      *m;
    unsigned     d, deepest;
    const char  *key;

    if (!json_is_array(v) && !json_is_object(v)) {
        return 0;
    }

    if (max == 0) {
        return 1;
    }

    deepest = 0;

    if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            d = gw_asl_exec_depth(m, max - 1);
            deepest = d > deepest ? d : deepest;
        }

    } else {
        json_object_foreach(v, key, m) {
            d = gw_asl_exec_depth(m, max - 1);
            deepest = d > deepest ? d : deepest;
        }
    }

    return deepest + 1;
}


/*
 * 0 when value is at most GW_ASL_PAYLOAD_MAX bytes of compact JSON and
 * its objects and arrays nest at most GW_ASL_JSON_DEPTH_MAX deep; else
 * States.DataLimitExceeded.
 */

int
gw_asl_exec_size(json_t *value, const char *what, gw_asl_err_t *err)
{
    size_t  n;

    if (gw_asl_exec_depth(value, GW_ASL_JSON_DEPTH_MAX)
        > GW_ASL_JSON_DEPTH_MAX)
    {
        return gw_asl_error(err, GW_ASL_E_DATA_LIMIT, NULL,
                            "the %s nests deeper than %d", what,
                            GW_ASL_JSON_DEPTH_MAX);
    }

    n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);

    if (n > GW_ASL_PAYLOAD_MAX) {
        return gw_asl_error(err, GW_ASL_E_DATA_LIMIT, NULL,
                            "the %s is %zu bytes, past the cap of %d",
                            what, n, GW_ASL_PAYLOAD_MAX);
    }

    return 0;
}


/*
 * result (a reference taken over) through ResultSelector (Task,
 * Parallel, Map), ResultPath over the raw input, OutputPath; then the
 * state's Next or the machine's end.
 */

static gw_asl_next_e
gw_asl_exec_finish(const gw_asl_state_t *st, json_t *input, json_t *context,
    json_t *result, gw_asl_step_t *step)
{
    json_t  *tmpl, *v, *rp;

    tmpl = json_object_get(st->raw, "ResultSelector");

    if (tmpl != NULL && st->type != GW_ASL_PASS) {
        v = gw_asl_template_apply(tmpl, result, context, GW_ASL_E_RUNTIME,
                                  &step->err);
        json_decref(result);

        if (v == NULL) {
            return gw_asl_exec_error(st, input, step);
        }

        result = v;
    }

    rp = json_object_get(st->raw, "ResultPath");

    if (rp == NULL) {
        v = result;

    } else if (json_is_null(rp)) {
        json_decref(result);
        v = json_incref(input);

    } else if (!json_is_string(rp)) {
        json_decref(result);
        gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                     "ResultPath of \"%s\" is not a string", st->name);
        return gw_asl_exec_error(st, input, step);

    } else if (strcmp(json_string_value(rp), "$") == 0) {
        v = result;

    } else {
        v = gw_asl_path_put(json_string_value(rp), input, result,
                            &step->err);
        json_decref(result);

        if (v == NULL) {
            return gw_asl_exec_error(st, input, step);
        }
    }

    step->output = gw_asl_exec_output(st, v, context, &step->err);
    json_decref(v);

    if (step->output == NULL
        || gw_asl_exec_size(step->output, "output", &step->err) != 0)
    {
        return gw_asl_exec_error(st, input, step);
    }

    if (st->end || st->next < 0) {
        step->next_kind = GW_ASL_SUCCEEDED;
        step->next = -1;

    } else {
        step->next_kind = GW_ASL_GO;
        step->next = st->next;
    }

    return step->next_kind;
}


/*
 * An error of the state's own processing, in step->err: States.Runtime
 * fails the execution; any other goes to the catchers (no retries).
 */

gw_asl_next_e
gw_asl_exec_error(const gw_asl_state_t *st, json_t *input,
    gw_asl_step_t *step)
{
    if (step->err.error[0] == '\0') {
        snprintf(step->err.error, sizeof(step->err.error), "%s",
                 GW_ASL_E_RUNTIME);
    }

    return gw_asl_fail(st, input, step->err.error, step->err.cause, NULL,
                       0, step);
}


/*
 * Task: the payload is the effective input; TimeoutSeconds(Path) and
 * HeartbeatSeconds(Path) (the paths over the payload, as the oracle
 * reads them) in milliseconds, 0 when absent.
 */

static gw_asl_next_e
gw_asl_exec_task(const gw_asl_state_t *st, json_t *input, json_t *context,
    gw_asl_step_t *step)
{
    json_t   *eff;
    int64_t   v;

    eff = gw_asl_exec_input(st, input, context, &step->err);
    if (eff == NULL) {
        return gw_asl_exec_error(st, input, step);
    }

    step->payload = gw_asl_exec_parameters(st, eff, context, &step->err);
    json_decref(eff);

    if (step->payload == NULL
        || gw_asl_exec_size(step->payload, "task's payload", &step->err)
           != 0)
    {
        return gw_asl_exec_error(st, input, step);
    }

    v = 0;
    if (gw_asl_exec_int_field(st, "TimeoutSeconds", step->payload, context,
                              1, GW_ASL_TIMEOUT_MAX_S, &v, &step->err)
        != 0)
    {
        return gw_asl_exec_error(st, input, step);
    }

    step->timeout_ms = v * 1000;

    v = 0;
    if (gw_asl_exec_int_field(st, "HeartbeatSeconds", step->payload,
                              context, 1, GW_ASL_TIMEOUT_MAX_S, &v,
                              &step->err)
        != 0)
    {
        return gw_asl_exec_error(st, input, step);
    }

    step->heartbeat_ms = v * 1000;

    step->next_kind = GW_ASL_DISPATCH;
    return step->next_kind;
}


/*
 * Wait: until now + Seconds(Path), or until Timestamp(Path) (an instant
 * in the past: now); the paths over the effective input.  A path whose
 * value is not a non-negative integer, or not a timestamp, is
 * States.Runtime.
 */

static gw_asl_next_e
gw_asl_exec_wait(const gw_asl_state_t *st, json_t *input, json_t *context,
    int64_t now_ms, gw_asl_step_t *step)
{
    int       rc;
    char      ts[64];
    json_t   *eff;
    int32_t   ns;
    int64_t   s, until;

    eff = gw_asl_exec_input(st, input, context, &step->err);
    if (eff == NULL) {
        return gw_asl_exec_error(st, input, step);
    }

    s = -1;
    ts[0] = '\0';

    rc = gw_asl_exec_int_field(st, "Seconds", eff, context, 0,
                               GW_ASL_WAIT_MAX_S, &s, &step->err);
    if (rc == 0) {
        rc = gw_asl_exec_string_field(st, "Timestamp", eff, context, ts,
                                      sizeof(ts), &step->err);
    }

    json_decref(eff);

    if (rc != 0) {
        return gw_asl_exec_error(st, input, step);
    }

    if (s >= 0) {
        until = now_ms + s * 1000;

    } else if (ts[0] != '\0') {
        if (gw_asl_timestamp_parse(ts, &until, &ns) != 0) {
            gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                         "the Wait \"%s\" has a timestamp \"%s\" that is "
                         "not RFC 3339", st->name, ts);
            return gw_asl_exec_error(st, input, step);
        }

        if (until < now_ms) {
            until = now_ms;
        }

    } else {
        gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL,
                     "the Wait \"%s\" has no time", st->name);
        return gw_asl_exec_error(st, input, step);
    }

    step->until_ms = until;
    step->next_kind = GW_ASL_SLEEP;

    return step->next_kind;
}


static gw_asl_next_e
gw_asl_exec_choice(const gw_asl_state_t *st, json_t *input,
    json_t *context, gw_asl_step_t *step)
{
    int      rc, next;
    size_t   i;
    json_t  *eff;

    eff = gw_asl_exec_input(st, input, context, &step->err);
    if (eff == NULL) {
        return gw_asl_exec_error(st, input, step);
    }

    next = -1;

    for (i = 0; i < st->nchoices; i++) {
        rc = gw_asl_rule_eval(st->choices[i], eff, context, &step->err);

        if (rc < 0) {
            json_decref(eff);
            snprintf(step->err.error, sizeof(step->err.error), "%s",
                     GW_ASL_E_RUNTIME);
            return gw_asl_exec_error(st, input, step);
        }

        if (rc == 1) {
            next = st->choice_next[i];
            break;
        }
    }

    if (next < 0) {
        next = st->default_next;
    }

    if (next < 0) {
        json_decref(eff);
        gw_asl_error(&step->err, GW_ASL_E_NO_CHOICE, NULL,
                     "no choice rule of \"%s\" matched and it has no "
                     "Default", st->name);
        return gw_asl_exec_error(st, input, step);
    }

    step->output = gw_asl_exec_output(st, eff, context, &step->err);
    json_decref(eff);

    if (step->output == NULL) {
        return gw_asl_exec_error(st, input, step);
    }

    step->next_kind = GW_ASL_GO;
    step->next = next;

    return step->next_kind;
}


/* Fail: Error or ErrorPath, Cause or CausePath (over the raw input) */

static gw_asl_next_e
gw_asl_exec_fail_state(const gw_asl_state_t *st, json_t *input,
    json_t *context, gw_asl_step_t *step)
{
    char  error[GW_ASL_ERROR_MAX], cause[GW_ASL_CAUSE_MAX];

    error[0] = '\0';
    cause[0] = '\0';

    if (gw_asl_exec_string_field(st, "Error", input, context, error,
                                 sizeof(error), &step->err)
        != 0
        || gw_asl_exec_string_field(st, "Cause", input, context, cause,
                                    sizeof(cause), &step->err)
           != 0)
    {
        step->next_kind = GW_ASL_FAILED;
        return step->next_kind;
    }

    gw_asl_error(&step->err, error, NULL, "%s", cause);

    step->next_kind = GW_ASL_FAILED;
    return step->next_kind;
}
