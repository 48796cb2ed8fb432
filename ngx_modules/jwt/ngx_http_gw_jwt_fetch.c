
/*
 * Copyright (C) Tollgate
 *
 * A small, strict HTTP/1.1 client for JWKS and discovery documents, on
 * nginx's own event machinery: ngx_event_connect_peer() to an address
 * resolved at configuration time, ngx_ssl_handshake() with the server's
 * certificate checked against the configured CA file and its name against
 * the URL's host (as proxy_ssl_verify does), one "GET" with
 * "Connection: close", and a response read until it is complete or the
 * server closes.  Nothing blocks: each step runs from an event, and one
 * timer bounds the whole exchange.
 *
 * The response is read into one buffer, doubled as it fills up to the
 * largest response allowed (the header cap and twice max_size, for a
 * chunked body's framing), and given whole to the strict parser of
 * lib/http (gw_http_resp.h) after each read: it takes only what a JWKS
 * endpoint needs, refuses the rest, and answers offsets into the buffer,
 * so the buffer may move between reads.
 *
 * nginx logs a failed connect() or handshake at "error" on the
 * connection's log; a JWKS endpoint that is down is not our fault, and the
 * caller logs one warning per incident, so the connection gets a copy of
 * the cycle's log that writes only "crit" and above.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_http_gw_jwt_remote.h"


#define NGX_HTTP_GW_JWT_FETCH_CHUNK  (16 * 1024)


static void ngx_http_gw_jwt_fetch_fail(ngx_http_gw_jwt_fetch_t *f,
    const char *err);
static void ngx_http_gw_jwt_fetch_finish(ngx_http_gw_jwt_fetch_t *f);
static void ngx_http_gw_jwt_fetch_posted(ngx_event_t *ev);
static void ngx_http_gw_jwt_fetch_timeout(ngx_event_t *ev);
static void ngx_http_gw_jwt_fetch_write(ngx_event_t *wev);
static void ngx_http_gw_jwt_fetch_handshaked(ngx_connection_t *c);
static void ngx_http_gw_jwt_fetch_send(ngx_http_gw_jwt_fetch_t *f);
static void ngx_http_gw_jwt_fetch_read(ngx_event_t *rev);
static void ngx_http_gw_jwt_fetch_parsed(ngx_http_gw_jwt_fetch_t *f,
    int rc);


ngx_http_gw_jwt_fetch_t *
ngx_http_gw_jwt_fetch_create(ngx_log_t *log)
{
    ngx_pool_t               *pool;
    ngx_http_gw_jwt_fetch_t  *f;

    pool = ngx_create_pool(4096, log);
    if (pool == NULL) {
        return NULL;
    }

    f = ngx_pcalloc(pool, sizeof(ngx_http_gw_jwt_fetch_t));
    if (f == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    f->pool = pool;
    f->max_age = -1;

    f->log = *log;
    f->log.log_level = NGX_LOG_CRIT;
    f->log.handler = NULL;
    f->log.data = NULL;
    f->log.next = NULL;

    f->timer.handler = ngx_http_gw_jwt_fetch_timeout;
    f->timer.data = f;
    f->timer.log = log;
    f->timer.cancelable = 1;

    return f;
}


void
ngx_http_gw_jwt_fetch_destroy(ngx_http_gw_jwt_fetch_t *f)
{
    ngx_destroy_pool(f->pool);
}


/*
 * Starts the exchange.  A failure at once (no memory, connect() refused
 * on the spot) still reaches the handler through a posted event, so the
 * caller's state is settled before the handler runs.
 */

