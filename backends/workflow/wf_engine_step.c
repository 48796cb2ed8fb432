
/*
 * Copyright (C) Tollgate
 *
 * The transitions (wf.h, "phases"): an execution claimed is worked by
 * its phase, through lib/asl's gw_asl_enter/resume/fail, and whatever
 * the library answers becomes one commit (wf_script_step) carrying the
 * history events of the step, in the order gw_asl_run_local records
 * them: "<Type>StateEntered" goes with the commit that follows the
 * state's entering, "<Type>StateExited" with the one that leaves it.
 *
 * An effect runs only after the commit that asks for it is stored: a
 * Task first commits phase task (or callback) with its payload, its
 * attempt and idempotency key "<id>:<seq of that commit>", and its
 * deadline, and only then is dispatched; a callback task's token names
 * that same seq (predicted: the seq loaded plus one), so that its key
 * gw:wf:tok:<hash> is written by the very commit that makes the token
 * valid.  A synchronous task's answer is one more commit that stores
 * the answer and where it leads at once (TaskSucceeded or TaskFailed,
 * then the state's exit, a retry or a catcher), so a task costs two
 * transitions, not three.
 *
 * Gaps filled here: a task claimed again before its deadline (its
 * instance died: the task held a lease, renewed while it ran) is
 * dispatched again with the same idempotency key, without a commit; a
 * mocked one (test mode) is entered again.  A callback claimed before
 * its deadlines is left alone (a commit would move the seq its token
 * names): it comes back after a lease.  A Wait claimed before its end
 * ("deadline") is made due at its end again.  The end of a child
 * workflow (slot "t") writes TaskSucceeded/TaskFailed into the
 * parent's history with the result.  The history's events carry
 * "state" (the state's name; a Map iteration's, its Map's) and, for a
 * child, "branch" (its id past the root's and the dot).  While the
 * service drains, a chain stops after its next commit, left due at once
 * for another instance.
 */


#include <stdlib.h>
#include <string.h>

#include "wf_engine_int.h"


static void wf_x_timeout(wf_x_t *x, const char *error, const char *cause);
static void wf_x_timed_out(wf_x_t *x);


