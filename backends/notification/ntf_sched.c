
/*
 * Copyright (C) Tollgate
 *
 * The scheduler: every poll ms, while fewer than inflight attempts run,
 * the claim script takes due deliveries from gw:ntf:due by scoring them
 * past a lease; each goes to its channel's send(), and its outcome to
 * the finish script: delivered, again after the retry schedule's next
 * delay (with jitter, and at least the receiver's Retry-After), or dead
 * (the dead-letter list) once the schedule is spent or the channel says
 * the failure is for good.
 *
 * Nothing here is needed for a delivery to happen: an instance that dies
 * (or stops) with attempts in flight leaves their leases, which run out,
 * and the deliveries come due again for any instance (at least once).
 *
 * On SIGTERM (ntf_sched_drain()) the scheduler stops claiming, and what a
 * claim in flight brings is handed back (scored due now) without an
 * attempt.  The kit's stop is held while attempts run and their outcomes
 * are recorded, at most drain_timeout: each one drained is logged, and
 * those still running at the deadline are logged and left to their
 * lease, as if the process had died.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntf_core.h"


#define NTF_RETRY_AFTER_MAX  86400000LL     /* ms: a day */


typedef struct ntf_attempt_s  ntf_attempt_t;

struct ntf_attempt_s {
    ntf_delivery_t          d;
    ntf_attempt_t          *prev;       /* the attempts in flight */
    ntf_attempt_t          *next;
    long long               start;
    char                   *target;
    char                   *sub;
    char                    channel[16];
};


static void ntf_sched_tick(evutil_socket_t fd, short what, void *arg);
static void ntf_sched_claim(void);
static void ntf_sched_claimed(redisReply *reply, void *data);
static void ntf_sched_due(redisAsyncContext *ac, void *r, void *data);
static void ntf_sched_dispatch(redisReply *r);
static void ntf_sched_done(ntf_delivery_t *d, const ntf_outcome_t *out);
static void ntf_sched_finish(ntf_attempt_t *a, const ntf_outcome_t *out);
static void ntf_sched_finished(redisReply *reply, void *data);
static void ntf_sched_free(ntf_attempt_t *a);
static long long ntf_sched_delay(unsigned attempt);
static void ntf_sched_give_back(redisReply *r);
static void ntf_sched_drain_check(void);
static void ntf_sched_drain_deadline(evutil_socket_t fd, short what,
    void *arg);


ntf_metrics_t  ntf_m;

static struct event  *ntf_sched_ev;
static unsigned       ntf_running;      /* attempts not yet finished */
static int            ntf_claiming;
static unsigned       ntf_asked;        /* by the claim in flight */
static int            ntf_more;         /* the last claim took all asked */
static int            ntf_due_busy;
static long long      ntf_due_last;
static long long      ntf_amax;

static ntf_attempt_t *ntf_attempts;     /* in flight, newest first */
static struct event  *ntf_drain_ev;     /* drain_timeout */
static int            ntf_draining;     /* the kit's stop held */
static unsigned       ntf_drained;      /* attempts recorded meanwhile */
static unsigned       ntf_given_back;   /* claimed, not attempted */


/*
 * retry_schedule: the delays before attempts 1..n, a comma list of
 * durations ("0s,5s,300s", "250ms", plain numbers as ms), at least one,
 * at most NTF_RETRY_MAX; also the other scheduler keys and the metrics.
 */

