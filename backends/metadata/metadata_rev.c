
/*
 * Copyright (C) Tollgate
 *
 * The change log as the API shows it (docs/admin-api.md, "Revisions,
 * rollback and snapshots"):
 *
 *   GET /v1/revisions?since=N&limit=M    the revisions after N, grouped
 *                                        from the log's entries
 *   GET /v1/revisions/{n}                one revision: each change's
 *                                        docs before and after, and
 *                                        the JSON Patch between them
 *   POST /v1/revisions/{n}/rollback      metadata_rev_rollback.c
 *   GET /v1/snapshot                     the whole state at one
 *                                        revision (md_store_snapshot())
 *
 * Every read of the log takes the revision, the trim point and the
 * entries in one atomic step (MULTI/EXEC, or a read-only script when only
 * part of each entry is wanted), so that what it answers is one moment:
 * a reader behind the trim point gets 410 resync-required, naming the
 * first revision the log still has and /v1/snapshot, never a list with
 * a hole.  Revisions are numbers of 1 to 19 digits: anything else in a
 * path or a parameter is 400, a revision above the current one 404.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_rev.h"


#define MD_REV_LIST_DEFAULT  100        /* revisions in a page */
#define MD_REV_QUERY_MAX     256        /* bytes of a query string */


typedef struct {
    gw_svc_req_t       *req;
    long long           n;              /* the revision asked for */
} md_rev_ask_t;


static void md_rev_list_handler(gw_svc_req_t *req, void *data);
static void md_rev_one_handler(gw_svc_req_t *req, void *data);
static void md_rev_snapshot_handler(gw_svc_req_t *req, void *data);
static void md_rev_list(gw_svc_req_t *req, const char *actor, void *data);
static void md_rev_list_read(redisAsyncContext *ac, void *r, void *data);
static json_t *md_rev_list_json(redisReply *r, size_t from, long long rev);
static void md_rev_get(gw_svc_req_t *req, const char *actor, void *data);
static void md_rev_get_read(redisAsyncContext *ac, void *r, void *data);
static json_t *md_rev_get_change(md_rev_entry_t *e);
static void md_rev_rollback_access(gw_svc_req_t *req, const char *actor,
    void *data);
static int md_rev_path_number(gw_svc_req_t *req, long long *n);
static void md_rev_snapshot(gw_svc_req_t *req, const char *actor,
    void *data);
static void md_rev_snapshot_done(int status, json_t *snapshot, void *data);
static int md_rev_state(redisReply *r, long long *rev, long long *trimmed);


/*
 * The listing reads only the summary members of each entry (not the
 * docs, which a declarative apply of many entities makes large): the
 * revision, the trim point, then each entry as XRANGE gives it, less
 * "before" and "after".  ARGV: the first and the last id of the range.
 */

static const char  md_rev_list_lua[] =
    "local out = {redis.call('GET', KEYS[1]) or '0',"
    " redis.call('GET', KEYS[2]) or '0'}\n"
    "for _, e in ipairs(redis.call('XRANGE', KEYS[3], ARGV[1], ARGV[2]))"
    " do\n"
    "  local f = {}\n"
    "  for i = 1, #e[2], 2 do\n"
    "    local k = e[2][i]\n"
    "    if k ~= 'before' and k ~= 'after' then\n"
    "      f[#f + 1] = k\n"
    "      f[#f + 1] = e[2][i + 1]\n"
    "    end\n"
    "  end\n"
    "  out[#out + 1] = {e[1], f}\n"
    "end\n"
    "return out\n";


int
md_rev_setup(gw_svc_t *svc)
{
    if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/v1/revisions", 0,
                     md_rev_list_handler, NULL)
        != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD | GW_SVC_POST,
                        "/v1/revisions/", GW_SVC_PREFIX, md_rev_one_handler,
                        NULL)
           != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/v1/snapshot", 0,
                        md_rev_snapshot_handler, NULL)
           != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot add routes",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        return -1;
    }

    return 0;
}


static void
md_rev_list_handler(gw_svc_req_t *req, void *data)
{
    md_access(req, MD_ROLE_READ, md_rev_list, NULL);
}


/*
 * /v1/revisions/{n} (GET, HEAD) and /v1/revisions/{n}/rollback (POST):
 * the method is checked against the path before access, as the kit
 * answers 405 for its own routes; n is read once access allowed.
 */

