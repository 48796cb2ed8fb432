
/*
 * Copyright (C) Tollgate
 *
 * The push benchmark's load client, for scripts/bench-push.sh:
 *
 *     push_load -p PORT [-n CONNS] [-d SECONDS] [-r RATE] [-b BYTES]
 *               [-c CHANNEL] [-k API_KEY] [-s PER_SOURCE] [-j PROCS]
 *
 * CONNS (50000) EventSource subscribers of one channel (p.bench) at
 * 127.0.0.1:PORT/push/CHANNEL, their source addresses 127.0.0.2,
 * 127.0.0.3, ... PER_SOURCE (20000) connections each (bound before
 * connect, the port left to connect: IP_BIND_ADDRESS_NO_PORT), spread
 * over PROCS processes (the open-files limit is per process), each an
 * epoll loop of non-blocking sockets that opens at most 512 at a time.
 * Once every process has reported its connections, this process POSTs
 * RATE messages/s of BYTES bytes to 127.0.0.1:PORT/pub/CHANNEL for
 * SECONDS, each body starting "t=<publish time, us since the epoch>",
 * each POST on a thread of its own so that a slow answer does not delay
 * the next.
 * A subscriber that reads "data: t=<us>" records now - us; 10 s after
 * the last publish was answered the processes report their counts and latency
 * histograms (1 ms buckets), and this process prints the totals.  When
 * PUSH_LOAD_CONNECTED is set, it is run by system() once every
 * subscriber is connected, before the first publish (the bench script
 * reads memory there).
 */


#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>


#define PL_HIST_MS       30000      /* latencies kept per 1 ms, up to */
#define PL_OPENING_MAX   512        /* connections being opened at once */
#define PL_CONNECT_S     180        /* seconds for the connect phase */
#define PL_DRAIN_S       10         /* seconds after the last answer */
#define PL_PROCS_MAX     16

#define PL_CONNECTING    0
#define PL_HEADER        1
#define PL_STREAM        2
#define PL_DEAD          3


typedef struct {
    int                  fd;
    unsigned char        state;
    unsigned char        match;     /* bytes of "data: t=" matched */
    unsigned char        crlf;      /* bytes of "\r\n\r\n" matched */
    unsigned char        digits;
    long long            t;
} pl_conn_t;


typedef struct {
    long long            established;
    long long            failed;
} pl_connected_t;


typedef struct {
    long long            delivered;
    long long            max_us;
    long long            late;      /* beyond the histogram */
    long long            last_us;   /* the last delivery's time */
    unsigned             hist[PL_HIST_MS];
} pl_final_t;


static const char        pl_pattern[] = "data: t=";

static int               pl_port;
static const char       *pl_channel = "p.bench";
static const char       *pl_key;


static long long
pl_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


/* starts connection i: bound to its source address, connecting */
static int
pl_open(pl_conn_t *c, long long i, long long per_source, int ep)
{
    int                  fd, one;
    struct sockaddr_in   src, dst;
    struct epoll_event   ev;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }

    one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));

    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t) (i / per_source));

    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons(pl_port);
    dst.sin_addr.s_addr = htonl(0x7f000001);

    if (bind(fd, (struct sockaddr *) &src, sizeof(src)) != 0
        || (connect(fd, (struct sockaddr *) &dst, sizeof(dst)) != 0
            && errno != EINPROGRESS))
    {
        close(fd);
        return -1;
    }

    c->fd = fd;
    c->state = PL_CONNECTING;

    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;

    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return -1;
    }

    return 0;
}


/* feeds n bytes of a subscriber's stream; latencies into f */
static void
pl_feed(pl_conn_t *c, const char *p, size_t n, pl_final_t *f)
{
    long long  lat;

    for ( ; n > 0; p++, n--) {

        if (c->match == sizeof(pl_pattern) - 1) {
            if (*p >= '0' && *p <= '9' && c->digits < 18) {
                c->t = c->t * 10 + (*p - '0');
                c->digits++;
                continue;
            }

            if (c->digits > 0) {
                lat = pl_now_us() - c->t;
                lat = lat < 0 ? 0 : lat;
                f->delivered++;
                f->last_us = c->t + lat;
                f->max_us = lat > f->max_us ? lat : f->max_us;

                if (lat / 1000 < PL_HIST_MS) {
                    f->hist[lat / 1000]++;
                } else {
                    f->late++;
                }
            }

            c->match = 0;
            c->digits = 0;
            c->t = 0;
        }

        if (*p == pl_pattern[c->match]) {
            c->match++;
        } else {
            c->match = (*p == pl_pattern[0]) ? 1 : 0;
        }
    }
}


