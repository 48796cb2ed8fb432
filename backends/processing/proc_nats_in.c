
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
#include <zlib.h>

#include "proc_nats.h"
#include "proc_nats_int.h"


#define PROC_NATS_IN_FIELDS  8          /* script arguments per message */
#define PROC_NATS_RETRY      250        /* ms */


typedef struct {
    unsigned                p;
    char                    pstr[12];
    char                    seq[24];
    char                    time[24];
    char                   *data;
    size_t                  len;
    char                   *key;
    size_t                  key_len;
    char                   *rid;
    char                   *traceparent;
    char                   *ctype;
} proc_nats_rec_t;


typedef struct {
    proc_nats_item_t        item;       /* first: the pipe's item */
    proc_nats_in_t         *in;
    size_t                  n;
    proc_nats_rec_t        *recs;
} proc_nats_batch_t;


typedef struct {
    proc_nats_item_t        item;
    proc_nats_in_t         *in;
    char                    text[300];
} proc_nats_log_t;


/* a Redis call in flight: outlives a stop, which clears in */
typedef struct {
    proc_nats_in_t         *in;
    proc_nats_batch_t      *batch;      /* NULL: the position's read */
} proc_nats_req_t;


struct proc_nats_in_s {
    proc_env_t              env;
    proc_nats_servers_t     servers;
    char                   *stream;
    char                   *durable;
    char                   *subject;
    char                   *key_ptr;        /* or */
    char                   *key_header;
    char                   *hash;           /* gw:proc:nats-in:<durable> */
    char                  **topics;         /* gw:topic:<t>:<p> */
    unsigned                partitions;
    int                     batch_max;
    char                    maxlen[24];

    proc_nats_in_written_pt written;
    void                   *written_data;

    struct event           *timer;
    proc_nats_pipe_t       *pipe;
    proc_nats_req_t        *req;
    proc_nats_batch_t      *cur;            /* waiting for Redis */
    int                     warned;

    pthread_t               tid;
    int                     started;
    pthread_mutex_t         lock;
    pthread_cond_t          cond;
    int                     stop;
    int                     committed;
    uint64_t                start_seq;      /* committed: read at the
                                               start, then the thread's */

    /* the thread's own */
    natsConnection         *nc;
    jsCtx                  *js;
    natsSubscription       *sub;
    int                     thread_warned;
};


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


static int proc_nats_in_conf(proc_nats_in_t *in, json_t *conf, char *err,
    size_t errlen);
static char *proc_nats_in_str(json_t *conf, const char *name, int subject,
    char *err, size_t errlen);
static void proc_nats_in_timer(evutil_socket_t fd, short what, void *arg);
static void proc_nats_in_again(proc_nats_in_t *in, const char *why);
static void proc_nats_in_reply(redisAsyncContext *c, void *r, void *priv);
static void *proc_nats_in_thread(void *arg);
static int proc_nats_in_open(proc_nats_in_t *in, char *err, size_t errlen);
static proc_nats_batch_t *proc_nats_in_batch(proc_nats_in_t *in,
    natsMsgList *list);
static char *proc_nats_in_header(natsMsg *m, const char *name);
static void proc_nats_in_key(proc_nats_in_t *in, natsMsg *m,
    proc_nats_rec_t *rec);
static int proc_nats_in_pause(proc_nats_in_t *in, int ms);
static void proc_nats_in_warn(proc_nats_in_t *in, const char *text);
static void proc_nats_in_logged(proc_nats_item_t *item);
static void proc_nats_in_write(proc_nats_item_t *item);
static void proc_nats_in_drop(proc_nats_item_t *item);
static void proc_nats_batch_free(proc_nats_batch_t *b);


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


