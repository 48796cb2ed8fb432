
/*
 * Copyright (C) Tollgate
 *
 * Verification keys and key sets.  A key set is what one key file yields:
 * a PEM public key or certificate, a JWK, a JWKS, or a raw HMAC secret.
 * Every key carries the mask of algorithms it may verify, derived from its
 * type and size (and narrowed by a JWK "alg" member or by configuration),
 * so the signature layer never asks a token which kind of key it holds.
 *
 * Keys are loaded at configuration time or by a timer, never per request.
 * Caps: a key file is at most GW_KEY_FILE_MAX bytes and a JWKS holds at most
 * GW_KEYSET_MAX keys; RSA moduli are at least 2048 bits; HMAC secrets are at
 * least 32 bytes, and HS384/HS512 need 48/64 bytes (RFC 7518 section 3.2).
 */


#ifndef _GW_JWK_H_INCLUDED_
#define _GW_JWK_H_INCLUDED_


#include <stddef.h>
#include "gw_jwa.h"


#define GW_KEY_FILE_MAX  (1024 * 1024)
#define GW_KEYSET_MAX    64
#define GW_KID_MAX       256
#define GW_KEY_FP_LEN    32


typedef enum {
    GW_KEY_HMAC = 1,
    GW_KEY_RSA,
    GW_KEY_EC,
    GW_KEY_OKP
} gw_key_type_e;


typedef enum {
    GW_KEY_FMT_AUTO = 0,        /* PEM if it starts "-----BEGIN" (after
                                   white space), else JSON */
    GW_KEY_FMT_PEM,
    GW_KEY_FMT_JWK,             /* a JWK or a JWKS ({"keys": [...]}) */
    GW_KEY_FMT_HMAC             /* raw secret bytes; one trailing newline
                                   ("\n" or "\r\n") is dropped */
} gw_key_format_e;


typedef struct {
    gw_key_type_e   type;
    unsigned        algs;           /* GW_ALG_BIT() mask it may verify */
    char            kid[GW_KID_MAX + 1];
    size_t          kid_len;
    unsigned        has_kid;
    void           *pkey;           /* EVP_PKEY *, asymmetric keys */
    unsigned char  *secret;         /* HMAC keys */
    size_t          secret_len;
    unsigned char   fp[GW_KEY_FP_LEN];  /* RFC 7638 thumbprint, SHA-256:
                                           one per key, whatever its form */

    /*
     * Verification contexts made ready for this key, one per algorithm,
     * created by the first gw_jws_verify() in a process and freed with
     * the key (gw_jws_vctx_free()): the HMAC inner and outer digest
     * states of the secret, EVP_PKEY_CTX * set up to verify a digest
     * (RSA, ECDSA).  NULL until used; a cache, not part of the key's
     * value, so it may change through a const key.
     */
    void           *vctx[GW_ALG_COUNT];
} gw_jwk_t;


typedef struct {
    gw_jwk_t       *keys;
    size_t          nkeys;
    size_t          nalloc;
} gw_keyset_t;


/*
 * Parses data (len bytes) in format fmt and appends its keys to ks, which
 * starts zeroed.  kid, when not NULL, names a key that has none of its own
 * (PEM, HMAC, or a JWK without "kid").  algs, when not 0, narrows every
 * loaded key's mask to it; a key left with no algorithm is an error.
 * PEM data may hold several "PUBLIC KEY" and "CERTIFICATE" blocks; any
 * other block (a private key first of all) is an error.
 * In a JWKS, keys with "use" other than "sig", or "key_ops" without
 * "verify", or of a "kty", curve or "alg" we do not implement, are skipped
 * (RFC 7517 section 5); a malformed or weak key fails the whole load, and
 * so does a load that yields no key.
 * Returns 0, or -1 with a one-line reason in err (never key material),
 * leaving ks as it was.
 */
int gw_keyset_load(gw_keyset_t *ks, const unsigned char *data, size_t len,
    gw_key_format_e fmt, const char *kid, unsigned algs, char *err,
    size_t errlen);

/* Reads path (capped at GW_KEY_FILE_MAX) and calls gw_keyset_load(). */
int gw_keyset_load_file(gw_keyset_t *ks, const char *path,
    gw_key_format_e fmt, const char *kid, unsigned algs, char *err,
    size_t errlen);

/* Frees every key of ks and zeroes it; secrets are cleansed first. */
void gw_keyset_free(gw_keyset_t *ks);

/*
 * Iterates the keys of ks that may verify alg: with a kid (kid != NULL),
 * only keys whose kid is byte-equal to it; without one, every fitting key.
 * *i starts at 0 and is advanced; returns NULL when there are no more.
 */
const gw_jwk_t *gw_keyset_next(const gw_keyset_t *ks, size_t *i,
    const char *kid, size_t kid_len, gw_alg_e alg);


#endif /* _GW_JWK_H_INCLUDED_ */
