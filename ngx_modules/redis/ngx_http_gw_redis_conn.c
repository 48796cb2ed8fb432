
/*
 * Copyright (C) Tollgate
 *
 * The worker's connections to Redis, on hiredis' redisAsyncContext driven
 * by nginx's event loop.  hiredis owns the socket and the protocol; nginx
 * owns readiness and time.  The socket is wrapped in an ngx_connection_t
 * (which hiredis closes, not us) and registered level-triggered: hiredis
 * 0.14 reads at most 16 KiB per call, so an edge-triggered registration
 * would strand the rest of a large or pipelined reply until more bytes
 * came.  With level triggering epoll reports the socket again on the next
 * loop iteration until it is drained, and other connections get their turn
 * in between.
 *
 * hiredis calls our ev.cleanup hook exactly once per context, whatever
 * freed it (a read error, a failed connect, our own redisAsyncFree()), after
 * it has called every pending command's callback with a NULL reply.  That
 * hook is the one place where a context's end is handled: the
 * ngx_connection_t is released, the failure is reported and a retry is
 * scheduled.  Nothing here calls hiredis' blocking API: connect(2) is
 * non-blocking (addresses are IP literals, so no name lookup happens),
 * and its timeout is an nginx timer.
 *
 * Failures are counted in incidents: the first failure after a healthy
 * state logs one [error] for the worker; retries and the other connection
 * failing meanwhile log at [info]; the recovery of the last failing
 * connection logs "reconnected" at [notice].  Retries wait 100ms, then
 * twice as long each time, up to gw_redis_backoff_max, each wait drawn
 * between half that and all of it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_redis_int.h"


static void ngx_http_gw_redis_connect(ngx_http_gw_redis_conn_t *rc);
static void ngx_http_gw_redis_timer_handler(ngx_event_t *ev);
static void ngx_http_gw_redis_read_handler(ngx_event_t *ev);
static void ngx_http_gw_redis_write_handler(ngx_event_t *ev);
static void ngx_http_gw_redis_add_read(void *privdata);
static void ngx_http_gw_redis_del_read(void *privdata);
static void ngx_http_gw_redis_add_write(void *privdata);
static void ngx_http_gw_redis_del_write(void *privdata);
static void ngx_http_gw_redis_cleanup(void *privdata);
static void ngx_http_gw_redis_broken(ngx_http_gw_redis_conn_t *rc);
static void ngx_http_gw_redis_on_connect(const redisAsyncContext *ac,
    int status);
static ngx_int_t ngx_http_gw_redis_handshake(ngx_http_gw_redis_conn_t *rc);
static void ngx_http_gw_redis_auth_callback(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_gw_redis_select_callback(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_gw_redis_ping_callback(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_gw_redis_handshake_reply(ngx_http_gw_redis_conn_t *rc,
    redisReply *reply, const char *what);
static void ngx_http_gw_redis_sub_callback(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_gw_redis_ready(ngx_http_gw_redis_conn_t *rc);
static void ngx_http_gw_redis_report(ngx_http_gw_redis_conn_t *rc,
    ngx_uint_t was_up, const char *reason);
static void ngx_http_gw_redis_retry(ngx_http_gw_redis_conn_t *rc);
static ngx_int_t ngx_http_gw_redis_channels(ngx_cycle_t *cycle,
    ngx_http_gw_redis_main_conf_t *rmcf);


ngx_http_gw_redis_worker_t  ngx_http_gw_redis_worker;


/*
 * Called by the init_process handler in a worker (or the single process):
 * starts the command connection, and the subscriber when something
 * subscribed.  Returns NGX_OK even when Redis is unreachable (the
 * connections keep trying); NGX_ERROR only when memory runs out.
 */

