
/*
 * Copyright (C) Tollgate
 *
 * Subscriptions: a service follows a Redis channel (another instance's
 * change, a revocation) with gw_svc_subscribe().  A subscribed
 * connection takes no other command, so each subscription has a
 * connection of its own, made by gw_svc_redis_open() like the kit's
 * (same address, same AUTH), on the same loop.
 *
 * A timer, every redis_retry, reconnects it while it is down.  Messages
 * published while it is down are lost: on_subscribed(up = 1) after
 * every SUBSCRIBE confirmed tells the service to reload what it follows,
 * and on_subscribed(up = 0) that it lost the channel.  An outage is
 * logged once, as a warning ("redis subscription lost", or "redis
 * subscription failed" when it was not up), the retries that fail again
 * at debug only; the subscription coming back is logged at info.
 *
 * A subscription is freed when the loop ends or by gw_svc_sub_free().
 * Freeing one clears ac->data before the context goes: hiredis then
 * runs the pending callbacks with a NULL reply, and they find no
 * subscription to touch.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_svc_int.h"


struct gw_svc_sub_s {
    gw_svc_sub_t          *next;
    gw_svc_t              *svc;
    char                  *channel;
    gw_svc_message_pt      on_message;
    gw_svc_subscribed_pt   on_subscribed;
    void                  *data;
    redisAsyncContext     *ac;
    struct event          *timer;       /* NULL until the loop runs */
    int                    up;          /* SUBSCRIBE confirmed */
    int                    failures;    /* in this outage, logged once */
};


static void gw_svc_sub_start(gw_svc_sub_t *sub);
static void gw_svc_sub_connect(gw_svc_sub_t *sub);
static void gw_svc_sub_tick(evutil_socket_t fd, short what, void *arg);
static void gw_svc_sub_connected(const redisAsyncContext *ac, int status);
static void gw_svc_sub_disconnected(const redisAsyncContext *ac,
    int status);
static void gw_svc_sub_failed(gw_svc_sub_t *sub, const char *error);
static void gw_svc_sub_reply(redisAsyncContext *ac, void *r, void *data);


gw_svc_sub_t *
gw_svc_subscribe(gw_svc_t *svc, const char *channel,
    gw_svc_message_pt on_message, gw_svc_subscribed_pt on_subscribed,
    void *data)
{
    gw_svc_sub_t  *sub;

    if (channel == NULL || channel[0] == '\0') {
        gw_svc_set_error(svc, "subscribe: no channel");
        return NULL;
    }

    sub = calloc(1, sizeof(gw_svc_sub_t));
    if (sub == NULL) {
        gw_svc_set_error(svc, "out of memory");
        return NULL;
    }

    sub->channel = strdup(channel);
    if (sub->channel == NULL) {
        free(sub);
        gw_svc_set_error(svc, "out of memory");
        return NULL;
    }

    sub->svc = svc;
    sub->on_message = on_message;
    sub->on_subscribed = on_subscribed;
    sub->data = data;

    sub->next = svc->subs;
    svc->subs = sub;

    if (svc->base != NULL && !svc->stopped) {
        gw_svc_sub_start(sub);
    }

    return sub;
}


void
gw_svc_sub_free(gw_svc_sub_t *sub)
{
    gw_svc_sub_t  **p;

    if (sub == NULL) {
        return;
    }

    for (p = &sub->svc->subs; *p != NULL; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }

    if (sub->timer != NULL) {
        event_free(sub->timer);
    }

    if (sub->ac != NULL) {
        sub->ac->data = NULL;
        redisAsyncFree(sub->ac);
    }

    free(sub->channel);
    free(sub);
}


/* as the loop starts: the subscriptions made before it */

void
gw_svc_subs_start(gw_svc_t *svc)
{
    gw_svc_sub_t  *sub;

    for (sub = svc->subs; sub != NULL; sub = sub->next) {
        if (sub->timer == NULL) {
            gw_svc_sub_start(sub);
        }
    }
}


void
gw_svc_subs_free(gw_svc_t *svc)
{
    while (svc->subs != NULL) {
        gw_svc_sub_free(svc->subs);
    }
}


static void
gw_svc_sub_start(gw_svc_sub_t *sub)
{
    long long        ms;
    struct timeval   tv;

    sub->timer = event_new(sub->svc->base, -1, EV_PERSIST, gw_svc_sub_tick,
                           sub);
    if (sub->timer == NULL) {
        gw_svc_log(sub->svc, GW_SVC_ERROR, NULL, "cannot subscribe",
                   json_pack("{s:s, s:s}", "channel", sub->channel,
                             "error", "no timer"));
        return;
    }

    ms = gw_svc_conf_int(sub->svc, "redis_retry");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    event_add(sub->timer, &tv);

    gw_svc_sub_connect(sub);
}


