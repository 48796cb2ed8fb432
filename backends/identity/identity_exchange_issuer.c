
/*
 * Copyright (C) Tollgate
 *
 * External issuers whose tokens the token exchange takes as subject
 * tokens (docs/identity.md, "Token exchange"), and the cache of their
 * keys.
 *
 * The issuers file is read once at start; each entry names the issuer
 * identifier, where its keys are (its OIDC discovery document, or a
 * jwks_uri) and how its tokens are judged.  Nothing is fetched from an
 * address the operator did not write down: a discovery document must
 * name the configured issuer exactly, and its jwks_uri must be on the
 * issuer's own origin or on one the entry lists.
 *
 * Each issuer's keys are fetched when the loop starts and again ahead of
 * their expiry (three quarters into the Cache-Control max-age, bounded
 * by exchange_keys_min_ttl and exchange_keys_max_ttl).  A token that
 * names a key the cache lacks may ask for one fetch more, at most once
 * per exchange_refresh_cooldown per issuer; requests that need the keys
 * wait on the one fetch in flight.  When the issuer cannot be reached
 * the keys in hand stay usable up to exchange_max_stale past their
 * expiry, and fetches are retried every cooldown; one warning per
 * incident.
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "identity_exchange_int.h"


struct identity_issuer_s {
    identity_issuer_conf_t  conf;
    identity_url_t          origin;         /* the issuer identifier's */
    identity_url_t          discovery;
    identity_url_t          jwks;
    identity_url_t         *origins;        /* more allowed for jwks_uri */
    size_t                  norigins;
    unsigned                discover:1;     /* jwks_uri from discovery */
    unsigned                have_jwks:1;
    unsigned                have_keys:1;
    unsigned                failing:1;      /* warned for this incident */
    SSL_CTX                *ssl;

    gw_keyset_t             keys;
    time_t                  expires;        /* fetched + ttl */
    time_t                  attempt;        /* when the last fetch began */
    time_t                  kid_refresh;    /* the last one for a kid */
    identity_fetch_t       *fetch;
    struct event           *timer;
    identity_waiter_t      *waiters;
    size_t                  nwaiters;
};


static int identity_issuer_parse(identity_issuer_t *is, json_t *o,
    const char **err);
static int identity_issuer_urls(identity_issuer_t *is, json_t *o,
    const char **err);
static int identity_issuer_fetch(identity_issuer_t *is);
static void identity_issuer_discovered(void *data,
    const identity_fetch_res_t *res);
static void identity_issuer_fetched(void *data,
    const identity_fetch_res_t *res);
static void identity_issuer_failed(identity_issuer_t *is, const char *reason,
    int status);
static void identity_issuer_wake(identity_issuer_t *is);
static void identity_issuer_timer(evutil_socket_t fd, short what, void *arg);
static void identity_issuer_arm(identity_issuer_t *is, time_t secs);


static identity_issuer_t   *identity_issuers;
static size_t               identity_nissuers;
static json_t              *identity_issuers_json;
static gw_svc_metric_t     *identity_m_fetches;
static time_t               identity_min_ttl;
static time_t               identity_max_ttl;
static time_t               identity_cooldown;
static time_t               identity_max_stale;
static size_t               identity_fetch_max;
static long                 identity_fetch_timeout;


/*
 * Reads the issuers file: a JSON object {"issuers": [entry, ...]}, at
 * most IDENTITY_ISSUERS_MAX entries with distinct names and issuers, none
 * of them our own issuer.  Every member is checked here, unknown ones
 * refused, so that a typo fails the start instead of a token later.
 */

