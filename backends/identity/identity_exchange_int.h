
/*
 * Copyright (C) Tollgate
 *
 * Between the parts of the token exchange: the grant
 * (identity_exchange.c), the subject token's verification
 * (identity_exchange_subject.c), the external issuers and their key caches
 * (identity_exchange_issuer.c) and the HTTP(S) client that fetches
 * their discovery documents and key sets (identity_exchange_fetch.c).
 */


#ifndef _IDENTITY_EXCHANGE_INT_H_INCLUDED_
#define _IDENTITY_EXCHANGE_INT_H_INCLUDED_


#include <openssl/ssl.h>

#include "identity.h"


#define IDENTITY_ISSUERS_MAX     32
#define IDENTITY_ISSUER_WAIT_MAX 1024       /* requests waiting per issuer */


/* ---- identity_exchange_fetch.c ----------------------------------------- */

/* an http(s) URL, split once at configuration time */
typedef struct {
    char               *text;
    char               *host;
    char               *path;               /* path and query */
    int                 port;
    unsigned            https:1;
    unsigned            ip:1;               /* host is an IP literal */
} identity_url_t;

typedef struct {
    int                 status;             /* 0: no answer */
    const char         *body;               /* NUL-terminated */
    size_t              len;
    long                max_age;            /* Cache-Control; -1: none */
    const char         *error;              /* status 0: why */
} identity_fetch_res_t;

typedef struct identity_fetch_s  identity_fetch_t;

typedef void (*identity_fetch_pt)(void *data, const identity_fetch_res_t *res);


/*
 * Parses text, an absolute http or https URL without user information or
 * fragment, into url (owned: identity_url_free()).  0, or -1 with *err.
 */
int identity_url_parse(identity_url_t *url, const char *text,
    const char **err);
void identity_url_free(identity_url_t *url);

/* 1 when a and b have the same scheme, host (any case) and port */
int identity_url_same_origin(const identity_url_t *a, const identity_url_t *b);

/* the loop started: a resolver on it; 0 or -1 */
int identity_fetch_init(struct event_base *base, size_t body_max,
    long timeout_ms);

/* the loop ends: every fetch is dropped, its callback never runs */
void identity_fetch_end(void);

/*
 * GETs url (https: through ssl, which verifies the peer) without
 * following redirects, the body capped at body_max and the whole
 * exchange at the timeout.  done runs exactly once, later, unless the
 * fetch is cancelled first.  NULL when it could not even start.
 */
identity_fetch_t *identity_fetch(const identity_url_t *url, SSL_CTX *ssl,
    identity_fetch_pt done, void *data);
void identity_fetch_cancel(identity_fetch_t *f);


/* ---- identity_exchange_issuer.c ---------------------------------------- */

typedef struct identity_waiter_s  identity_waiter_t;

/* a fetch of the issuer's keys ended (keys may have arrived, or not) */
typedef void (*identity_waiter_pt)(identity_waiter_t *w);

struct identity_waiter_s {
    identity_waiter_t  *next;
    identity_waiter_pt  handler;
};

typedef struct identity_issuer_s  identity_issuer_t;

typedef struct {
    const char         *name;               /* [a-z0-9-], for logs */
    const char         *issuer;
    size_t              issuer_len;
    const gw_str_t     *audiences;
    size_t              naudiences;
    unsigned            algs;               /* GW_ALG_BIT() mask */
    const char         *typ;                /* required "typ", or NULL */
    const char         *subject_claim;
    const char         *subject_prefix;
} identity_issuer_conf_t;


/* reads the issuers file at path ("" : none); 0 or -1 (logged) */
int identity_issuers_load(gw_svc_t *svc, const char *path);
void identity_issuers_start(struct event_base *base);
void identity_issuers_stop(void);
void identity_issuers_free(void);

/* the issuer whose identifier is exactly iss, or NULL */
identity_issuer_t *identity_issuer_find(const char *iss, size_t len);

const identity_issuer_conf_t *identity_issuer_conf(identity_issuer_t *is);

/* the keys usable now (fresh, or stale within max-stale), or NULL */
const gw_keyset_t *identity_issuer_keys(identity_issuer_t *is);

/*
 * Asks for the issuer's keys again because a token names a key they do
 * not hold (no_keys 0) or because none are usable (no_keys 1).  Returns
 * 1 when a fetch runs now and w waits for it (its handler runs once when
 * it ends); 0 when no fetch may start now: the unknown key cooldown, or
 * the retry delay after a failure, has not passed (then *retry_after is
 * the seconds to wait), or too many requests wait already.
 */
int identity_issuer_refresh(identity_issuer_t *is, int no_keys,
    identity_waiter_t *w, time_t *retry_after);


/* a token exchange request, from the grant to its answer */
typedef struct identity_xchg_s  identity_xchg_t;

struct identity_xchg_s {
    identity_waiter_t   waiter;             /* first: handlers get it */
    identity_xchg_t    *next;
    identity_xchg_t    *prev;
    gw_svc_req_t       *req;
    identity_issuer_t  *issuer;             /* NULL: our own token */
    char               *client_id;
    char               *client_scopes;
    char               *aud;
    char               *scope;              /* requested; NULL: none */
    char               *token;
    size_t              len;
    json_t             *claims;             /* the verified payload */
    char               *sub;
    unsigned            waited:1;
};

/* the grant's end (identity_exchange.c): each answers and frees x */
void identity_xchg_finish(identity_xchg_t *x);
void identity_xchg_deny(identity_xchg_t *x, int status, const char *error,
    const char *reason);

/*
 * The subject token (identity_exchange_subject.c): ours or an external
 * issuer's, verified; each ends in identity_xchg_finish() or
 * identity_xchg_deny().  identity_xchg_woken() is the waiter's handler
 * for a fetch of the issuer's keys.
 */
void identity_xchg_ours(identity_xchg_t *x);
void identity_xchg_external(identity_xchg_t *x);
void identity_xchg_woken(identity_waiter_t *w);

/* segment i (0 header, 1 payload) of a compact JWS, unverified; NULL */
json_t *identity_xchg_segment(const char *token, size_t len, int i);


#endif /* _IDENTITY_EXCHANGE_INT_H_INCLUDED_ */
