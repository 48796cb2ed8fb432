
/*
 * Copyright (C) Tollgate
 *
 * Report definitions: the "reports" entity's document (the schema the
 * metadata service checks is reports.schema.json) turned into what a
 * run needs, the report writers' spec among it.  The metadata service
 * validated the document when it was written, but the schema may have
 * been changed since, or the type registered without it, so every member
 * is checked again here with its cap: a definition this service cannot
 * use is a 422 naming the member, never a crash on a worker thread.
 *
 * A run's parameters are checked against the definition's: defaults
 * filled, required ones present, each of its declared type, an unknown
 * one refused.  The tenant parameter (tenant_param) is never taken from
 * the body: whatever the body says for it is dropped, and the caller's
 * consumer id is bound in its place.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp.h"


#define RP_TEXT_MAX     4096


static int rp_def_columns(rp_def_t *def, json_t *a, char *err,
    size_t errlen);
static int rp_def_chart(rp_def_t *def, json_t *c, char *err, size_t errlen);
static int rp_def_column_index(rp_def_t *def, json_t *name);
static int rp_def_time(const char *s, int datetime);


static const char  *rp_param_types[] = {
    "string", "integer", "number", "date", "datetime", "boolean", NULL
};

static const char  *rp_col_types[] = {
    "text", "integer", "number", "currency", "percent", "date",
    "datetime", "boolean", NULL
};


static int
rp_def_enum(const char *s, const char **names)
{
    int  i;

    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }

    return -1;
}


/* a string member of at most max bytes: 0 (NULL when absent and not
 * required), -1 with err set */
static int
rp_def_str(json_t *o, const char *member, size_t max, int required,
    const char **out, char *err, size_t errlen)
{
    json_t  *v;

    *out = NULL;
    v = json_object_get(o, member);

    if (v == NULL || json_is_null(v)) {
        if (required) {
            snprintf(err, errlen, "/%s is required", member);
            return -1;
        }
        return 0;
    }

    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) > max
        || strlen(json_string_value(v)) != json_string_length(v))
    {
        snprintf(err, errlen, "/%s: a string of 1 to %zu bytes", member,
                 max);
        return -1;
    }

    *out = json_string_value(v);

    return 0;
}


