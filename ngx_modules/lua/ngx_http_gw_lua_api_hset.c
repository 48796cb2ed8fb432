
/*
 * Copyright (C) Tollgate
 *
 * Prepared response headers (docs/plugins-api.md, "Prepared headers"):
 *
 *   gw.resp.prepare(set [, add])   checks and copies once, anywhere (at
 *                                  load, in init): set and add are arrays
 *                                  of names and values {name, value, ...}
 *   gw.resp.apply(prepared)        in access or the header filter: each
 *                                  header of set as set_header() sets it,
 *                                  then each of add as add_header() adds
 *                                  it
 *
 * For the headers a plugin answers the same way on every request (CORS,
 * security headers): a call of apply() finds no name, checks no value and
 * converts no Lua string; what a set_headers() of the same headers spends
 * on each of those is paid once by prepare().
 *
 * A prepared set is a userdata: its entries, then the bytes of their names
 * (as written, and lowercased) and values.  apply() copies those bytes
 * into the request's pool in one piece (the set may be collected before
 * the response header is written) and points the headers to the copy.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_lua_api.h"


#define NGX_HTTP_GW_API_HSET_MAX    32          /* headers of one set */
#define NGX_HTTP_GW_API_HSET_MAGIC  0x7467736574686472ULL


typedef struct {
    ngx_http_gw_lua_api_hname_t  hn;            /* into the set's bytes */
    ngx_str_t                    value;         /* into the set's bytes */
    ngx_uint_t                   add;           /* add_header(), not set */
} ngx_http_gw_lua_api_hset_entry_t;


typedef struct {
    uint64_t                          magic;
    ngx_uint_t                        n;
    size_t                            size;     /* of the bytes */
    ngx_http_gw_lua_api_hset_entry_t  entries[1];
} ngx_http_gw_lua_api_hset_t;


/* the bytes of the names and values, after the n entries */
#define ngx_http_gw_lua_api_hset_bytes(hs, n)  ((u_char *) &(hs)->entries[n])


static ngx_uint_t ngx_http_gw_lua_api_hset_list(lua_State *L, int idx,
    const char *arg, size_t *size);
static u_char *ngx_http_gw_lua_api_hset_fill(lua_State *L, int idx,
    ngx_uint_t add, ngx_http_gw_lua_api_hset_t *hs, u_char *p);


/*
 * Checks the array at idx (absent: none): n pairs of a header name and a
 * value, each as set_header() checks it; adds the bytes they need to
 * *size and returns n.  Raises for anything else.
 */

