
/*
 * Copyright (C) Tollgate
 *
 * Lua plugins (docs/plugins.md): the directives, the configurations and
 * the registration of the phase handlers and filters.
 *
 * gw_plugin names a plugin with its configuration per server or
 * location; the plugins themselves are found only once the whole http{}
 * block is read (postconfiguration), so gw_plugin_path may come after
 * the servers: every gw_plugin is recorded with its file and line, and
 * checked then against its plugin's schema, "nginx -t" naming the file,
 * the JSON pointer and the line.  Nothing is registered unless a plugin
 * was loaded: a configuration without plugins costs nothing.
 *
 * Two nginx modules: ngx_http_gw_lua_module runs the plugins' access in
 * the precontent phase (listed before gw_validate, so after the rate
 * limits and validation), the filters and the log phase;
 * ngx_http_gw_lua_early_module, registered after every other module,
 * runs the access of the plugins that say early = true in the access
 * phase, before authentication.
 */


#include "ngx_http_gw_lua_int.h"


static char *ngx_http_gw_lua_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_lua_reload(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_lua_budget(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_lua_plugin(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_lua_failure(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_gw_lua_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_lua_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gw_lua_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_lua_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gw_lua_order_room(ngx_conf_t *cf,
    ngx_http_gw_lua_loc_conf_t *llcf);
static ngx_int_t ngx_http_gw_lua_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_lua_early_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_lua_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_lua_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_gw_lua_pin(ngx_conf_t *cf);


static ngx_command_t  ngx_http_gw_lua_commands[] = {

    { ngx_string("gw_plugin_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_lua_path,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_plugin_reload"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_lua_reload,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_plugin_memory"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_lua_main_conf_t, memory),
      NULL },

    { ngx_string("gw_plugin_budget"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_lua_budget,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_plugin_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_lua_main_conf_t, body_max),
      NULL },

    { ngx_string("gw_plugin_dict"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_gw_lua_shdict_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_plugin"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_lua_plugin,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_plugin_failure"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_lua_failure,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_lua_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_lua_init,                  /* postconfiguration */

    ngx_http_gw_lua_create_main_conf,      /* create main configuration */
    ngx_http_gw_lua_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_lua_create_loc_conf,       /* create location configuration */
    ngx_http_gw_lua_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_gw_lua_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_lua_module_ctx,           /* module context */
    ngx_http_gw_lua_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_lua_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_lua_exit_process,          /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_module_t  ngx_http_gw_lua_early_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_lua_early_init,            /* postconfiguration */
    NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_http_gw_lua_early_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_lua_early_module_ctx,     /* module context */
    NULL,                                  /* module directives */
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


/* gw_plugin_path dir [trusted]: relative to the prefix */

static char *
ngx_http_gw_lua_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_lua_main_conf_t *lmcf = conf;

    ngx_str_t               *value;
    ngx_uint_t               i;
    ngx_http_gw_lua_path_t  *path, *p;

    value = cf->args->elts;

    path = ngx_array_push(&lmcf->paths);
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->dir = value[1];
    path->trusted = 0;

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "trusted") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        path->trusted = 1;
    }

    while (path->dir.len > 1 && path->dir.data[path->dir.len - 1] == '/') {
        path->dir.len--;
    }

    if (path->dir.len == 0) {
        return "has an empty directory";
    }

    if (ngx_conf_full_name(cf->cycle, &path->dir, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* ngx_conf_full_name() leaves it NUL-terminated */

    p = lmcf->paths.elts;

    for (i = 0; i + 1 < lmcf->paths.nelts; i++) {
        if (p[i].dir.len == path->dir.len
            && ngx_strncmp(p[i].dir.data, path->dir.data, path->dir.len) == 0)
        {
            return "names a directory twice";
        }
    }

    return NGX_CONF_OK;
}


/* gw_plugin_reload interval | off */

static char *
ngx_http_gw_lua_reload(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_lua_main_conf_t *lmcf = conf;

    ngx_str_t   *value;
    ngx_msec_t   ms;

    if (lmcf->reload != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        lmcf->reload = 0;
        return NGX_CONF_OK;
    }

    ms = ngx_parse_time(&value[1], 0);

    if (ms == (ngx_msec_t) NGX_ERROR || ms < 10 || ms > 86400000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid interval \"%V\" (10ms to 1d, or off)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    lmcf->reload = ms;

    return NGX_CONF_OK;
}


/* gw_plugin_budget [instructions=N] [time=T] */

static char *
ngx_http_gw_lua_budget(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_lua_main_conf_t *lmcf = conf;

    off_t        n;
    ngx_str_t   *value, s;
    ngx_msec_t   ms;
    ngx_uint_t   i;

    if (lmcf->budget_set) {
        return "is duplicate";
    }

    lmcf->budget_set = 1;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "instructions=", 13) == 0) {
            s.data = value[i].data + 13;
            s.len = value[i].len - 13;

            n = ngx_atoof(s.data, s.len);

            if (n < 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid instructions \"%V\" "
                                   "(at least 1000)", &s);
                return NGX_CONF_ERROR;
            }

            lmcf->budget = (uint64_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "time=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            ms = ngx_parse_time(&s, 0);

            if (ms == (ngx_msec_t) NGX_ERROR || ms < 10 || ms > 60000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid time \"%V\" (10ms to 60s)", &s);
                return NGX_CONF_ERROR;
            }

            lmcf->time_max = ms;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * gw_plugin name [config]: config is a JSON object (default {}), kept
 * compact; the plugin and its schema are checked at postconfiguration.
 * A name given twice in one block is refused; a block's gw_plugin
 * replaces an outer block's of the same name (see the merge).
 */

static char *
ngx_http_gw_lua_plugin(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_lua_loc_conf_t *llcf = conf;

    char                          *text;
    json_t                        *json;
    ngx_str_t                     *value;
    ngx_uint_t                     i;
    json_error_t                   jerr;
    ngx_http_gw_lua_conf_use_t    *cu, **pcu, **uses;
    ngx_http_gw_lua_main_conf_t   *lmcf;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_GW_LUA_NAME_MAX
        || value[1].data[0] < 'a' || value[1].data[0] > 'z')
    {
        goto bad_name;
    }

    for (i = 1; i < value[1].len; i++) {
        if ((value[1].data[i] < 'a' || value[1].data[i] > 'z')
            && (value[1].data[i] < '0' || value[1].data[i] > '9')
            && value[1].data[i] != '_' && value[1].data[i] != '-')
        {
            goto bad_name;
        }
    }

    if (llcf->uses == NULL) {
        llcf->uses = ngx_array_create(cf->pool, 4,
                                      sizeof(ngx_http_gw_lua_conf_use_t *));
        if (llcf->uses == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    uses = llcf->uses->elts;

    for (i = 0; i < llcf->uses->nelts; i++) {
        if (uses[i]->name.len == value[1].len
            && ngx_strncmp(uses[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "plugin \"%V\" is enabled twice here",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (llcf->uses->nelts >= NGX_HTTP_GW_LUA_PLUGINS_MAX) {
        return "names too many plugins";
    }

    cu = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_lua_conf_use_t));
    if (cu == NULL) {
        return NGX_CONF_ERROR;
    }

    cu->name = value[1];
    cu->file = cf->conf_file->file.name.data;
    cu->line = cf->conf_file->line;
    ngx_str_set(&cu->use.id, "");

    if (cf->args->nelts == 2) {
        ngx_str_set(&cu->use.config, "{}");

    } else {
        json = json_loadb((char *) value[2].data, value[2].len,
                          JSON_REJECT_DUPLICATES, &jerr);

        if (json == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "plugin \"%V\": its configuration is not "
                               "JSON: %s at line %d, column %d", &value[1],
                               jerr.text, jerr.line, jerr.column);
            return NGX_CONF_ERROR;
        }

        if (!json_is_object(json)) {
            json_decref(json);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "plugin \"%V\": its configuration is not "
                               "a JSON object", &value[1]);
            return NGX_CONF_ERROR;
        }

        text = json_dumps(json, JSON_COMPACT);
        json_decref(json);

        if (text == NULL) {
            return NGX_CONF_ERROR;
        }

        cu->use.config.len = ngx_strlen(text);
        cu->use.config.data = ngx_pnalloc(cf->pool, cu->use.config.len);

        if (cu->use.config.data == NULL) {
            free(text);
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(cu->use.config.data, text, cu->use.config.len);
        free(text);
    }

    pcu = ngx_array_push(llcf->uses);
    if (pcu == NULL) {
        return NGX_CONF_ERROR;
    }

    *pcu = cu;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_lua_module);

    pcu = ngx_array_push(&lmcf->uses);
    if (pcu == NULL) {
        return NGX_CONF_ERROR;
    }

    *pcu = cu;

    return NGX_CONF_OK;

bad_name:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid plugin name \"%V\" ([a-z][a-z0-9_-]*, "
                       "at most %d)", &value[1], NGX_HTTP_GW_LUA_NAME_MAX);

    return NGX_CONF_ERROR;
}


/* gw_plugin_failure status: 400 to 599 */

static char *
ngx_http_gw_lua_failure(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_lua_loc_conf_t *llcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (llcf->failure != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 400 || n > 599) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid status \"%V\" (400 to 599)", &value[1]);
        return NGX_CONF_ERROR;
    }

    llcf->failure = n;

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_lua_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_lua_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_lua_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&lmcf->paths, cf->pool, 2,
                       sizeof(ngx_http_gw_lua_path_t))
        != NGX_OK
        || ngx_array_init(&lmcf->plugins, cf->pool, 8,
                          sizeof(ngx_http_gw_lua_plugin_t))
           != NGX_OK
        || ngx_array_init(&lmcf->uses, cf->pool, 8,
                          sizeof(ngx_http_gw_lua_conf_use_t *))
           != NGX_OK)
    {
        return NULL;
    }

    lmcf->reload = NGX_CONF_UNSET_MSEC;
    lmcf->memory = NGX_CONF_UNSET_SIZE;
    lmcf->body_max = NGX_CONF_UNSET_SIZE;

    return lmcf;
}


static char *
ngx_http_gw_lua_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_lua_main_conf_t *lmcf = conf;

    ngx_conf_init_msec_value(lmcf->reload, 1000);
    ngx_conf_init_size_value(lmcf->memory, 64 * 1024 * 1024);
    ngx_conf_init_size_value(lmcf->body_max, 1024 * 1024);

    if (lmcf->memory < 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_plugin_memory must be at least 1m");
        return NGX_CONF_ERROR;
    }

    if (lmcf->budget == 0) {
        lmcf->budget = 10000000;
    }

    if (lmcf->time_max == 0) {
        lmcf->time_max = 1000;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gw_lua_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_lua_loc_conf_t  *llcf;

    llcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_lua_loc_conf_t));
    if (llcf == NULL) {
        return NULL;
    }

    /* llcf->uses = NULL: unset */

    llcf->failure = NGX_CONF_UNSET_UINT;

    return llcf;
}


/*
 * A block inherits the outer block's gw_plugin list, but for the names
 * it enables itself (its configuration wins).
 */

static char *
ngx_http_gw_lua_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_lua_loc_conf_t *prev = parent;
    ngx_http_gw_lua_loc_conf_t *conf = child;

    ngx_uint_t                    i, j;
    ngx_array_t                  *uses;
    ngx_http_gw_lua_conf_use_t  **p, **c, **u;

    ngx_conf_merge_uint_value(conf->failure, prev->failure, 500);

    if (conf->uses == NULL) {
        conf->uses = prev->uses;
        return ngx_http_gw_lua_order_room(cf, conf);
    }

    if (prev->uses == NULL) {
        return ngx_http_gw_lua_order_room(cf, conf);
    }

    uses = ngx_array_create(cf->pool, conf->uses->nelts + prev->uses->nelts,
                            sizeof(ngx_http_gw_lua_conf_use_t *));
    if (uses == NULL) {
        return NGX_CONF_ERROR;
    }

    p = prev->uses->elts;
    c = conf->uses->elts;

    for (i = 0; i < prev->uses->nelts; i++) {
        for (j = 0; j < conf->uses->nelts; j++) {
            if (p[i]->name.len == c[j]->name.len
                && ngx_strncmp(p[i]->name.data, c[j]->name.data,
                               c[j]->name.len) == 0)
            {
                break;
            }
        }

        if (j < conf->uses->nelts) {
            continue;
        }

        u = ngx_array_push(uses);
        if (u == NULL) {
            return NGX_CONF_ERROR;
        }

        *u = p[i];
    }

    for (j = 0; j < conf->uses->nelts; j++) {
        u = ngx_array_push(uses);
        if (u == NULL) {
            return NGX_CONF_ERROR;
        }

        *u = c[j];
    }

    if (uses->nelts > NGX_HTTP_GW_LUA_PLUGINS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "more than %d plugins in a location",
                           NGX_HTTP_GW_LUA_PLUGINS_MAX);
        return NGX_CONF_ERROR;
    }

    conf->uses = uses;

    return ngx_http_gw_lua_order_room(cf, conf);
}


