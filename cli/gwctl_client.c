
/*
 * Copyright (C) Tollgate
 *
 * gwctl client add | list | show | disable | enable | rotate-secret |
 * set-key: the identity service's OAuth 2.0 clients (docs/identity.md,
 * "Clients").
 *
 * A client is the hash gw:client:<id> and its id in gw:clients, written
 * in one MULTI/EXEC under WATCH with the "client <id>" invalidation, as
 * consumers are.  A secret is made here from 32 random bytes, printed
 * once, and stored only as HMAC-SHA-256 under the service's pepper (the
 * file given by --pepper or $TOLLGATE_IDENTITY_PEPPER_FILE, the variable
 * the service reads too), so Redis alone does not let anyone test
 * guesses.  rotate-secret keeps the previous hash valid for a grace
 * period.  set-key stores a public JWK for private_key_jwt, checked
 * first: no private member, a key type, curve and alg the service
 * verifies, a key that loads.  This file has add, list, show, disable
 * and enable; gwctl_client_key.c the secrets, rotate-secret and set-key.
 */


#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "gwctl.h"


#define GWCTL_LIST_MAX        4096          /* bytes of a list option */


static int gwctl_client_add(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_client_words(gwctl_t *ctl, const char *cmd,
    const char *opt, const char *list, int uris);
static void gwctl_client_json(FILE *f, const char *id,
    const redisReply *rec);


static const char  *gwctl_client_fields[] = {
    "name", "status", "auth", "grants", "scopes", "default_scopes",
    "audiences", "default_audience", NULL
};


int
gwctl_client(gwctl_t *ctl, int argc, char **argv)
{
    char  q[64];

    if (argc == 0) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "client: expects add, list, show, disable, "
                          "enable, rotate-secret or set-key");
    }

    if (strcmp(argv[0], "add") == 0) {
        return gwctl_client_add(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "list") == 0) {
        return gwctl_client_list(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "show") == 0) {
        return gwctl_client_show(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "disable") == 0) {
        return gwctl_client_status(ctl, argc - 1, argv + 1,
                                   GW_MODEL_DISABLED);
    }

    if (strcmp(argv[0], "enable") == 0) {
        return gwctl_client_status(ctl, argc - 1, argv + 1, GW_MODEL_ACTIVE);
    }

    if (strcmp(argv[0], "rotate-secret") == 0) {
        return gwctl_client_rotate(ctl, argc - 1, argv + 1);
    }

    if (strcmp(argv[0], "set-key") == 0) {
        return gwctl_client_set_key(ctl, argc - 1, argv + 1);
    }

    return gwctl_fail(ctl, GWCTL_USAGE, "client: unknown command %s",
                      gwctl_quote(q, sizeof(q), argv[0]));
}


/*
 * A space-separated list option: words of RFC 6749 scope-token
 * characters, or (uris) absolute URIs without a fragment; at most
 * GWCTL_LIST_MAX bytes, one space between words.
 */

static int
gwctl_client_words(gwctl_t *ctl, const char *cmd, const char *opt,
    const char *list, int uris)
{
    char        q[64];
    size_t      i, len;
    const char *p;

    len = strlen(list);

    if (len > GWCTL_LIST_MAX) {
        goto bad;
    }

    for (p = list; *p != '\0'; p += len) {
        if (*p == ' ') {
            if (p == list || p[1] == ' ' || p[1] == '\0') {
                goto bad;
            }

            p++;
        }

        len = strcspn(p, " ");

        for (i = 0; i < len; i++) {
            if ((unsigned char) p[i] < 0x21 || p[i] == '"' || p[i] == '\\'
                || (unsigned char) p[i] > 0x7e || (uris && p[i] == '#'))
            {
                goto bad;
            }
        }

        if (uris && memchr(p, ':', len) == NULL) {
            goto bad;
        }
    }

    return 0;

bad:

    return gwctl_fail(ctl, GWCTL_USAGE, "%s: %s: expects %s separated by "
                      "one space, got %s", cmd, opt,
                      uris ? "absolute URIs without fragment"
                           : "scope tokens", gwctl_quote(q, sizeof(q), list));
}


/* 1 when every word of words is in list */

