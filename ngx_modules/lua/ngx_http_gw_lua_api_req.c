
/*
 * Copyright (C) Tollgate
 *
 * gw.req (docs/plugins-api.md): the request a plugin serves, and what it
 * may change for the upstream in the access phase: the query arguments,
 * the headers, the body.
 *
 * Arguments are read from r->args as the upstream gets them ("+" is a
 * space, %XX a byte); args() stops at NGX_HTTP_GW_API_ARGS_MAX and says
 * so, arg(name) looks at all of them.  set_args() rewrites r->args and
 * makes nginx rebuild the upstream's request line from it.
 *
 * Request headers are changed through the common helpers (ngx_http_gw.h)
 * and nginx's members of r->headers_in (host, user_agent, cookies...)
 * are made to point to the first live header of their name again after
 * each change, so the upstream module and the variables see what the
 * plugin set.  The framing (Content-Length, Transfer-Encoding) is only
 * changed by set_body().
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_lua_api.h"
#include "ngx_http_gw_lua_int.h"


#define NGX_HTTP_GW_API_DECODE_STACK  256


typedef struct {
    u_char                     *name;
    size_t                      name_len;
    u_char                     *value;      /* NULL: a bare name */
    size_t                      value_len;
} ngx_http_gw_lua_api_arg_t;


typedef struct {
    const char                 *data;
    size_t                      len;
} ngx_http_gw_lua_api_key_t;


static u_char *ngx_http_gw_lua_api_next_arg(u_char *p, u_char *end,
    ngx_http_gw_lua_api_arg_t *arg);
static size_t ngx_http_gw_lua_api_decode(u_char *dst, u_char *src,
    size_t len);
static void ngx_http_gw_lua_api_push_decoded(lua_State *L, u_char *p,
    size_t len);
static ngx_uint_t ngx_http_gw_lua_api_decoded_eq(u_char *p, size_t len,
    u_char *s, size_t slen);
static size_t ngx_http_gw_lua_api_encode(u_char *dst, const u_char *src,
    size_t len);
static ngx_uint_t ngx_http_gw_lua_api_drop(ngx_table_elt_t *h, void *data);
static void ngx_http_gw_lua_api_sync(lua_State *L, ngx_http_request_t *r,
    ngx_str_t *lowcase);
static void ngx_http_gw_lua_api_req_change(lua_State *L,
    ngx_http_request_t *r, ngx_str_t *name, ngx_str_t *value,
    ngx_uint_t replace);
static int ngx_http_gw_lua_api_req_set_args_string(lua_State *L,
    ngx_http_request_t *r);


/* query characters kept as they are by set_args(): RFC 3986 unreserved */
static const u_char  ngx_http_gw_lua_api_unreserved[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,     /* - . */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,     /* 0-9 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,     /* P-Z _ */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,     /* p-z ~ */
};


/* and set_args(string) takes the query's other characters: RFC 3986
 * pchar, "/" and "?" ("%" is checked for its two hex digits) */
static const u_char  ngx_http_gw_lua_api_query[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* !$%&'()*+,-./ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,     /* 0-9 :; = ? */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* @A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,     /* P-Z _ */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,     /* p-z ~ */
};


static ngx_str_t  ngx_http_gw_lua_api_host = ngx_string("host");


/* the argument that starts at p (empty ones skipped), or NULL at end */

static u_char *
ngx_http_gw_lua_api_next_arg(u_char *p, u_char *end,
    ngx_http_gw_lua_api_arg_t *arg)
{
    u_char  *amp, *eq;

    while (p < end && *p == '&') {
        p++;
    }

    if (p >= end) {
        return NULL;
    }

    amp = ngx_strlchr(p, end, '&');
    if (amp == NULL) {
        amp = end;
    }

    eq = ngx_strlchr(p, amp, '=');

    arg->name = p;

    if (eq == NULL) {
        arg->name_len = amp - p;
        arg->value = NULL;
        arg->value_len = 0;

    } else {
        arg->name_len = eq - p;
        arg->value = eq + 1;
        arg->value_len = amp - eq - 1;
    }

    return amp;
}


/* "+" is a space, %XX a byte, a "%" without two hex digits itself */

static ngx_int_t
ngx_http_gw_lua_api_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


