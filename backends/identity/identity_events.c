
/*
 * Copyright (C) Tollgate
 *
 * The identity service's gw:events subscriber: a second Redis connection
 * on the kit's loop (a subscribed connection takes no other commands),
 * reconnected every redis_retry.  "client <id>" drops that client's
 * cached record (identity_client.c), "jti <jti>" adds to the revoked set
 * (identity_token_revoked.c); other messages are not ours.  Messages
 * published while unsubscribed are lost, so every (re)subscription
 * drops the client cache and has the revoked set reloaded, and a lost
 * connection tells the revoked set it cannot be trusted until then.
 */


#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>

#include "gw_model.h"
#include "identity_client.h"


static void identity_sub_connect(void);
static void identity_sub_tick(evutil_socket_t fd, short what, void *arg);
static void identity_sub_connected(const redisAsyncContext *ac, int status);
static void identity_sub_disconnected(const redisAsyncContext *ac,
    int status);
static void identity_sub_message(redisAsyncContext *ac, void *r,
    void *data);


static struct event_base   *identity_events_base;
static redisAsyncContext   *identity_sub;
static struct event        *identity_sub_timer;
static int                  identity_sub_up;
static int                  identity_sub_failures;
static int                  identity_events_stopped;


void
identity_events_start(struct event_base *base)
{
    struct timeval  tv;
    long long       ms;

    identity_events_base = base;
    identity_events_stopped = 0;

    identity_sub_timer = event_new(base, -1, EV_PERSIST, identity_sub_tick,
                                   NULL);
    if (identity_sub_timer == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error", "no timer for gw:events"));
        return;
    }

    ms = gw_svc_conf_int(identity.svc, "redis_retry");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    event_add(identity_sub_timer, &tv);

    identity_sub_connect();
}


void
identity_events_stop(void)
{
    identity_events_stopped = 1;

    if (identity_sub_timer != NULL) {
        event_free(identity_sub_timer);
        identity_sub_timer = NULL;
    }

    if (identity_sub != NULL) {
        redisAsyncFree(identity_sub);
        identity_sub = NULL;
    }
}


static void
identity_sub_connect(void)
{
    char               *host, *colon;
    const char         *addr, *pw;
    redisAsyncContext  *ac;

    addr = gw_svc_conf_str(identity.svc, "redis");

    if (strncmp(addr, "unix:", 5) == 0) {
        ac = redisAsyncConnectUnix(addr + 5);

    } else {
        host = strdup(addr);
        if (host == NULL) {
            return;
        }

        colon = strrchr(host, ':');
        *colon = '\0';

        if (host[0] == '[') {
            colon[-1] = '\0';
        }

        ac = redisAsyncConnect(host + (host[0] == '['), atoi(colon + 1));
        free(host);
    }

    if (ac == NULL || ac->err != 0) {
        if (ac != NULL) {
            redisAsyncFree(ac);
        }

        return;
    }

    if (redisLibeventAttach(ac, identity_events_base) != REDIS_OK) {
        redisAsyncFree(ac);
        return;
    }

    redisAsyncSetConnectCallback(ac, identity_sub_connected);
    redisAsyncSetDisconnectCallback(ac, identity_sub_disconnected);

    identity_sub = ac;

    pw = gw_svc_conf_str(identity.svc, "redis_password");

    if (pw[0] != '\0') {
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", pw);
    }

    redisAsyncCommand(ac, identity_sub_message, NULL,
                      "SUBSCRIBE " GW_MODEL_EVENTS);
}


static void
identity_sub_tick(evutil_socket_t fd, short what, void *arg)
{
    if (identity_sub == NULL && !identity_events_stopped) {
        identity_sub_connect();
    }
}


static void
identity_sub_connected(const redisAsyncContext *ac, int status)
{
    if (status == REDIS_OK) {
        return;
    }

    /* hiredis frees the context after this callback */

    if (identity_sub_failures++ == 0) {
        gw_svc_log(identity.svc, GW_SVC_WARN, NULL,
                   "gw:events subscriber: connect failed",
                   json_pack("{s:s}", "error", ac->errstr));
    }

    identity_sub = NULL;
}


static void
identity_sub_disconnected(const redisAsyncContext *ac, int status)
{
    identity_sub = NULL;

    if (identity_sub_up) {
        identity_sub_up = 0;

        if (!identity_events_stopped) {
            gw_svc_log(identity.svc, GW_SVC_WARN, NULL,
                       "gw:events subscriber: connection lost", NULL);
            identity_token_events(0);
        }
    }
}


/*
 * SUBSCRIBE's replies: the confirmation (the cache and the revoked set
 * start again: messages may have been missed while unsubscribed), then
 * one "message" per publication.  A message this model does not know is
 * ignored.
 */

static void
identity_sub_message(redisAsyncContext *ac, void *r, void *data)
{
    redisReply        *reply, *kind, *msg;
    gw_model_event_t   ev;

    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3 || identity_events_stopped)
    {
        return;
    }

    kind = reply->element[0];
    msg = reply->element[2];

    if (kind->type != REDIS_REPLY_STRING) {
        return;
    }

    if (strcmp(kind->str, "subscribe") == 0) {
        identity_sub_up = 1;
        identity_sub_failures = 0;
        identity_client_clear();
        gw_svc_log(identity.svc, GW_SVC_INFO, NULL,
                   "gw:events subscriber up", NULL);
        identity_token_events(1);
        return;
    }

    if (strcmp(kind->str, "message") != 0
        || msg->type != REDIS_REPLY_STRING
        || gw_model_event_parse(msg->str, msg->len, &ev) != 0)
    {
        return;
    }

    switch (ev.kind) {

    case GW_MODEL_EVENT_IS_CLIENT:
        identity_client_changed(ev.id, ev.id_len);
        break;

    case GW_MODEL_EVENT_IS_JTI:
        identity_token_revoked_event(ev.id, ev.id_len);
        break;

    default:
        break;
    }
}
