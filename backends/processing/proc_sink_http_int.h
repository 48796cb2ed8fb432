
/*
 * Copyright (C) Tollgate
 *
 * The "http" sink's parts (docs/processing-http.md): its configuration
 * (proc_sink_http_conf.c: the pipeline member, the URL, the headers and
 * the service's http_sink_allow list) and its requests
 * (proc_sink_http.c).
 */


#ifndef _PROC_SINK_HTTP_INT_H_INCLUDED_
#define _PROC_SINK_HTTP_INT_H_INCLUDED_


#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/http.h>

#include "proc.h"


#define PROC_HTTP_ALLOW_MAX     64      /* entries of http_sink_allow */
#define PROC_HTTP_HOST_MAX      255
#define PROC_HTTP_BODY_MAX      65536   /* a response body read, bytes */
#define PROC_HTTP_HEAD_MAX      16384   /* a response's headers, bytes */
#define PROC_HTTP_RETRY_MAX     30000   /* Retry-After honoured, ms */


/* an http_sink_allow entry: a network, and one port or any (0) */
typedef struct {
    int                     family;     /* AF_INET or AF_INET6 */
    unsigned char           addr[16];
    unsigned                bits;
    unsigned                port;
} proc_http_net_t;


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


#endif /* _PROC_SINK_HTTP_INT_H_INCLUDED_ */