int
identity_issuers_load(gw_svc_t *svc, const char *path)
{
    size_t         i;
    json_t        *list, *o;
    const char    *err;
    json_error_t   jerr;

    static const char *const  labels[] = { "issuer", "result", NULL };

    identity_min_ttl = gw_svc_conf_int(svc, "exchange_keys_min_ttl");
    identity_max_ttl = gw_svc_conf_int(svc, "exchange_keys_max_ttl");
    identity_cooldown = gw_svc_conf_int(svc, "exchange_refresh_cooldown");
    identity_max_stale = gw_svc_conf_int(svc, "exchange_max_stale");
    identity_fetch_max = gw_svc_conf_int(svc, "exchange_fetch_max");
    identity_fetch_timeout = gw_svc_conf_int(svc, "exchange_fetch_timeout");

    identity_m_fetches = gw_svc_counter(svc,
                             "identity_exchange_key_fetches_total",
                             "Fetches of external issuers' discovery "
                             "documents and key sets", labels);
    if (identity_m_fetches == NULL) {
        return -1;
    }

    if (identity_max_ttl < identity_min_ttl) {
        err = "exchange_keys_max_ttl is below exchange_keys_min_ttl";
        goto failed;
    }

    if (path == NULL || path[0] == '\0') {
        return 0;
    }

    identity_issuers_json = json_load_file(path, JSON_REJECT_DUPLICATES,
                                           &jerr);
    if (identity_issuers_json == NULL) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s, s:s, s:i, s:s}", "error",
                             "exchange_issuers: not JSON", "path", path,
                             "line", jerr.line, "reason", jerr.text));
        return -1;
    }

    list = json_object_get(identity_issuers_json, "issuers");

    if (!json_is_object(identity_issuers_json)
        || json_object_size(identity_issuers_json) != 1
        || !json_is_array(list))
    {
        err = "the file is not an object of one \"issuers\" array";
        goto failed;
    }

    if (json_array_size(list) > IDENTITY_ISSUERS_MAX) {
        err = "too many issuers";
        goto failed;
    }

    identity_nissuers = json_array_size(list);
    identity_issuers = calloc(identity_nissuers + 1,
                              sizeof(identity_issuer_t));
    if (identity_issuers == NULL) {
        err = "out of memory";
        goto failed;
    }

    json_array_foreach(list, i, o) {
        if (identity_issuer_parse(&identity_issuers[i], o, &err) != 0) {
            gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
                       json_pack("{s:s, s:s, s:i, s:s}", "error",
                                 "exchange_issuers: a bad issuer", "path",
                                 path, "index", (int) i, "reason", err));
            return -1;
        }
    }

    return 0;

failed:

    gw_svc_log(svc, GW_SVC_ERROR, NULL, "bad configuration",
               json_pack("{s:s, s:s}", "error", err, "path", path));
    return -1;
}


