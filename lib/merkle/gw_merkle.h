
/*
 * Copyright (C) Tollgate
 *
 * The audit log's tamper evidence: an RFC 9162 (RFC 6962) Merkle tree of
 * SHA-256 over the records, with inclusion and consistency proofs, and a
 * hash chain beside it.
 *
 *   leaf hash    SHA-256(0x00 || record)
 *   node hash    SHA-256(0x01 || left || right)
 *   empty tree   SHA-256("")
 *   chain        c(-1) = 32 zero bytes,
 *                c(i)  = SHA-256(0x02 || c(i - 1) || leaf hash(i))
 *
 * The chain's 0x02 keeps its inputs apart from the tree's two.  A tree is
 * grown through a compact range: the roots of the perfect subtrees that
 * make up its leaves, one per set bit of its size, so that appending is
 * O(log n) and the root of the current size is always at hand.  Each node
 * a perfect subtree completes can be handed to a callback, which is how a
 * store (a file, or gw_merkle_store_t in memory) learns every node once.
 *
 * Proofs are generated from such a store through gw_merkle_source_t: the
 * hash of the perfect subtree of 2^level leaves that starts at leaf
 * index * 2^level.  Any root and any proof then costs O(log n) lookups.
 *
 * Hashing goes through a gw_merkle_hasher_t, which keeps one OpenSSL
 * digest context alive: a fresh context per hash costs three times as
 * much.  Every function accepts NULL instead, for a one-off call.  A
 * hasher belongs to one thread at a time.
 */


#ifndef _GW_MERKLE_H_INCLUDED_
#define _GW_MERKLE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_MERKLE_HASH_LEN   32
#define GW_MERKLE_MAX_PROOF  65         /* hashes in any proof, any size */


typedef struct gw_merkle_hasher_s  gw_merkle_hasher_t;

typedef unsigned char  gw_merkle_hash_t[GW_MERKLE_HASH_LEN];


/* a completed node: the perfect subtree of 2^level leaves at index */
typedef int (*gw_merkle_emit_pt)(void *data, unsigned level, uint64_t index,
    const unsigned char *hash);


typedef struct {
    uint64_t          size;             /* leaves appended */
    unsigned          nnodes;           /* popcount(size) */
    gw_merkle_hash_t  nodes[64];        /* largest subtree first */
} gw_merkle_range_t;


typedef struct {
    /* writes the node's hash to out; 0, or -1 when it cannot */
    int             (*node)(void *data, unsigned level, uint64_t index,
                            unsigned char *out);
    void             *data;
} gw_merkle_source_t;


/* every node of a tree in memory: level l holds size >> l hashes */
typedef struct {
    gw_merkle_hash_t  *levels[64];
    uint64_t           counts[64];
    uint64_t           caps[64];
} gw_merkle_store_t;


/* a hash as it arrives from outside, of any length */
typedef struct {
    const unsigned char  *data;
    size_t                len;
} gw_merkle_bytes_t;


gw_merkle_hasher_t *gw_merkle_hasher_new(void);
void gw_merkle_hasher_free(gw_merkle_hasher_t *h);

/* out = SHA-256(0x00 || data); 0, or -1 when OpenSSL fails */
int gw_merkle_leaf_hash(gw_merkle_hasher_t *h, const unsigned char *data,
    size_t len, unsigned char *out);

/* out = SHA-256(0x01 || left || right) */
int gw_merkle_node_hash(gw_merkle_hasher_t *h, const unsigned char *left,
    const unsigned char *right, unsigned char *out);

/* out = SHA-256(0x02 || prev || leaf); prev of the first record: zeros */
int gw_merkle_chain_hash(gw_merkle_hasher_t *h, const unsigned char *prev,
    const unsigned char *leaf, unsigned char *out);

/* the root of the empty tree, SHA-256("") */
void gw_merkle_empty_root(unsigned char *out);


void gw_merkle_range_init(gw_merkle_range_t *r);

/*
 * Appends a leaf hash.  emit, when not NULL, gets the leaf (level 0) and
 * then each node the leaf completes, lowest first; an emit that returns
 * non-zero stops the append, which leaves r unchanged.  Returns 0, or -1
 * with *err (a full tree of 2^64 - 1 leaves, a hash or emit failure).
 */
