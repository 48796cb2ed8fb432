
/*
 * Copyright (C) Tollgate
 *
 * gwctl client add | list | show | disable | enable | set-key through
 * the admin API: the client entity /v1/clients/<id>, which the service
 * projects into gw:client:<id> itself.  add is a POST, so that the
 * service makes the secret (under its identity_pepper_file) and answers
 * it once; the others read the entity and patch one member
 * (gwctl_api_patch()).  The output and exit codes are the Redis
 * commands' (gwctl_client.c).  rotate-secret is not offered: the
 * service makes a secret only when it creates a client.
 */


#include <stdlib.h>
#include <string.h>

#include "gwctl.h"


static int gwctl_api_client_add(gwctl_t *ctl, int argc, char **argv);
static json_t *gwctl_api_client_words(const char *list);
static void gwctl_api_client_join(FILE *f, json_t *c, const char *name,
    int json);
static void gwctl_api_client_json(FILE *f, json_t *c);
static int gwctl_api_client_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_client_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_client_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_api_client_set_key(gwctl_t *ctl, int argc, char **argv);


/* the members shown, in gwctl_client.c's order: lists are joined */
static const char  *gwctl_api_client_fields[] = {
    "name", "status", "auth", "grants", "scopes", "default_scopes",
    "audiences", "default_audience", NULL
};


int
gwctl_api_client(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "client: expects add, list, show, disable, "
                          "enable, rotate-secret or set-key");
    }

    if (strcmp(argv[0], "add") == 0) {
        return gwctl_api_client_add(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_api_client_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "show") == 0) {
        return gwctl_api_client_show(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "disable") == 0) {
        return gwctl_api_client_status(ctl, argc - 1, argv + 1,
                                       GW_MODEL_DISABLED);
    }

    if (strcmp(argv[0], "enable") == 0) {
        return gwctl_api_client_status(ctl, argc - 1, argv + 1,
                                       GW_MODEL_ACTIVE);
    }

    if (strcmp(argv[0], "set-key") == 0) {
        return gwctl_api_client_set_key(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "rotate-secret") == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "client rotate-secret: the admin API makes a "
                          "secret only when it creates a client: run it "
                          "without --api");
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "client: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


/*
 * add: the entity must not exist (read first, as the Redis command's
 * EXISTS: exit 2), then POST /v1/clients; a 201's "secret" is printed
 * once.
 */

static int
gwctl_api_client_add(gwctl_t *ctl, int argc, char **argv)
{
    int                   rc;
    char                  path[GWCTL_PATH_MAX];
    json_t               *body, *v;
    const char           *secret;
    gwctl_http_t          res;
    gwctl_client_spec_t   cs;

    if (gwctl_client_spec(ctl, argc, argv, &cs) != 0) {
        return -1;
    }

    snprintf(path, sizeof(path), "/v1/clients/%s", cs.id);

    if (gwctl_api_call(ctl, "GET", path, NULL, NULL, 0, NULL, NULL, &res)
        != 0)
    {
        return -1;
    }

    if (res.status == 200) {
        gwctl_http_free(&res);
        return gwctl_fail(ctl, GWCTL_STATE, "client %s already exists",
                          cs.id);
    }

    if (res.status != 404) {
        gwctl_api_fail(ctl, "client add", &res);
        gwctl_http_free(&res);
        return -1;
    }

    gwctl_http_free(&res);

    body = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", cs.id, "name", cs.name, "status", GW_MODEL_ACTIVE,
                     "auth", gwctl_api_client_words(cs.auth),
                     "grants", gwctl_api_client_words(cs.grants),
                     "scopes", gwctl_api_client_words(cs.scopes),
                     "default_scopes", gwctl_api_client_words(cs.dscopes),
                     "audiences", gwctl_api_client_words(cs.auds),
                     "tags", json_array());

    if (body == NULL
        || (cs.daud[0] != '\0'
            && json_object_set_new(body, "default_audience",
                                   json_string(cs.daud)) != 0))
    {
        json_decref(body);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_json(ctl, "POST", "/v1/clients", body, NULL, NULL, NULL,
                        &res);
    json_decref(body);

    if (rc != 0) {
        return -1;
    }

    if (res.status != 201) {
        gwctl_api_fail(ctl, "client add", &res);
        gwctl_http_free(&res);
        return -1;
    }

    printf("client_id: %s\n", cs.id);

    v = json_object_get(res.json, "secret");
    secret = json_string_value(v);

    if (secret != NULL) {
        printf("client_secret: %s\n", secret);
        fprintf(stderr, "gwctl: the secret is shown once: store it now\n");
    }

    gwctl_http_free(&res);

    return 0;
}


/* a space-separated list as a JSON array of strings (a new reference) */

static json_t *
gwctl_api_client_words(const char *list)
{
    size_t       len;
    json_t      *a;
    const char  *w;

    a = json_array();

    for (w = list; a != NULL && *w != '\0'; w += len) {
        w += strspn(w, " ");
        len = strcspn(w, " ");

        if (len != 0
            && json_array_append_new(a, json_stringn(w, len)) != 0)
        {
            json_decref(a);
            return NULL;
        }
    }

    return a;
}


