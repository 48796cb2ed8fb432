
/*
 * Copyright (C) Tollgate
 *
 * Key loading: every PEM and JWK form of t/data/keys, the algorithm masks
 * that type and size give, narrowing by "alg" and by configuration, the
 * JWKS skip-or-fail rules, fingerprints (one key has one, its RFC 7638
 * thumbprint, through PEM, a certificate or a JWK, with an EC point
 * compressed or not, a named curve or explicit parameters), kid
 * selection, the caps,
 * and that a failed load leaves the key set as it was and never quotes
 * the key material in its error.  Keys are read from $GW_TEST_KEYS, by
 * default t/data/keys relative to the repository root.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "tap.h"


#define BIT(a)  GW_ALG_BIT(GW_ALG_ ## a)


static const char  *keydir;
static char         err[256];


static const char *
key_path(const char *name)
{
    static char  path[1024];

    snprintf(path, sizeof(path), "%s/%s", keydir, name);

    return path;
}


static int
load_file(gw_keyset_t *ks, const char *name, gw_key_format_e fmt,
    const char *kid, unsigned algs)
{
    err[0] = '\0';

    return gw_keyset_load_file(ks, key_path(name), fmt, kid, algs, err,
                               sizeof(err));
}


static int
load_str(gw_keyset_t *ks, const char *s, gw_key_format_e fmt,
    const char *kid, unsigned algs)
{
    err[0] = '\0';

    return gw_keyset_load(ks, (const unsigned char *) s, strlen(s), fmt, kid,
                          algs, err, sizeof(err));
}


/* one load into a fresh set: 0 and the set's only key, or -1 */

static int
load1(gw_keyset_t *ks, const char *s, gw_key_format_e fmt)
{
    gw_keyset_free(ks);

    return load_str(ks, s, fmt, NULL, 0);
}


static char *
read_text(const char *name)
{
    long   n;
    FILE  *f;
    char  *buf;

    f = fopen(key_path(name), "rb");
    if (f == NULL) {
        diag("%s: cannot open; set GW_TEST_KEYS or run from the top",
             key_path(name));
        bail_out("test keys missing");
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);

    buf = malloc(n + 1);
    if (buf == NULL) {
        bail_out("out of memory");
    }

    buf[fread(buf, 1, n, f)] = '\0';

    fclose(f);

    return buf;
}


/* the base64url of a BIGNUM parameter of pkey, e.g. the RSA modulus */

static void
bn_param_b64(EVP_PKEY *pkey, const char *param, char *out)
{
    int            n;
    BIGNUM        *bn;
    unsigned char  bin[1024];

    bn = NULL;
    EVP_PKEY_get_bn_param(pkey, param, &bn);
    n = BN_bn2bin(bn, bin);
    out[gw_b64url_encode((unsigned char *) out, bin, n)] = '\0';
    BN_free(bn);
}


