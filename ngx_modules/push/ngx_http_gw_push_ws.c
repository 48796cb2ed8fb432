
/*
 * Copyright (C) Tollgate
 *
 * WebSocket subscribers (RFC 6455) on a gw_push_subscribe location, next
 * to the EventSource ones (docs/push.md, "WebSocket").  A GET whose
 * Upgrade names websocket is checked here as a whole handshake, then
 * answered 101; from there the subscriber is registered like an
 * EventSource one and gets, for each message, the text frame the worker
 * built once beside the SSE frame (ngx_http_gw_push_ws_frame_len/_write).
 *
 * The handshake refuses, with a problem and at info: a method other
 * than GET, a version other than HTTP/1.1, a Connection without the
 * upgrade token, no Sec-WebSocket-Key or one that is not the base64 of
 * 16 bytes, no Sec-WebSocket-Version (400), one other than 13 (426 with
 * Sec-WebSocket-Version: 13), and an Upgrade, Sec-WebSocket-Key or
 * Sec-WebSocket-Version header given twice (400: two keys or versions
 * leave the answer ambiguous).  Connection is a list and may be split
 * over several lines.
 *
 * A subscriber only listens.  What a client may send and what it gets
 * back is lib/ws's policy (gw_ws.h): ping is answered pong, pong is
 * ignored, close is answered with its code and ends; anything else ends
 * the connection with a close carrying the code that says why.  No
 * client frame is buffered beyond a control frame's 139 bytes.
 */


#include "ngx_http_gw_push_stream.h"
#include "gw_ws.h"

#include <jansson.h>


#define NGX_HTTP_GW_PUSH_WS_UPGRADE   0
#define NGX_HTTP_GW_PUSH_WS_KEY       1
#define NGX_HTTP_GW_PUSH_WS_VERSION   2
#define NGX_HTTP_GW_PUSH_WS_HEADERS   3

#define NGX_HTTP_GW_PUSH_WS_426       426     /* Upgrade Required */


/* a listening subscriber's only input: control frames, whole */
#define NGX_HTTP_GW_PUSH_WS_BUF       (GW_WS_HEAD_MAX + GW_WS_CONTROL_MAX)

/* the largest client frame announced that is not refused 1009 */
#define NGX_HTTP_GW_PUSH_WS_FRAME_MAX 4096


struct ngx_http_gw_push_ws_s {
    size_t                      n;             /* bytes in buf */
    ngx_uint_t                  said;          /* a close frame went */
    u_char                      buf[NGX_HTTP_GW_PUSH_WS_BUF];
};


static ngx_int_t ngx_http_gw_push_ws_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *detail);
static ngx_int_t ngx_http_gw_push_ws_frames(ngx_http_gw_push_sub_t *sub);
static ngx_int_t ngx_http_gw_push_ws_control(ngx_http_gw_push_sub_t *sub,
    unsigned opcode, u_char *p, size_t n);
static void ngx_http_gw_push_ws_end(ngx_http_gw_push_sub_t *sub,
    unsigned code, const char *why);
static size_t ngx_http_gw_push_ws_json_len(ngx_str_t *s);
static u_char *ngx_http_gw_push_ws_json(u_char *p, ngx_str_t *s);


static ngx_str_t  ngx_http_gw_push_ws_names[] = {
    ngx_string("Upgrade"),
    ngx_string("Sec-WebSocket-Key"),
    ngx_string("Sec-WebSocket-Version")
};


ngx_uint_t
ngx_http_gw_push_ws_wanted(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.upgrade;

    return h != NULL
           && gw_ws_list_has(h->value.data, h->value.len, "websocket");
}


