
/*
 * Copyright (C) Tollgate
 *
 * What gw_config tells about itself: the status endpoint
 * (gw_config_status, JSON), $gw_config_revision, and its metric families
 * for gw_metrics_endpoint (through ngx_http_gw_metrics_exporter()).
 * Everything is read from the zone's header and the current snapshot,
 * so any worker answers for the gateway, not for itself.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_config.h"
#include "ngx_http_gw_metrics.h"


#define NGX_HTTP_GW_CONFIG_STATUS_LEN  1024     /* bytes but the error */


static ngx_int_t ngx_http_gw_config_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_config_revision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_chain_t *ngx_http_gw_config_export(ngx_http_request_t *r,
    void *data);
static void ngx_http_gw_config_zone_bytes(ngx_http_gw_config_main_conf_t *gcf,
    size_t *used, size_t *size);


static ngx_http_variable_t  ngx_http_gw_config_vars[] = {

    { ngx_string("gw_config_revision"), NULL,
      ngx_http_gw_config_revision_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static const char  *ngx_http_gw_config_le[] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
    "5", "10", "+Inf"
};


char *
ngx_http_gw_config_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_gw_config_status_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_gw_config_status_handler;

    return NGX_CONF_OK;
}


/* postconfiguration: the variable always, the metrics with a zone */

ngx_int_t
ngx_http_gw_config_status_init(ngx_conf_t *cf,
    ngx_http_gw_config_main_conf_t *gcf)
{
    if (ngx_http_gw_add_variables(cf, ngx_http_gw_config_vars) != NGX_OK) {
        return NGX_ERROR;
    }

    if (gcf->zone == NULL) {
        return NGX_OK;
    }

    return ngx_http_gw_metrics_exporter(cf, ngx_http_gw_config_export, gcf);
}


static void
ngx_http_gw_config_zone_bytes(ngx_http_gw_config_main_conf_t *gcf,
    size_t *used, size_t *size)
{
    *size = gcf->zone->shm.size;
    *used = *size - gcf->shpool->pfree * ngx_pagesize;
}


