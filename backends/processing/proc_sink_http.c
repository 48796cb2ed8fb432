
/*
 * Copyright (C) Tollgate
 *
 * The "http" sink (docs/processing-http.md): each record POSTed (or PUT)
 * as JSON to a receiver, at least once, with an Idempotency-Key per
 * record so that the receiver drops what it already applied.
 *
 * A commit is a job: the host is resolved (libevent's evdns, never a
 * blocking lookup), the addresses it resolved to are checked against the
 * service's http_sink_allow list and the first allowed one is pinned for
 * every request of the job (a name that later resolves elsewhere cannot
 * redirect a checked connection: DNS rebinding).  Then one request per
 * record, or one JSON array for the batch ("batch": true), on a
 * connection of its own to the pinned address; at most "concurrency"
 * requests of the sink are in flight, the rest wait in the sink's queue.
 *
 * The job answers OK when every request got a 2xx (or a 409: the
 * receiver has it already); FAIL for a connection error, a timeout, a
 * 5xx, 408, 425 or 429 (after Retry-After, capped), or a redirect (never
 * followed): the task commits the whole batch again later; BAD for
 * another 4xx, naming the record ("record <i>: ..."), which the engine
 * sends to the DLQ.  A refused batch request is sent again record by
 * record (each with its own key), so that the one the receiver refuses
 * is found; when it takes them all alone, the batch is delivered.
 * Nothing is stored: load() answers no position.
 *
 * Response bodies are read up to PROC_HTTP_BODY_MAX and their headers up
 * to PROC_HTTP_HEAD_MAX: past that the connection is closed, and the
 * status already read decides.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "gw_trace.h"
#include "proc_sink_http_int.h"


#define PROC_HTTP_ERR_LEN   384


typedef struct proc_http_sink_s  proc_http_sink_t;
typedef struct proc_http_job_s   proc_http_job_t;
typedef struct proc_http_req_s   proc_http_req_t;
typedef struct proc_http_load_s  proc_http_load_t;


/* a load() answered from the loop: no position, no state */
struct proc_http_load_s {
    proc_http_load_t           *next;
    proc_http_sink_t           *sink;
    struct event               *ev;
    proc_sink_loaded_pt         done;
    void                       *data;
};


struct proc_http_req_s {
    proc_http_req_t            *next;       /* in the sink's queue */
    proc_http_job_t            *job;
    size_t                      first;      /* its records */
    size_t                      last;
    struct evhttp_connection   *evcon;      /* while in flight */
    struct evhttp_request      *req;
    struct event               *timer;
    int                         status;     /* read from the headers */
    int                         error;      /* libevent's, or -1 */
    long long                   retry_after;    /* ms */
    int                         timed_out;
    int                         finished;
};


struct proc_http_job_s {
    proc_http_job_t            *prev;       /* the sink's jobs */
    proc_http_job_t            *next;
    proc_http_sink_t           *sink;
    json_t                     *records;
    char                        prefix[PROC_KEY_MAX];
    char                      **keys;       /* each record's id */
    size_t                      n;
    proc_http_req_t            *reqs;
    size_t                      nreqs;
    size_t                      left;       /* requests not finished */
    int                         split;      /* sent record by record */
    int                         resolving;
    struct evdns_getaddrinfo_request  *dns;
    struct sockaddr_storage     addr;
    char                        ip[INET6_ADDRSTRLEN];
    struct event               *ev;         /* start, end, a wait */
    int                         ending;
    int                         failed;
    long long                   wait;       /* Retry-After, ms */
    size_t                      bad;        /* the first refused record */
    int                         has_bad;
    char                        err[PROC_HTTP_ERR_LEN];
    proc_sink_done_pt           done;
    void                       *data;
};


struct proc_http_sink_s {
    proc_sink_t                 sink;
    proc_env_t                  env;
    char                        pipeline[PROC_NAME_MAX + 1];
    proc_http_conf_t            conf;
    proc_http_job_t            *jobs;
    proc_http_load_t           *loads;
    proc_http_req_t            *head;       /* waiting requests */
    proc_http_req_t            *tail;
    unsigned                    inflight;
    int                         pumping;
};


static proc_sink_t *proc_http_create(const proc_env_t *env,
    const char *pipeline, json_t *conf, char *err, size_t errlen);
