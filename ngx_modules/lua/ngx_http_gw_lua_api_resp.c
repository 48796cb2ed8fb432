
/*
 * Copyright (C) Tollgate
 *
 * gw.resp (docs/plugins-api.md): the response's status and headers.
 *
 * nginx keeps some response headers beside the list as members of
 * r->headers_out: the content type is only a member (never in the list),
 * and Server, Date, Location, ETag... are list elements the members point
 * to, which the header filter reads (a Server in the list with no member
 * pointing to it would be sent twice).  Every change here keeps them
 * coherent: a member points to the first live element of its name, a
 * removed element gets hash 0 (what the header filters skip).  Framing
 * and hop-by-hop headers are nginx's alone and refused.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_lua_api.h"


typedef struct {
    ngx_str_t                   name;       /* lowercase */
    ngx_uint_t                  offset;     /* in ngx_http_headers_out_t */
} ngx_http_gw_lua_api_member_t;


static void ngx_http_gw_lua_api_resp_type(ngx_http_request_t *r,
    ngx_str_t *value);
static int ngx_http_gw_lua_api_resp_status(lua_State *L);
static int ngx_http_gw_lua_api_resp_set_status(lua_State *L);
static int ngx_http_gw_lua_api_resp_header(lua_State *L);
static int ngx_http_gw_lua_api_resp_headers(lua_State *L);
static void ngx_http_gw_lua_api_resp_check(lua_State *L, const char *what,
    ngx_http_gw_lua_api_hname_t *hn);
static int ngx_http_gw_lua_api_resp_set_header(lua_State *L);
static int ngx_http_gw_lua_api_resp_set_headers(lua_State *L);
static int ngx_http_gw_lua_api_resp_add_header(lua_State *L);
static int ngx_http_gw_lua_api_resp_remove_header(lua_State *L);


#define NGX_HTTP_GW_API_SET_MAX  32     /* pairs of one set_headers() */


static ngx_http_gw_lua_api_member_t  ngx_http_gw_lua_api_members[] = {
    { ngx_string("server"), offsetof(ngx_http_headers_out_t, server) },
    { ngx_string("date"), offsetof(ngx_http_headers_out_t, date) },
    { ngx_string("content-encoding"),
      offsetof(ngx_http_headers_out_t, content_encoding) },
    { ngx_string("location"), offsetof(ngx_http_headers_out_t, location) },
    { ngx_string("refresh"), offsetof(ngx_http_headers_out_t, refresh) },
    { ngx_string("last-modified"),
      offsetof(ngx_http_headers_out_t, last_modified) },
    { ngx_string("content-range"),
      offsetof(ngx_http_headers_out_t, content_range) },
    { ngx_string("accept-ranges"),
      offsetof(ngx_http_headers_out_t, accept_ranges) },
    { ngx_string("www-authenticate"),
      offsetof(ngx_http_headers_out_t, www_authenticate) },
    { ngx_string("expires"), offsetof(ngx_http_headers_out_t, expires) },
    { ngx_string("etag"), offsetof(ngx_http_headers_out_t, etag) },
    { ngx_null_string, 0 }
};


/* nginx's alone: the framing of the message and hop-by-hop headers */
static ngx_str_t  ngx_http_gw_lua_api_refused[] = {
    ngx_string("content-length"),
    ngx_string("transfer-encoding"),
    ngx_string("connection"),
    ngx_string("keep-alive"),
    ngx_string("upgrade"),
    ngx_string("te"),
    ngx_string("trailer"),
    ngx_string("proxy-connection"),
    ngx_null_string
};


/* gw.resp.set_header() and the others */
static ngx_http_gw_lua_api_headers_t  ngx_http_gw_lua_api_resp_headers_out = {
    NGX_HTTP_GW_API_WRITE,
    ngx_http_gw_lua_api_resp_check,
    ngx_http_gw_lua_api_resp_set
};


static ngx_str_t  ngx_http_gw_lua_api_content_type =
    ngx_string("content-type");
static ngx_str_t  ngx_http_gw_lua_api_content_length =
    ngx_string("content-length");


static ngx_uint_t
ngx_http_gw_lua_api_is(ngx_str_t *name, ngx_str_t *lowcase)
{
    return name->len == lowcase->len
           && ngx_strncasecmp(name->data, lowcase->data, name->len) == 0;
}


/* what a name is to gw.resp: refused, the content type, a member */

void
ngx_http_gw_lua_api_resp_class(ngx_http_gw_lua_api_hname_t *hn)
{
    ngx_str_t                     *s;
    ngx_http_gw_lua_api_member_t  *m;

    hn->resp_refused = 0;
    hn->resp_type = ngx_http_gw_lua_api_is(&hn->name,
                                           &ngx_http_gw_lua_api_content_type);
    hn->member = 0;

    for (s = ngx_http_gw_lua_api_refused; s->len != 0; s++) {
        if (ngx_http_gw_lua_api_is(&hn->name, s)) {
            hn->resp_refused = 1;
        }
    }

    for (m = ngx_http_gw_lua_api_members; m->name.len != 0; m++) {
        if (ngx_http_gw_lua_api_is(&hn->name, &m->name)) {
            hn->member = m->offset;
        }
    }
}