static void
test_pem(void)
{
    gw_keyset_t  ks, ks2;

    memset(&ks, 0, sizeof(ks));
    memset(&ks2, 0, sizeof(ks2));

    is_int(load_file(&ks, "rsa.pem", GW_KEY_FMT_AUTO, NULL, 0), 0,
           "rsa.pem loads");
    is_int(ks.nkeys, 1, "one key");
    is_int(ks.keys[0].type, GW_KEY_RSA, "type RSA");
    is_int(ks.keys[0].algs, GW_ALG_MASK_RSA, "RS* and PS*");
    ok(!ks.keys[0].has_kid && ks.keys[0].secret == NULL
       && ks.keys[0].pkey != NULL, "no kid, no secret, a pkey");

    is_int(load_file(&ks2, "rsa.crt", GW_KEY_FMT_PEM, NULL, 0), 0,
           "rsa.crt loads");
    is_int(ks2.keys[0].type, GW_KEY_RSA, "certificate gives an RSA key");
    ok(memcmp(ks.keys[0].fp, ks2.keys[0].fp, GW_KEY_FP_LEN) == 0,
       "certificate and public key have one fingerprint");
    gw_keyset_free(&ks2);

    is_int(load_file(&ks, "rsa1024.pem", GW_KEY_FMT_AUTO, NULL, 0), -1,
           "rsa1024.pem rejected");
    ok(strstr(err, "2048") != NULL, "error names 2048 bits: %s", err);
    is_int(ks.nkeys, 1, "failed load leaves the set as it was");

    /* OpenSSL skips an indented block; it must not vanish silently */
    {
        char  *pem, *buf;

        pem = read_text("rsa.pem");
        buf = malloc(strlen(pem) + 128);
        if (buf == NULL) {
            bail_out("out of memory");
        }

        sprintf(buf, " -----BEGIN PRIVATE KEY-----\nAAAA\n"
                "-----END PRIVATE KEY-----\n%s", pem);
        is_int(load_str(&ks, buf, GW_KEY_FMT_PEM, NULL, 0), -1,
               "an indented PEM block fails the load");
        ok(strstr(err, "could not be read") != NULL, "error says so: %s",
           err);

        free(buf);
        free(pem);
    }

    /* e = 1 makes the padded digest itself a valid "signature" */
    is_int(load_file(&ks, "rsa-e1.pem", GW_KEY_FMT_AUTO, NULL, 0), -1,
           "an RSA PEM key with exponent 1 is refused");
    ok(strstr(err, "exponent") != NULL, "error names the exponent: %s", err);

    is_int(load_file(&ks, "rsa.key", GW_KEY_FMT_AUTO, NULL, 0), -1,
           "a private key is refused");
    ok(strstr(err, "private key") != NULL, "error says private key: %s",
       err);

    gw_keyset_free(&ks);

    is_int(load_file(&ks, "ec256.pem", GW_KEY_FMT_AUTO, "e1", 0), 0,
           "ec256.pem loads");
    is_int(ks.keys[0].type, GW_KEY_EC, "type EC");
    is_int(ks.keys[0].algs, BIT(ES256), "P-256 verifies ES256 only");
    ok(ks.keys[0].has_kid && ks.keys[0].kid_len == 2
       && strcmp(ks.keys[0].kid, "e1") == 0, "configured kid applied");

    is_int(load_file(&ks, "ec384.pem", GW_KEY_FMT_AUTO, NULL, 0), 0,
           "ec384.pem loads");
    is_int(ks.keys[1].algs, BIT(ES384), "P-384 verifies ES384 only");

    is_int(load_file(&ks, "ec521.pem", GW_KEY_FMT_AUTO, NULL, 0), 0,
           "ec521.pem loads");
    is_int(ks.keys[2].algs, BIT(ES512), "P-521 verifies ES512 only");

    is_int(load_file(&ks, "ed25519.pem", GW_KEY_FMT_AUTO, NULL, 0), 0,
           "ed25519.pem loads");
    is_int(ks.keys[3].type, GW_KEY_OKP, "type OKP");
    is_int(ks.keys[3].algs, BIT(EDDSA), "Ed25519 verifies EdDSA only");
    is_int(ks.nkeys, 4, "keys accumulate in one set");

    gw_keyset_free(&ks);
    ok(ks.keys == NULL && ks.nkeys == 0, "free zeroes the set");

    is_int(load_file(&ks, "rsa.pem", GW_KEY_FMT_AUTO, NULL, BIT(RS256)), 0,
           "rsa.pem narrowed to RS256");
    is_int(ks.keys[0].algs, BIT(RS256), "mask narrowed");
    is_int(load_file(&ks, "ec256.pem", GW_KEY_FMT_AUTO, NULL, BIT(RS256)),
           -1, "narrowing an EC key to RS256 leaves nothing");
    is_int(ks.nkeys, 1, "set unchanged");
    gw_keyset_free(&ks);

    /* two blocks in one file: a bundle for key rotation */

    {
        char  *a, *b, *both;

        a = read_text("rsa.pem");
        b = read_text("ec256.pem");

        if (a == NULL || b == NULL) {
            bail_out("cannot read rsa.pem or ec256.pem");
        }

        both = malloc(strlen(a) + strlen(b) + 16);
        if (both == NULL) {
            bail_out("out of memory");
        }

        sprintf(both, "%s\nsome text\n%s", a, b);

        is_int(load_str(&ks, both, GW_KEY_FMT_AUTO, NULL, 0), 0,
               "PEM bundle loads");
        is_int(ks.nkeys, 2, "both keys of the bundle");
        gw_keyset_free(&ks);

        both[strlen(a) + 11 + 27 + 10] = '#';
        is_int(load_str(&ks, both, GW_KEY_FMT_AUTO, NULL, 0), -1,
               "a corrupt second block fails the load");
        is_int(ks.nkeys, 0, "nothing loaded");

        free(a);
        free(b);
        free(both);
    }

    is_int(load_str(&ks, "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                    "-----END PUBLIC KEY-----\n", GW_KEY_FMT_AUTO, NULL, 0),
           -1, "garbage public key rejected");
    is_int(load_str(&ks, "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n",
                    GW_KEY_FMT_PEM, NULL, 0),
           -1, "unknown PEM block rejected");
    is_int(load_str(&ks, "hello", GW_KEY_FMT_PEM, NULL, 0), -1,
           "no PEM block at all rejected");
}


static void
test_hmac(void)
{
    char            buf[128], *text;
    size_t          i;
    gw_keyset_t     ks;
    unsigned char   fp[32];

    memset(&ks, 0, sizeof(ks));

    is_int(load_file(&ks, "hmac.secret", GW_KEY_FMT_HMAC, NULL, 0), 0,
           "hmac.secret loads as HMAC");
    is_int(ks.keys[0].type, GW_KEY_HMAC, "type HMAC");
    is_int(ks.keys[0].secret_len, 40, "40 bytes");
    is_int(ks.keys[0].algs, BIT(HS256), "40 bytes: HS256 only");

    /* fp = the RFC 7638 thumbprint, SHA-256 of {"k":"...","kty":"oct"} */

    text = read_text("hmac.secret");
    {
        char  json[128];
        int   n;

        n = sprintf(json, "{\"k\":\"");
        n += gw_b64url_encode((unsigned char *) json + n,
                              (unsigned char *) text, strlen(text));
        n += sprintf(json + n, "\",\"kty\":\"oct\"}");
        EVP_Digest(json, n, fp, NULL, EVP_sha256(), NULL);
    }
    ok(memcmp(fp, ks.keys[0].fp, 32) == 0, "HMAC fingerprint");

    is_int(load_file(&ks, "hmac.secret", GW_KEY_FMT_AUTO, NULL, 0), -1,
           "a raw secret is not loaded without the HMAC format");
    memcpy(buf, text, 8);
    buf[8] = '\0';
    ok(strstr(err, buf) == NULL, "the error does not quote it: %s", err);
    free(text);
    gw_keyset_free(&ks);

    is_int(load_file(&ks, "hmac64.secret", GW_KEY_FMT_HMAC, NULL, 0), 0,
           "hmac64.secret loads");
    is_int(ks.keys[0].algs, BIT(HS256) | BIT(HS384) | BIT(HS512),
           "64 bytes: HS256, HS384, HS512");
    gw_keyset_free(&ks);

    for (i = 0; i < 100; i++) {
        buf[i] = 'a' + i % 26;
    }

    buf[48] = '\0';
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), 0, "48 bytes load");
    is_int(ks.keys[0].algs, BIT(HS256) | BIT(HS384), "48 bytes: HS256/384");

    buf[63] = '\0';
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), 0, "63 bytes load");
    is_int(ks.keys[0].algs, BIT(HS256) | BIT(HS384), "63 bytes: no HS512");

    buf[32] = '\0';
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), 0, "32 bytes load");

    buf[31] = '\0';
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), -1, "31 bytes rejected");

    buf[31] = '\n';
    buf[32] = '\0';
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), -1,
           "31 bytes and a newline rejected");

    memcpy(buf + 32, "\r\n", 3);
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), 0,
           "32 bytes and CRLF: one newline dropped");
    is_int(ks.keys[0].secret_len, 32, "secret is 32 bytes");

    memcpy(buf + 32, "\n\n", 3);
    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), 0, "two newlines");
    is_int(ks.keys[0].secret_len, 33, "only one newline dropped");

    is_int(load1(&ks, buf, GW_KEY_FMT_HMAC), 0, "reload");
    is_int(load_str(&ks, buf, GW_KEY_FMT_HMAC, NULL, BIT(HS384)), -1,
           "a 33-byte secret cannot be narrowed to HS384");

    gw_keyset_free(&ks);

    /* the RSA public key PEM text is an HMAC secret only when asked so */

    is_int(load_file(&ks, "rsa.pem", GW_KEY_FMT_AUTO, NULL, 0), 0,
           "rsa.pem, auto format");
    ok(ks.keys[0].type == GW_KEY_RSA
       && (ks.keys[0].algs & GW_ALG_MASK_HMAC) == 0,
       "an RSA key never verifies HS*");
    gw_keyset_free(&ks);

    is_int(load_file(&ks, "rsa.pem", GW_KEY_FMT_JWK, NULL, 0), -1,
           "rsa.pem as JWK fails");
    is_int(load_file(&ks, "rsa.pem", GW_KEY_FMT_HMAC, NULL, 0), 0,
           "rsa.pem as an explicit HMAC secret");
    is_int(ks.keys[0].type, GW_KEY_HMAC, "type HMAC only then");
    gw_keyset_free(&ks);
}


