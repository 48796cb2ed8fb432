
/*
 * Copyright (C) Tollgate
 *
 * Inside PUT /v1/config (metadata_config*.c): one apply's state and what
 * the two parts share.
 *
 *   metadata_config.c      the request: its parameters, the body's
 *                          shape, the snapshot, the commit (or a dry
 *                          run's check), the answers
 *   metadata_config_doc.c  the document against the snapshot: every
 *                          entity checked, validated and compared into
 *                          the change set; the dry run's diff
 */


#ifndef _METADATA_CONFIG_H_INCLUDED_
#define _METADATA_CONFIG_H_INCLUDED_


#include "metadata.h"


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


/*
 * Whether text nests arrays and objects deeper than max, brackets in
 * strings aside: -1 when it does, 0 otherwise (malformed text is left
 * to the parser).
 */
int md_config_depth(const char *text, size_t len, unsigned max);

/*
 * The change set of every type in cf->body against cf->snapshot: each
 * entity checked and validated (errors into cf->errors, counted in
 * cf->nerrors), compared with the stored one, and a change added for
 * each that differs.  0, or -1 out of memory.
 */
int md_config_plan(md_config_t *cf);

/*
 * Adds {"pointer": "/entities/<type>[/<index>[/<member>]]", "message"}
 * to cf->errors (up to MD_CONFIG_ERRORS; every call counted).  0, or
 * -1 out of memory.
 */
int md_config_error(md_config_t *cf, const char *type, long index,
    const char *member, const char *message);

/* answers a dry run: the changes with their diffs; frees cf */
void md_config_dry(md_config_t *cf);

/* answers a problem (with cf->errors when there are any) and frees cf */
void md_config_fail(md_config_t *cf, int status, const char *type,
    const char *title, const char *detail);

void md_config_free(md_config_t *cf);


#endif /* _METADATA_CONFIG_H_INCLUDED_ */
