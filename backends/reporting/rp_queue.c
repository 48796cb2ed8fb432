
/*
 * Copyright (C) Tollgate
 *
 * The durable queue of runs: nothing acknowledged is lost.  A run is
 * accepted (the POST's 202, a schedule's tick) only once Redis holds it:
 * one script writes its hash gw:rp:run:<id> (with everything needed to
 * run it again: report, format, checked params with the caller's tenant,
 * delivery, owner) and adds it to the zset gw:rp:due, scored by the time
 * it is due (ms since the epoch).  The zset holds every run accepted and
 * not ended, so its size is the backlog that due_max caps (503 busy).
 *
 * An instance takes runs with a lease: a script takes up to N runs due
 * by now, rescores them now + lease, counts an attempt in the hash and
 * returns them; the instance renews the lease of each run it holds
 * (ZADD XX, every quarter lease) and, at the end, writes the outcome and
 * removes the run in one MULTI.  A run whose instance died comes due
 * when its lease runs out and any instance runs it again from scratch;
 * past "attempts" starts it fails ("interrupted").  N is queue_max minus
 * the runs the instance holds: queue_max is what one instance takes at
 * once.  A POST that finds room takes its run at once (the same script,
 * scored as leased), so that ?wait= and the common case need no claim.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "rp.h"


#define RP_QUEUE_EVERY_MAX  1000    /* ms between two claims, at most */


typedef struct {
    char                    run[RP_RUN_LEN + 1];
    char                    report[RP_ID_MAX + 1];
    char                    owner[RP_OWNER_MAX + 1];
    char                    format[16];
    json_t                 *params;
    json_t                 *delivery;
} rp_queue_claim_t;


static void rp_queue_tick(evutil_socket_t fd, short what, void *arg);
static void rp_queue_claimed(redisAsyncContext *ac, void *r, void *data);
static void rp_queue_got_def(redisAsyncContext *ac, void *r, void *data);
static void rp_queue_drop(rp_queue_claim_t *c, const char *code,
    const char *error);


/*
 * KEYS: the hash, the zset.  ARGV: due_max, run_ttl (ms), score, run,
 * report, owner, format, params, delivery, created, attempts.  1, or 0
 * when the zset is full.
 */
static const char  rp_queue_put_lua[] =
    "if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then "
    "  return 0 "
    "end "
    "redis.call('HSET', KEYS[1], 'report', ARGV[5], 'owner', ARGV[6], "
    "  'format', ARGV[7], 'params', ARGV[8], 'deliver', ARGV[9], "
    "  'status', 'queued', 'rows', 0, 'created', ARGV[10], "
    "  'attempts', ARGV[11]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) "
    "return 1";

/*
 * KEYS: the zset.  ARGV: now (ms), N, lease (ms), attempts, now (s).
 * The runs taken, six strings each: run, report, owner, format, params,
 * delivery.  A run whose hash expired is dropped; one past its attempts
 * fails.
 */
static const char  rp_queue_take_lua[] =
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], "
    "  'LIMIT', 0, tonumber(ARGV[2])) "
    "local out = {} "
    "for _, id in ipairs(ids) do "
    "  local k = 'gw:rp:run:' .. id "
    "  if redis.call('EXISTS', k) == 0 then "
    "    redis.call('ZREM', KEYS[1], id) "
    "  else "
    "    local n = redis.call('HINCRBY', k, 'attempts', 1) "
    "    if n > tonumber(ARGV[4]) then "
    "      redis.call('HSET', k, 'status', 'failed', 'code', "
    "        'interrupted', 'error', 'the run was interrupted ' "
    "        .. (n - 1) .. ' times', 'finished', ARGV[5]) "
    "      redis.call('ZREM', KEYS[1], id) "
    "    else "
    "      redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) "
    "        + tonumber(ARGV[3]), id) "
    "      local h = redis.call('HMGET', k, 'report', 'owner', 'format', "
    "        'params', 'deliver') "
    "      out[#out + 1] = id "
    "      for i = 1, 5 do out[#out + 1] = h[i] or '' end "
    "    end "
    "  end "
    "end "
    "return out";


