
/*
 * Copyright (C) Tollgate
 *
 * POST /v1/revisions/{n}/rollback[?dry_run=true] (docs/admin-api.md,
 * "Revisions, rollback and snapshots"): makes the state what it was
 * right after revision n, as one new revision.
 *
 * The state after n is the current one with every change after n undone,
 * and the log holds each change's docs before and after: so the log is
 * read forward from n+1 to the current revision, and for each entity it
 * touched, its first change's "before" is its state after n and its last
 * change's "after" its state now.  Entities the log does not name since
 * n are as they were; nothing else is read.  The first page of the log
 * is read in one MULTI/EXEC with the revision and the trim point (n must
 * not be behind it: 410), later pages continue from the last id; every
 * entry must follow the one before it ("<r>-<i>" then "<r>-<i+1>" or
 * "<r+1>-0"), so a page that lost entries to a concurrent trim is seen.
 *
 * The difference is committed as one change set by md_store_commit()
 * with expected_revision the revision read and each change's if_version
 * the entity's version now: a write in between fails it whole, 409
 * revision-conflict, and nothing is written (a retry is the client's).
 * An entity created since n is deleted; one deleted since n is created
 * again from its doc at n (keys and clients keep their hashes, which is
 * all their docs hold); one changed since n gets its doc at n back.
 * Restored docs keep every member of their doc at n (created_at and
 * created_by too) but three, which a new revision sets: version, and
 * updated_at and updated_by (now, the actor of the rollback).  An entity
 * whose doc now already equals its doc at n but for those three is left
 * alone.
 *
 * The changes are ordered by each entity's first change after n, latest
 * first: the order in which undoing the log change by change would have
 * finished with each, so that deletes of referring entities come before
 * deletes of what they refer to, and creates of referred entities before
 * their referrers.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_rev.h"


#define MD_RB_PAGE  256         /* log entries read at a time */


typedef struct {
    gw_svc_req_t       *req;
    char               *actor;          /* a copy: md_access() gives it
                                           for the callback's time */
    const char         *if_match;       /* the request's, until the reply */
    long long           n;              /* the revision to go back to */
    long long           rev;            /* the current one, as read */
    long long           next_rev;       /* the log entry expected next */
    long long           next_index;
    long long           seq;            /* entities seen so far */
    json_t             *seen;           /* "<type>/<id>" -> its record */
    md_change_t        *changes;
    size_t              nchanges;
    char                last[48];       /* the id of the last entry read */
    unsigned            dry_run:1;
} md_rb_t;


static void md_rb_first(redisAsyncContext *ac, void *r, void *data);
static void md_rb_more(redisAsyncContext *ac, void *r, void *data);
static void md_rb_page(md_rb_t *rb, redisReply *log, int first);
static int md_rb_record(md_rb_t *rb, md_rev_entry_t *e);
static void md_rb_finish(md_rb_t *rb);
static int md_rb_change(md_rb_t *rb, json_t *rec, const char *now);
static void md_rb_checked(md_commit_result_t *res, void *data);
static void md_rb_dry(md_rb_t *rb);
static void md_rb_done(md_commit_result_t *res, void *data);
static json_t *md_rb_data(json_t *doc);
static int md_rb_cmp(const void *one, const void *two);
static void md_rb_fail(md_rb_t *rb, int status, const char *type,
    const char *title, const char *detail);
static void md_rb_free(md_rb_t *rb);


