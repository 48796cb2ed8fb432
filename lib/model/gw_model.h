
/*
 * Copyright (C) Tollgate
 *
 * Tollgate's data in Redis: every key pattern, in one place.  Everything
 * lives under "gw:".  API keys are never stored: a key is known by the
 * lower-case hex SHA-256 of its bytes, and only that hash is a Redis key.
 *
 *   gw:consumer:<id>        hash   id, name, status ("active" | "disabled"),
 *                                  tags (comma-separated, "" : none), plan
 *                                  ("" : none), created (seconds since the
 *                                  epoch)
 *   gw:consumers            zset   every consumer id, score 0 (so
 *                                  ordered by id, paged by ZRANGEBYLEX)
 *   gw:consumer:<id>:keys   zset   the hashes of the consumer's keys,
 *                                  scored by creation (seconds since the
 *                                  epoch)
 *   gw:key:<sha256-hex>     hash   consumer (id), status ("active" |
 *                                  "revoked"), expires (seconds since the
 *                                  epoch, 0: never), created, prefix (the
 *                                  key's first GW_KEY_PREFIX_LEN characters,
 *                                  to tell keys apart in listings), and,
 *                                  once revoked, revoked (seconds since the
 *                                  epoch)
 *   gw:limit:<name>:r:<key> string the TAT of a global rate limit
 *                                  (lib/limit: microseconds, "%.17g")
 *   gw:limit:<name>:q:<key> hash   a global quota's sliding window: a (the
 *                                  window index), b (its count), c (the
 *                                  previous window's); both expire once
 *                                  their state is a fresh one
 *   gw:limit:<name>:rh:<sha256-hex>, gw:limit:<name>:qh:<sha256-hex>
 *                                  the same for a key longer than
 *                                  gw_limit_key_max, known by its hash
 *                                  (apart from any key sent as is)
 *   gw:audit                stream of audit events, one field "event"
 *                                  holding a JSON object (docs/audit.md),
 *                                  read by the audit service's consumer
 *                                  group
 *   gw:events               pub/sub channel of invalidations, one message
 *                                  each: "key <sha256-hex>" or
 *                                  "consumer <id>"
 *   gw:audit:dead           stream  events the audit service rejected:
 *                                  event (as received), error, entry (its
 *                                  id in gw:audit)
 *   gw:plugin:<name>:<key>  any    a Lua plugin's own keys: gw.redis
 *                                  prefixes every key argument of the
 *                                  plugin <name> so (docs/plugins-shared.md)
 *
 * The identity service's records (docs/identity.md):
 *
 *   gw:client:<id>          hash   an OAuth 2.0 client: id, name, status
 *                                  ("active" | "disabled"), secret (lower
 *                                  hex HMAC-SHA-256 of the secret under
 *                                  the service's pepper, "" : none),
 *                                  secret_old and secret_old_until (the
 *                                  previous secret's hash, valid until
 *                                  then, seconds since the epoch, during a
 *                                  rotation's grace period), jwk (the
 *                                  public JWK for private_key_jwt, "" :
 *                                  none), auth (the allowed client
 *                                  authentication methods, space-
 *                                  separated), grants (the allowed
 *                                  grant types, space-separated, "" :
 *                                  every grant), scopes (allowed, space-
 *                                  separated), default_scopes, audiences
 *                                  (allowed RFC 8707 resources, space-
 *                                  separated), default_audience, created,
 *                                  updated (seconds since the epoch)
 *   gw:clients              zset   every client id, score 0
 *   gw:identity:keys        hash   kid -> one signing key as a JSON
 *                                  object: its public JWK, its schedule
 *                                  (seconds since the epoch) and its
 *                                  private half encrypted with
 *                                  AES-256-GCM under the key-encryption
 *                                  key (docs/identity.md, "Keys")
 *   gw:identity:jti:<client>:<sha256-hex>
 *                           string a private_key_jwt assertion's jti, seen
 *                                  (known by its hash), expiring with the
 *                                  assertion
 *   gw:jwt:revoked          zset   revoked access tokens' jti, scored by
 *                                  the token's exp (seconds since the
 *                                  epoch); members past exp are removed
 *   gw:split:<route id>     hash   a route's canary memory (the gateway's
 *                                  gw_route_state): the 16 hex digits of
 *                                  a sticky key's hash -> the upstream id
 *                                  of the side it was given; expires
 *                                  "idle" after its last new key
 *   gw:idem:<sha256-hex>    hash   an Idempotency-Key record (lib/idem):
 *                                  the hash is of scope (the consumer) NUL
 *                                  key; state ("pending" | "done" |
 *                                  "unstored"), fp (request fingerprint),
 *                                  owner (while pending), status, headers,
 *                                  body; expires (lock TTL, then TTL)
 *   gw:topic:<t>:<p>        stream partition p of the topic t, written
 *                                  by the gateway's gw_publish (XADD MAXLEN
 *                                  ~ the topic's cap): fields data, key,
 *                                  consumer, rid, traceparent, time (ms
 *                                  since the epoch), ctype (docs/publish.md)
 *   gw:events               also "client <id>" when a client changed,
 *                                  "jti <jti>" when a token is revoked,
 *                                  and "keys" when the signing keys changed
 *
 * The processing service's keys (docs/processing.md):
 *
 *   gw:proc:<pipeline>:pos  hash   "<sink name>:<partition>" -> the last
 *                                  source entry id the redis or stream
 *                                  sink committed (moved by the same
 *                                  script as the sink's writes)
 *   gw:proc:<pipeline>:state:<p>
 *                           string the window checkpoint (JSON) of the
 *                                  task (pipeline, partition), committed
 *                                  with the position
 *   gw:proc:<pipeline>:dlq  stream dead letters: the source entry's
 *                                  fields, then error, attempts, step,
 *                                  source (the stream), source_id,
 *                                  failed_at (ms)
 *   gw:proc:<pipeline>:late stream records later than the watermark: the
 *                                  source fields, record, source,
 *                                  source_id
 *   gw:proc:<pipeline>:rp:<p>
 *                           stream a key-by's repartition stream (the
 *                                  topic entry format), the source of a
 *                                  second stage
 *   gw:proc:owner:<pipeline>:<p>
 *                           string the instance holding the task's lease
 *                                  (SET NX PX lease, renewed every lease/3)
 *   gw:proc:instances:<pipeline>
 *                           zset   live instances, scored by their last
 *                                  heartbeat (ms)
 *   gw:proc:nats-in:<durable>
 *                           hash   a nats_in connector's committed
 *                                  JetStream sequences: "<p>" and "seq"
 *   gw:proc:owner:nats-in:<durable>
 *                           string the instance running that connector
 *                                  (SET NX PX lease, renewed every lease/3)
 *
 * The notification service's keys (docs/notification.md), every change
 * made by one script (backends/notification/ntf_script.c):
 *
 *   gw:ntf:n:<nid>          hash   a notification: id, owner, channel,
 *                                  type, state (accepted, delivering,
 *                                  delivered, failed, partial), created
 *                                  (ms), deliveries, delivered, failed,
 *                                  request (JSON), traceparent
 *   gw:ntf:a:<nid>          list   its attempts, JSON each (delivery,
 *                                  attempt, time, target, status,
 *                                  latency_ms, result, error), the last
 *                                  attempts_max kept
 *   gw:ntf:d:<nid>.<n>      hash   a delivery: id, nid, owner, channel,
 *                                  target, sub, payload (JSON), attempt,
 *                                  state (pending, delivered, dead),
 *                                  created, next (ms), died (ms)
 *   gw:ntf:due              zset   delivery id -> ms it is due (a claimed
 *                                  one: the end of its lease)
 *   gw:ntf:dlq              zset   delivery id -> ms it died
 *   gw:ntf:dlq:<owner>      zset   the owner's dead deliveries, score 0
 *                                  (read by ZREVRANGEBYLEX)
 *   gw:ntf:by:<owner>       zset   the owner's notification ids, score 0
 *   gw:ntf:idem:<sha256 hex of owner NUL key>
 *                           string {"id", "hash", "n"}: what an
 *                                  Idempotency-Key (or a stream entry's
 *                                  id) first took; PX keep
 *   gw:ntf:in               stream notifications from other services
 *                                  (group "notification"): field
 *                                  notification, a POST body plus owner
 *   gw:ntf:in:rejected      stream the entries refused: entry, pointer,
 *                                  error, notification (MAXLEN ~ 10000)
 *
 * Finished notifications, their attempts and deliveries expire after
 * keep; the owners' indexes are cleaned as they are read. *
 * A record and its indexes change in one MULTI/EXEC, together with the
 * invalidation published on gw:events, so a gateway that drops its cache
 * on the message reads the new state.  Records are never deleted: a key is
 * revoked, a consumer disabled.
 *
 * Consumer ids are 1 to 64 bytes of [A-Za-z0-9._-]; plans and each tag
 * follow the same rule (at most GW_TAGS_MAX tags, no duplicates); names
 * are 1 to 256 bytes of printable UTF-8.  Keys are "tg_" followed by 43
 * base64url characters (32 random bytes, no padding).
 *
 * This file and gw_model.c need only libc and OpenSSL's libcrypto, so the
 * gateway, the services and gwctl can all link them alone.
 */


