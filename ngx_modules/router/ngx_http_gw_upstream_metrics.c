
/*
 * Copyright (C) Tollgate
 *
 * gw_upstream's metrics, appended to gw_metrics_endpoint's scrape
 * (ngx_http_gw_metrics_exporter()), for the targets of the snapshot the
 * scrape pins:
 *
 *   gw_upstream_target_up{upstream,target}           1 up, 0 out
 *   gw_upstream_target_connections{upstream,target}  requests in flight
 *   gw_upstream_target_failures_total{upstream,target} failed tries
 *
 * "up" and "connections" come from the health slots.  Failures are a
 * counter that must outlive a slot's reuse, so they are kept in a small
 * zone of this module ("gw_upstream", made by the first gw_upstream): an
 * open-addressed table by the hash of "<upstream id> NUL <address>",
 * claimed with one compare-and-swap; a target removed and added again
 * goes on counting, as a Prometheus counter should.  A full table
 * (NGX_HTTP_GW_UPSTREAM_STATS targets) counts no new target.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_upstream.h"


#define NGX_HTTP_GW_UPSTREAM_STATS   8192       /* targets, a power of 2 */
#define NGX_HTTP_GW_UPSTREAM_PROBES  32


typedef struct {
    ngx_atomic_t                key;            /* 0: free */
    ngx_atomic_t                failures;
} ngx_http_gw_upstream_stat_t;


static ngx_int_t ngx_http_gw_upstream_stats_init(ngx_shm_zone_t *zone,
    void *data);
static ngx_http_gw_upstream_stat_t *ngx_http_gw_upstream_stat(
    ngx_http_gw_snap_t *snap, ngx_http_gw_snap_upstream_t *up,
    ngx_http_gw_snap_target_t *t, ngx_uint_t claim);
static ngx_chain_t *ngx_http_gw_upstream_export(ngx_http_request_t *r,
    void *data);


static ngx_http_gw_upstream_stat_t  *ngx_http_gw_upstream_stats;


ngx_int_t
ngx_http_gw_upstream_metrics_conf(ngx_conf_t *cf,
    ngx_http_gw_upstream_main_conf_t *umcf)
{
    ngx_str_t        name = ngx_string("gw_upstream");
    ngx_shm_zone_t  *zone;

    if (umcf->zone != NULL) {
        return NGX_OK;
    }

    zone = ngx_shared_memory_add(cf, &name,
                                 NGX_HTTP_GW_UPSTREAM_STATS
                                 * sizeof(ngx_http_gw_upstream_stat_t)
                                 + 8 * ngx_pagesize,
                                 &ngx_http_gw_upstream_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_gw_upstream_stats_init;
    zone->data = umcf;
    umcf->zone = zone;

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_upstream_metrics_init(ngx_conf_t *cf,
    ngx_http_gw_upstream_main_conf_t *umcf)
{
    return ngx_http_gw_metrics_exporter(cf, ngx_http_gw_upstream_export,
                                        umcf);
}


static ngx_int_t
ngx_http_gw_upstream_stats_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (data != NULL) {
        /* a reload: the counters go on */
        ngx_http_gw_upstream_stats = shpool->data;
        return NGX_OK;
    }

    if (zone->shm.exists) {
        ngx_http_gw_upstream_stats = shpool->data;
        return NGX_OK;
    }

    ngx_http_gw_upstream_stats = ngx_slab_calloc(shpool,
                                     NGX_HTTP_GW_UPSTREAM_STATS
                                     * sizeof(ngx_http_gw_upstream_stat_t));
    if (ngx_http_gw_upstream_stats == NULL) {
        return NGX_ERROR;
    }

    shpool->data = ngx_http_gw_upstream_stats;

    return NGX_OK;
}


/* the counters of t, claimed when claim is set; NULL: none (full) */
static ngx_http_gw_upstream_stat_t *
ngx_http_gw_upstream_stat(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t,
    ngx_uint_t claim)
{
    uint64_t                      key;
    ngx_uint_t                    i, k;
    const u_char                 *p, *last;
    ngx_http_gw_upstream_stat_t  *e;

    if (ngx_http_gw_upstream_stats == NULL) {
        return NULL;
    }

    /* FNV-1a of "<upstream id> NUL <address>" */
    key = 0xcbf29ce484222325ULL;

    p = (const u_char *) ngx_http_gw_snap_string(snap, up->id);

    for (last = p + up->id.len + 1; p < last; p++) {
        key = (key ^ *p) * 0x100000001b3ULL;
    }

    p = (const u_char *) ngx_http_gw_snap_string(snap, t->address);

    for (last = p + t->address.len; p < last; p++) {
        key = (key ^ *p) * 0x100000001b3ULL;
    }

    key = (ngx_atomic_uint_t) key;
    key = (key != 0) ? key : 1;

    i = (ngx_uint_t) (key ^ (key >> 29));

    for (k = 0; k < NGX_HTTP_GW_UPSTREAM_PROBES; k++) {
        e = &ngx_http_gw_upstream_stats[(i + k)
                                       & (NGX_HTTP_GW_UPSTREAM_STATS - 1)];

        if (e->key == key) {
            return e;
        }

        if (e->key == 0) {
            if (!claim) {
                return NULL;
            }

            if (ngx_atomic_cmp_set(&e->key, 0, (ngx_atomic_uint_t) key)
                || e->key == key)
            {
                return e;
            }
        }
    }

    return NULL;
}


void
ngx_http_gw_upstream_metrics_fail(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_http_gw_snap_target_t *t)
{
    ngx_http_gw_upstream_stat_t  *e;

    e = ngx_http_gw_upstream_stat(snap, up, t, 1);

    if (e != NULL) {
        (void) ngx_atomic_fetch_add(&e->failures, 1);
    }
}


/* writes s as a label value: \, " and newline escaped */
static u_char *
ngx_http_gw_upstream_label(u_char *p, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\\' || s[i] == '"') {
            *p++ = '\\';
            *p++ = s[i];

        } else if (s[i] == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = s[i];
        }
    }

    return p;
}


