
/*
 * Copyright (C) Tollgate
 *
 * What a SQLite file's thread runs (proc_sink_sqlite.c tells the
 * design): opening the file, a load, and a commit as one transaction,
 * BEGIN IMMEDIATE ... COMMIT, skipped when the batch's position is not
 * after the stored one.  The only code that touches the connection.
 */


#include <stdio.h>
#include <sys/time.h>

#include "proc_sql_lite.h"


static int proc_lite_open(proc_lite_db_t *db, proc_lite_job_t *job);
static int proc_lite_exec(sqlite3 *conn, const char *sql,
    proc_lite_job_t *job);
static void proc_lite_do_load(sqlite3 *conn, proc_lite_job_t *job);
static void proc_lite_do_commit(sqlite3 *conn, proc_lite_job_t *job);
static int proc_lite_stored(sqlite3 *conn, proc_lite_job_t *job,
    int *after);
static int proc_lite_records(sqlite3 *conn, proc_lite_job_t *job);


void
proc_lite_run(proc_lite_db_t *db, proc_lite_job_t *job)
{
    job->rc = PROC_SINK_FAIL;

    if (db->conn == NULL && proc_lite_open(db, job) != 0) {
        return;
    }

    if (!job->sink->ready) {
        if (job->sink->conf.create
            && proc_lite_exec(db->conn, job->sink->create_sql, job) != 0)
        {
            return;
        }

        job->sink->ready = 1;
    }

    if (job->batch == NULL) {
        proc_lite_do_load(db->conn, job);

    } else {
        proc_lite_do_commit(db->conn, job);
    }
}


static int
proc_lite_open(proc_lite_db_t *db, proc_lite_job_t *job)
{
    int             rc;
    char           *sql;
    sqlite3        *conn;
    sqlite3_stmt   *st;

    rc = sqlite3_open_v2(db->path, &conn,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(job->err, sizeof(job->err), "cannot open %s: %s",
                 db->path, conn != NULL ? sqlite3_errmsg(conn)
                                        : sqlite3_errstr(rc));
        goto failed;
    }

    sqlite3_busy_timeout(conn, PROC_LITE_BUSY_MS);

    /* the answer says whether WAL could be set (not on every file) */
    if (sqlite3_prepare_v2(conn, "PRAGMA journal_mode=WAL", -1, &st, NULL)
        != SQLITE_OK)
    {
        snprintf(job->err, sizeof(job->err), "%s: %s", db->path,
                 sqlite3_errmsg(conn));
        goto failed;
    }

    rc = sqlite3_step(st);
    rc = (rc == SQLITE_ROW
          && sqlite3_stricmp((const char *) sqlite3_column_text(st, 0),
                             "wal") == 0);
    sqlite3_finalize(st);

    if (!rc) {
        snprintf(job->err, sizeof(job->err), "%s: WAL mode refused: %s",
                 db->path, sqlite3_errmsg(conn));
        goto failed;
    }

    if (proc_lite_exec(conn, "PRAGMA synchronous=FULL", job) != 0) {
        goto failed;
    }

    sql = proc_sql_positions_sql(PROC_SQL_SQLITE);
    if (sql == NULL) {
        snprintf(job->err, sizeof(job->err), "out of memory");
        goto failed;
    }

    rc = proc_lite_exec(conn, sql, job);
    free(sql);

    if (rc != 0) {
        goto failed;
    }

    db->conn = conn;

    return 0;

failed:

    sqlite3_close_v2(conn);

    return -1;
}


static int
proc_lite_exec(sqlite3 *conn, const char *sql, proc_lite_job_t *job)
{
    if (sqlite3_exec(conn, sql, NULL, NULL, NULL) == SQLITE_OK) {
        return 0;
    }

    snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));

    return -1;
}


static void
proc_lite_do_load(sqlite3 *conn, proc_lite_job_t *job)
{
    int            rc;
    const char    *state;
    sqlite3_stmt  *st;

    rc = sqlite3_prepare_v2(conn,
             "SELECT \"ms\", \"seq\", \"state\" FROM \"tollgate_positions\" "
             "WHERE \"pipeline\" = ?1 AND \"partition\" = ?2", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        return;
    }

    sqlite3_bind_text(st, 1, job->sink->conf.pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, job->partition);

    rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            job->position = malloc(48);
            if (job->position == NULL) {
                goto nomem;
            }

            snprintf(job->position, 48, "%lld-%lld",
                     (long long) sqlite3_column_int64(st, 0),
                     (long long) sqlite3_column_int64(st, 1));
        }

        state = (const char *) sqlite3_column_text(st, 2);

        if (state != NULL) {
            job->state = strdup(state);
            if (job->state == NULL) {
                goto nomem;
            }
        }

    } else if (rc != SQLITE_DONE) {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        sqlite3_finalize(st);
        return;
    }

    sqlite3_finalize(st);
    job->rc = PROC_SINK_OK;

    return;

nomem:

    snprintf(job->err, sizeof(job->err), "out of memory");
    sqlite3_finalize(st);
}


