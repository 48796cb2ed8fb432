
/*
 * Copyright (C) Tollgate
 *
 * JWS parsing and verification.  Tokens are signed here with OpenSSL's EVP
 * interface for all thirteen algorithms, and HS256, RS256 and ES256 tokens
 * are also minted by libjwt, an independent implementation, to cross-check
 * the encoding.  Each algorithm is verified against the public keys of
 * t/data/keys, then with its payload swapped and its signature flipped;
 * the parse errors, the exact signature lengths, algorithm confusion (an
 * RSA public key's PEM text as an HMAC secret) and kid selection in the
 * JWKS follow.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gw_b64url.h"
#include "gw_jws.h"
#include "tap.h"


typedef struct {
    gw_alg_e              alg;          /* how to sign */
    EVP_PKEY             *pkey;
    const unsigned char  *secret;
    size_t                secret_len;
    unsigned              der;          /* ECDSA: leave the DER form */
    unsigned              max_salt;     /* PSS: the longest salt */
} signer_t;


typedef struct {
    gw_alg_e      alg;
    const char   *priv;                 /* private key or secret file */
    const char   *pub;                  /* what the gateway loads */
    gw_key_format_e  fmt;
} alg_case_t;


static const alg_case_t  cases[] = {
    { GW_ALG_HS256, "hmac.secret", "hmac.secret", GW_KEY_FMT_HMAC },
    { GW_ALG_HS384, "hmac64.secret", "hmac64.secret", GW_KEY_FMT_HMAC },
    { GW_ALG_HS512, "hmac64.secret", "hmac64.secret", GW_KEY_FMT_HMAC },
    { GW_ALG_RS256, "rsa.key", "rsa.pem", GW_KEY_FMT_AUTO },
    { GW_ALG_RS384, "rsa.key", "rsa.crt", GW_KEY_FMT_AUTO },
    { GW_ALG_RS512, "rsa.key", "jwks.json", GW_KEY_FMT_AUTO },
    { GW_ALG_PS256, "rsa.key", "rsa.pem", GW_KEY_FMT_AUTO },
    { GW_ALG_PS384, "rsa.key", "rsa.pem", GW_KEY_FMT_PEM },
    { GW_ALG_PS512, "rsa.key", "jwks.json", GW_KEY_FMT_JWK },
    { GW_ALG_ES256, "ec256.key", "ec256.pem", GW_KEY_FMT_AUTO },
    { GW_ALG_ES384, "ec384.key", "jwks.json", GW_KEY_FMT_AUTO },
    { GW_ALG_ES512, "ec521.key", "ec521.pem", GW_KEY_FMT_AUTO },
    { GW_ALG_EDDSA, "ed25519.key", "ed25519.pem", GW_KEY_FMT_AUTO }
};

#define NCASES  (sizeof(cases) / sizeof(cases[0]))


/* the same keys through libjwt 1.10, which signs HS*, RS* and ES* */

static const struct {
    jwt_alg_t         alg;
    const char       *priv;
    const char       *pub;
    gw_key_format_e   fmt;
} libjwt_cases[] = {
    { JWT_ALG_HS256, "hmac.secret", "hmac.secret", GW_KEY_FMT_HMAC },
    { JWT_ALG_RS256, "rsa.key", "rsa.pem", GW_KEY_FMT_AUTO },
    { JWT_ALG_ES256, "ec256.key", "jwks.json", GW_KEY_FMT_AUTO }
};

#define NLIBJWT  (sizeof(libjwt_cases) / sizeof(libjwt_cases[0]))


static const char  *keydir;
static char         errbuf[256];


static const char *
key_path(const char *name)
{
    static char  path[1024];

    snprintf(path, sizeof(path), "%s/%s", keydir, name);

    return path;
}


static unsigned char *
read_file(const char *name, size_t *len)
{
    long            n;
    FILE           *f;
    unsigned char  *buf;

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

    *len = fread(buf, 1, n, f);
    buf[*len] = '\0';

    fclose(f);

    return buf;
}


static EVP_PKEY *
read_private(const char *name)
{
    BIO       *bio;
    EVP_PKEY  *pkey;

    bio = BIO_new_file(key_path(name), "r");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        diag("%s: cannot read the private key", key_path(name));
        bail_out("test keys missing");
    }

    return pkey;
}


static const EVP_MD *
alg_md(gw_alg_e alg)
{
    switch (alg) {
    case GW_ALG_HS256: case GW_ALG_RS256: case GW_ALG_PS256:
    case GW_ALG_ES256:
        return EVP_sha256();
    case GW_ALG_HS384: case GW_ALG_RS384: case GW_ALG_PS384:
    case GW_ALG_ES384:
        return EVP_sha384();
    case GW_ALG_EDDSA:
        return NULL;
    default:
        return EVP_sha512();
    }
}


/* base64url of len bytes, appended to out at *pos */

static void
put_b64(char *out, size_t *pos, const unsigned char *p, size_t len)
{
    *pos += gw_b64url_encode((unsigned char *) out + *pos, p, len);
    out[*pos] = '\0';
}


/*
 * Signs header.payload (both JSON text) as s says; returns the compact
 * token, malloc()ed.  The header is taken as given, so it may lie about
 * the algorithm.
 */

