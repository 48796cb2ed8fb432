
/*
 * Copyright (C) Tollgate
 *
 * Ring building and lookup, smooth weighted round robin, least
 * connections (gw_balance.h says what each promises).
 *
 * The hash is 64-bit FNV-1a over the bytes, then a 64-bit finalizer
 * (xor-shift-multiply rounds) so that keys differing in one byte land
 * far apart; the ring uses its upper 32 bits.  Point i of a target is
 * the hash of its address, '#', and i in decimal: plain bytes, so the
 * same on every machine.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_balance.h"


#define GW_BALANCE_FNV_PRIME   0x100000001b3ULL


static uint32_t gw_balance_finish(uint64_t h);
static uint32_t gw_balance_points(const gw_balance_target_t *t,
    uint32_t wmax);
static int gw_balance_point_cmp(const void *a, const void *b);


uint64_t
gw_balance_fnv(uint64_t h, const void *data, size_t len)
{
    size_t          i;
    const uint8_t  *p;

    p = data;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= GW_BALANCE_FNV_PRIME;
    }

    return h;
}


uint64_t
gw_balance_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


/* the ring takes the upper 32 bits */

static uint32_t
gw_balance_finish(uint64_t h)
{
    return (uint32_t) (gw_balance_mix(h) >> 32);
}


uint32_t
gw_balance_hash(const void *data, size_t len)
{
    return gw_balance_finish(gw_balance_fnv(GW_BALANCE_FNV_BASIS, data,
                                            len));
}


/* a target's count of points: its share of the heaviest weight's,
   rounded up, at least 1 */
static uint32_t
gw_balance_points(const gw_balance_target_t *t, uint32_t wmax)
{
    return (t->weight * GW_BALANCE_RING_POINTS + wmax - 1) / wmax;
}


size_t
gw_balance_ring_size(const gw_balance_target_t *targets, size_t n)
{
    size_t    i, total;
    uint32_t  wmax;

    if (n == 0 || n > GW_BALANCE_TARGETS_MAX) {
        return 0;
    }

    wmax = 0;

    for (i = 0; i < n; i++) {
        if (targets[i].weight == 0
            || targets[i].weight > GW_BALANCE_WEIGHT_MAX)
        {
            return 0;
        }

        if (targets[i].weight > wmax) {
            wmax = targets[i].weight;
        }
    }

    total = 0;

    for (i = 0; i < n; i++) {
        total += gw_balance_points(&targets[i], wmax);
    }

    return total;
}


static int
gw_balance_point_cmp(const void *a, const void *b)
{
    const gw_balance_point_t  *pa, *pb;

    pa = a;
    pb = b;

    if (pa->hash != pb->hash) {
        return pa->hash < pb->hash ? -1 : 1;
    }

    if (pa->target != pb->target) {
        return pa->target < pb->target ? -1 : 1;
    }

    return 0;
}


size_t
gw_balance_ring_build(const gw_balance_target_t *targets, size_t n,
    gw_balance_point_t *points, size_t npoints)
{
    char      num[16];
    size_t    i, k, len, total;
    uint32_t  j, wmax, count, v;
    uint64_t  h;

    total = gw_balance_ring_size(targets, n);

    if (total == 0 || total > npoints) {
        return 0;
    }

    wmax = 0;

    for (i = 0; i < n; i++) {
        if (targets[i].weight > wmax) {
            wmax = targets[i].weight;
        }
    }

    k = 0;

    for (i = 0; i < n; i++) {
        count = gw_balance_points(&targets[i], wmax);

        /* "<address>#": hashed once, then each point's number after it */
        h = gw_balance_fnv(GW_BALANCE_FNV_BASIS, targets[i].address,
                           targets[i].len);
        h = gw_balance_fnv(h, "#", 1);

        for (j = 0; j < count; j++) {
            len = sizeof(num);
            v = j;

            do {
                num[--len] = (char) ('0' + v % 10);
                v /= 10;
            } while (v != 0);

            points[k].hash = gw_balance_finish(
                                 gw_balance_fnv(h, num + len,
                                                sizeof(num) - len));
            points[k].target = (uint32_t) i;
            k++;
        }
    }

    qsort(points, k, sizeof(gw_balance_point_t), gw_balance_point_cmp);

    return k;
}


size_t
gw_balance_ring_find(const gw_balance_point_t *points, size_t n,
    uint32_t hash)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = n;

    /* the first point with points[i].hash >= hash */
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (points[mid].hash < hash) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return lo == n ? 0 : lo;
}


int
gw_balance_swrr_pick(int64_t *current, const uint32_t *weights,
    const uint8_t *skip, size_t n)
{
    int      best;
    size_t   i;
    int64_t  total;

    best = -1;
    total = 0;

    for (i = 0; i < n; i++) {
        if (skip != NULL && skip[i]) {
            continue;
        }

        current[i] += weights[i];
        total += weights[i];

        if (best == -1 || current[i] > current[best]) {
            best = (int) i;
        }
    }

    if (best != -1) {
        current[best] -= total;
    }

    return best;
}


int
gw_balance_least_pick(const uint64_t *conns, const uint32_t *weights,
    const uint8_t *skip, size_t n, size_t start)
{
    int     best;
    size_t  k, i;

    best = -1;

    for (k = 0; k < n; k++) {
        i = (start + k) % n;

        if (skip != NULL && skip[i]) {
            continue;
        }

        /* conns[i] / weights[i] < conns[best] / weights[best],
           without division; strict, so ties stay with the earlier one */
        if (best == -1
            || conns[i] * weights[best] < conns[best] * weights[i])
        {
            best = (int) i;
        }
    }

    return best;
}
