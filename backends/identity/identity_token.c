
/*
 * Copyright (C) Tollgate
 *
 * The token endpoint (POST /oauth2/token): the client credentials grant
 * (RFC 6749 section 4.4) and, once the client is authenticated, the
 * token exchange grant (RFC 8693, identity_exchange.c); the minting of
 * RFC 9068 access tokens for both; and the RFC 6749 section 5.2 errors
 * of every endpoint of this service that a client authenticates to.
 *
 * The order of the checks: the form (invalid_request), a grant_type
 * (invalid_request), the client (invalid_client, 401), the grant
 * (unsupported_grant_type, then unauthorized_client when the client's
 * record does not list it), then the grant's own parameters: scope
 * (invalid_scope) and resource (RFC 8707, invalid_target).  No input
 * makes a 500: what we cannot do now (no signing key, Redis down) is a
 * 503 with temporarily_unavailable.
 *
 * An exchange may answer later than identity_exchange_grant() returns;
 * the form and the client's record are kept for it until it answers
 * through identity_token_issue() or identity_token_error().
 */


#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "gw_b64url.h"
#include "gw_model.h"
#include "identity_client.h"
#include "identity_token.h"


#define IDENTITY_GRANT_CC     "client_credentials"
#define IDENTITY_GRANT_TX                                                     \
    "urn:ietf:params:oauth:grant-type:token-exchange"
#define IDENTITY_JTI_BYTES    16
#define IDENTITY_SCOPES_MAX   64          /* scope tokens in a request */


typedef struct identity_pending_s  identity_pending_t;

struct identity_pending_s {
    identity_pending_t     *next;
    gw_svc_req_t           *req;
    gw_form_t              *form;
    identity_crec_t        *rec;
};


static void identity_token_handler(gw_svc_req_t *req, void *data);
static void identity_token_authed(gw_svc_req_t *req, gw_form_t *form,
    const identity_client_t *client, void *data);
static void identity_token_cc(gw_svc_req_t *req,
    const identity_client_t *client, gw_form_t *form);
static int identity_list_has(const char *list, const char *s, size_t len);
static void identity_pending_end(gw_svc_req_t *req);


static identity_pending_t  *identity_pending;
static size_t               identity_form_max;
static gw_svc_metric_t     *identity_m_tokens;
static gw_svc_metric_t     *identity_m_errors;


int
identity_token_setup(gw_svc_t *svc)
{
    static const char  *grant[] = { "grant", NULL };
    static const char  *error[] = { "error", NULL };

    identity_form_max = gw_svc_conf_int(svc, "form_max");

    identity_m_tokens = gw_svc_counter(svc, "identity_tokens_issued_total",
                                       "Access tokens issued, by grant",
                                       grant);
    identity_m_errors = gw_svc_counter(svc, "identity_token_errors_total",
                                       "RFC 6749 errors answered, by error",
                                       error);

    if (identity_m_tokens == NULL || identity_m_errors == NULL
        || identity_client_setup(svc) != 0
        || identity_revoke_setup(svc) != 0
        || gw_svc_route(svc, GW_SVC_POST, "/oauth2/token", 0,
                        identity_token_handler, NULL) != 0
        || gw_svc_route(svc, GW_SVC_POST, "/oauth2/introspect", 0,
                        identity_introspect_handler, NULL) != 0
        || gw_svc_route(svc, GW_SVC_POST, "/oauth2/revoke", 0,
                        identity_revoke_handler, NULL) != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        return -1;
    }

    return 0;
}


void
identity_token_start(struct event_base *base)
{
    identity_client_start(base);
    identity_revoke_start(base);
}


void
identity_token_stop(void)
{
    identity_pending_t  *p;

    while (identity_pending != NULL) {
        p = identity_pending;
        identity_pending = p->next;
        gw_form_free(p->form);
        identity_client_release(p->rec);
        free(p);
    }

    identity_revoke_stop();
    identity_client_stop();
}


static void
identity_token_handler(gw_svc_req_t *req, void *data)
{
    gw_form_t   *form;
    const char  *err;

    form = identity_form_parse(req, identity_form_max, &err);

    if (form == NULL) {
        if (err == NULL) {
            identity_token_error(req, 503, "temporarily_unavailable",
                                 "out of memory");

        } else {
            identity_token_error(req, 400, "invalid_request", err);
        }

        return;
    }

    if (gw_form_get(form, "grant_type") == NULL) {
        identity_token_error(req, 400, "invalid_request",
                             "grant_type is required");
        gw_form_free(form);
        return;
    }

    identity_client_auth(req, form, identity_token_authed, NULL);
}


