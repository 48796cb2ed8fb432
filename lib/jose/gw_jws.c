
/*
 * Copyright (C) Tollgate
 *
 * JWS compact parsing and verification, on the per-request path.  A parse
 * makes one allocation of its own: a buffer that takes the decoded
 * signature at its start and, behind it, each JSON segment in turn while
 * jansson parses it; the signature stays, the scratch is reused.  jansson
 * then allocates the two JSON trees, each parsed exactly once.  The signing
 * input is not copied: it points into the caller's token, which must
 * outlive the parsed jws.  The caps are the caller's max_len and jansson's
 * own nesting limit of 2048 levels.
 *
 * The checks follow RFC 7515 and RFC 8725 (JWT best practices): the header
 * is judged before the payload is even decoded; "alg" must match one of our
 * names exactly, so "none" in any spelling is refused; "crit" is refused
 * because we implement no extension; "b64": false (RFC 7797) would change
 * what is signed and is refused.
 *
 * Verification asks the key, not the token, which algorithms are allowed:
 * the token's "alg" must be in the key's mask and fit the key's type, so an
 * RSA public key can never be used as an HMAC secret.  Signature lengths
 * are exact: the RSA modulus size, the digest size for HMAC, 64 bytes for
 * Ed25519, and R || S of the curve's size for ECDSA, which is converted to
 * the DER form OpenSSL verifies.  HMAC results are compared in constant
 * time.  OpenSSL errors raised by a bad signature are popped before we
 * return, so they never pile up in a worker's error queue.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "gw_b64url.h"
#include "gw_jws.h"


#define GW_ECDSA_DER_MAX  144   /* P-521: SEQUENCE of two 67-byte INTEGERs */


typedef struct {
    gw_key_type_e     type;
    const EVP_MD   *(*md)(void);    /* NULL: EdDSA hashes by itself */
    unsigned          pss;
    size_t            ec_len;       /* ECDSA: bytes of R || S */
} gw_jws_alg_t;


static const gw_jws_alg_t  gw_jws_algs[GW_ALG_COUNT] = {
    { 0, NULL, 0, 0 },
    { GW_KEY_HMAC, EVP_sha256, 0, 0 },
    { GW_KEY_HMAC, EVP_sha384, 0, 0 },
    { GW_KEY_HMAC, EVP_sha512, 0, 0 },
    { GW_KEY_RSA, EVP_sha256, 0, 0 },
    { GW_KEY_RSA, EVP_sha384, 0, 0 },
    { GW_KEY_RSA, EVP_sha512, 0, 0 },
    { GW_KEY_RSA, EVP_sha256, 1, 0 },
    { GW_KEY_RSA, EVP_sha384, 1, 0 },
    { GW_KEY_RSA, EVP_sha512, 1, 0 },
    { GW_KEY_EC, EVP_sha256, 0, 64 },
    { GW_KEY_EC, EVP_sha384, 0, 96 },
    { GW_KEY_EC, EVP_sha512, 0, 132 },
    { GW_KEY_OKP, NULL, 0, 0 }
};


static int gw_jws_parse_header(gw_jws_t *jws, const char **err);
static int gw_jws_verify_hmac(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err);
static int gw_jws_verify_pkey(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err);
static int gw_jws_ecdsa_der(const unsigned char *sig, size_t len,
    unsigned char *der, size_t *der_len);


