
/*
 * Copyright (C) Tollgate
 *
 * lib/balance (docs/routing.md, "gw_upstream"): the hash, the ring's
 * size, order and refusals, spread and weighted shares over many keys,
 * what moves when a target is added or removed (only the keys of that
 * target), lookups at the edges, smooth weighted round robin's exact
 * sequence and counts with and without skipped targets, least
 * connections with weights and ties.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_balance.h"
#include "tap.h"


#define KEYS  100000
#define RING  (sizeof(ring_a) / sizeof(ring_a[0]))


static gw_balance_point_t  ring_a[GW_BALANCE_RING_POINTS * 16];
static gw_balance_point_t  ring_b[GW_BALANCE_RING_POINTS * 16];


static gw_balance_target_t
target(const char *address, uint32_t weight)
{
    gw_balance_target_t  t;

    t.address = address;
    t.len = strlen(address);
    t.weight = weight;

    return t;
}


/* the target key number i goes to */
static uint32_t
lookup(const gw_balance_point_t *ring, size_t n, unsigned i)
{
    char  key[32];
    int   len;

    len = snprintf(key, sizeof(key), "consumer-%u", i);

    return ring[gw_balance_ring_find(ring, n, gw_balance_hash(key, len))]
           .target;
}


static void
test_hash(void)
{
    uint32_t  a, b;

    a = gw_balance_hash("consumer-1", 10);
    b = gw_balance_hash("consumer-1", 10);
    is_int(a, b, "hash: the same bytes, the same hash");
    ok(gw_balance_hash("consumer-2", 10) != a, "hash: one byte differs");
    ok(gw_balance_hash("", 0) != gw_balance_hash("\0", 1),
       "hash: the empty key is not a NUL byte");

    /* pinned: the ring must be the same bytes on every gateway */
    is_int(gw_balance_hash("", 0), 0xefd01f60,
           "hash: a known value (empty)");
    is_int(gw_balance_hash("127.0.0.1:8080#0", 16), 0x19cbadd9,
           "hash: a known value (a point)");
}


static void
test_size(void)
{
    gw_balance_target_t  t[3];

    t[0] = target("10.0.0.1:80", 100);
    t[1] = target("10.0.0.2:80", 100);
    t[2] = target("10.0.0.3:80", 100);
    is_int(gw_balance_ring_size(t, 3), 3 * GW_BALANCE_RING_POINTS,
           "size: equal weights, the full count each");

    t[0].weight = 1;
    t[1].weight = 1000;
    t[2].weight = 500;
    is_int(gw_balance_ring_size(t, 3), 1 + 160 + 80,
           "size: proportional to the heaviest, at least one");

    t[0].weight = 0;
    is_int(gw_balance_ring_size(t, 3), 0, "size: weight 0 refused");
    t[0].weight = 1001;
    is_int(gw_balance_ring_size(t, 3), 0, "size: weight 1001 refused");
    is_int(gw_balance_ring_size(t, 0), 0, "size: no target refused");
    is_int(gw_balance_ring_size(t, GW_BALANCE_TARGETS_MAX + 1), 0,
           "size: too many targets refused");
}


static void
test_build(void)
{
    int                  len;
    char                 key[32];
    size_t               n, m, i, sorted, counts[2];
    gw_balance_target_t  t[2];

    t[0] = target("10.0.0.1:80", 10);
    t[1] = target("10.0.0.2:80", 5);

    n = gw_balance_ring_build(t, 2, ring_a, 240);
    is_int(n, 240, "build: all points written");

    sorted = 1;
    counts[0] = counts[1] = 0;

    for (i = 0; i < n; i++) {
        counts[ring_a[i].target]++;

        if (i > 0 && ring_a[i - 1].hash > ring_a[i].hash) {
            sorted = 0;
        }
    }

    ok(sorted, "build: sorted by hash");
    is_int(counts[0], 160, "build: the heavier target's points");
    is_int(counts[1], 80, "build: the lighter target's points");

    m = gw_balance_ring_build(t, 2, ring_b, 240);
    ok(m == n && memcmp(ring_a, ring_b, n * sizeof(ring_a[0])) == 0,
       "build: the same targets, the same bytes");

    for (i = 0; i < n && ring_a[i].target != 0; i++) {
        /* void */
    }

    sorted = 0;

    for (m = 0; m < 160; m++) {
        len = snprintf(key, sizeof(key), "10.0.0.1:80#%zu", m);
        sorted += gw_balance_hash(key, len) == ring_a[i].hash;
    }

    is_int(sorted, 1, "build: a point is the hash of \"<address>#<i>\"");

    is_int(gw_balance_ring_build(t, 2, ring_b, 239), 0,
           "build: too little room refused");

    t[1].weight = 0;
    is_int(gw_balance_ring_build(t, 2, ring_b, 240), 0,
           "build: a bad weight refused");
}


