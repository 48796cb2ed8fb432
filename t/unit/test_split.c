
/*
 * Copyright (C) Tollgate
 *
 * lib/router/gw_split (docs/routing.md, "Canary splits"): the realised
 * share over 100,000 distinct keys stays within 0.5 percentage points of
 * the weight; a weight moved from 5% to 10% keeps at least 99.9% of the
 * keys already seen on their side (with the memory; pure hashing alone
 * would move the 5% of them in buckets 500..999) while new keys get
 * about 10%; a flood of new keys into a full table moves nobody already
 * held; idle slots are reused, busy ones never.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_split.h"
#include "tap.h"


#define NKEYS  100000


static const char  *route = "r-canary";


static uint64_t
key_hash(const char *prefix, unsigned i)
{
    char  buf[64];
    int   n;

    n = snprintf(buf, sizeof(buf), "%s-%u", prefix, i);

    return gw_split_hash(route, strlen(route), buf, (size_t) n);
}


/* the fraction of NKEYS keys that go to split index `which` */
static double
share(const char *prefix, const uint32_t *weights, unsigned n,
    unsigned which)
{
    unsigned  i, hits;

    hits = 0;

    for (i = 0; i < NKEYS; i++) {
        if (gw_split_choose(weights, n, key_hash(prefix, i)) == which) {
            hits++;
        }
    }

    return 100.0 * hits / NKEYS;
}


static void
check_share(const char *name, double got, double want, double tolerance)
{
    double  d;

    d = got - want;

    ok(d <= tolerance && d >= -tolerance, "%s: %.3f%% (want %.2f%% +- %.1f)",
       name, got, want, tolerance);
}


/*
 * The gateway's pick, as ngx_http_gw_router_split.c does it: the
 * remembered side when it is still one of the route's sides (a split
 * with weight, or the route's own upstream), else the weights' side,
 * remembered.  sides[0 .. n] are the side ids, sides[n] the route's.
 */
static unsigned
pick(gw_split_slot_t *slots, size_t nslots, uint64_t h,
    const uint32_t *weights, unsigned n, const uint32_t *sides, uint32_t now)
{
    unsigned  i;
    uint32_t  side;

    side = gw_split_table_get(slots, nslots, h, now);

    for (i = 0; side && i <= n; i++) {
        if (sides[i] == side && (i == n || weights[i] > 0)) {
            return i;
        }
    }

    i = gw_split_choose(weights, n, h);
    (void) gw_split_table_put(slots, nslots, h, sides[i], now, 3600, 1);

    return i;
}


static void
test_hash(void)
{
    uint64_t  a, b;
    unsigned  i, bad;

    a = gw_split_hash("r1", 2, "alice", 5);
    b = gw_split_hash("r1", 2, "alice", 5);
    ok(a == b && a != 0, "a key's hash is stable and never 0");

    ok(gw_split_hash("r1", 2, "alice", 5) != gw_split_hash("r2", 2,
       "alice", 5), "the route is part of the hash");

    ok(gw_split_hash("r1", 2, "", 0) != gw_split_hash("r", 1, "1", 1),
       "route and key do not run into each other");

    ok(gw_split_side_id("u1", 2) != gw_split_side_id("u2", 2)
       && gw_split_side_id("", 0) != 0, "side ids differ, never 0");

    bad = 0;

    for (i = 0; i < NKEYS; i++) {
        if (gw_split_bucket(key_hash("b", i)) >= GW_SPLIT_SCALE) {
            bad++;
        }
    }

    is_int(bad, 0, "buckets are within 0..9999");

    is_int(gw_split_bucket(0), 0, "bucket of 0");
    is_int(gw_split_bucket(UINT64_MAX), GW_SPLIT_SCALE - 1,
           "bucket of the largest hash");
}


static void
test_shares(void)
{
    uint32_t  w5[] = { 500 }, w10[] = { 1000 }, w50[] = { 5000 };
    uint32_t  w1[] = { 1 }, wm[] = { 1000, 2500, 0, 150 };
    uint32_t  wall[] = { 10000 }, wnone[] = { 0 }, wover[] = { 7000, 7000 };

    check_share("5% over 100,000 consumers", share("consumer", w5, 1, 0),
                5.0, 0.5);
    check_share("10% over 100,000 consumers", share("consumer", w10, 1, 0),
                10.0, 0.5);
    check_share("50% over 100,000 consumers", share("consumer", w50, 1, 0),
                50.0, 0.5);
    check_share("0.01% over 100,000 consumers", share("consumer", w1, 1, 0),
                0.01, 0.5);
    check_share("5% over 100,000 addresses", share("10.1.2", w5, 1, 0),
                5.0, 0.5);

    check_share("four splits: the first", share("k", wm, 4, 0), 10.0, 0.5);
    check_share("four splits: the second", share("k", wm, 4, 1), 25.0, 0.5);
    check_share("four splits: weight 0", share("k", wm, 4, 2), 0.0, 0.0);
    check_share("four splits: the fourth", share("k", wm, 4, 3), 1.5, 0.5);
    check_share("four splits: the rest", share("k", wm, 4, 4), 63.5, 0.5);

    check_share("100% goes to the split", share("k", wall, 1, 0), 100.0, 0);
    check_share("0% goes nowhere", share("k", wnone, 1, 1), 100.0, 0);
    check_share("past 100% later splits get the rest",
                share("k", wover, 2, 1), 30.0, 0.5);
    check_share("past 100% nothing is left", share("k", wover, 2, 2), 0, 0);
}


