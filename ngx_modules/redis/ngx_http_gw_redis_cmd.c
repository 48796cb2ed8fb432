
/*
 * Copyright (C) Tollgate
 *
 * Commands in flight, and the requests that wait for them.  Every command
 * has a record allocated outside any request pool, which is hiredis'
 * privdata.  The record has two owners, each with its flag:
 *
 *   queued   hiredis holds a callback for it.  hiredis calls that callback
 *            exactly once: with the reply, or with NULL when the context
 *            is freed (connection lost, connect timeout, worker exit).
 *   waiting  the caller has not been answered yet.  The answer is the
 *            reply, a timeout (our timer: hiredis cannot take a pipelined
 *            command back, so the late reply is dropped when it comes),
 *            or DOWN; or the request went away first (its pool cleanup
 *            detaches the record and the answer is dropped).
 *
 * The record is freed when both flags are clear, so it is freed exactly
 * once whichever order these events come in, and no callback ever holds a
 * bare request pointer: a record names its request only while waiting,
 * and the request's pool cleanup clears that name before the pool goes.
 *
 * A reply resumes the request inside hiredis' callback (hiredis allows
 * new commands from there).  A NULL reply comes while hiredis frees the
 * context, so its DOWN answer is posted and delivered once hiredis is
 * done.  A script is sent as EVALSHA and, on a NOSCRIPT error reply, once
 * more as EVAL with its text, within the same timeout.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_redis_int.h"


/* bytes of a command formatted on the stack; a longer one is allocated */
#define NGX_HTTP_GW_REDIS_FORMAT_STACK  1024


typedef struct {
    ngx_queue_t                     queue;     /* in worker's inflight */
    ngx_event_t                     ev;        /* timeout, or posted DOWN */
    ngx_http_request_t             *r;         /* only while waiting */
    ngx_pool_cleanup_t             *cln;       /* r's, armed while waiting */
    ngx_http_event_handler_pt       read_event_handler;   /* r's own */
    ngx_http_gw_redis_handler_pt    handler;
    void                           *data;
    ngx_http_gw_redis_script_t     *script;
    int                             argc;      /* scripts: the command */
    const char                    **argv;
    size_t                         *argvlen;
    ngx_http_gw_redis_status_e      status;    /* of a posted answer */
    unsigned                        queued:1;
    unsigned                        waiting:1;
    unsigned                        watching:1; /* r's read handler is ours */
    unsigned                        retried:1;
    unsigned                        content:1; /* r's content handler
                                                  answers it */
} ngx_http_gw_redis_cmd_t;


static ngx_int_t ngx_http_gw_redis_send(ngx_http_request_t *r,
    ngx_http_gw_redis_script_t *script, ngx_http_gw_redis_handler_pt handler,
    void *data, int numkeys, int argc, const char **argv,
    const size_t *argvlen, ngx_uint_t content);
static int ngx_http_gw_redis_async_argv(redisAsyncContext *ac,
    ngx_http_gw_redis_cmd_t *cmd, int argc, const char **argv,
    const size_t *argvlen);
static ngx_int_t ngx_http_gw_redis_down(ngx_log_t *log);
static ngx_http_gw_redis_cmd_t *ngx_http_gw_redis_cmd_create(
    ngx_http_gw_redis_script_t *script, int numkeys, int argc,
    const char **argv, const size_t *argvlen, ngx_log_t *log);
static void ngx_http_gw_redis_cmd_callback(redisAsyncContext *ac,
    void *reply, void *privdata);
static ngx_uint_t ngx_http_gw_redis_noscript(redisReply *reply);
static void ngx_http_gw_redis_cmd_event(ngx_event_t *ev);
static void ngx_http_gw_redis_finish(ngx_http_gw_redis_cmd_t *cmd,
    ngx_http_gw_redis_status_e status, redisReply *reply);
static void ngx_http_gw_redis_cmd_cleanup(void *data);
static void ngx_http_gw_redis_cmd_free(ngx_http_gw_redis_cmd_t *cmd);


ngx_int_t
ngx_http_gw_redis_request(ngx_http_request_t *r,
    ngx_http_gw_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    if (r == NULL || handler == NULL || argc < 1) {
        return NGX_ERROR;
    }

    return ngx_http_gw_redis_send(r, NULL, handler, data, 0, argc, argv,
                                  argvlen, 0);
}


