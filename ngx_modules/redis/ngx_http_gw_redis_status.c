
/*
 * Copyright (C) Tollgate
 *
 * The operator's view of the Redis client, per worker.
 *
 * gw_redis_status is a content handler printing this worker's state as
 * JSON from counters alone: it never calls Redis, so it answers at once
 * whatever state Redis is in.
 *
 * gw_redis_check is an access-phase gate that does call Redis: PING, or
 * a tiny script by EVALSHA (EVAL on NOSCRIPT), through the shared,
 * pipelined command connection.  The request goes on when Redis answered
 * within gw_redis_timeout, and gets 503 (down) or 504 (no answer in time)
 * as problem+json otherwise.  It is a readiness probe
 * ("location = /readyz { gw_redis_check; gw_redis_status; }") and the
 * simplest user of the request API, the pattern every feature follows:
 * send, return NGX_AGAIN, record the outcome in the handler, answer from
 * the record when the phases run again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_redis_int.h"


#define NGX_HTTP_GW_REDIS_CHECK_SENT  1
#define NGX_HTTP_GW_REDIS_CHECK_DONE  2


typedef struct {
    ngx_uint_t                   state;
    ngx_http_gw_redis_status_e   status;
    ngx_uint_t                   pong;      /* the reply was +PONG */
} ngx_http_gw_redis_check_ctx_t;


static u_char *ngx_http_gw_redis_conn_json(u_char *p,
    ngx_http_gw_redis_conn_t *rc);
static ngx_int_t ngx_http_gw_redis_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_redis_check_handler(ngx_http_request_t *r);
static void ngx_http_gw_redis_check_done(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_int_t ngx_http_gw_redis_check_deny(ngx_http_request_t *r,
    ngx_http_gw_redis_status_e status);


static ngx_http_gw_redis_script_t  ngx_http_gw_redis_check_script = {
    ngx_string("return redis.status_reply('PONG')"), { 0 }
};

static const char  *ngx_http_gw_redis_states[] = {
    "idle", "connecting", "up", "backoff"
};


char *
ngx_http_gw_redis_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_gw_redis_status_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_gw_redis_status_handler;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_redis_module);
    rmcf->status = 1;

    return NGX_CONF_OK;
}


/* gw_redis_check [ping | script]; */

char *
ngx_http_gw_redis_check(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_redis_loc_conf_t *rlcf = conf;

    ngx_str_t                      *value;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    if (rlcf->check != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    rlcf->check = NGX_HTTP_GW_REDIS_CHECK_PING;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "script") == 0) {
            rlcf->check = NGX_HTTP_GW_REDIS_CHECK_SCRIPT;

        } else if (ngx_strcmp(value[1].data, "off") == 0) {
            rlcf->check = NGX_HTTP_GW_REDIS_CHECK_OFF;
            return NGX_CONF_OK;

        } else if (ngx_strcmp(value[1].data, "ping") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\", use ping, script "
                               "or off", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_redis_module);
    rmcf->check = 1;

    return NGX_CONF_OK;
}


/* postconfiguration, when gw_redis_check is used somewhere */

ngx_int_t
ngx_http_gw_redis_check_init(ngx_conf_t *cf,
    ngx_http_gw_redis_main_conf_t *rmcf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (ngx_http_gw_redis_script_init(cf, &ngx_http_gw_redis_check_script)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "gw_redis_check: cannot hash its script");
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_redis_check_handler;

    return NGX_OK;
}


/*
 * {"worker":PID,"address":"...","connected":BOOL,"state":"up",
 *  "pending":N,"commands":N,"timeouts":N,"failed":N,"reconnects":N,
 *  "errors":N,"subscriber":null|{"connected":BOOL,"state":"...",
 *  "channels":N,"messages":N,"reconnects":N}}
 */

static ngx_int_t
ngx_http_gw_redis_status_handler(ngx_http_request_t *r)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_http_gw_redis_worker_t     *w;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    w = &ngx_http_gw_redis_worker;
    rmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_redis_module);

    /* the fixed text and twelve numbers take less than 512 bytes */
    len = 512 + rmcf->address.len
          + ngx_escape_json(NULL, rmcf->address.data, rmcf->address.len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"worker\":%P,\"address\":\"", ngx_pid);
    b->last = (u_char *) ngx_escape_json(b->last, rmcf->address.data,
                                         rmcf->address.len);
    b->last = ngx_cpymem(b->last, "\",", 2);

    b->last = ngx_http_gw_redis_conn_json(b->last, &w->commands);

    b->last = ngx_sprintf(b->last,
                          ",\"pending\":%ui,\"commands\":%ui,"
                          "\"timeouts\":%ui,\"failed\":%ui,"
                          "\"reconnects\":%ui,\"errors\":%ui,"
                          "\"subscriber\":",
                          w->pending, w->sent, w->timeouts, w->failed,
                          w->commands.reconnects, w->incidents);

    if (w->nchannels == 0) {
        b->last = ngx_cpymem(b->last, "null}\n", 6);

    } else {
        *b->last++ = '{';
        b->last = ngx_http_gw_redis_conn_json(b->last, &w->subscriber);
        b->last = ngx_sprintf(b->last,
                              ",\"channels\":%ui,\"messages\":%ui,"
                              "\"reconnects\":%ui}}\n",
                              w->nchannels, w->subscriber.messages,
                              w->subscriber.reconnects);
    }

    return ngx_http_gw_send_buf(r, NGX_HTTP_OK, "application/json", b);
}


