
/*
 * Copyright (C) Tollgate
 *
 * The "nats" sink (docs/processing-nats.md): mirrors a pipeline's
 * records to a NATS JetStream stream.
 *
 *     {"type": "nats", "servers": ["nats://127.0.0.1:4222", ...],
 *      "subject": "orders.out", "stream": "ORDERS",
 *      "create": {"replicas": 3, "duplicate_window": 120000,
 *                 "storage": "file"},
 *      "timeout": 5000}
 *
 * A commit publishes every record (its compact JSON) asynchronously to
 * JetStream with the header Nats-Msg-Id, the record's dedupe id
 * "<pipeline>/<partition>/<id>" (id from the batch's ids, else
 * "<position>/<i>"), and answers PROC_SINK_OK only once JetStream
 * acknowledged every one of them (a PubAck, a duplicate's too), else
 * PROC_SINK_FAIL: the task commits the whole batch again, and
 * JetStream's duplicate window (the stream's "duplicate_window", 2
 * minutes by default) drops the messages it already stored.  Exactly
 * once within that window, at least once beyond it; there is no stored
 * position (load() answers NULL), so the task relies on its other sinks
 * or on the source's acknowledgements.
 *
 * The stream must exist, unless "create" is given: then a missing stream
 * is created with the subject, replicas, storage and window.
 *
 * Threads: the loop serializes a batch into a job and queues it; the
 * sink's thread connects when needed, publishes and waits for the
 * acknowledgements (nats.c delivers them on its own threads, counted
 * under the sink's lock), then hands the job back to the loop through
 * the pipe, where done() runs.  One batch is in flight at a time, so
 * acknowledgements are counted per batch; one whose wait timed out has
 * its pending messages taken back from nats.c before the next batch.
 */


#include <pthread.h>
#include <stdio.h>

#include "proc_nats_int.h"


#define PROC_NATS_ERR_LEN  256


typedef struct proc_sink_nats_s  proc_sink_nats_t;

typedef struct proc_nats_job_s   proc_nats_job_t;

struct proc_nats_job_s {
    proc_nats_item_t        item;       /* first: the pipe's item */
    proc_nats_job_t        *next;       /* in the sink's queue */
    proc_sink_nats_t       *sink;
    size_t                  n;
    char                  **data;       /* each record's JSON */
    char                  **ids;        /* each record's Nats-Msg-Id */
    proc_sink_done_pt       done;
    void                   *done_data;
    proc_sink_rc_e          rc;
    char                    err[PROC_NATS_ERR_LEN];
};


struct proc_sink_nats_s {
    proc_sink_t             sink;
    proc_env_t              env;
    char                   *pipeline;
    char                   *subject;
    char                   *stream;
    proc_nats_servers_t     servers;
    int                     create;
    int64_t                 replicas;
    int64_t                 window;     /* ms */
    int                     memory;
    int64_t                 timeout;    /* ms */

    pthread_t               tid;
    int                     started;
    pthread_mutex_t         lock;
    pthread_cond_t          cond;
    int                     stop;
    proc_nats_job_t        *head;
    proc_nats_job_t        *tail;
    proc_nats_pipe_t       *pipe;

    /* the thread's own, besides the counts under lock */
    natsConnection         *nc;
    jsCtx                  *js;
    int                     stream_ok;
    size_t                  acked;
    size_t                  failed;
    char                    ack_err[160];
};


static int proc_sink_nats_conf(proc_sink_nats_t *s, json_t *conf,
    char *err, size_t errlen);
static void *proc_sink_nats_thread(void *arg);
static void proc_sink_nats_run(proc_sink_nats_t *s, proc_nats_job_t *job);
static int proc_sink_nats_stream(proc_sink_nats_t *s, char *err,
    size_t errlen);
static void proc_sink_nats_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa,
    jsPubAckErr *pae, void *closure);
static void proc_sink_nats_loaded(proc_nats_item_t *item);
static void proc_sink_nats_done(proc_nats_item_t *item);
static void proc_sink_nats_job_free(proc_nats_job_t *job);
static void proc_sink_nats_drop(proc_nats_item_t *item);
static void proc_sink_nats_free(proc_sink_t *sink);


static proc_sink_t *
proc_sink_nats_create(const proc_env_t *env, const char *pipeline,
    json_t *conf, char *err, size_t errlen)
{
    proc_sink_nats_t  *s;

    s = calloc(1, sizeof(proc_sink_nats_t));
    if (s == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    s->sink.ops = &proc_sink_nats_ops;
    s->env = *env;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);

    if (proc_sink_nats_conf(s, conf, err, errlen) != 0) {
        proc_sink_nats_free(&s->sink);
        return NULL;
    }

    s->pipeline = strdup(pipeline);
    s->pipe = proc_nats_pipe_create(env->base);

    if (s->pipeline == NULL || s->pipe == NULL
        || pthread_create(&s->tid, NULL, proc_sink_nats_thread, s) != 0)
    {
        snprintf(err, errlen, ": out of resources");
        proc_sink_nats_free(&s->sink);
        return NULL;
    }

    s->started = 1;

    return &s->sink;
}