static size_t
ngx_http_gw_lua_api_decode(u_char *dst, u_char *src, size_t len)
{
    u_char     *d, *end;
    ngx_int_t   h, l;

    d = dst;
    end = src + len;

    while (src < end) {

        if (*src == '+') {
            *d++ = ' ';
            src++;
            continue;
        }

        if (*src == '%' && end - src >= 3) {
            h = ngx_http_gw_lua_api_hex(src[1]);
            l = ngx_http_gw_lua_api_hex(src[2]);

            if (h >= 0 && l >= 0) {
                *d++ = (u_char) (h * 16 + l);
                src += 3;
                continue;
            }
        }

        *d++ = *src++;
    }

    return d - dst;
}


static void
ngx_http_gw_lua_api_push_decoded(lua_State *L, u_char *p, size_t len)
{
    u_char  *buf;
    u_char   stack[NGX_HTTP_GW_API_DECODE_STACK];

    if (ngx_strlchr(p, p + len, '%') == NULL
        && ngx_strlchr(p, p + len, '+') == NULL)
    {
        lua_pushlstring(L, (char *) p, len);
        return;
    }

    if (len <= sizeof(stack)) {
        len = ngx_http_gw_lua_api_decode(stack, p, len);
        lua_pushlstring(L, (char *) stack, len);
        return;
    }

    buf = lua_newuserdata(L, len);
    len = ngx_http_gw_lua_api_decode(buf, p, len);
    lua_pushlstring(L, (char *) buf, len);
    lua_remove(L, -2);
}


/* 1 when p..len decodes to s..slen, without a buffer */

static ngx_uint_t
ngx_http_gw_lua_api_decoded_eq(u_char *p, size_t len, u_char *s,
    size_t slen)
{
    u_char     *end, c;
    ngx_int_t   h, l;

    end = p + len;

    while (p < end) {

        c = *p++;

        if (c == '+') {
            c = ' ';

        } else if (c == '%' && end - p >= 2) {
            h = ngx_http_gw_lua_api_hex(p[0]);
            l = ngx_http_gw_lua_api_hex(p[1]);

            if (h >= 0 && l >= 0) {
                c = (u_char) (h * 16 + l);
                p += 2;
            }
        }

        if (slen == 0 || *s != c) {
            return 0;
        }

        s++;
        slen--;
    }

    return slen == 0;
}


/* dst NULL: the length only */

static size_t
ngx_http_gw_lua_api_encode(u_char *dst, const u_char *src, size_t len)
{
    size_t                 n, i;
    static const u_char    hex[] = "0123456789ABCDEF";

    n = 0;

    for (i = 0; i < len; i++) {

        if (ngx_http_gw_lua_api_unreserved[src[i]]) {
            if (dst != NULL) {
                dst[n] = src[i];
            }

            n++;
            continue;
        }

        if (dst != NULL) {
            dst[n] = '%';
            dst[n + 1] = hex[src[i] >> 4];
            dst[n + 2] = hex[src[i] & 0x0f];
        }

        n += 3;
    }

    return n;
}


static int
ngx_http_gw_lua_api_req_method(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.method", NGX_HTTP_GW_API_ALL);

    lua_pushlstring(L, (char *) call->r->method_name.data,
                    call->r->method_name.len);

    return 1;
}


static int
ngx_http_gw_lua_api_req_path(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.path", NGX_HTTP_GW_API_ALL);

    lua_pushlstring(L, (char *) call->r->uri.data, call->r->uri.len);

    return 1;
}


static int
ngx_http_gw_lua_api_req_uri(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.uri", NGX_HTTP_GW_API_ALL);

    lua_pushlstring(L, (char *) call->r->unparsed_uri.data,
                    call->r->unparsed_uri.len);

    return 1;
}


/*
 * gw.req.args(): name -> value (a string, true for a bare name, an array
 * for a repeated name); past NGX_HTTP_GW_API_ARGS_MAX arguments the rest
 * are left out and a second result "truncated" says so.
 */