static void
test_find(void)
{
    gw_balance_point_t  p[3] = { { 10, 0 }, { 20, 1 }, { 30, 2 } };

    is_int(gw_balance_ring_find(p, 3, 0), 0, "find: before the first");
    is_int(gw_balance_ring_find(p, 3, 10), 0, "find: on a point");
    is_int(gw_balance_ring_find(p, 3, 11), 1, "find: between points");
    is_int(gw_balance_ring_find(p, 3, 30), 2, "find: on the last");
    is_int(gw_balance_ring_find(p, 3, 31), 0, "find: past the last wraps");
    is_int(gw_balance_ring_find(p, 3, 0xffffffff), 0,
           "find: the largest hash wraps");
    is_int(gw_balance_ring_find(p, 1, 31), 0, "find: one point");
}


static void
test_spread(void)
{
    size_t               n, i;
    unsigned             k, counts[4];
    gw_balance_target_t  t[4];

    t[0] = target("10.0.0.1:8080", 100);
    t[1] = target("10.0.0.2:8080", 100);
    t[2] = target("10.0.0.3:8080", 100);
    t[3] = target("10.0.0.4:8080", 100);

    n = gw_balance_ring_build(t, 4, ring_a, RING);
    memset(counts, 0, sizeof(counts));

    for (k = 0; k < KEYS; k++) {
        counts[lookup(ring_a, n, k)]++;
    }

    for (i = 0; i < 4; i++) {
        ok(counts[i] > KEYS * 0.18 && counts[i] < KEYS * 0.32,
           "spread: equal weights, target %zu has %u of %u keys", i,
           counts[i], KEYS);
    }

    t[0].weight = 300;
    t[1].weight = 100;
    n = gw_balance_ring_build(t, 2, ring_a, RING);
    memset(counts, 0, sizeof(counts));

    for (k = 0; k < KEYS; k++) {
        counts[lookup(ring_a, n, k)]++;
    }

    ok(counts[0] > KEYS * 0.68 && counts[0] < KEYS * 0.82,
       "spread: weight 3:1 gives %u of %u keys to the heavier", counts[0],
       KEYS);
}


static void
test_stability(void)
{
    size_t               n4, n5, n3;
    unsigned             k, moved, moved_elsewhere, owned, a, b;
    gw_balance_target_t  t[5], r[3];

    t[0] = target("10.0.0.1:8080", 100);
    t[1] = target("10.0.0.2:8080", 100);
    t[2] = target("10.0.0.3:8080", 100);
    t[3] = target("10.0.0.4:8080", 100);
    t[4] = target("10.0.0.5:8080", 100);

    n4 = gw_balance_ring_build(t, 4, ring_a,
                               sizeof(ring_a) / sizeof(ring_a[0]));
    n5 = gw_balance_ring_build(t, 5, ring_b,
                               sizeof(ring_b) / sizeof(ring_b[0]));

    /* adding a fifth target: keys move only to it, about a fifth */
    moved = 0;
    moved_elsewhere = 0;

    for (k = 0; k < KEYS; k++) {
        a = lookup(ring_a, n4, k);
        b = lookup(ring_b, n5, k);

        if (a != b) {
            moved++;
            moved_elsewhere += (b != 4);
        }
    }

    is_int(moved_elsewhere, 0, "add: no key moves between old targets");
    ok(moved > KEYS * 0.12 && moved < KEYS * 0.28,
       "add: %u of %u keys move to the new target", moved, KEYS);

    /* removing target 1 (the others keep their order): only its keys
       move */
    r[0] = t[0];
    r[1] = t[2];
    r[2] = t[3];
    n3 = gw_balance_ring_build(r, 3, ring_b,
                               sizeof(ring_b) / sizeof(ring_b[0]));
    moved_elsewhere = 0;
    owned = 0;

    for (k = 0; k < KEYS; k++) {
        a = lookup(ring_a, n4, k);
        b = lookup(ring_b, n3, k);

        /* indexes in the 3-target ring: 0 -> 0, 1 -> 2, 2 -> 3 */
        b = (b == 0) ? 0 : b + 1;

        if (a == 1) {
            owned++;

        } else if (a != b) {
            moved_elsewhere++;
        }
    }

    is_int(moved_elsewhere, 0, "remove: only the removed target's keys move");
    ok(owned > 0, "remove: the removed target had %u keys", owned);

    /* a weight change moves keys only to or from that target */
    t[1].weight = 50;
    n4 = gw_balance_ring_build(t, 4, ring_b,
                               sizeof(ring_b) / sizeof(ring_b[0]));
    t[1].weight = 100;
    n5 = gw_balance_ring_build(t, 4, ring_a,
                               sizeof(ring_a) / sizeof(ring_a[0]));
    moved_elsewhere = 0;

    for (k = 0; k < KEYS; k++) {
        a = lookup(ring_a, n5, k);
        b = lookup(ring_b, n4, k);

        if (a != b && a != 1) {
            moved_elsewhere++;
        }
    }

    is_int(moved_elsewhere, 0, "weight: lowering one moves only its keys");
}


