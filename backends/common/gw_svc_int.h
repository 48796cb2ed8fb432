
/*
 * Copyright (C) Tollgate
 *
 * The service kit's inside, shared by its files and by nothing else:
 * the service and request structures and the functions one part of the
 * kit calls in another.  Services include gw_svc.h only.
 */


#ifndef _GW_SVC_INT_H_INCLUDED_
#define _GW_SVC_INT_H_INCLUDED_


#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <event2/http.h>

#include "gw_svc.h"
#include "gw_trace.h"


#define GW_SVC_NAME_MAX     32
#define GW_SVC_ERR_MAX      512
#define GW_SVC_LABELS_MAX   4
#define GW_SVC_SERIES_MAX   256
#define GW_SVC_REDIS_STALLS 5       /* redis_retry ticks without answer */

#define GW_SVC_BUILTIN      0x100   /* route flag: /healthz, ... */

#define gw_svc_set_error(svc, ...)                                            \
    snprintf((svc)->err, sizeof((svc)->err), __VA_ARGS__)


typedef struct gw_svc_route_s   gw_svc_route_t;

struct gw_svc_route_s {
    gw_svc_route_t      *next;
    unsigned             methods;
    unsigned             flags;
    char                *path;
    size_t               len;
    char                *label;        /* in metrics: path, "*" if prefix */
    gw_svc_handler_pt    handler;
    void                *data;
};


typedef struct {
    const gw_svc_key_t  *key;
    char                *str;
    long long            num;
    int                  set;          /* seen in the file */
} gw_svc_conf_t;


typedef enum {
    GW_SVC_REDIS_DOWN = 0,
    GW_SVC_REDIS_CONNECTING,
    GW_SVC_REDIS_UP
} gw_svc_redis_state_e;


struct gw_svc_s {
    char                      name[GW_SVC_NAME_MAX + 1];
    char                      err[GW_SVC_ERR_MAX];

    gw_svc_conf_t            *conf;
    size_t                    nconf;
    gw_svc_level_e            log_level;

    struct event_base        *base;
    struct evhttp            *http;
    struct evhttp_bound_socket  *bound;
    char                     *unix_path;   /* to unlink at the end */
    struct event             *sigterm;
    struct event             *sigint;
    struct event             *deadline;

    redisAsyncContext        *redis;
    gw_svc_redis_state_e      redis_state;
    int                       redis_ping_out;  /* a health PING waits */
    int                       redis_stalls;    /* ticks it waited */
    int                       redis_failures;  /* connects failed */
    struct event             *redis_timer;
    gw_svc_sub_t             *subs;        /* gw_svc_sub.c */

    int                       draining;
    int                       stopped;
    int                       overdue;     /* shutdown_timeout passed */
    unsigned                  in_flight;
    unsigned                  closing;     /* answers still written */
    unsigned                  held;        /* gw_svc_hold()s */
    gw_svc_drain_pt           drain;
    void                     *drain_data;
    gw_svc_configured_pt      configured;   /* gw_svc_main()'s */
    const char *const        *forms;

    gw_svc_route_t           *routes;
    gw_svc_route_t          **last_route;
    gw_svc_ready_pt           ready;
    void                     *ready_data;
    gw_svc_loop_pt            loop_start;
    gw_svc_loop_pt            loop_stop;
    void                     *loop_data;

    gw_svc_metric_t          *metrics;
    gw_svc_metric_t         **last_metric;
    gw_svc_metric_t          *m_requests;
    gw_svc_metric_t          *m_duration;
    gw_svc_metric_t          *m_in_flight;
    gw_svc_metric_t          *m_redis_up;
    gw_svc_metric_t          *m_redis_connects;
    gw_svc_metric_t          *m_dropped;
    gw_svc_metric_t          *m_nodelay;
};


typedef struct gw_svc_req_mem_s  gw_svc_req_mem_t;

struct gw_svc_req_mem_s {
    gw_svc_req_mem_t         *next;
    max_align_t               data[];      /* what the caller asked for */
};


struct gw_svc_req_s {
    gw_svc_t                 *svc;
    struct evhttp_request    *ev;
    gw_svc_route_t           *route;
    const char               *method;
    char                     *path;
    const char               *query;
    char                     *body;
    size_t                    body_len;
    struct timespec           start;
    char                      id[GW_REQUEST_ID_MAX + 1];
    char                      trace_id[33];
    char                      traceparent[GW_TRACEPARENT_LEN + 1];
    gw_svc_req_mem_t         *mem;         /* freed with the request */
};


/* gw_svc_conf.c */
int gw_svc_conf_init(gw_svc_t *svc, const gw_svc_key_t *keys);
void gw_svc_conf_free(gw_svc_t *svc);

/* gw_svc_http.c */
void gw_svc_http_handler(struct evhttp_request *ev, void *arg);
void gw_svc_reply_buffer(gw_svc_req_t *req, int status,
    const char *content_type, struct evbuffer *body);

/* gw_svc_metrics.c */
int gw_svc_metrics_init(gw_svc_t *svc);
void gw_svc_metrics_free(gw_svc_t *svc);
int gw_svc_metrics_render(gw_svc_t *svc, struct evbuffer *out);

/* gw_svc_log.c */
void gw_svc_logf(gw_svc_t *svc, gw_svc_level_e level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* gw_svc.c */
int gw_svc_is_ready(gw_svc_t *svc, const char **why);
void gw_svc_req_done(gw_svc_t *svc);
redisAsyncContext *gw_svc_redis_open(gw_svc_t *svc, void *data,
    redisConnectCallback *connected, redisDisconnectCallback *disconnected);

/* gw_svc_sub.c */
void gw_svc_subs_start(gw_svc_t *svc);
void gw_svc_subs_free(gw_svc_t *svc);


#endif /* _GW_SVC_INT_H_INCLUDED_ */
