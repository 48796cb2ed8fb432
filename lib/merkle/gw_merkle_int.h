
/*
 * Copyright (C) Tollgate
 *
 * What gw_merkle.c and gw_merkle_verify.c share and nothing else uses.
 */


#ifndef _GW_MERKLE_INT_H_INCLUDED_
#define _GW_MERKLE_INT_H_INCLUDED_


#include <stdint.h>


/* the number of bits of v: 0 for 0, 64 for 2^63 and up */

static inline unsigned
gw_merkle_bitlen(uint64_t v)
{
    return v == 0 ? 0 : 64 - (unsigned) __builtin_clzll(v);
}


#endif /* _GW_MERKLE_INT_H_INCLUDED_ */