static char *
mint(const signer_t *s, const char *header, const char *payload)
{
    int             size;
    char           *tok;
    size_t          pos, sig_len, in_len;
    unsigned        mac_len;
    ECDSA_SIG      *es;
    EVP_MD_CTX     *mctx;
    const EVP_MD   *md;
    const BIGNUM   *r, *bs;
    EVP_PKEY_CTX   *pctx;
    unsigned char   sig[1024], raw[256];
    const unsigned char  *p;

    tok = malloc(4096);
    if (tok == NULL) {
        bail_out("out of memory");
    }

    pos = 0;
    put_b64(tok, &pos, (const unsigned char *) header, strlen(header));
    tok[pos++] = '.';
    put_b64(tok, &pos, (const unsigned char *) payload, strlen(payload));
    in_len = pos;

    md = alg_md(s->alg);

    if (s->alg <= GW_ALG_HS512) {
        HMAC(md, s->secret, (int) s->secret_len, (unsigned char *) tok,
             in_len, sig, &mac_len);
        sig_len = mac_len;

    } else {
        mctx = EVP_MD_CTX_new();
        pctx = NULL;
        EVP_DigestSignInit(mctx, &pctx, md, NULL, s->pkey);

        if (s->alg >= GW_ALG_PS256 && s->alg <= GW_ALG_PS512) {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, s->max_salt
                                                   ? RSA_PSS_SALTLEN_MAX
                                                   : RSA_PSS_SALTLEN_DIGEST);
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
        }

        sig_len = sizeof(sig);
        if (EVP_DigestSign(mctx, sig, &sig_len, (unsigned char *) tok,
                           in_len) != 1)
        {
            diag("EVP_DigestSign() failed for %s", gw_alg_name(s->alg));
        }

        EVP_MD_CTX_free(mctx);

        if (s->alg >= GW_ALG_ES256 && s->alg <= GW_ALG_ES512 && !s->der) {
            size = (s->alg == GW_ALG_ES256) ? 32
                   : (s->alg == GW_ALG_ES384) ? 48 : 66;

            p = sig;
            es = d2i_ECDSA_SIG(NULL, &p, sig_len);
            ECDSA_SIG_get0(es, &r, &bs);
            BN_bn2binpad(r, raw, size);
            BN_bn2binpad(bs, raw + size, size);
            ECDSA_SIG_free(es);

            memcpy(sig, raw, 2 * size);
            sig_len = 2 * size;
        }
    }

    tok[pos++] = '.';
    put_b64(tok, &pos, sig, sig_len);

    return tok;
}


/* decodes the signature of tok, lets f change it, and puts it back */

static void
resign(char *tok, void (*f)(unsigned char *sig, size_t *len))
{
    char           *dot;
    size_t          len, pos;
    unsigned char   sig[1024];

    dot = strrchr(tok, '.') + 1;
    len = gw_b64url_decode(sig, (unsigned char *) dot, strlen(dot));
    f(sig, &len);
    pos = dot - tok;
    put_b64(tok, &pos, sig, len);
}


static void
flip_first(unsigned char *sig, size_t *len)
{
    (void) len;
    sig[0] ^= 0x01;
}


static void
flip_last(unsigned char *sig, size_t *len)
{
    sig[*len - 1] ^= 0x80;
}


static void
drop_last(unsigned char *sig, size_t *len)
{
    (void) sig;
    (*len)--;
}


static void
add_zero(unsigned char *sig, size_t *len)
{
    memmove(sig + 1, sig, *len);
    sig[0] = 0;
    (*len)++;
}


static void
all_zero(unsigned char *sig, size_t *len)
{
    memset(sig, 0, *len);
}


/*
 * What the nginx glue does: parse, then try every key that fits the alg
 * and kid.  Returns 0 when one verifies; *err and *tried say how it went.
 */

static int
verify(const char *tok, const gw_keyset_t *ks, const char **err,
    size_t *tried)
{
    int              rc;
    size_t           i, n;
    gw_jws_t         jws;
    const gw_jwk_t  *key;

    n = 0;
    rc = -1;

    if (gw_jws_parse(&jws, (const unsigned char *) tok, strlen(tok),
                     GW_JWS_MAX_LEN, err)
        == 0)
    {
        *err = "no key";

        i = 0;

        while ((key = gw_keyset_next(ks, &i, jws.kid, jws.kid_len, jws.alg))
               != NULL)
        {
            n++;

            if (gw_jws_verify(&jws, key, err) == 0) {
                rc = 0;
                break;
            }
        }
    }

    gw_jws_free(&jws);

    if (tried != NULL) {
        *tried = n;
    }

    return rc;
}


/*
 * verify() gives rc, with *err equal to want_err unless that is NULL, after
 * trying want_tried keys unless that is -1; diag()s what it got otherwise.
 */

static int
check(const char *tok, const gw_keyset_t *ks, int want_rc,
    const char *want_err, int want_tried)
{
    int          rc;
    size_t       tried;
    const char  *err;

    err = NULL;
    rc = verify(tok, ks, &err, &tried);

    if (rc == want_rc
        && (rc == 0 || want_err == NULL || strcmp(err, want_err) == 0)
        && (want_tried == -1 || (size_t) want_tried == tried))
    {
        return 1;
    }

    diag("verify: rc %d, \"%s\", %zu keys tried", rc,
         rc == 0 ? "" : err, tried);

    return 0;
}


static int
load(gw_keyset_t *ks, const char *name, gw_key_format_e fmt)
{
    memset(ks, 0, sizeof(gw_keyset_t));

    if (gw_keyset_load_file(ks, key_path(name), fmt, NULL, 0, errbuf,
                            sizeof(errbuf))
        != 0)
    {
        diag("cannot load %s: %s", name, errbuf);
        return -1;
    }

    return 0;
}


static void
signer_init(signer_t *s, const alg_case_t *c, unsigned char **secret)
{
    memset(s, 0, sizeof(signer_t));
    s->alg = c->alg;

    if (c->fmt == GW_KEY_FMT_HMAC) {
        *secret = read_file(c->priv, &s->secret_len);
        s->secret = *secret;

    } else {
        s->pkey = read_private(c->priv);
    }
}


