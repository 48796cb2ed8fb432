
/*
 * Copyright (C) Tollgate
 *
 * tollgate-audit (build/backends/audit): the audit service and its
 * offline tools in one binary (docs/audit.md).
 *
 *   audit [serve] [-c FILE] [-t]   the service (the default)
 *   audit verify [--key FILE] DIR  checks a data folder offline
 *   audit keygen NAME FILE         a new Ed25519 signer key into FILE
 *   audit gen DIR N [options]      N synthetic records, for benchmarks
 *
 * The service takes events from POST /v1/audit/events and from the
 * gateways' Redis stream, stores each once (by event id) as canonical
 * JSON in append-only segments under a hash chain and an RFC 9162
 * Merkle tree, signs C2SP checkpoints of the tree, and answers proofs
 * and queries.  Everything runs on the kit's one loop but the group
 * commit's write() and fdatasync(), which a writer thread does while the
 * loop takes the next events (audit_writer.c).
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "audit_svc.h"
#include "gw_checkpoint.h"
#include "gw_model.h"


#define AUDIT_TICK  100     /* milliseconds between housekeeping ticks */


static int audit_setup(void);
static void audit_start(struct event_base *base);
static void audit_loop_start(gw_svc_t *svc, struct event_base *base,
    void *data);
static void audit_loop_stop(gw_svc_t *svc, struct event_base *base,
    void *data);
static void audit_tick(evutil_socket_t fd, short what, void *arg);
static void audit_commit_timer(evutil_socket_t fd, short what, void *arg);
static void audit_commit_event(evutil_socket_t fd, short what, void *arg);
static int audit_ready(gw_svc_t *svc, void *data);
static int audit_load_checkpoint(void);
static int audit_serve(int argc, char **argv);


static const gw_svc_key_t  audit_keys[] = {
    { "data_dir", GW_SVC_STR, "audit-data", 0, 0, NULL },
    { "key_file", GW_SVC_STR, "", 0, 0, NULL },
    { "segment_size", GW_SVC_SIZE, "64m", 4096, 1024LL * 1024 * 1024,
      NULL },
    { "fsync_batch", GW_SVC_INT, "512", 1, 1000000, NULL },
    { "fsync_interval", GW_SVC_MSEC, "5", 0, 10000, NULL },
    { "batch_max", GW_SVC_INT, "1000", 1, 100000, NULL },
    { "event_max", GW_SVC_SIZE, "64k", 1024, 1024 * 1024 - 1024, NULL },
    { "checkpoint_interval", GW_SVC_MSEC, "10s", 0, 86400000, NULL },
    { "stream", GW_SVC_STR, GW_MODEL_AUDIT_STREAM, 0, 0, NULL },
    { "group", GW_SVC_STR, GW_MODEL_AUDIT_GROUP, 0, 0, NULL },
    { "dead_stream", GW_SVC_STR, "gw:audit:dead", 0, 0, NULL },
    { "dead_maxlen", GW_SVC_INT, "100000", 1, 100000000, NULL },
    { "consumer", GW_SVC_STR, "", 0, 0, NULL },
    { "stream_count", GW_SVC_INT, "500", 1, 10000, NULL },
    { "stream_block", GW_SVC_MSEC, "500", 10, 60000, NULL },
    { "claim_idle", GW_SVC_MSEC, "60s", 100, 86400000, NULL },
    { "query_page_max", GW_SVC_INT, "1000", 1, 100000, NULL },
    { "query_scan_max", GW_SVC_INT, "100000", 1, 100000000, NULL },
    { "stream_ingest", GW_SVC_STR, "on", 0, 0, "on|off" },
    { NULL, 0, NULL, 0, 0, NULL }
};


audit_t  audit;


/* the kit's loop hooks: the service's own events live with the loop */

static void
audit_loop_start(gw_svc_t *svc, struct event_base *base, void *data)
{
    audit_start(base);
}


