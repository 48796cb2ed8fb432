
/*
 * Copyright (C) Tollgate
 *
 * A task: one (pipeline, partition), run by the instance that holds its
 * lease (proc_lease.c).  Taking a task: the consumer group is created
 * (MKSTREAM), the exactly-once sinks give their stored positions (and
 * window state), every pending entry of the group on the stream is
 * claimed to this instance (XAUTOCLAIM from 0, whoever read it: the
 * previous owner is dead or gave the task up), our pending entries are
 * read again from id 0, then new ones.  Entries at or before the loaded
 * position were committed already: they are acknowledged, not run.
 *
 * One batch in flight per task: a read, its steps, the commit to every
 * sink, the XACK, then the next read.  Memory is bounded by the batch
 * size whatever the backlog; the backlog waits in Redis.
 *
 * The kit's one Redis connection carries every task's commands, so
 * reads never BLOCK on the server: a task that finds nothing waits
 * read_block on a timer and reads again.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


typedef struct {
    proc_task_t        *task;
    size_t              sink;
} proc_load_t;


static void proc_task_group_done(redisAsyncContext *ac, void *r,
    void *data);
static void proc_task_claim_done(redisAsyncContext *ac, void *r,
    void *data);
static void proc_task_read_done(redisAsyncContext *ac, void *r,
    void *data);
static void proc_task_loaded(void *data, proc_sink_rc_e rc,
    const char *position, json_t *state, const char *err);
static void proc_task_load(proc_task_t *t);
static void proc_task_timer(evutil_socket_t fd, short what, void *arg);
static void proc_task_ack_done(redisAsyncContext *ac, void *r, void *data);


void
proc_task_own(proc_task_t *t, int owned)
{
    if (owned && t->pl->retired) {
        return;                 /* a lease run answered after its end */
    }

    if (owned && !t->owned) {
        t->owned = 1;
        t->pl->owned++;
        t->phase = PROC_PHASE_GROUP;

        gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "task taken",
                   json_pack("{s:s, s:i}", "pipeline", t->pl->name,
                             "partition", (int) t->partition));
        proc_task_kick(t);

    } else if (!owned && t->owned) {
        /* a batch in flight ends (its commit is idempotent), no more */
        t->owned = 0;
        t->pl->owned--;
        t->phase = PROC_PHASE_OFF;

        gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "task given up",
                   json_pack("{s:s, s:i}", "pipeline", t->pl->name,
                             "partition", (int) t->partition));
    }
}


void
proc_task_wait(proc_task_t *t, long long ms)
{
    struct timeval  tv;

    if (t->timer == NULL) {
        t->timer = evtimer_new(proc.base, proc_task_timer, t);
        if (t->timer == NULL) {
            t->busy = 0;
            return;
        }
    }

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(t->timer, &tv);
}


static void
proc_task_timer(evutil_socket_t fd, short what, void *arg)
{
    proc_task_t  *t;

    t = arg;

    if (proc.stopped) {
        return;
    }

    if (t->run != NULL) {
        proc_run_continue(t->run);
        return;
    }

    t->busy = 0;
    proc_task_kick(t);
}


void
proc_task_kick(proc_task_t *t)
{
    int                 rc;
    long long           n;
    const char         *g;
    redisAsyncContext  *ac;

    if (proc.stopped || t->busy || !t->owned) {
        return;
    }

    ac = gw_svc_redis(proc.svc);
    if (ac == NULL) {
        t->phase = PROC_PHASE_GROUP;
        return;
    }

    g = t->pl->name;
    n = gw_svc_conf_int(proc.svc, "batch");

    switch (t->phase) {

    case PROC_PHASE_GROUP:
        rc = redisAsyncCommand(ac, proc_task_group_done, t,
                               "XGROUP CREATE %s %s 0 MKSTREAM", t->stream,
                               g);
        break;

    case PROC_PHASE_LOAD:
        proc_task_load(t);
        return;

    case PROC_PHASE_CLAIM:
        rc = redisAsyncCommand(ac, proc_task_claim_done, t,
                               "XAUTOCLAIM %s %s %s 0 %s COUNT %lld JUSTID",
                               t->stream, g, proc.instance, t->cursor, n);
        break;

    case PROC_PHASE_OWN:
        rc = redisAsyncCommand(ac, proc_task_read_done, t,
                               "XREADGROUP GROUP %s %s COUNT %lld "
                               "STREAMS %s %s", g, proc.instance, n,
                               t->stream, t->cursor);
        break;

    case PROC_PHASE_NEW:
        rc = redisAsyncCommand(ac, proc_task_read_done, t,
                               "XREADGROUP GROUP %s %s COUNT %lld "
                               "STREAMS %s >", g, proc.instance, n,
                               t->stream);
        break;

    default:
        return;
    }

    if (rc == REDIS_OK) {
        t->busy = 1;
    }
}


