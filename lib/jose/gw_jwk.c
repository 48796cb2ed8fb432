
/*
 * Copyright (C) Tollgate
 *
 * Key loading.  Every input form ends in one of two shapes: an EVP_PKEY
 * (RSA, EC on P-256/P-384/P-521, Ed25519) or an HMAC secret; from that
 * shape alone, never from a token, we derive the mask of algorithms the
 * key may verify.  That is the defence against algorithm confusion: an RSA
 * public key is never an HMAC secret, whatever a token's header claims,
 * and a PEM file is never read as a secret unless the caller says so.
 * The two constructors that make those shapes, gw_jwk_set_pkey() and
 * gw_jwk_set_secret(), live here and are the only ones: the JWK and JWKS
 * parser (gw_jwk_json.c) ends in them too, so one key reached through PEM,
 * a certificate or a JWK gets one type, one mask and one fingerprint.
 *
 * PEM input is read block by block with PEM_read_bio(), so a file may hold
 * several public keys or certificates (for rotation); private key blocks
 * are refused, to keep signing keys off the gateway.  A certificate is
 * only a container for its public key: its validity is not checked.
 *
 * A load builds its keys in a private set and appends them to the caller's
 * set only when all of them are good, so a failed reload leaves the old
 * keys in place.  Errors are short static phrases, never echoing input,
 * which may be a secret.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_jwk.h"
#include "gw_jwk_int.h"


#define GW_HMAC_MIN_LEN   32        /* bytes, HS256 (RFC 7518 section 3.2) */


static const gw_jwk_curve_t  gw_jwk_curves[] = {
    { "P-256", "prime256v1", 32, GW_ALG_ES256 },
    { "P-384", "secp384r1", 48, GW_ALG_ES384 },
    { "P-521", "secp521r1", 66, GW_ALG_ES512 }
};

#define GW_JWK_NCURVES  (sizeof(gw_jwk_curves) / sizeof(gw_jwk_curves[0]))


static int gw_keyset_load_pem(gw_keyset_t *ks, const unsigned char *data,
    size_t len, const char **reason);
static int gw_keyset_load_hmac(gw_keyset_t *ks, const unsigned char *data,
    size_t len, const char **reason);


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


/* how many times "-----BEGIN" stands in data */

static size_t
gw_pem_begin_count(const unsigned char *data, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i + 10 <= len; i++) {
        if (data[i] == '-' && memcmp(data + i, "-----BEGIN", 10) == 0) {
            n++;
            i += 9;
        }
    }

    return n;
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
                /*
                 * OpenSSL skips text up to a line that starts a block, so
                 * an indented block (a private key, say) would vanish
                 * silently: every "-----BEGIN" must have been a block.
                 */

                if (gw_pem_begin_count(data, len) == nblocks) {
                    rc = 0;

                } else {
                    *reason = "a PEM block could not be read (indented "
                              "or garbled)";
                }

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

int
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
 * Classifies pkey and sets key's type, algorithms and fingerprint.  Takes
 * pkey in every case: on error it is freed.
 */

int
gw_jwk_set_pkey(gw_jwk_t *key, EVP_PKEY *pkey, const char **reason)
{
    size_t                 i;
    BIGNUM                *e;
    EVP_PKEY_CTX          *ctx;
    char                   group[32];
    const gw_jwk_curve_t  *crv;

    crv = NULL;

    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < GW_RSA_MIN_BITS) {
            *reason = "RSA key shorter than 2048 bits";
            goto failed;
        }

        /*
         * Every form of key (PEM, certificate, JWK) comes through here, so
         * the exponent is judged here: e = 1 would make any "signature"
         * that is just the padded digest verify.
         */

        e = NULL;

        if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1
            || !BN_is_odd(e) || BN_is_one(e)
            || BN_num_bits(e) > GW_RSA_E_MAX_BITS)
        {
            BN_free(e);
            *reason = "invalid RSA exponent";
            goto failed;
        }

        BN_free(e);

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

        crv = &gw_jwk_curves[i];
        key->type = GW_KEY_EC;
        key->algs = GW_ALG_BIT(crv->alg);

    } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
        key->type = GW_KEY_OKP;
        key->algs = GW_ALG_BIT(GW_ALG_EDDSA);

    } else {
        *reason = "unsupported key type";
        goto failed;
    }

    if (gw_jwk_thumbprint(key, pkey, crv) != 0) {
        *reason = "cannot compute the key fingerprint";
        goto failed;
    }

    key->pkey = pkey;

    return 0;

failed:

    EVP_PKEY_free(pkey);

    return -1;
}


/* Copies an HMAC secret into key, with the algorithms its length allows. */

int
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

    if (gw_jwk_thumbprint(key, NULL, NULL) != 0) {
        gw_jwk_free(key);
        *reason = "cannot compute the key fingerprint";
        return -1;
    }

    return 0;
}


void
gw_jwk_free(gw_jwk_t *key)
{
    gw_jws_vctx_free(key);

    EVP_PKEY_free(key->pkey);

    if (key->secret != NULL) {
        OPENSSL_cleanse(key->secret, key->secret_len);
        free(key->secret);
    }

    memset(key, 0, sizeof(gw_jwk_t));
}


void
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


/* The curve a JWK "crv" names, for gw_jwk_json.c; NULL if unsupported. */

const gw_jwk_curve_t *
gw_jwk_curve_by_crv(const char *crv)
{
    size_t  i;

    for (i = 0; i < GW_JWK_NCURVES; i++) {
        if (strcmp(crv, gw_jwk_curves[i].crv) == 0) {
            return &gw_jwk_curves[i];
        }
    }

    return NULL;
}
