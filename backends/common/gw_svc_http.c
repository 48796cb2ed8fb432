
/*
 * Copyright (C) Tollgate
 *
 * The request path: evhttp hands over a complete request, and the kit
 * turns it into a gw_svc_req_t (ids, trace context, decoded path, body
 * within its cap), finds the route and calls its handler.  The handler
 * answers now or later; the reply functions send the answer, count it,
 * log it and free the request, so that a request is accounted for
 * exactly once whichever path it took.
 *
 * The body cap: evhttp reads a whole body before calling us, so the kit
 * gives evhttp a hard limit of twice body_max plus 64 KiB and answers a
 * body between the two with a problem+json 413 itself.  A body over the
 * hard limit gets evhttp's own 413 (text/html) and a closed connection:
 * libevent 2.1 has no hook to answer it otherwise.
 *
 * TCP_NODELAY: without it an answer of several packets on a kept-alive
 * connection waits for the client's delayed ACK (about 40 ms) before
 * its last packet goes out.  libevent 2.1 has no hook for a connection
 * just accepted, so the first request of a connection sets it.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "gw_problem.h"
#include "gw_svc_int.h"


static int gw_svc_req_ids(gw_svc_req_t *req);
static const char *gw_svc_method_name(enum evhttp_cmd_type cmd,
    unsigned *bit);
static void gw_svc_problem_send(gw_svc_req_t *req, int status,
    const char *type, const char *title, const char *detail,
    const char *extra, size_t extra_len);
static void gw_svc_closed(struct evhttp_connection *evcon, void *arg);
static void gw_svc_req_log(gw_svc_req_t *req, int status, size_t bytes);
static void gw_svc_nodelay(gw_svc_t *svc, struct evhttp_request *ev);


static const struct {
    unsigned     bit;
    const char  *name;
} gw_svc_methods[] = {
    { GW_SVC_GET, "GET" },
    { GW_SVC_HEAD, "HEAD" },
    { GW_SVC_POST, "POST" },
    { GW_SVC_PUT, "PUT" },
    { GW_SVC_DELETE, "DELETE" },
    { GW_SVC_PATCH, "PATCH" }
};


static const char *
gw_svc_method_name(enum evhttp_cmd_type cmd, unsigned *bit)
{
    *bit = 0;

    switch (cmd) {
    case EVHTTP_REQ_GET:
        *bit = GW_SVC_GET;
        return "GET";
    case EVHTTP_REQ_HEAD:
        *bit = GW_SVC_HEAD;
        return "HEAD";
    case EVHTTP_REQ_POST:
        *bit = GW_SVC_POST;
        return "POST";
    case EVHTTP_REQ_PUT:
        *bit = GW_SVC_PUT;
        return "PUT";
    case EVHTTP_REQ_DELETE:
        *bit = GW_SVC_DELETE;
        return "DELETE";
    case EVHTTP_REQ_PATCH:
        *bit = GW_SVC_PATCH;
        return "PATCH";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    default:
        return "OTHER";
    }
}


/*
 * The request id (the client's when valid, else 32 random hex digits)
 * and the trace context: a valid incoming traceparent is continued (its
 * trace id and sampled flag) with a new span id for our work, otherwise
 * a new trace starts, sampled.  Both go back on the response.
 */

static int
gw_svc_req_ids(gw_svc_req_t *req)
{
    const char        *h;
    gw_traceparent_t   tp;
    struct evkeyvalq  *in, *out;

    in = evhttp_request_get_input_headers(req->ev);
    out = evhttp_request_get_output_headers(req->ev);

    h = evhttp_find_header(in, "X-Request-ID");

    if (h != NULL && gw_request_id_valid(h, strlen(h))) {
        memcpy(req->id, h, strlen(h) + 1);

    } else if (gw_trace_random_ids(NULL, NULL, req->id) != 0) {
        return -1;
    }

    h = evhttp_find_header(in, "traceparent");

    if (h != NULL && gw_traceparent_parse(h, strlen(h), &tp) == 0) {
        if (gw_trace_random_ids(NULL, tp.parent_id, NULL) != 0) {
            return -1;
        }

        tp.flags &= GW_TRACE_SAMPLED;

    } else {
        if (gw_trace_random_ids(tp.trace_id, tp.parent_id, NULL) != 0) {
            return -1;
        }

        tp.flags = GW_TRACE_SAMPLED;
    }

    tp.version = 0;
    gw_traceparent_format(&tp, req->traceparent);
    gw_trace_hex(req->trace_id, tp.trace_id, sizeof(tp.trace_id));

    if (evhttp_add_header(out, "X-Request-ID", req->id) != 0
        || evhttp_add_header(out, "traceparent", req->traceparent) != 0)
    {
        return -1;
    }

    return 0;
}


