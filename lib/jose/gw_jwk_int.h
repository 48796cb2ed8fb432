
/*
 * Copyright (C) Tollgate
 *
 * Private to lib/jose: what gw_jwk.c (key sets, PEM, HMAC, selection) and
 * gw_jwk_json.c (JWK and JWKS parsing) share.  The JSON side only parses;
 * the key constructors below decide a key's type, algorithm mask and
 * fingerprint, so that decision is made in one place for every input form.
 * Nothing outside these two files and gw_jws_verify.c, which makes and
 * frees a key's verification contexts, includes this header.
 */


#ifndef _GW_JWK_INT_H_INCLUDED_
#define _GW_JWK_INT_H_INCLUDED_


#include <stddef.h>
#include <openssl/evp.h>
#include "gw_jwa.h"
#include "gw_jwk.h"


#define GW_RSA_MIN_BITS   2048
#define GW_RSA_E_MAX_BITS 64        /* public exponents in use: 3, 65537 */


typedef struct {
    const char     *crv;            /* JOSE name */
    const char     *group;          /* OpenSSL name */
    size_t          size;           /* bytes of one coordinate */
    gw_alg_e        alg;
} gw_jwk_curve_t;


/* The EC curve of JOSE name crv ("P-256", ...), or NULL if unsupported. */
const gw_jwk_curve_t *gw_jwk_curve_by_crv(const char *crv);

/* Parses a JWK or a JWKS into ks (gw_jwk_json.c); 0, or -1 with err set. */
int gw_keyset_load_json(gw_keyset_t *ks, const unsigned char *data,
    size_t len, char *err, size_t errlen);

/* Appends a copy of *key, which then belongs to ks; 0 or -1 when full. */
int gw_keyset_push(gw_keyset_t *ks, gw_jwk_t *key);

/*
 * Sets key's type, algorithms and fingerprint from pkey, which it takes in
 * every case (freed on error); 0, or -1 with *reason set.
 */
int gw_jwk_set_pkey(gw_jwk_t *key, EVP_PKEY *pkey, const char **reason);

/*
 * Sets key->fp to the RFC 7638 thumbprint of pkey, or of key->secret for
 * an HMAC key (gw_jwk_fp.c); crv is the EC curve, else NULL.  0 or -1.
 */
int gw_jwk_thumbprint(gw_jwk_t *key, EVP_PKEY *pkey,
    const gw_jwk_curve_t *crv);

/* Copies an HMAC secret into key; 0, or -1 with *reason set. */
int gw_jwk_set_secret(gw_jwk_t *key, const unsigned char *secret,
    size_t len, const char **reason);

/*
 * Frees the verification contexts gw_jws_verify() made for key (vctx),
 * and sets them to NULL (gw_jws_verify.c).
 */
void gw_jws_vctx_free(gw_jwk_t *key);

/* Frees key's material (secrets cleansed) and zeroes it. */
void gw_jwk_free(gw_jwk_t *key);

/* vsnprintf() into err unless err is NULL or errlen is 0. */
void gw_jwk_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


#endif /* _GW_JWK_INT_H_INCLUDED_ */
