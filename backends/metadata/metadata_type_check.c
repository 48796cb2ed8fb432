
/*
 * Copyright (C) Tollgate
 *
 * What a schema cannot say about an entity, for a document its schema
 * accepted:
 *
 *   - document checks: a route's sunset_at not before its
 *     deprecated_at (compared as instants, offsets applied); a schemas
 *     or types entity's "schema" compiles (gw_schema); a pipeline's
 *     name is its id (its Lua is data here: never compiled nor run);
 *     a template's name is its id, it has the parts of its channel
 *     (an email's subject and text or html, a webhook's or push's
 *     body), and each part compiles (lib/template) in its context;
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

#include "gw_template.h"
#include "metadata_type_int.h"


static int md_check_sunset(json_t *data, json_t *errors);
static int md_check_compile(json_t *data, json_t *errors);
static int md_check_template(json_t *data, json_t *errors);
static int md_check_time(const char *s, long long *sec, long *nsec);
static int md_ref_add(json_t *refs, const char *type, json_t *id);




int
md_type_check_doc(md_type_t *t, json_t *data, json_t *errors)
{
    int  rc;

    switch (t->kind) {

    case MD_T_ROUTES:
        rc = md_check_sunset(data, errors);

        if (rc >= 0) {
            rc = (md_route_check(data, errors) < 0) ? -1 : rc;
        }

        return (rc >= 0 && json_array_size(errors) > 0) ? 0 : rc;

    case MD_T_UPSTREAMS:
        return md_upstream_check(data, errors);

    case MD_T_SCHEMAS:
    case MD_T_TYPES:
        return md_check_compile(data, errors);

    case MD_T_TEMPLATES:
        return md_check_template(data, errors);

    default:
        return 1;
    }
}


int
md_type_check_id(md_type_t *t, const char *id, json_t *data,
    json_t *errors)
{
    const char  *name;

    if (t->kind != MD_T_PIPELINES && t->kind != MD_T_TEMPLATES) {
        return 1;
    }

    /* the processing service names a pipeline's group and keys by it;
     * a notification names its template by it */

    name = json_string_value(json_object_get(data, "name"));

    if (name != NULL && strcmp(name, id) == 0) {
        return 1;
    }

    return (md_type_error(errors, "/name", "a %s's name must be its "
                          "entity's id (\"%.64s\")",
                          t->kind == MD_T_PIPELINES ? "pipeline"
                                                    : "template", id)
            == 0) ? 0 : -1;
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


/*
 * A templates entity: the parts its channel has, and nothing else, each
 * compiled in its context (the subject as one line of text, text, html,
 * the body as JSON).  A part that does not compile is an error at its
 * pointer with the byte offset in the part ("offset").
 */