/*
 * One process's subscribers: connections first .. first + n - 1.
 * Reports pl_connected_t on out once every one is open or failed, then
 * pl_final_t once go (the parent's pipe) reaches its end.
 */
static int
pl_subscribers(long long first, long long n, long long per_source, int go,
    int out)
{
    int                  ep, k, m, opening;
    char                 req[512], buf[65536];
    ssize_t              r;
    long long            next, done, deadline;
    pl_conn_t           *conns, *c;
    pl_final_t          *f;
    pl_connected_t       rep;
    struct epoll_event   evs[256], ev;

    conns = calloc(n, sizeof(pl_conn_t));
    f = calloc(1, sizeof(pl_final_t));
    ep = epoll_create1(0);

    if (conns == NULL || f == NULL || ep < 0) {
        return 1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, go, &ev);

    snprintf(req, sizeof(req),
             "GET /push/%s HTTP/1.1\r\nHost: bench\r\n"
             "Accept: text/event-stream\r\n%s%s%s\r\n",
             pl_channel, pl_key ? "X-API-Key: " : "", pl_key ? pl_key : "",
             pl_key ? "\r\n" : "");

    memset(&rep, 0, sizeof(rep));
    next = 0;
    opening = 0;
    done = 0;
    deadline = pl_now_us() + PL_CONNECT_S * 1000000LL;

    for ( ;; ) {

        while (next < n && opening < PL_OPENING_MAX) {
            if (pl_open(&conns[next], first + next, per_source, ep) == 0) {
                opening++;
            } else {
                conns[next].state = PL_DEAD;
                rep.failed++;
            }
            next++;
        }

        if (!done && ((next == n && opening == 0)
                      || pl_now_us() > deadline))
        {
            done = 1;
            if (write(out, &rep, sizeof(rep)) != sizeof(rep)) {
                return 1;
            }
        }

        m = epoll_wait(ep, evs, 256, 10);

        for (k = 0; k < m; k++) {
            c = evs[k].data.ptr;

            if (c == NULL) {
                /* the parent closed go: report */
                if (write(out, f, sizeof(pl_final_t)) != sizeof(pl_final_t)) {
                    return 1;
                }
                return 0;
            }

            if (c->state == PL_CONNECTING) {
                if (evs[k].events & (EPOLLERR | EPOLLHUP)
                    || write(c->fd, req, strlen(req)) != (ssize_t) strlen(req))
                {
                    goto dead;
                }

                c->state = PL_HEADER;
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }

            r = read(c->fd, buf, sizeof(buf));

            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                goto dead;
            }

            if (c->state == PL_HEADER) {
                if (r < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0) {
                    goto dead;
                }

                c->state = PL_STREAM;
                opening--;
                rep.established++;
            }

            pl_feed(c, buf, r, f);
            continue;

        dead:

            if (c->state != PL_STREAM) {
                opening--;
                rep.failed++;
            }

            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->state = PL_DEAD;
        }
    }
}


/* one message: "t=<us> xxx..." of size bytes; the POST's status or -1 */
static int
pl_publish(size_t size)
{
    int                  fd, status;
    char                 head[256], *body, buf[4096];
    size_t               hl, len;
    ssize_t              r;
    struct timeval       tv = { 30, 0 };
    struct sockaddr_in   dst;

    body = malloc(size + 1);
    if (body == NULL) {
        return -1;
    }

    memset(body, 'x', size);
    len = snprintf(body, size + 1, "t=%lld ", pl_now_us());
    body[len] = ' ';

    hl = snprintf(head, sizeof(head),
                  "POST /pub/%s HTTP/1.0\r\nHost: bench\r\n"
                  "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
                  pl_channel, size);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    memset(&dst, 0, sizeof(dst));
    dst.sin_family = AF_INET;
    dst.sin_port = htons(pl_port);
    dst.sin_addr.s_addr = htonl(0x7f000001);

    status = -1;

    if (fd >= 0
        && connect(fd, (struct sockaddr *) &dst, sizeof(dst)) == 0
        && write(fd, head, hl) == (ssize_t) hl
        && write(fd, body, size) == (ssize_t) size
        && (r = read(fd, buf, sizeof(buf) - 1)) > 12)
    {
        buf[r] = '\0';
        status = atoi(buf + 9);
    }

    if (fd >= 0) {
        close(fd);
    }

    free(body);

    return status;
}


