
/*
 * Copyright (C) Tollgate
 *
 * ngx_http_gw_redis_module: the gw_redis* directives, their defaults and
 * checks, the configuration-time half of the API (scripts, subscriptions)
 * and the process hooks.  The client itself runs only in workers (or the
 * single process), never in the master nor the cache helpers: init_process
 * starts the connections, exit_process frees them.  Loaded without
 * gw_redis, the module registers no handler and opens nothing.
 *
 * Addresses are IP literals or unix sockets by design: hiredis 0.14 would
 * resolve a host name with a blocking getaddrinfo() in the worker, on
 * every reconnect.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sys/un.h>
#include <openssl/sha.h>

#include "ngx_http_gw_redis_int.h"


#define NGX_HTTP_GW_REDIS_DEFAULT_PORT  6379


static char *ngx_http_gw_redis_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_redis_positive_msec(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_gw_redis_not_negative(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_gw_redis_positive_num(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_gw_redis_not_empty(ngx_conf_t *cf, void *post,
    void *data);
static void *ngx_http_gw_redis_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_redis_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gw_redis_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_redis_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_redis_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_redis_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_redis_exit_process(ngx_cycle_t *cycle);


static ngx_conf_post_t  ngx_http_gw_redis_positive_msec_post =
    { ngx_http_gw_redis_positive_msec };
static ngx_conf_post_t  ngx_http_gw_redis_not_negative_post =
    { ngx_http_gw_redis_not_negative };
static ngx_conf_post_t  ngx_http_gw_redis_positive_num_post =
    { ngx_http_gw_redis_positive_num };
static ngx_conf_post_t  ngx_http_gw_redis_not_empty_post =
    { ngx_http_gw_redis_not_empty };


static ngx_command_t  ngx_http_gw_redis_commands[] = {

    { ngx_string("gw_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_redis_address,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_redis_password"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, password),
      &ngx_http_gw_redis_not_empty_post },

    { ngx_string("gw_redis_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, database),
      &ngx_http_gw_redis_not_negative_post },

    { ngx_string("gw_redis_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, connect_timeout),
      &ngx_http_gw_redis_positive_msec_post },

    { ngx_string("gw_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, timeout),
      &ngx_http_gw_redis_positive_msec_post },

    { ngx_string("gw_redis_backoff_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, backoff_max),
      &ngx_http_gw_redis_positive_msec_post },

    { ngx_string("gw_redis_max_pending"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, max_pending),
      &ngx_http_gw_redis_positive_num_post },

    { ngx_string("gw_redis_stall_timeouts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_redis_main_conf_t, stall_timeouts),
      &ngx_http_gw_redis_not_negative_post },

    { ngx_string("gw_redis_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gw_redis_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_redis_check"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_gw_redis_check,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_redis_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_redis_init,                /* postconfiguration */

    ngx_http_gw_redis_create_main_conf,    /* create main configuration */
    ngx_http_gw_redis_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_redis_create_loc_conf,     /* create location configuration */
    ngx_http_gw_redis_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_gw_redis_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_redis_module_ctx,         /* module context */
    ngx_http_gw_redis_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_redis_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_redis_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * gw_redis 127.0.0.1:6379 | [::1]:6379 | 127.0.0.1 | unix:/path;
 *
 * An IP literal (the port defaults to 6379) or a unix socket; a host name
 * is rejected rather than resolved.
 */

