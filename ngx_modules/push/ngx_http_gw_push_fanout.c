
/*
 * Copyright (C) Tollgate
 *
 * The push transport's write path and registry (docs/push.md).  Each
 * worker keeps its subscribers by channel in a red-black tree of channel
 * names.  A message from Redis' pub/sub is framed once per worker into a
 * refcounted buffer and written to each subscriber of its channel with
 * c->send(), bypassing the output filters; what a socket does not take
 * is queued on the subscriber as a small node (the frame's reference and
 * an offset) and written on the write event.  A subscriber with more
 * than NGX_HTTP_GW_PUSH_QUEUE_MAX frames or NGX_HTTP_GW_PUSH_QUEUE_BYTES
 * bytes queued is closed (counted): it reconnects with Last-Event-ID.
 * Nodes come from a worker free list, frames from ngx_alloc(): nothing
 * per message grows a request's pool.  Subscribers come from blocks of
 * NGX_HTTP_GW_PUSH_SUB_BLOCK, kept for reuse when they leave.
 */


#include "ngx_http_gw_push_stream.h"
#include "gw_ws.h"


#define NGX_HTTP_GW_PUSH_SUB_BLOCK  256


static ssize_t ngx_http_gw_push_write_now(ngx_http_gw_push_sub_t *sub,
    ngx_http_gw_push_msg_t *msg);
static ngx_http_gw_push_out_t *ngx_http_gw_push_out_get(void);
static void ngx_http_gw_push_out_put(ngx_http_gw_push_out_t *out);
static void ngx_http_gw_push_drop(ngx_queue_t *queue);
static ngx_http_gw_push_channel_t *ngx_http_gw_push_channel_find(
    ngx_str_t *name);


ngx_http_gw_push_stats_t  ngx_http_gw_push_stats;

static ngx_rbtree_t            ngx_http_gw_push_tree;
static ngx_rbtree_node_t       ngx_http_gw_push_sentinel;
static ngx_uint_t              ngx_http_gw_push_tree_ready;
static ngx_queue_t             ngx_http_gw_push_all;
static ngx_queue_t             ngx_http_gw_push_free;
static ngx_queue_t             ngx_http_gw_push_free_subs;

static u_char                  ngx_http_gw_push_ping_text[] = ": \n\n";
static u_char                  ngx_http_gw_push_ping_ws[] = "\x89\x00";
static ngx_http_gw_push_msg_t  ngx_http_gw_push_ping_msg = {
    1, { 0, 0 }, sizeof(ngx_http_gw_push_ping_text) - 1,
    ngx_http_gw_push_ping_text,
    sizeof(ngx_http_gw_push_ping_ws) - 1, ngx_http_gw_push_ping_ws
};


static void
ngx_http_gw_push_tree_init(void)
{
    if (ngx_http_gw_push_tree_ready) {
        return;
    }

    ngx_rbtree_init(&ngx_http_gw_push_tree, &ngx_http_gw_push_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ngx_http_gw_push_all);
    ngx_queue_init(&ngx_http_gw_push_free);
    ngx_queue_init(&ngx_http_gw_push_free_subs);
    ngx_http_gw_push_tree_ready = 1;
}


ngx_http_gw_push_sub_t *
ngx_http_gw_push_sub_alloc(ngx_http_request_t *r)
{
    ngx_uint_t               i;
    ngx_queue_t             *q;
    ngx_connection_t        *c;
    ngx_http_gw_push_sub_t  *sub, *block;

    ngx_http_gw_push_tree_init();

    if (ngx_queue_empty(&ngx_http_gw_push_free_subs)) {
        block = ngx_alloc(NGX_HTTP_GW_PUSH_SUB_BLOCK
                          * sizeof(ngx_http_gw_push_sub_t), r->connection->log);
        if (block == NULL) {
            return NULL;
        }

        for (i = 0; i < NGX_HTTP_GW_PUSH_SUB_BLOCK; i++) {
            ngx_queue_insert_tail(&ngx_http_gw_push_free_subs, &block[i].all);
        }
    }

    q = ngx_queue_head(&ngx_http_gw_push_free_subs);
    ngx_queue_remove(q);
    sub = ngx_queue_data(q, ngx_http_gw_push_sub_t, all);

    ngx_memzero(sub, sizeof(ngx_http_gw_push_sub_t));

    c = r->connection;

    sub->request = r;
    sub->fd = (c->send == ngx_unix_send) ? c->fd : (ngx_socket_t) -1;
    ngx_queue_init(&sub->out);
    ngx_queue_init(&sub->held);

    return sub;
}


