
/*
 * Copyright (C) Tollgate
 *
 * Claims of the verified token as variables ($gw_jwt_sub, $gw_jwt_alg,
 * $gw_jwt_kid, $gw_jwt_claim_<name>, and gw_jwt_claim_var paths) and as
 * request headers for the upstream (gw_jwt_claim_header).  Values are
 * rendered by gw_json_render(); arrays are joined by the location's
 * gw_jwt_claim_separator.  A claim header replaces every header of the same
 * name the client sent, whether or not the claim is present, so a client
 * can never supply it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_identity.h"
#include "ngx_http_gw_jwt.h"


#define NGX_HTTP_GW_JWT_RENDER_MAX  (64 * 1024)


static ngx_int_t ngx_http_gw_jwt_render(ngx_http_request_t *r,
    const json_t *v, ngx_str_t *out);
static ngx_int_t ngx_http_gw_jwt_path_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_jwt_prefix_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_jwt_header_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static gw_str_t  ngx_http_gw_jwt_sub_path = { "sub", 3 };

static const char  *ngx_http_gw_jwt_cache_names[] = {
    "BYPASS", "MISS", "HIT"
};


static ngx_http_variable_t  ngx_http_gw_jwt_vars[] = {

    { ngx_string("gw_jwt_sub"), NULL, ngx_http_gw_jwt_path_variable,
      (uintptr_t) &ngx_http_gw_jwt_sub_path, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_jwt_alg"), NULL, ngx_http_gw_jwt_header_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_jwt_kid"), NULL, ngx_http_gw_jwt_header_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_jwt_cache_status"), NULL, ngx_http_gw_jwt_header_variable,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_jwt_claim_"), NULL, ngx_http_gw_jwt_prefix_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_gw_jwt_add_variables(ngx_conf_t *cf)
{
    return ngx_http_gw_add_variables(cf, ngx_http_gw_jwt_vars);
}


json_t *
ngx_http_gw_jwt_claims(ngx_http_request_t *r)
{
    ngx_http_gw_jwt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_jwt_module);

    if (ctx == NULL || !ctx->verified) {
        return NULL;
    }

    return gw_jws_payload(&ctx->jws);
}


/* renders v into the request pool, growing the buffer as needed */

