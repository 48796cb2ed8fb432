
/*
 * Copyright (C) Tollgate
 *
 * The "http" sink's requests (docs/processing-http.md): a job's records
 * become requests in the sink's queue, at most "concurrency" of them in
 * flight; each on a connection of its own (libevent's HTTP client) to
 * the address its job pinned, with the Host of the URL, the record's
 * Idempotency-Key, a new X-Request-ID and traceparent, and the
 * configured headers.  An answer's status decides as soon as its
 * headers are read: a body past PROC_HTTP_BODY_MAX closes the
 * connection, and the status read stands.  A request's own timer bounds
 * it whole (connect, send, answer).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "gw_trace.h"
#include "proc_sink_http_int.h"


static void proc_http_req_start(proc_http_req_t *r);
static int proc_http_req_headers(proc_http_req_t *r,
    struct evkeyvalq *h);
static int proc_http_header_cb(struct evhttp_request *req, void *arg);
static void proc_http_error_cb(enum evhttp_request_error error,
    void *arg);
static void proc_http_done_cb(struct evhttp_request *req, void *arg);
static void proc_http_timeout(evutil_socket_t fd, short what, void *arg);
static void proc_http_evcon_free(evutil_socket_t fd, short what,
    void *arg);
static void proc_http_req_finish(proc_http_req_t *r, proc_sink_rc_e rc,
    const char *why);


/* the job's requests into the sink's queue: one, or one per record */

int
proc_http_job_queue(proc_http_job_t *job)
{
    size_t             i, n;
    proc_http_req_t   *r;
    proc_http_sink_t  *s;

    s = job->sink;
    n = (s->conf.batch && !job->split) ? 1 : job->n;

    free(job->reqs);
    job->reqs = calloc(n, sizeof(proc_http_req_t));
    if (job->reqs == NULL) {
        job->nreqs = 0;
        return -1;
    }

    job->nreqs = n;
    job->left = n;

    for (i = 0; i < n; i++) {
        r = &job->reqs[i];
        r->job = job;
        r->first = (n == 1 && s->conf.batch && !job->split) ? 0 : i;
        r->last = (n == 1 && s->conf.batch && !job->split) ? job->n - 1 : i;

        if (s->tail != NULL) {
            s->tail->next = r;
        } else {
            s->head = r;
        }
        s->tail = r;
    }

    return 0;
}


void
proc_http_pump(proc_http_sink_t *s)
{
    proc_http_req_t  *r;

    if (s->pumping) {
        return;
    }

    s->pumping = 1;

    while (s->head != NULL && s->inflight < s->conf.concurrency) {
        r = s->head;
        s->head = r->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        r->next = NULL;

        s->inflight++;

        if (r->job->failed) {
            /* its job failed already: not worth sending */
            proc_http_req_finish(r, PROC_SINK_FAIL, NULL);
            continue;
        }

        proc_http_req_start(r);
    }

    s->pumping = 0;
}


