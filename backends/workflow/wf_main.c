
/*
 * Copyright (C) Tollgate
 *
 * The workflow command (docs/workflow.md).
 *
 *   workflow check FILE
 *   workflow run FILE ...
 *       the language alone, in memory (wf_cli.c)
 *   workflow [-c FILE] [-t]
 *       the service: durable executions in Redis, their API, the engine
 *       that runs their transitions and the tasks they dispatch
 *
 * Every configuration key of the service is listed here and read into
 * wf (wf.h) before the loop starts, so that a bad value or a missing
 * key file stops the process at once with its reason, never later on
 * the first request.  The parts start on the loop in order: the
 * engine's claim loop last, once the routes, scripts and metrics exist.
 * On SIGTERM the engine claims nothing new and the transitions in
 * flight are waited for up to drain_timeout (wf_engine.c).
 */


#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "wf.h"
#include "wf_task_int.h"


static int wf_key_load(const char *path);
static int wf_configure(gw_svc_t *svc);
static int wf_metrics(gw_svc_t *svc);
static int wf_scripts(void);
static int wf_ready(gw_svc_t *svc, void *data);
static void wf_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void wf_loop_drain(gw_svc_t *svc, void *data);
static void wf_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);


/* the program's other command lines (wf_cli.c) */
static const char *const  wf_forms[] = { "check FILE", "run FILE ...", NULL };


static const gw_svc_key_t  wf_keys[] = {
    { "instance", GW_SVC_STR, "", 0, 0, NULL },

    /* the kit's, with a default of ours: a 1 MiB definition and its body */
    { "body_max", GW_SVC_SIZE, "2m", 0, 64 * 1024 * 1024, NULL },

    /* the engine (wf_engine*.c) */
    { "lease", GW_SVC_MSEC, "30s", 500, 3600000, NULL },
    { "poll", GW_SVC_MSEC, "50", 5, 60000, NULL },
    { "batch", GW_SVC_INT, "64", 1, 1000, NULL },
    { "inflight", GW_SVC_INT, "1024", 1, 100000, NULL },
    { "task_timeout", GW_SVC_MSEC, "60s", 100, 31536000000LL, NULL },
    { "history_max", GW_SVC_INT, "25000", 100, 1000000, NULL },
    { "keep", GW_SVC_MSEC, "604800s", 1000, 31536000000LL, NULL },
    { "drain_timeout", GW_SVC_MSEC, "10s", 0, 600000, NULL },
    { "mocks", GW_SVC_STR, "off", 0, 0, "off|on" },

    /* task tokens (wf_util.c) */
    { "secret_key_file", GW_SVC_STR, "", 0, 0, NULL },

    /* tasks (wf_task*.c) */
    { "http_allow", GW_SVC_STR, "", 0, 0, NULL },
    { "http_response_max", GW_SVC_SIZE, "256k", 0, 16 * 1024 * 1024,
      NULL },
    { "notify_url", GW_SVC_STR, "", 0, 0, NULL },

    /* tollgate:http's auth.exchange (wf_task_exchange.c) */
    { "identity_url", GW_SVC_STR, "", 0, 0, NULL },
    { "identity_client_id", GW_SVC_STR, "", 0, 0, NULL },
    { "identity_client_secret_file", GW_SVC_STR, "", 0, 0, NULL },

    { NULL, 0, NULL, 0, 0, NULL }
};


wf_t          wf;
wf_metrics_t  wf_m;


/*
 * The key of task tokens: 64 hex digits (a trailing newline allowed) in
 * a regular file readable by its owner only, as the notification
 * service asks of its own key; every copy of it on the stack cleansed.
 */

static int
wf_key_load(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "secret_key_file: required: a file of 64 hex "
                "digits, the key of task tokens\n");
        return -1;
    }

    return gw_svc_secret_key("secret_key_file", path, wf.key);
}


/* wf from the configuration; -1 (said on stderr) when it cannot run */

static int
wf_configure(gw_svc_t *svc)
{
    wf.lease = gw_svc_conf_int(svc, "lease");
    wf.poll = gw_svc_conf_int(svc, "poll");
    wf.batch = (unsigned) gw_svc_conf_int(svc, "batch");
    wf.inflight = (unsigned) gw_svc_conf_int(svc, "inflight");
    wf.task_timeout = gw_svc_conf_int(svc, "task_timeout");
    wf.history_max = gw_svc_conf_int(svc, "history_max");
    wf.keep = gw_svc_conf_int(svc, "keep");
    wf.drain = gw_svc_conf_int(svc, "drain_timeout");
    wf.mocks = strcmp(gw_svc_conf_str(svc, "mocks"), "on") == 0;

    if (wf_key_load(gw_svc_conf_str(svc, "secret_key_file")) != 0) {
        return -1;
    }

    gw_svc_instance(svc, "instance", wf.instance, sizeof(wf.instance));

    return wf_task_configure(svc);
}


