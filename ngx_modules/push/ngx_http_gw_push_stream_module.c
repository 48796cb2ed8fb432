
/*
 * Copyright (C) Tollgate
 *
 * The push transport's directives and its subscriber side
 * (docs/push.md):
 *
 *     gw_push_subscribe <channel> [history=N];   EventSource subscribers
 *     gw_push_publish <channel> [history=N] [ttl=T];   the publisher
 *     gw_push_ping <time>;                        keepalive comments
 *
 * A subscriber gets a 200 text/event-stream header (through nginx's
 * filters, never chunked: the directive turns chunked_transfer_encoding
 * off in its location), ": hi", then every message of its channel,
 * written by the fan-out (ngx_http_gw_push_fanout.c) straight to the
 * socket.  It stays registered until the client closes, it falls behind
 * past the queue's cap, Redis' subscription is lost (then every
 * subscriber is closed: EventSource reconnects with Last-Event-ID), or
 * the worker exits (the connection is idle for nginx's shutdown).
 *
 * Last-Event-ID (or ?last_event_id=): the subscriber is registered with
 * live messages held, then XRANGE reads the channel's history after that
 * id; the range goes out first, then the held messages after the last
 * id sent.
 */


#include "ngx_http_gw_push_stream.h"
#include "gw_ws.h"


