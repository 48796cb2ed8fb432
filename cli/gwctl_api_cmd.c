
/*
 * Copyright (C) Tollgate
 *
 * gwctl consumer and key commands through the admin API (--api): the
 * same arguments, output and exit codes as the Redis ones
 * (gwctl_consumer.c, gwctl_key.c), on the service's consumer and key
 * entities, which it projects into the gateway's records itself.
 *
 * A change reads the entity, decides as the Redis command does (exists,
 * already in that status), and writes a JSON Merge Patch under If-Match
 * with the version it read: a 412 means someone changed it meanwhile,
 * so it is read and decided again, at most GWCTL_ATTEMPTS times.  A new
 * key is made by the service (POST /v1/keys), which answers its secret
 * once; its entity's id is the secret's SHA-256.  Listings page with the
 * API's own cursors, in id order (key hashes, not creation times).
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"


#define GWCTL_PATH_MAX      1024
#define GWCTL_CURSOR_MAX    256
#define GWCTL_HASH_SHOWN    12


static const char *gwctl_api_str(json_t *o, const char *name);
static void gwctl_api_cell(FILE *f, const char *s, size_t width);
static int gwctl_api_get(gwctl_t *ctl, const char *what, const char *path,
    gwctl_http_t *res);
static int gwctl_api_patch(gwctl_t *ctl, const char *what,
    const char *path, const char *member, json_t *value, const char *same,
    const char *missing);
static int gwctl_api_count(gwctl_t *ctl, const char *id, long long *n);
static int gwctl_api_cursor(gwctl_t *ctl, const char *cmd,
    const char *cursor, char *buf, size_t size);
static int64_t gwctl_api_time(json_t *v);
static void gwctl_api_consumer_json(FILE *f, json_t *c, long long keys);
static void gwctl_api_consumer_text(FILE *f, json_t *c, long long keys);
static int gwctl_api_consumer_add(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_consumer_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_consumer_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_consumer_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_api_consumer_plan(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_key_create(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_key_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_key_revoke(gwctl_t *ctl, int argc, char **argv);
static const char *gwctl_api_key_state(json_t *k, int64_t now);


/* a string member, as text: "" when absent or not a string */

static const char *
gwctl_api_str(json_t *o, const char *name)
{
    const char  *s;

    s = json_string_value(json_object_get(o, name));

    return s != NULL ? s : "";
}


/* RFC 3339 ("2026-12-06T12:00:00.123Z") or seconds; -1 when neither */

static int64_t
gwctl_api_time(json_t *v)
{
    struct tm    tm;
    const char  *s;

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    s = json_string_value(v);
    memset(&tm, 0, sizeof(tm));

    if (s == NULL
        || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm);
}


/* a column of a table, as gwctl_print_cell() prints one */

static void
gwctl_api_cell(FILE *f, const char *s, size_t width)
{
    size_t  len;

    len = strlen(s);

    if (len != 0) {
        gwctl_print_text(f, s, len);

    } else {
        fputc('-', f);
        len = 1;
    }

    for ( /* void */ ; len < width; len++) {
        fputc(' ', f);
    }

    fputs("  ", f);
}


/* GET path: 0 with a JSON object in res, -1 otherwise (404: exit 2) */

static int
gwctl_api_get(gwctl_t *ctl, const char *what, const char *path,
    gwctl_http_t *res)
{
    if (gwctl_api_call(ctl, "GET", path, NULL, NULL, 0, NULL, NULL, res)
        != 0)
    {
        return -1;
    }

    if (res->status == 200 && json_is_object(res->json)) {
        return 0;
    }

    if (res->status == 404) {
        gwctl_http_free(res);
        return gwctl_fail(ctl, GWCTL_STATE, "%s not found", what);
    }

    if (res->status == 200) {
        gwctl_http_free(res);
        return gwctl_fail(ctl, GWCTL_REDIS, "api %s: GET %s: not JSON",
                          ctl->api, path);
    }

    gwctl_api_fail(ctl, what, res);
    gwctl_http_free(res);

    return -1;
}


/*
 * Sets member to value (json null: removes it) in the entity at path
 * by a merge patch under If-Match, the entity read first: missing is
 * the message when it does not exist; when same is not NULL, a member
 * already equal to value fails with "<what> is already <same>".  A 412
 * reads and decides again.  value is borrowed.
 */

