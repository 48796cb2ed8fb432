
/*
 * Copyright (C) Tollgate
 *
 * "gw_upstream" (docs/routing.md): the load balancer of an upstream{}
 * block whose servers are the targets of the admin API's upstream the
 * gw_router request is going to (ctx->upstream of
 * ngx_http_gw_router.h), from the snapshot the request pinned.  Targets
 * follow the snapshots without reload; a request keeps its snapshot, so
 * one to a removed target finishes.
 *
 * Like "hash" or "least_conn" it only sets the peer initialization, so
 * "keepalive" after it wraps it as usual: the keepalive module caches
 * connections by pc->sockaddr, which is the target's sockaddr copied
 * from the snapshot.
 *
 * Algorithms (the upstream's "algorithm"): smooth weighted round robin
 * with state per worker per (upstream id, version), reset when the
 * version changes; least connections by the health slot's "conns"
 * (shared by the workers); consistent hashing by the upstream's hash_on
 * value on the snapshot's ring (lib/balance), round robin when the value
 * is empty.  A failed try moves on to the next target not yet tried and
 * up (proxy_next_upstream decides what is a failure; at most one try per
 * target).  Targets that are out (ngx_http_gw_upstream_health.c) are
 * skipped; when none of the upstream's targets is up, the request is
 * answered 503 problem before the proxy starts (no try "anyway": that
 * would hammer targets the health checks just took out); a route with
 * no upstream answers 502 problem.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "gw_balance.h"
#include "ngx_http_gw.h"
#include "ngx_http_gw_router.h"
#include "ngx_http_gw_upstream.h"


#define NGX_HTTP_GW_UPSTREAM_STATE_TTL   60000   /* ms an unused round
                                                    robin state is kept */


/* a worker's round-robin state of one upstream version */
typedef struct {
    ngx_str_node_t              sn;         /* str: the upstream's id */
    ngx_queue_t                 queue;      /* most recently used first */
    ngx_msec_t                  used;
    uint64_t                    version;
    ngx_uint_t                  n;
    ngx_uint_t                  start;      /* least_conn's next tie */
    int64_t                    *current;    /* n, smooth WRR */
} ngx_http_gw_upstream_state_t;


/* a request's balancing */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_gw_snap_t         *snap;
    ngx_http_gw_snap_upstream_t *upstream;  /* NULL: nothing to balance */
    ngx_http_gw_snap_target_t  *targets;
    const char                 *why;        /* when upstream is NULL */

    ngx_uint_t                  current;    /* the target in use, or
                                               NGX_HTTP_GW_SNAP_NONE */
    size_t                      point;      /* hash: the key's ring point */
    unsigned                    hashed:1;

    uint8_t                    *tried;      /* n each */
    uint8_t                    *skip;
    uint32_t                   *weights;
    uint64_t                   *conns;
    int64_t                    *own;        /* round robin state of an
                                               older version, or NULL */
    ngx_str_t                  *names;      /* pc->name of each target */
} ngx_http_gw_upstream_peer_t;