/*
 * Sets TCP_NODELAY on the request's connection unless it is set (one
 * getsockopt() per request); a unix socket fails the getsockopt() and
 * is left alone.
 */

static void
gw_svc_nodelay(gw_svc_t *svc, struct evhttp_request *ev)
{
    int                        on, fd;
    socklen_t                  len;
    struct bufferevent        *bev;
    struct evhttp_connection  *evcon;

    evcon = evhttp_request_get_connection(ev);
    bev = (evcon != NULL) ? evhttp_connection_get_bufferevent(evcon) : NULL;
    fd = (bev != NULL) ? (int) bufferevent_getfd(bev) : -1;

    if (fd == -1) {
        return;
    }

    on = 0;
    len = sizeof(on);

    if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0 || on) {
        return;
    }

    on = 1;

    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0) {
        gw_svc_metric_add(svc->m_nodelay, 1);
    }
}


void
gw_svc_http_handler(struct evhttp_request *ev, void *arg)
{
    int                     n, exact;
    char                   *path;
    size_t                  i, len, plen, allow_len;
    unsigned                bit, allowed;
    gw_svc_t               *svc;
    const char             *p;
    gw_svc_req_t           *req;
    gw_svc_route_t         *rt;
    struct evbuffer        *in;
    const struct evhttp_uri  *uri;
    char                    allow[64];

    svc = arg;

    gw_svc_nodelay(svc, ev);

    req = calloc(1, sizeof(gw_svc_req_t));
    if (req == NULL) {
        evhttp_send_error(ev, 503, NULL);
        return;
    }

    req->svc = svc;
    req->ev = ev;
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    req->method = gw_svc_method_name(evhttp_request_get_command(ev), &bit);

    svc->in_flight++;
    gw_svc_metric_set(svc->m_in_flight, svc->in_flight);

    if (gw_svc_req_ids(req) != 0) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "cannot make request ids");
        return;
    }

    uri = evhttp_request_get_evhttp_uri(ev);
    p = (uri != NULL) ? evhttp_uri_get_path(uri) : NULL;

    if (p == NULL || p[0] == '\0') {
        p = "/";
    }

    path = evhttp_uridecode(p, 0, &plen);

    if (path == NULL || strlen(path) != plen) {
        free(path);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "the path is not well formed");
        return;
    }

    req->path = path;
    req->query = (uri != NULL) ? evhttp_uri_get_query(uri) : NULL;

    in = evhttp_request_get_input_buffer(ev);
    len = evbuffer_get_length(in);

    if (len > (size_t) gw_svc_conf_int(svc, "body_max")) {
        gw_svc_reply_problem(req, 413, "body-too-large", "Body too large",
                             "the request body is over the service's "
                             "limit");
        return;
    }

    req->body = malloc(len + 1);
    if (req->body == NULL) {
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        return;
    }

    n = evbuffer_remove(in, req->body, len);
    req->body_len = (n > 0) ? (size_t) n : 0;
    req->body[req->body_len] = '\0';

    allowed = 0;

    for (rt = svc->routes; rt != NULL; rt = rt->next) {
        exact = (strcmp(path, rt->path) == 0);

        if (!exact && !((rt->flags & GW_SVC_PREFIX)
                        && strncmp(path, rt->path, rt->len) == 0))
        {
            continue;
        }

        if (rt->methods & bit) {
            req->route = rt;
            rt->handler(req, rt->data);
            return;
        }

        allowed |= rt->methods;
    }

    if (allowed == 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such resource");
        return;
    }

    allow_len = 0;
    allow[0] = '\0';

    for (i = 0; i < sizeof(gw_svc_methods) / sizeof(gw_svc_methods[0]); i++) {
        if (allowed & gw_svc_methods[i].bit) {
            allow_len += snprintf(allow + allow_len,
                                  sizeof(allow) - allow_len, "%s%s",
                                  allow_len > 0 ? ", " : "",
                                  gw_svc_methods[i].name);
        }
    }

    evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow);
    gw_svc_reply_problem(req, 405, "method-not-allowed", "Method not allowed",
                         "this resource does not take that method");
}


/* ---- replies ------------------------------------------------------------- */


static void
gw_svc_closed(struct evhttp_connection *evcon, void *arg)
{
    gw_svc_t  *svc;

    svc = arg;
    svc->closing--;

    gw_svc_req_done(svc);
}


/*
 * Every reply ends here (gw_svc_reply_file.c too): sends body (NULL: no
 * body), counts, logs and frees req.  body stays the caller's.
 */

void
gw_svc_reply_buffer(gw_svc_req_t *req, int status, const char *content_type,
    struct evbuffer *body)
{
    size_t                    bytes;
    double                    secs;
    gw_svc_t                 *svc;
    struct evhttp_connection *evcon;
    const char        *label;
    struct timespec    now;
    char               klass[16];
    gw_svc_req_mem_t  *mem;

