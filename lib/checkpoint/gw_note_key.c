
/*
 * Copyright (C) Tollgate
 *
 * Note keys as text, in the format of golang.org/x/mod/sumdb/note:
 * "name+id+base64(0x01 || key)" for a verifier, the same after
 * "PRIVATE+KEY+" for a signer, whose key is the 32-byte Ed25519 seed.
 * A key is accepted only when its text is the one it would be written
 * as: lower-case hex, canonical base64, and the key ID that the name and
 * public key give, so a key file cannot name one key and hold another.
 * Private bytes are wiped from the stack and from a freed key.
 */


#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "gw_b64std.h"
#include "gw_note.h"


#define GW_NOTE_PRIVATE   "PRIVATE+KEY+"
#define GW_NOTE_PRIV_LEN  12


static int gw_note_key_split(const unsigned char *text, size_t len,
    const unsigned char **name, size_t *name_len, uint32_t *id,
    unsigned char *raw, const char **err);
static int gw_note_vkey_init(gw_note_vkey_t *key, const unsigned char *name,
    size_t len, const unsigned char *pub, const char **err);
static int gw_note_skey_init(gw_note_skey_t *key, const unsigned char *name,
    size_t len, const char **err);


uint32_t
gw_note_key_id(const unsigned char *name, size_t len,
    const unsigned char *pub)
{
    unsigned char  alg, md[32];
    EVP_MD_CTX    *ctx;

    alg = GW_NOTE_ALG_ED25519;
    memset(md, 0, sizeof(md));

    ctx = EVP_MD_CTX_new();

    if (ctx == NULL
        || EVP_DigestInit_ex2(ctx, EVP_sha256(), NULL) != 1
        || EVP_DigestUpdate(ctx, name, len) != 1
        || EVP_DigestUpdate(ctx, "\n", 1) != 1
        || EVP_DigestUpdate(ctx, &alg, 1) != 1
        || EVP_DigestUpdate(ctx, pub, 32) != 1
        || EVP_DigestFinal_ex(ctx, md, NULL) != 1)
    {
        ERR_clear_error();
    }

    EVP_MD_CTX_free(ctx);

    return ((uint32_t) md[0] << 24) | ((uint32_t) md[1] << 16)
           | ((uint32_t) md[2] << 8) | md[3];
}


int
gw_note_vkey_parse(gw_note_vkey_t *key, const unsigned char *text,
    size_t len, const char **err)
{
    size_t                name_len;
    uint32_t              id;
    unsigned char         raw[33];
    const unsigned char  *name;

    memset(key, 0, sizeof(gw_note_vkey_t));

    if (gw_note_key_split(text, len, &name, &name_len, &id, raw, err) != 0)
    {
        return -1;
    }

    if (gw_note_vkey_init(key, name, name_len, raw + 1, err) != 0) {
        return -1;
    }

    if (key->id != id) {
        gw_note_vkey_free(key);
        *err = "key ID does not match the key";
        return -1;
    }

    return 0;
}


int
gw_note_skey_parse(gw_note_skey_t *key, const unsigned char *text,
    size_t len, const char **err)
{
    int                   rc;
    size_t                name_len;
    uint32_t              id;
    unsigned char         raw[33];
    const unsigned char  *name;

    memset(key, 0, sizeof(gw_note_skey_t));

    if (len < GW_NOTE_PRIV_LEN
        || memcmp(text, GW_NOTE_PRIVATE, GW_NOTE_PRIV_LEN) != 0)
    {
        *err = "signer key does not start with PRIVATE+KEY+";
        return -1;
    }

    if (gw_note_key_split(text + GW_NOTE_PRIV_LEN, len - GW_NOTE_PRIV_LEN,
                          &name, &name_len, &id, raw, err)
        != 0)
    {
        return -1;
    }

    memcpy(key->seed, raw + 1, 32);
    OPENSSL_cleanse(raw, sizeof(raw));

    rc = gw_note_skey_init(key, name, name_len, err);

    if (rc == 0 && key->vkey.id != id) {
        gw_note_skey_free(key);
        *err = "key ID does not match the key";
        return -1;
    }

    return rc;
}


/* "name+xxxxxxxx+base64(0x01 || 32 bytes)"; raw gets the 33 bytes */

