
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for JWS compact tokens (lib/jose/gw_jws.h), the bytes a
 * client puts in its Authorization header.  The input is the token; it is
 * parsed with the default cap GW_JWS_MAX_LEN, as the gateway does, and
 * inputs above the cap are ignored, except that every input is also parsed
 * with a cap of one byte less than its size, which must fail.  A parsed
 * token is then:
 *   - checked against the parse contract: a known alg, a kid of at most
 *     GW_KID_MAX bytes, a signing input that ends at the second dot of the
 *     token, a signature, a header and a payload that are objects;
 *   - verified, as the gateway selects keys (by kid, then the keys without
 *     a kid), against a fixed key set: the public keys of t/data/keys
 *     (jwks.json less its "enc" key: RSA 2048, P-256, P-384, P-521,
 *     Ed25519, all with a kid) and the 64-byte HMAC secret hmac64.secret
 *     without a kid; the corpus holds tokens signed with their private
 *     halves, so both outcomes are reached;
 *   - verified against every key of the set whatever the selection, where
 *     a key whose algorithms do not include the token's alg must fail:
 *     the set also holds the HMAC secret narrowed to HS256 under the kid
 *     "hs256-only", which a valid HS384 or HS512 token must not pass;
 *   - with OpenSSL's error queue empty after each verification;
 *   - and its payload goes through gw_jwt_check(), gw_json_path() and
 *     gw_json_render() as the gateway's claim checks and variables do.
 * The fast way through plain headers, gw_jws_header_plain(), is compared
 * with jansson on the whole input and on its first segment decoded: what
 * it takes, json_loadb() must take as an object with the same alg, kid
 * and typ and nothing but "alg", "typ" and "kid"; a parsed token's typ
 * (kept, or noted as typ_other) must be the header tree's.
 * A payload the plain scanner took (jws->plain) has no tree until
 * gw_jws_payload(): then it must have one, an object, and
 * gw_jwt_check_plain() must agree with gw_jwt_check() on it under the
 * policy less its claim rules, and its noted jti with the tree's.
 * gw_jws_free() is called in every case, so LeakSanitizer sees any leak
 * of a failed parse.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "gw_jws.h"
#include "gw_jwt.h"


#define GW_JWS_FUZZ_NOW  1700000000LL

#define gw_fuzz_str(s)   { s, sizeof(s) - 1 }


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parsed(const gw_jws_t *jws, const uint8_t *data,
    size_t size);
static void check_verify(const gw_jws_t *jws);
static void check_claims(const gw_jws_t *jws);
static void check_plain_payload(gw_jws_t *jws);
static void check_plain(const uint8_t *h, size_t len);


/* t/data/keys/jwks.json without its "enc" key */

static const char  gw_fuzz_jwks[] =
    "{\"keys\": ["
    "{\"kty\": \"RSA\", \"kid\": \"rsa-1\", \"use\": \"sig\", \"e\": \"AQAB\""
    ", \"n\": \"nQ1_qoml93eegVENpAUjDkviKbXbLpwaB_x-9EJniMnAim_Br2UVNnAw"
    "WrMbw8jzp0dV7E0Gi2fSBdCsenoFv5yI1i_jD5ZIIrX465IgXb6kk5Th"
    "D3jtPQ0h73_nB4IwZBXFb7l9ZILP7GSxBQsY-wuu0PpCpoOGEK6IZyqo"
    "Xfw-BcHNSDC2jA-JX4e6s3hvM7EHep1uPUNS4iNVQUuoAAhVMoaUObUT"
    "jrOyIfw081D-7ZW3djTI2LCYsT6Wdkk3V03J-xo-Uxa0Ml6YrxZkEgyg"
    "5JzS9rXsJ4qK8fWM8y_bhl89BfB_D1-1myps0P2G1DI5h4Q4wZASUtMy"
    "KHsELQ\"}"
    ", {\"kty\": \"EC\", \"kid\": \"ec256-1\", \"use\": \"sig\""
    ", \"alg\": \"ES256\", \"crv\": \"P-256\""
    ", \"x\": \"oaaYXslUN3zAjvt8hOW8vck2ctRZLxrA-azqIMlosOY\""
    ", \"y\": \"7vMjdj-qImJo3xugILNQXClD6Z-8iU4w0rN5PPFw2-Q\"}"
    ", {\"kty\": \"EC\", \"kid\": \"ec384-1\", \"crv\": \"P-384\""
    ", \"x\": \"R560fJYzcxcypWVyQ9z-wb9FesHk3cNuZEb6OtH-YeNN-qS3wwaFFEWl"
    "sluAhIW1\""
    ", \"y\": \"fOC1Fk1COtrWy1HzOK7Yi0wRw0ex4TGwfygw1omGqnmaf36yTOuNwSrl"
    "7j_sX50M\"}"
    ", {\"kty\": \"EC\", \"kid\": \"ec521-1\", \"crv\": \"P-521\""
    ", \"x\": \"ATKSNw_8j2YNxjghNLh3uZeO2DvrC6Ca5fdG--jvXf8MCVQQdgXZpaAS"
    "RqFefYprIgyt3LtdAbPa2sWYLKFEjSNP\""
    ", \"y\": \"AWV_9JL7HW1fpT05TKCshiHndalc0Bcvk2coXfwxupSIh5l1ItTIu-FO"
    "5yHLqfhpx5T51_fDgoSSieMxUb3DnQS-\"}"
    ", {\"kty\": \"OKP\", \"kid\": \"ed25519-1\", \"crv\": \"Ed25519\""
    ", \"x\": \"ATpwgW7cHDjdqGDA-3xr4l6bx5D7R2CWXyHV-zsMIcc\"}"
    "]}";

