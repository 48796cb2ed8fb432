
/*
 * Copyright (C) Tollgate
 *
 * gw.shared: a dictionary in shared memory that every worker's plugins
 * see (docs/plugins-shared.md), made by "gw_plugin_dict zone=name:size".
 * Entries live in the zone's slab pool, in a red-black tree keyed by the
 * CRC32 of the key and ordered on a tie by (plugin, key) as nginx's
 * limit_req does; values are strings, numbers or booleans, with an
 * optional time to live.
 *
 * The key design decision: keys are namespaced by the calling plugin's
 * name, and each plugin (an "owner" of the zone) has its own LRU queue
 * and its own byte count.  A plugin may hold at most share= of the zone
 * (half by default); when it would go past that, or the slab allocator
 * has no room, only its own least recently used entries are evicted (and
 * any entry whose time is up, whoever's it is).  So a plugin that floods
 * the dictionary with keys of a client's choosing evicts its own keys,
 * never another plugin's; when its own queue is empty and there is still
 * no room, the write gives nil, "no memory".  Keys are 1 to
 * NGX_HTTP_GW_LUA_SHDICT_KEY_MAX bytes, values at most
 * NGX_HTTP_GW_LUA_SHDICT_VALUE_MAX bytes.
 *
 * Every access to the zone runs under its slab mutex, inside a sandbox
 * guard (gw_lua_guard_enter), so the watchdog never jumps out of a call
 * that holds the lock; nothing that may raise a Lua error (pushing a
 * value, an argument error) runs while it is held.  Times are wall-clock
 * milliseconds from nginx's cached time, the same in every worker.
 */


#include "ngx_http_gw_lua.h"
#include "ngx_http_gw.h"


#define NGX_HTTP_GW_LUA_SHDICT_KEY_MAX    256           /* bytes */
#define NGX_HTTP_GW_LUA_SHDICT_VALUE_MAX  65536         /* bytes */
#define NGX_HTTP_GW_LUA_SHDICT_OWNERS     128           /* plugins a zone
                                                           knows */
#define NGX_HTTP_GW_LUA_SHDICT_SHARE      50            /* percent */
#define NGX_HTTP_GW_LUA_SHDICT_EXPIRE     2             /* dead entries
                                                           freed a write */
#define NGX_HTTP_GW_LUA_SHDICT_TTL_MAX    (10 * 365 * 86400.0)  /* sec */

#define NGX_HTTP_GW_LUA_SHDICT_STRING     1
#define NGX_HTTP_GW_LUA_SHDICT_NUMBER     2
#define NGX_HTTP_GW_LUA_SHDICT_BOOLEAN    3


typedef struct {
    u_char                      color;
    u_char                      type;
    u_short                     owner;
    u_short                     klen;
    uint32_t                    vlen;
    size_t                      cost;           /* bytes charged */
    ngx_queue_t                 queue;          /* the owner's LRU */
    uint64_t                    expires;        /* ms since the epoch,
                                                   0: never */
    u_char                      data[1];        /* key, value */
} ngx_http_gw_lua_shdict_node_t;


typedef struct {
    ngx_queue_t                 queue;          /* head: most recent */
    size_t                      bytes;
    ngx_uint_t                  entries;
    u_short                     len;
    u_char                      name[NGX_HTTP_GW_LUA_NAME_MAX];
} ngx_http_gw_lua_shdict_owner_t;


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    size_t                      share;          /* bytes an owner may hold */
    ngx_uint_t                  nowners;
    ngx_http_gw_lua_shdict_owner_t  owners[NGX_HTTP_GW_LUA_SHDICT_OWNERS];
} ngx_http_gw_lua_shdict_sh_t;


typedef struct {
    ngx_http_gw_lua_shdict_sh_t  *sh;
    ngx_slab_pool_t              *shpool;
    ngx_uint_t                    share;        /* percent */
} ngx_http_gw_lua_shdict_t;


/* what a call asks for and, for get, what it found */
typedef struct {
    ngx_str_t                   plugin;
    ngx_str_t                   key;
    uint32_t                    hash;
    ngx_uint_t                  type;
    u_char                     *value;
    size_t                      vlen;
    double                      number;
    uint64_t                    expires;
    uint64_t                    now;
} ngx_http_gw_lua_shdict_op_t;


