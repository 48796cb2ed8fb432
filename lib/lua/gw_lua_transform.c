
/*
 * Copyright (C) Tollgate
 *
 * The transform contract (gw_lua_transform.h): one sandboxed state per
 * transform, holding the function, the parameters and the emit closure
 * in registry references; each record runs inside one protected call
 * that builds the arguments, calls the function (nested gw_lua_call(),
 * under the budget) and converts what comes out.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_lua_int.h"
#include "gw_lua_transform.h"


struct gw_lua_transform_s {
    gw_lua_conf_t       conf;
    char                name[GW_LUA_NAME_MAX];
    char               *text;
    size_t              len;
    json_t             *params;
    gw_lua_t           *s;
    int                 fn_ref;
    int                 params_ref;
    int                 emit_ref;
    unsigned            reloads;

    /* during a run */
    json_t             *out;
    json_t             *record;
    json_t             *meta;
    gw_lua_rc_e         rc;
    gw_lua_err_t       *err;
};


static int
gw_lua_transform_emit(lua_State *L)
{
    json_t              *j;
    gw_lua_err_t         err;
    gw_lua_transform_t  *t;

    t = lua_touserdata(L, lua_upvalueindex(1));
    lua_settop(L, 1);

    if (t->out == NULL) {
        return luaL_error(L, "emit: called outside a run");
    }

    if (json_array_size(t->out) >= GW_LUA_TRANSFORM_OUT_MAX) {
        return luaL_error(L, "emit: more than %d records",
                          GW_LUA_TRANSFORM_OUT_MAX);
    }

    gw_lua_guard_enter();

    j = gw_lua_to_json(L, 1, &err);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
        gw_lua_err_set(&err, GW_LUA_ERROR, "a record must be an object",
                       26);
    }

    if (j != NULL && json_array_append_new(t->out, j) != 0) {
        j = NULL;
        gw_lua_err_set(&err, GW_LUA_ERROR, "out of memory", 13);
    }

    gw_lua_guard_leave();

    if (j == NULL) {
        return luaL_error(L, "emit: %s", err.msg);
    }

    return 0;
}


/* protected: the chunk's value -> references */

static int
gw_lua_transform_setup(lua_State *L)
{
    gw_lua_transform_t  *t;

    t = lua_touserdata(L, 1);
    lua_settop(L, 0);

    t->rc = gw_lua_load(t->s, t->name, t->text, t->len, t->err);
    if (t->rc != GW_LUA_OK) {
        return 0;
    }

    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "transform");
        lua_remove(L, -2);
    }

    if (!lua_isfunction(L, -1)) {
        t->rc = GW_LUA_ERROR;
        gw_lua_err_set(t->err, GW_LUA_ERROR, "a transform must return a"
                       " function or a table with a \"transform\" function",
                       74);
        return 0;
    }

    t->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    if (t->params != NULL) {
        gw_lua_push_json(L, t->params);

    } else {
        lua_pushlightuserdata(L, gw_lua_null);
    }

    t->params_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_pushlightuserdata(L, t);
    lua_pushcclosure(L, gw_lua_transform_emit, 1);
    t->emit_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    return 0;
}


static gw_lua_rc_e
gw_lua_transform_load(gw_lua_transform_t *t, gw_lua_err_t *err)
{
    gw_lua_rc_e  rc;

    t->s = gw_lua_new(&t->conf, err);
    if (t->s == NULL) {
        return err->rc;
    }

    t->err = err;
    t->rc = GW_LUA_OK;

    rc = gw_lua_cpcall(t->s, gw_lua_transform_setup, t, err);

    if (rc == GW_LUA_OK) {
        rc = t->rc;
    }

    if (rc != GW_LUA_OK) {
        gw_lua_free(t->s);
        t->s = NULL;
    }

    return rc;
}


gw_lua_transform_t *
gw_lua_transform_new(const gw_lua_conf_t *conf, const char *name,
    const char *text, size_t len, json_t *params, gw_lua_err_t *err)
{
    gw_lua_transform_t  *t;

    t = calloc(1, sizeof(gw_lua_transform_t));
    if (t == NULL) {
        gw_lua_err_set(err, GW_LUA_MEMORY, "not enough memory", 17);
        return NULL;
    }

    t->text = malloc(len + 1);
    if (t->text == NULL) {
        free(t);
        gw_lua_err_set(err, GW_LUA_MEMORY, "not enough memory", 17);
        return NULL;
    }

    memcpy(t->text, text, len);
    t->text[len] = '\0';
    t->len = len;

    snprintf(t->name, sizeof(t->name), "=%s",
             name != NULL ? name : "transform");

    t->conf = *conf;
    t->conf.name = t->name + 1;
    t->params = (params != NULL) ? json_incref(params) : NULL;

    if (gw_lua_transform_load(t, err) != GW_LUA_OK) {
        gw_lua_transform_free(t);
        return NULL;
    }

    return t;
}


