
/*
 * Copyright (C) Tollgate
 *
 * The processing service's shared state (docs/processing.md): pipelines
 * loaded from JSON documents, their tasks (pipeline, partition), and the
 * one process-wide context.  Everything runs on the kit's loop; Redis
 * only through the kit's asynchronous connection.
 */


#ifndef _PROC_H_INCLUDED_
#define _PROC_H_INCLUDED_


#include <stdint.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <jansson.h>

#include "gw_svc.h"
#include "gw_lua_transform.h"
#include "gw_window.h"
#include "proc_sink.h"


#define PROC_NAME_MAX       64
#define PROC_ID_MAX         48          /* "<ms>-<seq>" with its NUL */
#define PROC_KEY_MAX        512         /* a Redis key we build */
#define PROC_PARTS_MAX      1024
#define PROC_ERR_MAX        512

#define PROC_FROM_DIR       1           /* pipelines_from = dir, both */
#define PROC_FROM_MD        2           /* pipelines_from = metadata, both */


typedef struct proc_pipeline_s  proc_pipeline_t;
typedef struct proc_task_s      proc_task_t;
typedef struct proc_run_s       proc_run_t;
typedef struct proc_nats_in_s   proc_nats_in_t;


typedef enum {
    PROC_STEP_FILTER = 0,
    PROC_STEP_MAP,
    PROC_STEP_FLAT_MAP,
    PROC_STEP_ENRICH,
    PROC_STEP_KEY_BY
} proc_step_kind_e;


typedef struct {
    proc_step_kind_e        kind;
    char                    ptr[24];    /* "/steps/3", for the DLQ */
    gw_lua_transform_t     *lua;
    const char             *key;        /* enrich: a key template */
    const char             *as;         /* enrich: the member to set */
    int                     hash;       /* enrich: HGETALL, else GET */
    const char             *by;         /* key_by: a JSON pointer */
} proc_step_t;


struct proc_pipeline_s {
    char                    name[PROC_NAME_MAX + 1];
    char                    file[256];
    char                    prefix[PROC_KEY_MAX];   /* streams <prefix>:<p> */
    unsigned                partitions;
    const char             *time;       /* event time pointer, or NULL */
    unsigned                retries;
    json_t                 *doc;
    json_t                 *src;        /* the document as given */
    long long               version;    /* its entity's; 0: a file */
    int                     from_md;    /* a metadata entity */
    int                     retired;    /* stopping (proc_follow.c) */
    int                     release;    /* ... and giving up its leases */
    int                     closing;    /* ... its last command sent */
    proc_pipeline_t        *next;       /* proc.waiting, proc.retiring */

    proc_step_t            *steps;
    size_t                  nsteps;
    proc_sink_t           **sinks;
    size_t                  nsinks;

    int                     windowed;
    gw_window_conf_t        wconf;
    json_t                 *wdoc;       /* "window" without "reduce" */
    gw_lua_transform_t     *reducer;

    proc_task_t            *tasks;      /* one per partition */
    unsigned                owned;
    int                     lease_busy;

    char                    nats_durable[256];  /* "nats_in", or "" */
    proc_nats_in_t         *nats_in;    /* running: its lease is ours */
    long long               nats_lease_ok;      /* ms of the last renewal */
    int                     nats_busy;
};


enum {
    PROC_PHASE_OFF = 0,         /* not ours */
    PROC_PHASE_GROUP,           /* XGROUP CREATE ... MKSTREAM */
    PROC_PHASE_LOAD,            /* positions and state from the sinks */
    PROC_PHASE_CLAIM,           /* every pending entry, XAUTOCLAIM to us */
    PROC_PHASE_OWN,             /* our pending entries, from 0 */
    PROC_PHASE_NEW              /* new entries */
};