/* the members, each checked; err is "/member: why" */
static int
proc_sink_nats_conf(proc_sink_nats_t *s, json_t *conf, char *err,
    size_t errlen)
{
    json_t      *v, *c;
    const char  *k, *str;

    json_object_foreach(conf, k, v) {
        if (strcmp(k, "type") != 0 && strcmp(k, "servers") != 0
            && strcmp(k, "subject") != 0 && strcmp(k, "stream") != 0
            && strcmp(k, "create") != 0 && strcmp(k, "timeout") != 0)
        {
            snprintf(err, errlen, "/%s: unknown member", k);
            return -1;
        }
    }

    if (proc_nats_servers_parse(conf, &s->servers, err, errlen) != 0) {
        return -1;
    }

    str = json_string_value(json_object_get(conf, "subject"));
    if (str == NULL || !proc_nats_subject_ok(str, 0)) {
        snprintf(err, errlen, "/subject: must be a NATS subject without "
                 "wildcards");
        return -1;
    }

    s->subject = strdup(str);
    if (s->subject == NULL) {
        snprintf(err, errlen, ": out of memory");
        return -1;
    }

    str = json_string_value(json_object_get(conf, "stream"));
    if (str == NULL || str[0] == '\0' || strlen(str) > 64
        || strpbrk(str, " .*>/\\\t") != NULL)
    {
        snprintf(err, errlen, "/stream: must be a JetStream stream name");
        return -1;
    }

    s->stream = strdup(str);
    if (s->stream == NULL) {
        snprintf(err, errlen, ": out of memory");
        return -1;
    }

    s->timeout = 5000;
    v = json_object_get(conf, "timeout");

    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 100
            || json_integer_value(v) > 600000)
        {
            snprintf(err, errlen, "/timeout: must be milliseconds from 100 "
                     "to 600000");
            return -1;
        }

        s->timeout = json_integer_value(v);
    }

    c = json_object_get(conf, "create");
    if (c == NULL) {
        return 0;
    }

    if (!json_is_object(c)) {
        snprintf(err, errlen, "/create: must be an object");
        return -1;
    }

    s->create = 1;
    s->replicas = 1;
    s->window = 120000;

    json_object_foreach(c, k, v) {
        if (strcmp(k, "replicas") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > 5)
            {
                snprintf(err, errlen, "/create/replicas: must be 1 to 5");
                return -1;
            }

            s->replicas = json_integer_value(v);

        } else if (strcmp(k, "duplicate_window") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1000
                || json_integer_value(v) > 86400000)
            {
                snprintf(err, errlen, "/create/duplicate_window: must be "
                         "milliseconds from 1000 to 86400000");
                return -1;
            }

            s->window = json_integer_value(v);

        } else if (strcmp(k, "storage") == 0) {
            str = json_string_value(v);

            if (str == NULL
                || (strcmp(str, "file") != 0 && strcmp(str, "memory") != 0))
            {
                snprintf(err, errlen, "/create/storage: must be \"file\" "
                         "or \"memory\"");
                return -1;
            }

            s->memory = (strcmp(str, "memory") == 0);

        } else {
            snprintf(err, errlen, "/create/%s: unknown member", k);
            return -1;
        }
    }

    return 0;
}


typedef struct {
    proc_nats_item_t        item;
    proc_sink_loaded_pt     done;
    void                   *data;
} proc_sink_nats_load_t;


/*
 * Nothing is stored (the dedupe is JetStream's, per message): done()
 * gets position NULL from the loop, through the pipe as any answer.
 */
