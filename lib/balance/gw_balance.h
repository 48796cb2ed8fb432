
/*
 * Copyright (C) Tollgate
 *
 * Load balancing arithmetic for the gateway's dynamic upstreams
 * (docs/routing.md, "gw_upstream"): no nginx type, no allocation, so the
 * snapshot builder, the balancer and the unit tests share it.
 *
 * Consistent hashing.  Each target of an upstream owns points on a
 * 32-bit ring: point i of a target hashes "<address>#<i>", so a target's
 * points depend on its address only, never on the other targets.  A
 * target's count of points is proportional to its weight, the heaviest
 * target of the upstream getting GW_BALANCE_RING_POINTS: adding or
 * removing a target moves only the keys that land on its points (about
 * 1/n of them), and the ring of the same targets is the same bytes on
 * every gateway.  A key goes to the first point at or after its hash
 * (gw_balance_hash()), wrapping around; on a failure the balancer walks
 * on to the next points.
 *
 * Smooth weighted round robin.  Every pick adds each eligible target's
 * weight to its "current" value, takes the largest, and subtracts the
 * sum of the eligible weights from it: over sum(weights) picks each
 * target is chosen exactly weight times, spread out (5, 1, 1 gives
 * a a b a c a a, not a a a a a b c).
 *
 * Least connections.  The eligible target with the fewest connections
 * in flight per unit of weight; ties are broken by a rotating start, so
 * an idle upstream is still spread over its targets.
 */


#ifndef _GW_BALANCE_H_INCLUDED_
#define _GW_BALANCE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_BALANCE_TARGETS_MAX   1024       /* targets of one upstream */
#define GW_BALANCE_WEIGHT_MAX    1000
#define GW_BALANCE_RING_POINTS   160        /* the heaviest target's */


/* a ring point: the same layout as ngx_http_gw_snap_point_t */
typedef struct {
    uint32_t            hash;
    uint32_t            target;     /* index in the targets given */
} gw_balance_point_t;


/* a target as the ring builder sees it */
typedef struct {
    const char         *address;    /* "host:port", its identity */
    size_t              len;
    uint32_t            weight;     /* 1..GW_BALANCE_WEIGHT_MAX */
} gw_balance_target_t;


/* the hash of a key (a consumer id, an address, a header's value) and of
   ring points: 32 bits, well mixed, the same on every platform */
uint32_t gw_balance_hash(const void *data, size_t len);

/*
 * Its two steps, for other hashes of the same kind (lib/router's splits):
 * 64-bit FNV-1a of len bytes carried on from h (GW_BALANCE_FNV_BASIS to
 * start), and the 64-bit finalizer after which keys differing in one byte
 * land far apart.
 */
#define GW_BALANCE_FNV_BASIS   0xcbf29ce484222325ULL

uint64_t gw_balance_fnv(uint64_t h, const void *data, size_t len);
uint64_t gw_balance_mix(uint64_t h);

/*
 * The number of ring points n targets need: what the caller allocates
 * for gw_balance_ring_build().  0 when n is 0, n is over
 * GW_BALANCE_TARGETS_MAX, or a weight is outside 1..GW_BALANCE_WEIGHT_MAX
 * (the build refuses those too).
 */
size_t gw_balance_ring_size(const gw_balance_target_t *targets, size_t n);

/*
 * Writes the ring of n targets into points (room for
 * gw_balance_ring_size() of them), sorted by hash, then by target index
 * (so equal inputs give equal bytes).  Returns the count written, or 0
 * for the inputs gw_balance_ring_size() refuses or when npoints is too
 * small.
 */
size_t gw_balance_ring_build(const gw_balance_target_t *targets, size_t n,
    gw_balance_point_t *points, size_t npoints);

/*
 * The index of the first point with a hash at or after hash, wrapping
 * to 0 past the last one (a binary search); points as built above, n
 * > 0.  The caller walks on with (i + 1) % n when that target fails.
 */
size_t gw_balance_ring_find(const gw_balance_point_t *points, size_t n,
    uint32_t hash);

/*
 * Smooth weighted round robin over n targets: current[] is the caller's
 * state (zeroed at first), weights[] the targets' weights, skip[] (may
 * be NULL) nonzero for the targets not eligible now (down, tried).
 * Returns the picked index and updates current[], or -1 when none is
 * eligible.
 */
int gw_balance_swrr_pick(int64_t *current, const uint32_t *weights,
    const uint8_t *skip, size_t n);

/*
 * Least connections: the eligible target with the lowest conns/weight,
 * ties going to the first one at or after start (mod n).  Returns the
 * index, or -1 when none is eligible.
 */
int gw_balance_least_pick(const uint64_t *conns, const uint32_t *weights,
    const uint8_t *skip, size_t n, size_t start);


#endif /* _GW_BALANCE_H_INCLUDED_ */