int
ntf_sched_configure(gw_svc_t *svc)
{
    char        *end, *copy, *tok, *save;
    double       v;
    long long    ms;

    static const char  *ch[] = { "channel", NULL };
    static const char  *chr[] = { "channel", "result", NULL };
    static const double  buckets[] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
    };

    copy = strdup(gw_svc_conf_str(svc, "retry_schedule"));
    if (copy == NULL) {
        return -1;
    }

    ntf.nretry = 0;

    for (tok = strtok_r(copy, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save))
    {
        while (*tok == ' ') {
            tok++;
        }

        v = strtod(tok, &end);

        if (end == tok || v < 0 || v > 31536000000.0) {
            goto bad;
        }

        if (strcmp(end, "ms") == 0 || *end == '\0') {
            ms = (long long) v;

        } else if (strcmp(end, "s") == 0) {
            ms = (long long) (v * 1000);

        } else if (strcmp(end, "m") == 0) {
            ms = (long long) (v * 60000);

        } else if (strcmp(end, "h") == 0) {
            ms = (long long) (v * 3600000);

        } else {
            goto bad;
        }

        if (ntf.nretry == NTF_RETRY_MAX) {
            goto bad;
        }

        ntf.retry[ntf.nretry++] = ms;
    }

    free(copy);

    if (ntf.nretry == 0) {
        fprintf(stderr, "retry_schedule: no delay\n");
        return -1;
    }

    ntf.lease = gw_svc_conf_int(svc, "lease");
    ntf.poll = gw_svc_conf_int(svc, "poll");
    ntf.batch = (unsigned) gw_svc_conf_int(svc, "batch");
    ntf.inflight = (unsigned) gw_svc_conf_int(svc, "inflight");
    ntf.jitter = (unsigned) gw_svc_conf_int(svc, "retry_jitter");
    ntf.disable_after = gw_svc_conf_int(svc, "disable_after");
    ntf.keep = gw_svc_conf_int(svc, "keep");
    ntf_amax = gw_svc_conf_int(svc, "attempts_max");
    ntf.drain = gw_svc_conf_int(svc, "drain_timeout");

    if (ntf_script_init() != 0) {
        fprintf(stderr, "cannot hash the scripts\n");
        return -1;
    }

    ntf_m.accepted = gw_svc_counter(svc, "gw_ntf_accepted_total",
                                    "Notifications accepted", ch);
    ntf_m.attempts = gw_svc_counter(svc, "gw_ntf_attempts_total",
                                    "Delivery attempts by result", chr);
    ntf_m.delivered = gw_svc_counter(svc, "gw_ntf_delivered_total",
                                     "Deliveries delivered", ch);
    ntf_m.dead = gw_svc_counter(svc, "gw_ntf_dead_total",
                                "Deliveries dead-lettered", ch);
    ntf_m.due = gw_svc_gauge(svc, "gw_ntf_due",
                             "Deliveries waiting or leased", NULL);
    ntf_m.inflight = gw_svc_gauge(svc, "gw_ntf_inflight",
                                  "Attempts of this instance in flight",
                                  NULL);
    ntf_m.seconds = gw_svc_histogram(svc, "gw_ntf_attempt_seconds",
                                     "Delivery attempts' durations", ch,
                                     buckets,
                                     sizeof(buckets) / sizeof(buckets[0]));

    if (ntf_m.accepted == NULL || ntf_m.attempts == NULL
        || ntf_m.delivered == NULL || ntf_m.dead == NULL
        || ntf_m.due == NULL || ntf_m.inflight == NULL
        || ntf_m.seconds == NULL)
    {
        fprintf(stderr, "cannot register the metrics\n");
        return -1;
    }

    /* an attempt longer than its lease may be sent again meanwhile */

    if (ntf.lease <= gw_svc_conf_int(svc, "webhook_timeout")
        || ntf.lease <= gw_svc_conf_int(svc, "smtp_timeout")
        || ntf.lease <= gw_svc_conf_int(svc, "push_timeout"))
    {
        gw_svc_log(svc, GW_SVC_WARN, NULL,
                   "lease is not longer than every channel's timeout: a "
                   "slow attempt may be sent twice", NULL);
    }

    srandom((unsigned) (ntf_now_ms() ^ getpid()));

    return 0;

bad:

    fprintf(stderr, "retry_schedule: \"%s\" is not a list of at most %d "
            "durations\n", gw_svc_conf_str(svc, "retry_schedule"),
            NTF_RETRY_MAX);
    free(copy);
    return -1;
}


int
ntf_sched_start(void)
{
    struct timeval  tv;

    ntf_sched_ev = event_new(ntf.base, -1, EV_PERSIST, ntf_sched_tick, NULL);
    if (ntf_sched_ev == NULL) {
        gw_svc_log(ntf.svc, GW_SVC_ERROR, NULL, "cannot start the scheduler",
                   NULL);
        return -1;
    }

    tv.tv_sec = ntf.poll / 1000;
    tv.tv_usec = (ntf.poll % 1000) * 1000;

    return event_add(ntf_sched_ev, &tv);
}


void
ntf_sched_stop(void)
{
    if (ntf_sched_ev != NULL) {
        event_free(ntf_sched_ev);
        ntf_sched_ev = NULL;
    }

    if (ntf_drain_ev != NULL) {
        event_free(ntf_drain_ev);
        ntf_drain_ev = NULL;
    }
}


