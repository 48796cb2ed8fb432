
/*
 * Copyright (C) Tollgate
 *
 * The token exchange grant (RFC 8693) for an authenticated client
 * (docs/identity.md, "Token exchange"): a subject token, ours or an
 * external issuer's, becomes one of our access tokens for another
 * audience with narrower scopes.
 *
 * The request is judged before its token: the parameters (RFC 8693
 * section 2.1), the target (the client's allowed audiences) and the
 * scope syntax; then the subject token, routed by its "iss" (read
 * unverified, only to pick the keys) to our keys or to an external
 * issuer's, and held to the gateway's rules: the JWS parsing and
 * signature checks of lib/jose, exp/nbf/iat with leeway, and for ours
 * typ at+jwt and the revocation list (fail closed).  The granted scope
 * is always within both the subject token's and the client's.
 *
 * A request may wait: for the revocation answer, or for an external
 * issuer's keys being fetched.  Its state lives in one context, listed
 * so that the end of the loop frees what is still waiting.  Verifying
 * the subject token is in identity_exchange_subject.c.
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "identity_exchange_int.h"


#define IDENTITY_XCHG_PREFIX     "urn:ietf:params:oauth:token-type:"
#define IDENTITY_XCHG_AT         IDENTITY_XCHG_PREFIX "access_token"
#define IDENTITY_XCHG_JWT        IDENTITY_XCHG_PREFIX "jwt"


static int identity_xchg_target(identity_xchg_t *x,
    const identity_client_t *client, gw_form_t *form);
static char *identity_xchg_narrow(identity_xchg_t *x, const char **err);
static int identity_xchg_subject_scopes(json_t *claims, char *buf,
    size_t size);
static int identity_xchg_in(const char *list, const char *word, size_t len);
static int identity_xchg_scope_ok(const char *s);
static void identity_xchg_free(identity_xchg_t *x);


static identity_xchg_t   *identity_xchgs;
static gw_svc_metric_t   *identity_m_exchanges;


int
identity_exchange_setup(gw_svc_t *svc)
{
    static const char *const  labels[] = { "result", NULL };

    identity_m_exchanges = gw_svc_counter(svc, "identity_exchanges_total",
                               "Token exchange requests by result (ok or "
                               "the RFC 6749 error)", labels);
    if (identity_m_exchanges == NULL) {
        return -1;
    }

    return identity_issuers_load(svc,
                                 gw_svc_conf_str(svc, "exchange_issuers"));
}


void
identity_exchange_start(struct event_base *base)
{
    identity_issuers_start(base);
}


void
identity_exchange_stop(void)
{
    identity_issuers_stop();

    /* the loop is over: nobody is answered any more */
    while (identity_xchgs != NULL) {
        identity_xchg_free(identity_xchgs);
    }

    identity_issuers_free();
}


/*
 * The grant.  Copies what it needs of client and form (both may be gone
 * when it resumes), checks the request, then the subject token.
 */