static int
ngx_http_gw_lua_api_req_args(lua_State *L)
{
    u_char                     *p, *end;
    ngx_uint_t                  n;
    ngx_http_gw_lua_call_t     *call;
    ngx_http_gw_lua_api_arg_t   arg;

    call = ngx_http_gw_lua_api_call(L, "req.args", NGX_HTTP_GW_API_ALL);

    p = call->r->args.data;
    end = p + call->r->args.len;
    n = 0;

    lua_createtable(L, 0, 4);

    while ((p = ngx_http_gw_lua_api_next_arg(p, end, &arg)) != NULL) {

        if (n++ == NGX_HTTP_GW_API_ARGS_MAX) {
            lua_pushliteral(L, "truncated");
            return 2;
        }

        ngx_http_gw_lua_api_push_decoded(L, arg.name, arg.name_len);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);

        switch (lua_type(L, -1)) {

        case LUA_TNIL:
            lua_pop(L, 1);
            break;

        case LUA_TTABLE:
            if (arg.value == NULL) {
                lua_pushboolean(L, 1);

            } else {
                ngx_http_gw_lua_api_push_decoded(L, arg.value,
                                                 arg.value_len);
            }

            lua_rawseti(L, -2, (int) lua_objlen(L, -2) + 1);
            lua_pop(L, 2);
            continue;

        default:
            /* a second value: {first, second} */
            lua_createtable(L, 2, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);

            if (arg.value == NULL) {
                lua_pushboolean(L, 1);

            } else {
                ngx_http_gw_lua_api_push_decoded(L, arg.value,
                                                 arg.value_len);
            }

            lua_rawseti(L, -2, 2);
            lua_rawset(L, -3);
            continue;
        }

        if (arg.value == NULL) {
            lua_pushboolean(L, 1);

        } else {
            ngx_http_gw_lua_api_push_decoded(L, arg.value, arg.value_len);
        }

        lua_rawset(L, -3);
    }

    return 1;
}


/* gw.req.arg(name): the first value of name (true: bare), or nil */

static int
ngx_http_gw_lua_api_req_arg(lua_State *L)
{
    u_char                     *p, *end;
    size_t                      len;
    const char                 *name;
    ngx_http_gw_lua_call_t     *call;
    ngx_http_gw_lua_api_arg_t   arg;

    call = ngx_http_gw_lua_api_call(L, "req.arg", NGX_HTTP_GW_API_ALL);

    if (lua_type(L, 1) != LUA_TSTRING) {
        return luaL_error(L, "gw.req.arg: the name must be a string");
    }

    name = lua_tolstring(L, 1, &len);

    p = call->r->args.data;
    end = p + call->r->args.len;

    while ((p = ngx_http_gw_lua_api_next_arg(p, end, &arg)) != NULL) {

        if (!ngx_http_gw_lua_api_decoded_eq(arg.name, arg.name_len,
                                            (u_char *) name, len))
        {
            continue;
        }

        if (arg.value == NULL) {
            lua_pushboolean(L, 1);

        } else {
            ngx_http_gw_lua_api_push_decoded(L, arg.value, arg.value_len);
        }

        return 1;
    }

    lua_pushnil(L);

    return 1;
}


/* r->args becomes args, which the upstream's request line is made of */

static void
ngx_http_gw_lua_api_set_args(ngx_http_request_t *r, u_char *args, size_t len)
{
    r->args.data = args;
    r->args.len = len;
    r->valid_unparsed_uri = 0;
}


static int
ngx_http_gw_lua_api_req_set_args_string(lua_State *L, ngx_http_request_t *r)
{
    u_char       *p, *copy;
    size_t        len, i;
    ngx_str_t     s;
    ngx_uint_t    n;

    p = (u_char *) lua_tolstring(L, 1, &len);

    if (len > NGX_HTTP_GW_API_ARGS_LEN) {
        return luaL_error(L, "gw.req.set_args: longer than %d bytes",
                          NGX_HTTP_GW_API_ARGS_LEN);
    }

    n = 0;

    for (i = 0; i < len; i++) {

        if (!ngx_http_gw_lua_api_query[p[i]]) {
            return luaL_error(L, "gw.req.set_args: invalid character in the "
                              "arguments");
        }

        if (p[i] == '%'
            && (len - i < 3 || ngx_http_gw_lua_api_hex(p[i + 1]) < 0
                || ngx_http_gw_lua_api_hex(p[i + 2]) < 0))
        {
            return luaL_error(L, "gw.req.set_args: \"%%\" without two hex "
                              "digits");
        }

        if ((i == 0 || p[i - 1] == '&') && p[i] != '&') {
            n++;
        }
    }

    if (n > NGX_HTTP_GW_API_ARGS_MAX) {
        return luaL_error(L, "gw.req.set_args: more than %d arguments",
                          NGX_HTTP_GW_API_ARGS_MAX);
    }

    s.data = p;
    s.len = len;
    copy = ngx_http_gw_lua_api_copy(L, r, &s, NULL);

    ngx_http_gw_lua_api_set_args(r, copy, len);

    return 0;
}


