
/*
 * Copyright (C) Tollgate
 *
 * RFC 9162 Merkle tree hashing, compact ranges and proof generation.
 *
 * Proof generation follows the recursive definitions of RFC 9162 (PATH
 * and SUBPROOF) as loops: each step halves the range [lo, lo + n) at k,
 * the largest power of two below n, and records the hash of the half the
 * path does not enter.  That half is either a perfect subtree (one lookup)
 * or the right part [lo + k, lo + n), whose start is a multiple of a power
 * of two at least as large as its length: it is the run of perfect
 * subtrees given by the set bits of n - k, folded from the right.  The
 * hashes come out top first, so the proof is reversed at the end.
 *
 * Proof verification is in gw_merkle_verify.c.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_merkle.h"
#include "gw_merkle_int.h"


struct gw_merkle_hasher_s {
    EVP_MD      *md;
    EVP_MD_CTX  *ctx;
};


static int gw_merkle_sha256(gw_merkle_hasher_t *h, unsigned char prefix,
    const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
    unsigned char *out);
static int gw_merkle_range_hash(gw_merkle_hasher_t *h,
    const gw_merkle_source_t *src, uint64_t lo, uint64_t n,
    unsigned char *out, const char **err);
static int gw_merkle_perfect(const gw_merkle_source_t *src, uint64_t lo,
    uint64_t k, unsigned char *out, const char **err);
static void gw_merkle_reverse(gw_merkle_hash_t *proof, size_t n);
static uint64_t gw_merkle_split(uint64_t n);


static const unsigned char  gw_merkle_empty[GW_MERKLE_HASH_LEN] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
    0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
    0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55
};


gw_merkle_hasher_t *
gw_merkle_hasher_new(void)
{
    gw_merkle_hasher_t  *h;

    h = calloc(1, sizeof(gw_merkle_hasher_t));
    if (h == NULL) {
        return NULL;
    }

    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();

    if (h->md == NULL || h->ctx == NULL) {
        gw_merkle_hasher_free(h);
        return NULL;
    }

    return h;
}


void
gw_merkle_hasher_free(gw_merkle_hasher_t *h)
{
    if (h == NULL) {
        return;
    }

    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    free(h);
}


int
gw_merkle_leaf_hash(gw_merkle_hasher_t *h, const unsigned char *data,
    size_t len, unsigned char *out)
{
    return gw_merkle_sha256(h, 0x00, data, len, NULL, 0, out);
}


int
gw_merkle_node_hash(gw_merkle_hasher_t *h, const unsigned char *left,
    const unsigned char *right, unsigned char *out)
{
    return gw_merkle_sha256(h, 0x01, left, GW_MERKLE_HASH_LEN, right,
                            GW_MERKLE_HASH_LEN, out);
}


int
gw_merkle_chain_hash(gw_merkle_hasher_t *h, const unsigned char *prev,
    const unsigned char *leaf, unsigned char *out)
{
    return gw_merkle_sha256(h, 0x02, prev, GW_MERKLE_HASH_LEN, leaf,
                            GW_MERKLE_HASH_LEN, out);
}


void
gw_merkle_empty_root(unsigned char *out)
{
    memcpy(out, gw_merkle_empty, GW_MERKLE_HASH_LEN);
}


/*
 * SHA-256(prefix || a || b) into out; a or b may alias out.  With a NULL
 * hasher, a context lives for this one call.
 */

static int
gw_merkle_sha256(gw_merkle_hasher_t *h, unsigned char prefix,
    const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
    unsigned char *out)
{
    int          rc;
    EVP_MD_CTX  *ctx;

    if (h != NULL) {
        ctx = h->ctx;
        rc = EVP_DigestInit_ex2(ctx, h->md, NULL);

    } else {
        ctx = EVP_MD_CTX_new();
        if (ctx == NULL) {
            return -1;
        }

        rc = EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL);
    }

    rc = rc == 1
         && EVP_DigestUpdate(ctx, &prefix, 1) == 1
         && (alen == 0 || EVP_DigestUpdate(ctx, a, alen) == 1)
         && (blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1)
         && EVP_DigestFinal_ex(ctx, out, NULL) == 1;

    if (h == NULL) {
        EVP_MD_CTX_free(ctx);
    }

    return rc ? 0 : -1;
}


void
gw_merkle_range_init(gw_merkle_range_t *r)
{
    r->size = 0;
    r->nnodes = 0;
}