static char *ngx_http_gw_upstream(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_upstream_init(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_gw_upstream_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_http_gw_upstream_get_peer(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_gw_upstream_free_peer(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static ngx_int_t ngx_http_gw_upstream_pick(ngx_http_gw_upstream_peer_t *p,
    ngx_log_t *log);
static ngx_http_gw_upstream_state_t *ngx_http_gw_upstream_state(
    ngx_http_gw_snap_t *snap, ngx_http_gw_snap_upstream_t *up,
    ngx_log_t *log);
static ngx_http_gw_snap_upstream_t *ngx_http_gw_upstream_of(
    ngx_http_gw_router_ctx_t *ctx);
static ngx_int_t ngx_http_gw_upstream_handler(ngx_http_request_t *r);
static void *ngx_http_gw_upstream_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_upstream_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_upstream_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gw_upstream_commands[] = {

    { ngx_string("gw_upstream"),
      NGX_HTTP_UPS_CONF|NGX_CONF_NOARGS,
      ngx_http_gw_upstream,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_upstream_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_upstream_postconfiguration, /* postconfiguration */

    ngx_http_gw_upstream_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gw_upstream_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_upstream_module_ctx,      /* module context */
    ngx_http_gw_upstream_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_upstream_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_gw_upstream_none = ngx_string("gw_upstream");

/* this worker's round-robin states: by id, and by last use */
static ngx_rbtree_t       ngx_http_gw_upstream_states;
static ngx_rbtree_node_t  ngx_http_gw_upstream_sentinel;
static ngx_queue_t        ngx_http_gw_upstream_lru;


/*
 * "gw_upstream" in an upstream{} block: sets the peer initialization, as
 * "hash" does.  The block needs no "server" (the targets come from the
 * snapshot), but nginx refuses an upstream{} without one, so a
 * placeholder entry is added that ngx_http_gw_upstream_init() checks
 * stays alone.
 */
static char *
ngx_http_gw_upstream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_upstream_server_t        *us;
    ngx_http_upstream_srv_conf_t      *uscf;
    ngx_http_gw_upstream_main_conf_t  *umcf;

    uscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module);

    if (uscf->peer.init_upstream != NULL) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "load balancing method redefined");
    }

    uscf->peer.init_upstream = ngx_http_gw_upstream_init;
    uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

    if (uscf->servers == NULL) {
        uscf->servers = ngx_array_create(cf->pool, 1,
                                         sizeof(ngx_http_upstream_server_t));
        if (uscf->servers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    us = ngx_array_push(uscf->servers);
    if (us == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(us, sizeof(ngx_http_upstream_server_t));
    ngx_str_set(&us->name, "gw_upstream");
    us->weight = 1;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_upstream_module);
    umcf->used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_upstream_init(ngx_conf_t *cf, ngx_http_upstream_srv_conf_t *us)
{
    if (us->servers == NULL || us->servers->nelts != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_upstream: upstream \"%V\" takes no \"server\" "
                           "(its targets come from the admin API)",
                           &us->host);
        return NGX_ERROR;
    }

    if (us->shm_zone != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_upstream: upstream \"%V\" takes no \"zone\" "
                           "(its health is in gw_config's zone)", &us->host);
        return NGX_ERROR;
    }

    us->peer.init = ngx_http_gw_upstream_init_peer;

    return NGX_OK;
}


/* the upstream ctx's request goes to: a split's, else its route's */
static ngx_http_gw_snap_upstream_t *
ngx_http_gw_upstream_of(ngx_http_gw_router_ctx_t *ctx)
{
    ngx_http_gw_snap_t  *s;

    if (ctx->upstream != NULL) {
        return ctx->upstream;
    }

    s = ctx->snap;

    if (s == NULL || ctx->route == NULL
        || ctx->route->upstream >= s->nupstreams)
    {
        return NULL;
    }

    return &ngx_http_gw_snap_upstreams(s)[ctx->route->upstream];
}


/*
 * Per request: the router's answer gives the upstream and the pinned
 * snapshot; nothing is allocated beyond a few arrays of n in r's pool.
 * Never fails but on no memory: a request with nothing to balance gets
 * a peer whose get() says why and answers NGX_BUSY (502).
 */
static ngx_int_t
ngx_http_gw_upstream_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    u_char                       *m;
    size_t                        size;
    ngx_str_t                     value;
    ngx_uint_t                    n, i;
    ngx_http_upstream_t          *u;
    ngx_http_gw_snap_point_t     *points;
    ngx_http_gw_router_ctx_t     *ctx;
    ngx_http_gw_snap_upstream_t  *up;
    ngx_http_gw_upstream_peer_t  *p;

    p = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_upstream_peer_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->request = r;
    p->current = NGX_HTTP_GW_SNAP_NONE;

    u = r->upstream;
    u->peer.data = p;
    u->peer.get = ngx_http_gw_upstream_get_peer;
    u->peer.free = ngx_http_gw_upstream_free_peer;
    u->peer.tries = 1;

    ctx = ngx_http_gw_router_ctx(r);

    if (ctx == NULL || ctx->snap == NULL) {
        p->why = "the request was not routed by gw_router";
        return NGX_OK;
    }

    up = ngx_http_gw_upstream_of(ctx);

    if (up == NULL || up->ntargets == 0) {
        p->why = "its route has no upstream";
        return NGX_OK;
    }

    n = up->ntargets;

    size = n * (2 * sizeof(uint8_t) + sizeof(uint32_t) + sizeof(uint64_t)
                + sizeof(ngx_str_t)) + 16;

    m = ngx_pcalloc(r->pool, size);
    if (m == NULL) {
        return NGX_ERROR;
    }

    /* the widest first, so each array is aligned */
    p->conns = (uint64_t *) m;
    m += n * sizeof(uint64_t);
    p->names = (ngx_str_t *) m;
    m += n * sizeof(ngx_str_t);
    p->weights = (uint32_t *) m;
    m += n * sizeof(uint32_t);
    p->tried = m;
    m += n;
    p->skip = m;

    p->snap = ctx->snap;
    p->upstream = up;
    p->targets = ngx_http_gw_snap_ptr(ctx->snap, up->targets);

    for (i = 0; i < n; i++) {
        p->weights[i] = p->targets[i].weight ? p->targets[i].weight : 1;
        p->names[i].len = p->targets[i].address.len;
        p->names[i].data = (u_char *) ngx_http_gw_snap_string(ctx->snap,
                                                  p->targets[i].address);
    }

    u->peer.tries = n;

    if (up->algorithm == NGX_HTTP_GW_SNAP_HASH && up->npoints > 0) {
        if (ngx_http_gw_router_key(r, ctx->snap, &up->hash_on, &value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (value.len > 0) {
            points = ngx_http_gw_snap_ptr(ctx->snap, up->points);
            p->point = gw_balance_ring_find((gw_balance_point_t *) points,
                                            up->npoints,
                                            gw_balance_hash(value.data,
                                                            value.len));
            p->hashed = 1;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_upstream_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_gw_upstream_peer_t  *p = data;

    ngx_int_t                   i;
    ngx_http_gw_snap_target_t  *t;
    ngx_http_gw_snap_health_t  *h;

    if (p->upstream == NULL) {
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "gw_upstream: nothing to balance: %s", p->why);
        pc->name = &ngx_http_gw_upstream_none;
        pc->tries = 0;
        return NGX_BUSY;
    }

    i = ngx_http_gw_upstream_pick(p, pc->log);

    if (i < 0) {
        pc->name = &ngx_http_gw_upstream_none;
        pc->tries = 0;
        return NGX_BUSY;
    }

    t = &p->targets[i];
    h = ngx_http_gw_snapshot_health(p->snap, t);

    (void) ngx_atomic_fetch_add(&h->conns, 1);

    p->tried[i] = 1;
    p->current = i;

    pc->sockaddr = (struct sockaddr *) t->sockaddr;
    pc->socklen = t->socklen;
    pc->name = &p->names[i];

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gw_upstream: upstream \"%s\" target %V (%ui tries left)",
                   ngx_http_gw_snap_string(p->snap, p->upstream->id),
                   pc->name, pc->tries);

    return NGX_OK;
}


/*
 * The target for the next try: not tried yet by this request, and up.
 * Returns its index, or -1 when there is none.
 */
static ngx_int_t
ngx_http_gw_upstream_pick(ngx_http_gw_upstream_peer_t *p, ngx_log_t *log)
{
    size_t                         k, np;
    int64_t                       *current;
    uint32_t                       t;
    ngx_msec_t                     now;
    ngx_uint_t                     i, n, start;
    ngx_http_gw_snap_point_t      *points;
    ngx_http_gw_snap_health_t     *h;
    ngx_http_gw_snap_upstream_t   *up;
    ngx_http_gw_upstream_state_t  *st;

    up = p->upstream;
    n = up->ntargets;
    now = ngx_current_msec;

    for (i = 0; i < n; i++) {
        h = ngx_http_gw_snapshot_health(p->snap, &p->targets[i]);
        p->skip[i] = p->tried[i]
                     || !ngx_http_gw_upstream_target_up(up, h, now);
        p->conns[i] = h->conns;
    }

    if (p->hashed) {
        points = ngx_http_gw_snap_ptr(p->snap, up->points);
        np = up->npoints;

        /* the key's point, then on around the ring */
        for (k = 0; k < np; k++) {
            t = points[(p->point + k) % np].target;

            if (t < n && !p->skip[t]) {
                return t;
            }
        }

        return -1;
    }

    st = ngx_http_gw_upstream_state(p->snap, up, log);

    if (up->algorithm == NGX_HTTP_GW_SNAP_LEAST) {
        start = (st != NULL) ? st->start++ : (ngx_uint_t) ngx_random();
        return gw_balance_least_pick(p->conns, p->weights, p->skip, n,
                                     start % n);
    }

    if (st != NULL) {
        current = st->current;

    } else {
        if (p->own == NULL) {
            p->own = ngx_pcalloc(p->request->pool, n * sizeof(int64_t));
            if (p->own == NULL) {
                return -1;
            }
        }

        current = p->own;
    }

    return gw_balance_swrr_pick(current, p->weights, p->skip, n);
}


static void
ngx_http_gw_upstream_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_http_gw_upstream_peer_t  *p = data;

    ngx_http_gw_snap_target_t  *t;
    ngx_http_gw_snap_health_t  *h;

    if (p->current == NGX_HTTP_GW_SNAP_NONE) {
        return;
    }

    t = &p->targets[p->current];
    h = ngx_http_gw_snapshot_health(p->snap, t);

    (void) ngx_atomic_fetch_add(&h->conns, (ngx_atomic_int_t) -1);

    if (state & NGX_PEER_FAILED) {
        ngx_http_gw_upstream_passive_fail(p->snap, p->upstream, t, pc->log);
    }

    p->current = NGX_HTTP_GW_SNAP_NONE;

    if (pc->tries) {
        pc->tries--;
    }
}


/*
 * This worker's round-robin state of up's version: made at first use,
 * reset when a newer version comes, kept while used (an unused one goes
 * after NGX_HTTP_GW_UPSTREAM_STATE_TTL).  NULL for an older version
 * than the state's (a request of an older snapshot: it balances on its
 * own), or on no memory.
 */
static ngx_http_gw_upstream_state_t *
ngx_http_gw_upstream_state(ngx_http_gw_snap_t *snap,
    ngx_http_gw_snap_upstream_t *up, ngx_log_t *log)
{
    u_char                        *m;
    uint32_t                       hash;
    ngx_str_t                      id;
    ngx_queue_t                   *q;
    ngx_str_node_t                *sn;
    ngx_http_gw_upstream_state_t  *st;

    if (ngx_http_gw_upstream_states.root == NULL) {
        ngx_rbtree_init(&ngx_http_gw_upstream_states,
                        &ngx_http_gw_upstream_sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_queue_init(&ngx_http_gw_upstream_lru);
    }

    /* the least recently used one, when unused for long enough */
    if (!ngx_queue_empty(&ngx_http_gw_upstream_lru)) {
        q = ngx_queue_last(&ngx_http_gw_upstream_lru);
        st = ngx_queue_data(q, ngx_http_gw_upstream_state_t, queue);

        if (ngx_current_msec - st->used > NGX_HTTP_GW_UPSTREAM_STATE_TTL) {
            ngx_queue_remove(q);
            ngx_rbtree_delete(&ngx_http_gw_upstream_states, &st->sn.node);
            ngx_free(st);
        }
    }

    id.len = up->id.len;
    id.data = (u_char *) ngx_http_gw_snap_string(snap, up->id);
    hash = ngx_crc32_short(id.data, id.len);

    sn = ngx_str_rbtree_lookup(&ngx_http_gw_upstream_states, &id, hash);

    if (sn != NULL) {
        st = (ngx_http_gw_upstream_state_t *) sn;

        if (st->version == up->version && st->n == up->ntargets) {
            st->used = ngx_current_msec;
            ngx_queue_remove(&st->queue);
            ngx_queue_insert_head(&ngx_http_gw_upstream_lru, &st->queue);
            return st;
        }

        if (st->version > up->version) {
            return NULL;
        }

        ngx_queue_remove(&st->queue);
        ngx_rbtree_delete(&ngx_http_gw_upstream_states, &st->sn.node);
        ngx_free(st);
    }

    m = ngx_alloc(sizeof(ngx_http_gw_upstream_state_t)
                  + up->ntargets * sizeof(int64_t) + id.len, log);
    if (m == NULL) {
        return NULL;
    }

    st = (ngx_http_gw_upstream_state_t *) m;
    ngx_memzero(st, sizeof(ngx_http_gw_upstream_state_t));

    st->current = (int64_t *) (m + sizeof(ngx_http_gw_upstream_state_t));
    ngx_memzero(st->current, up->ntargets * sizeof(int64_t));

    st->sn.str.len = id.len;
    st->sn.str.data = (u_char *) (st->current + up->ntargets);
    ngx_memcpy(st->sn.str.data, id.data, id.len);
    st->sn.node.key = hash;

    st->version = up->version;
    st->n = up->ntargets;
    st->used = ngx_current_msec;

    ngx_rbtree_insert(&ngx_http_gw_upstream_states, &st->sn.node);
    ngx_queue_insert_head(&ngx_http_gw_upstream_lru, &st->queue);

    return st;
}


/*
 * The precontent phase (run last in it, once access and the router's
 * split have been decided): a gw_router request whose route has no
 * upstream answers 502, one whose upstream has no target up 503, both
 * problem+json, before the proxy starts.
 */
static ngx_int_t
ngx_http_gw_upstream_handler(ngx_http_request_t *r)
{
    ngx_uint_t                    i;
    ngx_msec_t                    now;
    ngx_http_gw_problem_t         problem;
    ngx_http_gw_snap_target_t    *targets;
    ngx_http_gw_router_ctx_t     *ctx;
    ngx_http_gw_snap_upstream_t  *up;

    ctx = ngx_http_gw_router_ctx(r);

    if (ctx == NULL || ctx->snap == NULL || ctx->route == NULL) {
        return NGX_DECLINED;
    }

    ngx_memzero(&problem, sizeof(ngx_http_gw_problem_t));

    up = ngx_http_gw_upstream_of(ctx);

    if (up == NULL || up->ntargets == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_upstream: route \"%s\" has no upstream",
                      ngx_http_gw_snap_string(ctx->snap, ctx->route->id));

        problem.status = NGX_HTTP_BAD_GATEWAY;
        problem.type = "urn:tollgate:problem:no-upstream";
        problem.title = "The route has no upstream";

        return ngx_http_gw_send_problem(r, &problem);
    }

    targets = ngx_http_gw_snap_ptr(ctx->snap, up->targets);
    now = ngx_current_msec;

    for (i = 0; i < up->ntargets; i++) {
        if (ngx_http_gw_upstream_target_up(up,
                ngx_http_gw_snapshot_health(ctx->snap, &targets[i]), now))
        {
            return NGX_DECLINED;
        }
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gw_upstream: no target of upstream \"%s\" is up",
                  ngx_http_gw_snap_string(ctx->snap, up->id));

    problem.status = NGX_HTTP_SERVICE_UNAVAILABLE;
    problem.type = "urn:tollgate:problem:upstream-unavailable";
    problem.title = "No target of the upstream is available";

    return ngx_http_gw_send_problem(r, &problem);
}


static void *
ngx_http_gw_upstream_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_upstream_main_conf_t  *umcf;

    umcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_upstream_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    return umcf;
}


/*
 * Registers the precontent handler when gw_upstream is used, FIRST in
 * the phase's array: nginx runs a phase's handlers from the last
 * registered to the first, so it runs after every other one (the
 * router's split included).
 */
static ngx_int_t
ngx_http_gw_upstream_postconfiguration(ngx_conf_t *cf)
{
    ngx_array_t                       *a;
    ngx_http_handler_pt               *h;
    ngx_http_core_main_conf_t         *cmcf;
    ngx_http_gw_upstream_main_conf_t  *umcf;

    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_upstream_module);

    if (!umcf->used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    a = &cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers;

    h = ngx_array_push(a);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h = a->elts;
    ngx_memmove(&h[1], &h[0], (a->nelts - 1) * sizeof(ngx_http_handler_pt));
    h[0] = ngx_http_gw_upstream_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_upstream_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_upstream_main_conf_t  *umcf;

    if (ngx_get_conf(cycle->conf_ctx, ngx_http_module) == NULL) {
        return NGX_OK;
    }

    umcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_upstream_module);

    if (umcf == NULL || !umcf->used) {
        return NGX_OK;
    }

    return ngx_http_gw_upstream_health_init(cycle);
}