void
md_rev_rollback(gw_svc_req_t *req, const char *actor, long long n)
{
    char                 buf[64], first[24];
    md_rb_t             *rb;
    const char          *values[1], *v, *im;
    redisAsyncContext   *ac;
    static const char   *names[] = { "dry_run", NULL };

    if (md_rev_query(req, names, values, buf, sizeof(buf)) != 0) {
        return;
    }

    v = values[0];

    if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0
        && strcmp(v, "1") != 0 && strcmp(v, "0") != 0)
    {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "dry_run: expects true or false");
        return;
    }

    im = gw_svc_req_header(req, "If-Match");

    if (im != NULL && md_rev_etag_match(im, 0, 0) < 0) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "If-Match: expects \"<revision>\"");
        return;
    }

    ac = gw_svc_redis(md.svc);
    rb = (ac != NULL) ? calloc(1, sizeof(md_rb_t)) : NULL;

    if (rb == NULL) {
        md_rev_unavailable(req, NULL, "the change log cannot be read now");
        return;
    }

    rb->req = req;
    rb->actor = strdup(actor);
    rb->if_match = im;
    rb->n = n;
    rb->dry_run = (v != NULL && (v[0] == 't' || v[0] == '1'));
    rb->seen = json_object();

    snprintf(first, sizeof(first), "%llu", (unsigned long long) n + 1);

    if (rb->seen == NULL || rb->actor == NULL
        || redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "GET " MD_REV_KEY) != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "GET " MD_REV_TRIMMED)
           != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "XRANGE " MD_REV_LOG
                             " %s + COUNT %d", first, MD_RB_PAGE)
           != REDIS_OK
        || redisAsyncCommand(ac, md_rb_first, rb, "EXEC") != REDIS_OK)
    {
        md_rb_fail(rb, 503, NULL, NULL, "the change log cannot be read now");
    }
}


/* the revision, the trim point and the first page, at one moment */

static void
md_rb_first(redisAsyncContext *ac, void *r, void *data)
{
    md_rb_t  *rb = data;

    char         detail[96];
    long long    rev, trimmed;
    redisReply  *reply;

    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3
        || md_rev_reply_number(reply->element[0], &rev) != 0
        || md_rev_reply_number(reply->element[1], &trimmed) != 0
        || reply->element[2]->type != REDIS_REPLY_ARRAY)
    {
        md_rev_unavailable(rb->req, reply,
                           "the change log cannot be read now");
        rb->req = NULL;
        md_rb_free(rb);
        return;
    }

    if (rb->n > rev) {
        snprintf(detail, sizeof(detail), "the current revision is %lld", rev);
        md_rb_fail(rb, 404, "not-found", "Not found", detail);
        return;
    }

    if (rb->n < trimmed) {
        md_rev_resync(rb->req, trimmed);
        rb->req = NULL;
        md_rb_free(rb);
        return;
    }

    if (rb->if_match != NULL && md_rev_etag_match(rb->if_match, rev, 0) != 1)
    {
        snprintf(detail, sizeof(detail), "the current revision is %lld", rev);
        md_rb_fail(rb, 412, "precondition-failed", "Precondition failed",
                   detail);
        return;
    }

    rb->rev = rev;
    rb->next_rev = rb->n + 1;
    rb->next_index = 0;

    md_rb_page(rb, reply->element[2], 1);
}


static void
md_rb_more(redisAsyncContext *ac, void *r, void *data)
{
    md_rb_t     *rb = data;
    redisReply  *reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        md_rev_unavailable(rb->req, reply,
                           "the change log cannot be read now");
        rb->req = NULL;
        md_rb_free(rb);
        return;
    }

    md_rb_page(rb, reply, 0);
}


/*
 * Takes in one page of entries, then reads the next one or finishes.  A
 * break in the sequence of entries is a defect of the log on the first
 * page (read with the revision, at one moment), and on a later one the
 * sign that the log moved on meanwhile: the rollback would fail anyway.
 */

static void
md_rb_page(md_rb_t *rb, redisReply *log, int first)
{
    char                 *id;
    size_t                i;
    md_rev_entry_t        e;
    redisAsyncContext    *ac;

    for (i = 0; i < log->elements && rb->next_rev <= rb->rev; i++) {
        if (md_rev_entry(log->element[i], &e) != 0) {
            md_rev_unavailable(rb->req, log->element[i],
                               "a change log entry is malformed");
            rb->req = NULL;
            md_rb_free(rb);
            return;
        }

        if (e.rev != rb->next_rev || e.index != rb->next_index) {
            goto moved;
        }

        if (md_rb_record(rb, &e) != 0) {
            md_rb_fail(rb, 503, NULL, NULL,
                       "a change log entry is malformed or out of memory");
            return;
        }

        if (e.index + 1 < e.n) {
            rb->next_index++;

        } else {
            rb->next_rev++;
            rb->next_index = 0;
        }

        id = log->element[i]->element[0]->str;
        snprintf(rb->last, sizeof(rb->last), "%s", id);
    }

    if (rb->next_rev > rb->rev) {
        md_rb_finish(rb);
        return;
    }

    if (log->elements < MD_RB_PAGE) {
        goto moved;
    }

    ac = gw_svc_redis(md.svc);

    if (ac == NULL
        || redisAsyncCommand(ac, md_rb_more, rb, "XRANGE " MD_REV_LOG
                             " (%s + COUNT %d", rb->last, MD_RB_PAGE)
           != REDIS_OK)
    {
        md_rb_fail(rb, 503, NULL, NULL, "the change log cannot be read now");
    }

    return;

moved:

    if (first) {
        gw_svc_log(md.svc, GW_SVC_ERROR, rb->req,
                   "the change log has a gap",
                   json_pack("{s:I, s:I}", "revision",
                             (json_int_t) rb->next_rev, "index",
                             (json_int_t) rb->next_index));
        md_rb_fail(rb, 503, NULL, NULL, "the change log has a gap");
        return;
    }

    md_rb_fail(rb, 409, "revision-conflict", "Revision conflict",
               "the change log moved on while it was read: retry");
}


