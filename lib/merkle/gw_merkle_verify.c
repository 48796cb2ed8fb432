
/*
 * Copyright (C) Tollgate
 *
 * RFC 9162 proof verification.
 *
 * Verification is the bit-walking algorithm of RFC 9162 sections 2.1.3.2
 * and 2.1.4.2, after an exact length check: the length is fixed by the
 * sizes (the inner part below the point where the paths to index and to
 * size - 1 part, plus one border hash per set bit above it), and checking
 * it first gives a clearer error than a root mismatch.
 */


#include <string.h>

#include "gw_merkle.h"
#include "gw_merkle_int.h"


static size_t gw_merkle_incl_len(uint64_t index, uint64_t size,
    unsigned *inner);


int
gw_merkle_verify_inclusion(gw_merkle_hasher_t *h, uint64_t index,
    uint64_t size, const unsigned char *leaf, const gw_merkle_hash_t *proof,
    size_t n, const unsigned char *root, const char **err)
{
    size_t            i;
    uint64_t          fn, sn;
    unsigned          inner;
    gw_merkle_hash_t  r;

    if (index >= size) {
        *err = "leaf index beyond the tree size";
        return -1;
    }

    if (n != gw_merkle_incl_len(index, size, &inner)) {
        *err = "inclusion proof of the wrong length";
        return -1;
    }

    fn = index;
    sn = size - 1;
    memcpy(r, leaf, GW_MERKLE_HASH_LEN);

    for (i = 0; i < n; i++) {
        if (sn == 0) {
            *err = "inclusion proof too long";
            return -1;
        }

        if ((fn & 1) || fn == sn) {
            if (gw_merkle_node_hash(h, proof[i], r, r) != 0) {
                goto failed;
            }

            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }

        } else if (gw_merkle_node_hash(h, r, proof[i], r) != 0) {
            goto failed;
        }

        fn >>= 1;
        sn >>= 1;
    }

    if (sn != 0 || memcmp(r, root, GW_MERKLE_HASH_LEN) != 0) {
        *err = "inclusion proof does not lead to the root";
        return -1;
    }

    return 0;

failed:

    *err = "SHA-256 failed";
    return -1;
}


int
gw_merkle_verify_consistency(gw_merkle_hasher_t *h, uint64_t size1,
    uint64_t size2, const unsigned char *root1, const unsigned char *root2,
    const gw_merkle_hash_t *proof, size_t n, const char **err)
{
    size_t            i, want;
    uint64_t          fn, sn;
    unsigned          inner, shift;
    gw_merkle_hash_t  fr, sr;

    if (size1 == 0) {
        *err = "consistency with the empty tree proves nothing";
        return -1;
    }

    if (size1 > size2) {
        *err = "first tree size beyond the second";
        return -1;
    }

    if (size1 == size2) {
        if (n != 0) {
            *err = "consistency proof of equal sizes is not empty";
            return -1;
        }

        if (memcmp(root1, root2, GW_MERKLE_HASH_LEN) != 0) {
            *err = "roots of equal sizes differ";
            return -1;
        }

        return 0;
    }

    /* the path to leaf size1 - 1, less the levels below size1's subtree */

    want = gw_merkle_incl_len(size1 - 1, size2, &inner);
    shift = (unsigned) __builtin_ctzll(size1);
    want -= shift;

    if ((size1 >> shift) != 1) {
        want++;         /* the proof starts with that subtree's hash */
    }

    if (n != want) {
        *err = "consistency proof of the wrong length";
        return -1;
    }

    fn = size1 - 1;
    sn = size2 - 1;
    i = 0;

    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }

    /* with size1 a power of two, root1 is the proof's first hash */

    if ((size1 >> shift) == 1) {
        memcpy(fr, root1, GW_MERKLE_HASH_LEN);

    } else {
        memcpy(fr, proof[i++], GW_MERKLE_HASH_LEN);
    }

    memcpy(sr, fr, GW_MERKLE_HASH_LEN);

    for ( /* void */ ; i < n; i++) {
        if (sn == 0) {
            *err = "consistency proof too long";
            return -1;
        }

        if ((fn & 1) || fn == sn) {
            if (gw_merkle_node_hash(h, proof[i], fr, fr) != 0
                || gw_merkle_node_hash(h, proof[i], sr, sr) != 0)
            {
                goto failed;
            }

            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }

        } else if (gw_merkle_node_hash(h, sr, proof[i], sr) != 0) {
            goto failed;
        }

        fn >>= 1;
        sn >>= 1;
    }

    if (sn != 0) {
        *err = "consistency proof too short";
        return -1;
    }

    if (memcmp(fr, root1, GW_MERKLE_HASH_LEN) != 0) {
        *err = "consistency proof does not lead to the first root";
        return -1;
    }

    if (memcmp(sr, root2, GW_MERKLE_HASH_LEN) != 0) {
        *err = "consistency proof does not lead to the second root";
        return -1;
    }

    return 0;

