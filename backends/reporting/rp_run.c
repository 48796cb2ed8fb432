
/*
 * Copyright (C) Tollgate
 *
 * Runs on the loop: a run is made (its hash gw:rp:run:<id> written
 * "queued" with a TTL of run_ttl and its place in the durable queue, by
 * one script of rp_queue.c, before the 202; its job handed to the pool
 * when this instance leases it), followed (a timer moves the rows
 * counted so far and "running" to the hash every RP_TICK ms, only when
 * they changed), and ended (the final state, the link's expiry, the
 * error's code and text and the run out of the queue in one MULTI; a
 * POST waiting with ?wait= answered; the delivery handed to the
 * notification service).
 *
 * Every Redis command of a run goes on the kit's one connection, so they
 * arrive in order: the final state is never overwritten by a late
 * "running".  A run whose instance dies is run again by another once its
 * lease runs out (rp_queue.c).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "rp.h"


#define RP_TICK     250     /* ms between two progress writes */


static void rp_run_tick(evutil_socket_t fd, short what, void *arg);
static void rp_run_waited(evutil_socket_t fd, short what, void *arg);
static void rp_run_answer(rp_job_t *job, int status);
static void rp_run_free(rp_job_t *job);
static void rp_run_put(redisAsyncContext *ac, void *r, void *data);
static json_t *rp_run_hash(rp_job_t *job);


static rp_job_t      *rp_live;
static struct event  *rp_tick_ev;
static const char    *rp_states[] = { "queued", "running", "done", "failed" };


rp_job_t *
rp_run_job(rp_def_t *def, json_t *params, gw_report_format_e fmt,
    const char *owner, json_t *delivery, const char *run)
{
    size_t     len;
    rp_job_t  *job;

    job = calloc(1, sizeof(rp_job_t));
    if (job == NULL) {
        rp_def_free(def);
        json_decref(params);
        return NULL;
    }

    snprintf(job->run, sizeof(job->run), "%s", run);
    job->def = def;
    job->params = params;
    job->fmt = fmt;
    job->delivery = json_incref(delivery != NULL ? delivery
                                                 : def->delivery);
    job->state_told = RP_QUEUED;
    clock_gettime(CLOCK_MONOTONIC, &job->started);
    snprintf(job->owner, sizeof(job->owner), "%s", owner);

    len = strlen(rp.spool) + RP_RUN_LEN + 16;
    job->path = malloc(len);
    job->tmp = malloc(len + 16);

    if (job->path == NULL || job->tmp == NULL) {
        rp_run_free(job);
        return NULL;
    }

    snprintf(job->path, len, "%s/%s%s", rp.spool, job->run,
             gw_report_extension(fmt));

    /*
     * a dead run's half file is never served: it is renamed when whole;
     * the process's id in its name keeps two instances of a shared spool
     * off each other's file
     */
    snprintf(job->tmp, len + 16, "%s.%d.part", job->path, (int) getpid());

    return job;
}


/*
 * A run accepted: its hash and its place in gw:rp:due written by one
 * script (rp_queue.c) before the 202.  When this instance has room the
 * run is leased to it at once and goes to the pool on the script's
 * reply; otherwise any instance takes it from the queue.
 */
int
rp_run_submit(rp_def_t *def, json_t *params, gw_report_format_e fmt,
    const char *owner, json_t *delivery, gw_svc_req_t *req,
    long long wait_ms)
{
    char            run[RP_RUN_LEN + 1];
    size_t          i;
    rp_job_t       *job;
    unsigned char   rnd[RP_RUN_LEN / 2];

    if (rp.stopped || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        rp_def_free(def);
        json_decref(params);
        if (req != NULL) {
            gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                                 rp.stopped ? "the service is stopping"
                                            : "no randomness");
        }
        return -1;
    }

    for (i = 0; i < sizeof(rnd); i++) {
        snprintf(run + 2 * i, 3, "%02x", rnd[i]);
    }

    job = rp_run_job(def, params, fmt, owner, delivery, run);
    if (job == NULL) {
        if (req != NULL) {
            gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                                 "out of memory");
        }
        return -1;
    }

    job->waiter = req;
    job->wait_ms = wait_ms;

    if (rp_queue_room() > 0) {
        job->local = 1;
        rp_queue_hold();        /* unheld by rp_run_free() */
    }

    gw_svc_hold(rp.svc);        /* released by rp_run_put() */

    if (rp_queue_put(job, rp_run_put) != 0) {
        gw_svc_release(rp.svc);
        job->waiter = NULL;
        rp_run_free(job);
        if (req != NULL) {
            gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                                 "Redis is down");
        }
        return -1;
    }

    return 0;
}


