
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for key loading (lib/jose/gw_jwk.h): PEM public keys and
 * certificates, a JWK, a JWKS and raw HMAC secrets, the contents of a key
 * file that may come from elsewhere (a JWKS an identity provider
 * publishes).  Input: byte 0 says how to load, the rest is the key data:
 *   bits 0-1  format: auto, PEM, JWK, HMAC;
 *   bit 2     pass a kid for keys without one;
 *   bits 3-4  narrow the algorithms: none, RSA, HMAC, ES256 and EdDSA;
 *   bit 5     load into a set that already holds a key;
 *   bit 6     load the same data a second time into the same set.
 * Cap: the data is at most GW_KEY_FILE_MAX bytes (libFuzzer's own -max_len
 * is lower).
 *
 * Checks, after each load:
 *   - a failed load leaves the set as it was and says why in err; OpenSSL's
 *     error queue is empty in every case;
 *   - each loaded key has a type, a non-empty algorithm mask within what
 *     its type allows (and the narrowing), a NUL-terminated kid of at
 *     most GW_KID_MAX bytes, and either a pkey or a secret of at least 32
 *     bytes (48 for HS384, 64 for HS512); an HMAC secret is the data less
 *     one trailing newline; at most GW_KEYSET_MAX keys in all;
 *   - "auto" loads what the format it detects loads;
 *   - a single JWK with an "alg" loads into a key that verifies that
 *     algorithm alone;
 *   - one key gets one type and one fingerprint whatever its form: each
 *     loaded key is written back as a JWK, which must load (unless it is
 *     over the JWK caps) into a key of the same type, the same fingerprint
 *     and at least the same algorithms;
 *   - gw_jws_verify() of fixed tokens with a made-up signature of every
 *     algorithm and length fails against every loaded key, cleanly.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <jansson.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "gw_jws.h"


#define GW_KEYSET_FUZZ_TOKENS   10
#define GW_KEYSET_FUZZ_TOKEN    1024
#define GW_KEYSET_FUZZ_JWK      8192
#define GW_KEYSET_FUZZ_RSA_MAX  2048    /* JWK "n" cap, gw_jwk_json.c */
#define GW_KEYSET_FUZZ_OCT_MAX  4096    /* JWK "k" cap, gw_jwk_json.c */


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int load(gw_keyset_t *ks, const unsigned char *data, size_t len,
    gw_key_format_e fmt, const char *kid, unsigned algs);
static void check_key(const gw_jwk_t *key, const char *kid, unsigned algs);
static void check_hmac(const gw_keyset_t *ks, size_t from,
    const unsigned char *data, size_t len);
static void check_auto(const gw_keyset_t *ks, size_t from, int rc,
    const unsigned char *data, size_t len, const char *kid, unsigned algs);
static void check_jwk_alg(const gw_jwk_t *key, const unsigned char *data,
    size_t len);
static void check_as_jwk(const gw_jwk_t *key);
static size_t jwk_of(const gw_jwk_t *key, char *out, size_t size);
static size_t put_b64(char *out, const unsigned char *p, size_t len);
static void check_verify(const gw_jwk_t *key);


static const struct {
    const char  *alg;
    size_t       sig_len;
} gw_fuzz_sigs[GW_KEYSET_FUZZ_TOKENS] = {
    { "HS256", 32 }, { "HS384", 48 }, { "HS512", 64 },
    { "RS256", 256 }, { "PS384", 384 }, { "RS512", 512 },
    { "ES256", 64 }, { "ES384", 96 }, { "ES512", 132 },
    { "EdDSA", 64 }
};


static const unsigned  gw_fuzz_algs[4] = {
    0,
    GW_ALG_MASK_RSA,
    GW_ALG_MASK_HMAC,
    GW_ALG_BIT(GW_ALG_ES256) | GW_ALG_BIT(GW_ALG_EDDSA)
};


