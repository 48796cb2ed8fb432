
/*
 * Copyright (C) Tollgate
 *
 * gwctl apply | diff | export: the declarative configuration of the
 * admin API (docs/admin-api.md, "Declarative configuration").
 *
 * export prints GET /v1/snapshot as a document apply takes: the
 * snapshot's revision as "expected_revision", every entity without its
 * meta members but "id".  apply sends a document to PUT /v1/config,
 * which applies it as one revision or not at all; when the document
 * names no revision, the current one is read first, so that the apply
 * replaces what was there a moment ago and fails (409) rather than
 * overwrite a change made meanwhile.  diff is apply --dry-run: the
 * changes the document would make, each with its JSON Patch.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gwctl.h"


static int gwctl_apply_read(gwctl_t *ctl, const char *cmd,
    const char *file, json_t **doc);
static int gwctl_apply_revision(gwctl_t *ctl, const char *cmd,
    json_int_t *revision, json_t **snapshot);
static int gwctl_apply_export(gwctl_t *ctl);
static void gwctl_apply_changes(json_t *answer);


static const char  *gwctl_meta[] = {
    "version", "created_at", "updated_at", "created_by", "updated_by", NULL
};


int
gwctl_apply(gwctl_t *ctl, const char *cmd, int argc, char **argv)
{
    int           rc, dry;
    char          path[64];
    json_t       *doc, *v;
    json_int_t    revision;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "-f", 0, NULL },
        { "--dry-run", 1, NULL },
        { NULL, 0, NULL }
    };

    if (strcmp(cmd, "export") == 0) {
        if (gwctl_args(ctl, cmd, argc, argv, NULL, NULL, 0, "no arguments")
            != 0)
        {
            return -1;
        }

    } else {
        if (strcmp(cmd, "diff") == 0) {
            opts[1].name = NULL;
        }

        if (gwctl_args(ctl, cmd, argc, argv, opts, NULL, 0,
                       strcmp(cmd, "diff") == 0 ? "-f FILE"
                       : "-f FILE [--dry-run]") != 0)
        {
            return -1;
        }

        if (opts[0].value == NULL) {
            return gwctl_fail(ctl, GWCTL_USAGE, "%s: expects -f FILE "
                              "(- for stdin)", cmd);
        }
    }

    if (ctl->api == NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: needs --api URL (or "
                          "$TOLLGATE_ADMIN_URL)", cmd);
    }

    if (strcmp(cmd, "export") == 0) {
        return gwctl_apply_export(ctl);
    }

    dry = (strcmp(cmd, "diff") == 0 || opts[1].value != NULL);

    if (gwctl_apply_read(ctl, cmd, opts[0].value, &doc) != 0) {
        return -1;
    }

    rc = -1;

    if (json_object_get(doc, "expected_revision") == NULL
        && json_object_get(doc, "revision") == NULL)
    {
        if (gwctl_apply_revision(ctl, cmd, &revision, NULL) != 0) {
            goto done;
        }

        if (json_object_set_new(doc, "expected_revision",
                                json_integer(revision)) != 0)
        {
            gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
            goto done;
        }
    }

    snprintf(path, sizeof(path), "/v1/config%s",
             dry ? "?dry_run=true" : "");

    if (gwctl_api_json(ctl, "PUT", path, doc, NULL, NULL, NULL, &res) != 0) {
        goto done;
    }

    if (res.status != 200 || !json_is_object(res.json)) {
        gwctl_api_fail(ctl, cmd, &res);
        gwctl_http_free(&res);
        goto done;
    }

    if (dry) {
        gwctl_apply_changes(res.json);

    } else {
        v = json_object_get(res.json, "revision");
        revision = json_integer_value(v);

        if (json_integer_value(json_object_get(res.json, "created"))
            + json_integer_value(json_object_get(res.json, "updated"))
            + json_integer_value(json_object_get(res.json, "deleted")) == 0)
        {
            printf("no changes: revision %lld\n", (long long) revision);

        } else {
            printf("applied as revision %lld: %lld created, %lld updated, "
                   "%lld deleted\n", (long long) revision,
                   (long long) json_integer_value(
                       json_object_get(res.json, "created")),
                   (long long) json_integer_value(
                       json_object_get(res.json, "updated")),
                   (long long) json_integer_value(
                       json_object_get(res.json, "deleted")));
        }
    }

    gwctl_http_free(&res);
    rc = 0;

done:

    json_decref(doc);

    return rc;
}


/* the document of file ("-": stdin): a JSON object, at most 64 MiB */