int
gwctl_client_subset(const char *words, const char *list)
{
    size_t       len, n;
    const char  *p, *l;

    for (p = words; *p != '\0'; p += len) {
        p += strspn(p, " ");
        len = strcspn(p, " ");

        if (len == 0) {
            break;
        }

        for (l = list; ; l += n) {
            l += strspn(l, " ");
            n = strcspn(l, " ");

            if (n == 0) {
                return 0;
            }

            if (n == len && memcmp(l, p, len) == 0) {
                break;
            }
        }
    }

    return 1;
}


/*
 * client add's arguments, checked: what the Redis and the admin API
 * commands both take (the API's ignores --pepper: the service uses its
 * own).  0, or -1 failed (usage).
 */

int
gwctl_client_spec(gwctl_t *ctl, int argc, char **argv,
    gwctl_client_spec_t *cs)
{
    char          q[64];
    size_t        len;
    const char   *pos[1], *w;
    gwctl_opt_t   opts[] = {
        { "--name", 0, NULL },
        { "--scopes", 0, NULL },
        { "--default-scopes", 0, NULL },
        { "--audiences", 0, NULL },
        { "--default-audience", 0, NULL },
        { "--auth", 0, NULL },
        { "--grants", 0, NULL },
        { "--pepper", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "client add", argc, argv, opts, pos, 1,
                   "ID [--name NAME] [--scopes S] [--default-scopes S] "
                   "[--audiences URIS] [--default-audience URI] "
                   "[--auth METHODS] [--grants GRANTS] [--pepper FILE]")
        != 0
        || gwctl_id(ctl, "client add", pos[0]) != 0)
    {
        return -1;
    }

    cs->id = pos[0];
    cs->name = opts[0].value != NULL ? opts[0].value : cs->id;
    cs->scopes = opts[1].value != NULL ? opts[1].value : "";
    cs->dscopes = opts[2].value != NULL ? opts[2].value : "";
    cs->auds = opts[3].value != NULL ? opts[3].value : "";
    cs->daud = opts[4].value != NULL ? opts[4].value : "";
    cs->auth = opts[5].value != NULL ? opts[5].value : "client_secret_basic";
    cs->grants = opts[6].value != NULL ? opts[6].value : "";
    cs->pepper = opts[7].value;

    if (!gw_model_name_valid(cs->name, strlen(cs->name))) {
        return gwctl_fail(ctl, GWCTL_USAGE,
                          "client add: --name: expects 1 to %d bytes of "
                          "printable UTF-8, got %s", GW_NAME_MAX,
                          gwctl_quote(q, sizeof(q), cs->name));
    }

    if (gwctl_client_words(ctl, "client add", "--scopes", cs->scopes, 0)
        != 0
        || gwctl_client_words(ctl, "client add", "--default-scopes",
                              cs->dscopes, 0) != 0
        || gwctl_client_words(ctl, "client add", "--audiences", cs->auds, 1)
           != 0
        || gwctl_client_words(ctl, "client add", "--default-audience",
                              cs->daud, 1) != 0
        || gwctl_client_words(ctl, "client add", "--auth", cs->auth, 0) != 0
        || gwctl_client_words(ctl, "client add", "--grants", cs->grants, 0)
           != 0)
    {
        return -1;
    }

    if (strchr(cs->daud, ' ') != NULL) {
        return gwctl_fail(ctl, GWCTL_USAGE, "client add: --default-audience:"
                          " expects one URI");
    }

    if (!gwctl_client_subset(cs->dscopes, cs->scopes)) {
        return gwctl_fail(ctl, GWCTL_USAGE, "client add: --default-scopes "
                          "must be among --scopes");
    }

    if (!gwctl_client_subset(cs->daud, cs->auds)) {
        return gwctl_fail(ctl, GWCTL_USAGE, "client add: --default-audience"
                          " must be among --audiences");
    }

    if (cs->auth[0] == '\0'
        || !gwctl_client_subset(cs->auth, "client_secret_basic "
                                "client_secret_post private_key_jwt"))
    {
        return gwctl_fail(ctl, GWCTL_USAGE, "client add: --auth: expects "
                          "client_secret_basic, client_secret_post and/or "
                          "private_key_jwt");
    }

    if (!gwctl_client_subset(cs->grants, "client_credentials "
                             "urn:ietf:params:oauth:grant-type:"
                             "token-exchange"))
    {
        return gwctl_fail(ctl, GWCTL_USAGE, "client add: --grants: expects "
                          "client_credentials and/or urn:ietf:params:oauth:"
                          "grant-type:token-exchange");
    }

    cs->secretful = 0;

    for (w = cs->auth; *w != '\0'; w += len) {
        w += strspn(w, " ");
        len = strcspn(w, " ");

        if (len > 14 && strncmp(w, "client_secret_", 14) == 0) {
            cs->secretful = 1;
        }
    }

    return 0;
}


