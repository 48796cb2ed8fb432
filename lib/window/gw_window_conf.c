
/*
 * Copyright (C) Tollgate
 *
 * The configuration of a window set: the checks gw_window_new() makes,
 * and the parser of a pipeline document's "window" member, whose errors
 * name the member at fault by its JSON pointer (RFC 6901).  Also the one
 * JSON pointer lookup the aggregates use to find their fields.
 *
 * Durations are a number of ms or "<n>ms|s|m|h|d"; every product is
 * checked against the int64 range, and a hopping window may fall into at
 * most GW_WINDOW_HOPS_MAX windows (ceil(size / hop)), since a record
 * costs one update per window it falls into.
 */


#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_window_int.h"


#define GW_WINDOW_POINTER_MAX  255      /* bytes of a field's pointer */
#define GW_WINDOW_AS_MAX       64       /* bytes of a result member name */


static const char  *gw_window_ops[] = {
    "count", "sum", "min", "max", "avg", "distinct", "reduce", NULL
};

static const char  *gw_window_kinds[] = {
    "tumbling", "hopping", "session", NULL
};


static int gw_window_agg_check_one(const gw_window_conf_t *conf, size_t k,
    int need_reducer, char *why, size_t whylen);
static int gw_window_duration(json_t *v, int zero, int64_t *ms, char *why,
    size_t whylen);
static int gw_window_parse_agg(json_t *v, gw_window_agg_t *agg,
    const char *at, size_t k, char *err, size_t errlen);
static int gw_window_name(const char **names, const char *s);
static int gw_window_unknown(json_t *obj, const char **known, const char *at,
    char *err, size_t errlen);


int
gw_window_pointer_valid(const char *p)
{
    if (p == NULL || strlen(p) > GW_WINDOW_POINTER_MAX
        || (*p != '\0' && *p != '/'))
    {
        return 0;
    }

    for ( ; *p != '\0'; p++) {
        if (*p == '~' && p[1] != '0' && p[1] != '1') {
            return 0;
        }
    }

    return 1;
}


/* the value at pointer p (checked by gw_window_pointer_valid()) or NULL */

json_t *
gw_window_pointer_get(json_t *json, const char *p)
{
    char    seg[GW_WINDOW_POINTER_MAX + 1], *end;
    size_t  n;
    long    idx;

    while (*p == '/' && json != NULL) {
        p++;
        n = 0;

        while (*p != '\0' && *p != '/') {
            if (*p == '~') {
                seg[n++] = (p[1] == '0') ? '~' : '/';
                p += 2;

            } else {
                seg[n++] = *p++;
            }
        }

        seg[n] = '\0';

        if (json_is_object(json)) {
            json = json_object_getn(json, seg, n);

        } else if (json_is_array(json)) {
            if (n == 0 || (n > 1 && seg[0] == '0') || seg[0] < '0'
                || seg[0] > '9')
            {
                return NULL;
            }

            idx = strtol(seg, &end, 10);
            if (*end != '\0' || idx < 0
                || (size_t) idx >= json_array_size(json))
            {
                return NULL;
            }

            json = json_array_get(json, (size_t) idx);

        } else {
            return NULL;
        }
    }

    return json;
}


