
/*
 * Copyright (C) Tollgate
 *
 * The first answer to a request that took an Idempotency-Key: captured
 * here and stored in its Redis record (docs/idempotency.md).
 *
 * This module is registered after every other Tollgate module, so its
 * header and body filters run first: they see the answer as the content
 * handler (proxy_pass, gw_publish, ...) produced it, before the request
 * id, rate limit headers or plugins change it; a replay goes through
 * those filters again, as any answer does.  What is kept: the status,
 * the Content-Type and every other header but the connection's own
 * (hop-by-hop, Content-Length, Date, Server) and Set-Cookie, and the
 * body as the client gets it, up to gw_idempotency_store_max bytes.
 *
 * The record is written when the body's last buffer passes, before it
 * reaches the client, by a command that outlives the request.  Answers
 * that ask the client to retry (408, 425, 429, 502, 503, 504: the nginx
 * errors of a failed upstream among them) give the key back at once, so
 * the retry runs again.  An answer larger than the cap, or spooled to a
 * file, is recorded as "unstored", with its status only.  An answer that
 * never completes (the client went away, the upstream broke off) stores
 * nothing: the pending marker expires after gw_idempotency_lock_ttl.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_idempotency.h"


typedef struct {
    ngx_uint_t                      release;
    u_char                          record[GW_IDEM_RECORD_KEY_LEN];
} ngx_http_gw_idem_job_t;


static ngx_int_t ngx_http_gw_idem_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_idem_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_gw_idem_headers(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx);
static ngx_uint_t ngx_http_gw_idem_kept(ngx_table_elt_t *h);
static void ngx_http_gw_idem_append(ngx_http_request_t *r,
    ngx_http_gw_idem_ctx_t *ctx, u_char *data, size_t size);
static void ngx_http_gw_idem_stored(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static ngx_int_t ngx_http_gw_idem_filter_postconf(ngx_conf_t *cf);


static ngx_http_output_header_filter_pt  ngx_http_gw_idem_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_gw_idem_next_body_filter;


/* headers an answer keeps for itself, never stored */
static ngx_str_t  ngx_http_gw_idem_dropped[] = {
    ngx_string("Connection"),
    ngx_string("Keep-Alive"),
    ngx_string("Transfer-Encoding"),
    ngx_string("TE"),
    ngx_string("Trailer"),
    ngx_string("Upgrade"),
    ngx_string("Proxy-Connection"),
    ngx_string("Proxy-Authenticate"),
    ngx_string("Content-Length"),
    ngx_string("Content-Type"),
    ngx_string("Date"),
    ngx_string("Server"),
    ngx_string("Set-Cookie"),
    ngx_string("Idempotent-Replayed"),
    ngx_null_string
};


static ngx_http_module_t  ngx_http_gw_idem_filter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_idem_filter_postconf,      /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gw_idempotency_filter_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_idem_filter_module_ctx,   /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gw_idem_header_filter(ngx_http_request_t *r)
{
    off_t                    clen;
    ngx_int_t                rc;
    ngx_uint_t               status;
    ngx_http_gw_idem_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_gw_idem_next_header_filter(r);
    }

    ctx = ngx_http_gw_idem_get_ctx(r);

    if (ctx == NULL || ctx->phase != NGX_HTTP_GW_IDEM_OWNER
        || ctx->capture || ctx->finished)
    {
        return ngx_http_gw_idem_next_header_filter(r);
    }

    status = r->headers_out.status;

    switch (status) {

    case NGX_HTTP_REQUEST_TIME_OUT:
    case 425:
    case NGX_HTTP_TOO_MANY_REQUESTS:
    case NGX_HTTP_BAD_GATEWAY:
    case NGX_HTTP_SERVICE_UNAVAILABLE:
    case NGX_HTTP_GATEWAY_TIME_OUT:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: answer %ui, key given back", status);
        ngx_http_gw_idem_finish(r, ctx, 1);
        return ngx_http_gw_idem_next_header_filter(r);

    default:
        break;
    }

    ctx->answer = status;
    ctx->capture = 1;

    if (ngx_http_gw_idem_headers(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    clen = r->headers_out.content_length_n;

    if (clen > (off_t) ctx->store_max) {
        ctx->unstorable = 1;

    } else {
        ctx->size = (clen >= 0) ? (size_t) clen
                                : ngx_min(ctx->store_max, 4096);

        if (ctx->size) {
            ctx->buf = ngx_pnalloc(r->pool, ctx->size);
            if (ctx->buf == NULL) {
                return NGX_ERROR;
            }
        }
    }

    rc = ngx_http_gw_idem_next_header_filter(r);

    if (r->header_only && !ctx->finished) {
        /* 204, 304: no body filter call will come */
        ngx_http_gw_idem_finish(r, ctx, 0);
    }

    return rc;
}


static ngx_int_t
ngx_http_gw_idem_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t               *b;
    ngx_uint_t               last;
    ngx_chain_t             *cl;
    ngx_http_gw_idem_ctx_t  *ctx;

    if (r != r->main) {
        return ngx_http_gw_idem_next_body_filter(r, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_idempotency_module);

    if (ctx == NULL || !ctx->capture || ctx->finished) {
        return ngx_http_gw_idem_next_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (b->last > b->pos) {
                ngx_http_gw_idem_append(r, ctx, b->pos, b->last - b->pos);
            }

        } else if (ngx_buf_size(b)) {
            /* a file buffer (a spooled upstream answer): not read back */
            ctx->unstorable = 1;
        }

        if (b->last_buf) {
            last = 1;
        }
    }

    if (last) {
        /* stored before the client has the answer, so its retry finds it */
        ngx_http_gw_idem_finish(r, ctx, 0);
    }

    return ngx_http_gw_idem_next_body_filter(r, in);
}


