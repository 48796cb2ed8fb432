
/*
 * Copyright (C) Tollgate
 *
 * Outbound HTTP (ntf_http.h) for webhooks and push.
 *
 * Whom we may call is decided at the one moment it cannot be fooled:
 * when curl opens the socket for an address it resolved (its open-socket
 * callback).  A host name that resolves, or later rebinds, to a loopback,
 * private, link-local or other special address is refused there as
 * surely as a literal one, unless webhook_allow names that network.  The
 * URL's own checks (scheme, userinfo, a literal address) come first, and
 * again when a subscription is stored, so that most mistakes are told to
 * the caller at once.
 *
 * Endpoints (scheme://host:port) get at most webhook_concurrency
 * transfers at once; the rest queue in order of arrival, each with a
 * timer: one that waits longer than it may (the scheduler's lease / 2)
 * ends as "endpoint busy" and is retried later.  A slow receiver thus
 * holds its own queue only, never the others'.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "ntf.h"
#include "ntf_http.h"
#include "gw_netallow.h"


#define NTF_HTTP_ALLOW_MAX      64      /* entries of webhook_allow */
#define NTF_HTTP_BUCKETS        256     /* endpoint hash buckets */
#define NTF_HTTP_HEADERS_MAX    16384   /* bytes of an answer's headers */
#define NTF_HTTP_EP_MAX         300     /* "scheme://host:port" */
#define NTF_HTTP_RETRY_MAX      86400   /* s of a Retry-After, at most */


typedef struct ntf_http_s     ntf_http_t;
typedef struct ntf_http_ep_s  ntf_http_ep_t;

struct ntf_http_ep_s {
    ntf_http_ep_t          *next;       /* in its bucket */
    unsigned                active;
    unsigned                limit;      /* the latest request's */
    unsigned                hash;
    ntf_http_t             *head;       /* the queue */
    ntf_http_t             *tail;
    char                    key[NTF_HTTP_EP_MAX];
};

struct ntf_http_s {
    CURL                   *easy;
    struct curl_slist      *headers;
    char                   *body;
    ntf_http_ep_t          *ep;
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
    char                    refused[96];
    char                    errbuf[CURL_ERROR_SIZE];
    char                    keep[NTF_HTTP_KEEP];
};


static int ntf_http_parse(const char *url, char *ep, size_t eplen,
    char *host, size_t hostlen, unsigned *port, char *err, size_t errlen);
static int ntf_http_literal(const char *host, unsigned port,
    char *err, size_t errlen);
static ntf_http_ep_t *ntf_http_ep_get(const char *key, unsigned limit);
static void ntf_http_ep_put(ntf_http_ep_t *ep);
static void ntf_http_pump(ntf_http_ep_t *ep);
static int ntf_http_run(ntf_http_t *h);
static void ntf_http_waited(evutil_socket_t fd, short what, void *arg);
static void ntf_http_ended(CURL *easy, CURLcode rc, void *data);
static void ntf_http_finish(ntf_http_t *h, int status, const char *error,
    long long retry_after);
static void ntf_http_free(ntf_http_t *h);
static curl_socket_t ntf_http_open(void *clientp, curlsocktype purpose,
    struct curl_sockaddr *a);
static size_t ntf_http_write(char *p, size_t size, size_t n, void *data);
static size_t ntf_http_header(char *p, size_t size, size_t n, void *data);
static long long ntf_http_now(void);


static const char *ntf_http_outcome(const ntf_http_t *h, int status,
    const char *error);


static gw_svc_metric_t  *ntf_http_requests;
static gw_svc_metric_t  *ntf_http_duration;
static gw_net_t        ntf_http_allow[NTF_HTTP_ALLOW_MAX];
static size_t          ntf_http_nallow;
static ntf_http_ep_t  *ntf_http_eps[NTF_HTTP_BUCKETS];


