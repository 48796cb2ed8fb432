
/*
 * Copyright (C) Tollgate
 *
 * The entity types' parts (metadata_type*.c) between themselves.
 *
 *   metadata_type.c          the table, lookups, validation, the
 *                            schemas served at /v1/types/{type}/schema
 *   metadata_type_builtin.c  the built-in schemas' text
 *   metadata_type_check.c    document checks, references, match keys
 *   metadata_route.c         routes and upstreams as the gateway serves
 *                            them: lib/router, regex paths, match keys
 *   metadata_type_user.c     the user-defined types' cache, kept by
 *                            gw:md:changed
 *   metadata_type_http.c     /v1/types and /v1/types/{name}
 */


#ifndef _METADATA_TYPE_INT_H_INCLUDED_
#define _METADATA_TYPE_INT_H_INCLUDED_


#include "gw_schema.h"
#include "metadata.h"


#define MD_TYPE_USER_MAX  256       /* user-defined types at once */


typedef enum {
    MD_T_CONSUMERS = 0,
    MD_T_KEYS,
    MD_T_ROUTES,
    MD_T_UPSTREAMS,
    MD_T_PLANS,
    MD_T_LIMITS,
    MD_T_SCHEMAS,
    MD_T_PLUGINS,
    MD_T_CLIENTS,
    MD_T_TYPES,
    MD_T_PIPELINES,                 /* backends/processing's documents */
    MD_T_TEMPLATES,                 /* backends/notification's templates */
    MD_T_USER                       /* "u.<name>" */
} md_kind_e;


/*
 * A type.  Built-in ones live as long as the process; a user-defined
 * one is never freed either (another part may hold it across a Redis
 * round trip): a deleted type is marked gone, and a type registered
 * again under its name reuses it.  Its schema, document and text are
 * replaced whole when the type changes, and are used only
 * synchronously.
 */
struct md_type_s {
    char             name[MD_TYPE_MAX + 3];    /* storage name */
    md_kind_e        kind;
    int              gone;              /* user: deleted */
    int              seen;              /* user: in the last load */
    int              fresh;             /* user: changed here during a
                                           load, which may be older */
    long long        version;           /* user: its types entity's */
    gw_schema_t     *schema;
    json_t          *doc;               /* the schema document */
    char            *text;              /* as served */
    size_t           len;
    char             etag[48];          /* "\"<base64url>\"" */
    md_type_t       *next;              /* user: the list */
};


/* metadata_type.c */

/*
 * Compiles a schema document into *out (draft 2020-12 unless its
 * "$schema" says otherwise; format an assertion when format_assert).
 * 0, or -1 with err filled (an out-of-memory too).
 */
int md_type_compile(json_t *doc, int format_assert, gw_schema_t **out,
    gw_schema_cerr_t *err);

/* a strong ETag of text: its SHA-256, base64url, quoted; 0 or -1 */
int md_type_etag(const char *text, size_t len, char *etag);

/* appends {"pointer", "message"} to errors; 0 or -1 out of memory */
int md_type_error(json_t *errors, const char *pointer, const char *fmt,
    ...);

/*
 * GET /v1/types/{name}/schema: the schema of the built-in type name, or
 * of the user type name, for a reader (404 when there is none).
 */
void md_type_schema(gw_svc_req_t *req, const char *name);


/* metadata_type_builtin.c: the text of a built-in type's schema */
const char *md_type_builtin_schema(md_kind_e kind, size_t *len);


/* metadata_type_check.c */

/* the checks past the schema; 1 valid, 0 invalid (errors), -1 OOM */
int md_type_check_doc(md_type_t *t, json_t *data, json_t *errors);
int md_type_check_refs(md_type_t *t, json_t *data, json_t *refs,
    json_t *match);


/* metadata_route.c: routes and upstreams past their schemas */

/* 1 valid, 0 invalid (errors), -1 out of memory */
int md_route_check(json_t *data, json_t *errors);
int md_upstream_check(json_t *data, json_t *errors);

/* appends a valid route's match keys to match; 0 or -1 */
int md_route_match(json_t *data, json_t *match);

/* a path's pattern as match keys hold it (malloc()ed), NULL: no memory */
char *md_route_norm(const char *path);

/* a match key for a message, in buf; returns buf */
const char *md_route_match_text(const char *key, char *buf, size_t size);


/* metadata_type_user.c */

md_type_t *md_type_user_find(const char *name);

/*
 * Installs (or replaces) the user type name at version with the schema
 * document doc (referenced), compiled; NULL doc: marks it gone.  0, or
 * -1 (logged) when it does not compile or memory ran out.
 */
int md_type_user_install(const char *name, long long version, json_t *doc);

/* the number of user types not gone */
size_t md_type_user_count(void);


/* metadata_type_http.c */
int md_type_http_setup(gw_svc_t *svc);


#endif /* _METADATA_TYPE_INT_H_INCLUDED_ */
