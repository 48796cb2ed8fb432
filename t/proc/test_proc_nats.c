
/*
 * Copyright (C) Tollgate
 *
 * The driver of t/backends/076-processing-nats.t: runs the NATS
 * JetStream connectors (backends/processing/proc_sink_nats.c,
 * proc_nats_in.c) the way the processing engine does, and a few blocking
 * helpers to set up and look at a JetStream cluster.
 *
 *   check-sink JSON | check-in JSON     "ok", or the error (exit 1)
 *   sink JSON N BATCH [replay]          commits records {"i": 0..N-1} in
 *                                       batches, each FAIL batch again
 *                                       after 200 ms, with replay each
 *                                       batch twice; prints "ok K" after
 *                                       each batch, "done N fails F"
 *                                       at the end
 *   in JSON [CRASH_AFTER]               runs the inbound connector (a kit
 *                                       service: Redis from
 *                                       TOLLGATE_TEST_PROC_NATS_REDIS)
 *                                       until SIGTERM; kills itself
 *                                       (SIGKILL) after CRASH_AFTER
 *                                       batches were written, before
 *                                       their acknowledgements
 *   stream SERVERS NAME SUBJECT R       creates a stream of R replicas
 *   info SERVERS NAME                   "msgs N leader NAME"
 *   publish SERVERS SUBJECT M KEYS      M messages {"customer": "c<i %
 *                                       KEYS>", "n": i}, each acked
 *
 * SERVERS is a comma-separated list of URLs.
 */


#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <nats/nats.h>

#include "proc_nats.h"


typedef struct {
    struct event_base  *base;
    proc_sink_t        *sink;
    json_t             *records;
    json_t             *ids;
    long                n;
    long                batch;
    long                next;           /* the batch's first record */
    int                 replay;
    int                 again;          /* the replay of this batch */
    long                fails;
    int                 status;
    char                position[32];
} drv_sink_t;


static void drv_commit(evutil_socket_t fd, short what, void *arg);


static json_t *
drv_json(const char *text)
{
    json_t        *j;
    json_error_t   e;

    j = json_loads(text, 0, &e);
    if (j == NULL) {
        fprintf(stderr, "bad JSON: %s\n", e.text);
        exit(2);
    }

    return j;
}


static natsConnection *
drv_connect(const char *servers, jsCtx **js)
{
    int              n;
    char            *copy, *p, *list[16];
    natsStatus       s;
    natsOptions     *o;
    natsConnection  *nc;

    copy = strdup(servers);
    if (copy == NULL) {
        exit(2);
    }

    n = 0;
    for (p = strtok(copy, ","); p != NULL && n < 16; p = strtok(NULL, ",")) {
        list[n++] = p;
    }

    if (natsOptions_Create(&o) != NATS_OK
        || natsOptions_SetServers(o, (const char **) list, n) != NATS_OK
        || natsOptions_SetMaxReconnect(o, -1) != NATS_OK
        || natsOptions_SetReconnectWait(o, 100) != NATS_OK)
    {
        exit(2);
    }

    s = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    free(copy);

    if (s != NATS_OK || natsConnection_JetStream(js, nc, NULL) != NATS_OK) {
        fprintf(stderr, "connect: %s\n", natsStatus_GetText(s));
        exit(1);
    }

    return nc;
}


static void
drv_loaded(void *data, proc_sink_rc_e rc, const char *position,
    json_t *state, const char *err)
{
    if (rc != PROC_SINK_OK || position != NULL || state != NULL) {
        fprintf(stderr, "load: unexpected answer\n");
        exit(1);
    }

    printf("load null\n");
}


static void
drv_committed(void *data, proc_sink_rc_e rc, const char *err)
{
    struct timeval   tv;
    drv_sink_t      *d;

    d = data;
    tv.tv_sec = 0;
    tv.tv_usec = 0;

    if (rc == PROC_SINK_OK) {
        if (d->replay && !d->again) {
            d->again = 1;

        } else {
            d->again = 0;
            d->next += d->batch;
            printf("ok %ld\n", d->next);
        }

    } else {
        fprintf(stderr, "commit at %ld: %s\n", d->next,
                err != NULL ? err : "?");
        d->fails++;
        tv.tv_usec = 200000;
    }

    if (d->next >= d->n) {
        printf("done %ld fails %ld\n", d->n, d->fails);
        fflush(stdout);
        event_base_loopbreak(d->base);
        return;
    }

    event_base_once(d->base, -1, EV_TIMEOUT, drv_commit, d, &tv);
}


