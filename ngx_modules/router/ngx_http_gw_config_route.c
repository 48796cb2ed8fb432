
/*
 * Copyright (C) Tollgate
 *
 * A route entity to its part of the snapshot (ngx_http_gw_config_build.c
 * lays the rest out): its definition for lib/router (paths, hosts,
 * methods, priority, header and argument conditions), its upstream and
 * splits by index, its sticky key, versions and lifecycle dates, and its
 * policy object, every reference resolved.  A member of the wrong type
 * or range, or a reference to nothing, refuses the build with a message
 * naming the route and the member.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "ngx_http_gw_config.h"


static json_t *ngx_http_gw_config_policy(ngx_http_gw_config_builder_t *b,
    const char *id, json_t *doc);
static ngx_uint_t ngx_http_gw_config_members(json_t *doc);


/*
 * A route's optional members, found in one pass over its document (a
 * few members) rather than looked up one by one (a hash each): D(x) is
 * the document when it has member x, else NULL, which reads as "absent"
 * everywhere (json_object_get(NULL, ...) is NULL).
 */
static const char  *ngx_http_gw_config_optional[] = {
    "priority", "hosts", "methods", "headers", "args", "splits", "sticky",
    "api_version", "successor", "deprecation_link", "deprecated_at",
    "sunset_at", "sunset_status",
    /* the policy's, from NGX_HTTP_GW_CONFIG_M_POLICY on */
    "auth", "jwt", "key_auth", "request_id", "limits", "plan", "plugins",
    "schema", "args_schema", "headers_schema", NULL
};

#define NGX_HTTP_GW_CONFIG_M_POLICY  13

#define D(i)  ((members & (1u << (i))) ? doc : NULL)


/*
 * An array member of strings (absent: *n 0).  NGX_OK, NGX_DECLINED
 * (err set: not an array of strings, or more than max), NGX_ERROR.
 */

static ngx_int_t
ngx_http_gw_config_strings(ngx_http_gw_config_builder_t *b, const char *id,
    json_t *doc, const char *name, size_t max, const char *const **out,
    size_t *n)
{
    json_t       *a, *v;
    size_t        i;
    const char  **s;

    *out = NULL;
    *n = 0;

    a = json_object_get(doc, name);

    if (a == NULL || json_is_null(a)) {
        return NGX_OK;
    }

    if (!json_is_array(a) || json_array_size(a) > max) {
        goto invalid;
    }

    s = ngx_palloc(b->pool, (json_array_size(a) + 1) * sizeof(char *));
    if (s == NULL) {
        b->nomem = 1;
        return NGX_ERROR;
    }

    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) {
            goto invalid;
        }

        s[i] = json_string_value(v);
    }

    *out = s;
    *n = json_array_size(a);

    return NGX_OK;

invalid:

    NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": \"%s\" must be an array of at "
                           "most %uz strings%Z", id, name, max);
    return NGX_DECLINED;
}


/* headers or args conditions: {"name": "value" | null} */

static ngx_int_t
ngx_http_gw_config_conds(ngx_http_gw_config_builder_t *b, const char *id,
    json_t *doc, const char *name, const gw_router_cond_t **out, size_t *n)
{
    size_t             i;
    json_t            *o, *v;
    const char        *key;
    gw_router_cond_t  *c;

    *out = NULL;
    *n = 0;

    o = json_object_get(doc, name);

    if (o == NULL || json_is_null(o)) {
        return NGX_OK;
    }

    if (!json_is_object(o) || json_object_size(o) > GW_ROUTER_CONDS_MAX) {
        goto invalid;
    }

    c = ngx_pcalloc(b->pool, (json_object_size(o) + 1)
                             * sizeof(gw_router_cond_t));
    if (c == NULL) {
        b->nomem = 1;
        return NGX_ERROR;
    }

    i = 0;

    json_object_foreach(o, key, v) {
        if (!json_is_string(v) && !json_is_null(v)) {
            goto invalid;
        }

        c[i].name = key;
        c[i].value = json_string_value(v);
        i++;
    }

    *out = c;
    *n = i;

    return NGX_OK;

invalid:

    NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": \"%s\" must be an object of at "
                           "most %d names, each a string or null%Z",
                           id, name, GW_ROUTER_CONDS_MAX);
    return NGX_DECLINED;
}