static int
identity_issuer_parse(identity_issuer_t *is, json_t *o, const char **err)
{
    size_t         i, n;
    json_t        *v, *a;
    gw_alg_e       alg;
    gw_str_t      *auds;
    const char    *key, *s;

    static const char *const  known[] = {
        "name", "issuer", "jwks_uri", "jwks_origins", "audiences",
        "algorithms", "ca_file", "subject_claim", "subject_prefix", "typ",
        NULL
    };

    if (!json_is_object(o)) {
        *err = "not an object";
        return -1;
    }

    json_object_foreach(o, key, v) {
        for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++) {
            /* void */
        }

        if (known[i] == NULL) {
            *err = "an unknown member";
            return -1;
        }

        if (strcmp(key, "jwks_origins") != 0 && strcmp(key, "audiences") != 0
            && strcmp(key, "algorithms") != 0 && !json_is_string(v))
        {
            *err = "a member that must be a string is not";
            return -1;
        }
    }

    is->conf.name = json_string_value(json_object_get(o, "name"));
    is->conf.issuer = json_string_value(json_object_get(o, "issuer"));

    if (is->conf.name == NULL || is->conf.name[0] == '\0'
        || strlen(is->conf.name) > 32
        || strspn(is->conf.name, "abcdefghijklmnopqrstuvwxyz0123456789-")
           != strlen(is->conf.name))
    {
        *err = "name: 1 to 32 of [a-z0-9-]";
        return -1;
    }

    if (is->conf.issuer == NULL) {
        *err = "issuer: required";
        return -1;
    }

    is->conf.issuer_len = strlen(is->conf.issuer);

    if (strcmp(is->conf.issuer, identity.issuer) == 0) {
        *err = "issuer: our own issuer is not external";
        return -1;
    }

    for (i = 0; is != &identity_issuers[i]; i++) {
        if (strcmp(identity_issuers[i].conf.issuer, is->conf.issuer) == 0
            || strcmp(identity_issuers[i].conf.name, is->conf.name) == 0)
        {
            *err = "a name or issuer named twice";
            return -1;
        }
    }

    a = json_object_get(o, "audiences");
    n = json_array_size(a);

    if (n == 0) {
        *err = "audiences: a non-empty array of strings, required";
        return -1;
    }

    auds = calloc(n, sizeof(gw_str_t));
    if (auds == NULL) {
        *err = "out of memory";
        return -1;
    }

    is->conf.audiences = auds;
    is->conf.naudiences = n;

    json_array_foreach(a, i, v) {
        s = json_string_value(v);
        if (s == NULL || s[0] == '\0') {
            *err = "audiences: a non-empty array of strings, required";
            return -1;
        }

        auds[i].data = s;
        auds[i].len = strlen(s);
    }

    a = json_object_get(o, "algorithms");

    if (a == NULL) {
        is->conf.algs = GW_ALG_BIT(GW_ALG_RS256) | GW_ALG_BIT(GW_ALG_ES256);

    } else if (!json_is_array(a) || json_array_size(a) == 0) {
        *err = "algorithms: a non-empty array of strings";
        return -1;
    }

    json_array_foreach(a, i, v) {
        s = json_string_value(v);
        alg = (s != NULL) ? gw_alg_from_name(s, strlen(s)) : GW_ALG_UNKNOWN;

        /* a secret shared with an outside party is no key of an issuer */
        if (alg == GW_ALG_UNKNOWN || (GW_ALG_BIT(alg) & GW_ALG_MASK_HMAC)) {
            *err = "algorithms: only asymmetric ones (RS*, PS*, ES*, EdDSA)";
            return -1;
        }

        is->conf.algs |= GW_ALG_BIT(alg);
    }

    is->conf.typ = json_string_value(json_object_get(o, "typ"));
    is->conf.subject_claim = json_string_value(json_object_get(o,
                                                   "subject_claim"));
    is->conf.subject_prefix = json_string_value(json_object_get(o,
                                                    "subject_prefix"));

    if (is->conf.subject_claim == NULL) {
        is->conf.subject_claim = "sub";

    } else if (is->conf.subject_claim[0] == '\0') {
        *err = "subject_claim: empty";
        return -1;
    }

    if (is->conf.subject_prefix == NULL) {

        /* "name:", in the document so that it outlives the entry */
        v = json_sprintf("%s:", is->conf.name);
        if (v == NULL || json_object_set_new(o, "subject_prefix", v) != 0) {
            *err = "out of memory";
            return -1;
        }

        is->conf.subject_prefix = json_string_value(v);
    }

    if (identity_issuer_urls(is, o, err) != 0) {
        return -1;
    }

    return 0;
}


/* the issuer's origin, where its keys are, and the TLS context */

