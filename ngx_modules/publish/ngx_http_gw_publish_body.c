
/*
 * Copyright (C) Tollgate
 *
 * The request side of gw_publish: what is refused before Redis is asked,
 * and the body's bytes, read without blocking the worker.
 *
 * The body is read with ngx_http_read_client_request_body(), as
 * proxy_pass reads it, whether this module or an earlier phase
 * (gw_validate_body, a body = true plugin) starts the read, and what is
 * published is what proxy_pass would send: r->request_body's buffers
 * when they are all in memory (a plugin's gw.req.set_body() included).
 * For a body nginx may spool to its temporary file, a request body
 * filter copies the bytes into a buffer of the request's pool as they
 * pass, so the file is never read back.  Only when such a body was read
 * before the location was known (an internal redirect after the read)
 * is the spooled part read from the local temporary file nginx just
 * wrote.
 *
 * Refused here, each with a problem+json answer and never published: a
 * method other than POST (405), two Content-Type or Content-Encoding
 * headers (400: which one did the client mean?), a Content-Encoding
 * other than identity (415: the stream keeps bytes and their type, not
 * an encoding), a Content-Type or key with control bytes or longer than
 * its cap (400), and an empty body (400).
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_publish.h"


#define NGX_HTTP_GW_PUBLISH_CHUNK  4096     /* first buffer of a chunked
                                               body, bytes */


static ngx_int_t ngx_http_gw_publish_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_gw_publish_append(ngx_http_request_t *r,
    ngx_http_gw_publish_ctx_t *ctx, u_char *data, size_t size);
static ngx_uint_t ngx_http_gw_publish_ctl(u_char *p, size_t len);


static ngx_http_request_body_filter_pt  ngx_http_gw_publish_next_filter;

static ngx_str_t  ngx_http_gw_publish_ctype = ngx_string("Content-Type");
static ngx_str_t  ngx_http_gw_publish_cenc = ngx_string("Content-Encoding");


ngx_int_t
ngx_http_gw_publish_body_init(ngx_conf_t *cf)
{
    ngx_http_gw_publish_next_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_gw_publish_body_filter;

    return NGX_OK;
}


/*
 * Sends a problem as r's answer, counted as refused for the location's
 * topic.  The caller holds a reference to r (the body's post handler
 * does; a content handler takes one first); the answer drops it.
 * Returns NGX_DONE.
 */

ngx_int_t
ngx_http_gw_publish_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail)
{
    ngx_http_gw_problem_t            problem;
    ngx_http_gw_publish_loc_conf_t  *plcf;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_publish_module);

    if (plcf->topic != NULL && status < NGX_HTTP_INTERNAL_SERVER_ERROR) {
        ngx_http_gw_publish_count(plcf->topic, NGX_HTTP_GW_PUBLISH_REFUSED);
    }

    ngx_memzero(&problem, sizeof(ngx_http_gw_problem_t));

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);

    if (ngx_http_gw_send_problem(r, &problem) != NGX_DONE) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }

    return NGX_DONE;
}


/* 1 when a byte is a control byte (tab included) */
static ngx_uint_t
ngx_http_gw_publish_ctl(u_char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 1;
        }
    }

    return 0;
}


/*
 * The checks made before the body is read: the method, the headers that
 * say what the body is, and the partition key (evaluated into ctx).
 * Returns NGX_OK, or NGX_DONE after answering (the caller holds its
 * reference to r), or NGX_ERROR.
 */

