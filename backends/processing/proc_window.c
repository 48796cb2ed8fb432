
/*
 * Copyright (C) Tollgate
 *
 * The window step (lib/window): the pipeline's last step when its
 * document has a "window" member.  Each task keeps one window set, fed
 * the records its steps put out, in stream order, by key (the key_by
 * step's, else the entry's partition key) and event time (the "time"
 * pointer into the record, else the entry's publish time).  A batch's
 * closed windows' results are the records the sinks get, and the set's
 * state goes with them in the same commit (proc_batch_t.state), so a
 * task that starts again (here or on another instance) loads the state
 * of its position and gives the same results.  Late records go to
 * gw:proc:<pipeline>:late, records the window cannot take (no time, a
 * field that is not a number, a cap) to the DLQ.
 *
 * A Lua reducer ({"op": "reduce"}) is the window member "reduce": a
 * chunk returning function (acc, rec) -> the new accumulator (acc nil
 * for a new window), run in the sandbox like the other steps.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


static json_t *proc_window_reduce(void *data, json_t *acc, json_t *rec,
    char *err, size_t errlen);


static const char  proc_reduce_head[] =
    "local __f = (function () ";

static const char  proc_reduce_tail[] =
    "\nend)() "
    "if type(__f) == 'table' then __f = __f.reduce end "
    "if type(__f) ~= 'function' then "
    "error('a reducer returns a function', 0) end "
    "local json = require('json') "
    "return function (r) "
    "local acc = r.acc if acc == json.null then acc = nil end "
    "return {acc = __f(acc, r.rec)} end";


int
proc_window_setup(proc_pipeline_t *pl, char *err, size_t errlen)
{
    char           *text, name[160];
    size_t          len;
    json_t         *w, *red;
    gw_lua_err_t    lerr;
    gw_lua_conf_t   lc;

    w = json_object_get(pl->doc, "window");
    if (w == NULL) {
        return 0;
    }

    pl->wdoc = json_deep_copy(w);
    if (pl->wdoc == NULL) {
        snprintf(err, errlen, "/window: out of memory");
        return -1;
    }

    red = json_incref(json_object_get(pl->wdoc, "reduce"));
    json_object_del(pl->wdoc, "reduce");

    if (gw_window_conf_parse(pl->wdoc, &pl->wconf, err, errlen) != 0) {
        json_decref(red);
        return -1;
    }

    if (red != NULL) {
        if (!json_is_string(red)) {
            json_decref(red);
            snprintf(err, errlen, "/window/reduce: a Lua chunk (text)");
            return -1;
        }

        len = json_string_length(red);
        text = malloc(len + sizeof(proc_reduce_head)
                      + sizeof(proc_reduce_tail));
        if (text == NULL) {
            json_decref(red);
            snprintf(err, errlen, "/window/reduce: out of memory");
            return -1;
        }

        len = sprintf(text, "%s%s%s", proc_reduce_head,
                      json_string_value(red), proc_reduce_tail);
        json_decref(red);

        snprintf(name, sizeof(name), "%s/window/reduce", pl->name);
        memset(&lc, 0, sizeof(lc));
        lc.mem_max = gw_svc_conf_int(proc.svc, "lua_memory");
        lc.budget = gw_svc_conf_int(proc.svc, "lua_budget");
        lc.time_max = gw_svc_conf_int(proc.svc, "lua_time");
        lc.name = name;

        pl->reducer = gw_lua_transform_new(&lc, name, text, len, NULL,
                                           &lerr);
        free(text);

        if (pl->reducer == NULL) {
            snprintf(err, errlen, "/window/reduce: %s", lerr.msg);
            return -1;
        }

        pl->wconf.reduce = proc_window_reduce;
        pl->wconf.reduce_data = pl;
    }

    /* a check of the whole conf, the reducer's need included */

    {
        gw_window_t  *probe;

        probe = gw_window_new(&pl->wconf, err, errlen);
        if (probe == NULL) {
            return -1;
        }

        gw_window_free(probe);
    }

    pl->windowed = 1;

    return 0;
}


void
proc_window_free(proc_pipeline_t *pl)
{
    gw_lua_transform_free(pl->reducer);
    pl->reducer = NULL;
    json_decref(pl->wdoc);
    pl->wdoc = NULL;
}


