
/*
 * Copyright (C) Tollgate
 *
 * The raw limit the processing service's benchmark is quoted against
 * (scripts/bench-processing.sh): a bare consumer-group loop on the same
 * stack as the service (hiredis' async client on libevent), with no
 * steps and no sink:
 *
 *     bench_drain HOST:PORT GROUP COUNT STREAM...
 *
 * For each stream, one batch in flight at a time, as the service's
 * tasks: XREADGROUP GROUP <group> bench COUNT <count> STREAMS <s> >, then
 * XACK of every id it gave, then the next read, until a read gives
 * nothing.  Prints "<events> <seconds> <events/s>".
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>


#define BD_COUNT_MAX  100000


typedef struct {
    const char          *stream;
    const char          *group;
    const char          *count;
    int                  done;
} bd_task_t;


static long long    bd_events;
static int          bd_left;
static int          bd_failed;


static void bd_read(redisAsyncContext *ac, bd_task_t *t);


static void
bd_finish(redisAsyncContext *ac, bd_task_t *t)
{
    t->done = 1;

    if (--bd_left == 0) {
        redisAsyncDisconnect(ac);
    }
}


static void
bd_acked(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply = r;
    bd_task_t   *t = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_drain: XACK %s: %s\n", t->stream,
                reply ? reply->str : "connection lost");
        bd_failed = 1;
        bd_finish(ac, t);
        return;
    }

    bd_read(ac, t);
}


static void
bd_got(redisAsyncContext *ac, void *r, void *data)
{
    size_t        i, n, argc;
    size_t       *argvlen;
    redisReply   *reply = r, *entries;
    bd_task_t    *t = data;
    const char  **argv;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_drain: XREADGROUP %s: %s\n", t->stream,
                reply ? reply->str : "connection lost");
        bd_failed = 1;
        bd_finish(ac, t);
        return;
    }

    /* nil: nothing new; else [[stream, [[id, [fields]], ...]]] */

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0
        || reply->element[0]->elements < 2)
    {
        bd_finish(ac, t);
        return;
    }

    entries = reply->element[0]->element[1];
    n = entries->elements;

    if (n == 0) {
        bd_finish(ac, t);
        return;
    }

    argv = malloc((n + 3) * (sizeof(char *) + sizeof(size_t)));
    if (argv == NULL) {
        fprintf(stderr, "bench_drain: out of memory\n");
        bd_failed = 1;
        bd_finish(ac, t);
        return;
    }

    argvlen = (size_t *) (argv + n + 3);
    argv[0] = "XACK";
    argv[1] = t->stream;
    argv[2] = t->group;
    argvlen[0] = 4;
    argvlen[1] = strlen(t->stream);
    argvlen[2] = strlen(t->group);
    argc = 3;

    for (i = 0; i < n; i++) {
        argv[argc] = entries->element[i]->element[0]->str;
        argvlen[argc] = entries->element[i]->element[0]->len;
        argc++;
    }

    bd_events += (long long) n;

    redisAsyncCommandArgv(ac, bd_acked, t, (int) argc, argv, argvlen);
    free(argv);
}


static void
bd_read(redisAsyncContext *ac, bd_task_t *t)
{
    redisAsyncCommand(ac, bd_got, t,
                      "XREADGROUP GROUP %s bench COUNT %s STREAMS %s >",
                      t->group, t->count, t->stream);
}


static double
bd_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int                  i, port, n;
    char                 host[256], *colon;
    double               t0, dt;
    bd_task_t           *tasks;
    struct event_base   *base;
    redisAsyncContext   *ac;

    if (argc < 5 || atoi(argv[3]) <= 0 || atoi(argv[3]) > BD_COUNT_MAX) {
        fprintf(stderr, "usage: bench_drain HOST:PORT GROUP COUNT"
                        " STREAM...\n");
        return 2;
    }

    colon = strrchr(argv[1], ':');

    if (colon == NULL || (size_t) (colon - argv[1]) >= sizeof(host)) {
        fprintf(stderr, "bench_drain: bad address \"%s\"\n", argv[1]);
        return 2;
    }

    memcpy(host, argv[1], colon - argv[1]);
    host[colon - argv[1]] = '\0';
    port = atoi(colon + 1);

    n = argc - 4;
    tasks = calloc(n, sizeof(bd_task_t));
    base = event_base_new();
    ac = redisAsyncConnect(host, port);

    if (tasks == NULL || base == NULL || ac == NULL || ac->err) {
        fprintf(stderr, "bench_drain: cannot start\n");
        return 1;
    }

    redisLibeventAttach(ac, base);

    t0 = bd_now();
    bd_left = n;

    for (i = 0; i < n; i++) {
        tasks[i].stream = argv[4 + i];
        tasks[i].group = argv[2];
        tasks[i].count = argv[3];
        bd_read(ac, &tasks[i]);
    }

    event_base_dispatch(base);

    dt = bd_now() - t0;

    printf("%lld %.3f %.0f\n", bd_events, dt,
           dt > 0 ? (double) bd_events / dt : 0.0);

    event_base_free(base);
    free(tasks);

    return bd_failed ? 1 : 0;
}
