
/*
 * Copyright (C) Tollgate
 *
 * The SQLite sink, the embedded default store (docs/processing-sql.md).
 *
 * SQLite's calls block, so each database file gets a thread of its own
 * with its own connection, shared by every sink of the process on that
 * file (of one event base): the loop queues jobs (a load, a commit) and
 * the thread runs them in order; a finished job goes on a done list and
 * a byte on a pipe wakes the loop, which runs the callbacks.  A commit is
 * one transaction (BEGIN IMMEDIATE, so that two writers never deadlock
 * upgrading their locks): the stored position of (pipeline, partition)
 * is read, the batch is skipped when it is not after it, else the
 * records and then the position and the state are written, and COMMIT.
 *
 * Durability: WAL with synchronous=FULL.  In WAL mode a commit is in the
 * file (the OS's cache) before COMMIT returns, so even NORMAL survives a
 * kill -9 of the process; FULL also syncs the WAL at each commit, so that
 * a commit survives a crash of the machine too.  That matters here: the
 * source entries are acknowledged (XACK) once the sink confirmed, so a
 * commit the store lost after the acknowledgement would be an event lost.
 * One fsync per batch (512 events by default) is cheap.
 *
 * free() takes the sink's queued jobs back and waits for its running job
 * (at most one transaction, bounded by busy_timeout); the last sink of a
 * file stops its thread.
 */


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

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
    proc_lite_job_t        *todo;
    proc_lite_job_t        *done;
    proc_lite_job_t        *running;
    int                     quit;
    int                     fd[2];
    struct event           *ev;
    sqlite3                *conn;       /* the thread's */
};


static proc_sink_t *proc_lite_create(const proc_env_t *env,
    const char *pipeline, json_t *conf, char *err, size_t errlen);
static int proc_lite_load(proc_sink_t *s, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen);
static int proc_lite_commit(proc_sink_t *s, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen);
static void proc_lite_free(proc_sink_t *s);

static proc_lite_db_t *proc_lite_db_get(struct event_base *base,
    const char *path, char *err, size_t errlen);
static void proc_lite_db_release(proc_lite_db_t *db);
static void proc_lite_db_destroy(proc_lite_db_t *db);
static void proc_lite_queue(proc_lite_db_t *db, proc_lite_job_t *job,
    int finished);
static void proc_lite_wake(proc_lite_db_t *db);
static void proc_lite_drain(evutil_socket_t fd, short what, void *arg);
static void proc_lite_job_free(proc_lite_job_t *job);
static void *proc_lite_thread(void *arg);
static void proc_lite_run(proc_lite_db_t *db, proc_lite_job_t *job);
static int proc_lite_open(proc_lite_db_t *db, proc_lite_job_t *job);
static int proc_lite_exec(sqlite3 *conn, const char *sql,
    proc_lite_job_t *job);
static void proc_lite_do_load(sqlite3 *conn, proc_lite_job_t *job);
static void proc_lite_do_commit(sqlite3 *conn, proc_lite_job_t *job);
static int proc_lite_stored(sqlite3 *conn, proc_lite_job_t *job,
    int *after);
static int proc_lite_records(sqlite3 *conn, proc_lite_job_t *job);


const proc_sink_ops_t  proc_sink_sqlite_ops = {
    "sqlite", 1, proc_lite_create, proc_lite_load, proc_lite_commit,
    proc_lite_free
};


static proc_lite_db_t  *proc_lite_dbs;     /* the loop's */


