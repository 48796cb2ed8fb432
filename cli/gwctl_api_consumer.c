
/*
 * Copyright (C) Tollgate
 *
 * gwctl consumer add | list | show | disable | enable | plan through the
 * admin API: the consumer entity /v1/consumers/<id>.  add creates it
 * with If-None-Match: *; the others read it and patch one member
 * (gwctl_api_patch()).  The output is the Redis commands' own.
 */


#include <stdlib.h>
#include <string.h>

#include "gwctl.h"


static void gwctl_api_consumer_json(FILE *f, json_t *c, long long keys);
static void gwctl_api_consumer_text(FILE *f, json_t *c, long long keys);
static int gwctl_api_consumer_add(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_consumer_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_consumer_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_consumer_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_api_consumer_plan(gwctl_t *ctl, int argc, char **argv);


int
gwctl_api_consumer(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer: expects add, list, show, disable, "
                          "enable or plan");
    }

    if (strcmp(argv[0], "add") == 0) {
        return gwctl_api_consumer_add(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_api_consumer_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "show") == 0) {
        return gwctl_api_consumer_show(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "disable") == 0) {
        return gwctl_api_consumer_status(ctl, argc - 1, argv + 1,
                                         GW_MODEL_DISABLED);
    }

    if (strcmp(argv[0], "enable") == 0) {
        return gwctl_api_consumer_status(ctl, argc - 1, argv + 1,
                                         GW_MODEL_ACTIVE);
    }

    if (strcmp(argv[0], "plan") == 0) {
        return gwctl_api_consumer_plan(ctl, argc - 1, argv + 1);
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "consumer: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


static int
gwctl_api_consumer_add(gwctl_t *ctl, int argc, char **argv)
{
    int           rc;
    char          path[GWCTL_PATH_MAX], q[64], *t, *p, *comma;
    json_t       *body, *tags;
    const char   *pos[1], *id, *name;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--name", 0, NULL },
        { "--tags", 0, NULL },
        { "--plan", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "consumer add", argc, argv, opts, pos, 1,
                   "ID [--name NAME] [--tags a,b] [--plan PLAN]") != 0
        || gwctl_id(ctl, "consumer add", pos[0]) != 0)
    {
        return -1;
    }

    id = pos[0];
    name = opts[0].value != NULL ? opts[0].value : id;

    if (!gw_model_name_valid(name, strlen(name))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --name: expects 1 to %d bytes of "
                          "printable UTF-8, got %s", GW_NAME_MAX,
                          gwctl_quote(q, sizeof(q), name));
    }

    if (opts[1].value != NULL
        && !gw_model_tags_valid(opts[1].value, strlen(opts[1].value)))
    {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --tags: expects up to %d distinct "
                          "comma-separated tags of 1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -, got %s", GW_TAGS_MAX,
                          GW_ID_MAX, gwctl_quote(q, sizeof(q),
                                                 opts[1].value));
    }

    if (opts[2].value != NULL
        && !gw_model_id_valid(opts[2].value, strlen(opts[2].value)))
    {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer add: --plan: expects 1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -, got %s", GW_ID_MAX,
                          gwctl_quote(q, sizeof(q), opts[2].value));
    }

    tags = json_array();
    body = json_pack("{s:s,s:s,s:o}", "name", name, "status",
                     GW_MODEL_ACTIVE, "tags", tags);
    t = opts[1].value != NULL ? strdup(opts[1].value) : NULL;

    rc = -1;

    if (body == NULL || (opts[1].value != NULL && t == NULL)
        || (opts[2].value != NULL
            && json_object_set_new(body, "plan",
                                   json_string(opts[2].value)) != 0))
    {
        gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
        goto done;
    }

    for (p = t; p != NULL && *p != '\0'; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }

        if (json_array_append_new(tags, json_string(p)) != 0) {
            gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
            goto done;
        }
    }

    snprintf(path, sizeof(path), "/v1/consumers/%s", id);

    if (gwctl_api_json(ctl, "PUT", path, body, NULL, NULL, "*", &res) != 0) {
        goto done;
    }

    if (res.status == 412) {
        gwctl_fail(ctl, GWCTL_STATE, "consumer %s already exists", id);

    } else if (res.status != 200 && res.status != 201) {
        gwctl_api_fail(ctl, "consumer add", &res);

    } else {
        printf("consumer %s added\n", id);
        rc = 0;
    }

    gwctl_http_free(&res);

done:

    free(t);
    json_decref(body);

    return rc;
}


/* a consumer entity as consumer show --json prints a record */

