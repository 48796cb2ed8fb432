
/*
 * Copyright (C) Tollgate
 *
 * Pipelines: every *.json document of the pipelines directory, checked
 * against pipeline.schema.json (embedded at build time), then built:
 * Lua transforms loaded in their sandboxes, sinks created, one task per
 * source partition.  Any problem refuses the start (and `-t`) with
 * "<file>: <JSON pointer>: <why>".  The metadata service's pipelines
 * entities (proc_follow.c) go through the same proc_pipeline_new().
 */


#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "proc_nats.h"
#include "gw_schema.h"
#include "proc_schema.h"


static int proc_pipeline_load(const char *dir, const char *file,
    char *err, size_t errlen);
static int proc_pipeline_build(proc_pipeline_t *pl, char *err,
    size_t errlen);
static int proc_step_build(proc_pipeline_t *pl, size_t i, json_t *js,
    char *err, size_t errlen);
static int proc_sink_build(proc_pipeline_t *pl, size_t i, json_t *js,
    char *err, size_t errlen);
static void proc_sink_name(json_t *js, size_t i, char *buf, size_t len);
static int proc_nats_in_build(proc_pipeline_t *pl, char *err,
    size_t errlen);
static int proc_name_cmp(const void *a, const void *b);


static const proc_sink_ops_t  *proc_sink_types[] = {
    &proc_sink_redis_ops, &proc_sink_stream_ops, &proc_sink_sqlite_ops,
    &proc_sink_postgres_ops,
    &proc_sink_http_ops,
    &proc_sink_nats_ops,
    NULL
};


static int
proc_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static json_t       *proc_schema_doc;
static gw_schema_t  *proc_schema;


/* the compiled pipeline.schema.json, once; -1 with err */

static int
proc_schema_setup(char *err, size_t errlen)
{
    json_error_t      jerr;
    gw_schema_cerr_t  cerr;

    if (proc_schema != NULL) {
        return 0;
    }

    proc_schema_doc = json_loads(proc_schema_text, 0, &jerr);
    proc_schema = gw_schema_new(NULL);

    if (proc_schema_doc == NULL || proc_schema == NULL) {
        snprintf(err, errlen, "pipeline.schema.json: %s",
                 proc_schema_doc == NULL ? jerr.text : "out of memory");
        goto failed;
    }

    if (gw_schema_compile(proc_schema, proc_schema_doc, &cerr) != 0) {
        snprintf(err, errlen, "pipeline.schema.json: %s: %s", cerr.pointer,
                 cerr.message);
        goto failed;
    }

    return 0;

failed:

    gw_schema_free(proc_schema);
    json_decref(proc_schema_doc);
    proc_schema = NULL;
    proc_schema_doc = NULL;

    return -1;
}


int
proc_pipelines_load(const char *dir, char *err, size_t errlen)
{
    int                  rc;
    DIR                 *d;
    char               **names, **nn;
    size_t               n, cap, i, len;
    struct dirent       *de;

    names = NULL;
    n = 0;
    cap = 0;
    rc = -1;

    if (proc_schema_setup(err, errlen) != 0) {
        goto done;
    }

    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot open the pipelines directory",
                 dir);
        goto done;
    }

    while ((de = readdir(d)) != NULL) {
        len = strlen(de->d_name);

        if (len < 6 || de->d_name[0] == '.'
            || strcmp(de->d_name + len - 5, ".json") != 0)
        {
            continue;
        }

        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            nn = realloc(names, cap * sizeof(char *));
            if (nn == NULL) {
                closedir(d);
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            names = nn;
        }

        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            closedir(d);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        n++;
    }

    closedir(d);

    /* in name order, so errors and tasks come out the same every run */

    if (n > 0) {
        qsort(names, n, sizeof(char *), proc_name_cmp);
    }

    for (i = 0; i < n; i++) {
        if (proc_pipeline_load(dir, names[i], err, errlen) != 0) {
            goto done;
        }
    }

    rc = 0;

done:

    for (i = 0; i < n; i++) {
        free(names[i]);
    }

    free(names);

    return rc;
}