int gw_merkle_range_append(gw_merkle_hasher_t *h, gw_merkle_range_t *r,
    const unsigned char *leaf, gw_merkle_emit_pt emit, void *data,
    const char **err);

/* the root of the r->size leaves appended so far */
int gw_merkle_range_root(gw_merkle_hasher_t *h, const gw_merkle_range_t *r,
    unsigned char *out);


/*
 * The root of the first size leaves of src (size 0: the empty root).
 * Returns 0, or -1 with *err when a lookup or a hash fails.
 */
int gw_merkle_root(gw_merkle_hasher_t *h, const gw_merkle_source_t *src,
    uint64_t size, unsigned char *out, const char **err);

/*
 * RFC 9162 section 2.1.3.1: the inclusion proof of leaf index in the tree
 * of the first size leaves of src, lowest sibling first, into proof
 * (GW_MERKLE_MAX_PROOF hashes); *n gets the count.  Rejects index >= size.
 */
int gw_merkle_inclusion_proof(gw_merkle_hasher_t *h,
    const gw_merkle_source_t *src, uint64_t index, uint64_t size,
    gw_merkle_hash_t *proof, size_t *n, const char **err);

/*
 * RFC 9162 section 2.1.4.1: the consistency proof from size1 to size2
 * leaves of src, into proof (GW_MERKLE_MAX_PROOF hashes).  Rejects
 * size1 == 0 (nothing to prove) and size1 > size2; equal sizes give an
 * empty proof.
 */
int gw_merkle_consistency_proof(gw_merkle_hasher_t *h,
    const gw_merkle_source_t *src, uint64_t size1, uint64_t size2,
    gw_merkle_hash_t *proof, size_t *n, const char **err);

/*
 * RFC 9162 section 2.1.3.2.  Accepts the proof only when it has exactly
 * the number of hashes that index and size call for and leads from leaf
 * to root.  Returns 0, or -1 with *err.
 */
int gw_merkle_verify_inclusion(gw_merkle_hasher_t *h, uint64_t index,
    uint64_t size, const unsigned char *leaf, const gw_merkle_hash_t *proof,
    size_t n, const unsigned char *root, const char **err);

/*
 * RFC 9162 section 2.1.4.2, with the sizes checked first: size1 == 0 is
 * rejected (a consistency proof from the empty tree proves nothing),
 * size1 > size2 too, equal sizes need an empty proof and equal roots,
 * and otherwise the proof must have exactly the expected length.
 */
int gw_merkle_verify_consistency(gw_merkle_hasher_t *h, uint64_t size1,
    uint64_t size2, const unsigned char *root1, const unsigned char *root2,
    const gw_merkle_hash_t *proof, size_t n, const char **err);

/*
 * The same two checks for hashes as they came from outside (decoded from
 * base64, say), each of any length: a leaf or proof hash that is not 32
 * bytes is rejected; roots are compared as byte strings, so a root of
 * another length never matches a computed one.
 */
int gw_merkle_verify_inclusion_bytes(gw_merkle_hasher_t *h, uint64_t index,
    uint64_t size, gw_merkle_bytes_t leaf, const gw_merkle_bytes_t *proof,
    size_t n, gw_merkle_bytes_t root, const char **err);

int gw_merkle_verify_consistency_bytes(gw_merkle_hasher_t *h,
    uint64_t size1, uint64_t size2, gw_merkle_bytes_t root1,
    gw_merkle_bytes_t root2, const gw_merkle_bytes_t *proof, size_t n,
    const char **err);


void gw_merkle_store_init(gw_merkle_store_t *s);
void gw_merkle_store_free(gw_merkle_store_t *s);

/*
 * A gw_merkle_emit_pt for a store s: records the node.  Nodes must come
 * in the order gw_merkle_range_append() emits them (each level's indexes
 * one by one from 0); -1 for another order or when out of memory.
 */
int gw_merkle_store_emit(void *store, unsigned level, uint64_t index,
    const unsigned char *hash);

/* a gw_merkle_source_t node(): -1 for a node not (yet) stored */
int gw_merkle_store_node(void *store, unsigned level, uint64_t index,
    unsigned char *out);


#endif /* _GW_MERKLE_H_INCLUDED_ */
