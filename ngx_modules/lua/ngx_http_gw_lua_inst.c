
/*
 * Copyright (C) Tollgate
 *
 * A plugin's instance in a worker (docs/plugins.md, "Plugin files"): one
 * sandboxed state, made lazily from the plugin's current version and
 * replaced when the watchdog stopped it; the configurations converted in
 * it, cached by their text; and the protected operations every other
 * file uses to allocate in a state (a memory error must never escape
 * from an unprotected Lua API call).
 */


#include "ngx_http_gw_lua_int.h"


static int ngx_http_gw_lua_do_op(lua_State *L);


int
ngx_http_gw_lua_op(gw_lua_t *s, ngx_http_gw_lua_op_t *op, gw_lua_err_t *err)
{
    op->ref = LUA_NOREF;

    if (gw_lua_cpcall(s, ngx_http_gw_lua_do_op, op, err) != GW_LUA_OK) {
        return LUA_NOREF;
    }

    return op->ref;
}


static int
ngx_http_gw_lua_do_op(lua_State *L)
{
    ngx_http_gw_lua_op_t  *op = lua_touserdata(L, 1);

    switch (op->kind) {

    case NGX_HTTP_GW_LUA_OP_TABLE:
        lua_newtable(L);
        break;

    case NGX_HTTP_GW_LUA_OP_THREAD:
        op->co = lua_newthread(L);
        break;

    default: /* NGX_HTTP_GW_LUA_OP_JSON */
        gw_lua_push_json(L, op->json);
        break;
    }

    op->ref = luaL_ref(L, LUA_REGISTRYINDEX);

    return 0;
}


/*
 * The worker's instance of plugin, made from its current version when
 * there is none or the watchdog killed the current one.  NULL after
 * logging (the request gets the failure answer).
 */

ngx_http_gw_lua_inst_t *
ngx_http_gw_lua_inst_get(ngx_http_gw_lua_plugin_t *plugin, ngx_log_t *log)
{
    ngx_http_gw_lua_inst_t  *inst;

    inst = plugin->inst;

    if (inst != NULL && !gw_lua_dead(inst->state)) {
        return inst;
    }

    if (inst != NULL) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "plugin \"%V\": its state was stopped, replaced",
                      &plugin->name);

        plugin->inst = NULL;
        inst->retired = 1;

        if (inst->refs == 0) {
            ngx_http_gw_lua_inst_free(inst);
        }
    }

    inst = ngx_http_gw_lua_inst_new(plugin, log);
    if (inst == NULL) {
        return NULL;
    }

    plugin->inst = inst;

    return inst;
}


ngx_http_gw_lua_inst_t *
ngx_http_gw_lua_inst_new(ngx_http_gw_lua_plugin_t *plugin, ngx_log_t *log)
{
    u_char                    buf[NGX_HTTP_GW_LOG_SIZE];
    ngx_str_t                 msg;
    gw_lua_err_t              err;
    ngx_http_gw_lua_inst_t   *inst;
    ngx_http_gw_lua_pdata_t  *pd;
    ngx_http_gw_lua_check_t   chk;

    pd = plugin->data;

    inst = ngx_alloc(sizeof(ngx_http_gw_lua_inst_t), log);
    if (inst == NULL) {
        return NULL;
    }

    ngx_memzero(inst, sizeof(ngx_http_gw_lua_inst_t));
    inst->idle_ref = LUA_NOREF;
    ngx_memzero(&chk, sizeof(ngx_http_gw_lua_check_t));

    chk.info = &inst->info;
    chk.fns = inst->fns;

    inst->state = ngx_http_gw_lua_make(plugin, &pd->text, &chk, &err);

    if (inst->state == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "plugin \"%V\": no state: %s: %V", &plugin->name,
                      gw_lua_rc_name(err.rc),
                      ngx_http_gw_log_escape(&msg, buf, (u_char *) err.msg,
                                             ngx_strlen(err.msg)));
        ngx_free(inst);
        return NULL;
    }

    inst->plugin = plugin;
    inst->ref = chk.ref;
    inst->tramp = chk.tramp;
    ngx_queue_init(&inst->confs);

    ngx_http_gw_lua_metrics_memory(plugin, gw_lua_mem(inst->state));

    return inst;
}


void
ngx_http_gw_lua_inst_release(ngx_http_gw_lua_inst_t *inst)
{
    if (--inst->refs == 0 && inst->retired) {
        ngx_http_gw_lua_inst_free(inst);
    }
}


void
ngx_http_gw_lua_inst_free(ngx_http_gw_lua_inst_t *inst)
{
    ngx_queue_t             *q;
    ngx_http_gw_lua_conf_t  *c;

    while (!ngx_queue_empty(&inst->confs)) {
        q = ngx_queue_head(&inst->confs);
        ngx_queue_remove(q);
        c = ngx_queue_data(q, ngx_http_gw_lua_conf_t, queue);
        ngx_free(c);
    }

    gw_lua_free(inst->state);
    ngx_free(inst);
}


/*
 * use's configuration as the plugin's handlers get it, held for the
 * caller (ngx_http_gw_lua_conf_release() gives it back; its ref is the
 * table's): checked against the schema, converted and passed through
 * init() once per instance and text (cached, at most
 * NGX_HTTP_GW_LUA_CONFS_MAX, the least recently used dropped, freed when
 * no request holds it).  A configuration that fails is cached as failed
 * and logged once.  NULL when it failed.
 */

