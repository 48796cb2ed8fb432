
/*
 * Copyright (C) Tollgate
 *
 * gw.exit() and gw.problem() (docs/plugins-api.md): the answer an access
 * handler asks for, checked and recorded in the request's exit record
 * (ngx_http_gw_lua_exit()), which the runner sends; the coroutine yields
 * so that nothing of the handler runs after it.
 */


#include <jansson.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_lua_api.h"


#define NGX_HTTP_GW_API_EXIT_HEADERS  100   /* gw.exit's headers */
#define NGX_HTTP_GW_API_EXIT_MAX      (1024 * 1024)    /* its body, bytes */
#define NGX_HTTP_GW_API_TITLE_MAX     256   /* gw.problem's, bytes */
#define NGX_HTTP_GW_API_DETAIL_MAX    1024


static ngx_int_t ngx_http_gw_lua_api_status(lua_State *L, int idx,
    const char *what);
static void ngx_http_gw_lua_api_exit_body(lua_State *L, int idx,
    ngx_str_t *body, ngx_str_t *type);


static ngx_int_t
ngx_http_gw_lua_api_status(lua_State *L, int idx, const char *what)
{
    lua_Number  n;

    if (lua_type(L, idx) != LUA_TNUMBER) {
        luaL_error(L, "gw.%s: the status must be a number", what);
        return 0;
    }

    n = lua_tonumber(L, idx);

    if (n != (lua_Number) (ngx_int_t) n || n < 200 || n > 599) {
        luaL_error(L, "gw.%s: the status must be an integer 200..599",
                   what);
        return 0;
    }

    return (ngx_int_t) n;
}


static void
ngx_http_gw_lua_api_exit_body(lua_State *L, int idx, ngx_str_t *body,
    ngx_str_t *type)
{
    char          *text;
    size_t         len;
    json_t        *json;
    const char    *s;
    gw_lua_err_t   err;

    switch (lua_type(L, idx)) {

    case LUA_TNIL:
    case LUA_TNONE:
        return;

    case LUA_TSTRING:
        ngx_str_set(type, "text/plain");
        break;

    case LUA_TTABLE:
        json = gw_lua_to_json(L, idx, &err);
        if (json == NULL) {
            luaL_error(L, "gw.exit: body: %s", err.msg);
            return;
        }

        gw_lua_guard_enter();
        text = json_dumps(json, JSON_COMPACT);
        json_decref(json);
        gw_lua_guard_leave();

        if (text == NULL) {
            luaL_error(L, "no memory");
            return;
        }

        ngx_http_gw_lua_api_push_text(L, text);
        lua_replace(L, idx);
        ngx_str_set(type, "application/json");
        break;

    default:
        luaL_error(L, "gw.exit: the body must be a string or a table");
        return;
    }

    s = lua_tolstring(L, idx, &len);

    if (len > NGX_HTTP_GW_API_EXIT_MAX) {
        luaL_error(L, "gw.exit: body longer than %d bytes",
                   NGX_HTTP_GW_API_EXIT_MAX);
        return;
    }

    body->data = (u_char *) s;
    body->len = len;
}


/*
 * gw.exit(status, body?, headers?): asks the runner to answer with that
 * status, body (a string, or a table sent as JSON) and headers (name ->
 * value), and ends the plugin's access function (a yield the runner
 * never resumes).  Every header is checked before any is added.
 */

