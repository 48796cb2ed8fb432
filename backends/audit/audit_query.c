
/*
 * Copyright (C) Tollgate
 *
 * The audit service's query API: the records themselves.
 *
 *   GET  /v1/audit/records?actor=&action=&resource=&status=&from=&to=
 *                          &cursor=&limit=
 *   GET  /v1/audit/records/<index>
 *
 * Queries read the durable records in index order from the cursor, a page
 * at a time (limit, at most query_page_max), looking at most
 * query_scan_max records per request: memory stays a page and a read
 * buffer, however large the log.  Every record goes out as its stored
 * canonical bytes, spliced into the answer, never parsed and written
 * again: the reader sees exactly what was hashed.  Filters read a record
 * in a mode no record the service wrote can fail (every number a
 * double); one that still cannot be read (damaged bytes with their CRC
 * fixed, which `verify` names) is served in its place with its bytes as
 * a string, and logged, never left out.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "audit_svc.h"
#include "gw_b64std.h"


typedef struct {
    char      *p;
    size_t     len;
    size_t     cap;
    int        oom;
} audit_buf_t;


static void audit_buf_add(audit_buf_t *b, const void *p, size_t len);
static void audit_buf_json(audit_buf_t *b, json_t *json);
static json_t *audit_record_load(const audit_rec_t *r, char *why,
    size_t len);
static json_t *audit_record_unreadable(const audit_rec_t *r,
    const char *why);
static void audit_record_bad_log(gw_svc_req_t *req, uint64_t seq,
    uint64_t count, const char *why);
static int audit_member_is(json_t *rec, const char *name, const char *want);
static void audit_record_one(gw_svc_req_t *req, const char *s);


static void
audit_buf_add(audit_buf_t *b, const void *p, size_t len)
{
    size_t   cap;
    char    *n;

    if (b->oom) {
        return;
    }

    if (b->len + len > b->cap) {
        cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len) {
            cap *= 2;
        }
        n = realloc(b->p, cap);
        if (n == NULL) {
            b->oom = 1;
            return;
        }
        b->p = n;
        b->cap = cap;
    }

    memcpy(b->p + b->len, p, len);
    b->len += len;
}


/*
 * A stored record read as JSON in a mode no record the service wrote can
 * fail: every number as a double (the canonical form writes 1e20 as 21
 * digits, past what a 64-bit integer holds) and U+0000 allowed.  NULL,
 * with why, only for damaged bytes (a record changed and its CRC fixed).
 */

static json_t *
audit_record_load(const audit_rec_t *r, char *why, size_t len)
{
    json_t        *rec;
    json_error_t   jerr;

    rec = json_loadb((const char *) r->rec, r->rec_len,
                     JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);

    if (rec == NULL) {
        snprintf(why, len, "not JSON: %s", jerr.text);
        return NULL;
    }

    if (!json_is_object(rec)) {
        snprintf(why, len, "not a JSON object");
        json_decref(rec);
        return NULL;
    }

    return rec;
}


/*
 * What stands for a record that audit_record_load() cannot read, in a
 * listing and by index, so that it is never left out:
 * {"seq":i,"record":null,"record_error":why,"canonical":text}, with
 * "canonical_base64" instead of "canonical" when the bytes are not UTF-8.
 */

static json_t *
audit_record_unreadable(const audit_rec_t *r, const char *why)
{
    char    *b64;
    json_t  *o, *text;

    o = json_pack("{s:I, s:n, s:s}", "seq", (json_int_t) r->seq, "record",
                  "record_error", why);
    if (o == NULL) {
        return NULL;
    }

    text = json_stringn((const char *) r->rec, r->rec_len);

    if (text != NULL) {
        if (json_object_set_new(o, "canonical", text) != 0) {
            goto failed;
        }
        return o;
    }

    b64 = malloc(gw_b64std_encoded_len(r->rec_len) + 1);
    if (b64 == NULL) {
        goto failed;
    }

    b64[gw_b64std_encode((unsigned char *) b64, r->rec, r->rec_len)] = '\0';
    text = json_string(b64);
    free(b64);

    if (json_object_set_new(o, "canonical_base64", text) == 0) {
        return o;
    }

failed:

    json_decref(o);
    return NULL;
}


static void
audit_record_bad_log(gw_svc_req_t *req, uint64_t seq, uint64_t count,
    const char *why)
{
    gw_svc_log(audit.svc, GW_SVC_ERROR, req, "stored record is not JSON",
               json_pack("{s:I, s:I, s:s, s:s}", "seq", (json_int_t) seq,
                         "count", (json_int_t) count, "error", why,
                         "hint", "run audit verify on the data folder"));
}


/* the bytes of json as JSON text, appended to b */

static void
audit_buf_json(audit_buf_t *b, json_t *json)
{
    char  *s;

    s = (json != NULL) ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY)
                       : NULL;
    json_decref(json);

    if (s == NULL) {
        b->oom = 1;
        return;
    }

    audit_buf_add(b, s, strlen(s));
    free(s);
}


