
/*
 * Copyright (C) Tollgate
 *
 * Prometheus metrics that stay cheap.  Counting happens in the log phase
 * (requests, latency histograms) and in the calls other features make
 * where they decide (ngx_http_gw_metrics.h): each is a few plain
 * increments in this worker's own slice of the metrics zone, with no lock
 * and no atomic operation, and no lookup: a route is an index fixed at
 * configuration time (gw_route), never a URI.  The scrape
 * (ngx_http_gw_metrics_export.c) sums the slices.
 *
 * The zone is never reused across reloads (noreuse): the new workers get
 * a fresh zone laid out for the new routes and worker count, while old
 * workers finish in the old one.  Counters so start from zero after a
 * reload, which Prometheus reads as a counter reset.
 *
 * Consumer labels are opt-in: the first gw_metrics_consumers consumer ids
 * seen get their own series, later ones count as "other".  The id table is
 * shared; a lookup reads it without a lock (entries are published after
 * they are written and never change), only adding an id takes the zone's
 * mutex.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_redis.h"
#include "ngx_http_gw_metrics_int.h"


#define NGX_HTTP_GW_METRICS_REDIS_INTERVAL  1000    /* milliseconds */


/* what a request reported, for the variables */
typedef struct {
    ngx_uint_t                       auth;      /* mechanism + 1, or 0 */
    ngx_uint_t                       outcome;
} ngx_http_gw_metrics_ctx_t;


static ngx_int_t ngx_http_gw_metrics_log_handler(ngx_http_request_t *r);
static void ngx_http_gw_metrics_observe(ngx_http_gw_metrics_counter_t *h,
    ngx_msec_int_t ms);
static ngx_int_t ngx_http_gw_metrics_consumer(
    ngx_http_gw_metrics_main_conf_t *mmcf, ngx_http_request_t *r);
static ngx_http_gw_metrics_counter_t *ngx_http_gw_metrics_route(
    ngx_http_request_t *r, ngx_http_gw_metrics_ctx_t **ctxp);
