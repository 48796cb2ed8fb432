
/*
 * Copyright (C) Tollgate
 *
 * The publish module's figures, appended to gw_metrics_endpoint's scrape
 * (ngx_http_gw_metrics_exporter()):
 *
 *   gw_publish_events_total{topic,outcome}  published (202), failed
 *                                  (503: Redis down, slow or refusing),
 *                                  refused (4xx: the request itself)
 *   gw_publish_stream_length{topic,partition}  entries in the partition's
 *                                  stream at the last check (XLEN)
 *   gw_publish_stream_maxlen{topic}  the cap of each of its streams
 *
 * The counters are atomic words in a small zone, "gw_publish", whose
 * size follows the topics: per topic, the three outcomes, then one
 * length per partition.  A reload that keeps the topics (names and
 * partitions, in order) keeps the counters; one that changes them
 * starts from zero.
 *
 * The lengths come from one worker (the first): every
 * gw_publish_check_interval it sends XLEN for each partition, one round
 * at a time, and logs a warning when a stream reaches 80% of its cap,
 * once per crossing (again only after it fell under 75%): past the cap,
 * XADD trims the oldest entries whether or not a consumer read them.
 */


#include "ngx_http_gw.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_publish.h"
#include "ngx_http_gw_redis.h"


/* one partition being checked */
typedef struct {
    ngx_http_gw_publish_topic_t      *topic;
    ngx_uint_t                        partition;
} ngx_http_gw_publish_part_t;


/* the checking worker's state */
typedef struct {
    ngx_event_t                       timer;
    ngx_http_gw_publish_main_conf_t  *conf;
    ngx_http_gw_publish_part_t       *parts;
    ngx_uint_t                        nparts;
    ngx_uint_t                        pending;     /* XLENs in flight */
} ngx_http_gw_publish_checker_t;


static ngx_int_t ngx_http_gw_publish_zone_init(ngx_shm_zone_t *zone,
    void *data);
static ngx_uint_t ngx_http_gw_publish_same(
    ngx_http_gw_publish_main_conf_t *a, ngx_http_gw_publish_main_conf_t *b);
static ngx_chain_t *ngx_http_gw_publish_export(ngx_http_request_t *r,
    void *data);
static void ngx_http_gw_publish_check_round(ngx_event_t *ev);
static void ngx_http_gw_publish_xlen(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply);


static ngx_http_gw_publish_checker_t  ngx_http_gw_publish_checker;

static const char  *ngx_http_gw_publish_outcomes[] = {
    "published", "failed", "refused"
};


/*
 * At configuration time, with the topics declared: the zone and the
 * exporter.
 */

ngx_int_t
ngx_http_gw_publish_metrics_init(ngx_conf_t *cf,
    ngx_http_gw_publish_main_conf_t *pmcf)
{
    size_t           size;
    ngx_str_t        name = ngx_string("gw_publish");
    ngx_shm_zone_t  *zone;

    size = 8 * ngx_pagesize
           + ngx_align(pmcf->nslots * sizeof(ngx_atomic_t), ngx_pagesize);

    zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_gw_publish_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    if (zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared zone \"%V\" is already used", &name);
        return NGX_ERROR;
    }

    zone->init = ngx_http_gw_publish_zone_init;
    zone->data = pmcf;
    pmcf->zone = zone;

    return ngx_http_gw_metrics_exporter(cf, ngx_http_gw_publish_export,
                                        pmcf);
}


/* in the master: the counters, kept from the old configuration when the
   topics are the same */

static ngx_int_t
ngx_http_gw_publish_zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_gw_publish_main_conf_t *opmcf = data;

    ngx_slab_pool_t                  *shpool;
    ngx_http_gw_publish_main_conf_t  *pmcf;

    pmcf = zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (opmcf != NULL && opmcf->counters != NULL) {
        if (ngx_http_gw_publish_same(pmcf, opmcf)) {
            pmcf->counters = opmcf->counters;
            return NGX_OK;
        }

        ngx_slab_free(shpool, (void *) opmcf->counters);
    }

    pmcf->counters = ngx_slab_calloc(shpool,
                                     pmcf->nslots * sizeof(ngx_atomic_t));
    if (pmcf->counters == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gw_publish_same(ngx_http_gw_publish_main_conf_t *a,
    ngx_http_gw_publish_main_conf_t *b)
{
    ngx_uint_t                    i;
    ngx_http_gw_publish_topic_t  *ta, *tb;

    if (a->topics.nelts != b->topics.nelts || a->nslots != b->nslots) {
        return 0;
    }

    ta = a->topics.elts;
    tb = b->topics.elts;

    for (i = 0; i < a->topics.nelts; i++) {
        if (ta[i].partitions != tb[i].partitions
            || ta[i].name.len != tb[i].name.len
            || ngx_strncmp(ta[i].name.data, tb[i].name.data, ta[i].name.len)
               != 0)
        {
            return 0;
        }
    }

    return 1;
}


/* one event of a topic: published, failed or refused */

void
ngx_http_gw_publish_count(ngx_http_gw_publish_topic_t *t, ngx_uint_t what)
{
    ngx_http_gw_publish_main_conf_t  *pmcf;

    pmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_gw_publish_module);

    if (pmcf == NULL || pmcf->counters == NULL) {
        return;
    }

    (void) ngx_atomic_fetch_add(&pmcf->counters[t->slot + what], 1);
}


