
/*
 * Copyright (C) Tollgate
 *
 * The inbound NATS JetStream connector (proc_nats.h): a durable pull
 * consumer on a JetStream stream whose messages become entries of the
 * topic's Redis streams, exactly once.
 *
 * Exactly once rests on two things.  First, one Redis script writes a
 * batch (an XADD per message into gw:topic:<t>:<p>) and records, in the
 * hash gw:proc:nats-in:<durable>, the highest JetStream stream sequence
 * written per partition (field "<p>") and overall (field "seq"); it
 * skips a message at or below its partition's sequence, so a batch
 * redelivered after a lost acknowledgement writes nothing twice.  The
 * messages are acknowledged to JetStream only after the script
 * succeeded.  Second, deliveries must come in stream order for that
 * rule to be right: a crashed run leaves messages delivered and not
 * acknowledged, which JetStream would redeliver only after their ack
 * wait, behind newer ones.  So at every start the connector reads "seq"
 * and makes the durable consumer again, starting at seq + 1: Redis holds
 * the committed position, the consumer is only the cursor.
 *
 * Threads: the loop reads the position and starts the connector's
 * thread, which connects, fetches a batch, computes each message's
 * partition and fields, hands the batch to the loop through the pipe and
 * waits; the loop runs the script (again after a pause while Redis is
 * down), then lets the thread acknowledge and fetch the next batch.
 */


#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "proc_nats_in_int.h"


#define PROC_NATS_IN_FIELDS  8          /* script arguments per message */
#define PROC_NATS_RETRY      250        /* ms */


static const char  proc_nats_in_script[] =
    "local h, cap, w, top = KEYS[1], ARGV[1], 0, 0\n"
    "local tops = nil\n"
    "for i = 2, #KEYS do\n"
    "  local a = 2 + (i - 2) * 8\n"
    "  local p, seq = ARGV[a], tonumber(ARGV[a + 1])\n"
    "  local last = tonumber(redis.call('HGET', h, p) or '0')\n"
    "  if seq > last then\n"
    "    redis.call('XADD', KEYS[i], 'MAXLEN', '~', cap, '*',\n"
    "      'data', ARGV[a + 2], 'key', ARGV[a + 3], 'consumer', '',\n"
    "      'rid', ARGV[a + 4], 'traceparent', ARGV[a + 5],\n"
    "      'time', ARGV[a + 6], 'ctype', ARGV[a + 7])\n"
    "    redis.call('HSET', h, p, ARGV[a + 1])\n"
    "    w = w + 1\n"
    "  end\n"
    "  if seq > top then top = seq; tops = ARGV[a + 1] end\n"
    "end\n"
    "local g = tonumber(redis.call('HGET', h, 'seq') or '0')\n"
    "if tops ~= nil and top > g then redis.call('HSET', h, 'seq', tops) end\n"
    "return w\n";


static void proc_nats_in_timer(evutil_socket_t fd, short what, void *arg);
static void proc_nats_in_again(proc_nats_in_t *in, const char *why);
static void proc_nats_in_reply(redisAsyncContext *c, void *r, void *priv);
static void *proc_nats_in_thread(void *arg);
static int proc_nats_in_open(proc_nats_in_t *in, char *err, size_t errlen);
static int proc_nats_in_pause(proc_nats_in_t *in, int ms);
static void proc_nats_in_warn(proc_nats_in_t *in, const char *text);
static void proc_nats_in_logged(proc_nats_item_t *item);
static void proc_nats_in_write(proc_nats_item_t *item);
static void proc_nats_in_drop(proc_nats_item_t *item);


proc_nats_in_t *
proc_nats_in_start(const proc_env_t *env, json_t *conf, char *err,
    size_t errlen)
{
    struct timeval   tv;
    proc_nats_in_t  *in;

    in = calloc(1, sizeof(proc_nats_in_t));
    if (in == NULL) {
        snprintf(err, errlen, "/nats_in: out of memory");
        return NULL;
    }

    in->env = *env;
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->cond, NULL);

    if (proc_nats_in_conf(in, conf, err, errlen) != 0) {
        proc_nats_in_stop(in);
        return NULL;
    }

    in->pipe = proc_nats_pipe_create(env->base);
    in->timer = evtimer_new(env->base, proc_nats_in_timer, in);

    if (in->pipe == NULL || in->timer == NULL) {
        snprintf(err, errlen, "/nats_in: out of resources");
        proc_nats_in_stop(in);
        return NULL;
    }

    /* the position is read from the loop, as it runs */
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    evtimer_add(in->timer, &tv);

    return in;
}


