
/*
 * Copyright (C) Tollgate
 *
 * JWS signature verification, on the per-request path (the parsing is
 * gw_jws.c).
 *
 * Verification asks the key, not the token, which algorithms are allowed:
 * the token's "alg" must be in the key's mask and fit the key's type, so an
 * RSA public key can never be used as an HMAC secret.  Signature lengths
 * are exact: the RSA modulus size, the digest size for HMAC, 64 bytes for
 * Ed25519, and R || S of the curve's size for ECDSA, which is converted to
 * the DER form OpenSSL verifies.  HMAC results are compared in constant
 * time.  OpenSSL errors raised by a bad signature are popped before we
 * return, so they never pile up in a worker's error queue (HMAC raises
 * none but for want of memory, and then clears the queue).
 *
 * What OpenSSL 3 makes costly per call is done once per key and
 * algorithm in each process, on the first token, and kept in the key
 * (gw_jwk_t.vctx): the HMAC inner and outer digest states of the secret,
 * continued from copies for each token; the RSA or ECDSA context set up
 * to verify a digest.
 * Digests are fetched once per process.  ECDSA's R || S is turned into
 * DER by hand, the bytes i2d_ECDSA_SIG() would write.
 *
 * gw_jws_verify_raw() applies the same rules with contexts of its own,
 * made and freed on each call, and the built-in digests: it touches no
 * cache, so threads may call it at once with keys they share.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "gw_jws.h"
#include "gw_jwk_int.h"


#define GW_ECDSA_DER_MAX  144   /* P-521: SEQUENCE of two 67-byte INTEGERs */
#define GW_HMAC_BLOCK_MAX 128   /* SHA-384 and SHA-512 */


typedef struct {
    EVP_MD_CTX       *inner;        /* fed K ^ ipad */
    EVP_MD_CTX       *outer;        /* fed K ^ opad */
    EVP_MD_CTX       *work;         /* a token's copies of the two */
} gw_jws_hmac_t;


typedef struct {
    gw_key_type_e     type;
    const EVP_MD   *(*md)(void);    /* NULL: EdDSA hashes by itself */
    const char       *md_name;      /* the same digest, to fetch */
    size_t            md_len;       /* bytes */
    unsigned          pss;
    size_t            ec_len;       /* ECDSA: bytes of R || S */
} gw_jws_alg_t;


static const gw_jws_alg_t  gw_jws_algs[GW_ALG_COUNT] = {
    { 0, NULL, NULL, 0, 0, 0 },
    { GW_KEY_HMAC, EVP_sha256, "SHA256", 32, 0, 0 },
    { GW_KEY_HMAC, EVP_sha384, "SHA384", 48, 0, 0 },
    { GW_KEY_HMAC, EVP_sha512, "SHA512", 64, 0, 0 },
    { GW_KEY_RSA, EVP_sha256, "SHA256", 32, 0, 0 },
    { GW_KEY_RSA, EVP_sha384, "SHA384", 48, 0, 0 },
    { GW_KEY_RSA, EVP_sha512, "SHA512", 64, 0, 0 },
    { GW_KEY_RSA, EVP_sha256, "SHA256", 32, 1, 0 },
    { GW_KEY_RSA, EVP_sha384, "SHA384", 48, 1, 0 },
    { GW_KEY_RSA, EVP_sha512, "SHA512", 64, 1, 0 },
    { GW_KEY_EC, EVP_sha256, "SHA256", 32, 0, 64 },
    { GW_KEY_EC, EVP_sha384, "SHA384", 48, 0, 96 },
    { GW_KEY_EC, EVP_sha512, "SHA512", 64, 0, 132 },
    { GW_KEY_OKP, NULL, NULL, 0, 0, 0 }
};


static int gw_jws_verify_hmac(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err);
static int gw_jws_verify_pkey(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err);
static int gw_jws_verify_sig(const gw_jwk_t *key, EVP_PKEY *pkey,
    gw_alg_e alg, const unsigned char *in, size_t in_len,
    const unsigned char *sig, size_t sig_len, const char **err);
static void gw_jws_hmac_free(gw_jws_hmac_t *h);
static gw_jws_hmac_t *gw_jws_hmac_new(const gw_jwk_t *key, gw_alg_e alg,
    const gw_jws_alg_t *a);
static EVP_PKEY_CTX *gw_jws_pkey_ctx(const gw_jwk_t *key, gw_alg_e alg,
    const gw_jws_alg_t *a);
static EVP_PKEY_CTX *gw_jws_pkey_ctx_new(EVP_PKEY *pkey,
    const gw_jws_alg_t *a);
