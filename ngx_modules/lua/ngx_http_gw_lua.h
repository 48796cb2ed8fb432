
/*
 * Copyright (C) Tollgate
 *
 * What the files of the Lua plugin runtime share (docs/plugins.md):
 *
 *   ngx_http_gw_lua_module.c    directives, configuration, the phase
 *                               handlers' and filters' registration
 *   ngx_http_gw_lua_plugin.c    a plugin's files: loading, its schema,
 *                               checking configurations, hot reload, the
 *                               per-worker instances (one state each)
 *   ngx_http_gw_lua_run.c       a request's plugins: the order, the
 *                               access coroutine, the filters, log, the
 *                               failure answer
 *   ngx_http_gw_lua_api.c       the "gw" table plugins call: request,
 *                               response, consumer, claims, ids, exit, log
 *   ngx_http_gw_lua_shdict.c    gw.shared: a dictionary in shared memory
 *   ngx_http_gw_lua_redis.c     gw.redis: a command through the async
 *                               client, the coroutine yields for the reply
 *   ngx_http_gw_lua_metrics.c   per-plugin time, memory, errors, budget
 *
 * Each plugin has one sandboxed state per worker (lib/lua), so a plugin's
 * memory cap, budget and failures are its own, and a hot reload replaces
 * one state.  One Lua call runs at a time in a worker: the API functions
 * find the request they serve through ngx_http_gw_lua_cur, set by the
 * runner around every call and resume.
 */


#ifndef _NGX_HTTP_GW_LUA_H_INCLUDED_
#define _NGX_HTTP_GW_LUA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <lua.h>
#include <lauxlib.h>

#include "gw_lua.h"


/* the phases a plugin may define: bits of ngx_http_gw_lua_plugin_t.phases */
#define NGX_HTTP_GW_LUA_ACCESS         0
#define NGX_HTTP_GW_LUA_HEADER_FILTER  1
#define NGX_HTTP_GW_LUA_BODY_FILTER    2
#define NGX_HTTP_GW_LUA_LOG            3
#define NGX_HTTP_GW_LUA_PHASES         4

/* caps */
#define NGX_HTTP_GW_LUA_PLUGINS_MAX    64       /* plugins per location */
#define NGX_HTTP_GW_LUA_NAME_MAX       64       /* [a-z][a-z0-9_-]* */
#define NGX_HTTP_GW_LUA_IDLE_CTX       64       /* empty ctx tables kept
                                                   per state, reused */


typedef struct ngx_http_gw_lua_inst_s    ngx_http_gw_lua_inst_t;
typedef struct ngx_http_gw_lua_ctx_s     ngx_http_gw_lua_ctx_t;


/*
 * A plugin the configuration knows: plugins/<name>.lua with
 * <name>.schema.json, found in the first gw_plugin_path that holds it.
 * Made at configuration time (the files are read and checked then);
 * inst is the worker's current instance.
 */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   lua_path;       /* NUL-terminated */
    ngx_str_t                   schema_path;    /* NUL-terminated */
    ngx_uint_t                  mslot;          /* its metrics' slot + 1,
                                                   0: not counted */
    ngx_int_t                   priority;       /* higher runs first */
    ngx_uint_t                  phases;         /* 1 << NGX_HTTP_GW_LUA_* */
    unsigned                    trusted:1;      /* JIT on, no count hook */
    unsigned                    early:1;        /* access before auth */
    unsigned                    body:1;         /* reads the request body */
    ngx_http_gw_lua_inst_t     *inst;           /* per worker */
    void                       *data;           /* ngx_http_gw_lua_plugin.c */
} ngx_http_gw_lua_plugin_t;


/* a plugin enabled with one configuration (a directive's or a route's) */
typedef struct {
    ngx_http_gw_lua_plugin_t   *plugin;
    ngx_str_t                   config;         /* compact JSON object */
    ngx_str_t                   id;             /* the route's plugin id,
                                                   or "" for a directive */
} ngx_http_gw_lua_use_t;


/* one Lua call in progress: what the API functions serve */
typedef struct {
    ngx_http_request_t         *r;
    ngx_http_gw_lua_ctx_t      *ctx;
    ngx_http_gw_lua_plugin_t   *plugin;
    ngx_uint_t                  phase;          /* NGX_HTTP_GW_LUA_* */
    lua_State                  *co;             /* the access coroutine,
                                                   or NULL: no yields */
} ngx_http_gw_lua_call_t;


/* NULL outside a Lua call of the runtime */
extern ngx_http_gw_lua_call_t  *ngx_http_gw_lua_cur;


/*
 * A yielded access coroutine waits for one outcome (gw.redis): the
 * function that yields sets waiting; the completion (a callback, outside
 * Lua) sets ready and ref, a registry reference in the plugin's state to
 * a table {[1] = value or nil, [2] = error text or nil} built under
 * gw_lua_cpcall(); the runner resumes the coroutine with those two values
 * and unrefs it.  A completion that cannot build the table sets ready
 * with ref LUA_NOREF: the coroutine resumes with nil, "no memory".
 */
typedef struct {
    unsigned                    waiting:1;
    unsigned                    ready:1;
    int                         ref;
} ngx_http_gw_lua_wait_t;

/* the wait of the current call's request, for gw.redis */
ngx_http_gw_lua_wait_t *ngx_http_gw_lua_wait(ngx_http_gw_lua_call_t *call);

