
/*
 * Copyright (C) Tollgate
 *
 * The entities' resources (docs/admin-api.md, "Entities"):
 *
 *   /v1/{type}                   GET (a list), POST (a create)
 *   /v1/{type}/{id}              GET, PUT, PATCH, DELETE
 *   /v1/entities/{name}[/{id}]   the same for a user-defined type
 *
 * A write reads the entity first (its doc and version), checks the
 * preconditions against that version, builds the new doc and commits
 * it with if_version = the version read: the commit script compares
 * again, so of two writers that read the same version only one wins
 * and the other gets 412, whatever happened in between.  The cheap
 * refusals (access, the id, the preconditions' syntax, the body) come
 * before any Redis round trip.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "metadata_store.h"


#define MD_ETAG_ANY   GW_SVC_ETAG_ANY


typedef struct {
    gw_svc_req_t       *req;
    const char         *actor;
    unsigned            method;
    json_t             *body;
    json_t             *data;
    char               *secret;
    md_change_t         change;
} md_ereq_t;


static void md_entity_handler(gw_svc_req_t *req, void *data);
static void md_entity_go(gw_svc_req_t *req, const char *actor, void *data);
static int md_entity_path(gw_svc_req_t *req, md_type_t **t, char *id,
    int *item);
static void md_entity_get(md_ereq_t *er);
static void md_entity_read(int status, json_t *doc, long long version,
    void *data);
static void md_entity_write(md_ereq_t *er);
static json_t *md_entity_body(md_ereq_t *er);
static void md_entity_current(int status, json_t *doc, long long version,
    void *data);
static int md_entity_data(md_ereq_t *er);
static void md_entity_commit(md_ereq_t *er);
static void md_entity_committed(md_commit_result_t *res, void *data);
static void md_entity_conflict(md_ereq_t *er, md_commit_result_t *res);
static int md_etag_match(const char *h, long long version);
static void md_entity_time(char *buf, size_t size, int64_t ms);
static void md_ereq_done(md_ereq_t *er);


static const char  *md_builtin[] = {
    "consumers", "keys", "routes", "upstreams", "plans", "limits",
    "schemas", "plugins", "clients", "pipelines", "templates", NULL
};


int
md_entity_setup(gw_svc_t *svc)
{
    char          path[64];
    const char  **name;

    if (md_store_setup(svc) != 0) {
        return -1;
    }

    for (name = md_builtin; *name != NULL; name++) {
        snprintf(path, sizeof(path), "/v1/%s", *name);

        if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD | GW_SVC_POST, path,
                         0, md_entity_handler, NULL)
            != 0)
        {
            goto failed;
        }

        snprintf(path, sizeof(path), "/v1/%s/", *name);

        if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD | GW_SVC_PUT
                              | GW_SVC_PATCH | GW_SVC_DELETE,
                         path, GW_SVC_PREFIX, md_entity_handler, NULL)
            != 0)
        {
            goto failed;
        }
    }

    if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD | GW_SVC_POST
                          | GW_SVC_PUT | GW_SVC_PATCH | GW_SVC_DELETE,
                     "/v1/entities/", GW_SVC_PREFIX, md_entity_handler,
                     NULL)
        == 0)
    {
        return 0;
    }

failed:

    gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot add routes",
               json_pack("{s:s}", "error", gw_svc_error(svc)));
    return -1;
}


int
md_entity_url(md_type_t *t, const char *id, char *buf, size_t size)
{
    int          n;
    const char  *name;

    name = md_type_name(t);

    if (strncmp(name, "u.", 2) == 0) {
        n = snprintf(buf, size, "/v1/entities/%s/%s", name + 2, id);

    } else {
        n = snprintf(buf, size, "/v1/%s/%s", name, id);
    }

    return (n > 0 && (size_t) n < size) ? 0 : -1;
}


static void
md_entity_handler(gw_svc_req_t *req, void *data)
{
    const char  *m;

    m = gw_svc_req_method(req);

    md_access(req, (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
                   ? MD_ROLE_READ : MD_ROLE_WRITE,
              md_entity_go, NULL);
}


/*
 * The type and id of the path: 0, or -1 when answered (404 for an
 * unknown type, 400 for a malformed id).  *item: 1 for /{type}/{id}.
 */

