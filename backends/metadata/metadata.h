
/*
 * Copyright (C) Tollgate
 *
 * The metadata service's state and the contract between its parts
 * (docs/admin-api.md).  One per process.
 *
 *   metadata_main.c        the service: configuration, routes, the loop
 *   metadata_access.c      who asks (actor) and what they may do (role)
 *   metadata_store*.c      Redis: the one commit script (compare
 *                          versions, write, log, audit, project), reads,
 *                          lists, the snapshot
 *   metadata_entity*.c     /v1/{type}[/{id}], /v1/entities/{type}[/{id}]:
 *                          ETags, If-Match, JSON Merge Patch, lists
 *   metadata_type*.c       the entity types: built-in schemas, the
 *                          user-defined types, /v1/types/{type}/schema,
 *                          validation and the cross-reference checks
 *   metadata_project.c     what consumers, keys and identity clients
 *                          become in the gateway's data model
 *                          (lib/model/gw_model.h): Redis commands run by
 *                          the commit script; key and client secrets
 *   metadata_rev*.c        /v1/revisions, diffs, rollback, /v1/snapshot
 *   metadata_config*.c     PUT /v1/config: a whole document, one revision
 *
 * Data in Redis (besides the gateway's own records, which consumers,
 * keys and clients are projected into):
 *
 *   gw:md:e:<type>:<id>     hash   v (version: the revision of its last
 *                                  change, decimal), doc (the entity's
 *                                  JSON as GET returns it, meta included
 *                                  but for "version", which reads add),
 *                                  refs (what it refers to, "<type>/<id>"
 *                                  joined by "\n", "" : none), match (the
 *                                  match keys it holds, joined by "\n")
 *   gw:md:ix:<type>         zset   the type's ids, score 0 (paged by
 *                                  ZRANGEBYLEX)
 *   gw:md:types             set    every type that has an index
 *   gw:md:rb:<type>:<id>    set    "<type>/<id>" of every entity that
 *                                  refers to this one
 *   gw:md:match             hash   match key -> "<type>/<id>" holding it
 *                                  (two routes that would match the same
 *                                  requests share a key)
 *   gw:md:matchc            zset   a route's match keys with conditions
 *                                  ("<key>\x1f<n>\x1f<cond>..."), each
 *                                  "<key>\x1e<type>/<id>", score 0: the
 *                                  commit script reads those of one key
 *                                  and n by ZRANGEBYLEX and compares
 *                                  their conditions
 *   gw:md:rev               string the global revision (0 : none yet)
 *   gw:md:log               stream one entry per entity change, id
 *                                  "<revision>-<i>" (i from 0 within a
 *                                  revision): rev, n (changes in this
 *                                  revision), type, id, vb (version
 *                                  before, 0 : created), va (after, 0 :
 *                                  deleted), actor, rid (request id),
 *                                  time (ms), before, after (the docs,
 *                                  "" : none)
 *   gw:md:trimmed           string the newest revision no longer in the
 *                                  log (0 : nothing trimmed)
 *   gw:md:changed           pub/sub channel: "<revision>" after each
 *                                  commit
 *   gw:audit                stream one audit event per entity change
 *                                  (docs/audit.md), in the commit
 *
 * Every write goes through md_store_commit(): one script that checks
 * every precondition of a change set before it writes anything, so a
 * change set is applied whole or not at all, and a revision is never
 * without its log entries and audit events.
 */


#ifndef _METADATA_H_INCLUDED_
#define _METADATA_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gw_svc.h"


#define MD_ID_MAX        64     /* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
#define MD_TYPE_MAX      32     /* [a-z][a-z0-9_-]{0,31} */


typedef struct {
    gw_svc_t           *svc;
    long long           log_retention;      /* revisions kept in the log */
    long long           list_max;           /* largest page of a list */
    size_t              doc_max;            /* bytes of one entity */
    long long           config_entities_max;    /* in one /v1/config */
    int                 stopped;
} md_t;


extern md_t  md;

/* the configuration keys */
extern const gw_svc_key_t  md_conf_keys[];


/* now, milliseconds since the epoch */
int64_t md_now_ms(void);

/* 1 when id is a well-formed entity id */
int md_id_valid(const char *id, size_t len);


/* ---- metadata_access.c --------------------------------------------------- */

typedef enum {
    MD_ROLE_NONE = 0,
    MD_ROLE_READ,
    MD_ROLE_WRITE
} md_role_e;

