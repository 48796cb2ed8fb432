
/*
 * Copyright (C) Tollgate
 *
 * Publishing at the edge (docs/publish.md).  gw_topic declares a topic:
 * N partitions, each the Redis stream gw:topic:<t>:<p>
 * (lib/model/gw_model.h), capped at about maxlen entries.  gw_publish
 * makes a location's content handler publish the request body, as the
 * location's earlier phases let it through (authenticated, rate limited,
 * validated), to the partition crc32(key) mod N of its topic, and answer
 * 202 with the event's id.
 *
 * The key decision: an event is answered only once Redis has it.  The
 * handler sends one XADD (MAXLEN ~, approximate trimming, which Redis
 * does by whole macro nodes, cheaply) through the worker's asynchronous
 * client, with ngx_http_gw_redis_content_request(): the request waits
 * without blocking the worker, a client that goes away while it waits is
 * forgotten (the entry may still be written: publishing is at least
 * once, as any retried request is), and Redis down, slow past
 * gw_redis_timeout or answering an error is a 503 problem, never a
 * silent drop.  Events with the same key go to one partition, one
 * stream, in the order their XADDs reach Redis: a client that waits for
 * each 202 before the next gets per-key order.
 *
 * An entry's fields are the shared stream format: data (the body, as
 * received), key, consumer ($gw_consumer_id), rid ($gw_request_id),
 * traceparent (what the edge sends upstream), time (ms since the epoch)
 * and ctype (the Content-Type).
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_publish.h"
#include "ngx_http_gw_redis.h"
#include "gw_model.h"
#include "gw_problem.h"
#include "gw_trace.h"


#define NGX_HTTP_GW_PUBLISH_ARGS   20       /* XADD's arguments */
#define NGX_HTTP_GW_PUBLISH_ID_MAX 48       /* "<ms>-<seq>" */


static ngx_int_t ngx_http_gw_publish_handler(ngx_http_request_t *r);
static void ngx_http_gw_publish_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_publish_send(ngx_http_request_t *r,
    ngx_http_gw_publish_loc_conf_t *plcf, ngx_http_gw_publish_ctx_t *ctx);
static void ngx_http_gw_publish_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_publish_answer(ngx_http_request_t *r,
    ngx_http_gw_publish_topic_t *t, ngx_uint_t partition, u_char *id,
    size_t len);
static void ngx_http_gw_publish_failed(ngx_http_request_t *r,
    ngx_http_gw_publish_topic_t *t, const char *why, redisReply *reply);
