
/*
 * Copyright (C) Tollgate
 *
 * The combination of authentication mechanisms (docs/key-auth.md,
 * "gw_auth_satisfy"; docs/routing.md, a route's "auth").  Mechanisms
 * register (ngx_http_gw_auth_add) and report each request's outcome from
 * their access handlers; this file alone knows "all" and "any":
 *
 *   all  every mechanism on in the location must accept: the first one
 *        that finds no credential, or refuses one, denies at once, with
 *        its own challenge.
 *   any  one accepting mechanism is enough.  A mechanism that finds no
 *        credential lets the request go on while another one accepted or
 *        has yet to report; the last one denies, and the 401 offers every
 *        scheme of the location, its own challenge first (RFC 9110,
 *        11.6.1).  A credential that is there but bad is refused at once,
 *        whatever another one says.
 *
 * The outcomes live in the request's context, one slot per registered
 * mechanism, so the order in which the access handlers run does not
 * matter to the decision.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_auth.h"
#include "ngx_http_gw_policy.h"


#define NGX_HTTP_GW_SATISFY_ALL  0
#define NGX_HTTP_GW_SATISFY_ANY  1


typedef struct {
    ngx_http_gw_auth_mech_t    *mechs[NGX_HTTP_GW_AUTH_MECHS_MAX];
    ngx_uint_t                  nmechs;
} ngx_http_gw_auth_main_conf_t;


typedef struct {
    ngx_uint_t                  satisfy;
} ngx_http_gw_auth_loc_conf_t;


typedef struct {
    u_char                      outcome[NGX_HTTP_GW_AUTH_MECHS_MAX];
} ngx_http_gw_auth_ctx_t;


static ngx_int_t ngx_http_gw_auth_push(ngx_http_request_t *r,
    ngx_str_t *challenge);
static ngx_int_t ngx_http_gw_auth_policy(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);
static void *ngx_http_gw_auth_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_auth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_auth_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_gw_auth_satisfy_modes[] = {
    { ngx_string("all"), NGX_HTTP_GW_SATISFY_ALL },
    { ngx_string("any"), NGX_HTTP_GW_SATISFY_ANY },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gw_auth_commands[] = {

    { ngx_string("gw_auth_satisfy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_auth_loc_conf_t, satisfy),
      &ngx_http_gw_auth_satisfy_modes },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_auth_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_auth_init,                 /* postconfiguration */

    ngx_http_gw_auth_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_auth_create_loc_conf,      /* create location configuration */
    ngx_http_gw_auth_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_gw_auth_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_auth_module_ctx,          /* module context */
    ngx_http_gw_auth_commands,             /* module directives */
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


static ngx_http_gw_policy_t  ngx_http_gw_auth_kind = {
    ngx_string("auth"), &ngx_http_gw_auth_module, ngx_http_gw_auth_policy
};

static ngx_str_t  ngx_http_gw_auth_www_authenticate =
    ngx_string("WWW-Authenticate");


ngx_int_t
ngx_http_gw_auth_add(ngx_conf_t *cf, ngx_http_gw_auth_mech_t *mech)
{
    ngx_http_gw_auth_main_conf_t  *amcf;

    amcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_auth_module);

    if (amcf->nmechs == NGX_HTTP_GW_AUTH_MECHS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many authentication mechanisms, at most %d",
                           NGX_HTTP_GW_AUTH_MECHS_MAX);
        return NGX_ERROR;
    }

    mech->index = amcf->nmechs;
    amcf->mechs[amcf->nmechs++] = mech;

    return NGX_OK;
}


