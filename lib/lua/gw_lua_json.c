
/*
 * Copyright (C) Tollgate
 *
 * JSON (jansson) to and from Lua values (gw_lua.h), and the "json" module
 * sandboxed code may require:
 *
 *   json.encode(v)  -> text, or nil and a message (a cycle, a function...)
 *   json.decode(s)  -> value, or nil and a message (with the position)
 *   json.null       -> the value of JSON's null (a light userdata)
 *   json.array(t?)  -> t (or a new table) marked as an array, so that an
 *                      empty one encodes as [] rather than {}
 *
 * Mapping: an object is a table with string keys; an array a table with
 * the keys 1..n and the "gw.array" metatable (the mark); numbers are Lua
 * numbers (an integer-valued number within 2^53 encodes without a
 * fraction); null is json.null.  A table without the mark is an array
 * when its keys are exactly 1..n (n > 0), an object when they are all
 * strings (the empty table is {}).  Nesting deeper than GW_LUA_JSON_DEPTH
 * is refused both ways.  JSON made from Lua lives outside the state's
 * cap (malloc()): a value that would be larger than the state's cap (a
 * table holding the same big string many times) is refused, and json.decode
 * takes texts of at most a sixteenth of the cap (a parsed value takes
 * several times its text).  Encoded object members are sorted by name, so
 * that a table always gives the same text.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_lua_int.h"


#define GW_LUA_JSON_INT_MAX  9007199254740992.0     /* 2^53 */


char  gw_lua_null_tag;


typedef struct {
    lua_State          *L;
    gw_lua_err_t       *err;
    const void         *path[GW_LUA_JSON_DEPTH + 1];
    int                 depth;
    size_t              size;       /* of the JSON made so far, about */
    size_t              size_max;
} gw_lua_json_ctx_t;


/* what a value costs in the accounting of gw_lua_to_json() */
#define GW_LUA_JSON_VALUE  16


static void gw_lua_push_json_level(lua_State *L, json_t *v, int depth);
static json_t *gw_lua_to_json_level(gw_lua_json_ctx_t *ctx, int idx);


static void
gw_lua_push_json_level(lua_State *L, json_t *v, int depth)
{
    size_t       i, n, klen;
    json_t      *e;
    const char  *key;

    if (depth > GW_LUA_JSON_DEPTH) {
        luaL_error(L, "JSON nested deeper than %d", GW_LUA_JSON_DEPTH);
        return;
    }

    luaL_checkstack(L, 4, "JSON nested too deep");

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        lua_createtable(L, 0, (int) json_object_size(v));

        json_object_keylen_foreach(v, key, klen, e) {
            lua_pushlstring(L, key, klen);
            gw_lua_push_json_level(L, e, depth + 1);
            lua_rawset(L, -3);
        }

        break;

    case JSON_ARRAY:
        n = json_array_size(v);
        lua_createtable(L, (int) n, 0);

        for (i = 0; i < n; i++) {
            gw_lua_push_json_level(L, json_array_get(v, i), depth + 1);
            lua_rawseti(L, -2, (int) i + 1);
        }

        lua_getfield(L, LUA_REGISTRYINDEX, "gw.array");
        lua_setmetatable(L, -2);
        break;

    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;

    case JSON_INTEGER:
        lua_pushnumber(L, (lua_Number) json_integer_value(v));
        break;

    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;

    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;

    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;

    default:
        lua_pushlightuserdata(L, gw_lua_null);
        break;
    }
}


void
gw_lua_push_json(lua_State *L, json_t *v)
{
    gw_lua_push_json_level(L, v, 1);
}


static json_t *
gw_lua_json_fail(gw_lua_json_ctx_t *ctx, const char *msg)
{
    gw_lua_err_set(ctx->err, GW_LUA_ERROR, msg, strlen(msg));
    return NULL;
}


static json_t *
gw_lua_json_number(gw_lua_json_ctx_t *ctx, lua_Number d)
{
    json_t  *j;

    if (isnan(d) || isinf(d)) {
        return gw_lua_json_fail(ctx, "NaN or infinity in JSON");
    }

    if (d == floor(d) && fabs(d) <= GW_LUA_JSON_INT_MAX) {
        j = json_integer((json_int_t) d);

    } else {
        j = json_real(d);
    }

    if (j == NULL) {
        return gw_lua_json_fail(ctx, "out of memory");
    }

    return j;
}