static void ngx_http_gw_metrics_redis_timer(ngx_event_t *ev);
static ngx_int_t ngx_http_gw_metrics_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gw_metrics_add_variables(ngx_conf_t *cf);
static void *ngx_http_gw_metrics_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gw_metrics_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gw_metrics_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gw_metrics_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_metrics_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gw_metrics_commands[] = {

    { ngx_string("gw_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_metrics"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gw_metrics_loc_conf_t, enabled),
      NULL },

    { ngx_string("gw_route"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_route,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_metrics_buckets"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_gw_metrics_buckets,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_metrics_consumers"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_metrics_main_conf_t, max_consumers),
      NULL },

    { ngx_string("gw_metrics_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gw_metrics_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_metrics_module_ctx = {
    ngx_http_gw_metrics_add_variables,     /* preconfiguration */
    ngx_http_gw_metrics_init,              /* postconfiguration */

    ngx_http_gw_metrics_create_main_conf,  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gw_metrics_create_loc_conf,   /* create location configuration */
    ngx_http_gw_metrics_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_gw_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_metrics_module_ctx,       /* module context */
    ngx_http_gw_metrics_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_metrics_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_gw_metrics_mechanisms[] = {
    ngx_string("jwt"), ngx_string("key")
};

static ngx_str_t  ngx_http_gw_metrics_outcomes[] = {
    ngx_string("ok"), ngx_string("missing"), ngx_string("invalid"),
    ngx_string("forbidden"), ngx_string("unavailable")
};

#define NGX_HTTP_GW_METRICS_VAR_ROUTE      0
#define NGX_HTTP_GW_METRICS_VAR_MECHANISM  1
#define NGX_HTTP_GW_METRICS_VAR_OUTCOME    2


static ngx_http_variable_t  ngx_http_gw_metrics_vars[] = {

    { ngx_string("gw_route"), NULL, ngx_http_gw_metrics_variable,
      NGX_HTTP_GW_METRICS_VAR_ROUTE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_auth_mechanism"), NULL, ngx_http_gw_metrics_variable,
      NGX_HTTP_GW_METRICS_VAR_MECHANISM, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_auth_outcome"), NULL, ngx_http_gw_metrics_variable,
      NGX_HTTP_GW_METRICS_VAR_OUTCOME, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_status"), NULL, ngx_http_gw_status_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gw_log_json"), NULL, ngx_http_gw_log_json_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* this worker's slice; NULL without a zone, or outside a worker */
static ngx_http_gw_metrics_counter_t  *ngx_http_gw_metrics_slice;
static ngx_http_gw_metrics_main_conf_t  *ngx_http_gw_metrics_conf;
static ngx_event_t  ngx_http_gw_metrics_redis_event;


/*
 * The log phase: one request of a counted location, by route, method and
 * status class, its duration, and the time its upstream took (the sum
 * over every upstream tried, as $upstream_response_time lists them).
 */

static ngx_int_t
ngx_http_gw_metrics_log_handler(ngx_http_request_t *r)
{
    ngx_int_t                         k;
    ngx_uint_t                        i, m, s, up;
    ngx_time_t                       *tp;
    ngx_msec_int_t                    ms, ums;
    ngx_http_upstream_state_t        *state;
    ngx_http_gw_metrics_counter_t    *c, *slice;
    ngx_http_gw_metrics_loc_conf_t   *mlcf;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    slice = ngx_http_gw_metrics_slice;

    /* subrequests log only with log_subrequest, and are never counted */

    if (slice == NULL || r != r->main) {
        return NGX_OK;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_metrics_module);

    if (!mlcf->enabled) {
        return NGX_OK;
    }

    mmcf = ngx_http_gw_metrics_conf;
    c = slice + NGX_HTTP_GW_METRICS_GLOBAL + mlcf->route * mmcf->layout.size;

    switch (r->method) {
    case NGX_HTTP_GET:     m = 0; break;
    case NGX_HTTP_HEAD:    m = 1; break;
    case NGX_HTTP_POST:    m = 2; break;
    case NGX_HTTP_PUT:     m = 3; break;
    case NGX_HTTP_DELETE:  m = 4; break;
    case NGX_HTTP_PATCH:   m = 5; break;
    case NGX_HTTP_OPTIONS: m = 6; break;
    default:               m = 7; break;
    }

    s = r->headers_out.status;
    s = (s >= 100 && s < 600) ? s / 100 - 1 : NGX_HTTP_GW_METRICS_CLASSES - 1;

    c[mmcf->layout.requests + m * NGX_HTTP_GW_METRICS_CLASSES + s]++;

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    ngx_http_gw_metrics_observe(c + mmcf->layout.duration, ms);

    if (r->upstream_states != NULL && r->upstream_states->nelts) {
        state = r->upstream_states->elts;
        ums = 0;
        up = 0;

        for (i = 0; i < r->upstream_states->nelts; i++) {
            if (state[i].status && state[i].response_time != (ngx_msec_t) -1)
            {
                ums += state[i].response_time;
                up = 1;
            }
        }

        if (up) {
            ngx_http_gw_metrics_observe(c + mmcf->layout.upstream, ums);
        }
    }

    if (mmcf->max_consumers) {
        k = ngx_http_gw_metrics_consumer(mmcf, r);

        if (k != NGX_ERROR) {
            c = ngx_http_gw_metrics_consumer_block(mmcf, slice,
                                                   (ngx_uint_t) k);
            c[s]++;
        }
    }

    return NGX_OK;
}


static void
ngx_http_gw_metrics_observe(ngx_http_gw_metrics_counter_t *h,
    ngx_msec_int_t ms)
{
    ngx_uint_t                        i, n;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    if (ms < 0) {
        ms = 0;
    }

    mmcf = ngx_http_gw_metrics_conf;
    n = mmcf->nbuckets;

    for (i = 0; i < n; i++) {
        if ((ngx_msec_t) ms <= mmcf->bounds[i]) {
            break;
        }
    }

    h[i]++;
    h[n + 1] += ms;
    h[n + 2]++;
}


/*
 * The consumer's index in the shared table, max_consumers ("other") when
 * the table is full, or NGX_ERROR when r has no consumer.
 */

static ngx_int_t
ngx_http_gw_metrics_consumer(ngx_http_gw_metrics_main_conf_t *mmcf,
    ngx_http_request_t *r)
{
    uint32_t                        *slot;
    ngx_uint_t                       i, n, hash, mask;
    ngx_http_variable_value_t       *vv;
    ngx_http_gw_metrics_consumer_t  *e;

    vv = ngx_http_get_indexed_variable(r, mmcf->consumer_var);

    if (vv == NULL || vv->not_found || vv->len == 0) {
        return NGX_ERROR;
    }

    if (vv->len > NGX_HTTP_GW_METRICS_CONSUMER_MAX) {
        return (ngx_int_t) mmcf->max_consumers;
    }

    hash = ngx_hash_key(vv->data, vv->len);
    mask = mmcf->consumer_slots - 1;

    /* lock-free: an index slot is set only after its entry is written */

    for (n = 0; n <= mask; n++) {
        slot = &mmcf->consumer_index[(hash + n) & mask];

        if (*slot == 0) {
            break;
        }

        e = &mmcf->consumers[*slot - 1];

        if (e->len == vv->len && ngx_memcmp(e->id, vv->data, vv->len) == 0) {
            return (ngx_int_t) *slot - 1;
        }
    }

    if (mmcf->sh->nconsumers >= mmcf->max_consumers) {
        return (ngx_int_t) mmcf->max_consumers;
    }

    ngx_shmtx_lock(&mmcf->shpool->mutex);

    /* another worker may have added it, or filled the table, meanwhile */

    for ( /* void */ ; n <= mask; n++) {
        slot = &mmcf->consumer_index[(hash + n) & mask];

        if (*slot == 0) {
            break;
        }

        e = &mmcf->consumers[*slot - 1];

        if (e->len == vv->len && ngx_memcmp(e->id, vv->data, vv->len) == 0) {
            ngx_shmtx_unlock(&mmcf->shpool->mutex);
            return (ngx_int_t) *slot - 1;
        }
    }

    i = mmcf->sh->nconsumers;

    if (i >= mmcf->max_consumers || n > mask) {
        ngx_shmtx_unlock(&mmcf->shpool->mutex);
        return (ngx_int_t) mmcf->max_consumers;
    }

    e = &mmcf->consumers[i];
    ngx_memcpy(e->id, vv->data, vv->len);
    e->len = vv->len;

    ngx_memory_barrier();

    *slot = (uint32_t) (i + 1);
    mmcf->sh->nconsumers = i + 1;

    ngx_shmtx_unlock(&mmcf->shpool->mutex);

    return (ngx_int_t) i;
}


/* the route block r counts in, and its ctx for the variables */

static ngx_http_gw_metrics_counter_t *
ngx_http_gw_metrics_route(ngx_http_request_t *r,
    ngx_http_gw_metrics_ctx_t **ctxp)
{
    ngx_http_gw_metrics_ctx_t       *ctx;
    ngx_http_gw_metrics_loc_conf_t  *mlcf;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gw_metrics_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_metrics_ctx_t));
        if (ctx != NULL) {
            ngx_http_set_ctx(r->main, ctx, ngx_http_gw_metrics_module);
        }
    }

    *ctxp = ctx;

    if (ngx_http_gw_metrics_slice == NULL) {
        return NULL;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_metrics_module);

    if (!mlcf->enabled) {
        return NULL;
    }

    return ngx_http_gw_metrics_slice + NGX_HTTP_GW_METRICS_GLOBAL
           + mlcf->route * ngx_http_gw_metrics_conf->layout.size;
}


void
ngx_http_gw_metrics_auth(ngx_http_request_t *r, ngx_uint_t mechanism,
    ngx_uint_t outcome)
{
    ngx_http_gw_metrics_ctx_t      *ctx;
    ngx_http_gw_metrics_counter_t  *c;

    if (mechanism >= NGX_HTTP_GW_AUTH_MECHANISMS
        || outcome >= NGX_HTTP_GW_AUTH_OUTCOMES)
    {
        return;
    }

    c = ngx_http_gw_metrics_route(r, &ctx);

    if (ctx != NULL) {
        ctx->auth = mechanism + 1;
        ctx->outcome = outcome;
    }

    if (c != NULL) {
        c[ngx_http_gw_metrics_conf->layout.auth
          + mechanism * NGX_HTTP_GW_AUTH_OUTCOMES + outcome]++;
    }
}


void
ngx_http_gw_metrics_limit(ngx_http_request_t *r, ngx_uint_t decision)
{
    ngx_http_gw_metrics_ctx_t      *ctx;
    ngx_http_gw_metrics_counter_t  *c;

    if (decision >= NGX_HTTP_GW_METRICS_LIMIT_DECISIONS) {
        return;
    }

    c = ngx_http_gw_metrics_route(r, &ctx);

    if (c != NULL) {
        c[ngx_http_gw_metrics_conf->layout.limit + decision]++;
    }
}


void
ngx_http_gw_metrics_validation(ngx_http_request_t *r)
{
    ngx_http_gw_metrics_ctx_t      *ctx;
    ngx_http_gw_metrics_counter_t  *c;

    c = ngx_http_gw_metrics_route(r, &ctx);

    if (c != NULL) {
        c[ngx_http_gw_metrics_conf->layout.validation]++;
    }
}


void
ngx_http_gw_metrics_audit_dropped(ngx_uint_t n)
{
    if (ngx_http_gw_metrics_slice != NULL) {
        ngx_http_gw_metrics_slice[NGX_HTTP_GW_METRICS_AUDIT_DROPPED] += n;
    }
}


/* copies this worker's Redis client figures into its slice */

void
ngx_http_gw_metrics_redis_refresh(ngx_http_gw_metrics_main_conf_t *mmcf)
{
    ngx_http_gw_redis_stats_t       st;
    ngx_http_gw_metrics_counter_t  *g;

    g = ngx_http_gw_metrics_slice;

    if (g == NULL || !mmcf->redis) {
        return;
    }

    ngx_http_gw_redis_stats(&st);

    g[NGX_HTTP_GW_METRICS_REDIS_CONNECTED] = st.connected;
    g[NGX_HTTP_GW_METRICS_REDIS_IN_FLIGHT] = st.in_flight;
    g[NGX_HTTP_GW_METRICS_REDIS_COMMANDS] = st.commands;
    g[NGX_HTTP_GW_METRICS_REDIS_TIMEOUTS] = st.timeouts;
    g[NGX_HTTP_GW_METRICS_REDIS_FAILED] = st.failed;
    g[NGX_HTTP_GW_METRICS_REDIS_RECONNECTS] = st.reconnects;
    g[NGX_HTTP_GW_METRICS_REDIS_OUTAGES] = st.outages;
}


static void
ngx_http_gw_metrics_redis_timer(ngx_event_t *ev)
{
    ngx_http_gw_metrics_redis_refresh(ngx_http_gw_metrics_conf);

    if (!ngx_exiting && !ngx_terminate && !ngx_quit) {
        ngx_add_timer(ev, NGX_HTTP_GW_METRICS_REDIS_INTERVAL);
    }
}


static ngx_int_t
ngx_http_gw_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t                      *ev;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_metrics_module);

    if (mmcf == NULL || mmcf->zone == NULL || mmcf->slices == NULL
        || ngx_worker >= mmcf->nslices)
    {
        return NGX_OK;
    }

    ngx_http_gw_metrics_conf = mmcf;
    ngx_http_gw_metrics_slice = mmcf->slices + ngx_worker * mmcf->slice_size;

    if (mmcf->redis) {
        ev = &ngx_http_gw_metrics_redis_event;
        ev->handler = ngx_http_gw_metrics_redis_timer;
        ev->log = cycle->log;
        ev->data = mmcf;
        ev->cancelable = 1;

        ngx_add_timer(ev, NGX_HTTP_GW_METRICS_REDIS_INTERVAL);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_metrics_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                        *s;
    ngx_http_gw_metrics_ctx_t        *ctx;
    ngx_http_gw_metrics_loc_conf_t   *mlcf;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    s = NULL;
    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gw_metrics_module);

    switch (data) {

    case NGX_HTTP_GW_METRICS_VAR_ROUTE:
        mlcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_metrics_module);
        mmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_metrics_module);
        s = (ngx_str_t *) mmcf->routes.elts + mlcf->route;
        break;

    case NGX_HTTP_GW_METRICS_VAR_MECHANISM:
        if (ctx != NULL && ctx->auth) {
            s = &ngx_http_gw_metrics_mechanisms[ctx->auth - 1];
        }
        break;

    default: /* NGX_HTTP_GW_METRICS_VAR_OUTCOME */
        if (ctx != NULL && ctx->auth) {
            s = &ngx_http_gw_metrics_outcomes[ctx->outcome];
        }
        break;
    }

    if (s == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = s->data;
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * The response status as a JSON number: nginx's $status is zero-padded
 * ("000" when no status was set, "009" for HTTP/0.9), which JSON rejects.
 */

ngx_uint_t
ngx_http_gw_metrics_status(ngx_http_request_t *r)
{
    if (r->err_status) {
        return r->err_status;
    }

    return r->headers_out.status;
}


static ngx_int_t
ngx_http_gw_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;
    v->len = ngx_sprintf(p, "%ui", ngx_http_gw_metrics_status(r)) - p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_metrics_add_variables(ngx_conf_t *cf)
{
    return ngx_http_gw_add_variables(cf, ngx_http_gw_metrics_vars);
}


static void *
ngx_http_gw_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_str_t                        *name;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->zone = NULL;
     *     mmcf->nbuckets = 0;
     */

    mmcf->max_consumers = NGX_CONF_UNSET_UINT;
    mmcf->cycle = cf->cycle;

    if (ngx_array_init(&mmcf->routes, cf->pool, 16, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&mmcf->exporters, cf->pool, 2,
                       sizeof(ngx_http_gw_metrics_exporter_t))
        != NGX_OK)
    {
        return NULL;
    }

    /* route 0: locations without gw_route */

    name = ngx_array_push(&mmcf->routes);
    if (name == NULL) {
        return NULL;
    }

    ngx_str_set(name, "");

    return mmcf;
}