/*
 * The value of a set_args() table's entry at -1: a string or number
 * (bare 0), true (a bare name: bare 1), or an array of strings and
 * numbers (items: its length); anything else raises.
 */

static void
ngx_http_gw_lua_api_args_value(lua_State *L, ngx_uint_t *items,
    ngx_uint_t *bare)
{
    int  i, n;

    *bare = 0;
    *items = 1;

    switch (lua_type(L, -1)) {

    case LUA_TSTRING:
    case LUA_TNUMBER:
        return;

    case LUA_TBOOLEAN:
        if (lua_toboolean(L, -1)) {
            *bare = 1;
            return;
        }

        break;

    case LUA_TTABLE:
        n = (int) lua_objlen(L, -1);

        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);

            if (lua_type(L, -1) != LUA_TSTRING
                && lua_type(L, -1) != LUA_TNUMBER)
            {
                break;
            }

            lua_pop(L, 1);
        }

        if (i > n) {
            *items = n;
            return;
        }

        break;
    }

    (void) luaL_error(L, "gw.req.set_args: a value must be a string, a "
                      "number, true or an array of strings");
}


/*
 * Appends "&" (unless first) and name=value (bare: name; the value at
 * -1) to p, and their length to *len; start NULL: measures only.
 */

static u_char *
ngx_http_gw_lua_api_args_put(lua_State *L, u_char *p, u_char *start,
    ngx_http_gw_lua_api_key_t *key, ngx_uint_t bare, size_t *len)
{
    size_t       n, vlen;
    ngx_uint_t   first;
    const char  *v;

    first = (*len == 0);

    n = !first + ngx_http_gw_lua_api_encode(NULL, (const u_char *) key->data,
                                            key->len);
    v = NULL;
    vlen = 0;

    if (!bare) {
        v = lua_tolstring(L, -1, &vlen);
        n += 1 + ngx_http_gw_lua_api_encode(NULL, (const u_char *) v, vlen);
    }

    *len += n;

    if (start == NULL) {
        return p;
    }

    if (!first) {
        *p++ = '&';
    }

    p += ngx_http_gw_lua_api_encode(p, (const u_char *) key->data, key->len);

    if (!bare) {
        *p++ = '=';
        p += ngx_http_gw_lua_api_encode(p, (const u_char *) v, vlen);
    }

    return p;
}


/*
 * gw.req.set_args(table | string): a table's names in byte order, its
 * values %-encoded (a string is taken as it is when it is a valid query).
 */