static void
audit_loop_stop(gw_svc_t *svc, struct event_base *base, void *data)
{
    audit.stopped = 1;

    /* the kit frees the base when the loop is over: our events first */

    if (audit.commit_timer != NULL) {
        event_free(audit.commit_timer);
        audit.commit_timer = NULL;
        audit.commit_armed = 0;
    }

    if (audit.tick != NULL) {
        event_free(audit.tick);
        audit.tick = NULL;
    }

    if (audit.commit_done != NULL) {
        event_free(audit.commit_done);
        audit.commit_done = NULL;
    }
}


long long
audit_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void
audit_start(struct event_base *base)
{
    struct timeval  tv;

    if (!audit.open || audit.tick != NULL || audit.stopped) {
        return;
    }

    audit.commit_timer = evtimer_new(base, audit_commit_timer, NULL);
    audit.tick = event_new(base, -1, EV_PERSIST, audit_tick, NULL);
    audit.commit_done = event_new(base, audit.st.notify[0],
                                  EV_READ | EV_PERSIST, audit_commit_event,
                                  NULL);

    if (audit.commit_timer == NULL || audit.tick == NULL
        || audit.commit_done == NULL || event_add(audit.commit_done, NULL))
    {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "cannot add events", NULL);
        return;
    }

    tv.tv_sec = 0;
    tv.tv_usec = AUDIT_TICK * 1000;
    event_add(audit.tick, &tv);
}


static void
audit_commit_timer(evutil_socket_t fd, short what, void *arg)
{
    audit.commit_armed = 0;
    audit_commit_start();
}


static void
audit_commit_event(evutil_socket_t fd, short what, void *arg)
{
    char             buf[64];
    static uint64_t  errors;

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* drained */
    }

    audit_commit_finished();

    if (audit.st.bg_errors != errors) {
        errors = audit.st.bg_errors;
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL,
                   "index or id table write failed",
                   json_pack("{s:s}", "error", audit.st.bg_err));
    }
}


static void
audit_tick(evutil_socket_t fd, short what, void *arg)
{
    long long  iv;

    iv = gw_svc_conf_int(audit.svc, "checkpoint_interval");
    audit.cp_elapsed += AUDIT_TICK;
    audit.claim_elapsed += AUDIT_TICK;

    if (iv > 0 && audit.cp_elapsed >= iv && !audit.failed) {
        audit.cp_elapsed = 0;

        if (audit.st.durable != audit.cp_size
            && audit_sign_checkpoint() != 0)
        {
            gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "checkpoint failed",
                       json_pack("{s:s}", "error", audit.st.err));
        }
    }

    audit_stream_kick();
}


static int
audit_ready(gw_svc_t *svc, void *data)
{
    return audit.open && !audit.failed;
}


void
audit_schedule_commit(void)
{
    long long       iv;
    struct timeval  tv;

    iv = gw_svc_conf_int(audit.svc, "fsync_interval");

    if (audit.st.flight) {
        /* audit_commit_finished() starts the next one */
        return;
    }

    if (audit.st.size - audit.st.durable
        >= (uint64_t) gw_svc_conf_int(audit.svc, "fsync_batch")
        || iv == 0 || audit.commit_timer == NULL)
    {
        audit_commit_start();
        return;
    }

    if (!audit.commit_armed) {
        tv.tv_sec = iv / 1000;
        tv.tv_usec = (iv % 1000) * 1000;
        evtimer_add(audit.commit_timer, &tv);
        audit.commit_armed = 1;
    }
}


/* the latest checkpoint of the folder, its torn tail cut off */

static int
audit_load_checkpoint(void)
{
    size_t            n;
    const char       *err;
    gw_note_t         note;
    unsigned char    *last;
    gw_checkpoint_t   cp;

    if (audit_checkpoints_latest(audit.st.dir, &last, &n, audit.st.err,
                                 sizeof(audit.st.err)) != 0)
    {
        return -1;
    }

    if (last == NULL) {
        return 0;
    }

    if (gw_note_parse(&note, last, n, &err) != 0
        || gw_checkpoint_parse(&cp, note.text, note.text_len, &err) != 0)
    {
        snprintf(audit.st.err, sizeof(audit.st.err),
                 "the latest checkpoint is malformed: %s (run verify)", err);
        free(last);
        return -1;
    }

    if (cp.size > audit.st.durable) {
        snprintf(audit.st.err, sizeof(audit.st.err),
                 "the latest checkpoint commits to %llu records but the "
                 "log holds %llu (run verify)",
                 (unsigned long long) cp.size,
                 (unsigned long long) audit.st.durable);
        free(last);
        return -1;
    }

    audit.cp = last;
    audit.cp_len = n;
    audit.cp_size = cp.size;

    return 0;
}


