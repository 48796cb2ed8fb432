
/*
 * Copyright (C) Tollgate
 *
 * The engine's loop (wf.h, "the engine"): claims what is due and works
 * each execution claimed, many at once, none behind another.
 *
 * A claim is one script (wf_script_claim): up to batch ids due by now,
 * rescored now + lease, each returned with its hash (and a child's
 * root's fields), so that working an execution starts without another
 * round trip.  Claims run on a timer every poll ms, at once when
 * wf_engine_kick() says something came due, and again at once while
 * they come back full; never more than inflight executions are worked
 * at once, and one claim is in flight at a time.
 *
 * An execution worked (wf_x_t) holds its claim until its work ends: a
 * chain of Pass and Choice states runs in memory, one commit per
 * transition, each commit rescoring its due entry now + lease, so the
 * claim stays fresh however long the chain.  A commit refused (its seq
 * moved on: stopped, claimed by another instance after a lost lease)
 * drops the work: whoever moved it on owns it now.
 *
 * Drain: claims stop, and the kit's stop is held while executions are
 * worked (tasks in flight finishing and committing), at most drain ms;
 * what still runs then is left to its lease.  A chain worked during a
 * drain stops after its next commit, which leaves it due at once for
 * another instance.
 */


#include <stdlib.h>
#include <string.h>

#include "wf_engine_int.h"


static void wf_engine_tick(evutil_socket_t fd, short what, void *data);
static void wf_engine_claim(void);
static void wf_engine_claimed(redisReply *r, void *data);
static void wf_engine_drained(evutil_socket_t fd, short what, void *data);
static wf_x_t *wf_x_new(redisReply *e);
static void wf_x_loaded(wf_def_t *def, const char *err, void *data);
static int wf_x_base(wf_x_t *x);


static struct event  *wf_poll_ev;
static struct event  *wf_kick_ev;
static struct event  *wf_drain_ev;
static unsigned       wf_working;
static int            wf_claiming;
static int            wf_backlog;       /* the last claim came back full */
static int            wf_held;


int
wf_engine_start(void)
{
    struct timeval  tv;

    wf_poll_ev = event_new(wf.base, -1, EV_PERSIST, wf_engine_tick, NULL);
    wf_kick_ev = evtimer_new(wf.base, wf_engine_tick, NULL);
    wf_drain_ev = evtimer_new(wf.base, wf_engine_drained, NULL);

    if (wf_poll_ev == NULL || wf_kick_ev == NULL || wf_drain_ev == NULL) {
        wf_engine_stop();
        return -1;
    }

    tv.tv_sec = wf.poll / 1000;
    tv.tv_usec = (wf.poll % 1000) * 1000;

    if (event_add(wf_poll_ev, &tv) != 0) {
        wf_engine_stop();
        return -1;
    }

    wf_engine_kick();

    return 0;
}


void
wf_engine_stop(void)
{
    if (wf_poll_ev != NULL) {
        event_free(wf_poll_ev);
        wf_poll_ev = NULL;
    }

    if (wf_kick_ev != NULL) {
        event_free(wf_kick_ev);
        wf_kick_ev = NULL;
    }

    if (wf_drain_ev != NULL) {
        event_free(wf_drain_ev);
        wf_drain_ev = NULL;
    }
}


void
wf_engine_kick(void)
{
    if (wf_kick_ev != NULL && !wf.stopped) {
        event_active(wf_kick_ev, EV_TIMEOUT, 0);
    }
}


void
wf_engine_drain(void)
{
    struct timeval  tv;

    wf.stopped = 1;

    if (wf_working == 0 || wf_held || wf_drain_ev == NULL) {
        return;
    }

    tv.tv_sec = wf.drain / 1000;
    tv.tv_usec = (wf.drain % 1000) * 1000;

    if (evtimer_add(wf_drain_ev, &tv) != 0) {
        return;
    }

    wf_held = 1;
    gw_svc_hold(wf.svc);
}


static void
wf_engine_drained(evutil_socket_t fd, short what, void *data)
{
    if (wf_held) {
        wf_held = 0;
        gw_svc_release(wf.svc);
    }
}


static void
wf_engine_tick(evutil_socket_t fd, short what, void *data)
{
    wf_engine_claim();
}


/* one claim, when there is room and none is in flight */

static void
wf_engine_claim(void)
{
    char        *text;
    size_t       len;
    unsigned     n;
    json_t      *a;
    const char  *argv[1];

    if (wf.stopped || wf_claiming || wf_working >= wf.inflight
        || gw_svc_redis(wf.svc) == NULL)
    {
        return;
    }

    n = wf.inflight - wf_working;
    if (n > wf.batch) {
        n = wf.batch;
    }

    a = json_pack("{s:I, s:I, s:I, s:I}", "now", (json_int_t) wf_now_ms(),
                  "lease", (json_int_t) wf.lease, "batch", (json_int_t) n,
                  "keep", (json_int_t) wf.keep);
    text = wf_dump(a);
    json_decref(a);

    if (text == NULL) {
        return;
    }

    argv[0] = text;
    len = strlen(text);

    if (gw_svc_eval(wf.svc, &wf_script_claim, 1, argv, &len,
                    wf_engine_claimed, (void *) (uintptr_t) n)
        == 0)
    {
        wf_claiming = 1;
    }

    free(text);
}