void
ngx_http_gw_jwt_fetch_start(ngx_http_gw_jwt_fetch_t *f)
{
    size_t                 len;
    u_char                *p;
    ngx_int_t              rc;
    ngx_addr_t            *addr;
    ngx_connection_t      *c;
    ngx_peer_connection_t *pc;

    len = sizeof("GET  HTTP/1.1" CRLF "Host: " CRLF
                 "Accept: application/json" CRLF
                 "User-Agent: tollgate" CRLF "Connection: close" CRLF
                 "If-None-Match: " CRLF CRLF) - 1
          + f->path.len + f->url->authority.len + f->etag.len;

    f->out = ngx_create_temp_buf(f->pool, len);
    if (f->out == NULL) {
        ngx_http_gw_jwt_fetch_fail(f, "out of memory");
        return;
    }

    p = ngx_sprintf(f->out->last, "GET %V HTTP/1.1" CRLF "Host: %V" CRLF
                    "Accept: application/json" CRLF
                    "User-Agent: tollgate" CRLF "Connection: close" CRLF,
                    &f->path, &f->url->authority);

    if (f->etag.len) {
        p = ngx_sprintf(p, "If-None-Match: %V" CRLF, &f->etag);
    }

    *p++ = CR; *p++ = LF;
    f->out->last = p;

    f->cap = NGX_HTTP_GW_JWT_HEADER_MAX + 2 * f->max_size;

    gw_http_resp_init(&f->resp, f->max_size);

    f->in = ngx_create_temp_buf(f->pool, NGX_HTTP_GW_JWT_FETCH_CHUNK);
    if (f->in == NULL) {
        ngx_http_gw_jwt_fetch_fail(f, "out of memory");
        return;
    }

    addr = &f->url->addrs[0];
    pc = &f->peer;

    pc->sockaddr = addr->sockaddr;
    pc->socklen = addr->socklen;
    pc->name = &addr->name;
    pc->get = ngx_event_get_peer;
    pc->log = &f->log;
    pc->log_error = NGX_ERROR_ERR;

    ngx_add_timer(&f->timer, f->timeout);

    rc = ngx_event_connect_peer(pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_snprintf((u_char *) f->reason, sizeof(f->reason) - 1,
                     "connect() to %V failed%Z", pc->name);
        ngx_http_gw_jwt_fetch_fail(f, f->reason);
        return;
    }

    c = pc->connection;
    c->data = f;
    c->pool = f->pool;
    c->read->handler = ngx_http_gw_jwt_fetch_read;
    c->write->handler = ngx_http_gw_jwt_fetch_write;

    if (rc == NGX_OK) {
        ngx_http_gw_jwt_fetch_write(c->write);
    }
}


static void
ngx_http_gw_jwt_fetch_fail(ngx_http_gw_jwt_fetch_t *f, const char *err)
{
    if (f->finished) {
        return;
    }

    f->err = err;
    f->finished = 1;

    if (f->timer.timer_set) {
        ngx_del_timer(&f->timer);
    }

    /* the handler runs from the posted queue, never inside our caller */

    f->timer.handler = ngx_http_gw_jwt_fetch_posted;
    ngx_post_event(&f->timer, &ngx_posted_events);
}


static void
ngx_http_gw_jwt_fetch_posted(ngx_event_t *ev)
{
    ngx_http_gw_jwt_fetch_t  *f = ev->data;

    f->finished = 0;
    ngx_http_gw_jwt_fetch_finish(f);
}


/* closes the connection and calls the handler, which may destroy f */

static void
ngx_http_gw_jwt_fetch_finish(ngx_http_gw_jwt_fetch_t *f)
{
    ngx_connection_t  *c;

    if (f->finished) {
        return;
    }

    f->finished = 1;

    if (f->timer.timer_set) {
        ngx_del_timer(&f->timer);
    }

    if (f->timer.posted) {
        ngx_delete_posted_event(&f->timer);
    }

    c = f->peer.connection;

    if (c != NULL) {
        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }

        ngx_close_connection(c);
        f->peer.connection = NULL;
    }

    f->handler(f);
}


static void
ngx_http_gw_jwt_fetch_timeout(ngx_event_t *ev)
{
    ngx_http_gw_jwt_fetch_t  *f = ev->data;

    f->err = "timed out";
    ngx_http_gw_jwt_fetch_finish(f);
}