ngx_int_t
ngx_http_gw_redis_request_script(ngx_http_request_t *r,
    ngx_http_gw_redis_script_t *script, ngx_http_gw_redis_handler_pt handler,
    void *data, int numkeys, int argc, const char **argv,
    const size_t *argvlen)
{
    if (r == NULL || handler == NULL || script == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_gw_redis_send(r, script, handler, data, numkeys, argc,
                                  argv, argvlen, 0);
}


ngx_int_t
ngx_http_gw_redis_command(ngx_http_gw_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen)
{
    if (argc < 1) {
        return NGX_ERROR;
    }

    return ngx_http_gw_redis_send(NULL, NULL, handler, data, 0, argc, argv,
                                  argvlen, 0);
}


ngx_int_t
ngx_http_gw_redis_command_script(ngx_http_gw_redis_script_t *script,
    ngx_http_gw_redis_handler_pt handler, void *data, int numkeys, int argc,
    const char **argv, const size_t *argvlen)
{
    if (script == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_gw_redis_send(NULL, script, handler, data, numkeys, argc,
                                  argv, argvlen, 0);
}


ngx_int_t
ngx_http_gw_redis_content_request(ngx_http_request_t *r,
    ngx_http_gw_redis_handler_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    if (r == NULL || handler == NULL || argc < 1) {
        return NGX_ERROR;
    }

    return ngx_http_gw_redis_send(r, NULL, handler, data, 0, argc, argv,
                                  argvlen, 1);
}


/*
 * Queues a command on the command connection.  Accepts r == NULL (then
 * handler may be NULL too: fire and forget).  Returns NGX_AGAIN (r
 * suspended) or NGX_OK (no r); NGX_DECLINED when Redis is down or too
 * many commands are in flight; NGX_ERROR on bad arguments or no memory.
 * With content set, the answer does not run r's phases again (see
 * ngx_http_gw_redis_content_request()).
 */

static ngx_int_t
ngx_http_gw_redis_send(ngx_http_request_t *r,
    ngx_http_gw_redis_script_t *script, ngx_http_gw_redis_handler_pt handler,
    void *data, int numkeys, int argc, const char **argv,
    const size_t *argvlen, ngx_uint_t content)
{
    int                             rc;
    ngx_log_t                      *log;
    ngx_pool_cleanup_t             *cln;
    ngx_http_gw_redis_cmd_t        *cmd;
    ngx_http_gw_redis_worker_t     *w;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    w = &ngx_http_gw_redis_worker;
    rmcf = w->conf;

    if (argc < 0 || (argc > 0 && (argv == NULL || argvlen == NULL))
        || (script != NULL && (numkeys < 0 || numkeys > argc)))
    {
        return NGX_ERROR;
    }

    if (rmcf == NULL || w->exiting) {
        w->failed++;
        return NGX_DECLINED;
    }

    log = (r != NULL) ? r->connection->log : rmcf->log;

    if (!ngx_http_gw_redis_accepting()) {
        return ngx_http_gw_redis_down(log);
    }

    if (w->pending >= rmcf->max_pending) {
        if (!w->overflow) {
            w->overflow = 1;
            ngx_log_error(NGX_LOG_WARN, rmcf->log, 0,
                          "gw_redis: %ui commands in flight, failing new "
                          "ones until half of them are answered "
                          "(gw_redis_max_pending)", w->pending);
        }

        return ngx_http_gw_redis_down(log);
    }

    cmd = ngx_http_gw_redis_cmd_create(script, numkeys, argc, argv, argvlen,
                                       log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cln = NULL;

    if (r != NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            ngx_free(cmd);
            return NGX_ERROR;
        }
    }

    cmd->handler = handler;
    cmd->data = data;
    cmd->content = content ? 1 : 0;

    if (script != NULL) {
        rc = ngx_http_gw_redis_async_argv(w->commands.ac, cmd, cmd->argc,
                                          cmd->argv, cmd->argvlen);

    } else {
        rc = ngx_http_gw_redis_async_argv(w->commands.ac, cmd, argc, argv,
                                          argvlen);
    }

    if (rc != REDIS_OK) {
        ngx_free(cmd);
        return ngx_http_gw_redis_down(log);
    }

    ngx_queue_insert_tail(&w->inflight, &cmd->queue);
    cmd->queued = 1;
    cmd->waiting = 1;
    w->pending++;
    w->sent++;

    cmd->ev.handler = ngx_http_gw_redis_cmd_event;
    cmd->ev.data = cmd;
    cmd->ev.log = log;

    /* a timer-driven command must not hold a worker that is exiting */
    cmd->ev.cancelable = (r == NULL);

    ngx_add_timer(&cmd->ev, rmcf->timeout);

    if (r == NULL) {
        return NGX_OK;
    }

    cln->handler = ngx_http_gw_redis_cmd_cleanup;
    cln->data = cmd;
    cmd->cln = cln;
    cmd->r = r;

    /*
     * Notice a client that goes away while we wait, as proxy_pass does,
     * unless something (a body being read) owns the read handler.
     */

    if (r == r->main && r->read_event_handler == ngx_http_block_reading) {
        cmd->read_event_handler = r->read_event_handler;
        cmd->watching = 1;
        r->read_event_handler = ngx_http_test_reading;
    }

    /* spurious write events must not run the phases while r waits */
    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                   "gw_redis: request waits, %ui commands in flight",
                   w->pending);

    return NGX_AGAIN;
}


/*
 * redisAsyncCommandArgv() for cmd, with the command formatted here:
 * hiredis formats with sdscatfmt(), some 5,000 instructions for a limit
 * script's call, and this writes the same RESP bytes ("*argc", then "$len"
 * and the bytes of each argument, every line ending in CRLF) in a few
 * hundred.  hiredis copies the bytes.  Returns REDIS_OK or REDIS_ERR.
 */

static int
ngx_http_gw_redis_async_argv(redisAsyncContext *ac,
    ngx_http_gw_redis_cmd_t *cmd, int argc, const char **argv,
    const size_t *argvlen)
{
    int      i, rc;
    u_char  *p, *buf, stack[NGX_HTTP_GW_REDIS_FORMAT_STACK];
    size_t   size;

    size = sizeof("*\r\n") - 1 + NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        size += sizeof("$\r\n\r\n") - 1 + NGX_INT_T_LEN + argvlen[i];
    }

    buf = stack;

    if (size > sizeof(stack)) {
        buf = ngx_alloc(size, ngx_cycle->log);
        if (buf == NULL) {
            return REDIS_ERR;
        }
    }

    p = buf;
    *p++ = '*';
    p = ngx_http_gw_write_uint(p, (ngx_uint_t) argc);
    *p++ = CR;
    *p++ = LF;

    for (i = 0; i < argc; i++) {
        *p++ = '$';
        p = ngx_http_gw_write_uint(p, argvlen[i]);
        *p++ = CR;
        *p++ = LF;
        p = ngx_cpymem(p, argv[i], argvlen[i]);
        *p++ = CR;
        *p++ = LF;
    }

    rc = redisAsyncFormattedCommand(ac, ngx_http_gw_redis_cmd_callback, cmd,
                                    (const char *) buf, p - buf);

    if (buf != stack) {
        ngx_free(buf);
    }

    return rc;
}


