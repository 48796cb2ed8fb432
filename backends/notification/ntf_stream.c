
/*
 * Copyright (C) Tollgate
 *
 * Notifications from other services (the processing engine, workflows):
 * the stream gw:ntf:in (key "stream"), read through the consumer group
 * "notification", each entry's one field "notification" the JSON of a
 * POST body plus "owner".  Each entry is accepted like a POST
 * (ntf_accept.c) with the entry's id as its Idempotency-Key, then
 * acknowledged: an entry read again after a crash between the accept
 * script and the XACK replays its first acceptance and adds nothing.
 *
 * The reader polls on the kit's connection every poll ms (a blocking
 * read would hold the connection the API and the scheduler share), and
 * at once after a full batch was accepted, so a backlog is read at the
 * pace of its accepts: a
 * batch of new entries (XREADGROUP >), and every lease the entries
 * other consumers (dead instances, or an earlier run of this one) left
 * pending longer than a lease (XAUTOCLAIM), then deletes the consumers
 * left empty.  An entry that cannot be
 * accepted (a 4xx) is logged at info, copied with its error to
 * <stream>:rejected (capped) and acknowledged; one that met a failure
 * of ours (503) stays pending, to be claimed again.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntf_core.h"


#define NTF_GROUP           "notification"
#define NTF_REJECTED_MAX    "10000"


typedef enum {
    NTF_STREAM_GROUP = 0,
    NTF_STREAM_CLAIM,
    NTF_STREAM_NEW
} ntf_stream_phase_e;


typedef struct {
    char                    id[64];
    char                   *text;       /* the entry's "notification" */
} ntf_entry_t;


static void ntf_stream_tick(evutil_socket_t fd, short what, void *arg);
static void ntf_stream_grouped(redisAsyncContext *ac, void *r, void *data);
static void ntf_stream_read(redisAsyncContext *ac, void *r, void *data);
static void ntf_stream_consumers(redisAsyncContext *ac, void *r,
    void *data);
static void ntf_stream_entries(redisReply *entries);
static void ntf_stream_next(void);
static void ntf_stream_entry(redisReply *e);
static void ntf_stream_accepted(const ntf_accepted_t *res, void *data);
static void ntf_stream_end(ntf_entry_t *en, int ack, const char *pointer,
    const char *error);


static struct event        *ntf_stream_ev;
static ntf_stream_phase_e   ntf_stream_phase;
static int                  ntf_stream_busy;    /* a read or a batch */
static unsigned             ntf_stream_open;    /* entries being accepted */
static int                  ntf_stream_more;    /* the last read was full */
static long long            ntf_stream_claimed; /* ms of the last claim */
static char                 ntf_stream_cursor[64];
static const char          *ntf_stream_key;
static char                 ntf_stream_rejected[NTF_KEY_MAX];


int
ntf_stream_start(void)
{
    struct timeval  tv;

    ntf_stream_key = gw_svc_conf_str(ntf.svc, "stream");

    if (ntf_stream_key[0] == '\0') {
        return 0;
    }

    snprintf(ntf_stream_rejected, sizeof(ntf_stream_rejected),
             "%s:rejected", ntf_stream_key);

    ntf_stream_ev = event_new(ntf.base, -1, EV_PERSIST, ntf_stream_tick,
                              NULL);
    if (ntf_stream_ev == NULL) {
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                   "cannot start the stream reader", NULL);
        return -1;
    }

    tv.tv_sec = ntf.poll / 1000;
    tv.tv_usec = (ntf.poll % 1000) * 1000;

    return event_add(ntf_stream_ev, &tv);
}


void
ntf_stream_stop(void)
{
    if (ntf_stream_ev != NULL) {
        event_free(ntf_stream_ev);
        ntf_stream_ev = NULL;
    }
}


static void
ntf_stream_tick(evutil_socket_t fd, short what, void *arg)
{
    int                 rc;
    char                count[24], idle[24];
    redisAsyncContext  *ac;

    ac = gw_svc_redis(ntf.svc);

    if (ac == NULL) {
        ntf_stream_phase = NTF_STREAM_GROUP;
        return;
    }

    if (ntf.stopped || ntf_stream_busy || ntf_stream_open > 0) {
        return;
    }

    if (ntf_stream_phase == NTF_STREAM_NEW
        && ntf_now_ms() - ntf_stream_claimed >= ntf.lease)
    {
        ntf_stream_phase = NTF_STREAM_CLAIM;
        strcpy(ntf_stream_cursor, "0-0");
    }

    snprintf(count, sizeof(count), "%lld",
             gw_svc_conf_int(ntf.svc, "stream_batch"));
    snprintf(idle, sizeof(idle), "%lld", ntf.lease);

    switch (ntf_stream_phase) {

    case NTF_STREAM_GROUP:
        rc = redisAsyncCommand(ac, ntf_stream_grouped, NULL,
                               "XGROUP CREATE %s " NTF_GROUP " 0 MKSTREAM",
                               ntf_stream_key);
        break;

    case NTF_STREAM_CLAIM:
        rc = redisAsyncCommand(ac, ntf_stream_read, NULL,
                               "XAUTOCLAIM %s " NTF_GROUP " %s %s %s "
                               "COUNT %s", ntf_stream_key, ntf.instance,
                               idle, ntf_stream_cursor, count);
        break;

    default:
        rc = redisAsyncCommand(ac, ntf_stream_read, NULL,
                               "XREADGROUP GROUP " NTF_GROUP " %s COUNT %s "
                               "STREAMS %s >", ntf.instance, count,
                               ntf_stream_key);
        break;
    }

    if (rc == REDIS_OK) {
        ntf_stream_busy = 1;
    }
}


