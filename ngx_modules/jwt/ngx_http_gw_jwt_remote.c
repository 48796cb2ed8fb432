
/*
 * Copyright (C) Tollgate
 *
 * Remote key sets (docs/jwt.md, "Remote keys"): gw_jwt_jwks_url and
 * gw_jwt_discovery give a location keys fetched over HTTP(S).  Each set is
 * an entry of the location's key list like a key file, so the access
 * handler picks and checks keys the same way; only where the keys come
 * from differs.
 *
 * One fetch per gateway: the set's slot in the shared zone
 * (ngx_http_gw_jwt_zone.c) is claimed by the worker that fetches, and the
 * others take the document from the zone when its generation moves.  A
 * timer in every worker (every 250 ms, every 20 ms while requests wait)
 * starts the scheduled refresh that is due (ahead of expiry, from
 * Cache-Control max-age bounded by gw_jwt_jwks_refresh_min/max, with
 * If-None-Match) and notices fetches other workers finished.
 *
 * A token whose key is not in the location's keys may be signed by a key
 * the server published since the last fetch: the request triggers a fetch
 * at most once per gw_jwt_jwks_cooldown per set (or joins the one in
 * progress), waits for it suspended (NGX_AGAIN, as a Redis wait) and is
 * checked again with what came.  When the server is down, the last good
 * keys stay in use up to gw_jwt_jwks_max_stale past their freshness; a
 * location with no key at all answers 503 with Retry-After, never 401.
 *
 * Addresses are resolved at configuration time, as proxy_pass does with a
 * literal host name: the only peers a worker ever connects to are those of
 * the configured URLs and of gw_jwt_jwks_allow.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_gw.h"
#include "ngx_http_gw_jwt_remote.h"
#include "ngx_http_gw_redis.h"
#include "ngx_http_gw_policy.h"
#include "gw_model.h"


#define NGX_HTTP_GW_JWT_TICK       250      /* milliseconds */
#define NGX_HTTP_GW_JWT_DEFAULT_AGE  300    /* seconds, no max-age given */
#define NGX_HTTP_GW_JWT_DISCOVERY  "/.well-known/openid-configuration"


static char *ngx_http_gw_jwt_remote_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gw_jwt_remote_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gw_jwt_remote_resolve(ngx_conf_t *cf,
    ngx_http_gw_jwt_url_t *u);
static void *ngx_http_gw_jwt_remote_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gw_jwt_remote_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_gw_jwt_remote_postconf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gw_jwt_remote_init_process(ngx_cycle_t *cycle);
static void ngx_http_gw_jwt_remote_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_gw_jwt_remote_fetch(
    ngx_http_gw_jwt_remote_main_conf_t *rmcf, ngx_http_gw_jwt_remote_t *s,
    ngx_http_gw_jwt_url_t *url, ngx_str_t *path, ngx_uint_t jwks);
static void ngx_http_gw_jwt_remote_fetched(ngx_http_gw_jwt_fetch_t *f);
static const char *ngx_http_gw_jwt_remote_discovered(
    ngx_http_gw_jwt_remote_main_conf_t *rmcf, ngx_http_gw_jwt_remote_t *s,
    ngx_http_gw_jwt_fetch_t *f);
static void ngx_http_gw_jwt_remote_done(ngx_http_gw_jwt_remote_main_conf_t
    *rmcf, ngx_http_gw_jwt_remote_t *s, ngx_http_gw_jwt_fetch_t *f,
    const char *err, gw_keyset_t *ks);
static void ngx_http_gw_jwt_remote_event(void *data, ngx_str_t *channel,
    ngx_str_t *message);
static void ngx_http_gw_jwt_remote_resync(void *data);


