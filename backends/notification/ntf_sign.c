
/*
 * Copyright (C) Tollgate
 *
 * Standard Webhooks 1.0 signatures (ntf_sign.h).  A receiver verifies a
 * delivery with any of the signatures the webhook-signature header
 * lists, space-separated; during a secret's rotation the header carries
 * one "v1" per live secret, so a receiver holding either one accepts.
 * The secret's bytes are what follows "whsec_", base64-decoded: that is
 * the HMAC key, as the reference libraries read it.
 */


#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "gw_b64std.h"
#include "ntf_sign.h"


#define NTF_SIGN_SECRET_BYTES   24
#define NTF_SIGN_KEY_BYTES      64      /* seed || public key */


static int ntf_sign_b64(const char *prefix, const unsigned char *bytes,
    size_t len, char *out, size_t size);
static ssize_t ntf_sign_unb64(const char *text, const char *prefix,
    unsigned char *out, size_t size);


int
ntf_sign_secret_new(char *out, size_t size)
{
    unsigned char  key[NTF_SIGN_SECRET_BYTES];

    if (RAND_bytes(key, sizeof(key)) != 1) {
        return -1;
    }

    return ntf_sign_b64("whsec_", key, sizeof(key), out, size);
}


int
ntf_sign_ed25519_new(char *sk, size_t sksize, char *pk, size_t pksize)
{
    int            rc;
    size_t         len;
    EVP_PKEY      *key;
    EVP_PKEY_CTX  *ctx;
    unsigned char  raw[NTF_SIGN_KEY_BYTES];

    rc = -1;
    key = NULL;

    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (ctx == NULL) {
        return -1;
    }

    if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1) {
        goto done;
    }

    len = 32;
    if (EVP_PKEY_get_raw_private_key(key, raw, &len) != 1 || len != 32) {
        goto done;
    }

    len = 32;
    if (EVP_PKEY_get_raw_public_key(key, raw + 32, &len) != 1 || len != 32)
    {
        goto done;
    }

    if (ntf_sign_b64("whsk_", raw, 64, sk, sksize) != 0
        || ntf_sign_b64("whpk_", raw + 32, 32, pk, pksize) != 0)
    {
        goto done;
    }

    rc = 0;

done:

    OPENSSL_cleanse(raw, sizeof(raw));
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);

    return rc;
}


int
ntf_sign_v1(const char *secret, const char *content, size_t len, char *out,
    size_t size)
{
    int            rc;
    ssize_t        klen;
    unsigned int   mlen;
    unsigned char  key[NTF_SIGN_SECRET_MAX], mac[EVP_MAX_MD_SIZE];

    klen = ntf_sign_unb64(secret, "whsec_", key, sizeof(key));
    if (klen <= 0) {
        return -1;
    }

    if (HMAC(EVP_sha256(), key, (int) klen, (const unsigned char *) content,
             len, mac, &mlen)
        == NULL)
    {
        OPENSSL_cleanse(key, sizeof(key));
        return -1;
    }

    OPENSSL_cleanse(key, sizeof(key));

    rc = ntf_sign_b64("v1,", mac, mlen, out, size);

    return rc;
}


int
ntf_sign_v1a(const char *key, const char *content, size_t len, char *out,
    size_t size)
{
    int            rc;
    size_t         slen;
    ssize_t        klen;
    EVP_PKEY      *pkey;
    EVP_MD_CTX    *md;
    unsigned char  raw[NTF_SIGN_SECRET_MAX], sig[64];

    klen = ntf_sign_unb64(key, "whsk_", raw, sizeof(raw));
    if (klen != NTF_SIGN_KEY_BYTES) {
        return -1;
    }

    rc = -1;
    md = NULL;

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
    OPENSSL_cleanse(raw, sizeof(raw));

    if (pkey == NULL) {
        return -1;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        goto done;
    }

    slen = sizeof(sig);

    if (EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1
        || EVP_DigestSign(md, sig, &slen, (const unsigned char *) content,
                          len)
           != 1)
    {
        goto done;
    }

    rc = ntf_sign_b64("v1a,", sig, slen, out, size);

done:

    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);

    return rc;
}


/* prefix + base64(bytes) into out; -1 when it does not fit */
static int
ntf_sign_b64(const char *prefix, const unsigned char *bytes, size_t len,
    char *out, size_t size)
{
    size_t  plen, n;

    plen = strlen(prefix);

    if (plen + gw_b64std_encoded_len(len) + 1 > size) {
        return -1;
    }

    memcpy(out, prefix, plen);
    n = gw_b64std_encode((unsigned char *) out + plen, bytes, len);
    out[plen + n] = '\0';

    return 0;
}


/* the bytes of prefix + base64; -1 when malformed or too long */
static ssize_t
ntf_sign_unb64(const char *text, const char *prefix, unsigned char *out,
    size_t size)
{
    size_t  plen, len;

    plen = strlen(prefix);

    if (text == NULL || strncmp(text, prefix, plen) != 0) {
        return -1;
    }

    text += plen;
    len = strlen(text);

    if (len % 4 != 0 || gw_b64std_decoded_max(len) > size) {
        return -1;
    }

    return gw_b64std_decode(out, (const unsigned char *) text, len);
}
