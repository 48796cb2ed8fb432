
/*
 * Copyright (C) Tollgate
 *
 * A plugin's files (docs/plugins.md, "Plugin files"): finding them in the
 * gw_plugin_path directories, checking them, checking every gw_plugin's
 * configuration against the schema; per worker, the plugin's instance
 * (one sandboxed state), the configurations converted in it, and hot
 * reload.
 *
 * At configuration time each <name>.lua with its <name>.schema.json is
 * read, its chunk run in a sandbox state that is then freed (it must
 * return a table whose members have the documented types) and its schema
 * compiled.  A plugin a gw_plugin names fails "nginx -t" on any problem;
 * one nobody names is logged and skipped, so a broken file nobody uses
 * does not stop nginx.
 *
 * Hot reload: a per-worker timer stats both files every gw_plugin_reload;
 * a change (mtime, size or inode) loads the pair into a new state, checks
 * every gw_plugin configuration against the new schema, and only then
 * swaps it in.  A version that fails keeps the last good one and is
 * logged once (its stat is remembered).  The old instance is retired:
 * freed at once when no request holds it, else by its last holder.
 */


#include "ngx_http_gw_lua_int.h"


#define NGX_HTTP_GW_LUA_FILE_MAX  (1024 * 1024)     /* bytes, each file */


static ngx_int_t ngx_http_gw_lua_plugin_add(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf, ngx_http_gw_lua_path_t *path,
    ngx_str_t *name);
static int ngx_http_gw_lua_open(lua_State *L);
static int ngx_http_gw_lua_inspect(lua_State *L);
static ngx_int_t ngx_http_gw_lua_methods(lua_State *L, int t,
    ngx_http_gw_lua_info_t *info, ngx_http_gw_lua_check_t *chk);
static int ngx_http_gw_lua_tramp(lua_State *L);
static void ngx_http_gw_lua_plugins_cleanup(void *data);


/* the opening functions of the other helpers: absent ones are skipped */
#pragma weak ngx_http_gw_lua_api_open
#pragma weak ngx_http_gw_lua_shdict_open
#pragma weak ngx_http_gw_lua_redis_open


static const char  *ngx_http_gw_lua_fn_names[] = {
    "access", "header_filter", "body_filter", "log", "init"
};


/*
 * Reads the shared modules (lib/ of the trusted directories), every
 * gw_plugin_path directory (the first that holds a name wins; lib/ is a
 * folder, not a <name>.lua), then resolves and checks every gw_plugin.
 * NGX_ERROR after an emerg naming the file (and the directive's file and
 * line).
 */

ngx_int_t
ngx_http_gw_lua_plugins_load(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf)
{
    DIR                          *dir;
    u_char                        err[NGX_MAX_ERROR_STR];
    ngx_str_t                     name;
    ngx_uint_t                    i;
    struct dirent                *de;
    ngx_pool_cleanup_t           *cln;
    ngx_http_gw_lua_path_t       *path;
    ngx_http_gw_lua_pdata_t      *pd;
    ngx_http_gw_lua_plugin_t     *plugin;
    ngx_http_gw_lua_conf_use_t  **uses;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_gw_lua_plugins_cleanup;
    cln->data = lmcf;

    if (ngx_http_gw_lua_modules_load(cf, lmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    path = lmcf->paths.elts;

    for (i = 0; i < lmcf->paths.nelts; i++) {

        dir = opendir((char *) path[i].dir.data);

        if (dir == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno,
                          "gw_plugin_path \"%V\": opendir() failed",
                          &path[i].dir);
            return NGX_ERROR;
        }

        for ( ;; ) {
            ngx_set_errno(0);
            de = readdir(dir);

            if (de == NULL) {
                break;
            }

            if (ngx_http_gw_lua_file_name(de->d_name, &name,
                                          NGX_HTTP_GW_LUA_NAME_MAX, 0)
                != NGX_OK
                || ngx_http_gw_lua_plugin_find(lmcf, &name) != NULL)
            {
                continue;
            }

            if (ngx_http_gw_lua_plugin_add(cf, lmcf, &path[i], &name)
                != NGX_OK)
            {
                closedir(dir);
                return NGX_ERROR;
            }
        }

        closedir(dir);
    }

    /* every gw_plugin: its plugin, and its configuration by the schema */

    uses = lmcf->uses.elts;

    for (i = 0; i < lmcf->uses.nelts; i++) {
        plugin = ngx_http_gw_lua_plugin_find(lmcf, &uses[i]->name);

        if (plugin == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "gw_plugin \"%V\": no %V.lua with its "
                          "%V.schema.json in the gw_plugin_path "
                          "directories in %s:%ui", &uses[i]->name,
                          &uses[i]->name, &uses[i]->name, uses[i]->file,
                          uses[i]->line);
            return NGX_ERROR;
        }

        pd = plugin->data;

        if (ngx_http_gw_lua_config_check(plugin, pd->schema,
                                         &uses[i]->use.config, err,
                                         sizeof(err))
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "gw_plugin \"%V\": %s in %s:%ui", &uses[i]->name,
                          err, uses[i]->file, uses[i]->line);
            return NGX_ERROR;
        }

        uses[i]->use.plugin = plugin;
    }

    return NGX_OK;
}


