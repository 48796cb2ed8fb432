
/*
 * Copyright (C) Tollgate
 *
 * The Prometheus endpoint (gw_metrics_endpoint): sums every worker's
 * slice of the metrics zone and prints the text exposition format 0.0.4.
 *
 * A scrape must stay cheap however many routes there are, because it runs
 * on a worker that is also serving traffic: one linear pass adds the
 * slices up (no lock: each counter is read whole), then the lines are
 * written with copies of labels prepared at configuration time and a
 * plain integer formatter, into buffers nginx sends without blocking.
 * Series that are still zero are left out (Prometheus starts a series at
 * its first sample), except the gauges, so the size of a scrape follows
 * the traffic seen, not the configuration.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_metrics_int.h"


#define NGX_HTTP_GW_METRICS_CHUNK  (128 * 1024)
#define NGX_HTTP_GW_METRICS_LINE   512      /* the longest line, bytes */


typedef struct {
    ngx_http_request_t             *r;
    ngx_chain_t                    *out;
    ngx_chain_t                   **last;
    ngx_buf_t                      *b;
    ngx_uint_t                      failed;
} ngx_http_gw_metrics_writer_t;


static ngx_int_t ngx_http_gw_metrics_handler(ngx_http_request_t *r);
static u_char *ngx_http_gw_metrics_reserve(ngx_http_gw_metrics_writer_t *w);
static void ngx_http_gw_metrics_text(ngx_http_gw_metrics_writer_t *w,
    const char *text);
static u_char *ngx_http_gw_metrics_u64(u_char *p, uint64_t n);
static void ngx_http_gw_metrics_routes(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total);
static void ngx_http_gw_metrics_histograms(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total, const char *name, ngx_uint_t off);
static void ngx_http_gw_metrics_outcomes(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total);
static void ngx_http_gw_metrics_consumers(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total);
static void ngx_http_gw_metrics_globals(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total);
static void ngx_http_gw_metrics_exporters(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf);


static const char  *ngx_http_gw_metrics_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"
};

static const char  *ngx_http_gw_metrics_classes[] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "other"
};

static const char  *ngx_http_gw_metrics_auth_mechanisms[] = {
    "jwt", "key"
};

static const char  *ngx_http_gw_metrics_auth_outcomes[] = {
    "ok", "missing", "invalid", "forbidden", "unavailable"
};

static const char  *ngx_http_gw_metrics_limit_decisions[] = {
    "passed", "delayed", "rejected", "dry_run", "degraded", "zone_full"
};


ngx_int_t
ngx_http_gw_metrics_exporter(ngx_conf_t *cf,
    ngx_http_gw_metrics_export_pt export, void *data)
{
    ngx_http_gw_metrics_exporter_t   *e;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_metrics_module);

    e = ngx_array_push(&mmcf->exporters);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->export = export;
    e->data = data;

    return NGX_OK;
}


ngx_chain_t *
ngx_http_gw_metrics_chain(ngx_http_request_t *r, size_t size)
{
    ngx_chain_t  *cl;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NULL;
    }

    cl->buf = ngx_create_temp_buf(r->pool, size);
    if (cl->buf == NULL) {
        return NULL;
    }

    cl->next = NULL;

    return cl;
}


