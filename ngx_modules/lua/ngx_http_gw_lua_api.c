
/*
 * Copyright (C) Tollgate
 *
 * The "gw" table every plugin sees (docs/plugins-api.md): this file makes
 * the table once per state and holds what is not the request's or the
 * response's own (consumer, claims, request id, route, log, time, json),
 * plus the checks the API files share; gw.exit and gw.problem are in
 * ngx_http_gw_lua_api_exit.c.
 *
 * The functions are plain C functions without upvalues but the log level:
 * the request they serve is ngx_http_gw_lua_cur, set by the runner around
 * every call, so nothing is allocated per call to find it, and a function
 * a plugin kept for later still refuses to run outside its phases.
 *
 * Two rules keep the watchdog's jump safe (gw_lua.h): code that may take
 * a lock (a pool's malloc, logging, jansson) runs between
 * gw_lua_guard_enter() and gw_lua_guard_leave(), and no Lua error is
 * raised between them; what may raise (pushing, luaL_error) runs outside.
 */


#include <jansson.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_keyauth.h"
#include "ngx_http_gw_router.h"
#include "ngx_http_gw_lua_api.h"




static int ngx_http_gw_lua_api_consumer(lua_State *L);
static int ngx_http_gw_lua_api_claims(lua_State *L);
static int ngx_http_gw_lua_api_request_id(lua_State *L);
static int ngx_http_gw_lua_api_route(lua_State *L);
static int ngx_http_gw_lua_api_text_push(lua_State *L);
static int ngx_http_gw_lua_api_json_push(lua_State *L);
static int ngx_http_gw_lua_api_log(lua_State *L);
static int ngx_http_gw_lua_api_time(lua_State *L);
static int ngx_http_gw_lua_api_json_encode(lua_State *L);
static int ngx_http_gw_lua_api_json_decode(lua_State *L);
static void ngx_http_gw_lua_api_set(lua_State *L, const char *name,
    lua_CFunction f);


/* ngx_http_gw_lua_phase_name() is the runner's (ngx_http_gw_lua_run.c) */


int
ngx_http_gw_lua_api_check(lua_State *L, const char *what, ngx_uint_t phases)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_cur;

    if (call == NULL) {
        return luaL_error(L, "gw.%s: not allowed outside a plugin call",
                          what);
    }

    if ((phases & ((ngx_uint_t) 1 << call->phase)) == 0) {
        return luaL_error(L, "gw.%s: not allowed in the %s phase", what,
                          ngx_http_gw_lua_phase_name(call->phase));
    }

    return 0;
}


ngx_http_gw_lua_call_t *
ngx_http_gw_lua_api_call(lua_State *L, const char *what, ngx_uint_t phases)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_allowed(phases);

    if (call == NULL) {
        (void) ngx_http_gw_lua_api_check(L, what, phases);
    }

    return call;
}


ngx_http_gw_lua_call_t *
ngx_http_gw_lua_api_allowed(ngx_uint_t phases)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_cur;

    if (call == NULL || (phases & ((ngx_uint_t) 1 << call->phase)) == 0) {
        return NULL;
    }

    return call;
}


ngx_str_t *
ngx_http_gw_lua_api_name(lua_State *L, int idx, const char *what,
    ngx_str_t *name, ngx_uint_t raise)
{
    size_t       len;
    const char  *s;

    if (lua_type(L, idx) != LUA_TSTRING) {
        luaL_error(L, "gw.%s: the header name must be a string", what);
        return NULL;
    }

    s = lua_tolstring(L, idx, &len);

    if (ngx_http_gw_lua_api_name_ok(s, len)) {
        name->data = (u_char *) s;
        name->len = len;

        return name;
    }

    if (raise) {
        luaL_error(L, "gw.%s: invalid header name", what);
    }

    return NULL;
}


ngx_uint_t
ngx_http_gw_lua_api_name_ok(const char *s, size_t len)
{
    return len != 0 && len <= NGX_HTTP_GW_API_NAME_MAX
           && ngx_http_gw_lua_api_token((u_char *) s, len) == NGX_OK;
}