ngx_int_t
ngx_http_gw_redis_init_worker(ngx_cycle_t *cycle,
    ngx_http_gw_redis_main_conf_t *rmcf)
{
    ngx_http_gw_redis_conn_t    *rc;
    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    ngx_memzero(w, sizeof(ngx_http_gw_redis_worker_t));
    ngx_queue_init(&w->inflight);
    w->conf = rmcf;

    if (ngx_http_gw_redis_channels(cycle, rmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = &w->commands;
    rc->name = "";
    rc->log = rmcf->log;
    rc->backoff = NGX_HTTP_GW_REDIS_BACKOFF_MIN;
    rc->timer.handler = ngx_http_gw_redis_timer_handler;
    rc->timer.data = rc;
    rc->timer.log = rmcf->log;
    rc->timer.cancelable = 1;

    ngx_http_gw_redis_connect(rc);

    if (w->nchannels == 0) {
        return NGX_OK;
    }

    rc = &w->subscriber;
    rc->name = "subscriber ";
    rc->subscriber = 1;
    rc->log = rmcf->log;
    rc->backoff = NGX_HTTP_GW_REDIS_BACKOFF_MIN;
    rc->timer.handler = ngx_http_gw_redis_timer_handler;
    rc->timer.data = rc;
    rc->timer.log = rmcf->log;
    rc->timer.cancelable = 1;

    ngx_http_gw_redis_connect(rc);

    return NGX_OK;
}


/* the distinct channels of every subscription, as SUBSCRIBE's arguments */

static ngx_int_t
ngx_http_gw_redis_channels(ngx_cycle_t *cycle,
    ngx_http_gw_redis_main_conf_t *rmcf)
{
    ngx_uint_t                         i, j, n;
    ngx_http_gw_redis_worker_t        *w;
    ngx_http_gw_redis_subscription_t  *sub;

    w = &ngx_http_gw_redis_worker;
    sub = rmcf->subscriptions.elts;

    if (rmcf->subscriptions.nelts == 0) {
        return NGX_OK;
    }

    w->channels = ngx_palloc(cycle->pool,
                             (rmcf->subscriptions.nelts + 1) * sizeof(char *));
    if (w->channels == NULL) {
        return NGX_ERROR;
    }

    w->channel_lens = ngx_palloc(cycle->pool,
                                 (rmcf->subscriptions.nelts + 1)
                                 * sizeof(size_t));
    if (w->channel_lens == NULL) {
        return NGX_ERROR;
    }

    w->channels[0] = "SUBSCRIBE";
    w->channel_lens[0] = sizeof("SUBSCRIBE") - 1;
    n = 0;

    for (i = 0; i < rmcf->subscriptions.nelts; i++) {

        for (j = 0; j < i; j++) {
            if (sub[j].channel.len == sub[i].channel.len
                && ngx_memcmp(sub[j].channel.data, sub[i].channel.data,
                              sub[i].channel.len)
                   == 0)
            {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        n++;
        w->channels[n] = (const char *) sub[i].channel.data;
        w->channel_lens[n] = sub[i].channel.len;
    }

    w->nchannels = n;

    return NGX_OK;
}


/*
 * At worker exit: frees both contexts.  hiredis calls every pending
 * callback with a NULL reply; with w->exiting set, those free their
 * commands without calling any handler, and the cleanup hook schedules
 * nothing.  Then the commands hiredis no longer held are freed too.
 */

void
ngx_http_gw_redis_exit_worker(void)
{
    ngx_uint_t                   i;
    ngx_http_gw_redis_conn_t    *rc, *conns[2];
    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    if (w->conf == NULL) {
        return;
    }

    w->exiting = 1;

    conns[0] = &w->commands;
    conns[1] = &w->subscriber;

    for (i = 0; i < 2; i++) {
        rc = conns[i];

        if (rc->timer.timer_set) {
            ngx_del_timer(&rc->timer);
        }

        if (rc->ac != NULL) {
            redisAsyncFree(rc->ac);
        }

        rc->state = NGX_HTTP_GW_REDIS_IDLE;
    }

    ngx_http_gw_redis_free_commands();

    w->conf = NULL;
}


/*
 * Called from a command's timer, never inside hiredis: gw_redis_stall_
 * timeouts commands in a row got no reply in time, none answered in
 * between.  Redis is connected but silent (stopped, hung, or behind a
 * path that drops packets without a reset), and waiting on it would time
 * out every request.  Both connections (they go to the same server) are
 * freed: their commands fail at once, the failure is one incident
 * logged as a lost connection, and the reconnects' handshakes tell when
 * Redis answers again.
 */

void
ngx_http_gw_redis_stalled(ngx_uint_t n)
{
    u_char                       reason[64];
    ngx_uint_t                   i;
    ngx_http_gw_redis_conn_t    *rc, *conns[2];
    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    if (w->conf == NULL || w->exiting) {
        return;
    }

    ngx_snprintf(reason, sizeof(reason) - 1,
                 "no reply to %ui commands in a row%Z", n);
    reason[sizeof(reason) - 1] = '\0';

    conns[0] = &w->commands;
    conns[1] = &w->subscriber;

    for (i = 0; i < 2; i++) {
        rc = conns[i];

        if (rc->ac == NULL
            || (rc->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
        {
            continue;
        }

        ngx_http_gw_redis_report(rc, rc->healthy, (const char *) reason);
        rc->reported = 1;

        redisAsyncFree(rc->ac);
    }
}


/*
 * Whether a new command may go to the command connection now: connected
 * (the handshake may still be in flight: commands queue behind it), or
 * connecting for the first time since the last healthy state.  While an
 * incident is open, commands fail at once instead of waiting on a
 * connection that probably fails again.
 */

ngx_uint_t
ngx_http_gw_redis_accepting(void)
{
    ngx_http_gw_redis_conn_t  *rc;

    rc = &ngx_http_gw_redis_worker.commands;

    if (rc->ac == NULL || rc->broken
        || (rc->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
    {
        return 0;
    }

    if (rc->state == NGX_HTTP_GW_REDIS_UP) {
        return 1;
    }

    return rc->state == NGX_HTTP_GW_REDIS_CONNECTING && !rc->failing;
}


ngx_uint_t
ngx_http_gw_redis_connected(void)
{
    return ngx_http_gw_redis_worker.commands.healthy;
}


/*
 * Starts a connection attempt.  On an immediate failure (refused, no
 * socket) the failure is reported and a retry scheduled; otherwise the
 * context waits for its first write event, with the handshake (AUTH,
 * SELECT or SUBSCRIBE) queued ahead of any command.
 */

static void
ngx_http_gw_redis_connect(ngx_http_gw_redis_conn_t *rc)
{
    ngx_connection_t               *c;
    redisAsyncContext              *ac;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_gw_redis_worker.conf;

    if (rc->failing) {
        rc->retries++;
    }

    rc->healthy = 0;
    rc->broken = 0;
    rc->reported = 0;
    rc->handshake = 0;

    if (rmcf->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) rmcf->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) rmcf->host.data, rmcf->port);
    }

    if (ac == NULL) {
        ngx_http_gw_redis_report(rc, 0, "out of memory");
        ngx_http_gw_redis_retry(rc);
        return;
    }

    if (ac->err) {
        ngx_http_gw_redis_report(rc, 0, ac->errstr);
        redisAsyncFree(ac);
        ngx_http_gw_redis_retry(rc);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rc->log);
    if (c == NULL) {
        ngx_http_gw_redis_report(rc, 0, "no free connection");
        redisAsyncFree(ac);
        ngx_http_gw_redis_retry(rc);
        return;
    }

    c->data = rc;
    c->log = rc->log;
    c->read->log = rc->log;
    c->write->log = rc->log;
    c->read->handler = ngx_http_gw_redis_read_handler;
    c->write->handler = ngx_http_gw_redis_write_handler;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    rc->ac = ac;
    rc->c = c;
    rc->state = NGX_HTTP_GW_REDIS_CONNECTING;

    /* first, so that a failed event call below can shorten it */
    ngx_add_timer(&rc->timer, rmcf->connect_timeout);

    ac->data = rc;
    ac->ev.data = rc;
    ac->ev.addRead = ngx_http_gw_redis_add_read;
    ac->ev.delRead = ngx_http_gw_redis_del_read;
    ac->ev.addWrite = ngx_http_gw_redis_add_write;
    ac->ev.delWrite = ngx_http_gw_redis_del_write;
    ac->ev.cleanup = ngx_http_gw_redis_cleanup;

    if (rmcf->unix_path.len == 0) {
        /* TCP keepalive, 15s: a peer gone without a word is noticed */
        (void) redisEnableKeepAlive(&ac->c);
    }

    /* registers the write event that tells connect(2) is done */
    (void) redisAsyncSetConnectCallback(ac, ngx_http_gw_redis_on_connect);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                   "gw_redis: %sconnecting to %V", rc->name,
                   &rmcf->address);

    if (ngx_http_gw_redis_handshake(rc) != NGX_OK) {
        ngx_http_gw_redis_broken(rc);
    }
}


/*
 * Queues what a fresh connection sends before anything else: AUTH when a
 * password is set, SELECT for a database other than 0 and a PING
 * (commands only), SUBSCRIBE to every channel (subscriber).  rc->handshake
 * counts the replies to wait for.  The PING makes every handshake a round
 * trip: a Redis that is stopped (SIGSTOP) or behind a path that drops
 * packets still lets the kernel accept the connection, and only an
 * answer tells it is there; without one the connect timeout fails it.
 */

static ngx_int_t
ngx_http_gw_redis_handshake(ngx_http_gw_redis_conn_t *rc)
{
    int                             n;
    u_char                          db[NGX_INT_T_LEN];
    const char                     *argv[2];
    size_t                          argvlen[2];
    ngx_http_gw_redis_worker_t     *w;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    w = &ngx_http_gw_redis_worker;
    rmcf = w->conf;

    if (rmcf->password.len) {
        argv[0] = "AUTH";
        argvlen[0] = sizeof("AUTH") - 1;
        argv[1] = (const char *) rmcf->password.data;
        argvlen[1] = rmcf->password.len;

        if (redisAsyncCommandArgv(rc->ac, ngx_http_gw_redis_auth_callback,
                                  rc, 2, argv, argvlen)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }

        rc->handshake++;
    }

    if (!rc->subscriber && rmcf->database != 0) {
        argv[0] = "SELECT";
        argvlen[0] = sizeof("SELECT") - 1;
        argv[1] = (const char *) db;
        argvlen[1] = ngx_sprintf(db, "%i", rmcf->database) - db;

        if (redisAsyncCommandArgv(rc->ac, ngx_http_gw_redis_select_callback,
                                  rc, 2, argv, argvlen)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }

        rc->handshake++;
    }

    if (!rc->subscriber) {
        argv[0] = "PING";
        argvlen[0] = sizeof("PING") - 1;

        if (redisAsyncCommandArgv(rc->ac, ngx_http_gw_redis_ping_callback,
                                  rc, 1, argv, argvlen)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }

        rc->handshake++;
    }

    if (rc->subscriber) {
        n = (int) w->nchannels + 1;

        if (redisAsyncCommandArgv(rc->ac, ngx_http_gw_redis_sub_callback, rc,
                                  n, w->channels, w->channel_lens)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }

        rc->handshake += w->nchannels;
    }

    return NGX_OK;
}


static void
ngx_http_gw_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_gw_redis_conn_t  *rc;

    rc = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context next; the cleanup hook reports it */
        return;
    }

    rc->state = NGX_HTTP_GW_REDIS_UP;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                   "gw_redis: %sconnected, %ui handshake replies to wait",
                   rc->name, rc->handshake);

    if (rc->handshake == 0) {
        ngx_http_gw_redis_ready(rc);
    }
}


static void
ngx_http_gw_redis_auth_callback(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gw_redis_handshake_reply(privdata, reply, "authentication");
}


static void
ngx_http_gw_redis_select_callback(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gw_redis_handshake_reply(privdata, reply, "SELECT");
}


static void
ngx_http_gw_redis_ping_callback(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gw_redis_handshake_reply(privdata, reply, "PING");
}


/*
 * A reply to AUTH or SELECT.  An error reply fails the connection: it is
 * reported (once per incident) and the context is freed when this callback
 * returns, so the commands queued behind it get NGX_HTTP_GW_REDIS_DOWN
 * instead of Redis' NOAUTH errors.
 */

static void
ngx_http_gw_redis_handshake_reply(ngx_http_gw_redis_conn_t *rc,
    redisReply *reply, const char *what)
{
    u_char  buf[NGX_MAX_ERROR_STR];

    if (reply == NULL) {
        /* the context is going away; the cleanup hook handles it */
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_snprintf(buf, sizeof(buf) - 1, "%s failed: %*s%Z", what,
                     ngx_min(reply->len, 200), reply->str);
        buf[sizeof(buf) - 1] = '\0';

        ngx_http_gw_redis_report(rc, 0, (const char *) buf);
        rc->reported = 1;

        /* deferred by hiredis until this callback returns */
        redisAsyncFree(rc->ac);
        return;
    }

    if (rc->handshake > 0 && --rc->handshake == 0) {
        ngx_http_gw_redis_ready(rc);
    }
}


/*
 * The subscriber's replies: a confirmation per channel after each
 * SUBSCRIBE (then the channel's resync handlers run, and the connection is
 * healthy once every channel is confirmed), and the messages.
 */

static void
ngx_http_gw_redis_sub_callback(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gw_redis_conn_t *rc = privdata;

    ngx_str_t                          channel, message;
    ngx_uint_t                         i, confirm;
    redisReply                        *r, *kind;
    ngx_http_gw_redis_main_conf_t     *rmcf;
    ngx_http_gw_redis_subscription_t  *sub;

    r = reply;
    rmcf = ngx_http_gw_redis_worker.conf;

    if (r == NULL || rmcf == NULL || ngx_http_gw_redis_worker.exiting) {
        return;
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    kind = r->element[0];
    channel.data = (u_char *) r->element[1]->str;
    channel.len = r->element[1]->len;

    if (kind->len == sizeof("subscribe") - 1
        && ngx_strncasecmp((u_char *) kind->str, (u_char *) "subscribe",
                           kind->len)
           == 0)
    {
        confirm = 1;

    } else if (kind->len == sizeof("message") - 1
               && ngx_strncasecmp((u_char *) kind->str,
                                  (u_char *) "message", kind->len)
                  == 0
               && r->element[2]->type == REDIS_REPLY_STRING)
    {
        confirm = 0;
        message.data = (u_char *) r->element[2]->str;
        message.len = r->element[2]->len;
        rc->messages++;

    } else {
        return;
    }

    sub = rmcf->subscriptions.elts;

    for (i = 0; i < rmcf->subscriptions.nelts; i++) {

        if (sub[i].channel.len != channel.len
            || ngx_memcmp(sub[i].channel.data, channel.data, channel.len)
               != 0)
        {
            continue;
        }

        if (!confirm) {
            sub[i].message(sub[i].data, &channel, &message);

        } else if (sub[i].resync != NULL) {
            sub[i].resync(sub[i].data);
        }
    }

    if (confirm && rc->handshake > 0 && --rc->handshake == 0) {
        ngx_http_gw_redis_ready(rc);
    }
}


/* the handshake completed: the connection is healthy */

static void
ngx_http_gw_redis_ready(ngx_http_gw_redis_conn_t *rc)
{
    ngx_uint_t                   level;
    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    rc->healthy = 1;
    rc->backoff = NGX_HTTP_GW_REDIS_BACKOFF_MIN;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (!rc->failing) {
        ngx_log_error(NGX_LOG_INFO, rc->log, 0,
                      "gw_redis: %sconnected to %V", rc->name,
                      &w->conf->address);
        return;
    }

    rc->failing = 0;
    rc->reconnects++;

    /* the outage is over when no connection of the worker is failing */

    if (w->incident && !w->commands.failing && !w->subscriber.failing) {
        w->incident = 0;
        level = NGX_LOG_NOTICE;

    } else {
        level = NGX_LOG_INFO;
    }

    ngx_log_error(level, rc->log, 0,
                  "gw_redis: %sreconnected to %V after %ui retr%s",
                  rc->name, &w->conf->address, rc->retries,
                  rc->retries == 1 ? "y" : "ies");

    rc->retries = 0;
}


/*
 * Reports a failed attempt or a lost connection: one [error] per incident
 * for the worker, [info] for the rest of it.  was_up tells a connection
 * that was healthy from one that never got there.
 */

static void
ngx_http_gw_redis_report(ngx_http_gw_redis_conn_t *rc, ngx_uint_t was_up,
    const char *reason)
{
    ngx_uint_t                   level;
    ngx_http_gw_redis_worker_t  *w;

    w = &ngx_http_gw_redis_worker;

    rc->failing = 1;

    if (w->incident) {
        level = NGX_LOG_INFO;

    } else {
        level = NGX_LOG_ERR;
        w->incident = 1;
        w->incidents++;
    }

    if (was_up) {
        ngx_log_error(level, rc->log, 0,
                      "gw_redis: %sconnection to %V lost: %s",
                      rc->name, &w->conf->address, reason);

    } else {
        ngx_log_error(level, rc->log, 0,
                      "gw_redis: %scannot connect to %V: %s",
                      rc->name, &w->conf->address, reason);
    }
}


/* schedules the next attempt, doubling the delay up to the cap */

static void
ngx_http_gw_redis_retry(ngx_http_gw_redis_conn_t *rc)
{
    ngx_msec_t                      delay;
    ngx_http_gw_redis_main_conf_t  *rmcf;

    rmcf = ngx_http_gw_redis_worker.conf;

    rc->state = NGX_HTTP_GW_REDIS_BACKOFF;

    delay = ngx_min(rc->backoff, rmcf->backoff_max);
    rc->backoff = ngx_min(rc->backoff * 2, rmcf->backoff_max);

    /* between half the delay and all of it: the workers (and gateways)
     * that lost Redis together do not all come back in step */

    delay = delay / 2 + (ngx_msec_t) ngx_random() % (delay / 2 + 1);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                   "gw_redis: %sretry in %M ms", rc->name, delay);

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    ngx_add_timer(&rc->timer, delay);
}


/*
 * The connection's timer: in backoff it starts the next attempt; while
 * connecting or in the handshake it is the connect timeout; after an event
 * call failed it tears the context down outside hiredis' own frames.
 */

static void
ngx_http_gw_redis_timer_handler(ngx_event_t *ev)
{
    ngx_http_gw_redis_conn_t *rc = ev->data;

    if (ngx_http_gw_redis_worker.exiting) {
        return;
    }

    if (rc->state == NGX_HTTP_GW_REDIS_BACKOFF) {
        if (ngx_exiting || ngx_terminate || ngx_quit) {
            rc->state = NGX_HTTP_GW_REDIS_IDLE;
            return;
        }

        ngx_http_gw_redis_connect(rc);
        return;
    }

    if (rc->ac == NULL) {
        return;
    }

    ngx_http_gw_redis_report(rc, 0, rc->broken ? "event registration failed"
                                               : "connection timed out");
    rc->reported = 1;

    /* not inside hiredis here: the context is freed at once */
    redisAsyncFree(rc->ac);
}


static void
ngx_http_gw_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_gw_redis_conn_t  *rc;

    c = ev->data;
    rc = c->data;

    if (rc->ac != NULL && !rc->broken) {
        /* may free the context, c with it: touch neither afterwards */
        redisAsyncHandleRead(rc->ac);
    }
}


