
/*
 * Copyright (C) Tollgate
 *
 * Entities to one snapshot block (ngx_http_gw_snapshot.h), then its
 * publication and the freeing of the snapshots it replaces.
 *
 * The snapshot is laid out first in the builder's own memory, by
 * offsets only (a buffer that grows), so its size is known before the
 * zone is asked for one block of it: a full zone refuses the build, it
 * never leaves half a snapshot.  The router's block is made by
 * lib/router (gw_router_build()) with the snapshot's generation, and
 * copied in; the consistent-hash rings by lib/balance.  Everything a
 * route refers to must exist (its upstream, splits' upstreams, plan,
 * limits, schemas, plugins): a dangling reference refuses the build,
 * naming the route and the reference.  Upstream targets must be IP
 * literals with a port: the gateway resolves no name at run time.
 *
 * The layout buffer and lib/router's working memory stay with the
 * builder from one build to the next (a build of 10k routes would
 * otherwise fault in some 15 MB of fresh memory every time); they are
 * freed when the worker stops building.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "ngx_http_gw_config.h"
#include "gw_balance.h"


static ngx_int_t ngx_http_gw_config_upstream(ngx_http_gw_config_builder_t *b,
    ngx_uint_t i, const char *id, json_t *doc);
static void ngx_http_gw_config_publish(ngx_http_gw_config_main_conf_t *gcf,
    ngx_http_gw_snap_t *s);
static void *ngx_http_gw_config_router_alloc(void *ctx, size_t size);


/* kept between builds: the layout buffer, lib/router's work */
static u_char            *ngx_http_gw_config_buf;
static size_t             ngx_http_gw_config_cap;
static gw_router_work_t  *ngx_http_gw_config_work;




/* room for size bytes, zeroed, aligned to 8: its offset (0: no memory) */

uint32_t
ngx_http_gw_config_reserve(ngx_http_gw_config_builder_t *b, size_t size)
{
    u_char  *p;
    size_t   off, cap;

    off = ngx_align(b->len, 8);

    if (off + size > b->cap) {
        for (cap = ngx_max(b->cap, 65536); cap < off + size; cap *= 2) {
            /* void */
        }

        if (cap > 0x7fffffff) {
            b->nomem = 1;
            return 0;
        }

        p = realloc(b->buf, cap);
        if (p == NULL) {
            b->nomem = 1;
            return 0;
        }

        b->buf = p;
        b->cap = cap;
    }

    ngx_memzero(b->buf + b->len, off + size - b->len);
    b->len = off + size;

    return (uint32_t) off;
}


ngx_http_gw_snap_str_t
ngx_http_gw_config_string(ngx_http_gw_config_builder_t *b, const char *s,
    size_t len)
{
    uint32_t                off;
    ngx_http_gw_snap_str_t  str;

    str.off = 0;
    str.len = 0;

    if (s == NULL) {
        s = "";
        len = 0;
    }

    off = ngx_http_gw_config_reserve(b, len + 1);

    if (off != 0) {
        ngx_memcpy(b->buf + off, s, len);
        b->buf[off + len] = '\0';
        str.off = off;
        str.len = (uint32_t) len;
    }

    return str;
}


ngx_http_gw_snap_str_t
ngx_http_gw_config_member(ngx_http_gw_config_builder_t *b, json_t *doc,
    const char *name)
{
    json_t  *v;

    v = json_object_get(doc, name);

    if (!json_is_string(v)) {
        return ngx_http_gw_config_string(b, "", 0);
    }

    return ngx_http_gw_config_string(b, json_string_value(v),
                                     json_string_length(v));
}


static int
ngx_http_gw_config_cmp(const void *one, const void *two)
{
    return ngx_strcmp(*(const char **) one, *(const char **) two);
}


/* the ids of a type, sorted; *n set; NULL with *n 0 when none */

