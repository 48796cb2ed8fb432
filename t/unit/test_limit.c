
/*
 * Copyright (C) Tollgate
 *
 * Rate-limit arithmetic: parsing of rates and quotas (and what is
 * refused), GCRA (burst + 1 at once, then one per interval, retry times,
 * delays, a rejected request costing nothing), the sliding-window counter
 * (no fixed window over the count under a flood, at least 99% of it
 * admitted, window edges, retry times that hold), policies and the share
 * of a node.  The Redis script is held to the same answers by the parity
 * test in test_limit_script.c.
 */


#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gw_limit.h"
#include "tap.h"


#define S(s)  (s), (sizeof(s) - 1)
#define SEC   1000000.0
#define T0    1795000000.0 * SEC        /* a time in 2026 */


static void
test_parse(void)
{
    size_t           i;
    const char      *err;
    gw_limit_rule_t  r;

    static const struct {
        const char  *text;
        int          kind;
        double       count;
        double       period;
    } good[] = {
        { "10r/s", GW_LIMIT_RATE, 10, 1 * SEC },
        { "600r/m", GW_LIMIT_RATE, 600, 60 * SEC },
        { "100000r/s", GW_LIMIT_RATE, 100000, 1 * SEC },
        { "1000/h", GW_LIMIT_QUOTA, 1000, 3600 * SEC },
        { "5/d", GW_LIMIT_QUOTA, 5, 86400 * SEC },
        { "300/10s", GW_LIMIT_QUOTA, 300, 10 * SEC },
        { "50/m", GW_LIMIT_QUOTA, 50, 60 * SEC },
        { "1/366d", GW_LIMIT_QUOTA, 1, 366 * 86400 * SEC },
        { "1000000000/s", GW_LIMIT_QUOTA, 1e9, 1 * SEC },
    };

    static const char  *bad[] = {
        "", "r/s", "0r/s", "-1r/s", "10", "10r", "10r/", "10r/h", "10r/ss",
        "10 r/s", "010r/s", "100001r/s", "6000001r/m", "10/", "10/x",
        "10/0s", "10/1y", "10/1hh", "10/367d", "1000000001/s", "0/h",
        "1e3/h", "10/-1s", "10/s ", " 10/s", "10/1.5h"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ok(gw_limit_parse(good[i].text, strlen(good[i].text), &r, &err)
           == 0 && r.kind == good[i].kind && r.count == good[i].count
           && r.period == good[i].period && r.burst == 0 && r.delay == 0,
           "parses \"%s\"", good[i].text);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        ok(gw_limit_parse(bad[i], strlen(bad[i]), &r, &err) == -1
           && err != NULL, "refuses \"%s\" (%s)", bad[i],
           err != NULL ? err : "no message");
    }

    ok(gw_limit_name_valid(S("api")), "name api");
    ok(gw_limit_name_valid(S("per-ip_1.v2")), "name with . _ -");
    ok(!gw_limit_name_valid(S("")), "empty name");
    ok(!gw_limit_name_valid(S("a\"b")), "a quote in a name");
    ok(!gw_limit_name_valid(S("a b")), "a space in a name");
    ok(!gw_limit_name_valid(S("abcdefghijabcdefghijabcdefghijabc")),
       "a 33-byte name");
}


static gw_limit_rule_t quota(double count, double window);


static gw_limit_rule_t
rate(double count, double period, double burst, double delay)
{
    gw_limit_rule_t  r;

    memset(&r, 0, sizeof(r));
    r.kind = GW_LIMIT_RATE;
    r.count = count;
    r.period = period;
    r.burst = burst;
    r.delay = delay;

    return r;
}


