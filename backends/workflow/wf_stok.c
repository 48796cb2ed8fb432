
/*
 * Copyright (C) Tollgate
 *
 * The caller's token, kept with an execution (docs/workflow.md, "Task
 * resources", tollgate:http's "auth"): the bearer token a start carried
 * is what a task later exchanges at the identity service for a token of
 * its own audience.  Redis must never hold it in clear: it is sealed
 * with AES-256-GCM under a key of its own, HMAC-SHA256(wf.key,
 * "workflow subject token") (never the master key itself, which signs
 * task tokens), with a random 96-bit nonce per value and the execution's
 * root id as associated data, so a sealed token copied into another
 * execution's hash does not open there.  A Parallel's or Map's children
 * share their root's, so its sealed copy; a child workflow (a top
 * execution of its own) gets the token sealed again under its own id.
 *
 * The stored text: "v1:" and the hex of nonce, ciphertext and tag.
 * Every copy of a key or of the clear token is cleansed after use.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "wf.h"


#define WF_STOK_NONCE   12
#define WF_STOK_TAG     16
#define WF_STOK_LABEL   "workflow subject token"


static int wf_stok_key(unsigned char *key);


static int
wf_stok_key(unsigned char *key)
{
    unsigned int  n;

    n = 32;

    if (HMAC(EVP_sha256(), wf.key, sizeof(wf.key),
             (const unsigned char *) WF_STOK_LABEL,
             sizeof(WF_STOK_LABEL) - 1, key, &n)
        == NULL || n != 32)
    {
        OPENSSL_cleanse(key, 32);
        return -1;
    }

    return 0;
}


int
wf_stok_seal(const char *tok, size_t len, const char *aad, char **out)
{
    int              n, rc;
    char            *text;
    size_t           i, total;
    unsigned char    key[32], *buf;
    EVP_CIPHER_CTX  *ctx;

    static const char  hex[] = "0123456789abcdef";

    *out = NULL;

    if (len == 0 || len > WF_STOK_MAX) {
        return -1;
    }

    total = WF_STOK_NONCE + len + WF_STOK_TAG;
    buf = malloc(total);
    text = malloc(3 + 2 * total + 1);
    ctx = EVP_CIPHER_CTX_new();
    rc = -1;

    if (buf == NULL || text == NULL || ctx == NULL
        || wf_stok_key(key) != 0)
    {
        goto done;
    }

    if (RAND_bytes(buf, WF_STOK_NONCE) != 1
        || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, WF_STOK_NONCE,
                               NULL) != 1
        || EVP_EncryptInit_ex(ctx, NULL, NULL, key, buf) != 1
        || EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *) aad,
                             (int) strlen(aad)) != 1
        || EVP_EncryptUpdate(ctx, buf + WF_STOK_NONCE, &n,
                             (const unsigned char *) tok, (int) len) != 1
        || (size_t) n != len
        || EVP_EncryptFinal_ex(ctx, buf + WF_STOK_NONCE + len, &n) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WF_STOK_TAG,
                               buf + WF_STOK_NONCE + len) != 1)
    {
        goto done;
    }

    memcpy(text, "v1:", 3);

    for (i = 0; i < total; i++) {
        text[3 + 2 * i] = hex[buf[i] >> 4];
        text[3 + 2 * i + 1] = hex[buf[i] & 0x0f];
    }

    text[3 + 2 * total] = '\0';
    *out = text;
    text = NULL;
    rc = 0;

done:

    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    free(text);

    return rc;
}


int
wf_stok_open(const char *sealed, const char *aad, char **tok)
{
    int              n, rc, hi, lo;
    char            *clear;
    size_t           i, slen, total, len;
    unsigned char    key[32], *buf;
    EVP_CIPHER_CTX  *ctx;

    *tok = NULL;

    slen = strlen(sealed);

    if (slen < 3 || strncmp(sealed, "v1:", 3) != 0 || (slen - 3) % 2 != 0)
    {
        return -1;
    }

    total = (slen - 3) / 2;

    if (total <= WF_STOK_NONCE + WF_STOK_TAG
        || total > WF_STOK_NONCE + WF_STOK_MAX + WF_STOK_TAG)
    {
        return -1;
    }

    len = total - WF_STOK_NONCE - WF_STOK_TAG;
    buf = malloc(total);
    clear = calloc(1, len + 1);   /* NUL-ended whatever happens */
    ctx = EVP_CIPHER_CTX_new();
    rc = -1;
    key[0] = 0;

    if (buf == NULL || clear == NULL || ctx == NULL) {
        goto done;
    }

    for (i = 0; i < total; i++) {
        hi = OPENSSL_hexchar2int((unsigned char) sealed[3 + 2 * i]);
        lo = OPENSSL_hexchar2int((unsigned char) sealed[3 + 2 * i + 1]);

        if (hi < 0 || lo < 0) {
            goto done;
        }

        buf[i] = (unsigned char) (hi << 4 | lo);
    }

    if (wf_stok_key(key) != 0
        || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, WF_STOK_NONCE,
                               NULL) != 1
        || EVP_DecryptInit_ex(ctx, NULL, NULL, key, buf) != 1
        || EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *) aad,
                             (int) strlen(aad)) != 1
        || EVP_DecryptUpdate(ctx, (unsigned char *) clear, &n,
                             buf + WF_STOK_NONCE, (int) len) != 1
        || (size_t) n != len
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WF_STOK_TAG,
                               buf + WF_STOK_NONCE + len) != 1
        || EVP_DecryptFinal_ex(ctx, (unsigned char *) clear + len, &n) != 1)
    {
        goto done;
    }

    clear[len] = '\0';

    if (strlen(clear) != len) {
        goto done;
    }

    *tok = clear;
    clear = NULL;
    rc = 0;

done:

    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    wf_stok_free(clear);

    return rc;
}


void
wf_stok_free(char *tok)
{
    if (tok != NULL) {
        OPENSSL_cleanse(tok, strlen(tok));
        free(tok);
    }
}
