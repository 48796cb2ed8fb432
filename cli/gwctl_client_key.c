
/*
 * Copyright (C) Tollgate
 *
 * gwctl client rotate-secret, the Redis store's set-key, and what every
 * client change shares: new secrets and their keyed hashes, and the one
 * transaction a change of a client's record is (gwctl_client.c parses
 * and prints, gwctl_client_redis.c has the rest of the Redis store).
 *
 * A secret is "tgs_" and the base64url of 32 random bytes, printed once;
 * Redis gets only its HMAC-SHA-256 under the identity service's pepper.
 * A JWK for private_key_jwt is checked before it is stored: public
 * members only, a key type, curve and alg the service verifies, and a
 * key that lib/jose loads.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "gw_b64url.h"
#include "gw_jwk.h"
#include "gwctl.h"




/*
 * A new secret ("tgs_" and the base64url of 32 random bytes) into secret
 * (GWCTL_SECRET_LEN + 1 bytes) and its HMAC-SHA-256 under the pepper in
 * lower-case hex into hex (65 bytes).  The pepper is the first 64 bytes
 * of the file, at least 32.
 */

int
gwctl_client_secret(gwctl_t *ctl, const char *cmd, const char *pepper,
    char *secret, char *hex)
{
    FILE           *f;
    size_t          n, i;
    unsigned int    len;
    unsigned char   key[GWCTL_PEPPER_MAX], rnd[GWCTL_SECRET_BYTES];
    unsigned char   mac[EVP_MAX_MD_SIZE];

    static const char  digits[] = "0123456789abcdef";

    if (pepper == NULL) {
        pepper = getenv("TOLLGATE_IDENTITY_PEPPER_FILE");
    }

    if (pepper == NULL || pepper[0] == '\0') {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: needs the identity "
                          "service's pepper: --pepper FILE or "
                          "$TOLLGATE_IDENTITY_PEPPER_FILE", cmd);
    }

    f = fopen(pepper, "rb");
    if (f == NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: --pepper: cannot open: %s",
                          cmd, strerror(errno));
    }

    n = fread(key, 1, sizeof(key), f);
    fclose(f);

    if (n < GWCTL_PEPPER_MIN) {
        OPENSSL_cleanse(key, sizeof(key));
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: --pepper: the file holds "
                          "less than %d bytes", cmd, GWCTL_PEPPER_MIN);
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        OPENSSL_cleanse(key, sizeof(key));
        return gwctl_fail(ctl, GWCTL_REDIS, "%s: no random numbers", cmd);
    }

    memcpy(secret, GWCTL_SECRET_PREFIX, 4);
    len = gw_b64url_encode((unsigned char *) secret + 4, rnd, sizeof(rnd));
    secret[4 + len] = '\0';
    OPENSSL_cleanse(rnd, sizeof(rnd));

    if (HMAC(EVP_sha256(), key, n, (unsigned char *) secret,
             strlen(secret), mac, &len) == NULL || len != 32)
    {
        OPENSSL_cleanse(key, sizeof(key));
        OPENSSL_cleanse(secret, GWCTL_SECRET_LEN + 1);
        return gwctl_fail(ctl, GWCTL_REDIS, "%s: HMAC failed", cmd);
    }

    OPENSSL_cleanse(key, sizeof(key));

    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 0xf];
    }

    hex[64] = '\0';

    return 0;
}


/*
 * Sets up to three fields of client id's record (and "updated") in one
 * MULTI/EXEC with the "client <id>" event, under WATCH: the record must
 * exist, and when same is not NULL, field must not already hold value
 * (then "client <id> is already <same>").  Both failures are
 * GWCTL_STATE.  Returns 0 once committed.
 */

