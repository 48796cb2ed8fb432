
/*
 * Copyright (C) Tollgate
 *
 * The factory of sandboxed LuaJIT states (gw_lua.h): lua_newstate() with
 * an allocator that keeps every block on a list and refuses to go past
 * the state's cap, and the protected calls that turn errors, memory and
 * budget exhaustion and the watchdog's stop into values.
 */


#include <stdlib.h>
#include <string.h>

#include "gw_lua_int.h"


#define GW_LUA_BLK_MAGIC  0x67776c7561626c6bULL


typedef struct {
    int                 nargs;
    int                 nres;
    int                 status;
    uint64_t            left;
    lua_State          *co;
    lua_CFunction       f;
    void               *ud;
    const char         *name;
    const char         *text;
    size_t              len;
} gw_lua_run_t;


static size_t  gw_lua_mem_all;


static void
gw_lua_blk_link(gw_lua_t *s, gw_lua_blk_t *b)
{
    b->prev = &s->blocks;
    b->next = s->blocks.next;
    s->blocks.next->prev = b;
    s->blocks.next = b;
}


static void
gw_lua_blk_unlink(gw_lua_blk_t *b)
{
    b->prev->next = b->next;
    b->next->prev = b->prev;
}


/*
 * The allocator of every state: the blocks carry a header linking them on
 * the state's list, the sizes (headers included) are charged to s->mem and
 * a growth past s->mem_max is refused (LuaJIT then raises "not enough
 * memory"); what a success adds is also added to s->allocated, which never
 * goes down (gw_lua_mem_allocated()).  Holds the guard: the watchdog never
 * jumps out of malloc().
 */

static void *
gw_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    size_t         old, grow, max;
    gw_lua_t      *s;
    gw_lua_blk_t  *b, *nb;

    s = ud;
    b = (ptr != NULL) ? (gw_lua_blk_t *) ptr - 1 : NULL;
    old = (b != NULL) ? b->size + sizeof(gw_lua_blk_t) : 0;

    gw_lua_guard_enter();

    if (nsize == 0) {
        if (b != NULL) {
            gw_lua_blk_unlink(b);
            s->mem -= old;
            gw_lua_mem_all -= old;
            b->magic = 0;
            free(b);
        }

        gw_lua_guard_leave();
        return NULL;
    }

    grow = nsize + sizeof(gw_lua_blk_t);

    max = s->mem_max + (s->collecting ? GW_LUA_MEM_SLACK : 0);

    if (nsize > max || (grow > old && s->mem + (grow - old) > max)) {
        s->oom = 1;
        gw_lua_guard_leave();
        return NULL;
    }

    if (b != NULL) {
        gw_lua_blk_unlink(b);
    }

    nb = realloc(b, grow);

    if (nb == NULL) {
        if (b != NULL) {
            gw_lua_blk_link(s, b);
        }

        s->oom = 1;
        gw_lua_guard_leave();
        return NULL;
    }

    nb->size = nsize;
    nb->magic = GW_LUA_BLK_MAGIC;
    gw_lua_blk_link(s, nb);

    s->mem = s->mem - old + grow;
    s->allocated += (grow > old) ? grow - old : 0;
    gw_lua_mem_all = gw_lua_mem_all - old + grow;

    gw_lua_guard_leave();

    return nb + 1;
}


static int
gw_lua_panic(lua_State *L)
{
    /* only reached on a bug of ours: every entry point is protected */
    abort();
    return 0;
}


gw_lua_t *
gw_lua_from(lua_State *L)
{
    void  *ud;

    (void) lua_getallocf(L, &ud);

    return ud;
}


void
gw_lua_err_set(gw_lua_err_t *err, gw_lua_rc_e rc, const char *msg,
    size_t len)
{
    size_t  i;

    if (err == NULL) {
        return;
    }

    err->rc = rc;

    if (msg == NULL) {
        msg = gw_lua_rc_name(rc);
        len = strlen(msg);
    }

    if (len > GW_LUA_ERR_MAX - 1) {
        len = GW_LUA_ERR_MAX - 1;
    }

    for (i = 0; i < len; i++) {
        err->msg[i] = ((unsigned char) msg[i] < 0x20 || msg[i] == 0x7f)
                      ? '?' : msg[i];
    }

    err->msg[len] = '\0';
}