/* commits records next .. next + batch - 1, the same on every replay */
static void
drv_commit(evutil_socket_t fd, short what, void *arg)
{
    long           i, end;
    char           id[64], err[256];
    drv_sink_t    *d;
    proc_batch_t   b;

    d = arg;
    end = (d->next + d->batch < d->n) ? d->next + d->batch : d->n;

    json_array_clear(d->records);
    json_array_clear(d->ids);

    for (i = d->next; i < end; i++) {
        snprintf(id, sizeof(id), "%ld-0/0", 1000 + i);
        json_array_append_new(d->records, json_pack("{s:I}", "i",
                                                    (json_int_t) i));
        json_array_append_new(d->ids, json_string(id));
    }

    snprintf(d->position, sizeof(d->position), "%ld-0", 1000 + end - 1);

    b.partition = 0;
    b.position = d->position;
    b.records = d->records;
    b.state = NULL;
    /* every other batch without ids: the sink's own "<position>/<i>" */
    b.ids = ((d->next / d->batch) % 2 == 0) ? d->ids : NULL;

    if (d->sink->ops->commit(d->sink, &b, drv_committed, d, err,
                             sizeof(err)) != 0)
    {
        fprintf(stderr, "commit refused: %s\n", err);
        exit(1);
    }
}


static int
drv_sink(const char *conf, long n, long batch, int replay)
{
    char         err[256];
    json_t      *j;
    drv_sink_t   d;
    proc_env_t   env;

    memset(&d, 0, sizeof(d));
    d.base = event_base_new();
    d.n = n;
    d.batch = batch;
    d.replay = replay;
    d.records = json_array();
    d.ids = json_array();
    d.status = 0;

    env.base = d.base;
    env.svc = NULL;

    j = drv_json(conf);
    d.sink = proc_sink_nats_ops.create(&env, "p1", j, err, sizeof(err));
    json_decref(j);

    if (d.sink == NULL) {
        fprintf(stderr, "create: %s\n", err);
        return 1;
    }

    if (d.sink->ops->load(d.sink, 0, drv_loaded, &d, err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }

    drv_commit(-1, 0, &d);
    event_base_dispatch(d.base);

    d.sink->ops->free(d.sink);
    json_decref(d.records);
    json_decref(d.ids);
    event_base_free(d.base);

    return d.status;
}


static int
drv_check(const char *what, const char *conf)
{
    char                err[256];
    json_t             *j;
    proc_env_t          env;
    proc_sink_t        *s;
    proc_nats_in_t     *in;
    struct event_base  *base;

    base = event_base_new();
    env.base = base;
    env.svc = NULL;
    j = drv_json(conf);

    if (strcmp(what, "check-sink") == 0) {
        s = proc_sink_nats_ops.create(&env, "p1", j, err, sizeof(err));
        proc_sink_nats_ops.free(s);
        in = NULL;

    } else {
        in = proc_nats_in_start(&env, json_object_get(j, "nats_in"), err,
                                sizeof(err));
        s = (in != NULL) ? (proc_sink_t *) 1 : NULL;
        proc_nats_in_stop(in);
    }

    json_decref(j);
    event_base_free(base);

    printf("%s\n", s != NULL ? "ok" : err);

    return s != NULL ? 0 : 1;
}


typedef struct {
    json_t             *conf;
    proc_nats_in_t     *in;
    long                crash_after;
    long                batches;
} drv_in_t;


static void
drv_written(void *data, unsigned n, unsigned written)
{
    drv_in_t  *d;

    d = data;
    d->batches++;

    fprintf(stderr, "batch %ld: %u messages, %u written\n", d->batches, n,
            written);

    if (d->crash_after > 0 && d->batches >= d->crash_after) {
        /* written, not acknowledged: the restart must not write again */
        raise(SIGKILL);
    }
}


static void
drv_in_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    char         err[256];
    drv_in_t    *d;
    proc_env_t   env;

    d = data;
    env.base = base;
    env.svc = svc;

    d->in = proc_nats_in_start(&env, d->conf, err, sizeof(err));
    if (d->in == NULL) {
        fprintf(stderr, "start: %s\n", err);
        exit(1);
    }

    proc_nats_in_set_hook(d->in, drv_written, d);
}


static void
drv_in_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    drv_in_t  *d;

    d = data;
    proc_nats_in_stop(d->in);
    d->in = NULL;
}