static int
proc_sink_nats_load(proc_sink_t *sink, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen)
{
    proc_sink_nats_t       *s;
    proc_sink_nats_load_t  *ld;

    s = (proc_sink_nats_t *) sink;

    ld = calloc(1, sizeof(proc_sink_nats_load_t));
    if (ld == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    ld->item.handler = proc_sink_nats_loaded;
    ld->done = done;
    ld->data = data;

    proc_nats_pipe_post(s->pipe, &ld->item);

    return 0;
}


static void
proc_sink_nats_loaded(proc_nats_item_t *item)
{
    proc_sink_nats_load_t  *ld;

    ld = (proc_sink_nats_load_t *) item;

    ld->done(ld->data, PROC_SINK_OK, NULL, NULL, NULL);

    free(ld);
}


/*
 * Copies the batch into a job (the records' JSON and their dedupe ids)
 * and queues it for the thread: 0, or -1 with err when out of memory or
 * a record cannot be serialized.
 */
static int
proc_sink_nats_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    int                i;
    char               id[512];
    size_t             k, n;
    const char        *rid;
    proc_nats_job_t   *job;
    proc_sink_nats_t  *s;

    s = (proc_sink_nats_t *) sink;
    n = json_array_size(b->records);

    job = calloc(1, sizeof(proc_nats_job_t));
    if (job == NULL) {
        goto nomem;
    }

    job->item.handler = proc_sink_nats_done;
    job->sink = s;
    job->done = done;
    job->done_data = data;

    job->data = calloc(n + 1, sizeof(char *));
    job->ids = calloc(n + 1, sizeof(char *));
    if (job->data == NULL || job->ids == NULL) {
        goto nomem;
    }

    for (k = 0; k < n; k++) {
        rid = json_string_value(json_array_get(b->ids, k));

        if (rid != NULL) {
            i = snprintf(id, sizeof(id), "%s/%u/%s", s->pipeline,
                         b->partition, rid);

        } else {
            i = snprintf(id, sizeof(id), "%s/%u/%s/%zu", s->pipeline,
                         b->partition, b->position, k);
        }

        if (i < 0 || (size_t) i >= sizeof(id)) {
            snprintf(err, errlen, "record %zu: its id is too long", k);
            proc_sink_nats_job_free(job);
            return -1;
        }

        job->ids[k] = strdup(id);
        job->data[k] = json_dumps(json_array_get(b->records, k),
                                  JSON_COMPACT | JSON_ENCODE_ANY);
        job->n = k + 1;

        if (job->ids[k] == NULL || job->data[k] == NULL) {
            goto nomem;
        }
    }

    pthread_mutex_lock(&s->lock);

    if (s->tail != NULL) {
        s->tail->next = job;

    } else {
        s->head = job;
    }

    s->tail = job;

    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");
    proc_sink_nats_job_free(job);

    return -1;
}


static void *
proc_sink_nats_thread(void *arg)
{
    proc_nats_job_t   *job;
    proc_sink_nats_t  *s;

    s = arg;

    for ( ;; ) {
        pthread_mutex_lock(&s->lock);

        while (!s->stop && s->head == NULL) {
            pthread_cond_wait(&s->cond, &s->lock);
        }

        if (s->stop) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }

        job = s->head;
        s->head = job->next;

        if (s->head == NULL) {
            s->tail = NULL;
        }

        pthread_mutex_unlock(&s->lock);

        proc_sink_nats_run(s, job);
        proc_nats_pipe_post(s->pipe, &job->item);
    }
}


/*
 * On the thread: connects and checks the stream when needed, publishes
 * the job's records and waits for their acknowledgements; sets job->rc
 * (PROC_SINK_OK or PROC_SINK_FAIL) and job->err.
 */
static void
proc_sink_nats_run(proc_sink_nats_t *s, proc_nats_job_t *job)
{
    size_t        k, acked, failed;
    natsMsg      *msg;
    natsStatus    st;
    jsPubOptions  po;
    natsMsgList   pending;

    job->rc = PROC_SINK_FAIL;

    if (s->nc == NULL
        && proc_nats_connect(&s->servers, s->pipeline, s->timeout,
                             proc_sink_nats_ack, s, &s->nc, &s->js,
                             job->err, sizeof(job->err)) != 0)
    {
        return;
    }

    if (!s->stream_ok
        && proc_sink_nats_stream(s, job->err, sizeof(job->err)) != 0)
    {
        return;
    }

    pthread_mutex_lock(&s->lock);
    s->acked = 0;
    s->failed = 0;
    s->ack_err[0] = '\0';
    pthread_mutex_unlock(&s->lock);

    for (k = 0; k < job->n; k++) {
        st = natsMsg_Create(&msg, s->subject, NULL, job->data[k],
                            (int) strlen(job->data[k]));
        if (st == NATS_OK) {
            st = natsMsgHeader_Set(msg, "Nats-Msg-Id", job->ids[k]);
            if (st == NATS_OK) {
                st = js_PublishMsgAsync(s->js, &msg, NULL);
            }

            natsMsg_Destroy(msg);
        }

        if (st != NATS_OK) {
            snprintf(job->err, sizeof(job->err), "nats: publish: %s",
                     natsStatus_GetText(st));
            break;
        }
    }

    jsPubOptions_Init(&po);
    po.MaxWait = s->timeout;

    st = js_PublishAsyncComplete(s->js, &po);

    if (st != NATS_OK) {
        /* take back what is still waiting: no late ack counts later */
        if (js_PublishAsyncGetPendingList(&pending, s->js) == NATS_OK) {
            natsMsgList_Destroy(&pending);
        }

        if (job->err[0] == '\0') {
            snprintf(job->err, sizeof(job->err), "nats: waiting for "
                     "acknowledgements: %s", natsStatus_GetText(st));
        }

        return;
    }

    if (k < job->n) {
        return;
    }

    pthread_mutex_lock(&s->lock);
    acked = s->acked;
    failed = s->failed;

    if (failed > 0) {
        snprintf(job->err, sizeof(job->err), "nats: %zu of %zu not "
                 "stored: %s", failed, job->n, s->ack_err);
    }

    pthread_mutex_unlock(&s->lock);

    if (failed == 0 && acked >= job->n) {
        job->rc = PROC_SINK_OK;

    } else if (failed == 0) {
        snprintf(job->err, sizeof(job->err), "nats: %zu of %zu "
                 "acknowledged", acked, job->n);
    }
}


