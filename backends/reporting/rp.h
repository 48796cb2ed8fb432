
/*
 * Copyright (C) Tollgate
 *
 * The reporting service's parts (docs/reporting.md).
 *
 * A report definition is an entity of the metadata service's
 * user-defined type "reports" (reports.schema.json), read straight from
 * the metadata store in Redis (gw:md:e:u.reports:<id>, member "doc"), so
 * this service keeps no HTTP client for it.  A run is a job: its state
 * is a Redis hash (gw:rp:run:<id>, with a TTL) and, until it ends, a
 * member of the durable queue gw:rp:due that instances take runs from
 * with a lease (rp_queue.c); its query runs on a worker thread of a
 * small pool (rp_pool.c) that streams the cursor's rows into a report
 * writer (lib/report/gw_report.h) on a file in the spool directory;
 * the loop only moves state to Redis and answers.
 *
 * Who owns what: a job owns its definition (rp_def_t, which points into
 * its JSON document) and its parameters; between rp_pool_submit() and
 * its done callback the worker thread reads them and writes only the
 * job's result members (rows atomically, the rest before it hands the
 * job back); the loop touches nothing else of it meanwhile.
 */


#ifndef _RP_H_INCLUDED_
#define _RP_H_INCLUDED_


#include <stdint.h>
#include <time.h>

#include "gw_report.h"
#include "gw_svc.h"


#define RP_ID_MAX           64      /* bytes: a report's id */
#define RP_RUN_LEN          32      /* hex digits: a run's id */
#define RP_OWNER_MAX        255     /* bytes: X-Consumer-ID */
#define RP_PARAMS_MAX       32
#define RP_QUERY_MAX        65536   /* bytes of SQL */
#define RP_ERR_MAX          256


typedef enum {
    RP_P_STRING = 0,
    RP_P_INTEGER,
    RP_P_NUMBER,
    RP_P_DATE,
    RP_P_DATETIME,
    RP_P_BOOLEAN
} rp_param_type_e;


typedef struct {
    const char             *name;
    rp_param_type_e         type;
    int                     required;
    json_t                 *dflt;       /* borrowed from doc; NULL */
} rp_param_t;


typedef struct {
    json_t                 *doc;        /* owns every string below */
    const char             *id;
    const char             *title;
    const char             *query;
    const char             *tenant;     /* tenant_param; NULL: none */
    rp_param_t              params[RP_PARAMS_MAX];
    int                     nparams;
    gw_report_column_t      columns[GW_REPORT_MAX_COLUMNS];
    gw_report_spec_t        spec;
    json_t                 *formats;    /* array of names */
    json_t                 *delivery;   /* object or NULL */
    json_t                 *schedule;   /* object or NULL */
} rp_def_t;


typedef enum {
    RP_QUEUED = 0,
    RP_RUNNING,
    RP_DONE,
    RP_FAILED
} rp_state_e;


typedef struct rp_job_s  rp_job_t;

struct rp_job_s {
    rp_def_t               *def;
    json_t                 *params;     /* name -> checked value */
    json_t                 *delivery;   /* object or NULL */
    char                    run[RP_RUN_LEN + 1];
    char                    owner[RP_OWNER_MAX + 1];
    gw_report_format_e      fmt;
    char                   *path;       /* the spool file */
    char                   *tmp;        /* written, renamed to path */

    /* written by the worker */
    uint64_t                rows;       /* __atomic */
    int                     state;      /* __atomic, rp_state_e */
    char                    code[32];   /* a failure's problem type */
    char                    error[RP_ERR_MAX];
    uint64_t                bytes;
    struct timespec         deadline;   /* CLOCK_MONOTONIC */
    struct timespec         started;    /* CLOCK_MONOTONIC, submitted */

    /* the loop's */
    uint64_t                rows_told;
    int                     state_told;
    int64_t                 expires;    /* seconds: the link's end */
    gw_svc_req_t           *waiter;     /* POST ?wait= */
    long long               wait_ms;
    int                     local;      /* leased by this instance */
    struct event           *wait_ev;
    rp_job_t               *next;       /* the pool's queue */
    rp_job_t               *prev_live, *next_live;
};


typedef struct {
    gw_svc_t               *svc;
    struct event_base      *base;
    char                    instance[96];
    const char             *spool;
    const char             *sqlite;
    const char             *pg;         /* the replica's when given */
    uint64_t                max_rows;
    uint64_t                pdf_max_rows;
    uint64_t                max_bytes;
    long long               max_ms;
    long long               link_ttl;   /* ms */
    long long               run_ttl;    /* ms */
    long long               wait_max;   /* ms */
    long long               sweep_every; /* ms */
    long long               lease;      /* ms: a taken run's lease */
    long long               drain;      /* ms: a stop waits that long */
    long long               due_max;    /* runs accepted, not ended */
    long long               attempts;   /* starts before "interrupted" */
    int                     queue_max;  /* runs an instance takes */
    int                     abandon;    /* __atomic: the drain ran out */
    const char             *public_url;
    unsigned char           key[64];
    size_t                  key_len;
    int                     stopped;
    gw_svc_metric_t        *m_runs;     /* by format, status */
    gw_svc_metric_t        *m_rows;     /* by format */
    gw_svc_metric_t        *m_seconds;  /* by format */
} rp_conf_t;


