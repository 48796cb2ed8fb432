
/*
 * Copyright (C) Tollgate
 *
 * The push benchmark's baseline, for scripts/bench-push.sh: the least
 * server that does nchan's part of the bench, to tell nchan's cost from
 * the machine's.
 *
 *     push_raw -p PORT [-w WORKERS]
 *
 * WORKERS (2) processes, each an epoll loop of non-blocking sockets on
 * its own SO_REUSEPORT listening socket of 127.0.0.1:PORT (all bound
 * before the first fork, so the kernel spreads connections over all of
 * them from the start).  A request is read up to its blank line:
 *
 *   GET /push/...   answered as nchan's EventSource subscriber does:
 *                   "200 OK", Content-Type text/event-stream, ": hi";
 *                   the connection then stays a subscriber;
 *   POST /pub/...   the body (Content-Length, up to PR_BODY_MAX bytes)
 *                   is sent as one datagram to every process, this one
 *                   included, over an AF_UNIX socket of each; answered
 *                   "202 Accepted" once sent, and closed;
 *   anything else   404, closed.
 *
 * A process receiving a message frames it as nchan does,
 * "id: <seconds>:<n>\ndata: <line>\n" per line of the body, then "\n",
 * and writes it to each of its subscribers.  What a full send buffer
 * does not take is queued on the connection (the frame shared, counted
 * by references) and written on EPOLLOUT; nothing blocks.  A subscriber
 * with PR_QUEUE_MAX frames queued loses the next ones: counted, and
 * printed with the other counts on stderr when the process ends
 * (SIGTERM or SIGINT to the first process stops all).
 */


#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>


#define PR_WORKERS_MAX   64
#define PR_HEAD_MAX      4096       /* bytes of a request's header */
#define PR_BODY_MAX      65536      /* bytes of a published message */
#define PR_QUEUE_MAX     1024       /* frames queued on a subscriber */

#define PR_REQUEST       0
#define PR_BODY          1
#define PR_SUBSCRIBER    2
#define PR_CLOSING       3          /* writing an answer, then closed */


typedef struct {
    int                  refs;
    size_t               len;
    char                 data[1];
} pr_frame_t;


typedef struct pr_out_s  pr_out_t;

struct pr_out_s {
    pr_out_t            *next;
    pr_frame_t          *frame;
    size_t               sent;
};


typedef struct pr_conn_s  pr_conn_t;

struct pr_conn_s {
    int                  fd;
    int                  state;
    pr_conn_t           *prev;      /* subscribers of the process */
    pr_conn_t           *next;
    pr_out_t            *head;      /* frames not yet written */
    pr_out_t            *tail;
    int                  queued;
    int                  out;       /* EPOLLOUT watched */
    size_t               len;       /* bytes in buf */
    size_t               size;      /* buf's size, less the final 0 */
    size_t               body;      /* bytes of the body expected */
    char                *buf;
};


static const char        pr_sub_header[] =
    "HTTP/1.1 200 OK\r\n"
    "Server: push_raw\r\n"
    "Content-Type: text/event-stream; charset=utf-8\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    ": hi\n\n";

static const char        pr_accepted[] =
    "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

static const char        pr_not_found[] =
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

static const char        pr_too_large[] =
    "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n"
    "Connection: close\r\n\r\n";

static int               pr_ep;
static int               pr_nworkers;
static int               pr_relay[PR_WORKERS_MAX][2];
static pr_conn_t        *pr_subscribers;
static volatile sig_atomic_t  pr_stop;

static long long         pr_nsubscribers, pr_peak, pr_messages, pr_frames;
static long long         pr_drops, pr_relay_errors;


static void
pr_on_signal(int signo)
{
    pr_stop = 1;
}