void
identity_exchange_grant(gw_svc_req_t *req, const identity_client_t *client,
    gw_form_t *form)
{
    json_t           *payload, *iss;
    const char       *token, *type, *s;
    identity_xchg_t  *x;

    x = calloc(1, sizeof(identity_xchg_t));
    if (x == NULL) {
        identity_token_error(req, 500, "server_error", NULL);
        return;
    }

    x->req = req;
    x->waiter.handler = identity_xchg_woken;

    x->next = identity_xchgs;
    if (x->next != NULL) {
        x->next->prev = x;
    }

    identity_xchgs = x;

    token = gw_form_get(form, "subject_token");
    type = gw_form_get(form, "subject_token_type");

    if (token == NULL || token[0] == '\0' || type == NULL) {
        identity_xchg_deny(x, 400, "invalid_request", "subject_token and "
                           "subject_token_type are required");
        return;
    }

    if (strcmp(type, IDENTITY_XCHG_AT) != 0
        && strcmp(type, IDENTITY_XCHG_JWT) != 0)
    {
        identity_xchg_deny(x, 400, "invalid_request", "subject_token_type: "
                           "only access_token and jwt are taken");
        return;
    }

    s = gw_form_get(form, "requested_token_type");

    if (s != NULL && strcmp(s, IDENTITY_XCHG_AT) != 0) {
        identity_xchg_deny(x, 400, "invalid_request", "requested_token_type:"
                           " only access_token is issued");
        return;
    }

    if (gw_form_get(form, "actor_token") != NULL
        || gw_form_get(form, "actor_token_type") != NULL)
    {
        identity_xchg_deny(x, 400, "invalid_request", "actor_token is not "
                           "supported: the authenticated client is the "
                           "actor");
        return;
    }

    s = gw_form_get(form, "scope");

    if (s != NULL && !identity_xchg_scope_ok(s)) {
        identity_xchg_deny(x, 400, "invalid_scope", "scope: malformed");
        return;
    }

    x->len = strlen(token);
    x->token = strdup(token);
    x->client_id = strdup(client->id);
    x->client_scopes = strdup(client->scopes ? client->scopes : "");
    x->scope = (s != NULL) ? strdup(s) : NULL;

    if (x->token == NULL || x->client_id == NULL || x->client_scopes == NULL
        || (s != NULL && x->scope == NULL))
    {
        identity_xchg_deny(x, 500, "server_error", NULL);
        return;
    }

    if (identity_xchg_target(x, client, form) != 0) {
        return;
    }

    if (x->len > GW_JWS_MAX_LEN) {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: too "
                           "long");
        return;
    }

    /* "iss" unverified: it only picks the keys that must then verify */
    payload = identity_xchg_segment(x->token, x->len, 1);
    iss = json_object_get(payload, "iss");

    if (!json_is_string(iss)) {
        json_decref(payload);
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: not a "
                           "JWT with an issuer");
        return;
    }

    if (json_string_length(iss) == identity.issuer_len
        && memcmp(json_string_value(iss), identity.issuer,
                  identity.issuer_len) == 0)
    {
        json_decref(payload);
        identity_xchg_ours(x);
        return;
    }

    x->issuer = identity_issuer_find(json_string_value(iss),
                                     json_string_length(iss));
    json_decref(payload);

    if (x->issuer == NULL) {
        identity_xchg_deny(x, 400, "invalid_grant", "subject_token: its "
                           "issuer is not accepted");
        return;
    }

    identity_xchg_external(x);
}


/*
 * The new token's audiences: "audience" (RFC 8693) and every "resource"
 * (RFC 8707, which may repeat) name them; neither: the client's default
 * audience.  Each must be among the client's allowed audiences.  x->aud
 * is the list without repeats, space-separated, as identity_issue_t
 * takes it.
 */

static int
identity_xchg_target(identity_xchg_t *x, const identity_client_t *client,
    gw_form_t *form)
{
    size_t       i, n, len;
    const char  *t;

    n = 0;

    for (i = 0; ; i++) {
        t = (i == 0) ? gw_form_get(form, "audience")
                     : gw_form_nth(form, "resource", i - 1);

        if (t == NULL && i > 0) {
            break;
        }

        if (t == NULL) {
            continue;
        }

        len = strlen(t);

        if (len == 0 || strchr(t, ' ') != NULL || client->audiences == NULL
            || !identity_xchg_in(client->audiences, t, len))
        {
            identity_xchg_deny(x, 400, "invalid_target", "an audience or "
                               "resource not allowed for this client");
            return -1;
        }

        if (x->aud != NULL && identity_xchg_in(x->aud, t, len)) {
            continue;
        }

        x->aud = realloc(x->aud, n + len + 2);
        if (x->aud == NULL) {
            identity_xchg_deny(x, 500, "server_error", NULL);
            return -1;
        }

        if (n > 0) {
            x->aud[n++] = ' ';
        }

        memcpy(x->aud + n, t, len + 1);
        n += len;
    }

    if (x->aud != NULL) {
        return 0;
    }

    t = client->default_audience;

    if (t == NULL || t[0] == '\0') {
        identity_xchg_deny(x, 400, "invalid_target", "no audience given and "
                           "the client has no default one");
        return -1;
    }

    x->aud = strdup(t);
    if (x->aud == NULL) {
        identity_xchg_deny(x, 500, "server_error", NULL);
        return -1;
    }

    return 0;
}