struct proc_task_s {
    proc_pipeline_t        *pl;
    unsigned                partition;
    char                    stream[PROC_KEY_MAX + 16];
    int                     phase;
    int                     busy;       /* a read or a batch in flight */
    int                     owned;      /* the lease is ours */
    int                     loads;      /* sink loads in flight */
    int                     load_failed;
    int                     side_lost;  /* a DLQ or late XADD may not
                                           have been written */
    char                    cursor[PROC_ID_MAX];
    char                    min_pos[PROC_ID_MAX];  /* skip at or before */
    char                  (*sink_pos)[PROC_ID_MAX];  /* per sink; "" none */
    json_t                **sink_state; /* per sink, while loading */
    json_t                 *state;      /* window state loaded */
    gw_window_t            *window;
    struct event           *timer;
    proc_run_t             *run;
};


/* a commit to one sink: the callback's data (proc_commit.c) */
typedef struct {
    proc_run_t             *run;
    size_t                  sink;
    size_t                 *map;        /* its batch's records in out */
    size_t                  n;
} proc_commit_t;


/* one batch in flight (proc_steps.c) */
struct proc_run_s {
    proc_task_t            *task;
    json_t                 *entries;    /* [{"id": ..., "f": {...}}] */
    size_t                  i;          /* the entry in work */
    size_t                  step;       /* its step */
    unsigned                attempt;
    json_t                 *cur;        /* records entering step */
    json_t                 *keys;       /* their keys after a key_by */
    json_t                 *out;        /* records for the sinks */
    size_t                 *out_src;    /* each one's entry */
    size_t                  out_cap;
    json_t                 *state;      /* the window state to commit */
    int                     closed;     /* the window flushed */
    size_t                  pending;    /* async lookups or commits */
    int                     failed;     /* a sink failed: retry */
    int                     first_done; /* the sinks without a position
                                           took the batch */
    unsigned                commit_tries;
    json_t                 *ids;        /* each out record's id */
    unsigned char          *dead;       /* out records in the DLQ */
    proc_commit_t          *commits;    /* per sink */
    int                     dlqd;       /* a sink refused a record */
    char                    last[PROC_ID_MAX];
    struct timespec         t0;
};


typedef struct {
    gw_svc_t               *svc;
    struct event_base      *base;
    proc_env_t              env;
    char                    instance[128];
    proc_pipeline_t       **pipelines;     /* running */
    size_t                  npipelines;
    proc_pipeline_t        *waiting;       /* new versions of retiring */
    proc_pipeline_t        *retiring;      /* stopping, then freed */
    unsigned                from;          /* PROC_FROM_* */
    int                     md_loaded;     /* the entities read once */
    json_t                 *files;         /* name -> {file, doc} */
    int                     loaded;
    int                     stopped;
    struct event           *tick;
    long long               lease_elapsed;
    long long               lag_elapsed;

    gw_svc_metric_t        *m_events;
    gw_svc_metric_t        *m_batch;
    gw_svc_metric_t        *m_lag;
    gw_svc_metric_t        *m_dlq;
    gw_svc_metric_t        *m_late;
    gw_svc_metric_t        *m_owned;
} proc_t;


extern proc_t  proc;


/* proc_pipeline.c */

/* loads every *.json of dir; -1 with err "<file>: <pointer>: <why>" */
int proc_pipelines_load(const char *dir, char *err, size_t errlen);

/* every pipeline, running, waiting or retiring, and the schema */
void proc_pipelines_free(void);

/*
 * A pipeline from a document (stolen): checked against the schema and
 * built, its tasks not started.  NULL with err "<pointer>: <why>".
 */
proc_pipeline_t *proc_pipeline_new(json_t *doc, char *err, size_t errlen);
void proc_pipeline_free(proc_pipeline_t *pl);

/* proc_follow.c: the metadata service's pipelines entities */
int proc_follow_start(void);
void proc_follow_stop(void);

/* every tick: loads retried, retired pipelines freed once quiet */
void proc_follow_tick(void);

/* proc_json.c */

/* the value at a JSON pointer (RFC 6901) in v, or NULL */
json_t *proc_json_ptr(json_t *v, const char *ptr);

/*
 * Expands "{/pointer}" in tpl with rec's values (strings as they are,
 * numbers and booleans as text, others as compact JSON) into buf.
 * -1 when a member is missing or the result is longer than len - 1.
 */
int proc_template(const char *tpl, json_t *rec, char *buf, size_t len);

/* a value as text for a Redis argument: a new string (free()) or NULL */
char *proc_json_text(json_t *v);

