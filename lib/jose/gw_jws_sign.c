
/*
 * Copyright (C) Tollgate
 *
 * JWS signing (gw_jws_sign.h): what the identity service mints tokens
 * with, on its hot path.
 *
 * The costly parts of OpenSSL 3 are done once per signer, not once per
 * token: the digest is fetched, the EVP_PKEY_CTX is set up to sign a
 * digest (ECDSA, RSA PKCS #1 v1.5), the EdDSA digest context is kept, and
 * the base64url header is kept for the last typ asked.  A signature is
 * then one SHA-256 and one private key operation; ECDSA's DER is turned
 * into R || S with the curve's fixed width.
 *
 * A kid defaults to the key's RFC 7638 thumbprint, which lib/jose already
 * computes for every key it loads: the public JWK is loaded back through
 * gw_keyset_load(), which also proves that a verifier takes it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "gw_jws_sign.h"


#define GW_SIGN_EC_SIZE    32       /* bytes of a P-256 coordinate */
#define GW_SIGN_RSA_BITS   2048     /* of a generated key */
#define GW_SIGN_SIG_MAX    1024     /* bytes: RSA up to 8192 bits */


struct gw_jws_signer_s {
    gw_alg_e         alg;
    EVP_PKEY        *pkey;
    EVP_PKEY_CTX    *pctx;          /* ES256, RS256: signs a digest */
    EVP_MD_CTX      *mctx;          /* EdDSA */
    EVP_MD          *md;            /* SHA-256, fetched once */
    size_t           sig_len;       /* JOSE signature: R || S, the
                                       modulus or 64 bytes */
    char            *hdr;           /* base64url header for typ */
    size_t           hdr_len;
    int              hdr_typ;       /* 1: hdr has typ, 0: none, -1: no
                                       hdr */
    char             typ[GW_JWS_TYP_MAX + 1];
    char             kid[GW_KID_MAX];
};


static gw_jws_signer_t *gw_jws_signer_new(gw_alg_e alg, EVP_PKEY *pkey,
    char *err, size_t errlen);
static int gw_jws_signer_fits(gw_alg_e alg, EVP_PKEY *pkey);
static int gw_jws_sign_bn(json_t *jwk, const char *name, EVP_PKEY *pkey,
    const char *param, size_t pad);
static int gw_jws_sign_b64(json_t *jwk, const char *name,
    const unsigned char *b, size_t len);
static int gw_jws_sign_header(gw_jws_signer_t *s, const char *typ);
static int gw_jws_sign_raw(gw_jws_signer_t *s, const unsigned char *in,
    size_t len, unsigned char *sig);


gw_jws_signer_t *
gw_jws_signer_generate(gw_alg_e alg, char *err, size_t errlen)
{
    EVP_PKEY  *pkey;

    switch (alg) {

    case GW_ALG_ES256:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;

    case GW_ALG_EDDSA:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;

    case GW_ALG_RS256:
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                                 (size_t) GW_SIGN_RSA_BITS);
        break;

    default:
        snprintf(err, errlen, "cannot sign with %s", gw_alg_name(alg));
        return NULL;
    }

    if (pkey == NULL) {
        ERR_clear_error();
        snprintf(err, errlen, "%s key generation failed", gw_alg_name(alg));
        return NULL;
    }

    return gw_jws_signer_new(alg, pkey, err, errlen);
}


gw_jws_signer_t *
gw_jws_signer_from_der(gw_alg_e alg, const unsigned char *der, size_t len,
    char *err, size_t errlen)
{
    EVP_PKEY             *pkey;
    const unsigned char  *p;

    p = der;

    pkey = d2i_AutoPrivateKey(NULL, &p, (long) len);

    if (pkey == NULL || p != der + len) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "not a private key");
        return NULL;
    }

    return gw_jws_signer_new(alg, pkey, err, errlen);
}


/* whether pkey is a key for alg: the type, the curve, the size */

static int
gw_jws_signer_fits(gw_alg_e alg, EVP_PKEY *pkey)
{
    char    group[32];
    size_t  n;

    switch (alg) {

    case GW_ALG_ES256:
        return EVP_PKEY_is_a(pkey, "EC")
               && EVP_PKEY_get_utf8_string_param(pkey,
                                                 OSSL_PKEY_PARAM_GROUP_NAME,
                                                 group, sizeof(group), &n)
                  == 1
               && strcmp(group, "prime256v1") == 0;

    case GW_ALG_EDDSA:
        return EVP_PKEY_is_a(pkey, "ED25519");

    case GW_ALG_RS256:
        return EVP_PKEY_is_a(pkey, "RSA")
               && EVP_PKEY_get_bits(pkey) >= GW_SIGN_RSA_BITS
               && EVP_PKEY_get_size(pkey) <= GW_SIGN_SIG_MAX;

    default:
        return 0;
    }
}


