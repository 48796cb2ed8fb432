
/*
 * Copyright (C) Tollgate
 *
 * One active health check of a gw_upstream target (docs/routing.md,
 * "gw_upstream"): "GET check_path HTTP/1.0" on a connection of its own,
 * non-blocking, and the status line of the answer.  A 2xx or 3xx status
 * within check_timeout_ms is a success; a failed connect, a short or
 * malformed answer, another status or the timeout is a failure.
 *
 * A check lives in a pool of its own and copies what it needs of the
 * snapshot (the upstream's id, the target's address and sockaddr), since
 * that snapshot may be replaced before the answer comes.  Only the first
 * NGX_HTTP_GW_CHECK_RESPONSE bytes of the answer are read; the rest is
 * never looked at.  The schedule that starts checks, and the verdict a
 * result counts towards, are ngx_http_gw_upstream_health.c's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_upstream.h"


#define NGX_HTTP_GW_CHECK_RESPONSE   32     /* bytes read of the answer */


/* one check in flight, in its own pool */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_http_gw_check_node_t   *node;
    ngx_peer_connection_t       pc;
    ngx_event_t                 timeout;
    ngx_str_t                   upstream;   /* the upstream's id */
    ngx_str_t                   name;       /* the target's address */
    ngx_buf_t                  *out;        /* the request */
    u_char                      in[NGX_HTTP_GW_CHECK_RESPONSE];
    size_t                      nin;
    u_char                      sockaddr[28];
} ngx_http_gw_check_t;


static void ngx_http_gw_upstream_check_write(ngx_event_t *wev);
static void ngx_http_gw_upstream_check_idle(ngx_event_t *wev);
static void ngx_http_gw_upstream_check_read(ngx_event_t *rev);
static void ngx_http_gw_upstream_check_timeout(ngx_event_t *ev);
static void ngx_http_gw_upstream_check_done(ngx_http_gw_check_t *ck,
    ngx_uint_t ok, const char *why);


void
ngx_http_gw_upstream_check_start(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t,
    ngx_http_gw_check_node_t *node, ngx_log_t *log)
{
    size_t                len;
    ngx_int_t             rc;
    ngx_pool_t           *pool;
    ngx_connection_t     *c;
    ngx_http_gw_check_t  *ck;

    if (t->socklen == 0 || t->socklen > sizeof(ck->sockaddr)) {
        return;
    }

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return;
    }

    ck = ngx_pcalloc(pool, sizeof(ngx_http_gw_check_t));
    if (ck == NULL) {
        goto failed;
    }

    ck->pool = pool;
    ck->node = node;

    /* the snapshot may be gone when the check ends: copies */
    ck->upstream.len = up->id.len;
    ck->upstream.data = ngx_pnalloc(pool, up->id.len + t->address.len);
    if (ck->upstream.data == NULL) {
        goto failed;
    }

    ngx_memcpy(ck->upstream.data, ngx_http_gw_snap_string(snap, up->id),
               up->id.len);

    ck->name.len = t->address.len;
    ck->name.data = ck->upstream.data + up->id.len;
    ngx_memcpy(ck->name.data, ngx_http_gw_snap_string(snap, t->address),
               t->address.len);

    len = sizeof("GET  HTTP/1.0" CRLF "Host: " CRLF
                 "User-Agent: tollgate-health-check" CRLF
                 "Connection: close" CRLF CRLF) - 1
          + up->check_path.len + t->address.len;

    ck->out = ngx_create_temp_buf(pool, len);
    if (ck->out == NULL) {
        goto failed;
    }

    ck->out->last = ngx_sprintf(ck->out->last,
                                "GET %s HTTP/1.0" CRLF "Host: %V" CRLF
                                "User-Agent: tollgate-health-check" CRLF
                                "Connection: close" CRLF CRLF,
                                ngx_http_gw_snap_string(snap, up->check_path),
                                &ck->name);

    ngx_memcpy(ck->sockaddr, t->sockaddr, t->socklen);

    ck->pc.sockaddr = (struct sockaddr *) ck->sockaddr;
    ck->pc.socklen = t->socklen;
    ck->pc.name = &ck->name;
    ck->pc.get = ngx_event_get_peer;
    ck->pc.log = log;
    ck->pc.log_error = NGX_ERROR_INFO;

    ck->timeout.handler = ngx_http_gw_upstream_check_timeout;
    ck->timeout.data = ck;
    ck->timeout.log = log;
    ck->timeout.cancelable = 1;

    node->busy = 1;

    rc = ngx_event_connect_peer(&ck->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_gw_upstream_check_done(ck, 0, "connect failed");
        return;
    }

    c = ck->pc.connection;
    c->data = ck;
    c->pool = pool;
    c->read->handler = ngx_http_gw_upstream_check_read;
    c->write->handler = ngx_http_gw_upstream_check_write;

    ngx_add_timer(&ck->timeout, up->check_timeout_ms ? up->check_timeout_ms
                                                      : 1000);

    if (rc == NGX_OK) {
        ngx_http_gw_upstream_check_write(c->write);
    }

    return;