static int proc_http_load(proc_sink_t *sink, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen);
static int proc_http_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen);
static void proc_http_free(proc_sink_t *sink);
static void proc_http_loaded(evutil_socket_t fd, short what, void *arg);
static void proc_http_job_start(evutil_socket_t fd, short what, void *arg);
static void proc_http_resolved(int result, struct evutil_addrinfo *res,
    void *arg);
static int proc_http_job_queue(proc_http_job_t *job);
static void proc_http_pump(proc_http_sink_t *s);
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
static void proc_http_job_fail(proc_http_job_t *job, const char *fmt,
    const char *a);
static void proc_http_job_end(proc_http_job_t *job);
static void proc_http_job_answer(evutil_socket_t fd, short what,
    void *arg);
static void proc_http_job_free(proc_http_job_t *job);
static struct evdns_base *proc_http_dns(struct event_base *base);


const proc_sink_ops_t  proc_sink_http_ops = {
    "http", 0, proc_http_create, proc_http_load, proc_http_commit,
    proc_http_free
};


/*
 * One resolver for the process, on the loop's base: it is never freed,
 * since a lookup cancelled with its sink still answers (EAI_CANCEL) from
 * the base later.  It reads /etc/resolv.conf and /etc/hosts.
 */

static struct evdns_base  *proc_http_dns_base;
static struct event_base  *proc_http_dns_for;


