
/*
 * Copyright (C) Tollgate
 *
 * The PostgreSQL sink, for deployments that outgrow one SQLite file
 * (docs/processing-sql.md).
 *
 * One connection per sink, driven by libpq's non-blocking API on the
 * service's loop: PQconnectStart/PQconnectPoll on socket events, then
 * pipeline mode, so that a commit costs two round trips whatever the
 * number of records:
 *
 *   1. BEGIN; make sure the (pipeline, partition) row exists; SELECT its
 *      position FOR UPDATE (two instances committing one partition wait
 *      for each other here); sync.
 *   2. When the batch is not after the stored position: ROLLBACK, DUP.
 *      Else one INSERT per record (a statement prepared once per
 *      connection, so that the failing record is known by its result),
 *      UPDATE the position and the state, COMMIT; sync.  A failed record
 *      aborts the rest: ROLLBACK, and BAD for a data or constraint error
 *      (SQLSTATE classes 22 and 23) naming the record and the column.
 *
 * Commits of one sink run one at a time in call order.  A lost
 * connection fails the operation in flight and the queued ones
 * (PROC_SINK_FAIL: the server rolled the transaction back, or committed
 * it and the reply was lost, in which case the retry is a DUP), and the
 * sink reconnects after a backoff doubling from 100 ms to 5 s, failing
 * what it is asked meanwhile.  An operation with no answer within
 * "timeout" ms (default 30 s) counts as a lost connection.
 *
 * Callbacks run from an event of their own, never from inside a call.
 * A host name in conninfo is resolved by libpq with a blocking lookup:
 * deployments give hostaddr or a unix socket directory.
 */


#include <stdio.h>

#include "proc_sql_pg.h"


static proc_sink_t *proc_pg_create(const proc_env_t *env,
    const char *pipeline, json_t *conf, char *err, size_t errlen);
static int proc_pg_load(proc_sink_t *s, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen);
static int proc_pg_commit(proc_sink_t *s, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen);
static void proc_pg_free(proc_sink_t *s);
static void proc_pg_destroy(proc_pg_sink_t *s);
static void proc_pg_enqueue(proc_pg_sink_t *s, proc_pg_op_t *op);
static void proc_pg_deliver(evutil_socket_t fd, short what, void *arg);
static void proc_pg_op_free(proc_pg_sink_t *s, proc_pg_op_t *op);
static void proc_pg_notice(void *arg, const char *message);
static void proc_pg_connect(proc_pg_sink_t *s);
static void proc_pg_retry(evutil_socket_t fd, short what, void *arg);
static void proc_pg_io(evutil_socket_t fd, short what, void *arg);
static void proc_pg_poll(proc_pg_sink_t *s);


const proc_sink_ops_t  proc_sink_postgres_ops = {
    "postgres", 1, proc_pg_create, proc_pg_load, proc_pg_commit,
    proc_pg_free
};


static proc_sink_t *
proc_pg_create(const proc_env_t *env, const char *pipeline, json_t *conf,
    char *err, size_t errlen)
{
    char               *msg;
    json_t             *v;
    proc_pg_sink_t     *s;
    PQconninfoOption   *opts;

    static const char *const  extra[] = { "conninfo", "timeout", NULL };

    s = calloc(1, sizeof(proc_pg_sink_t));
    if (s == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    s->sink.ops = &proc_sink_postgres_ops;
    s->base = env->base;
    s->svc = env->svc;
    s->io_fd = -1;
    s->backoff = PROC_PG_BACKOFF_MIN;
    s->timeout = PROC_PG_TIMEOUT;

    if (proc_sql_conf_parse(&s->conf, pipeline, conf, extra, err, errlen)
        != 0)
    {
        goto failed;
    }

    v = json_object_get(conf, "conninfo");
    if (!json_is_string(v)
        || strlen(json_string_value(v)) != json_string_length(v))
    {
        snprintf(err, errlen, "/conninfo: a libpq connection string is "
                 "required");
        goto failed;
    }

    msg = NULL;
    opts = PQconninfoParse(json_string_value(v), &msg);
    if (opts == NULL) {
        snprintf(err, errlen, "/conninfo: %s",
                 msg != NULL ? msg : "out of memory");
        PQfreemem(msg);
        goto failed;
    }

    PQconninfoFree(opts);

    v = json_object_get(conf, "timeout");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 100
            || json_integer_value(v) > 600000)
        {
            snprintf(err, errlen, "/timeout: milliseconds, 100 to 600000");
            goto failed;
        }

        s->timeout = json_integer_value(v);
    }

    s->conninfo = strdup(json_string_value(json_object_get(conf,
                                                           "conninfo")));
    s->insert_sql = proc_sql_insert_sql(&s->conf, PROC_SQL_PG);
    s->create_sql = proc_sql_create_sql(&s->conf, PROC_SQL_PG);
    s->positions_sql = proc_sql_positions_sql(PROC_SQL_PG);
    s->timer = evtimer_new(s->base, proc_pg_retry, s);
    s->notify = event_new(s->base, -1, 0, proc_pg_deliver, s);

    if (s->conninfo == NULL || s->insert_sql == NULL
        || s->create_sql == NULL || s->positions_sql == NULL
        || s->timer == NULL || s->notify == NULL)
    {
        snprintf(err, errlen, ": out of memory");
        goto failed;
    }

    return &s->sink;

