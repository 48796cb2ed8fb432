
/*
 * Copyright (C) Tollgate
 *
 * The "http" sink's configuration (docs/processing-http.md):
 *
 *     {"type": "http", "url": "http://127.0.0.1:8080/hook",
 *      "method": "POST", "headers": {"Authorization": "Bearer ..."},
 *      "batch": false, "timeout": 5000, "concurrency": 8}
 *
 * and the service's http_sink_allow list, the platform's rule that no
 * outbound request goes to an address an operator did not allow: the
 * list is empty by default, so an http sink is refused until the
 * operator names its networks.  A URL whose host is an address is
 * checked here, at the start; a host name is checked at each connect,
 * against the address it resolved to (proc_sink_http.c).
 *
 * Only http:// is taken: https:// is refused with its reason (the sink
 * does not verify certificates yet), and so are user info, fragments,
 * and headers that would change the request's framing or the sink's own
 * headers (Host, Content-Length, hop-by-hop ones, Idempotency-Key, ...).
 */


#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proc_sink_http_int.h"


#define PROC_HTTP_NAME_MAX      128


static int proc_http_url(proc_http_conf_t *c, const char *url, char *err,
    size_t errlen);
static int proc_http_headers(proc_http_conf_t *c, json_t *hs, char *err,
    size_t errlen);
static void proc_http_printable(char *out, size_t size, const char *s);


/* headers the sink sets itself, or that change the request's framing */
static const char  *proc_http_forbidden[] = {
    "host", "content-length", "transfer-encoding", "connection",
    "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
    "proxy-authenticate", "proxy-authorization", "expect",
    "content-type", "idempotency-key", "x-request-id", "traceparent",
    NULL
};


int
proc_http_conf(proc_http_conf_t *c, const char *allow, json_t *conf,
    char *err, size_t errlen)
{
    json_t  *v;

    memset(c, 0, sizeof(proc_http_conf_t));
    c->method = EVHTTP_REQ_POST;
    c->timeout = 10000;
    c->concurrency = 8;

    v = json_object_get(conf, "method");
    if (v != NULL && strcmp(json_string_value(v), "PUT") == 0) {
        c->method = EVHTTP_REQ_PUT;
    }

    c->batch = json_is_true(json_object_get(conf, "batch"));

    v = json_object_get(conf, "timeout");
    if (json_is_integer(v)) {
        c->timeout = json_integer_value(v);
    }

    v = json_object_get(conf, "concurrency");
    if (json_is_integer(v)) {
        c->concurrency = json_integer_value(v);
    }

    if (proc_http_allow_parse(allow != NULL ? allow : "", c->allow,
                              PROC_HTTP_ALLOW_MAX, &c->nallow, err, errlen)
        != 0)
    {
        goto failed;
    }

    if (c->nallow == 0) {
        snprintf(err, errlen, "/url: no outbound address is allowed: name "
                 "the receiver's network in the service's http_sink_allow "
                 "key");
        goto failed;
    }

    if (proc_http_url(c, json_string_value(json_object_get(conf, "url")),
                      err, errlen)
        != 0)
    {
        goto failed;
    }

    if (proc_http_headers(c, json_object_get(conf, "headers"), err, errlen)
        != 0)
    {
        goto failed;
    }

    return 0;

failed:

    proc_http_conf_free(c);
    return -1;
}


void
proc_http_conf_free(proc_http_conf_t *c)
{
    size_t  i;

    for (i = 0; i < c->nheaders; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }

    free(c->headers);
    free(c->path);
    free(c->url);
    c->headers = NULL;
    c->nheaders = 0;
    c->path = NULL;
    c->url = NULL;
}


/*
 * The URL: http only, a host, an optional port, a path and query; no
 * user info nor fragment.  A host that is an address is checked against
 * the allow list now.
 */

