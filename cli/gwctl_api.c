
/*
 * Copyright (C) Tollgate
 *
 * gwctl's client of the admin API (docs/admin-api.md): --api URL, the
 * credentials, and one blocking HTTP/1.1 exchange per call.
 *
 * A command-line tool makes a few requests in a row, so a plain socket is
 * enough: "Connection: close", the body sent with Content-Length, the
 * answer read to its Content-Length (or its last chunk, or the end of the
 * connection), at most GWCTL_RESP_MAX bytes.  Connecting, each write and
 * each read time out after $GWCTL_TIMEOUT seconds (default
 * GWCTL_API_TIMEOUT).  Only http:// is spoken: the service listens on
 * loopback or a unix socket, and a gateway in front of it on another
 * machine is reached through a local proxy or a tunnel.
 *
 * Credentials come from the environment, never from the command line:
 * --token-env VAR sends "Authorization: Bearer $VAR", --key-env VAR
 * "X-API-Key: $VAR" (what the gateway in front of the service checks).
 *
 * Failures: no answer (refused, timed out, cut short, too large) is exit
 * code 3, as an unreachable Redis is; an answer is the caller's to judge,
 * mostly through gwctl_api_fail(): a 4xx the service refused for the
 * request's sake (not found, exists, conflict, invalid) is 2, a 401, 403
 * or 5xx is 3.
 */


#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "gwctl.h"


#define GWCTL_HEAD_MAX      16384       /* bytes of the answer's head */


static int gwctl_api_connect(gwctl_t *ctl);
static int gwctl_api_send(gwctl_t *ctl, int fd, const char *data,
    size_t len);
static int gwctl_api_read(gwctl_t *ctl, int fd, gwctl_http_t *res);
static int gwctl_api_head(gwctl_t *ctl, gwctl_http_t *res, size_t head,
    long long *length, int *chunked);
static int gwctl_api_chunks(char *p, size_t len, size_t *out);
static const char *gwctl_api_header(const char *head, size_t len,
    const char *name, size_t *vlen);


/*
 * Parses the API's URL: "http://HOST:PORT[/BASE]" (a host name, IPv4 or
 * [IPv6]; BASE a path prefix, the gateway's location of the API) or
 * "unix:/path" (the service's socket).
 */

