
/*
 * Copyright (C) Tollgate
 *
 * HMAC verification (HS256, HS384, HS512), which gw_jws_verify() computes
 * from inner and outer digest states prepared once per key: the RFC 7515
 * A.1 token (a 64-byte key, exactly SHA-256's block), RFC 4231 test cases
 * 6 and 7 (a 131-byte key, longer than every block, hashed first), and
 * OpenSSL's one-shot HMAC() for keys around the 64 and 128-byte blocks and
 * inputs around the padding boundaries, with one key's states used again
 * and again across algorithms, good and bad signatures mixed.  Every
 * signature with one bit flipped, one byte short or one too many is
 * refused.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gw_jws.h"
#include "tap.h"


#define RFC7515_A1_KEY                                                        \
    "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1" \
    "qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}"

#define RFC7515_A1_TOKEN                                                      \
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"                                \
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"  \
    "LmNvbS9pc19yb290Ijp0cnVlfQ"                                              \
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


/* RFC 4231 sections 4.7 and 4.8: key 0xaa x 131 */

static const struct {
    const char  *data;
    const char  *mac[3];                /* HS256, HS384, HS512, in hex */
} rfc4231[] = {

    { "Test Using Larger Than Block-Size Key - Hash Key First",
      { "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
        "0c2ef6ab4030fe8296248df163f44952",
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
        "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" } },

    { "This is a test using a larger than block-size key and a larger than "
      "block-size data. The key needs to be hashed before being used by the "
      "HMAC algorithm.",
      { "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
        "a678cc31e799176d3860e6110c46523e",
        "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
        "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58" } }
};


static const gw_alg_e  hs[3] = { GW_ALG_HS256, GW_ALG_HS384, GW_ALG_HS512 };


static const EVP_MD *
hs_md(gw_alg_e alg)
{
    switch (alg) {
    case GW_ALG_HS256:
        return EVP_sha256();
    case GW_ALG_HS384:
        return EVP_sha384();
    default:
        return EVP_sha512();
    }
}


static size_t
unhex(const char *hex, unsigned char *out)
{
    size_t        i, n;
    unsigned int  b;

    n = strlen(hex) / 2;

    for (i = 0; i < n; i++) {
        if (sscanf(hex + 2 * i, "%2x", &b) != 1) {
            bail_out("bad hex in a test vector");
        }

        out[i] = (unsigned char) b;
    }

    return n;
}


static int
load_secret(gw_keyset_t *ks, const unsigned char *secret, size_t len)
{
    char  err[256];

    memset(ks, 0, sizeof(gw_keyset_t));

    if (gw_keyset_load(ks, secret, len, GW_KEY_FMT_HMAC, NULL, 0, err,
                       sizeof(err))
        != 0)
    {
        diag("cannot load a %zu-byte secret: %s", len, err);
        return -1;
    }

    if (ks->nkeys != 1 || ks->keys[0].secret_len != len) {
        diag("a %zu-byte secret loaded as %zu bytes", len,
             ks->keys[0].secret_len);
        gw_keyset_free(ks);
        return -1;
    }

    return 0;
}


/*
 * gw_jws_verify() of data under sig (len bytes) with alg, by a jws built
 * by hand: the HMAC needs only these fields.  Returns 0 when it verifies.
 */

static int
verify_raw(const gw_jwk_t *key, gw_alg_e alg, const unsigned char *data,
    size_t data_len, unsigned char *sig, size_t len)
{
    gw_jws_t     jws;
    const char  *err;

    memset(&jws, 0, sizeof(gw_jws_t));
    jws.alg = alg;
    jws.signing_input = data;
    jws.signing_input_len = data_len;
    jws.sig = sig;
    jws.sig_len = len;

    return gw_jws_verify(&jws, key, &err);
}


/*
 * 1 when sig verifies as it is and is refused with every single bit
 * flipped, one byte short and one byte added; sig has room for len + 1.
 */