static int
gwctl_client_add(gwctl_t *ctl, int argc, char **argv)
{
    int                   attempt, committed, secretful;
    char                  rkey[GW_MODEL_RKEY_MAX], event[GW_MODEL_EVENT_MAX];
    char                  secret[GWCTL_SECRET_LEN + 1], hex[65];
    long long             now;
    const char           *id, *name, *auth, *grants, *scopes, *dscopes;
    const char           *auds, *daud;
    redisReply           *reply;
    gwctl_client_spec_t   cs;

    if (gwctl_client_spec(ctl, argc, argv, &cs) != 0) {
        return -1;
    }

    id = cs.id;
    name = cs.name;
    scopes = cs.scopes;
    dscopes = cs.dscopes;
    auds = cs.auds;
    daud = cs.daud;
    auth = cs.auth;
    grants = cs.grants;
    secretful = cs.secretful;

    secret[0] = '\0';
    hex[0] = '\0';

    if (secretful
        && gwctl_client_secret(ctl, "client add", cs.pepper, secret, hex)
           != 0)
    {
        return -1;
    }

    if (gwctl_connect(ctl) != 0) {
        goto failed;
    }

    snprintf(rkey, sizeof(rkey), GW_MODEL_CLIENT_PREFIX "%s", id);
    snprintf(event, sizeof(event), GW_MODEL_EVENT_CLIENT " %s", id);

    for (attempt = 0; attempt < GWCTL_ATTEMPTS; attempt++) {

        if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
            goto failed;
        }

        reply = gwctl_command(ctl, "EXISTS %s", rkey);
        if (reply == NULL) {
            goto failed;
        }

        if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 0) {
            freeReplyObject(reply);
            gwctl_fail(ctl, GWCTL_STATE, "client %s already exists", id);
            goto failed;
        }

        freeReplyObject(reply);

        now = (long long) time(NULL);

        if (gwctl_run(ctl, "MULTI") != 0
            || gwctl_run(ctl, "HSET %s id %s name %s status %s secret %s "
                         "secret_old %s secret_old_until %s jwk %s auth %s "
                         "grants %s scopes %s default_scopes %s "
                         "audiences %s default_audience %s created %lld "
                         "updated %lld", rkey, id, name, GW_MODEL_ACTIVE,
                         hex, "", "", "", auth, grants, scopes, dscopes,
                         auds, daud, now, now) != 0
            || gwctl_run(ctl, "ZADD %s 0 %s", GW_MODEL_CLIENTS, id) != 0
            || gwctl_run(ctl, "PUBLISH %s %s", GW_MODEL_EVENTS, event) != 0
            || gwctl_exec(ctl, &committed) != 0)
        {
            goto failed;
        }

        if (committed) {
            printf("client_id: %s\n", id);

            if (secretful) {
                printf("client_secret: %s\n", secret);
                fprintf(stderr, "gwctl: the secret is shown once: store it "
                        "now\n");
            }

            OPENSSL_cleanse(secret, sizeof(secret));
            return 0;
        }
    }

    gwctl_fail(ctl, GWCTL_STATE, "client %s: changed concurrently, try "
               "again", id);

failed:

    OPENSSL_cleanse(secret, sizeof(secret));

    return -1;
}


/* a client as one JSON object, without a line end; never a secret hash */