int
gwctl_api_parse(gwctl_t *ctl, const char *what, const char *url)
{
    char         q[64], *end;
    long         port;
    size_t       len, hlen;
    const char  *p, *slash, *colon;

    len = strlen(url);
    ctl->api = url;

    if (len > GWCTL_ADDR_MAX) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: longer than %d bytes",
                          what, GWCTL_ADDR_MAX);
    }

    if (strncmp(url, "unix:", 5) == 0) {
        if (url[5] != '/' || len - 5 >= sizeof(ctl->api_path)) {
            return gwctl_fail(ctl, GWCTL_USAGE,
                              "%s: unix: needs an absolute path of at most "
                              "%d bytes", what,
                              (int) sizeof(ctl->api_path) - 1);
        }

        memcpy(ctl->api_path, url + 5, len - 5 + 1);
        snprintf(ctl->api_host, sizeof(ctl->api_host), "localhost");
        return 0;
    }

    if (strncmp(url, "http://", 7) != 0) {
        goto invalid;
    }

    p = url + 7;
    slash = strchr(p, '/');
    hlen = slash ? (size_t) (slash - p) : strlen(p);

    colon = NULL;

    for (end = (char *) p + hlen; end > p; end--) {
        if (end[-1] == ':') {
            colon = end - 1;
            break;
        }

        if (end[-1] == ']') {
            break;
        }
    }

    if (colon == NULL || colon == p || colon + 1 == p + hlen
        || colon[1] < '1' || colon[1] > '9'
        || strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-:[]") < hlen)
    {
        goto invalid;
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);

    if (errno != 0 || end != p + hlen || port > 65535) {
        goto invalid;
    }

    if (p[0] == '[') {
        if (colon[-1] != ']' || colon - p < 3) {
            goto invalid;
        }

        memcpy(ctl->api_host, p + 1, colon - p - 2);
        ctl->api_host[colon - p - 2] = '\0';

    } else {
        memcpy(ctl->api_host, p, colon - p);
        ctl->api_host[colon - p] = '\0';
    }

    ctl->api_port = (int) port;

    if (slash != NULL) {
        len = strlen(slash);

        while (len > 0 && slash[len - 1] == '/') {
            len--;
        }

        if (len >= sizeof(ctl->api_base)
            || strspn(slash, "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "/._-~") < len)
        {
            goto invalid;
        }

        memcpy(ctl->api_base, slash, len);
        ctl->api_base[len] = '\0';
    }

    return 0;

invalid:

    return gwctl_fail(ctl, GWCTL_USAGE,
                      "%s: expects http://HOST:PORT[/PATH] or unix:/path, "
                      "got %s", what, gwctl_quote(q, sizeof(q), url));
}


/*
 * The credentials and the timeout: --token-env VAR or --key-env VAR (not
 * both), each variable set, non-empty and one header line's worth of
 * printable ASCII; $GWCTL_TIMEOUT, 1 to 3600 seconds.
 */

int
gwctl_api_auth(gwctl_t *ctl, const char *token_var, const char *key_var)
{
    char         q[64], *end;
    long         n;
    size_t       i, len;
    const char  *var, *value, *t;

    ctl->api_timeout = GWCTL_API_TIMEOUT;

    t = getenv("GWCTL_TIMEOUT");

    if (t != NULL && t[0] != '\0') {
        errno = 0;
        n = strtol(t, &end, 10);

        if (errno != 0 || *end != '\0' || t[0] < '1' || t[0] > '9'
            || n > 3600)
        {
            return gwctl_fail(ctl, GWCTL_USAGE, "GWCTL_TIMEOUT: expects 1 "
                              "to 3600 seconds, got %s",
                              gwctl_quote(q, sizeof(q), t));
        }

        ctl->api_timeout = (int) n;
    }

    if (token_var != NULL && key_var != NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "--token-env and --key-env: one or the other");
    }

    var = token_var != NULL ? token_var : key_var;

    if (var == NULL) {
        return 0;
    }

    if (ctl->api == NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s needs --api",
                          token_var ? "--token-env" : "--key-env");
    }

    value = getenv(var);

    if (value == NULL || value[0] == '\0') {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s is not set or empty",
                          token_var ? "--token-env" : "--key-env", var);
    }

    len = strlen(value);

    for (i = 0; i < len; i++) {
        if (value[i] < 0x21 || value[i] > 0x7e) {
            break;
        }
    }

    if (i < len || len > GWCTL_CRED_MAX) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s: expects at most %d "
                          "bytes of printable ASCII without spaces",
                          token_var ? "--token-env" : "--key-env", var,
                          GWCTL_CRED_MAX);
    }

    ctl->api_auth_name = token_var ? "Authorization" : "X-API-Key";
    ctl->api_auth_scheme = token_var ? "Bearer " : "";
    ctl->api_auth = value;

    return 0;
}


/* a connected socket with the send and receive timeouts set, or -1 */

static int
gwctl_api_connect(gwctl_t *ctl)
{
    int               fd, rc, err;
    char              port[8];
    socklen_t         len;
    struct pollfd     pfd;
    struct timeval    tv;
    struct addrinfo   hints, *ai, *a;
    struct sockaddr_un  un;

    ai = NULL;
    fd = -1;

    if (ctl->api_path[0] != '\0') {
        memset(&un, 0, sizeof(un));
        un.sun_family = AF_UNIX;
        memcpy(un.sun_path, ctl->api_path, strlen(ctl->api_path));

        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd == -1) {
            goto failed;
        }

        if (connect(fd, (struct sockaddr *) &un, sizeof(un)) != 0) {
            goto failed;
        }

        goto connected;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", ctl->api_port);

    rc = getaddrinfo(ctl->api_host, port, &hints, &ai);
    if (rc != 0) {
        return gwctl_fail(ctl, GWCTL_REDIS, "api %s: %s", ctl->api,
                          gai_strerror(rc));
    }

    errno = ECONNREFUSED;

    for (a = ai; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK,
                    a->ai_protocol);
        if (fd == -1) {
            continue;
        }

        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }

        if (errno == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;

            rc = poll(&pfd, 1, ctl->api_timeout * 1000);

            if (rc == 0) {
                errno = ETIMEDOUT;

            } else if (rc == 1) {
                len = sizeof(err);
                err = 0;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);

                if (err == 0) {
                    break;
                }

                errno = err;
            }
        }

        err = errno;
        close(fd);
        errno = err;
        fd = -1;
    }

    freeaddrinfo(ai);

    if (fd == -1) {
        goto failed;
    }

    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
        goto failed;
    }