static int
gwctl_api_patch(gwctl_t *ctl, const char *what, const char *path,
    const char *member, json_t *value, const char *same,
    const char *missing)
{
    int           attempt, rc;
    json_t       *patch, *v;
    gwctl_http_t  res, put;

    patch = json_pack("{s:O}", member, value);
    if (patch == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = -1;

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_api_get(ctl, missing, path, &res) != 0) {
            goto done;
        }

        v = json_object_get(res.json, member);

        if (same != NULL && v != NULL && json_equal(v, value)) {
            gwctl_http_free(&res);
            gwctl_fail(ctl, GWCTL_STATE, "%s is already %s", what, same);
            goto done;
        }

        if (gwctl_api_json(ctl, "PATCH", path, patch,
                           "application/merge-patch+json",
                           res.etag[0] ? res.etag : "*", NULL, &put)
            != 0)
        {
            gwctl_http_free(&res);
            goto done;
        }

        gwctl_http_free(&res);

        if (put.status == 200 || put.status == 204) {
            gwctl_http_free(&put);
            rc = 0;
            goto done;
        }

        if (put.status != 412) {
            gwctl_api_fail(ctl, what, &put);
            gwctl_http_free(&put);
            goto done;
        }

        gwctl_http_free(&put);
    }

    gwctl_fail(ctl, GWCTL_STATE, "%s: changed concurrently, try again",
               what);

done:

    json_decref(patch);

    return rc;
}


/* the number of keys of consumer id, revoked ones included */

static int
gwctl_api_count(gwctl_t *ctl, const char *id, long long *n)
{
    char          path[GWCTL_PATH_MAX], cursor[GWCTL_CURSOR_MAX * 3];
    json_t       *next;
    gwctl_http_t  res;

    *n = 0;
    cursor[0] = '\0';

    for ( ;; ) {
        snprintf(path, sizeof(path), "/v1/keys?field.consumer=%s&limit=1000"
                 "%s%s", id, cursor[0] ? "&cursor=" : "", cursor);

        if (gwctl_api_get(ctl, "key list", path, &res) != 0) {
            return -1;
        }

        *n += json_array_size(json_object_get(res.json, "items"));
        next = json_object_get(res.json, "next");

        if (!json_is_string(next)
            || gwctl_api_cursor(ctl, "key list", json_string_value(next),
                                cursor, sizeof(cursor)) != 0)
        {
            gwctl_http_free(&res);
            return json_is_string(next) ? -1 : 0;
        }

        gwctl_http_free(&res);
    }
}


/* a cursor, percent-encoded for a query; at most GWCTL_CURSOR_MAX bytes */

static int
gwctl_api_cursor(gwctl_t *ctl, const char *cmd, const char *cursor,
    char *buf, size_t size)
{
    char    q[64];
    size_t  i, n, len;

    static const char  hex[] = "0123456789ABCDEF";

    len = strlen(cursor);

    if (len == 0 || len > GWCTL_CURSOR_MAX || size < len * 3 + 1) {
        return gwctl_fail(ctl, GWCTL_USAGE, "%s: --cursor: expects a cursor "
                          "of 1 to %d bytes, got %s", cmd, GWCTL_CURSOR_MAX,
                          gwctl_quote(q, sizeof(q), cursor));
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-._~", cursor[i]) != NULL)
        {
            buf[n++] = cursor[i];
            continue;
        }

        buf[n++] = '%';
        buf[n++] = hex[(unsigned char) cursor[i] >> 4];
        buf[n++] = hex[(unsigned char) cursor[i] & 0x0f];
    }

    buf[n] = '\0';

    return 0;
}


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


