
/*
 * Copyright (C) Tollgate
 *
 * The clock that times the calls (gw_lua_int.h): the CPU's time-stamp
 * counter where the kernel keeps time with it itself (its clocksource is
 * "tsc": the kernel checked that the counter is invariant and the same on
 * every CPU), else CLOCK_MONOTONIC in nanoseconds.  Every call reads it
 * twice (its start, for the watchdog, and its end, for the plugin's
 * metrics): the counter is read in a third of the time the vDSO's
 * clock_gettime() takes.  Ticks become nanoseconds with the counter's
 * rate, measured against CLOCK_MONOTONIC over GW_LUA_CLOCK_MS once per
 * process, when its first state is made (an nginx worker inherits the
 * master's); a few parts per million off at most.
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gw_lua_int.h"


#define GW_LUA_CLOCK_MS  5


int        gw_lua_tsc;
uint64_t   gw_lua_tsc_mult;


#if (GW_LUA_HAVE_TSC)

/* 1 when the kernel's clocksource is the time-stamp counter */

static int
gw_lua_clock_tsc(void)
{
    int    ok;
    FILE  *f;
    char   name[32];

    f = fopen("/sys/devices/system/clocksource/clocksource0/"
              "current_clocksource", "r");
    if (f == NULL) {
        return 0;
    }

    ok = (fgets(name, sizeof(name), f) != NULL
          && strcmp(name, "tsc\n") == 0);

    (void) fclose(f);

    return ok;
}

#endif


void
gw_lua_clock_init(void)
{
#if (GW_LUA_HAVE_TSC)
    int64_t          ns0, ns1;
    uint64_t         t0, t1;
    struct timespec  ts;

    if (gw_lua_tsc || !gw_lua_clock_tsc()) {
        return;
    }

    ns0 = gw_lua_now_ns();
    t0 = __rdtsc();

    ts.tv_sec = 0;
    ts.tv_nsec = GW_LUA_CLOCK_MS * 1000000L;
    (void) nanosleep(&ts, NULL);

    ns1 = gw_lua_now_ns();
    t1 = __rdtsc();

    if (t1 <= t0 || ns1 <= ns0) {
        return;
    }

    /* nanoseconds per tick, times 2^32 */
    gw_lua_tsc_mult = (uint64_t) ((((unsigned __int128) (ns1 - ns0)) << 32)
                                  / (t1 - t0));
    gw_lua_tsc = (gw_lua_tsc_mult != 0);
#endif
}
