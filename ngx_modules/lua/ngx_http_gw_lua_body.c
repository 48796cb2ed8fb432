
/*
 * Copyright (C) Tollgate
 *
 * The request body of body = true plugins (docs/plugins.md): read once,
 * before the first such plugin's access function runs, in memory as one
 * string of r's pool, and capped by gw_plugin_body_max.  A body larger
 * than the cap (by its Content-Length, or once read when chunked) is not
 * given: gw.req.body() says "too large".
 *
 * The read may take several events: the access handler then returns
 * NGX_DONE and the read's post handler runs the phases again, which
 * resume where the access pass stopped.
 */


#include "ngx_http_gw_lua_int.h"


static void ngx_http_gw_lua_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_lua_body_collect(ngx_http_gw_lua_ctx_t *ctx);


/*
 * Reads the request body for a body = true plugin, once: NGX_OK when it
 * is there (or larger than gw_plugin_body_max: not read, noted), NGX_DONE
 * while nginx reads (the post handler runs the phases again), or what a
 * phase handler returns for an error.
 */

ngx_int_t
ngx_http_gw_lua_read_body(ngx_http_gw_lua_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_http_request_t           *r;
    ngx_http_gw_lua_main_conf_t  *lmcf;

    r = ctx->r;

    if (ctx->body_started) {
        /* woken while nginx still reads the body */
        return NGX_DONE;
    }

    ctx->body_started = 1;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_lua_module);

    if (r->headers_in.content_length_n > (off_t) lmcf->body_max) {
        ctx->body_large = 1;
        ctx->body_read = 1;
        return NGX_OK;
    }

    if (r->headers_in.content_length_n <= 0 && !r->headers_in.chunked) {
        ctx->body_read = 1;
        return NGX_OK;
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_gw_lua_body_read);

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    if (ctx->body_read) {
        /* the post handler ran inside: drop the reference the read took */
        r->main->count--;
        return ngx_http_gw_lua_body_collect(ctx);
    }

    ctx->body_waiting = 1;
    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


static void
ngx_http_gw_lua_body_read(ngx_http_request_t *r)
{
    ngx_http_gw_lua_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_lua_module);

    r->write_event_handler = ngx_http_core_run_phases;

    if (ctx == NULL || ctx->r == NULL) {      /* no list: no plugin */
        ngx_http_core_run_phases(r);
        return;
    }

    ctx->body_read = 1;

    if (ctx->body_waiting) {
        ctx->body_waiting = 0;

        if (ngx_http_gw_lua_body_collect(ctx) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_core_run_phases(r);
    }
}


/* the body read, as one string in r's pool (a spooled part read back) */

static ngx_int_t
ngx_http_gw_lua_body_collect(ngx_http_gw_lua_ctx_t *ctx)
{
    off_t                         total;
    u_char                       *p;
    ssize_t                       n;
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl;
    ngx_http_request_t           *r;
    ngx_http_gw_lua_main_conf_t  *lmcf;

    r = ctx->r;
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_lua_module);

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    total = 0;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;
        total += b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
    }

    if (total > (off_t) lmcf->body_max) {
        ctx->body_large = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, total + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->body.data = p;

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                              b->file_pos);

            if (n != b->file_last - b->file_pos) {
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    ctx->body.len = p - ctx->body.data;

    return NGX_OK;
}


/* gw.req.body()'s view: NGX_ABORT when the call may not have the body,
 * NGX_DECLINED when it was too large */

ngx_int_t
ngx_http_gw_lua_body(ngx_http_gw_lua_call_t *call, ngx_str_t *body)
{
    ngx_http_gw_lua_ctx_t  *ctx;

    ctx = call->ctx;

    if (call->phase != NGX_HTTP_GW_LUA_ACCESS || !ctx->body_read
        || ctx->co_run == NULL || !ctx->co_run->inst->info.body)
    {
        return NGX_ABORT;
    }

    if (ctx->body_large) {
        return NGX_DECLINED;
    }

    *body = ctx->body;

    return NGX_OK;
}
