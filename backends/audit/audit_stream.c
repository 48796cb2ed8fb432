
/*
 * Copyright (C) Tollgate
 *
 * The audit service's reader of the gateways' Redis stream (gw:audit).
 *
 * The stream is read through consumer group "audit": first this
 * consumer's own pending entries (read from id 0: what a previous run
 * read but did not acknowledge), then entries of dead consumers idle
 * longer than claim_idle (XAUTOCLAIM, again every claim_idle), then new
 * entries with a blocking XREADGROUP.  Each batch read is stored and
 * committed at once, then acknowledged with one XACK: an entry is never
 * acknowledged before its record is on disk, and a redelivered one is a
 * duplicate.  An entry that breaks the contract is copied to the dead
 * letter stream with the reason, then acknowledged, so that the stream
 * never wedges on it.  The read blocks at most stream_block, which the
 * kit's health PING (sent on the same connection) has to wait for: keep
 * it below redis_retry.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "audit_svc.h"
#include "gw_jcs.h"


typedef struct {
    audit_waiter_t      w;
    size_t              argc;
    const char        **argv;           /* XACK stream group id... */
    size_t             *argl;
} audit_ack_t;


static void audit_group_done(redisAsyncContext *ac, void *r, void *data);
static void audit_read_done(redisAsyncContext *ac, void *r, void *data);
static void audit_reply_logged(redisAsyncContext *ac, void *r, void *data);
static int audit_stream_entries(redisReply *entries);
static void audit_stream_acked(audit_waiter_t *w, int ok);
static uint64_t audit_stream_entry(redisReply *e);


void
audit_stream_kick(void)
{
    int                 rc;
    gw_svc_t           *svc;
    redisAsyncContext  *ac;

    svc = audit.svc;

    if (audit.busy || audit.failed || !audit.open || audit.stopped
        || strcmp(gw_svc_conf_str(svc, "stream_ingest"), "on") != 0)
    {
        return;
    }

    ac = gw_svc_redis(svc);
    if (ac == NULL) {
        audit.phase = AUDIT_PHASE_GROUP;
        return;
    }

    /* dead consumers' entries: claimed again every claim_idle */

    if (audit.phase == AUDIT_PHASE_NEW
        && audit.claim_elapsed >= gw_svc_conf_int(svc, "claim_idle"))
    {
        audit.phase = AUDIT_PHASE_CLAIM;
        strcpy(audit.cursor, "0-0");
    }

    switch (audit.phase) {

    case AUDIT_PHASE_GROUP:
        rc = redisAsyncCommand(ac, audit_group_done, NULL,
                               "XGROUP CREATE %s %s 0 MKSTREAM",
                               gw_svc_conf_str(svc, "stream"),
                               gw_svc_conf_str(svc, "group"));
        break;

    case AUDIT_PHASE_OWN:
        rc = redisAsyncCommand(ac, audit_read_done, NULL,
                               "XREADGROUP GROUP %s %s COUNT %lld "
                               "STREAMS %s %s",
                               gw_svc_conf_str(svc, "group"), audit.consumer,
                               gw_svc_conf_int(svc, "stream_count"),
                               gw_svc_conf_str(svc, "stream"), audit.cursor);
        break;

    case AUDIT_PHASE_CLAIM:
        rc = redisAsyncCommand(ac, audit_read_done, NULL,
                               "XAUTOCLAIM %s %s %s %lld %s COUNT %lld",
                               gw_svc_conf_str(svc, "stream"),
                               gw_svc_conf_str(svc, "group"), audit.consumer,
                               gw_svc_conf_int(svc, "claim_idle"),
                               audit.cursor,
                               gw_svc_conf_int(svc, "stream_count"));
        break;

    default:
        rc = redisAsyncCommand(ac, audit_read_done, NULL,
                               "XREADGROUP GROUP %s %s COUNT %lld BLOCK %lld "
                               "STREAMS %s >",
                               gw_svc_conf_str(svc, "group"), audit.consumer,
                               gw_svc_conf_int(svc, "stream_count"),
                               gw_svc_conf_int(svc, "stream_block"),
                               gw_svc_conf_str(svc, "stream"));
        break;
    }

    if (rc == REDIS_OK) {
        audit.busy = 1;
    }
}