static void
md_rev_one_handler(gw_svc_req_t *req, void *data)
{
    const char  *path, *rest, *method;

    path = gw_svc_req_path(req) + sizeof("/v1/revisions/") - 1;
    method = gw_svc_req_method(req);

    rest = strchr(path, '/');

    if (rest == NULL) {
        if (strcmp(method, "POST") == 0) {
            gw_svc_req_add_header(req, "Allow", "GET, HEAD");
            gw_svc_reply_problem(req, 405, "method-not-allowed",
                                 "Method not allowed", NULL);
            return;
        }

        md_access(req, MD_ROLE_READ, md_rev_get, NULL);
        return;
    }

    if (strcmp(rest, "/rollback") != 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found", NULL);
        return;
    }

    if (strcmp(method, "POST") != 0) {
        gw_svc_req_add_header(req, "Allow", "POST");
        gw_svc_reply_problem(req, 405, "method-not-allowed",
                             "Method not allowed", NULL);
        return;
    }

    md_access(req, MD_ROLE_WRITE, md_rev_rollback_access, NULL);
}


static void
md_rev_snapshot_handler(gw_svc_req_t *req, void *data)
{
    md_access(req, MD_ROLE_READ, md_rev_snapshot, NULL);
}


/* ---- GET /v1/revisions ------------------------------------------------- */

static void
md_rev_list(gw_svc_req_t *req, const char *actor, void *data)
{
    char                 buf[MD_REV_QUERY_MAX], first[24], last[24];
    long long            since, limit;
    md_rev_ask_t        *ask;
    const char          *values[2];
    redisAsyncContext   *ac;
    static const char   *names[] = { "since", "limit", NULL };

    if (md_rev_query(req, names, values, buf, sizeof(buf)) != 0) {
        return;
    }

    since = 0;
    limit = (md.list_max < MD_REV_LIST_DEFAULT) ? md.list_max
                                                 : MD_REV_LIST_DEFAULT;

    if ((values[0] != NULL
         && (values[0][0] == '\0'
             || (strcmp(values[0], "0") != 0
                 && md_rev_number(values[0], strlen(values[0]), &since)
                    != 0)))
        || (values[1] != NULL
            && (md_rev_number(values[1], strlen(values[1]), &limit) != 0
                || limit > md.list_max)))
    {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "since: a revision (0 or more); limit: 1 to "
                             "list_max");
        return;
    }

    /* the entries of revisions since+1 .. since+limit (ids are 64 bits) */

    snprintf(first, sizeof(first), "%llu", (unsigned long long) since + 1);
    snprintf(last, sizeof(last), "%llu",
             (unsigned long long) since + (unsigned long long) limit);

    ac = gw_svc_redis(md.svc);
    ask = (ac != NULL) ? malloc(sizeof(md_rev_ask_t)) : NULL;

    if (ask == NULL) {
        md_rev_unavailable(req, NULL, "the change log cannot be read now");
        return;
    }

    ask->req = req;
    ask->n = since;

    if (redisAsyncCommand(ac, md_rev_list_read, ask,
                          "EVAL_RO %s 3 " MD_REV_KEY " " MD_REV_TRIMMED " "
                          MD_REV_LOG " %s %s", md_rev_list_lua, first, last)
        != REDIS_OK)
    {
        free(ask);
        md_rev_unavailable(req, NULL, "the change log cannot be read now");
    }
}


static void
md_rev_list_read(redisAsyncContext *ac, void *r, void *data)
{
    md_rev_ask_t  *ask = data;

    char           detail[96];
    json_t        *out;
    long long      rev, trimmed;
    redisReply    *reply;
    gw_svc_req_t  *req;

    reply = r;
    req = ask->req;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 2
        || md_rev_reply_number(reply->element[0], &rev) != 0
        || md_rev_reply_number(reply->element[1], &trimmed) != 0)
    {
        md_rev_unavailable(req, reply, "the change log cannot be read now");
        goto done;
    }

    if (ask->n < trimmed) {
        md_rev_resync(req, trimmed);
        goto done;
    }

    if (ask->n > rev) {
        snprintf(detail, sizeof(detail),
                 "since is above the current revision, %lld", rev);
        gw_svc_reply_problem(req, 404, "not-found", "Not found", detail);
        goto done;
    }

    out = md_rev_list_json(reply, 2, rev);

    if (out == NULL
        || json_object_set_new(out, "revision", json_integer(rev)) != 0)
    {
        json_decref(out);
        md_rev_unavailable(req, reply, "a change log entry is malformed");
        goto done;
    }

    gw_svc_reply_json(req, 200, out);

done:

    free(ask);
}


/*
 * {"items": [{"revision", "time", "actor", "request_id", "changes":
 * [{"type", "id", "version_before", "version_after", "op"}]}], "next"}
 * from the entries at r->element[from...]; "next" is the last revision
 * listed (the since of the next page) when it is below rev.  NULL
 * when an entry is malformed or out of memory.
 */