static void
proc_task_group_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply   *reply;
    proc_task_t  *t;

    reply = r;
    t = data;
    t->busy = 0;

    if (reply == NULL || proc.stopped) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "cannot create the group",
                   json_pack("{s:s, s:o}", "stream", t->stream, "error",
                             gw_svc_json_string(reply->str)));
        t->busy = 1;
        proc_task_wait(t, gw_svc_conf_int(proc.svc, "redis_retry"));
        return;
    }

    t->phase = PROC_PHASE_LOAD;
    proc_task_kick(t);
}


/* the positions of the exactly-once sinks, and the state of the first */

static void
proc_task_load(proc_task_t *t)
{
    char          err[PROC_ERR_MAX];
    size_t        i;
    proc_sink_t  *s;
    proc_load_t  *l;

    json_decref(t->state);
    t->state = NULL;
    t->loads = 0;
    t->load_failed = 0;
    t->min_pos[0] = '\0';
    t->busy = 1;

    if (t->sink_state == NULL && t->pl->nsinks > 0) {
        t->sink_state = calloc(t->pl->nsinks, sizeof(json_t *));
        if (t->sink_state == NULL) {
            proc_task_wait(t, gw_svc_conf_int(proc.svc, "redis_retry"));
            return;
        }
    }

    for (i = 0; i < t->pl->nsinks; i++) {
        s = t->pl->sinks[i];
        t->sink_pos[i][0] = '\0';
        json_decref(t->sink_state[i]);
        t->sink_state[i] = NULL;

        if (!proc_sink_positioned(s)) {
            continue;
        }

        l = malloc(sizeof(proc_load_t));
        if (l == NULL) {
            t->load_failed = 1;
            break;
        }

        l->task = t;
        l->sink = i;

        if (s->ops->load(s, t->partition, proc_task_loaded, l, err,
                         sizeof(err))
            != 0)
        {
            free(l);
            t->load_failed = 1;
            gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "cannot load a position",
                       json_pack("{s:s, s:i, s:o}", "pipeline", t->pl->name,
                                 "sink", (int) i, "error",
                                 gw_svc_json_string(err)));
            break;
        }

        t->loads++;
    }

    if (t->loads == 0) {
        if (!t->load_failed && proc_window_start(t) == 0) {
            t->phase = PROC_PHASE_CLAIM;
            strcpy(t->cursor, "0-0");
            t->busy = 0;
            proc_task_kick(t);
        } else {
            proc_task_wait(t, gw_svc_conf_int(proc.svc, "redis_retry"));
        }
    }
}


static void
proc_task_loaded(void *data, proc_sink_rc_e rc, const char *position,
    json_t *state, const char *err)
{
    size_t        i, from;
    proc_task_t  *t;
    proc_load_t  *l;

    l = data;
    t = l->task;

    if (rc != PROC_SINK_OK) {
        t->load_failed = 1;
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "cannot load a position",
                   json_pack("{s:s, s:i, s:o}", "pipeline", t->pl->name,
                             "sink", (int) l->sink, "error",
                             gw_svc_json_string(err ? err : "failed")));

    } else {
        if (position != NULL) {
            snprintf(t->sink_pos[l->sink], PROC_ID_MAX, "%s", position);
        }

        if (state != NULL) {
            t->sink_state[l->sink] = json_incref(state);
        }
    }

    free(l);

    if (--t->loads > 0) {
        return;
    }

    /*
     * Skip what every positioned sink has: the smallest position, and
     * resume the windows from the state stored with it (the first such
     * sink's), since the entries after it run again; a sink ahead gets
     * only the records of entries after its own (proc_commit.c).  When
     * one has no position, nothing is skipped and the state is that of
     * the smallest position stored (a sink added to a pipeline).
     */

    t->min_pos[0] = '\0';
    from = t->pl->nsinks;

    for (i = 0; !t->load_failed && i < t->pl->nsinks; i++) {
        if (!proc_sink_positioned(t->pl->sinks[i])
            || t->sink_pos[i][0] == '\0')
        {
            continue;
        }

        if (from == t->pl->nsinks
            || proc_pos_cmp(t->sink_pos[i], t->sink_pos[from]) < 0)
        {
            from = i;
        }
    }

    if (from < t->pl->nsinks) {
        strcpy(t->min_pos, t->sink_pos[from]);
        json_decref(t->state);
        t->state = json_incref(t->sink_state[from]);
    }

    for (i = 0; i < t->pl->nsinks; i++) {
        if (proc_sink_positioned(t->pl->sinks[i])
            && t->sink_pos[i][0] == '\0')
        {
            t->min_pos[0] = '\0';
        }

        json_decref(t->sink_state[i]);
        t->sink_state[i] = NULL;
    }

    if (t->load_failed || proc.stopped || proc_window_start(t) != 0) {
        proc_task_wait(t, gw_svc_conf_int(proc.svc, "redis_retry"));
        return;
    }

    t->phase = PROC_PHASE_CLAIM;
    strcpy(t->cursor, "0-0");
    t->busy = 0;
    proc_task_kick(t);
}


