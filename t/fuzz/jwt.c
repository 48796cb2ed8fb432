
/*
 * Copyright (C) Tollgate
 *
 * Fuzz driver for JWT claims (lib/jose/gw_jwt.h): gw_jwt_check() under a
 * few fixed policies, gw_json_path() and gw_json_render() on a payload
 * given as JSON text, without the base64url and signature around it, so
 * that the fuzzer works on the JSON directly.  The payload is parsed the
 * way gw_jws_parse() parses one (duplicate names rejected, an object
 * only), so the functions see only what the API hands them.
 *
 * Input: a claim path, a newline, then the payload; without a newline the
 * whole input is the payload.  Caps: the payload is at most what an
 * GW_JWS_MAX_LEN token carries, a path at most GW_JWT_FUZZ_PATH_MAX bytes
 * (paths come from configuration).
 *
 * Checks: gw_jwt_check() returns one of its three codes, with a reason
 * when it refuses; a member named by its escaped path ("\." and "\\") is
 * found, one and two levels deep, and is the very member jansson holds;
 * rendering a value into buffers of exactly the rendered size succeeds
 * with the same bytes, into one byte less fails, and never writes past
 * the size it is given (the buffers are exact, for AddressSanitizer).
 *
 * The plain payload scanner, gw_jwt_plain_scan(), runs on every input:
 * what it takes, jansson must take as an object; each member it notes
 * must be jansson's member of that name, of the same type, with the same
 * number or string bytes, and an array's elements, walked with
 * gw_jwt_plain_next(), jansson's elements one by one; a member it does
 * not note must be absent.  gw_jwt_check_plain() must then give every
 * policy without its claim rules the result and reason gw_jwt_check()
 * gives.
 */


#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_b64url.h"
#include "gw_jws.h"
#include "gw_jwt.h"


#define GW_JWT_FUZZ_PATH_MAX    256
#define GW_JWT_FUZZ_RENDER_MAX  (64 * 1024)
#define GW_JWT_FUZZ_MEMBERS     64
#define GW_JWT_FUZZ_NOW         1700000000LL

#define gw_fuzz_str(s)          { s, sizeof(s) - 1 }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_policies(const json_t *claims);
static void check_members(const json_t *root, char *path);
static size_t escape_key(char *dst, const char *key, size_t len);
static void check_path(const json_t *root, const char *path, size_t len);
static void check_render(const json_t *v);
static void check_plain(const gw_jwt_plain_t *c, const json_t *root);
static void check_plain_value(const gw_jwt_value_t *pv, const json_t *v);


static const gw_str_t  issuers[] = {
    gw_fuzz_str("https://issuer.example"),
    gw_fuzz_str("iss-2")
};

static const gw_str_t  audiences[] = {
    gw_fuzz_str("api"),
    gw_fuzz_str("web")
};

static const gw_str_t  roles[] = {
    gw_fuzz_str("admin"),
    gw_fuzz_str("user")
};

static const gw_str_t  values[] = {
    gw_fuzz_str("42"),
    gw_fuzz_str("1.5"),
    gw_fuzz_str("true"),
    gw_fuzz_str(""),
    gw_fuzz_str("a,b"),
    gw_fuzz_str("{\"x\":1}")
};

static const gw_str_t  subjects[] = {
    gw_fuzz_str("alice")
};

static const gw_str_t  scopes_a[] = {
    gw_fuzz_str("read"),
    gw_fuzz_str("write")
};

static const gw_str_t  scopes_b[] = {
    gw_fuzz_str("admin"),
    gw_fuzz_str("read")
};

static const gw_jwt_claim_rule_t  rules_a[] = {
    { gw_fuzz_str("realm_access.roles"), roles, 2 },
    { gw_fuzz_str("tenant"), NULL, 0 },
    { gw_fuzz_str("a\\.b.c\\\\d"), values, 6 }
};

static const gw_jwt_claim_rule_t  rules_b[] = {
    { gw_fuzz_str("sub"), subjects, 1 },
    { gw_fuzz_str("n"), values, 6 }
};


/* leeway, max_age, require_exp, scope_any, then the lists */

static const gw_jwt_policy_t  policies[] = {
    { 60, 3600, 1, 0, issuers, 2, audiences, 2, rules_a, 3, scopes_a, 2 },
    { 0, 0, 0, 1, NULL, 0, audiences, 1, rules_b, 2, scopes_b, 2 },
    { LLONG_MAX, LLONG_MAX, 0, 0, issuers, 1, NULL, 0, NULL, 0, NULL, 0 },
    { 0, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0 }
};


static const gw_str_t  paths[] = {
    gw_fuzz_str("sub"),
    gw_fuzz_str("realm_access.roles"),
    gw_fuzz_str("a\\.b"),
    gw_fuzz_str("a\\\\b.c"),
    gw_fuzz_str("x.y.z"),
    gw_fuzz_str("scope")
};