/* the reply to the script that stored the run */
static void
rp_run_put(redisAsyncContext *ac, void *r, void *data)
{
    char            loc[160];
    rp_job_t       *job;
    redisReply     *reply;
    gw_svc_req_t   *req;
    struct timeval  tv;

    job = data;
    reply = r;
    req = job->waiter;
    job->waiter = NULL;

    gw_svc_release(rp.svc);

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer != 1)
    {
        if (req != NULL && reply != NULL
            && reply->type == REDIS_REPLY_INTEGER)
        {
            gw_svc_reply_problem(req, 503, "busy", "Too many runs",
                                 "the run queue is full (due_max): try "
                                 "again later");

        } else if (req != NULL) {
            gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                                 "Redis failed");

        } else {
            gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "the run queue is full "
                       "or Redis failed: a scheduled run is dropped",
                       NULL);
        }

        rp_run_free(job);
        return;
    }

    if (req != NULL) {
        snprintf(loc, sizeof(loc), "/v1/reports/%s/runs/%s", job->def->id,
                 job->run);
        gw_svc_req_add_header(req, "Location", loc);
    }

    if (!job->local) {
        /* stored: some instance takes it from the queue */
        if (req != NULL) {
            gw_svc_reply_json(req, 202, json_pack("{s:s, s:s}", "run",
                                                  job->run, "status",
                                                  "queued"));
        }

        rp_run_free(job);
        return;
    }

    if (req != NULL && job->wait_ms > 0 && !rp.stopped) {
        job->wait_ev = evtimer_new(rp.base, rp_run_waited, job);
        tv.tv_sec = job->wait_ms / 1000;
        tv.tv_usec = (job->wait_ms % 1000) * 1000;

        if (job->wait_ev != NULL && evtimer_add(job->wait_ev, &tv) == 0) {
            job->waiter = req;
            req = NULL;
        }
    }

    if (req != NULL) {
        gw_svc_reply_json(req, 202, json_pack("{s:s, s:s}", "run", job->run,
                                              "status", "queued"));
    }

    rp_run_start(job);
}


/* a job leased by this instance to the pool, or back to the queue */
void
rp_run_start(rp_job_t *job)
{
    if (rp.stopped || rp_pool_submit(job) != 0) {
        rp_run_answer(job, 202);
        (void) rp_run_give_back(job, NULL);
        rp_run_free(job);
        return;
    }

    gw_svc_hold(rp.svc);        /* released by rp_run_done() */

    job->next_live = rp_live;
    if (rp_live != NULL) {
        rp_live->prev_live = job;
    }
    rp_live = job;
}


/* a job of the pool's not started (a stop): back to the queue */
void
rp_run_return(rp_job_t *job)
{
    rp_run_answer(job, 202);

    /* rp_run_start()'s hold ends with the write's reply */
    if (rp_run_give_back(job, rp_run_released) != 0) {
        gw_svc_release(rp.svc);
    }

    rp_run_free(job);
}


/* the leases of the runs this instance holds, to score */
void
rp_run_renew(redisAsyncContext *ac, long long score)
{
    rp_job_t  *job;

    for (job = rp_live; job != NULL; job = job->next_live) {
        redisAsyncCommand(ac, NULL, NULL, "ZADD gw:rp:due XX %lld %s",
                          score, job->run);
    }
}


/* the run's hash as it is now, for rp_run_json() */
static json_t *
rp_run_hash(rp_job_t *job)
{
    int      state;
    json_t  *h;

    state = __atomic_load_n(&job->state, __ATOMIC_ACQUIRE);

    h = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}",
                  "report", job->def->id, "owner", job->owner,
                  "format", gw_report_format_name(job->fmt),
                  "status", rp_states[state],
                  "rows", (json_int_t) __atomic_load_n(&job->rows,
                                                       __ATOMIC_RELAXED),
                  "bytes", (json_int_t) job->bytes);
    if (h == NULL) {
        return NULL;
    }

    if (state == RP_DONE) {
        json_object_set_new(h, "expires", json_integer(job->expires));
    }

    if (state == RP_FAILED) {
        json_object_set_new(h, "code", json_string(job->code));
        json_object_set_new(h, "error", json_string(job->error));
    }

    return h;
}


static void
rp_run_answer(rp_job_t *job, int status)
{
    json_t        *h;
    gw_svc_req_t  *req;

    req = job->waiter;
    job->waiter = NULL;

    if (job->wait_ev != NULL) {
        event_free(job->wait_ev);
        job->wait_ev = NULL;
    }

    if (req == NULL) {
        return;
    }

    h = rp_run_hash(job);
    gw_svc_reply_json(req, status, h != NULL ? rp_run_json(job->run, h)
                                             : NULL);
    json_decref(h);
}


/* ?wait= ran out: the run goes on, the POST answers 202 */
static void
rp_run_waited(evutil_socket_t fd, short what, void *arg)
{
    rp_run_answer(arg, 202);
}


/*
 * The reply to a run's last write: the hold on the stop ends here, not
 * when the command is queued, since the kit's stop closes Redis at once
 * and a write still in the output buffer would be lost.
 */
void
rp_run_released(redisAsyncContext *ac, void *r, void *data)
{
    gw_svc_release(rp.svc);
}


