
/*
 * Copyright (C) Tollgate
 *
 * gw_validate_body: reading a JSON request body, parsing it and checking
 * it against its schema, without ever changing what reaches the upstream.
 *
 * The body is read with ngx_http_read_client_request_body(), as proxy_pass
 * would read it, so it stays in r->request_body for the upstream, byte for
 * byte, chunked or not, in memory or spooled to a temporary file.  To
 * parse it without reading that file back, a request body filter copies
 * the bytes into a buffer of the request's pool as they pass, up to
 * gw_validate_body_max: a worker never blocks on a file.  Only when the
 * body was read before this module saw the request (another module read
 * it, or an internal redirect came here after it was read) are the bytes
 * taken from r->request_body, reading the part nginx spooled from its
 * local temporary file, as nginx itself does when it sends such a body
 * without sendfile.
 *
 * Parsing (ngx_http_gw_validate_json.c) caps nesting and refuses
 * duplicate keys; the body's problems are answered here.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_validate.h"


#define NGX_HTTP_GW_VALIDATE_CHUNK  4096    /* first buffer of a chunked
                                               body, bytes */


static ngx_int_t ngx_http_gw_validate_body_start(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf);
static ngx_int_t ngx_http_gw_validate_body_check(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf, ngx_http_gw_validate_ctx_t *ctx);
static void ngx_http_gw_validate_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_validate_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_gw_validate_ambiguous(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_validate_media_type(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf);
static ngx_uint_t ngx_http_gw_validate_match(u_char *pat, size_t plen,
    u_char *s, size_t len);
static ngx_int_t ngx_http_gw_validate_malformed(ngx_http_request_t *r,
    u_char *text, size_t len, size_t pos, const char *fmt, ...);
static ngx_int_t ngx_http_gw_validate_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title, ngx_str_t *detail,
    ngx_str_t *extra);


static ngx_http_request_body_filter_pt  ngx_http_gw_validate_next_filter;


/*
 * The body part of the handler: first call starts reading (NGX_DONE while
 * nginx reads), a later one validates what was read.  Returns
 * NGX_DECLINED to let the request go on, or what a phase handler returns
 * for an answer sent.
 */

ngx_int_t
ngx_http_gw_validate_body(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf)
{
    ngx_http_gw_validate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_validate_module);

    if (ctx == NULL) {
        return ngx_http_gw_validate_body_start(r, lcf);
    }

    if (ctx->done) {
        return NGX_DECLINED;
    }

    if (!ctx->read) {
        /* woken while nginx still reads the body */
        return NGX_DONE;
    }

    ctx->done = 1;

    return ngx_http_gw_validate_body_check(r, lcf, ctx);
}


