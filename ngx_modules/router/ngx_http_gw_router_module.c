
/*
 * Copyright (C) Tollgate
 *
 * gw_router (docs/routing.md, "gw_router"): routes a request by the
 * gateway's configuration snapshot, made from the admin API, with no
 * reload.
 *
 * In the rewrite phase of a location with gw_router, the handler pins
 * the current snapshot (one atomic load), matches the request against
 * its routes with lib/router (method, host, $uri, headers, raw query),
 * and answers 404 problem+json when nothing matches.  A match becomes the
 * request's ctx (ngx_http_gw_router.h: the route, its path's variables,
 * its upstream) and the variables $gw_route_id, $gw_route_upstream,
 * $gw_api_version and $gw_path_<name>.  Then r->loc_conf is switched to
 * the route's location configuration (its policies, made once per worker
 * and policy by ngx_http_gw_router_conf.c), so that the modules' own
 * phase handlers apply the route's key auth, JWT, limits and schemas as
 * they apply their directives; the route's version lifecycle runs
 * (ngx_http_gw_router_life()); and in the precontent phase, once access
 * has passed and the consumer is known, a split picks the upstream.
 *
 * The key decision: the router never copies or compiles routes per
 * worker.  The matcher's block is in shared memory and used as it is;
 * only what cannot be shared (regexes, module configurations) is made
 * per worker, lazily, and kept while a snapshot needs it.
 *
 * The module also registers the "plugins" policy kind: a route's plugin
 * configurations are carried in this module's location configuration
 * for the plugin runtime (issue 17), and named by $gw_route_plugins.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_router_int.h"


#define NGX_HTTP_GW_ROUTER_PLUGINS_MAX   64       /* per route */
#define NGX_HTTP_GW_ROUTER_PLUGIN_CONF   65536    /* bytes of one config */
#define NGX_HTTP_GW_ROUTER_NAME_MAX      64       /* id, name */

#define NGX_HTTP_GW_ROUTER_VAR_ID        0
#define NGX_HTTP_GW_ROUTER_VAR_UPSTREAM  1
#define NGX_HTTP_GW_ROUTER_VAR_VERSION   2


static ngx_int_t ngx_http_gw_router_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_router_match(ngx_http_request_t *r,
    ngx_http_gw_snap_t *snap, gw_router_match_t *m);
static int ngx_http_gw_router_header(void *ctx, const char *name,
    size_t nlen, const char **value, size_t *len);
