
/*
 * Copyright (C) Tollgate
 *
 * Sandboxed LuaJIT states (docs/plugins.md, "The sandbox"), with no nginx
 * types: the gateway's plugins and the processing engine's transforms run
 * on these.
 *
 * A state (gw_lua_t) is one lua_State made by lua_newstate() with our
 * allocator, which refuses to go past a memory cap: string.rep() of a GiB
 * or s = s .. s fails with "not enough memory" and the state stays usable.
 * Code is loaded as text only (never bytecode) into a whitelisted
 * environment (gw_lua_env.c): no io, no os but its time functions, no
 * debug, ffi, jit, getfenv/setfenv, string.dump, newproxy, module or
 * package; require() of the vetted modules only (json, ffi for trusted
 * states configured with it, and those gw_lua_module() adds); load() of
 * text into the same environment; the string metatable is hidden
 * (getmetatable("") is false) so no chunk can change what ("x"):rep means
 * for another.
 *
 * CPU: an untrusted state runs with the JIT off under a count hook, so a
 * call that executes more than its budget of VM instructions fails with
 * GW_LUA_BUDGET and the state stays usable.  A trusted state (the plugins
 * we ship, or code the operator marks trusted) runs with the JIT on,
 * where hooks do not fire inside compiled loops.  Both are also watched
 * by a per-process watchdog thread: a call still running after its time
 * budget (a compiled infinite loop, a pathological string.find that never
 * returns to the VM) is interrupted by a signal that jumps out of it; the
 * state is then DEAD: its memory is freed block by block by the allocator
 * (never through lua_close(), the state may be mid-operation), and the
 * owner must replace it.  The signal never jumps out of our own C code or
 * the allocator (they hold a guard; the jump is taken when they leave).
 *
 * Every call that runs Lua (load, call, resume) is protected: errors,
 * budget and memory exhaustion come back as values, never as a panic.
 * One thread runs Lua at a time (nginx workers and the processing engine
 * are single-threaded); the watchdog only reads what gw_lua_call() writes.
 */


#ifndef _GW_LUA_H_INCLUDED_
#define _GW_LUA_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include <lua.h>


typedef struct gw_lua_s  gw_lua_t;


/* outcomes of the calls that run Lua */
typedef enum {
    GW_LUA_OK = 0,
    GW_LUA_YIELD,           /* a coroutine yielded (gw_lua_resume) */
    GW_LUA_ERROR,           /* a Lua error: err->msg says which */
    GW_LUA_MEMORY,          /* the state's memory cap was reached */
    GW_LUA_BUDGET,          /* the instruction budget was spent */
    GW_LUA_TIMEOUT,         /* the watchdog stopped it: state is DEAD */
    GW_LUA_DEAD             /* the state was stopped before: replace it */
} gw_lua_rc_e;


#define GW_LUA_ERR_MAX  256


typedef struct {
    gw_lua_rc_e         rc;
    char                msg[GW_LUA_ERR_MAX];   /* NUL-terminated, control
                                                  bytes replaced by '?' */
} gw_lua_err_t;


typedef struct {
    size_t              mem_max;        /* bytes; 0: 64 MiB */
    uint64_t            budget;         /* VM instructions a call may run
                                           in an untrusted state; 0: 10^7 */
    unsigned            time_max;       /* milliseconds a call may run
                                           before the watchdog stops it;
                                           0: 1000 */
    unsigned            trusted:1;      /* JIT on, no count hook */
    unsigned            ffi:1;          /* require("ffi") allowed: only
                                           with trusted */
    const char         *name;           /* for messages; copied */
} gw_lua_conf_t;


/*
 * A new sandboxed state, or NULL with err filled.  The environment table
 * that loaded chunks see is at the registry's "gw.env"; extend it with
 * gw_lua_env() before loading code (the gateway adds its "gw" table).
 */
gw_lua_t *gw_lua_new(const gw_lua_conf_t *conf, gw_lua_err_t *err);

/*
 * Frees the state and all its memory; a DEAD state too (block by block).
 * NULL is accepted.
 */
void gw_lua_free(gw_lua_t *s);

/* the main lua_State, for pushing arguments and reading results */
lua_State *gw_lua_state(gw_lua_t *s);

/* pushes the sandbox environment table onto L (to add names to it) */
void gw_lua_env(gw_lua_t *s);

/* bytes the state holds now, and its cap */
size_t gw_lua_mem(gw_lua_t *s);
size_t gw_lua_mem_max(gw_lua_t *s);

/*
 * Bytes the state ever allocated: the sum of its allocations and growths
 * that succeeded, headers included as in gw_lua_mem(); never decreases
 * (frees and shrinks do not count), so the difference of two readings is
 * what the code run between them allocated.  Readable on a DEAD state.
 */
uint64_t gw_lua_mem_allocated(gw_lua_t *s);

/* bytes all the states of the process hold now (DEAD ones until freed) */
size_t gw_lua_mem_total(void);

