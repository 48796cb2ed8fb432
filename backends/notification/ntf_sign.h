
/*
 * Copyright (C) Tollgate
 *
 * Standard Webhooks 1.0 signatures (ntf_sign.c): the symmetric "v1"
 * (HMAC-SHA256 under a "whsec_" secret) and the asymmetric "v1a"
 * (Ed25519 under a "whsk_" key, verified with its "whpk_" public key),
 * both over "<webhook-id>.<webhook-timestamp>.<body>".
 */


#ifndef _NTF_SIGN_H_INCLUDED_
#define _NTF_SIGN_H_INCLUDED_


#include <stddef.h>


#define NTF_SIGN_SECRET_MAX     128     /* a whsec_/whsk_/whpk_ text */
#define NTF_SIGN_MAX            96      /* "v1a," + base64 of 64 bytes */


/* a new "whsec_" + base64(24 random bytes); 0 or -1 */
int ntf_sign_secret_new(char *out, size_t size);

/*
 * A new Ed25519 key pair: sk "whsk_" + base64(seed || public key, 64
 * bytes), pk "whpk_" + base64(public key, 32 bytes); 0 or -1.
 */
int ntf_sign_ed25519_new(char *sk, size_t sksize, char *pk, size_t pksize);

/*
 * The signature of content (id.timestamp.body) as the header lists it:
 * "v1,<base64>" under secret ("whsec_..."), or "v1a,<base64>" under key
 * ("whsk_...").  0, or -1 when the secret or key is malformed.
 */
int ntf_sign_v1(const char *secret, const char *content, size_t len,
    char *out, size_t size);
int ntf_sign_v1a(const char *key, const char *content, size_t len,
    char *out, size_t size);


#endif /* _NTF_SIGN_H_INCLUDED_ */
