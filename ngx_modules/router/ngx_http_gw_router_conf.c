
/*
 * Copyright (C) Tollgate
 *
 * Routes' location configurations (docs/routing.md, "Route policies"):
 * what a route's policy object becomes in a worker, made lazily and kept
 * while a snapshot that this worker pins can still use it.
 *
 * A configuration is made at the first request of a route in this
 * worker, by ngx_http_gw_policy_loc_conf() from the route's policy text,
 * in a pool of its own.  It is cached in an rbtree by (route id,
 * policy_hash, the gw_router location): a newer snapshot whose route has
 * the same policy finds it there and makes nothing, so a change of one
 * route never remakes the others.
 *
 * Lifetime: each snapshot keeps, beside it in this worker (its router
 * slot, ngx_http_gw_snapshot_local()), an array by route index of the
 * configurations its requests used, and holds a reference on each.  When
 * this worker releases the snapshot for the last time, its references go;
 * a configuration no snapshot refers to waits in an idle queue for
 * NGX_HTTP_GW_ROUTER_IDLE (the next snapshot's first request of that
 * route usually comes long before, and takes it back), then is freed.
 *
 * A policy that does not build is cached too, as a failure: logged once,
 * and its requests answer 500 until the route's policy changes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_policy.h"
#include "ngx_http_gw_router_int.h"


/* milliseconds an unused configuration is kept for the next snapshot */
#define NGX_HTTP_GW_ROUTER_IDLE  10000


typedef struct {
    ngx_rbtree_node_t           node;
    ngx_queue_t                 queue;      /* idle, when refs == 0 */
    void                      **base;
    uint64_t                    hash;       /* the route's policy_hash */
    ngx_str_t                   id;
    ngx_uint_t                  refs;       /* snapshots that hold it */
    ngx_msec_t                  idle_since;
    void                      **loc_conf;   /* NULL: the policy failed */
    ngx_pool_t                 *pool;       /* holds all of it */
    unsigned                    idle:1;
} ngx_http_gw_router_conf_t;


typedef struct ngx_http_gw_router_ref_s  ngx_http_gw_router_ref_t;

struct ngx_http_gw_router_ref_s {
    ngx_http_gw_router_conf_t  *conf;
    ngx_http_gw_router_ref_t   *next;       /* other gw_router locations */
};


/* a snapshot's references, in its router slot */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_uint_t                  nroutes;
    ngx_http_gw_router_ref_t  **refs;       /* by route index */
} ngx_http_gw_router_local_t;


static ngx_http_gw_router_local_t *ngx_http_gw_router_local(
    ngx_http_gw_snap_t *s);
static void ngx_http_gw_router_local_free(void *data);
static void ngx_http_gw_router_conf_sweep(void);
static ngx_rbtree_key_t ngx_http_gw_router_conf_key(ngx_str_t *id,
    uint64_t hash, void **base);
static ngx_int_t ngx_http_gw_router_conf_cmp(ngx_http_gw_router_conf_t *a,
    ngx_str_t *id, uint64_t hash, void **base);
static void ngx_http_gw_router_conf_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_router_conf_t *ngx_http_gw_router_conf_find(
    ngx_str_t *id, uint64_t hash, void **base);
static ngx_http_gw_router_conf_t *ngx_http_gw_router_conf_make(
    ngx_http_request_t *r, ngx_str_t *id, uint64_t hash, ngx_str_t *policy,
    void **base);


/* this worker's configurations, and those no snapshot holds */
static ngx_rbtree_t       ngx_http_gw_router_confs;
static ngx_rbtree_node_t  ngx_http_gw_router_sentinel;
static ngx_queue_t        ngx_http_gw_router_idle;


void
ngx_http_gw_router_conf_init(void)
{
    ngx_rbtree_init(&ngx_http_gw_router_confs, &ngx_http_gw_router_sentinel,
                    ngx_http_gw_router_conf_insert);
    ngx_queue_init(&ngx_http_gw_router_idle);
}


