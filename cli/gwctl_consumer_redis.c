
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


/* a page's replies, freed with it */
typedef struct {
    redisReply     *set;
    redisReply    **recs;
    redisReply    **keys;
    size_t          n;
} gwctl_consumer_redis_t;


static void gwctl_consumer_redis_rec(gwctl_consumer_rec_t *c,
    const char *id, const redisReply *rec, const redisReply *keys);


int
gwctl_redis_consumer_add(gwctl_t *ctl, const gwctl_consumer_spec_t *cs)
{
    int          attempt, committed;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    long long    now;
    redisReply  *reply;

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CONSUMER_PREFIX "%s", cs->id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CONSUMER " %s", cs->id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
            return -1;
        }

        reply = gwctl_command(ctl, "EXISTS %s", rkey);
        if (reply == NULL) {
            return -1;
        }

        if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 0) {
            freeReplyObject(reply);
            return gwctl_fail(ctl, GWCTL_STATE,
                              "consumer %s already exists", cs->id);
        }

        freeReplyObject(reply);

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

int
gwctl_redis_consumer_get(gwctl_t *ctl, const char *id,
    gwctl_consumer_page_t *page)
{
    gwctl_consumer_redis_t  *d;

    memset(page, 0, sizeof(gwctl_consumer_page_t));

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    d = calloc(1, sizeof(gwctl_consumer_redis_t));
    page->items = calloc(1, sizeof(gwctl_consumer_rec_t));
    page->data = d;

    if (d == NULL || page->items == NULL
        || (d->recs = calloc(1, sizeof(redisReply *))) == NULL
        || (d->keys = calloc(1, sizeof(redisReply *))) == NULL)
    {
        gwctl_redis_consumer_free(page);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    d->n = 1;

    if (gwctl_append(ctl, "HGETALL " GW_MODEL_CONSUMER_PREFIX "%s", id)
        != 0
        || gwctl_append(ctl, "ZCARD " GW_MODEL_CONSUMER_PREFIX "%s"
                        GW_MODEL_KEYS_SUFFIX, id) != 0
        || (d->recs[0] = gwctl_reply(ctl, "HGETALL")) == NULL
        || (d->keys[0] = gwctl_reply(ctl, "ZCARD")) == NULL)
    {
        gwctl_redis_consumer_free(page);
        return -1;
    }

    if (d->recs[0]->type != REDIS_REPLY_ARRAY || d->recs[0]->elements == 0)
    {
        gwctl_redis_consumer_free(page);
        return gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);
    }

    gwctl_consumer_redis_rec(&page->items[0], id, d->recs[0], d->keys[0]);
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

int
gwctl_redis_consumer_list(gwctl_t *ctl, const char *cursor, size_t limit,
    gwctl_consumer_page_t *page)
{
    char                    *p, **ids, min[GW_ID_MAX + 2], q[64];
    size_t                   i, got;
    redisReply              *set;
    gwctl_consumer_redis_t  *d;

    memset(page, 0, sizeof(gwctl_consumer_page_t));

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

    set = gwctl_command(ctl, "ZRANGEBYLEX %s %s + LIMIT 0 %llu",
                        GW_MODEL_CONSUMERS, min,
                        (unsigned long long) limit + 1);
    if (set == NULL) {
        return -1;
    }

    d = calloc(1, sizeof(gwctl_consumer_redis_t));
    if (d == NULL) {
        freeReplyObject(set);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    d->set = set;
    page->data = d;

    if (set->type != REDIS_REPLY_ARRAY) {
        gwctl_redis_consumer_free(page);
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGEBYLEX: not a "
                          "sorted set", ctl->addr);
    }

    got = set->elements > limit ? limit : set->elements;

    ids = calloc(got + 1, sizeof(char *));
    d->recs = calloc(got + 1, sizeof(redisReply *));
    d->keys = calloc(got + 1, sizeof(redisReply *));
    page->items = calloc(got + 1, sizeof(gwctl_consumer_rec_t));

    if (ids == NULL || d->recs == NULL || d->keys == NULL
        || page->items == NULL)
    {
        free(ids);
        gwctl_redis_consumer_free(page);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    for (i = 0; i < got; i++) {
        p = set->element[i]->str;

        if (set->element[i]->type != REDIS_REPLY_STRING
            || !gw_model_id_valid(p, set->element[i]->len))
        {
            fprintf(stderr, "gwctl: skipping an invalid id in %s\n",
                    GW_MODEL_CONSUMERS);
            continue;
        }

        ids[d->n++] = p;
    }

    if (set->elements > limit) {
        if (d->n == 0) {
            free(ids);
            gwctl_redis_consumer_free(page);
            return gwctl_fail(ctl, GWCTL_REDIS, "consumer list: %zu invalid "
                              "ids in a row in %s", limit,
                              GW_MODEL_CONSUMERS);
        }

        page->next = ids[d->n - 1];
    }

    for (i = 0; i < d->n; i++) {
        if (gwctl_append(ctl, "HGETALL " GW_MODEL_CONSUMER_PREFIX "%s",
                         ids[i]) != 0
            || gwctl_append(ctl, "ZCARD " GW_MODEL_CONSUMER_PREFIX "%s"
                            GW_MODEL_KEYS_SUFFIX, ids[i]) != 0)
        {
            goto failed;
        }
    }

    for (i = 0; i < d->n; i++) {
        d->recs[i] = gwctl_reply(ctl, "HGETALL");
        if (d->recs[i] == NULL) {
            goto failed;
        }

        d->keys[i] = gwctl_reply(ctl, "ZCARD");
        if (d->keys[i] == NULL) {
            goto failed;
        }

        if (d->recs[i]->type != REDIS_REPLY_ARRAY
            || d->recs[i]->elements == 0)
        {
            fprintf(stderr, "gwctl: consumer %s is in %s but has no "
                    "record\n", ids[i], GW_MODEL_CONSUMERS);
            continue;
        }

        gwctl_consumer_redis_rec(&page->items[page->n++], ids[i],
                                 d->recs[i], d->keys[i]);
    }

    free(ids);

    return 0;

failed:

    free(ids);
    gwctl_redis_consumer_free(page);

    return -1;
}


void
gwctl_redis_consumer_free(gwctl_consumer_page_t *page)
{
    size_t                   i;
    gwctl_consumer_redis_t  *d;

    d = page->data;

    for (i = 0; d != NULL && d->recs != NULL && i < d->n; i++) {
        if (d->recs[i] != NULL) {
            freeReplyObject(d->recs[i]);
        }

        if (d->keys[i] != NULL) {
            freeReplyObject(d->keys[i]);
        }
    }

    if (d != NULL) {
        if (d->set != NULL) {
            freeReplyObject(d->set);
        }

        free(d->recs);
        free(d->keys);
        free(d);
    }

    free(page->items);
    memset(page, 0, sizeof(gwctl_consumer_page_t));
}


/*
 * Sets field to value (NULL: "") in the record of consumer id, in one
 * MULTI/EXEC with the "consumer <id>" invalidation.  The tests run under
 * WATCH on the record: it must exist (have a status), and when same is
 * not NULL the field must not already hold value (then "consumer <id> is
 * already <same>").  Both failures are GWCTL_STATE.  Returns 0 once
 * committed.
 */

int
gwctl_redis_consumer_set(gwctl_t *ctl, const char *id, const char *field,
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