/* the number of ms in an event time: a number or RFC 3339; -1 if bad */
int64_t proc_json_time(json_t *v);

long long proc_now_ms(void);

/*
 * Whether a sink stores a position (and window state) the task loads and
 * skips by: the exactly-once sinks with load(), except the NATS sink,
 * which dedupes per message id and stores none.  A batch goes to the
 * sinks without one first, then to those with one, so what a stored
 * position covers was delivered to every sink.
 */
static inline int
proc_sink_positioned(const proc_sink_t *s)
{
    return s->ops->exactly_once && s->ops->load != NULL
           && s->ops != &proc_sink_nats_ops;
}


/* proc_task.c */
void proc_task_kick(proc_task_t *t);
void proc_task_own(proc_task_t *t, int owned);
void proc_task_free(proc_task_t *t);

/* the task's timer: a read again, or its run continued, after ms */
void proc_task_wait(proc_task_t *t, long long ms);

/* the batch is over: acknowledge it and read on */
void proc_task_batch_done(proc_task_t *t);

/* the batch is dropped unacknowledged: read again from the pending */
void proc_task_redo(proc_task_t *t);

/* proc_lease.c */
void proc_lease_tick(void);
int proc_lease_send(redisAsyncContext *ac, proc_pipeline_t *pl,
    const char *script, const char **extra, size_t nextra,
    redisCallbackFn *fn);
void proc_lag_tick(void);

/* the "nats_in" connectors: each runs where its lease is held */
void proc_nats_in_tick(void);
void proc_nats_in_stop_all(void);

/* proc_steps.c */
proc_run_t *proc_run_new(proc_task_t *t, redisReply *entries);
void proc_run_continue(proc_run_t *r);
void proc_run_free(proc_run_t *r);

/* proc_commit.c: the batch to every sink, then proc_task_batch_done() */
void proc_run_commit(proc_run_t *r);

/* appends rec for the sinks, from entry r->i; 0 or -1 */
int proc_run_out(proc_run_t *r, json_t *rec);

/* proc_window.c */
int proc_window_setup(proc_pipeline_t *pl, char *err, size_t errlen);
void proc_window_free(proc_pipeline_t *pl);
int proc_window_start(proc_task_t *t);
void proc_window_add(proc_run_t *r, json_t *e, json_t *rec, json_t *key);
int proc_window_flush(proc_run_t *r, int64_t wm);
int proc_window_close(proc_run_t *r);

/* proc_dlq.c */

/*
 * Adds a dead letter for entry (an {"id", "f"} object of task t): its
 * fields, error, attempts, source, source_id, step, time.
 */
void proc_dlq_add(proc_task_t *t, json_t *entry, const char *step,
    unsigned attempts, const char *error);
void proc_late_add(proc_task_t *t, json_t *entry, json_t *rec);

/* proc_cli.c */
int proc_cli_main(gw_svc_t *svc, int argc, char **argv);

/* proc_sink_script.c: the exactly-once commit shared by redis, stream */

/* a sink's position: field "<sink name>:<partition>" of pos_key */
typedef struct {
    proc_sink_t             sink;
    proc_env_t              env;
    char                    pos_key[PROC_KEY_MAX];   /* gw:proc:<pl>:pos */
    char                    state_key[PROC_KEY_MAX]; /* ...:state: */
    char                    name[PROC_NAME_MAX + 1];
    json_t                  *conf;
} proc_rsink_t;

void proc_rsink_free(proc_sink_t *sink);

int proc_rsink_init(proc_rsink_t *rs, const proc_env_t *env,
    const char *pipeline, json_t *conf, char *err, size_t errlen);
int proc_rsink_load(proc_sink_t *s, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen);

/*
 * Runs the commit script: ops is an array of strings, "op key a b"
 * quadruples the script applies (op: hset, hincrby, incrby, set, sadd,
 * xadd), all in one EVAL with the position and state; ops is stolen.
 */
int proc_rsink_commit(proc_rsink_t *rs, const proc_batch_t *b, json_t *ops,
    proc_sink_done_pt done, void *data, char *err, size_t errlen);


#endif /* _PROC_H_INCLUDED_ */
