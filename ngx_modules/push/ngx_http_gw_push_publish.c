
/*
 * Copyright (C) Tollgate
 *
 * The push publisher (gw_push_publish, docs/push.md): POST /<channel>
 * with the message's data as the body and its event type in
 * X-EventSource-Event (as the notification service sends it).  One Lua
 * script adds the message to the channel's history, the capped stream
 * gw:push:h:<channel>, and announces it on the pub/sub channel gw:push
 * as "<channel>\n<id>\n<type>\n<data>", which every worker of every
 * gateway receives (ngx_http_gw_push_fanout.c).  Answers 201 {"id"} once
 * Redis has it, 503 when it cannot.
 *
 * An event stream's data line cannot hold CR or LF: a body with them is
 * re-serialized compact when it is JSON (jansson escapes them inside
 * strings), else refused, as is any other control byte but TAB, and
 * a body that is not UTF-8.
 */


#include "ngx_http_gw_push_stream.h"
#include "ngx_http_gw_body.h"

#include <jansson.h>


typedef struct {
    ngx_str_t                   channel;
    ngx_str_t                   type;
} ngx_http_gw_push_pub_ctx_t;


static void ngx_http_gw_push_publish_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_push_publish_data(ngx_http_request_t *r,
    ngx_str_t *data);