/* the state of the current call's plugin instance */
gw_lua_t *ngx_http_gw_lua_call_state(ngx_http_gw_lua_call_t *call);


/*
 * The answer gw.exit() or gw.problem() asks for in the access phase: the
 * API fills the current request's record (strings in r's pool; headers
 * it adds go to r->headers_out and stay) and ends the plugin's run with
 * "return lua_yield(L, 0)" (not catchable by pcall).  The runner, seeing
 * status set after a resume, whatever its outcome, never resumes that
 * coroutine, runs no further plugin and sends the answer: body with
 * Content-Type type ("" leaves r->headers_out's), or with problem set
 * a problem+json through ngx_http_gw_send_problem() (type "" is
 * "about:blank"; all three NUL-terminated).
 */
typedef struct {
    ngx_uint_t                  status;         /* 0: no answer asked */
    ngx_str_t                   body;
    ngx_str_t                   type;
    unsigned                    problem:1;
    ngx_str_t                   ptype;
    ngx_str_t                   title;
    ngx_str_t                   detail;
} ngx_http_gw_lua_exit_t;

/* the exit record of the current call's request */
ngx_http_gw_lua_exit_t *ngx_http_gw_lua_exit(ngx_http_gw_lua_call_t *call);

/*
 * The request body for gw.req.body(), read (in memory, at most
 * gw_plugin_body_max bytes) before the access of a plugin whose table
 * says body = true: NGX_OK with *body (empty when there is none);
 * NGX_DECLINED when it is larger than gw_plugin_body_max; NGX_ABORT when
 * it was not read (the plugin is not a body = true one, or another
 * phase).  The body stays in r->request_body for the upstream.
 */
ngx_int_t ngx_http_gw_lua_body(ngx_http_gw_lua_call_t *call,
    ngx_str_t *body);


/*
 * Opening functions: each adds its names to the "gw" table on the top of
 * L's stack when a plugin's state is made (in protected mode: may raise).
 */
int ngx_http_gw_lua_api_open(lua_State *L);         /* gw.req, gw.resp... */
int ngx_http_gw_lua_shdict_open(lua_State *L);      /* gw.shared */
int ngx_http_gw_lua_redis_open(lua_State *L);       /* gw.redis */

/*
 * Raised by an API function used where it is not allowed: a Lua error
 * "gw.<what>: not allowed in the <phase> phase" (or outside a call).
 * Returns 0 only when allowed (a bit set in phases).
 */
int ngx_http_gw_lua_api_check(lua_State *L, const char *what,
    ngx_uint_t phases);

/* the name of phase: "access", "header_filter", "body_filter", "log" */
const char *ngx_http_gw_lua_phase_name(ngx_uint_t phase);


/*
 * Metrics (ngx_http_gw_lua_metrics.c): one call's (or resume's) outcome;
 * ns is its time in nanoseconds (monotonic), allocated the bytes the
 * state allocated during it (the difference of gw_lua_mem_allocated()),
 * rc what lib/lua said.  And the memory a plugin's state holds after it,
 * in bytes.  Cheap: the worker's own counters, which the flush adds to
 * the zone (on a timer, before the worker's scrapes, and at its exit).
 */
void ngx_http_gw_lua_metrics_call(ngx_http_gw_lua_plugin_t *plugin,
    ngx_uint_t phase, uint64_t ns, uint64_t allocated, gw_lua_rc_e rc);
void ngx_http_gw_lua_metrics_memory(ngx_http_gw_lua_plugin_t *plugin,
    size_t bytes);
void ngx_http_gw_lua_metrics_flush(void);

/*
 * Set by gw.redis when it yields for a reply, cleared by
 * ngx_http_gw_lua_metrics_call(): a GW_LUA_YIELD with it set is a call
 * that goes on (counted when it ends), without it one that ended with
 * gw.exit() or gw.problem() (counted "ok").
 */
extern ngx_uint_t  ngx_http_gw_lua_redis_yielded;

/*
 * At configuration time: the metrics zone for the plugins, the exporter;
 * mem_max is their states' cap (gw_plugin_memory).
 */
ngx_int_t ngx_http_gw_lua_metrics_init(ngx_conf_t *cf, ngx_array_t *plugins,
    size_t mem_max);

/*
 * The module's shared zones (the metrics', gw_plugin_dict's) are known
 * by their init handler (ngx_http_gw_lua_module.c): the zone made with
 * init in cycle, or NULL.
 */
ngx_shm_zone_t *ngx_http_gw_lua_zone_find(ngx_cycle_t *cycle,
    ngx_shm_zone_init_pt init);

/* what ngx_http_gw_lua_zone_data() keeps, a static of each caller */
typedef struct {
    ngx_cycle_t                *cycle;
    void                       *data;
} ngx_http_gw_lua_zone_cache_t;

/*
 * The data of the running configuration's zone made with init once the
 * zone is ready (its init set the pointer at offset sh of the data), or
 * NULL.  Cached in workers only: a cycle's address may be reused by the
 * master's next one.
 */
void *ngx_http_gw_lua_zone_data(ngx_http_gw_lua_zone_cache_t *cache,
    ngx_shm_zone_init_pt init, size_t sh);

/* the shared dictionary's zone (gw_plugin_dict), at configuration time */
char *ngx_http_gw_lua_shdict_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


extern ngx_module_t  ngx_http_gw_lua_module;
extern ngx_module_t  ngx_http_gw_lua_early_module;


#endif /* _NGX_HTTP_GW_LUA_H_INCLUDED_ */
