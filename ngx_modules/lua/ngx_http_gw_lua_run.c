
/*
 * Copyright (C) Tollgate
 *
 * A request's plugins (docs/plugins.md, "Phases and order"): which run,
 * in what order, and their access phase.
 *
 * The list is made once per request, at the first phase that needs it:
 * the location's gw_plugin uses merged with the route's plugins
 * (ngx_http_gw_router_plugins(), the route's configuration winning for a
 * name both enable), ordered by priority, higher first, then by name.
 * Without route plugins the order is the location's alone: sorted once
 * per worker into llcf->order (again when a hot reload changed a
 * priority) and copied, so a request sorts nothing.  Each entry holds
 * its plugin's current instance (so a hot reload never frees a state the
 * request still uses), a reference to its converted configuration and,
 * once used, its ctx table; the pool's cleanup lets them go.  The
 * phases and access passes no entry has work in are skipped at once.
 *
 * Access runs as a coroutine of the plugin's state, so gw.redis can
 * yield (and gw.exit end it), reused from one request to the next: the
 * phase handler returns NGX_AGAIN and, when the reply came
 * (ngx_http_gw_lua_wait_t), the Redis client runs the phases again and
 * the coroutine is resumed with it.  Plugins with early = true run in
 * the access phase (the early module's handler, before authentication),
 * the others in the precontent phase.  A body = true plugin has the
 * request body read first (ngx_http_gw_lua_body.c).
 */


#include "ngx_http_gw_lua_int.h"
#include "ngx_http_gw_router.h"


#define NGX_HTTP_GW_LUA_LOGGED_MAX  256     /* route plugins logged as
                                               unknown, per worker */


static ngx_int_t ngx_http_gw_lua_access(ngx_http_request_t *r,
    ngx_uint_t early);
static ngx_int_t ngx_http_gw_lua_resume(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, gw_lua_err_t *err);
static ngx_int_t ngx_http_gw_lua_answer(ngx_http_gw_lua_ctx_t *ctx);
static ngx_int_t ngx_http_gw_lua_fail(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, gw_lua_err_t *err);
static void ngx_http_gw_lua_co_done(ngx_http_gw_lua_ctx_t *ctx);
static ngx_int_t ngx_http_gw_lua_build(ngx_http_request_t *r,
    ngx_http_gw_lua_ctx_t *ctx, ngx_array_t *rps);
static void ngx_http_gw_lua_route_unknown(ngx_http_request_t *r,
    ngx_http_gw_router_plugin_t *rp);
static void ngx_http_gw_lua_order(ngx_http_gw_lua_loc_conf_t *llcf);
static int ngx_http_gw_lua_cmp(const void *a, const void *b);
static int ngx_http_gw_lua_use_cmp(const void *a, const void *b);
static void ngx_http_gw_lua_cleanup(void *data);
static ngx_uint_t ngx_http_gw_lua_ctx_idle(ngx_http_gw_lua_inst_t *inst,
    lua_State *L, int ref);
static gw_lua_rc_e ngx_http_gw_lua_invoke(ngx_http_gw_lua_ctx_t *ctx,
    ngx_http_gw_lua_run_t *run, ngx_uint_t phase, lua_State *co, int nargs,
    int nres, gw_lua_err_t *err);


ngx_http_gw_lua_call_t  *ngx_http_gw_lua_cur;
ngx_uint_t               ngx_http_gw_lua_order_gen = 1;


/* the ctx of a request whose list could not be made (its r is NULL) */
static ngx_http_gw_lua_ctx_t  ngx_http_gw_lua_none;

static uint32_t    ngx_http_gw_lua_logged[NGX_HTTP_GW_LUA_LOGGED_MAX];
static ngx_uint_t  ngx_http_gw_lua_nlogged;

static const char  *ngx_http_gw_lua_phase_names[] = {
    "access", "header_filter", "body_filter", "log"
};


const char *
ngx_http_gw_lua_phase_name(ngx_uint_t phase)
{
    return phase < NGX_HTTP_GW_LUA_PHASES
           ? ngx_http_gw_lua_phase_names[phase] : "init";
}


ngx_http_gw_lua_wait_t *
ngx_http_gw_lua_wait(ngx_http_gw_lua_call_t *call)
{
    return &call->ctx->wait;
}