int
gwctl_api_key(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "key: expects create, list or revoke");
    }

    if (strcmp(argv[0], "create") == 0) {
        return gwctl_api_key_create(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_api_key_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "revoke") == 0) {
        return gwctl_api_key_revoke(ctl, argc - 1, argv + 1);
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "key: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


static int
gwctl_api_key_create(gwctl_t *ctl, int argc, char **argv)
{
    int           rc;
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX], q[64];
    json_t       *body, *v;
    int64_t       ttl;
    const char   *pos[1], *secret;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--expires", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "key create", argc, argv, opts, pos, 1,
                   "CONSUMER [--expires SECONDS|30d|12h]") != 0
        || gwctl_id(ctl, "key create", pos[0]) != 0)
    {
        return -1;
    }

    ttl = 0;

    if (opts[0].value != NULL
        && gw_model_ttl_parse(opts[0].value, strlen(opts[0].value), &ttl)
           != 0)
    {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "key create: --expires: expects seconds, or a "
                          "number followed by s, m, h or d, from 1 second "
                          "to 3650d, got %s",
                          gwctl_quote(q, sizeof(q), opts[0].value));
    }

    /* the consumer first: a missing one is exit 2, as without --api */

    snprintf(path, sizeof(path), "/v1/consumers/%s", pos[0]);
    snprintf(what, sizeof(what), "consumer %s", pos[0]);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        return -1;
    }

    gwctl_http_free(&res);

    body = json_pack("{s:s}", "consumer", pos[0]);

    if (body != NULL && ttl != 0) {
        if (json_object_set_new(body, "expires",
                                json_integer((int64_t) time(NULL) + ttl))
            != 0)
        {
            json_decref(body);
            body = NULL;
        }
    }

    if (body == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_json(ctl, "POST", "/v1/keys", body, NULL, NULL, NULL,
                        &res);
    json_decref(body);

    if (rc != 0) {
        return -1;
    }

    rc = -1;
    v = json_object_get(res.json, "secret");
    secret = json_string_value(v);

    if (res.status != 201 && res.status != 200) {
        if (res.status == 409 || res.status == 404) {
            gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", pos[0]);

        } else {
            gwctl_api_fail(ctl, "key create", &res);
        }

    } else if (secret == NULL || !gw_model_key_valid(secret, strlen(secret)))
    {
        gwctl_fail(ctl, GWCTL_REDIS, "key create: the answer holds no key");

    } else if (printf("%s\n", secret) > 0 && fflush(stdout) == 0) {
        rc = 0;

    } else {

        /* nobody saw the key: it must not stay usable */

        snprintf(path, sizeof(path), "/v1/keys/%s",
                 gwctl_api_str(res.json, "id"));
        v = json_string(GW_MODEL_REVOKED);

        if (v != NULL
            && gwctl_api_patch(ctl, "key create", path, "status", v, NULL,
                               "key") == 0)
        {
            gwctl_fail(ctl, GWCTL_REDIS, "key create: a key of consumer %s "
                       "was revoked, as it could not be shown", pos[0]);
        }

        json_decref(v);
    }

    /* the secret is wiped from the answer before it is freed */

    if (res.body != NULL) {
        memset(res.body, 0, res.len);
    }

    gwctl_http_free(&res);

    return rc;
}


/* "active", "revoked", "expired", or "invalid" for an unknown status */

static const char *
gwctl_api_key_state(json_t *k, int64_t now)
{
    int64_t      expires;
    json_t      *v;
    const char  *status;

    status = json_string_value(json_object_get(k, "status"));
    status = (status != NULL) ? status : GW_MODEL_ACTIVE;
    v = json_object_get(k, "expires");
    expires = (v == NULL || json_is_null(v)) ? 0 : gwctl_api_time(v);

    switch (gw_model_key_state(status, strlen(status), expires, now))
    {
    case GW_MODEL_KEY_USABLE:
        return GW_MODEL_ACTIVE;

    case GW_MODEL_KEY_IS_REVOKED:
        return GW_MODEL_REVOKED;

    case GW_MODEL_KEY_IS_EXPIRED:
        return "expired";

    default:
        return "invalid";
    }
}