/*
 * Makes the signer of pkey (taken in every case) for alg: its contexts
 * and its kid, the thumbprint of the public JWK loaded back.
 */

static gw_jws_signer_t *
gw_jws_signer_new(gw_alg_e alg, EVP_PKEY *pkey, char *err, size_t errlen)
{
    char             *text;
    json_t           *jwk;
    gw_keyset_t       ks;
    gw_jws_signer_t  *s;
    unsigned char     kid[GW_KEY_FP_LEN * 2];

    if (!gw_jws_signer_fits(alg, pkey)) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "the key does not fit %s", gw_alg_name(alg));
        return NULL;
    }

    s = calloc(1, sizeof(gw_jws_signer_t));
    if (s == NULL) {
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    s->alg = alg;
    s->pkey = pkey;
    s->hdr_typ = -1;

    if (alg == GW_ALG_EDDSA) {
        s->sig_len = 64;
        s->mctx = EVP_MD_CTX_new();

        if (s->mctx == NULL
            || EVP_DigestSignInit(s->mctx, NULL, NULL, NULL, pkey) != 1)
        {
            goto failed;
        }

    } else {
        s->sig_len = (alg == GW_ALG_ES256) ? 2 * GW_SIGN_EC_SIZE
                                           : (size_t) EVP_PKEY_get_size(pkey);
        s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

        if (s->md == NULL || s->pctx == NULL
            || EVP_PKEY_sign_init(s->pctx) != 1
            || EVP_PKEY_CTX_set_signature_md(s->pctx, s->md) <= 0
            || (alg == GW_ALG_RS256
                && EVP_PKEY_CTX_set_rsa_padding(s->pctx, RSA_PKCS1_PADDING)
                   <= 0))
        {
            goto failed;
        }
    }

    /* the kid: the thumbprint of what a verifier loads */

    memset(&ks, 0, sizeof(gw_keyset_t));

    jwk = gw_jws_signer_jwk(s);
    text = (jwk != NULL) ? json_dumps(jwk, JSON_COMPACT) : NULL;
    json_decref(jwk);

    if (text == NULL) {
        goto failed;
    }

    if (gw_keyset_load(&ks, (unsigned char *) text, strlen(text),
                       GW_KEY_FMT_JWK, NULL, GW_ALG_BIT(alg), err, errlen)
        != 0)
    {
        free(text);
        gw_jws_signer_free(s);
        return NULL;
    }

    free(text);

    gw_b64url_encode(kid, ks.keys[0].fp, GW_KEY_FP_LEN);
    memcpy(s->kid, kid, gw_b64url_encoded_len(GW_KEY_FP_LEN));
    s->kid[gw_b64url_encoded_len(GW_KEY_FP_LEN)] = '\0';

    gw_keyset_free(&ks);

    return s;

failed:

    ERR_clear_error();
    gw_jws_signer_free(s);
    snprintf(err, errlen, "cannot make a %s signer", gw_alg_name(alg));

    return NULL;
}


int
gw_jws_signer_der(const gw_jws_signer_t *s, unsigned char **der, size_t *len)
{
    int                   n;
    unsigned char        *p;
    PKCS8_PRIV_KEY_INFO  *p8;

    p8 = EVP_PKEY2PKCS8(s->pkey);
    if (p8 == NULL) {
        ERR_clear_error();
        return -1;
    }

    p = NULL;
    n = i2d_PKCS8_PRIV_KEY_INFO(p8, &p);

    PKCS8_PRIV_KEY_INFO_free(p8);

    if (n <= 0) {
        ERR_clear_error();
        return -1;
    }

    /* OpenSSL's allocator: copied into the caller's */

    *der = malloc(n);
    if (*der == NULL) {
        OPENSSL_clear_free(p, n);
        return -1;
    }

    memcpy(*der, p, n);
    OPENSSL_clear_free(p, n);
    *len = n;

    return 0;
}