static ngx_int_t
ngx_http_gw_config_status_handler(ngx_http_request_t *r)
{
    u_char                          *p;
    size_t                           used, size, elen;
    ngx_int_t                        rc;
    ngx_buf_t                       *b;
    ngx_atomic_uint_t                us;
    ngx_http_gw_snap_t              *s;
    ngx_http_gw_config_sh_t         *sh;
    ngx_http_gw_config_main_conf_t  *gcf;
    u_char                           error[NGX_HTTP_GW_CONFIG_ERROR_MAX];

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    gcf = ngx_http_gw_config_conf;

    if (gcf == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    sh = gcf->sh;
    s = ngx_http_gw_snapshot_get(r);

    ngx_shmtx_lock(&gcf->shpool->mutex);
    ngx_cpystrn(error, sh->error, NGX_HTTP_GW_CONFIG_ERROR_MAX);
    ngx_shmtx_unlock(&gcf->shpool->mutex);

    elen = ngx_strlen(error);

    b = ngx_create_temp_buf(r->pool, NGX_HTTP_GW_CONFIG_STATUS_LEN
                            + elen + ngx_escape_json(NULL, error, elen));
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    if (s != NULL) {
        p = ngx_sprintf(p, "{\"revision\":%uL,\"generation\":%uL,"
                        "\"committed_ms\":%L,\"built_ms\":%L,"
                        "\"routes\":%uD,\"upstreams\":%uD,",
                        s->revision, s->generation, s->committed_ms,
                        s->built_ms, s->nroutes, s->nupstreams);

    } else {
        p = ngx_cpymem(p, "{\"revision\":null,\"generation\":null,"
                       "\"committed_ms\":null,\"built_ms\":null,"
                       "\"routes\":0,\"upstreams\":0,",
                       sizeof("{\"revision\":null,\"generation\":null,"
                              "\"committed_ms\":null,\"built_ms\":null,"
                              "\"routes\":0,\"upstreams\":0,") - 1);
    }

    ngx_http_gw_config_zone_bytes(gcf, &used, &size);

    p = ngx_sprintf(p, "\"builder_pid\":%uA,\"builds\":%uA,", sh->builder,
                    sh->builds);

    us = sh->build_us;

    if (us == 0) {
        p = ngx_sprintf(p, "\"build_ms\":null,");

    } else {
        p = ngx_sprintf(p, "\"build_ms\":%uA.%03uA,", us / 1000, us % 1000);
    }

    p = ngx_sprintf(p, "\"refused\":%uA,", sh->refused);

    if (elen == 0) {
        p = ngx_sprintf(p, "\"last_error\":null,\"last_error_revision\":null,");

    } else {
        p = ngx_cpymem(p, "\"last_error\":\"", sizeof("\"last_error\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, error, elen);
        p = ngx_sprintf(p, "\",\"last_error_revision\":%uA,",
                        sh->error_revision);
    }

    p = ngx_sprintf(p, "\"zone_used\":%uz,\"zone_size\":%uz}\n", used, size);

    b->last = p;

    return ngx_http_gw_send_buf(r, NGX_HTTP_OK, "application/json", b);
}


/* the pinned snapshot's revision, else the current one's; empty: none */

static ngx_int_t
ngx_http_gw_config_revision_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                          *p;
    uint64_t                         rev;
    ngx_http_gw_snap_t              *s;
    ngx_http_gw_config_main_conf_t  *gcf;

    gcf = ngx_http_gw_config_conf;

    if (gcf == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = ngx_http_gw_config_pinned(r);

    if (s != NULL) {
        rev = s->revision;

    } else if (gcf->sh->current != 0) {
        rev = gcf->sh->revision;

    } else {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%uL", rev) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


static ngx_chain_t *
ngx_http_gw_config_export(ngx_http_request_t *r, void *data)
{
    ngx_http_gw_config_main_conf_t *gcf = data;

    u_char                   *p;
    size_t                    used, size;
    uint64_t                  cum, sum;
    ngx_buf_t                *b;
    ngx_uint_t                i;
    ngx_chain_t              *cl;
    ngx_http_gw_config_sh_t  *sh;

    sh = gcf->sh;

    if (sh == NULL) {
        return NULL;
    }

    cl = ngx_http_gw_metrics_chain(r, 4096);
    if (cl == NULL) {
        return NGX_CHAIN_ERROR;
    }

    b = cl->buf;

    p = ngx_sprintf(b->last,
            "# HELP gw_config_revision The metadata revision the gateway's "
            "snapshot was built from.\n"
            "# TYPE gw_config_revision gauge\n"
            "gw_config_revision %uA\n"
            "# HELP gw_config_propagation_seconds From a change's commit to "
            "the publication of its snapshot.\n"
            "# TYPE gw_config_propagation_seconds histogram\n",
            sh->current != 0 ? sh->revision : 0);

    cum = 0;

    for (i = 0; i <= NGX_HTTP_GW_CONFIG_BUCKETS; i++) {
        cum += sh->hist[i];
        p = ngx_sprintf(p, "gw_config_propagation_seconds_bucket{le=\"%s\"} "
                        "%uL\n", ngx_http_gw_config_le[i], cum);
    }

    sum = sh->hist_sum;
    ngx_http_gw_config_zone_bytes(gcf, &used, &size);

    p = ngx_sprintf(p,
            "gw_config_propagation_seconds_sum %uL.%03uL\n"
            "gw_config_propagation_seconds_count %uA\n"
            "# HELP gw_config_builds_total Snapshot builds, published or "
            "refused.\n"
            "# TYPE gw_config_builds_total counter\n"
            "gw_config_builds_total{result=\"ok\"} %uA\n"
            "gw_config_builds_total{result=\"refused\"} %uA\n"
            "# HELP gw_config_zone_bytes The gw_config zone's memory.\n"
            "# TYPE gw_config_zone_bytes gauge\n"
            "gw_config_zone_bytes{state=\"used\"} %uz\n"
            "gw_config_zone_bytes{state=\"size\"} %uz\n",
            sum / 1000, sum % 1000, sh->hist_count, sh->builds, sh->refused,
            used, size);

    b->last = p;

    return cl;
}