/*
 * Who is asking and what they may do, from the headers the gateway sets
 * (docs/admin-api.md, "Access"): X-Consumer-Scope (a JWT's scope claim,
 * space-separated: admin:read, admin:write), else X-Consumer-ID (an API
 * key's consumer, whose consumer entity's tags name its role:
 * "admin:read" or "admin:write"), else anonymous_role.  The actor
 * (X-Consumer-ID, else X-Consumer-Subject, the token's sub) is the text
 * written into entities, the change log and the audit trail.  When the
 * role is at least need, cb runs with the actor (valid until the reply),
 * possibly before this returns; otherwise the request is answered
 * (401, 403, or 503 when the consumer could not be read) and cb never
 * runs.
 */
typedef void (*md_access_pt)(gw_svc_req_t *req, const char *actor,
    void *data);

/*
 * Before the loop: reads anonymous_role and refuses (-1, logged) a
 * listen address that is TCP and not loopback unless listen_public is
 * on.
 */
int md_access_setup(gw_svc_t *svc);

void md_access(gw_svc_req_t *req, md_role_e need, md_access_pt cb,
    void *data);


/* ---- metadata_type*.c ---------------------------------------------------- */

typedef struct md_type_s  md_type_t;

/*
 * Before the loop: builds the built-in types and registers /v1/types,
 * /v1/types/{type} and /v1/types/{type}/schema.  0 or -1 (logged).
 */
int md_type_setup(gw_svc_t *svc);

/* the loop started: loads the user-defined types from Redis */
void md_type_start(struct event_base *base);
void md_type_stop(void);

/*
 * A type by its storage name ("routes", "u.colors"); NULL when unknown.
 * md_type_user() finds a user-defined type by the name its URL uses.
 */
md_type_t *md_type_get(const char *name);
md_type_t *md_type_user(const char *name);

/* 1 when name is a well-formed user type's name: [a-z][a-z0-9_-]{0,31} */
int md_type_name_valid(const char *name, size_t len);

/*
 * 1 when name is a built-in type's ("routes", "types"): a user type may
 * not take it, since /v1/types/{name}/schema serves either.
 */
int md_type_builtin_name(const char *name);

/* the storage name, the one in Redis keys, the log and snapshots */
const char *md_type_name(md_type_t *t);

/*
 * Validates an entity's data (the document without its meta members:
 * id, version, created_at, updated_at, created_by, updated_by) against
 * the type's schema and the checks that need only the document (a
 * sunset not before its deprecation).  1 valid; 0 invalid, with errors
 * (an array, appended to) holding {"pointer", "message"} objects whose
 * pointer names the offending member; -1 out of memory.
 */
int md_type_validate(md_type_t *t, json_t *data, json_t *errors);

/*
 * The checks of a valid document against its id: a pipeline's "name" is
 * its id.  1, 0 (errors appended to), -1 out of memory.
 */
int md_type_check_id(md_type_t *t, const char *id, json_t *data,
    json_t *errors);

/*
 * What a valid document refers to ("<type>/<id>" strings: a route's
 * upstream, schema and plan; a key's consumer; a plan's limits) and the
 * match keys it claims (a route: one per priority, host, method and path
 * it matches; two entities may not hold one key).  Both are new arrays
 * of strings, possibly empty; -1 out of memory.
 */
int md_type_refs(md_type_t *t, json_t *data, json_t **refs, json_t **match);

/*
 * The JSON pointer of the member of a valid document that holds what a
 * commit was refused for (md_commit_result_t's detail): a reference
 * (MD_COMMIT_REF: "/upstream", "/plugins/1") or a match key
 * (MD_COMMIT_MATCH: "/paths/0"), for a 409's errors[]; "" (the whole
 * document) when no member does.  Written into buf (size bytes, 64 is
 * plenty); returns buf.
 */
const char *md_type_pointer(md_type_t *t, json_t *data, const char *detail,
    char *buf, size_t size);

/*
 * A commit's detail as a message shows it: a route's match key with its
 * conditions written out (" if header x-canary=1, arg v"); another
 * detail as it is.  Written into buf (size bytes); returns buf.
 */
const char *md_type_match_text(const char *detail, char *buf, size_t size);


/* ---- metadata_project.c -------------------------------------------------- */

/*
 * Before the loop: reads identity_pepper_file, when set (-1, logged, when
 * it cannot be read or is too short).
 */
int md_project_setup(gw_svc_t *svc);

/*
 * The Redis commands that make the gateway's records (gw:consumer:*,
 * gw:key:*, gw:client:*, their indexes and gw:events) follow a change of
 * a consumer, key or client entity from before to after (either NULL for
 * a create or a delete): appended to cmds as arrays of strings, run by
 * the commit script after every check passed.  Other types project
 * nothing.  0 or -1 out of memory.
 */
int md_project(md_type_t *t, json_t *before, json_t *after, json_t *cmds);