void
ngx_http_gw_push_sub_free(ngx_http_gw_push_sub_t *sub)
{
    ngx_http_gw_push_unregister(sub);

    sub->closed = 1;
    sub->request = NULL;
    sub->fd = (ngx_socket_t) -1;
    ngx_queue_insert_head(&ngx_http_gw_push_free_subs, &sub->all);
}


static ngx_http_gw_push_channel_t *
ngx_http_gw_push_channel_find(ngx_str_t *name)
{
    ngx_http_gw_push_tree_init();

    return (ngx_http_gw_push_channel_t *)
               ngx_str_rbtree_lookup(&ngx_http_gw_push_tree, name,
                                     ngx_crc32_short(name->data, name->len));
}


ngx_int_t
ngx_http_gw_push_register(ngx_http_gw_push_sub_t *sub, ngx_str_t *name)
{
    ngx_http_gw_push_channel_t  *ch;

    ch = ngx_http_gw_push_channel_find(name);

    if (ch == NULL) {
        ch = ngx_alloc(sizeof(ngx_http_gw_push_channel_t) + name->len,
                       ngx_cycle->log);
        if (ch == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(ch, sizeof(ngx_http_gw_push_channel_t));

        ch->sn.str.data = (u_char *) ch + sizeof(ngx_http_gw_push_channel_t);
        ch->sn.str.len = name->len;
        ngx_memcpy(ch->sn.str.data, name->data, name->len);
        ch->sn.node.key = ngx_crc32_short(name->data, name->len);
        ngx_queue_init(&ch->subscribers);
        ngx_queue_init(&ch->jobs);

        ngx_rbtree_insert(&ngx_http_gw_push_tree, &ch->sn.node);
    }

    ngx_queue_init(&sub->out);
    ngx_queue_init(&sub->held);
    ngx_queue_insert_tail(&ch->subscribers, &sub->queue);
    ngx_queue_insert_tail(&ngx_http_gw_push_all, &sub->all);
    sub->channel = ch;
    ch->count++;
    ngx_http_gw_push_stats.subscribers++;

    return NGX_OK;
}


void
ngx_http_gw_push_unregister(ngx_http_gw_push_sub_t *sub)
{
    ngx_http_gw_push_channel_t  *ch;

    ch = sub->channel;

    if (ch == NULL) {
        return;
    }

    ngx_http_gw_push_walk_unlink(sub);
    ngx_queue_remove(&sub->queue);
    ngx_queue_remove(&sub->all);
    sub->channel = NULL;
    ch->count--;
    ngx_http_gw_push_stats.subscribers--;

    ngx_http_gw_push_drop(&sub->out);
    ngx_http_gw_push_drop(&sub->held);
    sub->queued = 0;
    sub->bytes = 0;

    ngx_http_gw_push_channel_done(ch);
}


/* frees a channel nobody subscribes to and no fan-out walks */

void
ngx_http_gw_push_channel_done(ngx_http_gw_push_channel_t *ch)
{
    if (ch->count == 0 && ch->busy == 0) {
        ngx_rbtree_delete(&ngx_http_gw_push_tree, &ch->sn.node);
        ngx_free(ch);
    }
}


/*
 * Ends sub's response: its request is finalized as done, without
 * keepalive, so nginx closes the connection (synchronously, or after a
 * lingering close); the pool cleanup finds it unregistered already.
 */

void
ngx_http_gw_push_close(ngx_http_gw_push_sub_t *sub, const char *why)
{
    ngx_http_request_t  *r;

    if (sub->closed) {
        return;
    }

    sub->closed = 1;
    r = sub->request;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gw_push: closing a subscriber: %s", why);

    if (sub->ws != NULL) {
        ngx_http_gw_push_ws_goodbye(sub, GW_WS_GOING_AWAY);
    }

    ngx_http_gw_push_unregister(sub);

    r->keepalive = 0;
    r->connection->idle = 0;
    ngx_http_finalize_request(r, NGX_DONE);
}


void
ngx_http_gw_push_close_all(const char *why)
{
    ngx_queue_t  *q;

    ngx_http_gw_push_tree_init();

    while (!ngx_queue_empty(&ngx_http_gw_push_all)) {
        q = ngx_queue_head(&ngx_http_gw_push_all);
        ngx_http_gw_push_close(ngx_queue_data(q, ngx_http_gw_push_sub_t, all),
                               why);
    }
}


void
ngx_http_gw_push_ping_all(void)
{
    ngx_queue_t             *q, *next;
    ngx_http_gw_push_sub_t  *sub;

    ngx_http_gw_push_tree_init();

    for (q = ngx_queue_head(&ngx_http_gw_push_all);
         q != ngx_queue_sentinel(&ngx_http_gw_push_all);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_http_gw_push_sub_t, all);

        if (!sub->holding && sub->queued == 0) {
            (void) ngx_http_gw_push_send(sub, &ngx_http_gw_push_ping_msg);
        }
    }
}


