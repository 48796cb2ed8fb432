
/*
 * Copyright (C) Tollgate
 *
 * The keys' documents (docs/identity.md, "Keys"):
 *
 *   /.well-known/jwks.json                    the published keys
 *   /.well-known/oauth-authorization-server   RFC 8414 metadata
 *   /.well-known/openid-configuration         the same, at the name OIDC
 *                                             clients look for
 *
 * The JWKS is rebuilt when the published set changes (a read of Redis or
 * the clock), with a strong ETag, the base64url of the first 18 bytes of
 * its SHA-256, so every instance gives one set one ETag.  Its max-age is
 * jwks_max_age: a key is published at least that long (plus keys_poll)
 * before it signs, so a cache that honours the age never lacks a key that
 * signs; with no key published the answer is not cached at all.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_b64url.h"
#include "identity_keys_int.h"


static void identity_keys_jwks(gw_svc_req_t *req, void *data);
static void identity_keys_metadata(gw_svc_req_t *req, void *data);
static json_t *identity_keys_metadata_json(void);


static char          *identity_jwks;          /* the body */
static size_t         identity_jwks_len;
static char           identity_jwks_etag[32];
static size_t         identity_jwks_keys;
static gw_keyset_t    identity_jwks_keyset;
static char          *identity_metadata;
static size_t         identity_metadata_len;


int
identity_keys_http_setup(gw_svc_t *svc)
{
    json_t  *md;

    md = identity_keys_metadata_json();

    identity_metadata = (md != NULL) ? json_dumps(md, JSON_COMPACT) : NULL;
    json_decref(md);

    if (identity_metadata == NULL) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "out of memory", NULL);
        return -1;
    }

    identity_metadata_len = strlen(identity_metadata);

    if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/.well-known/jwks.json",
                     0, identity_keys_jwks, NULL)
        != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD,
                        "/.well-known/oauth-authorization-server", 0,
                        identity_keys_metadata, NULL)
           != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD,
                        "/.well-known/openid-configuration", 0,
                        identity_keys_metadata, NULL)
           != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot add routes",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        return -1;
    }

    return 0;
}


/*
 * RFC 8414 (and the OIDC discovery names): a machine-client server has no
 * authorization endpoint, hence no response type and no ID token; the
 * client authentication methods and assertion algorithms are those of the
 * token endpoint, which introspection and revocation share.
 */

static json_t *
identity_keys_metadata_json(void)
{
    char        url[4][1024];
    json_t     *auth, *algs, *md;
    const char  *iss;

    iss = identity.issuer;

    snprintf(url[0], sizeof(url[0]), "%s/oauth2/token", iss);
    snprintf(url[1], sizeof(url[1]), "%s/.well-known/jwks.json", iss);
    snprintf(url[2], sizeof(url[2]), "%s/oauth2/introspect", iss);
    snprintf(url[3], sizeof(url[3]), "%s/oauth2/revoke", iss);

    auth = json_pack("[s, s, s]", "client_secret_basic",
                     "client_secret_post", "private_key_jwt");
    algs = json_pack("[s, s, s, s, s, s, s, s, s, s, s]", "ES256", "ES384",
                     "ES512", "EdDSA", "Ed25519", "RS256", "RS384", "RS512",
                     "PS256", "PS384", "PS512");

    if (auth == NULL || algs == NULL) {
        json_decref(auth);
        json_decref(algs);
        return NULL;
    }

    md = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s, s], s:O, s:O, s:O, s:O,"
                   " s:O, s:O, s:[], s:[s]}",
                   "issuer", iss,
                   "token_endpoint", url[0],
                   "jwks_uri", url[1],
                   "introspection_endpoint", url[2],
                   "revocation_endpoint", url[3],
                   "grant_types_supported", "client_credentials",
                   "urn:ietf:params:oauth:grant-type:token-exchange",
                   "token_endpoint_auth_methods_supported", auth,
                   "token_endpoint_auth_signing_alg_values_supported", algs,
                   "introspection_endpoint_auth_methods_supported", auth,
                   "introspection_endpoint_auth_signing_alg_values_supported",
                   algs,
                   "revocation_endpoint_auth_methods_supported", auth,
                   "revocation_endpoint_auth_signing_alg_values_supported",
                   algs,
                   "response_types_supported",
                   "subject_types_supported", "public");

    json_decref(auth);
    json_decref(algs);

    return md;
}