static char *ngx_http_gw_topic(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_publish(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_publish_num(ngx_conf_t *cf, ngx_str_t *value,
    size_t skip, ngx_uint_t min, ngx_uint_t max, ngx_uint_t *n);
static void *ngx_http_gw_publish_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_publish_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_publish_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_publish_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_publish_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_publish_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gw_publish_commands[] = {

    { ngx_string("gw_topic"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_gw_topic,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_publish"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_publish,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_publish_check_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_publish_main_conf_t, interval),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_publish_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_publish_init,              /* postconfiguration */

    ngx_http_gw_publish_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_publish_create_loc_conf,   /* create location configuration */
    ngx_http_gw_publish_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_gw_publish_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_publish_module_ctx,       /* module context */
    ngx_http_gw_publish_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_publish_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_publish_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* this worker is in an incident (publishing fails): logged once */
static ngx_uint_t  ngx_http_gw_publish_failing;

static ngx_str_t  ngx_http_gw_publish_traceparent = ngx_string("traceparent");


static ngx_int_t
ngx_http_gw_publish_handler(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_gw_publish_ctx_t       *ctx;
    ngx_http_gw_publish_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_publish_module);

    if (r != r->main) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_publish: a subrequest cannot publish");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_gw_publish_ctx(r, r->request_body == NULL);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a refusal's answer drops the reference the body read would take */
    r->main->count++;

    rc = ngx_http_gw_publish_check(r, plcf, ctx);

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            r->main->count--;
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DONE;
    }

    r->main->count--;

    rc = ngx_http_read_client_request_body(r, ngx_http_gw_publish_body_read);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The body's post handler: the reference the read took stays until the
 * answer, which drops it.
 */

static void
ngx_http_gw_publish_body_read(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_http_gw_publish_ctx_t       *ctx;
    ngx_http_gw_publish_loc_conf_t  *plcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_publish_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_publish_module);

    if (ctx == NULL || plcf->topic == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_http_gw_publish_body_collect(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ctx->too_large) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: body of more than %uz bytes", ctx->max);

        (void) ngx_http_gw_publish_refuse(r,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "urn:tollgate:problem:body-too-large",
                   "Request body too large",
                   "an event is at most 64 MiB");
        return;
    }

    if (ctx->len == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: empty body");

        (void) ngx_http_gw_publish_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:empty-body", "Empty body",
                   "an event needs a body");
        return;
    }

    rc = ngx_http_gw_publish_send(r, plcf, ctx);

    if (rc == NGX_AGAIN) {
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_gw_publish_failed(r, plcf->topic, "is down", NULL);
}


/*
 * XADD gw:topic:<t>:<p> MAXLEN ~ <cap> * data .. key .. consumer ..
 * rid .. traceparent .. time .. ctype ..; returns what
 * ngx_http_gw_redis_content_request() does.
 */

static ngx_int_t
ngx_http_gw_publish_send(ngx_http_request_t *r,
    ngx_http_gw_publish_loc_conf_t *plcf, ngx_http_gw_publish_ctx_t *ctx)
{
    int                               n;
    u_char                           *p;
    ngx_str_t                         consumer, rid, tp, ctype;
    ngx_time_t                       *now;
    ngx_table_elt_t                  *h;
    gw_traceparent_t                  parsed;
    ngx_http_variable_value_t        *vv;
    ngx_http_gw_publish_topic_t      *t;
    ngx_http_gw_publish_main_conf_t  *pmcf;
    const char                       *argv[NGX_HTTP_GW_PUBLISH_ARGS];
    size_t                            argvlen[NGX_HTTP_GW_PUBLISH_ARGS];
    u_char                            ms[NGX_INT64_LEN + 3];

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_publish_module);
    t = plcf->topic;

    ngx_str_null(&consumer);

    vv = ngx_http_get_indexed_variable(r, pmcf->consumer_var);

    if (vv != NULL && !vv->not_found && vv->len) {
        consumer.data = vv->data;
        consumer.len = vv->len;
    }

    if (ngx_http_gw_request_id(r, &rid) != NGX_OK) {
        ngx_str_null(&rid);
    }

    /*
     * What goes upstream: with gw_trace on, the edge's own header (the
     * client's were removed); else the client's, when it is valid.
     */

    ngx_str_null(&tp);

    h = ngx_http_gw_header_in(r, &ngx_http_gw_publish_traceparent);

    if (h != NULL && h->value.len <= GW_TRACEPARENT_MAX
        && gw_traceparent_parse((char *) h->value.data, h->value.len,
                                &parsed)
           == 0)
    {
        tp = h->value;
    }

    ngx_str_null(&ctype);

    if (r->headers_in.content_type != NULL) {
        ctype = r->headers_in.content_type->value;
    }

    now = ngx_timeofday();
    p = ngx_sprintf(ms, "%T%03M", now->sec, now->msec);

    n = 0;

#define ngx_http_gw_publish_arg(s, l)                                        \
    argv[n] = (const char *) (s); argvlen[n] = (l); n++

    ngx_http_gw_publish_arg("XADD", 4);
    ngx_http_gw_publish_arg(t->streams[ctx->partition].data,
                            t->streams[ctx->partition].len);
    ngx_http_gw_publish_arg("MAXLEN", 6);
    ngx_http_gw_publish_arg("~", 1);
    ngx_http_gw_publish_arg(t->maxlen_text.data, t->maxlen_text.len);
    ngx_http_gw_publish_arg("*", 1);
    ngx_http_gw_publish_arg("data", 4);
    ngx_http_gw_publish_arg(ctx->buf, ctx->len);
    ngx_http_gw_publish_arg("key", 3);
    ngx_http_gw_publish_arg(ctx->key.data, ctx->key.len);
    ngx_http_gw_publish_arg("consumer", 8);
    ngx_http_gw_publish_arg(consumer.data, consumer.len);
    ngx_http_gw_publish_arg("rid", 3);
    ngx_http_gw_publish_arg(rid.data, rid.len);
    ngx_http_gw_publish_arg("traceparent", 11);
    ngx_http_gw_publish_arg(tp.data, tp.len);
    ngx_http_gw_publish_arg("time", 4);
    ngx_http_gw_publish_arg(ms, p - ms);
    ngx_http_gw_publish_arg("ctype", 5);
    ngx_http_gw_publish_arg(ctype.data, ctype.len);

#undef ngx_http_gw_publish_arg

    return ngx_http_gw_redis_content_request(r, ngx_http_gw_publish_reply,
                                             ctx, n, argv, argvlen);
}


/* XADD's answer, for a live r: answers it and drops its reference */

static void
ngx_http_gw_publish_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_publish_ctx_t *ctx = data;

    size_t                           i;
    ngx_http_gw_publish_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_publish_module);

    if (status == NGX_HTTP_GW_REDIS_TIMEOUT) {
        ngx_http_gw_publish_failed(r, plcf->topic,
                                   "did not answer in time", NULL);
        return;
    }

    if (status != NGX_HTTP_GW_REDIS_OK) {
        ngx_http_gw_publish_failed(r, plcf->topic, "is down", NULL);
        return;
    }

    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS)
    {
        ngx_http_gw_publish_failed(r, plcf->topic, "refused the event",
                                   reply);
        return;
    }

    /* an id is "<ms>-<seq>", two decimal numbers */

    if (reply->len == 0 || reply->len > NGX_HTTP_GW_PUBLISH_ID_MAX) {
        goto invalid;
    }

    for (i = 0; i < reply->len; i++) {
        if ((reply->str[i] < '0' || reply->str[i] > '9')
            && reply->str[i] != '-')
        {
            goto invalid;
        }
    }

    ngx_http_gw_publish_answer(r, plcf->topic, ctx->partition,
                               (u_char *) reply->str, reply->len);
    return;