static void
test_algorithms(void)
{
    char           *tok, *other, hdr[128], *p;
    size_t          i, j;
    signer_t        s;
    gw_keyset_t     ks;
    const char     *err, *name;
    unsigned char  *secret;

    for (i = 0; i < NCASES; i++) {
        name = gw_alg_name(cases[i].alg);
        secret = NULL;
        signer_init(&s, &cases[i], &secret);

        if (load(&ks, cases[i].pub, cases[i].fmt) != 0) {
            ok(0, "%s: keys", name);
            continue;
        }

        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", name);

        tok = mint(&s, hdr, "{\"sub\":\"alice\",\"n\":1}");
        ok(check(tok, &ks, 0, NULL, 1), "%s verifies with %s", name,
           cases[i].pub);

        /* the signature of another payload */

        other = mint(&s, hdr, "{\"sub\":\"mallory\",\"n\":1}");
        p = strrchr(tok, '.');
        memcpy(strrchr(other, '.'), p, strlen(p) + 1);
        ok(check(other, &ks, -1, "invalid signature", 1),
           "%s: swapped payload fails", name);
        free(other);

        other = malloc(4096);
        if (other == NULL) {
            bail_out("out of memory");
        }

        strcpy(other, tok);
        resign(other, flip_first);
        ok(check(other, &ks, -1, "invalid signature", 1),
           "%s: first signature bit flipped fails", name);
        strcpy(other, tok);
        resign(other, flip_last);
        ok(check(other, &ks, -1, "invalid signature", 1),
           "%s: last signature byte changed fails", name);
        strcpy(other, tok);
        resign(other, drop_last);
        ok(check(other, &ks, -1, "invalid signature", 1),
           "%s: signature one byte short fails", name);
        strcpy(other, tok);
        resign(other, add_zero);
        ok(check(other, &ks, -1, "invalid signature", 1),
           "%s: signature with a leading zero byte fails", name);
        strcpy(other, tok);
        resign(other, all_zero);
        ok(check(other, &ks, -1, "invalid signature", 1),
           "%s: all-zero signature fails", name);
        free(other);

        /* no other algorithm's token verifies with these keys */

        for (j = 0; j < NCASES; j++) {
            if (cases[j].alg == cases[i].alg) {
                continue;
            }

            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}",
                     gw_alg_name(cases[j].alg));
            other = mint(&s, hdr, "{\"sub\":\"alice\",\"n\":1}");

            if (verify(other, &ks, &err, NULL) == 0) {
                ok(0, "%s key verified a token claiming %s", name,
                   gw_alg_name(cases[j].alg));
            }

            free(other);
        }

        free(tok);
        free(secret);
        EVP_PKEY_free(s.pkey);
        gw_keyset_free(&ks);
    }

    ok(1, "no key verified a token whose header names another alg");
}


/*
 * The R || S of ECDSA signatures become DER by hand: numbers with leading
 * zero bytes (shortened) and with the top bit set (a 0 byte first) must
 * verify on every curve, and so must every signature after a failure, on
 * the key's reused context.  Signatures are random: signing goes on until
 * each shape was seen (or a cap, which the diagnostics tell).
 */

static void
test_ecdsa_shapes(void)
{
    int           size, seen, bad, n;
    char         *tok, payload[64];
    size_t        i, len;
    signer_t      s;
    gw_keyset_t   ks;
    unsigned char  sig[256];
    const char    *dot;

    static const struct {
        gw_alg_e     alg;
        const char  *priv, *pub, *header;
    } curves[] = {
        { GW_ALG_ES256, "ec256.key", "ec256.pem", "{\"alg\":\"ES256\"}" },
        { GW_ALG_ES384, "ec384.key", "ec384.pem", "{\"alg\":\"ES384\"}" },
        { GW_ALG_ES512, "ec521.key", "ec521.pem", "{\"alg\":\"ES512\"}" }
    };

    for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        memset(&s, 0, sizeof(s));
        s.alg = curves[i].alg;
        s.pkey = read_private(curves[i].priv);
        load(&ks, curves[i].pub, GW_KEY_FMT_PEM);

        size = (s.alg == GW_ALG_ES256) ? 32 : (s.alg == GW_ALG_ES384) ? 48
                                                                      : 66;
        bad = 0;

        /* R and S of P-521 are 521 bits: their first byte is 0 or 1 */

        seen = (s.alg == GW_ALG_ES512) ? 0x0c : 0;

        /* bits: R short, S short, R top bit, S top bit */

        for (n = 0; n < 4000 && seen != 0x0f; n++) {
            snprintf(payload, sizeof(payload), "{\"n\":%d}", n);
            tok = mint(&s, curves[i].header, payload);

            dot = strrchr(tok, '.') + 1;
            len = gw_b64url_decode(sig, (const unsigned char *) dot,
                                   strlen(dot));

            if (len != (size_t) (2 * size)) {
                bad++;
            }

            if (sig[0] == 0) {
                seen |= 1;
            }

            if (sig[size] == 0) {
                seen |= 2;
            }

            if (sig[0] & 0x80) {
                seen |= 4;
            }

            if (sig[size] & 0x80) {
                seen |= 8;
            }

            if (!check(tok, &ks, 0, NULL, -1)) {
                bad++;
            }

            if (n % 50 == 0) {
                resign(tok, flip_last);

                if (!check(tok, &ks, -1, "invalid signature", -1)) {
                    bad++;
                }
            }

            free(tok);
        }

        ok(bad == 0 && seen == 0x0f,
           "%s: %d signatures of every R and S shape verify",
           gw_alg_name(s.alg), n);

        if (seen != 0x0f) {
            diag("shapes seen: %x", seen);
        }

        gw_keyset_free(&ks);
        EVP_PKEY_free(s.pkey);
    }
}


/*
 * One key verifies several algorithms, each on a context of its own, in
 * any order, good and bad signatures mixed: the reused contexts keep no
 * state from one token to the next.
 */

static void
test_context_reuse(void)
{
    int             bad;
    char           *tok, hdr[32];
    size_t          i, k;
    signer_t        s;
    gw_keyset_t     ks;
    unsigned char  *secret;

    static const gw_alg_e  rsa[] = {
        GW_ALG_RS256, GW_ALG_PS256, GW_ALG_RS512, GW_ALG_PS384,
        GW_ALG_RS256, GW_ALG_RS384, GW_ALG_PS512, GW_ALG_PS256
    };

    static const gw_alg_e  hmac[] = {
        GW_ALG_HS256, GW_ALG_HS512, GW_ALG_HS384, GW_ALG_HS256
    };

    bad = 0;

    memset(&s, 0, sizeof(s));
    s.pkey = read_private("rsa.key");
    load(&ks, "rsa.pem", GW_KEY_FMT_PEM);

    for (k = 0; k < 3; k++) {
        for (i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++) {
            s.alg = rsa[i];
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}",
                     gw_alg_name(rsa[i]));
            tok = mint(&s, hdr, "{\"sub\":\"a\"}");

            if ((i + k) % 3 == 0) {
                resign(tok, flip_first);
                bad += !check(tok, &ks, -1, "invalid signature", -1);

            } else {
                bad += !check(tok, &ks, 0, NULL, -1);
            }

            free(tok);
        }
    }

    gw_keyset_free(&ks);
    EVP_PKEY_free(s.pkey);

    ok(bad == 0, "RSA: one key's contexts, good and bad tokens mixed");

    bad = 0;

    memset(&s, 0, sizeof(s));
    secret = read_file("hmac64.secret", &s.secret_len);
    s.secret = secret;
    load(&ks, "hmac64.secret", GW_KEY_FMT_HMAC);

    for (k = 0; k < 3; k++) {
        for (i = 0; i < sizeof(hmac) / sizeof(hmac[0]); i++) {
            s.alg = hmac[i];
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}",
                     gw_alg_name(hmac[i]));
            tok = mint(&s, hdr, "{\"sub\":\"b\"}");

            if ((i + k) % 2 == 0) {
                resign(tok, flip_last);
                bad += !check(tok, &ks, -1, "invalid signature", -1);
            }

            bad += !check(tok, &ks, (i + k) % 2 == 0 ? -1 : 0, NULL, -1);

            free(tok);
        }
    }

    gw_keyset_free(&ks);
    free(secret);

    ok(bad == 0, "HMAC: one key's contexts, good and bad tokens mixed");
}


