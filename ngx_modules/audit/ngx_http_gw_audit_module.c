
/*
 * Copyright (C) Tollgate
 *
 * Audit events from the gateway (docs/audit.md): with gw_audit on, the
 * log phase of each request writes one event (its id, time, consumer,
 * method, path, status, latency, client address, auth outcome, request
 * id) to a bounded per-worker queue, and the queue goes to the Redis
 * stream gw:audit (lib/model/gw_model.h) that the audit service reads.
 *
 * The request never waits: the log phase only copies the event into the
 * queue.  The queue is sent in batches, one script run (XADD per event,
 * atomic) per batch and one batch in flight per worker, through the
 * shared asynchronous Redis client, so audit traffic takes one of the
 * client's pending slots at most.  A batch that times out or meets a lost
 * connection goes back to the head of the queue and is sent again; the
 * audit service drops the duplicates a timeout may cause (events carry a
 * random 128-bit id).  When the queue is full (gw_audit_queue events or
 * gw_audit_queue_size bytes), new events are dropped and counted, with one
 * warning per incident and one notice, with the count, when it ends.
 * Events still queued when a worker exits are counted in the exit log
 * line.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/rand.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_audit.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_redis.h"
#include "gw_model.h"
#include "gw_problem.h"


#define NGX_HTTP_GW_AUDIT_BATCH     128         /* events per script run */
#define NGX_HTTP_GW_AUDIT_RETRY     200         /* ms between tries while
                                                   Redis is unavailable */


typedef struct {
    ngx_queue_t                 queue;
    size_t                      len;
    u_char                      data[1];
} ngx_http_gw_audit_event_t;


typedef struct {
    ngx_str_t                   stream;
    ngx_uint_t                  queue_max;
    size_t                      queue_size;
    ngx_uint_t                  maxlen;
    ngx_uint_t                  used;
    ngx_http_gw_redis_script_t  script;
    ngx_log_t                  *log;
} ngx_http_gw_audit_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;
} ngx_http_gw_audit_loc_conf_t;


/* per worker */
typedef struct {
    ngx_queue_t                 queue;          /* waiting events */
    ngx_queue_t                 flight;         /* the batch in flight */
    ngx_uint_t                  n;              /* events in both */
    size_t                      size;           /* their bytes */
    ngx_event_t                 flush;
    ngx_http_gw_audit_main_conf_t  *conf;
    unsigned                    sending:1;
    unsigned                    dropping:1;
} ngx_http_gw_audit_worker_t;


static ngx_int_t ngx_http_gw_audit_log_handler(ngx_http_request_t *r);
static u_char *ngx_http_gw_audit_event(ngx_http_request_t *r, size_t *len);
static const char *ngx_http_gw_audit_auth(ngx_http_request_t *r,
    ngx_str_t *actor);
