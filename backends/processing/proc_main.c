
/*
 * Copyright (C) Tollgate
 *
 * tollgate-processing (build/backends/processing): the stream processing
 * service (docs/processing.md) and its dead-letter tool in one binary.
 *
 *   processing [-c FILE] [-t]                  the service
 *   processing dlq [-c FILE] list|replay|drop <pipeline> [id...]
 *
 * The service loads the pipeline documents of its pipelines directory
 * (a bad one refuses the start, and -t checks them) and/or follows the
 * metadata service's pipelines entities (pipelines_from; proc_follow.c),
 * then on the kit's
 * loop takes tasks (pipeline, partition) by leases shared with the other
 * instances, and runs them: read a batch through the pipeline's consumer
 * group, run its steps, commit it to every sink, acknowledge it.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "proc.h"


#define PROC_TICK  100      /* milliseconds between housekeeping ticks */


static void proc_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void proc_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);
static void proc_timers_free(proc_pipeline_t *pl);
static void proc_tick(evutil_socket_t fd, short what, void *arg);
static int proc_ready(gw_svc_t *svc, void *data);
static int proc_serve(int argc, char **argv);


static const gw_svc_key_t  proc_keys[] = {
    { "pipelines", GW_SVC_STR, "pipelines", 0, 0, NULL },
    { "pipelines_from", GW_SVC_STR, "dir", 0, 0, NULL },
    { "instance", GW_SVC_STR, "", 0, 0, NULL },
    { "batch", GW_SVC_INT, "2048", 1, 100000, NULL },
    { "read_block", GW_SVC_MSEC, "20", 1, 60000, NULL },
    { "lease", GW_SVC_MSEC, "10s", 300, 3600000, NULL },
    { "retries", GW_SVC_INT, "3", 0, 100, NULL },
    { "retry_backoff", GW_SVC_MSEC, "20", 0, 60000, NULL },
    { "dlq_maxlen", GW_SVC_INT, "1000000", 1, 1000000000, NULL },
    { "lua_memory", GW_SVC_SIZE, "16m", 1024 * 1024, 1024LL * 1024 * 1024,
      NULL },
    { "lua_budget", GW_SVC_INT, "10000000", 1000, 10000000000LL, NULL },
    { "lua_time", GW_SVC_MSEC, "1s", 10, 600000, NULL },
    { "http_sink_allow", GW_SVC_STR, "", 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, NULL }
};


proc_t  proc;


static void
proc_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    char            err[PROC_ERR_MAX];
    struct timeval  tv;

    proc.base = base;
    proc.env.base = base;
    proc.env.svc = svc;

    /* again, now that the loop exists for the sinks that need it */

    proc_pipelines_free();

    if ((proc.from & PROC_FROM_DIR)
        && proc_pipelines_load(gw_svc_conf_str(svc, "pipelines"), err,
                               sizeof(err))
           != 0)
    {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot load the pipelines",
                   json_pack("{s:o}", "error", gw_svc_json_string(err)));
        gw_svc_shutdown(svc);
        return;
    }

    if ((proc.from & PROC_FROM_MD) && proc_follow_start() != 0) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot follow the pipelines",
                   json_pack("{s:s}", "error", gw_svc_error(svc)));
        gw_svc_shutdown(svc);
        return;
    }

    proc.tick = event_new(base, -1, EV_PERSIST, proc_tick, NULL);
    if (proc.tick == NULL) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot add events", NULL);
        gw_svc_shutdown(svc);
        return;
    }

    tv.tv_sec = 0;
    tv.tv_usec = PROC_TICK * 1000;
    event_add(proc.tick, &tv);

    /* the first lease run and lag reading at once */
    proc.lease_elapsed = gw_svc_conf_int(svc, "lease");
    proc.lag_elapsed = 1000;
}


static void
proc_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    size_t            i;
    proc_pipeline_t  *pl;

    proc.stopped = 1;

    if (proc.tick != NULL) {
        event_free(proc.tick);
        proc.tick = NULL;
    }

    proc_follow_stop();

    /* the kit frees the base after this: our timers first */

    proc_nats_in_stop_all();

    for (i = 0; i < proc.npipelines; i++) {
        proc_timers_free(proc.pipelines[i]);
    }

    for (pl = proc.retiring; pl != NULL; pl = pl->next) {
        proc_timers_free(pl);
    }
}


/* the tasks' timers, and the sinks' events and threads: none runs after */

static void
proc_timers_free(proc_pipeline_t *pl)
{
    size_t        p;
    proc_task_t  *t;

    for (p = 0; p < pl->nsinks; p++) {
        pl->sinks[p]->ops->free(pl->sinks[p]);
    }

    pl->nsinks = 0;

    for (p = 0; p < pl->partitions; p++) {
        t = &pl->tasks[p];

        if (t->timer != NULL) {
            event_free(t->timer);
            t->timer = NULL;
        }
    }
}


static void
proc_tick(evutil_socket_t fd, short what, void *arg)
{
    size_t  i, p;

    proc.lease_elapsed += PROC_TICK;
    proc.lag_elapsed += PROC_TICK;

    if (proc.lease_elapsed >= gw_svc_conf_int(proc.svc, "lease") / 3) {
        proc.lease_elapsed = 0;
        proc_lease_tick();
        proc_nats_in_tick();
    }

    if (proc.lag_elapsed >= 1000) {
        proc.lag_elapsed = 0;
        proc_lag_tick();
    }

    proc_follow_tick();

    /* tasks that stopped while Redis was down start again */

    for (i = 0; i < proc.npipelines; i++) {
        for (p = 0; p < proc.pipelines[i]->partitions; p++) {
            proc_task_kick(&proc.pipelines[i]->tasks[p]);
        }
    }
}