static const EVP_MD *gw_jws_md(gw_alg_e alg, const gw_jws_alg_t *a);
static size_t gw_jws_der_int(unsigned char *out, const unsigned char *b,
    size_t n);
static void gw_jws_ecdsa_der(const unsigned char *sig, size_t len,
    unsigned char *der, size_t *der_len);


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


int
gw_jws_verify_raw(gw_alg_e alg, void *pkey, const unsigned char *in,
    size_t in_len, const unsigned char *sig, size_t sig_len,
    const char **err)
{
    int                  id, fits;
    const gw_jws_alg_t  *a;

    if (alg == GW_ALG_UNKNOWN || (unsigned) alg >= GW_ALG_COUNT
        || pkey == NULL)
    {
        *err = "key does not fit the algorithm";
        return -1;
    }

    a = &gw_jws_algs[alg];
    id = EVP_PKEY_get_base_id(pkey);

    switch (a->type) {

    case GW_KEY_RSA:
        fits = (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS);
        break;

    case GW_KEY_EC:
        fits = (id == EVP_PKEY_EC);
        break;

    case GW_KEY_OKP:
        fits = (id == EVP_PKEY_ED25519);
        break;

    default: /* GW_KEY_HMAC: a secret is no EVP_PKEY here */
        fits = 0;
    }

    if (!fits) {
        *err = "key does not fit the algorithm";
        return -1;
    }

    return gw_jws_verify_sig(NULL, pkey, alg, in, in_len, sig, sig_len, err);
}


void
gw_jws_vctx_free(gw_jwk_t *key)
{
    size_t  i;

    for (i = 0; i < GW_ALG_COUNT; i++) {
        if (key->vctx[i] == NULL) {
            continue;
        }

        if (key->type == GW_KEY_HMAC) {
            gw_jws_hmac_free(key->vctx[i]);

        } else {
            EVP_PKEY_CTX_free(key->vctx[i]);
        }

        key->vctx[i] = NULL;
    }
}


/*
 * HMAC (RFC 2104) from states prepared once per key and algorithm: the
 * digest fed the secret's inner block (K ^ ipad) and the one fed its outer
 * block (K ^ opad), K being the secret, or its digest when it is longer
 * than the digest's block, padded with zeros to the block.  A token costs
 * a copy of each state into the work context, the signing input and the
 * inner digest hashed on, and the two finals; none of EVP_MAC's layers,
 * parameters or keying.  The three contexts live in the key (vctx).
 */

static void
gw_jws_hmac_free(gw_jws_hmac_t *h)
{
    if (h == NULL) {
        return;
    }

    /* the states are the secret's: EVP_MD_CTX_free() cleanses them */

    EVP_MD_CTX_free(h->inner);
    EVP_MD_CTX_free(h->outer);
    EVP_MD_CTX_free(h->work);
    free(h);
}


/* the states of key's secret for the digest of a, or NULL (no memory) */

static gw_jws_hmac_t *
gw_jws_hmac_new(const gw_jwk_t *key, gw_alg_e alg, const gw_jws_alg_t *a)
{
    int             bs, ok;
    size_t          i, klen;
    unsigned        dlen;
    const EVP_MD   *md;
    gw_jws_hmac_t  *h;
    unsigned char   k[GW_HMAC_BLOCK_MAX], pad[GW_HMAC_BLOCK_MAX];

    md = gw_jws_md(alg, a);

    if (md == NULL) {
        return NULL;
    }

    bs = EVP_MD_get_block_size(md);

    if (bs <= 0 || bs > GW_HMAC_BLOCK_MAX
        || (size_t) EVP_MD_get_size(md) != a->md_len)
    {
        return NULL;
    }

    h = calloc(1, sizeof(gw_jws_hmac_t));
    if (h == NULL) {
        return NULL;
    }

    memset(k, 0, sizeof(k));

    if (key->secret_len > (size_t) bs) {
        ok = EVP_Digest(key->secret, key->secret_len, k, &dlen, md, NULL);
        klen = dlen;

    } else {
        memcpy(k, key->secret, key->secret_len);
        klen = key->secret_len;
        ok = 1;
    }

    h->inner = EVP_MD_CTX_new();
    h->outer = EVP_MD_CTX_new();
    h->work = EVP_MD_CTX_new();

    ok = ok && klen <= (size_t) bs
         && h->inner != NULL && h->outer != NULL && h->work != NULL;

    for (i = 0; i < (size_t) bs; i++) {
        pad[i] = k[i] ^ 0x36;
    }

    ok = ok && EVP_DigestInit_ex2(h->inner, md, NULL) == 1
         && EVP_DigestUpdate(h->inner, pad, bs) == 1;

    for (i = 0; i < (size_t) bs; i++) {
        pad[i] = k[i] ^ 0x5c;
    }

    ok = ok && EVP_DigestInit_ex2(h->outer, md, NULL) == 1
         && EVP_DigestUpdate(h->outer, pad, bs) == 1;

    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));

    if (!ok) {
        gw_jws_hmac_free(h);
        return NULL;
    }

    return h;
}


