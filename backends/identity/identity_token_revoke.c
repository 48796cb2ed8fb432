
/*
 * Copyright (C) Tollgate
 *
 * Introspection (RFC 7662) and revocation (RFC 7009) of our access
 * tokens, and the revoked set they and the gateways share.
 *
 * Revocation is one MULTI/EXEC: ZADD gw:jwt:revoked <exp> <jti> and
 * PUBLISH gw:events "jti <jti>", the path key auth's invalidations take,
 * so every gateway (and every instance of this service) hears of it at
 * once.  Members past their exp are trimmed now and then.
 *
 * Introspection needs no Redis round trip: the revoked set is held here,
 * loaded when the gw:events subscriber (identity_client.c) is subscribed
 * and fed by its "jti" messages since.  While the subscriber is down the
 * set may miss revocations, so a question goes to Redis (ZSCORE); when
 * Redis cannot answer either, the token counts as revoked: fail closed.
 * A token verified once is kept in a direct-mapped cache (its SHA-256 ->
 * the answer's claims, until its exp), so a resource server asking about
 * the same token again costs a hash and a lookup, not a signature check.
 * Any token that is not one of ours, valid, unexpired and unrevoked is
 * {"active": false}, whatever the reason (only the log says it).
 */


#include <stdlib.h>
#include <string.h>

#include "gw_b64url.h"
#include "gw_model.h"
#include "identity_client.h"
#include "identity_token.h"


#define IDENTITY_REVOKED_BUCKETS  4096
#define IDENTITY_TCACHE_SLOTS     8192      /* verified tokens kept */
#define IDENTITY_TRIM_EVERY       60        /* seconds between trims */


typedef struct identity_rev_s  identity_rev_t;

struct identity_rev_s {
    identity_rev_t     *next;
    time_t              exp;
    char                jti[1];
};


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
    identity_revoked_pt done;
    void               *data;
} identity_ask_t;


static void identity_revoke_tick(evutil_socket_t fd, short what, void *arg);
static void identity_revoked_load(void);
static void identity_revoked_loaded(redisAsyncContext *ac, void *r,
    void *data);
static void identity_revoked_add(const char *jti, size_t len, time_t exp);
static int identity_revoked_has(const char *jti);
static void identity_revoked_clear(void);
static void identity_revoked_score(redisAsyncContext *ac, void *r,
    void *data);
static identity_tcache_t *identity_token_known(const char *token,
    size_t len, char *hash);
static void identity_introspect_authed(gw_svc_req_t *req,
    identity_form_t *form, const identity_client_t *client, void *data);
static void identity_introspect_done(void *data, int revoked);
static void identity_inactive(gw_svc_req_t *req);
static void identity_revoke_authed(gw_svc_req_t *req,
    identity_form_t *form, const identity_client_t *client, void *data);
static void identity_revoke_exec(redisAsyncContext *ac, void *r,
    void *data);


static identity_rev_t      *identity_revoked[IDENTITY_REVOKED_BUCKETS];
static int                  identity_revoked_known;
static int                  identity_revoked_want;  /* a load is due */
static unsigned long        identity_revoked_gen;
static time_t               identity_trimmed;

static identity_tcache_t   *identity_tcache;
static struct event        *identity_revoke_timer;
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
    struct timeval  tv;

    identity_revoke_timer = event_new(base, -1, EV_PERSIST,
                                      identity_revoke_tick, NULL);
    if (identity_revoke_timer == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", "no timer for revocations"));
        return;
    }

    tv.tv_sec = 1;
    tv.tv_usec = 0;
    event_add(identity_revoke_timer, &tv);
}


void
identity_revoke_stop(void)
{
    size_t  i;

    if (identity_revoke_timer != NULL) {
        event_free(identity_revoke_timer);
        identity_revoke_timer = NULL;
    }

    identity_revoked_clear();
    identity_revoked_known = 0;

    for (i = 0; identity_tcache != NULL && i < IDENTITY_TCACHE_SLOTS; i++) {
        free(identity_tcache[i].body);
        free(identity_tcache[i].jti);
        free(identity_tcache[i].client_id);
    }

    free(identity_tcache);
    identity_tcache = NULL;
}


/* ---- the revoked set ----------------------------------------------------- */


static unsigned
identity_revoked_bucket(const char *s, size_t len)
{
    size_t    i;
    unsigned  h;

    for (h = 2166136261u, i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 16777619u;
    }

    return h % IDENTITY_REVOKED_BUCKETS;
}


