
/*
 * Copyright (C) Tollgate
 *
 * The user-defined types over HTTP (docs/admin-api.md, "Types and
 * validation"):
 *
 *   GET    /v1/types?limit=N&cursor=C    the types, paged by name
 *   GET    /v1/types/{name}              one: {"schema": ...} and meta
 *   PUT    /v1/types/{name}              registers or replaces one
 *   DELETE /v1/types/{name}              drops one without entities
 *   GET    /v1/types/{name}/schema       the schema of a type: built-in
 *                                        or user (metadata_type.c)
 *
 * A user type may not take a built-in type's name (409), so that
 * /v1/types/{name}/schema names one type only.
 * A type is an entity of storage type "types" whose id is its name, so
 * it has what every entity has: an ETag (its version), If-Match on
 * every write (428 without), If-None-Match: * to create only, a
 * revision of its own in the change log, an audit event.  A PUT's
 * schema must compile (422 otherwise, pointing into "/schema").  Every
 * entity of a type refers to it (metadata_type_check.c), so the commit
 * script itself refuses a DELETE while entities exist (409) and an
 * entity written after its type's delete (409): no check-then-act race.
 * Changing a type's schema does not validate its entities again: the
 * new schema applies to their next write.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metadata_type_int.h"


#define MD_IF_MAX  16       /* entity tags in one If-Match */


typedef struct {
    gw_svc_req_t   *req;
    char            name[MD_TYPE_MAX + 1];
    char           *actor;
    json_t         *data;           /* PUT: the body without meta */
    int             if_none;        /* If-None-Match: * */
    int             if_match;       /* If-Match given */
    int             if_any;         /* If-Match: * */
    size_t          nvers;
    long long       vers[MD_IF_MAX];
    md_change_t     change;
} md_types_ctx_t;


static void md_types_list(gw_svc_req_t *req, void *data);
static void md_types_list_go(gw_svc_req_t *req, const char *actor,
    void *data);
static void md_types_listed(int status, json_t *docs, void *data);
static void md_types_one(gw_svc_req_t *req, void *data);
static void md_types_go(gw_svc_req_t *req, const char *actor, void *data);
static int md_types_body(md_types_ctx_t *ctx);
static int md_types_conditions(md_types_ctx_t *ctx);
static void md_types_got(int status, json_t *doc, long long version,
    void *data);
static int md_types_doc(md_types_ctx_t *ctx, json_t *before);
static void md_types_committed(md_commit_result_t *res, void *data);
static void md_types_reply_doc(gw_svc_req_t *req, int status, json_t *doc,
    long long version);
static void md_types_done(md_types_ctx_t *ctx);
static void md_types_now(char *buf, size_t size);


static const char  *md_meta[] = {
    "id", "version", "created_at", "updated_at", "created_by", "updated_by"
};


int
md_type_http_setup(gw_svc_t *svc)
{
    if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD, "/v1/types", 0,
                     md_types_list, NULL)
        != 0
        || gw_svc_route(svc, GW_SVC_GET | GW_SVC_HEAD | GW_SVC_PUT
                             | GW_SVC_DELETE,
                        "/v1/types/", GW_SVC_PREFIX, md_types_one, NULL)
           != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot add routes",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        return -1;
    }

    return 0;
}


/* ---- the list ------------------------------------------------------------ */


static void
md_types_list(gw_svc_req_t *req, void *data)
{
    md_access(req, MD_ROLE_READ, md_types_list_go, NULL);
}


/* limit=N (1..list_max) and cursor=C (the last name of a page) only */

