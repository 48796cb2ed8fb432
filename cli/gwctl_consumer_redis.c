
/*
 * Copyright (C) Tollgate
 *
 * The consumers of gwctl's Redis store (gwctl_consumer.c parses and
 * prints).
 *
 * A consumer is the hash gw:consumer:<id> and its id in the set
 * gw:consumers; both are written in one transaction with the "consumer
 * <id>" invalidation.  The existence test and the status test run under
 * WATCH on the hash, so two gwctl runs never both add the same id, and an
 * enable racing a disable ends in one of the two states, each published.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"


static int gwctl_consumer_redis_add(gwctl_t *ctl,
    const gwctl_consumer_spec_t *cs);
static void gwctl_consumer_redis_rec(gwctl_consumer_rec_t *c,
    const char *id, const redisReply *rec, const redisReply *keys);
static int gwctl_consumer_redis_get(gwctl_t *ctl, const char *id,
    gwctl_page_t *page);
static int gwctl_consumer_redis_list(gwctl_t *ctl, const char *cursor,
    size_t limit, gwctl_page_t *page);
static int gwctl_consumer_redis_set(gwctl_t *ctl, const char *id,
    const char *field, const char *value, const char *same);


const gwctl_consumer_ops_t  gwctl_redis_consumer_ops = {
    gwctl_consumer_redis_add,
    gwctl_consumer_redis_get,
    gwctl_consumer_redis_list,
    gwctl_consumer_redis_set
};


static int
gwctl_consumer_redis_add(gwctl_t *ctl, const gwctl_consumer_spec_t *cs)
{
    int          attempt, committed, exists;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    long long    now;

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CONSUMER_PREFIX "%s", cs->id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CONSUMER " %s", cs->id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        exists = gwctl_watch_exists(ctl, rkey);

        if (exists != 0) {
            return exists < 0 ? -1 : gwctl_fail(ctl, GWCTL_STATE,
                                                "consumer %s already exists",
                                                cs->id);
        }

        now = (long long) time(NULL);

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s id %s name %s status %s tags %s "
                         "plan %s created %lld", rkey, cs->id, cs->name,
                         GW_MODEL_ACTIVE, cs->tags ? cs->tags : "",
                         cs->plan ? cs->plan : "", now) != 0
            || gwctl_run(ctl, "ZADD %s 0 %s", GW_MODEL_CONSUMERS, cs->id)
               != 0
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
                      "consumer %s: changed concurrently, try again",
                      cs->id);
}


/* a record of an HGETALL reply and its keys' ZCARD, borrowed */

static void
gwctl_consumer_redis_rec(gwctl_consumer_rec_t *c, const char *id,
    const redisReply *rec, const redisReply *keys)
{
    const redisReply  *v;

    memset(c, 0, sizeof(gwctl_consumer_rec_t));

    c->id = id;

    /* hiredis ends every string with a NUL */

    v = gwctl_field(rec, "name");
    c->name = (v != NULL) ? v->str : NULL;
    v = gwctl_field(rec, "status");
    c->status = (v != NULL) ? v->str : NULL;
    v = gwctl_field(rec, "tags");
    c->tags = (v != NULL) ? v->str : NULL;
    v = gwctl_field(rec, "plan");
    c->plan = (v != NULL) ? v->str : NULL;

    c->created_set = (gwctl_field_int(rec, "created", &c->created) == 0);
    c->keys = keys->integer;
}


/*
 * Reads consumer id's record and its keys' count into page (one item),
 * 0; -1 when not found (exit 2) or on a Redis failure.
 */

static int
gwctl_consumer_redis_get(gwctl_t *ctl, const char *id, gwctl_page_t *page)
{
    redisReply  *rec;

    memset(page, 0, sizeof(gwctl_page_t));

    if (gwctl_connect(ctl) != 0
        || gwctl_append(ctl, "HGETALL " GW_MODEL_CONSUMER_PREFIX "%s", id)
           != 0
        || gwctl_append(ctl, "ZCARD " GW_MODEL_CONSUMER_PREFIX "%s"
                        GW_MODEL_KEYS_SUFFIX, id) != 0
        || gwctl_page_reply(ctl, page, gwctl_reply(ctl, "HGETALL")) != 0
        || gwctl_page_reply(ctl, page, gwctl_reply(ctl, "ZCARD")) != 0
        || (page->items = gwctl_page_buf(ctl, page,
                                         calloc(1, sizeof(
                                                gwctl_consumer_rec_t))))
           == NULL)
    {
        gwctl_page_free(page);
        return -1;
    }

    rec = page->replies[0];

    if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
        gwctl_page_free(page);
        return gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);
    }

    gwctl_consumer_redis_rec(page->items, id, rec, page->replies[1]);
    page->n = 1;

    return 0;
}