/*
 * The new leaf merges with the stack's top while the subtree sizes
 * match: once per trailing one bit of the old size.  The merges are done
 * on a copy of the top nodes, so that a failure leaves r as it was.
 */

int
gw_merkle_range_append(gw_merkle_hasher_t *h, gw_merkle_range_t *r,
    const unsigned char *leaf, gw_merkle_emit_pt emit, void *data,
    const char **err)
{
    unsigned          level, top;
    uint64_t          size;
    gw_merkle_hash_t  cur;

    if (r->size == UINT64_MAX) {
        *err = "Merkle tree is full";
        return -1;
    }

    memcpy(cur, leaf, GW_MERKLE_HASH_LEN);

    if (emit != NULL && emit(data, 0, r->size, cur) != 0) {
        *err = "cannot store a Merkle tree node";
        return -1;
    }

    top = r->nnodes;
    size = r->size;

    for (level = 1; size & 1; level++, size >>= 1) {
        top--;

        if (gw_merkle_node_hash(h, r->nodes[top], cur, cur) != 0) {
            *err = "SHA-256 failed";
            return -1;
        }

        if (emit != NULL && emit(data, level, r->size >> level, cur) != 0) {
            *err = "cannot store a Merkle tree node";
            return -1;
        }
    }

    memcpy(r->nodes[top], cur, GW_MERKLE_HASH_LEN);
    r->nnodes = top + 1;
    r->size++;

    return 0;
}


int
gw_merkle_range_root(gw_merkle_hasher_t *h, const gw_merkle_range_t *r,
    unsigned char *out)
{
    unsigned          i;
    gw_merkle_hash_t  cur;

    if (r->nnodes == 0) {
        gw_merkle_empty_root(out);
        return 0;
    }

    memcpy(cur, r->nodes[r->nnodes - 1], GW_MERKLE_HASH_LEN);

    for (i = r->nnodes - 1; i-- > 0; /* void */) {
        if (gw_merkle_node_hash(h, r->nodes[i], cur, cur) != 0) {
            return -1;
        }
    }

    memcpy(out, cur, GW_MERKLE_HASH_LEN);

    return 0;
}


int
gw_merkle_root(gw_merkle_hasher_t *h, const gw_merkle_source_t *src,
    uint64_t size, unsigned char *out, const char **err)
{
    if (size == 0) {
        gw_merkle_empty_root(out);
        return 0;
    }

    return gw_merkle_range_hash(h, src, 0, size, out, err);
}


int
gw_merkle_inclusion_proof(gw_merkle_hasher_t *h,
    const gw_merkle_source_t *src, uint64_t index, uint64_t size,
    gw_merkle_hash_t *proof, size_t *n, const char **err)
{
    size_t    count;
    uint64_t  k, lo, m;

    *n = 0;

    if (index >= size) {
        *err = "leaf index beyond the tree size";
        return -1;
    }

    count = 0;
    lo = 0;
    m = index;

    while (size > 1) {
        k = gw_merkle_split(size);

        if (m < k) {
            if (gw_merkle_range_hash(h, src, lo + k, size - k,
                                     proof[count], err)
                != 0)
            {
                return -1;
            }

            size = k;

        } else {
            if (gw_merkle_perfect(src, lo, k, proof[count], err) != 0) {
                return -1;
            }

            m -= k;
            lo += k;
            size -= k;
        }

        count++;
    }

    gw_merkle_reverse(proof, count);
    *n = count;

    return 0;
}


int
gw_merkle_consistency_proof(gw_merkle_hasher_t *h,
    const gw_merkle_source_t *src, uint64_t size1, uint64_t size2,
    gw_merkle_hash_t *proof, size_t *n, const char **err)
{
    int       complete;
    size_t    count;
    uint64_t  k, lo, m;

    *n = 0;

    if (size1 == 0) {
        *err = "consistency with the empty tree proves nothing";
        return -1;
    }

    if (size1 > size2) {
        *err = "first tree size beyond the second";
        return -1;
    }

    count = 0;
    lo = 0;
    m = size1;
    complete = 1;       /* SUBPROOF's b: [lo, lo + m) is the old tree */

    while (m != size2) {
        k = gw_merkle_split(size2);

        if (m <= k) {
            if (gw_merkle_range_hash(h, src, lo + k, size2 - k,
                                     proof[count], err)
                != 0)
            {
                return -1;
            }

            size2 = k;

        } else {
            if (gw_merkle_perfect(src, lo, k, proof[count], err) != 0) {
                return -1;
            }

            m -= k;
            lo += k;
            size2 -= k;
            complete = 0;
        }

        count++;
    }

    if (!complete) {
        if (gw_merkle_range_hash(h, src, lo, m, proof[count], err) != 0) {
            return -1;
        }

        count++;
    }

    gw_merkle_reverse(proof, count);
    *n = count;

    return 0;
}