static void
pr_close(pr_conn_t *c)
{
    pr_out_t  *o;

    if (c->state == PR_SUBSCRIBER) {
        if (c->prev != NULL) {
            c->prev->next = c->next;
        } else {
            pr_subscribers = c->next;
        }

        if (c->next != NULL) {
            c->next->prev = c->prev;
        }

        pr_nsubscribers--;
    }

    while (c->head != NULL) {
        o = c->head;
        c->head = o->next;

        if (--o->frame->refs == 0) {
            free(o->frame);
        }

        free(o);
    }

    close(c->fd);
    free(c->buf);
    free(c);
}


/*
 * Writes what c has queued until the send buffer is full; watches
 * EPOLLOUT while anything is left.  -1: the connection is to be closed.
 */
static int
pr_flush(pr_conn_t *c)
{
    ssize_t              n;
    pr_out_t            *o;
    struct epoll_event   ev;

    while (c->head != NULL) {
        o = c->head;
        n = write(c->fd, o->frame->data + o->sent, o->frame->len - o->sent);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                break;
            }

            return -1;
        }

        o->sent += n;

        if (o->sent < o->frame->len) {
            continue;
        }

        c->head = o->next;
        if (c->head == NULL) {
            c->tail = NULL;
        }

        c->queued--;

        if (--o->frame->refs == 0) {
            free(o->frame);
        }

        free(o);
    }

    if (c->out != (c->head != NULL)) {
        c->out = (c->head != NULL);
        ev.events = EPOLLIN | (c->out ? EPOLLOUT : 0);
        ev.data.ptr = c;

        if (epoll_ctl(pr_ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
            return -1;
        }
    }

    if (c->head == NULL && c->state == PR_CLOSING) {
        return -1;
    }

    return 0;
}


/* queues frame f on c; 1 if it is dropped, -1 if c is to be closed */
static int
pr_send(pr_conn_t *c, pr_frame_t *f)
{
    pr_out_t  *o;

    if (c->queued >= PR_QUEUE_MAX) {
        return 1;
    }

    o = malloc(sizeof(pr_out_t));
    if (o == NULL) {
        return 1;
    }

    o->next = NULL;
    o->frame = f;
    o->sent = 0;
    f->refs++;

    if (c->tail != NULL) {
        c->tail->next = o;
    } else {
        c->head = o;
    }

    c->tail = o;
    c->queued++;

    /* with frames already waiting, EPOLLOUT writes this one after them */
    if (c->head != o) {
        return 0;
    }

    return pr_flush(c);
}


/* a frame holding a copy of data, no reference yet */
static pr_frame_t *
pr_frame(const char *data, size_t len)
{
    pr_frame_t  *f;

    f = malloc(sizeof(pr_frame_t) + len);
    if (f == NULL) {
        return NULL;
    }

    f->refs = 0;
    f->len = len;
    memcpy(f->data, data, len);

    return f;
}


/* writes a static response to c; closes c after it if last */
static int
pr_answer(pr_conn_t *c, const char *resp, size_t len, int last)
{
    int          rc;
    pr_frame_t  *f;

    f = pr_frame(resp, len);
    if (f == NULL) {
        return -1;
    }

    if (last) {
        c->state = PR_CLOSING;
    }

    /* once queued, f is freed when written or with c */
    rc = pr_send(c, f);

    if (rc == 1) {
        free(f);
        return -1;
    }

    return rc;
}


/* a message from the relay: framed, written to every subscriber */
static void
pr_broadcast(const char *body, size_t len)
{
    int                  rc;
    char                *p;
    size_t               n, i, start;
    pr_conn_t           *c, *next;
    pr_frame_t          *f;

    /* "data: " and "\n" per line, the id line, the final "\n" */
    n = 64;
    for (i = 0; i < len; i++) {
        n += (body[i] == '\n') ? 8 : 1;
    }
    n += 8;

    f = malloc(sizeof(pr_frame_t) + n);
    if (f == NULL) {
        pr_drops += pr_nsubscribers;
        return;
    }

    f->refs = 1;
    p = f->data;
    p += sprintf(p, "id: %lld:%lld\n", (long long) time(NULL), pr_messages);

    start = 0;
    for (i = 0; i <= len; i++) {
        if (i == len || body[i] == '\n') {
            memcpy(p, "data: ", 6);
            memcpy(p + 6, body + start, i - start);
            p += 6 + i - start;
            *p++ = '\n';
            start = i + 1;
        }
    }

    *p++ = '\n';
    f->len = p - f->data;
    pr_messages++;

    for (c = pr_subscribers; c != NULL; c = next) {
        next = c->next;
        rc = pr_send(c, f);

        if (rc == 1) {
            pr_drops++;

        } else if (rc == -1) {
            pr_close(c);

        } else {
            pr_frames++;
        }
    }

    if (--f->refs == 0) {
        free(f);
    }
}