static int
gw_jws_verify_hmac(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err)
{
    int              rc;
    unsigned         len, olen;
    gw_jws_hmac_t   *h, **slot;
    unsigned char    in[EVP_MAX_MD_SIZE], out[EVP_MAX_MD_SIZE];

    if (key->secret == NULL) {
        *err = "key does not fit the algorithm";
        return -1;
    }

    if (jws->sig_len != a->md_len) {
        *err = "invalid signature";
        return -1;
    }

    slot = (gw_jws_hmac_t **) &((gw_jwk_t *) key)->vctx[jws->alg];

    h = *slot;

    if (h == NULL) {
        ERR_set_mark();
        h = gw_jws_hmac_new(key, jws->alg, a);
        ERR_pop_to_mark();

        if (h == NULL) {
            goto failed;
        }

        *slot = h;
    }

    /*
     * Only a failed allocation makes these fail, and no bad token: the
     * queue is cleared then, rather than marked and popped for every
     * token, which costs about as much as the HMAC's copies.
     */

    if (EVP_MD_CTX_copy_ex(h->work, h->inner) != 1
        || EVP_DigestUpdate(h->work, jws->signing_input,
                            jws->signing_input_len)
           != 1
        || EVP_DigestFinal_ex(h->work, in, &len) != 1
        || EVP_MD_CTX_copy_ex(h->work, h->outer) != 1
        || EVP_DigestUpdate(h->work, in, len) != 1
        || EVP_DigestFinal_ex(h->work, out, &olen) != 1
        || olen != a->md_len)
    {
        ERR_clear_error();
        OPENSSL_cleanse(in, sizeof(in));

        /* states in an unknown state are not used again */

        gw_jws_hmac_free(h);
        *slot = NULL;

        goto failed;
    }

    rc = CRYPTO_memcmp(out, jws->sig, olen);

    /* a valid MAC for this input is a forgery if it leaks */

    OPENSSL_cleanse(in, sizeof(in));
    OPENSSL_cleanse(out, sizeof(out));

    if (rc != 0) {
        *err = "invalid signature";
        return -1;
    }

    return 0;

failed:

    *err = "signature verification error";

    return -1;
}


/*
 * RSA and ECDSA verify a digest with the key's own EVP_PKEY_CTX, set up
 * once for the algorithm (verify, digest, PSS padding); the digest is
 * computed apart with a digest fetched once per process.  This is what
 * EVP_DigestVerify() does inside, less the creation of a context, the
 * fetches and the key's parameters looked up again for every token.
 * EdDSA hashes by itself and goes through EVP_DigestVerify().
 */

static EVP_PKEY_CTX *
gw_jws_pkey_ctx(const gw_jwk_t *key, gw_alg_e alg, const gw_jws_alg_t *a)
{
    EVP_PKEY_CTX  **slot, *pctx;

    slot = (EVP_PKEY_CTX **) &((gw_jwk_t *) key)->vctx[alg];

    if (*slot != NULL) {
        return *slot;
    }

    pctx = gw_jws_pkey_ctx_new(key->pkey, a);

    if (pctx == NULL) {
        return NULL;
    }

    *slot = pctx;

    return pctx;
}


/* a new context of pkey set up to verify a digest of a, or NULL */

static EVP_PKEY_CTX *
gw_jws_pkey_ctx_new(EVP_PKEY *pkey, const gw_jws_alg_t *a)
{
    EVP_PKEY_CTX  *pctx;

    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    if (pctx == NULL
        || EVP_PKEY_verify_init(pctx) != 1
        || EVP_PKEY_CTX_set_signature_md(pctx, a->md()) <= 0
        || (a->pss
            && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
                                                    RSA_PSS_SALTLEN_DIGEST)
                   <= 0
                || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, a->md()) <= 0)))
    {
        EVP_PKEY_CTX_free(pctx);
        return NULL;
    }

    return pctx;
}


/* the digest named by a, fetched once per process (never freed) */

static const EVP_MD *
gw_jws_md(gw_alg_e alg, const gw_jws_alg_t *a)
{
    static EVP_MD  *mds[GW_ALG_COUNT];

    if (mds[alg] == NULL) {
        mds[alg] = EVP_MD_fetch(NULL, a->md_name, NULL);
    }

    return mds[alg];
}