static ngx_command_t  ngx_http_gw_jwt_remote_commands[] = {

    { ngx_string("gw_jwt_jwks_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_jwt_remote_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_discovery"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gw_jwt_remote_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      1,
      NULL },

    { ngx_string("gw_jwt_jwks_allow"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_gw_jwt_remote_allow,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gw_jwt_jwks_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, trusted),
      NULL },

    { ngx_string("gw_jwt_jwks_refresh_min"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, refresh_min),
      NULL },

    { ngx_string("gw_jwt_jwks_refresh_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, refresh_max),
      NULL },

    { ngx_string("gw_jwt_jwks_cooldown"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, cooldown),
      NULL },

    { ngx_string("gw_jwt_jwks_max_stale"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, max_stale),
      NULL },

    { ngx_string("gw_jwt_jwks_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, timeout),
      NULL },

    { ngx_string("gw_jwt_jwks_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, max_size),
      NULL },

    { ngx_string("gw_jwt_jwks_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gw_jwt_remote_main_conf_t, zone_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gw_jwt_remote_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gw_jwt_remote_postconf,       /* postconfiguration */

    ngx_http_gw_jwt_remote_create_main_conf, /* create main configuration */
    ngx_http_gw_jwt_remote_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gw_jwt_remote_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_jwt_remote_module_ctx,    /* module context */
    ngx_http_gw_jwt_remote_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gw_jwt_remote_init_process,   /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_gw_jwt_remote_zone_name =
    ngx_string("gw_jwt_jwks");


/*
 * gw_jwt_jwks_url URL; gw_jwt_discovery ISSUER;  (cmd->offset: 1 for the
 * latter).  The same URL named twice is one set.
 */

static char *
ngx_http_gw_jwt_remote_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_remote_main_conf_t *rmcf = conf;

    u_char                       *p;
    uint32_t                      id;
    ngx_str_t                    *value, text;
    ngx_uint_t                    i, discovery;
    const char                   *err;
    ngx_http_gw_jwt_remote_t     *s, **sp;
    ngx_http_gw_jwt_keyfile_t   **kfp;
    ngx_http_gw_jwt_loc_conf_t   *jlcf;

    value = cf->args->elts;
    discovery = cmd->offset;
    text = value[1];

    if (discovery) {
        /* OpenID Connect Discovery 1.0, section 4: no trailing "/" */

        while (text.len && text.data[text.len - 1] == '/') {
            text.len--;
        }

        p = ngx_pnalloc(cf->pool, text.len
                                  + sizeof(NGX_HTTP_GW_JWT_DISCOVERY) - 1);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        text.data = p;
        text.len = ngx_cpymem(p, value[1].data, text.len)
                   - p;
        text.len = ngx_cpymem(p + text.len, NGX_HTTP_GW_JWT_DISCOVERY,
                              sizeof(NGX_HTTP_GW_JWT_DISCOVERY) - 1)
                   - p;
    }

    ngx_crc32_init(id);
    ngx_crc32_update(&id, (u_char *) &discovery, 1);
    ngx_crc32_update(&id, text.data, text.len);
    ngx_crc32_final(id);

    sp = rmcf->sets.elts;
    s = NULL;

    for (i = 0; i < rmcf->sets.nelts; i++) {
        if (sp[i]->discovery == discovery
            && sp[i]->url.text.len == text.len
            && ngx_strncmp(sp[i]->url.text.data, text.data, text.len) == 0)
        {
            s = sp[i];
            break;
        }
    }

    if (s == NULL) {
        s = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_remote_t));
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        err = ngx_http_gw_jwt_url_split(&text, &s->url);
        if (err != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V \"%V\": %s",
                               &cmd->name, &value[1], err);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_gw_jwt_remote_resolve(cf, &s->url) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        s->discovery = discovery;
        s->issuer = value[1];
        s->index = rmcf->sets.nelts;

        s->kf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_keyfile_t));
        if (s->kf == NULL) {
            return NGX_CONF_ERROR;
        }

        s->kf->path = s->url.text;
        s->kf->remote = s;

        sp = ngx_array_push(&rmcf->sets);
        if (sp == NULL) {
            return NGX_CONF_ERROR;
        }

        *sp = s;

        if (ngx_array_push(&rmcf->zone->ids) == NULL) {
            return NGX_CONF_ERROR;
        }

        ((uint32_t *) rmcf->zone->ids.elts)[s->index] = id;
    }

    /* the location's key list, as gw_jwt_key_file fills it */

    jlcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_gw_jwt_module);

    if (jlcf->keyfiles == NULL) {
        jlcf->keyfiles = ngx_array_create(cf->pool, 2,
                                          sizeof(ngx_http_gw_jwt_keyfile_t *));
        if (jlcf->keyfiles == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    kfp = ngx_array_push(jlcf->keyfiles);
    if (kfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *kfp = s->kf;

    return NGX_CONF_OK;
}


/* gw_jwt_jwks_allow URL ...: origins a discovered jwks_uri may name */

static char *
ngx_http_gw_jwt_remote_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_remote_main_conf_t *rmcf = conf;

    ngx_str_t              *value;
    ngx_uint_t              i;
    const char             *err;
    ngx_http_gw_jwt_url_t  *u;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        u = ngx_array_push(&rmcf->allow);
        if (u == NULL) {
            return NGX_CONF_ERROR;
        }

        err = ngx_http_gw_jwt_url_split(&value[i], u);
        if (err != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V \"%V\": %s",
                               &cmd->name, &value[i], err);
            return NGX_CONF_ERROR;
        }

        if (ngx_http_gw_jwt_remote_resolve(cf, u) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* the host's addresses, now, as proxy_pass resolves a literal name */

static ngx_int_t
ngx_http_gw_jwt_remote_resolve(ngx_conf_t *cf, ngx_http_gw_jwt_url_t *u)
{
    ngx_url_t  nu;

    ngx_memzero(&nu, sizeof(ngx_url_t));

    nu.url = u->authority;
    nu.default_port = u->port;
    nu.no_resolve = 0;

    if (ngx_parse_url(cf->pool, &nu) != NGX_OK || nu.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot resolve \"%V\"%s%s", &u->authority,
                           nu.err ? ": " : "", nu.err ? nu.err : "");
        return NGX_ERROR;
    }

    u->addrs = nu.addrs;
    u->naddrs = nu.naddrs;

    return NGX_OK;
}


static void *
ngx_http_gw_jwt_remote_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gw_jwt_remote_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_remote_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    rmcf->zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_zone_t));
    if (rmcf->zone == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rmcf->sets, cf->pool, 2,
                       sizeof(ngx_http_gw_jwt_remote_t *))
        != NGX_OK
        || ngx_array_init(&rmcf->allow, cf->pool, 2,
                          sizeof(ngx_http_gw_jwt_url_t))
           != NGX_OK
        || ngx_array_init(&rmcf->zone->ids, cf->pool, 2, sizeof(uint32_t))
           != NGX_OK)
    {
        return NULL;
    }

    rmcf->refresh_min = NGX_CONF_UNSET;
    rmcf->refresh_max = NGX_CONF_UNSET;
    rmcf->cooldown = NGX_CONF_UNSET;
    rmcf->max_stale = NGX_CONF_UNSET;
    rmcf->timeout = NGX_CONF_UNSET_MSEC;
    rmcf->max_size = NGX_CONF_UNSET_SIZE;
    rmcf->zone_size = NGX_CONF_UNSET;

    return rmcf;
}


