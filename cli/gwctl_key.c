
/*
 * Copyright (C) Tollgate
 *
 * gwctl key create | list | revoke.
 *
 * A new key is printed once and never stored: Redis gets its SHA-256 as
 * gw:key:<hash> (consumer, status, expires, created, prefix) and the hash
 * in gw:consumer:<id>:keys, in one transaction with the "key <hash>"
 * invalidation, WATCHed on the consumer so that a key is never added to a
 * consumer that is not there.  The key itself is printed only after EXEC
 * succeeded, then wiped.
 *
 * Revocation names a key by what listings show: its prefix ("tg_" and up
 * to five symbols), its hash or a prefix of the hash (8 hex digits at
 * least), or the whole key.  Only the consumer's own keys match; a name
 * that matches several keys picks the one not yet revoked, or fails.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gwctl.h"


#define GWCTL_HASH_SHOWN    12      /* hex digits of a hash in tables */
#define GWCTL_HASH_MIN      8       /* hex digits to name a key by hash */


typedef struct {
    const char     *hash;           /* NUL-terminated, in the set reply */
    redisReply     *rec;
    int64_t         created;
} gwctl_key_t;


typedef struct {
    gwctl_key_t    *keys;
    size_t          n;
    redisReply     *set;
    const char     *last;           /* the cursor after this page */
    unsigned        more:1;         /* a next page exists */
} gwctl_keys_t;


static int gwctl_key_create(gwctl_t *ctl, int argc, char **argv);
static int gwctl_key_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_key_revoke(gwctl_t *ctl, int argc, char **argv);
static int gwctl_key_name(gwctl_t *ctl, const char *arg, char *name,
    int *by_hash);
static int gwctl_keys_read(gwctl_t *ctl, const char *id, const char *after,
    size_t count, gwctl_keys_t *ks);
static void gwctl_keys_free(gwctl_keys_t *ks);
static const char *gwctl_key_state(const redisReply *rec, int64_t now);


int
gwctl_key(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "key: expects create, list or revoke");
    }

    if (strcmp(argv[0], "create") == 0) {
        return gwctl_key_create(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_key_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "revoke") == 0) {
        return gwctl_key_revoke(ctl, argc - 1, argv + 1);
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "key: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


static int
gwctl_key_create(gwctl_t *ctl, int argc, char **argv)
{
    int          rc, attempt, committed;
    char         key[GW_KEY_LEN + 1], hash[GW_KEY_HASH_HEX_LEN + 1];
    char         prefix[GW_KEY_PREFIX_LEN + 1], crkey[GW_MODEL_RKEY_MAX];
    char         krkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    char         q[64];
    int64_t      ttl, now, expires;
    const char  *pos[1], *id;
    redisReply  *reply;
    gwctl_opt_t  opts[] = {
        { "--expires", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "key create", argc, argv, opts, pos, 1,
                   "CONSUMER [--expires SECONDS|30d|12h]") != 0
        || gwctl_id(ctl, "key create", pos[0]) != 0)
    {
        return -1;
    }

    id = pos[0];
    ttl = 0;

    if (opts[0].value != NULL
        && gw_model_ttl_parse(opts[0].value, strlen(opts[0].value), &ttl)
           != 0)
    {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "key create: --expires: expects seconds, or a "
                          "number followed by s, m, h or d, from 1 second "
                          "to 3650d, got %s",
                          gwctl_quote(q, sizeof(q), opts[0].value));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    if (gw_model_key_generate(key) != 0) {
        return gwctl_fail(ctl, GWCTL_REDIS,
                          "key create: the random generator failed");
    }

    rc = -1;

    gw_model_key_hash((const unsigned char *) key, GW_KEY_LEN, hash);
    memcpy(prefix, key, GW_KEY_PREFIX_LEN);
    prefix[GW_KEY_PREFIX_LEN] = '\0';

    snprintf(crkey, sizeof(crkey), GW_MODEL_CONSUMER_PREFIX "%s", id);
    snprintf(krkey, sizeof(krkey), GW_MODEL_KEY_PREFIX "%s", hash);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_KEY " %s", hash);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", crkey) != 0) {
            goto done;
        }

        reply = gwctl_command(ctl, "EXISTS %s", crkey);
        if (reply == NULL) {
            goto done;
        }

        if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 1) {
            freeReplyObject(reply);
            gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);
            goto done;
        }

        freeReplyObject(reply);

        now = (int64_t) time(NULL);
        expires = ttl ? now + ttl : 0;

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s consumer %s status %s expires %lld "
                         "created %lld prefix %s", krkey, id,
                         GW_MODEL_ACTIVE, (long long) expires,
                         (long long) now, prefix) != 0
            || gwctl_run(ctl, "ZADD %s" GW_MODEL_KEYS_SUFFIX " %lld %s",
                         crkey, (long long) now, hash) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            goto done;
        }

        if (!committed) {
            continue;
        }

        if (printf("%s\n", key) > 0 && fflush(stdout) == 0) {
            rc = 0;
            goto done;
        }

        /* nobody saw the key: it must not stay usable */

        fprintf(stderr, "gwctl: key create: cannot write the key: %s\n",
                strerror(errno));

        if (gwctl_run(ctl, "MULTI") == 0
            && gwctl_run(ctl, "HSET %s status %s revoked %lld", krkey,
                         GW_MODEL_REVOKED, (long long) now) == 0
            && gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) == 0
            && gwctl_exec(ctl, &committed) == 0)
        {
            gwctl_fail(ctl, GWCTL_REDIS, "key create: key %s of consumer %s "
                       "was revoked, as it could not be shown", prefix, id);
        }

        goto done;
    }

    gwctl_fail(ctl, GWCTL_STATE,
               "consumer %s: changed concurrently, try again", id);

