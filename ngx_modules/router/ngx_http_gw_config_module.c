
/*
 * Copyright (C) Tollgate
 *
 * gw_config (docs/routing.md, "Following the admin API"): the directive,
 * the zone, and the worker side of the snapshot: which snapshot a
 * request uses, and when a worker lets go of one.
 *
 * The key design decision is how a worker holds a snapshot without a
 * lock or a reference count in shared memory per request.  A worker
 * keeps one "use" per snapshot it has handed out (its own memory: a
 * count of the requests on it, its compiled regexes, the router's and
 * the balancer's per-snapshot state), and publishes only the set of
 * generations it has uses of, in its pin slot.  A request whose worker
 * already uses the current snapshot costs one atomic load and a pool
 * cleanup.  A new snapshot is pinned before it is touched: the worker
 * writes its generation into its slot (a locked instruction, so a full
 * barrier), then reads "current" again; only when it has not moved is
 * the pin known to be seen by the builder, which frees a replaced
 * snapshot after publishing its successor and reading every slot.  A
 * worker drops a snapshot when its last request ends and it is no longer
 * current; an idle worker drops the current one at its next tick once a
 * newer one is published, so an idle worker never holds memory back.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_config.h"
#include "ngx_http_gw_metrics.h"


/* this worker's hold on one snapshot */
typedef struct {
    ngx_queue_t                 queue;
    ngx_http_gw_snap_t         *snap;
    uint64_t                    gen;
    ngx_uint_t                  refs;           /* requests, and 1 while
                                                   it is this worker's
                                                   current one */
    ngx_int_t                   entry;          /* in the slot's gens[],
                                                   -1: under the floor */
    gw_router_re_t             *re;
    ngx_uint_t                  re_done;
    ngx_http_gw_snap_local_t    locals[NGX_HTTP_GW_SNAP_LOCALS];
} ngx_http_gw_config_use_t;