static void
proc_task_claim_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply   *reply;
    proc_task_t  *t;

    reply = r;
    t = data;
    t->busy = 0;

    if (reply == NULL || proc.stopped) {
        t->phase = PROC_PHASE_GROUP;
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "XAUTOCLAIM failed",
                   json_pack("{s:s, s:o}", "stream", t->stream, "error",
                             gw_svc_json_string(reply->type
                                                == REDIS_REPLY_ERROR
                                                ? reply->str : "reply")));
        t->phase = PROC_PHASE_GROUP;
        t->busy = 1;
        proc_task_wait(t, gw_svc_conf_int(proc.svc, "read_block"));
        return;
    }

    snprintf(t->cursor, sizeof(t->cursor), "%s", reply->element[0]->str);

    if (strcmp(t->cursor, "0-0") == 0) {
        t->phase = PROC_PHASE_OWN;
        strcpy(t->cursor, "0");
    }

    proc_task_kick(t);
}


static void
proc_task_read_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply   *reply, *entries;
    proc_task_t  *t;

    reply = r;
    t = data;
    t->busy = 0;

    if (reply == NULL || proc.stopped) {
        t->phase = PROC_PHASE_GROUP;
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "stream read failed",
                   json_pack("{s:s, s:o}", "stream", t->stream, "error",
                             gw_svc_json_string(reply->str)));
        t->phase = PROC_PHASE_GROUP;
        t->busy = 1;
        proc_task_wait(t, gw_svc_conf_int(proc.svc, "read_block"));
        return;
    }

    entries = NULL;

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_ARRAY
        && reply->element[0]->elements == 2
        && reply->element[0]->element[1]->type == REDIS_REPLY_ARRAY)
    {
        entries = reply->element[0]->element[1];
    }

    if (entries == NULL || entries->elements == 0) {
        if (t->phase == PROC_PHASE_OWN) {
            t->phase = PROC_PHASE_NEW;
            proc_task_kick(t);
            return;
        }

        if (!t->owned) {
            return;
        }

        t->busy = 1;
        proc_task_wait(t, gw_svc_conf_int(proc.svc, "read_block"));
        return;
    }

    t->run = proc_run_new(t, entries);

    if (t->run == NULL) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "out of memory", NULL);
        t->phase = PROC_PHASE_GROUP;
        t->busy = 1;
        proc_task_wait(t, gw_svc_conf_int(proc.svc, "read_block"));
        return;
    }

    t->busy = 1;
    proc_run_continue(t->run);
}


void
proc_task_batch_done(proc_task_t *t)
{
    size_t               i, n;
    size_t              *argl;
    json_t              *e;
    proc_run_t          *r;
    const char         **argv;
    redisAsyncContext   *ac;

    r = t->run;
    n = json_array_size(r->entries);
    ac = gw_svc_redis(proc.svc);

    argv = malloc((n + 3) * (sizeof(char *) + sizeof(size_t)));

    if (ac != NULL && argv != NULL && !proc.stopped) {
        argl = (size_t *) (argv + n + 3);
        argv[0] = "XACK";
        argv[1] = t->stream;
        argv[2] = t->pl->name;

        for (i = 0; i < 3; i++) {
            argl[i] = strlen(argv[i]);
        }

        json_array_foreach(r->entries, i, e) {
            argv[3 + i] = json_string_value(json_object_get(e, "id"));
            argl[3 + i] = strlen(argv[3 + i]);
        }

        redisAsyncCommandArgv(ac, proc_task_ack_done, t, (int) n + 3, argv,
                              argl);
    }

    free(argv);

    if (t->phase == PROC_PHASE_OWN) {
        snprintf(t->cursor, sizeof(t->cursor), "%s", r->last);
    }

    proc_run_free(r);
    t->run = NULL;
    t->busy = 0;
    t->side_lost = 0;

    proc_task_kick(t);
}


void
proc_task_redo(proc_task_t *t)
{
    gw_svc_log(proc.svc, GW_SVC_WARN, NULL,
               "a dead letter or late record may be lost: the batch runs "
               "again", json_pack("{s:s, s:i}", "pipeline", t->pl->name,
                                  "partition", (int) t->partition));

    proc_run_free(t->run);
    t->run = NULL;
    t->side_lost = 0;
    t->phase = PROC_PHASE_GROUP;
    t->busy = 1;

    proc_task_wait(t, gw_svc_conf_int(proc.svc, "redis_retry"));
}


static void
proc_task_ack_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply   *reply;
    proc_task_t  *t;

    reply = r;
    t = data;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "XACK failed",
                   json_pack("{s:s, s:o}", "stream", t->stream, "error",
                             gw_svc_json_string(reply->str)));
    }
}


void
proc_task_free(proc_task_t *t)
{
    size_t  i;

    if (t->timer != NULL) {
        event_free(t->timer);
        t->timer = NULL;
    }

    if (t->run != NULL) {
        proc_run_free(t->run);
        t->run = NULL;
    }

    json_decref(t->state);
    t->state = NULL;
    gw_window_free(t->window);
    t->window = NULL;
    free(t->sink_pos);
    t->sink_pos = NULL;

    for (i = 0; t->sink_state != NULL && i < t->pl->nsinks; i++) {
        json_decref(t->sink_state[i]);
    }

    free(t->sink_state);
    t->sink_state = NULL;
}