done:

    OPENSSL_cleanse(key, sizeof(key));

    return rc;
}


/*
 * Reads one page of the consumer's keys, oldest first: the count keys
 * after the hash after (or from the first) in the sorted set
 * gw:consumer:<id>:keys, scored by creation time.  The cursor is a member,
 * not a position, so a key added meanwhile never shows a key twice nor
 * hides one.  Fails with exit code 2 when the consumer does not exist or
 * after is not one of its keys; skips, with a warning, hashes that are
 * not hashes, hashes without a record and records of another consumer.
 * Sets ks->more, and ks->last to the last valid hash of the page.
 */

static int
gwctl_keys_read(gwctl_t *ctl, const char *id, const char *after,
    size_t count, gwctl_keys_t *ks)
{
    size_t        i, n, got;
    long long     start;
    redisReply   *reply, *rank, *rec;
    const char   *hash;

    memset(ks, 0, sizeof(gwctl_keys_t));

    if (gwctl_append(ctl, "EXISTS " GW_MODEL_CONSUMER_PREFIX "%s", id) != 0
        || (after != NULL
            && gwctl_append(ctl, "ZRANK " GW_MODEL_CONSUMER_PREFIX "%s"
                            GW_MODEL_KEYS_SUFFIX " %s", id, after) != 0))
    {
        return -1;
    }

    reply = gwctl_reply(ctl, "EXISTS");
    if (reply == NULL) {
        return -1;
    }

    start = 0;

    if (after != NULL) {
        rank = gwctl_reply(ctl, "ZRANK");
        if (rank == NULL) {
            freeReplyObject(reply);
            return -1;
        }

        start = rank->type == REDIS_REPLY_INTEGER ? rank->integer + 1 : -1;
        freeReplyObject(rank);
    }

    if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 1) {
        freeReplyObject(reply);
        return gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);
    }

    freeReplyObject(reply);

    if (start < 0) {
        return gwctl_fail(ctl, GWCTL_STATE, "consumer %s has no key %.*s: "
                          "not a cursor of its key list", id,
                          GWCTL_HASH_SHOWN, after);
    }

    ks->set = gwctl_command(ctl, "ZRANGE " GW_MODEL_CONSUMER_PREFIX "%s"
                            GW_MODEL_KEYS_SUFFIX " %lld %lld", id, start,
                            start + (long long) count);
    if (ks->set == NULL) {
        return -1;
    }

    if (ks->set->type != REDIS_REPLY_ARRAY) {
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGE: not a sorted "
                          "set", ctl->addr);
    }

    got = ks->set->elements > count ? count : ks->set->elements;
    ks->more = ks->set->elements > count;

    ks->keys = calloc(got + 1, sizeof(gwctl_key_t));
    if (ks->keys == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    n = 0;

    for (i = 0; i < got; i++) {
        hash = ks->set->element[i]->str;

        if (ks->set->element[i]->type != REDIS_REPLY_STRING
            || !gw_model_hash_valid(hash, ks->set->element[i]->len))
        {
            fprintf(stderr, "gwctl: consumer %s: skipping an invalid hash "
                    "in its key set\n", id);
            continue;
        }

        if (gwctl_append(ctl, "HGETALL " GW_MODEL_KEY_PREFIX "%s", hash)
            != 0)
        {
            ks->n = n;
            return -1;
        }

        ks->keys[n++].hash = hash;
        ks->last = hash;
    }

    /* from here keys[0 .. n) own their record, NULL until read */

    ks->n = n;

    for (i = 0; i < n; i++) {
        ks->keys[i].rec = gwctl_reply(ctl, "HGETALL");
        if (ks->keys[i].rec == NULL) {
            return -1;
        }
    }

    ks->n = 0;

    for (i = 0; i < n; i++) {
        rec = ks->keys[i].rec;

        if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
            fprintf(stderr, "gwctl: consumer %s: key %.*s has no record\n",
                    id, GWCTL_HASH_SHOWN, ks->keys[i].hash);
            freeReplyObject(rec);
            continue;
        }

        if (!gwctl_field_is(rec, "consumer", id)) {
            fprintf(stderr, "gwctl: consumer %s: key %.*s belongs to "
                    "another consumer\n", id, GWCTL_HASH_SHOWN,
                    ks->keys[i].hash);
            freeReplyObject(rec);
            continue;
        }

        if (gwctl_field_int(rec, "created", &ks->keys[i].created) != 0) {
            ks->keys[i].created = -1;
        }

        ks->keys[ks->n++] = ks->keys[i];
    }

    if (ks->more && ks->last == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "consumer %s: %zu invalid hashes "
                          "in a row in its key set", id, count);
    }

    return 0;
}