static int
proc_pipeline_load(const char *dir, const char *file, char *err,
    size_t errlen)
{
    char                  path[1024], why[PROC_ERR_MAX];
    size_t                i;
    json_t               *doc;
    json_error_t          jerr;
    proc_pipeline_t      *pl, **pls;

    snprintf(path, sizeof(path), "%s/%s", dir, file);

    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        snprintf(err, errlen, "%s: : not JSON: %s (line %d)", file,
                 jerr.text, jerr.line);
        return -1;
    }

    pl = proc_pipeline_new(doc, why, sizeof(why));
    if (pl == NULL) {
        snprintf(err, errlen, "%s: %s", file, why);
        return -1;
    }

    snprintf(pl->file, sizeof(pl->file), "%s", file);

    for (i = 0; i < proc.npipelines; i++) {
        if (strcmp(proc.pipelines[i]->name, pl->name) == 0) {
            snprintf(err, errlen, "%s: /name: \"%s\" is also the name of "
                     "%s", file, pl->name, proc.pipelines[i]->file);
            proc_pipeline_free(pl);
            return -1;
        }
    }

    pls = realloc(proc.pipelines,
                  (proc.npipelines + 1) * sizeof(proc_pipeline_t *));
    if (pls == NULL) {
        proc_pipeline_free(pl);
        snprintf(err, errlen, "%s: : out of memory", file);
        return -1;
    }

    proc.pipelines = pls;
    proc.pipelines[proc.npipelines++] = pl;

    return 0;
}


proc_pipeline_t *
proc_pipeline_new(json_t *doc, char *err, size_t errlen)
{
    int                   rc;
    proc_pipeline_t      *pl;
    gw_schema_result_t    res;

    if (proc_schema_setup(err, errlen) != 0) {
        json_decref(doc);
        return NULL;
    }

    memset(&res, 0, sizeof(res));
    rc = gw_schema_validate(proc_schema, doc, &res);

    if (rc != 1) {
        if (rc == 0 && res.nerrors > 0) {
            snprintf(err, errlen, "%s: %s", res.errors[0].instance_location,
                     res.errors[0].message);
        } else {
            snprintf(err, errlen, ": cannot validate");
        }
        gw_schema_result_free(&res);
        json_decref(doc);
        return NULL;
    }

    gw_schema_result_free(&res);

    pl = calloc(1, sizeof(proc_pipeline_t));
    if (pl == NULL) {
        json_decref(doc);
        snprintf(err, errlen, ": out of memory");
        return NULL;
    }

    /* the document as given, before the build names the sinks in it */

    pl->doc = doc;
    pl->src = json_deep_copy(doc);
    snprintf(pl->name, sizeof(pl->name), "%s",
             json_string_value(json_object_get(doc, "name")));

    if (pl->src == NULL) {
        snprintf(err, errlen, ": out of memory");
        proc_pipeline_free(pl);
        return NULL;
    }

    if (proc_pipeline_build(pl, err, errlen) != 0) {
        proc_pipeline_free(pl);
        return NULL;
    }

    return pl;
}


static int
proc_pipeline_build(proc_pipeline_t *pl, char *err, size_t errlen)
{
    size_t        i;
    json_t       *src, *v, *arr;
    proc_task_t  *t;

    src = json_object_get(pl->doc, "source");
    v = json_object_get(src, "partitions");
    pl->partitions = json_is_integer(v) ? json_integer_value(v) : 1;

    if (json_object_get(src, "topic") != NULL) {
        snprintf(pl->prefix, sizeof(pl->prefix), "gw:topic:%s",
                 json_string_value(json_object_get(src, "topic")));
    } else {
        snprintf(pl->prefix, sizeof(pl->prefix), "%s",
                 json_string_value(json_object_get(src, "stream")));
    }

    pl->time = json_string_value(json_object_get(pl->doc, "time"));

    v = json_object_get(pl->doc, "retries");
    pl->retries = json_is_integer(v) ? json_integer_value(v)
                                     : gw_svc_conf_int(proc.svc, "retries");

    if (proc_window_setup(pl, err, errlen) != 0
        || proc_nats_in_build(pl, err, errlen) != 0)
    {
        return -1;
    }

    arr = json_object_get(pl->doc, "steps");
    pl->nsteps = json_array_size(arr);

    if (pl->nsteps > 0) {
        pl->steps = calloc(pl->nsteps, sizeof(proc_step_t));
        if (pl->steps == NULL) {
            snprintf(err, errlen, ": out of memory");
            return -1;
        }
    }

    json_array_foreach(arr, i, v) {
        if (proc_step_build(pl, i, v, err, errlen) != 0) {
            return -1;
        }
    }

    arr = json_object_get(pl->doc, "sinks");
    pl->sinks = calloc(json_array_size(arr), sizeof(proc_sink_t *));
    if (pl->sinks == NULL) {
        snprintf(err, errlen, ": out of memory");
        return -1;
    }

    json_array_foreach(arr, i, v) {
        if (proc_sink_build(pl, i, v, err, errlen) != 0) {
            return -1;
        }
        pl->nsinks++;
    }

    pl->tasks = calloc(pl->partitions, sizeof(proc_task_t));
    if (pl->tasks == NULL) {
        snprintf(err, errlen, ": out of memory");
        return -1;
    }

    for (i = 0; i < pl->partitions; i++) {
        t = &pl->tasks[i];
        t->pl = pl;
        t->partition = i;
        snprintf(t->stream, sizeof(t->stream), "%s:%u", pl->prefix,
                 (unsigned) i);
        t->sink_pos = calloc(pl->nsinks, PROC_ID_MAX);
        if (t->sink_pos == NULL) {
            snprintf(err, errlen, ": out of memory");
            return -1;
        }
    }

    return 0;
}