static ngx_int_t
ngx_http_gw_validate_body_start(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf)
{
    off_t                        clen;
    ngx_int_t                    rc;
    ngx_str_t                    detail;
    ngx_http_gw_validate_ctx_t  *ctx;

    clen = r->headers_in.content_length_n;

    if (clen <= 0 && !r->headers_in.chunked) {
        /* no body: see ngx_http_gw_validate_body_check() */
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_validate_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_gw_validate_module);
        ctx->filtered = 1;
        ctx->read = 1;
        ctx->done = 1;

        return ngx_http_gw_validate_body_check(r, lcf, ctx);
    }

    rc = ngx_http_gw_validate_ambiguous(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_gw_validate_media_type(r, lcf);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (clen > (off_t) lcf->body_max) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: body of %O bytes, more than "
                      "gw_validate_body_max %uz", clen, lcf->body_max);

        detail.data = ngx_pnalloc(r->pool, 64 + NGX_SIZE_T_LEN);
        if (detail.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        detail.len = ngx_sprintf(detail.data, "the body is larger than "
                                 "%uz bytes", lcf->body_max) - detail.data;

        return ngx_http_gw_validate_problem(r,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "urn:tollgate:problem:body-too-large",
                   "Request body too large", &detail, NULL);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_validate_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gw_validate_module);

    ctx->body.max = lcf->body_max;

    if (r->request_body == NULL) {
        /* the body filter will see every byte */
        if (ngx_http_gw_body_copy_init(r->pool, &ctx->body,
                                       (clen > 0) ? (size_t) clen
                                                  : NGX_HTTP_GW_VALIDATE_CHUNK,
                                       lcf->body_max)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->collect = 1;
        ctx->filtered = 1;
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_gw_validate_body_read);

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    if (ctx->read) {
        /*
         * The whole body was there already and the post handler ran
         * inside the call: drop the reference the read took and go on.
         */
        r->main->count--;
        ctx->done = 1;

        return ngx_http_gw_validate_body_check(r, lcf, ctx);
    }

    /* as proxy_pass does: the reading holds the request, not this call */

    ctx->waiting = 1;
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/* the post handler of the body read: resumes the phases if they waited */

static void
ngx_http_gw_validate_body_read(ngx_http_request_t *r)
{
    ngx_http_gw_validate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_validate_module);

    r->write_event_handler = ngx_http_core_run_phases;

    if (ctx == NULL) {
        /* not ours any more (an internal redirect while reading) */
        ngx_http_core_run_phases(r);
        return;
    }

    ctx->read = 1;
    ctx->collect = 0;

    if (ctx->waiting) {
        ctx->waiting = 0;
        ngx_http_core_run_phases(r);
    }
}


static ngx_int_t
ngx_http_gw_validate_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_gw_validate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_validate_module);

    if (ctx == NULL || !ctx->collect) {
        return ngx_http_gw_validate_next_filter(r, in);
    }

    if (ngx_http_gw_body_copy_chain(r->pool, &ctx->body, in) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gw_validate_next_filter(r, in);
}


static ngx_int_t
ngx_http_gw_validate_body_check(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf, ngx_http_gw_validate_ctx_t *ctx)
{
    ngx_str_t                 detail;
    json_error_t              jerr;
    const gw_schema_value_t  *inst;

    if (!ctx->filtered || ctx->body.lost) {
        if (ngx_http_gw_body_copy_read(r, &ctx->body, "gw_validate")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ctx->body.too_large) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: body more than gw_validate_body_max "
                      "%uz", lcf->body_max);

        detail.data = ngx_pnalloc(r->pool, 64 + NGX_SIZE_T_LEN);
        if (detail.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        detail.len = ngx_sprintf(detail.data, "the body is larger than "
                                 "%uz bytes", lcf->body_max) - detail.data;

        return ngx_http_gw_validate_problem(r,
                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "urn:tollgate:problem:body-too-large",
                   "Request body too large", &detail, NULL);
    }

    if (ctx->body.len == 0) {
        /* an empty text is no JSON text; a GET without a body is fine */

        if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT|NGX_HTTP_PATCH))) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: empty body");

        ngx_str_set(&detail, "a JSON body is required");

        return ngx_http_gw_validate_problem(r, NGX_HTTP_BAD_REQUEST,
                   "urn:tollgate:problem:malformed-json",
                   "Malformed JSON", &detail, NULL);
    }

    /* the usual valid body in one pass; any other is looked at again */

    if (ngx_http_gw_validate_check(lcf->body->schema, ctx->body.buf,
                                   ctx->body.len, lcf->depth))
    {
        return NGX_DECLINED;
    }

    inst = ngx_http_gw_validate_parse(ctx->body.buf, ctx->body.len, lcf->depth,
                                      &jerr);

    if (inst == NULL) {
        return ngx_http_gw_validate_malformed(r, ctx->body.buf, ctx->body.len,
                                              (size_t) jerr.position,
                                              "%s", jerr.text);
    }

    return ngx_http_gw_validate_instance(r, lcf, lcf->body, inst,
                                         NGX_HTTP_GW_VALIDATE_BODY);
}


/*
 * 400 malformed-json, with the line and the column (in characters, from
 * 1) of byte pos of the text, in the detail and as members.
 */

