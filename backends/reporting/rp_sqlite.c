
/*
 * Copyright (C) Tollgate
 *
 * A report's query over the processing engine's SQLite store, on a
 * worker thread, with a connection of its own that can only read:
 *
 *   - the file is opened SQLITE_OPEN_READONLY (nothing can write it, a
 *     missing file is not created) and PRAGMA query_only=1 is set;
 *   - the query is one statement (a second one after ";" is refused),
 *     and sqlite3_stmt_readonly() must say it reads;
 *   - an authorizer refuses ATTACH, DETACH and every PRAGMA, and no
 *     database may be attached (SQLITE_LIMIT_ATTACHED 0): the query sees
 *     the store's file and nothing else;
 *   - every parameter is named (":name", "@name" or "$name") and bound
 *     from the run's checked parameters, never spliced into the text; a
 *     name the definition does not declare fails the run, a "?" too.
 *
 * max_seconds is kept by a progress handler that interrupts the
 * statement past the job's deadline.  Result columns are matched to the
 * definition's columns by name; a column the query does not give fails
 * the run before any row is written.
 */


#include <string.h>

#include <sqlite3.h>

#include "rp.h"


#define RP_SQLITE_BUSY      5000    /* ms waiting for a writer's lock */
#define RP_SQLITE_STEPS     1000    /* VM steps between deadline checks */


static int rp_sqlite_auth(void *data, int action, const char *a,
    const char *b, const char *c, const char *d);
static int rp_sqlite_progress(void *data);
static int rp_sqlite_bind(rp_job_t *job, sqlite3_stmt *st);
static void rp_sqlite_cell(const gw_report_column_t *col, sqlite3_stmt *st,
    int i, gw_report_value_t *v);


int
rp_sqlite_query(rp_job_t *job, gw_report_writer_t *w)
{
    int                 i, j, n, rc, map[GW_REPORT_MAX_COLUMNS];
    sqlite3            *db;
    const char         *tail, *name;
    sqlite3_stmt       *st;
    gw_report_value_t   values[GW_REPORT_MAX_COLUMNS];

    st = NULL;
    rc = -1;

    if (sqlite3_open_v2(rp.sqlite, &db,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
    {
        rp_job_fail(job, "store-unavailable", "cannot open the store: %s",
                    db != NULL ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }

    sqlite3_busy_timeout(db, RP_SQLITE_BUSY);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, RP_QUERY_MAX);

    if (sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL)
        != SQLITE_OK
        || sqlite3_set_authorizer(db, rp_sqlite_auth, NULL) != SQLITE_OK)
    {
        rp_job_fail(job, "store-unavailable", "cannot make the connection "
                    "read-only: %s", sqlite3_errmsg(db));
        goto done;
    }

    sqlite3_progress_handler(db, RP_SQLITE_STEPS, rp_sqlite_progress, job);

    if (sqlite3_prepare_v2(db, job->def->query, -1, &st, &tail)
        != SQLITE_OK || st == NULL)
    {
        rp_job_fail(job, "query-refused", "the query does not compile: %s",
                    sqlite3_errmsg(db));
        goto done;
    }

    tail += strspn(tail, " \t\r\n;");
    if (*tail != '\0') {
        rp_job_fail(job, "query-refused", "the query is more than one "
                    "statement");
        goto done;
    }

    if (!sqlite3_stmt_readonly(st)) {
        rp_job_fail(job, "query-refused", "the query writes: a report may "
                    "only read");
        goto done;
    }

    n = sqlite3_column_count(st);

    for (i = 0; i < job->def->spec.ncolumns; i++) {
        for (j = 0; j < n; j++) {
            name = sqlite3_column_name(st, j);
            if (name != NULL && strcmp(name, job->def->columns[i].name) == 0)
            {
                break;
            }
        }

        if (j == n) {
            rp_job_fail(job, "query-refused", "the query has no column "
                        "\"%.64s\"", job->def->columns[i].name);
            goto done;
        }

        map[i] = j;
    }

    if (rp_sqlite_bind(job, st) != 0) {
        goto done;
    }

    for ( ;; ) {
        rc = sqlite3_step(st);

        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }

        if (rc != SQLITE_ROW) {
            if (rc == SQLITE_INTERRUPT || rp_job_late(job)) {
                rp_job_fail(job, "time-cap", "the report took longer than "
                            "%lld ms (max_seconds)", rp.max_ms);
            } else {
                rp_job_fail(job, "query-failed", "the query failed: %s",
                            sqlite3_errmsg(db));
            }
            rc = -1;
            break;
        }

        for (i = 0; i < job->def->spec.ncolumns; i++) {
            rp_sqlite_cell(&job->def->columns[i], st, map[i], &values[i]);
        }

        if (rp_job_row(job, w, values) != 0) {
            rc = -1;
            break;
        }
    }

done:

    sqlite3_finalize(st);
    sqlite3_close(db);

    return rc;
}