ngx_http_gw_lua_exit_t *
ngx_http_gw_lua_exit(ngx_http_gw_lua_call_t *call)
{
    return &call->ctx->exit;
}


gw_lua_t *
ngx_http_gw_lua_call_state(ngx_http_gw_lua_call_t *call)
{
    ngx_http_gw_lua_run_t  *run;

    for (run = call->ctx->runs; run < call->ctx->runs + call->ctx->nruns;
         run++)
    {
        if (run->use.plugin == call->plugin && run->inst != NULL) {
            return run->inst->state;
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_gw_lua_early_handler(ngx_http_request_t *r)
{
    return ngx_http_gw_lua_access(r, 1);
}


ngx_int_t
ngx_http_gw_lua_access_handler(ngx_http_request_t *r)
{
    return ngx_http_gw_lua_access(r, 0);
}


/*
 * Runs the access functions of r's plugins of that kind (early or not)
 * from where it stopped: NGX_DECLINED when all ran, NGX_AGAIN while a
 * coroutine waits, NGX_DONE while the body is read or once an answer
 * (exit, failure) was sent.
 */

static ngx_int_t
ngx_http_gw_lua_access(ngx_http_request_t *r, ngx_uint_t early)
{
    ngx_int_t                rc;
    gw_lua_err_t             err;
    ngx_http_gw_lua_ctx_t   *ctx;
    ngx_http_gw_lua_run_t   *run;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_gw_lua_get_ctx(r);

    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    if (ctx == &ngx_http_gw_lua_none) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->answered) {
        return NGX_DONE;
    }

    if (ctx->unknown.len) {
        err.rc = GW_LUA_ERROR;
        ngx_cpystrn((u_char *) err.msg, (u_char *) "no such plugin",
                    GW_LUA_ERR_MAX);

        return ngx_http_gw_lua_fail(ctx, NULL, &err);
    }

    if (!(ctx->passes & (1 << early))) {
        /* no plugin's access runs in this pass */
        return NGX_DECLINED;
    }

    while (ctx->next[early] < ctx->nruns) {
        run = &ctx->runs[ctx->next[early]];

        if (ctx->co == NULL) {
            if (run->broken) {
                if (early != run->use.plugin->early) {
                    ctx->next[early]++;
                    continue;
                }

                /* its cause was logged when found, once per config */
                return ngx_http_gw_lua_fail(ctx, run, NULL);
            }

            if (!(run->inst->info.phases & (1 << NGX_HTTP_GW_LUA_ACCESS))
                || early != run->inst->info.early
                || (run->inst->info.methods
                    && !(r->method & run->inst->info.methods)))
            {
                ctx->next[early]++;
                continue;
            }

            if (run->inst->info.body && !ctx->body_read) {
                rc = ngx_http_gw_lua_read_body(ctx);

                if (rc != NGX_OK) {
                    return rc;
                }
            }
        }

        rc = ngx_http_gw_lua_resume(ctx, run, &err);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (ctx->exit.status != 0) {
            return ngx_http_gw_lua_answer(ctx);
        }

        if (rc != NGX_OK) {
            return ngx_http_gw_lua_fail(ctx, run, &err);
        }

        ctx->next[early]++;
    }

    return NGX_DECLINED;
}


/*
 * Starts or resumes run's access coroutine: NGX_OK when it returned,
 * NGX_AGAIN when it waits for gw.redis (or was woken before the reply),
 * NGX_ERROR with err when it failed or yielded otherwise.  With an exit
 * asked for, the coroutine is dropped whatever the outcome.
 */

static ngx_int_t
ngx_http_gw_lua_resume(ngx_http_gw_lua_ctx_t *ctx, ngx_http_gw_lua_run_t *run,
    gw_lua_err_t *err)
{
    int                    nargs;
    lua_State             *co;
    gw_lua_rc_e            rc;
    ngx_http_gw_lua_op_t   op;

    if (ctx->co == NULL) {
        if (ngx_http_gw_lua_push_ctx(run) != NGX_OK) {
            goto nomem;
        }

        if (run->inst->idle_ref != LUA_NOREF) {
            /* the one a finished access left */
            ctx->co_ref = run->inst->idle_ref;
            op.co = run->inst->idle_co;
            run->inst->idle_ref = LUA_NOREF;
            run->inst->idle_co = NULL;

        } else {
            op.kind = NGX_HTTP_GW_LUA_OP_THREAD;

            ctx->co_ref = ngx_http_gw_lua_op(run->inst->state, &op, err);

            if (ctx->co_ref == LUA_NOREF) {
                return NGX_ERROR;
            }
        }

        ctx->co = op.co;
        ctx->co_run = run;
        ctx->budget = 0;
        ngx_memzero(&ctx->wait, sizeof(ngx_http_gw_lua_wait_t));
        ctx->wait.ref = LUA_NOREF;

        co = ctx->co;
        lua_rawgeti(co, LUA_REGISTRYINDEX,
                    run->inst->fns[NGX_HTTP_GW_LUA_ACCESS]);
        lua_rawgeti(co, LUA_REGISTRYINDEX, run->conf);
        lua_rawgeti(co, LUA_REGISTRYINDEX, run->ctx);
        nargs = 2;

    } else {
        co = ctx->co;

        if (!ctx->wait.waiting || !ctx->wait.ready) {
            /* woken before the reply */
            return NGX_AGAIN;
        }

        ctx->wait.waiting = 0;
        ctx->wait.ready = 0;

        if (ctx->wait.ref == LUA_NOREF) {
            lua_pushnil(co);
            lua_pushliteral(co, "no memory");

        } else {
            lua_rawgeti(co, LUA_REGISTRYINDEX, ctx->wait.ref);
            lua_rawgeti(co, -1, 1);
            lua_rawgeti(co, -2, 2);
            lua_remove(co, -3);
            luaL_unref(co, LUA_REGISTRYINDEX, ctx->wait.ref);
            ctx->wait.ref = LUA_NOREF;
        }

        nargs = 2;
    }

    rc = ngx_http_gw_lua_invoke(ctx, run, NGX_HTTP_GW_LUA_ACCESS, co, nargs,
                                0, err);

    if (rc == GW_LUA_YIELD && ctx->exit.status == 0) {
        if (ctx->wait.waiting) {
            return NGX_AGAIN;
        }

        err->rc = GW_LUA_ERROR;
        ngx_cpystrn((u_char *) err->msg,
                    (u_char *) "yielded outside gw.redis", GW_LUA_ERR_MAX);
        rc = GW_LUA_ERROR;
    }

    ngx_http_gw_lua_co_done(ctx);

    return (rc == GW_LUA_OK || rc == GW_LUA_YIELD) ? NGX_OK : NGX_ERROR;

nomem:

    err->rc = GW_LUA_MEMORY;
    ngx_cpystrn((u_char *) err->msg, (u_char *) "no memory for its ctx",
                GW_LUA_ERR_MAX);

    return NGX_ERROR;
}


/* the coroutine is over: its reference goes (not in a dead state), or,
 * when it returned, it waits in its instance for the next access */

static void
ngx_http_gw_lua_co_done(ngx_http_gw_lua_ctx_t *ctx)
{
    gw_lua_t                *s;
    ngx_http_gw_lua_inst_t  *inst;

    if (ctx->co == NULL) {
        return;
    }

    inst = ctx->co_run->inst;
    s = inst->state;

    if (!gw_lua_dead(s)) {
        if (ctx->wait.ref != LUA_NOREF) {
            luaL_unref(gw_lua_state(s), LUA_REGISTRYINDEX, ctx->wait.ref);
        }

        if (lua_status(ctx->co) == 0 && inst->idle_ref == LUA_NOREF) {
            /* it returned: kept for the next request's access */
            lua_settop(ctx->co, 0);
            inst->idle_co = ctx->co;
            inst->idle_ref = ctx->co_ref;

        } else {
            luaL_unref(gw_lua_state(s), LUA_REGISTRYINDEX, ctx->co_ref);
        }
    }

    ctx->wait.ref = LUA_NOREF;
    ctx->co = NULL;
    ctx->co_ref = LUA_NOREF;
}


/* the answer gw.exit() or gw.problem() asked for */

static ngx_int_t
ngx_http_gw_lua_answer(ngx_http_gw_lua_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_chain_t             out;
    ngx_http_request_t     *r;
    ngx_http_gw_problem_t   problem;
    ngx_http_gw_lua_exit_t *exit;

    r = ctx->r;
    exit = &ctx->exit;
    ctx->answered = 1;

    if (exit->problem) {
        problem.status = exit->status;
        problem.type = exit->ptype.len ? (const char *) exit->ptype.data
                                       : "about:blank";
        problem.title = exit->title.len ? (const char *) exit->title.data
                                        : "Plugin Answer";
        problem.detail = exit->detail;
        ngx_str_null(&problem.extra);

        return ngx_http_gw_send_problem(r, &problem);
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    r->headers_out.status = exit->status;

    if (exit->type.len) {
        r->headers_out.content_type = exit->type;
        r->headers_out.content_type_len = exit->type.len;
        r->headers_out.content_type_lowcase = NULL;
    }

    if (exit->status == NGX_HTTP_NO_CONTENT
        || exit->status == NGX_HTTP_NOT_MODIFIED
        || exit->status < NGX_HTTP_OK)
    {
        r->header_only = 1;
        ngx_str_null(&exit->body);
    }

    r->headers_out.content_length_n = exit->body.len;

    if (exit->body.len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }

    b->pos = exit->body.data;
    b->last = exit->body.data + exit->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));

    return NGX_DONE;
}


/*
 * A plugin failed in access: logged (err NULL: a broken run, whose cause
 * was logged already), and the failure answer.
 */

static ngx_int_t
ngx_http_gw_lua_fail(ngx_http_gw_lua_ctx_t *ctx, ngx_http_gw_lua_run_t *run,
    gw_lua_err_t *err)
{
    u_char                 *p;
    ngx_http_gw_problem_t   problem;

    ngx_str_t              *name;

    if (run != NULL) {
        if (err != NULL) {
            ngx_http_gw_lua_failed(ctx, run, NGX_HTTP_GW_LUA_ACCESS, err);
        }

        name = &run->use.plugin->name;

    } else {
        name = &ctx->unknown;
    }

    ctx->answered = 1;
    ctx->failed = 1;

    p = ngx_pnalloc(ctx->r->pool, sizeof("the plugin \"\" failed")
                                  + 4 * name->len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    problem.status = ctx->failure;
    problem.type = "urn:tollgate:problem:plugin-failed";
    problem.title = "Plugin Failed";
    problem.detail.data = p;
    problem.detail.len = ngx_sprintf(p, "the plugin \"%V\" failed",
                                     name) - p;
    ngx_str_null(&problem.extra);

    return ngx_http_gw_send_problem(ctx->r, &problem);
}


/* the log line of a failure: the message escaped, at error */

void
ngx_http_gw_lua_failed(ngx_http_gw_lua_ctx_t *ctx, ngx_http_gw_lua_run_t *run,
    ngx_uint_t phase, gw_lua_err_t *err)
{
    u_char     buf[NGX_HTTP_GW_LOG_SIZE];
    ngx_str_t  msg;

    ngx_log_error(NGX_LOG_ERR, ctx->r->connection->log, 0,
                  "plugin \"%V\" failed in %s: %s: %V",
                  &run->use.plugin->name, ngx_http_gw_lua_phase_name(phase),
                  gw_lua_rc_name(err->rc),
                  ngx_http_gw_log_escape(&msg, buf, (u_char *) err->msg,
                                         ngx_strlen(err->msg)));
}


/*
 * One call of a plugin's function, not a coroutine (the filters, log):
 * the function and its nargs arguments are on the state's stack.
 */

gw_lua_rc_e
ngx_http_gw_lua_run_call(ngx_http_gw_lua_ctx_t *ctx, ngx_http_gw_lua_run_t *run,
    ngx_uint_t phase, int nargs, int nres, gw_lua_err_t *err)
{
    return ngx_http_gw_lua_invoke(ctx, run, phase, NULL, nargs, nres, err);
}


/*
 * A call of run's function in phase, as the API sees it (ngx_http_gw_lua_
 * cur), measured for the plugin's metrics: a resume of the coroutine co
 * (the access phase, under the request's budget), or, co NULL, a call of
 * the function and its nargs arguments on the state's stack.
 */

static gw_lua_rc_e
ngx_http_gw_lua_invoke(ngx_http_gw_lua_ctx_t *ctx, ngx_http_gw_lua_run_t *run,
    ngx_uint_t phase, lua_State *co, int nargs, int nres, gw_lua_err_t *err)
{
    size_t       mem;
    uint64_t     a0;
    gw_lua_rc_e  rc;

    ctx->call.r = ctx->r;
    ctx->call.ctx = ctx;
    ctx->call.plugin = run->use.plugin;
    ctx->call.phase = phase;
    ctx->call.co = co;

    ngx_http_gw_lua_cur = &ctx->call;
    a0 = gw_lua_mem_allocated(run->inst->state);

    if (co != NULL) {
        rc = gw_lua_resume(run->inst->state, co, nargs, &ctx->budget, err);

    } else {
        rc = gw_lua_call(run->inst->state, nargs, nres, err);
    }

    ngx_http_gw_lua_cur = NULL;

    /* from the clock reading the sandbox took for its watchdog */
    ngx_http_gw_lua_metrics_call(run->use.plugin, phase,
                                 gw_lua_elapsed(run->inst->state),
                                 gw_lua_mem_allocated(run->inst->state) - a0,
                                 rc);

    if (!gw_lua_dead(run->inst->state)) {
        mem = gw_lua_mem(run->inst->state);

        /* the gauge moves only with an allocation or a collection */
        if (mem + 1 != run->inst->mem_shown) {
            run->inst->mem_shown = mem + 1;
            ngx_http_gw_lua_metrics_memory(run->use.plugin, mem);
        }
    }

    return rc;
}


/* run's ctx table, made at its first use */

ngx_int_t
ngx_http_gw_lua_push_ctx(ngx_http_gw_lua_run_t *run)
{
    gw_lua_err_t          err;
    ngx_http_gw_lua_op_t  op;

    if (run->ctx != LUA_NOREF) {
        return NGX_OK;
    }

    if (run->inst->nidle_ctx != 0) {
        run->ctx = run->inst->idle_ctx[--run->inst->nidle_ctx];
        return NGX_OK;
    }

    op.kind = NGX_HTTP_GW_LUA_OP_TABLE;
    run->ctx = ngx_http_gw_lua_op(run->inst->state, &op, &err);

    return run->ctx == LUA_NOREF ? NGX_ERROR : NGX_OK;
}


/*
 * r's plugins, made at the first call: NULL when none apply here;
 * &ngx_http_gw_lua_none (r NULL) when the list could not be made.
 */

ngx_http_gw_lua_ctx_t *
ngx_http_gw_lua_get_ctx(ngx_http_request_t *r)
{
    ngx_uint_t                   n;
    ngx_array_t                 *rps;
    ngx_http_gw_lua_ctx_t       *ctx;
    ngx_http_gw_lua_loc_conf_t  *llcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gw_lua_module);

    if (ctx != NULL) {
        return ctx;
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_lua_module);

    rps = ngx_http_gw_router_plugins(r);

    if (llcf->uses == NULL && rps == NULL) {
        return NULL;
    }

    /* the ctx and its runs in one allocation */

    n = (llcf->uses ? llcf->uses->nelts : 0) + (rps ? rps->nelts : 0);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gw_lua_ctx_t)
                               + n * sizeof(ngx_http_gw_lua_run_t));
    if (ctx == NULL) {
        return &ngx_http_gw_lua_none;
    }

    ctx->runs = (ngx_http_gw_lua_run_t *) (ctx + 1);
    ctx->r = r;
    ctx->failure = llcf->failure;
    ctx->co_ref = LUA_NOREF;
    ctx->wait.ref = LUA_NOREF;

    if (ngx_http_gw_lua_build(r, ctx, rps) != NGX_OK) {
        return &ngx_http_gw_lua_none;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gw_lua_module);

    return ctx;
}