static ngx_int_t ngx_http_gw_router_precontent(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_router_problem(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail);

static ngx_int_t ngx_http_gw_router_var(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_router_path_var(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_router_plugins_var(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static ngx_int_t ngx_http_gw_router_plugins_set(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);
static ngx_int_t ngx_http_gw_router_plugin(ngx_conf_t *cf,
    ngx_array_t *plugins, size_t i, json_t *p, ngx_str_t *err);
static ngx_int_t ngx_http_gw_router_err(ngx_conf_t *cf, ngx_str_t *err,
    const char *fmt, ...);
static ngx_uint_t ngx_http_gw_router_name_ok(const char *s, size_t len,
    ngx_uint_t plugin);

static char *ngx_http_gw_router(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_router_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_router_init(ngx_conf_t *cf);
static void *ngx_http_gw_router_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_router_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gw_router_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_router_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_router_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gw_router_commands[] = {

    { ngx_string("gw_router"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gw_router,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_router_module_ctx = {
    ngx_http_gw_router_preconf,            /* preconfiguration */
    ngx_http_gw_router_init,               /* postconfiguration */

    ngx_http_gw_router_create_main_conf,   /* create main configuration */
    ngx_http_gw_router_init_main_conf,     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_router_create_loc_conf,    /* create location configuration */
    ngx_http_gw_router_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_gw_router_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_router_module_ctx,        /* module context */
    ngx_http_gw_router_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_router_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_gw_router_vars[] = {

    { ngx_string("gw_route_id"), NULL, ngx_http_gw_router_var,
      NGX_HTTP_GW_ROUTER_VAR_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_route_upstream"), NULL, ngx_http_gw_router_var,
      NGX_HTTP_GW_ROUTER_VAR_UPSTREAM, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_api_version"), NULL, ngx_http_gw_router_var,
      NGX_HTTP_GW_ROUTER_VAR_VERSION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_route_plugins"), NULL, ngx_http_gw_router_plugins_var,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_path_"), NULL, ngx_http_gw_router_path_var,
      0, NGX_HTTP_VAR_PREFIX|NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* the "plugins" kind of route policies (ngx_http_gw_policy.h) */
static ngx_http_gw_policy_t  ngx_http_gw_router_plugins_policy = {
    ngx_string("plugins"),
    &ngx_http_gw_router_module,
    ngx_http_gw_router_plugins_set
};


static ngx_str_t  ngx_http_gw_router_get = ngx_string("GET");
static ngx_str_t  ngx_http_gw_router_head = ngx_string("HEAD");


ngx_http_gw_router_ctx_t *
ngx_http_gw_router_ctx(ngx_http_request_t *r)
{
    ngx_http_gw_router_req_t  *rq;

    rq = ngx_http_get_module_ctx(r, ngx_http_gw_router_module);

    if (rq == NULL || rq->pub.route == NULL) {
        return NULL;
    }

    return &rq->pub;
}


ngx_array_t *
ngx_http_gw_router_plugins(ngx_http_request_t *r)
{
    ngx_http_gw_router_loc_conf_t  *rlcf;

    /* the location's configuration first: the request's ctx is read
     * only where routes may give plugins */

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_router_module);

    if (rlcf->plugins == NULL || rlcf->plugins->nelts == 0) {
        return NULL;
    }

    if (ngx_http_gw_router_ctx(r) == NULL) {
        return NULL;
    }

    return rlcf->plugins;
}


/*
 * The rewrite phase of a gw_router location.  Runs again after an
 * internal redirect or a "rewrite ... last" into such a location (the
 * request is routed again by its new $uri, in the snapshot it pinned).
 */

static ngx_int_t
ngx_http_gw_router_handler(ngx_http_request_t *r)
{
    void                           **loc_conf;
    u_char                          *p, *last;
    ngx_int_t                        rc;
    ngx_http_gw_snap_t              *snap;
    gw_router_match_t               *m;
    ngx_http_gw_router_req_t        *rq;
    ngx_http_gw_snap_route_t        *route;
    ngx_http_gw_router_loc_conf_t   *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_router_module);

    if (!rlcf->enable) {
        return NGX_DECLINED;
    }

    snap = ngx_http_gw_snapshot_get(r);

    if (snap == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_router: no configuration snapshot yet");

        return ngx_http_gw_router_problem(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "urn:tollgate:problem:no-config", "No Configuration",
                   "the gateway has no routing configuration yet");
    }

    /*
     * $uri is decoded: a %0A or %7F in the request is a raw control byte
     * here, which no route path may hold (lib/router refuses them) and no
     * $gw_path_<name> may carry into a header or a log
     */

    last = r->uri.data + r->uri.len;

    for (p = r->uri.data; p < last; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "gw_router: a control byte in the path");

            return ngx_http_gw_router_problem(r, NGX_HTTP_BAD_REQUEST,
                       "urn:tollgate:problem:bad-path", "Bad Path",
                       "the path holds a control character");
        }
    }

    rq = ngx_http_get_module_ctx(r, ngx_http_gw_router_module);

    if (rq == NULL) {
        rq = ngx_palloc(r->pool, sizeof(ngx_http_gw_router_req_t));
        if (rq == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, rq, ngx_http_gw_router_module);
    }

    rq->pub.snap = snap;
    rq->pub.route = NULL;
    rq->pub.upstream = NULL;
    rq->pub.split = 0;
    rq->pub.deprecated = 0;
    rq->path = r->uri;
    rq->picked = 0;

    m = &rq->pub.match;

    rc = ngx_http_gw_router_match(r, snap, m);

    if (rc == GW_ROUTER_ERROR || (rc == GW_ROUTER_OK
                                  && m->route >= snap->nroutes))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_router: matching failed in revision %uL",
                      snap->revision);

        return ngx_http_gw_router_problem(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR,
                   "urn:tollgate:problem:router-failed", "Router Failed",
                   "the gateway could not match this request");
    }

    if (rc == GW_ROUTER_NONE) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gw_router: no route (revision %uL)", snap->revision);

        return ngx_http_gw_router_problem(r, NGX_HTTP_NOT_FOUND,
                   "urn:tollgate:problem:no-route", "No Route",
                   "no route matches this request");
    }

    route = &ngx_http_gw_snap_routes(snap)[m->route];

    rq->pub.route = route;

    if (route->upstream != NGX_HTTP_GW_SNAP_NONE
        && route->upstream < snap->nupstreams)
    {
        rq->pub.upstream = &ngx_http_gw_snap_upstreams(snap)[route->upstream];
    }

    rc = ngx_http_gw_router_route_conf(r, snap, m->route, r->loc_conf,
                                       &loc_conf);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_gw_router_problem(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR,
                   "urn:tollgate:problem:route-policy-invalid",
                   "Route Policy Invalid",
                   "the gateway could not apply this route's policies");
    }

    r->loc_conf = loc_conf;

    return ngx_http_gw_router_life(r, &rq->pub);
}


/*
 * lib/router's match of r.  HEAD is matched as GET first (RFC 9110
 * 9.3.2: the same answer without content), so that it reaches the
 * route a GET would; only when no route takes that GET, as HEAD.
 */

static ngx_int_t
ngx_http_gw_router_match(ngx_http_request_t *r, ngx_http_gw_snap_t *snap,
    gw_router_match_t *m)
{
    int               rc;
    ngx_str_t        *method;
    gw_router_re_t   *re;
    gw_router_req_t   req;

    method = (r->method == NGX_HTTP_HEAD) ? &ngx_http_gw_router_get
                                          : &r->method_name;

    req.method = (const char *) method->data;
    req.method_len = method->len;
    req.host = (const char *) r->headers_in.server.data;
    req.host_len = r->headers_in.server.len;
    req.path = (const char *) r->uri.data;
    req.path_len = r->uri.len;
    req.args = (const char *) r->args.data;
    req.args_len = r->args.len;
    req.header = ngx_http_gw_router_header;
    req.ctx = r;

    re = ngx_http_gw_snapshot_re(snap);

    rc = gw_router_match(ngx_http_gw_snap_router(snap), re, &req, m);

    if (rc == GW_ROUTER_NONE && r->method == NGX_HTTP_HEAD) {
        req.method = (const char *) ngx_http_gw_router_head.data;
        req.method_len = ngx_http_gw_router_head.len;

        rc = gw_router_match(ngx_http_gw_snap_router(snap), re, &req, m);
    }

    return rc;
}


/* lib/router's header callback: the first value of a request header */

static int
ngx_http_gw_router_header(void *ctx, const char *name, size_t nlen,
    const char **value, size_t *len)
{
    ngx_http_request_t *r = ctx;

    ngx_str_t         key;
    ngx_table_elt_t  *h;

    key.data = (u_char *) name;
    key.len = nlen;

    h = ngx_http_gw_header_in(r, &key);

    if (h == NULL) {
        return 0;
    }

    *value = (const char *) h->value.data;
    *len = h->value.len;

    return 1;
}


/*
 * The precontent phase: access has passed, the consumer is known, so a
 * route with splits picks its side now, before the balancer runs.
 */

static ngx_int_t
ngx_http_gw_router_precontent(ngx_http_request_t *r)
{
    ngx_http_gw_router_req_t  *rq;

    rq = ngx_http_get_module_ctx(r, ngx_http_gw_router_module);

    if (rq == NULL || rq->pub.route == NULL || rq->picked) {
        return NGX_DECLINED;
    }

    rq->picked = 1;

    if (rq->pub.route->nsplits == 0) {
        return NGX_DECLINED;
    }

    if (ngx_http_gw_router_split_pick(r, &rq->pub) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gw_router_problem(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail)
{
    ngx_http_gw_problem_t  problem;

    ngx_memzero(&problem, sizeof(ngx_http_gw_problem_t));

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);

    return ngx_http_gw_send_problem(r, &problem);
}


static ngx_int_t
ngx_http_gw_router_var(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_http_gw_snap_t           *snap;
    ngx_http_gw_snap_str_t       *str;
    ngx_http_gw_router_ctx_t     *ctx;

    ctx = ngx_http_gw_router_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    snap = ctx->snap;

    switch (data) {

    case NGX_HTTP_GW_ROUTER_VAR_ID:
        str = &ctx->route->id;
        break;

    case NGX_HTTP_GW_ROUTER_VAR_UPSTREAM:
        if (ctx->upstream == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        str = &ctx->upstream->id;
        break;

    default: /* NGX_HTTP_GW_ROUTER_VAR_VERSION */
        str = &ctx->route->api_version;
        break;
    }

    if (str->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) ngx_http_gw_snap_string(snap, *str);
    v->len = str->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/* $gw_path_<name>: data is the variable's whole name */

static ngx_int_t
ngx_http_gw_router_path_var(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    size_t                     len;
    u_char                    *n;
    ngx_uint_t                 i;
    gw_router_var_t           *var;
    ngx_http_gw_router_req_t  *rq;

    rq = ngx_http_get_module_ctx(r, ngx_http_gw_router_module);

    if (rq == NULL || rq->pub.route == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    n = name->data + sizeof("gw_path_") - 1;
    len = name->len - (sizeof("gw_path_") - 1);

    for (i = 0; i < rq->pub.match.nvars; i++) {
        var = &rq->pub.match.vars[i];

        if (var->name_len == len
            && ngx_strncmp(var->name, n, len) == 0
            && var->off + var->len <= rq->path.len)
        {
            v->data = rq->path.data + var->off;
            v->len = var->len;
            v->valid = 1;
            v->no_cacheable = 1;
            v->not_found = 0;
            return NGX_OK;
        }
    }

    v->not_found = 1;

    return NGX_OK;
}


/* $gw_route_plugins: the names of the route's plugins, "a,b" */

static ngx_int_t
ngx_http_gw_router_plugins_var(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_gw_router_plugin_t    *pl;
    ngx_http_gw_router_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_router_module);

    if (rlcf->plugins == NULL || rlcf->plugins->nelts == 0
        || ngx_http_gw_router_ctx(r) == NULL)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    pl = rlcf->plugins->elts;
    len = 0;

    for (i = 0; i < rlcf->plugins->nelts; i++) {
        len += pl[i].name.len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < rlcf->plugins->nelts; i++) {
        if (i > 0) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, pl[i].name.data, pl[i].name.len);
    }

    v->len = p - v->data;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * The "plugins" policy: [{"id": ref, "name": "[a-z][a-z0-9_-]*",
 * "config": {...}}, ...], at most NGX_HTTP_GW_ROUTER_PLUGINS_MAX, ids
 * unique; each config (an object, "{}" when absent) kept as compact JSON
 * text of at most NGX_HTTP_GW_ROUTER_PLUGIN_CONF bytes.
 */

static ngx_int_t
ngx_http_gw_router_plugins_set(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_router_loc_conf_t *rlcf = conf;

    size_t   i;
    json_t  *p;

    if (!json_is_array(value)) {
        return ngx_http_gw_router_err(cf, err, "\"plugins\" is not an array");
    }

    if (json_array_size(value) > NGX_HTTP_GW_ROUTER_PLUGINS_MAX) {
        return ngx_http_gw_router_err(cf, err,
                                      "\"plugins\": more than %d plugins",
                                      NGX_HTTP_GW_ROUTER_PLUGINS_MAX);
    }

    rlcf->plugins = ngx_array_create(cf->pool,
                                     ngx_max(json_array_size(value), 1),
                                     sizeof(ngx_http_gw_router_plugin_t));
    if (rlcf->plugins == NULL) {
        return NGX_ERROR;
    }

    json_array_foreach(value, i, p) {
        if (ngx_http_gw_router_plugin(cf, rlcf->plugins, i, p, err)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_router_plugin(ngx_conf_t *cf, ngx_array_t *plugins, size_t i,
    json_t *p, ngx_str_t *err)
{
    char                         *text;
    size_t                        len;
    json_t                       *id, *name, *config, *v;
    ngx_uint_t                    k;
    const char                   *key;
    ngx_http_gw_router_plugin_t  *pl, *all;

    if (!json_is_object(p)) {
        return ngx_http_gw_router_err(cf, err,
                                      "\"plugins\"[%uz] is not an object", i);
    }

    json_object_foreach(p, key, v) {
        if (ngx_strcmp(key, "id") != 0 && ngx_strcmp(key, "name") != 0
            && ngx_strcmp(key, "config") != 0)
        {
            return ngx_http_gw_router_err(cf, err,
                                          "\"plugins\"[%uz]: unknown member",
                                          i);
        }
    }

    id = json_object_get(p, "id");
    name = json_object_get(p, "name");
    config = json_object_get(p, "config");

    if (!json_is_string(id)
        || !ngx_http_gw_router_name_ok(json_string_value(id),
                                       json_string_length(id), 0))
    {
        return ngx_http_gw_router_err(cf, err,
                                      "\"plugins\"[%uz]: a bad \"id\"", i);
    }

    if (!json_is_string(name)
        || !ngx_http_gw_router_name_ok(json_string_value(name),
                                       json_string_length(name), 1))
    {
        return ngx_http_gw_router_err(cf, err,
                                      "\"plugins\"[%uz]: a bad \"name\"", i);
    }

    if (config != NULL && !json_is_object(config)) {
        return ngx_http_gw_router_err(cf, err,
                                      "\"plugins\"[%uz]: \"config\" is not "
                                      "an object", i);
    }

    all = plugins->elts;

    for (k = 0; k < plugins->nelts; k++) {
        if (all[k].id.len == json_string_length(id)
            && ngx_strncmp(all[k].id.data, json_string_value(id),
                           all[k].id.len) == 0)
        {
            return ngx_http_gw_router_err(cf, err,
                                          "\"plugins\"[%uz]: a duplicate "
                                          "\"id\"", i);
        }
    }

    pl = ngx_array_push(plugins);
    if (pl == NULL) {
        return NGX_ERROR;
    }

    pl->id.len = json_string_length(id);
    pl->id.data = ngx_pnalloc(cf->pool, pl->id.len);
    pl->name.len = json_string_length(name);
    pl->name.data = ngx_pnalloc(cf->pool, pl->name.len);

    if (pl->id.data == NULL || pl->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(pl->id.data, json_string_value(id), pl->id.len);
    ngx_memcpy(pl->name.data, json_string_value(name), pl->name.len);

    if (config == NULL) {
        ngx_str_set(&pl->config, "{}");
        return NGX_OK;
    }

    text = json_dumps(config, JSON_COMPACT|JSON_SORT_KEYS);
    if (text == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(text);

    if (len > NGX_HTTP_GW_ROUTER_PLUGIN_CONF) {
        free(text);
        return ngx_http_gw_router_err(cf, err,
                                      "\"plugins\"[%uz]: \"config\" is over "
                                      "%d bytes", i,
                                      NGX_HTTP_GW_ROUTER_PLUGIN_CONF);
    }

    pl->config.len = len;
    pl->config.data = ngx_pnalloc(cf->pool, len);

    if (pl->config.data == NULL) {
        free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(pl->config.data, text, len);
    free(text);

    return NGX_OK;
}


/* sets *err to the message (in cf->pool); returns NGX_ERROR */

static ngx_int_t
ngx_http_gw_router_err(ngx_conf_t *cf, ngx_str_t *err, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(cf->pool, NGX_MAX_CONF_ERRSTR);
    if (p == NULL) {
        ngx_str_set(err, "no memory");
        return NGX_ERROR;
    }

    va_start(args, fmt);
    err->len = ngx_vslprintf(p, p + NGX_MAX_CONF_ERRSTR, fmt, args) - p;
    va_end(args);

    err->data = p;

    return NGX_ERROR;
}


/*
 * An entity id ([A-Za-z0-9][A-Za-z0-9._-]*), or with plugin set a
 * plugin's name ([a-z][a-z0-9_-]*); 1 to NGX_HTTP_GW_ROUTER_NAME_MAX
 * bytes.
 */

static ngx_uint_t
ngx_http_gw_router_name_ok(const char *s, size_t len, ngx_uint_t plugin)
{
    u_char  c;
    size_t  i;

    if (len == 0 || len > NGX_HTTP_GW_ROUTER_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = s[i];

        if (c >= 'a' && c <= 'z') {
            continue;
        }

        if (c >= '0' && c <= '9') {
            if (plugin && i == 0) {
                return 0;
            }

            continue;
        }

        if (!plugin && c >= 'A' && c <= 'Z') {
            continue;
        }

        if (i > 0 && (c == '_' || c == '-' || (!plugin && c == '.'))) {
            continue;
        }

        return 0;
    }

    return 1;
}


static char *
ngx_http_gw_router(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_router_loc_conf_t *rlcf = conf;

    if (rlcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    rlcf->enable = 1;

    ngx_http_gw_policy_route(cf);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_router_preconf(ngx_conf_t *cf)
{
    if (ngx_http_gw_add_variables(cf, ngx_http_gw_router_vars) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gw_policy_add(cf, &ngx_http_gw_router_plugins_policy);
}


/* the phase handlers, only when some location has gw_router */

static ngx_int_t
ngx_http_gw_router_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (!ngx_http_gw_policy_routed(cf)) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_router_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_router_precontent;

    return NGX_OK;
}


static void *
ngx_http_gw_router_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_router_main_conf_t));
}


static char *
ngx_http_gw_router_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_router_main_conf_t *rmcf = conf;

    rmcf->http_ctx = cf->ctx;

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_router_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_router_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_router_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->plugins = NULL;
     */

    conf->enable = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gw_router_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_router_loc_conf_t *prev = parent;
    ngx_http_gw_router_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (conf->plugins == NULL) {
        conf->plugins = prev->plugins;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_router_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_router_conf_init();

    return NGX_OK;
}