static ngx_int_t
ngx_http_gw_validate_malformed(ngx_http_request_t *r, u_char *text,
    size_t len, size_t pos, const char *fmt, ...)
{
    u_char      *p, *last;
    size_t       i;
    va_list      args;
    ngx_str_t    detail, extra, esc;
    ngx_uint_t   line, column;
    u_char       msg[256];
    u_char       buf[NGX_HTTP_GW_LOG_SIZE];

    va_start(args, fmt);
    last = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    line = 1;
    column = 1;

    for (i = 0; i < pos && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            column = 1;

        } else if ((text[i] & 0xc0) != 0x80) {
            column++;
        }
    }

    p = ngx_pnalloc(r->pool, sizeof(msg) + 64 + 4 * NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    detail.data = p;
    p = ngx_sprintf(p, "line %ui, column %ui: %*s", line, column,
                    (size_t) (last - msg), msg);
    detail.len = p - detail.data;

    extra.data = p;
    p = ngx_sprintf(p, "\"line\":%ui,\"column\":%ui", line, column);
    extra.len = p - extra.data;

    /* jansson's text quotes the body near the error */

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_validate: malformed JSON body: %V",
                  ngx_http_gw_log_escape(&esc, buf, detail.data,
                                         detail.len));

    return ngx_http_gw_validate_problem(r, NGX_HTTP_BAD_REQUEST,
                                        "urn:tollgate:problem:malformed-json",
                                        "Malformed JSON", &detail, &extra);
}


/*
 * A body validated here must be the body the upstream reads.  nginx keeps
 * the first Content-Type in headers_in but forwards every copy, and an
 * upstream that reads the last one parses the same bytes as another
 * format; the gateway does not decode a Content-Encoding, so it would
 * have checked the encoded bytes, not what the upstream decodes.  So:
 * more than one Content-Type or Content-Encoding is a 400 ambiguous-body,
 * a Content-Encoding other than "identity" a 415 naming the one coding
 * accepted (RFC 9110, 15.5.16).  nginx itself already refuses a
 * Transfer-Encoding other than chunked, and one beside a Content-Length.
 * Returns NGX_DECLINED when the body has one reading.
 */

static ngx_int_t
ngx_http_gw_validate_ambiguous(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_str_t         detail, esc, *ce;
    ngx_uint_t        types, codings;
    ngx_table_elt_t  *h;
    u_char            buf[NGX_HTTP_GW_LOG_SIZE];

    ngx_http_gw_body_headers(r, &types, &codings, &h);
    ce = (h != NULL) ? &h->value : NULL;

    if (types > 1 || codings > 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: body refused: %ui Content-Type and "
                      "%ui Content-Encoding headers", types, codings);

        ngx_str_set(&detail, "the request has more than one Content-Type or "
                             "Content-Encoding header");

        return ngx_http_gw_validate_problem(r, NGX_HTTP_BAD_REQUEST,
                                            "urn:tollgate:problem:"
                                            "ambiguous-body",
                                            "Ambiguous request body",
                                            &detail, NULL);
    }

    if (ce == NULL) {
        return NGX_DECLINED;
    }

    p = ce->data;
    last = p + ce->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (last > p && (last[-1] == ' ' || last[-1] == '\t')) {
        last--;
    }

    if (last - p == sizeof("identity") - 1
        && ngx_strncasecmp(p, (u_char *) "identity", sizeof("identity") - 1)
           == 0)
    {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_validate: body refused: Content-Encoding \"%V\"",
                  ngx_http_gw_log_escape(&esc, buf, ce->data, ce->len));

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Accept-Encoding");
    ngx_str_set(&h->value, "identity");

    ngx_str_set(&detail, "the body must not be encoded (Content-Encoding)");

    return ngx_http_gw_validate_problem(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                        "urn:tollgate:problem:"
                                        "unsupported-content-encoding",
                                        "Unsupported content encoding",
                                        &detail, NULL);
}


