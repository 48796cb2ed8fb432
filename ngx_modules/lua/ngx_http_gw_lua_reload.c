
/*
 * Copyright (C) Tollgate
 *
 * Hot reload of the plugins (docs/plugins.md, "Hot reload"): a timer per
 * worker stats both files of every plugin each gw_plugin_reload; a
 * change (mtime, size or inode) loads the pair into a new state, checks
 * every gw_plugin configuration against the new schema, and only then
 * swaps it in.  A version that fails keeps the last good one and is
 * logged once (its stat is remembered, so the next check of the same
 * files says nothing).  The old instance is retired: freed at once when
 * no request holds it, else by its last holder's cleanup.
 */


#include "ngx_http_gw_lua_int.h"


static void ngx_http_gw_lua_reload_handler(ngx_event_t *ev);
static void ngx_http_gw_lua_reload_one(ngx_http_gw_lua_plugin_t *plugin,
    ngx_log_t *log);
static ngx_int_t ngx_http_gw_lua_stat(ngx_str_t *path,
    ngx_http_gw_lua_stat_t *st);


static ngx_event_t  ngx_http_gw_lua_reload_ev;


/* at a worker's start: the reload timer (instances are made lazily) */

ngx_int_t
ngx_http_gw_lua_plugins_start(ngx_cycle_t *cycle,
    ngx_http_gw_lua_main_conf_t *lmcf)
{
    if (lmcf->reload == 0) {
        return NGX_OK;
    }

    ngx_http_gw_lua_reload_ev.handler = ngx_http_gw_lua_reload_handler;
    ngx_http_gw_lua_reload_ev.log = cycle->log;
    ngx_http_gw_lua_reload_ev.data = lmcf;
    ngx_http_gw_lua_reload_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_gw_lua_reload_ev, lmcf->reload);

    return NGX_OK;
}


static void
ngx_http_gw_lua_reload_handler(ngx_event_t *ev)
{
    ngx_uint_t                    i;
    ngx_http_gw_lua_plugin_t     *plugin;
    ngx_http_gw_lua_main_conf_t  *lmcf;

    lmcf = ev->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    plugin = lmcf->plugins.elts;

    for (i = 0; i < lmcf->plugins.nelts; i++) {
        ngx_http_gw_lua_reload_one(&plugin[i], ev->log);
    }

    ngx_add_timer(ev, lmcf->reload);
}


/* one plugin's files: a new version swapped in when it is good */

static void
ngx_http_gw_lua_reload_one(ngx_http_gw_lua_plugin_t *plugin, ngx_log_t *log)
{
    u_char                        err[NGX_MAX_ERROR_STR];
    u_char                        buf[NGX_HTTP_GW_LOG_SIZE];
    ngx_str_t                     text, msg, old;
    ngx_uint_t                    i;
    gw_schema_t                  *schema, *old_schema;
    ngx_http_gw_lua_info_t        info;
    ngx_http_gw_lua_stat_t        lst, sst;
    ngx_http_gw_lua_inst_t       *inst;
    ngx_http_gw_lua_pdata_t      *pd;
    ngx_http_gw_lua_conf_use_t  **uses;

    pd = plugin->data;

    if (ngx_http_gw_lua_stat(&plugin->lua_path, &lst) != NGX_OK
        || ngx_http_gw_lua_stat(&plugin->schema_path, &sst) != NGX_OK)
    {
        /* a file is gone (being replaced?): keep the version we have */
        return;
    }

    if (ngx_memcmp(&lst, &pd->lua_st, sizeof(lst)) == 0
        && ngx_memcmp(&sst, &pd->schema_st, sizeof(sst)) == 0)
    {
        return;
    }

    if (pd->bad
        && ngx_memcmp(&lst, &pd->bad_lua_st, sizeof(lst)) == 0
        && ngx_memcmp(&sst, &pd->bad_schema_st, sizeof(sst)) == 0)
    {
        return;
    }

    if (ngx_http_gw_lua_version(plugin, &text, &schema, &info, &lst, &sst,
                                err, sizeof(err))
        != NGX_OK)
    {
        goto bad;
    }

    uses = pd->lmcf->uses.elts;

    for (i = 0; i < pd->lmcf->uses.nelts; i++) {
        if (uses[i]->use.plugin == plugin
            && ngx_http_gw_lua_config_check(plugin, schema,
                                            &uses[i]->use.config, err,
                                            sizeof(err))
               != NGX_OK)
        {
            gw_schema_free(schema);
            ngx_free(text.data);
            goto bad;
        }
    }

    old = pd->text;
    old_schema = pd->schema;

    pd->text = text;
    pd->schema = schema;

    inst = ngx_http_gw_lua_inst_new(plugin, log);

    if (inst == NULL) {
        pd->text = old;
        pd->schema = old_schema;
        gw_schema_free(schema);
        ngx_free(text.data);
        ngx_snprintf(err, sizeof(err), "no state for the new version%Z");
        goto bad;
    }

    ngx_free(old.data);
    gw_schema_free(old_schema);

    pd->lua_st = lst;
    pd->schema_st = sst;
    pd->bad = 0;
    pd->version++;

    if (plugin->inst != NULL) {
        plugin->inst->retired = 1;

        if (plugin->inst->refs == 0) {
            ngx_http_gw_lua_inst_free(plugin->inst);
        }
    }

    plugin->inst = inst;

    if (plugin->priority != info.priority) {
        ngx_http_gw_lua_order_gen++;
    }

    plugin->priority = info.priority;
    plugin->phases = info.phases;
    plugin->early = info.early;
    plugin->body = info.body;

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "plugin \"%V\" reloaded from %V", &plugin->name,
                  &plugin->lua_path);

    return;

bad:

    /* stat again: what failed is what is there now (logged once) */

    pd->bad = 1;
    pd->bad_lua_st = lst;
    pd->bad_schema_st = sst;

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "plugin \"%V\": the changed files are not loaded, the "
                  "last good version stays: %V", &plugin->name,
                  ngx_http_gw_log_escape(&msg, buf, err, ngx_strlen(err)));
}


static ngx_int_t
ngx_http_gw_lua_stat(ngx_str_t *path, ngx_http_gw_lua_stat_t *st)
{
    struct stat  sb;

    if (stat((char *) path->data, &sb) == -1) {
        return NGX_ERROR;
    }

    ngx_memzero(st, sizeof(ngx_http_gw_lua_stat_t));

    st->sec = sb.st_mtim.tv_sec;
    st->nsec = sb.st_mtim.tv_nsec;
    st->size = sb.st_size;
    st->ino = sb.st_ino;

    return NGX_OK;
}