invalid:

    ngx_http_gw_publish_failed(r, plcf->topic, "answered an unexpected id",
                               reply);
}


/* 202 {"id": "<topic>:<p>:<ms>-<seq>", "topic": "<t>", "partition": p} */

static void
ngx_http_gw_publish_answer(ngx_http_request_t *r,
    ngx_http_gw_publish_topic_t *t, ngx_uint_t partition, u_char *id,
    size_t len)
{
    ngx_int_t   rc;
    ngx_buf_t  *b;

    ngx_http_gw_publish_count(t, NGX_HTTP_GW_PUBLISH_PUBLISHED);

    if (ngx_http_gw_publish_failing) {
        ngx_http_gw_publish_failing = 0;
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "gw_publish: publishing again");
    }

    b = ngx_create_temp_buf(r->pool,
                            sizeof("{\"id\":\"::\",\"topic\":\"\","
                                   "\"partition\":}\n")
                            + 2 * t->name.len + 2 * NGX_INT_T_LEN + len);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* a topic's name needs no JSON escaping ([a-z0-9_.-]) */

    b->last = ngx_sprintf(b->last, "{\"id\":\"%V:%ui:%*s\",\"topic\":\"%V\","
                          "\"partition\":%ui}\n", &t->name, partition, len,
                          id, &t->name, partition);

    rc = ngx_http_gw_send_buf(r, NGX_HTTP_ACCEPTED, "application/json", b);

    ngx_http_finalize_request(r, rc);
}


/*
 * 503: the event was not taken (or may have been, after a timeout: the
 * client retries, and the processing side sees at least once).  One
 * error line per incident in this worker; Redis' own words when it
 * answered with an error.
 */