static void
test_jwks(void)
{
    size_t          i, n;
    gw_keyset_t     ks, pem;
    const gw_jwk_t  *k;
    static const char  *kids[] = {
        "rsa-1", "ec256-1", "ec384-1", "ec521-1", "ed25519-1"
    };
    static const char  *pems[] = {
        "rsa.pem", "ec256.pem", "ec384.pem", "ec521.pem", "ed25519.pem"
    };

    memset(&ks, 0, sizeof(ks));
    memset(&pem, 0, sizeof(pem));

    is_int(load_file(&ks, "jwks.json", GW_KEY_FMT_AUTO, "ignored", 0), 0,
           "jwks.json loads");
    is_int(ks.nkeys, 5, "five keys, the \"enc\" one skipped");

    for (i = 0; i < 5 && i < ks.nkeys; i++) {
        is_str(ks.keys[i].kid, kids[i], "key %zu kid", i);

        gw_keyset_free(&pem);
        load_file(&pem, pems[i], GW_KEY_FMT_PEM, NULL, 0);
        ok(pem.nkeys == 1
           && memcmp(pem.keys[0].fp, ks.keys[i].fp, GW_KEY_FP_LEN) == 0,
           "%s: JWK and PEM fingerprints equal", kids[i]);
    }

    gw_keyset_free(&pem);

    is_int(ks.keys[0].algs, GW_ALG_MASK_RSA, "RSA JWK without alg");
    is_int(ks.keys[1].algs, BIT(ES256), "EC JWK with alg ES256");
    is_int(ks.keys[4].algs, BIT(EDDSA), "OKP JWK");

    i = 0;
    k = gw_keyset_next(&ks, &i, "ec384-1", 7, GW_ALG_ES384);
    ok(k == &ks.keys[2], "next: kid ec384-1 for ES384");
    ok(gw_keyset_next(&ks, &i, "ec384-1", 7, GW_ALG_ES384) == NULL,
       "next: then no more");

    i = 0;
    ok(gw_keyset_next(&ks, &i, "ec384-1", 7, GW_ALG_ES256) == NULL,
       "next: kid fits, alg does not");
    i = 0;
    ok(gw_keyset_next(&ks, &i, "rsa-enc", 7, GW_ALG_RS256) == NULL,
       "next: the skipped enc key is not there");
    i = 0;
    ok(gw_keyset_next(&ks, &i, "rsa-1x", 5, GW_ALG_RS256) == &ks.keys[0],
       "next: kid compared with its length");
    i = 0;
    ok(gw_keyset_next(&ks, &i, "rsa-1", 4, GW_ALG_RS256) == NULL,
       "next: a kid prefix does not match");

    for (n = 0, i = 0; gw_keyset_next(&ks, &i, NULL, 0, GW_ALG_PS384); n++) {
        /* void */
    }

    is_int(n, 1, "next without kid: the RSA key only for PS384");

    i = 0;
    ok(gw_keyset_next(&ks, &i, NULL, 0, GW_ALG_HS256) == NULL,
       "next: no key for HS256");
    i = 0;
    ok(gw_keyset_next(&ks, &i, NULL, 0, GW_ALG_UNKNOWN) == NULL
       && gw_keyset_next(&ks, &i, NULL, 0, GW_ALG_COUNT) == NULL,
       "next: no key for an unknown alg");

    gw_keyset_free(&ks);
}