/* the members, each checked; err is "/nats_in/member: why" */
static int
proc_nats_in_conf(proc_nats_in_t *in, json_t *conf, char *err,
    size_t errlen)
{
    char         e[200];
    size_t       len;
    json_t      *v;
    unsigned     p;
    const char  *k, *topic, *h;

    if (!json_is_object(conf)) {
        snprintf(err, errlen, "/nats_in: must be an object");
        return -1;
    }

    json_object_foreach(conf, k, v) {
        if (strcmp(k, "servers") != 0 && strcmp(k, "stream") != 0
            && strcmp(k, "durable") != 0 && strcmp(k, "subject") != 0
            && strcmp(k, "topic") != 0 && strcmp(k, "partitions") != 0
            && strcmp(k, "key") != 0 && strcmp(k, "batch") != 0
            && strcmp(k, "maxlen") != 0)
        {
            snprintf(err, errlen, "/nats_in/%s: unknown member", k);
            return -1;
        }
    }

    if (proc_nats_servers_parse(conf, &in->servers, e, sizeof(e)) != 0) {
        snprintf(err, errlen, "/nats_in%s", e);
        return -1;
    }

    in->stream = proc_nats_in_str(conf, "stream", 0, err, errlen);
    if (in->stream == NULL) {
        return -1;
    }

    in->durable = proc_nats_in_str(conf, "durable", 0, err, errlen);
    if (in->durable == NULL) {
        return -1;
    }

    in->subject = proc_nats_in_str(conf, "subject", 1, err, errlen);
    if (in->subject == NULL) {
        return -1;
    }

    topic = json_string_value(json_object_get(conf, "topic"));
    if (topic == NULL || topic[0] == '\0' || strlen(topic) > 64
        || strpbrk(topic, ": \t\r\n") != NULL)
    {
        snprintf(err, errlen, "/nats_in/topic: must be a topic name");
        return -1;
    }

    v = json_object_get(conf, "partitions");
    if (!json_is_integer(v) || json_integer_value(v) < 1
        || json_integer_value(v) > 1024)
    {
        snprintf(err, errlen, "/nats_in/partitions: must be 1 to 1024");
        return -1;
    }

    in->partitions = (unsigned) json_integer_value(v);

    in->batch_max = 256;
    v = json_object_get(conf, "batch");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > 4096)
        {
            snprintf(err, errlen, "/nats_in/batch: must be 1 to 4096");
            return -1;
        }

        in->batch_max = (int) json_integer_value(v);
    }

    snprintf(in->maxlen, sizeof(in->maxlen), "1000000");
    v = json_object_get(conf, "maxlen");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1000) {
            snprintf(err, errlen, "/nats_in/maxlen: must be an integer "
                     "from 1000");
            return -1;
        }

        snprintf(in->maxlen, sizeof(in->maxlen), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
    }

    v = json_object_get(conf, "key");

    if (json_is_string(v)) {
        k = json_string_value(v);

        if (k[0] != '/' || strlen(k) > 255) {
            snprintf(err, errlen, "/nats_in/key: must be a JSON pointer "
                     "(\"/member\") or {\"header\": \"Name\"}");
            return -1;
        }

        in->key_ptr = strdup(k);
        if (in->key_ptr == NULL) {
            snprintf(err, errlen, "/nats_in: out of memory");
            return -1;
        }

    } else if (json_is_object(v)) {
        h = json_string_value(json_object_get(v, "header"));

        if (json_object_size(v) != 1 || h == NULL || h[0] == '\0'
            || strlen(h) > 64 || strpbrk(h, ": \t\r\n") != NULL)
        {
            snprintf(err, errlen, "/nats_in/key/header: must be a header "
                     "name");
            return -1;
        }

        in->key_header = strdup(h);
        if (in->key_header == NULL) {
            snprintf(err, errlen, "/nats_in: out of memory");
            return -1;
        }

    } else if (v != NULL) {
        snprintf(err, errlen, "/nats_in/key: must be a JSON pointer "
                 "(\"/member\") or {\"header\": \"Name\"}");
        return -1;
    }

    len = strlen(topic) + 32;

    in->hash = malloc(strlen(in->durable) + 32);
    in->topics = calloc(in->partitions, sizeof(char *));

    if (in->hash == NULL || in->topics == NULL) {
        snprintf(err, errlen, "/nats_in: out of memory");
        return -1;
    }

    snprintf(in->hash, strlen(in->durable) + 32, "gw:proc:nats-in:%s",
             in->durable);

    for (p = 0; p < in->partitions; p++) {
        in->topics[p] = malloc(len);
        if (in->topics[p] == NULL) {
            snprintf(err, errlen, "/nats_in: out of memory");
            return -1;
        }

        snprintf(in->topics[p], len, "gw:topic:%s:%u", topic, p);
    }

    return 0;
}