/*
 * The Content-Type's media type must match one of gw_validate_content_types
 * (case-insensitively, parameters aside); a charset parameter, when there
 * is one, must say UTF-8, the only encoding of JSON (RFC 8259).
 */

static ngx_int_t
ngx_http_gw_validate_media_type(ngx_http_request_t *r,
    ngx_http_gw_validate_loc_conf_t *lcf)
{
    u_char      *p, *end, *semi, *v;
    size_t       len;
    ngx_str_t    detail, esc, *t;
    ngx_uint_t   i;
    u_char       type[128];
    u_char       buf[NGX_HTTP_GW_LOG_SIZE];

    if (r->headers_in.content_type == NULL) {
        goto unsupported;
    }

    p = r->headers_in.content_type->value.data;
    end = p + r->headers_in.content_type->value.len;

    semi = ngx_strlchr(p, end, ';');
    if (semi == NULL) {
        semi = end;
    }

    while (p < semi && (*p == ' ' || *p == '\t')) {
        p++;
    }

    len = semi - p;

    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }

    if (len == 0 || len > sizeof(type)) {
        goto unsupported;
    }

    ngx_strlow(type, p, len);

    t = lcf->types->elts;

    for (i = 0; i < lcf->types->nelts; i++) {
        if (ngx_http_gw_validate_match(t[i].data, t[i].len, type, len)) {
            break;
        }
    }

    if (i == lcf->types->nelts) {
        goto unsupported;
    }

    /* charset=utf-8 (quoted or not) or no charset */

    for (p = semi; p < end; p++) {
        if (end - p > 8 && ngx_strncasecmp(p, (u_char *) "charset=", 8) == 0
            && (p == semi || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t'))
        {
            v = p + 8;

            if (v < end && *v == '"') {
                v++;
            }

            if (end - v < 5
                || ngx_strncasecmp(v, (u_char *) "utf-8", 5) != 0
                || (end - v > 5 && v[5] != '"' && v[5] != ';'
                    && v[5] != ' '))
            {
                goto unsupported;
            }
        }
    }

    return NGX_DECLINED;

unsupported:

    if (r->headers_in.content_type != NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: body of Content-Type \"%V\" is not JSON",
                      ngx_http_gw_log_escape(&esc, buf,
                          r->headers_in.content_type->value.data,
                          r->headers_in.content_type->value.len));

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_validate: body without Content-Type");
    }

    detail.data = ngx_pnalloc(r->pool, lcf->types_text.len + 64);
    if (detail.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    detail.len = ngx_sprintf(detail.data, "the body must be UTF-8 JSON, "
                             "with Content-Type %V", &lcf->types_text)
                 - detail.data;

    return ngx_http_gw_validate_problem(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                        "urn:tollgate:problem:"
                                        "unsupported-media-type",
                                        "Unsupported media type", &detail,
                                        NULL);
}


/* pat against s: "*" matches any run of bytes */

static ngx_uint_t
ngx_http_gw_validate_match(u_char *pat, size_t plen, u_char *s, size_t len)
{
    size_t  i;

    while (plen) {
        if (*pat == '*') {
            for (i = 0; i <= len; i++) {
                if (ngx_http_gw_validate_match(pat + 1, plen - 1, s + i,
                                               len - i))
                {
                    return 1;
                }
            }

            return 0;
        }

        if (len == 0 || *pat != *s) {
            return 0;
        }

        pat++;
        plen--;
        s++;
        len--;
    }

    return len == 0;
}


static ngx_int_t
ngx_http_gw_validate_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, ngx_str_t *detail, ngx_str_t *extra)
{
    ngx_http_gw_problem_t  problem;

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail = *detail;

    if (extra != NULL) {
        problem.extra = *extra;

    } else {
        ngx_str_null(&problem.extra);
    }

    ngx_http_gw_metrics_validation(r);

    return ngx_http_gw_send_problem(r, &problem);
}


void
ngx_http_gw_validate_body_filter_init(void)
{
    ngx_http_gw_validate_next_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_gw_validate_body_filter;
}
