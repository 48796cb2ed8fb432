
/*
 * Copyright (C) Tollgate
 *
 * The NATS connectors' common parts (proc_nats_int.h): the pipe that
 * hands their threads' results to the loop, the "servers" member, the
 * connection and a JSON pointer lookup.
 */


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "proc_nats_int.h"


struct proc_nats_pipe_s {
    pthread_mutex_t         lock;
    proc_nats_item_t       *head;
    proc_nats_item_t       *tail;
    struct event           *ev;
    int                     fd[2];
};


static void proc_nats_pipe_read(evutil_socket_t fd, short what, void *arg);


proc_nats_pipe_t *
proc_nats_pipe_create(struct event_base *base)
{
    proc_nats_pipe_t  *p;

    p = calloc(1, sizeof(proc_nats_pipe_t));
    if (p == NULL) {
        return NULL;
    }

    if (pipe(p->fd) != 0) {
        free(p);
        return NULL;
    }

    (void) fcntl(p->fd[0], F_SETFL, O_NONBLOCK);
    (void) fcntl(p->fd[1], F_SETFL, O_NONBLOCK);
    (void) fcntl(p->fd[0], F_SETFD, FD_CLOEXEC);
    (void) fcntl(p->fd[1], F_SETFD, FD_CLOEXEC);

    pthread_mutex_init(&p->lock, NULL);

    p->ev = event_new(base, p->fd[0], EV_READ | EV_PERSIST,
                      proc_nats_pipe_read, p);
    if (p->ev == NULL || event_add(p->ev, NULL) != 0) {
        proc_nats_pipe_free(p, NULL);
        return NULL;
    }

    return p;
}


void
proc_nats_pipe_post(proc_nats_pipe_t *p, proc_nats_item_t *item)
{
    ssize_t  n;

    item->next = NULL;

    pthread_mutex_lock(&p->lock);

    if (p->tail != NULL) {
        p->tail->next = item;

    } else {
        p->head = item;
    }

    p->tail = item;

    pthread_mutex_unlock(&p->lock);

    /* a full pipe already holds a wake-up: EAGAIN is fine */
    do {
        n = write(p->fd[1], "x", 1);
    } while (n == -1 && errno == EINTR);
}


/*
 * Drains the pipe, then runs the handlers of the items queued: a handler
 * may free what holds the pipe only after its last item, which is why
 * the list is taken whole first and the pipe not touched again.
 */
static void
proc_nats_pipe_read(evutil_socket_t fd, short what, void *arg)
{
    char               buf[64];
    proc_nats_pipe_t  *p;
    proc_nats_item_t  *item, *next;

    p = arg;

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* void */
    }

    pthread_mutex_lock(&p->lock);
    item = p->head;
    p->head = NULL;
    p->tail = NULL;
    pthread_mutex_unlock(&p->lock);

    for ( /* void */ ; item != NULL; item = next) {
        next = item->next;
        item->handler(item);
    }
}


