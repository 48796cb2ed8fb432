
/*
 * Copyright (C) Tollgate
 *
 * Metrics in the Prometheus text exposition format (version 0.0.4):
 * counters, gauges and histograms with a fixed list of label names each,
 * registered before the loop starts and rendered on /metrics.
 *
 * A metric keeps its series (one per combination of label values) in a
 * list searched linearly: services have few series, and the list keeps
 * the rendering order stable.  The count of series is capped per metric,
 * so a label fed from a request (a route, never a raw path) cannot grow
 * memory without bound; what goes past the cap is counted, not kept.
 * The process is single-threaded, so updates take no lock.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "gw_svc_int.h"


typedef enum {
    GW_SVC_COUNTER = 0,
    GW_SVC_GAUGE,
    GW_SVC_HISTOGRAM
} gw_svc_metric_type_e;


typedef struct gw_svc_series_s  gw_svc_series_t;

struct gw_svc_series_s {
    gw_svc_series_t     *next;
    char                *values[GW_SVC_LABELS_MAX];
    double               value;        /* a histogram's sum */
    unsigned long long   count;        /* a histogram's count */
    unsigned long long  *buckets;      /* per bucket, not cumulative */
};


struct gw_svc_metric_s {
    gw_svc_metric_t       *next;
    gw_svc_t              *svc;
    gw_svc_metric_type_e   type;
    char                  *name;
    char                  *help;
    char                  *labels[GW_SVC_LABELS_MAX];
    size_t                 nlabels;
    double                *bounds;
    size_t                 nbounds;
    gw_svc_series_t       *series;
    gw_svc_series_t      **last;
    size_t                 nseries;
};


static gw_svc_metric_t *gw_svc_metric_new(gw_svc_t *svc,
    gw_svc_metric_type_e type, const char *name, const char *help,
    const char *const *labels, const double *buckets, size_t n);
static gw_svc_series_t *gw_svc_series_get(gw_svc_metric_t *m, va_list args);
static void gw_svc_metric_touch(gw_svc_metric_t *m, ...);
static void gw_svc_metric_free(gw_svc_metric_t *m);


static const double  gw_svc_default_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

static const char  *gw_svc_type_names[] = { "counter", "gauge", "histogram" };


static int
gw_svc_name_valid(const char *s, int colon)
{
    size_t  i;
    char    c;

    for (i = 0; s[i] != '\0'; i++) {
        c = s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
            || (colon && c == ':') || (i > 0 && c >= '0' && c <= '9'))
        {
            continue;
        }

        return 0;
    }

    return i > 0 && i <= 128;
}


static gw_svc_metric_t *
gw_svc_metric_new(gw_svc_t *svc, gw_svc_metric_type_e type, const char *name,
    const char *help, const char *const *labels, const double *buckets,
    size_t n)
{
    size_t            i;
    gw_svc_metric_t  *m, *o;

    for (o = svc->metrics; o != NULL; o = o->next) {
        if (strcmp(o->name, name) == 0) {
            gw_svc_set_error(svc, "metric %s registered twice", name);
            return NULL;
        }
    }

    if (!gw_svc_name_valid(name, 1)) {
        gw_svc_set_error(svc, "metric name \"%s\" is malformed", name);
        return NULL;
    }

    m = calloc(1, sizeof(gw_svc_metric_t));
    if (m == NULL) {
        goto nomem;
    }

    m->svc = svc;
    m->type = type;
    m->last = &m->series;
    m->name = strdup(name);
    m->help = strdup(help);

    if (m->name == NULL || m->help == NULL) {
        goto nomem;
    }

    for (i = 0; labels != NULL && labels[i] != NULL; i++) {
        if (i == GW_SVC_LABELS_MAX || !gw_svc_name_valid(labels[i], 0)
            || strncmp(labels[i], "__", 2) == 0
            || (type == GW_SVC_HISTOGRAM && strcmp(labels[i], "le") == 0))
        {
            gw_svc_set_error(svc, "metric %s: label \"%s\" is malformed or "
                             "one too many", name, labels[i]);
            gw_svc_metric_free(m);
            return NULL;
        }

        m->labels[i] = strdup(labels[i]);
        if (m->labels[i] == NULL) {
            goto nomem;
        }

        m->nlabels = i + 1;
    }

    if (type == GW_SVC_HISTOGRAM) {
        if (buckets == NULL) {
            buckets = gw_svc_default_buckets;
            n = sizeof(gw_svc_default_buckets) / sizeof(double);
        }

        for (i = 0; i < n; i++) {
            if (!isfinite(buckets[i])
                || (i > 0 && buckets[i] <= buckets[i - 1]))
            {
                gw_svc_set_error(svc, "metric %s: buckets must increase",
                                 name);
                gw_svc_metric_free(m);
                return NULL;
            }
        }

        m->bounds = malloc((n + 1) * sizeof(double));
        if (m->bounds == NULL) {
            goto nomem;
        }

        memcpy(m->bounds, buckets, n * sizeof(double));
        m->bounds[n] = INFINITY;
        m->nbounds = n + 1;
    }

    *svc->last_metric = m;
    svc->last_metric = &m->next;

    return m;

nomem:

    gw_svc_set_error(svc, "out of memory");
    gw_svc_metric_free(m);
    return NULL;
}