static int
ngx_http_gw_lua_api_req_set_args(lua_State *L)
{
    int                         cmp;
    u_char                     *p, *start;
    size_t                      len;
    ngx_uint_t                  n, nkeys, i, j, items, bare, pass;
    ngx_http_request_t         *r;
    ngx_http_gw_lua_call_t     *call;
    ngx_http_gw_lua_api_key_t   key, keys[NGX_HTTP_GW_API_ARGS_MAX];

    call = ngx_http_gw_lua_api_call(L, "req.set_args",
                                    NGX_HTTP_GW_API_ACCESS);
    r = call->r;

    if (lua_type(L, 1) == LUA_TSTRING) {
        return ngx_http_gw_lua_api_req_set_args_string(L, r);
    }

    if (lua_type(L, 1) != LUA_TTABLE) {
        return luaL_error(L, "gw.req.set_args: a table or a string");
    }

    lua_settop(L, 1);

    /* the names, checked and sorted; the values checked */

    n = 0;
    nkeys = 0;
    lua_pushnil(L);

    while (lua_next(L, 1) != 0) {

        if (lua_type(L, -2) != LUA_TSTRING) {
            return luaL_error(L, "gw.req.set_args: a name must be a string");
        }

        ngx_http_gw_lua_api_args_value(L, &items, &bare);

        n += items;

        if (n > NGX_HTTP_GW_API_ARGS_MAX) {
            return luaL_error(L, "gw.req.set_args: more than %d arguments",
                              NGX_HTTP_GW_API_ARGS_MAX);
        }

        key.data = lua_tolstring(L, -2, &key.len);

        for (i = nkeys; i > 0; i--) {
            len = ngx_min(keys[i - 1].len, key.len);
            cmp = ngx_memcmp(keys[i - 1].data, key.data, len);

            if (cmp < 0 || (cmp == 0 && keys[i - 1].len <= key.len)) {
                break;
            }

            keys[i] = keys[i - 1];
        }

        keys[i] = key;
        nkeys++;

        lua_pop(L, 1);
    }

    /* pass 0 measures, pass 1 writes */

    start = NULL;
    len = 0;

    for (pass = 0; pass < 2; pass++) {

        p = start;

        for (i = 0; i < nkeys; i++) {
            lua_pushlstring(L, keys[i].data, keys[i].len);
            lua_rawget(L, 1);

            if (lua_type(L, -1) == LUA_TBOOLEAN) {
                p = ngx_http_gw_lua_api_args_put(L, p, start, &keys[i], 1,
                                                 &len);

            } else if (lua_type(L, -1) != LUA_TTABLE) {
                p = ngx_http_gw_lua_api_args_put(L, p, start, &keys[i], 0,
                                                 &len);

            } else {
                n = lua_objlen(L, -1);

                for (j = 1; j <= n; j++) {
                    lua_rawgeti(L, -1, (int) j);
                    p = ngx_http_gw_lua_api_args_put(L, p, start, &keys[i],
                                                     0, &len);
                    lua_pop(L, 1);
                }
            }

            lua_pop(L, 1);
        }

        if (pass == 1) {
            break;
        }

        if (len > NGX_HTTP_GW_API_ARGS_LEN) {
            return luaL_error(L, "gw.req.set_args: longer than %d bytes",
                              NGX_HTTP_GW_API_ARGS_LEN);
        }

        gw_lua_guard_enter();
        start = ngx_pnalloc(r->pool, len + 1);
        gw_lua_guard_leave();

        if (start == NULL) {
            return luaL_error(L, "no memory");
        }

        len = 0;
    }

    ngx_http_gw_lua_api_set_args(r, start, p - start);

    return 0;
}


static int
ngx_http_gw_lua_api_req_header(lua_State *L)
{
    ngx_str_t                name;
    ngx_uint_t               count;
    ngx_http_gw_lua_call_t  *call;

    count = lua_toboolean(L, 2);
    call = ngx_http_gw_lua_api_call(L, "req.header", NGX_HTTP_GW_API_ALL);

    if (ngx_http_gw_lua_api_name(L, 1, "req.header", &name, 0) == NULL) {
        lua_pushnil(L);
        return 1;
    }

    return ngx_http_gw_lua_api_push_header(L, &call->r->headers_in.headers,
                                           &name, count);
}


static int
ngx_http_gw_lua_api_req_headers(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.headers", NGX_HTTP_GW_API_ALL);

    ngx_http_gw_lua_api_push_headers(L, &call->r->headers_in.headers);

    return 1;
}


static ngx_uint_t
ngx_http_gw_lua_api_drop(ngx_table_elt_t *h, void *data)
{
    ngx_str_t  *name = data;

    return h->key.len == name->len
           && ngx_strncasecmp(h->key.data, name->data, name->len) == 0;
}


/*
 * After a change of the headers named lowcase: nginx's member for that
 * name (ngx_http_headers_in_t, found through the core module's hash of
 * them) points to the first live header of the name again, or the array
 * members (cookies, x_forwarded_for) list them all.
 */

