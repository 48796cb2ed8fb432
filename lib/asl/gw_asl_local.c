
/*
 * Copyright (C) Tollgate
 *
 * The local runner (lib/asl/gw_asl.h, gw_asl_run_local): a whole
 * execution in memory, driving gw_asl_enter/resume/fail as the service
 * will, with the Task states answered by mocks.  It keeps on the C
 * stack what the service keeps in its store: the place, the raw input,
 * the retry counts, the transitions made.
 *
 * Time is virtual: it starts at $$.Execution.StartTime (the epoch when
 * none is given) and moves when a Wait ends or a retry's delay passes,
 * nothing is slept.  Map and Parallel children run one after the other,
 * in order, a nested machine one C call deeper (GW_ASL_DEPTH_MAX bounds
 * it).  A Map counts its failed items: with neither ToleratedFailure
 * field the first failed item fails the Map with its error; with one,
 * every item runs, a failed item's output is its {"Error", "Cause"},
 * and past either tolerance the Map fails with
 * States.ExceedToleratedFailureThreshold.  A Parallel fails with the
 * error of its first failed branch (AWS reports the branch's error, not
 * States.BranchFailed).
 *
 * History events, close to AWS's types: ExecutionStarted {input},
 * <Type>StateEntered {name, input}, <Type>StateExited {name, output},
 * TaskScheduled {name, resource, payload}, TaskSucceeded {name,
 * output}, TaskFailed {name, error, cause}, WaitStarted {name, until},
 * StateRetried {name, retrier, attempt, delay_ms}, StateCaught {name,
 * error, next}, ParallelStateStarted, ParallelStateSucceeded,
 * ParallelStateFailed, MapStateStarted {name, items},
 * MapIterationStarted, MapIterationSucceeded, MapIterationFailed
 * {name, index, ...}, MapStateSucceeded, MapStateFailed,
 * ExecutionSucceeded {output}, ExecutionFailed {error, cause}.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_asl.h"
#include "gw_asl_def_int.h"
#include "gw_asl_exec_int.h"


#define GW_ASL_LOCAL_TRANSITIONS  100000
#define GW_ASL_LOCAL_RND          0.5     /* FULL jitter: half the delay */


typedef struct {
    json_t              *mocks;
    json_t              *used;          /* state name -> answers taken */
    json_t              *history;       /* NULL: none kept */
    json_t              *base;          /* context: Execution, StateMachine */
    size_t               transitions;
    size_t               max;
    int64_t              now_ms;
    gw_asl_err_t         err;
} gw_asl_local_t;


static int gw_asl_local_machine(gw_asl_local_t *run, gw_asl_machine_t *m,
    json_t *input, unsigned depth, json_t **output);
static gw_asl_next_e gw_asl_local_task(gw_asl_local_t *run,
    const gw_asl_state_t *st, json_t *input, json_t *ctx,
    const unsigned *retries, gw_asl_step_t *step);
static gw_asl_next_e gw_asl_local_caught(gw_asl_local_t *run,
    const gw_asl_state_t *st, json_t *input, const char *error,
    const char *cause, const unsigned *retries, gw_asl_step_t *step);
static gw_asl_next_e gw_asl_local_fork(gw_asl_local_t *run,
    const gw_asl_state_t *st, json_t *input, json_t *ctx,
    const unsigned *retries, unsigned depth, gw_asl_step_t *step);
static json_t *gw_asl_local_context(gw_asl_local_t *run,
    const gw_asl_state_t *st, int64_t entered, unsigned retry_count);
static json_t *gw_asl_local_base(json_t *input, json_t *context,
    int64_t *start_ms);
static void gw_asl_local_event(gw_asl_local_t *run, json_t *event);
static void gw_asl_local_time(int64_t ms, char *buf, size_t size);


/*
 * The contract is in gw_asl.h.  def and input are borrowed; the result
 * is new; events are appended to history when it is an array.
 */

