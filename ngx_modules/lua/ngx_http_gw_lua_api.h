
/*
 * Copyright (C) Tollgate
 *
 * What the files of the "gw" API share (docs/plugins-api.md):
 *
 *   ngx_http_gw_lua_api.c        the table, the phase check, consumer,
 *                                claims, ids, route, exit, problem, log,
 *                                time, json
 *   ngx_http_gw_lua_api_req.c    gw.req: the request, its headers and
 *                                body
 *   ngx_http_gw_lua_api_args.c   gw.req: its query arguments
 *   ngx_http_gw_lua_api_resp.c   gw.resp: the response's status and
 *                                headers
 *   ngx_http_gw_lua_api_hset.c   gw.resp: prepared headers
 *   ngx_http_gw_lua_api_jit.c    the compiled calls of trusted states
 *
 * Every function finds its request through ngx_http_gw_lua_cur and is
 * allowed in some phases only; strings from Lua are checked before they
 * reach nginx (names are tokens, values carry no control byte, both have
 * caps) and copied into the request's pool.
 */


#ifndef _NGX_HTTP_GW_LUA_API_H_INCLUDED_
#define _NGX_HTTP_GW_LUA_API_H_INCLUDED_


#include "ngx_http_gw_lua.h"


/* the phases a function allows: bits of 1 << NGX_HTTP_GW_LUA_* */
#define NGX_HTTP_GW_API_ACCESS   (1 << NGX_HTTP_GW_LUA_ACCESS)
#define NGX_HTTP_GW_API_HEADER   (1 << NGX_HTTP_GW_LUA_HEADER_FILTER)
#define NGX_HTTP_GW_API_BODY     (1 << NGX_HTTP_GW_LUA_BODY_FILTER)
#define NGX_HTTP_GW_API_LOG      (1 << NGX_HTTP_GW_LUA_LOG)
#define NGX_HTTP_GW_API_ALL      0x0f

/* the response: read once it came, written until its header is sent */
#define NGX_HTTP_GW_API_READ                                                 \
    (NGX_HTTP_GW_API_HEADER|NGX_HTTP_GW_API_BODY|NGX_HTTP_GW_API_LOG)
#define NGX_HTTP_GW_API_WRITE                                                \
    (NGX_HTTP_GW_API_ACCESS|NGX_HTTP_GW_API_HEADER)

/* caps on what a plugin gives */
#define NGX_HTTP_GW_API_NAME_MAX    256     /* a header name, bytes */
#define NGX_HTTP_GW_API_VALUE_MAX   8192    /* a header value, bytes */
#define NGX_HTTP_GW_API_ARGS_MAX    100     /* query arguments */
#define NGX_HTTP_GW_API_ARGS_LEN    8192    /* set_args' result, bytes */


/*
 * The call in progress, when what may be used in its phase; else raises
 * "gw.<what>: not allowed in the <phase> phase" (or outside a call).
 */
ngx_http_gw_lua_call_t *ngx_http_gw_lua_api_call(lua_State *L,
    const char *what, ngx_uint_t phases);

/* the same without raising: NULL outside a call or its phases */
ngx_http_gw_lua_call_t *ngx_http_gw_lua_api_allowed(ngx_uint_t phases);

/*
 * The header name at idx, checked: a string of 1 to NGX_HTTP_GW_API_
 * NAME_MAX token characters (RFC 9110 tchar), else a Lua error naming
 * what.  Getters pass raise 0: NULL (no such header can exist) instead.
 */
ngx_str_t *ngx_http_gw_lua_api_name(lua_State *L, int idx, const char *what,
    ngx_str_t *name, ngx_uint_t raise);

/* 1 when s is a header name ngx_http_gw_lua_api_name() accepts */
ngx_uint_t ngx_http_gw_lua_api_name_ok(const char *s, size_t len);

/* NGX_OK when s is 1 or more RFC 9110 token characters (tchar) */
ngx_int_t ngx_http_gw_lua_api_token(const u_char *s, size_t len);

