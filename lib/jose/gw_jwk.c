
/*
 * Copyright (C) Tollgate
 *
 * Key loading.  Every input form ends in one of two shapes: an EVP_PKEY
 * (RSA, EC on P-256/P-384/P-521, Ed25519) or an HMAC secret; from that
 * shape alone, never from a token, we derive the mask of algorithms the
 * key may verify.  That is the defence against algorithm confusion: an RSA
 * public key is never an HMAC secret, whatever a token's header claims,
 * and a PEM file is never read as a secret unless the caller says so.
 *
 * PEM input is read block by block with PEM_read_bio(), so a file may hold
 * several public keys or certificates (for rotation); private key blocks
 * are refused, to keep signing keys off the gateway.  A certificate is
 * only a container for its public key: its validity is not checked.
 *
 * JSON input is a JWK or a JWKS, parsed by jansson with duplicate member
 * names rejected.  A JWKS follows RFC 7517 section 5 for keys it does not
 * understand (unknown "kty", curve or "alg", "use" other than "sig",
 * "key_ops" without "verify"): they are skipped.  A key that it does
 * understand but that is broken or weak (bad base64url, wrong coordinate
 * size, RSA under 2048 bits, an "alg" that does not fit the key) fails the
 * whole load: a half-loaded key set would fail later, per request, where
 * it is harder to see.
 *
 * A load builds its keys in a private set and appends them to the caller's
 * set only when all of them are good, so a failed reload leaves the old
 * keys in place.  Errors are short static phrases, never echoing input,
 * which may be a secret (jansson's own messages quote the input, so they
 * are not passed on).
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_b64url.h"
#include "gw_jwk.h"


#define GW_HMAC_MIN_LEN   32        /* bytes, HS256 (RFC 7518 section 3.2) */
#define GW_RSA_MIN_BITS   2048
#define GW_RSA_MAX_LEN    2048      /* modulus bytes: OpenSSL's own 16384 */
#define GW_SECRET_MAX     4096      /* bytes of a JWK "k" */
#define GW_JWK_SKIP       1         /* a key that a JWKS passes over */


typedef struct {
    const char     *crv;            /* JOSE name */
    const char     *group;          /* OpenSSL name */
    size_t          size;           /* bytes of one coordinate */
    gw_alg_e        alg;
} gw_jwk_curve_t;


static const gw_jwk_curve_t  gw_jwk_curves[] = {
    { "P-256", "prime256v1", 32, GW_ALG_ES256 },
    { "P-384", "secp384r1", 48, GW_ALG_ES384 },
    { "P-521", "secp521r1", 66, GW_ALG_ES512 }
};

#define GW_JWK_NCURVES  (sizeof(gw_jwk_curves) / sizeof(gw_jwk_curves[0]))


static int gw_keyset_load_pem(gw_keyset_t *ks, const unsigned char *data,
    size_t len, const char **reason);
static int gw_keyset_load_json(gw_keyset_t *ks, const unsigned char *data,
    size_t len, char *err, size_t errlen);
static int gw_keyset_load_hmac(gw_keyset_t *ks, const unsigned char *data,
    size_t len, const char **reason);
static int gw_keyset_push(gw_keyset_t *ks, gw_jwk_t *key);
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
static int gw_jwk_set_pkey(gw_jwk_t *key, EVP_PKEY *pkey,
    const char **reason);
static int gw_jwk_set_secret(gw_jwk_t *key, const unsigned char *secret,
    size_t len, const char **reason);
static int gw_jwk_fingerprint(gw_jwk_t *key, const unsigned char *data,
    size_t len);
static void gw_jwk_free(gw_jwk_t *key);
static void gw_jwk_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


