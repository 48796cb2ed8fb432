
/*
 * Copyright (C) Tollgate
 *
 * gwctl key create | list | revoke: the arguments and the output, the
 * same with either store (ctl->store: gwctl_key_redis.c or
 * gwctl_api_key.c).
 *
 * A new key is printed once and never stored: the store keeps its
 * SHA-256.  It is printed only once the store holds it, then wiped; a
 * key that could not be printed is revoked at once (key_withdraw).
 *
 * Revocation names a key by what listings show: its prefix ("tg_" and up
 * to five symbols), its hash or a prefix of the hash (8 hex digits at
 * least), or the whole key.  The consumer's keys are read a page at a
 * time and matched here; a name that matches several keys picks the one
 * not yet revoked, or fails.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gwctl.h"


#define GWCTL_HASH_MIN      8       /* hex digits to name a key by hash */
#define GWCTL_SHOWN_MAX     64      /* bytes of a prefix in a message */


static int gwctl_key_create(gwctl_t *ctl, int argc, char **argv);
static int gwctl_key_list(gwctl_t *ctl, int argc, char **argv);
static void gwctl_key_json(FILE *f, const gwctl_key_rec_t *k);
static void gwctl_key_row(FILE *f, const gwctl_key_rec_t *k);
static int gwctl_key_revoke(gwctl_t *ctl, int argc, char **argv);
static int gwctl_key_name(gwctl_t *ctl, const char *arg, char *name,
    int *by_hash);


/* a key's state, as key list shows it */

const char *
gwctl_key_state(gw_model_key_state_e state)
{
    switch (state) {

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


int
gwctl_key(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "key: expects create, list or revoke");
    }

    if (strcmp(argv[0], "create") == 0) {
        return gwctl_key_create(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_key_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "revoke") == 0) {
        return gwctl_key_revoke(ctl, argc - 1, argv + 1);
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "key: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


static int
gwctl_key_create(gwctl_t *ctl, int argc, char **argv)
{
    int              rc;
    char             q[64];
    int64_t          ttl;
    const char      *pos[1];
    gwctl_opt_t      opts[] = {
        { "--expires", 0, NULL },
        { NULL, 0, NULL }
    };
    gwctl_key_new_t  k;

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

    memset(&k, 0, sizeof(gwctl_key_new_t));
    k.id = pos[0];

    rc = ctl->store->key->create(ctl, pos[0], ttl, &k);

    if (rc == 0 && (printf("%s\n", k.key) <= 0 || fflush(stdout) != 0)) {

        /* nobody saw the key: it must not stay usable */

        ctl->store->key->withdraw(ctl, &k);
        rc = -1;
    }

    OPENSSL_cleanse(k.key, sizeof(k.key));

    return rc;
}


/* a key as one JSON object, without a line end */

static void
gwctl_key_json(FILE *f, const gwctl_key_rec_t *k)
{
    fputs("{\"hash\":", f);
    gwctl_print_json(f, k->hash, strlen(k->hash));

    fputs(",\"prefix\":", f);

    if (k->prefix != NULL) {
        gwctl_print_json(f, k->prefix, strlen(k->prefix));

    } else {
        fputs("null", f);
    }

    fputs(",\"status\":", f);

    if (k->status != NULL) {
        gwctl_print_json(f, k->status, strlen(k->status));

    } else {
        fputs("null", f);
    }

    fprintf(f, ",\"state\":\"%s\"", k->state);

    if (k->created_set) {
        fprintf(f, ",\"created\":%lld", (long long) k->created);

    } else {
        fputs(",\"created\":null", f);
    }

    if (k->expires_set) {
        fprintf(f, ",\"expires\":%lld}", (long long) k->expires);

    } else {
        fputs(",\"expires\":null}", f);
    }
}


/* a row of key list's table */

static void
gwctl_key_row(FILE *f, const gwctl_key_rec_t *k)
{
    char  created[32], expires[32];

    gwctl_format_time(created, sizeof(created),
                      k->created_set ? k->created : -1);

    if (!k->expires_set) {
        snprintf(expires, sizeof(expires), "?");

    } else if (k->expires == 0) {
        snprintf(expires, sizeof(expires), "never");

    } else {
        gwctl_format_time(expires, sizeof(expires), k->expires);
    }

    fprintf(f, "%.*s  ", GWCTL_HASH_SHOWN, k->hash);
    gwctl_print_cell(f, k->prefix, GW_KEY_PREFIX_LEN);
    fprintf(f, "%-8s  %-20s  %s\n", k->state, created, expires);
}


static int
gwctl_key_list(gwctl_t *ctl, int argc, char **argv)
{
    int               json;
    size_t            i, limit;
    const char       *pos[1];
    gwctl_opt_t       opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };
    gwctl_page_t      page;
    gwctl_key_rec_t  *k;

    if (gwctl_args(ctl, "key list", argc, argv, opts, pos, 1,
                   "CONSUMER [--limit N] [--cursor HASH] [--json]") != 0
        || gwctl_id(ctl, "key list", pos[0]) != 0
        || gwctl_limit(ctl, "key list", opts[1].value, &limit) != 0
        || ctl->store->key->list(ctl, "key list", pos[0], opts[2].value,
                                limit, &page) != 0)
    {
        return -1;
    }

    json = (opts[0].value != NULL);

    if (json) {
        fputs("{\"keys\":[", stdout);
    }

    k = page.items;

    for (i = 0; i < page.n; i++) {
        if (json) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            gwctl_key_json(stdout, &k[i]);
            continue;
        }

        if (i == 0) {
            printf("%-*s  %-*s  %-8s  %-20s  %s\n", GWCTL_HASH_SHOWN, "HASH",
                   GW_KEY_PREFIX_LEN, "PREFIX", "STATUS", "CREATED",
                   "EXPIRES");
        }

        gwctl_key_row(stdout, &k[i]);
    }

    gwctl_print_next(stdout, json, page.n ? "\n]" : "]", page.next);

    gwctl_page_free(&page);

    return 0;
}