static void
gwctl_api_consumer_json(FILE *f, json_t *c, long long keys)
{
    size_t       i;
    int64_t      created;
    json_t      *v;
    const char  *s;

    s = gwctl_api_str(c, "id");
    fputs("{\"id\":", f);
    gwctl_print_json(f, s, strlen(s));
    s = gwctl_api_str(c, "name");
    fputs(",\"name\":", f);
    gwctl_print_json(f, s, strlen(s));
    s = gwctl_api_str(c, "status");
    fputs(",\"status\":", f);
    gwctl_print_json(f, s, strlen(s));

    fputs(",\"tags\":[", f);

    json_array_foreach(json_object_get(c, "tags"), i, v) {
        s = json_string_value(v);
        fputs(i ? "," : "", f);
        gwctl_print_json(f, s ? s : "", s ? strlen(s) : 0);
    }

    fputs("],\"plan\":", f);
    s = gwctl_api_str(c, "plan");

    if (s[0] == '\0') {
        fputs("null", f);

    } else {
        gwctl_print_json(f, s, strlen(s));
    }

    created = gwctl_api_time(json_object_get(c, "created_at"));

    if (created >= 0) {
        fprintf(f, ",\"created\":%lld", (long long) created);

    } else {
        fputs(",\"created\":null", f);
    }

    fprintf(f, ",\"keys\":%lld}", keys);
}


static void
gwctl_api_consumer_text(FILE *f, json_t *c, long long keys)
{
    char         when[32];
    size_t       i;
    json_t      *v;
    const char  *s;

    s = gwctl_api_str(c, "id");
    fputs("id:       ", f);
    gwctl_print_text(f, s, strlen(s));
    s = gwctl_api_str(c, "name");
    fputs("\nname:     ", f);
    gwctl_print_text(f, s, strlen(s));
    s = gwctl_api_str(c, "status");
    fputs("\nstatus:   ", f);
    gwctl_print_text(f, s, strlen(s));

    fputs("\ntags:     ", f);

    json_array_foreach(json_object_get(c, "tags"), i, v) {
        s = json_string_value(v);
        fputs(i ? "," : "", f);
        gwctl_print_text(f, s ? s : "", s ? strlen(s) : 0);
    }

    if (json_array_size(json_object_get(c, "tags")) == 0) {
        fputs("-", f);
    }

    s = gwctl_api_str(c, "plan");
    fputs("\nplan:     ", f);

    if (s[0] != '\0') {
        gwctl_print_text(f, s, strlen(s));

    } else {
        fputs("-", f);
    }

    gwctl_format_time(when, sizeof(when),
                      gwctl_api_time(json_object_get(c, "created_at")));

    fprintf(f, "\ncreated:  %s\nkeys:     %lld\n", when, keys);
}


static int
gwctl_api_consumer_show(gwctl_t *ctl, int argc, char **argv)
{
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    long long     keys;
    const char   *pos[1];
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "consumer show", argc, argv, opts, pos, 1,
                   "ID [--json]") != 0
        || gwctl_id(ctl, "consumer show", pos[0]) != 0)
    {
        return -1;
    }

    snprintf(path, sizeof(path), "/v1/consumers/%s", pos[0]);
    snprintf(what, sizeof(what), "consumer %s", pos[0]);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        return -1;
    }

    if (gwctl_api_count(ctl, pos[0], &keys) != 0) {
        gwctl_http_free(&res);
        return -1;
    }

    if (opts[0].value != NULL) {
        gwctl_api_consumer_json(stdout, res.json, keys);
        fputc('\n', stdout);

    } else {
        gwctl_api_consumer_text(stdout, res.json, keys);
    }

    gwctl_http_free(&res);

    return 0;
}


