
/*
 * Copyright (C) Tollgate
 *
 * Redrive (POST /v1/executions/{id}/redrive): a FAILED or TIMED_OUT top
 * execution, still kept, runs again from the state it failed in
 * ("fstate", written by the engine at the failure) with that state's
 * input ("fsin"), its retries counted afresh.  One script checks and
 * moves it: RUNNING, seq moved on, its keys kept again (PERSIST), its
 * listings moved, an ExecutionRedriven event, due now, the audit event.
 * A child workflow is not redriven on its own: its parent has taken its
 * failure already.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


typedef struct {
    gw_svc_req_t           *req;
    wf_caller_t             caller;
    char                    id[WF_ID_MAX];
} wf_redrive_t;


static void wf_redrive_done(redisReply *reply, void *data);


/*
 * ARGV: id, owner ("": an admin), now, the event, the audit event.
 * {1}, {404}, {409}.
 */
gw_svc_script_t  wf_script_redrive = { .text =
    "local id = ARGV[1]\n"
    "local key = 'gw:wf:x:' .. id\n"
    "local h = redis.call('HMGET', key, 'status', 'owner', 'def', 'start',\n"
    "                     'fstate', 'fsin', 'seq', 'parent', 'redrives',\n"
    "                     'name')\n"
    "if not h[1] or (ARGV[2] ~= '' and h[2] ~= ARGV[2]) then\n"
    "  return {404}\n"
    "end\n"
    "if (h[1] ~= 'FAILED' and h[1] ~= 'TIMED_OUT') or not h[5]\n"
    "    or h[5] == '' or (h[8] and h[8] ~= '') then\n"
    "  return {409}\n"
    "end\n"
    "local seq = tonumber(h[7] or '0') + 1\n"
    "redis.call('HSET', key, 'status', 'RUNNING', 'state', h[5],\n"
    "           'sin', h[6] or '{}', 'machine', '', 'phase', 'enter',\n"
    "           'retries', '', 'redrives', tonumber(h[9] or '0') + 1,\n"
    "           'seq', seq, 'stop', '', 'error', '', 'cause', '',\n"
    "           'output', '', 'entered', ARGV[3])\n"
    "redis.call('PERSIST', key)\n"
    "redis.call('PERSIST', 'gw:wf:h:' .. id)\n"
    "if h[10] and h[10] ~= id then\n"
    "  redis.call('PERSIST', 'gw:wf:name:' .. h[3] .. ':' .. h[10])\n"
    "end\n"
    "redis.call('ZREM', 'gw:wf:ls:' .. h[3] .. ':' .. h[1], id)\n"
    "redis.call('ZADD', 'gw:wf:ls:' .. h[3] .. ':RUNNING', h[4], id)\n"
    "redis.call('RPUSH', 'gw:wf:h:' .. id, ARGV[4])\n"
    "redis.call('ZADD', 'gw:wf:due', ARGV[3], id)\n"
    "redis.call('XADD', 'gw:audit', '*', 'event',\n"
    "           '{\"id\":\"workflow-' .. id .. '-redrive-' .. seq .. '\",'\n"
    "           .. string.sub(ARGV[5], 2))\n"
    "return {1}\n"
};


void
wf_api_redrive(gw_svc_req_t *req, wf_caller_t *caller, const char *id)
{
    char          now_s[24], res[WF_ID_MAX + 32], ts[32], *ev_text, *audit;
    json_t       *ev;
    wf_redrive_t    *s;
    long long     now;
    const char   *argv[5];

    now = wf_now_ms();
    snprintf(now_s, sizeof(now_s), "%lld", now);
    snprintf(res, sizeof(res), "/v1/executions/%s/redrive", id);

    wf_rfc3339(now, ts, sizeof(ts));

    ev = json_pack("{s:s, s:s}", "type", "ExecutionRedriven", "timestamp",
                   ts);
    ev_text = (ev != NULL) ? json_dumps(ev, JSON_COMPACT) : NULL;
    audit = wf_audit(gw_svc_req_id(req), caller->owner, "redrive", res, 200);
    json_decref(ev);

    /* the request's memory: freed by the kit after the answer */
    s = gw_svc_req_alloc(req, sizeof(wf_redrive_t));

    if (ev_text == NULL || audit == NULL || s == NULL) {
        free(ev_text);
        free(audit);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    memset(s, 0, sizeof(wf_redrive_t));
    s->req = req;
    s->caller = *caller;
    strcpy(s->id, id);

    argv[0] = id;
    argv[1] = caller->admin ? "" : caller->owner;
    argv[2] = now_s;
    argv[3] = ev_text;
    argv[4] = audit;

    if (wf_api_eval(&wf_script_redrive, 5, argv,
                    wf_redrive_done, s)
        != 0)
    {
        wf_unavailable(req);
    }

    free(ev_text);
    free(audit);
}


static void
wf_redrive_done(redisReply *reply, void *data)
{
    wf_redrive_t  *s = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        wf_unavailable(s->req);
        return;
    }

    switch (reply->element[0]->integer) {

    case 1:
        gw_svc_log(wf.svc, GW_SVC_INFO, s->req, "execution redriven",
                   json_pack("{s:s}", "id", s->id));
        wf_engine_kick();
        wf_api_describe(s->req, &s->caller, s->id);
        return;

    case 404:
        wf_api_not_found(s->req, s->id);
        return;

    default:
        gw_svc_reply_problem(s->req, 409, "not-redrivable", "Conflict",
                             "only a FAILED or TIMED_OUT top execution "
                             "that failed in a state is redriven");
    }
}