static const unsigned char  gw_fuzz_secret[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef";


static char      tokens[GW_KEYSET_FUZZ_TOKENS][GW_KEYSET_FUZZ_TOKEN];
static gw_jws_t  jws[GW_KEYSET_FUZZ_TOKENS];


/* parses one token for each algorithm, with a signature of its length */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char           *t;
    size_t          i, n;
    const char     *err;
    unsigned char   sig[512];
    char            header[64];

    static const char  payload[] = "{\"sub\":\"fuzz\"}";

    memset(sig, 0x5b, sizeof(sig));

    for (i = 0; i < GW_KEYSET_FUZZ_TOKENS; i++) {
        t = tokens[i];

        snprintf(header, sizeof(header), "{\"alg\":\"%s\"}",
                 gw_fuzz_sigs[i].alg);

        n = put_b64(t, (unsigned char *) header, strlen(header));
        t[n++] = '.';
        n += put_b64(t + n, (const unsigned char *) payload,
                     sizeof(payload) - 1);
        t[n++] = '.';
        n += put_b64(t + n, sig, gw_fuzz_sigs[i].sig_len);

        if (gw_jws_parse(&jws[i], (unsigned char *) t, n, GW_JWS_MAX_LEN,
                         &err)
            != 0)
        {
            fprintf(stderr, "keyset fuzz driver: token %zu: %s\n", i, err);
            abort();
        }
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    size_t                i, from, len;
    unsigned              algs;
    gw_keyset_t           ks;
    const char           *kid;
    gw_key_format_e       fmt;
    const unsigned char  *p;

    if (size < 1 || size - 1 > GW_KEY_FILE_MAX) {
        return 0;
    }

    fmt = (gw_key_format_e) (data[0] & 0x03);
    kid = (data[0] & 0x04) ? "cfg-kid" : NULL;
    algs = gw_fuzz_algs[(data[0] >> 3) & 0x03];

    p = data + 1;
    len = size - 1;

    memset(&ks, 0, sizeof(gw_keyset_t));

    if (data[0] & 0x20) {
        if (load(&ks, gw_fuzz_secret, sizeof(gw_fuzz_secret) - 1,
                 GW_KEY_FMT_HMAC, "pre", 0)
            != 0)
        {
            abort();
        }
    }

    from = ks.nkeys;

    rc = load(&ks, p, len, fmt, kid, algs);

    if (rc == 0) {
        for (i = from; i < ks.nkeys; i++) {
            check_key(&ks.keys[i], kid, algs);
            check_as_jwk(&ks.keys[i]);
            check_verify(&ks.keys[i]);
        }

        if (fmt == GW_KEY_FMT_HMAC) {
            check_hmac(&ks, from, p, len);
        }

        if (fmt == GW_KEY_FMT_JWK && ks.nkeys == from + 1 && algs == 0) {
            check_jwk_alg(&ks.keys[from], p, len);
        }
    }

    if (fmt == GW_KEY_FMT_AUTO) {
        check_auto(&ks, from, rc, p, len, kid, algs);
    }

    if (data[0] & 0x40) {
        from = ks.nkeys;

        if (load(&ks, p, len, fmt, kid, algs) == 0) {
            for (i = from; i < ks.nkeys; i++) {
                check_key(&ks.keys[i], kid, algs);
            }
        }
    }

    gw_keyset_free(&ks);

    if (ks.keys != NULL || ks.nkeys != 0 || ks.nalloc != 0) {
        abort();
    }

    return 0;
}


/* gw_keyset_load() and the checks that hold for every load */

static int
load(gw_keyset_t *ks, const unsigned char *data, size_t len,
    gw_key_format_e fmt, const char *kid, unsigned algs)
{
    int          rc;
    size_t       nkeys, nalloc;
    gw_jwk_t    *keys;
    char         err[256];

    keys = ks->keys;
    nkeys = ks->nkeys;
    nalloc = ks->nalloc;
    err[0] = '\0';

    rc = gw_keyset_load(ks, data, len, fmt, kid, algs, err, sizeof(err));

    if (ERR_peek_error() != 0) {
        abort();
    }

    if (rc == 0) {
        if (ks->nkeys <= nkeys || ks->nkeys > GW_KEYSET_MAX
            || ks->nalloc < ks->nkeys)
        {
            abort();
        }

        return 0;
    }

    if (rc != -1 || err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL
        || ks->keys != keys || ks->nkeys != nkeys || ks->nalloc != nalloc)
    {
        abort();
    }

    return -1;
}


static void
check_key(const gw_jwk_t *key, const char *kid, unsigned algs)
{
    unsigned  mask;

    switch (key->type) {

    case GW_KEY_HMAC:
        mask = GW_ALG_MASK_HMAC;

        if (key->secret == NULL || key->pkey != NULL || key->secret_len < 32
            || ((key->algs & GW_ALG_BIT(GW_ALG_HS384))
                && key->secret_len < 48)
            || ((key->algs & GW_ALG_BIT(GW_ALG_HS512))
                && key->secret_len < 64))
        {
            abort();
        }

        break;

    case GW_KEY_RSA:
        mask = GW_ALG_MASK_RSA;
        break;

    case GW_KEY_EC:
        mask = GW_ALG_BIT(GW_ALG_ES256) | GW_ALG_BIT(GW_ALG_ES384)
               | GW_ALG_BIT(GW_ALG_ES512);

        /* one curve, one algorithm */

        if (key->algs & (key->algs - 1)) {
            abort();
        }

        break;

    case GW_KEY_OKP:
        mask = GW_ALG_BIT(GW_ALG_EDDSA);
        break;

    default:
        abort();
    }

    if (key->type != GW_KEY_HMAC
        && (key->pkey == NULL || key->secret != NULL))
    {
        abort();
    }

    if (key->algs == 0 || (key->algs & ~mask) != 0
        || (algs != 0 && (key->algs & ~algs) != 0))
    {
        abort();
    }

    if (key->kid_len > GW_KID_MAX || key->kid[key->kid_len] != '\0'
        || (!key->has_kid && key->kid_len != 0)
        || (kid != NULL && !key->has_kid))
    {
        abort();
    }
}


/* one key, whose secret is the data less one "\n" or "\r\n" */

static void
check_hmac(const gw_keyset_t *ks, size_t from, const unsigned char *data,
    size_t len)
{
    const gw_jwk_t  *key;

    if (ks->nkeys != from + 1) {
        abort();
    }

    if (len > 0 && data[len - 1] == '\n') {
        len--;

        if (len > 0 && data[len - 1] == '\r') {
            len--;
        }
    }

    key = &ks->keys[from];

    if (key->type != GW_KEY_HMAC || key->secret_len != len
        || memcmp(key->secret, data, len) != 0)
    {
        abort();
    }
}


/* "auto" must do what the format it picks does */

static void
check_auto(const gw_keyset_t *ks, size_t from, int rc,
    const unsigned char *data, size_t len, const char *kid, unsigned algs)
{
    int              rc2;
    size_t           i;
    gw_keyset_t      ks2;
    gw_key_format_e  fmt;

    for (i = 0; i < len; i++) {
        if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r'
            && data[i] != '\n')
        {
            break;
        }
    }

    fmt = (len - i >= 10 && memcmp(data + i, "-----BEGIN", 10) == 0)
          ? GW_KEY_FMT_PEM : GW_KEY_FMT_JWK;

    memset(&ks2, 0, sizeof(gw_keyset_t));

    rc2 = load(&ks2, data, len, fmt, kid, algs);

    if (rc2 != rc || (rc == 0 && ks2.nkeys != ks->nkeys - from)) {
        abort();
    }

    for (i = 0; rc == 0 && i < ks2.nkeys; i++) {
        if (ks2.keys[i].type != ks->keys[from + i].type
            || ks2.keys[i].algs != ks->keys[from + i].algs
            || memcmp(ks2.keys[i].fp, ks->keys[from + i].fp, GW_KEY_FP_LEN)
               != 0)
        {
            abort();
        }
    }

    gw_keyset_free(&ks2);
}


