
/*
 * Copyright (C) Tollgate
 *
 * The LuaJIT sandbox (lib/lua, docs/plugins-sandbox.md): the hostile
 * corpus at the library's level.  Each case must come back as a value,
 * with the state usable (or DEAD and replaced) and its memory back near
 * where it was.  The watchdog's limit is kept small (200 ms) where the
 * watchdog is tested; where the budget is, the watchdog's is 10 s, so
 * that a busy machine never lets the watchdog win a race meant for the
 * budget (an endless loop would still end, as a timeout, and fail the
 * check).  The checks are on outcomes, never on timing.
 */


#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "gw_lua.h"
#include "tap.h"


#define SLACK  (256 * 1024)


static gw_lua_conf_t  conf_untrusted = {
    .mem_max = 16 * 1024 * 1024, .time_max = 200, .name = "untrusted"
};

/* the budget's checks: the watchdog far behind the instruction budget */
static gw_lua_conf_t  conf_budget = {
    .mem_max = 16 * 1024 * 1024, .time_max = 10000, .name = "budget"
};

static gw_lua_conf_t  conf_trusted = {
    .mem_max = 16 * 1024 * 1024, .time_max = 200, .trusted = 1,
    .name = "trusted"
};

static volatile int  guarded_done;


static gw_lua_rc_e
run(gw_lua_t *s, const char *text, gw_lua_err_t *err)
{
    gw_lua_rc_e  rc;

    rc = gw_lua_load(s, "=test", text, strlen(text), err);

    if (rc == GW_LUA_OK) {
        lua_pop(gw_lua_state(s), 1);
    }

    return rc;
}


/* the chunk's result as a string ("" when not one) */

static const char *
eval(gw_lua_t *s, const char *text, char *buf, size_t size)
{
    const char    *v;
    gw_lua_err_t   err;

    if (gw_lua_load(s, "=test", text, strlen(text), &err) != GW_LUA_OK) {
        snprintf(buf, size, "rc %s: %.200s", gw_lua_rc_name(err.rc),
                 err.msg);
        return buf;
    }

    v = lua_tostring(gw_lua_state(s), -1);
    snprintf(buf, size, "%s", v != NULL ? v : "");
    lua_pop(gw_lua_state(s), 1);

    return buf;
}


static size_t
collect(gw_lua_t *s)
{
    int  i;

    /* LuaJIT's buffer for concatenations halves at each full cycle */
    for (i = 0; i < 16; i++) {
        lua_gc(gw_lua_state(s), LUA_GCCOLLECT, 0);
    }

    return gw_lua_mem(s);
}


/* a C function that holds the guard for 400 ms of work */

static int
guarded_work(lua_State *L)
{
    struct timespec  a, b;

    gw_lua_guard_enter();

    clock_gettime(CLOCK_MONOTONIC, &a);

    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000
             + (b.tv_nsec - a.tv_nsec) / 1000000 < 400);

    guarded_done = 1;

    gw_lua_guard_leave();

    guarded_done = 2;

    return 0;
}


/* a C function calling Lua back through gw_lua_call() (nested) */

static int
nested_call(lua_State *L)
{
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = lua_touserdata(L, lua_upvalueindex(1));

    lua_getglobal(L, "type");
    lua_pushnil(L);

    if (gw_lua_call(s, 1, 1, &err) != GW_LUA_OK) {
        return luaL_error(L, "nested: %s", err.msg);
    }

    return 1;
}


/* the corpus that must fail as an error with the state usable */