static void
wf_engine_claimed(redisReply *r, void *data)
{
    size_t    i;
    wf_x_t   *x;
    unsigned  asked;

    asked = (unsigned) (uintptr_t) data;
    wf_claiming = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        return;
    }

    wf_backlog = (r->elements >= asked);

    for (i = 0; i < r->elements; i++) {
        x = wf_x_new(r->element[i]);
        if (x == NULL) {
            continue;   /* its lease brings it back */
        }

        wf_working++;

        if (wf_m.running != NULL) {
            gw_svc_metric_set(wf_m.running, (double) wf_working);
        }

        wf_def_get(wf_x_str(x, "def"), wf_x_int(x, "ver"), wf_x_loaded, x);
    }

    if (wf_backlog) {
        wf_engine_kick();
    }
}


/* an execution claimed: [id, [field, value, ...], [root's fields]] */

static wf_x_t *
wf_x_new(redisReply *e)
{
    size_t       i, rl;
    wf_x_t      *x;
    json_t      *v;
    redisReply  *h, *ri, *f, *val;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 3
        || e->element[1]->type != REDIS_REPLY_ARRAY
        || e->element[2]->type != REDIS_REPLY_ARRAY)
    {
        return NULL;
    }

    x = calloc(1, sizeof(wf_x_t));
    if (x == NULL) {
        return NULL;
    }

    gw_asl_step_init(&x->step);

    x->h = json_object();
    x->rinfo = json_array();

    if (x->h == NULL || x->rinfo == NULL) {
        goto failed;
    }

    h = e->element[1];

    for (i = 0; i + 1 < h->elements; i += 2) {
        f = h->element[i];
        val = h->element[i + 1];

        if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        v = json_stringn(val->str, val->len);
        if (v == NULL || json_object_set_new(x->h, f->str, v) != 0) {
            goto failed;
        }
    }

    ri = e->element[2];

    for (i = 0; i < 6; i++) {
        val = i < ri->elements ? ri->element[i] : NULL;
        rl = (val != NULL && val->type == REDIS_REPLY_STRING) ? val->len : 0;
        v = json_stringn(rl ? val->str : "", rl);

        if (v == NULL || json_array_append_new(x->rinfo, v) != 0) {
            goto failed;
        }
    }

    x->id = wf_x_str(x, "id");
    x->root = wf_x_str(x, "root");
    x->seq = wf_x_int(x, "seq");

    if (x->id[0] == '\0') {
        goto failed;
    }

    if (x->root[0] == '\0') {
        x->root = x->id;
    }

    if (strcmp(x->root, x->id) != 0) {
        i = strlen(x->root);
        x->branch = strncmp(x->id, x->root, i) == 0 && x->id[i] == '.'
                    ? x->id + i + 1 : x->id;
    }

    return x;

failed:

    json_decref(x->h);
    json_decref(x->rinfo);
    free(x);

    return NULL;
}


const char *
wf_x_str(wf_x_t *x, const char *field)
{
    const char  *s;

    s = json_string_value(json_object_get(x->h, field));

    return s != NULL ? s : "";
}


long long
wf_x_int(wf_x_t *x, const char *field)
{
    return strtoll(wf_x_str(x, field), NULL, 10);
}


/* the root's fields: a child's from the claim, a top one's its own */

const char *
wf_x_rstr(wf_x_t *x, int i)
{
    static const char  *own[] = { "status", "mocks", "input", "name",
                                  "start", "redrives" };

    if (x->branch == NULL) {
        return wf_x_str(x, own[i]);
    }

    return json_string_value(json_array_get(x->rinfo, i));
}


/* the definition loaded: the place found, the phase worked */

