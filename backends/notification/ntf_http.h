
/*
 * Copyright (C) Tollgate
 *
 * Outbound HTTP for the webhook and push channels (ntf_http.c): one
 * request on libcurl's multi interface (ntf_curl.c), never blocking the
 * loop, to http or https only, without redirects, with TLS verified,
 * timeouts and a cap on the answer, and refused at connect time when
 * the address is loopback, private, link-local or otherwise special and
 * webhook_allow does not name it.  At most a concurrency of transfers
 * run at once per endpoint (scheme://host:port); the others wait in
 * order of arrival.
 */


#ifndef _NTF_HTTP_H_INCLUDED_
#define _NTF_HTTP_H_INCLUDED_


#include <stddef.h>

#include "ntf.h"


#define NTF_HTTP_KEEP       1024    /* bytes of the answer's body kept */


typedef struct {
    const char             *method;     /* "POST"; NULL: "GET" */
    const char             *url;
    const char *const      *headers;    /* "Name: value", NULL-ended */
    const char             *body;       /* NULL: none */
    size_t                  body_len;
    long long               timeout;    /* ms; 0: webhook_timeout */
    long long               wait;       /* ms a queued one may wait for
                                           its endpoint; 0: lease / 2 */
    size_t                  response_max;   /* 0: webhook_response_max */
    unsigned                concurrency;    /* 0: webhook_concurrency */
} ntf_http_req_t;


typedef struct {
    int                     status;     /* HTTP status; 0: no answer */
    long long               latency;    /* ms, from the call to the end */
    long long               retry_after;    /* ms the answer asked; 0 */
    const char             *error;      /* "" when the answer came */
    const char             *body;       /* its first NTF_HTTP_KEEP bytes */
    size_t                  body_len;
} ntf_http_res_t;


/*
 * The outcome of a request: status 0 with error set when no answer was
 * read ("timeout", "endpoint busy", "address refused: 10.0.0.1
 * (private)", "tls: ...", "connect: ...", "response too large", ...);
 * res and what it points to live only during the call.
 */
typedef void (*ntf_http_done_pt)(const ntf_http_res_t *res, void *data);


/*
 * Starts req (copied: the caller's strings need not outlive the call);
 * done runs exactly once, never inside the call.  0, or -1 with err
 * filled when the URL is refused or memory ran out (done never runs).
 */
int ntf_http_request(const ntf_http_req_t *req, ntf_http_done_pt done,
    void *data, char *err, size_t errlen);

/*
 * Checks a receiver's URL before it is stored: http or https, a host
 * (at most 255 bytes), no user or password, and, when the host is an
 * address, one webhook_allow names or that is not special.  0, or -1
 * with err filled.
 */
int ntf_http_check_url(const char *url, char *err, size_t errlen);


#endif /* _NTF_HTTP_H_INCLUDED_ */
