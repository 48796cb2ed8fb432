
/*
 * Copyright (C) Tollgate
 *
 * What the runtime's own files share (module, plugin, run, filter), and
 * nothing the API or shared helpers need: configurations, a plugin's
 * files and versions, the per-worker instances, a request's plugins.
 *
 * Lifetimes: a plugin (ngx_http_gw_lua_plugin_t) and its data live in
 * the configuration's pool; the texts of its current version, its
 * compiled schema and its instances are malloc()ed, per worker after a
 * hot reload.  A request holds the instances it uses (refs), so a reload
 * or a watchdog's kill never frees a state a request still needs: the
 * old instance is retired and freed by its last holder's cleanup.
 */


#ifndef _NGX_HTTP_GW_LUA_INT_H_INCLUDED_
#define _NGX_HTTP_GW_LUA_INT_H_INCLUDED_


#include "ngx_http_gw.h"
#include "ngx_http_gw_lua.h"
#include "gw_schema.h"


#define NGX_HTTP_GW_LUA_CONFS_MAX  256      /* configurations cached per
                                               instance */


/* a gw_plugin_path */
typedef struct {
    ngx_str_t                   dir;            /* NUL-terminated */
    ngx_uint_t                  trusted;
} ngx_http_gw_lua_path_t;


/* a gw_plugin directive: the plugin is found once every file is read */
typedef struct {
    ngx_str_t                   name;
    ngx_http_gw_lua_use_t       use;
    u_char                     *file;           /* where it was written */
    ngx_uint_t                  line;
} ngx_http_gw_lua_conf_use_t;


/* a shared module: lib/<name>.lua of a trusted gw_plugin_path */
typedef struct {
    ngx_str_t                   name;           /* NUL-terminated */
    ngx_str_t                   path;           /* NUL-terminated */
    ngx_str_t                   text;           /* in the cycle's pool */
} ngx_http_gw_lua_lmod_t;


typedef struct {
    ngx_array_t                 paths;          /* ngx_http_gw_lua_path_t */
    ngx_array_t                 modules;        /* ngx_http_gw_lua_lmod_t */
    ngx_array_t                 plugins;        /* ngx_http_gw_lua_plugin_t */
    ngx_array_t                 uses;           /* every gw_plugin:
                                                   ngx_http_gw_lua_conf_use_t *
                                                 */
    ngx_msec_t                  reload;         /* 0: off */
    size_t                      memory;
    size_t                      body_max;
    ngx_msec_t                  time_max;
    uint64_t                    budget;         /* VM instructions */
    ngx_uint_t                  budget_set;
} ngx_http_gw_lua_main_conf_t;


typedef struct {
    ngx_array_t                *uses;           /* conf_use_t *, NULL: unset */
    ngx_uint_t                  failure;        /* status */
    ngx_http_gw_lua_use_t      *order;          /* room for the uses, in the
                                                   order they run: made at
                                                   the worker's first request
                                                   and again after a hot
                                                   reload changed a priority */
    ngx_uint_t                  order_gen;      /* ngx_http_gw_lua_order_gen
                                                   it was made at; 0: never */
} ngx_http_gw_lua_loc_conf_t;


/* a file as stat() saw it: a change of any member is a new version */
typedef struct {
    time_t                      sec;
    long                        nsec;
    off_t                       size;
    ino_t                       ino;
} ngx_http_gw_lua_stat_t;


/* what a plugin's table says (checked at load) */
typedef struct {
    ngx_int_t                   priority;
    ngx_uint_t                  phases;
    ngx_uint_t                  methods;        /* NGX_HTTP_GET...: the
                                                   access handler runs
                                                   only for these; 0: all */
    unsigned                    early:1;
    unsigned                    body:1;
    unsigned                    init:1;
} ngx_http_gw_lua_info_t;


/* ngx_http_gw_lua_plugin_t.data */
typedef struct {
    ngx_http_gw_lua_main_conf_t *lmcf;
    ngx_str_t                   text;           /* the current version's */
    gw_schema_t                *schema;         /* compiled from it */
    ngx_http_gw_lua_stat_t      lua_st;         /* loaded */
    ngx_http_gw_lua_stat_t      schema_st;
    ngx_http_gw_lua_stat_t      bad_lua_st;     /* the last that failed: */
    ngx_http_gw_lua_stat_t      bad_schema_st;  /* logged once */
    ngx_uint_t                  bad;
    ngx_uint_t                  enabled;        /* a directive names it */
    ngx_uint_t                  version;        /* loads in this worker */
} ngx_http_gw_lua_pdata_t;