static int
identity_issuer_urls(identity_issuer_t *is, json_t *o, const char **err)
{
    size_t       i, n;
    json_t      *a, *v;
    char        *disc;
    const char  *s, *ca;

    if (identity_url_parse(&is->origin, is->conf.issuer, err) != 0) {
        *err = "issuer: an http or https URL";
        return -1;
    }

    s = json_string_value(json_object_get(o, "jwks_uri"));

    if (s != NULL) {
        if (identity_url_parse(&is->jwks, s, err) != 0) {
            *err = "jwks_uri: an http or https URL";
            return -1;
        }

        is->have_jwks = 1;

    } else {

        /* OpenID Connect Discovery 1.0, section 4: one trailing "/" off */
        n = is->conf.issuer_len;
        n -= (n > 0 && is->conf.issuer[n - 1] == '/');

        disc = malloc(n + sizeof("/.well-known/openid-configuration"));
        if (disc == NULL) {
            *err = "out of memory";
            return -1;
        }

        memcpy(disc, is->conf.issuer, n);
        strcpy(disc + n, "/.well-known/openid-configuration");

        if (identity_url_parse(&is->discovery, disc, err) != 0) {
            free(disc);
            *err = "issuer: no discovery URL can be made of it";
            return -1;
        }

        free(disc);
        is->discover = 1;
    }

    a = json_object_get(o, "jwks_origins");

    if (a != NULL && !json_is_array(a)) {
        *err = "jwks_origins: an array of URLs";
        return -1;
    }

    n = json_array_size(a);
    is->origins = calloc(n + 1, sizeof(identity_url_t));
    if (is->origins == NULL) {
        *err = "out of memory";
        return -1;
    }

    json_array_foreach(a, i, v) {
        s = json_string_value(v);
        if (s == NULL || identity_url_parse(&is->origins[i], s, err) != 0) {
            *err = "jwks_origins: an array of http or https URLs";
            return -1;
        }

        is->norigins++;
    }

    is->ssl = SSL_CTX_new(TLS_client_method());
    if (is->ssl == NULL) {
        *err = "cannot make a TLS context";
        return -1;
    }

    SSL_CTX_set_min_proto_version(is->ssl, TLS1_2_VERSION);
    SSL_CTX_set_verify(is->ssl, SSL_VERIFY_PEER, NULL);

    ca = json_string_value(json_object_get(o, "ca_file"));

    if (ca != NULL) {
        if (SSL_CTX_load_verify_locations(is->ssl, ca, NULL) != 1) {
            ERR_clear_error();
            *err = "ca_file: cannot be read as PEM certificates";
            return -1;
        }

    } else if (SSL_CTX_set_default_verify_paths(is->ssl) != 1) {
        ERR_clear_error();
        *err = "no ca_file and no system certificate store";
        return -1;
    }

    return 0;
}


void
identity_issuers_start(struct event_base *base)
{
    size_t              i;
    identity_issuer_t  *is;

    if (identity_nissuers == 0) {
        return;
    }

    if (identity_fetch_init(base, identity_fetch_max, identity_fetch_timeout)
        != 0)
    {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL,
                   "token exchange: no resolver; external issuers' keys "
                   "cannot be fetched", NULL);
        return;
    }

    for (i = 0; i < identity_nissuers; i++) {
        is = &identity_issuers[i];

        is->timer = evtimer_new(base, identity_issuer_timer, is);
        if (is->timer == NULL) {
            gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "out of memory",
                       NULL);
            continue;
        }

        if (identity_issuer_fetch(is) != 0) {
            identity_issuer_failed(is, "the fetch could not start", 0);
        }
    }
}


void
identity_issuers_stop(void)
{
    size_t              i;
    identity_issuer_t  *is;

    identity_fetch_end();

    for (i = 0; i < identity_nissuers; i++) {
        is = &identity_issuers[i];

        if (is->timer != NULL) {
            event_free(is->timer);
            is->timer = NULL;
        }

        is->fetch = NULL;
        is->waiters = NULL;
        is->nwaiters = 0;
    }
}


void
identity_issuers_free(void)
{
    size_t              i, j;
    identity_issuer_t  *is;

    for (i = 0; i < identity_nissuers; i++) {
        is = &identity_issuers[i];

        free((void *) is->conf.audiences);
        identity_url_free(&is->origin);
        identity_url_free(&is->discovery);
        identity_url_free(&is->jwks);

        for (j = 0; is->origins != NULL && j < is->norigins; j++) {
            identity_url_free(&is->origins[j]);
        }

        free(is->origins);
        SSL_CTX_free(is->ssl);
        gw_keyset_free(&is->keys);
    }

    free(identity_issuers);
    identity_issuers = NULL;
    identity_nissuers = 0;

    json_decref(identity_issuers_json);
    identity_issuers_json = NULL;
}


identity_issuer_t *
identity_issuer_find(const char *iss, size_t len)
{
    size_t  i;

    for (i = 0; i < identity_nissuers; i++) {
        if (identity_issuers[i].conf.issuer_len == len
            && memcmp(identity_issuers[i].conf.issuer, iss, len) == 0)
        {
            return &identity_issuers[i];
        }
    }

    return NULL;
}


const identity_issuer_conf_t *
identity_issuer_conf(identity_issuer_t *is)
{
    return &is->conf;
}


