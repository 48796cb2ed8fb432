
/*
 * Copyright (C) Tollgate
 *
 * Token exchange (identity_exchange.c): verifying the subject token.
 * The grant has checked the request and routed the token by its "iss",
 * read unverified with identity_xchg_segment() only to pick the keys;
 * here the token is held to the gateway's rules.  Ours: our keys, typ
 * at+jwt, exp/nbf/iat with leeway, a sub and a jti, and not revoked
 * (the revocation list is asked, and a failure to read it fails
 * closed).  An external issuer's: an algorithm its entry allows, a key
 * of its cached key set, its typ when the entry names one, exp, iss and
 * aud, and the entry's subject claim, prefixed.
 *
 * The key design decision: a subject token whose key is missing makes
 * the request wait for one fetch of the issuer's keys, never more
 * (x->waited); the wake-up judges the token again with what came, and
 * answers 503 with Retry-After when there are still no keys at all.
 * Every way out ends in identity_xchg_finish() or identity_xchg_deny(),
 * which answer and free x.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_b64url.h"
#include "identity_exchange_int.h"


#define IDENTITY_XCHG_SUB_MAX    256


static void identity_xchg_revoked(void *data, int revoked);
static int identity_xchg_typ(const char *token, size_t len,
    const char *want);


/* one of our access tokens: our keys, typ at+jwt, times, not revoked */

void
identity_xchg_ours(identity_xchg_t *x)
{
    json_t           *sub, *jti;
    gw_str_t          iss;
    gw_jws_t          jws;
    const char       *err;
    gw_jwt_policy_t   p;

    if (identity_keys_verify(&jws, x->token, x->len, &err) != 0) {
        gw_jws_free(&jws);
        identity_xchg_deny(x, 400, "invalid_grant", err);
        return;
    }

    x->claims = json_incref(gw_jws_payload(&jws));
    gw_jws_free(&jws);

    if (x->claims == NULL) {
        identity_xchg_deny(x, 500, "server_error", NULL);
        return;
    }

    if (!identity_xchg_typ(x->token, x->len, "at+jwt")) {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: not an "
                           "access token (typ at+jwt)");
        return;
    }

    iss.data = identity.issuer;
    iss.len = identity.issuer_len;

    memset(&p, 0, sizeof(gw_jwt_policy_t));
    p.leeway = identity.leeway;
    p.require_exp = 1;
    p.issuers = &iss;
    p.nissuers = 1;

    if (gw_jwt_check(x->claims, &p, identity_now(), &err) != GW_JWT_OK) {
        identity_xchg_deny(x, 400, "invalid_grant", err);
        return;
    }

    sub = json_object_get(x->claims, "sub");
    jti = json_object_get(x->claims, "jti");

    if (!json_is_string(sub) || json_string_length(sub) == 0
        || !json_is_string(jti) || json_string_length(jti) == 0)
    {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: no sub "
                           "or jti");
        return;
    }

    x->sub = strdup(json_string_value(sub));
    if (x->sub == NULL) {
        identity_xchg_deny(x, 500, "server_error", NULL);
        return;
    }

    identity_token_check_revoked(json_string_value(jti),
                                 identity_xchg_revoked, x);
}


static void
identity_xchg_revoked(void *data, int revoked)
{
    identity_xchg_t  *x;

    x = data;

    if (revoked == 1) {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: "
                           "revoked");
        return;
    }

    if (revoked != 0) {
        /* fail closed, and say it is our fault, not the token's */
        gw_svc_req_add_header(x->req, "Retry-After", "1");
        identity_xchg_deny(x, 503, "temporarily_unavailable", "the "
                           "revocation list cannot be read now");
        return;
    }

    identity_xchg_finish(x);
}


/*
 * An external issuer's token, under the gateway's rules: an algorithm
 * the entry allows (never HS* nor none), a key of the issuer's key set
 * that verifies it, the entry's typ when it names one, exp required,
 * nbf and iat, iss, and aud among the entry's audiences.  A kid the
 * cache lacks, or no keys at all, waits for one fetch.
 */

