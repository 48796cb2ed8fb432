
/*
 * Copyright (C) Tollgate
 *
 * The CPU limits of sandboxed calls (gw_lua.h).
 *
 * The budget: untrusted states run with the JIT off under a count hook
 * that charges GW_LUA_HOOK_COUNT instructions to the call at a time; when
 * the budget is spent it raises "budget exhausted" and keeps raising at
 * every instruction (a pcall() in the code cannot swallow it), so the call
 * ends with GW_LUA_BUDGET and the state stays usable.
 *
 * The watchdog: one thread per process, started at the first gw_lua_new()
 * (again in a forked child), wakes every GW_LUA_WATCH_MS and reads the
 * sequence number and start time that the outermost call in progress
 * wrote.  A call older than its state's time_max gets a real-time signal
 * on the thread that runs it; the handler siglongjmp()s back to
 * gw_lua_guard_run() unless the guard is held (our allocator, our C
 * functions that call libc), in which case gw_lua_guard_leave() jumps.
 * The states of the calls in progress are then DEAD: never touched again,
 * their blocks freed by gw_lua_free().  What a DEAD state cannot give
 * back: the machine-code areas the JIT mapped (trusted states; at most
 * LuaJIT's maxmcode, 512 KiB by default, per stopped state).
 */


#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gw_lua_int.h"


#define GW_LUA_WATCH_MS  10
#define GW_LUA_SIGNAL    (SIGRTMIN + 5)


/* written by the thread that runs Lua, read by the watchdog */
static volatile uint64_t      gw_lua_call_seq;
static volatile int64_t       gw_lua_call_start;    /* ms, monotonic */
static volatile int64_t       gw_lua_call_limit;    /* ms */
static volatile int           gw_lua_call_active;
static pthread_t              gw_lua_call_thread;

/* written by the watchdog before it signals */
static volatile uint64_t      gw_lua_kill_seq;

/* the thread that runs Lua only (and its signal handler) */
static volatile sig_atomic_t  gw_lua_guard_depth;
static volatile sig_atomic_t  gw_lua_guard_pending;
static sigjmp_buf             gw_lua_jmp;
static gw_lua_t              *gw_lua_nest[GW_LUA_NEST_MAX];
static int                    gw_lua_nested;

static pid_t                  gw_lua_watch_pid;


static int64_t
gw_lua_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* 1 when the signal (or a deferred one) is for the call in progress */

static int
gw_lua_kill_due(void)
{
    return __atomic_load_n(&gw_lua_call_active, __ATOMIC_ACQUIRE)
           && __atomic_load_n(&gw_lua_kill_seq, __ATOMIC_ACQUIRE)
              == gw_lua_call_seq;
}


static void
gw_lua_signal(int signo)
{
    int  saved;

    saved = errno;

    if (!gw_lua_kill_due()) {
        errno = saved;
        return;
    }

    if (gw_lua_guard_depth > 0) {
        gw_lua_guard_pending = 1;
        errno = saved;
        return;
    }

    siglongjmp(gw_lua_jmp, 1);
}


void
gw_lua_guard_enter(void)
{
    gw_lua_guard_depth++;
}


void
gw_lua_guard_leave(void)
{
    if (gw_lua_guard_depth > 0) {
        gw_lua_guard_depth--;
    }

    if (gw_lua_guard_depth == 0 && gw_lua_guard_pending) {
        gw_lua_guard_pending = 0;

        if (gw_lua_kill_due()) {
            siglongjmp(gw_lua_jmp, 1);
        }
    }
}


static void *
gw_lua_watch(void *arg)
{
    int64_t          start, limit;
    uint64_t         seq;
    struct timespec  ts;

    ts.tv_sec = 0;
    ts.tv_nsec = GW_LUA_WATCH_MS * 1000000L;

    for ( ;; ) {
        (void) nanosleep(&ts, NULL);

        if (!__atomic_load_n(&gw_lua_call_active, __ATOMIC_ACQUIRE)) {
            continue;
        }

        seq = __atomic_load_n(&gw_lua_call_seq, __ATOMIC_ACQUIRE);
        start = __atomic_load_n(&gw_lua_call_start, __ATOMIC_ACQUIRE);
        limit = __atomic_load_n(&gw_lua_call_limit, __ATOMIC_ACQUIRE);

        if (seq != __atomic_load_n(&gw_lua_call_seq, __ATOMIC_ACQUIRE)
            || !__atomic_load_n(&gw_lua_call_active, __ATOMIC_ACQUIRE)
            || gw_lua_kill_seq == seq
            || gw_lua_now_ms() - start <= limit)
        {
            continue;
        }

        __atomic_store_n(&gw_lua_kill_seq, seq, __ATOMIC_RELEASE);
        (void) pthread_kill(gw_lua_call_thread, GW_LUA_SIGNAL);
    }

    return NULL;
}


