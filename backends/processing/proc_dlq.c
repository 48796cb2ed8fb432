
/*
 * Copyright (C) Tollgate
 *
 * Dead letters (gw:proc:<pipeline>:dlq) and late records
 * (gw:proc:<pipeline>:late): an entry's source fields as they were
 * (data, key, consumer, rid, traceparent, time, ctype), then ours:
 * error, attempts, step (the JSON pointer of the step in the pipeline
 * document, "/source" for an entry that is not a JSON object), source
 * (the stream) and source_id (the entry's id), failed_at (ms).  The
 * XADD is sent at once, before the batch's commit and XACK on the same
 * connection, so Redis runs it before the commit; one that could not be
 * sent, or whose reply was lost with the connection while the commit
 * failed too, has the whole batch run again (proc_task_redo).  After a
 * crash between the two it may be written twice: at least once.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


static void proc_dlq_done(redisAsyncContext *ac, void *r, void *data);


static int
proc_side_add(proc_task_t *t, const char *suffix, json_t *entry,
    json_t *more)
{
    int                  rc;
    char                 key[PROC_KEY_MAX], maxlen[24];
    size_t               n, i, *argl;
    json_t              *f, *v;
    const char          *k, **argv;
    redisAsyncContext   *ac;

    ac = gw_svc_redis(proc.svc);
    if (ac == NULL) {
        t->side_lost = 1;
        return -1;
    }

    f = json_object_get(entry, "f");
    n = 6 + 2 * (json_object_size(f) + json_object_size(more));

    argv = malloc(n * (sizeof(char *) + sizeof(size_t)));
    if (argv == NULL) {
        t->side_lost = 1;
        return -1;
    }

    argl = (size_t *) (argv + n);

    snprintf(key, sizeof(key), "gw:proc:%s:%s", t->pl->name, suffix);
    snprintf(maxlen, sizeof(maxlen), "%lld",
             gw_svc_conf_int(proc.svc, "dlq_maxlen"));

    i = 0;
    argv[i++] = "XADD";
    argv[i++] = key;
    argv[i++] = "MAXLEN";
    argv[i++] = "~";
    argv[i++] = maxlen;
    argv[i++] = "*";

    json_object_foreach(f, k, v) {
        argv[i++] = k;
        argv[i++] = json_string_value(v);
    }

    json_object_foreach(more, k, v) {
        argv[i++] = k;
        argv[i++] = json_string_value(v);
    }

    for (n = 0; n < i; n++) {
        argl[n] = strlen(argv[n]);
    }

    /* a source value may hold any byte: its own length */

    n = 6;

    json_object_foreach(f, k, v) {
        argl[n + 1] = json_string_length(v);
        n += 2;
    }

    rc = redisAsyncCommandArgv(ac, proc_dlq_done, t, (int) i, argv, argl);
    free(argv);

    if (rc != REDIS_OK) {
        t->side_lost = 1;
        return -1;
    }

    return 0;
}


void
proc_dlq_add(proc_task_t *t, json_t *entry, const char *step,
    unsigned attempts, const char *error)
{
    char     n[16], now[24];
    json_t  *more;

    snprintf(n, sizeof(n), "%u", attempts);
    snprintf(now, sizeof(now), "%lld", proc_now_ms());

    more = json_pack("{s:o, s:s, s:s, s:s, s:s, s:s}",
                     "error", gw_svc_json_string(error),
                     "attempts", n, "step", step, "source", t->stream,
                     "source_id",
                     json_string_value(json_object_get(entry, "id")),
                     "failed_at", now);

    gw_svc_metric_add(proc.m_events, 1, t->pl->name, "dlq");
    gw_svc_metric_add(proc.m_dlq, 1, t->pl->name);

    gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "dead letter",
               json_pack("{s:s, s:s, s:s, s:s, s:o}", "pipeline",
                         t->pl->name, "source", t->stream, "id",
                         json_string_value(json_object_get(entry, "id")),
                         "step", step, "error", gw_svc_json_string(error)));

    if (more == NULL || proc_side_add(t, "dlq", entry, more) != 0) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "cannot add a dead letter",
                   json_pack("{s:s, s:s}", "pipeline", t->pl->name, "id",
                             json_string_value(json_object_get(entry,
                                                               "id"))));
    }

    json_decref(more);
}


void
proc_late_add(proc_task_t *t, json_t *entry, json_t *rec)
{
    char    *txt;
    json_t  *more;

    txt = json_dumps(rec, JSON_COMPACT);
    more = json_pack("{s:s, s:s, s:s}", "record", txt ? txt : "{}",
                     "source", t->stream, "source_id",
                     json_string_value(json_object_get(entry, "id")));
    free(txt);

    gw_svc_metric_add(proc.m_events, 1, t->pl->name, "late");
    gw_svc_metric_add(proc.m_late, 1, t->pl->name);

    if (more == NULL || proc_side_add(t, "late", entry, more) != 0) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "cannot add a late record",
                   json_pack("{s:s}", "pipeline", t->pl->name));
    }

    json_decref(more);
}


static void
proc_dlq_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply   *reply;
    proc_task_t  *t;

    reply = r;
    t = data;

    if (reply == NULL) {
        t->side_lost = 1;

    } else if (reply->type == REDIS_REPLY_ERROR) {
        /* not written (Redis loading, out of memory...): run it again */
        t->side_lost = 1;
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "side stream XADD failed",
                   json_pack("{s:s, s:o}", "pipeline", t->pl->name,
                             "error", gw_svc_json_string(reply->str)));
    }
}