static int
gwctl_api_key_list(gwctl_t *ctl, int argc, char **argv)
{
    int           json;
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    char          cursor[GWCTL_CURSOR_MAX * 3], created[32], expires[32];
    size_t        i, limit;
    json_t       *items, *k, *v;
    int64_t       now, t;
    const char   *pos[1], *s;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "key list", argc, argv, opts, pos, 1,
                   "CONSUMER [--limit N] [--cursor HASH] [--json]") != 0
        || gwctl_id(ctl, "key list", pos[0]) != 0
        || gwctl_limit(ctl, "key list", opts[1].value, &limit) != 0
        || (opts[2].value != NULL
            && gwctl_api_cursor(ctl, "key list", opts[2].value, cursor,
                                sizeof(cursor)) != 0))
    {
        return -1;
    }

    json = (opts[0].value != NULL);

    snprintf(path, sizeof(path), "/v1/consumers/%s", pos[0]);
    snprintf(what, sizeof(what), "consumer %s", pos[0]);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        return -1;
    }

    gwctl_http_free(&res);

    snprintf(path, sizeof(path), "/v1/keys?field.consumer=%s&limit=%zu%s%s",
             pos[0], limit, opts[2].value ? "&cursor=" : "",
             opts[2].value ? cursor : "");

    if (gwctl_api_get(ctl, "key list", path, &res) != 0) {
        return -1;
    }

    items = json_object_get(res.json, "items");
    now = (int64_t) time(NULL);

    if (json) {
        fputs("{\"keys\":[", stdout);
    }

    json_array_foreach(items, i, k) {
        s = gwctl_api_str(k, "id");
        v = json_object_get(k, "expires");
        t = (v == NULL || json_is_null(v)) ? 0 : gwctl_api_time(v);

        if (json) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            fputs("{\"hash\":", stdout);
            gwctl_print_json(stdout, s, strlen(s));
            s = gwctl_api_str(k, "prefix");
            fputs(",\"prefix\":", stdout);
            gwctl_print_json(stdout, s, strlen(s));
            s = gwctl_api_str(k, "status");
            s = s[0] ? s : GW_MODEL_ACTIVE;
            fputs(",\"status\":", stdout);
            gwctl_print_json(stdout, s, strlen(s));
            printf(",\"state\":\"%s\"", gwctl_api_key_state(k, now));
            printf(",\"created\":%lld,\"expires\":%lld}",
                   (long long) gwctl_api_time(json_object_get(k,
                                                              "created_at")),
                   (long long) t);
            continue;
        }

        if (i == 0) {
            printf("%-*s  %-*s  %-8s  %-20s  %s\n", GWCTL_HASH_SHOWN, "HASH",
                   GW_KEY_PREFIX_LEN, "PREFIX", "STATUS", "CREATED",
                   "EXPIRES");
        }

        gwctl_format_time(created, sizeof(created),
                          gwctl_api_time(json_object_get(k, "created_at")));

        if (t == 0) {
            snprintf(expires, sizeof(expires), "never");

        } else {
            gwctl_format_time(expires, sizeof(expires), t);
        }

        printf("%.*s  ", GWCTL_HASH_SHOWN, s);
        gwctl_api_cell(stdout, gwctl_api_str(k, "prefix"),
                       GW_KEY_PREFIX_LEN);
        printf("%-8s  %-20s  %s\n", gwctl_api_key_state(k, now), created,
               expires);
    }

    s = json_string_value(json_object_get(res.json, "next"));
    gwctl_print_next(stdout, json, json_array_size(items) ? "\n]" : "]",
                     s != NULL && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "abcdefghijklmnopqrstuvwxyz"
                                            "0123456789-._~") == strlen(s)
                     ? s : NULL);

    gwctl_http_free(&res);

    return 0;
}


/*
 * key revoke CONSUMER NAME: NAME as without --api (a key prefix, a hash
 * or 8 of its hex digits at least, the key itself), matched against
 * every key of the consumer, read a page at a time; then the one key
 * not yet revoked gets the status "revoked" under If-Match.
 */