int
gw_lua_watch_start(gw_lua_err_t *err)
{
    int               rc;
    sigset_t          all, old;
    pthread_t         tid;
    pthread_attr_t    attr;
    struct sigaction  sa;

    if (gw_lua_watch_pid == getpid()) {
        return 0;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = gw_lua_signal;
    sigemptyset(&sa.sa_mask);

    if (sigaction(GW_LUA_SIGNAL, &sa, NULL) != 0) {
        gw_lua_err_set(err, GW_LUA_ERROR, "sigaction() failed", 18);
        return -1;
    }

    /* the watchdog takes no signal meant for the process */
    sigfillset(&all);
    (void) pthread_sigmask(SIG_SETMASK, &all, &old);

    (void) pthread_attr_init(&attr);
    (void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    (void) pthread_attr_setstacksize(&attr, 64 * 1024);

    rc = pthread_create(&tid, &attr, gw_lua_watch, NULL);

    (void) pthread_attr_destroy(&attr);
    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (rc != 0) {
        gw_lua_err_set(err, GW_LUA_ERROR, "cannot start the watchdog", 25);
        return -1;
    }

    gw_lua_watch_pid = getpid();

    return 0;
}


int
gw_lua_guard_run(gw_lua_t *s, gw_lua_run_pt fn, void *arg)
{
    int                    i, rc;
    sig_atomic_t           depth;
    volatile int           outer;

    if (gw_lua_nested >= GW_LUA_NEST_MAX) {
        return -1;
    }

    outer = (gw_lua_nested == 0);
    gw_lua_nest[gw_lua_nested++] = s;

    if (!outer) {
        /* a C function called from Lua calls Lua again: the outermost
         * call's limit and jump target cover it; the guard the C function
         * may hold must not defer a stop of the Lua it runs */
        depth = gw_lua_guard_depth;
        gw_lua_guard_depth = 0;

        rc = fn(s, arg);

        gw_lua_guard_depth = depth;
        gw_lua_nested--;

        return rc;
    }

    gw_lua_call_thread = pthread_self();
    __atomic_store_n(&gw_lua_call_active, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&gw_lua_call_seq, gw_lua_call_seq + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&gw_lua_call_start, gw_lua_now_ms(), __ATOMIC_RELEASE);
    __atomic_store_n(&gw_lua_call_limit, (int64_t) s->time_max,
                     __ATOMIC_RELEASE);

    gw_lua_guard_depth = 0;
    gw_lua_guard_pending = 0;

    if (sigsetjmp(gw_lua_jmp, 1) != 0) {
        __atomic_store_n(&gw_lua_call_active, 0, __ATOMIC_RELEASE);

        for (i = 0; i < gw_lua_nested; i++) {
            gw_lua_nest[i]->dead = 1;
        }

        gw_lua_nested = 0;
        gw_lua_guard_depth = 0;
        gw_lua_guard_pending = 0;

        return -1;
    }

    __atomic_store_n(&gw_lua_call_active, 1, __ATOMIC_RELEASE);

    rc = fn(s, arg);

    __atomic_store_n(&gw_lua_call_active, 0, __ATOMIC_RELEASE);

    gw_lua_nested = 0;
    gw_lua_guard_depth = 0;
    gw_lua_guard_pending = 0;

    return rc;
}


void
gw_lua_hook(lua_State *L, lua_Debug *ar)
{
    gw_lua_t  *s;

    s = gw_lua_from(L);

    if (!s->exhausted && s->left > GW_LUA_HOOK_COUNT) {
        s->left -= GW_LUA_HOOK_COUNT;
        return;
    }

    /* from now on every instruction raises: pcall() cannot swallow it */
    s->left = 0;
    s->exhausted = 1;
    lua_sethook(L, gw_lua_hook, LUA_MASKCOUNT, 1);

    luaL_error(L, "budget exhausted");
}