static void
test_swrr(void)
{
    int       i, k, pick, counts[3];
    char      seq[8];
    int64_t   current[3];
    uint8_t   skip[3];
    uint32_t  w[3] = { 5, 1, 1 };

    memset(current, 0, sizeof(current));

    for (i = 0; i < 7; i++) {
        seq[i] = (char) ('a' + gw_balance_swrr_pick(current, w, NULL, 3));
    }

    seq[7] = '\0';
    is_str(seq, "aabacaa", "swrr: 5, 1, 1 interleaved");

    w[0] = 3;
    w[1] = 2;
    w[2] = 7;
    memset(current, 0, sizeof(current));
    memset(counts, 0, sizeof(counts));

    for (i = 0; i < 12 * 100; i++) {
        counts[gw_balance_swrr_pick(current, w, NULL, 3)]++;
    }

    ok(counts[0] == 300 && counts[1] == 200 && counts[2] == 700,
       "swrr: exact shares over whole rounds (%d %d %d)", counts[0],
       counts[1], counts[2]);

    /* the middle one out: the others keep their ratio */
    memset(skip, 0, sizeof(skip));
    skip[1] = 1;
    memset(counts, 0, sizeof(counts));

    for (i = 0; i < 10 * 100; i++) {
        pick = gw_balance_swrr_pick(current, w, skip, 3);
        counts[pick < 0 ? 1 : pick]++;
    }

    ok(counts[1] == 0 && counts[0] >= 299 && counts[0] <= 301,
       "swrr: a skipped target gets nothing, the rest their share "
       "(%d %d %d)", counts[0], counts[1], counts[2]);

    memset(skip, 1, sizeof(skip));
    is_int(gw_balance_swrr_pick(current, w, skip, 3), -1,
           "swrr: none eligible");

    /* one target: always it */
    memset(current, 0, sizeof(current));
    k = 0;

    for (i = 0; i < 10; i++) {
        k += gw_balance_swrr_pick(current, w, NULL, 1) == 0;
    }

    is_int(k, 10, "swrr: a single target every time");
}


static void
test_least(void)
{
    uint8_t   skip[3] = { 0, 0, 0 };
    uint64_t  conns[3] = { 4, 1, 2 };
    uint32_t  w[3] = { 1, 1, 1 };

    is_int(gw_balance_least_pick(conns, w, NULL, 3, 0), 1,
           "least: the fewest connections");

    w[0] = 10;
    is_int(gw_balance_least_pick(conns, w, NULL, 3, 0), 0,
           "least: per unit of weight");

    w[0] = 1;
    skip[1] = 1;
    is_int(gw_balance_least_pick(conns, w, skip, 3, 0), 2,
           "least: a skipped target is not picked");

    conns[0] = conns[1] = conns[2] = 0;
    skip[1] = 0;
    is_int(gw_balance_least_pick(conns, w, NULL, 3, 0), 0,
           "least: a tie goes to start");
    is_int(gw_balance_least_pick(conns, w, NULL, 3, 2), 2,
           "least: a tie goes to start (2)");
    is_int(gw_balance_least_pick(conns, w, NULL, 3, 4), 1,
           "least: start wraps");

    memset(skip, 1, sizeof(skip));
    is_int(gw_balance_least_pick(conns, w, skip, 3, 0), -1,
           "least: none eligible");
}


int
main(void)
{
    test_hash();
    test_size();
    test_build();
    test_find();
    test_spread();
    test_stability();
    test_swrr();
    test_least();

    return done_testing();
}