static ngx_int_t
ngx_http_gw_jwt_render(ngx_http_request_t *r, const json_t *v,
    ngx_str_t *out)
{
    u_char                      *buf;
    size_t                       size;
    ssize_t                      n;
    ngx_http_gw_jwt_loc_conf_t  *jlcf;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_jwt_module);

    for (size = 256; size <= NGX_HTTP_GW_JWT_RENDER_MAX; size *= 4) {
        buf = ngx_pnalloc(r->pool, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        n = gw_json_render(v, (char *) jlcf->separator.data,
                           jlcf->separator.len, (char *) buf, size);
        if (n >= 0) {
            out->data = buf;
            out->len = n;
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gw_jwt_set_value(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    const json_t *claim)
{
    ngx_int_t  rc;
    ngx_str_t  s;

    if (claim == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    rc = ngx_http_gw_jwt_render(r, claim, &s);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_DECLINED) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_jwt_path_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    json_t    *claims;
    gw_str_t  *path = (gw_str_t *) data;

    claims = ngx_http_gw_jwt_claims(r);

    if (claims == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    return ngx_http_gw_jwt_set_value(r, v,
                                     gw_json_path(claims, path->data,
                                                  path->len));
}


static ngx_int_t
ngx_http_gw_jwt_prefix_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    json_t     *claims;
    ngx_str_t  *name = (ngx_str_t *) data;
    size_t      prefix;

    claims = ngx_http_gw_jwt_claims(r);
    prefix = sizeof("gw_jwt_claim_") - 1;

    if (claims == NULL || name->len <= prefix) {
        v->not_found = 1;
        return NGX_OK;
    }

    /* a top-level member; nginx variable names hold no dots */

    return ngx_http_gw_jwt_set_value(r, v,
               json_object_getn(claims, (char *) name->data + prefix,
                                name->len - prefix));
}


static ngx_int_t
ngx_http_gw_jwt_header_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    const char             *s;
    ngx_http_gw_jwt_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_jwt_module);

    if (ctx == NULL || !ctx->verified) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 0) {
        s = gw_alg_name(ctx->jws.alg);
        v->len = ngx_strlen(s);

    } else if (data == 2) {
        s = ngx_http_gw_jwt_cache_names[ctx->cache_status];
        v->len = ngx_strlen(s);

    } else {
        s = ctx->jws.kid;
        v->len = ctx->jws.kid_len;

        if (s == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }
    }

    v->data = (u_char *) s;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * gw_jwt_claim_var $variable path;
 */

char *
ngx_http_gw_jwt_claim_var(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    gw_str_t             *path;
    ngx_str_t            *value, name;
    ngx_http_variable_t  *var;

    value = cf->args->elts;
    name = value[1];

    if (name.len < 2 || name.data[0] != '$') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid variable name \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    if (value[2].len == 0) {
        return "takes no empty claim path";
    }

    name.data++;
    name.len--;

    path = ngx_palloc(cf->pool, sizeof(gw_str_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->data = (const char *) value[2].data;
    path->len = value[2].len;

    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_CONF_ERROR;
    }

    var->get_handler = ngx_http_gw_jwt_path_variable;
    var->data = (uintptr_t) path;

    return NGX_CONF_OK;
}


/*
 * gw_jwt_claim_header name path;
 */

char *
ngx_http_gw_jwt_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    u_char                       *p;
    ngx_str_t                    *value, *name;
    ngx_http_gw_jwt_header_t     *h;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    value = cf->args->elts;

    if (value[1].len == 0 || value[2].len == 0) {
        return "takes a header name and a claim path";
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid header name \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (jlcf->headers == NULL) {
        jlcf->headers = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_http_gw_jwt_header_t));
        if (jlcf->headers == NULL) {
            return NGX_CONF_ERROR;
        }

        jlcf->header_names = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (jlcf->header_names == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    h = ngx_array_push(jlcf->headers);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    name = ngx_array_push(jlcf->header_names);
    if (name == NULL) {
        return NGX_CONF_ERROR;
    }

    *name = value[1];

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_jwt_module);
    jmcf->used = 1;

    /* no client may send it, in any location */

    if (ngx_http_gw_identity_add(cf, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    h->name = value[1];
    h->lowcase.len = value[1].len;
    h->lowcase.data = ngx_pnalloc(cf->pool, value[1].len);
    if (h->lowcase.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_strlow(h->lowcase.data, value[1].data, value[1].len);
    h->path.data = (const char *) value[2].data;
    h->path.len = value[2].len;

    return NGX_CONF_OK;
}


/*
 * Strips the client's copies of the claim headers (wherever they are
 * configured, even where gw_jwt is off: see the handler), unless the
 * identity headers were stripped in this pass already, then adds one
 * header per present claim.
 */

ngx_int_t
ngx_http_gw_jwt_set_headers(ngx_http_request_t *r,
    ngx_http_gw_jwt_loc_conf_t *jlcf, ngx_http_gw_jwt_ctx_t *ctx)
{
    json_t                    *claim;
    ngx_int_t                  rc;
    ngx_str_t                  s;
    ngx_uint_t                 i;
    ngx_http_gw_jwt_header_t  *h;

    if (!ngx_http_gw_identity_clean(r)
        && ngx_http_gw_strip_headers(r, jlcf->header_names->elts,
                                     jlcf->header_names->nelts)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (jlcf->headers->nelts != 0 && gw_jws_payload(&ctx->jws) == NULL) {
        return NGX_ERROR;
    }

    h = jlcf->headers->elts;

    for (i = 0; i < jlcf->headers->nelts; i++) {
        claim = gw_json_path(ctx->jws.payload, h[i].path.data, h[i].path.len);

        if (claim == NULL) {
            continue;
        }

        rc = ngx_http_gw_jwt_render(r, claim, &s);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED || !ngx_http_gw_header_value_safe(&s)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "gw_jwt: claim \"%s\" not sent as header \"%V\": "
                          "too large or holds control characters",
                          h[i].path.data, &h[i].name);
            continue;
        }

        if (ngx_http_gw_add_header(r, &h[i].name, h[i].lowcase.data, &s)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