/* t/data/keys/hmac64.secret: HS256, HS384 and HS512 */

static const char  gw_fuzz_hmac[] =
    "ea69f93aa607c9f470e839fcdef4c2535fcc9c1fc75177f65b73075cdddf1f41";


static const gw_str_t  audiences[] = {
    gw_fuzz_str("api")
};

static const gw_str_t  scopes[] = {
    gw_fuzz_str("read")
};

static const gw_jwt_claim_rule_t  rules[] = {
    { gw_fuzz_str("realm_access.roles"), NULL, 0 }
};

static const gw_jwt_policy_t  policy = {
    30, 0, 1, 0, NULL, 0, audiences, 1, rules, 1, scopes, 1
};


static gw_keyset_t  keys;


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[256];

    if (gw_keyset_load(&keys, (const unsigned char *) gw_fuzz_jwks,
                       sizeof(gw_fuzz_jwks) - 1, GW_KEY_FMT_JWK, NULL, 0,
                       err, sizeof(err))
        != 0
        || gw_keyset_load(&keys, (const unsigned char *) gw_fuzz_hmac,
                          sizeof(gw_fuzz_hmac) - 1, GW_KEY_FMT_HMAC, NULL,
                          0, err, sizeof(err))
           != 0
        || gw_keyset_load(&keys, (const unsigned char *) gw_fuzz_hmac,
                          sizeof(gw_fuzz_hmac) - 1, GW_KEY_FMT_HMAC,
                          "hs256-only", GW_ALG_BIT(GW_ALG_HS256), err,
                          sizeof(err))
           != 0)
    {
        fprintf(stderr, "jws fuzz driver: key set: %s\n", err);
        abort();
    }

    if (keys.nkeys != 7) {
        fprintf(stderr, "jws fuzz driver: %zu keys, not 7\n", keys.nkeys);
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc;
    ssize_t         n;
    gw_jws_t        jws;
    const char     *err;
    const uint8_t  *dot;
    unsigned char   plain[GW_JWS_MAX_LEN];

    if (size > GW_JWS_MAX_LEN) {
        return 0;
    }

    if (size > 0) {
        err = NULL;
        rc = gw_jws_parse(&jws, data, size, size - 1, &err);
        gw_jws_free(&jws);

        if (rc != -1 || err == NULL) {
            abort();
        }
    }

    check_plain(data, size);

    dot = memchr(data, '.', size);

    if (dot != NULL) {
        n = gw_b64url_decode(plain, data, dot - data);

        if (n > 0) {
            check_plain(plain, n);
        }
    }

    err = NULL;

    rc = gw_jws_parse(&jws, data, size, GW_JWS_MAX_LEN, &err);

    if (rc == 0) {
        check_parsed(&jws, data, size);
        check_plain_payload(&jws);
        check_verify(&jws);
        check_claims(&jws);

    } else if (rc != -1 || err == NULL) {
        abort();
    }

    gw_jws_free(&jws);

    if (jws.header != NULL || jws.payload != NULL || jws.sig != NULL) {
        abort();
    }

    return 0;
}


static void
check_parsed(const gw_jws_t *jws, const uint8_t *data, size_t size)
{
    if (jws->alg <= GW_ALG_UNKNOWN || jws->alg >= GW_ALG_COUNT) {
        abort();
    }

    if (jws->kid != NULL && jws->kid_len > GW_KID_MAX) {
        abort();
    }

    if (jws->typ != NULL
        && (jws->typ != jws->typ_buf || jws->typ_len > GW_TYP_MAX
            || jws->typ_other))
    {
        abort();
    }

    if (jws->signing_input != data
        || jws->signing_input_len + 2 > size
        || data[jws->signing_input_len] != '.'
        || memchr(data, '.', jws->signing_input_len) == NULL
        || memchr(data + jws->signing_input_len + 1, '.',
                  size - jws->signing_input_len - 1) != NULL)
    {
        abort();
    }

    if (jws->sig == NULL || jws->sig_len == 0
        || (jws->header != NULL && !json_is_object(jws->header))
        || (jws->plain ? jws->payload != NULL
                       : !json_is_object(jws->payload)))
    {
        abort();
    }
}