/*
 * The kept headers as one string, name NUL value NUL each (lib/idem),
 * Content-Type first (with nginx's charset, as the header filter writes
 * it), into ctx->answer_headers.
 */

static ngx_int_t
ngx_http_gw_idem_headers(ngx_http_request_t *r, ngx_http_gw_idem_ctx_t *ctx)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i, pass;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = 0;
    p = NULL;

    for (pass = 0; pass < 2; pass++) {

        if (pass == 1) {
            p = ngx_pnalloc(r->pool, len + 1);
            if (p == NULL) {
                return NGX_ERROR;
            }

            ctx->answer_headers.data = p;
        }

        if (r->headers_out.content_type.len) {
            if (pass == 0) {
                len += sizeof("Content-Type") + 1
                       + r->headers_out.content_type.len;

                if (r->headers_out.content_type_len
                    == r->headers_out.content_type.len
                    && r->headers_out.charset.len)
                {
                    len += sizeof("; charset=") - 1
                           + r->headers_out.charset.len;
                }

            } else {
                p = ngx_cpymem(p, "Content-Type", sizeof("Content-Type"));
                p = ngx_cpymem(p, r->headers_out.content_type.data,
                               r->headers_out.content_type.len);

                if (r->headers_out.content_type_len
                    == r->headers_out.content_type.len
                    && r->headers_out.charset.len)
                {
                    p = ngx_cpymem(p, "; charset=",
                                   sizeof("; charset=") - 1);
                    p = ngx_cpymem(p, r->headers_out.charset.data,
                                   r->headers_out.charset.len);
                }

                *p++ = '\0';
            }
        }

        part = &r->headers_out.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (!ngx_http_gw_idem_kept(&h[i])) {
                continue;
            }

            if (pass == 0) {
                len += h[i].key.len + h[i].value.len + 2;
                continue;
            }

            p = ngx_cpymem(p, h[i].key.data, h[i].key.len);
            *p++ = '\0';
            p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
            *p++ = '\0';
        }
    }

    ctx->answer_headers.len = p - ctx->answer_headers.data;

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gw_idem_kept(ngx_table_elt_t *h)
{
    ngx_str_t  *d;

    if (h->hash == 0 || h->key.len == 0
        || ngx_strlchr(h->key.data, h->key.data + h->key.len, '\0') != NULL
        || ngx_strlchr(h->value.data, h->value.data + h->value.len, '\0')
           != NULL)
    {
        return 0;
    }

    for (d = ngx_http_gw_idem_dropped; d->len; d++) {
        if (h->key.len == d->len
            && ngx_strncasecmp(h->key.data, d->data, d->len) == 0)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Appends to the copy of the answer, growing it (doubling, up to
 * store_max) for an answer without Content-Length; past store_max the
 * answer is unstorable and the copy stops.
 */

static void
ngx_http_gw_idem_append(ngx_http_request_t *r, ngx_http_gw_idem_ctx_t *ctx,
    u_char *data, size_t size)
{
    u_char  *p;
    size_t   need;

    if (ctx->unstorable) {
        return;
    }

    if (size > ctx->store_max - ctx->len) {
        ctx->unstorable = 1;
        return;
    }

    need = ctx->len + size;

    if (need > ctx->size) {
        ctx->size = ngx_max(need, ngx_min(2 * ctx->size, ctx->store_max));

        p = ngx_pnalloc(r->pool, ctx->size);
        if (p == NULL) {
            ctx->unstorable = 1;
            return;
        }

        if (ctx->len) {
            ngx_memcpy(p, ctx->buf, ctx->len);
        }

        ctx->buf = p;
    }

    ngx_memcpy(ctx->buf + ctx->len, data, size);
    ctx->len += size;
}


void
ngx_http_gw_idem_finish(ngx_http_request_t *r, ngx_http_gw_idem_ctx_t *ctx,
    ngx_uint_t release)
{
    u_char                        *st, *ttl;
    ngx_int_t                      rc;
    ngx_http_gw_idem_job_t        *job;
    ngx_http_gw_idem_main_conf_t  *mcf;
    const char                    *argv[8];
    size_t                         argvlen[8];

    ctx->finished = 1;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_gw_idempotency_module);

    st = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN);
    if (st == NULL) {
        return;
    }

    ttl = st + NGX_INT_T_LEN;

    job = ngx_alloc(sizeof(ngx_http_gw_idem_job_t), r->connection->log);
    if (job == NULL) {
        return;
    }

    job->release = release;
    ngx_memcpy(job->record, ctx->record, GW_IDEM_RECORD_KEY_LEN);

    argv[0] = (const char *) ctx->record;
    argvlen[0] = GW_IDEM_RECORD_KEY_LEN;
    argv[1] = (const char *) ctx->owner;
    argvlen[1] = sizeof(ctx->owner);

    if (release) {
        rc = ngx_http_gw_redis_command_script(&mcf->release,
                                              ngx_http_gw_idem_stored, job,
                                              1, 2, argv, argvlen);
        goto sent;
    }

    if (ctx->unstorable) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_idempotency: answer larger than "
                      "gw_idempotency_store_max, only its status is kept");

        ctx->answer_headers.len = 0;
        ctx->len = 0;
    }

    /* hiredis copies the arguments: empty ones need only a valid pointer */

    argv[2] = (const char *) ctx->fp;
    argvlen[2] = sizeof(ctx->fp);
    argv[3] = ctx->unstorable ? "unstored" : "done";
    argvlen[3] = ngx_strlen(argv[3]);
    argv[4] = (const char *) st;
    argvlen[4] = ngx_http_gw_write_uint(st, ctx->answer) - st;
    argv[5] = ctx->answer_headers.len
              ? (const char *) ctx->answer_headers.data : "";
    argvlen[5] = ctx->answer_headers.len;
    argv[6] = ctx->len ? (const char *) ctx->buf : "";
    argvlen[6] = ctx->len;
    argv[7] = (const char *) ttl;
    argvlen[7] = ngx_http_gw_write_uint(ttl, ctx->ttl) - ttl;

    rc = ngx_http_gw_redis_command_script(&mcf->store,
                                          ngx_http_gw_idem_stored, job,
                                          1, 8, argv, argvlen);