/*
 * The name of a file <name>.lua whose name is [a-z][a-z0-9_-]* (with
 * dots: [a-z][a-z0-9_.-]*), at most max bytes: NGX_OK with name pointing
 * into d_name, NGX_DECLINED for any other file.
 */

ngx_int_t
ngx_http_gw_lua_file_name(const char *d_name, ngx_str_t *name, size_t max,
    ngx_uint_t dots)
{
    size_t  i, len;
    u_char  c;

    len = ngx_strlen(d_name);

    if (len <= 4 || len - 4 > max
        || ngx_strcmp(d_name + len - 4, ".lua") != 0
        || d_name[0] < 'a' || d_name[0] > 'z')
    {
        return NGX_DECLINED;
    }

    for (i = 1; i < len - 4; i++) {
        c = d_name[i];

        if ((c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_'
            && c != '-' && (c != '.' || !dots))
        {
            return NGX_DECLINED;
        }
    }

    name->data = (u_char *) d_name;
    name->len = len - 4;

    return NGX_OK;
}


/* a plugin found in a directory: loaded and checked, or skipped */

static ngx_int_t
ngx_http_gw_lua_plugin_add(ngx_conf_t *cf, ngx_http_gw_lua_main_conf_t *lmcf,
    ngx_http_gw_lua_path_t *path, ngx_str_t *name)
{
    u_char                        err[NGX_MAX_ERROR_STR];
    ngx_str_t                     text;
    ngx_uint_t                    i, enabled;
    gw_schema_t                  *schema;
    ngx_http_gw_lua_info_t        info;
    ngx_http_gw_lua_pdata_t      *pd;
    ngx_http_gw_lua_plugin_t     *plugin;
    ngx_http_gw_lua_conf_use_t  **uses;

    enabled = 0;
    uses = lmcf->uses.elts;

    for (i = 0; i < lmcf->uses.nelts; i++) {
        if (uses[i]->name.len == name->len
            && ngx_strncmp(uses[i]->name.data, name->data, name->len) == 0)
        {
            enabled = 1;
            break;
        }
    }

    plugin = ngx_array_push(&lmcf->plugins);
    if (plugin == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(plugin, sizeof(ngx_http_gw_lua_plugin_t));

    pd = ngx_pcalloc(cf->pool, sizeof(ngx_http_gw_lua_pdata_t));
    if (pd == NULL) {
        return NGX_ERROR;
    }

    plugin->data = pd;
    pd->lmcf = lmcf;
    pd->enabled = enabled;
    plugin->trusted = path->trusted ? 1 : 0;

    plugin->name.len = name->len;
    plugin->name.data = ngx_pstrdup(cf->pool, name);

    plugin->lua_path.len = path->dir.len + 1 + name->len + 4;
    plugin->lua_path.data = ngx_pnalloc(cf->pool, plugin->lua_path.len + 1);

    plugin->schema_path.len = path->dir.len + 1 + name->len + 12;
    plugin->schema_path.data = ngx_pnalloc(cf->pool,
                                           plugin->schema_path.len + 1);

    if (plugin->name.data == NULL || plugin->lua_path.data == NULL
        || plugin->schema_path.data == NULL)
    {
        return NGX_ERROR;
    }

    ngx_sprintf(plugin->lua_path.data, "%V/%V.lua%Z", &path->dir, name);
    ngx_sprintf(plugin->schema_path.data, "%V/%V.schema.json%Z",
                    &path->dir, name);

    if (access((char *) plugin->schema_path.data, F_OK) != 0) {
        /* a .lua without a schema is not a plugin (a helper file?) */

        if (enabled) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "plugin \"%V\": no %V beside %V", name,
                          &plugin->schema_path, &plugin->lua_path);
            return NGX_ERROR;
        }

        lmcf->plugins.nelts--;
        return NGX_OK;
    }

    if (ngx_http_gw_lua_version(plugin, &text, &schema, &info, &pd->lua_st,
                                &pd->schema_st, err, sizeof(err))
        != NGX_OK)
    {
        if (enabled) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "plugin \"%V\": %s",
                          name, err);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ERR, cf->log, 0,
                      "plugin \"%V\" skipped: %s", name, err);

        lmcf->plugins.nelts--;
        return NGX_OK;
    }

    pd->text = text;
    pd->schema = schema;
    plugin->priority = info.priority;
    plugin->phases = info.phases;
    plugin->early = info.early;
    plugin->body = info.body;

    return NGX_OK;
}


