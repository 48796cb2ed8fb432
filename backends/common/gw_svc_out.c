
/*
 * Copyright (C) Tollgate
 *
 * The kit's outbound HTTP (gw_svc.h): a request made into a curl easy
 * handle with the service's caps (no redirects, no proxy, TLS verified,
 * timeouts, a cap on the answer's headers and body), started through
 * its endpoint's queue (gw_svc_out_queue.c) with the address guard
 * (gw_svc_out_guard.c) as curl's open-socket callback, and its end told
 * to the caller once: the status, or why there was none, the answer's
 * first bytes and Content-Type, and a Retry-After kept within a day.
 * The defaults (timeout, answer cap, concurrency, allow list) are the
 * service's, given once by gw_svc_out_configure().
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_svc_out_int.h"


#define GW_SVC_OUT_HEADERS_MAX    16384   /* bytes of an answer's headers */
#define GW_SVC_OUT_RETRY_MAX      86400   /* s of a Retry-After, at most */


static size_t gw_svc_out_write(char *p, size_t size, size_t n, void *data);
static size_t gw_svc_out_header(char *p, size_t size, size_t n, void *data);
static long long gw_svc_out_now(void);


static const char *gw_svc_out_outcome(const gw_svc_out_t *h, int status,
    const char *error);


gw_svc_out_state_t  gw_svc_out;


int
gw_svc_out_configure(gw_svc_t *svc, const gw_svc_out_conf_t *conf)
{
    char         name[128];
    const char  *prefix;

    static const char *const  labels[] = { "outcome", NULL };

    if (gw_svc_out.svc != NULL) {
        fprintf(stderr, "outbound HTTP configured twice\n");
        return -1;
    }

    gw_svc_out.conf = *conf;
    gw_svc_out.allow_name = strdup(conf->allow_name != NULL
                                   ? conf->allow_name : "allow");
    gw_svc_out.ca = strdup(conf->ca != NULL ? conf->ca : "");

    if (gw_svc_out.allow_name == NULL || gw_svc_out.ca == NULL) {
        fprintf(stderr, "out of memory\n");
        goto failed;
    }

    gw_svc_out.conf.allow_name = gw_svc_out.allow_name;
    gw_svc_out.conf.allow = NULL;
    gw_svc_out.conf.ca = gw_svc_out.ca;
    gw_svc_out.conf.metrics = NULL;

    if (gw_svc_out.conf.timeout <= 0) {
        gw_svc_out.conf.timeout = 15000;
    }

    if (gw_svc_out.conf.connect_timeout <= 0) {
        gw_svc_out.conf.connect_timeout = gw_svc_out.conf.timeout;
    }

    if (gw_svc_out.conf.wait <= 0) {
        gw_svc_out.conf.wait = gw_svc_out.conf.timeout;
    }

    if (gw_svc_out.conf.concurrency == 0) {
        gw_svc_out.conf.concurrency = 1;
    }

    if (gw_svc_out_guard_configure(gw_svc_out.allow_name, conf->allow)
        != 0)
    {
        goto failed;
    }

    if (gw_svc_out.ca[0] != '\0' && access(gw_svc_out.ca, R_OK) != 0) {
        fprintf(stderr, "%s: %s\n", gw_svc_out.ca, strerror(errno));
        goto failed;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cannot initialize libcurl\n");
        goto failed;
    }

    prefix = conf->metrics != NULL ? conf->metrics : "gw_svc_out";

    snprintf(name, sizeof(name), "%s_requests_total", prefix);
    gw_svc_out.requests = gw_svc_counter(svc, name,
        "Outbound HTTP requests by outcome: 2xx, 3xx, 4xx, 5xx, timeout, "
        "refused (the address guard), tls, too_large, busy (the "
        "endpoint's queue), error.", labels);

    snprintf(name, sizeof(name), "%s_duration_seconds", prefix);
    gw_svc_out.duration = gw_svc_histogram(svc, name,
        "Outbound HTTP requests from their start (queueing included) to "
        "their end.", NULL, NULL, 0);

    if (gw_svc_out.requests == NULL || gw_svc_out.duration == NULL) {
        fprintf(stderr, "cannot register the outbound metrics\n");
        goto failed;
    }

    gw_svc_out.svc = svc;

    return 0;

failed:

    free(gw_svc_out.allow_name);
    free(gw_svc_out.ca);
    gw_svc_out.allow_name = NULL;
    gw_svc_out.ca = NULL;

    return -1;
}


void
gw_svc_out_free(gw_svc_t *svc)
{
    (void) svc;

    if (gw_svc_out.svc == NULL) {
        return;
    }

    gw_svc_out.stopping = 1;
    gw_svc_out_queue_free();
    gw_svc_out_curl_free();
}