static int
gw_window_agg_check_one(const gw_window_conf_t *conf, size_t k,
    int need_reducer, char *why, size_t whylen)
{
    size_t                  j;
    const gw_window_agg_t  *agg;

    agg = &conf->aggs[k];

    if ((unsigned) agg->op > GW_WINDOW_REDUCE) {
        snprintf(why, whylen, "op: unknown operation");
        return -1;
    }

    if (agg->as == NULL || agg->as[0] == '\0'
        || strlen(agg->as) > GW_WINDOW_AS_MAX)
    {
        snprintf(why, whylen, "as: a name of 1 to %d bytes is required",
                 GW_WINDOW_AS_MAX);
        return -1;
    }

    if (strcmp(agg->as, "key") == 0 || strcmp(agg->as, "key_hex") == 0
        || strcmp(agg->as, "start") == 0 || strcmp(agg->as, "end") == 0)
    {
        snprintf(why, whylen, "as: \"%s\" is a member of every result",
                 agg->as);
        return -1;
    }

    for (j = 0; j < k; j++) {
        if (strcmp(conf->aggs[j].as, agg->as) == 0) {
            snprintf(why, whylen, "as: \"%s\" names another aggregate too",
                     agg->as);
            return -1;
        }
    }

    if (agg->op == GW_WINDOW_COUNT || agg->op == GW_WINDOW_REDUCE) {
        if (agg->field != NULL) {
            snprintf(why, whylen, "field: %s takes no field",
                     gw_window_ops[agg->op]);
            return -1;
        }

    } else if (!gw_window_pointer_valid(agg->field)) {
        snprintf(why, whylen, "field: a JSON pointer of at most %d bytes "
                 "is required", GW_WINDOW_POINTER_MAX);
        return -1;
    }

    if (agg->op == GW_WINDOW_REDUCE) {
        if (conf->kind == GW_WINDOW_SESSION) {
            snprintf(why, whylen, "op: session windows merge, and a reducer "
                     "cannot merge two accumulators");
            return -1;
        }

        if (need_reducer && conf->reduce == NULL) {
            snprintf(why, whylen, "op: reduce needs a reducer");
            return -1;
        }
    }

    return 0;
}


/*
 * Checks a conf as gw_window_new() takes it: 0, or -1 with err.
 */

int
gw_window_conf_check(const gw_window_conf_t *conf, char *err, size_t errlen)
{
    size_t  k;
    char    why[160];

    if ((unsigned) conf->kind > GW_WINDOW_SESSION) {
        snprintf(err, errlen, "unknown kind of window");
        return -1;
    }

    if (conf->lateness < 0) {
        snprintf(err, errlen, "lateness: must be 0 or more");
        return -1;
    }

    if (conf->kind == GW_WINDOW_SESSION) {
        if (conf->gap <= 0) {
            snprintf(err, errlen, "gap: must be more than 0");
            return -1;
        }

    } else {
        if (conf->size <= 0) {
            snprintf(err, errlen, "size: must be more than 0");
            return -1;
        }

        if (conf->kind == GW_WINDOW_HOPPING) {
            if (conf->hop <= 0 || conf->hop > conf->size) {
                snprintf(err, errlen, "hop: must be more than 0 and at "
                         "most the size");
                return -1;
            }

            if ((conf->size - 1) / conf->hop + 1 > GW_WINDOW_HOPS_MAX) {
                snprintf(err, errlen, "hop: a record would fall into more "
                         "than %d windows", GW_WINDOW_HOPS_MAX);
                return -1;
            }
        }
    }

    if (conf->naggs == 0 || conf->naggs > GW_WINDOW_AGGS_MAX) {
        snprintf(err, errlen, "aggregate: 1 to %d aggregates are required",
                 GW_WINDOW_AGGS_MAX);
        return -1;
    }

    for (k = 0; k < conf->naggs; k++) {
        if (gw_window_agg_check_one(conf, k, 1, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "aggregate %zu: %s", k, why);
            return -1;
        }
    }

    return 0;
}


static int
gw_window_name(const char **names, const char *s)
{
    int  i;

    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], s) == 0) {
            return i;
        }
    }

    return -1;
}


/* a duration: ms >= 0 (> 0 unless zero), as a number or "<n><unit>" */