static int
gw_lua_collect(lua_State *L)
{
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}


/*
 * After the allocator refused a block: a full collection, so that the
 * garbage the failed call left does not fail the next one too (LuaJIT
 * raises "not enough memory" at once, it does not collect first); once at
 * the end of the call and once at the start of the next (gw_lua_arm()):
 * a coroutine that failed holds its stack until its owner drops it.  It is
 * protected (a finalizer of trusted code may raise), which allocates: the
 * cap has GW_LUA_MEM_SLACK more for that time.
 */

static void
gw_lua_after_oom(gw_lua_t *s)
{
    if (!s->oom) {
        return;
    }

    s->collecting = 1;

    if (lua_cpcall(s->L, gw_lua_collect, NULL) != 0) {
        lua_pop(s->L, 1);
    }

    s->collecting = 0;
}


/* the outcome of a Lua status, the error value on top of L */

static gw_lua_rc_e
gw_lua_status(gw_lua_t *s, lua_State *L, int status, gw_lua_err_t *err)
{
    size_t       len;
    const char  *msg;

    if (status == 0) {
        return GW_LUA_OK;
    }

    if (status == LUA_YIELD) {
        return GW_LUA_YIELD;
    }

    if (s->exhausted) {
        gw_lua_err_set(err, GW_LUA_BUDGET, "budget exhausted", 16);
        lua_pop(L, 1);
        return GW_LUA_BUDGET;
    }

    if (status == LUA_ERRMEM) {
        gw_lua_err_set(err, GW_LUA_MEMORY, "not enough memory", 17);
        lua_pop(L, 1);
        return GW_LUA_MEMORY;
    }

    if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
        msg = lua_tolstring(L, -1, &len);

    } else {
        msg = (lua_type(L, -1) == LUA_TNIL) ? "error object is nil"
              : "error object is not a string";
        len = strlen(msg);
    }

    gw_lua_err_set(err, GW_LUA_ERROR, msg, len);
    lua_pop(L, 1);

    return GW_LUA_ERROR;
}


/*
 * Sets the budget of the call starting.  A call nested in another of the
 * same state (a C function called from Lua calling Lua) goes on with the
 * outer call's budget: otherwise calling it in a loop would renew it.
 */

static void
gw_lua_arm(gw_lua_t *s, uint64_t left)
{
    if (s->calls > 1) {
        if (left < s->left) {
            s->left = left;
        }

        return;
    }

    s->left = left;

    gw_lua_after_oom(s);
    s->oom = 0;

    /* the hook's count is not restarted: calls shorter than
     * GW_LUA_HOOK_COUNT instructions are charged too, by the call in
     * progress when the count runs out */
    if (!s->trusted && (s->exhausted || !s->hooked)) {
        lua_sethook(s->L, gw_lua_hook, LUA_MASKCOUNT, GW_LUA_HOOK_COUNT);
        s->hooked = 1;
    }

    s->exhausted = 0;
}


