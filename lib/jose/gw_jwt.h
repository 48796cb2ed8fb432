
/*
 * Copyright (C) Tollgate
 *
 * JWT claim checks (RFC 7519) against a policy, and claim lookup by path.
 * Dates are JSON numbers (integers or not) of seconds; a date claim of any
 * other type is invalid.  Rules, with leeway L and time now:
 *   exp: invalid when now >= exp + L; required unless policy says not;
 *   nbf: invalid when now + L < nbf;
 *   iat: invalid when iat > now + L (issued in the future);
 *   max_age A: iat is required, invalid when now - iat > A + L;
 *   iss: one of the issuers; aud: a string equal to one of the audiences,
 *   or an array with at least one element equal to one of them;
 *   required claims: present, and when values are given, the claim (or an
 *   element of an array claim) renders equal to one of them;
 *   scopes: from "scope" or "scp", each either a space-delimited string or
 *   an array of strings; all required ones, or any one of them.
 *
 * Paths name nested members with ".", e.g. "realm_access.roles"; a member
 * name that holds a dot writes it as "\.", and a backslash as "\\".
 */


#ifndef _GW_JWT_H_INCLUDED_
#define _GW_JWT_H_INCLUDED_


#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>


typedef struct {
    const char     *data;
    size_t          len;
} gw_str_t;


typedef struct {
    gw_str_t        path;
    const gw_str_t *values;             /* NULL: presence is enough */
    size_t          nvalues;
} gw_jwt_claim_rule_t;


typedef struct {
    long long                   leeway;         /* seconds */
    long long                   max_age;        /* seconds; 0: no limit */
    unsigned                    require_exp;
    unsigned                    scope_any;      /* 0: all scopes needed */
    const gw_str_t             *issuers;
    size_t                      nissuers;
    const gw_str_t             *audiences;
    size_t                      naudiences;
    const gw_jwt_claim_rule_t  *claims;
    size_t                      nclaims;
    const gw_str_t             *scopes;
    size_t                      nscopes;
} gw_jwt_policy_t;


#define GW_JWT_OK               0
#define GW_JWT_INVALID         -1       /* 401 invalid_token */
#define GW_JWT_SCOPE           -2       /* 403 insufficient_scope */


/*
 * Checks claims (the payload object) against policy p at time now
 * (seconds since the epoch).  Returns GW_JWT_OK, or GW_JWT_INVALID or
 * GW_JWT_SCOPE with *err set to a static, client-safe reason.
 */
int gw_jwt_check(const json_t *claims, const gw_jwt_policy_t *p,
    long long now, const char **err);

/*
 * A payload member as the plain scanner (gw_jwt_plain.c) notes it: its
 * type, a number's value, a string's bytes (no escapes: they are the
 * value), or an array's or object's text from its bracket to past the
 * closing one.
 */

typedef enum {
    GW_JWT_V_NONE = 0,                  /* absent */
    GW_JWT_V_STRING,
    GW_JWT_V_NUMBER,
    GW_JWT_V_TRUE,
    GW_JWT_V_FALSE,
    GW_JWT_V_NULL,
    GW_JWT_V_ARRAY,
    GW_JWT_V_OBJECT
} gw_jwt_type_e;


typedef struct {
    const char     *data;
    size_t          len;
    double          num;
    gw_jwt_type_e   type;
} gw_jwt_value_t;


typedef struct {
    gw_jwt_value_t  exp;
    gw_jwt_value_t  nbf;
    gw_jwt_value_t  iat;
    gw_jwt_value_t  iss;
    gw_jwt_value_t  aud;
    gw_jwt_value_t  scope;
    gw_jwt_value_t  scp;
    gw_jwt_value_t  jti;                /* for revocation, not checked */
} gw_jwt_plain_t;


/*
 * Scans len bytes of payload text.  Returns 1 when it is a plain payload
 * (see gw_jwt_plain.c: every text taken here, json_loadb() with
 * JSON_REJECT_DUPLICATES takes too, as an object with the same members),
 * with the members the checks read noted in c, pointing into json; 0 when
 * it is not, and then jansson must judge it.
 */
int gw_jwt_plain_scan(gw_jwt_plain_t *c, const char *json, size_t len);

/*
 * gw_jwt_check() on a scanned plain payload, with the same results and
 * reasons.  The policy must have no claim rules (p->nclaims == 0): those
 * need the tree.
 */
int gw_jwt_check_plain(const gw_jwt_plain_t *c, const gw_jwt_policy_t *p,
    long long now, const char **err);

/*
 * The next element of an array noted by gw_jwt_plain_scan(), from *pos
 * (past its "[", or where the last call left it) to end (past its "]").
 * Returns 1 with v set (a string's bytes, or the type alone for any other
 * value), 0 at the end.
 */
int gw_jwt_plain_next(const char **pos, const char *end, gw_jwt_value_t *v);

/* The member at path, or NULL; a NULL or empty path names nothing. */
json_t *gw_json_path(const json_t *root, const char *path, size_t len);

/*
 * Renders a claim value as text into buf: a string as its bytes, a number
 * in shortest form ("42", "1.5"), true/false, null as "", an array as its
 * rendered elements joined by sep, an object as compact JSON.  Returns the
 * length, or -1 when it does not fit in size; buf is not NUL-terminated.
 */
ssize_t gw_json_render(const json_t *v, const char *sep, size_t sep_len,
    char *buf, size_t size);


#endif /* _GW_JWT_H_INCLUDED_ */