/*
 * The table at idx (absolute) as an array or an object: the kind is
 * decided by a first pass over the keys.
 */

static json_t *
gw_lua_json_table(gw_lua_json_ctx_t *ctx, int idx)
{
    int           marked;
    json_t       *j, *e;
    size_t        nstr, nint, max, i, klen;
    lua_State    *L;
    lua_Number    k;
    const char   *key;
    const void   *p;

    L = ctx->L;
    p = lua_topointer(L, idx);

    for (i = 0; i < (size_t) ctx->depth; i++) {
        if (ctx->path[i] == p) {
            return gw_lua_json_fail(ctx, "a table that contains itself");
        }
    }

    if (ctx->depth >= GW_LUA_JSON_DEPTH) {
        return gw_lua_json_fail(ctx, "nested deeper than the JSON limit");
    }

    if (!lua_checkstack(L, 6)) {
        return gw_lua_json_fail(ctx, "Lua stack exhausted");
    }

    marked = 0;

    if (lua_getmetatable(L, idx)) {
        lua_getfield(L, LUA_REGISTRYINDEX, "gw.array");
        marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }

    nstr = 0;
    nint = 0;
    max = 0;

    lua_pushnil(L);

    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);

        if (lua_type(L, -1) == LUA_TSTRING) {
            nstr++;
            continue;
        }

        if (lua_type(L, -1) == LUA_TNUMBER) {
            k = lua_tonumber(L, -1);

            if (k >= 1 && k == floor(k) && k <= 2147483647.0) {
                nint++;
                max = ((size_t) k > max) ? (size_t) k : max;
                continue;
            }
        }

        lua_pop(L, 1);
        return gw_lua_json_fail(ctx, "a table key that is neither a string"
                                " nor a positive integer");
    }

    if (nstr > 0 && (nint > 0 || marked)) {
        return gw_lua_json_fail(ctx, "a table with both string and integer"
                                " keys");
    }

    if (nint != max) {
        return gw_lua_json_fail(ctx, "a sparse array");
    }

    ctx->path[ctx->depth++] = p;

    if (nint > 0 || marked) {
        j = json_array();
        if (j == NULL) {
            return gw_lua_json_fail(ctx, "out of memory");
        }

        for (i = 1; i <= max; i++) {
            lua_rawgeti(L, idx, (int) i);
            e = gw_lua_to_json_level(ctx, lua_gettop(L));
            lua_pop(L, 1);

            if (e == NULL || json_array_append_new(j, e) != 0) {
                json_decref(j);
                return (e == NULL) ? NULL
                                   : gw_lua_json_fail(ctx, "out of memory");
            }
        }

        ctx->depth--;
        return j;
    }

    j = json_object();
    if (j == NULL) {
        return gw_lua_json_fail(ctx, "out of memory");
    }

    lua_pushnil(L);

    while (lua_next(L, idx) != 0) {
        key = lua_tolstring(L, -2, &klen);
        ctx->size += klen;
        e = gw_lua_to_json_level(ctx, lua_gettop(L));
        lua_pop(L, 1);

        if (e == NULL) {
            lua_pop(L, 1);
            json_decref(j);
            return NULL;
        }

        if (json_object_setn_new(j, key, klen, e) != 0) {
            lua_pop(L, 1);
            json_decref(j);
            return gw_lua_json_fail(ctx, "an object key that is not UTF-8");
        }
    }

    ctx->depth--;

    return j;
}


static json_t *
gw_lua_to_json_level(gw_lua_json_ctx_t *ctx, int idx)
{
    json_t       *j;
    size_t        len;
    lua_State    *L;
    const char   *s;

    L = ctx->L;

    ctx->size += GW_LUA_JSON_VALUE;

    if (lua_type(L, idx) == LUA_TSTRING) {
        ctx->size += lua_objlen(L, idx);
    }

    if (ctx->size > ctx->size_max) {
        return gw_lua_json_fail(ctx, "JSON larger than the memory cap");
    }

    switch (lua_type(L, idx)) {

    case LUA_TNIL:
        return json_null();

    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));

    case LUA_TNUMBER:
        return gw_lua_json_number(ctx, lua_tonumber(L, idx));

    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        j = json_stringn(s, len);

        if (j == NULL) {
            return gw_lua_json_fail(ctx, "a string that is not UTF-8");
        }

        return j;

    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == gw_lua_null) {
            return json_null();
        }

        break;

    case LUA_TTABLE:
        return gw_lua_json_table(ctx, idx);

    default:
        break;
    }

    return gw_lua_json_fail(ctx, "a value JSON cannot hold (function,"
                            " userdata, thread or cdata)");
}