static void
ngx_http_gw_publish_failed(ngx_http_request_t *r,
    ngx_http_gw_publish_topic_t *t, const char *why, redisReply *reply)
{
    ngx_str_t              err;
    ngx_table_elt_t       *h;
    ngx_http_gw_problem_t  problem;
    u_char                 buf[NGX_HTTP_GW_LOG_SIZE];

    ngx_http_gw_publish_count(t, NGX_HTTP_GW_PUBLISH_FAILED);

    if (!ngx_http_gw_publish_failing) {
        ngx_http_gw_publish_failing = 1;

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_publish: cannot publish to topic \"%V\": Redis "
                      "%s%s%V; answering 503 until it can", &t->name, why,
                      reply != NULL ? ": " : "",
                      ngx_http_gw_log_escape(&err, buf,
                                             reply != NULL
                                             ? (u_char *) reply->str : NULL,
                                             reply != NULL
                                             ? (size_t) reply->len : 0));

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: cannot publish to topic \"%V\": Redis "
                      "%s", &t->name, why);
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h != NULL) {
        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "1");
    }

    ngx_memzero(&problem, sizeof(ngx_http_gw_problem_t));

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:publish-unavailable";
    problem.title = "Event not published";
    ngx_str_set(&problem.detail,
                "the event stream cannot take the event now; retry");

    if (ngx_http_gw_send_problem(r, &problem) != NGX_DONE) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }
}


/* gw_topic <name> [partitions=N] [maxlen=N]; */

static char *
ngx_http_gw_topic(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_publish_main_conf_t *pmcf = conf;

    u_char                       *p;
    size_t                        size;
    ngx_str_t                    *value;
    ngx_uint_t                    i;
    ngx_http_gw_publish_topic_t  *t;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_GW_PUBLISH_NAME_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_topic: invalid name \"%V\": 1 to %d bytes",
                           &value[1], NGX_HTTP_GW_PUBLISH_NAME_MAX);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < value[1].len; i++) {
        p = &value[1].data[i];

        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '.' || *p == '-'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_topic: invalid name \"%V\": only a-z, "
                               "0-9, \"_\", \".\" and \"-\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    t = pmcf->topics.elts;

    for (i = 0; i < pmcf->topics.nelts; i++) {
        if (t[i].name.len == value[1].len
            && ngx_strncmp(t[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_topic: topic \"%V\" is declared twice",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    t = ngx_array_push(&pmcf->topics);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(t, sizeof(ngx_http_gw_publish_topic_t));

    t->name = value[1];
    t->partitions = NGX_CONF_UNSET_UINT;
    t->maxlen = NGX_CONF_UNSET_UINT;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "partitions=", 11) == 0
            && t->partitions == NGX_CONF_UNSET_UINT)
        {
            if (ngx_http_gw_publish_num(cf, &value[i], 11, 1,
                                        NGX_HTTP_GW_PUBLISH_PARTS_MAX,
                                        &t->partitions)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "maxlen=", 7) == 0
            && t->maxlen == NGX_CONF_UNSET_UINT)
        {
            if (ngx_http_gw_publish_num(cf, &value[i], 7, 1,
                                        NGX_HTTP_GW_PUBLISH_MAXLEN_MAX,
                                        &t->maxlen)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_topic: invalid or repeated parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_uint_value(t->partitions, 1);
    ngx_conf_init_uint_value(t->maxlen, NGX_HTTP_GW_PUBLISH_MAXLEN);

    t->maxlen_text.data = ngx_pnalloc(cf->pool, NGX_INT_T_LEN);
    if (t->maxlen_text.data == NULL) {
        return NGX_CONF_ERROR;
    }

    t->maxlen_text.len = ngx_sprintf(t->maxlen_text.data, "%ui", t->maxlen)
                         - t->maxlen_text.data;

    t->streams = ngx_palloc(cf->pool, t->partitions * sizeof(ngx_str_t));
    if (t->streams == NULL) {
        return NGX_CONF_ERROR;
    }

    size = sizeof(GW_MODEL_TOPIC_PREFIX ":") - 1 + t->name.len
           + NGX_INT_T_LEN;

    for (i = 0; i < t->partitions; i++) {
        p = ngx_pnalloc(cf->pool, size);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        t->streams[i].data = p;
        t->streams[i].len = ngx_sprintf(p, GW_MODEL_TOPIC_PREFIX "%V:%ui",
                                        &t->name, i) - p;
    }

    t->slot = pmcf->nslots;
    pmcf->nslots += NGX_HTTP_GW_PUBLISH_COUNTERS + t->partitions;

    return NGX_CONF_OK;
}


/* "name=N" with min <= N <= max, else a message naming the value */

static ngx_int_t
ngx_http_gw_publish_num(ngx_conf_t *cf, ngx_str_t *value, size_t skip,
    ngx_uint_t min, ngx_uint_t max, ngx_uint_t *n)
{
    ngx_int_t  v;

    v = ngx_atoi(value->data + skip, value->len - skip);

    if (v == NGX_ERROR || (ngx_uint_t) v < min || (ngx_uint_t) v > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_topic: invalid value \"%V\": %*s must be "
                           "%ui to %ui", value, skip - 1, value->data, min,
                           max);
        return NGX_ERROR;
    }

    *n = (ngx_uint_t) v;

    return NGX_OK;
}


/* gw_publish <topic> [key=<complex value>]; */

static char *
ngx_http_gw_publish(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_publish_loc_conf_t *plcf = conf;

    ngx_str_t                         *value, v;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_gw_publish_main_conf_t   *pmcf;
    ngx_http_compile_complex_value_t   ccv;

    if (plcf->name.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    plcf->name = value[1];

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "key=", 4) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gw_publish: invalid parameter \"%V\", "
                               "expected key=<value>", &value[2]);
            return NGX_CONF_ERROR;
        }

        v.data = value[2].data + 4;
        v.len = value[2].len - 4;

        plcf->key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (plcf->key == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &v;
        ccv.complex_value = plcf->key;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gw_publish_handler;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_publish_module);
    pmcf->used = 1;

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_publish_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_publish_main_conf_t  *pmcf;

    pmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_publish_main_conf_t));
    if (pmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&pmcf->topics, cf->pool, 4,
                       sizeof(ngx_http_gw_publish_topic_t))
        != NGX_OK)
    {
        return NULL;
    }

    pmcf->interval = NGX_CONF_UNSET_MSEC;

    return pmcf;
}


