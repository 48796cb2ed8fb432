
/*
 * Copyright (C) Tollgate
 *
 * Leases: how instances split a pipeline's partitions (tasks).  Every
 * lease/3 each instance runs one script per pipeline that records its
 * heartbeat in gw:proc:instances:<pipeline> (a zset scored by ms),
 * forgets instances silent for a lease, and with the live count L keeps
 * at most ceil(partitions / L) tasks: it renews (PEXPIRE) its own
 * gw:proc:owner:<pipeline>:<p> keys up to that share, lets the others
 * run out (so a newcomer gets them a lease later), and takes free
 * partitions (SET NX PX) while under its share.  The reply is the list
 * of partitions it holds; tasks follow it (proc_task_own).
 *
 * A killed instance's keys expire after the lease; the survivors' next
 * run sees a smaller live count and takes them, then claims their
 * pending entries (proc_task.c).
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "proc_nats.h"


static void proc_lease_done(redisAsyncContext *ac, void *r, void *data);
static void proc_lag_done(redisAsyncContext *ac, void *r, void *data);


static const char  proc_lease_script[] =
    "local me, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local n = #KEYS - 1\n"
    "redis.call('ZADD', KEYS[1], now, me)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - lease)\n"
    "redis.call('PEXPIRE', KEYS[1], lease * 10)\n"
    "local live = redis.call('ZCARD', KEYS[1])\n"
    "local share = math.ceil(n / live)\n"
    "local held = {}\n"
    "for p = 0, n - 1 do\n"
    "  if redis.call('GET', KEYS[p + 2]) == me and #held < share then\n"
    "    redis.call('PEXPIRE', KEYS[p + 2], lease)\n"
    "    held[#held + 1] = p\n"
    "  end\n"
    "end\n"
    "for p = 0, n - 1 do\n"
    "  if #held >= share then break end\n"
    "  if redis.call('SET', KEYS[p + 2], me, 'NX', 'PX', lease) then\n"
    "    held[#held + 1] = p\n"
    "  end\n"
    "end\n"
    "return held\n";


void
proc_lease_tick(void)
{
    char                 lease[24], now[24];
    size_t               i;
    const char          *extra[2];
    proc_pipeline_t     *pl;
    redisAsyncContext   *ac;

    ac = gw_svc_redis(proc.svc);
    if (ac == NULL) {
        return;
    }

    snprintf(lease, sizeof(lease), "%lld", gw_svc_conf_int(proc.svc,
                                                           "lease"));
    snprintf(now, sizeof(now), "%lld", proc_now_ms());

    extra[0] = now;
    extra[1] = lease;

    for (i = 0; i < proc.npipelines; i++) {
        pl = proc.pipelines[i];

        if (pl->lease_busy) {
            continue;
        }

        if (proc_lease_send(ac, pl, proc_lease_script, extra, 2,
                            proc_lease_done)
            == REDIS_OK)
        {
            pl->lease_busy = 1;
        }
    }
}


/*
 * Sends a lease script for pl: EVAL script with the instances key and
 * every partition's owner key as KEYS, then this instance's name and the
 * nextra extra arguments as ARGV.  The reply goes to fn with pl.
 * REDIS_OK, or REDIS_ERR (out of memory, or the connection refused it).
 */

int
proc_lease_send(redisAsyncContext *ac, proc_pipeline_t *pl,
    const char *script, const char **extra, size_t nextra,
    redisCallbackFn *fn)
{
    int           rc;
    char         *keys, nk[16];
    size_t        i, p, n, *argl;
    const char  **argv;

    n = pl->partitions + 1;
    argv = malloc((n + 4 + nextra) * (sizeof(char *) + sizeof(size_t)));
    keys = malloc(n * PROC_KEY_MAX);

    if (argv == NULL || keys == NULL) {
        free(argv);
        free(keys);
        return REDIS_ERR;
    }

    argl = (size_t *) (argv + n + 4 + nextra);
    snprintf(nk, sizeof(nk), "%u", (unsigned) n);

    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = nk;

    snprintf(keys, PROC_KEY_MAX, "gw:proc:instances:%s", pl->name);
    argv[3] = keys;

    for (p = 0; p < pl->partitions; p++) {
        snprintf(keys + (p + 1) * PROC_KEY_MAX, PROC_KEY_MAX,
                 "gw:proc:owner:%s:%u", pl->name, (unsigned) p);
        argv[4 + p] = keys + (p + 1) * PROC_KEY_MAX;
    }

    argv[3 + n] = proc.instance;

    for (i = 0; i < nextra; i++) {
        argv[4 + n + i] = extra[i];
    }

    for (p = 0; p < n + 4 + nextra; p++) {
        argl[p] = strlen(argv[p]);
    }

    rc = redisAsyncCommandArgv(ac, fn, pl, (int) (n + 4 + nextra), argv,
                               argl);
    free(argv);
    free(keys);

    return rc;
}