ngx_int_t
ngx_http_gw_push_ws_handshake(ngx_http_request_t *r, u_char *accept)
{
    ngx_str_t        *v[NGX_HTTP_GW_PUSH_WS_HEADERS];
    ngx_uint_t        i, k, upgrade;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    ngx_memzero(v, sizeof(v));
    upgrade = 0;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        if (h[i].key.len == sizeof("Connection") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Connection",
                               sizeof("Connection") - 1) == 0)
        {
            upgrade |= gw_ws_list_has(h[i].value.data, h[i].value.len,
                                      "upgrade");
            continue;
        }

        for (k = 0; k < NGX_HTTP_GW_PUSH_WS_HEADERS; k++) {
            if (h[i].key.len != ngx_http_gw_push_ws_names[k].len
                || ngx_strncasecmp(h[i].key.data,
                                   ngx_http_gw_push_ws_names[k].data,
                                   h[i].key.len) != 0)
            {
                continue;
            }

            if (v[k] != NULL) {
                return ngx_http_gw_push_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                           "Upgrade, Sec-WebSocket-Key and "
                           "Sec-WebSocket-Version are each given once");
            }

            v[k] = &h[i].value;
        }
    }

    if (r->method != NGX_HTTP_GET
        || r->http_version != NGX_HTTP_VERSION_11)
    {
        return ngx_http_gw_push_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "a WebSocket handshake is a GET in HTTP/1.1");
    }

    if (!upgrade) {
        return ngx_http_gw_push_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "a WebSocket handshake has Connection: upgrade");
    }

    if (v[NGX_HTTP_GW_PUSH_WS_VERSION] == NULL) {
        return ngx_http_gw_push_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "a WebSocket handshake has Sec-WebSocket-Version");
    }

    if (v[NGX_HTTP_GW_PUSH_WS_VERSION]->len != 2
        || ngx_strncmp(v[NGX_HTTP_GW_PUSH_WS_VERSION]->data, "13", 2) != 0)
    {
        return ngx_http_gw_push_ws_refuse(r, NGX_HTTP_GW_PUSH_WS_426,
                   "the WebSocket version spoken here is 13");
    }

    if (v[NGX_HTTP_GW_PUSH_WS_KEY] == NULL
        || !gw_ws_key_valid(v[NGX_HTTP_GW_PUSH_WS_KEY]->data,
                            v[NGX_HTTP_GW_PUSH_WS_KEY]->len))
    {
        return ngx_http_gw_push_ws_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "Sec-WebSocket-Key is the base64 of 16 bytes");
    }

    if (gw_ws_accept(accept, v[NGX_HTTP_GW_PUSH_WS_KEY]->data,
                     v[NGX_HTTP_GW_PUSH_WS_KEY]->len)
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_push_subscribe: SHA-1 failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/* the handshake's refusal: a problem (426 with the version), at info */

static ngx_int_t
ngx_http_gw_push_ws_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *detail)
{
    ngx_table_elt_t        *h;
    ngx_http_gw_problem_t   problem;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_push_subscribe: WebSocket handshake refused "
                  "(%ui): %s", status, detail);

    problem.status = status;
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);
    ngx_str_null(&problem.extra);

    if (status == NGX_HTTP_GW_PUSH_WS_426) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Sec-WebSocket-Version");
        ngx_str_set(&h->value, "13");
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");

        problem.type = "urn:tollgate:problem:push-websocket-version";
        problem.title = "WebSocket version not supported";

    } else {
        problem.type = "urn:tollgate:problem:push-websocket-handshake";
        problem.title = "Invalid WebSocket handshake";
    }

    /* as a content handler's answer: the problem drops this reference */
    r->main->count++;

    if (ngx_http_gw_send_problem(r, &problem) == NGX_ERROR) {
        r->main->count--;
        return NGX_ERROR;
    }

    return NGX_DONE;
}


/*
 * Answers the handshake (accept: GW_WS_ACCEPT_LEN bytes) with 101 and
 * makes r's subscriber sub a WebSocket one: its frames are the messages'
 * WebSocket frames, its client's frames are read by
 * ngx_http_gw_push_ws_read.  The 101 goes through nginx's filters (the
 * header filter writes "Connection: upgrade" for a 101); sub->filtered
 * when they hold part of it.  NGX_OK, or NGX_ERROR.
 */