#ifndef _GW_MODEL_H_INCLUDED_
#define _GW_MODEL_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_MODEL_CONSUMER_PREFIX   "gw:consumer:"
#define GW_MODEL_CONSUMERS         "gw:consumers"
#define GW_MODEL_KEYS_SUFFIX       ":keys"
#define GW_MODEL_KEY_PREFIX        "gw:key:"
#define GW_MODEL_EVENTS            "gw:events"
#define GW_MODEL_LIMIT_PREFIX      "gw:limit:"
#define GW_MODEL_AUDIT_STREAM      "gw:audit"
#define GW_MODEL_AUDIT_GROUP       "audit"

/* the kinds of gw:events messages: the kind, a space, the id or hash */
#define GW_MODEL_EVENT_KEY         "key"
#define GW_MODEL_EVENT_CONSUMER    "consumer"
#define GW_MODEL_EVENT_CLIENT      "client"
#define GW_MODEL_EVENT_JTI         "jti"
#define GW_MODEL_EVENT_KEYS        "keys"

#define GW_MODEL_CLIENT_PREFIX     "gw:client:"
#define GW_MODEL_CLIENTS           "gw:clients"
#define GW_MODEL_IDENTITY_KEYS     "gw:identity:keys"
#define GW_MODEL_IDENTITY_JTI      "gw:identity:jti:"
#define GW_MODEL_JWT_REVOKED       "gw:jwt:revoked"
#define GW_MODEL_SPLIT_PREFIX      "gw:split:"
#define GW_MODEL_TOPIC_PREFIX      "gw:topic:"