static int
verify_tampered(const gw_jwk_t *key, gw_alg_e alg, const unsigned char *data,
    size_t data_len, unsigned char *sig, size_t len)
{
    int     bad;
    size_t  i, bit;

    bad = 0;

    if (verify_raw(key, alg, data, data_len, sig, len) != 0) {
        diag("%s: a good signature refused", gw_alg_name(alg));
        bad++;
    }

    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            sig[i] ^= (unsigned char) (1 << bit);

            if (verify_raw(key, alg, data, data_len, sig, len) == 0) {
                diag("%s: bit %zu of byte %zu flipped is accepted",
                     gw_alg_name(alg), bit, i);
                bad++;
            }

            sig[i] ^= (unsigned char) (1 << bit);
        }
    }

    sig[len] = 0;

    if (verify_raw(key, alg, data, data_len, sig, len - 1) == 0
        || verify_raw(key, alg, data, data_len, sig, len + 1) == 0)
    {
        diag("%s: a signature of the wrong length is accepted",
             gw_alg_name(alg));
        bad++;
    }

    /* and the states are whole after all those refusals */

    if (verify_raw(key, alg, data, data_len, sig, len) != 0) {
        diag("%s: a good signature refused after bad ones", gw_alg_name(alg));
        bad++;
    }

    return bad == 0;
}


static void
test_rfc7515(void)
{
    size_t           len, data_len;
    gw_jws_t         jws;
    gw_keyset_t      ks;
    const char      *err;
    const gw_jwk_t  *key;
    unsigned char    sig[EVP_MAX_MD_SIZE + 1];

    memset(&ks, 0, sizeof(gw_keyset_t));

    if (gw_keyset_load(&ks, (const unsigned char *) RFC7515_A1_KEY,
                       strlen(RFC7515_A1_KEY), GW_KEY_FMT_JWK, NULL, 0, NULL,
                       0)
        != 0
        || ks.nkeys != 1 || ks.keys[0].secret_len != 64)
    {
        bail_out("cannot load the RFC 7515 A.1 key");
    }

    key = &ks.keys[0];

    if (gw_jws_parse(&jws, (const unsigned char *) RFC7515_A1_TOKEN,
                     strlen(RFC7515_A1_TOKEN), GW_JWS_MAX_LEN, &err)
        != 0)
    {
        bail_out("cannot parse the RFC 7515 A.1 token");
    }

    if (jws.alg != GW_ALG_HS256 || jws.sig_len != 32) {
        bail_out("the RFC 7515 A.1 token is not a 32-byte HS256 one");
    }

    is_int(gw_jws_verify(&jws, key, &err), 0,
           "RFC 7515 A.1: verifies with its 64-byte key (one block)");
    ok(verify_raw(key, GW_ALG_HS256, jws.signing_input,
                  jws.signing_input_len, jws.sig, jws.sig_len)
       == 0,
       "RFC 7515 A.1: verifies again from the same states");

    len = jws.sig_len;
    memcpy(sig, jws.sig, len);
    data_len = jws.signing_input_len;

    gw_jws_free(&jws);

    ok(verify_tampered(key, GW_ALG_HS256,
                       (const unsigned char *) RFC7515_A1_TOKEN, data_len,
                       sig, len),
       "RFC 7515 A.1: every tampered signature refused");

    gw_keyset_free(&ks);
}


static void
test_rfc4231(void)
{
    size_t          i, j, len;
    gw_keyset_t     ks;
    unsigned char   key[131], sig[EVP_MAX_MD_SIZE + 1];

    memset(key, 0xaa, sizeof(key));

    if (load_secret(&ks, key, sizeof(key)) != 0) {
        bail_out("cannot load the RFC 4231 key");
    }

    for (i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
        for (j = 0; j < 3; j++) {
            len = unhex(rfc4231[i].mac[j], sig);

            ok(verify_tampered(&ks.keys[0], hs[j],
                               (const unsigned char *) rfc4231[i].data,
                               strlen(rfc4231[i].data), sig, len),
               "RFC 4231 case %zu, %s (131-byte key hashed first): "
               "verifies, every tampered signature refused", i + 6,
               gw_alg_name(hs[j]));
        }
    }

    /* a 32-byte HS256 MAC is not a truncated HS512 one, nor the reverse */

    len = unhex(rfc4231[0].mac[2], sig);

    ok(verify_raw(&ks.keys[0], GW_ALG_HS256,
                  (const unsigned char *) rfc4231[0].data,
                  strlen(rfc4231[0].data), sig, 32)
       != 0,
       "RFC 4231: an HS512 MAC cut to 32 bytes is no HS256 MAC");

    len = unhex(rfc4231[0].mac[0], sig);

    ok(verify_raw(&ks.keys[0], GW_ALG_HS384,
                  (const unsigned char *) rfc4231[0].data,
                  strlen(rfc4231[0].data), sig, len)
       != 0,
       "RFC 4231: an HS256 MAC is refused as HS384");

    gw_keyset_free(&ks);
}