static int
proc_ready(gw_svc_t *svc, void *data)
{
    if ((proc.from & PROC_FROM_MD) && !proc.md_loaded) {
        return 0;
    }

    return proc.loaded || proc.npipelines == 0;
}


static int
proc_serve(int argc, char **argv)
{
    int          i, check, rc;
    char         err[PROC_ERR_MAX];
    size_t       n;
    const char  *path, *from;

    path = getenv("TOLLGATE_PROCESSING_CONFIG");
    check = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];

        } else if (strcmp(argv[i], "-t") == 0) {
            check = 1;

        } else {
            fprintf(stderr, "usage: %s [-c FILE] [-t]\n"
                    "       %s dlq [-c FILE] list|replay|drop <pipeline> "
                    "[id...]\n", argv[0], argv[0]);
            return 2;
        }
    }

    if (gw_svc_configure(proc.svc, path) != 0) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s}", "error", gw_svc_error(proc.svc)));
        return 2;
    }

    proc.env.svc = proc.svc;

    from = gw_svc_conf_str(proc.svc, "pipelines_from");
    proc.from = (strcmp(from, "dir") == 0) ? PROC_FROM_DIR
                : (strcmp(from, "metadata") == 0) ? PROC_FROM_MD
                : (strcmp(from, "both") == 0) ? PROC_FROM_DIR | PROC_FROM_MD
                : 0;

    if (proc.from == 0) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s}", "error", "pipelines_from: dir, "
                             "metadata or both"));
        fprintf(stderr, "pipelines_from: dir, metadata or both\n");
        return 2;
    }

    /*
     * The check: the documents built on a loop of their own (the sinks
     * and connectors that need one bind to it), then freed with it; the
     * service builds them again on its loop.
     */

    proc.env.base = event_base_new();
    if (proc.env.base == NULL) {
        fprintf(stderr, "cannot create an event loop\n");
        return 1;
    }

    rc = (proc.from & PROC_FROM_DIR)
         ? proc_pipelines_load(gw_svc_conf_str(proc.svc, "pipelines"), err,
                               sizeof(err))
         : 0;
    n = proc.npipelines;
    proc_pipelines_free();
    event_base_free(proc.env.base);
    proc.env.base = NULL;

    if (rc != 0) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "bad pipeline",
                   json_pack("{s:o}", "error", gw_svc_json_string(err)));
        fprintf(stderr, "%s\n", err);
        return 2;
    }

    if (check) {
        gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "configuration ok",
                   json_pack("{s:I}", "pipelines", (json_int_t) n));
        return 0;
    }

    gw_svc_instance(proc.svc, "instance", proc.instance, sizeof(proc.instance));

    gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "pipelines loaded",
               json_pack("{s:I, s:s}", "pipelines",
                         (json_int_t) n, "instance",
                         proc.instance));

    rc = 0;

    if (gw_svc_run(proc.svc) != 0) {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "cannot run",
                   json_pack("{s:s}", "error", gw_svc_error(proc.svc)));
        rc = 1;
    }

    return rc;
}


int
main(int argc, char **argv)
{
    int  rc;
    static const char  *pl_out[] = { "pipeline", "outcome", NULL };
    static const char  *pl_part[] = { "pipeline", "partition", NULL };
    static const char  *pl_only[] = { "pipeline", NULL };

    proc.svc = gw_svc_create("processing", proc_keys);
    if (proc.svc == NULL) {
        return 1;
    }

    if (argc > 1 && strcmp(argv[1], "dlq") == 0) {
        rc = proc_cli_main(proc.svc, argc - 1, argv + 1);
        gw_svc_free(proc.svc);
        return rc;
    }

    proc.m_events = gw_svc_counter(proc.svc, "proc_events_total",
        "Source entries by outcome: processed, dropped, dlq, late, "
        "skipped (committed before), retried (a step tried again)",
        pl_out);
    proc.m_batch = gw_svc_histogram(proc.svc, "proc_batch_seconds",
        "Time of a batch, from its read to its commit", pl_only, NULL, 0);
    proc.m_lag = gw_svc_gauge(proc.svc, "proc_lag",
        "Entries of a partition not yet delivered to the pipeline's group "
        "(XINFO GROUPS lag)", pl_part);
    proc.m_dlq = gw_svc_counter(proc.svc, "proc_dlq_total",
        "Entries sent to the dead-letter stream", pl_only);
    proc.m_late = gw_svc_counter(proc.svc, "proc_late_total",
        "Records later than the watermark, sent to the late stream",
        pl_only);
    proc.m_owned = gw_svc_gauge(proc.svc, "proc_tasks_owned",
        "Partitions this instance holds the lease of", pl_only);

    if (proc.m_events == NULL || proc.m_batch == NULL || proc.m_lag == NULL
        || proc.m_dlq == NULL || proc.m_late == NULL || proc.m_owned == NULL)
    {
        gw_svc_log(proc.svc, GW_SVC_ERROR, NULL, "cannot set up",
                   json_pack("{s:s}", "error", gw_svc_error(proc.svc)));
        gw_svc_free(proc.svc);
        return 1;
    }

    gw_svc_set_ready(proc.svc, proc_ready, NULL);
    gw_svc_set_loop(proc.svc, proc_loop_start, proc_loop_stop, NULL);

    rc = proc_serve(argc, argv);

    proc_pipelines_free();
    gw_svc_free(proc.svc);

    return rc;
}