void
identity_xchg_external(identity_xchg_t *x)
{
    int                            ok;
    size_t                         i;
    json_t                        *v;
    time_t                         retry;
    gw_str_t                       iss;
    gw_jws_t                       jws;
    const char                    *err;
    gw_jwt_policy_t                p;
    const gw_jwk_t                *key;
    const gw_keyset_t             *keys;
    const identity_issuer_conf_t  *conf;
    char                           after[32];

    conf = identity_issuer_conf(x->issuer);

    if (gw_jws_parse(&jws, (const unsigned char *) x->token, x->len,
                     GW_JWS_MAX_LEN, &err) != 0)
    {
        gw_jws_free(&jws);
        identity_xchg_deny(x, 400, "invalid_grant", err);
        return;
    }

    if ((GW_ALG_BIT(jws.alg) & conf->algs) == 0) {
        gw_jws_free(&jws);
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: an "
                           "algorithm the issuer's entry does not allow");
        return;
    }

    keys = identity_issuer_keys(x->issuer);
    i = 0;
    key = (keys != NULL) ? gw_keyset_next(keys, &i, jws.kid, jws.kid_len,
                                          jws.alg)
                         : NULL;

    if (key == NULL) {
        if (!x->waited
            && identity_issuer_refresh(x->issuer, keys == NULL, &x->waiter,
                                       &retry))
        {
            gw_jws_free(&jws);
            return;
        }

        gw_jws_free(&jws);

        if (keys == NULL) {
            snprintf(after, sizeof(after), "%ld",
                     (long) (x->waited ? 1 : retry));
            gw_svc_req_add_header(x->req, "Retry-After", after);
            identity_xchg_deny(x, 503, "temporarily_unavailable", "the "
                               "subject token issuer's keys cannot be "
                               "obtained now");
            return;
        }

        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: no key "
                           "of its issuer matches it");
        return;
    }

    ok = 0;

    do {
        ok = (gw_jws_verify(&jws, key, &err) == 0);
    } while (!ok
             && (key = gw_keyset_next(keys, &i, jws.kid, jws.kid_len,
                                      jws.alg)) != NULL);

    if (!ok) {
        gw_jws_free(&jws);
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: bad "
                           "signature");
        return;
    }

    x->claims = json_incref(gw_jws_payload(&jws));
    gw_jws_free(&jws);

    if (x->claims == NULL) {
        identity_xchg_deny(x, 500, "server_error", NULL);
        return;
    }

    if (conf->typ != NULL && !identity_xchg_typ(x->token, x->len, conf->typ))
    {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: not of "
                           "the typ its issuer's entry requires");
        return;
    }

    iss.data = conf->issuer;
    iss.len = conf->issuer_len;

    memset(&p, 0, sizeof(gw_jwt_policy_t));
    p.leeway = identity.leeway;
    p.require_exp = 1;
    p.issuers = &iss;
    p.nissuers = 1;
    p.audiences = conf->audiences;
    p.naudiences = conf->naudiences;

    if (gw_jwt_check(x->claims, &p, identity_now(), &err) != GW_JWT_OK) {
        identity_xchg_deny(x, 400, "invalid_grant", err);
        return;
    }

    v = gw_json_path(x->claims, conf->subject_claim,
                     strlen(conf->subject_claim));

    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > IDENTITY_XCHG_SUB_MAX)
    {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: no "
                           "subject claim (a string of 1 to 256 bytes)");
        return;
    }

    x->sub = malloc(strlen(conf->subject_prefix) + json_string_length(v)
                    + 1);
    if (x->sub == NULL) {
        identity_xchg_deny(x, 500, "server_error", NULL);
        return;
    }

    strcpy(x->sub, conf->subject_prefix);
    strcat(x->sub, json_string_value(v));

    identity_xchg_finish(x);
}


/* the issuer's fetch ended: judge the token again, without a new fetch */

void
identity_xchg_woken(identity_waiter_t *w)
{
    identity_xchg_t  *x;

    x = (identity_xchg_t *) w;
    x->waited = 1;

    identity_xchg_external(x);
}


/* segment i (0 header, 1 payload) of a compact JWS, unverified; NULL */

json_t *
identity_xchg_segment(const char *token, size_t len, int i)
{
    json_t         *j;
    ssize_t         n;
    const char     *p, *end, *dot;
    unsigned char  *buf;

    p = token;
    end = token + len;

    for ( /* void */ ; i > 0; i--) {
        dot = memchr(p, '.', end - p);
        if (dot == NULL) {
            return NULL;
        }

        p = dot + 1;
    }

    dot = memchr(p, '.', end - p);
    if (dot == NULL) {
        return NULL;
    }

    buf = malloc(gw_b64url_decoded_len(dot - p) + 1);
    if (buf == NULL) {
        return NULL;
    }

    n = gw_b64url_decode(buf, (const unsigned char *) p, dot - p);

    j = (n > 0) ? json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES,
                             NULL)
                : NULL;
    free(buf);

    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }

    return j;
}


/*
 * 1 when the header's "typ" is want, in any case, with or without the
 * "application/" prefix (RFC 9068 section 4, RFC 7515 section 4.1.9).
 */

static int
identity_xchg_typ(const char *token, size_t len, const char *want)
{
    int          ok;
    json_t      *h;
    const char  *typ;

    h = identity_xchg_segment(token, len, 0);
    typ = json_string_value(json_object_get(h, "typ"));

    ok = 0;

    if (typ != NULL) {
        if (strncasecmp(typ, "application/", 12) == 0
            && strchr(want, '/') == NULL)
        {
            typ += 12;
        }

        ok = (strcasecmp(typ, want) == 0);
    }

    json_decref(h);

    return ok;
}