static void *
ngx_http_gw_publish_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_publish_loc_conf_t));
}


/* a location's gw_publish names a topic of the http block (not inherited:
   a content handler belongs to its location) */

static char *
ngx_http_gw_publish_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_publish_loc_conf_t *conf = child;

    ngx_uint_t                        i;
    ngx_http_gw_publish_topic_t      *t;
    ngx_http_gw_publish_main_conf_t  *pmcf;

    if (conf->name.data == NULL || conf->topic != NULL) {
        return NGX_CONF_OK;
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_publish_module);
    t = pmcf->topics.elts;

    for (i = 0; i < pmcf->topics.nelts; i++) {
        if (t[i].name.len == conf->name.len
            && ngx_strncmp(t[i].name.data, conf->name.data, conf->name.len)
               == 0)
        {
            conf->topic = &t[i];
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "gw_publish: unknown topic \"%V\" (declare it with "
                       "gw_topic in the http block)", &conf->name);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_gw_publish_init(ngx_conf_t *cf)
{
    ngx_str_t                         name = ngx_string("gw_consumer_id");
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_gw_publish_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_publish_module);

    ngx_conf_init_msec_value(pmcf->interval, 10000);

    if (pmcf->topics.nelts == 0) {
        return NGX_OK;
    }

    if (!ngx_http_gw_redis_configured(cf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_topic needs gw_redis");
        return NGX_ERROR;
    }

    pmcf->consumer_var = ngx_http_get_variable_index(cf, &name);
    if (pmcf->consumer_var == NGX_ERROR) {
        return NGX_ERROR;
    }

    /* the http block's error_log, else the main one */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    pmcf->log = (clcf->error_log != NULL) ? clcf->error_log
                                           : &cf->cycle->new_log;

    if (ngx_http_gw_publish_metrics_init(cf, pmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gw_publish_body_init(cf);
}


static ngx_int_t
ngx_http_gw_publish_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_publish_main_conf_t  *pmcf;

    ngx_http_gw_publish_failing = 0;

    pmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_publish_module);
    if (pmcf == NULL || pmcf->topics.nelts == 0) {
        return NGX_OK;
    }

    return ngx_http_gw_publish_checks_start(cycle, pmcf);
}


static void
ngx_http_gw_publish_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_publish_checks_stop();
}
