
/*
 * Copyright (C) Tollgate
 *
 * The HTTP(S) client that fetches external issuers' discovery documents
 * and key sets, on the service's libevent loop: evhttp over a plain
 * bufferevent or, for https, over libevent's OpenSSL bufferevent, with
 * names resolved by evdns (never getaddrinfo(), which would block the
 * loop).
 *
 * What it will not do: follow a redirect (a 3xx is an answer like any
 * other, and the caller wants 200), take a body over body_max (evhttp
 * stops reading at the cap), or take longer than the timeout for the
 * whole exchange (one timer per fetch, besides evhttp's own read and
 * write timeouts).  For https the peer's certificate must chain to the
 * issuer's CA file (or the system's store) and name the host: SNI and
 * the host name check are set on every connection, an IP literal is
 * checked against the certificate's IP addresses instead.
 *
 * A fetch ends in two steps: evhttp's callback records the result and
 * calls the caller's callback, and a zero timer frees the connection
 * afterwards, since evhttp may still touch it after its callback.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <openssl/x509v3.h>

#include "identity_exchange_int.h"


struct identity_fetch_s {
    identity_fetch_t           *next;
    identity_fetch_t           *prev;
    struct evhttp_connection   *evcon;
    struct event               *timer;      /* deadline, then the free */
    identity_fetch_pt           done;
    void                       *data;
    int                         error;      /* enum evhttp_request_error */
    unsigned                    ended:1;
};


static void identity_fetch_response(struct evhttp_request *ev, void *arg);
static void identity_fetch_error(enum evhttp_request_error error, void *arg);
static void identity_fetch_timeout(evutil_socket_t fd, short what, void *arg);
static void identity_fetch_finish(identity_fetch_t *f,
    const identity_fetch_res_t *res);
static void identity_fetch_free(evutil_socket_t fd, short what, void *arg);
static long identity_fetch_max_age(const char *cc);


static struct event_base   *identity_fetch_base;
static struct evdns_base   *identity_fetch_dns;
static identity_fetch_t    *identity_fetches;
static size_t               identity_fetch_body_max;
static struct timeval       identity_fetch_tv;


int
identity_url_parse(identity_url_t *url, const char *text, const char **err)
{
    int                 port;
    const char         *scheme, *host, *path, *query;
    unsigned char       addr[16];
    struct evhttp_uri  *uri;

    memset(url, 0, sizeof(identity_url_t));

    uri = evhttp_uri_parse_with_flags(text, 0);
    if (uri == NULL) {
        *err = "not a URL";
        return -1;
    }

    scheme = evhttp_uri_get_scheme(uri);
    host = evhttp_uri_get_host(uri);
    port = evhttp_uri_get_port(uri);
    path = evhttp_uri_get_path(uri);
    query = evhttp_uri_get_query(uri);

    if (scheme == NULL || host == NULL || host[0] == '\0') {
        *err = "not an absolute URL";
        goto failed;
    }

    if (strcasecmp(scheme, "https") == 0) {
        url->https = 1;

    } else if (strcasecmp(scheme, "http") != 0) {
        *err = "not an http or https URL";
        goto failed;
    }

    if (evhttp_uri_get_userinfo(uri) != NULL
        || evhttp_uri_get_fragment(uri) != NULL)
    {
        *err = "a URL with user information or a fragment";
        goto failed;
    }

    url->port = (port > 0) ? port : (url->https ? 443 : 80);
    url->ip = (inet_pton(AF_INET, host, addr) == 1
               || inet_pton(AF_INET6, host, addr) == 1);

    url->text = strdup(text);
    url->host = strdup(host);
    url->path = malloc(strlen(path) + (query ? strlen(query) : 0) + 3);

    if (url->text == NULL || url->host == NULL || url->path == NULL) {
        *err = "out of memory";
        identity_url_free(url);
        goto failed;
    }

    strcpy(url->path, (path[0] == '/') ? "" : "/");
    strcat(url->path, path);

    if (query != NULL) {
        strcat(url->path, "?");
        strcat(url->path, query);
    }

    evhttp_uri_free(uri);

    return 0;

failed:

    evhttp_uri_free(uri);

    return -1;
}


void
identity_url_free(identity_url_t *url)
{
    free(url->text);
    free(url->host);
    free(url->path);

    memset(url, 0, sizeof(identity_url_t));
}


int
identity_url_same_origin(const identity_url_t *a, const identity_url_t *b)
{
    return a->https == b->https && a->port == b->port
           && strcasecmp(a->host, b->host) == 0;
}


