
/*
 * Copyright (C) Tollgate
 *
 * gw_jwt_check() on a payload the plain scanner took (gw_jwt_plain.c),
 * without a jansson tree: the same checks in the same order with the same
 * reasons, read from the noted members.  Their strings hold no escapes,
 * so their bytes in the text are the values jansson would hold; arrays
 * are walked in their text with gw_jwt_plain_next().
 */


#include <string.h>

#include "gw_jwt.h"


static int gw_jwt_plain_dates(const gw_jwt_plain_t *c,
    const gw_jwt_policy_t *p, long long now, const char **err);
static int gw_jwt_plain_scopes(const gw_jwt_plain_t *c,
    const gw_jwt_policy_t *p, const char **err);
static int gw_jwt_plain_has_scope(const gw_jwt_value_t *scope,
    const gw_str_t *s);
static int gw_jwt_plain_str_in(const gw_jwt_value_t *v, const gw_str_t *set,
    size_t n);


int
gw_jwt_check_plain(const gw_jwt_plain_t *c, const gw_jwt_policy_t *p,
    long long now, const char **err)
{
    int             found;
    const char     *pos, *end;
    gw_jwt_value_t  v;

    if (p->nclaims != 0) {
        *err = "claim rules need the parsed payload";
        return GW_JWT_INVALID;
    }

    if (gw_jwt_plain_dates(c, p, now, err) != 0) {
        return GW_JWT_INVALID;
    }

    if (p->nissuers != 0) {
        if (c->iss.type == GW_JWT_V_NONE) {
            *err = "missing iss claim";
            return GW_JWT_INVALID;
        }

        if (!gw_jwt_plain_str_in(&c->iss, p->issuers, p->nissuers)) {
            *err = "issuer not allowed";
            return GW_JWT_INVALID;
        }
    }

    if (p->naudiences != 0) {
        if (c->aud.type == GW_JWT_V_NONE) {
            *err = "missing aud claim";
            return GW_JWT_INVALID;
        }

        if (c->aud.type == GW_JWT_V_ARRAY) {
            found = 0;
            pos = c->aud.data + 1;
            end = c->aud.data + c->aud.len;

            while (!found && gw_jwt_plain_next(&pos, end, &v)) {
                found = gw_jwt_plain_str_in(&v, p->audiences, p->naudiences);
            }

            if (!found) {
                *err = "audience not allowed";
                return GW_JWT_INVALID;
            }

        } else if (!gw_jwt_plain_str_in(&c->aud, p->audiences,
                                        p->naudiences))
        {
            *err = "audience not allowed";
            return GW_JWT_INVALID;
        }
    }

    if (p->nscopes != 0) {
        return gw_jwt_plain_scopes(c, p, err);
    }

    return GW_JWT_OK;
}


/* gw_jwt_dates() on the noted members */

static int
gw_jwt_plain_dates(const gw_jwt_plain_t *c, const gw_jwt_policy_t *p,
    long long now, const char **err)
{
    double  t, n, l;

    n = (double) now;
    l = (double) p->leeway;

    if (c->exp.type == GW_JWT_V_NONE) {
        if (p->require_exp) {
            *err = "missing exp claim";
            return -1;
        }

    } else {
        if (c->exp.type != GW_JWT_V_NUMBER) {
            *err = "invalid exp claim";
            return -1;
        }

        if (n >= c->exp.num + l) {
            *err = "token expired";
            return -1;
        }
    }

    if (c->nbf.type != GW_JWT_V_NONE) {
        if (c->nbf.type != GW_JWT_V_NUMBER) {
            *err = "invalid nbf claim";
            return -1;
        }

        if (n + l < c->nbf.num) {
            *err = "token not yet valid";
            return -1;
        }
    }

    if (c->iat.type == GW_JWT_V_NONE) {
        if (p->max_age > 0) {
            *err = "missing iat claim";
            return -1;
        }

        return 0;
    }

    if (c->iat.type != GW_JWT_V_NUMBER) {
        *err = "invalid iat claim";
        return -1;
    }

    t = c->iat.num;

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


/* gw_jwt_scopes() on the noted members */

static int
gw_jwt_plain_scopes(const gw_jwt_plain_t *c, const gw_jwt_policy_t *p,
    const char **err)
{
    size_t                 i;
    const char            *pos, *end;
    gw_jwt_value_t         v;
    const gw_jwt_value_t  *scope[2];

    scope[0] = &c->scope;
    scope[1] = &c->scp;

    for (i = 0; i < 2; i++) {
        if (scope[i]->type == GW_JWT_V_NONE
            || scope[i]->type == GW_JWT_V_STRING)
        {
            continue;
        }

        if (scope[i]->type != GW_JWT_V_ARRAY) {
            *err = "invalid scope claim";
            return GW_JWT_INVALID;
        }

        pos = scope[i]->data + 1;
        end = scope[i]->data + scope[i]->len;

        while (gw_jwt_plain_next(&pos, end, &v)) {
            if (v.type != GW_JWT_V_STRING) {
                *err = "invalid scope claim";
                return GW_JWT_INVALID;
            }
        }
    }

    for (i = 0; i < p->nscopes; i++) {
        if (gw_jwt_plain_has_scope(scope[0], &p->scopes[i])
            || gw_jwt_plain_has_scope(scope[1], &p->scopes[i]))
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


/* scope: absent, a string or an array of strings (already checked) */

static int
gw_jwt_plain_has_scope(const gw_jwt_value_t *scope, const gw_str_t *s)
{
    size_t          len;
    const char     *p, *end, *word;
    gw_jwt_value_t  v;

    if (scope->type == GW_JWT_V_NONE) {
        return 0;
    }

    if (scope->type == GW_JWT_V_ARRAY) {
        p = scope->data + 1;
        end = scope->data + scope->len;

        while (gw_jwt_plain_next(&p, end, &v)) {
            if (gw_jwt_plain_str_in(&v, s, 1)) {
                return 1;
            }
        }

        return 0;
    }

    p = scope->data;
    end = p + scope->len;

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


static int
gw_jwt_plain_str_in(const gw_jwt_value_t *v, const gw_str_t *set, size_t n)
{
    size_t  i;

    if (v->type != GW_JWT_V_STRING) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (set[i].len == v->len && memcmp(set[i].data, v->data, v->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
