
/*
 * Copyright (C) Tollgate
 *
 * The end-to-end latency of the processing service at a fixed offered
 * load, for scripts/bench-processing.sh:
 *
 *     bench_latency HOST:PORT RATE SECONDS IN_STREAM OUT_STREAM
 *
 * On one connection it XADDs RATE events per second for SECONDS to
 * IN_STREAM in the topic entry format (data, key, consumer, rid, time),
 * paced by a 1 ms timer (each tick sends what is due by then); each
 * event's data carries its send time, {"v": "<n>", "sent": <us>}, on
 * this process's monotonic clock.  On a second connection it reads
 * OUT_STREAM with XREAD BLOCK from the entries after the start and, for
 * every entry whose data holds a "sent" member, records arrival - sent.
 * It stops when every event came back, or when nothing came for 1 s
 * after the last send (a filter may drop some), and prints
 * "<sent> <received> <p50 ms> <p99 ms> <max ms>".
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>


#define BL_QUIET_US  1000000LL


typedef struct {
    const char          *in;
    const char          *out;
    long long            rate;
    long long            total;
    long long            sent;
    long long            got;
    long long            start;
    long long            last_send;
    long long            last_got;
    long long           *lat;
    char                 cursor[64];
    int                  failed;
    struct event_base   *base;
    struct event        *tick;
    redisAsyncContext   *wr;
    redisAsyncContext   *rd;
} bl_t;


static bl_t  bl;


static void bl_read(void);


static long long
bl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static void
bl_stop(void)
{
    event_base_loopbreak(bl.base);
}


static void
bl_added(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply = r;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_latency: XADD: %s\n",
                reply != NULL ? reply->str : "connection lost");
        bl.failed = 1;
        bl_stop();
    }
}


/* every ms: send the events due by now; then wait for the stragglers */

static void
bl_tick(evutil_socket_t fd, short what, void *arg)
{
    char             data[96], key[32], ms[32];
    long long        now, due;
    struct timespec  wall;

    now = bl_now();
    due = (now - bl.start) * bl.rate / 1000000;

    if (due > bl.total) {
        due = bl.total;
    }

    clock_gettime(CLOCK_REALTIME, &wall);
    snprintf(ms, sizeof(ms), "%lld",
             (long long) wall.tv_sec * 1000 + wall.tv_nsec / 1000000);

    while (bl.sent < due) {
        snprintf(data, sizeof(data), "{\"v\":\"%lld\",\"sent\":%lld}",
                 bl.sent, bl_now());
        snprintf(key, sizeof(key), "c%lld", bl.sent % 1000);

        redisAsyncCommand(bl.wr, bl_added, NULL,
                          "XADD %s * data %s key %s consumer %s rid r "
                          "time %s", bl.in, data, key, key, ms);
        bl.sent++;
        bl.last_send = bl_now();
    }

    if (bl.got >= bl.total
        || (bl.sent >= bl.total && now - bl.last_send > BL_QUIET_US
            && now - bl.last_got > BL_QUIET_US))
    {
        bl_stop();
    }
}


static void
bl_got(redisAsyncContext *ac, void *r, void *data)
{
    size_t        i, j;
    long long     now, sent;
    redisReply   *reply = r, *entries, *e, *f;
    const char   *p;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench_latency: XREAD: %s\n",
                reply != NULL ? reply->str : "connection lost");
        bl.failed = 1;
        bl_stop();
        return;
    }

    now = bl_now();

    /* nil on timeout; else [[stream, [[id, [field, value, ...]], ...]]] */

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->elements == 2)
    {
        entries = reply->element[0]->element[1];

        for (i = 0; i < entries->elements; i++) {
            e = entries->element[i];
            snprintf(bl.cursor, sizeof(bl.cursor), "%s", e->element[0]->str);
            f = e->element[1];

            for (j = 0; j + 1 < f->elements; j += 2) {
                if (strcmp(f->element[j]->str, "data") != 0) {
                    continue;
                }

                p = strstr(f->element[j + 1]->str, "\"sent\":");
                if (p == NULL) {
                    continue;
                }

                sent = atoll(p + 7);

                if (bl.got < bl.total) {
                    bl.lat[bl.got++] = now - sent;
                    bl.last_got = now;
                }
            }
        }
    }

    if (bl.got >= bl.total) {
        bl_stop();
        return;
    }

    bl_read();
}


static void
bl_read(void)
{
    redisAsyncCommand(bl.rd, bl_got, NULL,
                      "XREAD COUNT 1000 BLOCK 1000 STREAMS %s %s", bl.out,
                      bl.cursor);
}


static int
bl_cmp(const void *a, const void *b)
{
    long long  x = *(const long long *) a, y = *(const long long *) b;

    return (x > y) - (x < y);
}


static double
bl_pct(double p)
{
    size_t  i;

    if (bl.got == 0) {
        return 0;
    }

    i = (size_t) (p * (double) bl.got);
    if (i >= (size_t) bl.got) {
        i = bl.got - 1;
    }

    return (double) bl.lat[i] / 1000.0;
}


int
main(int argc, char **argv)
{
    int              port;
    char             host[256], *colon;
    long long        secs;
    struct timeval   ms = { 0, 1000 };
    struct timespec  wall;

    if (argc != 6 || atoll(argv[2]) <= 0 || atoll(argv[3]) <= 0) {
        fprintf(stderr, "usage: bench_latency HOST:PORT RATE SECONDS"
                        " IN_STREAM OUT_STREAM\n");
        return 2;
    }

    colon = strrchr(argv[1], ':');

    if (colon == NULL || (size_t) (colon - argv[1]) >= sizeof(host)) {
        fprintf(stderr, "bench_latency: bad address \"%s\"\n", argv[1]);
        return 2;
    }

    memcpy(host, argv[1], colon - argv[1]);
    host[colon - argv[1]] = '\0';
    port = atoi(colon + 1);

    bl.rate = atoll(argv[2]);
    secs = atoll(argv[3]);
    bl.total = bl.rate * secs;
    bl.in = argv[4];
    bl.out = argv[5];
    bl.lat = calloc(bl.total, sizeof(long long));
    bl.base = event_base_new();
    bl.wr = redisAsyncConnect(host, port);
    bl.rd = redisAsyncConnect(host, port);

    if (bl.lat == NULL || bl.base == NULL || bl.wr == NULL || bl.wr->err
        || bl.rd == NULL || bl.rd->err)
    {
        fprintf(stderr, "bench_latency: cannot start\n");
        return 1;
    }

    redisLibeventAttach(bl.wr, bl.base);
    redisLibeventAttach(bl.rd, bl.base);

    /* what the output stream holds now is not ours: read after it */

    clock_gettime(CLOCK_REALTIME, &wall);
    snprintf(bl.cursor, sizeof(bl.cursor), "%lld-0",
             (long long) wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
    bl_read();

    bl.tick = event_new(bl.base, -1, EV_PERSIST, bl_tick, NULL);
    if (bl.tick == NULL) {
        return 1;
    }

    bl.start = bl_now();
    event_add(bl.tick, &ms);
    event_base_dispatch(bl.base);

    qsort(bl.lat, bl.got, sizeof(long long), bl_cmp);

    printf("%lld %lld %.2f %.2f %.2f\n", bl.sent, bl.got, bl_pct(0.50),
           bl_pct(0.99), bl.got > 0 ? (double) bl.lat[bl.got - 1] / 1000.0
                                    : 0.0);

    return bl.failed ? 1 : 0;
}
