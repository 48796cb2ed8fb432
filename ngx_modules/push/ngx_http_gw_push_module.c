
/*
 * Copyright (C) Tollgate
 *
 * Who may subscribe to which push channel (docs/push.md).  The transport
 * is nchan's (a subscriber location serving EventSource and WebSocket);
 * this module only decides, in the access phase and after authentication
 * (gw_key_auth, gw_jwt), whether the authenticated caller may open the
 * channel the location named:
 *
 *     gw_push_authorize $channel consumer;      c.<consumer id>
 *     gw_push_authorize $channel claim=groups;  g.<v>, v in the claim
 *     gw_push_authorize $channel any;           p.<anything>
 *
 * Several directives in a location are alternatives: one that allows is
 * enough.  The channel name is checked first, whatever the rules: 1 to
 * 128 bytes of [A-Za-z0-9_.:-], else 400, so nchan never sees a name with
 * a separator or a byte it would treat specially.  A caller without an
 * identity (no consumer, no verified token) is 401: the authentication
 * modules normally refused it already, so that answer only shows a
 * location where push is authorized without authentication.
 *
 * The handler is registered after the authentication modules' (the
 * feature comes before keyauth and jwt in ngx_modules/config), so nginx
 * runs it after theirs, once they have accepted the request.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_keyauth.h"


#define NGX_HTTP_GW_PUSH_CONSUMER     0
#define NGX_HTTP_GW_PUSH_CLAIM        1
#define NGX_HTTP_GW_PUSH_ANY          2

#define NGX_HTTP_GW_PUSH_CHANNEL_MAX  128


typedef struct {
    ngx_http_complex_value_t   channel;
    ngx_uint_t                 kind;
    ngx_str_t                  claim;          /* NUL-terminated */
} ngx_http_gw_push_rule_t;


typedef struct {
    ngx_array_t               *rules;          /* ngx_http_gw_push_rule_t */
} ngx_http_gw_push_loc_conf_t;


typedef struct {
    ngx_uint_t                 used;
} ngx_http_gw_push_main_conf_t;


static ngx_int_t ngx_http_gw_push_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_gw_push_allows(ngx_http_gw_push_rule_t *rule,
    ngx_str_t *channel, ngx_http_gw_keyauth_record_t *rec, json_t *claims);
static ngx_uint_t ngx_http_gw_push_prefixed(ngx_str_t *channel,
    const char *prefix, const u_char *v, size_t len);
static ngx_uint_t ngx_http_gw_push_name_valid(ngx_str_t *channel);
static ngx_int_t ngx_http_gw_push_deny(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *title,
    const char *detail, ngx_str_t *channel);
