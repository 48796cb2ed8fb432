
/*
 * Copyright (C) Tollgate
 *
 * tollgate-identity (build/backends/identity): the platform's OAuth 2.0
 * authorization server for machine clients (docs/identity.md).
 *
 *   identity [serve] [-c FILE] [-t]    the service (the default)
 *   identity rotate [-c FILE] [--now]  schedules the next signing key
 *
 * Clients get RFC 9068 access tokens with the client credentials grant
 * (RFC 6749 section 4.4) or exchange one token for another (RFC 8693);
 * resource servers introspect them (RFC 7662) and clients revoke them
 * (RFC 7009).  Every instance is stateless but for caches: clients,
 * signing keys and revocations live in Redis, so several instances
 * behind one name agree on everything.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "identity.h"


static int identity_read_pepper(const char *path);
static void identity_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void identity_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);
static int identity_ready(gw_svc_t *svc, void *data);
static int identity_configure(gw_svc_t *svc);


/* the program's other command lines */
static const char *const  identity_forms[] = {
    "serve [-c FILE] [-t]", "rotate [-c FILE] [--now]", NULL
};


identity_t  identity;


const gw_svc_key_t  identity_conf_keys[] = {

    /* the issuer identifier: "iss" of every token, "aud" of assertions */
    { "issuer", GW_SVC_STR, NULL, 0, 0, NULL },
    { "token_ttl", GW_SVC_INT, "300", 10, 86400, NULL },
    { "leeway", GW_SVC_INT, "30", 0, 300, NULL },
    { "pepper_file", GW_SVC_STR, NULL, 0, 0, NULL },

    /* identity_keys*.c */
    { "kek_file", GW_SVC_STR, NULL, 0, 0, NULL },
    { "signing_alg", GW_SVC_STR, "ES256", 0, 0, "ES256|EdDSA|RS256" },
    { "rotation_interval", GW_SVC_INT, "86400", 2, 31536000, NULL },
    { "jwks_max_age", GW_SVC_INT, "300", 1, 86400, NULL },
    { "keys_poll", GW_SVC_MSEC, "1s", 100, 60000, NULL },

    /* identity_client*.c, identity_token*.c */
    { "form_max", GW_SVC_SIZE, "8k", 512, 65536, NULL },
    { "assertion_max_age", GW_SVC_INT, "300", 10, 3600, NULL },
    { "secret_grace", GW_SVC_INT, "86400", 0, 31536000, NULL },
    { "client_cache_ttl", GW_SVC_MSEC, "5s", 0, 600000, NULL },

    /* identity_client_verify.c: 0 verifies assertions on the loop */
    { "verify_threads", GW_SVC_INT, "1", 0, 8, NULL },

    /* identity_exchange*.c */
    { "exchange_issuers", GW_SVC_STR, "", 0, 0, NULL },
    { "exchange_fetch_timeout", GW_SVC_MSEC, "5s", 100, 60000, NULL },
    { "exchange_fetch_max", GW_SVC_SIZE, "1m", 4096, 8388608, NULL },
    { "exchange_keys_min_ttl", GW_SVC_INT, "300", 1, 86400, NULL },
    { "exchange_keys_max_ttl", GW_SVC_INT, "86400", 1, 604800, NULL },
    { "exchange_refresh_cooldown", GW_SVC_INT, "30", 1, 3600, NULL },
    { "exchange_max_stale", GW_SVC_INT, "86400", 0, 604800, NULL },

    { NULL, 0, NULL, 0, 0, NULL }
};


time_t
identity_now(void)
{
    return time(NULL);
}


/*
 * The pepper: at least IDENTITY_PEPPER_MIN bytes from a file (the first 64
 * are used).  Client secrets are stored as HMAC-SHA-256 under it, so a
 * copy of Redis alone does not let anyone test guesses offline.
 */

static int
identity_read_pepper(const char *path)
{
    int     rc;
    FILE   *f;
    size_t  n;

    rc = -1;

    f = fopen(path, "rb");
    if (f == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s, s:s}", "error", "pepper_file: cannot "
                             "open", "path", path));
        return -1;
    }

    n = fread(identity.pepper, 1, sizeof(identity.pepper), f);

    if (n < IDENTITY_PEPPER_MIN) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s, s:s, s:i}", "error", "pepper_file: too "
                             "short", "path", path, "min_bytes",
                             IDENTITY_PEPPER_MIN));
        OPENSSL_cleanse(identity.pepper, sizeof(identity.pepper));
        goto done;
    }

    identity.pepper_len = n;
    rc = 0;

done:

    fclose(f);

    return rc;
}


static void
identity_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    identity_keys_start(base);
    identity_token_start(base);
    identity_exchange_start(base);
    identity_verify_start(base, gw_svc_conf_int(svc, "verify_threads"));
}


static void
identity_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    identity.stopped = 1;

    /* first: the jobs still out are answered while the rest is up */

    identity_verify_stop();
    identity_exchange_stop();
    identity_token_stop();
    identity_keys_stop();
}


static int
identity_ready(gw_svc_t *svc, void *data)
{
    return identity_keys_ready();
}


/*
 * What the configuration names, checked and loaded: the issuer, the
 * pepper, the keys' and the token endpoint's settings.
 */

static int
identity_configure(gw_svc_t *svc)
{
    const char  *issuer;

    issuer = gw_svc_conf_str(svc, "issuer");
    identity.issuer_len = strlen(issuer);

    if (identity.issuer_len == 0 || issuer[identity.issuer_len - 1] == '/'
        || (strncmp(issuer, "https://", 8) != 0
            && strncmp(issuer, "http://", 7) != 0)
        || strpbrk(issuer, "?# \"\\") != NULL)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s}", "error", "issuer: an http(s) URL "
                             "without query, fragment or trailing slash"));
        return -1;
    }

    identity.issuer = issuer;
    identity.token_ttl = gw_svc_conf_int(svc, "token_ttl");
    identity.leeway = gw_svc_conf_int(svc, "leeway");

    if (identity_read_pepper(gw_svc_conf_str(svc, "pepper_file")) != 0
        || identity_keys_setup(svc) != 0
        || identity_token_setup(svc) != 0
        || identity_exchange_setup(svc) != 0)
    {
        return -1;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int  rc;

    if (argc > 1 && strcmp(argv[1], "rotate") == 0) {
        return identity_keys_rotate_main(argc - 1, argv + 1);
    }

    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        argv[1] = argv[0];
        argc--;
        argv++;
    }

    identity.svc = gw_svc_create("identity", identity_conf_keys);
    if (identity.svc == NULL) {
        return 1;
    }

    gw_svc_set_ready(identity.svc, identity_ready, NULL);
    gw_svc_set_loop(identity.svc, identity_loop_start, identity_loop_stop,
                    NULL);

    gw_svc_set_main(identity.svc, identity_configure, identity_forms);

    rc = gw_svc_main(identity.svc, argc, argv);

    OPENSSL_cleanse(identity.pepper, sizeof(identity.pepper));
    gw_svc_free(identity.svc);

    return rc;
}
