
/*
 * Copyright (C) Tollgate
 *
 * The header values plugins give to set_header() and the others: checked
 * and made to live as long as the request, through a cache of the short
 * values a worker keeps seeing.
 *
 * A value is a string or a number, at most NGX_HTTP_GW_API_VALUE_MAX
 * bytes, with no control byte but HTAB (no CR or LF could split a
 * header).  A value that passed the check is copied: into the request's
 * pool, or, for a short value seen before, nowhere, since the worker
 * keeps a copy of it for its life, which the request's headers point to
 * (as they point to the names' copies: nothing writes over a header's
 * value in place, nginx's code nor ours).
 *
 * A value enters the cache at its second sighting in the same Lua string
 * (the same address, length and bytes' key as last time: a constant of
 * the plugin's code or configuration, the same on every request), so the
 * values a request makes once (an id, a time) pass by without filling it.
 * A cached value is found again by its bytes, compared in full, never by
 * the pointer of a Lua string alone, which the collector may reuse; the
 * address of the string it came in last is a hint that skips the hash
 * and the probes.  The cache is bounded like the names' (NGX_HTTP_GW_API_
 * HVALUES_MAX values of at most NGX_HTTP_GW_API_HVALUE_LEN bytes, at most
 * NGX_HTTP_GW_API_HVALUES_PROBES probes): a value past a bound takes the
 * pool's copy, so a plugin echoing what clients send cannot grow the
 * worker's memory, and one filling the cache only slows itself.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_lua_api.h"


#define NGX_HTTP_GW_API_HVALUES_MAX     256     /* values per worker */
#define NGX_HTTP_GW_API_HVALUE_LEN      64      /* bytes of one */
#define NGX_HTTP_GW_API_HVALUES_SLOTS   512     /* a power of 2 */
#define NGX_HTTP_GW_API_HVALUES_PROBES  8
#define NGX_HTTP_GW_API_VRECENT_BITS    6
#define NGX_HTTP_GW_API_HVALUES_RECENT  (1 << NGX_HTTP_GW_API_VRECENT_BITS)


typedef struct {
    ngx_str_t                      value;       /* the worker's copy */
    uint32_t                       key;         /* of the bytes */
} ngx_http_gw_lua_api_ventry_t;


/* the last value seen in a Lua string, by the string's address: cached
 * (e), or a candidate seen once (e NULL, its length and key) */
typedef struct {
    const char                    *data;
    ngx_http_gw_lua_api_ventry_t  *e;
    size_t                         len;
    uint32_t                       key;
} ngx_http_gw_lua_api_vrecent_t;


static ngx_http_gw_lua_api_ventry_t *ngx_http_gw_lua_api_hvalue_find(
    const char *data, size_t len, uint32_t key, ngx_uint_t *free);
static ngx_http_gw_lua_api_ventry_t *ngx_http_gw_lua_api_hvalue_add(
    ngx_http_request_t *r, const char *data, size_t len, uint32_t key,
    ngx_uint_t slot);


static ngx_http_gw_lua_api_ventry_t
    *ngx_http_gw_lua_api_hvalues[NGX_HTTP_GW_API_HVALUES_SLOTS];
static ngx_uint_t  ngx_http_gw_lua_api_nhvalues;

static ngx_http_gw_lua_api_vrecent_t
    ngx_http_gw_lua_api_vrecent[NGX_HTTP_GW_API_HVALUES_RECENT];


/* the hint's slot of a Lua string's bytes, by their address */
#define ngx_http_gw_lua_api_hvalue_hint(data)                                 \
    (&ngx_http_gw_lua_api_vrecent[((uint64_t) (uintptr_t) (data)              \
                                   * 0x9e3779b97f4a7c15ULL)                   \
                                  >> (64 - NGX_HTTP_GW_API_VRECENT_BITS)])


