
/*
 * Copyright (C) Tollgate
 *
 * Per-plugin metrics (docs/plugins-shared.md), appended to every scrape of
 * gw_metrics_endpoint through ngx_http_gw_metrics_exporter():
 *
 *   gw_plugin_calls_total{plugin,phase,result}  calls by outcome: ok,
 *                                  error, budget, memory, timeout
 *   gw_plugin_seconds_total{plugin,phase}       time spent in them
 *   gw_plugin_call_seconds_bucket{plugin,phase,le}  and how it was spread
 *                                  (a histogram of each run of a handler,
 *                                  with _sum and _count)
 *   gw_plugin_allocated_bytes_total{plugin,phase}  bytes their states
 *                                  allocated during them
 *   gw_plugin_memory_bytes{plugin}              what the plugin's states
 *                                  hold, summed over the live workers
 *   gw_plugin_memory_max_bytes{plugin}          the cap of each state
 *
 * They live in a small zone of fixed size ("gw_plugin_metrics", made when
 * the configuration has plugins): atomic counters per (slot, phase,
 * result), per (slot, phase) and per (slot, phase, bucket), the caps
 * (written at configuration time), and one row of memory gauges per
 * worker (by ngx_worker, owned by the process whose pid it holds).  A
 * plugin's slot is found by its name when the zone is set up (in the
 * master, at configuration time), so a reload that adds or reorders
 * plugins leaves every counter where it was; at most
 * NGX_HTTP_GW_LUA_METRICS_MAX plugin names are ever counted.
 *
 * A call adds to the worker's own counters (plain additions: a locked
 * one costs more than the rest of the bookkeeping); they go to the zone,
 * an atomic addition each, NGX_HTTP_GW_LUA_METRICS_FLUSH ms after the
 * first call not yet there, before this worker's own scrape and when the
 * worker exits.  A scrape answered by another worker sees a call at most
 * that late.
 */


#include "ngx_http_gw_lua.h"
#include "ngx_http_gw_metrics.h"


#define NGX_HTTP_GW_LUA_METRICS_MAX      256        /* plugin names */
#define NGX_HTTP_GW_LUA_METRICS_WORKERS  64         /* memory rows */

#define NGX_HTTP_GW_LUA_RESULT_OK        0
#define NGX_HTTP_GW_LUA_RESULT_ERROR     1
#define NGX_HTTP_GW_LUA_RESULT_BUDGET    2
#define NGX_HTTP_GW_LUA_RESULT_MEMORY    3
#define NGX_HTTP_GW_LUA_RESULT_TIMEOUT   4
#define NGX_HTTP_GW_LUA_RESULTS          5

#define NGX_HTTP_GW_LUA_BUCKETS          7          /* the last: +Inf */

#define NGX_HTTP_GW_LUA_METRICS_FLUSH    100        /* ms */


typedef struct {
    ngx_atomic_t                pid;            /* 0: free */
    ngx_atomic_t                bytes[NGX_HTTP_GW_LUA_METRICS_MAX];
} ngx_http_gw_lua_metrics_row_t;


typedef struct {
    ngx_atomic_t                calls[NGX_HTTP_GW_LUA_METRICS_MAX]
                                     [NGX_HTTP_GW_LUA_PHASES]
                                     [NGX_HTTP_GW_LUA_RESULTS];
    ngx_atomic_t                ns[NGX_HTTP_GW_LUA_METRICS_MAX]
                                  [NGX_HTTP_GW_LUA_PHASES];
    ngx_atomic_t                runs[NGX_HTTP_GW_LUA_METRICS_MAX]
                                    [NGX_HTTP_GW_LUA_PHASES]
                                    [NGX_HTTP_GW_LUA_BUCKETS];
    ngx_atomic_t                bytes[NGX_HTTP_GW_LUA_METRICS_MAX]
                                     [NGX_HTTP_GW_LUA_PHASES];
    ngx_atomic_t                max[NGX_HTTP_GW_LUA_METRICS_MAX];
    ngx_http_gw_lua_metrics_row_t  rows[NGX_HTTP_GW_LUA_METRICS_WORKERS];
    ngx_uint_t                  nnames;
    u_char                      len[NGX_HTTP_GW_LUA_METRICS_MAX];
    u_char                      names[NGX_HTTP_GW_LUA_METRICS_MAX]
                                     [NGX_HTTP_GW_LUA_NAME_MAX];
} ngx_http_gw_lua_metrics_sh_t;