/* the room of the location's order (ngx_http_gw_lua_run.c) */

static char *
ngx_http_gw_lua_order_room(ngx_conf_t *cf, ngx_http_gw_lua_loc_conf_t *llcf)
{
    if (llcf->uses == NULL || llcf->uses->nelts == 0) {
        return NGX_CONF_OK;
    }

    llcf->order = ngx_palloc(cf->pool, llcf->uses->nelts
                                       * sizeof(ngx_http_gw_lua_use_t));
    if (llcf->order == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Loads the plugins (every gw_plugin checked), then registers the
 * precontent handler, the log handler and the filters, when any plugin
 * was loaded.
 */

static ngx_int_t
ngx_http_gw_lua_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_gw_lua_conf_use_t  **uses;
    ngx_http_gw_lua_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_lua_module);

    if (lmcf->paths.nelts == 0) {
        if (lmcf->uses.nelts != 0) {
            uses = lmcf->uses.elts;

            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "gw_plugin \"%V\": no gw_plugin_path is set "
                          "in %s:%ui", &uses[0]->name, uses[0]->file,
                          uses[0]->line);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_http_gw_lua_pin(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_gw_lua_plugins_load(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (lmcf->plugins.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_http_gw_lua_metrics_init(cf, &lmcf->plugins, lmcf->memory)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_lua_access_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_lua_log_handler;

    return ngx_http_gw_lua_filter_init(cf);
}


/* the early module: the access handler, registered after every other */

static ngx_int_t
ngx_http_gw_lua_early_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_gw_lua_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_lua_module);

    if (lmcf->plugins.nelts == 0) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_lua_early_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_lua_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_lua_main_conf_t  *lmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    lmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_gw_lua_module);

    if (lmcf == NULL || lmcf->plugins.nelts == 0) {
        return NGX_OK;
    }

    return ngx_http_gw_lua_plugins_start(cycle, lmcf);
}


/* the calls this worker counted and did not flush yet go to the zone */

static void
ngx_http_gw_lua_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_lua_metrics_flush();
}