int
identity_fetch_init(struct event_base *base, size_t body_max,
    long timeout_ms)
{
    identity_fetch_base = base;
    identity_fetch_body_max = body_max;
    identity_fetch_tv.tv_sec = timeout_ms / 1000;
    identity_fetch_tv.tv_usec = (timeout_ms % 1000) * 1000;

    identity_fetch_dns = evdns_base_new(base,
                                        EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (identity_fetch_dns == NULL) {
        return -1;
    }

    return 0;
}


void
identity_fetch_end(void)
{
    identity_fetch_t  *f;

    while (identity_fetches != NULL) {
        f = identity_fetches;
        f->ended = 1;
        identity_fetch_free(-1, 0, f);
    }

    if (identity_fetch_dns != NULL) {
        evdns_base_free(identity_fetch_dns, 0);
        identity_fetch_dns = NULL;
    }

    identity_fetch_base = NULL;
}


identity_fetch_t *
identity_fetch(const identity_url_t *url, SSL_CTX *ssl, identity_fetch_pt done,
    void *data)
{
    SSL                     *s;
    char                     hostport[300];
    identity_fetch_t        *f;
    struct bufferevent      *bev;
    struct evkeyvalq        *headers;
    X509_VERIFY_PARAM       *param;
    struct evhttp_request   *ev;

    if (identity_fetch_base == NULL) {
        return NULL;
    }

    f = calloc(1, sizeof(identity_fetch_t));
    if (f == NULL) {
        return NULL;
    }

    f->done = done;
    f->data = data;
    bev = NULL;

    if (url->https) {
        s = SSL_new(ssl);
        if (s == NULL) {
            goto failed;
        }

        param = SSL_get0_param(s);
        X509_VERIFY_PARAM_set_hostflags(param,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

        if (url->ip) {
            if (X509_VERIFY_PARAM_set1_ip_asc(param, url->host) != 1) {
                SSL_free(s);
                goto failed;
            }

        } else if (SSL_set_tlsext_host_name(s, url->host) != 1
                   || X509_VERIFY_PARAM_set1_host(param, url->host, 0) != 1)
        {
            SSL_free(s);
            goto failed;
        }

        SSL_set_verify(s, SSL_VERIFY_PEER, NULL);

        /* owns s from here, even when it fails */
        bev = bufferevent_openssl_socket_new(identity_fetch_base, -1, s,
                                             BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE
                                             | BEV_OPT_DEFER_CALLBACKS);
        if (bev == NULL) {
            goto failed;
        }

        /* servers that close without close_notify end the body so */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    }

    /* owns bev from here */
    f->evcon = evhttp_connection_base_bufferevent_new(identity_fetch_base,
                                                      identity_fetch_dns,
                                                      bev, url->host,
                                                      url->port);
    if (f->evcon == NULL) {
        if (bev != NULL) {
            bufferevent_free(bev);
        }

        goto failed;
    }

    evhttp_connection_set_retries(f->evcon, 0);
    evhttp_connection_set_timeout_tv(f->evcon, &identity_fetch_tv);
    evhttp_connection_set_max_body_size(f->evcon,
                                        (ev_ssize_t) identity_fetch_body_max);
    evhttp_connection_set_max_headers_size(f->evcon, 16384);

    f->timer = evtimer_new(identity_fetch_base, identity_fetch_timeout, f);
    if (f->timer == NULL) {
        goto failed;
    }

    ev = evhttp_request_new(identity_fetch_response, f);
    if (ev == NULL) {
        goto failed;
    }

    evhttp_request_set_error_cb(ev, identity_fetch_error);

    if ((url->https && url->port == 443) || (!url->https && url->port == 80))
    {
        snprintf(hostport, sizeof(hostport), "%s", url->host);

    } else {
        snprintf(hostport, sizeof(hostport), "%s:%d", url->host, url->port);
    }

    headers = evhttp_request_get_output_headers(ev);

    if (evhttp_add_header(headers, "Host", hostport) != 0
        || evhttp_add_header(headers, "Accept", "application/json") != 0
        || evhttp_add_header(headers, "User-Agent", "tollgate-identity")
           != 0
        || evhttp_add_header(headers, "Connection", "close") != 0)
    {
        evhttp_request_free(ev);
        goto failed;
    }

    /* the connection owns ev from here, and frees it when this fails */
    if (evhttp_make_request(f->evcon, ev, EVHTTP_REQ_GET, url->path) != 0) {
        goto failed;
    }

    evtimer_add(f->timer, &identity_fetch_tv);

    f->next = identity_fetches;
    if (f->next != NULL) {
        f->next->prev = f;
    }

    identity_fetches = f;

    return f;

failed:

    if (f->evcon != NULL) {
        evhttp_connection_free(f->evcon);
    }

    if (f->timer != NULL) {
        event_free(f->timer);
    }

    free(f);

    return NULL;
}


void
identity_fetch_cancel(identity_fetch_t *f)
{
    identity_fetch_finish(f, NULL);
}


static void
identity_fetch_error(enum evhttp_request_error error, void *arg)
{
    identity_fetch_t  *f;

    f = arg;
    f->error = error;
}


static void
identity_fetch_response(struct evhttp_request *ev, void *arg)
{
    size_t                 len;
    const char            *cc;
    identity_fetch_t      *f;
    struct evbuffer       *in;
    identity_fetch_res_t   res;

    f = arg;

    if (f->ended) {
        return;
    }

    memset(&res, 0, sizeof(identity_fetch_res_t));
    res.max_age = -1;

    if (ev == NULL || evhttp_request_get_response_code(ev) == 0) {
        switch (f->error) {
        case EVREQ_HTTP_TIMEOUT:
            /* libevent 2.1 reports a refused connection so too */
            res.error = "connection refused or timed out";
            break;
        case EVREQ_HTTP_DATA_TOO_LONG:
            res.error = "answer too large";
            break;
        case EVREQ_HTTP_INVALID_HEADER:
            res.error = "malformed answer";
            break;
        default:
            res.error = "connection failed (refused, reset, or TLS)";
        }

        identity_fetch_finish(f, &res);
        return;
    }

    res.status = evhttp_request_get_response_code(ev);

    cc = evhttp_find_header(evhttp_request_get_input_headers(ev),
                            "Cache-Control");
    res.max_age = (cc != NULL) ? identity_fetch_max_age(cc) : -1;

    in = evhttp_request_get_input_buffer(ev);
    len = evbuffer_get_length(in);

    if (len > identity_fetch_body_max) {
        res.status = 0;
        res.error = "answer too large";
        identity_fetch_finish(f, &res);
        return;
    }

    /* with its NUL, for the JSON parser */
    if (evbuffer_add(in, "", 1) != 0) {
        res.status = 0;
        res.error = "out of memory";
        identity_fetch_finish(f, &res);
        return;
    }

    res.body = (const char *) evbuffer_pullup(in, -1);
    res.len = len;

    if (res.body == NULL) {
        res.status = 0;
        res.error = "out of memory";
    }

    identity_fetch_finish(f, &res);
}


static void
identity_fetch_timeout(evutil_socket_t fd, short what, void *arg)
{
    identity_fetch_t      *f;
    identity_fetch_res_t   res;

    f = arg;

    memset(&res, 0, sizeof(identity_fetch_res_t));
    res.max_age = -1;
    res.error = "timed out";

    identity_fetch_finish(f, &res);
}


/*
 * Ends f once: calls the caller back (res NULL: cancelled, no call), then
 * leaves the connection to a zero timer, out of evhttp's stack.
 */

static void
identity_fetch_finish(identity_fetch_t *f, const identity_fetch_res_t *res)
{
    struct timeval  zero;

    if (f->ended) {
        return;
    }

    f->ended = 1;

    evtimer_del(f->timer);
    event_free(f->timer);

    f->timer = evtimer_new(identity_fetch_base, identity_fetch_free, f);
    zero.tv_sec = 0;
    zero.tv_usec = 0;

    /* out of memory: f stays listed, freed at the end of the loop */

    if (f->timer != NULL) {
        evtimer_add(f->timer, &zero);
    }

    if (res != NULL) {
        f->done(f->data, res);
    }
}


static void
identity_fetch_free(evutil_socket_t fd, short what, void *arg)
{
    identity_fetch_t  *f;

    f = arg;

    if (f->prev != NULL) {
        f->prev->next = f->next;

    } else {
        identity_fetches = f->next;
    }

    if (f->next != NULL) {
        f->next->prev = f->prev;
    }

    if (f->timer != NULL) {
        event_free(f->timer);
    }

    evhttp_connection_free(f->evcon);
    free(f);
}


/*
 * max-age from a Cache-Control value, in seconds: 0 for no-store or
 * no-cache (fetch again as soon as allowed), -1 when it says nothing.
 * Directives are comma-separated, names compared in any case.
 */

static long
identity_fetch_max_age(const char *cc)
{
    long         v, age;
    size_t       n;
    const char  *p;

    age = -1;
    p = cc;

    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }

        n = strcspn(p, "=, \t");

        if ((n == 8 && strncasecmp(p, "no-store", 8) == 0)
            || (n == 8 && strncasecmp(p, "no-cache", 8) == 0))
        {
            return 0;
        }

        if (n == 7 && strncasecmp(p, "max-age", 7) == 0 && p[7] == '=') {
            p += 8;
            p += (*p == '"');

            for (v = -1; *p >= '0' && *p <= '9'; p++) {
                v = (v < 0) ? 0 : v;
                v = (v > 100000000) ? v : v * 10 + (*p - '0');
            }

            age = v;
        }

        p += strcspn(p, ",");
    }

    return age;
}