/* binds every named parameter from the job's checked parameters */
static int
rp_sqlite_bind(rp_job_t *job, sqlite3_stmt *st)
{
    int          i, n, rc;
    json_t      *v;
    const char  *name;

    n = sqlite3_bind_parameter_count(st);

    for (i = 1; i <= n; i++) {
        name = sqlite3_bind_parameter_name(st, i);

        if (name == NULL || name[0] == '?') {
            rp_job_fail(job, "query-refused", "the query's parameters must "
                        "be named (:name)");
            return -1;
        }

        v = json_object_get(job->params, name + 1);
        if (v == NULL) {
            rp_job_fail(job, "query-refused", "the query names an "
                        "undeclared parameter \"%.64s\"", name + 1);
            return -1;
        }

        switch (json_typeof(v)) {
        case JSON_STRING:
            rc = sqlite3_bind_text(st, i, json_string_value(v),
                                   (int) json_string_length(v),
                                   SQLITE_STATIC);
            break;
        case JSON_INTEGER:
            rc = sqlite3_bind_int64(st, i, json_integer_value(v));
            break;
        case JSON_REAL:
            rc = sqlite3_bind_double(st, i, json_real_value(v));
            break;
        case JSON_TRUE:
            rc = sqlite3_bind_int(st, i, 1);
            break;
        case JSON_FALSE:
            rc = sqlite3_bind_int(st, i, 0);
            break;
        default:
            rc = sqlite3_bind_null(st, i);
        }

        if (rc != SQLITE_OK) {
            rp_job_fail(job, "query-failed", "cannot bind \"%.64s\"",
                        name + 1);
            return -1;
        }
    }

    return 0;
}


static void
rp_sqlite_cell(const gw_report_column_t *col, sqlite3_stmt *st, int i,
    gw_report_value_t *v)
{
    int  t;

    memset(v, 0, sizeof(gw_report_value_t));
    t = sqlite3_column_type(st, i);

    switch (t) {

    case SQLITE_NULL:
        v->kind = GW_REPORT_NULL;
        return;

    case SQLITE_INTEGER:
        v->i = sqlite3_column_int64(st, i);

        switch (col->type) {
        case GW_REPORT_COL_DATE:
        case GW_REPORT_COL_DATETIME:
            v->kind = GW_REPORT_V_TIME;        /* ms since the epoch */
            break;
        case GW_REPORT_COL_NUMBER:
        case GW_REPORT_COL_CURRENCY:
        case GW_REPORT_COL_PERCENT:
            v->kind = GW_REPORT_V_DOUBLE;
            v->d = (double) v->i;
            break;
        default:
            v->kind = GW_REPORT_V_INT;
        }
        return;

    case SQLITE_FLOAT:
        v->d = sqlite3_column_double(st, i);

        if (col->type == GW_REPORT_COL_DATE
            || col->type == GW_REPORT_COL_DATETIME)
        {
            v->kind = GW_REPORT_V_TIME;
            v->i = (int64_t) v->d;

        } else {
            v->kind = GW_REPORT_V_DOUBLE;
        }
        return;

    default:
        rp_value_text(col, (const char *) sqlite3_column_text(st, i),
                      (size_t) sqlite3_column_bytes(st, i), v);
    }
}


/* only reading: no ATTACH, DETACH or PRAGMA (query_only is set before) */
static int
rp_sqlite_auth(void *data, int action, const char *a, const char *b,
    const char *c, const char *d)
{
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_PRAGMA:
        return SQLITE_DENY;
    default:
        return SQLITE_OK;
    }
}


static int
rp_sqlite_progress(void *data)
{
    return rp_job_late(data);
}
