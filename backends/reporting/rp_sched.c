
/*
 * Copyright (C) Tollgate
 *
 * Schedules: a definition's "schedule" {"cron", "tz", "format", "params",
 * "consumer", "delivery"} runs the report at each tick of its cron
 * expression (rp_cron.c) in its time zone, by exactly one instance of
 * however many run: a tick is claimed by SET NX PX on
 * gw:rp:tick:<report>:<tick> (the tick in seconds since the epoch), and
 * only the instance whose SET took the key runs it.  Every instance
 * looks at every tick (its clock may be a little off: the key is the
 * tick, not the moment it was seen), so one instance down loses nothing.
 *
 * Every `schedule_poll` the instance reads the reports' ids (the metadata
 * store's index gw:md:ix:u.reports, at most RP_SCHED_REPORTS) and each
 * document, and looks at the ticks since its last look (at most
 * RP_SCHED_BACK seconds back: after a long pause, old ticks are not run
 * late).  The wall-clock fields of a tick come from the zone's offsets,
 * read from the system's TZif files (lib/report's reader, cached here),
 * never from TZ or localtime(), which worker threads may be reading.
 * A scheduled run is the run a POST would make, owned by the schedule's
 * "consumer" (bound to the tenant parameter), its delivery the
 * schedule's or else the definition's.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "gw_report_int.h"
#include "rp.h"


#define RP_SCHED_REPORTS    1000
#define RP_SCHED_BACK       120     /* seconds looked back at most */
#define RP_SCHED_LEASE      86400000 /* ms a tick's claim is kept */
#define RP_TZ_CACHE         16


typedef struct {
    int64_t                 from;       /* seconds, both included */
    int64_t                 to;
    int64_t                 tick;
    char                    id[RP_ID_MAX + 1];
    char                   *doc;
} rp_sched_ctx_t;


typedef struct {
    char                    name[65];
    gw_report_tz_t          tz;
} rp_sched_tz_t;


static void rp_sched_poll(evutil_socket_t fd, short what, void *arg);
static void rp_sched_got_ids(redisAsyncContext *ac, void *r, void *data);
static void rp_sched_got_doc(redisAsyncContext *ac, void *r, void *data);
static void rp_sched_claimed(redisAsyncContext *ac, void *r, void *data);
static void rp_sched_fire(rp_sched_ctx_t *ctx);
static const gw_report_tz_t *rp_sched_tz(const char *name);


static struct event   *rp_sched_ev;
static int64_t         rp_sched_last;
static rp_sched_tz_t   rp_sched_zones[RP_TZ_CACHE];
static int             rp_sched_nzones;


void
rp_sched_start(void)
{
    long long       ms;
    struct timeval  tv;

    ms = gw_svc_conf_int(rp.svc, "schedule_poll");
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;

    rp_sched_last = (int64_t) time(NULL) - 1;

    rp_sched_ev = event_new(rp.base, -1, EV_PERSIST, rp_sched_poll, NULL);
    if (rp_sched_ev != NULL) {
        event_add(rp_sched_ev, &tv);
    }
}


void
rp_sched_stop(void)
{
    int  i;

    if (rp_sched_ev != NULL) {
        event_free(rp_sched_ev);
        rp_sched_ev = NULL;
    }

    for (i = 0; i < rp_sched_nzones; i++) {
        gw_report_tz_free(&rp_sched_zones[i].tz);
    }

    rp_sched_nzones = 0;
}


static void
rp_sched_ctx_free(rp_sched_ctx_t *ctx)
{
    if (ctx != NULL) {
        free(ctx->doc);
        free(ctx);
    }
}


static void
rp_sched_poll(evutil_socket_t fd, short what, void *arg)
{
    int64_t             now;
    rp_sched_ctx_t     *ctx;
    redisAsyncContext  *ac;

    now = (int64_t) time(NULL);
    ac = gw_svc_redis(rp.svc);

    if (rp.stopped || ac == NULL || now <= rp_sched_last) {
        return;
    }

    ctx = calloc(1, sizeof(rp_sched_ctx_t));
    if (ctx == NULL) {
        return;
    }

    ctx->from = rp_sched_last + 1;
    if (ctx->from < now - RP_SCHED_BACK) {
        ctx->from = now - RP_SCHED_BACK;
    }
    ctx->to = now;
    rp_sched_last = now;

    if (redisAsyncCommand(ac, rp_sched_got_ids, ctx,
                          "ZRANGE gw:md:ix:u.reports 0 %d",
                          RP_SCHED_REPORTS - 1)
        != REDIS_OK)
    {
        rp_sched_ctx_free(ctx);
    }
}


static void
rp_sched_got_ids(redisAsyncContext *ac, void *r, void *data)
{
    size_t           i;
    redisReply      *reply, *e;
    rp_sched_ctx_t  *ctx, *one;

    ctx = data;
    reply = r;

    for (i = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY
                && i < reply->elements; i++)
    {
        e = reply->element[i];

        if (e->type != REDIS_REPLY_STRING || e->len == 0
            || e->len > RP_ID_MAX || rp.stopped)
        {
            continue;
        }

        one = calloc(1, sizeof(rp_sched_ctx_t));
        if (one == NULL) {
            break;
        }

        one->from = ctx->from;
        one->to = ctx->to;
        memcpy(one->id, e->str, e->len);

        if (redisAsyncCommand(ac, rp_sched_got_doc, one,
                              "HGET gw:md:e:u.reports:%s doc", one->id)
            != REDIS_OK)
        {
            rp_sched_ctx_free(one);
        }
    }

    rp_sched_ctx_free(ctx);
}