void
ngx_http_gw_redis_stats(ngx_http_gw_redis_stats_t *st)
{
    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    st->connected = w->commands.healthy;
    st->in_flight = w->pending;
    st->commands = w->sent;
    st->timeouts = w->timeouts;
    st->failed = w->failed;
    st->reconnects = w->commands.reconnects;
    st->outages = w->incidents;
}


static u_char *
ngx_http_gw_redis_conn_json(u_char *p, ngx_http_gw_redis_conn_t *rc)
{
    const char  *state;

    state = ngx_http_gw_redis_states[rc->state];

    if (rc->state == NGX_HTTP_GW_REDIS_UP && !rc->healthy) {
        state = "connecting";
    }

    return ngx_sprintf(p, "\"connected\":%s,\"state\":\"%s\"",
                       rc->healthy ? "true" : "false", state);
}


static ngx_int_t
ngx_http_gw_redis_check_handler(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_gw_redis_loc_conf_t   *rlcf;
    ngx_http_gw_redis_check_ctx_t  *ctx;

    static const char   *ping[] = { "PING" };
    static const size_t  ping_len[] = { sizeof("PING") - 1 };

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_redis_module);

    if (rlcf->check == NGX_HTTP_GW_REDIS_CHECK_OFF) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_redis_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_redis_check_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_gw_redis_module);

        if (rlcf->check == NGX_HTTP_GW_REDIS_CHECK_PING) {
            rc = ngx_http_gw_redis_request(r, ngx_http_gw_redis_check_done,
                                           ctx, 1, ping, ping_len);

        } else {
            rc = ngx_http_gw_redis_request_script(r,
                                          &ngx_http_gw_redis_check_script,
                                          ngx_http_gw_redis_check_done, ctx,
                                          0, 0, NULL, NULL);
        }

        if (rc == NGX_AGAIN) {
            ctx->state = NGX_HTTP_GW_REDIS_CHECK_SENT;
            return NGX_AGAIN;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_gw_redis_check_deny(r, NGX_HTTP_GW_REDIS_DOWN);
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->state == NGX_HTTP_GW_REDIS_CHECK_SENT) {
        /* still waiting: the phases ran for another reason */
        return NGX_AGAIN;
    }

    if (ctx->status == NGX_HTTP_GW_REDIS_OK && ctx->pong) {
        return NGX_DECLINED;
    }

    return ngx_http_gw_redis_check_deny(r, ctx->status);
}


static void
ngx_http_gw_redis_check_done(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_redis_check_ctx_t *ctx = data;

    ngx_str_t  err;
    u_char     buf[NGX_HTTP_GW_LOG_SIZE];

    ctx->state = NGX_HTTP_GW_REDIS_CHECK_DONE;
    ctx->status = status;

    if (reply == NULL) {
        return;
    }

    ctx->pong = reply->type == REDIS_REPLY_STATUS
                && reply->len == sizeof("PONG") - 1
                && ngx_strncmp(reply->str, "PONG", 4) == 0;

    if (!ctx->pong) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_redis_check: unexpected reply: %V",
                      ngx_http_gw_log_escape(&err, buf, (u_char *) reply->str,
                                             reply->len));
    }
}


static ngx_int_t
ngx_http_gw_redis_check_deny(ngx_http_request_t *r,
    ngx_http_gw_redis_status_e status)
{
    ngx_http_gw_problem_t  problem;

    ngx_str_null(&problem.extra);

    if (status == NGX_HTTP_GW_REDIS_TIMEOUT) {
        problem.status = NGX_HTTP_GATEWAY_TIME_OUT;
        problem.type = "urn:tollgate:problem:redis-timeout";
        problem.title = "Redis did not answer in time";
        ngx_str_set(&problem.detail, "no answer within gw_redis_timeout");

    } else {
        problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
        problem.type = "urn:tollgate:problem:redis-unavailable";
        problem.title = "Redis is unavailable";

        if (status == NGX_HTTP_GW_REDIS_DOWN) {
            ngx_str_set(&problem.detail, "not connected to Redis");

        } else {
            ngx_str_set(&problem.detail, "unexpected reply from Redis");
        }
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_redis_check: %V", &problem.detail);

    return ngx_http_gw_send_problem(r, &problem);
}