ngx_int_t
ngx_http_gw_config_route_def(ngx_http_gw_config_builder_t *b, const char *id,
    json_t *doc, gw_router_def_t *def)
{
    ngx_int_t   rc, n;
    ngx_uint_t  members;

    def->id = id;
    members = ngx_http_gw_config_members(doc);

    n = ngx_http_gw_config_uint(b, "route", id, D(0), "priority", 0, 0,
                                GW_ROUTER_PRIORITY_MAX);
    if (n < 0) {
        return NGX_DECLINED;
    }

    def->priority = (unsigned) n;

    rc = ngx_http_gw_config_strings(b, id, doc, "paths", GW_ROUTER_PATHS_MAX,
                                    &def->paths, &def->npaths);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_gw_config_strings(b, id, D(1), "hosts", GW_ROUTER_HOSTS_MAX,
                                    &def->hosts, &def->nhosts);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_gw_config_strings(b, id, D(2), "methods", 9,
                                    &def->methods, &def->nmethods);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_gw_config_conds(b, id, D(3), "headers", &def->headers,
                                  &def->nheaders);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_gw_config_conds(b, id, D(4), "args", &def->args,
                                    &def->nargs);
}


/* days since 1970-01-01 of a civil date (proleptic Gregorian) */

static int64_t
ngx_http_gw_config_days(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


/* an RFC 3339 date-time to unix seconds: NGX_OK, or NGX_DECLINED */

static ngx_int_t
ngx_http_gw_config_time(const char *s, int64_t *t)
{
    int64_t      v[6], off;
    ngx_uint_t   i, k;
    const char  *p;

    static const char  seps[] = "--T::";

    p = s;

    for (i = 0; i < 6; i++) {
        k = (i == 0) ? 4 : 2;
        v[i] = 0;

        for ( /* void */ ; k > 0; k--, p++) {
            if (*p < '0' || *p > '9') {
                return NGX_DECLINED;
            }

            v[i] = v[i] * 10 + (*p - '0');
        }

        if (i < 5) {
            if (*p != seps[i] && !(i == 2 && (*p == 't' || *p == ' '))) {
                return NGX_DECLINED;
            }

            p++;
        }
    }

    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) { /* void */ }
    }

    if (*p == 'Z' || *p == 'z') {
        off = 0;
        p++;

    } else if ((*p == '+' || *p == '-')
               && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'
               && p[3] == ':'
               && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' && p[5] <= '9')
    {
        off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600
              + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        off = (*p == '-') ? -off : off;
        p += 6;

    } else {
        return NGX_DECLINED;
    }

    if (*p != '\0' || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31
        || v[3] > 23 || v[4] > 59 || v[5] > 60)
    {
        return NGX_DECLINED;
    }

    *t = ngx_http_gw_config_days(v[0], v[1], v[2]) * 86400
         + v[3] * 3600 + v[4] * 60 + v[5] - off;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_config_date(ngx_http_gw_config_builder_t *b, const char *id,
    json_t *doc, const char *name, int64_t *t)
{
    json_t  *v;

    *t = 0;
    v = json_object_get(doc, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_OK;
    }

    if (json_is_string(v)
        && ngx_http_gw_config_time(json_string_value(v), t) == NGX_OK)
    {
        return NGX_OK;
    }

    NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": \"%s\" is not an RFC 3339 "
                           "date-time%Z", id, name);
    return NGX_DECLINED;
}


static uint64_t
ngx_http_gw_config_hash(const char *s)
{
    uint64_t       h;
    const u_char  *p;

    h = 0xcbf29ce484222325ULL;

    for (p = (const u_char *) s; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ULL;
    }

    return h;
}


