
/*
 * Copyright (C) Tollgate
 *
 * The PostgreSQL sink's parts (proc_sink_pg.c: the calls, the queue and
 * the connection; proc_sql_pg_round.c: the rounds of pipelined queries
 * a load or a commit sends and what their results mean).
 */


#ifndef _PROC_SQL_PG_H_INCLUDED_
#define _PROC_SQL_PG_H_INCLUDED_


#include <libpq-fe.h>

#include "proc_sql.h"


#define PROC_PG_BACKOFF_MIN   100     /* ms */
#define PROC_PG_BACKOFF_MAX   5000    /* ms */
#define PROC_PG_TIMEOUT       30000   /* ms */


typedef enum {
    PROC_PG_DOWN = 0,           /* not connected, no timer */
    PROC_PG_WAIT,               /* the backoff timer runs */
    PROC_PG_CONNECTING,
    PROC_PG_SETUP,
    PROC_PG_READY
} proc_pg_state_e;


typedef enum {
    PROC_PG_R_SETUP = 0,
    PROC_PG_R_LOAD,
    PROC_PG_R_BEGIN,            /* 1. above */
    PROC_PG_R_WRITE,            /* 2. above */
    PROC_PG_R_ROLLBACK
} proc_pg_round_e;


typedef struct proc_pg_op_s  proc_pg_op_t;

struct proc_pg_op_s {
    proc_pg_op_t           *next;
    proc_sql_batch_t       *batch;      /* NULL: a load */
    unsigned                partition;
    proc_sink_done_pt       done;
    proc_sink_loaded_pt     loaded;
    void                   *data;
    int                     rc;
    char                   *position;   /* a load's results */
    json_t                 *state;
    char                    err[512];
};


typedef struct {
    proc_sink_t             sink;
    proc_sql_conf_t         conf;
    const proc_env_t       *env;
    struct event_base      *base;
    gw_svc_t               *svc;
    char                   *conninfo;
    char                   *insert_sql;
    char                   *create_sql;
    char                   *positions_sql;
    long                    timeout;        /* ms */
    long                    backoff;        /* ms */

    PGconn                 *conn;
    proc_pg_state_e         state;
    struct event           *io;
    int                     io_fd;
    short                   io_what;
    struct event           *timer;
    struct event           *notify;

    proc_pg_op_t           *queue;      /* the head is in flight */
    proc_pg_op_t           *finished;   /* for notify */
    unsigned                busy:1;     /* a round is in flight */
    unsigned                delivering:1;
    unsigned                dead:1;
    unsigned                warned:1;

    proc_pg_round_e         round;
    int                     qi;         /* the query results are for */
    int                     keep;       /* the query whose rows count */
    int                     err_qi;     /* the first failed query, or -1 */
    char                    sqlstate[6];
    char                    err_col[64];
    char                    err[384];
    PGresult               *kept;
} proc_pg_sink_t;


/* op's callback is due (from the notify event, never from here) */
void proc_pg_finish(proc_pg_sink_t *s, proc_pg_op_t *op, int rc);

/* starts the queue's head when the connection is free */
void proc_pg_next(proc_pg_sink_t *s);

/* the connection is gone: everything queued fails, reconnect later */
void proc_pg_lost(proc_pg_sink_t *s, const char *why);

/* the socket event waits for what (EV_READ, EV_WRITE): 0 or -1 */
int proc_pg_watch(proc_pg_sink_t *s, short what);

void proc_pg_log(proc_pg_sink_t *s, gw_svc_level_e level,
    const char *msg, const char *why);

/* sends a round (op NULL: the setup): 0, or -1 when libpq could not */
int proc_pg_send(proc_pg_sink_t *s, proc_pg_round_e round,
    proc_pg_op_t *op);

/* input on the connection: the round's results, or a lost connection */
void proc_pg_read(proc_pg_sink_t *s);


#endif /* _PROC_SQL_PG_H_INCLUDED_ */
