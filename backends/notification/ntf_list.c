
/*
 * Copyright (C) Tollgate
 *
 * Listings (docs/notification.md): GET /v1/notifications, the owner's
 * notifications newest first, and the query every listing takes
 * (?cursor=, the last id of the previous page; ?limit=, 1 to 100;
 * ?owner=, an admin's).  The owner's index holds ids at score 0, read
 * backwards by ZREVRANGEBYLEX (ids sort by time), so a page starts
 * exactly after the cursor whatever was added meanwhile.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_form.h"
#include "ntf_core.h"


#define NTF_LIMIT_MAX   100
#define NTF_LIMIT_DFLT  20


static void ntf_api_listed(redisReply *reply, void *data);


/*
 * The query of a listing: ?owner= (an admin's, else 403 unless it is the
 * caller), ?cursor= (an id), ?limit= (1 to 100).  -1 when answered.
 */

int
ntf_api_query(gw_svc_req_t *req, ntf_caller_t *caller, char *cursor,
    size_t clen, long long *limit)
{
    char         *end;
    gw_form_t    *form;
    const char   *q, *v, *err;

    cursor[0] = '\0';
    *limit = NTF_LIMIT_DFLT;

    q = gw_svc_req_query(req);
    if (q == NULL || q[0] == '\0') {
        return 0;
    }

    form = gw_form_parse("application/x-www-form-urlencoded", q, strlen(q),
                         8192, &err);
    if (form == NULL) {
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                             err != NULL ? err : "bad query");
        return -1;
    }

    v = gw_form_nth(form, "owner", 0);

    if (v != NULL && strcmp(v, caller->owner) != 0) {
        if (!caller->admin || strlen(v) > NTF_OWNER_MAX) {
            gw_form_free(form);
            gw_svc_reply_problem(req, 403, "forbidden", "Forbidden",
                                 "only an admin may list another owner's");
            return -1;
        }

        strcpy(caller->owner, v);
    }

    v = gw_form_nth(form, "cursor", 0);

    if (v != NULL) {
        if (strlen(v) >= clen || strlen(v) == 0
            || strspn(v, "0123456789ABCDEFGHJKMNPQRSTVWXYZntf_.")
               != strlen(v))
        {
            gw_form_free(form);
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 "bad cursor");
            return -1;
        }

        strcpy(cursor, v);
    }

    v = gw_form_nth(form, "limit", 0);

    if (v != NULL) {
        *limit = strtoll(v, &end, 10);

        if (end == v || *end != '\0' || *limit < 1
            || *limit > NTF_LIMIT_MAX)
        {
            gw_form_free(form);
            gw_svc_reply_problem(req, 400, "bad-request", "Bad request",
                                 "limit must be 1 to 100");
            return -1;
        }
    }

    gw_form_free(form);

    return 0;
}


void
ntf_api_list(gw_svc_req_t *req, ntf_caller_t *caller)
{
    char         cursor[NTF_DID_MAX], limit_text[24];
    size_t       lens[3];
    long long    limit;
    const char  *argv[3];

    if (ntf_api_query(req, caller, cursor, sizeof(cursor), &limit) != 0) {
        return;
    }

    snprintf(limit_text, sizeof(limit_text), "%lld", limit);

    argv[0] = caller->owner;
    argv[1] = cursor;
    argv[2] = limit_text;
    lens[0] = strlen(argv[0]);
    lens[1] = strlen(argv[1]);
    lens[2] = strlen(argv[2]);

    if (gw_svc_eval(ntf.svc, &ntf_script_list, 3, argv, lens,
                    ntf_api_listed, req)
        != 0)
    {
        ntf_api_unavailable(req);
    }
}


static void
ntf_api_listed(redisReply *reply, void *data)
{
    char           time[32];
    size_t         i;
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

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 8
            || e->element[0]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        ntf_rfc3339(e->element[4]->type == REDIS_REPLY_STRING
                    ? strtoll(e->element[4]->str, NULL, 10) : 0,
                    time, sizeof(time));

        item = json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:o, s:o, s:o}",
                         "id", e->element[0]->str,
                         "channel", e->element[1]->str,
                         "type", e->element[2]->str,
                         "state", e->element[3]->str,
                         "created", time,
                         "deliveries", ntf_api_int(e->element[5]),
                         "delivered", ntf_api_int(e->element[6]),
                         "failed", ntf_api_int(e->element[7]));

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
