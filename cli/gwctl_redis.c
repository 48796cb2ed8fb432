
/*
 * Copyright (C) Tollgate
 *
 * gwctl's Redis helpers over one synchronous hiredis connection.  A lost
 * connection, a timeout and an error reply all end the run with exit code
 * 3 and a message naming the address and the command, so the callers only
 * test for NULL or -1.  Replies to reads are hashes (HGETALL's flat array
 * of field, value) whose values are looked up by name; nothing read from
 * Redis is trusted to have the model's shape.
 */


#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gwctl.h"


static int gwctl_redis_error(gwctl_t *ctl, const char *what);
static int gwctl_check(gwctl_t *ctl, redisReply *reply, const char *what);


/* the first word of a command format, for messages */

static const char *
gwctl_verb(char *buf, size_t size, const char *fmt)
{
    size_t  n;

    n = strcspn(fmt, " ");

    if (n >= size) {
        n = size - 1;
    }

    memcpy(buf, fmt, n);
    buf[n] = '\0';

    return buf;
}


/* a failure of the connection itself: lost, timed out, refused */

static int
gwctl_redis_error(gwctl_t *ctl, const char *what)
{
    redisContext  *c;

    c = ctl->redis;

    if (c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0)
    {
        return gwctl_fail(ctl, GWCTL_REDIS,
                          "redis %s: %s: no reply within %d seconds",
                          ctl->addr, what, GWCTL_TIMEOUT);
    }

    if (c->err == REDIS_ERR_EOF) {
        return gwctl_fail(ctl, GWCTL_REDIS,
                          "redis %s: %s: the server closed the connection",
                          ctl->addr, what);
    }

    return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: %s: %s",
                      ctl->addr, what, c->err ? c->errstr : "no reply");
}


/* a reply: NULL (the connection failed) or an error reply fail the run */

static int
gwctl_check(gwctl_t *ctl, redisReply *reply, const char *what)
{
    char  msg[160];

    if (reply == NULL) {
        return gwctl_redis_error(ctl, what);
    }

    if (reply->type != REDIS_REPLY_ERROR) {
        return 0;
    }

    gwctl_sanitize(msg, sizeof(msg), reply->str, reply->len);

    gwctl_fail(ctl, GWCTL_REDIS, "redis %s: %s: %s", ctl->addr, what, msg);

    freeReplyObject(reply);

    return -1;
}


/*
 * Runs one command (hiredis format, each %s or %b one argument whatever it
 * holds).  Returns the reply, which the caller frees, or NULL.
 */

redisReply *
gwctl_command(gwctl_t *ctl, const char *fmt, ...)
{
    char         verb[32];
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    reply = redisvCommand(ctl->redis, fmt, args);
    va_end(args);

    if (gwctl_check(ctl, reply, gwctl_verb(verb, sizeof(verb), fmt)) != 0) {
        return NULL;
    }

    return reply;
}


/* runs one command whose reply only has to be other than an error */

int
gwctl_run(gwctl_t *ctl, const char *fmt, ...)
{
    char         verb[32];
    va_list      args;
    redisReply  *reply;

    va_start(args, fmt);
    reply = redisvCommand(ctl->redis, fmt, args);
    va_end(args);

    if (gwctl_check(ctl, reply, gwctl_verb(verb, sizeof(verb), fmt)) != 0) {
        return -1;
    }

    freeReplyObject(reply);

    return 0;
}


/* queues a command of a pipeline; gwctl_reply() reads its reply later */

int
gwctl_append(gwctl_t *ctl, const char *fmt, ...)
{
    int      rc;
    va_list  args;

    va_start(args, fmt);
    rc = redisvAppendCommand(ctl->redis, fmt, args);
    va_end(args);

    if (rc != REDIS_OK) {
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: out of memory",
                          ctl->addr);
    }

    return 0;
}


redisReply *
gwctl_reply(gwctl_t *ctl, const char *what)
{
    void  *reply;

    reply = NULL;

    if (redisGetReply(ctl->redis, &reply) != REDIS_OK) {
        if (reply != NULL) {
            freeReplyObject(reply);
        }

        gwctl_redis_error(ctl, what);

        return NULL;
    }

    if (gwctl_check(ctl, reply, what) != 0) {
        return NULL;
    }

    return reply;
}


/*
 * EXEC: *committed is 1 when the transaction ran, 0 when a WATCHed key
 * changed first (nothing ran).  An error inside the transaction fails the
 * run: Redis has applied the other commands, and says which failed.
 */

int
gwctl_exec(gwctl_t *ctl, int *committed)
{
    size_t       i;
    char         msg[160];
    redisReply  *reply;

    *committed = 0;

    reply = gwctl_command(ctl, "EXEC");
    if (reply == NULL) {
        return -1;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        freeReplyObject(reply);
        return 0;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return gwctl_fail(ctl, GWCTL_REDIS, "redis %s: EXEC: unexpected reply",
                          ctl->addr);
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
            gwctl_sanitize(msg, sizeof(msg), reply->element[i]->str,
                           reply->element[i]->len);
            gwctl_fail(ctl, GWCTL_REDIS, "redis %s: EXEC: command %d: %s",
                       ctl->addr, (int) i + 1, msg);
            freeReplyObject(reply);
            return -1;
        }
    }

    freeReplyObject(reply);

    *committed = 1;

    return 0;
}


/* the value of field name in an HGETALL reply, or NULL */

const redisReply *
gwctl_field(const redisReply *hash, const char *name)
{
    size_t             i, len;
    const redisReply  *f, *v;

    if (hash == NULL || hash->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    len = strlen(name);

    for (i = 0; i + 1 < hash->elements; i += 2) {
        f = hash->element[i];
        v = hash->element[i + 1];

        if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING
            && f->len == len && memcmp(f->str, name, len) == 0)
        {
            return v;
        }
    }

    return NULL;
}


int
gwctl_field_is(const redisReply *hash, const char *name, const char *value)
{
    size_t             len;
    const redisReply  *v;

    v = gwctl_field(hash, name);
    len = strlen(value);

    return v != NULL && v->len == len && memcmp(v->str, value, len) == 0;
}


/*
 * A field as a number of seconds: 1 to 18 decimal digits, no sign, no
 * leading zero except "0" itself.  Returns 0, or -1 when the field is
 * missing or not such a number.
 */

int
gwctl_field_int(const redisReply *hash, const char *name, int64_t *n)
{
    size_t             i;
    int64_t            v;
    const redisReply  *f;

    f = gwctl_field(hash, name);

    if (f == NULL || f->len == 0 || f->len > 18
        || (f->str[0] == '0' && f->len > 1))
    {
        return -1;
    }

    v = 0;

    for (i = 0; i < f->len; i++) {
        if (f->str[i] < '0' || f->str[i] > '9') {
            return -1;
        }

        v = v * 10 + (f->str[i] - '0');
    }

    *n = v;

    return 0;
}


/*
 * WATCHes rkey and tells whether it exists: 1 or 0, 2 for an answer
 * that is not a count, -1 on a failure.
 */

int
gwctl_watch_exists(gwctl_t *ctl, const char *rkey)
{
    int          exists;
    redisReply  *reply;

    if (gwctl_run(ctl, "WATCH %s", rkey) != 0) {
        return -1;
    }

    reply = gwctl_command(ctl, "EXISTS %s", rkey);
    if (reply == NULL) {
        return -1;
    }

    exists = (reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0
              && reply->integer <= 1) ? (int) reply->integer : 2;

    freeReplyObject(reply);

    return exists;
}
