
/*
 * Copyright (C) Tollgate
 *
 * The task-token calls, for the workers of .waitForTaskToken tasks:
 *
 *   POST /v1/tasks/success    {"token", "output"}
 *   POST /v1/tasks/failure    {"token", "error"?, "cause"?}
 *   POST /v1/tasks/heartbeat  {"token"}
 *
 * A token is a capability: whoever holds it answers the task, whatever
 * its owner (a caller must still be named).  It is looked up by its
 * SHA-256 only (gw:wf:tok:<hash>), so no byte of it is compared in C
 * and a copy of the store holds no live token.  The script checks that
 * the execution still waits in that transition (its seq and phase
 * callback): else the task has timed out or moved on (409), or never
 * was (404).  A success or failure moves seq on, so a deadline the
 * engine is working on at that moment is refused when it commits.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


/*
 * ARGV: the token's hash, "success", "failure" or "heartbeat", the
 * result (JSON) or error, cause, now, the event's members (an object's
 * text), now in RFC 3339.  {1}, {404}, {409}.
 */
gw_svc_script_t  wf_script_token = { .text =
    "local tk = 'gw:wf:tok:' .. ARGV[1]\n"
    "local v = redis.call('GET', tk)\n"
    "if not v then return {404} end\n"
    "local id, tseq = string.match(v, '^(%S+) (%d+)$')\n"
    "if not id then return {404} end\n"
    "local key = 'gw:wf:x:' .. id\n"
    "local h = redis.call('HMGET', key, 'status', 'seq', 'phase', 'root',\n"
    "                     'deadline', 'hb', 'state')\n"
    "if not h[1] then return {404} end\n"
    "if h[1] ~= 'RUNNING' or h[2] ~= tseq or h[3] ~= 'callback' then\n"
    "  return {409}\n"
    "end\n"
    "local now = tonumber(ARGV[5])\n"
    "if ARGV[2] == 'heartbeat' then\n"
    "  local hb = tonumber(h[6] or '0') or 0\n"
    "  if hb > 0 then\n"
    "    local hbdl = now + hb * 1000\n"
    "    local due = hbdl\n"
    "    local dl = tonumber(h[5] or '0') or 0\n"
    "    if dl > 0 and dl < due then due = dl end\n"
    "    redis.call('HSET', key, 'hbdl', hbdl)\n"
    "    redis.call('ZADD', 'gw:wf:due', due, id)\n"
    "  end\n"
    "  return {1}\n"
    "end\n"
    "local seq = tonumber(h[2]) + 1\n"
    "local ev\n"
    "if ARGV[2] == 'success' then\n"
    "  redis.call('HSET', key, 'res', ARGV[3], 'phase', 'resume',\n"
    "             'seq', seq)\n"
    "  ev = 'TaskSucceeded'\n"
    "else\n"
    "  redis.call('HSET', key, 'rerr', ARGV[3], 'rcause', ARGV[4],\n"
    "             'phase', 'fail', 'seq', seq)\n"
    "  ev = 'TaskFailed'\n"
    "end\n"
    "redis.call('DEL', tk)\n"
    "redis.call('ZADD', 'gw:wf:due', now, id)\n"
    "redis.call('RPUSH', 'gw:wf:h:' .. (h[4] or id),\n"
    "           '{\"type\":\"' .. ev .. '\",\"timestamp\":\"' .. ARGV[7]\n"
    "           .. '\",\"state\":' .. cjson.encode(h[7] or '') .. ','\n"
    "           .. string.sub(ARGV[6], 2))\n"
    "return {1}\n"
};


static void wf_api_token_done(redisReply *reply, void *data);


