
/*
 * Copyright (C) Tollgate
 *
 * A batch's run: every entry through the pipeline's steps, in stream
 * order, then the commit to every sink.
 *
 * An entry's "data" is parsed as a JSON object (else it goes to the DLQ
 * at once) and enters the first step as one record; a step turns each
 * of its records into zero or more (filter keeps or drops, map gives at
 * most one, flat_map any number, enrich adds a member).  A step that
 * fails (a Lua error, its instruction budget, its memory cap, its time)
 * is tried again for that entry after retry_backoff, doubled each time,
 * up to the pipeline's retries; then the entry goes to the DLQ with the
 * error, the attempts and the step, and the batch goes on.  The waits
 * are timers: the loop never sleeps.  Then the commit (proc_commit.c).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


typedef struct {
    proc_run_t         *run;
    size_t              rec;
} proc_lookup_t;


static int proc_run_entry(proc_run_t *r, json_t *e);
static int proc_run_lua(proc_run_t *r, proc_step_t *st, json_t *e,
    json_t **next, char *err, size_t errlen);
static int proc_run_enrich(proc_run_t *r, proc_step_t *st, char *err,
    size_t errlen);
static void proc_run_enriched(redisAsyncContext *ac, void *rp, void *data);
static int proc_run_key_by(proc_run_t *r, proc_step_t *st);


proc_run_t *
proc_run_new(proc_task_t *t, redisReply *entries)
{
    size_t       i, k;
    json_t      *e, *f;
    redisReply  *x, *fv;
    proc_run_t  *r;

    r = calloc(1, sizeof(proc_run_t));
    if (r == NULL) {
        return NULL;
    }

    r->task = t;
    r->entries = json_array();
    r->out = json_array();
    clock_gettime(CLOCK_MONOTONIC, &r->t0);

    if (r->entries == NULL || r->out == NULL) {
        proc_run_free(r);
        return NULL;
    }

    /* [[id, [field, value, ...] or nil], ...]: copied, the reply goes */

    for (i = 0; i < entries->elements; i++) {
        x = entries->element[i];

        if (x->type != REDIS_REPLY_ARRAY || x->elements < 1
            || x->element[0]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        e = json_pack("{s:s}", "id", x->element[0]->str);
        f = NULL;

        if (x->elements > 1 && x->element[1]->type == REDIS_REPLY_ARRAY) {
            f = json_object();
            fv = x->element[1];

            for (k = 0; f != NULL && k + 1 < fv->elements; k += 2) {
                if (fv->element[k]->type == REDIS_REPLY_STRING
                    && fv->element[k + 1]->type == REDIS_REPLY_STRING)
                {
                    json_object_set_new_nocheck(f, fv->element[k]->str,
                        json_stringn_nocheck(fv->element[k + 1]->str,
                                             fv->element[k + 1]->len));
                }
            }
        }

        if (e == NULL || (f != NULL && json_object_set_new(e, "f", f) != 0)
            || json_array_append_new(r->entries, e) != 0)
        {
            proc_run_free(r);
            return NULL;
        }

        snprintf(r->last, sizeof(r->last), "%s", x->element[0]->str);
    }

    return r;
}


void
proc_run_free(proc_run_t *r)
{
    size_t  i;

    if (r == NULL) {
        return;
    }

    json_decref(r->entries);
    json_decref(r->cur);
    json_decref(r->keys);
    json_decref(r->out);
    json_decref(r->state);
    free(r->out_src);
    json_decref(r->ids);
    free(r->dead);

    for (i = 0; r->commits != NULL && i < r->task->pl->nsinks; i++) {
        free(r->commits[i].map);
    }

    free(r->commits);
    free(r);
}


void
proc_run_continue(proc_run_t *r)
{
    int           rc;
    json_t       *e;
    proc_task_t  *t;

    t = r->task;

    if (r->pending > 0) {
        return;
    }

    if (r->commit_tries > 0) {
        proc_run_commit(r);
        return;
    }

    while (r->i < json_array_size(r->entries)) {
        e = json_array_get(r->entries, r->i);

        rc = proc_run_entry(r, e);

        if (rc == 1) {
            /* waiting: a lookup, or a retry's backoff */
            return;
        }

        json_decref(r->cur);
        json_decref(r->keys);
        r->cur = NULL;
        r->keys = NULL;
        r->step = 0;
        r->attempt = 0;
        r->i++;
    }

    if (t->pl->windowed && !r->closed) {
        r->closed = 1;

        if (proc_window_close(r) != 0) {
            gw_svc_log(proc.svc, GW_SVC_ERROR, NULL,
                       "window: out of memory", NULL);
        }
    }

    proc_run_commit(r);
}


/*
 * Runs entry e from r->step on (r->cur holds the records entering it, or
 * NULL before the first step).  0: done with it (records out, dropped,
 * skipped or dead-lettered); 1: waiting (a timer or a lookup calls
 * proc_run_continue() again).
 */