    svc = req->svc;

    /*
     * A HEAD is answered as its GET, headers only: libevent would send
     * the body too, and on a kept-alive connection those bytes would
     * be read as the start of the next answer.
     */

    if (evhttp_request_get_command(req->ev) == EVHTTP_REQ_HEAD) {
        body = NULL;
    }

    bytes = (body != NULL) ? evbuffer_get_length(body) : 0;

    if (content_type != NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req->ev),
                          "Content-Type", content_type);
    }

    /*
     * While draining, the connection closes once the answer is written,
     * and the loop waits for that (gw_svc_closed()): ending it as soon as
     * the answer is queued would drop the answer.
     */

    evcon = evhttp_request_get_connection(req->ev);

    if (svc->draining && evcon != NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req->ev),
                          "Connection", "close");
        evhttp_connection_set_closecb(evcon, gw_svc_closed, svc);
        svc->closing++;
    }

    evhttp_send_reply(req->ev, status, NULL, body);

    clock_gettime(CLOCK_MONOTONIC, &now);
    secs = (double) (now.tv_sec - req->start.tv_sec)
           + (double) (now.tv_nsec - req->start.tv_nsec) / 1e9;

    label = (req->route != NULL) ? req->route->label : "none";
    snprintf(klass, sizeof(klass), "%dxx", status / 100 % 10);

    gw_svc_metric_add(svc->m_requests, 1, label, req->method, klass);
    gw_svc_metric_observe(svc->m_duration, secs, label);

    gw_svc_req_log(req, status, bytes);

    while (req->mem != NULL) {
        mem = req->mem;
        req->mem = mem->next;
        free(mem);
    }

    free(req->path);
    free(req->body);
    free(req);

    svc->in_flight--;
    gw_svc_metric_set(svc->m_in_flight, svc->in_flight);

    gw_svc_req_done(svc);
}


/*
 * The access log line: info for the service's routes, debug for the
 * kit's probes (/healthz, /readyz, /metrics) so they do not drown it.
 */

static void
gw_svc_req_log(gw_svc_req_t *req, int status, size_t bytes)
{
    json_t           *f;
    gw_svc_level_e    level;
    struct timespec   now;

    level = (req->route != NULL && (req->route->flags & GW_SVC_BUILTIN))
            ? GW_SVC_DEBUG : GW_SVC_INFO;

    if (level < req->svc->log_level) {
        return;
    }

    clock_gettime(CLOCK_MONOTONIC, &now);

    f = json_pack("{s:s, s:o, s:s, s:i, s:f, s:I, s:I}",
                  "method", req->method,
                  "path", gw_svc_json_string(req->path != NULL ? req->path
                                                               : "/"),
                  "route", req->route != NULL ? req->route->label : "none",
                  "status", status,
                  "duration_ms",
                  (double) (now.tv_sec - req->start.tv_sec) * 1e3
                  + (double) (now.tv_nsec - req->start.tv_nsec) / 1e6,
                  "bytes_in", (json_int_t) req->body_len,
                  "bytes_out", (json_int_t) bytes);

    gw_svc_log(req->svc, level, req, "request", f);
}


void
gw_svc_reply(gw_svc_req_t *req, int status, const char *content_type,
    const void *body, size_t len)
{
    struct evbuffer  *buf;

    buf = evbuffer_new();

    if (buf == NULL || evbuffer_add(buf, body, len) != 0) {
        if (buf != NULL) {
            evbuffer_free(buf);
        }

        gw_svc_reply_buffer(req, 503, NULL, NULL);
        return;
    }

    gw_svc_reply_buffer(req, status, content_type, buf);
    evbuffer_free(buf);
}


void
gw_svc_reply_json(gw_svc_req_t *req, int status, json_t *json)
{
    char  *s;

    s = json_dumps(json != NULL ? json : json_object(), JSON_COMPACT);
    json_decref(json);

    if (s == NULL) {
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "cannot encode the answer");
        return;
    }

    gw_svc_reply(req, status, "application/json", s, strlen(s));
    free(s);
}


void
gw_svc_reply_problem(gw_svc_req_t *req, int status, const char *type,
    const char *title, const char *detail)
{
    gw_svc_problem_send(req, status, type, title, detail, NULL, 0);
}


void
gw_svc_reply_problem_extra(gw_svc_req_t *req, int status, const char *type,
    const char *title, const char *detail, json_t *extra)
{
    char  *text;

    text = (extra != NULL && json_object_size(extra) > 0)
           ? json_dumps(extra, JSON_COMPACT) : NULL;
    json_decref(extra);

    if (text == NULL) {
        gw_svc_problem_send(req, status, type, title, detail, NULL, 0);
        return;
    }

    /* the members, without the object's braces */

    gw_svc_problem_send(req, status, type, title, detail, text + 1,
                        strlen(text) - 2);
    free(text);
}