/* a lone JWK's "alg" (known to fit, since it loaded) is all it verifies */

static void
check_jwk_alg(const gw_jwk_t *key, const unsigned char *data, size_t len)
{
    json_t    *jwk, *v;
    gw_alg_e   alg;

    jwk = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(jwk)) {
        abort();
    }

    v = json_object_get(jwk, "alg");

    if (v != NULL && json_object_get(jwk, "keys") == NULL) {
        alg = gw_alg_from_name(json_string_value(v), json_string_length(v));

        if (alg == GW_ALG_UNKNOWN || key->algs != GW_ALG_BIT(alg)) {
            abort();
        }
    }

    json_decref(jwk);
}


/*
 * The key written back as a JWK must load into the same key: same type,
 * same fingerprint, and the algorithms its type and size give, which
 * include the ones it has (a JWK "alg" or the caller may have narrowed
 * them).
 */

static void
check_as_jwk(const gw_jwk_t *key)
{
    char            *jwk;
    size_t           len;
    gw_keyset_t      ks;
    const gw_jwk_t  *k;

    jwk = malloc(GW_KEYSET_FUZZ_JWK);
    if (jwk == NULL) {
        abort();
    }

    len = jwk_of(key, jwk, GW_KEYSET_FUZZ_JWK);

    if (len == 0) {
        free(jwk);
        return;
    }

    memset(&ks, 0, sizeof(gw_keyset_t));

    if (load(&ks, (unsigned char *) jwk, len, GW_KEY_FMT_JWK, NULL, 0) != 0)
    {
        fprintf(stderr, "keyset fuzz driver: the key as a JWK does not "
                "load: %.*s\n", (int) len, jwk);
        abort();
    }

    k = &ks.keys[0];

    if (ks.nkeys != 1 || k->type != key->type
        || (k->algs & key->algs) != key->algs
        || memcmp(k->fp, key->fp, GW_KEY_FP_LEN) != 0)
    {
        fprintf(stderr, "keyset fuzz driver: the key as a JWK loads into "
                "another key: %.*s\n", (int) len, jwk);
        abort();
    }

    gw_keyset_free(&ks);
    free(jwk);
}