static void
ngx_http_gw_lua_api_sync(lua_State *L, ngx_http_request_t *r,
    ngx_str_t *lowcase)
{
    ngx_int_t                   rc;
    ngx_uint_t                  i, array;
    ngx_array_t                *a;
    ngx_list_part_t            *part;
    ngx_table_elt_t            *h, **ph, *first;
    ngx_http_header_t          *hh;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    hh = ngx_hash_find(&cmcf->headers_in_hash,
                       ngx_hash_key(lowcase->data, lowcase->len),
                       lowcase->data, lowcase->len);

    if (hh == NULL || hh->offset == 0) {
        return;
    }

    array = (hh->offset == offsetof(ngx_http_headers_in_t, cookies));

#if (NGX_HTTP_X_FORWARDED_FOR)
    array |= (hh->offset == offsetof(ngx_http_headers_in_t, x_forwarded_for));
#endif

    a = (ngx_array_t *) ((char *) &r->headers_in + hh->offset);
    ph = (ngx_table_elt_t **) ((char *) &r->headers_in + hh->offset);
    rc = NGX_OK;
    first = NULL;

    gw_lua_guard_enter();

    if (array) {
        if (a->elts == NULL) {
            rc = ngx_array_init(a, r->pool, 2, sizeof(ngx_table_elt_t *));
        }

        a->nelts = 0;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; rc == NGX_OK; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0 || !ngx_http_gw_lua_api_drop(&h[i], lowcase)) {
            continue;
        }

        if (!array) {
            first = &h[i];
            break;
        }

        ph = ngx_array_push(a);
        if (ph == NULL) {
            rc = NGX_ERROR;
            break;
        }

        *ph = &h[i];
    }

    gw_lua_guard_leave();

    if (rc != NGX_OK) {
        (void) luaL_error(L, "no memory");
        return;
    }

    if (!array) {
        *ph = first;
    }

    if (hh->offset == offsetof(ngx_http_headers_in_t, authorization)) {
        /* ngx_http_auth_basic_user() decodes it again */
        ngx_str_null(&r->headers_in.user);
        ngx_str_null(&r->headers_in.passwd);
    }
}


/*
 * A Host is a host name or address, and a port: what $host gives is its
 * lowercase host part (headers_in.server), as nginx would have made it.
 */

static void
ngx_http_gw_lua_api_host_value(lua_State *L, ngx_http_request_t *r,
    ngx_str_t *value, ngx_str_t *server)
{
    u_char  *p, *end, *host;
    size_t   i;

    p = value->data;
    end = p + value->len;

    for (i = 0; i < value->len; i++) {
        if (!(ngx_http_gw_lua_api_unreserved[p[i]] || p[i] == ':'
              || p[i] == '[' || p[i] == ']')
            || p[i] == '_' || p[i] == '~')
        {
            (void) luaL_error(L, "gw.req.set_header: invalid Host");
            return;
        }
    }

    if (value->len == 0) {
        (void) luaL_error(L, "gw.req.set_header: invalid Host");
        return;
    }

    if (*p == '[') {
        end = ngx_strlchr(p, end, ']');
        if (end == NULL) {
            (void) luaL_error(L, "gw.req.set_header: invalid Host");
            return;
        }

        end++;

    } else {
        host = ngx_strlchr(p, end, ':');
        if (host != NULL) {
            end = host;
        }
    }

    server->len = end - p;
    server->data = ngx_http_gw_lua_api_copy(L, r, server, NULL);
    ngx_strlow(server->data, p, server->len);
}


/*
 * Sets (replace 1) or adds a request header for the upstream, or removes
 * every one of that name (value NULL).  name and value are checked.
 */

