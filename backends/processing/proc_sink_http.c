
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

#include "proc_sink_http_int.h"


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
static void proc_http_job_answer(evutil_socket_t fd, short what,
    void *arg);
static void proc_http_job_free(proc_http_job_t *job, int loop);


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


struct evdns_base *
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

    /* the resolver reads its files now, before the loop serves */

    if (env->base != NULL && proc_http_dns(env->base) == NULL) {
        proc_http_conf_free(&s->conf);
        free(s);
        snprintf(err, errlen, ": cannot make a resolver");
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
            proc_http_job_free(job, 1);
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

    proc_http_job_free(job, 1);
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


void
proc_http_job_fail(proc_http_job_t *job, const char *fmt, const char *a)
{
    if (!job->failed) {
        snprintf(job->err, sizeof(job->err), fmt, a);
    }

    job->failed = 1;
}


/* every request is over: split a refused batch, or answer (after a
 * Retry-After wait) from the loop, never from inside a libevent call */

void
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

    proc_http_job_free(job, 1);

    /* last: done() may free the sink */
    done(data, rc, rc == PROC_SINK_OK ? NULL : err);
}


/* loop: 0 when the loop's base is gone already, and its events too */

static void
proc_http_job_free(proc_http_job_t *job, int loop)
{
    size_t            i;
    proc_http_req_t  *r;

    if (job->dns != NULL && loop) {
        evdns_getaddrinfo_cancel(job->dns);
    }

    for (i = 0; i < job->nreqs && loop; i++) {
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

    if (job->ev != NULL && loop) {
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

    /*
     * The service frees its pipelines after the kit freed the loop's base
     * (proc_main.c): then the events, connections and lookups went with
     * it, and only our own memory is freed.
     */

    for (l = s->loads; l != NULL; l = lnext) {
        lnext = l->next;
        if (!proc.stopped) {
            event_free(l->ev);
        }
        free(l);
    }

    for (job = s->jobs; job != NULL; job = next) {
        next = job->next;
        proc_http_job_free(job, !proc.stopped);
    }

    proc_http_conf_free(&s->conf);
    free(s);
}
