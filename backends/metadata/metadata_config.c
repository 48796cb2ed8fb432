
/*
 * Copyright (C) Tollgate
 *
 * PUT /v1/config: a whole document of entities applied as one revision
 * or not at all (docs/admin-api.md, "Declarative configuration").
 *
 *   {"expected_revision": N, "entities": {"routes": [doc, ...], ...}}
 *
 * The document has the shape of GET /v1/snapshot, whose "revision" is
 * taken for expected_revision, so that a snapshot applies back as it is.
 * A type present is replaced whole (its entities not listed are
 * deleted); a type absent is left as it is; an entity whose data equals
 * the stored one is no change.  Meta members in the documents are
 * ignored but "id", which is required.
 *
 * The order: the body is parsed and checked for shape before anything
 * is read; then the snapshot (one read at one revision) gives the state
 * the document is compared with; every new document is validated and
 * every error collected (up to MD_CONFIG_ERRORS); then the change set
 * goes to md_store_commit() once, with the snapshot's revision as the
 * expected one.  The script checks that revision, every version, every
 * reference and match key again, atomically: anything written between
 * the snapshot and the commit makes the whole apply a 409, never a part
 * of it.  A dry run runs the same script's checks only
 * (md_store_check()), so it refuses what the apply would, and answers
 * the changes with their diffs.
 *
 * Keys and clients hold only hashes of their secrets: a "secret" member
 * is refused here, and the hashes a stored key or client has carry over
 * when the document leaves them out (an export holds them anyway).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metadata_config.h"


static void md_config_handler(gw_svc_req_t *req, void *data);
static void md_config_access(gw_svc_req_t *req, const char *actor,
    void *data);
static int md_config_query(gw_svc_req_t *req, int *dry_run);
static int md_config_media(gw_svc_req_t *req);
static int md_config_shape(md_config_t *cf);
static void md_config_snapshot(int status, json_t *snapshot, void *data);
static void md_config_checked(md_commit_result_t *res, void *data);
static void md_config_done(md_commit_result_t *res, void *data);


int
md_config_setup(gw_svc_t *svc)
{
    return gw_svc_route(svc, GW_SVC_PUT, "/v1/config", 0,
                        md_config_handler, NULL);
}


static void
md_config_handler(gw_svc_req_t *req, void *data)
{
    md_access(req, MD_ROLE_WRITE, md_config_access, NULL);
}


/*
 * The request once access is granted: the query, the media type and the
 * body are checked (400, 415, 413, 422 before Redis is asked); then the
 * snapshot is read.
 */

static void
md_config_access(gw_svc_req_t *req, const char *actor, void *data)
{
    int           dry_run;
    size_t        len;
    json_t       *body;
    const char   *text;
    md_config_t  *cf;
    json_error_t  err;

    if (md_config_query(req, &dry_run) != 0 || md_config_media(req) != 0) {
        return;
    }

    text = gw_svc_req_body(req, &len);

    if (text == NULL || len == 0) {
        gw_svc_reply_problem(req, 400, "malformed-json", "Malformed JSON",
                             "the body is empty");
        return;
    }

    if (md_config_depth(text, len, MD_CONFIG_DEPTH) != 0) {
        gw_svc_reply_problem(req, 400, "malformed-json", "Malformed JSON",
                             "the body is nested too deep");
        return;
    }

    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

    if (body == NULL || !json_is_object(body)) {
        json_decref(body);
        gw_svc_reply_problem(req, 400, "malformed-json", "Malformed JSON",
                             body == NULL ? err.text
                             : "the body is not a JSON object");
        return;
    }

    cf = calloc(1, sizeof(md_config_t));
    if (cf == NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    cf->req = req;
    cf->body = body;
    cf->dry_run = dry_run;
    cf->expected = -1;

    cf->actor = strdup(actor);
    cf->errors = json_array();

    if (cf->actor == NULL || cf->errors == NULL) {
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "out of memory");
        return;
    }

    if (md_config_shape(cf) != 0) {
        return;
    }

    if (md_store_snapshot(md_config_snapshot, cf) != 0) {
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "out of memory");
    }
}


/* dry_run=true|false|1|0, nothing else; 0, or -1 answered (400) */

static int
md_config_query(gw_svc_req_t *req, int *dry_run)
{
    size_t       n;
    const char  *q, *p, *end, *v;

    *dry_run = 0;

    q = gw_svc_req_query(req);

    for (p = q; p != NULL && *p != '\0'; p = (*end == '&') ? end + 1 : end) {
        end = strchr(p, '&');
        if (end == NULL) {
            end = p + strlen(p);
        }

        n = end - p;

        if (n == 0) {
            continue;
        }

        if (n > 8 && strncmp(p, "dry_run=", 8) == 0) {
            v = p + 8;
            n -= 8;

            if ((n == 4 && strncmp(v, "true", 4) == 0)
                || (n == 1 && v[0] == '1'))
            {
                *dry_run = 1;
                continue;
            }

            if ((n == 5 && strncmp(v, "false", 5) == 0)
                || (n == 1 && v[0] == '0'))
            {
                *dry_run = 0;
                continue;
            }

            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 "dry_run: expects true or false");
            return -1;
        }

        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "unknown query parameter: only dry_run");
        return -1;
    }

    return 0;
}