static int
wf_metrics(gw_svc_t *svc)
{
    static const char *const  def[] = { "definition", NULL };
    static const char *const  def_status[] = { "definition", "status",
                                               NULL };
    static const char *const  kind_result[] = { "kind", "result", NULL };
    static const double       buckets[] = { 0.01, 0.05, 0.1, 0.5, 1, 5,
                                            30, 60, 300, 1800, 3600,
                                            86400 };

    wf_m.started = gw_svc_counter(svc, "workflow_executions_started_total",
                                  "Executions started", def);
    wf_m.ended = gw_svc_counter(svc, "workflow_executions_ended_total",
                                "Executions ended, by status", def_status);
    wf_m.seconds = gw_svc_histogram(svc, "workflow_execution_seconds",
                                    "Executions' time from start to end",
                                    def, buckets,
                                    sizeof(buckets) / sizeof(buckets[0]));
    wf_m.transitions = gw_svc_counter(svc, "workflow_transitions_total",
                                      "Transitions stored", def);
    wf_m.tasks = gw_svc_counter(svc, "workflow_tasks_total",
                                "Tasks run, by kind and result",
                                kind_result);
    wf_m.lost = gw_svc_counter(svc, "workflow_commits_lost_total",
                               "Transitions refused: the execution had "
                               "moved on", NULL);
    wf_m.running = gw_svc_gauge(svc, "workflow_executions_worked",
                                "Executions worked on now", NULL);

    if (wf_m.started == NULL || wf_m.ended == NULL || wf_m.seconds == NULL
        || wf_m.transitions == NULL || wf_m.tasks == NULL
        || wf_m.lost == NULL || wf_m.running == NULL)
    {
        return -1;
    }

    return 0;
}


static int
wf_scripts(void)
{
    size_t            i;
    gw_svc_script_t  *scripts[] = {
        &wf_script_start, &wf_script_step, &wf_script_claim,
        &wf_script_park,
        &wf_script_stop, &wf_script_redrive, &wf_script_token,
        &wf_script_def_put, &wf_script_def_del
    };

    for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        if (gw_svc_script_init(scripts[i]) != 0) {
            return -1;
        }
    }

    return 0;
}


/* ready while not draining: a stopping instance takes no new work */

static int
wf_ready(gw_svc_t *svc, void *data)
{
    return !wf.stopped;
}


static void
wf_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    wf.base = base;

    if (wf_engine_start() != 0) {
        gw_svc_log(svc, GW_SVC_ERROR, NULL, "cannot start the engine",
                   NULL);
        gw_svc_shutdown(svc);
        return;
    }

    gw_svc_log(svc, GW_SVC_INFO, NULL, "started",
               json_pack("{s:s, s:b}", "instance", wf.instance,
                         "mocks", wf.mocks));
}


/* the graceful stop begins: nothing new claimed; transitions drained */

static void
wf_loop_drain(gw_svc_t *svc, void *data)
{
    wf.stopped = 1;

    wf_engine_drain();
}


static void
wf_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    wf.stopped = 1;

    wf_engine_stop();
}


int
main(int argc, char **argv)
{
    int  rc;

    if (argc >= 2
        && (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "run") == 0))
    {
        return wf_cli(argc, argv);
    }

    wf.svc = gw_svc_create("workflow", wf_keys);
    if (wf.svc == NULL) {
        return 1;
    }

    if (wf_scripts() != 0) {
        fprintf(stderr, "cannot load the scripts\n");
        gw_svc_free(wf.svc);
        return 1;
    }

    if (wf_metrics(wf.svc) != 0
        || wf_def_routes(wf.svc) != 0
        || wf_api_routes(wf.svc) != 0)
    {
        fprintf(stderr, "cannot add the routes and metrics: %s\n",
                gw_svc_error(wf.svc));
        gw_svc_free(wf.svc);
        return 1;
    }

    gw_svc_set_ready(wf.svc, wf_ready, NULL);
    gw_svc_set_loop(wf.svc, wf_loop_start, wf_loop_stop, NULL);
    gw_svc_set_drain(wf.svc, wf_loop_drain, NULL);
    gw_svc_set_main(wf.svc, wf_configure, wf_forms);

    rc = gw_svc_main(wf.svc, argc, argv);

    OPENSSL_cleanse(wf.key, sizeof(wf.key));
    wf_task_exchange_free();
    gw_svc_free(wf.svc);

    return rc;
}