ngx_http_gw_push_msg_t *
ngx_http_gw_push_msg_create(ngx_str_t *id, ngx_str_t *type, ngx_str_t *data)
{
    u_char                  *p;
    size_t                   len, ws_len;
    ngx_uint_t               json;
    ngx_http_gw_push_msg_t  *msg;

    len = sizeof("id: \nevent: \ndata: \n\n") - 1 + id->len + type->len
          + data->len;

    /* the WebSocket subscribers' text frame, beside the SSE frame */
    json = ngx_http_gw_push_ws_json_valid(data);
    ws_len = ngx_http_gw_push_ws_frame_len(id, type, data, json);

    msg = ngx_alloc(sizeof(ngx_http_gw_push_msg_t) + len + ws_len,
                    ngx_cycle->log);
    if (msg == NULL) {
        return NULL;
    }

    if (ngx_http_gw_push_id_parse(id->data, id->len, &msg->id) != NGX_OK) {
        ngx_free(msg);
        return NULL;
    }

    msg->refs = 1;
    msg->data = (u_char *) msg + sizeof(ngx_http_gw_push_msg_t);

    p = ngx_cpymem(msg->data, "id: ", 4);
    p = ngx_cpymem(p, id->data, id->len);
    p = ngx_cpymem(p, "\nevent: ", 8);
    p = ngx_cpymem(p, type->data, type->len);
    p = ngx_cpymem(p, "\ndata: ", 7);
    p = ngx_cpymem(p, data->data, data->len);
    p = ngx_cpymem(p, "\n\n", 2);

    msg->len = p - msg->data;

    msg->ws = p;
    msg->ws_len = ngx_http_gw_push_ws_frame_write(p, id, type, data, json)
                  - p;

    return msg;
}


void
ngx_http_gw_push_msg_unref(ngx_http_gw_push_msg_t *msg)
{
    if (--msg->refs == 0) {
        ngx_free(msg);
    }
}


static ngx_http_gw_push_out_t *
ngx_http_gw_push_out_get(void)
{
    ngx_queue_t  *q;

    if (!ngx_queue_empty(&ngx_http_gw_push_free)) {
        q = ngx_queue_head(&ngx_http_gw_push_free);
        ngx_queue_remove(q);
        return ngx_queue_data(q, ngx_http_gw_push_out_t, queue);
    }

    return ngx_alloc(sizeof(ngx_http_gw_push_out_t), ngx_cycle->log);
}


static void
ngx_http_gw_push_out_put(ngx_http_gw_push_out_t *out)
{
    ngx_http_gw_push_msg_unref(out->msg);
    out->msg = NULL;
    ngx_queue_insert_head(&ngx_http_gw_push_free, &out->queue);
}


static void
ngx_http_gw_push_drop(ngx_queue_t *queue)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(queue)) {
        q = ngx_queue_head(queue);
        ngx_queue_remove(q);
        ngx_http_gw_push_out_put(ngx_queue_data(q, ngx_http_gw_push_out_t,
                                                queue));
    }
}


/* sub's last id, unless msg is a comment */

static void
ngx_http_gw_push_sent(ngx_http_gw_push_sub_t *sub, ngx_http_gw_push_msg_t *msg)
{
    if (msg->id.ms != 0 || msg->id.seq != 0) {
        sub->last = msg->id;
    }
}


