
/*
 * Copyright (C) Tollgate
 *
 * Key files: loaded at configuration time (a bad file fails "nginx -t"),
 * then watched by a timer in every worker.  The timer stat()s each file
 * every gw_jwt_key_check_interval; a file whose inode, size or mtime
 * changed is loaded into a fresh key set that replaces the old one only
 * when it loads cleanly.  A failed load keeps the last good keys and logs
 * one error per change of the file, not one per check.
 *
 * A file named the same way (path, format, kid, alg) by several locations
 * is loaded once.  Keys live in the process's own memory: each worker
 * reloads its own copy, so no lock or shared memory is involved.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_jwt.h"


static ngx_int_t ngx_http_gw_jwt_key_stat(ngx_http_gw_jwt_keyfile_t *kf,
    ngx_file_info_t *fi);
static void ngx_http_gw_jwt_keys_cleanup(void *data);
static void ngx_http_gw_jwt_keys_check(ngx_event_t *ev);


static ngx_int_t
ngx_http_gw_jwt_key_stat(ngx_http_gw_jwt_keyfile_t *kf, ngx_file_info_t *fi)
{
    if (ngx_file_info(kf->path.data, fi) == NGX_FILE_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_gw_jwt_key_remember(ngx_http_gw_jwt_keyfile_t *kf,
    ngx_file_info_t *fi)
{
    kf->mtime = fi->st_mtim;
    kf->size = fi->st_size;
    kf->ino = fi->st_ino;
}


static ngx_uint_t
ngx_http_gw_jwt_key_changed(ngx_http_gw_jwt_keyfile_t *kf,
    ngx_file_info_t *fi)
{
    return kf->mtime.tv_sec != fi->st_mtim.tv_sec
           || kf->mtime.tv_nsec != fi->st_mtim.tv_nsec
           || kf->size != fi->st_size
           || kf->ino != fi->st_ino;
}


/*
 * gw_jwt_key_file path [format=pem|jwk|hmac] [kid=id] [alg=ALG];
 */

char *
ngx_http_gw_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gw_jwt_loc_conf_t *jlcf = conf;

    char                          err[256];
    u_char                       *kid;
    gw_alg_e                      alg;
    unsigned                      algs;
    ngx_str_t                    *value, path, s;
    ngx_uint_t                    i;
    gw_key_format_e               format;
    ngx_file_info_t               fi;
    ngx_pool_cleanup_t           *cln;
    ngx_http_gw_jwt_keyfile_t    *kf, **kfp;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    value = cf->args->elts;

    path = value[1];
    format = GW_KEY_FMT_AUTO;
    kid = NULL;
    algs = 0;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "format=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            if (ngx_strcmp(s.data, "pem") == 0) {
                format = GW_KEY_FMT_PEM;

            } else if (ngx_strcmp(s.data, "jwk") == 0) {
                format = GW_KEY_FMT_JWK;

            } else if (ngx_strcmp(s.data, "hmac") == 0) {
                format = GW_KEY_FMT_HMAC;

            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid key format \"%V\", "
                                   "use pem, jwk or hmac", &s);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "kid=", 4) == 0) {
            if (value[i].len == 4 || value[i].len - 4 > GW_KID_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": a kid is 1 to %d bytes",
                                   &value[i], GW_KID_MAX);
                return NGX_CONF_ERROR;
            }

            kid = value[i].data + 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "alg=", 4) == 0) {
            alg = gw_alg_from_name((char *) value[i].data + 4,
                                   value[i].len - 4);
            if (alg == GW_ALG_UNKNOWN) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "unknown algorithm in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            algs = GW_ALG_BIT(alg);
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

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

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gw_jwt_module);

    kf = NULL;

    for (i = 0; i < jmcf->keyfiles.nelts; i++) {
        kf = ((ngx_http_gw_jwt_keyfile_t **) jmcf->keyfiles.elts)[i];

        if (kf->path.len == path.len
            && ngx_strcmp(kf->path.data, path.data) == 0
            && kf->format == format
            && kf->algs == algs
            && ((kf->kid == NULL && kid == NULL)
                || (kf->kid != NULL && kid != NULL
                    && ngx_strcmp(kf->kid, kid) == 0)))
        {
            *kfp = kf;
            return NGX_CONF_OK;
        }
    }

    kf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_jwt_keyfile_t));
    if (kf == NULL) {
        return NGX_CONF_ERROR;
    }

    kf->path = path;
    kf->format = format;
    kf->kid = (char *) kid;
    kf->algs = algs;

    if (ngx_http_gw_jwt_key_stat(kf, &fi) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "gw_jwt_key_file \"%V\" cannot be read", &path);
        return NGX_CONF_ERROR;
    }

    if (gw_keyset_load_file(&kf->keys, (char *) path.data, format,
                            (char *) kid, algs, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gw_jwt_key_file \"%V\": %s", &path, err);
        return NGX_CONF_ERROR;
    }

    ngx_http_gw_jwt_key_remember(kf, &fi);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        gw_keyset_free(&kf->keys);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_gw_jwt_keys_cleanup;
    cln->data = kf;

    kfp = ngx_array_push(&jmcf->keyfiles);
    if (kfp == NULL) {
        return NGX_CONF_ERROR;
    }

    *kfp = kf;
    ((ngx_http_gw_jwt_keyfile_t **) jlcf->keyfiles->elts)
        [jlcf->keyfiles->nelts - 1] = kf;

    return NGX_CONF_OK;
}