static void
test_jwk_rules(void)
{
    int             i;
    char            n[600], n1024[300], *big;
    size_t          len;
    BIO            *bio;
    EVP_PKEY       *pkey;
    gw_keyset_t     ks;
    char            buf[4096];

    memset(&ks, 0, sizeof(ks));

    bio = BIO_new_file(key_path("rsa.pem"), "r");
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, n);
    EVP_PKEY_free(pkey);

    bio = BIO_new_file(key_path("rsa1024.pem"), "r");
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, n1024);
    EVP_PKEY_free(pkey);

#define RSA_JWK(extra)                                                        \
    (snprintf(buf, sizeof(buf),                                               \
              "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"%s}", n, extra),   \
     buf)

    is_int(load1(&ks, RSA_JWK(""), GW_KEY_FMT_JWK), 0, "RSA JWK");
    ok(!ks.keys[0].has_kid, "no kid");
    is_int(load1(&ks, RSA_JWK(",\"alg\":\"PS256\",\"kid\":\"k\""),
                 GW_KEY_FMT_AUTO), 0, "RSA JWK with alg PS256");
    is_int(ks.keys[0].algs, BIT(PS256), "alg narrows to PS256");
    is_str(ks.keys[0].kid, "k", "own kid");

    gw_keyset_free(&ks);
    is_int(load_str(&ks, RSA_JWK(",\"kid\":\"own\""), GW_KEY_FMT_JWK, "cfg",
                    0), 0, "configured kid given");
    is_str(ks.keys[0].kid, "own", "a JWK's own kid wins");

    is_int(load1(&ks, RSA_JWK(",\"alg\":\"HS256\""), GW_KEY_FMT_JWK), -1,
           "RSA JWK with alg HS256 rejected");
    is_int(load1(&ks, RSA_JWK(",\"alg\":\"ES256\""), GW_KEY_FMT_JWK), -1,
           "RSA JWK with alg ES256 rejected");
    is_int(load1(&ks, RSA_JWK(",\"alg\":\"none\""), GW_KEY_FMT_JWK), -1,
           "single JWK with alg none rejected");
    is_int(load1(&ks, RSA_JWK(",\"alg\":7"), GW_KEY_FMT_JWK), -1,
           "non-string alg rejected");
    is_int(load1(&ks, RSA_JWK(",\"use\":\"enc\""), GW_KEY_FMT_JWK), -1,
           "single JWK for encryption rejected");
    is_int(load1(&ks, RSA_JWK(",\"use\":\"sig\""), GW_KEY_FMT_JWK), 0,
           "use sig accepted");
    is_int(load1(&ks, RSA_JWK(",\"key_ops\":[\"sign\"]"), GW_KEY_FMT_JWK),
           -1, "key_ops without verify rejected");
    is_int(load1(&ks, RSA_JWK(",\"key_ops\":[\"sign\",\"verify\"]"),
                 GW_KEY_FMT_JWK), 0, "key_ops with verify accepted");
    is_int(load1(&ks, RSA_JWK(",\"key_ops\":\"verify\""), GW_KEY_FMT_JWK),
           -1, "key_ops not an array rejected");
    is_int(load1(&ks, RSA_JWK(",\"kid\":5"), GW_KEY_FMT_JWK), -1,
           "non-string kid rejected");
    is_int(load1(&ks, RSA_JWK(",\"e\":\"AQAB\""), GW_KEY_FMT_JWK), -1,
           "duplicate member rejected");
    ok(strstr(err, "JSON") != NULL, "as invalid JSON: %s", err);

    {
        char  extra[GW_KID_MAX + 32];

        /* ,"kid":"aaa...a" with 257 and then 256 letters */

        memcpy(extra, ",\"kid\":\"", 8);
        memset(extra + 8, 'a', GW_KID_MAX + 1);
        memcpy(extra + 8 + GW_KID_MAX + 1, "\"", 2);
        is_int(load1(&ks, RSA_JWK(extra), GW_KEY_FMT_JWK), -1,
               "kid of 257 bytes rejected");

        memcpy(extra + 8 + GW_KID_MAX, "\"", 2);
        is_int(load1(&ks, RSA_JWK(extra), GW_KEY_FMT_JWK), 0,
               "kid of 256 bytes accepted");
        is_int(ks.keys[0].kid_len, GW_KID_MAX, "kid length");
    }

    memset(buf, 'k', GW_KID_MAX + 1);
    buf[GW_KID_MAX + 1] = '\0';
    gw_keyset_free(&ks);
    is_int(load_file(&ks, "rsa.pem", GW_KEY_FMT_PEM, buf, 0), -1,
           "configured kid of 257 bytes rejected");

    snprintf(buf, sizeof(buf),
             "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", n1024);
    is_int(load1(&ks, buf, GW_KEY_FMT_JWK), -1, "RSA 1024 JWK rejected");

    snprintf(buf, sizeof(buf),
             "{\"kty\":\"RSA\",\"n\":\"%s=\",\"e\":\"AQAB\"}", n);
    is_int(load1(&ks, buf, GW_KEY_FMT_JWK), -1, "padded n rejected");

    snprintf(buf, sizeof(buf),
             "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}", n);
    is_int(load1(&ks, buf, GW_KEY_FMT_JWK), -1, "even exponent rejected");

    is_int(load1(&ks, "{\"kty\":\"RSA\",\"e\":\"AQAB\"}", GW_KEY_FMT_JWK),
           -1, "RSA without n rejected");

    /* EC: coordinates from jwks.json's ec256-1 */

#define X256  "oaaYXslUN3zAjvt8hOW8vck2ctRZLxrA-azqIMlosOY"
#define Y256  "7vMjdj-qImJo3xugILNQXClD6Z-8iU4w0rN5PPFw2-Q"

    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" X256
                 "\",\"y\":\"" Y256 "\"}", GW_KEY_FMT_JWK), 0, "EC JWK");
    is_int(ks.keys[0].algs, BIT(ES256), "ES256");
    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES384\","
                 "\"x\":\"" X256 "\",\"y\":\"" Y256 "\"}", GW_KEY_FMT_JWK),
           -1, "P-256 with alg ES384 rejected");
    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" X256
                 "\",\"y\":\"7vMjdj-qImJo3xugILNQXClD6Z-8iU4w0rN5PPFw2-A\"}",
                 GW_KEY_FMT_JWK), -1, "point off the curve rejected");
    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA" X256
                 "\",\"y\":\"" Y256 "\"}", GW_KEY_FMT_JWK), -1,
           "x too long rejected");
    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"P-256\","
                 "\"x\":\"aaYXslUN3zAjvt8hOW8vck2ctRZLxrA-azqIMlosOY\","
                 "\"y\":\"" Y256 "\"}", GW_KEY_FMT_JWK), -1,
           "x too short rejected");
    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" X256
                 "\",\"y\":\"" Y256 "\"}", GW_KEY_FMT_JWK), -1,
           "P-256 coordinates as P-384 rejected");
    is_int(load1(&ks, "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" X256
                 "\",\"y\":\"" Y256 "\"}", GW_KEY_FMT_JWK), -1,
           "single JWK on secp256k1 rejected");

    /* OKP and oct */

    is_int(load1(&ks, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
                 "\"ATpwgW7cHDjdqGDA-3xr4l6bx5D7R2CWXyHV-zsMIcc\"}",
                 GW_KEY_FMT_JWK), 0, "OKP JWK");
    is_int(load1(&ks, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
                 "\"ATpwgW7cHDjdqGDA-3xr4l6bx5D7R2CWXyHV-zsMIc\"}",
                 GW_KEY_FMT_JWK), -1, "Ed25519 x of 31 bytes rejected");
    is_int(load1(&ks, "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"AAAA\"}",
                 GW_KEY_FMT_JWK), -1, "single Ed448 JWK rejected");

    /* 32 bytes: "0123456789abcdef0123456789abcdef" */