static ngx_int_t ngx_http_gw_push_subscribe_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_push_last_id(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_http_gw_push_header(ngx_http_request_t *r,
    ngx_http_gw_push_sub_t *sub);
static void ngx_http_gw_push_ping(ngx_event_t *ev);
static ngx_int_t ngx_http_gw_push_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static char *ngx_http_gw_push_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_gw_push_stream_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_push_stream_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_gw_push_stream_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_push_stream_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_gw_push_stream_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_push_stream_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_push_stream_init_process(ngx_cycle_t *cycle);


ngx_str_t  ngx_http_gw_push_redis_channel = ngx_string("gw:push");

static ngx_event_t  ngx_http_gw_push_ping_event;

static ngx_str_t  ngx_http_gw_push_last_event_id =
    ngx_string("Last-Event-ID");


static ngx_command_t  ngx_http_gw_push_stream_commands[] = {

    { ngx_string("gw_push_subscribe"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_push_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_push_publish"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_gw_push_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      1,
      NULL },

    { ngx_string("gw_push_ping"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_push_stream_main_conf_t, ping),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_push_stream_module_ctx = {
    ngx_http_gw_push_stream_preconf,        /* preconfiguration */
    ngx_http_gw_push_stream_init,           /* postconfiguration */

    ngx_http_gw_push_stream_create_main_conf,  /* create main configuration */
    ngx_http_gw_push_stream_init_main_conf,    /* init main configuration */

    NULL,                                   /* create server configuration */
    NULL,                                   /* merge server configuration */

    ngx_http_gw_push_stream_create_loc_conf,   /* create location conf */
    ngx_http_gw_push_stream_merge_loc_conf     /* merge location conf */
};


ngx_module_t  ngx_http_gw_push_stream_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_push_stream_module_ctx,    /* module context */
    ngx_http_gw_push_stream_commands,       /* module directives */
    NGX_HTTP_MODULE,                        /* module type */
    NULL,                                   /* init master */
    NULL,                                   /* init module */
    ngx_http_gw_push_stream_init_process,   /* init process */
    NULL,                                   /* init thread */
    NULL,                                   /* exit thread */
    NULL,                                   /* exit process */
    NULL,                                   /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_gw_push_vars[] = {

    { ngx_string("gw_push_subscribers"), NULL, ngx_http_gw_push_variable,
      offsetof(ngx_http_gw_push_stats_t, subscribers),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_push_overflowed"), NULL, ngx_http_gw_push_variable,
      offsetof(ngx_http_gw_push_stats_t, overflowed),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_push_delivered"), NULL, ngx_http_gw_push_variable,
      offsetof(ngx_http_gw_push_stats_t, delivered),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/*
 * The subscriber's content handler: 405, 406, 400 (channel, Last-Event-ID)
 * as problems; else the event stream, r held (NGX_DONE) until the
 * subscriber is closed.
 */

static ngx_int_t
ngx_http_gw_push_subscribe_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_str_t                            channel, after;
    ngx_uint_t                           ws;
    ngx_pool_cleanup_t                  *cln;
    ngx_http_gw_push_id_t                id;
    ngx_http_gw_push_sub_t              *sub;
    ngx_http_gw_push_stream_loc_conf_t  *plcf;
    u_char                               accept[GW_WS_ACCEPT_LEN];

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_push_stream_module);

    if (r != r->main) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a WebSocket: its handshake instead of the event stream's checks */

    ws = ngx_http_gw_push_ws_wanted(r);

    if (ws) {
        rc = ngx_http_gw_push_ws_handshake(r, accept);

        if (rc != NGX_OK) {
            return rc;
        }

        goto channel;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gw_push_refuse(r, "gw_push", NGX_HTTP_NOT_ALLOWED,
                   "urn:tollgate:problem:method-not-allowed",
                   "Method not allowed", "subscribe with GET");
    }

    if (r->http_version > NGX_HTTP_VERSION_11) {
        return ngx_http_gw_push_refuse(r, "gw_push",
                   NGX_HTTP_VERSION_NOT_SUPPORTED,
                   "urn:tollgate:problem:push-http-version",
                   "HTTP version not supported",
                   "an event stream is served over HTTP/1.1");
    }

    if (r->headers_in.accept == NULL
        || ngx_strlcasestrn(r->headers_in.accept->value.data,
                            r->headers_in.accept->value.data
                            + r->headers_in.accept->value.len,
                            (u_char *) "text/event-stream",
                            sizeof("text/event-stream") - 2)
           == NULL)
    {
        return ngx_http_gw_push_refuse(r, "gw_push", 406,
                   "urn:tollgate:problem:push-not-acceptable",
                   "Not acceptable",
                   "a push channel is an event stream: send "
                   "Accept: text/event-stream");
    }

channel:

    if (ngx_http_complex_value(r, plcf->subscribe, &channel) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_gw_push_channel_valid(&channel)) {
        return ngx_http_gw_push_refuse(r, "gw_push", NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:push-channel-invalid",
                   "Invalid push channel",
                   "a channel is 1 to 128 of A-Z a-z 0-9 _ . : -");
    }

    rc = ngx_http_gw_push_last_id(r, &after);

    if (rc == NGX_OK
        && ngx_http_gw_push_id_parse(after.data, after.len, &id) != NGX_OK)
    {
        return ngx_http_gw_push_refuse(r, "gw_push", NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:push-last-event-id-invalid",
                   "Invalid Last-Event-ID",
                   "Last-Event-ID is an id this channel sent");
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sub = ngx_http_gw_push_sub_alloc(r);
    if (sub == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_gw_push_cleanup;
    cln->data = sub;

    sub->history = plcf->history;

    ngx_http_set_ctx(r, sub, ngx_http_gw_push_stream_module);

    if (r->header_only) {
        return ngx_http_gw_push_header(r, sub);
    }

    if (ngx_http_gw_push_register(sub, &channel) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK) {
        sub->holding = 1;
        sub->last = id;
    }

    rc = ws ? ngx_http_gw_push_ws_accept(r, sub, accept)
            : ngx_http_gw_push_header(r, sub);

    if (rc == NGX_ERROR) {
        ngx_http_gw_push_unregister(sub);
        return NGX_ERROR;
    }

    r->main->count++;
    r->read_event_handler = ws ? ngx_http_gw_push_ws_read
                               : ngx_http_gw_push_read;
    r->write_event_handler = ngx_http_gw_push_write;
    r->connection->idle = 1;

    if (sub->holding
        && ngx_http_gw_push_resume(r, sub, &channel, &after) != NGX_OK)
    {
        ngx_http_gw_push_close(sub, "cannot resume");
        return NGX_DONE;
    }

    if (sub->filtered) {
        ngx_http_gw_push_write(r);
    }

    /* a WebSocket client's frames sent with its handshake */
    if (ws && r->header_in->pos < r->header_in->last) {
        ngx_post_event(r->connection->read, &ngx_posted_events);
    }

    return NGX_DONE;
}


/* NGX_OK and the id when the client gave one, else NGX_DECLINED */

static ngx_int_t
ngx_http_gw_push_last_id(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_table_elt_t  *h;

    h = ngx_http_gw_header_in(r, &ngx_http_gw_push_last_event_id);

    if (h != NULL) {
        *id = h->value;
        return NGX_OK;
    }

    if (ngx_http_arg(r, (u_char *) "last_event_id", 13, id) == NGX_OK) {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * The response header and ": hi", through the filters; sub->filtered
 * when some of it waits there (the write handler sends it first).
 */

static ngx_int_t
ngx_http_gw_push_header(ngx_http_request_t *r, ngx_http_gw_push_sub_t *sub)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type,
                "text/event-stream; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/event-stream") - 1;
    r->keepalive = 0;

#if (NGX_HTTP_GZIP)
    r->gzip_tested = 1;
    r->gzip_ok = 0;
#endif

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-cache");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) ": hi\n\n";
    b->last = b->pos + sizeof(": hi\n\n") - 1;
    b->memory = 1;
    b->flush = 1;

    out.buf = b;
    out.next = NULL;

    rc = ngx_http_output_filter(r, &out);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (r->out != NULL || r->connection->buffered) {
        sub->filtered = 1;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_push_refuse(ngx_http_request_t *r, const char *who,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail)
{
    ngx_http_gw_problem_t  problem;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "%s: %s", who,
                  detail);

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);
    ngx_str_null(&problem.extra);

    /* the answer drops this reference */
    r->main->count++;

    if (ngx_http_gw_send_problem(r, &problem) == NGX_ERROR) {
        r->main->count--;
        return NGX_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_http_gw_push_ping(ngx_event_t *ev)
{
    ngx_http_gw_push_stream_main_conf_t *pmcf = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_gw_push_ping_all();

    ngx_add_timer(ev, pmcf->ping);
}


static ngx_int_t
ngx_http_gw_push_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%ui",
                         *(ngx_uint_t *) ((u_char *) &ngx_http_gw_push_stats
                                          + data))
             - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


/*
 * gw_push_subscribe <channel> [history=N] (cmd->offset 0) and
 * gw_push_publish <channel> [history=N] [ttl=T] (1): the location's
 * content handler.
 */

static char *
ngx_http_gw_push_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_push_stream_loc_conf_t *plcf = conf;

    ngx_int_t                             n;
    ngx_str_t                            *value;
    ngx_uint_t                            i;
    ngx_http_complex_value_t             *cv;
    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_gw_push_stream_main_conf_t  *pmcf;
    ngx_http_compile_complex_value_t      ccv;

    if (plcf->subscribe != NULL || plcf->publish != NULL) {
        return "is duplicate (one of gw_push_subscribe, gw_push_publish)";
    }

    value = cf->args->elts;

    cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (cv == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "history=", 8) == 0) {
            n = ngx_atoi(value[i].data + 8, value[i].len - 8);
            if (n <= 0 || n > 1000000) {
                return "has an invalid history= (1 to 1000000)";
            }

            plcf->history = n;
            continue;
        }

        if (cmd->offset == 1 && ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            value[i].data += 4;
            value[i].len -= 4;
            plcf->ttl = ngx_parse_time(&value[i], 1);
            if (plcf->ttl == (time_t) NGX_ERROR || plcf->ttl == 0) {
                return "has an invalid ttl=";
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    pmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_push_stream_module);

    if (cmd->offset == 1) {
        plcf->publish = cv;
        clcf->handler = ngx_http_gw_push_publish_handler;
        pmcf->publishes = 1;
        return NGX_CONF_OK;
    }

    plcf->subscribe = cv;
    clcf->handler = ngx_http_gw_push_subscribe_handler;

    /* the stream ends with the connection: never chunked */
    if (clcf->chunked_transfer_encoding == 1) {
        return "cannot be used with chunked_transfer_encoding on";
    }

    clcf->chunked_transfer_encoding = 0;

    if (!pmcf->used) {
        pmcf->used = 1;

        if (ngx_http_gw_redis_subscribe(cf, &ngx_http_gw_push_redis_channel,
                                        ngx_http_gw_push_message,
                                        ngx_http_gw_push_resync, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_push_stream_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_push_stream_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_push_stream_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    pmcf->ping = NGX_CONF_UNSET_MSEC;

    return pmcf;
}


static char *
ngx_http_gw_push_stream_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_push_stream_main_conf_t *pmcf = conf;

    ngx_conf_init_msec_value(pmcf->ping, 30000);

    if (pmcf->ping == 0) {
        return "gw_push_ping must be more than 0";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_push_stream_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_push_stream_loc_conf_t  *plcf;

    plcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_push_stream_loc_conf_t));
    if (plcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     plcf->subscribe = NULL;
     *     plcf->publish = NULL;
     */

    plcf->history = NGX_CONF_UNSET_UINT;
    plcf->ttl = NGX_CONF_UNSET;

    return plcf;
}


/* a content handler's settings are its location's own */

static char *
ngx_http_gw_push_stream_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gw_push_stream_loc_conf_t *conf = child;

    ngx_conf_init_uint_value(conf->history, NGX_HTTP_GW_PUSH_HISTORY);
    ngx_conf_init_value(conf->ttl, 3600);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_push_stream_preconf(ngx_conf_t *cf)
{
    return ngx_http_gw_add_variables(cf, ngx_http_gw_push_vars);
}


static ngx_int_t
ngx_http_gw_push_stream_init(ngx_conf_t *cf)
{
    ngx_http_gw_push_stream_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_push_stream_module);

    if ((pmcf->used || pmcf->publishes) && !ngx_http_gw_redis_configured(cf))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_push_subscribe and gw_push_publish need "
                           "gw_redis");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_push_stream_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_push_stream_main_conf_t  *pmcf;

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_push_stream_module);

    if (pmcf == NULL || !pmcf->used) {
        return NGX_OK;
    }

    ngx_http_gw_push_ping_event.handler = ngx_http_gw_push_ping;
    ngx_http_gw_push_ping_event.data = pmcf;
    ngx_http_gw_push_ping_event.log = cycle->log;
    ngx_http_gw_push_ping_event.cancelable = 1;

    ngx_add_timer(&ngx_http_gw_push_ping_event, pmcf->ping);

    return NGX_OK;
}