static int
gw_window_duration(json_t *v, int zero, int64_t *ms, char *why,
    size_t whylen)
{
    double       d;
    int64_t      n, mul;
    const char  *s;


    if (json_is_integer(v)) {
        n = json_integer_value(v);

    } else if (json_is_real(v)) {
        d = json_real_value(v);

        if (d != trunc(d) || d < -9.2e18 || d > 9.2e18) {
            goto bad;
        }

        n = (int64_t) d;

    } else if (json_is_string(v)) {
        s = json_string_value(v);
        n = 0;

        if (*s < '0' || *s > '9') {
            goto bad;
        }

        while (*s >= '0' && *s <= '9') {
            if (__builtin_mul_overflow(n, 10, &n)
                || __builtin_add_overflow(n, *s - '0', &n))
            {
                goto range;
            }

            s++;
        }

        if (strcmp(s, "ms") == 0) {
            mul = 1;

        } else if (strcmp(s, "s") == 0) {
            mul = 1000;

        } else if (strcmp(s, "m") == 0) {
            mul = 60000;

        } else if (strcmp(s, "h") == 0) {
            mul = 3600000;

        } else if (strcmp(s, "d") == 0) {
            mul = 86400000;

        } else {
            goto bad;
        }

        if (__builtin_mul_overflow(n, mul, &n)) {
            goto range;
        }

    } else {
        goto bad;
    }

    if (n < 0 || (n == 0 && !zero)) {
        snprintf(why, whylen, "must be %s", zero ? "0 or more"
                                                 : "more than 0");
        return -1;
    }

    *ms = n;

    return 0;

bad:

    snprintf(why, whylen, "a whole number of ms or a string such as "
             "\"500ms\", \"5s\", \"1m\", \"2h\" or \"1d\" is required");
    return -1;

range:

    snprintf(why, whylen, "too large a duration");
    return -1;
}


/* err "<at>/<name>: unknown member" for the first name not in known */

static int
gw_window_unknown(json_t *obj, const char **known, const char *at,
    char *err, size_t errlen)
{
    size_t       n;
    char         name[64];
    json_t      *v;
    const char  *key, *p;

    json_object_foreach(obj, key, v) {
        if (gw_window_name(known, key) >= 0) {
            continue;
        }

        for (n = 0, p = key; *p != '\0' && n + 3 < sizeof(name); p++) {
            if (*p == '~' || *p == '/') {
                name[n++] = '~';
                name[n++] = (*p == '~') ? '0' : '1';

            } else {
                name[n++] = *p;
            }
        }

        name[n] = '\0';

        snprintf(err, errlen, "%s/%s: unknown member", at, name);
        return -1;
    }

    return 0;
}


static int
gw_window_parse_agg(json_t *v, gw_window_agg_t *agg, const char *at,
    size_t k, char *err, size_t errlen)
{
    int      op;
    char     pre[320];
    json_t  *m;

    static const char  *known[] = { "op", "field", "as", NULL };

    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s/aggregate/%zu: must be an object", at, k);
        return -1;
    }

    m = json_object_get(v, "op");
    op = json_is_string(m) ? gw_window_name(gw_window_ops,
                                            json_string_value(m))
                           : -1;
    if (op < 0) {
        snprintf(err, errlen, "%s/aggregate/%zu/op: one of count, sum, min, "
                 "max, avg, distinct or reduce is required", at, k);
        return -1;
    }

    agg->op = (gw_window_op_e) op;

    m = json_object_get(v, "field");
    if (m != NULL && !json_is_string(m)) {
        snprintf(err, errlen, "%s/aggregate/%zu/field: must be a string",
                 at, k);
        return -1;
    }

    agg->field = (m != NULL) ? json_string_value(m) : NULL;

    m = json_object_get(v, "as");
    if (m != NULL && !json_is_string(m)) {
        snprintf(err, errlen, "%s/aggregate/%zu/as: must be a string", at, k);
        return -1;
    }

    agg->as = (m != NULL) ? json_string_value(m) : gw_window_ops[op];

    snprintf(pre, sizeof(pre), "%s/aggregate/%zu", at, k);

    return gw_window_unknown(v, known, pre, err, errlen);
}


int
gw_window_conf_parse(json_t *json, gw_window_conf_t *conf, char *err,
    size_t errlen)
{
    return gw_window_conf_parse_at(json, "/window", conf, err, errlen);
}