ngx_int_t
ngx_http_gw_config_route(ngx_http_gw_config_builder_t *b, ngx_uint_t i,
    const char *id, json_t *doc)
{
    char                        *text;
    json_t                      *v, *splits, *sp, *pol;
    double                       w;
    int64_t                      t;
    uint32_t                     off, soff, idx, sum;
    ngx_int_t                    rc, n;
    ngx_uint_t                   k, ns, members;
    const char                  *ref;
    ngx_http_gw_snap_key_t       key;
    ngx_http_gw_snap_str_t       str;
    ngx_http_gw_snap_split_t    *split;

    off = ngx_http_gw_config_at(b, 0, ngx_http_gw_snap_t)->routes
          + i * sizeof(ngx_http_gw_snap_route_t);

#define R  ngx_http_gw_config_at(b, off, ngx_http_gw_snap_route_t)

    members = ngx_http_gw_config_members(doc);

    str = ngx_http_gw_config_string(b, id, ngx_strlen(id));
    R->id = str;
    R->version = json_integer_value(json_object_get(doc, "version"));
    R->upstream = NGX_HTTP_GW_SNAP_NONE;

    ref = json_string_value(json_object_get(doc, "upstream"));

    if (ref != NULL) {
        R->upstream = ngx_http_gw_config_upstream_index(b, ref);

        if (R->upstream == NGX_HTTP_GW_SNAP_NONE) {
            NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": upstream \"%s\" does "
                                   "not exist%Z", id, ref);
            return NGX_DECLINED;
        }
    }

    /* splits: weights in 1/100 of a percent, at most 100% in all */

    splits = json_object_get(D(5), "splits");
    ns = json_is_array(splits) ? json_array_size(splits) : 0;

    if (ns > 8) {
        NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": more than 8 splits%Z", id);
        return NGX_DECLINED;
    }

    soff = ngx_http_gw_config_reserve(b, ns * sizeof(ngx_http_gw_snap_split_t));
    if (b->nomem) {
        return NGX_ERROR;
    }

    R->nsplits = (uint32_t) ns;
    R->splits = soff;
    sum = 0;

    for (k = 0; k < ns; k++) {
        sp = json_array_get(splits, k);
        ref = json_string_value(json_object_get(sp, "upstream"));
        v = json_object_get(sp, "weight");
        w = json_is_number(v) ? json_number_value(v) * 100 : -1;

        if (ref == NULL || w < 0 || w > 10000) {
            NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": split #%ui needs an "
                                   "upstream and a weight 0..100%Z", id, k);
            return NGX_DECLINED;
        }

        idx = ngx_http_gw_config_upstream_index(b, ref);

        if (idx == NGX_HTTP_GW_SNAP_NONE) {
            NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": split upstream \"%s\" "
                                   "does not exist%Z", id, ref);
            return NGX_DECLINED;
        }

        split = ngx_http_gw_config_at(b, soff, ngx_http_gw_snap_split_t) + k;
        split->upstream = idx;
        split->weight = (uint32_t) lround(w);
        sum += split->weight;
    }

    if (sum > 10000) {
        NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": the splits' weights add up "
                               "to more than 100%Z", id);
        return NGX_DECLINED;
    }

    rc = ngx_http_gw_config_key(b, "route", id, D(6), "sticky",
                                NGX_HTTP_GW_SNAP_KEY_CONSUMER, &key);
    if (rc != NGX_OK) {
        return rc;
    }

    R->sticky = key;

    /* versions and lifecycle */

    str = ngx_http_gw_config_member(b, D(7), "api_version");
    R->api_version = str;
    str = ngx_http_gw_config_member(b, D(8), "successor");
    R->successor = str;
    str = ngx_http_gw_config_member(b, D(9), "deprecation_link");
    R->deprecation_link = str;

    if (ngx_http_gw_config_date(b, id, D(10), "deprecated_at", &t) != NGX_OK) {
        return NGX_DECLINED;
    }

    R->deprecated_at = t;

    if (ngx_http_gw_config_date(b, id, D(11), "sunset_at", &t) != NGX_OK) {
        return NGX_DECLINED;
    }

    R->sunset_at = t;

    n = ngx_http_gw_config_uint(b, "route", id, D(12), "sunset_status", 410,
                                404, 410);
    if (n != 404 && n != 410) {
        NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": \"sunset_status\" must be "
                               "404 or 410%Z", id);
        return NGX_DECLINED;
    }

    R->sunset_status = (uint32_t) n;

    /* the policy object: compact, keys sorted, so equal text, equal hash;
       a route without a policy member has "{}", without jansson */

    if ((members >> NGX_HTTP_GW_CONFIG_M_POLICY) == 0) {
        str = ngx_http_gw_config_string(b, "{}", 2);
        R->policy = str;
        R->policy_hash = ngx_http_gw_config_hash("{}");

        return b->nomem ? NGX_ERROR : NGX_OK;
    }

    pol = ngx_http_gw_config_policy(b, id, doc);
    if (pol == NULL) {
        return b->nomem ? NGX_ERROR : NGX_DECLINED;
    }

    text = json_dumps(pol, JSON_COMPACT|JSON_SORT_KEYS);
    json_decref(pol);

    if (text == NULL) {
        b->nomem = 1;
        return NGX_ERROR;
    }

    str = ngx_http_gw_config_string(b, text, ngx_strlen(text));
    R->policy = str;
    R->policy_hash = ngx_http_gw_config_hash(text);
    free(text);