/* values of the status fields */
#define GW_MODEL_ACTIVE            "active"
#define GW_MODEL_DISABLED          "disabled"
#define GW_MODEL_REVOKED           "revoked"

#define GW_ID_MAX                  64
#define GW_NAME_MAX                256
#define GW_TAGS_MAX                32          /* tags per consumer */
#define GW_KEY_TEXT_PREFIX         "tg_"
#define GW_KEY_RANDOM_BYTES        32
#define GW_KEY_LEN                 46          /* "tg_" + 43 symbols */
#define GW_KEY_PREFIX_LEN          8
#define GW_KEY_HASH_HEX_LEN        64
#define GW_KEY_TTL_MAX             (3650LL * 86400)    /* seconds: 10 years */

/* the longest Redis key of the model, with its NUL */
#define GW_MODEL_RKEY_MAX                                                     \
    (sizeof(GW_MODEL_CONSUMER_PREFIX) + GW_ID_MAX                             \
     + sizeof(GW_MODEL_KEYS_SUFFIX))

/* the longest gw:events message, with its NUL */
#define GW_MODEL_EVENT_MAX                                                    \
    (sizeof(GW_MODEL_EVENT_CONSUMER) + 1 + GW_KEY_HASH_HEX_LEN)


typedef enum {
    GW_MODEL_EVENT_NONE = 0,
    GW_MODEL_EVENT_IS_KEY,          /* id is a key's hash */
    GW_MODEL_EVENT_IS_CONSUMER,     /* id is a consumer id */
    GW_MODEL_EVENT_IS_CLIENT,       /* id is an OAuth client's id */
    GW_MODEL_EVENT_IS_JTI,          /* id is a revoked token's jti */
    GW_MODEL_EVENT_IS_KEYS          /* the identity service's keys
                                       changed; id is "" */
} gw_model_event_e;