/* frees what gwctl_keys_read() kept, also after its failure */

static void
gwctl_keys_free(gwctl_keys_t *ks)
{
    size_t  i;

    if (ks->keys != NULL) {
        for (i = 0; i < ks->n; i++) {
            if (ks->keys[i].rec != NULL) {
                freeReplyObject(ks->keys[i].rec);
            }
        }

        free(ks->keys);
    }

    if (ks->set != NULL) {
        freeReplyObject(ks->set);
    }
}


/* "active", "revoked", "expired", or "invalid" for an unknown status */

static const char *
gwctl_key_state(const redisReply *rec, int64_t now)
{
    int64_t            expires;
    const redisReply  *status;

    status = gwctl_field(rec, "status");

    if (gwctl_field_int(rec, "expires", &expires) != 0) {
        expires = -1;
    }

    switch (gw_model_key_state(status ? status->str : NULL,
                               status ? status->len : 0, expires, now))
    {
    case GW_MODEL_KEY_USABLE:
        return GW_MODEL_ACTIVE;

    case GW_MODEL_KEY_IS_REVOKED:
        return GW_MODEL_REVOKED;

    case GW_MODEL_KEY_IS_EXPIRED:
        return "expired";

    default:
        return "invalid";
    }
}


static int
gwctl_key_list(gwctl_t *ctl, int argc, char **argv)
{
    int           rc;
    char          created[32], expires[32], q[64];
    size_t        i, limit;
    int64_t       now, t;
    const char   *pos[1];
    gwctl_keys_t  ks;
    gwctl_key_t  *k;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "key list", argc, argv, opts, pos, 1,
                   "CONSUMER [--limit N] [--cursor HASH] [--json]") != 0
        || gwctl_id(ctl, "key list", pos[0]) != 0
        || gwctl_limit(ctl, "key list", opts[1].value, &limit) != 0)
    {
        return -1;
    }

    if (opts[2].value != NULL
        && !gw_model_hash_valid(opts[2].value, strlen(opts[2].value)))
    {
        return gwctl_fail(ctl, GWCTL_USAGE, "key list: --cursor: expects "
                          "a key hash (%d lower-case hex digits), got %s",
                          GW_KEY_HASH_HEX_LEN,
                          gwctl_quote(q, sizeof(q), opts[2].value));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    rc = -1;

    if (gwctl_keys_read(ctl, pos[0], opts[2].value, limit, &ks) != 0) {
        goto done;
    }

    if (opts[0].value != NULL) {
        fputs("{\"keys\":[", stdout);
    }

    now = (int64_t) time(NULL);

    for (i = 0; i < ks.n; i++) {
        k = &ks.keys[i];

        if (opts[0].value != NULL) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            printf("{\"hash\":\"%s\",\"prefix\":", k->hash);
            gwctl_print_field(stdout, k->rec, "prefix", 1);
            fputs(",\"status\":", stdout);
            gwctl_print_field(stdout, k->rec, "status", 1);
            printf(",\"state\":\"%s\"", gwctl_key_state(k->rec, now));

            if (k->created >= 0) {
                printf(",\"created\":%lld", (long long) k->created);

            } else {
                fputs(",\"created\":null", stdout);
            }

            if (gwctl_field_int(k->rec, "expires", &t) == 0) {
                printf(",\"expires\":%lld}", (long long) t);

            } else {
                fputs(",\"expires\":null}", stdout);
            }

            continue;
        }

        if (i == 0) {
            printf("%-*s  %-*s  %-8s  %-20s  %s\n", GWCTL_HASH_SHOWN, "HASH",
                   GW_KEY_PREFIX_LEN, "PREFIX", "STATUS", "CREATED",
                   "EXPIRES");
        }

        gwctl_format_time(created, sizeof(created), k->created);

        if (gwctl_field_int(k->rec, "expires", &t) != 0) {
            snprintf(expires, sizeof(expires), "?");

        } else if (t == 0) {
            snprintf(expires, sizeof(expires), "never");

        } else {
            gwctl_format_time(expires, sizeof(expires), t);
        }

        printf("%.*s  ", GWCTL_HASH_SHOWN, k->hash);
        gwctl_print_cell(stdout, gwctl_field(k->rec, "prefix"),
                         GW_KEY_PREFIX_LEN);
        printf("%-8s  %-20s  %s\n", gwctl_key_state(k->rec, now), created,
               expires);
    }

    gwctl_print_next(stdout, opts[0].value != NULL, ks.n ? "\n]" : "]",
                     ks.more ? ks.last : NULL);

    rc = 0;