/*
 * What this worker's calls of a (slot, phase) added since the last flush:
 * one cache line.  The counts fit in 32 bits: they are flushed at least
 * every NGX_HTTP_GW_LUA_METRICS_FLUSH ms.
 */
typedef struct {
    uint64_t                    ns;
    uint64_t                    bytes;
    uint32_t                    calls[NGX_HTTP_GW_LUA_RESULTS];
    uint32_t                    runs[NGX_HTTP_GW_LUA_BUCKETS];
} ngx_http_gw_lua_metrics_pend_t;


/* the configuration's plugins (each holds its slot: mslot) */
typedef struct {
    ngx_http_gw_lua_metrics_sh_t  *sh;
    ngx_array_t                   *plugins;
    size_t                         mem_max;     /* a state's cap */
} ngx_http_gw_lua_metrics_t;


static ngx_int_t ngx_http_gw_lua_metrics_zone_init(ngx_shm_zone_t *zone,
    void *data);
static ngx_http_gw_lua_metrics_t *ngx_http_gw_lua_metrics_get(void);
static ngx_chain_t *ngx_http_gw_lua_metrics_export(ngx_http_request_t *r,
    void *data);
static void ngx_http_gw_lua_metrics_flush_handler(ngx_event_t *ev);


static ngx_http_gw_lua_metrics_pend_t
    ngx_http_gw_lua_metrics_pend[NGX_HTTP_GW_LUA_METRICS_MAX]
                                [NGX_HTTP_GW_LUA_PHASES]
#if (__GNUC__)
    __attribute__ ((aligned (64)))
#endif
    ;
static u_char      ngx_http_gw_lua_metrics_listed[NGX_HTTP_GW_LUA_METRICS_MAX]
                                                 [NGX_HTTP_GW_LUA_PHASES];
static ngx_http_gw_lua_metrics_pend_t
    *ngx_http_gw_lua_metrics_dirty[NGX_HTTP_GW_LUA_METRICS_MAX
                                   * NGX_HTTP_GW_LUA_PHASES];
static ngx_uint_t                  ngx_http_gw_lua_metrics_ndirty;
static ngx_http_gw_lua_metrics_t  *ngx_http_gw_lua_metrics_pend_m;
static ngx_event_t                 ngx_http_gw_lua_metrics_flush_ev;
static ngx_connection_t            ngx_http_gw_lua_metrics_flush_conn;


static const char  *ngx_http_gw_lua_metrics_results[] = {
    "ok", "error", "budget", "memory", "timeout"
};


/* the histogram's upper bounds, in nanoseconds and as le labels */

static const uint64_t  ngx_http_gw_lua_metrics_bounds[] = {
    10000, 100000, 1000000, 10000000, 100000000, 1000000000
};

static const char  *ngx_http_gw_lua_metrics_le[] = {
    "0.00001", "0.0001", "0.001", "0.01", "0.1", "1", "+Inf"
};


#define ngx_http_gw_lua_metrics_plugin(m, i)                                 \
    (&((ngx_http_gw_lua_plugin_t *) (m)->plugins->elts)[i])


/*
 * At configuration time (core's postconfiguration): plugins is the array
 * of the configuration's ngx_http_gw_lua_plugin_t, complete; mem_max the
 * cap of their states.  Adds the zone and the exporter; nothing when
 * there are no plugins.
 */