int
gw_jws_signer_set_kid(gw_jws_signer_t *s, const char *kid)
{
    size_t  i, n;

    n = strlen(kid);

    if (n == 0 || n >= GW_KID_MAX) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (!((kid[i] >= 'A' && kid[i] <= 'Z')
              || (kid[i] >= 'a' && kid[i] <= 'z')
              || (kid[i] >= '0' && kid[i] <= '9')
              || kid[i] == '.' || kid[i] == '_' || kid[i] == '-'))
        {
            return -1;
        }
    }

    memcpy(s->kid, kid, n + 1);

    /* the header names the kid */

    free(s->hdr);
    s->hdr = NULL;
    s->hdr_typ = -1;

    return 0;
}


const char *
gw_jws_signer_kid(const gw_jws_signer_t *s)
{
    return s->kid;
}


gw_alg_e
gw_jws_signer_alg(const gw_jws_signer_t *s)
{
    return s->alg;
}


json_t *
gw_jws_signer_jwk(const gw_jws_signer_t *s)
{
    int            rc;
    json_t        *jwk;
    size_t         n;
    unsigned char  pub[32];

    jwk = json_object();
    if (jwk == NULL) {
        return NULL;
    }

    switch (s->alg) {

    case GW_ALG_ES256:
        rc = json_object_set_new(jwk, "kty", json_string("EC"))
             || json_object_set_new(jwk, "crv", json_string("P-256"))
             || gw_jws_sign_bn(jwk, "x", s->pkey, OSSL_PKEY_PARAM_EC_PUB_X,
                               GW_SIGN_EC_SIZE)
             || gw_jws_sign_bn(jwk, "y", s->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
                               GW_SIGN_EC_SIZE);
        break;

    case GW_ALG_EDDSA:
        rc = EVP_PKEY_get_octet_string_param(s->pkey,
                                             OSSL_PKEY_PARAM_PUB_KEY, pub,
                                             sizeof(pub), &n)
             != 1
             || n != sizeof(pub)
             || json_object_set_new(jwk, "kty", json_string("OKP"))
             || json_object_set_new(jwk, "crv", json_string("Ed25519"))
             || gw_jws_sign_b64(jwk, "x", pub, n);
        break;

    default: /* GW_ALG_RS256 */
        rc = json_object_set_new(jwk, "kty", json_string("RSA"))
             || gw_jws_sign_bn(jwk, "n", s->pkey, OSSL_PKEY_PARAM_RSA_N, 0)
             || gw_jws_sign_bn(jwk, "e", s->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    }

    if (rc != 0
        || json_object_set_new(jwk, "kid", json_string(s->kid))
        || json_object_set_new(jwk, "alg", json_string(gw_alg_name(s->alg)))
        || json_object_set_new(jwk, "use", json_string("sig")))
    {
        ERR_clear_error();
        json_decref(jwk);
        return NULL;
    }

    return jwk;
}


/* jwk[name] = the base64url of pkey's number param (pad: see fp.c) */

static int
gw_jws_sign_bn(json_t *jwk, const char *name, EVP_PKEY *pkey,
    const char *param, size_t pad)
{
    int             rc, n;
    BIGNUM         *bn;
    unsigned char   b[GW_SIGN_SIG_MAX];

    bn = NULL;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        return -1;
    }

    n = BN_num_bytes(bn);

    if (n > GW_SIGN_SIG_MAX || (pad != 0 && (size_t) n > pad)) {
        BN_free(bn);
        return -1;
    }

    n = (pad != 0) ? (int) pad : (n > 0 ? n : 1);

    rc = (BN_bn2binpad(bn, b, n) == n) ? gw_jws_sign_b64(jwk, name, b, n)
                                       : -1;

    BN_free(bn);

    return rc;
}


static int
gw_jws_sign_b64(json_t *jwk, const char *name, const unsigned char *b,
    size_t len)
{
    size_t  n;
    char    text[gw_b64url_encoded_len(GW_SIGN_SIG_MAX) + 1];

    n = gw_b64url_encode((unsigned char *) text, b, len);

    return json_object_set_new(jwk, name, json_stringn(text, n));
}


/*
 * The base64url header for typ, kept for the next token with the same
 * typ: a service signs every token with one typ.
 */