static struct evdns_base *
proc_http_dns(struct event_base *base)
{
    if (proc_http_dns_base != NULL && proc_http_dns_for == base) {
        return proc_http_dns_base;
    }

    proc_http_dns_base = evdns_base_new(base,
                                        EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (proc_http_dns_base == NULL) {
        proc_http_dns_base = evdns_base_new(base, 0);
        if (proc_http_dns_base != NULL) {
            evdns_base_load_hosts(proc_http_dns_base, NULL);
        }
    }

    proc_http_dns_for = base;

    return proc_http_dns_base;
}


static proc_sink_t *
proc_http_create(const proc_env_t *env, const char *pipeline, json_t *conf,
    char *err, size_t errlen)
{
    proc_http_sink_t  *s;

    s = calloc(1, sizeof(proc_http_sink_t));
    if (s == NULL) {
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    s->sink.ops = &proc_sink_http_ops;
    s->env = *env;
    snprintf(s->pipeline, sizeof(s->pipeline), "%s", pipeline);

    if (proc_http_conf(&s->conf, gw_svc_conf_str(env->svc, "http_sink_allow"),
                       conf, err, errlen)
        != 0)
    {
        free(s);
        return NULL;
    }

    return &s->sink;
}


/* at least once: the sink stores no position, and answers so */

static int
proc_http_load(proc_sink_t *sink, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen)
{
    proc_http_load_t  *l;
    proc_http_sink_t  *s;

    s = (proc_http_sink_t *) sink;

    l = calloc(1, sizeof(proc_http_load_t));
    if (l == NULL || s->env.base == NULL) {
        free(l);
        snprintf(err, errlen, "out of memory, or no event loop");
        return -1;
    }

    l->ev = event_new(s->env.base, -1, 0, proc_http_loaded, l);
    if (l->ev == NULL) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    l->sink = s;
    l->done = done;
    l->data = data;
    l->next = s->loads;
    s->loads = l;
    event_active(l->ev, EV_TIMEOUT, 0);

    return 0;
}


static void
proc_http_loaded(evutil_socket_t fd, short what, void *arg)
{
    void                 *data;
    proc_http_load_t     *l, **p;
    proc_sink_loaded_pt   done;

    l = arg;

    for (p = &l->sink->loads; *p != NULL; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }

    done = l->done;
    data = l->data;
    event_free(l->ev);
    free(l);

    done(data, PROC_SINK_OK, NULL, NULL, NULL);
}


/*
 * Copies the batch into a job: the records (referenced), each one's key
 * "<pipeline>/<partition>/<id>" (id from b->ids, else "<position>/<i>"),
 * and starts it from the loop, never inside this call.
 */

static int
proc_http_commit(proc_sink_t *sink, const proc_batch_t *b,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    int                n;
    char               key[PROC_KEY_MAX];
    size_t             i;
    const char        *id;
    proc_http_job_t   *job;
    proc_http_sink_t  *s;

    s = (proc_http_sink_t *) sink;

    if (s->env.base == NULL) {
        snprintf(err, errlen, "no event loop");
        return -1;
    }

    job = calloc(1, sizeof(proc_http_job_t));
    if (job == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    job->sink = s;
    snprintf(job->prefix, sizeof(job->prefix), "%s/%u/", s->pipeline,
             b->partition);
    job->records = json_incref(b->records);
    job->n = json_array_size(b->records);
    job->keys = calloc(job->n + 1, sizeof(char *));
    job->done = done;
    job->data = data;
    job->ev = event_new(s->env.base, -1, 0, proc_http_job_start, job);

    if (job->keys == NULL || job->ev == NULL) {
        goto nomem;
    }

    for (i = 0; i < job->n; i++) {
        id = json_string_value(json_array_get(b->ids, i));

        if (b->ids != NULL && json_array_size(b->ids) == job->n
            && id != NULL)
        {
            n = snprintf(key, sizeof(key), "%s", id);
        } else {
            n = snprintf(key, sizeof(key), "%s/%u", b->position,
                         (unsigned) i);
        }

        if (n < 0 || (size_t) n >= sizeof(key)) {
            snprintf(err, errlen, "record %u: its id is too long",
                     (unsigned) i);
            proc_http_job_free(job);
            return -1;
        }

        job->keys[i] = strdup(key);
        if (job->keys[i] == NULL) {
            goto nomem;
        }
    }

    job->next = s->jobs;
    if (s->jobs != NULL) {
        s->jobs->prev = job;
    }
    s->jobs = job;

    event_active(job->ev, EV_TIMEOUT, 0);

    return 0;

nomem:

    proc_http_job_free(job);
    snprintf(err, errlen, "out of memory");
    return -1;
}


static void
proc_http_job_start(evutil_socket_t fd, short what, void *arg)
{
    proc_http_job_t                   *job;
    proc_http_sink_t                  *s;
    struct evdns_base                 *dns;
    struct evutil_addrinfo             hints;
    struct evdns_getaddrinfo_request  *req;

    job = arg;
    s = job->sink;

    event_free(job->ev);
    job->ev = NULL;

    if (job->n == 0) {
        proc_http_job_end(job);
        return;
    }

    dns = proc_http_dns(s->env.base);
    if (dns == NULL) {
        proc_http_job_fail(job, "cannot make a resolver", NULL);
        proc_http_job_end(job);
        return;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;

    /* an address or a hosts entry answers at once, inside the call */

    job->resolving = 1;
    req = evdns_getaddrinfo(dns, s->conf.host, NULL, &hints,
                            proc_http_resolved, job);
    if (job->resolving) {
        job->dns = req;
    }
}


static void
proc_http_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
    char                   ip[INET6_ADDRSTRLEN];
    proc_http_job_t       *job;
    proc_http_sink_t      *s;
    struct sockaddr_in    *sin;
    struct sockaddr_in6   *sin6;
    struct evutil_addrinfo  *ai;

    if (result == EVUTIL_EAI_CANCEL) {
        /* the job and its sink are gone */
        if (res != NULL) {
            evutil_freeaddrinfo(res);
        }
        return;
    }

    job = arg;
    s = job->sink;
    job->resolving = 0;
    job->dns = NULL;

    if (result != 0) {
        proc_http_job_fail(job, "cannot resolve %s", s->conf.host);
        proc_http_job_end(job);
        return;
    }

    ip[0] = '\0';

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            sin = (struct sockaddr_in *) ai->ai_addr;
            sin->sin_port = htons(s->conf.port);
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));

        } else if (ai->ai_family == AF_INET6) {
            sin6 = (struct sockaddr_in6 *) ai->ai_addr;
            sin6->sin6_port = htons(s->conf.port);
            inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));

        } else {
            continue;
        }

        if (proc_http_allowed(&s->conf, ai->ai_addr)) {
            memcpy(&job->addr, ai->ai_addr, ai->ai_addrlen);
            memcpy(job->ip, ip, sizeof(ip));
            break;
        }
    }

    if (res != NULL) {
        evutil_freeaddrinfo(res);
    }

    if (job->ip[0] == '\0') {
        snprintf(job->err, sizeof(job->err), "%s resolved to %s, which the "
                 "service's http_sink_allow key does not allow",
                 s->conf.host, ip[0] != '\0' ? ip : "no address");
        job->failed = 1;
        gw_svc_log(s->env.svc, GW_SVC_WARN, NULL,
                   "http sink: address not allowed",
                   json_pack("{s:s, s:s, s:s}", "pipeline", s->pipeline,
                             "host", s->conf.host, "address", ip));
        proc_http_job_end(job);
        return;
    }

    if (proc_http_job_queue(job) != 0) {
        proc_http_job_fail(job, "out of memory", NULL);
        proc_http_job_end(job);
        return;
    }

    proc_http_pump(s);
}