static void
test_ecdsa_forms(void)
{
    char         *tok;
    signer_t      s;
    gw_jws_t      jws;
    gw_keyset_t   ks;
    const char   *err;

    memset(&s, 0, sizeof(s));
    s.alg = GW_ALG_ES256;
    s.pkey = read_private("ec256.key");
    load(&ks, "ec256.pem", GW_KEY_FMT_PEM);

    s.der = 1;
    tok = mint(&s, "{\"alg\":\"ES256\"}", "{}");
    ok(check(tok, &ks, -1, "invalid signature", -1),
       "ES256 with a DER signature fails");
    free(tok);

    s.der = 0;
    tok = mint(&s, "{\"alg\":\"ES256\"}", "{}");
    ok(check(tok, &ks, 0, NULL, -1), "ES256 raw R||S verifies");
    resign(tok, add_zero);
    ok(check(tok, &ks, -1, "invalid signature", 1),
       "ES256 of 65 bytes fails");
    free(tok);

    tok = mint(&s, "{\"alg\":\"ES256\"}", "{}");
    resign(tok, all_zero);
    ok(check(tok, &ks, -1, "invalid signature", -1),
       "ES256 with r = s = 0 fails");
    free(tok);

    /* P-256 key, P-384 signature length and name */

    tok = mint(&s, "{\"alg\":\"ES384\"}", "{}");
    ok(check(tok, &ks, -1, "no key", -1),
       "ES384 token finds no P-256 key");
    gw_jws_parse(&jws, (unsigned char *) tok, strlen(tok), 8192, &err);
    ok(gw_jws_verify(&jws, &ks.keys[0], &err) == -1
       && strcmp(err, "key does not fit the algorithm") == 0,
       "verify() itself refuses ES384 with a P-256 key");
    gw_jws_free(&jws);
    gw_jws_free(&jws);
    free(tok);

    EVP_PKEY_free(s.pkey);
    gw_keyset_free(&ks);
}


static void
test_pss_pkcs1(void)
{
    char         *tok;
    signer_t      s;
    gw_keyset_t   ks, narrow;

    memset(&s, 0, sizeof(s));
    s.pkey = read_private("rsa.key");
    load(&ks, "rsa.pem", GW_KEY_FMT_PEM);

    s.alg = GW_ALG_PS256;
    tok = mint(&s, "{\"alg\":\"RS256\"}", "{}");
    ok(check(tok, &ks, -1, NULL, -1),
       "a PSS signature under RS256 fails");
    free(tok);

    s.alg = GW_ALG_RS256;
    tok = mint(&s, "{\"alg\":\"PS256\"}", "{}");
    ok(check(tok, &ks, -1, NULL, -1),
       "a PKCS#1 v1.5 signature under PS256 fails");
    free(tok);

    s.alg = GW_ALG_PS256;
    s.max_salt = 1;
    tok = mint(&s, "{\"alg\":\"PS256\"}", "{}");
    ok(check(tok, &ks, -1, "invalid signature", 1),
       "PS256 with a salt longer than the digest fails");
    free(tok);
    s.max_salt = 0;

    s.alg = GW_ALG_PS384;
    tok = mint(&s, "{\"alg\":\"PS256\"}", "{}");
    ok(check(tok, &ks, -1, NULL, -1),
       "a PS384 signature under PS256 fails");
    free(tok);

    memset(&narrow, 0, sizeof(narrow));
    gw_keyset_load_file(&narrow, key_path("rsa.pem"), GW_KEY_FMT_PEM, NULL,
                        GW_ALG_BIT(GW_ALG_RS256), errbuf, sizeof(errbuf));

    s.alg = GW_ALG_PS256;
    tok = mint(&s, "{\"alg\":\"PS256\"}", "{}");
    ok(check(tok, &ks, 0, NULL, -1), "PS256 verifies");
    ok(check(tok, &narrow, -1, "no key", -1),
       "PS256 finds no key narrowed to RS256");
    free(tok);

    EVP_PKEY_free(s.pkey);
    gw_keyset_free(&ks);
    gw_keyset_free(&narrow);
}


static void
test_confusion(void)
{
    char           *tok;
    size_t          len;
    jwt_t          *jwt;
    signer_t        s;
    gw_jws_t        jws;
    gw_keyset_t     ks, hks;
    const char     *err;
    unsigned char  *pem;

    pem = read_file("rsa.pem", &len);
    load(&ks, "rsa.pem", GW_KEY_FMT_AUTO);

    memset(&s, 0, sizeof(s));
    s.alg = GW_ALG_HS256;
    s.secret = pem;
    s.secret_len = len;

    tok = mint(&s, "{\"alg\":\"HS256\"}", "{\"sub\":\"admin\"}");
    ok(check(tok, &ks, -1, "no key", -1),
       "HS256 keyed with the RSA PEM text finds no key in the RSA set");

    gw_jws_parse(&jws, (unsigned char *) tok, strlen(tok), 8192, &err);
    ok(gw_jws_verify(&jws, &ks.keys[0], &err) == -1
       && strcmp(err, "key does not fit the algorithm") == 0,
       "verify() refuses HS256 with the RSA key");
    gw_jws_free(&jws);

    /* with an explicit HMAC configuration the same text is a secret */

    load(&hks, "rsa.pem", GW_KEY_FMT_HMAC);
    ok(check(tok, &hks, -1, "invalid signature", 1),
       "the HMAC format drops the file's trailing newline");
    free(tok);

    s.secret_len = len - 1;
    tok = mint(&s, "{\"alg\":\"HS256\"}", "{\"sub\":\"admin\"}");
    ok(check(tok, &hks, 0, NULL, 1),
       "only an explicit HMAC configuration makes the PEM text a secret");
    gw_keyset_free(&hks);
    free(tok);

    /* the same attack minted by libjwt */

    jwt_new(&jwt);
    jwt_add_grant(jwt, "sub", "admin");
    jwt_set_alg(jwt, JWT_ALG_HS256, pem, (int) len);
    tok = jwt_encode_str(jwt);
    jwt_free(jwt);
    ok(tok != NULL && check(tok, &ks, -1, "no key", 0),
       "libjwt HS256 keyed with the PEM text fails too");
    free(tok);

    /* an embedded jwk header is never a key */

    s.secret = (const unsigned char *) "0123456789abcdef0123456789abcdef";
    s.secret_len = 32;
    tok = mint(&s, "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\","
               "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}}",
               "{}");
    load(&hks, "hmac.secret", GW_KEY_FMT_HMAC);
    ok(check(tok, &hks, -1, "invalid signature", 1),
       "an embedded jwk is ignored");
    gw_keyset_free(&hks);
    free(tok);

    free(pem);
    gw_keyset_free(&ks);
}