void
wf_x_run(wf_x_t *x)
{
    json_t        *res;
    long long      now, dl, hbdl;
    const char    *phase, *s;
    gw_asl_next_e  next;
    json_error_t   jerr;

    phase = wf_x_str(x, "phase");
    now = wf_now_ms();

    if (wf_x_context(x) != 0) {
        wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME, "out of memory");
        return;
    }

    if (x->xdl > 0 && now >= x->xdl) {
        wf_x_timed_out(x);
        return;
    }

    if (strcmp(phase, WF_P_ENTER) == 0) {
        wf_x_enter(x);
        return;
    }

    if (strcmp(phase, WF_P_FORK) == 0) {
        wf_fork_claimed(x);
        return;
    }

    if (strcmp(phase, WF_P_WAIT) == 0 && now < wf_x_int(x, "deadline")) {
        /* claimed early (a lease moved its score): due again at its end */
        if (wf_x_begin(x) != 0) {
            wf_x_finish(x);
            return;
        }

        json_object_set_new(x->c, "due",
                            json_integer(wf_x_int(x, "deadline")));
        wf_x_commit(x, NULL);
        return;
    }

    if (strcmp(phase, WF_P_RESUME) == 0 || strcmp(phase, WF_P_WAIT) == 0) {
        res = NULL;

        if (phase[0] == 'r') {
            s = wf_x_str(x, "res");
            res = json_loads(s[0] ? s : "null", WF_LOADS, &jerr);
            if (res == NULL) {
                res = json_null();
            }
        }

        if (wf_x_begin(x) != 0) {
            json_decref(res);
            wf_x_finish(x);
            return;
        }

        next = gw_asl_resume(x->st, x->sin, x->ctx, res, &x->step);
        json_decref(res);

        wf_x_next(x, next);
        return;
    }

    if (strcmp(phase, WF_P_FAIL) == 0) {
        if (wf_x_begin(x) != 0) {
            wf_x_finish(x);
            return;
        }

        next = wf_x_fail(x, wf_x_str(x, "rerr"), wf_x_str(x, "rcause"));
        wf_x_next(x, next);
        return;
    }

    if (strcmp(phase, WF_P_TASK) == 0) {
        dl = wf_x_int(x, "deadline");

        if (now >= dl) {
            wf_x_timeout(x, GW_ASL_E_TIMEOUT,
                         "the task did not answer before its deadline");
            return;
        }

        if (x->mocks != NULL) {
            wf_x_enter(x);
            return;
        }

        s = wf_x_str(x, "pl");
        res = json_loads(s[0] ? s : "null", WF_LOADS, &jerr);
        snprintf(x->idem, sizeof(x->idem), "%s", wf_x_str(x, "idem"));

        wf_x_task_send(x, res != NULL ? res : json_null(), x->idem,
                       dl - now);
        json_decref(res);
        return;
    }

    if (strcmp(phase, WF_P_CALLBACK) == 0) {
        dl = wf_x_int(x, "deadline");
        hbdl = wf_x_int(x, "hbdl");

        if (hbdl > 0 && now >= hbdl && hbdl <= dl) {
            wf_x_timeout(x, GW_ASL_E_HEARTBEAT,
                         "no heartbeat came before the heartbeat deadline");
            return;
        }

        if (now >= dl) {
            wf_x_timeout(x, GW_ASL_E_TIMEOUT,
                         "the task did not answer before its deadline");
            return;
        }

        x->park = (hbdl > 0 && hbdl < dl) ? hbdl : dl;

        if (strcmp(wf_x_str(x, "sent"), "1") == 0 || x->mocks != NULL) {
            /* sent: parked again until its deadline */
            wf_x_park(x, x->park);
            wf_x_finish(x);
            return;
        }

        /*
         * Its instance died before the task went out (or before it said
         * so): sent again, with the same key and payload (and token);
         * a receiver that saw it dedupes by the key, a child workflow's
         * start is idempotent by its name.
         */
        s = wf_x_str(x, "pl");
        res = json_loads(s[0] ? s : "null", WF_LOADS, &jerr);
        snprintf(x->idem, sizeof(x->idem), "%s", wf_x_str(x, "idem"));
        x->async = 1;

        wf_x_task_send(x, res != NULL ? res : json_null(), x->idem,
                       dl - now);
        json_decref(res);
        return;
    }

    /* done: nothing to do */
    wf_x_finish(x);
}


/*
 * The execution passed its TimeoutSeconds: TIMED_OUT (ExecutionTimedOut),
 * a fork's children deleted with it (the claim drops their
 * grandchildren, whose root is no longer RUNNING).
 */

static void
wf_x_timed_out(wf_x_t *x)
{
    if (wf_x_begin(x) != 0) {
        wf_x_finish(x);
        return;
    }

    if (strcmp(wf_x_str(x, "phase"), WF_P_FORK) == 0) {
        json_object_set_new(x->c, "kill",
                            json_pack("{s:i, s:I}", "from", 0, "to",
                                      (json_int_t) wf_x_int(x, "fnext")));
    }

    wf_x_end(x, WF_TIMED_OUT, NULL, GW_ASL_E_TIMEOUT,
             "the execution passed its TimeoutSeconds");
}


/* a task timed out: TaskTimedOut, then the state fails with error */

static void
wf_x_timeout(wf_x_t *x, const char *error, const char *cause)
{
    gw_asl_next_e  next;

    if (wf_x_begin(x) != 0) {
        wf_x_finish(x);
        return;
    }

    wf_x_event(x, "TaskTimedOut", json_pack("{s:s, s:s}", "error", error,
                                             "cause", cause));

    if (wf_m.tasks != NULL) {
        gw_svc_metric_add(wf_m.tasks, 1, "timeout", "timeout");
    }

    next = wf_x_fail(x, error, cause);
    wf_x_next(x, next);
}