static void
gwctl_client_json(FILE *f, const char *id, const redisReply *rec)
{
    size_t             i;
    int64_t            n;
    const redisReply  *v;

    fputs("{\"id\":", f);
    gwctl_print_json(f, id, strlen(id));

    for (i = 0; gwctl_client_fields[i] != NULL; i++) {
        fprintf(f, ",\"%s\":", gwctl_client_fields[i]);
        gwctl_print_field(f, rec, gwctl_client_fields[i], 1);
    }

    v = gwctl_field(rec, "secret");
    fprintf(f, ",\"secret\":%s", v != NULL && v->len > 0 ? "true" : "false");

    if (gwctl_field_int(rec, "secret_old_until", &n) == 0) {
        fprintf(f, ",\"secret_old_until\":%lld", (long long) n);
    }

    v = gwctl_field(rec, "jwk");

    if (v != NULL && v->len > 0) {
        fputs(",\"jwk\":", f);
        gwctl_print_json(f, v->str, v->len);
    }

    if (gwctl_field_int(rec, "created", &n) == 0) {
        fprintf(f, ",\"created\":%lld", (long long) n);
    }

    if (gwctl_field_int(rec, "updated", &n) == 0) {
        fprintf(f, ",\"updated\":%lld", (long long) n);
    }

    fputc('}', f);
}


static int
gwctl_client_show(gwctl_t *ctl, int argc, char **argv)
{
    char              when[32];
    size_t            i;
    int64_t           n;
    const char       *pos[1];
    redisReply       *rec;
    const redisReply *v;
    gwctl_opt_t       opts[] = {
        { "--json", 1, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "client show", argc, argv, opts, pos, 1,
                   "ID [--json]") != 0
        || gwctl_id(ctl, "client show", pos[0]) != 0
        || gwctl_connect(ctl) != 0)
    {
        return -1;
    }

    rec = gwctl_command(ctl, "HGETALL " GW_MODEL_CLIENT_PREFIX "%s", pos[0]);
    if (rec == NULL) {
        return -1;
    }

    if (rec->type != REDIS_REPLY_ARRAY || rec->elements == 0) {
        freeReplyObject(rec);
        return gwctl_fail(ctl, GWCTL_STATE, "client %s not found", pos[0]);
    }

    if (opts[0].value != NULL) {
        gwctl_client_json(stdout, pos[0], rec);
        fputc('\n', stdout);
        freeReplyObject(rec);
        return 0;
    }

    printf("%-17s %s\n", "id", pos[0]);

    for (i = 0; gwctl_client_fields[i] != NULL; i++) {
        printf("%-17s ", gwctl_client_fields[i]);
        v = gwctl_field(rec, gwctl_client_fields[i]);

        if (v != NULL && v->len > 0) {
            gwctl_print_text(stdout, v->str, v->len);

        } else {
            fputs("-", stdout);
        }

        fputc('\n', stdout);
    }

    v = gwctl_field(rec, "secret");
    printf("%-17s %s\n", "secret", v != NULL && v->len > 0 ? "set" : "-");

    if (gwctl_field_int(rec, "secret_old_until", &n) == 0) {
        gwctl_format_time(when, sizeof(when), n);
        printf("%-17s %s\n", "previous secret", when);
    }

    v = gwctl_field(rec, "jwk");
    printf("%-17s ", "jwk");

    if (v != NULL && v->len > 0) {
        gwctl_print_text(stdout, v->str, v->len);

    } else {
        fputs("-", stdout);
    }

    fputc('\n', stdout);

    if (gwctl_field_int(rec, "created", &n) == 0) {
        gwctl_format_time(when, sizeof(when), n);
        printf("%-17s %s\n", "created", when);
    }

    freeReplyObject(rec);

    return 0;
}


/* one page of clients, sorted by id, as consumer list pages consumers */