/*
 * A create of a key or client entity: a fresh secret, returned once to
 * the creator (*secret, to free) and stored only as its hash, which
 * sets the key entity's id (the SHA-256 hex) or the client's secret
 * hash member in data.  0; MD_SECRET_NO_PEPPER with *error set when a
 * client needs a secret and no identity_pepper_file is configured (the
 * request cannot be served as configured: a 409, not a fault); or -1
 * with *error set (out of memory, the random generator failed).
 */
#define MD_SECRET_NO_PEPPER  1

int md_project_secret(md_type_t *t, json_t *data, char **secret,
    const char **error);


/* ---- metadata_store*.c --------------------------------------------------- */

#define MD_ABSENT  0            /* if_version: the entity must not exist */

typedef struct {
    md_type_t          *type;
    char                id[MD_ID_MAX + 1];
    long long           if_version;     /* MD_ABSENT or its version now */
    json_t             *doc;            /* the new doc, meta set but for
                                           "version" (the new revision);
                                           NULL: delete */
    json_t             *before;         /* the doc now, NULL when absent */
} md_change_t;

typedef enum {
    MD_COMMIT_OK = 0,
    MD_COMMIT_VERSION,      /* an entity's version is not if_version */
    MD_COMMIT_REVISION,     /* the revision is not expected_revision */
    MD_COMMIT_REF,          /* a reference to an entity that will not
                               exist */
    MD_COMMIT_REFERENCED,   /* a delete of an entity still referred to */
    MD_COMMIT_MATCH,        /* a match key another entity holds */
    MD_COMMIT_ERROR         /* Redis down or failed: nothing written */
} md_commit_e;

typedef struct {
    md_commit_e         status;
    long long           revision;       /* MD_COMMIT_OK: the new one */
    size_t              index;          /* the change at fault */
    const char         *detail;         /* the ref, key or error text */
} md_commit_result_t;

typedef void (*md_commit_pt)(md_commit_result_t *res, void *data);

/*
 * Commits n changes (n >= 1) as one revision, by one script run: every
 * version, the expected revision (-1: any), every reference, delete and
 * match key is checked first; then each entity is written, indexed and
 * logged, its audit event added and its projection run; the log is
 * trimmed to the retention; gw:md:changed is published.  actor and rid
 * are copied.  The documents, refs and match keys come from the changes
 * (md_type_refs() and md_project() are called here).  cb is called
 * exactly once, possibly before this returns (Redis down).  0, or -1
 * when out of memory (cb not called).
 */
int md_store_commit(md_change_t *changes, size_t n,
    long long expected_revision, const char *actor, const char *rid,
    md_commit_pt cb, void *data);

/*
 * What md_store_commit() would answer, without writing anything: the
 * same script runs its checks only (phase 1), so a dry run refuses what
 * the commit would (a version, the revision, a reference, a delete of a
 * referenced entity, a match key).  MD_COMMIT_OK carries the current
 * revision; no revision is made, nothing is published or counted.
 */
int md_store_check(md_change_t *changes, size_t n,
    long long expected_revision, const char *actor, const char *rid,
    md_commit_pt cb, void *data);

typedef void (*md_get_pt)(int status, json_t *doc, long long version,
    void *data);

/*
 * Reads one entity: cb gets 200 and its doc (a new reference) and
 * version, 404 and NULL, or 503 when Redis is down or failed.
 */
int md_store_get(md_type_t *t, const char *id, md_get_pt cb, void *data);

typedef void (*md_list_pt)(int status, json_t *docs, void *data);

/*
 * Up to limit docs of a type with ids after cursor ("" : from the
 * first), in id order: cb gets 200 and an array (a new reference), or
 * 503.
 */
int md_store_list(md_type_t *t, const char *cursor, size_t limit,
    md_list_pt cb, void *data);

typedef void (*md_snapshot_pt)(int status, json_t *snapshot, void *data);

/*
 * The whole state at one revision, read by one script:
 * {"revision": N, "entities": {"<type>": [doc, ...], ...}} with every
 * type's docs in id order, or 503.
 */
int md_store_snapshot(md_snapshot_pt cb, void *data);


/* ---- metadata_diff.c ----------------------------------------------------- */

/*
 * An RFC 6902 JSON Patch (a new array) that turns before into after
 * (either NULL: the whole document is added or removed, as one op on
 * ""); members compared by value; NULL when out of memory.
 */
json_t *md_diff(json_t *before, json_t *after);


/* ---- the parts' routes: each registers its own before the loop ----- */

int md_entity_setup(gw_svc_t *svc);
int md_rev_setup(gw_svc_t *svc);
int md_config_setup(gw_svc_t *svc);


#endif /* _METADATA_H_INCLUDED_ */
