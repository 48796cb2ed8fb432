
/*
 * Copyright (C) Tollgate
 *
 * The routes' shared state (docs/routing.md, "Canary splits" and
 * "Versions and sunset"), in one shared zone of fixed layout:
 *
 *   gw_route_state zone=name:size [idle=time] [top=number];
 *
 * Five eighths of the zone are the splits' memory: slots of "hash of
 * (route, sticky key) -> side" (lib/router/gw_split.h), so a consumer
 * keeps the side it was given when a weight moves.  Memory is bounded: a
 * slot is taken from another key only when that key was not seen for
 * "idle" (default 7 days); a new key that finds no room is not
 * remembered and goes by the weights; no flood of new keys can move a
 * key already held.
 *
 * One eighth holds the counts of calls to deprecated routes: one entry
 * per route (its id hashed, open addressing), each with "top" (default
 * 20) consumers in the order they first called, then an "other" count
 * for the rest.  A flood of new consumers only grows "other": it evicts
 * nobody.  Both are read and written under the zone's lock; a reload
 * that keeps the zone keeps them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_split.h"
#include "ngx_http_gw.h"
#include "ngx_http_gw_router.h"
#include "ngx_http_gw_router_state.h"
#include "ngx_http_gw_metrics.h"
#include "ngx_http_gw_redis.h"


#define NGX_HTTP_GW_STATE_ID      64      /* bytes kept of a route id */
#define NGX_HTTP_GW_STATE_VER     32      /* ... of an api_version */
#define NGX_HTTP_GW_STATE_CID     64      /* ... of a consumer id */
#define NGX_HTTP_GW_STATE_TOP     1000    /* the largest top= */
#define NGX_HTTP_GW_STATE_PROBE   16      /* route entries a route may
                                             sit in */


typedef struct {
    uint64_t                    count;
    u_char                      len;
    u_char                      id[NGX_HTTP_GW_STATE_CID];
} ngx_http_gw_state_consumer_t;


typedef struct {
    uint32_t                    hash;           /* 0: free */
    uint32_t                    nconsumers;
    uint64_t                    other;          /* consumers past top */
    u_char                      id_len;
    u_char                      version_len;
    u_char                      id[NGX_HTTP_GW_STATE_ID];
    u_char                      version[NGX_HTTP_GW_STATE_VER];
    ngx_http_gw_state_consumer_t consumers[1];  /* top of them */
} ngx_http_gw_state_route_t;


typedef struct {
    gw_split_slot_t            *slots;
    size_t                      nslots;
    uint64_t                    unremembered;   /* keys without room */
    u_char                     *routes;
    size_t                      nroutes;
    size_t                      stride;         /* bytes of a route entry */
    ngx_uint_t                  top;
    uint64_t                    unattributed;   /* calls of routes without
                                                   an entry */
} ngx_http_gw_state_sh_t;


typedef struct {
    ngx_shm_zone_t             *shm_zone;
    ngx_slab_pool_t            *shpool;
    ngx_http_gw_state_sh_t     *sh;
    time_t                      idle;
    ngx_uint_t                  top;
    ngx_int_t                   consumer_var;
    ngx_uint_t                  redis;
} ngx_http_gw_state_main_conf_t;


