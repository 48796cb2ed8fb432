
/*
 * Copyright (C) Tollgate
 *
 * A route's "jwt" (docs/jwt.md, "As a route policy"):
 *
 *   {"issuer": "https://id.example.com", "audiences": ["orders"],
 *    "jwks_url": "https://id.example.com/jwks.json",
 *    "scopes": ["orders:read"], "scope_mode": "all" | "any",
 *    "algorithms": ["RS256"]}
 *
 * fills the location configuration that gw_jwt, gw_jwt_issuer,
 * gw_jwt_audience, gw_jwt_scope, gw_jwt_scope_mode and gw_jwt_algorithms
 * fill (realm "api"); the access handler is the same.
 *
 * Keys come by JWKS URL only, and a route names its URL at run time: the
 * first worker that needs it takes one of the NGX_HTTP_GW_JWT_ROUTE_SETS
 * slots gw_jwt_jwks_zone keeps for routes (the same URL is one slot for
 * every route and worker), and from then on the set is fetched once per
 * gateway and refreshed like a configured one.  The gateway never
 * resolves a name at run time and never connects where an operator did
 * not say: the URL's origin (scheme, host, port) must be one that
 * gw_jwt_jwks_allow names (or a configured key set's), whose addresses,
 * resolved when the configuration was read, are used.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_jwt.h"
#include "ngx_http_gw_jwt_remote.h"
#include "ngx_http_gw_policy.h"


static ngx_int_t ngx_http_gw_jwt_route_policy(ngx_conf_t *cf, void *conf,
    json_t *value, ngx_str_t *err);


static ngx_http_gw_policy_t  ngx_http_gw_jwt_kind = {
    ngx_string("jwt"), &ngx_http_gw_jwt_module, ngx_http_gw_jwt_route_policy
};


ngx_int_t
ngx_http_gw_jwt_route_init(ngx_conf_t *cf)
{
    return ngx_http_gw_policy_add(cf, &ngx_http_gw_jwt_kind);
}


ngx_int_t
ngx_http_gw_jwt_route_keys(ngx_conf_t *cf, ngx_str_t *url,
    ngx_http_gw_jwt_keyfile_t **kf, ngx_str_t *err)
{
    u_char                              *u;
    uint32_t                             id;
    ngx_str_t                            text;
    ngx_uint_t                           i, index, nallow;
    ngx_pool_t                          *pool;
    ngx_http_gw_jwt_url_t               *allow, *origin;
    ngx_http_gw_jwt_slot_t              *slot;
    ngx_http_gw_jwt_zone_t              *zone;
    ngx_http_gw_jwt_remote_t            *s, **sp;
    ngx_http_gw_jwt_remote_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gw_jwt_remote_module);
    zone = rmcf->zone;

    if (zone->routes == 0 || zone->sh == NULL) {
        ngx_str_set(err, "\"jwt.jwks_url\": no gw_jwt_jwks_zone for routes");
        return NGX_ERROR;
    }

    if (url->len == 0 || url->len > NGX_HTTP_GW_JWT_URL_MAX) {
        ngx_str_set(err, "\"jwt.jwks_url\" is empty or too long");
        return NGX_ERROR;
    }

    /* this worker's set of the URL, made for another route already */

    sp = rmcf->sets.elts;

    for (i = 0; i < rmcf->sets.nelts; i++) {
        if (!sp[i]->discovery
            && sp[i]->url.text.len == url->len
            && ngx_strncmp(sp[i]->url.text.data, url->data, url->len) == 0)
        {
            *kf = sp[i]->kf;
            return NGX_OK;
        }
    }

    /* the worker's sets live as long as the cycle */

    pool = rmcf->sets.pool;

    s = ngx_pcalloc(pool, sizeof(ngx_http_gw_jwt_remote_t));
    text.data = ngx_pnalloc(pool, url->len);

    if (s == NULL || text.data == NULL) {
        return NGX_ERROR;
    }

    text.len = url->len;
    ngx_memcpy(text.data, url->data, url->len);

    if (ngx_http_gw_jwt_url_split(&text, &s->url) != NULL) {
        ngx_str_set(err, "\"jwt.jwks_url\" is not a valid http or https URL");
        return NGX_ERROR;
    }

    /* an origin the operator named, with the addresses resolved then */

    origin = NULL;
    allow = rmcf->allow.elts;
    nallow = rmcf->allow.nelts;

    for (i = 0; origin == NULL && i < nallow; i++) {
        if (ngx_http_gw_jwt_url_same_origin(&s->url, &allow[i])) {
            origin = &allow[i];
        }
    }

    for (i = 0; origin == NULL && i < rmcf->sets.nelts; i++) {
        if (sp[i]->url.addrs != NULL
            && ngx_http_gw_jwt_url_same_origin(&s->url, &sp[i]->url))
        {
            origin = &sp[i]->url;
        }
    }

    if (origin == NULL || (s->url.ssl && rmcf->ssl == NULL)) {
        ngx_str_set(err, "\"jwt.jwks_url\" is on an origin that "
                         "gw_jwt_jwks_allow does not name");
        return NGX_ERROR;
    }

    s->url.addrs = origin->addrs;
    s->url.naddrs = origin->naddrs;

    /* the URL's slot: another worker's, or a free one */

    ngx_crc32_init(id);
    ngx_crc32_update(&id, text.data, text.len);
    ngx_crc32_final(id);

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (index = 0; index < zone->sh->nslots; index++) {
        slot = &zone->sh->slots[index];

        if (slot->url != NULL && slot->url_len == text.len
            && ngx_memcmp(slot->url, text.data, text.len) == 0)
        {
            break;
        }
    }

    if (index == zone->sh->nslots) {
        if (zone->sh->nslots == zone->sh->cap) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            ngx_str_set(err, "\"jwt.jwks_url\": gw_jwt_jwks_zone holds the "
                             "key sets of at most 32 JWKS URLs of routes, "
                             "all taken");
            return NGX_ERROR;
        }

        u = ngx_slab_alloc_locked(zone->shpool, text.len);
        if (u == NULL) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            ngx_str_set(err, "\"jwt.jwks_url\": gw_jwt_jwks_zone is full");
            return NGX_ERROR;
        }

        ngx_memcpy(u, text.data, text.len);

        slot = &zone->sh->slots[index];
        ngx_memzero(slot, sizeof(ngx_http_gw_jwt_slot_t));
        slot->id = id;
        slot->url = u;
        slot->url_len = text.len;

        zone->sh->nslots++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    s->index = index;
    s->issuer = s->url.text;

    s->kf = ngx_pcalloc(pool, sizeof(ngx_http_gw_jwt_keyfile_t));
    if (s->kf == NULL) {
        return NGX_ERROR;
    }

    s->kf->path = s->url.text;
    s->kf->remote = s;

    sp = ngx_array_push(&rmcf->sets);
    if (sp == NULL) {
        return NGX_ERROR;
    }

    *sp = s;
    *kf = s->kf;

    return NGX_OK;
}


