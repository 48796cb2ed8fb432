
/*
 * Copyright (C) Tollgate
 *
 * The identity service's gw:events subscriber, a subscription of the
 * kit's (gw_svc_subscribe(): its own connection, reconnected every
 * redis_retry).  "client <id>" drops that client's cached record
 * (identity_client.c), "jti <jti>" adds to the revoked set
 * (identity_token_revoked.c); other messages are not ours.  Messages
 * published while unsubscribed are lost, so every (re)subscription
 * drops the client cache and has the revoked set reloaded, and a lost
 * subscription tells the revoked set it cannot be trusted until then.
 */


#include "gw_model.h"
#include "identity_client.h"


static void identity_events_message(gw_svc_t *svc, const char *channel,
    const char *text, size_t len, void *data);
static void identity_events_subscribed(gw_svc_t *svc, int up, void *data);


static gw_svc_sub_t  *identity_events_sub;


void
identity_events_start(struct event_base *base)
{
    identity_events_sub = gw_svc_subscribe(identity.svc, GW_MODEL_EVENTS,
                                           identity_events_message,
                                           identity_events_subscribed,
                                           NULL);
    if (identity_events_sub == NULL) {
        gw_svc_log(identity.svc, GW_SVC_ERROR, NULL, "cannot start",
                   json_pack("{s:s}", "error",
                             gw_svc_error(identity.svc)));
    }
}


void
identity_events_stop(void)
{
    gw_svc_sub_free(identity_events_sub);
    identity_events_sub = NULL;
}


static void
identity_events_subscribed(gw_svc_t *svc, int up, void *data)
{
    if (up) {
        identity_client_clear();
    }

    identity_token_events(up);
}


/* one publication: a message this model does not know is ignored */

static void
identity_events_message(gw_svc_t *svc, const char *channel,
    const char *text, size_t len, void *data)
{
    gw_model_event_t  ev;

    if (gw_model_event_parse(text, len, &ev) != 0) {
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