u_char *
ngx_http_gw_lua_api_copy(lua_State *L, ngx_http_request_t *r, ngx_str_t *s,
    u_char **lowcase)
{
    u_char  *p;

    gw_lua_guard_enter();
    p = ngx_pnalloc(r->pool, lowcase != NULL ? 2 * s->len + 1 : s->len + 1);
    gw_lua_guard_leave();

    if (p == NULL) {
        luaL_error(L, "no memory");
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    if (lowcase != NULL) {
        *lowcase = p + s->len + 1;
        ngx_strlow(*lowcase, p, s->len);
    }

    return p;
}


/*
 * Pushes name in lowercase: the common short name through a buffer on
 * the C stack, a longer one through a Lua buffer.
 */

ngx_table_elt_t *
ngx_http_gw_lua_api_next_header(ngx_http_gw_lua_api_walk_t *w,
    ngx_str_t *name)
{
    ngx_table_elt_t  *h;

    for ( ;; ) {

        if (w->i >= w->part->nelts) {
            if (w->part->next == NULL) {
                return NULL;
            }

            w->part = w->part->next;
            w->i = 0;
            continue;
        }

        h = (ngx_table_elt_t *) w->part->elts + w->i++;

        if (h->hash == 0) {
            continue;
        }

        if (name == NULL
            || (h->key.len == name->len
                && ngx_strncasecmp(h->key.data, name->data, name->len) == 0))
        {
            return h;
        }
    }
}


int
ngx_http_gw_lua_api_change(lua_State *L, const char *what,
    ngx_http_gw_lua_api_headers_t *hs, ngx_uint_t replace, ngx_uint_t remove)
{
    ngx_str_t                     value;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_lua_api_hname_t  *hn, tmp;

    call = ngx_http_gw_lua_api_call(L, what, hs->phases);

    hn = ngx_http_gw_lua_api_hname(L, 1, what, call->r, &tmp);

    hs->check(L, what, hn);

    if (remove) {
        hs->set(L, call->r, hn, NULL, 1);
        return 0;
    }

    ngx_http_gw_lua_api_value(L, 2, what, call->r, &value);

    hs->set(L, call->r, hn, &value, replace);

    return 0;
}


void
ngx_http_gw_lua_api_table(lua_State *L, const char *name,
    const luaL_Reg *funcs)
{
    int              n;
    const luaL_Reg  *f;

    for (n = 0; funcs[n].name != NULL; n++) { /* void */ }

    lua_createtable(L, 0, n);

    for (f = funcs; f->name != NULL; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }

    lua_setfield(L, -2, name);
}


static void
ngx_http_gw_lua_api_push_lower(lua_State *L, ngx_table_elt_t *h)
{
    size_t       i;
    u_char       buf[64];
    luaL_Buffer  b;

    if (h->lowcase_key != NULL) {
        lua_pushlstring(L, (char *) h->lowcase_key, h->key.len);
        return;
    }

    if (h->key.len <= sizeof(buf)) {
        ngx_strlow(buf, h->key.data, h->key.len);
        lua_pushlstring(L, (char *) buf, h->key.len);
        return;
    }

    luaL_buffinit(L, &b);

    for (i = 0; i < h->key.len; i++) {
        luaL_addchar(&b, ngx_tolower(h->key.data[i]));
    }

    luaL_pushresult(&b);
}


void
ngx_http_gw_lua_api_push_headers(lua_State *L, ngx_list_t *list)
{
    ngx_table_elt_t             *h;
    ngx_http_gw_lua_api_walk_t   w;

    lua_createtable(L, 0, 16);

    w.part = &list->part;
    w.i = 0;

    while ((h = ngx_http_gw_lua_api_next_header(&w, NULL)) != NULL) {

        ngx_http_gw_lua_api_push_lower(L, h);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);

        switch (lua_type(L, -1)) {

        case LUA_TNIL:
            lua_pop(L, 1);
            lua_pushlstring(L, (char *) h->value.data, h->value.len);
            lua_rawset(L, -3);
            break;

        case LUA_TSTRING:
            /* a second value: {first, second} */
            lua_createtable(L, 2, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
            lua_pushlstring(L, (char *) h->value.data, h->value.len);
            lua_rawseti(L, -2, 2);
            lua_rawset(L, -3);
            break;

        default:
            lua_pushlstring(L, (char *) h->value.data, h->value.len);
            lua_rawseti(L, -2, (int) lua_objlen(L, -2) + 1);
            lua_pop(L, 2);
            break;
        }
    }
}


ngx_uint_t
ngx_http_gw_lua_api_first_header(ngx_list_t *list, ngx_str_t *name,
    ngx_str_t *first)
{
    ngx_uint_t                   n;
    ngx_table_elt_t             *h;
    ngx_http_gw_lua_api_walk_t   w;

    w.part = &list->part;
    w.i = 0;
    n = 0;
    ngx_str_null(first);

    while ((h = ngx_http_gw_lua_api_next_header(&w, name)) != NULL) {
        if (n++ == 0) {
            *first = h->value;
        }
    }

    return n;
}


int
ngx_http_gw_lua_api_push_header(lua_State *L, ngx_list_t *list,
    ngx_str_t *name, ngx_uint_t count)
{
    ngx_str_t   first;
    ngx_uint_t  n;

    n = ngx_http_gw_lua_api_first_header(list, name, &first);

    if (n == 0) {
        lua_pushnil(L);

    } else {
        lua_pushlstring(L, (char *) first.data, first.len);
    }

    if (count) {
        lua_pushinteger(L, (lua_Integer) n);
        return 2;
    }

    return 1;
}


/* gw.consumer(): nil, or {id=, name=, plan=, tags={...}} */

static int
ngx_http_gw_lua_api_consumer(lua_State *L)
{
    u_char                        *p, *end, *comma;
    ngx_int_t                      n;
    ngx_http_gw_lua_call_t        *call;
    ngx_http_gw_keyauth_record_t  *rec;

    call = ngx_http_gw_lua_api_call(L, "consumer", NGX_HTTP_GW_API_ALL);

    rec = ngx_http_gw_keyauth_consumer(call->r);

    if (rec == NULL) {
        lua_pushnil(L);
        return 1;
    }

    lua_createtable(L, 0, 4);

    lua_pushlstring(L, (char *) rec->id, rec->id_len);
    lua_setfield(L, -2, "id");
    lua_pushlstring(L, (char *) rec->name, rec->name_len);
    lua_setfield(L, -2, "name");

    if (rec->plan_len != 0) {
        lua_pushlstring(L, (char *) rec->plan, rec->plan_len);
        lua_setfield(L, -2, "plan");
    }

    lua_createtable(L, 0, 0);

    p = rec->tags;
    end = p + rec->tags_len;
    n = 0;

    while (p < end) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        lua_pushlstring(L, (char *) p, comma - p);
        lua_rawseti(L, -2, (int) ++n);

        p = comma + 1;
    }

    lua_setfield(L, -2, "tags");

    return 1;
}