static void
wf_x_loaded(wf_def_t *def, const char *err, void *data)
{
    wf_x_t       *x = data;
    json_t       *v;
    const char   *s;
    json_error_t  jerr;

    x->def = def;

    if (def == NULL) {
        /* gone or unparsable: it cannot run; else (the store down, out
         * of memory) the lease brings it back */
        if (err != NULL && (strstr(err, "no such") != NULL
                            || strstr(err, "parse") != NULL))
        {
            wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME,
                     "the execution's definition is gone");
            return;
        }

        wf_x_finish(x);
        return;
    }

    x->m = wf_def_machine(def, wf_x_str(x, "machine"));
    x->st = x->m != NULL ? gw_asl_state_find(x->m, wf_x_str(x, "state"))
                         : NULL;

    if (x->st == NULL) {
        wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME,
                 "the execution's state is not in its definition");
        return;
    }

    s = wf_x_str(x, "sin");
    x->sin = json_loads(s[0] ? s : "null", WF_LOADS, &jerr);
    x->entered = wf_x_int(x, "entered");

    s = wf_x_str(x, "retries");
    if (s[0] != '\0') {
        v = json_loads(s, WF_LOADS, &jerr);
        for (size_t i = 0; i < json_array_size(v) && i < GW_ASL_RETRIERS_MAX;
             i++)
        {
            x->retries[i] = (unsigned) json_integer_value(json_array_get(v,
                                                                         i));
        }
        json_decref(v);
    }

    s = wf_x_rstr(x, WF_RI_MOCKS);
    if (wf.mocks && s != NULL && s[0] != '\0') {
        x->mocks = json_loads(s, WF_LOADS, &jerr);
    }

    v = x->branch == NULL ? json_object_get(def->asl->root, "TimeoutSeconds")
                          : NULL;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        x->xdl = wf_x_int(x, "start") + json_integer_value(v) * 1000;
    }

    if (x->sin == NULL || wf_x_base(x) != 0) {
        wf_x_end(x, WF_FAILED, NULL, GW_ASL_E_RUNTIME,
                 "the execution's stored state does not load");
        return;
    }

    wf_x_run(x);
}


/* the context's parts that do not change from state to state */

static int
wf_x_base(wf_x_t *x)
{
    char          t[32], smid[WF_NAME_MAX + 32];
    json_t       *input, *item;
    const char   *s, *name;
    json_error_t  jerr;

    s = wf_x_rstr(x, WF_RI_INPUT);
    input = json_loads(s != NULL && s[0] ? s : "null", WF_LOADS, &jerr);
    if (input == NULL) {
        return -1;
    }

    wf_rfc3339(strtoll(wf_x_rstr(x, WF_RI_START), NULL, 10), t, sizeof(t));

    name = wf_x_rstr(x, WF_RI_NAME);
    if (name == NULL || name[0] == '\0') {
        name = x->root;
    }

    snprintf(smid, sizeof(smid), "%s:%lld", x->def->name, x->def->version);

    x->ctx = json_pack("{s:{s:s, s:o, s:s, s:s, s:I}, s:{s:s, s:s}}",
                       "Execution", "Id", x->root, "Input", input, "Name",
                       name, "StartTime", t, "RedriveCount",
                       (json_int_t) strtoll(wf_x_rstr(x, WF_RI_REDRIVES),
                                            NULL, 10),
                       "StateMachine", "Id", smid, "Name", x->def->name);
    if (x->ctx == NULL) {
        return -1;
    }

    s = wf_x_str(x, "ctx");
    if (s[0] != '\0') {
        item = json_loads(s, WF_LOADS, &jerr);
        if (item != NULL) {
            json_object_set_new(x->ctx, "Map", json_pack("{s:o}", "Item",
                                                         item));
        }
    }

    return 0;
}


/*
 * The context's State (and Task.Token for a callback task, the token of
 * the transition that will dispatch it: the seq after the next commit)
 * for x->st.
 */

int
wf_x_context(wf_x_t *x)
{
    char          t[32];
    size_t        i, len;
    unsigned      n;
    const char   *res;

    static const char  suffix[] = ".waitForTaskToken";

    wf_rfc3339(x->entered, t, sizeof(t));

    for (i = 0, n = 0; i < x->st->nretry && i < GW_ASL_RETRIERS_MAX; i++) {
        n += x->retries[i];
    }

    if (json_object_set_new(x->ctx, "State",
                            json_pack("{s:s, s:s, s:i}", "Name",
                                      x->st->name, "EnteredTime", t,
                                      "RetryCount", (int) n))
        != 0)
    {
        return -1;
    }

    json_object_del(x->ctx, "Task");
    x->token[0] = '\0';

    res = x->st->type == GW_ASL_TASK ? x->st->resource : NULL;
    len = res != NULL ? strlen(res) : 0;

    if (len > sizeof(suffix) - 1
        && strcmp(res + len - (sizeof(suffix) - 1), suffix) == 0)
    {
        if (wf_token(x->id, x->seq + 1, x->token) != 0) {
            return -1;
        }

        json_object_set_new(x->ctx, "Task", json_pack("{s:s}", "Token",
                                                      x->token));
    }

    return 0;
}


void
wf_x_finish(wf_x_t *x)
{
    wf_x_renew_stop(x);

    if (x->def != NULL) {
        wf_def_release(x->def);
    }

    json_decref(x->h);
    json_decref(x->rinfo);
    json_decref(x->mocks);
    json_decref(x->sin);
    json_decref(x->ctx);
    json_decref(x->c);
    free(x->text);
    gw_asl_step_free(&x->step);
    free(x);

    wf_working--;

    if (wf_m.running != NULL) {
        gw_svc_metric_set(wf_m.running, (double) wf_working);
    }

    if (wf.stopped) {
        if (wf_working == 0 && wf_held) {
            evtimer_del(wf_drain_ev);
            wf_held = 0;
            gw_svc_release(wf.svc);
        }

    } else if (wf_backlog) {
        wf_engine_kick();
    }
}
