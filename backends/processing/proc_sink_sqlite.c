
/*
 * Copyright (C) Tollgate
 *
 * The SQLite sink, the embedded default store (docs/processing-sql.md).
 *
 * SQLite's calls block, so each database file gets a thread of its own
 * with its own connection, shared by every sink of the process on that
 * file (of one event base): the loop queues jobs (a load, a commit) and
 * the thread runs them in order; a finished job goes on the answered
 * list and a byte on a pipe wakes the loop, which runs the callbacks.
 * A commit is one transaction (BEGIN IMMEDIATE, so that two writers never
 * deadlock upgrading their locks): the stored position of (pipeline,
 * partition) is read, the batch is skipped when it is not after it, else
 * the records and then the position and the state are written, and
 * COMMIT.
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
#include <stdio.h>
#include <unistd.h>

#include "proc_sql_lite.h"


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

    for (pp = &db->queued; *pp != NULL; /* void */) {
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

    for (pp = &db->answered; *pp != NULL; /* void */) {
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

    /*
     * the first load of the pipelines (-t, and the check before the
     * service's loop runs) has no loop: no job is queued then, so the
     * thread's answers need no event
     */

    if (base != NULL) {
        db->ev = event_new(base, db->fd[0], EV_READ | EV_PERSIST,
                           proc_lite_drain, db);
        if (db->ev == NULL || event_add(db->ev, NULL) != 0) {
            snprintf(err, errlen, ": out of memory");
            goto failed;
        }
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

    while (db->answered != NULL) {
        job = db->answered;
        db->answered = job->next;
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


/* on the queue, or (finished) on the answered list for the loop */
static void
proc_lite_queue(proc_lite_db_t *db, proc_lite_job_t *job, int finished)
{
    proc_lite_job_t  **pp;

    pthread_mutex_lock(&db->mutex);

    for (pp = finished ? &db->answered : &db->queued; *pp != NULL;
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

        job = db->answered;
        if (job != NULL) {
            db->answered = job->next;
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

        while (db->queued == NULL && !db->quit) {
            pthread_cond_wait(&db->cond, &db->mutex);
        }

        job = db->queued;
        if (job == NULL) {
            pthread_mutex_unlock(&db->mutex);
            break;
        }

        db->queued = job->next;
        db->running = job;
        pthread_mutex_unlock(&db->mutex);

        proc_lite_run(db, job);

        pthread_mutex_lock(&db->mutex);

        db->running = NULL;

        for (pp = &db->answered; *pp != NULL; pp = &(*pp)->next) {
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
