
/*
 * Copyright (C) Tollgate
 *
 * Client authentication for the token, introspection and revocation
 * endpoints: client_secret_basic and client_secret_post (RFC 6749
 * section 2.3.1) and private_key_jwt (RFC 7523, with the audience rule
 * of RFC 7523bis and OpenID Connect: "aud" is the issuer identifier and
 * nothing else).  One method per request: two are invalid_request.
 *
 * Secrets are known by their HMAC-SHA-256 under the pepper and compared
 * with CRYPTO_memcmp().  An unknown client, a disabled one and a wrong
 * secret take one path: the presented secret's MAC is computed and
 * compared in every case (against a dummy for an unknown client), and
 * every failure answers the same invalid_client; only the log says why.
 * During a rotation's grace the previous secret is accepted as well.
 *
 * An assertion is verified with the client's registered JWK, whose type
 * (and "alg" member, when it has one) pins the algorithm: never "none"
 * (the parser refuses it) and never HMAC (a symmetric JWK is not loaded).
 * "Ed25519" (RFC 9864, as openid-client names it) is taken as EdDSA.
 * The signature is verified on a worker thread (identity_client_verify.c)
 * unless verify_threads is 0; the request waits, and goes on from
 * identity_auth_verified() on the loop.
 * Its jti is remembered under gw:identity:jti:<client>:<sha256-hex> with
 * SET NX EX for the assertion's remaining lifetime: a replay within it
 * finds the key and is refused.  Without Redis that cannot be known, so
 * the request is refused (503 temporarily_unavailable), never let
 * through.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "gw_b64std.h"
#include "gw_model.h"
#include "identity_client.h"


#define IDENTITY_SECRET_MAX     512         /* bytes of a presented secret */
#define IDENTITY_ASSERTION_MAX  8192        /* bytes of a client assertion */
#define IDENTITY_JTI_MAX        256


typedef struct {
    gw_svc_req_t       *req;
    gw_form_t          *form;
    identity_auth_pt    done;
    void               *data;
    unsigned            method;         /* IDENTITY_AUTH_* */
    identity_crec_t    *rec;
    gw_jws_t            jws;
    unsigned            parsed:1;
    size_t              secret_len;
    long long           exp;
    char                id[GW_ID_MAX + 1];
    char                secret[IDENTITY_SECRET_MAX + 1];
} identity_auth_t;


static int identity_auth_basic(identity_auth_t *a, const char *h);
static int identity_auth_assertion(identity_auth_t *a, const char *type,
    const char *assertion, const char *cid);
static void identity_auth_fetched(identity_crec_t *rec, void *data);
static void identity_auth_secret(identity_auth_t *a);
static void identity_auth_jwt(identity_auth_t *a);
static void identity_auth_verified(int rc, void *data);
static void identity_auth_claims(identity_auth_t *a);
static void identity_auth_jti(redisAsyncContext *ac, void *r, void *data);
static void identity_auth_fail(identity_auth_t *a, int status,
    const char *error, const char *description, const char *why);
static void identity_auth_ok(identity_auth_t *a);
static void identity_auth_free(identity_auth_t *a);


static const unsigned char  identity_dummy_mac[IDENTITY_MAC_LEN];