/* opens the store and the key, after the configuration is read */

static int
audit_setup(void)
{
    char         path[1024];
    size_t       n;
    const char  *dir, *key;

    dir = gw_svc_conf_str(audit.svc, "data_dir");
    key = gw_svc_conf_str(audit.svc, "key_file");

    if (key[0] == '\0') {
        snprintf(path, sizeof(path), "%s/audit.key", dir);
        key = path;
    }

    if (audit_load_skey(key, &audit.skey, audit.st.err,
                        sizeof(audit.st.err)) != 0)
    {
        return -1;
    }

    audit.have_key = 1;
    n = gw_note_vkey_format(&audit.skey.vkey, audit.vkey);
    audit.vkey[n] = '\0';

    if (audit_store_open(&audit.st, dir,
                         gw_svc_conf_int(audit.svc, "segment_size")) != 0)
    {
        return -1;
    }

    audit.open = 1;

    if (audit_store_async(&audit.st) != 0) {
        return -1;
    }

    if (audit.st.repaired > 0) {
        gw_svc_log(audit.svc, GW_SVC_WARN, NULL, "torn tail repaired",
                   json_pack("{s:I, s:I}", "bytes_dropped",
                             (json_int_t) audit.st.repaired, "records",
                             (json_int_t) audit.st.size));
    }

    /* the verifier key beside the data, for `verify` */

    if (audit_write_pub(dir, audit.vkey, audit.st.err, sizeof(audit.st.err))
        != 0)
    {
        return -1;
    }

    if (audit_load_checkpoint() != 0) {
        return -1;
    }

    if (audit.cp == NULL || audit.cp_size != audit.st.durable) {
        if (audit_sign_checkpoint() != 0) {
            return -1;
        }
    }

    gw_svc_instance(audit.svc, "consumer", audit.consumer,
                    sizeof(audit.consumer));

    gw_svc_metric_set(audit.m_records, (double) audit.st.durable);

    gw_svc_log(audit.svc, GW_SVC_INFO, NULL, "store open",
               json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
                         "data_dir", dir,
                         "records", (json_int_t) audit.st.size,
                         "records_indexed", (json_int_t) audit.st.reindexed,
                         "indexes_rebuilt", (json_int_t) audit.st.ix_rebuilt,
                         "ids_reinserted",
                         (json_int_t) audit.st.ids_reinserted,
                         "open_index_records",
                         (json_int_t) audit.st.ix_covered,
                         "checkpoint", (json_int_t) audit.cp_size,
                         "consumer", audit.consumer, "key", audit.vkey));

    return 0;
}


static int
audit_serve(int argc, char **argv)
{
    int          i, check, rc;
    const char  *path;

    path = getenv("TOLLGATE_AUDIT_CONFIG");
    check = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];

        } else if (strcmp(argv[i], "-t") == 0) {
            check = 1;

        } else {
            fprintf(stderr, "usage: %s [serve] [-c FILE] [-t]\n"
                    "       %s verify [--key FILE] DIR\n"
                    "       %s keygen NAME FILE\n"
                    "       %s gen DIR N [--key FILE] [--batch N] "
                    "[--nosync]\n", argv[0], argv[0], argv[0], argv[0]);
            return 2;
        }
    }

    if (gw_svc_configure(audit.svc, path) != 0) {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "bad configuration",
                   json_pack("{s:s}", "error", gw_svc_error(audit.svc)));
        return 2;
    }

    if (check) {
        gw_svc_log(audit.svc, GW_SVC_INFO, NULL, "configuration ok", NULL);
        return 0;
    }

    if (audit_setup() != 0) {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "cannot open the store",
                   json_pack("{s:s}", "error", audit.st.err));
        return 1;
    }

    rc = 0;

    if (gw_svc_run(audit.svc) != 0) {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "cannot run",
                   json_pack("{s:s}", "error", gw_svc_error(audit.svc)));
        rc = 1;
    }

    /* what was appended but not yet committed (nobody was told) */

    if (!audit.failed && audit_commit_sync() == 0
        && audit.st.durable != audit.cp_size)
    {
        audit_sign_checkpoint();
    }

    return rc;
}


