
/*
 * Copyright (C) Tollgate
 *
 * Key fingerprints: the JWK thumbprint of RFC 7638, SHA-256 over the
 * key's required JWK members in lexicographic order, without white space:
 *
 *   EC    {"crv":"P-256","kty":"EC","x":"...","y":"..."}
 *   RSA   {"e":"AQAB","kty":"RSA","n":"..."}
 *   OKP   {"crv":"Ed25519","kty":"OKP","x":"..."}
 *   oct   {"k":"...","kty":"oct"}
 *
 * The members are read back from the parsed key, never from its input:
 * EC coordinates as fixed-length big-endian numbers of the curve's size,
 * RSA's n and e without leading zero bytes (RFC 7518 section 6.3.1).  So
 * one key has one fingerprint whatever form it came in (a PEM SPKI with a
 * compressed or uncompressed point or explicit curve parameters, a
 * certificate, a JWK), and the verified-token cache, which remembers the
 * fingerprint of the key that verified a token, never misses for that.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "gw_jwk_int.h"


#define GW_JWK_MEMBER_MAX  2048     /* bytes of n: a 16384-bit modulus */


typedef struct {
    const char     *name;           /* "crv", "e", "k", "n", "x", "y" */
    const char     *text;           /* a string member, or NULL */
    unsigned char  *bytes;          /* else these, base64url-encoded */
    size_t          len;
} gw_jwk_member_t;


static int gw_jwk_fp_hash(unsigned char *fp, const char *kty,
    gw_jwk_member_t *m, size_t n);
static int gw_jwk_fp_bn(EVP_PKEY *pkey, const char *param,
    gw_jwk_member_t *m, size_t pad);


/*
 * Sets key->fp from pkey (RSA, EC on a curve of gw_jwk_curves, Ed25519)
 * as key->type says, or from key->secret for GW_KEY_HMAC.  The EC curve is
 * the one of JOSE name crv (NULL for other types).  Returns 0 or -1.
 */

int
gw_jwk_thumbprint(gw_jwk_t *key, EVP_PKEY *pkey, const gw_jwk_curve_t *crv)
{
    int              rc;
    size_t           i, n;
    gw_jwk_member_t  m[3];
    unsigned char    pub[32];

    memset(m, 0, sizeof(m));
    rc = -1;

    switch (key->type) {

    case GW_KEY_HMAC:
        m[0].name = "k";
        m[0].bytes = key->secret;
        m[0].len = key->secret_len;

        return gw_jwk_fp_hash(key->fp, "oct", m, 1);

    case GW_KEY_RSA:
        m[0].name = "e";
        m[1].name = "n";
        n = 2;

        if (gw_jwk_fp_bn(pkey, OSSL_PKEY_PARAM_RSA_E, &m[0], 0) == 0
            && gw_jwk_fp_bn(pkey, OSSL_PKEY_PARAM_RSA_N, &m[1], 0) == 0)
        {
            rc = gw_jwk_fp_hash(key->fp, "RSA", m, n);
        }

        break;

    case GW_KEY_EC:
        if (crv == NULL) {
            return -1;
        }

        m[0].name = "crv";
        m[0].text = crv->crv;
        m[1].name = "x";
        m[2].name = "y";
        n = 3;

        if (gw_jwk_fp_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &m[1], crv->size)
            == 0
            && gw_jwk_fp_bn(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &m[2], crv->size)
               == 0)
        {
            rc = gw_jwk_fp_hash(key->fp, "EC", m, n);
        }

        break;

    case GW_KEY_OKP:
        n = sizeof(pub);

        if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
                                            pub, sizeof(pub), &n) != 1
            || n != sizeof(pub))
        {
            return -1;
        }

        m[0].name = "crv";
        m[0].text = "Ed25519";
        m[1].name = "x";
        m[1].bytes = pub;
        m[1].len = n;

        return gw_jwk_fp_hash(key->fp, "OKP", m, 2);

    default:
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (m[i].text == NULL) {
            free(m[i].bytes);
        }
    }

    return rc;
}


/*
 * m->bytes = the big-endian value of pkey's number param, malloc()ed:
 * left-padded with zeros to pad bytes, or when pad is 0 without leading
 * zeros.  Returns 0, or -1 (also for a number over GW_JWK_MEMBER_MAX).
 */

static int
gw_jwk_fp_bn(EVP_PKEY *pkey, const char *param, gw_jwk_member_t *m,
    size_t pad)
{
    int      len;
    BIGNUM  *bn;

    bn = NULL;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        return -1;
    }

    len = BN_num_bytes(bn);

    if (len > GW_JWK_MEMBER_MAX || (pad != 0 && (size_t) len > pad)) {
        BN_free(bn);
        return -1;
    }

    m->len = pad != 0 ? pad : (size_t) (len > 0 ? len : 1);

    m->bytes = malloc(m->len);
    if (m->bytes == NULL) {
        BN_free(bn);
        return -1;
    }

    if (BN_bn2binpad(bn, m->bytes, m->len) != (int) m->len) {
        BN_free(bn);
        return -1;
    }

    BN_free(bn);

    return 0;
}


/*
 * fp = SHA-256 of {"<m[0]>":"...",...,"kty":"<kty>",...}: kty takes its
 * place among the members, which come sorted by name (each name sorts
 * before or after "kty" as written here).
 */

static int
gw_jwk_fp_hash(unsigned char *fp, const char *kty, gw_jwk_member_t *m,
    size_t n)
{
    int             rc, kty_done;
    char           *p;
    size_t          i, size;
    unsigned char  *json;

    size = sizeof("{\"kty\":\"\"}") + strlen(kty);

    for (i = 0; i < n; i++) {
        size += sizeof(",\"\":\"\"") + strlen(m[i].name)
                + (m[i].text != NULL ? strlen(m[i].text)
                                     : gw_b64url_encoded_len(m[i].len));
    }

    json = malloc(size);
    if (json == NULL) {
        return -1;
    }

    p = (char *) json;
    *p++ = '{';
    kty_done = 0;

    for (i = 0; i <= n; i++) {
        if (!kty_done && (i == n || strcmp(m[i].name, "kty") > 0)) {
            p += sprintf(p, "%s\"kty\":\"%s\"", i > 0 ? "," : "", kty);
            kty_done = 1;
        }

        if (i == n) {
            break;
        }

        p += sprintf(p, "%s\"%s\":\"", (i > 0 || kty_done) ? "," : "",
                     m[i].name);

        if (m[i].text != NULL) {
            p += sprintf(p, "%s", m[i].text);

        } else {
            p += gw_b64url_encode((unsigned char *) p, m[i].bytes, m[i].len);
        }

        *p++ = '"';
    }

    *p++ = '}';

    rc = EVP_Digest(json, (unsigned char *) p - json, fp, NULL,
                    EVP_sha256(), NULL) == 1 ? 0 : -1;

    /* an HMAC secret passed through here */
    OPENSSL_cleanse(json, size);
    free(json);

    return rc;
}