/* a filter's function is wrapped: a truthy result keeps the record */

static const char  proc_filter_head[] =
    "local __f = (function () ";

static const char  proc_filter_tail[] =
    "\nend)() "
    "if type(__f) == 'table' then __f = __f.transform end "
    "if type(__f) ~= 'function' then "
    "error('a filter returns a function', 0) end "
    "return function (rec, ctx) "
    "if __f(rec, ctx) then return {} end return nil end";


static int
proc_step_build(proc_pipeline_t *pl, size_t i, json_t *js, char *err,
    size_t errlen)
{
    char           *text, name[160];
    size_t          len;
    const char     *type, *lua;
    proc_step_t    *st;
    gw_lua_err_t    lerr;
    gw_lua_conf_t   lc;

    st = &pl->steps[i];
    snprintf(st->ptr, sizeof(st->ptr), "/steps/%u", (unsigned) i);
    type = json_string_value(json_object_get(js, "type"));

    if (strcmp(type, "enrich") == 0) {
        st->kind = PROC_STEP_ENRICH;
        st->key = json_string_value(json_object_get(js, "key"));
        st->as = json_string_value(json_object_get(js, "as"));
        st->hash = json_object_get(js, "lookup") != NULL
                   && strcmp(json_string_value(json_object_get(js, "lookup")),
                             "hgetall") == 0;
        return 0;
    }

    if (strcmp(type, "key_by") == 0) {
        st->kind = PROC_STEP_KEY_BY;
        st->by = json_string_value(json_object_get(js, "key"));
        return 0;
    }

    st->kind = (strcmp(type, "filter") == 0) ? PROC_STEP_FILTER
               : (strcmp(type, "map") == 0) ? PROC_STEP_MAP
               : PROC_STEP_FLAT_MAP;

    lua = json_string_value(json_object_get(js, "lua"));
    len = strlen(lua);
    text = malloc(len + sizeof(proc_filter_head) + sizeof(proc_filter_tail));
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", st->ptr);
        return -1;
    }

    if (st->kind == PROC_STEP_FILTER) {
        len = sprintf(text, "%s%s%s", proc_filter_head, lua,
                      proc_filter_tail);
    } else {
        memcpy(text, lua, len + 1);
    }

    snprintf(name, sizeof(name), "%s%s", pl->name, st->ptr);

    memset(&lc, 0, sizeof(lc));
    lc.mem_max = gw_svc_conf_int(proc.svc, "lua_memory");
    lc.budget = gw_svc_conf_int(proc.svc, "lua_budget");
    lc.time_max = gw_svc_conf_int(proc.svc, "lua_time");
    lc.name = name;

    st->lua = gw_lua_transform_new(&lc, name, text, len,
                                   json_object_get(js, "params"), &lerr);
    free(text);

    if (st->lua == NULL) {
        snprintf(err, errlen, "%s/lua: %s", st->ptr, lerr.msg);
        return -1;
    }

    return 0;
}