failed:

    *err = "SHA-256 failed";
    return -1;
}


int
gw_merkle_verify_inclusion_bytes(gw_merkle_hasher_t *h, uint64_t index,
    uint64_t size, gw_merkle_bytes_t leaf, const gw_merkle_bytes_t *proof,
    size_t n, gw_merkle_bytes_t root, const char **err)
{
    size_t            i;
    gw_merkle_hash_t  hashes[GW_MERKLE_MAX_PROOF];

    if (leaf.len != GW_MERKLE_HASH_LEN) {
        *err = "leaf hash is not 32 bytes";
        return -1;
    }

    if (root.len != GW_MERKLE_HASH_LEN) {
        *err = "root hash is not 32 bytes";
        return -1;
    }

    if (n > GW_MERKLE_MAX_PROOF) {
        *err = "inclusion proof of the wrong length";
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (proof[i].len != GW_MERKLE_HASH_LEN) {
            *err = "proof hash is not 32 bytes";
            return -1;
        }

        memcpy(hashes[i], proof[i].data, GW_MERKLE_HASH_LEN);
    }

    return gw_merkle_verify_inclusion(h, index, size, leaf.data, hashes, n,
                                      root.data, err);
}


/*
 * Equal sizes compare the roots as they are: nothing is computed, so a
 * root of another length is only ever equal to the same bytes.
 */

int
gw_merkle_verify_consistency_bytes(gw_merkle_hasher_t *h,
    uint64_t size1, uint64_t size2, gw_merkle_bytes_t root1,
    gw_merkle_bytes_t root2, const gw_merkle_bytes_t *proof, size_t n,
    const char **err)
{
    size_t            i;
    gw_merkle_hash_t  hashes[GW_MERKLE_MAX_PROOF];

    if (size1 != 0 && size1 == size2 && n == 0) {
        if (root1.len != root2.len
            || memcmp(root1.data, root2.data, root1.len) != 0)
        {
            *err = "roots of equal sizes differ";
            return -1;
        }

        return 0;
    }

    if (root1.len != GW_MERKLE_HASH_LEN || root2.len != GW_MERKLE_HASH_LEN)
    {
        *err = "root hash is not 32 bytes";
        return -1;
    }

    if (n > GW_MERKLE_MAX_PROOF) {
        *err = "consistency proof of the wrong length";
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (proof[i].len != GW_MERKLE_HASH_LEN) {
            *err = "proof hash is not 32 bytes";
            return -1;
        }

        memcpy(hashes[i], proof[i].data, GW_MERKLE_HASH_LEN);
    }

    return gw_merkle_verify_consistency(h, size1, size2, root1.data,
                                        root2.data, hashes, n, err);
}


/*
 * The length of the inclusion proof of index < size: *inner hashes below
 * the level where the paths to index and to size - 1 part, then one per
 * set bit of index above it.
 */

static size_t
gw_merkle_incl_len(uint64_t index, uint64_t size, unsigned *inner)
{
    *inner = gw_merkle_bitlen(index ^ (size - 1));

    if (*inner >= 64) {
        return *inner;
    }

    return *inner + __builtin_popcountll(index >> *inner);
}
