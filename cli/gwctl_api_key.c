
/*
 * Copyright (C) Tollgate
 *
 * The keys of gwctl's admin API store (gwctl_key.c parses and prints).
 * A new key is made by the service (POST /v1/keys), which answers its
 * secret once; its entity's id is the secret's SHA-256.  A key is
 * revoked by patching its status under If-Match.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gwctl.h"


static int gwctl_api_key_consumer(gwctl_t *ctl, const char *id);
static int gwctl_api_key_create(gwctl_t *ctl, const char *id, int64_t ttl,
    gwctl_key_new_t *k);
static int gwctl_api_key_withdraw(gwctl_t *ctl, gwctl_key_new_t *k);
static int gwctl_api_key_list(gwctl_t *ctl, const char *cmd,
    const char *id, const char *cursor, size_t limit, gwctl_page_t *page);
static int gwctl_api_key_revoke(gwctl_t *ctl, const char *id,
    const char *hash);


const gwctl_key_ops_t  gwctl_api_key_ops = {
    gwctl_api_key_create,
    gwctl_api_key_withdraw,
    gwctl_api_key_list,
    gwctl_api_key_revoke
};


/* the consumer id must exist: a missing one is exit 2, as in Redis */

static int
gwctl_api_key_consumer(gwctl_t *ctl, const char *id)
{
    char          path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    gwctl_http_t  res;

    snprintf(path, sizeof(path), "/v1/consumers/%s", id);
    snprintf(what, sizeof(what), "consumer %s", id);

    if (gwctl_api_get(ctl, what, path, &res) != 0) {
        return -1;
    }

    gwctl_http_free(&res);

    return 0;
}


static int
gwctl_api_key_create(gwctl_t *ctl, const char *id, int64_t ttl,
    gwctl_key_new_t *k)
{
    int           rc;
    json_t       *body;
    const char   *secret;
    gwctl_http_t  res;

    if (gwctl_api_key_consumer(ctl, id) != 0) {
        return -1;
    }

    body = json_pack("{s:s}", "consumer", id);

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
    secret = json_string_value(json_object_get(res.json, "secret"));

    if (res.status != 201 && res.status != 200) {
        if (res.status == 409 || res.status == 404) {
            gwctl_fail(ctl, GWCTL_STATE, "consumer %s not found", id);

        } else {
            gwctl_api_fail(ctl, "key create", &res);
        }

    } else if (secret == NULL || !gw_model_key_valid(secret, strlen(secret)))
    {
        gwctl_fail(ctl, GWCTL_REDIS, "key create: the answer holds no key");

    } else {
        memcpy(k->key, secret, GW_KEY_LEN + 1);
        snprintf(k->hash, sizeof(k->hash), "%s",
                 gwctl_api_str(res.json, "id"));
        rc = 0;
    }

    /* the secret is wiped from the answer before it is freed */

    if (res.body != NULL) {
        OPENSSL_cleanse(res.body, res.len);
    }

    if (secret != NULL) {
        OPENSSL_cleanse((void *) secret, strlen(secret));
    }

    gwctl_http_free(&res);

    return rc;
}


/* revokes the key just made, that could not be printed; returns -1 */

static int
gwctl_api_key_withdraw(gwctl_t *ctl, gwctl_key_new_t *k)
{
    char     path[GWCTL_PATH_MAX];
    json_t  *v;

    snprintf(path, sizeof(path), "/v1/keys/%s", k->hash);
    v = json_string(GW_MODEL_REVOKED);

    if (v != NULL
        && gwctl_api_patch(ctl, "key create", path, "status", v, NULL,
                           "key") == 0)
    {
        gwctl_fail(ctl, GWCTL_REDIS, "key create: a key of consumer %s "
                   "was revoked, as it could not be shown", k->id);
    }

    json_decref(v);

    return -1;
}


/* one page of the keys of consumer id, by the API's own cursor */

static int
gwctl_api_key_list(gwctl_t *ctl, const char *cmd, const char *id,
    const char *cursor, size_t limit, gwctl_page_t *page)
{
    char              path[GWCTL_PATH_MAX], base[GWCTL_PATH_MAX];
    size_t            i;
    json_t           *items, *e, *v;
    int64_t           now;
    const char       *s;
    gwctl_key_rec_t  *k;

    snprintf(base, sizeof(base), "/v1/keys?field.consumer=%s&", id);

    if (gwctl_api_query(ctl, cmd, base, limit, cursor, path, sizeof(path))
        != 0
        || gwctl_api_key_consumer(ctl, id) != 0)
    {
        return -1;
    }

    items = gwctl_api_items(ctl, cmd, path, 0, page,
                            sizeof(gwctl_key_rec_t));
    if (items == NULL) {
        return -1;
    }

    now = (int64_t) time(NULL);

    json_array_foreach(items, i, e) {
        k = (gwctl_key_rec_t *) page->items + page->n++;
        k->hash = gwctl_api_str(e, "id");
        k->prefix = gwctl_api_str(e, "prefix");
        s = gwctl_api_str(e, "status");
        k->status = s[0] ? s : GW_MODEL_ACTIVE;
        k->created = gwctl_api_time(json_object_get(e, "created_at"));
        v = json_object_get(e, "expires");
        k->expires = (v == NULL || json_is_null(v)) ? 0 : gwctl_api_time(v);

        /* a status that is not a string is taken as "active" */

        s = json_string_value(json_object_get(e, "status"));
        s = (s != NULL) ? s : GW_MODEL_ACTIVE;
        k->state = gwctl_key_state(gw_model_key_state(s, strlen(s),
                                                      k->expires, now));
        k->created_set = 1;
        k->expires_set = 1;
    }

    json_decref(items);

    return 0;
}


/* patches the status of the key hash of consumer id to "revoked" */

static int
gwctl_api_key_revoke(gwctl_t *ctl, const char *id, const char *hash)
{
    int      rc;
    char     path[GWCTL_PATH_MAX], what[GWCTL_PATH_MAX];
    json_t  *v;

    snprintf(path, sizeof(path), "/v1/keys/%s", hash);
    snprintf(what, sizeof(what), "key %.*s of consumer %s",
             GWCTL_HASH_SHOWN, hash, id);

    v = json_string(GW_MODEL_REVOKED);
    if (v == NULL) {
        return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
    }

    rc = gwctl_api_patch(ctl, what, path, "status", v, "revoked", what);
    json_decref(v);

    return rc;
}
