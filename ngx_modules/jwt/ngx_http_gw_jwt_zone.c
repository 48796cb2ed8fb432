
/*
 * Copyright (C) Tollgate
 *
 * The shared zone of remote key sets (gw_jwt_jwks_zone): one slot per key
 * set known at configuration time, then NGX_HTTP_GW_JWT_ROUTE_SETS slots
 * that routes' JWKS URLs take on first use, each holding the last good
 * document, its ETag, when it was fetched and until when it is fresh,
 * when to fetch next, and the claim of the worker fetching it now.  A
 * worker fetches only after claiming the slot under the zone's lock; a
 * claim names the worker's pid and a deadline, past which any worker may
 * claim again (a worker that died mid-fetch does not hold the set
 * forever).
 *
 * Workers read "version" without the lock on every request that uses the
 * set: when it moved, they take the lock and copy what changed; when
 * "generation" moved, the document itself, which each worker then parses
 * into its own keys.  So the request path costs one load of a shared word.
 *
 * On a reload that keeps the zone, slots of sets that stay (the same URL)
 * take a copy of their document, so a gateway whose key server is down
 * keeps its keys through the reload.  The old slot table is marked
 * retired: a worker of the old cycle that finishes a fetch drops what it
 * got instead of writing into memory the new cycle freed.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_gw_jwt_remote.h"


static ngx_int_t
ngx_http_gw_jwt_zone_reuse(ngx_http_gw_jwt_zone_t *zone,
    ngx_http_gw_jwt_zone_sh_t *old)
{
    u_char                  *data;
    ngx_uint_t               i, j;
    ngx_http_gw_jwt_slot_t  *s, *o;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < zone->sh->nslots; i++) {
        s = &zone->sh->slots[i];

        for (j = 0; j < old->nslots; j++) {
            o = &old->slots[j];

            if (o->id != s->id || o->data == NULL || o->url != NULL) {
                continue;
            }

            data = ngx_slab_alloc_locked(zone->shpool, o->len);
            if (data == NULL) {
                break;
            }

            ngx_memcpy(data, o->data, o->len);

            s->data = data;
            s->len = o->len;
            ngx_memcpy(s->etag, o->etag, o->etag_len);
            s->etag_len = o->etag_len;
            s->fetched = o->fetched;
            s->expires = o->expires;
            s->generation = 1;
            s->version = 1;
            break;
        }
    }

    for (j = 0; j < old->nslots; j++) {
        o = &old->slots[j];

        if (o->data != NULL) {
            ngx_slab_free_locked(zone->shpool, o->data);
            o->data = NULL;
        }

        if (o->url != NULL) {
            ngx_slab_free_locked(zone->shpool, o->url);
            o->url = NULL;
        }
    }

    old->retired = 1;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_jwt_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_gw_jwt_zone_t  *ozone = data;

    size_t                   len;
    uint32_t                *ids;
    ngx_uint_t               i, n;
    ngx_http_gw_jwt_zone_t  *zone;

    zone = shm_zone->data;
    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    n = zone->ids.nelts;
    len = sizeof(ngx_http_gw_jwt_zone_sh_t)
          + (n + zone->routes ? n + zone->routes - 1 : 0)
            * sizeof(ngx_http_gw_jwt_slot_t);

    zone->sh = ngx_slab_alloc(zone->shpool, len);
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(zone->sh, len);
    zone->sh->nslots = n;
    zone->sh->cap = n + zone->routes;

    ids = zone->ids.elts;

    for (i = 0; i < n; i++) {
        zone->sh->slots[i].id = ids[i];
    }

    if (ozone != NULL && ozone->sh != NULL) {
        return ngx_http_gw_jwt_zone_reuse(zone, ozone->sh);
    }

    if (shm_zone->shm.exists) {
        return NGX_OK;
    }

    len = sizeof(" in gw_jwt_jwks_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in gw_jwt_jwks_zone \"%V\"%Z",
                &shm_zone->shm.name);

    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_gw_jwt_zone_store(ngx_http_gw_jwt_zone_t *zone,
    ngx_http_gw_jwt_slot_t *slot, ngx_str_t *data, ngx_str_t *etag)
{
    u_char  *p;

    p = ngx_slab_alloc_locked(zone->shpool, data->len ? data->len : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, data->data, data->len);

    if (slot->data != NULL) {
        ngx_slab_free_locked(zone->shpool, slot->data);
    }

    slot->data = p;
    slot->len = data->len;

    slot->etag_len = ngx_min(etag->len, NGX_HTTP_GW_JWT_ETAG_MAX);
    ngx_memcpy(slot->etag, etag->data, slot->etag_len);

    slot->generation++;

    return NGX_OK;
}


u_char *
ngx_http_gw_jwt_zone_copy(ngx_http_gw_jwt_slot_t *slot, size_t *len,
    ngx_log_t *log)
{
    u_char  *p;

    if (slot->data == NULL) {
        return NULL;
    }

    p = ngx_alloc(slot->len ? slot->len : 1, log);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, slot->data, slot->len);
    *len = slot->len;

    return p;
}