static ngx_uint_t
ngx_http_gw_lua_api_hset_list(lua_State *L, int idx, const char *arg,
    size_t *size)
{
    size_t                       len, vlen;
    ngx_str_t                    s;
    ngx_uint_t                   i, n;
    const char                  *name, *value;
    ngx_http_gw_lua_api_hname_t  hn;
    u_char                       low[NGX_HTTP_GW_API_NAME_MAX];

    if (lua_isnoneornil(L, idx)) {
        return 0;
    }

    if (lua_type(L, idx) != LUA_TTABLE) {
        (void) luaL_error(L, "gw.resp.prepare: %s must be an array of "
                          "names and values", arg);
        return 0;
    }

    n = lua_objlen(L, idx);

    if (n % 2 != 0) {
        (void) luaL_error(L, "gw.resp.prepare: %s: a name without a value",
                          arg);
        return 0;
    }

    n /= 2;

    for (i = 0; i < n; i++) {
        lua_rawgeti(L, idx, (int) (2 * i + 1));
        lua_rawgeti(L, idx, (int) (2 * i + 2));

        if (lua_type(L, -2) != LUA_TSTRING) {
            (void) luaL_error(L, "gw.resp.prepare: %s: the header name must "
                              "be a string", arg);
            return 0;
        }

        name = lua_tolstring(L, -2, &len);

        if (len == 0 || len > NGX_HTTP_GW_API_NAME_MAX
            || ngx_http_gw_lua_api_token((u_char *) name, len) != NGX_OK)
        {
            (void) luaL_error(L, "gw.resp.prepare: %s: invalid header name",
                              arg);
            return 0;
        }

        ngx_memzero(&hn, sizeof(ngx_http_gw_lua_api_hname_t));
        ngx_strlow(low, (u_char *) name, len);
        hn.name.data = (u_char *) name;
        hn.name.len = len;
        hn.lowcase = low;
        ngx_http_gw_lua_api_resp_class(&hn);

        if (hn.resp_refused) {
            (void) luaL_error(L, "gw.resp.prepare: header \"%s\" is not the "
                              "plugin's to set", name);
            return 0;
        }

        /* a number is written as tostring() writes it, like set_header() */
        value = (lua_type(L, -1) == LUA_TSTRING
                 || lua_type(L, -1) == LUA_TNUMBER)
                ? lua_tolstring(L, -1, &vlen) : NULL;

        if (value == NULL) {
            (void) luaL_error(L, "gw.resp.prepare: %s: the header value must "
                              "be a string", arg);
            return 0;
        }

        s.data = (u_char *) value;
        s.len = vlen;

        if (vlen > NGX_HTTP_GW_API_VALUE_MAX) {
            (void) luaL_error(L, "gw.resp.prepare: %s: header value longer "
                              "than %d bytes", arg, NGX_HTTP_GW_API_VALUE_MAX);
            return 0;
        }

        if (!ngx_http_gw_header_value_safe(&s)) {
            (void) luaL_error(L, "gw.resp.prepare: %s: control character in "
                              "the header value", arg);
            return 0;
        }

        /* the name NUL-terminated, its lowercase, the value */
        *size += 2 * len + 1 + vlen;

        lua_pop(L, 2);
    }

    return n;
}


/* the entries of the (checked) array at idx, their bytes from p on */

static u_char *
ngx_http_gw_lua_api_hset_fill(lua_State *L, int idx, ngx_uint_t add,
    ngx_http_gw_lua_api_hset_t *hs, u_char *p)
{
    size_t                             len;
    ngx_uint_t                         i, n;
    const char                        *s;
    ngx_http_gw_lua_api_hset_entry_t  *e;

    if (lua_isnoneornil(L, idx)) {
        return p;
    }

    n = lua_objlen(L, idx) / 2;

    for (i = 0; i < n; i++) {
        e = &hs->entries[hs->n++];
        ngx_memzero(e, sizeof(ngx_http_gw_lua_api_hset_entry_t));
        e->add = add;

        lua_rawgeti(L, idx, (int) (2 * i + 1));
        s = lua_tolstring(L, -1, &len);

        e->hn.name.data = p;
        e->hn.name.len = len;
        p = ngx_cpymem(p, s, len);
        *p++ = '\0';

        e->hn.lowcase = p;
        ngx_strlow(p, e->hn.name.data, len);
        p += len;

        e->hn.hash = ngx_hash_key(e->hn.lowcase, len);
        ngx_http_gw_lua_api_resp_class(&e->hn);

        lua_rawgeti(L, idx, (int) (2 * i + 2));
        s = lua_tolstring(L, -1, &len);

        e->value.data = p;
        e->value.len = len;
        p = ngx_cpymem(p, s, len);

        lua_pop(L, 2);
    }

    return p;
}


