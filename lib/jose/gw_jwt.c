
/*
 * Copyright (C) Tollgate
 *
 * JWT claim policy.  The checks run in a fixed order, cheapest and most
 * telling first: the dates (exp, nbf, iat, max_age), then iss and aud,
 * then required claims, and scopes last, because a scope failure alone is
 * a 403 (the token is good, its rights are short) while every other
 * failure is a 401.  Dates are compared as doubles: JSON allows 1.7e9 as
 * well as 1700000000, and a double holds every second until the year
 * 285 million exactly, so no integer overflow is possible with a huge
 * "exp" plus leeway.
 *
 * Paths are walked without copying: a segment without escapes is looked
 * up with json_object_getn(); one with "\." or "\\" is compared against
 * the object's member names while being unescaped on the fly.  Empty
 * segments ("a..b", ".a", "a.") and any other backslash sequence name
 * nothing.
 *
 * Rendering writes into the caller's buffer, not NUL-terminated, and never
 * allocates; reals use the shortest of %.15g, %.16g and %.17g that reads
 * back as the same double, so 1.5 is "1.5" and 0.1 + 0.2 is
 * "0.30000000000000004".  Nested arrays are flattened with the same
 * separator.  Objects are jansson's compact JSON in member order, whose
 * reals are always %.17g ({"a":0.1} is {"a":0.10000000000000001}).
 * Required-claim values are compared as rendered text, which is what a
 * configuration writes; a rendered value longer than GW_JWT_RENDER_MAX
 * bytes matches nothing.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_jwt.h"


#define GW_JWT_RENDER_MAX  512      /* bytes of a claim compared as text */


static int gw_jwt_dates(const json_t *claims, const gw_jwt_policy_t *p,
    long long now, const char **err);
static int gw_jwt_claim_match(const json_t *v, const gw_jwt_claim_rule_t *r);
static int gw_jwt_value_match(const json_t *v, const gw_str_t *values,
    size_t nvalues);
static int gw_jwt_scopes(const json_t *claims, const gw_jwt_policy_t *p,
    const char **err);
static int gw_jwt_has_scope(const json_t *scope, const gw_str_t *s);
static int gw_jwt_str_in(const json_t *v, const gw_str_t *set, size_t n);
static int gw_json_seg_eq(const char *key, size_t key_len, const char *seg,
    size_t seg_len);
static ssize_t gw_json_render_real(double d, char *buf, size_t size);


int
gw_jwt_check(const json_t *claims, const gw_jwt_policy_t *p, long long now,
    const char **err)
{
    size_t   i;
    json_t  *v;

    if (!json_is_object(claims)) {
        *err = "claims are not a JSON object";
        return GW_JWT_INVALID;
    }

    if (gw_jwt_dates(claims, p, now, err) != 0) {
        return GW_JWT_INVALID;
    }

    if (p->nissuers != 0) {
        v = json_object_get(claims, "iss");

        if (v == NULL) {
            *err = "missing iss claim";
            return GW_JWT_INVALID;
        }

        if (!gw_jwt_str_in(v, p->issuers, p->nissuers)) {
            *err = "issuer not allowed";
            return GW_JWT_INVALID;
        }
    }

    if (p->naudiences != 0) {
        v = json_object_get(claims, "aud");

        if (v == NULL) {
            *err = "missing aud claim";
            return GW_JWT_INVALID;
        }

        if (json_is_array(v)) {
            for (i = 0; i < json_array_size(v); i++) {
                if (gw_jwt_str_in(json_array_get(v, i), p->audiences,
                                  p->naudiences))
                {
                    break;
                }
            }

            if (i == json_array_size(v)) {
                *err = "audience not allowed";
                return GW_JWT_INVALID;
            }

        } else if (!gw_jwt_str_in(v, p->audiences, p->naudiences)) {
            *err = "audience not allowed";
            return GW_JWT_INVALID;
        }
    }

    for (i = 0; i < p->nclaims; i++) {
        v = gw_json_path(claims, p->claims[i].path.data,
                         p->claims[i].path.len);

        if (v == NULL) {
            *err = "required claim missing";
            return GW_JWT_INVALID;
        }

        if (!gw_jwt_claim_match(v, &p->claims[i])) {
            *err = "claim value not allowed";
            return GW_JWT_INVALID;
        }
    }

    if (p->nscopes != 0) {
        return gw_jwt_scopes(claims, p, err);
    }

    return GW_JWT_OK;
}