static ngx_chain_t *
ngx_http_gw_publish_export(ngx_http_request_t *r, void *data)
{
    ngx_http_gw_publish_main_conf_t *pmcf = data;

    u_char                       *p;
    size_t                        size, line;
    ngx_uint_t                    i, k, nparts;
    ngx_chain_t                  *cl;
    ngx_atomic_t                 *c;
    ngx_http_gw_publish_topic_t  *t;

    static const char  family[] =
        "# HELP gw_publish_events_total Events offered to gw_publish "
        "locations, by topic and outcome.\n"
        "# TYPE gw_publish_events_total counter\n";
    static const char  family_len[] =
        "# HELP gw_publish_stream_length Entries in a topic's partition "
        "stream at the last check.\n"
        "# TYPE gw_publish_stream_length gauge\n";
    static const char  family_max[] =
        "# HELP gw_publish_stream_maxlen The approximate cap of each of a "
        "topic's streams.\n"
        "# TYPE gw_publish_stream_maxlen gauge\n";

    if (pmcf->counters == NULL || pmcf->topics.nelts == 0) {
        return NULL;
    }

    t = pmcf->topics.elts;
    nparts = 0;

    for (i = 0; i < pmcf->topics.nelts; i++) {
        nparts += t[i].partitions;
    }

    line = sizeof("gw_publish_stream_length{topic=\"\",partition=\"\"} \n")
           + NGX_HTTP_GW_PUBLISH_NAME_MAX + 2 * NGX_ATOMIC_T_LEN;

    size = sizeof(family) + sizeof(family_len) + sizeof(family_max)
           + line * (pmcf->topics.nelts * (NGX_HTTP_GW_PUBLISH_COUNTERS + 1)
                     + nparts);

    cl = ngx_http_gw_metrics_chain(r, size);
    if (cl == NULL) {
        return NGX_CHAIN_ERROR;
    }

    c = pmcf->counters;
    p = cl->buf->last;

    p = ngx_cpymem(p, family, sizeof(family) - 1);

    for (i = 0; i < pmcf->topics.nelts; i++) {
        for (k = 0; k < NGX_HTTP_GW_PUBLISH_COUNTERS; k++) {
            p = ngx_sprintf(p, "gw_publish_events_total{topic=\"%V\","
                            "outcome=\"%s\"} %uA\n", &t[i].name,
                            ngx_http_gw_publish_outcomes[k],
                            c[t[i].slot + k]);
        }
    }

    p = ngx_cpymem(p, family_len, sizeof(family_len) - 1);

    for (i = 0; i < pmcf->topics.nelts; i++) {
        for (k = 0; k < t[i].partitions; k++) {
            p = ngx_sprintf(p, "gw_publish_stream_length{topic=\"%V\","
                            "partition=\"%ui\"} %uA\n", &t[i].name, k,
                            c[t[i].slot + NGX_HTTP_GW_PUBLISH_COUNTERS + k]);
        }
    }

    p = ngx_cpymem(p, family_max, sizeof(family_max) - 1);

    for (i = 0; i < pmcf->topics.nelts; i++) {
        p = ngx_sprintf(p, "gw_publish_stream_maxlen{topic=\"%V\"} %ui\n",
                        &t[i].name, t[i].maxlen);
    }

    cl->buf->last = p;

    return cl;
}


/* in every worker: the first one checks the lengths */