/*
 * An entity's record: {"type", "id", "seq" (the order of first sight),
 * "vb" and "before" (its version and doc after n, null when absent),
 * "va" and "after" (now: the version, and the doc's text, "" : none)}.
 */

static int
md_rb_record(md_rb_t *rb, md_rev_entry_t *e)
{
    char     key[MD_TYPE_MAX + 3 + MD_ID_MAX + 1];
    json_t  *rec, *before;

    if (strlen(e->type) > MD_TYPE_MAX + 2 || strlen(e->id) > MD_ID_MAX) {
        return -1;
    }

    snprintf(key, sizeof(key), "%s/%s", e->type, e->id);

    rec = json_object_get(rb->seen, key);

    if (rec == NULL) {
        if (md_rev_doc(e->before, e->before_len, &before) != 0) {
            return -1;
        }

        rec = json_pack("{s:s, s:s, s:I, s:I, s:o}", "type", e->type,
                        "id", e->id, "seq", (json_int_t) rb->seq++,
                        "vb", (json_int_t) e->vb,
                        "before", before != NULL ? before : json_null());

        if (rec == NULL || json_object_set_new(rb->seen, key, rec) != 0) {
            return -1;
        }
    }

    if (json_object_set_new(rec, "va", json_integer(e->va)) != 0
        || json_object_set_new(rec, "after",
                               json_stringn_nocheck(e->after, e->after_len))
           != 0)
    {
        return -1;
    }

    return 0;
}


/* the log is read up to the revision: the change set, then its commit */

static void
md_rb_finish(md_rb_t *rb)
{
    int          rc;
    char         now[MD_REV_TIME_LEN];
    size_t       i, n;
    json_t     **recs, *rec, *out;
    const char  *key;

    n = json_object_size(rb->seen);
    recs = (n != 0) ? malloc(n * sizeof(json_t *)) : NULL;
    rb->changes = (n != 0) ? calloc(n, sizeof(md_change_t)) : NULL;

    if (n != 0 && (recs == NULL || rb->changes == NULL)) {
        free(recs);
        md_rb_fail(rb, 503, NULL, NULL, "out of memory");
        return;
    }

    i = 0;

    json_object_foreach(rb->seen, key, rec) {
        recs[i++] = rec;
    }

    if (n != 0) {
        qsort(recs, n, sizeof(json_t *), md_rb_cmp);
    }

    md_rev_time(md_now_ms(), now);
    rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        rc = md_rb_change(rb, recs[i], now);
    }

    free(recs);

    if (rc != 0) {
        return;
    }

    if (rb->dry_run && rb->nchanges != 0) {
        if (md_store_check(rb->changes, rb->nchanges, rb->rev, rb->actor,
                           gw_svc_req_id(rb->req), md_rb_checked, rb)
            != 0)
        {
            md_rb_fail(rb, 503, NULL, NULL, "out of memory");
        }

        return;
    }

    if (rb->dry_run) {
        md_rb_dry(rb);
        return;
    }

    if (rb->nchanges == 0) {
        out = json_pack("{s:I, s:i}", "revision", (json_int_t) rb->rev,
                        "changes", 0);
        gw_svc_reply_json(rb->req, 200, out);
        rb->req = NULL;
        md_rb_free(rb);
        return;
    }

    if (md_store_commit(rb->changes, rb->nchanges, rb->rev, rb->actor,
                        gw_svc_req_id(rb->req), md_rb_done, rb)
        != 0)
    {
        md_rb_fail(rb, 503, NULL, NULL, "out of memory");
    }
}