static char *ngx_http_gw_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_config_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void *ngx_http_gw_config_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_config_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_config_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_config_exit_process(ngx_cycle_t *cycle);
static void ngx_http_gw_config_tick(ngx_event_t *ev);
static ngx_http_gw_config_use_t *ngx_http_gw_config_acquire(void);
static ngx_http_gw_config_use_t *ngx_http_gw_config_held(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_gw_config_pin_add(uint64_t gen);
static void ngx_http_gw_config_pin_remove(ngx_http_gw_config_use_t *use);
static void ngx_http_gw_config_unref(ngx_http_gw_config_use_t *use);
static void ngx_http_gw_config_unpin(void *data);
static ngx_http_gw_config_use_t *ngx_http_gw_config_find(
    ngx_http_gw_snap_t *s);



static ngx_command_t  ngx_http_gw_config_commands[] = {

    { ngx_string("gw_config"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gw_config,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_config_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gw_config_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_config_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_config_init,               /* postconfiguration */

    ngx_http_gw_config_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gw_config_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_config_module_ctx,        /* module context */
    ngx_http_gw_config_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_config_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gw_config_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_gw_config_main_conf_t  *ngx_http_gw_config_conf;

/* this worker's slot, current use, every use, uses under the floor */
static ngx_http_gw_config_pin_t   *ngx_http_gw_config_pin;
static ngx_http_gw_config_use_t   *ngx_http_gw_config_cur;
static ngx_queue_t                 ngx_http_gw_config_uses;
static ngx_uint_t                  ngx_http_gw_config_floored;
static ngx_event_t                 ngx_http_gw_config_tick_event;


/* gw_config zone=name:size [interval=time] */

static char *
ngx_http_gw_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_config_main_conf_t *gcf = conf;

    ssize_t      size;
    ngx_int_t    rc;
    ngx_str_t   *value, name, s;
    ngx_uint_t   i;

    if (gcf->zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    size = 0;
    name.len = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        rc = ngx_http_gw_conf_zone_arg(cf, &value[i], &name, &size);

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            gcf->interval = ngx_parse_time(&s, 0);

            if (gcf->interval == (ngx_msec_t) NGX_ERROR
                || gcf->interval < 10)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (gcf->interval == NGX_CONF_UNSET_MSEC) {
        gcf->interval = 1000;
    }

    gcf->zone = ngx_http_gw_conf_zone_add(cf, &name, size,
                                          &ngx_http_gw_config_module,
                                          ngx_http_gw_config_init_zone, gcf);
    if (gcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    gcf->log = cf->log;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" of \"gw_config\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * The zone: kept whole across a reload of the same name and size (the
 * snapshot serves on at once, and the old workers' pins stay valid);
 * else a header, the health slots, then snapshots as they come.
 */

static ngx_int_t
ngx_http_gw_config_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_config_main_conf_t  *ogcf = data;

    size_t                           len;
    ngx_slab_pool_t                 *shpool;
    ngx_http_gw_config_sh_t         *sh;
    ngx_http_gw_config_main_conf_t  *gcf;

    gcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    gcf->shpool = shpool;

    if (ogcf != NULL) {
        gcf->sh = ogcf->sh;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        gcf->sh = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_gw_config_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    gcf->sh = sh;
    sh->next_gen = 1;

    len = sizeof(" in gw_config zone \"\"") + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in gw_config zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone refuses a build, it is not a fault: no [crit] */

    shpool->log_nomem = 0;

    return ngx_http_gw_config_health_init(gcf, shpool, shm_zone->shm.size);
}


static void *
ngx_http_gw_config_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_config_main_conf_t  *gcf;

    gcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_config_main_conf_t));
    if (gcf == NULL) {
        return NULL;
    }

    gcf->interval = NGX_CONF_UNSET_MSEC;

    return gcf;
}


static ngx_int_t
ngx_http_gw_config_init(ngx_conf_t *cf)
{
    ngx_http_gw_config_main_conf_t  *gcf;

    ngx_http_gw_config_conf = NULL;

    gcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_config_module);

    if (ngx_http_gw_config_status_init(cf, gcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (gcf->zone == NULL) {
        return NGX_OK;
    }

    if (ngx_http_gw_config_follow_init(cf, gcf) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_gw_config_conf = gcf;

    return NGX_OK;
}


int64_t
ngx_http_gw_config_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/* whether a process is still there (EPERM: it is, not ours to signal) */

ngx_uint_t
ngx_http_gw_config_alive(ngx_pid_t pid)
{
    if (pid <= 0) {
        return 0;
    }

    return kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


/* a worker claims a pin slot: a free one, or one whose process is gone */

static ngx_int_t
ngx_http_gw_config_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                       i, j;
    ngx_atomic_uint_t                pid;
    ngx_event_t                     *ev;
    ngx_http_gw_config_pin_t        *pin;
    ngx_http_gw_config_main_conf_t  *gcf;

    gcf = ngx_http_gw_config_conf;

    if (gcf == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ngx_queue_init(&ngx_http_gw_config_uses);

    for (i = 0; i < NGX_HTTP_GW_CONFIG_PINS; i++) {
        pin = &gcf->sh->pins[i];
        pid = pin->pid;

        if (pid != 0 && ngx_http_gw_config_alive((ngx_pid_t) pid)) {
            continue;
        }

        if (!ngx_atomic_cmp_set(&pin->pid, pid, (ngx_atomic_uint_t) ngx_pid)) {
            continue;
        }

        for (j = 0; j < NGX_HTTP_GW_CONFIG_PIN_GENS; j++) {
            pin->gens[j] = 0;
        }

        pin->floor = 0;
        ngx_memory_barrier();

        ngx_http_gw_config_pin = pin;
        break;
    }

    if (ngx_http_gw_config_pin == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "gw_config: no pin slot left for this worker "
                      "(more than %d processes): it serves no snapshot",
                      NGX_HTTP_GW_CONFIG_PINS);
    }

    ev = &ngx_http_gw_config_tick_event;
    ev->handler = ngx_http_gw_config_tick;
    ev->log = cycle->log;
    ev->data = gcf;
    ev->cancelable = 1;

    ngx_add_timer(ev, 1);

    return NGX_OK;
}


static void
ngx_http_gw_config_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                 j;
    ngx_http_gw_config_pin_t  *pin;

    if (ngx_http_gw_config_conf == NULL) {
        return;
    }

    ngx_http_gw_config_follow_exit(ngx_http_gw_config_conf);

    pin = ngx_http_gw_config_pin;

    if (pin == NULL) {
        return;
    }

    for (j = 0; j < NGX_HTTP_GW_CONFIG_PIN_GENS; j++) {
        pin->gens[j] = 0;
    }

    pin->floor = 0;
    ngx_memory_barrier();

    (void) ngx_atomic_cmp_set(&pin->pid, (ngx_atomic_uint_t) ngx_pid, 0);

    ngx_http_gw_config_pin = NULL;
}


/*
 * Every worker's tick: lets go of the current snapshot when a newer one
 * is published and no request uses it (an idle worker holds nothing
 * back), then the election and, on the builder, the follower.
 */

static void
ngx_http_gw_config_tick(ngx_event_t *ev)
{
    ngx_atomic_uint_t                 c;
    ngx_http_gw_config_use_t         *cur;
    ngx_http_gw_config_main_conf_t   *gcf;

    gcf = ev->data;
    cur = ngx_http_gw_config_cur;

    if (cur != NULL) {
        c = gcf->sh->current;

        if (ngx_http_gw_config_cur_gen(c) != cur->gen && cur->refs == 1) {
            ngx_http_gw_config_cur = NULL;
            ngx_http_gw_config_unref(cur);
        }
    }

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_gw_config_follow_exit(gcf);
        return;
    }

    ngx_http_gw_config_follow_tick(gcf);

    ngx_add_timer(ev, NGX_HTTP_GW_CONFIG_TICK);
}


ngx_http_gw_snap_t *
ngx_http_gw_snapshot_get(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_gw_config_use_t  *use;

    if (ngx_http_gw_config_conf == NULL || ngx_http_gw_config_pin == NULL) {
        return NULL;
    }

    use = ngx_http_gw_config_held(r);

    if (use != NULL) {
        return use->snap;
    }

    use = ngx_http_gw_config_acquire();
    if (use == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_gw_config_unpin;
    cln->data = use;
    use->refs++;

    ngx_http_set_ctx(r, use, ngx_http_gw_config_module);

    return use->snap;
}


/* the snapshot r has pinned, or NULL (pins nothing) */

ngx_http_gw_snap_t *
ngx_http_gw_config_pinned(ngx_http_request_t *r)
{
    ngx_http_gw_config_use_t  *use;

    if (ngx_http_gw_config_conf == NULL) {
        return NULL;
    }

    use = ngx_http_gw_config_held(r);

    return (use != NULL) ? use->snap : NULL;
}


/*
 * The use r pinned already, or NULL: in the ctx, or, after an internal
 * redirect cleared the ctx (not the pool's cleanups), in its cleanup,
 * put back in the ctx.
 */

static ngx_http_gw_config_use_t *
ngx_http_gw_config_held(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_gw_config_use_t  *use;

    use = ngx_http_get_module_ctx(r, ngx_http_gw_config_module);

    if (use != NULL) {
        return use;
    }

    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_gw_config_unpin) {
            use = cln->data;
            ngx_http_set_ctx(r, use, ngx_http_gw_config_module);
            return use;
        }
    }

    return NULL;
}


/*
 * This worker's use of the current snapshot: the one it has (one load),
 * or a new one, pinned and checked still current.  NULL when nothing is
 * published, or on no memory.
 */

static ngx_http_gw_config_use_t *
ngx_http_gw_config_acquire(void)
{
    uint64_t                         gen;
    ngx_int_t                        entry;
    ngx_atomic_uint_t                c;
    ngx_http_gw_config_use_t        *use, *old;
    ngx_http_gw_config_main_conf_t  *gcf;

    gcf = ngx_http_gw_config_conf;

    for ( ;; ) {
        c = gcf->sh->current;

        if (c == 0) {
            return NULL;
        }

        gen = ngx_http_gw_config_cur_gen(c);

        if (ngx_http_gw_config_cur != NULL
            && ngx_http_gw_config_cur->gen == gen)
        {
            return ngx_http_gw_config_cur;
        }

        entry = ngx_http_gw_config_pin_add(gen);

        if (gcf->sh->current == c) {
            break;
        }

        /* replaced meanwhile: it may be freed already, take the new one */

        if (entry >= 0) {
            (void) ngx_atomic_cmp_set(&ngx_http_gw_config_pin->gens[entry],
                                      gen, 0);

        } else if (--ngx_http_gw_config_floored == 0) {
            ngx_http_gw_config_pin->floor = 0;
            ngx_memory_barrier();
        }
    }

    use = ngx_calloc(sizeof(ngx_http_gw_config_use_t), ngx_cycle->log);
    if (use == NULL) {
        if (entry >= 0) {
            (void) ngx_atomic_cmp_set(&ngx_http_gw_config_pin->gens[entry],
                                      gen, 0);

        } else if (--ngx_http_gw_config_floored == 0) {
            ngx_http_gw_config_pin->floor = 0;
        }

        return NULL;
    }

    use->snap = (ngx_http_gw_snap_t *)
                    ((u_char *) gcf->shpool + ngx_http_gw_config_cur_off(c));
    use->gen = gen;
    use->entry = entry;
    use->refs = 1;

    ngx_queue_insert_tail(&ngx_http_gw_config_uses, &use->queue);

    old = ngx_http_gw_config_cur;
    ngx_http_gw_config_cur = use;

    if (old != NULL) {
        ngx_http_gw_config_unref(old);
    }

    return use;
}


/* publishes gen in this worker's slot: an entry's index, or -1 (floor) */

static ngx_int_t
ngx_http_gw_config_pin_add(uint64_t gen)
{
    ngx_uint_t                 i;
    ngx_atomic_uint_t          f;
    ngx_http_gw_config_pin_t  *pin;

    pin = ngx_http_gw_config_pin;

    for (i = 0; i < NGX_HTTP_GW_CONFIG_PIN_GENS; i++) {
        if (pin->gens[i] == 0 && ngx_atomic_cmp_set(&pin->gens[i], 0, gen)) {
            return i;
        }
    }

    /* more snapshots in use than entries: everything from gen up */

    f = pin->floor;

    if (f == 0 || gen < f) {
        (void) ngx_atomic_cmp_set(&pin->floor, f, gen);

    } else {
        (void) ngx_atomic_cmp_set(&pin->floor, f, f);
    }

    ngx_http_gw_config_floored++;

    return -1;
}


static void
ngx_http_gw_config_pin_remove(ngx_http_gw_config_use_t *use)
{
    ngx_http_gw_config_pin_t  *pin;

    pin = ngx_http_gw_config_pin;

    if (pin == NULL) {
        return;
    }

    if (use->entry >= 0) {
        (void) ngx_atomic_cmp_set(&pin->gens[use->entry], use->gen, 0);
        return;
    }

    if (--ngx_http_gw_config_floored == 0) {
        (void) ngx_atomic_cmp_set(&pin->floor, pin->floor, 0);
    }
}


/* one holder less; the last one runs the cleanups and unpins */

static void
ngx_http_gw_config_unref(ngx_http_gw_config_use_t *use)
{
    ngx_uint_t                 i;
    ngx_http_gw_snap_local_t  *local;

    if (--use->refs > 0) {
        return;
    }

    for (i = 0; i < NGX_HTTP_GW_SNAP_LOCALS; i++) {
        local = &use->locals[i];

        if (local->cleanup != NULL) {
            local->cleanup(local->data);
        }
    }

    if (use->re != NULL) {
        gw_router_re_free(use->re);
    }

    ngx_queue_remove(&use->queue);

    ngx_http_gw_config_pin_remove(use);

    ngx_free(use);
}


static void
ngx_http_gw_config_unpin(void *data)
{
    ngx_http_gw_config_use_t  *use = data;

    ngx_http_gw_config_unref(use);
}


static ngx_http_gw_config_use_t *
ngx_http_gw_config_find(ngx_http_gw_snap_t *s)
{
    ngx_queue_t               *q;
    ngx_http_gw_config_use_t  *use;

    if (ngx_http_gw_config_cur != NULL && ngx_http_gw_config_cur->snap == s) {
        return ngx_http_gw_config_cur;
    }

    if (ngx_http_gw_config_conf == NULL || ngx_http_gw_config_pin == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_http_gw_config_uses);
         q != ngx_queue_sentinel(&ngx_http_gw_config_uses);
         q = ngx_queue_next(q))
    {
        use = ngx_queue_data(q, ngx_http_gw_config_use_t, queue);

        if (use->snap == s) {
            return use;
        }
    }

    return NULL;
}


gw_router_re_t *
ngx_http_gw_snapshot_re(ngx_http_gw_snap_t *s)
{
    gw_router_err_t            err;
    ngx_http_gw_config_use_t  *use;

    use = ngx_http_gw_config_find(s);

    if (use == NULL) {
        return NULL;
    }

    if (!use->re_done) {
        use->re_done = 1;
        use->re = gw_router_re_create(ngx_http_gw_snap_router(s), &err);

        if (use->re == NULL) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "gw_config: the regexes of revision %uL do not "
                          "compile in this worker: %s",
                          s->revision, err.msg);
        }
    }

    return use->re;
}


