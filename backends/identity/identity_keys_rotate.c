
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
 * It reads the service's configuration (file and TOLLGATE_IDENTITY_*
 * variables) but checks only the settings it uses: the kit's Redis ones
 * and the keys' (their rows repeat those of identity_main.c); the other
 * settings are accepted as they are.
 */


#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "gw_model.h"
#include "identity_keys_int.h"


#define IDENTITY_ROTATE_EXTRA  64       /* other settings, accepted */


extern char  **environ;


/* as in identity_main.c */
static const gw_svc_key_t  identity_rotate_keys[] = {
    { "token_ttl", GW_SVC_INT, "300", 10, 86400, NULL },
    { "leeway", GW_SVC_INT, "30", 0, 300, NULL },
    { "kek_file", GW_SVC_STR, NULL, 0, 0, NULL },
    { "signing_alg", GW_SVC_STR, "ES256", 0, 0, "ES256|EdDSA|RS256" },
    { "rotation_interval", GW_SVC_INT, "86400", 2, 31536000, NULL },
    { "jwks_max_age", GW_SVC_INT, "300", 1, 86400, NULL },
    { "keys_poll", GW_SVC_MSEC, "1s", 100, 60000, NULL },
};

#define IDENTITY_ROTATE_NKEYS                                                 \
    (sizeof(identity_rotate_keys) / sizeof(identity_rotate_keys[0]))


static int identity_rotate_add_name(gw_svc_key_t *keys, size_t *n,
    gw_svc_t *probe, const char *name, size_t len);
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


/* adds name (len bytes, lower-cased) as a free text setting unless known */

static int
identity_rotate_add_name(gw_svc_key_t *keys, size_t *n, gw_svc_t *probe,
    const char *name, size_t len)
{
    char    key[65];
    size_t  i;

    if (len == 0 || len >= sizeof(key)) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        key[i] = tolower((unsigned char) name[i]);
    }

    key[len] = '\0';

    if (strcmp(key, "config") == 0 || gw_svc_conf_str(probe, key) != NULL) {
        return 0;
    }

    for (i = 0; i < *n; i++) {
        if (strcmp(keys[i].key, key) == 0) {
            return 0;
        }
    }

    if (*n == IDENTITY_ROTATE_NKEYS + IDENTITY_ROTATE_EXTRA) {
        return -1;
    }

    keys[*n].key = strdup(key);
    if (keys[*n].key == NULL) {
        return -1;
    }

    keys[*n].type = GW_SVC_STR;
    keys[*n].dflt = "";
    (*n)++;

    return 0;
}


/*
 * The configuration: our rows, plus every other name the file or the
 * environment sets that the kit does not know, as free text.
 */

static gw_svc_t *
identity_rotate_configure(const char *path)
{
    char           line[4096], *p, *eq, err[256];
    FILE          *f;
    size_t         i, n;
    gw_svc_t      *svc, *probe;
    char         **e;

    static gw_svc_key_t  keys[IDENTITY_ROTATE_NKEYS + IDENTITY_ROTATE_EXTRA
                              + 1];

    probe = gw_svc_create("identity", NULL);
    if (probe == NULL) {
        return NULL;
    }

    memcpy(keys, identity_rotate_keys, sizeof(identity_rotate_keys));
    n = IDENTITY_ROTATE_NKEYS;

    for (e = environ; *e != NULL; e++) {
        if (strncmp(*e, "TOLLGATE_IDENTITY_", 18) == 0
            && (eq = strchr(*e, '=')) != NULL
            && identity_rotate_add_name(keys, &n, probe, *e + 18,
                                        eq - *e - 18)
               != 0)
        {
            gw_svc_free(probe);
            return NULL;
        }
    }

    f = (path != NULL) ? fopen(path, "r") : NULL;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        for (p = line; *p == ' ' || *p == '\t'; p++) { /* void */ }

        eq = strchr(p, '=');

        if (*p == '#' || eq == NULL) {
            continue;
        }

        while (eq > p && (eq[-1] == ' ' || eq[-1] == '\t')) {
            eq--;
        }

        if (identity_rotate_add_name(keys, &n, probe, p, eq - p) != 0) {
            break;
        }
    }

    if (f != NULL) {
        fclose(f);
    }

    gw_svc_free(probe);

    svc = gw_svc_create("identity", keys);

    if (svc == NULL || gw_svc_configure(svc, path) != 0) {
        fprintf(stderr, "identity rotate: %s\n",
                svc != NULL ? gw_svc_error(svc) : "bad configuration");
        gw_svc_free(svc);
        svc = NULL;

    } else if (identity_keys_conf_read(svc, gw_svc_conf_int(svc, "token_ttl"),
                                       gw_svc_conf_int(svc, "leeway"), err,
                                       sizeof(err))
               != 0)
    {
        fprintf(stderr, "identity rotate: %s\n", err);
        gw_svc_free(svc);
        svc = NULL;
    }

    for (i = IDENTITY_ROTATE_NKEYS; i < n; i++) {
        free((char *) keys[i].key);
        keys[i].key = NULL;
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