extern rp_conf_t  rp;


/* rp_def.c: a definition from its entity document (stolen), or NULL
 * with a reason in err */
rp_def_t *rp_def_parse(const char *id, json_t *doc, char *err,
    size_t errlen);
void rp_def_free(rp_def_t *def);

/*
 * The run's parameters: the body's "params" checked against the
 * definition (defaults filled, required ones present, the tenant's
 * value the caller's, whatever the body says).  A new object, or NULL
 * with the offending name in err.
 */
json_t *rp_def_params(rp_def_t *def, json_t *given, const char *owner,
    char *err, size_t errlen);


/* rp_pool.c: the worker threads */
int rp_pool_start(int threads, int queue_max);
int rp_pool_submit(rp_job_t *job);       /* -1: the queue is full */
void rp_pool_cancel(void);
void rp_pool_stop(void);


/*
 * rp_job.c, on a worker thread: the whole run (the writer opened, the
 * engine's query, each row through the caps, the writer closed); a
 * failure is in the job's code and error, its partial file removed.
 */
void rp_job_exec(rp_job_t *job);
int rp_job_row(rp_job_t *job, gw_report_writer_t *w,
    const gw_report_value_t *values);
int rp_job_late(rp_job_t *job);          /* 1 past max_seconds */
void rp_job_fail(rp_job_t *job, const char *code, const char *fmt, ...);

/* rp_sqlite.c, rp_pg.c: the query's rows into w; 0 or -1 (failed) */
int rp_sqlite_query(rp_job_t *job, gw_report_writer_t *w);
int rp_pg_query(rp_job_t *job, gw_report_writer_t *w);

/* rp_value.c: text (an engine's cell) as the column's kind; buf holds
 * what v->s may point to */
void rp_value_text(const gw_report_column_t *col, const char *s,
    size_t len, gw_report_value_t *v);
int rp_value_time(const char *s, size_t len, int64_t *ms);


/* rp_run.c: runs on the loop */
int rp_run_routes(gw_svc_t *svc);
void rp_run_done(rp_job_t *job);         /* from the pool, on the loop */
void rp_run_loop_start(void);
void rp_run_loop_stop(void);
void rp_run_drain(void);
int rp_run_give_back(rp_job_t *job, redisCallbackFn *cb); /* due again */
void rp_run_return(rp_job_t *job);      /* given back, freed */
void rp_run_released(redisAsyncContext *ac, void *r, void *data);
int rp_run_submit(rp_def_t *def, json_t *params, gw_report_format_e fmt,
    const char *owner, json_t *delivery, gw_svc_req_t *req,
    long long wait_ms);

/* a job (owns def and params, NULL when out of memory: both freed) */
rp_job_t *rp_run_job(rp_def_t *def, json_t *params, gw_report_format_e fmt,
    const char *owner, json_t *delivery, const char *run);
void rp_run_start(rp_job_t *job);       /* a leased job to the pool */
void rp_run_renew(redisAsyncContext *ac, long long score);


/* rp_queue.c: the durable queue gw:rp:due and its leases */
void rp_queue_start(void);
void rp_queue_stop(void);
long long rp_queue_now(void);           /* ms since the epoch */
int rp_queue_room(void);                /* runs this instance may take */
void rp_queue_hold(void);
void rp_queue_unhold(void);
int rp_queue_put(rp_job_t *job, redisCallbackFn *cb);


/* rp_sign.c */
int rp_sign_load(const char *file);
void rp_sign(const char *run, int64_t expires, char *sig, size_t len);
int rp_sign_check(const char *run, int64_t expires, const char *sig);


/* rp_api.c: the caller, from the gateway's headers */
typedef struct {
    const char             *owner;
    int                     read;       /* reports:read */
    int                     admin;      /* reports:admin */
} rp_caller_t;

int rp_api_caller(gw_svc_req_t *req, rp_caller_t *caller);
int rp_api_arg(gw_svc_req_t *req, const char *name, char *buf,
    size_t len);

/* the run as the API shows it, from its Redis hash's members (strings) */
json_t *rp_run_json(const char *run, json_t *h);

/* rp_dl.c: downloads and the spool's sweeper */
int rp_dl_routes(gw_svc_t *svc);
void rp_dl_sweep_start(void);
void rp_dl_sweep_stop(void);


/* rp_cron.c: masks of seconds, minutes, hours, days, months, weekdays */
typedef struct {
    uint64_t                mask[6];
    unsigned                seconds:1;  /* six fields */
    unsigned                dom_star:1;
    unsigned                dow_star:1;
} rp_cron_t;

int rp_cron_parse(const char *s, rp_cron_t *c);
int rp_cron_match(const rp_cron_t *c, const struct tm *tm);

/* rp_sched.c, rp_notify.c */
void rp_sched_start(void);
void rp_sched_stop(void);
void rp_notify_run(rp_job_t *job);
int rp_notify_configure(gw_svc_t *svc);
int rp_notify_check(json_t *delivery, char *err, size_t errlen);


#endif /* _RP_H_INCLUDED_ */