/*
 * The subject token is good: may_act (RFC 8693 section 4.4), the
 * scopes, "act" (section 4.1), and the new token.
 */

void
identity_xchg_finish(identity_xchg_t *x)
{
    char              *scope;
    json_t            *may, *prior, *act;
    const char        *err;
    identity_issue_t   is;

    may = json_object_get(x->claims, "may_act");

    if (may != NULL) {
        prior = json_object_get(may, "sub");

        if (!json_is_string(prior)
            || strcmp(json_string_value(prior), x->client_id) != 0)
        {
            identity_xchg_deny(x, 400, "invalid_grant", "subject_token: "
                               "may_act does not name this client");
            return;
        }
    }

    scope = identity_xchg_narrow(x, &err);
    if (scope == NULL) {
        identity_xchg_deny(x, 400, "invalid_scope", err);
        return;
    }

    /* a prior actor chain only from our own tokens: its names are ours */
    prior = (x->issuer == NULL) ? json_object_get(x->claims, "act") : NULL;
    prior = json_is_object(prior) ? prior : NULL;

    if (strcmp(x->sub, x->client_id) != 0) {
        act = (prior != NULL)
              ? json_pack("{s:s, s:O}", "sub", x->client_id, "act", prior)
              : json_pack("{s:s}", "sub", x->client_id);

        if (act == NULL) {
            free(scope);
            identity_xchg_deny(x, 500, "server_error", NULL);
            return;
        }

    } else {
        act = json_incref(prior);
    }

    memset(&is, 0, sizeof(identity_issue_t));
    is.sub = x->sub;
    is.client_id = x->client_id;
    is.scope = scope;
    is.aud = x->aud;
    is.act = act;
    is.issued_token_type = IDENTITY_XCHG_AT;

    gw_svc_metric_add(identity_m_exchanges, 1, "ok");
    identity_token_issue(x->req, &is);

    json_decref(act);
    free(scope);
    identity_xchg_free(x);
}


/*
 * The granted scope, malloc'd: a requested scope must be within both the
 * subject token's scopes and the client's allowed ones (each token, else
 * NULL with *err); none requested gives every subject token scope the
 * client is allowed, in the subject token's order.  An empty result is
 * refused: a token for nothing is no token to hand out.
 */

static char *
identity_xchg_narrow(identity_xchg_t *x, const char **err)
{
    size_t       n, len;
    char        *out;
    const char  *p, *from;
    char         subject[2048];

    if (identity_xchg_subject_scopes(x->claims, subject, sizeof(subject))
        != 0)
    {
        *err = "the subject token's scope is malformed or too long";
        return NULL;
    }

    from = (x->scope != NULL) ? x->scope : subject;
    len = strlen(from);

    out = malloc(len + 1);
    if (out == NULL) {
        *err = "out of memory";
        return NULL;
    }

    out[0] = '\0';
    n = 0;

    for (p = from; *p != '\0'; p += len) {
        p += (*p == ' ');
        len = strcspn(p, " ");

        if (len == 0) {
            continue;
        }

        if (!identity_xchg_in(subject, p, len)
            || !identity_xchg_in(x->client_scopes, p, len))
        {
            if (x->scope != NULL) {
                free(out);
                *err = "a requested scope is not within both the subject "
                       "token's and the client's";
                return NULL;
            }

            continue;
        }

        if (n > 0 && identity_xchg_in(out, p, len)) {
            continue;
        }

        if (n > 0) {
            out[n++] = ' ';
        }

        memcpy(out + n, p, len);
        n += len;
        out[n] = '\0';
    }

    if (n == 0) {
        free(out);
        *err = "no scope in common between the subject token and the "
               "client";
        return NULL;
    }

    return out;
}