static int
gwctl_client_list(gwctl_t *ctl, int argc, char **argv)
{
    int           rc, json;
    char          min[GW_ID_MAX + 2], q[64];
    size_t        i, n, limit, shown;
    const char   *next, **ids;
    redisReply   *set, **recs;
    gwctl_opt_t   opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };

    if (gwctl_args(ctl, "client list", argc, argv, opts, NULL, 0,
                   "no arguments but --limit, --cursor and --json") != 0
        || gwctl_limit(ctl, "client list", opts[1].value, &limit) != 0)
    {
        return -1;
    }

    if (opts[2].value != NULL
        && !gw_model_id_valid(opts[2].value, strlen(opts[2].value)))
    {
        return gwctl_fail(ctl, GWCTL_USAGE, "client list: --cursor: "
                          "expects a client id, got %s",
                          gwctl_quote(q, sizeof(q), opts[2].value));
    }

    if (gwctl_connect(ctl) != 0) {
        return -1;
    }

    snprintf(min, sizeof(min), "%s%s", opts[2].value != NULL ? "(" : "-",
             opts[2].value != NULL ? opts[2].value : "");

    json = (opts[0].value != NULL);
    rc = -1;
    next = NULL;
    n = 0;

    set = gwctl_command(ctl, "ZRANGEBYLEX %s %s + LIMIT 0 %llu",
                        GW_MODEL_CLIENTS, min,
                        (unsigned long long) limit + 1);
    if (set == NULL) {
        return -1;
    }

    ids = calloc(set->elements + 1, sizeof(char *));
    recs = calloc(set->elements + 1, sizeof(redisReply *));

    if (set->type != REDIS_REPLY_ARRAY || ids == NULL || recs == NULL) {
        gwctl_fail(ctl, GWCTL_REDIS, "redis %s: ZRANGEBYLEX: not a sorted "
                   "set", ctl->addr);
        goto done;
    }

    for (i = 0; i < set->elements && i < limit; i++) {
        if (set->element[i]->type == REDIS_REPLY_STRING
            && gw_model_id_valid(set->element[i]->str,
                                 set->element[i]->len))
        {
            ids[n++] = set->element[i]->str;
        }
    }

    if (set->elements > limit && n > 0) {
        next = ids[n - 1];
    }

    for (i = 0; i < n; i++) {
        if (gwctl_append(ctl, "HGETALL " GW_MODEL_CLIENT_PREFIX "%s", ids[i])
            != 0)
        {
            goto done;
        }
    }

    for (i = 0; i < n; i++) {
        recs[i] = gwctl_reply(ctl, "HGETALL");
        if (recs[i] == NULL) {
            goto done;
        }
    }

    shown = 0;

    if (json) {
        fputs("{\"clients\":[", stdout);
    }

    for (i = 0; i < n; i++) {
        if (recs[i]->type != REDIS_REPLY_ARRAY || recs[i]->elements == 0) {
            continue;
        }

        if (json) {
            fputs(shown++ ? ",\n  " : "\n  ", stdout);
            gwctl_client_json(stdout, ids[i], recs[i]);
            continue;
        }

        if (shown++ == 0) {
            printf("%-24s  %-8s  %s\n", "ID", "STATUS", "AUTH");
        }

        printf("%-24s  ", ids[i]);
        gwctl_print_cell(stdout, gwctl_field(recs[i], "status"), 8);
        gwctl_print_field(stdout, recs[i], "auth", 0);
        fputc('\n', stdout);
    }

    gwctl_print_next(stdout, json, shown ? "\n]" : "]", next);

    rc = 0;

done:

    for (i = 0; recs != NULL && i < n; i++) {
        if (recs[i] != NULL) {
            freeReplyObject(recs[i]);
        }
    }

    free(ids);
    free(recs);
    freeReplyObject(set);

    return rc;
}


static int
gwctl_client_status(gwctl_t *ctl, int argc, char **argv, const char *status)
{
    const char  *pos[1], *cmd, *done;

    if (strcmp(status, GW_MODEL_ACTIVE) == 0) {
        cmd = "client enable";
        done = "enabled";

    } else {
        cmd = "client disable";
        done = "disabled";
    }

    if (gwctl_args(ctl, cmd, argc, argv, NULL, pos, 1, "ID") != 0
        || gwctl_id(ctl, cmd, pos[0]) != 0
        || gwctl_connect(ctl) != 0
        || gwctl_client_change(ctl, pos[0], done, "status", status,
                               "status", status, "status", status) != 0)
    {
        return -1;
    }

    printf("client %s %s\n", pos[0], done);

    return 0;
}