#define K32  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"

    is_int(load1(&ks, "{\"kty\":\"oct\",\"k\":\"" K32 "\"}", GW_KEY_FMT_JWK),
           0, "oct JWK");
    is_int(ks.keys[0].type, GW_KEY_HMAC, "type HMAC");
    is_int(ks.keys[0].algs, BIT(HS256), "32 bytes: HS256");
    ok(ks.keys[0].secret_len == 32
       && memcmp(ks.keys[0].secret, "0123456789abcdef", 16) == 0,
       "secret decoded");
    is_int(load1(&ks, "{\"kty\":\"oct\",\"alg\":\"HS512\",\"k\":\"" K32
                 "\"}", GW_KEY_FMT_JWK), -1,
           "32-byte oct with HS512 rejected");
    is_int(load1(&ks, "{\"kty\":\"oct\",\"k\":\"MDEy\"}", GW_KEY_FMT_JWK), -1,
           "3-byte oct rejected");

    /* JWKS: skip what is not understood, fail on what is broken */

    is_int(load1(&ks, "{\"keys\":[{\"kty\":\"AKP\"},{\"kty\":\"oct\",\"k\":\""
                 K32 "\"},{\"kty\":\"EC\",\"crv\":\"secp256k1\"},"
                 "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"},"
                 "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP\"},"
                 "{\"kty\":\"oct\",\"use\":\"enc\",\"k\":\"AAAA\"}]}",
                 GW_KEY_FMT_JWK), 0, "JWKS with keys to skip");
    is_int(ks.nkeys, 1, "only the oct key loaded");

    is_int(load1(&ks, "{\"keys\":[{\"kty\":\"AKP\"}]}", GW_KEY_FMT_JWK), -1,
           "JWKS without a usable key fails");
    ok(strstr(err, "no signature") != NULL, "error: %s", err);
    is_int(load1(&ks, "{\"keys\":[]}", GW_KEY_FMT_JWK), -1,
           "empty JWKS fails");
    is_int(load1(&ks, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"" K32 "\"},"
                 "{\"kty\":\"oct\",\"k\":\"MDEy\"}]}", GW_KEY_FMT_JWK), -1,
           "one broken key fails the JWKS");
    ok(strstr(err, "key 2") != NULL, "error names the key: %s", err);
    is_int(load1(&ks, "{\"keys\":[{\"kid\":\"a\"}]}", GW_KEY_FMT_JWK), -1,
           "a key without kty fails the JWKS");
    is_int(load1(&ks, "{\"keys\":{}}", GW_KEY_FMT_JWK), -1,
           "keys not an array fails");
    is_int(load1(&ks, "[]", GW_KEY_FMT_JWK), -1, "a JSON array fails");
    is_int(load1(&ks, "{\"keys\":[1]}", GW_KEY_FMT_JWK), -1,
           "a non-object key fails");
    is_int(load1(&ks, "{\"kty\":\"oct\",\"k\":\"" K32 "\"} x",
                 GW_KEY_FMT_JWK), -1, "trailing garbage fails");

    /* caps */

    len = 16 + 65 * 64;
    big = malloc(len);
    if (big == NULL) {
        bail_out("out of memory");
    }

    strcpy(big, "{\"keys\":[");

    for (i = 0; i < 65; i++) {
        strcat(big, i ? ",{\"kty\":\"oct\",\"k\":\"" K32 "\"}"
                      : "{\"kty\":\"oct\",\"k\":\"" K32 "\"}");
    }

    strcat(big, "]}");
    is_int(load1(&ks, big, GW_KEY_FMT_JWK), -1, "JWKS of 65 keys rejected");

    strcpy(strstr(big, ",{\"kty\":\"oct\",\"k\":\"" K32 "\"}]}"), "]}");
    is_int(load1(&ks, big, GW_KEY_FMT_JWK), 0, "JWKS of 64 keys loads");
    is_int(ks.nkeys, 64, "64 keys");
    is_int(load_str(&ks, "{\"kty\":\"oct\",\"k\":\"" K32 "\"}",
                    GW_KEY_FMT_JWK, NULL, 0), -1,
           "a 65th key in the set rejected");
    is_int(ks.nkeys, 64, "set unchanged");
    free(big);

    gw_keyset_free(&ks);

    big = calloc(1, GW_KEY_FILE_MAX + 2);
    if (big == NULL) {
        bail_out("out of memory");
    }

    memset(big, ' ', GW_KEY_FILE_MAX + 1);
    is_int(gw_keyset_load(&ks, (unsigned char *) big, GW_KEY_FILE_MAX + 1,
                          GW_KEY_FMT_AUTO, NULL, 0, err, sizeof(err)), -1,
           "key data over the cap rejected");
    free(big);

    is_int(load_file(&ks, "no-such-file", GW_KEY_FMT_AUTO, NULL, 0), -1,
           "missing file");
    ok(strstr(err, "open()") != NULL, "error: %s", err);
    is_int(load_file(&ks, ".", GW_KEY_FMT_AUTO, NULL, 0), -1,
           "a directory is not a key file");
    is_int(gw_keyset_load(&ks, (unsigned char *) "", 0, GW_KEY_FMT_AUTO,
                          NULL, 0, NULL, 0), -1,
           "empty data fails, NULL err is fine");
}