void
ntf_sched_drain(void)
{
    struct timeval  tv;

    if (ntf_draining || (ntf_running == 0 && !ntf_claiming)) {
        return;
    }

    /* only a claim in flight: its answer is waited for, unsaid */
    if (ntf_running > 0) {
        gw_svc_log(ntf.svc, GW_SVC_INFO, NULL, "draining deliveries",
                   json_pack("{s:i, s:I}", "in_flight", (int) ntf_running,
                             "drain_timeout_ms", (json_int_t) ntf.drain));
    }

    ntf_drain_ev = evtimer_new(ntf.base, ntf_sched_drain_deadline, NULL);
    if (ntf_drain_ev == NULL) {
        return;
    }

    tv.tv_sec = ntf.drain / 1000;
    tv.tv_usec = (ntf.drain % 1000) * 1000;

    if (evtimer_add(ntf_drain_ev, &tv) != 0) {
        event_free(ntf_drain_ev);
        ntf_drain_ev = NULL;
        return;
    }

    ntf_draining = 1;
    gw_svc_hold(ntf.svc);
}


/* the last attempt recorded, and no claim in flight: the stop goes on */

static void
ntf_sched_drain_check(void)
{
    if (!ntf_draining || ntf_running > 0 || ntf_claiming) {
        return;
    }

    ntf_draining = 0;
    evtimer_del(ntf_drain_ev);

    if (ntf_drained > 0 || ntf_given_back > 0) {
        gw_svc_log(ntf.svc, GW_SVC_INFO, NULL, "deliveries drained",
                   json_pack("{s:i, s:i, s:i}", "drained", (int) ntf_drained,
                             "given_back", (int) ntf_given_back,
                             "left", 0));
    }

    gw_svc_release(ntf.svc);
}


/* drain_timeout: what still runs keeps its lease and goes again later */

static void
ntf_sched_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
    json_t         *left;
    ntf_attempt_t  *a;

    if (!ntf_draining) {
        return;
    }

    ntf_draining = 0;

    left = json_array();

    for (a = ntf_attempts; a != NULL && left != NULL; a = a->next) {
        if (json_array_size(left) == 100) {
            break;
        }

        json_array_append_new(left, json_string(a->d.id));
    }

    gw_svc_log(ntf.svc, GW_SVC_WARN, NULL,
               "drain_timeout reached: attempts left to their lease",
               json_pack("{s:i, s:i, s:i, s:o*}", "drained",
                         (int) ntf_drained, "given_back",
                         (int) ntf_given_back, "left", (int) ntf_running,
                         "deliveries", left));

    gw_svc_release(ntf.svc);
}


static void
ntf_sched_tick(evutil_socket_t fd, short what, void *arg)
{
    long long            ms;
    redisAsyncContext   *ac;

    ac = gw_svc_redis(ntf.svc);

    if (ntf.stopped || ac == NULL) {
        return;
    }

    ms = ntf_now_ms();

    if (!ntf_due_busy && ms - ntf_due_last >= 1000) {
        if (redisAsyncCommand(ac, ntf_sched_due, NULL, "ZCARD gw:ntf:due")
            == REDIS_OK)
        {
            ntf_due_busy = 1;
            ntf_due_last = ms;
        }
    }

    ntf_sched_claim();
}


/*
 * Claims what is due, up to the room left under inflight.  Besides the
 * poll, a claim that took all it asked for is followed by the next as
 * soon as it is answered and as attempts end: a backlog drains at the
 * channels' pace, not at batch per poll.
 */

static void
ntf_sched_claim(void)
{
    char          now[24], lease[24], count[24];
    size_t        lens[3];
    unsigned      n;
    const char   *argv[3];

    if (ntf.stopped || ntf_claiming || ntf_running >= ntf.inflight
        || gw_svc_redis(ntf.svc) == NULL)
    {
        return;
    }

    n = ntf.inflight - ntf_running;
    if (n > ntf.batch) {
        n = ntf.batch;
    }

    snprintf(now, sizeof(now), "%lld", ntf_now_ms());
    snprintf(lease, sizeof(lease), "%lld", ntf.lease);
    snprintf(count, sizeof(count), "%u", n);

    argv[0] = now;
    argv[1] = lease;
    argv[2] = count;
    lens[0] = strlen(now);
    lens[1] = strlen(lease);
    lens[2] = strlen(count);

    if (gw_svc_eval(ntf.svc, &ntf_script_claim, 3, argv, lens,
                    ntf_sched_claimed, NULL)
        == 0)
    {
        ntf_claiming = 1;
        ntf_asked = n;
    }
}


static void
ntf_sched_due(redisAsyncContext *ac, void *r, void *data)
{
    redisReply  *reply;

    reply = r;
    ntf_due_busy = 0;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
        gw_svc_metric_set(ntf_m.due, (double) reply->integer);
    }
}


