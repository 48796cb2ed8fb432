
/*
 * Copyright (C) Tollgate
 *
 * tollgate-notification (build/backends/notification): the notification
 * service (docs/notification.md) on the service kit.
 *
 *   notification [-c FILE] [-t]
 *
 * Its configuration keys are all listed here, each read by the part it
 * belongs to; outbound HTTP is the kit's, set up here from the webhook_*
 * keys (ntf_out_configure()); the parts start on the loop in order: the
 * scheduler, then the stream reader.  On SIGTERM the
 * scheduler and the stream reader stop taking work at once, and the
 * attempts in flight are waited for up to drain_timeout (ntf_sched.c)
 * before the loop ends.
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntf.h"


static void ntf_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void ntf_loop_drain(gw_svc_t *svc, void *data);
static void ntf_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);
static int ntf_out_configure(gw_svc_t *svc);
static int ntf_configure(gw_svc_t *svc);


static const gw_svc_key_t  ntf_keys[] = {
    { "instance", GW_SVC_STR, "", 0, 0, NULL },

    /* the scheduler (ntf_sched.c) */
    { "lease", GW_SVC_MSEC, "30s", 500, 3600000, NULL },
    { "poll", GW_SVC_MSEC, "100", 5, 60000, NULL },
    { "batch", GW_SVC_INT, "256", 1, 10000, NULL },
    { "inflight", GW_SVC_INT, "1024", 1, 100000, NULL },
    { "retry_schedule", GW_SVC_STR,
      "0s,5s,300s,1800s,7200s,18000s,36000s,36000s", 0, 0, NULL },
    { "retry_jitter", GW_SVC_INT, "20", 0, 50, NULL },
    { "disable_after", GW_SVC_MSEC, "432000s", 1000, 31536000000LL, NULL },
    { "keep", GW_SVC_MSEC, "604800s", 1000, 31536000000LL, NULL },
    { "attempts_max", GW_SVC_INT, "100", 1, 10000, NULL },
    { "drain_timeout", GW_SVC_MSEC, "10s", 0, 600000, NULL },

    /* notifications from a stream (ntf_stream.c) */
    { "stream", GW_SVC_STR, "gw:ntf:in", 0, 0, NULL },
    { "stream_batch", GW_SVC_INT, "100", 1, 10000, NULL },

    /* webhooks (the kit's outbound HTTP, ntf_subs.c, ntf_webhook.c) */
    { "webhook_allow", GW_SVC_STR, "", 0, 0, NULL },
    { "webhook_timeout", GW_SVC_MSEC, "15s", 100, 300000, NULL },
    { "webhook_connect_timeout", GW_SVC_MSEC, "5s", 100, 60000, NULL },
    { "webhook_response_max", GW_SVC_SIZE, "64k", 0, 16 * 1024 * 1024,
      NULL },
    { "webhook_concurrency", GW_SVC_INT, "8", 1, 1000, NULL },
    { "webhook_ca", GW_SVC_STR, "", 0, 0, NULL },
    { "secret_key_file", GW_SVC_STR, NULL, 0, 0, NULL },
    { "secret_overlap", GW_SVC_MSEC, "86400s", 0, 31536000000LL, NULL },

    /* email (ntf_mime.c, ntf_smtp.c) */
    { "smtp_url", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_tls", GW_SVC_STR, "required", 0, 0, "off|try|required" },
    { "smtp_ca", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_user", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_password_file", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_from", GW_SVC_STR, "", 0, 0, NULL },
    { "smtp_timeout", GW_SVC_MSEC, "30s", 100, 600000, NULL },
    { "smtp_concurrency", GW_SVC_INT, "4", 1, 1000, NULL },
    { "smtp_threads", GW_SVC_INT, "4", 1, 64, NULL },
    { "email_max", GW_SVC_SIZE, "10m", 1024, 100 * 1024 * 1024, NULL },

    /* push (ntf_push.c) */
    { "push_url", GW_SVC_STR, "", 0, 0, NULL },
    { "push_timeout", GW_SVC_MSEC, "5s", 100, 60000, NULL },

    { NULL, 0, NULL, 0, 0, NULL }
};


ntf_t  ntf;


static void
ntf_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    ntf.base = base;

    if (ntf_sched_start() != 0 || ntf_stream_start() != 0) {
        gw_svc_shutdown(svc);
    }
}


/* the graceful stop begins: no new attempt; those in flight drained */
static void
ntf_loop_drain(gw_svc_t *svc, void *data)
{
    ntf.stopped = 1;

    ntf_sched_drain();
}


static void
ntf_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    ntf.stopped = 1;

    ntf_stream_stop();
    ntf_sched_stop();
    ntf_smtp_pool_stop();
    gw_svc_out_free(svc);
}


/* the kit's outbound HTTP with the webhook_* keys; -1 on stderr */
static int
ntf_out_configure(gw_svc_t *svc)
{
    gw_svc_out_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.allow_name = "webhook_allow";
    conf.allow = gw_svc_conf_str(svc, "webhook_allow");
    conf.ca = gw_svc_conf_str(svc, "webhook_ca");
    conf.timeout = gw_svc_conf_int(svc, "webhook_timeout");
    conf.connect_timeout = gw_svc_conf_int(svc, "webhook_connect_timeout");
    conf.wait = gw_svc_conf_int(svc, "lease") / 2;
    conf.response_max = (size_t) gw_svc_conf_int(svc,
                                                 "webhook_response_max");
    conf.concurrency = (unsigned) gw_svc_conf_int(svc,
                                                  "webhook_concurrency");
    conf.metrics = "gw_ntf_http";

    if (conf.ca != NULL && conf.ca[0] != '\0'
        && access(conf.ca, R_OK) != 0)
    {
        fprintf(stderr, "webhook_ca: %s: %s\n", conf.ca, strerror(errno));
        return -1;
    }

    return gw_svc_out_configure(svc, &conf);
}


/* the configuration's parts, and the instance's name */

static int
ntf_configure(gw_svc_t *svc)
{
    if (ntf_sched_configure(svc) != 0
        || ntf_out_configure(svc) != 0
        || ntf_subs_configure(svc) != 0
        || ntf_smtp_configure(svc) != 0)
    {
        return -1;
    }

    gw_svc_instance(svc, "instance", ntf.instance, sizeof(ntf.instance));

    return 0;
}


int
main(int argc, char **argv)
{
    int  rc;

    ntf.svc = gw_svc_create("notification", ntf_keys);
    if (ntf.svc == NULL) {
        return 1;
    }

    if (ntf_api_routes(ntf.svc) != 0 || ntf_subs_routes(ntf.svc) != 0) {
        fprintf(stderr, "cannot add the routes: %s\n",
                gw_svc_error(ntf.svc));
        gw_svc_free(ntf.svc);
        return 1;
    }

    gw_svc_set_loop(ntf.svc, ntf_loop_start, ntf_loop_stop, NULL);
    gw_svc_set_drain(ntf.svc, ntf_loop_drain, NULL);
    gw_svc_set_main(ntf.svc, ntf_configure, NULL);

    rc = gw_svc_main(ntf.svc, argc, argv);

    gw_svc_free(ntf.svc);

    return rc;
}
