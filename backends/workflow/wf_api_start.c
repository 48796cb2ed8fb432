
/*
 * Copyright (C) Tollgate
 *
 * An execution's start (wf.h: wf_start), for POST /v1/executions and
 * for a Task's child workflow.
 *
 * The definition's latest version (or the asked one) is read and parsed
 * first (wf_def_get), for the name of the state to enter; then one
 * script writes the execution's hash, its name, its listings, its first
 * history event, its entry in gw:wf:due and the audit event together.
 * A name is an idempotency key: the same name with the same input (the
 * SHA-256 of its compact text with sorted keys, field "ihash", compared
 * in the script) answers the
 * execution that has it (200), another input is refused (409).
 * wf_start_tok also keeps the caller's bearer token, sealed under the
 * new id (wf_stok.c, field "stok"), for tollgate:http's auth.exchange.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_api.h"


typedef struct {
    char                    id[WF_ID_MAX];
    char                    def[WF_NAME_MAX + 1];
    char                    name[WF_NAME_MAX + 1];
    char                    owner[WF_OWNER_MAX + 1];
    char                   *tp;
    char                   *rid;        /* the request's id, "" for none */
    char                   *parent;
    char                   *stok;       /* the caller's token, clear */
    long long               ver;
    long long               pseq;
    json_t                 *input;
    json_t                 *mocks;
    wf_started_pt           done;
    void                   *data;
    int                     status;     /* an early end, answered later */
    const char             *err;
} wf_start_t;


static void wf_start_latest(redisAsyncContext *c, void *r, void *data);
static void wf_start_def(wf_def_t *def, const char *err, void *data);
static void wf_start_stored(redisReply *reply, void *data);
static void wf_start_end(wf_start_t *s, int status, const char *err);
static void wf_start_later(wf_start_t *s, int status, const char *err);
static void wf_start_timer(evutil_socket_t fd, short what, void *data);


/*
 * ARGV: id, the hash's fields (a JSON object of strings), the event,
 * the audit event (without "id"), now.  {201, id}, {200, id} (the name
 * is that execution's, same input), {409, id} (another input).
 */
gw_svc_script_t  wf_script_start = { .text =
    "local f = cjson.decode(ARGV[2])\n"
    "local id = ARGV[1]\n"
    "local key = 'gw:wf:x:' .. id\n"
    "if f.name ~= id then\n"
    "  local nk = 'gw:wf:name:' .. f.def .. ':' .. f.name\n"
    "  local old = redis.call('GET', nk)\n"
    "  if old and redis.call('EXISTS', 'gw:wf:x:' .. old) == 1 then\n"
    "    if redis.call('HGET', 'gw:wf:x:' .. old, 'ihash') == f.ihash then\n"
    "      return {200, old}\n"
    "    end\n"
    "    return {409, old}\n"
    "  end\n"
    "  redis.call('SET', nk, id)\n"
    "end\n"
    "local args = {}\n"
    "for k, v in pairs(f) do\n"
    "  args[#args + 1] = k\n"
    "  args[#args + 1] = v\n"
    "end\n"
    "redis.call('HSET', key, unpack(args))\n"
    "local start = tonumber(f.start)\n"
    "redis.call('ZADD', 'gw:wf:ls:' .. f.def, start, id)\n"
    "redis.call('ZADD', 'gw:wf:ls:' .. f.def .. ':RUNNING', start, id)\n"
    "redis.call('ZADD', 'gw:wf:all', start, id)\n"
    "redis.call('ZADD', 'gw:wf:own:' .. f.owner, start, id)\n"
    "redis.call('RPUSH', 'gw:wf:h:' .. id, ARGV[3])\n"
    "redis.call('ZADD', 'gw:wf:due', ARGV[5], id)\n"
    "redis.call('XADD', 'gw:audit', '*', 'event',\n"
    "           '{\"id\":\"workflow-' .. id .. '-start\",'\n"
    "           .. string.sub(ARGV[4], 2))\n"
    "return {201, id}\n"
};


void
wf_start(const char *def, long long ver, const char *name, json_t *input,
    const char *owner, const char *traceparent, const char *request_id,
    const char *parent, long long pseq, json_t *mocks, wf_started_pt done,
    void *data)
{
    wf_start_tok(def, ver, name, input, owner, traceparent, request_id,
                 parent, pseq, mocks, NULL, done, data);
}