/* application/json, parameters allowed; 0, or -1 answered (415) */

static int
md_config_media(gw_svc_req_t *req)
{
    size_t       n;
    const char  *ct;

    ct = gw_svc_req_header(req, "Content-Type");
    n = sizeof("application/json") - 1;

    if (ct != NULL && strncasecmp(ct, "application/json", n) == 0
        && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
    {
        return 0;
    }

    gw_svc_reply_problem(req, 415, "unsupported-media-type",
                         "Unsupported media type",
                         "PUT /v1/config takes application/json");
    return -1;
}


/*
 * Whether text nests arrays and objects deeper than max, brackets in
 * strings aside: -1 when it does, 0 otherwise (malformed text is left
 * to the parser).
 */

static int
md_config_shape(md_config_t *cf)
{
    char         detail[96];
    size_t       total;
    json_t      *v, *entities, *docs;
    const char  *key;

    json_object_foreach(cf->body, key, v) {

        if (strcmp(key, "expected_revision") == 0
            || strcmp(key, "revision") == 0)
        {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                md_config_error(cf, NULL, -1, key,
                                "expects a revision, an integer >= 0");
                continue;
            }

            if (cf->expected >= 0
                && cf->expected != (long long) json_integer_value(v))
            {
                md_config_error(cf, NULL, -1, key,
                                "expected_revision and revision differ");
                continue;
            }

            cf->expected = json_integer_value(v);
            continue;
        }

        if (strcmp(key, "entities") == 0) {
            continue;
        }

        md_config_error(cf, NULL, -1, key,
                        "unknown member: expected_revision, entities");
    }

    entities = json_object_get(cf->body, "entities");

    if (!json_is_object(entities)) {
        md_config_error(cf, NULL, -1, "entities",
                        "required: an object of arrays by type");
        entities = NULL;
    }

    if (cf->expected < 0 && !cf->dry_run) {
        md_config_error(cf, NULL, -1, "expected_revision",
                        "required: the revision the document was made "
                        "against (GET /v1/snapshot)");
    }

    total = 0;

    json_object_foreach(entities, key, docs) {
        if (!json_is_array(docs)) {
            md_config_error(cf, key, -1, NULL, "expects an array");
            continue;
        }

        total += json_array_size(docs);
    }

    if (cf->nerrors != 0) {
        md_config_fail(cf, 422, "validation-failed", "Validation failed",
                       "the document's shape");
        return -1;
    }

    if (total > (size_t) md.config_entities_max) {
        snprintf(detail, sizeof(detail), "more entities than one document "
                 "may hold (config_entities_max, %lld)",
                 md.config_entities_max);
        md_config_fail(cf, 413, "body-too-large", "Body too large", detail);
        return -1;
    }

    return 0;
}


static void
md_config_snapshot(int status, json_t *snapshot, void *data)
{
    md_config_t  *cf = data;
    char          detail[128];
    size_t        len;
    json_t       *v;
    struct tm     tm;
    time_t        sec;
    int64_t       ms;

    if (status != 200 || snapshot == NULL) {
        json_decref(snapshot);
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "the current state could not be read");
        return;
    }

    cf->snapshot = snapshot;

    v = json_object_get(snapshot, "revision");
    cf->revision = json_is_integer(v) ? json_integer_value(v) : -1;

    if (cf->revision < 0) {
        gw_svc_log(gw_svc_req_svc(cf->req), GW_SVC_ERROR, cf->req,
                   "a snapshot without its revision", NULL);
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "the current state could not be read");
        return;
    }

    if (cf->expected >= 0 && cf->expected != cf->revision) {
        snprintf(detail, sizeof(detail), "the document expects revision "
                 "%lld, the current one is %lld", cf->expected,
                 cf->revision);
        md_config_fail(cf, 409, "revision-conflict", "Revision conflict",
                       detail);
        return;
    }

    ms = md_now_ms();
    sec = (time_t) (ms / 1000);
    gmtime_r(&sec, &tm);
    len = strftime(cf->now, sizeof(cf->now) - 5, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(cf->now + len, sizeof(cf->now) - len, ".%03dZ",
             (int) (ms % 1000));

    if (md_config_plan(cf) != 0) {
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "out of memory");
        return;
    }

    if (cf->nerrors != 0) {
        snprintf(detail, sizeof(detail), "%zu error%s in the document%s",
                 cf->nerrors, cf->nerrors == 1 ? "" : "s",
                 cf->nerrors > MD_CONFIG_ERRORS ? ", the first 100 listed"
                 : "");
        if (cf->too_large) {
            md_config_fail(cf, 413, "body-too-large", "Body too large",
                           detail);
            return;
        }

        md_config_fail(cf, 422, "validation-failed", "Validation failed",
                       detail);
        return;
    }

    if (cf->dry_run && cf->n != 0) {
        if (md_store_check(cf->changes, cf->n, cf->revision, cf->actor,
                           gw_svc_req_id(cf->req), md_config_checked, cf)
            != 0)
        {
            md_config_fail(cf, 503, "unavailable", "Unavailable",
                           "out of memory");
        }

        return;
    }

    if (cf->dry_run) {
        md_config_dry(cf);
        return;
    }

    if (cf->n == 0) {
        md_config_done(NULL, cf);
        return;
    }

    if (md_store_commit(cf->changes, cf->n, cf->revision, cf->actor,
                        gw_svc_req_id(cf->req), md_config_done, cf)
        != 0)
    {
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "out of memory");
    }
}