static char *
ngx_http_gw_jwt_remote_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gw_jwt_remote_main_conf_t *rmcf = conf;

    ngx_uint_t                  i, ssl;
    ngx_shm_zone_t             *shm_zone;
    ngx_pool_cleanup_t         *cln;
    ngx_http_gw_jwt_remote_t  **sp;

    ngx_conf_init_value(rmcf->refresh_min, 60);
    ngx_conf_init_value(rmcf->refresh_max, 3600);
    ngx_conf_init_value(rmcf->cooldown, 30);
    ngx_conf_init_value(rmcf->max_stale, 86400);
    ngx_conf_init_msec_value(rmcf->timeout, 5000);
    ngx_conf_init_size_value(rmcf->max_size, 1024 * 1024);

    if (rmcf->refresh_min == 0 || rmcf->refresh_max < rmcf->refresh_min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gw_jwt_jwks_refresh_min\" must be at least 1s "
                           "and at most \"gw_jwt_jwks_refresh_max\"");
        return NGX_CONF_ERROR;
    }

    if (rmcf->max_size > GW_KEY_FILE_MAX || rmcf->max_size < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gw_jwt_jwks_max_size\" must be 1k to %d bytes",
                           GW_KEY_FILE_MAX);
        return NGX_CONF_ERROR;
    }

    /* where gw_router is, routes may name JWKS URLs: keep slots */

    if (ngx_http_gw_policy_routed(cf)) {
        rmcf->zone->routes = NGX_HTTP_GW_JWT_ROUTE_SETS;
    }

    if (rmcf->sets.nelts == 0 && rmcf->zone->routes == 0) {
        return NGX_CONF_OK;
    }

    sp = rmcf->sets.elts;
    ssl = 0;

    for (i = 0; i < rmcf->sets.nelts; i++) {
        ssl |= sp[i]->url.ssl;
    }

    for (i = 0; i < rmcf->allow.nelts; i++) {
        ssl |= ((ngx_http_gw_jwt_url_t *) rmcf->allow.elts)[i].ssl;
    }

    if (ssl) {
        if (rmcf->trusted.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "an https key set needs "
                               "\"gw_jwt_jwks_trusted_certificate\"");
            return NGX_CONF_ERROR;
        }

        rmcf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (rmcf->ssl == NULL) {
            return NGX_CONF_ERROR;
        }

        rmcf->ssl->log = cf->log;

        if (ngx_ssl_create(rmcf->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            ngx_ssl_cleanup_ctx(rmcf->ssl);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_ssl_cleanup_ctx;
        cln->data = rmcf->ssl;

        if (ngx_ssl_trusted_certificate(cf, rmcf->ssl, &rmcf->trusted, 4)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (rmcf->zone_size == NGX_CONF_UNSET) {
        rmcf->zone_size = 128 * 1024
                          + (rmcf->sets.nelts + (rmcf->zone->routes ? 4 : 0))
                            * 2 * rmcf->max_size;
    }

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_gw_jwt_remote_zone_name,
                                     rmcf->zone_size,
                                     &ngx_http_gw_jwt_remote_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_gw_jwt_zone_init;
    shm_zone->data = rmcf->zone;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gw_jwt_remote_postconf(ngx_conf_t *cf)
{
    ngx_str_t                            channel = ngx_string(GW_MODEL_EVENTS);
    ngx_http_gw_jwt_remote_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_jwt_remote_module);

    if ((rmcf->sets.nelts == 0 && rmcf->zone->routes == 0)
        || !ngx_http_gw_redis_configured(cf))
    {
        return NGX_OK;
    }

    /* "keys" on gw:events: the identity service changed its keys */

    return ngx_http_gw_redis_subscribe(cf, &channel,
                                       ngx_http_gw_jwt_remote_event,
                                       ngx_http_gw_jwt_remote_resync, rmcf);
}


static ngx_int_t
ngx_http_gw_jwt_remote_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gw_jwt_remote_main_conf_t  *rmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gw_jwt_remote_module);

    if (rmcf == NULL || (rmcf->sets.nelts == 0 && rmcf->zone->routes == 0))
    {
        return NGX_OK;
    }

    ngx_queue_init(&rmcf->waiters);

    rmcf->log = cycle->log;

    rmcf->tick.handler = ngx_http_gw_jwt_remote_tick;
    rmcf->tick.data = rmcf;
    rmcf->tick.log = cycle->log;
    rmcf->tick.cancelable = 1;

    ngx_add_timer(&rmcf->tick, 1);

    return NGX_OK;
}


