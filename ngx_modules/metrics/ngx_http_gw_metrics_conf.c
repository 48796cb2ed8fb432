
/*
 * Copyright (C) Tollgate
 *
 * The configuration side of ngx_http_gw_metrics_module: its directives,
 * the route table (a route is an index fixed here, so counting never
 * looks a name up), the labels and offsets prepared for counting and
 * printing, and the layout of the zone, made when its size and the worker
 * count are both known.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_metrics_int.h"


static ngx_int_t ngx_http_gw_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_gw_metrics_le(ngx_conf_t *cf, ngx_str_t *le,
    ngx_msec_t ms);


/* Prometheus' default buckets, in milliseconds */
static ngx_msec_t  ngx_http_gw_metrics_default_bounds[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


/* gw_metrics_zone size; */

char *
ngx_http_gw_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_metrics_main_conf_t *mmcf = conf;

    ssize_t     size;
    ngx_str_t  *value, name = ngx_string("gw_metrics");

    if (mmcf->zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid gw_metrics_zone size \"%V\", "
                           "at least %uzk", &value[1], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    mmcf->zone = ngx_shared_memory_add(cf, &name, size,
                                       &ngx_http_gw_metrics_module);
    if (mmcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mmcf->zone->data != NULL) {
        return "is duplicate";
    }

    mmcf->zone->init = ngx_http_gw_metrics_init_zone;
    mmcf->zone->data = mmcf;
    mmcf->zone->noreuse = 1;

    return NGX_CONF_OK;
}


/*
 * gw_route name;  The name is a label value, so it is kept to visible
 * ASCII without quotes or backslashes, and at most 64 bytes.
 */

char *
ngx_http_gw_route(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_metrics_loc_conf_t *mlcf = conf;

    u_char                           *p;
    ngx_str_t                        *value, *name;
    ngx_uint_t                        i;
    ngx_http_gw_metrics_main_conf_t  *mmcf;

    if (mlcf->route != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_GW_METRICS_ROUTE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid route name \"%V\": 1 to %d bytes",
                           &value[1], NGX_HTTP_GW_METRICS_ROUTE_MAX);
        return NGX_CONF_ERROR;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid route name \"%V\": visible ASCII "
                               "without quotes or backslashes only",
                               &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    mmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_metrics_module);
    name = mmcf->routes.elts;

    for (i = 1; i < mmcf->routes.nelts; i++) {
        if (name[i].len == value[1].len
            && ngx_strncmp(name[i].data, value[1].data, value[1].len) == 0)
        {
            mlcf->route = i;
            return NGX_CONF_OK;
        }
    }

    name = ngx_array_push(&mmcf->routes);
    if (name == NULL) {
        return NGX_CONF_ERROR;
    }

    *name = value[1];
    mlcf->route = mmcf->routes.nelts - 1;

    return NGX_CONF_OK;
}


/* gw_metrics_buckets seconds ...;  (ascending, millisecond precision) */

char *
ngx_http_gw_metrics_buckets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_metrics_main_conf_t *mmcf = conf;

    ngx_int_t   ms;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (mmcf->nbuckets) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts - 1 > NGX_HTTP_GW_METRICS_BUCKETS_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "at most %d buckets",
                           NGX_HTTP_GW_METRICS_BUCKETS_MAX);
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        ms = ngx_atofp(value[i].data, value[i].len, 3);

        if (ms == NGX_ERROR || ms == 0
            || (i > 1 && (ngx_msec_t) ms <= mmcf->bounds[i - 2]))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid bucket \"%V\": seconds, at most "
                               "three decimals, above 0 and ascending",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        mmcf->bounds[i - 1] = (ngx_msec_t) ms;
    }

    mmcf->nbuckets = cf->args->nelts - 1;

    return NGX_CONF_OK;
}


/* a bucket's le="..." label: seconds, without trailing zeros */

static ngx_int_t
ngx_http_gw_metrics_le(ngx_conf_t *cf, ngx_str_t *le, ngx_msec_t ms)
{
    u_char  *p, *last;

    p = ngx_pnalloc(cf->pool, sizeof("le=\"\"") + NGX_INT_T_LEN + 4);
    if (p == NULL) {
        return NGX_ERROR;
    }

    le->data = p;
    last = ngx_sprintf(p, "le=\"%M.%03M", ms / 1000, ms % 1000);

    while (last[-1] == '0') {
        last--;
    }

    if (last[-1] == '.') {
        last--;
    }

    *last++ = '"';
    le->len = last - p;

    return NGX_OK;
}


/*
 * Once the http block is parsed: the default buckets, the le="..." and
 * route="..." labels, and the offsets of a route's counters.
 */

