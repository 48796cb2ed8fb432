
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
 * (again at the first call in a forked child), wakes every
 * GW_LUA_WATCH_MS and reads the sequence number of the outermost call in
 * progress (the call's one clock reading, in ticks of gw_lua_ticks(), is
 * kept for gw_lua_elapsed(): a caller timing the call reads the clock
 * only once more, at its end).  A call seen in progress for longer than
 * its state's time_max gets a real-time signal on the thread that runs
 * it (at every tick until it stops); the handler siglongjmp()s
 * back to gw_lua_guard_run() unless the guard is held (our allocator, our
 * C functions that call libc), in which case gw_lua_guard_leave() jumps.
 * The handler also declines to jump while the interrupted code is in the
 * C runtime (libc, the dynamic loader, libgcc's unwinder, which LuaJIT
 * uses to raise errors and which takes a process-wide lock): the
 * watchdog sends the signal again every GW_LUA_WATCH_MS until the jump
 * is taken from LuaJIT's own code or its compiled traces.
 * The states of the calls in progress are then DEAD: never touched again,
 * their blocks freed by gw_lua_free().  What a DEAD state cannot give
 * back: the machine-code areas the JIT mapped (trusted states; at most
 * LuaJIT's maxmcode, 512 KiB by default, per stopped state).
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE  1      /* dl_iterate_phdr(), REG_RIP */
#endif

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "gw_lua_int.h"


#define GW_LUA_WATCH_MS  10
#define GW_LUA_SIGNAL    (SIGRTMIN + 5)
#define GW_LUA_UNSAFE    16


typedef struct {
    uintptr_t           start;
    uintptr_t           end;
} gw_lua_range_t;


/* written by the thread that runs Lua, read by the watchdog */
static volatile uint64_t      gw_lua_call_seq;
static volatile int64_t       gw_lua_call_limit;    /* ns */
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
static uint64_t               gw_lua_call_start;    /* the outermost
                                                       call's, in ticks */

static int                    gw_lua_watch_inited;
static volatile int           gw_lua_watch_running;

/* the code the handler does not jump out of */
static gw_lua_range_t         gw_lua_unsafe[GW_LUA_UNSAFE];
static int                    gw_lua_nunsafe;


/* nanoseconds, monotonic: the one clock of the calls and the watchdog */

int64_t
gw_lua_now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* 1 when the signal (or a deferred one) is for the call in progress */

static int
gw_lua_kill_due(void)
{
    return __atomic_load_n(&gw_lua_call_active, __ATOMIC_ACQUIRE)
           && __atomic_load_n(&gw_lua_kill_seq, __ATOMIC_ACQUIRE)
              == gw_lua_call_seq;
}


static int
gw_lua_unsafe_add(struct dl_phdr_info *info, size_t size, void *data)
{
    int          i;
    const char  *name;

    name = info->dlpi_name;

    if (name == NULL
        || (strstr(name, "/libc.so") == NULL
            && strstr(name, "/libgcc_s.so") == NULL
            && strstr(name, "/ld-linux") == NULL))
    {
        return 0;
    }

    for (i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_LOAD
            || !(info->dlpi_phdr[i].p_flags & PF_X)
            || gw_lua_nunsafe == GW_LUA_UNSAFE)
        {
            continue;
        }

        gw_lua_unsafe[gw_lua_nunsafe].start = info->dlpi_addr
                                              + info->dlpi_phdr[i].p_vaddr;
        gw_lua_unsafe[gw_lua_nunsafe].end =
            gw_lua_unsafe[gw_lua_nunsafe].start
            + info->dlpi_phdr[i].p_memsz;
        gw_lua_nunsafe++;
    }

    return 0;
}


/* 1 when the interrupted instruction is in the C runtime */

static int
gw_lua_unsafe_pc(void *ctx)
{
    int          i;
    uintptr_t    pc;
    ucontext_t  *uc;

    uc = ctx;

#if defined(__x86_64__)
    pc = (uintptr_t) uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    pc = (uintptr_t) uc->uc_mcontext.pc;
#else
    pc = 0;
    (void) uc;
#endif

    for (i = 0; i < gw_lua_nunsafe; i++) {
        if (pc >= gw_lua_unsafe[i].start && pc < gw_lua_unsafe[i].end) {
            return 1;
        }
    }

    return 0;
}