static void
ngx_http_gw_lua_api_req_change(lua_State *L, ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, ngx_uint_t replace)
{
    u_char     *low;
    ngx_int_t   rc;
    ngx_str_t   key, lowcase, copy, server;

    if (value != NULL
        && name->len == ngx_http_gw_lua_api_host.len
        && ngx_strncasecmp(name->data, ngx_http_gw_lua_api_host.data,
                           name->len) == 0)
    {
        if (!replace) {
            (void) luaL_error(L, "gw.req.add_header: one Host only");
            return;
        }

        ngx_http_gw_lua_api_host_value(L, r, value, &server);

    } else {
        ngx_str_null(&server);
    }

    key.data = ngx_http_gw_lua_api_copy(L, r, name, &low);
    key.len = name->len;
    lowcase.data = low;
    lowcase.len = name->len;

    if (value != NULL) {
        copy.data = ngx_http_gw_lua_api_copy(L, r, value, NULL);
        copy.len = value->len;
    }

    gw_lua_guard_enter();

    rc = NGX_OK;

    if (replace || value == NULL) {
        rc = ngx_http_gw_drop_headers(r, ngx_http_gw_lua_api_drop, &lowcase,
                                      NULL);
    }

    if (rc == NGX_OK && value != NULL) {
        rc = ngx_http_gw_add_header(r, &key, low, &copy);
    }

    gw_lua_guard_leave();

    if (rc != NGX_OK) {
        (void) luaL_error(L, "no memory");
        return;
    }

    if (server.len != 0) {
        r->headers_in.server = server;
    }

    ngx_http_gw_lua_api_sync(L, r, &lowcase);
}


static int
ngx_http_gw_lua_api_req_modify(lua_State *L, const char *what,
    ngx_uint_t replace, ngx_uint_t remove)
{
    ngx_str_t                name, value;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, what, NGX_HTTP_GW_API_ACCESS);

    (void) ngx_http_gw_lua_api_name(L, 1, what, &name, 1);

    /* name is a Lua string: NUL-terminated */

    if (ngx_strcasecmp(name.data, (u_char *) "content-length") == 0
        || ngx_strcasecmp(name.data, (u_char *) "transfer-encoding") == 0)
    {
        return luaL_error(L, "gw.%s: the body's framing is set by "
                          "gw.req.set_body()", what);
    }

    if (remove) {
        ngx_http_gw_lua_api_req_change(L, call->r, &name, NULL, 1);
        return 0;
    }

    ngx_http_gw_lua_api_value(L, 2, what, &value);

    ngx_http_gw_lua_api_req_change(L, call->r, &name, &value, replace);

    return 0;
}


static int
ngx_http_gw_lua_api_req_set_header(lua_State *L)
{
    return ngx_http_gw_lua_api_req_modify(L, "req.set_header", 1,
                                          lua_isnoneornil(L, 2));
}


static int
ngx_http_gw_lua_api_req_add_header(lua_State *L)
{
    return ngx_http_gw_lua_api_req_modify(L, "req.add_header", 0, 0);
}


static int
ngx_http_gw_lua_api_req_remove_header(lua_State *L)
{
    return ngx_http_gw_lua_api_req_modify(L, "req.remove_header", 1, 1);
}


/* gw.req.body(): the body read for a body = true plugin; nil, "too large"
 * past gw_plugin_body_max */

static int
ngx_http_gw_lua_api_req_body(lua_State *L)
{
    ngx_int_t                rc;
    ngx_str_t                body;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.body", NGX_HTTP_GW_API_ACCESS);

    rc = ngx_http_gw_lua_body(call, &body);

    if (rc == NGX_ABORT) {
        return luaL_error(L, "gw.req.body: the plugin does not say "
                          "body = true");
    }

    if (rc == NGX_DECLINED) {
        lua_pushnil(L);
        lua_pushliteral(L, "too large");
        return 2;
    }

    lua_pushlstring(L, (char *) body.data, body.len);

    return 1;
}


/*
 * gw.req.set_body(string): the upstream gets this body instead, with its
 * Content-Length (a Transfer-Encoding goes); at most gw_plugin_body_max.
 */