/*
 * A member as the Redis record holds it: a list joined by spaces, a
 * string as it is; absent or empty: "-" (text), "" (json, since the
 * record has every field).
 */

static void
gwctl_api_client_join(FILE *f, json_t *c, const char *name, int json)
{
    char         *buf;
    size_t        i, n;
    json_t       *v, *w;
    const char   *s;

    v = json_object_get(c, name);

    if (strcmp(name, "status") == 0 && v == NULL) {
        s = GW_MODEL_ACTIVE;
        n = strlen(s);
        buf = NULL;

    } else if (json_is_array(v)) {
        n = 0;

        json_array_foreach(v, i, w) {
            n += json_string_length(w) + 1;
        }

        buf = malloc(n + 1);
        if (buf == NULL) {
            n = 0;
        }

        n = 0;

        json_array_foreach(v, i, w) {
            if (buf == NULL || !json_is_string(w)) {
                continue;
            }

            if (n != 0) {
                buf[n++] = ' ';
            }

            memcpy(buf + n, json_string_value(w), json_string_length(w));
            n += json_string_length(w);
        }

        s = buf;

    } else {
        buf = NULL;
        s = json_string_value(v);
        n = (s != NULL) ? json_string_length(v) : 0;
    }

    if (json) {
        gwctl_print_json(f, s != NULL ? s : "", n);

    } else if (n != 0) {
        gwctl_print_text(f, s, n);

    } else {
        fputs("-", f);
    }

    free(buf);
}


/* a client entity as client show --json prints a record */

static void
gwctl_api_client_json(FILE *f, json_t *c)
{
    char         *jwk;
    size_t        i;
    int64_t       n;
    const char   *s;

    s = gwctl_api_str(c, "id");
    fputs("{\"id\":", f);
    gwctl_print_json(f, s, strlen(s));

    for (i = 0; gwctl_api_client_fields[i] != NULL; i++) {
        fprintf(f, ",\"%s\":", gwctl_api_client_fields[i]);
        gwctl_api_client_join(f, c, gwctl_api_client_fields[i], 1);
    }

    s = gwctl_api_str(c, "secret_hash");
    fprintf(f, ",\"secret\":%s", s[0] != '\0' ? "true" : "false");

    jwk = json_is_object(json_object_get(c, "jwk"))
          ? json_dumps(json_object_get(c, "jwk"), JSON_COMPACT) : NULL;

    if (jwk != NULL) {
        fputs(",\"jwk\":", f);
        gwctl_print_json(f, jwk, strlen(jwk));
        free(jwk);
    }

    n = gwctl_api_time(json_object_get(c, "created_at"));

    if (n >= 0) {
        fprintf(f, ",\"created\":%lld", (long long) n);
    }

    n = gwctl_api_time(json_object_get(c, "updated_at"));

    if (n >= 0) {
        fprintf(f, ",\"updated\":%lld", (long long) n);
    }

    fputc('}', f);
}


static int
gwctl_api_client_show(gwctl_t *ctl, int argc, char **argv)
{
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX], when[32];
    char         *jwk;
    size_t        i;
    int64_t       n;
    const char   *pos[1], *s;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "client show", argc, argv, opts, pos, 1,
                   "ID [--json]") != 0
        || gwctl_id(ctl, "client show", pos[0]) != 0)
    {
        return -1;
    }

    snprintf(path, sizeof(path), "/v1/clients/%s", pos[0]);
    snprintf(what, sizeof(what), "client %s", pos[0]);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        return -1;
    }

    if (opts[0].value != NULL) {
        gwctl_api_client_json(stdout, res.json);
        fputc('\n', stdout);
        gwctl_http_free(&res);
        return 0;
    }

    printf("%-17s %s\n", "id", pos[0]);

    for (i = 0; gwctl_api_client_fields[i] != NULL; i++) {
        printf("%-17s ", gwctl_api_client_fields[i]);
        gwctl_api_client_join(stdout, res.json, gwctl_api_client_fields[i],
                              0);
        fputc('\n', stdout);
    }

    s = gwctl_api_str(res.json, "secret_hash");
    printf("%-17s %s\n", "secret", s[0] != '\0' ? "set" : "-");

    jwk = json_is_object(json_object_get(res.json, "jwk"))
          ? json_dumps(json_object_get(res.json, "jwk"), JSON_COMPACT)
          : NULL;

    printf("%-17s ", "jwk");

    if (jwk != NULL) {
        gwctl_print_text(stdout, jwk, strlen(jwk));
        free(jwk);

    } else {
        fputs("-", stdout);
    }

    fputc('\n', stdout);

    n = gwctl_api_time(json_object_get(res.json, "created_at"));

    if (n >= 0) {
        gwctl_format_time(when, sizeof(when), n);
        printf("%-17s %s\n", "created", when);
    }

    gwctl_http_free(&res);

    return 0;
}


/* one page of clients, in id order, as the Redis command prints it */