/* a configuration converted in an instance's state: cached by its text */
typedef struct {
    ngx_queue_t                 queue;          /* most recent first */
    uint32_t                    hash;
    ngx_str_t                   text;
    int                         ref;            /* LUA_NOREF: it failed */
    ngx_uint_t                  refs;           /* requests using it */
    unsigned                    evicted:1;      /* freed at refs 0 */
} ngx_http_gw_lua_conf_t;


/* a plugin's state in this worker */
struct ngx_http_gw_lua_inst_s {
    ngx_http_gw_lua_plugin_t   *plugin;
    gw_lua_t                   *state;
    int                         ref;            /* the plugin's table */
    int                         fns[NGX_HTTP_GW_LUA_PHASES + 1];
                                                /* its functions, refs;
                                                   the last: init */
    int                         tramp;          /* ngx_http_gw_lua_tramp */
    ngx_http_gw_lua_info_t      info;           /* this version's */
    ngx_uint_t                  refs;           /* requests holding it */
    ngx_queue_t                 confs;          /* ngx_http_gw_lua_conf_t */
    ngx_uint_t                  nconfs;
    lua_State                  *idle_co;        /* a finished access
                                                   coroutine, reused */
    int                         idle_ref;       /* its ref, or LUA_NOREF */
    int                         idle_ctx[NGX_HTTP_GW_LUA_IDLE_CTX];
                                                /* empty ctx tables
                                                   requests left, refs */
    ngx_uint_t                  nidle_ctx;
    size_t                      mem_shown;      /* the memory last put in
                                                   the metrics (+1: 0 is
                                                   "not yet") */
    unsigned                    retired:1;      /* freed at refs 0 */
};


/* a plugin as one request runs it */
typedef struct {
    ngx_http_gw_lua_use_t       use;
    ngx_http_gw_lua_inst_t     *inst;           /* held: refs */
    int                         conf;           /* ref in inst's state */
    ngx_http_gw_lua_conf_t     *cconf;          /* held: refs */
    int                         ctx;            /* its ctx table, or
                                                   LUA_NOREF */
    unsigned                    broken:1;       /* no instance or conf */
} ngx_http_gw_lua_run_t;


struct ngx_http_gw_lua_ctx_s {
    ngx_http_request_t         *r;
    ngx_http_gw_lua_run_t      *runs;           /* in order */
    ngx_uint_t                  nruns;
    ngx_uint_t                  next[2];        /* access: the next run,
                                                   [1] the early pass */
    ngx_http_gw_lua_run_t      *co_run;         /* co's run */
    ngx_uint_t                  failure;        /* status */
    ngx_uint_t                  phases;         /* of the runs not broken:
                                                   the phases with work */
    ngx_uint_t                  passes;         /* the access passes with
                                                   work: 1 << early */

    ngx_http_gw_lua_call_t      call;           /* ngx_http_gw_lua_cur */
    ngx_http_gw_lua_wait_t      wait;
    ngx_http_gw_lua_exit_t      exit;

    lua_State                  *co;             /* the access coroutine */
    int                         co_ref;         /* in the run's state */
    uint64_t                    budget;         /* across its resumes */

    ngx_str_t                   unknown;        /* a route plugin's name
                                                   no plugin has */
    ngx_str_t                   body;           /* body = true plugins */
    ngx_chain_t                *out;            /* the replaced answer */

    unsigned                    started:1;      /* co has begun */
    unsigned                    body_started:1;
    unsigned                    body_read:1;
    unsigned                    body_waiting:1;
    unsigned                    body_large:1;
    unsigned                    answered:1;     /* no more plugins */
    unsigned                    filter:1;       /* body filters run */
    unsigned                    replaced:1;     /* header filter failed */
    unsigned                    sent:1;         /* its problem was sent */
    unsigned                    failed:1;       /* the failure answer */
    unsigned                    filter_failed:1;
};


/* a state being made for a version of a plugin: what its table says */
typedef struct {
    gw_lua_t                   *s;
    ngx_http_gw_lua_info_t     *info;
    int                         ref;
    int                        *fns;
    int                         tramp;
    char                        msg[GW_LUA_ERR_MAX];
} ngx_http_gw_lua_check_t;


/* ngx_http_gw_lua_plugin.c */
gw_lua_t *ngx_http_gw_lua_make(ngx_http_gw_lua_plugin_t *plugin,
    ngx_str_t *text, ngx_http_gw_lua_check_t *chk, gw_lua_err_t *err);
ngx_int_t ngx_http_gw_lua_plugins_load(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf);
ngx_http_gw_lua_plugin_t *ngx_http_gw_lua_plugin_find(
    ngx_http_gw_lua_main_conf_t *lmcf, ngx_str_t *name);
ngx_int_t ngx_http_gw_lua_read(ngx_str_t *path, ngx_str_t *text,
    ngx_http_gw_lua_stat_t *st, u_char *err, size_t size);
