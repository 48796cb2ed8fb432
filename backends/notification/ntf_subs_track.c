
/*
 * Copyright (C) Tollgate
 *
 * Subscriptions' failures (ntf_subs.h): a failed delivery marks when
 * the failing began, a success clears it, and one that kept failing for
 * disable_after, or answered 410, is disabled.  Each change is one Lua
 * script, so two instances recording failures at once disable it once,
 * and only the one that disabled it tells: the log, the metric
 * gw_ntf_subscriptions_disabled_total, an event on gw:ntf:events and,
 * when the subscription has an owner_email and SMTP is configured, an
 * email to the owner asked for on the notification stream.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntf_subs.h"


#define NTF_SUBS_EVENTS     "gw:ntf:events"


static void ntf_subs_track(const char *sid, const char *why);
static void ntf_subs_tracked(redisAsyncContext *c, void *r,
    void *privdata);
static void ntf_subs_tell(const char *reason, const char *owner,
    const char *email, const char *url, const char *sid);


static gw_svc_metric_t  *ntf_subs_disabled;


/*
 * A failure (ARGV[3] ""), or a disabling for a reason: returns nil, or
 * {reason, owner, owner_email, url} when this call disabled it.
 */
static const char  ntf_subs_track_lua[] =
    "if redis.call('HGET', KEYS[1], 'status') ~= 'enabled' then\n"
    "  return nil\n"
    "end\n"
    "local reason = ARGV[3]\n"
    "if reason == '' then\n"
    "  local f = redis.call('HGET', KEYS[1], 'failing_since')\n"
    "  if not f then\n"
    "    redis.call('HSET', KEYS[1], 'failing_since', ARGV[1])\n"
    "    return nil\n"
    "  end\n"
    "  if tonumber(ARGV[1]) - tonumber(f) < tonumber(ARGV[2]) then\n"
    "    return nil\n"
    "  end\n"
    "  reason = 'failing'\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'status', 'disabled', 'disabled_reason',\n"
    "           reason, 'updated', ARGV[1])\n"
    "local h = redis.call('HMGET', KEYS[1], 'owner', 'owner_email', 'url')\n"
    "return {reason, h[1] or '', h[2] or '', h[3] or ''}\n";


int
ntf_subs_track_configure(gw_svc_t *svc)
{
    static const char *const  labels[] = { "reason", NULL };

    ntf_subs_disabled = gw_svc_counter(svc,
        "gw_ntf_subscriptions_disabled_total",
        "Webhook subscriptions disabled, by reason (failing, gone).",
        labels);

    return ntf_subs_disabled != NULL ? 0 : -1;
}


void
ntf_subs_ok(const char *sid)
{
    redisAsyncContext  *rc;

    rc = gw_svc_redis(ntf.svc);
    if (rc != NULL) {
        redisAsyncCommand(rc, NULL, NULL,
                          "HDEL gw:ntf:sub:%s failing_since", sid);
    }
}


void
ntf_subs_failed(const char *sid)
{
    ntf_subs_track(sid, "");
}


void
ntf_subs_disable(const char *sid, const char *why)
{
    ntf_subs_track(sid, why);
}


static void
ntf_subs_track(const char *sid, const char *why)
{
    char               *copy;
    redisAsyncContext  *rc;

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL) {
        return;
    }

    copy = strdup(sid);
    if (copy == NULL) {
        return;
    }

    if (redisAsyncCommand(rc, ntf_subs_tracked, copy,
                          "EVAL %s 1 gw:ntf:sub:%s %lld %lld %s",
                          ntf_subs_track_lua, sid, ntf_subs_now(),
                          gw_svc_conf_int(ntf.svc, "disable_after"), why)
        != REDIS_OK)
    {
        free(copy);
    }
}


static void
ntf_subs_tracked(redisAsyncContext *c, void *r, void *privdata)
{
    size_t       i;
    char        *sid;
    redisReply  *reply;

    sid = privdata;
    reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 4)
    {
        if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
            gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL,
                       "cannot track a subscription's failures",
                       json_pack("{s:s,s:o}", "subscription", sid, "error",
                                 gw_svc_json_string(reply->str)));
        }

        free(sid);
        return;
    }

    for (i = 0; i < 4; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING) {
            free(sid);
            return;
        }
    }

    ntf_subs_tell(reply->element[0]->str, reply->element[1]->str,
                  reply->element[2]->str, reply->element[3]->str, sid);
    free(sid);
}


/* a subscription was disabled: the log, the metric, the event, the mail */
static void
ntf_subs_tell(const char *reason, const char *owner, const char *email,
    const char *url, const char *sid)
{
    char               *text, body[2600];
    json_t             *req;
    const char         *smtp, *stream;
    redisAsyncContext  *rc;

    gw_svc_log(ntf.svc, GW_SVC_WARN, NULL, "webhook subscription disabled",
               json_pack("{s:s,s:s,s:o,s:o}", "subscription", sid,
                         "reason", reason, "owner",
                         gw_svc_json_string(owner), "url",
                         gw_svc_json_string(url)));

    gw_svc_metric_add(ntf_subs_disabled, 1, reason);

    rc = gw_svc_redis(ntf.svc);
    if (rc == NULL) {
        return;
    }

    redisAsyncCommand(rc, NULL, NULL,
                      "XADD " NTF_SUBS_EVENTS " MAXLEN ~ 100000 * "
                      "type subscription.disabled subscription %s "
                      "owner %s url %s reason %s time %lld",
                      sid, owner, url, reason, ntf_subs_now());

    smtp = gw_svc_conf_str(ntf.svc, "smtp_url");

    if (email[0] == '\0' || smtp == NULL || smtp[0] == '\0') {
        return;
    }

    snprintf(body, sizeof(body),
             "Webhook subscription %s (%.2048s) was disabled (%s): no "
             "deliveries are sent to it any more.  Once the endpoint "
             "answers again, enable it with PATCH /v1/subscriptions/%s "
             "{\"status\": \"enabled\"}.\n", sid, url,
             strcmp(reason, "gone") == 0
             ? "the endpoint answered 410 Gone"
             : "its deliveries kept failing", sid);

    req = json_pack("{s:s,s:s,s:s,s:[s],s:{s:s,s:s},s:{s:s,s:s,s:s}}",
                    "channel", "email", "type", "subscription.disabled",
                    "owner", owner, "recipients", email,
                    "body", "subject", "Your webhook subscription was "
                    "disabled", "text", body,
                    "data", "subscription", sid, "url", url,
                    "reason", reason);
    if (req == NULL) {
        return;
    }

    text = json_dumps(req, JSON_COMPACT);
    json_decref(req);

    if (text == NULL) {
        return;
    }

    stream = gw_svc_conf_str(ntf.svc, "stream");

    redisAsyncCommand(rc, NULL, NULL, "XADD %s * notification %s",
                      stream, text);
    free(text);
}