static void
check_plain(const uint8_t *h, size_t len)
{
    size_t       n;
    json_t      *j, *v;
    gw_jws_t     jws;
    const char  *name;

    memset(&jws, 0, sizeof(gw_jws_t));

    if (!gw_jws_header_plain(&jws, h, len)) {
        return;
    }

    j = json_loadb((const char *) h, len, JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(j)) {
        abort();
    }

    n = 1;
    v = json_object_get(j, "alg");
    name = gw_alg_name(jws.alg);

    if (!json_is_string(v) || strcmp(json_string_value(v), name) != 0
        || json_string_length(v) != strlen(name))
    {
        abort();
    }

    v = json_object_get(j, "kid");

    if ((v == NULL) != (jws.kid == NULL)) {
        abort();
    }

    if (v != NULL) {
        n++;

        if (!json_is_string(v) || json_string_length(v) != jws.kid_len
            || memcmp(json_string_value(v), jws.kid, jws.kid_len) != 0)
        {
            abort();
        }
    }

    v = json_object_get(j, "typ");

    if ((v == NULL) != (jws.typ == NULL)) {
        abort();
    }

    if (v != NULL) {
        n++;

        if (!json_is_string(v) || json_string_length(v) != jws.typ_len
            || memcmp(json_string_value(v), jws.typ, jws.typ_len) != 0)
        {
            abort();
        }
    }

    if (json_object_size(j) != n) {
        abort();
    }

    json_decref(j);
}


static void
check_verify(const gw_jws_t *jws)
{
    int              rc, found;
    size_t           i, pass;
    const char      *kid, *err;
    const gw_jwk_t  *key;

    found = 0;

    for (pass = 0; pass < 2; pass++) {

        /* pass 1: the keys without a kid, when none has the token's */

        if (pass == 1 && (found || jws->kid == NULL)) {
            break;
        }

        kid = (pass == 0) ? jws->kid : NULL;
        i = 0;

        while ((key = gw_keyset_next(&keys, &i, kid, jws->kid_len, jws->alg))
               != NULL)
        {
            if (pass == 1 && key->has_kid) {
                continue;
            }

            if ((key->algs & GW_ALG_BIT(jws->alg)) == 0) {
                abort();
            }

            found = 1;
            err = NULL;

            rc = gw_jws_verify(jws, key, &err);

            if ((rc != 0 && (rc != -1 || err == NULL))
                || ERR_peek_error() != 0)
            {
                abort();
            }
        }
    }

    /* every key, selected or not: one that does not fit must fail */

    for (i = 0; i < keys.nkeys; i++) {
        key = &keys.keys[i];
        err = NULL;

        rc = gw_jws_verify(jws, key, &err);

        if (rc == 0 && (key->algs & GW_ALG_BIT(jws->alg)) == 0) {
            abort();
        }

        if ((rc != 0 && (rc != -1 || err == NULL)) || ERR_peek_error() != 0)
        {
            abort();
        }
    }
}


static void
check_plain_payload(gw_jws_t *jws)
{
    int              rc, prc;
    json_t          *v;
    const char      *err, *perr;
    gw_jwt_policy_t  p;

    if (!jws->plain) {
        return;
    }

    if (!json_is_object(gw_jws_payload(jws))) {
        abort();
    }

    p = policy;
    p.claims = NULL;
    p.nclaims = 0;

    err = NULL;
    perr = NULL;

    rc = gw_jwt_check(jws->payload, &p, GW_JWS_FUZZ_NOW, &err);
    prc = gw_jwt_check_plain(&jws->claims, &p, GW_JWS_FUZZ_NOW, &perr);

    if (rc != prc || (err == NULL) != (perr == NULL)
        || (err != NULL && strcmp(err, perr) != 0))
    {
        abort();
    }

    v = json_object_get(jws->payload, "jti");

    if ((v == NULL) != (jws->claims.jti.type == GW_JWT_V_NONE)
        || (json_is_string(v) != (jws->claims.jti.type == GW_JWT_V_STRING))
        || (json_is_string(v)
            && (json_string_length(v) != jws->claims.jti.len
                || memcmp(json_string_value(v), jws->claims.jti.data,
                          jws->claims.jti.len)
                   != 0)))
    {
        abort();
    }
}


static void
check_claims(const gw_jws_t *jws)
{
    int          rc;
    char        *buf;
    json_t      *v;
    ssize_t      n;
    const char  *err;

    err = NULL;

    rc = gw_jwt_check(jws->payload, &policy, GW_JWS_FUZZ_NOW, &err);

    if (rc != GW_JWT_OK
        && ((rc != GW_JWT_INVALID && rc != GW_JWT_SCOPE) || err == NULL))
    {
        abort();
    }

    v = gw_json_path(jws->payload, "realm_access.roles", 18);

    if (rc == GW_JWT_OK && v == NULL) {
        abort();
    }

    if (v == NULL) {
        v = gw_json_path(jws->payload, "sub", 3);
    }

    if (v == NULL) {
        return;
    }

    /* the gateway's first try at a variable is 256 bytes */

    buf = malloc(256);
    if (buf == NULL) {
        abort();
    }

    n = gw_json_render(v, ",", 1, buf, 256);

    if (n < -1 || n > 256) {
        abort();
    }

    free(buf);
}