json_t *
gw_asl_run_local(gw_asl_def_t *def, json_t *input, json_t *mocks,
    json_t *context, json_t *history, size_t max_transitions)
{
    int              rc;
    json_t          *output, *res;
    gw_asl_local_t   run;

    memset(&run, 0, sizeof(gw_asl_local_t));

    run.mocks = mocks;
    run.history = json_is_array(history) ? history : NULL;
    run.max = max_transitions ? max_transitions : GW_ASL_LOCAL_TRANSITIONS;
    run.used = json_object();
    run.base = gw_asl_local_base(input, context, &run.now_ms);

    output = NULL;

    if (run.used == NULL || run.base == NULL) {
        gw_asl_error(&run.err, GW_ASL_E_RUNTIME, NULL, "out of memory");
        rc = -1;

    } else if (def == NULL || def->top == NULL || input == NULL) {
        gw_asl_error(&run.err, GW_ASL_E_RUNTIME, NULL,
                     "no definition or no input");
        rc = -1;

    } else if (gw_asl_exec_size(input, "execution's input", &run.err)
               != 0)
    {
        rc = -1;

    } else {
        gw_asl_local_event(&run, json_pack("{s:s, s:O}", "type",
                                           "ExecutionStarted", "input",
                                           input));

        rc = gw_asl_local_machine(&run, def->top, input, 0, &output);
    }

    if (rc == 0) {
        gw_asl_local_event(&run, json_pack("{s:s, s:O}", "type",
                                           "ExecutionSucceeded", "output",
                                           output));
        res = json_pack("{s:s, s:o}", "status", "SUCCEEDED", "output",
                        output);

    } else {
        gw_asl_local_event(&run, json_pack("{s:s, s:s, s:s}", "type",
                                           "ExecutionFailed", "error",
                                           run.err.error, "cause",
                                           run.err.cause));
        res = json_pack("{s:s, s:s, s:s}", "status", "FAILED", "error",
                        run.err.error, "cause", run.err.cause);
    }

    json_decref(run.used);
    json_decref(run.base);

    return res;
}


/*
 * One machine from its StartAt to its end: 0 with *output (new), or -1
 * with run->err.  Each state entered (a retry too) is one transition.
 */

static int
gw_asl_local_machine(gw_asl_local_t *run, gw_asl_machine_t *m,
    json_t *input, unsigned depth, json_t **output)
{
    int                    idx, rc;
    json_t                *in, *ctx;
    unsigned               retries[GW_ASL_RETRIERS_MAX], retry_count;
    const char            *type;
    gw_asl_next_e          next;
    gw_asl_step_t          step;
    const gw_asl_state_t  *st;

    if (depth > GW_ASL_DEPTH_MAX) {
        return gw_asl_error(&run->err, GW_ASL_E_RUNTIME, NULL,
                            "Map and Parallel nested past %d",
                            GW_ASL_DEPTH_MAX);
    }

    gw_asl_step_init(&step);

    idx = m->start;
    in = json_incref(input);
    ctx = NULL;
    rc = -1;

    memset(retries, 0, sizeof(retries));
    retry_count = 0;

    for ( ;; ) {

        if (idx < 0 || (size_t) idx >= m->nstates) {
            gw_asl_error(&run->err, GW_ASL_E_RUNTIME, NULL,
                         "no state at index %d", idx);
            break;
        }

        st = &m->states[idx];
        type = gw_asl_type_name(st->type);

        if (++run->transitions > run->max) {
            gw_asl_error(&run->err, GW_ASL_E_RUNTIME, NULL,
                         "the execution passed its cap of %zu state "
                         "transitions", run->max);
            break;
        }

        json_decref(ctx);
        ctx = gw_asl_local_context(run, st, run->now_ms, retry_count);
        if (ctx == NULL) {
            gw_asl_error(&run->err, GW_ASL_E_RUNTIME, NULL,
                         "out of memory");
            break;
        }

        gw_asl_local_event(run, json_pack("{s:s+, s:s, s:O}", "type", type,
                                          "StateEntered", "name", st->name,
                                          "input", in));

        next = gw_asl_enter(st, in, ctx, run->now_ms, &step);

        if (next == GW_ASL_DISPATCH) {
            next = gw_asl_local_task(run, st, in, ctx, retries, &step);

        } else if (next == GW_ASL_SLEEP) {
            gw_asl_local_event(run, json_pack("{s:s, s:s, s:I}", "type",
                                              "WaitStarted", "name",
                                              st->name, "until",
                                              (json_int_t) step.until_ms));

            if (step.until_ms > run->now_ms) {
                run->now_ms = step.until_ms;
            }

            next = gw_asl_resume(st, in, ctx, NULL, &step);

        } else if (next == GW_ASL_FORK) {
            next = gw_asl_local_fork(run, st, in, ctx, retries, depth,
                                     &step);
        }

        if (next == GW_ASL_RETRY
            && (step.retrier < 0 || step.retrier >= GW_ASL_RETRIERS_MAX))
        {
            gw_asl_error(&run->err, GW_ASL_E_RUNTIME, NULL,
                         "\"%s\" has more than %d retriers", st->name,
                         GW_ASL_RETRIERS_MAX);
            break;
        }

        if (next == GW_ASL_RETRY) {
            retries[step.retrier]++;
            retry_count++;

            gw_asl_local_event(run, json_pack("{s:s, s:s, s:i, s:i, s:I}",
                                              "type", "StateRetried",
                                              "name", st->name, "retrier",
                                              step.retrier, "attempt",
                                              (int) retries[step.retrier],
                                              "delay_ms",
                                              (json_int_t) step.delay_ms));

            run->now_ms += step.delay_ms;
            continue;
        }

        if (next == GW_ASL_FAILED) {
            run->err = step.err;
            break;
        }

        /* GW_ASL_GO, GW_ASL_SUCCEEDED: the state exited */

        gw_asl_local_event(run, json_pack("{s:s+, s:s, s:O}", "type", type,
                                          "StateExited", "name", st->name,
                                          "output", step.output));

        json_decref(in);
        in = json_incref(step.output);

        if (next == GW_ASL_SUCCEEDED) {
            *output = in;
            in = NULL;
            rc = 0;
            break;
        }

        idx = step.next;
        memset(retries, 0, sizeof(retries));
        retry_count = 0;
    }

    json_decref(in);
    json_decref(ctx);
    gw_asl_step_free(&step);

    return rc;
}