int
gw_keyset_load(gw_keyset_t *ks, const unsigned char *data, size_t len,
    gw_key_format_e fmt, const char *kid, unsigned algs, char *err,
    size_t errlen)
{
    int           rc;
    size_t        i, kid_len, n;
    gw_jwk_t     *key, *keys;
    const char   *reason;
    gw_keyset_t   tmp;

    memset(&tmp, 0, sizeof(gw_keyset_t));

    kid_len = 0;

    if (kid != NULL) {
        kid_len = strlen(kid);

        if (kid_len > GW_KID_MAX) {
            gw_jwk_error(err, errlen, "kid longer than %d bytes", GW_KID_MAX);
            return -1;
        }
    }

    if (len > GW_KEY_FILE_MAX) {
        gw_jwk_error(err, errlen, "key data larger than %d bytes",
                     GW_KEY_FILE_MAX);
        return -1;
    }

    if (fmt == GW_KEY_FMT_AUTO) {
        for (i = 0; i < len; i++) {
            if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r'
                && data[i] != '\n')
            {
                break;
            }
        }

        fmt = (len - i >= 10 && memcmp(data + i, "-----BEGIN", 10) == 0)
              ? GW_KEY_FMT_PEM : GW_KEY_FMT_JWK;
    }

    /* OpenSSL errors of a failed load must not surface in a later log */

    ERR_set_mark();

    reason = "unknown key format";

    switch (fmt) {

    case GW_KEY_FMT_PEM:
        rc = gw_keyset_load_pem(&tmp, data, len, &reason);
        break;

    case GW_KEY_FMT_JWK:
        rc = gw_keyset_load_json(&tmp, data, len, err, errlen);
        reason = NULL;
        break;

    case GW_KEY_FMT_HMAC:
        rc = gw_keyset_load_hmac(&tmp, data, len, &reason);
        break;

    default:
        rc = -1;
    }

    ERR_pop_to_mark();

    if (rc != 0) {
        if (reason != NULL) {
            gw_jwk_error(err, errlen, "%s", reason);
        }

        goto failed;
    }

    if (tmp.nkeys == 0) {
        gw_jwk_error(err, errlen, "no signature verification key found");
        goto failed;
    }

    for (i = 0; i < tmp.nkeys; i++) {
        key = &tmp.keys[i];

        if (kid != NULL && !key->has_kid) {
            memcpy(key->kid, kid, kid_len + 1);
            key->kid_len = kid_len;
            key->has_kid = 1;
        }

        if (algs != 0) {
            key->algs &= algs;

            if (key->algs == 0) {
                gw_jwk_error(err, errlen, "key %zu does not fit the "
                             "configured algorithms", i + 1);
                goto failed;
            }
        }
    }

    n = ks->nkeys + tmp.nkeys;

    if (n > GW_KEYSET_MAX) {
        gw_jwk_error(err, errlen, "more than %d keys", GW_KEYSET_MAX);
        goto failed;
    }

    if (n > ks->nalloc) {
        keys = realloc(ks->keys, n * sizeof(gw_jwk_t));
        if (keys == NULL) {
            gw_jwk_error(err, errlen, "out of memory");
            goto failed;
        }

        ks->keys = keys;
        ks->nalloc = n;
    }

    memcpy(&ks->keys[ks->nkeys], tmp.keys, tmp.nkeys * sizeof(gw_jwk_t));
    ks->nkeys = n;

    /* the keys' own buffers now belong to ks */

    free(tmp.keys);

    return 0;

failed:

    gw_keyset_free(&tmp);

    return -1;
}


int
gw_keyset_load_file(gw_keyset_t *ks, const char *path, gw_key_format_e fmt,
    const char *kid, unsigned algs, char *err, size_t errlen)
{
    int             fd, rc;
    size_t          len, size;
    ssize_t         n;
    struct stat     st;
    unsigned char  *buf;

    buf = NULL;
    size = 0;
    rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        gw_jwk_error(err, errlen, "open() failed: %s", strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1) {
        gw_jwk_error(err, errlen, "fstat() failed: %s", strerror(errno));
        goto done;
    }

    if (!S_ISREG(st.st_mode)) {
        gw_jwk_error(err, errlen, "not a regular file");
        goto done;
    }

    if (st.st_size > GW_KEY_FILE_MAX) {
        gw_jwk_error(err, errlen, "key file larger than %d bytes",
                     GW_KEY_FILE_MAX);
        goto done;
    }

    /* one byte more than the file's size shows that it grew meanwhile */

    size = (size_t) st.st_size + 1;

    buf = malloc(size);
    if (buf == NULL) {
        gw_jwk_error(err, errlen, "out of memory");
        goto done;
    }

    len = 0;

    while (len < size) {
        n = read(fd, buf + len, size - len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            gw_jwk_error(err, errlen, "read() failed: %s", strerror(errno));
            goto done;
        }

        if (n == 0) {
            break;
        }

        len += n;
    }

    if (len == size) {
        gw_jwk_error(err, errlen, "key file changed while being read");
        goto done;
    }

    rc = gw_keyset_load(ks, buf, len, fmt, kid, algs, err, errlen);

done:

    if (buf != NULL) {
        OPENSSL_cleanse(buf, size);
        free(buf);
    }

    close(fd);

    return rc;
}


void
gw_keyset_free(gw_keyset_t *ks)
{
    size_t  i;

    for (i = 0; i < ks->nkeys; i++) {
        gw_jwk_free(&ks->keys[i]);
    }

    free(ks->keys);

    memset(ks, 0, sizeof(gw_keyset_t));
}


