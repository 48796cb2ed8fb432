
/*
 * Copyright (C) Tollgate
 *
 * The PostgreSQL sink's rounds (proc_sink_pg.c tells the protocol): the
 * queries of a setup, a load or a step of a commit, queued in pipeline
 * mode and ended by a sync, then their results read back in order: the
 * first error (its SQLSTATE, column and query index, which for the
 * records' INSERTs is the record's index) and the rows of the one query
 * whose rows count.
 */


#include <stdio.h>

#include "proc_sql_pg.h"


static void proc_pg_result(proc_pg_sink_t *s, PGresult *res);
static void proc_pg_round_done(proc_pg_sink_t *s);
static void proc_pg_begun(proc_pg_sink_t *s, proc_pg_op_t *op);
static void proc_pg_written(proc_pg_sink_t *s, proc_pg_op_t *op);
static void proc_pg_loaded(proc_pg_sink_t *s, proc_pg_op_t *op);


static const char  proc_pg_pos_ins[] =
    "INSERT INTO \"tollgate_positions\" (\"pipeline\", \"partition\") "
    "VALUES ($1, $2) ON CONFLICT DO NOTHING";

static const char  proc_pg_pos_sel[] =
    "SELECT \"ms\", \"seq\" FROM \"tollgate_positions\" "
    "WHERE \"pipeline\" = $1 AND \"partition\" = $2 FOR UPDATE";

static const char  proc_pg_pos_upd[] =
    "UPDATE \"tollgate_positions\" SET \"ms\" = $3, \"seq\" = $4, "
    "\"state\" = $5, \"updated\" = now() "
    "WHERE \"pipeline\" = $1 AND \"partition\" = $2";

static const char  proc_pg_pos_load[] =
    "SELECT \"ms\", \"seq\", \"state\" FROM \"tollgate_positions\" "
    "WHERE \"pipeline\" = $1 AND \"partition\" = $2";


/* input on the connection: results of the round, or a lost link */
void
proc_pg_read(proc_pg_sink_t *s)
{
    PGresult  *res;

    if (PQconsumeInput(s->conn) == 0) {
        proc_pg_lost(s, PQerrorMessage(s->conn));
        return;
    }

    while (s->busy && !PQisBusy(s->conn)) {
        res = PQgetResult(s->conn);

        if (res == NULL) {
            s->qi++;
            continue;
        }

        if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            proc_pg_round_done(s);
            return;
        }

        proc_pg_result(s, res);
    }

    if (PQstatus(s->conn) == CONNECTION_BAD) {
        proc_pg_lost(s, PQerrorMessage(s->conn));
    }
}


static void
proc_pg_result(proc_pg_sink_t *s, PGresult *res)
{
    const char  *v;

    switch (PQresultStatus(res)) {

    case PGRES_FATAL_ERROR:
        if (s->err_qi < 0) {
            s->err_qi = s->qi;

            v = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            snprintf(s->sqlstate, sizeof(s->sqlstate), "%s",
                     v != NULL ? v : "");

            v = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
            snprintf(s->err_col, sizeof(s->err_col), "%s",
                     v != NULL ? v : "");

            v = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            snprintf(s->err, sizeof(s->err), "%s",
                     v != NULL ? v : PQresultErrorMessage(res));
        }

        break;

    case PGRES_TUPLES_OK:
        if (s->qi == s->keep && s->kept == NULL) {
            s->kept = res;
            return;
        }

        break;

    default:
        break;
    }

    PQclear(res);
}


/*
 * Sends one round: its queries and a sync.  0, or -1 when libpq could
 * not queue them (the connection is then dropped by the caller).
 */