void
wf_start_tok(const char *def, long long ver, const char *name,
    json_t *input, const char *owner, const char *traceparent,
    const char *request_id, const char *parent, long long pseq,
    json_t *mocks, const char *stok, wf_started_pt done, void *data)
{
    wf_start_t         *s;
    redisAsyncContext  *redis;

    s = calloc(1, sizeof(wf_start_t));
    if (s == NULL) {
        goto failed;
    }

    s->done = done;
    s->data = data;
    s->ver = ver;
    s->pseq = pseq;

    if (strlen(def) > WF_NAME_MAX || strlen(owner) > WF_OWNER_MAX
        || (name != NULL && strlen(name) > WF_NAME_MAX))
    {
        wf_start_later(s, 422, "a name past its cap");
        return;
    }

    strcpy(s->def, def);
    strcpy(s->owner, owner);

    if (name != NULL) {
        strcpy(s->name, name);
    }

    s->tp = strdup(traceparent != NULL ? traceparent : "");
    s->rid = strdup(request_id != NULL ? request_id : "");
    s->parent = strdup(parent != NULL ? parent : "");
    s->input = (input != NULL) ? json_incref(input) : json_object();
    s->mocks = json_incref(mocks);

    if (s->tp == NULL || s->rid == NULL || s->parent == NULL || s->input == NULL
        || wf_id_new(s->id) != 0)
    {
        wf_start_later(s, 503, "out of memory");
        return;
    }

    if (stok != NULL && stok[0] != '\0') {
        if (strlen(stok) > WF_STOK_MAX) {
            wf_start_later(s, 422, "the caller's token is past 8 KiB");
            return;
        }

        s->stok = strdup(stok);
        if (s->stok == NULL) {
            wf_start_later(s, 503, "out of memory");
            return;
        }
    }

    if (gw_asl_too_large(s->input, GW_ASL_PAYLOAD_MAX, NULL)) {
        wf_start_later(s, 422, "the input is past 256 KiB as compact JSON");
        return;
    }

    redis = gw_svc_redis(wf.svc);

    if (redis == NULL
        || redisAsyncCommand(redis, wf_start_latest, s,
                             "HMGET gw:wf:def:%s latest deleted", def)
           != REDIS_OK)
    {
        wf_start_later(s, 503, "the store is unreachable");
    }

    return;

failed:

    /* never inside the call: without memory, no timer either; say so */
    gw_svc_log(wf.svc, GW_SVC_ERROR, NULL, "out of memory starting an "
               "execution", NULL);
    (void) done;
}


static void
wf_start_latest(redisAsyncContext *c, void *r, void *data)
{
    wf_start_t  *s = data;

    long long    latest;
    redisReply  *reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2)
    {
        wf_start_end(s, 503, "the store is unreachable");
        return;
    }

    if (reply->element[0]->type != REDIS_REPLY_STRING) {
        wf_start_end(s, 404, "no such definition");
        return;
    }

    if (reply->element[1]->type == REDIS_REPLY_STRING) {
        wf_start_end(s, 409, "the definition was deleted: it starts no "
                     "new execution");
        return;
    }

    latest = strtoll(reply->element[0]->str, NULL, 10);

    if (s->ver == 0) {
        s->ver = latest;

    } else if (s->ver > latest) {
        wf_start_end(s, 404, "no such version of the definition");
        return;
    }

    wf_def_get(s->def, s->ver, wf_start_def, s);
}