static void
md_types_list_go(gw_svc_req_t *req, const char *actor, void *data)
{
    char         cursor[MD_ID_MAX + 1], *end;
    size_t       n;
    long long    limit;
    const char  *q, *amp, *eq;

    limit = (md.list_max < 100) ? md.list_max : 100;
    cursor[0] = '\0';

    for (q = gw_svc_req_query(req); q != NULL && *q != '\0'; q = amp) {
        amp = strchr(q, '&');
        n = (amp != NULL) ? (size_t) (amp - q) : strlen(q);
        amp = (amp != NULL) ? amp + 1 : NULL;
        eq = memchr(q, '=', n);

        if (eq != NULL && eq - q == 5 && memcmp(q, "limit", 5) == 0) {
            limit = strtoll(eq + 1, &end, 10);

            if (end != q + n || end == eq + 1 || limit < 1
                || limit > md.list_max)
            {
                goto bad;
            }

        } else if (eq != NULL && eq - q == 6 && memcmp(q, "cursor", 6) == 0
                   && md_id_valid(eq + 1, q + n - eq - 1))
        {
            memcpy(cursor, eq + 1, q + n - eq - 1);
            cursor[q + n - eq - 1] = '\0';

        } else if (n != 0) {
            goto bad;
        }
    }

    if (md_store_list(md_type_get("types"), cursor, limit, md_types_listed,
                      req)
        != 0)
    {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
    }

    return;

bad:

    gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                         "the parameters are limit (1 to list_max) and"
                         " cursor");
}


static void
md_types_listed(int status, json_t *docs, void *data)
{
    json_t        *last, *body;
    gw_svc_req_t  *req;

    req = data;

    if (status != 200) {
        json_decref(docs);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "the store is not available");
        return;
    }

    /* a full page may have a next one: its cursor is the last name */

    last = json_object_get(json_array_get(docs, json_array_size(docs) - 1),
                           "id");

    body = json_pack("{s:o, s:O}", "items", docs, "next",
                     json_array_size(docs) > 0 ? last : json_null());

    if (body == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    gw_svc_reply_json(req, 200, body);
}


/* ---- one type ------------------------------------------------------------ */