int
gw_window_conf_parse_at(json_t *json, const char *at, gw_window_conf_t *conf,
    char *err, size_t errlen)
{
    int          kind;
    char         why[160];
    size_t       k;
    json_t      *v, *aggs;
    const char  *member;

    static const char  *known[] = {
        "type", "size", "hop", "gap", "lateness", "aggregate", NULL
    };

    memset(conf, 0, sizeof(gw_window_conf_t));

    if (!json_is_object(json)) {
        snprintf(err, errlen, "%s: must be an object", at);
        return -1;
    }

    if (gw_window_unknown(json, known, at, err, errlen) != 0) {
        return -1;
    }

    v = json_object_get(json, "type");
    kind = json_is_string(v) ? gw_window_name(gw_window_kinds,
                                              json_string_value(v))
                             : -1;
    if (kind < 0) {
        snprintf(err, errlen, "%s/type: one of tumbling, hopping or session "
                 "is required", at);
        return -1;
    }

    conf->kind = (gw_window_kind_e) kind;

    member = (kind == GW_WINDOW_SESSION) ? "gap" : "size";
    v = json_object_get(json, member);

    if (v == NULL) {
        snprintf(err, errlen, "%s/%s: required for a %s window", at, member,
                 gw_window_kinds[kind]);
        return -1;
    }

    if (gw_window_duration(v, 0, (kind == GW_WINDOW_SESSION) ? &conf->gap
                                                             : &conf->size,
                           why, sizeof(why))
        != 0)
    {
        goto bad;
    }

    member = (kind == GW_WINDOW_SESSION) ? "size" : "gap";
    if (json_object_get(json, member) != NULL) {
        snprintf(err, errlen, "%s/%s: not for a %s window", at, member,
                 gw_window_kinds[kind]);
        return -1;
    }

    member = "hop";
    v = json_object_get(json, "hop");

    if (kind == GW_WINDOW_HOPPING) {
        if (v == NULL) {
            snprintf(err, errlen, "%s/hop: required for a hopping window",
                     at);
            return -1;
        }

        if (gw_window_duration(v, 0, &conf->hop, why, sizeof(why)) != 0) {
            goto bad;
        }

        if (conf->hop > conf->size) {
            snprintf(err, errlen, "%s/hop: must be at most the size", at);
            return -1;
        }

        if ((conf->size - 1) / conf->hop + 1 > GW_WINDOW_HOPS_MAX) {
            snprintf(err, errlen, "%s/hop: a record would fall into more "
                     "than %d windows", at, GW_WINDOW_HOPS_MAX);
            return -1;
        }

    } else if (v != NULL) {
        snprintf(err, errlen, "%s/hop: not for a %s window", at,
                 gw_window_kinds[kind]);
        return -1;
    }

    member = "lateness";
    v = json_object_get(json, "lateness");

    if (v != NULL
        && gw_window_duration(v, 1, &conf->lateness, why, sizeof(why)) != 0)
    {
        goto bad;
    }

    aggs = json_object_get(json, "aggregate");

    if (!json_is_array(aggs) || json_array_size(aggs) == 0
        || json_array_size(aggs) > GW_WINDOW_AGGS_MAX)
    {
        snprintf(err, errlen, "%s/aggregate: an array of 1 to %d aggregates "
                 "is required", at, GW_WINDOW_AGGS_MAX);
        return -1;
    }

    conf->naggs = json_array_size(aggs);

    for (k = 0; k < conf->naggs; k++) {
        if (gw_window_parse_agg(json_array_get(aggs, k), &conf->aggs[k], at,
                                k, err, errlen)
            != 0)
        {
            return -1;
        }

        if (gw_window_agg_check_one(conf, k, 0, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s/aggregate/%zu/%s", at, k, why);
            return -1;
        }
    }

    return 0;

bad:

    snprintf(err, errlen, "%s/%s: %s", at, member, why);
    return -1;
}
