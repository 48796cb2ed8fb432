
/*
 * Copyright (C) Tollgate
 *
 * Canary splits (docs/routing.md, "Canary splits"): a route's splits send
 * shares of its traffic to other upstreams, sticky by the route's key
 * (the consumer by default).  The arithmetic is lib/router/gw_split.c:
 * the key's hash with the route's id picks a bucket of 10,000, which the
 * weights cut into ranges.
 *
 * Stickiness across weight changes needs memory: with gw_route_state, a
 * key's side is remembered in the zone the first time it is picked, and
 * later picks use the remembered side while it is still one of the
 * route's sides (a split with weight, or the route's own upstream).  So
 * when a weight moves from 5% to 10% the keys already seen stay where
 * they are, and only new keys see the new weight.  A weight set to 0, or
 * a split removed, sends its keys back by the weights.
 *
 * With gw_redis the memory is also kept in Redis, shared by the gateways
 * and kept across restarts: gw:split:<route id>, a hash of "<key hash in
 * hex>" -> the side's upstream id.  The request never waits for Redis:
 * a key this gateway does not remember goes by the weights at once and is
 * remembered so; in the background one script either records that side
 * (the key is new everywhere) or returns the side another gateway gave it
 * earlier, which this gateway then adopts for the key's next requests.
 * Redis down: the zone alone remembers.  A key that finds no room in the
 * zone is neither remembered nor sent to Redis.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_model.h"
#include "gw_split.h"
#include "ngx_http_gw.h"
#include "ngx_http_gw_redis.h"
#include "ngx_http_gw_router.h"
#include "ngx_http_gw_router_state.h"


#define NGX_HTTP_GW_SPLIT_PREFIX  GW_MODEL_SPLIT_PREFIX


typedef struct {
    uint64_t                    hash;
    uint32_t                    side;       /* what this gateway chose */
} ngx_http_gw_split_sync_t;


/*
 * KEYS[1] gw:split:<route>, ARGV[1] the key's hash, ARGV[2] the side's
 * upstream id, ARGV[3] "1": replace, ARGV[4] the hash's lifetime (ms,
 * renewed by every new key; "0": no expiry).  Returns the side Redis
 * holds for the key.
 */
static ngx_http_gw_redis_script_t  ngx_http_gw_split_script = {
    ngx_string(
        "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
        "if v and ARGV[3] ~= '1' then return v end\n"
        "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
        "if ARGV[4] ~= '0' then\n"
        "  redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
        "end\n"
        "return ARGV[2]\n"),
    { 0 }
};

static ngx_uint_t  ngx_http_gw_split_script_ready;


ngx_int_t
ngx_http_gw_router_split_init(ngx_conf_t *cf)
{
    if (ngx_http_gw_redis_script_init(cf, &ngx_http_gw_split_script)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_route_state: the splits' Redis script");
        return NGX_ERROR;
    }

    ngx_http_gw_split_script_ready = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_router_key(ngx_http_request_t *r, ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_key_t *key, ngx_str_t *value)
{
    ngx_str_t         name;
    ngx_table_elt_t  *h;

    ngx_str_null(value);

    name.data = (u_char *) ngx_http_gw_snap_string(snap, key->name);
    name.len = key->name.len;

    switch (key->type) {

    case NGX_HTTP_GW_SNAP_KEY_CONSUMER:
        if (ngx_http_gw_route_state_consumer(r, value) != NGX_OK) {
            return NGX_ERROR;
        }

        if (value->len == 0) {
            /* anonymous callers by their address */
            *value = r->connection->addr_text;
        }

        return NGX_OK;

    case NGX_HTTP_GW_SNAP_KEY_IP:
        *value = r->connection->addr_text;
        return NGX_OK;

    case NGX_HTTP_GW_SNAP_KEY_HEADER:
        h = ngx_http_gw_header_in(r, &name);

        if (h != NULL) {
            *value = h->value;
        }

        return NGX_OK;

    case NGX_HTTP_GW_SNAP_KEY_ARG:
        if (ngx_http_arg(r, name.data, name.len, value) != NGX_OK) {
            ngx_str_null(value);
        }

        return NGX_OK;

    case NGX_HTTP_GW_SNAP_KEY_COOKIE:
        if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                              value)
            == NGX_DECLINED)
        {
            ngx_str_null(value);
        }

        return NGX_OK;

    case NGX_HTTP_GW_SNAP_KEY_URI:
        *value = r->uri;
        return NGX_OK;

    default:
        return NGX_OK;
    }
}


static void
ngx_http_gw_split_synced(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_split_sync_t  *sync = data;

    uint32_t  side;

    /* Redis down or slow: the zone alone remembers the key */
    if (status == NGX_HTTP_GW_REDIS_OK && reply != NULL
        && reply->type == REDIS_REPLY_STRING && reply->len > 0)
    {
        side = gw_split_side_id(reply->str, reply->len);

        if (side != sync->side) {
            /* another gateway gave the key its side first */
            (void) ngx_http_gw_route_state_put(sync->hash, side, 1);
        }

    } else if (status == NGX_HTTP_GW_REDIS_OK && reply != NULL
               && reply->type == REDIS_REPLY_ERROR)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "gw_route_state: splits' script: %*s",
                      (size_t) reply->len, reply->str);
    }

    ngx_free(sync);
}