static int
wf_api_token_valid(const char *t, size_t len)
{
    size_t  i;

    if (len != WF_TOKEN_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')
              || (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


void
wf_api_token(gw_svc_req_t *req, void *data)
{
    char          hash[65], now_s[24], ts[32], *res_text, *ev_text;
    json_t       *body, *token, *output, *error, *cause, *ev, *v;
    const char   *kind, *k, *bad, *argv[7];
    long long     now;
    wf_caller_t   caller;

    kind = gw_svc_req_path(req) + sizeof("/v1/tasks/") - 1;

    if (strcmp(kind, "success") != 0 && strcmp(kind, "failure") != 0
        && strcmp(kind, "heartbeat") != 0)
    {
        gw_svc_reply_problem(req, 404, "not-found", "Not found",
                             "no such resource");
        return;
    }

    if (wf_caller(req, &caller) != 0) {
        return;
    }

    body = wf_body(req);
    if (body == NULL) {
        return;
    }

    token = json_object_get(body, "token");
    output = json_object_get(body, "output");
    error = json_object_get(body, "error");
    cause = json_object_get(body, "cause");
    bad = NULL;

    json_object_foreach(body, k, v) {
        if (strcmp(k, "token") != 0
            && !(kind[0] == 's' && strcmp(k, "output") == 0)
            && !(kind[0] == 'f'
                 && (strcmp(k, "error") == 0 || strcmp(k, "cause") == 0)))
        {
            bad = "unknown member for this call";
        }
    }

    if (bad == NULL
        && (!json_is_string(token)
            || !wf_api_token_valid(json_string_value(token),
                                   json_string_length(token))))
    {
        bad = "token must be a task token (43 base64url characters)";
    }

    if (bad == NULL && kind[0] == 's' && output == NULL) {
        bad = "output is required";
    }

    if (bad == NULL && error != NULL
        && (!json_is_string(error)
            || json_string_length(error) >= GW_ASL_ERROR_MAX))
    {
        bad = "error must be a string of at most 255 bytes";
    }

    if (bad == NULL && cause != NULL
        && (!json_is_string(cause)
            || json_string_length(cause) >= GW_ASL_CAUSE_MAX))
    {
        bad = "cause must be a string of at most 1023 bytes";
    }

    if (bad != NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request", bad);
        return;
    }

    if (output != NULL && gw_asl_too_large(output, GW_ASL_PAYLOAD_MAX, NULL))
    {
        json_decref(body);
        gw_svc_reply_problem(req, 413, "too-large", "Payload too large",
                             "output is at most 256 KiB as compact JSON");
        return;
    }

    if (wf_token_hash(json_string_value(token), WF_TOKEN_LEN, hash) != 0) {
        json_decref(body);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "cannot hash the token");
        return;
    }

    now = wf_now_ms();
    snprintf(now_s, sizeof(now_s), "%lld", now);
    wf_rfc3339(now, ts, sizeof(ts));

    if (kind[0] == 's') {
        res_text = json_dumps(output, JSON_COMPACT | JSON_ENCODE_ANY);
        ev = json_pack("{s:O}", "output", output);

    } else if (kind[0] == 'f') {
        res_text = strdup(error != NULL ? json_string_value(error)
                                        : GW_ASL_E_TASK_FAILED);
        ev = json_pack("{s:s, s:s}", "error", res_text != NULL
                                              ? res_text : "",
                       "cause", cause != NULL ? json_string_value(cause)
                                              : "");

    } else {
        res_text = strdup("");
        ev = json_object();
    }

    ev_text = (ev != NULL) ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);

    if (res_text == NULL || ev_text == NULL) {
        free(res_text);
        free(ev_text);
        json_decref(body);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    argv[0] = hash;
    argv[1] = kind;
    argv[2] = res_text;
    argv[3] = cause != NULL ? json_string_value(cause) : "";
    argv[4] = now_s;
    argv[5] = ev_text;
    argv[6] = ts;

    if (wf_api_eval(&wf_script_token, 7, argv,
                    wf_api_token_done, req)
        != 0)
    {
        wf_unavailable(req);
    }

    free(res_text);
    free(ev_text);
    json_decref(body);
}


static void
wf_api_token_done(redisReply *reply, void *data)
{
    gw_svc_req_t  *req = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        wf_unavailable(req);
        return;
    }

    switch (reply->element[0]->integer) {

    case 1:
        wf_engine_kick();
        gw_svc_reply_json(req, 200, json_object());
        return;

    case 404:
        gw_svc_reply_problem(req, 404, "task-not-found", "Task not found",
                             "no task waits for that token");
        return;

    default:
        gw_svc_reply_problem(req, 409, "task-timed-out", "Task timed out",
                             "the task no longer waits for its token: it "
                             "timed out, or the execution moved on");
    }
}