static ngx_int_t ngx_http_gw_lua_shdict_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gw_lua_shdict_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_gw_lua_shdict_t *ngx_http_gw_lua_shdict_begin(lua_State *L,
    const char *what, ngx_http_gw_lua_shdict_op_t *op);
static ngx_int_t ngx_http_gw_lua_shdict_owner(ngx_http_gw_lua_shdict_t *d,
    ngx_str_t *name, ngx_uint_t claim);
static ngx_http_gw_lua_shdict_node_t *ngx_http_gw_lua_shdict_lookup(
    ngx_http_gw_lua_shdict_t *d, ngx_uint_t owner,
    ngx_http_gw_lua_shdict_op_t *op);
static ngx_int_t ngx_http_gw_lua_shdict_store(ngx_http_gw_lua_shdict_t *d,
    ngx_uint_t owner, ngx_http_gw_lua_shdict_op_t *op);
static ngx_uint_t ngx_http_gw_lua_shdict_evict(ngx_http_gw_lua_shdict_t *d,
    ngx_http_gw_lua_shdict_owner_t *o, uint64_t now, ngx_uint_t any);
static void ngx_http_gw_lua_shdict_free(ngx_http_gw_lua_shdict_t *d,
    ngx_http_gw_lua_shdict_node_t *n);
static int ngx_http_gw_lua_shdict_get(lua_State *L);
static int ngx_http_gw_lua_shdict_set(lua_State *L);
static int ngx_http_gw_lua_shdict_incr(lua_State *L);
static int ngx_http_gw_lua_shdict_delete(lua_State *L);


/* a get's value, copied out under the lock and pushed after it */
static u_char  ngx_http_gw_lua_shdict_buf[NGX_HTTP_GW_LUA_SHDICT_VALUE_MAX];


#define ngx_http_gw_lua_shdict_rbnode(n)                                     \
    ((ngx_rbtree_node_t *) ((u_char *) (n)                                   \
                            - offsetof(ngx_rbtree_node_t, color)))

#define ngx_http_gw_lua_shdict_size(klen, vlen)                              \
    (offsetof(ngx_rbtree_node_t, color)                                      \
     + offsetof(ngx_http_gw_lua_shdict_node_t, data) + (klen) + (vlen))


/*
 * gw_plugin_dict zone=name:size [share=N%]: the zone of gw.shared for
 * the http block (one).  share is the part of the zone one plugin may
 * hold, 1% to 100%, 50% by default.
 */