static void
md_types_one(gw_svc_req_t *req, void *data)
{
    char             tname[MD_TYPE_MAX + 1];
    size_t           len;
    const char      *method, *name, *slash;
    md_role_e        need;
    md_types_ctx_t  *ctx;

    name = gw_svc_req_path(req) + sizeof("/v1/types/") - 1;
    method = gw_svc_req_method(req);
    slash = strchr(name, '/');

    if (slash != NULL) {
        len = slash - name;

        if (strcmp(slash, "/schema") != 0 || len > MD_TYPE_MAX
            || !md_type_name_valid(name, len))
        {
            gw_svc_reply_problem(req, 404, "not-found", "Not found",
                                 "no such resource");
            return;
        }

        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            gw_svc_req_add_header(req, "Allow", "GET, HEAD");
            gw_svc_reply_problem(req, 405, "method-not-allowed",
                                 "Method not allowed",
                                 "a type's schema is read only: write"
                                 " the type at /v1/types/{name}");
            return;
        }

        memcpy(tname, name, len);
        tname[len] = '\0';

        md_type_schema(req, tname);
        return;
    }

    if (!md_type_name_valid(name, strlen(name))) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such type: a type's name is"
                             " [a-z][a-z0-9_-]{0,31}");
        return;
    }

    ctx = calloc(1, sizeof(md_types_ctx_t));
    if (ctx == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    ctx->req = req;
    memcpy(ctx->name, name, strlen(name) + 1);

    need = (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
           ? MD_ROLE_READ : MD_ROLE_WRITE;

    md_access(req, need, md_types_go, ctx);
}


static void
md_types_go(gw_svc_req_t *req, const char *actor, void *data)
{
    const char      *method;
    md_types_ctx_t  *ctx;

    ctx = data;
    method = gw_svc_req_method(req);

    ctx->actor = strdup(actor != NULL ? actor : "");
    if (ctx->actor == NULL) {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        md_types_done(ctx);
        return;
    }

    if (strcmp(method, "PUT") == 0 && md_type_builtin_name(ctx->name)) {
        gw_svc_reply_problem(req, 409, "conflict", "Conflict",
                             "a built-in type has this name: a user"
                             " type needs another");
        md_types_done(ctx);
        return;
    }

    if (strcmp(method, "PUT") == 0) {
        if (md_types_body(ctx) != 0 || md_types_conditions(ctx) != 0) {
            md_types_done(ctx);
            return;
        }

    } else if (strcmp(method, "DELETE") == 0) {
        if (md_types_conditions(ctx) != 0) {
            md_types_done(ctx);
            return;
        }
    }

    if (md_store_get(md_type_get("types"), ctx->name, md_types_got, ctx)
        != 0)
    {
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        md_types_done(ctx);
    }
}


/*
 * A PUT's body: application/json, at most doc_max bytes, an object
 * without duplicate members; meta members dropped but "id", which must
 * be the name; then validated as a "types" entity (the schema compiles).
 * 0, or -1 answered.
 */

static int
md_types_body(md_types_ctx_t *ctx)
{
    int            rc;
    size_t         len, i;
    json_t        *data, *id, *errors;
    const char    *ct, *body;
    json_error_t   jerr;
    gw_svc_req_t  *req;

    req = ctx->req;
    ct = gw_svc_req_header(req, "Content-Type");

    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0
        || (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
    {
        gw_svc_reply_problem(req, 415, "unsupported-media-type",
                             "Unsupported media type",
                             "a type is sent as application/json");
        return -1;
    }

    body = gw_svc_req_body(req, &len);

    if (len > md.doc_max) {
        gw_svc_reply_problem(req, 413, "body-too-large", "Body too large",
                             "the document is larger than doc_max");
        return -1;
    }

    data = gw_schema_json_loadb(body != NULL ? body : "", len,
                                JSON_REJECT_DUPLICATES, &jerr);

    if (!json_is_object(data)) {
        json_decref(data);
        gw_svc_reply_problem(req, 400, "malformed-json", "Malformed JSON",
                             data != NULL ? "the body is not an object"
                                          : jerr.text);
        return -1;
    }

    errors = json_array();
    if (errors == NULL) {
        json_decref(data);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return -1;
    }

    id = json_object_get(data, "id");

    if (id != NULL
        && (!json_is_string(id) || strcmp(json_string_value(id), ctx->name)
                                   != 0))
    {
        rc = md_type_error(errors, "/id", "the id is not the URL's");

    } else {
        for (i = 0; i < sizeof(md_meta) / sizeof(md_meta[0]); i++) {
            json_object_del(data, md_meta[i]);
        }

        rc = md_type_validate(md_type_get("types"), data, errors);
        rc = (rc == 1) ? 1 : (rc == 0 ? 0 : -1);
    }

    if (rc == 1) {
        json_decref(errors);
        ctx->data = data;
        return 0;
    }

    json_decref(data);

    if (rc != 0) {
        json_decref(errors);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return -1;
    }

    gw_svc_reply_problem_extra(req, 422, "validation-failed",
                               "Validation failed",
                               "the type is not valid",
                               json_pack("{s:o}", "errors", errors));
    return -1;
}


/*
 * If-Match ("*" or a list of entity tags, strong "\"<version>\"" the
 * only ones that can match) and If-None-Match ("*" only, on a PUT).
 * A write needs one of them: 428 without, 400 when malformed.
 * 0, or -1 answered.
 */

static int
md_types_conditions(md_types_ctx_t *ctx)
{
    int                   weak, digits;
    const char           *im, *inm, *p, *q, *end;
    const unsigned char  *c;

    im = gw_svc_req_header(ctx->req, "If-Match");
    inm = gw_svc_req_header(ctx->req, "If-None-Match");

    if (inm != NULL) {
        p = inm + strspn(inm, " \t");
        q = p + 1 + strspn(p + 1, " \t");

        if (*p != '*' || *q != '\0'
            || strcmp(gw_svc_req_method(ctx->req), "PUT") != 0)
        {
            goto bad;
        }

        ctx->if_none = 1;
    }

    if (im == NULL) {
        if (ctx->if_none) {
            return 0;
        }

        gw_svc_reply_problem(ctx->req, 428, "precondition-required",
                             "Precondition required",
                             "a write needs If-Match (or, to create,"
                             " If-None-Match: *)");
        return -1;
    }

    ctx->if_match = 1;
    p = im;

    for ( ;; ) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }

        if (*p == '*' && ctx->nvers == 0 && !ctx->if_any) {
            ctx->if_any = 1;
            p++;

        } else {
            weak = (p[0] == 'W' && p[1] == '/');
            q = weak ? p + 2 : p;

            if (*q != '"' || ctx->if_any) {
                goto bad;
            }

            end = strchr(q + 1, '"');
            if (end == NULL) {
                goto bad;
            }

            digits = 1;

            for (c = (const unsigned char *) q + 1;
                 c < (const unsigned char *) end; c++)
            {
                if (*c <= 0x20 || *c == 0x7f || *c == '\\') {
                    goto bad;
                }

                digits &= (*c >= '0' && *c <= '9');
            }

            /* only a strong "<version>" can match: W/ tags never do */

            if (!weak && digits && end - q > 1 && end - q < 19
                && q[1] != '0' && ctx->nvers < MD_IF_MAX)
            {
                ctx->vers[ctx->nvers++] = strtoll(q + 1, NULL, 10);
            }

            p = end + 1;
        }

        while (*p == ' ' || *p == '\t') {
            p++;
        }

        if (*p == '\0') {
            return 0;
        }

        if (*p++ != ',') {
            goto bad;
        }
    }

bad:

    gw_svc_reply_problem(ctx->req, 400, "bad-request", "Bad request",
                         "a malformed If-Match or If-None-Match");
    return -1;
}