static void ngx_http_gw_push_published(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_uint_t ngx_http_gw_push_type_valid(ngx_str_t *type);


static ngx_uint_t  ngx_http_gw_push_publish_failing;

static ngx_str_t  ngx_http_gw_push_event_header =
    ngx_string("X-EventSource-Event");

static const char  ngx_http_gw_push_script[] =
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',"
    " 'type', ARGV[2], 'data', ARGV[3]) "
    "if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4])"
    " end "
    "redis.call('PUBLISH', ARGV[5], ARGV[6] .. '\\n' .. id .. '\\n' .."
    " ARGV[2] .. '\\n' .. ARGV[3]) "
    "return id";


ngx_int_t
ngx_http_gw_push_publish_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_table_elt_t                     *h;
    ngx_http_gw_push_pub_ctx_t          *ctx;
    ngx_http_gw_push_stream_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_push_stream_module);

    if (r != r->main) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_POST) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");

        return ngx_http_gw_push_refuse(r, "gw_push_publish",
                   NGX_HTTP_NOT_ALLOWED,
                   "urn:tollgate:problem:method-not-allowed",
                   "Method not allowed", "publish with POST");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_push_pub_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_complex_value(r, plcf->publish, &ctx->channel) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_gw_push_channel_valid(&ctx->channel)) {
        return ngx_http_gw_push_refuse(r, "gw_push_publish",
                   NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:push-channel-invalid",
                   "Invalid push channel",
                   "a channel is 1 to 128 of A-Z a-z 0-9 _ . : -");
    }

    h = ngx_http_gw_header_in(r, &ngx_http_gw_push_event_header);

    if (h == NULL) {
        ngx_str_set(&ctx->type, "message");

    } else {
        ctx->type = h->value;

        if (!ngx_http_gw_push_type_valid(&ctx->type)) {
            return ngx_http_gw_push_refuse(r, "gw_push_publish",
                       NGX_HTTP_BAD_REQUEST,
                       "urn:tollgate:problem:push-type-invalid",
                       "Invalid event type",
                       "X-EventSource-Event is 1 to 128 of a-z 0-9 . _ -");
        }
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gw_push_stream_module);

    rc = ngx_http_read_client_request_body(r, ngx_http_gw_push_publish_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* the body's post handler: the reference the read took stays until the
 * answer, which drops it */

static void
ngx_http_gw_push_publish_body(ngx_http_request_t *r)
{
    u_char                              *p;
    ngx_int_t                            rc;
    ngx_str_t                            data;
    const char                          *argv[10];
    size_t                               argvlen[10];
    ngx_http_gw_push_pub_ctx_t          *ctx;
    ngx_http_gw_push_stream_loc_conf_t  *plcf;
    u_char                               key[sizeof("gw:push:h:") - 1
                                             + NGX_HTTP_GW_PUSH_NAME_MAX];
    u_char                               history[NGX_INT_T_LEN];
    u_char                               ttl[NGX_TIME_T_LEN];

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_push_stream_module);
    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_push_stream_module);

    rc = ngx_http_gw_push_publish_data(r, &data);

    if (rc != NGX_OK) {
        if (rc == NGX_ERROR) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    p = ngx_cpymem(key, "gw:push:h:", sizeof("gw:push:h:") - 1);
    p = ngx_cpymem(p, ctx->channel.data, ctx->channel.len);

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_gw_push_script;
    argvlen[1] = sizeof(ngx_http_gw_push_script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (const char *) key;
    argvlen[3] = p - key;

    p = ngx_sprintf(history, "%ui", plcf->history);
    argv[4] = (const char *) history;
    argvlen[4] = p - history;

    argv[5] = (const char *) ctx->type.data;
    argvlen[5] = ctx->type.len;
    argv[6] = (const char *) data.data;
    argvlen[6] = data.len;

    p = ngx_sprintf(ttl, "%T", plcf->ttl);
    argv[7] = (const char *) ttl;
    argvlen[7] = p - ttl;

    argv[8] = (const char *) ngx_http_gw_push_redis_channel.data;
    argvlen[8] = ngx_http_gw_push_redis_channel.len;
    argv[9] = (const char *) ctx->channel.data;
    argvlen[9] = ctx->channel.len;

    rc = ngx_http_gw_redis_content_request(r, ngx_http_gw_push_published,
                                           ctx, 10, argv, argvlen);

    if (rc == NGX_AGAIN) {
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_gw_push_published(r, ctx, NGX_HTTP_GW_REDIS_DOWN, NULL);
}


/*
 * The body as one data line in *data: NGX_OK; NGX_DONE when refused
 * (answered); NGX_ERROR.
 */

static ngx_int_t
ngx_http_gw_push_publish_data(ngx_http_request_t *r, ngx_str_t *data)
{
    char                      *s;
    u_char                    *p, *last;
    json_t                    *json;
    ngx_uint_t                 lines;
    json_error_t               err;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_gw_body_copy_t    copy;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&copy, sizeof(ngx_http_gw_body_copy_t));
    copy.max = clcf->client_max_body_size > 0
               ? (size_t) clcf->client_max_body_size : 1024 * 1024;

    if (ngx_http_gw_body_copy_read(r, &copy, "gw_push_publish") != NGX_OK) {
        return NGX_ERROR;
    }

    if (copy.too_large) {
        (void) ngx_http_gw_push_refuse(r, "gw_push_publish",
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "urn:tollgate:problem:body-too-large",
                   "Request body too large", "the message is too large");
        return NGX_DONE;
    }

    if (copy.len == 0) {
        (void) ngx_http_gw_push_refuse(r, "gw_push_publish",
                   NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:empty-body", "Empty body",
                   "a message needs data");
        return NGX_DONE;
    }

    lines = 0;
    p = copy.buf;
    last = copy.buf + copy.len;

    while (p < last) {
        if (*p >= 0x80) {
            if (ngx_utf8_decode(&p, last - p) > 0x10ffff) {
                goto invalid;
            }

            continue;
        }

        if (*p == CR || *p == LF) {
            lines = 1;

        } else if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            goto invalid;
        }

        p++;
    }

    data->data = copy.buf;
    data->len = copy.len;

    if (!lines) {
        return NGX_OK;
    }

    /* JSON over several lines: the same value, compact, on one */

    json = json_loadb((char *) copy.buf, copy.len,
                      JSON_DECODE_ANY|JSON_REJECT_DUPLICATES, &err);
    if (json == NULL) {
        goto invalid;
    }

    s = json_dumps(json, JSON_COMPACT|JSON_ENCODE_ANY|JSON_PRESERVE_ORDER);
    json_decref(json);

    if (s == NULL) {
        return NGX_ERROR;
    }

    data->len = ngx_strlen(s);
    data->data = ngx_pnalloc(r->pool, data->len);

    if (data->data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(data->data, s, data->len);
    free(s);

    return NGX_OK;

invalid:

    (void) ngx_http_gw_push_refuse(r, "gw_push_publish", NGX_HTTP_BAD_REQUEST,
               "urn:tollgate:problem:push-data-invalid",
               "Invalid message data",
               "a message is one line: JSON, or text without control bytes");
    return NGX_DONE;
}


/* the script's answer: 201 {"id": "<ms>-<seq>"}, or 503 */

static void
ngx_http_gw_push_published(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_uint_t              level;
    const char             *why;
    ngx_http_gw_push_id_t   id;
    ngx_http_gw_problem_t   problem;

    if (status == NGX_HTTP_GW_REDIS_OK
        && reply->type == REDIS_REPLY_STRING
        && ngx_http_gw_push_id_parse((u_char *) reply->str, reply->len, &id)
           == NGX_OK)
    {
        if (ngx_http_gw_push_publish_failing) {
            ngx_http_gw_push_publish_failing = 0;
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "gw_push_publish: publishing again");
        }

        b = ngx_create_temp_buf(r->pool, sizeof("{\"id\":\"\"}\n")
                                         + reply->len);
        if (b == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        b->last = ngx_sprintf(b->last, "{\"id\":\"%*s\"}\n",
                              (size_t) reply->len, reply->str);

        rc = ngx_http_gw_send_buf(r, NGX_HTTP_CREATED, "application/json", b);
        ngx_http_finalize_request(r, rc);
        return;
    }

    why = status == NGX_HTTP_GW_REDIS_TIMEOUT ? "did not answer in time"
          : status == NGX_HTTP_GW_REDIS_OK ? "refused the message" : "is down";

    level = ngx_http_gw_push_publish_failing ? NGX_LOG_INFO : NGX_LOG_ERR;

    ngx_log_error(level, r->connection->log, 0,
                  "gw_push_publish: cannot publish: Redis %s", why);

    ngx_http_gw_push_publish_failing = 1;

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:push-unavailable";
    problem.title = "Push unavailable";
    ngx_str_set(&problem.detail, "the message could not be stored; retry");
    ngx_str_null(&problem.extra);

    (void) ngx_http_gw_send_problem(r, &problem);
}


static ngx_uint_t
ngx_http_gw_push_type_valid(ngx_str_t *type)
{
    u_char      ch;
    ngx_uint_t  i;

    if (type->len == 0 || type->len > NGX_HTTP_GW_PUSH_TYPE_MAX) {
        return 0;
    }

    for (i = 0; i < type->len; i++) {
        ch = type->data[i];

        if ((ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '.'
            && ch != '_' && ch != '-')
        {
            return 0;
        }
    }

    return 1;
}