sent:

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_idempotency: Redis unavailable, the answer for "
                      "%*s is not %s; the key stays locked until its lock "
                      "expires", (size_t) GW_IDEM_RECORD_KEY_LEN,
                      ctx->record, release ? "given back" : "stored");
        ngx_free(job);
    }
}


/* the store or release script's outcome, for no request */

static void
ngx_http_gw_idem_stored(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_idem_job_t *job = data;

    if (status != NGX_HTTP_GW_REDIS_OK || reply->type != REDIS_REPLY_INTEGER) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "gw_idempotency: Redis %s, the answer for %*s is not "
                      "%s; the key stays locked until its lock expires",
                      status == NGX_HTTP_GW_REDIS_OK ? "failed"
                      : (status == NGX_HTTP_GW_REDIS_TIMEOUT ? "timed out"
                         : "unavailable"),
                      (size_t) GW_IDEM_RECORD_KEY_LEN, job->record,
                      job->release ? "given back" : "stored");

    } else if (reply->integer == 0 && !job->release) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "gw_idempotency: the lock of %*s expired and another "
                      "request holds it: this answer is not stored",
                      (size_t) GW_IDEM_RECORD_KEY_LEN, job->record);
    }

    ngx_free(job);
}


static ngx_int_t
ngx_http_gw_idem_filter_postconf(ngx_conf_t *cf)
{
    ngx_http_gw_idem_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_gw_idempotency_module);

    if (!mcf->used) {
        return NGX_OK;
    }

    ngx_http_gw_idem_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gw_idem_header_filter;

    ngx_http_gw_idem_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_gw_idem_body_filter;

    return NGX_OK;
}
