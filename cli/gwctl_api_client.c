
/*
 * Copyright (C) Tollgate
 *
 * The clients of gwctl's admin API store (gwctl_client.c parses and
 * prints): the client entity /v1/clients/<id>, which the service
 * projects into gw:client:<id> itself.  add is a POST, so that the
 * service makes the secret (under its identity_pepper_file) and answers
 * it once; the others read the entity and patch one member
 * (gwctl_api_patch()).  An entity is read into the record the Redis
 * store reads, its lists joined by spaces.  rotate-secret is not
 * offered: the service makes a secret only when it creates a client.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gwctl.h"


static int gwctl_api_client_rotate(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_client_add(gwctl_t *ctl, const gwctl_client_spec_t *cs,
    char *out, size_t size);
static json_t *gwctl_api_client_words(const char *list);
static char *gwctl_api_client_join(json_t *c, const char *name);
static int gwctl_api_client_read(gwctl_t *ctl, const char *what,
    const char *path, int one, gwctl_page_t *page);
static int gwctl_api_client_get(gwctl_t *ctl, const char *id,
    gwctl_page_t *page);
static int gwctl_api_client_list(gwctl_t *ctl, const char *cursor,
    size_t limit, gwctl_page_t *page);
static int gwctl_api_client_status(gwctl_t *ctl, const char *id,
    const char *status, const char *done);
static int gwctl_api_client_set_key(gwctl_t *ctl, const char *id,
    const char *text);


const gwctl_client_ops_t  gwctl_api_client_ops = {
    gwctl_api_client_add,
    gwctl_api_client_get,
    gwctl_api_client_list,
    gwctl_api_client_status,
    gwctl_api_client_set_key,
    gwctl_api_client_rotate
};


static int
gwctl_api_client_rotate(gwctl_t *ctl, int argc, char **argv)
{
    return gwctl_fail(ctl, GWCTL_USAGE,
                      "client rotate-secret: the admin API makes a "
                      "secret only when it creates a client: run it "
                      "without --api");
}


/*
 * add: the entity must not exist (read first, as the Redis command's
 * EXISTS: exit 2), then POST /v1/clients; a 201's "secret" is copied
 * into out.
 */