/* the content type is a member only: its media type ends at ';' */

static void
ngx_http_gw_lua_api_resp_type(ngx_http_request_t *r, ngx_str_t *value)
{
    u_char  *p;

    if (value == NULL) {
        ngx_str_null(&r->headers_out.content_type);
        r->headers_out.content_type_len = 0;

    } else {
        r->headers_out.content_type = *value;
        p = ngx_strlchr(value->data, value->data + value->len, ';');
        r->headers_out.content_type_len = (p != NULL) ? (size_t)
                                          (p - value->data) : value->len;
    }

    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_type_hash = 0;
    ngx_str_null(&r->headers_out.charset);
}


void
ngx_http_gw_lua_api_resp_set(lua_State *L, ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace)
{
    if (ngx_http_gw_lua_api_resp_put(r, hn, value, replace) != NGX_OK) {
        (void) luaL_error(L, "no memory");
    }
}


ngx_int_t
ngx_http_gw_lua_api_resp_put(ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace)
{
    ngx_table_elt_t             *h, *nh, **member;
    ngx_http_gw_lua_api_walk_t   w;

    if (hn->resp_type) {

        ngx_http_gw_lua_api_resp_type(r, value);
        return NGX_OK;
    }

    member = (hn->member != 0) ? (ngx_table_elt_t **) ((char *) &r->headers_out
                                                       + hn->member)
                               : NULL;

    if (replace || value == NULL) {
        w.part = &r->headers_out.headers.part;
        w.i = 0;

        while ((h = ngx_http_gw_lua_api_next_header(&w, &hn->name))
               != NULL)
        {
            h->hash = 0;
        }

        if (member != NULL) {
            *member = NULL;
        }

        if (hn->member == offsetof(ngx_http_headers_out_t, last_modified)) {
            r->headers_out.last_modified_time = -1;
        }
    }

    if (value == NULL) {
        return NGX_OK;
    }

    /* not live before its strings are: a stop of the call by the
     * watchdog (at the guard's leave at the latest) leaves it skipped */

    gw_lua_guard_enter();
    nh = ngx_list_push(&r->headers_out.headers);

    if (nh != NULL) {
        nh->hash = 0;
    }

    gw_lua_guard_leave();

    if (nh == NULL) {
        return NGX_ERROR;
    }

    nh->key = hn->name;
    nh->lowcase_key = hn->lowcase;
    nh->value = *value;
    nh->hash = 1;

    if (member != NULL && *member == NULL) {
        *member = nh;
    }

    return NGX_OK;
}


static int
ngx_http_gw_lua_api_resp_status(lua_State *L)
{
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "resp.status", NGX_HTTP_GW_API_READ);

    lua_pushinteger(L, (lua_Integer) call->r->headers_out.status);

    return 1;
}


/* gw.resp.set_status(n): 200..599, in the header filter */

static int
ngx_http_gw_lua_api_resp_set_status(lua_State *L)
{
    lua_Number               n;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, "resp.set_status",
                                    NGX_HTTP_GW_API_HEADER);

    if (lua_type(L, 1) != LUA_TNUMBER) {
        return luaL_error(L, "gw.resp.set_status: the status must be a "
                          "number");
    }

    n = lua_tonumber(L, 1);

    if (n != (lua_Number) (ngx_int_t) n || n < 200 || n > 599) {
        return luaL_error(L, "gw.resp.set_status: the status must be an "
                          "integer 200..599");
    }

    call->r->headers_out.status = (ngx_uint_t) n;
    ngx_str_null(&call->r->headers_out.status_line);

    return 0;
}


static int
ngx_http_gw_lua_api_resp_header(lua_State *L)
{
    u_char                  *p;
    ngx_str_t                name;
    ngx_uint_t               count;
    ngx_http_request_t      *r;
    ngx_http_gw_lua_call_t  *call;
    u_char                   buf[NGX_OFF_T_LEN];

    count = lua_toboolean(L, 2);
    call = ngx_http_gw_lua_api_call(L, "resp.header", NGX_HTTP_GW_API_READ);
    r = call->r;

    if (ngx_http_gw_lua_api_name(L, 1, "resp.header", &name, 0) == NULL) {
        lua_pushnil(L);
        return 1;
    }

    if (ngx_http_gw_lua_api_is(&name, &ngx_http_gw_lua_api_content_type)) {
        if (r->headers_out.content_type.len == 0) {
            lua_pushnil(L);

        } else {
            lua_pushlstring(L, (char *) r->headers_out.content_type.data,
                            r->headers_out.content_type.len);
        }

        return 1;
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0
        && ngx_http_gw_lua_api_is(&name, &ngx_http_gw_lua_api_content_length))
    {
        p = ngx_http_gw_write_uint(buf, (ngx_uint_t)
                                   r->headers_out.content_length_n);
        lua_pushlstring(L, (char *) buf, p - buf);

        if (count) {
            lua_pushinteger(L, 1);
            return 2;
        }

        return 1;
    }

    return ngx_http_gw_lua_api_push_header(L, &r->headers_out.headers, &name,
                                           count);
}