failed:

    proc_pg_destroy(s);

    return NULL;
}


static int
proc_pg_load(proc_sink_t *sink, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen)
{
    proc_pg_op_t    *op;
    proc_pg_sink_t  *s = (proc_pg_sink_t *) sink;

    op = calloc(1, sizeof(proc_pg_op_t));
    if (op == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    op->partition = partition;
    op->loaded = done;
    op->data = data;

    proc_pg_enqueue(s, op);

    return 0;
}


static int
proc_pg_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    int              rc;
    proc_pg_op_t    *op;
    proc_pg_sink_t  *s = (proc_pg_sink_t *) sink;

    op = calloc(1, sizeof(proc_pg_op_t));
    if (op == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    op->partition = b->partition;
    op->done = done;
    op->data = data;

    op->batch = proc_sql_batch_make(&s->conf, b, &rc, op->err,
                                    sizeof(op->err));
    if (op->batch == NULL) {
        if (rc == -1) {
            snprintf(err, errlen, "%s", op->err);
            free(op);
            return -1;
        }

        proc_pg_finish(s, op, rc);
        return 0;
    }

    proc_pg_enqueue(s, op);

    return 0;
}


static void
proc_pg_free(proc_sink_t *sink)
{
    proc_pg_sink_t  *s = (proc_pg_sink_t *) sink;

    if (s == NULL) {
        return;
    }

    if (s->delivering) {
        s->dead = 1;        /* proc_pg_deliver() destroys it */
        return;
    }

    proc_pg_destroy(s);
}


static void
proc_pg_destroy(proc_pg_sink_t *s)
{
    proc_pg_op_t  *op;

    while (s->queue != NULL) {
        op = s->queue;
        s->queue = op->next;
        proc_pg_op_free(s, op);
    }

    while (s->finished != NULL) {
        op = s->finished;
        s->finished = op->next;
        proc_pg_op_free(s, op);
    }

    if (s->io != NULL) {
        event_free(s->io);
    }

    if (s->timer != NULL) {
        event_free(s->timer);
    }

    if (s->notify != NULL) {
        event_free(s->notify);
    }

    if (s->kept != NULL) {
        PQclear(s->kept);
    }

    if (s->conn != NULL) {
        PQfinish(s->conn);
    }

    proc_sql_conf_free(&s->conf);
    free(s->conninfo);
    free(s->insert_sql);
    free(s->create_sql);
    free(s->positions_sql);
    free(s);
}


static void
proc_pg_enqueue(proc_pg_sink_t *s, proc_pg_op_t *op)
{
    proc_pg_op_t  **pp;

    if (s->state == PROC_PG_WAIT) {
        snprintf(op->err, sizeof(op->err), "PostgreSQL is not connected "
                 "(%s)", s->err);
        proc_pg_finish(s, op, PROC_SINK_FAIL);
        return;
    }

    for (pp = &s->queue; *pp != NULL; pp = &(*pp)->next) {
        /* void */
    }

    *pp = op;
    op->next = NULL;

    proc_pg_next(s);
}


/* op leaves the queue (or was never on it): its callback is due */
void
proc_pg_finish(proc_pg_sink_t *s, proc_pg_op_t *op, int rc)
{
    proc_pg_op_t  **pp;

    op->rc = rc;

    for (pp = &s->finished; *pp != NULL; pp = &(*pp)->next) {
        /* void */
    }

    *pp = op;
    op->next = NULL;

    event_active(s->notify, EV_TIMEOUT, 0);
}


static void
proc_pg_deliver(evutil_socket_t fd, short what, void *arg)
{
    proc_pg_op_t    *op;
    proc_pg_sink_t  *s = arg;

    s->delivering = 1;

    while (!s->dead && s->finished != NULL) {
        op = s->finished;
        s->finished = op->next;

        if (op->done != NULL) {
            op->done(op->data, op->rc, op->rc == PROC_SINK_OK ? NULL
                                                                : op->err);

        } else {
            op->loaded(op->data, op->rc, op->position, op->state,
                       op->rc == PROC_SINK_OK ? NULL : op->err);
        }

        proc_pg_op_free(s, op);
    }

    s->delivering = 0;

    if (s->dead) {
        proc_pg_destroy(s);
    }
}


static void
proc_pg_op_free(proc_pg_sink_t *s, proc_pg_op_t *op)
{
    proc_sql_batch_free(op->batch, s->conf.ncols);
    free(op->position);
    json_decref(op->state);
    free(op);
}


/* starts the head of the queue when the connection is free */
void
proc_pg_next(proc_pg_sink_t *s)
{
    proc_pg_op_t  *op;

    if (s->queue == NULL || s->busy) {
        return;
    }

    if (s->state == PROC_PG_DOWN) {
        proc_pg_connect(s);
        return;
    }

    if (s->state != PROC_PG_READY) {
        return;
    }

    op = s->queue;

    if (proc_pg_send(s, op->batch == NULL ? PROC_PG_R_LOAD
                                          : PROC_PG_R_BEGIN, op)
        != 0)
    {
        proc_pg_lost(s, PQerrorMessage(s->conn));
    }
}


static void
proc_pg_notice(void *arg, const char *message)
{
    /* notices are the server's remarks, not errors: dropped */
}


static void
proc_pg_connect(proc_pg_sink_t *s)
{
    struct timeval  tv;

    s->conn = PQconnectStart(s->conninfo);

    if (s->conn == NULL || PQstatus(s->conn) == CONNECTION_BAD) {
        proc_pg_lost(s, s->conn != NULL ? PQerrorMessage(s->conn)
                                        : "out of memory");
        return;
    }

    /* "relation ... already exists, skipping" and the like */
    PQsetNoticeProcessor(s->conn, proc_pg_notice, s);

    s->state = PROC_PG_CONNECTING;
    tv.tv_sec = s->timeout / 1000;
    tv.tv_usec = (s->timeout % 1000) * 1000;
    evtimer_add(s->timer, &tv);

    /* as if PQconnectPoll() had answered PGRES_POLLING_WRITING */
    if (proc_pg_watch(s, EV_WRITE) != 0) {
        proc_pg_lost(s, "out of memory");
    }
}


/*
 * The connection is gone (or never came): everything queued fails, and
 * a new attempt starts after the backoff.
 */
void
proc_pg_lost(proc_pg_sink_t *s, const char *why)
{
    size_t          n, i;
    struct timeval  tv;
    proc_pg_op_t   *op;

    /* why may be s->err itself (a failed setup) */
    if (why != s->err) {
        snprintf(s->err, sizeof(s->err), "%s", why != NULL ? why : "");
    }

    n = strlen(s->err);

    while (n > 0 && (s->err[n - 1] == '\n' || s->err[n - 1] == ' ')) {
        s->err[--n] = '\0';
    }

    /* libpq's messages run over lines: one line for logs and callers */
    for (i = 0; i < n; i++) {
        if (s->err[i] == '\n' || s->err[i] == '\t') {
            s->err[i] = ' ';
        }
    }

    if (!s->warned) {
        proc_pg_log(s, GW_SVC_WARN, "postgres sink: connection lost", s->err);
        s->warned = 1;
    }

    if (s->io != NULL) {
        event_free(s->io);
        s->io = NULL;
        s->io_fd = -1;
    }

    if (s->conn != NULL) {
        PQfinish(s->conn);
        s->conn = NULL;
    }

    if (s->kept != NULL) {
        PQclear(s->kept);
        s->kept = NULL;
    }

    s->busy = 0;

    while (s->queue != NULL) {
        op = s->queue;
        s->queue = op->next;
        snprintf(op->err, sizeof(op->err), "PostgreSQL: %s", s->err);
        proc_pg_finish(s, op, PROC_SINK_FAIL);
    }

    s->state = PROC_PG_WAIT;
    tv.tv_sec = s->backoff / 1000;
    tv.tv_usec = (s->backoff % 1000) * 1000;
    evtimer_add(s->timer, &tv);

    s->backoff *= 2;
    if (s->backoff > PROC_PG_BACKOFF_MAX) {
        s->backoff = PROC_PG_BACKOFF_MAX;
    }
}


/* the backoff ended, or an operation timed out */
static void
proc_pg_retry(evutil_socket_t fd, short what, void *arg)
{
    proc_pg_sink_t  *s = arg;

    if (s->state == PROC_PG_WAIT) {
        s->state = PROC_PG_DOWN;
        proc_pg_connect(s);
        return;
    }

    proc_pg_lost(s, "no answer in time");
}


int
proc_pg_watch(proc_pg_sink_t *s, short what)
{
    int  fd;

    fd = PQsocket(s->conn);

    if (s->io != NULL && s->io_fd == fd && s->io_what == what) {
        return 0;
    }

    if (s->io != NULL) {
        event_free(s->io);
    }

    s->io_fd = fd;
    s->io_what = what;
    s->io = event_new(s->base, fd, what | EV_PERSIST, proc_pg_io, s);

    if (s->io == NULL || event_add(s->io, NULL) != 0) {
        return -1;
    }

    return 0;
}


static void
proc_pg_io(evutil_socket_t fd, short what, void *arg)
{
    proc_pg_sink_t  *s = arg;

    if (s->state == PROC_PG_CONNECTING) {
        proc_pg_poll(s);
        return;
    }

    if (what & EV_WRITE) {
        switch (PQflush(s->conn)) {

        case 0:
            if (proc_pg_watch(s, EV_READ) != 0) {
                proc_pg_lost(s, "out of memory");
                return;
            }

            break;

        case 1:
            break;

        default:
            proc_pg_lost(s, PQerrorMessage(s->conn));
            return;
        }
    }

    if (what & EV_READ) {
        proc_pg_read(s);
    }
}


static void
proc_pg_poll(proc_pg_sink_t *s)
{
    int  rc;

    switch (PQconnectPoll(s->conn)) {

    case PGRES_POLLING_READING:
        rc = proc_pg_watch(s, EV_READ);
        break;

    case PGRES_POLLING_WRITING:
        rc = proc_pg_watch(s, EV_WRITE);
        break;

    case PGRES_POLLING_OK:
        if (PQsetnonblocking(s->conn, 1) != 0
            || PQenterPipelineMode(s->conn) != 1)
        {
            proc_pg_lost(s, PQerrorMessage(s->conn));
            return;
        }

        s->state = PROC_PG_SETUP;

        if (proc_pg_send(s, PROC_PG_R_SETUP, NULL) != 0) {
            proc_pg_lost(s, PQerrorMessage(s->conn));
        }

        return;

    default:
        proc_pg_lost(s, PQerrorMessage(s->conn));
        return;
    }

    if (rc != 0) {
        proc_pg_lost(s, "out of memory");
    }
}


void
proc_pg_log(proc_pg_sink_t *s, gw_svc_level_e level, const char *msg,
    const char *why)
{
    json_t  *fields;

    if (s->svc == NULL) {
        return;
    }

    fields = json_pack("{s:s}", "pipeline", s->conf.pipeline);

    if (fields != NULL && why != NULL) {
        json_object_set_new(fields, "error", gw_svc_json_string(why));
    }

    gw_svc_log(s->svc, level, NULL, msg, fields);
}
