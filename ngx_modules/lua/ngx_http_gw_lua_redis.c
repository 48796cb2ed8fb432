
/*
 * Copyright (C) Tollgate
 *
 * gw.redis(cmd, ...): a Redis command from a plugin's access handler,
 * through the worker's asynchronous client (docs/plugins-shared.md).  The
 * command is sent with ngx_http_gw_redis_request() and the access
 * coroutine yields; the reply comes to ngx_http_gw_lua_redis_reply(),
 * outside Lua, which turns it into {value, err} in the plugin's state and
 * hands that to the runner through the request's ngx_http_gw_lua_wait_t;
 * the runner resumes the coroutine with the two values.
 *
 * The key design decision: a plugin reaches only its own keys.  The
 * gateway's own records live in the same Redis (hashed API keys,
 * consumers, rate counters: lib/model/gw_model.h), so a plugin that could
 * write gw:key:* could mint credentials.  Commands are therefore allowed
 * from a list whose key positions are known, and every key argument is
 * sent as "gw:plugin:<name>:<key>"; anything else (administration,
 * scripting, blocking and pub/sub commands, MULTI, SELECT, KEYS, SORT,
 * commands that name keys in other places) gives nil, "command not
 * allowed".  A blocking command would also stall every request pipelined
 * on the worker's one connection; SETRANGE and SETBIT (a far offset) and
 * SRANDMEMBER (a negative count) turn a few bytes into hundreds of
 * megabytes, so they are left out too.
 *
 * Caps: at most NGX_HTTP_GW_LUA_REDIS_ARGS arguments (the command
 * included), NGX_HTTP_GW_LUA_REDIS_BYTES bytes of them in all, replies
 * nested at most NGX_HTTP_GW_LUA_REDIS_DEPTH deep; the reply's size is
 * bounded by the plugin state's memory cap ("no memory" past it).
 */


#include "ngx_http_gw_lua.h"
#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_LUA_REDIS_ARGS   64
#define NGX_HTTP_GW_LUA_REDIS_BYTES  (512 * 1024)
#define NGX_HTTP_GW_LUA_REDIS_DEPTH  8
#define NGX_HTTP_GW_LUA_REDIS_NUM    32         /* a number's text */
#define NGX_HTTP_GW_LUA_REDIS_PREFIX "gw:plugin:"


/* an allowed command and where its keys are (1: the first argument) */
typedef struct {
    const char                 *name;
    u_char                      first;          /* 0: no keys */
    signed char                 last;           /* -1: up to the end */
    u_char                      step;
} ngx_http_gw_lua_redis_cmd_t;


/* one command in flight */
typedef struct {
    gw_lua_t                   *state;
    ngx_http_gw_lua_wait_t     *wait;
} ngx_http_gw_lua_redis_ctx_t;


/* what the reply handler builds in the plugin's state */
typedef struct {
    ngx_http_gw_redis_status_e  status;
    redisReply                 *reply;
    int                         ref;
} ngx_http_gw_lua_redis_build_t;


static int ngx_http_gw_lua_redis(lua_State *L);
static const ngx_http_gw_lua_redis_cmd_t *ngx_http_gw_lua_redis_find(
    const char *name, size_t len);
static void ngx_http_gw_lua_redis_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static int ngx_http_gw_lua_redis_build(lua_State *L);
static void ngx_http_gw_lua_redis_push(lua_State *L, redisReply *reply,
    ngx_uint_t top);
static ngx_uint_t ngx_http_gw_lua_redis_depth(redisReply *reply,
    ngx_uint_t depth);


ngx_uint_t  ngx_http_gw_lua_redis_yielded;


#define K1  1, 1, 1
#define KA  1, -1, 1

