
/*
 * Copyright (C) Tollgate
 *
 * The keys of gwctl's Redis store (gwctl_key.c parses and prints).
 *
 * A key's SHA-256 is gw:key:<hash> (consumer, status, expires, created,
 * prefix) and the hash is in gw:consumer:<id>:keys, scored by creation
 * time; both are written in one transaction with the "key <hash>"
 * invalidation, WATCHed on the consumer so that a key is never added to
 * a consumer that is not there.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"


static int gwctl_key_redis_create(gwctl_t *ctl, const char *id,
    int64_t ttl, gwctl_key_new_t *k);
static int gwctl_key_redis_withdraw(gwctl_t *ctl, gwctl_key_new_t *k);
static int gwctl_key_redis_list(gwctl_t *ctl, const char *cmd,
    const char *id, const char *cursor, size_t limit, gwctl_page_t *page);
static int gwctl_key_redis_read(gwctl_t *ctl, const char *id,
    const char *after, size_t count, gwctl_page_t *page);
static int gwctl_key_redis_revoke(gwctl_t *ctl, const char *id,
    const char *hash);


const gwctl_key_ops_t  gwctl_redis_key_ops = {
    gwctl_key_redis_create,
    gwctl_key_redis_withdraw,
    gwctl_key_redis_list,
    gwctl_key_redis_revoke
};


static int
gwctl_key_redis_create(gwctl_t *ctl, const char *id, int64_t ttl,
    gwctl_key_new_t *k)
{
    int          attempt, committed, exists;
    char         crkey[GW_MODEL_RKEY_MAX], krkey[GW_MODEL_RKEY_MAX];
    char         event[GW_MODEL_EVENT_MAX];
    int64_t      expires;

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    if (gw_model_key_generate(k->key) != 0) {
        return gwctl_fail(ctl, GWCTL_REDIS,
                          "key create: the random generator failed");
    }

    gw_model_key_hash((const unsigned char *) k->key, GW_KEY_LEN, k->hash);
    memcpy(k->prefix, k->key, GW_KEY_PREFIX_LEN);
    k->prefix[GW_KEY_PREFIX_LEN] = '\0';

    snprintf(crkey, sizeof(crkey), GW_MODEL_CONSUMER_PREFIX "%s", id);
    snprintf(krkey, sizeof(krkey), GW_MODEL_KEY_PREFIX "%s", k->hash);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_KEY " %s", k->hash);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        exists = gwctl_watch_exists(ctl, crkey);

        if (exists != 1) {
            return exists < 0 ? -1 : gwctl_fail(ctl, GWCTL_STATE,
                                                "consumer %s not found", id);
        }

        k->created = (int64_t) time(NULL);
        expires = ttl ? k->created + ttl : 0;

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s consumer %s status %s expires %lld "
                         "created %lld prefix %s", krkey, id,
                         GW_MODEL_ACTIVE, (long long) expires,
                         (long long) k->created, k->prefix) != 0
            || gwctl_run(ctl, "ZADD %s" GW_MODEL_KEYS_SUFFIX " %lld %s",
                         crkey, (long long) k->created, k->hash) != 0
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
                      "consumer %s: changed concurrently, try again", id);
}


/* revokes the key just made, that could not be printed; returns -1 */

static int
gwctl_key_redis_withdraw(gwctl_t *ctl, gwctl_key_new_t *k)
{
    int   committed;
    char  krkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];

    fprintf(stderr, "gwctl: key create: cannot write the key: %s\n",
            strerror(errno));

    snprintf(krkey, sizeof(krkey), GW_MODEL_KEY_PREFIX "%s", k->hash);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_KEY " %s", k->hash);

    if (gwctl_run(ctl, "MULTI") == 0
        && gwctl_run(ctl, "HSET %s status %s revoked %lld", krkey,
                     GW_MODEL_REVOKED, (long long) k->created) == 0
        && gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) == 0
        && gwctl_exec(ctl, &committed) == 0)
    {
        gwctl_fail(ctl, GWCTL_REDIS, "key create: key %s of consumer %s "
                   "was revoked, as it could not be shown", k->prefix,
                   k->id);
    }

    return -1;
}


/*
 * One page of the consumer's keys, oldest first: the limit keys after
 * the hash cursor (or from the first) in the sorted set
 * gw:consumer:<id>:keys.  The cursor is a member, not a position, so a
 * key added meanwhile never shows a key twice nor hides one; the next
 * cursor is the last valid hash of the page, when there are more.
 */

static int
gwctl_key_redis_list(gwctl_t *ctl, const char *cmd, const char *id,
    const char *cursor, size_t limit, gwctl_page_t *page)
{
    char  q[64];

    memset(page, 0, sizeof(gwctl_page_t));

    if (cursor != NULL && !gw_model_hash_valid(cursor, strlen(cursor))) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: --cursor: expects "
                          "a key hash (%d lower-case hex digits), got %s",
                          cmd, GW_KEY_HASH_HEX_LEN,
                          gwctl_quote(q, sizeof(q), cursor));
    }

    if (gwctl_connect(ctl) != 0
        || gwctl_key_redis_read(ctl, id, cursor, limit, page) != 0)
    {
        gwctl_page_free(page);
        return -1;
    }

    return 0;
}