void
proc_nats_in_set_hook(proc_nats_in_t *in, proc_nats_in_written_pt written,
    void *data)
{
    in->written = written;
    in->written_data = data;
}


/*
 * The loop's own steps, again on the timer when Redis was down: reads
 * the committed position (before the thread starts), or runs the script
 * of the batch in hand.
 */
static void
proc_nats_in_timer(evutil_socket_t fd, short what, void *arg)
{
    int                 rc;
    char                nkeys[24];
    size_t              i, k, argc, *argvlen;
    const char        **argv;
    proc_nats_in_t     *in;
    proc_nats_req_t    *req;
    proc_nats_rec_t    *rec;
    redisAsyncContext  *ac;

    in = arg;
    ac = gw_svc_redis(in->env.svc);

    if (ac == NULL) {
        proc_nats_in_again(in, "Redis is down");
        return;
    }

    req = calloc(1, sizeof(proc_nats_req_t));
    if (req == NULL) {
        proc_nats_in_again(in, "out of memory");
        return;
    }

    req->in = in;
    req->batch = in->cur;

    if (in->cur == NULL) {
        rc = redisAsyncCommand(ac, proc_nats_in_reply, req, "HGET %s seq",
                               in->hash);
        goto sent;
    }

    argc = 5 + in->cur->n * (1 + PROC_NATS_IN_FIELDS);
    argv = calloc(argc, sizeof(char *));
    argvlen = calloc(argc, sizeof(size_t));

    if (argv == NULL || argvlen == NULL) {
        free(argv);
        free(argvlen);
        free(req);
        proc_nats_in_again(in, "out of memory");
        return;
    }

    snprintf(nkeys, sizeof(nkeys), "%zu", in->cur->n + 1);

    argv[0] = "EVAL";
    argv[1] = proc_nats_in_script;
    argv[2] = nkeys;
    argv[3] = in->hash;
    i = 4;

    for (k = 0; k < in->cur->n; k++) {
        argv[i++] = in->topics[in->cur->recs[k].p];
    }

    argv[i++] = in->maxlen;

    for (k = 0; k < in->cur->n; k++) {
        rec = &in->cur->recs[k];
        argv[i++] = rec->pstr;
        argv[i++] = rec->seq;
        argv[i] = rec->data;
        argvlen[i++] = rec->len;
        argv[i] = rec->key;
        argvlen[i++] = rec->key_len;
        argv[i++] = rec->rid;
        argv[i++] = rec->traceparent;
        argv[i++] = rec->time;
        argv[i++] = rec->ctype;
    }

    for (i = 0; i < argc; i++) {
        if (argvlen[i] == 0 && argv[i] != NULL) {
            argvlen[i] = strlen(argv[i]);
        }
    }

    rc = redisAsyncCommandArgv(ac, proc_nats_in_reply, req, (int) argc,
                               argv, argvlen);

    free(argv);
    free(argvlen);

sent:

    if (rc != REDIS_OK) {
        free(req);
        proc_nats_in_again(in, "Redis refused the command");
        return;
    }

    in->req = req;
}


/* the step failed for now: warns once, tries again after a pause */
static void
proc_nats_in_again(proc_nats_in_t *in, const char *why)
{
    struct timeval  tv;

    if (!in->warned) {
        in->warned = 1;
        gw_svc_log(in->env.svc, GW_SVC_WARN, NULL,
                   "nats-in: waiting for Redis",
                   json_pack("{s:s, s:s}", "connector", in->durable,
                             "error", why));
    }

    tv.tv_sec = 0;
    tv.tv_usec = PROC_NATS_RETRY * 1000;
    evtimer_add(in->timer, &tv);
}


/*
 * A Redis reply: the position read (the thread starts from it) or the
 * batch's script done (the thread acknowledges it).  After a stop it
 * only frees what the call held.
 */