static int
gw_note_key_split(const unsigned char *text, size_t len,
    const unsigned char **name, size_t *name_len, uint32_t *id,
    unsigned char *raw, const char **err)
{
    size_t                i;
    unsigned char         buf[gw_b64std_decoded_max(44)];
    const unsigned char  *plus, *hex, *b64, *end;

    end = text + len;

    plus = memchr(text, '+', len);
    if (plus == NULL || end - plus < 10 || plus[9] != '+') {
        *err = "key is not name+id+key";
        return -1;
    }

    if ((size_t) (plus - text) > GW_NOTE_NAME_MAX
        || gw_note_name_check(text, plus - text) != 0)
    {
        *err = "key has an invalid name";
        return -1;
    }

    hex = plus + 1;
    *id = 0;

    for (i = 0; i < 8; i++) {
        if (hex[i] >= '0' && hex[i] <= '9') {
            *id = (*id << 4) | (uint32_t) (hex[i] - '0');

        } else if (hex[i] >= 'a' && hex[i] <= 'f') {
            *id = (*id << 4) | (uint32_t) (hex[i] - 'a' + 10);

        } else {
            *err = "key ID is not 8 lower-case hex digits";
            return -1;
        }
    }

    b64 = hex + 9;

    if (end - b64 != 44 || gw_b64std_decode(buf, b64, 44) != 33) {
        *err = "key is not base64 of 33 bytes";
        return -1;
    }

    if (buf[0] != GW_NOTE_ALG_ED25519) {
        OPENSSL_cleanse(buf, sizeof(buf));
        *err = "key is not an Ed25519 key";
        return -1;
    }

    memcpy(raw, buf, 33);
    OPENSSL_cleanse(buf, sizeof(buf));

    *name = text;
    *name_len = plus - text;

    return 0;
}


int
gw_note_skey_generate(gw_note_skey_t *key, const unsigned char *name,
    size_t len, const char **err)
{
    size_t     n;
    EVP_PKEY  *pkey;

    memset(key, 0, sizeof(gw_note_skey_t));

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    n = sizeof(key->seed);

    if (pkey == NULL
        || EVP_PKEY_get_raw_private_key(pkey, key->seed, &n) != 1
        || n != sizeof(key->seed))
    {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        *err = "Ed25519 key generation failed";
        return -1;
    }

    EVP_PKEY_free(pkey);

    return gw_note_skey_init(key, name, len, err);
}


int
gw_note_vkey_from_raw(gw_note_vkey_t *key, const unsigned char *name,
    size_t len, const unsigned char *pub, const char **err)
{
    memset(key, 0, sizeof(gw_note_vkey_t));

    return gw_note_vkey_init(key, name, len, pub, err);
}


static int
gw_note_vkey_init(gw_note_vkey_t *key, const unsigned char *name,
    size_t len, const unsigned char *pub, const char **err)
{
    if (len > GW_NOTE_NAME_MAX || gw_note_name_check(name, len) != 0) {
        *err = "key has an invalid name";
        return -1;
    }

    key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
                                            32);
    if (key->pkey == NULL) {
        ERR_clear_error();
        *err = "invalid Ed25519 public key";
        return -1;
    }

    memcpy(key->name, name, len);
    key->name[len] = '\0';
    key->name_len = len;
    memcpy(key->pub, pub, 32);
    key->id = gw_note_key_id(name, len, pub);

    return 0;
}


/* key->seed is set: derives the key pair and the public half */

static int
gw_note_skey_init(gw_note_skey_t *key, const unsigned char *name,
    size_t len, const char **err)
{
    size_t         n;
    unsigned char  pub[32];

    key->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
                                             key->seed, 32);
    n = sizeof(pub);

    if (key->pkey == NULL
        || EVP_PKEY_get_raw_public_key(key->pkey, pub, &n) != 1
        || n != sizeof(pub))
    {
        ERR_clear_error();
        gw_note_skey_free(key);
        *err = "invalid Ed25519 private key";
        return -1;
    }

    if (gw_note_vkey_init(&key->vkey, name, len, pub, err) != 0) {
        gw_note_skey_free(key);
        return -1;
    }

    return 0;
}


size_t
gw_note_vkey_format(const gw_note_vkey_t *key, char *buf)
{
    size_t         n;
    unsigned char  raw[33];

    raw[0] = GW_NOTE_ALG_ED25519;
    memcpy(raw + 1, key->pub, 32);

    n = (size_t) snprintf(buf, GW_NOTE_KEY_TEXT_MAX, "%s+%08x+",
                          key->name, (unsigned) key->id);
    n += gw_b64std_encode((unsigned char *) buf + n, raw, sizeof(raw));
    buf[n] = '\0';

    return n;
}


size_t
gw_note_skey_format(const gw_note_skey_t *key, char *buf)
{
    size_t         n;
    unsigned char  raw[33];

    raw[0] = GW_NOTE_ALG_ED25519;
    memcpy(raw + 1, key->seed, 32);

    n = (size_t) snprintf(buf, GW_NOTE_KEY_TEXT_MAX, "%s%s+%08x+",
                          GW_NOTE_PRIVATE, key->vkey.name,
                          (unsigned) key->vkey.id);
    n += gw_b64std_encode((unsigned char *) buf + n, raw, sizeof(raw));
    buf[n] = '\0';

    OPENSSL_cleanse(raw, sizeof(raw));

    return n;
}


void
gw_note_vkey_free(gw_note_vkey_t *key)
{
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
}


void
gw_note_skey_free(gw_note_skey_t *key)
{
    EVP_PKEY_free(key->pkey);
    key->pkey = NULL;
    gw_note_vkey_free(&key->vkey);
    OPENSSL_cleanse(key->seed, sizeof(key->seed));
}