static ngx_int_t
ngx_http_gw_redis_down(ngx_log_t *log)
{
    ngx_http_gw_redis_worker.failed++;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                   "gw_redis: down, command not sent");

    return NGX_DECLINED;
}


/*
 * A zeroed record.  For a script it also holds the whole command, with
 * copies of the arguments, so that it can be sent again as EVAL:
 * argv[0] EVALSHA, argv[1] the SHA-1, argv[2] numkeys, then the caller's.
 */

static ngx_http_gw_redis_cmd_t *
ngx_http_gw_redis_cmd_create(ngx_http_gw_redis_script_t *script,
    int numkeys, int argc, const char **argv, const size_t *argvlen,
    ngx_log_t *log)
{
    int                       i, n;
    u_char                   *p;
    size_t                    size;
    ngx_http_gw_redis_cmd_t  *cmd;

    size = sizeof(ngx_http_gw_redis_cmd_t);
    n = 0;

    if (script != NULL) {
        n = argc + 3;
        size += n * (sizeof(char *) + sizeof(size_t)) + NGX_INT_T_LEN;

        for (i = 0; i < argc; i++) {
            size += argvlen[i];
        }
    }

    cmd = ngx_alloc(size, log);
    if (cmd == NULL) {
        return NULL;
    }

    ngx_memzero(cmd, sizeof(ngx_http_gw_redis_cmd_t));

    if (script == NULL) {
        return cmd;
    }

    cmd->script = script;
    cmd->argc = n;
    cmd->argv = (const char **) (cmd + 1);
    cmd->argvlen = (size_t *) (cmd->argv + n);
    p = (u_char *) (cmd->argvlen + n);

    cmd->argv[0] = "EVALSHA";
    cmd->argvlen[0] = sizeof("EVALSHA") - 1;
    cmd->argv[1] = (const char *) script->sha1;
    cmd->argvlen[1] = sizeof(script->sha1);
    cmd->argv[2] = (const char *) p;
    cmd->argvlen[2] = ngx_sprintf(p, "%d", numkeys) - p;
    p += NGX_INT_T_LEN;

    for (i = 0; i < argc; i++) {
        cmd->argv[i + 3] = (const char *) p;
        cmd->argvlen[i + 3] = argvlen[i];
        p = ngx_cpymem(p, argv[i], argvlen[i]);
    }

    return cmd;
}


