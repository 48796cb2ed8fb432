
/*
 * Copyright (C) Tollgate
 *
 * The plugins' header filter, body filter and log phase (docs/plugins.md,
 * "Phases and order").
 *
 * Header filter: each plugin's header_filter(conf, ctx) in order; one
 * that fails replaces the response by the failure answer: the status,
 * the headers and the body are the problem's, the original body is
 * swallowed.  A request answered with the failure answer of its access
 * phase runs no plugin filter.
 *
 * Body filter: streaming, one call per plugin per chunk nginx passes:
 * body_filter(conf, ctx, chunk, eof) returns the chunk to send (nil drops
 * it).  Plugins with a body filter make the response's buffers come in
 * memory (r->filter_need_in_memory), and drop Content-Length and ranges
 * since the length may change.  A failure there aborts the response (the
 * header is gone already): the connection is closed.
 *
 * Log: each plugin's log(conf, ctx) after the response; a failure is
 * logged and counted only.
 */


#include "ngx_http_gw_lua_int.h"
#include "gw_problem.h"


static ngx_int_t ngx_http_gw_lua_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_lua_replace(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run);
static ngx_int_t ngx_http_gw_lua_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_gw_lua_body_run(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, ngx_str_t *chunk, ngx_uint_t eof);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_gw_lua_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gw_lua_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_gw_lua_body_filter;

    return NGX_OK;
}


/* the ctx of r when its plugins' filters should run, else NULL */

static ngx_http_gw_lua_ctx_t *
ngx_http_gw_lua_filter_ctx(ngx_http_request_t *r, ngx_uint_t make)
{
    ngx_http_gw_lua_ctx_t  *ctx;

    if (r != r->main) {
        return NULL;
    }

    ctx = make ? ngx_http_gw_lua_get_ctx(r)
               : ngx_http_get_module_ctx(r, ngx_http_gw_lua_module);

    if (ctx == NULL || ctx->r != r || ctx->failed) {
        /* none, or the "none" marker (its r is not r), or failed */
        return NULL;
    }

    return ctx;
}


static ngx_int_t
ngx_http_gw_lua_header_filter(ngx_http_request_t *r)
{
    gw_lua_rc_e             rc;
    lua_State              *L;
    ngx_uint_t              i;
    gw_lua_err_t            err;
    ngx_http_gw_lua_ctx_t  *ctx;
    ngx_http_gw_lua_run_t  *run;

    ctx = ngx_http_gw_lua_filter_ctx(r, 1);

    if (ctx == NULL || ctx->replaced
        || !(ctx->phases & ((1 << NGX_HTTP_GW_LUA_HEADER_FILTER)
                            | (1 << NGX_HTTP_GW_LUA_BODY_FILTER))))
    {
        return ngx_http_next_header_filter(r);
    }

    for (i = 0; i < ctx->nruns; i++) {
        run = &ctx->runs[i];

        if (run->broken) {
            continue;
        }

        if (run->inst->info.phases & (1 << NGX_HTTP_GW_LUA_BODY_FILTER)) {
            ctx->filter = 1;
        }

        if (!(run->inst->info.phases & (1 << NGX_HTTP_GW_LUA_HEADER_FILTER)))
        {
            continue;
        }

        if (ngx_http_gw_lua_push_ctx(run) != NGX_OK) {
            err.rc = GW_LUA_MEMORY;
            ngx_cpystrn((u_char *) err.msg, (u_char *) "no memory for its "
                        "ctx", GW_LUA_ERR_MAX);
            goto failed;
        }

        L = gw_lua_state(run->inst->state);

        lua_rawgeti(L, LUA_REGISTRYINDEX,
                    run->inst->fns[NGX_HTTP_GW_LUA_HEADER_FILTER]);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run->conf);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run->ctx);

        rc = ngx_http_gw_lua_run_call(ctx, run, NGX_HTTP_GW_LUA_HEADER_FILTER,
                                      2, 0, &err);

        if (rc != GW_LUA_OK) {
            goto failed;
        }
    }

    if (ctx->filter && !r->header_only) {
        r->filter_need_in_memory = 1;
        ngx_http_clear_content_length(r);
        ngx_http_clear_accept_ranges(r);
        ngx_http_weak_etag(r);
    }

    return ngx_http_next_header_filter(r);

