
/*
 * Copyright (C) Tollgate
 *
 * The header names plugins give to set_header() and the others, checked
 * once per worker: a cache of the names seen, keyed by their bytes.
 *
 * A name is checked (1 to NGX_HTTP_GW_API_NAME_MAX RFC 9110 token
 * characters), lowercased, and classified for gw.req and gw.resp (the
 * framing, Host, the headers nginx refuses to a plugin, the members of
 * r->headers_out) when it is first seen; the cache then keeps a copy of
 * it, its lowercase and what it is, for the life of the worker.  A later
 * call with the same bytes (compared in full, never by the pointer of a
 * Lua string, which the collector may reuse) finds that copy: a name is
 * only found when its bytes equal a name that passed the check.  The
 * copies are never freed, so a request's headers may point to them.
 * The address of the Lua string a name last came in is kept beside it,
 * as a hint (NGX_HTTP_GW_API_HNAMES_RECENT of them, by the address): a
 * name given again in the same string (a constant of the plugin's code)
 * skips the hash and the probes, its bytes still compared in full.
 *
 * The cache is bounded: at most NGX_HTTP_GW_API_HNAMES_MAX names, found
 * in at most NGX_HTTP_GW_API_HNAMES_PROBES probes of an open-addressed
 * table; a name past either bound takes the slow path (checked and
 * copied into the request's pool at every call), so a plugin making up
 * names cannot grow the worker's memory or slow the others' lookups.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_lua_api.h"


#define NGX_HTTP_GW_API_HNAMES_MAX     256      /* names per worker */
#define NGX_HTTP_GW_API_HNAMES_SLOTS   512      /* a power of 2 */
#define NGX_HTTP_GW_API_HNAMES_PROBES  8
#define NGX_HTTP_GW_API_HRECENT_BITS   6
#define NGX_HTTP_GW_API_HNAMES_RECENT  (1 << NGX_HTTP_GW_API_HRECENT_BITS)


typedef struct {
    ngx_http_gw_lua_api_hname_t  hn;
    uint32_t                     key;           /* of the bytes */
} ngx_http_gw_lua_api_hentry_t;


/* the entry a Lua string's bytes were last found as, by its address */
typedef struct {
    const char                    *data;
    ngx_http_gw_lua_api_hentry_t  *e;
} ngx_http_gw_lua_api_hrecent_t;


static ngx_http_gw_lua_api_hentry_t *ngx_http_gw_lua_api_hname_find(
    const char *data, size_t len, uint32_t *key, ngx_uint_t *free);
static void ngx_http_gw_lua_api_hname_class(
    ngx_http_gw_lua_api_hname_t *hn);


/* RFC 9110 tchar: 1 for "!#$%&'*+-.^_`|~", digits and letters */
static const u_char  ngx_http_gw_lua_api_hname_tchar[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,     /*  !"#$%&'()*+,-./ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,     /* 0-9 :;<=>? */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* @A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,     /* P-Z [\]^_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* `a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,     /* p-z {|}~ */
};


static ngx_http_gw_lua_api_hentry_t
    *ngx_http_gw_lua_api_hnames[NGX_HTTP_GW_API_HNAMES_SLOTS];
static ngx_uint_t  ngx_http_gw_lua_api_nhnames;

static ngx_http_gw_lua_api_hrecent_t
    ngx_http_gw_lua_api_hrecent[NGX_HTTP_GW_API_HNAMES_RECENT];


/* the hint's slot of a Lua string's bytes, by their address */
#define ngx_http_gw_lua_api_hname_hint(data)                                  \
    (&ngx_http_gw_lua_api_hrecent[((uint64_t) (uintptr_t) (data)              \
                                   * 0x9e3779b97f4a7c15ULL)                   \
                                  >> (64 - NGX_HTTP_GW_API_HRECENT_BITS)])


/*
 * The header name at idx, checked and classified: the worker's copy of
 * it, or, when the cache has no room for it, tmp filled with copies in
 * r's pool.  Raises "gw.<what>: ..." for a name that is not a string or
 * not a token, and "no memory".
 */