static proc_sink_t *
proc_lite_create(const proc_env_t *env, const char *pipeline, json_t *conf,
    char *err, size_t errlen)
{
    json_t            *path;
    proc_lite_sink_t  *s;

    static const char *const  extra[] = { "path", NULL };

    s = calloc(1, sizeof(proc_lite_sink_t));
    if (s == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    s->sink.ops = &proc_sink_sqlite_ops;

    if (proc_sql_conf_parse(&s->conf, pipeline, conf, extra, err, errlen)
        != 0)
    {
        goto failed;
    }

    path = json_object_get(conf, "path");
    if (!json_is_string(path) || json_string_length(path) == 0
        || strlen(json_string_value(path)) != json_string_length(path)
        || json_string_length(path) > 4096)
    {
        snprintf(err, errlen, "/path: the database file's path is "
                 "required");
        goto failed;
    }

    s->insert_sql = proc_sql_insert_sql(&s->conf, PROC_SQL_SQLITE);
    s->create_sql = proc_sql_create_sql(&s->conf, PROC_SQL_SQLITE);

    if (s->insert_sql == NULL || s->create_sql == NULL) {
        snprintf(err, errlen, ": out of memory");
        goto failed;
    }

    s->db = proc_lite_db_get(env->base, json_string_value(path), err,
                             errlen);
    if (s->db == NULL) {
        goto failed;
    }

    return &s->sink;

failed:

    proc_sql_conf_free(&s->conf);
    free(s->insert_sql);
    free(s->create_sql);
    free(s);

    return NULL;
}


static int
proc_lite_load(proc_sink_t *sink, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen)
{
    proc_lite_job_t   *job;
    proc_lite_sink_t  *s = (proc_lite_sink_t *) sink;

    job = calloc(1, sizeof(proc_lite_job_t));
    if (job == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    job->sink = s;
    job->partition = partition;
    job->loaded = done;
    job->data = data;

    proc_lite_queue(s->db, job, 0);

    return 0;
}


static int
proc_lite_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    int                rc;
    proc_lite_job_t   *job;
    proc_lite_sink_t  *s = (proc_lite_sink_t *) sink;

    job = calloc(1, sizeof(proc_lite_job_t));
    if (job == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    job->sink = s;
    job->ncols = s->conf.ncols;
    job->partition = b->partition;
    job->done = done;
    job->data = data;

    job->batch = proc_sql_batch_make(&s->conf, b, &rc, job->err,
                                     sizeof(job->err));
    if (job->batch == NULL) {
        if (rc == -1) {
            snprintf(err, errlen, "%s", job->err);
            free(job);
            return -1;
        }

        /* refused before any I/O: answered from the loop, not from here */
        job->rc = rc;
        proc_lite_queue(s->db, job, 1);
        return 0;
    }

    proc_lite_queue(s->db, job, 0);

    return 0;
}


static void
proc_lite_free(proc_sink_t *sink)
{
    proc_lite_db_t     *db;
    proc_lite_job_t    *job, **pp, *gone;
    proc_lite_sink_t   *s = (proc_lite_sink_t *) sink;

    if (s == NULL) {
        return;
    }

    db = s->db;
    gone = NULL;

    pthread_mutex_lock(&db->mutex);

    for (pp = &db->todo; *pp != NULL; /* void */) {
        job = *pp;

        if (job->sink == s) {
            *pp = job->next;
            job->next = gone;
            gone = job;

        } else {
            pp = &job->next;
        }
    }

    while (db->running != NULL && db->running->sink == s) {
        pthread_cond_wait(&db->cond, &db->mutex);
    }

    for (pp = &db->done; *pp != NULL; /* void */) {
        job = *pp;

        if (job->sink == s) {
            *pp = job->next;
            job->next = gone;
            gone = job;

        } else {
            pp = &job->next;
        }
    }

    pthread_mutex_unlock(&db->mutex);

    while (gone != NULL) {
        job = gone;
        gone = job->next;
        proc_lite_job_free(job);
    }

    proc_sql_conf_free(&s->conf);
    free(s->insert_sql);
    free(s->create_sql);
    free(s);

    proc_lite_db_release(db);
}


/* the file's thread, started now when it is the first sink on it */
static proc_lite_db_t *
proc_lite_db_get(struct event_base *base, const char *path, char *err,
    size_t errlen)
{
    proc_lite_db_t  *db;

    for (db = proc_lite_dbs; db != NULL; db = db->next) {
        if (db->base == base && !db->dead && strcmp(db->path, path) == 0) {
            db->refs++;
            return db;
        }
    }

    db = calloc(1, sizeof(proc_lite_db_t));
    if (db == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    db->base = base;
    db->fd[0] = -1;
    db->fd[1] = -1;
    pthread_mutex_init(&db->mutex, NULL);
    pthread_cond_init(&db->cond, NULL);

    db->path = strdup(path);
    if (db->path == NULL) {
        snprintf(err, errlen, ": out of memory");
        goto failed;
    }

    if (pipe(db->fd) != 0) {
        snprintf(err, errlen, ": pipe() failed: %s", strerror(errno));
        goto failed;
    }

    if (fcntl(db->fd[0], F_SETFL, O_NONBLOCK) != 0
        || fcntl(db->fd[1], F_SETFL, O_NONBLOCK) != 0
        || fcntl(db->fd[0], F_SETFD, FD_CLOEXEC) != 0
        || fcntl(db->fd[1], F_SETFD, FD_CLOEXEC) != 0)
    {
        snprintf(err, errlen, ": fcntl() failed: %s", strerror(errno));
        goto failed;
    }

    db->ev = event_new(base, db->fd[0], EV_READ | EV_PERSIST,
                       proc_lite_drain, db);
    if (db->ev == NULL || event_add(db->ev, NULL) != 0) {
        snprintf(err, errlen, ": out of memory");
        goto failed;
    }

    if (pthread_create(&db->thread, NULL, proc_lite_thread, db) != 0) {
        snprintf(err, errlen, ": could not start a thread");
        goto failed;
    }

    db->started = 1;
    db->refs = 1;
    db->next = proc_lite_dbs;
    proc_lite_dbs = db;

    return db;

failed:

    proc_lite_db_destroy(db);

    return NULL;
}


static void
proc_lite_db_release(proc_lite_db_t *db)
{
    proc_lite_db_t  **pp;

    if (--db->refs > 0) {
        return;
    }

    for (pp = &proc_lite_dbs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == db) {
            *pp = db->next;
            break;
        }
    }

    if (db->draining) {
        db->dead = 1;       /* proc_lite_drain() destroys it */
        return;
    }

    proc_lite_db_destroy(db);
}


static void
proc_lite_db_destroy(proc_lite_db_t *db)
{
    proc_lite_job_t  *job;

    if (db->started) {
        pthread_mutex_lock(&db->mutex);
        db->quit = 1;
        pthread_cond_broadcast(&db->cond);
        pthread_mutex_unlock(&db->mutex);
        pthread_join(db->thread, NULL);
    }

    while (db->done != NULL) {
        job = db->done;
        db->done = job->next;
        proc_lite_job_free(job);
    }

    if (db->ev != NULL) {
        event_free(db->ev);
    }

    if (db->fd[0] != -1) {
        close(db->fd[0]);
        close(db->fd[1]);
    }

    pthread_mutex_destroy(&db->mutex);
    pthread_cond_destroy(&db->cond);
    free(db->path);
    free(db);
}


/* on the thread's list, or (finished) on the done list for the loop */
static void
proc_lite_queue(proc_lite_db_t *db, proc_lite_job_t *job, int finished)
{
    proc_lite_job_t  **pp;

    pthread_mutex_lock(&db->mutex);

    for (pp = finished ? &db->done : &db->todo; *pp != NULL;
         pp = &(*pp)->next)
    {
        /* void */
    }

    *pp = job;
    job->next = NULL;

    if (!finished) {
        pthread_cond_broadcast(&db->cond);
    }

    pthread_mutex_unlock(&db->mutex);

    if (finished) {
        proc_lite_wake(db);
    }
}


static void
proc_lite_wake(proc_lite_db_t *db)
{
    /* a full pipe already holds a wake-up: EAGAIN is fine */
    if (write(db->fd[1], "x", 1) != 1 && errno != EAGAIN) {
        /* the loop will not wake for this job: nothing else to do */
    }
}


static void
proc_lite_drain(evutil_socket_t fd, short what, void *arg)
{
    char              buf[256];
    json_t           *state;
    json_error_t      jerr;
    proc_lite_db_t   *db = arg;
    proc_lite_job_t  *job;

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* void */
    }

    db->draining = 1;

    while (!db->dead) {
        pthread_mutex_lock(&db->mutex);

        job = db->done;
        if (job != NULL) {
            db->done = job->next;
        }

        pthread_mutex_unlock(&db->mutex);

        if (job == NULL) {
            break;
        }

        if (job->done != NULL) {
            job->done(job->data, job->rc, job->rc == PROC_SINK_OK
                                          ? NULL : job->err);
            proc_lite_job_free(job);
            continue;
        }

        state = NULL;

        if (job->rc == PROC_SINK_OK && job->state != NULL) {
            state = json_loads(job->state, JSON_DECODE_ANY, &jerr);
            if (state == NULL) {
                job->rc = PROC_SINK_BAD;
                snprintf(job->err, sizeof(job->err), "the stored state of "
                         "partition %u is not JSON: %s", job->partition,
                         jerr.text);
            }
        }

        job->loaded(job->data, job->rc,
                    job->rc == PROC_SINK_OK ? job->position : NULL, state,
                    job->rc == PROC_SINK_OK ? NULL : job->err);

        json_decref(state);
        proc_lite_job_free(job);
    }

    db->draining = 0;

    if (db->dead) {
        proc_lite_db_destroy(db);
    }
}


static void
proc_lite_job_free(proc_lite_job_t *job)
{
    if (job->batch != NULL) {
        proc_sql_batch_free(job->batch, job->ncols);
    }

    free(job->position);
    free(job->state);
    free(job);
}


static void *
proc_lite_thread(void *arg)
{
    proc_lite_db_t   *db = arg;
    proc_lite_job_t  *job, **pp;

    for ( ;; ) {
        pthread_mutex_lock(&db->mutex);

        while (db->todo == NULL && !db->quit) {
            pthread_cond_wait(&db->cond, &db->mutex);
        }

        job = db->todo;
        if (job == NULL) {
            pthread_mutex_unlock(&db->mutex);
            break;
        }

        db->todo = job->next;
        db->running = job;
        pthread_mutex_unlock(&db->mutex);

        proc_lite_run(db, job);

        pthread_mutex_lock(&db->mutex);

        db->running = NULL;

        for (pp = &db->done; *pp != NULL; pp = &(*pp)->next) {
            /* void */
        }

        *pp = job;
        job->next = NULL;

        pthread_cond_broadcast(&db->cond);
        pthread_mutex_unlock(&db->mutex);

        proc_lite_wake(db);
    }

    if (db->conn != NULL) {
        sqlite3_close_v2(db->conn);
        db->conn = NULL;
    }

    return NULL;
}


static void
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