/*
 * The worker's timer: takes what other workers fetched, wakes requests
 * whose wait is over, and starts a scheduled refresh that is due.
 */

static void
ngx_http_gw_jwt_remote_tick(ngx_event_t *ev)
{
    ngx_http_gw_jwt_remote_main_conf_t *rmcf = ev->data;

    ngx_uint_t                  i;
    ngx_http_gw_jwt_remote_t  **sp;

    sp = rmcf->sets.elts;

    for (i = 0; i < rmcf->sets.nelts; i++) {
        ngx_http_gw_jwt_remote_sync(rmcf, sp[i]);

        if (sp[i]->fetch == NULL) {
            (void) ngx_http_gw_jwt_remote_trigger(rmcf, sp[i], 0);
        }
    }

    ngx_http_gw_jwt_remote_wake(rmcf, 0);

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_add_timer(ev, ngx_queue_empty(&rmcf->waiters)
                      ? NGX_HTTP_GW_JWT_TICK : NGX_HTTP_GW_JWT_TICK_WAIT);
}


/*
 * Brings the worker's keys of s up to the zone: a new generation is
 * parsed into a fresh key set that replaces the old one; keys past
 * gw_jwt_jwks_max_stale are dropped.  A finished fetch wakes the waiters.
 */

void
ngx_http_gw_jwt_remote_sync(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_http_gw_jwt_remote_t *s)
{
    char                     err[256];
    u_char                  *data;
    size_t                   len;
    time_t                   expires;
    gw_keyset_t              ks;
    ngx_atomic_uint_t        gen, attempts;
    ngx_http_gw_jwt_zone_t  *zone;
    ngx_http_gw_jwt_slot_t  *slot;

    zone = rmcf->zone;
    slot = &zone->sh->slots[s->index];

    if (slot->version != s->version) {
        data = NULL;
        len = 0;

        ngx_shmtx_lock(&zone->shpool->mutex);

        s->version = slot->version;
        gen = slot->generation;
        attempts = slot->attempts;
        expires = slot->expires;

        if (gen != s->generation) {
            data = ngx_http_gw_jwt_zone_copy(slot, &len, rmcf->log);
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (data != NULL) {
            ngx_memzero(&ks, sizeof(gw_keyset_t));

            if (gw_keyset_load(&ks, data, len, GW_KEY_FMT_JWK, NULL, 0, err,
                               sizeof(err))
                == 0)
            {
                gw_keyset_free(&s->kf->keys);
                s->kf->keys = ks;
                s->generation = gen;
                s->dropped = 0;

            } else {
                ngx_log_error(NGX_LOG_ERR, rmcf->log, 0,
                              "gw_jwt: key set \"%V\" in the zone does not "
                              "load: %s", &s->url.text, err);
            }

            ngx_free(data);
        }

        if (s->kf->keys.nkeys) {
            s->usable_until = expires + rmcf->max_stale;
        }

        if (attempts != s->attempts) {
            s->attempts = attempts;
            ngx_http_gw_jwt_remote_wake(rmcf, 1);
        }
    }

    if (s->kf->keys.nkeys && ngx_time() > s->usable_until) {
        gw_keyset_free(&s->kf->keys);

        if (!s->dropped) {
            s->dropped = 1;
            ngx_log_error(NGX_LOG_WARN, rmcf->log, 0,
                          "gw_jwt: keys of \"%V\" are older than "
                          "gw_jwt_jwks_max_stale, no longer used",
                          &s->url.text);
        }
    }
}


/*
 * Claims s and starts a fetch when one is due: forced (a request lacks a
 * key) at most once per cooldown, else when the schedule says.  Returns
 * NGX_AGAIN when a fetch of s is in progress now (ours or another
 * worker's) or, for a forced one, has ended in another worker since this
 * one last took the zone's keys; NGX_DECLINED when none is.
 */

ngx_int_t
ngx_http_gw_jwt_remote_trigger(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_http_gw_jwt_remote_t *s, ngx_uint_t forced)
{
    time_t                   now;
    ngx_http_gw_jwt_zone_t  *zone;
    ngx_http_gw_jwt_slot_t  *slot;

    if (s->fetch != NULL) {
        return NGX_AGAIN;
    }

    zone = rmcf->zone;
    slot = &zone->sh->slots[s->index];
    now = ngx_time();

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (slot->claim_pid != 0 && slot->claim_deadline > now) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_AGAIN;
    }

    if (forced && slot->version != s->version) {

        /*
         * A fetch (another worker's) ended after this worker last took the
         * zone's keys: it is the fetch the request asks for.  The request
         * waits for the next tick, which takes those keys and wakes it.
         */

        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_AGAIN;
    }

    if (forced
        ? (slot->forced != 0 && now - slot->forced < rmcf->cooldown)
        : slot->refresh_at > now)
    {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_DECLINED;
    }

    slot->claim_pid = ngx_pid;
    slot->claim_deadline = now + 2 * (rmcf->timeout / 1000) + 2;
    slot->started = now;

    if (forced) {
        slot->forced = now;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (ngx_http_gw_jwt_remote_fetch(rmcf, s, &s->url, &s->url.path,
                                     !s->discovery)
        != NGX_OK)
    {
        ngx_http_gw_jwt_remote_done(rmcf, s, NULL, "out of memory", NULL);
        return NGX_DECLINED;
    }

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_gw_jwt_remote_fetch(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_http_gw_jwt_remote_t *s, ngx_http_gw_jwt_url_t *url, ngx_str_t *path,
    ngx_uint_t jwks)
{
    u_char                   *etag;
    ngx_str_t                 text;
    ngx_http_gw_jwt_url_t    *u;
    ngx_http_gw_jwt_slot_t   *slot;
    ngx_http_gw_jwt_fetch_t  *f;

    f = ngx_http_gw_jwt_fetch_create(rmcf->log);
    if (f == NULL) {
        return NGX_ERROR;
    }

    /* a discovered URL lives in the discovery fetch's pool: copy it */

    if (url != &s->url) {
        u = ngx_palloc(f->pool, sizeof(ngx_http_gw_jwt_url_t));
        text.data = ngx_pnalloc(f->pool, url->text.len);

        if (u == NULL || text.data == NULL) {
            ngx_http_gw_jwt_fetch_destroy(f);
            return NGX_ERROR;
        }

        text.len = url->text.len;
        ngx_memcpy(text.data, url->text.data, text.len);

        (void) ngx_http_gw_jwt_url_split(&text, u);

        u->addrs = url->addrs;
        u->naddrs = url->naddrs;
        url = u;
        path = &u->path;
    }

    f->url = url;
    f->path = *path;
    f->ssl = url->ssl ? rmcf->ssl : NULL;
    f->max_size = rmcf->max_size;
    f->timeout = rmcf->timeout;
    f->handler = ngx_http_gw_jwt_remote_fetched;
    f->data = s;

    /* the ETag of the document the zone holds, for the JWKS only */

    slot = &rmcf->zone->sh->slots[s->index];

    if (jwks && s->kf->keys.nkeys) {
        ngx_shmtx_lock(&rmcf->zone->shpool->mutex);

        if (slot->data != NULL && slot->etag_len) {
            etag = ngx_pnalloc(f->pool, slot->etag_len);

            if (etag != NULL) {
                ngx_memcpy(etag, slot->etag, slot->etag_len);
                f->etag.data = etag;
                f->etag.len = slot->etag_len;
            }
        }

        ngx_shmtx_unlock(&rmcf->zone->shpool->mutex);
    }

    if (!jwks) {
        f->max_size = ngx_min(rmcf->max_size, 64 * 1024);
    }

    s->fetch = f;

    ngx_http_gw_jwt_fetch_start(f);

    return NGX_OK;
}


static void
ngx_http_gw_jwt_remote_fetched(ngx_http_gw_jwt_fetch_t *f)
{
    ngx_http_gw_jwt_remote_t *s = f->data;

    char                                 err[256];
    u_char                               buf[NGX_HTTP_GW_LOG_SIZE];
    ngx_str_t                            text;
    const char                          *reason;
    gw_keyset_t                          ks;
    ngx_http_gw_jwt_remote_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_gw_jwt_remote_module);

    s->fetch = NULL;

    if (f->err != NULL) {
        ngx_http_gw_jwt_remote_done(rmcf, s, f, f->err, NULL);
        return;
    }

    if (s->discovery && f->url == &s->url) {
        reason = ngx_http_gw_jwt_remote_discovered(rmcf, s, f);

        if (reason != NULL) {
            ngx_http_gw_jwt_remote_done(rmcf, s, f, reason, NULL);
        }

        return;
    }

    if (f->status == 304) {
        if (s->kf->keys.nkeys == 0 || f->etag.len == 0) {
            reason = "304 without a cached document";
            ngx_http_gw_jwt_remote_done(rmcf, s, f, reason, NULL);
            return;
        }

        ngx_http_gw_jwt_remote_done(rmcf, s, f, NULL, NULL);
        return;
    }

    if (f->status != 200) {
        ngx_snprintf((u_char *) f->reason, sizeof(f->reason) - 1,
                     "status %ui%Z", f->status);
        ngx_http_gw_jwt_remote_done(rmcf, s, f, f->reason, NULL);
        return;
    }

    ngx_memzero(&ks, sizeof(gw_keyset_t));

    if (gw_keyset_load(&ks, f->body.data, f->body.len, GW_KEY_FMT_JWK, NULL,
                       0, err, sizeof(err))
        != 0)
    {
        ngx_http_gw_log_escape(&text, buf, (u_char *) err, ngx_strlen(err));
        ngx_snprintf((u_char *) f->reason, sizeof(f->reason) - 1,
                     "invalid JWKS: %V%Z", &text);
        ngx_http_gw_jwt_remote_done(rmcf, s, f, f->reason, NULL);
        return;
    }

    ngx_http_gw_jwt_remote_done(rmcf, s, f, NULL, &ks);
}


/*
 * The discovery document came: its "issuer" must be the configured one,
 * byte for byte (OpenID Connect Discovery 1.0, section 4.3), and its
 * "jwks_uri" must be on the issuer's origin or one gw_jwt_jwks_allow
 * names, whose addresses are used.  Starts the JWKS fetch; returns NULL,
 * or the reason the document is refused.
 */

static const char *
ngx_http_gw_jwt_remote_discovered(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_http_gw_jwt_remote_t *s, ngx_http_gw_jwt_fetch_t *f)
{
    u_char                  *p;
    json_t                  *doc, *iss, *uri;
    ngx_str_t                text;
    ngx_uint_t               i;
    const char              *reason;
    json_error_t             jerr;
    ngx_http_gw_jwt_url_t   *u, *origin, *allow;

    if (f->status != 200) {
        ngx_snprintf((u_char *) f->reason, sizeof(f->reason) - 1,
                     "discovery: status %ui%Z", f->status);
        return f->reason;
    }

    doc = json_loadb((char *) f->body.data, f->body.len,
                     JSON_REJECT_DUPLICATES, &jerr);

    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        return "discovery: not a JSON object";
    }

    iss = json_object_get(doc, "issuer");
    uri = json_object_get(doc, "jwks_uri");
    reason = NULL;

    if (!json_is_string(iss)
        || json_string_length(iss) != s->issuer.len
        || ngx_memcmp(json_string_value(iss), s->issuer.data, s->issuer.len)
           != 0)
    {
        reason = "discovery: \"issuer\" is not the configured issuer";
        goto done;
    }

    if (!json_is_string(uri)
        || json_string_length(uri) > NGX_HTTP_GW_JWT_URL_MAX)
    {
        reason = "discovery: no valid \"jwks_uri\"";
        goto done;
    }

    p = ngx_pnalloc(f->pool, json_string_length(uri));
    u = ngx_pcalloc(f->pool, sizeof(ngx_http_gw_jwt_url_t));

    if (p == NULL || u == NULL) {
        reason = "out of memory";
        goto done;
    }

    text.data = p;
    text.len = json_string_length(uri);
    ngx_memcpy(p, json_string_value(uri), text.len);

    if (ngx_http_gw_jwt_url_split(&text, u) != NULL) {
        reason = "discovery: no valid \"jwks_uri\"";
        goto done;
    }

    origin = NULL;

    if (ngx_http_gw_jwt_url_same_origin(u, &s->url)) {
        origin = &s->url;

    } else {
        allow = rmcf->allow.elts;

        for (i = 0; i < rmcf->allow.nelts; i++) {
            if (ngx_http_gw_jwt_url_same_origin(u, &allow[i])) {
                origin = &allow[i];
                break;
            }
        }
    }

    if (origin == NULL) {
        reason = "discovery: \"jwks_uri\" is on an origin neither the "
                 "issuer's nor allowed by gw_jwt_jwks_allow";
        goto done;
    }

    u->addrs = origin->addrs;
    u->naddrs = origin->naddrs;

    json_decref(doc);
    doc = NULL;

    if (ngx_http_gw_jwt_remote_fetch(rmcf, s, u, &u->path, 1) != NGX_OK) {
        reason = "out of memory";
        goto done;
    }

    ngx_http_gw_jwt_fetch_destroy(f);

    return NULL;

done:

    json_decref(doc);
    return reason;
}