static void
gw_lua_signal(int signo, siginfo_t *si, void *ctx)
{
    int  saved;

    saved = errno;

    if (!gw_lua_kill_due()) {
        errno = saved;
        return;
    }

    if (gw_lua_guard_depth == 0 && gw_lua_unsafe_pc(ctx)) {
        /* the watchdog signals again at its next tick */
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


/*
 * A call is dated by its sequence number: the tick that first sees it in
 * progress notes CLOCK_MONOTONIC (the call began at most a tick before),
 * and the call is stopped at the first tick more than its limit after
 * that: it ran more than its limit, and at most two ticks more (and what
 * the thread's scheduling adds).  The call's own start, in the ticks of
 * gw_lua_ticks(), only times it for the metrics: the watchdog never
 * depends on the time-stamp counter.
 */

static void *
gw_lua_watch(void *arg)
{
    int64_t          limit, now, seen_at;
    uint64_t         seq, seen;
    struct timespec  ts;

    ts.tv_sec = 0;
    ts.tv_nsec = GW_LUA_WATCH_MS * 1000000L;

    seen = 0;
    seen_at = 0;

    for ( ;; ) {
        (void) nanosleep(&ts, NULL);

        if (!__atomic_load_n(&gw_lua_call_active, __ATOMIC_ACQUIRE)) {
            continue;
        }

        seq = __atomic_load_n(&gw_lua_call_seq, __ATOMIC_ACQUIRE);
        limit = __atomic_load_n(&gw_lua_call_limit, __ATOMIC_ACQUIRE);
        now = gw_lua_now_ns();

        if (seq != seen) {
            /* a call not seen before: it began since the last tick */
            seen = seq;
            seen_at = now;
            continue;
        }

        if (seq != __atomic_load_n(&gw_lua_call_seq, __ATOMIC_ACQUIRE)
            || !__atomic_load_n(&gw_lua_call_active, __ATOMIC_ACQUIRE)
            || now - seen_at <= limit)
        {
            continue;
        }

        __atomic_store_n(&gw_lua_kill_seq, seq, __ATOMIC_RELEASE);
        (void) pthread_kill(gw_lua_call_thread, GW_LUA_SIGNAL);
    }

    return NULL;
}


/* a forked child (an nginx worker) has no watchdog thread: the next call
 * starts one */

static void
gw_lua_watch_forked(void)
{
    gw_lua_watch_running = 0;
}


int
gw_lua_watch_start(gw_lua_err_t *err)
{
    int               rc;
    Dl_info           dli;
    sigset_t          all, old;
    pthread_t         tid;
    pthread_attr_t    attr;
    struct sigaction  sa;

    if (gw_lua_watch_running) {
        return 0;
    }

    if (!gw_lua_watch_inited) {
        (void) dl_iterate_phdr(gw_lua_unsafe_add, NULL);
        gw_lua_clock_init();

        /*
         * The thread runs code of the object this file is linked into:
         * when that is nginx's dynamic module, nginx unloads it at exit
         * (and a reload may), under the running thread.  Pinned, it
         * stays mapped until the process ends.
         */
        if (dladdr((void *) gw_lua_watch, &dli) != 0 && dli.dli_fname != NULL)
        {
            (void) dlopen(dli.dli_fname, RTLD_NOW | RTLD_NOLOAD
                                         | RTLD_NODELETE);
        }

        if (pthread_atfork(NULL, NULL, gw_lua_watch_forked) != 0) {
            gw_lua_err_set(err, GW_LUA_ERROR, "pthread_atfork() failed", 23);
            return -1;
        }

        gw_lua_watch_inited = 1;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = gw_lua_signal;
    sa.sa_flags = SA_SIGINFO;
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

    gw_lua_watch_running = 1;

    return 0;
}


int
gw_lua_guard_run(gw_lua_t *s, gw_lua_run_pt fn, void *arg)
{
    int                    i, rc;
    uint64_t               start;
    sigset_t               set;
    sig_atomic_t           depth;
    volatile int           outer;

    s->start = 0;

    if (gw_lua_nested >= GW_LUA_NEST_MAX) {
        return GW_LUA_RUN_NESTED;
    }

    outer = (gw_lua_nested == 0);

    if (outer && !gw_lua_watch_running && gw_lua_watch_start(NULL) != 0) {
        return GW_LUA_RUN_NESTED;
    }

    gw_lua_nest[gw_lua_nested++] = s;

    if (!outer) {
        /* a C function called from Lua calls Lua again: the outermost
         * call's limit and jump target cover it; the guard the C function
         * may hold must not defer a stop of the Lua it runs */
        depth = gw_lua_guard_depth;
        gw_lua_guard_depth = 0;

        /* timed from the outermost call's start: no clock read here */
        s->start = gw_lua_call_start;

        s->calls++;
        rc = fn(s, arg);
        s->calls--;

        gw_lua_guard_depth = depth;
        gw_lua_nested--;

        return rc;
    }

    gw_lua_call_thread = pthread_self();
    __atomic_store_n(&gw_lua_call_active, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&gw_lua_call_seq, gw_lua_call_seq + 1, __ATOMIC_RELEASE);
    /* the call's one clock reading, for gw_lua_elapsed() */
    start = gw_lua_ticks();
    s->start = start;

    gw_lua_call_start = start;
    __atomic_store_n(&gw_lua_call_limit, (int64_t) s->time_max * 1000000,
                     __ATOMIC_RELEASE);

    gw_lua_guard_depth = 0;
    gw_lua_guard_pending = 0;

    /*
     * The mask is not saved: that is a system call at every call, and
     * the jump is rare.  A jump from the handler leaves the signal
     * blocked (the handler never returned), so it is unblocked here.
     */
    if (sigsetjmp(gw_lua_jmp, 0) != 0) {
        __atomic_store_n(&gw_lua_call_active, 0, __ATOMIC_RELEASE);

        sigemptyset(&set);
        sigaddset(&set, GW_LUA_SIGNAL);
        (void) pthread_sigmask(SIG_UNBLOCK, &set, NULL);

        for (i = 0; i < gw_lua_nested; i++) {
            gw_lua_nest[i]->dead = 1;
        }

        gw_lua_nested = 0;
        gw_lua_guard_depth = 0;
        gw_lua_guard_pending = 0;

        return GW_LUA_RUN_STOPPED;
    }

    __atomic_store_n(&gw_lua_call_active, 1, __ATOMIC_RELEASE);

    s->calls++;
    rc = fn(s, arg);
    s->calls--;

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