int
ngx_http_gw_lua_api_exit(lua_State *L)
{
    ngx_int_t                     status;
    ngx_str_t                     value, body, type;
    ngx_uint_t                    n;
    ngx_http_request_t           *r;
    ngx_http_gw_lua_exit_t       *ex;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_lua_api_hname_t  *hn, tmp;

    call = ngx_http_gw_lua_api_call(L, "exit", NGX_HTTP_GW_API_ACCESS);
    r = call->r;

    ex = ngx_http_gw_lua_exit(call);

    if (ex == NULL || call->co == NULL) {
        return luaL_error(L, "gw.exit: no answer can be given here");
    }

    status = ngx_http_gw_lua_api_status(L, 1, "exit");

    ngx_str_null(&body);
    ngx_str_null(&type);

    ngx_http_gw_lua_api_exit_body(L, 2, &body, &type);

    if (body.len != 0 && (status == NGX_HTTP_NO_CONTENT
                          || status == NGX_HTTP_NOT_MODIFIED))
    {
        return luaL_error(L, "gw.exit: status %d has no body", (int) status);
    }

    if (!lua_isnoneornil(L, 3)) {
        if (lua_type(L, 3) != LUA_TTABLE) {
            return luaL_error(L, "gw.exit: the headers must be a table");
        }

        n = 0;
        lua_pushnil(L);

        while (lua_next(L, 3) != 0) {
            hn = ngx_http_gw_lua_api_hname(L, -2, "exit", r, &tmp);
            ngx_http_gw_lua_api_value(L, -1, "exit", r, &value);

            if (++n > NGX_HTTP_GW_API_EXIT_HEADERS) {
                return luaL_error(L, "gw.exit: more than %d headers",
                                  NGX_HTTP_GW_API_EXIT_HEADERS);
            }

            if (hn->resp_refused) {
                return luaL_error(L, "gw.exit: header \"%s\" is not "
                                  "the plugin's to set", hn->name.data);
            }

            lua_pop(L, 1);
        }

        lua_pushnil(L);

        while (lua_next(L, 3) != 0) {
            hn = ngx_http_gw_lua_api_hname(L, -2, "exit", r, &tmp);
            ngx_http_gw_lua_api_value(L, -1, "exit", r, &value);

            ngx_http_gw_lua_api_resp_set(L, r, hn, &value, 1);

            if (hn->resp_type) {
                ngx_str_null(&type);
            }

            lua_pop(L, 1);
        }
    }

    ex->body.len = 0;
    ex->body.data = (u_char *) "";

    if (body.len != 0) {
        ex->body.data = ngx_http_gw_lua_api_copy(L, r, &body, NULL);
        ex->body.len = body.len;
    }

    ex->type.len = type.len;
    ex->type.data = type.len ? type.data : (u_char *) "";
    ex->problem = 0;
    ex->status = status;

    return lua_yield(L, 0);
}


/* gw.problem(status, title, detail?): a problem+json answer, then ends
 * the access function as gw.exit() does */

int
ngx_http_gw_lua_api_problem(lua_State *L)
{
    size_t                   len;
    ngx_int_t                status;
    ngx_str_t                title, detail;
    const char              *s;
    ngx_http_gw_lua_exit_t  *ex;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "problem", NGX_HTTP_GW_API_ACCESS);

    ex = ngx_http_gw_lua_exit(call);

    if (ex == NULL || call->co == NULL) {
        return luaL_error(L, "gw.problem: no answer can be given here");
    }

    status = ngx_http_gw_lua_api_status(L, 1, "problem");

    if (status < 400) {
        return luaL_error(L, "gw.problem: the status must be 400..599");
    }

    if (lua_type(L, 2) != LUA_TSTRING) {
        return luaL_error(L, "gw.problem: the title must be a string");
    }

    s = lua_tolstring(L, 2, &len);

    if (len == 0 || len > NGX_HTTP_GW_API_TITLE_MAX) {
        return luaL_error(L, "gw.problem: the title must be 1..%d bytes",
                          NGX_HTTP_GW_API_TITLE_MAX);
    }

    title.data = (u_char *) s;
    title.len = len;

    if (!ngx_http_gw_header_value_safe(&title)) {
        return luaL_error(L, "gw.problem: control character in the title");
    }

    ngx_str_null(&detail);

    if (!lua_isnoneornil(L, 3)) {
        if (lua_type(L, 3) != LUA_TSTRING) {
            return luaL_error(L, "gw.problem: the detail must be a string");
        }

        s = lua_tolstring(L, 3, &len);

        if (len > NGX_HTTP_GW_API_DETAIL_MAX) {
            return luaL_error(L, "gw.problem: detail longer than %d bytes",
                              NGX_HTTP_GW_API_DETAIL_MAX);
        }

        detail.data = (u_char *) s;
        detail.len = len;
    }

    ex->title.data = ngx_http_gw_lua_api_copy(L, call->r, &title, NULL);
    ex->title.len = title.len;
    ex->detail.data = ngx_http_gw_lua_api_copy(L, call->r, &detail, NULL);
    ex->detail.len = detail.len;
    ngx_str_set(&ex->ptype, "");
    ngx_str_set(&ex->body, "");
    ngx_str_set(&ex->type, "");
    ex->problem = 1;
    ex->status = status;

    return lua_yield(L, 0);
}
