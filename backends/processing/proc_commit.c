
/*
 * Copyright (C) Tollgate
 *
 * A batch's commit: every sink gets the records of the entries after its
 * own stored position (a sink ahead of the others after a crash gets
 * only what it lacks), the batch's last id as the position and, with a
 * window, the task's state.  Once all have answered OK or DUP the batch
 * is acknowledged (proc_task_batch_done); a sink that failed has the
 * commit tried again after a backoff (the ones that took it answer DUP),
 * unless a side write (DLQ, late) may be lost, which has the whole batch
 * run again (proc_task_redo).
 *
 * The sinks that store no position (nats, http) get the batch first, the
 * others only once they all took it: whatever a stored position covers,
 * and a task restarted after a crash skips, was delivered everywhere.
 *
 * Each record has an id, "<source entry id>/<k>" for the k-th record its
 * entry gave (a window result: the entry that closed the window), the
 * same on every replay: the sinks that dedupe per record (http, nats)
 * take it from the batch's ids.  A sink that refuses a record
 * (PROC_SINK_BAD with an error "record <i>: ...", i its index in the
 * sink's batch) has that record's entry sent to the DLQ (step
 * "/sinks/<n>") and the commit tried again at once without the record;
 * a BAD that names no record is retried as a failure.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


static void proc_run_committed(void *data, proc_sink_rc_e rc,
    const char *err);
static void proc_run_answered(proc_run_t *r, proc_commit_t *c,
    proc_sink_rc_e rc, const char *err);
static int proc_run_ids(proc_run_t *r);
static int proc_run_refused(proc_commit_t *c, const char *err);


void
proc_run_commit(proc_run_t *r)
{
    int               bad;
    char              err[PROC_ERR_MAX];
    size_t            i, k, nsinks;
    json_t           *recs, *ids, *e;
    const char       *sp;
    proc_sink_t      *s;
    proc_task_t      *t;
    proc_batch_t      b;
    proc_commit_t    *c;
    proc_pipeline_t  *pl;

    t = r->task;
    pl = t->pl;
    nsinks = pl->nsinks;
    r->failed = 0;
    r->dlqd = 0;

    if (t->side_lost) {
        proc_task_redo(t);
        return;
    }

    if (t->min_pos[0] != '\0' && proc_pos_cmp(r->last, t->min_pos) <= 0) {
        /* every entry was committed before: acknowledge them */
        proc_task_batch_done(t);
        return;
    }

    if (proc_run_ids(r) != 0) {
        r->failed = 1;
    }

    /* the sinks without a position first (none: straight on) */

    for (i = 0; !r->first_done && i < nsinks; i++) {
        if (!proc_sink_positioned(pl->sinks[i])) {
            break;
        }
    }

    if (i == nsinks) {
        r->first_done = 1;
    }

    r->pending = 1;

    for (i = 0; i < nsinks && r->commits != NULL; i++) {
        s = pl->sinks[i];
        sp = t->sink_pos[i];
        c = &r->commits[i];

        if (proc_sink_positioned(s) != r->first_done) {
            continue;
        }

        if (sp[0] != '\0' && proc_pos_cmp(r->last, sp) <= 0) {
            continue;
        }

        /* the records for this sink: not refused, and when the sink has
         * more than the others, only what is new to it */

        recs = json_array();
        ids = json_array();
        free(c->map);
        c->n = 0;
        c->map = malloc((json_array_size(r->out) + 1) * sizeof(size_t));
        bad = (recs == NULL || ids == NULL || c->map == NULL);

        for (k = 0; !bad && k < json_array_size(r->out); k++) {
            e = json_array_get(r->entries, r->out_src[k]);

            if (r->dead[k]
                || (sp[0] != '\0' && proc_pos_cmp(sp, t->min_pos) > 0
                    && proc_pos_cmp(json_string_value(
                                        json_object_get(e, "id")), sp)
                       <= 0))
            {
                continue;
            }

            if (json_array_append(recs, json_array_get(r->out, k)) != 0
                || json_array_append(ids, json_array_get(r->ids, k)) != 0)
            {
                bad = 1;
            }

            c->map[c->n++] = k;
        }

        if (bad) {
            /* never a part of the batch under its position */
            json_decref(recs);
            json_decref(ids);
            r->failed = 1;
            continue;
        }

        b.partition = t->partition;
        b.position = r->last;
        b.records = recs;
        b.state = r->state;
        b.ids = ids;

        r->pending++;

        if (s->ops->commit(s, &b, proc_run_committed, c, err, sizeof(err))
            != 0)
        {
            r->pending--;
            r->failed = 1;
            gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "commit failed",
                       json_pack("{s:s, s:i, s:o}", "pipeline", pl->name,
                                 "sink", (int) i, "error",
                                 gw_svc_json_string(err)));
        }

        json_decref(recs);
        json_decref(ids);
    }

    /* the callbacks never run inside commit(): settle the count now */

    proc_run_answered(r, NULL, PROC_SINK_OK, NULL);
}


/*
 * The run's record ids, its refused-record marks and its commit
 * contexts, made once per batch (a commit tried again keeps them).
 */

