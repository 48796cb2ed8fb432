
/*
 * Copyright (C) Tollgate
 *
 * What a schema cannot say about an entity, for a document its schema
 * accepted:
 *
 *   - document checks: a route's sunset_at not before its
 *     deprecated_at (compared as instants, offsets applied); a schemas
 *     or types entity's "schema" compiles (gw_schema);
 *   - references, "<type>/<id>": a consumer's plan, a key's consumer,
 *     a route's upstream, schema, plan and plugins, a plan's limits,
 *     and every entity of a user type refers to its type ("types/<name>",
 *     which is how a type with entities cannot be deleted, and an entity
 *     of a type deleted meanwhile cannot be written: the commit script
 *     checks references atomically);
 *   - a route's match keys, "<priority> <host> <method> <path>": one per
 *     host ("*" when it names none), method (each of the nine methods
 *     when it names none) and path pattern, as written (an exact path
 *     "/a", or a prefix "/a/" followed by a star).  Two routes of equal
 *     priority overlap when they share a key: the same path pattern, a
 *     method both take, and the same host or both any host.  Not
 *     overlaps: different priorities; a host-specific route and an
 *     any-host one (the specific host wins); an exact path and a prefix
 *     that covers it, or two different prefixes (the exact path, then
 *     the longest prefix wins).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_type_int.h"


static int md_check_sunset(json_t *data, json_t *errors);
static int md_check_compile(json_t *data, json_t *errors);
static int md_check_time(const char *s, long long *sec, long *nsec);
static int md_ref_add(json_t *refs, const char *type, json_t *id);
static int md_route_match(json_t *data, json_t *match);


static const char  *md_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT",
    "TRACE"
};

#define MD_METHODS_N  (sizeof(md_methods) / sizeof(md_methods[0]))


int
md_type_check_doc(md_type_t *t, json_t *data, json_t *errors)
{
    switch (t->kind) {

    case MD_T_ROUTES:
        return md_check_sunset(data, errors);

    case MD_T_SCHEMAS:
    case MD_T_TYPES:
        return md_check_compile(data, errors);

    default:
        return 1;
    }
}


static int
md_check_sunset(json_t *data, json_t *errors)
{
    long         dns, sns;
    long long    dsec, ssec;
    const char  *dep, *sun;

    dep = json_string_value(json_object_get(data, "deprecated_at"));
    sun = json_string_value(json_object_get(data, "sunset_at"));

    if (dep == NULL || sun == NULL
        || md_check_time(dep, &dsec, &dns) != 0
        || md_check_time(sun, &ssec, &sns) != 0)
    {
        return 1;
    }

    if (ssec > dsec || (ssec == dsec && sns >= dns)) {
        return 1;
    }

    return (md_type_error(errors, "/sunset_at",
                          "the sunset is before the deprecation (%s)", dep)
            == 0) ? 0 : -1;
}


/*
 * An RFC 3339 date-time (the schema's format checked it) as seconds
 * since the epoch and nanoseconds, its offset applied.  0, or -1 when
 * it does not read.
 */

static int
md_check_time(const char *s, long long *sec, long *nsec)
{
    int        y, mo, d, h, mi, se, n, oh, om, sign;
    long       ns, scale;
    long long  era, yoe, doy, doe, days;

    n = 0;

    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
               &se, &n)
        != 6 || n != 19)
    {
        return -1;
    }

    s += n;
    ns = 0;

    if (*s == '.') {
        scale = 100000000;

        for (s++; *s >= '0' && *s <= '9'; s++) {
            ns += (*s - '0') * scale;
            scale /= 10;
        }
    }

    oh = 0;
    om = 0;
    sign = 0;

    if (*s == '+' || *s == '-') {
        sign = (*s == '-') ? -1 : 1;

        if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2) {
            return -1;
        }

    } else if (*s != 'Z' && *s != 'z') {
        return -1;
    }

    /* days since 1970-01-01 of a proleptic Gregorian date: years taken
     * from March, so that the leap day ends a year, in 400-year eras */

    y -= (mo <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    *sec = days * 86400 + h * 3600 + mi * 60 + se
           - sign * (oh * 3600 + om * 60);
    *nsec = ns;

    return 0;
}


static int
md_check_compile(json_t *data, json_t *errors)
{
    int                rc;
    char               ptr[sizeof(((gw_schema_cerr_t *) 0)->pointer) + 8];
    gw_schema_t       *s;
    gw_schema_cerr_t   cerr;

    if (md_type_compile(json_object_get(data, "schema"), 0, &s, &cerr) == 0)
    {
        gw_schema_free(s);
        return 1;
    }

    /* a pointer into another document ("uri#pointer") names none here */

    snprintf(ptr, sizeof(ptr), "/schema%s",
             (cerr.pointer[0] == '/') ? cerr.pointer : "");

    rc = md_type_error(errors, ptr, "the schema does not compile: %s%s%s",
                       cerr.message, cerr.pointer[0] != '/'
                                     && cerr.pointer[0] != '\0'
                                     ? " at " : "",
                       cerr.pointer[0] != '/' ? cerr.pointer : "");

    return (rc == 0) ? 0 : -1;
}


