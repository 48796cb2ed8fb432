
/*
 * Copyright (C) Tollgate
 *
 * The "http" sink's parts (docs/processing-http.md): its configuration
 * (proc_sink_http_conf.c: the pipeline member, the URL, the headers and
 * the service's http_sink_allow list), its commits as jobs
 * (proc_sink_http.c: resolving, checking, answering) and their requests
 * (proc_sink_http_req.c: the sink's queue, libevent's HTTP client).
 */


#ifndef _PROC_SINK_HTTP_INT_H_INCLUDED_
#define _PROC_SINK_HTTP_INT_H_INCLUDED_


#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/dns.h>
#include <event2/http.h>

#include "gw_netallow.h"
#include "proc.h"


#define PROC_HTTP_ALLOW_MAX     64      /* entries of http_sink_allow */
#define PROC_HTTP_HOST_MAX      255
#define PROC_HTTP_BODY_MAX      65536   /* a response body read, bytes */
#define PROC_HTTP_HEAD_MAX      16384   /* a response's headers, bytes */
#define PROC_HTTP_RETRY_MAX     30000   /* Retry-After honoured, ms */
#define PROC_HTTP_ERR_LEN       384


/* an http_sink_allow entry: a network, and one port or any (0) */
typedef gw_net_t            proc_http_net_t;


typedef struct {
    char                   *name;
    char                   *value;
} proc_http_header_t;


typedef struct {
    char                    host[PROC_HTTP_HOST_MAX + 1];   /* no [] */
    char                    authority[PROC_HTTP_HOST_MAX + 16];
    unsigned                port;
    char                   *path;       /* path and query */
    char                   *url;
    enum evhttp_cmd_type    method;
    int                     batch;
    long long               timeout;    /* ms, a request from its start */
    unsigned                concurrency;
    proc_http_header_t     *headers;
    size_t                  nheaders;
    proc_http_net_t         allow[PROC_HTTP_ALLOW_MAX];
    size_t                  nallow;
} proc_http_conf_t;


/*
 * Reads a pipeline's "http" sink member into c and checks it against
 * the service's http_sink_allow (allow: that key's text).  -1 with err
 * "<pointer in the sink>: <why>"; c is then freed already.
 */
int proc_http_conf(proc_http_conf_t *c, const char *allow, json_t *conf,
    char *err, size_t errlen);
void proc_http_conf_free(proc_http_conf_t *c);

/*
 * Parses an http_sink_allow text: entries separated by commas or
 * blanks, each "<addr>[/<bits>][:<port>]", an IPv6 one in brackets
 * ("[::1/128]:8080").  0, or -1 with err.
 */
int proc_http_allow_parse(const char *text, proc_http_net_t *nets,
    size_t max, size_t *n, char *err, size_t errlen);

/* 1 when the address and port sa holds are allowed by c's list */
int proc_http_allowed(const proc_http_conf_t *c, const struct sockaddr *sa);


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


/* proc_sink_http.c */

/* the process's resolver on base (created once), or NULL */
struct evdns_base *proc_http_dns(struct event_base *base);

/* the job fails with fmt (one %s: a), unless it failed already */
void proc_http_job_fail(proc_http_job_t *job, const char *fmt,
    const char *a);

/* every request of the job is over: answers it from the loop */
void proc_http_job_end(proc_http_job_t *job);

/* proc_sink_http_req.c */

/* the job's requests into its sink's queue; 0 or -1 (out of memory) */
int proc_http_job_queue(proc_http_job_t *job);

/* starts waiting requests while fewer than "concurrency" are in flight */
void proc_http_pump(proc_http_sink_t *s);


#endif /* _PROC_SINK_HTTP_INT_H_INCLUDED_ */