int
gw_svc_out_request(gw_svc_t *svc, const gw_svc_out_req_t *req,
    gw_svc_out_done_pt done, void *data, char *err, size_t errlen)
{
    char                 key[GW_SVC_OUT_EP_MAX], host[260];
    unsigned             port, limit;
    gw_svc_out_t        *h;
    struct curl_slist   *l;
    const char *const   *hd;

    if (gw_svc_out.svc == NULL || gw_svc_out.svc != svc) {
        snprintf(err, errlen, "outbound HTTP is not configured");
        return -1;
    }

    if (gw_svc_out.stopping) {
        snprintf(err, errlen, "stopping");
        return -1;
    }

    if (gw_svc_out_curl_init(gw_svc_base(svc)) != 0) {
        snprintf(err, errlen, "cannot start libcurl");
        return -1;
    }

    if (gw_svc_out_parse(req->url, key, sizeof(key), host, sizeof(host),
                         &port, err, errlen)
        != 0)
    {
        return -1;
    }

    h = calloc(1, sizeof(gw_svc_out_t));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    h->done = done;
    h->data = data;
    h->trusted = req->trusted ? 1 : 0;
    h->start = gw_svc_out_now();
    h->response_max = req->response_max != 0
                      ? req->response_max : gw_svc_out.conf.response_max;
    h->wait_ms = req->wait != 0 ? req->wait : gw_svc_out.conf.wait;
    h->keep_max = req->keep != 0 ? req->keep : GW_SVC_OUT_KEEP;

    if (h->keep_max > h->response_max) {
        h->keep_max = h->response_max;
    }

    h->keep = malloc(h->keep_max + 1);
    if (h->keep == NULL) {
        goto nomem;
    }

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

    if (req->method != NULL && strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h->easy, CURLOPT_NOBODY, 1L);
    }

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
                             ? req->timeout : gw_svc_out.conf.timeout));
    curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) gw_svc_out.conf.connect_timeout);
    curl_easy_setopt(h->easy, CURLOPT_OPENSOCKETFUNCTION, gw_svc_out_open);
    curl_easy_setopt(h->easy, CURLOPT_OPENSOCKETDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, gw_svc_out_write);
    curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_HEADERFUNCTION, gw_svc_out_header);
    curl_easy_setopt(h->easy, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);

    if (gw_svc_out.ca[0] != '\0') {
        curl_easy_setopt(h->easy, CURLOPT_CAINFO, gw_svc_out.ca);
    }

    limit = req->concurrency != 0
            ? req->concurrency : gw_svc_out.conf.concurrency;

    if (gw_svc_out_enqueue(h, key, limit, err, errlen) != 0) {
        gw_svc_out_free_one(h);
        return -1;
    }

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");
    gw_svc_out_free_one(h);

    return -1;
}


void
gw_svc_out_ended(CURL *easy, CURLcode rc, void *data)
{
    long              status;
    char              error[GW_SVC_OUT_ERR_MAX];
    char             *ct;
    curl_off_t        after;
    gw_svc_out_t     *h;
    gw_svc_out_ep_t  *ep;

    h = data;
    ep = h->ep;
    h->ep = NULL;

    status = 0;
    after = 0;
    ct = NULL;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);

    if (ct != NULL) {
        snprintf(h->ct, sizeof(h->ct), "%s", ct);
    }

    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after);

    if (after < 0 || after > GW_SVC_OUT_RETRY_MAX) {
        after = after < 0 ? 0 : GW_SVC_OUT_RETRY_MAX;
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

    if (ep != NULL) {
        gw_svc_out_release(ep);
    }

    gw_svc_out_finish(h, (int) status, error, (long long) after * 1000);
}


/* runs done with the outcome and frees h */
void
gw_svc_out_finish(gw_svc_out_t *h, int status, const char *error,
    long long retry_after)
{
    gw_svc_out_res_t  res;

    res.status = status;
    res.latency = gw_svc_out_now() - h->start;
    res.retry_after = retry_after;
    res.error = error;
    res.body = h->keep;
    res.body_len = h->keep_len;
    res.content_type = h->ct;

    h->keep[h->keep_len] = '\0';

    gw_svc_metric_add(gw_svc_out.requests, 1,
                      gw_svc_out_outcome(h, status, error));
    gw_svc_metric_observe(gw_svc_out.duration, res.latency / 1000.0);

    h->done(&res, h->data);

    gw_svc_out_free_one(h);
}


/* the outcome label of a request that ended */
static const char *
gw_svc_out_outcome(const gw_svc_out_t *h, int status, const char *error)
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
gw_svc_out_free_one(gw_svc_out_t *h)
{
    if (h->wait != NULL) {
        event_free(h->wait);
    }

    if (h->easy != NULL) {
        curl_easy_cleanup(h->easy);
    }

    curl_slist_free_all(h->headers);
    free(h->keep);
    free(h->body);
    free(h);
}


/* the answer's body: its first bytes kept, the rest counted, capped */
static size_t
gw_svc_out_write(char *p, size_t size, size_t n, void *data)
{
    size_t         len, k;
    gw_svc_out_t  *h;

    h = data;
    len = size * n;

    if (len > h->response_max - h->received) {
        h->too_large = 1;
        return 0;
    }

    h->received += len;

    k = h->keep_max - h->keep_len;
    k = len < k ? len : k;
    memcpy(h->keep + h->keep_len, p, k);
    h->keep_len += k;

    return len;
}


static size_t
gw_svc_out_header(char *p, size_t size, size_t n, void *data)
{
    size_t         len;
    gw_svc_out_t  *h;

    h = data;
    len = size * n;

    h->header_bytes += len;

    if (h->header_bytes > GW_SVC_OUT_HEADERS_MAX) {
        h->headers_too_large = 1;
        return 0;
    }

    return len;
}


static long long
gw_svc_out_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
