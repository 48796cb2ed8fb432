
/*
 * Copyright (C) Tollgate
 *
 * The notifications' API (docs/notification.md):
 *
 *   POST /v1/notifications          accept one: 202 {"id", "state",
 *                                   "deliveries"} and Location
 *   GET  /v1/notifications/{id}     its state, deliveries and attempts
 *   GET  /v1/notifications          the owner's, newest first
 *                                   (?cursor=&limit=, ntf_list.c)
 *
 * The caller is who the gateway says (X-Consumer-ID, else
 * X-Consumer-Subject; a scope notify:admin or admin:write may act for
 * another owner): each identity header once, capped, no control bytes.
 * Someone else's notification is 404, never 403.  An Idempotency-Key
 * (an sf-string, draft-ietf-httpapi-idempotency-key-header) replays the
 * first answer to the same request and refuses another body (422).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_idem.h"
#include "ntf_core.h"


#define NTF_SCOPE_MAX   4096


typedef struct {
    gw_svc_req_t           *req;
} ntf_api_ctx_t;


static void ntf_api_root(gw_svc_req_t *req, void *data);
static void ntf_api_post(gw_svc_req_t *req, ntf_caller_t *caller);
static void ntf_api_accepted(const ntf_accepted_t *res, void *data);
static void ntf_api_get(gw_svc_req_t *req, void *data);
static void ntf_api_got(redisReply *reply, void *data);
static json_t *ntf_api_pairs(redisReply *r);
static int ntf_api_header(gw_svc_req_t *req, const char *name, size_t max,
    const char **value);


int
ntf_api_routes(gw_svc_t *svc)
{
    if (gw_svc_route(svc, GW_SVC_GET | GW_SVC_POST, "/v1/notifications", 0,
                     ntf_api_root, NULL)
        != 0
        || gw_svc_route(svc, GW_SVC_GET, "/v1/notifications/",
                        GW_SVC_PREFIX, ntf_api_get, NULL)
           != 0)
    {
        return -1;
    }

    return ntf_dlq_routes(svc);
}


/*
 * The caller: -1 when answered (a header twice or malformed: 400; no
 * identity: 401).
 */

int
ntf_api_caller(gw_svc_req_t *req, ntf_caller_t *caller)
{
    const char  *id, *sub, *scope, *p, *e;

    if (ntf_api_header(req, "X-Consumer-ID", NTF_OWNER_MAX, &id) != 0
        || ntf_api_header(req, "X-Consumer-Subject", NTF_OWNER_MAX, &sub)
           != 0
        || ntf_api_header(req, "X-Consumer-Scope", NTF_SCOPE_MAX, &scope)
           != 0
        || ntf_api_header(req, "Idempotency-Key", 1024, &p) != 0)
    {
        return -1;
    }

    if (id == NULL || id[0] == '\0') {
        id = sub;
    }

    if (id == NULL || id[0] == '\0') {
        gw_svc_reply_problem(req, 401, "unauthorized", "Unauthorized",
                             "no X-Consumer-ID nor X-Consumer-Subject");
        return -1;
    }

    strcpy(caller->owner, id);
    caller->admin = 0;

    for (p = scope; p != NULL && *p != '\0'; p = e) {
        while (*p == ' ') {
            p++;
        }

        e = p + strcspn(p, " ");

        if ((e - p == 12 && strncmp(p, "notify:admin", 12) == 0)
            || (e - p == 11 && strncmp(p, "admin:write", 11) == 0))
        {
            caller->admin = 1;
        }
    }

    return 0;
}


/* one copy at most, at most max bytes, no control byte: else 400 */

static int
ntf_api_header(gw_svc_req_t *req, const char *name, size_t max,
    const char **value)
{
    char           detail[128];
    const unsigned char  *p;

    *value = gw_svc_req_header(req, name);

    if (gw_svc_req_header_count(req, name) > 1) {
        snprintf(detail, sizeof(detail), "%s sent more than once", name);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return -1;
    }

    if (*value == NULL) {
        return 0;
    }

    for (p = (const unsigned char *) *value; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            break;
        }
    }

    if (*p != '\0' || strlen(*value) > max) {
        snprintf(detail, sizeof(detail), "%s is malformed", name);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return -1;
    }

    return 0;
}


static void
ntf_api_root(gw_svc_req_t *req, void *data)
{
    ntf_caller_t  caller;

    if (ntf_api_caller(req, &caller) != 0) {
        return;
    }

    if (strcmp(gw_svc_req_method(req), "POST") == 0) {
        ntf_api_post(req, &caller);

    } else {
        ntf_api_list(req, &caller);
    }
}