/*
 * Reads the page: fails with exit code 2 when the consumer does not
 * exist or after is not one of its keys; skips, with a warning, hashes
 * that are not hashes, hashes without a record and records of another
 * consumer.
 */

static int
gwctl_key_redis_read(gwctl_t *ctl, const char *id, const char *after,
    size_t count, gwctl_page_t *page)
{
    size_t            i, n, got;
    int64_t           now;
    long long         start;
    redisReply       *reply, *rank, *rec, *set;
    const char       *hash, *last;
    gwctl_key_rec_t  *keys, *k;
    const redisReply *v;

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

    if (gwctl_page_reply(ctl, page,
                         gwctl_command(ctl, "ZRANGE "
                                       GW_MODEL_CONSUMER_PREFIX "%s"
                                       GW_MODEL_KEYS_SUFFIX " %lld %lld", id,
                                       start, start + (long long) count))
        != 0)
    {
        return -1;
    }

    set = page->replies[0];

    if (set->type != REDIS_REPLY_ARRAY) {
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGE: not a sorted "
                          "set", ctl->addr);
    }

    got = set->elements > count ? count : set->elements;

    keys = gwctl_page_buf(ctl, page, calloc(got + 1,
                                            sizeof(gwctl_key_rec_t)));
    if (keys == NULL) {
        return -1;
    }

    page->items = keys;
    last = NULL;
    n = 0;

    for (i = 0; i < got; i++) {
        hash = set->element[i]->str;

        if (set->element[i]->type != REDIS_REPLY_STRING
            || !gw_model_hash_valid(hash, set->element[i]->len))
        {
            fprintf(stderr, "gwctl: consumer %s: skipping an invalid hash "
                    "in its key set\n", id);
            continue;
        }

        if (gwctl_append(ctl, "HGETALL " GW_MODEL_KEY_PREFIX "%s", hash)
            != 0)
        {
            return -1;
        }

        keys[n++].hash = hash;
        last = hash;
    }

    /* the records follow the set in page->replies */

    for (i = 0; i < n; i++) {
        if (gwctl_page_reply(ctl, page, gwctl_reply(ctl, "HGETALL")) != 0) {
            return -1;
        }
    }

    now = (int64_t) time(NULL);

    for (i = 0; i < n; i++) {
        rec = page->replies[i + 1];
        hash = keys[i].hash;

        if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
            fprintf(stderr, "gwctl: consumer %s: key %.*s has no record\n",
                    id, GWCTL_HASH_SHOWN, hash);
            continue;
        }

        if (!gwctl_field_is(rec, "consumer", id)) {
            fprintf(stderr, "gwctl: consumer %s: key %.*s belongs to "
                    "another consumer\n", id, GWCTL_HASH_SHOWN, hash);
            continue;
        }

        /* hiredis ends every string with a NUL */

        k = &keys[page->n++];
        k->hash = hash;
        v = gwctl_field(rec, "prefix");
        k->prefix = (v != NULL) ? v->str : NULL;
        v = gwctl_field(rec, "status");
        k->status = (v != NULL) ? v->str : NULL;

        if (gwctl_field_int(rec, "created", &k->created) != 0) {
            k->created = -1;
        }

        k->created_set = (k->created >= 0);
        k->expires_set = (gwctl_field_int(rec, "expires", &k->expires)
                          == 0);
        k->state = gwctl_key_state(gw_model_key_state(k->status,
                                       v != NULL ? v->len : 0,
                                       k->expires_set ? k->expires : -1,
                                       now));
    }

    if (set->elements > count) {
        if (last == NULL) {
            return gwctl_fail(ctl, GWCTL_REDIS, "consumer %s: %zu invalid "
                              "hashes in a row in its key set", id, count);
        }

        page->next = last;
    }

    return 0;
}


/* sets the status of the key hash of consumer id to "revoked" */

static int
gwctl_key_redis_revoke(gwctl_t *ctl, const char *id, const char *hash)
{
    int          attempt, committed;
    char         krkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    int64_t      now;
    redisReply  *reply;

    snprintf(krkey, sizeof(krkey), GW_MODEL_KEY_PREFIX "%s", hash);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_KEY " %s", hash);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", krkey) != 0) {
            return -1;
        }

        reply = gwctl_command(ctl, "HGET %s status", krkey);
        if (reply == NULL) {
            return -1;
        }

        if (reply->type != REDIS_REPLY_STRING
            || strcmp(reply->str, GW_MODEL_REVOKED) == 0)
        {
            gwctl_fail(ctl, GWCTL_STATE, "key %.*s of consumer %s is %s",
                       GWCTL_HASH_SHOWN, hash, id,
                       reply->type == REDIS_REPLY_STRING
                       ? "already revoked" : "gone");
            freeReplyObject(reply);
            return -1;
        }

        freeReplyObject(reply);

        now = (int64_t) time(NULL);

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s status %s revoked %lld", krkey,
                         GW_MODEL_REVOKED, (long long) now) != 0
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
                      "key %.*s: changed concurrently, try again",
                      GWCTL_HASH_SHOWN, hash);
}