static const struct {
    const char  *text;
    const char  *what;
} errors[] = {
    { "os.execute('true')", "os.execute is absent" },
    { "io.open('/etc/passwd')", "io is absent" },
    { "require('ffi')", "require('ffi') untrusted" },
    { "require('os')", "require of a module not vetted" },
    { "require('jit')", "require('jit')" },
    { "debug.sethook()", "debug is absent" },
    { "setfenv(1, {})", "setfenv is absent" },
    { "getfenv(1)", "getfenv is absent" },
    { "newproxy(true)", "newproxy is absent" },
    { "loadstring('return 1')", "loadstring is absent" },
    { "dofile('/etc/passwd')", "dofile is absent" },
    { "loadfile('/etc/passwd')", "loadfile is absent" },
    { "string.dump(function () end)", "string.dump is absent" },
    { "('x'):dump()", "string methods have no dump" },
    { "collectgarbage('stop')", "collectgarbage other than count" },
    { "collectgarbage()", "collectgarbage() (collect)" },
    { "coroutine.yield(1)", "yield outside a coroutine" },
    { "package.loaded.os.exit()", "package is absent" },
    { "jit.off()", "jit is absent" },
    { "print('x')", "print is absent" },
    { "local function f() return 1 + f() end return f()",
      "deep recursion" },
    { "local function f(s) return (s:gsub('.', f)) end f('ab')",
      "recursion through string.gsub" },
    { "local mt = {} mt.__index = function (t, k)"
      " return string.gsub('a', 'a', setmetatable({}, mt)) end"
      " string.gsub('a', 'a', setmetatable({}, mt))",
      "recursion through a gsub table's __index" },
    { "local function f() return coroutine.wrap(f)() end f()",
      "nested coroutine.wrap" },
    { "local function f() local ok, e = coroutine.resume("
      "coroutine.create(f)) error(e, 0) end f()",
      "nested coroutine.resume" },
    { "local function f() return select(2, pcall(string.gsub, 'a', 'a', f))"
      " end error(f())", "recursion through C under pcall" },
    { "return os.date('*t', 1e300)", "os.date past time_t" },
    { "return os.date('%Y', 0/0)", "os.date of NaN" },
    { "error({})", "a table as the error value" },
    { "local f = load('\\27LJ\\2\\0') assert(f, 'refused') return f()",
      "load() of a bytecode header" }
};


static void
test_errors(void)
{
    char           buf[256];
    size_t         i, base, mem;
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_budget, &err);
    base = collect(s);

    for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        is_int(run(s, errors[i].text, &err), GW_LUA_ERROR, "%s: error (%s)",
               errors[i].what, err.msg);
        is_str(eval(s, "return 'up'", buf, sizeof(buf)), "up",
               "%s: state usable", errors[i].what);
    }

    mem = collect(s);
    ok(mem < base + SLACK, "memory back near its start (%zu, %zu)", base,
       mem);

    is_int(run(s, "local s = 'x' while true do s = s .. s end", &err),
           GW_LUA_MEMORY, "s = s .. s: memory (%s)", err.msg);
    is_int(run(s, "local s = string.rep('x', 2^30)", &err), GW_LUA_MEMORY,
           "string.rep of 1 GiB: memory");
    is_int(run(s, "local t = {} while true do"
                  " t[#t + 1] = coroutine.create(function () end) end",
               &err),
           GW_LUA_MEMORY, "coroutine bomb: memory (%s)", err.msg);
    is_int(run(s, "local t = {} for i = 1, 20000 do t[i] = {i} end", &err),
           GW_LUA_OK, "the next call has the memory back (%s)", err.msg);
    is_int(run(s, "local t = {} for i = 1, 1e9 do t[i] = i end", &err),
           GW_LUA_MEMORY, "table bomb: memory");
    ok(gw_lua_mem(s) <= gw_lua_mem_max(s), "never past the cap");

    mem = collect(s);
    ok(mem < base + SLACK, "memory back after the bombs (%zu, %zu)", base,
       mem);
    is_str(eval(s, "return ('ab'):rep(2)", buf, sizeof(buf)), "abab",
           "usable after the bombs");

    is_int(run(s, "while true do end", &err), GW_LUA_BUDGET,
           "while true do end untrusted: budget");
    is_str(err.msg, "budget exhausted", "its message");
    is_int(run(s, "while true do pcall(function () while true do end end)"
                  " end", &err),
           GW_LUA_BUDGET, "pcall cannot swallow the budget");
    is_int(run(s, "xpcall(function () while true do end end,"
                  " function () while true do end end)", &err),
           GW_LUA_BUDGET, "nor can an xpcall handler");
    is_int(run(s, "for i = 1, 1000 do pcall(string.rep, 'x', 2^30) end",
               &err),
           GW_LUA_OK, "caught memory errors: the state goes on");
    is_str(eval(s, "return 'up'", buf, sizeof(buf)), "up",
           "usable after the budget");

    ok(!gw_lua_dead(s), "never stopped");

    gw_lua_env(s);
    lua_pushlightuserdata(gw_lua_state(s), s);
    lua_pushcclosure(gw_lua_state(s), nested_call, 1);
    lua_setfield(gw_lua_state(s), -2, "nested");
    lua_pop(gw_lua_state(s), 1);
    is_str(eval(s, "return nested()", buf, sizeof(buf)), "nil",
           "a nested call runs");
    is_int(run(s, "while true do nested() end", &err), GW_LUA_BUDGET,
           "nested calls in a loop do not renew the budget (%s)", err.msg);

    gw_lua_free(s);
}