static const ngx_http_gw_lua_redis_cmd_t  ngx_http_gw_lua_redis_cmds[] = {
    { "PING", 0, 0, 0 }, { "ECHO", 0, 0, 0 }, { "TIME", 0, 0, 0 },

    /* strings and keys */
    { "GET", K1 }, { "SET", K1 }, { "SETNX", K1 }, { "SETEX", K1 },
    { "PSETEX", K1 }, { "GETSET", K1 }, { "GETDEL", K1 }, { "GETEX", K1 },
    { "APPEND", K1 }, { "STRLEN", K1 }, { "GETRANGE", K1 },
    { "INCR", K1 }, { "INCRBY", K1 },
    { "INCRBYFLOAT", K1 }, { "DECR", K1 }, { "DECRBY", K1 },
    { "EXPIRE", K1 }, { "PEXPIRE", K1 }, { "EXPIREAT", K1 },
    { "PEXPIREAT", K1 }, { "TTL", K1 }, { "PTTL", K1 }, { "PERSIST", K1 },
    { "TYPE", K1 }, { "GETBIT", K1 }, { "BITCOUNT", K1 },
    { "BITPOS", K1 }, { "DEL", KA }, { "UNLINK", KA }, { "EXISTS", KA },
    { "TOUCH", KA }, { "MGET", KA }, { "MSET", 1, -1, 2 },
    { "MSETNX", 1, -1, 2 }, { "RENAME", 1, 2, 1 }, { "RENAMENX", 1, 2, 1 },

    /* hashes */
    { "HGET", K1 }, { "HSET", K1 }, { "HSETNX", K1 }, { "HMSET", K1 },
    { "HMGET", K1 }, { "HGETALL", K1 }, { "HDEL", K1 }, { "HEXISTS", K1 },
    { "HINCRBY", K1 }, { "HINCRBYFLOAT", K1 }, { "HKEYS", K1 },
    { "HVALS", K1 }, { "HLEN", K1 }, { "HSTRLEN", K1 }, { "HSCAN", K1 },

    /* lists */
    { "LPUSH", K1 }, { "RPUSH", K1 }, { "LPUSHX", K1 }, { "RPUSHX", K1 },
    { "LPOP", K1 }, { "RPOP", K1 }, { "LLEN", K1 }, { "LRANGE", K1 },
    { "LINDEX", K1 }, { "LSET", K1 }, { "LREM", K1 }, { "LTRIM", K1 },
    { "LINSERT", K1 }, { "LPOS", K1 }, { "RPOPLPUSH", 1, 2, 1 },
    { "LMOVE", 1, 2, 1 },

    /* sets */
    { "SADD", K1 }, { "SREM", K1 }, { "SMEMBERS", K1 },
    { "SISMEMBER", K1 }, { "SMISMEMBER", K1 }, { "SCARD", K1 },
    { "SPOP", K1 }, { "SSCAN", K1 },
    { "SINTER", KA }, { "SUNION", KA }, { "SDIFF", KA },
    { "SMOVE", 1, 2, 1 },

    /* sorted sets */
    { "ZADD", K1 }, { "ZREM", K1 }, { "ZSCORE", K1 }, { "ZMSCORE", K1 },
    { "ZINCRBY", K1 }, { "ZCARD", K1 }, { "ZCOUNT", K1 },
    { "ZLEXCOUNT", K1 }, { "ZRANGE", K1 }, { "ZRANGEBYSCORE", K1 },
    { "ZRANGEBYLEX", K1 }, { "ZREVRANGE", K1 }, { "ZREVRANGEBYSCORE", K1 },
    { "ZREVRANGEBYLEX", K1 }, { "ZRANK", K1 }, { "ZREVRANK", K1 },
    { "ZREMRANGEBYSCORE", K1 }, { "ZREMRANGEBYRANK", K1 },
    { "ZREMRANGEBYLEX", K1 }, { "ZPOPMIN", K1 }, { "ZPOPMAX", K1 },
    { "ZSCAN", K1 },

    /* HyperLogLog, streams (no XREAD: it may block) */
    { "PFADD", K1 }, { "PFCOUNT", KA }, { "XADD", K1 }, { "XLEN", K1 },
    { "XRANGE", K1 }, { "XREVRANGE", K1 }, { "XTRIM", K1 }, { "XDEL", K1 },

    { NULL, 0, 0, 0 }
};

#undef K1
#undef KA


int
ngx_http_gw_lua_redis_open(lua_State *L)
{
    lua_pushcfunction(L, ngx_http_gw_lua_redis);
    lua_setfield(L, -2, "redis");

    return 0;
}


static const ngx_http_gw_lua_redis_cmd_t *
ngx_http_gw_lua_redis_find(const char *name, size_t len)
{
    const ngx_http_gw_lua_redis_cmd_t  *c;

    for (c = ngx_http_gw_lua_redis_cmds; c->name != NULL; c++) {
        if (ngx_strlen(c->name) == len
            && ngx_strncasecmp((u_char *) c->name, (u_char *) name, len) == 0)
        {
            return c;
        }
    }

    return NULL;
}


static int
ngx_http_gw_lua_redis_fail(lua_State *L, const char *err)
{
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
}


/*
 * gw.redis(cmd, ...) -> the reply, or nil and an error text.  Raises a
 * Lua error outside the access coroutine (another phase, init, or a
 * coroutine the plugin made itself, which the runner could not resume)
 * and for an argument that is neither a string nor a number.
 */