#undef R

    return b->nomem ? NGX_ERROR : NGX_OK;
}


/* the bits of the optional members doc has (ngx_http_gw_config_optional) */

static ngx_uint_t
ngx_http_gw_config_members(json_t *doc)
{
    json_t      *v;
    ngx_uint_t   i, bits;
    const char  *key, **m;

    bits = 0;
    m = ngx_http_gw_config_optional;

    json_object_foreach(doc, key, v) {
        for (i = 0; m[i] != NULL; i++) {
            if (m[i][0] == key[0] && ngx_strcmp(key, m[i]) == 0) {
                bits |= 1u << i;
                break;
            }
        }
    }

    return bits;
}


/* a referred entity, or NULL with err set */

static json_t *
ngx_http_gw_config_ref(ngx_http_gw_config_builder_t *b, const char *id,
    const char *type, const char *what, json_t *ref)
{
    json_t  *doc;

    if (!json_is_string(ref)) {
        NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": a %s reference is not a "
                               "string%Z", id, what);
        return NULL;
    }

    doc = ngx_http_gw_config_model_get(b->model, type, json_string_value(ref));

    if (doc == NULL) {
        NGX_HTTP_GW_CONFIG_ERR(b, "route \"%s\": %s \"%s\" does not exist%Z",
                               id, what, json_string_value(ref));
    }

    return doc;
}


/* a limit, as the policy carries it: its members but meta, and its id */

