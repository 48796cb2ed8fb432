
/*
 * Copyright (C) Tollgate
 *
 * Inside the store (metadata_store*.c) and the entity handlers
 * (metadata_entity*.c, metadata_patch.c): the scripts, their runner,
 * and the helpers the handlers share.
 */


#ifndef _METADATA_STORE_H_INCLUDED_
#define _METADATA_STORE_H_INCLUDED_


#include <hiredis/hiredis.h>

#include "metadata.h"


#define MD_DEPTH_MAX      32        /* nesting of an entity's JSON */
#define MD_DIFF_MAX       16384     /* bytes of an audit event's diff */


typedef struct {
    const char         *text;
    char                sha[41];    /* SHA-1 hex, for EVALSHA */
} md_script_t;

extern md_script_t  md_script_commit;
extern md_script_t  md_script_list;
extern md_script_t  md_script_snapshot;

/* the result codes of the commit script, in md_commit_e's order */
#define MD_SCRIPT_VERSION     1
#define MD_SCRIPT_REVISION    2
#define MD_SCRIPT_REF         3
#define MD_SCRIPT_REFERENCED  4
#define MD_SCRIPT_MATCH       5
#define MD_SCRIPT_LOG         6     /* the log is ahead of gw:md:rev */


/*
 * Before the loop: the scripts' hashes and the commit counter, called
 * by md_entity_setup().  0 or -1 (logged).
 */
int md_store_setup(gw_svc_t *svc);

typedef void (*md_eval_pt)(redisReply *reply, void *data);

/*
 * Runs a script with argc arguments (no keys): EVALSHA, and EVAL again
 * when Redis does not know the script yet.  cb gets the reply, or NULL
 * when Redis is down, failed or answered an error (logged); it is
 * called exactly once, possibly before this returns.  The arguments
 * are copied.  0, or -1 when out of memory (cb not called).
 */
int md_store_eval(md_script_t *script, int argc, const char **argv,
    const size_t *lens, md_eval_pt cb, void *data);

/* the doc of a stored entity with "version" added: a new object or NULL */
json_t *md_store_doc(const char *doc, size_t len, const char *v);


/* ---- metadata_patch.c ---------------------------------------------------- */

/* RFC 7396: applies patch to target (changed in place); the new value */
json_t *md_merge_patch(json_t *target, json_t *patch);

/* 1 when name is one of the meta members (id, version, created_at...) */
int md_meta_member(const char *name);

/*
 * 1 when name is a member of t's data that only the service sets (a
 * key's prefix, a client's secret_hash): a client's value is ignored
 * and the stored one kept.
 */
int md_readonly_member(md_type_t *t, const char *name);

/* a copy of doc without its meta members: a new object or NULL */
json_t *md_data_of(json_t *doc);

/*
 * Checks a parsed body: nesting at most MD_DEPTH_MAX, integers within
 * +-2^53 (what the audit trail can hold).  NULL, or why not.
 */
const char *md_json_check(json_t *v, int depth);


/* ---- metadata_entity*.c -------------------------------------------------- */

/* the URL of an entity of a type ("/v1/routes/r1", "/v1/entities/x/1") */
int md_entity_url(md_type_t *t, const char *id, char *buf, size_t size);

/* GET /v1/{type} and /v1/entities/{name}: the list, for a readable req */
void md_entity_list(gw_svc_req_t *req, md_type_t *t);


#endif /* _METADATA_STORE_H_INCLUDED_ */
