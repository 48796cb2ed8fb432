
/*
 * Copyright (C) Tollgate
 *
 * Identity headers: the gateway tells an upstream who the caller is with
 * X-Consumer-ID and X-Consumer-Name (key auth, gw_consumer_claim) and the
 * gw_jwt_claim_header names (JWT), so an upstream trusts them, and a
 * client must never be the one sending them.  Each authentication module
 * drops the client's copies where it runs, but a location with JWT only,
 * or none at all, in the same server would forward them.
 *
 * So, once any authentication directive appears in the http block (or
 * "gw_identity_headers strip" does), every location of every server drops
 * from the client's request every header named X-Consumer-* (any case,
 * any number of copies) and every claim header name configured anywhere
 * in the http block, unless "gw_identity_headers pass" says otherwise.
 *
 * It runs in the preaccess phase, before any authentication sets its own
 * values, once per request: one walk of the header list, and the list is
 * rebuilt only when a header goes.  After an internal redirect the
 * identity headers left are the gateway's (set by the first location's
 * authentication), so they stay; $gw_identity_stripped, cached in the
 * request's variables, which survive a redirect, marks that the walk was
 * done.  Subrequests copy the main request's headers, cleaned already.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_identity.h"
#include "ngx_http_gw_policy.h"


#define NGX_HTTP_GW_IDENTITY_PASS   0
#define NGX_HTTP_GW_IDENTITY_STRIP  1

#define NGX_HTTP_GW_IDENTITY_PREFIX  "x-consumer-"


typedef struct {
    ngx_array_t                 names;      /* ngx_str_t, lowercase */
    ngx_int_t                   index;      /* of $gw_identity_stripped */
    ngx_uint_t                  used;
} ngx_http_gw_identity_main_conf_t;


typedef struct {
    ngx_uint_t                  mode;
} ngx_http_gw_identity_loc_conf_t;


static ngx_int_t ngx_http_gw_identity_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_gw_identity_named(ngx_table_elt_t *h,
    void *data);