ngx_http_gw_lua_api_hname_t *
ngx_http_gw_lua_api_hname(lua_State *L, int idx, const char *what,
    ngx_http_request_t *r, ngx_http_gw_lua_api_hname_t *tmp)
{
    u_char                         *p;
    size_t                          len;
    uint32_t                        key;
    ngx_str_t                       s;
    ngx_uint_t                      free;
    const char                     *data;
    ngx_http_gw_lua_api_hentry_t   *e;
    ngx_http_gw_lua_api_hrecent_t  *hr;

    if (lua_type(L, idx) != LUA_TSTRING) {
        (void) luaL_error(L, "gw.%s: the header name must be a string",
                          what);
        return NULL;
    }

    data = lua_tolstring(L, idx, &len);

    if (len == 0 || len > NGX_HTTP_GW_API_NAME_MAX) {
        goto bad;
    }

    e = ngx_http_gw_lua_api_hname_find(data, len, &key, &free);

    if (e != NULL) {
        return &e->hn;
    }

    /* not seen yet: the check, then a copy for the worker or the request */

    if (ngx_http_gw_lua_api_token((u_char *) data, len) != NGX_OK) {
        goto bad;
    }

    if (free != NGX_HTTP_GW_API_HNAMES_SLOTS
        && ngx_http_gw_lua_api_nhnames < NGX_HTTP_GW_API_HNAMES_MAX)
    {
        gw_lua_guard_enter();
        e = ngx_alloc(sizeof(ngx_http_gw_lua_api_hentry_t) + 2 * len + 1,
                      r->connection->log);

        if (e != NULL) {
            p = (u_char *) (e + 1);
            e->key = key;
            e->hn.name.data = p;
            e->hn.name.len = len;
            ngx_memcpy(p, data, len);
            p[len] = '\0';
            e->hn.lowcase = p + len + 1;
            ngx_strlow(e->hn.lowcase, p, len);
            ngx_http_gw_lua_api_hname_class(&e->hn);

            ngx_http_gw_lua_api_hnames[free] = e;
            ngx_http_gw_lua_api_nhnames++;

            hr = ngx_http_gw_lua_api_hname_hint(data);
            hr->data = data;
            hr->e = e;
        }

        gw_lua_guard_leave();

        if (e != NULL) {
            return &e->hn;
        }
    }

    s.data = (u_char *) data;
    s.len = len;

    tmp->name.data = ngx_http_gw_lua_api_copy(L, r, &s, &tmp->lowcase);
    tmp->name.len = len;
    ngx_http_gw_lua_api_hname_class(tmp);

    return tmp;

bad:

    (void) luaL_error(L, "gw.%s: invalid header name", what);

    return NULL;
}


/*
 * A name that passed the check before, found by its bytes: the worker's
 * copy, or NULL (never seen, or past the cache's bounds: only
 * ngx_http_gw_lua_api_hname() decides on those).  Raises nothing.
 */

ngx_http_gw_lua_api_hname_t *
ngx_http_gw_lua_api_hname_known(const char *data, size_t len)
{
    uint32_t                       key;
    ngx_uint_t                     free;
    ngx_http_gw_lua_api_hentry_t  *e;

    if (len == 0 || len > NGX_HTTP_GW_API_NAME_MAX) {
        return NULL;
    }

    e = ngx_http_gw_lua_api_hname_find(data, len, &key, &free);

    return (e != NULL) ? &e->hn : NULL;
}


/*
 * The cached entry of the bytes (len 1 to NGX_HTTP_GW_API_NAME_MAX):
 * through the hint, else by their key; NULL with *key and *free, the
 * slot a new entry would take (NGX_HTTP_GW_API_HNAMES_SLOTS: none within
 * the probes).
 */

static ngx_http_gw_lua_api_hentry_t *
ngx_http_gw_lua_api_hname_find(const char *data, size_t len, uint32_t *key,
    ngx_uint_t *free)
{
    ngx_uint_t                      i, slot;
    ngx_http_gw_lua_api_hentry_t   *e;
    ngx_http_gw_lua_api_hrecent_t  *hr;

    /* the hint: the same string as last time, the same bytes */

    hr = ngx_http_gw_lua_api_hname_hint(data);

    if (hr->data == data && hr->e->hn.name.len == len
        && ngx_memcmp(hr->e->hn.name.data, data, len) == 0)
    {
        return hr->e;
    }

    *key = ngx_http_gw_lua_api_hname_key((u_char *) data, len);
    slot = *key & (NGX_HTTP_GW_API_HNAMES_SLOTS - 1);
    *free = NGX_HTTP_GW_API_HNAMES_SLOTS;

    for (i = 0; i < NGX_HTTP_GW_API_HNAMES_PROBES; i++) {
        e = ngx_http_gw_lua_api_hnames[slot];

        if (e == NULL) {
            *free = slot;
            return NULL;
        }

        if (e->key == *key && e->hn.name.len == len
            && ngx_memcmp(e->hn.name.data, data, len) == 0)
        {
            hr->data = data;
            hr->e = e;

            return e;
        }

        slot = (slot + 1) & (NGX_HTTP_GW_API_HNAMES_SLOTS - 1);
    }

    return NULL;
}


/*
 * A hash of the bytes, eight at a time, with a final mix that makes
 * every input bit move the low bits (the slot): names that differ only
 * in their last bytes ("X-N-1", "X-N-2") spread over the table.
 */

uint32_t
ngx_http_gw_lua_api_hname_key(const u_char *p, size_t len)
{
    uint64_t  h, w;

    h = (uint64_t) len * 0x9e3779b97f4a7c15ULL;

    while (len >= 8) {
        ngx_memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }

    if (len != 0) {
        /* the last bytes, without a call of memcpy() for a variable length */
        w = 0;

        while (len != 0) {
            w = (w << 8) | p[--len];
        }

        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return (uint32_t) h;
}


ngx_int_t
ngx_http_gw_lua_api_token(const u_char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!ngx_http_gw_lua_api_hname_tchar[s[i]]) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_gw_lua_api_hname_class(ngx_http_gw_lua_api_hname_t *hn)
{
    hn->hash = ngx_hash_key(hn->lowcase, hn->name.len);

    ngx_http_gw_lua_api_req_class(hn);
    ngx_http_gw_lua_api_resp_class(hn);
}
