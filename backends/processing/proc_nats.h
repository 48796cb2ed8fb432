
/*
 * Copyright (C) Tollgate
 *
 * The inbound NATS JetStream connector (docs/processing-nats.md): moves
 * the messages of a JetStream stream into a topic's Redis streams
 * gw:topic:<t>:<p>, exactly once, from the document member
 *
 *     "nats_in": {"servers": ["nats://127.0.0.1:4222", ...],
 *                 "stream": "ORDERS", "durable": "tollgate-orders",
 *                 "subject": "orders.>", "topic": "orders",
 *                 "partitions": 4, "key": "/customer",
 *                 "batch": 256, "maxlen": 1000000}
 *
 * "key" is a JSON pointer into the message's payload or {"header":
 * "Name"}; the partition is crc32(key) mod partitions, as the edge's.
 * One connector of a name runs at a time (the engine holds a lease).
 */


#ifndef _PROC_NATS_H_INCLUDED_
#define _PROC_NATS_H_INCLUDED_


#include "proc_sink.h"


typedef struct proc_nats_in_s  proc_nats_in_t;

/*
 * Runs on the loop after a batch of n messages was written into Redis
 * (written of them new, the others already there) and before they are
 * acknowledged to JetStream: for metrics and for the crash tests.
 */
typedef void (*proc_nats_in_written_pt)(void *data, unsigned n,
    unsigned written);


/*
 * Checks conf (the member's value) and starts the connector on env's
 * loop: it reads its committed position from Redis, then connects on a
 * thread of its own.  NULL with err "/nats_in<pointer>: why" when conf
 * is refused or resources are short.
 */
proc_nats_in_t *proc_nats_in_start(const proc_env_t *env, json_t *conf,
    char *err, size_t errlen);

/* optional; before the loop runs the first batch */
void proc_nats_in_set_hook(proc_nats_in_t *in,
    proc_nats_in_written_pt written, void *data);

/*
 * Stops and frees it, on the loop: waits for its thread to leave the
 * NATS call in hand (a fetch: at most a second); messages written but
 * not acknowledged are redelivered and skipped next time.  NULL is fine.
 */
void proc_nats_in_stop(proc_nats_in_t *in);


#endif /* _PROC_NATS_H_INCLUDED_ */
