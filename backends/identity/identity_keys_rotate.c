
/*
 * Copyright (C) Tollgate
 *
 * `identity rotate [-c FILE]`: adds the next signing key now, by the same
 * rules and the same Lua script as the automatic schedule, so it never
 * shortens the lead: the key is published at once and signs only after
 * jwks_max_age (+ keys_poll), and the key it replaces stays published
 * token_ttl + leeway after that.  Refused while another key is pending
 * (published, not yet active), and when the newest key does not decrypt
 * under this KEK (a key the running services cannot use must not be
 * added).  There is no way to activate a key at once: `--now` is refused
 * with that explanation (docs/identity.md, "Keys").
 *
 * It reads and checks the service's whole configuration (file and
 * TOLLGATE_IDENTITY_* variables, identity_conf_keys), as the service
 * would: a configuration the tool accepts is one the service starts with.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "gw_model.h"
#include "identity_keys_int.h"


static gw_svc_t *identity_rotate_configure(const char *path);
static redisContext *identity_rotate_connect(gw_svc_t *svc);
static int identity_rotate(redisContext *rc);


int
identity_keys_rotate_main(int argc, char **argv)
{
    int            i, rc;
    gw_svc_t      *svc;
    const char    *path;
    redisContext  *redis;

    path = getenv("TOLLGATE_IDENTITY_CONFIG");

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];

        } else if (strcmp(argv[i], "--now") == 0) {
            fprintf(stderr, "identity rotate: --now is refused: a key signs "
                    "only after it was published for jwks_max_age, or "
                    "verifiers with a cached JWKS would refuse its tokens; "
                    "run `identity rotate` and wait\n");
            return 2;

        } else {
            fprintf(stderr, "usage: identity rotate [-c FILE]\n");
            return 2;
        }
    }

    svc = identity_rotate_configure(path);
    if (svc == NULL) {
        return 2;
    }

    redis = identity_rotate_connect(svc);

    rc = (redis != NULL) ? identity_rotate(redis) : 1;

    redisFree(redis);
    gw_svc_free(svc);

    return rc;
}


/* the service's configuration, checked as the service checks it */

static gw_svc_t *
identity_rotate_configure(const char *path)
{
    char       err[256];
    gw_svc_t  *svc;

    svc = gw_svc_create("identity", identity_conf_keys);

    if (svc == NULL || gw_svc_configure(svc, path) != 0) {
        fprintf(stderr, "identity rotate: %s\n",
                svc != NULL ? gw_svc_error(svc) : "bad configuration");
        gw_svc_free(svc);
        return NULL;
    }

    if (identity_keys_conf_read(svc, gw_svc_conf_int(svc, "token_ttl"),
                                gw_svc_conf_int(svc, "leeway"), err,
                                sizeof(err))
        != 0)
    {
        fprintf(stderr, "identity rotate: %s\n", err);
        gw_svc_free(svc);
        return NULL;
    }

    return svc;
}


static redisContext *
identity_rotate_connect(gw_svc_t *svc)
{
    char            host[256], *colon;
    const char     *addr, *pass;
    redisReply     *r;
    redisContext   *rc;
    struct timeval  tv = { 5, 0 };

    addr = gw_svc_conf_str(svc, "redis");

    if (strncmp(addr, "unix:", 5) == 0) {
        rc = redisConnectUnixWithTimeout(addr + 5, tv);

    } else {
        snprintf(host, sizeof(host), "%s", addr);
        colon = strrchr(host, ':');

        if (colon == NULL) {
            fprintf(stderr, "identity rotate: redis: bad address\n");
            return NULL;
        }

        *colon = '\0';
        rc = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    }

    if (rc == NULL || rc->err) {
        fprintf(stderr, "identity rotate: redis %s: %s\n", addr,
                rc != NULL ? rc->errstr : "out of memory");
        redisFree(rc);
        return NULL;
    }

    redisSetTimeout(rc, tv);

    pass = gw_svc_conf_str(svc, "redis_password");

    if (pass[0] != '\0') {
        r = redisCommand(rc, "AUTH %s", pass);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "identity rotate: redis: AUTH failed\n");
            freeReplyObject(r);
            redisFree(rc);
            return NULL;
        }

        freeReplyObject(r);
    }

    return rc;
}


/*
 * Reads the set to check the newest key decrypts here, then runs the add
 * script without the due check.  0: added; 1: refused or failed.
 */

static int
identity_rotate(redisContext *rc)
{
    int              ret;
    char             kid[GW_KID_MAX], err[256], t[3][24], *rec;
    time_t           now, newest;
    size_t           i;
    redisReply      *r;
    const char      *why;
    identity_key_t   key;

    r = redisCommand(rc, "HGETALL %s", GW_MODEL_IDENTITY_KEYS);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "identity rotate: cannot read the keys\n");
        freeReplyObject(r);
        return 1;
    }

    newest = -1;
    ret = 0;

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (identity_keys_record_parse(&key, r->element[i]->str,
                                       r->element[i + 1]->str,
                                       r->element[i + 1]->len, &why)
            < 0)
        {
            continue;
        }

        if (key.activate > newest) {
            newest = key.activate;
            ret = (key.signer != NULL) ? 0 : 1;
        }

        identity_keys_key_free(&key);
    }

    freeReplyObject(r);

    if (ret != 0) {
        fprintf(stderr, "identity rotate: the newest key does not decrypt "
                "under this kek_file: refused\n");
        return 1;
    }

    rec = identity_keys_record_new(kid, sizeof(kid), err, sizeof(err));
    if (rec == NULL) {
        fprintf(stderr, "identity rotate: %s\n", err);
        return 1;
    }

    now = identity_now();

    snprintf(t[0], sizeof(t[0]), "%lld", (long long) now);
    snprintf(t[1], sizeof(t[1]), "%lld", (long long) identity_keys_conf.lead);
    snprintf(t[2], sizeof(t[2]), "%lld", (long long) identity_keys_conf.hold);

    r = redisCommand(rc, "EVAL %s 2 %s %s %s %s %s %s 0 %s",
                     identity_keys_add_lua, GW_MODEL_IDENTITY_KEYS,
                     GW_MODEL_EVENTS, t[0], kid, rec, t[1], t[2]);

    free(rec);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        fprintf(stderr, "identity rotate: cannot add the key: %s\n",
                r != NULL && r->type == REDIS_REPLY_ERROR ? r->str
                                                          : "no reply");
        freeReplyObject(r);
        return 1;
    }

    if (r->element[0]->integer != 1) {
        fprintf(stderr, "identity rotate: key %s is still pending: refused\n",
                r->element[1]->str);
        freeReplyObject(r);
        return 1;
    }

    freeReplyObject(r);

    printf("{\"kid\":\"%s\",\"publish\":%lld,\"activate\":%lld}\n", kid,
           (long long) now,
           (long long) (newest < 0 ? now : now + identity_keys_conf.lead));

    return 0;
}