int
gwctl_client_change(gwctl_t *ctl, const char *id, const char *same,
    const char *field, const char *value, const char *field2,
    const char *value2, const char *field3, const char *value3)
{
    int          attempt, committed, found, equal;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    redisReply  *reply;

    snprintf(rkey, sizeof(rkey), GW_MODEL_CLIENT_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CLIENT " %s", id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
            return -1;
        }

        reply = gwctl_command(ctl, "HMGET %s status %s", rkey, field);
        if (reply == NULL) {
            return -1;
        }

        found = (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                 && reply->element[0]->type == REDIS_REPLY_STRING);

        equal = (found && reply->element[1]->type == REDIS_REPLY_STRING
                 && strcmp(reply->element[1]->str, value) == 0);

        freeReplyObject(reply);

        if (!found) {
            return gwctl_fail(ctl, GWCTL_STATE, "client %s not found", id);
        }

        if (same != NULL && equal) {
            return gwctl_fail(ctl, GWCTL_STATE, "client %s is already %s",
                              id, same);
        }

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s %s %s %s %s %s %s updated %lld",
                         rkey, field, value, field2, value2, field3, value3,
                         (long long) time(NULL)) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            return -1;
        }

        if (committed) {
            return 0;
        }
    }

    return gwctl_fail(ctl, GWCTL_STATE,
                      "client %s: changed concurrently, try again", id);
}


/*
 * rotate-secret ID [--grace TTL] [--pepper FILE]: a new secret; the
 * previous one stays valid for the grace (0: not at all).  Under WATCH:
 * the current hash becomes secret_old.
 */

int
gwctl_client_rotate(gwctl_t *ctl, int argc, char **argv)
{
    int           attempt, committed;
    char          rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX], q[64];
    char          secret[GWCTL_SECRET_LEN + 1], hex[65], until[24], *old;
    int64_t       grace;
    long long     now;
    const char   *pos[1];
    redisReply   *reply;
    gwctl_opt_t   opts[] = {
        { "--grace", 0, NULL },
        { "--pepper", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "client rotate-secret", argc, argv, opts, pos, 1,
                   "ID [--grace SECONDS|12h|1d] [--pepper FILE]") != 0
        || gwctl_id(ctl, "client rotate-secret", pos[0]) != 0)
    {
        return -1;
    }

    grace = GWCTL_GRACE_DEFAULT;

    if (opts[0].value != NULL && strcmp(opts[0].value, "0") != 0
        && gw_model_ttl_parse(opts[0].value, strlen(opts[0].value), &grace)
           != 0)
    {
        return gwctl_fail(ctl, GWCTL_USAGE, "client rotate-secret: --grace:"
                          " expects 0, seconds or 30m, 12h, 1d, got %s",
                          gwctl_quote(q, sizeof(q), opts[0].value));
    }

    if (opts[0].value != NULL && strcmp(opts[0].value, "0") == 0) {
        grace = 0;
    }

    if (gwctl_client_secret(ctl, "client rotate-secret", opts[1].value,
                            secret, hex) != 0)
    {
        return -1;
    }

    if (gwctl_connect(ctl) != 0) {
        goto failed;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CLIENT_PREFIX "%s", pos[0]);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CLIENT " %s", pos[0]);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
            goto failed;
        }

        reply = gwctl_command(ctl, "HMGET %s status secret", rkey);
        if (reply == NULL) {
            goto failed;
        }

        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
            || reply->element[0]->type != REDIS_REPLY_STRING)
        {
            freeReplyObject(reply);
            gwctl_fail(ctl, GWCTL_STATE, "client %s not found", pos[0]);
            goto failed;
        }

        old = (grace > 0 && reply->element[1]->type == REDIS_REPLY_STRING)
              ? strdup(reply->element[1]->str) : strdup("");
        freeReplyObject(reply);

        if (old == NULL) {
            gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
            goto failed;
        }

        now = (long long) time(NULL);

        if (old[0] != '\0') {
            snprintf(until, sizeof(until), "%lld", now + (long long) grace);

        } else {
            until[0] = '\0';
        }

        committed = 0;

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s secret %s secret_old %s "
                         "secret_old_until %s updated %lld", rkey, hex, old,
                         until, now) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            free(old);
            goto failed;
        }

        free(old);

        if (committed) {
            printf("client_id: %s\nclient_secret: %s\n", pos[0], secret);
            fprintf(stderr, "gwctl: the secret is shown once: store it now"
                    "\n");
            OPENSSL_cleanse(secret, sizeof(secret));
            return 0;
        }
    }

    gwctl_fail(ctl, GWCTL_STATE, "client %s: changed concurrently, try "
               "again", pos[0]);

