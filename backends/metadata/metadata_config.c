
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

#include "metadata.h"


#define MD_CONFIG_ENTITIES_MAX  100000  /* entities in one document */
#define MD_CONFIG_ERRORS        100     /* errors[] of one answer */
#define MD_CONFIG_DEPTH         64      /* nesting of the body */
#define MD_CONFIG_POINTER_MAX   (MD_TYPE_MAX + 32)


typedef struct {
    const char         *type;           /* the storage name */
    long                index;          /* in the document, -1: a delete */
} md_config_where_t;


typedef struct {
    gw_svc_req_t       *req;
    char               *actor;          /* a copy: md_access() keeps its
                                           own only while cb runs */
    json_t             *body;
    json_t             *snapshot;
    json_t             *errors;
    size_t              nerrors;        /* all found, even past the cap */
    md_change_t        *changes;
    md_config_where_t  *where;
    size_t              n;
    size_t              nalloc;
    size_t              created;
    size_t              updated;
    size_t              deleted;
    long long           expected;       /* -1: none given */
    long long           revision;       /* the snapshot's */
    char                now[32];        /* RFC 3339, for the new docs */
    unsigned            dry_run:1;
    unsigned            too_large:1;    /* an entity over doc_max: 413 */
} md_config_t;


static void md_config_handler(gw_svc_req_t *req, void *data);
static void md_config_access(gw_svc_req_t *req, const char *actor,
    void *data);
static int md_config_query(gw_svc_req_t *req, int *dry_run);
static int md_config_media(gw_svc_req_t *req);
static int md_config_depth(const char *text, size_t len, unsigned max);
static int md_config_shape(md_config_t *cf);
static void md_config_snapshot(int status, json_t *snapshot, void *data);
static int md_config_plan(md_config_t *cf);
static int md_config_type(md_config_t *cf, const char *name, json_t *docs);
static int md_config_entity(md_config_t *cf, md_type_t *t, json_t *doc,
    size_t i, json_t *stored, json_t *seen);
static json_t *md_config_data(json_t *doc, int keep_id);
static int md_config_carry(md_type_t *t, json_t *data, json_t *before);
static json_t *md_config_doc(md_config_t *cf, const char *id, json_t *data,
    json_t *before);
static int md_config_add(md_config_t *cf, md_type_t *t, const char *id,
    long long if_version, json_t *doc, json_t *before, long index);
static int md_config_error(md_config_t *cf, const char *type, long index,
    const char *member, const char *message);
static void md_config_checked(md_commit_result_t *res, void *data);
static void md_config_dry(md_config_t *cf);
static void md_config_done(md_commit_result_t *res, void *data);
static void md_config_fail(md_config_t *cf, int status, const char *type,
    const char *title, const char *detail);
static void md_config_free(md_config_t *cf);


/* the meta members: set by the service, ignored in a document */
static const char  *md_config_meta[] = {
    "version", "created_at", "updated_at", "created_by", "updated_by", NULL
};