/*
 * The change (if any) that gives one entity its doc after n back: 0, or
 * -1 answered.
 */

static int
md_rb_change(md_rb_t *rb, json_t *rec, const char *now)
{
    int           same;
    char          detail[128];
    json_t       *then, *cur, *a, *b;
    long long     vb, va;
    md_type_t    *t;
    const char   *type, *after;
    md_change_t  *ch;

    type = json_string_value(json_object_get(rec, "type"));
    vb = json_integer_value(json_object_get(rec, "vb"));
    va = json_integer_value(json_object_get(rec, "va"));
    then = json_object_get(rec, "before");
    after = json_string_value(json_object_get(rec, "after"));

    if (vb == 0 && va == 0) {
        return 0;
    }

    if (md_rev_doc(after, json_string_length(json_object_get(rec, "after")),
                   &cur)
        != 0
        || (va != 0) != (cur != NULL) || (vb != 0) != json_is_object(then))
    {
        json_decref(cur);
        md_rb_fail(rb, 503, NULL, NULL, "a change log entry is malformed");
        return -1;
    }

    if (vb != 0 && va != 0) {
        a = md_rb_data(then);
        b = md_rb_data(cur);
        same = (a != NULL && b != NULL && json_equal(a, b));
        json_decref(a);
        json_decref(b);

        if (same) {
            json_decref(cur);
            return 0;
        }
    }

    t = md_type_get(type);

    if (t == NULL) {
        json_decref(cur);
        snprintf(detail, sizeof(detail),
                 "the type %s is not defined now: restore it first", type);
        md_rb_fail(rb, 409, "conflict", "Conflict", detail);
        return -1;
    }

    ch = &rb->changes[rb->nchanges++];
    ch->type = t;
    snprintf(ch->id, sizeof(ch->id), "%s",
             json_string_value(json_object_get(rec, "id")));
    ch->if_version = (va != 0) ? va : MD_ABSENT;
    ch->before = cur;
    ch->doc = NULL;

    if (vb == 0) {
        return 0;
    }

    ch->doc = json_deep_copy(then);

    if (ch->doc == NULL
        || json_object_set_new(ch->doc, "updated_at", json_string(now)) != 0
        || json_object_set_new(ch->doc, "updated_by",
                               gw_svc_json_string(rb->actor))
           != 0)
    {
        md_rb_fail(rb, 503, NULL, NULL, "out of memory");
        return -1;
    }

    return 0;
}


/* a dry run's check by the commit script: the diff, or its refusal */

static void
md_rb_checked(md_commit_result_t *res, void *data)
{
    if (res->status == MD_COMMIT_OK) {
        md_rb_dry(data);
        return;
    }

    md_rb_done(res, data);
}


/*
 * The dry run's answer: {"revision": current, "target": n, "changes":
 * [{"type", "id", "op", "version", "diff"}]}, "version" the entity's
 * now (0: absent), the diff a JSON Patch from its doc now to the doc
 * the rollback would write, both without the members it sets anew.
 */

static void
md_rb_dry(md_rb_t *rb)
{
    size_t        i;
    json_t       *out, *list, *a, *b, *diff, *c;
    md_change_t  *ch;

    list = json_array();
    out = json_pack("{s:I, s:I, s:o}", "revision", (json_int_t) rb->rev,
                    "target", (json_int_t) rb->n, "changes", list);

    for (i = 0; out != NULL && i < rb->nchanges; i++) {
        ch = &rb->changes[i];

        a = (ch->before != NULL) ? md_rb_data(ch->before) : NULL;
        b = (ch->doc != NULL) ? md_rb_data(ch->doc) : NULL;

        diff = ((ch->before == NULL || a != NULL)
                && (ch->doc == NULL || b != NULL))
               ? md_diff(a, b) : NULL;

        json_decref(a);
        json_decref(b);

        c = (diff != NULL)
            ? json_pack("{s:s, s:s, s:s, s:I, s:o}",
                        "type", md_type_name(ch->type), "id", ch->id,
                        "op", ch->doc == NULL ? "delete"
                              : ch->before == NULL ? "create" : "update",
                        "version", (json_int_t) ch->if_version,
                        "diff", diff)
            : NULL;

        if (c == NULL || json_array_append_new(list, c) != 0) {
            json_decref(out);
            out = NULL;
        }
    }

    if (out == NULL) {
        md_rb_fail(rb, 503, NULL, NULL, "out of memory");
        return;
    }

    gw_svc_reply_json(rb->req, 200, out);
    rb->req = NULL;
    md_rb_free(rb);
}