ngx_http_gw_lua_plugin_t *
ngx_http_gw_lua_plugin_find(ngx_http_gw_lua_main_conf_t *lmcf,
    ngx_str_t *name)
{
    ngx_uint_t                 i;
    ngx_http_gw_lua_plugin_t  *plugin;

    plugin = lmcf->plugins.elts;

    for (i = 0; i < lmcf->plugins.nelts; i++) {
        if (plugin[i].name.len == name->len
            && ngx_strncmp(plugin[i].name.data, name->data, name->len) == 0)
        {
            return &plugin[i];
        }
    }

    return NULL;
}


/*
 * Reads and checks one version of a plugin's pair of files: its text
 * (malloc()ed, *text) runs in a sandbox state that is then freed, its
 * schema is compiled (*schema).  NGX_OK, or NGX_ERROR with err saying
 * which file and what.
 */

ngx_int_t
ngx_http_gw_lua_version(ngx_http_gw_lua_plugin_t *plugin, ngx_str_t *text,
    gw_schema_t **schema, ngx_http_gw_lua_info_t *info,
    ngx_http_gw_lua_stat_t *lst, ngx_http_gw_lua_stat_t *sst, u_char *err,
    size_t size)
{
    json_t                   *json;
    gw_lua_t                 *s;
    ngx_str_t                 stext;
    gw_lua_err_t              lerr;
    json_error_t              jerr;
    gw_schema_t              *sc;
    gw_schema_cerr_t          cerr;
    ngx_http_gw_lua_check_t   chk;

    *schema = NULL;
    ngx_str_null(text);

    if (ngx_http_gw_lua_read(&plugin->lua_path, text, lst, err, size)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_gw_lua_read(&plugin->schema_path, &stext, sst, err, size)
        != NGX_OK)
    {
        goto failed;
    }

    json = json_loadb((char *) stext.data, stext.len, JSON_REJECT_DUPLICATES,
                      &jerr);
    ngx_free(stext.data);

    if (json == NULL) {
        ngx_snprintf(err, size, "%V: not JSON: %s at line %d, column %d%Z",
                     &plugin->schema_path, jerr.text, jerr.line,
                     jerr.column);
        goto failed;
    }

    sc = gw_schema_new(NULL);
    if (sc == NULL) {
        json_decref(json);
        ngx_snprintf(err, size, "%V: out of memory%Z", &plugin->schema_path);
        goto failed;
    }

    if (gw_schema_compile(sc, json, &cerr) != 0) {
        json_decref(json);
        gw_schema_free(sc);
        ngx_snprintf(err, size, "%V: %s: %s%Z", &plugin->schema_path,
                     cerr.pointer[0] ? cerr.pointer : "(root)",
                     cerr.message);
        goto failed;
    }

    json_decref(json);

    ngx_memzero(&chk, sizeof(ngx_http_gw_lua_check_t));
    chk.info = info;

    s = ngx_http_gw_lua_make(plugin, text, &chk, &lerr);

    if (s == NULL) {
        gw_schema_free(sc);
        ngx_snprintf(err, size, "%V: %s: %s%Z", &plugin->lua_path,
                     gw_lua_rc_name(lerr.rc), lerr.msg);
        goto failed;
    }

    gw_lua_free(s);

    *schema = sc;

    return NGX_OK;

failed:

    ngx_free(text->data);
    ngx_str_null(text);

    return NGX_ERROR;
}