static void
gw_svc_problem_send(gw_svc_req_t *req, int status, const char *type,
    const char *title, const char *detail, const char *extra,
    size_t extra_len)
{
    size_t          len;
    gw_problem_t    p;
    unsigned char  *body;
    char            urn[128];

    snprintf(urn, sizeof(urn), "urn:tollgate:problem:%s", type);

    p.status = status;
    p.type = urn;
    p.title = title;
    p.detail = (const unsigned char *) (detail != NULL ? detail : "");
    p.detail_len = strlen((const char *) p.detail);
    p.request_id = (const unsigned char *) req->id;
    p.request_id_len = strlen(req->id);
    p.extra = (const unsigned char *) extra;
    p.extra_len = extra_len;

    len = gw_problem_len(&p);

    body = malloc(len);
    if (body == NULL) {
        gw_svc_reply_buffer(req, status, NULL, NULL);
        return;
    }

    gw_problem_write(body, &p);
    gw_svc_reply(req, status, "application/problem+json", body, len);
    free(body);
}


int
gw_svc_etag_match(const char *value, const char *etag, int weak)
{
    int          w, found, n;
    size_t       len;
    const char  *p, *start;

    p = value + strspn(value, " \t");

    if (*p == '*') {
        p++;
        p += strspn(p, " \t");
        return (*p == '\0') ? GW_SVC_ETAG_ANY : -1;
    }

    len = strlen(etag);
    found = 0;
    n = 0;

    for ( ;; ) {
        p += strspn(p, " \t,");

        if (*p == '\0') {
            break;
        }

        w = (strncmp(p, "W/", 2) == 0);
        if (w) {
            p += 2;
        }

        start = p;

        if (*p++ != '"') {
            return -1;
        }

        /* etagc: %x21 / %x23-7E / obs-text */

        while (*p == 0x21 || (*p >= 0x23 && *p != 0x7f)
               || (unsigned char) *p >= 0x80)
        {
            p++;
        }

        if (*p != '"') {
            return -1;
        }

        if ((weak || !w) && (size_t) (p + 1 - start) == len
            && memcmp(start, etag, len) == 0)
        {
            found = 1;
        }

        p++;
        n++;
        p += strspn(p, " \t");

        if (*p != ',' && *p != '\0') {
            return -1;
        }
    }

    return (n == 0) ? -1 : found;
}


/* ---- the request's parts ------------------------------------------------- */


gw_svc_t *
gw_svc_req_svc(gw_svc_req_t *req)
{
    return req->svc;
}


const char *
gw_svc_req_method(gw_svc_req_t *req)
{
    return req->method;
}


const char *
gw_svc_req_path(gw_svc_req_t *req)
{
    return req->path;
}


const char *
gw_svc_req_query(gw_svc_req_t *req)
{
    return req->query;
}


const char *
gw_svc_req_header(gw_svc_req_t *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
                              name);
}


size_t
gw_svc_req_header_count(gw_svc_req_t *req, const char *name)
{
    size_t               n;
    struct evkeyval     *h;
    struct evkeyvalq    *headers;

    n = 0;
    headers = evhttp_request_get_input_headers(req->ev);

    for (h = headers->tqh_first; h != NULL; h = h->next.tqe_next) {
        if (strcasecmp(h->key, name) == 0) {
            n++;
        }
    }

    return n;
}


void *
gw_svc_req_alloc(gw_svc_req_t *req, size_t size)
{
    gw_svc_req_mem_t  *mem;

    if (size > SIZE_MAX - sizeof(gw_svc_req_mem_t)) {
        return NULL;
    }

    mem = malloc(sizeof(gw_svc_req_mem_t) + size);
    if (mem == NULL) {
        return NULL;
    }

    mem->next = req->mem;
    req->mem = mem;

    return mem->data;
}


const char *
gw_svc_req_body(gw_svc_req_t *req, size_t *len)
{
    *len = req->body_len;
    return req->body;
}


const char *
gw_svc_req_id(gw_svc_req_t *req)
{
    return req->id;
}


const char *
gw_svc_req_trace_id(gw_svc_req_t *req)
{
    return req->trace_id;
}


const char *
gw_svc_req_traceparent(gw_svc_req_t *req)
{
    return req->traceparent;
}


int
gw_svc_req_add_header(gw_svc_req_t *req, const char *name,
    const char *value)
{
    return evhttp_add_header(evhttp_request_get_output_headers(req->ev),
                             name, value);
}
