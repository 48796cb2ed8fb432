
/*
 * Copyright (C) Tollgate
 *
 * What rate limits tell the client and the logs: the RateLimit-Policy and
 * RateLimit fields of draft-ietf-httpapi-ratelimit-headers, one list item
 * per limit that applied ("api";q=10;w=1 and "api";r=7;t=1), the legacy
 * X-RateLimit-Limit/Remaining/Reset of the limit closest to refusing (by
 * gw_limit_legacy_headers), and $gw_limit_status.  A header filter adds
 * the fields, so they reach the client on the upstream's answers and on
 * our own refusals alike.
 */


#include <math.h>

#include "ngx_http_gw_limit.h"


static ngx_int_t ngx_http_gw_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_limit_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_limit_push(ngx_http_request_t *r,
    const char *name, u_char *value, u_char *end);
static u_char *ngx_http_gw_limit_item(u_char *p, ngx_str_t *name,
    const char *a, uint64_t av, const char *b, uint64_t bv);
static u_char *ngx_http_gw_limit_uint(u_char *p, uint64_t v);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_str_t  ngx_http_gw_limit_status_names[] = {
    ngx_null_string,
    ngx_string("passed"),
    ngx_string("degraded"),
    ngx_string("delayed"),
    ngx_string("dry_run"),
    ngx_string("rejected"),
    ngx_string("zone_full")
};


static ngx_http_variable_t  ngx_http_gw_limit_vars[] = {

    { ngx_string("gw_limit_status"), NULL,
      ngx_http_gw_limit_status_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_limit_consumer"), NULL,
      ngx_http_gw_limit_consumer_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_gw_limit_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_gw_limit_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_gw_limit_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gw_limit_module);

    if (ctx == NULL || ctx->status == NGX_HTTP_GW_LIMIT_NONE) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ngx_http_gw_limit_status_names[ctx->status].data;
    v->len = ngx_http_gw_limit_status_names[ctx->status].len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


void
ngx_http_gw_limit_header_filter_init(void)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gw_limit_header_filter;
}


static ngx_int_t
ngx_http_gw_limit_header_filter(ngx_http_request_t *r)
{
    u_char                        *policy, *state, *p, *q;
    uint64_t                       quota, window;
    ngx_uint_t                     i;
    gw_limit_rule_t                share;
    ngx_http_gw_limit_ctx_t       *ctx;
    ngx_http_gw_limit_item_t      *it, *low;
    ngx_http_gw_limit_loc_conf_t  *lcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_limit_module);

    if (ctx == NULL || ctx->n == 0 || !ctx->done) {
        return ngx_http_next_header_filter(r);
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_limit_module);

    if (!lcf->headers && !lcf->legacy_headers) {
        return ngx_http_next_header_filter(r);
    }

    policy = ngx_pnalloc(r->pool, ctx->n * NGX_HTTP_GW_LIMIT_ITEM_LEN);
    state = ngx_pnalloc(r->pool, ctx->n * NGX_HTTP_GW_LIMIT_ITEM_LEN);
    if (policy == NULL || state == NULL) {
        return NGX_ERROR;
    }

    p = policy;
    q = state;
    low = NULL;

    for (i = 0; i < ctx->n; i++) {
        it = &ctx->items[i];

        if (p != policy) {
            p = ngx_cpymem(p, ", ", 2);
        }

        /* a fallback decision speaks of the share it applied */
        if (it->degraded && it->decided) {
            gw_limit_share(&it->rule, (unsigned) lcf->nodes, &share);
            p = ngx_http_gw_limit_policy_item(p, &it->limit->name, &share);

        } else if (ngx_memcmp(&it->rule, &it->limit->rule,
                              sizeof(gw_limit_rule_t)) == 0)
        {
            p = ngx_cpymem(p, it->limit->policy.data, it->limit->policy.len);

        } else {
            p = ngx_http_gw_limit_policy_item(p, &it->limit->name, &it->rule);
        }

        if (!it->decided) {
            continue;       /* let through without an answer */
        }

        if (q != state) {
            q = ngx_cpymem(q, ", ", 2);
        }

        q = ngx_http_gw_limit_item(q, &it->limit->name, "\";r=",
                                   (uint64_t) it->res.remaining, ";t=",
                                   (uint64_t) ceil(it->res.reset / 1000000.0));

        if (low == NULL || it->res.remaining < low->res.remaining) {
            low = it;
        }
    }

    if (lcf->headers) {
        if (ngx_http_gw_limit_push(r, "RateLimit-Policy", policy, p)
            != NGX_OK
            || (q != state
                && ngx_http_gw_limit_push(r, "RateLimit", state, q)
                   != NGX_OK))
        {
            return NGX_ERROR;
        }
    }

    if (lcf->legacy_headers && low != NULL) {

        if (low->degraded) {
            gw_limit_share(&low->rule, (unsigned) lcf->nodes, &share);
            gw_limit_policy(&share, &quota, &window);

        } else {
            gw_limit_policy(&low->rule, &quota, &window);
        }

        p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        q = ngx_sprintf(p, "%uL", quota);
        if (ngx_http_gw_limit_push(r, "X-RateLimit-Limit", p, q) != NGX_OK) {
            return NGX_ERROR;
        }

        p = q;
        q = ngx_sprintf(p, "%uL", (uint64_t) low->res.remaining);
        if (ngx_http_gw_limit_push(r, "X-RateLimit-Remaining", p, q)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        p = q;
        q = ngx_sprintf(p, "%uL",
                        (uint64_t) ceil(low->res.reset / 1000000.0));
        if (ngx_http_gw_limit_push(r, "X-RateLimit-Reset", p, q) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}


/* one RateLimit-Policy item: "name";q=Q;w=W */

u_char *
ngx_http_gw_limit_policy_item(u_char *p, ngx_str_t *name,
    gw_limit_rule_t *rule)
{
    uint64_t  quota, window;

    gw_limit_policy(rule, &quota, &window);

    return ngx_http_gw_limit_item(p, name, "\";q=", quota, ";w=", window);
}


/* "name<a><av><b><bv>, without ngx_sprintf()'s format parsing */

static u_char *
ngx_http_gw_limit_item(u_char *p, ngx_str_t *name, const char *a,
    uint64_t av, const char *b, uint64_t bv)
{
    *p++ = '"';
    p = ngx_cpymem(p, name->data, name->len);
    p = ngx_cpymem(p, a, ngx_strlen(a));
    p = ngx_http_gw_limit_uint(p, av);
    p = ngx_cpymem(p, b, ngx_strlen(b));

    return ngx_http_gw_limit_uint(p, bv);
}


static u_char *
ngx_http_gw_limit_uint(u_char *p, uint64_t v)
{
    u_char   *s;
    u_char    buf[NGX_INT64_LEN];

    s = buf + NGX_INT64_LEN;

    do {
        *--s = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);

    return ngx_cpymem(p, s, buf + NGX_INT64_LEN - s);
}


static ngx_int_t
ngx_http_gw_limit_push(ngx_http_request_t *r, const char *name,
    u_char *value, u_char *end)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value.data = value;
    h->value.len = end - value;

    return NGX_OK;
}
