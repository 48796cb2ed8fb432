
/*
 * Copyright (C) Tollgate
 *
 * Private to identity_keys*.c: the signing keys as loaded from Redis, the
 * settings, and what the parts share.
 *
 *   identity_keys.c         the service side: loading, the schedule's
 *                           timer, signing, verifying, readiness, metrics
 *   identity_keys_store.c   the record (docs/identity.md, "Keys"): the
 *                           key-encryption key, AES-256-GCM, the JSON, the
 *                           Lua scripts that add a key and drop old ones
 *   identity_keys_http.c    /.well-known/jwks.json and the metadata
 *                           documents
 *   identity_keys_rotate.c  `identity rotate`
 */


#ifndef _IDENTITY_KEYS_INT_H_INCLUDED_
#define _IDENTITY_KEYS_INT_H_INCLUDED_


#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "gw_jwk.h"
#include "gw_jws_sign.h"
#include "identity.h"


#define IDENTITY_KEK_LEN      32        /* bytes: AES-256 */
#define IDENTITY_GCM_IV_LEN   12
#define IDENTITY_GCM_TAG_LEN  16
#define IDENTITY_KEYS_MAX     16        /* records read; more is refused */
#define IDENTITY_RECORD_MAX   16384     /* bytes of one record */


/* one record of gw:identity:keys */
typedef struct {
    char               kid[GW_KID_MAX];
    gw_alg_e           alg;
    time_t             created;
    time_t             publish;         /* in the JWKS from then */
    time_t             activate;        /* may sign from then */
    time_t             retire;          /* 0: none yet; else the next key's
                                           activate */
    time_t             drop;            /* 0: never yet; else out of the
                                           JWKS and Redis from then */
    json_t            *jwk;             /* public */
    gw_jws_signer_t   *signer;          /* NULL: could not decrypt */
    char              *text;            /* the record as read */
} identity_key_t;


/* the settings, shared by the service and `identity rotate` */
typedef struct {
    unsigned char      kek[IDENTITY_KEK_LEN];
    char               kek_id[16];      /* names the KEK, not secret */
    gw_alg_e           alg;
    time_t             interval;        /* rotation_interval, seconds */
    time_t             max_age;         /* jwks_max_age, seconds */
    time_t             lead;            /* publish to activate, seconds */
    time_t             hold;            /* retire to drop: token_ttl +
                                           leeway, seconds */
    long long          poll;            /* keys_poll, ms */
} identity_keys_conf_t;


extern identity_keys_conf_t  identity_keys_conf;


/* identity_keys_store.c */

/*
 * Reads the key settings of svc's configuration and the KEK file into
 * identity_keys_conf; token_ttl and leeway as given.  0, or -1 with a
 * message in err.
 */
int identity_keys_conf_read(gw_svc_t *svc, time_t token_ttl, time_t leeway,
    char *err, size_t errlen);

/*
 * A new key of the configured algorithm as a record without times (the
 * script sets them): malloc()ed JSON text, its kid in kid.  NULL with
 * err set.
 */
char *identity_keys_record_new(char *kid, size_t kid_size, char *err,
    size_t errlen);

/*
 * Parses a record of field kid into key (zeroed first): the schedule, the
 * public JWK and, unless the private half does not decrypt under the KEK,
 * the signer.  0, 1 when only the private half failed (*err says why),
 * -1 for a malformed record.
 */
int identity_keys_record_parse(identity_key_t *key, const char *kid,
    const char *text, size_t len, const char **err);

void identity_keys_key_free(identity_key_t *key);

/* the Lua scripts (docs/identity.md, "Keys") */
extern const char  identity_keys_add_lua[];
extern const char  identity_keys_drop_lua[];


/* identity_keys_http.c */

int identity_keys_http_setup(gw_svc_t *svc);

/*
 * Rebuilds the JWKS, its ETag and the verification key set from the keys
 * published at now; returns their number, or -1.
 */
int identity_keys_http_publish(identity_key_t *keys, size_t n, time_t now);

void identity_keys_http_free(void);

/* the published keys as a lib/jose key set (identity_keys_verify()) */
gw_keyset_t *identity_keys_http_keyset(void);

/* 1 once the keys were read from Redis at least once */
extern int  identity_keys_loaded;


#endif /* _IDENTITY_KEYS_INT_H_INCLUDED_ */