static void
gw_svc_metric_free(gw_svc_metric_t *m)
{
    size_t            i;
    gw_svc_series_t  *s, *next;

    if (m == NULL) {
        return;
    }

    for (s = m->series; s != NULL; s = next) {
        next = s->next;

        for (i = 0; i < m->nlabels; i++) {
            free(s->values[i]);
        }

        free(s->buckets);
        free(s);
    }

    for (i = 0; i < m->nlabels; i++) {
        free(m->labels[i]);
    }

    free(m->bounds);
    free(m->name);
    free(m->help);
    free(m);
}


gw_svc_metric_t *
gw_svc_counter(gw_svc_t *svc, const char *name, const char *help,
    const char *const *labels)
{
    return gw_svc_metric_new(svc, GW_SVC_COUNTER, name, help, labels, NULL,
                             0);
}


gw_svc_metric_t *
gw_svc_gauge(gw_svc_t *svc, const char *name, const char *help,
    const char *const *labels)
{
    return gw_svc_metric_new(svc, GW_SVC_GAUGE, name, help, labels, NULL, 0);
}


gw_svc_metric_t *
gw_svc_histogram(gw_svc_t *svc, const char *name, const char *help,
    const char *const *labels, const double *buckets, size_t n)
{
    return gw_svc_metric_new(svc, GW_SVC_HISTOGRAM, name, help, labels,
                             buckets, n);
}


/*
 * The series for the label values in args (m->nlabels strings; NULL is
 * taken as ""), created when new; NULL past the cap or out of memory,
 * counted as dropped.
 */

static gw_svc_series_t *
gw_svc_series_get(gw_svc_metric_t *m, va_list args)
{
    size_t            i;
    const char       *v[GW_SVC_LABELS_MAX];
    gw_svc_series_t  *s;

    for (i = 0; i < m->nlabels; i++) {
        v[i] = va_arg(args, const char *);

        if (v[i] == NULL) {
            v[i] = "";
        }
    }

    for (s = m->series; s != NULL; s = s->next) {
        for (i = 0; i < m->nlabels; i++) {
            if (strcmp(s->values[i], v[i]) != 0) {
                break;
            }
        }

        if (i == m->nlabels) {
            return s;
        }
    }

    if (m->nseries == GW_SVC_SERIES_MAX) {
        goto dropped;
    }

    s = calloc(1, sizeof(gw_svc_series_t));
    if (s == NULL) {
        goto dropped;
    }

    if (m->nbounds > 0) {
        s->buckets = calloc(m->nbounds, sizeof(unsigned long long));
        if (s->buckets == NULL) {
            free(s);
            goto dropped;
        }
    }

    for (i = 0; i < m->nlabels; i++) {
        s->values[i] = strdup(v[i]);

        if (s->values[i] == NULL) {
            while (i-- > 0) {
                free(s->values[i]);
            }

            free(s->buckets);
            free(s);
            goto dropped;
        }
    }

    *m->last = s;
    m->last = &s->next;
    m->nseries++;

    return s;

dropped:

    if (m != m->svc->m_dropped && m->svc->m_dropped != NULL) {
        gw_svc_metric_add(m->svc->m_dropped, 1);
    }

    return NULL;
}


