
/*
 * Copyright (C) Tollgate
 *
 * The gateway's configuration snapshot (docs/routing.md, "Following the
 * admin API"): what one builder per gateway makes from the metadata
 * service's change log, in the shared memory zone of "gw_config", and
 * what every worker routes and balances by.
 *
 *   ngx_http_gw_config_module.c   the directive, the zone, the variables,
 *                                 the status endpoint, the worker side:
 *                                 ngx_http_gw_snapshot_get() and release
 *   ngx_http_gw_config_follow.c   the builder's election and the change
 *                                 log follower (async Redis client)
 *   ngx_http_gw_config_model.c    the builder's entities (jansson), the
 *                                 changes applied to them
 *   ngx_http_gw_config_build.c    entities -> one snapshot block
 *   ngx_http_gw_config_health.c   the health slots (stable across
 *                                 snapshots)
 *
 * A snapshot is ONE block of the zone, immutable once published.  It
 * holds no pointer: every reference is an offset from the snapshot's own
 * start (ngx_http_gw_snap_ptr()), so any process reads it at the zone's
 * address in that process.  Strings are stored with their length and a
 * terminating NUL.  Arrays are sorted as stated, so lookups by id are
 * binary searches.
 *
 * Publication and reclamation: the zone's header holds the offset of the
 * current snapshot; a worker reads it with one atomic load per request
 * (ngx_http_gw_snapshot_get()), and pins the snapshot it got for the
 * request's lifetime; the builder frees a replaced snapshot only when no
 * worker of any generation still pins it.
 */


#ifndef _NGX_HTTP_GW_SNAPSHOT_H_INCLUDED_
#define _NGX_HTTP_GW_SNAPSHOT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_router.h"


#define NGX_HTTP_GW_SNAP_MAGIC      0x67775331      /* "gwS1" */

/* upstream algorithms */
#define NGX_HTTP_GW_SNAP_RR         0               /* weighted round robin */
#define NGX_HTTP_GW_SNAP_LEAST      1               /* least connections */
#define NGX_HTTP_GW_SNAP_HASH       2               /* consistent hashing */

/* a value a request is hashed or made sticky by ("hash_on", "sticky") */
#define NGX_HTTP_GW_SNAP_KEY_NONE      0
#define NGX_HTTP_GW_SNAP_KEY_CONSUMER   1    /* the authenticated consumer,
                                                else the client address */
#define NGX_HTTP_GW_SNAP_KEY_IP         2    /* the client address */
#define NGX_HTTP_GW_SNAP_KEY_HEADER     3    /* key.name: a header */
#define NGX_HTTP_GW_SNAP_KEY_ARG        4    /* key.name: a query argument */
#define NGX_HTTP_GW_SNAP_KEY_COOKIE     5    /* key.name: a cookie */
#define NGX_HTTP_GW_SNAP_KEY_URI        6    /* $uri */

#define NGX_HTTP_GW_SNAP_NONE       0xffffffff      /* no index */


typedef struct {
    uint32_t                    off;    /* from the snapshot's start */
    uint32_t                    len;    /* bytes, without the NUL */
} ngx_http_gw_snap_str_t;


typedef struct {
    uint32_t                    type;   /* NGX_HTTP_GW_SNAP_KEY_* */
    ngx_http_gw_snap_str_t      name;   /* header, argument or cookie */
} ngx_http_gw_snap_key_t;


/* a target of an upstream */
typedef struct {
    ngx_http_gw_snap_str_t      address;        /* "host:port" as given */
    uint32_t                    weight;         /* 1..1000 */
    uint32_t                    health;         /* health slot index */
    uint32_t                    socklen;
    u_char                      sockaddr[28];   /* sockaddr_in or _in6 */
} ngx_http_gw_snap_target_t;


/* a point of an upstream's consistent-hash ring */
typedef struct {
    uint32_t                    hash;
    uint32_t                    target;         /* index in its targets */
} ngx_http_gw_snap_point_t;


typedef struct {
    ngx_http_gw_snap_str_t      id;
    uint64_t                    version;        /* the entity's version */
    uint32_t                    algorithm;      /* NGX_HTTP_GW_SNAP_RR... */
    ngx_http_gw_snap_key_t      hash_on;        /* for NGX_HTTP_GW_SNAP_HASH */

    uint32_t                    ntargets;
    uint32_t                    targets;        /* off: _target_t[] */
    uint32_t                    npoints;
    uint32_t                    points;         /* off: _point_t[], sorted
                                                   by hash (HASH only) */

    /* passive health: this many failures within fail_window_ms take a
       target out for fail_timeout_ms (0: passive health off) */
    uint32_t                    max_fails;
    uint32_t                    fail_window_ms;
    uint32_t                    fail_timeout_ms;

    /* active health: GET check_path every check_interval_ms (0: off) */
    ngx_http_gw_snap_str_t      check_path;
    uint32_t                    check_interval_ms;
    uint32_t                    check_timeout_ms;
    uint32_t                    check_healthy;  /* successes to come back */
    uint32_t                    check_unhealthy; /* failures to go out */
} ngx_http_gw_snap_upstream_t;


/* a weighted split of a route's traffic: weight in 1/100 of a percent */
typedef struct {
    uint32_t                    upstream;       /* index in upstreams */
    uint32_t                    weight;         /* 0..10000 */
} ngx_http_gw_snap_split_t;


