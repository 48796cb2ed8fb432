
/*
 * Copyright (C) Tollgate
 *
 * Subscriptions' secrets, sealed (ntf_subs.h).  A signing secret is
 * stored sealed: AES-256-GCM under the key of secret_key_file, a fresh
 * 96-bit nonce each time, the subscription id as additional data (a
 * sealed secret copied onto another subscription does not open),
 * stored as base64(nonce || ciphertext || tag).  The key file must hold
 * 64 hex digits and be readable by its owner only: the service refuses
 * to start otherwise, since a key anyone on the host can read protects
 * nothing.  The key lives in this file only, and every buffer that held
 * it or a secret is cleansed.
 */


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gw_b64std.h"
#include "ntf_subs.h"


#define NTF_SUBS_NONCE      12
#define NTF_SUBS_TAG        16


static unsigned char     ntf_subs_key[32];


int
ntf_subs_seal_configure(gw_svc_t *svc)
{
    const char  *path;

    path = gw_svc_conf_str(svc, "secret_key_file");

    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "secret_key_file: required (64 hex digits)\n");
        return -1;
    }

    return gw_svc_secret_key("secret_key_file", path, ntf_subs_key);
}


/* secret sealed for sid into out: base64(nonce || ciphertext || tag) */
int
ntf_subs_seal(const char *sid, const char *secret, char *out, size_t size)
{
    int              ok, len;
    size_t           slen;
    EVP_CIPHER_CTX  *c;
    unsigned char    buf[NTF_SUBS_NONCE + NTF_SIGN_SECRET_MAX
                         + NTF_SUBS_TAG];

    slen = strlen(secret);

    if (slen > NTF_SIGN_SECRET_MAX
        || gw_b64std_encoded_len(NTF_SUBS_NONCE + slen + NTF_SUBS_TAG) + 1
           > size
        || RAND_bytes(buf, NTF_SUBS_NONCE) != 1)
    {
        return -1;
    }

    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        return -1;
    }

    ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NTF_SUBS_NONCE,
                                NULL) == 1
         && EVP_EncryptInit_ex(c, NULL, NULL, ntf_subs_key, buf) == 1
         && EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *) sid,
                              (int) strlen(sid)) == 1
         && EVP_EncryptUpdate(c, buf + NTF_SUBS_NONCE, &len,
                              (const unsigned char *) secret, (int) slen)
            == 1
         && EVP_EncryptFinal_ex(c, buf + NTF_SUBS_NONCE + len, &len) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, NTF_SUBS_TAG,
                                buf + NTF_SUBS_NONCE + slen) == 1;

    EVP_CIPHER_CTX_free(c);

    if (!ok) {
        return -1;
    }

    len = (int) gw_b64std_encode((unsigned char *) out, buf,
                                 NTF_SUBS_NONCE + slen + NTF_SUBS_TAG);
    out[len] = '\0';

    return 0;
}


int
ntf_subs_unseal(const char *sid, const char *sealed, char *out, size_t size)
{
    int              ok, len;
    size_t           slen;
    ssize_t          n;
    EVP_CIPHER_CTX  *c;
    unsigned char    buf[NTF_SUBS_NONCE + NTF_SIGN_SECRET_MAX
                         + NTF_SUBS_TAG + 4];

    slen = strlen(sealed);

    if (slen % 4 != 0 || gw_b64std_decoded_max(slen) > sizeof(buf)) {
        return -1;
    }

    n = gw_b64std_decode(buf, (const unsigned char *) sealed, slen);
    if (n < NTF_SUBS_NONCE + NTF_SUBS_TAG + 1
        || (size_t) n - NTF_SUBS_NONCE - NTF_SUBS_TAG + 1 > size)
    {
        return -1;
    }

    slen = n - NTF_SUBS_NONCE - NTF_SUBS_TAG;

    c = EVP_CIPHER_CTX_new();
    if (c == NULL) {
        return -1;
    }

    ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NTF_SUBS_NONCE,
                                NULL) == 1
         && EVP_DecryptInit_ex(c, NULL, NULL, ntf_subs_key, buf) == 1
         && EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *) sid,
                              (int) strlen(sid)) == 1
         && EVP_DecryptUpdate(c, (unsigned char *) out, &len,
                              buf + NTF_SUBS_NONCE, (int) slen) == 1
         && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, NTF_SUBS_TAG,
                                buf + NTF_SUBS_NONCE + slen) == 1
         && EVP_DecryptFinal_ex(c, (unsigned char *) out + len, &len) == 1;

    EVP_CIPHER_CTX_free(c);

    if (!ok) {
        OPENSSL_cleanse(out, size);
        return -1;
    }

    out[slen] = '\0';

    return 0;
}