static void
test_libjwt(void)
{
    char           *tok;
    size_t          i, len;
    jwt_t          *jwt;
    gw_jws_t        jws;
    gw_keyset_t     ks;
    const char     *err, *name;
    unsigned char  *key;

    for (i = 0; i < NLIBJWT; i++) {
        name = jwt_alg_str(libjwt_cases[i].alg);
        key = read_file(libjwt_cases[i].priv, &len);
        load(&ks, libjwt_cases[i].pub, libjwt_cases[i].fmt);

        jwt_new(&jwt);
        jwt_add_grant(jwt, "sub", "libjwt");
        jwt_add_grant_int(jwt, "exp", 4102444800L);
        jwt_set_alg(jwt, libjwt_cases[i].alg, key, (int) len);

        if (libjwt_cases[i].alg == JWT_ALG_ES256) {
            jwt_add_header(jwt, "kid", "ec256-1");
        }

        tok = jwt_encode_str(jwt);
        jwt_free(jwt);

        ok(tok != NULL && check(tok, &ks, 0, NULL, 1),
           "libjwt %s token verifies", name);

        if (tok != NULL) {
            gw_jws_parse(&jws, (unsigned char *) tok, strlen(tok), 8192,
                         &err);
            is_str(json_string_value(json_object_get(gw_jws_payload(&jws),
                                                     "sub")),
                   "libjwt", "libjwt %s payload read", name);
            gw_jws_free(&jws);

            resign(tok, flip_last);
            ok(check(tok, &ks, -1, NULL, -1),
               "libjwt %s token with a changed signature fails", name);
        }

        free(tok);
        free(key);
        gw_keyset_free(&ks);
    }
}


static void
test_kid(void)
{
    char         *tok, hdr[128];
    signer_t      s;
    gw_keyset_t   ks, two;

    load(&ks, "jwks.json", GW_KEY_FMT_AUTO);

    memset(&s, 0, sizeof(s));
    s.alg = GW_ALG_ES384;
    s.pkey = read_private("ec384.key");

    tok = mint(&s, "{\"alg\":\"ES384\",\"kid\":\"ec384-1\"}", "{}");
    ok(check(tok, &ks, 0, NULL, 1),
       "kid ec384-1 selects its key");
    free(tok);

    tok = mint(&s, "{\"alg\":\"ES384\",\"kid\":\"ec521-1\"}", "{}");
    ok(check(tok, &ks, -1, "no key", 0),
       "kid of a P-521 key with ES384: no key tried");
    free(tok);

    tok = mint(&s, "{\"alg\":\"ES384\",\"kid\":\"nope\"}", "{}");
    ok(check(tok, &ks, -1, "no key", 0),
       "unknown kid: no key tried");
    free(tok);

    tok = mint(&s, "{\"alg\":\"ES384\"}", "{}");
    ok(check(tok, &ks, 0, NULL, 1),
       "no kid: the one fitting key tried");
    free(tok);
    EVP_PKEY_free(s.pkey);

    s.alg = GW_ALG_RS256;
    s.pkey = read_private("rsa.key");

    tok = mint(&s, "{\"alg\":\"RS256\",\"kid\":\"rsa-enc\"}", "{}");
    ok(check(tok, &ks, -1, "no key", 0),
       "kid of the skipped enc key: no key");
    free(tok);

    tok = mint(&s, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "{}");
    ok(check(tok, &ks, 0, NULL, -1), "kid rsa-1 verifies");
    free(tok);

    /* keys without a kid match only tokens without one */

    memset(&two, 0, sizeof(two));
    gw_keyset_load_file(&two, key_path("ec256.pem"), GW_KEY_FMT_AUTO, NULL, 0,
                        errbuf, sizeof(errbuf));
    gw_keyset_load_file(&two, key_path("rsa.crt"), GW_KEY_FMT_AUTO, "b", 0,
                        errbuf, sizeof(errbuf));
    gw_keyset_load_file(&two, key_path("rsa.pem"), GW_KEY_FMT_AUTO, NULL, 0,
                        errbuf, sizeof(errbuf));

    tok = mint(&s, "{\"alg\":\"RS256\"}", "{}");
    ok(check(tok, &two, 0, NULL, 1),
       "no kid: first fitting key verifies");
    free(tok);

    tok = mint(&s, "{\"alg\":\"RS256\",\"kid\":\"a\"}", "{}");
    ok(check(tok, &two, -1, "no key", 0),
       "kid a: the kid-less keys are not tried");
    free(tok);

    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"b\"}");
    tok = mint(&s, hdr, "{}");
    ok(check(tok, &two, 0, NULL, 1),
       "kid b: the configured kid selects the certificate");
    free(tok);

    EVP_PKEY_free(s.pkey);
    gw_keyset_free(&two);
    gw_keyset_free(&ks);
}


/* parses header.payload.sig built from JSON text; returns parse's rc */