/*
 * The type as stored now: GET answers it; PUT and DELETE check their
 * conditions against it, then commit.
 */

static void
md_types_got(int status, json_t *doc, long long version, void *data)
{
    int              ok;
    size_t           i;
    const char      *method;
    gw_svc_req_t    *req;
    md_types_ctx_t  *ctx;

    ctx = data;
    req = ctx->req;
    method = gw_svc_req_method(req);

    if (status != 200 && status != 404) {
        json_decref(doc);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "the store is not available");
        md_types_done(ctx);
        return;
    }

    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        if (status == 404) {
            gw_svc_reply_problem(req, 404, "not-found", "Not found",
                                 "no such type");
        } else {
            md_types_reply_doc(req, 200, doc, version);
        }

        json_decref(doc);
        md_types_done(ctx);
        return;
    }

    if (status == 404 && strcmp(method, "DELETE") == 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such type");
        md_types_done(ctx);
        return;
    }

    /* If-None-Match: * wants it absent; If-Match present, and "*" or
     * one of the versions listed */

    ok = !(ctx->if_none && status == 200);

    if (ok && ctx->if_match) {
        ok = (status == 200 && ctx->if_any);

        for (i = 0; !ok && status == 200 && i < ctx->nvers; i++) {
            ok = (ctx->vers[i] == version);
        }
    }

    if (!ok) {
        json_decref(doc);
        gw_svc_reply_problem(req, 412, "precondition-failed",
                             "Precondition failed",
                             "the type's version is not the one expected");
        md_types_done(ctx);
        return;
    }

    if (status == 404 && md_type_user_count() >= MD_TYPE_USER_MAX) {
        gw_svc_reply_problem(req, 409, "conflict", "Conflict",
                             "too many user-defined types");
        md_types_done(ctx);
        return;
    }

    ctx->change.type = md_type_get("types");
    memcpy(ctx->change.id, ctx->name, strlen(ctx->name) + 1);
    ctx->change.if_version = (status == 200) ? version : MD_ABSENT;
    ctx->change.before = doc;

    if ((ctx->data != NULL && md_types_doc(ctx, doc) != 0)
        || md_store_commit(&ctx->change, 1, -1, ctx->actor,
                           gw_svc_req_id(req), md_types_committed, ctx)
           != 0)
    {
        gw_svc_log(md.svc, GW_SVC_ERROR, req, "out of memory", NULL);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        md_types_done(ctx);
    }
}


/* the new document: the data, the id, and who made and changed it when */