int
gw_jws_parse(gw_jws_t *jws, const unsigned char *token, size_t len,
    size_t max_len, const char **err)
{
    size_t                h_len, p_len, s_len, json_max;
    ssize_t               n;
    unsigned char        *scratch;
    const unsigned char  *dot1, *dot2, *end;

    memset(jws, 0, sizeof(gw_jws_t));

    if (len == 0) {
        *err = "empty token";
        return -1;
    }

    if (len > max_len) {
        *err = "token too long";
        return -1;
    }

    end = token + len;

    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', end - dot1 - 1) : NULL;

    if (dot2 == NULL || memchr(dot2 + 1, '.', end - dot2 - 1) != NULL) {
        *err = "token is not three dot-separated segments";
        return -1;
    }

    h_len = dot1 - token;
    p_len = dot2 - dot1 - 1;
    s_len = end - dot2 - 1;

    if (h_len == 0 || p_len == 0 || s_len == 0) {
        *err = "token has an empty segment";
        return -1;
    }

    json_max = gw_b64url_decoded_len(h_len > p_len ? h_len : p_len);

    jws->sig = malloc(gw_b64url_decoded_len(s_len) + json_max);
    if (jws->sig == NULL) {
        *err = "out of memory";
        return -1;
    }

    scratch = jws->sig + gw_b64url_decoded_len(s_len);

    /* the header first: a bad one spares decoding the payload */

    n = gw_b64url_decode(scratch, token, h_len);
    if (n <= 0) {
        *err = "JOSE header is not base64url";
        return -1;
    }

    jws->header = json_loadb((const char *) scratch, n,
                             JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(jws->header)) {
        *err = "JOSE header is not a JSON object";
        return -1;
    }

    if (gw_jws_parse_header(jws, err) != 0) {
        return -1;
    }

    n = gw_b64url_decode(scratch, dot1 + 1, p_len);
    if (n <= 0) {
        *err = "payload is not base64url";
        return -1;
    }

    jws->payload = json_loadb((const char *) scratch, n,
                              JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(jws->payload)) {
        *err = "payload is not a JSON object";
        return -1;
    }

    n = gw_b64url_decode(jws->sig, dot2 + 1, s_len);
    if (n <= 0) {
        *err = "signature is not base64url";
        return -1;
    }

    jws->sig_len = n;
    jws->signing_input = token;
    jws->signing_input_len = dot2 - token;

    return 0;
}


/* "alg", "kid", "crit" and "b64" of a header known to be an object */