ngx_http_gw_lua_conf_t *
ngx_http_gw_lua_inst_conf(ngx_http_gw_lua_inst_t *inst,
    ngx_http_gw_lua_use_t *use, ngx_log_t *log)
{
    int                       ref;
    u_char                    buf[NGX_HTTP_GW_LOG_SIZE];
    u_char                    err[NGX_MAX_ERROR_STR];
    uint32_t                  hash;
    lua_State                *L;
    ngx_str_t                 msg;
    gw_lua_rc_e               rc;
    ngx_queue_t              *q;
    gw_lua_err_t              lerr;
    json_error_t              jerr;
    ngx_http_gw_lua_op_t      op;
    ngx_http_gw_lua_conf_t   *c;
    ngx_http_gw_lua_pdata_t  *pd;

    pd = inst->plugin->data;

    /* the most recent one first, without hashing: the common case */

    if (!ngx_queue_empty(&inst->confs)) {
        c = ngx_queue_data(ngx_queue_head(&inst->confs),
                           ngx_http_gw_lua_conf_t, queue);

        if (c->text.len == use->config.len
            && ngx_memcmp(c->text.data, use->config.data, c->text.len) == 0)
        {
            goto found;
        }
    }

    hash = ngx_crc32_long(use->config.data, use->config.len);

    for (q = ngx_queue_head(&inst->confs);
         q != ngx_queue_sentinel(&inst->confs);
         q = ngx_queue_next(q))
    {
        c = ngx_queue_data(q, ngx_http_gw_lua_conf_t, queue);

        if (c->hash == hash && c->text.len == use->config.len
            && ngx_memcmp(c->text.data, use->config.data, c->text.len) == 0)
        {
            ngx_queue_remove(q);
            ngx_queue_insert_head(&inst->confs, q);
            goto found;
        }
    }

    if (inst->nconfs >= NGX_HTTP_GW_LUA_CONFS_MAX) {
        q = ngx_queue_last(&inst->confs);
        ngx_queue_remove(q);
        c = ngx_queue_data(q, ngx_http_gw_lua_conf_t, queue);

        inst->nconfs--;

        if (c->refs > 0) {
            /* a request still uses it: it goes when that one ends */
            c->evicted = 1;

        } else {
            if (c->ref != LUA_NOREF) {
                luaL_unref(gw_lua_state(inst->state), LUA_REGISTRYINDEX,
                           c->ref);
            }

            ngx_free(c);
        }
    }

    c = ngx_alloc(sizeof(ngx_http_gw_lua_conf_t) + use->config.len, log);
    if (c == NULL) {
        return NULL;
    }

    c->hash = hash;
    c->text.len = use->config.len;
    c->text.data = (u_char *) c + sizeof(ngx_http_gw_lua_conf_t);
    ngx_memcpy(c->text.data, use->config.data, use->config.len);
    c->ref = LUA_NOREF;
    c->refs = 0;
    c->evicted = 0;

    ngx_queue_insert_head(&inst->confs, &c->queue);
    inst->nconfs++;

    if (ngx_http_gw_lua_config_check(inst->plugin, pd->schema, &use->config,
                                     err, sizeof(err))
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "plugin \"%V\" (route plugin \"%V\"): %V",
                      &inst->plugin->name, &use->id,
                      ngx_http_gw_log_escape(&msg, buf, err,
                                             ngx_strlen(err)));
        return NULL;
    }

    op.kind = NGX_HTTP_GW_LUA_OP_JSON;
    op.json = json_loadb((char *) use->config.data, use->config.len, 0,
                         &jerr);

    if (op.json == NULL) {
        return NULL;
    }

    ref = ngx_http_gw_lua_op(inst->state, &op, &lerr);
    json_decref(op.json);

    if (ref == LUA_NOREF) {
        goto failed;
    }

    if (!inst->info.init) {
        c->ref = ref;
        goto found;
    }

    L = gw_lua_state(inst->state);

    lua_rawgeti(L, LUA_REGISTRYINDEX, inst->tramp);
    lua_pushinteger(L, NGX_HTTP_GW_LUA_TRAMP_INIT);
    lua_rawgeti(L, LUA_REGISTRYINDEX, inst->fns[NGX_HTTP_GW_LUA_INIT]);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);

    rc = gw_lua_call(inst->state, 3, 1, &lerr);

    if (rc != GW_LUA_OK) {
        goto failed;
    }

    c->ref = (int) lua_tointeger(L, -1);
    lua_pop(L, 1);

found:

    if (c->ref == LUA_NOREF) {
        return NULL;
    }

    c->refs++;

    return c;

failed:

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "plugin \"%V\": its configuration failed in init: %s: %V",
                  &inst->plugin->name, gw_lua_rc_name(lerr.rc),
                  ngx_http_gw_log_escape(&msg, buf, (u_char *) lerr.msg,
                                         ngx_strlen(lerr.msg)));

    return NULL;
}


/* a request is done with c: an evicted configuration goes with the last */

void
ngx_http_gw_lua_conf_release(ngx_http_gw_lua_inst_t *inst,
    ngx_http_gw_lua_conf_t *c)
{
    if (--c->refs > 0 || !c->evicted) {
        return;
    }

    if (!gw_lua_dead(inst->state)) {
        luaL_unref(gw_lua_state(inst->state), LUA_REGISTRYINDEX, c->ref);
    }

    ngx_free(c);
}
