
/*
 * Copyright (C) Tollgate
 *
 * W3C Trace Context at the edge (gw_trace on).  A valid incoming
 * traceparent is continued: same trace id, the sampled flag kept, and a
 * new span id for the upstream hop, whose parent is the client's span;
 * tracestate then passes through untouched.  A missing or invalid
 * traceparent starts a new trace (random trace and span ids, sampled),
 * and the client's tracestate goes with it, as the specification asks.
 * The upstream gets exactly one traceparent, always version 00.
 *
 * $gw_trace_id and $gw_span_id give the ids for logs; $gw_parent_id the
 * client's span id (empty for a new trace).
 *
 * The header's rules are lib/trace's (gw_traceparent_parse()), shared
 * with the backend services.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "gw_trace.h"


#define NGX_HTTP_GW_TRACEPARENT_LEN  55     /* version 00 */


typedef struct {
    ngx_flag_t                  enabled;
} ngx_http_gw_trace_loc_conf_t;


typedef struct {
    ngx_uint_t                  used;       /* gw_trace on somewhere */
} ngx_http_gw_trace_main_conf_t;


typedef struct {
    u_char                      trace_id[16];
    u_char                      parent_id[8];  /* the client's span */
    u_char                      span_id[8];    /* ours, to the upstream */
    ngx_uint_t                  flags;
    ngx_uint_t                  continued;     /* the client's trace */
    u_char                      text[NGX_HTTP_GW_TRACEPARENT_LEN];
} ngx_http_gw_trace_ctx_t;