static void
gw_svc_sub_connect(gw_svc_sub_t *sub)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis_open(sub->svc, sub, gw_svc_sub_connected,
                           gw_svc_sub_disconnected);

    if (ac == NULL) {
        gw_svc_sub_failed(sub, sub->svc->err);
        return;
    }

    if (redisAsyncCommand(ac, gw_svc_sub_reply, NULL, "SUBSCRIBE %s",
                          sub->channel)
        != REDIS_OK)
    {
        ac->data = NULL;
        redisAsyncFree(ac);
        gw_svc_sub_failed(sub, "cannot send SUBSCRIBE");
        return;
    }

    sub->ac = ac;
}


static void
gw_svc_sub_tick(evutil_socket_t fd, short what, void *arg)
{
    gw_svc_sub_t  *sub;

    sub = arg;

    if (sub->ac == NULL && !sub->svc->stopped) {
        gw_svc_sub_connect(sub);
    }
}


static void
gw_svc_sub_connected(const redisAsyncContext *ac, int status)
{
    gw_svc_sub_t  *sub;

    sub = ac->data;

    if (sub == NULL || status == REDIS_OK) {
        return;
    }

    /* hiredis frees the context after this callback */

    sub->ac = NULL;
    gw_svc_sub_failed(sub, ac->errstr);
}


static void
gw_svc_sub_disconnected(const redisAsyncContext *ac, int status)
{
    gw_svc_sub_t  *sub;

    sub = ac->data;

    if (sub == NULL) {
        return;
    }

    sub->ac = NULL;

    if (!sub->up) {
        /* connected, never subscribed: e.g. AUTH or SUBSCRIBE refused */
        gw_svc_sub_failed(sub, ac->err != 0 ? ac->errstr : "disconnected");
        return;
    }

    sub->up = 0;

    if (sub->svc->stopped) {
        return;
    }

    sub->failures = 1;
    gw_svc_log(sub->svc, GW_SVC_WARN, NULL, "redis subscription lost",
               json_pack("{s:s, s:o}", "channel", sub->channel, "error",
                         gw_svc_json_string(ac->err != 0 ? ac->errstr
                                                         : "closed")));

    if (sub->on_subscribed != NULL) {
        sub->on_subscribed(sub->svc, 0, sub->data);
    }
}


/* a connect that failed: the first of an outage is a warning */

static void
gw_svc_sub_failed(gw_svc_sub_t *sub, const char *error)
{
    gw_svc_log(sub->svc, sub->failures++ == 0 ? GW_SVC_WARN : GW_SVC_DEBUG,
               NULL, "redis subscription failed",
               json_pack("{s:s, s:s, s:o}", "channel", sub->channel,
                         "address", gw_svc_conf_str(sub->svc, "redis"),
                         "error", gw_svc_json_string(error)));
}


/*
 * SUBSCRIBE's replies: ["subscribe", channel, count] once confirmed,
 * then ["message", channel, text] per publication.  A NULL reply is the
 * connection going: the disconnect callback deals with it.
 */

static void
gw_svc_sub_reply(redisAsyncContext *ac, void *r, void *data)
{
    gw_svc_sub_t  *sub;
    redisReply    *reply, *kind, *chan, *msg;

    sub = ac->data;
    reply = r;

    if (sub == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3)
    {
        return;
    }

    kind = reply->element[0];
    chan = reply->element[1];
    msg = reply->element[2];

    if (kind->type != REDIS_REPLY_STRING) {
        return;
    }

    if (strcmp(kind->str, "subscribe") == 0) {
        sub->up = 1;
        sub->failures = 0;
        gw_svc_log(sub->svc, GW_SVC_INFO, NULL, "redis subscribed",
                   json_pack("{s:s}", "channel", sub->channel));

        if (sub->on_subscribed != NULL) {
            sub->on_subscribed(sub->svc, 1, sub->data);
        }

        return;
    }

    if (strcmp(kind->str, "message") != 0
        || chan->type != REDIS_REPLY_STRING
        || msg->type != REDIS_REPLY_STRING)
    {
        return;
    }

    if (sub->on_message != NULL) {
        sub->on_message(sub->svc, chan->str, msg->str, msg->len, sub->data);
    }
}