static const gw_str_t  seps[] = {
    gw_fuzz_str(","),
    gw_fuzz_str(""),
    gw_fuzz_str(", ")
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             plain;
    char           *path;
    size_t          i, path_len;
    json_t         *root;
    const uint8_t  *nl, *json;
    gw_jwt_plain_t  c;

    nl = memchr(data, '\n', size);

    if (nl != NULL) {
        path_len = nl - data;
        json = nl + 1;

    } else {
        path_len = 0;
        json = data;
    }

    if (path_len > GW_JWT_FUZZ_PATH_MAX
        || (size_t) (data + size - json)
           > gw_b64url_decoded_len(GW_JWS_MAX_LEN))
    {
        return 0;
    }

    plain = gw_jwt_plain_scan(&c, (const char *) json, data + size - json);

    root = json_loadb((const char *) json, data + size - json,
                      JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(root)) {
        if (plain) {
            abort();
        }

        json_decref(root);
        return 0;
    }

    if (plain) {
        check_plain(&c, root);
    }

    check_policies(root);

    if (path_len != 0) {
        check_path(root, (const char *) data, path_len);
    }

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        check_path(root, paths[i].data, paths[i].len);
    }

    if (gw_json_path(root, NULL, 0) != NULL
        || gw_json_path(root, "sub", 0) != NULL)
    {
        abort();
    }

    /* an escaped member name is at most twice as long; two of them */

    path = malloc(2 * size + 2);
    if (path == NULL) {
        abort();
    }

    check_members(root, path);
    check_render(root);

    free(path);
    json_decref(root);

    return 0;
}


static void
check_policies(const json_t *claims)
{
    int          rc;
    size_t       i;
    json_t      *v;
    const char  *err;

    for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        err = NULL;

        rc = gw_jwt_check(claims, &policies[i], GW_JWT_FUZZ_NOW, &err);

        switch (rc) {

        case GW_JWT_OK:
            break;

        case GW_JWT_INVALID:
        case GW_JWT_SCOPE:
            if (err == NULL) {
                abort();
            }

            if (rc == GW_JWT_SCOPE && policies[i].nscopes == 0) {
                abort();
            }

            continue;

        default:
            abort();
        }

        /* what the first policy lets through */

        if (i == 0) {
            v = json_object_get(claims, "exp");

            if (!json_is_number(v)
                || json_number_value(v) + 60 <= (double) GW_JWT_FUZZ_NOW)
            {
                abort();
            }

            v = json_object_get(claims, "iss");

            if (!json_is_string(v)
                || (strcmp(json_string_value(v), issuers[0].data) != 0
                    && strcmp(json_string_value(v), issuers[1].data) != 0))
            {
                abort();
            }

            if (gw_json_path(claims, "tenant", 6) == NULL) {
                abort();
            }
        }
    }
}


/*
 * Every member, and every member of a member that is an object, must be
 * found by its escaped path and be the value jansson holds under that
 * name.  A member named "" has no path.
 */

static void
check_members(const json_t *root, char *path)
{
    size_t       n1, n2, k1_len, k2_len, i, j;
    json_t      *v1, *v2;
    const char  *k1, *k2;

    i = 0;

    json_object_keylen_foreach((json_t *) root, k1, k1_len, v1) {
        if (i++ == GW_JWT_FUZZ_MEMBERS) {
            break;
        }

        check_render(v1);

        if (k1_len == 0) {
            continue;
        }

        n1 = escape_key(path, k1, k1_len);

        if (gw_json_path(root, path, n1) != v1) {
            abort();
        }

        if (!json_is_object(v1)) {
            continue;
        }

        path[n1] = '.';
        j = 0;

        json_object_keylen_foreach(v1, k2, k2_len, v2) {
            if (j++ == GW_JWT_FUZZ_MEMBERS) {
                break;
            }

            if (k2_len == 0) {
                continue;
            }

            n2 = escape_key(path + n1 + 1, k2, k2_len);

            if (gw_json_path(root, path, n1 + 1 + n2) != v2) {
                abort();
            }
        }
    }
}


static size_t
escape_key(char *dst, const char *key, size_t len)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (key[i] == '.' || key[i] == '\\') {
            dst[n++] = '\\';
        }

        dst[n++] = key[i];
    }

    return n;
}


static void
check_path(const json_t *root, const char *path, size_t len)
{
    char    *copy;
    json_t  *v;

    /* an exact copy, so that a read past the path's end is caught */

    copy = malloc(len);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, path, len);

    v = gw_json_path(root, copy, len);

    free(copy);

    if (v != NULL) {
        check_render(v);
    }
}