static void
proc_lease_done(redisAsyncContext *ac, void *r, void *data)
{
    char              *held;
    size_t             i;
    redisReply        *reply;
    proc_pipeline_t   *pl;

    reply = r;
    pl = data;
    pl->lease_busy = 0;

    if (reply == NULL || proc.stopped) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL, "the lease script failed",
                   json_pack("{s:s, s:o}", "pipeline", pl->name, "error",
                             gw_svc_json_string(reply->type
                                                == REDIS_REPLY_ERROR
                                                ? reply->str : "reply")));
        return;
    }

    held = calloc(pl->partitions, 1);
    if (held == NULL) {
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_INTEGER
            && reply->element[i]->integer >= 0
            && (unsigned long long) reply->element[i]->integer
               < pl->partitions)
        {
            held[reply->element[i]->integer] = 1;
        }
    }

    for (i = 0; i < pl->partitions; i++) {
        proc_task_own(&pl->tasks[i], held[i]);
    }

    free(held);

    gw_svc_metric_set(proc.m_owned, (double) pl->owned, pl->name);
    proc.loaded = 1;
}


/* consumer lag per owned partition: XINFO GROUPS' "lag" (Redis 7) */

void
proc_lag_tick(void)
{
    size_t              i, p;
    proc_task_t        *t;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(proc.svc);
    if (ac == NULL) {
        return;
    }

    for (i = 0; i < proc.npipelines; i++) {
        for (p = 0; p < proc.pipelines[i]->partitions; p++) {
            t = &proc.pipelines[i]->tasks[p];

            if (t->owned && t->phase >= PROC_PHASE_CLAIM) {
                redisAsyncCommand(ac, proc_lag_done, t, "XINFO GROUPS %s",
                                  t->stream);
            }
        }
    }
}


static void
proc_lag_done(redisAsyncContext *ac, void *r, void *data)
{
    char          part[16];
    size_t        i, k;
    redisReply   *reply, *g, *name, *lag;
    proc_task_t  *t;

    reply = r;
    t = data;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        g = reply->element[i];
        name = NULL;
        lag = NULL;

        for (k = 0; g->type == REDIS_REPLY_ARRAY && k + 1 < g->elements;
             k += 2)
        {
            if (g->element[k]->type != REDIS_REPLY_STRING) {
                continue;
            }

            if (strcmp(g->element[k]->str, "name") == 0) {
                name = g->element[k + 1];

            } else if (strcmp(g->element[k]->str, "lag") == 0) {
                lag = g->element[k + 1];
            }
        }

        if (name != NULL && name->type == REDIS_REPLY_STRING
            && strcmp(name->str, t->pl->name) == 0 && lag != NULL
            && lag->type == REDIS_REPLY_INTEGER)
        {
            snprintf(part, sizeof(part), "%u", t->partition);
            gw_svc_metric_set(proc.m_lag, (double) lag->integer,
                              t->pl->name, part);
        }
    }
}


/*
 * The "nats_in" connectors: one per durable may run (its position is in
 * Redis and its consumer is made again at each start, docs/
 * processing-nats.md), so each runs under a lease of its own,
 * gw:proc:owner:nats-in:<durable>, taken (SET NX PX) or renewed
 * (PEXPIRE) every lease/3 like the tasks'.  The connector starts when
 * the lease is ours and stops when it is not, or when no renewal
 * succeeded for half a lease (Redis unreachable: another instance may
 * take it once it expires, and must find ours stopped; the check runs
 * every lease/3, so it stops before the lease ends).
 */