static void
proc_http_req_start(proc_http_req_t *r)
{
    char               *body;
    struct timeval      tv;
    proc_http_job_t    *job;
    proc_http_sink_t   *s;
    struct evbuffer    *out;

    job = r->job;
    s = job->sink;
    r->error = -1;

    r->evcon = evhttp_connection_base_new(s->env.base, proc_http_dns(
                                              s->env.base),
                                          job->ip, s->conf.port);
    r->req = evhttp_request_new(proc_http_done_cb, r);
    r->timer = evtimer_new(s->env.base, proc_http_timeout, r);

    if (r->evcon == NULL || r->req == NULL || r->timer == NULL) {
        goto failed;
    }

    tv.tv_sec = s->conf.timeout / 1000;
    tv.tv_usec = (s->conf.timeout % 1000) * 1000;

    evhttp_connection_set_timeout_tv(r->evcon, &tv);
    evhttp_connection_set_retries(r->evcon, 0);
    evhttp_connection_set_max_body_size(r->evcon, PROC_HTTP_BODY_MAX);
    evhttp_connection_set_max_headers_size(r->evcon, PROC_HTTP_HEAD_MAX);
    evhttp_request_set_header_cb(r->req, proc_http_header_cb);
    evhttp_request_set_error_cb(r->req, proc_http_error_cb);

    if (proc_http_req_headers(r, evhttp_request_get_output_headers(r->req))
        != 0)
    {
        goto failed;
    }

    if (r->first == 0 && r->last + 1 == job->n && s->conf.batch
        && !job->split)
    {
        body = json_dumps(job->records, JSON_COMPACT);
    } else {
        body = json_dumps(json_array_get(job->records, r->first),
                          JSON_COMPACT);
    }

    out = evhttp_request_get_output_buffer(r->req);

    if (body == NULL || evbuffer_add(out, body, strlen(body)) != 0) {
        free(body);
        goto failed;
    }

    free(body);
    evtimer_add(r->timer, &tv);

    if (evhttp_make_request(r->evcon, r->req, s->conf.method, s->conf.path)
        != 0)
    {
        /* either the callback ran (and libevent freed both), or
         * nothing happened and both are still ours */
        if (!r->finished) {
            goto failed;
        }
    }

    return;

failed:

    if (r->req != NULL) {
        evhttp_request_free(r->req);
        r->req = NULL;
    }

    if (r->evcon != NULL) {
        evhttp_connection_free(r->evcon);
        r->evcon = NULL;
    }

    proc_http_req_finish(r, PROC_SINK_FAIL, "cannot send the request");
}