static void
identity_token_authed(gw_svc_req_t *req, gw_form_t *form,
    const identity_client_t *client, void *data)
{
    const char          *grant;
    identity_pending_t  *p;

    if (client == NULL) {
        gw_form_free(form);
        return;
    }

    grant = gw_form_get(form, "grant_type");

    if (strcmp(grant, IDENTITY_GRANT_CC) != 0
        && strcmp(grant, IDENTITY_GRANT_TX) != 0)
    {
        identity_token_error(req, 400, "unsupported_grant_type",
                             "the grant_type is not supported");
        gw_form_free(form);
        return;
    }

    if (!identity_client_grant_allowed(client, grant)) {
        identity_token_error(req, 400, "unauthorized_client",
                             "the client may not use this grant_type");
        gw_form_free(form);
        return;
    }

    if (strcmp(grant, IDENTITY_GRANT_CC) == 0) {
        identity_token_cc(req, client, form);
        gw_form_free(form);
        return;
    }

    p = malloc(sizeof(identity_pending_t));
    if (p == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        gw_form_free(form);
        return;
    }

    p->req = req;
    p->form = form;
    p->rec = (identity_crec_t *) client;
    p->rec->refs++;
    p->next = identity_pending;
    identity_pending = p;

    identity_exchange_grant(req, client, form);
}


/* forgets what an exchange kept for req, once it answered */

static void
identity_pending_end(gw_svc_req_t *req)
{
    identity_pending_t  *p, **pp;

    for (pp = &identity_pending; *pp != NULL; pp = &(*pp)->next) {
        p = *pp;

        if (p->req == req) {
            *pp = p->next;
            gw_form_free(p->form);
            identity_client_release(p->rec);
            free(p);
            return;
        }
    }
}


/* 1 when the space-separated list holds s (len bytes) */

static int
identity_list_has(const char *list, const char *s, size_t len)
{
    size_t  n;

    for ( ;; ) {
        list += strspn(list, " ");

        if (*list == '\0') {
            return 0;
        }

        n = strcspn(list, " ");

        if (n == len && memcmp(list, s, len) == 0) {
            return 1;
        }

        list += n;
    }
}


/*
 * The client credentials grant: the scopes asked for, each allowed (or
 * the default ones when none is asked for), and the resources, each
 * allowed (or the default audience).  sub is the client.
 */

static void
identity_token_cc(gw_svc_req_t *req, const identity_client_t *client,
    gw_form_t *form)
{
    char              *scope, *aud, *d;
    size_t             i, n, len, total;
    const char        *asked, *p, *res;
    identity_issue_t   is;

    asked = gw_form_get(form, "scope");
    if (asked == NULL) {
        asked = client->default_scopes;
    }

    scope = malloc(strlen(asked) + 1);
    if (scope == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        return;
    }

    d = scope;
    *d = '\0';
    n = 0;

    for (p = asked; *p != '\0'; p += len) {

        /* RFC 6749 section 3.3: scope-tokens separated by one space */

        if (*p == ' ') {
            if (p == asked || p[1] == ' ' || p[1] == '\0') {
                goto bad_scope;
            }

            p++;
        }

        len = strcspn(p, " ");

        for (i = 0; i < len; i++) {
            if ((unsigned char) p[i] < 0x21 || p[i] == '"' || p[i] == '\\'
                || (unsigned char) p[i] > 0x7e)
            {
                goto bad_scope;
            }
        }

        if (++n > IDENTITY_SCOPES_MAX
            || !identity_list_has(client->scopes, p, len))
        {
            goto bad_scope;
        }

        if (identity_list_has(scope, p, len)) {
            continue;
        }

        if (d != scope) {
            *d++ = ' ';
        }

        memcpy(d, p, len);
        d += len;
        *d = '\0';
    }

    *d = '\0';

    /* the resources: RFC 8707, absolute URIs without a fragment */

    total = 0;

    for (i = 0; (res = gw_form_nth(form, "resource", i)) != NULL; i++) {
        if (strchr(res, '#') != NULL || strchr(res, ':') == NULL
            || strchr(res, ' ') != NULL
            || !identity_list_has(client->audiences, res, strlen(res)))
        {
            identity_token_error(req, 400, "invalid_target",
                                 "a resource is not allowed for the client");
            free(scope);
            return;
        }

        total += strlen(res) + 1;
    }

    if (i == 0) {
        if (client->default_audience[0] == '\0') {
            identity_token_error(req, 400, "invalid_target",
                                 "no resource asked for and none by "
                                 "default");
            free(scope);
            return;
        }

        aud = strdup(client->default_audience);

    } else {
        aud = malloc(total);
    }

    if (aud == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        free(scope);
        return;
    }

    if (i > 0) {
        d = aud;
        *d = '\0';

        for (i = 0; (res = gw_form_nth(form, "resource", i)) != NULL;
             i++)
        {
            len = strlen(res);

            if (identity_list_has(aud, res, len)) {
                continue;
            }

            if (d != aud) {
                *d++ = ' ';
            }

            memcpy(d, res, len);
            d += len;
            *d = '\0';
        }
    }

    is.sub = client->id;
    is.client_id = client->id;
    is.scope = scope;
    is.aud = aud;
    is.act = NULL;
    is.issued_token_type = NULL;

    identity_token_issue(req, &is);

    free(scope);
    free(aud);

    return;

bad_scope:

    free(scope);
    identity_token_error(req, 400, "invalid_scope",
                         "a scope is malformed or not allowed for the "
                         "client");
}


