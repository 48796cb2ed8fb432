
/*
 * Copyright (C) Tollgate
 *
 * Runs on the loop: a run is made (its job handed to the pool, its hash
 * gw:rp:run:<id> written "queued" with a TTL of run_ttl), followed (a
 * timer moves the rows counted so far and "running" to the hash every
 * RP_TICK ms, only when they changed), and ended (the final state, the
 * link's expiry, the error's code and text; a POST waiting with ?wait=
 * answered; the delivery handed to the notification service).
 *
 * Every Redis command of a run goes on the kit's one connection, so they
 * arrive in order: the final state is never overwritten by a late
 * "running".  A run whose instance dies stays "running" in Redis until
 * its TTL: the API shows it as it was (documented).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "rp.h"


#define RP_TICK     250     /* ms between two progress writes */


static void rp_run_tick(evutil_socket_t fd, short what, void *arg);
static void rp_run_waited(evutil_socket_t fd, short what, void *arg);
static void rp_run_answer(rp_job_t *job, int status);
static void rp_run_free(rp_job_t *job);
static json_t *rp_run_hash(rp_job_t *job);


static rp_job_t      *rp_live;
static struct event  *rp_tick_ev;
static const char    *rp_states[] = { "queued", "running", "done", "failed" };


int
rp_run_submit(rp_def_t *def, json_t *params, gw_report_format_e fmt,
    const char *owner, json_t *delivery, gw_svc_req_t *req,
    long long wait_ms)
{
    char                loc[160];
    size_t              i, len;
    rp_job_t           *job;
    unsigned char       rnd[RP_RUN_LEN / 2];
    struct timeval      tv;
    redisAsyncContext  *ac;

    job = calloc(1, sizeof(rp_job_t));
    ac = gw_svc_redis(rp.svc);

    if (job == NULL || ac == NULL || rp.stopped
        || RAND_bytes(rnd, sizeof(rnd)) != 1)
    {
        free(job);
        rp_def_free(def);
        json_decref(params);
        if (req != NULL) {
            gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                                 rp.stopped ? "the service is stopping"
                                            : "Redis is down");
        }
        return -1;
    }

    for (i = 0; i < sizeof(rnd); i++) {
        snprintf(job->run + 2 * i, 3, "%02x", rnd[i]);
    }

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
    if (job->path == NULL) {
        rp_run_free(job);
        if (req != NULL) {
            gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                                 "out of memory");
        }
        return -1;
    }

    snprintf(job->path, len, "%s/%s%s", rp.spool, job->run,
             gw_report_extension(fmt));

    if (rp_pool_submit(job) != 0) {
        rp_run_free(job);
        if (req != NULL) {
            gw_svc_reply_problem(req, 503, "busy", "Too many runs",
                                 "the run queue is full: try again "
                                 "later");
        } else {
            gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "the run queue is full: "
                       "a scheduled run is dropped", NULL);
        }
        return -1;
    }

    gw_svc_hold(rp.svc);        /* released by rp_run_done() */

    redisAsyncCommand(ac, NULL, NULL,
                      "HSET gw:rp:run:%s report %s owner %s format %s "
                      "status queued rows 0 created %lld",
                      job->run, def->id, job->owner,
                      gw_report_format_name(fmt), (long long) time(NULL));
    redisAsyncCommand(ac, NULL, NULL, "PEXPIRE gw:rp:run:%s %lld",
                      job->run, rp.run_ttl);

    job->next_live = rp_live;
    if (rp_live != NULL) {
        rp_live->prev_live = job;
    }
    rp_live = job;

    if (req == NULL) {
        return 0;
    }

    snprintf(loc, sizeof(loc), "/v1/reports/%s/runs/%s", def->id, job->run);
    gw_svc_req_add_header(req, "Location", loc);

    if (wait_ms > 0) {
        job->waiter = req;
        job->wait_ev = evtimer_new(rp.base, rp_run_waited, job);
        tv.tv_sec = wait_ms / 1000;
        tv.tv_usec = (wait_ms % 1000) * 1000;

        if (job->wait_ev != NULL && evtimer_add(job->wait_ev, &tv) == 0) {
            return 0;
        }

        job->waiter = NULL;
    }

    gw_svc_reply_json(req, 202, json_pack("{s:s, s:s}", "run", job->run,
                                          "status", "queued"));

    return 0;
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