/* 1 when rec's member name is the string want, exactly */

static int
audit_member_is(json_t *rec, const char *name, const char *want)
{
    json_t  *v;

    v = json_object_get(rec, name);

    return json_is_string(v) && json_string_length(v) == strlen(want)
           && memcmp(json_string_value(v), want, strlen(want)) == 0;
}


/*
 * GET /v1/audit/records/<index>: "record" is the stored canonical bytes
 * themselves, spliced into the answer (never parsed and written again),
 * so that the reader sees exactly what was hashed.
 */

static void
audit_record_one(gw_svc_req_t *req, const char *s)
{
    char             why[200], b64[64], text[96];
    char            *end;
    json_t          *rec;
    uint64_t         seq;
    audit_rec_t      r;
    audit_buf_t      b;
    audit_reader_t   rd;

    seq = strtoull(s, &end, 10);

    if (s[0] < '0' || s[0] > '9' || *end != '\0' || strlen(s) > 19
        || seq >= audit.st.durable)
    {
        gw_svc_reply_problem(req, 404, "record-not-found",
                             "Record not found", "no durable record has "
                             "this index");
        return;
    }

    if (audit_reader_open(&rd, &audit.st, seq, seq + 1) != 0
        || audit_reader_next(&rd, &r) != 1)
    {
        audit_reader_close(&rd);
        gw_svc_reply_problem(req, 500, "read-failed", "Read failed",
                             audit.st.err);
        return;
    }

    memset(&b, 0, sizeof(b));
    b64[gw_b64std_encode((unsigned char *) b64, r.chain,
                         GW_MERKLE_HASH_LEN)] = '\0';

    rec = audit_record_load(&r, why, sizeof(why));

    if (rec == NULL) {
        audit_record_bad_log(req, seq, 1, why);
        rec = audit_record_unreadable(&r, why);
        if (rec != NULL
            && json_object_set_new(rec, "chain", json_string(b64)) != 0)
        {
            json_decref(rec);
            rec = NULL;
        }
        audit_buf_json(&b, rec);

    } else {
        json_decref(rec);
        audit_buf_add(&b, text, snprintf(text, sizeof(text),
                                         "{\"seq\":%llu,\"record\":",
                                         (unsigned long long) seq));
        audit_buf_add(&b, r.rec, r.rec_len);
        audit_buf_add(&b, text, snprintf(text, sizeof(text),
                                         ",\"chain\":\"%s\",\"canonical\":",
                                         b64));
        audit_buf_json(&b, json_stringn((const char *) r.rec, r.rec_len));
        audit_buf_add(&b, "}", 1);
    }

    audit_reader_close(&rd);

    if (b.oom) {
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
    } else {
        gw_svc_reply(req, 200, "application/json", b.p, b.len);
    }

    free(b.p);
}