static const char  proc_nats_lease_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1\n"
    "end\n"
    "if not v then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1\n"
    "end\n"
    "return 0\n";


static void proc_nats_lease_done(redisAsyncContext *ac, void *r,
    void *data);
static void proc_nats_in_run(proc_pipeline_t *pl, int held);


void
proc_nats_in_tick(void)
{
    char                key[PROC_KEY_MAX], lease[24];
    size_t              i;
    long long           ms;
    proc_pipeline_t    *pl;
    redisAsyncContext  *ac;

    ms = gw_svc_conf_int(proc.svc, "lease");
    snprintf(lease, sizeof(lease), "%lld", ms);
    ac = gw_svc_redis(proc.svc);

    /* a version being replaced gives its connector up first */

    for (pl = proc.retiring; pl != NULL; pl = pl->next) {
        proc_nats_in_run(pl, 0);
    }

    for (i = 0; i < proc.npipelines; i++) {
        pl = proc.pipelines[i];

        if (pl->nats_durable[0] == '\0') {
            continue;
        }

        if (pl->nats_in != NULL
            && proc_now_ms() - pl->nats_lease_ok > ms / 2)
        {
            proc_nats_in_run(pl, 0);
        }

        if (ac == NULL || pl->nats_busy) {
            continue;
        }

        snprintf(key, sizeof(key), "gw:proc:owner:nats-in:%s",
                 pl->nats_durable);

        if (redisAsyncCommand(ac, proc_nats_lease_done, pl,
                              "EVAL %s 1 %s %s %s", proc_nats_lease_script,
                              key, proc.instance, lease)
            == REDIS_OK)
        {
            pl->nats_busy = 1;
        }
    }
}


static void
proc_nats_lease_done(redisAsyncContext *ac, void *r, void *data)
{
    redisReply       *reply;
    proc_pipeline_t  *pl;

    reply = r;
    pl = data;
    pl->nats_busy = 0;

    if (reply == NULL || proc.stopped) {
        return;
    }

    if (reply->type != REDIS_REPLY_INTEGER) {
        gw_svc_log(proc.svc, GW_SVC_WARN, NULL,
                   "the nats_in lease script failed",
                   json_pack("{s:s, s:o}", "pipeline", pl->name, "error",
                             gw_svc_json_string(reply->type
                                                == REDIS_REPLY_ERROR
                                                ? reply->str : "reply")));
        return;
    }

    if (reply->integer == 1) {
        pl->nats_lease_ok = proc_now_ms();
    }

    proc_nats_in_run(pl, reply->integer == 1);
}


static void
proc_nats_in_run(proc_pipeline_t *pl, int held)
{
    char  err[PROC_ERR_MAX];

    if (held && pl->nats_in == NULL) {
        pl->nats_in = proc_nats_in_start(&proc.env,
                                         json_object_get(pl->doc, "nats_in"),
                                         err, sizeof(err));
        if (pl->nats_in == NULL) {
            gw_svc_log(proc.svc, GW_SVC_ERROR, NULL,
                       "cannot start the nats_in connector",
                       json_pack("{s:s, s:o}", "pipeline", pl->name,
                                 "error", gw_svc_json_string(err)));
            return;
        }

        gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "nats_in started",
                   json_pack("{s:s, s:s}", "pipeline", pl->name, "durable",
                             pl->nats_durable));

    } else if (!held && pl->nats_in != NULL) {
        proc_nats_in_stop(pl->nats_in);
        pl->nats_in = NULL;

        gw_svc_log(proc.svc, GW_SVC_INFO, NULL, "nats_in stopped",
                   json_pack("{s:s, s:s}", "pipeline", pl->name, "durable",
                             pl->nats_durable));
    }
}


void
proc_nats_in_stop_all(void)
{
    size_t            i;
    proc_pipeline_t  *pl;

    for (i = 0; i < proc.npipelines; i++) {
        proc_nats_in_stop(proc.pipelines[i]->nats_in);
        proc.pipelines[i]->nats_in = NULL;
    }

    for (pl = proc.retiring; pl != NULL; pl = pl->next) {
        proc_nats_in_stop(pl->nats_in);
        pl->nats_in = NULL;
    }
}