void
identity_client_auth(gw_svc_req_t *req, gw_form_t *form,
    identity_auth_pt done, void *data)
{
    int               n;
    size_t            len;
    const char       *h, *cid, *csecret, *ctype, *cassert;
    identity_auth_t  *a;

    a = calloc(1, sizeof(identity_auth_t));
    if (a == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        done(req, form, NULL, data);
        return;
    }

    a->req = req;
    a->form = form;
    a->done = done;
    a->data = data;

    h = gw_svc_req_header(req, "Authorization");
    cid = gw_form_get(form, "client_id");
    csecret = gw_form_get(form, "client_secret");
    ctype = gw_form_get(form, "client_assertion_type");
    cassert = gw_form_get(form, "client_assertion");

    n = (h != NULL) + (csecret != NULL)
        + (ctype != NULL || cassert != NULL);

    if (n > 1) {
        identity_auth_fail(a, 400, "invalid_request", "more than one client "
                           "authentication method", "several methods");
        return;
    }

    if (n == 0) {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed",
                           "no client authentication");
        return;
    }

    if (h != NULL) {
        a->method = IDENTITY_AUTH_BASIC;

        if (identity_auth_basic(a, h) != 0) {
            identity_auth_fail(a, 401, "invalid_client",
                               "client authentication failed",
                               "malformed Basic credentials");
            return;
        }

        if (cid != NULL && strcmp(cid, a->id) != 0) {
            identity_auth_fail(a, 400, "invalid_request", "client_id "
                               "differs from the authenticated client",
                               "client_id mismatch");
            return;
        }

    } else if (csecret != NULL) {
        a->method = IDENTITY_AUTH_POST;

        if (cid == NULL) {
            identity_auth_fail(a, 400, "invalid_request",
                               "client_secret without client_id",
                               "no client_id");
            return;
        }

        len = strlen(csecret);

        if (len > IDENTITY_SECRET_MAX) {
            len = IDENTITY_SECRET_MAX;
        }

        memcpy(a->secret, csecret, len);
        a->secret_len = len;

        if (strlen(cid) <= GW_ID_MAX) {
            memcpy(a->id, cid, strlen(cid) + 1);
        }

    } else {
        a->method = IDENTITY_AUTH_JWT;

        if (identity_auth_assertion(a, ctype, cassert, cid) != 0) {
            return;
        }
    }

    /*
     * An id that cannot exist skips the Redis read, not the MAC: the
     * secret's work is the same whatever the id.
     */

    if (!gw_model_id_valid(a->id, strlen(a->id))) {
        a->id[0] = '\0';
        identity_auth_fetched(NULL, a);
        return;
    }

    identity_client_get(a->id, identity_auth_fetched, a);
}


/*
 * "Basic" base64(urlencoded(id) ":" urlencoded(secret)) into a->id and
 * a->secret.  0, or -1 when malformed: an id not valid as an id still
 * parses (it is then unknown), a secret over IDENTITY_SECRET_MAX not.
 */

static int
identity_auth_basic(identity_auth_t *a, const char *h)
{
    int             rc;
    size_t          len;
    ssize_t         n;
    const char     *colon;
    unsigned char  *buf;
    char            id[GW_ID_MAX * 3 + 1];

    if (strncasecmp(h, "Basic ", 6) != 0) {
        return -1;
    }

    h += 6;
    h += strspn(h, " ");
    len = strlen(h);

    if (len == 0 || len > 4 * (IDENTITY_SECRET_MAX * 3 + GW_ID_MAX * 3)) {
        return -1;
    }

    buf = malloc(gw_b64std_decoded_max(len) + 1);
    if (buf == NULL) {
        return -1;
    }

    rc = -1;

    n = gw_b64std_decode(buf, (const unsigned char *) h, len);
    if (n <= 0) {
        goto done;
    }

    buf[n] = '\0';

    colon = memchr(buf, ':', n);
    if (colon == NULL || (size_t) (colon - (char *) buf) > GW_ID_MAX * 3
        || (size_t) (n - (colon - (char *) buf) - 1) > IDENTITY_SECRET_MAX * 3)
    {
        goto done;
    }

    if (gw_form_decode(id, (char *) buf, colon - (char *) buf) < 0) {
        goto done;
    }

    if (strlen(id) <= GW_ID_MAX) {
        memcpy(a->id, id, strlen(id) + 1);
    }

    n = gw_form_decode((char *) buf, colon + 1,
                             n - (colon - (char *) buf) - 1);

    if (n < 0 || n > IDENTITY_SECRET_MAX) {
        goto done;
    }

    memcpy(a->secret, buf, n);
    a->secret_len = n;
    rc = 0;

done:

    OPENSSL_cleanse(buf, gw_b64std_decoded_max(len) + 1);
    free(buf);

    return rc;
}


/*
 * The assertion's shape before the client is read: the type, a JWS that
 * parses (never alg "none"), "iss" = "sub" = client_id (when sent), the
 * client's id.  0, or -1 after answering.
 */