static char *
ngx_http_gw_redis_address(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_redis_main_conf_t *rmcf = conf;

    u_char      *p;
    size_t       len;
    ngx_int_t    rc;
    ngx_str_t   *value, path;
    in_port_t    port;
    ngx_addr_t  *addr;

    if (rmcf->address.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len >= 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {
        path.data = value[1].data + 5;
        path.len = value[1].len - 5;

        if (path.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "no socket path in \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        /* the result is NUL-terminated, as configuration tokens are */
        if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (path.len >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "socket path \"%V\" is too long (%uz bytes "
                               "at most)", &path,
                               sizeof(((struct sockaddr_un *) 0)->sun_path)
                               - 1);
            return NGX_CONF_ERROR;
        }

        rmcf->unix_path = path;
        rmcf->address = value[1];

        return NGX_CONF_OK;
    }

    addr = ngx_pcalloc(cf->pool, sizeof(ngx_addr_t));
    if (addr == NULL) {
        return NGX_CONF_ERROR;
    }

    rc = ngx_parse_addr_port(cf->pool, addr, value[1].data, value[1].len);

    if (rc == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid address \"%V\": use an IP address and "
                           "port such as 127.0.0.1:6379, or unix:/path "
                           "(host names are not resolved)", &value[1]);
        return NGX_CONF_ERROR;
    }

    port = ngx_inet_get_port(addr->sockaddr);

    if (port == 0) {
        port = NGX_HTTP_GW_REDIS_DEFAULT_PORT;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    /* without a port: "::1", not "[::1]:0", as hiredis wants it */
    ngx_inet_set_port(addr->sockaddr, 0);
    len = ngx_sock_ntop(addr->sockaddr, addr->socklen, p,
                        NGX_SOCKADDR_STRLEN, 0);
    p[len] = '\0';
    ngx_inet_set_port(addr->sockaddr, port);

    rmcf->addr = addr;
    rmcf->host.data = p;
    rmcf->host.len = len;
    rmcf->port = port;
    rmcf->address = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_redis_positive_msec(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msp = data;

    if (*msp == 0) {
        return "must be more than 0";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_redis_not_negative(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 0) {
        return "must not be negative";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_redis_positive_num(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 1) {
        return "must be at least 1";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gw_redis_not_empty(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    if (s->len == 0) {
        return "must not be empty";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_redis_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_redis_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_redis_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     rmcf->address = { 0, NULL };
     *     rmcf->addr = NULL;
     *     rmcf->host = { 0, NULL };
     *     rmcf->port = 0;
     *     rmcf->unix_path = { 0, NULL };
     *     rmcf->password = { 0, NULL };
     *     rmcf->log = NULL;
     *     rmcf->check = 0;
     *     rmcf->status = 0;
     */

    rmcf->database = NGX_CONF_UNSET;
    rmcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    rmcf->timeout = NGX_CONF_UNSET_MSEC;
    rmcf->backoff_max = NGX_CONF_UNSET_MSEC;
    rmcf->max_pending = NGX_CONF_UNSET_UINT;
    rmcf->stall_timeouts = NGX_CONF_UNSET_UINT;

    if (ngx_array_init(&rmcf->subscriptions, cf->pool, 2,
                       sizeof(ngx_http_gw_redis_subscription_t))
        != NGX_OK)
    {
        return NULL;
    }

    return rmcf;
}


static char *
ngx_http_gw_redis_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_redis_main_conf_t *rmcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_init_value(rmcf->database, 0);
    ngx_conf_init_msec_value(rmcf->connect_timeout, 1000);
    ngx_conf_init_msec_value(rmcf->timeout, 500);
    ngx_conf_init_msec_value(rmcf->backoff_max, 5000);
    ngx_conf_init_uint_value(rmcf->max_pending, 1024);
    ngx_conf_init_uint_value(rmcf->stall_timeouts, 3);

    /* the http block's error_log, else the main one */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    rmcf->log = (clcf->error_log != NULL) ? clcf->error_log
                                           : &cf->cycle->new_log;

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_redis_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_redis_loc_conf_t  *rlcf;

    rlcf = ngx_palloc(cf->pool, sizeof(ngx_http_gw_redis_loc_conf_t));
    if (rlcf == NULL) {
        return NULL;
    }

    rlcf->check = NGX_CONF_UNSET_UINT;

    return rlcf;
}


static char *
ngx_http_gw_redis_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_redis_loc_conf_t *prev = parent;
    ngx_http_gw_redis_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->check, prev->check,
                              NGX_HTTP_GW_REDIS_CHECK_OFF);

    return NGX_CONF_OK;
}


/*
 * Once the http block is parsed: the operator directives need gw_redis,
 * and gw_redis_check registers its access handler only when used.
 */

static ngx_int_t
ngx_http_gw_redis_init(ngx_conf_t *cf)
{
    ngx_http_gw_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_redis_module);

    if ((rmcf->status || rmcf->check) && rmcf->address.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" needs \"gw_redis\" in the http block",
                      rmcf->status ? "gw_redis_status" : "gw_redis_check");
        return NGX_ERROR;
    }

    if (rmcf->check) {
        return ngx_http_gw_redis_check_init(cf, rmcf);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_redis_main_conf_t  *rmcf;

    /* workers and the single process only: not cache manager nor loader */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_redis_module);

    if (rmcf == NULL || rmcf->address.len == 0) {
        return NGX_OK;
    }

    return ngx_http_gw_redis_init_worker(cycle, rmcf);
}


static void
ngx_http_gw_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_redis_exit_worker();
}


ngx_int_t
ngx_http_gw_redis_script_init(ngx_conf_t *cf,
    ngx_http_gw_redis_script_t *script)
{
    u_char                          md[SHA_DIGEST_LENGTH];
    ngx_http_gw_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_redis_module);

    if (rmcf == NULL || rmcf->address.len == 0 || script->text.len == 0) {
        return NGX_ERROR;
    }

    if (SHA1(script->text.data, script->text.len, md) == NULL) {
        return NGX_ERROR;
    }

    ngx_hex_dump(script->sha1, md, SHA_DIGEST_LENGTH);

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_redis_subscribe(ngx_conf_t *cf, ngx_str_t *channel,
    ngx_http_gw_redis_message_pt message, ngx_http_gw_redis_resync_pt resync,
    void *data)
{
    ngx_http_gw_redis_main_conf_t     *rmcf;
    ngx_http_gw_redis_subscription_t  *sub;

    if (channel->len == 0 || message == NULL) {
        return NGX_ERROR;
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_redis_module);

    sub = ngx_array_push(&rmcf->subscriptions);
    if (sub == NULL) {
        return NGX_ERROR;
    }

    sub->channel.data = ngx_pstrdup(cf->pool, channel);
    if (sub->channel.data == NULL) {
        return NGX_ERROR;
    }

    sub->channel.len = channel->len;
    sub->message = message;
    sub->resync = resync;
    sub->data = data;

    return NGX_OK;
}


ngx_uint_t
ngx_http_gw_redis_configured(ngx_conf_t *cf)
{
    ngx_http_gw_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_redis_module);

    return rmcf != NULL && rmcf->address.len != 0;
}