typedef struct {
    gw_model_event_e    kind;
    const char         *id;         /* points into the message */
    size_t              id_len;
} gw_model_event_t;


typedef enum {
    GW_MODEL_KEY_USABLE = 0,
    GW_MODEL_KEY_IS_REVOKED,
    GW_MODEL_KEY_IS_EXPIRED,
    GW_MODEL_KEY_IS_INVALID         /* a status this model does not know */
} gw_model_key_state_e;


/* 1 when id is 1 to GW_ID_MAX bytes of [A-Za-z0-9._-] */
int gw_model_id_valid(const char *id, size_t len);

/* 1 when name is 1 to GW_NAME_MAX bytes of printable UTF-8 */
int gw_model_name_valid(const char *name, size_t len);

/*
 * 1 when s is well-formed UTF-8 without control characters (C0, DEL, C1),
 * the test for text that is safe to print on a terminal as it is.
 */
int gw_model_printable(const char *s, size_t len);

/*
 * 1 when tags is "" or a comma-separated list of 1 to GW_TAGS_MAX tags,
 * each valid as an id, none twice and none empty.
 */
int gw_model_tags_valid(const char *tags, size_t len);

/* writes the lower-case hex SHA-256 of key (65 bytes with the NUL) */
void gw_model_key_hash(const unsigned char *key, size_t len, char *hex);

/*
 * The same hash for a caller that hashes keys all day (the gateway, once
 * per request): SHA-256 is fetched from OpenSSL's providers once, in
 * gw_key_hasher_create(), and the digest context is reused, where
 * gw_model_key_hash() pays a fetch and an allocation per call (with
 * OpenSSL 3, twice the cost of the hash itself).  A hasher belongs to one
 * thread.  create returns NULL on no memory; hash writes what
 * gw_model_key_hash() writes and returns 0, or -1 on an OpenSSL failure
 * (hex untouched).  free accepts NULL.
 */
typedef struct gw_key_hasher_s  gw_key_hasher_t;

gw_key_hasher_t *gw_key_hasher_create(void);
int gw_key_hasher_hash(gw_key_hasher_t *h, const unsigned char *key,
    size_t len, char *hex);
void gw_key_hasher_free(gw_key_hasher_t *h);

/* 1 when hex is GW_KEY_HASH_HEX_LEN lower-case hex digits */
int gw_model_hash_valid(const char *hex, size_t len);

/*
 * 1 when key has the shape of a Tollgate key: "tg_" and the canonical
 * base64url of GW_KEY_RANDOM_BYTES bytes.  A cheap test before hashing
 * what a client sent; it says nothing of whether the key exists.
 */
int gw_model_key_valid(const char *key, size_t len);

/*
 * Makes a new key from RAND_bytes into key, which holds GW_KEY_LEN + 1
 * bytes; NUL-terminated.  Returns 0, or -1 when the random generator
 * failed (key is then cleared).  The caller wipes key after use
 * (OPENSSL_cleanse).
 */
int gw_model_key_generate(char *key);

/*
 * Whether a key record allows a request at now (seconds since the epoch):
 * status is the record's status field, expires its expires field (0:
 * never).  Revoked wins over expired.
 */
gw_model_key_state_e gw_model_key_state(const char *status, size_t len,
    int64_t expires, int64_t now);

/*
 * Parses a lifetime: a decimal number of seconds, or a number followed by
 * one of s, m, h, d (seconds, minutes, hours, days), as "3600", "12h",
 * "30d".  Rejects signs, spaces, leading zeros, empty numbers, zero and
 * anything above GW_KEY_TTL_MAX.  Returns 0 with *seconds set, or -1.
 */
int gw_model_ttl_parse(const char *s, size_t len, int64_t *seconds);

/*
 * Parses a gw:events message: "key <hash>", "consumer <id>", "client
 * <id>", "jti <jti>" (a jti valid as an id) or "keys", nothing more, the
 * hash or id valid.
 * Returns 0 with ev filled (ev->id points into msg), or -1 with ev->kind
 * GW_MODEL_EVENT_NONE.
 */
int gw_model_event_parse(const char *msg, size_t len, gw_model_event_t *ev);


#endif /* _GW_MODEL_H_INCLUDED_ */