/* gw.claims(): nil, or the verified JWT's payload as a table */

static int
ngx_http_gw_lua_api_claims(lua_State *L)
{
    json_t                  *claims;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "claims", NGX_HTTP_GW_API_ALL);

    gw_lua_guard_enter();
    claims = ngx_http_gw_jwt_claims(call->r);
    gw_lua_guard_leave();

    if (claims == NULL) {
        lua_pushnil(L);
        return 1;
    }

    gw_lua_push_json(L, claims);

    return 1;
}


static int
ngx_http_gw_lua_api_request_id(lua_State *L)
{
    ngx_int_t                rc;
    ngx_str_t                id;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "request_id", NGX_HTTP_GW_API_ALL);

    gw_lua_guard_enter();
    rc = ngx_http_gw_request_id(call->r, &id);
    gw_lua_guard_leave();

    if (rc != NGX_OK) {
        return luaL_error(L, "no memory");
    }

    lua_pushlstring(L, (char *) id.data, id.len);

    return 1;
}


/* gw.route(): nil, or {id=, upstream=, version=} of the matched route */

static int
ngx_http_gw_lua_api_route(lua_State *L)
{
    ngx_http_gw_snap_t           *snap;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_router_ctx_t     *ctx;
    ngx_http_gw_snap_route_t     *route;

    call = ngx_http_gw_lua_api_call(L, "route", NGX_HTTP_GW_API_ALL);

    ctx = ngx_http_gw_router_ctx(call->r);

    if (ctx == NULL) {
        lua_pushnil(L);
        return 1;
    }

    snap = ctx->snap;
    route = ctx->route;

    lua_createtable(L, 0, 3);

    lua_pushlstring(L, ngx_http_gw_snap_string(snap, route->id),
                    route->id.len);
    lua_setfield(L, -2, "id");

    if (ctx->upstream != NULL) {
        lua_pushlstring(L, ngx_http_gw_snap_string(snap, ctx->upstream->id),
                        ctx->upstream->id.len);
        lua_setfield(L, -2, "upstream");
    }

    if (route->api_version.len != 0) {
        lua_pushlstring(L, ngx_http_gw_snap_string(snap, route->api_version),
                        route->api_version.len);
        lua_setfield(L, -2, "version");
    }

    return 1;
}