ngx_int_t
ngx_http_gw_publish_check(ngx_http_request_t *r,
    ngx_http_gw_publish_loc_conf_t *plcf, ngx_http_gw_publish_ctx_t *ctx)
{
    ngx_str_t         esc;
    ngx_uint_t        i, ntype, nenc;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *enc;
    u_char            buf[NGX_HTTP_GW_LOG_SIZE];

    if (r->method != NGX_HTTP_POST) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: method %V refused",
                      ngx_http_gw_log_escape(&esc, buf, r->method_name.data,
                                             r->method_name.len));

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");

        return ngx_http_gw_publish_refuse(r, NGX_HTTP_NOT_ALLOWED,
                   "urn:tollgate:problem:method-not-allowed",
                   "Method not allowed", "a topic takes POST only");
    }

    ntype = 0;
    nenc = 0;
    enc = NULL;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == ngx_http_gw_publish_ctype.len
            && ngx_strncasecmp(h[i].key.data, ngx_http_gw_publish_ctype.data,
                               h[i].key.len) == 0)
        {
            ntype++;

        } else if (h[i].key.len == ngx_http_gw_publish_cenc.len
                   && ngx_strncasecmp(h[i].key.data,
                                      ngx_http_gw_publish_cenc.data,
                                      h[i].key.len) == 0)
        {
            nenc++;
            enc = &h[i];
        }
    }

    if (ntype > 1 || nenc > 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: more than one %s header",
                      ntype > 1 ? "Content-Type" : "Content-Encoding");

        return ngx_http_gw_publish_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:ambiguous-body",
                   "Ambiguous request body",
                   ntype > 1 ? "more than one Content-Type header"
                             : "more than one Content-Encoding header");
    }

    if (enc != NULL
        && !(enc->value.len == sizeof("identity") - 1
             && ngx_strncasecmp(enc->value.data, (u_char *) "identity",
                                enc->value.len) == 0))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: Content-Encoding %V refused",
                      ngx_http_gw_log_escape(&esc, buf, enc->value.data,
                                             enc->value.len));

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Accept-Encoding");
        ngx_str_set(&h->value, "identity");

        return ngx_http_gw_publish_refuse(r,
                   NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                   "urn:tollgate:problem:unsupported-content-encoding",
                   "Unsupported content encoding",
                   "events are stored as sent: only the identity "
                   "encoding is accepted");
    }

    h = r->headers_in.content_type;

    if (h != NULL
        && (h->value.len > NGX_HTTP_GW_PUBLISH_CTYPE_MAX
            || ngx_http_gw_publish_ctl(h->value.data, h->value.len)))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: Content-Type refused: %V",
                      ngx_http_gw_log_escape(&esc, buf, h->value.data,
                                             h->value.len));

        return ngx_http_gw_publish_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:invalid-content-type",
                   "Invalid Content-Type",
                   "the Content-Type holds control bytes or is longer "
                   "than 256 bytes");
    }

    ngx_str_null(&ctx->key);

    if (plcf->key != NULL
        && ngx_http_complex_value(r, plcf->key, &ctx->key) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->key.len > NGX_HTTP_GW_PUBLISH_KEY_MAX
        || ngx_http_gw_publish_ctl(ctx->key.data, ctx->key.len))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: partition key of %uz bytes refused: %V",
                      ctx->key.len,
                      ngx_http_gw_log_escape(&esc, buf, ctx->key.data,
                                             ctx->key.len));

        return ngx_http_gw_publish_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:invalid-partition-key",
                   "Invalid partition key",
                   "the partition key holds control bytes or is longer "
                   "than 1024 bytes");
    }

    ctx->partition = ngx_crc32_long(ctx->key.data, ctx->key.len)
                     % plcf->topic->partitions;

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_publish: empty body");

        return ngx_http_gw_publish_refuse(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:empty-body", "Empty body",
                   "an event needs a body");
    }

    return NGX_OK;
}


/*
 * r's context, made once: with collect, the body filter copies the bytes
 * it sees from now on (into a buffer sized by Content-Length), unless
 * the body will stay in memory (its length fits client_body_buffer_size,
 * and no client_body_in_file_only).  NULL on no memory.
 */

ngx_http_gw_publish_ctx_t *
ngx_http_gw_publish_ctx(ngx_http_request_t *r, ngx_uint_t collect)
{
    off_t                       clen;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_gw_publish_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_publish_module);

    if (ctx != NULL) {
        return ctx;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    clen = r->headers_in.content_length_n;

    if (clen >= 0 && !r->headers_in.chunked
        && clen <= (off_t) clcf->client_body_buffer_size
        && !clcf->client_body_in_file_only && !r->request_body_in_file_only)
    {
        collect = 0;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_publish_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->max = NGX_HTTP_GW_PUBLISH_BODY_MAX;

    if (collect) {
        ctx->size = (clen > 0) ? (size_t) ngx_min(clen, (off_t) ctx->max)
                               : NGX_HTTP_GW_PUBLISH_CHUNK;

        ctx->buf = ngx_pnalloc(r->pool, ctx->size);
        if (ctx->buf == NULL) {
            return NULL;
        }

        ctx->collect = 1;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gw_publish_module);

    return ctx;
}


static ngx_int_t
ngx_http_gw_publish_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                       *b;
    ngx_chain_t                     *cl;
    ngx_http_gw_publish_ctx_t       *ctx;
    ngx_http_gw_publish_loc_conf_t  *plcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_publish_module);

    if (ctx == NULL) {
        /* an earlier phase (gw_validate_body) reads a body we publish */

        plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_publish_module);

        if (plcf->topic == NULL || r != r->main) {
            return ngx_http_gw_publish_next_filter(r, in);
        }

        ctx = ngx_http_gw_publish_ctx(r, 1);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (!ctx->collect) {
        return ngx_http_gw_publish_next_filter(r, in);
    }

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (!ngx_buf_in_memory(b)) {
            if (ngx_buf_size(b)) {
                ctx->lost = 1;
            }

            continue;
        }

        if (b->last > b->pos
            && ngx_http_gw_publish_append(r, ctx, b->pos, b->last - b->pos)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_gw_publish_next_filter(r, in);
}