static void ngx_http_gw_audit_flush(ngx_event_t *ev);
static void ngx_http_gw_audit_sent(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_audit_schedule(ngx_msec_t delay);
static void *ngx_http_gw_audit_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_audit_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gw_audit_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_audit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_audit_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_audit_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_audit_exit_process(ngx_cycle_t *cycle);


static ngx_http_gw_audit_worker_t  ngx_http_gw_audit_worker;


/* XADD each event, trimming the stream when a MAXLEN is given */
static const char  ngx_http_gw_audit_script[] =
"for i = 2, #ARGV do\n"
"  if ARGV[1] == '0' then\n"
"    redis.call('XADD', KEYS[1], '*', 'event', ARGV[i])\n"
"  else\n"
"    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'event',\n"
"               ARGV[i])\n"
"  end\n"
"end\n"
"return #ARGV - 1\n";


static ngx_conf_num_bounds_t  ngx_http_gw_audit_queue_bounds = {
    ngx_conf_check_num_bounds, 1, 10000000
};


static ngx_command_t  ngx_http_gw_audit_commands[] = {

    { ngx_string("gw_audit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_audit_loc_conf_t, enable),
      NULL },

    { ngx_string("gw_audit_stream"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_audit_main_conf_t, stream),
      NULL },

    { ngx_string("gw_audit_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_audit_main_conf_t, queue_max),
      &ngx_http_gw_audit_queue_bounds },

    { ngx_string("gw_audit_queue_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_audit_main_conf_t, queue_size),
      NULL },

    { ngx_string("gw_audit_maxlen"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_audit_main_conf_t, maxlen),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_audit_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_audit_init,                /* postconfiguration */

    ngx_http_gw_audit_create_main_conf,    /* create main configuration */
    ngx_http_gw_audit_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_audit_create_loc_conf,     /* create location configuration */
    ngx_http_gw_audit_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_gw_audit_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_audit_module_ctx,         /* module context */
    ngx_http_gw_audit_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_audit_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_audit_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* events this worker dropped, for its log lines (the metrics module
   counts them for scrapes: gw_audit_dropped_total) */
static ngx_uint_t  ngx_http_gw_audit_dropped;


static ngx_int_t
ngx_http_gw_audit_log_handler(ngx_http_request_t *r)
{
    u_char                         *p;
    size_t                          len;
    ngx_http_gw_audit_event_t      *ev;
    ngx_http_gw_audit_worker_t     *w;
    ngx_http_gw_audit_loc_conf_t   *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_audit_module);

    if (!alcf->enable || r != r->main) {
        return NGX_DECLINED;
    }

    w = &ngx_http_gw_audit_worker;

    if (w->conf == NULL) {
        return NGX_DECLINED;
    }

    p = ngx_http_gw_audit_event(r, &len);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    if (w->n >= w->conf->queue_max || w->size + len > w->conf->queue_size) {
        ngx_http_gw_audit_dropped++;
        ngx_http_gw_metrics_audit_dropped(1);

        if (!w->dropping) {
            w->dropping = 1;
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "gw_audit: queue full (%ui events, %uz bytes), "
                          "dropping events until it drains", w->n, w->size);
        }

        return NGX_DECLINED;
    }

    ev = ngx_alloc(offsetof(ngx_http_gw_audit_event_t, data) + len,
                   r->connection->log);
    if (ev == NULL) {
        ngx_http_gw_audit_dropped++;
        ngx_http_gw_metrics_audit_dropped(1);
        return NGX_DECLINED;
    }

    ev->len = len;
    ngx_memcpy(ev->data, p, len);

    ngx_queue_insert_tail(&w->queue, &ev->queue);
    w->n++;
    w->size += len;

    /* batch what this turn of the event loop logs: send once it ends */
    if (!w->sending && !w->flush.posted && !w->flush.timer_set) {
        ngx_post_event(&w->flush, &ngx_posted_events);
    }

    return NGX_DECLINED;
}


/*
 * The event as a JSON object, in r->pool: the members of the audit
 * service's contract (docs/audit.md).  The path is $uri, never the query
 * string, which may hold credentials.
 */

static u_char *
ngx_http_gw_audit_event(ngx_http_request_t *r, size_t *len)
{
    u_char                     *buf, *p;
    size_t                      size;
    ngx_str_t                   actor, rid, client, path;
    ngx_msec_int_t              ms;
    ngx_time_t                 *tp;
    const char                 *auth;
    ngx_http_variable_value_t  *vv;
    u_char                      id[16];
    ngx_str_t                   name = ngx_string("gw_consumer_id");

    if (RAND_bytes(id, sizeof(id)) != 1) {
        return NULL;
    }

    ngx_str_null(&actor);

    vv = ngx_http_get_variable(r, &name, ngx_hash_key(name.data, name.len));
    if (vv != NULL && !vv->not_found && vv->len) {
        actor.data = vv->data;
        actor.len = vv->len;
    }

    if (ngx_http_gw_request_id(r, &rid) != NGX_OK) {
        ngx_str_null(&rid);
    }

    client = r->connection->addr_text;
    path = r->uri;

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    auth = ngx_http_gw_audit_auth(r, &actor);

    size = sizeof("{\"id\":\"\",\"time\":,\"actor\":\"\",\"action\":\"\","
                  "\"resource\":\"\",\"status\":,\"request_id\":\"\","
                  "\"latency_ms\":,\"client\":\"\",\"auth\":\"\","
                  "\"source\":\"gateway\"}")
           + 32 + 2 * NGX_INT64_LEN + NGX_INT_T_LEN + NGX_TIME_T_LEN
           + gw_json_escape_len(actor.data, actor.len)
           + gw_json_escape_len(r->method_name.data, r->method_name.len)
           + gw_json_escape_len(path.data, path.len)
           + gw_json_escape_len(rid.data, rid.len)
           + gw_json_escape_len(client.data, client.len)
           + ngx_strlen(auth);

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NULL;
    }

    p = ngx_cpymem(buf, "{\"id\":\"", 7);
    p = ngx_hex_dump(p, id, sizeof(id));
    p = ngx_sprintf(p, "\",\"time\":%T%03M,\"actor\":\"", tp->sec,
                    tp->msec);
    p = gw_json_escape(p, actor.data, actor.len);
    p = ngx_cpymem(p, "\",\"action\":\"", 12);
    p = gw_json_escape(p, r->method_name.data, r->method_name.len);
    p = ngx_cpymem(p, "\",\"resource\":\"", 14);
    p = gw_json_escape(p, path.data, path.len);
    p = ngx_sprintf(p, "\",\"status\":%ui,\"request_id\":\"",
                    r->headers_out.status ? r->headers_out.status
                                          : (ngx_uint_t) NGX_HTTP_OK);
    p = gw_json_escape(p, rid.data, rid.len);
    p = ngx_sprintf(p, "\",\"latency_ms\":%M,\"client\":\"", ms);
    p = gw_json_escape(p, client.data, client.len);
    p = ngx_sprintf(p, "\",\"auth\":\"%s\",\"source\":\"gateway\"}", auth);

    *len = p - buf;

    return buf;
}


/*
 * The authentication outcome: from the problem the gateway answered with
 * (a missing or invalid credential, a disabled consumer or a missing
 * scope), else "ok" when a consumer or a token subject is known, else
 * "none".
 */

static const char *
ngx_http_gw_audit_auth(ngx_http_request_t *r, ngx_str_t *actor)
{
    const char                 *type;
    ngx_http_variable_value_t  *vv;
    ngx_str_t                   sub = ngx_string("gw_jwt_sub");

    type = ngx_http_gw_problem_sent(r);

    if (type != NULL) {
        if (ngx_strstr(type, "-missing") != NULL) {
            return "missing";
        }

        if (ngx_strstr(type, "-invalid") != NULL) {
            return "invalid";
        }

        if (ngx_strstr(type, "consumer-disabled") != NULL
            || ngx_strstr(type, "insufficient-scope") != NULL)
        {
            return "forbidden";
        }
    }

    if (actor->len) {
        return "ok";
    }

    vv = ngx_http_get_variable(r, &sub, ngx_hash_key(sub.data, sub.len));

    return (vv != NULL && !vv->not_found && vv->len) ? "ok" : "none";
}


/* sends the head of the queue, up to a batch, unless a batch is out */

static void
ngx_http_gw_audit_flush(ngx_event_t *ev)
{
    int                          argc;
    u_char                       num[NGX_INT_T_LEN];
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_queue_t                 *q;
    const char                  *argv[2 + NGX_HTTP_GW_AUDIT_BATCH];
    size_t                       argvlen[2 + NGX_HTTP_GW_AUDIT_BATCH];
    ngx_http_gw_audit_event_t   *e;
    ngx_http_gw_audit_worker_t  *w;

    w = &ngx_http_gw_audit_worker;

    if (w->sending || ngx_queue_empty(&w->queue) || ngx_exiting) {
        return;
    }

    if (!ngx_http_gw_redis_connected()) {
        ngx_http_gw_audit_schedule(NGX_HTTP_GW_AUDIT_RETRY);
        return;
    }

    argv[0] = (const char *) w->conf->stream.data;
    argvlen[0] = w->conf->stream.len;
    argv[1] = (const char *) num;
    argvlen[1] = ngx_sprintf(num, "%ui", w->conf->maxlen) - num;
    argc = 2;

    for (i = 0; i < NGX_HTTP_GW_AUDIT_BATCH && !ngx_queue_empty(&w->queue);
         i++)
    {
        q = ngx_queue_head(&w->queue);
        ngx_queue_remove(q);
        ngx_queue_insert_tail(&w->flight, q);

        e = ngx_queue_data(q, ngx_http_gw_audit_event_t, queue);
        argv[argc] = (const char *) e->data;
        argvlen[argc] = e->len;
        argc++;
    }

    rc = ngx_http_gw_redis_command_script(&w->conf->script,
                                          ngx_http_gw_audit_sent, w, 1,
                                          argc, argv, argvlen);

    if (rc == NGX_OK) {
        w->sending = 1;
        return;
    }

    /* not sent: back to the head of the queue, in order, and try later */

    ngx_queue_add(&w->flight, &w->queue);
    ngx_queue_init(&w->queue);
    ngx_queue_add(&w->queue, &w->flight);
    ngx_queue_init(&w->flight);

    ngx_http_gw_audit_schedule(NGX_HTTP_GW_AUDIT_RETRY);
}


static void
ngx_http_gw_audit_sent(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_audit_worker_t *w = data;

    ngx_str_t                   err;
    ngx_uint_t                  n;
    ngx_queue_t                *q;
    ngx_http_gw_audit_event_t  *e;
    u_char                      buf[NGX_HTTP_GW_LOG_SIZE];

    w->sending = 0;

    if (status != NGX_HTTP_GW_REDIS_OK) {

        /* maybe written, maybe not: again, the service drops duplicates */

        ngx_queue_add(&w->flight, &w->queue);
        ngx_queue_init(&w->queue);
        ngx_queue_add(&w->queue, &w->flight);
        ngx_queue_init(&w->flight);

        ngx_http_gw_audit_schedule(NGX_HTTP_GW_AUDIT_RETRY);
        return;
    }

    n = 0;

    while (!ngx_queue_empty(&w->flight)) {
        q = ngx_queue_head(&w->flight);
        ngx_queue_remove(q);

        e = ngx_queue_data(q, ngx_http_gw_audit_event_t, queue);
        w->n--;
        w->size -= e->len;
        ngx_free(e);
        n++;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_gw_audit_dropped += n;
        ngx_http_gw_metrics_audit_dropped(n);
        ngx_log_error(NGX_LOG_ERR, w->conf->log, 0,
                      "gw_audit: Redis refused %ui events: %V", n,
                      ngx_http_gw_log_escape(&err, buf, (u_char *) reply->str,
                                             reply->len));

    }

    if (w->dropping && w->n <= w->conf->queue_max / 2
        && w->size <= w->conf->queue_size / 2)
    {
        w->dropping = 0;
        ngx_log_error(NGX_LOG_NOTICE, w->conf->log, 0,
                      "gw_audit: queue drained; %ui events dropped so far "
                      "by this worker", ngx_http_gw_audit_dropped);
    }

    if (!ngx_queue_empty(&w->queue)) {
        ngx_http_gw_audit_flush(&w->flush);
    }
}


static void
ngx_http_gw_audit_schedule(ngx_msec_t delay)
{
    ngx_http_gw_audit_worker_t  *w;

    w = &ngx_http_gw_audit_worker;

    if (!w->flush.timer_set && !ngx_exiting) {
        ngx_add_timer(&w->flush, delay);
    }
}


static void *
ngx_http_gw_audit_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_audit_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_audit_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    amcf->queue_max = NGX_CONF_UNSET_UINT;
    amcf->queue_size = NGX_CONF_UNSET_SIZE;
    amcf->maxlen = NGX_CONF_UNSET_UINT;

    return amcf;
}


static char *
ngx_http_gw_audit_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_audit_main_conf_t *amcf = conf;

    if (amcf->stream.data == NULL) {
        ngx_str_set(&amcf->stream, GW_MODEL_AUDIT_STREAM);
    }

    ngx_conf_init_uint_value(amcf->queue_max, 10000);
    ngx_conf_init_size_value(amcf->queue_size, 16 * 1024 * 1024);
    ngx_conf_init_uint_value(amcf->maxlen, 0);

    if (amcf->stream.len == 0 || amcf->stream.len > 256) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_audit_stream: 1 to 256 bytes");
        return NGX_CONF_ERROR;
    }

    if (amcf->queue_size < 64 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_audit_queue_size: at least 64k");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_audit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_audit_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_audit_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gw_audit_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_audit_loc_conf_t *prev = parent;
    ngx_http_gw_audit_loc_conf_t *conf = child;

    ngx_http_gw_audit_main_conf_t  *amcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (conf->enable) {
        amcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_gw_audit_module);
        amcf->used = 1;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_audit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt            *h;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_gw_audit_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_audit_module);

    if (!amcf->used) {
        return NGX_OK;
    }

    if (!ngx_http_gw_redis_configured(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_audit needs gw_redis");
        return NGX_ERROR;
    }

    amcf->script.text.data = (u_char *) ngx_http_gw_audit_script;
    amcf->script.text.len = sizeof(ngx_http_gw_audit_script) - 1;

    if (ngx_http_gw_redis_script_init(cf, &amcf->script) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the http block's error_log, else the main one */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    amcf->log = (clcf->error_log != NULL) ? clcf->error_log
                                           : &cf->cycle->new_log;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_audit_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_audit_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_audit_worker_t     *w;
    ngx_http_gw_audit_main_conf_t  *amcf;

    amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_audit_module);
    if (amcf == NULL || !amcf->used) {
        return NGX_OK;
    }

    w = &ngx_http_gw_audit_worker;

    ngx_memzero(w, sizeof(ngx_http_gw_audit_worker_t));
    ngx_queue_init(&w->queue);
    ngx_queue_init(&w->flight);

    w->conf = amcf;
    w->flush.handler = ngx_http_gw_audit_flush;
    w->flush.log = cycle->log;
    w->flush.data = w;
    w->flush.cancelable = 1;

    return NGX_OK;
}


static void
ngx_http_gw_audit_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                 *q;
    ngx_http_gw_audit_worker_t  *w;

    w = &ngx_http_gw_audit_worker;

    if (w->conf == NULL) {
        return;
    }

    if (w->n) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "gw_audit: %ui events not delivered at exit", w->n);
    }

    ngx_queue_add(&w->queue, &w->flight);

    while (!ngx_queue_empty(&w->queue)) {
        q = ngx_queue_head(&w->queue);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_gw_audit_event_t, queue));
    }

    if (w->flush.posted) {
        ngx_delete_posted_event(&w->flush);
    }

    w->conf = NULL;
}