static void
audit_group_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;
    audit.busy = 0;

    if (reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "cannot create the group",
                   json_pack("{s:o}", "error",
                             gw_svc_json_string(reply->str)));
        return;
    }

    audit.phase = AUDIT_PHASE_OWN;
    strcpy(audit.cursor, "0");

    audit_stream_kick();
}


static void
audit_reply_logged(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, data,
                   json_pack("{s:o}", "error",
                             gw_svc_json_string(reply->str)));
    }
}


static void
audit_read_done(redisAsyncContext *ac, void *r, void *data)
{
    int          phase;
    size_t       i;
    redisReply  *reply, *entries, *e;
    const char  *last;

    reply = r;
    audit.busy = 0;

    if (reply == NULL) {
        /* the connection dropped: start again from our own pending */
        audit.phase = AUDIT_PHASE_GROUP;
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        gw_svc_log(audit.svc, GW_SVC_WARN, NULL, "stream read failed",
                   json_pack("{s:o}", "error",
                             gw_svc_json_string(reply->str)));
        audit.phase = AUDIT_PHASE_GROUP;
        return;
    }

    phase = audit.phase;
    entries = NULL;

    if (phase == AUDIT_PHASE_CLAIM) {
        /* [next cursor, entries, deleted ids] */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
            || reply->element[0]->type != REDIS_REPLY_STRING)
        {
            audit.phase = AUDIT_PHASE_NEW;
            audit.claim_elapsed = 0;
            return;
        }
        entries = reply->element[1];

    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
               && reply->element[0]->type == REDIS_REPLY_ARRAY
               && reply->element[0]->elements == 2)
    {
        /* [[stream, entries]] */
        entries = reply->element[0]->element[1];
    }

    last = NULL;

    if (entries != NULL && entries->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < entries->elements; i++) {
            e = entries->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1
                && e->element[0]->type == REDIS_REPLY_STRING)
            {
                last = e->element[0]->str;
            }
        }
    }

    /* where the next read starts */

    if (phase == AUDIT_PHASE_OWN) {
        if (last == NULL) {
            audit.phase = AUDIT_PHASE_CLAIM;
            strcpy(audit.cursor, "0-0");
        } else {
            snprintf(audit.cursor, sizeof(audit.cursor), "%s", last);
        }

    } else if (phase == AUDIT_PHASE_CLAIM) {
        snprintf(audit.cursor, sizeof(audit.cursor), "%s",
                 reply->element[0]->str);

        if (strcmp(audit.cursor, "0-0") == 0) {
            audit.phase = AUDIT_PHASE_NEW;
            audit.claim_elapsed = 0;
        }
    }

    if (last == NULL) {
        audit_stream_kick();
        return;
    }

    /* busy until the batch is acknowledged: audit_stream_acked() */

    audit.busy = 1;

    if (audit_stream_entries(entries) != 0) {
        /* the store failed: no XACK; redelivered after a restart */
        audit.busy = 0;
    }
}


/*
 * Stores a batch of entries and has them all acknowledged with one XACK
 * once the commit that holds their records (or the earlier records of
 * duplicates) is over.  0, or -1 when the store failed.
 */

static int
audit_stream_entries(redisReply *entries)
{
    size_t        i, n, argc, len;
    uint64_t      need, seq;
    redisReply   *e;
    audit_ack_t  *ack;

    n = entries->elements;
    need = 0;
    len = 0;

    for (i = 0; i < n; i++) {
        e = entries->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1
            || e->element[0]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        seq = audit_stream_entry(e);

        if (audit.failed) {
            return -1;
        }

        if (seq != UINT64_MAX && seq + 1 > need) {
            need = seq + 1;
        }

        len += e->element[0]->len + 1;
    }

    /* the ids to acknowledge, copied: the reply is freed on return */

    ack = malloc(sizeof(audit_ack_t) + (n + 3) * sizeof(char *)
                 + (n + 3) * sizeof(size_t) + len);
    if (ack == NULL) {
        return -1;
    }

    ack->argv = (const char **) (ack + 1);
    ack->argl = (size_t *) (ack->argv + n + 3);
    ack->argv[0] = "XACK";
    ack->argv[1] = gw_svc_conf_str(audit.svc, "stream");
    ack->argv[2] = gw_svc_conf_str(audit.svc, "group");
    argc = 3;
    len = 0;

    for (i = 0; i < 3; i++) {
        ack->argl[i] = strlen(ack->argv[i]);
    }

    for (i = 0; i < n; i++) {
        e = entries->element[i];

        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1
            && e->element[0]->type == REDIS_REPLY_STRING)
        {
            ack->argv[argc] = (char *) (ack->argl + n + 3) + len;
            memcpy((char *) ack->argv[argc], e->element[0]->str,
                   e->element[0]->len + 1);
            ack->argl[argc] = e->element[0]->len;
            len += e->element[0]->len + 1;
            argc++;
        }
    }

    ack->argc = argc;
    ack->w.need = need;
    ack->w.done = audit_stream_acked;

    /* a batch from the stream is a group of its own: commit it now */

    if (audit.st.durable < need) {
        audit_commit_start();
    }

    audit_wait(&ack->w);

    return 0;
}