static int
gwctl_api_client_add(gwctl_t *ctl, const gwctl_client_spec_t *cs,
    char *out, size_t size)
{
    int            rc;
    char           path[GWCTL_PATH_MAX];
    json_t        *body;
    const char    *secret;
    gwctl_http_t   res;

    snprintf(path, sizeof(path), "/v1/clients/%s", cs->id);

    if (gwctl_api_call(ctl, "GET", path, NULL, NULL, 0, NULL, NULL, &res)
        != 0)
    {
        return -1;
    }

    if (res.status == 200) {
        gwctl_http_free(&res);
        return gwctl_fail(ctl, GWCTL_STATE, "client %s already exists",
                          cs->id);
    }

    if (res.status != 404) {
        gwctl_api_fail(ctl, "client add", &res);
        gwctl_http_free(&res);
        return -1;
    }

    gwctl_http_free(&res);

    body = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", cs->id, "name", cs->name, "status", GW_MODEL_ACTIVE,
                     "auth", gwctl_api_client_words(cs->auth),
                     "grants", gwctl_api_client_words(cs->grants),
                     "scopes", gwctl_api_client_words(cs->scopes),
                     "default_scopes", gwctl_api_client_words(cs->dscopes),
                     "audiences", gwctl_api_client_words(cs->auds),
                     "tags", json_array());

    if (body == NULL
        || (cs->daud[0] != '\0'
            && json_object_set_new(body, "default_audience",
                                   json_string(cs->daud)) != 0))
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

    secret = json_string_value(json_object_get(res.json, "secret"));

    if (secret != NULL) {
        snprintf(out, size, "%s", secret);
    }

    /* the secret is wiped from the answer before it is freed */

    if (res.body != NULL) {
        OPENSSL_cleanse(res.body, res.len);
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
 * A member as the Redis record holds it, malloc'd: a list joined by
 * spaces, a string as it is, "" when absent or neither; a missing status
 * is "active".  NULL: out of memory.
 */

static char *
gwctl_api_client_join(json_t *c, const char *name)
{
    char         *buf;
    size_t        i, n;
    json_t       *v, *w;
    const char   *s;

    v = json_object_get(c, name);

    if (strcmp(name, "status") == 0 && v == NULL) {
        return strdup(GW_MODEL_ACTIVE);
    }

    if (!json_is_array(v)) {
        s = json_string_value(v);
        n = (s != NULL) ? json_string_length(v) : 0;

        buf = malloc(n + 1);
        if (buf != NULL) {
            memcpy(buf, s != NULL ? s : "", n);
            buf[n] = '\0';
        }

        return buf;
    }

    n = 0;

    json_array_foreach(v, i, w) {
        n += json_string_length(w) + 1;
    }

    buf = malloc(n + 1);
    if (buf == NULL) {
        return NULL;
    }

    n = 0;

    json_array_foreach(v, i, w) {
        if (!json_is_string(w)) {
            continue;
        }

        if (n != 0) {
            buf[n++] = ' ';
        }

        memcpy(buf + n, json_string_value(w), json_string_length(w));
        n += json_string_length(w);
    }

    buf[n] = '\0';

    return buf;
}


/*
 * Reads the clients at path (what for the messages) into page, as
 * records: the members joined into buffers of the page.
 */

static int
gwctl_api_client_read(gwctl_t *ctl, const char *what, const char *path,
    int one, gwctl_page_t *page)
{
    char                *jwk;
    size_t               i, f;
    json_t              *items, *e;
    gwctl_client_rec_t  *c;

    items = gwctl_api_items(ctl, what, path, one, page,
                            sizeof(gwctl_client_rec_t));
    if (items == NULL) {
        return -1;
    }

    json_array_foreach(items, i, e) {
        c = (gwctl_client_rec_t *) page->items + page->n++;
        c->id = gwctl_api_str(e, "id");

        for (f = 0; f < GWCTL_CLIENT_FIELDS; f++) {
            c->field[f] = gwctl_page_buf(ctl, page,
                              gwctl_api_client_join(e, gwctl_client_fields[f]));
            if (c->field[f] == NULL) {
                goto failed;
            }
        }

        c->secret = (gwctl_api_str(e, "secret_hash")[0] != '\0');

        if (json_is_object(json_object_get(e, "jwk"))) {
            jwk = json_dumps(json_object_get(e, "jwk"), JSON_COMPACT);

            c->jwk = gwctl_page_buf(ctl, page, jwk);
            if (c->jwk == NULL) {
                goto failed;
            }
        }

        c->created = gwctl_api_time(json_object_get(e, "created_at"));
        c->created_set = (c->created >= 0);
        c->updated = gwctl_api_time(json_object_get(e, "updated_at"));
        c->updated_set = (c->updated >= 0);
    }

    json_decref(items);

    return 0;

failed:

    json_decref(items);
    gwctl_page_free(page);

    return -1;
}


static int
gwctl_api_client_get(gwctl_t *ctl, const char *id, gwctl_page_t *page)
{
    char  path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];

    snprintf(path, sizeof(path), "/v1/clients/%s", id);
    snprintf(what, sizeof(what), "client %s", id);

    return gwctl_api_client_read(ctl, what, path, 1, page);
}


/* one page of clients, in id order, by the API's own cursor */

static int
gwctl_api_client_list(gwctl_t *ctl, const char *cursor, size_t limit,
    gwctl_page_t *page)
{
    char  path[GWCTL_PATH_MAX];

    if (gwctl_api_query(ctl, "client list", "/v1/clients?", limit, cursor,
                        path, sizeof(path)) != 0)
    {
        return -1;
    }

    return gwctl_api_client_read(ctl, "client list", path, 0, page);
}


static int
gwctl_api_client_status(gwctl_t *ctl, const char *id, const char *status,
    const char *done)
{
    int      rc;
    char     path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    json_t  *v;

    snprintf(path, sizeof(path), "/v1/clients/%s", id);
    snprintf(what, sizeof(what), "client %s", id);

    v = json_string(status);
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, "status", v, done, what);
    json_decref(v);

    return rc;
}


/*
 * set-key: the checked JWK, and private_key_jwt added to auth,
 * by one merge patch under If-Match with the version read (412: exit 2,
 * changed concurrently).
 */

static int
gwctl_api_client_set_key(gwctl_t *ctl, const char *id, const char *text)
{
    int           rc, found;
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    size_t        i;
    json_t       *jwk, *auth, *w, *patch;
    gwctl_http_t  res, put;

    jwk = json_loads(text, 0, NULL);

    if (jwk == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    snprintf(path, sizeof(path), "/v1/clients/%s", id);
    snprintf(what, sizeof(what), "client %s", id);

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

    }

    gwctl_http_free(&put);

    return rc;
}