failed:

    ngx_http_gw_lua_failed(ctx, run, NGX_HTTP_GW_LUA_HEADER_FILTER, &err);

    if (ngx_http_gw_lua_replace(ctx, run) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


/*
 * The response becomes the failure answer: the headers so far are
 * dropped (a new list), the problem's body is kept for the body filter.
 */

static ngx_int_t
ngx_http_gw_lua_replace(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run)
{
    u_char              *p;
    ngx_str_t            id, detail;
    ngx_buf_t           *b;
    gw_problem_t         gp;
    ngx_http_request_t  *r;

    static const char   *type = "urn:tollgate:problem:plugin-failed";

    r = ctx->r;

    p = ngx_pnalloc(r->pool, sizeof("the plugin \"\" failed")
                             + NGX_HTTP_GW_LUA_NAME_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    detail.data = p;
    detail.len = ngx_sprintf(p, "the plugin \"%V\" failed",
                             &run->use.plugin->name) - p;

    if (ngx_http_gw_request_id(r, &id) != NGX_OK) {
        ngx_str_null(&id);
    }

    gp.status = (int) ctx->failure;
    gp.type = type;
    gp.title = "Plugin Failed";
    gp.detail = detail.data;
    gp.detail_len = detail.len;
    gp.request_id = id.data;
    gp.request_id_len = id.len;
    gp.extra = NULL;
    gp.extra_len = 0;

    b = ngx_create_temp_buf(r->pool, gw_problem_len(&gp));
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = gw_problem_write(b->pos, &gp);
    b->last_buf = 1;
    b->last_in_chain = 1;

    ctx->out = ngx_alloc_chain_link(r->pool);
    if (ctx->out == NULL) {
        return NGX_ERROR;
    }

    ctx->out->buf = b;
    ctx->out->next = NULL;

    ngx_memzero(&r->headers_out, sizeof(ngx_http_headers_out_t));

    if (ngx_list_init(&r->headers_out.headers, r->pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK
        || ngx_list_init(&r->headers_out.trailers, r->pool, 1,
                         sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_out.status = ctx->failure;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.last_modified_time = -1;
    ngx_str_set(&r->headers_out.content_type, "application/problem+json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    r->filter_need_in_memory = 0;
    r->allow_ranges = 0;
    r->keepalive = 0;

    /* the log phase reads the type (ngx_http_gw_problem_sent()) */
    ngx_http_set_ctx(r, (void *) type, ngx_http_gw_module);

    ctx->replaced = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_lua_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    u_char                 *p;
    size_t                  size;
    ngx_buf_t              *b;
    ngx_str_t               chunk;
    ngx_uint_t              i, eof, flush;
    ngx_chain_t            *cl, out;
    ngx_http_gw_lua_ctx_t  *ctx;
    ngx_http_gw_lua_run_t  *run;

    ctx = ngx_http_gw_lua_filter_ctx(r, 0);

    if (ctx == NULL || (!ctx->filter && !ctx->replaced)) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->filter_failed) {
        return NGX_ERROR;
    }

    /* what came: consumed here */

    size = 0;
    eof = 0;
    flush = 0;

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            size += b->last - b->pos;
        }

        eof |= b->last_buf;
        flush |= b->flush;
    }

    if (ctx->replaced) {
        for (cl = in; cl != NULL; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }

        if (ctx->sent) {
            return NGX_OK;
        }

        ctx->sent = 1;

        return ngx_http_next_body_filter(r, ctx->out);
    }

    if (size == 0 && !eof) {
        return ngx_http_next_body_filter(r, in);
    }

    chunk.len = size;
    chunk.data = NULL;

    if (size) {
        chunk.data = ngx_pnalloc(r->pool, size);
        if (chunk.data == NULL) {
            return NGX_ERROR;
        }
    }

    p = chunk.data;

    for (cl = in; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            b->pos = b->last;
        }

        if (b->in_file) {
            b->file_pos = b->file_last;
        }
    }

    for (i = 0; i < ctx->nruns; i++) {
        run = &ctx->runs[i];

        if (run->broken
            || !(run->inst->info.phases & (1 << NGX_HTTP_GW_LUA_BODY_FILTER)))
        {
            continue;
        }

        if (ngx_http_gw_lua_body_run(ctx, run, &chunk, eof) != NGX_OK) {
            ctx->filter_failed = 1;
            return NGX_ERROR;
        }
    }

    if (chunk.len == 0 && !eof && !flush) {
        return NGX_OK;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (chunk.len) {
        b->pos = chunk.data;
        b->last = chunk.data + chunk.len;
        b->memory = 1;

    } else {
        b->sync = 1;
    }

    b->last_buf = eof;
    b->last_in_chain = eof;
    b->flush = flush;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/* one plugin's body_filter on chunk: *chunk becomes what it returns */

static ngx_int_t
ngx_http_gw_lua_body_run(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, ngx_str_t *chunk, ngx_uint_t eof)
{
    size_t         len;
    lua_State     *L;
    gw_lua_rc_e    rc;
    const char    *s;
    gw_lua_err_t   err;

    if (ngx_http_gw_lua_push_ctx(run) != NGX_OK) {
        err.rc = GW_LUA_MEMORY;
        ngx_cpystrn((u_char *) err.msg, (u_char *) "no memory for its ctx",
                    GW_LUA_ERR_MAX);
        goto failed;
    }

    L = gw_lua_state(run->inst->state);

    lua_rawgeti(L, LUA_REGISTRYINDEX, run->inst->tramp);
    lua_pushinteger(L, NGX_HTTP_GW_LUA_TRAMP_BODY);
    lua_rawgeti(L, LUA_REGISTRYINDEX,
                run->inst->fns[NGX_HTTP_GW_LUA_BODY_FILTER]);
    lua_rawgeti(L, LUA_REGISTRYINDEX, run->conf);
    lua_rawgeti(L, LUA_REGISTRYINDEX, run->ctx);
    lua_pushlightuserdata(L, chunk->data);
    lua_pushinteger(L, (lua_Integer) chunk->len);
    lua_pushboolean(L, (int) eof);

    rc = ngx_http_gw_lua_run_call(ctx, run, NGX_HTTP_GW_LUA_BODY_FILTER, 7, 1,
                                  &err);

    if (rc != GW_LUA_OK) {
        goto failed;
    }

    if (lua_type(L, -1) == LUA_TNIL) {
        lua_pop(L, 1);
        chunk->len = 0;
        return NGX_OK;
    }

    if (lua_type(L, -1) != LUA_TSTRING) {
        err.rc = GW_LUA_ERROR;
        ngx_snprintf((u_char *) err.msg, GW_LUA_ERR_MAX,
                     "body_filter returned a %s, not a string%Z",
                     lua_typename(L, lua_type(L, -1)));
        lua_pop(L, 1);
        goto failed;
    }

    s = lua_tolstring(L, -1, &len);

    if (len != chunk->len
        || (len > 0 && ngx_memcmp(s, chunk->data, len) != 0))
    {
        chunk->data = ngx_pnalloc(ctx->r->pool, len ? len : 1);
        if (chunk->data == NULL) {
            lua_pop(L, 1);
            return NGX_ERROR;
        }

        ngx_memcpy(chunk->data, s, len);
        chunk->len = len;
    }

    lua_pop(L, 1);

    return NGX_OK;

failed:

    ngx_http_gw_lua_failed(ctx, run, NGX_HTTP_GW_LUA_BODY_FILTER, &err);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_gw_lua_log_handler(ngx_http_request_t *r)
{
    lua_State              *L;
    ngx_uint_t              i;
    gw_lua_rc_e             rc;
    gw_lua_err_t            err;
    ngx_http_gw_lua_ctx_t  *ctx;
    ngx_http_gw_lua_run_t  *run;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_lua_module);

    if (ctx == NULL || ctx->r != r
        || !(ctx->phases & (1 << NGX_HTTP_GW_LUA_LOG)))
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < ctx->nruns; i++) {
        run = &ctx->runs[i];

        if (run->broken
            || !(run->inst->info.phases & (1 << NGX_HTTP_GW_LUA_LOG)))
        {
            continue;
        }

        if (ngx_http_gw_lua_push_ctx(run) != NGX_OK) {
            continue;
        }

        L = gw_lua_state(run->inst->state);

        lua_rawgeti(L, LUA_REGISTRYINDEX, run->inst->fns[NGX_HTTP_GW_LUA_LOG]);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run->conf);
        lua_rawgeti(L, LUA_REGISTRYINDEX, run->ctx);

        rc = ngx_http_gw_lua_run_call(ctx, run, NGX_HTTP_GW_LUA_LOG, 2, 0,
                                      &err);

        if (rc != GW_LUA_OK) {
            ngx_http_gw_lua_failed(ctx, run, NGX_HTTP_GW_LUA_LOG, &err);
        }
    }

    return NGX_OK;
}