/* x->st entered with x->sin: one transition */

void
wf_x_enter(wf_x_t *x)
{
    char           type[32];
    gw_asl_next_e  next;

    if (wf_x_begin(x) != 0) {
        wf_x_finish(x);
        return;
    }

    if (wf_x_context(x) != 0) {
        wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME, "out of memory");
        return;
    }

    snprintf(type, sizeof(type), "%sStateEntered",
             gw_asl_type_name(x->st->type));
    wf_x_event(x, type, json_pack("{s:O}", "input", x->sin));

    next = gw_asl_enter(x->st, x->sin, x->ctx, wf_now_ms(), &x->step);
    wf_x_next(x, next);
}


/*
 * gw_asl_fail for x->st, with StateCaught recorded when a catcher takes
 * the error (error and cause are copied first: they may be the step's).
 */

gw_asl_next_e
wf_x_fail(wf_x_t *x, const char *error, const char *cause)
{
    char           e[GW_ASL_ERROR_MAX], c[GW_ASL_CAUSE_MAX];
    gw_asl_next_e  next;

    snprintf(e, sizeof(e), "%s", error[0] ? error : GW_ASL_E_TASK_FAILED);
    snprintf(c, sizeof(c), "%s", cause);

    next = gw_asl_fail(x->st, x->sin, e, c, x->retries, wf_x_rnd(x),
                       &x->step);

    if (next == GW_ASL_GO) {
        wf_x_event(x, "StateCaught",
                   json_pack("{s:s, s:s}", "error", e, "next",
                             x->m->states[x->step.next].name));
    }

    return next;
}


double
wf_x_rnd(wf_x_t *x)
{
    /* mocks: as `workflow run` draws FULL jitter, half the delay */
    return x->mocks != NULL ? 0.5 : (double) random() / 2147483648.0;
}


/* where the library sends x: the rest of the commit begun */

void
wf_x_next(wf_x_t *x, gw_asl_next_e next)
{
    char            type[32];
    json_t         *r;
    long long       now;
    const char     *fields[] = { "retries", "attempt", "pl", "idem",
                                 "deadline", "hb", "hbdl", "res", "rerr",
                                 "rcause", "items", "conc", "fnext",
                                 "fdone", "tol", NULL };
    const char    **f;

    now = json_integer_value(json_object_get(x->c, "now"));

    switch (next) {

    case GW_ASL_GO:
        snprintf(type, sizeof(type), "%sStateExited",
                 gw_asl_type_name(x->st->type));
        wf_x_event(x, type, json_pack("{s:O}", "output", x->step.output));

        wf_x_set(x, "state", x->m->states[x->step.next].name);
        wf_x_setj(x, "sin", x->step.output);
        wf_x_setn(x, "entered", now);
        wf_x_set(x, "phase", WF_P_ENTER);

        for (f = fields; *f != NULL; f++) {
            wf_x_del(x, *f);
        }

        json_object_set_new(x->c, "due",
                            json_integer(wf.stopped ? now
                                                    : now + wf.lease));
        x->entered = now;
        wf_x_commit(x, wf_x_after);
        return;

    case GW_ASL_SUCCEEDED:
        snprintf(type, sizeof(type), "%sStateExited",
                 gw_asl_type_name(x->st->type));
        wf_x_event(x, type, json_pack("{s:O}", "output", x->step.output));
        wf_x_end(x, WF_SUCCEEDED, x->step.output, NULL, NULL);
        return;

    case GW_ASL_FAILED:
        wf_x_end(x, WF_FAILED, NULL, x->step.err.error, x->step.err.cause);
        return;

    case GW_ASL_DISPATCH:
        wf_x_dispatch(x);
        return;

    case GW_ASL_SLEEP:
        wf_x_event(x, "WaitStarted", json_pack("{s:I}", "until",
                                               (json_int_t)
                                               x->step.until_ms));
        wf_x_set(x, "phase", WF_P_WAIT);
        wf_x_setn(x, "deadline", x->step.until_ms);
        json_object_set_new(x->c, "due", json_integer(x->step.until_ms));
        wf_x_commit(x, NULL);
        return;

    case GW_ASL_FORK:
        wf_fork_start(x);
        return;

    case GW_ASL_RETRY:
        if (x->step.retrier < 0 || x->step.retrier >= GW_ASL_RETRIERS_MAX) {
            wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME,
                     "a retrier past the cap");
            return;
        }

        x->retries[x->step.retrier]++;

        r = json_array();
        for (size_t i = 0; i < x->st->nretry && i < GW_ASL_RETRIERS_MAX;
             i++)
        {
            json_array_append_new(r, json_integer(x->retries[i]));
        }

        wf_x_event(x, "StateRetried",
                   json_pack("{s:i, s:i, s:I}", "retrier", x->step.retrier,
                             "attempt",
                             (int) x->retries[x->step.retrier], "delay_ms",
                             (json_int_t) x->step.delay_ms));
        wf_x_setj(x, "retries", r);
        json_decref(r);
        wf_x_set(x, "phase", WF_P_ENTER);
        wf_x_del(x, "res");
        wf_x_del(x, "rerr");
        wf_x_del(x, "rcause");
        json_object_set_new(x->c, "due",
                            json_integer(now + x->step.delay_ms));
        wf_x_commit(x, NULL);
        return;
    }

    wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME, "unknown step");
}