int
proc_pg_send(proc_pg_sink_t *s, proc_pg_round_e round, proc_pg_op_t *op)
{
    int                 ok;
    char                part[16], ms[24], seq[24];
    size_t              r, i, n;
    struct timeval      tv;
    const char         *pv[PROC_SQL_COLS_MAX], *pos[5];
    proc_sql_batch_t   *b;

    s->round = round;
    s->qi = 0;
    s->keep = -1;
    s->err_qi = -1;
    s->err[0] = '\0';

    part[0] = '\0';

    if (op != NULL) {
        snprintf(part, sizeof(part), "%u", op->partition);
    }

    pos[0] = s->conf.pipeline;
    pos[1] = part;
    ok = 1;

    switch (round) {

    case PROC_PG_R_SETUP:
        ok = PQsendQueryParams(s->conn, s->positions_sql, 0, NULL, NULL,
                               NULL, NULL, 0);

        if (ok && s->conf.create) {
            ok = PQsendQueryParams(s->conn, s->create_sql, 0, NULL, NULL,
                                   NULL, NULL, 0);
        }

        ok = ok && PQsendPrepare(s->conn, "tg_ins", s->insert_sql,
                                 s->conf.ncols, NULL);
        break;

    case PROC_PG_R_LOAD:
        s->keep = 0;
        ok = PQsendQueryParams(s->conn, proc_pg_pos_load, 2, NULL, pos,
                               NULL, NULL, 0);
        break;

    case PROC_PG_R_BEGIN:
        s->keep = 2;
        ok = PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL,
                               0)
             && PQsendQueryParams(s->conn, proc_pg_pos_ins, 2, NULL, pos,
                                  NULL, NULL, 0)
             && PQsendQueryParams(s->conn, proc_pg_pos_sel, 2, NULL, pos,
                                  NULL, NULL, 0);
        break;

    case PROC_PG_R_WRITE:
        b = op->batch;
        n = s->conf.ncols;

        for (r = 0; ok && r < b->nrecs; r++) {
            for (i = 0; i < n; i++) {
                pv[i] = b->vals[r * n + i].text;
            }

            ok = PQsendQueryPrepared(s->conn, "tg_ins", n, pv, NULL, NULL,
                                     0);
        }

        snprintf(ms, sizeof(ms), "%llu", b->ms);
        snprintf(seq, sizeof(seq), "%llu", b->seq);
        pos[2] = ms;
        pos[3] = seq;
        pos[4] = b->state;

        ok = ok && PQsendQueryParams(s->conn, proc_pg_pos_upd, 5, NULL, pos,
                                     NULL, NULL, 0)
             && PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL,
                                  NULL, 0);
        break;

    case PROC_PG_R_ROLLBACK:
        ok = PQsendQueryParams(s->conn, "ROLLBACK", 0, NULL, NULL, NULL,
                               NULL, 0);
        break;
    }

    if (!ok || !PQpipelineSync(s->conn)) {
        return -1;
    }

    s->busy = 1;

    switch (PQflush(s->conn)) {

    case 0:
        ok = (proc_pg_watch(s, EV_READ) == 0);
        break;

    case 1:
        ok = (proc_pg_watch(s, EV_READ | EV_WRITE) == 0);
        break;

    default:
        return -1;
    }

    if (!ok) {
        return -1;
    }

    tv.tv_sec = s->timeout / 1000;
    tv.tv_usec = (s->timeout % 1000) * 1000;
    evtimer_add(s->timer, &tv);

    return 0;
}


static void
proc_pg_round_done(proc_pg_sink_t *s)
{
    proc_pg_op_t  *op;

    s->busy = 0;
    evtimer_del(s->timer);

    if (s->round == PROC_PG_R_SETUP) {
        if (s->err_qi >= 0) {
            /* once per outage, as the connection's own loss */
            if (!s->warned) {
                proc_pg_log(s, GW_SVC_ERROR, "postgres sink: cannot set up "
                            "its tables", s->err);
                s->warned = 1;
            }

            proc_pg_lost(s, s->err);
            return;
        }

        if (s->warned) {
            proc_pg_log(s, GW_SVC_INFO, "postgres sink: connected", NULL);
        }

        s->warned = 0;
        s->backoff = PROC_PG_BACKOFF_MIN;
        s->state = PROC_PG_READY;
        proc_pg_next(s);
        return;
    }

    op = s->queue;

    switch (s->round) {

    case PROC_PG_R_LOAD:
        proc_pg_loaded(s, op);
        break;

    case PROC_PG_R_BEGIN:
        proc_pg_begun(s, op);
        return;

    case PROC_PG_R_WRITE:
        proc_pg_written(s, op);
        return;

    default:    /* PROC_PG_R_ROLLBACK: op->rc was set before */
        break;
    }

    if (s->kept != NULL) {
        PQclear(s->kept);
        s->kept = NULL;
    }

    s->queue = op->next;
    proc_pg_finish(s, op, op->rc);
    proc_pg_next(s);
}