failed:

    OPENSSL_cleanse(secret, sizeof(secret));

    return -1;
}


/*
 * Reads and checks a public JWK from path ("-": stdin) into *out
 * (compact JSON, malloc'd): one JSON object, no private member (d, p, q,
 * dp, dq, qi, oth, k), kty EC (P-256, P-384, P-521), OKP (Ed25519) or
 * RSA, an alg (when present) its type verifies, and a key that lib/jose
 * loads (RSA of 2048 bits at least).
 */

int
gwctl_client_jwk(gwctl_t *ctl, const char *path, char **out)
{
    FILE         *f;
    char         *buf, err[128];
    size_t        n, i;
    json_t       *jwk, *kty;
    gw_keyset_t   ks;
    json_error_t  jerr;

    static const char  *priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth",
                                   "k", NULL };

    f = (strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    if (f == NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: cannot open "
                          "the JWK file: %s", strerror(errno));
    }

    buf = malloc(GWCTL_JWK_MAX + 1);
    if (buf == NULL) {
        if (f != stdin) {
            fclose(f);
        }

        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    n = fread(buf, 1, GWCTL_JWK_MAX + 1, f);

    if (f != stdin) {
        fclose(f);
    }

    if (n > GWCTL_JWK_MAX) {
        free(buf);
        return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: the JWK is "
                          "over %d bytes", GWCTL_JWK_MAX);
    }

    jwk = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);

    if (!json_is_object(jwk)) {
        json_decref(jwk);
        return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: not a JSON "
                          "object (one JWK)");
    }

    for (i = 0; priv[i] != NULL; i++) {
        if (json_object_get(jwk, priv[i]) != NULL) {
            json_decref(jwk);
            return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: the JWK "
                              "has the private member \"%s\": give the "
                              "public key only", priv[i]);
        }
    }

    kty = json_object_get(jwk, "kty");

    if (!json_is_string(kty)
        || (strcmp(json_string_value(kty), "EC") != 0
            && strcmp(json_string_value(kty), "OKP") != 0
            && strcmp(json_string_value(kty), "RSA") != 0))
    {
        json_decref(jwk);
        return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: kty must be "
                          "EC, OKP or RSA");
    }

    *out = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwk);

    if (*out == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    memset(&ks, 0, sizeof(gw_keyset_t));

    if (gw_keyset_load(&ks, (unsigned char *) *out, strlen(*out),
                       GW_KEY_FMT_JWK, NULL, 0, err, sizeof(err)) != 0)
    {
        free(*out);
        return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: the JWK does "
                          "not load: %s", err);
    }

    n = ks.nkeys;
    gw_keyset_free(&ks);

    if (n != 1) {
        free(*out);
        return gwctl_fail(ctl, GWCTL_USAGE, "client set-key: expects one "
                          "signature key");
    }

    return 0;
}


/*
 * The Redis store's set-key: stores the checked public JWK and adds
 * private_key_jwt to the client's methods.
 */

int
gwctl_redis_client_set_key(gwctl_t *ctl, const char *id, const char *jwk)
{
    int          rc;
    char        *auth;
    size_t       len;
    redisReply  *reply;

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    reply = gwctl_command(ctl, "HGET " GW_MODEL_CLIENT_PREFIX "%s auth", id);
    if (reply == NULL) {
        return -1;
    }

    len = (reply->type == REDIS_REPLY_STRING) ? reply->len : 0;
    auth = malloc(len + sizeof(" private_key_jwt"));

    if (auth != NULL) {
        memcpy(auth, len > 0 ? reply->str : "", len);
        auth[len] = '\0';

        if (!gwctl_client_subset("private_key_jwt", auth)) {
            strcat(auth, len > 0 ? " private_key_jwt" : "private_key_jwt");
        }
    }

    freeReplyObject(reply);

    if (auth == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_client_change(ctl, id, NULL, "jwk", jwk, "auth", auth, "jwk",
                             jwk);
    free(auth);

    return rc;
}