static ngx_int_t ngx_http_gw_identity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_identity_add_variable(ngx_conf_t *cf);
static char *ngx_http_gw_identity_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_gw_identity_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_identity_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_identity_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_gw_identity_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_gw_identity_modes[] = {
    { ngx_string("pass"), NGX_HTTP_GW_IDENTITY_PASS },
    { ngx_string("strip"), NGX_HTTP_GW_IDENTITY_STRIP },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gw_identity_commands[] = {

    { ngx_string("gw_identity_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_identity_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_identity_loc_conf_t, mode),
      &ngx_http_gw_identity_modes },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_identity_module_ctx = {
    ngx_http_gw_identity_add_variable,     /* preconfiguration */
    ngx_http_gw_identity_init,             /* postconfiguration */

    ngx_http_gw_identity_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_identity_create_loc_conf,  /* create location configuration */
    ngx_http_gw_identity_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_gw_identity_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_identity_module_ctx,      /* module context */
    ngx_http_gw_identity_commands,         /* module directives */
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


static ngx_str_t  ngx_http_gw_identity_var_name =
    ngx_string("gw_identity_stripped");


/*
 * Preaccess, main request only: the first pass through a location with
 * "strip" removes the client's identity headers and sets
 * $gw_identity_stripped to how many went; the module's context marks the
 * pass as clean for the authentication modules that follow.
 */

static ngx_int_t
ngx_http_gw_identity_handler(ngx_http_request_t *r)
{
    u_char                            *p;
    ngx_uint_t                         n;
    ngx_http_variable_value_t         *vv;
    ngx_http_gw_identity_loc_conf_t   *ilcf;
    ngx_http_gw_identity_main_conf_t  *imcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_identity_module);

    if (r != r->main || ilcf->mode != NGX_HTTP_GW_IDENTITY_STRIP) {
        return NGX_DECLINED;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gw_identity_module);
    vv = &r->variables[imcf->index];

    if (vv->valid) {
        /* done before an internal redirect: what is left is the gateway's */
        return NGX_DECLINED;
    }

    if (ngx_http_gw_drop_headers(r, ngx_http_gw_identity_named, imcf, &n)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (n == 0) {
        ngx_str_set(vv, "0");

    } else {
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        vv->data = p;
        vv->len = ngx_sprintf(p, "%ui", n) - p;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "gw identity: %ui client header(s) removed", n);
    }

    vv->valid = 1;
    vv->no_cacheable = 0;
    vv->not_found = 0;

    ngx_http_set_ctx(r, imcf, ngx_http_gw_identity_module);

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_http_gw_identity_named(ngx_table_elt_t *h, void *data)
{
    ngx_http_gw_identity_main_conf_t *imcf = data;

    ngx_str_t   *name;
    ngx_uint_t   i;

    if (h->key.len >= sizeof(NGX_HTTP_GW_IDENTITY_PREFIX) - 1
        && ngx_strncasecmp(h->key.data,
                           (u_char *) NGX_HTTP_GW_IDENTITY_PREFIX,
                           sizeof(NGX_HTTP_GW_IDENTITY_PREFIX) - 1)
           == 0)
    {
        return 1;
    }

    name = imcf->names.elts;

    for (i = 0; i < imcf->names.nelts; i++) {
        if (h->key.len == name[i].len
            && ngx_strncasecmp(h->key.data, name[i].data, name[i].len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


ngx_uint_t
ngx_http_gw_identity_clean(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r, ngx_http_gw_identity_module) != NULL;
}


ngx_int_t
ngx_http_gw_identity_add(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_str_t                         *s;
    ngx_uint_t                         i;
    ngx_http_gw_identity_main_conf_t  *imcf;

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_identity_module);
    imcf->used = 1;

    if (name == NULL) {
        return NGX_OK;
    }

    s = imcf->names.elts;

    for (i = 0; i < imcf->names.nelts; i++) {
        if (s[i].len == name->len
            && ngx_strncasecmp(s[i].data, name->data, name->len) == 0)
        {
            return NGX_OK;
        }
    }

    s = ngx_array_push(&imcf->names);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->len = name->len;
    s->data = ngx_pnalloc(cf->pool, name->len);
    if (s->data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(s->data, name->data, name->len);

    return NGX_OK;
}


/* read before the first stripping pass: not found; then the count */

static ngx_int_t
ngx_http_gw_identity_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    v->not_found = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_identity_add_variable(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_gw_identity_var_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_gw_identity_variable;

    return NGX_OK;
}


static char *
ngx_http_gw_identity_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_identity_loc_conf_t *ilcf = conf;

    char  *rv;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && ilcf->mode == NGX_HTTP_GW_IDENTITY_STRIP
        && ngx_http_gw_identity_add(cf, NULL) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return rv;
}


static void *
ngx_http_gw_identity_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_identity_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_identity_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&imcf->names, cf->pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    imcf->index = NGX_ERROR;

    return imcf;
}


static void *
ngx_http_gw_identity_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_identity_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_identity_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->mode = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_gw_identity_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gw_identity_loc_conf_t *prev = parent;
    ngx_http_gw_identity_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->mode, prev->mode,
                              NGX_HTTP_GW_IDENTITY_STRIP);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_identity_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt               *h;
    ngx_http_core_main_conf_t         *cmcf;
    ngx_http_gw_identity_main_conf_t  *imcf;

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_identity_module);

    /* a route of gw_router may carry authentication */

    if (!imcf->used && !ngx_http_gw_policy_routed(cf)) {
        return NGX_OK;
    }

    imcf->index = ngx_http_get_variable_index(cf,
                                              &ngx_http_gw_identity_var_name);
    if (imcf->index == NGX_ERROR) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_identity_handler;

    return NGX_OK;
}
