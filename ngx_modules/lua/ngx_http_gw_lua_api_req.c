
/*
 * Copyright (C) Tollgate
 *
 * gw.req (docs/plugins-api.md): the request a plugin serves, and what it
 * may change for the upstream in the access phase: the headers and the
 * body (the query arguments are ngx_http_gw_lua_api_args.c's).
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


static int ngx_http_gw_lua_api_req_string(lua_State *L, const char *what,
    size_t offset);
static ngx_uint_t ngx_http_gw_lua_api_drop(ngx_table_elt_t *h, void *data);
static ngx_int_t ngx_http_gw_lua_api_sync(ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn);
static void ngx_http_gw_lua_api_req_check(lua_State *L, const char *what,
    ngx_http_gw_lua_api_hname_t *hn);
static void ngx_http_gw_lua_api_req_change(lua_State *L,
    ngx_http_request_t *r, ngx_http_gw_lua_api_hname_t *hn,
    ngx_str_t *value, ngx_uint_t replace);
static void ngx_http_gw_lua_api_req_framing(lua_State *L,
    ngx_http_request_t *r, ngx_http_gw_lua_api_hname_t *hn, char *name,
    char *lowcase, ngx_str_t *value);


static ngx_str_t  ngx_http_gw_lua_api_host = ngx_string("host");


/* gw.req.set_header() and the others: in the access phase */
static ngx_http_gw_lua_api_headers_t  ngx_http_gw_lua_api_req_headers_in = {
    NGX_HTTP_GW_API_ACCESS,
    ngx_http_gw_lua_api_req_check,
    ngx_http_gw_lua_api_req_change
};


/* pushes the string member of r at offset: method, path, uri */

static int
ngx_http_gw_lua_api_req_string(lua_State *L, const char *what, size_t offset)
{
    ngx_str_t               *s;
    ngx_http_gw_lua_call_t  *call;

    call = ngx_http_gw_lua_api_call(L, what, NGX_HTTP_GW_API_ALL);

    s = (ngx_str_t *) ((char *) call->r + offset);

    lua_pushlstring(L, (char *) s->data, s->len);

    return 1;
}


static int
ngx_http_gw_lua_api_req_method(lua_State *L)
{
    return ngx_http_gw_lua_api_req_string(L, "req.method",
                                 offsetof(ngx_http_request_t, method_name));
}


static int
ngx_http_gw_lua_api_req_path(lua_State *L)
{
    return ngx_http_gw_lua_api_req_string(L, "req.path",
                                          offsetof(ngx_http_request_t, uri));
}