connected:

    tv.tv_sec = ctl->api_timeout;
    tv.tv_usec = 0;

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
        || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
    {
        goto failed;
    }

    return fd;

failed:

    err = errno;

    if (fd != -1) {
        close(fd);
    }

    return gwctl_fail(ctl, GWCTL_REDIS, "api %s: cannot connect: %s",
                      ctl->api, strerror(err));
}


static int
gwctl_api_send(gwctl_t *ctl, int fd, const char *data, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = send(fd, data, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            return gwctl_fail(ctl, GWCTL_REDIS, "api %s: cannot send: %s",
                              ctl->api,
                              (errno == EAGAIN || errno == EWOULDBLOCK)
                              ? "timed out" : strerror(errno));
        }

        data += n;
        len -= n;
    }

    return 0;
}


/*
 * One exchange: method on the API's base and path (which the caller has
 * made of safe characters), with the body (NULL: none) as ctype, and the
 * preconditions when not NULL.  res gets the status, the body (NUL
 * terminated), the ETag and, when the answer is JSON, its value.  0 when
 * there was an answer, whatever its status; -1 otherwise (exit code 3).
 */

int
gwctl_api_call(gwctl_t *ctl, const char *method, const char *path,
    const char *ctype, const char *body, size_t len, const char *if_match,
    const char *if_none_match, gwctl_http_t *res)
{
    int     fd, rc, n;
    char    head[2048];
    size_t  size;

    memset(res, 0, sizeof(gwctl_http_t));

    n = snprintf(head, sizeof(head),
                 "%s %s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                 "User-Agent: gwctl\r\nAccept: application/json\r\n",
                 method, ctl->api_base, path, ctl->api_host);
    size = n;

    if (body != NULL) {
        size += snprintf(head + size, sizeof(head) - size,
                         "Content-Type: %s\r\nContent-Length: %zu\r\n",
                         ctype, len);
    }

    if (if_match != NULL && size < sizeof(head)) {
        size += snprintf(head + size, sizeof(head) - size,
                         "If-Match: %s\r\n", if_match);
    }

    if (if_none_match != NULL && size < sizeof(head)) {
        size += snprintf(head + size, sizeof(head) - size,
                         "If-None-Match: %s\r\n", if_none_match);
    }

    if (size >= sizeof(head) - 4) {
        return gwctl_fail(ctl, GWCTL_USAGE, "api: a request too long");
    }

    size += snprintf(head + size, sizeof(head) - size, "\r\n");

    fd = gwctl_api_connect(ctl);
    if (fd == -1) {
        return -1;
    }

    rc = -1;

    /* the credential is sent apart: it never sits in a buffer we log */

    if (gwctl_api_send(ctl, fd, head, size - 2) != 0) {
        goto done;
    }

    if (ctl->api_auth != NULL
        && (gwctl_api_send(ctl, fd, ctl->api_auth_name,
                           strlen(ctl->api_auth_name)) != 0
            || gwctl_api_send(ctl, fd, ": ", 2) != 0
            || gwctl_api_send(ctl, fd, ctl->api_auth_scheme,
                              strlen(ctl->api_auth_scheme)) != 0
            || gwctl_api_send(ctl, fd, ctl->api_auth,
                              strlen(ctl->api_auth)) != 0
            || gwctl_api_send(ctl, fd, "\r\n", 2) != 0))
    {
        goto done;
    }

    if (gwctl_api_send(ctl, fd, "\r\n", 2) != 0
        || (body != NULL && gwctl_api_send(ctl, fd, body, len) != 0))
    {
        goto done;
    }

    rc = gwctl_api_read(ctl, fd, res);

done:

    close(fd);

    if (rc != 0) {
        gwctl_http_free(res);
    }

    return rc;
}


/* reads and parses the whole answer into res */

