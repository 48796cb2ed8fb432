
/*
 * Copyright (C) Tollgate
 *
 * JWS signing (lib/jose/gw_jws_sign.c).  For each algorithm the identity
 * service signs with (ES256, EdDSA, RS256): a generated key signs a token,
 * lib/jose's own parser and verifier accept it with the signer's public
 * JWK and refuse it with another key of the same kind or with a byte of
 * the payload changed; the header is exactly {"alg","typ","kid"} with the
 * caller's typ; the signature has its exact length (R || S for ECDSA,
 * never DER); the kid is the RFC 7638 thumbprint; the PKCS #8 export
 * loads back into a signer with the same kid and key.
 *
 * `test_jws_sign bench [N]` instead prints signatures per second for
 * each algorithm (not a test: no timing is asserted).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gw_b64url.h"
#include "gw_jws.h"
#include "gw_jws_sign.h"
#include "tap.h"


static const char  payload[] =
    "{\"iss\":\"https://id.example\",\"sub\":\"svc-a\",\"aud\":\"api\","
    "\"exp\":4102444800,\"iat\":1700000000,\"jti\":\"j1\","
    "\"client_id\":\"svc-a\",\"scope\":\"read write\"}";


static int
load_jwk(gw_keyset_t *ks, gw_jws_signer_t *s)
{
    int      rc;
    char    *text, err[256];
    json_t  *jwk;

    memset(ks, 0, sizeof(gw_keyset_t));

    jwk = gw_jws_signer_jwk(s);
    if (jwk == NULL) {
        return -1;
    }

    text = json_dumps(jwk, JSON_COMPACT);
    json_decref(jwk);

    if (text == NULL) {
        return -1;
    }

    rc = gw_keyset_load(ks, (unsigned char *) text, strlen(text),
                        GW_KEY_FMT_JWK, NULL, 0, err, sizeof(err));
    if (rc != 0) {
        diag("jwk load: %s: %s", err, text);
    }

    free(text);

    return rc;
}


/* verifies token with the keys of ks; 0 when one of them accepts it */

static int
verify(const char *token, size_t len, gw_keyset_t *ks, gw_jws_t *out_hdr)
{
    int              rc;
    size_t           i;
    gw_jws_t         jws;
    const char      *err;
    const gw_jwk_t  *key;

    memset(&jws, 0, sizeof(gw_jws_t));

    if (gw_jws_parse(&jws, (const unsigned char *) token, len,
                     GW_JWS_MAX_LEN, &err)
        != 0)
    {
        diag("parse: %s", err);
        gw_jws_free(&jws);
        return -1;
    }

    rc = -1;
    i = 0;

    while ((key = gw_keyset_next(ks, &i, jws.kid, jws.kid_len, jws.alg))
           != NULL)
    {
        if (gw_jws_verify(&jws, key, &err) == 0) {
            rc = 0;
            break;
        }
    }

    if (out_hdr != NULL) {
        out_hdr->alg = jws.alg;
        out_hdr->sig_len = jws.sig_len;
    }

    gw_jws_free(&jws);

    return rc;
}


