
/*
 * Copyright (C) Tollgate
 *
 * The builder's entities: the documents of the types a snapshot is made
 * of, as the metadata service stored them (its "doc", with "version"
 * set from the entity's version), in the builder worker's own memory.
 * The follower applies the change log to them one entity at a time, and
 * the build reads them whole; other types are not kept.  Only the
 * builder has a model: the other workers read the published snapshot.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_config.h"


const char  *ngx_http_gw_config_types[] = {
    "routes", "upstreams", "plans", "limits", "schemas", "plugins", NULL
};


static ngx_uint_t
ngx_http_gw_config_model_type(const char *type)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_gw_config_types[i] != NULL; i++) {
        if (ngx_strcmp(type, ngx_http_gw_config_types[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


void
ngx_http_gw_config_model_free(ngx_http_gw_config_model_t *m)
{
    if (m->types != NULL) {
        json_decref(m->types);
        m->types = NULL;
    }

    m->revision = 0;
    m->committed_ms = 0;
}


/*
 * Sets (version > 0) or deletes (version 0) an entity.  A type the
 * snapshot does not use is ignored.  Returns NGX_OK; NGX_DECLINED when
 * the document is not a JSON object (logged at warn: the store's data,
 * not our fault; the entity is left out); NGX_ERROR on no memory.
 */

ngx_int_t
ngx_http_gw_config_model_set(ngx_http_gw_config_model_t *m,
    const char *type, const char *id, size_t id_len, uint64_t version,
    const char *doc, size_t doc_len, ngx_log_t *log)
{
    char          key[128];
    json_t       *t, *d;
    json_error_t  jerr;

    if (!ngx_http_gw_config_model_type(type)) {
        return NGX_OK;
    }

    if (id_len == 0 || id_len >= sizeof(key)) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "gw_config: an entity of %s with a bad id is left out",
                      type);
        return NGX_DECLINED;
    }

    ngx_memcpy(key, id, id_len);
    key[id_len] = '\0';

    if (m->types == NULL) {
        m->types = json_object();
        if (m->types == NULL) {
            return NGX_ERROR;
        }
    }

    t = json_object_get(m->types, type);

    if (t == NULL) {
        t = json_object();
        if (t == NULL || json_object_set_new(m->types, type, t) != 0) {
            return NGX_ERROR;
        }
    }

    if (version == 0) {
        (void) json_object_del(t, key);
        return NGX_OK;
    }

    d = json_loadb(doc, doc_len, JSON_REJECT_DUPLICATES, &jerr);

    if (d == NULL || !json_is_object(d)) {
        json_decref(d);
        (void) json_object_del(t, key);

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "gw_config: %s \"%s\" version %uL is not a JSON "
                      "object, left out", type, key, version);
        return NGX_DECLINED;
    }

    if (json_object_set_new(d, "version", json_integer((json_int_t) version))
        != 0
        || json_object_set_new(t, key, d) != 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* an entity's doc (borrowed), or NULL */

json_t *
ngx_http_gw_config_model_get(ngx_http_gw_config_model_t *m,
    const char *type, const char *id)
{
    if (m->types == NULL) {
        return NULL;
    }

    return json_object_get(json_object_get(m->types, type), id);
}