/*
 * The sandbox's watchdog is a thread of each process that made a state
 * (the master too: it checks the plugins), running code of this module's
 * file; nginx unmaps a dynamic module when its cycle ends, which would
 * pull that code from under the thread.  The file is therefore pinned
 * (RTLD_NODELETE) once plugins are in use: a rebuilt module file takes
 * a binary upgrade or a restart, not a reload.
 */

static ngx_int_t
ngx_http_gw_lua_pin(ngx_conf_t *cf)
{
    void     *h;
    Dl_info   info;

    if (dladdr((void *) &ngx_http_gw_lua_module, &info) == 0
        || info.dli_fname == NULL)
    {
        return NGX_OK;    /* linked into nginx itself: never unmapped */
    }

    h = dlopen(info.dli_fname, RTLD_NOW|RTLD_NOLOAD|RTLD_NODELETE);

    if (h == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "gw_plugin_path: dlopen(\"%s\") failed: %s",
                      info.dli_fname, dlerror());
        return NGX_ERROR;
    }

    /* the reference it took is never dropped: the point */

    return NGX_OK;
}


ngx_shm_zone_t *
ngx_http_gw_lua_zone_find(ngx_cycle_t *cycle, ngx_shm_zone_init_pt init)
{
    ngx_uint_t        i;
    ngx_shm_zone_t   *zone;
    ngx_list_part_t  *part;

    part = &cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].init == init) {
            return &zone[i];
        }
    }
}


void *
ngx_http_gw_lua_zone_data(ngx_http_gw_lua_zone_cache_t *cache,
    ngx_shm_zone_init_pt init, size_t sh)
{
    void            *data;
    ngx_shm_zone_t  *zone;

    if (cache->cycle == ngx_cycle && cache->cycle != NULL) {
        return cache->data;
    }

    zone = ngx_http_gw_lua_zone_find((ngx_cycle_t *) ngx_cycle, init);
    data = (zone != NULL) ? zone->data : NULL;

    if (data != NULL && *(void **) ((char *) data + sh) == NULL) {
        data = NULL;
    }

    cache->data = data;

    if (ngx_process == NGX_PROCESS_WORKER
        || ngx_process == NGX_PROCESS_SINGLE)
    {
        cache->cycle = (ngx_cycle_t *) ngx_cycle;
    }

    return data;
}