ngx_int_t
ngx_http_gw_router_route_conf(ngx_http_request_t *r, ngx_http_gw_snap_t *s,
    ngx_uint_t i, void **base, void ***loc_conf)
{
    ngx_str_t                    id, policy;
    ngx_http_gw_router_ref_t    *ref;
    ngx_http_gw_router_conf_t   *conf;
    ngx_http_gw_router_local_t  *lc;
    ngx_http_gw_snap_route_t    *route;

    route = &ngx_http_gw_snap_routes(s)[i];

    /* "{}": no policy, the location's own configuration */

    if (route->policy.len <= 2) {
        *loc_conf = base;
        return NGX_OK;
    }

    lc = ngx_http_gw_router_local(s);
    if (lc == NULL) {
        return NGX_ERROR;
    }

    for (ref = lc->refs[i]; ref != NULL; ref = ref->next) {
        if (ref->conf->base == base) {
            goto found;
        }
    }

    id.data = (u_char *) ngx_http_gw_snap_string(s, route->id);
    id.len = route->id.len;

    conf = ngx_http_gw_router_conf_find(&id, route->policy_hash, base);

    if (conf == NULL) {
        policy.data = (u_char *) ngx_http_gw_snap_string(s, route->policy);
        policy.len = route->policy.len;

        conf = ngx_http_gw_router_conf_make(r, &id, route->policy_hash,
                                            &policy, base);
        if (conf == NULL) {
            return NGX_ERROR;
        }
    }

    ref = ngx_palloc(lc->pool, sizeof(ngx_http_gw_router_ref_t));
    if (ref == NULL) {
        return NGX_ERROR;
    }

    ref->conf = conf;
    ref->next = lc->refs[i];
    lc->refs[i] = ref;

    if (conf->idle) {
        ngx_queue_remove(&conf->queue);
        conf->idle = 0;
    }

    conf->refs++;

found:

    if (ref->conf->loc_conf == NULL) {
        return NGX_DECLINED;
    }

    *loc_conf = ref->conf->loc_conf;

    return NGX_OK;
}


/* s's references, made at the first route of s that has a policy */