static int
gw_jwt_dates(const json_t *claims, const gw_jwt_policy_t *p, long long now,
    const char **err)
{
    double   t, n, l;
    json_t  *v;

    n = (double) now;
    l = (double) p->leeway;

    v = json_object_get(claims, "exp");

    if (v == NULL) {
        if (p->require_exp) {
            *err = "missing exp claim";
            return -1;
        }

    } else {
        if (!json_is_number(v)) {
            *err = "invalid exp claim";
            return -1;
        }

        if (n >= json_number_value(v) + l) {
            *err = "token expired";
            return -1;
        }
    }

    v = json_object_get(claims, "nbf");

    if (v != NULL) {
        if (!json_is_number(v)) {
            *err = "invalid nbf claim";
            return -1;
        }

        if (n + l < json_number_value(v)) {
            *err = "token not yet valid";
            return -1;
        }
    }

    v = json_object_get(claims, "iat");

    if (v == NULL) {
        if (p->max_age > 0) {
            *err = "missing iat claim";
            return -1;
        }

        return 0;
    }

    if (!json_is_number(v)) {
        *err = "invalid iat claim";
        return -1;
    }

    t = json_number_value(v);

    if (t > n + l) {
        *err = "token issued in the future";
        return -1;
    }

    if (p->max_age > 0 && n - t > (double) p->max_age + l) {
        *err = "token too old";
        return -1;
    }

    return 0;
}


/* an array claim matches when one of its elements does */

static int
gw_jwt_claim_match(const json_t *v, const gw_jwt_claim_rule_t *r)
{
    size_t  i;

    if (r->values == NULL) {
        return 1;
    }

    if (!json_is_array(v)) {
        return gw_jwt_value_match(v, r->values, r->nvalues);
    }

    for (i = 0; i < json_array_size(v); i++) {
        if (gw_jwt_value_match(json_array_get(v, i), r->values, r->nvalues)) {
            return 1;
        }
    }

    return 0;
}


