
/*
 * Copyright (C) Tollgate
 *
 * What the files of lib/lua share (gw_lua.h is the public contract): the
 * state's structure, its tracked allocator, the protected run under the
 * watchdog and the environment's construction.
 */


#ifndef _GW_LUA_INT_H_INCLUDED_
#define _GW_LUA_INT_H_INCLUDED_


#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <luajit.h>

#include "gw_lua.h"


#define GW_LUA_MEM_DEFAULT     (64 * 1024 * 1024)
#define GW_LUA_BUDGET_DEFAULT  10000000
#define GW_LUA_TIME_DEFAULT    1000

/* what the collection after a refused block may take past the cap */
#define GW_LUA_MEM_SLACK       (64 * 1024)

/* VM instructions between two calls of the count hook */
#define GW_LUA_HOOK_COUNT      1000

/* how deep gw_lua_call() may nest (a C function called from Lua calling) */
#define GW_LUA_NEST_MAX        16

#define GW_LUA_NAME_MAX        64

/* how deep the C functions that call Lua back (string.gsub with a
 * function or table, coroutine.resume, coroutine.wrap) may nest: LuaJIT
 * checks the Lua stack, not the C stack, and each string.gsub holds a
 * buffer of BUFSIZ on it, so unchecked nesting overflows the C stack */
#define GW_LUA_CCALL_MAX       100


/* the header of each block the allocator hands out: all blocks of a state
 * are on one list so that a DEAD state is freed without lua_close() */
typedef struct gw_lua_blk_s  gw_lua_blk_t;

struct gw_lua_blk_s {
    gw_lua_blk_t       *prev;
    gw_lua_blk_t       *next;
    size_t              size;       /* bytes after the header */
    size_t              magic;
};


struct gw_lua_s {
    lua_State          *L;
    gw_lua_blk_t        blocks;     /* list head */
    size_t              mem;        /* bytes held, headers included */
    size_t              mem_max;
    uint64_t            allocated;  /* bytes ever allocated or grown by */
    uint64_t            budget;
    uint64_t            left;       /* instructions left in this call */
    uint64_t            start;      /* the last call's start, in ticks
                                       of gw_lua_ticks(); 0: none */
    unsigned            ccalls;     /* C functions calling Lua, nested */
    unsigned            calls;      /* calls of this state in progress */
    unsigned            time_max;
    unsigned            trusted:1;
    unsigned            ffi:1;
    unsigned            dead:1;
    unsigned            exhausted:1;    /* the hook refused more work */
    unsigned            hooked:1;       /* the count hook is set */
    unsigned            collecting:1;   /* the collection after a refusal */
    unsigned            oom:1;          /* the allocator refused a block */
    char                name[GW_LUA_NAME_MAX];
};


typedef int (*gw_lua_run_pt)(gw_lua_t *s, void *arg);

/*
 * Runs fn(s, arg) under the watchdog (gw_lua_guard.c): returns what fn
 * returned (0), GW_LUA_RUN_STOPPED when the watchdog stopped it (every
 * state of the calls in progress is then DEAD), or GW_LUA_RUN_NESTED
 * without running it when calls nest past GW_LUA_NEST_MAX (or the
 * watchdog cannot be started).
 */
#define GW_LUA_RUN_STOPPED  -1
#define GW_LUA_RUN_NESTED   -2

int gw_lua_guard_run(gw_lua_t *s, gw_lua_run_pt fn, void *arg);

/* CLOCK_MONOTONIC in nanoseconds */
int64_t gw_lua_now_ns(void);

/*
 * The clock of the calls (gw_lua_clock.c): gw_lua_ticks() reads it,
 * gw_lua_ticks_ns() turns a difference of two readings into nanoseconds.
 * Ticks are the time-stamp counter's once gw_lua_clock_init() (at the
 * first state of the process) found it usable, else nanoseconds.
 */
#if defined(__x86_64__)
#include <x86intrin.h>
#define GW_LUA_HAVE_TSC  1
#else
#define GW_LUA_HAVE_TSC  0
#endif

extern int       gw_lua_tsc;
extern uint64_t  gw_lua_tsc_mult;       /* ns per tick, times 2^32 */

void gw_lua_clock_init(void);

static inline uint64_t
gw_lua_ticks(void)
{
#if (GW_LUA_HAVE_TSC)
    if (gw_lua_tsc) {
        return __rdtsc();
    }
#endif

    return (uint64_t) gw_lua_now_ns();
}

static inline uint64_t
gw_lua_ticks_ns(uint64_t ticks)
{
    if (!gw_lua_tsc) {
        return ticks;
    }

    return (uint64_t) (((unsigned __int128) ticks * gw_lua_tsc_mult) >> 32);
}

/* starts the watchdog thread once per process (again after a fork) */
int gw_lua_watch_start(gw_lua_err_t *err);

/* the count hook charging s->left (untrusted states) */
void gw_lua_hook(lua_State *L, lua_Debug *ar);

/* lua_CFunction run by gw_lua_new() in protected mode: the environment;
 * the gw_lua_t is its light userdata argument */
int gw_lua_env_open(lua_State *L);

/* require() of the sandbox (gw_lua_module.c) */
int gw_lua_require(lua_State *L);

/* pushes the "json" module table */
int gw_lua_json_open(lua_State *L);

/* the gw_lua_t of any thread of a state */
gw_lua_t *gw_lua_from(lua_State *L);

/* fills err from rc and the message on the top of L (not popped) */
void gw_lua_err_set(gw_lua_err_t *err, gw_lua_rc_e rc, const char *msg,
    size_t len);


#endif /* _GW_LUA_INT_H_INCLUDED_ */