ngx_int_t ngx_http_gw_lua_file_name(const char *d_name, ngx_str_t *name,
    size_t max, ngx_uint_t dots);

/* ngx_http_gw_lua_lib.c */
ngx_int_t ngx_http_gw_lua_modules_load(ngx_conf_t *cf,
    ngx_http_gw_lua_main_conf_t *lmcf);
gw_lua_rc_e ngx_http_gw_lua_modules_add(ngx_http_gw_lua_main_conf_t *lmcf,
    gw_lua_t *s, gw_lua_err_t *err);

/* ngx_http_gw_lua_inst.c */
ngx_http_gw_lua_inst_t *ngx_http_gw_lua_inst_get(
    ngx_http_gw_lua_plugin_t *plugin, ngx_log_t *log);
void ngx_http_gw_lua_inst_release(ngx_http_gw_lua_inst_t *inst);
ngx_http_gw_lua_inst_t *ngx_http_gw_lua_inst_new(
    ngx_http_gw_lua_plugin_t *plugin, ngx_log_t *log);
void ngx_http_gw_lua_inst_free(ngx_http_gw_lua_inst_t *inst);
ngx_int_t ngx_http_gw_lua_version(ngx_http_gw_lua_plugin_t *plugin,
    ngx_str_t *text, gw_schema_t **schema, ngx_http_gw_lua_info_t *info,
    ngx_http_gw_lua_stat_t *lst, ngx_http_gw_lua_stat_t *sst, u_char *err,
    size_t size);
ngx_int_t ngx_http_gw_lua_config_check(ngx_http_gw_lua_plugin_t *plugin,
    gw_schema_t *schema, ngx_str_t *config, u_char *err, size_t size);
ngx_http_gw_lua_conf_t *ngx_http_gw_lua_inst_conf(
    ngx_http_gw_lua_inst_t *inst, ngx_http_gw_lua_use_t *use, ngx_log_t *log);
void ngx_http_gw_lua_conf_release(ngx_http_gw_lua_inst_t *inst,
    ngx_http_gw_lua_conf_t *c);

#define NGX_HTTP_GW_LUA_INIT  NGX_HTTP_GW_LUA_PHASES

/* the trampoline's operations (ngx_http_gw_lua_plugin.c) */
#define NGX_HTTP_GW_LUA_TRAMP_INIT  1       /* fn, conf -> ref */
#define NGX_HTTP_GW_LUA_TRAMP_BODY  2       /* fn, conf, ctx, p, len, eof
                                               -> chunk */

/*
 * What allocates in a state runs protected (a memory error must never
 * escape): ngx_http_gw_lua_op() makes a new registry reference to a new
 * table, a new coroutine (*co set), or the Lua value of a JSON value;
 * LUA_NOREF with err filled on failure.
 */
#define NGX_HTTP_GW_LUA_OP_TABLE   0
#define NGX_HTTP_GW_LUA_OP_THREAD  1
#define NGX_HTTP_GW_LUA_OP_JSON    2

typedef struct {
    ngx_uint_t                  kind;
    int                         ref;            /* the result */
    json_t                     *json;           /* _JSON */
    lua_State                  *co;             /* _THREAD */
} ngx_http_gw_lua_op_t;

int ngx_http_gw_lua_op(gw_lua_t *s, ngx_http_gw_lua_op_t *op,
    gw_lua_err_t *err);

/* ngx_http_gw_lua_reload.c */
ngx_int_t ngx_http_gw_lua_plugins_start(ngx_cycle_t *cycle,
    ngx_http_gw_lua_main_conf_t *lmcf);

/* ngx_http_gw_lua_run.c */
extern ngx_uint_t  ngx_http_gw_lua_order_gen;   /* a priority changed: the
                                                   locations' orders are
                                                   made again */

ngx_int_t ngx_http_gw_lua_early_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gw_lua_access_handler(ngx_http_request_t *r);
ngx_http_gw_lua_ctx_t *ngx_http_gw_lua_get_ctx(ngx_http_request_t *r);
gw_lua_rc_e ngx_http_gw_lua_run_call(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, ngx_uint_t phase, int nargs, int nres,
    gw_lua_err_t *err);
void ngx_http_gw_lua_failed(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, ngx_uint_t phase, gw_lua_err_t *err);
ngx_int_t ngx_http_gw_lua_push_ctx(ngx_http_gw_lua_run_t *run);

/* ngx_http_gw_lua_body.c */
ngx_int_t ngx_http_gw_lua_read_body(ngx_http_gw_lua_ctx_t *ctx);

/* ngx_http_gw_lua_filter.c */
ngx_int_t ngx_http_gw_lua_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_gw_lua_log_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_GW_LUA_INT_H_INCLUDED_ */
