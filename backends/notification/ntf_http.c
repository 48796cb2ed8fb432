
/*
 * Copyright (C) Tollgate
 *
 * Outbound HTTP (ntf_http.h) for webhooks and push: a request made into
 * a curl easy handle with the service's caps (no redirects, no proxy,
 * TLS verified, timeouts, a cap on the answer's headers and body),
 * started through its endpoint's queue (ntf_http_queue.c) with the
 * address guard (ntf_http_guard.c) as curl's open-socket callback, and
 * its end told to the caller once: the status, or why there was none,
 * and a Retry-After kept within a day.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ntf.h"
#include "ntf_http.h"


#define NTF_HTTP_HEADERS_MAX    16384   /* bytes of an answer's headers */
#define NTF_HTTP_RETRY_MAX      86400   /* s of a Retry-After, at most */


static size_t ntf_http_write(char *p, size_t size, size_t n, void *data);
static size_t ntf_http_header(char *p, size_t size, size_t n, void *data);
static long long ntf_http_now(void);


static const char *ntf_http_outcome(const ntf_http_t *h, int status,
    const char *error);


static gw_svc_metric_t  *ntf_http_requests;
static gw_svc_metric_t  *ntf_http_duration;


int
ntf_http_configure(gw_svc_t *svc)
{
    const char  *ca;

    static const char *const  labels[] = { "outcome", NULL };

    if (ntf_http_guard_configure(gw_svc_conf_str(svc, "webhook_allow"))
        != 0)
    {
        return -1;
    }

    ca = gw_svc_conf_str(svc, "webhook_ca");

    if (ca != NULL && ca[0] != '\0' && access(ca, R_OK) != 0) {
        fprintf(stderr, "webhook_ca: %s: %s\n", ca, strerror(errno));
        return -1;
    }

    ntf_http_requests = gw_svc_counter(svc, "gw_ntf_http_requests_total",
        "Outbound requests (webhooks, push) by outcome: 2xx, 3xx, 4xx, "
        "5xx, timeout, refused (the address guard), tls, too_large, busy "
        "(the endpoint's queue), error.", labels);
    ntf_http_duration = gw_svc_histogram(svc,
        "gw_ntf_http_duration_seconds",
        "Outbound requests from their start (queueing included) to their "
        "end.", NULL, NULL, 0);

    if (ntf_http_requests == NULL || ntf_http_duration == NULL) {
        fprintf(stderr, "cannot register the outbound metrics\n");
        return -1;
    }

    return 0;
}


int
ntf_http_request(const ntf_http_req_t *req, ntf_http_done_pt done,
    void *data, char *err, size_t errlen)
{
    char                 key[NTF_HTTP_EP_MAX], host[260];
    unsigned             port, limit;
    const char          *ca;
    ntf_http_t          *h;
    struct curl_slist   *l;
    const char *const   *hd;

    if (ntf_http_parse(req->url, key, sizeof(key), host, sizeof(host),
                       &port, err, errlen)
        != 0)
    {
        return -1;
    }

    h = calloc(1, sizeof(ntf_http_t));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    h->done = done;
    h->data = data;
    h->start = ntf_http_now();
    h->response_max = req->response_max != 0
                      ? req->response_max
                      : (size_t) gw_svc_conf_int(ntf.svc,
                                                 "webhook_response_max");
    h->wait_ms = req->wait != 0
                 ? req->wait : gw_svc_conf_int(ntf.svc, "lease") / 2;

    h->easy = curl_easy_init();
    if (h->easy == NULL) {
        goto nomem;
    }

    if (req->body != NULL) {
        h->body = malloc(req->body_len + 1);
        if (h->body == NULL) {
            goto nomem;
        }

        memcpy(h->body, req->body, req->body_len);
        h->body[req->body_len] = '\0';

        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->body);
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) req->body_len);
    }

    /* no "Expect: 100-continue" round trip for larger bodies */
    l = curl_slist_append(NULL, "Expect:");
    if (l == NULL) {
        goto nomem;
    }

    h->headers = l;

    for (hd = req->headers; hd != NULL && *hd != NULL; hd++) {
        l = curl_slist_append(h->headers, *hd);
        if (l == NULL) {
            goto nomem;
        }

        h->headers = l;
    }

    curl_easy_setopt(h->easy, CURLOPT_URL, req->url);
    curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST,
                     req->method != NULL ? req->method : "GET");
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS,
                     (long) (req->timeout != 0
                             ? req->timeout
                             : gw_svc_conf_int(ntf.svc, "webhook_timeout")));
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) gw_svc_conf_int(ntf.svc,
                                            "webhook_connect_timeout"));
    curl_easy_setopt(h->easy, CURLOPT_OPENSOCKETFUNCTION, ntf_http_open);
    curl_easy_setopt(h->easy, CURLOPT_OPENSOCKETDATA, h->refused);
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, ntf_http_write);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, ntf_http_header);
    curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);

    ca = gw_svc_conf_str(ntf.svc, "webhook_ca");
    if (ca != NULL && ca[0] != '\0') {
        curl_easy_setopt(h->easy, CURLOPT_CAINFO, ca);
    }

    limit = req->concurrency != 0
            ? req->concurrency
            : (unsigned) gw_svc_conf_int(ntf.svc, "webhook_concurrency");

    if (ntf_http_enqueue(h, key, limit, err, errlen) != 0) {
        ntf_http_free(h);
        return -1;
    }

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");
    ntf_http_free(h);

    return -1;
}