static int
gw_jws_verify_pkey(const gw_jws_t *jws, const gw_jwk_t *key,
    const gw_jws_alg_t *a, const char **err)
{
    if (key->pkey == NULL) {
        *err = "key does not fit the algorithm";
        return -1;
    }

    return gw_jws_verify_sig(key, key->pkey, jws->alg, jws->signing_input,
                             jws->signing_input_len, jws->sig, jws->sig_len,
                             err);
}


/*
 * Verifies sig over in with pkey for the asymmetric alg, whose key type
 * the caller has checked.  With key (pkey's gw_jwk_t), the key's cached
 * context and the process's fetched digest are used; without (NULL), a
 * context made for this call and the built-in digest, so that nothing
 * shared is written.  0 when valid, -1 with *err.
 */

static int
gw_jws_verify_sig(const gw_jwk_t *key, EVP_PKEY *pkey, gw_alg_e alg,
    const unsigned char *in, size_t in_len, const unsigned char *sig,
    size_t sig_len, const char **err)
{
    int                   rc;
    size_t                der_len;
    unsigned              dlen;
    EVP_MD_CTX           *mctx;
    const EVP_MD         *md;
    EVP_PKEY_CTX         *pctx;
    const gw_jws_alg_t   *a;
    unsigned char         der[GW_ECDSA_DER_MAX];
    unsigned char         dgst[EVP_MAX_MD_SIZE];

    a = &gw_jws_algs[alg];

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
    pctx = NULL;

    if (a->type == GW_KEY_OKP) {
        mctx = EVP_MD_CTX_new();

        if (mctx != NULL
            && EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey) == 1)
        {
            rc = EVP_DigestVerify(mctx, sig, sig_len, in, in_len);
        }

        EVP_MD_CTX_free(mctx);

        goto done;
    }

    if (a->type == GW_KEY_EC) {
        gw_jws_ecdsa_der(sig, sig_len, der, &der_len);
        sig = der;
        sig_len = der_len;
    }

    if (key != NULL) {
        md = gw_jws_md(alg, a);
        pctx = gw_jws_pkey_ctx(key, alg, a);

    } else {
        md = a->md();
        pctx = gw_jws_pkey_ctx_new(pkey, a);
    }

    if (md == NULL || pctx == NULL
        || EVP_Digest(in, in_len, dgst, &dlen, md, NULL) != 1)
    {
        goto done;
    }

    rc = EVP_PKEY_verify(pctx, sig, sig_len, dgst, dlen);

done:

    if (key == NULL) {
        EVP_PKEY_CTX_free(pctx);
    }

    ERR_pop_to_mark();

    if (rc == 1) {
        return 0;
    }

    *err = (rc == 0) ? "invalid signature" : "signature verification error";

    return -1;
}


/* one DER INTEGER of the big-endian unsigned number b (n bytes) */

static size_t
gw_jws_der_int(unsigned char *out, const unsigned char *b, size_t n)
{
    size_t  pad;

    /* the shortest form: no leading zero byte but the one of 0 itself */

    while (n > 1 && b[0] == 0) {
        b++;
        n--;
    }

    /* and one 0 byte first when the top bit is set: it is unsigned */

    pad = (b[0] & 0x80) ? 1 : 0;

    out[0] = 0x02;
    out[1] = (unsigned char) (n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, b, n);

    return 2 + pad + n;
}


/*
 * Converts a JOSE ECDSA signature, R || S as two big-endian numbers of
 * len / 2 bytes each (RFC 7518 section 3.4), into DER (RFC 3279), which is
 * what OpenSSL verifies: a SEQUENCE of two INTEGERs, each at most 67
 * bytes (P-521), so lengths are one byte, and the SEQUENCE's own takes the
 * long form past 127.  der holds GW_ECDSA_DER_MAX bytes; the bytes are
 * those i2d_ECDSA_SIG() writes for the same R and S.
 */

static void
gw_jws_ecdsa_der(const unsigned char *sig, size_t len, unsigned char *der,
    size_t *der_len)
{
    size_t         n, hdr;
    unsigned char  body[GW_ECDSA_DER_MAX];

    n = gw_jws_der_int(body, sig, len / 2);
    n += gw_jws_der_int(body + n, sig + len / 2, len / 2);

    der[0] = 0x30;

    if (n < 0x80) {
        der[1] = (unsigned char) n;
        hdr = 2;

    } else {
        der[1] = 0x81;
        der[2] = (unsigned char) n;
        hdr = 3;
    }

    memcpy(der + hdr, body, n);

    *der_len = hdr + n;
}