void
proc_nats_pipe_free(proc_nats_pipe_t *p, proc_nats_item_pt drop)
{
    proc_nats_item_t  *item, *next;

    if (p == NULL) {
        return;
    }

    if (p->ev != NULL) {
        event_free(p->ev);
    }

    for (item = p->head; item != NULL; item = next) {
        next = item->next;

        if (drop != NULL) {
            drop(item);
        }
    }

    close(p->fd[0]);
    close(p->fd[1]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}


int
proc_nats_servers_parse(json_t *conf, proc_nats_servers_t *sv, char *err,
    size_t errlen)
{
    size_t       i;
    json_t      *servers, *v;
    const char  *s;

    sv->n = 0;

    servers = json_object_get(conf, "servers");

    if (!json_is_array(servers) || json_array_size(servers) == 0
        || json_array_size(servers) > PROC_NATS_SERVERS_MAX)
    {
        snprintf(err, errlen, "/servers: must be an array of 1 to %d "
                 "server URLs", PROC_NATS_SERVERS_MAX);
        return -1;
    }

    json_array_foreach(servers, i, v) {
        s = json_string_value(v);

        if (s == NULL
            || (strncmp(s, "nats://", 7) != 0 && strncmp(s, "tls://", 6) != 0)
            || strlen(s) > 255 || strpbrk(s, " \t\r\n,") != NULL)
        {
            snprintf(err, errlen, "/servers/%zu: must be a URL "
                     "\"nats://host:port\" or \"tls://host:port\"", i);
            proc_nats_servers_free(sv);
            return -1;
        }

        sv->list[sv->n] = strdup(s);
        if (sv->list[sv->n] == NULL) {
            snprintf(err, errlen, "/servers: out of memory");
            proc_nats_servers_free(sv);
            return -1;
        }

        sv->n++;
    }

    return 0;
}


void
proc_nats_servers_free(proc_nats_servers_t *sv)
{
    int  i;

    for (i = 0; i < sv->n; i++) {
        free(sv->list[i]);
    }

    sv->n = 0;
}


int
proc_nats_subject_ok(const char *s, int wild)
{
    size_t  len, i;

    len = strlen(s);

    if (len == 0 || len > 255 || s[0] == '.' || s[len - 1] == '.') {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] <= ' ' || s[i] > '~' || (s[i] == '.' && s[i + 1] == '.')) {
            return 0;
        }

        if ((s[i] == '*' || s[i] == '>') && !wild) {
            return 0;
        }
    }

    return 1;
}


int
proc_nats_connect(proc_nats_servers_t *sv, const char *name, int64_t wait,
    jsPubAckHandler ack, void *closure, natsConnection **nc, jsCtx **js,
    char *err, size_t errlen)
{
    jsOptions     jo;
    natsStatus    s;
    natsOptions  *opts;

    *nc = NULL;
    *js = NULL;

    s = natsOptions_Create(&opts);
    if (s != NATS_OK) {
        goto failed;
    }

    s = natsOptions_SetServers(opts, (const char **) sv->list, sv->n);
    if (s == NATS_OK) {
        s = natsOptions_SetName(opts, name);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(opts, 2000);
    }
    if (s == NATS_OK) {
        /* forever, so that a publish buffered while down goes out */
        s = natsOptions_SetMaxReconnect(opts, -1);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(opts, 250);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetPingInterval(opts, 2000);
    }
    if (s == NATS_OK) {
        s = natsConnection_Connect(nc, opts);
    }

    natsOptions_Destroy(opts);

    if (s != NATS_OK) {
        goto failed;
    }

    jsOptions_Init(&jo);
    jo.Wait = wait;
    jo.PublishAsync.AckHandler = ack;
    jo.PublishAsync.AckHandlerClosure = closure;
    jo.PublishAsync.MaxPending = 65536;

    s = natsConnection_JetStream(js, *nc, &jo);
    if (s != NATS_OK) {
        natsConnection_Destroy(*nc);
        *nc = NULL;
        goto failed;
    }

    return 0;

failed:

    snprintf(err, errlen, "nats: connect: %s", natsStatus_GetText(s));

    return -1;
}


json_t *
proc_nats_pointer(json_t *root, const char *ptr)
{
    char         tok[256];
    size_t       n;
    json_t      *v;
    const char  *p;
    char        *e;
    unsigned long  i;

    v = root;
    p = ptr;

    while (v != NULL && *p == '/') {
        p++;
        n = 0;

        while (*p != '\0' && *p != '/') {
            if (n == sizeof(tok) - 1) {
                return NULL;
            }

            if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
                tok[n++] = (p[1] == '0') ? '~' : '/';
                p += 2;
                continue;
            }

            tok[n++] = *p++;
        }

        tok[n] = '\0';

        if (json_is_object(v)) {
            v = json_object_get(v, tok);

        } else if (json_is_array(v) && n > 0 && tok[0] >= '0'
                   && tok[0] <= '9' && (tok[0] != '0' || n == 1))
        {
            i = strtoul(tok, &e, 10);
            v = (*e == '\0') ? json_array_get(v, i) : NULL;

        } else {
            v = NULL;
        }
    }

    return (*p == '\0') ? v : NULL;
}