/*
 * One page of consumers, sorted by id: the ids after cursor (or from the
 * first) in the sorted set gw:consumers (all scores 0, so ZRANGEBYLEX
 * orders them by bytes), at most limit of them.  One more is asked for,
 * to know whether there is a next page; the next cursor is the last
 * valid id read.  An id added or removed meanwhile never makes another
 * one appear twice or go missing.  Invalid ids and ids without a record
 * are skipped, with a warning.
 */

static int
gwctl_consumer_redis_list(gwctl_t *ctl, const char *cursor, size_t limit,
    gwctl_page_t *page)
{
    char                   *p, **ids, min[GW_ID_MAX + 2], q[64];
    size_t                  i, n, got;
    redisReply             *set, *rec, *keys;
    gwctl_consumer_rec_t   *c;

    memset(page, 0, sizeof(gwctl_page_t));

    if (cursor != NULL && !gw_model_id_valid(cursor, strlen(cursor))) {
        return gwctl_fail(ctl, GWCTL_USAGE, "consumer list: --cursor: "
                          "expects a consumer id, got %s",
                          gwctl_quote(q, sizeof(q), cursor));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    snprintf(min, sizeof(min), "%s%s", cursor ? "(" : "-",
             cursor ? cursor : "");

    if (gwctl_page_reply(ctl, page,
                         gwctl_command(ctl, "ZRANGEBYLEX %s %s + LIMIT 0 "
                                       "%llu", GW_MODEL_CONSUMERS, min,
                                       (unsigned long long) limit + 1))
        != 0)
    {
        goto failed;
    }

    set = page->replies[0];

    if (set->type != REDIS_REPLY_ARRAY) {
        gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGEBYLEX: not a sorted "
                   "set", ctl->addr);
        goto failed;
    }

    got = set->elements > limit ? limit : set->elements;

    ids = gwctl_page_buf(ctl, page, calloc(got + 1, sizeof(char *)));
    c = gwctl_page_buf(ctl, page,
                       calloc(got + 1, sizeof(gwctl_consumer_rec_t)));

    if (ids == NULL || c == NULL) {
        goto failed;
    }

    page->items = c;
    n = 0;

    for (i = 0; i < got; i++) {
        p = set->element[i]->str;

        if (set->element[i]->type != REDIS_REPLY_STRING
            || !gw_model_id_valid(p, set->element[i]->len))
        {
            fprintf(stderr, "gwctl: skipping an invalid id in %s\n",
                    GW_MODEL_CONSUMERS);
            continue;
        }

        ids[n++] = p;
    }

    if (set->elements > limit) {
        if (n == 0) {
            gwctl_fail(ctl, GWCTL_REDIS, "consumer list: %zu invalid ids in "
                       "a row in %s", limit, GW_MODEL_CONSUMERS);
            goto failed;
        }

        page->next = ids[n - 1];
    }

    for (i = 0; i < n; i++) {
        if (gwctl_append(ctl, "HGETALL " GW_MODEL_CONSUMER_PREFIX "%s",
                         ids[i]) != 0
            || gwctl_append(ctl, "ZCARD " GW_MODEL_CONSUMER_PREFIX "%s"
                            GW_MODEL_KEYS_SUFFIX, ids[i]) != 0)
        {
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        rec = gwctl_reply(ctl, "HGETALL");

        if (gwctl_page_reply(ctl, page, rec) != 0
            || gwctl_page_reply(ctl, page, keys = gwctl_reply(ctl, "ZCARD"))
               != 0)
        {
            goto failed;
        }

        if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
            fprintf(stderr, "gwctl: consumer %s is in %s but has no "
                    "record\n", ids[i], GW_MODEL_CONSUMERS);
            continue;
        }

        gwctl_consumer_redis_rec(&c[page->n++], ids[i], rec, keys);
    }

    return 0;

failed:

    gwctl_page_free(page);

    return -1;
}


/*
 * Sets field to value (NULL: "") in the record of consumer id, in one
 * MULTI/EXEC with the "consumer <id>" invalidation.  The tests run under
 * WATCH on the record: it must exist (have a status), and when same is
 * not NULL the field must not already hold value (then "consumer <id> is
 * already <same>").  Both failures are GWCTL_STATE.  Returns 0 once
 * committed.
 */

static int
gwctl_consumer_redis_set(gwctl_t *ctl, const char *id, const char *field,
    const char *value, const char *same)
{
    int          attempt, committed, found, equal;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    redisReply  *reply;

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    value = (value != NULL) ? value : "";

    snprintf(rkey, sizeof(rkey), GW_MODEL_CONSUMER_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CONSUMER " %s", id);

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
                 && reply->element[1]->len == strlen(value)
                 && memcmp(reply->element[1]->str, value,
                           reply->element[1]->len) == 0);

        freeReplyObject(reply);

        if (!found) {
            return gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);
        }

        if (same != NULL && equal) {
            return gwctl_fail(ctl, GWCTL_STATE, "consumer %s is already %s",
                              id, same);
        }

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s %s %s", rkey, field, value) != 0
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
