
/*
 * Copyright (C) Tollgate
 *
 * The SQLite sink's parts (proc_sink_sqlite.c: the calls, the files'
 * threads and their queues; proc_sql_lite_run.c: what a thread runs).
 */


#ifndef _PROC_SQL_LITE_H_INCLUDED_
#define _PROC_SQL_LITE_H_INCLUDED_


#include <pthread.h>

#include <sqlite3.h>

#include "proc_sql.h"


#define PROC_LITE_BUSY_MS  5000


typedef struct proc_lite_db_s   proc_lite_db_t;
typedef struct proc_lite_job_s  proc_lite_job_t;


typedef struct {
    proc_sink_t             sink;
    proc_sql_conf_t         conf;
    proc_lite_db_t         *db;
    char                   *insert_sql;
    char                   *create_sql;
    unsigned                ready:1;        /* the thread's: tables made */
} proc_lite_sink_t;


struct proc_lite_job_s {
    proc_lite_job_t        *next;
    proc_lite_sink_t       *sink;
    size_t                  ncols;      /* the batch's, for freeing it */
    unsigned                partition;
    proc_sql_batch_t       *batch;      /* NULL: a load */
    proc_sink_done_pt       done;
    proc_sink_loaded_pt     loaded;
    void                   *data;
    int                     rc;
    char                   *position;   /* a load's results */
    char                   *state;
    char                    err[512];
};


struct proc_lite_db_s {
    proc_lite_db_t         *next;
    struct event_base      *base;
    char                   *path;
    unsigned                refs;
    unsigned                draining:1;
    unsigned                dead:1;
    unsigned                started:1;
    pthread_t               thread;
    pthread_mutex_t         mutex;
    pthread_cond_t          cond;
    proc_lite_job_t        *queued;
    proc_lite_job_t        *answered;
    proc_lite_job_t        *running;
    int                     quit;
    int                     fd[2];
    struct event           *ev;
    sqlite3                *conn;       /* the thread's */
};


/*
 * Runs job on db's thread: opens the file first when needed (WAL,
 * synchronous=FULL, the positions table), creates the sink's table
 * once, then loads or commits; job->rc and job->err say how it went.
 */
void proc_lite_run(proc_lite_db_t *db, proc_lite_job_t *job);


#endif /* _PROC_SQL_LITE_H_INCLUDED_ */
