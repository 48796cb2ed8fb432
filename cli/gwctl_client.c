
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
 * verifies, a key that loads.
 *
 * This file parses every client command and prints what it read, from
 * either store (ctl->store): Redis (gwctl_client_redis.c,
 * gwctl_client_key.c) or the admin API (gwctl_api_client.c).
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gwctl.h"


#define GWCTL_LIST_MAX        4096          /* bytes of a list option */


static int gwctl_client_add(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_list(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_show(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_status(gwctl_t *ctl, int argc, char **argv,
    const char *status);
static int gwctl_client_set_key(gwctl_t *ctl, int argc, char **argv);
static int gwctl_client_words(gwctl_t *ctl, const char *cmd,
    const char *opt, const char *list, int uris);
static void gwctl_client_json(FILE *f, const gwctl_client_rec_t *c);
static void gwctl_client_text(FILE *f, const gwctl_client_rec_t *c);


/* the fields shown, in this order (GWCTL_CLIENT_FIELDS) */

const char  *gwctl_client_fields[] = {
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
        return ctl->store->client->rotate(ctl, argc - 1, argv + 1);
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
    int                   rc;
    char                  secret[GWCTL_CRED_MAX];
    gwctl_client_spec_t   cs;

    if (gwctl_client_spec(ctl, argc, argv, &cs) != 0) {
        return -1;
    }

    secret[0] = '\0';

    rc = ctl->store->client->add(ctl, &cs, secret, sizeof(secret));

    if (rc == 0) {
        printf("client_id: %s\n", cs.id);

        if (secret[0] != '\0') {
            printf("client_secret: %s\n", secret);
            fprintf(stderr, "gwctl: the secret is shown once: store it "
                    "now\n");
        }
    }

    OPENSSL_cleanse(secret, sizeof(secret));

    return rc;
}


/* a client as one JSON object, without a line end; never a secret hash */

static void
gwctl_client_json(FILE *f, const gwctl_client_rec_t *c)
{
    size_t       i;
    const char  *s;

    fputs("{\"id\":", f);
    gwctl_print_json(f, c->id, strlen(c->id));

    for (i = 0; i < GWCTL_CLIENT_FIELDS; i++) {
        fprintf(f, ",\"%s\":", gwctl_client_fields[i]);
        s = c->field[i];

        if (s != NULL) {
            gwctl_print_json(f, s, strlen(s));

        } else {
            fputs("null", f);
        }
    }

    fprintf(f, ",\"secret\":%s", c->secret ? "true" : "false");

    if (c->secret_old_set) {
        fprintf(f, ",\"secret_old_until\":%lld",
                (long long) c->secret_old_until);
    }

    if (c->jwk != NULL && c->jwk[0] != '\0') {
        fputs(",\"jwk\":", f);
        gwctl_print_json(f, c->jwk, strlen(c->jwk));
    }

    if (c->created_set) {
        fprintf(f, ",\"created\":%lld", (long long) c->created);
    }

    if (c->updated_set) {
        fprintf(f, ",\"updated\":%lld", (long long) c->updated);
    }

    fputc('}', f);
}


/* a string of a record as text: "-" when missing or empty */

static void
gwctl_client_str(FILE *f, const char *s)
{
    if (s != NULL && s[0] != '\0') {
        gwctl_print_text(f, s, strlen(s));

    } else {
        fputs("-", f);
    }
}


/* a client as "field value" lines */

static void
gwctl_client_text(FILE *f, const gwctl_client_rec_t *c)
{
    char    when[32];
    size_t  i;

    fprintf(f, "%-17s %s\n", "id", c->id);

    for (i = 0; i < GWCTL_CLIENT_FIELDS; i++) {
        fprintf(f, "%-17s ", gwctl_client_fields[i]);
        gwctl_client_str(f, c->field[i]);
        fputc('\n', f);
    }

    fprintf(f, "%-17s %s\n", "secret", c->secret ? "set" : "-");

    if (c->secret_old_set) {
        gwctl_format_time(when, sizeof(when), c->secret_old_until);
        fprintf(f, "%-17s %s\n", "previous secret", when);
    }

    fprintf(f, "%-17s ", "jwk");
    gwctl_client_str(f, c->jwk);
    fputc('\n', f);

    if (c->created_set) {
        gwctl_format_time(when, sizeof(when), c->created);
        fprintf(f, "%-17s %s\n", "created", when);
    }
}


static int
gwctl_client_show(gwctl_t *ctl, int argc, char **argv)
{
    const char    *pos[1];
    gwctl_opt_t    opts[] = {
        { "--json", 1, NULL },
        { NULL, 0, NULL }
    };
    gwctl_page_t   page;

    if (gwctl_args(ctl, "client show", argc, argv, opts, pos, 1,
                   "ID [--json]") != 0
        || gwctl_id(ctl, "client show", pos[0]) != 0
        || ctl->store->client->get(ctl, pos[0], &page) != 0)
    {
        return -1;
    }

    if (opts[0].value != NULL) {
        gwctl_client_json(stdout, page.items);
        fputc('\n', stdout);

    } else {
        gwctl_client_text(stdout, page.items);
    }

    gwctl_page_free(&page);

    return 0;
}


/* one page of clients, sorted by id, as consumer list pages consumers */

static int
gwctl_client_list(gwctl_t *ctl, int argc, char **argv)
{
    int                   json;
    size_t                i, limit;
    gwctl_opt_t           opts[] = {
        { "--json", 1, NULL },
        { "--limit", 0, NULL },
        { "--cursor", 0, NULL },
        { NULL, 0, NULL }
    };
    gwctl_page_t          page;
    gwctl_client_rec_t   *c;

    if (gwctl_args(ctl, "client list", argc, argv, opts, NULL, 0,
                   "no arguments but --limit, --cursor and --json") != 0
        || gwctl_limit(ctl, "client list", opts[1].value, &limit) != 0
        || ctl->store->client->list(ctl, opts[2].value, limit, &page) != 0)
    {
        return -1;
    }

    json = (opts[0].value != NULL);

    if (json) {
        fputs("{\"clients\":[", stdout);
    }

    for (i = 0; i < page.n; i++) {
        c = (gwctl_client_rec_t *) page.items + i;

        if (json) {
            fputs(i ? ",\n  " : "\n  ", stdout);
            gwctl_client_json(stdout, c);
            continue;
        }

        if (i == 0) {
            printf("%-24s  %-8s  %s\n", "ID", "STATUS", "AUTH");
        }

        printf("%-24s  ", c->id);
        gwctl_print_cell(stdout, c->field[1], 8);
        gwctl_client_str(stdout, c->field[2]);
        fputc('\n', stdout);
    }

    gwctl_print_next(stdout, json, page.n ? "\n]" : "]", page.next);

    gwctl_page_free(&page);

    return 0;
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
        || ctl->store->client->status(ctl, pos[0], status, done) != 0)
    {
        return -1;
    }

    printf("client %s %s\n", pos[0], done);

    return 0;
}


/*
 * set-key ID FILE: stores the checked public JWK (FILE "-": stdin) and
 * adds private_key_jwt to the client's methods.
 */

static int
gwctl_client_set_key(gwctl_t *ctl, int argc, char **argv)
{
    int          rc;
    char        *jwk;
    const char  *pos[2];

    if (gwctl_args(ctl, "client set-key", argc, argv, NULL, pos, 2,
                   "ID FILE") != 0
        || gwctl_id(ctl, "client set-key", pos[0]) != 0
        || gwctl_client_jwk(ctl, pos[1], &jwk) != 0)
    {
        return -1;
    }

    rc = ctl->store->client->set_key(ctl, pos[0], jwk);
    free(jwk);

    if (rc != 0) {
        return -1;
    }

    printf("client %s key set\n", pos[0]);

    return 0;
}
