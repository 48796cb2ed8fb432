
/*
 * Copyright (C) Tollgate
 *
 * tollgate-reporting (build/backends/reporting): the reporting service
 * (docs/reporting.md) on the service kit.
 *
 *   reporting [-c FILE] [-t]
 *
 * Its configuration keys are all listed here.  The store is SQLite (the
 * processing engine's file, "sqlite") unless "pg" is set, or "pg_replica"
 * (then the replica is used: reports read, a replica is where analytical
 * reads belong).  The parts start on the loop in order: the worker pool,
 * the progress and lease timer, the queue's claims (rp_queue.c), the
 * spool's sweeper, the schedules.  On SIGTERM no new run starts, the
 * POSTs waiting answer 202, the runs taken but not started go back to
 * the durable queue for another instance, and the loop waits for the
 * runs in flight and the deliveries (10 s at most), so that their final
 * state is written.  Past drain_timeout the runs still in flight are
 * cut short and given back too (they run again elsewhere, from
 * scratch); then the workers are joined.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "rp.h"


static void rp_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void rp_loop_drain(gw_svc_t *svc, void *data);
static void rp_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);
static void rp_loop_abandon(evutil_socket_t fd, short what, void *arg);


static const gw_svc_key_t  rp_keys[] = {
    { "instance", GW_SVC_STR, "", 0, 0, NULL },

    /* the store */
    { "sqlite", GW_SVC_STR, "", 0, 0, NULL },
    { "pg", GW_SVC_STR, "", 0, 0, NULL },
    { "pg_replica", GW_SVC_STR, "", 0, 0, NULL },

    /* runs */
    { "spool", GW_SVC_STR, NULL, 0, 0, NULL },
    { "workers", GW_SVC_INT, "2", 1, 64, NULL },
    { "queue_max", GW_SVC_INT, "64", 1, 10000, NULL },
    { "max_rows", GW_SVC_INT, "1000000", 1, 100000000, NULL },
    { "pdf_max_rows", GW_SVC_INT, "10000", 1, 1000000, NULL },
    { "max_bytes", GW_SVC_SIZE, "256m", 1024, 4LL * 1024 * 1024 * 1024,
      NULL },
    { "max_seconds", GW_SVC_MSEC, "60s", 100, 3600000, NULL },
    { "run_ttl", GW_SVC_MSEC, "86400s", 1000, 31536000000LL, NULL },
    { "wait_max", GW_SVC_MSEC, "30s", 0, 300000, NULL },

    /* the durable queue (rp_queue.c) */
    { "lease", GW_SVC_MSEC, "30s", 200, 3600000, NULL },
    { "due_max", GW_SVC_INT, "10000", 1, 10000000, NULL },
    { "attempts", GW_SVC_INT, "3", 1, 100, NULL },
    { "drain_timeout", GW_SVC_MSEC, "60s", 0, 3600000, NULL },

    /* download links */
    { "secret_key_file", GW_SVC_STR, NULL, 0, 0, NULL },
    { "link_ttl", GW_SVC_MSEC, "3600s", 1000, 604800000LL, NULL },
    { "public_url", GW_SVC_STR, "", 0, 0, NULL },
    { "sweep_every", GW_SVC_MSEC, "60s", 1000, 3600000, NULL },

    /* delivery (rp_notify.c) and schedules (rp_sched.c) */
    { "notification", GW_SVC_STR, "", 0, 0, NULL },
    { "attach_max", GW_SVC_SIZE, "5m", 0, 64 * 1024 * 1024, NULL },
    { "schedules", GW_SVC_STR, "on", 0, 0, "on|off" },
    { "schedule_poll", GW_SVC_MSEC, "5s", 50, 60000, NULL },

    { NULL, 0, NULL, 0, 0, NULL }
};


rp_conf_t  rp;

static struct event  *rp_drain_ev;


static void
rp_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    rp.base = base;

    if (rp_pool_start((int) gw_svc_conf_int(svc, "workers"),
                      (int) gw_svc_conf_int(svc, "queue_max"))
        != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot start the workers",
                   NULL);
        gw_svc_shutdown(svc);
        return;
    }

    rp_run_loop_start();
    rp_queue_start();
    rp_dl_sweep_start();

    if (strcmp(gw_svc_conf_str(svc, "schedules"), "on") == 0) {
        rp_sched_start();
    }
}


static void
rp_loop_drain(gw_svc_t *svc, void *data)
{
    struct timeval  tv;

    rp.stopped = 1;

    rp_sched_stop();
    rp_queue_stop();
    rp_run_drain();
    rp_pool_cancel();

    tv.tv_sec = rp.drain / 1000;
    tv.tv_usec = (rp.drain % 1000) * 1000;

    rp_drain_ev = evtimer_new(rp.base, rp_loop_abandon, NULL);
    if (rp_drain_ev != NULL) {
        evtimer_add(rp_drain_ev, &tv);
    }
}