char *
ngx_http_gw_metrics_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t         *clcf;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_gw_metrics_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_gw_metrics_handler;

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_metrics_module);
    mmcf->endpoint = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_metrics_handler(ngx_http_request_t *r)
{
    off_t                             len;
    size_t                            n;
    ngx_int_t                         rc;
    ngx_uint_t                        i, j;
    ngx_chain_t                      *cl;
    ngx_http_gw_metrics_writer_t      w;
    ngx_http_gw_metrics_counter_t    *total, *slice;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_metrics_module);

    if (mmcf->slices == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* this worker's Redis figures are as fresh as the scrape */

    ngx_http_gw_metrics_redis_refresh(mmcf);

    n = mmcf->slice_size;

    total = ngx_palloc(r->pool, n * sizeof(ngx_http_gw_metrics_counter_t));
    if (total == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(total, mmcf->slices, n * sizeof(ngx_http_gw_metrics_counter_t));

    for (i = 1; i < mmcf->nslices; i++) {
        slice = mmcf->slices + i * n;

        for (j = 0; j < n; j++) {
            total[j] += slice[j];
        }
    }

    ngx_memzero(&w, sizeof(ngx_http_gw_metrics_writer_t));
    w.r = r;
    w.last = &w.out;

    ngx_http_gw_metrics_routes(&w, mmcf, total);
    ngx_http_gw_metrics_histograms(&w, mmcf, total,
                                   "gw_http_request_duration_seconds",
                                   mmcf->layout.duration);
    ngx_http_gw_metrics_histograms(&w, mmcf, total,
                                   "gw_http_upstream_duration_seconds",
                                   mmcf->layout.upstream);
    ngx_http_gw_metrics_outcomes(&w, mmcf, total);
    ngx_http_gw_metrics_consumers(&w, mmcf, total);
    ngx_http_gw_metrics_globals(&w, mmcf, total);
    ngx_http_gw_metrics_exporters(&w, mmcf);

    if (w.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;

    for (cl = w.out; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    w.b->last_buf = (r == r->main) ? 1 : 0;
    w.b->last_in_chain = 1;

    return ngx_http_output_filter(r, w.out);
}


/* room for one line at the end of the output, or NULL (w->failed set) */

static u_char *
ngx_http_gw_metrics_reserve(ngx_http_gw_metrics_writer_t *w)
{
    ngx_chain_t  *cl;

    if (w->failed) {
        return NULL;
    }

    if (w->b != NULL && w->b->end - w->b->last >= NGX_HTTP_GW_METRICS_LINE) {
        return w->b->last;
    }

    cl = ngx_alloc_chain_link(w->r->pool);
    if (cl == NULL) {
        w->failed = 1;
        return NULL;
    }

    cl->buf = ngx_create_temp_buf(w->r->pool, NGX_HTTP_GW_METRICS_CHUNK);
    if (cl->buf == NULL) {
        w->failed = 1;
        return NULL;
    }

    cl->next = NULL;
    *w->last = cl;
    w->last = &cl->next;
    w->b = cl->buf;

    return w->b->last;
}


/* a fixed line (HELP and TYPE), shorter than a reserved line */

static void
ngx_http_gw_metrics_text(ngx_http_gw_metrics_writer_t *w, const char *text)
{
    u_char  *p;

    p = ngx_http_gw_metrics_reserve(w);
    if (p == NULL) {
        return;
    }

    w->b->last = ngx_cpymem(p, text, ngx_strlen(text));
}


static u_char *
ngx_http_gw_metrics_u64(u_char *p, uint64_t n)
{
    u_char   buf[NGX_INT64_LEN], *q;

    q = buf + NGX_INT64_LEN;

    do {
        *--q = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return ngx_cpymem(p, q, buf + NGX_INT64_LEN - q);
}


/* a label value from outside (consumer ids), escaped as the format asks */

static u_char *
ngx_http_gw_metrics_escape(u_char *p, u_char *s, size_t len)
{
    u_char  *last;

    for (last = s + len; s < last; s++) {
        if (*s == '\\' || *s == '"') {
            *p++ = '\\';
            *p++ = *s;

        } else if (*s == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = *s;
        }
    }

    return p;
}


static void
ngx_http_gw_metrics_routes(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total)
{
    u_char                         *p;
    ngx_uint_t                      i, m, s;
    ngx_http_gw_metrics_counter_t  *c;

    ngx_http_gw_metrics_text(w,
        "# HELP gw_http_requests_total Requests answered, by route, method "
        "and status class.\n"
        "# TYPE gw_http_requests_total counter\n");

    for (i = 0; i < mmcf->routes.nelts; i++) {
        c = total + NGX_HTTP_GW_METRICS_GLOBAL + i * mmcf->layout.size
            + mmcf->layout.requests;

        for (m = 0; m < NGX_HTTP_GW_METRICS_METHODS; m++) {
            for (s = 0; s < NGX_HTTP_GW_METRICS_CLASSES; s++) {

                if (c[m * NGX_HTTP_GW_METRICS_CLASSES + s] == 0) {
                    continue;
                }

                p = ngx_http_gw_metrics_reserve(w);
                if (p == NULL) {
                    return;
                }

                p = ngx_sprintf(p, "gw_http_requests_total{%V,method=\"%s\","
                                "status=\"%s\"} ", &mmcf->labels[i],
                                ngx_http_gw_metrics_methods[m],
                                ngx_http_gw_metrics_classes[s]);
                p = ngx_http_gw_metrics_u64(p,
                                       c[m * NGX_HTTP_GW_METRICS_CLASSES + s]);
                *p++ = '\n';
                w->b->last = p;
            }
        }
    }
}


static void
ngx_http_gw_metrics_histograms(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total, const char *name, ngx_uint_t off)
{
    u_char                         *p;
    size_t                          len;
    uint64_t                        cum, sum;
    ngx_uint_t                      i, b, n;
    ngx_http_gw_metrics_counter_t  *h;

    len = ngx_strlen(name);
    n = mmcf->nbuckets;

    p = ngx_http_gw_metrics_reserve(w);
    if (p == NULL) {
        return;
    }

    w->b->last = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s histogram\n",
                             name,
                             off == mmcf->layout.duration
                             ? "Time from the request's first byte to its "
                               "logging, by route."
                             : "Time spent on the upstream, all tries "
                               "added, by route.",
                             name);

    for (i = 0; i < mmcf->routes.nelts; i++) {
        h = total + NGX_HTTP_GW_METRICS_GLOBAL + i * mmcf->layout.size + off;

        /* the count is the buckets' sum: consistent whatever a worker
         * was writing when the slices were read */

        cum = 0;

        for (b = 0; b <= n; b++) {
            cum += h[b];
        }

        if (cum == 0) {
            continue;
        }

        cum = 0;

        for (b = 0; b <= n; b++) {
            cum += h[b];

            p = ngx_http_gw_metrics_reserve(w);
            if (p == NULL) {
                return;
            }

            p = ngx_cpymem(p, name, len);
            p = ngx_cpymem(p, "_bucket{", sizeof("_bucket{") - 1);
            p = ngx_cpymem(p, mmcf->labels[i].data, mmcf->labels[i].len);
            *p++ = ',';
            p = ngx_cpymem(p, mmcf->le[b].data, mmcf->le[b].len);
            *p++ = '}';
            *p++ = ' ';
            p = ngx_http_gw_metrics_u64(p, cum);
            *p++ = '\n';
            w->b->last = p;
        }

        p = ngx_http_gw_metrics_reserve(w);
        if (p == NULL) {
            return;
        }

        sum = h[n + 1];

        p = ngx_cpymem(p, name, len);
        p = ngx_cpymem(p, "_sum{", sizeof("_sum{") - 1);
        p = ngx_cpymem(p, mmcf->labels[i].data, mmcf->labels[i].len);
        p = ngx_sprintf(p, "} %uL.%03uL\n", sum / 1000, sum % 1000);
        p = ngx_cpymem(p, name, len);
        p = ngx_cpymem(p, "_count{", sizeof("_count{") - 1);
        p = ngx_cpymem(p, mmcf->labels[i].data, mmcf->labels[i].len);
        *p++ = '}';
        *p++ = ' ';
        p = ngx_http_gw_metrics_u64(p, cum);
        *p++ = '\n';
        w->b->last = p;
    }
}


/* what features reported: authentication, limits, validation */

static void
ngx_http_gw_metrics_outcomes(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total)
{
    u_char                         *p;
    ngx_uint_t                      i, m, o;
    ngx_http_gw_metrics_counter_t  *c, *route;

    ngx_http_gw_metrics_text(w,
        "# HELP gw_auth_decisions_total Authentication decisions, by route, "
        "mechanism and outcome.\n"
        "# TYPE gw_auth_decisions_total counter\n");

    for (i = 0; i < mmcf->routes.nelts; i++) {
        c = total + NGX_HTTP_GW_METRICS_GLOBAL + i * mmcf->layout.size
            + mmcf->layout.auth;

        for (m = 0; m < NGX_HTTP_GW_AUTH_MECHANISMS; m++) {
            for (o = 0; o < NGX_HTTP_GW_AUTH_OUTCOMES; o++) {

                if (c[m * NGX_HTTP_GW_AUTH_OUTCOMES + o] == 0) {
                    continue;
                }

                p = ngx_http_gw_metrics_reserve(w);
                if (p == NULL) {
                    return;
                }

                p = ngx_sprintf(p, "gw_auth_decisions_total{%V,"
                                "mechanism=\"%s\",outcome=\"%s\"} ",
                                &mmcf->labels[i],
                                ngx_http_gw_metrics_auth_mechanisms[m],
                                ngx_http_gw_metrics_auth_outcomes[o]);
                p = ngx_http_gw_metrics_u64(p,
                                        c[m * NGX_HTTP_GW_AUTH_OUTCOMES + o]);
                *p++ = '\n';
                w->b->last = p;
            }
        }
    }

    ngx_http_gw_metrics_text(w,
        "# HELP gw_limit_decisions_total Rate-limit decisions, by route and "
        "decision.\n"
        "# TYPE gw_limit_decisions_total counter\n");

    for (i = 0; i < mmcf->routes.nelts; i++) {
        c = total + NGX_HTTP_GW_METRICS_GLOBAL + i * mmcf->layout.size
            + mmcf->layout.limit;

        for (o = 0; o < NGX_HTTP_GW_METRICS_LIMIT_DECISIONS; o++) {

            if (c[o] == 0) {
                continue;
            }

            p = ngx_http_gw_metrics_reserve(w);
            if (p == NULL) {
                return;
            }

            p = ngx_sprintf(p, "gw_limit_decisions_total{%V,decision=\"%s\"} ",
                            &mmcf->labels[i],
                            ngx_http_gw_metrics_limit_decisions[o]);
            p = ngx_http_gw_metrics_u64(p, c[o]);
            *p++ = '\n';
            w->b->last = p;
        }
    }

    ngx_http_gw_metrics_text(w,
        "# HELP gw_validation_failures_total Requests that failed "
        "validation, by route.\n"
        "# TYPE gw_validation_failures_total counter\n");

    for (i = 0; i < mmcf->routes.nelts; i++) {
        route = total + NGX_HTTP_GW_METRICS_GLOBAL + i * mmcf->layout.size;

        if (route[mmcf->layout.validation] == 0) {
            continue;
        }

        p = ngx_http_gw_metrics_reserve(w);
        if (p == NULL) {
            return;
        }

        p = ngx_sprintf(p, "gw_validation_failures_total{%V} ",
                        &mmcf->labels[i]);
        p = ngx_http_gw_metrics_u64(p, route[mmcf->layout.validation]);
        *p++ = '\n';
        w->b->last = p;
    }
}


static void
ngx_http_gw_metrics_consumers(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total)
{
    u_char                          *p;
    ngx_uint_t                       i, s, n;
    ngx_http_gw_metrics_counter_t   *c;
    ngx_http_gw_metrics_consumer_t  *e;

    if (mmcf->max_consumers == 0) {
        return;
    }

    ngx_http_gw_metrics_text(w,
        "# HELP gw_consumer_requests_total Requests of authenticated "
        "consumers, by status class; \"other\" past gw_metrics_consumers.\n"
        "# TYPE gw_consumer_requests_total counter\n");

    n = mmcf->sh->nconsumers;

    for (i = 0; i <= mmcf->max_consumers; i++) {

        if (i == n) {
            i = mmcf->max_consumers;      /* the "other" bucket */
        }

        c = ngx_http_gw_metrics_consumer_block(mmcf, total, i);
        e = (i < mmcf->max_consumers) ? &mmcf->consumers[i] : NULL;

        if (e != NULL && e->len == 0) {
            continue;
        }

        for (s = 0; s < NGX_HTTP_GW_METRICS_CLASSES; s++) {

            if (c[s] == 0) {
                continue;
            }

            p = ngx_http_gw_metrics_reserve(w);
            if (p == NULL) {
                return;
            }

            p = ngx_cpymem(p, "gw_consumer_requests_total{consumer=\"",
                           sizeof("gw_consumer_requests_total{consumer=\"")
                           - 1);

            if (e != NULL) {
                p = ngx_http_gw_metrics_escape(p, e->id, e->len);

            } else {
                p = ngx_cpymem(p, "other", 5);
            }

            p = ngx_sprintf(p, "\",status=\"%s\"} ",
                            ngx_http_gw_metrics_classes[s]);
            p = ngx_http_gw_metrics_u64(p, c[s]);
            *p++ = '\n';
            w->b->last = p;
        }
    }
}


static void
ngx_http_gw_metrics_globals(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_gw_metrics_counter_t *total)
{
    u_char                         *p;
    ngx_uint_t                      i;
    ngx_http_gw_metrics_counter_t  *slice;

    p = ngx_http_gw_metrics_reserve(w);
    if (p == NULL) {
        return;
    }

    w->b->last = ngx_sprintf(p,
        "# HELP gw_audit_dropped_total Audit events dropped because the "
        "audit queue was full.\n"
        "# TYPE gw_audit_dropped_total counter\n"
        "gw_audit_dropped_total %uL\n"
        "# HELP gw_metrics_workers Worker slices in the metrics zone.\n"
        "# TYPE gw_metrics_workers gauge\n"
        "gw_metrics_workers %ui\n",
        total[NGX_HTTP_GW_METRICS_AUDIT_DROPPED], mmcf->nslices);

    if (!mmcf->redis) {
        return;
    }

    ngx_http_gw_metrics_text(w,
        "# HELP gw_redis_connected Whether the worker's Redis command "
        "connection is up.\n"
        "# TYPE gw_redis_connected gauge\n");

    for (i = 0; i < mmcf->nslices; i++) {
        slice = mmcf->slices + i * mmcf->slice_size;

        p = ngx_http_gw_metrics_reserve(w);
        if (p == NULL) {
            return;
        }

        w->b->last = ngx_sprintf(p, "gw_redis_connected{worker=\"%ui\"} %uL\n",
                                 i, slice[NGX_HTTP_GW_METRICS_REDIS_CONNECTED]);
    }

    p = ngx_http_gw_metrics_reserve(w);
    if (p == NULL) {
        return;
    }

    w->b->last = ngx_sprintf(p,
        "# HELP gw_redis_in_flight Redis commands sent and not yet "
        "answered.\n"
        "# TYPE gw_redis_in_flight gauge\n"
        "gw_redis_in_flight %uL\n"
        "# HELP gw_redis_commands_total Redis commands sent.\n"
        "# TYPE gw_redis_commands_total counter\n"
        "gw_redis_commands_total %uL\n",
        total[NGX_HTTP_GW_METRICS_REDIS_IN_FLIGHT],
        total[NGX_HTTP_GW_METRICS_REDIS_COMMANDS]);

    p = ngx_http_gw_metrics_reserve(w);
    if (p == NULL) {
        return;
    }

    w->b->last = ngx_sprintf(p,
        "# HELP gw_redis_errors_total Redis commands that failed, by "
        "error.\n"
        "# TYPE gw_redis_errors_total counter\n"
        "gw_redis_errors_total{error=\"timeout\"} %uL\n"
        "gw_redis_errors_total{error=\"unavailable\"} %uL\n",
        total[NGX_HTTP_GW_METRICS_REDIS_TIMEOUTS],
        total[NGX_HTTP_GW_METRICS_REDIS_FAILED]);

    p = ngx_http_gw_metrics_reserve(w);
    if (p == NULL) {
        return;
    }

    w->b->last = ngx_sprintf(p,
        "# HELP gw_redis_reconnects_total Redis reconnections.\n"
        "# TYPE gw_redis_reconnects_total counter\n"
        "gw_redis_reconnects_total %uL\n"
        "# HELP gw_redis_outages_total Redis outages (one per incident "
        "and worker).\n"
        "# TYPE gw_redis_outages_total counter\n"
        "gw_redis_outages_total %uL\n",
        total[NGX_HTTP_GW_METRICS_REDIS_RECONNECTS],
        total[NGX_HTTP_GW_METRICS_REDIS_OUTAGES]);
}


/*
 * The features' own families (ngx_http_gw_metrics_exporter()), after
 * ours: each chain is appended whole, and the writer goes on after it
 * (its last buffer is the one the answer's last_buf goes on).
 */

static void
ngx_http_gw_metrics_exporters(ngx_http_gw_metrics_writer_t *w,
    ngx_http_gw_metrics_main_conf_t *mmcf)
{
    ngx_uint_t                       i;
    ngx_chain_t                     *cl;
    ngx_http_gw_metrics_exporter_t  *e;

    e = mmcf->exporters.elts;

    for (i = 0; i < mmcf->exporters.nelts && !w->failed; i++) {
        cl = e[i].export(w->r, e[i].data);

        if (cl == NGX_CHAIN_ERROR) {
            w->failed = 1;
            return;
        }

        if (cl == NULL) {
            continue;
        }

        *w->last = cl;

        while (cl->next != NULL) {
            cl = cl->next;
        }

        w->last = &cl->next;
        w->b = cl->buf;
    }
}
