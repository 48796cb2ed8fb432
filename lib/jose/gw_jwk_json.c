
/*
 * Copyright (C) Tollgate
 *
 * JWK and JWKS parsing (RFC 7517, RFC 7518 section 6): JSON in, keys of a
 * key set out.  This file only reads JSON; what a key may verify is decided
 * in gw_jwk.c, since every JWK ends in gw_jwk_set_pkey() or
 * gw_jwk_set_secret(), the same two constructors PEM and HMAC input end
 * in.  A JWK thus cannot claim a wider algorithm mask than its type and
 * size give: its "alg" member may only narrow that mask.
 *
 * The input is parsed by jansson with duplicate member names rejected.
 * A JWKS follows RFC 7517 section 5 for keys it does not understand
 * (unknown "kty", curve or "alg", "use" other than "sig", "key_ops"
 * without "verify"): they are skipped.  A key that it does understand but
 * that is broken or weak (bad base64url, wrong coordinate size, RSA under
 * 2048 bits, an "alg" that does not fit the key) fails the whole load: a
 * half-loaded key set would fail later, per request, where it is harder
 * to see.
 *
 * Caps: GW_KEYSET_MAX keys in a JWKS, GW_KID_MAX bytes of "kid", an RSA
 * modulus of GW_RSA_MAX_LEN bytes, an "oct" secret of GW_SECRET_MAX bytes.
 * Errors are short static phrases: jansson's own messages quote the
 * input, which may be a secret, so they are not passed on.
 */


#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "gw_jwk_int.h"


#define GW_RSA_MAX_LEN    2048      /* modulus bytes: OpenSSL's own 16384 */
#define GW_SECRET_MAX     4096      /* bytes of a JWK "k" */
#define GW_JWK_SKIP       1         /* a key that a JWKS passes over */


static int gw_jwk_parse(gw_jwk_t *key, const json_t *jwk,
    const char **reason);
static int gw_jwk_parse_rsa(gw_jwk_t *key, const json_t *jwk,
    const char **reason);
static int gw_jwk_parse_ec(gw_jwk_t *key, const json_t *jwk,
    const char **reason);
static int gw_jwk_parse_okp(gw_jwk_t *key, const json_t *jwk,
    const char **reason);
static int gw_jwk_parse_oct(gw_jwk_t *key, const json_t *jwk,
    const char **reason);
static int gw_jwk_usable(const json_t *jwk, const char **reason);
static unsigned char *gw_jwk_b64(const json_t *jwk, const char *name,
    size_t max, size_t *len);


/*
 * Parses data (len bytes), a JWK or a JWKS ({"keys": [...]}), and appends
 * its keys to ks.  Keys a JWKS skips are left out; a broken key fails the
 * load.  Returns 0, or -1 with a reason in err, leaving in ks the keys
 * appended so far: the caller passes a private set and frees it.
 */

int
gw_keyset_load_json(gw_keyset_t *ks, const unsigned char *data, size_t len,
    char *err, size_t errlen)
{
    int           rc;
    size_t        i;
    json_t       *root, *keys;
    gw_jwk_t      key;
    const char   *reason;
    json_error_t  jerr;

    root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES,
                      &jerr);
    if (root == NULL) {

        /* jerr.text may quote the input: report only where it broke */

        gw_jwk_error(err, errlen, "invalid JSON at line %d, column %d",
                     jerr.line, jerr.column);
        return -1;
    }

    rc = -1;

    if (!json_is_object(root)) {
        gw_jwk_error(err, errlen, "JWK is not a JSON object");
        goto done;
    }

    keys = json_object_get(root, "keys");

    if (keys == NULL) {
        memset(&key, 0, sizeof(gw_jwk_t));

        if (gw_jwk_parse(&key, root, &reason) != 0) {
            gw_jwk_error(err, errlen, "JWK: %s", reason);
            goto done;
        }

        if (gw_keyset_push(ks, &key) != 0) {
            gw_jwk_free(&key);
            gw_jwk_error(err, errlen, "out of memory");
            goto done;
        }

        rc = 0;
        goto done;
    }

    if (!json_is_array(keys)) {
        gw_jwk_error(err, errlen, "JWKS \"keys\" is not an array");
        goto done;
    }

    if (json_array_size(keys) > GW_KEYSET_MAX) {
        gw_jwk_error(err, errlen, "JWKS holds more than %d keys",
                     GW_KEYSET_MAX);
        goto done;
    }

    for (i = 0; i < json_array_size(keys); i++) {
        memset(&key, 0, sizeof(gw_jwk_t));

        switch (gw_jwk_parse(&key, json_array_get(keys, i), &reason)) {

        case 0:
            break;

        case GW_JWK_SKIP:
            continue;

        default:
            gw_jwk_error(err, errlen, "JWKS key %zu: %s", i + 1, reason);
            goto done;
        }

        if (gw_keyset_push(ks, &key) != 0) {
            gw_jwk_free(&key);
            gw_jwk_error(err, errlen, "out of memory");
            goto done;
        }
    }

    rc = 0;

