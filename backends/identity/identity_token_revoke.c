
/*
 * Copyright (C) Tollgate
 *
 * Introspection (RFC 7662) and revocation (RFC 7009) of our access
 * tokens.
 *
 * Revocation is one MULTI/EXEC: ZADD gw:jwt:revoked <exp> <jti> and
 * PUBLISH gw:events "jti <jti>", the path key auth's invalidations take,
 * so every gateway (and every instance of this service) hears of it at
 * once.  Members past their exp are trimmed now and then.
 *
 * Introspection needs no Redis round trip: the revoked set is held in
 * memory (identity_token_revoked.c), and when it cannot be known, the
 * token counts as revoked: fail closed.  A token verified once is kept
 * in a direct-mapped cache (its SHA-256 -> the answer's claims, until
 * its exp), so a resource server asking about the same token again
 * costs a hash and a lookup, not a signature check.
 * Any token that is not one of ours, valid, unexpired and unrevoked is
 * {"active": false}, whatever the reason (only the log says it).
 */


#include <stdlib.h>
#include <string.h>

#include "gw_b64url.h"
#include "gw_model.h"
#include "identity_client.h"
#include "identity_token.h"


#define IDENTITY_TCACHE_SLOTS     8192      /* verified tokens kept */


typedef struct {
    char                hash[65];           /* "": empty slot */
    time_t              exp;
    char               *body;               /* the active answer */
    char               *jti;
    char               *client_id;
} identity_tcache_t;


typedef struct {
    gw_svc_req_t       *req;
    char               *body;
} identity_ask_t;


static identity_tcache_t *identity_token_known(const char *token,
    size_t len, char *hash);
static void identity_introspect_authed(gw_svc_req_t *req,
    gw_form_t *form, const identity_client_t *client, void *data);
static void identity_introspect_done(void *data, int revoked);
static void identity_inactive(gw_svc_req_t *req);
static void identity_revoke_authed(gw_svc_req_t *req,
    gw_form_t *form, const identity_client_t *client, void *data);
static void identity_revoke_exec(redisAsyncContext *ac, void *r,
    void *data);



static identity_tcache_t   *identity_tcache;
static size_t               identity_intro_form_max;

static gw_svc_metric_t     *identity_m_intro;


int
identity_revoke_setup(gw_svc_t *svc)
{
    static const char  *labels[] = { "result", NULL };

    identity_intro_form_max = gw_svc_conf_int(svc, "form_max");

    identity_tcache = calloc(IDENTITY_TCACHE_SLOTS,
                             sizeof(identity_tcache_t));
    identity_m_intro = gw_svc_counter(svc, "identity_introspections_total",
                                      "Introspection answers, by result",
                                      labels);

    if (identity_tcache == NULL || identity_m_intro == NULL) {
        return -1;
    }

    return 0;
}


void
identity_revoke_start(struct event_base *base)
{
    identity_revoked_start(base);
}


void
identity_revoke_stop(void)
{
    size_t  i;

    identity_revoked_stop();

    for (i = 0; identity_tcache != NULL && i < IDENTITY_TCACHE_SLOTS; i++) {
        free(identity_tcache[i].body);
        free(identity_tcache[i].jti);
        free(identity_tcache[i].client_id);
    }

    free(identity_tcache);
    identity_tcache = NULL;
}


/* ---- tokens of ours ------------------------------------------------------ */


/*
 * The answer for token when it is one of ours, valid and unexpired (its
 * revocation aside): from the cache, or verified now and cached.  NULL
 * when it is not; hash gets the token's SHA-256 in hex either way.
 */