static int
proc_http_url(proc_http_conf_t *c, const char *url, char *err,
    size_t errlen)
{
    int                   rc, port;
    char                  safe[128];
    size_t                len;
    const char           *scheme, *host, *path, *query;
    struct evhttp_uri    *u;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;

    rc = -1;
    proc_http_printable(safe, sizeof(safe), url);

    u = evhttp_uri_parse_with_flags(url, 0);
    if (u == NULL) {
        snprintf(err, errlen, "/url: not a URL: \"%s\"", safe);
        return -1;
    }

    scheme = evhttp_uri_get_scheme(u);
    host = evhttp_uri_get_host(u);

    if (scheme != NULL && strcasecmp(scheme, "https") == 0) {
        snprintf(err, errlen, "/url: https is not supported (the sink "
                 "cannot verify a certificate yet): use http:// to a "
                 "receiver on a trusted network, or a local TLS proxy");
        goto done;
    }

    if (scheme == NULL || strcasecmp(scheme, "http") != 0) {
        snprintf(err, errlen, "/url: only http:// is supported: \"%s\"",
                 safe);
        goto done;
    }

    if (evhttp_uri_get_userinfo(u) != NULL
        || evhttp_uri_get_fragment(u) != NULL)
    {
        snprintf(err, errlen, "/url: no user info nor fragment: \"%s\"",
                 safe);
        goto done;
    }

    len = (host != NULL) ? strlen(host) : 0;

    if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }

    if (len == 0 || len > PROC_HTTP_HOST_MAX) {
        snprintf(err, errlen, "/url: no host, or a host too long: \"%s\"",
                 safe);
        goto done;
    }

    memcpy(c->host, host, len);
    c->host[len] = '\0';

    port = evhttp_uri_get_port(u);
    c->port = (port == -1) ? 80 : (unsigned) port;

    if (c->port == 0 || c->port > 65535) {
        snprintf(err, errlen, "/url: a bad port: \"%s\"", safe);
        goto done;
    }

    snprintf(c->authority, sizeof(c->authority), "%s", evhttp_uri_get_host(u));

    if (port != -1 && port != 80) {
        len = strlen(c->authority);
        snprintf(c->authority + len, sizeof(c->authority) - len, ":%d",
                 port);
    }

    path = evhttp_uri_get_path(u);
    query = evhttp_uri_get_query(u);

    if (path == NULL || path[0] == '\0') {
        path = "/";
    }

    len = strlen(path) + (query != NULL ? strlen(query) + 1 : 0) + 1;
    c->path = malloc(len);
    c->url = strdup(url);

    if (c->path == NULL || c->url == NULL) {
        snprintf(err, errlen, ": out of memory");
        goto done;
    }

    snprintf(c->path, len, "%s%s%s", path, query != NULL ? "?" : "",
             query != NULL ? query : "");

    /* an address in the URL: refused now rather than at each connect */

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));

    if (inet_pton(AF_INET, c->host, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons(c->port);

        if (!proc_http_allowed(c, (struct sockaddr *) &sin)) {
            snprintf(err, errlen, "/url: %s port %u is not allowed by the "
                     "service's http_sink_allow key", c->host, c->port);
            goto done;
        }

    } else if (inet_pton(AF_INET6, c->host, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(c->port);

        if (!proc_http_allowed(c, (struct sockaddr *) &sin6)) {
            snprintf(err, errlen, "/url: [%s] port %u is not allowed by "
                     "the service's http_sink_allow key", c->host, c->port);
            goto done;
        }
    }

    rc = 0;

done:

    evhttp_uri_free(u);
    return rc;
}


/*
 * The configured headers: a name of RFC 9110 token characters, not one
 * of proc_http_forbidden; a value without control characters (HTAB
 * aside): no CR, LF or NUL can split the request.
 */

static int
proc_http_headers(proc_http_conf_t *c, json_t *hs, char *err,
    size_t errlen)
{
    char                 safe[64];
    size_t               i, len, n;
    json_t              *v;
    const char          *name, *value;
    proc_http_header_t  *h;
    const unsigned char *p;

    if (hs == NULL) {
        return 0;
    }

    n = json_object_size(hs);
    c->headers = calloc(n + 1, sizeof(proc_http_header_t));
    if (c->headers == NULL) {
        snprintf(err, errlen, ": out of memory");
        return -1;
    }

    json_object_foreach(hs, name, v) {
        proc_http_printable(safe, sizeof(safe), name);
        len = strlen(name);

        if (len == 0 || len > PROC_HTTP_NAME_MAX) {
            snprintf(err, errlen, "/headers: a name of 1 to %d characters",
                     PROC_HTTP_NAME_MAX);
            return -1;
        }

        for (p = (const unsigned char *) name; *p != '\0'; p++) {
            if (!isalnum(*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL) {
                snprintf(err, errlen, "/headers/%s: not a header name",
                         safe);
                return -1;
            }
        }

        for (i = 0; proc_http_forbidden[i] != NULL; i++) {
            if (strcasecmp(name, proc_http_forbidden[i]) == 0) {
                snprintf(err, errlen, "/headers/%s: the sink sets this "
                         "header itself, or it is hop-by-hop", safe);
                return -1;
            }
        }

        value = json_string_value(v);
        len = json_string_length(v);

        for (i = 0; i < len; i++) {
            if ((value[i] >= 0 && value[i] < 0x20 && value[i] != '\t')
                || value[i] == 0x7f)
            {
                snprintf(err, errlen, "/headers/%s: a control character "
                         "(CR, LF, NUL, ...) in the value", safe);
                return -1;
            }
        }

        h = &c->headers[c->nheaders++];

        h->name = strdup(name);
        if (h->name == NULL) {
            snprintf(err, errlen, ": out of memory");
            return -1;
        }

        h->value = strdup(value);
        if (h->value == NULL) {
            snprintf(err, errlen, ": out of memory");
            return -1;
        }
    }

    return 0;
}


int
proc_http_allow_parse(const char *text, proc_http_net_t *nets, size_t max,
    size_t *n, char *err, size_t errlen)
{
    char  bad[80];

    if (gw_netallow_parse(text, nets, max, n, bad, sizeof(bad)) == 0) {
        return 0;
    }

    if (bad[0] == '\0') {
        snprintf(err, errlen, "/url: http_sink_allow: more than %u "
                 "entries", (unsigned) max);

    } else {
        snprintf(err, errlen, "/url: http_sink_allow: not "
                 "\"<addr>[/<bits>][:<port>]\": \"%.64s\"", bad);
    }

    return -1;
}


int
proc_http_allowed(const proc_http_conf_t *c, const struct sockaddr *sa)
{
    return gw_netallow_match(c->allow, c->nallow, sa);
}


static void
proc_http_printable(char *out, size_t size, const char *s)
{
    size_t  i;

    for (i = 0; i + 1 < size && s != NULL && s[i] != '\0'; i++) {
        out[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }

    out[i] = '\0';
}