static void
test_env(void)
{
    char           buf[256];
    gw_lua_t      *s, *s2;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);
    s2 = gw_lua_new(&conf_untrusted, &err);

    is_str(eval(s, "return tostring(getmetatable(''))", buf, sizeof(buf)),
           "false", "getmetatable('') is false");
    is_int(run(s, "setmetatable('', {})", &err), GW_LUA_ERROR,
           "setmetatable on a string refused");
    is_str(eval(s, "rawset(string, 'rep', function () return 'evil' end)"
                   " return ('a'):rep(3) .. string.rep('b', 1)",
                buf, sizeof(buf)),
           "aaaevil", "a changed string table is a copy: methods intact");
    is_str(eval(s2, "return string.rep('b', 2)", buf, sizeof(buf)), "bb",
           "other state unaffected");
    is_str(eval(s, "return load('return (\"c\"):rep(2)')()", buf,
                sizeof(buf)),
           "cc", "load() of text runs");
    is_str(eval(s, "x_global = 5 return load('return x_global')()", buf,
                sizeof(buf)),
           "5", "load() shares the environment");
    is_str(eval(s, "local f, e = load('\\27LJ') return tostring(f) .. e",
                buf, sizeof(buf)),
           "nilload: bytecode is refused", "load() refuses bytecode");
    is_str(eval(s, "return type(collectgarbage('count'))", buf, sizeof(buf)),
           "number", "collectgarbage('count')");
    is_str(eval(s, "return type(os.time()) .. type(os.clock()) .."
                   " os.date('!%Y', 0) .. os.date('!*t', 86400).day",
                buf, sizeof(buf)),
           "numbernumber19702", "os.time, os.clock, os.date");
    is_str(eval(s, "return tostring(os.time({year = 2000, month = 1,"
                   " day = 1}) > 0)", buf, sizeof(buf)),
           "true", "os.time(table)");
    is_str(eval(s, "return tostring(os.getenv) .. tostring(os.remove)"
                   " .. tostring(io) .. tostring(debug)", buf, sizeof(buf)),
           "nilnilnilnil", "the rest of os, io, debug");
    is_str(eval(s, "return type(require('json').encode)", buf, sizeof(buf)),
           "function", "require('json')");
    is_str(eval(s, "return tostring(getfenv or _G.getfenv or setfenv)",
                buf, sizeof(buf)),
           "nil", "getfenv, setfenv unreachable");
    is_str(eval(s, "local ok, e = xpcall(error, function (m)"
                   " return 'h:' .. m end, 'boom', 0) return e",
                buf, sizeof(buf)),
           "h:boom", "xpcall with a handler and arguments");
    is_str(eval(s, "return select('#', xpcall(function () return 1, 2 end,"
                   " print))", buf, sizeof(buf)),
           "3", "xpcall returns true and the results");
    is_str(eval(s, "return bit.band(7, 3) .. math.floor(2.5)"
                   " .. table.concat({1, 2}, ',')", buf, sizeof(buf)),
           "321,2", "bit, math, table");
    is_str(eval(s, "local co = coroutine.create(function (a)"
                   " local b = coroutine.yield(a + 1) return b * 2 end)"
                   " local _, x = coroutine.resume(co, 1)"
                   " local _, y = coroutine.resume(co, 10)"
                   " return x .. ',' .. y", buf, sizeof(buf)),
           "2,20", "coroutines");
    is_int(gw_lua_load(s, "=b", "\033LJ\002\000", 5, &err), GW_LUA_ERROR,
           "gw_lua_load refuses a bytecode chunk");
    is_int(run(s, "return (", &err), GW_LUA_ERROR, "a syntax error");

    lua_pushcfunction(gw_lua_state(s), guarded_work);
    lua_setglobal(gw_lua_state(s), "unused");
    gw_lua_env(s);
    lua_pushcfunction(gw_lua_state(s), guarded_work);
    lua_setfield(gw_lua_state(s), -2, "guarded_work");
    lua_pop(gw_lua_state(s), 1);
    is_str(eval(s, "return type(guarded_work)", buf, sizeof(buf)),
           "function", "gw_lua_env() extends the environment");

    gw_lua_free(s);
    gw_lua_free(s2);

    s = gw_lua_new(&conf_trusted, &err);
    is_int(run(s, "return require('ffi')", &err), GW_LUA_ERROR,
           "require('ffi') trusted without conf.ffi");
    gw_lua_free(s);

    conf_trusted.ffi = 1;
    s = gw_lua_new(&conf_trusted, &err);
    is_int(run(s, "return require('ffi').sizeof('int')", &err), GW_LUA_OK,
           "require('ffi') trusted with conf.ffi");
    gw_lua_free(s);
    conf_trusted.ffi = 0;
}