static void
ntf_sched_claimed(redisReply *reply, void *data)
{
    size_t  i;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ntf_claiming = 0;
        ntf_more = 0;
        ntf_sched_drain_check();
        return;
    }

    if (ntf.stopped) {
        /* the stop began meanwhile: no attempt starts */
        for (i = 0; i < reply->elements; i++) {
            ntf_sched_give_back(reply->element[i]);
        }

        ntf_claiming = 0;
        ntf_more = 0;
        ntf_sched_drain_check();
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        ntf_sched_dispatch(reply->element[i]);
    }

    gw_svc_metric_set(ntf_m.inflight, (double) ntf_running);

    ntf_claiming = 0;
    ntf_more = (reply->elements == ntf_asked);

    if (ntf_more) {
        ntf_sched_claim();
    }
}


/*
 * A delivery claimed after the stop began: due again now, for another
 * instance, instead of after its lease.  Fire and forget: when it is not
 * written, the lease runs out all the same.
 */

static void
ntf_sched_give_back(redisReply *r)
{
    redisAsyncContext  *ac;

    ac = gw_svc_redis(ntf.svc);

    if (ac == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0
        || r->element[0]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    if (redisAsyncCommand(ac, NULL, NULL, "ZADD gw:ntf:due XX %lld %s",
                          ntf_now_ms(), r->element[0]->str)
        == REDIS_OK)
    {
        ntf_given_back++;
    }
}


/* one claimed delivery: id, nid, channel, payload, attempt, created,
 * target, sub, handed to its channel */

static void
ntf_sched_dispatch(redisReply *r)
{
    size_t                i;
    ntf_attempt_t        *a;
    ntf_outcome_t         out;
    const ntf_channel_t  *ch;

    for (i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            return;
        }
    }

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 8
        || r->element[0]->len >= NTF_DID_MAX
        || r->element[1]->len >= NTF_ID_MAX)
    {
        return;
    }

    a = calloc(1, sizeof(ntf_attempt_t));
    if (a == NULL) {
        return;
    }

    memcpy(a->d.id, r->element[0]->str, r->element[0]->len + 1);
    memcpy(a->d.nid, r->element[1]->str, r->element[1]->len + 1);
    snprintf(a->channel, sizeof(a->channel), "%s", r->element[2]->str);
    a->d.channel = a->channel;
    a->d.payload = json_loads(r->element[3]->str, 0, NULL);
    a->d.attempt = (unsigned) strtoul(r->element[4]->str, NULL, 10) + 1;
    a->d.created = strtoll(r->element[5]->str, NULL, 10);
    a->d.done = ntf_sched_done;
    a->d.data = a;
    a->start = ntf_now_ms();

    a->next = ntf_attempts;
    if (ntf_attempts != NULL) {
        ntf_attempts->prev = a;
    }
    ntf_attempts = a;

    ntf_running++;

    memset(&out, 0, sizeof(out));

    a->target = strdup(r->element[6]->str);
    a->sub = strdup(r->element[7]->str);

    if (a->target == NULL || a->sub == NULL) {
        out.result = NTF_RETRY;
        snprintf(out.error, sizeof(out.error), "out of memory");
        ntf_sched_finish(a, &out);
        return;
    }

    if (a->d.payload == NULL) {
        out.result = NTF_FAIL;
        snprintf(out.error, sizeof(out.error), "the payload is not JSON");
        ntf_sched_finish(a, &out);
        return;
    }

    if (strcmp(a->channel, "webhook") == 0) {
        ch = &ntf_webhook_channel;

    } else if (strcmp(a->channel, "email") == 0) {
        ch = &ntf_email_channel;

    } else if (strcmp(a->channel, "push") == 0) {
        ch = &ntf_push_channel;

    } else {
        out.result = NTF_FAIL;
        snprintf(out.error, sizeof(out.error), "unknown channel");
        ntf_sched_finish(a, &out);
        return;
    }

    if (ch->send(&a->d, &out) != 0) {
        ntf_sched_finish(a, &out);
    }
}


static void
ntf_sched_done(ntf_delivery_t *d, const ntf_outcome_t *out)
{
    ntf_sched_finish(d->data, out);
}


/*
 * Records an attempt's outcome by the finish script: the next state
 * follows the result and, for a retry, the schedule: attempt k failed
 * is tried again after retry[k] (+- jitter, at least Retry-After) while
 * k < the schedule's length, else it is dead.
 */