static void
audit_stream_acked(audit_waiter_t *w, int ok)
{
    audit_ack_t        *ack;
    redisAsyncContext  *ac;

    ack = (audit_ack_t *) w;
    ac = gw_svc_redis(audit.svc);

    if (ok && ac != NULL && !audit.stopped) {
        redisAsyncCommandArgv(ac, audit_reply_logged, "XACK failed",
                              (int) ack->argc, ack->argv, ack->argl);
    }

    free(ack);
    audit.busy = 0;

    if (ok) {
        audit_stream_kick();
    }
}


/*
 * One stream entry: [id, [field, value, ...]] (fields nil if deleted).
 * Its record index (new or earlier), or UINT64_MAX when nothing was
 * stored (a deleted entry, a dead letter, a failed store).
 */

static uint64_t
audit_stream_entry(redisReply *e)
{
    redisAsyncContext  *ac;

    int           dup;
    char          why[256];
    size_t        i;
    json_t       *ev;
    uint64_t      seq;
    redisReply   *f, *value;
    const char   *id;
    json_error_t  jerr;

    value = NULL;
    ev = NULL;

    if (e->elements < 2 || e->element[1]->type != REDIS_REPLY_ARRAY) {
        /* deleted from the stream while pending: nothing to store */
        return UINT64_MAX;
    }

    f = e->element[1];

    for (i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type == REDIS_REPLY_STRING
            && strcmp(f->element[i]->str, "event") == 0
            && f->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            value = f->element[i + 1];
            break;
        }
    }

    if (value == NULL) {
        snprintf(why, sizeof(why), "no \"event\" field");
        goto dead;
    }

    if (value->len > GW_JCS_MAX_LEN) {
        snprintf(why, sizeof(why), "larger than %d bytes", GW_JCS_MAX_LEN);
        goto dead;
    }

    ev = json_loadb(value->str, value->len, JSON_REJECT_DUPLICATES, &jerr);
    if (ev == NULL) {
        snprintf(why, sizeof(why), "not JSON: %s", jerr.text);
        goto dead;
    }

    if (audit_event_check(ev, &id, why, sizeof(why)) != 0) {
        goto dead;
    }

    if (audit_event_store(ev, audit_now_ms(), &seq, &dup) != 0) {
        audit.failed = 1;
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "append failed",
                   json_pack("{s:s}", "error", audit.st.err));
        json_decref(ev);
        return UINT64_MAX;
    }

    gw_svc_metric_add(audit.m_events, 1, "stream",
                      dup ? "duplicate" : "stored");
    json_decref(ev);
    return seq;

dead:

    json_decref(ev);
    gw_svc_metric_add(audit.m_events, 1, "stream", "rejected");
    gw_svc_log(audit.svc, GW_SVC_WARN, NULL, "event rejected",
               json_pack("{s:s, s:o}", "entry", e->element[0]->str,
                         "error", gw_svc_json_string(why)));

    ac = gw_svc_redis(audit.svc);
    if (ac == NULL) {
        return UINT64_MAX;
    }

    redisAsyncCommand(ac, audit_reply_logged, "dead-letter XADD failed",
                      "XADD %s MAXLEN ~ %lld * event %b error %s entry %s",
                      gw_svc_conf_str(audit.svc, "dead_stream"),
                      gw_svc_conf_int(audit.svc, "dead_maxlen"),
                      value != NULL ? value->str : "",
                      value != NULL ? value->len : (size_t) 0, why,
                      e->element[0]->str);

    return UINT64_MAX;
}