static void
test_alg(gw_alg_e alg)
{
    char              *tok, *tok2, *dot, err[256], hdr[512];
    char               spliced[2048];
    int                i;
    json_t            *jwk, *h;
    size_t             len, len2, derlen;
    ssize_t            n;
    gw_jws_t           info;
    gw_keyset_t        ks, other_ks;
    const char        *name;
    unsigned char     *der, fp[64];
    gw_jws_signer_t   *s, *other, *back;

    name = gw_alg_name(alg);

    s = gw_jws_signer_generate(alg, err, sizeof(err));
    other = gw_jws_signer_generate(alg, err, sizeof(err));

    if (!ok(s != NULL && other != NULL, "%s: keys generated", name)) {
        diag("%s", err);
        return;
    }

    ok(load_jwk(&ks, s) == 0, "%s: public JWK loads", name);
    ok(load_jwk(&other_ks, other) == 0, "%s: other JWK loads", name);

    /* kid = the thumbprint lib/jose computes for the loaded key */

    n = gw_b64url_encode(fp, ks.keys[0].fp, GW_KEY_FP_LEN);
    fp[n] = '\0';
    is_str(gw_jws_signer_kid(s), (char *) fp, "%s: kid is the thumbprint",
           name);

    jwk = gw_jws_signer_jwk(s);
    is_str(json_string_value(json_object_get(jwk, "use")), "sig",
           "%s: JWK use sig", name);
    is_str(json_string_value(json_object_get(jwk, "alg")), name,
           "%s: JWK alg", name);
    ok(json_object_get(jwk, "d") == NULL && json_object_get(jwk, "p") == NULL,
       "%s: JWK has no private member", name);
    json_decref(jwk);

    tok = gw_jws_sign(s, "at+jwt", (const unsigned char *) payload,
                      sizeof(payload) - 1, &len);

    if (!ok(tok != NULL && strlen(tok) == len, "%s: signed", name)) {
        return;
    }

    memset(&info, 0, sizeof(gw_jws_t));
    ok(verify(tok, len, &ks, &info) == 0, "%s: verifies with its JWK", name);
    is_int(info.alg, alg, "%s: alg in the header", name);
    is_int(info.sig_len,
           alg == GW_ALG_ES256 ? 64 : alg == GW_ALG_EDDSA ? 64 : 256,
           "%s: signature length exact", name);

    ok(verify(tok, len, &other_ks, NULL) != 0,
       "%s: another key refuses it", name);

    /* the header, decoded: exactly alg, typ as given, kid */

    dot = strchr(tok, '.');
    n = gw_b64url_decode((unsigned char *) hdr, (unsigned char *) tok,
                         dot - tok);
    hdr[n < 0 ? 0 : n] = '\0';
    h = json_loads(hdr, 0, NULL);
    ok(h != NULL && json_object_size(h) == 3
       && strcmp(json_string_value(json_object_get(h, "typ")), "at+jwt") == 0
       && strcmp(json_string_value(json_object_get(h, "kid")),
                 gw_jws_signer_kid(s)) == 0,
       "%s: header {alg, typ at+jwt, kid}: %s", name, hdr);
    json_decref(h);

    /* another payload under this signature; then a signature byte */

    tok2 = gw_jws_sign(s, "at+jwt", (const unsigned char *) "{\"a\":1}", 7,
                       &len2);
    dot = strrchr(tok, '.');
    ok(tok2 != NULL && strrchr(tok2, '.') != NULL, "%s: signs again", name);
    memcpy(spliced, tok2, strrchr(tok2, '.') - tok2);
    strcpy(spliced + (strrchr(tok2, '.') - tok2), dot);
    ok(verify(tok, len, &ks, NULL) == 0
       && verify(spliced, strlen(spliced), &ks, NULL) != 0,
       "%s: another payload under the signature refused", name);
    free(tok2);

    dot[5] = (dot[5] == 'A') ? 'B' : 'A';
    ok(verify(tok, len, &ks, NULL) != 0, "%s: changed signature refused",
       name);

    free(tok);

    /* the contexts are reused: each of several tokens verifies */

    for (i = 0; i < 3; i++) {
        snprintf(hdr, sizeof(hdr), "{\"n\":%d}", i);
        tok2 = gw_jws_sign(s, "at+jwt", (const unsigned char *) hdr,
                           strlen(hdr), &len2);
        ok(tok2 != NULL && verify(tok2, len2, &ks, NULL) == 0,
           "%s: token %d of a reused signer verifies", name, i);
        free(tok2);
    }

    /* the private key's round trip */

    der = NULL;
    ok(gw_jws_signer_der(s, &der, &derlen) == 0, "%s: PKCS #8 export",
       name);

    back = gw_jws_signer_from_der(alg, der, derlen, err, sizeof(err));
    ok(back != NULL && strcmp(gw_jws_signer_kid(back), gw_jws_signer_kid(s))
                       == 0,
       "%s: PKCS #8 loads back, same kid", name);

    if (back != NULL) {
        tok2 = gw_jws_sign(back, NULL, (const unsigned char *) payload,
                           sizeof(payload) - 1, &len2);
        ok(tok2 != NULL && verify(tok2, len2, &ks, NULL) == 0,
           "%s: the loaded key signs for the same JWK", name);
        free(tok2);
    }

    ok(gw_jws_signer_from_der(alg == GW_ALG_ES256 ? GW_ALG_EDDSA
                                                  : GW_ALG_ES256,
                              der, derlen, err, sizeof(err))
       == NULL,
       "%s: the key refused for another alg", name);

    OPENSSL_cleanse(der, derlen);
    free(der);

    ok(gw_jws_sign(s, "a\"b", (const unsigned char *) payload, 3, &len)
       == NULL,
       "%s: a typ with a quote is refused", name);

    ok(gw_jws_signer_set_kid(s, "k-2024.1") == 0, "%s: kid set", name);
    tok = gw_jws_sign(s, "at+jwt", (const unsigned char *) payload,
                      sizeof(payload) - 1, &len);
    ok(tok != NULL && verify(tok, len, &ks, NULL) != 0,
       "%s: the new kid is in the header (no longer the JWK's)", name);
    ok(gw_jws_signer_set_kid(s, "a b") == -1, "%s: bad kid refused", name);
    free(tok);

    gw_jws_signer_free(back);
    gw_jws_signer_free(s);
    gw_jws_signer_free(other);
    gw_keyset_free(&ks);
    gw_keyset_free(&other_ks);
}


static void
bench(int n)
{
    int               i, k;
    char             *tok, err[256];
    double            t;
    size_t            len;
    gw_jws_signer_t  *s;
    struct timespec   a, b;

    static const gw_alg_e  algs[] = {
        GW_ALG_ES256, GW_ALG_EDDSA, GW_ALG_RS256
    };

    for (k = 0; k < 3; k++) {
        s = gw_jws_signer_generate(algs[k], err, sizeof(err));
        if (s == NULL) {
            printf("%s: %s\n", gw_alg_name(algs[k]), err);
            continue;
        }

        clock_gettime(CLOCK_MONOTONIC, &a);

        for (i = 0; i < n; i++) {
            tok = gw_jws_sign(s, "at+jwt", (const unsigned char *) payload,
                              sizeof(payload) - 1, &len);
            free(tok);
        }

        clock_gettime(CLOCK_MONOTONIC, &b);

        t = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;

        printf("%-6s %8.0f signatures/s  %6.1f us each\n",
               gw_alg_name(algs[k]), n / t, t / n * 1e6);

        gw_jws_signer_free(s);
    }
}


int
main(int argc, char **argv)
{
    char  err[256];

    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        bench(argc > 2 ? atoi(argv[2]) : 20000);
        return 0;
    }

    test_alg(GW_ALG_ES256);
    test_alg(GW_ALG_EDDSA);
    test_alg(GW_ALG_RS256);

    ok(gw_jws_signer_generate(GW_ALG_HS256, err, sizeof(err)) == NULL,
       "HS256 is not a signing algorithm here");
    ok(gw_jws_signer_from_der(GW_ALG_ES256, (const unsigned char *) "xx", 2,
                              err, sizeof(err))
       == NULL,
       "garbage is not a private key");

    return done_testing();
}
