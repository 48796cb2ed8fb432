
/*
 * Copyright (C) Tollgate
 *
 * The dead-letter list's API (docs/notification.md, "Dead letters"):
 *
 *   GET    /v1/dlq                  the owner's dead deliveries, newest
 *                                   first (?cursor=&limit=, ?owner=
 *                                   for admins)
 *   POST   /v1/dlq/{did}/replay     pending again, due now (202)
 *   DELETE /v1/dlq/{did}            out of the list (204)
 *
 * A replayed delivery keeps its attempt count: one more failure puts it
 * back (the schedule is spent), a success delivers it.  Someone else's
 * delivery is 404, as one that is not dead.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntf_core.h"


static void ntf_dlq_list(gw_svc_req_t *req, void *data);
static void ntf_dlq_listed(redisReply *reply, void *data);
static void ntf_dlq_item(gw_svc_req_t *req, void *data);
static void ntf_dlq_done(redisReply *reply, void *data);


int
ntf_dlq_routes(gw_svc_t *svc)
{
    if (gw_svc_route(svc, GW_SVC_GET, "/v1/dlq", 0, ntf_dlq_list, NULL)
        != 0
        || gw_svc_route(svc, GW_SVC_POST | GW_SVC_DELETE, "/v1/dlq/",
                        GW_SVC_PREFIX, ntf_dlq_item, NULL)
           != 0)
    {
        return -1;
    }

    return 0;
}


static void
ntf_dlq_list(gw_svc_req_t *req, void *data)
{
    char          cursor[NTF_DID_MAX], limit_text[24];
    size_t        lens[3];
    long long     limit;
    const char   *argv[3];
    ntf_caller_t  caller;

    if (ntf_api_caller(req, &caller) != 0
        || ntf_api_query(req, &caller, cursor, sizeof(cursor), &limit) != 0)
    {
        return;
    }

    snprintf(limit_text, sizeof(limit_text), "%lld", limit);

    argv[0] = caller.owner;
    argv[1] = cursor;
    argv[2] = limit_text;
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    lens[2] = strlen(argv[2]);

    if (gw_svc_eval(ntf.svc, &ntf_script_dlq_list, 3, argv, lens,
                    ntf_dlq_listed, req)
        != 0)
    {
        ntf_api_unavailable(req);
    }
}


static void
ntf_dlq_listed(redisReply *reply, void *data)
{
    char           time[32];
    size_t         i, k;
    json_t        *items, *item;
    redisReply    *e, *last;
    gw_svc_req_t  *req;

    req = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2)
    {
        ntf_api_unavailable(req);
        return;
    }

    items = json_array();
    last = reply->element[0];

    for (i = 0; items != NULL && i < reply->element[1]->elements; i++) {
        e = reply->element[1]->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 8) {
            continue;
        }

        for (k = 0; k < 8; k++) {
            if (e->element[k]->type != REDIS_REPLY_STRING) {
                break;
            }
        }

        if (k < 8) {
            continue;
        }

        ntf_rfc3339(strtoll(e->element[6]->str, NULL, 10), time,
                    sizeof(time));

        item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
                         "id", e->element[0]->str,
                         "notification", e->element[1]->str,
                         "channel", e->element[2]->str,
                         "target", e->element[3]->str,
                         "subscription", e->element[4]->str,
                         "attempts", (json_int_t) strtoll(e->element[5]->str,
                                                          NULL, 10),
                         "died", time);

        if (item != NULL) {
            json_array_append_new(items, item);
        }
    }

    gw_svc_reply_json(req, 200,
                      json_pack("{s:o, s:s?}", "items",
                                items != NULL ? items : json_array(),
                                "next_cursor",
                                last->type == REDIS_REPLY_STRING
                                && last->len > 0 ? last->str : NULL));
}


/* POST /v1/dlq/{did}/replay, DELETE /v1/dlq/{did} */

static void
ntf_dlq_item(gw_svc_req_t *req, void *data)
{
    int            replay;
    char           did[NTF_DID_MAX], now[24];
    size_t         len, lens[3];
    const char    *p, *argv[3];
    ntf_caller_t   caller;

    if (ntf_api_caller(req, &caller) != 0) {
        return;
    }

    p = gw_svc_req_path(req) + sizeof("/v1/dlq/") - 1;
    replay = strcmp(gw_svc_req_method(req), "POST") == 0;
    len = strlen(p);

    if (replay) {
        if (len < sizeof("/replay") - 1
            || strcmp(p + len - (sizeof("/replay") - 1), "/replay") != 0)
        {
            goto not_found;
        }

        len -= sizeof("/replay") - 1;
    }

    if (len >= sizeof(did)) {
        goto not_found;
    }

    memcpy(did, p, len);
    did[len] = '\0';

    if (!ntf_did_valid(did)) {
        goto not_found;
    }

    snprintf(now, sizeof(now), "%lld", ntf_now_ms());

    argv[0] = did;
    argv[1] = caller.admin ? "" : caller.owner;
    argv[2] = now;
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    lens[2] = strlen(argv[2]);

    if (gw_svc_eval(ntf.svc,
                    replay ? &ntf_script_replay : &ntf_script_discard,
                    replay ? 3 : 2, argv, lens, ntf_dlq_done, req)
        != 0)
    {
        ntf_api_unavailable(req);
    }

    return;

not_found:

    gw_svc_reply_problem(req, 404, "not-found", "Not found",
                         "no such dead delivery");
}


static void
ntf_dlq_done(redisReply *reply, void *data)
{
    gw_svc_req_t  *req;

    req = data;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        ntf_api_unavailable(req);
        return;
    }

    if (reply->integer == 0) {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such dead delivery");
        return;
    }

    if (strcmp(gw_svc_req_method(req), "DELETE") == 0) {
        gw_svc_reply(req, 204, NULL, NULL, 0);
        return;
    }

    gw_svc_reply_json(req, 202, json_pack("{s:s}", "state", "pending"));
}