static int
ngx_http_gw_lua_redis(lua_State *L)
{
    int                                 argc, i, n, last;
    char                               *p, *buf, *key;
    double                              d;
    size_t                              len, total, prefix, keys;
    ngx_int_t                           rc;
    const char                         *argv[NGX_HTTP_GW_LUA_REDIS_ARGS];
    ngx_uint_t                          iskey[NGX_HTTP_GW_LUA_REDIS_ARGS];
    size_t                              argvlen[NGX_HTTP_GW_LUA_REDIS_ARGS];
    char                                num[NGX_HTTP_GW_LUA_REDIS_ARGS]
                                           [NGX_HTTP_GW_LUA_REDIS_NUM];
    ngx_http_request_t                 *r;
    ngx_http_gw_lua_call_t             *call;
    ngx_http_gw_lua_wait_t             *wait;
    ngx_http_gw_lua_redis_ctx_t        *ctx;
    const ngx_http_gw_lua_redis_cmd_t  *cmd;

    (void) ngx_http_gw_lua_api_check(L, "redis",
                                     1 << NGX_HTTP_GW_LUA_ACCESS);

    call = ngx_http_gw_lua_cur;

    if (call->co == NULL || L != call->co) {
        return luaL_error(L, "gw.redis: not allowed in a coroutine of the "
                          "plugin's own");
    }

    argc = lua_gettop(L);

    if (argc == 0) {
        return luaL_error(L, "gw.redis: no command");
    }

    if (argc > NGX_HTTP_GW_LUA_REDIS_ARGS) {
        return ngx_http_gw_lua_redis_fail(L, "too many arguments");
    }

    total = 0;

    for (i = 0; i < argc; i++) {

        switch (lua_type(L, i + 1)) {

        case LUA_TSTRING:
            argv[i] = lua_tolstring(L, i + 1, &argvlen[i]);
            break;

        case LUA_TNUMBER:
            d = lua_tonumber(L, i + 1);

            /* the range first: converting past int64_t is undefined */
            if (d > -9.2e18 && d < 9.2e18 && d == (double) (int64_t) d) {
                n = snprintf(num[i], NGX_HTTP_GW_LUA_REDIS_NUM, "%lld",
                             (long long) d);

            } else {
                n = snprintf(num[i], NGX_HTTP_GW_LUA_REDIS_NUM, "%.17g", d);
            }

            argv[i] = num[i];
            argvlen[i] = (n > 0) ? (size_t) n : 0;
            break;

        default:
            return luaL_error(L, "gw.redis: argument #%d must be a string "
                              "or a number", i + 1);
        }

        total += argvlen[i];
        iskey[i] = 0;
    }

    if (total > NGX_HTTP_GW_LUA_REDIS_BYTES) {
        return ngx_http_gw_lua_redis_fail(L, "arguments too large");
    }

    cmd = ngx_http_gw_lua_redis_find(argv[0], argvlen[0]);

    if (cmd == NULL) {
        return ngx_http_gw_lua_redis_fail(L, "command not allowed");
    }

    /* the keys, prefixed with the plugin's namespace */

    keys = 0;

    if (cmd->first != 0 && cmd->first < argc) {
        last = (cmd->last < 0) ? argc - 1 : ngx_min(cmd->last, argc - 1);

        for (i = cmd->first; i <= last; i += cmd->step) {
            iskey[i] = 1;
            keys++;
        }
    }

    wait = ngx_http_gw_lua_wait(call);

    if (wait == NULL || wait->waiting) {
        return luaL_error(L, "gw.redis: a command is in flight");
    }

    r = call->r;

    prefix = sizeof(NGX_HTTP_GW_LUA_REDIS_PREFIX) - 1
             + call->plugin->name.len + 1;
    buf = NULL;

    /* allocations and the client's work: no jump out of them */
    gw_lua_guard_enter();

    ctx = ngx_palloc(r->pool, sizeof(ngx_http_gw_lua_redis_ctx_t));
    if (ctx == NULL) {
        gw_lua_guard_leave();
        return ngx_http_gw_lua_redis_fail(L, "no memory");
    }

    ctx->state = ngx_http_gw_lua_call_state(call);
    ctx->wait = wait;

    if (keys != 0) {
        buf = ngx_alloc(total + keys * prefix, r->connection->log);
        if (buf == NULL) {
            gw_lua_guard_leave();
            return ngx_http_gw_lua_redis_fail(L, "no memory");
        }

        p = buf;

        for (i = 1; i < argc; i++) {
            if (!iskey[i]) {
                continue;
            }

            len = argvlen[i];
            key = p;

            p = (char *) ngx_cpymem(p, NGX_HTTP_GW_LUA_REDIS_PREFIX,
                                    sizeof(NGX_HTTP_GW_LUA_REDIS_PREFIX) - 1);
            p = (char *) ngx_cpymem(p, call->plugin->name.data,
                                    call->plugin->name.len);
            *p++ = ':';
            p = (char *) ngx_cpymem(p, argv[i], len);

            argv[i] = key;
            argvlen[i] = prefix + len;
        }
    }

    rc = ngx_http_gw_redis_request(r, ngx_http_gw_lua_redis_reply, ctx,
                                   argc, argv, argvlen);

    if (buf != NULL) {
        ngx_free(buf);
    }

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "plugin %V: gw.redis could not send a command",
                      &call->plugin->name);
    }

    gw_lua_guard_leave();

    if (rc != NGX_AGAIN) {
        return ngx_http_gw_lua_redis_fail(L, "redis unavailable");
    }

    wait->waiting = 1;
    wait->ready = 0;
    wait->ref = LUA_NOREF;

    ngx_http_gw_lua_redis_yielded = 1;

    return lua_yield(L, 0);
}