static void
ngx_http_gw_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_gw_redis_conn_t  *rc;

    c = ev->data;
    rc = c->data;

    if (rc->ac != NULL && !rc->broken) {
        redisAsyncHandleWrite(rc->ac);
    }
}


/*
 * hiredis' event hooks.  They must be idempotent: hiredis asks for reads
 * after every read and for writes after every command.
 */

static void
ngx_http_gw_redis_add_read(void *privdata)
{
    ngx_http_gw_redis_conn_t *rc = privdata;

    if (rc->c == NULL || rc->c->read->active) {
        return;
    }

    if (ngx_add_event(rc->c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
        != NGX_OK)
    {
        ngx_http_gw_redis_broken(rc);
    }
}


static void
ngx_http_gw_redis_del_read(void *privdata)
{
    ngx_http_gw_redis_conn_t *rc = privdata;

    if (rc->c == NULL || !rc->c->read->active) {
        return;
    }

    if (ngx_del_event(rc->c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_http_gw_redis_broken(rc);
    }
}


static void
ngx_http_gw_redis_add_write(void *privdata)
{
    ngx_http_gw_redis_conn_t *rc = privdata;

    if (rc->c == NULL || rc->c->write->active) {
        return;
    }

    if (ngx_add_event(rc->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
        != NGX_OK)
    {
        ngx_http_gw_redis_broken(rc);
    }
}


static void
ngx_http_gw_redis_del_write(void *privdata)
{
    ngx_http_gw_redis_conn_t *rc = privdata;

    if (rc->c == NULL || !rc->c->write->active) {
        return;
    }

    if (ngx_del_event(rc->c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
        ngx_http_gw_redis_broken(rc);
    }
}


/*
 * An event call failed (nginx logged why): the connection cannot be
 * driven any more.  It is torn down from the timer, since this runs inside
 * hiredis, where the context must not be freed.
 */

static void
ngx_http_gw_redis_broken(ngx_http_gw_redis_conn_t *rc)
{
    if (rc->broken) {
        return;
    }

    rc->broken = 1;
    rc->state = NGX_HTTP_GW_REDIS_CONNECTING;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    ngx_add_timer(&rc->timer, 1);
}


/*
 * hiredis' cleanup hook: the context is being freed (its pending
 * callbacks have run) and hiredis closes the socket right after.  Releases
 * the ngx_connection_t as ngx_close_connection() would, without closing
 * the descriptor, then reports the failure and schedules the next attempt
 * unless the worker is exiting.
 */

static void
ngx_http_gw_redis_cleanup(void *privdata)
{
    ngx_http_gw_redis_conn_t *rc = privdata;

    const char        *reason;
    ngx_uint_t         was_up;
    ngx_connection_t  *c;

    c = rc->c;

    if (c != NULL) {
        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        if (c->write->timer_set) {
            ngx_del_timer(c->write);
        }

        if (ngx_del_conn) {
            ngx_del_conn(c, NGX_CLOSE_EVENT);

        } else {
            if (c->read->active || c->read->disabled) {
                ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
            }

            if (c->write->active || c->write->disabled) {
                ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
            }
        }

        if (c->read->posted) {
            ngx_delete_posted_event(c->read);
        }

        if (c->write->posted) {
            ngx_delete_posted_event(c->write);
        }

        c->read->closed = 1;
        c->write->closed = 1;

        ngx_free_connection(c);
        c->fd = (ngx_socket_t) -1;
    }

    reason = (rc->ac != NULL && rc->ac->err) ? rc->ac->errstr
                                               : "connection closed";
    was_up = rc->healthy;

    rc->c = NULL;
    rc->ac = NULL;
    rc->healthy = 0;
    rc->handshake = 0;

    if (rc->timer.timer_set) {
        ngx_del_timer(&rc->timer);
    }

    if (ngx_http_gw_redis_worker.exiting) {
        rc->state = NGX_HTTP_GW_REDIS_IDLE;
        return;
    }

    if (!rc->reported) {
        ngx_http_gw_redis_report(rc, was_up, reason);
    }

    rc->reported = 0;
    rc->broken = 0;

    ngx_http_gw_redis_retry(rc);
}
