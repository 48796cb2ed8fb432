
/*
 * Copyright (C) Tollgate
 *
 * A report's query over PostgreSQL (pg, or pg_replica when given), on a
 * worker thread with a connection of its own for the run:
 *
 *   BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = <ms>;
 *   the query, its parameters bound (PQexecParams, text values, never
 *   spliced), its rows read one at a time (PQsetSingleRowMode: libpq
 *   holds one row, not the result); ROLLBACK.
 *
 * A definition's parameters are named ":name" (as for SQLite); they are
 * rewritten to $1, $2, ... outside quotes, identifiers and comments, in
 * the order of their first use, each name bound once.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rp.h"


#define RP_PG_CONNECT   "10"    /* seconds */


typedef struct {
    char                   *sql;
    const char             *names[RP_PARAMS_MAX];
    int                     n;
} rp_pg_sql_t;


static int rp_pg_rewrite(rp_job_t *job, rp_pg_sql_t *q);
static int rp_pg_exec(rp_job_t *job, PGconn *c, const char *sql);


int
rp_pg_query(rp_job_t *job, gw_report_writer_t *w)
{
    int                 i, j, n, rc, map[GW_REPORT_MAX_COLUMNS];
    char                set[80], bufs[RP_PARAMS_MAX][32];
    json_t             *v;
    PGconn             *c;
    PGresult           *res;
    const char         *vals[RP_PARAMS_MAX];
    rp_pg_sql_t         q;
    gw_report_value_t   values[GW_REPORT_MAX_COLUMNS];

    rc = -1;
    memset(&q, 0, sizeof(q));

    /* the connection string, then a connect timeout of our own: a
     * store that does not answer must not hold a worker for minutes */
    c = PQconnectdbParams((const char *[]) { "dbname", "connect_timeout",
                                             NULL },
                          (const char *[]) { rp.pg, RP_PG_CONNECT, NULL },
                          1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        rp_job_fail(job, "store-unavailable", "cannot connect to "
                    "PostgreSQL: %s", c != NULL ? PQerrorMessage(c) : "");
        goto done;
    }

    snprintf(set, sizeof(set), "SET LOCAL statement_timeout = %lld",
             rp.max_ms);

    if (rp_pg_exec(job, c, "BEGIN TRANSACTION READ ONLY") != 0
        || rp_pg_exec(job, c, set) != 0
        || rp_pg_rewrite(job, &q) != 0)
    {
        goto done;
    }

    for (i = 0; i < q.n; i++) {
        v = json_object_get(job->params, q.names[i]);

        switch (json_typeof(v)) {
        case JSON_STRING:
            vals[i] = json_string_value(v);
            break;
        case JSON_INTEGER:
            snprintf(bufs[i], sizeof(bufs[i]), "%lld",
                     (long long) json_integer_value(v));
            vals[i] = bufs[i];
            break;
        case JSON_REAL:
            snprintf(bufs[i], sizeof(bufs[i]), "%.17g", json_real_value(v));
            vals[i] = bufs[i];
            break;
        case JSON_TRUE:
            vals[i] = "true";
            break;
        case JSON_FALSE:
            vals[i] = "false";
            break;
        default:
            vals[i] = NULL;
        }
    }

    if (!PQsendQueryParams(c, q.sql, q.n, NULL, vals, NULL, NULL, 0)
        || !PQsetSingleRowMode(c))
    {
        rp_job_fail(job, "query-failed", "%s", PQerrorMessage(c));
        goto done;
    }

    n = -1;

    while ((res = PQgetResult(c)) != NULL) {
        if (PQresultStatus(res) == PGRES_SINGLE_TUPLE && rc == -1
            && job->code[0] == '\0')
        {
            if (n < 0) {
                n = PQnfields(res);
                for (i = 0; i < job->def->spec.ncolumns; i++) {
                    map[i] = PQfnumber(res, job->def->columns[i].name);
                    if (map[i] < 0) {
                        rp_job_fail(job, "query-refused", "the query has "
                                    "no column \"%.64s\"",
                                    job->def->columns[i].name);
                    }
                }
            }

            for (i = 0; job->code[0] == '\0'
                        && i < job->def->spec.ncolumns; i++)
            {
                j = map[i];
                if (PQgetisnull(res, 0, j)) {
                    memset(&values[i], 0, sizeof(gw_report_value_t));
                } else {
                    rp_value_text(&job->def->columns[i],
                                  PQgetvalue(res, 0, j),
                                  (size_t) PQgetlength(res, 0, j),
                                  &values[i]);
                }
            }

            if (job->code[0] == '\0') {
                (void) rp_job_row(job, w, values);
            }

        } else if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            if (job->code[0] == '\0') {
                rc = 0;
            }

        } else if (PQresultStatus(res) != PGRES_SINGLE_TUPLE) {
            if (strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL
                       ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "",
                       "57014") == 0)
            {
                rp_job_fail(job, "time-cap", "the report took longer than "
                            "%lld ms (max_seconds)", rp.max_ms);
            } else if (strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE)
                              != NULL
                              ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                              : "", "25006") == 0)
            {
                rp_job_fail(job, "query-refused", "the query writes: a "
                            "report may only read");
            } else {
                rp_job_fail(job, "query-failed", "the query failed: %s",
                            PQresultErrorMessage(res));
            }
        }

        PQclear(res);

        if (job->code[0] != '\0' && rc == -1) {
            /* a cap or an error: the rest is not wanted */
            (void) PQrequestCancel(c);
        }
    }

    if (job->code[0] != '\0') {
        rc = -1;
    }

    if (rc == 0) {
        (void) rp_pg_exec(job, c, "ROLLBACK");
    }

