
/*
 * Copyright (C) Tollgate
 *
 * The per-worker asynchronous Redis client every Tollgate feature shares.
 * Each worker (never the master) holds one command connection, on hiredis'
 * redisAsyncContext driven by nginx's own event loop (the socket wrapped in
 * an ngx_connection_t, registered level-triggered), and, when a feature
 * subscribes to a channel, one subscriber connection.  Commands of
 * concurrent requests are pipelined on the command connection.
 *
 * A request that needs Redis is suspended: its phase handler calls
 * ngx_http_gw_redis_request() and returns NGX_AGAIN; when the reply, a
 * timeout or a failure comes, the feature's handler runs and the request's
 * phases run again.  Callbacks never hold a bare request pointer: each
 * command has a waiter that the request's pool cleanup detaches, so a
 * client that goes away while waiting is simply forgotten.
 *
 * When the connection fails the client reconnects with capped exponential
 * backoff and logs one error per incident; meanwhile commands fail at once
 * with NGX_HTTP_GW_REDIS_DOWN, so nothing waits on a dead server.
 */


#ifndef _NGX_HTTP_GW_REDIS_H_INCLUDED_
#define _NGX_HTTP_GW_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>


typedef enum {
    NGX_HTTP_GW_REDIS_OK = 0,       /* reply is Redis' answer, which may
                                       be an error reply */
    NGX_HTTP_GW_REDIS_TIMEOUT,      /* no answer within gw_redis_timeout */
    NGX_HTTP_GW_REDIS_DOWN          /* not connected, too many commands in
                                       flight, or the connection was lost */
} ngx_http_gw_redis_status_e;


/*
 * Called once per command with the outcome; reply is NULL unless status is
 * NGX_HTTP_GW_REDIS_OK, and is freed by the client after the call.  For a
 * request command, r is the live request (the handler is not called when
 * the request has gone away).
 */
typedef void (*ngx_http_gw_redis_handler_pt)(ngx_http_request_t *r,
    void *data, ngx_http_gw_redis_status_e status, redisReply *reply);

/* a subscriber's message; and its "messages may have been lost" call */
typedef void (*ngx_http_gw_redis_message_pt)(void *data, ngx_str_t *channel,
    ngx_str_t *message);
typedef void (*ngx_http_gw_redis_resync_pt)(void *data);


/* a Lua script: sent by EVALSHA, loaded again by EVAL on NOSCRIPT */
typedef struct {
    ngx_str_t                       text;
    u_char                          sha1[40];       /* hex */
} ngx_http_gw_redis_script_t;


/* http-level configuration, filled by the gw_redis* directives */
typedef struct {
    ngx_str_t                       address;        /* "" : none */
    ngx_addr_t                     *addr;
    ngx_str_t                       unix_path;      /* NUL-terminated */
    ngx_str_t                       password;
    ngx_int_t                       database;
    ngx_msec_t                      connect_timeout;
    ngx_msec_t                      timeout;
    ngx_msec_t                      backoff_max;
    ngx_uint_t                      max_pending;
    ngx_array_t                     subscriptions;  /* private */
} ngx_http_gw_redis_main_conf_t;


/*
 * Sends a command for request r.  Returns NGX_AGAIN: r is suspended, the
 * caller's phase handler returns NGX_AGAIN, and handler runs later, then
 * the phases of r run again; NGX_DECLINED: Redis is down now, handler will
 * not run; NGX_ERROR: our own failure.
 */
ngx_int_t ngx_http_gw_redis_request(ngx_http_request_t *r,
    ngx_http_gw_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/* the same for a script: EVALSHA sha1 numkeys keys... args... */
ngx_int_t ngx_http_gw_redis_request_script(ngx_http_request_t *r,
    ngx_http_gw_redis_script_t *script, ngx_http_gw_redis_handler_pt handler,
    void *data, int numkeys, int argc, const char **argv,
    const size_t *argvlen);

/*
 * A command for no request (timers, subscriptions); handler gets r == NULL
 * and runs exactly once unless the worker exits first.  Returns NGX_OK,
 * NGX_DECLINED (down now, handler will not run) or NGX_ERROR.
 */
ngx_int_t ngx_http_gw_redis_command(ngx_http_gw_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);

/*
 * At configuration time: subscribes every worker to channel.  message runs
 * for each message; resync runs after every (re)subscription, since
 * messages published while unsubscribed are lost.
 */
ngx_int_t ngx_http_gw_redis_subscribe(ngx_conf_t *cf, ngx_str_t *channel,
    ngx_http_gw_redis_message_pt message, ngx_http_gw_redis_resync_pt resync,
    void *data);

/* at configuration time: the script's SHA-1; NGX_ERROR without gw_redis */
ngx_int_t ngx_http_gw_redis_script_init(ngx_conf_t *cf,
    ngx_http_gw_redis_script_t *script);

/* whether this worker's command connection is up now */
ngx_uint_t ngx_http_gw_redis_connected(void);

/* whether gw_redis is configured (for a feature's config checks) */
ngx_uint_t ngx_http_gw_redis_configured(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_gw_redis_module;


#endif /* _NGX_HTTP_GW_REDIS_H_INCLUDED_ */