static int
gw_jws_sign_header(gw_jws_signer_t *s, const char *typ)
{
    int     n;
    char    json[GW_JWS_TYP_MAX + GW_KID_MAX + 64];
    size_t  i, len;

    len = 0;

    if (s->hdr != NULL
        && (typ == NULL ? s->hdr_typ == 0
                        : s->hdr_typ == 1 && strcmp(s->typ, typ) == 0))
    {
        return 0;
    }

    if (typ != NULL) {
        len = strlen(typ);

        if (len == 0 || len > GW_JWS_TYP_MAX) {
            return -1;
        }

        for (i = 0; i < len; i++) {
            if (typ[i] < 0x20 || typ[i] > 0x7e || typ[i] == '"'
                || typ[i] == '\\')
            {
                return -1;
            }
        }

        n = snprintf(json, sizeof(json),
                     "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}",
                     gw_alg_name(s->alg), typ, s->kid);

    } else {
        n = snprintf(json, sizeof(json), "{\"alg\":\"%s\",\"kid\":\"%s\"}",
                     gw_alg_name(s->alg), s->kid);
    }

    if (n < 0 || (size_t) n >= sizeof(json)) {
        return -1;
    }

    free(s->hdr);

    s->hdr = malloc(gw_b64url_encoded_len((size_t) n) + 1);
    if (s->hdr == NULL) {
        s->hdr_typ = -1;
        return -1;
    }

    s->hdr_len = gw_b64url_encode((unsigned char *) s->hdr,
                                  (unsigned char *) json, n);

    if (typ != NULL) {
        memcpy(s->typ, typ, len + 1);
        s->hdr_typ = 1;

    } else {
        s->hdr_typ = 0;
    }

    return 0;
}


/* sig = the JOSE signature of in: s->sig_len bytes; 0 or -1 */

static int
gw_jws_sign_raw(gw_jws_signer_t *s, const unsigned char *in, size_t len,
    unsigned char *sig)
{
    size_t                n;
    unsigned              dlen;
    ECDSA_SIG            *es;
    const BIGNUM         *r, *rs;
    const unsigned char  *p;
    unsigned char         dgst[EVP_MAX_MD_SIZE];
    unsigned char         der[GW_SIGN_SIG_MAX];

    if (s->alg == GW_ALG_EDDSA) {
        n = s->sig_len;

        return (EVP_DigestSign(s->mctx, sig, &n, in, len) == 1
                && n == s->sig_len)
               ? 0 : -1;
    }

    if (EVP_Digest(in, len, dgst, &dlen, s->md, NULL) != 1) {
        return -1;
    }

    if (s->alg == GW_ALG_RS256) {
        n = s->sig_len;

        return (EVP_PKEY_sign(s->pctx, sig, &n, dgst, dlen) == 1
                && n == s->sig_len)
               ? 0 : -1;
    }

    /* ES256: DER, then R || S */

    n = sizeof(der);

    if (EVP_PKEY_sign(s->pctx, der, &n, dgst, dlen) != 1) {
        return -1;
    }

    p = der;

    es = d2i_ECDSA_SIG(NULL, &p, (long) n);
    if (es == NULL) {
        return -1;
    }

    ECDSA_SIG_get0(es, &r, &rs);

    if (BN_bn2binpad(r, sig, GW_SIGN_EC_SIZE) != GW_SIGN_EC_SIZE
        || BN_bn2binpad(rs, sig + GW_SIGN_EC_SIZE, GW_SIGN_EC_SIZE)
           != GW_SIGN_EC_SIZE)
    {
        ECDSA_SIG_free(es);
        return -1;
    }

    ECDSA_SIG_free(es);

    return 0;
}


char *
gw_jws_sign(gw_jws_signer_t *s, const char *typ,
    const unsigned char *payload, size_t len, size_t *out_len)
{
    char           *out, *p;
    size_t          size, input_len;
    unsigned char   sig[GW_SIGN_SIG_MAX];

    if (gw_jws_sign_header(s, typ) != 0) {
        return NULL;
    }

    size = s->hdr_len + 1 + gw_b64url_encoded_len(len) + 1
           + gw_b64url_encoded_len(s->sig_len) + 1;

    out = malloc(size);
    if (out == NULL) {
        return NULL;
    }

    p = out;
    memcpy(p, s->hdr, s->hdr_len);
    p += s->hdr_len;
    *p++ = '.';
    p += gw_b64url_encode((unsigned char *) p, payload, len);

    input_len = p - out;

    if (gw_jws_sign_raw(s, (unsigned char *) out, input_len, sig) != 0) {
        ERR_clear_error();
        free(out);
        return NULL;
    }

    *p++ = '.';
    p += gw_b64url_encode((unsigned char *) p, sig, s->sig_len);
    *p = '\0';

    *out_len = p - out;

    return out;
}


void
gw_jws_signer_free(gw_jws_signer_t *s)
{
    if (s == NULL) {
        return;
    }

    EVP_PKEY_CTX_free(s->pctx);
    EVP_MD_CTX_free(s->mctx);
    EVP_MD_free(s->md);
    EVP_PKEY_free(s->pkey);
    free(s->hdr);
    free(s);
}