/*
 * msg's frame to sub's socket, nothing queued before it: the bytes
 * taken, NGX_AGAIN or NGX_ERROR, as c->send() answers.  A plain socket
 * is written here, as ngx_unix_send() would, touching the connection
 * only when the frame is not taken whole.
 */

static ssize_t
ngx_http_gw_push_write_now(ngx_http_gw_push_sub_t *sub,
    ngx_http_gw_push_msg_t *msg)
{
    size_t             len;
    ssize_t            n;
    ngx_err_t          err;
    ngx_connection_t  *c;

    len = ngx_http_gw_push_frame_len(sub, msg);

    if (sub->fd != (ngx_socket_t) -1) {
        n = send(sub->fd, ngx_http_gw_push_frame(sub, msg), len, 0);

        if (n == (ssize_t) len) {
            return n;
        }

        c = sub->request->connection;
        c->write->ready = 0;

        if (n >= 0) {
            return n;
        }

        err = ngx_socket_errno;

        if (err == NGX_EAGAIN || err == NGX_EINTR) {
            return NGX_AGAIN;
        }

        c->write->error = 1;
        ngx_connection_error(c, err, "send() failed");

        return NGX_ERROR;
    }

    c = sub->request->connection;

    return c->send(c, ngx_http_gw_push_frame(sub, msg), len);
}


ngx_int_t
ngx_http_gw_push_send(ngx_http_gw_push_sub_t *sub, ngx_http_gw_push_msg_t *msg)
{
    ssize_t                  n;
    size_t                   off;
    ngx_connection_t        *c;
    ngx_http_gw_push_out_t  *out;

    if (sub->closed) {
        return NGX_ERROR;
    }

    off = 0;

    if (!sub->holding && !sub->filtered && ngx_queue_empty(&sub->out)) {
        n = ngx_http_gw_push_write_now(sub, msg);

        if (n == NGX_ERROR) {
            ngx_http_gw_push_close(sub, "send failed");
            return NGX_ERROR;
        }

        if (n > 0) {
            off = n;
        }

        if (off == ngx_http_gw_push_frame_len(sub, msg)) {
            ngx_http_gw_push_sent(sub, msg);
            ngx_http_gw_push_stats.delivered++;
            return NGX_OK;
        }
    }

    c = sub->request->connection;

    if (sub->queued >= NGX_HTTP_GW_PUSH_QUEUE_MAX
        || sub->bytes + ngx_http_gw_push_frame_len(sub, msg) - off
           > NGX_HTTP_GW_PUSH_QUEUE_BYTES)
    {
        ngx_http_gw_push_stats.overflowed++;
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "gw_push: a subscriber of \"%V\" does not read: %ui "
                      "messages (%uz bytes) queued, closing it",
                      &sub->channel->sn.str, sub->queued, sub->bytes);
        ngx_http_gw_push_close(sub, "over the queue's cap");
        return NGX_ERROR;
    }

    out = ngx_http_gw_push_out_get();
    if (out == NULL) {
        ngx_http_gw_push_close(sub, "out of memory");
        return NGX_ERROR;
    }

    msg->refs++;
    out->msg = msg;
    out->off = off;

    sub->queued++;
    sub->bytes += ngx_http_gw_push_frame_len(sub, msg) - off;

    if (sub->holding) {
        ngx_queue_insert_tail(&sub->held, &out->queue);
        return NGX_OK;
    }

    ngx_queue_insert_tail(&sub->out, &out->queue);
    ngx_http_gw_push_sent(sub, msg);

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_gw_push_close(sub, "write event failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_gw_push_write(ngx_http_request_t *r)
{
    ssize_t                  n;
    ngx_queue_t             *q;
    ngx_connection_t        *c;
    ngx_http_gw_push_out_t  *out;
    ngx_http_gw_push_sub_t  *sub;

    c = r->connection;
    sub = ngx_http_get_module_ctx(r, ngx_http_gw_push_stream_module);

    if (sub == NULL || sub->closed) {
        return;
    }

    if (sub->filtered) {
        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            ngx_http_gw_push_close(sub, "the header failed");
            return;
        }

        if (r->out != NULL || c->buffered) {
            goto again;
        }

        sub->filtered = 0;
    }

    while (!ngx_queue_empty(&sub->out)) {
        q = ngx_queue_head(&sub->out);
        out = ngx_queue_data(q, ngx_http_gw_push_out_t, queue);

        n = c->send(c, ngx_http_gw_push_frame(sub, out->msg) + out->off,
                    ngx_http_gw_push_frame_len(sub, out->msg) - out->off);

        if (n == NGX_ERROR) {
            ngx_http_gw_push_close(sub, "send failed");
            return;
        }

        if (n == NGX_AGAIN || n == 0) {
            goto again;
        }

        out->off += n;
        sub->bytes -= n;

        if (out->off < ngx_http_gw_push_frame_len(sub, out->msg)) {
            goto again;
        }

        ngx_queue_remove(q);
        sub->queued--;
        ngx_http_gw_push_stats.delivered++;
        ngx_http_gw_push_out_put(out);
    }

    /*
     * All written: the socket's write readiness is watched no more.
     * Edge-triggered epoll would otherwise wake the worker each time
     * the peer's acknowledgements free send buffer space, for every
     * subscriber that once had to wait (tens of thousands of needless
     * events a message); the next partial write watches it again
     * (ngx_handle_write_event()).  The read side stays edge-triggered.
     */

    if (c->write->active
        && ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLEAR_EVENT)
           != NGX_OK)
    {
        ngx_http_gw_push_close(sub, "write event failed");
    }

    return;

