
/*
 * Copyright (C) Tollgate
 *
 * Health slots: the passive and active health and the connections in
 * flight of one target, shared by every worker, and kept across
 * snapshots, so that a change elsewhere does not bring a failed target
 * back or forget its connections.
 *
 * A slot belongs to a key, the hash of "<upstream id> NUL <address>",
 * and remembers the newest build that used it.  The table is made with
 * the zone (its size follows the zone's: one slot a KiB, 256 at least).
 * While building, the builder indexes the used slots by key in its own
 * memory (a pass over the table, cheap next to a build) and gives a
 * target its key's slot, or a slot no live snapshot can still refer to
 * (its build is older than the oldest snapshot published or not yet
 * freed), zeroed.  Nothing else writes the keys.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_config.h"


/* the builder's index of the table during one build */
static uint32_t    *ngx_http_gw_config_hindex;     /* slot + 1, 0: empty */
static ngx_uint_t   ngx_http_gw_config_hmask;
static ngx_uint_t   ngx_http_gw_config_hcursor;     /* where a free slot
                                                       is looked for */


ngx_int_t
ngx_http_gw_config_health_init(ngx_http_gw_config_main_conf_t *gcf,
    ngx_slab_pool_t *shpool, size_t size)
{
    u_char                   *h, *k;
    ngx_uint_t                n;
    ngx_http_gw_config_sh_t  *sh;

    sh = gcf->sh;

    n = size / 1024;
    n = ngx_max(n, 256);
    n = ngx_min(n, 262144);

    h = ngx_slab_calloc(shpool, n * sizeof(ngx_http_gw_snap_health_t));
    k = ngx_slab_calloc(shpool, n * sizeof(ngx_http_gw_config_hkey_t));

    if (h == NULL || k == NULL) {
        return NGX_ERROR;
    }

    sh->nhealth = n;
    sh->health = h - (u_char *) shpool;
    sh->hkeys = k - (u_char *) shpool;

    return NGX_OK;
}


static uint64_t
ngx_http_gw_config_health_key(const char *upstream, const char *address)
{
    uint64_t        h;
    const u_char   *p;

    /* FNV-1a, 64 bits */

    h = 0xcbf29ce484222325ULL;

    for (p = (const u_char *) upstream; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ULL;
    }

    h = (h ^ 0) * 0x100000001b3ULL;

    for (p = (const u_char *) address; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ULL;
    }

    return h != 0 ? h : 1;
}


static void
ngx_http_gw_config_health_insert(uint64_t key, ngx_uint_t slot)
{
    ngx_uint_t  i;

    i = (ngx_uint_t) (key ^ (key >> 29)) & ngx_http_gw_config_hmask;

    while (ngx_http_gw_config_hindex[i] != 0) {
        i = (i + 1) & ngx_http_gw_config_hmask;
    }

    ngx_http_gw_config_hindex[i] = (uint32_t) slot + 1;
}


/* indexes the used slots for one build: NGX_OK, or NGX_ERROR (memory) */

ngx_int_t
ngx_http_gw_config_health_begin(ngx_http_gw_config_main_conf_t *gcf)
{
    ngx_uint_t                  i, n, size;
    ngx_http_gw_config_hkey_t  *keys;

    n = gcf->sh->nhealth;
    keys = (ngx_http_gw_config_hkey_t *)
               ((u_char *) gcf->shpool + gcf->sh->hkeys);

    for (size = 1024; size < 2 * n; size <<= 1) { /* void */ }

    ngx_http_gw_config_hindex = ngx_calloc(size * sizeof(uint32_t),
                                           ngx_cycle->log);
    if (ngx_http_gw_config_hindex == NULL) {
        return NGX_ERROR;
    }

    ngx_http_gw_config_hmask = size - 1;

    for (i = 0; i < n; i++) {
        if (keys[i].key != 0) {
            ngx_http_gw_config_health_insert(keys[i].key, i);
        }
    }

    return NGX_OK;
}


void
ngx_http_gw_config_health_end(void)
{
    if (ngx_http_gw_config_hindex != NULL) {
        ngx_free(ngx_http_gw_config_hindex);
        ngx_http_gw_config_hindex = NULL;
    }
}


/*
 * The slot of a target for the build of generation gen: its key's, or
 * a free one (zeroed); oldest is the oldest generation a live snapshot
 * has.  Returns NGX_HTTP_GW_SNAP_NONE when every slot is in use.
 */

uint32_t
ngx_http_gw_config_health_slot(ngx_http_gw_config_main_conf_t *gcf,
    const char *upstream, const char *address, uint64_t gen,
    uint64_t oldest)
{
    uint32_t                    s;
    uint64_t                    key;
    ngx_uint_t                  i, j, n;
    ngx_http_gw_config_hkey_t  *keys;
    ngx_http_gw_snap_health_t  *h;

    n = gcf->sh->nhealth;
    keys = (ngx_http_gw_config_hkey_t *)
               ((u_char *) gcf->shpool + gcf->sh->hkeys);

    key = ngx_http_gw_config_health_key(upstream, address);

    i = (ngx_uint_t) (key ^ (key >> 29)) & ngx_http_gw_config_hmask;

    while ((s = ngx_http_gw_config_hindex[i]) != 0) {
        if (keys[s - 1].key == key) {
            keys[s - 1].gen = gen;
            return s - 1;
        }

        i = (i + 1) & ngx_http_gw_config_hmask;
    }

    for (j = 0; j < n; j++) {
        i = (ngx_http_gw_config_hcursor + j) % n;

        if (keys[i].key != 0 && keys[i].gen >= oldest) {
            continue;
        }

        h = (ngx_http_gw_snap_health_t *)
                ((u_char *) gcf->shpool + gcf->sh->health) + i;

        ngx_memzero(h, sizeof(ngx_http_gw_snap_health_t));

        keys[i].key = key;
        keys[i].gen = gen;

        ngx_http_gw_config_hcursor = (i + 1) % n;
        ngx_http_gw_config_health_insert(key, i);

        return (uint32_t) i;
    }

    return NGX_HTTP_GW_SNAP_NONE;
}


ngx_http_gw_snap_health_t *
ngx_http_gw_snapshot_health(ngx_http_gw_snap_t *s,
    ngx_http_gw_snap_target_t *target)
{
    ngx_http_gw_config_main_conf_t  *gcf;

    gcf = ngx_http_gw_config_conf;

    if (gcf == NULL || target->health >= gcf->sh->nhealth) {
        return NULL;
    }

    return (ngx_http_gw_snap_health_t *)
               ((u_char *) gcf->shpool + gcf->sh->health) + target->health;
}