static int
ngx_http_gw_lua_api_resp_headers(lua_State *L)
{
    u_char                  *p;
    ngx_http_request_t      *r;
    ngx_http_gw_lua_call_t  *call;
    u_char                   buf[NGX_OFF_T_LEN];

    call = ngx_http_gw_lua_api_call(L, "resp.headers", NGX_HTTP_GW_API_READ);
    r = call->r;

    ngx_http_gw_lua_api_push_headers(L, &r->headers_out.headers);

    if (r->headers_out.content_type.len != 0) {
        lua_pushlstring(L, (char *) r->headers_out.content_type.data,
                        r->headers_out.content_type.len);
        lua_setfield(L, -2, "content-type");
    }

    if (r->headers_out.content_length == NULL
        && r->headers_out.content_length_n >= 0)
    {
        p = ngx_http_gw_write_uint(buf, (ngx_uint_t)
                                   r->headers_out.content_length_n);
        lua_pushlstring(L, (char *) buf, p - buf);
        lua_setfield(L, -2, "content-length");
    }

    return 1;
}


/* framing and hop-by-hop headers are nginx's alone */

static void
ngx_http_gw_lua_api_resp_check(lua_State *L, const char *what,
    ngx_http_gw_lua_api_hname_t *hn)
{
    if (hn->resp_refused) {
        (void) luaL_error(L, "gw.%s: header \"%s\" is not the plugin's to "
                          "set", what, hn->name.data);
    }
}


static int
ngx_http_gw_lua_api_resp_set_header(lua_State *L)
{
    return ngx_http_gw_lua_api_change(L, "resp.set_header",
                                      &ngx_http_gw_lua_api_resp_headers_out,
                                      1, lua_isnoneornil(L, 2));
}


/*
 * gw.resp.set_headers(name, value, name, value...): set_header() of each
 * pair in order, in one call; every pair is checked before any header
 * changes, so a refused one leaves the response as it was.
 */

static int
ngx_http_gw_lua_api_resp_set_headers(lua_State *L)
{
    int                           i, n;
    ngx_str_t                     values[NGX_HTTP_GW_API_SET_MAX];
    ngx_http_request_t           *r;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_lua_api_hname_t  *hns[NGX_HTTP_GW_API_SET_MAX];
    ngx_http_gw_lua_api_hname_t   tmps[NGX_HTTP_GW_API_SET_MAX];

    call = ngx_http_gw_lua_api_call(L, "resp.set_headers",
                                    NGX_HTTP_GW_API_WRITE);
    r = call->r;

    n = lua_gettop(L);

    if (n % 2 != 0) {
        return luaL_error(L, "gw.resp.set_headers: a name without a value");
    }

    n /= 2;

    if (n > NGX_HTTP_GW_API_SET_MAX) {
        return luaL_error(L, "gw.resp.set_headers: more than %d headers",
                          NGX_HTTP_GW_API_SET_MAX);
    }

    for (i = 0; i < n; i++) {
        hns[i] = ngx_http_gw_lua_api_hname(L, 2 * i + 1, "resp.set_headers",
                                           r, &tmps[i]);

        ngx_http_gw_lua_api_resp_check(L, "resp.set_headers", hns[i]);

        if (lua_isnil(L, 2 * i + 2)) {
            values[i].data = NULL;

        } else {
            ngx_http_gw_lua_api_value(L, 2 * i + 2, "resp.set_headers", r,
                                      &values[i]);
        }
    }

    for (i = 0; i < n; i++) {
        ngx_http_gw_lua_api_resp_set(L, r, hns[i],
                                     values[i].data ? &values[i] : NULL, 1);
    }

    return 0;
}


static int
ngx_http_gw_lua_api_resp_add_header(lua_State *L)
{
    return ngx_http_gw_lua_api_change(L, "resp.add_header",
                                      &ngx_http_gw_lua_api_resp_headers_out,
                                      0, 0);
}


static int
ngx_http_gw_lua_api_resp_remove_header(lua_State *L)
{
    return ngx_http_gw_lua_api_change(L, "resp.remove_header",
                                      &ngx_http_gw_lua_api_resp_headers_out,
                                      1, 1);
}


void
ngx_http_gw_lua_api_resp_open(lua_State *L)
{
    static const luaL_Reg  funcs[] = {
        { "status", ngx_http_gw_lua_api_resp_status },
        { "set_status", ngx_http_gw_lua_api_resp_set_status },
        { "header", ngx_http_gw_lua_api_resp_header },
        { "headers", ngx_http_gw_lua_api_resp_headers },
        { "set_header", ngx_http_gw_lua_api_resp_set_header },
        { "set_headers", ngx_http_gw_lua_api_resp_set_headers },
        { "add_header", ngx_http_gw_lua_api_resp_add_header },
        { "remove_header", ngx_http_gw_lua_api_resp_remove_header },
        { "prepare", ngx_http_gw_lua_api_resp_prepare },
        { "apply", ngx_http_gw_lua_api_resp_apply },
        { NULL, NULL }
    };

    ngx_http_gw_lua_api_table(L, "resp", funcs);
}