static json_t *
md_rev_list_json(redisReply *r, size_t from, long long rev)
{
    char             t[MD_REV_TIME_LEN];
    size_t           i;
    json_t          *out, *items, *item, *changes, *c;
    long long        last;
    md_rev_entry_t   e;

    items = json_array();
    out = json_pack("{s:o, s:n}", "items", items, "next");

    if (out == NULL) {
        return NULL;
    }

    changes = NULL;
    last = 0;

    for (i = from; i < r->elements; i++) {
        if (md_rev_entry(r->element[i], &e) != 0) {
            goto failed;
        }

        if (e.rev != last) {
            md_rev_time(e.time, t);

            changes = json_array();
            item = json_pack("{s:I, s:s, s:o, s:o, s:o}",
                             "revision", (json_int_t) e.rev, "time", t,
                             "actor", gw_svc_json_string(e.actor),
                             "request_id", gw_svc_json_string(e.rid),
                             "changes", changes);

            if (item == NULL || json_array_append_new(items, item) != 0) {
                goto failed;
            }

            last = e.rev;
        }

        c = json_pack("{s:s, s:o, s:I, s:I, s:s}",
                      "type", e.type, "id", gw_svc_json_string(e.id),
                      "version_before", (json_int_t) e.vb,
                      "version_after", (json_int_t) e.va,
                      "op", e.vb == 0 ? "create"
                            : e.va == 0 ? "delete" : "update");

        if (c == NULL || json_array_append_new(changes, c) != 0) {
            goto failed;
        }
    }

    /* more to come: the next page starts after its last revision */

    if (last != 0 && last < rev
        && json_object_set_new(out, "next", json_integer(last)) != 0)
    {
        goto failed;
    }

    return out;

failed:

    json_decref(out);

    return NULL;
}


/* ---- GET /v1/revisions/{n} --------------------------------------------- */

static void
md_rev_get(gw_svc_req_t *req, const char *actor, void *data)
{
    char                 n[24];
    long long            v;
    md_rev_ask_t        *ask;
    redisAsyncContext   *ac;

    if (md_rev_path_number(req, &v) != 0) {
        return;
    }

    ac = gw_svc_redis(md.svc);
    ask = (ac != NULL) ? malloc(sizeof(md_rev_ask_t)) : NULL;

    if (ask == NULL) {
        md_rev_unavailable(req, NULL, "the change log cannot be read now");
        return;
    }

    ask->req = req;
    ask->n = v;

    snprintf(n, sizeof(n), "%lld", ask->n);

    if (redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "GET " MD_REV_KEY) != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "GET " MD_REV_TRIMMED)
           != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "XRANGE " MD_REV_LOG " %s %s",
                             n, n) != REDIS_OK
        || redisAsyncCommand(ac, md_rev_get_read, ask, "EXEC") != REDIS_OK)
    {
        free(ask);
        md_rev_unavailable(req, NULL, "the change log cannot be read now");
    }
}


static void
md_rev_get_read(redisAsyncContext *ac, void *r, void *data)
{
    md_rev_ask_t  *ask = data;

    char            t[MD_REV_TIME_LEN], detail[96];
    size_t          i;
    json_t         *out, *changes, *c;
    long long       rev, trimmed;
    redisReply     *reply, *log;
    gw_svc_req_t   *req;
    md_rev_entry_t  e;

    reply = r;
    req = ask->req;

    if (md_rev_state(reply, &rev, &trimmed) != 0
        || reply->element[2]->type != REDIS_REPLY_ARRAY)
    {
        md_rev_unavailable(req, reply, "the change log cannot be read now");
        goto done;
    }

    log = reply->element[2];

    if (ask->n > rev) {
        snprintf(detail, sizeof(detail), "the current revision is %lld", rev);
        gw_svc_reply_problem(req, 404, "not-found", "Not found", detail);
        goto done;
    }

    /* an empty range below the current revision is a trimmed one too */

    if (ask->n <= trimmed || log->elements == 0) {
        md_rev_resync(req, trimmed);
        goto done;
    }

    changes = json_array();
    out = json_pack("{s:I, s:o}", "revision", (json_int_t) ask->n,
                    "changes", changes);

    for (i = 0; out != NULL && i < log->elements; i++) {
        if (md_rev_entry(log->element[i], &e) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }

        if (i == 0) {
            md_rev_time(e.time, t);

            if (json_object_set_new(out, "time", json_string(t)) != 0
                || json_object_set_new(out, "actor",
                                       gw_svc_json_string(e.actor))
                   != 0
                || json_object_set_new(out, "request_id",
                                       gw_svc_json_string(e.rid))
                   != 0)
            {
                json_decref(out);
                out = NULL;
                break;
            }
        }

        c = md_rev_get_change(&e);

        if (c == NULL || json_array_append_new(changes, c) != 0) {
            json_decref(out);
            out = NULL;
        }
    }

    if (out == NULL) {
        md_rev_unavailable(req, reply, "a change log entry is malformed");
        goto done;
    }

    gw_svc_req_add_header(req, "Cache-Control", "no-cache");
    gw_svc_reply_json(req, 200, out);

done:

    free(ask);
}


