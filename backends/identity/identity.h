
/*
 * Copyright (C) Tollgate
 *
 * The identity service's state and the contract between its parts
 * (docs/identity.md).  One per process.
 *
 *   identity_main.c        the service: configuration, routes, the loop
 *   identity_keys*.c       signing keys: generation, encryption at rest,
 *                          the rotation schedule shared by every instance
 *                          through Redis, signing, the JWKS and the
 *                          metadata documents, `identity rotate`
 *   identity_client*.c     clients: records, secrets, private_key_jwt
 *   identity_token*.c      the token endpoint, introspection, revocation
 *   identity_form.c        the endpoints' forms (lib/oauth/gw_form.c)
 *   identity_exchange*.c   token exchange, its subject token, external
 *                          issuers
 */


#ifndef _IDENTITY_H_INCLUDED_
#define _IDENTITY_H_INCLUDED_


#include <stddef.h>
#include <time.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "gw_form.h"
#include "gw_jws.h"
#include "gw_svc.h"


#define IDENTITY_PEPPER_MIN  32             /* bytes of the pepper file */


typedef struct {
    gw_svc_t           *svc;
    const char         *issuer;             /* no trailing slash */
    size_t              issuer_len;
    time_t              token_ttl;          /* seconds */
    time_t              leeway;             /* seconds */
    unsigned char       pepper[64];         /* HMAC key of client secrets */
    size_t              pepper_len;
    int                 stopped;
} identity_t;


extern identity_t  identity;

/* the configuration keys, the service's and `identity rotate`'s */
extern const gw_svc_key_t  identity_conf_keys[];


/* now, seconds since the epoch */
time_t identity_now(void);


/* ---- identity_keys*.c ------------------------------------------------ */

/*
 * Before the loop: reads the key-encryption key and the key settings,
 * registers /.well-known/jwks.json, /.well-known/oauth-authorization-server
 * and /.well-known/openid-configuration and the key metrics.  0 or -1
 * (logged).
 */
int identity_keys_setup(gw_svc_t *svc);

/* the loop started: loads the keys from Redis and arms the schedule */
void identity_keys_start(struct event_base *base);
void identity_keys_stop(void);

/* 1 when a key to sign with is loaded (for /readyz and the endpoints) */
int identity_keys_ready(void);

/*
 * A compact JWS of the header {"alg", "typ": typ, "kid"} and payload
 * (JSON text, len bytes), signed with the active key: malloc'd and
 * NUL-terminated, *out_len its length.  NULL when no key is active or
 * signing failed (logged).
 */
char *identity_keys_sign(const char *typ, const char *payload, size_t len,
    size_t *out_len);

/*
 * Verifies the signature of one of our own tokens against every
 * published key: 0 with jws parsed (gw_jws_free() either way), or -1
 * with *err a client-safe reason.
 */
int identity_keys_verify(gw_jws_t *jws, const char *token, size_t len,
    const char **err);

/* `identity rotate [-c FILE] [--now]`: the command line tool */
int identity_keys_rotate_main(int argc, char **argv);


/* ---- identity_token*.c, identity_client*.c --------------------------- */

/* an authenticated client, as the token endpoint read its record */
typedef struct {
    const char         *id;
    const char         *scopes;             /* allowed, space-separated */
    const char         *default_scopes;
    const char         *audiences;          /* allowed resources */
    const char         *default_audience;
} identity_client_t;

/* the client authentication methods (the record's "auth" field) */
#define IDENTITY_AUTH_BASIC     0x01        /* client_secret_basic */
#define IDENTITY_AUTH_POST      0x02        /* client_secret_post */
#define IDENTITY_AUTH_JWT       0x04        /* private_key_jwt */

#define IDENTITY_JWT_BEARER                                                   \
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* what a new access token says */
typedef struct {
    const char         *sub;
    const char         *client_id;
    const char         *scope;              /* granted, space-separated;
                                               "" : none */
    const char         *aud;                /* the resources, space-
                                               separated: one is a string
                                               "aud", several an array */
    json_t             *act;                /* RFC 8693 "act", or NULL
                                               (borrowed) */
    const char         *issued_token_type;  /* RFC 8693 answers name it;
                                               NULL: not an exchange */
} identity_issue_t;