done:

    gwctl_keys_free(&ks);

    return rc;
}


/*
 * What a revocation names, as "tg_" and up to five symbols (a prefix of the
 * stored prefix), the whole key (hashed here), or 8 to 64 hex digits (a
 * prefix of the hash, either case).  Fills name (the lower-case hash or
 * hash prefix, or the key prefix) and *by_hash.
 */

static int
gwctl_key_name(gwctl_t *ctl, const char *arg, char *name, int *by_hash)
{
    char    q[64];
    size_t  i, len, plen;

    len = strlen(arg);
    plen = sizeof(GW_KEY_TEXT_PREFIX) - 1;

    if (gw_model_key_valid(arg, len)) {
        gw_model_key_hash((const unsigned char *) arg, len, name);
        *by_hash = 1;
        return 0;
    }

    if (len > plen && len <= GW_KEY_PREFIX_LEN
        && memcmp(arg, GW_KEY_TEXT_PREFIX, plen) == 0
        && strspn(arg + plen, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789-_")
           == len - plen)
    {
        memcpy(name, arg, len + 1);
        *by_hash = 0;
        return 0;
    }

    if (len >= GWCTL_HASH_MIN && len <= GW_KEY_HASH_HEX_LEN
        && strspn(arg, "0123456789abcdefABCDEF") == len)
    {
        for (i = 0; i <= len; i++) {
            name[i] = (arg[i] >= 'A' && arg[i] <= 'F') ? arg[i] + 32 : arg[i];
        }

        *by_hash = 1;
        return 0;
    }

    return gwctl_fail(ctl, GWCTL_USAGE,
                      "key revoke: expects a key prefix (tg_ and up to %d "
                      "characters), a hash or %d to %d of its hex digits, "
                      "or the key; got %s",
                      GW_KEY_PREFIX_LEN - (int) plen, GWCTL_HASH_MIN,
                      GW_KEY_HASH_HEX_LEN, gwctl_quote(q, sizeof(q), arg));
}


static int
gwctl_key_revoke(gwctl_t *ctl, int argc, char **argv)
{
    int                rc, by_hash, attempt, committed;
    char               name[GW_KEY_HASH_HEX_LEN + 1], q[64];
    char               hash[GW_KEY_HASH_HEX_LEN + 1];
    char               after[GW_KEY_HASH_HEX_LEN + 1];
    char               krkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    size_t             i, len, matches, live;
    int64_t            now;
    const char        *pos[2], *id;
    redisReply        *reply, *pick;
    gwctl_keys_t       ks;
    gwctl_key_t       *k;
    const redisReply  *v;

    if (gwctl_args(ctl, "key revoke", argc, argv, NULL, pos, 2,
                   "CONSUMER KEY_PREFIX_OR_HASH") != 0
        || gwctl_id(ctl, "key revoke", pos[0]) != 0
        || gwctl_key_name(ctl, pos[1], name, &by_hash) != 0
        || gwctl_connect(ctl) != 0)
    {
        return -1;
    }

    id = pos[0];
    rc = -1;

    /* never echo a whole key: messages name what was matched */

    gwctl_quote(q, sizeof(q), by_hash ? name : pos[1]);

    len = strlen(name);
    matches = 0;
    live = 0;
    pick = NULL;
    after[0] = '\0';

    /* the keys are read a page at a time; pick keeps its record */

    for ( ;; ) {
        if (gwctl_keys_read(ctl, id, after[0] ? after : NULL,
                            GWCTL_LIMIT_MAX, &ks) != 0)
        {
            goto done;
        }

        for (i = 0; i < ks.n; i++) {
            k = &ks.keys[i];

            if (by_hash) {
                if (strncmp(k->hash, name, len) != 0) {
                    continue;
                }

            } else {
                v = gwctl_field(k->rec, "prefix");

                if (v == NULL || v->len < len
                    || memcmp(v->str, name, len) != 0)
                {
                    continue;
                }
            }

            matches++;

            if (!gwctl_field_is(k->rec, "status", GW_MODEL_REVOKED)) {
                live++;

                if (pick != NULL) {
                    freeReplyObject(pick);
                }

                pick = k->rec;
                k->rec = NULL;
                memcpy(hash, k->hash, sizeof(hash));
            }
        }

        if (!ks.more) {
            break;
        }

        memcpy(after, ks.last, sizeof(after));
        gwctl_keys_free(&ks);
    }

    if (matches == 0) {
        gwctl_fail(ctl, GWCTL_STATE, "consumer %s has no key matching %s",
                   id, q);
        goto done;
    }

    if (live == 0) {
        gwctl_fail(ctl, GWCTL_STATE, "key %s of consumer %s is already "
                   "revoked", q, id);
        goto done;
    }

    if (live > 1) {
        gwctl_fail(ctl, GWCTL_STATE, "%d keys of consumer %s match %s: "
                   "give more of the hash", (int) live, id, q);
        goto done;
    }

    snprintf(krkey, sizeof(krkey), GW_MODEL_KEY_PREFIX "%s", hash);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_KEY " %s", hash);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", krkey) != 0) {
            goto done;
        }

        reply = gwctl_command(ctl, "HGET %s status", krkey);
        if (reply == NULL) {
            goto done;
        }

        if (reply->type != REDIS_REPLY_STRING
            || strcmp(reply->str, GW_MODEL_REVOKED) == 0)
        {
            gwctl_fail(ctl, GWCTL_STATE, "key %.*s of consumer %s is %s",
                       GWCTL_HASH_SHOWN, hash, id,
                       reply->type == REDIS_REPLY_STRING
                       ? "already revoked" : "gone");
            freeReplyObject(reply);
            goto done;
        }

        freeReplyObject(reply);

        now = (int64_t) time(NULL);

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s status %s revoked %lld", krkey,
                         GW_MODEL_REVOKED, (long long) now) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            goto done;
        }

        if (committed) {
            printf("key ");
            gwctl_print_field(stdout, pick, "prefix", 0);
            printf(" (hash %.*s) of consumer %s revoked\n",
                   GWCTL_HASH_SHOWN, hash, id);
            rc = 0;
            goto done;
        }
    }

    gwctl_fail(ctl, GWCTL_STATE,
               "key %.*s: changed concurrently, try again",
               GWCTL_HASH_SHOWN, hash);

done:

    gwctl_keys_free(&ks);

    if (pick != NULL) {
        freeReplyObject(pick);
    }

    return rc;
}