/*
 * Checks that the stream exists, or creates it when "create" says so
 * (and another sink did not meanwhile): 0, or -1 with err.
 */
static int
proc_sink_nats_stream(proc_sink_nats_t *s, char *err, size_t errlen)
{
    jsErrCode        jerr;
    natsStatus       st;
    const char      *subjects[1];
    jsStreamInfo    *si;
    jsStreamConfig   cfg;

    si = NULL;
    jerr = 0;

    st = js_GetStreamInfo(&si, s->js, s->stream, NULL, &jerr);

    if (st == NATS_NOT_FOUND && s->create) {
        jsStreamConfig_Init(&cfg);
        subjects[0] = s->subject;
        cfg.Name = s->stream;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Replicas = s->replicas;
        cfg.Storage = s->memory ? js_MemoryStorage : js_FileStorage;
        cfg.Duplicates = s->window * 1000000;   /* nanoseconds */

        jerr = 0;
        st = js_AddStream(&si, s->js, &cfg, NULL, &jerr);

        if (st != NATS_OK && jerr == JSStreamNameExistErr) {
            st = NATS_OK;
        }
    }

    jsStreamInfo_Destroy(si);

    if (st != NATS_OK) {
        snprintf(err, errlen, "nats: stream \"%s\": %s (%d)", s->stream,
                 natsStatus_GetText(st), (int) jerr);
        return -1;
    }

    s->stream_ok = 1;

    return 0;
}


/* on a nats.c thread: counts one acknowledgement of the batch */
static void
proc_sink_nats_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
    void *closure)
{
    proc_sink_nats_t  *s;

    s = closure;

    pthread_mutex_lock(&s->lock);

    if (pa != NULL) {
        s->acked++;

    } else {
        s->failed++;

        if (pae != NULL && s->ack_err[0] == '\0') {
            snprintf(s->ack_err, sizeof(s->ack_err), "%s (%d)",
                     pae->ErrText != NULL ? pae->ErrText
                                          : natsStatus_GetText(pae->Err),
                     (int) pae->ErrCode);
        }
    }

    pthread_mutex_unlock(&s->lock);

    natsMsg_Destroy(msg);
}


/* on the loop: a job is back from the thread */
static void
proc_sink_nats_done(proc_nats_item_t *item)
{
    proc_nats_job_t  *job;

    job = (proc_nats_job_t *) item;

    job->done(job->done_data, job->rc,
              job->rc == PROC_SINK_OK ? NULL : job->err);

    proc_sink_nats_job_free(job);
}


static void
proc_sink_nats_job_free(proc_nats_job_t *job)
{
    size_t  k;

    if (job == NULL) {
        return;
    }

    for (k = 0; k < job->n; k++) {
        free(job->data[k]);
        free(job->ids[k]);
    }

    free(job->data);
    free(job->ids);
    free(job);
}


static void
proc_sink_nats_drop(proc_nats_item_t *item)
{
    if (item->handler == proc_sink_nats_loaded) {
        free(item);
        return;
    }

    proc_sink_nats_job_free((proc_nats_job_t *) item);
}


/*
 * Stops the thread (it finishes the batch in hand first: at most the
 * timeout), then frees every job without calling back, and the
 * connection.
 */
static void
proc_sink_nats_free(proc_sink_t *sink)
{
    proc_nats_job_t   *job, *next;
    proc_sink_nats_t  *s;

    if (sink == NULL) {
        return;
    }

    s = (proc_sink_nats_t *) sink;

    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->tid, NULL);
    }

    for (job = s->head; job != NULL; job = next) {
        next = job->next;
        proc_sink_nats_job_free(job);
    }

    proc_nats_pipe_free(s->pipe, proc_sink_nats_drop);

    jsCtx_Destroy(s->js);
    natsConnection_Destroy(s->nc);

    proc_nats_servers_free(&s->servers);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->pipeline);
    free(s->subject);
    free(s->stream);
    free(s);
}


const proc_sink_ops_t  proc_sink_nats_ops = {
    "nats", 1,
    proc_sink_nats_create,
    proc_sink_nats_load,
    proc_sink_nats_commit,
    proc_sink_nats_free
};