/* a whole file, at most NGX_HTTP_GW_LUA_FILE_MAX bytes, malloc()ed */

ngx_int_t
ngx_http_gw_lua_read(ngx_str_t *path, ngx_str_t *text,
    ngx_http_gw_lua_stat_t *st, u_char *err, size_t size)
{
    int          fd;
    ssize_t      n;
    struct stat  sb;

    fd = open((char *) path->data, O_RDONLY);

    if (fd == -1) {
        ngx_snprintf(err, size, "%V: open() failed (%d)%Z", path, ngx_errno);
        return NGX_ERROR;
    }

    if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
        ngx_snprintf(err, size, "%V: not a regular file%Z", path);
        close(fd);
        return NGX_ERROR;
    }

    if (sb.st_size > NGX_HTTP_GW_LUA_FILE_MAX) {
        ngx_snprintf(err, size, "%V: larger than %d bytes%Z", path,
                     NGX_HTTP_GW_LUA_FILE_MAX);
        close(fd);
        return NGX_ERROR;
    }

    ngx_memzero(st, sizeof(ngx_http_gw_lua_stat_t));

    st->sec = sb.st_mtim.tv_sec;
    st->nsec = sb.st_mtim.tv_nsec;
    st->size = sb.st_size;
    st->ino = sb.st_ino;

    text->data = ngx_alloc(sb.st_size + 1, ngx_cycle->log);
    if (text->data == NULL) {
        ngx_snprintf(err, size, "%V: out of memory%Z", path);
        close(fd);
        return NGX_ERROR;
    }

    n = read(fd, text->data, sb.st_size);
    close(fd);

    if (n != sb.st_size) {
        ngx_free(text->data);
        ngx_snprintf(err, size, "%V: read() failed%Z", path);
        return NGX_ERROR;
    }

    text->data[n] = '\0';
    text->len = n;

    return NGX_OK;
}


/* a configuration's JSON text against the schema; err names the value */

ngx_int_t
ngx_http_gw_lua_config_check(ngx_http_gw_lua_plugin_t *plugin,
    gw_schema_t *schema, ngx_str_t *config, u_char *err, size_t size)
{
    int                  rc;
    json_t              *json;
    json_error_t         jerr;
    gw_schema_result_t   res;

    json = json_loadb((char *) config->data, config->len, 0, &jerr);

    if (json == NULL) {
        ngx_snprintf(err, size, "the configuration is not JSON: %s%Z",
                     jerr.text);
        return NGX_ERROR;
    }

    ngx_memzero(&res, sizeof(gw_schema_result_t));

    rc = gw_schema_validate(schema, json, &res);
    json_decref(json);

    if (rc == 1) {
        gw_schema_result_free(&res);
        return NGX_OK;
    }

    if (rc == 0 && res.nerrors > 0) {
        ngx_snprintf(err, size, "%V: %s: %s%Z", &plugin->schema_path,
                     res.errors[0].instance_location[0]
                     ? res.errors[0].instance_location : "(root)",
                     res.errors[0].message);
    } else {
        ngx_snprintf(err, size, "%V: the configuration does not match%Z",
                     &plugin->schema_path);
    }

    gw_schema_result_free(&res);

    return NGX_ERROR;
}