static int
proc_http_req_headers(proc_http_req_t *r, struct evkeyvalq *h)
{
    char                rid[GW_REQUEST_ID_GEN + 1];
    char                tp[GW_TRACEPARENT_LEN + 1], *key;
    size_t              i, len;
    proc_http_job_t    *job;
    proc_http_sink_t   *s;
    gw_traceparent_t    t;

    job = r->job;
    s = job->sink;

    memset(&t, 0, sizeof(t));
    t.flags = GW_TRACE_SAMPLED;

    if (gw_trace_random_ids(t.trace_id, t.parent_id, rid) != 0) {
        return -1;
    }

    gw_traceparent_format(&t, tp);

    /* "<pipeline>/<partition>/<id>", a batch's "...<first>..<last>" */

    len = strlen(job->prefix) + strlen(job->keys[r->first])
          + strlen(job->keys[r->last]) + 3;
    key = malloc(len);

    if (key != NULL && r->first == r->last) {
        snprintf(key, len, "%s%s", job->prefix, job->keys[r->first]);

    } else if (key != NULL) {
        snprintf(key, len, "%s%s..%s", job->prefix, job->keys[r->first],
                 job->keys[r->last]);
    }

    if (key == NULL) {
        return -1;
    }

    if (evhttp_add_header(h, "Host", s->conf.authority) != 0
        || evhttp_add_header(h, "Content-Type", "application/json") != 0
        || evhttp_add_header(h, "Idempotency-Key", key) != 0
        || evhttp_add_header(h, "X-Request-ID", rid) != 0
        || evhttp_add_header(h, "traceparent", tp) != 0
        || evhttp_add_header(h, "Connection", "close") != 0)
    {
        free(key);
        return -1;
    }

    free(key);

    for (i = 0; i < s->conf.nheaders; i++) {
        if (evhttp_add_header(h, s->conf.headers[i].name,
                              s->conf.headers[i].value)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* the status, as soon as the headers are read: a body over the cap
 * fails the request in libevent, and this status decides then */

static int
proc_http_header_cb(struct evhttp_request *req, void *arg)
{
    char              *e;
    long               v;
    const char        *ra;
    proc_http_req_t   *r;

    r = arg;
    r->status = evhttp_request_get_response_code(req);

    ra = evhttp_find_header(evhttp_request_get_input_headers(req),
                            "Retry-After");

    if (ra != NULL && ra[0] >= '0' && ra[0] <= '9') {
        v = strtol(ra, &e, 10);
        if (*e == '\0' && v >= 0) {
            r->retry_after = (v > PROC_HTTP_RETRY_MAX / 1000)
                             ? PROC_HTTP_RETRY_MAX : v * 1000;
        }
    }

    return 0;
}


static void
proc_http_error_cb(enum evhttp_request_error error, void *arg)
{
    proc_http_req_t  *r;

    r = arg;
    r->error = error;
}


static void
proc_http_timeout(evutil_socket_t fd, short what, void *arg)
{
    proc_http_req_t  *r;

    r = arg;
    r->timed_out = 1;

    /* frees its request too, without a callback */
    evhttp_connection_free(r->evcon);
    r->evcon = NULL;
    r->req = NULL;

    proc_http_req_finish(r, PROC_SINK_FAIL, "timed out");
}


/* libevent still uses a connection after its request's callback */

static void
proc_http_evcon_free(evutil_socket_t fd, short what, void *arg)
{
    evhttp_connection_free(arg);
}


static void
proc_http_done_cb(struct evhttp_request *req, void *arg)
{
    int               status;
    char              why[128];
    proc_http_req_t  *r;

    r = arg;

    /* libevent frees the request after this, the connection is ours: it
     * is freed from the loop, once libevent is done with it */

    if (r->evcon != NULL
        && event_base_once(r->job->sink->env.base, -1, EV_TIMEOUT,
                           proc_http_evcon_free, r->evcon, NULL)
           != 0)
    {
        gw_svc_log(r->job->sink->env.svc, GW_SVC_ERROR, NULL,
                   "http sink: cannot free a connection", NULL);
    }

    r->req = NULL;
    r->evcon = NULL;

    status = (req != NULL) ? evhttp_request_get_response_code(req) : 0;

    if (status == 0 && r->status != 0
        && r->error == EVREQ_HTTP_DATA_TOO_LONG)
    {
        /* the body was over the cap: the status read decides */
        status = r->status;
    }

    if (status == 0) {
        snprintf(why, sizeof(why), "%s",
                 r->timed_out ? "timed out"
                 : r->error == EVREQ_HTTP_TIMEOUT ? "timed out"
                 : r->error == EVREQ_HTTP_EOF ? "connection closed"
                 : r->error == EVREQ_HTTP_DATA_TOO_LONG ? "headers too long"
                 : "connection failed");
        proc_http_req_finish(r, PROC_SINK_FAIL, why);
        return;
    }

    snprintf(why, sizeof(why), "the receiver answered %d", status);

    if ((status >= 200 && status < 300) || status == 409) {
        proc_http_req_finish(r, PROC_SINK_OK, NULL);

    } else if (status >= 400 && status < 500 && status != 408
               && status != 425 && status != 429)
    {
        proc_http_req_finish(r, PROC_SINK_BAD, why);

    } else {
        if (status >= 300 && status < 400) {
            snprintf(why, sizeof(why), "the receiver answered %d (a "
                     "redirect, not followed)", status);
        }

        if (status != 429 && status != 503) {
            r->retry_after = 0;
        }

        proc_http_req_finish(r, PROC_SINK_FAIL, why);
    }
}


/*
 * A request is over (why: NULL for a request its failed job skipped):
 * counts it in its job, and ends the job after its last one.
 */

static void
proc_http_req_finish(proc_http_req_t *r, proc_sink_rc_e rc, const char *why)
{
    proc_http_job_t   *job;
    proc_http_sink_t  *s;

    job = r->job;
    s = job->sink;

    if (r->finished) {
        return;
    }

    r->finished = 1;

    if (r->timer != NULL) {
        event_free(r->timer);
        r->timer = NULL;
    }

    s->inflight--;
    job->left--;

    if (rc == PROC_SINK_FAIL && why != NULL) {
        if (!job->failed) {
            snprintf(job->err, sizeof(job->err), "%s%s: %s",
                     s->conf.url, r->first == r->last ? "" : " (batch)",
                     why);
        }
        job->failed = 1;

        if (r->retry_after > job->wait) {
            job->wait = r->retry_after;
        }

    } else if (rc == PROC_SINK_BAD) {
        if (r->first != r->last) {
            /* a refused batch: each record again, to find the one */
            job->split = 1;

        } else if (!job->has_bad || r->first < job->bad) {
            job->has_bad = 1;
            job->bad = r->first;
            snprintf(job->err, sizeof(job->err), "record %u: %s",
                     (unsigned) r->first, why);
        }
    }

    proc_http_pump(s);

    if (job->left == 0) {
        proc_http_job_end(job);
    }
}
