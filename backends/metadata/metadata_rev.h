
/*
 * Copyright (C) Tollgate
 *
 * Private to metadata_rev*.c (docs/admin-api.md, "Revisions, rollback
 * and snapshots"):
 *
 *   metadata_rev.c           the routes, GET /v1/revisions,
 *                            GET /v1/revisions/{n}, GET /v1/snapshot
 *   metadata_rev_log.c       what the parts share: the change log's
 *                            entries, query parameters, entity tags,
 *                            times, answers
 *   metadata_rev_rollback.c  POST /v1/revisions/{n}/rollback
 */


#ifndef _METADATA_REV_H_INCLUDED_
#define _METADATA_REV_H_INCLUDED_


#include <hiredis/hiredis.h>

#include "metadata.h"


#define MD_REV_KEY       "gw:md:rev"
#define MD_REV_TRIMMED   "gw:md:trimmed"
#define MD_REV_LOG       "gw:md:log"

#define MD_REV_TIME_LEN  sizeof("2026-12-06T12:00:00.123Z")


/* one entry of gw:md:log, its strings in the reply it was read from */

typedef struct {
    long long           rev;
    long long           index;          /* i of "<rev>-<i>" */
    long long           n;              /* changes in its revision */
    long long           vb;             /* version before, 0: created */
    long long           va;             /* after, 0: deleted */
    long long           time;           /* ms */
    const char         *type;
    const char         *id;
    const char         *actor;
    const char         *rid;
    const char         *before;         /* "" : none */
    const char         *after;
    size_t              before_len;
    size_t              after_len;
} md_rev_entry_t;


/*
 * One XRANGE entry ([id, [field, value, ...]]) into e: 0, or -1 when it
 * is not one the commit script writes (an id that is not
 * "<rev>-<i>" with 1 <= rev, i < n, a missing or malformed member).
 */
int md_rev_entry(redisReply *r, md_rev_entry_t *e);

/*
 * A decimal revision of 1 to 19 digits, nothing else, at most
 * LLONG_MAX: 0 with *n set, -1 otherwise.
 */
int md_rev_number(const char *s, size_t len, long long *n);

/* a reply's integer or decimal string (nil: 0); -1 when neither */
int md_rev_reply_number(redisReply *r, long long *n);

/*
 * The query's parameters: names is NULL-terminated, values[i] gets the
 * value of names[i] (NULL when absent).  Anything else (an unknown or
 * repeated name, a pair without "=") answers 400 and returns -1.  The
 * values point into buf (size bytes), which holds the query's copy.
 */
int md_rev_query(gw_svc_req_t *req, const char **names, const char **values,
    char *buf, size_t size);

/*
 * An If-Match or If-None-Match value against the ETag "<rev>": 1 when
 * it is "*" or lists it (weak: W/"<rev>" too; else a W/ tag never
 * matches), 0 when not, -1 when the value is not a list of entity tags.
 */
int md_rev_etag_match(const char *value, long long rev, int weak);

/* 503: Redis down (r NULL: a warning) or an answer we cannot read */
void md_rev_unavailable(gw_svc_req_t *req, redisReply *r,
    const char *message);

/* ms since the epoch as RFC 3339 UTC with milliseconds */
void md_rev_time(long long ms, char *buf);

/* 410 resync-required: revisions up to trimmed are gone from the log */
void md_rev_resync(gw_svc_req_t *req, long long trimmed);

/* a doc of the log ("" : NULL) without "version"; -1 when malformed */
int md_rev_doc(const char *text, size_t len, json_t **doc);

/* POST /v1/revisions/{n}/rollback, once access allowed it */
void md_rev_rollback(gw_svc_req_t *req, const char *actor, long long n);


#endif /* _METADATA_REV_H_INCLUDED_ */