static void
ntf_api_post(gw_svc_req_t *req, ntf_caller_t *caller)
{
    int            rc;
    char           idem[NTF_IDEM_LEN + 1], key[NTF_IDEM_KEY_MAX];
    char           detail[256];
    size_t         len, klen;
    json_t        *request, *owner;
    const char    *body, *ct, *h, *err;
    json_error_t   jerr;

    ct = gw_svc_req_header(req, "Content-Type");

    if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0) {
        gw_svc_reply_problem(req, 415, "unsupported-media-type",
                             "Unsupported media type",
                             "the body must be application/json");
        return;
    }

    idem[0] = '\0';
    h = gw_svc_req_header(req, "Idempotency-Key");

    if (h != NULL) {
        rc = gw_idem_key_parse((const unsigned char *) h, strlen(h),
                               NTF_IDEM_KEY_MAX, (unsigned char *) key,
                               &klen, &err);
        if (rc != GW_IDEM_OK) {
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 rc == GW_IDEM_TOO_LONG
                                 ? "Idempotency-Key is too long"
                                 : "Idempotency-Key is not an sf-string");
            return;
        }
    }

    body = gw_svc_req_body(req, &len);

    request = json_loadb(body != NULL ? body : "", len,
                         JSON_REJECT_DUPLICATES, &jerr);
    if (request == NULL) {
        snprintf(detail, sizeof(detail), "not JSON: %s at %d",
                 jerr.text, jerr.position);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             detail);
        return;
    }

    owner = json_object_get(request, "owner");

    if (owner != NULL) {
        if (!ntf_check_owner(owner)) {
            json_decref(request);
            gw_svc_reply_problem_extra(req, 422, "invalid", "Invalid",
                             "owner must be 1 to 255 bytes, no control byte",
                             json_pack("{s:[{s:s, s:s}]}", "errors",
                                       "pointer", "/owner", "message",
                                       "must be a string"));
            return;
        }

        if (!caller->admin
            && strcmp(json_string_value(owner), caller->owner) != 0)
        {
            json_decref(request);
            gw_svc_reply_problem(req, 403, "forbidden", "Forbidden",
                                 "only an admin may act for another owner");
            return;
        }

        strcpy(caller->owner, json_string_value(owner));
        json_object_del(request, "owner");
    }

    if (h != NULL && ntf_idem_key(caller->owner, key, klen, idem) != 0) {
        json_decref(request);
        ntf_api_unavailable(req);
        return;
    }

    ntf_accept(caller->owner, caller->admin, request,
               h != NULL ? idem : NULL,
               gw_svc_req_traceparent(req), ntf_api_accepted, req);
    json_decref(request);
}


static void
ntf_api_accepted(const ntf_accepted_t *res, void *data)
{
    char           loc[64];
    gw_svc_req_t  *req;

    req = data;

    if (res->status == 202) {
        snprintf(loc, sizeof(loc), "/v1/notifications/%s", res->id);
        gw_svc_req_add_header(req, "Location", loc);

        if (res->replayed) {
            gw_svc_req_add_header(req, "Idempotent-Replayed", "true");
        }

        gw_svc_reply_json(req, 202,
                          json_pack("{s:s, s:s, s:i}", "id", res->id,
                                    "state", "accepted",
                                    "deliveries", (int) res->deliveries));
        return;
    }

    if (res->status == 503) {
        gw_svc_log(ntf.svc, GW_SVC_WARN, req, "cannot accept",
                   json_pack("{s:o}", "error",
                             gw_svc_json_string(res->error)));
        ntf_api_unavailable(req);
        return;
    }

    gw_svc_log(ntf.svc, GW_SVC_INFO, req, "notification refused",
               json_pack("{s:o, s:o}", "pointer",
                         gw_svc_json_string(res->pointer), "error",
                         gw_svc_json_string(res->error)));

    if (res->replayed < 0) {
        gw_svc_reply_problem(req, 422, "idempotency-key-reused",
                             "Idempotency-Key reused", res->error);
        return;
    }

    gw_svc_reply_problem_extra(req, res->status,
                               res->status == 422 ? "invalid"
                               : res->status == 403 ? "forbidden"
                               : "bad-request",
                               res->status == 422 ? "Invalid"
                               : res->status == 403 ? "Forbidden"
                               : "Bad request",
                               res->error,
                               json_pack("{s:[{s:o, s:o}]}", "errors",
                                         "pointer",
                                         gw_svc_json_string(res->pointer),
                                         "message",
                                         gw_svc_json_string(res->error)));
}


void
ntf_api_unavailable(gw_svc_req_t *req)
{
    gw_svc_reply_problem(req, 503, "unavailable", "Unavailable",
                         "Redis is unavailable");
}