/*
 * The outcome of a command: {value, err} made in the plugin's state and
 * referenced from its registry for the runner, which resumes the
 * coroutine with them (LUA_NOREF, "no memory" to it, when that fails).
 * Never finalizes r: its phases run again after this returns.
 */
static void
ngx_http_gw_lua_redis_reply(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_lua_redis_ctx_t    *ctx = data;

    gw_lua_err_t                    err;
    gw_lua_rc_e                     rc;
    ngx_http_gw_lua_redis_build_t   b;

    b.status = status;
    b.reply = reply;
    b.ref = LUA_NOREF;

    if (ctx->state != NULL && !gw_lua_dead(ctx->state)) {
        rc = gw_lua_cpcall(ctx->state, ngx_http_gw_lua_redis_build, &b,
                           &err);

        if (rc != GW_LUA_OK) {
            b.ref = LUA_NOREF;
        }
    }

    ctx->wait->ref = b.ref;
    ctx->wait->ready = 1;
}


/* in protected mode: registry[ref] = {value, err} */
static int
ngx_http_gw_lua_redis_build(lua_State *L)
{
    redisReply                     *reply;
    ngx_http_gw_lua_redis_build_t  *b;

    b = lua_touserdata(L, 1);
    reply = b->reply;

    lua_createtable(L, 2, 0);

    if (b->status != NGX_HTTP_GW_REDIS_OK || reply == NULL) {
        lua_pushliteral(L, "redis unavailable");
        lua_rawseti(L, -2, 2);

    } else if (reply->type == REDIS_REPLY_ERROR) {
        lua_pushlstring(L, reply->str, reply->len);
        lua_rawseti(L, -2, 2);

    } else if (ngx_http_gw_lua_redis_depth(reply, 0)
               > NGX_HTTP_GW_LUA_REDIS_DEPTH)
    {
        lua_pushliteral(L, "reply too deep");
        lua_rawseti(L, -2, 2);

    } else if (reply->type != REDIS_REPLY_NIL) {
        ngx_http_gw_lua_redis_push(L, reply, 1);
        lua_rawseti(L, -2, 1);
    }

    b->ref = luaL_ref(L, LUA_REGISTRYINDEX);

    return 0;
}


static ngx_uint_t
ngx_http_gw_lua_redis_depth(redisReply *reply, ngx_uint_t depth)
{
    size_t      i;
    ngx_uint_t  d, max;

    if (reply->type != REDIS_REPLY_ARRAY) {
        return depth;
    }

    max = depth + 1;

    if (max > NGX_HTTP_GW_LUA_REDIS_DEPTH) {
        return max;
    }

    for (i = 0; i < reply->elements; i++) {
        d = ngx_http_gw_lua_redis_depth(reply->element[i], depth + 1);
        max = ngx_max(max, d);
    }

    return max;
}


/*
 * Pushes a reply: status and string replies as strings, integers as
 * numbers, arrays as tables 1..n; inside an array a nil (MGET of a
 * missing key) or an error element is false, so the table has no holes.
 */
static void
ngx_http_gw_lua_redis_push(lua_State *L, redisReply *reply, ngx_uint_t top)
{
    size_t  i;

    switch (reply->type) {

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        lua_pushlstring(L, reply->str, reply->len);
        break;

    case REDIS_REPLY_INTEGER:
        lua_pushnumber(L, (lua_Number) reply->integer);
        break;

    case REDIS_REPLY_ARRAY:
        luaL_checkstack(L, 4, "reply too deep");
        lua_createtable(L, (int) reply->elements, 0);

        for (i = 0; i < reply->elements; i++) {
            ngx_http_gw_lua_redis_push(L, reply->element[i], 0);
            lua_rawseti(L, -2, (int) i + 1);
        }

        break;

    default:
        if (top) {
            lua_pushnil(L);

        } else {
            lua_pushboolean(L, 0);
        }

        break;
    }
}