/* creates the series without a value: for metrics without labels */

static void
gw_svc_metric_touch(gw_svc_metric_t *m, ...)
{
    va_list  args;

    va_start(args, m);
    (void) gw_svc_series_get(m, args);
    va_end(args);
}


void
gw_svc_metric_add(gw_svc_metric_t *m, double v, ...)
{
    va_list           args;
    gw_svc_series_t  *s;

    va_start(args, v);
    s = gw_svc_series_get(m, args);
    va_end(args);

    if (s != NULL) {
        s->value += v;
    }
}


void
gw_svc_metric_set(gw_svc_metric_t *m, double v, ...)
{
    va_list           args;
    gw_svc_series_t  *s;

    va_start(args, v);
    s = gw_svc_series_get(m, args);
    va_end(args);

    if (s != NULL) {
        s->value = v;
    }
}


void
gw_svc_metric_observe(gw_svc_metric_t *m, double v, ...)
{
    size_t            i;
    va_list           args;
    gw_svc_series_t  *s;

    if (m->type != GW_SVC_HISTOGRAM || isnan(v)) {
        return;
    }

    va_start(args, v);
    s = gw_svc_series_get(m, args);
    va_end(args);

    if (s == NULL) {
        return;
    }

    for (i = 0; i < m->nbounds - 1 && v > m->bounds[i]; i++) {
        /* void */
    }

    s->buckets[i]++;
    s->count++;
    s->value += v;
}


/* ---- rendering ----------------------------------------------------------- */


static void
gw_svc_render_double(struct evbuffer *out, double v)
{
    if (isnan(v)) {
        evbuffer_add(out, "NaN", 3);

    } else if (isinf(v)) {
        evbuffer_add_printf(out, "%sInf", v > 0 ? "+" : "-");

    } else {
        evbuffer_add_printf(out, "%.15g", v);
    }
}


/* help text: backslash and newline escaped */

static void
gw_svc_render_help(struct evbuffer *out, const char *s)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if (*s == '\\') {
            evbuffer_add(out, "\\\\", 2);

        } else if (*s == '\n') {
            evbuffer_add(out, "\\n", 2);

        } else {
            evbuffer_add(out, s, 1);
        }
    }
}


/* a label value: backslash, double quote and newline escaped */

static void
gw_svc_render_value(struct evbuffer *out, const char *s)
{
    for ( /* void */ ; *s != '\0'; s++) {
        if (*s == '"') {
            evbuffer_add(out, "\\\"", 2);

        } else if (*s == '\\') {
            evbuffer_add(out, "\\\\", 2);

        } else if (*s == '\n') {
            evbuffer_add(out, "\\n", 2);

        } else {
            evbuffer_add(out, s, 1);
        }
    }
}


/* "{a="x",b="y",le="0.5"}", or nothing when there is no label */

static void
gw_svc_render_labels(struct evbuffer *out, gw_svc_metric_t *m,
    gw_svc_series_t *s, const double *le)
{
    size_t  i;

    if (m->nlabels == 0 && le == NULL) {
        return;
    }

    evbuffer_add(out, "{", 1);

    for (i = 0; i < m->nlabels; i++) {
        evbuffer_add_printf(out, "%s%s=\"", i > 0 ? "," : "", m->labels[i]);
        gw_svc_render_value(out, s->values[i]);
        evbuffer_add(out, "\"", 1);
    }

    if (le != NULL) {
        evbuffer_add_printf(out, "%sle=\"", m->nlabels > 0 ? "," : "");
        gw_svc_render_double(out, *le);
        evbuffer_add(out, "\"", 1);
    }

    evbuffer_add(out, "}", 1);
}