/*
 * Records the outcome of a fetch in the zone (ks: a new document that
 * loaded, now this worker's keys; neither ks nor err: 304, the keys stay
 * and are fresh again), releases the claim, logs one warning per
 * incident and a notice at its end, and wakes the requests waiting.
 */

static void
ngx_http_gw_jwt_remote_done(ngx_http_gw_jwt_remote_main_conf_t *rmcf,
    ngx_http_gw_jwt_remote_t *s, ngx_http_gw_jwt_fetch_t *f, const char *err,
    gw_keyset_t *ks)
{
    time_t                   now, ttl, age, since;
    ngx_str_t                etag;
    ngx_uint_t               warn, recovered, have;
    ngx_http_gw_jwt_zone_t  *zone;
    ngx_http_gw_jwt_slot_t  *slot;

    zone = rmcf->zone;
    slot = &zone->sh->slots[s->index];
    now = ngx_time();
    warn = 0;
    recovered = 0;
    since = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (zone->sh->retired) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        goto free;
    }

    if (err == NULL && ks != NULL) {
        etag = f->etag_out;

        if (ngx_http_gw_jwt_zone_store(zone, slot, &f->body, &etag)
            != NGX_OK)
        {
            err = "no room in gw_jwt_jwks_zone";
        }
    }

    if (err == NULL) {
        age = (f->max_age >= 0) ? f->max_age : NGX_HTTP_GW_JWT_DEFAULT_AGE;
        ttl = ngx_max(age, rmcf->refresh_min);
        ttl = ngx_min(ttl, rmcf->refresh_max);

        slot->fetched = now;
        slot->expires = now + ttl;
        slot->refresh_at = now + ttl - ttl / 5;
        slot->failures = 0;

        if (slot->failing_since) {
            recovered = 1;
            since = slot->failing_since;
            slot->failing_since = 0;
        }

    } else {
        slot->failures++;
        age = (time_t) 1 << ngx_min(slot->failures - 1, 16);
        slot->refresh_at = now + ngx_min(age, rmcf->refresh_min);

        if (slot->failing_since == 0) {
            slot->failing_since = now;
            warn = 1;
        }
    }

    if (slot->claim_pid == ngx_pid) {
        slot->claim_pid = 0;
    }

    slot->attempts++;
    slot->version++;

    if (ks != NULL && err == NULL) {
        s->generation = slot->generation;
    }

    have = slot->data != NULL;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (ks != NULL && err == NULL) {
        gw_keyset_free(&s->kf->keys);
        s->kf->keys = *ks;
        ks = NULL;
        s->dropped = 0;
    }

    if (warn) {
        ngx_log_error(NGX_LOG_WARN, rmcf->log, 0,
                      "gw_jwt: key set \"%V\" cannot be fetched: %s; %s",
                      &s->url.text, err,
                      have ? "the last good keys stay in use"
                           : "no keys yet, requests get 503");

    } else if (err != NULL) {
        ngx_log_error(NGX_LOG_INFO, rmcf->log, 0,
                      "gw_jwt: key set \"%V\" still cannot be fetched: %s",
                      &s->url.text, err);

    } else if (recovered) {
        ngx_log_error(NGX_LOG_NOTICE, rmcf->log, 0,
                      "gw_jwt: key set \"%V\" fetched again after %T s",
                      &s->url.text, now - since);
    }