static void
ntf_stream_grouped(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;
    ntf_stream_busy = 0;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        gw_svc_log(ntf.svc, GW_SVC_WARN, NULL,
                   "cannot create the stream's group",
                   json_pack("{s:s, s:o}", "stream", ntf_stream_key,
                             "error", gw_svc_json_string(reply->str)));
        return;
    }

    ntf_stream_phase = NTF_STREAM_CLAIM;
    strcpy(ntf_stream_cursor, "0-0");
}


/* XAUTOCLAIM's {cursor, entries, deleted} or XREADGROUP's {{key, entries}} */

static void
ntf_stream_read(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply, *entries;

    reply = r;
    ntf_stream_busy = 0;

    if (reply == NULL || ntf.stopped) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            ntf_stream_phase = NTF_STREAM_GROUP;

        } else {
            gw_svc_log(ntf.svc, GW_SVC_WARN, NULL, "cannot read the stream",
                       json_pack("{s:s, s:o}", "stream", ntf_stream_key,
                                 "error", gw_svc_json_string(reply->str)));
        }

        return;
    }

    if (ntf_stream_phase == NTF_STREAM_CLAIM) {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[0]->len >= sizeof(ntf_stream_cursor))
        {
            ntf_stream_phase = NTF_STREAM_NEW;
            ntf_stream_claimed = ntf_now_ms();
            return;
        }

        memcpy(ntf_stream_cursor, reply->element[0]->str,
               reply->element[0]->len + 1);

        if (strcmp(ntf_stream_cursor, "0-0") == 0) {
            ntf_stream_phase = NTF_STREAM_NEW;
            ntf_stream_claimed = ntf_now_ms();

            redisAsyncCommand(ac, ntf_stream_consumers, NULL,
                              "XINFO CONSUMERS %s " NTF_GROUP,
                              ntf_stream_key);
        }

        entries = reply->element[1];

    } else {
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1
            || reply->element[0]->type != REDIS_REPLY_ARRAY
            || reply->element[0]->elements < 2)
        {
            return;
        }

        entries = reply->element[0]->element[1];
    }

    ntf_stream_entries(entries);
}


/*
 * Every instance's run is a consumer of its own (its name ends in its
 * pid): once the claim has taken their entries, consumers with none
 * pending and idle for a lease are deleted, so that restarts do not pile
 * them up.  A live one deleted so comes back at its next read.
 */

static void
ntf_stream_consumers(redisAsyncContext *ac, void *r, void *data)
{
    size_t        i, k;
    long long     pending, idle;
    const char   *name;
    redisReply   *reply, *c;

    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || ntf.stopped) {
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        c = reply->element[i];
        name = NULL;
        pending = -1;
        idle = -1;

        for (k = 0; c->type == REDIS_REPLY_ARRAY && k + 1 < c->elements;
             k += 2)
        {
            if (c->element[k]->type != REDIS_REPLY_STRING) {
                continue;
            }

            if (strcmp(c->element[k]->str, "name") == 0
                && c->element[k + 1]->type == REDIS_REPLY_STRING)
            {
                name = c->element[k + 1]->str;

            } else if (strcmp(c->element[k]->str, "pending") == 0
                       && c->element[k + 1]->type == REDIS_REPLY_INTEGER)
            {
                pending = c->element[k + 1]->integer;

            } else if (strcmp(c->element[k]->str, "idle") == 0
                       && c->element[k + 1]->type == REDIS_REPLY_INTEGER)
            {
                idle = c->element[k + 1]->integer;
            }
        }

        if (name != NULL && pending == 0 && idle >= ntf.lease
            && strcmp(name, ntf.instance) != 0)
        {
            redisAsyncCommand(ac, NULL, NULL,
                              "XGROUP DELCONSUMER %s " NTF_GROUP " %s",
                              ntf_stream_key, name);
        }
    }
}