/* hiredis' callback for every command: see the file's comment */

static void
ngx_http_gw_redis_cmd_callback(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gw_redis_cmd_t *cmd = privdata;

    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    cmd->queued = 0;
    w->pending--;

    if (reply != NULL) {
        w->silent = 0;
    }

    if (w->overflow && w->pending <= w->conf->max_pending / 2) {
        w->overflow = 0;
    }

    if (w->exiting || !cmd->waiting) {
        ngx_http_gw_redis_cmd_free(cmd);
        return;
    }

    if (reply == NULL) {
        /* hiredis is freeing the context: answer once it is done */

        cmd->status = NGX_HTTP_GW_REDIS_DOWN;

        if (cmd->ev.timer_set) {
            ngx_del_timer(&cmd->ev);
        }

        cmd->ev.timedout = 0;
        ngx_post_event(&cmd->ev, &ngx_posted_events);
        return;
    }

    if (cmd->script != NULL && !cmd->retried
        && ngx_http_gw_redis_noscript(reply))
    {
        cmd->retried = 1;
        cmd->argv[0] = "EVAL";
        cmd->argvlen[0] = sizeof("EVAL") - 1;
        cmd->argv[1] = (const char *) cmd->script->text.data;
        cmd->argvlen[1] = cmd->script->text.len;

        if (ngx_http_gw_redis_async_argv(ac, cmd, cmd->argc, cmd->argv,
                                         cmd->argvlen)
            == REDIS_OK)
        {
            cmd->queued = 1;
            w->pending++;
            return;
        }

        ngx_http_gw_redis_finish(cmd, NGX_HTTP_GW_REDIS_DOWN, NULL);
        return;
    }

    ngx_http_gw_redis_finish(cmd, NGX_HTTP_GW_REDIS_OK, reply);
}


static ngx_uint_t
ngx_http_gw_redis_noscript(redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR
           && reply->len >= sizeof("NOSCRIPT") - 1
           && ngx_strncmp(reply->str, "NOSCRIPT", sizeof("NOSCRIPT") - 1)
              == 0;
}


/* the command's timer expired, or its posted DOWN answer is due */

static void
ngx_http_gw_redis_cmd_event(ngx_event_t *ev)
{
    ngx_http_gw_redis_cmd_t *cmd = ev->data;

    ngx_uint_t                   n;
    ngx_http_gw_redis_worker_t  *w;
    ngx_http_gw_redis_status_e   status;

    if (ev->timedout) {
        ev->timedout = 0;
        status = NGX_HTTP_GW_REDIS_TIMEOUT;

        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "gw_redis: no reply within %M ms",
                      ngx_http_gw_redis_worker.conf->timeout);

    } else {
        status = cmd->status;
    }

    ngx_http_gw_redis_finish(cmd, status, NULL);

    /* cmd may be freed: only the worker's counters are read from here */

    w = &ngx_http_gw_redis_worker;

    if (status == NGX_HTTP_GW_REDIS_TIMEOUT && w->conf != NULL
        && w->conf->stall_timeouts
        && ++w->silent >= w->conf->stall_timeouts)
    {
        n = w->silent;
        w->silent = 0;
        ngx_http_gw_redis_stalled(n);
    }
}