static const char **
ngx_http_gw_config_ids(ngx_http_gw_config_builder_t *b, const char *type,
    ngx_uint_t *n)
{
    json_t       *t, *v;
    const char   *key, **ids;
    ngx_uint_t    i;

    *n = 0;
    t = (b->model->types != NULL)
        ? json_object_get(b->model->types, type) : NULL;

    if (t == NULL || json_object_size(t) == 0) {
        return NULL;
    }

    ids = ngx_palloc(b->pool, json_object_size(t) * sizeof(char *));
    if (ids == NULL) {
        b->nomem = 1;
        return NULL;
    }

    i = 0;

    json_object_foreach(t, key, v) {
        ids[i++] = key;
    }

    ngx_qsort(ids, i, sizeof(char *), ngx_http_gw_config_cmp);

    *n = i;

    return ids;
}


uint32_t
ngx_http_gw_config_upstream_index(ngx_http_gw_config_builder_t *b,
    const char *id)
{
    ngx_int_t   rc;
    ngx_uint_t  lo, hi, mid;

    lo = 0;
    hi = b->nupstreams;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = ngx_strcmp(b->upstreams[mid], id);

        if (rc == 0) {
            return (uint32_t) mid;
        }

        if (rc < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return NGX_HTTP_GW_SNAP_NONE;
}


/* the oldest generation of a snapshot published or not yet freed */

static uint64_t
ngx_http_gw_config_oldest(ngx_http_gw_config_main_conf_t *gcf)
{
    uint64_t                     oldest, off;
    ngx_atomic_uint_t            c;
    ngx_http_gw_snap_t          *s;
    ngx_http_gw_config_block_t  *blk;

    c = gcf->sh->current;
    oldest = (c != 0) ? ngx_http_gw_config_cur_gen(c) : gcf->sh->next_gen;

    for (off = gcf->sh->retired; off != 0; off = blk->next) {
        s = (ngx_http_gw_snap_t *) ((u_char *) gcf->shpool + off);
        blk = (ngx_http_gw_config_block_t *) s - 1;
        oldest = ngx_min(oldest, s->generation);
    }

    return oldest;
}


ngx_int_t
ngx_http_gw_config_build(ngx_http_gw_config_main_conf_t *gcf,
    ngx_http_gw_config_model_t *m, u_char *err, ngx_log_t *log)
{
    u_char                        *p;
    size_t                         size;
    json_t                        *rtype, *doc;
    uint32_t                       hdr, router, off;
    ngx_int_t                      rc;
    ngx_uint_t                     i, nroutes;
    const char                   **routes;
    gw_router_t                   *rt;
    gw_router_def_t               *defs;
    gw_router_err_t                rerr;
    gw_router_conf_t               rconf;
    ngx_http_gw_snap_t            *s;
    ngx_http_gw_config_builder_t   b;

    ngx_memzero(&b, sizeof(ngx_http_gw_config_builder_t));

    b.gcf = gcf;
    b.err = err;
    b.model = m;
    err[0] = '\0';
    b.log = log;
    b.gen = gcf->sh->next_gen++;
    b.oldest = ngx_http_gw_config_oldest(gcf);

    rt = NULL;
    rc = NGX_ERROR;

    b.pool = ngx_create_pool(16384, log);
    if (b.pool == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_gw_config_work == NULL) {
        ngx_http_gw_config_work = gw_router_work_create();
        if (ngx_http_gw_config_work == NULL) {
            ngx_destroy_pool(b.pool);
            return NGX_ERROR;
        }
    }

    b.buf = ngx_http_gw_config_buf;
    b.cap = ngx_http_gw_config_cap;

    if (ngx_http_gw_config_health_begin(gcf) != NGX_OK) {
        ngx_destroy_pool(b.pool);
        return NGX_ERROR;
    }

    hdr = ngx_http_gw_config_reserve(&b, sizeof(ngx_http_gw_snap_t));

    /* offset 0 means "none" in a few places: the header takes it */

    b.upstreams = ngx_http_gw_config_ids(&b, "upstreams", &b.nupstreams);
    routes = ngx_http_gw_config_ids(&b, "routes", &nroutes);

    if (b.nomem) {
        goto nomem;
    }

    /* most of a snapshot is its routes: one growth, not a dozen */

    size = 512 * (nroutes + b.nupstreams);
    (void) ngx_http_gw_config_reserve(&b, size);
    b.len = sizeof(ngx_http_gw_snap_t);

    /* upstreams first: routes refer to them by index */

    off = ngx_http_gw_config_reserve(&b, b.nupstreams
                                         * sizeof(ngx_http_gw_snap_upstream_t));
    s = ngx_http_gw_config_at(&b, hdr, ngx_http_gw_snap_t);
    s->nupstreams = (uint32_t) b.nupstreams;
    s->upstreams = off;

    for (i = 0; i < b.nupstreams; i++) {
        rc = ngx_http_gw_config_upstream(&b, i, b.upstreams[i],
                 ngx_http_gw_config_model_get(m, "upstreams", b.upstreams[i]));
        if (rc != NGX_OK) {
            goto done;
        }
    }

    off = ngx_http_gw_config_reserve(&b, nroutes
                                         * sizeof(ngx_http_gw_snap_route_t));
    s = ngx_http_gw_config_at(&b, hdr, ngx_http_gw_snap_t);
    s->nroutes = (uint32_t) nroutes;
    s->routes = off;

    defs = ngx_pcalloc(b.pool, (nroutes + 1) * sizeof(gw_router_def_t));
    if (defs == NULL || b.nomem) {
        goto nomem;
    }

    rtype = json_object_get(m->types, "routes");

    for (i = 0; i < nroutes; i++) {
        doc = json_object_get(rtype, routes[i]);

        rc = ngx_http_gw_config_route_def(&b, routes[i], doc, &defs[i]);
        if (rc != NGX_OK) {
            goto done;
        }

        rc = ngx_http_gw_config_route(&b, i, routes[i], doc);
        if (rc != NGX_OK) {
            goto done;
        }
    }

    /* the router's block goes straight into the layout */

    ngx_memzero(&rconf, sizeof(gw_router_conf_t));
    rconf.generation = b.gen;
    rconf.alloc = ngx_http_gw_config_router_alloc;
    rconf.ctx = &b;

    rt = gw_router_build_in(defs, nroutes, &rconf, ngx_http_gw_config_work,
                            &rerr);

    if (rt == NULL) {
        if (b.nomem || ngx_strcmp(rerr.msg, "out of memory") == 0) {
            goto nomem;
        }

        NGX_HTTP_GW_CONFIG_ERR(&b, "%s%Z", rerr.msg);
        rc = NGX_DECLINED;
        goto done;
    }

    router = b.router;

    s = ngx_http_gw_config_at(&b, hdr, ngx_http_gw_snap_t);
    s->magic = NGX_HTTP_GW_SNAP_MAGIC;
    s->size = (uint32_t) b.len;
    s->revision = m->revision;
    s->generation = b.gen;
    s->committed_ms = m->committed_ms;
    s->built_ms = ngx_http_gw_config_now();
    s->router = router;

    /* one block of the zone: a full zone refuses, after a reclaim */

    size = sizeof(ngx_http_gw_config_block_t) + b.len;

    p = ngx_slab_alloc(gcf->shpool, size);

    if (p == NULL) {
        ngx_http_gw_config_reclaim(gcf);
        p = ngx_slab_alloc(gcf->shpool, size);
    }

    if (p == NULL) {
        NGX_HTTP_GW_CONFIG_ERR(&b, "no memory in the gw_config zone for a "
                               "snapshot of %uz bytes (%ui routes): make "
                               "the zone larger%Z", size, nroutes);
        rc = NGX_DECLINED;
        goto done;
    }

    ngx_memzero(p, sizeof(ngx_http_gw_config_block_t));
    ngx_memcpy(p + sizeof(ngx_http_gw_config_block_t), b.buf, b.len);

    ngx_http_gw_config_publish(gcf, (ngx_http_gw_snap_t *)
                                    (p + sizeof(ngx_http_gw_config_block_t)));

    rc = NGX_OK;
    goto done;

nomem:

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "gw_config: no memory in the builder for revision %uL",
                  m->revision);
    rc = NGX_ERROR;

done:

    ngx_http_gw_config_health_end();
    ngx_http_gw_config_buf = b.buf;
    ngx_http_gw_config_cap = b.cap;
    ngx_destroy_pool(b.pool);

    return rc;
}