/* the body of a POST: to every process, this one included, then 202 */
static int
pr_publish(pr_conn_t *c, const char *body)
{
    int  i;

    for (i = 0; i < pr_nworkers; i++) {
        /* blocking, but 2 datagrams a second never fill the socket */
        if (send(pr_relay[i][1], body, c->body, MSG_NOSIGNAL) < 0) {
            pr_relay_errors++;
        }
    }

    return pr_answer(c, pr_accepted, sizeof(pr_accepted) - 1, 1);
}


/* reads a request; -1: close c */
static int
pr_read(pr_conn_t *c)
{
    char     *end, *cl, *p;
    size_t    head;
    ssize_t   n;

    if (c->state == PR_SUBSCRIBER || c->state == PR_CLOSING) {
        char  sink[4096];

        n = read(c->fd, sink, sizeof(sink));

        return (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
               ? -1 : 0;
    }

    n = read(c->fd, c->buf + c->len, c->size - c->len);

    if (n <= 0) {
        return (n < 0 && (errno == EAGAIN || errno == EINTR)) ? 0 : -1;
    }

    c->len += n;
    c->buf[c->len] = '\0';

    end = strstr(c->buf, "\r\n\r\n");

    if (end == NULL) {
        if (c->len >= PR_HEAD_MAX) {
            return pr_answer(c, pr_too_large, sizeof(pr_too_large) - 1, 1);
        }
        return 0;
    }

    head = end + 4 - c->buf;

    if (strncmp(c->buf, "GET /push/", 10) == 0) {
        c->state = PR_SUBSCRIBER;
        c->prev = NULL;
        c->next = pr_subscribers;
        if (pr_subscribers != NULL) {
            pr_subscribers->prev = c;
        }
        pr_subscribers = c;
        pr_nsubscribers++;
        pr_peak = pr_nsubscribers > pr_peak ? pr_nsubscribers : pr_peak;

        free(c->buf);
        c->buf = NULL;

        return pr_answer(c, pr_sub_header, sizeof(pr_sub_header) - 1, 0);
    }

    if (strncmp(c->buf, "POST /pub/", 10) != 0) {
        return pr_answer(c, pr_not_found, sizeof(pr_not_found) - 1, 1);
    }

    cl = strcasestr(c->buf, "\r\nContent-Length:");
    if (cl == NULL || cl > end) {
        return pr_answer(c, pr_not_found, sizeof(pr_not_found) - 1, 1);
    }

    c->body = strtoul(cl + 17, NULL, 10);
    if (c->body > PR_BODY_MAX) {
        return pr_answer(c, pr_too_large, sizeof(pr_too_large) - 1, 1);
    }

    if (c->state != PR_BODY) {
        c->state = PR_BODY;
        /* what came after the body is ignored, but kept */
        c->size = head + c->body > c->len ? head + c->body : c->len;

        p = realloc(c->buf, c->size + 1);
        if (p == NULL) {
            return -1;
        }

        c->buf = p;
    }

    if (c->len - head < c->body) {
        return 0;
    }

    return pr_publish(c, c->buf + head);
}


/* process self's loop: its listening socket ls, its relay socket */
static int
pr_worker(int self, int ls)
{
    int                  relay_in;
    int                  fd, k, m;
    char                *msg;
    ssize_t              n;
    pr_conn_t           *c;
    struct epoll_event   evs[256], ev;

    relay_in = pr_relay[self][0];
    msg = malloc(PR_BODY_MAX);
    pr_ep = epoll_create1(0);

    if (msg == NULL || pr_ep < 0) {
        return 1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = &ls;
    if (epoll_ctl(pr_ep, EPOLL_CTL_ADD, ls, &ev) != 0) {
        return 1;
    }

    ev.data.ptr = &relay_in;
    if (epoll_ctl(pr_ep, EPOLL_CTL_ADD, relay_in, &ev) != 0) {
        return 1;
    }

    while (!pr_stop) {
        m = epoll_wait(pr_ep, evs, 256, 1000);

        for (k = 0; k < m; k++) {

            if (evs[k].data.ptr == &ls) {
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof(pr_conn_t));
                    if (c != NULL) {
                        c->buf = malloc(PR_HEAD_MAX + 1);
                        c->size = PR_HEAD_MAX;
                    }

                    ev.events = EPOLLIN;
                    ev.data.ptr = c;

                    if (c == NULL || c->buf == NULL
                        || epoll_ctl(pr_ep, EPOLL_CTL_ADD, fd, &ev) != 0)
                    {
                        if (c != NULL) {
                            free(c->buf);
                            free(c);
                        }
                        close(fd);
                        continue;
                    }

                    c->fd = fd;
                }
                continue;
            }

            if (evs[k].data.ptr == &relay_in) {
                n = recv(relay_in, msg, PR_BODY_MAX, MSG_DONTWAIT);
                if (n >= 0) {
                    pr_broadcast(msg, n);
                }
                continue;
            }

            c = evs[k].data.ptr;

            if ((evs[k].events & EPOLLOUT) && pr_flush(c) != 0) {
                pr_close(c);
                continue;
            }

            if ((evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                && pr_read(c) != 0)
            {
                pr_close(c);
            }
        }
    }

    fprintf(stderr, "push_raw: process %d: %lld subscribers at most, "
            "%lld messages, %lld frames written or queued, %lld dropped, "
            "%lld relay errors\n", (int) getpid(), pr_peak, pr_messages,
            pr_frames, pr_drops, pr_relay_errors);

    free(msg);

    return 0;
}


static int
pr_listen(int port)
{
    int                  fd, one;
    struct sockaddr_in   sa;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }

    one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(0x7f000001);

    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        || listen(fd, 4096) != 0)
    {
        close(fd);
        return -1;
    }

    return fd;
}


