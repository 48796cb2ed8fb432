
/*
 * Copyright (C) Tollgate
 *
 * A transition's commit (wf_engine_int.h): one JSON document built
 * field by field (the hash's fields set and deleted, the history's
 * events, the due score, and what an end or a fork adds), sent as
 * ARGV[1] of wf_script_step by EVALSHA: one round trip per transition.
 * The reply gives the new seq, the history's length (past history_max
 * the execution fails with States.Runtime: an endless loop cannot grow
 * Redis without bound) and, for a mocked task, the mocks taken.  A
 * commit refused ("lost") drops the work and counts wf_m.lost.
 *
 * A top execution with TimeoutSeconds is never due later than its
 * deadline, so that a Wait, a task or a fork cannot outlive it.
 *
 * At most WF_COMMITS_MAX commits are on their way at once, the others
 * queued in order: the engine's pipeline stays deep enough for its
 * throughput and shallow enough for the API's calls that share the
 * connection.
 */


#include <stdlib.h>
#include <string.h>

#include "wf_engine_int.h"


/*
 * Commits on their way at once, at most: a deeper queue on the one
 * Redis connection only delays the API's calls behind the engine's
 * (a start waits for every commit sent before it); past it, commits
 * wait here, oldest first.
 */
#ifndef WF_COMMITS_MAX
#define WF_COMMITS_MAX  64
#endif


static void wf_x_send(wf_x_t *x);
static void wf_x_committed(redisReply *r, void *data);


static unsigned   wf_commits;
static wf_x_t    *wf_queue;
static wf_x_t    *wf_queue_tail;


char *
wf_dump(json_t *v)
{
    if (v == NULL) {
        return NULL;
    }

    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}


int
wf_x_begin(wf_x_t *x)
{
    json_decref(x->c);

    x->c = json_pack("{s:s, s:s, s:I, s:I, s:{}, s:[], s:[]}", "id", x->id,
                     "root", x->root, "seq", (json_int_t) x->seq, "now",
                     (json_int_t) wf_now_ms(), "set", "del", "ev");
    if (x->c == NULL) {
        return -1;
    }

    x->set = json_object_get(x->c, "set");
    x->del = json_object_get(x->c, "del");
    x->ev = json_object_get(x->c, "ev");

    return 0;
}


void
wf_x_set(wf_x_t *x, const char *field, const char *value)
{
    json_object_set_new(x->set, field, json_string(value));
}


void
wf_x_setn(wf_x_t *x, const char *field, long long value)
{
    char  buf[32];

    snprintf(buf, sizeof(buf), "%lld", value);
    json_object_set_new(x->set, field, json_string(buf));
}


void
wf_x_setj(wf_x_t *x, const char *field, json_t *value)
{
    char  *s;

    s = wf_dump(value != NULL ? value : json_null());
    if (s != NULL) {
        json_object_set_new(x->set, field, json_string(s));
        free(s);
    }
}


void
wf_x_del(wf_x_t *x, const char *field)
{
    json_array_append_new(x->del, json_string(field));
}


json_t *
wf_x_event_json(wf_x_t *x, const char *type, json_t *fields)
{
    char     t[32];
    json_t  *e;

    e = fields != NULL ? fields : json_object();
    if (e == NULL) {
        return NULL;
    }

    wf_rfc3339(wf_now_ms(), t, sizeof(t));

    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "timestamp", json_string(t));

    if (x->st != NULL && json_object_get(e, "state") == NULL) {
        json_object_set_new(e, "state", json_string(x->st->name));
    }

    if (x->branch != NULL) {
        json_object_set_new(e, "branch", json_string(x->branch));
    }

    return e;
}


void
wf_x_event(wf_x_t *x, const char *type, json_t *fields)
{
    char    *s;
    json_t  *e;

    e = wf_x_event_json(x, type, fields);
    s = wf_dump(e);
    json_decref(e);

    if (s != NULL) {
        json_array_append_new(x->ev, json_string(s));
        free(s);
    }
}


void
wf_x_commit(wf_x_t *x, wf_x_then_pt then)
{
    char        *text;
    json_t      *due;

    x->then = then;

    /* a top execution with TimeoutSeconds is due by its deadline at the
     * latest, whatever it waits for */
    due = json_object_get(x->c, "due");

    if (x->xdl > 0 && !x->ended && due != NULL
        && (json_integer_value(due) < 0 || json_integer_value(due) > x->xdl))
    {
        json_object_set_new(x->c, "due", json_integer(x->xdl));
    }

    text = wf_dump(x->c);
    json_decref(x->c);
    x->c = NULL;

    if (text == NULL) {
        wf_x_finish(x);
        return;
    }

    free(x->text);
    x->text = text;

    if (wf_commits >= WF_COMMITS_MAX) {
        x->next = NULL;

        if (wf_queue_tail != NULL) {
            wf_queue_tail->next = x;
        } else {
            wf_queue = x;
        }

        wf_queue_tail = x;
        return;
    }

    wf_x_send(x);
}


/* the commit of x on its way: one EVALSHA */

static void
wf_x_send(wf_x_t *x)
{
    size_t       len;
    const char  *argv[1];

    argv[0] = x->text;
    len = strlen(x->text);

    if (gw_svc_eval(wf.svc, &wf_script_step, 1, argv, &len,
                    wf_x_committed, x)
        != 0)
    {
        wf_x_finish(x);     /* Redis down: the lease brings it back */
        return;
    }

    free(x->text);
    x->text = NULL;
    wf_commits++;
}


static void
wf_x_committed(redisReply *r, void *data)
{
    wf_x_t  *x = data, *q;

    /* the oldest commits waiting go out first */
    wf_commits--;

    while (wf_queue != NULL && wf_commits < WF_COMMITS_MAX) {
        q = wf_queue;
        wf_queue = q->next;

        if (wf_queue == NULL) {
            wf_queue_tail = NULL;
        }

        wf_x_send(q);
    }

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        wf_x_finish(x);
        return;
    }

    if (strcmp(r->element[0]->str, "ok") != 0 || r->elements < 4) {
        if (wf_m.lost != NULL) {
            gw_svc_metric_add(wf_m.lost, 1);
        }

        wf_x_finish(x);
        return;
    }

    if (x->kick) {
        x->kick = 0;
        wf_engine_kick();   /* children, or a parent, due now */
    }

    x->seq = r->element[1]->integer;
    x->llen = r->element[2]->integer;
    x->mu = r->element[3]->integer;

    if (wf_m.transitions != NULL) {
        gw_svc_metric_add(wf_m.transitions, 1, x->def != NULL
                                               ? x->def->name
                                               : wf_x_str(x, "def"));
    }

    if (x->then == NULL || x->ended) {
        wf_x_finish(x);
        return;
    }

    if (x->llen > wf.history_max && wf.history_max > 0) {
        wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME,
                 "the execution's history passed its cap of events");
        return;
    }

    x->then(x);
}