static int
drv_in(const char *conf, long crash_after)
{
    int        rc;
    json_t    *j;
    drv_in_t   d;
    gw_svc_t  *svc;

    memset(&d, 0, sizeof(d));
    j = drv_json(conf);
    d.conf = json_object_get(j, "nats_in");
    d.crash_after = crash_after;

    svc = gw_svc_create("test-proc-nats", NULL);
    if (svc == NULL || gw_svc_configure(svc, NULL) != 0) {
        fprintf(stderr, "configure: %s\n",
                svc != NULL ? gw_svc_error(svc) : "?");
        return 2;
    }

    gw_svc_set_loop(svc, drv_in_start, drv_in_stop, &d);
    rc = gw_svc_run(svc);
    gw_svc_free(svc);
    json_decref(j);

    return rc == 0 ? 0 : 1;
}


static int
drv_stream(const char *servers, const char *name, const char *subject,
    int replicas)
{
    int              i;
    jsCtx           *js;
    jsErrCode        jerr;
    natsStatus       s;
    jsStreamInfo    *si;
    jsStreamConfig   cfg;
    natsConnection  *nc;

    nc = drv_connect(servers, &js);
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = &subject;
    cfg.SubjectsLen = 1;
    cfg.Replicas = replicas;
    cfg.Storage = js_FileStorage;

    /* the cluster elects its meta leader for a few seconds first */
    for (i = 0; i < 100; i++) {
        si = NULL;
        s = js_AddStream(&si, js, &cfg, NULL, &jerr);
        jsStreamInfo_Destroy(si);

        if (s == NATS_OK) {
            break;
        }

        usleep(300000);
    }

    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    if (s != NATS_OK) {
        fprintf(stderr, "stream: %s (%d)\n", natsStatus_GetText(s),
                (int) jerr);
        return 1;
    }

    printf("created\n");

    return 0;
}


static int
drv_info(const char *servers, const char *name)
{
    int              i;
    jsCtx           *js;
    jsErrCode        jerr;
    natsStatus       s;
    jsStreamInfo    *si;
    natsConnection  *nc;

    nc = drv_connect(servers, &js);

    for (i = 0; i < 50; i++) {
        si = NULL;
        s = js_GetStreamInfo(&si, js, name, NULL, &jerr);

        if (s == NATS_OK) {
            printf("msgs %" PRIu64 " leader %s\n", si->State.Msgs,
                   (si->Cluster != NULL && si->Cluster->Leader != NULL)
                   ? si->Cluster->Leader : "-");
            jsStreamInfo_Destroy(si);
            break;
        }

        usleep(200000);
    }

    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);

    return s == NATS_OK ? 0 : 1;
}


static int
drv_publish(const char *servers, const char *subject, long m, long keys)
{
    long             i;
    char             data[128];
    jsCtx           *js;
    jsErrCode        jerr;
    natsStatus       s;
    jsPubAck        *pa;
    natsConnection  *nc;

    nc = drv_connect(servers, &js);

    for (i = 0; i < m; i++) {
        snprintf(data, sizeof(data), "{\"customer\":\"c%ld\",\"n\":%ld}",
                 i % keys, i);

        do {
            pa = NULL;
            s = js_Publish(&pa, js, subject, data, (int) strlen(data), NULL,
                           &jerr);
            jsPubAck_Destroy(pa);
        } while (s != NATS_OK && usleep(100000) == 0);
    }

    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    printf("published %ld\n", m);

    return 0;
}


int
main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc == 3 && (strcmp(argv[1], "check-sink") == 0
                      || strcmp(argv[1], "check-in") == 0))
    {
        return drv_check(argv[1], argv[2]);
    }

    if ((argc == 5 || argc == 6) && strcmp(argv[1], "sink") == 0) {
        return drv_sink(argv[2], atol(argv[3]), atol(argv[4]),
                        argc == 6 && strcmp(argv[5], "replay") == 0);
    }

    if ((argc == 3 || argc == 4) && strcmp(argv[1], "in") == 0) {
        return drv_in(argv[2], argc == 4 ? atol(argv[3]) : 0);
    }

    if (argc == 6 && strcmp(argv[1], "stream") == 0) {
        return drv_stream(argv[2], argv[3], argv[4], atoi(argv[5]));
    }

    if (argc == 4 && strcmp(argv[1], "info") == 0) {
        return drv_info(argv[2], argv[3]);
    }

    if (argc == 6 && strcmp(argv[1], "publish") == 0) {
        return drv_publish(argv[2], argv[3], atol(argv[4]), atol(argv[5]));
    }

    fprintf(stderr, "usage: see the top of t/proc/test_proc_nats.c\n");

    return 2;
}
