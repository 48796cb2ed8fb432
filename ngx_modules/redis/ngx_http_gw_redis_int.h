
/*
 * Copyright (C) Tollgate
 *
 * What the files of ngx_http_gw_redis_module share and no feature sees:
 * the worker's state (ngx_http_gw_redis_conn.c owns the connections,
 * ngx_http_gw_redis_cmd.c the commands in flight) and the configuration
 * glue (ngx_http_gw_redis_module.c, ngx_http_gw_redis_status.c).
 *
 * Everything here lives in one worker process: nginx runs a worker on one
 * thread, so no state is locked.  Each field says who changes it.
 */


#ifndef _NGX_HTTP_GW_REDIS_INT_H_INCLUDED_
#define _NGX_HTTP_GW_REDIS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_REDIS_BACKOFF_MIN   100      /* milliseconds */


typedef enum {
    NGX_HTTP_GW_REDIS_IDLE = 0,         /* not started, or stopped */
    NGX_HTTP_GW_REDIS_CONNECTING,       /* connect(2) in progress */
    NGX_HTTP_GW_REDIS_UP,               /* connected; handshake may run */
    NGX_HTTP_GW_REDIS_BACKOFF           /* waiting to connect again */
} ngx_http_gw_redis_state_e;


/* one registration of ngx_http_gw_redis_subscribe() */
typedef struct {
    ngx_str_t                       channel;
    ngx_http_gw_redis_message_pt    message;
    ngx_http_gw_redis_resync_pt     resync;
    void                           *data;
} ngx_http_gw_redis_subscription_t;


/*
 * One connection to Redis: the command connection, or the subscriber.
 * ac and c exist together, from connect until hiredis frees the context
 * (our cleanup hook then clears both).  "healthy" means the handshake
 * (AUTH, SELECT, or SUBSCRIBE confirmations) has completed on this
 * context.
 */
typedef struct {
    redisAsyncContext              *ac;
    ngx_connection_t               *c;         /* wraps ac->c.fd */
    ngx_event_t                     timer;     /* connect timeout, or
                                                  backoff before a retry */
    ngx_log_t                      *log;
    const char                     *name;      /* "" or "subscriber " */
    ngx_http_gw_redis_state_e       state;
    ngx_msec_t                      backoff;   /* next delay, milliseconds */
    ngx_uint_t                      handshake; /* replies it still awaits */
    ngx_uint_t                      retries;   /* attempts while failing */
    ngx_uint_t                      reconnects;
    ngx_uint_t                      messages;  /* subscriber: delivered */
    unsigned                        subscriber:1;
    unsigned                        healthy:1;
    unsigned                        failing:1; /* in an open incident */
    unsigned                        reported:1;/* this context's failure
                                                  is logged already */
    unsigned                        broken:1;  /* an event call failed */
} ngx_http_gw_redis_conn_t;


/* location configuration: only the operator directives use it */
typedef struct {
    ngx_uint_t                      check;     /* NGX_HTTP_GW_REDIS_CHECK_* */
} ngx_http_gw_redis_loc_conf_t;


#define NGX_HTTP_GW_REDIS_CHECK_OFF     0
#define NGX_HTTP_GW_REDIS_CHECK_PING    1
#define NGX_HTTP_GW_REDIS_CHECK_SCRIPT  2


typedef struct {
    ngx_http_gw_redis_main_conf_t  *conf;      /* NULL: no gw_redis */
    ngx_http_gw_redis_conn_t        commands;
    ngx_http_gw_redis_conn_t        subscriber;
    ngx_queue_t                     inflight;  /* ngx_http_gw_redis_cmd_t */
    ngx_uint_t                      pending;   /* held by hiredis */
    ngx_uint_t                      sent;
    ngx_uint_t                      timeouts;
    ngx_uint_t                      silent;    /* timeouts in a row */
    ngx_uint_t                      failed;    /* answered DOWN */
    ngx_uint_t                      incidents; /* [error] lines logged */
    ngx_uint_t                      nchannels; /* distinct channels */
    const char                    **channels;  /* SUBSCRIBE's arguments */
    size_t                         *channel_lens;
    unsigned                        incident:1;/* an outage is open */
    unsigned                        overflow:1;/* max_pending was hit */
    unsigned                        exiting:1;
} ngx_http_gw_redis_worker_t;


extern ngx_http_gw_redis_worker_t  ngx_http_gw_redis_worker;


/* ngx_http_gw_redis_conn.c */
ngx_int_t ngx_http_gw_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_gw_redis_main_conf_t *rmcf);
void ngx_http_gw_redis_exit_worker(void);
ngx_uint_t ngx_http_gw_redis_accepting(void);
void ngx_http_gw_redis_stalled(ngx_uint_t n);

/* ngx_http_gw_redis_cmd.c */
void ngx_http_gw_redis_free_commands(void);

/* ngx_http_gw_redis_status.c */
char *ngx_http_gw_redis_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gw_redis_check(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_gw_redis_check_init(ngx_conf_t *cf,
    ngx_http_gw_redis_main_conf_t *rmcf);


#endif /* _NGX_HTTP_GW_REDIS_INT_H_INCLUDED_ */