int
main(int argc, char **argv)
{
    int                  o, i, k, port, ls[PR_WORKERS_MAX];
    pid_t                pids[PR_WORKERS_MAX];
    struct sigaction     sa;

    port = 0;
    pr_nworkers = 2;

    while ((o = getopt(argc, argv, "p:w:")) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'w': pr_nworkers = atoi(optarg); break;
        default: port = 0; break;
        }
    }

    if (port <= 0 || pr_nworkers < 1 || pr_nworkers > PR_WORKERS_MAX) {
        fprintf(stderr, "usage: push_raw -p PORT [-w WORKERS]\n");
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = pr_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    for (i = 0; i < pr_nworkers; i++) {
        ls[i] = pr_listen(port);

        if (ls[i] < 0
            || socketpair(AF_UNIX, SOCK_DGRAM, 0, pr_relay[i]) != 0)
        {
            perror("push_raw: listen or socketpair");
            return 1;
        }
    }

    for (i = 0; i < pr_nworkers; i++) {
        pids[i] = fork();

        if (pids[i] == 0) {
            for (k = 0; k < pr_nworkers; k++) {
                if (k != i) {
                    close(pr_relay[k][0]);
                    close(ls[k]);
                }
            }

            return pr_worker(i, ls[i]);
        }

        if (pids[i] < 0) {
            perror("push_raw: fork");
            pr_stop = 1;
            break;
        }
    }

    while (!pr_stop) {
        pause();
    }

    for (k = 0; k < i; k++) {
        kill(pids[k], SIGTERM);
    }

    while (wait(NULL) > 0) { /* void */ }

    return 0;
}