const gw_jwk_t *
gw_keyset_next(const gw_keyset_t *ks, size_t *i, const char *kid,
    size_t kid_len, gw_alg_e alg)
{
    unsigned         bit;
    const gw_jwk_t  *key;

    if ((unsigned) alg >= GW_ALG_COUNT) {
        return NULL;
    }

    bit = GW_ALG_BIT(alg);

    while (*i < ks->nkeys) {
        key = &ks->keys[(*i)++];

        if ((key->algs & bit) == 0) {
            continue;
        }

        if (kid != NULL
            && (!key->has_kid || key->kid_len != kid_len
                || memcmp(key->kid, kid, kid_len) != 0))
        {
            continue;
        }

        return key;
    }

    return NULL;
}


/*
 * Reads every PEM block of data: "PUBLIC KEY" (SubjectPublicKeyInfo) and
 * "CERTIFICATE" blocks yield a key each; any other block, private keys
 * first of all, is an error.  At least one block is needed.
 */

static int
gw_keyset_load_pem(gw_keyset_t *ks, const unsigned char *data, size_t len,
    const char **reason)
{
    int                   rc;
    BIO                  *bio;
    long                  der_len;
    char                 *name, *header;
    X509                 *x509;
    size_t                nblocks;
    EVP_PKEY             *pkey;
    gw_jwk_t              key;
    unsigned long         e;
    unsigned char        *der;
    const unsigned char  *p;

    bio = BIO_new_mem_buf(data, (int) len);
    if (bio == NULL) {
        *reason = "out of memory";
        return -1;
    }

    rc = -1;

    for (nblocks = 0; /* void */; nblocks++) {
        name = NULL;
        header = NULL;
        der = NULL;

        if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
            e = ERR_peek_last_error();

            if (nblocks > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM
                && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
            {
                rc = 0;

            } else {
                *reason = nblocks ? "malformed PEM block"
                                  : "no PEM public key or certificate";
            }

            break;
        }

        p = der;
        pkey = NULL;

        if (strcmp(name, "PUBLIC KEY") == 0) {
            pkey = d2i_PUBKEY(NULL, &p, der_len);
            *reason = "invalid public key";

        } else if (strcmp(name, "CERTIFICATE") == 0) {
            x509 = d2i_X509(NULL, &p, der_len);

            if (x509 != NULL) {
                pkey = X509_get_pubkey(x509);
                X509_free(x509);
            }

            *reason = "invalid certificate";

        } else if (strstr(name, "PRIVATE KEY") != NULL) {
            *reason = "a private key is not accepted, give its public key";

        } else {
            *reason = "PEM block is neither a public key nor a certificate";
        }

        if (pkey != NULL && p != der + der_len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
            *reason = "trailing data in a PEM block";
        }

        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);

        if (pkey == NULL) {
            break;
        }

        memset(&key, 0, sizeof(gw_jwk_t));

        if (gw_jwk_set_pkey(&key, pkey, reason) != 0) {
            break;
        }

        if (gw_keyset_push(ks, &key) != 0) {
            *reason = "too many keys";
            gw_jwk_free(&key);
            break;
        }
    }

    BIO_free(bio);

    return rc;
}


static int
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


/* Data is the secret itself, less one trailing "\n" or "\r\n". */

static int
gw_keyset_load_hmac(gw_keyset_t *ks, const unsigned char *data, size_t len,
    const char **reason)
{
    gw_jwk_t  key;

    if (len > 0 && data[len - 1] == '\n') {
        len--;

        if (len > 0 && data[len - 1] == '\r') {
            len--;
        }
    }

    memset(&key, 0, sizeof(gw_jwk_t));

    if (gw_jwk_set_secret(&key, data, len, reason) != 0) {
        return -1;
    }

    if (gw_keyset_push(ks, &key) != 0) {
        gw_jwk_free(&key);
        *reason = "out of memory";
        return -1;
    }

    return 0;
}


/* Appends a copy of *key, which then belongs to ks; 0 or -1 when full. */