/*
 * A Task dispatched: the next answer of its mocks (the last repeats),
 * then resumed with the value returned, or failed with the error
 * thrown.  No mocks: States.TaskFailed.
 */

static gw_asl_next_e
gw_asl_local_task(gw_asl_local_t *run, const gw_asl_state_t *st,
    json_t *input, json_t *ctx, const unsigned *retries,
    gw_asl_step_t *step)
{
    size_t       n, i;
    json_t      *list, *answer, *thrown, *v;
    const char  *error, *cause;

    gw_asl_local_event(run, json_pack("{s:s, s:s, s:s, s:O}", "type",
                                      "TaskScheduled", "name", st->name,
                                      "resource",
                                      st->resource ? st->resource : "",
                                      "payload", step->payload));

    list = json_object_get(run->mocks, st->name);
    n = json_is_array(list) ? json_array_size(list) : 0;
    answer = NULL;

    if (n > 0) {
        i = (size_t) json_integer_value(json_object_get(run->used,
                                                        st->name));
        answer = json_array_get(list, i < n ? i : n - 1);
        json_object_set_new(run->used, st->name,
                            json_integer((json_int_t) i + 1));

    } else if (json_is_object(list)) {
        answer = list;
    }

    if (answer != NULL && (v = json_object_get(answer, "Return")) != NULL) {
        gw_asl_local_event(run, json_pack("{s:s, s:s, s:O}", "type",
                                          "TaskSucceeded", "name", st->name,
                                          "output", v));

        return gw_asl_resume(st, input, ctx, v, step);
    }

    thrown = answer != NULL ? json_object_get(answer, "Throw") : NULL;

    if (thrown != NULL) {
        error = json_string_value(json_object_get(thrown, "Error"));
        cause = json_string_value(json_object_get(thrown, "Cause"));

        if (error == NULL) {
            error = GW_ASL_E_TASK_FAILED;
        }

    } else {
        error = GW_ASL_E_TASK_FAILED;
        cause = "no mock answers this task";
    }

    if (cause == NULL) {
        cause = "";
    }

    gw_asl_local_event(run, json_pack("{s:s, s:s, s:s, s:s}", "type",
                                      "TaskFailed", "name", st->name,
                                      "error", error, "cause", cause));

    return gw_asl_local_caught(run, st, input, error, cause, retries,
                               step);
}


/* gw_asl_fail, with the catcher recorded when one takes the error */