static void
md_rb_done(md_commit_result_t *res, void *data)
{
    md_rb_t  *rb = data;

    char      detail[256];
    json_t   *out;

    switch (res->status) {

    case MD_COMMIT_OK:
        gw_svc_log(md.svc, GW_SVC_INFO, rb->req, "rolled back",
                   json_pack("{s:I, s:I, s:I}", "to", (json_int_t) rb->n,
                             "revision", (json_int_t) res->revision,
                             "changes", (json_int_t) rb->nchanges));

        out = json_pack("{s:I, s:I}", "revision", (json_int_t) res->revision,
                        "changes", (json_int_t) rb->nchanges);
        gw_svc_reply_json(rb->req, 200, out);
        rb->req = NULL;
        break;

    case MD_COMMIT_VERSION:
    case MD_COMMIT_REVISION:
        md_rb_fail(rb, 409, "revision-conflict", "Revision conflict",
                   "the state changed since it was read: nothing was "
                   "written");
        return;

    case MD_COMMIT_REF:
    case MD_COMMIT_REFERENCED:
    case MD_COMMIT_MATCH:
        snprintf(detail, sizeof(detail), "%s/%s: %s",
                 res->index < rb->nchanges
                 ? md_type_name(rb->changes[res->index].type) : "?",
                 res->index < rb->nchanges ? rb->changes[res->index].id : "?",
                 res->detail != NULL ? res->detail : "a conflict");
        md_rb_fail(rb, 409, "conflict", "Conflict", detail);
        return;

    default:
        md_rb_fail(rb, 503, NULL, NULL,
                   "the store failed: nothing was written");
        return;
    }

    md_rb_free(rb);
}


/* a copy of doc without the members a rollback sets anew */

static json_t *
md_rb_data(json_t *doc)
{
    json_t  *d;

    d = json_deep_copy(doc);

    if (d != NULL) {
        json_object_del(d, "version");
        json_object_del(d, "updated_at");
        json_object_del(d, "updated_by");
    }

    return d;
}


/* records by first sight, latest first */

static int
md_rb_cmp(const void *one, const void *two)
{
    json_int_t  a, b;

    a = json_integer_value(json_object_get(*(json_t *const *) one, "seq"));
    b = json_integer_value(json_object_get(*(json_t *const *) two, "seq"));

    return (a < b) ? 1 : (a > b) ? -1 : 0;
}


/* answers a problem (type NULL: 503 unavailable) and frees rb */

static void
md_rb_fail(md_rb_t *rb, int status, const char *type, const char *title,
    const char *detail)
{
    if (type == NULL) {
        gw_svc_log(md.svc, GW_SVC_ERROR, rb->req, "rollback failed",
                   json_pack("{s:s}", "detail", detail));
        gw_svc_reply_problem(rb->req, 503, "unavailable", "Unavailable",
                             detail);

    } else {
        gw_svc_log(md.svc, GW_SVC_INFO, rb->req, "rollback refused",
                   json_pack("{s:i, s:s}", "status", status,
                             "detail", detail));
        gw_svc_reply_problem(rb->req, status, type, title, detail);
    }

    rb->req = NULL;
    md_rb_free(rb);
}


static void
md_rb_free(md_rb_t *rb)
{
    size_t  i;

    for (i = 0; i < rb->nchanges; i++) {
        json_decref(rb->changes[i].doc);
        json_decref(rb->changes[i].before);
    }

    free(rb->changes);
    json_decref(rb->seen);
    free(rb->actor);
    free(rb);
}
