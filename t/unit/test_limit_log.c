
/*
 * Copyright (C) Tollgate
 *
 * The exact quota's sliding log (lib/limit/gw_limit_log.c): the N-th
 * admitted and the N+1-th refused, the half-open window (an admission at
 * t counts at t + W - 1 microsecond, not at t + W), retry and reset
 * times that hold, a ring that wraps, a clock stepping back, a count
 * changed by a plan, giving an admission back; then the measure issue 13
 * asked for: keys starting at many offsets into a window and arriving at
 * random, every span of one window holds at most N admissions with the
 * log, while the sliding-window counter lets about 2N - 1 through at an
 * offset.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_limit_log.h"
#include "tap.h"


#define SEC   1000000.0
#define T0    1795000000.0 * SEC        /* a time in 2026 */
#define MAXN  64


static gw_limit_rule_t
exact(double count, double window)
{
    gw_limit_rule_t  r;

    memset(&r, 0, sizeof(r));
    r.kind = GW_LIMIT_LOG;
    r.count = count;
    r.period = window;

    return r;
}


static void
log_init(gw_limit_log_t *log, double *slots, const gw_limit_rule_t *r)
{
    memset(log, 0, sizeof(gw_limit_log_t));
    log->t = slots;
    log->cap = gw_limit_log_cap(r);
}


/* one request: decided, and committed when admitted; returns admit */

static int
take(const gw_limit_rule_t *r, gw_limit_log_t *log, double now,
    gw_limit_result_t *res)
{
    gw_limit_log_decide(r, log, now, res);

    if (res->admit) {
        gw_limit_log_commit(log, now);
    }

    return res->admit;
}


static void
test_bounds(void)
{
    int                i, bad;
    double             slots[MAXN];
    gw_limit_log_t     log;
    gw_limit_rule_t    r;
    gw_limit_result_t  res;

    r = exact(5, 10 * SEC);
    log_init(&log, slots, &r);

    bad = 0;

    for (i = 0; i < 5; i++) {
        if (!take(&r, &log, T0 + i * SEC, &res) || res.remaining != 4 - i
            || res.reset != 10 * SEC - i * SEC)
        {
            bad++;
        }
    }

    is_int(bad, 0, "5/10s: the first 5, one a second, admitted; remaining "
           "4..0, reset until the first leaves");

    ok(!take(&r, &log, T0 + 5 * SEC, &res), "the 6th is refused");
    ok(res.retry_after == 5 * SEC && res.reset == 5 * SEC
       && res.remaining == 0, "retry when the first leaves (5 s)");
    ok(!take(&r, &log, T0 + 10 * SEC - 1, &res) && res.retry_after == 1,
       "1 us before the first is W old: still refused, retry 1 us");
    ok(take(&r, &log, T0 + 10 * SEC, &res) && res.remaining == 0,
       "at exactly t + W the first no longer counts (half-open window)");
    ok(!take(&r, &log, T0 + 10 * SEC, &res)
       && res.retry_after == 1 * SEC, "and the next waits for the second");
    ok(log.n == 5 && log.head == 1, "the ring wrapped: 5 times, head 1");

    /* a refused request changes nothing */

    memcpy(&slots[MAXN / 2], slots, 5 * sizeof(double));
    take(&r, &log, T0 + 10.5 * SEC, &res);
    ok(!res.admit && memcmp(&slots[MAXN / 2], slots, 5 * sizeof(double))
       == 0 && log.n == 5 && log.head == 1, "a refusal leaves the log");

    /* all of them old: a fresh log again */

    ok(res.expires == T0 + 20 * SEC, "expires W after the newest");
    ok(take(&r, &log, T0 + 20 * SEC, &res) && res.remaining == 4
       && res.reset == 10 * SEC, "W after the newest: the whole quota");

    /* unconsumed: one more, and nothing to come back if it was alone */

    gw_limit_log_decide(&r, &log, T0 + 20 * SEC, &res);
    gw_limit_log_unconsumed(&r, &res);
    ok(res.remaining == 4 && res.reset == 10 * SEC,
       "not committed: one more left, the older admission still held");
    log_init(&log, slots, &r);
    gw_limit_log_decide(&r, &log, T0, &res);
    gw_limit_log_unconsumed(&r, &res);
    ok(res.remaining == 5 && res.reset == 0,
       "not committed on a fresh log: whole, nothing to wait for");
}