failed:

    ngx_destroy_pool(pool);
}


static void
ngx_http_gw_upstream_check_write(ngx_event_t *wev)
{
    int                   err;
    ssize_t               n;
    socklen_t             len;
    ngx_connection_t     *c;
    ngx_http_gw_check_t  *ck;

    c = wev->data;
    ck = c->data;

    if (ck->out->pos == ck->out->start) {
        /* the first write event: did the connection succeed? */
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_log_error(NGX_LOG_INFO, c->log, err,
                          "gw_upstream: health check of %V failed to "
                          "connect", &ck->name);
            ngx_http_gw_upstream_check_done(ck, 0, "connect failed");
            return;
        }
    }

    while (ck->out->pos < ck->out->last) {
        n = c->send(c, ck->out->pos, ck->out->last - ck->out->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_gw_upstream_check_done(ck, 0, "send failed");
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_gw_upstream_check_done(ck, 0, "send failed");
            return;
        }

        ck->out->pos += n;
    }

    /* all sent: wait for the answer */
    wev->handler = ngx_http_gw_upstream_check_idle;

    if (c->read->ready) {
        ngx_http_gw_upstream_check_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_gw_upstream_check_done(ck, 0, "recv failed");
    }
}


static void
ngx_http_gw_upstream_check_idle(ngx_event_t *wev)
{
    /* the request is sent: write events mean nothing now */
}


/* reads the status line: "HTTP/1.x NNN" */
static void
ngx_http_gw_upstream_check_read(ngx_event_t *rev)
{
    ssize_t               n;
    ngx_uint_t            status;
    ngx_connection_t     *c;
    ngx_http_gw_check_t  *ck;

    c = rev->data;
    ck = c->data;

    if (ck->out->pos < ck->out->last) {
        /* not all sent yet: an early answer is read after */
        if (ngx_handle_read_event(rev, 0) != NGX_OK) {
            ngx_http_gw_upstream_check_done(ck, 0, "recv failed");
        }

        return;
    }

    while (ck->nin < 12) {
        n = c->recv(c, ck->in + ck->nin, sizeof(ck->in) - ck->nin);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_gw_upstream_check_done(ck, 0, "recv failed");
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_gw_upstream_check_done(ck, 0, "no answer");
            return;
        }

        ck->nin += n;
    }

    if (ngx_strncmp(ck->in, "HTTP/1.", 7) != 0 || ck->in[8] != ' '
        || ck->in[9] < '1' || ck->in[9] > '5'
        || ck->in[10] < '0' || ck->in[10] > '9'
        || ck->in[11] < '0' || ck->in[11] > '9')
    {
        ngx_http_gw_upstream_check_done(ck, 0, "not an HTTP answer");
        return;
    }

    status = (ck->in[9] - '0') * 100 + (ck->in[10] - '0') * 10
             + (ck->in[11] - '0');

    ngx_http_gw_upstream_check_done(ck, status >= 200 && status < 400,
                                    "status not 2xx or 3xx");
}


static void
ngx_http_gw_upstream_check_timeout(ngx_event_t *ev)
{
    ngx_http_gw_upstream_check_done(ev->data, 0, "timed out");
}


/* ends a check: the connection, the result, the pool */
static void
ngx_http_gw_upstream_check_done(ngx_http_gw_check_t *ck, ngx_uint_t ok,
    const char *why)
{
    ngx_http_gw_check_node_t  *node;

    if (ck->timeout.timer_set) {
        ngx_del_timer(&ck->timeout);
    }

    if (ck->pc.connection != NULL) {
        ngx_close_connection(ck->pc.connection);
        ck->pc.connection = NULL;
    }

    node = ck->node;
    node->busy = 0;

    if (node->gone) {
        ngx_free(node);

    } else if (ngx_http_gw_config_is_builder()) {
        ngx_http_gw_upstream_check_apply(&ck->upstream, &ck->name, ok, why,
                                         ck->pc.log);
    }

    ngx_destroy_pool(ck->pool);
}
