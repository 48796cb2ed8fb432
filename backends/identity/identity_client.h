
/*
 * Copyright (C) Tollgate
 *
 * The clients' records as identity_client.c caches them, for the client
 * authentication of identity_client_auth.c and its verify threads
 * (identity_client_verify.c).  Nothing else includes it.
 */


#ifndef _IDENTITY_CLIENT_H_INCLUDED_
#define _IDENTITY_CLIENT_H_INCLUDED_


#include <stdint.h>

#include "gw_jwk.h"
#include "identity.h"


#define IDENTITY_MAC_LEN  32                /* HMAC-SHA-256 */


typedef struct identity_crec_s  identity_crec_t;

struct identity_crec_s {
    identity_client_t   client;         /* first: the public part */
    identity_crec_t    *next;           /* the cache's bucket */
    unsigned            refs;
    unsigned            found:1;        /* 0: no such client */
    unsigned            active:1;
    unsigned            has_secret:1;
    unsigned            has_old:1;
    unsigned            has_jwk:1;
    unsigned            cached:1;
    unsigned            auth;           /* IDENTITY_AUTH_* */
    time_t              old_until;      /* secret_old valid until then */
    uint64_t            fetched;        /* milliseconds, monotonic */
    char               *grants;         /* NULL: every grant */
    unsigned char       secret[IDENTITY_MAC_LEN];
    unsigned char       secret_old[IDENTITY_MAC_LEN];
    gw_keyset_t         jwk;
};


/*
 * The record of client id: from the cache, or read with HGETALL.  done
 * runs once, later or at once, with a reference to the record (found or
 * not) or NULL when it cannot be read now (Redis down).  The caller
 * releases the reference.
 */
typedef void (*identity_crec_pt)(identity_crec_t *rec, void *data);

void identity_client_get(const char *id, identity_crec_pt done, void *data);
void identity_client_release(identity_crec_t *rec);

/* a "client <id>" message: drops the cached record of id (len bytes) */
void identity_client_changed(const char *id, size_t len);

/* drops every cached record (a (re)subscription may have missed some) */
void identity_client_clear(void);

/* the gw:events subscriber (identity_events.c), started by the clients */
void identity_events_start(struct event_base *base);
void identity_events_stop(void);

/* HMAC-SHA-256 of secret under the pepper into mac; 0 or -1 */
int identity_client_mac(const char *secret, size_t len, unsigned char *mac);

/* the lower-case hex SHA-256 of s (65 bytes with the NUL); 0 or -1 */
int identity_sha256_hex(const char *s, size_t len, char *hex);


/*
 * Assertion signatures verified on worker threads
 * (identity_client_verify.c).  done runs on the loop with one of the
 * IDENTITY_VERIFY_* results.
 */
#define IDENTITY_VERIFY_OK        0
#define IDENTITY_VERIFY_BAD       1     /* no key verified it */
#define IDENTITY_VERIFY_STOPPED   2     /* the service stopped first */

typedef struct identity_vjob_s  identity_vjob_t;

typedef void (*identity_verify_pt)(int rc, void *data);

/* 1 when threads verify, 0 when signatures are verified on the loop */
int identity_verify_running(void);

int identity_verify_post(const gw_jws_t *jws, const gw_keyset_t *ks,
    identity_verify_pt done, void *data);


#endif /* _IDENTITY_CLIENT_H_INCLUDED_ */