static void
rp_sched_got_doc(redisAsyncContext *ac, void *r, void *data)
{
    int64_t                t, local;
    json_t                *doc, *s;
    struct tm              tm;
    rp_cron_t              cron;
    redisReply            *reply;
    const char            *expr, *zone;
    rp_sched_ctx_t        *ctx, *one;
    const gw_report_tz_t  *tz;

    ctx = data;
    reply = r;
    doc = NULL;

    if (reply == NULL || reply->type != REDIS_REPLY_STRING) {
        goto done;
    }

    doc = json_loadb(reply->str, reply->len, 0, NULL);
    s = json_object_get(doc, "schedule");
    if (!json_is_object(s)) {
        goto done;
    }

    expr = json_string_value(json_object_get(s, "cron"));
    zone = json_string_value(json_object_get(s, "tz"));
    tz = rp_sched_tz(zone != NULL ? zone : "UTC");

    if (expr == NULL || rp_cron_parse(expr, &cron) != 0 || tz == NULL) {
        gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "a schedule is malformed",
                   json_pack("{s:s, s:s}", "report", ctx->id,
                             "error", tz == NULL ? "unknown tz"
                                                 : "bad cron"));
        goto done;
    }

    for (t = ctx->from; t <= ctx->to; t++) {
        if (!cron.seconds && t % 60 != 0) {
            continue;
        }

        local = t + gw_report_tz_offset(tz, t * 1000);
        if (gmtime_r((time_t *) &local, &tm) == NULL
            || !rp_cron_match(&cron, &tm))
        {
            continue;
        }

        one = calloc(1, sizeof(rp_sched_ctx_t));
        if (one == NULL) {
            break;
        }

        one->tick = t;
        memcpy(one->id, ctx->id, sizeof(one->id));
        one->doc = malloc(reply->len + 1);

        if (one->doc == NULL) {
            rp_sched_ctx_free(one);
            break;
        }

        memcpy(one->doc, reply->str, reply->len);
        one->doc[reply->len] = '\0';

        if (redisAsyncCommand(ac, rp_sched_claimed, one,
                              "SET gw:rp:tick:%s:%lld %s NX PX %d",
                              one->id, (long long) t, rp.instance,
                              RP_SCHED_LEASE)
            != REDIS_OK)
        {
            rp_sched_ctx_free(one);
        }
    }

done:

    json_decref(doc);
    rp_sched_ctx_free(ctx);
}


static void
rp_sched_claimed(redisAsyncContext *ac, void *r, void *data)
{
    redisReply      *reply;
    rp_sched_ctx_t  *ctx;

    ctx = data;
    reply = r;

    if (reply != NULL && reply->type == REDIS_REPLY_STATUS && !rp.stopped)
    {
        rp_sched_fire(ctx);     /* the tick is ours */
    }

    rp_sched_ctx_free(ctx);
}


static void
rp_sched_fire(rp_sched_ctx_t *ctx)
{
    char                 err[RP_ERR_MAX];
    json_t              *s, *params, *delivery;
    rp_def_t            *def;
    const char          *owner, *fmt_name;
    gw_report_format_e   fmt;

    def = rp_def_parse(ctx->id, json_loads(ctx->doc, 0, NULL), err,
                       sizeof(err));
    if (def == NULL) {
        gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "a scheduled report cannot "
                   "run", json_pack("{s:s, s:s}", "report", ctx->id,
                                    "error", err));
        return;
    }

    s = def->schedule;
    owner = json_string_value(json_object_get(s, "consumer"));
    fmt_name = json_string_value(json_object_get(s, "format"));

    if (fmt_name == NULL) {
        fmt_name = json_string_value(json_array_get(def->formats, 0));
    }

    if (gw_report_format_parse(fmt_name != NULL ? fmt_name : "csv", &fmt)
        != 0)
    {
        snprintf(err, sizeof(err), "/schedule/format: unknown");
        params = NULL;

    } else {
        params = rp_def_params(def, json_object_get(s, "params"),
                               owner != NULL ? owner : "", err,
                               sizeof(err));
    }

    if (params == NULL) {
        gw_svc_log(rp.svc, GW_SVC_WARN, NULL, "a scheduled report cannot "
                   "run", json_pack("{s:s, s:s}", "report", ctx->id,
                                    "error", err));
        rp_def_free(def);
        return;
    }

    delivery = json_object_get(s, "delivery");

    gw_svc_log(rp.svc, GW_SVC_INFO, NULL, "schedule fired",
               json_pack("{s:s, s:I}", "report", ctx->id,
                         "tick", (json_int_t) ctx->tick));

    rp_run_submit(def, params, fmt, owner != NULL ? owner : "schedule",
                  json_is_object(delivery) ? delivery : NULL, NULL, 0);
}


static const gw_report_tz_t *
rp_sched_tz(const char *name)
{
    int             i;
    rp_sched_tz_t  *z;

    if (strlen(name) >= sizeof(z->name)) {
        return NULL;
    }

    for (i = 0; i < rp_sched_nzones; i++) {
        if (strcmp(rp_sched_zones[i].name, name) == 0) {
            return &rp_sched_zones[i].tz;
        }
    }

    if (rp_sched_nzones == RP_TZ_CACHE) {
        return NULL;
    }

    z = &rp_sched_zones[rp_sched_nzones];

    if (gw_report_tz_load(&z->tz, name) != 0) {
        return NULL;
    }

    strcpy(z->name, name);
    rp_sched_nzones++;

    return &z->tz;
}