free:

    if (ks != NULL) {
        gw_keyset_free(ks);
    }

    if (f != NULL) {
        ngx_http_gw_jwt_fetch_destroy(f);
    }

    ngx_http_gw_jwt_remote_sync(rmcf, s);
    ngx_http_gw_jwt_remote_wake(rmcf, 1);
}


/* "keys" on gw:events: fetch now, once per gateway */

static void
ngx_http_gw_jwt_remote_event(void *data, ngx_str_t *channel,
    ngx_str_t *message)
{
    gw_model_event_t  ev;

    if (gw_model_event_parse((char *) message->data, message->len, &ev) != 0
        || ev.kind != GW_MODEL_EVENT_IS_KEYS)
    {
        return;
    }

    ngx_http_gw_jwt_remote_resync(data);
}


static void
ngx_http_gw_jwt_remote_resync(void *data)
{
    ngx_http_gw_jwt_remote_main_conf_t *rmcf = data;

    time_t                      now;
    ngx_uint_t                  i;
    ngx_http_gw_jwt_slot_t     *slot;
    ngx_http_gw_jwt_remote_t  **sp;

    if (rmcf->zone->sh == NULL) {
        return;
    }

    sp = rmcf->sets.elts;
    now = ngx_time();

    /* every worker hears the message: the first one moves the schedule */

    ngx_shmtx_lock(&rmcf->zone->shpool->mutex);

    for (i = 0; i < rmcf->sets.nelts; i++) {
        slot = &rmcf->zone->sh->slots[sp[i]->index];

        if (slot->started < now && slot->refresh_at > now) {
            slot->refresh_at = now;
        }
    }

    ngx_shmtx_unlock(&rmcf->zone->shpool->mutex);

    for (i = 0; i < rmcf->sets.nelts; i++) {
        (void) ngx_http_gw_jwt_remote_trigger(rmcf, sp[i], 0);
    }
}