static char *ngx_http_gw_route_state(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_state_zone_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void *ngx_http_gw_state_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_state_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_state_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_gw_state_precontent(ngx_http_request_t *r);
static ngx_chain_t *ngx_http_gw_state_export(ngx_http_request_t *r,
    void *data);


static ngx_command_t  ngx_http_gw_state_commands[] = {

    { ngx_string("gw_route_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_gw_route_state,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_state_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_state_postconfiguration,   /* postconfiguration */
    ngx_http_gw_state_create_main_conf,    /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gw_route_state_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_state_module_ctx,         /* module context */
    ngx_http_gw_state_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_state_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* this worker's configuration (set in init_process) */
static ngx_http_gw_state_main_conf_t  *ngx_http_gw_state;


static char *
ngx_http_gw_route_state(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_state_main_conf_t *smcf = conf;

    ssize_t      size;
    ngx_int_t    n, rc;
    ngx_str_t   *value, name, s;
    ngx_uint_t   i;

    if (smcf->shm_zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = 0;
    ngx_str_null(&name);

    for (i = 1; i < cf->args->nelts; i++) {

        rc = ngx_http_gw_conf_zone_arg(cf, &value[i], &name, &size);

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "idle=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            smcf->idle = ngx_parse_time(&s, 1);
            if (smcf->idle == (time_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "top=", 4) == 0) {
            n = ngx_atoi(value[i].data + 4, value[i].len - 4);
            if (n < 1 || n > NGX_HTTP_GW_STATE_TOP) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "gw_route_state \"%V\": top is 1..%d",
                                   &value[i], NGX_HTTP_GW_STATE_TOP);
                return NGX_CONF_ERROR;
            }

            smcf->top = n;
            continue;
        }

        goto invalid;
    }

    smcf->shm_zone = ngx_http_gw_conf_zone_add(cf, &name, size,
                                               &ngx_http_gw_route_state_module,
                                               ngx_http_gw_state_zone_init,
                                               smcf);
    if (smcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid gw_route_state parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


static void
ngx_http_gw_state_layout(ngx_http_gw_state_sh_t *sh, ngx_uint_t top)
{
    sh->top = top;
    sh->stride = ngx_align(sizeof(ngx_http_gw_state_route_t)
                           + (top - 1) * sizeof(ngx_http_gw_state_consumer_t),
                           8);
}


static ngx_int_t
ngx_http_gw_state_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_state_main_conf_t  *osmcf = data;

    size_t                          size, routes;
    ngx_http_gw_state_sh_t         *sh;
    ngx_http_gw_state_main_conf_t  *smcf;

    smcf = shm_zone->data;
    smcf->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (osmcf != NULL && osmcf->sh != NULL) {
        /* a reload that keeps the zone keeps the memory; the counts
           survive unless top changed (their layout did) */
        smcf->sh = osmcf->sh;
        sh = smcf->sh;

        if (sh->top != smcf->top) {
            ngx_shmtx_lock(&smcf->shpool->mutex);
            ngx_memzero(sh->routes, sh->nroutes * sh->stride);
            routes = sh->nroutes * sh->stride;
            ngx_http_gw_state_layout(sh, smcf->top);
            sh->nroutes = routes / sh->stride;
            ngx_shmtx_unlock(&smcf->shpool->mutex);
        }

        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        smcf->sh = smcf->shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_alloc(smcf->shpool, sizeof(ngx_http_gw_state_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(sh, sizeof(ngx_http_gw_state_sh_t));
    ngx_http_gw_state_layout(sh, smcf->top);

    size = shm_zone->shm.size;

    sh->nslots = size / 8 * 5 / sizeof(gw_split_slot_t);
    sh->slots = ngx_slab_calloc(smcf->shpool,
                                sh->nslots * sizeof(gw_split_slot_t));

    sh->nroutes = size / 8 / sh->stride;
    sh->routes = ngx_slab_calloc(smcf->shpool, sh->nroutes * sh->stride);

    if (sh->slots == NULL || sh->routes == NULL || sh->nroutes == 0) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "gw_route_state zone \"%V\" is too small for top=%ui",
                      &shm_zone->shm.name, smcf->top);
        return NGX_ERROR;
    }

    smcf->sh = sh;
    smcf->shpool->data = sh;

    return NGX_OK;
}


static void *
ngx_http_gw_state_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_state_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_state_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->idle = 7 * 86400;
    smcf->top = 20;
    smcf->consumer_var = NGX_ERROR;

    return smcf;
}


static ngx_int_t
ngx_http_gw_state_postconfiguration(ngx_conf_t *cf)
{
    ngx_str_t                       name = ngx_string("gw_consumer_id");
    ngx_http_handler_pt            *h;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_gw_state_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_route_state_module);

    smcf->consumer_var = ngx_http_get_variable_index(cf, &name);
    if (smcf->consumer_var == NGX_ERROR) {
        return NGX_ERROR;
    }

    smcf->redis = ngx_http_gw_redis_configured(cf);

    if (smcf->shm_zone != NULL && smcf->redis
        && ngx_http_gw_router_split_init(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (smcf->shm_zone == NULL) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gw_state_precontent;

    return ngx_http_gw_metrics_exporter(cf, ngx_http_gw_state_export, smcf);
}


/*
 * Counts a call to a deprecated route once access has passed (so by the
 * consumer it was authenticated as; calls refused before are not
 * counted), once per request: the module's ctx marks it.
 */
static ngx_int_t
ngx_http_gw_state_precontent(ngx_http_request_t *r)
{
    ngx_str_t                  id, version;
    ngx_http_gw_snap_t        *snap;
    ngx_http_gw_router_ctx_t  *ctx;

    if (r != r->main
        || ngx_http_get_module_ctx(r, ngx_http_gw_route_state_module) != NULL)
    {
        return NGX_DECLINED;
    }

    ctx = ngx_http_gw_router_ctx(r);

    if (ctx == NULL || ctx->route == NULL || !ctx->deprecated) {
        return NGX_DECLINED;
    }

    /* any non-NULL pointer: counted */
    ngx_http_set_ctx(r, ctx, ngx_http_gw_route_state_module);

    snap = ctx->snap;

    id.data = (u_char *) ngx_http_gw_snap_string(snap, ctx->route->id);
    id.len = ctx->route->id.len;
    version.data = (u_char *) ngx_http_gw_snap_string(snap,
                                                ctx->route->api_version);
    version.len = ctx->route->api_version.len;

    ngx_http_gw_route_state_deprecated(r, &id, &version);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gw_state_init_process(ngx_cycle_t *cycle)
{
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_module) == NULL) {
        return NGX_OK;
    }

    ngx_http_gw_state = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_gw_route_state_module);

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_route_state_consumer(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_http_variable_value_t  *vv;

    ngx_str_null(id);

    if (ngx_http_gw_state == NULL || ngx_http_gw_state->consumer_var < 0) {
        return NGX_OK;
    }

    vv = ngx_http_get_indexed_variable(r, ngx_http_gw_state->consumer_var);
    if (vv == NULL) {
        return NGX_ERROR;
    }

    if (!vv->not_found) {
        id->data = vv->data;
        id->len = vv->len;
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_gw_route_state_enabled(void)
{
    return ngx_http_gw_state != NULL && ngx_http_gw_state->sh != NULL;
}


time_t
ngx_http_gw_route_state_idle(void)
{
    return ngx_http_gw_state != NULL ? ngx_http_gw_state->idle : 0;
}


ngx_uint_t
ngx_http_gw_route_state_redis(void)
{
    return ngx_http_gw_state != NULL && ngx_http_gw_state->redis;
}


uint32_t
ngx_http_gw_route_state_get(uint64_t key)
{
    uint32_t                        side;
    ngx_http_gw_state_sh_t         *sh;
    ngx_http_gw_state_main_conf_t  *smcf;

    if (!ngx_http_gw_route_state_enabled()) {
        return 0;
    }

    smcf = ngx_http_gw_state;
    sh = smcf->sh;

    ngx_shmtx_lock(&smcf->shpool->mutex);
    side = gw_split_table_get(sh->slots, sh->nslots, key,
                              (uint32_t) ngx_time());
    ngx_shmtx_unlock(&smcf->shpool->mutex);

    return side;
}


uint32_t
ngx_http_gw_route_state_put(uint64_t key, uint32_t side, ngx_uint_t replace)
{
    uint32_t                        got;
    ngx_http_gw_state_sh_t         *sh;
    ngx_http_gw_state_main_conf_t  *smcf;

    if (!ngx_http_gw_route_state_enabled()) {
        return 0;
    }

    smcf = ngx_http_gw_state;
    sh = smcf->sh;

    ngx_shmtx_lock(&smcf->shpool->mutex);

    got = gw_split_table_put(sh->slots, sh->nslots, key, side,
                             (uint32_t) ngx_time(), (uint32_t) smcf->idle,
                             replace ? 1 : 0);

    if (got == 0) {
        sh->unremembered++;
    }

    ngx_shmtx_unlock(&smcf->shpool->mutex);

    return got;
}


static ngx_http_gw_state_route_t *
ngx_http_gw_state_route(ngx_http_gw_state_sh_t *sh, ngx_str_t *route,
    ngx_str_t *version)
{
    size_t                      i, len;
    uint32_t                    hash;
    ngx_http_gw_state_route_t  *e;

    len = ngx_min(route->len, NGX_HTTP_GW_STATE_ID);
    hash = gw_split_side_id(route->data, len);

    for (i = 0; i < NGX_HTTP_GW_STATE_PROBE && i < sh->nroutes; i++) {
        e = (ngx_http_gw_state_route_t *)
                (sh->routes + ((hash + i) % sh->nroutes) * sh->stride);

        if (e->hash == 0) {
            e->hash = hash;
            e->id_len = (u_char) len;
            ngx_memcpy(e->id, route->data, len);
            e->version_len = (u_char) ngx_min(version->len,
                                              NGX_HTTP_GW_STATE_VER);
            ngx_memcpy(e->version, version->data, e->version_len);
            return e;
        }

        if (e->hash == hash && e->id_len == len
            && ngx_memcmp(e->id, route->data, len) == 0)
        {
            return e;
        }
    }

    return NULL;
}


void
ngx_http_gw_route_state_deprecated(ngx_http_request_t *r, ngx_str_t *route,
    ngx_str_t *version)
{
    u_char                         *id;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_gw_state_sh_t         *sh;
    ngx_http_gw_state_route_t      *e;
    ngx_http_variable_value_t      *vv;
    ngx_http_gw_state_consumer_t   *c;
    ngx_http_gw_state_main_conf_t  *smcf;

    if (!ngx_http_gw_route_state_enabled()) {
        return;
    }

    smcf = ngx_http_gw_state;
    sh = smcf->sh;

    vv = ngx_http_get_indexed_variable(r, smcf->consumer_var);
    if (vv == NULL || vv->not_found) {
        id = NULL;
        len = 0;

    } else {
        id = vv->data;
        len = ngx_min(vv->len, NGX_HTTP_GW_STATE_CID);
    }

    ngx_shmtx_lock(&smcf->shpool->mutex);

    e = ngx_http_gw_state_route(sh, route, version);
    if (e == NULL) {
        sh->unattributed++;
        goto done;
    }

    for (i = 0; i < e->nconsumers; i++) {
        c = &e->consumers[i];

        if (c->len == len && (len == 0 || ngx_memcmp(c->id, id, len) == 0)) {
            c->count++;
            goto done;
        }
    }

    if (e->nconsumers < sh->top) {
        c = &e->consumers[e->nconsumers++];
        c->len = (u_char) len;
        if (len) {
            ngx_memcpy(c->id, id, len);
        }

        c->count = 1;
        goto done;
    }

    e->other++;

done:

    ngx_shmtx_unlock(&smcf->shpool->mutex);
}


static u_char *
ngx_http_gw_state_escape(u_char *p, u_char *s, size_t len)
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


/*
 * The exporter: gw_route_deprecated_calls_total{route, api_version,
 * consumer} (consumer "" : anonymous, "other": past top), and the
 * splits' memory.  Sized first, written under the lock into one buffer.
 */
static ngx_chain_t *
ngx_http_gw_state_export(ngx_http_request_t *r, void *data)
{
    ngx_http_gw_state_main_conf_t *smcf = data;

    u_char                        *p;
    size_t                         size, i, used, line;
    ngx_uint_t                     j;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_http_gw_state_sh_t        *sh;
    ngx_http_gw_state_route_t     *e;
    ngx_http_gw_state_consumer_t  *c;

    sh = smcf->sh;
    if (sh == NULL) {
        return NULL;
    }

    /* the longest sample line: every byte of the labels escaped */
    line = sizeof("gw_route_deprecated_calls_total{route=\"\","
                  "api_version=\"\",consumer=\"\"} \n")
           + 2 * (NGX_HTTP_GW_STATE_ID + NGX_HTTP_GW_STATE_VER
                  + NGX_HTTP_GW_STATE_CID) + NGX_INT64_LEN;

    size = 1536;

    used = 0;

    for (i = 0; i < sh->nslots; i++) {
        used += sh->slots[i].key != 0;
    }

    ngx_shmtx_lock(&smcf->shpool->mutex);

    for (i = 0; i < sh->nroutes; i++) {
        e = (ngx_http_gw_state_route_t *) (sh->routes + i * sh->stride);
        if (e->hash) {
            size += line * (e->nconsumers + 1);
        }
    }

    cl = ngx_http_gw_metrics_chain(r, size);

    if (cl == NULL) {
        ngx_shmtx_unlock(&smcf->shpool->mutex);
        return NGX_CHAIN_ERROR;
    }

    b = cl->buf;

    p = ngx_sprintf(b->last,
        "# HELP gw_route_deprecated_calls_total Calls to deprecated routes "
        "by consumer (\"\": anonymous, \"other\": past gw_route_state "
        "top).\n"
        "# TYPE gw_route_deprecated_calls_total counter\n");

    for (i = 0; i < sh->nroutes; i++) {
        e = (ngx_http_gw_state_route_t *) (sh->routes + i * sh->stride);
        if (e->hash == 0) {
            continue;
        }

        for (j = 0; j <= e->nconsumers; j++) {
            c = (j < e->nconsumers) ? &e->consumers[j] : NULL;

            if (c == NULL && e->other == 0) {
                break;
            }

            p = ngx_cpymem(p, "gw_route_deprecated_calls_total{route=\"",
                    sizeof("gw_route_deprecated_calls_total{route=\"") - 1);
            p = ngx_http_gw_state_escape(p, e->id, e->id_len);
            p = ngx_cpymem(p, "\",api_version=\"",
                           sizeof("\",api_version=\"") - 1);
            p = ngx_http_gw_state_escape(p, e->version, e->version_len);
            p = ngx_cpymem(p, "\",consumer=\"", sizeof("\",consumer=\"") - 1);

            if (c != NULL) {
                p = ngx_http_gw_state_escape(p, c->id, c->len);
                p = ngx_sprintf(p, "\"} %uL\n", c->count);

            } else {
                p = ngx_sprintf(p, "other\"} %uL\n", e->other);
            }
        }
    }

    p = ngx_sprintf(p,
        "# HELP gw_route_deprecated_calls_unattributed_total Calls to "
        "deprecated routes that found no room in gw_route_state.\n"
        "# TYPE gw_route_deprecated_calls_unattributed_total counter\n"
        "gw_route_deprecated_calls_unattributed_total %uL\n"
        "# HELP gw_route_split_keys Sticky keys the splits remember.\n"
        "# TYPE gw_route_split_keys gauge\n"
        "gw_route_split_keys{state=\"remembered\"} %uz\n"
        "gw_route_split_keys{state=\"slots\"} %uz\n"
        "# HELP gw_route_split_unremembered_total New sticky keys that "
        "found no room (sent by the weights, not remembered).\n"
        "# TYPE gw_route_split_unremembered_total counter\n"
        "gw_route_split_unremembered_total %uL\n",
        sh->unattributed, used, sh->nslots, sh->unremembered);

    ngx_shmtx_unlock(&smcf->shpool->mutex);

    b->last = p;

    return cl;
}