static void
gw_svc_render_series(struct evbuffer *out, gw_svc_metric_t *m,
    gw_svc_series_t *s)
{
    size_t              i;
    unsigned long long  cum;

    if (m->type != GW_SVC_HISTOGRAM) {
        evbuffer_add_printf(out, "%s", m->name);
        gw_svc_render_labels(out, m, s, NULL);
        evbuffer_add(out, " ", 1);
        gw_svc_render_double(out, s->value);
        evbuffer_add(out, "\n", 1);
        return;
    }

    cum = 0;

    for (i = 0; i < m->nbounds; i++) {
        cum += s->buckets[i];
        evbuffer_add_printf(out, "%s_bucket", m->name);
        gw_svc_render_labels(out, m, s, &m->bounds[i]);
        evbuffer_add_printf(out, " %llu\n", cum);
    }

    evbuffer_add_printf(out, "%s_sum", m->name);
    gw_svc_render_labels(out, m, s, NULL);
    evbuffer_add(out, " ", 1);
    gw_svc_render_double(out, s->value);
    evbuffer_add_printf(out, "\n%s_count", m->name);
    gw_svc_render_labels(out, m, s, NULL);
    evbuffer_add_printf(out, " %llu\n", s->count);
}


/*
 * Every metric in registration order; one without labels and without a
 * value yet is shown as 0, so that it exists from the first scrape.
 */

int
gw_svc_metrics_render(gw_svc_t *svc, struct evbuffer *out)
{
    gw_svc_metric_t  *m;
    gw_svc_series_t  *s;

    for (m = svc->metrics; m != NULL; m = m->next) {
        if (m->nlabels == 0 && m->series == NULL) {
            gw_svc_metric_touch(m);
        }

        evbuffer_add_printf(out, "# HELP %s ", m->name);
        gw_svc_render_help(out, m->help);
        evbuffer_add_printf(out, "\n# TYPE %s %s\n", m->name,
                            gw_svc_type_names[m->type]);

        for (s = m->series; s != NULL; s = s->next) {
            gw_svc_render_series(out, m, s);
        }
    }

    return 0;
}


/* the kit's own metrics (docs/service-kit.md) */

int
gw_svc_metrics_init(gw_svc_t *svc)
{
    static const char  *route_labels[] = { "route", "method", "status",
                                           NULL };
    static const char  *duration_labels[] = { "route", NULL };
    static const char  *result_labels[] = { "result", NULL };

    svc->last_metric = &svc->metrics;

    svc->m_requests = gw_svc_counter(svc, "gw_http_requests_total",
        "HTTP requests answered, by route, method and status class",
        route_labels);
    svc->m_duration = gw_svc_histogram(svc,
        "gw_http_request_duration_seconds",
        "Time from a request's arrival to its answer, by route",
        duration_labels, NULL, 0);
    svc->m_in_flight = gw_svc_gauge(svc, "gw_http_requests_in_flight",
        "Requests received and not answered yet", NULL);
    svc->m_redis_up = gw_svc_gauge(svc, "gw_redis_up",
        "1 when the Redis connection is up and answers, else 0", NULL);
    svc->m_redis_connects = gw_svc_counter(svc, "gw_redis_connects_total",
        "Redis connection attempts, by result", result_labels);
    svc->m_dropped = gw_svc_counter(svc,
        "gw_metrics_series_dropped_total",
        "Metric updates dropped: too many series or out of memory", NULL);
    svc->m_nodelay = gw_svc_counter(svc, "gw_http_tcp_nodelay_total",
        "Accepted TCP connections set to TCP_NODELAY", NULL);

    if (svc->m_requests == NULL || svc->m_duration == NULL
        || svc->m_in_flight == NULL || svc->m_redis_up == NULL
        || svc->m_redis_connects == NULL || svc->m_dropped == NULL
        || svc->m_nodelay == NULL)
    {
        return -1;
    }

    return 0;
}


void
gw_svc_metrics_free(gw_svc_t *svc)
{
    gw_svc_metric_t  *m, *next;

    for (m = svc->metrics; m != NULL; m = next) {
        next = m->next;
        gw_svc_metric_free(m);
    }

    svc->metrics = NULL;
    svc->last_metric = &svc->metrics;
}