/*
 * A new state for a version of the plugin: the "gw" table opened, the
 * shared modules vetted, the chunk run, its table checked (chk->info)
 * and kept in the registry with its functions (chk->ref, chk->fns when
 * not NULL).  NULL with err.
 */

gw_lua_t *
ngx_http_gw_lua_make(ngx_http_gw_lua_plugin_t *plugin, ngx_str_t *text,
    ngx_http_gw_lua_check_t *chk, gw_lua_err_t *err)
{
    u_char                        name[NGX_HTTP_GW_LUA_NAME_MAX + 2];
    gw_lua_t                     *s;
    gw_lua_rc_e                   rc;
    gw_lua_conf_t                 conf;
    ngx_http_gw_lua_pdata_t      *pd;
    ngx_http_gw_lua_main_conf_t  *lmcf;

    pd = plugin->data;
    lmcf = pd->lmcf;

    ngx_memzero(&conf, sizeof(gw_lua_conf_t));
    conf.mem_max = lmcf->memory;
    conf.budget = lmcf->budget;
    conf.time_max = lmcf->time_max;
    conf.trusted = plugin->trusted;
    conf.ffi = plugin->trusted;
    (void) ngx_cpystrn(name, plugin->name.data,
                       ngx_min(plugin->name.len + 1, sizeof(name)));
    conf.name = (const char *) name;

    s = gw_lua_new(&conf, err);
    if (s == NULL) {
        return NULL;
    }

    chk->s = s;

    rc = gw_lua_cpcall(s, ngx_http_gw_lua_open, chk, err);
    if (rc != GW_LUA_OK) {
        goto failed;
    }

    rc = ngx_http_gw_lua_modules_add(lmcf, s, err);
    if (rc != GW_LUA_OK) {
        goto failed;
    }

    ngx_sprintf(name, "=%V%Z", &plugin->name);

    rc = gw_lua_load(s, (char *) name, (char *) text->data, text->len, err);
    if (rc != GW_LUA_OK) {
        goto failed;
    }

    /* the result: into the slot the open reserved, not allocating */
    lua_setfield(gw_lua_state(s), LUA_REGISTRYINDEX, "gw.plugin");

    rc = gw_lua_cpcall(s, ngx_http_gw_lua_inspect, chk, err);
    if (rc != GW_LUA_OK) {
        goto failed;
    }

    if (chk->msg[0] != '\0') {
        err->rc = GW_LUA_ERROR;
        ngx_cpystrn((u_char *) err->msg, (u_char *) chk->msg,
                    GW_LUA_ERR_MAX);
        goto failed;
    }

    return s;

failed:

    gw_lua_free(s);

    return NULL;
}


/* the "gw" table in the sandbox environment, and the registry's slots */

static int
ngx_http_gw_lua_open(lua_State *L)
{
    ngx_http_gw_lua_check_t  *chk = lua_touserdata(L, 1);

    lua_pushboolean(L, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, "gw.plugin");

    gw_lua_env(chk->s);
    lua_newtable(L);

    if (ngx_http_gw_lua_api_open != NULL) {
        ngx_http_gw_lua_api_open(L);
    }

    if (ngx_http_gw_lua_shdict_open != NULL) {
        ngx_http_gw_lua_shdict_open(L);
    }

    if (ngx_http_gw_lua_redis_open != NULL) {
        ngx_http_gw_lua_redis_open(L);
    }

    lua_setfield(L, -2, "gw");
    lua_pop(L, 1);

    return 0;
}