/* lib/router's allocator: the block's room in the layout */

static void *
ngx_http_gw_config_router_alloc(void *ctx, size_t size)
{
    ngx_http_gw_config_builder_t  *b = ctx;

    b->router = ngx_http_gw_config_reserve(b, size);

    return b->nomem ? NULL : b->buf + b->router;
}


/* the worker stops building: what the builds kept goes */

void
ngx_http_gw_config_build_release(void)
{
    free(ngx_http_gw_config_buf);
    ngx_http_gw_config_buf = NULL;
    ngx_http_gw_config_cap = 0;

    gw_router_work_free(ngx_http_gw_config_work);
    ngx_http_gw_config_work = NULL;
}


/* an unsigned member: absent gives dflt; refuses (-1) outside lo..hi */

ngx_int_t
ngx_http_gw_config_uint(ngx_http_gw_config_builder_t *b, const char *kind,
    const char *id, json_t *doc, const char *name, ngx_int_t dflt,
    ngx_int_t lo, ngx_int_t hi)
{
    json_t      *v;
    json_int_t   n;

    v = json_object_get(doc, name);

    if (v == NULL || json_is_null(v)) {
        return dflt;
    }

    n = json_is_integer(v) ? json_integer_value(v) : -1;

    if (!json_is_integer(v) || n < lo || n > hi) {
        NGX_HTTP_GW_CONFIG_ERR(b, "%s \"%s\": \"%s\" must be an integer "
                               "%i..%i%Z", kind, id, name, lo, hi);
        return -1;
    }

    return (ngx_int_t) n;
}