static struct event  *rp_queue_ev;
static int            rp_queue_taken;   /* runs held, leased */
static int            rp_queue_asked;   /* a claim's N, in flight */


long long
rp_queue_now(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return (long long) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


int
rp_queue_room(void)
{
    return rp.queue_max - rp_queue_taken - rp_queue_asked;
}


void
rp_queue_hold(void)
{
    rp_queue_taken++;
}


void
rp_queue_unhold(void)
{
    rp_queue_taken--;
}


int
rp_queue_put(rp_job_t *job, redisCallbackFn *cb)
{
    int                 rc;
    char               *params, *delivery;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(rp.svc);
    if (ac == NULL) {
        return -1;
    }

    params = json_dumps(job->params, JSON_COMPACT);
    delivery = (job->delivery != NULL)
               ? json_dumps(job->delivery, JSON_COMPACT) : NULL;

    if (params == NULL || (job->delivery != NULL && delivery == NULL)) {
        free(params);
        free(delivery);
        return -1;
    }

    rc = redisAsyncCommand(ac, cb, job,
                           "EVAL %s 2 gw:rp:run:%s gw:rp:due %lld %lld "
                           "%lld %s %s %s %s %s %s %lld %d",
                           rp_queue_put_lua, job->run, rp.due_max,
                           rp.run_ttl, rp_queue_now()
                                       + (job->local ? rp.lease : 0),
                           job->run, job->def->id, job->owner,
                           gw_report_format_name(job->fmt), params,
                           delivery != NULL ? delivery : "",
                           (long long) time(NULL), job->local ? 1 : 0);

    free(params);
    free(delivery);

    return rc == REDIS_OK ? 0 : -1;
}


/*
 * Not started, or cut short by drain_timeout: the attempt is not
 * counted, the run is queued and due now, for any instance.  0: cb is
 * called with the last write's reply.
 */
int
rp_run_give_back(rp_job_t *job, redisCallbackFn *cb)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(rp.svc);

    if (ac == NULL) {
        return -1;              /* its lease runs out: it comes back */
    }

    redisAsyncCommand(ac, NULL, NULL, "HINCRBY gw:rp:run:%s attempts -1",
                      job->run);
    redisAsyncCommand(ac, NULL, NULL, "HSET gw:rp:run:%s status queued "
                      "rows 0", job->run);

    return redisAsyncCommand(ac, cb, NULL, "ZADD gw:rp:due XX %lld %s",
                             rp_queue_now(), job->run)
           == REDIS_OK ? 0 : -1;
}


void
rp_queue_start(void)
{
    long long       every;
    struct timeval  tv;

    every = rp.lease / 4;
    if (every > RP_QUEUE_EVERY_MAX) {
        every = RP_QUEUE_EVERY_MAX;
    }

    tv.tv_sec = every / 1000;
    tv.tv_usec = (every % 1000) * 1000;

    rp_queue_ev = event_new(rp.base, -1, EV_PERSIST, rp_queue_tick, NULL);
    if (rp_queue_ev != NULL) {
        event_add(rp_queue_ev, &tv);
    }
}


void
rp_queue_stop(void)
{
    if (rp_queue_ev != NULL) {
        event_free(rp_queue_ev);
        rp_queue_ev = NULL;
    }
}


/* the leases renewed (rp_run.c), then the runs due taken if room */
static void
rp_queue_tick(evutil_socket_t fd, short what, void *arg)
{
    int                 n;
    long long           now;
    redisAsyncContext  *ac;

    ac = gw_svc_redis(rp.svc);
    if (ac == NULL || rp.stopped) {
        return;
    }

    now = rp_queue_now();

    rp_run_renew(ac, now + rp.lease);

    n = rp_queue_room();
    if (n <= 0 || rp_queue_asked > 0) {
        return;
    }

    if (redisAsyncCommand(ac, rp_queue_claimed, NULL,
                          "EVAL %s 1 gw:rp:due %lld %d %lld %lld %lld",
                          rp_queue_take_lua, now, n, rp.lease, rp.attempts,
                          (long long) time(NULL))
        == REDIS_OK)
    {
        rp_queue_asked = n;
    }
}