/*
 * The header value at idx (a string or number), checked: at most
 * NGX_HTTP_GW_API_VALUE_MAX bytes, no CR, LF or other control byte, else
 * a Lua error naming what.  Its bytes live as long as r at least: the
 * worker's cached copy or a copy in r's pool (ngx_http_gw_lua_api_
 * hvalue.c); raises "no memory".
 */
void ngx_http_gw_lua_api_value(lua_State *L, int idx, const char *what,
    ngx_http_request_t *r, ngx_str_t *value);

/* a value checked and cached before (its bytes): 1 with *value the
 * worker's copy, else 0; raises nothing */
ngx_uint_t ngx_http_gw_lua_api_value_known(const char *data, size_t len,
    ngx_str_t *value);

/* a copy of s in r's pool (under the guard), with lowcase when asked;
 * raises "no memory" */
u_char *ngx_http_gw_lua_api_copy(lua_State *L, ngx_http_request_t *r,
    ngx_str_t *s, u_char **lowcase);

/*
 * A header name a plugin gives to change headers, checked and classified
 * (ngx_http_gw_lua_api_hname.c): name NUL-terminated, lowcase of the same
 * length; both live as long as the request at least.
 */
typedef struct {
    ngx_str_t                   name;           /* as the plugin wrote it */
    u_char                     *lowcase;
    ngx_uint_t                  hash;           /* ngx_hash_key(lowcase) */
    ngx_uint_t                  member;         /* its member's offset in
                                                   ngx_http_headers_out_t,
                                                   0: none */
    unsigned                    req_framing:1;  /* Content-Length,
                                                   Transfer-Encoding */
    unsigned                    req_host:1;
    unsigned                    resp_refused:1; /* nginx's alone */
    unsigned                    resp_type:1;    /* Content-Type */
} ngx_http_gw_lua_api_hname_t;

/*
 * The header name at idx as a checked name: 1 to NGX_HTTP_GW_API_NAME_MAX
 * token characters, else a Lua error naming what.  The worker's cached
 * copy of those bytes, or tmp filled with copies in r's pool; raises "no
 * memory".
 */
ngx_http_gw_lua_api_hname_t *ngx_http_gw_lua_api_hname(lua_State *L, int idx,
    const char *what, ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *tmp);

/* a name checked and cached before (its bytes), or NULL; raises nothing */
ngx_http_gw_lua_api_hname_t *ngx_http_gw_lua_api_hname_known(
    const char *data, size_t len);

/* the key of a name's or value's bytes in the worker's caches */
uint32_t ngx_http_gw_lua_api_hname_key(const u_char *p, size_t len);

/* the classes of hn from its lowcase: req_* (ngx_http_gw_lua_api_req.c)
 * and resp_*, member (ngx_http_gw_lua_api_resp.c) */
void ngx_http_gw_lua_api_req_class(ngx_http_gw_lua_api_hname_t *hn);
void ngx_http_gw_lua_api_resp_class(ngx_http_gw_lua_api_hname_t *hn);

/* a walk over the live headers of a list: { &list->part, 0 } at first */
typedef struct {
    ngx_list_part_t            *part;
    ngx_uint_t                  i;
} ngx_http_gw_lua_api_walk_t;

/* the walk's next live header (hash not 0), named name (case-insensitive)
 * unless name is NULL; NULL at the list's end */
ngx_table_elt_t *ngx_http_gw_lua_api_next_header(
    ngx_http_gw_lua_api_walk_t *w, ngx_str_t *name);

/* the headers a set_header() changes: gw.req's or gw.resp's */
typedef struct {
    ngx_uint_t                  phases;         /* where it may be called */
    void                      (*check)(lua_State *L, const char *what,
                                       ngx_http_gw_lua_api_hname_t *hn);
                                                /* raises for a name the
                                                   plugin may not set */
    void                      (*set)(lua_State *L, ngx_http_request_t *r,
                                     ngx_http_gw_lua_api_hname_t *hn,
                                     ngx_str_t *value, ngx_uint_t replace);
                                                /* value NULL: removes */
} ngx_http_gw_lua_api_headers_t;