const gw_keyset_t *
identity_issuer_keys(identity_issuer_t *is)
{
    if (!is->have_keys) {
        return NULL;
    }

    if (identity_now() >= is->expires + identity_max_stale) {
        gw_svc_log(identity.svc, GW_SVC_WARN, NULL,
                   "token exchange: an issuer's keys dropped, stale past "
                   "exchange_max_stale",
                   json_pack("{s:s}", "issuer", is->conf.name));
        gw_keyset_free(&is->keys);
        is->have_keys = 0;
        return NULL;
    }

    return &is->keys;
}


int
identity_issuer_refresh(identity_issuer_t *is, int no_keys,
    identity_waiter_t *w, time_t *retry_after)
{
    time_t  now;

    now = identity_now();
    *retry_after = identity_cooldown;

    if (is->nwaiters >= IDENTITY_ISSUER_WAIT_MAX) {
        return 0;
    }

    if (is->fetch == NULL) {

        if (no_keys) {
            /* after a failure, the next try waits for the timer */
            if (is->failing && now - is->attempt < identity_cooldown) {
                *retry_after = identity_cooldown - (now - is->attempt);
                return 0;
            }

        } else {
            if (is->kid_refresh != 0
                && now - is->kid_refresh < identity_cooldown)
            {
                *retry_after = identity_cooldown - (now - is->kid_refresh);
                return 0;
            }

            is->kid_refresh = now;
        }

        if (identity_issuer_fetch(is) != 0) {
            identity_issuer_failed(is, "the fetch could not start", 0);
            return 0;
        }
    }

    w->next = is->waiters;
    is->waiters = w;
    is->nwaiters++;

    return 1;
}


/* starts the fetch of the discovery document or of the keys */

static int
identity_issuer_fetch(identity_issuer_t *is)
{
    is->attempt = identity_now();

    if (is->timer != NULL) {
        evtimer_del(is->timer);
    }

    if (is->have_jwks) {
        is->fetch = identity_fetch(&is->jwks, is->ssl,
                                   identity_issuer_fetched, is);

    } else {
        is->fetch = identity_fetch(&is->discovery, is->ssl,
                                   identity_issuer_discovered, is);
    }

    return (is->fetch != NULL) ? 0 : -1;
}


/*
 * The discovery document: a JSON object whose "issuer" is byte for byte
 * the configured issuer (OpenID Connect Discovery 1.0, section 4.3) and
 * whose "jwks_uri" is on the issuer's origin or one the entry allows.
 */

static void
identity_issuer_discovered(void *data, const identity_fetch_res_t *res)
{
    size_t              i;
    json_t             *doc, *v;
    const char         *err, *uri;
    identity_issuer_t  *is;

    is = data;
    is->fetch = NULL;

    if (res->status != 200) {
        identity_issuer_failed(is, (res->status == 0) ? res->error
                               : "discovery: not a 200 answer", res->status);
        return;
    }

    doc = json_loadb(res->body, res->len, JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(doc)) {
        json_decref(doc);
        identity_issuer_failed(is, "discovery: not a JSON object", 200);
        return;
    }

    v = json_object_get(doc, "issuer");

    if (!json_is_string(v) || json_string_length(v) != is->conf.issuer_len
        || memcmp(json_string_value(v), is->conf.issuer,
                  is->conf.issuer_len) != 0)
    {
        json_decref(doc);
        identity_issuer_failed(is, "discovery: its issuer is not the "
                               "configured one", 200);
        return;
    }

    uri = json_string_value(json_object_get(doc, "jwks_uri"));

    if (uri == NULL || identity_url_parse(&is->jwks, uri, &err) != 0) {
        json_decref(doc);
        identity_issuer_failed(is, "discovery: no http(s) jwks_uri", 200);
        return;
    }

    json_decref(doc);

    for (i = 0; i < is->norigins; i++) {
        if (identity_url_same_origin(&is->jwks, &is->origins[i])) {
            break;
        }
    }

    if (i == is->norigins
        && !identity_url_same_origin(&is->jwks, &is->origin))
    {
        identity_url_free(&is->jwks);
        identity_issuer_failed(is, "discovery: jwks_uri on an origin not "
                               "allowed (see jwks_origins)", 200);
        return;
    }

    gw_svc_metric_add(identity_m_fetches, 1, is->conf.name, "ok");

    is->have_jwks = 1;

    is->fetch = identity_fetch(&is->jwks, is->ssl, identity_issuer_fetched,
                               is);
    if (is->fetch == NULL) {
        identity_issuer_failed(is, "the fetch could not start", 0);
    }
}