static void
proc_nats_in_reply(redisAsyncContext *c, void *r, void *priv)
{
    redisReply       *reply;
    proc_nats_in_t   *in;
    proc_nats_req_t  *req;

    reply = r;
    req = priv;
    in = req->in;

    if (in == NULL) {
        proc_nats_batch_free(req->batch);
        free(req);
        return;
    }

    in->req = NULL;
    free(req);

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR
        || (in->cur == NULL && reply->type != REDIS_REPLY_STRING
            && reply->type != REDIS_REPLY_NIL)
        || (in->cur != NULL && reply->type != REDIS_REPLY_INTEGER))
    {
        proc_nats_in_again(in, (reply != NULL
                                && reply->type == REDIS_REPLY_ERROR)
                               ? reply->str : "no answer");
        return;
    }

    in->warned = 0;

    if (in->cur == NULL) {
        in->start_seq = (reply->type == REDIS_REPLY_STRING)
                        ? strtoull(reply->str, NULL, 10) : 0;

        if (pthread_create(&in->tid, NULL, proc_nats_in_thread, in) != 0) {
            proc_nats_in_again(in, "no thread");
            return;
        }

        in->started = 1;
        return;
    }

    if (in->written != NULL) {
        in->written(in->written_data, (unsigned) in->cur->n,
                    (unsigned) reply->integer);
    }

    proc_nats_batch_free(in->cur);
    in->cur = NULL;

    pthread_mutex_lock(&in->lock);
    in->committed = 1;
    pthread_cond_signal(&in->cond);
    pthread_mutex_unlock(&in->lock);
}


/* on the loop: a batch from the thread, to write */
static void
proc_nats_in_write(proc_nats_item_t *item)
{
    proc_nats_batch_t  *b;

    b = (proc_nats_batch_t *) item;

    b->in->cur = b;
    proc_nats_in_timer(-1, 0, b->in);
}


/*
 * The thread: (re)opens the consumer, fetches a batch, hands it to the
 * loop, waits for its script and acknowledges it; until the stop.
 */
static void *
proc_nats_in_thread(void *arg)
{
    int                 i, go;
    char                err[256];
    uint64_t            seq, b_last;
    natsStatus          st;
    jsErrCode           jerr;
    natsMsgList         list;
    proc_nats_in_t     *in;
    proc_nats_batch_t  *b;

    in = arg;

    while (!proc_nats_in_pause(in, 0)) {

        if (in->sub == NULL) {
            if (proc_nats_in_open(in, err, sizeof(err)) != 0) {
                proc_nats_in_warn(in, err);
                (void) proc_nats_in_pause(in, 500);
                continue;
            }
        }

        jerr = 0;
        st = natsSubscription_Fetch(&list, in->sub, in->batch_max, 1000,
                                    &jerr);

        if (st == NATS_TIMEOUT) {
            continue;
        }

        if (st != NATS_OK) {
            /* the consumer may be gone: made again from the position */
            snprintf(err, sizeof(err), "nats: fetch: %s (%d)",
                     natsStatus_GetText(st), (int) jerr);
            proc_nats_in_warn(in, err);
            natsSubscription_Destroy(in->sub);
            in->sub = NULL;
            (void) proc_nats_in_pause(in, PROC_NATS_RETRY);
            continue;
        }

        in->thread_warned = 0;

        b = proc_nats_in_batch(in, &list);
        if (b == NULL) {
            /* not acknowledged: redelivered after the ack wait */
            natsMsgList_Destroy(&list);
            proc_nats_in_warn(in, "out of memory");
            (void) proc_nats_in_pause(in, PROC_NATS_RETRY);
            continue;
        }

        b->item.handler = proc_nats_in_write;
        b_last = in->start_seq;

        for (i = 0; i < (int) b->n; i++) {
            seq = strtoull(b->recs[i].seq, NULL, 10);
            b_last = (seq > b_last) ? seq : b_last;
        }

        pthread_mutex_lock(&in->lock);
        in->committed = 0;
        pthread_mutex_unlock(&in->lock);

        proc_nats_pipe_post(in->pipe, &b->item);

        pthread_mutex_lock(&in->lock);

        while (!in->stop && !in->committed) {
            pthread_cond_wait(&in->cond, &in->lock);
        }

        go = in->committed;
        pthread_mutex_unlock(&in->lock);

        if (go) {
            /* committed: a consumer made again starts after these */
            in->start_seq = b_last;

            for (i = 0; i < list.Count; i++) {
                (void) natsMsg_Ack(list.Msgs[i], NULL);
            }
        }

        natsMsgList_Destroy(&list);
    }

    natsSubscription_Destroy(in->sub);
    jsCtx_Destroy(in->js);
    natsConnection_Destroy(in->nc);

    return NULL;
}


/*
 * Connects and makes the durable pull consumer again, delivering from
 * the committed position + 1 (see the top of the file): 0, or -1 with
 * err.
 */