static void *
ngx_http_gw_metrics_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gw_metrics_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_metrics_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->route = NGX_CONF_UNSET_UINT;
    conf->enabled = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gw_metrics_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gw_metrics_loc_conf_t *prev = parent;
    ngx_http_gw_metrics_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->route, prev->route, 0);
    ngx_conf_merge_value(conf->enabled, prev->enabled, 1);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_metrics_init(ngx_conf_t *cf)
{
    ngx_str_t                         name;
    ngx_http_handler_pt              *h;
    ngx_http_core_main_conf_t        *cmcf;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    if (ngx_http_gw_metrics_log_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_metrics_module);

    ngx_conf_init_uint_value(mmcf->max_consumers, 0);

    if (mmcf->zone == NULL) {
        if (mmcf->endpoint) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "gw_metrics_endpoint needs gw_metrics_zone");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (ngx_http_gw_metrics_prepare(cf, mmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (mmcf->max_consumers) {
        ngx_str_set(&name, "gw_consumer_id");

        mmcf->consumer_var = ngx_http_get_variable_index(cf, &name);
        if (mmcf->consumer_var == NGX_ERROR) {
            return NGX_ERROR;
        }
    }

    mmcf->redis = ngx_http_gw_redis_configured(cf);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_metrics_log_handler;

    return NGX_OK;
}