/* the change set of every type in the document; 0 or -1 (memory) */

static void
md_config_checked(md_commit_result_t *res, void *data)
{
    md_config_t  *cf = data;

    if (res->status == MD_COMMIT_OK) {
        md_config_dry(cf);
        return;
    }

    md_config_done(res, cf);
}


/*
 * The dry run's answer: {"revision": current, "changes": [{"type", "id",
 * "op", "diff"}]}, the diff a JSON Patch between the documents without
 * their meta members.
 */

static void
md_config_done(md_commit_result_t *res, void *data)
{
    md_config_t        *cf = data;
    char                detail[256], text[160];
    json_t             *out;
    md_config_where_t  *w;

    if (res == NULL || res->status == MD_COMMIT_OK) {
        out = json_pack("{s:I,s:I,s:I,s:I}", "revision",
                        (json_int_t) (res ? res->revision : cf->revision),
                        "created", (json_int_t) cf->created,
                        "updated", (json_int_t) cf->updated,
                        "deleted", (json_int_t) cf->deleted);

        gw_svc_reply_json(cf->req, 200, out);
        cf->req = NULL;
        md_config_free(cf);
        return;
    }

    w = (res->index < cf->n) ? &cf->where[res->index] : NULL;

    switch (res->status) {

    case MD_COMMIT_VERSION:
    case MD_COMMIT_REVISION:
        md_config_fail(cf, 409, "revision-conflict", "Revision conflict",
                       "the state changed while the document was applied");
        return;

    case MD_COMMIT_REF:
    case MD_COMMIT_REFERENCED:
    case MD_COMMIT_MATCH:
        snprintf(detail, sizeof(detail), "%s of %s/%s: %s",
                 res->status == MD_COMMIT_REF ? "a reference to a missing "
                 "entity" : res->status == MD_COMMIT_REFERENCED
                 ? "a delete of an entity still referred to"
                 : "a match another route holds",
                 w ? w->type : "?",
                 w ? cf->changes[res->index].id : "?",
                 res->detail ? md_type_match_text(res->detail, text,
                                                  sizeof(text)) : "");

        if (w != NULL) {
            md_config_error(cf, w->type, w->index, NULL, detail);
        }

        md_config_fail(cf, 409, "conflict", "Conflict", detail);
        return;

    default:
        md_config_fail(cf, 503, "unavailable", "Unavailable",
                       "the store failed: nothing was written");
        return;
    }
}


/* answers a problem (with cf->errors when there are any) and frees cf */

void
md_config_fail(md_config_t *cf, int status, const char *type,
    const char *title, const char *detail)
{
    json_t  *extra;

    extra = NULL;

    if (cf->errors != NULL && json_array_size(cf->errors) != 0) {
        extra = json_pack("{s:O}", "errors", cf->errors);
    }

    if (status >= 500) {
        gw_svc_log(gw_svc_req_svc(cf->req), GW_SVC_ERROR, cf->req,
                   "declarative apply failed",
                   json_pack("{s:s}", "detail", detail));

    } else {
        gw_svc_log(gw_svc_req_svc(cf->req), GW_SVC_INFO, cf->req,
                   "declarative apply refused",
                   json_pack("{s:s}", "detail", detail));
    }

    gw_svc_reply_problem_extra(cf->req, status, type, title, detail, extra);
    cf->req = NULL;

    md_config_free(cf);
}


void
md_config_free(md_config_t *cf)
{
    size_t  i;

    for (i = 0; i < cf->n; i++) {
        json_decref(cf->changes[i].doc);
    }

    free(cf->changes);
    free(cf->where);
    json_decref(cf->body);
    json_decref(cf->snapshot);
    json_decref(cf->errors);
    free(cf->actor);
    free(cf);
}