ngx_uint_t
ngx_http_gw_auth_report(ngx_http_request_t *r, ngx_http_gw_auth_mech_t *mech,
    ngx_uint_t outcome)
{
    ngx_uint_t                     i;
    ngx_http_gw_auth_ctx_t        *ctx;
    ngx_http_gw_auth_mech_t       *other;
    ngx_http_gw_auth_loc_conf_t   *alcf;
    ngx_http_gw_auth_main_conf_t  *amcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_auth_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_auth_ctx_t));
        if (ctx == NULL) {
            return 1;       /* the deny path answers 500 if it cannot */
        }

        ngx_http_set_ctx(r, ctx, ngx_http_gw_auth_module);
    }

    ctx->outcome[mech->index] = (u_char) outcome;

    switch (outcome) {

    case NGX_HTTP_GW_AUTH_ACCEPTED:
    case NGX_HTTP_GW_AUTH_WAITING:
        return 0;

    case NGX_HTTP_GW_AUTH_REFUSED:
        return 1;

    default: /* NGX_HTTP_GW_AUTH_NO_CREDENTIAL */
        break;
    }

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_auth_module);

    if (alcf->satisfy != NGX_HTTP_GW_SATISFY_ANY) {
        return 1;
    }

    /* any: excused while another mechanism accepted or has yet to run */

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gw_auth_module);

    for (i = 0; i < amcf->nmechs; i++) {
        other = amcf->mechs[i];

        if (other == mech || !other->on(r)) {
            continue;
        }

        if (ctx->outcome[i] == NGX_HTTP_GW_AUTH_ACCEPTED
            || ctx->outcome[i] == NGX_HTTP_GW_AUTH_WAITING
            || ctx->outcome[i] == 0)
        {
            return 0;
        }
    }

    return 1;
}


ngx_int_t
ngx_http_gw_auth_deny(ngx_http_request_t *r, ngx_http_gw_auth_mech_t *mech,
    ngx_http_gw_problem_t *problem, ngx_str_t *challenge)
{
    ngx_str_t                      value;
    ngx_uint_t                     i;
    ngx_http_gw_auth_ctx_t        *ctx;
    ngx_http_gw_auth_mech_t       *other;
    ngx_http_gw_auth_loc_conf_t   *alcf;
    ngx_http_gw_auth_main_conf_t  *amcf;

    if (challenge->len && ngx_http_gw_auth_push(r, challenge) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (problem->status != NGX_HTTP_UNAUTHORIZED) {
        return ngx_http_gw_send_problem(r, problem);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_auth_module);
    alcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_auth_module);

    if (ctx != NULL
        && ctx->outcome[mech->index] == NGX_HTTP_GW_AUTH_NO_CREDENTIAL
        && alcf->satisfy == NGX_HTTP_GW_SATISFY_ANY)
    {
        /* no credential at all: any other scheme would have done */

        amcf = ngx_http_get_module_main_conf(r, ngx_http_gw_auth_module);

        for (i = 0; i < amcf->nmechs; i++) {
            other = amcf->mechs[i];

            if (other == mech || !other->on(r)) {
                continue;
            }

            if (other->challenge(r, &value) != NGX_OK
                || (value.len && ngx_http_gw_auth_push(r, &value) != NGX_OK))
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }
    }

    return ngx_http_gw_send_problem(r, problem);
}


static ngx_int_t
ngx_http_gw_auth_push(ngx_http_request_t *r, ngx_str_t *challenge)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = ngx_http_gw_auth_www_authenticate;
    h->value = *challenge;

    return NGX_OK;
}


/* a route's "auth": {"satisfy": "all" | "any"} */

static ngx_int_t
ngx_http_gw_auth_policy(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_auth_loc_conf_t *alcf = conf;

    json_t      *v;
    const char  *key;

    if (!json_is_object(value)) {
        ngx_str_set(err, "\"auth\" must be an object");
        return NGX_ERROR;
    }

    json_object_foreach(value, key, v) {

        if (ngx_strcmp(key, "satisfy") != 0) {
            ngx_str_set(err, "\"auth\" has a member other than \"satisfy\"");
            return NGX_ERROR;
        }

        if (json_is_string(v) && ngx_strcmp(json_string_value(v), "all") == 0)
        {
            alcf->satisfy = NGX_HTTP_GW_SATISFY_ALL;

        } else if (json_is_string(v)
                   && ngx_strcmp(json_string_value(v), "any") == 0)
        {
            alcf->satisfy = NGX_HTTP_GW_SATISFY_ANY;

        } else {
            ngx_str_set(err, "\"auth.satisfy\" must be \"all\" or \"any\"");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void *
ngx_http_gw_auth_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_auth_main_conf_t));
}


static void *
ngx_http_gw_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_auth_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_auth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->satisfy = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_gw_auth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_auth_loc_conf_t *prev = parent;
    ngx_http_gw_auth_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->satisfy, prev->satisfy,
                              NGX_HTTP_GW_SATISFY_ALL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_auth_init(ngx_conf_t *cf)
{
    return ngx_http_gw_policy_add(cf, &ngx_http_gw_auth_kind);
}