/*
 * access_methods of the plugin table at t: nil, or an array of at most
 * 16 method names nginx knows ("GET", "OPTIONS"...), the only methods
 * for which the access handler is called (a cors plugin answers
 * preflights in access and needs no call for the others).
 */

static ngx_int_t
ngx_http_gw_lua_methods(lua_State *L, int t, ngx_http_gw_lua_info_t *info,
    ngx_http_gw_lua_check_t *chk)
{
    int          i, n;
    size_t       len;
    ngx_uint_t   k;
    const char  *m;

    static struct {
        const char  *name;
        ngx_uint_t   method;
    } known[] = {
        { "GET", NGX_HTTP_GET }, { "HEAD", NGX_HTTP_HEAD },
        { "POST", NGX_HTTP_POST }, { "PUT", NGX_HTTP_PUT },
        { "DELETE", NGX_HTTP_DELETE }, { "PATCH", NGX_HTTP_PATCH },
        { "OPTIONS", NGX_HTTP_OPTIONS }, { "TRACE", NGX_HTTP_TRACE },
        { NULL, 0 }
    };

    lua_pushliteral(L, "access_methods");
    lua_rawget(L, t);

    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NGX_OK;
    }

    n = lua_istable(L, -1) ? (int) lua_objlen(L, -1) : -1;

    if (n < 1 || n > 16) {
        ngx_sprintf((u_char *) chk->msg, "access_methods is not an array "
                    "of 1 to 16 method names%Z");
        return NGX_ERROR;
    }

    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        m = NULL;
        len = 0;

        if (lua_type(L, -1) == LUA_TSTRING) {
            m = lua_tolstring(L, -1, &len);
        }

        for (k = 0; m != NULL && known[k].name != NULL; k++) {
            if (len == ngx_strlen(known[k].name)
                && ngx_strncmp(m, known[k].name, len) == 0)
            {
                break;
            }
        }

        if (m == NULL || known[k].name == NULL) {
            ngx_sprintf((u_char *) chk->msg, "access_methods[%d] is not "
                        "a method name (GET, HEAD, POST, PUT, DELETE, "
                        "PATCH, OPTIONS, TRACE)%Z", i);
            return NGX_ERROR;
        }

        info->methods |= known[k].method;
        lua_pop(L, 1);
    }

    lua_pop(L, 1);

    return NGX_OK;
}


/*
 * The chunk's result (registry "gw.plugin") must be a table: priority an
 * integer, early and body booleans, access_methods, the phases and init
 * functions, each may be nil.  Raw reads only: a metatable runs no code
 * here.
 */