static void
test_gcra(void)
{
    int                i, admitted, delayed, bad;
    double             t;
    gw_limit_rule_t    r;
    gw_limit_state_t   st, next;
    gw_limit_result_t  res;

    /* 10r/s burst=20 nodelay: 21 at once, then one per 100 ms */

    r = rate(10, SEC, 20, 20);
    memset(&st, 0, sizeof(st));
    admitted = 0;
    bad = 0;

    for (i = 0; i < 30; i++) {
        gw_limit_decide(&r, &st, T0, &res, &next);

        if (res.admit) {
            if (res.remaining != 20 - admitted || res.delay != 0) {
                bad++;
            }

            admitted++;
            st = next;
        }
    }

    is_int(admitted, 21, "burst=20: 21 requests at once");
    is_int(bad, 0, "remaining counts down from 20 to 0, no delay");

    gw_limit_decide(&r, &st, T0, &res, &next);
    ok(!res.admit && fabs(res.retry_after - 0.1 * SEC) < 1,
       "the 22nd waits 100 ms (%.0f us)", res.retry_after);
    ok(fabs(res.reset - 2.1 * SEC) < 1, "whole again in 2.1 s (%.0f us)",
       res.reset);

    gw_limit_decide(&r, &st, T0 + 0.1 * SEC - 2, &res, &next);
    ok(!res.admit, "2 us early: refused");
    gw_limit_decide(&r, &st, T0 + 0.1 * SEC, &res, &next);
    ok(res.admit && res.remaining == 0, "on time: admitted, 0 left");

    /* a steady 10r/s is always admitted without burst */

    r = rate(10, SEC, 0, 0);
    memset(&st, 0, sizeof(st));
    bad = 0;

    for (i = 0; i < 1000; i++) {
        gw_limit_decide(&r, &st, T0 + i * 0.1 * SEC, &res, &next);

        if (!res.admit) {
            bad++;
            continue;
        }

        st = next;
    }

    is_int(bad, 0, "1000 requests exactly 100 ms apart: all admitted");

    /* 3r/s (T not a whole number of microseconds) over an hour of
       flooding, a request every millisecond: never more than 3 per
       second, and each admitted within a millisecond of its time */

    r = rate(3, SEC, 0, 0);
    memset(&st, 0, sizeof(st));
    admitted = 0;

    for (t = 0; t < 3600 * SEC; t += 1000) {
        gw_limit_decide(&r, &st, T0 + t, &res, &next);

        if (res.admit) {
            admitted++;
            st = next;
        }
    }

    ok(admitted >= 10768 && admitted <= 10801,
       "3r/s flooded for an hour: %d admitted (10800)", admitted);

    /* delay=2 burst=5: two excess at once, three more delayed */

    r = rate(10, SEC, 5, 2);
    memset(&st, 0, sizeof(st));
    admitted = 0;
    delayed = 0;

    for (i = 0; i < 10; i++) {
        gw_limit_decide(&r, &st, T0, &res, &next);

        if (res.admit) {
            admitted++;
            if (res.delay > 0) {
                delayed++;
                if (i == 5) {
                    ok(fabs(res.delay - 0.3 * SEC) < 1,
                       "the 6th is held 300 ms (%.0f us)", res.delay);
                }
            }

            st = next;
        }
    }

    is_int(admitted, 6, "delay=2 burst=5: 6 admitted");
    is_int(delayed, 3, "3 of them delayed");

    /* rejected requests cost nothing */

    r = rate(1, SEC, 0, 0);
    memset(&st, 0, sizeof(st));
    gw_limit_decide(&r, &st, T0, &res, &next);
    st = next;

    for (i = 0; i < 100; i++) {
        gw_limit_decide(&r, &st, T0 + i * 1000, &res, &next);
    }

    gw_limit_decide(&r, &st, T0 + SEC, &res, &next);
    ok(res.admit, "after 100 refusals, admitted again 1 s later");

    /* a request another limit refused takes nothing */

    r = rate(10, SEC, 4, 4);
    memset(&st, 0, sizeof(st));
    gw_limit_decide(&r, &st, T0, &res, &next);
    gw_limit_unconsumed(&r, &res);
    ok(res.admit && res.remaining == 5 && fabs(res.reset) < 1,
       "unconsumed rate: 5 left, whole now");

    r = quota(10, 60 * SEC);
    gw_limit_decide(&r, &st, T0, &res, &next);
    gw_limit_unconsumed(&r, &res);
    ok(res.admit && res.remaining == 10, "unconsumed quota: 10 left");

    r = rate(1, SEC, 0, 0);
    memset(&st, 0, sizeof(st));
    gw_limit_decide(&r, &st, T0, &res, &next);
    st = next;

    /* a state long past counts as fresh */

    gw_limit_decide(&r, &st, T0 + 3600 * SEC, &res, &next);
    ok(res.admit && res.remaining == 0 && res.expires == T0 + 3601 * SEC,
       "an old TAT is a fresh start");
}


static gw_limit_rule_t
quota(double count, double window)
{
    gw_limit_rule_t  r;

    memset(&r, 0, sizeof(r));
    r.kind = GW_LIMIT_QUOTA;
    r.count = count;
    r.period = window;

    return r;
}