static int
md_entity_path(gw_svc_req_t *req, md_type_t **t, char *id, int *item)
{
    char         name[MD_TYPE_MAX + 1];
    size_t       len;
    const char  *p, *slash;

    p = gw_svc_req_path(req) + 4;
    *t = NULL;

    if (strncmp(p, "entities/", 9) == 0) {
        p += 9;
    }

    slash = strchr(p, '/');
    len = (slash != NULL) ? (size_t) (slash - p) : strlen(p);

    if (len > 0 && len <= MD_TYPE_MAX) {
        memcpy(name, p, len);
        name[len] = '\0';

        *t = (p == gw_svc_req_path(req) + 4) ? md_type_get(name)
                                              : md_type_user(name);
    }

    if (*t == NULL || strcmp(md_type_name(*t), "types") == 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such entity type");
        return -1;
    }

    *item = (slash != NULL);

    if (slash == NULL) {
        return 0;
    }

    len = strlen(slash + 1);

    if (!md_id_valid(slash + 1, len)) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "the id is not well formed: 1 to 64 bytes of "
                             "[A-Za-z0-9._-], first a letter or digit");
        return -1;
    }

    memcpy(id, slash + 1, len + 1);

    return 0;
}


static void
md_entity_go(gw_svc_req_t *req, const char *actor, void *data)
{
    int          item;
    md_type_t   *t;
    md_ereq_t   *er;
    const char  *m, *q;
    char         id[MD_ID_MAX + 1];

    id[0] = '\0';

    if (md_entity_path(req, &t, id, &item) != 0) {
        return;
    }

    m = gw_svc_req_method(req);

    if (!item && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)) {
        md_entity_list(req, t);
        return;
    }

    q = gw_svc_req_query(req);

    if (q != NULL && q[0] != '\0') {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             "unknown query parameter");
        return;
    }

    if (item == (strcmp(m, "POST") == 0)) {
        gw_svc_reply_problem(req, 405, "method-not-allowed",
                             "Method not allowed",
                             "this resource does not take that method");
        return;
    }

    er = calloc(1, sizeof(md_ereq_t));
    if (er == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    er->req = req;
    er->actor = actor;
    er->change.type = t;
    memcpy(er->change.id, id, sizeof(id));

    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        er->method = GW_SVC_GET;
        md_entity_get(er);
        return;
    }

    er->method = (strcmp(m, "POST") == 0) ? GW_SVC_POST
                 : (strcmp(m, "PUT") == 0) ? GW_SVC_PUT
                 : (strcmp(m, "PATCH") == 0) ? GW_SVC_PATCH
                 : GW_SVC_DELETE;

    md_entity_write(er);
}


static void
md_ereq_done(md_ereq_t *er)
{
    json_decref(er->body);
    json_decref(er->data);
    json_decref(er->change.doc);
    json_decref(er->change.before);

    if (er->secret != NULL) {
        OPENSSL_cleanse(er->secret, strlen(er->secret));
        free(er->secret);
    }

    free(er);
}


static void
md_entity_unavailable(md_ereq_t *er)
{
    gw_svc_reply_problem(er->req, 503, "unavailable", "Unavailable",
                         "the store is unavailable; nothing was written");
    md_ereq_done(er);
}


/* ---- GET ----------------------------------------------------------------- */


static void
md_entity_get(md_ereq_t *er)
{
    if (md_store_get(er->change.type, er->change.id, md_entity_read, er)
        != 0)
    {
        md_entity_unavailable(er);
    }
}


static void
md_entity_reply_doc(md_ereq_t *er, int status, json_t *doc,
    long long version)
{
    char  etag[32];

    snprintf(etag, sizeof(etag), "\"%lld\"", version);
    gw_svc_req_add_header(er->req, "ETag", etag);

    gw_svc_reply_json(er->req, status, doc);
}


