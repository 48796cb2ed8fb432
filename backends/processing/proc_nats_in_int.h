
/*
 * Copyright (C) Tollgate
 *
 * The inbound NATS connector's parts (proc_nats_in.c, the loop and the
 * thread; proc_nats_in_conf.c, its configuration; proc_nats_in_msg.c,
 * a message into a topic entry).
 */


#ifndef _PROC_NATS_IN_INT_H_INCLUDED_
#define _PROC_NATS_IN_INT_H_INCLUDED_


#include <pthread.h>

#include "proc_nats.h"
#include "proc_nats_int.h"


/* a message, as the script writes it */
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


/* checks conf into in; err "/nats_in/member: why" */
int proc_nats_in_conf(proc_nats_in_t *in, json_t *conf, char *err,
    size_t errlen);

/* on the thread: the list's entries, or NULL when out of memory */
proc_nats_batch_t *proc_nats_in_batch(proc_nats_in_t *in,
    natsMsgList *list);

void proc_nats_batch_free(proc_nats_batch_t *b);


#endif /* _PROC_NATS_IN_INT_H_INCLUDED_ */