static int64_t
mono_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static void
test_watchdog(void)
{
    char           buf[256];
    size_t         all;
    int64_t        t0;
    uint64_t       ns, wall;
    gw_lua_t      *s;
    lua_State     *L;
    gw_lua_rc_e    rc;
    gw_lua_err_t   err;

    all = gw_lua_mem_total();

    s = gw_lua_new(&conf_trusted, &err);
    t0 = mono_ns();
    is_int(run(s, "local i = 0 while true do i = i + 1 end", &err),
           GW_LUA_TIMEOUT, "compiled while true do end: timeout (%s)",
           err.msg);
    ok(gw_lua_dead(s), "the state is DEAD");
    ns = gw_lua_elapsed(s);
    wall = (uint64_t) (mono_ns() - t0);
    ok(ns >= 200 * 1000000ULL,
       "the stopped call ran its time limit at least (%llu ns)",
       (unsigned long long) ns);
    /* the call's clock (the time-stamp counter where the kernel's is)
     * agrees with CLOCK_MONOTONIC, which timed more than the call */
    ok(ns <= wall + wall / 1000 + 1000000,
       "its time is within what CLOCK_MONOTONIC saw around it "
       "(%llu <= %llu ns)", (unsigned long long) ns,
       (unsigned long long) wall);
    is_int(run(s, "return 1", &err), GW_LUA_DEAD, "later calls: dead");
    ok(gw_lua_elapsed(s) == 0, "a call refused as dead took no time");
    L = gw_lua_state(s);
    (void) L;
    is_int(gw_lua_call(s, 0, 0, &err), GW_LUA_DEAD, "gw_lua_call: dead");
    gw_lua_free(s);
    is_int(gw_lua_mem_total(), all, "its blocks freed one by one");

    s = gw_lua_new(&conf_trusted, &err);
    ok(s != NULL, "the next gw_lua_new works");
    is_str(eval(s, "return 'up'", buf, sizeof(buf)), "up", "and runs");
    gw_lua_free(s);

    s = gw_lua_new(&conf_untrusted, &err);
    is_int(run(s, "return string.find(string.rep('a', 5000),"
                  " string.rep('a*', 30) .. 'b')", &err),
           GW_LUA_TIMEOUT, "a pattern that spins in C: timeout");
    gw_lua_free(s);
    is_int(gw_lua_mem_total(), all, "freed");

    /* raising errors costs: this one ends by the budget or by the
     * watchdog (maybe while LuaJIT unwinds), either way as a value */
    s = gw_lua_new(&conf_untrusted, &err);
    rc = run(s, "while true do pcall(string.rep, 'x', 2^30) end", &err);
    ok(rc == GW_LUA_BUDGET || rc == GW_LUA_TIMEOUT,
       "a loop of caught memory errors: %s", gw_lua_rc_name(rc));
    gw_lua_free(s);
    s = gw_lua_new(&conf_untrusted, &err);
    is_int(run(s, "local ok, e = pcall(error, 'x') return e", &err),
           GW_LUA_OK, "errors are raised after it");
    gw_lua_free(s);

    s = gw_lua_new(&conf_untrusted, &err);
    gw_lua_env(s);
    lua_pushcfunction(gw_lua_state(s), guarded_work);
    lua_setfield(gw_lua_state(s), -2, "guarded_work");
    lua_pop(gw_lua_state(s), 1);
    guarded_done = 0;
    is_int(run(s, "guarded_work() while true do end", &err), GW_LUA_TIMEOUT,
           "the guard defers the stop");
    is_int(guarded_done, 1, "the stop came when the guard was left");
    gw_lua_free(s);

    s = gw_lua_new(&conf_untrusted, &err);
    lua_getglobal(gw_lua_state(s), "tostring");
    is_int(gw_lua_call(s, 0, 1, &err), GW_LUA_ERROR,
           "gw_lua_call error: %s", err.msg);
    is_int(lua_gettop(gw_lua_state(s)), 0, "nothing left on the stack");
    gw_lua_free(s);

    is_int(gw_lua_mem_total(), all, "no state holds memory");
}


/* a state made before fork() (the nginx master) used in the child */

static void
test_fork(void)
{
    int            status;
    pid_t          pid;
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_trusted, &err);

    pid = fork();

    if (pid == 0) {
        alarm(10);
        _exit(run(s, "local i = 0 while true do i = i + 1 end", &err)
              == GW_LUA_TIMEOUT ? 0 : 1);
    }

    ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
       && WEXITSTATUS(status) == 0,
       "a forked child gets its own watchdog: timeout there");
    is_int(run(s, "return 1", &err), GW_LUA_OK, "the parent's state is fine");

    gw_lua_free(s);
}