/* one record out (the value at idx), or each of a list */

static int
gw_lua_transform_collect(lua_State *L, gw_lua_transform_t *t, int idx)
{
    int            bad;
    size_t         i;
    json_t        *j, *e;
    gw_lua_err_t   err;

    if (lua_isnoneornil(L, idx)
        || (lua_isboolean(L, idx) && !lua_toboolean(L, idx)))
    {
        return 0;
    }

    if (!lua_istable(L, idx)) {
        return luaL_error(L, "a transform returns nil, a record or a list"
                          " of records, not a %s", luaL_typename(L, idx));
    }

    gw_lua_guard_enter();

    bad = 0;
    j = gw_lua_to_json(L, idx, &err);

    if (j != NULL && json_is_object(j)) {
        if (json_array_append_new(t->out, j) != 0) {
            bad = 1;
        }

    } else if (j != NULL) {
        json_array_foreach(j, i, e) {
            if (!json_is_object(e)
                || json_array_size(t->out) >= GW_LUA_TRANSFORM_OUT_MAX
                || json_array_append(t->out, e) != 0)
            {
                bad = 1;
                break;
            }
        }

        json_decref(j);
    }

    gw_lua_guard_leave();

    if (j == NULL) {
        return luaL_error(L, "the records returned: %s", err.msg);
    }

    if (bad) {
        return luaL_error(L, "the records returned: each must be an object,"
                          " at most %d", GW_LUA_TRANSFORM_OUT_MAX);
    }

    return 0;
}


/* protected: builds (fn, record, ctx), calls, collects */

static int
gw_lua_transform_call(lua_State *L)
{
    int                  ctx;
    const char          *key;
    json_t              *v;
    gw_lua_transform_t  *t;

    t = lua_touserdata(L, 1);
    lua_settop(L, 0);

    lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
    gw_lua_push_json(L, t->record);

    lua_createtable(L, 0, 6);
    ctx = lua_gettop(L);

    if (t->meta != NULL && json_is_object(t->meta)) {
        json_object_foreach(t->meta, key, v) {
            if (strcmp(key, "params") == 0 || strcmp(key, "emit") == 0) {
                continue;
            }

            gw_lua_push_json(L, v);
            lua_setfield(L, ctx, key);
        }
    }

    lua_rawgeti(L, LUA_REGISTRYINDEX, t->params_ref);
    lua_setfield(L, ctx, "params");
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->emit_ref);
    lua_setfield(L, ctx, "emit");

    t->rc = gw_lua_call(t->s, 2, 1, t->err);
    if (t->rc != GW_LUA_OK) {
        return 0;
    }

    return gw_lua_transform_collect(L, t, 1);
}


gw_lua_rc_e
gw_lua_transform_run(gw_lua_transform_t *t, json_t *record, json_t *meta,
    json_t **out, gw_lua_err_t *err)
{
    gw_lua_rc_e  rc;

    *out = NULL;

    if (record == NULL || !json_is_object(record)) {
        gw_lua_err_set(err, GW_LUA_ERROR, "a record must be an object", 26);
        return GW_LUA_ERROR;
    }

    if (t->s == NULL || gw_lua_dead(t->s)) {
        gw_lua_free(t->s);
        t->s = NULL;
        t->reloads++;

        rc = gw_lua_transform_load(t, err);
        if (rc != GW_LUA_OK) {
            return rc;
        }
    }

    t->out = json_array();
    if (t->out == NULL) {
        gw_lua_err_set(err, GW_LUA_MEMORY, "not enough memory", 17);
        return GW_LUA_MEMORY;
    }

    t->record = record;
    t->meta = meta;
    t->err = err;
    t->rc = GW_LUA_OK;

    rc = gw_lua_cpcall(t->s, gw_lua_transform_call, t, err);

    if (rc == GW_LUA_OK) {
        rc = t->rc;
    }

    if (rc == GW_LUA_OK) {
        *out = t->out;

    } else {
        json_decref(t->out);
    }

    t->out = NULL;
    t->record = NULL;
    t->meta = NULL;

    return rc;
}


gw_lua_t *
gw_lua_transform_lua(gw_lua_transform_t *t)
{
    return t->s;
}


unsigned
gw_lua_transform_reloads(gw_lua_transform_t *t)
{
    return t->reloads;
}


void
gw_lua_transform_free(gw_lua_transform_t *t)
{
    if (t == NULL) {
        return;
    }

    gw_lua_free(t->s);

    if (t->params != NULL) {
        json_decref(t->params);
    }

    free(t->text);
    free(t);
}