static void
identity_keys_metadata(gw_svc_req_t *req, void *data)
{
    gw_svc_req_add_header(req, "Cache-Control", "public, max-age=3600");
    gw_svc_reply(req, 200, "application/json", identity_metadata,
                 identity_metadata_len);
}


int
identity_keys_http_publish(identity_key_t *keys, size_t n, time_t now)
{
    char            *body, err[256];
    size_t           i, len, npub;
    json_t          *arr, *jwks;
    gw_keyset_t      ks;
    unsigned char    h[EVP_MAX_MD_SIZE];

    arr = json_array();
    jwks = json_pack("{s:o}", "keys", arr);

    if (arr == NULL || jwks == NULL) {
        json_decref(jwks);
        return -1;
    }

    npub = 0;

    for (i = 0; i < n; i++) {
        if (keys[i].publish > now || (keys[i].drop != 0 && now >= keys[i].drop))
        {
            continue;
        }

        if (json_array_append(arr, keys[i].jwk) != 0) {
            json_decref(jwks);
            return -1;
        }

        npub++;
    }

    body = json_dumps(jwks, JSON_COMPACT);
    json_decref(jwks);

    if (body == NULL) {
        return -1;
    }

    len = strlen(body);

    if (identity_jwks != NULL && len == identity_jwks_len
        && memcmp(body, identity_jwks, len) == 0)
    {
        free(body);
        return (int) npub;
    }

    memset(&ks, 0, sizeof(gw_keyset_t));

    if (npub > 0
        && gw_keyset_load(&ks, (unsigned char *) body, len, GW_KEY_FMT_JWK,
                          NULL, 0, err, sizeof(err))
           != 0)
    {
        free(body);
        return -1;
    }

    if (EVP_Digest(body, len, h, NULL, EVP_sha256(), NULL) != 1) {
        gw_keyset_free(&ks);
        free(body);
        return -1;
    }

    identity_jwks_etag[0] = '"';
    i = 1 + gw_b64url_encode((unsigned char *) identity_jwks_etag + 1, h, 18);
    identity_jwks_etag[i++] = '"';
    identity_jwks_etag[i] = '\0';

    gw_keyset_free(&identity_jwks_keyset);
    identity_jwks_keyset = ks;
    identity_jwks_keys = npub;

    free(identity_jwks);
    identity_jwks = body;
    identity_jwks_len = len;

    return (int) npub;
}


gw_keyset_t *
identity_keys_http_keyset(void)
{
    return &identity_jwks_keyset;
}


void
identity_keys_http_free(void)
{
    gw_keyset_free(&identity_jwks_keyset);
    free(identity_jwks);
    identity_jwks = NULL;
    free(identity_metadata);
    identity_metadata = NULL;
}


static void
identity_keys_jwks(gw_svc_req_t *req, void *data)
{
    char         cc[64];
    const char  *inm;

    if (!identity_keys_loaded || identity_jwks == NULL) {
        gw_svc_req_add_header(req, "Retry-After", "1");
        gw_svc_reply_problem(req, 503, "unavailable", "Service Unavailable",
                             "the signing keys are not loaded yet");
        return;
    }

    if (identity_jwks_keys == 0) {
        snprintf(cc, sizeof(cc), "no-store");

    } else {
        snprintf(cc, sizeof(cc), "public, max-age=%lld",
                 (long long) identity_keys_conf.max_age);
    }

    gw_svc_req_add_header(req, "Cache-Control", cc);
    gw_svc_req_add_header(req, "ETag", identity_jwks_etag);

    inm = gw_svc_req_header(req, "If-None-Match");

    if (inm != NULL && gw_svc_etag_match(inm, identity_jwks_etag, 1) > 0) {
        gw_svc_reply(req, 304, NULL, "", 0);
        return;
    }

    gw_svc_reply(req, 200, "application/json", identity_jwks,
                 identity_jwks_len);
}