static gw_asl_next_e
gw_asl_local_caught(gw_asl_local_t *run, const gw_asl_state_t *st,
    json_t *input, const char *error, const char *cause,
    const unsigned *retries, gw_asl_step_t *step)
{
    char           name[GW_ASL_ERROR_MAX];
    gw_asl_next_e  next;

    snprintf(name, sizeof(name), "%s", error);

    next = gw_asl_fail(st, input, error, cause, retries, GW_ASL_LOCAL_RND,
                       step);

    if (next == GW_ASL_GO) {
        gw_asl_local_event(run, json_pack("{s:s, s:s, s:s, s:s}", "type",
                                          "StateCaught", "name", st->name,
                                          "error", name, "next",
                                          st->machine != NULL
                                          ? st->machine->states[step->next]
                                                .name
                                          : ""));
    }

    return next;
}


/*
 * Parallel or Map: each child run in order with its item; resumed with
 * the array of outputs, or failed (see the head of the file).
 */

static gw_asl_next_e
gw_asl_local_fork(gw_asl_local_t *run, const gw_asl_state_t *st,
    json_t *input, json_t *ctx, const unsigned *retries, unsigned depth,
    gw_asl_step_t *step)
{
    int                 rc, tolerant, map;
    size_t              i, n, failed;
    json_t             *items, *outputs, *out;
    const char         *kind;
    gw_asl_err_t        first;
    gw_asl_machine_t   *m;
    gw_asl_next_e       next;

    map = (st->type == GW_ASL_MAP);
    kind = map ? "Map" : "Parallel";

    items = json_incref(step->items);
    n = json_array_size(items);
    tolerant = map && (step->tolerated_pct >= 0
                       || step->tolerated_count >= 0);

    outputs = json_array();
    if (outputs == NULL) {
        json_decref(items);
        return gw_asl_fail(st, input, GW_ASL_E_RUNTIME, "out of memory",
                           NULL, 0, step);
    }

    if (map) {
        gw_asl_local_event(run, json_pack("{s:s, s:s, s:I}", "type",
                                          "MapStateStarted", "name",
                                          st->name, "items",
                                          (json_int_t) n));
    } else {
        gw_asl_local_event(run, json_pack("{s:s, s:s}", "type",
                                          "ParallelStateStarted", "name",
                                          st->name));
    }

    failed = 0;
    memset(&first, 0, sizeof(gw_asl_err_t));

    for (i = 0; i < n; i++) {
        m = map ? st->processor : (i < st->nbranches ? st->branches[i]
                                                     : NULL);
        if (m == NULL) {
            gw_asl_error(&run->err, GW_ASL_E_RUNTIME, NULL,
                         "\"%s\" has no machine for child %zu", st->name, i);
            rc = -1;

        } else {
            if (map) {
                gw_asl_local_event(run, json_pack("{s:s, s:s, s:I}", "type",
                                                  "MapIterationStarted",
                                                  "name", st->name, "index",
                                                  (json_int_t) i));
            }

            out = NULL;
            rc = gw_asl_local_machine(run, m, json_array_get(items, i),
                                      depth + 1, &out);
        }

        if (rc == 0) {
            if (map) {
                gw_asl_local_event(run, json_pack("{s:s, s:s, s:I}",
                                                  "type",
                                                  "MapIterationSucceeded",
                                                  "name", st->name, "index",
                                                  (json_int_t) i));
            }

            json_array_append_new(outputs, out);
            continue;
        }

        if (map) {
            gw_asl_local_event(run, json_pack("{s:s, s:s, s:I, s:s, s:s}",
                                              "type", "MapIterationFailed",
                                              "name", st->name, "index",
                                              (json_int_t) i, "error",
                                              run->err.error, "cause",
                                              run->err.cause));
        }

        if (failed++ == 0) {
            first = run->err;
        }

        /* States.Runtime and the cap end the execution, tolerated or not */
        if (!tolerant || strcmp(run->err.error, GW_ASL_E_RUNTIME) == 0) {
            first = run->err;
            break;
        }

        json_array_append_new(outputs,
                              json_pack("{s:s, s:s}", "Error",
                                        run->err.error, "Cause",
                                        run->err.cause));
    }

    json_decref(items);

    if (failed > 0 && tolerant && i == n) {
        if ((step->tolerated_count >= 0
             && (int64_t) failed > step->tolerated_count)
            || (step->tolerated_pct >= 0
                && (double) failed * 100 > step->tolerated_pct * n))
        {
            gw_asl_error(&first, GW_ASL_E_EXCEED_TOLERATED, NULL,
                         "%zu of the %zu items of the Map \"%s\" failed",
                         failed, n, st->name);

        } else {
            failed = 0;
        }
    }

    if (failed > 0) {
        json_decref(outputs);

        gw_asl_local_event(run, json_pack("{s:s+, s:s, s:s, s:s}", "type",
                                          kind, "StateFailed", "name",
                                          st->name, "error", first.error,
                                          "cause", first.cause));

        return gw_asl_local_caught(run, st, input, first.error,
                                   first.cause, retries, step);
    }

    gw_asl_local_event(run, json_pack("{s:s+, s:s}", "type", kind,
                                      "StateSucceeded", "name", st->name));

    next = gw_asl_resume(st, input, ctx, outputs, step);
    json_decref(outputs);

    return next;
}


