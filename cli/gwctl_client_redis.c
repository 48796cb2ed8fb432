
/*
 * Copyright (C) Tollgate
 *
 * The clients of gwctl's Redis store (gwctl_client.c parses and prints;
 * gwctl_client_key.c has the secrets, rotate-secret and set-key).
 *
 * A client is the hash gw:client:<id> and its id in gw:clients, written
 * in one MULTI/EXEC under WATCH with the "client <id>" invalidation, as
 * consumers are.  A secret is made here and stored only as its keyed
 * hash.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gwctl.h"


static int gwctl_client_redis_add(gwctl_t *ctl,
    const gwctl_client_spec_t *cs, char *out, size_t size);
static void gwctl_client_redis_rec(gwctl_client_rec_t *c, const char *id,
    const redisReply *rec);
static int gwctl_client_redis_get(gwctl_t *ctl, const char *id,
    gwctl_page_t *page);
static int gwctl_client_redis_list(gwctl_t *ctl, const char *cursor,
    size_t limit, gwctl_page_t *page);
static int gwctl_client_redis_status(gwctl_t *ctl, const char *id,
    const char *status, const char *done);


const gwctl_client_ops_t  gwctl_redis_client_ops = {
    gwctl_client_redis_add,
    gwctl_client_redis_get,
    gwctl_client_redis_list,
    gwctl_client_redis_status,
    gwctl_redis_client_set_key,
    gwctl_client_rotate
};


static int
gwctl_client_redis_add(gwctl_t *ctl, const gwctl_client_spec_t *cs,
    char *out, size_t size)
{
    int          attempt, committed, exists;
    char         rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    char         secret[GWCTL_SECRET_LEN + 1], hex[65];
    long long    now;

    secret[0] = '\0';
    hex[0] = '\0';

    if (cs->secretful
        && gwctl_client_secret(ctl, "client add", cs->pepper, secret, hex)
           != 0)
    {
        return -1;
    }

    if (gwctl_connect(ctl) != 0) {
        goto failed;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CLIENT_PREFIX "%s", cs->id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CLIENT " %s", cs->id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        exists = gwctl_watch_exists(ctl, rkey);

        if (exists != 0) {
            if (exists > 0) {
                gwctl_fail(ctl, GWCTL_STATE, "client %s already exists",
                           cs->id);
            }

            goto failed;
        }

        now = (long long) time(NULL);

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s id %s name %s status %s secret %s "
                         "secret_old %s secret_old_until %s jwk %s auth %s "
                         "grants %s scopes %s default_scopes %s "
                         "audiences %s default_audience %s created %lld "
                         "updated %lld", rkey, cs->id, cs->name,
                         GW_MODEL_ACTIVE, hex, "", "", "", cs->auth,
                         cs->grants, cs->scopes, cs->dscopes, cs->auds,
                         cs->daud, now, now) != 0
            || gwctl_run(ctl, "ZADD %s 0 %s", GW_MODEL_CLIENTS, cs->id) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            goto failed;
        }

        if (committed) {
            snprintf(out, size, "%s", secret);
            OPENSSL_cleanse(secret, sizeof(secret));
            return 0;
        }
    }

    gwctl_fail(ctl, GWCTL_STATE, "client %s: changed concurrently, try "
               "again", cs->id);

failed:

    OPENSSL_cleanse(secret, sizeof(secret));

    return -1;
}


/* a record of an HGETALL reply, borrowed; never its secret hash */

static void
gwctl_client_redis_rec(gwctl_client_rec_t *c, const char *id,
    const redisReply *rec)
{
    size_t             i;
    const redisReply  *v;

    memset(c, 0, sizeof(gwctl_client_rec_t));

    c->id = id;

    /* hiredis ends every string with a NUL */

    for (i = 0; i < GWCTL_CLIENT_FIELDS; i++) {
        v = gwctl_field(rec, gwctl_client_fields[i]);
        c->field[i] = (v != NULL) ? v->str : NULL;
    }

    v = gwctl_field(rec, "secret");
    c->secret = (v != NULL && v->len > 0);

    v = gwctl_field(rec, "jwk");
    c->jwk = (v != NULL) ? v->str : NULL;

    c->secret_old_set = (gwctl_field_int(rec, "secret_old_until",
                                         &c->secret_old_until) == 0);
    c->created_set = (gwctl_field_int(rec, "created", &c->created) == 0);
    c->updated_set = (gwctl_field_int(rec, "updated", &c->updated) == 0);
}