static json_t *
proc_window_reduce(void *data, json_t *acc, json_t *rec, char *err,
    size_t errlen)
{
    json_t           *in, *out, *v;
    gw_lua_rc_e       rc;
    gw_lua_err_t      lerr;
    proc_pipeline_t  *pl;

    pl = data;

    in = json_pack("{s:O, s:O}", "acc", acc, "rec", rec);
    if (in == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    rc = gw_lua_transform_run(pl->reducer, in, NULL, &out, &lerr);
    json_decref(in);

    if (rc != GW_LUA_OK) {
        snprintf(err, errlen, "reduce: %s: %s", gw_lua_rc_name(rc),
                 lerr.msg);
        return NULL;
    }

    v = json_object_get(json_array_get(out, 0), "acc");
    v = (v != NULL) ? json_incref(v) : json_null();
    json_decref(out);

    return v;
}


/* the task's window set from the state its sinks gave (or a new one) */

int
proc_window_start(proc_task_t *t)
{
    char  err[PROC_ERR_MAX];

    if (!t->pl->windowed) {
        return 0;
    }

    gw_window_free(t->window);
    t->window = NULL;

    if (t->state != NULL) {
        t->window = gw_window_load(&t->pl->wconf, t->state, err,
                                   sizeof(err));
        if (t->window == NULL) {
            gw_svc_log(proc.svc, GW_SVC_ERROR, NULL,
                       "cannot load the window state",
                       json_pack("{s:s, s:i, s:o}", "pipeline", t->pl->name,
                                 "partition", (int) t->partition, "error",
                                 gw_svc_json_string(err)));
            return -1;
        }

        return 0;
    }

    t->window = gw_window_new(&t->pl->wconf, err, sizeof(err));

    return (t->window != NULL) ? 0 : -1;
}


void
proc_window_add(proc_run_t *r, json_t *e, json_t *rec, json_t *key)
{
    char             err[PROC_ERR_MAX];
    json_t          *v, *f;
    int64_t          tm;
    const char      *k;
    proc_task_t     *t;
    gw_window_rc_e   rc;

    t = r->task;
    f = json_object_get(e, "f");

    v = (t->pl->time != NULL) ? proc_json_ptr(rec, t->pl->time)
                              : json_object_get(f, "time");
    tm = (v != NULL) ? proc_json_time(v) : -1;

    if (tm < 0) {
        proc_dlq_add(t, e, "/window", 1, "no event time");
        return;
    }

    if (key == NULL) {
        key = json_object_get(f, "key");
    }

    k = (key != NULL) ? json_string_value(key) : "";

    rc = gw_window_add(t->window, k, (key != NULL) ? json_string_length(key)
                                                   : 0,
                       tm, rec, err, sizeof(err));

    switch (rc) {

    case GW_WINDOW_ADDED:
        gw_svc_metric_add(proc.m_events, 1, t->pl->name, "windowed");
        break;

    case GW_WINDOW_LATE:
        proc_late_add(t, e, rec);
        break;

    case GW_WINDOW_FAILED:
        proc_dlq_add(t, e, "/window", 1, err);
        break;

    default:
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "window: out of memory",
                   json_pack("{s:s}", "pipeline", t->pl->name));
        break;
    }
}


/*
 * After entry r->i's records: the windows its time closed, as records of
 * that entry (their ids, "<entry id>/<k>", are then the same on a
 * replay, whatever the batches).  0 or -1.
 */

int
proc_window_flush(proc_run_t *r, int64_t wm)
{
    size_t   i;
    json_t  *res, *rec;

    if (gw_window_watermark(r->task->window) == wm) {
        return 0;
    }

    res = json_array();
    if (res == NULL || gw_window_flush(r->task->window, res) != 0) {
        json_decref(res);
        return -1;
    }

    json_array_foreach(res, i, rec) {
        if (proc_run_out(r, rec) != 0) {
            json_decref(res);
            return -1;
        }
    }

    json_decref(res);

    return 0;
}


/*
 * At the end of a batch: the closed windows' results appended to the
 * records for the sinks (counted as the batch's last entry's), and the
 * state to commit with them.  0 or -1.
 */

int
proc_window_close(proc_run_t *r)
{
    size_t        i, n;
    json_t       *res, *rec;
    proc_task_t  *t;

    t = r->task;

    res = json_array();
    if (res == NULL || gw_window_flush(t->window, res) != 0) {
        json_decref(res);
        return -1;
    }

    n = json_array_size(r->entries);
    r->i = (n > 0) ? n - 1 : 0;

    json_array_foreach(res, i, rec) {
        if (proc_run_out(r, rec) != 0) {
            json_decref(res);
            return -1;
        }
    }

    r->i = n;
    json_decref(res);

    r->state = gw_window_save(t->window);

    return (r->state != NULL) ? 0 : -1;
}