again:

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        ngx_http_gw_push_close(sub, "write event failed");
    }
}


ngx_int_t
ngx_http_gw_push_release(ngx_http_gw_push_sub_t *sub)
{
    ngx_queue_t             *q;
    ngx_queue_t              held;
    ngx_http_gw_push_out_t  *out;

    sub->holding = 0;

    ngx_queue_init(&held);

    if (!ngx_queue_empty(&sub->held)) {
        held = sub->held;
        held.next->prev = &held;
        held.prev->next = &held;
        ngx_queue_init(&sub->held);
    }

    while (!ngx_queue_empty(&held)) {
        q = ngx_queue_head(&held);
        ngx_queue_remove(q);
        out = ngx_queue_data(q, ngx_http_gw_push_out_t, queue);

        sub->queued--;
        sub->bytes -= ngx_http_gw_push_frame_len(sub, out->msg);

        if (sub->closed
            || ngx_http_gw_push_id_cmp(&out->msg->id, &sub->last) <= 0
            || ngx_http_gw_push_send(sub, out->msg) != NGX_OK)
        {
            ngx_http_gw_push_out_put(out);
            continue;
        }

        ngx_http_gw_push_out_put(out);
    }

    return sub->closed ? NGX_ERROR : NGX_OK;
}


/*
 * A pub/sub message, "<channel>\n<id>\n<type>\n<data>": framed once
 * (when the channel has subscribers here) and sent to each.
 */

void
ngx_http_gw_push_message(void *data, ngx_str_t *channel, ngx_str_t *message)
{
    u_char                      *p, *last, *nl;
    ngx_str_t                    name, id, type, body;
    ngx_http_gw_push_msg_t      *msg;
    ngx_http_gw_push_channel_t  *ch;

    p = message->data;
    last = p + message->len;

    nl = ngx_strlchr(p, last, '\n');
    if (nl == NULL) {
        goto invalid;
    }

    name.data = p;
    name.len = nl - p;
    p = nl + 1;

    ch = ngx_http_gw_push_channel_find(&name);
    if (ch == NULL) {
        return;
    }

    nl = ngx_strlchr(p, last, '\n');
    if (nl == NULL) {
        goto invalid;
    }

    id.data = p;
    id.len = nl - p;
    p = nl + 1;

    nl = ngx_strlchr(p, last, '\n');
    if (nl == NULL) {
        goto invalid;
    }

    type.data = p;
    type.len = nl - p;
    body.data = nl + 1;
    body.len = last - body.data;

    msg = ngx_http_gw_push_msg_create(&id, &type, &body);
    if (msg == NULL) {
        goto invalid;
    }

    if (ngx_http_gw_push_walk_add(ch, msg) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "gw_push: no memory to fan out a message on \"%V\"",
                      &name);
    }

    ngx_http_gw_push_msg_unref(msg);

    return;

invalid:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "gw_push: a message on \"%V\" that is not ours, ignored",
                  channel);
}


/* messages may have been lost: every subscriber resumes from history */

void
ngx_http_gw_push_resync(void *data)
{
    ngx_http_gw_push_close_all("resubscribed to Redis");
}