/*
 * A key: "consumer", "ip", "uri", "header:<name>", "arg:<name>" or
 * "cookie:<name>"; absent gives dflt.  NGX_OK or NGX_DECLINED (err set).
 */

ngx_int_t
ngx_http_gw_config_key(ngx_http_gw_config_builder_t *b, const char *kind,
    const char *id, json_t *doc, const char *name, uint32_t dflt,
    ngx_http_gw_snap_key_t *key)
{
    size_t       len, n;
    json_t      *v;
    uint32_t     type;
    ngx_uint_t   i;
    const char  *s;

    static struct {
        const char  *prefix;
        uint32_t     type;
    } kinds[] = {
        { "consumer", NGX_HTTP_GW_SNAP_KEY_CONSUMER },
        { "ip", NGX_HTTP_GW_SNAP_KEY_IP },
        { "uri", NGX_HTTP_GW_SNAP_KEY_URI },
        { "header:", NGX_HTTP_GW_SNAP_KEY_HEADER },
        { "arg:", NGX_HTTP_GW_SNAP_KEY_ARG },
        { "cookie:", NGX_HTTP_GW_SNAP_KEY_COOKIE }
    };

    v = json_object_get(doc, name);
    key->type = dflt;
    key->name = ngx_http_gw_config_string(b, "", 0);

    if (v == NULL || json_is_null(v)) {
        return NGX_OK;
    }

    if (!json_is_string(v)) {
        goto invalid;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        n = ngx_strlen(kinds[i].prefix);
        type = kinds[i].type;

        if (kinds[i].prefix[n - 1] != ':') {
            if (len == n && ngx_strncmp(s, kinds[i].prefix, n) == 0) {
                key->type = type;
                return NGX_OK;
            }

            continue;
        }

        if (len > n && len - n <= GW_ROUTER_NAME_MAX
            && ngx_strncmp(s, kinds[i].prefix, n) == 0)
        {
            key->type = type;
            key->name = ngx_http_gw_config_string(b, s + n, len - n);
            return NGX_OK;
        }
    }

invalid:

    NGX_HTTP_GW_CONFIG_ERR(b, "%s \"%s\": \"%s\" must be consumer, ip, uri, "
                           "header:<name>, arg:<name> or cookie:<name>%Z",
                           kind, id, name);
    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gw_config_upstream(ngx_http_gw_config_builder_t *b, ngx_uint_t i,
    const char *id, json_t *doc)
{
    u_char                       *a;
    size_t                        len, np;
    json_t                       *targets, *t, *v, *hc, *passive;
    uint32_t                      off, toff, poff, slot;
    ngx_int_t                     n, rc;
    ngx_uint_t                    k, nt;
    ngx_addr_t                    addr;
    const char                   *alg, *address;
    ngx_http_gw_snap_key_t        key;
    ngx_http_gw_snap_str_t        str;
    gw_balance_target_t          *bt;
    ngx_http_gw_snap_target_t    *tg;

    off = ngx_http_gw_config_at(b, 0, ngx_http_gw_snap_t)->upstreams
          + i * sizeof(ngx_http_gw_snap_upstream_t);

#define U  ngx_http_gw_config_at(b, off, ngx_http_gw_snap_upstream_t)

    str = ngx_http_gw_config_string(b, id, ngx_strlen(id));
    U->id = str;
    U->version = json_integer_value(json_object_get(doc, "version"));

    alg = json_string_value(json_object_get(doc, "algorithm"));

    if (alg == NULL || ngx_strcmp(alg, "round_robin") == 0) {
        U->algorithm = NGX_HTTP_GW_SNAP_RR;

    } else if (ngx_strcmp(alg, "least_conn") == 0) {
        U->algorithm = NGX_HTTP_GW_SNAP_LEAST;

    } else if (ngx_strcmp(alg, "hash") == 0) {
        U->algorithm = NGX_HTTP_GW_SNAP_HASH;

    } else {
        NGX_HTTP_GW_CONFIG_ERR(b, "upstream \"%s\": unknown algorithm \"%s\""
                               "%Z", id, alg);
        return NGX_DECLINED;
    }

    rc = ngx_http_gw_config_key(b, "upstream", id, doc, "hash_on",
                                U->algorithm == NGX_HTTP_GW_SNAP_HASH
                                ? NGX_HTTP_GW_SNAP_KEY_CONSUMER
                                : NGX_HTTP_GW_SNAP_KEY_NONE,
                                &key);
    if (rc != NGX_OK) {
        return rc;
    }

    U->hash_on = key;

    /* passive health: on unless max_fails is 0 */

    passive = json_object_get(doc, "passive");

    if ((n = ngx_http_gw_config_uint(b, "upstream", id, passive, "max_fails",
                                     3, 0, 100)) < 0)
    {
        return NGX_DECLINED;
    }

    U->max_fails = (uint32_t) n;

    if ((n = ngx_http_gw_config_uint(b, "upstream", id, passive, "window_ms",
                                     10000, 1, 3600000)) < 0)
    {
        return NGX_DECLINED;
    }

    U->fail_window_ms = (uint32_t) n;

    if ((n = ngx_http_gw_config_uint(b, "upstream", id, passive,
                                     "fail_timeout_ms", 10000, 1, 3600000))
        < 0)
    {
        return NGX_DECLINED;
    }

    U->fail_timeout_ms = (uint32_t) n;

    /* active health: only with a health_check object */

    hc = json_object_get(doc, "health_check");
    str = ngx_http_gw_config_string(b, "", 0);
    U->check_path = str;

    if (json_is_object(hc)) {
        v = json_object_get(hc, "path");
        str = json_is_string(v)
              ? ngx_http_gw_config_string(b, json_string_value(v),
                                          json_string_length(v))
              : ngx_http_gw_config_string(b, "/", 1);
        U->check_path = str;

        if ((n = ngx_http_gw_config_uint(b, "upstream", id, hc, "interval_ms",
                                         10000, 100, 3600000)) < 0)
        {
            return NGX_DECLINED;
        }

        U->check_interval_ms = (uint32_t) n;

        if ((n = ngx_http_gw_config_uint(b, "upstream", id, hc, "timeout_ms",
                                         1000, 10, 60000)) < 0)
        {
            return NGX_DECLINED;
        }

        U->check_timeout_ms = (uint32_t) n;

        if ((n = ngx_http_gw_config_uint(b, "upstream", id, hc, "healthy",
                                         2, 1, 100)) < 0)
        {
            return NGX_DECLINED;
        }

        U->check_healthy = (uint32_t) n;

        if ((n = ngx_http_gw_config_uint(b, "upstream", id, hc, "unhealthy",
                                         3, 1, 100)) < 0)
        {
            return NGX_DECLINED;
        }

        U->check_unhealthy = (uint32_t) n;
    }

    /* targets: IP literals and ports, parsed once, here */

    targets = json_object_get(doc, "targets");
    nt = json_is_array(targets) ? json_array_size(targets) : 0;

    if (nt == 0 || nt > GW_BALANCE_TARGETS_MAX) {
        NGX_HTTP_GW_CONFIG_ERR(b, "upstream \"%s\": \"targets\" must hold 1 "
                               "to %d targets%Z", id, GW_BALANCE_TARGETS_MAX);
        return NGX_DECLINED;
    }

    toff = ngx_http_gw_config_reserve(b,
                                      nt * sizeof(ngx_http_gw_snap_target_t));

    bt = ngx_pcalloc(b->pool, nt * sizeof(gw_balance_target_t));
    if (bt == NULL || b->nomem) {
        b->nomem = 1;
        return NGX_ERROR;
    }

    U->ntargets = (uint32_t) nt;
    U->targets = toff;

    for (k = 0; k < nt; k++) {
        t = json_array_get(targets, k);
        v = json_object_get(t, "address");
        address = json_string_value(v);

        if (address == NULL) {
            NGX_HTTP_GW_CONFIG_ERR(b, "upstream \"%s\": target #%ui has no "
                                   "address%Z", id, k);
            return NGX_DECLINED;
        }

        len = json_string_length(v);

        a = ngx_pnalloc(b->pool, len + 1);
        if (a == NULL) {
            b->nomem = 1;
            return NGX_ERROR;
        }

        ngx_memcpy(a, address, len + 1);

        rc = ngx_parse_addr_port(b->pool, &addr, a, len);

        if (rc == NGX_ERROR) {
            b->nomem = 1;
            return NGX_ERROR;
        }

        if (rc != NGX_OK || ngx_inet_get_port(addr.sockaddr) == 0
            || addr.socklen > sizeof(tg->sockaddr))
        {
            NGX_HTTP_GW_CONFIG_ERR(b, "upstream \"%s\": target \"%s\" is not "
                                   "an IP address and port (the gateway "
                                   "does not resolve host names)%Z",
                                   id, address);
            return NGX_DECLINED;
        }

        if ((n = ngx_http_gw_config_uint(b, "upstream", id, t, "weight",
                                         1, 1, GW_BALANCE_WEIGHT_MAX)) < 0)
        {
            return NGX_DECLINED;
        }

        slot = ngx_http_gw_config_health_slot(b->gcf, id, address, b->gen,
                                              b->oldest);

        if (slot == NGX_HTTP_GW_SNAP_NONE) {
            NGX_HTTP_GW_CONFIG_ERR(b, "upstream \"%s\": no health slot left "
                                   "for target \"%s\" (%ui in the zone): "
                                   "make the gw_config zone larger%Z",
                                   id, address,
                                   (ngx_uint_t) b->gcf->sh->nhealth);
            return NGX_DECLINED;
        }

        str = ngx_http_gw_config_string(b, address, len);

        tg = ngx_http_gw_config_at(b, toff, ngx_http_gw_snap_target_t) + k;
        tg->address = str;
        tg->weight = (uint32_t) n;
        tg->health = slot;
        tg->socklen = addr.socklen;
        ngx_memcpy(tg->sockaddr, addr.sockaddr, addr.socklen);

        bt[k].address = address;
        bt[k].len = len;
        bt[k].weight = (uint32_t) n;
    }

    if (U->algorithm != NGX_HTTP_GW_SNAP_HASH) {
        return NGX_OK;
    }

    np = gw_balance_ring_size(bt, nt);

    poff = ngx_http_gw_config_reserve(b, np * sizeof(ngx_http_gw_snap_point_t));
    if (b->nomem) {
        return NGX_ERROR;
    }

    U->points = poff;
    U->npoints = (uint32_t) gw_balance_ring_build(bt, nt,
                     ngx_http_gw_config_at(b, poff, gw_balance_point_t), np);

#undef U

    return NGX_OK;
}


/*
 * Makes s current: one atomic store of its generation and offset, after
 * its bytes; the one it replaces joins the retired list, and whatever
 * no process can use any more is freed.
 */

static void
ngx_http_gw_config_publish(ngx_http_gw_config_main_conf_t *gcf,
    ngx_http_gw_snap_t *s)
{
    uint64_t                     off;
    ngx_atomic_uint_t            old, c;
    ngx_http_gw_snap_t          *os;
    ngx_http_gw_config_block_t  *blk;

    off = (u_char *) s - (u_char *) gcf->shpool;
    c = (ngx_atomic_uint_t) (s->generation << 32 | off >> 3);

    do {
        old = gcf->sh->current;
    } while (!ngx_atomic_cmp_set(&gcf->sh->current, old, c));

    gcf->sh->revision = s->revision;

    if (old != 0) {
        os = (ngx_http_gw_snap_t *)
                 ((u_char *) gcf->shpool + ngx_http_gw_config_cur_off(old));
        blk = (ngx_http_gw_config_block_t *) os - 1;
        blk->next = gcf->sh->retired;
        ngx_memory_barrier();
        gcf->sh->retired = ngx_http_gw_config_cur_off(old);
    }

    ngx_http_gw_config_reclaim(gcf);
}


/*
 * Frees the retired snapshots no live process pins: a generation is in
 * use when a slot of a live process names it, or is at or above its
 * floor.  The slots are read after the publication that retired them
 * (see _module.c), so a pin made in time is always seen.
 */

void
ngx_http_gw_config_reclaim(ngx_http_gw_config_main_conf_t *gcf)
{
    uint64_t                     gen, *link;
    ngx_uint_t                   i, j, n, used;
    ngx_atomic_uint_t            pid;
    ngx_http_gw_snap_t          *s;
    ngx_http_gw_config_pin_t    *pin;
    ngx_http_gw_config_block_t  *blk;

    static ngx_http_gw_config_pin_t  live[NGX_HTTP_GW_CONFIG_PINS];

    if (gcf->sh->retired == 0) {
        return;
    }

    n = 0;

    for (i = 0; i < NGX_HTTP_GW_CONFIG_PINS; i++) {
        pin = &gcf->sh->pins[i];
        pid = pin->pid;

        if (pid == 0
            || ((ngx_pid_t) pid != ngx_pid
                && !ngx_http_gw_config_alive((ngx_pid_t) pid)))
        {
            continue;
        }

        ngx_memcpy(&live[n++], pin, sizeof(ngx_http_gw_config_pin_t));
    }

    link = (uint64_t *) &gcf->sh->retired;

    while (*link != 0) {
        s = (ngx_http_gw_snap_t *) ((u_char *) gcf->shpool + *link);
        blk = (ngx_http_gw_config_block_t *) s - 1;
        gen = s->generation;
        used = 0;

        for (i = 0; i < n && !used; i++) {
            if (live[i].floor != 0 && gen >= live[i].floor) {
                used = 1;
            }

            for (j = 0; j < NGX_HTTP_GW_CONFIG_PIN_GENS; j++) {
                if (live[i].gens[j] == gen) {
                    used = 1;
                }
            }
        }

        if (used) {
            link = &blk->next;
            continue;
        }

        *link = blk->next;
        ngx_slab_free(gcf->shpool, blk);
    }
}