/*
 * Before the loop: registers /oauth2/token, /oauth2/introspect,
 * /oauth2/revoke and the token metrics.  0 or -1 (logged).
 */
int identity_token_setup(gw_svc_t *svc);
void identity_token_start(struct event_base *base);
void identity_token_stop(void);

/*
 * The form of a POST to one of our endpoints (identity_form.c): the
 * request's Content-Type and body given to gw_form_parse() (lib/oauth,
 * gw_form.h) with a cap of max bytes.  NULL with *err a client-safe
 * reason (invalid_request), or NULL with *err NULL when out of memory.
 */
gw_form_t *identity_form_parse(gw_svc_req_t *req, size_t max,
    const char **err);

/*
 * Client authentication (identity_client_auth.c) for the token,
 * introspection and revocation endpoints: exactly one method per
 * request, Basic (RFC 6749 section 2.3.1), client_secret in the form, or
 * a private_key_jwt assertion (RFC 7523).  done runs once, later or at
 * once: with client (valid until done returns; copy what outlives it) on
 * success, or NULL after the request was answered with the RFC 6749
 * error (invalid_request, invalid_client, temporarily_unavailable).
 */
typedef void (*identity_auth_pt)(gw_svc_req_t *req, gw_form_t *form,
    const identity_client_t *client, void *data);

void identity_client_auth(gw_svc_req_t *req, gw_form_t *form,
    identity_auth_pt done, void *data);

/* 1 when the client may use the grant (the record's "grants" field) */
int identity_client_grant_allowed(const identity_client_t *client,
    const char *grant);

/* the clients' cache and the gw:events subscriber (identity_client.c) */
int identity_client_setup(gw_svc_t *svc);
void identity_client_start(struct event_base *base);
void identity_client_stop(void);

/*
 * The threads that verify assertion signatures (identity_client_verify.c):
 * n of them (0: none, signatures are verified on the loop), started as
 * the loop starts and joined at its stop.
 */
void identity_verify_start(struct event_base *base, long long n);
void identity_verify_stop(void);

/* a "jti <jti>" message seen on gw:events, for the revoked set */
void identity_token_revoked_event(const char *jti, size_t len);

/* the subscriber is up (1, the revoked set must be loaded again) or down */
void identity_token_events(int up);

/* mints an access token and answers req (RFC 6749 section 5.1) */
void identity_token_issue(gw_svc_req_t *req, const identity_issue_t *is);

/* answers an RFC 6749 section 5.2 error (401 adds WWW-Authenticate) */
void identity_token_error(gw_svc_req_t *req, int status, const char *error,
    const char *description);

/*
 * Whether the token of jti is revoked: done runs once, later or at once,
 * with revoked 1, 0, or -1 when that cannot be known now (Redis down:
 * the caller refuses, fail closed).
 */
typedef void (*identity_revoked_pt)(void *data, int revoked);

void identity_token_check_revoked(const char *jti, identity_revoked_pt done,
    void *data);


/* ---- identity_exchange*.c -------------------------------------------- */

/*
 * Before the loop: reads the external issuers allowed as subject token
 * issuers of the token exchange grant.  0 or -1 (logged).
 */
int identity_exchange_setup(gw_svc_t *svc);
void identity_exchange_start(struct event_base *base);
void identity_exchange_stop(void);

/*
 * The token exchange grant (RFC 8693) for an authenticated client: checks
 * the subject token (ours, or an external issuer's), narrows the scopes
 * and answers through identity_token_issue() or identity_token_error().
 * client and form stay valid until it has answered through one of those
 * two (the token endpoint keeps them for a later answer, then frees them).
 */
void identity_exchange_grant(gw_svc_req_t *req,
    const identity_client_t *client, gw_form_t *form);


#endif /* _IDENTITY_H_INCLUDED_ */