/* what a stored key or client keeps when a document leaves it out */
static const char  *md_config_kept[] = {
    "secret_hash", "secret_old_hash", "secret_old_until", NULL
};


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
md_config_depth(const char *text, size_t len, unsigned max)
{
    size_t    i;
    unsigned  depth, in_string;

    depth = 0;
    in_string = 0;

    for (i = 0; i < len; i++) {

        if (in_string) {
            if (text[i] == '\\') {
                i++;

            } else if (text[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (text[i]) {
        case '"':
            in_string = 1;
            break;

        case '[':
        case '{':
            if (++depth > max) {
                return -1;
            }
            break;

        case ']':
        case '}':
            if (depth > 0) {
                depth--;
            }
            break;
        }
    }

    return 0;
}


/*
 * The document's members: expected_revision (or the snapshot's
 * "revision"), a non-negative integer; "entities", an object of arrays;
 * nothing else.  Also the entity cap (413).  0, or -1 answered (422,
 * 413): these errors need no state, so they come before the snapshot.
 */

static int
md_config_shape(md_config_t *cf)
{
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

    if (total > MD_CONFIG_ENTITIES_MAX) {
        md_config_fail(cf, 413, "body-too-large", "Body too large",
                       "more entities than one document may hold "
                       "(100000)");
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

static int
md_config_plan(md_config_t *cf)
{
    json_t      *docs;
    const char  *name;

    json_object_foreach(json_object_get(cf->body, "entities"), name, docs) {
        if (md_config_type(cf, name, docs) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * One type of the document against its stored entities: a create or an
 * update for each document that differs from the stored one, a delete
 * for each stored entity not listed.
 */

static int
md_config_type(md_config_t *cf, const char *name, json_t *docs)
{
    size_t       i;
    json_t      *stored, *seen, *doc, *v;
    md_type_t   *t;
    const char  *id;

    t = md_type_get(name);

    if (t == NULL) {
        return md_config_error(cf, name, -1, NULL, "unknown entity type");
    }

    /* the stored docs by id, and the ids the document lists */

    stored = json_object();
    seen = json_object();

    if (stored == NULL || seen == NULL) {
        goto failed;
    }

    json_array_foreach(json_object_get(json_object_get(cf->snapshot,
                                                       "entities"), name),
                       i, doc)
    {
        v = json_object_get(doc, "id");

        if (json_is_string(v)
            && json_object_set(stored, json_string_value(v), doc) != 0)
        {
            goto failed;
        }
    }

    json_array_foreach(docs, i, doc) {
        if (md_config_entity(cf, t, doc, i, stored, seen) != 0) {
            goto failed;
        }
    }

    json_object_foreach(stored, id, doc) {
        if (json_object_get(seen, id) != NULL) {
            continue;
        }

        v = json_object_get(doc, "version");

        if (md_config_add(cf, t, id, json_integer_value(v), NULL, doc, -1)
            != 0)
        {
            goto failed;
        }
    }

    json_decref(stored);
    json_decref(seen);

    return 0;

failed:

    json_decref(stored);
    json_decref(seen);

    return -1;
}


/* one document of the type: checked, validated, compared */

static int
md_config_entity(md_config_t *cf, md_type_t *t, json_t *doc, size_t i,
    json_t *stored, json_t *seen)
{
    int          rc;
    char         pointer[MD_CONFIG_POINTER_MAX + MD_ID_MAX];
    size_t       k, size;
    json_t      *v, *data, *before, *old, *errors, *e, *p, *next;
    const char  *id, *name;

    name = md_type_name(t);

    if (!json_is_object(doc)) {
        return md_config_error(cf, name, i, NULL, "expects an object");
    }

    v = json_object_get(doc, "id");

    if (!json_is_string(v)
        || !md_id_valid(json_string_value(v), json_string_length(v)))
    {
        return md_config_error(cf, name, i, "id",
                               "required: 1 to 64 bytes of "
                               "A-Z a-z 0-9 . _ -, a letter or digit first");
    }

    id = json_string_value(v);

    if (strcmp(name, "types") == 0
        && (!md_type_name_valid(id, strlen(id)) || md_type_builtin_name(id)))
    {
        return md_config_error(cf, name, i, "id",
                               "a type's name: [a-z][a-z0-9_-]{0,31}, "
                               "not a built-in type's");
    }

    if (json_object_get(seen, id) != NULL) {
        return md_config_error(cf, name, i, "id",
                               "listed twice in the document");
    }

    if (json_object_set(seen, id, json_true()) != 0) {
        return -1;
    }

    if ((strcmp(name, "keys") == 0 || strcmp(name, "clients") == 0)
        && json_object_get(doc, "secret") != NULL)
    {
        return md_config_error(cf, name, i, "secret",
                               "secrets are not set through /v1/config: "
                               "create the entity with POST, its hash "
                               "carries over");
    }

    data = md_config_data(doc, 0);
    if (data == NULL) {
        return -1;
    }

    before = json_object_get(stored, id);
    old = NULL;
    rc = -1;

    if (before != NULL) {
        old = md_config_data(before, 0);
        if (old == NULL || md_config_carry(t, data, before) != 0) {
            goto done;
        }
    }

    size = json_dumpb(data, NULL, 0, JSON_COMPACT);

    if (size > md.doc_max) {
        cf->too_large = 1;
        rc = md_config_error(cf, name, i, NULL,
                             "the entity is larger than doc_max");
        goto done;
    }

    errors = json_array();
    if (errors == NULL) {
        goto done;
    }

    if (md_type_validate(t, data, errors) < 0) {
        json_decref(errors);
        goto done;
    }

    json_array_foreach(errors, k, e) {
        p = json_object_get(e, "pointer");
        snprintf(pointer, sizeof(pointer), "/entities/%s/%zu%s", name, i,
                 json_is_string(p) ? json_string_value(p) : "");

        next = json_string(pointer);
        if (next == NULL || json_object_set_new(e, "pointer", next) != 0) {
            json_decref(errors);
            goto done;
        }

        cf->nerrors++;

        if (json_array_size(cf->errors) < MD_CONFIG_ERRORS
            && json_array_append(cf->errors, e) != 0)
        {
            json_decref(errors);
            goto done;
        }
    }

    k = json_array_size(errors);
    json_decref(errors);

    if (k != 0 || cf->nerrors != 0) {
        rc = 0;
        goto done;
    }

    if (old != NULL && json_equal(old, data)) {
        rc = 0;
        goto done;
    }

    doc = md_config_doc(cf, id, data, before);
    if (doc == NULL) {
        goto done;
    }

    v = json_object_get(before, "version");

    rc = md_config_add(cf, t, id, before ? json_integer_value(v) : MD_ABSENT,
                       doc, before, i);

done:

    json_decref(data);
    json_decref(old);

    return rc;
}


/* a copy of doc without its meta members, and without "id" unless asked */

static json_t *
md_config_data(json_t *doc, int keep_id)
{
    json_t       *data;
    const char  **m;

    data = json_deep_copy(doc);
    if (data == NULL) {
        return NULL;
    }

    for (m = md_config_meta; *m != NULL; m++) {
        json_object_del(data, *m);
    }

    if (!keep_id) {
        json_object_del(data, "id");
    }

    return data;
}


/* a key's or client's stored hashes, when the document leaves them out */

static int
md_config_carry(md_type_t *t, json_t *data, json_t *before)
{
    json_t       *v;
    const char   *name, **m;

    name = md_type_name(t);

    if (strcmp(name, "keys") != 0 && strcmp(name, "clients") != 0) {
        return 0;
    }

    for (m = md_config_kept; *m != NULL; m++) {
        v = json_object_get(before, *m);

        if (v != NULL && json_object_get(data, *m) == NULL
            && json_object_set(data, *m, v) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/*
 * The document to store: "id", the data, the times and actors (created
 * ones kept from before), without "version", which the commit sets.
 */

static json_t *
md_config_doc(md_config_t *cf, const char *id, json_t *data, json_t *before)
{
    json_t      *doc, *created_at, *created_by;
    const char  *key;
    json_t      *v;

    doc = json_object();
    if (doc == NULL) {
        return NULL;
    }

    created_at = json_object_get(before, "created_at");
    created_by = json_object_get(before, "created_by");

    if (json_object_set_new(doc, "id", json_string(id)) != 0) {
        goto failed;
    }

    json_object_foreach(data, key, v) {
        if (json_object_set(doc, key, v) != 0) {
            goto failed;
        }
    }

    if ((created_at != NULL
         ? json_object_set(doc, "created_at", created_at)
         : json_object_set_new(doc, "created_at", json_string(cf->now)))
        != 0
        || (created_by != NULL
            ? json_object_set(doc, "created_by", created_by)
            : json_object_set_new(doc, "created_by",
                                  json_string(cf->actor)))
           != 0
        || json_object_set_new(doc, "updated_at", json_string(cf->now)) != 0
        || json_object_set_new(doc, "updated_by", json_string(cf->actor))
           != 0)
    {
        goto failed;
    }

    return doc;

failed:

    json_decref(doc);

    return NULL;
}


/* appends a change (doc is stolen; before is borrowed from the snapshot) */

static int
md_config_add(md_config_t *cf, md_type_t *t, const char *id,
    long long if_version, json_t *doc, json_t *before, long index)
{
    size_t              n;
    md_change_t        *c, *changes;
    md_config_where_t  *where;

    if (cf->n == cf->nalloc) {
        n = cf->nalloc ? cf->nalloc * 2 : 16;

        changes = realloc(cf->changes, n * sizeof(md_change_t));
        if (changes == NULL) {
            json_decref(doc);
            return -1;
        }

        cf->changes = changes;

        where = realloc(cf->where, n * sizeof(md_config_where_t));
        if (where == NULL) {
            json_decref(doc);
            return -1;
        }

        cf->where = where;
        cf->nalloc = n;
    }

    c = &cf->changes[cf->n];
    memset(c, 0, sizeof(md_change_t));

    c->type = t;
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->if_version = if_version;
    c->doc = doc;
    c->before = before;

    cf->where[cf->n].type = md_type_name(t);
    cf->where[cf->n].index = index;
    cf->n++;

    if (doc == NULL) {
        cf->deleted++;

    } else if (before == NULL) {
        cf->created++;

    } else {
        cf->updated++;
    }

    return 0;
}


/*
 * Adds {"pointer", "message"} to the answer's errors (up to the cap):
 * the pointer is "/entities/<type>/<index>/<member>" without the parts
 * that are absent (type NULL: a member of the document itself; index
 * -1: the type's array).  Returns 0, or -1 when out of memory.
 */

static int
md_config_error(md_config_t *cf, const char *type, long index,
    const char *member, const char *message)
{
    char         pointer[MD_CONFIG_POINTER_MAX * 4], *p, *end;
    json_t      *e;
    const char  *s;

    cf->nerrors++;

    if (json_array_size(cf->errors) >= MD_CONFIG_ERRORS) {
        return 0;
    }

    /* a type is a key of the body: escaped (RFC 6901), and cut short */

    p = pointer;
    end = pointer + sizeof(pointer) - 32;

    if (type != NULL) {
        p += snprintf(p, end - p, "/entities/");

        for (s = type; *s != '\0' && p + 2 < end; s++) {
            if (*s == '~' || *s == '/') {
                *p++ = '~';
                *p++ = (*s == '~') ? '0' : '1';

            } else if ((unsigned char) *s < 0x80) {
                *p++ = *s;

            } else {
                *p++ = '?';
            }
        }

        if (index >= 0) {
            p += snprintf(p, end + 32 - p, "/%ld", index);
        }
    }

    if (member != NULL) {
        snprintf(p, end + 32 - p, "/%s", member);

    } else {
        *p = '\0';
    }

    e = json_pack("{s:s,s:s}", "pointer", pointer, "message", message);

    if (e == NULL || json_array_append_new(cf->errors, e) != 0) {
        return -1;
    }

    return 0;
}


/* a dry run's check by the commit script: the diff, or its refusal */

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
md_config_dry(md_config_t *cf)
{
    size_t        i;
    json_t       *out, *list, *a, *b, *diff, *c;
    const char   *op;
    md_change_t  *ch;

    list = json_array();
    out = json_pack("{s:I,s:o}", "revision", (json_int_t) cf->revision,
                    "changes", list);

    if (out == NULL) {
        goto failed;
    }

    for (i = 0; i < cf->n; i++) {
        ch = &cf->changes[i];

        a = ch->before != NULL ? md_config_data(ch->before, 1) : NULL;
        b = ch->doc != NULL ? md_config_data(ch->doc, 1) : NULL;

        diff = ((ch->before == NULL || a != NULL)
                && (ch->doc == NULL || b != NULL))
               ? md_diff(a, b) : NULL;

        json_decref(a);
        json_decref(b);

        if (diff == NULL) {
            goto failed;
        }

        op = ch->doc == NULL ? "delete"
             : ch->before == NULL ? "create" : "update";

        c = json_pack("{s:s,s:s,s:s,s:o}", "type", md_type_name(ch->type),
                      "id", ch->id, "op", op, "diff", diff);

        if (c == NULL || json_array_append_new(list, c) != 0) {
            goto failed;
        }
    }

    gw_svc_reply_json(cf->req, 200, out);
    cf->req = NULL;
    md_config_free(cf);

    return;

failed:

    json_decref(out);
    md_config_fail(cf, 503, "unavailable", "Unavailable", "out of memory");
}


/* the commit's end (res NULL: nothing to commit) */

static void
md_config_done(md_commit_result_t *res, void *data)
{
    md_config_t        *cf = data;
    char                detail[256];
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
                 res->detail ? res->detail : "");

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

static void
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


static void
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