static void
ngx_http_gw_jwt_fetch_write(ngx_event_t *wev)
{
    int                       err;
    u_char                    host[NGX_HTTP_GW_JWT_URL_MAX + 1];
    socklen_t                 len;
    ngx_int_t                 rc;
    ngx_connection_t         *c;
    ngx_http_gw_jwt_fetch_t  *f;

    c = wev->data;
    f = c->data;

    if (f->connected) {
        ngx_http_gw_jwt_fetch_send(f);
        return;
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        ngx_snprintf((u_char *) f->reason, sizeof(f->reason) - 1,
                     "connect() to %V failed (%d: %s)%Z", f->peer.name,
                     err, strerror(err));
        f->err = f->reason;
        ngx_http_gw_jwt_fetch_finish(f);
        return;
    }

    f->connected = 1;

    if (f->ssl == NULL) {
        ngx_http_gw_jwt_fetch_send(f);
        return;
    }

    if (ngx_ssl_create_connection(f->ssl, c, NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        f->err = "TLS setup failed";
        ngx_http_gw_jwt_fetch_finish(f);
        return;
    }

    /* SNI, for a host name (RFC 6066 section 3: never an address) */

    if (f->url->host.len <= NGX_HTTP_GW_JWT_URL_MAX
        && ngx_inet_addr(f->url->host.data, f->url->host.len) == INADDR_NONE
        && ngx_strlchr(f->url->host.data,
                       f->url->host.data + f->url->host.len, ':')
           == NULL)
    {
        ngx_memcpy(host, f->url->host.data, f->url->host.len);
        host[f->url->host.len] = '\0';

        if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) host)
            == 0)
        {
            f->err = "TLS setup failed (SNI)";
            ngx_http_gw_jwt_fetch_finish(f);
            return;
        }
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_gw_jwt_fetch_handshaked;
        return;
    }

    ngx_http_gw_jwt_fetch_handshaked(c);
}


static void
ngx_http_gw_jwt_fetch_handshaked(ngx_connection_t *c)
{
    long                      rc;
    ngx_http_gw_jwt_fetch_t  *f;

    f = c->data;

    if (!c->ssl->handshaked) {
        f->err = "TLS handshake failed";
        ngx_http_gw_jwt_fetch_finish(f);
        return;
    }

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        ngx_snprintf((u_char *) f->reason, sizeof(f->reason) - 1,
                     "certificate verify failed (%l: %s)%Z", rc,
                     X509_verify_cert_error_string(rc));
        f->err = f->reason;
        ngx_http_gw_jwt_fetch_finish(f);
        return;
    }

    if (ngx_ssl_check_host(c, &f->url->host) != NGX_OK) {
        f->err = "certificate does not match the host name";
        ngx_http_gw_jwt_fetch_finish(f);
        return;
    }

    c->read->handler = ngx_http_gw_jwt_fetch_read;
    c->write->handler = ngx_http_gw_jwt_fetch_write;

    ngx_http_gw_jwt_fetch_send(f);
}


static void
ngx_http_gw_jwt_fetch_send(ngx_http_gw_jwt_fetch_t *f)
{
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c;

    c = f->peer.connection;
    b = f->out;

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                f->err = "send failed";
                ngx_http_gw_jwt_fetch_finish(f);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            f->err = "send failed";
            ngx_http_gw_jwt_fetch_finish(f);
            return;
        }

        b->pos += n;
    }

    /* all sent: the answer comes on the read side */

    c->write->handler = ngx_http_gw_jwt_fetch_write;

    if (c->read->ready) {
        ngx_http_gw_jwt_fetch_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        f->err = "recv failed";
        ngx_http_gw_jwt_fetch_finish(f);
    }
}