gw_lua_t *
gw_lua_new(const gw_lua_conf_t *conf, gw_lua_err_t *err)
{
    int        rc;
    gw_lua_t  *s;

    if (gw_lua_watch_start(err) != 0) {
        return NULL;
    }

    s = calloc(1, sizeof(gw_lua_t));
    if (s == NULL) {
        gw_lua_err_set(err, GW_LUA_MEMORY, "not enough memory", 17);
        return NULL;
    }

    s->blocks.prev = &s->blocks;
    s->blocks.next = &s->blocks;
    s->mem_max = conf->mem_max ? conf->mem_max : GW_LUA_MEM_DEFAULT;
    s->budget = conf->budget ? conf->budget : GW_LUA_BUDGET_DEFAULT;
    s->time_max = conf->time_max ? conf->time_max : GW_LUA_TIME_DEFAULT;
    s->trusted = conf->trusted;
    s->ffi = conf->ffi && conf->trusted;

    if (conf->name != NULL) {
        strncpy(s->name, conf->name, GW_LUA_NAME_MAX - 1);
    }

    s->L = lua_newstate(gw_lua_alloc, s);
    if (s->L == NULL) {
        gw_lua_err_set(err, GW_LUA_MEMORY, "cannot create a Lua state", 25);
        gw_lua_free(s);
        return NULL;
    }

    lua_atpanic(s->L, gw_lua_panic);

    rc = gw_lua_cpcall(s, gw_lua_env_open, s, err);
    if (rc != GW_LUA_OK) {
        gw_lua_free(s);
        return NULL;
    }

    if (!s->trusted) {
        luaJIT_setmode(s->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
        gw_lua_arm(s, s->budget);
    }

    return s;
}


static int
gw_lua_close_run(gw_lua_t *s, void *arg)
{
    lua_sethook(s->L, NULL, 0, 0);
    lua_close(s->L);
    return 0;
}


void
gw_lua_free(gw_lua_t *s)
{
    gw_lua_blk_t  *b, *next;

    if (s == NULL) {
        return;
    }

    if (s->L != NULL && !s->dead) {
        /* lua_close() runs the finalizers of ffi.gc() (trusted code) */
        (void) gw_lua_guard_run(s, gw_lua_close_run, NULL);
    }

    /* a DEAD state's blocks, lua_State included, are freed one by one */
    gw_lua_guard_enter();

    for (b = s->blocks.next; b != &s->blocks; b = next) {
        next = b->next;
        gw_lua_mem_all -= b->size + sizeof(gw_lua_blk_t);
        b->magic = 0;
        free(b);
    }

    gw_lua_guard_leave();

    free(s);
}


lua_State *
gw_lua_state(gw_lua_t *s)
{
    return s->L;
}


void
gw_lua_env(gw_lua_t *s)
{
    lua_getfield(s->L, LUA_REGISTRYINDEX, "gw.env");
}


size_t
gw_lua_mem(gw_lua_t *s)
{
    return s->mem;
}


size_t
gw_lua_mem_max(gw_lua_t *s)
{
    return s->mem_max;
}


uint64_t
gw_lua_mem_allocated(gw_lua_t *s)
{
    return s->allocated;
}


size_t
gw_lua_mem_total(void)
{
    return gw_lua_mem_all;
}


int
gw_lua_dead(gw_lua_t *s)
{
    return s->dead;
}


uint64_t
gw_lua_elapsed(gw_lua_t *s)
{
    uint64_t  now;

    if (s->start == 0) {
        return 0;
    }

    now = gw_lua_ticks();

    /* a counter read on another CPU a few ticks behind: no time */
    return now > s->start ? gw_lua_ticks_ns(now - s->start) : 0;
}


/* the outcome of gw_lua_guard_run() when it did not run or was stopped */

static gw_lua_rc_e
gw_lua_stopped(int rc, gw_lua_err_t *err)
{
    if (rc == GW_LUA_RUN_NESTED) {
        gw_lua_err_set(err, GW_LUA_ERROR,
                       "calls nested too deep or no watchdog", 36);
        return GW_LUA_ERROR;
    }

    gw_lua_err_set(err, GW_LUA_TIMEOUT, "time limit exceeded", 19);
    return GW_LUA_TIMEOUT;
}


static int
gw_lua_load_run(gw_lua_t *s, void *arg)
{
    gw_lua_run_t  *run;

    run = arg;

    gw_lua_arm(s, s->budget);

    run->status = luaL_loadbufferx(s->L, run->text, run->len, run->name,
                                   "t");
    if (run->status != 0) {
        gw_lua_after_oom(s);
        return 0;
    }

    gw_lua_env(s);
    (void) lua_setfenv(s->L, -2);

    run->status = lua_pcall(s->L, 0, 1, 0);
    gw_lua_after_oom(s);

    return 0;
}


gw_lua_rc_e
gw_lua_load(gw_lua_t *s, const char *name, const char *text, size_t len,
    gw_lua_err_t *err)
{
    int           rc;
    gw_lua_run_t  run;

    if (s->dead) {
        s->start = 0;
        gw_lua_err_set(err, GW_LUA_DEAD, "state was stopped", 17);
        return GW_LUA_DEAD;
    }

    if (len > 0 && text[0] == 0x1b) {
        s->start = 0;
        gw_lua_err_set(err, GW_LUA_ERROR, "bytecode is refused", 19);
        return GW_LUA_ERROR;
    }

    run.name = name;
    run.text = text;
    run.len = len;

    rc = gw_lua_guard_run(s, gw_lua_load_run, &run);
    if (rc != 0) {
        return gw_lua_stopped(rc, err);
    }

    return gw_lua_status(s, s->L, run.status, err);
}


static int
gw_lua_call_run(gw_lua_t *s, void *arg)
{
    gw_lua_run_t  *run;

    run = arg;

    gw_lua_arm(s, s->budget);
    run->status = lua_pcall(s->L, run->nargs, run->nres, 0);
    gw_lua_after_oom(s);

    return 0;
}


gw_lua_rc_e
gw_lua_call(gw_lua_t *s, int nargs, int nres, gw_lua_err_t *err)
{
    int           rc;
    gw_lua_run_t  run;

    if (s->dead) {
        s->start = 0;
        gw_lua_err_set(err, GW_LUA_DEAD, "state was stopped", 17);
        return GW_LUA_DEAD;
    }

    run.nargs = nargs;
    run.nres = nres;

    rc = gw_lua_guard_run(s, gw_lua_call_run, &run);
    if (rc != 0) {
        return gw_lua_stopped(rc, err);
    }

    return gw_lua_status(s, s->L, run.status, err);
}


static int
gw_lua_resume_run(gw_lua_t *s, void *arg)
{
    gw_lua_run_t  *run;

    run = arg;

    gw_lua_arm(s, run->left);
    run->status = lua_resume(run->co, run->nargs);
    gw_lua_after_oom(s);

    return 0;
}


gw_lua_rc_e
gw_lua_resume(gw_lua_t *s, lua_State *co, int nargs, uint64_t *budget_total,
    gw_lua_err_t *err)
{
    int           rc;
    uint64_t      spent;
    gw_lua_run_t  run;

    if (s->dead) {
        s->start = 0;
        gw_lua_err_set(err, GW_LUA_DEAD, "state was stopped", 17);
        return GW_LUA_DEAD;
    }

    spent = (budget_total != NULL) ? *budget_total : 0;

    run.left = (spent < s->budget) ? s->budget - spent : 0;
    run.co = co;
    run.nargs = nargs;

    rc = gw_lua_guard_run(s, gw_lua_resume_run, &run);
    if (rc != 0) {
        return gw_lua_stopped(rc, err);
    }

    if (budget_total != NULL) {
        *budget_total = s->budget - s->left;
    }

    return gw_lua_status(s, co, run.status, err);
}


static int
gw_lua_cpcall_run(gw_lua_t *s, void *arg)
{
    gw_lua_run_t  *run;

    run = arg;

    gw_lua_arm(s, s->budget);
    run->status = lua_cpcall(s->L, run->f, run->ud);
    gw_lua_after_oom(s);

    return 0;
}


gw_lua_rc_e
gw_lua_cpcall(gw_lua_t *s, lua_CFunction f, void *ud, gw_lua_err_t *err)
{
    int           rc;
    gw_lua_run_t  run;

    if (s->dead) {
        s->start = 0;
        gw_lua_err_set(err, GW_LUA_DEAD, "state was stopped", 17);
        return GW_LUA_DEAD;
    }

    run.f = f;
    run.ud = ud;

    rc = gw_lua_guard_run(s, gw_lua_cpcall_run, &run);
    if (rc != 0) {
        return gw_lua_stopped(rc, err);
    }

    return gw_lua_status(s, s->L, run.status, err);
}


const char *
gw_lua_rc_name(gw_lua_rc_e rc)
{
    static const char  *names[] = {
        "ok", "yield", "error", "memory", "budget", "timeout", "dead"
    };

    if ((unsigned) rc < sizeof(names) / sizeof(names[0])) {
        return names[rc];
    }

    return "unknown";
}