done:

    json_decref(root);

    return rc;
}


/*
 * Builds key from one JWK object.  Returns 0; GW_JWK_SKIP for a key that is
 * not for signatures or of a kind we do not implement; or -1 for a broken
 * key.  *reason says why in both latter cases; key holds nothing then.
 */

static int
gw_jwk_parse(gw_jwk_t *key, const json_t *jwk, const char **reason)
{
    int          rc;
    size_t       len;
    json_t      *v;
    gw_alg_e     alg;
    const char  *kty;

    if (!json_is_object(jwk)) {
        *reason = "not a JSON object";
        return -1;
    }

    kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty == NULL) {
        *reason = "missing or non-string \"kty\"";
        return -1;
    }

    rc = gw_jwk_usable(jwk, reason);
    if (rc != 0) {
        return rc;
    }

    len = 0;
    alg = GW_ALG_UNKNOWN;

    v = json_object_get(jwk, "alg");
    if (v != NULL) {
        if (!json_is_string(v)) {
            *reason = "non-string \"alg\"";
            return -1;
        }

        alg = gw_alg_from_name(json_string_value(v), json_string_length(v));
        if (alg == GW_ALG_UNKNOWN) {
            *reason = "\"alg\" is not a signature algorithm we implement";
            return GW_JWK_SKIP;
        }
    }

    v = json_object_get(jwk, "kid");
    if (v != NULL) {
        if (!json_is_string(v)) {
            *reason = "non-string \"kid\"";
            return -1;
        }

        len = json_string_length(v);
        if (len > GW_KID_MAX) {
            *reason = "\"kid\" too long";
            return -1;
        }
    }

    if (strcmp(kty, "RSA") == 0) {
        rc = gw_jwk_parse_rsa(key, jwk, reason);

    } else if (strcmp(kty, "EC") == 0) {
        rc = gw_jwk_parse_ec(key, jwk, reason);

    } else if (strcmp(kty, "OKP") == 0) {
        rc = gw_jwk_parse_okp(key, jwk, reason);

    } else if (strcmp(kty, "oct") == 0) {
        rc = gw_jwk_parse_oct(key, jwk, reason);

    } else {
        *reason = "unsupported \"kty\"";
        return GW_JWK_SKIP;
    }

    if (rc != 0) {
        return rc;
    }

    if (alg != GW_ALG_UNKNOWN) {
        if ((key->algs & GW_ALG_BIT(alg)) == 0) {
            *reason = "\"alg\" does not fit the key";
            gw_jwk_free(key);
            return -1;
        }

        key->algs = GW_ALG_BIT(alg);
    }

    if (v != NULL) {
        memcpy(key->kid, json_string_value(v), len);
        key->kid[len] = '\0';
        key->kid_len = len;
        key->has_kid = 1;
    }

    return 0;
}


/* "use" and "key_ops" (RFC 7517 sections 4.2, 4.3): 0, skip, or -1 */

static int
gw_jwk_usable(const json_t *jwk, const char **reason)
{
    size_t        i;
    json_t       *v, *op;
    const char   *s;
    unsigned      verify;

    v = json_object_get(jwk, "use");
    if (v != NULL) {
        s = json_string_value(v);
        if (s == NULL) {
            *reason = "non-string \"use\"";
            return -1;
        }

        if (strcmp(s, "sig") != 0) {
            *reason = "key \"use\" is not \"sig\"";
            return GW_JWK_SKIP;
        }
    }

    v = json_object_get(jwk, "key_ops");
    if (v == NULL) {
        return 0;
    }

    if (!json_is_array(v)) {
        *reason = "\"key_ops\" is not an array";
        return -1;
    }

    verify = 0;

    json_array_foreach(v, i, op) {
        s = json_string_value(op);
        if (s == NULL) {
            *reason = "non-string in \"key_ops\"";
            return -1;
        }

        if (strcmp(s, "verify") == 0) {
            verify = 1;
        }
    }

    if (!verify) {
        *reason = "\"key_ops\" lacks \"verify\"";
        return GW_JWK_SKIP;
    }

    return 0;
}


static int
gw_jwk_parse_rsa(gw_jwk_t *key, const json_t *jwk, const char **reason)
{
    int              rc;
    BIGNUM          *n, *e;
    size_t           n_len, e_len;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    unsigned char   *nb, *eb;
    OSSL_PARAM_BLD  *bld;

    rc = -1;
    n = NULL;
    e = NULL;
    pkey = NULL;
    params = NULL;
    ctx = NULL;
    bld = NULL;

    nb = gw_jwk_b64(jwk, "n", GW_RSA_MAX_LEN, &n_len);
    eb = gw_jwk_b64(jwk, "e", 8, &e_len);

    if (nb == NULL || eb == NULL) {
        *reason = "missing or invalid \"n\" or \"e\"";
        goto done;
    }

    *reason = "out of memory";

    n = BN_bin2bn(nb, (int) n_len, NULL);
    e = BN_bin2bn(eb, (int) e_len, NULL);

    if (n == NULL || e == NULL) {
        goto done;
    }

    if (BN_num_bits(n) < GW_RSA_MIN_BITS) {
        *reason = "RSA key shorter than 2048 bits";
        goto done;
    }

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
    {
        goto done;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) {
        goto done;
    }

    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (ctx == NULL) {
        goto done;
    }

    if (EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        *reason = "invalid RSA key";
        goto done;
    }

    rc = gw_jwk_set_pkey(key, pkey, reason);

done:

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(nb);
    free(eb);

    return rc;
}