/* appends to the copy, doubling it for a chunked body, up to ctx->max */

static ngx_int_t
ngx_http_gw_publish_append(ngx_http_request_t *r,
    ngx_http_gw_publish_ctx_t *ctx, u_char *data, size_t size)
{
    u_char  *p;
    size_t   need;

    if (ctx->too_large) {
        return NGX_OK;
    }

    if (size > ctx->max - ctx->len) {
        ctx->too_large = 1;
        return NGX_OK;
    }

    need = ctx->len + size;

    if (need > ctx->size) {
        ctx->size = ngx_max(need, ngx_min(2 * ctx->size, ctx->max));

        p = ngx_pnalloc(r->pool, ctx->size);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, ctx->buf, ctx->len);
        ctx->buf = p;
    }

    ngx_memcpy(ctx->buf + ctx->len, data, size);
    ctx->len += size;

    return NGX_OK;
}


/*
 * Once the body is read: the bytes the upstream would get.  When
 * r->request_body is all in memory, they are its buffers (a plugin's
 * gw.req.set_body() included), taken as they are when there is one;
 * when nginx spooled a part to its temporary file, the filter's copy;
 * only when the filter did not see the whole body, the spooled part read
 * back from nginx's local temporary file (at most
 * NGX_HTTP_GW_PUBLISH_BODY_MAX bytes).
 */

ngx_int_t
ngx_http_gw_publish_body_collect(ngx_http_request_t *r,
    ngx_http_gw_publish_ctx_t *ctx)
{
    off_t         total;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_uint_t    spooled, nbufs;
    ngx_chain_t  *cl;

    total = 0;
    spooled = 0;
    nbufs = 0;

    if (r->request_body != NULL) {
        for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
            if (ngx_buf_size(cl->buf) == 0) {
                continue;
            }

            if (!ngx_buf_in_memory(cl->buf)) {
                spooled = 1;
            }

            total += ngx_buf_size(cl->buf);
            nbufs++;
        }
    }

    if (spooled && ctx->collect && !ctx->lost) {
        ctx->collect = 0;
        return NGX_OK;
    }

    ctx->collect = 0;
    ctx->len = 0;
    ctx->too_large = 0;

    if (total > (off_t) ctx->max) {
        ctx->too_large = 1;
        return NGX_OK;
    }

    if (nbufs == 0) {
        return NGX_OK;
    }

    if (nbufs == 1 && !spooled) {
        for (cl = r->request_body->bufs; ngx_buf_size(cl->buf) == 0;
             cl = cl->next)
        {
            /* void */
        }

        ctx->buf = cl->buf->pos;
        ctx->len = (size_t) total;
        ctx->size = ctx->len;

        return NGX_OK;
    }

    ctx->buf = ngx_pnalloc(r->pool, (size_t) total);
    if (ctx->buf == NULL) {
        return NGX_ERROR;
    }

    ctx->size = (size_t) total;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            ctx->len = ngx_cpymem(ctx->buf + ctx->len, b->pos,
                                  b->last - b->pos) - ctx->buf;
            continue;
        }

        if (b->in_file && b->file_last > b->file_pos) {
            n = ngx_read_file(b->file, ctx->buf + ctx->len,
                              (size_t) (b->file_last - b->file_pos),
                              b->file_pos);

            if (n != (ssize_t) (b->file_last - b->file_pos)) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "gw_publish: cannot read the body back "
                              "from \"%V\"", &b->file->name);
                return NGX_ERROR;
            }

            ctx->len += n;
        }
    }

    return NGX_OK;
}