static void
proc_pg_loaded(proc_pg_sink_t *s, proc_pg_op_t *op)
{
    const char    *state;
    json_error_t   jerr;

    op->rc = PROC_SINK_FAIL;

    if (s->err_qi >= 0 || s->kept == NULL) {
        snprintf(op->err, sizeof(op->err), "PostgreSQL: %s", s->err);
        return;
    }

    if (PQntuples(s->kept) == 1 && !PQgetisnull(s->kept, 0, 0)) {
        op->position = malloc(48);
        if (op->position == NULL) {
            snprintf(op->err, sizeof(op->err), "out of memory");
            return;
        }

        snprintf(op->position, 48, "%s-%s", PQgetvalue(s->kept, 0, 0),
                 PQgetvalue(s->kept, 0, 1));
    }

    if (PQntuples(s->kept) == 1 && !PQgetisnull(s->kept, 0, 2)) {
        state = PQgetvalue(s->kept, 0, 2);

        op->state = json_loads(state, JSON_DECODE_ANY, &jerr);
        if (op->state == NULL) {
            snprintf(op->err, sizeof(op->err), "the stored state of "
                     "partition %u is not JSON: %s", op->partition,
                     jerr.text);
            op->rc = PROC_SINK_BAD;
            return;
        }
    }

    op->rc = PROC_SINK_OK;
}


/* the position row is locked: write, or roll back a duplicate */
static void
proc_pg_begun(proc_pg_sink_t *s, proc_pg_op_t *op)
{
    int                 after;
    PGresult           *res;
    unsigned long long  ms, seq;

    res = s->kept;
    s->kept = NULL;

    if (s->err_qi >= 0 || res == NULL || PQntuples(res) != 1) {
        snprintf(op->err, sizeof(op->err), "PostgreSQL: %s",
                 s->err[0] != '\0' ? s->err : "no position row");
        op->rc = PROC_SINK_FAIL;
        after = 0;

    } else if (PQgetisnull(res, 0, 0)) {
        after = 1;

    } else {
        ms = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        seq = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        after = op->batch->ms > ms
                || (op->batch->ms == ms && op->batch->seq > seq);
        op->rc = PROC_SINK_DUP;
    }

    if (res != NULL) {
        PQclear(res);
    }

    if (proc_pg_send(s, after ? PROC_PG_R_WRITE : PROC_PG_R_ROLLBACK, op)
        != 0)
    {
        proc_pg_lost(s, PQerrorMessage(s->conn));
    }
}


static void
proc_pg_written(proc_pg_sink_t *s, proc_pg_op_t *op)
{
    size_t  i;

    if (s->err_qi < 0) {
        s->queue = op->next;
        proc_pg_finish(s, op, PROC_SINK_OK);
        proc_pg_next(s);
        return;
    }

    op->rc = PROC_SINK_FAIL;
    i = (size_t) s->err_qi;

    if (i < op->batch->nrecs
        && (strncmp(s->sqlstate, "22", 2) == 0
            || strncmp(s->sqlstate, "23", 2) == 0))
    {
        op->rc = PROC_SINK_BAD;
        snprintf(op->err, sizeof(op->err), "record %zu: column \"%s\": %s",
                 i, s->err_col[0] != '\0' ? s->err_col : "?", s->err);

    } else {
        snprintf(op->err, sizeof(op->err), "PostgreSQL: %s (%s)", s->err,
                 s->sqlstate);
    }

    if (proc_pg_send(s, PROC_PG_R_ROLLBACK, op) != 0) {
        proc_pg_lost(s, PQerrorMessage(s->conn));
    }
}
