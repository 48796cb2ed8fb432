
/*
 * Copyright (C) Tollgate
 *
 * The processing service's sinks (docs/processing.md, "Sinks"): where a
 * pipeline's records go.  A task (pipeline stage, partition) commits
 * batches: the records one batch of source entries produced for this
 * sink, the position (the batch's last source entry id) and, when the
 * pipeline keeps window state, that state.
 *
 * An exactly-once sink commits a batch atomically (one Redis script, one
 * SQL transaction: records, position and state together) and
 * idempotently: a batch whose position is not after the position stored
 * for (pipeline, partition) writes nothing and answers PROC_SINK_DUP.
 * At a task's start, load() gives the stored position and state, so the
 * task skips what was committed and resumes its windows.
 *
 * Every call is asynchronous on the service's loop and never blocks it
 * (SQLite runs on a thread of its own, PostgreSQL through libpq's
 * non-blocking API on the loop, Redis through the kit's connection).  A
 * callback runs exactly once per accepted call, never from inside the
 * call itself, unless the sink is freed first.
 */


#ifndef _PROC_SINK_H_INCLUDED_
#define _PROC_SINK_H_INCLUDED_


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "gw_svc.h"


typedef struct proc_sink_s      proc_sink_t;
typedef struct proc_sink_ops_s  proc_sink_ops_t;


typedef enum {
    PROC_SINK_OK = 0,           /* written */
    PROC_SINK_DUP,              /* already committed: nothing written */
    PROC_SINK_FAIL,             /* not written, may work later (down,
                                   busy, timeout): the task retries */
    PROC_SINK_BAD               /* not written, never will be (a record
                                   the sink's schema refuses): err says
                                   which record */
} proc_sink_rc_e;


typedef struct {
    struct event_base      *base;
    gw_svc_t               *svc;        /* logs, metrics, Redis */
} proc_env_t;


typedef struct {
    unsigned                partition;
    const char             *position;   /* "<ms>-<seq>" */
    json_t                 *records;    /* an array of objects; may be
                                           empty (the position and state
                                           still move) */
    json_t                 *state;      /* window state, or NULL: none */
    json_t                 *ids;        /* NULL, or an array parallel to
                                           records: each record's id,
                                           "<source entry id>/<k>" for the
                                           k-th record that entry gave
                                           (a window result: the entry
                                           that closed it), the same on a
                                           replay; for sinks that dedupe
                                           per record (NATS, HTTP) */
} proc_batch_t;


typedef void (*proc_sink_done_pt)(void *data, proc_sink_rc_e rc,
    const char *err);

/* position NULL: nothing stored yet; state NULL: none stored; both are
 * valid only during the call */
typedef void (*proc_sink_loaded_pt)(void *data, proc_sink_rc_e rc,
    const char *position, json_t *state, const char *err);


struct proc_sink_ops_s {
    const char             *type;           /* "redis", "sqlite", ... */
    int                     exactly_once;

    /*
     * A sink of pipeline from its member of the pipeline document (an
     * object whose "type" is this type), or NULL with err "<pointer
     * relative to the sink>: <why>".  Checks what it can without I/O;
     * opens connections lazily or in the background.
     */
    proc_sink_t *(*create)(const proc_env_t *env, const char *pipeline,
        json_t *conf, char *err, size_t errlen);

    /* 0: done() will run; -1: it will not (err says why) */
    int (*load)(proc_sink_t *s, unsigned partition,
        proc_sink_loaded_pt done, void *data, char *err, size_t errlen);
    int (*commit)(proc_sink_t *s, const proc_batch_t *b,
        proc_sink_done_pt done, void *data, char *err, size_t errlen);

    /* no callback runs after it; NULL is accepted */
    void (*free)(proc_sink_t *s);
};


/* every sink starts with this */
struct proc_sink_s {
    const proc_sink_ops_t  *ops;
};


extern const proc_sink_ops_t  proc_sink_redis_ops;
extern const proc_sink_ops_t  proc_sink_stream_ops;
extern const proc_sink_ops_t  proc_sink_sqlite_ops;
extern const proc_sink_ops_t  proc_sink_postgres_ops;
extern const proc_sink_ops_t  proc_sink_nats_ops;
extern const proc_sink_ops_t  proc_sink_http_ops;


/*
 * Compares two stream entry ids "<ms>-<seq>" as numbers: <0, 0, >0
 * (the caller checks the form; a missing part reads as 0).
 */
static inline int
proc_pos_cmp(const char *a, const char *b)
{
    char                *e;
    unsigned long long   am, as, bm, bs;

    am = strtoull(a, &e, 10);
    as = (*e == '-') ? strtoull(e + 1, NULL, 10) : 0;
    bm = strtoull(b, &e, 10);
    bs = (*e == '-') ? strtoull(e + 1, NULL, 10) : 0;

    if (am != bm) {
        return (am < bm) ? -1 : 1;
    }

    return (as < bs) ? -1 : (as > bs);
}


#endif /* _PROC_SINK_H_INCLUDED_ */