static void
proc_lite_do_commit(sqlite3 *conn, proc_lite_job_t *job)
{
    int                after;
    struct timeval     tv;
    sqlite3_stmt      *st;
    proc_sql_batch_t  *b = job->batch;

    if (proc_lite_exec(conn, "BEGIN IMMEDIATE", job) != 0) {
        return;
    }

    if (proc_lite_stored(conn, job, &after) != 0) {
        goto rollback;
    }

    if (!after) {
        job->rc = PROC_SINK_DUP;
        goto rollback;
    }

    if (proc_lite_records(conn, job) != 0) {
        goto rollback;
    }

    if (sqlite3_prepare_v2(conn,
            "INSERT INTO \"tollgate_positions\" (\"pipeline\", \"partition\","
            " \"ms\", \"seq\", \"state\", \"updated\") "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
            "ON CONFLICT (\"pipeline\", \"partition\") DO UPDATE SET "
            "\"ms\" = excluded.\"ms\", \"seq\" = excluded.\"seq\", "
            "\"state\" = excluded.\"state\", "
            "\"updated\" = excluded.\"updated\"", -1, &st, NULL)
        != SQLITE_OK)
    {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        goto rollback;
    }

    gettimeofday(&tv, NULL);

    sqlite3_bind_text(st, 1, job->sink->conf.pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, b->partition);
    sqlite3_bind_int64(st, 3, (sqlite3_int64) b->ms);
    sqlite3_bind_int64(st, 4, (sqlite3_int64) b->seq);

    if (b->state != NULL) {
        sqlite3_bind_text(st, 5, b->state, -1, SQLITE_STATIC);
    }

    sqlite3_bind_int64(st, 6, (sqlite3_int64) tv.tv_sec * 1000
                              + tv.tv_usec / 1000);

    if (sqlite3_step(st) != SQLITE_DONE) {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        sqlite3_finalize(st);
        goto rollback;
    }

    sqlite3_finalize(st);

    if (proc_lite_exec(conn, "COMMIT", job) != 0) {
        goto rollback;
    }

    job->rc = PROC_SINK_OK;

    return;

rollback:

    if (!sqlite3_get_autocommit(conn)) {
        (void) sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
    }
}


/* *after: the batch's position is after the stored one (or none) */
static int
proc_lite_stored(sqlite3 *conn, proc_lite_job_t *job, int *after)
{
    int                 rc;
    sqlite3_stmt       *st;
    unsigned long long  ms, seq;

    rc = sqlite3_prepare_v2(conn,
             "SELECT \"ms\", \"seq\" FROM \"tollgate_positions\" "
             "WHERE \"pipeline\" = ?1 AND \"partition\" = ?2", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        return -1;
    }

    sqlite3_bind_text(st, 1, job->sink->conf.pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, job->partition);

    rc = sqlite3_step(st);
    *after = 1;

    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        ms = (unsigned long long) sqlite3_column_int64(st, 0);
        seq = (unsigned long long) sqlite3_column_int64(st, 1);

        *after = job->batch->ms > ms
                 || (job->batch->ms == ms && job->batch->seq > seq);

    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        sqlite3_finalize(st);
        return -1;
    }

    sqlite3_finalize(st);

    return 0;
}


static int
proc_lite_records(sqlite3 *conn, proc_lite_job_t *job)
{
    int                 rc, code;
    size_t              r, i, n;
    const char         *col;
    sqlite3_stmt       *st;
    proc_sql_val_t     *v;
    proc_sql_batch_t   *b = job->batch;
    proc_lite_sink_t   *s = job->sink;

    if (b->nrecs == 0) {
        return 0;
    }

    if (sqlite3_prepare_v2(conn, s->insert_sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(job->err, sizeof(job->err), "%s", sqlite3_errmsg(conn));
        return -1;
    }

    n = s->conf.ncols;

    for (r = 0; r < b->nrecs; r++) {
        for (i = 0; i < n; i++) {
            v = &b->vals[r * n + i];

            switch (v->type) {

            case PROC_SQL_VINT:
                sqlite3_bind_int64(st, i + 1, v->i);
                break;

            case PROC_SQL_VREAL:
                sqlite3_bind_double(st, i + 1, v->d);
                break;

            case PROC_SQL_VTEXT:
                sqlite3_bind_text(st, i + 1, v->text, v->len, SQLITE_STATIC);
                break;

            default:
                sqlite3_bind_null(st, i + 1);
            }
        }

        rc = sqlite3_step(st);

        if (rc != SQLITE_DONE) {
            code = sqlite3_extended_errcode(conn) & 0xff;

            if (code == SQLITE_CONSTRAINT || code == SQLITE_MISMATCH
                || code == SQLITE_TOOBIG || code == SQLITE_RANGE)
            {
                col = proc_sql_err_column(&s->conf, sqlite3_errmsg(conn));
                snprintf(job->err, sizeof(job->err),
                         "record %zu: column \"%s\": %s", r,
                         col != NULL ? col : "?", sqlite3_errmsg(conn));
                job->rc = PROC_SINK_BAD;

            } else {
                snprintf(job->err, sizeof(job->err), "record %zu: %s", r,
                         sqlite3_errmsg(conn));
            }

            sqlite3_finalize(st);
            return -1;
        }

        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }

    sqlite3_finalize(st);

    return 0;
}