void
ngx_http_gw_lua_api_value(lua_State *L, int idx, const char *what,
    ngx_http_request_t *r, ngx_str_t *value)
{
    size_t                          len;
    uint32_t                        key;
    ngx_str_t                       s;
    ngx_uint_t                      free;
    const char                     *data;
    ngx_http_gw_lua_api_ventry_t   *e;
    ngx_http_gw_lua_api_vrecent_t  *vr;

    /* NULL for anything but a string or a number */
    data = lua_tolstring(L, idx, &len);

    if (data == NULL) {
        (void) luaL_error(L, "gw.%s: the header value must be a string",
                          what);
        return;
    }

    if (len > NGX_HTTP_GW_API_VALUE_MAX) {
        (void) luaL_error(L, "gw.%s: header value longer than %d bytes",
                          what, NGX_HTTP_GW_API_VALUE_MAX);
        return;
    }

    s.data = (u_char *) data;
    s.len = len;

    if (len > NGX_HTTP_GW_API_HVALUE_LEN) {
        goto copy;
    }

    vr = ngx_http_gw_lua_api_hvalue_hint(data);

    /* the hint: the same string as last time, the same bytes */

    if (vr->data == data && vr->e != NULL && vr->e->value.len == len
        && ngx_memcmp(vr->e->value.data, data, len) == 0)
    {
        *value = vr->e->value;
        return;
    }

    key = ngx_http_gw_lua_api_hname_key((u_char *) data, len);

    e = ngx_http_gw_lua_api_hvalue_find(data, len, key, &free);

    if (e == NULL) {
        if (!ngx_http_gw_header_value_safe(&s)) {
            goto unsafe;
        }

        if (vr->data == data && vr->e == NULL && vr->len == len
            && vr->key == key && free != NGX_HTTP_GW_API_HVALUES_SLOTS)
        {
            /* its second sighting in the same string */
            e = ngx_http_gw_lua_api_hvalue_add(r, data, len, key, free);
        }

        if (e == NULL) {
            vr->data = data;
            vr->e = NULL;
            vr->len = len;
            vr->key = key;
            goto pool;
        }
    }

    vr->data = data;
    vr->e = e;
    *value = e->value;

    return;

copy:

    if (!ngx_http_gw_header_value_safe(&s)) {
        goto unsafe;
    }

pool:

    value->len = len;
    value->data = ngx_http_gw_lua_api_copy(L, r, &s, NULL);

    return;

unsafe:

    (void) luaL_error(L, "gw.%s: control character in the header value",
                      what);
}


/*
 * A value that passed the check before, found by its bytes: 1 with
 * *value the worker's copy, 0 when the cache does not hold it (never
 * seen, seen once, or too long to be cached: only ngx_http_gw_lua_api_
 * value() decides on those).  Raises nothing.
 */

ngx_uint_t
ngx_http_gw_lua_api_value_known(const char *data, size_t len,
    ngx_str_t *value)
{
    ngx_uint_t                      free;
    ngx_http_gw_lua_api_ventry_t   *e;
    ngx_http_gw_lua_api_vrecent_t  *vr;

    if (len > NGX_HTTP_GW_API_HVALUE_LEN) {
        return 0;
    }

    vr = ngx_http_gw_lua_api_hvalue_hint(data);

    if (vr->data == data && vr->e != NULL && vr->e->value.len == len
        && ngx_memcmp(vr->e->value.data, data, len) == 0)
    {
        *value = vr->e->value;
        return 1;
    }

    e = ngx_http_gw_lua_api_hvalue_find(data, len,
                         ngx_http_gw_lua_api_hname_key((u_char *) data, len),
                         &free);

    if (e == NULL) {
        return 0;
    }

    vr->data = data;
    vr->e = e;
    *value = e->value;

    return 1;
}


/* the cached copy of those bytes, or NULL and, in *free, the slot a new
 * one would take (NGX_HTTP_GW_API_HVALUES_SLOTS: none within the probes
 * or the cache is full) */

static ngx_http_gw_lua_api_ventry_t *
ngx_http_gw_lua_api_hvalue_find(const char *data, size_t len, uint32_t key,
    ngx_uint_t *free)
{
    ngx_uint_t                     i, slot;
    ngx_http_gw_lua_api_ventry_t  *e;

    *free = NGX_HTTP_GW_API_HVALUES_SLOTS;
    slot = key & (NGX_HTTP_GW_API_HVALUES_SLOTS - 1);

    for (i = 0; i < NGX_HTTP_GW_API_HVALUES_PROBES; i++) {
        e = ngx_http_gw_lua_api_hvalues[slot];

        if (e == NULL) {
            if (ngx_http_gw_lua_api_nhvalues < NGX_HTTP_GW_API_HVALUES_MAX) {
                *free = slot;
            }

            return NULL;
        }

        if (e->key == key && e->value.len == len
            && ngx_memcmp(e->value.data, data, len) == 0)
        {
            return e;
        }

        slot = (slot + 1) & (NGX_HTTP_GW_API_HVALUES_SLOTS - 1);
    }

    return NULL;
}


/* the worker's copy of a checked value, in slot; NULL without memory */

static ngx_http_gw_lua_api_ventry_t *
ngx_http_gw_lua_api_hvalue_add(ngx_http_request_t *r, const char *data,
    size_t len, uint32_t key, ngx_uint_t slot)
{
    u_char                        *p;
    ngx_http_gw_lua_api_ventry_t  *e;

    gw_lua_guard_enter();
    e = ngx_alloc(sizeof(ngx_http_gw_lua_api_ventry_t) + len + 1,
                  r->connection->log);
    gw_lua_guard_leave();

    if (e == NULL) {
        return NULL;
    }

    p = (u_char *) (e + 1);
    ngx_memcpy(p, data, len);
    p[len] = '\0';

    e->value.data = p;
    e->value.len = len;
    e->key = key;

    ngx_http_gw_lua_api_hvalues[slot] = e;
    ngx_http_gw_lua_api_nhvalues++;

    return e;
}