static void
test_move(void)
{
    size_t            nslots;
    uint32_t          sides[2], w[1];
    unsigned          i, same, pure_same, canary, before[10000];
    gw_split_slot_t  *slots;

    nslots = 65536;
    slots = calloc(nslots, sizeof(gw_split_slot_t));
    if (slots == NULL) {
        abort();
    }

    sides[0] = gw_split_side_id("canary", 6);
    sides[1] = gw_split_side_id("stable", 6);

    /* 10,000 consumers at 5% */
    w[0] = 500;
    canary = 0;

    for (i = 0; i < 10000; i++) {
        before[i] = pick(slots, nslots, key_hash("c", i), w, 1, sides, 100);
        canary += before[i] == 0;
    }

    check_share("10,000 consumers at 5%", 100.0 * canary / 10000, 5.0, 1.0);

    /* the weight moves to 10%: the same consumers again */
    w[0] = 1000;
    same = 0;
    pure_same = 0;

    for (i = 0; i < 10000; i++) {
        same += pick(slots, nslots, key_hash("c", i), w, 1, sides, 200)
                == before[i];
        pure_same += gw_split_choose(w, 1, key_hash("c", i)) == before[i];
    }

    ok(same >= 9990, "5%% -> 10%%: %u of 10,000 consumers keep their side "
       "(>= 99.9%%)", same);
    ok(pure_same < 9700, "without the memory %u would keep it: the memory "
       "is what keeps them", pure_same);

    /* new consumers get the new weight */
    canary = 0;

    for (i = 0; i < 10000; i++) {
        canary += pick(slots, nslots, key_hash("new", i), w, 1, sides, 300)
                  == 0;
    }

    check_share("10,000 new consumers at 10%", 100.0 * canary / 10000,
                10.0, 1.0);

    /* back to 0: everybody leaves the canary, remembered or not */
    w[0] = 0;
    canary = 0;

    for (i = 0; i < 10000; i++) {
        canary += pick(slots, nslots, key_hash("c", i), w, 1, sides, 400)
                  == 0;
    }

    is_int(canary, 0, "weight 0: nobody stays on the canary");

    free(slots);
}


static void
test_flood(void)
{
    size_t            nslots;
    uint32_t          sides[2], w[1], r;
    unsigned          i, same, held, before[500];
    gw_split_slot_t  *slots;

    nslots = 1024;
    slots = calloc(nslots, sizeof(gw_split_slot_t));
    if (slots == NULL) {
        abort();
    }

    sides[0] = gw_split_side_id("canary", 6);
    sides[1] = gw_split_side_id("stable", 6);

    w[0] = 500;

    for (i = 0; i < 500; i++) {
        before[i] = pick(slots, nslots, key_hash("old", i), w, 1, sides, 10);
    }

    /* 100,000 new keys within the idle time, at another weight */
    w[0] = 5000;
    for (i = 0; i < NKEYS; i++) {
        (void) pick(slots, nslots, key_hash("flood", i), w, 1, sides, 20);
    }

    same = 0;

    for (i = 0; i < 500; i++) {
        same += pick(slots, nslots, key_hash("old", i), w, 1, sides, 30)
                == before[i];
    }

    is_int(same, 500, "a flood of 100,000 new keys into 1,024 slots: the "
           "500 held keep their side");

    held = 0;

    for (i = 0; i < nslots; i++) {
        held += slots[i].key != 0;
    }

    is_int(held, nslots, "the flood filled the table");

    r = gw_split_table_put(slots, nslots, key_hash("late", 1), sides[0], 40,
                           3600, 1);
    is_int(r, 0, "a new key finds no room in a full window");

    /* past the idle time a slot is reused, and the key is found again */
    r = gw_split_table_put(slots, nslots, key_hash("late", 2), sides[0],
                           40 + 3601, 3600, 1);
    is_int(r, sides[0], "a slot idle for longer than idle is reused");
    is_int(gw_split_table_get(slots, nslots, key_hash("late", 2), 40 + 3602),
           sides[0], "and holds the new key");

    /* idle 0: never reused */
    r = gw_split_table_put(slots, nslots, key_hash("late", 3), sides[0],
                           999999, 0, 1);
    is_int(r, 0, "idle 0: no slot is ever taken from another key");

    free(slots);
}


static void
test_table(void)
{
    uint32_t         r;
    gw_split_slot_t  slots[3];

    memset(slots, 0, sizeof(slots));

    is_int(gw_split_table_get(slots, 3, 7, 1), 0, "empty table: none");
    is_int(gw_split_table_put(slots, 3, 7, 11, 1, 0, 0), 11, "put");
    is_int(gw_split_table_put(slots, 3, 7, 12, 1, 0, 0), 11,
           "put without replace keeps the side");
    is_int(gw_split_table_put(slots, 3, 7, 12, 1, 0, 1), 12,
           "put with replace changes it");
    is_int(gw_split_table_get(slots, 3, 7, 2), 12, "get");
    is_int(gw_split_table_put(slots, 3, 10, 13, 1, 0, 0), 13,
           "a colliding key takes the next slot");
    is_int(gw_split_table_put(slots, 3, 13, 14, 1, 0, 0), 14,
           "and the next (wrapping)");

    r = gw_split_table_put(slots, 3, 16, 15, 1, 0, 0);
    is_int(r, 0, "a table smaller than the window: full");
    is_int(gw_split_table_get(slots, 3, 10, 2), 13, "others still found");
    is_int(gw_split_table_get(slots, 3, 16, 2), 0, "the refused key absent");
}


int
main(void)
{
    test_hash();
    test_shares();
    test_move();
    test_flood();
    test_table();

    return done_testing();
}