void
gw_merkle_store_init(gw_merkle_store_t *s)
{
    memset(s, 0, sizeof(gw_merkle_store_t));
}


void
gw_merkle_store_free(gw_merkle_store_t *s)
{
    unsigned  l;

    for (l = 0; l < 64; l++) {
        free(s->levels[l]);
    }

    memset(s, 0, sizeof(gw_merkle_store_t));
}


int
gw_merkle_store_emit(void *store, unsigned level, uint64_t index,
    const unsigned char *hash)
{
    uint64_t            cap;
    gw_merkle_store_t  *s;
    gw_merkle_hash_t   *p;

    s = store;

    if (level >= 64 || index != s->counts[level]) {
        return -1;
    }

    if (s->counts[level] == s->caps[level]) {
        cap = s->caps[level] ? s->caps[level] * 2 : 64;

        if (cap > SIZE_MAX / sizeof(gw_merkle_hash_t)) {
            return -1;
        }

        p = realloc(s->levels[level], cap * sizeof(gw_merkle_hash_t));
        if (p == NULL) {
            return -1;
        }

        s->levels[level] = p;
        s->caps[level] = cap;
    }

    memcpy(s->levels[level][index], hash, GW_MERKLE_HASH_LEN);
    s->counts[level]++;

    return 0;
}


int
gw_merkle_store_node(void *store, unsigned level, uint64_t index,
    unsigned char *out)
{
    gw_merkle_store_t  *s;

    s = store;

    if (level >= 64 || index >= s->counts[level]) {
        return -1;
    }

    memcpy(out, s->levels[level][index], GW_MERKLE_HASH_LEN);

    return 0;
}


/*
 * MTH(D[lo:lo + n]) for n >= 1, where lo is a multiple of the smallest
 * power of two not below n: the perfect subtrees of the set bits of n,
 * largest first, folded from the right.
 */

static int
gw_merkle_range_hash(gw_merkle_hasher_t *h, const gw_merkle_source_t *src,
    uint64_t lo, uint64_t n, unsigned char *out, const char **err)
{
    int               level;
    uint64_t          at;
    unsigned          count;
    gw_merkle_hash_t  nodes[64];

    count = 0;
    at = lo;

    for (level = 63; level >= 0; level--) {
        if (n & ((uint64_t) 1 << level)) {
            if (src->node(src->data, level, at >> level, nodes[count]) != 0)
            {
                *err = "Merkle tree node not found";
                return -1;
            }

            at += (uint64_t) 1 << level;
            count++;
        }
    }

    while (count > 1) {
        count--;

        if (gw_merkle_node_hash(h, nodes[count - 1], nodes[count],
                                nodes[count - 1])
            != 0)
        {
            *err = "SHA-256 failed";
            return -1;
        }
    }

    memcpy(out, nodes[0], GW_MERKLE_HASH_LEN);

    return 0;
}


/* the perfect subtree of k (a power of two) leaves at lo */

static int
gw_merkle_perfect(const gw_merkle_source_t *src, uint64_t lo, uint64_t k,
    unsigned char *out, const char **err)
{
    unsigned  level;

    level = gw_merkle_bitlen(k) - 1;

    if (src->node(src->data, level, lo >> level, out) != 0) {
        *err = "Merkle tree node not found";
        return -1;
    }

    return 0;
}


static void
gw_merkle_reverse(gw_merkle_hash_t *proof, size_t n)
{
    size_t            i;
    gw_merkle_hash_t  t;

    for (i = 0; i < n / 2; i++) {
        memcpy(t, proof[i], GW_MERKLE_HASH_LEN);
        memcpy(proof[i], proof[n - 1 - i], GW_MERKLE_HASH_LEN);
        memcpy(proof[n - 1 - i], t, GW_MERKLE_HASH_LEN);
    }
}


/* the largest power of two below n, for n >= 2 */

static uint64_t
gw_merkle_split(uint64_t n)
{
    return (uint64_t) 1 << (gw_merkle_bitlen(n - 1) - 1);
}