static void
md_entity_read(int status, json_t *doc, long long version, void *data)
{
    char         etag[32];
    md_ereq_t   *er;
    const char  *inm;

    er = data;

    if (status == 404) {
        gw_svc_reply_problem(er->req, 404, "not-found", "Not found",
                             "no such entity");
        md_ereq_done(er);
        return;
    }

    if (status != 200) {
        md_entity_unavailable(er);
        return;
    }

    inm = gw_svc_req_header(er->req, "If-None-Match");

    if (inm != NULL && md_etag_match(inm, version) > 0) {
        json_decref(doc);
        snprintf(etag, sizeof(etag), "\"%lld\"", version);
        gw_svc_req_add_header(er->req, "ETag", etag);
        gw_svc_reply(er->req, 304, NULL, NULL, 0);
        md_ereq_done(er);
        return;
    }

    md_entity_reply_doc(er, 200, doc, version);
    md_ereq_done(er);
}


/* ---- writes -------------------------------------------------------------- */


static void
md_entity_write(md_ereq_t *er)
{
    const char  *im, *inm;

    im = gw_svc_req_header(er->req, "If-Match");
    inm = gw_svc_req_header(er->req, "If-None-Match");

    if (er->method != GW_SVC_POST) {

        if (im != NULL && md_etag_match(im, 0) < 0) {
            gw_svc_reply_problem(er->req, 400, "bad-request", "Bad request",
                                 "If-Match is not a list of entity tags "
                                 "nor *");
            md_ereq_done(er);
            return;
        }

        if (inm != NULL
            && (er->method != GW_SVC_PUT
                || md_etag_match(inm, 0) != MD_ETAG_ANY))
        {
            gw_svc_reply_problem(er->req, 400, "bad-request", "Bad request",
                                 "If-None-Match on a write must be *");
            md_ereq_done(er);
            return;
        }

        if (im == NULL && inm == NULL) {
            gw_svc_reply_problem(er->req, 428, "precondition-required",
                                 "Precondition required",
                                 "a write needs If-Match (or, to create, "
                                 "If-None-Match: *)");
            md_ereq_done(er);
            return;
        }
    }

    if (er->method != GW_SVC_DELETE) {
        er->body = md_entity_body(er);
        if (er->body == NULL) {
            md_ereq_done(er);
            return;
        }
    }

    if (er->method == GW_SVC_POST) {
        if (md_entity_data(er) == 0) {
            md_entity_commit(er);
        }

        return;
    }

    if (md_store_get(er->change.type, er->change.id, md_entity_current, er)
        != 0)
    {
        md_entity_unavailable(er);
    }
}


/*
 * The parsed body: an object of JSON (merge-patch+json for PATCH), at
 * most doc_max bytes, no duplicate member names, nesting and integers
 * within the caps.  NULL when answered.
 */