done:

    free(q.sql);
    PQfinish(c);

    return rc;
}


static int
rp_pg_exec(rp_job_t *job, PGconn *c, const char *sql)
{
    PGresult  *res;

    res = PQexec(c, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rp_job_fail(job, "store-unavailable", "%s", PQerrorMessage(c));
        PQclear(res);
        return -1;
    }

    PQclear(res);

    return 0;
}


/* ":name" -> "$k" outside '...', "...", -- and block comments; "::" is
 * PostgreSQL's cast and stays */
static int
rp_pg_rewrite(rp_job_t *job, rp_pg_sql_t *q)
{
    int          k;
    char        *o, name[65];
    size_t       len, m;
    const char  *s;

    s = job->def->query;
    len = strlen(s);

    q->sql = malloc(len * 2 + 1);
    if (q->sql == NULL) {
        rp_job_fail(job, "query-failed", "out of memory");
        return -1;
    }

    o = q->sql;

    while (*s != '\0') {
        if (*s == '\'' || *s == '"') {
            m = 1 + strcspn(s + 1, *s == '\'' ? "'" : "\"");
            m += (s[m] != '\0');
            memcpy(o, s, m);
            o += m;
            s += m;
            continue;
        }

        if (s[0] == '-' && s[1] == '-') {
            m = strcspn(s, "\n");
            memcpy(o, s, m);
            o += m;
            s += m;
            continue;
        }

        if (s[0] == '/' && s[1] == '*') {
            const char  *e = strstr(s + 2, "*/");
            m = (e != NULL) ? (size_t) (e - s) + 2 : strlen(s);
            memcpy(o, s, m);
            o += m;
            s += m;
            continue;
        }

        if (s[0] == ':' && s[1] == ':') {
            *o++ = *s++;
            *o++ = *s++;
            continue;
        }

        if (s[0] == ':' && ((s[1] >= 'a' && s[1] <= 'z') || s[1] == '_')) {
            m = strspn(s + 1, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (m > 64) {
                rp_job_fail(job, "query-refused", "a parameter's name is "
                            "too long");
                return -1;
            }
            memcpy(name, s + 1, m);
            name[m] = '\0';

            if (json_object_get(job->params, name) == NULL) {
                rp_job_fail(job, "query-refused", "the query names an "
                            "undeclared parameter \"%s\"", name);
                return -1;
            }

            for (k = 0; k < q->n; k++) {
                if (strcmp(q->names[k], name) == 0) {
                    break;
                }
            }

            if (k == q->n) {
                if (q->n == RP_PARAMS_MAX) {
                    rp_job_fail(job, "query-refused", "too many "
                                "parameters");
                    return -1;
                }
                /* the key lives as long as job->params */
                q->names[q->n++] = json_object_iter_key(
                                       json_object_iter_at(job->params,
                                                           name));
            }

            o += sprintf(o, "$%d", k + 1);
            s += 1 + m;
            continue;
        }

        *o++ = *s++;
    }

    *o = '\0';

    return 0;
}