/* ctx->runs has room for every use of the location and of rps (the
 * route's plugins, or NULL) */

static ngx_int_t
ngx_http_gw_lua_build(ngx_http_request_t *r, ngx_http_gw_lua_ctx_t *ctx,
    ngx_array_t *rps)
{
    ngx_uint_t                     i, j, sorted;
    ngx_pool_cleanup_t            *cln;
    ngx_http_gw_lua_run_t         *run;
    ngx_http_gw_lua_plugin_t      *plugin;
    ngx_http_gw_lua_conf_use_t   **uses;
    ngx_http_gw_lua_loc_conf_t    *llcf;
    ngx_http_gw_router_plugin_t   *rp;
    ngx_http_gw_lua_main_conf_t   *lmcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_gw_lua_module);
    lmcf = ngx_http_get_module_main_conf(r, ngx_http_gw_lua_module);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_gw_lua_cleanup;
    cln->data = ctx;

    sorted = 0;

    /* the route's first: a directive's of the same name is then skipped */

    if (rps != NULL) {
        rp = rps->elts;

        for (i = 0; i < rps->nelts; i++) {
            plugin = ngx_http_gw_lua_plugin_find(lmcf, &rp[i].name);

            if (plugin == NULL) {
                ngx_http_gw_lua_route_unknown(r, &rp[i]);
                ctx->unknown = rp[i].name;
                continue;
            }

            for (j = 0; j < ctx->nruns; j++) {
                if (ctx->runs[j].use.plugin == plugin) {
                    break;
                }
            }

            if (j < ctx->nruns) {
                continue;
            }

            run = &ctx->runs[ctx->nruns++];
            run->use.plugin = plugin;
            run->use.id = rp[i].id;
            run->use.config = rp[i].config;
        }
    }

    if (rps == NULL && llcf->order != NULL) {
        /* the common case: the location's order, made once, copied */

        if (llcf->order_gen != ngx_http_gw_lua_order_gen) {
            ngx_http_gw_lua_order(llcf);
        }

        for (i = 0; i < llcf->uses->nelts; i++) {
            ctx->runs[i].use = llcf->order[i];
        }

        ctx->nruns = llcf->uses->nelts;
        sorted = 1;

    } else if (llcf->uses != NULL) {
        uses = llcf->uses->elts;

        for (i = 0; i < llcf->uses->nelts; i++) {
            for (j = 0; j < ctx->nruns; j++) {
                if (ctx->runs[j].use.plugin == uses[i]->use.plugin) {
                    break;
                }
            }

            if (j < ctx->nruns) {
                continue;
            }

            ctx->runs[ctx->nruns++].use = uses[i]->use;
        }
    }

    /* hold the instances, take the configurations */

    for (i = 0; i < ctx->nruns; i++) {
        run = &ctx->runs[i];
        run->conf = LUA_NOREF;
        run->ctx = LUA_NOREF;

        run->inst = ngx_http_gw_lua_inst_get(run->use.plugin,
                                             r->connection->log);

        if (run->inst == NULL) {
            run->broken = 1;
            ctx->passes |= 1 << run->use.plugin->early;
            continue;
        }

        run->inst->refs++;

        run->cconf = ngx_http_gw_lua_inst_conf(run->inst, &run->use,
                                               r->connection->log);

        if (run->cconf == NULL) {
            run->broken = 1;
            ctx->passes |= 1 << run->use.plugin->early;
            continue;
        }

        run->conf = run->cconf->ref;
        ctx->phases |= run->inst->info.phases;

        if (run->inst->info.phases & (1 << NGX_HTTP_GW_LUA_ACCESS)) {
            ctx->passes |= 1 << run->inst->info.early;
        }
    }

    if (!sorted && ctx->nruns > 1) {
        ngx_qsort(ctx->runs, ctx->nruns, sizeof(ngx_http_gw_lua_run_t),
                  ngx_http_gw_lua_cmp);
    }

    return NGX_OK;
}