static int
parse_parts(const char *header, const char *payload, const char *sig,
    const char **err)
{
    int        rc;
    char       tok[8192];
    size_t     pos;
    gw_jws_t   jws;

    pos = 0;
    put_b64(tok, &pos, (const unsigned char *) header, strlen(header));
    tok[pos++] = '.';
    put_b64(tok, &pos, (const unsigned char *) payload, strlen(payload));
    tok[pos++] = '.';
    strcpy(tok + pos, sig);

    rc = gw_jws_parse(&jws, (unsigned char *) tok, strlen(tok),
                      GW_JWS_MAX_LEN, err);
    gw_jws_free(&jws);

    return rc;
}


static int
parse_raw(const char *tok, const char **err)
{
    int       rc;
    gw_jws_t  jws;

    rc = gw_jws_parse(&jws, (const unsigned char *) tok, strlen(tok),
                      GW_JWS_MAX_LEN, err);
    gw_jws_free(&jws);

    return rc;
}


/* the header matcher's verdict on text, with the alg and kid it read */

static int
plain(const char *text, gw_alg_e alg, const char *kid)
{
    gw_jws_t  jws;

    memset(&jws, 0, sizeof(gw_jws_t));

    if (!gw_jws_header_plain(&jws, (const unsigned char *) text,
                             strlen(text)))
    {
        return 0;
    }

    return jws.alg == alg
           && (kid == NULL ? jws.kid == NULL
               : jws.kid != NULL && jws.kid_len == strlen(kid)
                 && memcmp(jws.kid, kid, jws.kid_len) == 0);
}


static void
test_header_plain(void)
{
    ok(plain("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", GW_ALG_HS256, NULL),
       "plain header: compact");
    ok(plain("{\"alg\": \"RS256\", \"typ\": \"JWT\"}", GW_ALG_RS256, NULL),
       "plain header: spaces as Python writes them");
    ok(plain(" \r\n{ \"kid\" :\t\"k 1\" ,\n \"alg\" : \"ES256\" }\n ",
             GW_ALG_ES256, "k 1"),
       "plain header: white space between every token");
    ok(!plain("{ }", GW_ALG_HS256, NULL), "plain header: {} is not");
    ok(!plain("{\"alg\":\"HS256\",}", GW_ALG_HS256, NULL),
       "plain header: a trailing comma is not");
    ok(!plain("{\"alg\":\"HS256\" \"typ\":\"JWT\"}", GW_ALG_HS256, NULL),
       "plain header: a missing comma is not");
    ok(!plain("{\"alg\" \"HS256\"}", GW_ALG_HS256, NULL),
       "plain header: a missing colon is not");
    ok(!plain("{\"alg\":\"HS256\"}}", GW_ALG_HS256, NULL),
       "plain header: a second brace is not");
    ok(!plain("{\"alg\":\"HS256\"\f}", GW_ALG_HS256, NULL),
       "plain header: a form feed is not white space");
    ok(!plain("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", GW_ALG_HS256, NULL),
       "plain header: a duplicate alg is not");
    ok(!plain("{\"alg\" :\"none\"}", GW_ALG_HS256, NULL),
       "plain header: alg none is left to jansson's way");
}