/* pkey (from an EC PEM) written back as a PEM SPKI with OpenSSL's
 * parameter param set to value ("compressed", "explicit", ...) */

static char *
ec_pem_as(EVP_PKEY *pkey, const char *param, const char *value)
{
    BIO       *bio;
    char      *data, *copy;
    long       n;
    EVP_PKEY  *dup;

    dup = EVP_PKEY_dup(pkey);
    bio = BIO_new(BIO_s_mem());

    if (dup == NULL || bio == NULL
        || (param != NULL
            && EVP_PKEY_set_utf8_string_param(dup, param, value) != 1)
        || PEM_write_bio_PUBKEY(bio, dup) != 1)
    {
        bail_out("cannot write an EC key in another form");
    }

    n = BIO_get_mem_data(bio, &data);
    copy = malloc(n + 1);
    if (copy == NULL) {
        bail_out("out of memory");
    }

    memcpy(copy, data, n);
    copy[n] = '\0';

    BIO_free(bio);
    EVP_PKEY_free(dup);

    return copy;
}


/* the JWK of an EC public key, coordinates padded to size bytes */

static void
ec_jwk(EVP_PKEY *pkey, const char *crv, size_t size, char *out)
{
    BIGNUM         *x, *y;
    size_t          n;
    unsigned char   bin[66];

    x = NULL;
    y = NULL;
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);

    n = sprintf(out, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"", crv);
    BN_bn2binpad(x, bin, size);
    n += gw_b64url_encode((unsigned char *) out + n, bin, size);
    n += sprintf(out + n, "\",\"y\":\"");
    BN_bn2binpad(y, bin, size);
    n += gw_b64url_encode((unsigned char *) out + n, bin, size);
    sprintf(out + n, "\"}");

    BN_free(x);
    BN_free(y);
}