int
main(int argc, char **argv)
{
    int    rc;
    static const char  *ev_labels[] = { "source", "result", NULL };

    if (argc > 1 && strcmp(argv[1], "verify") == 0) {
        return audit_verify_main(argc - 1, argv + 1);
    }

    if (argc > 1 && strcmp(argv[1], "keygen") == 0) {
        return audit_keygen_main(argc - 1, argv + 1);
    }

    if (argc > 1 && strcmp(argv[1], "gen") == 0) {
        return audit_gen_main(argc - 1, argv + 1);
    }

    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        argv[1] = argv[0];
        argc--;
        argv++;
    }

    audit.svc = gw_svc_create("audit", audit_keys);
    if (audit.svc == NULL) {
        return 1;
    }

    audit.m_events = gw_svc_counter(audit.svc, "audit_events_total",
                                    "Events received, by source and result",
                                    ev_labels);
    audit.m_records = gw_svc_gauge(audit.svc, "audit_records",
                                   "Records in the log, durable", NULL);
    audit.m_commits = gw_svc_counter(audit.svc, "audit_commits_total",
                                     "Group commits (one fdatasync each)",
                                     NULL);
    audit.m_commit_time = gw_svc_histogram(audit.svc,
                                           "audit_commit_duration_seconds",
                                           "Time of a group commit", NULL,
                                           NULL, 0);
    audit.m_checkpoints = gw_svc_counter(audit.svc,
                                         "audit_checkpoints_total",
                                         "Checkpoints signed", NULL);
    audit.m_ix_skipped = gw_svc_counter(audit.svc,
        "audit_index_segments_skipped_total",
        "Sealed segments a filtered query skipped by their bloom filters",
        NULL);

    if (audit.m_events == NULL || audit.m_records == NULL
        || audit.m_commits == NULL || audit.m_commit_time == NULL
        || audit.m_checkpoints == NULL || audit.m_ix_skipped == NULL
        || gw_svc_route(audit.svc, GW_SVC_POST, "/v1/audit/events", 0,
                        audit_post_events, NULL) != 0
        || gw_svc_route(audit.svc, GW_SVC_GET, "/v1/audit/records",
                        GW_SVC_PREFIX, audit_records, NULL) != 0
        || gw_svc_route(audit.svc, GW_SVC_GET, "/v1/audit/proof/",
                        GW_SVC_PREFIX, audit_proof, NULL) != 0
        || gw_svc_route(audit.svc, GW_SVC_GET | GW_SVC_POST,
                        "/v1/audit/checkpoint", 0, audit_checkpoint, NULL)
           != 0
        || gw_svc_route(audit.svc, GW_SVC_GET, "/v1/audit/key", 0,
                        audit_get_key, NULL) != 0)
    {
        gw_svc_log(audit.svc, GW_SVC_ERROR, NULL, "cannot set up",
                   json_pack("{s:s}", "error", gw_svc_error(audit.svc)));
        gw_svc_free(audit.svc);
        return 1;
    }

    gw_svc_set_ready(audit.svc, audit_ready, NULL);
    gw_svc_set_loop(audit.svc, audit_loop_start, audit_loop_stop, NULL);

    rc = audit_serve(argc, argv);

    free(audit.cp);
    audit_store_close(&audit.st);

    if (audit.have_key) {
        gw_note_skey_free(&audit.skey);
    }

    gw_svc_free(audit.svc);

    return rc;
}