/* a GO stored: the next state, in memory, still under our claim */

void
wf_x_after(wf_x_t *x)
{
    json_decref(x->sin);
    x->sin = json_incref(x->step.output);
    x->st = &x->m->states[x->step.next];
    memset(x->retries, 0, sizeof(x->retries));

    if (wf.stopped) {
        wf_x_finish(x);     /* left due now for another instance */
        return;
    }

    if (x->xdl > 0 && wf_now_ms() >= x->xdl) {
        wf_x_timed_out(x);
        return;
    }

    wf_x_enter(x);
}


/* ---- the end ------------------------------------------------------------ */

/*
 * x ends (a top execution) or a fork's child ends: in the commit begun
 * (or a new one).  With "comp" 1 the end is ABORTED whatever it is.
 */

void
wf_x_end(wf_x_t *x, const char *status, json_t *output, const char *error,
    const char *cause)
{
    char         type[48], *s;
    json_t      *up, *c, *pev;
    long long    now, start;
    const char  *def, *parent;

    if (x->c == NULL && wf_x_begin(x) != 0) {
        wf_x_finish(x);
        return;
    }

    x->ended = 1;
    now = json_integer_value(json_object_get(x->c, "now"));
    def = x->def != NULL ? x->def->name : wf_x_str(x, "def");
    parent = wf_x_str(x, "parent");

    if (x->branch == NULL && strcmp(wf_x_str(x, "comp"), "1") == 0) {
        status = WF_ABORTED;
    }

    wf_x_set(x, "status", status);
    wf_x_setn(x, "stop", now);
    wf_x_set(x, "phase", WF_P_DONE);

    if (output != NULL) {
        wf_x_setj(x, "output", output);
    }

    if (error != NULL) {
        wf_x_set(x, "error", error);
        wf_x_set(x, "cause", cause != NULL ? cause : "");
    }

    json_object_set_new(x->c, "due", json_integer(-1));

    if (x->branch != NULL) {
        /* a fork's child: its end into the parent */
        c = output != NULL ? json_pack("{s:O}", "output", output)
                           : json_pack("{s:s, s:s}", "error",
                                       error ? error : "", "cause",
                                       cause ? cause : "");
        s = wf_dump(c);
        json_decref(c);

        if (strcmp(wf_x_str(x, "pkind"), "map") == 0) {
            c = json_pack("{s:s, s:I}", "state", wf_x_str(x, "pstate"),
                          "index", (json_int_t) wf_x_int(x, "slot"));

            if (c != NULL && output == NULL) {
                json_object_set_new(c, "error",
                                    json_string(error ? error : ""));
                json_object_set_new(c, "cause",
                                    json_string(cause ? cause : ""));
            }

            wf_x_event(x, output != NULL ? "MapIterationSucceeded"
                                         : "MapIterationFailed", c);
        }

        x->kick = 1;
        json_object_set_new(x->c, "up",
                            json_pack("{s:s, s:s, s:s, s:s}", "parent",
                                      parent, "kind", "f", "slot",
                                      wf_x_str(x, "slot"), "c",
                                      s != NULL ? s : "{}"));
        free(s);
        wf_x_commit(x, NULL);
        return;
    }

    if (output == NULL && x->st != NULL && x->sin != NULL) {
        wf_x_set(x, "fstate", x->st->name);
        wf_x_setj(x, "fsin", x->sin);
    }

    snprintf(type, sizeof(type), "Execution%s",
             strcmp(status, WF_SUCCEEDED) == 0 ? "Succeeded"
             : strcmp(status, WF_ABORTED) == 0 ? "Aborted"
             : strcmp(status, WF_TIMED_OUT) == 0 ? "TimedOut" : "Failed");

    wf_x_event(x, type, output != NULL
                        ? json_pack("{s:O}", "output", output)
                        : json_pack("{s:s, s:s}", "error",
                                    error ? error : "", "cause",
                                    cause ? cause : ""));

    start = wf_x_int(x, "start");

    json_object_set_new(x->c, "end",
                        json_pack("{s:s, s:s, s:I, s:I, s:s}", "def", def,
                                  "status", status, "start",
                                  (json_int_t) start, "keep",
                                  (json_int_t) wf.keep, "name",
                                  wf_x_str(x, "name")));

    if (parent[0] != '\0' && strcmp(wf_x_str(x, "slot"), "t") == 0) {
        if (strcmp(status, WF_SUCCEEDED) == 0) {
            pev = wf_x_event_json(x, "TaskSucceeded",
                                  json_pack("{s:s, s:O}", "execution",
                                            parent, "output", output));
        } else {
            if (strcmp(status, WF_ABORTED) == 0 || error == NULL) {
                error = GW_ASL_E_TASK_FAILED;
                cause = "the child execution was aborted";
            }

            pev = wf_x_event_json(x, "TaskFailed",
                                  json_pack("{s:s, s:s, s:s}", "execution",
                                            parent, "error", error,
                                            "cause", cause ? cause : ""));
        }

        json_object_del(pev, "branch");
        json_object_del(pev, "state");
        s = wf_dump(pev);
        json_decref(pev);

        up = json_pack("{s:s, s:s, s:I, s:s}", "parent", parent, "kind",
                       "t", "pseq", (json_int_t) wf_x_int(x, "pseq"), "ev",
                       s != NULL ? s : "{}");
        free(s);

        if (strcmp(status, WF_SUCCEEDED) == 0) {
            s = wf_dump(output);
            json_object_set_new(up, "res", json_string(s ? s : "null"));
            free(s);

        } else {
            json_object_set_new(up, "err", json_string(error));
            json_object_set_new(up, "cause",
                                json_string(cause ? cause : ""));
        }

        json_object_set_new(x->c, "up", up);
        x->kick = 1;
    }

    if (wf_m.ended != NULL) {
        gw_svc_metric_add(wf_m.ended, 1, def, status);
    }

    if (wf_m.seconds != NULL && start > 0) {
        gw_svc_metric_observe(wf_m.seconds, (double) (now - start) / 1000,
                              def);
    }

    wf_x_commit(x, NULL);
}