ngx_int_t
ngx_http_gw_lua_metrics_init(ngx_conf_t *cf, ngx_array_t *plugins,
    size_t mem_max)
{
    ngx_str_t                   name = ngx_string("gw_plugin_metrics");
    ngx_shm_zone_t             *zone;
    ngx_http_gw_lua_metrics_t  *m;

    if (plugins == NULL || plugins->nelts == 0) {
        return NGX_OK;
    }

    m = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_lua_metrics_t));
    if (m == NULL) {
        return NGX_ERROR;
    }

    m->plugins = plugins;
    m->mem_max = mem_max;

    zone = ngx_shared_memory_add(cf, &name,
                                 sizeof(ngx_http_gw_lua_metrics_sh_t)
                                 + 8 * ngx_pagesize,
                                 &ngx_http_gw_lua_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    if (zone->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared zone \"%V\" is already used", &name);
        return NGX_ERROR;
    }

    zone->init = ngx_http_gw_lua_metrics_zone_init;
    zone->data = m;

    return ngx_http_gw_metrics_exporter(cf, ngx_http_gw_lua_metrics_export,
                                        m);
}


/* in the master, once the configuration is read: each plugin's slot */
static ngx_int_t
ngx_http_gw_lua_metrics_zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_uint_t                     i, j;
    ngx_slab_pool_t               *shpool;
    ngx_http_gw_lua_plugin_t      *p;
    ngx_http_gw_lua_metrics_t     *m, *om;
    ngx_http_gw_lua_metrics_sh_t  *sh;

    m = zone->data;
    om = data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (om != NULL) {
        sh = om->sh;

    } else if (zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_calloc(shpool, sizeof(ngx_http_gw_lua_metrics_sh_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        shpool->data = sh;
    }

    m->sh = sh;

    for (i = 0; i < m->plugins->nelts; i++) {
        p = ngx_http_gw_lua_metrics_plugin(m, i);

        if (p->name.len > NGX_HTTP_GW_LUA_NAME_MAX) {
            continue;
        }

        for (j = 0; j < sh->nnames; j++) {
            if (sh->len[j] == p->name.len
                && ngx_memcmp(sh->names[j], p->name.data, p->name.len) == 0)
            {
                break;
            }
        }

        if (j == sh->nnames) {
            if (j == NGX_HTTP_GW_LUA_METRICS_MAX) {
                continue;
            }

            ngx_memcpy(sh->names[j], p->name.data, p->name.len);
            sh->len[j] = (u_char) p->name.len;

            /* the name is whole before a scrape can see it */
            ngx_memory_barrier();
            sh->nnames++;
        }

        p->mslot = j + 1;
        sh->max[j] = m->mem_max;
    }

    return NGX_OK;
}


/* the metrics of the running configuration, or NULL */
static ngx_http_gw_lua_metrics_t *
ngx_http_gw_lua_metrics_get(void)
{
    static ngx_http_gw_lua_zone_cache_t  cache;

    return ngx_http_gw_lua_zone_data(&cache,
                                     ngx_http_gw_lua_metrics_zone_init,
                                     offsetof(ngx_http_gw_lua_metrics_t, sh));
}


/*
 * One run of a handler (a call, or a resume of the access coroutine):
 * its time into the phase's total and a bucket of the histogram, the
 * bytes allocated, and when the call ended its result.
 */
void
ngx_http_gw_lua_metrics_call(ngx_http_gw_lua_plugin_t *plugin,
    ngx_uint_t phase, uint64_t ns, uint64_t allocated, gw_lua_rc_e rc)
{
    ngx_uint_t                       s, b, result, yielded;
    ngx_event_t                     *ev;
    ngx_http_gw_lua_metrics_t       *m;
    ngx_http_gw_lua_metrics_pend_t  *pd;

    yielded = ngx_http_gw_lua_redis_yielded;
    ngx_http_gw_lua_redis_yielded = 0;

    /* set with the zone, in the master: no lookup per call */
    if (plugin->mslot == 0 || phase >= NGX_HTTP_GW_LUA_PHASES) {
        return;
    }

    s = plugin->mslot - 1;
    pd = &ngx_http_gw_lua_metrics_pend[s][phase];

    if (!ngx_http_gw_lua_metrics_listed[s][phase]) {
        m = ngx_http_gw_lua_metrics_get();

        if (m == NULL) {
            return;
        }

        ngx_http_gw_lua_metrics_listed[s][phase] = 1;
        ngx_http_gw_lua_metrics_dirty[ngx_http_gw_lua_metrics_ndirty++] = pd;
        ngx_http_gw_lua_metrics_pend_m = m;

        ev = &ngx_http_gw_lua_metrics_flush_ev;

        if (!ev->timer_set) {
            /* the event log's identifier is read from ev->data */
            ngx_http_gw_lua_metrics_flush_conn.fd = (ngx_socket_t) -1;
            ev->data = &ngx_http_gw_lua_metrics_flush_conn;
            ev->handler = ngx_http_gw_lua_metrics_flush_handler;
            ev->log = ngx_cycle->log;
            ev->cancelable = 1;
            ngx_add_timer(ev, NGX_HTTP_GW_LUA_METRICS_FLUSH);
        }
    }

    pd->ns += ns;

    for (b = 0; b < NGX_HTTP_GW_LUA_BUCKETS - 1; b++) {
        if (ns <= ngx_http_gw_lua_metrics_bounds[b]) {
            break;
        }
    }

    pd->runs[b]++;
    pd->bytes += allocated;

    switch (rc) {

    case GW_LUA_OK:
        result = NGX_HTTP_GW_LUA_RESULT_OK;
        break;

    case GW_LUA_YIELD:
        if (yielded) {
            /* waiting for Redis: the call goes on, counted when it ends */
            return;
        }

        /* gw.exit() or gw.problem() ended it */
        result = NGX_HTTP_GW_LUA_RESULT_OK;
        break;

    case GW_LUA_BUDGET:
        result = NGX_HTTP_GW_LUA_RESULT_BUDGET;
        break;

    case GW_LUA_MEMORY:
        result = NGX_HTTP_GW_LUA_RESULT_MEMORY;
        break;

    case GW_LUA_TIMEOUT:
        result = NGX_HTTP_GW_LUA_RESULT_TIMEOUT;
        break;

    default:    /* GW_LUA_ERROR, GW_LUA_DEAD */
        result = NGX_HTTP_GW_LUA_RESULT_ERROR;
        break;
    }

    pd->calls[result]++;
}


/* this worker's counts into the zone, each an atomic addition */

void
ngx_http_gw_lua_metrics_flush(void)
{
    ngx_uint_t                       i, k, s, phase;
    ngx_http_gw_lua_metrics_sh_t    *sh;
    ngx_http_gw_lua_metrics_pend_t  *pd;

    if (ngx_http_gw_lua_metrics_ndirty == 0) {
        return;
    }

    sh = ngx_http_gw_lua_metrics_pend_m->sh;

    for (i = 0; i < ngx_http_gw_lua_metrics_ndirty; i++) {
        pd = ngx_http_gw_lua_metrics_dirty[i];

        s = (pd - &ngx_http_gw_lua_metrics_pend[0][0])
            / NGX_HTTP_GW_LUA_PHASES;
        phase = (pd - &ngx_http_gw_lua_metrics_pend[0][0])
                % NGX_HTTP_GW_LUA_PHASES;

        for (k = 0; k < NGX_HTTP_GW_LUA_RESULTS; k++) {
            if (pd->calls[k] != 0) {
                (void) ngx_atomic_fetch_add(&sh->calls[s][phase][k],
                                            (ngx_atomic_int_t) pd->calls[k]);
            }
        }

        for (k = 0; k < NGX_HTTP_GW_LUA_BUCKETS; k++) {
            if (pd->runs[k] != 0) {
                (void) ngx_atomic_fetch_add(&sh->runs[s][phase][k],
                                            (ngx_atomic_int_t) pd->runs[k]);
            }
        }

        if (pd->ns != 0) {
            (void) ngx_atomic_fetch_add(&sh->ns[s][phase],
                                        (ngx_atomic_int_t) pd->ns);
        }

        if (pd->bytes != 0) {
            (void) ngx_atomic_fetch_add(&sh->bytes[s][phase],
                                        (ngx_atomic_int_t) pd->bytes);
        }

        ngx_memzero(pd, sizeof(ngx_http_gw_lua_metrics_pend_t));
        ngx_http_gw_lua_metrics_listed[s][phase] = 0;
    }

    ngx_http_gw_lua_metrics_ndirty = 0;
}


static void
ngx_http_gw_lua_metrics_flush_handler(ngx_event_t *ev)
{
    ngx_http_gw_lua_metrics_flush();
}


/*
 * The memory gauge of plugin in this worker's row.  A worker that shuts
 * down after a reload leaves the row to its successor; a new process
 * takes the row over and clears it first.
 */
void
ngx_http_gw_lua_metrics_memory(ngx_http_gw_lua_plugin_t *plugin,
    size_t bytes)
{
    ngx_uint_t                      s;
    ngx_http_gw_lua_metrics_t      *m;
    ngx_http_gw_lua_metrics_row_t  *row;

    m = ngx_http_gw_lua_metrics_get();

    if (m == NULL || ngx_exiting
        || ngx_worker >= NGX_HTTP_GW_LUA_METRICS_WORKERS)
    {
        return;
    }

    if (plugin->mslot == 0) {
        return;
    }

    s = plugin->mslot - 1;
    row = &m->sh->rows[ngx_worker];

    if (row->pid != (ngx_atomic_uint_t) ngx_pid) {
        row->pid = 0;
        ngx_memory_barrier();
        ngx_memzero((void *) row->bytes, sizeof(row->bytes));
        ngx_memory_barrier();
        row->pid = (ngx_atomic_uint_t) ngx_pid;
    }

    row->bytes[s] = bytes;
}


/* writes s as a label value: \, " and newline escaped */
static u_char *
ngx_http_gw_lua_metrics_label(u_char *p, u_char *s, size_t len)
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


/* writes metric{plugin="<slot s's name>, the rest is the caller's */
static u_char *
ngx_http_gw_lua_metrics_start(u_char *p, const char *metric,
    ngx_http_gw_lua_metrics_sh_t *sh, ngx_uint_t s)
{
    p = ngx_cpymem(p, metric, ngx_strlen(metric));
    p = ngx_cpymem(p, "{plugin=\"", sizeof("{plugin=\"") - 1);

    return ngx_http_gw_lua_metrics_label(p, sh->names[s], sh->len[s]);
}


/* writes ",phase="<phase>"} <ns in seconds, microseconds>\n" */
static u_char *
ngx_http_gw_lua_metrics_seconds(u_char *p, ngx_uint_t phase,
    ngx_atomic_uint_t ns)
{
    ns /= 1000;

    return ngx_sprintf(p, "\",phase=\"%s\"} %uA.%06uA\n",
                       ngx_http_gw_lua_phase_name(phase),
                       ns / 1000000, ns % 1000000);
}


/* 1 when the slot's handlers of phase ran at least once */
static ngx_uint_t
ngx_http_gw_lua_metrics_ran(ngx_http_gw_lua_metrics_sh_t *sh, ngx_uint_t s,
    ngx_uint_t phase)
{
    ngx_uint_t  k;

    for (k = 0; k < NGX_HTTP_GW_LUA_RESULTS; k++) {
        if (sh->calls[s][phase][k] != 0) {
            return 1;
        }
    }

    for (k = 0; k < NGX_HTTP_GW_LUA_BUCKETS; k++) {
        if (sh->runs[s][phase][k] != 0) {
            return 1;
        }
    }

    return sh->ns[s][phase] != 0;
}


/* the histogram of the runs of (s, phase): cumulative buckets, sum, count */
static u_char *
ngx_http_gw_lua_metrics_histogram(u_char *p, ngx_http_gw_lua_metrics_sh_t *sh,
    ngx_uint_t s, ngx_uint_t phase)
{
    ngx_uint_t          k;
    const char         *name;
    ngx_atomic_uint_t   n, ns;

    n = 0;
    ns = sh->ns[s][phase];
    name = ngx_http_gw_lua_phase_name(phase);

    for (k = 0; k < NGX_HTTP_GW_LUA_BUCKETS; k++) {
        n += sh->runs[s][phase][k];

        p = ngx_http_gw_lua_metrics_start(p, "gw_plugin_call_seconds_bucket",
                                          sh, s);
        p = ngx_sprintf(p, "\",phase=\"%s\",le=\"%s\"} %uA\n",
                        name, ngx_http_gw_lua_metrics_le[k], n);
    }

    p = ngx_http_gw_lua_metrics_start(p, "gw_plugin_call_seconds_sum", sh, s);
    p = ngx_http_gw_lua_metrics_seconds(p, phase, ns);

    p = ngx_http_gw_lua_metrics_start(p, "gw_plugin_call_seconds_count",
                                      sh, s);

    return ngx_sprintf(p, "\",phase=\"%s\"} %uA\n", name, n);
}


static ngx_chain_t *
ngx_http_gw_lua_metrics_export(ngx_http_request_t *r, void *data)
{
    u_char                        *p;
    size_t                         size, len;
    ngx_pid_t                      pid;
    ngx_uint_t                     i, j, k, s, n;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_atomic_uint_t              v;
    ngx_http_gw_lua_metrics_t     *m = data;
    ngx_http_gw_lua_metrics_sh_t  *sh;
    ngx_uint_t                     live[NGX_HTTP_GW_LUA_METRICS_WORKERS];

    static const char  *family[] = {
        "# HELP gw_plugin_calls_total Calls of Lua plugins' handlers, by "
        "plugin, phase and result.\n"
        "# TYPE gw_plugin_calls_total counter\n",
        "# HELP gw_plugin_seconds_total Time spent in Lua plugins' "
        "handlers, by plugin and phase.\n"
        "# TYPE gw_plugin_seconds_total counter\n",
        "# HELP gw_plugin_call_seconds Time of each run of a Lua plugin's "
        "handler, by plugin and phase.\n"
        "# TYPE gw_plugin_call_seconds histogram\n",
        "# HELP gw_plugin_allocated_bytes_total Bytes Lua plugins' states "
        "allocated in their handlers, by plugin and phase.\n"
        "# TYPE gw_plugin_allocated_bytes_total counter\n",
        "# HELP gw_plugin_memory_bytes Memory held by a Lua plugin's "
        "states, all live workers.\n"
        "# TYPE gw_plugin_memory_bytes gauge\n",
        "# HELP gw_plugin_memory_max_bytes The memory cap of each of a Lua "
        "plugin's states.\n"
        "# TYPE gw_plugin_memory_max_bytes gauge\n"
    };

    /* this worker's calls first */
    ngx_http_gw_lua_metrics_flush();

    sh = m->sh;

    if (sh == NULL) {
        return NULL;
    }

    n = sh->nnames;
    ngx_memory_barrier();

    if (n == 0) {
        return NULL;
    }

    /* the longest line: a name escaped in full, every label */
    len = ngx_max(sizeof("gw_plugin_calls_total{plugin=\"\","
                         "phase=\"header_filter\",result=\"timeout\"} \n"),
                  sizeof("gw_plugin_call_seconds_bucket{plugin=\"\","
                         "phase=\"header_filter\",le=\"0.00001\"} \n"))
          - 1 + 2 * NGX_HTTP_GW_LUA_NAME_MAX + 2 * NGX_ATOMIC_T_LEN + 12;

    size = 0;

    for (k = 0; k < sizeof(family) / sizeof(family[0]); k++) {
        size += ngx_strlen(family[k]);
    }

    /* per phase: calls, seconds, the histogram, bytes; memory, cap */
    size += n * len * (NGX_HTTP_GW_LUA_PHASES
                       * (NGX_HTTP_GW_LUA_RESULTS + 1
                          + NGX_HTTP_GW_LUA_BUCKETS + 2 + 1) + 2);

    cl = ngx_http_gw_metrics_chain(r, size);
    if (cl == NULL) {
        return NGX_CHAIN_ERROR;
    }

    b = cl->buf;
    p = b->last;

    /* calls, and the phases a plugin was called in */

    p = ngx_cpymem(p, family[0], ngx_strlen(family[0]));

    for (s = 0; s < n; s++) {
        for (j = 0; j < NGX_HTTP_GW_LUA_PHASES; j++) {
            for (k = 0; k < NGX_HTTP_GW_LUA_RESULTS; k++) {
                v = sh->calls[s][j][k];

                if (v == 0) {
                    continue;
                }

                p = ngx_http_gw_lua_metrics_start(p, "gw_plugin_calls_total",
                                                  sh, s);
                p = ngx_sprintf(p, "\",phase=\"%s\",result=\"%s\"} %uA\n",
                                ngx_http_gw_lua_phase_name(j),
                                ngx_http_gw_lua_metrics_results[k], v);
            }
        }
    }

    p = ngx_cpymem(p, family[1], ngx_strlen(family[1]));

    for (s = 0; s < n; s++) {
        for (j = 0; j < NGX_HTTP_GW_LUA_PHASES; j++) {
            if (ngx_http_gw_lua_metrics_ran(sh, s, j)) {
                p = ngx_http_gw_lua_metrics_start(p,
                                                  "gw_plugin_seconds_total",
                                                  sh, s);
                p = ngx_http_gw_lua_metrics_seconds(p, j, sh->ns[s][j]);
            }
        }
    }

    p = ngx_cpymem(p, family[2], ngx_strlen(family[2]));

    for (s = 0; s < n; s++) {
        for (j = 0; j < NGX_HTTP_GW_LUA_PHASES; j++) {
            if (ngx_http_gw_lua_metrics_ran(sh, s, j)) {
                p = ngx_http_gw_lua_metrics_histogram(p, sh, s, j);
            }
        }
    }

    p = ngx_cpymem(p, family[3], ngx_strlen(family[3]));

    for (s = 0; s < n; s++) {
        for (j = 0; j < NGX_HTTP_GW_LUA_PHASES; j++) {
            if (ngx_http_gw_lua_metrics_ran(sh, s, j)) {
                p = ngx_http_gw_lua_metrics_start(p,
                                            "gw_plugin_allocated_bytes_total",
                                            sh, s);
                p = ngx_sprintf(p, "\",phase=\"%s\"} %uA\n",
                                ngx_http_gw_lua_phase_name(j),
                                sh->bytes[s][j]);
            }
        }
    }

    /* memory: the rows of live processes */

    for (i = 0; i < NGX_HTTP_GW_LUA_METRICS_WORKERS; i++) {
        pid = (ngx_pid_t) sh->rows[i].pid;
        live[i] = (pid != 0 && (kill(pid, 0) == 0 || ngx_errno == NGX_EPERM));
    }

    p = ngx_cpymem(p, family[4], ngx_strlen(family[4]));

    for (s = 0; s < n; s++) {
        v = 0;

        for (i = 0; i < NGX_HTTP_GW_LUA_METRICS_WORKERS; i++) {
            if (live[i]) {
                v += sh->rows[i].bytes[s];
            }
        }

        p = ngx_http_gw_lua_metrics_start(p, "gw_plugin_memory_bytes", sh, s);
        p = ngx_sprintf(p, "\"} %uA\n", v);
    }

    p = ngx_cpymem(p, family[5], ngx_strlen(family[5]));

    for (s = 0; s < n; s++) {
        if (sh->max[s] != 0) {
            p = ngx_http_gw_lua_metrics_start(p, "gw_plugin_memory_max_bytes",
                                              sh, s);
            p = ngx_sprintf(p, "\"} %uA\n", sh->max[s]);
        }
    }

    b->last = p;

    return cl;
}