/*
 * Answers the caller: detaches the record from its request, frees it if
 * hiredis no longer holds it, calls the handler, then runs the request's
 * phases again.  The record is not touched after the handler runs.
 */

static void
ngx_http_gw_redis_finish(ngx_http_gw_redis_cmd_t *cmd,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    void                          *data;
    ngx_uint_t                     content;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_gw_redis_worker_t    *w;
    ngx_http_gw_redis_handler_pt   handler;

    w = &ngx_http_gw_redis_worker;

    r = cmd->r;
    handler = cmd->handler;
    data = cmd->data;
    content = cmd->content;

    cmd->waiting = 0;
    cmd->r = NULL;

    if (status == NGX_HTTP_GW_REDIS_TIMEOUT) {
        w->timeouts++;

    } else if (status == NGX_HTTP_GW_REDIS_DOWN) {
        w->failed++;
    }

    if (cmd->ev.timer_set) {
        ngx_del_timer(&cmd->ev);
    }

    if (cmd->ev.posted) {
        ngx_delete_posted_event(&cmd->ev);
    }

    cmd->ev.log = w->conf->log;

    if (r != NULL) {
        cmd->cln->handler = NULL;
        cmd->cln = NULL;

        if (cmd->watching && r->read_event_handler == ngx_http_test_reading)
        {
            r->read_event_handler = cmd->read_event_handler;
        }
    }

    if (!cmd->queued) {
        ngx_http_gw_redis_cmd_free(cmd);
    }

    c = (r != NULL) ? r->connection : NULL;

    if (handler != NULL) {
        handler(r, data, status, reply);
    }

    if (r == NULL) {
        return;
    }

    if (!content) {
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
    }

    /* a content handler's answer may have closed c: this checks */
    ngx_http_run_posted_requests(c);
}


/*
 * The request's pool is being destroyed: forget the request.  hiredis may
 * still hold the record; then its callback frees it.
 */

static void
ngx_http_gw_redis_cmd_cleanup(void *data)
{
    ngx_http_gw_redis_cmd_t *cmd = data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, cmd->ev.log, 0,
                   "gw_redis: request gone while waiting");

    cmd->cln = NULL;
    cmd->r = NULL;
    cmd->waiting = 0;

    if (cmd->ev.timer_set) {
        ngx_del_timer(&cmd->ev);
    }

    if (cmd->ev.posted) {
        ngx_delete_posted_event(&cmd->ev);
    }

    cmd->ev.log = ngx_http_gw_redis_worker.conf->log;

    if (!cmd->queued) {
        ngx_http_gw_redis_cmd_free(cmd);
    }
}


static void
ngx_http_gw_redis_cmd_free(ngx_http_gw_redis_cmd_t *cmd)
{
    if (cmd->ev.timer_set) {
        ngx_del_timer(&cmd->ev);
    }

    if (cmd->ev.posted) {
        ngx_delete_posted_event(&cmd->ev);
    }

    if (cmd->cln != NULL) {
        cmd->cln->handler = NULL;
    }

    ngx_queue_remove(&cmd->queue);
    ngx_free(cmd);
}


/*
 * At worker exit, after both contexts were freed: the records hiredis no
 * longer holds (answers posted but not delivered, requests waiting on
 * them) are freed without answering.  Their requests' pools are still
 * alive (a pool cleanup would have detached them), so disarming the
 * cleanups is safe.
 */

void
ngx_http_gw_redis_free_commands(void)
{
    ngx_queue_t              *q;
    ngx_http_gw_redis_cmd_t  *cmd;

    while (!ngx_queue_empty(&ngx_http_gw_redis_worker.inflight)) {
        q = ngx_queue_head(&ngx_http_gw_redis_worker.inflight);
        cmd = ngx_queue_data(q, ngx_http_gw_redis_cmd_t, queue);
        ngx_http_gw_redis_cmd_free(cmd);
    }
}