int
md_type_check_refs(md_type_t *t, json_t *data, json_t *refs, json_t *match)
{
    int      rc;
    size_t   i;
    json_t  *v, *id;

    switch (t->kind) {

    case MD_T_CONSUMERS:
        return md_ref_add(refs, "plans", json_object_get(data, "plan"));

    case MD_T_KEYS:
        return md_ref_add(refs, "consumers",
                          json_object_get(data, "consumer"));

    case MD_T_ROUTES:
        if (md_ref_add(refs, "upstreams", json_object_get(data, "upstream"))
            != 0
            || md_ref_add(refs, "schemas", json_object_get(data, "schema"))
               != 0
            || md_ref_add(refs, "plans", json_object_get(data, "plan")) != 0)
        {
            return -1;
        }

        json_array_foreach(json_object_get(data, "plugins"), i, v) {
            if (md_ref_add(refs, "plugins", v) != 0) {
                return -1;
            }
        }

        return md_route_match(data, match);

    case MD_T_PLANS:
        json_array_foreach(json_object_get(data, "limits"), i, v) {
            if (md_ref_add(refs, "limits", v) != 0) {
                return -1;
            }
        }

        return 0;

    case MD_T_USER:
        id = json_string(t->name + 2);
        if (id == NULL) {
            return -1;
        }

        rc = md_ref_add(refs, "types", id);
        json_decref(id);

        return rc;

    default:
        return 0;
    }
}


/* "<type>/<id>" for id, when it is a string, else nothing */

static int
md_ref_add(json_t *refs, const char *type, json_t *id)
{
    char        buf[MD_TYPE_MAX + MD_ID_MAX + 8];
    const char  *s;

    s = json_string_value(id);

    if (s == NULL) {
        return 0;
    }

    snprintf(buf, sizeof(buf), "%s/%s", type, s);

    return json_array_append_new(refs, json_string(buf));
}


static int
md_route_match(json_t *data, json_t *match)
{
    char         *key;
    size_t        i, j, k, nh, nm, len;
    json_t       *paths, *hosts, *methods, *p;
    long long     prio;
    const char   *host, *method, *path;

    paths = json_object_get(data, "paths");
    hosts = json_object_get(data, "hosts");
    methods = json_object_get(data, "methods");
    prio = json_integer_value(json_object_get(data, "priority"));

    nh = json_array_size(hosts);
    nm = json_array_size(methods);

    json_array_foreach(paths, i, p) {
        path = json_string_value(p);
        if (path == NULL) {
            continue;
        }

        for (j = 0; j < (nh ? nh : 1); j++) {
            host = nh ? json_string_value(json_array_get(hosts, j)) : "*";

            for (k = 0; k < (nm ? nm : MD_METHODS_N); k++) {
                method = nm ? json_string_value(json_array_get(methods, k))
                            : md_methods[k];

                if (host == NULL || method == NULL) {
                    continue;
                }

                len = strlen(host) + strlen(method) + strlen(path) + 32;

                key = malloc(len);
                if (key == NULL) {
                    return -1;
                }

                snprintf(key, len, "%lld %s %s %s", prio, host, method,
                         path);

                if (json_array_append_new(match, json_string(key)) != 0) {
                    free(key);
                    return -1;
                }

                free(key);
            }
        }
    }

    return 0;
}


const char *
md_type_pointer(md_type_t *t, json_t *data, const char *detail, char *buf,
    size_t size)
{
    size_t       i, n;
    json_t      *v, *arr;
    const char  *slash, *id, *member, *path;

    buf[0] = '\0';

    /* a match key: its path is the fourth field */

    if (t->kind == MD_T_ROUTES && strchr(detail, ' ') != NULL) {
        path = detail;

        for (n = 0; n < 3 && path != NULL; n++) {
            path = strchr(path, ' ');
            path = (path != NULL) ? path + 1 : NULL;
        }

        json_array_foreach(json_object_get(data, "paths"), i, v) {
            if (path != NULL && json_is_string(v)
                && strcmp(json_string_value(v), path) == 0)
            {
                snprintf(buf, size, "/paths/%zu", i);
                break;
            }
        }

        return buf;
    }

    slash = strchr(detail, '/');
    if (slash == NULL) {
        return buf;
    }

    id = slash + 1;
    n = slash - detail;
    member = NULL;

#define md_is(s)  (n == sizeof(s) - 1 && memcmp(detail, s, n) == 0)

    if (md_is("upstreams")) {
        member = "upstream";

    } else if (md_is("schemas")) {
        member = "schema";

    } else if (md_is("plans")) {
        member = "plan";

    } else if (md_is("consumers")) {
        member = "consumer";

    } else if (md_is("plugins")) {
        member = "plugins";

    } else if (md_is("limits")) {
        member = "limits";
    }

#undef md_is

    if (member == NULL) {
        return buf;
    }

    v = json_object_get(data, member);

    if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) {
        snprintf(buf, size, "/%s", member);
        return buf;
    }

    arr = v;

    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) {
            snprintf(buf, size, "/%s/%zu", member, i);
            break;
        }
    }

    return buf;
}