static int
ngx_http_gw_lua_api_req_uri(lua_State *L)
{
    return ngx_http_gw_lua_api_req_string(L, "req.uri",
                                offsetof(ngx_http_request_t, unparsed_uri));
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

static ngx_int_t
ngx_http_gw_lua_api_sync(ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn)
{
    ngx_int_t                    rc;
    ngx_uint_t                   array;
    ngx_array_t                 *a;
    ngx_table_elt_t             *h, **ph, *first;
    ngx_http_header_t           *hh;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_gw_lua_api_walk_t   w;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    hh = ngx_hash_find(&cmcf->headers_in_hash, hn->hash, hn->lowcase,
                       hn->name.len);

    if (hh == NULL || hh->offset == 0) {
        return NGX_OK;
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

    w.part = &r->headers_in.headers.part;
    w.i = 0;

    while (rc == NGX_OK
           && (h = ngx_http_gw_lua_api_next_header(&w, &hn->name)) != NULL)
    {
        if (!array) {
            first = h;
            break;
        }

        ph = ngx_array_push(a);
        if (ph == NULL) {
            rc = NGX_ERROR;
            break;
        }

        *ph = h;
    }

    gw_lua_guard_leave();

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if (!array) {
        *ph = first;
    }

    if (hh->offset == offsetof(ngx_http_headers_in_t, authorization)) {
        /* ngx_http_auth_basic_user() decodes it again */
        ngx_str_null(&r->headers_in.user);
        ngx_str_null(&r->headers_in.passwd);
    }

    return NGX_OK;
}


/*
 * A Host is a host name or address, and a port: what $host gives is its
 * lowercase host part (headers_in.server), as nginx would have made it.
 */

static void
ngx_http_gw_lua_api_host_value(lua_State *L, ngx_http_request_t *r,
    ngx_str_t *value, ngx_str_t *server)
{
    u_char  *p, *end, *host, c;
    size_t   i;

    p = value->data;
    end = p + value->len;

    /* letters, digits, "-", ".", ":" and the brackets of an IPv6 address */

    for (i = 0; i < value->len; i++) {
        c = p[i] | 0x20;

        if (!((c >= 'a' && c <= 'z') || (p[i] >= '0' && p[i] <= '9')
              || p[i] == '-' || p[i] == '.' || p[i] == ':' || p[i] == '['
              || p[i] == ']'))
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

    /* the copy is of the value's bytes, lowercased in place */
    server->len = end - p;
    server->data = p;
    server->data = ngx_http_gw_lua_api_copy(L, r, server, NULL);
    ngx_strlow(server->data, server->data, server->len);
}


/*
 * Sets (replace 1) or adds a request header for the upstream, or removes
 * every one of that name (value NULL).  name and value are checked, and
 * value's bytes live as long as r.
 */

static void
ngx_http_gw_lua_api_req_change(lua_State *L, ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace)
{
    ngx_str_t  server;

    if (value != NULL && hn->req_host) {
        if (!replace) {
            (void) luaL_error(L, "gw.req.add_header: one Host only");
            return;
        }

        ngx_http_gw_lua_api_host_value(L, r, value, &server);

    } else {
        ngx_str_null(&server);
    }

    if (ngx_http_gw_lua_api_req_put(r, hn, value, replace) != NGX_OK) {
        (void) luaL_error(L, "no memory");
        return;
    }

    if (server.len != 0) {
        r->headers_in.server = server;
    }
}


/*
 * The change of the list and of nginx's members for it (a Host's server
 * is the caller's): NGX_ERROR without memory, the change perhaps half
 * done.  Raises nothing.
 */

ngx_int_t
ngx_http_gw_lua_api_req_put(ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    gw_lua_guard_enter();

    rc = NGX_OK;

    if (replace || value == NULL) {
        rc = ngx_http_gw_drop_headers(r, ngx_http_gw_lua_api_drop, &hn->name,
                                      NULL);
    }

    if (rc == NGX_OK && value != NULL) {
        /* as ngx_http_gw_add_header(), with the hash hn has already */
        h = ngx_list_push(&r->headers_in.headers);

        if (h == NULL) {
            rc = NGX_ERROR;

        } else {
            h->key = hn->name;
            h->lowcase_key = hn->lowcase;
            h->hash = hn->hash;
            h->value = *value;
        }
    }

    gw_lua_guard_leave();

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gw_lua_api_sync(r, hn);
}


/* what a name is to gw.req: the framing, Host */

void
ngx_http_gw_lua_api_req_class(ngx_http_gw_lua_api_hname_t *hn)
{
    hn->req_framing = (hn->name.len == sizeof("content-length") - 1
                       && ngx_strncmp(hn->lowcase, "content-length",
                                      hn->name.len) == 0)
                      || (hn->name.len == sizeof("transfer-encoding") - 1
                          && ngx_strncmp(hn->lowcase, "transfer-encoding",
                                         hn->name.len) == 0);

    hn->req_host = (hn->name.len == ngx_http_gw_lua_api_host.len
                    && ngx_strncmp(hn->lowcase, ngx_http_gw_lua_api_host.data,
                                   hn->name.len) == 0);
}


/* the framing is set_body()'s alone */

static void
ngx_http_gw_lua_api_req_check(lua_State *L, const char *what,
    ngx_http_gw_lua_api_hname_t *hn)
{
    if (hn->req_framing) {
        (void) luaL_error(L, "gw.%s: the body's framing is set by "
                          "gw.req.set_body()", what);
    }
}


/* set_body()'s change of a framing header, named by literals */

static void
ngx_http_gw_lua_api_req_framing(lua_State *L, ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, char *name, char *lowcase,
    ngx_str_t *value)
{
    ngx_memzero(hn, sizeof(ngx_http_gw_lua_api_hname_t));

    hn->name.data = (u_char *) name;
    hn->name.len = ngx_strlen(name);
    hn->lowcase = (u_char *) lowcase;
    hn->hash = ngx_hash_key(hn->lowcase, hn->name.len);
    hn->req_framing = 1;

    ngx_http_gw_lua_api_req_change(L, r, hn, value, 1);
}


static int
ngx_http_gw_lua_api_req_set_header(lua_State *L)
{
    return ngx_http_gw_lua_api_change(L, "req.set_header",
                                      &ngx_http_gw_lua_api_req_headers_in, 1,
                                      lua_isnoneornil(L, 2));
}


static int
ngx_http_gw_lua_api_req_add_header(lua_State *L)
{
    return ngx_http_gw_lua_api_change(L, "req.add_header",
                                      &ngx_http_gw_lua_api_req_headers_in, 0,
                                      0);
}


static int
ngx_http_gw_lua_api_req_remove_header(lua_State *L)
{
    return ngx_http_gw_lua_api_change(L, "req.remove_header",
                                      &ngx_http_gw_lua_api_req_headers_in, 1,
                                      1);
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
    ngx_str_t                     body, value;
    ngx_chain_t                  *cl;
    const char                   *s;
    ngx_http_request_t           *r;
    ngx_http_gw_lua_call_t       *call;
    ngx_http_gw_lua_main_conf_t  *lmcf;
    ngx_http_gw_lua_api_hname_t   hn;
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

    ngx_http_gw_lua_api_req_framing(L, r, &hn, "Transfer-Encoding",
                                    "transfer-encoding", NULL);

    p = ngx_http_gw_write_uint(buf, len);
    value.data = buf;
    value.len = p - buf;
    value.data = ngx_http_gw_lua_api_copy(L, r, &value, NULL);
    ngx_http_gw_lua_api_req_framing(L, r, &hn, "Content-Length",
                                    "content-length", &value);

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

    ngx_http_gw_lua_api_table(L, "req", funcs);
}
