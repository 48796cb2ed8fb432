
/*
 * Copyright (C) Tollgate
 *
 * Stop (POST /v1/executions/{id}/stop).
 *
 * A stop without compensation ends the execution ABORTED at once; with
 * compensation it sends the execution to the definition's compensation
 * state with the input it had and what stopped it ("Stopped"), and the
 * engine ends it ABORTED when that path ends.  Either way the script
 * moves seq on, so a transition the engine has in flight for the
 * execution is refused when it commits, and deletes the token of a
 * callback it waited for.
 *
 * The stop reads the execution first (its owner, its state's input and
 * the seq of the token to delete, which only the HMAC key can name);
 * the script then checks that seq has not moved meanwhile, and the stop
 * reads again when it has (WF_STOP_TRIES times at most).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


#define WF_STOP_TRIES     4


typedef struct {
    gw_svc_req_t           *req;
    wf_caller_t             caller;
    char                    id[WF_ID_MAX];
    char                    def[WF_NAME_MAX + 1];
    long long               ver;
    long long               seq;
    long long               start;
    json_t                 *sin;
    json_t                 *error;
    json_t                 *cause;
    char                    state[GW_ASL_NAME_MAX * 4 + 1];
    int                     compensate;
    int                     tries;
} wf_stop_t;


static void wf_stop_read(wf_stop_t *s);
static void wf_stop_got(redisAsyncContext *c, void *r, void *data);
static void wf_stop_def(wf_def_t *def, const char *err, void *data);
static void wf_stop_run(wf_stop_t *s, const char *comp);
static void wf_stop_done(redisReply *reply, void *data);
static void wf_stop_end(wf_stop_t *s);


/*
 * ARGV: id, the seq read, "abort" or "comp", the waiting token's hash,
 * the event, the audit event (without "id"), now, {"error", "cause",
 * "state", "sin", "keep", "ts" (now in RFC 3339)}.  {1}, {0}: seq
 * moved (read again), {404}, {409}: not running.
 */
gw_svc_script_t  wf_script_stop = { .text =
    "local id = ARGV[1]\n"
    "local key = 'gw:wf:x:' .. id\n"
    "local h = redis.call('HMGET', key, 'status', 'seq', 'def', 'start',\n"
    "                     'parent', 'slot', 'pseq', 'root', 'comp')\n"
    "if not h[1] then return {404} end\n"
    "if h[1] ~= 'RUNNING' then return {409} end\n"
    "if h[2] ~= ARGV[2] then return {0} end\n"
    "local f = cjson.decode(ARGV[8])\n"
    "local now = ARGV[7]\n"
    "local seq = tonumber(h[2]) + 1\n"
    "local root = h[8] or id\n"
    "redis.call('DEL', 'gw:wf:tok:' .. ARGV[4])\n"
    "if ARGV[3] == 'abort' then\n"
    "  redis.call('HSET', key, 'status', 'ABORTED', 'stop', now,\n"
    "             'phase', 'done', 'seq', seq, 'error', f.error,\n"
    "             'cause', f.cause)\n"
    "  redis.call('ZREM', 'gw:wf:due', id)\n"
    "  redis.call('ZREM', 'gw:wf:ls:' .. h[3] .. ':RUNNING', id)\n"
    "  redis.call('ZADD', 'gw:wf:ls:' .. h[3] .. ':ABORTED', h[4], id)\n"
    "  redis.call('RPUSH', 'gw:wf:h:' .. root, ARGV[5])\n"
    "  redis.call('PEXPIRE', key, f.keep)\n"
    "  if root == id then\n"
    "    redis.call('PEXPIRE', 'gw:wf:h:' .. root, f.keep)\n"
    "  end\n"
    "  if h[5] and h[5] ~= '' and h[6] == 't' then\n"
    "    local p = 'gw:wf:x:' .. h[5]\n"
    "    local ph = redis.call('HMGET', p, 'seq', 'status', 'root')\n"
    "    if ph[2] == 'RUNNING' and ph[1] == h[7] then\n"
    "      local cause = 'child execution ' .. id .. ' aborted'\n"
    "      redis.call('HSET', p, 'phase', 'fail', 'rerr',\n"
    "                 'States.TaskFailed', 'rcause', cause)\n"
    "      redis.call('HINCRBY', p, 'seq', 1)\n"
    "      redis.call('ZADD', 'gw:wf:due', now, h[5])\n"
    "      redis.call('RPUSH', 'gw:wf:h:' .. (ph[3] or h[5]),\n"
    "                 cjson.encode({type = 'TaskFailed', timestamp = f.ts,\n"
    "                               error = 'States.TaskFailed',\n"
    "                               cause = cause}))\n"
    "    end\n"
    "  end\n"
    "else\n"
    "  if h[9] == '1' then return {409} end\n"
    "  redis.call('HSET', key, 'comp', '1', 'state', f.state, 'machine',\n"
    "             '', 'sin', f.sin, 'phase', 'enter', 'seq', seq,\n"
    "             'retries', '', 'entered', now, 'error', f.error,\n"
    "             'cause', f.cause)\n"
    "  redis.call('ZADD', 'gw:wf:due', now, id)\n"
    "  redis.call('RPUSH', 'gw:wf:h:' .. root, ARGV[5])\n"
    "end\n"
    "redis.call('XADD', 'gw:audit', '*', 'event',\n"
    "           '{\"id\":\"workflow-' .. id .. '-stop-' .. seq .. '\",'\n"
    "           .. string.sub(ARGV[6], 2))\n"
    "return {1}\n"
};