ngx_int_t
ngx_http_gw_push_ws_accept(ngx_http_request_t *r, ngx_http_gw_push_sub_t *sub,
    u_char *accept)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    sub->ws = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_push_ws_t));
    if (sub->ws == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Upgrade");
    ngx_str_set(&h->value, "websocket");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Sec-WebSocket-Accept");
    h->value.data = ngx_pnalloc(r->pool, GW_WS_ACCEPT_LEN);
    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    h->value.len = GW_WS_ACCEPT_LEN;
    ngx_memcpy(h->value.data, accept, GW_WS_ACCEPT_LEN);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    ngx_str_null(&r->headers_out.content_type);
    r->keepalive = 0;
    r->header_only = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    /* the write filter holds a header alone until a flush */

    if (ngx_http_send_special(r, NGX_HTTP_FLUSH) == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (r->out != NULL || r->connection->buffered) {
        sub->filtered = 1;
    }

    r->read_event_handler = ngx_http_gw_push_ws_read;

    return NGX_OK;
}


/*
 * The read handler of a WebSocket subscriber: reads what its client
 * sent (the bytes it sent right after the handshake first) and acts on
 * each whole frame; ends the connection when the client closes it or
 * sends a frame refused.
 */

void
ngx_http_gw_push_ws_read(ngx_http_request_t *r)
{
    size_t                   n;
    ssize_t                  rc;
    ngx_buf_t               *b;
    ngx_connection_t        *c;
    ngx_http_gw_push_ws_t   *ws;
    ngx_http_gw_push_sub_t  *sub;

    c = r->connection;
    sub = ngx_http_get_module_ctx(r, ngx_http_gw_push_stream_module);

    if (sub == NULL || sub->closed || sub->ws == NULL) {
        return;
    }

    ws = sub->ws;

    for ( ;; ) {
        b = r->header_in;

        if (b != NULL && b->pos < b->last) {
            n = ngx_min((size_t) (b->last - b->pos), sizeof(ws->buf) - ws->n);
            ngx_memcpy(ws->buf + ws->n, b->pos, n);
            b->pos += n;
            ws->n += n;

        } else {
            rc = c->recv(c, ws->buf + ws->n, sizeof(ws->buf) - ws->n);

            if (rc == NGX_AGAIN) {
                break;
            }

            if (rc == 0 || rc == NGX_ERROR) {
                ws->said = 1;               /* nobody to tell */
                ngx_http_gw_push_close(sub, "the client went away");
                return;
            }

            ws->n += rc;
        }

        if (ngx_http_gw_push_ws_frames(sub) != NGX_OK) {
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_gw_push_close(sub, "read event failed");
    }
}


/* every whole frame in sub's buffer: NGX_OK, or NGX_DONE when it ended */

static ngx_int_t
ngx_http_gw_push_ws_frames(ngx_http_gw_push_sub_t *sub)
{
    int                     rc;
    size_t                  whole;
    gw_ws_frame_t           f;
    ngx_http_gw_push_ws_t  *ws;

    ws = sub->ws;

    for ( ;; ) {
        rc = gw_ws_parse_head(&f, ws->buf, ws->n,
                              NGX_HTTP_GW_PUSH_WS_FRAME_MAX);

        if (rc == GW_WS_AGAIN) {
            return NGX_OK;
        }

        if (rc != 1) {
            ngx_log_error(NGX_LOG_INFO, sub->request->connection->log, 0,
                          "gw_push: a WebSocket client's frame refused "
                          "(%d), closing", rc);
            ngx_http_gw_push_ws_end(sub, rc, "a frame refused");
            return NGX_DONE;
        }

        whole = f.head + (size_t) f.len;

        if (ws->n < whole) {
            return NGX_OK;
        }

        gw_ws_unmask(ws->buf + f.head, f.len, f.mask, 0);

        if (ngx_http_gw_push_ws_control(sub, f.opcode, ws->buf + f.head,
                                        f.len)
            != NGX_OK)
        {
            return NGX_DONE;
        }

        ws->n -= whole;
        ngx_memmove(ws->buf, ws->buf + whole, ws->n);
    }
}


/* a client's ping, pong or close: NGX_OK, or NGX_DONE when it ended */

static ngx_int_t
ngx_http_gw_push_ws_control(ngx_http_gw_push_sub_t *sub, unsigned opcode,
    u_char *p, size_t n)
{
    unsigned                 code;
    ngx_int_t                rc;
    ngx_http_gw_push_msg_t  *msg;

    if (opcode == GW_WS_PONG) {
        return NGX_OK;
    }

    if (opcode == GW_WS_CLOSE) {
        code = gw_ws_close_code(p, n);
        ngx_http_gw_push_ws_end(sub, code, "the client closed");
        return NGX_DONE;
    }

    /* a ping: the pong is queued behind the messages not written yet */

    msg = ngx_alloc(sizeof(ngx_http_gw_push_msg_t) + GW_WS_HEAD_MAX + n,
                    ngx_cycle->log);
    if (msg == NULL) {
        ngx_http_gw_push_close(sub, "out of memory");
        return NGX_DONE;
    }

    ngx_memzero(msg, sizeof(ngx_http_gw_push_msg_t));
    msg->refs = 1;
    msg->ws = (u_char *) msg + sizeof(ngx_http_gw_push_msg_t);
    msg->ws_len = gw_ws_head(msg->ws, GW_WS_PONG, n);
    ngx_memcpy(msg->ws + msg->ws_len, p, n);
    msg->ws_len += n;
    msg->data = msg->ws;
    msg->len = msg->ws_len;

    rc = ngx_http_gw_push_send(sub, msg);
    ngx_http_gw_push_msg_unref(msg);

    return (rc == NGX_OK) ? NGX_OK : NGX_DONE;
}


/* ends a WebSocket subscriber with a close frame of code (0: empty) */

static void
ngx_http_gw_push_ws_end(ngx_http_gw_push_sub_t *sub, unsigned code,
    const char *why)
{
    ngx_http_gw_push_ws_goodbye(sub, code);
    ngx_http_gw_push_close(sub, why);
}


void
ngx_http_gw_push_ws_goodbye(ngx_http_gw_push_sub_t *sub, unsigned code)
{
    u_char                   frame[4];
    size_t                   n;
    ngx_connection_t        *c;
    ngx_http_gw_push_out_t  *out;

    if (sub->ws == NULL || sub->ws->said || sub->filtered) {
        return;
    }

    sub->ws->said = 1;

    if (!ngx_queue_empty(&sub->out)) {
        out = ngx_queue_data(ngx_queue_head(&sub->out),
                             ngx_http_gw_push_out_t, queue);

        if (out->off != 0) {
            return;                         /* a frame is half written */
        }
    }

    c = sub->request->connection;

    if (c->error) {
        return;
    }

    n = gw_ws_close_frame(frame, code);
    (void) c->send(c, frame, n);
}


/*
 * 1 when data is one JSON value: the text frame holds it as it is; else
 * (text the publisher took as it was) the frame holds it as a string.
 */

ngx_uint_t
ngx_http_gw_push_ws_json_valid(ngx_str_t *data)
{
    json_t        *json;
    json_error_t   err;

    json = json_loadb((char *) data->data, data->len, JSON_DECODE_ANY, &err);

    if (json == NULL) {
        return 0;
    }

    json_decref(json);

    return 1;
}


size_t
ngx_http_gw_push_ws_frame_len(ngx_str_t *id, ngx_str_t *type,
    ngx_str_t *data, ngx_uint_t json)
{
    size_t  len;

    len = sizeof("{\"id\":\"\",\"type\":,\"data\":}") - 1 + id->len
          + ngx_http_gw_push_ws_json_len(type)
          + (json ? data->len : ngx_http_gw_push_ws_json_len(data));

    return gw_ws_head_len(len) + len;
}


/*
 * Writes the text frame of a message at p (ngx_http_gw_push_ws_frame_len
 * bytes): {"id":"<id>","type":<type>,"data":<data>}, type a JSON string,
 * data as it is when json, else a JSON string.  Returns the end.
 */

u_char *
ngx_http_gw_push_ws_frame_write(u_char *p, ngx_str_t *id, ngx_str_t *type,
    ngx_str_t *data, ngx_uint_t json)
{
    size_t  len;

    len = sizeof("{\"id\":\"\",\"type\":,\"data\":}") - 1 + id->len
          + ngx_http_gw_push_ws_json_len(type)
          + (json ? data->len : ngx_http_gw_push_ws_json_len(data));

    p += gw_ws_head(p, GW_WS_TEXT, len);
    p = ngx_cpymem(p, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
    p = ngx_cpymem(p, id->data, id->len);
    p = ngx_cpymem(p, "\",\"type\":", sizeof("\",\"type\":") - 1);
    p = ngx_http_gw_push_ws_json(p, type);
    p = ngx_cpymem(p, ",\"data\":", sizeof(",\"data\":") - 1);

    if (json) {
        p = ngx_cpymem(p, data->data, data->len);

    } else {
        p = ngx_http_gw_push_ws_json(p, data);
    }

    *p++ = '}';

    return p;
}


/*
 * The length of s as a JSON string, quotes included: control bytes as
 * \u00XX, a byte that starts no UTF-8 sequence as \ufffd (a text frame
 * is UTF-8).
 */

static size_t
ngx_http_gw_push_ws_json_len(ngx_str_t *s)
{
    size_t  i, k, len;

    len = 2;

    for (i = 0; i < s->len; i += k) {
        k = 1;

        if (s->data[i] < 0x20) {
            len += sizeof("\\u0000") - 1;

        } else if (s->data[i] == '"' || s->data[i] == '\\') {
            len += 2;

        } else if (s->data[i] < 0x80) {
            len++;

        } else {
            k = gw_ws_utf8_seq(s->data + i, s->len - i);

            if (k == 0) {
                k = 1;
                len += sizeof("\\ufffd") - 1;

            } else {
                len += k;
            }
        }
    }

    return len;
}


static u_char *
ngx_http_gw_push_ws_json(u_char *p, ngx_str_t *s)
{
    u_char  c;
    size_t  i, k;

    *p++ = '"';

    for (i = 0; i < s->len; i += k) {
        c = s->data[i];
        k = 1;

        if (c < 0x20) {
            p = ngx_sprintf(p, "\\u%04xd", (int) c);

        } else if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c < 0x80) {
            *p++ = c;

        } else {
            k = gw_ws_utf8_seq(s->data + i, s->len - i);

            if (k == 0) {
                k = 1;
                p = ngx_cpymem(p, "\\ufffd", sizeof("\\ufffd") - 1);

            } else {
                p = ngx_cpymem(p, s->data + i, k);
            }
        }
    }

    *p++ = '"';

    return p;
}
