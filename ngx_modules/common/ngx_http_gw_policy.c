
/*
 * Copyright (C) Tollgate
 *
 * Route policies (ngx_http_gw_policy.h): the registry of policy kinds,
 * and a route's location configuration made from its policy object.
 *
 * The registry lives in the http block's configuration, so that a reload
 * starts a fresh one: in the main configuration of the router module,
 * whose first member is reserved for it (a pointer this file owns).  At
 * run time the router passes a configuration context whose ctx is the
 * http block's, so the same lookup finds the registry there.
 *
 * A route's configuration is the gw_router location's array of module
 * configurations, copied; every module that has a member in the policy
 * gets a configuration of its own (create_loc_conf), filled by the kinds'
 * set() in registration order, then merged with the location's
 * (merge_loc_conf, the location as parent), as a nested location's would
 * be.  The other modules keep the location's configurations: shared, not
 * copied.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_router.h"


/* the policy kinds one route's configuration may touch, at most */
#define NGX_HTTP_GW_POLICY_KINDS  32


typedef struct {
    ngx_array_t                 kinds;      /* ngx_http_gw_policy_t * */
    ngx_uint_t                  routed;     /* some location has gw_router */
} ngx_http_gw_policy_registry_t;


static ngx_http_gw_policy_registry_t *ngx_http_gw_policy_registry(
    ngx_conf_t *cf);


/*
 * The registry of cf's http block, made at the first call; NULL on no
 * memory.  The router's main configuration starts with a pointer for it.
 */

static ngx_http_gw_policy_registry_t *
ngx_http_gw_policy_registry(ngx_conf_t *cf)
{
    void                           **slot;
    ngx_http_gw_policy_registry_t   *reg;

    slot = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_router_module);
    if (slot == NULL) {
        return NULL;
    }

    if (*slot != NULL) {
        return *slot;
    }

    reg = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_policy_registry_t));
    if (reg == NULL) {
        return NULL;
    }

    if (ngx_array_init(&reg->kinds, cf->pool, 8,
                       sizeof(ngx_http_gw_policy_t *))
        != NGX_OK)
    {
        return NULL;
    }

    *slot = reg;

    return reg;
}


ngx_int_t
ngx_http_gw_policy_add(ngx_conf_t *cf, ngx_http_gw_policy_t *policy)
{
    ngx_uint_t                       i;
    ngx_http_gw_policy_t           **kinds, **k;
    ngx_http_gw_policy_registry_t   *reg;

    reg = ngx_http_gw_policy_registry(cf);
    if (reg == NULL) {
        return NGX_ERROR;
    }

    if (policy->set == NULL || policy->module == NULL
        || policy->module->type != NGX_HTTP_MODULE
        || ((ngx_http_module_t *) policy->module->ctx)->create_loc_conf
           == NULL)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "route policy \"%V\": no module configuration to fill",
                      &policy->name);
        return NGX_ERROR;
    }

    kinds = reg->kinds.elts;

    for (i = 0; i < reg->kinds.nelts; i++) {
        if (kinds[i]->name.len == policy->name.len
            && ngx_strncmp(kinds[i]->name.data, policy->name.data,
                           policy->name.len) == 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "route policy \"%V\" is registered twice",
                          &policy->name);
            return NGX_ERROR;
        }
    }

    if (reg->kinds.nelts == NGX_HTTP_GW_POLICY_KINDS) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "route policy \"%V\": more than %d kinds",
                      &policy->name, NGX_HTTP_GW_POLICY_KINDS);
        return NGX_ERROR;
    }

    k = ngx_array_push(&reg->kinds);
    if (k == NULL) {
        return NGX_ERROR;
    }

    *k = policy;

    return NGX_OK;
}


void
ngx_http_gw_policy_route(ngx_conf_t *cf)
{
    ngx_http_gw_policy_registry_t  *reg;

    reg = ngx_http_gw_policy_registry(cf);
    if (reg != NULL) {
        reg->routed = 1;
    }
}


ngx_uint_t
ngx_http_gw_policy_routed(ngx_conf_t *cf)
{
    void  **slot;

    slot = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_router_module);

    return slot != NULL && *slot != NULL
           && ((ngx_http_gw_policy_registry_t *) *slot)->routed;
}