static void
wf_start_def(wf_def_t *def, const char *err, void *data)
{
    wf_start_t  *s = data;

    char        *fields_text, *input_text, *mocks_text, *ev_text, *audit;
    char         res[WF_ID_MAX + 32], now_s[24], ver_s[24], pseq_s[24];
    char         ts[32], ihash[65], *sorted, *sealed;
    json_t      *fields, *ev;
    long long    now;
    const char  *argv[5], *state;

    if (def == NULL) {
        wf_start_end(s, strcmp(err, "no such definition") == 0 ? 404 : 503,
                     err);
        return;
    }

    state = def->asl->top->states[def->asl->top->start].name;

    now = wf_now_ms();
    snprintf(now_s, sizeof(now_s), "%lld", now);
    snprintf(ver_s, sizeof(ver_s), "%lld", s->ver);
    snprintf(pseq_s, sizeof(pseq_s), "%lld", s->pseq);

    if (s->name[0] == '\0') {
        strcpy(s->name, s->id);
    }

    /* the input as given (JsonToString sees its order); its sorted
       text's hash for the name's idempotency */
    input_text = json_dumps(s->input, JSON_COMPACT | JSON_ENCODE_ANY);
    sorted = json_dumps(s->input, JSON_COMPACT | JSON_SORT_KEYS
                                  | JSON_ENCODE_ANY);

    if (sorted == NULL || wf_token_hash(sorted, strlen(sorted), ihash) != 0)
    {
        free(input_text);
        input_text = NULL;
    }

    free(sorted);
    mocks_text = (s->mocks != NULL)
                 ? json_dumps(s->mocks, JSON_COMPACT | JSON_ENCODE_ANY)
                 : strdup("");

    fields = NULL;
    sealed = NULL;
    ev = NULL;
    fields_text = NULL;
    ev_text = NULL;
    audit = NULL;

    if (input_text == NULL || mocks_text == NULL) {
        goto nomem;
    }

    fields = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                       " s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
                       " s:s, s:s}",
                       "id", s->id, "root", s->id, "def", s->def,
                       "ver", ver_s, "name", s->name, "owner", s->owner,
                       "status", WF_RUNNING, "start", now_s,
                       "input", input_text, "state", state, "machine", "",
                       "sin", input_text, "phase", WF_P_ENTER, "seq", "0",
                       "tp", s->tp, "redrives", "0", "mocks", mocks_text,
                       "entered", now_s, "parent", s->parent,
                       "ihash", ihash);

    if (fields == NULL) {
        goto nomem;
    }

    if (s->parent[0] != '\0'
        && (json_object_set_new(fields, "slot", json_string("t")) != 0
            || json_object_set_new(fields, "pseq", json_string(pseq_s))
               != 0))
    {
        goto nomem;
    }

    /* sealed under the new id: a top execution is its own root */
    if (s->stok != NULL
        && (wf_stok_seal(s->stok, strlen(s->stok), s->id, &sealed) != 0
            || json_object_set_new(fields, "stok", json_string(sealed))
               != 0))
    {
        goto nomem;
    }

    wf_rfc3339(now, ts, sizeof(ts));

    ev = json_pack("{s:s, s:s, s:s, s:O}", "type", "ExecutionStarted",
                   "timestamp", ts, "state", state, "input", s->input);

    snprintf(res, sizeof(res), "/v1/executions/%s", s->id);

    fields_text = json_dumps(fields, JSON_COMPACT);
    ev_text = (ev != NULL) ? json_dumps(ev, JSON_COMPACT) : NULL;
    audit = wf_audit(s->rid, s->owner, "start", res, 201);

    if (fields_text == NULL || ev_text == NULL || audit == NULL) {
        goto nomem;
    }

    argv[0] = s->id;
    argv[1] = fields_text;
    argv[2] = ev_text;
    argv[3] = audit;
    argv[4] = now_s;

    if (wf_api_eval(&wf_script_start, 5, argv,
                    wf_start_stored, s)
        != 0)
    {
        wf_start_end(s, 503, "the store is unreachable");
    }

    goto done;

nomem:

    wf_start_end(s, 503, "out of memory");

done:

    wf_def_release(def);
    json_decref(fields);
    free(sealed);
    json_decref(ev);
    free(input_text);
    free(mocks_text);
    free(fields_text);
    free(ev_text);
    free(audit);
}


static void
wf_start_stored(redisReply *reply, void *data)
{
    wf_start_t  *s = data;

    int          status;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_STRING
        || reply->element[1]->len >= WF_ID_MAX)
    {
        wf_start_end(s, 503, "the store is unreachable");
        return;
    }

    status = (int) reply->element[0]->integer;
    strcpy(s->id, reply->element[1]->str);

    if (status == 201) {
        gw_svc_metric_add(wf_m.started, 1, s->def);
        gw_svc_log(wf.svc, GW_SVC_INFO, NULL, "execution started",
                   json_pack("{s:s, s:s, s:I}", "id", s->id,
                             "definition", s->def, "version",
                             (json_int_t) s->ver));
        wf_engine_kick();
    }

    wf_start_end(s, status, status == 409 ? "an execution of that name "
                 "exists with another input" : NULL);
}


static void
wf_start_end(wf_start_t *s, int status, const char *err)
{
    s->done(status, s->id, err, s->data);

    json_decref(s->input);
    json_decref(s->mocks);
    free(s->tp);
    free(s->rid);
    free(s->parent);
    wf_stok_free(s->stok);
    free(s);
}


/* done never runs inside wf_start(): an early end waits for the loop */

static void
wf_start_later(wf_start_t *s, int status, const char *err)
{
    struct timeval  tv = { 0, 0 };

    s->status = status;
    s->err = err;

    if (event_base_once(gw_svc_base(wf.svc), -1, EV_TIMEOUT,
                        wf_start_timer, s, &tv)
        != 0)
    {
        gw_svc_log(wf.svc, GW_SVC_ERROR, NULL, "cannot schedule a start's "
                   "answer", NULL);
        wf_start_end(s, status, err);
    }
}


static void
wf_start_timer(evutil_socket_t fd, short what, void *data)
{
    wf_start_t  *s = data;

    wf_start_end(s, s->status, s->err);
}