void
identity_token_issue(gw_svc_req_t *req, const identity_issue_t *is)
{
    char           *payload, *token;
    size_t          len, tlen;
    time_t          now;
    json_t         *claims, *aud, *answer;
    const char     *p, *grant;
    unsigned char   rnd[IDENTITY_JTI_BYTES];
    char            jti[gw_b64url_encoded_len(IDENTITY_JTI_BYTES) + 1];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "no random numbers");
        return;
    }

    len = gw_b64url_encode((unsigned char *) jti, rnd, sizeof(rnd));
    jti[len] = '\0';

    now = identity_now();

    /* "aud": a string for one resource, an array for several */

    if (strchr(is->aud, ' ') == NULL) {
        aud = json_string(is->aud);

    } else {
        aud = json_array();

        for (p = is->aud; aud != NULL && *p != '\0'; p += len) {
            p += strspn(p, " ");
            len = strcspn(p, " ");

            if (len > 0
                && json_array_append_new(aud, json_stringn(p, len)) != 0)
            {
                json_decref(aud);
                aud = NULL;
            }
        }
    }

    claims = json_pack("{s:s, s:s, s:o?, s:I, s:I, s:s, s:s}",
                       "iss", identity.issuer,
                       "sub", is->sub,
                       "aud", aud,
                       "exp", (json_int_t) (now + identity.token_ttl),
                       "iat", (json_int_t) now,
                       "jti", jti,
                       "client_id", is->client_id);

    if (claims != NULL && is->scope != NULL && is->scope[0] != '\0') {
        json_object_set_new(claims, "scope", json_string(is->scope));
    }

    if (claims != NULL && is->act != NULL) {
        json_object_set(claims, "act", is->act);
    }

    payload = (claims != NULL) ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);

    if (payload == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        return;
    }

    token = identity_keys_sign("at+jwt", payload, strlen(payload), &tlen);
    free(payload);

    if (token == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "no signing key now");
        return;
    }

    answer = json_pack("{s:s%, s:s, s:I}",
                       "access_token", token, tlen,
                       "token_type", "Bearer",
                       "expires_in", (json_int_t) identity.token_ttl);
    free(token);

    if (answer != NULL && is->scope != NULL && is->scope[0] != '\0') {
        json_object_set_new(answer, "scope", json_string(is->scope));
    }

    if (answer != NULL && is->issued_token_type != NULL) {
        json_object_set_new(answer, "issued_token_type",
                            json_string(is->issued_token_type));
    }

    if (answer == NULL) {
        identity_token_error(req, 503, "temporarily_unavailable",
                             "out of memory");
        return;
    }

    grant = (is->issued_token_type != NULL) ? "token_exchange"
                                            : "client_credentials";
    gw_svc_metric_add(identity_m_tokens, 1, grant);

    identity_pending_end(req);

    gw_svc_req_add_header(req, "Cache-Control", "no-store");
    gw_svc_req_add_header(req, "Pragma", "no-cache");
    gw_svc_reply_json(req, 200, answer);
}


void
identity_token_error(gw_svc_req_t *req, int status, const char *error,
    const char *description)
{
    char     realm[sizeof("Basic realm=\"\"") + 512];
    json_t  *body;

    identity_pending_end(req);
    gw_svc_metric_add(identity_m_errors, 1, error);

    if (status == 401) {
        snprintf(realm, sizeof(realm), "Basic realm=\"%.*s\"",
                 (int) (identity.issuer_len < 512 ? identity.issuer_len
                                                  : 512),
                 identity.issuer);
        gw_svc_req_add_header(req, "WWW-Authenticate", realm);
    }

    gw_svc_req_add_header(req, "Cache-Control", "no-store");
    gw_svc_req_add_header(req, "Pragma", "no-cache");

    body = json_pack("{s:s}", "error", error);

    if (body != NULL && description != NULL) {
        json_object_set_new(body, "error_description",
                            json_string(description));
    }

    gw_svc_reply_json(req, status, body);
}