/* 1 once the watchdog stopped a call of this state */
int gw_lua_dead(gw_lua_t *s);

/*
 * Nanoseconds (monotonic) since the last load, call, resume or cpcall of
 * s started (a nested one: since the outermost call started), by the
 * clock reading the watchdog took then; 0 when it did not run (a DEAD
 * state, calls nested too deep).  Called right after the call returned,
 * its duration, at the cost of one clock reading, not two.
 */
uint64_t gw_lua_elapsed(gw_lua_t *s);

/*
 * Loads text (never bytecode: a chunk starting with ESC is refused) named
 * name ("=name" style for messages) in the sandbox environment and calls
 * it with no arguments under the budget; on GW_LUA_OK its first result is
 * left on the top of the stack.
 */
gw_lua_rc_e gw_lua_load(gw_lua_t *s, const char *name, const char *text,
    size_t len, gw_lua_err_t *err);

/*
 * lua_pcall() of the function below nargs arguments on the main state,
 * under the budget and the watchdog; nres results on GW_LUA_OK, nothing
 * pushed otherwise (the function and arguments are popped either way).
 */
gw_lua_rc_e gw_lua_call(gw_lua_t *s, int nargs, int nres, gw_lua_err_t *err);

/*
 * lua_resume() of coroutine co (a thread of s), with nargs arguments on
 * co's stack, under the budget and the watchdog (the budget counts the
 * whole run of the coroutine across resumes only when budget_total is
 * not NULL: it is read and updated; it holds the instructions spent so
 * far, so it starts at 0).  GW_LUA_YIELD: co yielded, its yield
 * values on its stack; GW_LUA_OK: it returned, results on its stack.
 */
gw_lua_rc_e gw_lua_resume(gw_lua_t *s, lua_State *co, int nargs,
    uint64_t *budget_total, gw_lua_err_t *err);

/*
 * Runs f(L, ud) in protected mode on the main state (conversions that may
 * allocate: pushing a table built from C, json decode...); an error,
 * memory exhaustion included, comes back as a value.
 */
gw_lua_rc_e gw_lua_cpcall(gw_lua_t *s, lua_CFunction f, void *ud,
    gw_lua_err_t *err);

/*
 * Vets a Lua module for the state: require(name) in it then gives the
 * module's value.  The text (never bytecode: a chunk starting with ESC is
 * refused) is compiled now, in the sandbox environment, so a syntax error
 * comes back here (GW_LUA_ERROR, err->msg "name:line: ..."); it is run at
 * the first require(name), inside the caller's call (its budget, its
 * time, its memory cap), with name as its argument.  Like Lua's own
 * require: what it returns is kept in the state (true for nil) and every
 * later require(name) gives that same value; an error it raises goes to
 * the caller of require and nothing is kept, so a later require runs it
 * again; a module that requires itself, directly or through another,
 * gets an error.  The module shares the environment of the state's other
 * code (gw_lua_env()).
 *
 * name: [a-z][a-z0-9_.-]*, at most GW_LUA_MODULE_NAME_MAX bytes; a name
 * already vetted in the state, "json" and "ffi" included, is refused.
 * Each state compiles its own copy: call it for every state made.
 */
#define GW_LUA_MODULE_NAME_MAX  64

gw_lua_rc_e gw_lua_module(gw_lua_t *s, const char *name, const char *text,
    size_t len, gw_lua_err_t *err);

/*
 * Our C functions called from Lua that call libc or nginx code which may
 * take locks (malloc, localtime, logging) hold the guard, so the
 * watchdog's jump is deferred until they leave it.  Nests.
 */
void gw_lua_guard_enter(void);
void gw_lua_guard_leave(void);

/* the Lua-side text of rc: "error", "memory", "budget", "timeout" ... */
const char *gw_lua_rc_name(gw_lua_rc_e rc);


/*
 * JSON (jansson) to and from Lua values, used by the "json" module that
 * sandboxed code may require, by the plugins' configurations and by the
 * transform contract (gw_lua_transform.h).  Objects become tables with
 * string keys, arrays tables with 1..n (and the registry's "gw.array"
 * metatable, so an empty array encodes back as []), null the lightuserdata
 * gw_lua_null (json.null).  At most GW_LUA_JSON_DEPTH levels either way.
 */
#define GW_LUA_JSON_DEPTH  64

struct json_t;

/* pushes v onto L (call inside a protected call: may raise) */
void gw_lua_push_json(lua_State *L, struct json_t *v);

/*
 * The JSON of the value at index idx, or NULL with err set: a cycle, a
 * depth past GW_LUA_JSON_DEPTH, a function or userdata, a NaN or infinity,
 * a table with both kinds of keys or a sparse array, a non-UTF-8 string.
 */
struct json_t *gw_lua_to_json(lua_State *L, int idx, gw_lua_err_t *err);

extern char  gw_lua_null_tag;
#define gw_lua_null  ((void *) &gw_lua_null_tag)


#endif /* _GW_LUA_H_INCLUDED_ */