static void
identity_issuer_fetched(void *data, const identity_fetch_res_t *res)
{
    time_t              ttl;
    identity_issuer_t  *is;
    gw_keyset_t         ks;
    char                err[128];

    is = data;
    is->fetch = NULL;

    if (res->status != 200) {
        identity_issuer_failed(is, (res->status == 0) ? res->error
                               : "jwks: not a 200 answer", res->status);
        return;
    }

    memset(&ks, 0, sizeof(gw_keyset_t));

    if (gw_keyset_load(&ks, (const unsigned char *) res->body, res->len,
                       GW_KEY_FMT_JWK, NULL, 0, err, sizeof(err))
        != 0)
    {
        identity_issuer_failed(is, "jwks: not a usable key set", 200);
        return;
    }

    gw_keyset_free(&is->keys);
    is->keys = ks;
    is->have_keys = 1;

    ttl = (res->max_age < 0) ? identity_min_ttl : (time_t) res->max_age;
    ttl = (ttl < identity_min_ttl) ? identity_min_ttl : ttl;
    ttl = (ttl > identity_max_ttl) ? identity_max_ttl : ttl;

    is->expires = identity_now() + ttl;

    gw_svc_metric_add(identity_m_fetches, 1, is->conf.name, "ok");
    gw_svc_log(identity.svc, is->failing ? GW_SVC_WARN : GW_SVC_INFO, NULL,
               is->failing ? "token exchange: an issuer's keys fetched "
                             "again"
                           : "token exchange: an issuer's keys fetched",
               json_pack("{s:s, s:i, s:i}", "issuer", is->conf.name,
                         "keys", (int) ks.nkeys, "ttl", (int) ttl));

    is->failing = 0;

    /* refresh ahead of expiry */
    identity_issuer_arm(is, ttl - ttl / 4);
    identity_issuer_wake(is);
}


/*
 * A fetch failed: a warning the first time in an incident, a retry after
 * the cooldown, the waiters woken (they find the keys they had, or
 * none).  A discovered jwks_uri is discovered again next time.
 */

static void
identity_issuer_failed(identity_issuer_t *is, const char *reason,
    int status)
{
    is->fetch = NULL;

    gw_svc_metric_add(identity_m_fetches, 1, is->conf.name, "error");
    gw_svc_log(identity.svc, is->failing ? GW_SVC_INFO : GW_SVC_WARN, NULL,
               "token exchange: an issuer's keys cannot be fetched",
               json_pack("{s:s, s:s, s:i, s:b}", "issuer", is->conf.name,
                         "reason", reason, "status", status, "have_keys",
                         is->have_keys));

    is->failing = 1;

    if (is->discover) {
        identity_url_free(&is->jwks);
        is->have_jwks = 0;
    }

    identity_issuer_arm(is, identity_cooldown);
    identity_issuer_wake(is);
}


static void
identity_issuer_wake(identity_issuer_t *is)
{
    identity_waiter_t  *w, *next;

    w = is->waiters;
    is->waiters = NULL;
    is->nwaiters = 0;

    for ( /* void */ ; w != NULL; w = next) {
        next = w->next;
        w->handler(w);
    }
}


static void
identity_issuer_timer(evutil_socket_t fd, short what, void *arg)
{
    identity_issuer_t  *is;

    is = arg;

    if (is->fetch == NULL && identity_issuer_fetch(is) != 0) {
        identity_issuer_failed(is, "the fetch could not start", 0);
    }
}


static void
identity_issuer_arm(identity_issuer_t *is, time_t secs)
{
    struct timeval  tv;

    if (is->timer == NULL) {
        return;
    }

    tv.tv_sec = (secs > 0) ? secs : 1;
    tv.tv_usec = 0;

    evtimer_add(is->timer, &tv);
}
