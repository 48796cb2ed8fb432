
/*
 * Copyright (C) Tollgate
 *
 * The compiled calls of trusted states (docs/plugins-api.md, "Compiled
 * calls"): in a state with the JIT on and the FFI, the calls plugins make
 * on every request (gw.req.set_header, add_header, gw.resp.set_header,
 * add_header, gw.req.header, gw.resp.apply) are Lua functions calling C
 * through FFI function pointers, which LuaJIT compiles into the plugin's
 * trace; a classic C function (lua_CFunction) ends the trace at each
 * call and converts each argument through the Lua API.
 *
 * Each fast function below does only what it can do without raising: the
 * common case (a name and a value the worker's caches hold already, in a
 * phase that allows the call).  For anything else it answers "classic"
 * and its Lua side calls the classic C function with the same arguments,
 * which decides, raises the same errors and fills the caches: what a
 * plugin sees is the same either way.  No Lua error is ever raised from
 * C called through the FFI (LuaJIT does not allow it): "no memory" comes
 * back as a code and is raised by the Lua side.
 *
 * The functions are static: the Lua side gets them as pointers, cast
 * once when the state is made, never by a name a plugin's ffi.cdef could
 * shadow.  Untrusted states (JIT off, no FFI) keep the C functions.
 */


#include "ngx_http_gw_lua_int.h"
#include "ngx_http_gw_lua_api.h"


/* what a fast function answers its Lua side (done() there) */
#define NGX_HTTP_GW_LUA_JIT_DONE     0
#define NGX_HTTP_GW_LUA_JIT_CLASSIC  1     /* call the C function */
#define NGX_HTTP_GW_LUA_JIT_NOMEM    2

/* the header changes: bit 0 add (else set), bit 1 the response's */
#define NGX_HTTP_GW_LUA_JIT_ADD      1
#define NGX_HTTP_GW_LUA_JIT_RESP     2


static int ngx_http_gw_lua_jit_header(int op, const char *name,
    size_t name_len, const char *data, size_t len);
static int ngx_http_gw_lua_jit_req_header(const char *name, size_t name_len,
    const u_char **data, size_t *len);
static int ngx_http_gw_lua_jit_apply(void *set);


/*
 * The Lua side: run once per trusted state with (ffi, gw, the three
 * function pointers, the prepared sets' tag); replaces the functions of
 * gw.req and gw.resp it covers, keeping the C ones for the fallback.
 */
static const char  ngx_http_gw_lua_jit_lua[] =
"local ffi, gw, fheader, fget, fapply, tag = ...\n"
"local type, error, getmetatable = type, error, getmetatable\n"
"local str = ffi.string\n"
"local header = ffi.cast('int (*)(int, const char *, size_t, "
                                   "const char *, size_t)', fheader)\n"
"local get = ffi.cast('int (*)(const char *, size_t, const char **, "
                              "size_t *)', fget)\n"
"local apply = ffi.cast('int (*)(void *)', fapply)\n"
"local vp = ffi.new('const char *[1]')\n"
"local vl = ffi.new('size_t[1]')\n"
"\n"
"local function done(rc)\n"
"    if rc == 2 then\n"
"        error('no memory', 0)\n"
"    end\n"
"    return rc == 0\n"
"end\n"
"\n"
"local function change(op, classic)\n"
"    return function(name, value)\n"
"        if type(name) == 'string' and type(value) == 'string'\n"
"           and done(header(op, name, #name, value, #value))\n"
"        then\n"
"            return\n"
"        end\n"
"        return classic(name, value)\n"
"    end\n"
"end\n"
"\n"
"local req, resp = gw.req, gw.resp\n"
"req.set_header = change(0, req.set_header)\n"
"req.add_header = change(1, req.add_header)\n"
"resp.set_header = change(2, resp.set_header)\n"
"resp.add_header = change(3, resp.add_header)\n"
"\n"
"local classic_header = req.header\n"
"req.header = function(name, all)\n"
"    if type(name) == 'string' then\n"
"        local n = get(name, #name, vp, vl)\n"
"        if n >= 0 then\n"
"            local v = nil\n"
"            if n > 0 then\n"
"                v = str(vp[0], vl[0])\n"
"            end\n"
"            if all then\n"
"                return v, n\n"
"            end\n"
"            return v\n"
"        end\n"
"    end\n"
"    return classic_header(name, all)\n"
"end\n"
"\n"
"local classic_apply = resp.apply\n"
"resp.apply = function(set)\n"
"    if getmetatable(set) == tag and type(set) == 'userdata'\n"
"       and done(apply(set))\n"
"    then\n"
"        return\n"
"    end\n"
"    return classic_apply(set)\n"
"end\n";