static int
gw_keyset_push(gw_keyset_t *ks, gw_jwk_t *key)
{
    size_t     n;
    gw_jwk_t  *keys;

    if (ks->nkeys == GW_KEYSET_MAX) {
        return -1;
    }

    if (ks->nkeys == ks->nalloc) {
        n = ks->nalloc ? ks->nalloc * 2 : 4;

        if (n > GW_KEYSET_MAX) {
            n = GW_KEYSET_MAX;
        }

        keys = realloc(ks->keys, n * sizeof(gw_jwk_t));
        if (keys == NULL) {
            return -1;
        }

        ks->keys = keys;
        ks->nalloc = n;
    }

    ks->keys[ks->nkeys++] = *key;

    return 0;
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

    if (!BN_is_odd(e) || BN_is_one(e)) {
        *reason = "invalid RSA exponent";
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
    size_t                 i, x_len, y_len;
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

    curve = NULL;

    for (i = 0; i < GW_JWK_NCURVES; i++) {
        if (strcmp(crv, gw_jwk_curves[i].crv) == 0) {
            curve = &gw_jwk_curves[i];
            break;
        }
    }

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


/*
 * Classifies pkey and sets key's type, algorithms and fingerprint.  Takes
 * pkey in every case: on error it is freed.
 */

static int
gw_jwk_set_pkey(gw_jwk_t *key, EVP_PKEY *pkey, const char **reason)
{
    int             len;
    size_t          i;
    EVP_PKEY_CTX   *ctx;
    unsigned char  *der;
    char            group[32];

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < GW_RSA_MIN_BITS) {
            *reason = "RSA key shorter than 2048 bits";
            goto failed;
        }

        key->type = GW_KEY_RSA;
        key->algs = GW_ALG_MASK_RSA;

    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1) {
            *reason = "EC key without a named curve";
            goto failed;
        }

        for (i = 0; i < GW_JWK_NCURVES; i++) {
            if (strcmp(group, gw_jwk_curves[i].group) == 0) {
                break;
            }
        }

        if (i == GW_JWK_NCURVES) {
            *reason = "unsupported EC curve";
            goto failed;
        }

        /* the point must lie on the curve and have the group's order */

        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1) {
            EVP_PKEY_CTX_free(ctx);
            *reason = "invalid EC public key";
            goto failed;
        }

        EVP_PKEY_CTX_free(ctx);

        key->type = GW_KEY_EC;
        key->algs = GW_ALG_BIT(gw_jwk_curves[i].alg);

    } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
        key->type = GW_KEY_OKP;
        key->algs = GW_ALG_BIT(GW_ALG_EDDSA);

    } else {
        *reason = "unsupported key type";
        goto failed;
    }

    der = NULL;

    len = i2d_PUBKEY(pkey, &der);
    if (len <= 0) {
        *reason = "cannot encode the public key";
        goto failed;
    }

    if (gw_jwk_fingerprint(key, der, len) != 0) {
        OPENSSL_free(der);
        *reason = "cannot compute the key fingerprint";
        goto failed;
    }

    OPENSSL_free(der);

    key->pkey = pkey;

    return 0;

failed:

    EVP_PKEY_free(pkey);

    return -1;
}


/* Copies an HMAC secret into key, with the algorithms its length allows. */

static int
gw_jwk_set_secret(gw_jwk_t *key, const unsigned char *secret, size_t len,
    const char **reason)
{
    if (len < GW_HMAC_MIN_LEN) {
        *reason = "HMAC secret shorter than 32 bytes";
        return -1;
    }

    key->type = GW_KEY_HMAC;
    key->algs = GW_ALG_BIT(GW_ALG_HS256);

    if (len >= 48) {
        key->algs |= GW_ALG_BIT(GW_ALG_HS384);
    }

    if (len >= 64) {
        key->algs |= GW_ALG_BIT(GW_ALG_HS512);
    }

    key->secret = malloc(len);
    if (key->secret == NULL) {
        *reason = "out of memory";
        return -1;
    }

    memcpy(key->secret, secret, len);
    key->secret_len = len;

    if (gw_jwk_fingerprint(key, secret, len) != 0) {
        gw_jwk_free(key);
        *reason = "cannot compute the key fingerprint";
        return -1;
    }

    return 0;
}


/* fp = SHA-256(type byte || data) */

static int
gw_jwk_fingerprint(gw_jwk_t *key, const unsigned char *data, size_t len)
{
    int            rc;
    EVP_MD_CTX    *md;
    unsigned char  type;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return -1;
    }

    type = (unsigned char) key->type;

    rc = (EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
          && EVP_DigestUpdate(md, &type, 1) == 1
          && EVP_DigestUpdate(md, data, len) == 1
          && EVP_DigestFinal_ex(md, key->fp, NULL) == 1)
         ? 0 : -1;

    EVP_MD_CTX_free(md);

    return rc;
}


static void
gw_jwk_free(gw_jwk_t *key)
{
    EVP_PKEY_free(key->pkey);

    if (key->secret != NULL) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }

    memset(key, 0, sizeof(gw_jwk_t));
}


static void
gw_jwk_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}