void
wf_api_stop(gw_svc_req_t *req, wf_caller_t *caller, const char *id)
{
    json_t       *body, *error, *cause, *comp, *v;
    wf_stop_t    *s;
    const char   *k, *bad;

    body = wf_body(req);
    if (body == NULL) {
        return;
    }

    bad = NULL;

    json_object_foreach(body, k, v) {
        if (strcmp(k, "error") != 0 && strcmp(k, "cause") != 0
            && strcmp(k, "compensate") != 0)
        {
            bad = "unknown member: the body holds error, cause, compensate";
        }
    }

    error = json_object_get(body, "error");
    cause = json_object_get(body, "cause");
    comp = json_object_get(body, "compensate");

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

    if (bad == NULL && comp != NULL && !json_is_boolean(comp)) {
        bad = "compensate must be true or false";
    }

    if (bad != NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 400, "bad-request", "Bad request", bad);
        return;
    }

    s = calloc(1, sizeof(wf_stop_t));
    if (s == NULL) {
        json_decref(body);
        gw_svc_reply_problem(req, 500, "internal", "Internal error",
                             "out of memory");
        return;
    }

    s->req = req;
    s->caller = *caller;
    strcpy(s->id, id);
    s->error = json_string(error != NULL ? json_string_value(error) : "");
    s->cause = json_string(cause != NULL ? json_string_value(cause) : "");
    s->compensate = json_is_true(comp);

    json_decref(body);

    wf_stop_read(s);
}


static void
wf_stop_read(wf_stop_t *s)
{
    redisAsyncContext  *redis;

    redis = gw_svc_redis(wf.svc);

    if (redis == NULL
        || redisAsyncCommand(redis, wf_stop_got, s,
                             "HMGET gw:wf:x:%s owner status def ver seq "
                             "sin parent slot start state", s->id)
           != REDIS_OK)
    {
        wf_unavailable(s->req);
        wf_stop_end(s);
    }
}