static int
gwctl_api_read(gwctl_t *ctl, int fd, gwctl_http_t *res)
{
    int         chunked;
    char       *p, *end;
    size_t      size, got, head, out;
    ssize_t     n;
    long long   length;
    json_error_t  err;

    size = 65536;
    got = 0;
    head = 0;
    length = -1;
    chunked = 0;

    res->body = malloc(size + 1);
    if (res->body == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    for ( ;; ) {

        if (head != 0 && length >= 0 && got - head >= (size_t) length) {
            break;
        }

        if (got == size) {
            if (size >= GWCTL_RESP_MAX) {
                return gwctl_fail(ctl, GWCTL_REDIS, "api %s: an answer "
                                  "larger than %d MiB", ctl->api,
                                  GWCTL_RESP_MAX >> 20);
            }

            size *= 2;
            p = realloc(res->body, size + 1);
            if (p == NULL) {
                return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
            }

            res->body = p;
        }

        n = recv(fd, res->body + got, size - got, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0) {
            return gwctl_fail(ctl, GWCTL_REDIS, "api %s: %s", ctl->api,
                              (errno == EAGAIN || errno == EWOULDBLOCK)
                              ? "no answer within the timeout"
                              : strerror(errno));
        }

        if (n == 0) {
            break;
        }

        got += n;
        res->body[got] = '\0';

        if (head == 0) {
            end = strstr(res->body, "\r\n\r\n");

            if (end == NULL) {
                if (got > GWCTL_HEAD_MAX) {
                    return gwctl_fail(ctl, GWCTL_REDIS, "api %s: an answer "
                                      "with a head too long", ctl->api);
                }

                continue;
            }

            head = end + 4 - res->body;

            if (gwctl_api_head(ctl, res, head, &length, &chunked) != 0) {
                return -1;
            }
        }
    }

    if (head == 0 || (length >= 0 && got - head < (size_t) length)) {
        return gwctl_fail(ctl, GWCTL_REDIS, "api %s: an answer cut short",
                          ctl->api);
    }

    res->len = got - head;

    if (length >= 0 && res->len > (size_t) length) {
        res->len = length;
    }

    memmove(res->body, res->body + head, res->len);
    res->body[res->len] = '\0';

    if (chunked) {
        if (gwctl_api_chunks(res->body, res->len, &out) != 0) {
            return gwctl_fail(ctl, GWCTL_REDIS, "api %s: a malformed "
                              "chunked answer", ctl->api);
        }

        res->len = out;
        res->body[out] = '\0';
    }

    if (res->json_type) {
        res->json = json_loadb(res->body, res->len, 0, &err);
    }

    return 0;
}


/* the status line and the headers this client needs */

static int
gwctl_api_head(gwctl_t *ctl, gwctl_http_t *res, size_t head,
    long long *length, int *chunked)
{
    char        *b, *end;
    size_t       vlen;
    const char  *v;

    b = res->body;

    if (strncmp(b, "HTTP/1.", 7) != 0 || b[8] != ' '
        || b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9'
        || b[11] < '0' || b[11] > '9')
    {
        return gwctl_fail(ctl, GWCTL_REDIS, "api %s: not an HTTP answer",
                          ctl->api);
    }

    res->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');

    v = gwctl_api_header(b, head, "Content-Length", &vlen);

    if (v != NULL) {
        errno = 0;
        *length = strtoll(v, &end, 10);

        if (errno != 0 || end != v + vlen || *length < 0 || v[0] == '-') {
            return gwctl_fail(ctl, GWCTL_REDIS, "api %s: a bad "
                              "Content-Length", ctl->api);
        }
    }

    v = gwctl_api_header(b, head, "Transfer-Encoding", &vlen);
    *chunked = (v != NULL && vlen == 7 && strncasecmp(v, "chunked", 7) == 0);

    if (*chunked) {
        *length = -1;
    }

    v = gwctl_api_header(b, head, "ETag", &vlen);

    if (v != NULL && vlen < sizeof(res->etag)) {
        memcpy(res->etag, v, vlen);
        res->etag[vlen] = '\0';
    }

    v = gwctl_api_header(b, head, "Content-Type", &vlen);
    res->json_type = (v != NULL && vlen >= 4
                      && (strncasecmp(v, "application/json", 16) == 0
                          || strncasecmp(v, "application/problem+json", 24)
                             == 0));

    return 0;
}


/* a header's value (spaces trimmed) in the head, or NULL */

static const char *
gwctl_api_header(const char *head, size_t len, const char *name,
    size_t *vlen)
{
    size_t       n;
    const char  *p, *end, *eol;

    n = strlen(name);
    end = head + len;

    for (p = strstr(head, "\r\n"); p != NULL && p + 2 < end; p = eol) {
        p += 2;

        eol = strstr(p, "\r\n");
        if (eol == NULL || eol == p) {
            return NULL;
        }

        if ((size_t) (eol - p) > n && p[n] == ':'
            && strncasecmp(p, name, n) == 0)
        {
            p += n + 1;

            while (p < eol && (*p == ' ' || *p == '\t')) {
                p++;
            }

            *vlen = eol - p;

            while (*vlen > 0 && (p[*vlen - 1] == ' ' || p[*vlen - 1] == '\t'))
            {
                (*vlen)--;
            }

            return p;
        }
    }

    return NULL;
}


/* decodes a chunked body in place; 0, or -1 when malformed */

static int
gwctl_api_chunks(char *p, size_t len, size_t *out)
{
    char    *end, *eol;
    size_t   i, n;

    i = 0;
    *out = 0;
    end = p + len;

    for ( ;; ) {
        eol = memchr(p + i, '\n', len - i);
        if (eol == NULL) {
            return -1;
        }

        errno = 0;
        n = strtoul(p + i, NULL, 16);

        if (errno != 0 || n > len) {
            return -1;
        }

        i = eol + 1 - p;

        if (n == 0) {
            return 0;
        }

        if (p + i + n + 2 > end) {
            return -1;
        }

        memmove(p + *out, p + i, n);
        *out += n;
        i += n + 2;
    }
}


void
gwctl_http_free(gwctl_http_t *res)
{
    free(res->body);
    json_decref(res->json);
    memset(res, 0, sizeof(gwctl_http_t));
}


/*
 * A JSON exchange: body (NULL: none) sent as ctype (NULL:
 * application/json).  0 with res filled (any status), or -1.
 */

int
gwctl_api_json(gwctl_t *ctl, const char *method, const char *path,
    json_t *body, const char *ctype, const char *if_match,
    const char *if_none_match, gwctl_http_t *res)
{
    int     rc;
    char   *text;

    text = NULL;

    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL) {
            return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
        }
    }

    rc = gwctl_api_call(ctl, method, path,
                        ctype != NULL ? ctype : "application/json", text,
                        text ? strlen(text) : 0, if_match, if_none_match,
                        res);
    free(text);

    return rc;
}