int
ntf_http_configure(gw_svc_t *svc)
{
    char         bad[80];
    const char  *allow, *ca;

    static const char *const  labels[] = { "outcome", NULL };

    allow = gw_svc_conf_str(svc, "webhook_allow");

    if (gw_netallow_parse(allow != NULL ? allow : "", ntf_http_allow,
                          NTF_HTTP_ALLOW_MAX, &ntf_http_nallow, bad,
                          sizeof(bad))
        != 0)
    {
        if (bad[0] == '\0') {
            fprintf(stderr, "webhook_allow: more than %d entries\n",
                    NTF_HTTP_ALLOW_MAX);

        } else {
            fprintf(stderr, "webhook_allow: not \"<addr>[/<bits>]"
                    "[:<port>]\": \"%s\"\n", bad);
        }

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
ntf_http_check_url(const char *url, char *err, size_t errlen)
{
    char      ep[NTF_HTTP_EP_MAX], host[260];
    unsigned  port;

    if (ntf_http_parse(url, ep, sizeof(ep), host, sizeof(host), &port, err,
                       errlen)
        != 0)
    {
        return -1;
    }

    return ntf_http_literal(host, port, err, errlen);
}


/*
 * Splits url into its endpoint "scheme://host:port", its host (IPv6
 * without brackets) and port; refuses what ntf_http_check_url() says.
 */
static int
ntf_http_parse(const char *url, char *ep, size_t eplen, char *host,
    size_t hostlen, unsigned *port, char *err, size_t errlen)
{
    int        rc;
    char      *scheme, *h, *p, *user, *pass;
    CURLU     *u;
    size_t     len;
    CURLUcode  uc;

    rc = -1;
    scheme = NULL;
    h = NULL;
    p = NULL;
    user = NULL;
    pass = NULL;

    if (strlen(url) > 2048) {
        snprintf(err, errlen, "URL longer than 2048 bytes");
        return -1;
    }

    u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "not a URL: %s", curl_url_strerror(uc));
        goto done;
    }

    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
        || (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0))
    {
        snprintf(err, errlen, "not an http or https URL");
        goto done;
    }

    if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER
        || curl_url_get(u, CURLUPART_PASSWORD, &pass, 0)
           != CURLUE_NO_PASSWORD)
    {
        snprintf(err, errlen, "a URL with a user or password");
        goto done;
    }

    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK
        || h[0] == '\0' || strlen(h) > 255)
    {
        snprintf(err, errlen, "no host, or one longer than 255 bytes");
        goto done;
    }

    if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)
        != CURLUE_OK)
    {
        snprintf(err, errlen, "no port");
        goto done;
    }

    *port = (unsigned) atoi(p);

    if (snprintf(ep, eplen, "%s://%s:%u", scheme, h, *port) >= (int) eplen)
    {
        snprintf(err, errlen, "host too long");
        goto done;
    }

    len = strlen(h);

    if (h[0] == '[' && len > 2) {
        snprintf(host, hostlen, "%.*s", (int) (len - 2), h + 1);

    } else {
        snprintf(host, hostlen, "%s", h);
    }

    rc = 0;

done:

    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);

    return rc;
}


/* a literal address in the URL: refused when special and not allowed */
static int
ntf_http_literal(const char *host, unsigned port, char *err, size_t errlen)
{
    const char           *why;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;
    struct sockaddr      *sa;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));

    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        sa = (struct sockaddr *) &sin;

    } else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        sa = (struct sockaddr *) &sin6;

    } else {
        return 0;
    }

    if (gw_netallow_match(ntf_http_allow, ntf_http_nallow, sa)) {
        return 0;
    }

    why = gw_netallow_special(sa);

    if (why != NULL) {
        snprintf(err, errlen, "the address %s is %s: not allowed by the "
                 "service's webhook_allow", host, why);
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
    ntf_http_ep_t       *ep;
    struct timeval       tv;
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
    curl_easy_setopt(h->easy, CURLOPT_OPENSOCKETDATA, h);
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

    ep = ntf_http_ep_get(key, limit);
    if (ep == NULL) {
        goto nomem;
    }

    h->ep = ep;

    /* the waiting ones first: a new one never passes the queue */
    if (ep->head == NULL && ep->active < ep->limit) {
        if (ntf_http_run(h) != 0) {
            snprintf(err, errlen, "cannot start the transfer");
            h->ep = NULL;
            ntf_http_ep_put(ep);
            ntf_http_free(h);
            return -1;
        }

        return 0;
    }

    h->wait = evtimer_new(ntf.base, ntf_http_waited, h);
    if (h->wait == NULL) {
        h->ep = NULL;
        ntf_http_ep_put(ep);
        goto nomem;
    }

    tv.tv_sec = h->wait_ms / 1000;
    tv.tv_usec = (h->wait_ms % 1000) * 1000;
    evtimer_add(h->wait, &tv);

    if (ep->tail != NULL) {
        ep->tail->next = h;

    } else {
        ep->head = h;
    }

    ep->tail = h;

    return 0;

nomem:

    snprintf(err, errlen, "out of memory");
    ntf_http_free(h);

    return -1;
}