/* the job's requests into the sink's queue: one, or one per record */

static int
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


static void
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


static void
proc_http_job_fail(proc_http_job_t *job, const char *fmt, const char *a)
{
    if (!job->failed) {
        snprintf(job->err, sizeof(job->err), fmt, a);
    }

    job->failed = 1;
}


/* every request is over: split a refused batch, or answer (after a
 * Retry-After wait) from the loop, never from inside a libevent call */

static void
proc_http_job_end(proc_http_job_t *job)
{
    struct timeval  tv;

    if (job->ending) {
        /* a skipped request ended it already, inside the pump */
        return;
    }

    if (job->split && !job->failed && !job->has_bad && job->nreqs == 1
        && job->n > 1)
    {
        if (proc_http_job_queue(job) == 0) {
            proc_http_pump(job->sink);
            return;
        }

        proc_http_job_fail(job, "out of memory", NULL);
    }

    /* split, with every record taken alone: that is OK */

    job->ending = 1;
    job->ev = evtimer_new(job->sink->env.base, proc_http_job_answer, job);

    if (job->ev == NULL) {
        /* cannot happen short of memory; answer late rather than never */
        job->failed = 1;
        proc_http_job_answer(-1, 0, job);
        return;
    }

    tv.tv_sec = job->failed ? job->wait / 1000 : 0;
    tv.tv_usec = job->failed ? (job->wait % 1000) * 1000 : 0;
    evtimer_add(job->ev, &tv);
}


static void
proc_http_job_answer(evutil_socket_t fd, short what, void *arg)
{
    char               err[PROC_HTTP_ERR_LEN];
    void              *data;
    proc_sink_rc_e     rc;
    proc_http_job_t   *job;
    proc_http_sink_t  *s;
    proc_sink_done_pt  done;

    job = arg;
    s = job->sink;

    rc = job->failed ? PROC_SINK_FAIL
         : job->has_bad ? PROC_SINK_BAD : PROC_SINK_OK;
    snprintf(err, sizeof(err), "%s", job->err);
    done = job->done;
    data = job->data;

    if (job->prev != NULL) {
        job->prev->next = job->next;
    } else {
        s->jobs = job->next;
    }

    if (job->next != NULL) {
        job->next->prev = job->prev;
    }

    proc_http_job_free(job);

    /* last: done() may free the sink */
    done(data, rc, rc == PROC_SINK_OK ? NULL : err);
}


static void
proc_http_job_free(proc_http_job_t *job)
{
    size_t            i;
    proc_http_req_t  *r;

    if (job->dns != NULL) {
        evdns_getaddrinfo_cancel(job->dns);
    }

    for (i = 0; i < job->nreqs; i++) {
        r = &job->reqs[i];

        if (r->timer != NULL) {
            event_free(r->timer);
        }

        if (r->evcon != NULL) {
            /* frees its request without a callback */
            evhttp_connection_free(r->evcon);
        }
    }

    for (i = 0; job->keys != NULL && i < job->n; i++) {
        free(job->keys[i]);
    }

    if (job->ev != NULL) {
        event_free(job->ev);
    }

    free(job->keys);
    free(job->reqs);
    json_decref(job->records);
    free(job);
}


static void
proc_http_free(proc_sink_t *sink)
{
    proc_http_job_t   *job, *next;
    proc_http_load_t  *l, *lnext;
    proc_http_sink_t  *s;

    s = (proc_http_sink_t *) sink;

    if (s == NULL) {
        return;
    }

    for (l = s->loads; l != NULL; l = lnext) {
        lnext = l->next;
        event_free(l->ev);
        free(l);
    }

    for (job = s->jobs; job != NULL; job = next) {
        next = job->next;
        proc_http_job_free(job);
    }

    proc_http_conf_free(&s->conf);
    free(s);
}
