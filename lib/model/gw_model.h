
/*
 * Copyright (C) Tollgate
 *
 * Tollgate's data in Redis: every key pattern, in one place.  Everything
 * lives under "gw:".  API keys are never stored: a key is known by the
 * lower-case hex SHA-256 of its bytes, and only that hash is a Redis key.
 *
 *   gw:consumer:<id>        hash   id, name, status ("active" | "disabled"),
 *                                  tags (comma-separated), plan, created
 *                                  (seconds since the epoch)
 *   gw:consumers            set    every consumer id
 *   gw:consumer:<id>:keys   set    the hashes of the consumer's keys
 *   gw:key:<sha256-hex>     hash   consumer (id), status ("active" |
 *                                  "revoked"), expires (seconds since the
 *                                  epoch, 0: never), created, prefix (the
 *                                  key's first GW_KEY_PREFIX_LEN characters,
 *                                  to tell keys apart in listings)
 *   gw:events               pub/sub channel of invalidations, one message
 *                                  each: "key <sha256-hex>" or
 *                                  "consumer <id>"
 *
 * Consumer ids are 1 to 64 bytes of [A-Za-z0-9._-]; names are 1 to 256
 * bytes of printable UTF-8.  Keys are "tg_" followed by 43 base64url
 * characters (32 random bytes).
 */


#ifndef _GW_MODEL_H_INCLUDED_
#define _GW_MODEL_H_INCLUDED_


#include <stddef.h>


#define GW_MODEL_CONSUMER_PREFIX   "gw:consumer:"
#define GW_MODEL_CONSUMERS         "gw:consumers"
#define GW_MODEL_KEYS_SUFFIX       ":keys"
#define GW_MODEL_KEY_PREFIX        "gw:key:"
#define GW_MODEL_EVENTS            "gw:events"

#define GW_ID_MAX                  64
#define GW_NAME_MAX                256
#define GW_KEY_TEXT_PREFIX         "tg_"
#define GW_KEY_RANDOM_BYTES        32
#define GW_KEY_PREFIX_LEN          8
#define GW_KEY_HASH_HEX_LEN        64


/* 1 when id is 1 to GW_ID_MAX bytes of [A-Za-z0-9._-] */
int gw_model_id_valid(const char *id, size_t len);

/* writes the lower-case hex SHA-256 of key (65 bytes with the NUL) */
void gw_model_key_hash(const unsigned char *key, size_t len, char *hex);


#endif /* _GW_MODEL_H_INCLUDED_ */
