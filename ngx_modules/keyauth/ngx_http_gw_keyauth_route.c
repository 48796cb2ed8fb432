
/*
 * Copyright (C) Tollgate
 *
 * A route's "key_auth" policy (docs/key-auth.md, "As a route policy";
 * ngx_http_gw_policy.h): the member of a route of the admin API filling
 * the keyauth module's location configuration, as gw_key_auth,
 * gw_key_auth_header and gw_key_auth_query do for a location.  The
 * phase handler is the module's own.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_redis.h"
#include "ngx_http_gw_keyauth.h"


static ngx_uint_t ngx_http_gw_keyauth_name_valid(json_t *v);
static ngx_int_t ngx_http_gw_keyauth_policy(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);


static ngx_http_gw_policy_t  ngx_http_gw_keyauth_kind = {
    ngx_string("key_auth"), &ngx_http_gw_keyauth_module,
    ngx_http_gw_keyauth_policy
};


ngx_int_t
ngx_http_gw_keyauth_route_add(ngx_conf_t *cf)
{
    return ngx_http_gw_policy_add(cf, &ngx_http_gw_keyauth_kind);
}


static ngx_uint_t
ngx_http_gw_keyauth_name_valid(json_t *v)
{
    u_char  *p, *last;

    p = (u_char *) json_string_value(v);
    last = p + json_string_length(v);

    for ( /* void */ ; p < last; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A route's "key_auth" (docs/key-auth.md, "As a route policy"): true, or
 * {"header": name, "query": name}; the realm is "api".  The keys are the
 * gateway's (gw_redis), as for gw_key_auth.
 */

static ngx_int_t
ngx_http_gw_keyauth_policy(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_keyauth_loc_conf_t *klcf = conf;

    json_t      *v;
    ngx_str_t   *field;
    const char  *key;

    if (json_is_false(value)) {
        ngx_str_set(&klcf->realm, "");
        return NGX_OK;
    }

    if (!json_is_true(value) && !json_is_object(value)) {
        ngx_str_set(err, "\"key_auth\" must be true, false or an object");
        return NGX_ERROR;
    }

    if (!ngx_http_gw_redis_configured(cf)) {
        ngx_str_set(err, "\"key_auth\" needs \"gw_redis\" in the http block");
        return NGX_ERROR;
    }

    ngx_str_set(&klcf->realm, "api");

    if (json_is_true(value)) {
        return NGX_OK;
    }

    json_object_foreach(value, key, v) {

        if (ngx_strcmp(key, "header") == 0) {
            field = &klcf->header;

        } else if (ngx_strcmp(key, "query") == 0) {
            field = &klcf->query;

        } else {
            ngx_str_set(err, "\"key_auth\" takes \"header\" and \"query\" "
                             "only");
            return NGX_ERROR;
        }

        if (!json_is_string(v) || json_string_length(v) == 0
            || json_string_length(v) > 64
            || !ngx_http_gw_keyauth_name_valid(v))
        {
            ngx_str_set(err, "\"key_auth\": \"header\" and \"query\" are "
                             "names of 1 to 64 letters, digits, \"-\" "
                             "or \"_\"");
            return NGX_ERROR;
        }

        field->len = json_string_length(v);
        field->data = ngx_pnalloc(cf->pool, field->len + 1);
        if (field->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(field->data, json_string_value(v), field->len + 1);
    }

    return NGX_OK;
}