static void
test_parse(void)
{
    int           i;
    char          kid[400], *big;
    size_t        len;
    gw_jws_t      jws;
    const char   *err;
    static const char  *nones[] = { "none", "None", "NONE", "nOnE" };
    static const char  *algs[] = {
        "hs256", "Hs256", "HS257", "HS2560", "", "RSA-OAEP", "ES256K",
        "Ed25519", "EDDSA"
    };

#define H  "{\"alg\":\"HS256\"}"
#define P  "{\"sub\":\"a\"}"

    is_int(parse_parts(H, P, "c2ln", &err), 0, "a well-formed token parses");

    is_int(parse_raw("", &err), -1, "empty token");
    is_int(parse_raw("abc", &err), -1, "one segment");
    is_str(err, "token is not three dot-separated segments", "error text");
    is_int(parse_raw("abc.def", &err), -1, "two segments");
    is_int(parse_raw("eyJhbGciOiJIUzI1NiJ9.eyJ9.c2ln.c2ln", &err), -1,
           "four segments");
    is_int(parse_raw("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", &err), -1,
           "five segments (JWE)");
    is_int(parse_raw(".eyJ9.c2ln", &err), -1, "empty header");
    is_str(err, "token has an empty segment", "error text");
    is_int(parse_raw("eyJhbGciOiJIUzI1NiJ9..c2ln", &err), -1,
           "empty payload");
    is_int(parse_raw("eyJhbGciOiJIUzI1NiJ9.e30.", &err), -1,
           "empty signature");
    is_int(parse_raw("..", &err), -1, "only dots");

    is_int(parse_parts(H, P, "c2ln=", &err), -1, "padded signature");
    is_str(err, "signature is not base64url", "error text");
    is_int(parse_parts(H, P, "c2l+", &err), -1, "'+' in the signature");
    is_int(parse_raw("eyJhbGciOiJIUzI1NiJ9=.e30.c2ln", &err), -1,
           "padded header");
    is_int(parse_raw("eyJhbGciOiJIUzI1NiJ9.e30=.c2ln", &err), -1,
           "padded payload");
    is_int(parse_raw("eyJhbGciOiJIUzI1NiJ9 .e30.c2ln", &err), -1,
           "space in the header");

    is_int(parse_parts("[]", P, "c2ln", &err), -1, "header an array");
    is_str(err, "JOSE header is not a JSON object", "error text");
    is_int(parse_parts("\"HS256\"", P, "c2ln", &err), -1, "header a string");
    is_int(parse_parts("{\"alg\":\"HS256\"", P, "c2ln", &err), -1,
           "header truncated");
    is_int(parse_parts("{\"alg\":\"HS256\"} {}", P, "c2ln", &err), -1,
           "header with trailing data");
    is_int(parse_parts("{\"alg\":\"HS256\",\"x\":\"\xff\"}", P, "c2ln", &err),
           -1, "header with invalid UTF-8");
    is_int(parse_parts("{\"alg\":\"HS256\",\"alg\":\"HS256\"}", P, "c2ln",
                       &err), -1, "duplicate alg in the header");
    is_int(parse_parts("{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"b\"}", P,
                       "c2ln", &err), -1, "duplicate kid in the header");
    is_int(parse_parts(H, "{\"sub\":\"a\",\"sub\":\"b\"}", "c2ln", &err), -1,
           "duplicate sub in the payload");
    is_str(err, "payload is not a JSON object", "error text");
    is_int(parse_parts(H, "{\"a\":{\"b\":1,\"b\":2}}", "c2ln", &err), -1,
           "nested duplicate in the payload");
    is_int(parse_parts(H, "[1]", "c2ln", &err), -1, "payload an array");
    is_int(parse_parts(H, "42", "c2ln", &err), -1, "payload a number");
    is_int(parse_parts(H, "not json", "c2ln", &err), -1, "payload not JSON");

    for (i = 0; i < 4; i++) {
        char  hdr[64];

        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", nones[i]);
        is_int(parse_parts(hdr, P, "c2ln", &err), -1, "alg \"%s\"",
               nones[i]);
        is_str(err, "alg none is not allowed", "error for \"%s\"", nones[i]);
    }

    for (i = 0; i < 9; i++) {
        char  hdr[64];

        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", algs[i]);
        is_int(parse_parts(hdr, P, "c2ln", &err), -1, "alg \"%s\"", algs[i]);
    }

    is_str(err, "unsupported alg", "error text");
    is_int(parse_parts("{}", P, "c2ln", &err), -1, "no alg");
    is_int(parse_parts("{\"alg\":null}", P, "c2ln", &err), -1, "alg null");
    is_int(parse_parts("{\"alg\":[\"HS256\"]}", P, "c2ln", &err), -1,
           "alg an array");

    is_int(parse_parts("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", P, "c2ln",
                       &err), -1, "crit with an unknown extension");
    is_str(err, "unsupported crit header", "error text");
    is_int(parse_parts("{\"alg\":\"HS256\",\"crit\":[]}", P, "c2ln", &err),
           -1, "empty crit");
    is_int(parse_parts("{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}",
                       P, "c2ln", &err), -1, "b64 false with crit");
    is_int(parse_parts("{\"alg\":\"HS256\",\"b64\":false}", P, "c2ln", &err),
           -1, "b64 false");
    is_str(err, "unsupported b64 header", "error text");
    is_int(parse_parts("{\"alg\":\"HS256\",\"b64\":\"true\"}", P, "c2ln",
                       &err), -1, "b64 a string");
    is_int(parse_parts("{\"alg\":\"HS256\",\"b64\":true}", P, "c2ln", &err),
           0, "b64 true is the default and allowed");

    is_int(parse_parts("{\"alg\":\"HS256\",\"kid\":5}", P, "c2ln", &err), -1,
           "kid a number");
    is_str(err, "kid is not a string", "error text");
    is_int(parse_parts("{\"alg\":\"HS256\",\"kid\":null}", P, "c2ln", &err),
           -1, "kid null");

    memcpy(kid, "{\"alg\":\"HS256\",\"kid\":\"", 22);
    memset(kid + 22, 'k', GW_KID_MAX + 1);
    memcpy(kid + 22 + GW_KID_MAX + 1, "\"}", 3);
    is_int(parse_parts(kid, P, "c2ln", &err), -1, "kid of 257 bytes");
    is_str(err, "kid too long", "error text");
    memcpy(kid + 22 + GW_KID_MAX, "\"}", 3);
    is_int(parse_parts(kid, P, "c2ln", &err), 0, "kid of 256 bytes");

    /* what a parse leaves */

    big = malloc(GW_JWS_MAX_LEN + 2);
    if (big == NULL) {
        bail_out("out of memory");
    }

    len = 0;
    put_b64(big, &len, (const unsigned char *)
            "{\"alg\":\"ES256\",\"kid\":\"k-1\",\"typ\":\"JWT\"}", 39);
    memcpy(big + len, ".e30.", 5);
    len += 5;
    memset(big + len, 'A', 86);
    big[len + 86] = '\0';

    is_int(gw_jws_parse(&jws, (unsigned char *) big, strlen(big), 8192, &err),
           0, "ES256 token parses");
    is_int(jws.alg, GW_ALG_ES256, "alg");
    ok(jws.kid_len == 3 && memcmp(jws.kid, "k-1", 3) == 0, "kid");
    is_int(jws.signing_input_len, len - 1, "signing input length");
    ok(jws.signing_input == (unsigned char *) big,
       "signing input points into the token");
    is_int(jws.sig_len, 64, "signature length");
    ok(json_is_object(gw_jws_payload(&jws)),
       "header and payload are objects");
    gw_jws_free(&jws);
    ok(jws.header == NULL && jws.sig == NULL, "free zeroes");
    gw_jws_free(&jws);

    /* the size cap */

    len = strlen(big);
    is_int(gw_jws_parse(&jws, (unsigned char *) big, len, len, &err), 0,
           "token of exactly max_len parses");
    gw_jws_free(&jws);
    is_int(gw_jws_parse(&jws, (unsigned char *) big, len, len - 1, &err), -1,
           "token over max_len rejected");
    is_str(err, "token too long", "error text");
    gw_jws_free(&jws);

    memset(big, 'A', GW_JWS_MAX_LEN + 1);
    big[10] = '.';
    big[20] = '.';
    is_int(gw_jws_parse(&jws, (unsigned char *) big, GW_JWS_MAX_LEN + 1,
                        GW_JWS_MAX_LEN, &err), -1,
           "token of 8193 bytes rejected at the default cap");
    gw_jws_free(&jws);
    free(big);
}


/*
 * "Ed25519" (RFC 9864) is an alg only with GW_JWS_ALG_ED25519 (the
 * identity service's client assertions): then EdDSA, and it verifies
 * with an Ed25519 key; without the option, and in any other spelling,
 * it is unknown.
 */