static json_t *
md_entity_body(md_ereq_t *er)
{
    char          detail[160];
    size_t        len, n;
    json_t       *body;
    const char   *ct, *want, *text, *why;
    json_error_t  err;

    want = (er->method == GW_SVC_PATCH) ? "application/merge-patch+json"
                                        : "application/json";

    ct = gw_svc_req_header(er->req, "Content-Type");
    n = strlen(want);

    if (ct != NULL) {
        ct += strspn(ct, " \t");
    }

    if (ct == NULL || strncasecmp(ct, want, n) != 0
        || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
    {
        snprintf(detail, sizeof(detail), "the body must be %s", want);
        gw_svc_reply_problem(er->req, 415, "unsupported-media-type",
                             "Unsupported media type", detail);
        return NULL;
    }

    text = gw_svc_req_body(er->req, &len);

    if (len > md.doc_max) {
        gw_svc_reply_problem(er->req, 413, "body-too-large",
                             "Body too large",
                             "the body is over doc_max");
        return NULL;
    }

    body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

    if (body == NULL) {
        snprintf(detail, sizeof(detail),
                 "the body is not JSON or repeats a member name "
                 "(line %d, column %d)", err.line, err.column);
        gw_svc_reply_problem(er->req, 400, "malformed-json",
                             "Malformed JSON", detail);
        return NULL;
    }

    why = json_is_object(body) ? md_json_check(body, 1)
                               : "the body is not a JSON object";

    if (why != NULL) {
        json_decref(body);
        gw_svc_reply_problem(er->req, 400, "malformed-json",
                             "Malformed JSON", why);
        return NULL;
    }

    return body;
}


static void
md_entity_current(int status, json_t *doc, long long version, void *data)
{
    int          m;
    md_ereq_t   *er;
    const char  *im, *inm;

    er = data;

    if (status != 200 && status != 404) {
        md_entity_unavailable(er);
        return;
    }

    er->change.before = (status == 200) ? doc : NULL;
    er->change.if_version = (status == 200) ? version : MD_ABSENT;

    im = gw_svc_req_header(er->req, "If-Match");
    inm = gw_svc_req_header(er->req, "If-None-Match");

    m = (im != NULL) ? md_etag_match(im, version) : 1;

    if ((im != NULL && (status != 200 || m == 0))
        || (inm != NULL && status == 200))
    {
        gw_svc_reply_problem(er->req, 412, "precondition-failed",
                             "Precondition failed",
                             status == 200 ? "the entity's version is "
                                             "not the one expected"
                                           : "no such entity");
        md_ereq_done(er);
        return;
    }

    if (er->method == GW_SVC_DELETE) {
        md_entity_commit(er);
        return;
    }

    if (er->method == GW_SVC_PATCH && er->change.before == NULL) {
        gw_svc_reply_problem(er->req, 404, "not-found", "Not found",
                             "no such entity");
        md_ereq_done(er);
        return;
    }

    if (md_entity_data(er) == 0) {
        md_entity_commit(er);
    }
}


/* the 422 answer with errors[] (stolen) */

static void
md_entity_invalid(md_ereq_t *er, json_t *errors, const char *detail)
{
    gw_svc_reply_problem_extra(er->req, 422, "validation-failed",
                               "Validation failed", detail,
                               json_pack("{s:o}", "errors", errors));
    md_ereq_done(er);
}


/*
 * The new doc (er->change.doc) from the body, the current doc and the
 * actor: 0, or -1 when answered.
 */

static int
md_entity_data(md_ereq_t *er)
{
    int             rc;
    char            now[40];
    json_t         *patch, *errors, *doc, *v, *prev;
    const char     *key, *id, *error, *created, *creator;
    unsigned char   rnd[16];

    static const char  digits[] = "0123456789abcdef";

    /* the meta members: ignored, but for an id that must be the URL's */

    v = json_object_get(er->body, "id");
    id = json_string_value(v);

    if (er->method == GW_SVC_POST && er->change.id[0] == '\0' && v == NULL
        && (strcmp(md_type_name(er->change.type), "pipelines") == 0
            || strcmp(md_type_name(er->change.type), "templates") == 0))
    {
        /* a pipeline's or a template's id is its name */
        key = json_string_value(json_object_get(er->body, "name"));

        if (key != NULL && md_id_valid(key, strlen(key))) {
            memcpy(er->change.id, key, strlen(key) + 1);
        }
    }

    if (er->method == GW_SVC_POST && er->change.id[0] == '\0') {
        if (v == NULL) {
            if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
                md_entity_unavailable(er);
                return -1;
            }

            for (rc = 0; rc < 16; rc++) {
                er->change.id[2 * rc] = digits[rnd[rc] >> 4];
                er->change.id[2 * rc + 1] = digits[rnd[rc] & 0xf];
            }

            er->change.id[32] = '\0';

        } else if (id != NULL && md_id_valid(id, strlen(id))) {
            memcpy(er->change.id, id, strlen(id) + 1);
        }
    }

    if (v != NULL && (id == NULL || strcmp(id, er->change.id) != 0)) {
        errors = json_pack("[{s:s, s:s}]", "pointer", "/id", "message",
                           "must be the entity's id, as in its URL");
        md_entity_invalid(er, errors, "the id is not the entity's");
        return -1;
    }

    patch = json_object();
    if (patch == NULL) {
        md_entity_unavailable(er);
        return -1;
    }

    /*
     * the data: the body without its meta members and without what only
     * the service sets (a key's prefix, a client's secret_hash), whose
     * stored values a PUT keeps as a PATCH does
     */

    json_object_foreach(er->body, key, v) {
        if (!md_meta_member(key)
            && !md_readonly_member(er->change.type, key)
            && json_object_set(patch, key, v) != 0)
        {
            json_decref(patch);
            md_entity_unavailable(er);
            return -1;
        }
    }

    if (er->method == GW_SVC_PUT && er->change.before != NULL) {
        json_object_foreach(er->change.before, key, v) {
            if (md_readonly_member(er->change.type, key)
                && json_object_set(patch, key, v) != 0)
            {
                json_decref(patch);
                md_entity_unavailable(er);
                return -1;
            }
        }
    }

    if (er->method == GW_SVC_PATCH) {
        er->data = md_merge_patch(md_data_of(er->change.before), patch);
        json_decref(patch);

    } else {
        er->data = patch;
    }

    errors = json_array();

    if (er->data == NULL || errors == NULL) {
        json_decref(errors);
        md_entity_unavailable(er);
        return -1;
    }

    rc = md_type_validate(er->change.type, er->data, errors);

    if (rc == 1) {
        rc = md_type_check_id(er->change.type, er->change.id, er->data,
                              errors);
    }

    if (rc != 1) {
        if (rc == 0) {
            md_entity_invalid(er, errors, "the entity is not valid");

        } else {
            json_decref(errors);
            md_entity_unavailable(er);
        }

        return -1;
    }

    json_decref(errors);

    /* a key's or client's secret: made on POST only, returned once */

    key = md_type_name(er->change.type);

    if (er->method == GW_SVC_POST
        && (strcmp(key, "keys") == 0 || strcmp(key, "clients") == 0))
    {
        rc = md_project_secret(er->change.type, er->data, &er->secret,
                               &error);

        if (rc == MD_SECRET_NO_PEPPER) {
            gw_svc_log(md.svc, GW_SVC_INFO, er->req, "no secret made",
                       json_pack("{s:s}", "error", error));
            gw_svc_reply_problem(er->req, 409, "conflict", "Conflict",
                                 error);
            md_ereq_done(er);
            return -1;
        }

        if (rc != 0) {
            gw_svc_log(md.svc, GW_SVC_ERROR, er->req, "no secret made",
                       json_pack("{s:s}", "error", error));
            gw_svc_reply_problem(er->req, 503, "unavailable",
                                 "Unavailable", error);
            md_ereq_done(er);
            return -1;
        }

        id = json_string_value(json_object_get(er->data, "id"));

        if (id != NULL && md_id_valid(id, strlen(id))) {
            memcpy(er->change.id, id, strlen(id) + 1);
        }

        json_object_del(er->data, "id");
    }

    /* the doc: id first, the data, then who made and changed it when */

    md_entity_time(now, sizeof(now), md_now_ms());
    prev = er->change.before;

    created = (prev != NULL)
              ? json_string_value(json_object_get(prev, "created_at"))
              : NULL;
    creator = (prev != NULL)
              ? json_string_value(json_object_get(prev, "created_by"))
              : NULL;

    doc = json_pack("{s:s}", "id", er->change.id);

    if (doc == NULL || json_object_update(doc, er->data) != 0
        || json_object_set_new(doc, "created_at",
                               json_string(created != NULL ? created : now))
           != 0
        || json_object_set_new(doc, "created_by",
                               json_string(creator != NULL ? creator
                                                           : er->actor))
           != 0
        || json_object_set_new(doc, "updated_at", json_string(now)) != 0
        || json_object_set_new(doc, "updated_by", json_string(er->actor))
           != 0)
    {
        json_decref(doc);
        md_entity_unavailable(er);
        return -1;
    }

    er->change.doc = doc;

    return 0;
}


