
/*
 * Copyright (C) Tollgate
 *
 * Ingest: events from POST /v1/audit/events and from the gateways'
 * Redis stream, checked against the event contract (docs/audit.md),
 * stored once per event id, and acknowledged only once durable.
 *
 * A POST batch is all or nothing: every event is checked before any is
 * stored, and a bad one makes the whole batch a 400 naming its index.
 * The answer waits for the group commit that makes its records (or, for
 * a duplicate, the earlier record) durable.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "audit_svc.h"
#include "gw_jcs.h"


typedef struct {
    audit_waiter_t      w;
    gw_svc_req_t       *req;
    size_t              stored;
    size_t              dups;
    size_t              len;
    char                answer[];       /* "records":[...] */
} audit_post_t;


static void audit_post_done(audit_waiter_t *w, int ok);
static void audit_problem_errors(gw_svc_req_t *req, json_t *errors,
    const char *detail);
static int audit_id_valid(const char *id, size_t len);
static int audit_json_bound(json_t *v, int depth, size_t *size);


static int
audit_id_valid(const char *id, size_t len)
{
    size_t  i;

    if (len == 0 || len > AUDIT_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789._:-", id[i]) == NULL || id[i] == '\0')
        {
            return 0;
        }
    }

    return 1;
}


/*
 * What gw_jcs_encode() would refuse (nesting deeper than GW_JCS_MAX_DEPTH,
 * an integer beyond 2^53; jansson has checked the UTF-8), without
 * encoding: adds to *size an upper bound of the canonical length.
 */

static int
audit_json_bound(json_t *v, int depth, size_t *size)
{
    size_t       i, n;
    json_t      *m;
    json_int_t   iv;
    const char  *k, *p;

    switch (json_typeof(v)) {

    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth >= GW_JCS_MAX_DEPTH) {
            return -1;
        }

        *size += 2;

        if (json_is_array(v)) {
            json_array_foreach(v, i, m) {
                *size += 1;
                if (audit_json_bound(m, depth + 1, size) != 0) {
                    return -1;
                }
            }
            return 0;
        }

        json_object_foreach(v, k, m) {
            /* a name: quoted, at most 6 bytes per byte escaped */
            n = strlen(k);
            *size += 4 + n;
            for (p = k; *p != '\0'; p++) {
                if ((unsigned char) *p < 0x20 || *p == '"' || *p == '\\') {
                    *size += 5;
                }
            }
            if (audit_json_bound(m, depth + 1, size) != 0) {
                return -1;
            }
        }
        return 0;

    case JSON_STRING:
        n = json_string_length(v);
        p = json_string_value(v);
        *size += 2 + n;
        for (i = 0; i < n; i++) {
            if ((unsigned char) p[i] < 0x20 || p[i] == '"' || p[i] == '\\') {
                *size += 5;
            }
        }
        return 0;

    case JSON_INTEGER:
        iv = json_integer_value(v);
        if (iv > (1LL << 53) || iv < -(1LL << 53)) {
            return -1;
        }
        *size += 17;
        return 0;

    case JSON_REAL:
        *size += GW_JCS_NUMBER_LEN;
        return 0;

    default:
        *size += 5;
        return 0;
    }
}


