
/*
 * Copyright (C) Tollgate
 *
 * gwctl key create | list | revoke through the admin API.  A new key is
 * made by the service (POST /v1/keys), which answers its secret once;
 * its entity's id is the secret's SHA-256, and it is printed as the
 * Redis command prints its own, then wiped.  A revocation names a key
 * as without --api (a prefix, a hash or 8 of its hex digits, the key)
 * and patches the one match not yet revoked.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gwctl.h"


#define GWCTL_HASH_SHOWN    12


static int gwctl_api_key_create(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_key_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_api_key_revoke(gwctl_t *ctl, int argc, char **argv);
static const char *gwctl_api_key_state(json_t *k, int64_t now);


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