/*
 * Keys of each length around the two block sizes against HMAC(); one key
 * serves all three algorithms (where long enough, RFC 7518 section 3.2)
 * and every input length, so its states are reused many times.
 */

static void
test_oneshot(void)
{
    int             bad, rc;
    size_t          i, j, k, n, nverified;
    unsigned        len;
    gw_keyset_t     ks;
    unsigned char   key[200], data[1000], sig[EVP_MAX_MD_SIZE + 1];

    static const size_t  key_lens[] = {
        32, 48, 63, 64, 65, 127, 128, 129, 200
    };

    static const size_t  data_lens[] = {
        0, 1, 55, 56, 63, 64, 65, 111, 112, 119, 120, 127, 128, 129, 300,
        1000
    };

    for (i = 0; i < sizeof(key); i++) {
        key[i] = (unsigned char) (i * 7 + 1);
    }

    for (i = 0; i < sizeof(data); i++) {
        data[i] = (unsigned char) ('!' + i % 90);
    }

    for (i = 0; i < sizeof(key_lens) / sizeof(key_lens[0]); i++) {
        bad = 0;
        nverified = 0;

        if (load_secret(&ks, key, key_lens[i]) != 0) {
            ok(0, "a %zu-byte secret loads", key_lens[i]);
            continue;
        }

        for (n = 0; n < sizeof(data_lens) / sizeof(data_lens[0]); n++) {
            for (j = 0; j < 3; j++) {
                if (key_lens[i] < (size_t) 32 + 16 * j) {
                    continue;
                }

                if (HMAC(hs_md(hs[j]), key, (int) key_lens[i], data,
                         data_lens[n], sig, &len)
                    == NULL)
                {
                    bail_out("HMAC() failed");
                }

                /* every third one first tampered, then whole again */

                k = (n + j) % 3;

                if (k == 0) {
                    sig[len - 1] ^= 0x80;
                    rc = verify_raw(&ks.keys[0], hs[j], data, data_lens[n],
                                    sig, len);
                    bad += (rc == 0);
                    sig[len - 1] ^= 0x80;
                }

                rc = verify_raw(&ks.keys[0], hs[j], data, data_lens[n], sig,
                                len);

                if (rc != 0) {
                    diag("%s, %zu-byte key, %zu bytes of input: refused",
                         gw_alg_name(hs[j]), key_lens[i], data_lens[n]);
                    bad++;
                }

                nverified++;
            }
        }

        ok(bad == 0 && nverified > 0,
           "%zu-byte key: %zu MACs as HMAC() computes them verify, "
           "the tampered ones do not", key_lens[i], nverified);

        gw_keyset_free(&ks);
    }

    /* exactly a block: the key is used as it is, never hashed first */

    for (i = 0; i < 128; i++) {
        key[i] = (unsigned char) (0xff - i);
    }

    for (j = 0; j < 3; j++) {
        n = (j == 0) ? 64 : 128;

        if (load_secret(&ks, key, n) != 0) {
            bail_out("cannot load a block-size secret");
        }

        HMAC(hs_md(hs[j]), key, (int) n, data, 100, sig, &len);

        ok(verify_tampered(&ks.keys[0], hs[j], data, 100, sig, len),
           "%s with a key of exactly its block (%zu bytes): verifies, "
           "every tampered signature refused", gw_alg_name(hs[j]), n);

        gw_keyset_free(&ks);
    }
}


int
main(void)
{
    test_rfc7515();
    test_rfc4231();
    test_oneshot();

    return done_testing();
}