static void
ntf_api_get(gw_svc_req_t *req, void *data)
{
    size_t         lens[2];
    const char    *id, *argv[2];
    ntf_caller_t   caller;

    if (ntf_api_caller(req, &caller) != 0) {
        return;
    }

    id = gw_svc_req_path(req) + sizeof("/v1/notifications/") - 1;

    if (!ntf_id_valid(id)) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such notification");
        return;
    }

    argv[0] = id;
    argv[1] = caller.admin ? "" : caller.owner;
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);

    if (gw_svc_eval(ntf.svc, &ntf_script_get, 2, argv, lens, ntf_api_got,
                    req)
        != 0)
    {
        ntf_api_unavailable(req);
    }
}


static void
ntf_api_got(redisReply *reply, void *data)
{
    char           time[32];
    size_t         i;
    json_t        *n, *ds, *as, *d, *v;
    redisReply    *e;
    gw_svc_req_t  *req;

    req = data;

    if (reply == NULL) {
        ntf_api_unavailable(req);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such notification");
        return;
    }

    n = ntf_api_pairs(reply->element[0]);
    ds = json_array();
    as = json_array();

    if (n == NULL || ds == NULL || as == NULL) {
        goto fail;
    }

    for (i = 0; i < reply->element[1]->elements; i++) {
        e = reply->element[1]->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 6) {
            continue;
        }

        d = json_pack("{s:s, s:s, s:s, s:s, s:o}",
                      "id", e->element[0]->str != NULL
                            ? e->element[0]->str : "",
                      "target", e->element[1]->str != NULL
                                ? e->element[1]->str : "",
                      "subscription", e->element[2]->str != NULL
                                      ? e->element[2]->str : "",
                      "state", e->element[3]->str != NULL
                               ? e->element[3]->str : "",
                      "attempts", ntf_api_int(e->element[4]));

        if (d == NULL || json_array_append_new(ds, d) != 0) {
            goto fail;
        }

        if (e->element[3]->str != NULL
            && strcmp(e->element[3]->str, "pending") == 0
            && e->element[5]->str != NULL)
        {
            ntf_rfc3339(strtoll(e->element[5]->str, NULL, 10), time,
                        sizeof(time));
            json_object_set_new(d, "next", json_string(time));
        }
    }

    for (i = 0; i < reply->element[2]->elements; i++) {
        e = reply->element[2]->element[i];
        v = (e->type == REDIS_REPLY_STRING)
            ? json_loads(e->str, 0, NULL) : NULL;

        if (v != NULL && json_array_append_new(as, v) != 0) {
            goto fail;
        }
    }

    /* what the hash holds as text becomes JSON */

    v = json_object_get(n, "request");
    if (json_is_string(v)) {
        json_object_set_new(n, "request",
                            json_loads(json_string_value(v), 0, NULL));
    }

    v = json_object_get(n, "created");
    if (json_is_string(v)) {
        ntf_rfc3339(strtoll(json_string_value(v), NULL, 10), time,
                    sizeof(time));
        json_object_set_new(n, "created", json_string(time));
    }

    json_object_set_new(n, "delivered",
                        json_integer(strtoll(json_string_value(
                            json_object_get(n, "delivered")) ?: "0",
                            NULL, 10)));
    json_object_set_new(n, "failed",
                        json_integer(strtoll(json_string_value(
                            json_object_get(n, "failed")) ?: "0",
                            NULL, 10)));
    json_object_del(n, "deliveries");
    json_object_del(n, "traceparent");
    json_object_set_new(n, "deliveries", ds);
    json_object_set_new(n, "attempts", as);

    gw_svc_reply_json(req, 200, n);
    return;

fail:

    json_decref(n);
    json_decref(ds);
    json_decref(as);
    ntf_api_unavailable(req);
}


/* a flat array of field, value, ... as an object of strings */

static json_t *
ntf_api_pairs(redisReply *r)
{
    size_t   i;
    json_t  *o;

    o = json_object();

    for (i = 0; o != NULL && r->type == REDIS_REPLY_ARRAY
                && i + 1 < r->elements; i += 2)
    {
        if (r->element[i]->type == REDIS_REPLY_STRING
            && r->element[i + 1]->type == REDIS_REPLY_STRING)
        {
            json_object_set_new(o, r->element[i]->str,
                                gw_svc_json_string(r->element[i + 1]->str));
        }
    }

    return o;
}


json_t *
ntf_api_int(redisReply *r)
{
    return json_integer(r->type == REDIS_REPLY_STRING
                        ? strtoll(r->str, NULL, 10) : 0);
}