static int
ngx_http_gw_lua_api_req_set_body(lua_State *L)
{
    u_char                       *p;
    size_t                        len;
    ngx_buf_t                    *b;
    ngx_str_t                     body, name, value;
    ngx_chain_t                  *cl;
    const char                   *s;
    ngx_http_request_t           *r;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_lua_main_conf_t  *lmcf;
    u_char                        buf[NGX_OFF_T_LEN];

    call = ngx_http_gw_lua_api_call(L, "req.set_body",
                                    NGX_HTTP_GW_API_ACCESS);
    r = call->r;

    if (lua_type(L, 1) != LUA_TSTRING) {
        return luaL_error(L, "gw.req.set_body: the body must be a string");
    }

    s = lua_tolstring(L, 1, &len);

    if (ngx_http_gw_lua_body(call, &body) == NGX_ABORT
        || r->request_body == NULL)
    {
        return luaL_error(L, "gw.req.set_body: the plugin does not say "
                          "body = true");
    }

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_lua_module);

    if (len > lmcf->body_max) {
        return luaL_error(L, "gw.req.set_body: body longer than "
                          "gw_plugin_body_max");
    }

    body.data = (u_char *) s;
    body.len = len;
    body.data = ngx_http_gw_lua_api_copy(L, r, &body, NULL);

    gw_lua_guard_enter();
    b = ngx_calloc_buf(r->pool);
    cl = ngx_alloc_chain_link(r->pool);
    gw_lua_guard_leave();

    if (b == NULL || cl == NULL) {
        return luaL_error(L, "no memory");
    }

    b->start = body.data;
    b->pos = body.data;
    b->last = body.data + len;
    b->end = b->last;
    b->temporary = (len != 0);
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    /* the framing: one Content-Length, no Transfer-Encoding */

    ngx_str_set(&name, "Transfer-Encoding");
    ngx_http_gw_lua_api_req_change(L, r, &name, NULL, 1);

    p = ngx_http_gw_write_uint(buf, len);
    value.data = buf;
    value.len = p - buf;
    ngx_str_set(&name, "Content-Length");
    ngx_http_gw_lua_api_req_change(L, r, &name, &value, 1);

    r->request_body->bufs = cl;
    r->headers_in.content_length_n = len;
    r->headers_in.chunked = 0;

    return 0;
}


static int
ngx_http_gw_lua_api_req_client_ip(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.client_ip", NGX_HTTP_GW_API_ALL);

    lua_pushlstring(L, (char *) call->r->connection->addr_text.data,
                    call->r->connection->addr_text.len);

    return 1;
}


static int
ngx_http_gw_lua_api_req_scheme(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "req.scheme", NGX_HTTP_GW_API_ALL);

#if (NGX_HTTP_SSL)
    if (call->r->connection->ssl != NULL) {
        lua_pushliteral(L, "https");
        return 1;
    }
#else
    (void) call;
#endif

    lua_pushliteral(L, "http");

    return 1;
}


/* gw.req.host(): as $host: the request's host, else the server name */

static int
ngx_http_gw_lua_api_req_host(lua_State *L)
{
    ngx_http_request_t        *r;
    ngx_http_gw_lua_call_t    *call;
    ngx_http_core_srv_conf_t  *cscf;

    call = ngx_http_gw_lua_api_call(L, "req.host", NGX_HTTP_GW_API_ALL);
    r = call->r;

    if (r->headers_in.server.len != 0) {
        lua_pushlstring(L, (char *) r->headers_in.server.data,
                        r->headers_in.server.len);
        return 1;
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    lua_pushlstring(L, (char *) cscf->server_name.data,
                    cscf->server_name.len);

    return 1;
}


void
ngx_http_gw_lua_api_req_open(lua_State *L)
{
    static const luaL_Reg  funcs[] = {
        { "method", ngx_http_gw_lua_api_req_method },
        { "path", ngx_http_gw_lua_api_req_path },
        { "uri", ngx_http_gw_lua_api_req_uri },
        { "args", ngx_http_gw_lua_api_req_args },
        { "arg", ngx_http_gw_lua_api_req_arg },
        { "set_args", ngx_http_gw_lua_api_req_set_args },
        { "header", ngx_http_gw_lua_api_req_header },
        { "headers", ngx_http_gw_lua_api_req_headers },
        { "set_header", ngx_http_gw_lua_api_req_set_header },
        { "add_header", ngx_http_gw_lua_api_req_add_header },
        { "remove_header", ngx_http_gw_lua_api_req_remove_header },
        { "body", ngx_http_gw_lua_api_req_body },
        { "set_body", ngx_http_gw_lua_api_req_set_body },
        { "client_ip", ngx_http_gw_lua_api_req_client_ip },
        { "scheme", ngx_http_gw_lua_api_req_scheme },
        { "host", ngx_http_gw_lua_api_req_host },
        { NULL, NULL }
    };

    const luaL_Reg  *f;

    lua_createtable(L, 0, 16);

    for (f = funcs; f->name != NULL; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }

    lua_setfield(L, -2, "req");
}