static int
gwctl_client_redis_get(gwctl_t *ctl, const char *id, gwctl_page_t *page)
{
    redisReply  *rec;

    memset(page, 0, sizeof(gwctl_page_t));

    if (gwctl_connect(ctl) != 0
        || gwctl_page_reply(ctl, page,
                            gwctl_command(ctl, "HGETALL "
                                          GW_MODEL_CLIENT_PREFIX "%s", id))
           != 0)
    {
        return -1;
    }

    rec = page->replies[0];

    if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
        gwctl_page_free(page);
        return gwctl_fail(ctl, GWCTL_STATE, "client %s not found", id);
    }

    page->items = gwctl_page_buf(ctl, page,
                                 calloc(1, sizeof(gwctl_client_rec_t)));
    if (page->items == NULL) {
        gwctl_page_free(page);
        return -1;
    }

    page->n = 1;
    gwctl_client_redis_rec(page->items, id, rec);

    return 0;
}


/*
 * One page of clients, sorted by id, as the Redis store reads consumers;
 * invalid ids and ids without a record are skipped.
 */

static int
gwctl_client_redis_list(gwctl_t *ctl, const char *cursor, size_t limit,
    gwctl_page_t *page)
{
    char                 min[GW_ID_MAX + 2], q[64];
    size_t               i, n;
    redisReply          *set, *rec;
    const char         **ids;
    gwctl_client_rec_t  *c;

    memset(page, 0, sizeof(gwctl_page_t));

    if (cursor != NULL && !gw_model_id_valid(cursor, strlen(cursor))) {
        return gwctl_fail(ctl, GWCTL_USAGE, "client list: --cursor: "
                          "expects a client id, got %s",
                          gwctl_quote(q, sizeof(q), cursor));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    snprintf(min, sizeof(min), "%s%s", cursor != NULL ? "(" : "-",
             cursor != NULL ? cursor : "");

    if (gwctl_page_reply(ctl, page,
                         gwctl_command(ctl, "ZRANGEBYLEX %s %s + LIMIT 0 "
                                       "%llu", GW_MODEL_CLIENTS, min,
                                       (unsigned long long) limit + 1))
        != 0)
    {
        goto failed;
    }

    set = page->replies[0];

    ids = calloc(set->elements + 1, sizeof(char *));
    c = calloc(set->elements + 1, sizeof(gwctl_client_rec_t));

    if (set->type != REDIS_REPLY_ARRAY || ids == NULL || c == NULL) {
        free(ids);
        free(c);
        gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGEBYLEX: not a sorted "
                   "set", ctl->addr);
        goto failed;
    }

    if (gwctl_page_buf(ctl, page, ids) == NULL) {
        free(c);
        goto failed;
    }

    page->items = gwctl_page_buf(ctl, page, c);
    if (page->items == NULL) {
        goto failed;
    }

    n = 0;

    for (i = 0; i < set->elements && i < limit; i++) {
        if (set->element[i]->type == REDIS_REPLY_STRING
            && gw_model_id_valid(set->element[i]->str,
                                 set->element[i]->len))
        {
            ids[n++] = set->element[i]->str;
        }
    }

    if (set->elements > limit && n > 0) {
        page->next = ids[n - 1];
    }

    for (i = 0; i < n; i++) {
        if (gwctl_append(ctl, "HGETALL " GW_MODEL_CLIENT_PREFIX "%s", ids[i])
            != 0)
        {
            goto failed;
        }
    }

    for (i = 0; i < n; i++) {
        rec = gwctl_reply(ctl, "HGETALL");

        if (gwctl_page_reply(ctl, page, rec) != 0) {
            goto failed;
        }

        if (rec->type == REDIS_REPLY_ARRAY && rec->elements != 0) {
            gwctl_client_redis_rec(&c[page->n++], ids[i], rec);
        }
    }

    return 0;

failed:

    gwctl_page_free(page);

    return -1;
}


static int
gwctl_client_redis_status(gwctl_t *ctl, const char *id, const char *status,
    const char *done)
{
    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    return gwctl_client_change(ctl, id, done, "status", status, "status",
                               status, "status", status);
}