static int
gwctl_api_consumer_list(gwctl_t *ctl, int argc, char **argv)
{
    int           json;
    char          path[GWCTL_PATH_MAX], cursor[GWCTL_CURSOR_MAX * 3];
    char          when[32];
    size_t        i, limit, wid, wst, wpl, len;
    long long    *keys;
    json_t       *items, *c, *next;
    const char   *s;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "consumer list", argc, argv, opts, NULL, 0,
                   "no arguments but --limit, --cursor and --json") != 0
        || gwctl_limit(ctl, "consumer list", opts[1].value, &limit) != 0
        || (opts[2].value != NULL
            && gwctl_api_cursor(ctl, "consumer list", opts[2].value, cursor,
                                sizeof(cursor)) != 0))
    {
        return -1;
    }

    json = (opts[0].value != NULL);

    snprintf(path, sizeof(path), "/v1/consumers?limit=%zu%s%s", limit,
             opts[2].value ? "&cursor=" : "", opts[2].value ? cursor : "");

    if (gwctl_api_get(ctl, "consumer list", path, &res) != 0) {
        return -1;
    }

    items = json_object_get(res.json, "items");
    next = json_object_get(res.json, "next");

    keys = calloc(json_array_size(items) + 1, sizeof(long long));
    if (keys == NULL) {
        gwctl_http_free(&res);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    wid = sizeof("ID") - 1;
    wst = sizeof("STATUS") - 1;
    wpl = sizeof("PLAN") - 1;

    json_array_foreach(items, i, c) {
        if (gwctl_api_count(ctl, gwctl_api_str(c, "id"), &keys[i]) != 0) {
            free(keys);
            gwctl_http_free(&res);
            return -1;
        }

        len = strlen(gwctl_api_str(c, "id"));
        wid = len > wid ? len : wid;
        len = strlen(gwctl_api_str(c, "status"));
        wst = (len > wst && len <= GW_ID_MAX) ? len : wst;
        len = strlen(gwctl_api_str(c, "plan"));
        wpl = (len > wpl && len <= GW_ID_MAX) ? len : wpl;
    }

    if (json) {
        fputs("{\"consumers\":[", stdout);
    }

    json_array_foreach(items, i, c) {
        if (json) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            gwctl_api_consumer_json(stdout, c, keys[i]);
            continue;
        }

        if (i == 0) {
            printf("%-*s  %-*s  %-*s  %-20s  %4s  %s\n", (int) wid, "ID",
                   (int) wst, "STATUS", (int) wpl, "PLAN", "CREATED",
                   "KEYS", "NAME");
        }

        s = gwctl_api_str(c, "id");
        printf("%-*s  ", (int) wid, s);

        gwctl_api_cell(stdout, gwctl_api_str(c, "status"), wst);
        gwctl_api_cell(stdout, gwctl_api_str(c, "plan"), wpl);

        gwctl_format_time(when, sizeof(when),
                          gwctl_api_time(json_object_get(c, "created_at")));
        printf("%-20s  %4lld  ", when, keys[i]);

        s = gwctl_api_str(c, "name");
        gwctl_print_text(stdout, s, strlen(s));
        fputc('\n', stdout);
    }

    s = json_string_value(next);
    gwctl_print_next(stdout, json, json_array_size(items) ? "\n]" : "]",
                     s != NULL && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "abcdefghijklmnopqrstuvwxyz"
                                            "0123456789-._~") == strlen(s)
                     ? s : NULL);

    free(keys);
    gwctl_http_free(&res);

    return 0;
}


static int
gwctl_api_consumer_status(gwctl_t *ctl, int argc, char **argv,
    const char *status)
{
    int          rc;
    char         path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    json_t      *v;
    const char  *pos[1], *cmd, *done;

    if (strcmp(status, GW_MODEL_ACTIVE) == 0) {
        cmd = "consumer enable";
        done = "enabled";

    } else {
        cmd = "consumer disable";
        done = "disabled";
    }

    if (gwctl_args(ctl, cmd, argc, argv, NULL, pos, 1, "ID") != 0
        || gwctl_id(ctl, cmd, pos[0]) != 0)
    {
        return -1;
    }

    snprintf(path, sizeof(path), "/v1/consumers/%s", pos[0]);
    snprintf(what, sizeof(what), "consumer %s", pos[0]);

    v = json_string(status);
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, "status", v, done, what);
    json_decref(v);

    if (rc != 0) {
        return -1;
    }

    printf("consumer %s %s\n", pos[0], done);

    return 0;
}


static int
gwctl_api_consumer_plan(gwctl_t *ctl, int argc, char **argv)
{
    int           i, npos, rc;
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX], q[64];
    json_t       *v;
    const char   *pos[2];
    gwctl_opt_t   opts[] = {
        { "--none", 1, NULL },
        { NULL, 0, NULL }
    };

    npos = 2;

    for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strncmp(argv[i], "--none", 6) == 0
            && (argv[i][6] == '\0' || argv[i][6] == '='))
        {
            npos = 1;
            break;
        }
    }

    if (gwctl_args(ctl, "consumer plan", argc, argv, opts, pos, npos,
                   "ID PLAN or ID --none") != 0
        || gwctl_id(ctl, "consumer plan", pos[0]) != 0)
    {
        return -1;
    }

    if (npos == 2 && !gw_model_id_valid(pos[1], strlen(pos[1]))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "consumer plan: invalid plan %s (1 to %d bytes of "
                          "A-Z a-z 0-9 . _ -; --none clears the plan)",
                          gwctl_quote(q, sizeof(q), pos[1]), GW_ID_MAX);
    }

    snprintf(path, sizeof(path), "/v1/consumers/%s", pos[0]);
    snprintf(what, sizeof(what), "consumer %s", pos[0]);

    v = (npos == 2) ? json_string(pos[1]) : json_null();
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, "plan", v, NULL, what);
    json_decref(v);

    if (rc != 0) {
        return -1;
    }

    if (npos == 2) {
        printf("consumer %s plan set to %s\n", pos[0], pos[1]);

    } else {
        printf("consumer %s plan cleared\n", pos[0]);
    }

    return 0;
}