/* a publish on a thread of its own, so a slow answer delays no other */

static size_t            pl_bytes;
static long long         pl_pub_ok, pl_pub_err;
static int               pl_pub_last;   /* a failed one's status, or -1 */


static void *
pl_publisher(void *arg)
{
    int  st;

    st = pl_publish(pl_bytes);

    if (st >= 200 && st <= 299) {
        __atomic_add_fetch(&pl_pub_ok, 1, __ATOMIC_SEQ_CST);
    } else {
        __atomic_add_fetch(&pl_pub_err, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&pl_pub_last, st, __ATOMIC_SEQ_CST);
    }

    return NULL;
}


static void
pl_usage(void)
{
    fprintf(stderr, "usage: push_load -p PORT [-n CONNS] [-d SECONDS] "
            "[-r RATE] [-b BYTES] [-c CHANNEL] [-k KEY] [-s PER_SOURCE] "
            "[-j PROCS]\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int                  o, i, j, procs, go[2], res[PL_PROCS_MAX][2];
    long long            n, secs, rate, per, first, cnt, k, pub_ok, pub_err;
    long long            sum, p50, p99, t0, delay;
    size_t               bytes;
    double               elapsed;
    pthread_t           *threads;
    pl_final_t          *f, *all;
    pl_connected_t       rep, tot;
    const char          *hook;

    n = 50000;
    secs = 30;
    rate = 2;
    bytes = 1024;
    per = 20000;
    procs = 0;

    while ((o = getopt(argc, argv, "p:n:d:r:b:c:k:s:j:")) != -1) {
        switch (o) {
        case 'p': pl_port = atoi(optarg); break;
        case 'n': n = atoll(optarg); break;
        case 'd': secs = atoll(optarg); break;
        case 'r': rate = atoll(optarg); break;
        case 'b': bytes = (size_t) atoll(optarg); break;
        case 'c': pl_channel = optarg; break;
        case 'k': pl_key = optarg; break;
        case 's': per = atoll(optarg); break;
        case 'j': procs = atoi(optarg); break;
        default: pl_usage();
        }
    }

    if (pl_port == 0 || n < 1 || secs < 1 || rate < 1 || bytes < 32
        || per < 1 || procs > PL_PROCS_MAX)
    {
        pl_usage();
    }

    if (procs < 1) {
        procs = (int) ((n + 17999) / 18000);
        procs = procs > PL_PROCS_MAX ? PL_PROCS_MAX : procs;
    }

    signal(SIGPIPE, SIG_IGN);

    if (pipe(go) != 0) {
        return 1;
    }

    first = 0;

    for (i = 0; i < procs; i++) {
        cnt = n / procs + (i < n % procs ? 1 : 0);

        if (pipe(res[i]) != 0) {
            return 1;
        }

        if (fork() == 0) {
            close(go[1]);
            close(res[i][0]);
            _exit(pl_subscribers(first, cnt, per, go[0], res[i][1]));
        }

        close(res[i][1]);
        first += cnt;
    }

    close(go[0]);

    memset(&tot, 0, sizeof(tot));

    for (i = 0; i < procs; i++) {
        if (read(res[i][0], &rep, sizeof(rep)) != sizeof(rep)) {
            fprintf(stderr, "push_load: a subscriber process failed\n");
            return 1;
        }
        tot.established += rep.established;
        tot.failed += rep.failed;
    }

    printf("connections: %lld established, %lld failed (of %lld; %d "
           "processes, source addresses 127.0.0.2..127.0.0.%lld)\n",
           tot.established, tot.failed, n, procs, 1 + (n + per - 1) / per);
    fflush(stdout);

    hook = getenv("PUSH_LOAD_CONNECTED");
    if (hook != NULL && hook[0] != '\0' && system(hook) != 0) {
        fprintf(stderr, "push_load: PUSH_LOAD_CONNECTED failed\n");
    }

    pl_bytes = bytes;
    t0 = pl_now_us();

    threads = calloc(secs * rate, sizeof(pthread_t));
    if (threads == NULL) {
        return 1;
    }

    for (k = 0; k < secs * rate; k++) {
        delay = t0 + k * 1000000 / rate - pl_now_us();
        if (delay > 0) {
            usleep((useconds_t) delay);
        }

        if (pthread_create(&threads[k], NULL, pl_publisher, NULL) != 0) {
            pl_pub_err++;
            threads[k] = 0;
        }
    }

    for (k = 0; k < secs * rate; k++) {
        if (threads[k] != 0) {
            pthread_join(threads[k], NULL);
        }
    }

    pub_ok = pl_pub_ok;
    pub_err = pl_pub_err;
    elapsed = (pl_now_us() - t0) / 1e6;

    sleep(PL_DRAIN_S);
    close(go[1]);

    all = calloc(1, sizeof(pl_final_t));
    f = malloc(sizeof(pl_final_t));

    if (all == NULL || f == NULL) {
        return 1;
    }

    for (i = 0; i < procs; i++) {
        size_t  got = 0;

        while (got < sizeof(pl_final_t)) {
            ssize_t r = read(res[i][0], (char *) f + got,
                             sizeof(pl_final_t) - got);
            if (r <= 0) {
                fprintf(stderr, "push_load: no report from a process\n");
                return 1;
            }
            got += r;
        }

        all->delivered += f->delivered;
        all->late += f->late;
        all->max_us = f->max_us > all->max_us ? f->max_us : all->max_us;
        all->last_us = f->last_us > all->last_us ? f->last_us : all->last_us;

        for (j = 0; j < PL_HIST_MS; j++) {
            all->hist[j] += f->hist[j];
        }
    }

    while (wait3(NULL, 0, NULL) > 0) { /* void */ }

    p50 = -1;
    p99 = -1;
    sum = 0;

    for (j = 0; j < PL_HIST_MS; j++) {
        sum += all->hist[j];
        if (p50 < 0 && sum * 2 >= all->delivered) {
            p50 = j;
        }
        if (p99 < 0 && sum * 100 >= all->delivered * 99) {
            p99 = j;
        }
    }

    printf("published: %lld messages of %zu bytes, %lld/s for %lld s, the "
           "last answered after %.1f s (%lld failed", pub_ok, bytes,
           rate, secs, elapsed, pub_err);
    if (pub_err == 0) {
        printf(")\n");
    } else if (pl_pub_last < 0) {
        printf(": no answer within 30 s)\n");
    } else {
        printf(": status %d)\n", pl_pub_last);
    }

    /* messages/s: from the first publish to the last delivery */
    if (all->last_us > t0) {
        elapsed = (all->last_us - t0) / 1e6;
    }

    printf("delivered: %lld of %lld expected (%.2f%%), %.0f messages/s "
           "(first publish to last delivery: %.1f s)\n",
           all->delivered, pub_ok * tot.established,
           pub_ok * tot.established != 0
               ? 100.0 * all->delivered / (pub_ok * tot.established) : 0.0,
           all->delivered / elapsed, elapsed);
    printf("latency publish -> delivery: p50 %lld ms, p99 %s%lld ms, "
           "max %lld ms\n", p50, p99 < 0 ? ">" : "",
           p99 < 0 ? (long long) PL_HIST_MS : p99, all->max_us / 1000);
    printf("RESULT established=%lld failed=%lld delivered=%lld "
           "rate=%.0f p50_ms=%lld p99_ms=%lld max_ms=%lld\n",
           tot.established, tot.failed, all->delivered,
           all->delivered / elapsed, p50, p99, all->max_us / 1000);

    return 0;
}
