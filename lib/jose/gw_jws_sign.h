
/*
 * Copyright (C) Tollgate
 *
 * JWS compact serialisation, the signing side (RFC 7515), with OpenSSL
 * directly: a signer holds one private key (ES256 on P-256, EdDSA on
 * Ed25519, RS256 on RSA of at least 2048 bits), its kid, and the contexts
 * made once so that each signature costs only the signature itself.  The
 * header is exactly {"alg","typ","kid"}, with the caller's typ kept as
 * given ("at+jwt" stays "at+jwt").  ECDSA signatures are the fixed R || S
 * form of RFC 7518 section 3.4, never DER.
 *
 * A signer is not thread-safe: one per thread (the services have one
 * loop).
 */


#ifndef _GW_JWS_SIGN_H_INCLUDED_
#define _GW_JWS_SIGN_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>
#include "gw_jwa.h"


#define GW_JWS_TYP_MAX  64              /* bytes of a header's typ */


typedef struct gw_jws_signer_s  gw_jws_signer_t;


/*
 * A new private key for alg (GW_ALG_ES256, GW_ALG_EDDSA, GW_ALG_RS256,
 * the last with a 2048-bit modulus); its kid is its RFC 7638 thumbprint,
 * base64url.  NULL with err set otherwise.
 */
gw_jws_signer_t *gw_jws_signer_generate(gw_alg_e alg, char *err,
    size_t errlen);

/*
 * A signer of the PKCS #8 DER private key der (len bytes), which must fit
 * alg as above; kid as gw_jws_signer_generate().  NULL with err set.
 */
gw_jws_signer_t *gw_jws_signer_from_der(gw_alg_e alg,
    const unsigned char *der, size_t len, char *err, size_t errlen);

/*
 * The private key as PKCS #8 DER, malloc()ed, in *der and *len: the
 * caller cleanses and frees it.  0 or -1.
 */
int gw_jws_signer_der(const gw_jws_signer_t *s, unsigned char **der,
    size_t *len);

/* replaces the kid (1 to 255 bytes of [A-Za-z0-9._-]); 0 or -1 */
int gw_jws_signer_set_kid(gw_jws_signer_t *s, const char *kid);

const char *gw_jws_signer_kid(const gw_jws_signer_t *s);
gw_alg_e gw_jws_signer_alg(const gw_jws_signer_t *s);

/*
 * The public JWK: kty, crv and x (and y) or n and e, then kid, alg and
 * "use": "sig".  A new reference, NULL when out of memory.
 */
json_t *gw_jws_signer_jwk(const gw_jws_signer_t *s);

/*
 * Signs payload (len bytes, sent as given) under the header
 * {"alg","typ":typ,"kid"} (typ NULL: none; else at most GW_JWS_TYP_MAX
 * printable ASCII bytes without '"' or '\').  Returns the compact JWS,
 * malloc()ed and NUL-terminated, its length in *out_len; NULL when typ is
 * refused, memory is short or OpenSSL fails (its error queue cleared).
 */
char *gw_jws_sign(gw_jws_signer_t *s, const char *typ,
    const unsigned char *payload, size_t len, size_t *out_len);

/* NULL is fine; the key is freed by OpenSSL, which cleanses it */
void gw_jws_signer_free(gw_jws_signer_t *s);


#endif /* _GW_JWS_SIGN_H_INCLUDED_ */