typedef struct {
    ngx_http_gw_snap_str_t      id;
    uint64_t                    version;        /* the entity's version */
    uint32_t                    upstream;       /* index, or _NONE */

    /* canary: splits[] send their shares elsewhere, the rest goes to
       upstream; a request's side is sticky by "sticky" */
    uint32_t                    nsplits;
    uint32_t                    splits;         /* off: _split_t[] */
    ngx_http_gw_snap_key_t      sticky;

    /* versions and lifecycle (0, "": none) */
    ngx_http_gw_snap_str_t      api_version;
    int64_t                     deprecated_at;  /* unix seconds */
    int64_t                     sunset_at;      /* unix seconds */
    ngx_http_gw_snap_str_t      successor;      /* a URL */
    ngx_http_gw_snap_str_t      deprecation_link; /* a URL */
    uint32_t                    sunset_status;  /* 410 unless said */

    /*
     * The route's policies, resolved (schemas, plan's limits and plugins
     * inlined) as one JSON object text, and a hash of that text: equal
     * hashes, equal policies (docs/routing.md, "Route policies").  "{}"
     * when it has none.
     */
    ngx_http_gw_snap_str_t      policy;
    uint64_t                    policy_hash;
} ngx_http_gw_snap_route_t;


typedef struct {
    uint32_t                    magic;
    uint32_t                    size;           /* of the whole block */
    uint64_t                    revision;       /* the applied revision */
    uint64_t                    generation;     /* distinct per snapshot:
                                                   the router's generation */
    int64_t                     committed_ms;   /* the revision's commit */
    int64_t                     built_ms;       /* when it was published */

    uint32_t                    router;         /* off: the gw_router_t
                                                   block, 8-aligned */
    uint32_t                    nroutes;
    uint32_t                    routes;         /* off: _route_t[], in the
                                                   router's definition
                                                   order (a match's .route
                                                   indexes it) */
    uint32_t                    nupstreams;
    uint32_t                    upstreams;      /* off: _upstream_t[],
                                                   sorted by id */
} ngx_http_gw_snap_t;


/* a health slot: shared by every worker, kept across snapshots */
typedef struct {
    ngx_atomic_t                fails;          /* passive: in the window */
    ngx_atomic_t                window_start_ms;
    ngx_atomic_t                down_until_ms;  /* passive: out until */
    ngx_atomic_t                active_down;    /* active: 1 out, 0 in */
    ngx_atomic_t                active_count;   /* consecutive results */
    ngx_atomic_t                conns;          /* in flight (least_conn) */
} ngx_http_gw_snap_health_t;


#define ngx_http_gw_snap_ptr(s, off)  ((void *) ((u_char *) (s) + (off)))

#define ngx_http_gw_snap_string(s, str)                                      \
    ((const char *) ngx_http_gw_snap_ptr(s, (str).off))

#define ngx_http_gw_snap_router(s)                                           \
    ((const gw_router_t *) ngx_http_gw_snap_ptr(s, (s)->router))

#define ngx_http_gw_snap_routes(s)                                           \
    ((ngx_http_gw_snap_route_t *) ngx_http_gw_snap_ptr(s, (s)->routes))

#define ngx_http_gw_snap_upstreams(s)                                        \
    ((ngx_http_gw_snap_upstream_t *) ngx_http_gw_snap_ptr(s, (s)->upstreams))


/*
 * The current snapshot for r, pinned until r's pool is destroyed: the
 * same snapshot for every call on r (also after an internal redirect).
 * One atomic load when this worker already uses the current one.  NULL
 * when no gw_config is configured or nothing was applied yet (the caller
 * answers 503), or on no memory.
 */
ngx_http_gw_snap_t *ngx_http_gw_snapshot_get(ngx_http_request_t *r);

/*
 * This worker's compiled regexes of s (made at the first call for s,
 * freed with this worker's last pin on s), or NULL when s has none or
 * they failed to compile (logged).
 */
gw_router_re_t *ngx_http_gw_snapshot_re(ngx_http_gw_snap_t *s);

/*
 * A worker-local value kept beside s while this worker pins it, for the
 * router's per-route state (slot 0: the router's, 1: the balancer's);
 * *cleanup (if set) runs when this worker releases s for the last time.
 */
typedef struct {
    void                       *data;
    void                      (*cleanup)(void *data);
} ngx_http_gw_snap_local_t;

#define NGX_HTTP_GW_SNAP_LOCAL_ROUTER    0
#define NGX_HTTP_GW_SNAP_LOCAL_UPSTREAM  1
#define NGX_HTTP_GW_SNAP_LOCALS          4

ngx_http_gw_snap_local_t *ngx_http_gw_snapshot_local(ngx_http_gw_snap_t *s,
    ngx_uint_t slot);

/* the health slot of a target (in the zone, never NULL for a target of
   a pinned snapshot) */
ngx_http_gw_snap_health_t *ngx_http_gw_snapshot_health(
    ngx_http_gw_snap_t *s, ngx_http_gw_snap_target_t *target);

/* the upstream of s with this id, or NULL (a binary search) */
ngx_http_gw_snap_upstream_t *ngx_http_gw_snapshot_upstream(
    ngx_http_gw_snap_t *s, ngx_str_t *id);

/* whether this worker is the gateway's builder now (one per gateway):
   the one that also runs active health checks */
ngx_uint_t ngx_http_gw_config_is_builder(void);


#endif /* _NGX_HTTP_GW_SNAPSHOT_H_INCLUDED_ */