static identity_tcache_t *
identity_token_known(const char *token, size_t len, char *hash)
{
    char               *hdr;
    time_t              now;
    ssize_t             n;
    json_t             *claims, *header, *out, *v;
    gw_jws_t            jws;
    const char         *err, *dot, *why;
    unsigned long       slot;
    identity_tcache_t  *e;

    static const char  *copy[] = {
        "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf",
        "jti", "act", NULL
    };
    size_t              i;

    now = identity_now();

    if (len == 0 || len > IDENTITY_TOKEN_MAX
        || identity_sha256_hex(token, len, hash) != 0)
    {
        return NULL;
    }

    slot = strtoul((char []) { hash[0], hash[1], hash[2], hash[3], '\0' },
                   NULL, 16) % IDENTITY_TCACHE_SLOTS;
    e = &identity_tcache[slot];

    if (memcmp(e->hash, hash, 64) == 0) {
        if (now < e->exp) {
            gw_svc_metric_add(identity_m_intro, 1, "cached");
            return e;
        }

        return NULL;
    }

    memset(&jws, 0, sizeof(gw_jws_t));

    if (identity_keys_verify(&jws, token, len, &err) != 0) {
        gw_jws_free(&jws);
        gw_svc_log(identity.svc, GW_SVC_DEBUG, NULL, "token not ours",
                   json_pack("{s:s}", "reason", err));
        return NULL;
    }

    why = NULL;
    out = NULL;

    /* the header again, for its typ, whichever path parsed it */

    dot = memchr(token, '.', len);
    hdr = malloc(gw_b64url_decoded_len(dot - token) + 1);
    header = NULL;

    if (hdr != NULL) {
        n = gw_b64url_decode((unsigned char *) hdr,
                             (const unsigned char *) token, dot - token);
        header = (n > 0) ? json_loadb(hdr, n, 0, NULL) : NULL;
        free(hdr);
    }

    claims = gw_jws_payload(&jws);
    v = json_object_get(header, "typ");

    if (!json_is_string(v) || strcmp(json_string_value(v), "at+jwt") != 0) {
        why = "not an access token";

    } else if (claims == NULL
               || !json_is_string(json_object_get(claims, "iss"))
               || strcmp(json_string_value(json_object_get(claims, "iss")),
                         identity.issuer) != 0)
    {
        why = "another issuer";

    } else if (!json_is_integer(json_object_get(claims, "exp"))
               || json_integer_value(json_object_get(claims, "exp"))
                  <= (json_int_t) now)
    {
        why = "expired";

    } else if (!json_is_string(json_object_get(claims, "jti"))
               || !json_is_string(json_object_get(claims, "client_id")))
    {
        why = "no jti or client_id";
    }

    json_decref(header);

    if (why != NULL) {
        gw_svc_log(identity.svc, GW_SVC_DEBUG, NULL, "token not active",
                   json_pack("{s:s}", "reason", why));
        gw_jws_free(&jws);
        return NULL;
    }

    out = json_pack("{s:b, s:s}", "active", 1, "token_type", "Bearer");

    for (i = 0; out != NULL && copy[i] != NULL; i++) {
        v = json_object_get(claims, copy[i]);

        if (v != NULL) {
            json_object_set(out, copy[i], v);
        }
    }

    free(e->body);
    free(e->jti);
    free(e->client_id);

    e->body = (out != NULL) ? json_dumps(out, JSON_COMPACT) : NULL;
    e->jti = strdup(json_string_value(json_object_get(claims, "jti")));
    e->client_id = strdup(json_string_value(json_object_get(claims,
                                                            "client_id")));
    e->exp = (time_t) json_integer_value(json_object_get(claims, "exp"));

    json_decref(out);
    gw_jws_free(&jws);

    if (e->body == NULL || e->jti == NULL || e->client_id == NULL) {
        e->hash[0] = '\0';
        return NULL;
    }

    memcpy(e->hash, hash, 65);
    gw_svc_metric_add(identity_m_intro, 1, "verified");

    return e;
}


/*
 * Both endpoints take a form from an authenticated client: the form is
 * parsed (400 invalid_request when malformed, 503 without memory) and the
 * client authenticated before done runs.
 */

static void
identity_form_auth(gw_svc_req_t *req, identity_auth_pt done)
{
    gw_form_t   *form;
    const char  *err;

    form = identity_form_parse(req, identity_intro_form_max, &err);

    if (form == NULL) {
        identity_token_error(req, err != NULL ? 400 : 503,
                             err != NULL ? "invalid_request"
                                         : "temporarily_unavailable",
                             err != NULL ? err : "out of memory");
        return;
    }

    identity_client_auth(req, form, done, NULL);
}


void
identity_introspect_handler(gw_svc_req_t *req, void *data)
{
    identity_form_auth(req, identity_introspect_authed);
}


static void
identity_introspect_authed(gw_svc_req_t *req, gw_form_t *form,
    const identity_client_t *client, void *data)
{
    const char         *token;
    identity_ask_t     *ask;
    identity_tcache_t  *e;
    char                hash[65];

    if (client == NULL) {
        gw_form_free(form);
        return;
    }

    token = gw_form_get(form, "token");

    if (token == NULL) {
        gw_form_free(form);
        identity_token_error(req, 400, "invalid_request",
                             "token is required");
        return;
    }

    e = identity_token_known(token, strlen(token), hash);
    gw_form_free(form);

    if (e == NULL) {
        identity_inactive(req);
        return;
    }

    ask = calloc(1, sizeof(identity_ask_t));
    if (ask != NULL) {
        ask->body = strdup(e->body);
    }

    if (ask == NULL || ask->body == NULL) {
        free(ask);
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        return;
    }

    ask->req = req;

    identity_token_check_revoked(e->jti, identity_introspect_done, ask);
}