void
audit_records(gw_svc_req_t *req, void *data)
{
    int               rc, match, indexed;
    char              num[48], why[200], first_why[200];
    size_t            got;
    json_t           *rec, *v;
    uint64_t          cursor, limit, status, from, to, scanned, next;
    uint64_t          scan_max, bad, first_bad, seq;
    const char       *path, *actor, *action, *resource, *query;
    audit_rec_t       r;
    audit_buf_t       b;
    audit_ixq_t       ixq;
    audit_reader_t    rd;
    struct evkeyvalq  q;
    static const char  *keys[] = { "actor", "action", "resource", "status",
                                   "from", "to", "cursor", "limit", NULL };

    path = gw_svc_req_path(req);

    if (strncmp(path, "/v1/audit/records/", 18) == 0) {
        audit_record_one(req, path + 18);
        return;
    }

    if (strcmp(path, "/v1/audit/records") != 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found", NULL);
        return;
    }

    TAILQ_INIT(&q);
    query = gw_svc_req_query(req);

    if (evhttp_parse_query_str(query != NULL ? query : "", &q) != 0) {
        gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                             "the query string is malformed");
        return;
    }

    memset(&b, 0, sizeof(b));

    if (audit_query_known(req, &q, keys) != 0) {
        goto done;
    }

    if (audit_query_u64(&q, "cursor", 0, &cursor) < 0
        || audit_query_u64(&q, "limit", 100, &limit) < 0
        || audit_query_u64(&q, "status", UINT64_MAX, &status) < 0
        || audit_query_u64(&q, "from", 0, &from) < 0
        || audit_query_u64(&q, "to", UINT64_MAX, &to) < 0
        || limit == 0
        || limit > (uint64_t) gw_svc_conf_int(audit.svc, "query_page_max"))
    {
        gw_svc_reply_problem(req, 400, "query-invalid", "Invalid query",
                             "cursor, status, from and to are decimal "
                             "integers, limit 1 to query_page_max");
        goto done;
    }

    actor = evhttp_find_header(&q, "actor");
    action = evhttp_find_header(&q, "action");
    resource = evhttp_find_header(&q, "resource");

    /* with a filter, the indexes give the candidates, read one by one;
     * without, every record is read in turn */

    audit_ixq_init(&ixq, &audit.st, cursor);

    if (actor != NULL) {
        ixq.keys[ixq.nkeys++] = audit_index_key(0, actor, strlen(actor));
    }
    if (action != NULL) {
        ixq.keys[ixq.nkeys++] = audit_index_key(1, action, strlen(action));
    }
    if (resource != NULL) {
        ixq.keys[ixq.nkeys++] = audit_index_key(2, resource,
                                                strlen(resource));
    }
    if (status != UINT64_MAX) {
        ixq.keys[ixq.nkeys++] = audit_index_status_key((double) status);
    }
    if (from > 0 || to != UINT64_MAX) {
        ixq.timed = 1;
        ixq.from = (double) from;
        ixq.to = (to == UINT64_MAX) ? ixq.to : (double) to;
    }

    indexed = (ixq.nkeys > 0 || ixq.timed);

    if (audit_reader_open(&rd, &audit.st, indexed ? audit.st.durable : cursor,
                          audit.st.durable) != 0)
    {
        audit_reader_close(&rd);
        gw_svc_reply_problem(req, 500, "read-failed", "Read failed",
                             audit.st.err);
        goto done;
    }

    rd.end = audit.st.durable;

    scan_max = gw_svc_conf_int(audit.svc, "query_scan_max");
    scanned = 0;
    got = 0;
    next = UINT64_MAX;
    bad = 0;
    first_bad = 0;

    audit_buf_add(&b, "{\"records\":[", 12);

    for ( ;; ) {
        if (!indexed) {
            rc = audit_reader_next(&rd, &r);

        } else {
            rc = audit_ixq_next(&ixq, &seq);
            if (rc == 1) {
                rc = audit_reader_seek(&rd, seq, &r);
            }
        }

        if (rc != 1) {
            break;
        }

        scanned++;

        /* a record that cannot be read matches every filter: a damaged
         * record is shown, never hidden */

        rec = audit_record_load(&r, why, sizeof(why));
        match = 1;

        if (rec != NULL) {
            match = (actor == NULL || audit_member_is(rec, "actor", actor))
                    && (action == NULL
                        || audit_member_is(rec, "action", action))
                    && (resource == NULL
                        || audit_member_is(rec, "resource", resource));

            if (match && status != UINT64_MAX) {
                v = json_object_get(rec, "status");
                match = json_is_number(v)
                        && json_number_value(v) == (double) status;
            }

            if (match && (from > 0 || to != UINT64_MAX)) {
                v = json_object_get(rec, "time");
                match = json_is_number(v) && json_number_value(v) >= from
                        && json_number_value(v) < to;
            }
        }

        if (match) {
            if (got > 0) {
                audit_buf_add(&b, ",", 1);
            }

            if (rec != NULL) {
                audit_buf_add(&b, r.rec, r.rec_len);

            } else {
                if (bad++ == 0) {
                    first_bad = r.seq;
                    memcpy(first_why, why, sizeof(why));
                }
                audit_buf_json(&b, audit_record_unreadable(&r, why));
            }

            got++;
        }

        json_decref(rec);

        if (got == limit || scanned == scan_max) {
            next = r.seq + 1;
            break;
        }
    }

    audit_reader_close(&rd);
    audit_ixq_close(&ixq);

    if (ixq.skipped > 0) {
        gw_svc_metric_add(audit.m_ix_skipped, (double) ixq.skipped);
    }

    if (bad > 0) {
        audit_record_bad_log(req, first_bad, bad, first_why);
    }

    if (rc < 0) {
        gw_svc_reply_problem(req, 500, "read-failed", "Read failed",
                             audit.st.err);
        goto done;
    }

    if (next >= audit.st.durable) {
        next = UINT64_MAX;
    }

    if (next == UINT64_MAX) {
        audit_buf_add(&b, "],\"next\":null", 13);
    } else {
        audit_buf_add(&b, "],\"next\":\"", 10);
        audit_buf_add(&b, num, snprintf(num, sizeof(num), "%llu",
                                        (unsigned long long) next));
        audit_buf_add(&b, "\"", 1);
    }

    audit_buf_add(&b, num, snprintf(num, sizeof(num),
                                    ",\"scanned\":%llu}",
                                    (unsigned long long) scanned));

    if (b.oom) {
        gw_svc_reply_problem(req, 503, "overloaded", "Overloaded",
                             "out of memory");
        goto done;
    }

    gw_svc_reply(req, 200, "application/json", b.p, b.len);

done:

    free(b.p);
    evhttp_clear_headers(&q);
}