/*
 * "x" and "y" must be the full size of a coordinate (RFC 7518 section
 * 6.2.1.2); the point they make is checked to lie on the curve.
 */

static int
gw_jwk_parse_ec(gw_jwk_t *key, const json_t *jwk, const char **reason)
{
    int                    rc;
    size_t                 x_len, y_len;
    EVP_PKEY              *pkey;
    OSSL_PARAM            *params;
    const char            *crv;
    EVP_PKEY_CTX          *ctx;
    unsigned char         *x, *y;
    OSSL_PARAM_BLD        *bld;
    const gw_jwk_curve_t  *curve;
    unsigned char          point[1 + 2 * 66];

    crv = json_string_value(json_object_get(jwk, "crv"));
    if (crv == NULL) {
        *reason = "missing or non-string \"crv\"";
        return -1;
    }

    curve = gw_jwk_curve_by_crv(crv);
    if (curve == NULL) {
        *reason = "unsupported EC curve";
        return GW_JWK_SKIP;
    }

    rc = -1;
    pkey = NULL;
    params = NULL;
    ctx = NULL;
    bld = NULL;

    x = gw_jwk_b64(jwk, "x", curve->size, &x_len);
    y = gw_jwk_b64(jwk, "y", curve->size, &y_len);

    if (x == NULL || y == NULL || x_len != curve->size
        || y_len != curve->size)
    {
        *reason = "missing or invalid \"x\" or \"y\"";
        goto done;
    }

    /* an uncompressed point (SEC 1 section 2.3.3) */

    point[0] = 0x04;
    memcpy(point + 1, x, x_len);
    memcpy(point + 1 + x_len, y, y_len);

    *reason = "out of memory";

    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            curve->group, 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             point, 1 + 2 * curve->size))
    {
        goto done;
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) {
        goto done;
    }

    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) {
        goto done;
    }

    if (EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        *reason = "invalid EC public key";
        goto done;
    }

    rc = gw_jwk_set_pkey(key, pkey, reason);

done:

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);

    return rc;
}


static int
gw_jwk_parse_okp(gw_jwk_t *key, const json_t *jwk, const char **reason)
{
    size_t          len;
    EVP_PKEY       *pkey;
    const char     *crv;
    unsigned char  *x;

    crv = json_string_value(json_object_get(jwk, "crv"));
    if (crv == NULL) {
        *reason = "missing or non-string \"crv\"";
        return -1;
    }

    if (strcmp(crv, "Ed25519") != 0) {
        *reason = "unsupported OKP curve";
        return GW_JWK_SKIP;
    }

    x = gw_jwk_b64(jwk, "x", 32, &len);
    if (x == NULL || len != 32) {
        free(x);
        *reason = "missing or invalid \"x\"";
        return -1;
    }

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, len);

    free(x);

    if (pkey == NULL) {
        *reason = "invalid Ed25519 key";
        return -1;
    }

    return gw_jwk_set_pkey(key, pkey, reason);
}


static int
gw_jwk_parse_oct(gw_jwk_t *key, const json_t *jwk, const char **reason)
{
    int             rc;
    size_t          len;
    unsigned char  *k;

    k = gw_jwk_b64(jwk, "k", GW_SECRET_MAX, &len);
    if (k == NULL) {
        *reason = "missing or invalid \"k\"";
        return -1;
    }

    rc = gw_jwk_set_secret(key, k, len, reason);

    OPENSSL_cleanse(k, len);
    free(k);

    return rc;
}


/*
 * Decodes the base64url string member name of jwk into a malloc()ed
 * buffer of at most max bytes.  Returns it with *len set, or NULL when the
 * member is missing, not a string, empty, too long, or not strict
 * base64url.
 */

static unsigned char *
gw_jwk_b64(const json_t *jwk, const char *name, size_t max, size_t *len)
{
    size_t          n;
    json_t         *v;
    ssize_t         rc;
    unsigned char  *buf;

    v = json_object_get(jwk, name);
    if (!json_is_string(v)) {
        return NULL;
    }

    n = json_string_length(v);

    if (n == 0 || gw_b64url_decoded_len(n) > max) {
        return NULL;
    }

    buf = malloc(gw_b64url_decoded_len(n));
    if (buf == NULL) {
        return NULL;
    }

    rc = gw_b64url_decode(buf, (const unsigned char *) json_string_value(v),
                          n);
    if (rc <= 0) {
        free(buf);
        return NULL;
    }

    *len = rc;

    return buf;
}
