
/*
 * Copyright (C) Tollgate
 *
 * A Task's effect (wf_engine_step.c tells the order): the dispatch
 * commit (phase task, or callback for an answer that comes later: a
 * .waitForTaskToken or a child workflow), then the task handed to
 * wf_task_run() (or, in test mode, answered by the mocks), then its
 * answer committed with where it leads.  The idempotency key is
 * "<id>:<seq of the dispatch commit>", the same for a dispatch made
 * again after a lost instance; the task token names the same seq.
 */


#include <stdlib.h>
#include <string.h>

#include "wf_engine_int.h"


#define WF_TASK_SUFFIX  ".waitForTaskToken"


static void wf_x_dispatched(wf_x_t *x);
static void wf_x_renew_start(wf_x_t *x);
static void wf_x_renew(evutil_socket_t fd, short what, void *data);
static void wf_x_task_done(json_t *result, const char *error,
    const char *cause, void *data);


void
wf_x_dispatch(wf_x_t *x)
{
    char          hex[80];
    int           async;
    long long     now, timeout, dl, hbdl, due;
    const char   *res;

    res = x->st->resource != NULL ? x->st->resource : "";
    now = json_integer_value(json_object_get(x->c, "now"));
    timeout = x->step.timeout_ms > 0 ? x->step.timeout_ms : wf.task_timeout;
    dl = now + timeout;
    hbdl = x->step.heartbeat_ms > 0 ? now + x->step.heartbeat_ms : 0;

    async = x->mocks == NULL && (x->token[0] != '\0'
                                 || wf_task_async(res));
    x->async = async;

    snprintf(x->idem, sizeof(x->idem), "%s:%lld", x->id, x->seq + 1);

    wf_x_event(x, "TaskScheduled", json_pack("{s:s, s:O}", "resource", res,
                                             "payload", x->step.payload));
    wf_x_set(x, "phase", async ? WF_P_CALLBACK : WF_P_TASK);
    wf_x_setj(x, "pl", x->step.payload);
    wf_x_setn(x, "attempt", wf_x_int(x, "attempt") + 1);
    wf_x_set(x, "idem", x->idem);
    wf_x_set(x, "sent", "0");
    wf_x_setn(x, "deadline", dl);
    x->park = dl;

    /* a task in flight holds the lease (renewed while it runs): when
     * its instance dies, the task comes due again within a lease and is
     * sent again with the same idempotency key */
    due = dl < now + wf.lease ? dl : now + wf.lease;

    if (x->mocks != NULL) {
        due = now + wf.lease;
        json_object_set_new(x->c, "mu", json_string(x->st->name));

    } else if (async) {
        if (hbdl > 0) {
            wf_x_setn(x, "hb", x->step.heartbeat_ms / 1000);
            wf_x_setn(x, "hbdl", hbdl);
            due = hbdl < dl ? hbdl : dl;
            x->park = due;
        }

        if (x->token[0] != '\0') {
            if (wf_token_hash(x->token, strlen(x->token), hex) != 0) {
                wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME,
                         "the task token could not be made");
                return;
            }

            json_object_set_new(x->c, "tok", json_string(hex));
            json_object_set_new(x->c, "tokttl",
                                json_integer(timeout + wf.keep));
        }
    }

    json_object_set_new(x->c, "due", json_integer(due));
    wf_x_commit(x, wf_x_dispatched);
}


/* the dispatch stored: now the task goes out (or the mocks answer) */

static void
wf_x_dispatched(wf_x_t *x)
{
    int            rc;
    json_t        *result;
    const char    *error, *cause;
    gw_asl_next_e  next;

    if (x->mocks == NULL) {
        wf_x_task_send(x, x->step.payload, x->idem,
                       x->step.timeout_ms > 0 ? x->step.timeout_ms
                                              : wf.task_timeout);
        return;
    }

    rc = wf_mock_answer(x->mocks, x->st->name, x->mu - 1, &result, &error,
                        &cause);

    if (wf_x_begin(x) != 0) {
        json_decref(result);
        wf_x_finish(x);
        return;
    }

    if (wf_m.tasks != NULL) {
        gw_svc_metric_add(wf_m.tasks, 1, "mock", rc == 0 ? "ok" : "failed");
    }

    if (rc == 0) {
        wf_x_event(x, "TaskSucceeded", json_pack("{s:O}", "output", result));
        next = gw_asl_resume(x->st, x->sin, x->ctx, result, &x->step);
        json_decref(result);

    } else {
        wf_x_event(x, "TaskFailed", json_pack("{s:s, s:s}", "error", error,
                                              "cause", cause));
        next = wf_x_fail(x, error, cause);
    }

    wf_x_next(x, next);
}