static void
test_edges(void)
{
    int                i;
    double             slots[MAXN], more[MAXN];
    gw_limit_log_t     log, big;
    gw_limit_rule_t    r, r2;
    gw_limit_result_t  res;

    /* a clock stepping back is a clock standing still */

    r = exact(3, 10 * SEC);
    log_init(&log, slots, &r);

    take(&r, &log, T0 + 5 * SEC, &res);
    ok(take(&r, &log, T0 + 2 * SEC, &res) && slots[1] == T0 + 5 * SEC,
       "an earlier time is stored as the newest one");
    take(&r, &log, T0 + 5 * SEC, &res);
    ok(!take(&r, &log, T0 + 14 * SEC, &res),
       "and counts until newest + W");
    ok(take(&r, &log, T0 + 15 * SEC, &res), "not longer");

    /* a fractional share: at least one */

    r2 = exact(0.5, 10 * SEC);
    ok(gw_limit_log_cap(&r2) == 1, "a share of 0.5 holds one");
    r2 = exact(2.5, 10 * SEC);
    ok(gw_limit_log_cap(&r2) == 2, "a share of 2.5 holds two");

    /* a plan changes the count: the newest times move to a new ring */

    r = exact(4, 10 * SEC);
    log_init(&log, slots, &r);

    for (i = 0; i < 6; i++) {
        take(&r, &log, T0 + i * 3 * SEC, &res);     /* wraps */
    }

    r2 = exact(2, 10 * SEC);
    log_init(&big, more, &r2);
    gw_limit_log_move(&big, &log);
    ok(big.n == 2 && more[0] == T0 + 12 * SEC && more[1] == T0 + 15 * SEC,
       "to a smaller count: the newest two kept");

    r2 = exact(8, 10 * SEC);
    log_init(&big, more, &r2);
    gw_limit_log_move(&big, &log);
    ok(big.n == 4 && more[0] == T0 + 6 * SEC && more[3] == T0 + 15 * SEC,
       "to a larger one: all four, oldest first");

    /* giving back: the oldest time not before the admission's */

    ok(gw_limit_log_remove(&big, T0 + 9 * SEC) == 0 && big.n == 3
       && more[1] == T0 + 12 * SEC && more[2] == T0 + 15 * SEC,
       "an admission given back is gone, the newer ones kept in order");
    ok(gw_limit_log_remove(&big, T0 + 16 * SEC) == -1 && big.n == 3,
       "nothing at or after a later time: nothing removed");
    ok(gw_limit_log_remove(&log, T0 + 15 * SEC) == 0 && log.n == 3
       && take(&r, &log, T0 + 15 * SEC, &res),
       "in a wrapped ring too, and its room is free again");
}


/*
 * The most admitted in a half-open span of length w of times t[0..n-1]
 * (sorted): two pointers.
 */

static int
max_in_span(const double *t, int n, double w)
{
    int  i, j, best;

    best = 0;
    j = 0;

    for (i = 0; i < n; i++) {
        while (t[i] - t[j] >= w) {
            j++;
        }

        if (i - j + 1 > best) {
            best = i - j + 1;
        }
    }

    return best;
}


static void
test_offsets(void)
{
    int                k, n, worst, most, counter, got;
    double            *times, now, slots[MAXN];
    gw_limit_log_t     log;
    gw_limit_rule_t    r, q;
    gw_limit_state_t   st, next;
    gw_limit_result_t  res;

    times = malloc(20000 * sizeof(double));
    if (times == NULL) {
        ok(0, "memory");
        return;
    }

    r = exact(10, 10 * SEC);
    q = r;
    q.kind = GW_LIMIT_QUOTA;
    worst = 0;
    counter = 0;
    srand(13);

    for (k = 0; k < 40; k++) {

        /* the exact log: a key starting k quarter seconds into a window,
           arrivals 1 to 600 ms apart for 100 s */

        log_init(&log, slots, &r);
        now = T0 + k * 0.25 * SEC;
        n = 0;

        while (now < T0 + 110 * SEC) {
            if (take(&r, &log, now, &res)) {
                times[n++] = now;
            }

            now += (1 + rand() % 600) * 1000.0;
        }

        most = max_in_span(times, n, 10 * SEC);
        if (most > worst) {
            worst = most;
        }

        /* the counter: nothing for 8.5 s, a burst, then hammering */

        memset(&st, 0, sizeof(st));
        now = T0 + k * 0.25 * SEC + 8.5 * SEC;
        n = 0;

        while (now < T0 + 40 * SEC) {
            gw_limit_decide(&q, &st, now, &res, &next);

            if (res.admit) {
                st = next;
                times[n++] = now;
            }

            now += 10000;
        }

        got = max_in_span(times, n, 10 * SEC);
        if (got > counter) {
            counter = got;
        }
    }

    ok(worst == 10, "exact 10/10s, 40 keys at offsets a quarter second "
       "apart, random arrivals: the most in any 10 s span is %d", worst);
    ok(counter > 10 && counter <= 19, "the counter at those offsets: up to "
       "%d in a 10 s span (2N - 1 = 19 at most)", counter);
    diag("sliding-window counter, worst 10 s span over 40 offsets: %d of "
         "quota 10", counter);

    free(times);
}


int
main(void)
{
    test_bounds();
    test_edges();
    test_offsets();

    return done_testing();
}