static char *ngx_http_gw_push_authorize(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_gw_push_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_push_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_push_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_push_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_gw_push_commands[] = {

    { ngx_string("gw_push_authorize"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_gw_push_authorize,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_push_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_push_init,                 /* postconfiguration */

    ngx_http_gw_push_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_push_create_loc_conf,      /* create location configuration */
    ngx_http_gw_push_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_gw_push_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_push_module_ctx,          /* module context */
    ngx_http_gw_push_commands,             /* module directives */
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


/*
 * The access handler: NGX_DECLINED when the location has no rule or a
 * rule allows; otherwise the 400, 401 or 403 problem, logged at info.
 */

static ngx_int_t
ngx_http_gw_push_handler(ngx_http_request_t *r)
{
    json_t                        *claims;
    ngx_str_t                      channel;
    ngx_uint_t                     i;
    ngx_http_gw_push_rule_t       *rule;
    ngx_http_gw_push_loc_conf_t   *plcf;
    ngx_http_gw_keyauth_record_t  *rec;

    plcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_push_module);

    if (plcf->rules == NULL) {
        return NGX_DECLINED;
    }

    rule = plcf->rules->elts;

    /* every rule's channel is checked before any is tried */

    for (i = 0; i < plcf->rules->nelts; i++) {
        if (ngx_http_complex_value(r, &rule[i].channel, &channel) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!ngx_http_gw_push_name_valid(&channel)) {
            return ngx_http_gw_push_deny(r, NGX_HTTP_BAD_REQUEST,
                       "urn:tollgate:problem:push-channel-invalid",
                       "Invalid push channel",
                       "a channel name is 1 to 128 of A-Z a-z 0-9 _ . : -",
                       &channel);
        }
    }

    rec = ngx_http_gw_keyauth_consumer(r);
    claims = ngx_http_gw_jwt_claims(r);

    if (rec == NULL && claims == NULL) {
        return ngx_http_gw_push_deny(r, NGX_HTTP_UNAUTHORIZED,
                   "urn:tollgate:problem:push-unauthenticated",
                   "Authentication required",
                   "a push channel needs an authenticated caller", &channel);
    }

    for (i = 0; i < plcf->rules->nelts; i++) {
        if (ngx_http_complex_value(r, &rule[i].channel, &channel) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_gw_push_allows(&rule[i], &channel, rec, claims)) {
            return NGX_DECLINED;
        }
    }

    return ngx_http_gw_push_deny(r, NGX_HTTP_FORBIDDEN,
               "urn:tollgate:problem:push-channel-forbidden",
               "Push channel not allowed",
               "the caller may not subscribe to this channel", &channel);
}


/*
 * 1 when rule lets the caller (rec: its consumer, or NULL; claims: its
 * verified token's, or NULL) open channel.  Without a consumer, a
 * token's "sub" (a string) is the consumer id.
 */

static ngx_uint_t
ngx_http_gw_push_allows(ngx_http_gw_push_rule_t *rule, ngx_str_t *channel,
    ngx_http_gw_keyauth_record_t *rec, json_t *claims)
{
    size_t   i;
    json_t  *v, *item;

    switch (rule->kind) {

    case NGX_HTTP_GW_PUSH_ANY:
        return ngx_http_gw_push_prefixed(channel, "p.", NULL, 0);

    case NGX_HTTP_GW_PUSH_CONSUMER:
        if (rec != NULL) {
            return ngx_http_gw_push_prefixed(channel, "c.", rec->id,
                                             rec->id_len);
        }

        v = (claims != NULL) ? json_object_get(claims, "sub") : NULL;

        if (v == NULL || !json_is_string(v)) {
            return 0;
        }

        return ngx_http_gw_push_prefixed(channel, "c.",
                                         (u_char *) json_string_value(v),
                                         json_string_length(v));

    default: /* NGX_HTTP_GW_PUSH_CLAIM */
        v = (claims != NULL)
            ? json_object_get(claims, (char *) rule->claim.data) : NULL;

        if (v == NULL) {
            return 0;
        }

        if (json_is_string(v)) {
            return ngx_http_gw_push_prefixed(channel, "g.",
                                             (u_char *) json_string_value(v),
                                             json_string_length(v));
        }

        if (!json_is_array(v)) {
            return 0;
        }

        json_array_foreach(v, i, item) {
            if (json_is_string(item)
                && ngx_http_gw_push_prefixed(channel, "g.",
                                      (u_char *) json_string_value(item),
                                      json_string_length(item)))
            {
                return 1;
            }
        }

        return 0;
    }
}


/*
 * 1 when channel is prefix followed by exactly v (len bytes); with v
 * NULL, by anything at all but nothing.
 */

static ngx_uint_t
ngx_http_gw_push_prefixed(ngx_str_t *channel, const char *prefix,
    const u_char *v, size_t len)
{
    size_t  n;

    n = ngx_strlen(prefix);

    if (channel->len <= n || ngx_strncmp(channel->data, prefix, n) != 0) {
        return 0;
    }

    if (v == NULL) {
        return 1;
    }

    return channel->len - n == len
           && ngx_memcmp(channel->data + n, v, len) == 0;
}


static ngx_uint_t
ngx_http_gw_push_name_valid(ngx_str_t *channel)
{
    u_char  *p, *end;

    if (channel->len == 0 || channel->len > NGX_HTTP_GW_PUSH_CHANNEL_MAX) {
        return 0;
    }

    end = channel->data + channel->len;

    for (p = channel->data; p < end; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
            || (*p >= '0' && *p <= '9')
            || *p == '_' || *p == '.' || *p == ':' || *p == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* the denial, logged at info with the channel escaped */

static ngx_int_t
ngx_http_gw_push_deny(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *title, const char *detail,
    ngx_str_t *channel)
{
    u_char                 buf[NGX_HTTP_GW_LOG_SIZE];
    ngx_str_t              esc;
    ngx_http_gw_problem_t  problem;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gw_push_authorize: %ui for channel \"%V\"", status,
                  ngx_http_gw_log_escape(&esc, buf, channel->data,
                                         channel->len));

    problem.status = status;
    problem.type = type;
    problem.title = title;
    problem.detail.data = (u_char *) detail;
    problem.detail.len = ngx_strlen(detail);
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(r, &problem);
}


/* gw_push_authorize $variable consumer | claim=name | any */

static char *
ngx_http_gw_push_authorize(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_push_loc_conf_t  *plcf = conf;

    u_char                            *p;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_gw_push_rule_t           *rule;
    ngx_http_gw_push_main_conf_t      *pmcf;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    if (value[1].len < 2 || value[1].data[0] != '$') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": the channel must be a variable, "
                           "not \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (plcf->rules == NULL) {
        plcf->rules = ngx_array_create(cf->pool, 2,
                                       sizeof(ngx_http_gw_push_rule_t));
        if (plcf->rules == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    rule = ngx_array_push(plcf->rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(rule, sizeof(ngx_http_gw_push_rule_t));
    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[1];
    ccv.complex_value = &rule->channel;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[2].data, "consumer") == 0) {
        rule->kind = NGX_HTTP_GW_PUSH_CONSUMER;

    } else if (ngx_strcmp(value[2].data, "any") == 0) {
        rule->kind = NGX_HTTP_GW_PUSH_ANY;

    } else if (value[2].len > 6
               && ngx_strncmp(value[2].data, "claim=", 6) == 0
               && value[2].len - 6 <= 64)
    {
        rule->kind = NGX_HTTP_GW_PUSH_CLAIM;
        rule->claim.data = value[2].data + 6;
        rule->claim.len = value[2].len - 6;

        for (i = 0; i < rule->claim.len; i++) {
            p = &rule->claim.data[i];

            if (*p <= ' ' || *p >= 0x7f) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\": invalid claim name \"%V\"",
                                   &cmd->name, &value[2]);
                return NGX_CONF_ERROR;
            }
        }

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": \"%V\" is not consumer, "
                           "claim=<name> (1 to 64 bytes) or any",
                           &cmd->name, &value[2]);
        return NGX_CONF_ERROR;
    }

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_push_module);
    pmcf->used = 1;

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_push_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_push_main_conf_t));
}


static void *
ngx_http_gw_push_create_loc_conf(ngx_conf_t *cf)
{
    /* set by ngx_pcalloc(): rules = NULL */
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_push_loc_conf_t));
}


static char *
ngx_http_gw_push_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_push_loc_conf_t  *prev = parent;
    ngx_http_gw_push_loc_conf_t  *conf = child;

    if (conf->rules == NULL) {
        conf->rules = prev->rules;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_push_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_gw_push_main_conf_t  *pmcf;

    pmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_push_module);

    if (!pmcf->used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_push_handler;

    return NGX_OK;
}