static int
gw_jwt_value_match(const json_t *v, const gw_str_t *values, size_t nvalues)
{
    size_t   i;
    ssize_t  n;
    char     buf[GW_JWT_RENDER_MAX];

    if (json_is_string(v)) {
        return gw_jwt_str_in(v, values, nvalues);
    }

    n = gw_json_render(v, ",", 1, buf, sizeof(buf));
    if (n < 0) {
        return 0;
    }

    for (i = 0; i < nvalues; i++) {
        if (values[i].len == (size_t) n
            && memcmp(values[i].data, buf, n) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Scopes come from "scope" and "scp" together.  Either may be a string of
 * space-separated names (RFC 8693 section 4.2) or an array of names; any
 * other type is an invalid token rather than a missing scope.
 */

static int
gw_jwt_scopes(const json_t *claims, const gw_jwt_policy_t *p,
    const char **err)
{
    size_t   i, j;
    json_t  *scope[2];

    scope[0] = json_object_get(claims, "scope");
    scope[1] = json_object_get(claims, "scp");

    for (i = 0; i < 2; i++) {
        if (scope[i] == NULL || json_is_string(scope[i])) {
            continue;
        }

        if (!json_is_array(scope[i])) {
            *err = "invalid scope claim";
            return GW_JWT_INVALID;
        }

        for (j = 0; j < json_array_size(scope[i]); j++) {
            if (!json_is_string(json_array_get(scope[i], j))) {
                *err = "invalid scope claim";
                return GW_JWT_INVALID;
            }
        }
    }

    for (i = 0; i < p->nscopes; i++) {
        if (gw_jwt_has_scope(scope[0], &p->scopes[i])
            || gw_jwt_has_scope(scope[1], &p->scopes[i]))
        {
            if (p->scope_any) {
                return GW_JWT_OK;
            }

        } else if (!p->scope_any) {
            *err = "insufficient scope";
            return GW_JWT_SCOPE;
        }
    }

    if (p->scope_any) {
        *err = "insufficient scope";
        return GW_JWT_SCOPE;
    }

    return GW_JWT_OK;
}


/* scope: NULL, a string or an array of strings (already checked) */

static int
gw_jwt_has_scope(const json_t *scope, const gw_str_t *s)
{
    size_t       i, len;
    const char  *p, *end, *word;

    if (scope == NULL) {
        return 0;
    }

    if (json_is_array(scope)) {
        for (i = 0; i < json_array_size(scope); i++) {
            if (gw_jwt_str_in(json_array_get(scope, i), s, 1)) {
                return 1;
            }
        }

        return 0;
    }

    p = json_string_value(scope);
    end = p + json_string_length(scope);

    while (p < end) {
        while (p < end && *p == ' ') {
            p++;
        }

        word = p;

        while (p < end && *p != ' ') {
            p++;
        }

        len = p - word;

        if (len != 0 && len == s->len && memcmp(word, s->data, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/* v is a string byte-equal to one of set[0 .. n - 1] */

static int
gw_jwt_str_in(const json_t *v, const gw_str_t *set, size_t n)
{
    size_t       i, len;
    const char  *s;

    if (!json_is_string(v)) {
        return 0;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    for (i = 0; i < n; i++) {
        if (set[i].len == len && memcmp(set[i].data, s, len) == 0) {
            return 1;
        }
    }

    return 0;
}


json_t *
gw_json_path(const json_t *root, const char *path, size_t len)
{
    size_t       key_len;
    json_t      *cur, *v;
    unsigned     esc;
    const char  *p, *end, *seg, *key;

    if (path == NULL || len == 0) {
        return NULL;
    }

    cur = (json_t *) root;
    p = path;
    end = path + len;

    for ( ;; ) {
        seg = p;
        esc = 0;

        while (p < end && *p != '.') {
            if (*p != '\\') {
                p++;
                continue;
            }

            if (p + 1 == end || (p[1] != '.' && p[1] != '\\')) {
                return NULL;
            }

            esc = 1;
            p += 2;
        }

        if (p == seg || !json_is_object(cur)) {
            return NULL;
        }

        if (!esc) {
            cur = json_object_getn(cur, seg, p - seg);

        } else {
            v = NULL;

            json_object_keylen_foreach(cur, key, key_len, v) {
                if (gw_json_seg_eq(key, key_len, seg, p - seg)) {
                    break;
                }
            }

            /* the loop ends with key NULL when no member matched */

            cur = (key != NULL) ? v : NULL;
        }

        if (cur == NULL || p == end) {
            return cur;
        }

        /* past the dot; a trailing dot leaves an empty segment */

        p++;
    }
}


/* key equals the escaped path segment seg (escapes known to be valid) */

static int
gw_json_seg_eq(const char *key, size_t key_len, const char *seg,
    size_t seg_len)
{
    size_t  i, k;

    for (i = 0, k = 0; i < seg_len; i++, k++) {
        if (seg[i] == '\\') {
            i++;
        }

        if (k == key_len || key[k] != seg[i]) {
            return 0;
        }
    }

    return k == key_len;
}


ssize_t
gw_json_render(const json_t *v, const char *sep, size_t sep_len, char *buf,
    size_t size)
{
    int      n;
    size_t   i, len;
    ssize_t  rc;
    char     tmp[32];

    if (v == NULL) {
        return -1;
    }

    switch (json_typeof(v)) {

    case JSON_STRING:
        len = json_string_length(v);

        if (len > size) {
            return -1;
        }

        memcpy(buf, json_string_value(v), len);

        return len;

    case JSON_INTEGER:
        n = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));

        if (n < 0 || (size_t) n > size) {
            return -1;
        }

        memcpy(buf, tmp, n);

        return n;

    case JSON_REAL:
        return gw_json_render_real(json_real_value(v), buf, size);

    case JSON_TRUE:
        if (size < 4) {
            return -1;
        }

        memcpy(buf, "true", 4);

        return 4;

    case JSON_FALSE:
        if (size < 5) {
            return -1;
        }

        memcpy(buf, "false", 5);

        return 5;

    case JSON_NULL:
        return 0;

    case JSON_ARRAY:
        len = 0;

        for (i = 0; i < json_array_size(v); i++) {
            if (i != 0) {
                if (size - len < sep_len) {
                    return -1;
                }

                memcpy(buf + len, sep, sep_len);
                len += sep_len;
            }

            rc = gw_json_render(json_array_get(v, i), sep, sep_len,
                                buf + len, size - len);
            if (rc < 0) {
                return -1;
            }

            len += rc;
        }

        return len;

    case JSON_OBJECT:
        len = json_dumpb(v, buf, size, JSON_COMPACT);

        return (len == 0 || len > size) ? -1 : (ssize_t) len;
    }

    return -1;
}


/*
 * snprintf() needs room for its terminating NUL, so numbers are printed
 * into a small local buffer first: a number that exactly fills buf fits.
 */

static ssize_t
gw_json_render_real(double d, char *buf, size_t size)
{
    int   n, prec;
    char  tmp[32];

    n = 0;

    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);

        if (n < 0 || (size_t) n >= sizeof(tmp)) {
            return -1;
        }

        if (strtod(tmp, NULL) == d) {
            break;
        }
    }

    if ((size_t) n > size) {
        return -1;
    }

    memcpy(buf, tmp, n);

    return n;
}