static int
gw_jws_parse_header(gw_jws_t *jws, const char **err)
{
    size_t       len;
    json_t      *v;
    const char  *s;

    v = json_object_get(jws->header, "alg");
    if (!json_is_string(v)) {
        *err = "missing or non-string alg";
        return -1;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    jws->alg = gw_alg_from_name(s, len);

    if (jws->alg == GW_ALG_UNKNOWN) {
        *err = (len == 4 && strncasecmp(s, "none", 4) == 0)
               ? "alg none is not allowed" : "unsupported alg";
        return -1;
    }

    v = json_object_get(jws->header, "kid");
    if (v != NULL) {
        if (!json_is_string(v)) {
            *err = "kid is not a string";
            return -1;
        }

        if (json_string_length(v) > GW_KID_MAX) {
            *err = "kid too long";
            return -1;
        }

        jws->kid = json_string_value(v);
        jws->kid_len = json_string_length(v);
    }

    if (json_object_get(jws->header, "crit") != NULL) {
        *err = "unsupported crit header";
        return -1;
    }

    v = json_object_get(jws->header, "b64");
    if (v != NULL && !json_is_true(v)) {
        *err = "unsupported b64 header";
        return -1;
    }

    return 0;
}


int
gw_jws_verify(const gw_jws_t *jws, const gw_jwk_t *key, const char **err)
{
    const gw_jws_alg_t  *a;

    if (jws->alg == GW_ALG_UNKNOWN || (unsigned) jws->alg >= GW_ALG_COUNT
        || (key->algs & GW_ALG_BIT(jws->alg)) == 0)
    {
        *err = "key does not fit the algorithm";
        return -1;
    }

    a = &gw_jws_algs[jws->alg];

    /* the mask already implies it; a second, independent guard */

    if (key->type != a->type) {
        *err = "key does not fit the algorithm";
        return -1;
    }

    if (a->type == GW_KEY_HMAC) {
        return gw_jws_verify_hmac(jws, key, a, err);
    }

    return gw_jws_verify_pkey(jws, key, a, err);
}


static int
gw_jws_verify_hmac(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err)
{
    int            rc;
    unsigned       mac_len;
    const EVP_MD  *md;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    if (key->secret == NULL) {
        *err = "key does not fit the algorithm";
        return -1;
    }

    md = a->md();

    if (jws->sig_len != (size_t) EVP_MD_get_size(md)) {
        *err = "invalid signature";
        return -1;
    }

    ERR_set_mark();

    if (HMAC(md, key->secret, (int) key->secret_len, jws->signing_input,
             jws->signing_input_len, mac, &mac_len)
        == NULL)
    {
        ERR_pop_to_mark();
        *err = "signature verification error";
        return -1;
    }

    ERR_pop_to_mark();

    rc = CRYPTO_memcmp(mac, jws->sig, mac_len);

    /* a valid MAC for this input is a forgery if it leaks */

    OPENSSL_cleanse(mac, sizeof(mac));

    if (rc != 0) {
        *err = "invalid signature";
        return -1;
    }

    return 0;
}


static int
gw_jws_verify_pkey(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err)
{
    int                   rc;
    size_t                sig_len;
    EVP_PKEY             *pkey;
    EVP_MD_CTX           *mctx;
    const EVP_MD         *md;
    EVP_PKEY_CTX         *pctx;
    const unsigned char  *sig;
    unsigned char         der[GW_ECDSA_DER_MAX];

    pkey = key->pkey;

    if (pkey == NULL) {
        *err = "key does not fit the algorithm";
        return -1;
    }

    md = (a->md != NULL) ? a->md() : NULL;
    sig = jws->sig;
    sig_len = jws->sig_len;

    switch (a->type) {

    case GW_KEY_RSA:
        rc = (sig_len == (size_t) EVP_PKEY_get_size(pkey));
        break;

    case GW_KEY_EC:
        rc = (sig_len == a->ec_len);
        break;

    default: /* GW_KEY_OKP */
        rc = (sig_len == 64);
    }

    if (!rc) {
        *err = "invalid signature";
        return -1;
    }

    ERR_set_mark();

    rc = -1;
    mctx = NULL;

    if (a->type == GW_KEY_EC) {
        if (gw_jws_ecdsa_der(jws->sig, jws->sig_len, der, &sig_len) != 0) {
            goto done;
        }

        sig = der;
    }

    mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        goto done;
    }

    pctx = NULL;

    if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pkey) != 1) {
        goto done;
    }

    if (a->pss
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
               <= 0
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
    {
        goto done;
    }

    rc = EVP_DigestVerify(mctx, sig, sig_len, jws->signing_input,
                          jws->signing_input_len);

done:

    EVP_MD_CTX_free(mctx);
    ERR_pop_to_mark();

    if (rc == 1) {
        return 0;
    }

    *err = (rc == 0) ? "invalid signature" : "signature verification error";

    return -1;
}


/*
 * Converts a JOSE ECDSA signature, R || S as two big-endian numbers of
 * len / 2 bytes each (RFC 7518 section 3.4), into DER (RFC 3279), which is
 * what OpenSSL verifies.  der holds GW_ECDSA_DER_MAX bytes.
 */

static int
gw_jws_ecdsa_der(const unsigned char *sig, size_t len, unsigned char *der,
    size_t *der_len)
{
    int             n;
    BIGNUM         *r, *s;
    ECDSA_SIG      *es;
    unsigned char  *p;

    es = ECDSA_SIG_new();
    if (es == NULL) {
        return -1;
    }

    r = BN_bin2bn(sig, (int) (len / 2), NULL);
    s = BN_bin2bn(sig + len / 2, (int) (len / 2), NULL);

    if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return -1;
    }

    /* es owns r and s now */

    n = i2d_ECDSA_SIG(es, NULL);

    if (n <= 0 || n > GW_ECDSA_DER_MAX) {
        ECDSA_SIG_free(es);
        return -1;
    }

    p = der;
    n = i2d_ECDSA_SIG(es, &p);

    ECDSA_SIG_free(es);

    if (n <= 0) {
        return -1;
    }

    *der_len = n;

    return 0;
}


void
gw_jws_free(gw_jws_t *jws)
{
    json_decref(jws->header);
    json_decref(jws->payload);
    free(jws->sig);

    memset(jws, 0, sizeof(gw_jws_t));
}