int
audit_event_check(json_t *ev, const char **id, char *why, size_t len)
{
    size_t          i, n;
    json_t         *v;
    const char     *s;
    static const char  *strs[] = { "actor", "action", "resource", NULL };
    static const char  *opt[] = { "request_id", "route", "client", "source",
                                  NULL };

    if (!json_is_object(ev)) {
        snprintf(why, len, "an event is a JSON object");
        return -1;
    }

    v = json_object_get(ev, "id");
    if (!json_is_string(v)
        || !audit_id_valid(json_string_value(v), json_string_length(v)))
    {
        snprintf(why, len, "\"id\" must be 1 to 64 bytes of "
                 "[A-Za-z0-9._:-]");
        return -1;
    }

    *id = json_string_value(v);

    v = json_object_get(ev, "time");
    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) > (1LL << 53))
    {
        snprintf(why, len, "\"time\" must be an integer number of "
                 "milliseconds since the epoch");
        return -1;
    }

    for (i = 0; strs[i] != NULL; i++) {
        if (!json_is_string(json_object_get(ev, strs[i]))) {
            snprintf(why, len, "\"%s\" must be a string", strs[i]);
            return -1;
        }
    }

    v = json_object_get(ev, "status");
    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) > 999)
    {
        snprintf(why, len, "\"status\" must be an integer from 0 to 999");
        return -1;
    }

    for (i = 0; opt[i] != NULL; i++) {
        v = json_object_get(ev, opt[i]);
        if (v != NULL && !json_is_string(v)) {
            snprintf(why, len, "\"%s\" must be a string", opt[i]);
            return -1;
        }
    }

    v = json_object_get(ev, "latency_ms");
    if (v != NULL && !json_is_number(v)) {
        snprintf(why, len, "\"latency_ms\" must be a number");
        return -1;
    }

    v = json_object_get(ev, "auth");
    if (v != NULL) {
        s = json_string_value(v);
        if (s == NULL
            || (strcmp(s, "ok") != 0 && strcmp(s, "missing") != 0
                && strcmp(s, "invalid") != 0 && strcmp(s, "forbidden") != 0
                && strcmp(s, "none") != 0))
        {
            snprintf(why, len, "\"auth\" must be one of ok, missing, "
                     "invalid, forbidden, none");
            return -1;
        }
    }

    if (json_object_get(ev, "seq") != NULL
        || json_object_get(ev, "received") != NULL)
    {
        snprintf(why, len, "\"seq\" and \"received\" are added by the "
                 "service; an event must not carry them");
        return -1;
    }

    n = 0;

    if (audit_json_bound(ev, 0, &n) != 0) {
        snprintf(why, len, "cannot be canonicalized: nested deeper than %d "
                 "or an integer beyond 2^53", GW_JCS_MAX_DEPTH);
        return -1;
    }

    if (audit.svc != NULL
        && n + 64 > (size_t) gw_svc_conf_int(audit.svc, "event_max"))
    {
        snprintf(why, len, "larger than event_max once canonical");
        return -1;
    }

    return 0;
}


int
audit_event_store(json_t *ev, long long received, uint64_t *seq, int *dup)
{
    int             rc;
    size_t          n;
    uint64_t        s;
    json_t         *id;
    const char     *err;
    audit_ixrec_t   x;
    unsigned char  *out;

    id = json_object_get(ev, "id");

    s = audit_store_find(&audit.st, json_string_value(id),
                         json_string_length(id));
    if (s != 0) {
        *seq = s - 1;
        *dup = 1;
        return 0;
    }

    if (json_object_set_new(ev, "seq", json_integer(audit.st.size)) != 0
        || json_object_set_new(ev, "received", json_integer(received)) != 0)
    {
        snprintf(audit.st.err, sizeof(audit.st.err), "out of memory");
        return -1;
    }

    if (gw_jcs_encode(ev, &out, &n, &err) != 0) {
        snprintf(audit.st.err, sizeof(audit.st.err), "canonical form: %s",
                 err);
        return -1;
    }

    *seq = audit.st.size;
    *dup = 0;

    audit_index_extract(ev, &x);

    rc = audit_store_append(&audit.st, json_string_value(id),
                            json_string_length(id), out, n, &x);
    free(out);

    return rc;
}


/* ---- commits and waiters ---------------------------------------------- */

void
audit_wait(audit_waiter_t *w)
{
    if (audit.failed) {
        w->done(w, 0);
        return;
    }

    if (audit.st.durable >= w->need) {
        w->done(w, 1);
        return;
    }

    w->next = audit.waiters;
    audit.waiters = w;
}


