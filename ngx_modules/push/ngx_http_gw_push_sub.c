
/*
 * Copyright (C) Tollgate
 *
 * A push subscriber's life after its header (docs/push.md): the resume
 * from a channel's history (XRANGE after the client's Last-Event-ID,
 * while live messages are held), the client's side of the connection
 * (EOF closes), and the stream ids and channel names both sides check.
 */


#include "ngx_http_gw_push_stream.h"
#include "gw_ws.h"


static void ngx_http_gw_push_range(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_int_t ngx_http_gw_push_entry(ngx_http_gw_push_sub_t *sub,
    redisReply *entry);


/* XRANGE gw:push:h:<channel> (<after> + COUNT <history> */

ngx_int_t
ngx_http_gw_push_resume(ngx_http_request_t *r, ngx_http_gw_push_sub_t *sub,
    ngx_str_t *channel, ngx_str_t *after)
{
    u_char       *p;
    ngx_int_t     rc;
    const char   *argv[6];
    size_t        argvlen[6];
    u_char        key[sizeof("gw:push:h:") - 1 + NGX_HTTP_GW_PUSH_NAME_MAX];
    u_char        start[1 + NGX_HTTP_GW_PUSH_ID_MAX];
    u_char        count[NGX_INT_T_LEN];

    p = ngx_cpymem(key, "gw:push:h:", sizeof("gw:push:h:") - 1);
    p = ngx_cpymem(p, channel->data, channel->len);

    argv[0] = "XRANGE";
    argvlen[0] = 6;
    argv[1] = (const char *) key;
    argvlen[1] = p - key;

    start[0] = '(';
    p = ngx_cpymem(start + 1, after->data, after->len);
    argv[2] = (const char *) start;
    argvlen[2] = p - start;

    argv[3] = "+";
    argvlen[3] = 1;
    argv[4] = "COUNT";
    argvlen[4] = 5;

    p = ngx_sprintf(count, "%ui", sub->history);
    argv[5] = (const char *) count;
    argvlen[5] = p - count;

    rc = ngx_http_gw_redis_content_request(r, ngx_http_gw_push_range, sub, 6,
                                           argv, argvlen);

    /* the wait set its own write handler: ours is safe meanwhile */
    r->write_event_handler = ngx_http_gw_push_write;

    return rc == NGX_AGAIN ? NGX_OK : NGX_ERROR;
}


/* XRANGE's answer: the entries, then the held live messages */

static void
ngx_http_gw_push_range(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_push_sub_t *sub = data;

    size_t  i;

    r->write_event_handler = ngx_http_gw_push_write;
    r->read_event_handler = sub->ws ? ngx_http_gw_push_ws_read
                                    : ngx_http_gw_push_read;

    if (sub->closed) {
        return;
    }

    if (status != NGX_HTTP_GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_push: cannot read the history of \"%V\": Redis %s",
                      &sub->channel->sn.str,
                      status == NGX_HTTP_GW_REDIS_TIMEOUT
                      ? "did not answer in time"
                      : status == NGX_HTTP_GW_REDIS_OK ? "refused" : "is down");
        ngx_http_gw_push_close(sub, "no history");
        return;
    }

    sub->holding = 0;

    for (i = 0; i < reply->elements; i++) {
        if (ngx_http_gw_push_entry(sub, reply->element[i]) != NGX_OK) {
            return;
        }
    }

    (void) ngx_http_gw_push_release(sub);
}


/* one history entry, [id, [field, value, ...]], sent to sub */

static ngx_int_t
ngx_http_gw_push_entry(ngx_http_gw_push_sub_t *sub, redisReply *entry)
{
    size_t                   i;
    ngx_int_t                rc;
    ngx_str_t                id, type, body;
    redisReply              *f, *v;
    ngx_http_gw_push_msg_t  *msg;

    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING
        || entry->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return NGX_OK;
    }

    id.data = (u_char *) entry->element[0]->str;
    id.len = entry->element[0]->len;
    ngx_str_set(&type, "message");
    ngx_str_null(&body);

    for (i = 0; i + 1 < entry->element[1]->elements; i += 2) {
        f = entry->element[1]->element[i];
        v = entry->element[1]->element[i + 1];

        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }

        if (f->len == 4 && ngx_strncmp(f->str, "type", 4) == 0) {
            type.data = (u_char *) v->str;
            type.len = v->len;

        } else if (f->len == 4 && ngx_strncmp(f->str, "data", 4) == 0) {
            body.data = (u_char *) v->str;
            body.len = v->len;
        }
    }

    msg = ngx_http_gw_push_msg_create(&id, &type, &body);
    if (msg == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_gw_push_send(sub, msg);

    ngx_http_gw_push_msg_unref(msg);

    return rc;
}


/* the client's side: anything it sends is dropped; EOF closes */

void
ngx_http_gw_push_read(ngx_http_request_t *r)
{
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_http_gw_push_sub_t  *sub;
    u_char                   buf[256];

    c = r->connection;
    sub = ngx_http_get_module_ctx(r, ngx_http_gw_push_stream_module);

    if (sub == NULL || sub->closed) {
        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            c->error = 1;
            ngx_http_gw_push_close(sub, "the client closed");
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_gw_push_close(sub, "read event failed");
    }
}


void
ngx_http_gw_push_cleanup(void *data)
{
    ngx_http_gw_push_sub_t *sub = data;

    /* nginx ends it (a worker's shutdown): a WebSocket hears why */
    if (!sub->closed && sub->ws != NULL) {
        ngx_http_gw_push_ws_goodbye(sub, GW_WS_GOING_AWAY);
    }

    sub->closed = 1;
    ngx_http_gw_push_sub_free(sub);
}


ngx_int_t
ngx_http_gw_push_id_parse(u_char *p, size_t len, ngx_http_gw_push_id_t *id)
{
    u_char    *last, *dash;
    uint64_t  *v;
    uint64_t   n;

    last = p + len;

    if (len == 0 || len > NGX_HTTP_GW_PUSH_ID_MAX) {
        return NGX_ERROR;
    }

    dash = ngx_strlchr(p, last, '-');
    if (dash == NULL || dash == p || dash + 1 == last) {
        return NGX_ERROR;
    }

    v = &id->ms;

    for (n = 0; p < last; p++) {
        if (p == dash) {
            *v = n;
            v = &id->seq;
            n = 0;
            continue;
        }

        if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10) {
            return NGX_ERROR;
        }

        n = n * 10 + (*p - '0');
    }

    *v = n;

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_push_id_cmp(ngx_http_gw_push_id_t *a, ngx_http_gw_push_id_t *b)
{
    if (a->ms != b->ms) {
        return a->ms < b->ms ? -1 : 1;
    }

    if (a->seq != b->seq) {
        return a->seq < b->seq ? -1 : 1;
    }

    return 0;
}


ngx_uint_t
ngx_http_gw_push_channel_valid(ngx_str_t *name)
{
    u_char      ch;
    ngx_uint_t  i;

    if (name->len == 0 || name->len > NGX_HTTP_GW_PUSH_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < name->len; i++) {
        ch = name->data[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
            || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'
            || ch == ':' || ch == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}
