
/*
 * Copyright (C) Tollgate
 *
 * nginx ends every error.log line written in a request's context with that
 * request's context: ", request: ..., host: ..., referrer: ...".  Its own
 * handler writes those values as the client sent them, and a Referer (or
 * any byte nginx lets through in the request line or Host) may hold ESC,
 * DEL or bytes that are not UTF-8: every [error] line about a request
 * (an upstream that refused, a denial at info) would carry them to the
 * terminal of whoever reads the log.  This module replaces the request's
 * log handler, from the post-read phase on, with one that writes the same
 * fields with the same escape as the rest of Tollgate's log lines:
 * printable ASCII kept, backslash and double quote escaped, every other
 * byte as \xNN.  It is on wherever the module is loaded; lines nginx
 * writes before the post-read phase (a request line or header it refused
 * while reading them) keep nginx's own handler.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"


static ngx_int_t ngx_http_gw_log_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_log_post_read(ngx_http_request_t *r);
static u_char *ngx_http_gw_log_context(ngx_http_request_t *r,
    ngx_http_request_t *sr, u_char *buf, size_t len);
static u_char *ngx_http_gw_log_field(u_char *p, u_char *end,
    const char *name, ngx_str_t *values, ngx_uint_t n);


static ngx_http_module_t  ngx_http_gw_log_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_log_init,                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gw_log_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_log_module_ctx,           /* module context */
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


static u_char  ngx_http_gw_log_hex[] = "0123456789abcdef";


static ngx_int_t
ngx_http_gw_log_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_log_post_read;

    return NGX_OK;
}


/* subrequests inherit the handler from their parent (ngx_http_subrequest) */

static ngx_int_t
ngx_http_gw_log_post_read(ngx_http_request_t *r)
{
    r->log_handler = ngx_http_gw_log_context;

    return NGX_DECLINED;
}


/*
 * Writes the context fields of a line about request r (sr: the subrequest
 * the line is about, or r) into buf, at most len bytes; returns the end.
 */

static u_char *
ngx_http_gw_log_context(ngx_http_request_t *r, ngx_http_request_t *sr,
    u_char *buf, size_t len)
{
    u_char               *p, *end;
    ngx_str_t             up[3];
    ngx_http_upstream_t  *u;

    p = buf;
    end = buf + len;

    if (r->request_line.len) {
        p = ngx_http_gw_log_field(p, end, ", request: \"", &r->request_line,
                                  1);
    }

    if (sr != r) {
        p = ngx_http_gw_log_field(p, end, ", subrequest: \"", &sr->uri, 1);
    }

    u = sr->upstream;

    if (u != NULL && u->peer.name != NULL) {
        up[0] = u->schema;
        up[1] = *u->peer.name;
        up[2] = u->uri;

        p = ngx_http_gw_log_field(p, end, ", upstream: \"", up, 3);
    }

    if (r->headers_in.host != NULL) {
        p = ngx_http_gw_log_field(p, end, ", host: \"",
                                  &r->headers_in.host->value, 1);
    }

    if (r->headers_in.referer != NULL) {
        p = ngx_http_gw_log_field(p, end, ", referrer: \"",
                                  &r->headers_in.referer->value, 1);
    }

    return p;
}


/*
 * Appends name, then the n values escaped one after the other, then the
 * closing double quote, within end: a value that does not fit is cut
 * where it stops fitting.
 */

static u_char *
ngx_http_gw_log_field(u_char *p, u_char *end, const char *name,
    ngx_str_t *values, ngx_uint_t n)
{
    u_char      *s, *last;
    size_t       len;
    ngx_uint_t   i;

    len = ngx_strlen(name);

    if ((size_t) (end - p) < len + 1) {
        return p;
    }

    p = ngx_cpymem(p, name, len);

    for (i = 0; i < n; i++) {
        last = values[i].data + values[i].len;

        /* four bytes for one escaped byte, one for the closing quote */

        for (s = values[i].data; s < last && end - p >= 5; s++) {

            if (*s == '\\' || *s == '"') {
                *p++ = '\\';
                *p++ = *s;

            } else if (*s >= 0x20 && *s < 0x7f) {
                *p++ = *s;

            } else {
                *p++ = '\\';
                *p++ = 'x';
                *p++ = ngx_http_gw_log_hex[*s >> 4];
                *p++ = ngx_http_gw_log_hex[*s & 0xf];
            }
        }
    }

    *p++ = '"';

    return p;
}