/*
 * The location's uses in the order they run, in llcf->order: once per
 * worker, and again when a hot reload changed a plugin's priority.
 */

static void
ngx_http_gw_lua_order(ngx_http_gw_lua_loc_conf_t *llcf)
{
    ngx_uint_t                    i;
    ngx_http_gw_lua_conf_use_t  **uses;

    uses = llcf->uses->elts;

    for (i = 0; i < llcf->uses->nelts; i++) {
        llcf->order[i] = uses[i]->use;
    }

    if (llcf->uses->nelts > 1) {
        ngx_qsort(llcf->order, llcf->uses->nelts,
                  sizeof(ngx_http_gw_lua_use_t), ngx_http_gw_lua_use_cmp);
    }

    llcf->order_gen = ngx_http_gw_lua_order_gen;
}


/* a route plugin naming no plugin: logged once per id and name */

static void
ngx_http_gw_lua_route_unknown(ngx_http_request_t *r,
    ngx_http_gw_router_plugin_t *rp)
{
    u_char      buf[NGX_HTTP_GW_LOG_SIZE];
    uint32_t    h;
    ngx_str_t   msg;
    ngx_uint_t  i;

    ngx_crc32_init(h);
    ngx_crc32_update(&h, rp->id.data, rp->id.len);
    ngx_crc32_update(&h, (u_char *) "/", 1);
    ngx_crc32_update(&h, rp->name.data, rp->name.len);
    ngx_crc32_final(h);

    for (i = 0; i < ngx_http_gw_lua_nlogged; i++) {
        if (ngx_http_gw_lua_logged[i] == h) {
            return;
        }
    }

    if (ngx_http_gw_lua_nlogged < NGX_HTTP_GW_LUA_LOGGED_MAX) {
        ngx_http_gw_lua_logged[ngx_http_gw_lua_nlogged++] = h;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "route plugin \"%V\" names no loaded plugin: \"%V\"",
                  &rp->id,
                  ngx_http_gw_log_escape(&msg, buf, rp->name.data,
                                         rp->name.len));
}


