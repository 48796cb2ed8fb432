
/*
 * Copyright (C) Tollgate
 *
 * Outbound HTTP for the webhook and push channels (ntf_http.c, the
 * address guard in ntf_http_guard.c, the queues in ntf_http_queue.c): one
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


/* ---- inside outbound HTTP (ntf_http*.c) --------------------------------- */

#define NTF_HTTP_EP_MAX         300     /* "scheme://host:port" */
#define NTF_HTTP_REFUSED_MAX    96      /* "<address> (<range>)" */


typedef struct ntf_http_s     ntf_http_t;
typedef struct ntf_http_ep_s  ntf_http_ep_t;     /* ntf_http_queue.c */

/* one request, from ntf_http_request() to its done */
struct ntf_http_s {
    CURL                   *easy;
    struct curl_slist      *headers;
    char                   *body;
    ntf_http_ep_t          *ep;         /* NULL once it left the queue */
    ntf_http_t             *next;       /* in its endpoint's queue */
    struct event           *wait;       /* while queued */
    ntf_http_done_pt        done;
    void                   *data;
    long long               start;      /* ms, monotonic */
    long long               wait_ms;
    size_t                  received;
    size_t                  header_bytes;
    size_t                  response_max;
    size_t                  keep_len;
    unsigned                too_large:1;
    unsigned                headers_too_large:1;
    char                    refused[NTF_HTTP_REFUSED_MAX];
    char                    errbuf[CURL_ERROR_SIZE];
    char                    keep[NTF_HTTP_KEEP];
};


/*
 * ntf_http.c: curl's end of a transfer (data: h); the outcome given to
 * h's done and counted, then h freed; h freed.
 */
void ntf_http_ended(CURL *easy, CURLcode rc, void *data);
void ntf_http_finish(ntf_http_t *h, int status, const char *error,
    long long retry_after);
void ntf_http_free(ntf_http_t *h);

/*
 * ntf_http_guard.c: webhook_allow parsed (NULL: none), 0 or -1 after a
 * line on stderr; url split into its endpoint "scheme://host:port", its
 * host (IPv6 without brackets) and port, refusing what
 * ntf_http_check_url() says but the literal address (0, or -1 with err
 * filled); curl's open-socket callback, clientp a request's refused
 * (NTF_HTTP_REFUSED_MAX bytes): a special address webhook_allow does
 * not name is refused (curl tries the next), the first reason kept.
 */
int ntf_http_guard_configure(const char *allow);
int ntf_http_parse(const char *url, char *ep, size_t eplen, char *host,
    size_t hostlen, unsigned *port, char *err, size_t errlen);
curl_socket_t ntf_http_open(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *a);

/*
 * ntf_http_queue.c: h started on the endpoint key (limit transfers at
 * once), or queued behind it for at most h->wait_ms ("endpoint busy"
 * then); 0, or -1 with err filled (h is the caller's to free).
 * ntf_http_release(): a transfer of ep ended; the next queued start.
 */
int ntf_http_enqueue(ntf_http_t *h, const char *key, unsigned limit,
    char *err, size_t errlen);
void ntf_http_release(ntf_http_ep_t *ep);


#endif /* _NTF_HTTP_H_INCLUDED_ */