/* the context a state sees: the base plus State {Name, EnteredTime,
 * RetryCount} */

static json_t *
gw_asl_local_context(gw_asl_local_t *run, const gw_asl_state_t *st,
    int64_t entered, unsigned retry_count)
{
    char     t[80];
    json_t  *ctx, *s;

    ctx = json_copy(run->base);
    if (ctx == NULL) {
        return NULL;
    }

    gw_asl_local_time(entered, t, sizeof(t));

    s = json_pack("{s:s, s:s, s:i}", "Name", st->name, "EnteredTime", t,
                  "RetryCount", (int) retry_count);

    if (s == NULL || json_object_set_new(ctx, "State", s) != 0) {
        json_decref(ctx);
        return NULL;
    }

    return ctx;
}


/*
 * The execution's part of the context: Execution {Id, Input, Name,
 * StartTime, RedriveCount} and StateMachine {Id, Name}, from the given
 * context's fields over defaults; *start_ms from StartTime.
 */

static json_t *
gw_asl_local_base(json_t *input, json_t *context, int64_t *start_ms)
{
    char         t[80];
    json_t      *base, *e, *sm, *given, *v;
    int32_t      ns;
    const char  *key;

    *start_ms = 0;

    given = json_object_get(context, "Execution");
    v = json_object_get(given, "StartTime");

    if (json_is_string(v)
        && gw_asl_timestamp_parse(json_string_value(v), start_ms, &ns) != 0)
    {
        *start_ms = 0;
    }

    gw_asl_local_time(*start_ms, t, sizeof(t));

    base = json_pack("{s:{s:s, s:s, s:s, s:i}, s:{s:s, s:s}}",
                     "Execution", "Id",
                     "arn:aws:states:local:000000000000:execution:local:"
                     "local", "Name", "local", "StartTime", t,
                     "RedriveCount", 0,
                     "StateMachine", "Id",
                     "arn:aws:states:local:000000000000:stateMachine:local",
                     "Name", "local");
    if (base == NULL) {
        return NULL;
    }

    e = json_object_get(base, "Execution");

    if (json_object_set(e, "Input", input != NULL ? input : json_null())
        != 0)
    {
        json_decref(base);
        return NULL;
    }

    json_object_foreach(given, key, v) {
        if (strcmp(key, "Input") != 0) {
            json_object_set(e, key, v);
        }
    }

    sm = json_object_get(base, "StateMachine");
    given = json_object_get(context, "StateMachine");

    json_object_foreach(given, key, v) {
        json_object_set(sm, key, v);
    }

    return base;
}


/* event (taken over, may be NULL) appended to the history, if kept */

static void
gw_asl_local_event(gw_asl_local_t *run, json_t *event)
{
    if (event == NULL) {
        return;
    }

    if (run->history == NULL) {
        json_decref(event);
        return;
    }

    json_array_append_new(run->history, event);
}


/* epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" */

static void
gw_asl_local_time(int64_t ms, char *buf, size_t size)
{
    time_t     s;
    struct tm  tm;

    s = (time_t) (ms / 1000);

    if (ms < 0 || gmtime_r(&s, &tm) == NULL) {
        snprintf(buf, size, "1970-01-01T00:00:00.000Z");
        return;
    }

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}