/* runs and uses: priority, higher first, then name */

static int
ngx_http_gw_lua_cmp(const void *a, const void *b)
{
    return ngx_http_gw_lua_use_cmp(&((const ngx_http_gw_lua_run_t *) a)->use,
                                   &((const ngx_http_gw_lua_run_t *) b)->use);
}


static int
ngx_http_gw_lua_use_cmp(const void *a, const void *b)
{
    size_t                           len;
    ngx_int_t                        rc;
    const ngx_http_gw_lua_plugin_t  *pa, *pb;

    pa = ((const ngx_http_gw_lua_use_t *) a)->plugin;
    pb = ((const ngx_http_gw_lua_use_t *) b)->plugin;

    if (pa->priority != pb->priority) {
        return pa->priority > pb->priority ? -1 : 1;
    }

    len = ngx_min(pa->name.len, pb->name.len);
    rc = ngx_strncmp(pa->name.data, pb->name.data, len);

    if (rc != 0) {
        return (int) rc;
    }

    return (int) pa->name.len - (int) pb->name.len;
}


/* the end of r: its references go, its instances are released */

static void
ngx_http_gw_lua_cleanup(void *data)
{
    ngx_http_gw_lua_ctx_t *ctx = data;

    lua_State              *L;
    ngx_uint_t              i;
    ngx_http_gw_lua_run_t  *run;

    ngx_http_gw_lua_co_done(ctx);

    for (i = 0; i < ctx->nruns; i++) {
        run = &ctx->runs[i];

        if (run->inst == NULL) {
            continue;
        }

        if (!gw_lua_dead(run->inst->state)) {
            L = gw_lua_state(run->inst->state);

            if (run->ctx != LUA_NOREF
                && !ngx_http_gw_lua_ctx_idle(run->inst, L, run->ctx))
            {
                luaL_unref(L, LUA_REGISTRYINDEX, run->ctx);
            }

        }

        if (run->cconf != NULL) {
            ngx_http_gw_lua_conf_release(run->inst, run->cconf);
            run->cconf = NULL;
        }

        ngx_http_gw_lua_inst_release(run->inst);
        run->inst = NULL;
    }
}


/*
 * A request's ctx table that stayed empty (no member, no metatable) is
 * kept for a next request of the instance, up to NGX_HTTP_GW_LUA_IDLE_CTX
 * of them (requests overlap: one kept table served only one of them at
 * a time, and the others made theirs in a protected call): 1 when kept.
 * Nothing here allocates (no error can be raised outside a protected
 * call).
 */

static ngx_uint_t
ngx_http_gw_lua_ctx_idle(ngx_http_gw_lua_inst_t *inst, lua_State *L,
    int ref)
{
    if (inst->nidle_ctx == NGX_HTTP_GW_LUA_IDLE_CTX) {
        return 0;
    }

    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);

    if (lua_getmetatable(L, -1)) {
        lua_pop(L, 2);
        return 0;
    }

    lua_pushnil(L);

    if (lua_next(L, -2) != 0) {
        lua_pop(L, 3);
        return 0;
    }

    lua_pop(L, 1);

    inst->idle_ctx[inst->nidle_ctx++] = ref;

    return 1;
}
