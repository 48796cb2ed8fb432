
/*
 * Copyright (C) Tollgate
 *
 * One run on a worker thread: the report writer opened on the spool
 * file, the engine's query streamed into it row by row (rp_sqlite.c,
 * rp_pg.c), the writer closed.  Nothing here holds more than one row:
 * the engine's cursor gives a row, the writer renders it and forgets it.
 *
 * The caps are checked as the rows come: max_rows before a row is
 * written (the run fails, it is not cut short silently), max_bytes on
 * the file's size every RP_STAT_EVERY rows and once more when it is
 * closed, max_seconds by the engines themselves (SQLite's progress
 * handler, PostgreSQL's statement_timeout) and between rows.  The file
 * is written under a temporary name (job->tmp) and renamed when whole:
 * a failed run's file is removed, and a dead instance's half file is
 * never served.  drain_timeout's end (rp.abandon) cuts a run short as
 * max_seconds does.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp.h"


#define RP_STAT_EVERY   256     /* rows between two looks at the size */


void
rp_job_fail(rp_job_t *job, const char *code, const char *fmt, ...)
{
    va_list  ap;

    if (job->code[0] != '\0') {
        return;                 /* the first reason stays */
    }

    snprintf(job->code, sizeof(job->code), "%s", code);

    va_start(ap, fmt);
    vsnprintf(job->error, sizeof(job->error), fmt, ap);
    va_end(ap);
}


int
rp_job_late(rp_job_t *job)
{
    struct timespec  now;

    if (__atomic_load_n(&rp.abandon, __ATOMIC_ACQUIRE)) {
        return 1;
    }

    clock_gettime(CLOCK_MONOTONIC, &now);

    return now.tv_sec > job->deadline.tv_sec
           || (now.tv_sec == job->deadline.tv_sec
               && now.tv_nsec >= job->deadline.tv_nsec);
}


int
rp_job_row(rp_job_t *job, gw_report_writer_t *w,
    const gw_report_value_t *values)
{
    uint64_t     n;
    struct stat  st;

    n = __atomic_load_n(&job->rows, __ATOMIC_RELAXED);

    if (n >= rp.max_rows) {
        rp_job_fail(job, "row-cap", "the report has more than %llu rows "
                    "(max_rows)", (unsigned long long) rp.max_rows);
        return -1;
    }

    /* a PDF lays out every row on pages: a smaller cap of its own */

    if (job->fmt == GW_REPORT_PDF && n >= rp.pdf_max_rows) {
        rp_job_fail(job, "row-cap", "a PDF report has at most %llu rows "
                    "(pdf_max_rows): ask for CSV or XLSX",
                    (unsigned long long) rp.pdf_max_rows);
        return -1;
    }

    if (rp_job_late(job)) {
        rp_job_fail(job, "time-cap", "the report took longer than %lld ms "
                    "(max_seconds)", rp.max_ms);
        return -1;
    }

    if (gw_report_row(w, values) != 0) {
        rp_job_fail(job, "writer-failed", "%s", gw_report_error(w));
        return -1;
    }

    __atomic_store_n(&job->rows, n + 1, __ATOMIC_RELAXED);

    if ((n + 1) % RP_STAT_EVERY == 0 && stat(job->tmp, &st) == 0
        && (uint64_t) st.st_size > rp.max_bytes)
    {
        rp_job_fail(job, "size-cap", "the report is larger than %llu bytes "
                    "(max_bytes)", (unsigned long long) rp.max_bytes);
        return -1;
    }

    return 0;
}


void
rp_job_exec(rp_job_t *job)
{
    int                  rc;
    char                 err[RP_ERR_MAX];
    struct stat          st;
    gw_report_spec_t     spec;
    struct timespec      now;
    gw_report_writer_t  *w;

    __atomic_store_n(&job->state, RP_RUNNING, __ATOMIC_RELEASE);

    clock_gettime(CLOCK_MONOTONIC, &job->deadline);
    job->deadline.tv_sec += rp.max_ms / 1000;
    job->deadline.tv_nsec += (rp.max_ms % 1000) * 1000000;
    if (job->deadline.tv_nsec >= 1000000000) {
        job->deadline.tv_sec++;
        job->deadline.tv_nsec -= 1000000000;
    }

    spec = job->def->spec;
    clock_gettime(CLOCK_REALTIME, &now);
    spec.generated_at = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;

    w = gw_report_open(&spec, job->fmt, job->tmp, err, sizeof(err));
    if (w == NULL) {
        rp_job_fail(job, "writer-failed", "cannot open the writer: %s",
                    err);
        goto failed;
    }

    rc = (rp.pg != NULL && rp.pg[0] != '\0') ? rp_pg_query(job, w)
                                             : rp_sqlite_query(job, w);

    if (gw_report_close(w, err, sizeof(err)) != 0 && rc == 0) {
        rp_job_fail(job, "writer-failed", "%s", err);
        rc = -1;
    }

    if (rc != 0) {
        goto failed;
    }

    if (stat(job->tmp, &st) != 0) {
        rp_job_fail(job, "writer-failed", "the file is gone");
        goto failed;
    }

    if ((uint64_t) st.st_size > rp.max_bytes) {
        rp_job_fail(job, "size-cap", "the report is larger than %llu bytes "
                    "(max_bytes)", (unsigned long long) rp.max_bytes);
        goto failed;
    }

    if (rename(job->tmp, job->path) != 0) {
        rp_job_fail(job, "writer-failed", "cannot rename the file");
        goto failed;
    }

    job->bytes = (uint64_t) st.st_size;
    __atomic_store_n(&job->state, RP_DONE, __ATOMIC_RELEASE);

    return;

failed:

    if (job->code[0] == '\0') {
        rp_job_fail(job, "query-failed", "the query failed");
    }

    (void) unlink(job->tmp);
    __atomic_store_n(&job->state, RP_FAILED, __ATOMIC_RELEASE);
}