static void
wf_stop_got(redisAsyncContext *c, void *r, void *data)
{
    wf_stop_t    *s = data;

    redisReply   *reply = r, **f;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 10)
    {
        wf_unavailable(s->req);
        wf_stop_end(s);
        return;
    }

    f = reply->element;

    if (f[0]->type != REDIS_REPLY_STRING
        || (!s->caller.admin && strcmp(f[0]->str, s->caller.owner) != 0))
    {
        wf_api_not_found(s->req, s->id);
        wf_stop_end(s);
        return;
    }

    if (f[1]->type != REDIS_REPLY_STRING
        || strcmp(f[1]->str, WF_RUNNING) != 0)
    {
        gw_svc_reply_problem(s->req, 409, "not-running", "Conflict",
                             "the execution is not running");
        wf_stop_end(s);
        return;
    }

    if (f[6]->type == REDIS_REPLY_STRING && f[6]->len > 0
        && (f[7]->type != REDIS_REPLY_STRING || strcmp(f[7]->str, "t") != 0))
    {
        gw_svc_reply_problem(s->req, 409, "not-top", "Conflict",
                             "a branch or an iteration stops with its "
                             "top execution");
        wf_stop_end(s);
        return;
    }

    snprintf(s->def, sizeof(s->def), "%s",
             f[2]->type == REDIS_REPLY_STRING ? f[2]->str : "");
    s->ver = (f[3]->type == REDIS_REPLY_STRING)
             ? strtoll(f[3]->str, NULL, 10) : 0;
    s->seq = (f[4]->type == REDIS_REPLY_STRING)
             ? strtoll(f[4]->str, NULL, 10) : 0;
    s->start = (f[8]->type == REDIS_REPLY_STRING)
               ? strtoll(f[8]->str, NULL, 10) : 0;

    json_decref(s->sin);
    s->sin = (f[5]->type == REDIS_REPLY_STRING)
             ? json_loadb(f[5]->str, f[5]->len,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
             : NULL;

    snprintf(s->state, sizeof(s->state), "%s",
             f[9]->type == REDIS_REPLY_STRING ? f[9]->str : "");

    if (!s->compensate) {
        wf_stop_run(s, NULL);
        return;
    }

    wf_def_get(s->def, s->ver, wf_stop_def, s);
}


static void
wf_stop_def(wf_def_t *def, const char *err, void *data)
{
    wf_stop_t  *s = data;

    if (def == NULL) {
        wf_unavailable(s->req);
        wf_stop_end(s);
        return;
    }

    if (def->compensation == NULL) {
        wf_def_release(def);
        gw_svc_reply_problem(s->req, 409, "no-compensation", "Conflict",
                             "the definition has no compensation state");
        wf_stop_end(s);
        return;
    }

    wf_stop_run(s, def->compensation);
    wf_def_release(def);
}


/* comp: the compensation state's name, NULL for an abort */