static int
proc_run_ids(proc_run_t *r)
{
    char         id[PROC_ID_MAX + 16];
    size_t       k, n, j, nsinks;
    json_t      *e;
    const char  *eid;

    if (r->ids != NULL) {
        return 0;
    }

    n = json_array_size(r->out);
    nsinks = r->task->pl->nsinks;

    r->ids = json_array();
    r->dead = calloc(n + 1, 1);
    r->commits = calloc(nsinks + 1, sizeof(proc_commit_t));

    if (r->ids == NULL || r->dead == NULL || r->commits == NULL) {
        goto failed;
    }

    for (k = 0; k < nsinks; k++) {
        r->commits[k].run = r;
        r->commits[k].sink = k;
    }

    for (k = 0, j = 0; k < n; k++) {
        /* j counts the records of the same entry before this one */
        j = (k > 0 && r->out_src[k] == r->out_src[k - 1]) ? j + 1 : 0;

        e = json_array_get(r->entries, r->out_src[k]);
        eid = json_string_value(json_object_get(e, "id"));
        snprintf(id, sizeof(id), "%s/%u", eid != NULL ? eid : "",
                 (unsigned) j);

        if (json_array_append_new(r->ids, json_string(id)) != 0) {
            goto failed;
        }
    }

    return 0;

failed:

    json_decref(r->ids);
    free(r->dead);
    free(r->commits);
    r->ids = NULL;
    r->dead = NULL;
    r->commits = NULL;

    return -1;
}


static void
proc_run_committed(void *data, proc_sink_rc_e rc, const char *err)
{
    proc_commit_t  *c;

    c = data;
    proc_run_answered(c->run, c, rc, err);
}


/*
 * A sink's answer (c NULL: the count settled after the calls).  A BAD
 * naming a record of c's batch has that record's entry dead-lettered.
 */

static void
proc_run_answered(proc_run_t *r, proc_commit_t *c, proc_sink_rc_e rc,
    const char *err)
{
    size_t            i;
    double            sec;
    proc_task_t      *t;
    struct timespec   t1;

    t = r->task;

    if (rc == PROC_SINK_BAD && c != NULL && err != NULL
        && proc_run_refused(c, err) == 0)
    {
        r->dlqd = 1;

    } else if (rc == PROC_SINK_FAIL || rc == PROC_SINK_BAD) {
        r->failed = 1;
        gw_svc_log(proc.svc, rc == PROC_SINK_BAD ? GW_SVC_ERROR : GW_SVC_WARN,
                   NULL, "a sink did not take the batch",
                   json_pack("{s:s, s:i, s:s, s:o}", "pipeline", t->pl->name,
                             "partition", (int) t->partition, "position",
                             r->last, "error",
                             gw_svc_json_string(err ? err : "failed")));
    }

    if (--r->pending > 0) {
        return;
    }

    if (proc.stopped) {
        return;
    }

    if (r->failed && t->side_lost) {
        /* a side write may be lost and the commit did not happen */
        proc_task_redo(t);
        return;
    }

    if (!r->failed && r->dlqd) {
        /* without the refused records, at once */
        r->commit_tries++;
        proc_task_wait(r->task, 0);
        return;
    }

    if (r->failed) {
        r->commit_tries++;
        proc_task_wait(r->task, gw_svc_conf_int(proc.svc, "retry_backoff")
                         << (r->commit_tries < 8 ? r->commit_tries : 8));
        return;
    }

    if (!r->first_done) {
        /* the sinks with a position now */
        r->first_done = 1;
        proc_run_commit(r);
        return;
    }

    for (i = 0; i < t->pl->nsinks; i++) {
        if (t->sink_pos[i][0] == '\0'
            || proc_pos_cmp(r->last, t->sink_pos[i]) > 0)
        {
            snprintf(t->sink_pos[i], PROC_ID_MAX, "%s", r->last);
        }
    }

    snprintf(t->min_pos, sizeof(t->min_pos), "%s", r->last);

    clock_gettime(CLOCK_MONOTONIC, &t1);
    sec = (t1.tv_sec - r->t0.tv_sec) + (t1.tv_nsec - r->t0.tv_nsec) / 1e9;
    gw_svc_metric_observe(proc.m_batch, sec, t->pl->name);

    proc_task_batch_done(t);
}


/* "record <i>: ...": the i-th record of c's batch to the DLQ; 0 or -1 */

static int
proc_run_refused(proc_commit_t *c, const char *err)
{
    char           step[32], *end;
    size_t         k;
    proc_run_t    *r;
    unsigned long  i;

    r = c->run;

    if (strncmp(err, "record ", 7) != 0 || err[7] < '0' || err[7] > '9') {
        return -1;
    }

    i = strtoul(err + 7, &end, 10);
    if (*end != ':' || i >= c->n || r->dead == NULL) {
        return -1;
    }

    k = c->map[i];

    if (!r->dead[k]) {
        r->dead[k] = 1;
        snprintf(step, sizeof(step), "/sinks/%u", (unsigned) c->sink);
        proc_dlq_add(r->task, json_array_get(r->entries, r->out_src[k]),
                     step, 1, err);
    }

    return 0;
}