static void
ngx_http_gw_jwt_keys_cleanup(void *data)
{
    ngx_http_gw_jwt_keyfile_t  *kf = data;

    gw_keyset_free(&kf->keys);
}


ngx_int_t
ngx_http_gw_jwt_keys_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t                  *ev;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_gw_jwt_module);

    if (jmcf == NULL || jmcf->keyfiles.nelts == 0
        || jmcf->check_interval == 0)
    {
        return NGX_OK;
    }

    ev = &jmcf->check_event;
    ev->handler = ngx_http_gw_jwt_keys_check;
    ev->data = jmcf;
    ev->log = cycle->log;
    ev->cancelable = 1;

    ngx_add_timer(ev, jmcf->check_interval);

    return NGX_OK;
}


/*
 * The timer: reloads changed files.  stat() and a read of a small file
 * (capped at GW_KEY_FILE_MAX) are the only file I/O, once per interval,
 * never on a request's path.
 */

static void
ngx_http_gw_jwt_keys_check(ngx_event_t *ev)
{
    char                          err[256];
    ngx_uint_t                    i;
    gw_keyset_t                   keys;
    ngx_file_info_t               fi;
    ngx_http_gw_jwt_keyfile_t    *kf, **kfp;
    ngx_http_gw_jwt_main_conf_t  *jmcf;

    jmcf = ev->data;
    kfp = jmcf->keyfiles.elts;

    for (i = 0; i < jmcf->keyfiles.nelts; i++) {
        kf = kfp[i];

        if (ngx_http_gw_jwt_key_stat(kf, &fi) != NGX_OK) {
            if (!kf->failed) {
                ngx_log_error(NGX_LOG_ERR, ev->log, ngx_errno,
                              "gw_jwt_key_file \"%V\" cannot be read, "
                              "keeping the last good keys", &kf->path);
                kf->failed = 1;
                ngx_memzero(&kf->mtime, sizeof(kf->mtime));
                kf->size = -1;
            }

            continue;
        }

        if (!ngx_http_gw_jwt_key_changed(kf, &fi)) {
            continue;
        }

        ngx_http_gw_jwt_key_remember(kf, &fi);
        ngx_memzero(&keys, sizeof(gw_keyset_t));

        if (gw_keyset_load_file(&keys, (char *) kf->path.data, kf->format,
                                kf->kid, kf->algs, err, sizeof(err))
            != 0)
        {
            ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                          "gw_jwt_key_file \"%V\": %s, keeping the last "
                          "good keys", &kf->path, err);
            kf->failed = 1;
            continue;
        }

        gw_keyset_free(&kf->keys);
        kf->keys = keys;
        kf->failed = 0;

        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "gw_jwt_key_file \"%V\": loaded %uz key(s)",
                      &kf->path, kf->keys.nkeys);
    }

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, jmcf->check_interval);
    }
}