static void
test_alg_ed25519(void)
{
    char          *tok;
    gw_jws_t       jws;
    signer_t       s;
    const char    *err;
    gw_keyset_t    ks;

    memset(&s, 0, sizeof(s));
    s.alg = GW_ALG_EDDSA;
    s.pkey = read_private("ed25519.key");
    load(&ks, "ed25519.pem", GW_KEY_FMT_AUTO);

    tok = mint(&s, "{\"alg\":\"Ed25519\",\"typ\":\"JWT\"}",
               "{\"sub\":\"a\"}");

    err = NULL;
    is_int(gw_jws_parse(&jws, (unsigned char *) tok, strlen(tok),
                        GW_JWS_MAX_LEN, &err), -1,
           "alg Ed25519: unknown to gw_jws_parse()");
    is_str(err, "unsupported alg", "alg Ed25519: why");
    gw_jws_free(&jws);

    err = NULL;
    is_int(gw_jws_parse_opt(&jws, (unsigned char *) tok, strlen(tok),
                            GW_JWS_MAX_LEN, GW_JWS_ALG_ED25519, &err), 0,
           "alg Ed25519 with GW_JWS_ALG_ED25519: parsed");
    is_int(jws.alg, GW_ALG_EDDSA, "alg Ed25519: taken as EdDSA");
    is_int(gw_jws_verify(&jws, &ks.keys[0], &err), 0,
           "alg Ed25519: verifies with the Ed25519 key");
    gw_jws_free(&jws);
    free(tok);

    tok = mint(&s, "{\"alg\":\"ed25519\"}", "{\"sub\":\"a\"}");
    is_int(gw_jws_parse_opt(&jws, (unsigned char *) tok, strlen(tok),
                            GW_JWS_MAX_LEN, GW_JWS_ALG_ED25519, &err), -1,
           "alg ed25519 (another case): unknown even with the option");
    gw_jws_free(&jws);
    free(tok);

    gw_keyset_free(&ks);
    EVP_PKEY_free(s.pkey);
}


/*
 * gw_jws_verify_raw(), the thread-safe form, gives gw_jws_verify()'s
 * answer for every asymmetric algorithm and key: on the valid token, on
 * another payload's signature, and on each tampered signature; it
 * refuses HMAC and a key of another type.
 */

static int
raw_same(const char *tok, const gw_keyset_t *ks)
{
    int              rc, rrc, same;
    size_t           i, n;
    gw_jws_t         jws;
    const char      *err, *rerr;
    const gw_jwk_t  *key;

    if (gw_jws_parse(&jws, (const unsigned char *) tok, strlen(tok),
                     GW_JWS_MAX_LEN, &err)
        != 0)
    {
        diag("parse: %s", err);
        gw_jws_free(&jws);
        return 0;
    }

    same = 1;
    n = 0;
    i = 0;

    while ((key = gw_keyset_next(ks, &i, NULL, 0, jws.alg)) != NULL) {
        n++;
        err = "";
        rerr = "";
        rc = gw_jws_verify(&jws, key, &err);
        rrc = gw_jws_verify_raw(jws.alg, key->pkey, jws.signing_input,
                                jws.signing_input_len, jws.sig, jws.sig_len,
                                &rerr);

        if (rc != rrc || (rc != 0 && strcmp(err, rerr) != 0)) {
            diag("verify %d \"%s\", raw %d \"%s\"", rc, err, rrc, rerr);
            same = 0;
        }
    }

    gw_jws_free(&jws);

    return same && n > 0;
}


static void
test_raw(void)
{
    int             rc;
    char           *tok, *other, hdr[128], *p;
    size_t          i, k;
    signer_t        s;
    gw_keyset_t     ks, ec;
    const char     *err, *name;
    unsigned char  *secret;

    static void   (*tamper[])(unsigned char *sig, size_t *len) = {
        flip_first, flip_last, drop_last, add_zero, all_zero
    };

    for (i = 0; i < NCASES; i++) {
        if (cases[i].fmt == GW_KEY_FMT_HMAC) {
            continue;
        }

        name = gw_alg_name(cases[i].alg);
        secret = NULL;
        signer_init(&s, &cases[i], &secret);

        if (load(&ks, cases[i].pub, cases[i].fmt) != 0) {
            ok(0, "%s: keys", name);
            continue;
        }

        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", name);

        tok = mint(&s, hdr, "{\"sub\":\"alice\",\"n\":1}");
        ok(raw_same(tok, &ks) && check(tok, &ks, 0, NULL, -1),
           "%s: raw verifies as gw_jws_verify", name);

        other = mint(&s, hdr, "{\"sub\":\"mallory\",\"n\":1}");
        p = strrchr(tok, '.');
        memcpy(strrchr(other, '.'), p, strlen(p) + 1);
        ok(raw_same(other, &ks) && check(other, &ks, -1, NULL, -1),
           "%s: raw fails a swapped payload as gw_jws_verify", name);
        free(other);

        other = malloc(4096);
        if (other == NULL) {
            bail_out("out of memory");
        }

        for (k = 0; k < sizeof(tamper) / sizeof(tamper[0]); k++) {
            strcpy(other, tok);
            resign(other, tamper[k]);
            ok(raw_same(other, &ks) && check(other, &ks, -1, NULL, -1),
               "%s: raw fails tampered signature %zu as gw_jws_verify",
               name, k);
        }

        free(other);
        free(tok);
        free(secret);
        EVP_PKEY_free(s.pkey);
        gw_keyset_free(&ks);
    }

    /* HMAC and a key of another type are refused */

    if (load(&ec, "ec256.pem", GW_KEY_FMT_AUTO) != 0) {
        ok(0, "ec256.pem");
        return;
    }

    err = NULL;
    rc = gw_jws_verify_raw(GW_ALG_HS256, ec.keys[0].pkey,
                           (const unsigned char *) "a.b", 3,
                           (const unsigned char *) "0123456789abcdef"
                           "0123456789abcdef", 32, &err);
    ok(rc == -1 && err != NULL
       && strcmp(err, "key does not fit the algorithm") == 0,
       "raw refuses HS256");

    err = NULL;
    rc = gw_jws_verify_raw(GW_ALG_RS256, ec.keys[0].pkey,
                           (const unsigned char *) "a.b", 3,
                           (const unsigned char *) "x", 1, &err);
    ok(rc == -1 && err != NULL
       && strcmp(err, "key does not fit the algorithm") == 0,
       "raw refuses RS256 with an EC key");

    err = NULL;
    rc = gw_jws_verify_raw(GW_ALG_ES256, NULL,
                           (const unsigned char *) "a.b", 3,
                           (const unsigned char *) "x", 1, &err);
    ok(rc == -1, "raw refuses no key");

    gw_keyset_free(&ec);
}


int
main(void)
{
    keydir = getenv("GW_TEST_KEYS");
    if (keydir == NULL) {
        keydir = "t/data/keys";
    }

    test_parse();
    test_header_plain();
    test_algorithms();
    test_ecdsa_forms();
    test_ecdsa_shapes();
    test_context_reuse();
    test_pss_pkcs1();
    test_confusion();
    test_libjwt();
    test_kid();
    test_alg_ed25519();
    test_raw();

    return done_testing();
}