/* a JWK of key into out; 0 when it is over the JWK caps */

static size_t
jwk_of(const gw_jwk_t *key, char *out, size_t size)
{
    int             bits;
    size_t          n, len, csize;
    BIGNUM         *a, *b;
    const char     *crv;
    unsigned char   buf[GW_KEYSET_FUZZ_RSA_MAX];

    n = 0;
    a = NULL;
    b = NULL;

    switch (key->type) {

    case GW_KEY_HMAC:
        if (key->secret_len > GW_KEYSET_FUZZ_OCT_MAX) {
            return 0;
        }

        n = snprintf(out, size, "{\"kty\":\"oct\",\"k\":\"");
        n += put_b64(out + n, key->secret, key->secret_len);
        break;

    case GW_KEY_RSA:
        if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &a) != 1
            || EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, &b)
               != 1)
        {
            abort();
        }

        if ((size_t) BN_num_bytes(a) > GW_KEYSET_FUZZ_RSA_MAX
            || BN_num_bytes(b) > 8)
        {
            break;
        }

        n = snprintf(out, size, "{\"kty\":\"RSA\",\"n\":\"");
        len = BN_bn2bin(a, buf);
        n += put_b64(out + n, buf, len);
        n += snprintf(out + n, size - n, "\",\"e\":\"");
        len = BN_bn2bin(b, buf);
        n += put_b64(out + n, buf, len);
        break;

    case GW_KEY_EC:
        bits = EVP_PKEY_get_bits(key->pkey);
        crv = (bits == 256) ? "P-256" : (bits == 384) ? "P-384" : "P-521";
        csize = (bits == 521) ? 66 : (size_t) bits / 8;

        if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a)
            != 1
            || EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
                                     &b)
               != 1
            || BN_bn2binpad(a, buf, csize) != (int) csize)
        {
            abort();
        }

        n = snprintf(out, size, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"",
                     crv);
        n += put_b64(out + n, buf, csize);
        n += snprintf(out + n, size - n, "\",\"y\":\"");

        if (BN_bn2binpad(b, buf, csize) != (int) csize) {
            abort();
        }

        n += put_b64(out + n, buf, csize);
        break;

    default: /* GW_KEY_OKP */
        len = sizeof(buf);

        if (EVP_PKEY_get_raw_public_key(key->pkey, buf, &len) != 1) {
            abort();
        }

        n = snprintf(out, size, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                     "\"x\":\"");
        n += put_b64(out + n, buf, len);
    }

    BN_free(a);
    BN_free(b);

    if (n != 0) {
        n += snprintf(out + n, size - n, "\"}");
    }

    return n;
}


static size_t
put_b64(char *out, const unsigned char *p, size_t len)
{
    return gw_b64url_encode((unsigned char *) out, p, len);
}


/* a made-up signature verifies against no key, and leaves no error */

static void
check_verify(const gw_jwk_t *key)
{
    int          rc;
    size_t       i;
    const char  *err;

    for (i = 0; i < GW_KEYSET_FUZZ_TOKENS; i++) {
        err = NULL;

        rc = gw_jws_verify(&jws[i], key, &err);

        if (rc != -1 || err == NULL || ERR_peek_error() != 0) {
            abort();
        }
    }
}