/*
 * set_header (replace 1), add_header and remove_header (remove 1) of hs:
 * checks the phase, the name at 1 (and hs->check) and the value at 2,
 * then calls hs->set.  Returns 0 (no result) or raises.
 */
int ngx_http_gw_lua_api_change(lua_State *L, const char *what,
    ngx_http_gw_lua_api_headers_t *hs, ngx_uint_t replace, ngx_uint_t remove);

/* sets the table of funcs (ended by a NULL name) as name in the table
 * on the top */
void ngx_http_gw_lua_api_table(lua_State *L, const char *name,
    const luaL_Reg *funcs);

/* pushes the headers of list as gw.req.headers() does (lowercase names,
 * an array for a name seen more than once) */
void ngx_http_gw_lua_api_push_headers(lua_State *L, ngx_list_t *list);

/* how many live headers of list are named name, the first one's value
 * in *first (empty when none) */
ngx_uint_t ngx_http_gw_lua_api_first_header(ngx_list_t *list,
    ngx_str_t *name, ngx_str_t *first);

/* pushes the first value of name in list, or nil, and, with count, how
 * many headers of that name list holds (a repeated one told apart
 * cheaply); returns the number pushed */
int ngx_http_gw_lua_api_push_header(lua_State *L, ngx_list_t *list,
    ngx_str_t *name, ngx_uint_t count);

/*
 * Sets (replace 1: every header of that name goes first) or adds a
 * response header of r, or removes them all (value NULL), keeping
 * r->headers_out's own members (content type, Location...) coherent.
 * hn and value are checked already (hn not refused), value's bytes live
 * as long as r (ngx_http_gw_lua_api_value()); raises "no memory".
 */
void ngx_http_gw_lua_api_resp_set(lua_State *L, ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace);

/* the same, raising nothing: NGX_ERROR without memory */
ngx_int_t ngx_http_gw_lua_api_resp_put(ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace);

/* a request header's change as gw.req.set_header() (replace 1),
 * add_header() or remove_header() (value NULL) make it, hn checked, not
 * framing; a Host's server is the caller's: NGX_ERROR without memory */
ngx_int_t ngx_http_gw_lua_api_req_put(ngx_http_request_t *r,
    ngx_http_gw_lua_api_hname_t *hn, ngx_str_t *value, ngx_uint_t replace);

/* gw.resp.prepare() and gw.resp.apply() (ngx_http_gw_lua_api_hset.c) */
int ngx_http_gw_lua_api_resp_prepare(lua_State *L);
int ngx_http_gw_lua_api_resp_apply(lua_State *L);

/* what getmetatable() gives for a prepared set */
#define NGX_HTTP_GW_API_HSET_TAG  "gw.prepared"

/* apply() of the set at p, raising nothing: NGX_DECLINED when p holds no
 * prepared set, NGX_ERROR without memory */
ngx_int_t ngx_http_gw_lua_api_hset_put(ngx_http_request_t *r, void *p);

/* the compiled calls (ngx_http_gw_lua_api_jit.c), on the "gw" table on
 * the top of L, in a state with the FFI; raises */
void ngx_http_gw_lua_api_jit_open(lua_State *L);

/* gw.req.args(), gw.req.arg() and gw.req.set_args() */
int ngx_http_gw_lua_api_req_args(lua_State *L);
int ngx_http_gw_lua_api_req_arg(lua_State *L);
int ngx_http_gw_lua_api_req_set_args(lua_State *L);

/* add the gw.req and gw.resp tables to the "gw" table on the top */
void ngx_http_gw_lua_api_req_open(lua_State *L);
void ngx_http_gw_lua_api_resp_open(lua_State *L);


/* pushes text (a JSON text jansson made) as a Lua string, under
 * protection (ngx_http_gw_lua_api.c) */
void ngx_http_gw_lua_api_push_text(lua_State *L, char *text);

/* gw.exit() and gw.problem() (ngx_http_gw_lua_api_exit.c) */
int ngx_http_gw_lua_api_exit(lua_State *L);
int ngx_http_gw_lua_api_problem(lua_State *L);


#endif /* _NGX_HTTP_GW_LUA_API_H_INCLUDED_ */
