
/*
 * Copyright (C) Tollgate
 *
 * Parallel and Map (wf.h, phase fork): one child execution per branch
 * or item, "<id>.<slot>", each a hash of its own claimed and worked
 * like any execution, running the branch's or the item processor's
 * machine from its StartAt.  A child's end writes c:<slot> into the
 * parent ({"output"} or {"error", "cause"}), counts fdone and makes the
 * parent due; the parent, claimed, decides with the rules of
 * gw_asl_run_local: a Map without ToleratedFailure* (and a Parallel)
 * fails with the first failed child's error (the lowest slot among
 * those ended), a tolerant Map waits for every item, a failed item's
 * output being its {"Error", "Cause"}, and fails with
 * States.ExceedToleratedFailureThreshold past either threshold;
 * States.Runtime fails it, tolerated or not.  When the fork resolves,
 * its children's hashes are deleted (one still running is aborted so).
 *
 * At most MaxConcurrency children run at once, and a claim creates at
 * most batch of them, so a Map of many items is started a batch at a
 * time.  A parent claimed reads its whole hash (its items and every
 * c:<slot>): O(items) a claim, but children ending together wake it
 * once (one due entry), and a commit that ends a child or creates
 * some claims at once.  In test mode (mocks) children run one at a time in slot
 * order, so that results equal the local runner's.
 *
 * Fields of our own besides wf.h's: the parent's "tol" ({"pct",
 * "count"}, the Map's tolerances), the child's "pstate" and "pkind"
 * (the parent's state and "map" or "par", for the MapIteration events).
 */


#include <stdlib.h>
#include <string.h>

#include "wf_engine_int.h"


static int wf_fork_kids(wf_x_t *x, json_t *items, size_t from, size_t to,
    long long now);
static void wf_fork_clean(wf_x_t *x, size_t n);


void
wf_fork_start(wf_x_t *x)
{
    int            map;
    size_t         n, k, conc;
    json_t        *items, *outputs, *tol;
    long long      now;
    gw_asl_next_e  next;

    map = (x->st->type == GW_ASL_MAP);
    now = json_integer_value(json_object_get(x->c, "now"));

    items = json_incref(x->step.items);
    n = json_array_size(items);
    conc = x->mocks != NULL ? 1 : x->step.concurrency;

    if (map) {
        wf_x_event(x, "MapStateStarted", json_pack("{s:I}", "items",
                                                   (json_int_t) n));
    } else {
        wf_x_event(x, "ParallelStateStarted", NULL);
    }

    if (n == 0) {
        json_decref(items);
        wf_x_event(x, map ? "MapStateSucceeded" : "ParallelStateSucceeded",
                   NULL);

        outputs = json_array();
        next = gw_asl_resume(x->st, x->sin, x->ctx, outputs, &x->step);
        json_decref(outputs);
        wf_x_next(x, next);
        return;
    }

    k = n;
    if (conc > 0 && k > conc) {
        k = conc;
    }

    if (k > wf.batch) {
        k = wf.batch;
    }

    wf_x_set(x, "phase", WF_P_FORK);
    wf_x_setj(x, "items", items);
    wf_x_setn(x, "conc", (long long) conc);
    wf_x_setn(x, "fnext", (long long) k);
    wf_x_set(x, "fdone", "0");
    tol = json_pack("{s:f, s:I}", "pct", x->step.tolerated_pct, "count",
                    (json_int_t) x->step.tolerated_count);
    wf_x_setj(x, "tol", tol);
    json_decref(tol);

    if (wf_fork_kids(x, items, 0, k, now) != 0) {
        json_decref(items);
        wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME, "out of memory");
        return;
    }

    json_decref(items);

    /* more to start now (past the batch): due at once, else when a
     * child ends */
    json_object_set_new(x->c, "due",
                        json_integer(k < n && (conc == 0 || k < conc)
                                     ? now : -1));
    json_object_set_new(x->c, "fwait", json_integer(0));

    wf_x_commit(x, NULL);
}


/* the children from..to-1 of x, into the commit begun */

