
/*
 * Copyright (C) Tollgate
 *
 * Idempotency keys (draft-ietf-httpapi-idempotency-key-header): what the
 * gateway's idempotency feature needs that is not nginx glue.  The
 * header's value is parsed strictly as a Structured Field sf-string
 * (RFC 8941, 3.3.3): one double-quoted string of printable ASCII, with
 * "\"" and "\\" as its only escapes, nothing after the closing quote (no
 * parameters), not empty, at most a caller's cap of decoded bytes.
 *
 * A record lives in Redis under gw:idem:<sha256-hex of scope NUL key>:
 * the key never holds a NUL, so the last NUL of the hashed bytes ends the
 * scope and no two (scope, key) pairs hash the same bytes.  Three
 * server-side scripts handle it: begin (take the key or report what it
 * holds), store (the finished answer) and release (give the key back).
 */


#ifndef _GW_IDEM_H_INCLUDED_
#define _GW_IDEM_H_INCLUDED_


#include <stddef.h>


#define GW_IDEM_KEY_MAX          1024   /* the largest cap a caller may set */

#define GW_IDEM_PREFIX           "gw:idem:"
#define GW_IDEM_RECORD_KEY_LEN   (sizeof(GW_IDEM_PREFIX) - 1 + 64)

/* gw_idem_key_parse() outcomes */
#define GW_IDEM_OK               0
#define GW_IDEM_MALFORMED        -1     /* not an sf-string, or empty */
#define GW_IDEM_TOO_LONG         -2     /* decoded longer than max */


/*
 * Parses value (len bytes) as an sf-string of at most max decoded bytes
 * (max <= GW_IDEM_KEY_MAX), after dropping leading and trailing spaces.
 * Writes the decoded key to out (max bytes at least) and its length to
 * *out_len.  Returns GW_IDEM_OK, GW_IDEM_MALFORMED or GW_IDEM_TOO_LONG;
 * *err (may be NULL) gets a short reason for the malformed case.
 */
int gw_idem_key_parse(const unsigned char *value, size_t len, size_t max,
    unsigned char *out, size_t *out_len, const char **err);

/*
 * Writes the record's Redis key, GW_IDEM_RECORD_KEY_LEN bytes without a
 * NUL, for the scope and the decoded key (which holds no NUL byte).
 * Returns 0, or -1 when hashing fails.
 */
int gw_idem_record_key(const unsigned char *scope, size_t scope_len,
    const unsigned char *key, size_t key_len, unsigned char *out);

/*
 * The stored headers are one string: name NUL value NUL, repeated.
 * Takes the next pair from *p (up to end), advancing *p.  Returns 1 with
 * name and value set, 0 at the end, -1 when the string is ill-formed.
 */
int gw_idem_headers_next(const unsigned char **p, const unsigned char *end,
    const unsigned char **name, size_t *name_len,
    const unsigned char **value, size_t *value_len);


/*
 * begin: KEYS[1] the record; ARGV fingerprint (hex), lock TTL (ms),
 * owner token.  Replies {"new"} (the key was free: it now holds a pending
 * marker owned by the caller, expiring after the lock TTL), {"mismatch"}
 * (another fingerprint holds it, whatever its state), {"pending"} (the
 * same request is in flight), or {state, status, headers, body} for a
 * finished one, state "done" or "unstored" (its answer was not kept).
 */
extern const char  gw_idem_begin_script[];

/*
 * store: KEYS[1] the record; ARGV owner, fingerprint, state ("done" or
 * "unstored"), status, headers, body, TTL (ms).  Writes the finished
 * record when the caller still owns the key, or when the key is free
 * again (its lock expired and nobody took it); replies 1, or 0 when
 * another request holds the key now (nothing written).
 */
extern const char  gw_idem_store_script[];

/* release: KEYS[1] the record; ARGV owner.  Deletes it if still owned. */
extern const char  gw_idem_release_script[];


#endif /* _GW_IDEM_H_INCLUDED_ */