void
wf_x_task_send(wf_x_t *x, json_t *payload, const char *idem,
    long long timeout)
{
    char          err[GW_ASL_CAUSE_MAX], resource[GW_ASL_PATH_MAX];
    size_t        len, sl;
    wf_task_t     task;
    const char   *res;
    gw_asl_next_e next;

    res = x->st->resource != NULL ? x->st->resource : "";
    snprintf(resource, sizeof(resource), "%s", res);

    len = strlen(resource);
    sl = sizeof(WF_TASK_SUFFIX) - 1;

    memset(&task, 0, sizeof(wf_task_t));

    if (len > sl && strcmp(resource + len - sl, WF_TASK_SUFFIX) == 0) {
        resource[len - sl] = '\0';
        task.callback = 1;
    }

    task.id = x->id;
    task.root = x->root;
    task.state = x->st->name;
    task.resource = resource;
    task.payload = payload;
    task.idem = idem;
    task.traceparent = wf_x_str(x, "tp");
    task.owner = wf_x_str(x, "owner");
    task.stok = wf_x_str(x, "stok");
    task.seq = x->seq;
    task.timeout = timeout;

    x->task = 1;
    x->deadline = wf_now_ms() + timeout;
    err[0] = '\0';

    if (wf_task_run(&task, wf_x_task_done, x, err, sizeof(err)) == 0) {
        wf_x_renew_start(x);
        return;
    }

    x->task = 0;

    if (wf_m.tasks != NULL) {
        gw_svc_metric_add(wf_m.tasks, 1, "refused", "failed");
    }

    if (wf_x_begin(x) != 0) {
        wf_x_finish(x);
        return;
    }

    wf_x_event(x, "TaskFailed", json_pack("{s:s, s:s}", "error",
                                          GW_ASL_E_TASK_FAILED, "cause",
                                          err));
    next = wf_x_fail(x, GW_ASL_E_TASK_FAILED, err);
    wf_x_next(x, next);
}


/* a task's answer (a callback's: only whether it went out) */

static void
wf_x_task_done(json_t *result, const char *error, const char *cause,
    void *data)
{
    char           kind[64], *p;
    wf_x_t        *x = data;
    gw_asl_next_e  next;

    x->task = 0;
    wf_x_renew_stop(x);

    if (wf_m.tasks != NULL) {
        /* the kind: "tollgate:http", "tollgate:workflow", ... */
        snprintf(kind, sizeof(kind), "%s",
                 x->st->resource != NULL ? x->st->resource : "");
        p = strchr(kind, ':');
        p = p != NULL ? strchr(p + 1, ':') : NULL;
        if (p != NULL) {
            *p = '\0';
        }

        gw_svc_metric_add(wf_m.tasks, 1, kind,
                          error == NULL ? "ok" : "failed");
    }

    if (error == NULL && x->async) {
        /* the answer comes later, by its own way: wait for it */
        wf_x_park(x, x->park);
        wf_x_finish(x);
        return;
    }

    if (wf_x_begin(x) != 0) {
        wf_x_finish(x);
        return;
    }

    if (error == NULL) {
        wf_x_event(x, "TaskSucceeded",
                   json_pack("{s:O}", "output",
                             result != NULL ? result : json_null()));
        next = gw_asl_resume(x->st, x->sin, x->ctx,
                             result != NULL ? result : json_null(),
                             &x->step);

    } else {
        wf_x_event(x, "TaskFailed", json_pack("{s:s, s:s}", "error", error,
                                              "cause",
                                              cause != NULL ? cause : ""));
        next = wf_x_fail(x, error, cause != NULL ? cause : "");
    }

    wf_x_next(x, next);
}


/*
 * The lease of an execution whose synchronous task is in flight,
 * renewed every half lease by a ZADD XX (not a transition: the seq is
 * untouched), never past the task's deadline.  An asynchronous task
 * holds nothing: its execution is due at its deadlines.  A renewal sent
 * before the task's answer is committed runs before that commit (one
 * connection keeps the order), so it never moves a later due score.
 */

static void
wf_x_renew_start(wf_x_t *x)
{
    struct timeval  tv;

    if (x->async) {
        return;
    }

    if (x->renew == NULL) {
        x->renew = evtimer_new(wf.base, wf_x_renew, x);
        if (x->renew == NULL) {
            return;     /* the task is sent again after the lease */
        }
    }

    tv.tv_sec = (wf.lease / 2) / 1000;
    tv.tv_usec = ((wf.lease / 2) % 1000) * 1000;

    evtimer_add(x->renew, &tv);
}


static void
wf_x_renew(evutil_socket_t fd, short what, void *data)
{
    wf_x_t             *x = data;
    long long           due;
    redisAsyncContext  *redis;

    due = wf_now_ms() + wf.lease;
    if (due > x->deadline) {
        due = x->deadline;
    }

    redis = gw_svc_redis(wf.svc);

    if (redis != NULL) {
        redisAsyncCommand(redis, NULL, NULL, "ZADD gw:wf:due XX %lld %s",
                          due, x->id);
    }

    wf_x_renew_start(x);
}


static void
wf_x_parked(redisReply *reply, void *data)
{
    /* nothing to do: unparked, the lease brings the callback back */
}


void
wf_x_park(wf_x_t *x, long long due)
{
    char         seq[32], when[32];
    size_t       lens[3];
    const char  *argv[3];

    snprintf(seq, sizeof(seq), "%lld", x->seq);
    snprintf(when, sizeof(when), "%lld", due);

    argv[0] = x->id;
    argv[1] = seq;
    argv[2] = when;
    lens[0] = strlen(x->id);
    lens[1] = strlen(seq);
    lens[2] = strlen(when);

    (void) gw_svc_eval(wf.svc, &wf_script_park, 3, argv, lens,
                       wf_x_parked, NULL);
}


void
wf_x_renew_stop(wf_x_t *x)
{
    if (x->renew != NULL) {
        event_free(x->renew);
        x->renew = NULL;
    }
}