/* records (or replaces) the key's side in Redis, in the background */
static void
ngx_http_gw_split_sync(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_route_t *route, uint64_t hash, ngx_str_t *upstream,
    uint32_t side, ngx_uint_t replace)
{
    u_char                    *p;
    size_t                     len[5];
    const char                *argv[5];
    ngx_http_gw_split_sync_t  *sync;
    u_char                     key[sizeof(NGX_HTTP_GW_SPLIT_PREFIX) - 1
                                   + GW_ROUTER_NAME_MAX];
    u_char                     field[16], ttl[NGX_INT64_LEN];

    if (!ngx_http_gw_split_script_ready || route->id.len > GW_ROUTER_NAME_MAX)
    {
        return;
    }

    sync = ngx_alloc(sizeof(ngx_http_gw_split_sync_t), ngx_cycle->log);
    if (sync == NULL) {
        return;
    }

    sync->hash = hash;
    sync->side = side;

    p = ngx_cpymem(key, NGX_HTTP_GW_SPLIT_PREFIX,
                   sizeof(NGX_HTTP_GW_SPLIT_PREFIX) - 1);
    p = ngx_cpymem(p, ngx_http_gw_snap_string(snap, route->id),
                   route->id.len);

    argv[0] = (const char *) key;
    len[0] = p - key;

    (void) ngx_sprintf(field, "%016uxL", hash);
    argv[1] = (const char *) field;
    len[1] = sizeof(field);

    argv[2] = (const char *) upstream->data;
    len[2] = upstream->len;

    argv[3] = replace ? "1" : "0";
    len[3] = 1;

    p = ngx_sprintf(ttl, "%T", ngx_http_gw_route_state_idle() * 1000);
    argv[4] = (const char *) ttl;
    len[4] = p - ttl;

    if (ngx_http_gw_redis_command_script(&ngx_http_gw_split_script,
                                         ngx_http_gw_split_synced, sync, 1,
                                         5, argv, len)
        != NGX_OK)
    {
        /* down now: the zone alone remembers */
        ngx_free(sync);
    }
}


/* the id of side i of route (i == n: the route's own upstream), or NULL */
static ngx_http_gw_snap_upstream_t *
ngx_http_gw_split_side(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_route_t *route, ngx_uint_t i)
{
    ngx_http_gw_snap_split_t  *splits;

    if (i == route->nsplits) {
        return route->upstream == NGX_HTTP_GW_SNAP_NONE
               ? NULL : &ngx_http_gw_snap_upstreams(snap)[route->upstream];
    }

    splits = ngx_http_gw_snap_ptr(snap, route->splits);

    return &ngx_http_gw_snap_upstreams(snap)[splits[i].upstream];
}


static uint32_t
ngx_http_gw_split_side_id(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *u)
{
    return gw_split_side_id(ngx_http_gw_snap_string(snap, u->id), u->id.len);
}


ngx_int_t
ngx_http_gw_router_split_pick(ngx_http_request_t *r,
    ngx_http_gw_router_ctx_t *ctx)
{
    uint64_t                      hash;
    uint32_t                      side, remembered, weights[GW_SPLIT_MAX];
    ngx_str_t                     key, id;
    ngx_uint_t                    i, n, any;
    ngx_http_gw_snap_t           *snap;
    ngx_http_gw_snap_split_t     *splits;
    ngx_http_gw_snap_route_t     *route;
    ngx_http_gw_snap_upstream_t  *u;

    snap = ctx->snap;
    route = ctx->route;

    ctx->split = 0;
    ctx->upstream = ngx_http_gw_split_side(snap, route, route->nsplits);

    n = ngx_min(route->nsplits, GW_SPLIT_MAX);
    splits = ngx_http_gw_snap_ptr(snap, route->splits);
    any = 0;

    for (i = 0; i < n; i++) {
        weights[i] = splits[i].weight;
        any |= weights[i];
    }

    if (!any) {
        return NGX_OK;
    }

    if (ngx_http_gw_router_key(r, snap, &route->sticky, &key) != NGX_OK) {
        return NGX_ERROR;
    }

    if (key.len == 0) {
        /* no header, argument or cookie to stick by: by the weights,
           request by request */
        ngx_http_gw_random((u_char *) &hash, sizeof(hash));
        i = gw_split_choose(weights, n, hash);
        goto found;
    }

    hash = gw_split_hash(ngx_http_gw_snap_string(snap, route->id),
                         route->id.len, key.data, key.len);

    remembered = ngx_http_gw_route_state_get(hash);

    if (remembered) {
        for (i = 0; i <= n; i++) {
            if (i < n && weights[i] == 0) {
                continue;
            }

            u = ngx_http_gw_split_side(snap, route, i);

            if (u != NULL && ngx_http_gw_split_side_id(snap, u) == remembered)
            {
                goto found;
            }
        }
    }

    i = gw_split_choose(weights, n, hash);

    u = ngx_http_gw_split_side(snap, route, i);
    if (u == NULL) {
        goto found;
    }

    side = ngx_http_gw_split_side_id(snap, u);

    if (ngx_http_gw_route_state_put(hash, side, remembered != 0) != 0
        && ngx_http_gw_route_state_redis())
    {
        id.data = (u_char *) ngx_http_gw_snap_string(snap, u->id);
        id.len = u->id.len;

        ngx_http_gw_split_sync(snap, route, hash, &id, side,
                               remembered != 0);
    }

found:

    if (i < n) {
        ctx->upstream = ngx_http_gw_split_side(snap, route, i);
        ctx->split = 1;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gw split: key \"%V\" side %ui of %ui", &key, i, n);

    return NGX_OK;
}
