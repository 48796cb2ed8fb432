
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
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


static json_t *proc_run_ids(proc_run_t *r);
static void proc_run_committed(void *data, proc_sink_rc_e rc,
    const char *err);


void
proc_run_commit(proc_run_t *r)
{
    char              err[PROC_ERR_MAX];
    size_t            i, k, nsinks;
    json_t           *recs, *ids, *all, *e;
    const char       *sp;
    proc_sink_t      *s;
    proc_task_t      *t;
    proc_batch_t      b;
    proc_pipeline_t  *pl;

    t = r->task;
    pl = t->pl;
    nsinks = pl->nsinks;
    r->failed = 0;

    if (t->side_lost) {
        proc_task_redo(t);
        return;
    }

    if (t->min_pos[0] != '\0' && proc_pos_cmp(r->last, t->min_pos) <= 0) {
        /* every entry was committed before: acknowledge them */
        proc_task_batch_done(t);
        return;
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

    all = proc_run_ids(r);
    if (all == NULL) {
        r->pending = 1;
        r->failed = 1;
        proc_run_committed(r, PROC_SINK_FAIL, "out of memory");
        return;
    }

    r->pending = 1;

    for (i = 0; i < nsinks; i++) {
        s = pl->sinks[i];
        sp = t->sink_pos[i];

        if (proc_sink_positioned(s) != r->first_done) {
            continue;
        }

        if (sp[0] != '\0' && proc_pos_cmp(r->last, sp) <= 0) {
            continue;
        }

        if (sp[0] == '\0' || proc_pos_cmp(sp, t->min_pos) <= 0) {
            recs = json_incref(r->out);
            ids = json_incref(all);

        } else {
            /* this sink has more than the others: only what is new */
            recs = json_array();
            ids = json_array();
            for (k = 0; recs != NULL && ids != NULL
                        && k < json_array_size(r->out); k++)
            {
                e = json_array_get(r->entries, r->out_src[k]);
                if (proc_pos_cmp(json_string_value(json_object_get(e, "id")),
                                 sp) > 0)
                {
                    json_array_append(recs, json_array_get(r->out, k));
                    json_array_append(ids, json_array_get(all, k));
                }
            }
        }

        if (recs == NULL || ids == NULL) {
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

        if (s->ops->commit(s, &b, proc_run_committed, r, err, sizeof(err))
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

    json_decref(all);

    /* the callbacks never run inside commit(): settle the count now */

    proc_run_committed(r, PROC_SINK_OK, NULL);
}


/*
 * Each record's id (proc_sink.h): "<source entry id>/<k>" for the k-th
 * record entry r->out_src[] gave, the same on a replay (window results
 * belong to the entry that closed their window).
 */

static json_t *
proc_run_ids(proc_run_t *r)
{
    char        id[PROC_ID_MAX + 24];
    size_t      i, k;
    json_t     *ids, *e;

    ids = json_array();
    k = 0;

    for (i = 0; ids != NULL && i < json_array_size(r->out); i++) {
        k = (i > 0 && r->out_src[i] == r->out_src[i - 1]) ? k + 1 : 0;
        e = json_array_get(r->entries, r->out_src[i]);
        snprintf(id, sizeof(id), "%s/%zu",
                 json_string_value(json_object_get(e, "id")), k);

        if (json_array_append_new(ids, json_string(id)) != 0) {
            json_decref(ids);
            return NULL;
        }
    }

    return ids;
}


static void
proc_run_committed(void *data, proc_sink_rc_e rc, const char *err)
{
    size_t            i;
    double            sec;
    proc_run_t       *r;
    proc_task_t      *t;
    struct timespec   t1;

    r = data;
    t = r->task;

    if (rc == PROC_SINK_FAIL || rc == PROC_SINK_BAD) {
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

    if (!r->failed && !r->first_done) {
        /* the sinks with a position now */
        r->first_done = 1;
        proc_run_commit(r);
        return;
    }

    if (r->failed) {
        r->commit_tries++;
        proc_task_wait(r->task, gw_svc_conf_int(proc.svc, "retry_backoff")
                         << (r->commit_tries < 8 ? r->commit_tries : 8));
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