/* a status at idx: an integer 200..599 (1xx cannot be an answer) */


/* pushes text, a malloc()ed string it frees, raising only after that */

static int
ngx_http_gw_lua_api_text_push(lua_State *L)
{
    lua_pushstring(L, lua_touserdata(L, 1));
    return 1;
}


void
ngx_http_gw_lua_api_push_text(lua_State *L, char *text)
{
    int  rc;

    lua_pushcfunction(L, ngx_http_gw_lua_api_text_push);
    lua_pushlightuserdata(L, text);
    rc = lua_pcall(L, 1, 1, 0);

    gw_lua_guard_enter();
    free(text);
    gw_lua_guard_leave();

    if (rc != 0) {
        (void) lua_error(L);
    }
}


static int
ngx_http_gw_lua_api_json_push(lua_State *L)
{
    gw_lua_push_json(L, lua_touserdata(L, 1));
    return 1;
}


/*
 * The exit's body at idx: a string, or a table replaced at idx by its
 * JSON text (type set to application/json).
 */


/*
 * gw.log.info/warn/err(...): the values as text, separated by spaces,
 * escaped and capped (NGX_HTTP_GW_LOG_MAX bytes, then "..."), after
 * "plugin <name>: ".  The level is the function's upvalue.
 */

static int
ngx_http_gw_lua_api_log(lua_State *L)
{
    int                      i, n;
    size_t                   len;
    u_char                  *p, *end;
    ngx_str_t                msg;
    ngx_log_t               *log;
    ngx_uint_t               level;
    const char              *s;
    ngx_http_gw_lua_call_t  *call;
    u_char                   buf[NGX_HTTP_GW_LOG_MAX + 1];
    u_char                   esc[NGX_HTTP_GW_LOG_SIZE];

    call = ngx_http_gw_lua_api_call(L, "log", NGX_HTTP_GW_API_ALL);

    level = (ngx_uint_t) lua_tointeger(L, lua_upvalueindex(1));
    log = call->r->connection->log;

    if (log->log_level < level) {
        return 0;
    }

    n = lua_gettop(L);
    p = buf;
    end = buf + sizeof(buf);

    for (i = 1; i <= n && p < end; i++) {

        if (i > 1) {
            *p++ = ' ';
        }

        switch (lua_type(L, i)) {

        case LUA_TSTRING:
        case LUA_TNUMBER:
            s = lua_tolstring(L, i, &len);
            break;

        case LUA_TBOOLEAN:
            s = lua_toboolean(L, i) ? "true" : "false";
            len = ngx_strlen(s);
            break;

        default:
            s = lua_typename(L, lua_type(L, i));
            len = ngx_strlen(s);
            break;
        }

        len = ngx_min(len, (size_t) (end - p));
        p = ngx_cpymem(p, s, len);
    }

    (void) ngx_http_gw_log_escape(&msg, esc, buf, p - buf);

    gw_lua_guard_enter();
    ngx_log_error(level, log, 0, "plugin %V: %V", &call->plugin->name, &msg);
    gw_lua_guard_leave();

    return 0;
}