static void
md_entity_commit(md_ereq_t *er)
{
    char    *text;
    size_t   len;

    if (er->change.doc != NULL) {
        text = json_dumps(er->change.doc, JSON_COMPACT);
        len = (text != NULL) ? strlen(text) : 0;
        free(text);

        if (text == NULL) {
            md_entity_unavailable(er);
            return;
        }

        if (len > md.doc_max) {
            gw_svc_reply_problem(er->req, 413, "body-too-large",
                                 "Body too large",
                                 "the entity would be over doc_max");
            md_ereq_done(er);
            return;
        }
    }

    if (md_store_commit(&er->change, 1, -1, er->actor,
                        gw_svc_req_id(er->req), md_entity_committed, er)
        != 0)
    {
        md_entity_unavailable(er);
    }
}


static void
md_entity_committed(md_commit_result_t *res, void *data)
{
    int         status;
    char        url[256];
    json_t     *doc;
    md_ereq_t  *er;

    er = data;

    if (res->status == MD_COMMIT_ERROR) {
        md_entity_unavailable(er);
        return;
    }

    if (res->status != MD_COMMIT_OK) {
        md_entity_conflict(er, res);
        return;
    }

    if (er->change.doc == NULL) {
        gw_svc_reply(er->req, 204, NULL, NULL, 0);
        md_ereq_done(er);
        return;
    }

    status = (er->change.before == NULL) ? 201 : 200;

    if (status == 201
        && md_entity_url(er->change.type, er->change.id, url, sizeof(url))
           == 0)
    {
        gw_svc_req_add_header(er->req, "Location", url);
    }

    doc = json_copy(er->change.doc);

    if (doc == NULL
        || json_object_set_new(doc, "version", json_integer(res->revision))
           != 0
        || (er->secret != NULL
            && json_object_set_new(doc, "secret", json_string(er->secret))
               != 0))
    {
        json_decref(doc);
        md_entity_unavailable(er);
        return;
    }

    md_entity_reply_doc(er, status, doc, res->revision);
    md_ereq_done(er);
}