static int
identity_auth_assertion(identity_auth_t *a, const char *type,
    const char *assertion, const char *cid)
{
    json_t      *claims, *iss, *sub;
    const char  *err;

    if (type == NULL || assertion == NULL) {
        identity_auth_fail(a, 400, "invalid_request", "client_assertion "
                           "and client_assertion_type go together",
                           "half an assertion");
        return -1;
    }

    if (strcmp(type, IDENTITY_JWT_BEARER) != 0) {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed",
                           "unsupported client_assertion_type");
        return -1;
    }

    a->parsed = 1;

    if (gw_jws_parse_opt(&a->jws, (const unsigned char *) assertion,
                         strlen(assertion), IDENTITY_ASSERTION_MAX,
                         GW_JWS_ALG_ED25519, &err) != 0)
    {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed", err);
        return -1;
    }

    claims = gw_jws_payload(&a->jws);
    iss = json_object_get(claims, "iss");
    sub = json_object_get(claims, "sub");

    if (!json_is_string(iss) || !json_is_string(sub)
        || strcmp(json_string_value(iss), json_string_value(sub)) != 0
        || (cid != NULL && strcmp(cid, json_string_value(sub)) != 0)
        || !gw_model_id_valid(json_string_value(sub),
                              json_string_length(sub)))
    {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed",
                           "assertion iss, sub and client_id differ");
        return -1;
    }

    memcpy(a->id, json_string_value(sub), json_string_length(sub) + 1);

    return 0;
}


static void
identity_auth_fetched(identity_crec_t *rec, void *data)
{
    identity_auth_t  *a;

    a = data;
    a->rec = rec;

    if (rec == NULL && a->id[0] != '\0') {
        identity_auth_fail(a, 503, "temporarily_unavailable",
                           "client records cannot be read now",
                           "redis down");
        return;
    }

    if (a->method == IDENTITY_AUTH_JWT) {
        identity_auth_jwt(a);

    } else {
        identity_auth_secret(a);
    }
}


static void
identity_auth_secret(identity_auth_t *a)
{
    int                   ok, old;
    const char           *why;
    identity_crec_t      *rec;
    const unsigned char  *want, *want_old;
    unsigned char         mac[IDENTITY_MAC_LEN];

    rec = a->rec;

    if (identity_client_mac(a->secret, a->secret_len, mac) != 0) {
        identity_auth_fail(a, 503, "temporarily_unavailable",
                           "cannot check the secret now", "hmac failed");
        return;
    }

    want = (rec != NULL && rec->has_secret) ? rec->secret
                                            : identity_dummy_mac;
    want_old = (rec != NULL && rec->has_old) ? rec->secret_old
                                             : identity_dummy_mac;

    ok = (CRYPTO_memcmp(mac, want, IDENTITY_MAC_LEN) == 0);
    old = (CRYPTO_memcmp(mac, want_old, IDENTITY_MAC_LEN) == 0);

    OPENSSL_cleanse(mac, sizeof(mac));

    if (rec == NULL || !rec->found) {
        why = "unknown client";

    } else if (!rec->has_secret) {
        why = "client has no secret";

    } else if (!ok && !(old && rec->has_old
                        && identity_now() < rec->old_until))
    {
        why = "wrong secret";

    } else if (!rec->active) {
        why = "client disabled";

    } else if (!(rec->auth & a->method)) {
        why = "authentication method not allowed";

    } else {
        identity_auth_ok(a);
        return;
    }

    identity_auth_fail(a, 401, "invalid_client",
                       "client authentication failed", why);
}


/*
 * The assertion against the client's record: its key (on a verify
 * thread when they run), then its claims (RFC 7523 section 3), then its
 * jti, once.
 */

static void
identity_auth_jwt(identity_auth_t *a)
{
    size_t             i;
    const char        *err, *why;
    identity_crec_t   *rec;
    const gw_jwk_t    *key;

    rec = a->rec;
    why = NULL;
    err = "no key";

    if (rec == NULL || !rec->found) {
        why = "unknown client";

    } else if (!rec->active) {
        why = "client disabled";

    } else if (!(rec->auth & IDENTITY_AUTH_JWT) || !rec->has_jwk) {
        why = "authentication method not allowed";

    } else if (identity_verify_running()
               && identity_verify_post(&a->jws, &rec->jwk,
                                       identity_auth_verified, a)
                  == 0)
    {
        return;

    } else {
        why = "bad assertion signature";
        i = 0;

        while ((key = gw_keyset_next(&rec->jwk, &i, NULL, 0, a->jws.alg))
               != NULL)
        {
            if (gw_jws_verify(&a->jws, key, &err) == 0) {
                why = NULL;
                break;
            }
        }
    }

    if (why != NULL) {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed", why);
        return;
    }

    identity_auth_claims(a);
}


/* a verify thread's answer, back on the loop */

static void
identity_auth_verified(int rc, void *data)
{
    identity_auth_t  *a;

    a = data;

    if (rc == IDENTITY_VERIFY_STOPPED) {
        identity_auth_fail(a, 503, "temporarily_unavailable",
                           "the service is stopping", "stopping");
        return;
    }

    if (rc != IDENTITY_VERIFY_OK) {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed",
                           "bad assertion signature");
        return;
    }

    identity_auth_claims(a);
}