static void
identity_introspect_done(void *data, int revoked)
{
    identity_ask_t  *ask;

    ask = data;

    if (revoked != 0) {
        if (revoked < 0) {
            gw_svc_log(identity.svc, GW_SVC_WARN, ask->req,
                       "revocation unknown, token taken as inactive", NULL);
        }

        identity_inactive(ask->req);

    } else {
        gw_svc_req_add_header(ask->req, "Cache-Control", "no-store");
        gw_svc_reply(ask->req, 200, "application/json", ask->body,
                     strlen(ask->body));
    }

    free(ask->body);
    free(ask);
}


static void
identity_inactive(gw_svc_req_t *req)
{
    static const char  body[] = "{\"active\":false}";

    gw_svc_metric_add(identity_m_intro, 1, "inactive");
    gw_svc_req_add_header(req, "Cache-Control", "no-store");
    gw_svc_reply(req, 200, "application/json", body, sizeof(body) - 1);
}


/* ---- revocation ---------------------------------------------------------- */


void
identity_revoke_handler(gw_svc_req_t *req, void *data)
{
    identity_form_auth(req, identity_revoke_authed);
}


static void
identity_revoke_authed(gw_svc_req_t *req, gw_form_t *form,
    const identity_client_t *client, void *data)
{
    const char         *token;
    identity_ask_t     *ask;
    identity_tcache_t  *e;
    redisAsyncContext  *ac;
    char                hash[65];
    char                event[sizeof(GW_MODEL_EVENT_JTI) + 1 + 512];

    if (client == NULL) {
        gw_form_free(form);
        return;
    }

    token = gw_form_get(form, "token");

    if (token == NULL) {
        gw_form_free(form);
        identity_token_error(req, 400, "invalid_request",
                             "token is required");
        return;
    }

    e = identity_token_known(token, strlen(token), hash);
    gw_form_free(form);

    /* RFC 7009 section 2.2: an invalid token is no error */

    if (e == NULL) {
        gw_svc_reply(req, 200, NULL, "", 0);
        return;
    }

    if (strcmp(e->client_id, client->id) != 0) {
        gw_svc_log(identity.svc, GW_SVC_INFO, req,
                   "revocation refused: another client's token",
                   json_pack("{s:s}", "client_id", client->id));
        identity_token_error(req, 400, "unauthorized_client",
                             "the token was issued to another client");
        return;
    }

    ac = gw_svc_redis(identity.svc);
    ask = (ac != NULL) ? calloc(1, sizeof(identity_ask_t)) : NULL;

    if (ask == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "revocations cannot be stored now");
        return;
    }

    ask->req = req;
    ask->body = strdup(e->jti);

    /* one argument: "jti <jti>" (the jti is valid as an id) */

    snprintf(event, sizeof(event), GW_MODEL_EVENT_JTI " %s", e->jti);

    if (ask->body == NULL
        || redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL,
                             "ZADD " GW_MODEL_JWT_REVOKED " %lld %s",
                             (long long) e->exp, e->jti) != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL, "PUBLISH " GW_MODEL_EVENTS
                             " %s", event) != REDIS_OK
        || redisAsyncCommand(ac, identity_revoke_exec, ask, "EXEC")
           != REDIS_OK)
    {
        free(ask->body);
        free(ask);
        identity_token_error(req, 503, "temporarily_unavailable",
                             "revocations cannot be stored now");
        return;
    }

    identity_revoked_add(e->jti, strlen(e->jti), e->exp);
}


static void
identity_revoke_exec(redisAsyncContext *ac, void *r, void *data)
{
    redisReply      *reply;
    identity_ask_t  *ask;

    ask = data;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        gw_svc_log(identity.svc, reply != NULL ? GW_SVC_ERROR : GW_SVC_WARN,
                   ask->req, "revocation not stored",
                   json_pack("{s:s}", "error",
                             reply != NULL && reply->type
                                              == REDIS_REPLY_ERROR
                             ? reply->str : "redis down"));
        identity_token_error(ask->req, 503, "temporarily_unavailable",
                             "revocations cannot be stored now");

    } else {
        gw_svc_log(identity.svc, GW_SVC_INFO, ask->req, "token revoked",
                   json_pack("{s:s}", "jti", ask->body));
        gw_svc_reply(ask->req, 200, NULL, "", 0);
    }

    free(ask->body);
    free(ask);
}