char *
ngx_http_gw_lua_shdict_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                    size;
    ngx_int_t                  rc, share;
    ngx_str_t                 *value, name, s;
    ngx_uint_t                 i;
    ngx_shm_zone_t            *zone;
    ngx_http_gw_lua_shdict_t  *d;

    value = cf->args->elts;

    if (ngx_http_gw_lua_zone_find(cf->cycle, ngx_http_gw_lua_shdict_init)
        != NULL)
    {
        return "is duplicate";
    }

    name.len = 0;
    size = 0;
    share = NGX_HTTP_GW_LUA_SHDICT_SHARE;

    for (i = 1; i < cf->args->nelts; i++) {
        rc = ngx_http_gw_conf_zone_arg(cf, &value[i], &name, &size);

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_OK) {
            continue;
        }

        if (value[i].len > 7
            && ngx_strncmp(value[i].data, "share=", 6) == 0
            && value[i].data[value[i].len - 1] == '%')
        {
            s.data = value[i].data + 6;
            s.len = value[i].len - 7;
            share = ngx_atoi(s.data, s.len);

            if (share >= 1 && share <= 100) {
                continue;
            }
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" of \"%V\"",
                           &value[i], &value[0]);
        return NGX_CONF_ERROR;
    }

    d = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_lua_shdict_t));
    if (d == NULL) {
        return NGX_CONF_ERROR;
    }

    d->share = share;

    zone = ngx_http_gw_conf_zone_add(cf, &name, size, &ngx_http_gw_lua_module,
                                     ngx_http_gw_lua_shdict_init, d);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_lua_shdict_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                     len;
    ngx_http_gw_lua_shdict_t  *d, *od;

    d = shm_zone->data;
    od = data;

    if (od != NULL) {
        d->sh = od->sh;
        d->shpool = od->shpool;
        d->sh->share = shm_zone->shm.size / 100 * d->share;
        return NGX_OK;
    }

    d->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        d->sh = d->shpool->data;
        return NGX_OK;
    }

    d->sh = ngx_slab_calloc(d->shpool, sizeof(ngx_http_gw_lua_shdict_sh_t));
    if (d->sh == NULL) {
        return NGX_ERROR;
    }

    d->shpool->data = d->sh;

    ngx_rbtree_init(&d->sh->rbtree, &d->sh->sentinel,
                    ngx_http_gw_lua_shdict_insert);
    d->sh->share = shm_zone->shm.size / 100 * d->share;

    len = sizeof(" in gw_plugin_dict zone \"\"") + shm_zone->shm.name.len;

    d->shpool->log_ctx = ngx_slab_alloc(d->shpool, len);
    if (d->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(d->shpool->log_ctx, " in gw_plugin_dict zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is the plugins' business: "no memory" in Lua */
    d->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_gw_lua_shdict_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_gw_lua_shdict_node_t   *n, *nt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_gw_lua_shdict_node_t *) &node->color;
            nt = (ngx_http_gw_lua_shdict_node_t *) &temp->color;

            p = (n->owner < nt->owner
                 || (n->owner == nt->owner
                     && ngx_memn2cmp(n->data, nt->data, n->klen, nt->klen)
                        < 0))
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


/* the zone of the running configuration, or NULL */
static ngx_http_gw_lua_shdict_t *
ngx_http_gw_lua_shdict_zone(void)
{
    static ngx_http_gw_lua_zone_cache_t  cache;

    return ngx_http_gw_lua_zone_data(&cache, ngx_http_gw_lua_shdict_init,
                                     offsetof(ngx_http_gw_lua_shdict_t, sh));
}


/*
 * Checks the call (a plugin's, a zone configured) and reads the key at
 * index 1 into op; raises a Lua error when the call is not allowed.
 * Returns NULL (nothing raised) when the key is empty or too long: the
 * caller answers nil, "bad key".
 */
static ngx_http_gw_lua_shdict_t *
ngx_http_gw_lua_shdict_begin(lua_State *L, const char *what,
    ngx_http_gw_lua_shdict_op_t *op)
{
    ngx_time_t                *tp;
    ngx_http_gw_lua_shdict_t  *d;

    if (ngx_http_gw_lua_cur == NULL || ngx_http_gw_lua_cur->plugin == NULL) {
        luaL_error(L, "gw.shared.%s: not allowed outside a plugin's call",
                   what);
        return NULL;
    }

    d = ngx_http_gw_lua_shdict_zone();
    if (d == NULL) {
        luaL_error(L, "gw.shared.%s: no gw_plugin_dict is configured", what);
        return NULL;
    }

    ngx_memzero(op, sizeof(ngx_http_gw_lua_shdict_op_t));

    op->plugin = ngx_http_gw_lua_cur->plugin->name;
    op->key.data = (u_char *) luaL_checklstring(L, 1, &op->key.len);

    if (op->key.len == 0 || op->key.len > NGX_HTTP_GW_LUA_SHDICT_KEY_MAX) {
        return NULL;
    }

    op->hash = ngx_crc32_short(op->key.data, op->key.len);

    tp = ngx_timeofday();
    op->now = (uint64_t) tp->sec * 1000 + tp->msec;

    return d;
}


/* the owner index of name, claimed when claim is set; NGX_ERROR: none */
static ngx_int_t
ngx_http_gw_lua_shdict_owner(ngx_http_gw_lua_shdict_t *d, ngx_str_t *name,
    ngx_uint_t claim)
{
    ngx_uint_t                       i;
    ngx_http_gw_lua_shdict_sh_t     *sh;
    ngx_http_gw_lua_shdict_owner_t  *o;

    sh = d->sh;

    for (i = 0; i < sh->nowners; i++) {
        o = &sh->owners[i];

        if (o->len == name->len
            && ngx_memcmp(o->name, name->data, name->len) == 0)
        {
            return i;
        }
    }

    if (!claim || sh->nowners == NGX_HTTP_GW_LUA_SHDICT_OWNERS
        || name->len > NGX_HTTP_GW_LUA_NAME_MAX)
    {
        return NGX_ERROR;
    }

    o = &sh->owners[sh->nowners];

    ngx_queue_init(&o->queue);
    o->bytes = 0;
    o->entries = 0;
    o->len = (u_short) name->len;
    ngx_memcpy(o->name, name->data, name->len);

    return sh->nowners++;
}


static ngx_http_gw_lua_shdict_node_t *
ngx_http_gw_lua_shdict_lookup(ngx_http_gw_lua_shdict_t *d, ngx_uint_t owner,
    ngx_http_gw_lua_shdict_op_t *op)
{
    ngx_int_t                       rc;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_gw_lua_shdict_node_t  *n;

    node = d->sh->rbtree.root;
    sentinel = d->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (op->hash < node->key) {
            node = node->left;
            continue;
        }

        if (op->hash > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_gw_lua_shdict_node_t *) &node->color;

        if (owner != n->owner) {
            node = (owner < n->owner) ? node->left : node->right;
            continue;
        }

        rc = ngx_memn2cmp(op->key.data, n->data, op->key.len, n->klen);

        if (rc == 0) {

            if (n->expires != 0 && n->expires <= op->now) {
                ngx_http_gw_lua_shdict_free(d, n);
                return NULL;
            }

            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* what an allocation of size takes from the slab pool */
static size_t
ngx_http_gw_lua_shdict_cost(size_t size)
{
    size_t  c;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (c = 8; c < size; c <<= 1) { /* void */ }

    return c;
}


/*
 * Stores op's key and value for owner, replacing an entry of the key;
 * evicts the owner's own least recently used entries while it would hold
 * more than its share or the pool has no room.  NGX_DECLINED: no room
 * (an entry of the key is left as it was).  Under the lock.
 */
static ngx_int_t
ngx_http_gw_lua_shdict_store(ngx_http_gw_lua_shdict_t *d, ngx_uint_t owner,
    ngx_http_gw_lua_shdict_op_t *op)
{
    size_t                           size, cost;
    ngx_uint_t                       i;
    ngx_rbtree_node_t               *node;
    ngx_http_gw_lua_shdict_sh_t     *sh;
    ngx_http_gw_lua_shdict_node_t   *n, *old;
    ngx_http_gw_lua_shdict_owner_t  *o;

    sh = d->sh;
    o = &sh->owners[owner];

    size = ngx_http_gw_lua_shdict_size(op->key.len, op->vlen);
    cost = ngx_http_gw_lua_shdict_cost(size);

    if (cost > sh->share) {
        return NGX_DECLINED;
    }

    /* a few dead entries of the owner go first */

    for (i = 0; i < NGX_HTTP_GW_LUA_SHDICT_EXPIRE; i++) {
        if (!ngx_http_gw_lua_shdict_evict(d, o, op->now, 0)) {
            break;
        }
    }

    /* the old entry is set aside, so eviction cannot pick it */

    old = ngx_http_gw_lua_shdict_lookup(d, owner, op);

    if (old != NULL) {
        ngx_rbtree_delete(&sh->rbtree, ngx_http_gw_lua_shdict_rbnode(old));
        ngx_queue_remove(&old->queue);
        o->bytes -= old->cost;
        o->entries--;
    }

    while (o->bytes + cost > sh->share) {
        if (!ngx_http_gw_lua_shdict_evict(d, o, 0, 1)) {
            goto full;
        }
    }

    for ( ;; ) {
        node = ngx_slab_alloc_locked(d->shpool, size);

        if (node != NULL) {
            break;
        }

        if (ngx_http_gw_lua_shdict_evict(d, o, 0, 1)) {
            continue;
        }

        /* whoever's entries whose time is up */

        for (i = 0; i < sh->nowners; i++) {
            while (ngx_http_gw_lua_shdict_evict(d, &sh->owners[i], op->now,
                                                0))
            { /* void */ }
        }

        node = ngx_slab_alloc_locked(d->shpool, size);

        if (node == NULL) {
            goto full;
        }

        break;
    }

    node->key = op->hash;

    n = (ngx_http_gw_lua_shdict_node_t *) &node->color;
    n->type = (u_char) op->type;
    n->owner = (u_short) owner;
    n->klen = (u_short) op->key.len;
    n->vlen = (uint32_t) op->vlen;
    n->cost = cost;
    n->expires = op->expires;

    ngx_memcpy(n->data, op->key.data, op->key.len);
    ngx_memcpy(n->data + op->key.len, op->value, op->vlen);

    ngx_rbtree_insert(&sh->rbtree, node);
    ngx_queue_insert_head(&o->queue, &n->queue);
    o->bytes += cost;
    o->entries++;

    if (old != NULL) {
        ngx_slab_free_locked(d->shpool, ngx_http_gw_lua_shdict_rbnode(old));
    }

    return NGX_OK;

full:

    if (old != NULL) {
        ngx_rbtree_insert(&sh->rbtree, ngx_http_gw_lua_shdict_rbnode(old));
        ngx_queue_insert_head(&o->queue, &old->queue);
        o->bytes += old->cost;
        o->entries++;
    }

    return NGX_DECLINED;
}


/*
 * Frees the least recently used entry of o: any (any set), or only one
 * whose time is up at now.  Returns 1 when one was freed.
 */
static ngx_uint_t
ngx_http_gw_lua_shdict_evict(ngx_http_gw_lua_shdict_t *d,
    ngx_http_gw_lua_shdict_owner_t *o, uint64_t now, ngx_uint_t any)
{
    ngx_queue_t                    *q;
    ngx_http_gw_lua_shdict_node_t  *n;

    if (ngx_queue_empty(&o->queue)) {
        return 0;
    }

    q = ngx_queue_last(&o->queue);
    n = ngx_queue_data(q, ngx_http_gw_lua_shdict_node_t, queue);

    if (!any && (n->expires == 0 || n->expires > now)) {
        return 0;
    }

    ngx_http_gw_lua_shdict_free(d, n);

    return 1;
}


static void
ngx_http_gw_lua_shdict_free(ngx_http_gw_lua_shdict_t *d,
    ngx_http_gw_lua_shdict_node_t *n)
{
    ngx_http_gw_lua_shdict_owner_t  *o;

    o = &d->sh->owners[n->owner];

    ngx_queue_remove(&n->queue);
    ngx_rbtree_delete(&d->sh->rbtree, ngx_http_gw_lua_shdict_rbnode(n));
    o->bytes -= n->cost;
    o->entries--;

    ngx_slab_free_locked(d->shpool, ngx_http_gw_lua_shdict_rbnode(n));
}


static void
ngx_http_gw_lua_shdict_lock(ngx_http_gw_lua_shdict_t *d)
{
    gw_lua_guard_enter();
    ngx_shmtx_lock(&d->shpool->mutex);
}


static void
ngx_http_gw_lua_shdict_unlock(ngx_http_gw_lua_shdict_t *d)
{
    ngx_shmtx_unlock(&d->shpool->mutex);
    gw_lua_guard_leave();
}


static int
ngx_http_gw_lua_shdict_fail(lua_State *L, const char *err)
{
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
}


/* gw.shared.get(key) -> value or nil */
static int
ngx_http_gw_lua_shdict_get(lua_State *L)
{
    u_char                          b;
    ngx_int_t                       owner;
    ngx_http_gw_lua_shdict_t       *d;
    ngx_http_gw_lua_shdict_op_t     op;
    ngx_http_gw_lua_shdict_node_t  *n;

    d = ngx_http_gw_lua_shdict_begin(L, "get", &op);
    if (d == NULL) {
        return ngx_http_gw_lua_shdict_fail(L, "bad key");
    }

    ngx_http_gw_lua_shdict_lock(d);

    owner = ngx_http_gw_lua_shdict_owner(d, &op.plugin, 0);
    n = (owner == NGX_ERROR) ? NULL
                             : ngx_http_gw_lua_shdict_lookup(d, owner, &op);

    if (n != NULL) {
        op.type = n->type;
        op.vlen = n->vlen;
        ngx_memcpy(ngx_http_gw_lua_shdict_buf, n->data + n->klen, n->vlen);

        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&d->sh->owners[owner].queue, &n->queue);
    }

    ngx_http_gw_lua_shdict_unlock(d);

    switch (op.type) {

    case NGX_HTTP_GW_LUA_SHDICT_STRING:
        lua_pushlstring(L, (char *) ngx_http_gw_lua_shdict_buf, op.vlen);
        break;

    case NGX_HTTP_GW_LUA_SHDICT_NUMBER:
        ngx_memcpy(&op.number, ngx_http_gw_lua_shdict_buf, sizeof(double));
        lua_pushnumber(L, op.number);
        break;

    case NGX_HTTP_GW_LUA_SHDICT_BOOLEAN:
        b = ngx_http_gw_lua_shdict_buf[0];
        lua_pushboolean(L, b);
        break;

    default:
        lua_pushnil(L);
        break;
    }

    return 1;
}


/* the TTL argument at idx (seconds, nil or 0: none) into op->expires */
static void
ngx_http_gw_lua_shdict_ttl(lua_State *L, int idx, const char *what,
    ngx_http_gw_lua_shdict_op_t *op)
{
    double  ttl;

    ttl = luaL_optnumber(L, idx, 0);

    if (!(ttl >= 0 && ttl <= NGX_HTTP_GW_LUA_SHDICT_TTL_MAX)) {
        luaL_error(L, "gw.shared.%s: bad ttl (seconds, 0 to %d)", what,
                   (int) NGX_HTTP_GW_LUA_SHDICT_TTL_MAX);
        return;
    }

    op->expires = 0;

    if (ttl > 0) {
        op->expires = op->now + (uint64_t) (ttl * 1000);

        if (op->expires == op->now) {
            op->expires++;
        }
    }
}


/* gw.shared.set(key, value, ttl?) -> true, or nil and "no memory" */
static int
ngx_http_gw_lua_shdict_set(lua_State *L)
{
    int                           b;
    size_t                        len;
    ngx_int_t                     owner, rc;
    ngx_http_gw_lua_shdict_t     *d;
    ngx_http_gw_lua_shdict_op_t   op;

    d = ngx_http_gw_lua_shdict_begin(L, "set", &op);
    if (d == NULL) {
        return ngx_http_gw_lua_shdict_fail(L, "bad key");
    }

    switch (lua_type(L, 2)) {

    case LUA_TNIL:
        return ngx_http_gw_lua_shdict_delete(L);

    case LUA_TSTRING:
        op.type = NGX_HTTP_GW_LUA_SHDICT_STRING;
        op.value = (u_char *) lua_tolstring(L, 2, &len);
        op.vlen = len;

        if (len > NGX_HTTP_GW_LUA_SHDICT_VALUE_MAX) {
            return ngx_http_gw_lua_shdict_fail(L, "value too large");
        }

        break;

    case LUA_TNUMBER:
        op.type = NGX_HTTP_GW_LUA_SHDICT_NUMBER;
        op.number = lua_tonumber(L, 2);
        op.value = (u_char *) &op.number;
        op.vlen = sizeof(double);
        break;

    case LUA_TBOOLEAN:
        b = lua_toboolean(L, 2);
        op.type = NGX_HTTP_GW_LUA_SHDICT_BOOLEAN;
        op.value = (u_char *) (b ? "\1" : "\0");
        op.vlen = 1;
        break;

    default:
        return luaL_error(L, "gw.shared.set: the value must be a string, "
                          "a number or a boolean");
    }

    ngx_http_gw_lua_shdict_ttl(L, 3, "set", &op);

    ngx_http_gw_lua_shdict_lock(d);

    owner = ngx_http_gw_lua_shdict_owner(d, &op.plugin, 1);
    rc = (owner == NGX_ERROR) ? NGX_DECLINED
                              : ngx_http_gw_lua_shdict_store(d, owner, &op);

    ngx_http_gw_lua_shdict_unlock(d);

    if (rc != NGX_OK) {
        return ngx_http_gw_lua_shdict_fail(L, "no memory");
    }

    lua_pushboolean(L, 1);
    return 1;
}


/*
 * gw.shared.incr(key, by?, ttl?) -> the new number: an absent key is made
 * at 0 (with ttl, which applies only then) before by (1 by default) is
 * added; nil, "not a number" when the key holds another type; nil, "no
 * memory" when a new key finds no room.
 */
static int
ngx_http_gw_lua_shdict_incr(lua_State *L)
{
    double                          by, v;
    ngx_int_t                       owner, rc;
    ngx_http_gw_lua_shdict_t       *d;
    ngx_http_gw_lua_shdict_op_t     op;
    ngx_http_gw_lua_shdict_node_t  *n;

    d = ngx_http_gw_lua_shdict_begin(L, "incr", &op);
    if (d == NULL) {
        return ngx_http_gw_lua_shdict_fail(L, "bad key");
    }

    by = luaL_optnumber(L, 2, 1);
    ngx_http_gw_lua_shdict_ttl(L, 3, "incr", &op);

    v = 0;
    rc = NGX_DECLINED;

    ngx_http_gw_lua_shdict_lock(d);

    owner = ngx_http_gw_lua_shdict_owner(d, &op.plugin, 1);

    if (owner != NGX_ERROR) {
        n = ngx_http_gw_lua_shdict_lookup(d, owner, &op);

        if (n == NULL) {
            op.type = NGX_HTTP_GW_LUA_SHDICT_NUMBER;
            op.number = by;
            op.value = (u_char *) &op.number;
            op.vlen = sizeof(double);
            v = by;
            rc = ngx_http_gw_lua_shdict_store(d, owner, &op);

        } else if (n->type != NGX_HTTP_GW_LUA_SHDICT_NUMBER) {
            rc = NGX_ABORT;

        } else {
            ngx_memcpy(&v, n->data + n->klen, sizeof(double));
            v += by;
            ngx_memcpy(n->data + n->klen, &v, sizeof(double));

            ngx_queue_remove(&n->queue);
            ngx_queue_insert_head(&d->sh->owners[owner].queue, &n->queue);
            rc = NGX_OK;
        }
    }

    ngx_http_gw_lua_shdict_unlock(d);

    if (rc == NGX_ABORT) {
        return ngx_http_gw_lua_shdict_fail(L, "not a number");
    }

    if (rc != NGX_OK) {
        return ngx_http_gw_lua_shdict_fail(L, "no memory");
    }

    lua_pushnumber(L, v);
    return 1;
}


/* gw.shared.delete(key) -> true */
static int
ngx_http_gw_lua_shdict_delete(lua_State *L)
{
    ngx_int_t                       owner;
    ngx_http_gw_lua_shdict_t       *d;
    ngx_http_gw_lua_shdict_op_t     op;
    ngx_http_gw_lua_shdict_node_t  *n;

    d = ngx_http_gw_lua_shdict_begin(L, "delete", &op);
    if (d == NULL) {
        return ngx_http_gw_lua_shdict_fail(L, "bad key");
    }

    ngx_http_gw_lua_shdict_lock(d);

    owner = ngx_http_gw_lua_shdict_owner(d, &op.plugin, 0);

    if (owner != NGX_ERROR) {
        n = ngx_http_gw_lua_shdict_lookup(d, owner, &op);

        if (n != NULL) {
            ngx_http_gw_lua_shdict_free(d, n);
        }
    }

    ngx_http_gw_lua_shdict_unlock(d);

    lua_pushboolean(L, 1);
    return 1;
}


int
ngx_http_gw_lua_shdict_open(lua_State *L)
{
    static const luaL_Reg  funcs[] = {
        { "get", ngx_http_gw_lua_shdict_get },
        { "set", ngx_http_gw_lua_shdict_set },
        { "incr", ngx_http_gw_lua_shdict_incr },
        { "delete", ngx_http_gw_lua_shdict_delete },
        { NULL, NULL }
    };

    lua_createtable(L, 0, 4);
    luaL_register(L, NULL, funcs);
    lua_setfield(L, -2, "shared");

    return 0;
}