static int
wf_fork_kids(wf_x_t *x, json_t *items, size_t from, size_t to,
    long long now)
{
    int                map;
    char               id[WF_ID_MAX], slot[32], *s;
    size_t             i;
    json_t            *kids, *f, *item, *ctx;
    gw_asl_machine_t  *m;

    kids = json_object_get(x->c, "kids");
    if (kids == NULL) {
        kids = json_array();
        if (kids == NULL || json_object_set_new(x->c, "kids", kids) != 0) {
            return -1;
        }
    }

    map = (x->st->type == GW_ASL_MAP);
    x->kick = 1;

    for (i = from; i < to; i++) {
        m = map ? x->st->processor
                : (i < x->st->nbranches ? x->st->branches[i] : NULL);
        if (m == NULL || m->nstates == 0) {
            return -1;
        }

        if (snprintf(id, sizeof(id), "%s.%zu", x->id, i) >= (int) sizeof(id))
        {
            return -1;
        }

        snprintf(slot, sizeof(slot), "%zu", i);
        item = json_array_get(items, i);

        f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                      " s:s, s:s, s:s, s:s, s:s}",
                      "id", id, "root", x->root, "parent", x->id,
                      "slot", slot, "def", wf_x_str(x, "def"),
                      "ver", wf_x_str(x, "ver"), "machine", m->pointer,
                      "state", m->states[m->start].name,
                      "phase", WF_P_ENTER, "seq", "0",
                      "status", WF_RUNNING, "owner", wf_x_str(x, "owner"),
                      "tp", wf_x_str(x, "tp"), "pstate", x->st->name,
                      "pkind", map ? "map" : "par");
        if (f == NULL) {
            return -1;
        }

        /* the caller's token, sealed for the root: the same here */
        if (wf_x_str(x, "stok")[0] != '\0') {
            json_object_set_new(f, "stok", json_string(wf_x_str(x, "stok")));
        }

        s = wf_dump(item);
        json_object_set_new(f, "sin", json_string(s ? s : "null"));
        free(s);

        snprintf(slot, sizeof(slot), "%lld", now);
        json_object_set_new(f, "start", json_string(slot));
        json_object_set_new(f, "entered", json_string(slot));

        if (map) {
            ctx = json_pack("{s:I, s:O}", "Index", (json_int_t) i, "Value",
                            item);
            s = wf_dump(ctx);
            json_decref(ctx);
            json_object_set_new(f, "ctx", json_string(s ? s : "{}"));
            free(s);

            wf_x_event(x, "MapIterationStarted",
                       json_pack("{s:I}", "index", (json_int_t) i));
        }

        if (json_array_append_new(kids, json_pack("{s:s, s:o}", "id", id,
                                                  "f", f))
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* the parent claimed: start more children, or resolve */

void
wf_fork_claimed(wf_x_t *x)
{
    int            map, tolerant, fatal;
    char           field[48], fe[GW_ASL_ERROR_MAX], fc[GW_ASL_CAUSE_MAX];
    size_t         i, n, fnext, conc, done, failed, room;
    json_t        *items, *tol, *c, *outputs;
    long long      now;
    double         pct;
    json_int_t     count;
    const char    *s;
    json_error_t   jerr;
    gw_asl_next_e  next;

    map = (x->st->type == GW_ASL_MAP);

    items = json_loads(wf_x_str(x, "items"), WF_LOADS, &jerr);
    tol = json_loads(wf_x_str(x, "tol"), WF_LOADS, &jerr);
    n = json_array_size(items);
    fnext = (size_t) wf_x_int(x, "fnext");
    conc = (size_t) wf_x_int(x, "conc");
    pct = json_is_number(json_object_get(tol, "pct"))
          ? json_number_value(json_object_get(tol, "pct")) : -1;
    count = json_is_integer(json_object_get(tol, "count"))
            ? json_integer_value(json_object_get(tol, "count")) : -1;
    json_decref(tol);
    tolerant = map && (pct >= 0 || count >= 0);

    if (fnext > n) {
        fnext = n;
    }

    if (wf_x_begin(x) != 0) {
        json_decref(items);
        wf_x_finish(x);
        return;
    }

    now = json_integer_value(json_object_get(x->c, "now"));
    done = 0;
    failed = 0;
    fatal = 0;
    fe[0] = '\0';
    fc[0] = '\0';

    outputs = json_array();

    for (i = 0; i < fnext; i++) {
        snprintf(field, sizeof(field), "c:%zu", i);
        s = wf_x_str(x, field);

        if (s[0] == '\0') {
            json_array_append_new(outputs, json_null());
            continue;
        }

        done++;
        c = json_loads(s, WF_LOADS, &jerr);

        if (json_object_get(c, "error") == NULL) {
            json_array_append(outputs, json_object_get(c, "output")
                                       ? json_object_get(c, "output")
                                       : json_null());
            json_decref(c);
            continue;
        }

        if (failed++ == 0) {
            snprintf(fe, sizeof(fe), "%s",
                     json_string_value(json_object_get(c, "error")));
            snprintf(fc, sizeof(fc), "%s",
                     json_string_value(json_object_get(c, "cause")));
        }

        if (strcmp(json_string_value(json_object_get(c, "error")),
                   GW_ASL_E_RUNTIME) == 0)
        {
            fatal = 1;
            snprintf(fe, sizeof(fe), "%s", GW_ASL_E_RUNTIME);
            snprintf(fc, sizeof(fc), "%s",
                     json_string_value(json_object_get(c, "cause")));
        }

        json_array_append_new(outputs,
                              json_pack("{s:O?, s:O?}", "Error",
                                        json_object_get(c, "error"),
                                        "Cause",
                                        json_object_get(c, "cause")));
        json_decref(c);
    }

    if (failed > 0 && tolerant && !fatal && done == n && fnext == n) {
        if ((count >= 0 && (json_int_t) failed > count)
            || (pct >= 0 && (double) failed * 100 > pct * (double) n))
        {
            snprintf(fe, sizeof(fe), "%s", GW_ASL_E_EXCEED_TOLERATED);
            snprintf(fc, sizeof(fc), "%zu of the %zu items of the Map "
                     "\"%s\" failed", failed, n, x->st->name);
            fatal = 1;

        } else {
            failed = 0;
        }
    }

    if (failed > 0 && (!tolerant || fatal)) {
        wf_x_event(x, map ? "MapStateFailed" : "ParallelStateFailed",
                   json_pack("{s:s, s:s}", "error", fe, "cause", fc));
        wf_fork_clean(x, fnext);
        json_decref(items);
        json_decref(outputs);

        next = wf_x_fail(x, fe, fc);
        wf_x_next(x, next);
        return;
    }

    if (done == n && fnext == n) {
        wf_x_event(x, map ? "MapStateSucceeded" : "ParallelStateSucceeded",
                   NULL);
        wf_fork_clean(x, fnext);
        json_decref(items);

        next = gw_asl_resume(x->st, x->sin, x->ctx, outputs, &x->step);
        json_decref(outputs);
        wf_x_next(x, next);
        return;
    }

    json_decref(outputs);

    /* start more when MaxConcurrency allows, a batch at most */
    room = n - fnext;
    if (conc > 0) {
        room = conc > fnext - done ? conc - (fnext - done) : 0;
        if (room > n - fnext) {
            room = n - fnext;
        }
    }

    if (room > wf.batch) {
        room = wf.batch;
    }

    if (room > 0) {
        if (wf_fork_kids(x, items, fnext, fnext + room, now) != 0) {
            json_decref(items);
            wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME, "out of memory");
            return;
        }

        fnext += room;
        wf_x_setn(x, "fnext", (long long) fnext);
    }

    json_decref(items);

    json_object_set_new(x->c, "due",
                        json_integer(fnext < n && conc == 0 ? now : -1));
    json_object_set_new(x->c, "fwait", json_integer(wf_x_int(x, "fdone")));

    wf_x_commit(x, NULL);
}


/* the fork resolved: its children deleted, its fields gone */

static void
wf_fork_clean(wf_x_t *x, size_t n)
{
    char    field[48];
    size_t  i;

    json_object_set_new(x->c, "kill", json_pack("{s:i, s:I}", "from", 0,
                                                "to", (json_int_t) n));

    for (i = 0; i < n; i++) {
        snprintf(field, sizeof(field), "c:%zu", i);
        wf_x_del(x, field);
    }
}