static void ngx_http_gw_trace_random(u_char *buf, size_t n);
static ngx_http_gw_trace_ctx_t *ngx_http_gw_trace_ctx(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_trace_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_trace_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_trace_add_variables(ngx_conf_t *cf);
static void *ngx_http_gw_trace_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_trace_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_trace_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gw_trace(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_trace_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_gw_trace_commands[] = {

    { ngx_string("gw_trace"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_gw_trace,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_trace_loc_conf_t, enabled),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_trace_module_ctx = {
    ngx_http_gw_trace_add_variables,       /* preconfiguration */
    ngx_http_gw_trace_init,                /* postconfiguration */

    ngx_http_gw_trace_create_main_conf,    /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_trace_create_loc_conf,     /* create location configuration */
    ngx_http_gw_trace_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_gw_trace_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_trace_module_ctx,         /* module context */
    ngx_http_gw_trace_commands,            /* module directives */
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


#define NGX_HTTP_GW_TRACE_VAR_TRACE   0
#define NGX_HTTP_GW_TRACE_VAR_SPAN    1
#define NGX_HTTP_GW_TRACE_VAR_PARENT  2


static ngx_http_variable_t  ngx_http_gw_trace_vars[] = {

    { ngx_string("gw_trace_id"), NULL, ngx_http_gw_trace_variable,
      NGX_HTTP_GW_TRACE_VAR_TRACE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_span_id"), NULL, ngx_http_gw_trace_variable,
      NGX_HTTP_GW_TRACE_VAR_SPAN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_parent_id"), NULL, ngx_http_gw_trace_variable,
      NGX_HTTP_GW_TRACE_VAR_PARENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_gw_traceparent = ngx_string("traceparent");
static ngx_str_t  ngx_http_gw_tracestate = ngx_string("tracestate");


/* random ids, never all zero */

static void
ngx_http_gw_trace_random(u_char *buf, size_t n)
{
    size_t  i;

    for ( ;; ) {
        ngx_http_gw_random(buf, n);

        for (i = 0; i < n; i++) {
            if (buf[i]) {
                return;
            }
        }
    }
}


/*
 * The request's trace, made once: continued from a valid traceparent, or
 * new.  NULL on allocation failure.
 */

static ngx_http_gw_trace_ctx_t *
ngx_http_gw_trace_ctx(ngx_http_request_t *r)
{
    u_char                   *p;
    ngx_table_elt_t          *h;
    gw_traceparent_t          parsed;
    ngx_http_gw_trace_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gw_trace_module);

    if (ctx != NULL) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_trace_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    /* the first traceparent counts: a repeated one is not looked at */

    h = ngx_http_gw_header_in(r->main, &ngx_http_gw_traceparent);

    if (h != NULL
        && gw_traceparent_parse((char *) h->value.data, h->value.len,
                                &parsed)
           == 0)
    {
        ngx_memcpy(ctx->trace_id, parsed.trace_id, 16);
        ngx_memcpy(ctx->parent_id, parsed.parent_id, 8);
        ctx->flags = parsed.flags & GW_TRACE_SAMPLED;
        ctx->continued = 1;

    } else {
        ngx_http_gw_trace_random(ctx->trace_id, 16);
        ngx_memzero(ctx->parent_id, 8);
        ctx->flags = 0x01;
    }

    ngx_http_gw_trace_random(ctx->span_id, 8);

    p = ngx_cpymem(ctx->text, "00-", 3);
    p = ngx_hex_dump(p, ctx->trace_id, 16);
    *p++ = '-';
    p = ngx_hex_dump(p, ctx->span_id, 8);
    *p++ = '-';
    *p++ = '0';
    *p = (u_char) ('0' + ctx->flags);

    ngx_http_set_ctx(r->main, ctx, ngx_http_gw_trace_module);

    return ctx;
}


/*
 * Preaccess, with gw_trace on: the upstream gets our traceparent only,
 * and the client's tracestate only with a trace that is continued.
 */

static ngx_int_t
ngx_http_gw_trace_handler(ngx_http_request_t *r)
{
    ngx_str_t                      value, names[2];
    ngx_http_gw_trace_ctx_t       *ctx;
    ngx_http_gw_trace_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_trace_module);

    if (!tlcf->enabled || r != r->main) {
        return NGX_DECLINED;
    }

    if (ngx_http_get_module_ctx(r, ngx_http_gw_trace_module) != NULL) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_gw_trace_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    names[0] = ngx_http_gw_traceparent;
    names[1] = ngx_http_gw_tracestate;

    if (ngx_http_gw_strip_headers(r, names, ctx->continued ? 1 : 2)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    value.data = ctx->text;
    value.len = NGX_HTTP_GW_TRACEPARENT_LEN;

    if (ngx_http_gw_add_header(r, &ngx_http_gw_traceparent,
                               ngx_http_gw_traceparent.data, &value)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gw_trace_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p, *id;
    size_t                    n;
    ngx_http_gw_trace_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gw_trace_module);

    if (ctx == NULL
        || (data == NGX_HTTP_GW_TRACE_VAR_PARENT && !ctx->continued))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case NGX_HTTP_GW_TRACE_VAR_TRACE:
        id = ctx->trace_id;
        n = 16;
        break;

    case NGX_HTTP_GW_TRACE_VAR_SPAN:
        id = ctx->span_id;
        n = 8;
        break;

    default: /* NGX_HTTP_GW_TRACE_VAR_PARENT */
        id = ctx->parent_id;
        n = 8;
        break;
    }

    p = ngx_pnalloc(r->pool, 2 * n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_hex_dump(p, id, n) - p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_trace_add_variables(ngx_conf_t *cf)
{
    return ngx_http_gw_add_variables(cf, ngx_http_gw_trace_vars);
}


static void *
ngx_http_gw_trace_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_trace_main_conf_t));
}


static void *
ngx_http_gw_trace_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_trace_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_trace_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gw_trace_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_trace_loc_conf_t *prev = parent;
    ngx_http_gw_trace_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_trace(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_trace_loc_conf_t *tlcf = conf;

    char                           *rv;
    ngx_http_gw_trace_main_conf_t  *tmcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && tlcf->enabled) {
        tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_trace_module);
        tmcf->used = 1;
    }

    return rv;
}


static ngx_int_t
ngx_http_gw_trace_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt            *h;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_gw_trace_main_conf_t  *tmcf;

    tmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_trace_module);

    if (!tmcf->used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_trace_handler;

    return NGX_OK;
}