static int
proc_run_entry(proc_run_t *r, json_t *e)
{
    int               rc;
    char              err[PROC_ERR_MAX];
    size_t            i;
    json_t           *rec, *next, *f, *data;
    const char       *id;
    int64_t           wm;
    long long         ms;
    proc_step_t      *st;
    proc_task_t      *t;
    json_error_t      jerr;
    proc_pipeline_t  *pl;

    t = r->task;
    pl = t->pl;
    id = json_string_value(json_object_get(e, "id"));

    if (r->cur == NULL) {
        if (t->min_pos[0] != '\0' && proc_pos_cmp(id, t->min_pos) <= 0) {
            gw_svc_metric_add(proc.m_events, 1, pl->name, "skipped");
            return 0;
        }

        f = json_object_get(e, "f");
        if (f == NULL) {
            /* deleted from the stream while pending */
            gw_svc_metric_add(proc.m_events, 1, pl->name, "skipped");
            return 0;
        }

        data = json_object_get(f, "data");
        if (data == NULL) {
            proc_dlq_add(t, e, "/source", 1, "no \"data\" field");
            return 0;
        }

        rec = json_loadb(json_string_value(data), json_string_length(data),
                         JSON_REJECT_DUPLICATES, &jerr);

        if (rec == NULL || !json_is_object(rec)) {
            snprintf(err, sizeof(err), "not a JSON object: %s",
                     rec == NULL ? jerr.text : "another JSON value");
            json_decref(rec);
            proc_dlq_add(t, e, "/source", 1, err);
            return 0;
        }

        r->cur = json_pack("[o]", rec);
        if (r->cur == NULL) {
            proc_dlq_add(t, e, "/source", 1, "out of memory");
            return 0;
        }

        r->step = 0;
        r->attempt = 0;
    }

    while (r->step < pl->nsteps && json_array_size(r->cur) > 0) {
        st = &pl->steps[r->step];
        next = NULL;

        if (st->kind == PROC_STEP_KEY_BY) {
            if (proc_run_key_by(r, st) == 0) {
                r->step++;
                continue;
            }

            snprintf(err, sizeof(err), "out of memory");

        } else if (st->kind == PROC_STEP_ENRICH) {
            rc = proc_run_enrich(r, st, err, sizeof(err));

            if (rc == 0) {
                return 1;
            }

            if (rc == 2) {
                r->step++;
                r->attempt = 0;
                continue;
            }

        } else if (proc_run_lua(r, st, e, &next, err, sizeof(err)) == 0) {
            json_decref(r->cur);
            r->cur = next;
            r->step++;
            r->attempt = 0;
            continue;
        }

        /* the step failed: again after a backoff, or to the DLQ */

        r->attempt++;

        if (r->attempt <= pl->retries) {
            ms = gw_svc_conf_int(proc.svc, "retry_backoff");
            ms <<= (r->attempt - 1 < 16) ? r->attempt - 1 : 16;
            gw_svc_metric_add(proc.m_events, 1, pl->name, "retried");
            proc_task_wait(r->task, ms);
            return 1;
        }

        proc_dlq_add(t, e, st->ptr, r->attempt, err);
        return 0;
    }

    if (json_array_size(r->cur) == 0) {
        gw_svc_metric_add(proc.m_events, 1, pl->name, "dropped");
        return 0;
    }

    wm = pl->windowed ? gw_window_watermark(t->window) : 0;

    json_array_foreach(r->cur, i, rec) {
        if (pl->windowed) {
            proc_window_add(r, e, rec, json_array_get(r->keys, i));

        } else if (proc_run_out(r, rec) != 0) {
            gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "out of memory", NULL);
        }
    }

    if (pl->windowed && proc_window_flush(r, wm) != 0) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "window: out of memory",
                   NULL);
    }

    gw_svc_metric_add(proc.m_events, 1, pl->name, "processed");

    return 0;
}


/* key_by: each record's key, the text of the member (missing: "") */

static int
proc_run_key_by(proc_run_t *r, proc_step_t *st)
{
    char    *k;
    size_t   i;
    json_t  *rec, *v, *keys;

    keys = json_array();
    if (keys == NULL) {
        return -1;
    }

    json_array_foreach(r->cur, i, rec) {
        v = proc_json_ptr(rec, st->by);
        k = (v != NULL && !json_is_null(v)) ? proc_json_text(v)
                                            : strdup("");

        if (k == NULL
            || json_array_append_new(keys, json_stringn_nocheck(k,
                                                    strlen(k))) != 0)
        {
            free(k);
            json_decref(keys);
            return -1;
        }

        free(k);
    }

    json_decref(r->keys);
    r->keys = keys;

    return 0;
}


int
proc_run_out(proc_run_t *r, json_t *rec)
{
    size_t   n, *src;

    n = json_array_size(r->out);

    if (n == r->out_cap) {
        src = realloc(r->out_src, (n ? n * 2 : 64) * sizeof(size_t));
        if (src == NULL) {
            return -1;
        }
        r->out_src = src;
        r->out_cap = n ? n * 2 : 64;
    }

    if (json_array_append(r->out, rec) != 0) {
        return -1;
    }

    r->out_src[n] = r->i;

    return 0;
}


/* a Lua step on every record of r->cur: *next gets the records out */

