
/*
 * Copyright (C) Tollgate
 *
 * Canary splits' arithmetic (docs/routing.md, "Canary splits"): which side
 * of a route a sticky key goes to, and the bounded memory of the sides
 * keys were given.
 *
 * A key (a consumer id, an address, a header's value...) is hashed with
 * its route's id into 64 bits; the top 32 bits scaled to 0..9999 give its
 * bucket, and the splits' weights (in 1/100 of a percent) cut the buckets
 * into consecutive ranges: split 0 takes [0, w0), split 1 [w0, w0 + w1),
 * ...; the rest goes to the route's own upstream.  So over many keys a
 * split gets its weight's share, and a key keeps its side while the
 * weights stay.
 *
 * When a weight moves, the ranges move, and pure hashing would send some
 * keys already seen to the other side (5% -> 10%: the keys of buckets
 * 500..999 would flip).  Keys that were seen keep their side through a
 * memory: gw_split_table_*() keep "key hash -> side" in a fixed array of
 * slots (one block of shared memory in the gateway), with linear probing
 * over a window of GW_SPLIT_PROBE slots.  A slot is never taken from a key
 * that was used within the last "idle" seconds: when the window of a new
 * key is full, the new key is simply not remembered (it goes by the
 * weights), so a flood of new keys cannot flip the sides of keys already
 * held.  Nothing here allocates or locks: the caller serializes writers.
 */


#ifndef _GW_SPLIT_H_INCLUDED_
#define _GW_SPLIT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_SPLIT_SCALE      10000       /* weights: 1/100 of a percent */
#define GW_SPLIT_MAX        8           /* splits per route */
#define GW_SPLIT_PROBE      16          /* slots a key may sit in */


/* a remembered side; key 0: an empty slot */
typedef struct {
    uint64_t            key;            /* gw_split_hash() */
    uint32_t            side;           /* gw_split_side_id() of the side */
    uint32_t            used;           /* seconds (caller's clock) */
} gw_split_slot_t;


/* the key's hash for a route (never 0) */
uint64_t gw_split_hash(const void *route, size_t rlen, const void *key,
    size_t klen);

/* a side's 32-bit name, from its upstream's id (never 0) */
uint32_t gw_split_side_id(const void *id, size_t len);

/* the bucket of a hash: 0 .. GW_SPLIT_SCALE - 1 */
uint32_t gw_split_bucket(uint64_t hash);

/*
 * The side of a hash: the index of the split whose range holds its
 * bucket, or n for the route's own upstream.  weights[] are 0 ..
 * GW_SPLIT_SCALE; past a sum of GW_SPLIT_SCALE the later splits get
 * nothing.
 */
unsigned gw_split_choose(const uint32_t *weights, unsigned n, uint64_t hash);

/*
 * The side remembered for key in slots[0 .. nslots - 1] (nslots > 0),
 * its slot's "used" set to now; 0 when none.
 */
uint32_t gw_split_table_get(gw_split_slot_t *slots, size_t nslots,
    uint64_t key, uint32_t now);

/*
 * Remembers side for key: in key's own slot when it has one (replacing
 * its side only when replace is set), else in the first empty slot of its
 * window, or one not used for more than idle seconds.  Returns the side
 * the table now holds for key, or 0 when the window had no room (key is
 * not remembered).
 */
uint32_t gw_split_table_put(gw_split_slot_t *slots, size_t nslots,
    uint64_t key, uint32_t side, uint32_t now, uint32_t idle, int replace);


#endif /* _GW_SPLIT_H_INCLUDED_ */
