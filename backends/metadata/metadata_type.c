
/*
 * Copyright (C) Tollgate
 *
 * The entity types (docs/admin-api.md, "Types and validation"): the
 * built-in ones, compiled once before the loop from the schemas in
 * backends/metadata/schemas (metadata_type_builtin.c), and the
 * user-defined ones (metadata_type_user.c), all validated the same way:
 * the JSON Schema first, then, for a document the schema accepts, the
 * checks a schema cannot say (metadata_type_check.c).  A schema error
 * becomes {"pointer", "message"} with the instance location as pointer,
 * except a missing required member, which points at the member itself.
 *
 * Every type's schema is served at /v1/types/{type}/schema (a built-in
 * type's name, or a user type's, which may not be a built-in one) with
 * a strong ETag, its SHA-256: built-in ones as written and cacheable for
 * an hour (they change only with the binary), user ones "no-cache"
 * (revalidated by ETag, since they change at runtime).
 */


#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_b64url.h"
#include "metadata_type_int.h"


static void md_type_schema_go(gw_svc_req_t *req, const char *actor,
    void *data);
static int md_type_pointer_add(json_t *errors, const gw_schema_error_t *e);


static md_type_t  md_builtin[] = {
    { .name = "consumers", .kind = MD_T_CONSUMERS },
    { .name = "keys", .kind = MD_T_KEYS },
    { .name = "routes", .kind = MD_T_ROUTES },
    { .name = "upstreams", .kind = MD_T_UPSTREAMS },
    { .name = "plans", .kind = MD_T_PLANS },
    { .name = "limits", .kind = MD_T_LIMITS },
    { .name = "schemas", .kind = MD_T_SCHEMAS },
    { .name = "plugins", .kind = MD_T_PLUGINS },
    { .name = "clients", .kind = MD_T_CLIENTS },
    { .name = "types", .kind = MD_T_TYPES },
    { .name = "pipelines", .kind = MD_T_PIPELINES },
    { .name = "templates", .kind = MD_T_TEMPLATES }
};

#define MD_BUILTIN_N  (sizeof(md_builtin) / sizeof(md_builtin[0]))


int
md_type_setup(gw_svc_t *svc)
{
    size_t             i;
    md_type_t         *t;
    json_error_t       jerr;
    gw_schema_cerr_t   cerr;

    for (i = 0; i < MD_BUILTIN_N; i++) {
        t = &md_builtin[i];

        t->text = (char *) md_type_builtin_schema(t->kind, &t->len);
        if (t->text == NULL) {
            gw_svc_log(svc, GW_SVC_ERROR, NULL, "no built-in schema",
                       json_pack("{s:s}", "type", t->name));
            return -1;
        }

        t->doc = json_loadb(t->text, t->len, JSON_REJECT_DUPLICATES, &jerr);
        if (t->doc == NULL) {
            gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad built-in schema",
                       json_pack("{s:s, s:s, s:i}", "type", t->name,
                                 "error", jerr.text, "line", jerr.line));
            return -1;
        }

        if (md_type_compile(t->doc, 1, &t->schema, &cerr) != 0) {
            gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad built-in schema",
                       json_pack("{s:s, s:s, s:s}", "type", t->name,
                                 "pointer", cerr.pointer,
                                 "error", cerr.message));
            return -1;
        }

        if (md_type_etag(t->text, t->len, t->etag) != 0) {
            gw_svc_log(svc, GW_SVC_ERROR, NULL, "out of memory", NULL);
            return -1;
        }
    }

    return md_type_http_setup(svc);
}


md_type_t *
md_type_get(const char *name)
{
    size_t  i;

    if (strncmp(name, "u.", 2) == 0) {
        return md_type_user(name + 2);
    }

    for (i = 0; i < MD_BUILTIN_N; i++) {
        if (strcmp(md_builtin[i].name, name) == 0) {
            return &md_builtin[i];
        }
    }

    return NULL;
}


int
md_type_builtin_name(const char *name)
{
    size_t  i;

    for (i = 0; i < MD_BUILTIN_N; i++) {
        if (strcmp(md_builtin[i].name, name) == 0) {
            return 1;
        }
    }

    return 0;
}


md_type_t *
md_type_user(const char *name)
{
    md_type_t  *t;

    t = md_type_user_find(name);

    return (t != NULL && !t->gone) ? t : NULL;
}


const char *
md_type_name(md_type_t *t)
{
    return t->name;
}