/*
 * {"type", "id", "op", "version_before", "version_after", "before",
 * "after", "diff"}: the docs as GET showed them (with "version"), null
 * when absent, and the JSON Patch from one to the other.
 */

static json_t *
md_rev_get_change(md_rev_entry_t *e)
{
    json_t  *before, *after, *diff;

    if (md_rev_doc(e->before, e->before_len, &before) != 0) {
        return NULL;
    }

    if (md_rev_doc(e->after, e->after_len, &after) != 0) {
        json_decref(before);
        return NULL;
    }

    if ((before != NULL
         && json_object_set_new(before, "version", json_integer(e->vb)) != 0)
        || (after != NULL
            && json_object_set_new(after, "version", json_integer(e->va))
               != 0))
    {
        goto failed;
    }

    diff = md_diff(before, after);
    if (diff == NULL) {
        goto failed;
    }

    return json_pack("{s:s, s:o, s:s, s:I, s:I, s:o, s:o, s:o}",
                     "type", e->type, "id", gw_svc_json_string(e->id),
                     "op", e->vb == 0 ? "create"
                           : e->va == 0 ? "delete" : "update",
                     "version_before", (json_int_t) e->vb,
                     "version_after", (json_int_t) e->va,
                     "before", before != NULL ? before : json_null(),
                     "after", after != NULL ? after : json_null(),
                     "diff", diff);

failed:

    json_decref(before);
    json_decref(after);

    return NULL;
}


/* ---- POST /v1/revisions/{n}/rollback ----------------------------------- */

static void
md_rev_rollback_access(gw_svc_req_t *req, const char *actor, void *data)
{
    long long  n;

    if (md_rev_path_number(req, &n) != 0) {
        return;
    }

    md_rev_rollback(req, actor, n);
}


/*
 * The {n} of /v1/revisions/{n}[/...]: 0, or -1 answered (400 when not a
 * number, 404 for 0: the first revision is 1).  n NULL: checks only.
 */

static int
md_rev_path_number(gw_svc_req_t *req, long long *n)
{
    size_t       len;
    long long    v;
    const char  *p, *end;

    p = gw_svc_req_path(req) + sizeof("/v1/revisions/") - 1;
    end = strchr(p, '/');
    len = (end != NULL) ? (size_t) (end - p) : strlen(p);

    if (len == 1 && p[0] == '0') {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "revisions start at 1");
        return -1;
    }

    if (md_rev_number(p, len, &v) != 0) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "a revision is a number from 1 to "
                             "9223372036854775807");
        return -1;
    }

    if (n != NULL) {
        *n = v;
    }

    return 0;
}


/* ---- GET /v1/snapshot -------------------------------------------------- */

static void
md_rev_snapshot(gw_svc_req_t *req, const char *actor, void *data)
{
    if (md_store_snapshot(md_rev_snapshot_done, req) != 0) {
        md_rev_unavailable(req, NULL, "the snapshot cannot be read now");
    }
}


static void
md_rev_snapshot_done(int status, json_t *snapshot, void *data)
{
    gw_svc_req_t  *req = data;

    char         etag[32];
    json_t      *rev;
    const char  *inm;

    rev = (status == 200) ? json_object_get(snapshot, "revision") : NULL;

    if (!json_is_integer(rev)) {
        json_decref(snapshot);
        md_rev_unavailable(req, NULL, "the snapshot cannot be read now");
        return;
    }

    snprintf(etag, sizeof(etag), "\"%lld\"",
             (long long) json_integer_value(rev));

    gw_svc_req_add_header(req, "ETag", etag);
    gw_svc_req_add_header(req, "Cache-Control", "no-cache");

    inm = gw_svc_req_header(req, "If-None-Match");

    if (inm != NULL && md_rev_etag_match(inm, json_integer_value(rev), 1)
                       == 1)
    {
        json_decref(snapshot);
        gw_svc_reply(req, 304, NULL, "", 0);
        return;
    }

    gw_svc_reply_json(req, 200, snapshot);
}


/*
 * The MULTI/EXEC reply of GET rev, GET trimmed, then one more command:
 * 0 with both set, -1 otherwise.
 */

static int
md_rev_state(redisReply *r, long long *rev, long long *trimmed)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3
        || md_rev_reply_number(r->element[0], rev) != 0
        || md_rev_reply_number(r->element[1], trimmed) != 0)
    {
        return -1;
    }

    return 0;
}