ngx_http_gw_snap_local_t *
ngx_http_gw_snapshot_local(ngx_http_gw_snap_t *s, ngx_uint_t slot)
{
    ngx_http_gw_config_use_t  *use;

    if (slot >= NGX_HTTP_GW_SNAP_LOCALS) {
        return NULL;
    }

    use = ngx_http_gw_config_find(s);

    if (use == NULL) {
        return NULL;
    }

    return &use->locals[slot];
}


ngx_http_gw_snap_upstream_t *
ngx_http_gw_snapshot_upstream(ngx_http_gw_snap_t *s, ngx_str_t *id)
{
    size_t                        len;
    ngx_int_t                     rc;
    ngx_uint_t                    lo, hi, mid;
    ngx_http_gw_snap_upstream_t  *u;

    u = ngx_http_gw_snap_upstreams(s);
    lo = 0;
    hi = s->nupstreams;

    /* sorted as strcmp() sorts: bytes, then the shorter first */

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        len = ngx_min(id->len, u[mid].id.len);

        rc = ngx_memcmp(ngx_http_gw_snap_string(s, u[mid].id), id->data, len);

        if (rc == 0) {
            rc = (ngx_int_t) u[mid].id.len - (ngx_int_t) id->len;
        }

        if (rc == 0) {
            return &u[mid];
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NULL;
}