static void
ngx_http_gw_jwt_fetch_read(ngx_event_t *rev)
{
    size_t                    size;
    ssize_t                   n;
    ngx_int_t                 rc;
    ngx_buf_t                *b, *nb;
    ngx_connection_t         *c;
    ngx_http_gw_jwt_fetch_t  *f;

    c = rev->data;
    f = c->data;

    if (f->out == NULL || f->out->pos < f->out->last) {
        return;                     /* still sending */
    }

    for ( ;; ) {
        b = f->in;

        if (b->last == b->end) {
            size = b->end - b->start;

            if (size >= f->cap) {
                f->err = "response too large";
                ngx_http_gw_jwt_fetch_finish(f);
                return;
            }

            size = ngx_min(2 * size, f->cap);

            nb = ngx_create_temp_buf(f->pool, size);
            if (nb == NULL) {
                f->err = "out of memory";
                ngx_http_gw_jwt_fetch_finish(f);
                return;
            }

            nb->last = ngx_cpymem(nb->pos, b->pos, b->last - b->pos);

            ngx_pfree(f->pool, b->start);
            f->in = nb;
            b = nb;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                f->err = "recv failed";
                ngx_http_gw_jwt_fetch_finish(f);
            }

            return;
        }

        if (n == NGX_ERROR) {
            f->err = "recv failed";
            ngx_http_gw_jwt_fetch_finish(f);
            return;
        }

        if (n > 0) {
            b->last += n;
        }

        rc = gw_http_resp_parse(&f->resp, b->pos, b->last - b->pos, n == 0);

        if (rc == GW_HTTP_RESP_AGAIN) {
            if (n == 0) {
                f->err = "response truncated";
                ngx_http_gw_jwt_fetch_finish(f);
                return;
            }

            continue;
        }

        ngx_http_gw_jwt_fetch_parsed(f, rc);
        ngx_http_gw_jwt_fetch_finish(f);
        return;
    }
}


/* what the parser answered, as the handler reads it: pointers into in */

static void
ngx_http_gw_jwt_fetch_parsed(ngx_http_gw_jwt_fetch_t *f, int rc)
{
    u_char  *p;

    if (rc == GW_HTTP_RESP_ERROR) {
        f->err = f->resp.err;
        f->status = 0;
        return;
    }

    p = f->in->pos;

    f->status = f->resp.status;
    f->max_age = f->resp.max_age;

    f->etag_out.data = p + f->resp.etag;
    f->etag_out.len = f->resp.etag_len;

    f->body.data = p + f->resp.body;
    f->body.len = f->resp.body_len;
}


const char *
ngx_http_gw_jwt_url_split(ngx_str_t *text, ngx_http_gw_jwt_url_t *u)
{
    u_char     *p, *last, *host, *host_end;
    ngx_int_t   port;

    ngx_memzero(u, sizeof(ngx_http_gw_jwt_url_t));

    u->text = *text;
    p = text->data;
    last = p + text->len;

    if (text->len > NGX_HTTP_GW_JWT_URL_MAX) {
        return "URL too long";
    }

    if (text->len > 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        u->ssl = 1;
        u->port = 443;
        p += 8;

    } else if (text->len > 7
               && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0)
    {
        u->port = 80;
        p += 7;

    } else {
        return "not an http or https URL";
    }

    u->authority.data = p;

    if (p < last && *p == '[') {
        host = ++p;

        while (p < last && (ngx_hextoi(p, 1) != NGX_ERROR || *p == ':'
                          || *p == '.'))
        {
            p++;
        }

        if (p == last || *p != ']' || p == host) {
            return "invalid host";
        }

        host_end = p++;

    } else {
        host = p;

        while (p < last
               && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                   || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
        {
            p++;
        }

        host_end = p;

        if (host_end == host) {
            return "invalid host";
        }
    }

    if (p < last && *p == ':') {
        for (port = 0, p++; p < last && *p >= '0' && *p <= '9'; p++) {
            port = port * 10 + (*p - '0');

            if (port > 65535) {
                return "invalid port";
            }
        }

        if (port == 0) {
            return "invalid port";
        }

        u->port = (in_port_t) port;
    }

    u->authority.len = p - u->authority.data;
    u->host.data = host;
    u->host.len = host_end - host;

    if (p < last && *p != '/' && *p != '?') {
        return "invalid host";          /* user information, or worse */
    }

    if (ngx_strlchr(p, last, '#') != NULL) {
        return "a URL with a fragment";
    }

    for (u->path.data = p; p < last; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            return "a URL with a space or a control byte";
        }
    }

    u->path.len = p - u->path.data;

    if (u->path.len == 0) {
        ngx_str_set(&u->path, "/");
    }

    return NULL;
}


ngx_uint_t
ngx_http_gw_jwt_url_same_origin(ngx_http_gw_jwt_url_t *a,
    ngx_http_gw_jwt_url_t *b)
{
    return a->ssl == b->ssl
           && a->port == b->port
           && a->host.len == b->host.len
           && ngx_strncasecmp(a->host.data, b->host.data, a->host.len) == 0;
}