/*
 * The subject token's scopes into buf, space-separated: "scope" (a
 * string, RFC 8693 section 4.2) or else "scp" (a string or an array of
 * strings, as some IdPs write it).  None: "".  -1 when malformed or too
 * long.
 */

static int
identity_xchg_subject_scopes(json_t *claims, char *buf, size_t size)
{
    size_t       i, n, len;
    json_t      *v, *e;
    const char  *s;

    buf[0] = '\0';

    v = json_object_get(claims, "scope");
    v = (v != NULL) ? v : json_object_get(claims, "scp");

    if (v == NULL) {
        return 0;
    }

    if (json_is_string(v)) {
        if (json_string_length(v) >= size
            || strlen(json_string_value(v)) != json_string_length(v))
        {
            return -1;
        }

        strcpy(buf, json_string_value(v));
        return 0;
    }

    if (!json_is_array(v)) {
        return -1;
    }

    n = 0;

    json_array_foreach(v, i, e) {
        s = json_string_value(e);
        if (s == NULL || strchr(s, ' ') != NULL) {
            return -1;
        }

        len = strlen(s);
        if (n + len + 2 > size) {
            return -1;
        }

        if (n > 0) {
            buf[n++] = ' ';
        }

        memcpy(buf + n, s, len + 1);
        n += len;
    }

    return 0;
}


/* 1 when list (space-separated) holds word (len bytes) */

static int
identity_xchg_in(const char *list, const char *word, size_t len)
{
    size_t       n;
    const char  *p;

    for (p = list; *p != '\0'; p += n) {
        p += (*p == ' ');
        n = strcspn(p, " ");

        if (n == len && memcmp(p, word, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * RFC 6749 section 3.3: scope-tokens of %x21 / %x23-5B / %x5D-7E,
 * separated by one space, at most 1024 bytes in all.
 */

static int
identity_xchg_scope_ok(const char *s)
{
    size_t  i;

    if (s[0] == '\0' || s[0] == ' ' || strlen(s) > 1024) {
        return 0;
    }

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] == ' ') {
            if (s[i + 1] == ' ' || s[i + 1] == '\0') {
                return 0;
            }

            continue;
        }

        if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e
            || s[i] == '"' || s[i] == '\\')
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Answers an error and frees x.  A client's fault logs at info; ours
 * (5xx) at error, but for an issuer we cannot reach: that is logged
 * where its fetch failed.
 */

void
identity_xchg_deny(identity_xchg_t *x, int status, const char *error,
    const char *reason)
{
    gw_svc_level_e  level;

    level = (status == 500) ? GW_SVC_ERROR : GW_SVC_INFO;

    gw_svc_log(identity.svc, level, x->req, "token exchange refused",
               json_pack("{s:s, s:s?, s:s?}", "error", error, "reason",
                         reason, "issuer",
                         (x->issuer != NULL)
                         ? identity_issuer_conf(x->issuer)->name : NULL));

    gw_svc_metric_add(identity_m_exchanges, 1, error);
    identity_token_error(x->req, status, error, reason);
    identity_xchg_free(x);
}


static void
identity_xchg_free(identity_xchg_t *x)
{
    if (x->prev != NULL) {
        x->prev->next = x->next;

    } else {
        identity_xchgs = x->next;
    }

    if (x->next != NULL) {
        x->next->prev = x->prev;
    }

    free(x->client_id);
    free(x->client_scopes);
    free(x->aud);
    free(x->scope);
    free(x->token);
    free(x->sub);
    json_decref(x->claims);
    free(x);
}
