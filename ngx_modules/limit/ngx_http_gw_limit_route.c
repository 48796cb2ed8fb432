
/*
 * Copyright (C) Tollgate
 *
 * A route's "limits" (docs/limit.md, "As a route policy"): the limit
 * entities of the admin API that a route names, directly or through its
 * plan, as the snapshot lists them:
 *
 *   [{"id": "l1", "kind": "rate", "rate": "10r/s", "key": "consumer",
 *     "scope": "local"},
 *    {"id": "l2", "kind": "quota", "quota": {"count": 1000,
 *     "window": "1h"}, "key": "ip", "scope": "global"}]
 *
 * Each one becomes the gw_limit its members spell ("gw_limit l1
 * rate=10r/s key=$gw_limit_consumer mode=local") and goes through the
 * directive's own parser, so a route's limit is decided by the same code
 * as a directive's.  The key: "consumer" ($gw_limit_consumer: the
 * authenticated consumer's id, else the client address, so a route
 * without authentication is still limited per client), "ip"
 * ($binary_remote_addr) or "route" ($gw_route_id).  Local limits live in
 * the zone "gw_limit" (gw_limit_zone gw_limit:SIZE sizes it, 10m by
 * default), which routes share with the directives that use it: a
 * limit's entries are keyed by its id; global ones in Redis (gw_redis).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_limit.h"
#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_policy_err.h"
#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_LIMIT_ROUTE_ARG  64     /* an argument's bytes */


static ngx_int_t ngx_http_gw_limit_route_policy(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);
static ngx_int_t ngx_http_gw_limit_route_one(ngx_conf_t *cf,
    ngx_http_gw_limit_loc_conf_t *lcf, json_t *limit, ngx_str_t *err);


static ngx_http_gw_policy_t  ngx_http_gw_limit_kind = {
    ngx_string("limits"), &ngx_http_gw_limit_module,
    ngx_http_gw_limit_route_policy
};

static ngx_str_t  ngx_http_gw_limit_consumer_name =
    ngx_string("gw_limit_consumer");
static ngx_str_t  ngx_http_gw_limit_addr_name =
    ngx_string("binary_remote_addr");
static ngx_str_t  ngx_http_gw_limit_route_name = ngx_string("gw_route_id");
static ngx_str_t  ngx_http_gw_limit_consumer_id = ngx_string("gw_consumer_id");

static ngx_int_t  ngx_http_gw_limit_consumer_index = NGX_ERROR;


/*
 * Postconfiguration: registers the kind and, where gw_router is, makes
 * ready what a route's limit refers to at run time, when neither zones
 * nor variables can be added: the zone, the key variables' indexes, the
 * scripts of global mode (with gw_redis).
 */