static void
test_quota(void)
{
    int                i, bad, low, w;
    double             now, start, wait;
    int                per[12];
    gw_limit_rule_t    r;
    gw_limit_state_t   st, next;
    gw_limit_result_t  res;

    r = quota(100, 10 * SEC);
    memset(&st, 0, sizeof(st));
    memset(per, 0, sizeof(per));

    /* windows aligned to the epoch: start on one */
    start = floor(T0 / (10 * SEC)) * 10 * SEC;

    /* a flood, one request every millisecond, over 12 windows */

    for (now = start; now < start + 120 * SEC; now += 1000) {
        gw_limit_decide(&r, &st, now, &res, &next);

        if (res.admit) {
            per[(int) ((now - start) / (10 * SEC))]++;
            st = next;
        }
    }

    bad = 0;
    low = 0;

    for (w = 0; w < 12; w++) {
        if (per[w] > 100) {
            bad++;
        }

        if (w > 0 && per[w] < 99) {
            low++;
            diag("window %d: %d", w, per[w]);
        }
    }

    is_int(per[0], 100, "the first window admits its whole count");
    is_int(bad, 0, "no window admits more than 100");
    is_int(low, 0, "every later window admits at least 99");

    /* edges: the last microsecond of a window and the first of the next */

    memset(&st, 0, sizeof(st));
    r = quota(2, 10 * SEC);

    gw_limit_decide(&r, &st, start + 10 * SEC - 1, &res, &next);
    ok(res.admit && res.remaining == 1 && res.reset == 1,
       "last microsecond of a window: admitted, 1 left, resets in 1 us");
    st = next;
    gw_limit_decide(&r, &st, start + 10 * SEC - 1, &res, &next);
    st = next;
    gw_limit_decide(&r, &st, start + 10 * SEC - 1, &res, &next);
    ok(!res.admit, "third in the window: refused");

    gw_limit_decide(&r, &st, start + 10 * SEC, &res, &next);
    ok(!res.admit, "first microsecond of the next: the previous still "
       "weighs 2");
    wait = res.retry_after;
    ok(wait > 4.9 * SEC && wait <= 5 * SEC, "retry after %.0f us (5 s)",
       wait);
    gw_limit_decide(&r, &st, start + 10 * SEC + wait, &res, &next);
    ok(res.admit, "admitted once retry_after has passed");
    gw_limit_decide(&r, &st, start + 10 * SEC + wait - 2, &res, &next);
    ok(!res.admit, "refused just before");

    /* full current window: retry in the next one */

    memset(&st, 0, sizeof(st));
    r = quota(3, 60 * SEC);
    start = floor(T0 / (60 * SEC)) * 60 * SEC;

    for (i = 0; i < 3; i++) {
        gw_limit_decide(&r, &st, start + 1 * SEC, &res, &next);
        st = next;
    }

    gw_limit_decide(&r, &st, start + 1 * SEC, &res, &next);
    ok(!res.admit && fabs(res.retry_after - 79 * SEC) < 1,
       "a full window: retry in the next (%.0f us)", res.retry_after);
    gw_limit_decide(&r, &st, start + 1 * SEC + res.retry_after, &res,
                    &next);
    ok(res.admit, "admitted at that time");

    /* two windows later the state is fresh */

    gw_limit_decide(&r, &st, start + 180 * SEC, &res, &next);
    ok(res.admit && res.remaining == 2, "two windows on: fresh");
}


static void
test_policy_share(void)
{
    uint64_t         q, w;
    gw_limit_rule_t  r, s;

    r = rate(10, SEC, 20, 20);
    gw_limit_policy(&r, &q, &w);
    ok(q == 10 && w == 1, "10r/s: q=10 w=1");

    r = quota(1000, 3600 * SEC);
    gw_limit_policy(&r, &q, &w);
    ok(q == 1000 && w == 3600, "1000/h: q=1000 w=3600");

    r = rate(10, SEC, 20, 5);
    gw_limit_share(&r, 4, &s);
    ok(s.count == 2.5 && s.burst == 5 && s.delay == 1.25
       && s.period == SEC, "10r/s burst 20 on 4 nodes: 2.5r/s burst 5");

    gw_limit_policy(&s, &q, &w);
    ok(q == 5 && w == 2, "2.5r/s announced as q=5 w=2");

    r = rate(1, 60 * SEC, 3, 3);
    gw_limit_share(&r, 2, &s);
    gw_limit_policy(&s, &q, &w);
    ok(q == 1 && w == 120, "1r/m on 2 nodes: q=1 w=120");

    r = quota(1000, 3600 * SEC);
    gw_limit_share(&r, 3, &s);
    gw_limit_policy(&s, &q, &w);
    ok(q == 1000 && w == 10800, "1000/h on 3 nodes: q=1000 w=10800 (%llu "
       "%llu)", (unsigned long long) q, (unsigned long long) w);

    gw_limit_share(&r, 1, &s);
    ok(memcmp(&r, &s, sizeof(r)) == 0, "one node: the rule itself");
}


int
main(void)
{
    test_parse();
    test_gcra();
    test_quota();
    test_policy_share();

    return done_testing();
}