static void
ntf_sched_finish(ntf_attempt_t *a, const ntf_outcome_t *out)
{
    char         now_text[24], time[32], cutoff[NTF_ID_MAX], *rec, *text;
    size_t       len;
    json_t      *arg, *record;
    long long    now, next, delay;
    const char  *result, *action;

    static const char  *results[] = { "ok", "retry", "fail", "gone" };

    now = ntf_now_ms();
    result = results[out->result <= NTF_GONE ? out->result : NTF_FAIL];
    next = 0;

    switch (out->result) {

    case NTF_OK:
        action = "ok";
        gw_svc_metric_add(ntf_m.delivered, 1, a->channel);
        break;

    case NTF_RETRY:
        if (a->d.attempt < ntf.nretry) {
            action = "retry";
            delay = ntf_sched_delay(a->d.attempt);

            if (out->retry_after > delay) {
                delay = out->retry_after < NTF_RETRY_AFTER_MAX
                        ? out->retry_after : NTF_RETRY_AFTER_MAX;
            }

            next = now + delay;
            break;
        }

        /* fall through */

    default:
        action = "dead";
        gw_svc_metric_add(ntf_m.dead, 1, a->channel);
        break;
    }

    gw_svc_metric_add(ntf_m.attempts, 1, a->channel, result);
    gw_svc_metric_observe(ntf_m.seconds, (double) (now - a->start) / 1000,
                          a->channel);

    ntf_rfc3339(a->start, time, sizeof(time));

    record = json_pack("{s:s, s:i, s:s, s:s, s:i, s:I, s:s, s:s}",
                       "delivery", a->d.id, "attempt", (int) a->d.attempt,
                       "time", time, "target", a->target ? a->target : "",
                       "status", out->status,
                       "latency_ms", (json_int_t) (out->latency > 0
                                                   ? out->latency
                                                   : now - a->start),
                       "result", result, "error", out->error);
    rec = (record != NULL) ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);

    snprintf(now_text, sizeof(now_text), "%lld", now);
    ntf_id_at(now - ntf.keep, cutoff);

    arg = (rec != NULL)
          ? json_pack("{s:s, s:s, s:i, s:s, s:s, s:I, s:s, s:I, s:s, s:I}",
                      "id", a->d.id, "nid", a->d.nid,
                      "attempt", (int) a->d.attempt, "result", action,
                      "record", rec, "next", (json_int_t) next,
                      "now", now_text, "keep", (json_int_t) ntf.keep,
                      "cutoff", cutoff,
                      "amax", (json_int_t) ntf_amax)
          : NULL;
    free(rec);

    text = (arg != NULL) ? json_dumps(arg, JSON_COMPACT) : NULL;
    json_decref(arg);

    if (text != NULL) {
        len = strlen(text);

        if (gw_svc_eval(ntf.svc, &ntf_script_finish, 1,
                        (const char **) &text, &len, ntf_sched_finished, a)
            == 0)
        {
            free(text);
            return;
        }
    }

    free(text);

    /* not recorded: the lease runs out and the delivery goes again */

    gw_svc_log(ntf.svc, GW_SVC_WARN, NULL, "cannot record an attempt",
               json_pack("{s:s, s:i}", "delivery", a->d.id,
                         "attempt", (int) a->d.attempt));
    ntf_sched_free(a);
}


static void
ntf_sched_finished(redisReply *reply, void *data)
{
    ntf_attempt_t  *a;

    a = data;

    if (reply == NULL) {
        gw_svc_log(ntf.svc, GW_SVC_WARN, NULL, "cannot record an attempt",
                   json_pack("{s:s, s:i}", "delivery", a->d.id,
                             "attempt", (int) a->d.attempt));
    }

    ntf_sched_free(a);
}


static void
ntf_sched_free(ntf_attempt_t *a)
{
    if (a->prev != NULL) {
        a->prev->next = a->next;

    } else {
        ntf_attempts = a->next;
    }

    if (a->next != NULL) {
        a->next->prev = a->prev;
    }

    ntf_running--;
    gw_svc_metric_set(ntf_m.inflight, (double) ntf_running);

    if (ntf_draining) {
        ntf_drained++;
        gw_svc_log(ntf.svc, GW_SVC_INFO, NULL, "attempt drained",
                   json_pack("{s:s, s:i}", "delivery", a->d.id,
                             "attempt", (int) a->d.attempt));
    }

    json_decref(a->d.payload);
    free(a->target);
    free(a->sub);
    free(a);

    if (ntf_more) {
        ntf_sched_claim();
    }

    ntf_sched_drain_check();
}


/* the delay before attempt k + 1, jittered by +- jitter percent */

static long long
ntf_sched_delay(unsigned k)
{
    long long  ms, span;

    ms = ntf.retry[k];

    if (ntf.jitter == 0 || ms == 0) {
        return ms;
    }

    span = ms * ntf.jitter / 100;
    if (span == 0) {
        return ms;
    }

    return ms - span + (long long) (random() % (2 * span + 1));
}