/*
 * A failed run's error as an RFC 9457 problem: type, title and detail,
 * and its code (the type's last part) for the caller's switch.
 */
static json_t *
rp_run_problem(json_t *code, json_t *detail)
{
    char         type[80];
    size_t       i;
    const char  *c, *title;
    static const char  *titles[][2] = {
        { "query-refused", "The query was refused" },
        { "row-cap", "The report has too many rows" },
        { "size-cap", "The report is too large" },
        { "time-cap", "The report took too long" },
        { "query-failed", "The query failed" },
        { "store-unavailable", "The store is unavailable" },
        { "writer-failed", "The report could not be written" },
        { "stopped", "The service stopped" }
    };

    c = json_is_string(code) ? json_string_value(code) : "run-failed";
    title = "The run failed";

    for (i = 0; i < sizeof(titles) / sizeof(titles[0]); i++) {
        if (strcmp(titles[i][0], c) == 0) {
            title = titles[i][1];
        }
    }

    snprintf(type, sizeof(type), "urn:tollgate:problem:%.40s", c);

    return json_pack("{s:s, s:s, s:s, s:O?}", "type", type, "title", title,
                     "code", c, "detail", detail);
}


static long long
rp_run_num(json_t *h, const char *member)
{
    json_t  *v;

    v = json_object_get(h, member);

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    return json_is_string(v) ? atoll(json_string_value(v)) : 0;
}


json_t *
rp_run_json(const char *run, json_t *h)
{
    char         sig[64], link[512];
    json_t      *out;
    long long    expires;
    const char  *status, *base;

    status = json_string_value(json_object_get(h, "status"));

    out = json_pack("{s:s, s:O?, s:O?, s:s, s:I}",
                    "run", run,
                    "report", json_object_get(h, "report"),
                    "format", json_object_get(h, "format"),
                    "status", status != NULL ? status : "queued",
                    "rows", (json_int_t) rp_run_num(h, "rows"));
    if (out == NULL || status == NULL) {
        return out;
    }

    if (json_is_string(json_object_get(h, "delivery"))) {
        json_object_set(out, "delivery", json_object_get(h, "delivery"));
    }

    if (strcmp(status, "failed") == 0) {
        json_object_set_new(out, "error",
                            rp_run_problem(json_object_get(h, "code"),
                                           json_object_get(h, "error")));
    }

    if (strcmp(status, "done") == 0) {
        expires = rp_run_num(h, "expires");
        json_object_set_new(out, "bytes",
                            json_integer(rp_run_num(h, "bytes")));
        json_object_set_new(out, "expires", json_integer(expires));

        if (expires > (long long) time(NULL)) {
            rp_sign(run, expires, sig, sizeof(sig));
            base = rp.public_url != NULL ? rp.public_url : "";
            snprintf(link, sizeof(link), "%s/v1/downloads/%s?expires=%lld"
                     "&sig=%s", base, run, expires, sig);
            json_object_set_new(out, "download", json_string(link));

        } else {
            json_object_set_new(out, "expired", json_true());
        }
    }

    return out;
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

    if (ac != NULL && state == RP_DONE) {
        rc = redisAsyncCommand(ac, rp_run_released, NULL,
                          "HSET gw:rp:run:%s status done rows %llu "
                          "bytes %llu expires %lld finished %lld",
                          job->run, (unsigned long long) job->rows,
                          (unsigned long long) job->bytes,
                          (long long) job->expires, (long long) time(NULL));

    } else if (ac != NULL) {
        rc = redisAsyncCommand(ac, rp_run_released, NULL,
                          "HSET gw:rp:run:%s status failed rows %llu "
                          "code %s error %s finished %lld",
                          job->run, (unsigned long long) job->rows,
                          job->code, job->error, (long long) time(NULL));
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

    rp_def_free(job->def);
    json_decref(job->params);
    json_decref(job->delivery);
    free(job->path);
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
