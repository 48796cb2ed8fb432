
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
 * NGX_HTTP_GW_REDIS_OK, and is freed by the client after the call (copy
 * what you keep).  For a request command, r is the live request (the
 * handler is not called when the request has gone away); the handler only
 * records the outcome (in its ctx, say) and must not finalize r: the
 * phases of r run again right after it returns.
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
    ngx_addr_t                     *addr;           /* NULL: unix socket */
    ngx_str_t                       host;           /* IP text for hiredis,
                                                       NUL-terminated */
    in_port_t                       port;
    ngx_str_t                       unix_path;      /* NUL-terminated */
    ngx_str_t                       password;
    ngx_int_t                       database;
    ngx_msec_t                      connect_timeout;
    ngx_msec_t                      timeout;
    ngx_msec_t                      backoff_max;
    ngx_uint_t                      max_pending;
    ngx_uint_t                      stall_timeouts; /* 0: never */
    ngx_log_t                      *log;            /* http{}'s error_log */
    ngx_array_t                     subscriptions;  /* private */
    ngx_uint_t                      check;          /* private: used by */
    ngx_uint_t                      status;         /* these directives */
} ngx_http_gw_redis_main_conf_t;


/*
 * Sends a command for request r (argv is copied at once), from a phase
 * handler before the content phase.  Returns NGX_AGAIN: r is suspended,
 * the caller's phase handler returns NGX_AGAIN (post-read, preaccess,
 * access phases; NGX_DONE in the rewrite phase, whose checker would
 * finalize r on NGX_AGAIN), and handler runs later, then the phases of r
 * run again (the phase handler must then answer from what handler
 * recorded, not send again);
 * NGX_DECLINED: Redis is down now, or gw_redis_max_pending commands are in
 * flight, handler will not run; NGX_ERROR: our own failure.  At most one
 * command per request may be in flight.  While r waits, its read handler
 * watches for a client that goes away (as proxy_pass does).
 */
ngx_int_t ngx_http_gw_redis_request(ngx_http_request_t *r,
    ngx_http_gw_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/*
 * The same for a script: EVALSHA sha1 numkeys argv[0..argc-1], where the
 * first numkeys arguments are keys.  On a NOSCRIPT error reply it is sent
 * once more as EVAL with the script's text, within the same timeout.
 */
ngx_int_t ngx_http_gw_redis_request_script(ngx_http_request_t *r,
    ngx_http_gw_redis_script_t *script, ngx_http_gw_redis_handler_pt handler,
    void *data, int numkeys, int argc, const char **argv,
    const size_t *argvlen);

/*
 * The same for a content handler that holds a reference to r (it read
 * the body with ngx_http_read_client_request_body(), whose post handler
 * sends this): r waits, its client watched and its pool cleanup
 * detaching the command, as above, but the answer does not run r's
 * phases again.  handler (r alive, not called when r went away first)
 * sends r's response and finalizes r with ngx_http_finalize_request(),
 * which drops that reference; r's connection may be closed when it
 * returns.  Returns NGX_AGAIN (handler will run), NGX_DECLINED (down now,
 * or too many in flight: handler will not run) or NGX_ERROR.
 */
ngx_int_t ngx_http_gw_redis_content_request(ngx_http_request_t *r,
    ngx_http_gw_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/*
 * A command for no request (timers, subscriptions); handler gets r == NULL
 * and runs exactly once unless the worker exits first.  Returns NGX_OK,
 * NGX_DECLINED (down now, handler will not run) or NGX_ERROR.
 */
ngx_int_t ngx_http_gw_redis_command(ngx_http_gw_redis_handler_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);

/* the same for a script, as ngx_http_gw_redis_request_script() */
ngx_int_t ngx_http_gw_redis_command_script(ngx_http_gw_redis_script_t *script,
    ngx_http_gw_redis_handler_pt handler, void *data, int numkeys, int argc,
    const char **argv, const size_t *argvlen);

/*
 * At configuration time (in the http block, before it ends: a directive
 * handler or postconfiguration): subscribes every worker to channel.
 * message runs for each message (channel and message point into the
 * reply: copy what you keep); resync runs after every (re)subscription to
 * the channel, since messages published while unsubscribed are lost.
 * Neither may send the request-bound API; both may send commands.
 */
ngx_int_t ngx_http_gw_redis_subscribe(ngx_conf_t *cf, ngx_str_t *channel,
    ngx_http_gw_redis_message_pt message, ngx_http_gw_redis_resync_pt resync,
    void *data);

/*
 * At configuration time, once the http block is parsed (a merge or
 * postconfiguration handler: gw_redis may come after your directive):
 * fills script->sha1 from script->text.  NGX_ERROR without gw_redis (the
 * caller logs why) or when hashing fails.
 */
ngx_int_t ngx_http_gw_redis_script_init(ngx_conf_t *cf,
    ngx_http_gw_redis_script_t *script);

/* whether this worker's command connection is up now (AUTH, SELECT done) */
ngx_uint_t ngx_http_gw_redis_connected(void);


/* this worker's client figures, for ngx_http_gw_metrics_module */
typedef struct {
    ngx_uint_t                      connected;      /* 1 or 0 */
    ngx_uint_t                      in_flight;      /* commands sent and
                                                       not yet answered */
    ngx_uint_t                      commands;       /* sent, in total */
    ngx_uint_t                      timeouts;
    ngx_uint_t                      failed;         /* answered "down" */
    ngx_uint_t                      reconnects;
    ngx_uint_t                      outages;        /* incidents logged */
} ngx_http_gw_redis_stats_t;

void ngx_http_gw_redis_stats(ngx_http_gw_redis_stats_t *st);

/*
 * Whether gw_redis is configured (for a feature's config checks); as for
 * ngx_http_gw_redis_script_init(), ask once the http block is parsed.
 */
ngx_uint_t ngx_http_gw_redis_configured(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_gw_redis_module;


#endif /* _NGX_HTTP_GW_REDIS_H_INCLUDED_ */
