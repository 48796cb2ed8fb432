
/*
 * Copyright (C) Tollgate
 *
 * The push transport (docs/push.md): EventSource subscribers held in a
 * per-worker registry of channels, messages fanned out through one Redis
 * pub/sub channel and kept in a capped stream per channel for
 * Last-Event-ID resume.  Shared by the subscriber side
 * (ngx_http_gw_push_stream_module.c, ngx_http_gw_push_sub.c), the write
 * path and registry (ngx_http_gw_push_fanout.c) and the publisher
 * (ngx_http_gw_push_publish.c).
 */


#ifndef _NGX_HTTP_GW_PUSH_STREAM_H_INCLUDED_
#define _NGX_HTTP_GW_PUSH_STREAM_H_INCLUDED_


#include "ngx_http_gw.h"
#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_PUSH_NAME_MAX      128
#define NGX_HTTP_GW_PUSH_TYPE_MAX      128
#define NGX_HTTP_GW_PUSH_ID_MAX        48
#define NGX_HTTP_GW_PUSH_HISTORY       100
#define NGX_HTTP_GW_PUSH_QUEUE_MAX     1024
#define NGX_HTTP_GW_PUSH_QUEUE_BYTES   (4 * 1024 * 1024)


/* a stream id, "<ms>-<seq>" */
typedef struct {
    uint64_t                    ms;
    uint64_t                    seq;
} ngx_http_gw_push_id_t;


/*
 * One message as an SSE frame and as a WebSocket text frame, built once
 * per worker, shared by its subscribers
 */
typedef struct {
    ngx_uint_t                  refs;
    ngx_http_gw_push_id_t       id;
    size_t                      len;
    u_char                     *data;          /* follows the struct */
    size_t                      ws_len;
    u_char                     *ws;            /* follows data */
} ngx_http_gw_push_msg_t;


/* a WebSocket subscriber's state (ngx_http_gw_push_ws.c) */
typedef struct ngx_http_gw_push_ws_s  ngx_http_gw_push_ws_t;


/* a frame (part) a subscriber's socket has not taken yet */
typedef struct {
    ngx_queue_t                 queue;
    ngx_http_gw_push_msg_t     *msg;
    size_t                      off;
} ngx_http_gw_push_out_t;


typedef struct ngx_http_gw_push_channel_s  ngx_http_gw_push_channel_t;


/*
 * A subscriber.  It comes from the worker's own blocks of them
 * (ngx_http_gw_push_sub_alloc()), not from its request's pool, and what
 * a fan-out reads of it comes first: the walk over tens of thousands
 * reads dense memory, and writes to fd without reading the request or
 * the connection unless the socket does not take the whole frame.
 */
typedef struct {
    ngx_queue_t                 queue;         /* in channel->subscribers */
    ngx_queue_t                 out;           /* ngx_http_gw_push_out_t */
    ngx_http_gw_push_ws_t      *ws;            /* a WebSocket's, or NULL */
    ngx_http_gw_push_id_t       last;          /* the last id sent */
    ngx_socket_t                fd;            /* a plain socket's, or -1:
                                                  TLS, through c->send */
    unsigned                    holding:1;     /* XRANGE in flight */
    unsigned                    filtered:1;    /* the header is pending
                                                  in nginx's filters */
    unsigned                    closed:1;

    ngx_queue_t                 all;           /* in the worker's list, or
                                                  in the free list */
    ngx_http_request_t         *request;
    ngx_http_gw_push_channel_t *channel;
    ngx_queue_t                 held;          /* while resuming */
    ngx_uint_t                  queued;        /* frames in out */
    size_t                      bytes;         /* their bytes */
    ngx_uint_t                  history;       /* XRANGE's COUNT */
} ngx_http_gw_push_sub_t;


struct ngx_http_gw_push_channel_s {
    ngx_str_node_t              sn;            /* key: the name */
    ngx_queue_t                 subscribers;
    ngx_uint_t                  count;
    ngx_uint_t                  busy;          /* a fan-out walks it */
    ngx_queue_t                 jobs;          /* messages to fan out */
    ngx_queue_t                *cursor;        /* the oldest's next sub */
    ngx_queue_t                 work;          /* in the walking list */
};