/*
 * What a revocation names, as "tg_" and up to five symbols (a prefix of the
 * stored prefix), the whole key (hashed here), or 8 to 64 hex digits (a
 * prefix of the hash, either case).  Fills name (the lower-case hash or
 * hash prefix, or the key prefix) and *by_hash.
 */

static int
gwctl_key_name(gwctl_t *ctl, const char *arg, char *name, int *by_hash)
{
    char    q[64];
    size_t  i, len, plen;

    len = strlen(arg);
    plen = sizeof(GW_KEY_TEXT_PREFIX) - 1;

    if (gw_model_key_valid(arg, len)) {
        gw_model_key_hash((const unsigned char *) arg, len, name);
        *by_hash = 1;
        return 0;
    }

    if (len > plen && len <= GW_KEY_PREFIX_LEN
        && memcmp(arg, GW_KEY_TEXT_PREFIX, plen) == 0
        && strspn(arg + plen, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "abcdefghijklmnopqrstuvwxyz0123456789-_")
           == len - plen)
    {
        memcpy(name, arg, len + 1);
        *by_hash = 0;
        return 0;
    }

    if (len >= GWCTL_HASH_MIN && len <= GW_KEY_HASH_HEX_LEN
        && strspn(arg, "0123456789abcdefABCDEF") == len)
    {
        for (i = 0; i <= len; i++) {
            name[i] = (arg[i] >= 'A' && arg[i] <= 'F') ? arg[i] + 32 : arg[i];
        }

        *by_hash = 1;
        return 0;
    }

    return gwctl_fail(ctl, GWCTL_USAGE,
                      "key revoke: expects a key prefix (tg_ and up to %d "
                      "characters), a hash or %d to %d of its hex digits, "
                      "or the key; got %s",
                      GW_KEY_PREFIX_LEN - (int) plen, GWCTL_HASH_MIN,
                      GW_KEY_HASH_HEX_LEN, gwctl_quote(q, sizeof(q), arg));
}


/*
 * key revoke CONSUMER NAME: NAME matched against every key of the
 * consumer, read GWCTL_LIMIT_MAX at a time; then the store revokes the
 * one key not yet revoked.
 */

static int
gwctl_key_revoke(gwctl_t *ctl, int argc, char **argv)
{
    int                rc, by_hash;
    char               name[GW_KEY_HASH_HEX_LEN + 1], q[64];
    char               hash[GW_KEY_HASH_HEX_LEN + 1];
    char               prefix[GWCTL_SHOWN_MAX + 1], *cursor;
    size_t             i, len, matches, live;
    const char        *pos[2], *id, *s;
    gwctl_page_t       page;
    gwctl_key_rec_t   *k;

    if (gwctl_args(ctl, "key revoke", argc, argv, NULL, pos, 2,
                   "CONSUMER KEY_PREFIX_OR_HASH") != 0
        || gwctl_id(ctl, "key revoke", pos[0]) != 0
        || gwctl_key_name(ctl, pos[1], name, &by_hash) != 0)
    {
        return -1;
    }

    id = pos[0];

    /* never echo a whole key: messages name what was matched */

    gwctl_quote(q, sizeof(q), by_hash ? name : pos[1]);

    len = strlen(name);
    matches = 0;
    live = 0;
    cursor = NULL;
    hash[0] = '\0';
    prefix[0] = '\0';

    for ( ;; ) {
        rc = ctl->store->key->list(ctl, "key revoke", id, cursor,
                                  GWCTL_LIMIT_MAX, &page);
        free(cursor);

        if (rc != 0) {
            return -1;
        }

        for (i = 0; i < page.n; i++) {
            k = (gwctl_key_rec_t *) page.items + i;
            s = by_hash ? k->hash : k->prefix;

            if (s == NULL || strlen(s) < len || memcmp(s, name, len) != 0) {
                continue;
            }

            matches++;

            if (k->status == NULL || strcmp(k->status, GW_MODEL_REVOKED) != 0)
            {
                live++;
                snprintf(hash, sizeof(hash), "%s", k->hash);
                snprintf(prefix, sizeof(prefix), "%s",
                         k->prefix != NULL ? k->prefix : "");
            }
        }

        if (page.next == NULL) {
            gwctl_page_free(&page);
            break;
        }

        cursor = strdup(page.next);
        gwctl_page_free(&page);

        if (cursor == NULL) {
            return gwctl_fail(ctl, GWCTL_REDIS, "out of memory");
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

    if (ctl->store->key->revoke(ctl, id, hash) != 0) {
        return -1;
    }

    fputs("key ", stdout);

    if (prefix[0] != '\0') {
        gwctl_print_text(stdout, prefix, strlen(prefix));

    } else {
        fputs("-", stdout);
    }

    printf(" (hash %.*s) of consumer %s revoked\n", GWCTL_HASH_SHOWN, hash,
           id);

    return 0;
}
