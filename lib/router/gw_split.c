
/*
 * Copyright (C) Tollgate
 *
 * Canary splits' arithmetic: see gw_split.h.  The hash is FNV-1a over
 * the route's id, a separator byte no id holds, and the key, followed by
 * a 64-bit avalanche finalizer (lib/balance's, gw_balance_fnv() and
 * gw_balance_mix()), so that consecutive ids ("c1", "c2"...) spread
 * evenly over the buckets.
 */


#include "gw_balance.h"
#include "gw_split.h"


uint64_t
gw_split_hash(const void *route, size_t rlen, const void *key, size_t klen)
{
    uint64_t       h;
    unsigned char  sep;

    sep = 0xff;

    h = gw_balance_fnv(GW_BALANCE_FNV_BASIS, route, rlen);
    h = gw_balance_fnv(h, &sep, 1);
    h = gw_balance_mix(gw_balance_fnv(h, key, klen));

    return h ? h : 1;
}


uint32_t
gw_split_side_id(const void *id, size_t len)
{
    uint32_t  s;

    s = (uint32_t) gw_balance_mix(gw_balance_fnv(GW_BALANCE_FNV_BASIS, id,
                                                 len));

    return s ? s : 1;
}


uint32_t
gw_split_bucket(uint64_t hash)
{
    /* the top 32 bits scaled: uniform over 0 .. GW_SPLIT_SCALE - 1 */
    return (uint32_t) (((hash >> 32) * GW_SPLIT_SCALE) >> 32);
}


unsigned
gw_split_choose(const uint32_t *weights, unsigned n, uint64_t hash)
{
    uint32_t  bucket, end;
    unsigned  i;

    bucket = gw_split_bucket(hash);
    end = 0;

    for (i = 0; i < n; i++) {
        end += weights[i] < GW_SPLIT_SCALE ? weights[i] : GW_SPLIT_SCALE;

        if (bucket < end) {
            return i;
        }
    }

    return n;
}


uint32_t
gw_split_table_get(gw_split_slot_t *slots, size_t nslots, uint64_t key,
    uint32_t now)
{
    size_t            i, n;
    gw_split_slot_t  *s;

    n = nslots < GW_SPLIT_PROBE ? nslots : GW_SPLIT_PROBE;

    for (i = 0; i < n; i++) {
        s = &slots[(key + i) % nslots];

        /* slots never become empty again: the key is not further on */
        if (s->key == 0) {
            return 0;
        }

        if (s->key == key) {
            s->used = now;
            return s->side;
        }
    }

    return 0;
}


uint32_t
gw_split_table_put(gw_split_slot_t *slots, size_t nslots, uint64_t key,
    uint32_t side, uint32_t now, uint32_t idle, int replace)
{
    size_t            i, n;
    gw_split_slot_t  *s, *free;

    n = nslots < GW_SPLIT_PROBE ? nslots : GW_SPLIT_PROBE;
    free = NULL;

    for (i = 0; i < n; i++) {
        s = &slots[(key + i) % nslots];

        if (s->key == key) {
            if (replace) {
                s->side = side;
            }

            s->used = now;
            return s->side;
        }

        if (s->key == 0) {
            if (free == NULL) {
                free = s;
            }

            break;
        }

        if (free == NULL && idle && (uint32_t) (now - s->used) > idle) {
            free = s;
        }
    }

    if (free == NULL) {
        return 0;
    }

    free->key = key;
    free->side = side;
    free->used = now;

    return side;
}