static void
audit_fire_waiters(void)
{
    audit_waiter_t  *w, *next, *keep;

    w = audit.waiters;
    audit.waiters = NULL;
    keep = NULL;

    while (w != NULL) {
        next = w->next;

        if (audit.failed) {
            w->done(w, 0);

        } else if (audit.st.durable >= w->need) {
            w->done(w, 1);

        } else {
            w->next = keep;
            keep = w;
        }

        w = next;
    }

    /* waiters added by the callbacks above are kept too */

    while (keep != NULL) {
        next = keep->next;
        keep->next = audit.waiters;
        audit.waiters = keep;
        keep = next;
    }
}


static void
audit_commit_failed(void)
{
    audit.failed = 1;
    gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "commit failed",
               json_pack("{s:s}", "error", audit.st.err));
}


static void
audit_commit_observe(void)
{
    struct timespec  t1;

    if (audit.svc == NULL) {
        return;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);

    gw_svc_metric_add(audit.m_commits, 1);
    gw_svc_metric_observe(audit.m_commit_time,
                          (t1.tv_sec - audit.commit_t0.tv_sec)
                          + (t1.tv_nsec - audit.commit_t0.tv_nsec) / 1e9);
    gw_svc_metric_set(audit.m_records, (double) audit.st.durable);
}


int
audit_commit_start(void)
{
    if (audit.failed) {
        return -1;
    }

    if (!audit.st.async) {
        return audit_commit_sync();
    }

    if (audit.st.flight) {
        return 0;
    }

    if (audit.st.len == 0) {
        /* a synchronous commit (a segment rolling over) may have made
         * waiters' records durable already */
        audit_fire_waiters();
        return 0;
    }

    clock_gettime(CLOCK_MONOTONIC, &audit.commit_t0);

    if (audit_store_commit_start(&audit.st) != 0) {
        audit_commit_failed();
        audit_fire_waiters();
        return -1;
    }

    return 0;
}


void
audit_commit_finished(void)
{
    int  rc;

    rc = audit_store_commit_finish(&audit.st);

    if (rc < 0) {
        audit_commit_failed();

    } else if (rc > 0) {
        audit_commit_observe();
    }

    audit_fire_waiters();

    /* what was appended meanwhile goes next, for the requests waiting */

    if (!audit.failed && audit.st.len > 0) {
        audit_commit_start();
    }
}


int
audit_commit_sync(void)
{
    int  pending;

    pending = (audit.st.len > 0 || audit.st.flight);

    if (!audit.failed && pending) {
        clock_gettime(CLOCK_MONOTONIC, &audit.commit_t0);

        if (audit_store_commit(&audit.st) != 0) {
            audit_commit_failed();
        } else {
            audit_commit_observe();
        }
    }

    audit_fire_waiters();

    return audit.failed ? -1 : 0;
}


/* ---- POST /v1/audit/events -------------------------------------------- */

static void
audit_problem_errors(gw_svc_req_t *req, json_t *errors, const char *detail)
{
    gw_svc_reply_problem_extra(req, 400, "event-invalid", "Invalid event",
                               detail, json_pack("{s:o}", "errors",
                                                 errors));
}