static int
proc_run_lua(proc_run_t *r, proc_step_t *st, json_t *e, json_t **next,
    char *err, size_t errlen)
{
    size_t          i;
    size_t          k;
    json_t         *rec, *out, *meta, *f, *keys;
    gw_lua_rc_e     rc;
    gw_lua_err_t    lerr;

    f = json_object_get(e, "f");
    meta = json_pack("{s:s, s:s, s:i, s:s, s:O?, s:O?, s:O?}",
                     "pipeline", r->task->pl->name,
                     "stream", r->task->stream,
                     "partition", (int) r->task->partition,
                     "id", json_string_value(json_object_get(e, "id")),
                     "key", json_object_get(f, "key"),
                     "consumer", json_object_get(f, "consumer"),
                     "time", json_object_get(f, "time"));
    *next = json_array();
    keys = (r->keys != NULL) ? json_array() : NULL;

    if (meta == NULL || *next == NULL || (r->keys != NULL && keys == NULL)) {
        json_decref(meta);
        json_decref(*next);
        json_decref(keys);
        *next = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    json_array_foreach(r->cur, i, rec) {
        rc = gw_lua_transform_run(st->lua, rec, meta, &out, &lerr);

        if (rc != GW_LUA_OK) {
            snprintf(err, errlen, "%s: %s", gw_lua_rc_name(rc), lerr.msg);
            goto failed;
        }

        if (keys != NULL) {
            /* the records out keep the key of the record in */
            for (k = 0; k < (st->kind == PROC_STEP_FILTER
                             ? (json_array_size(out) > 0)
                             : json_array_size(out)); k++)
            {
                json_array_append(keys, json_array_get(r->keys, i));
            }
        }

        if (st->kind == PROC_STEP_FILTER) {
            if (json_array_size(out) > 0) {
                json_array_append(*next, rec);
            }

        } else if (st->kind == PROC_STEP_MAP && json_array_size(out) > 1) {
            snprintf(err, errlen, "error: a map gave %zu records (a "
                     "flat_map may)", json_array_size(out));
            json_decref(out);
            goto failed;

        } else {
            json_array_extend(*next, out);
        }

        json_decref(out);
    }

    json_decref(meta);

    if (keys != NULL) {
        json_decref(r->keys);
        r->keys = keys;
    }

    return 0;

failed:

    json_decref(meta);
    json_decref(keys);
    json_decref(*next);
    *next = NULL;

    return -1;
}


/*
 * enrich: one GET or HGETALL per record, pipelined.  0: sent (the last
 * reply continues the run); 2: nothing to look up; -1: err says why.
 */

static int
proc_run_enrich(proc_run_t *r, proc_step_t *st, char *err, size_t errlen)
{
    char                key[PROC_KEY_MAX];
    size_t              i, n;
    json_t             *rec;
    proc_lookup_t      *lk;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(proc.svc);
    if (ac == NULL) {
        snprintf(err, errlen, "enrich: Redis is down");
        return -1;
    }

    n = json_array_size(r->cur);

    for (i = 0; i < n; i++) {
        rec = json_array_get(r->cur, i);

        if (proc_template(st->key, rec, key, sizeof(key)) != 0) {
            /* a record without the key's members gets null */
            json_object_set_new(rec, st->as, json_null());
            continue;
        }

        lk = malloc(sizeof(proc_lookup_t));
        if (lk == NULL) {
            break;
        }

        lk->run = r;
        lk->rec = i;

        if (redisAsyncCommand(ac, proc_run_enriched, lk,
                              st->hash ? "HGETALL %s" : "GET %s", key)
            != REDIS_OK)
        {
            free(lk);
            break;
        }

        r->pending++;
    }

    if (i < n && r->pending == 0) {
        snprintf(err, errlen, "enrich: cannot send the lookups");
        return -1;
    }

    /* nothing to look up: the step is done at once */

    return (r->pending == 0) ? 2 : 0;
}


static void
proc_run_enriched(redisAsyncContext *ac, void *rp, void *data)
{
    size_t          i;
    json_t         *rec, *v;
    redisReply     *reply;
    proc_run_t     *r;
    proc_lookup_t  *lk;

    reply = rp;
    lk = data;
    r = lk->run;
    rec = json_array_get(r->cur, lk->rec);
    free(lk);

    v = NULL;

    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        v = json_loadb(reply->str, reply->len, JSON_DECODE_ANY, NULL);
        if (v == NULL) {
            v = json_stringn_nocheck(reply->str, reply->len);
        }

    } else if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
        v = json_object();

        for (i = 0; v != NULL && i + 1 < reply->elements; i += 2) {
            json_object_set_new(v, reply->element[i]->str,
                json_stringn_nocheck(reply->element[i + 1]->str,
                                     reply->element[i + 1]->len));
        }
    }

    if (rec != NULL) {
        json_object_set_new(rec, r->task->pl->steps[r->step].as,
                            v != NULL ? v : json_null());
    } else {
        json_decref(v);
    }

    if (--r->pending > 0 || proc.stopped) {
        return;
    }

    r->step++;
    r->attempt = 0;
    proc_run_continue(r);
}