json_t *
gw_lua_to_json(lua_State *L, int idx, gw_lua_err_t *err)
{
    int                 top;
    json_t             *j;
    gw_lua_json_ctx_t   ctx;

    top = lua_gettop(L);

    ctx.L = L;
    ctx.err = err;
    ctx.depth = 0;
    ctx.size = 0;
    ctx.size_max = gw_lua_mem_max(gw_lua_from(L));

    if (idx < 0 && idx > LUA_REGISTRYINDEX) {
        idx = top + idx + 1;
    }

    j = gw_lua_to_json_level(&ctx, idx);

    lua_settop(L, top);

    return j;
}


static int
gw_lua_json_push_text(lua_State *L)
{
    lua_pushstring(L, lua_touserdata(L, 1));
    return 1;
}


static int
gw_lua_json_push_value(lua_State *L)
{
    gw_lua_push_json(L, lua_touserdata(L, 1));
    return 1;
}


/*
 * json.encode(v): nothing that can raise runs while a malloc()ed value is
 * held outside a protected call, so an error (memory) leaks nothing.
 */

static int
gw_lua_json_encode(lua_State *L)
{
    int            status;
    char          *text;
    json_t        *j;
    gw_lua_err_t   err;

    lua_settop(L, 1);
    lua_pushcfunction(L, gw_lua_json_push_text);

    gw_lua_guard_enter();

    j = gw_lua_to_json(L, 1, &err);
    text = NULL;

    if (j != NULL) {
        text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS
                             | JSON_REAL_PRECISION(17));
        json_decref(j);

        if (text == NULL) {
            gw_lua_err_set(&err, GW_LUA_ERROR, "out of memory", 13);
        }
    }

    gw_lua_guard_leave();

    if (text == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }

    lua_pushlightuserdata(L, text);
    status = lua_pcall(L, 1, 1, 0);

    gw_lua_guard_enter();
    free(text);
    gw_lua_guard_leave();

    if (status != 0) {
        return lua_error(L);
    }

    return 1;
}


static int
gw_lua_json_decode(lua_State *L)
{
    int            status;
    char           msg[GW_LUA_ERR_MAX];
    size_t         len;
    json_t        *j;
    const char    *text;
    json_error_t   jerr;

    text = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1);

    if (len > gw_lua_mem_max(gw_lua_from(L)) / 16) {
        lua_pushnil(L);
        lua_pushliteral(L, "JSON text too large for the memory cap");
        return 2;
    }

    lua_pushcfunction(L, gw_lua_json_push_value);

    gw_lua_guard_enter();
    j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    gw_lua_guard_leave();

    if (j == NULL) {
        snprintf(msg, sizeof(msg), "JSON at line %d, column %d: %s",
                 jerr.line, jerr.column, jerr.text);
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }

    lua_pushlightuserdata(L, j);
    status = lua_pcall(L, 1, 1, 0);

    gw_lua_guard_enter();
    json_decref(j);
    gw_lua_guard_leave();

    if (status != 0) {
        if (status == LUA_ERRMEM) {
            return lua_error(L);
        }

        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }

    return 1;
}


static int
gw_lua_json_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);

    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_settop(L, 1);
    }

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.array");
    lua_setmetatable(L, 1);

    return 1;
}


int
gw_lua_json_open(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, "gw.array");

    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, gw_lua_json_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, gw_lua_json_decode);
    lua_setfield(L, -2, "decode");
    lua_pushcfunction(L, gw_lua_json_array);
    lua_setfield(L, -2, "array");
    lua_pushlightuserdata(L, gw_lua_null);
    lua_setfield(L, -2, "null");

    return 1;
}
