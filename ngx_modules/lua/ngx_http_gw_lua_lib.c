
/*
 * Copyright (C) Tollgate
 *
 * Shared Lua modules of the plugins (docs/plugins.md, "Shared modules"):
 * every <name>.lua in the lib/ folder of a gw_plugin_path marked trusted
 * is a vetted module (gw_lua_module()) of every plugin's state, so
 * require("<name>") gives it.  The first directory that holds a name
 * wins, as for plugins.
 *
 * Read at configuration time (again at each nginx reload, never by the
 * hot reload), and compiled then in a scratch state: a module that does
 * not compile fails "nginx -t" naming its file.  The texts live in the
 * configuration's pool; every state the runtime makes (a worker's first
 * use, a hot-reloaded version, a state replaced after the watchdog)
 * compiles them again through ngx_http_gw_lua_modules_add().
 *
 * An untrusted directory's lib/ is not read: a module runs in the state
 * of every plugin, trusted ones included, where the JIT is on, no budget
 * counts and require("ffi") is allowed; code that was not marked trusted
 * must not run there.
 */


#include "ngx_http_gw_lua_int.h"


static ngx_int_t ngx_http_gw_lua_lib_dir(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf, ngx_http_gw_lua_path_t *path);
static ngx_int_t ngx_http_gw_lua_lib_add(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf, ngx_str_t *dir, ngx_str_t *name);


/*
 * Reads the lib/ folder of every trusted gw_plugin_path and compiles
 * each module once.  NGX_ERROR after an emerg naming the file.
 */

ngx_int_t
ngx_http_gw_lua_modules_load(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf)
{
    gw_lua_t                  *s;
    ngx_uint_t                 i;
    gw_lua_err_t               err;
    gw_lua_conf_t              conf;
    ngx_http_gw_lua_path_t    *path;
    ngx_http_gw_lua_lmod_t    *mod;

    if (ngx_array_init(&lmcf->modules, cf->pool, 4,
                       sizeof(ngx_http_gw_lua_lmod_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    path = lmcf->paths.elts;

    for (i = 0; i < lmcf->paths.nelts; i++) {
        if (ngx_http_gw_lua_lib_dir(cf, lmcf, &path[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (lmcf->modules.nelts == 0) {
        return NGX_OK;
    }

    /* each module compiled once now: "nginx -t" names a broken one */

    ngx_memzero(&conf, sizeof(gw_lua_conf_t));
    conf.mem_max = lmcf->memory;
    conf.budget = lmcf->budget;
    conf.time_max = lmcf->time_max;
    conf.name = "lib";

    s = gw_lua_new(&conf, &err);
    if (s == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "plugin modules: no state: %s", err.msg);
        return NGX_ERROR;
    }

    mod = lmcf->modules.elts;

    for (i = 0; i < lmcf->modules.nelts; i++) {
        if (gw_lua_module(s, (char *) mod[i].name.data,
                          (char *) mod[i].text.data, mod[i].text.len, &err)
            != GW_LUA_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "plugin module \"%V\": %V: %s: %s", &mod[i].name,
                          &mod[i].path, gw_lua_rc_name(err.rc), err.msg);
            gw_lua_free(s);
            return NGX_ERROR;
        }
    }

    gw_lua_free(s);

    return NGX_OK;
}


/* the modules of one directory's lib/, if it is trusted and has one */

static ngx_int_t
ngx_http_gw_lua_lib_dir(ngx_conf_t *cf, ngx_http_gw_lua_main_conf_t *lmcf,
    ngx_http_gw_lua_path_t *path)
{
    DIR            *dir;
    ngx_str_t       lib, name;
    struct dirent  *de;

    lib.len = path->dir.len + 4;
    lib.data = ngx_pnalloc(cf->pool, lib.len + 1);
    if (lib.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(lib.data, "%V/lib%Z", &path->dir);

    dir = opendir((char *) lib.data);

    if (dir == NULL) {
        /* no lib/ (or not a directory): no modules */
        return NGX_OK;
    }

    if (!path->trusted) {
        ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                      "gw_plugin_path \"%V\" is not trusted: the modules "
                      "of %V are not vetted", &path->dir, &lib);
        closedir(dir);
        return NGX_OK;
    }

    for ( ;; ) {
        de = readdir(dir);

        if (de == NULL) {
            break;
        }

        if (ngx_http_gw_lua_file_name(de->d_name, &name,
                                      GW_LUA_MODULE_NAME_MAX, 1)
            != NGX_OK)
        {
            continue;
        }

        if (ngx_http_gw_lua_lib_add(cf, lmcf, &lib, &name) != NGX_OK) {
            closedir(dir);
            return NGX_ERROR;
        }
    }

    closedir(dir);

    return NGX_OK;
}


static ngx_int_t
ngx_http_gw_lua_lib_add(ngx_conf_t *cf, ngx_http_gw_lua_main_conf_t *lmcf,
    ngx_str_t *dir, ngx_str_t *name)
{
    u_char                  err[NGX_MAX_ERROR_STR];
    ngx_str_t               text;
    ngx_uint_t              i;
    ngx_http_gw_lua_stat_t  st;
    ngx_http_gw_lua_lmod_t  *mod;

    mod = lmcf->modules.elts;

    for (i = 0; i < lmcf->modules.nelts; i++) {
        if (mod[i].name.len == name->len
            && ngx_strncmp(mod[i].name.data, name->data, name->len) == 0)
        {
            /* an earlier directory has it */
            return NGX_OK;
        }
    }

    mod = ngx_array_push(&lmcf->modules);
    if (mod == NULL) {
        return NGX_ERROR;
    }

    mod->name.len = name->len;
    mod->name.data = ngx_pnalloc(cf->pool, name->len + 1);

    mod->path.len = dir->len + 1 + name->len + 4;
    mod->path.data = ngx_pnalloc(cf->pool, mod->path.len + 1);

    if (mod->name.data == NULL || mod->path.data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(mod->name.data, name->data, name->len + 1);
    ngx_sprintf(mod->path.data, "%V/%V.lua%Z", dir, name);

    if (ngx_http_gw_lua_read(&mod->path, &text, &st, err, sizeof(err))
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "plugin module \"%V\": %s",
                      &mod->name, err);
        return NGX_ERROR;
    }

    mod->text.len = text.len;
    mod->text.data = ngx_pnalloc(cf->pool, text.len + 1);

    if (mod->text.data == NULL) {
        ngx_free(text.data);
        return NGX_ERROR;
    }

    ngx_memcpy(mod->text.data, text.data, text.len + 1);
    ngx_free(text.data);

    return NGX_OK;
}


/* every module into a state the runtime makes */

gw_lua_rc_e
ngx_http_gw_lua_modules_add(ngx_http_gw_lua_main_conf_t *lmcf, gw_lua_t *s,
    gw_lua_err_t *err)
{
    ngx_uint_t               i;
    gw_lua_rc_e              rc;
    ngx_http_gw_lua_lmod_t  *mod;

    mod = lmcf->modules.elts;

    for (i = 0; i < lmcf->modules.nelts; i++) {
        rc = gw_lua_module(s, (char *) mod[i].name.data,
                           (char *) mod[i].text.data, mod[i].text.len, err);
        if (rc != GW_LUA_OK) {
            return rc;
        }
    }

    return GW_LUA_OK;
}
