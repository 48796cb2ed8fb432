
/*
 * Copyright (C) Tollgate
 *
 * What the NATS JetStream connectors (proc_sink_nats.c, proc_nats_in.c)
 * share: the hand-over from their threads to the service's loop, the
 * "servers" member, the connection, and a JSON pointer lookup.
 *
 * nats.c's calls block (the connect handshake, a fetch, waiting for
 * publish acknowledgements) and deliver acknowledgements on threads of
 * its own, so every connector talks to NATS from a thread of its own and
 * never from the loop.  What the loop must see (a finished commit, a
 * batch to write into Redis, a line to log) is queued under a mutex and
 * the loop is woken through a pipe read by an event on it: the loop's
 * libevent base needs no thread support.
 */


#ifndef _PROC_NATS_INT_H_INCLUDED_
#define _PROC_NATS_INT_H_INCLUDED_


#include <nats/nats.h>

#include "proc_sink.h"


#define PROC_NATS_SERVERS_MAX  16


typedef struct proc_nats_item_s  proc_nats_item_t;
typedef struct proc_nats_pipe_s  proc_nats_pipe_t;

typedef void (*proc_nats_item_pt)(proc_nats_item_t *item);

/* the head of whatever a thread hands to the loop */
struct proc_nats_item_s {
    proc_nats_item_t       *next;
    proc_nats_item_pt       handler;    /* runs on the loop */
};


typedef struct {
    char                   *list[PROC_NATS_SERVERS_MAX];
    int                     n;
} proc_nats_servers_t;


/* a pipe and its read event on base; NULL when out of resources */
proc_nats_pipe_t *proc_nats_pipe_create(struct event_base *base);

/* from any thread: item->handler(item) will run on the loop */
void proc_nats_pipe_post(proc_nats_pipe_t *p, proc_nats_item_t *item);

/*
 * From the loop, once no thread posts any more: items not delivered yet
 * go to drop (NULL: left alone); NULL is fine.
 */
void proc_nats_pipe_free(proc_nats_pipe_t *p, proc_nats_item_pt drop);

/*
 * The member "servers" of conf: 1 to PROC_NATS_SERVERS_MAX URLs
 * "nats://host:port" (or tls://), copied into sv.  0, or -1 with err
 * "/servers...: why".
 */
int proc_nats_servers_parse(json_t *conf, proc_nats_servers_t *sv,
    char *err, size_t errlen);
void proc_nats_servers_free(proc_nats_servers_t *sv);

/*
 * A subject to publish on or filter with: tokens of visible ASCII
 * separated by dots; wildcards ("*", ">") only when wild.  1 or 0.
 */
int proc_nats_subject_ok(const char *s, int wild);

/*
 * Connects to one of the servers (blocking: call it on a connector's
 * thread), reconnecting forever afterwards, and opens a JetStream
 * context whose API calls wait at most wait ms; ack and closure set the
 * asynchronous publish acknowledgement handler (NULL: none).  0, or -1
 * with err.
 */
int proc_nats_connect(proc_nats_servers_t *sv, const char *name,
    int64_t wait, jsPubAckHandler ack, void *closure, natsConnection **nc,
    jsCtx **js, char *err, size_t errlen);

/* the value at a JSON pointer ("" the root, "/a/0/b~1c"), or NULL */
json_t *proc_nats_pointer(json_t *root, const char *ptr);


#endif /* _PROC_NATS_INT_H_INCLUDED_ */
