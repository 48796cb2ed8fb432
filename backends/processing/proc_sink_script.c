
/*
 * Copyright (C) Tollgate
 *
 * The exactly-once commit of the Redis-backed sinks (redis, stream): one
 * EVAL that compares the batch's position with the one stored for
 * (sink, partition) in gw:proc:<pipeline>:pos, and only when it is after
 * it applies the batch's writes, stores the new position and, with a
 * window, the task's state in gw:proc:<pipeline>:state:<p>.  Redis runs a
 * script atomically, so the writes and the position move together or
 * not at all (with AOF, as far as the fsync policy makes the script's
 * effects durable).
 *
 * The script touches keys it builds from its arguments: a standalone
 * Redis (or one cluster slot by hash tags) only.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"


typedef struct {
    proc_sink_done_pt       done;
    proc_sink_loaded_pt     loaded;
    void                   *data;
} proc_rsink_call_t;


static void proc_rsink_committed(redisAsyncContext *ac, void *r,
    void *data);
static void proc_rsink_loaded(redisAsyncContext *ac, void *r, void *data);


static const char  proc_rsink_script[] =
    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if cur then\n"
    "  local a1, a2 = string.match(cur, '^(%d+)-(%d+)$')\n"
    "  local b1, b2 = string.match(ARGV[2], '^(%d+)-(%d+)$')\n"
    "  a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1),"
    " tonumber(b2)\n"
    "  if a1 and (b1 < a1 or (b1 == a1 and b2 <= a2)) then return 0 end\n"
    "end\n"
    "for i = 5, #ARGV, 4 do\n"
    "  local op, k, a, b = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]\n"
    "  if op == 'hset' then redis.call('HSET', k, a, b)\n"
    "  elseif op == 'hincrby' then redis.call('HINCRBY', k, a, b)\n"
    "  elseif op == 'incrby' then redis.call('INCRBY', k, b)\n"
    "  elseif op == 'set' then redis.call('SET', k, b)\n"
    "  elseif op == 'sadd' then redis.call('SADD', k, b)\n"
    "  elseif op == 'xadd' then\n"
    "    local f = cjson.decode(b)\n"
    "    local args = {k}\n"
    "    if a ~= '' then\n"
    "      args[2] = 'MAXLEN'; args[3] = '~'; args[4] = a\n"
    "    end\n"
    "    args[#args + 1] = '*'\n"
    "    for fk, fv in pairs(f) do\n"
    "      args[#args + 1] = fk; args[#args + 1] = tostring(fv)\n"
    "    end\n"
    "    redis.call('XADD', unpack(args))\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "if ARGV[4] == '1' then redis.call('SET', KEYS[2], ARGV[3]) end\n"
    "return 1\n";


int
proc_rsink_init(proc_rsink_t *rs, const proc_env_t *env,
    const char *pipeline, json_t *conf, char *err, size_t errlen)
{
    const char  *name;

    name = json_string_value(json_object_get(conf, "name"));
    if (name == NULL || strlen(name) > PROC_NAME_MAX) {
        snprintf(err, errlen, "/name: a name of at most %d bytes",
                 PROC_NAME_MAX);
        return -1;
    }

    rs->env = *env;
    snprintf(rs->name, sizeof(rs->name), "%s", name);
    snprintf(rs->pos_key, sizeof(rs->pos_key), "gw:proc:%s:pos", pipeline);
    snprintf(rs->state_key, sizeof(rs->state_key), "gw:proc:%s:state:",
             pipeline);
    rs->conf = json_incref(conf);

    return 0;
}


int
proc_rsink_commit(proc_rsink_t *rs, const proc_batch_t *b, json_t *ops,
    proc_sink_done_pt done, void *data, char *err, size_t errlen)
{
    int                  rc;
    char                 field[PROC_NAME_MAX + 16], skey[PROC_KEY_MAX + 16];
    char                *state;
    size_t               i, n, *argl;
    const char         **argv;
    redisAsyncContext   *ac;
    proc_rsink_call_t   *call;

    ac = gw_svc_redis(rs->env.svc);
    if (ac == NULL) {
        json_decref(ops);
        snprintf(err, errlen, "Redis is down");
        return -1;
    }

    n = json_array_size(ops);
    state = NULL;

    if (b->state != NULL) {
        state = json_dumps(b->state, JSON_COMPACT);
        if (state == NULL) {
            json_decref(ops);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }

    argv = malloc((n + 9) * (sizeof(char *) + sizeof(size_t)));
    call = malloc(sizeof(proc_rsink_call_t));

    if (argv == NULL || call == NULL) {
        free(argv);
        free(call);
        free(state);
        json_decref(ops);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    argl = (size_t *) (argv + n + 9);

    snprintf(field, sizeof(field), "%s:%u", rs->name, b->partition);
    snprintf(skey, sizeof(skey), "%s%u", rs->state_key, b->partition);

    argv[0] = "EVAL";
    argv[1] = proc_rsink_script;
    argv[2] = "2";
    argv[3] = rs->pos_key;
    argv[4] = skey;
    argv[5] = field;
    argv[6] = b->position;
    argv[7] = state != NULL ? state : "";
    argv[8] = state != NULL ? "1" : "0";

    for (i = 0; i < 9; i++) {
        argl[i] = strlen(argv[i]);
    }

    for (i = 0; i < n; i++) {
        argv[9 + i] = json_string_value(json_array_get(ops, i));
        argl[9 + i] = json_string_length(json_array_get(ops, i));
    }

    call->done = done;
    call->loaded = NULL;
    call->data = data;

    rc = redisAsyncCommandArgv(ac, proc_rsink_committed, call, (int) n + 9,
                               argv, argl);

    free(argv);
    free(state);
    json_decref(ops);

    if (rc != REDIS_OK) {
        free(call);
        snprintf(err, errlen, "cannot send the commit");
        return -1;
    }

    return 0;
}


static void
proc_rsink_committed(redisAsyncContext *ac, void *r, void *data)
{
    redisReply         *reply;
    proc_rsink_call_t  *call;

    reply = r;
    call = data;

    if (reply == NULL) {
        call->done(call->data, PROC_SINK_FAIL, "the connection dropped");

    } else if (reply->type == REDIS_REPLY_ERROR) {
        call->done(call->data, PROC_SINK_FAIL, reply->str);

    } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        call->done(call->data, PROC_SINK_DUP, NULL);

    } else {
        call->done(call->data, PROC_SINK_OK, NULL);
    }

    free(call);
}


int
proc_rsink_load(proc_sink_t *s, unsigned partition,
    proc_sink_loaded_pt done, void *data, char *err, size_t errlen)
{
    char                 field[PROC_NAME_MAX + 16], skey[PROC_KEY_MAX + 16];
    proc_rsink_t        *rs;
    redisAsyncContext   *ac;
    proc_rsink_call_t   *call;

    rs = (proc_rsink_t *) s;

    ac = gw_svc_redis(rs->env.svc);
    if (ac == NULL) {
        snprintf(err, errlen, "Redis is down");
        return -1;
    }

    call = malloc(sizeof(proc_rsink_call_t));
    if (call == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    call->done = NULL;
    call->loaded = done;
    call->data = data;

    snprintf(field, sizeof(field), "%s:%u", rs->name, partition);
    snprintf(skey, sizeof(skey), "%s%u", rs->state_key, partition);

    if (redisAsyncCommand(ac, proc_rsink_loaded, call,
                          "EVAL %s 2 %s %s %s", "return {redis.call('HGET', "
                          "KEYS[1], ARGV[1]), redis.call('GET', KEYS[2])}",
                          rs->pos_key, skey, field)
        != REDIS_OK)
    {
        free(call);
        snprintf(err, errlen, "cannot send the load");
        return -1;
    }

    return 0;
}


static void
proc_rsink_loaded(redisAsyncContext *ac, void *r, void *data)
{
    json_t             *state;
    redisReply         *reply, *p, *s;
    proc_rsink_call_t  *call;

    reply = r;
    call = data;
    state = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 1)
    {
        call->loaded(call->data, PROC_SINK_FAIL, NULL, NULL,
                     reply != NULL && reply->type == REDIS_REPLY_ERROR
                     ? reply->str : "the connection dropped");
        free(call);
        return;
    }

    /* a nil ends a Lua array: {nil, x} comes back empty */

    p = reply->element[0];
    s = reply->elements > 1 ? reply->element[1] : NULL;

    if (s != NULL && s->type == REDIS_REPLY_STRING) {
        state = json_loadb(s->str, s->len, 0, NULL);
    }

    call->loaded(call->data, PROC_SINK_OK,
                 p->type == REDIS_REPLY_STRING ? p->str : NULL, state, NULL);

    json_decref(state);
    free(call);
}


/* frees a redis or stream sink: either starts with its proc_rsink_t */

void
proc_rsink_free(proc_sink_t *sink)
{
    proc_rsink_t  *rs;

    rs = (proc_rsink_t *) sink;

    if (rs != NULL) {
        json_decref(rs->conf);
        free(rs);
    }
}