static int
gwctl_api_key_revoke(gwctl_t *ctl, int argc, char **argv)
{
    int           rc, by_hash;
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX], q[64];
    char          name[GW_KEY_HASH_HEX_LEN + 1], hash[GW_KEY_HASH_HEX_LEN + 1];
    char          prefix[GW_KEY_PREFIX_LEN + 1];
    char          cursor[GWCTL_CURSOR_MAX * 3];
    size_t        i, len, plen, matches, live;
    json_t       *k, *v, *next;
    const char   *pos[2], *id, *s;
    gwctl_http_t  res;

    if (gwctl_args(ctl, "key revoke", argc, argv, NULL, pos, 2,
                   "CONSUMER KEY_PREFIX_OR_HASH") != 0
        || gwctl_id(ctl, "key revoke", pos[0]) != 0)
    {
        return -1;
    }

    id = pos[0];
    len = strlen(pos[1]);
    plen = sizeof(GW_KEY_TEXT_PREFIX) - 1;

    if (gw_model_key_valid(pos[1], len)) {
        gw_model_key_hash((const unsigned char *) pos[1], len, name);
        by_hash = 1;

    } else if (len > plen && len <= GW_KEY_PREFIX_LEN
               && memcmp(pos[1], GW_KEY_TEXT_PREFIX, plen) == 0
               && strspn(pos[1] + plen, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "abcdefghijklmnopqrstuvwxyz"
                                        "0123456789-_") == len - plen)
    {
        memcpy(name, pos[1], len + 1);
        by_hash = 0;

    } else if (len >= 8 && len <= GW_KEY_HASH_HEX_LEN
               && strspn(pos[1], "0123456789abcdefABCDEF") == len)
    {
        for (i = 0; i <= len; i++) {
            name[i] = (pos[1][i] >= 'A' && pos[1][i] <= 'F')
                      ? pos[1][i] + 32 : pos[1][i];
        }

        by_hash = 1;

    } else {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "key revoke: expects a key prefix (tg_ and up to "
                          "%d characters), a hash or 8 to %d of its hex "
                          "digits, or the key; got %s",
                          GW_KEY_PREFIX_LEN - (int) plen,
                          GW_KEY_HASH_HEX_LEN,
                          gwctl_quote(q, sizeof(q), pos[1]));
    }

    gwctl_quote(q, sizeof(q), by_hash ? name : pos[1]);
    len = strlen(name);

    snprintf(path, sizeof(path), "/v1/consumers/%s", id);
    snprintf(what, sizeof(what), "consumer %s", id);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        return -1;
    }

    gwctl_http_free(&res);

    matches = 0;
    live = 0;
    cursor[0] = '\0';
    hash[0] = '\0';
    prefix[0] = '\0';

    for ( ;; ) {
        snprintf(path, sizeof(path), "/v1/keys?field.consumer=%s&limit=1000"
                 "%s%s", id, cursor[0] ? "&cursor=" : "", cursor);

        if (gwctl_api_get(ctl, "key revoke", path, &res) != 0) {
            return -1;
        }

        json_array_foreach(json_object_get(res.json, "items"), i, k) {
            s = gwctl_api_str(k, by_hash ? "id" : "prefix");

            if (strlen(s) < len || strncmp(s, name, len) != 0) {
                continue;
            }

            matches++;

            if (strcmp(gwctl_api_str(k, "status"), GW_MODEL_REVOKED) != 0) {
                live++;
                snprintf(hash, sizeof(hash), "%s", gwctl_api_str(k, "id"));
                gwctl_sanitize(prefix, sizeof(prefix),
                               gwctl_api_str(k, "prefix"),
                               strlen(gwctl_api_str(k, "prefix")));
            }
        }

        next = json_object_get(res.json, "next");

        if (!json_is_string(next)) {
            gwctl_http_free(&res);
            break;
        }

        rc = gwctl_api_cursor(ctl, "key revoke", json_string_value(next),
                              cursor, sizeof(cursor));
        gwctl_http_free(&res);

        if (rc != 0) {
            return -1;
        }
    }

    if (matches == 0) {
        return gwctl_fail(ctl, GWCTL_STATE, "consumer %s has no key "
                          "matching %s", id, q);
    }

    if (live == 0) {
        return gwctl_fail(ctl, GWCTL_STATE, "key %s of consumer %s is "
                          "already revoked", q, id);
    }

    if (live > 1) {
        return gwctl_fail(ctl, GWCTL_STATE, "%d keys of consumer %s match "
                          "%s: give more of the hash", (int) live, id, q);
    }

    if (!gw_model_hash_valid(hash, strlen(hash))) {
        return gwctl_fail(ctl, GWCTL_REDIS, "key revoke: a key id that is "
                          "not a hash");
    }

    snprintf(path, sizeof(path), "/v1/keys/%s", hash);
    snprintf(what, sizeof(what), "key %.*s of consumer %s",
             GWCTL_HASH_SHOWN, hash, id);

    v = json_string(GW_MODEL_REVOKED);
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, "status", v, "revoked", what);
    json_decref(v);

    if (rc != 0) {
        return -1;
    }

    printf("key %s (hash %.*s) of consumer %s revoked\n",
           prefix[0] ? prefix : "-", GWCTL_HASH_SHOWN, hash, id);

    return 0;
}