static void
check_render(const json_t *v)
{
    char     *big, *exact, *shorter;
    size_t    i;
    ssize_t   n, m;

    for (i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
        big = malloc(GW_JWT_FUZZ_RENDER_MAX);
        if (big == NULL) {
            abort();
        }

        n = gw_json_render(v, seps[i].data, seps[i].len, big,
                           GW_JWT_FUZZ_RENDER_MAX);

        if (n < -1 || n > GW_JWT_FUZZ_RENDER_MAX) {
            abort();
        }

        if (n == -1) {
            free(big);
            continue;
        }

        if (json_is_string(v)
            && ((size_t) n != json_string_length(v)
                || memcmp(big, json_string_value(v), n) != 0))
        {
            abort();
        }

        exact = malloc(n ? n : 1);
        if (exact == NULL) {
            abort();
        }

        m = gw_json_render(v, seps[i].data, seps[i].len, exact, n);

        if (m != n || memcmp(exact, big, n) != 0) {
            abort();
        }

        if (n > 0) {
            shorter = malloc(n - 1 ? n - 1 : 1);
            if (shorter == NULL) {
                abort();
            }

            m = gw_json_render(v, seps[i].data, seps[i].len, shorter,
                               n - 1);

            if (m != -1) {
                abort();
            }

            free(shorter);
        }

        free(exact);
        free(big);
    }
}


static void
check_plain(const gw_jwt_plain_t *c, const json_t *root)
{
    int              rc, prc;
    size_t           i, n;
    const char      *err, *perr, *key;
    json_t          *v;
    gw_jwt_policy_t  p;

    static const char  *names[] = {
        "exp", "nbf", "iat", "iss", "aud", "scope", "scp"
    };

    const gw_jwt_value_t  *noted[] = {
        &c->exp, &c->nbf, &c->iat, &c->iss, &c->aud, &c->scope, &c->scp
    };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        check_plain_value(noted[i], json_object_get(root, names[i]));
    }

    /* nothing else is noted: the same members, by count */

    n = 0;

    json_object_foreach((json_t *) root, key, v) {
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (strcmp(key, names[i]) == 0) {
                n++;
            }
        }
    }

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        n -= (noted[i]->type != GW_JWT_V_NONE);
    }

    if (n != 0) {
        abort();
    }

    for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
        p = policies[i];
        p.claims = NULL;
        p.nclaims = 0;

        err = NULL;
        perr = NULL;

        rc = gw_jwt_check(root, &p, GW_JWT_FUZZ_NOW, &err);
        prc = gw_jwt_check_plain(c, &p, GW_JWT_FUZZ_NOW, &perr);

        if (rc != prc
            || (err == NULL) != (perr == NULL)
            || (err != NULL && strcmp(err, perr) != 0))
        {
            abort();
        }
    }
}


static void
check_plain_value(const gw_jwt_value_t *pv, const json_t *v)
{
    size_t          i;
    const char     *pos, *end;
    gw_jwt_value_t  e;

    if (v == NULL) {
        if (pv->type != GW_JWT_V_NONE) {
            abort();
        }

        return;
    }

    switch (pv->type) {

    case GW_JWT_V_STRING:
        if (!json_is_string(v) || json_string_length(v) != pv->len
            || memcmp(json_string_value(v), pv->data, pv->len) != 0)
        {
            abort();
        }

        return;

    case GW_JWT_V_NUMBER:
        if (!json_is_number(v) || json_number_value(v) != pv->num) {
            abort();
        }

        return;

    case GW_JWT_V_TRUE:
    case GW_JWT_V_FALSE:
    case GW_JWT_V_NULL:
        if (json_typeof(v) != (pv->type == GW_JWT_V_TRUE ? JSON_TRUE
                               : pv->type == GW_JWT_V_FALSE ? JSON_FALSE
                               : JSON_NULL))
        {
            abort();
        }

        return;

    case GW_JWT_V_OBJECT:
        if (!json_is_object(v)) {
            abort();
        }

        return;

    case GW_JWT_V_ARRAY:
        if (!json_is_array(v) || pv->len < 2 || pv->data[0] != '['
            || pv->data[pv->len - 1] != ']')
        {
            abort();
        }

        pos = pv->data + 1;
        end = pv->data + pv->len;

        for (i = 0; gw_jwt_plain_next(&pos, end, &e); i++) {
            if (i == json_array_size(v)) {
                abort();
            }

            if (e.type == GW_JWT_V_STRING) {
                check_plain_value(&e, json_array_get(v, i));

            } else if (json_typeof(json_array_get(v, i))
                       != (e.type == GW_JWT_V_ARRAY ? JSON_ARRAY
                           : e.type == GW_JWT_V_OBJECT ? JSON_OBJECT
                           : e.type == GW_JWT_V_TRUE ? JSON_TRUE
                           : e.type == GW_JWT_V_FALSE ? JSON_FALSE
                           : e.type == GW_JWT_V_NULL ? JSON_NULL
                           : json_typeof(json_array_get(v, i))))
            {
                abort();
            }

            if (e.type == GW_JWT_V_NUMBER
                && !json_is_number(json_array_get(v, i)))
            {
                abort();
            }
        }

        if (i != json_array_size(v)) {
            abort();
        }

        return;

    default:
        abort();
    }
}
