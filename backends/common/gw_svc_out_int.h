
/*
 * Copyright (C) Tollgate
 *
 * The inside of the kit's outbound HTTP (gw_svc.h, "outbound HTTP"),
 * shared by gw_svc_out.c (a request's options, caps and outcome),
 * gw_svc_out_curl.c (libcurl's multi interface on the loop),
 * gw_svc_out_guard.c (URL checks, the address guard) and
 * gw_svc_out_queue.c (the per-endpoint queues) and by nothing else.
 * One process runs one service: the state is the process's.
 */


#ifndef _GW_SVC_OUT_INT_H_INCLUDED_
#define _GW_SVC_OUT_INT_H_INCLUDED_


#include <stddef.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "gw_svc.h"


#define GW_SVC_OUT_EP_MAX       300     /* "scheme://host:port" */
#define GW_SVC_OUT_REFUSED_MAX  96      /* "<address> (<range>)" */
#define GW_SVC_OUT_ERR_MAX      256     /* an outcome's error text */
#define GW_SVC_OUT_CT_MAX       128     /* the answer's Content-Type */


typedef struct gw_svc_out_s     gw_svc_out_t;
typedef struct gw_svc_out_ep_s  gw_svc_out_ep_t;   /* gw_svc_out_queue.c */


/* the configuration given by the service, and the loop it runs on */
typedef struct {
    gw_svc_t               *svc;
    gw_svc_out_conf_t       conf;
    char                   *allow_name;     /* copies of conf's strings */
    char                   *ca;
    gw_svc_metric_t        *requests;
    gw_svc_metric_t        *duration;
    int                     stopping;   /* gw_svc_out_free() ran */
} gw_svc_out_state_t;

extern gw_svc_out_state_t   gw_svc_out;


/* curl's end of a transfer: done(easy, result, data) */
typedef void (*gw_svc_out_curl_pt)(CURL *easy, CURLcode rc, void *data);


/* one request, from gw_svc_out_request() to its done */
struct gw_svc_out_s {
    CURL                   *easy;
    struct curl_slist      *headers;
    char                   *body;
    gw_svc_out_ep_t        *ep;         /* NULL once it left the queue */
    gw_svc_out_t           *next;       /* in its endpoint's queue */
    struct event           *wait;       /* while queued */
    gw_svc_out_done_pt      done;
    void                   *data;
    long long               start;      /* ms, monotonic */
    long long               wait_ms;
    size_t                  received;
    size_t                  header_bytes;
    size_t                  response_max;
    char                   *keep;       /* the body's first keep_max */
    size_t                  keep_max;
    size_t                  keep_len;
    unsigned                too_large:1;
    unsigned                headers_too_large:1;
    unsigned                trusted:1;
    char                    refused[GW_SVC_OUT_REFUSED_MAX];
    char                    errbuf[CURL_ERROR_SIZE];
    char                    ct[GW_SVC_OUT_CT_MAX];
};


/*
 * gw_svc_out.c: curl's end of a transfer (data: h); the outcome given
 * to h's done and counted, then h freed; h freed.
 */
void gw_svc_out_ended(CURL *easy, CURLcode rc, void *data);
void gw_svc_out_finish(gw_svc_out_t *h, int status, const char *error,
    long long retry_after);
void gw_svc_out_free_one(gw_svc_out_t *h);

/*
 * gw_svc_out_curl.c: the multi handle on base (made at the first
 * transfer); start runs easy (the caller's) and calls done once, never
 * inside the call (0, or -1); stop ends the transfers still running
 * (their done runs with CURLE_ABORTED_BY_CALLBACK) and frees the handle.
 */
int gw_svc_out_curl_init(struct event_base *base);
int gw_svc_out_curl_start(CURL *easy, gw_svc_out_curl_pt done, void *data);
void gw_svc_out_curl_free(void);

/*
 * gw_svc_out_guard.c: the allow list parsed (NULL: none), 0 or -1 after
 * a line on stderr naming the list's key; url split into its endpoint
 * "scheme://host:port", its host (IPv6 without brackets) and port,
 * refusing what gw_svc_out_check_url() says but the literal address (0,
 * or -1 with err filled); curl's open-socket callback, clientp a
 * request (its refused, GW_SVC_OUT_REFUSED_MAX bytes, keeps the first
 * reason): a special address the allow list does not name is refused
 * (curl tries the next), unless the request is trusted.
 */
int gw_svc_out_guard_configure(const char *name, const char *allow);
int gw_svc_out_parse(const char *url, char *ep, size_t eplen, char *host,
    size_t hostlen, unsigned *port, char *err, size_t errlen);
curl_socket_t gw_svc_out_open(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *a);

/*
 * gw_svc_out_queue.c: h started on the endpoint key (limit transfers at
 * once), or queued behind it for at most h->wait_ms ("endpoint busy"
 * then); 0, or -1 with err filled (h is the caller's to free).
 * gw_svc_out_release(): a transfer of ep ended; the next queued start.
 * gw_svc_out_queue_free(): the queued ones end ("stopping").
 */
int gw_svc_out_enqueue(gw_svc_out_t *h, const char *key, unsigned limit,
    char *err, size_t errlen);
void gw_svc_out_release(gw_svc_out_ep_t *ep);
void gw_svc_out_queue_free(void);


#endif /* _GW_SVC_OUT_INT_H_INCLUDED_ */