static int
md_types_doc(md_types_ctx_t *ctx, json_t *before)
{
    char     now[80];
    json_t  *doc, *ca, *cb;

    md_types_now(now, sizeof(now));

    doc = json_deep_copy(ctx->data);
    if (doc == NULL) {
        return -1;
    }

    ca = json_object_get(before, "created_at");
    cb = json_object_get(before, "created_by");

    if (json_object_set_new(doc, "id", json_string(ctx->name)) != 0
        || json_object_set_new(doc, "created_at",
                               ca != NULL ? json_incref(ca)
                                          : json_string(now))
           != 0
        || json_object_set_new(doc, "updated_at", json_string(now)) != 0
        || json_object_set_new(doc, "created_by",
                               cb != NULL ? json_incref(cb)
                                          : json_string(ctx->actor))
           != 0
        || json_object_set_new(doc, "updated_by", json_string(ctx->actor))
           != 0)
    {
        json_decref(doc);
        return -1;
    }

    ctx->change.doc = doc;

    return 0;
}


static void
md_types_committed(md_commit_result_t *res, void *data)
{
    int              created;
    char             detail[256];
    json_t          *errors;
    gw_svc_req_t    *req;
    md_types_ctx_t  *ctx;

    ctx = data;
    req = ctx->req;
    created = (ctx->change.before == NULL);

    switch (res->status) {

    case MD_COMMIT_OK:

        /* this instance knows the change at once; others by its
         * gw:md:changed message */

        (void) md_type_user_install(ctx->name, res->revision,
                                    ctx->change.doc != NULL
                                    ? json_object_get(ctx->change.doc,
                                                      "schema")
                                    : NULL);

        if (ctx->change.doc == NULL) {
            gw_svc_reply(req, 204, NULL, NULL, 0);
            break;
        }

        if (created) {
            snprintf(detail, sizeof(detail), "/v1/types/%s", ctx->name);
            gw_svc_req_add_header(req, "Location", detail);
        }

        md_types_reply_doc(req, created ? 201 : 200, ctx->change.doc,
                           res->revision);
        break;

    case MD_COMMIT_VERSION:
        gw_svc_reply_problem(req, 412, "precondition-failed",
                             "Precondition failed",
                             "the type changed meanwhile");
        break;

    case MD_COMMIT_REFERENCED:
        snprintf(detail, sizeof(detail), "entities of the type exist (%s)",
                 res->detail != NULL ? res->detail : "");
        errors = json_array();

        if (errors != NULL && md_type_error(errors, "", "%s", detail) != 0) {
            json_decref(errors);
            errors = NULL;
        }

        gw_svc_reply_problem_extra(req, 409, "conflict", "Conflict", detail,
                                   errors != NULL
                                   ? json_pack("{s:o}", "errors", errors)
                                   : NULL);
        break;

    case MD_COMMIT_REF:
    case MD_COMMIT_MATCH:
    case MD_COMMIT_REVISION:
        gw_svc_reply_problem(req, 409, "conflict", "Conflict",
                             res->detail);
        break;

    default:
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "the store is not available: nothing was"
                             " written");
        break;
    }

    md_types_done(ctx);
}


static void
md_types_reply_doc(gw_svc_req_t *req, int status, json_t *doc,
    long long version)
{
    char     etag[32];
    json_t  *body;

    snprintf(etag, sizeof(etag), "\"%lld\"", version);

    body = json_deep_copy(doc);

    if (body == NULL
        || json_object_set_new(body, "version", json_integer(version)) != 0)
    {
        json_decref(body);
        gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                             "out of memory");
        return;
    }

    gw_svc_req_add_header(req, "ETag", etag);
    gw_svc_reply_json(req, status, body);
}


static void
md_types_done(md_types_ctx_t *ctx)
{
    json_decref(ctx->data);
    json_decref(ctx->change.doc);
    json_decref(ctx->change.before);
    free(ctx->actor);
    free(ctx);
}


/* RFC 3339 UTC with milliseconds: "2026-12-06T12:00:00.123Z" */

static void
md_types_now(char *buf, size_t size)
{
    time_t     sec;
    int64_t    ms;
    struct tm  tm;

    ms = md_now_ms();
    sec = (time_t) (ms / 1000);
    gmtime_r(&sec, &tm);

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}