ngx_int_t
ngx_http_gw_publish_checks_start(ngx_cycle_t *cycle,
    ngx_http_gw_publish_main_conf_t *pmcf)
{
    ngx_uint_t                      i, k, n;
    ngx_http_gw_publish_topic_t    *t;
    ngx_http_gw_publish_checker_t  *ck;

    ck = &ngx_http_gw_publish_checker;

    ngx_memzero(ck, sizeof(ngx_http_gw_publish_checker_t));

    if ((ngx_process != NGX_PROCESS_WORKER
         && ngx_process != NGX_PROCESS_SINGLE)
        || ngx_worker != 0 || pmcf->interval == 0)
    {
        return NGX_OK;
    }

    t = pmcf->topics.elts;
    n = 0;

    for (i = 0; i < pmcf->topics.nelts; i++) {
        n += t[i].partitions;

        t[i].above = ngx_pcalloc(cycle->pool, t[i].partitions);
        if (t[i].above == NULL) {
            return NGX_ERROR;
        }
    }

    ck->parts = ngx_palloc(cycle->pool, n * sizeof(ngx_http_gw_publish_part_t));
    if (ck->parts == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < pmcf->topics.nelts; i++) {
        for (k = 0; k < t[i].partitions; k++) {
            ck->parts[n].topic = &t[i];
            ck->parts[n].partition = k;
            n++;
        }
    }

    ck->nparts = n;
    ck->conf = pmcf;
    ck->timer.handler = ngx_http_gw_publish_check_round;
    ck->timer.log = pmcf->log;
    ck->timer.data = pmcf;      /* not read: the checker is a static */
    ck->timer.cancelable = 1;

    /* a first look soon after start, then at the interval */
    ngx_add_timer(&ck->timer, ngx_min(pmcf->interval, 1000));

    return NGX_OK;
}


void
ngx_http_gw_publish_checks_stop(void)
{
    ngx_http_gw_publish_checker_t  *ck;

    ck = &ngx_http_gw_publish_checker;

    if (ck->timer.timer_set) {
        ngx_del_timer(&ck->timer);
    }

    ck->conf = NULL;
}


/* XLEN of every partition; a round still in flight skips this one */

static void
ngx_http_gw_publish_check_round(ngx_event_t *ev)
{
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_http_gw_publish_part_t     *pt;
    ngx_http_gw_publish_checker_t  *ck;
    const char                     *argv[2];
    size_t                          argvlen[2];

    ck = &ngx_http_gw_publish_checker;

    if (ck->conf == NULL || ngx_exiting) {
        return;
    }

    if (ck->pending == 0 && ngx_http_gw_redis_connected()) {

        for (i = 0; i < ck->nparts; i++) {
            pt = &ck->parts[i];

            argv[0] = "XLEN";
            argvlen[0] = 4;
            argv[1] = (const char *) pt->topic->streams[pt->partition].data;
            argvlen[1] = pt->topic->streams[pt->partition].len;

            rc = ngx_http_gw_redis_command(ngx_http_gw_publish_xlen, pt, 2,
                                           argv, argvlen);

            if (rc != NGX_OK) {
                break;
            }

            ck->pending++;
        }
    }

    ngx_add_timer(&ck->timer, ck->conf->interval);
}


/* one partition's length: the gauge, and the warning near the cap */

static void
ngx_http_gw_publish_xlen(ngx_http_request_t *r, void *data,
    ngx_http_gw_redis_status_e status, redisReply *reply)
{
    ngx_http_gw_publish_part_t *pt = data;

    ngx_uint_t                        len, max;
    ngx_http_gw_publish_topic_t      *t;
    ngx_http_gw_publish_checker_t    *ck;
    ngx_http_gw_publish_main_conf_t  *pmcf;

    ck = &ngx_http_gw_publish_checker;

    if (ck->pending) {
        ck->pending--;
    }

    pmcf = ck->conf;

    if (pmcf == NULL || status != NGX_HTTP_GW_REDIS_OK
        || reply->type != REDIS_REPLY_INTEGER || reply->integer < 0)
    {
        return;
    }

    t = pt->topic;
    len = (ngx_uint_t) reply->integer;
    max = t->maxlen;

    if (pmcf->counters != NULL) {
        pmcf->counters[t->slot + NGX_HTTP_GW_PUBLISH_COUNTERS
                       + pt->partition] = len;
    }

    if (!t->above[pt->partition]
        && len >= max / 100 * NGX_HTTP_GW_PUBLISH_WARN
                  + max % 100 * NGX_HTTP_GW_PUBLISH_WARN / 100)
    {
        t->above[pt->partition] = 1;

        ngx_log_error(NGX_LOG_WARN, pmcf->log, 0,
                      "gw_publish: topic \"%V\" partition %ui holds %ui "
                      "entries, %ui%% of its maxlen %ui: past the cap the "
                      "oldest entries are trimmed, read or not", &t->name,
                      pt->partition, len, (ngx_uint_t) NGX_HTTP_GW_PUBLISH_WARN,
                      max);

    } else if (t->above[pt->partition]
               && len < max / 100 * NGX_HTTP_GW_PUBLISH_REARM
                        + max % 100 * NGX_HTTP_GW_PUBLISH_REARM / 100)
    {
        t->above[pt->partition] = 0;

        ngx_log_error(NGX_LOG_NOTICE, pmcf->log, 0,
                      "gw_publish: topic \"%V\" partition %ui is back "
                      "under %ui%% of its maxlen (%ui entries)", &t->name,
                      pt->partition, (ngx_uint_t) NGX_HTTP_GW_PUBLISH_REARM,
                      len);
    }
}