static void
rp_queue_claim_free(rp_queue_claim_t *c)
{
    json_decref(c->params);
    json_decref(c->delivery);
    free(c);
}


static void
rp_queue_claimed(redisAsyncContext *ac, void *r, void *data)
{
    size_t             i;
    redisReply        *reply, **e;
    rp_queue_claim_t  *c;

    reply = r;
    rp_queue_asked = 0;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    for (i = 0; i + 6 <= reply->elements; i += 6) {
        e = &reply->element[i];

        if (e[0]->type != REDIS_REPLY_STRING) {
            continue;
        }

        rp_queue_taken++;       /* until the run is freed or dropped */

        c = calloc(1, sizeof(rp_queue_claim_t));
        if (c == NULL) {
            rp_queue_taken--;   /* its lease runs out: it comes back */
            continue;
        }

        snprintf(c->run, sizeof(c->run), "%s", e[0]->str);
        snprintf(c->report, sizeof(c->report), "%s", e[1]->str);
        snprintf(c->owner, sizeof(c->owner), "%s", e[2]->str);
        snprintf(c->format, sizeof(c->format), "%s", e[3]->str);
        c->params = json_loads(e[4]->str, 0, NULL);
        c->delivery = json_loads(e[5]->str, 0, NULL);

        gw_svc_log(rp.svc, GW_SVC_INFO, NULL, "run taken from the queue",
                   json_pack("{s:s, s:s}", "run", c->run,
                             "report", c->report));

        if (redisAsyncCommand(ac, rp_queue_got_def, c,
                              "HGET gw:md:e:u.reports:%s doc", c->report)
            != REDIS_OK)
        {
            rp_queue_taken--;
            rp_queue_claim_free(c);
        }
    }
}


/* the run again from its hash and its definition as it is now */
static void
rp_queue_got_def(redisAsyncContext *ac, void *r, void *data)
{
    char                 err[RP_ERR_MAX];
    json_t              *params;
    rp_def_t            *def;
    rp_job_t            *job;
    redisReply          *reply;
    rp_queue_claim_t    *c;
    gw_report_format_e   fmt;

    c = data;
    reply = r;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        rp_queue_taken--;       /* Redis failed: the lease runs out */
        rp_queue_claim_free(c);
        return;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        rp_queue_drop(c, "definition-invalid", "the report is gone");
        return;
    }

    def = rp_def_parse(c->report, json_loadb(reply->str, reply->len, 0,
                                             NULL), err, sizeof(err));
    if (def == NULL) {
        rp_queue_drop(c, "definition-invalid", err);
        return;
    }

    /* checked again, the tenant's value the owner's */
    params = rp_def_params(def, c->params, c->owner, err, sizeof(err));

    if (params == NULL || gw_report_format_parse(c->format, &fmt) != 0) {
        rp_def_free(def);
        json_decref(params);
        rp_queue_drop(c, "definition-invalid", params == NULL ? err
                      : "unknown format");
        return;
    }

    job = rp_run_job(def, params, fmt, c->owner,
                     json_is_object(c->delivery) ? c->delivery : NULL,
                     c->run);
    rp_queue_claim_free(c);

    if (job == NULL) {
        rp_queue_taken--;       /* out of memory: the lease runs out */
        return;
    }

    job->local = 1;             /* held: rp_run_free() unholds */
    rp_run_start(job);
}


/* a run taken that cannot run again: it fails, for good */
static void
rp_queue_drop(rp_queue_claim_t *c, const char *code, const char *error)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(rp.svc);
    rp_queue_taken--;

    if (ac != NULL) {
        redisAsyncCommand(ac, NULL, NULL, "MULTI");
        redisAsyncCommand(ac, NULL, NULL,
                          "HSET gw:rp:run:%s status failed code %s "
                          "error %s finished %lld", c->run, code, error,
                          (long long) time(NULL));
        redisAsyncCommand(ac, NULL, NULL, "ZREM gw:rp:due %s", c->run);
        redisAsyncCommand(ac, NULL, NULL, "EXEC");
    }

    gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "a run from the queue cannot run",
               json_pack("{s:s, s:s}", "run", c->run, "error", error));

    rp_queue_claim_free(c);
}