static int
proc_sink_build(proc_pipeline_t *pl, size_t i, json_t *js, char *err,
    size_t errlen)
{
    char                    why[PROC_ERR_MAX], name[160], other[160];
    char                    owner[PROC_NAME_MAX + 162];
    size_t                  k;
    json_t                 *conf;
    const char             *type;
    const proc_sink_ops_t  *ops;

    type = json_string_value(json_object_get(js, "type"));
    ops = NULL;

    for (k = 0; proc_sink_types[k] != NULL; k++) {
        if (strcmp(proc_sink_types[k]->type, type) == 0) {
            ops = proc_sink_types[k];
        }
    }

    if (ops == NULL) {
        snprintf(err, errlen, "/sinks/%u/type: unknown", (unsigned) i);
        return -1;
    }

    /*
     * A sink's name ("name", default its index) keys its position: our
     * Redis sinks keep it in field "<name>:<partition>" of the pipeline's
     * hash; the SQL and NATS sinks get "<pipeline>/<name>" as their
     * pipeline (the SQL sinks' tollgate_positions row, the NATS sink's
     * message ids), so two sinks of a pipeline never share a position or
     * an id.
     */

    proc_sink_name(js, i, name, sizeof(name));

    for (k = 0; k < i; k++) {
        proc_sink_name(json_array_get(json_object_get(pl->doc, "sinks"), k),
                       k, other, sizeof(other));

        if (strcmp(name, other) == 0) {
            snprintf(err, errlen, "/sinks/%u/name: \"%s\" is also the name "
                     "of /sinks/%u", (unsigned) i, name, (unsigned) k);
            return -1;
        }
    }

    conf = json_deep_copy(js);
    if (conf == NULL) {
        snprintf(err, errlen, "/sinks/%u: out of memory", (unsigned) i);
        return -1;
    }

    if (ops == &proc_sink_redis_ops || ops == &proc_sink_stream_ops) {
        if (json_object_set_new(conf, "name", json_string(name)) != 0) {
            json_decref(conf);
            snprintf(err, errlen, "/sinks/%u: out of memory", (unsigned) i);
            return -1;
        }

        json_array_set(json_object_get(pl->doc, "sinks"), i, conf);
        snprintf(owner, sizeof(owner), "%s", pl->name);

    } else if (ops == &proc_sink_sqlite_ops || ops == &proc_sink_postgres_ops
               || ops == &proc_sink_nats_ops)
    {
        /* the sink's own members only: create() refuses others */
        json_object_del(conf, "name");
        snprintf(owner, sizeof(owner), "%s/%s", pl->name, name);

    } else {
        snprintf(owner, sizeof(owner), "%s", pl->name);
    }

    why[0] = '\0';
    pl->sinks[i] = ops->create(&proc.env, owner, conf, why, sizeof(why));
    json_decref(conf);

    if (pl->sinks[i] == NULL) {
        snprintf(err, errlen, "/sinks/%u%s", (unsigned) i, why);
        return -1;
    }

    return 0;
}


/* a sink's name: its "name", else its index */

static void
proc_sink_name(json_t *js, size_t i, char *buf, size_t len)
{
    json_t  *v;

    v = json_object_get(js, "name");

    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));

    } else {
        snprintf(buf, len, "%u", (unsigned) i);
    }
}


/*
 * "nats_in": checked by starting the connector and stopping it at once
 * (it reads nothing before the loop runs); the lease (proc_lease.c)
 * starts it for real.  One pipeline per durable.
 */

static int
proc_nats_in_build(proc_pipeline_t *pl, char *err, size_t errlen)
{
    size_t           i;
    json_t          *conf;
    const char      *d;
    proc_nats_in_t  *in;

    conf = json_object_get(pl->doc, "nats_in");
    if (conf == NULL) {
        return 0;
    }

    in = proc_nats_in_start(&proc.env, conf, err, errlen);
    if (in == NULL) {
        return -1;
    }

    proc_nats_in_stop(in);

    d = json_string_value(json_object_get(conf, "durable"));
    snprintf(pl->nats_durable, sizeof(pl->nats_durable), "%s", d);

    /* a new version of a pipeline replaces the old: not a clash */

    for (i = 0; i < proc.npipelines; i++) {
        if (strcmp(proc.pipelines[i]->nats_durable, d) == 0
            && strcmp(proc.pipelines[i]->name, pl->name) != 0)
        {
            snprintf(err, errlen, "/nats_in/durable: \"%s\" is also the "
                     "durable of pipeline \"%s\"", d,
                     proc.pipelines[i]->name);
            return -1;
        }
    }

    return 0;
}


void
proc_pipeline_free(proc_pipeline_t *pl)
{
    size_t  k;

    for (k = 0; pl->tasks != NULL && k < pl->partitions; k++) {
        proc_task_free(&pl->tasks[k]);
    }

    free(pl->tasks);
    proc_nats_in_stop(pl->nats_in);

    for (k = 0; k < pl->nsinks; k++) {
        pl->sinks[k]->ops->free(pl->sinks[k]);
    }

    free(pl->sinks);

    for (k = 0; k < pl->nsteps; k++) {
        gw_lua_transform_free(pl->steps[k].lua);
    }

    free(pl->steps);
    proc_window_free(pl);
    json_decref(pl->doc);
    json_decref(pl->src);
    free(pl);
}


void
proc_pipelines_free(void)
{
    size_t            i;
    proc_pipeline_t  *pl;

    for (i = 0; i < proc.npipelines; i++) {
        proc_pipeline_free(proc.pipelines[i]);
    }

    free(proc.pipelines);
    proc.pipelines = NULL;
    proc.npipelines = 0;

    while (proc.waiting != NULL) {
        pl = proc.waiting;
        proc.waiting = pl->next;
        proc_pipeline_free(pl);
    }

    while (proc.retiring != NULL) {
        pl = proc.retiring;
        proc.retiring = pl->next;
        proc_pipeline_free(pl);
    }

    gw_schema_free(proc_schema);
    json_decref(proc_schema_doc);
    proc_schema = NULL;
    proc_schema_doc = NULL;
}