ngx_int_t
ngx_http_gw_metrics_prepare(ngx_conf_t *cf,
    ngx_http_gw_metrics_main_conf_t *mmcf)
{
    ngx_str_t                           *route;
    ngx_uint_t                           i, b;
    ngx_http_gw_metrics_route_layout_t  *l;

    if (mmcf->nbuckets == 0) {
        mmcf->nbuckets = sizeof(ngx_http_gw_metrics_default_bounds)
                         / sizeof(ngx_msec_t);
        ngx_memcpy(mmcf->bounds, ngx_http_gw_metrics_default_bounds,
                   sizeof(ngx_http_gw_metrics_default_bounds));
    }

    for (b = 0; b < mmcf->nbuckets; b++) {
        if (ngx_http_gw_metrics_le(cf, &mmcf->le[b], mmcf->bounds[b])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ngx_str_set(&mmcf->le[b], "le=\"+Inf\"");

    /* route="name", ready to print */

    mmcf->labels = ngx_palloc(cf->pool, mmcf->routes.nelts * sizeof(ngx_str_t));
    if (mmcf->labels == NULL) {
        return NGX_ERROR;
    }

    route = mmcf->routes.elts;

    for (i = 0; i < mmcf->routes.nelts; i++) {
        mmcf->labels[i].data = ngx_pnalloc(cf->pool,
                                           sizeof("route=\"\"") + route[i].len);
        if (mmcf->labels[i].data == NULL) {
            return NGX_ERROR;
        }

        mmcf->labels[i].len = ngx_sprintf(mmcf->labels[i].data,
                                          "route=\"%V\"", &route[i])
                              - mmcf->labels[i].data;
    }

    l = &mmcf->layout;
    l->requests = 0;
    l->duration = NGX_HTTP_GW_METRICS_METHODS * NGX_HTTP_GW_METRICS_CLASSES;
    l->upstream = l->duration + mmcf->nbuckets + 3;
    l->auth = l->upstream + mmcf->nbuckets + 3;
    l->limit = l->auth
               + NGX_HTTP_GW_AUTH_MECHANISMS * NGX_HTTP_GW_AUTH_OUTCOMES;
    l->validation = l->limit + NGX_HTTP_GW_METRICS_LIMIT_DECISIONS;
    l->size = l->validation + 1;

    mmcf->slice_size = NGX_HTTP_GW_METRICS_GLOBAL
                       + mmcf->routes.nelts * l->size
                       + (mmcf->max_consumers + 1)
                         * NGX_HTTP_GW_METRICS_CLASSES;

    return NGX_OK;
}


/*
 * Lays the zone out for this cycle's routes and worker count (known only
 * now: worker_processes may follow the http block).  Fails, naming the
 * size needed, when the zone is too small.
 */

static ngx_int_t
ngx_http_gw_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_metrics_main_conf_t *mmcf = shm_zone->data;

    u_char           *p;
    size_t            len, head, slices, consumers, index;
    ngx_uint_t        slots;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(mmcf->cycle->conf_ctx,
                                           ngx_core_module);

    mmcf->nslices = (ccf->worker_processes > 0) ? ccf->worker_processes : 1;
    mmcf->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    slots = 1;

    while (slots < 2 * mmcf->max_consumers) {
        slots <<= 1;
    }

    mmcf->consumer_slots = slots;

    head = ngx_align(sizeof(ngx_http_gw_metrics_sh_t), 16);
    slices = mmcf->nslices * mmcf->slice_size
             * sizeof(ngx_http_gw_metrics_counter_t);
    consumers = mmcf->max_consumers * sizeof(ngx_http_gw_metrics_consumer_t);
    index = mmcf->max_consumers ? slots * sizeof(uint32_t) : 0;

    len = head + slices + consumers + index;

    p = ngx_slab_calloc(mmcf->shpool, len);

    if (p == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "gw_metrics_zone %uzk is too small: %ui routes, "
                      "%ui buckets, %ui consumers and %ui workers need "
                      "at least %uzk", shm_zone->shm.size / 1024,
                      mmcf->routes.nelts, mmcf->nbuckets,
                      mmcf->max_consumers, mmcf->nslices,
                      (len + len / 64 + 8 * ngx_pagesize) / 1024 + 1);
        return NGX_ERROR;
    }

    mmcf->sh = (ngx_http_gw_metrics_sh_t *) p;
    mmcf->slices = (ngx_http_gw_metrics_counter_t *) (p + head);
    mmcf->consumers = (ngx_http_gw_metrics_consumer_t *) (p + head + slices);
    mmcf->consumer_index = (uint32_t *) (p + head + slices + consumers);

    return NGX_OK;
}