/*
 * Accepts: policy, a JSON object whose every member is a registered
 * kind.  Rejects: anything else, and whatever a kind's set() or a
 * module's merge refuses; *err then says why, in cf->pool.  The route's
 * array and the configurations made are in cf->pool (the caller frees
 * them with it, also after a failure).
 */

ngx_int_t
ngx_http_gw_policy_loc_conf(ngx_conf_t *cf, void **base, json_t *policy,
    void ***loc_conf, ngx_str_t *err)
{
    char                            *rv;
    void                           **conf;
    json_t                          *value;
    ngx_uint_t                       i, n, nmade;
    ngx_uint_t                       made[NGX_HTTP_GW_POLICY_KINDS];
    const char                      *key;
    ngx_http_module_t               *module;
    ngx_http_gw_policy_t           **kinds;
    ngx_http_gw_policy_registry_t   *reg;

    reg = ngx_http_gw_policy_registry(cf);
    if (reg == NULL) {
        ngx_str_set(err, "no memory");
        return NGX_ERROR;
    }

    if (!json_is_object(policy)) {
        ngx_str_set(err, "the policy is not a JSON object");
        return NGX_ERROR;
    }

    kinds = reg->kinds.elts;

    /* every member must be a kind: count those that are */

    n = 0;

    for (i = 0; i < reg->kinds.nelts; i++) {
        if (json_object_getn(policy, (const char *) kinds[i]->name.data,
                             kinds[i]->name.len)
            != NULL)
        {
            n++;
        }
    }

    if (n != json_object_size(policy)) {
        json_object_foreach(policy, key, value) {
            for (i = 0; i < reg->kinds.nelts; i++) {
                if (ngx_strlen(key) == kinds[i]->name.len
                    && ngx_strncmp(key, kinds[i]->name.data,
                                   kinds[i]->name.len) == 0)
                {
                    break;
                }
            }

            if (i == reg->kinds.nelts) {
                break;
            }
        }

        err->data = ngx_pnalloc(cf->pool, NGX_MAX_CONF_ERRSTR);
        if (err->data == NULL) {
            ngx_str_set(err, "no memory");
            return NGX_ERROR;
        }

        err->len = ngx_snprintf(err->data, NGX_MAX_CONF_ERRSTR,
                                "unknown policy member \"%*s\"",
                                key ? ngx_min(ngx_strlen(key), 64) : 0,
                                key ? key : "")
                   - err->data;
        return NGX_ERROR;
    }

    conf = ngx_palloc(cf->pool, ngx_http_max_module * sizeof(void *));
    if (conf == NULL) {
        ngx_str_set(err, "no memory");
        return NGX_ERROR;
    }

    ngx_memcpy(conf, base, ngx_http_max_module * sizeof(void *));

    nmade = 0;

    for (i = 0; i < reg->kinds.nelts; i++) {
        value = json_object_getn(policy, (const char *) kinds[i]->name.data,
                                 kinds[i]->name.len);
        if (value == NULL) {
            continue;
        }

        n = kinds[i]->module->ctx_index;
        module = kinds[i]->module->ctx;

        if (conf[n] == base[n]) {
            conf[n] = module->create_loc_conf(cf);
            if (conf[n] == NULL) {
                ngx_str_set(err, "no memory");
                return NGX_ERROR;
            }

            made[nmade++] = i;
        }

        ngx_str_null(err);

        if (kinds[i]->set(cf, conf[n], value, err) != NGX_OK) {
            if (err->len == 0) {
                ngx_str_set(err, "refused");
            }

            return NGX_ERROR;
        }
    }

    for (i = 0; i < nmade; i++) {
        n = kinds[made[i]]->module->ctx_index;
        module = kinds[made[i]]->module->ctx;

        if (module->merge_loc_conf == NULL) {
            continue;
        }

        rv = module->merge_loc_conf(cf, base[n], conf[n]);

        if (rv != NGX_CONF_OK) {
            err->data = ngx_pnalloc(cf->pool, NGX_MAX_CONF_ERRSTR);
            if (err->data == NULL) {
                ngx_str_set(err, "no memory");
                return NGX_ERROR;
            }

            err->len = ngx_snprintf(err->data, NGX_MAX_CONF_ERRSTR,
                                    "\"%V\": the merge with the location's "
                                    "configuration failed",
                                    &kinds[made[i]]->name)
                       - err->data;
            return NGX_ERROR;
        }
    }

    *loc_conf = conf;

    return NGX_OK;
}