static int
gwctl_apply_read(gwctl_t *ctl, const char *cmd, const char *file,
    json_t **doc)
{
    char          q[64];
    FILE         *f;
    json_error_t  err;

    if (strcmp(file, "-") == 0) {
        f = stdin;

    } else {
        f = fopen(file, "r");
        if (f == NULL) {
            return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s: %s", cmd,
                              gwctl_quote(q, sizeof(q), file),
                              strerror(errno));
        }
    }

    *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &err);

    if (f != stdin) {
        fclose(f);
    }

    if (*doc == NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s: line %d: %s", cmd,
                          gwctl_quote(q, sizeof(q), file), err.line,
                          err.text);
    }

    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s: expects a JSON object "
                          "{\"entities\": {...}}", cmd,
                          gwctl_quote(q, sizeof(q), file));
    }

    return 0;
}


/*
 * The current revision, from GET /v1/snapshot (and the snapshot itself
 * when snapshot is not NULL).
 */

static int
gwctl_apply_revision(gwctl_t *ctl, const char *cmd, json_int_t *revision,
    json_t **snapshot)
{
    json_t        *v;
    gwctl_http_t   res;

    if (gwctl_api_call(ctl, "GET", "/v1/snapshot", NULL, NULL, 0, NULL, NULL,
                       &res) != 0)
    {
        return -1;
    }

    v = json_object_get(res.json, "revision");

    if (res.status != 200 || !json_is_integer(v)
        || !json_is_object(json_object_get(res.json, "entities")))
    {
        if (res.status == 200) {
            gwctl_http_free(&res);
            return gwctl_fail(ctl, GWCTL_REDIS, "%s: GET /v1/snapshot: not "
                              "a snapshot", cmd);
        }

        gwctl_api_fail(ctl, cmd, &res);
        gwctl_http_free(&res);
        return -1;
    }

    *revision = json_integer_value(v);

    if (snapshot != NULL) {
        *snapshot = json_incref(res.json);
    }

    gwctl_http_free(&res);

    return 0;
}


static int
gwctl_apply_export(gwctl_t *ctl)
{
    size_t        i;
    json_t       *snap, *out, *docs, *doc;
    json_int_t    revision;
    const char   *type, **m;

    if (gwctl_apply_revision(ctl, "export", &revision, &snap) != 0) {
        return -1;
    }

    json_object_foreach(json_object_get(snap, "entities"), type, docs) {
        json_array_foreach(docs, i, doc) {
            for (m = gwctl_meta; *m != NULL; m++) {
                json_object_del(doc, *m);
            }
        }
    }

    out = json_pack("{s:I,s:O}", "expected_revision", revision, "entities",
                    json_object_get(snap, "entities"));
    json_decref(snap);

    if (out == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(out);

    return 0;
}


/*
 * A dry run's changes, one line each ("create routes/r1"), an update's
 * JSON Patch operations indented below it, then a count.  Values are
 * printed as ASCII JSON: nothing from the service drives the terminal.
 */

static void
gwctl_apply_changes(json_t *answer)
{
    char         type[64], id[80], op[16], path[256];
    size_t       i, k;
    json_t      *c, *p, *v;
    const char  *s;

    json_array_foreach(json_object_get(answer, "changes"), i, c) {
        s = json_string_value(json_object_get(c, "type"));
        gwctl_sanitize(type, sizeof(type), s ? s : "?", s ? strlen(s) : 1);
        s = json_string_value(json_object_get(c, "id"));
        gwctl_sanitize(id, sizeof(id), s ? s : "?", s ? strlen(s) : 1);
        s = json_string_value(json_object_get(c, "op"));
        gwctl_sanitize(op, sizeof(op), s ? s : "?", s ? strlen(s) : 1);

        printf("%s %s/%s\n", op, type, id);

        if (strcmp(op, "update") != 0) {
            continue;
        }

        json_array_foreach(json_object_get(c, "diff"), k, p) {
            s = json_string_value(json_object_get(p, "op"));
            gwctl_sanitize(op, sizeof(op), s ? s : "?", s ? strlen(s) : 1);
            s = json_string_value(json_object_get(p, "path"));
            gwctl_sanitize(path, sizeof(path), s ? s : "", s ? strlen(s) : 0);

            printf("    %s %s", op, path[0] ? path : "\"\"");

            v = json_object_get(p, "value");

            if (v != NULL) {
                fputc(' ', stdout);
                json_dumpf(v, stdout, JSON_COMPACT | JSON_ENSURE_ASCII
                                      | JSON_ENCODE_ANY);
            }

            fputc('\n', stdout);
        }
    }

    i = json_array_size(json_object_get(answer, "changes"));

    printf("%zu change%s against revision %lld\n", i, i == 1 ? "" : "s",
           (long long) json_integer_value(json_object_get(answer,
                                                          "revision")));
}