static void
ntf_stream_entries(redisReply *entries)
{
    size_t  i;

    if (entries->type != REDIS_REPLY_ARRAY) {
        return;
    }

    ntf_stream_more = (long long) entries->elements
                      >= gw_svc_conf_int(ntf.svc, "stream_batch");

    /* the next read waits for this batch: ntf_stream_open */

    ntf_stream_open++;

    for (i = 0; i < entries->elements; i++) {
        ntf_stream_entry(entries->element[i]);
    }

    ntf_stream_open--;
    ntf_stream_next();
}


/* a full batch all accepted: the next read now, not at the next poll */

static void
ntf_stream_next(void)
{
    if (ntf_stream_open == 0 && ntf_stream_more && !ntf.stopped
        && ntf_stream_ev != NULL)
    {
        ntf_stream_more = 0;
        event_active(ntf_stream_ev, EV_TIMEOUT, 0);
    }
}


static void
ntf_stream_entry(redisReply *e)
{
    char          idem[NTF_IDEM_LEN + 1], *text;
    size_t        k;
    json_t       *request, *owner;
    redisReply   *fields;
    ntf_entry_t  *en;
    json_error_t  jerr;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
        || e->element[0]->type != REDIS_REPLY_STRING
        || e->element[0]->len >= sizeof(en->id))
    {
        return;
    }

    en = calloc(1, sizeof(ntf_entry_t));
    if (en == NULL) {
        return;
    }

    memcpy(en->id, e->element[0]->str, e->element[0]->len + 1);
    fields = e->element[1];
    text = NULL;

    for (k = 0; fields->type == REDIS_REPLY_ARRAY
                && k + 1 < fields->elements; k += 2)
    {
        if (fields->element[k]->type == REDIS_REPLY_STRING
            && fields->element[k + 1]->type == REDIS_REPLY_STRING
            && strcmp(fields->element[k]->str, "notification") == 0)
        {
            text = fields->element[k + 1]->str;
        }
    }

    if (text == NULL) {
        ntf_stream_end(en, 1, "", "no field \"notification\"");
        return;
    }

    en->text = strdup(text);
    if (en->text == NULL) {
        free(en);
        return;
    }

    request = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (request == NULL) {
        ntf_stream_end(en, 1, "", "not JSON");
        return;
    }

    owner = json_object_get(request, "owner");

    if (!ntf_check_owner(owner)) {
        json_decref(request);
        ntf_stream_end(en, 1, "/owner", "owner must be 1 to 255 bytes, "
                       "no control byte");
        return;
    }

    owner = json_incref(owner);
    json_object_del(request, "owner");

    if (ntf_idem_key(json_string_value(owner), en->id, strlen(en->id), idem)
        != 0)
    {
        json_decref(owner);
        json_decref(request);
        ntf_stream_end(en, 0, "", "out of memory");
        return;
    }

    ntf_stream_open++;

    /* the stream's writers are the platform's services: any channel */

    ntf_accept(json_string_value(owner), 1, request, idem, NULL,
               ntf_stream_accepted, en);

    json_decref(owner);
    json_decref(request);
}


static void
ntf_stream_accepted(const ntf_accepted_t *res, void *data)
{
    ntf_entry_t  *en;

    en = data;
    ntf_stream_open--;
    ntf_stream_next();

    if (res->status == 202) {
        ntf_stream_end(en, 1, NULL, NULL);
        return;
    }

    if (res->status >= 500) {
        gw_svc_log(ntf.svc, GW_SVC_WARN, NULL,
                   "cannot accept a stream entry",
                   json_pack("{s:s, s:o}", "entry", en->id, "error",
                             gw_svc_json_string(res->error)));
        ntf_stream_end(en, 0, NULL, NULL);
        return;
    }

    ntf_stream_end(en, 1, res->pointer, res->error);
}


/*
 * The entry's end: acknowledged (ack), after its copy to the rejected
 * stream when error is not NULL.
 */

static void
ntf_stream_end(ntf_entry_t *en, int ack, const char *pointer,
    const char *error)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(ntf.svc);

    if (error != NULL) {
        gw_svc_log(ntf.svc, GW_SVC_INFO, NULL, "stream entry rejected",
                   json_pack("{s:s, s:o, s:o}", "entry", en->id,
                             "pointer", gw_svc_json_string(pointer),
                             "error", gw_svc_json_string(error)));

        if (ac != NULL) {
            redisAsyncCommand(ac, NULL, NULL,
                              "XADD %s MAXLEN ~ " NTF_REJECTED_MAX " * "
                              "entry %s pointer %s error %s "
                              "notification %s", ntf_stream_rejected,
                              en->id, pointer, error,
                              en->text != NULL ? en->text : "");
        }
    }

    if (ack && ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL, "XACK %s " NTF_GROUP " %s",
                          ntf_stream_key, en->id);
    }

    free(en->text);
    free(en);
}