void
ngx_http_gw_lua_api_jit_open(lua_State *L)
{
    int  gw;

    gw = lua_gettop(L);

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.loaded");
    lua_getfield(L, -1, "ffi");

    if (lua_isnil(L, -1)) {
        /* an untrusted state: the C functions */
        lua_pop(L, 2);
        return;
    }

    if (luaL_loadbuffer(L, ngx_http_gw_lua_jit_lua,
                        sizeof(ngx_http_gw_lua_jit_lua) - 1, "=gw.api")
        != 0)
    {
        (void) lua_error(L);
    }

    lua_insert(L, -2);
    lua_pushvalue(L, gw);
    lua_pushlightuserdata(L, (void *) (uintptr_t) ngx_http_gw_lua_jit_header);
    lua_pushlightuserdata(L,
                          (void *) (uintptr_t) ngx_http_gw_lua_jit_req_header);
    lua_pushlightuserdata(L, (void *) (uintptr_t) ngx_http_gw_lua_jit_apply);
    lua_pushliteral(L, NGX_HTTP_GW_API_HSET_TAG);

    lua_call(L, 6, 0);

    lua_settop(L, gw);
}


/* set_header() or add_header() of gw.req or gw.resp, by op */

static int
ngx_http_gw_lua_jit_header(int op, const char *name, size_t name_len,
    const char *data, size_t len)
{
    ngx_int_t                     rc;
    ngx_str_t                     value;
    ngx_uint_t                    resp, replace;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_lua_api_hname_t  *hn;

    resp = op & NGX_HTTP_GW_LUA_JIT_RESP;
    replace = !(op & NGX_HTTP_GW_LUA_JIT_ADD);

    call = ngx_http_gw_lua_api_allowed(resp ? NGX_HTTP_GW_API_WRITE
                                            : NGX_HTTP_GW_API_ACCESS);
    if (call == NULL) {
        return NGX_HTTP_GW_LUA_JIT_CLASSIC;
    }

    hn = ngx_http_gw_lua_api_hname_known(name, name_len);

    /* refused names, and Host (its server) and the framing of gw.req:
     * the classic function's */
    if (hn == NULL
        || (resp ? hn->resp_refused : (hn->req_framing || hn->req_host))
        || !ngx_http_gw_lua_api_value_known(data, len, &value))
    {
        return NGX_HTTP_GW_LUA_JIT_CLASSIC;
    }

    rc = resp ? ngx_http_gw_lua_api_resp_put(call->r, hn, &value, replace)
              : ngx_http_gw_lua_api_req_put(call->r, hn, &value, replace);

    return (rc == NGX_OK) ? NGX_HTTP_GW_LUA_JIT_DONE
                          : NGX_HTTP_GW_LUA_JIT_NOMEM;
}


/*
 * gw.req.header(): how many request headers of that name there are, the
 * first one's value in *data and *len; -1: the classic function decides
 * (outside a call, or a name no header can have).
 */

static int
ngx_http_gw_lua_jit_req_header(const char *name, size_t name_len,
    const u_char **data, size_t *len)
{
    ngx_str_t                n, first;
    ngx_uint_t               count;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_allowed(NGX_HTTP_GW_API_ALL);

    if (call == NULL || !ngx_http_gw_lua_api_name_ok(name, name_len)) {
        return -1;
    }

    n.data = (u_char *) name;
    n.len = name_len;

    count = ngx_http_gw_lua_api_first_header(&call->r->headers_in.headers,
                                             &n, &first);

    *data = first.data;
    *len = first.len;

    return (int) count;
}


/* gw.resp.apply() of a userdata with the prepared sets' tag */

static int
ngx_http_gw_lua_jit_apply(void *set)
{
    ngx_int_t                rc;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_allowed(NGX_HTTP_GW_API_ACCESS
                                       |NGX_HTTP_GW_API_HEADER);
    if (call == NULL) {
        return NGX_HTTP_GW_LUA_JIT_CLASSIC;
    }

    rc = ngx_http_gw_lua_api_hset_put(call->r, set);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_GW_LUA_JIT_CLASSIC;
    }

    return (rc == NGX_OK) ? NGX_HTTP_GW_LUA_JIT_DONE
                          : NGX_HTTP_GW_LUA_JIT_NOMEM;
}