/* the endpoint named key, made when absent; NULL when out of memory */
static ntf_http_ep_t *
ntf_http_ep_get(const char *key, unsigned limit)
{
    unsigned        hash;
    const char     *p;
    ntf_http_ep_t  *ep;

    hash = 5381;

    for (p = key; *p != '\0'; p++) {
        hash = hash * 33 + (unsigned char) *p;
    }

    hash %= NTF_HTTP_BUCKETS;

    for (ep = ntf_http_eps[hash]; ep != NULL; ep = ep->next) {
        if (strcmp(ep->key, key) == 0) {
            ep->limit = limit;
            return ep;
        }
    }

    ep = calloc(1, sizeof(ntf_http_ep_t));
    if (ep == NULL) {
        return NULL;
    }

    snprintf(ep->key, sizeof(ep->key), "%s", key);
    ep->limit = limit;
    ep->hash = hash;
    ep->next = ntf_http_eps[hash];
    ntf_http_eps[hash] = ep;

    return ep;
}


/* frees ep when nothing runs or waits for it */
static void
ntf_http_ep_put(ntf_http_ep_t *ep)
{
    ntf_http_ep_t  **pp;

    if (ep->active != 0 || ep->head != NULL) {
        return;
    }

    for (pp = &ntf_http_eps[ep->hash]; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == ep) {
            *pp = ep->next;
            free(ep);
            return;
        }
    }
}


static int
ntf_http_run(ntf_http_t *h)
{
    h->ep->active++;

    if (ntf_curl_start(h->easy, ntf_http_ended, h) != 0) {
        h->ep->active--;
        return -1;
    }

    return 0;
}


/* starts the queued transfers ep has room for, then frees it if idle */
static void
ntf_http_pump(ntf_http_ep_t *ep)
{
    ntf_http_t  *h;

    while (ep->head != NULL && ep->active < ep->limit) {
        h = ep->head;
        ep->head = h->next;

        if (ep->head == NULL) {
            ep->tail = NULL;
        }

        h->next = NULL;
        event_free(h->wait);
        h->wait = NULL;

        if (ntf_http_run(h) != 0) {
            h->ep = NULL;
            ntf_http_finish(h, 0, "cannot start the transfer", 0);
        }
    }

    ntf_http_ep_put(ep);
}


/* a queued one waited as long as it may */
static void
ntf_http_waited(evutil_socket_t fd, short what, void *arg)
{
    ntf_http_t     *h, **pp;
    ntf_http_ep_t  *ep;

    h = arg;
    ep = h->ep;

    for (pp = &ep->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }

    ep->tail = NULL;

    for (pp = &ep->head; *pp != NULL; pp = &(*pp)->next) {
        ep->tail = *pp;
    }

    h->ep = NULL;
    ntf_http_ep_put(ep);
    ntf_http_finish(h, 0, "endpoint busy", 0);
}


static void
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

    ep->active--;
    ntf_http_pump(ep);

    ntf_http_finish(h, (int) status, error, (long long) after * 1000);
}


/* runs done with the outcome and frees h */
static void
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


static void
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


/*
 * curl's open-socket callback: the one check of the address it is about
 * to connect to; a refused one makes curl try the next address, and the
 * transfer fails with the first reason kept.
 */
static curl_socket_t
ntf_http_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    char             text[INET6_ADDRSTRLEN];
    const char      *why;
    const void      *bytes;
    ntf_http_t      *h;
    struct sockaddr *sa;

    h = clientp;
    sa = &a->addr;

    if (purpose != CURLSOCKTYPE_IPCXN) {
        return CURL_SOCKET_BAD;
    }

    if (!gw_netallow_match(ntf_http_allow, ntf_http_nallow, sa)) {
        why = gw_netallow_special(sa);

        if (why != NULL) {
            if (h->refused[0] == '\0') {
                bytes = sa->sa_family == AF_INET6
                        ? (const void *)
                          &((struct sockaddr_in6 *) sa)->sin6_addr
                        : (const void *)
                          &((struct sockaddr_in *) sa)->sin_addr;

                if (inet_ntop(sa->sa_family, bytes, text, sizeof(text))
                    == NULL)
                {
                    snprintf(text, sizeof(text), "?");
                }

                snprintf(h->refused, sizeof(h->refused), "%s (%s)", text,
                         why);

                gw_svc_log(ntf.svc, GW_SVC_INFO, NULL,
                           "outbound address refused",
                           json_pack("{s:s,s:s}", "address", text,
                                     "range", why));
            }

            return CURL_SOCKET_BAD;
        }
    }

    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
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