/* a non-empty string of the policy, copied into cf->pool */

static ngx_int_t
ngx_http_gw_jwt_route_str(ngx_conf_t *cf, json_t *v, gw_str_t *s)
{
    u_char  *p;

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(cf->pool, json_string_length(v) + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, json_string_value(v), json_string_length(v) + 1);

    s->data = (const char *) p;
    s->len = json_string_length(v);

    return NGX_OK;
}


/* a string, or an array of them (issuer, audiences, scopes) */

static ngx_int_t
ngx_http_gw_jwt_route_strings(ngx_conf_t *cf, json_t *value,
    ngx_array_t **a)
{
    size_t       i, n;
    json_t      *v;
    gw_str_t    *s;
    ngx_int_t    rc;

    n = json_is_array(value) ? json_array_size(value) : 1;

    if (n == 0 || n > 64) {
        return NGX_DECLINED;
    }

    *a = ngx_array_create(cf->pool, n, sizeof(gw_str_t));
    if (*a == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        v = json_is_array(value) ? json_array_get(value, i) : value;

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_gw_jwt_route_str(cf, v, s);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_jwt_route_policy(ngx_conf_t *cf, void *conf, json_t *value,
    ngx_str_t *err)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    size_t                       i;
    json_t                      *v, *a;
    gw_alg_e                     alg;
    gw_str_t                     s;
    ngx_int_t                    rc;
    ngx_str_t                    url;
    const char                  *key;
    ngx_array_t                **strings;
    ngx_http_gw_jwt_keyfile_t   *kf, **kfp;

    if (!json_is_object(value)) {
        ngx_str_set(err, "\"jwt\" must be an object");
        return NGX_ERROR;
    }

    ngx_str_set(&jlcf->realm, "api");

    json_object_foreach(value, key, v) {

        strings = NULL;

        if (ngx_strcmp(key, "issuer") == 0) {
            if (!json_is_string(v)) {
                ngx_str_set(err, "\"jwt.issuer\" must be a string");
                return NGX_ERROR;
            }

            strings = &jlcf->issuers;

        } else if (ngx_strcmp(key, "audiences") == 0) {
            strings = &jlcf->audiences;

        } else if (ngx_strcmp(key, "scopes") == 0) {
            strings = &jlcf->scopes;
        }

        if (strings != NULL) {
            rc = ngx_http_gw_jwt_route_strings(cf, v, strings);

            if (rc == NGX_DECLINED) {
                ngx_str_set(err, "\"jwt\": \"issuer\", \"audiences\" and "
                                 "\"scopes\" take non-empty strings");
            }

            if (rc != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(key, "scope_mode") == 0) {
            if (json_is_string(v)
                && ngx_strcmp(json_string_value(v), "all") == 0)
            {
                jlcf->scope_mode = NGX_HTTP_GW_JWT_SCOPE_ALL;

            } else if (json_is_string(v)
                       && ngx_strcmp(json_string_value(v), "any") == 0)
            {
                jlcf->scope_mode = NGX_HTTP_GW_JWT_SCOPE_ANY;

            } else {
                ngx_str_set(err, "\"jwt.scope_mode\" must be \"all\" or "
                                 "\"any\"");
                return NGX_ERROR;
            }

            continue;
        }

        if (ngx_strcmp(key, "algorithms") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0) {
                ngx_str_set(err, "\"jwt.algorithms\" must be a non-empty "
                                 "array");
                return NGX_ERROR;
            }

            jlcf->algs = 0;

            json_array_foreach(v, i, a) {
                alg = json_is_string(a)
                      ? gw_alg_from_name(json_string_value(a),
                                         json_string_length(a))
                      : GW_ALG_UNKNOWN;

                if (alg == GW_ALG_UNKNOWN) {
                    ngx_str_set(err, "\"jwt.algorithms\": an unknown "
                                     "algorithm (names are case-sensitive, "
                                     "\"none\" is never allowed)");
                    return NGX_ERROR;
                }

                jlcf->algs |= GW_ALG_BIT(alg);
            }

            continue;
        }

        if (ngx_strcmp(key, "jwks_url") == 0) {
            rc = ngx_http_gw_jwt_route_str(cf, v, &s);

            if (rc == NGX_DECLINED) {
                ngx_str_set(err, "\"jwt.jwks_url\" must be a URL");
            }

            if (rc != NGX_OK) {
                return NGX_ERROR;
            }

            url.data = (u_char *) s.data;
            url.len = s.len;

            if (ngx_http_gw_jwt_route_keys(cf, &url, &kf, err) != NGX_OK) {
                return NGX_ERROR;
            }

            jlcf->keyfiles = ngx_array_create(cf->pool, 1,
                                         sizeof(ngx_http_gw_jwt_keyfile_t *));
            if (jlcf->keyfiles == NULL) {
                return NGX_ERROR;
            }

            kfp = ngx_array_push(jlcf->keyfiles);
            if (kfp == NULL) {
                return NGX_ERROR;
            }

            *kfp = kf;
            continue;
        }

        ngx_str_set(err, "\"jwt\" takes \"issuer\", \"audiences\", "
                         "\"jwks_url\", \"scopes\", \"scope_mode\" and "
                         "\"algorithms\" only");
        return NGX_ERROR;
    }

    if (jlcf->keyfiles == NULL) {
        ngx_str_set(err, "\"jwt\" needs \"jwks_url\"");
        return NGX_ERROR;
    }

    return NGX_OK;
}