/*
 * One EC key loaded from a PEM SPKI with an uncompressed point, with a
 * compressed point, with explicit curve parameters, and from its JWK: one
 * fingerprint, the RFC 7638 thumbprint, which is computed here again.
 */

static void
test_fp_ec(const char *file, const char *crv, size_t size)
{
    int            i;
    char          *pem, *forms[4], jwk[512], json[512], *p;
    BIO           *bio;
    EVP_PKEY      *pkey;
    gw_keyset_t    ks;
    unsigned char  fp[GW_KEY_FP_LEN], first[GW_KEY_FP_LEN];
    const char    *names[4] = { "uncompressed", "compressed", "explicit",
                                "JWK" };

    memset(&ks, 0, sizeof(ks));

    pem = read_text(file);
    bio = BIO_new_mem_buf(pem, -1);
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) {
        bail_out("cannot read an EC test key");
    }

    BIO_free(bio);

    forms[0] = ec_pem_as(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                         "uncompressed");
    forms[1] = ec_pem_as(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                         "compressed");
    forms[2] = ec_pem_as(pkey, OSSL_PKEY_PARAM_EC_ENCODING, "explicit");
    ec_jwk(pkey, crv, size, jwk);
    forms[3] = jwk;

    ok(strcmp(forms[0], forms[1]) != 0 && strcmp(forms[0], forms[2]) != 0
       && strcmp(forms[1], forms[2]) != 0, "%s: three different PEMs", crv);

    for (i = 0; i < 4; i++) {
        is_int(load1(&ks, forms[i], GW_KEY_FMT_AUTO), 0, "%s %s loads: %s",
               crv, names[i], err);

        if (ks.nkeys != 1) {
            continue;
        }

        if (i == 0) {
            memcpy(first, ks.keys[0].fp, GW_KEY_FP_LEN);
            continue;
        }

        ok(memcmp(first, ks.keys[0].fp, GW_KEY_FP_LEN) == 0,
           "%s %s: the fingerprint of the uncompressed form", crv,
           names[i]);
    }

    /* {"crv":..,"kty":"EC","x":..,"y":..}: the JWK's members, reordered */
    p = strstr(jwk, "\"x\"");
    sprintf(json, "{\"crv\":\"%s\",\"kty\":\"EC\",%s", crv, p);
    EVP_Digest(json, strlen(json), fp, NULL, EVP_sha256(), NULL);
    ok(memcmp(first, fp, GW_KEY_FP_LEN) == 0,
       "%s: the fingerprint is the RFC 7638 thumbprint", crv);

    gw_keyset_free(&ks);
    EVP_PKEY_free(pkey);
    free(forms[0]);
    free(forms[1]);
    free(forms[2]);
    free(pem);
}