ngx_int_t
ngx_http_gw_limit_route_init(ngx_conf_t *cf,
    ngx_http_gw_limit_main_conf_t *lmcf)
{
    ngx_str_t                   name = ngx_string("gw_limit");
    ngx_uint_t                  i;
    ngx_hash_key_t             *k;
    ngx_http_core_main_conf_t  *cmcf;

    lmcf->route_index = NGX_ERROR;

    ngx_http_gw_limit_consumer_index = ngx_http_get_variable_index(cf,
                                            &ngx_http_gw_limit_consumer_id);
    if (ngx_http_gw_limit_consumer_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (ngx_http_gw_policy_add(cf, &ngx_http_gw_limit_kind) != NGX_OK) {
        return NGX_ERROR;
    }

    if (!ngx_http_gw_policy_routed(cf)) {
        return NGX_OK;
    }

    if (ngx_http_get_variable_index(cf, &ngx_http_gw_limit_consumer_name)
        == NGX_ERROR
        || ngx_http_get_variable_index(cf, &ngx_http_gw_limit_addr_name)
           == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    /* $gw_route_id, when the router defines it */

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    k = cmcf->variables_keys->keys.elts;

    for (i = 0; i < cmcf->variables_keys->keys.nelts; i++) {
        if (k[i].key.len == ngx_http_gw_limit_route_name.len
            && ngx_strncmp(k[i].key.data, ngx_http_gw_limit_route_name.data,
                           k[i].key.len)
               == 0)
        {
            lmcf->route_index = ngx_http_get_variable_index(cf,
                                            &ngx_http_gw_limit_route_name);
            if (lmcf->route_index == NGX_ERROR) {
                return NGX_ERROR;
            }

            break;
        }
    }

    lmcf->route_zone = ngx_http_gw_limit_zone_add(cf, &name, 0);
    if (lmcf->route_zone == NULL) {
        return NGX_ERROR;
    }

    if (lmcf->default_zone == NULL) {
        lmcf->default_zone = lmcf->route_zone;
    }

    lmcf->used = 1;

    if (ngx_http_gw_redis_configured(cf)) {
        lmcf->global = 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_limit_route_policy(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_limit_loc_conf_t *lcf = conf;

    size_t   i;
    json_t  *limit;

    if (!json_is_array(value)) {
        ngx_str_set(err, "\"limits\" must be an array");
        return NGX_ERROR;
    }

    if (json_array_size(value) > NGX_HTTP_GW_LIMIT_MAX) {
        ngx_str_set(err, "\"limits\": at most 16 limits on a route");
        return NGX_ERROR;
    }

    json_array_foreach(value, i, limit) {
        if (ngx_http_gw_limit_route_one(cf, lcf, limit, err) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* a JSON string member, as an nginx string; NULL: absent or too long */

static u_char *
ngx_http_gw_limit_route_str(json_t *o, const char *name, size_t *len)
{
    json_t  *v;

    v = json_object_get(o, name);

    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > NGX_HTTP_GW_LIMIT_ROUTE_ARG)
    {
        return NULL;
    }

    *len = json_string_length(v);

    return (u_char *) json_string_value(v);
}


static ngx_int_t
ngx_http_gw_limit_route_one(ngx_conf_t *cf, ngx_http_gw_limit_loc_conf_t *lcf,
    json_t *limit, ngx_str_t *err)
{
    char                           *rv;
    u_char                         *p, *s;
    size_t                          len;
    json_t                         *q, *count;
    ngx_str_t                       args[5];
    ngx_http_gw_policy_err_t        pe;
    ngx_http_gw_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_limit_module);

    if (!json_is_object(limit)) {
        ngx_str_set(err, "\"limits\": a limit must be an object");
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, 4 * (NGX_HTTP_GW_LIMIT_ROUTE_ARG + 32));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&args[0], "gw_limit");

    /* the name: the limit's id */

    s = ngx_http_gw_limit_route_str(limit, "id", &len);
    if (s == NULL) {
        ngx_str_set(err, "\"limits\": a limit has no valid \"id\"");
        return NGX_ERROR;
    }

    args[1].data = p;
    p = ngx_cpymem(p, s, len);
    args[1].len = p - args[1].data;
    *p++ = '\0';

    /* rate=, or quota=COUNT/WINDOW */

    args[2].data = p;
    s = ngx_http_gw_limit_route_str(limit, "rate", &len);
    q = json_object_get(limit, "quota");

    if (s != NULL) {
        p = ngx_sprintf(p, "rate=%*s", len, s);

    } else if (json_is_object(q)
               && json_is_integer(count = json_object_get(q, "count"))
               && (s = ngx_http_gw_limit_route_str(q, "window", &len))
                  != NULL)
    {
        p = ngx_sprintf(p, "quota=%L/%*s",
                        (int64_t) json_integer_value(count), len, s);

    } else {
        ngx_str_set(err, "\"limits\": a limit needs \"rate\" or \"quota\"");
        return NGX_ERROR;
    }

    args[2].len = p - args[2].data;
    *p++ = '\0';

    /* key= */

    s = ngx_http_gw_limit_route_str(limit, "key", &len);

    args[3].data = p;

    if (s == NULL || (len == 8 && ngx_strncmp(s, "consumer", 8) == 0)) {
        p = ngx_sprintf(p, "key=$%V", &ngx_http_gw_limit_consumer_name);

    } else if (len == 2 && ngx_strncmp(s, "ip", 2) == 0) {
        p = ngx_sprintf(p, "key=$%V", &ngx_http_gw_limit_addr_name);

    } else if (len == 5 && ngx_strncmp(s, "route", 5) == 0
               && lmcf->route_index != NGX_ERROR)
    {
        p = ngx_sprintf(p, "key=$%V", &ngx_http_gw_limit_route_name);

    } else {
        ngx_str_set(err, "\"limits\": \"key\" must be \"consumer\", \"ip\" "
                         "or \"route\"");
        return NGX_ERROR;
    }

    args[3].len = p - args[3].data;
    *p++ = '\0';

    /* mode= */

    s = ngx_http_gw_limit_route_str(limit, "scope", &len);

    args[4].data = p;

    if (s == NULL || (len == 5 && ngx_strncmp(s, "local", 5) == 0)) {
        p = ngx_cpymem(p, "mode=local", 10);

    } else if (len == 6 && ngx_strncmp(s, "global", 6) == 0) {

        if (!ngx_http_gw_redis_configured(cf)) {
            ngx_str_set(err, "\"limits\": a global limit needs \"gw_redis\" "
                             "in the http block");
            return NGX_ERROR;
        }

        p = ngx_cpymem(p, "mode=global", 11);

    } else {
        ngx_str_set(err, "\"limits\": \"scope\" must be \"local\" or "
                         "\"global\"");
        return NGX_ERROR;
    }

    args[4].len = p - args[4].data;
    *p = '\0';

    /* the directive's parser, its message as ours */

    ngx_str_set(err, "\"limits\": invalid limit");

    ngx_http_gw_policy_err_capture(cf, &pe, err);

    rv = ngx_http_gw_limit_conf_add(cf, lcf, args, 5, lmcf->route_zone);

    ngx_http_gw_policy_err_release(cf, &pe);

    if (rv != NGX_CONF_OK) {
        if (rv != NGX_CONF_ERROR) {
            ngx_str_set(err, "\"limits\": invalid limit");
        }

        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * $gw_limit_consumer: "c:" and the authenticated consumer's id, else "a:"
 * and the client address (one bucket per client for requests without a
 * consumer).
 */

ngx_int_t
ngx_http_gw_limit_consumer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                     *p;
    ngx_str_t                   id;
    ngx_http_variable_value_t  *vv;

    ngx_str_null(&id);

    if (ngx_http_gw_limit_consumer_index != NGX_ERROR) {
        vv = ngx_http_get_flushed_variable(r,
                                           ngx_http_gw_limit_consumer_index);

        if (vv != NULL && !vv->not_found && vv->len) {
            id.data = vv->data;
            id.len = vv->len;
        }
    }

    if (id.len == 0) {
        id = r->connection->addr_text;
    }

    p = ngx_pnalloc(r->pool, 2 + id.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    *p++ = (id.data == r->connection->addr_text.data) ? 'a' : 'c';
    *p++ = ':';
    p = ngx_cpymem(p, id.data, id.len);

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