static int
gwctl_api_client_list(gwctl_t *ctl, int argc, char **argv)
{
    int           json;
    char          path[GWCTL_PATH_MAX], cursor[GWCTL_CURSOR_MAX * 3];
    size_t        i, limit;
    json_t       *items, *c;
    const char   *s;
    gwctl_http_t  res;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "client list", argc, argv, opts, NULL, 0,
                   "no arguments but --limit, --cursor and --json") != 0
        || gwctl_limit(ctl, "client list", opts[1].value, &limit) != 0
        || (opts[2].value != NULL
            && gwctl_api_cursor(ctl, "client list", opts[2].value, cursor,
                                sizeof(cursor)) != 0))
    {
        return -1;
    }

    json = (opts[0].value != NULL);

    snprintf(path, sizeof(path), "/v1/clients?limit=%zu%s%s", limit,
             opts[2].value ? "&cursor=" : "", opts[2].value ? cursor : "");

    if (gwctl_api_get(ctl, "client list", path, &res) != 0) {
        return -1;
    }

    items = json_object_get(res.json, "items");

    if (json) {
        fputs("{\"clients\":[", stdout);
    }

    json_array_foreach(items, i, c) {
        if (json) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            gwctl_api_client_json(stdout, c);
            continue;
        }

        if (i == 0) {
            printf("%-24s  %-8s  %s\n", "ID", "STATUS", "AUTH");
        }

        s = gwctl_api_str(c, "id");
        printf("%-24s  ", s);
        gwctl_api_cell(stdout, json_object_get(c, "status") != NULL
                               ? gwctl_api_str(c, "status")
                               : GW_MODEL_ACTIVE, 8);
        gwctl_api_client_join(stdout, c, "auth", 0);
        fputc('\n', stdout);
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


static int
gwctl_api_client_status(gwctl_t *ctl, int argc, char **argv,
    const char *status)
{
    int          rc;
    char         path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    json_t      *v;
    const char  *pos[1], *cmd, *done;

    if (strcmp(status, GW_MODEL_ACTIVE) == 0) {
        cmd = "client enable";
        done = "enabled";

    } else {
        cmd = "client disable";
        done = "disabled";
    }

    if (gwctl_args(ctl, cmd, argc, argv, NULL, pos, 1, "ID") != 0
        || gwctl_id(ctl, cmd, pos[0]) != 0)
    {
        return -1;
    }

    snprintf(path, sizeof(path), "/v1/clients/%s", pos[0]);
    snprintf(what, sizeof(what), "client %s", pos[0]);

    v = json_string(status);
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, "status", v, done, what);
    json_decref(v);

    if (rc != 0) {
        return -1;
    }

    printf("client %s %s\n", pos[0], done);

    return 0;
}


/*
 * set-key ID FILE: the checked JWK, and private_key_jwt added to auth,
 * by one merge patch under If-Match with the version read (412: exit 2,
 * changed concurrently).
 */

static int
gwctl_api_client_set_key(gwctl_t *ctl, int argc, char **argv)
{
    int           rc, found;
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX], *text;
    size_t        i;
    json_t       *jwk, *auth, *w, *patch;
    const char   *pos[2];
    gwctl_http_t  res, put;

    if (gwctl_args(ctl, "client set-key", argc, argv, NULL, pos, 2,
                   "ID FILE") != 0
        || gwctl_id(ctl, "client set-key", pos[0]) != 0
        || gwctl_client_jwk(ctl, pos[1], &text) != 0)
    {
        return -1;
    }

    jwk = json_loads(text, 0, NULL);
    free(text);

    if (jwk == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    snprintf(path, sizeof(path), "/v1/clients/%s", pos[0]);
    snprintf(what, sizeof(what), "client %s", pos[0]);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        json_decref(jwk);
        return -1;
    }

    auth = json_array();
    found = 0;

    json_array_foreach(json_object_get(res.json, "auth"), i, w) {
        found |= (strcmp(json_string_value(w) ? json_string_value(w) : "",
                         "private_key_jwt") == 0);

        if (auth != NULL && json_array_append(auth, w) != 0) {
            json_decref(auth);
            auth = NULL;
        }
    }

    if (auth != NULL && !found
        && json_array_append_new(auth, json_string("private_key_jwt")) != 0)
    {
        json_decref(auth);
        auth = NULL;
    }

    patch = json_pack("{s:o*, s:o}", "auth", auth, "jwk", jwk);

    if (auth == NULL || patch == NULL) {
        json_decref(patch);
        gwctl_http_free(&res);
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_json(ctl, "PATCH", path, patch,
                        "application/merge-patch+json",
                        res.etag[0] ? res.etag : "*", NULL, &put);
    json_decref(patch);
    gwctl_http_free(&res);

    if (rc != 0) {
        return -1;
    }

    if (put.status == 412) {
        gwctl_fail(ctl, GWCTL_STATE, "%s: changed concurrently, try again",
                   what);
        rc = -1;

    } else if (put.status != 200) {
        gwctl_api_fail(ctl, what, &put);
        rc = -1;

    } else {
        printf("client %s key set\n", pos[0]);
    }

    gwctl_http_free(&put);

    return rc;
}