static void
wf_stop_run(wf_stop_t *s, const char *comp)
{
    char         tok[WF_TOKEN_LEN + 1], hash[65], seq_s[24], now_s[24];
    char         res[WF_ID_MAX + 32], ts[32], *ev_text, *f_text, *audit;
    json_t      *stopped, *sin, *ev, *f;
    long long    now;
    const char  *argv[8];

    now = wf_now_ms();
    wf_rfc3339(now, ts, sizeof(ts));
    snprintf(now_s, sizeof(now_s), "%lld", now);
    snprintf(seq_s, sizeof(seq_s), "%lld", s->seq);
    snprintf(res, sizeof(res), "/v1/executions/%s/stop", s->id);

    ev_text = NULL;
    f_text = NULL;
    audit = NULL;
    sin = NULL;
    ev = NULL;
    f = NULL;

    if (wf_token(s->id, s->seq, tok) != 0
        || wf_token_hash(tok, WF_TOKEN_LEN, hash) != 0)
    {
        goto failed;
    }

    if (comp != NULL) {
        stopped = json_pack("{s:O, s:O, s:s}", "Error", s->error, "Cause",
                            s->cause, "State", s->state);

        if (json_is_object(s->sin)) {
            sin = json_deep_copy(s->sin);

            if (sin != NULL && json_object_set(sin, "Stopped", stopped)
                               != 0)
            {
                json_decref(sin);
                sin = NULL;
            }

        } else {
            sin = json_pack("{s:O}", "Stopped", stopped);
        }

        json_decref(stopped);

        if (sin == NULL || gw_asl_too_large(sin, GW_ASL_PAYLOAD_MAX, NULL)) {
            goto failed;
        }

        ev = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O}",
                       "type", "CompensationStarted", "timestamp", ts,
                       "state", comp, "stopped", s->state,
                       "error", s->error, "cause", s->cause);

    } else {
        ev = json_pack("{s:s, s:s, s:s, s:O, s:O}",
                       "type", "ExecutionAborted", "timestamp", ts,
                       "state", s->state, "error", s->error,
                       "cause", s->cause);
    }

    f = json_pack("{s:O, s:O, s:s, s:s, s:I, s:s}",
                  "error", s->error, "cause", s->cause,
                  "state", comp != NULL ? comp : "", "sin", "",
                  "keep", (json_int_t) wf.keep, "ts", ts);

    if (ev == NULL || f == NULL) {
        goto failed;
    }

    if (sin != NULL) {
        char  *t = json_dumps(sin, JSON_COMPACT | JSON_ENCODE_ANY);

        if (t == NULL || json_object_set_new(f, "sin", json_string(t)) != 0)
        {
            free(t);
            goto failed;
        }

        free(t);
    }

    ev_text = json_dumps(ev, JSON_COMPACT);
    f_text = json_dumps(f, JSON_COMPACT);
    audit = wf_audit(gw_svc_req_id(s->req), s->caller.owner,
                     comp != NULL ? "compensate" : "stop", res, 200);

    if (ev_text == NULL || f_text == NULL || audit == NULL) {
        goto failed;
    }

    argv[0] = s->id;
    argv[1] = seq_s;
    argv[2] = comp != NULL ? "comp" : "abort";
    argv[3] = hash;
    argv[4] = ev_text;
    argv[5] = audit;
    argv[6] = now_s;
    argv[7] = f_text;

    s->compensate = (comp != NULL);

    if (wf_api_eval(&wf_script_stop, 8, argv, wf_stop_done,
                    s)
        != 0)
    {
        wf_unavailable(s->req);
        wf_stop_end(s);
    }

    goto done;

failed:

    gw_svc_reply_problem(s->req, 500, "internal", "Internal error",
                         "cannot build the stop (out of memory, or the "
                         "state's input with Stopped is past 256 KiB)");
    wf_stop_end(s);

done:

    json_decref(sin);
    json_decref(ev);
    json_decref(f);
    free(ev_text);
    free(f_text);
    free(audit);
}


static void
wf_stop_done(redisReply *reply, void *data)
{
    wf_stop_t    *s = data;

    long long     rc;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        wf_unavailable(s->req);
        wf_stop_end(s);
        return;
    }

    rc = reply->element[0]->integer;

    if (rc == 0 && ++s->tries < WF_STOP_TRIES) {
        wf_stop_read(s);
        return;
    }

    if (rc == 404) {
        wf_api_not_found(s->req, s->id);
        wf_stop_end(s);
        return;
    }

    if (rc != 1) {
        gw_svc_reply_problem(s->req, 409, "not-running", "Conflict",
                             rc == 0 ? "the execution kept moving; retry"
                             : "the execution is not running, or is "
                               "compensating already");
        wf_stop_end(s);
        return;
    }

    if (!s->compensate) {
        gw_svc_metric_add(wf_m.ended, 1, s->def, WF_ABORTED);
        gw_svc_metric_observe(wf_m.seconds,
                              (double) (wf_now_ms() - s->start) / 1000,
                              s->def);

    } else {
        wf_engine_kick();
    }

    gw_svc_log(wf.svc, GW_SVC_INFO, s->req, s->compensate
               ? "execution compensating" : "execution aborted",
               json_pack("{s:s}", "id", s->id));

    /* answered with the execution as it is now */
    wf_api_describe(s->req, &s->caller, s->id);
    wf_stop_end(s);
}


static void
wf_stop_end(wf_stop_t *s)
{
    json_decref(s->sin);
    json_decref(s->error);
    json_decref(s->cause);
    free(s);
}