static void
identity_auth_claims(identity_auth_t *a)
{
    time_t             now;
    json_t            *claims, *aud, *exp, *iat, *nbf, *jti;
    const char        *why;
    redisAsyncContext *ac;
    char               hex[65];

    now = identity_now();
    why = NULL;

    claims = gw_jws_payload(&a->jws);
    aud = json_object_get(claims, "aud");
    exp = json_object_get(claims, "exp");
    iat = json_object_get(claims, "iat");
    nbf = json_object_get(claims, "nbf");
    jti = json_object_get(claims, "jti");

    if (!json_is_string(aud)
        || strcmp(json_string_value(aud), identity.issuer) != 0)
    {
        why = "assertion aud is not the issuer";

    } else if (!json_is_number(exp)) {
        why = "assertion without exp";

    } else if (json_number_value(exp) <= (double) (now - identity.leeway)) {
        why = "assertion expired";

    } else if (json_number_value(exp)
               > (double) (now + gw_svc_conf_int(identity.svc,
                                                 "assertion_max_age")
                           + identity.leeway))
    {
        why = "assertion exp too far ahead";

    } else if (iat != NULL && (!json_is_number(iat)
                               || json_number_value(iat)
                                  > (double) (now + identity.leeway)))
    {
        why = "assertion iat in the future";

    } else if (nbf != NULL && (!json_is_number(nbf)
                               || json_number_value(nbf)
                                  > (double) (now + identity.leeway)))
    {
        why = "assertion not yet valid";

    } else if (!json_is_string(jti) || json_string_length(jti) == 0
               || json_string_length(jti) > IDENTITY_JTI_MAX)
    {
        why = "assertion without a usable jti";
    }

    if (why != NULL) {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed", why);
        return;
    }

    a->exp = (long long) json_number_value(exp);

    ac = gw_svc_redis(identity.svc);

    if (ac == NULL
        || identity_sha256_hex(json_string_value(jti),
                               json_string_length(jti), hex) != 0
        || redisAsyncCommand(ac, identity_auth_jti, a,
                             "SET " GW_MODEL_IDENTITY_JTI "%s:%s 1 NX EX %lld",
                             a->id, hex,
                             a->exp - (long long) now
                             + (long long) identity.leeway) != REDIS_OK)
    {
        identity_auth_fail(a, 503, "temporarily_unavailable",
                           "assertions cannot be checked now",
                           "redis down");
    }
}


static void
identity_auth_jti(redisAsyncContext *ac, void *r, void *data)
{
    redisReply       *reply;
    identity_auth_t  *a;

    a = data;
    reply = r;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        identity_auth_fail(a, 503, "temporarily_unavailable",
                           "assertions cannot be checked now",
                           reply == NULL ? "redis down" : reply->str);
        return;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        identity_auth_fail(a, 401, "invalid_client",
                           "client authentication failed",
                           "assertion replayed");
        return;
    }

    identity_auth_ok(a);
}


static void
identity_auth_fail(identity_auth_t *a, int status, const char *error,
    const char *description, const char *why)
{
    json_t  *f;

    f = json_pack("{s:s, s:s, s:s}", "error", error, "reason", why,
                  "method", a->method == IDENTITY_AUTH_BASIC
                            ? "client_secret_basic"
                            : a->method == IDENTITY_AUTH_POST
                              ? "client_secret_post"
                              : a->method == IDENTITY_AUTH_JWT
                                ? "private_key_jwt" : "none");

    /* an id from a client is logged only once it is known to be an id */

    if (f != NULL && gw_model_id_valid(a->id, strlen(a->id))) {
        json_object_set_new(f, "client_id", json_string(a->id));
    }

    gw_svc_log(identity.svc, status >= 500 ? GW_SVC_WARN : GW_SVC_INFO,
               a->req, "client authentication failed", f);

    identity_token_error(a->req, status, error, description);
    a->done(a->req, a->form, NULL, a->data);
    identity_auth_free(a);
}


static void
identity_auth_ok(identity_auth_t *a)
{
    a->done(a->req, a->form, &a->rec->client, a->data);
    identity_auth_free(a);
}


static void
identity_auth_free(identity_auth_t *a)
{
    identity_client_release(a->rec);

    if (a->parsed) {
        gw_jws_free(&a->jws);
    }

    OPENSSL_cleanse(a->secret, sizeof(a->secret));
    free(a);
}
