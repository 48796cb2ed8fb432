
/*
 * Copyright (C) Tollgate
 *
 * gw.req's query arguments (docs/plugins-api.md): args(), arg(name) and,
 * in the access phase, set_args().
 *
 * Arguments are read from r->args as the upstream gets them ("+" is a
 * space, %XX a byte); args() stops at NGX_HTTP_GW_API_ARGS_MAX and says
 * so, arg(name) looks at all of them.  set_args() rewrites r->args and
 * makes nginx rebuild the upstream's request line from it: a table's
 * names and values are %-encoded, a string is taken as it is when it is
 * a valid query.  Both are capped (NGX_HTTP_GW_API_ARGS_MAX arguments,
 * NGX_HTTP_GW_API_ARGS_LEN bytes).
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

/*
 * gw.req.args(): name -> value (a string, true for a bare name, an array
 * for a repeated name); past NGX_HTTP_GW_API_ARGS_MAX arguments the rest
 * are left out and a second result "truncated" says so.
 */

int
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

int
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

int
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