int
ngx_http_gw_lua_api_resp_prepare(lua_State *L)
{
    u_char                      *p;
    size_t                       size;
    ngx_uint_t                   n;
    ngx_http_gw_lua_api_hset_t  *hs;

    /* add absent is nil at 2, under the userdata to come */
    lua_settop(L, 2);

    size = 0;
    n = ngx_http_gw_lua_api_hset_list(L, 1, "set", &size);
    n += ngx_http_gw_lua_api_hset_list(L, 2, "add", &size);

    if (n == 0 || n > NGX_HTTP_GW_API_HSET_MAX) {
        return luaL_error(L, "gw.resp.prepare: 1 to %d headers",
                          NGX_HTTP_GW_API_HSET_MAX);
    }

    /* raises "not enough memory" past the state's cap */
    hs = lua_newuserdata(L, offsetof(ngx_http_gw_lua_api_hset_t, entries)
                            + n * sizeof(ngx_http_gw_lua_api_hset_entry_t)
                            + size);

    hs->magic = NGX_HTTP_GW_API_HSET_MAGIC;
    hs->n = 0;
    hs->size = size;

    /* its tag, which Lua cannot forge on a userdata (the compiled calls
     * of ngx_http_gw_lua_api_jit.c know a set by it) */
    if (luaL_newmetatable(L, NGX_HTTP_GW_API_HSET_TAG)) {
        lua_pushliteral(L, NGX_HTTP_GW_API_HSET_TAG);
        lua_setfield(L, -2, "__metatable");
    }

    lua_setmetatable(L, -2);

    /* the sets first, then the adds: an add is never replaced by a set */
    p = ngx_http_gw_lua_api_hset_fill(L, 1, 0, hs,
                                      ngx_http_gw_lua_api_hset_bytes(hs, n));
    (void) ngx_http_gw_lua_api_hset_fill(L, 2, 1, hs, p);

    return 1;
}


int
ngx_http_gw_lua_api_resp_apply(lua_State *L)
{
    void                    *hs;
    ngx_int_t                rc;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "resp.apply", NGX_HTTP_GW_API_ACCESS
                                                     |NGX_HTTP_GW_API_HEADER);

    /*
     * A plugin's Lua makes no userdata of its own bytes (the sandbox has
     * no newproxy(), and the FFI is for trusted states with ffi alone):
     * the magic and the size tell a prepared set from any other.
     */
    hs = lua_touserdata(L, 1);

    if (hs == NULL
        || lua_objlen(L, 1) < offsetof(ngx_http_gw_lua_api_hset_t, entries))
    {
        rc = NGX_DECLINED;

    } else {
        rc = ngx_http_gw_lua_api_hset_put(call->r, hs);
    }

    if (rc == NGX_DECLINED) {
        return luaL_error(L, "gw.resp.apply: not a prepared set "
                          "(gw.resp.prepare)");
    }

    if (rc != NGX_OK) {
        return luaL_error(L, "no memory");
    }

    return 0;
}


/*
 * Applies the prepared set at p to r's response: NGX_DECLINED when p
 * holds no prepared set (its magic), NGX_ERROR without memory (the set
 * perhaps half applied).  Raises nothing.  p points to a prepared set or
 * to a userdata of at least offsetof(..., entries) bytes.
 */

ngx_int_t
ngx_http_gw_lua_api_hset_put(ngx_http_request_t *r, void *p)
{
    u_char                            *copy, *bytes;
    ngx_str_t                          value;
    ngx_uint_t                         i;
    ngx_http_gw_lua_api_hname_t        hn;
    ngx_http_gw_lua_api_hset_t        *hs;
    ngx_http_gw_lua_api_hset_entry_t  *e;

    hs = p;

    if (hs->magic != NGX_HTTP_GW_API_HSET_MAGIC) {
        return NGX_DECLINED;
    }

    gw_lua_guard_enter();
    copy = ngx_pnalloc(r->pool, hs->size);
    gw_lua_guard_leave();

    if (copy == NULL) {
        return NGX_ERROR;
    }

    bytes = ngx_http_gw_lua_api_hset_bytes(hs, hs->n);
    ngx_memcpy(copy, bytes, hs->size);

    for (i = 0; i < hs->n; i++) {
        e = &hs->entries[i];

        hn = e->hn;
        hn.name.data = copy + (e->hn.name.data - bytes);
        hn.lowcase = copy + (e->hn.lowcase - bytes);
        value.len = e->value.len;
        value.data = copy + (e->value.data - bytes);

        if (ngx_http_gw_lua_api_resp_put(r, &hn, &value, !e->add) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