static void
test_resume(void)
{
    int            i;
    uint64_t       spent;
    gw_lua_t      *s;
    lua_State     *L, *co;
    gw_lua_rc_e    rc;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);
    L = gw_lua_state(s);

    rc = run(s, "co_f = function (n) for i = 1, 1e12 do"
                " n = n + coroutine.yield(i) end end", &err);
    is_int(rc, GW_LUA_OK, "defined");

    co = lua_newthread(L);
    gw_lua_env(s);
    lua_getfield(L, -1, "co_f");
    lua_remove(L, -2);
    lua_xmove(L, co, 1);
    lua_pushnumber(co, 1);

    spent = 0;
    rc = gw_lua_resume(s, co, 1, &spent, &err);
    is_int(rc, GW_LUA_YIELD, "first resume yields");
    is_int(lua_tointeger(co, -1), 1, "the yielded value");

    for (i = 0; i < 10000000 && rc == GW_LUA_YIELD; i++) {
        lua_settop(co, 0);
        lua_pushnumber(co, 1);
        rc = gw_lua_resume(s, co, 1, &spent, &err);
    }

    is_int(rc, GW_LUA_BUDGET, "the budget counts across resumes");
    lua_pop(L, 1);

    /* a coroutine that ran out of memory holds its stack until dropped */
    rc = run(s, "co_bomb = function () local t = {} while true do"
                " t[#t + 1] = coroutine.create(type) end end", &err);
    co = lua_newthread(L);
    gw_lua_env(s);
    lua_getfield(L, -1, "co_bomb");
    lua_remove(L, -2);
    lua_xmove(L, co, 1);
    is_int(gw_lua_resume(s, co, 0, NULL, &err), GW_LUA_MEMORY,
           "a bomb in a coroutine: memory");
    lua_pop(L, 1);
    is_int(run(s, "local t = {} for i = 1, 20000 do t[i] = {i} end", &err),
           GW_LUA_OK, "once the coroutine is dropped, the next call has"
           " the memory back (%s)", err.msg);

    gw_lua_free(s);
}


/* the bytes a state ever allocated: they grow, and a collection or
 * the free of the string does not take them back */

static void
test_allocated(void)
{
    uint64_t       a0, a1, a2;
    gw_lua_t      *s;
    lua_State     *L;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);
    L = gw_lua_state(s);

    a0 = gw_lua_mem_allocated(s);
    ok(a0 >= gw_lua_mem(s), "a new state: allocated %llu >= held %zu",
       (unsigned long long) a0, gw_lua_mem(s));

    is_int(run(s, "big = string.rep('x', 1048576)", &err), GW_LUA_OK,
           "a MiB string made");
    a1 = gw_lua_mem_allocated(s);
    ok(a1 - a0 >= 1048576, "allocated grew by at least the string (%llu)",
       (unsigned long long) (a1 - a0));

    is_int(run(s, "big = nil", &err), GW_LUA_OK, "the string dropped");
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    a2 = gw_lua_mem_allocated(s);
    ok(a2 >= a1, "a collection does not decrease it (%llu, %llu)",
       (unsigned long long) a1, (unsigned long long) a2);
    ok(gw_lua_mem(s) < a1 - a0, "while the memory held went back (%zu)",
       gw_lua_mem(s));

    is_int(run(s, "local s = string.rep('y', 64 * 1048576)", &err),
           GW_LUA_MEMORY, "a refused allocation");
    ok(gw_lua_mem_allocated(s) >= a2
       && gw_lua_mem_allocated(s) - a2 < 64 * 1048576,
       "is not counted (%llu)",
       (unsigned long long) (gw_lua_mem_allocated(s) - a2));

    gw_lua_free(s);
}


int
main(void)
{
    char           buf[64];
    gw_lua_t      *s;
    gw_lua_err_t   err;

    s = gw_lua_new(&conf_untrusted, &err);
    ok(s != NULL, "gw_lua_new");
    is_str(eval(s, "return 1 + 1", buf, sizeof(buf)), "2", "runs code");
    ok(gw_lua_mem(s) > 0 && gw_lua_mem(s) < 1024 * 1024,
       "a state holds little (%zu)", gw_lua_mem(s));
    is_str(gw_lua_rc_name(GW_LUA_TIMEOUT), "timeout", "rc names");
    gw_lua_free(s);
    gw_lua_free(NULL);

    test_errors();
    test_env();
    test_watchdog();
    test_fork();
    test_resume();
    test_allocated();

    return done_testing();
}