int
md_type_name_valid(const char *name, size_t len)
{
    size_t  i;

    if (len == 0 || len > MD_TYPE_MAX || name[0] < 'a' || name[0] > 'z') {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


int
md_type_validate(md_type_t *t, json_t *data, json_t *errors)
{
    int                  rc;
    size_t               i;
    gw_schema_result_t   res;

    memset(&res, 0, sizeof(gw_schema_result_t));

    rc = gw_schema_validate(t->schema, data, &res);

    for (i = 0; rc == 0 && i < res.nerrors; i++) {
        if (md_type_pointer_add(errors, &res.errors[i]) != 0) {
            rc = -1;
        }
    }

    if (rc == 0 && res.truncated
        && md_type_error(errors, "", "more errors not shown") != 0)
    {
        rc = -1;
    }

    gw_schema_result_free(&res);

    if (rc != 1) {
        return rc;
    }

    /* the document checks assume a document the schema accepts */

    return md_type_check_doc(t, data, errors);
}


/*
 * A schema error as {"pointer", "message"}: the instance location, or,
 * for a missing required member (which the instance location would
 * give as its object), the member's own location.
 */

static int
md_type_pointer_add(json_t *errors, const gw_schema_error_t *e)
{
    int          rc;
    char        *ptr, *q;
    size_t       klen, n;
    const char  *p, *name, *end;

    klen = strlen(e->keyword_location);
    name = NULL;
    end = NULL;

    if (klen >= 9
        && strcmp(e->keyword_location + klen - 9, "/required") == 0
        && strncmp(e->message, "required property \"", 19) == 0)
    {
        name = e->message + 19;
        end = strrchr(name, '"');
    }

    if (name == NULL || end == NULL || end < name) {
        return md_type_error(errors, e->instance_location, "%s", e->message);
    }

    /* the member's name, escaped as RFC 6901 says: ~ as ~0, / as ~1 */

    n = strlen(e->instance_location);

    ptr = malloc(n + 2 + 2 * (end - name));
    if (ptr == NULL) {
        return -1;
    }

    q = ptr;
    memcpy(q, e->instance_location, n);
    q += n;
    *q++ = '/';

    for (p = name; p < end; p++) {
        if (*p == '~' || *p == '/') {
            *q++ = '~';
            *q++ = (*p == '~') ? '0' : '1';

        } else {
            *q++ = *p;
        }
    }

    *q = '\0';

    rc = md_type_error(errors, ptr, "%s", e->message);
    free(ptr);

    return rc;
}


int
md_type_refs(md_type_t *t, json_t *data, json_t **refs, json_t **match)
{
    *refs = json_array();
    *match = json_array();

    if (*refs == NULL || *match == NULL
        || md_type_check_refs(t, data, *refs, *match) != 0)
    {
        json_decref(*refs);
        json_decref(*match);
        *refs = NULL;
        *match = NULL;
        return -1;
    }

    return 0;
}


int
md_type_compile(json_t *doc, int format_assert, gw_schema_t **out,
    gw_schema_cerr_t *err)
{
    gw_schema_t       *s;
    gw_schema_opts_t   opts;

    memset(&opts, 0, sizeof(gw_schema_opts_t));
    opts.draft = GW_SCHEMA_DRAFT_2020_12;
    opts.format_assert = format_assert;

    s = gw_schema_new(&opts);
    if (s == NULL) {
        err->pointer[0] = '\0';
        snprintf(err->message, sizeof(err->message), "out of memory");
        return -1;
    }

    if (gw_schema_compile(s, doc, err) != 0) {
        gw_schema_free(s);
        return -1;
    }

    *out = s;

    return 0;
}


int
md_type_etag(const char *text, size_t len, char *etag)
{
    size_t         n;
    unsigned char  h[EVP_MAX_MD_SIZE];

    if (EVP_Digest(text, len, h, NULL, EVP_sha256(), NULL) != 1) {
        return -1;
    }

    /* 24 bytes of the hash: 32 characters, quoted */

    etag[0] = '"';
    n = 1 + gw_b64url_encode((unsigned char *) etag + 1, h, 24);
    etag[n++] = '"';
    etag[n] = '\0';

    return 0;
}


int
md_type_error(json_t *errors, const char *pointer, const char *fmt, ...)
{
    char      msg[512];
    json_t   *e, *p, *m;
    va_list   args;

    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);

    p = gw_svc_json_string(pointer);
    m = gw_svc_json_string(msg);
    e = (p != NULL && m != NULL)
        ? json_pack("{s:o, s:o}", "pointer", p, "message", m) : NULL;

    if (e == NULL) {
        json_decref(p);
        json_decref(m);
        return -1;
    }

    return json_array_append_new(errors, e);
}


/* ---- /v1/types/{type}/schema ------------------------------------------ */


void
md_type_schema(gw_svc_req_t *req, const char *name)
{
    md_type_t  *t;

    t = md_type_builtin_name(name) ? md_type_get(name) : md_type_user(name);

    if (t == NULL || t->text == NULL) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such type");
        return;
    }

    md_access(req, MD_ROLE_READ, md_type_schema_go, t);
}


/* the schema of t (data), for a reader */

static void
md_type_schema_go(gw_svc_req_t *req, const char *actor, void *data)
{
    const char  *inm;
    md_type_t   *t;

    t = data;

    gw_svc_req_add_header(req, "ETag", t->etag);
    gw_svc_req_add_header(req, "Cache-Control", t->kind == MD_T_USER
                          ? "no-cache" : "public, max-age=3600");

    inm = gw_svc_req_header(req, "If-None-Match");

    if (inm != NULL && gw_svc_etag_match(inm, t->etag, 1) > 0) {
        gw_svc_reply(req, 304, NULL, NULL, 0);
        return;
    }

    gw_svc_reply(req, 200, "application/schema+json", t->text, t->len);
}