/*
 * drain_timeout ran out: the runs in flight stop at their next row or
 * progress check, and rp_run_done() gives them back to the queue.
 */
static void
rp_loop_abandon(evutil_socket_t fd, short what, void *arg)
{
    gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "drain_timeout: the runs in "
               "flight are given back", NULL);

    __atomic_store_n(&rp.abandon, 1, __ATOMIC_RELEASE);
}


static void
rp_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    rp.stopped = 1;

    rp_sched_stop();
    rp_queue_stop();
    __atomic_store_n(&rp.abandon, 1, __ATOMIC_RELEASE);
    rp_pool_stop();
    rp_run_loop_stop();

    if (rp_drain_ev != NULL) {
        event_free(rp_drain_ev);
        rp_drain_ev = NULL;
    }
    rp_dl_sweep_stop();
}


static int
rp_configure(gw_svc_t *svc)
{
    struct stat  st;

    rp.spool = gw_svc_conf_str(svc, "spool");
    rp.sqlite = gw_svc_conf_str(svc, "sqlite");
    rp.pg = gw_svc_conf_str(svc, "pg_replica");
    if (rp.pg[0] == '\0') {
        rp.pg = gw_svc_conf_str(svc, "pg");
    }

    rp.max_rows = (uint64_t) gw_svc_conf_int(svc, "max_rows");
    rp.pdf_max_rows = (uint64_t) gw_svc_conf_int(svc, "pdf_max_rows");
    rp.max_bytes = (uint64_t) gw_svc_conf_int(svc, "max_bytes");
    rp.max_ms = gw_svc_conf_int(svc, "max_seconds");
    rp.run_ttl = gw_svc_conf_int(svc, "run_ttl");
    rp.link_ttl = gw_svc_conf_int(svc, "link_ttl");
    rp.wait_max = gw_svc_conf_int(svc, "wait_max");
    rp.sweep_every = gw_svc_conf_int(svc, "sweep_every");
    rp.lease = gw_svc_conf_int(svc, "lease");
    rp.due_max = gw_svc_conf_int(svc, "due_max");
    rp.attempts = gw_svc_conf_int(svc, "attempts");
    rp.drain = gw_svc_conf_int(svc, "drain_timeout");
    rp.queue_max = (int) gw_svc_conf_int(svc, "queue_max");
    rp.public_url = gw_svc_conf_str(svc, "public_url");

    if (rp.sqlite[0] == '\0' && rp.pg[0] == '\0') {
        fprintf(stderr, "reporting: set sqlite, pg or pg_replica\n");
        return -1;
    }

    if (stat(rp.spool, &st) != 0 || !S_ISDIR(st.st_mode)
        || access(rp.spool, W_OK | X_OK) != 0)
    {
        fprintf(stderr, "reporting: spool \"%s\" is not a writable "
                "directory\n", rp.spool);
        return -1;
    }

    if (rp_sign_load(gw_svc_conf_str(svc, "secret_key_file")) != 0) {
        return -1;
    }

    if (rp_notify_configure(svc) != 0) {
        return -1;
    }

    gw_svc_instance(svc, "instance", rp.instance, sizeof(rp.instance));

    return 0;
}


int
main(int argc, char **argv)
{
    int  rc;

    rp.svc = gw_svc_create("reporting", rp_keys);
    if (rp.svc == NULL) {
        return 1;
    }

    rp.m_runs = gw_svc_counter(rp.svc, "reporting_runs_total",
                               "Runs ended, by format and status",
                               (const char *[]) { "format", "status",
                                                  NULL });
    rp.m_rows = gw_svc_counter(rp.svc, "reporting_rows_total",
                               "Rows written into reports, by format",
                               (const char *[]) { "format", NULL });
    rp.m_seconds = gw_svc_histogram(rp.svc, "reporting_run_seconds",
                                    "Runs' time from request to end",
                                    (const char *[]) { "format", NULL },
                                    NULL, 0);

    if (rp.m_runs == NULL || rp.m_rows == NULL || rp.m_seconds == NULL
        || rp_run_routes(rp.svc) != 0 || rp_dl_routes(rp.svc) != 0)
    {
        fprintf(stderr, "cannot add the routes: %s\n",
                gw_svc_error(rp.svc));
        gw_svc_free(rp.svc);
        return 1;
    }

    gw_svc_set_loop(rp.svc, rp_loop_start, rp_loop_stop, NULL);
    gw_svc_set_drain(rp.svc, rp_loop_drain, NULL);
    gw_svc_set_main(rp.svc, rp_configure, NULL);

    rc = gw_svc_main(rp.svc, argc, argv);

    gw_svc_free(rp.svc);

    return rc;
}