typedef struct {
    ngx_http_complex_value_t   *subscribe;     /* gw_push_subscribe */
    ngx_http_complex_value_t   *publish;       /* gw_push_publish */
    ngx_uint_t                  history;
    time_t                      ttl;           /* s, of a channel's stream */
} ngx_http_gw_push_stream_loc_conf_t;


typedef struct {
    ngx_msec_t                  ping;          /* gw_push_ping */
    ngx_uint_t                  used;          /* a location subscribes */
    ngx_uint_t                  publishes;     /* a location publishes */
} ngx_http_gw_push_stream_main_conf_t;


/* this worker's figures, for the $gw_push_* variables */
typedef struct {
    ngx_uint_t                  subscribers;
    ngx_uint_t                  overflowed;    /* closed past the cap */
    ngx_uint_t                  delivered;     /* frames taken by sockets */
} ngx_http_gw_push_stats_t;


extern ngx_http_gw_push_stats_t  ngx_http_gw_push_stats;
extern ngx_str_t                 ngx_http_gw_push_redis_channel;
extern ngx_module_t              ngx_http_gw_push_stream_module;


/*
 * A zeroed subscriber of r (its fd set), or NULL; freed by the pool
 * cleanup's ngx_http_gw_push_sub_free().  A freed one stays readable,
 * closed, until a later subscription takes it: a caller still holding
 * it after ngx_http_gw_push_close() reads closed = 1.
 */
ngx_http_gw_push_sub_t *ngx_http_gw_push_sub_alloc(ngx_http_request_t *r);
void ngx_http_gw_push_sub_free(ngx_http_gw_push_sub_t *sub);
/* registry: adds sub to the channel (created), NGX_OK or NGX_ERROR */
ngx_int_t ngx_http_gw_push_register(ngx_http_gw_push_sub_t *sub,
    ngx_str_t *name);
/* removes sub, drops its queued frames; idempotent */
void ngx_http_gw_push_unregister(ngx_http_gw_push_sub_t *sub);
/* frees a channel nobody subscribes to and no fan-out walks */
void ngx_http_gw_push_channel_done(ngx_http_gw_push_channel_t *ch);

/*
 * ngx_http_gw_push_walk.c: msg fanned out to ch's subscribers in slices,
 * after the messages queued before it (NGX_ERROR: out of memory); and
 * the cursor moved off a subscriber about to leave the list
 */
ngx_int_t ngx_http_gw_push_walk_add(ngx_http_gw_push_channel_t *ch,
    ngx_http_gw_push_msg_t *msg);
void ngx_http_gw_push_walk_unlink(ngx_http_gw_push_sub_t *sub);

/* closes sub's request (its connection) after unregistering it */
void ngx_http_gw_push_close(ngx_http_gw_push_sub_t *sub, const char *why);
/* closes every subscriber of this worker */
void ngx_http_gw_push_close_all(const char *why);
/* a ": \n\n" comment to every subscriber */
void ngx_http_gw_push_ping_all(void);

/* a frame with one reference, or NULL (logged) */
ngx_http_gw_push_msg_t *ngx_http_gw_push_msg_create(ngx_str_t *id,
    ngx_str_t *type, ngx_str_t *data);
void ngx_http_gw_push_msg_unref(ngx_http_gw_push_msg_t *msg);

/*
 * Sends msg to sub (or queues it, or holds it while sub resumes);
 * NGX_OK, or NGX_ERROR when sub was closed (socket error, over the cap).
 */
ngx_int_t ngx_http_gw_push_send(ngx_http_gw_push_sub_t *sub,
    ngx_http_gw_push_msg_t *msg);
/* sub's write event: what the filters hold, then the queue */
void ngx_http_gw_push_write(ngx_http_request_t *r);
/* the end of a resume: the held frames after sub->last, then live */
ngx_int_t ngx_http_gw_push_release(ngx_http_gw_push_sub_t *sub);