static int
md_check_template(json_t *data, json_t *errors)
{
    int              email;
    char             ptr[16];
    size_t           i;
    json_t          *v, *e;
    gw_tmpl_t       *tmpl;
    const char      *s;
    gw_tmpl_err_t    err;
    gw_tmpl_opts_t   opts;

    static const struct {
        const char          *name;
        gw_tmpl_context_e    context;
        unsigned             one_line;
        unsigned             email;
    } parts[] = {
        { "subject", GW_TMPL_TEXT, 1, 1 },
        { "text", GW_TMPL_TEXT, 0, 1 },
        { "html", GW_TMPL_HTML, 0, 1 },
        { "body", GW_TMPL_JSON, 0, 0 }
    };

    s = json_string_value(json_object_get(data, "channel"));
    email = (s != NULL && strcmp(s, "email") == 0);

    if (email && json_object_get(data, "subject") == NULL
        && md_type_error(errors, "/subject", "an email template needs a "
                         "subject") != 0)
    {
        return -1;
    }

    if (email && json_object_get(data, "text") == NULL
        && json_object_get(data, "html") == NULL
        && md_type_error(errors, "/text", "an email template needs a text "
                         "or an html part (or both)") != 0)
    {
        return -1;
    }

    if (!email && json_object_get(data, "body") == NULL
        && md_type_error(errors, "/body", "a %s template needs a body", s)
           != 0)
    {
        return -1;
    }

    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        v = json_object_get(data, parts[i].name);
        if (v == NULL) {
            continue;
        }

        snprintf(ptr, sizeof(ptr), "/%s", parts[i].name);

        if ((unsigned) email != parts[i].email) {
            if (md_type_error(errors, ptr, "a %s template has no %s", s,
                              parts[i].name) != 0)
            {
                return -1;
            }

            continue;
        }

        memset(&opts, 0, sizeof(opts));
        opts.context = parts[i].context;
        opts.one_line = parts[i].one_line;

        tmpl = gw_tmpl_compile(json_string_value(v), json_string_length(v),
                               &opts, &err);

        if (tmpl != NULL) {
            gw_tmpl_free(tmpl);
            continue;
        }

        if (strcmp(err.message, "out of memory") == 0) {
            return -1;
        }

        /* the offset also as a member, for tools to point at */

        if (md_type_error(errors, ptr, "the template does not compile: %s",
                          err.message) != 0)
        {
            return -1;
        }

        e = json_array_get(errors, json_array_size(errors) - 1);

        if (json_object_set_new(e, "offset",
                                json_integer((json_int_t) err.offset))
            != 0)
        {
            return -1;
        }
    }

    return (json_array_size(errors) > 0) ? 0 : 1;
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
            || md_ref_add(refs, "schemas", json_object_get(data,
                                                           "args_schema"))
               != 0
            || md_ref_add(refs, "schemas", json_object_get(data,
                                                           "headers_schema"))
               != 0
            || md_ref_add(refs, "plans", json_object_get(data, "plan")) != 0)
        {
            return -1;
        }

        json_array_foreach(json_object_get(data, "splits"), i, v) {
            if (md_ref_add(refs, "upstreams", json_object_get(v, "upstream"))
                != 0)
            {
                return -1;
            }
        }

        json_array_foreach(json_object_get(data, "limits"), i, v) {
            if (md_ref_add(refs, "limits", v) != 0) {
                return -1;
            }
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


const char *
md_type_pointer(md_type_t *t, json_t *data, const char *detail, char *buf,
    size_t size)
{
    int          rc;
    char        *norm;
    size_t       i, n, k, plen;
    json_t      *v, *arr;
    const char  *slash, *id, *path, *member, *members[3];

    buf[0] = '\0';

    /* a match key: its path is the fourth field, up to the conditions */

    if (t->kind == MD_T_ROUTES && strchr(detail, ' ') != NULL) {
        path = detail;

        for (n = 0; n < 3 && path != NULL; n++) {
            path = strchr(path, ' ');
            path = (path != NULL) ? path + 1 : NULL;
        }

        if (path == NULL) {
            return buf;
        }

        plen = strcspn(path, "\x1f");

        json_array_foreach(json_object_get(data, "paths"), i, v) {
            if (!json_is_string(v)) {
                continue;
            }

            norm = md_route_norm(json_string_value(v));
            if (norm == NULL) {
                break;
            }

            rc = (strlen(norm) == plen && memcmp(norm, path, plen) == 0);
            free(norm);

            if (rc) {
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
    members[0] = NULL;
    members[1] = NULL;
    members[2] = NULL;

#define md_is(s)  (n == sizeof(s) - 1 && memcmp(detail, s, n) == 0)

    if (md_is("upstreams")) {
        members[0] = "upstream";
        v = json_object_get(data, "upstream");

        /* not the route's own upstream: a split's */

        json_array_foreach(json_is_string(v) && strcmp(json_string_value(v),
                                                       id) == 0
                           ? NULL : json_object_get(data, "splits"), i, arr)
        {
            v = json_object_get(arr, "upstream");

            if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) {
                snprintf(buf, size, "/splits/%zu/upstream", i);
                return buf;
            }
        }

    } else if (md_is("schemas")) {
        members[0] = "schema";
        members[1] = "args_schema";
        members[2] = "headers_schema";

    } else if (md_is("plans")) {
        members[0] = "plan";

    } else if (md_is("consumers")) {
        members[0] = "consumer";

    } else if (md_is("plugins")) {
        members[0] = "plugins";

    } else if (md_is("limits")) {
        members[0] = "limits";
    }

#undef md_is

    for (k = 0; k < 3 && members[k] != NULL; k++) {
        member = members[k];
        v = json_object_get(data, member);

        if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) {
            snprintf(buf, size, "/%s", member);
            return buf;
        }

        arr = v;

        json_array_foreach(arr, i, v) {
            if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
            {
                snprintf(buf, size, "/%s/%zu", member, i);
                return buf;
            }
        }
    }

    return buf;
}


const char *
md_type_match_text(const char *detail, char *buf, size_t size)
{
    return md_route_match_text(detail, buf, size);
}