void
rp_run_done(rp_job_t *job)
{
    int                 state, rc;
    const char         *fmt;
    struct timespec     now;
    redisAsyncContext  *ac;

    state = __atomic_load_n(&job->state, __ATOMIC_ACQUIRE);
    ac = gw_svc_redis(rp.svc);
    rc = REDIS_ERR;

    if (state == RP_DONE) {
        job->expires = (int64_t) time(NULL) + rp.link_ttl / 1000;
    }

    if (state != RP_DONE && __atomic_load_n(&rp.abandon, __ATOMIC_ACQUIRE))
    {
        /* cut short by drain_timeout: it runs again elsewhere */
        gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "run given back",
                   json_pack("{s:s}", "run", job->run));
        rp_run_answer(job, 202);
        if (rp_run_give_back(job, rp_run_released) != 0) {
            gw_svc_release(rp.svc);
        }
        rp_run_free(job);
        return;
    }

    /* the outcome and the end of the lease at once */
    if (ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL, "MULTI");
    }

    if (ac != NULL && state == RP_DONE) {
        redisAsyncCommand(ac, NULL, NULL,
                          "HSET gw:rp:run:%s status done rows %llu "
                          "bytes %llu expires %lld finished %lld",
                          job->run, (unsigned long long) job->rows,
                          (unsigned long long) job->bytes,
                          (long long) job->expires, (long long) time(NULL));

    } else if (ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL,
                          "HSET gw:rp:run:%s status failed rows %llu "
                          "code %s error %s finished %lld",
                          job->run, (unsigned long long) job->rows,
                          job->code, job->error, (long long) time(NULL));
    }

    if (ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL, "ZREM gw:rp:due %s", job->run);
        rc = redisAsyncCommand(ac, rp_run_released, NULL, "EXEC");
    }

    clock_gettime(CLOCK_MONOTONIC, &now);
    fmt = gw_report_format_name(job->fmt);

    gw_svc_metric_add(rp.m_runs, 1, fmt, rp_states[state]);
    gw_svc_metric_add(rp.m_rows, (double) job->rows, fmt);
    gw_svc_metric_observe(rp.m_seconds,
                          (double) (now.tv_sec - job->started.tv_sec)
                          + (double) (now.tv_nsec - job->started.tv_nsec)
                            / 1e9, fmt);

    gw_svc_log(rp.svc, state == RP_DONE ? GW_SVC_INFO : GW_SVC_WARN, NULL,
               state == RP_DONE ? "run done" : "run failed",
               json_pack("{s:s, s:s, s:s, s:I, s:s}", "run", job->run,
                         "report", job->def->id, "owner", job->owner,
                         "rows", (json_int_t) job->rows,
                         "error", job->error));

    rp_run_answer(job, 200);

    if (state == RP_DONE && job->delivery != NULL && !rp.stopped) {
        rp_notify_run(job);
    }

    rp_run_free(job);

    if (rc != REDIS_OK) {
        gw_svc_release(rp.svc);
    }
}


static void
rp_run_free(rp_job_t *job)
{
    if (job->prev_live != NULL) {
        job->prev_live->next_live = job->next_live;
    } else if (rp_live == job) {
        rp_live = job->next_live;
    }

    if (job->next_live != NULL) {
        job->next_live->prev_live = job->prev_live;
    }

    if (job->wait_ev != NULL) {
        event_free(job->wait_ev);
    }

    if (job->local) {
        rp_queue_unhold();
    }

    rp_def_free(job->def);
    json_decref(job->params);
    json_decref(job->delivery);
    free(job->path);
    free(job->tmp);
    free(job);
}


/* the progress of the runs in flight, when it changed */
static void
rp_run_tick(evutil_socket_t fd, short what, void *arg)
{
    int                 state;
    uint64_t            rows;
    rp_job_t           *job;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(rp.svc);

    for (job = rp_live; ac != NULL && job != NULL; job = job->next_live) {
        state = __atomic_load_n(&job->state, __ATOMIC_ACQUIRE);
        rows = __atomic_load_n(&job->rows, __ATOMIC_RELAXED);

        if (state != RP_RUNNING
            || (state == job->state_told && rows == job->rows_told))
        {
            continue;
        }

        redisAsyncCommand(ac, NULL, NULL,
                          "HSET gw:rp:run:%s status running rows %llu",
                          job->run, (unsigned long long) rows);

        job->state_told = state;
        job->rows_told = rows;
    }
}


void
rp_run_loop_start(void)
{
    struct timeval  tv;

    tv.tv_sec = 0;
    tv.tv_usec = RP_TICK * 1000;

    rp_tick_ev = event_new(rp.base, -1, EV_PERSIST, rp_run_tick, NULL);
    if (rp_tick_ev != NULL) {
        event_add(rp_tick_ev, &tv);
    }
}


/* the stop began: the POSTs still waiting answer 202 now */
void
rp_run_drain(void)
{
    rp_job_t  *job;

    for (job = rp_live; job != NULL; job = job->next_live) {
        rp_run_answer(job, 202);
    }
}


void
rp_run_loop_stop(void)
{
    if (rp_tick_ev != NULL) {
        event_free(rp_tick_ev);
        rp_tick_ev = NULL;
    }
}