/* a copied string member: a name, or with subject a NATS subject */
static char *
proc_nats_in_str(json_t *conf, const char *name, int subject, char *err,
    size_t errlen)
{
    char        *copy;
    const char  *s;

    s = json_string_value(json_object_get(conf, name));

    if (s == NULL
        || (subject && !proc_nats_subject_ok(s, 1))
        || (!subject && (s[0] == '\0' || strlen(s) > 64
                         || strpbrk(s, " .*>/\\\t\r\n") != NULL)))
    {
        snprintf(err, errlen, "/nats_in/%s: must be a %s", name,
                 subject ? "NATS subject" : "JetStream name");
        return NULL;
    }

    copy = strdup(s);
    if (copy == NULL) {
        snprintf(err, errlen, "/nats_in/%s: out of memory", name);
    }

    return copy;
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


/* the batch's records: partition, fields, copies; NULL: out of memory */
static proc_nats_batch_t *
proc_nats_in_batch(proc_nats_in_t *in, natsMsgList *list)
{
    int                 i;
    natsMsg            *m;
    jsMsgMetaData      *meta;
    proc_nats_rec_t    *rec;
    proc_nats_batch_t  *b;

    b = calloc(1, sizeof(proc_nats_batch_t));
    if (b == NULL) {
        return NULL;
    }

    b->item.handler = proc_nats_in_write;
    b->in = in;

    b->recs = calloc(list->Count + 1, sizeof(proc_nats_rec_t));
    if (b->recs == NULL) {
        free(b);
        return NULL;
    }

    for (i = 0; i < list->Count; i++) {
        m = list->Msgs[i];
        rec = &b->recs[i];
        b->n = i + 1;

        if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            goto failed;
        }

        snprintf(rec->seq, sizeof(rec->seq), "%" PRIu64,
                 meta->Sequence.Stream);
        snprintf(rec->time, sizeof(rec->time), "%" PRId64,
                 meta->Timestamp / 1000000);
        jsMsgMetaData_Destroy(meta);

        rec->len = (size_t) natsMsg_GetDataLength(m);
        rec->data = malloc(rec->len + 1);
        if (rec->data == NULL) {
            goto failed;
        }

        memcpy(rec->data, natsMsg_GetData(m), rec->len);
        rec->data[rec->len] = '\0';

        rec->rid = proc_nats_in_header(m, "Nats-Msg-Id");
        rec->traceparent = proc_nats_in_header(m, "traceparent");
        rec->ctype = proc_nats_in_header(m, "Content-Type");
        proc_nats_in_key(in, m, rec);

        if (rec->rid == NULL || rec->traceparent == NULL
            || rec->ctype == NULL || rec->key == NULL)
        {
            goto failed;
        }

        rec->p = (unsigned) (crc32(0L, (const Bytef *) rec->key,
                                   (uInt) rec->key_len)
                             % in->partitions);
        snprintf(rec->pstr, sizeof(rec->pstr), "%u", rec->p);
    }

    return b;

failed:

    proc_nats_batch_free(b);

    return NULL;
}


/* a copy of the message's header, "" when absent; NULL: no memory */
static char *
proc_nats_in_header(natsMsg *m, const char *name)
{
    const char  *h;

    h = NULL;
    (void) natsMsgHeader_Get(m, name, &h);

    return strdup(h != NULL ? h : "");
}


/*
 * A message's key: the header's value, or the JSON pointer's value in
 * the payload (a string as it is, another value as compact JSON); empty
 * when absent, not JSON or not configured.  rec->key NULL: no memory.
 */
static void
proc_nats_in_key(proc_nats_in_t *in, natsMsg *m, proc_nats_rec_t *rec)
{
    json_t      *doc, *v;
    const char  *h;

    doc = NULL;
    rec->key = NULL;

    if (in->key_header != NULL) {
        h = NULL;
        (void) natsMsgHeader_Get(m, in->key_header, &h);
        rec->key = strdup(h != NULL ? h : "");

    } else if (in->key_ptr != NULL) {
        doc = json_loadb(rec->data, rec->len, JSON_DECODE_ANY, NULL);
        v = (doc != NULL) ? proc_nats_pointer(doc, in->key_ptr) : NULL;

        if (json_is_string(v)) {
            rec->key = malloc(json_string_length(v) + 1);
            if (rec->key != NULL) {
                rec->key_len = json_string_length(v);
                memcpy(rec->key, json_string_value(v), rec->key_len + 1);
            }

            json_decref(doc);
            return;
        }

        rec->key = (v != NULL) ? json_dumps(v, JSON_COMPACT
                                               | JSON_ENCODE_ANY)
                               : strdup("");
        json_decref(doc);

    } else {
        rec->key = strdup("");
    }

    rec->key_len = (rec->key != NULL) ? strlen(rec->key) : 0;
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


static void
proc_nats_batch_free(proc_nats_batch_t *b)
{
    size_t  k;

    if (b == NULL) {
        return;
    }

    for (k = 0; k < b->n; k++) {
        free(b->recs[k].data);
        free(b->recs[k].key);
        free(b->recs[k].rid);
        free(b->recs[k].traceparent);
        free(b->recs[k].ctype);
    }

    free(b->recs);
    free(b);
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