void
audit_post_events(gw_svc_req_t *req, void *data)
{
    int            dup;
    char           why[256], msg[320], *p;
    size_t         len, i, n, stored, dups;
    json_t        *body, *events, *errors, *ev;
    uint64_t       seq, need;
    long long      now;
    const char    *text, *id;
    json_error_t   jerr;
    audit_post_t  *post;

    if (audit.failed) {
        gw_svc_reply_problem(req, 503, "store-failed", "Store failed",
                             "a write to the log failed; see the logs");
        return;
    }

    text = gw_svc_req_body(req, &len);
    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (body == NULL) {
        snprintf(msg, sizeof(msg), "the body is not JSON: %s (line %d, "
                 "column %d)", jerr.text, jerr.line, jerr.column);
        gw_svc_reply_problem(req, 400, "body-invalid", "Invalid body", msg);
        return;
    }

    if (json_is_object(body)) {
        events = json_pack("[O]", body);
        json_decref(body);
        body = events;
    }

    n = json_array_size(body);

    if (!json_is_array(body) || n == 0
        || n > (size_t) gw_svc_conf_int(audit.svc, "batch_max"))
    {
        json_decref(body);
        snprintf(msg, sizeof(msg), "the body is an event object or an "
                 "array of 1 to %lld events",
                 gw_svc_conf_int(audit.svc, "batch_max"));
        gw_svc_reply_problem(req, 400, "body-invalid", "Invalid body", msg);
        return;
    }

    errors = json_array();
    if (errors == NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        return;
    }

    json_array_foreach(body, i, ev) {
        if (audit_event_check(ev, &id, why, sizeof(why)) != 0) {
            json_array_append_new(errors,
                                  json_pack("{s:I, s:s, s:s}", "index",
                                            (json_int_t) i,
                                            "instanceLocation", "",
                                            "message", why));
            if (json_array_size(errors) >= 100) {
                break;
            }
        }
    }

    if (json_array_size(errors) > 0) {
        gw_svc_metric_add(audit.m_events, (double) n, "http", "rejected");
        snprintf(msg, sizeof(msg), "%zu of the %zu events break the event "
                 "contract; none was stored", json_array_size(errors), n);

        json_array_foreach(errors, i, ev) {
            snprintf(why, sizeof(why), "/%lld", (long long)
                     json_integer_value(json_object_get(ev, "index")));
            json_object_set_new(ev, "instanceLocation", json_string(why));
        }

        json_decref(body);
        audit_problem_errors(req, errors, msg);
        return;
    }

    json_decref(errors);

    post = calloc(1, sizeof(audit_post_t) + n * (AUDIT_ID_MAX + 64) + 160);

    if (post == NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        return;
    }

    /* the answer is written by hand: ids are [A-Za-z0-9._:-], no escapes */

    p = post->answer;
    p += sprintf(p, "\"records\":[");
    now = audit_now_ms();
    need = 0;
    stored = 0;
    dups = 0;

    json_array_foreach(body, i, ev) {
        if (audit_event_store(ev, now, &seq, &dup) != 0) {
            audit.failed = 1;
            gw_svc_log(audit.svc, GW_SVC_ERROR, req, "append failed",
                       json_pack("{s:s}", "error", audit.st.err));
            break;
        }

        if (seq + 1 > need) {
            need = seq + 1;
        }

        if (dup) {
            dups++;
        } else {
            stored++;
        }

        p += sprintf(p, "%s{\"id\":\"%s\",\"seq\":%llu,\"duplicate\":%s}",
                     i ? "," : "",
                     json_string_value(json_object_get(ev, "id")),
                     (unsigned long long) seq, dup ? "true" : "false");
    }

    json_decref(body);

    gw_svc_metric_add(audit.m_events, (double) stored, "http", "stored");
    gw_svc_metric_add(audit.m_events, (double) dups, "http", "duplicate");

    post->req = req;
    post->len = p - post->answer;
    post->stored = stored;
    post->dups = dups;
    post->w.need = need;
    post->w.done = audit_post_done;

    if (!audit.failed) {
        audit_schedule_commit();
    }

    audit_wait(&post->w);
}


static void
audit_post_done(audit_waiter_t *w, int ok)
{
    int            n;
    char           head[96];
    audit_post_t  *post;

    post = (audit_post_t *) w;

    if (!ok) {
        gw_svc_reply_problem(post->req, 503, "store-failed", "Store failed",
                             "the events could not be made durable");
        free(post);
        return;
    }

    /* {"stored":N,"duplicates":N, then the records and "]}" */

    n = snprintf(head, sizeof(head), "{\"stored\":%zu,\"duplicates\":%zu,",
                 post->stored, post->dups);
    memmove(post->answer + n, post->answer, post->len);
    memcpy(post->answer, head, n);
    memcpy(post->answer + n + post->len, "]}", 2);

    gw_svc_reply(post->req, 200, "application/json", post->answer,
                 n + post->len + 2);
    free(post);
}