void
ntf_http_ended(CURL *easy, CURLcode rc, void *data)
{
    long            status;
    char            error[NTF_ERR_MAX];
    curl_off_t      after;
    ntf_http_t     *h;
    ntf_http_ep_t  *ep;

    h = data;
    ep = h->ep;
    h->ep = NULL;

    status = 0;
    after = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after);

    if (after < 0 || after > NTF_HTTP_RETRY_MAX) {
        after = after < 0 ? 0 : NTF_HTTP_RETRY_MAX;
    }

    error[0] = '\0';

    if (h->too_large) {
        snprintf(error, sizeof(error), "response too large");

    } else if (h->headers_too_large) {
        snprintf(error, sizeof(error), "response headers too large");

    } else if (rc == CURLE_OK) {
        /* the answer came */

    } else if (h->refused[0] != '\0') {
        snprintf(error, sizeof(error), "address refused: %s", h->refused);
        status = 0;

    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(error, sizeof(error), "timeout");
        status = 0;

    } else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(error, sizeof(error), "resolve: %.200s", h->errbuf);
        status = 0;

    } else if (rc == CURLE_PEER_FAILED_VERIFICATION
               || rc == CURLE_SSL_CONNECT_ERROR
               || rc == CURLE_SSL_CERTPROBLEM
               || rc == CURLE_SSL_CACERT_BADFILE)
    {
        snprintf(error, sizeof(error), "tls: %.200s",
                 h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc));
        status = 0;

    } else if (rc == CURLE_COULDNT_CONNECT) {
        snprintf(error, sizeof(error), "connect: %.200s", h->errbuf);
        status = 0;

    } else {
        snprintf(error, sizeof(error), "%.40s%s%.200s", curl_easy_strerror(rc),
                 h->errbuf[0] != '\0' ? ": " : "", h->errbuf);
        status = 0;
    }

    ntf_http_release(ep);

    ntf_http_finish(h, (int) status, error, (long long) after * 1000);
}


/* runs done with the outcome and frees h */
void
ntf_http_finish(ntf_http_t *h, int status, const char *error,
    long long retry_after)
{
    ntf_http_res_t  res;

    res.status = status;
    res.latency = ntf_http_now() - h->start;
    res.retry_after = retry_after;
    res.error = error;
    res.body = h->keep;
    res.body_len = h->keep_len;

    gw_svc_metric_add(ntf_http_requests, 1,
                      ntf_http_outcome(h, status, error));
    gw_svc_metric_observe(ntf_http_duration, res.latency / 1000.0);

    h->done(&res, h->data);

    ntf_http_free(h);
}


/* the outcome label of a request that ended */
static const char *
ntf_http_outcome(const ntf_http_t *h, int status, const char *error)
{
    static const char *const  classes[] = { "1xx", "2xx", "3xx", "4xx",
                                            "5xx" };

    if (h->too_large || h->headers_too_large) {
        return "too_large";
    }

    if (error[0] == '\0' && status >= 100 && status <= 599) {
        return classes[status / 100 - 1];
    }

    if (h->refused[0] != '\0') {
        return "refused";
    }

    if (strcmp(error, "timeout") == 0) {
        return "timeout";
    }

    if (strcmp(error, "endpoint busy") == 0) {
        return "busy";
    }

    if (strncmp(error, "tls: ", 5) == 0) {
        return "tls";
    }

    return "error";
}


void
ntf_http_free(ntf_http_t *h)
{
    if (h->wait != NULL) {
        event_free(h->wait);
    }

    if (h->easy != NULL) {
        curl_easy_cleanup(h->easy);
    }

    curl_slist_free_all(h->headers);
    free(h->body);
    free(h);
}


/* the answer's body: its first bytes kept, the rest counted, capped */
static size_t
ntf_http_write(char *p, size_t size, size_t n, void *data)
{
    size_t       len, k;
    ntf_http_t  *h;

    h = data;
    len = size * n;

    if (len > h->response_max - h->received) {
        h->too_large = 1;
        return 0;
    }

    h->received += len;

    k = sizeof(h->keep) - h->keep_len;
    k = len < k ? len : k;
    memcpy(h->keep + h->keep_len, p, k);
    h->keep_len += k;

    return len;
}


static size_t
ntf_http_header(char *p, size_t size, size_t n, void *data)
{
    size_t       len;
    ntf_http_t  *h;

    h = data;
    len = size * n;

    h->header_bytes += len;

    if (h->header_bytes > NTF_HTTP_HEADERS_MAX) {
        h->headers_too_large = 1;
        return 0;
    }

    return len;
}


static long long
ntf_http_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