static int
proc_nats_in_open(proc_nats_in_t *in, char *err, size_t errlen)
{
    jsErrCode     jerr;
    natsStatus    st;
    jsSubOptions  so;

    if (in->nc == NULL
        && proc_nats_connect(&in->servers, in->durable, 5000, NULL, NULL,
                             &in->nc, &in->js, err, errlen) != 0)
    {
        return -1;
    }

    jerr = 0;
    st = js_DeleteConsumer(in->js, in->stream, in->durable, NULL, &jerr);

    if (st != NATS_OK && st != NATS_NOT_FOUND) {
        snprintf(err, errlen, "nats: consumer \"%s\": %s (%d)",
                 in->durable, natsStatus_GetText(st), (int) jerr);
        return -1;
    }

    jsSubOptions_Init(&so);
    so.Stream = in->stream;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = (int64_t) 30 * 1000000000;
    so.Config.MaxAckPending = in->batch_max * 4;

    if (in->start_seq > 0) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = in->start_seq + 1;

    } else {
        so.Config.DeliverPolicy = js_DeliverAll;
    }

    jerr = 0;
    st = js_PullSubscribe(&in->sub, in->js, in->subject, in->durable, NULL,
                          &so, &jerr);

    if (st != NATS_OK) {
        in->sub = NULL;
        snprintf(err, errlen, "nats: consumer \"%s\" on \"%s\": %s (%d)",
                 in->durable, in->stream, natsStatus_GetText(st),
                 (int) jerr);
        return -1;
    }

    return 0;
}


/* on the thread: waits ms (0: not at all); 1 when stopping */
static int
proc_nats_in_pause(proc_nats_in_t *in, int ms)
{
    int              stop;
    struct timespec  ts;

    pthread_mutex_lock(&in->lock);

    if (ms > 0 && !in->stop) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long) (ms % 1000) * 1000000;

        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }

        (void) pthread_cond_timedwait(&in->cond, &in->lock, &ts);
    }

    stop = in->stop;
    pthread_mutex_unlock(&in->lock);

    return stop;
}


/* on the thread: a warning for the loop to log, once per outage */
static void
proc_nats_in_warn(proc_nats_in_t *in, const char *text)
{
    proc_nats_log_t  *l;

    if (in->thread_warned) {
        return;
    }

    l = calloc(1, sizeof(proc_nats_log_t));
    if (l == NULL) {
        return;
    }

    in->thread_warned = 1;
    l->item.handler = proc_nats_in_logged;
    l->in = in;
    snprintf(l->text, sizeof(l->text), "%s", text);

    proc_nats_pipe_post(in->pipe, &l->item);
}


static void
proc_nats_in_logged(proc_nats_item_t *item)
{
    proc_nats_log_t  *l;

    l = (proc_nats_log_t *) item;

    gw_svc_log(l->in->env.svc, GW_SVC_WARN, NULL, "nats-in: NATS failed",
               json_pack("{s:s, s:o}", "connector", l->in->durable,
                         "error", gw_svc_json_string(l->text)));
    free(l);
}


static void
proc_nats_in_drop(proc_nats_item_t *item)
{
    if (item->handler == proc_nats_in_write) {
        proc_nats_batch_free((proc_nats_batch_t *) item);
        return;
    }

    free(item);
}


void
proc_nats_in_stop(proc_nats_in_t *in)
{
    unsigned  p;

    if (in == NULL) {
        return;
    }

    if (in->started) {
        pthread_mutex_lock(&in->lock);
        in->stop = 1;
        pthread_cond_broadcast(&in->cond);
        pthread_mutex_unlock(&in->lock);
        pthread_join(in->tid, NULL);
    }

    if (in->req != NULL) {
        /* its reply frees the batch */
        in->req->in = NULL;
        in->cur = NULL;
    }

    proc_nats_batch_free(in->cur);

    if (in->timer != NULL) {
        event_free(in->timer);
    }

    proc_nats_pipe_free(in->pipe, proc_nats_in_drop);
    proc_nats_servers_free(&in->servers);

    if (in->topics != NULL) {
        for (p = 0; p < in->partitions; p++) {
            free(in->topics[p]);
        }
    }

    free(in->topics);
    free(in->hash);
    free(in->stream);
    free(in->durable);
    free(in->subject);
    free(in->key_ptr);
    free(in->key_header);
    pthread_mutex_destroy(&in->lock);
    pthread_cond_destroy(&in->cond);
    free(in);
}