static void
identity_revoked_add(const char *jti, size_t len, time_t exp)
{
    unsigned         b;
    identity_rev_t  *r;

    b = identity_revoked_bucket(jti, len);

    for (r = identity_revoked[b]; r != NULL; r = r->next) {
        if (strlen(r->jti) == len && memcmp(r->jti, jti, len) == 0) {
            if (exp > r->exp) {
                r->exp = exp;
            }

            return;
        }
    }

    r = malloc(sizeof(identity_rev_t) + len);
    if (r == NULL) {
        /* cannot remember it: ask Redis until the next load */
        identity_revoked_known = 0;
        identity_revoked_want = 1;
        return;
    }

    r->exp = exp;
    memcpy(r->jti, jti, len);
    r->jti[len] = '\0';
    r->next = identity_revoked[b];
    identity_revoked[b] = r;
}


static int
identity_revoked_has(const char *jti)
{
    size_t           len;
    identity_rev_t  *r;

    len = strlen(jti);

    for (r = identity_revoked[identity_revoked_bucket(jti, len)];
         r != NULL;
         r = r->next)
    {
        if (strcmp(r->jti, jti) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
identity_revoked_clear(void)
{
    size_t           i;
    identity_rev_t  *r;

    for (i = 0; i < IDENTITY_REVOKED_BUCKETS; i++) {
        while (identity_revoked[i] != NULL) {
            r = identity_revoked[i];
            identity_revoked[i] = r->next;
            free(r);
        }
    }
}


/*
 * A "jti" message: the exp is not in it, so the entry lives for the
 * longest a token of ours lives; the next load (or trim) corrects it.
 */

void
identity_token_revoked_event(const char *jti, size_t len)
{
    identity_revoked_add(jti, len,
                         identity_now() + identity.token_ttl
                         + identity.leeway);
}


void
identity_token_events(int up)
{
    identity_revoked_known = 0;
    identity_revoked_gen++;

    if (up) {
        identity_revoked_clear();
        identity_revoked_want = 1;
        identity_revoked_load();
    }
}


static void
identity_revoked_load(void)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(identity.svc);
    if (ac == NULL) {
        return;
    }

    identity_revoked_want = 0;

    if (redisAsyncCommand(ac, identity_revoked_loaded,
                          (void *) identity_revoked_gen,
                          "ZRANGEBYSCORE " GW_MODEL_JWT_REVOKED
                          " %lld +inf WITHSCORES",
                          (long long) (identity_now() - identity.leeway))
        != REDIS_OK)
    {
        identity_revoked_want = 1;
    }
}


static void
identity_revoked_loaded(redisAsyncContext *ac, void *r, void *data)
{
    size_t       i;
    redisReply  *reply, *m, *s;

    reply = r;

    if ((unsigned long) data != identity_revoked_gen) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        identity_revoked_want = 1;
        return;
    }

    for (i = 0; i + 1 < reply->elements; i += 2) {
        m = reply->element[i];
        s = reply->element[i + 1];

        if (m->type == REDIS_REPLY_STRING && s->type == REDIS_REPLY_STRING) {
            identity_revoked_add(m->str, m->len,
                                 (time_t) strtoll(s->str, NULL, 10));
        }
    }

    if (!identity_revoked_want) {
        identity_revoked_known = 1;
        gw_svc_log(identity.svc, GW_SVC_INFO, NULL, "revoked tokens loaded",
                   json_pack("{s:I}", "count",
                             (json_int_t) (reply->elements / 2)));
    }
}


/*
 * Every second: a load that is due; every IDENTITY_TRIM_EVERY seconds,
 * the entries past exp go, here and in Redis.
 */

static void
identity_revoke_tick(evutil_socket_t fd, short what, void *arg)
{
    size_t              i;
    time_t              now;
    identity_rev_t     *r, **pp;
    redisAsyncContext  *ac;

    if (identity_revoked_want) {
        identity_revoked_load();
    }

    now = identity_now();

    if (now - identity_trimmed < IDENTITY_TRIM_EVERY) {
        return;
    }

    identity_trimmed = now;

    for (i = 0; i < IDENTITY_REVOKED_BUCKETS; i++) {
        pp = &identity_revoked[i];

        while (*pp != NULL) {
            r = *pp;

            if (r->exp + identity.leeway < now) {
                *pp = r->next;
                free(r);

            } else {
                pp = &r->next;
            }
        }
    }

    ac = gw_svc_redis(identity.svc);

    if (ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL,
                          "ZREMRANGEBYSCORE " GW_MODEL_JWT_REVOKED
                          " -inf (%lld",
                          (long long) (now - identity.leeway));
    }
}