/*
 * A refused commit: 412 for a version (409 for a POST: the id is
 * taken), 409 for the rest, with errors[] naming the member at fault
 * as md_type_pointer() finds it: the member holding a missing entity's
 * id (MD_COMMIT_REF) or a match key another entity holds
 * (MD_COMMIT_MATCH); "" (the whole entity) for a delete still referred
 * to (MD_COMMIT_REFERENCED).
 */

static void
md_entity_conflict(md_ereq_t *er, md_commit_result_t *res)
{
    char         ptr[64], msg[200], text[160];
    const char  *pointer;

    if (res->status == MD_COMMIT_VERSION) {
        if (er->method == GW_SVC_POST) {
            gw_svc_reply_problem(er->req, 409, "conflict", "Conflict",
                                 "an entity with this id exists");

        } else {
            gw_svc_reply_problem(er->req, 412, "precondition-failed",
                                 "Precondition failed",
                                 "the entity's version is not the one "
                                 "expected");
        }

        md_ereq_done(er);
        return;
    }

    if (res->status == MD_COMMIT_REVISION) {
        gw_svc_reply_problem(er->req, 409, "revision-conflict",
                             "Revision conflict",
                             "the revision is not the one expected");
        md_ereq_done(er);
        return;
    }

    pointer = "";

    if (res->status == MD_COMMIT_REF) {
        snprintf(msg, sizeof(msg), "refers to %.160s, which does not exist",
                 res->detail);

    } else if (res->status == MD_COMMIT_REFERENCED) {
        snprintf(msg, sizeof(msg), "%.160s refers to this entity",
                 res->detail);

    } else {
        snprintf(msg, sizeof(msg), "another entity matches the same "
                 "requests (%.120s)",
                 md_type_match_text(res->detail, text, sizeof(text)));
    }

    if (res->status != MD_COMMIT_REFERENCED && er->data != NULL) {
        pointer = md_type_pointer(er->change.type, er->data, res->detail,
                                  ptr, sizeof(ptr));
    }

    gw_svc_reply_problem_extra(er->req, 409, "conflict", "Conflict", msg,
                               json_pack("{s:[{s:s, s:o}]}", "errors",
                                         "pointer", pointer, "message",
                                         gw_svc_json_string(msg)));
    md_ereq_done(er);
}


/* ---- helpers ------------------------------------------------------------- */


/*
 * If-Match / If-None-Match against version's tag, compared strongly
 * (gw_svc_etag_match()): 1, MD_ETAG_ANY for "*", 0 or -1 (malformed).
 */

static int
md_etag_match(const char *h, long long version)
{
    char  tag[32];

    snprintf(tag, sizeof(tag), "\"%lld\"", version);

    return gw_svc_etag_match(h, tag, 0);
}


/* RFC 3339, UTC, milliseconds: 2026-12-06T12:00:00.123Z */

static void
md_entity_time(char *buf, size_t size, int64_t ms)
{
    time_t     t;
    size_t     n;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);

    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int) (ms % 1000));
}