/* gw.time(): seconds since the epoch, from nginx's cached time */

static int
ngx_http_gw_lua_api_time(lua_State *L)
{
    ngx_time_t  *tp;

    (void) ngx_http_gw_lua_api_call(L, "time", NGX_HTTP_GW_API_ALL);

    tp = ngx_timeofday();

    lua_pushnumber(L, (lua_Number) tp->sec + (lua_Number) tp->msec / 1000);

    return 1;
}


static int
ngx_http_gw_lua_api_json_encode(lua_State *L)
{
    char          *text;
    json_t        *json;
    gw_lua_err_t   err;

    luaL_checkany(L, 1);

    json = gw_lua_to_json(L, 1, &err);
    if (json == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }

    gw_lua_guard_enter();
    text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(json);
    gw_lua_guard_leave();

    if (text == NULL) {
        return luaL_error(L, "no memory");
    }

    ngx_http_gw_lua_api_push_text(L, text);

    return 1;
}


static int
ngx_http_gw_lua_api_json_decode(lua_State *L)
{
    int            rc;
    size_t         len;
    json_t        *json;
    const char    *s;
    json_error_t   jerr;

    s = luaL_checklstring(L, 1, &len);

    gw_lua_guard_enter();
    json = json_loadb(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                      &jerr);
    gw_lua_guard_leave();

    if (json == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, jerr.text);
        return 2;
    }

    /* pushed in a protected call, so json is released if that raises */

    lua_pushcfunction(L, ngx_http_gw_lua_api_json_push);
    lua_pushlightuserdata(L, json);
    rc = lua_pcall(L, 1, 1, 0);

    gw_lua_guard_enter();
    json_decref(json);
    gw_lua_guard_leave();

    if (rc != 0) {
        return lua_error(L);
    }

    return 1;
}


static void
ngx_http_gw_lua_api_set(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
}


/*
 * Adds the API to the "gw" table on the top of L (called once per state,
 * protected: raises on no memory).
 */

int
ngx_http_gw_lua_api_open(lua_State *L)
{
    ngx_http_gw_lua_api_req_open(L);
    ngx_http_gw_lua_api_resp_open(L);

    ngx_http_gw_lua_api_set(L, "consumer", ngx_http_gw_lua_api_consumer);
    ngx_http_gw_lua_api_set(L, "claims", ngx_http_gw_lua_api_claims);
    ngx_http_gw_lua_api_set(L, "request_id", ngx_http_gw_lua_api_request_id);
    ngx_http_gw_lua_api_set(L, "route", ngx_http_gw_lua_api_route);
    ngx_http_gw_lua_api_set(L, "exit", ngx_http_gw_lua_api_exit);
    ngx_http_gw_lua_api_set(L, "problem", ngx_http_gw_lua_api_problem);
    ngx_http_gw_lua_api_set(L, "time", ngx_http_gw_lua_api_time);

    lua_createtable(L, 0, 3);

    lua_pushinteger(L, NGX_LOG_INFO);
    lua_pushcclosure(L, ngx_http_gw_lua_api_log, 1);
    lua_setfield(L, -2, "info");
    lua_pushinteger(L, NGX_LOG_WARN);
    lua_pushcclosure(L, ngx_http_gw_lua_api_log, 1);
    lua_setfield(L, -2, "warn");
    lua_pushinteger(L, NGX_LOG_ERR);
    lua_pushcclosure(L, ngx_http_gw_lua_api_log, 1);
    lua_setfield(L, -2, "err");

    lua_setfield(L, -2, "log");

    lua_createtable(L, 0, 3);
    ngx_http_gw_lua_api_set(L, "encode", ngx_http_gw_lua_api_json_encode);
    ngx_http_gw_lua_api_set(L, "decode", ngx_http_gw_lua_api_json_decode);
    lua_pushlightuserdata(L, gw_lua_null);
    lua_setfield(L, -2, "null");
    lua_setfield(L, -2, "json");

    /* in a trusted state, the calls a trace can compile */
    ngx_http_gw_lua_api_jit_open(L);

    return 0;
}