static ngx_chain_t *
ngx_http_gw_upstream_export(ngx_http_request_t *r, void *data)
{
    u_char                       *p;
    size_t                        size, line;
    ngx_buf_t                    *b;
    ngx_uint_t                    i, j, k;
    ngx_msec_t                    now;
    ngx_chain_t                  *cl;
    ngx_atomic_uint_t             v;
    ngx_http_gw_snap_t           *snap;
    ngx_http_gw_snap_health_t    *h;
    ngx_http_gw_snap_target_t    *targets;
    ngx_http_gw_snap_upstream_t  *ups, *up;
    ngx_http_gw_upstream_stat_t  *e;

    static const char  *family[] = {
        "# HELP gw_upstream_target_up Whether a target of an admin API "
        "upstream is up (1) or taken out by its health (0).\n"
        "# TYPE gw_upstream_target_up gauge\n",
        "# HELP gw_upstream_target_connections Requests in flight to a "
        "target, all workers.\n"
        "# TYPE gw_upstream_target_connections gauge\n",
        "# HELP gw_upstream_target_failures_total Failed tries of a target "
        "(connection errors, timeouts, proxy_next_upstream statuses).\n"
        "# TYPE gw_upstream_target_failures_total counter\n"
    };

    static const char  *metric[] = {
        "gw_upstream_target_up",
        "gw_upstream_target_connections",
        "gw_upstream_target_failures_total"
    };

    snap = ngx_http_gw_snapshot_get(r);
    if (snap == NULL || snap->nupstreams == 0) {
        return NULL;
    }

    ups = ngx_http_gw_snap_upstreams(snap);

    /* the longest sample line: every byte of both labels escaped */
    size = 0;

    for (i = 0; i < snap->nupstreams; i++) {
        targets = ngx_http_gw_snap_ptr(snap, ups[i].targets);

        for (j = 0; j < ups[i].ntargets; j++) {
            line = sizeof("gw_upstream_target_failures_total{upstream=\"\","
                          "target=\"\"} \n") - 1
                   + 2 * (ups[i].id.len + targets[j].address.len)
                   + NGX_ATOMIC_T_LEN;
            size += line;
        }
    }

    size = 3 * size + ngx_strlen(family[0]) + ngx_strlen(family[1])
           + ngx_strlen(family[2]);

    cl = ngx_http_gw_metrics_chain(r, size);
    if (cl == NULL) {
        return NGX_CHAIN_ERROR;
    }

    b = cl->buf;

    p = b->last;
    now = ngx_current_msec;

    for (k = 0; k < 3; k++) {
        p = ngx_cpymem(p, family[k], ngx_strlen(family[k]));

        for (i = 0; i < snap->nupstreams; i++) {
            up = &ups[i];
            targets = ngx_http_gw_snap_ptr(snap, up->targets);

            for (j = 0; j < up->ntargets; j++) {
                h = ngx_http_gw_snapshot_health(snap, &targets[j]);

                switch (k) {

                case 0:
                    v = ngx_http_gw_upstream_target_up(up, h, now);
                    break;

                case 1:
                    v = h->conns;
                    break;

                default:
                    e = ngx_http_gw_upstream_stat(snap, up, &targets[j], 0);
                    v = (e != NULL) ? e->failures : 0;
                    break;
                }

                p = ngx_sprintf(p, "%s{upstream=\"", metric[k]);
                p = ngx_http_gw_upstream_label(p,
                        ngx_http_gw_snap_string(snap, up->id), up->id.len);
                p = ngx_cpymem(p, "\",target=\"", 10);
                p = ngx_http_gw_upstream_label(p,
                        ngx_http_gw_snap_string(snap, targets[j].address),
                        targets[j].address.len);
                p = ngx_sprintf(p, "\"} %uA\n", v);
            }
        }
    }

    b->last = p;

    return cl;
}