static ngx_int_t
ngx_http_gw_config_limit(ngx_http_gw_config_builder_t *b, const char *id,
    json_t *limits, json_t *ref)
{
    size_t       i;
    json_t      *doc, *o, *v;
    const char  *key;

    static const char  *meta[] = {
        "id", "version", "created_at", "updated_at", "created_by",
        "updated_by", "tags", NULL
    };

    doc = ngx_http_gw_config_ref(b, id, "limits", "limit", ref);
    if (doc == NULL) {
        return NGX_DECLINED;
    }

    json_array_foreach(limits, i, o) {
        if (json_equal(json_object_get(o, "id"), ref)) {
            return NGX_OK;
        }
    }

    o = json_object();
    if (o == NULL || json_array_append_new(limits, o) != 0) {
        b->nomem = 1;
        return NGX_ERROR;
    }

    json_object_foreach(doc, key, v) {
        for (i = 0; meta[i] != NULL; i++) {
            if (ngx_strcmp(key, meta[i]) == 0) {
                break;
            }
        }

        if (meta[i] == NULL && json_object_set(o, key, v) != 0) {
            b->nomem = 1;
            return NGX_ERROR;
        }
    }

    if (json_object_set(o, "id", ref) != 0) {
        b->nomem = 1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The route's policy object (rt-design: "The snapshot's route policy
 * object"): members only when the route has them; references resolved
 * (the plan's limits after the route's, deduplicated by id; enabled
 * plugins; the schemas' documents).  NULL with err set when a
 * reference dangles, or on no memory (b->nomem).
 */

static json_t *
ngx_http_gw_config_policy(ngx_http_gw_config_builder_t *b, const char *id,
    json_t *doc)
{
    size_t       i, k;
    json_t      *pol, *v, *a, *ent, *o, *sch;
    ngx_int_t    rc;

    static const char  *copied[] = { "auth", "jwt", "key_auth", NULL };
    static const char  *schemas[][2] = {
        { "schema", "body" },
        { "args_schema", "args" },
        { "headers_schema", "headers" }
    };

    pol = json_object();
    if (pol == NULL) {
        goto nomem;
    }

    for (k = 0; copied[k] != NULL; k++) {
        v = json_object_get(doc, copied[k]);

        if (v != NULL && !json_is_null(v) && !json_is_false(v)
            && json_object_set(pol, copied[k], v) != 0)
        {
            goto nomem;
        }
    }

    if (json_is_true(json_object_get(doc, "request_id"))
        && json_object_set_new(pol, "request_id", json_true()) != 0)
    {
        goto nomem;
    }

    /* limits: the route's, then its plan's */

    a = json_array();
    if (a == NULL || json_object_set_new(pol, "limits", a) != 0) {
        goto nomem;
    }

    json_array_foreach(json_object_get(doc, "limits"), i, v) {
        rc = ngx_http_gw_config_limit(b, id, a, v);
        if (rc != NGX_OK) {
            goto failed;
        }
    }

    v = json_object_get(doc, "plan");

    if (v != NULL && !json_is_null(v)) {
        ent = ngx_http_gw_config_ref(b, id, "plans", "plan", v);
        if (ent == NULL) {
            goto failed;
        }

        json_array_foreach(json_object_get(ent, "limits"), i, v) {
            rc = ngx_http_gw_config_limit(b, id, a, v);
            if (rc != NGX_OK) {
                goto failed;
            }
        }
    }

    if (json_array_size(a) == 0) {
        (void) json_object_del(pol, "limits");
    }

    /* plugins: the enabled ones, in the route's order */

    a = json_array();
    if (a == NULL || json_object_set_new(pol, "plugins", a) != 0) {
        goto nomem;
    }

    json_array_foreach(json_object_get(doc, "plugins"), i, v) {
        ent = ngx_http_gw_config_ref(b, id, "plugins", "plugin", v);
        if (ent == NULL) {
            goto failed;
        }

        if (json_is_false(json_object_get(ent, "enabled"))) {
            continue;
        }

        o = json_pack("{sOsO}", "id", v, "name",
                      json_object_get(ent, "name") != NULL
                      ? json_object_get(ent, "name") : json_null());

        if (o == NULL || json_array_append_new(a, o) != 0) {
            goto nomem;
        }

        if (json_object_get(ent, "config") != NULL
            && json_object_set(o, "config", json_object_get(ent, "config"))
               != 0)
        {
            goto nomem;
        }
    }

    if (json_array_size(a) == 0) {
        (void) json_object_del(pol, "plugins");
    }

    /* schemas: the documents themselves */

    sch = json_object();
    if (sch == NULL || json_object_set_new(pol, "schemas", sch) != 0) {
        goto nomem;
    }

    for (k = 0; k < 3; k++) {
        v = json_object_get(doc, schemas[k][0]);

        if (v == NULL || json_is_null(v)) {
            continue;
        }

        ent = ngx_http_gw_config_ref(b, id, "schemas", "schema", v);
        if (ent == NULL) {
            goto failed;
        }

        v = json_object_get(ent, "schema");

        if (json_object_set(sch, schemas[k][1], v != NULL ? v : json_true())
            != 0)
        {
            goto nomem;
        }
    }

    if (json_object_size(sch) == 0) {
        (void) json_object_del(pol, "schemas");
    }

    return pol;

nomem:

    b->nomem = 1;

failed:

    json_decref(pol);
    return NULL;
}