static int
ngx_http_gw_lua_inspect(lua_State *L)
{
    ngx_http_gw_lua_check_t  *chk = lua_touserdata(L, 1);

    int                      t, i;
    double                   d;
    ngx_http_gw_lua_info_t  *info;

    info = chk->info;
    ngx_memzero(info, sizeof(ngx_http_gw_lua_info_t));

    lua_getfield(L, LUA_REGISTRYINDEX, "gw.plugin");
    t = lua_gettop(L);

    if (!lua_istable(L, t)) {
        ngx_sprintf((u_char *) chk->msg, "the chunk returns a %s, "
                    "not a table%Z", lua_typename(L, lua_type(L, t)));
        return 0;
    }

    lua_pushliteral(L, "priority");
    lua_rawget(L, t);

    if (lua_type(L, -1) == LUA_TNUMBER) {
        d = lua_tonumber(L, -1);

        if (d != (double) (int32_t) d) {
            ngx_sprintf((u_char *) chk->msg, "priority is not an integer "
                        "(-2^31 to 2^31-1)%Z");
            return 0;
        }

        info->priority = (ngx_int_t) d;

    } else if (!lua_isnil(L, -1)) {
        ngx_sprintf((u_char *) chk->msg, "priority is not a number%Z");
        return 0;
    }

    lua_pop(L, 1);

    lua_pushliteral(L, "early");
    lua_rawget(L, t);
    lua_pushliteral(L, "body");
    lua_rawget(L, t);

    for (i = -2; i < 0; i++) {
        if (!lua_isnil(L, i) && !lua_isboolean(L, i)) {
            ngx_sprintf((u_char *) chk->msg, "%s is not a boolean%Z",
                        i == -2 ? "early" : "body");
            return 0;
        }
    }

    info->early = lua_toboolean(L, -2);
    info->body = lua_toboolean(L, -1);
    lua_pop(L, 2);

    if (ngx_http_gw_lua_methods(L, t, info, chk) != NGX_OK) {
        return 0;
    }

    for (i = 0; i <= NGX_HTTP_GW_LUA_PHASES; i++) {
        lua_pushstring(L, ngx_http_gw_lua_fn_names[i]);
        lua_rawget(L, t);

        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);

            if (chk->fns != NULL) {
                chk->fns[i] = LUA_NOREF;
            }

            continue;
        }

        if (!lua_isfunction(L, -1)) {
            ngx_sprintf((u_char *) chk->msg, "%s is a %s, not a function%Z",
                        ngx_http_gw_lua_fn_names[i],
                        lua_typename(L, lua_type(L, -1)));
            return 0;
        }

        if (i == NGX_HTTP_GW_LUA_INIT) {
            info->init = 1;

        } else {
            info->phases |= (ngx_uint_t) 1 << i;
        }

        if (chk->fns != NULL) {
            chk->fns[i] = luaL_ref(L, LUA_REGISTRYINDEX);

        } else {
            lua_pop(L, 1);
        }
    }

    if (chk->fns != NULL) {
        lua_pushcfunction(L, ngx_http_gw_lua_tramp);
        chk->tramp = luaL_ref(L, LUA_REGISTRYINDEX);

        lua_pushvalue(L, t);
        chk->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }

    lua_pushboolean(L, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, "gw.plugin");

    return 0;
}


/*
 * Called through gw_lua_call(), so what it allocates is protected and
 * budgeted: op, then its arguments (see NGX_HTTP_GW_LUA_TRAMP_*).
 */

static int
ngx_http_gw_lua_tramp(lua_State *L)
{
    switch (lua_tointeger(L, 1)) {

    case NGX_HTTP_GW_LUA_TRAMP_INIT:
        /* 1 op, 2 init, 3 conf: a reference to init(conf), or conf */
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_call(L, 1, 1);

        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushvalue(L, 3);
        }

        lua_pushinteger(L, luaL_ref(L, LUA_REGISTRYINDEX));
        return 1;

    case NGX_HTTP_GW_LUA_TRAMP_BODY:
        /* 1 op, 2 fn, 3 conf, 4 ctx, 5 data, 6 len, 7 eof */
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 4);
        lua_pushlstring(L, lua_touserdata(L, 5),
                        (size_t) lua_tointeger(L, 6));
        lua_pushvalue(L, 7);
        lua_call(L, 4, 1);
        return 1;
    }

    return 0;
}


static void
ngx_http_gw_lua_plugins_cleanup(void *data)
{
    ngx_http_gw_lua_main_conf_t *lmcf = data;

    ngx_uint_t                 i;
    ngx_http_gw_lua_pdata_t   *pd;
    ngx_http_gw_lua_plugin_t  *plugin;

    plugin = lmcf->plugins.elts;

    for (i = 0; i < lmcf->plugins.nelts; i++) {
        pd = plugin[i].data;

        if (pd == NULL) {
            continue;
        }

        ngx_free(pd->text.data);
        pd->text.data = NULL;

        if (pd->schema != NULL) {
            gw_schema_free(pd->schema);
            pd->schema = NULL;
        }
    }
}