/*
 * Fails with an answer the caller did not expect: the exit code from
 * its status (4xx 2, but 401 and 403 3; 5xx 3), the message "what: the
 * status, the problem's type and detail"; a problem's errors[] are
 * printed on stderr first, one "  pointer: message" line each.
 */

int
gwctl_api_fail(gwctl_t *ctl, const char *what, gwctl_http_t *res)
{
    int          code;
    char         detail[256], type[64], ptr[256], msg[256];
    size_t       i;
    json_t      *e, *p, *m;
    const char  *t, *d;

    t = json_string_value(json_object_get(res->json, "type"));
    d = json_string_value(json_object_get(res->json, "detail"));

    if (t != NULL && strncmp(t, "urn:tollgate:problem:", 21) == 0) {
        t += 21;
    }

    gwctl_sanitize(type, sizeof(type), t ? t : "", t ? strlen(t) : 0);
    gwctl_sanitize(detail, sizeof(detail), d ? d : "", d ? strlen(d) : 0);

    json_array_foreach(json_object_get(res->json, "errors"), i, e) {
        p = json_object_get(e, "pointer");
        m = json_object_get(e, "message");

        gwctl_sanitize(ptr, sizeof(ptr),
                       json_is_string(p) ? json_string_value(p) : "",
                       json_string_length(p));
        gwctl_sanitize(msg, sizeof(msg),
                       json_is_string(m) ? json_string_value(m) : "",
                       json_string_length(m));

        fprintf(stderr, "  %s: %s\n", ptr[0] ? ptr : "/", msg);
    }

    code = (res->status >= 400 && res->status < 500 && res->status != 401
            && res->status != 403) ? GWCTL_STATE : GWCTL_REDIS;

    return gwctl_fail(ctl, code, "%s: %d%s%s%s%s", what, res->status,
                      type[0] ? " " : "", type, detail[0] ? ": " : "",
                      detail);
}