static ngx_http_gw_router_local_t *
ngx_http_gw_router_local(ngx_http_gw_snap_t *s)
{
    ngx_pool_t                  *pool;
    ngx_http_gw_snap_local_t    *local;
    ngx_http_gw_router_local_t  *lc;

    local = ngx_http_gw_snapshot_local(s, NGX_HTTP_GW_SNAP_LOCAL_ROUTER);
    if (local == NULL) {
        return NULL;
    }

    if (local->data != NULL) {
        return local->data;
    }

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    lc = ngx_palloc(pool, sizeof(ngx_http_gw_router_local_t));
    if (lc == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    lc->pool = pool;
    lc->nroutes = s->nroutes;
    lc->refs = ngx_pcalloc(pool, s->nroutes
                                 * sizeof(ngx_http_gw_router_ref_t *));
    if (lc->refs == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    local->data = lc;
    local->cleanup = ngx_http_gw_router_local_free;

    return lc;
}


/* this worker releases a snapshot: its references go */

static void
ngx_http_gw_router_local_free(void *data)
{
    ngx_http_gw_router_local_t *lc = data;

    ngx_uint_t                  i;
    ngx_http_gw_router_ref_t   *ref;
    ngx_http_gw_router_conf_t  *conf;

    for (i = 0; i < lc->nroutes; i++) {
        for (ref = lc->refs[i]; ref != NULL; ref = ref->next) {
            conf = ref->conf;

            if (--conf->refs == 0) {
                conf->idle = 1;
                conf->idle_since = ngx_current_msec;
                ngx_queue_insert_tail(&ngx_http_gw_router_idle, &conf->queue);
            }
        }
    }

    ngx_destroy_pool(lc->pool);

    ngx_http_gw_router_conf_sweep();
}


/* frees the configurations idle for NGX_HTTP_GW_ROUTER_IDLE */

static void
ngx_http_gw_router_conf_sweep(void)
{
    ngx_queue_t                *q;
    ngx_http_gw_router_conf_t  *conf;

    while (!ngx_queue_empty(&ngx_http_gw_router_idle)) {
        q = ngx_queue_head(&ngx_http_gw_router_idle);
        conf = ngx_queue_data(q, ngx_http_gw_router_conf_t, queue);

        if ((ngx_msec_int_t) (ngx_current_msec - conf->idle_since)
            < NGX_HTTP_GW_ROUTER_IDLE)
        {
            return;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&ngx_http_gw_router_confs, &conf->node);
        ngx_destroy_pool(conf->pool);
    }
}


static ngx_rbtree_key_t
ngx_http_gw_router_conf_key(ngx_str_t *id, uint64_t hash, void **base)
{
    return (ngx_rbtree_key_t) (ngx_crc32_short(id->data, id->len)
                               ^ hash ^ (uintptr_t) base);
}


static ngx_int_t
ngx_http_gw_router_conf_cmp(ngx_http_gw_router_conf_t *a, ngx_str_t *id,
    uint64_t hash, void **base)
{
    if (a->hash != hash) {
        return a->hash < hash ? -1 : 1;
    }

    if (a->base != base) {
        return (uintptr_t) a->base < (uintptr_t) base ? -1 : 1;
    }

    if (a->id.len != id->len) {
        return a->id.len < id->len ? -1 : 1;
    }

    return ngx_memcmp(a->id.data, id->data, id->len);
}


static void
ngx_http_gw_router_conf_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_gw_router_conf_t   *c, *t;

    c = (ngx_http_gw_router_conf_t *) node;

    for ( ;; ) {
        t = (ngx_http_gw_router_conf_t *) temp;

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (ngx_http_gw_router_conf_cmp(t, &c->id, c->hash, c->base)
                 > 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_gw_router_conf_t *
ngx_http_gw_router_conf_find(ngx_str_t *id, uint64_t hash, void **base)
{
    ngx_int_t                   rc;
    ngx_rbtree_key_t            key;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_gw_router_conf_t  *c;

    key = ngx_http_gw_router_conf_key(id, hash, base);

    node = ngx_http_gw_router_confs.root;
    sentinel = ngx_http_gw_router_confs.sentinel;

    while (node != sentinel) {

        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        c = (ngx_http_gw_router_conf_t *) node;

        rc = ngx_http_gw_router_conf_cmp(c, id, hash, base);

        if (rc == 0) {
            return c;
        }

        node = (rc > 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Makes the configuration of (id, hash, base) from the policy text and
 * caches it: a failure is cached as well, logged here, once.  Returns
 * NULL only on no memory.
 */

static ngx_http_gw_router_conf_t *
ngx_http_gw_router_conf_make(ngx_http_request_t *r, ngx_str_t *id,
    uint64_t hash, ngx_str_t *policy, void **base)
{
    json_t                          *json;
    ngx_int_t                        rc;
    ngx_str_t                        err;
    ngx_pool_t                      *pool;
    ngx_conf_t                       cf;
    json_error_t                     jerr;
    ngx_conf_file_t                  file;
    ngx_http_gw_router_conf_t       *conf;
    ngx_http_gw_router_main_conf_t  *rmcf;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    conf = ngx_pcalloc(pool, sizeof(ngx_http_gw_router_conf_t));
    if (conf == NULL) {
        goto failed;
    }

    conf->pool = pool;
    conf->hash = hash;
    conf->base = base;
    conf->id.len = id->len;
    conf->id.data = ngx_pnalloc(pool, id->len + 1);
    if (conf->id.data == NULL) {
        goto failed;
    }

    *ngx_cpymem(conf->id.data, id->data, id->len) = '\0';

    json = json_loadb((const char *) policy->data, policy->len,
                      JSON_REJECT_DUPLICATES, &jerr);

    if (json == NULL) {
        err.data = ngx_pnalloc(pool, NGX_MAX_CONF_ERRSTR);
        if (err.data == NULL) {
            goto failed;
        }

        err.len = ngx_snprintf(err.data, NGX_MAX_CONF_ERRSTR,
                               "the policy is not JSON: %s", jerr.text)
                  - err.data;
        rc = NGX_ERROR;

    } else {
        rmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_router_module);

        /*
         * A run-time configuration context (ngx_http_gw_policy.h): what
         * create, set and merge functions may read, and a file named
         * after the route for ngx_conf_log_error()
         */

        ngx_memzero(&cf, sizeof(ngx_conf_t));
        ngx_memzero(&file, sizeof(ngx_conf_file_t));

        /* messages end "in route "id":0" (a valid fd, never used) */
        file.file.fd = 0;
        file.file.name.data = ngx_pnalloc(pool, id->len + sizeof("route \"\""));
        if (file.file.name.data == NULL) {
            json_decref(json);
            goto failed;
        }

        file.file.name.len = ngx_sprintf(file.file.name.data,
                                         "route \"%V\"%Z", id)
                             - file.file.name.data - 1;
        file.file.log = ngx_cycle->log;

        cf.name = (char *) conf->id.data;
        cf.cycle = (ngx_cycle_t *) ngx_cycle;
        cf.pool = pool;
        cf.log = ngx_cycle->log;
        cf.ctx = rmcf->http_ctx;
        cf.conf_file = &file;
        cf.module_type = NGX_HTTP_MODULE;
        cf.cmd_type = NGX_HTTP_LOC_CONF;

        cf.args = ngx_array_create(pool, 1, sizeof(ngx_str_t));
        cf.temp_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);

        if (cf.args == NULL || cf.temp_pool == NULL) {
            if (cf.temp_pool != NULL) {
                ngx_destroy_pool(cf.temp_pool);
            }

            json_decref(json);
            goto failed;
        }

        rc = ngx_http_gw_policy_loc_conf(&cf, base, json, &conf->loc_conf,
                                         &err);

        ngx_destroy_pool(cf.temp_pool);
        json_decref(json);
    }

    if (rc != NGX_OK) {
        conf->loc_conf = NULL;

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gw_router: the policy of route \"%V\" "
                      "(policy_hash %016uxL) does not build: %V",
                      id, hash, &err);
    }

    conf->node.key = ngx_http_gw_router_conf_key(id, hash, base);
    ngx_rbtree_insert(&ngx_http_gw_router_confs, &conf->node);

    return conf;

failed:

    ngx_destroy_pool(pool);

    return NULL;
}