void
identity_token_check_revoked(const char *jti, identity_revoked_pt done,
    void *data)
{
    identity_ask_t     *ask;
    redisAsyncContext  *ac;

    if (identity_revoked_known) {
        done(data, identity_revoked_has(jti));
        return;
    }

    if (identity_revoked_has(jti)) {
        done(data, 1);
        return;
    }

    ac = gw_svc_redis(identity.svc);
    ask = (ac != NULL) ? calloc(1, sizeof(identity_ask_t)) : NULL;

    if (ask == NULL) {
        done(data, -1);
        return;
    }

    ask->done = done;
    ask->data = data;

    if (redisAsyncCommand(ac, identity_revoked_score, ask,
                          "ZSCORE " GW_MODEL_JWT_REVOKED " %s", jti)
        != REDIS_OK)
    {
        free(ask);
        done(data, -1);
    }
}


static void
identity_revoked_score(redisAsyncContext *ac, void *r, void *data)
{
    redisReply      *reply;
    identity_ask_t  *ask;

    ask = data;
    reply = r;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ask->done(ask->data, -1);

    } else {
        ask->done(ask->data, reply->type != REDIS_REPLY_NIL);
    }

    free(ask);
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


void
identity_introspect_handler(gw_svc_req_t *req, void *data)
{
    const char       *err;
    identity_form_t  *form;

    form = identity_form_parse(req, identity_intro_form_max, &err);

    if (form == NULL) {
        identity_token_error(req, err != NULL ? 400 : 503,
                             err != NULL ? "invalid_request"
                                         : "temporarily_unavailable",
                             err != NULL ? err : "out of memory");
        return;
    }

    identity_client_auth(req, form, identity_introspect_authed, NULL);
}


static void
identity_introspect_authed(gw_svc_req_t *req, identity_form_t *form,
    const identity_client_t *client, void *data)
{
    const char         *token;
    identity_ask_t     *ask;
    identity_tcache_t  *e;
    char                hash[65];

    if (client == NULL) {
        identity_form_free(form);
        return;
    }

    token = identity_form_get(form, "token");

    if (token == NULL) {
        identity_form_free(form);
        identity_token_error(req, 400, "invalid_request",
                             "token is required");
        return;
    }

    e = identity_token_known(token, strlen(token), hash);
    identity_form_free(form);

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
    const char       *err;
    identity_form_t  *form;

    form = identity_form_parse(req, identity_intro_form_max, &err);

    if (form == NULL) {
        identity_token_error(req, err != NULL ? 400 : 503,
                             err != NULL ? "invalid_request"
                                         : "temporarily_unavailable",
                             err != NULL ? err : "out of memory");
        return;
    }

    identity_client_auth(req, form, identity_revoke_authed, NULL);
}


static void
identity_revoke_authed(gw_svc_req_t *req, identity_form_t *form,
    const identity_client_t *client, void *data)
{
    const char         *token;
    identity_ask_t     *ask;
    identity_tcache_t  *e;
    redisAsyncContext  *ac;
    char                hash[65];

    if (client == NULL) {
        identity_form_free(form);
        return;
    }

    token = identity_form_get(form, "token");

    if (token == NULL) {
        identity_form_free(form);
        identity_token_error(req, 400, "invalid_request",
                             "token is required");
        return;
    }

    e = identity_token_known(token, strlen(token), hash);
    identity_form_free(form);

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

    if (ask->body == NULL
        || redisAsyncCommand(ac, NULL, NULL, "MULTI") != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL,
                             "ZADD " GW_MODEL_JWT_REVOKED " %lld %s",
                             (long long) e->exp, e->jti) != REDIS_OK
        || redisAsyncCommand(ac, NULL, NULL,
                             "PUBLISH " GW_MODEL_EVENTS " "
                             GW_MODEL_EVENT_JTI " %s", e->jti) != REDIS_OK
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
        gw_svc_log(identity.svc, GW_SVC_ERROR, ask->req,
                   "revocation not stored",
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