rp_def_t *
rp_def_parse(const char *id, json_t *doc, char *err, size_t errlen)
{
    int          t;
    json_t      *p, *v, *o;
    rp_def_t    *def;
    const char  *name;

    def = calloc(1, sizeof(rp_def_t));
    if (def == NULL) {
        json_decref(doc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    def->doc = doc;

    if (!json_is_object(doc)) {
        snprintf(err, errlen, "the definition is not an object");
        goto failed;
    }

    /* the id lives in the document, which the definition owns: the
     * caller's copy may go away first */
    if (json_object_set_new(doc, "id", json_string(id)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    def->id = json_string_value(json_object_get(doc, "id"));

    if (rp_def_str(doc, "title", RP_TEXT_MAX, 1, &def->title, err, errlen)
        != 0
        || rp_def_str(doc, "query", RP_QUERY_MAX, 1, &def->query, err,
                      errlen)
           != 0
        || rp_def_str(doc, "tenant_param", 64, 0, &def->tenant, err,
                      errlen)
           != 0
        || rp_def_str(doc, "tz", 64, 0, &def->spec.tz, err, errlen) != 0)
    {
        goto failed;
    }

    p = json_object_get(doc, "params");

    if (p != NULL && !json_is_object(p)) {
        snprintf(err, errlen, "/params: an object");
        goto failed;
    }

    if (json_object_size(p) > RP_PARAMS_MAX) {
        snprintf(err, errlen, "/params: at most %d", RP_PARAMS_MAX);
        goto failed;
    }

    json_object_foreach(p, name, o) {
        if (strlen(name) == 0 || strlen(name) > 64
            || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_")
               != strlen(name))
        {
            snprintf(err, errlen, "/params: a name is [a-z0-9_]{1,64}");
            goto failed;
        }

        v = json_object_get(o, "type");
        t = json_is_string(v) ? rp_def_enum(json_string_value(v),
                                            rp_param_types)
                              : -1;
        if (!json_is_object(o) || t < 0) {
            snprintf(err, errlen, "/params/%s/type: one of string, "
                     "integer, number, date, datetime, boolean", name);
            goto failed;
        }

        def->params[def->nparams].name = name;
        def->params[def->nparams].type = t;
        def->params[def->nparams].required =
                              json_is_true(json_object_get(o, "required"));
        v = json_object_get(o, "default");
        def->params[def->nparams].dflt = json_is_null(v) ? NULL : v;
        def->nparams++;
    }

    if (rp_def_columns(def, json_object_get(doc, "columns"), err, errlen)
        != 0)
    {
        goto failed;
    }

    def->spec.title = def->title;
    def->spec.columns = def->columns;

    v = json_object_get(doc, "chart");
    if (v != NULL && !json_is_null(v)
        && rp_def_chart(def, v, err, errlen) != 0)
    {
        goto failed;
    }

    v = json_object_get(doc, "csv_bom");
    if (v != NULL && !json_is_boolean(v)) {
        snprintf(err, errlen, "/csv_bom: true or false");
        goto failed;
    }
    def->spec.csv_bom = json_is_true(v);

    def->formats = json_object_get(doc, "formats");
    def->delivery = json_object_get(doc, "delivery");
    def->schedule = json_object_get(doc, "schedule");

    if ((def->delivery != NULL && !json_is_object(def->delivery))
        || (def->schedule != NULL && !json_is_object(def->schedule))
        || (def->formats != NULL && !json_is_array(def->formats)))
    {
        snprintf(err, errlen, "/delivery and /schedule are objects, "
                 "/formats an array");
        goto failed;
    }

    if ((def->delivery != NULL
         && rp_notify_check(def->delivery, err, errlen) != 0)
        || (json_is_object(json_object_get(def->schedule, "delivery"))
            && rp_notify_check(json_object_get(def->schedule, "delivery"),
                               err, errlen)
               != 0))
    {
        goto failed;
    }

    if (gw_report_spec_check(&def->spec, err, errlen) != 0) {
        goto failed;
    }

    return def;

failed:

    rp_def_free(def);
    return NULL;
}


static int
rp_def_columns(rp_def_t *def, json_t *a, char *err, size_t errlen)
{
    int                  t;
    size_t               i;
    json_t              *c, *v;
    gw_report_column_t  *col;

    if (!json_is_array(a) || json_array_size(a) == 0
        || json_array_size(a) > GW_REPORT_MAX_COLUMNS)
    {
        snprintf(err, errlen, "/columns: an array of 1 to %d columns",
                 GW_REPORT_MAX_COLUMNS);
        return -1;
    }

    json_array_foreach(a, i, c) {
        col = &def->columns[i];

        if (!json_is_object(c)
            || rp_def_str(c, "name", GW_REPORT_MAX_NAME, 1, &col->name,
                          err, errlen)
               != 0
            || rp_def_str(c, "title", RP_TEXT_MAX, 0, &col->title, err,
                          errlen)
               != 0
            || rp_def_str(c, "currency", 3, 0, &col->currency, err,
                          errlen)
               != 0
            || rp_def_str(c, "tz", 64, 0, &col->tz, err, errlen) != 0)
        {
            if (!json_is_object(c)) {
                snprintf(err, errlen, "/columns/%zu: an object", i);
            }
            return -1;
        }

        v = json_object_get(c, "type");
        t = (v == NULL) ? 0
            : json_is_string(v) ? rp_def_enum(json_string_value(v),
                                              rp_col_types)
                                : -1;
        if (t < 0) {
            snprintf(err, errlen, "/columns/%zu/type: unknown", i);
            return -1;
        }

        col->type = t;
        col->decimals = -1;

        v = json_object_get(c, "decimals");
        if (v != NULL) {
            if (!json_is_integer(v) || json_integer_value(v) < 0
                || json_integer_value(v) > 10)
            {
                snprintf(err, errlen, "/columns/%zu/decimals: 0 to 10", i);
                return -1;
            }
            col->decimals = (int) json_integer_value(v);
        }
    }

    def->spec.ncolumns = (int) json_array_size(a);

    return 0;
}


static int
rp_def_chart(rp_def_t *def, json_t *c, char *err, size_t errlen)
{
    int                 t, k;
    size_t              i;
    json_t             *v, *s;
    gw_report_chart_t  *ch;
    static const char  *types[] = { "bar", "line", "pie", NULL };

    ch = &def->spec.chart;

    v = json_object_get(c, "type");
    t = json_is_string(v) ? rp_def_enum(json_string_value(v), types) : -1;
    if (!json_is_object(c) || t < 0) {
        snprintf(err, errlen, "/chart/type: bar, line or pie");
        return -1;
    }

    ch->type = GW_REPORT_CHART_BAR + t;

    if (rp_def_str(c, "title", RP_TEXT_MAX, 0, &ch->title, err, errlen)
        != 0)
    {
        return -1;
    }

    ch->category = rp_def_column_index(def, json_object_get(c, "category"));
    if (ch->category < 0) {
        snprintf(err, errlen, "/chart/category: a column's name");
        return -1;
    }

    s = json_object_get(c, "series");
    if (!json_is_array(s) || json_array_size(s) == 0
        || json_array_size(s) > GW_REPORT_MAX_SERIES)
    {
        snprintf(err, errlen, "/chart/series: 1 to %d columns",
                 GW_REPORT_MAX_SERIES);
        return -1;
    }

    json_array_foreach(s, i, v) {
        k = rp_def_column_index(def, v);
        if (k < 0) {
            snprintf(err, errlen, "/chart/series/%zu: a column's name", i);
            return -1;
        }
        ch->series[i] = k;
    }

    ch->nseries = (int) json_array_size(s);

    return 0;
}


static int
rp_def_column_index(rp_def_t *def, json_t *name)
{
    int  i;

    if (!json_is_string(name)) {
        return -1;
    }

    for (i = 0; i < def->spec.ncolumns; i++) {
        if (strcmp(def->columns[i].name, json_string_value(name)) == 0) {
            return i;
        }
    }

    return -1;
}


void
rp_def_free(rp_def_t *def)
{
    if (def == NULL) {
        return;
    }

    json_decref(def->doc);
    free(def);
}


json_t *
rp_def_params(rp_def_t *def, json_t *given, const char *owner, char *err,
    size_t errlen)
{
    int          i, ok;
    json_t      *out, *v;
    const char  *name;
    rp_param_t  *p;

    if (given != NULL && !json_is_object(given)) {
        snprintf(err, errlen, "/params: an object");
        return NULL;
    }

    out = json_object();
    if (out == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    json_object_foreach(given, name, v) {
        if (def->tenant != NULL && strcmp(name, def->tenant) == 0) {
            continue;
        }

        for (i = 0; i < def->nparams; i++) {
            if (strcmp(def->params[i].name, name) == 0) {
                break;
            }
        }

        if (i == def->nparams) {
            snprintf(err, errlen, "/params/%.64s: not a parameter of the "
                     "report", name);
            goto failed;
        }
    }

    for (i = 0; i < def->nparams; i++) {
        p = &def->params[i];

        if (def->tenant != NULL && strcmp(p->name, def->tenant) == 0) {
            continue;
        }

        v = json_object_get(given, p->name);
        if (v == NULL || json_is_null(v)) {
            v = p->dflt;
        }

        if (v == NULL) {
            if (p->required) {
                snprintf(err, errlen, "/params/%s is required", p->name);
                goto failed;
            }
            v = json_null();
        }

        switch (p->type) {
        case RP_P_STRING:
            ok = json_is_string(v) && json_string_length(v) <= RP_TEXT_MAX;
            break;
        case RP_P_INTEGER:
            ok = json_is_integer(v);
            break;
        case RP_P_NUMBER:
            ok = json_is_number(v);
            break;
        case RP_P_BOOLEAN:
            ok = json_is_boolean(v);
            break;
        default:
            ok = json_is_string(v)
                 && rp_def_time(json_string_value(v),
                                p->type == RP_P_DATETIME) == 0;
        }

        if (!ok && !json_is_null(v)) {
            snprintf(err, errlen, "/params/%s: not a %s", p->name,
                     rp_param_types[p->type]);
            goto failed;
        }

        if (json_object_set(out, p->name, v) != 0) {
            snprintf(err, errlen, "out of memory");
            goto failed;
        }
    }

    if (def->tenant != NULL
        && json_object_set_new(out, def->tenant, json_string(owner)) != 0)
    {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    return out;

failed:

    json_decref(out);
    return NULL;
}


/* "YYYY-MM-DD", or for a datetime RFC 3339 "YYYY-MM-DDTHH:MM:SS..." */
static int
rp_def_time(const char *s, int datetime)
{
    int  y, mo, d, h, mi, se, n;

    n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10
        || mo < 1 || mo > 12 || d < 1 || d > 31)
    {
        return -1;
    }

    if (!datetime) {
        return s[10] == '\0' ? 0 : -1;
    }

    n = 0;
    if ((s[10] != 'T' && s[10] != ' ')
        || sscanf(s + 11, "%2d:%2d:%2d%n", &h, &mi, &se, &n) != 3
        || n != 8 || h > 23 || mi > 59 || se > 60 || strlen(s) > 40)
    {
        return -1;
    }

    return 0;
}