static void
test_fp(void)
{
    char           *pem, jwk[1024], e[16], n[600], json[1024];
    BIO            *bio;
    EVP_PKEY       *pkey;
    gw_keyset_t     ks;
    unsigned char   fp[GW_KEY_FP_LEN];

    test_fp_ec("ec256.pem", "P-256", 32);
    test_fp_ec("ec384.pem", "P-384", 48);
    test_fp_ec("ec521.pem", "P-521", 66);

    /* RSA: PEM and JWK; {"e":..,"kty":"RSA","n":..} */

    memset(&ks, 0, sizeof(ks));
    pem = read_text("rsa.pem");
    bio = BIO_new_mem_buf(pem, -1);
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) {
        bail_out("cannot read rsa.pem");
    }

    BIO_free(bio);
    bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E, e);
    bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N, n);
    EVP_PKEY_free(pkey);

    is_int(load1(&ks, pem, GW_KEY_FMT_AUTO), 0, "RSA PEM loads");
    memcpy(fp, ks.keys[0].fp, GW_KEY_FP_LEN);

    sprintf(jwk, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", n, e);
    is_int(load1(&ks, jwk, GW_KEY_FMT_AUTO), 0, "RSA JWK loads: %s", err);
    ok(memcmp(fp, ks.keys[0].fp, GW_KEY_FP_LEN) == 0,
       "RSA PEM and JWK: one fingerprint");

    sprintf(json, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
    EVP_Digest(json, strlen(json), fp, NULL, EVP_sha256(), NULL);
    ok(memcmp(fp, ks.keys[0].fp, GW_KEY_FP_LEN) == 0,
       "RSA: the fingerprint is the RFC 7638 thumbprint");

    gw_keyset_free(&ks);
    free(pem);
}


int
main(void)
{
    keydir = getenv("GW_TEST_KEYS");
    if (keydir == NULL) {
        keydir = "t/data/keys";
    }

    test_pem();
    test_hmac();
    test_jwks();
    test_jwk_rules();
    test_fp();

    return done_testing();
}