/*
 * XRANGE of the channel's history after the client's id (sub holds the
 * live messages meanwhile), for subscriber r; NGX_OK or NGX_ERROR
 */
ngx_int_t ngx_http_gw_push_resume(ngx_http_request_t *r,
    ngx_http_gw_push_sub_t *sub, ngx_str_t *channel, ngx_str_t *after);
/* a subscriber's read event; its pool cleanup (sub) */
void ngx_http_gw_push_read(ngx_http_request_t *r);
void ngx_http_gw_push_cleanup(void *data);

/* the pub/sub callbacks */
void ngx_http_gw_push_message(void *data, ngx_str_t *channel,
    ngx_str_t *message);
void ngx_http_gw_push_resync(void *data);

/* "<ms>-<seq>": NGX_OK, or NGX_ERROR when malformed */
ngx_int_t ngx_http_gw_push_id_parse(u_char *p, size_t len,
    ngx_http_gw_push_id_t *id);
/* <0, 0, >0 as a is before, the same as, after b */
ngx_int_t ngx_http_gw_push_id_cmp(ngx_http_gw_push_id_t *a,
    ngx_http_gw_push_id_t *b);
/* 1 to 128 of [A-Za-z0-9_.:-] */
ngx_uint_t ngx_http_gw_push_channel_valid(ngx_str_t *name);

/*
 * A problem as a content handler's answer, logged at info as "<who>:
 * <detail>": NGX_DONE (the answer holds a reference of r), NGX_ERROR
 */
ngx_int_t ngx_http_gw_push_refuse(ngx_http_request_t *r, const char *who,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail);

/* the publisher's content handler (gw_push_publish) */
ngx_int_t ngx_http_gw_push_publish_handler(ngx_http_request_t *r);


/* the bytes of msg that sub is sent: a WebSocket frame or an SSE one */
#define ngx_http_gw_push_frame(sub, msg)                                     \
    ((sub)->ws != NULL ? (msg)->ws : (msg)->data)
#define ngx_http_gw_push_frame_len(sub, msg)                                 \
    ((sub)->ws != NULL ? (msg)->ws_len : (msg)->len)

/* WebSocket subscribers (ngx_http_gw_push_ws.c) */

/* 1 when r asks for a WebSocket (its Upgrade names websocket) */
ngx_uint_t ngx_http_gw_push_ws_wanted(ngx_http_request_t *r);
/*
 * Checks r's handshake: NGX_OK and the Sec-WebSocket-Accept value in
 * accept (GW_WS_ACCEPT_LEN bytes); NGX_DONE when refused (a problem
 * answered, as a content handler answers); or an HTTP status.
 */
ngx_int_t ngx_http_gw_push_ws_handshake(ngx_http_request_t *r,
    u_char *accept);
/* the 101 answer; sub becomes a WebSocket subscriber: NGX_OK, NGX_ERROR */
ngx_int_t ngx_http_gw_push_ws_accept(ngx_http_request_t *r,
    ngx_http_gw_push_sub_t *sub, u_char *accept);
/*
 * Sends sub's client a close frame with code, once, when no frame is
 * half written before it (else nothing): before the server ends it.
 */
void ngx_http_gw_push_ws_goodbye(ngx_http_gw_push_sub_t *sub,
    unsigned code);
/* a WebSocket subscriber's read handler: its client's control frames */
void ngx_http_gw_push_ws_read(ngx_http_request_t *r);
/* 1 when data is JSON (the text frame holds it as it is), else 0 */
ngx_uint_t ngx_http_gw_push_ws_json_valid(ngx_str_t *data);
/* the length of a message's text frame (json: data is JSON) */
size_t ngx_http_gw_push_ws_frame_len(ngx_str_t *id, ngx_str_t *type,
    ngx_str_t *data, ngx_uint_t json);
/* writes that frame at p; returns its end */
u_char *ngx_http_gw_push_ws_frame_write(u_char *p, ngx_str_t *id,
    ngx_str_t *type, ngx_str_t *data, ngx_uint_t json);


#endif /* _NGX_HTTP_GW_PUSH_STREAM_H_INCLUDED_ */
