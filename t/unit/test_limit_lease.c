
/*
 * Copyright (C) Tollgate
 *
 * Leases of a global quota (lib/limit/gw_limit_lease.c): a lease of one
 * is exactly gw_limit_decide()'s quota decision; no window ever grants
 * more than the quota, whatever the sizes asked; leases shrink to one as
 * the window runs out; give-backs lower the count of the window they were
 * taken in.  Then the Redis script against the C code (a private
 * redis-server on a unix socket; skipped when it is not installed): every
 * answer, for random leases and give-backs on several keys at once, is
 * what the C code computes at the time the script read from Redis.
 */


#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "gw_limit_lease.h"
#include "tap.h"
#include "redis_server.h"


#define NKEYS   6
#define ROUNDS  2000


static void
test_math(void)
{
    int                 i, bad, over, shrunk;
    double              now, w, granted[64], base;
    gw_limit_rule_t     rule;
    gw_limit_state_t    st, next, n2;
    gw_limit_lease_t    ls;
    gw_limit_result_t   res;

    srand(7);

    /* a lease of one is the quota's own decision */

    bad = 0;

    for (i = 0; i < 20000; i++) {
        memset(&rule, 0, sizeof(rule));
        rule.kind = GW_LIMIT_QUOTA;
        rule.count = 1 + rand() % 50;
        rule.period = (1 + rand() % 3) * 1e6;

        now = 1.7e15 + rand() % 10000000;
        st.a = floor(now / rule.period) - rand() % 3;
        st.b = rand() % 60;
        st.c = rand() % 60;

        gw_limit_decide(&rule, &st, now, &res, &next);
        gw_limit_lease_take(&rule, &st, now, 1, 1e6, &ls, &n2);

        if ((ls.granted >= 1) != res.admit
            || (res.admit && (ls.remaining != res.remaining
                              || memcmp(&next, &n2, sizeof(next)) != 0))
            || (!res.admit && ls.retry_after != res.retry_after))
        {
            bad++;
        }
    }

    is_int(bad, 0, "a lease of one admits as gw_limit_decide() does");

    /* no window grants more than the quota, whatever is asked */

    memset(&rule, 0, sizeof(rule));
    rule.kind = GW_LIMIT_QUOTA;
    rule.count = 1000;
    rule.period = 2e6;
    w = rule.period;

    memset(&st, 0, sizeof(st));
    memset(granted, 0, sizeof(granted));
    base = floor(1.7e15 / w);
    over = 0;
    shrunk = 1;

    for (now = base * w; now < (base + 40) * w; now += 50 + rand() % 400) {
        gw_limit_lease_take(&rule, &st, now, 1 + rand() % 40, 1e6, &ls,
                            &next);

        if (ls.granted >= 1) {
            granted[(int) (ls.window - base)] += ls.granted;
            st = next;

            if (ls.remaining < 2 && ls.granted > 1) {
                shrunk = 0;
            }

            if (ls.life > ls.reset || ls.life > 1e6) {
                over++;
            }
        }
    }

    for (i = 0; i < 40; i++) {
        if (granted[i] > rule.count) {
            over++;
        }
    }

    is_int(over, 0, "no window grants more than the quota, no lease "
           "outlives its window or its TTL");
    ok(granted[5] >= 990 && granted[20] >= 990, "and a busy window grants "
       "nearly all of it (%.0f, %.0f)", granted[5], granted[20]);
    ok(shrunk, "with little left, leases shrink to one");

    /* sizes: half of what is left, the caller's cap */

    memset(&st, 0, sizeof(st));
    now = base * w + 1000;
    gw_limit_lease_take(&rule, &st, now, 5000, 1e6, &ls, &next);
    is_int(ls.granted, 500, "at most half of what is left (asked 5000)");

    st.a = base;
    st.b = 990;
    gw_limit_lease_take(&rule, &st, now, 8, 1e6, &ls, &next);
    is_int(ls.granted, 5, "10 left: a lease of 5");

    now = base * w + w - 5000;
    st.b = 100;
    gw_limit_lease_take(&rule, &st, now, 8, 1e6, &ls, &next);
    ok(ls.granted == 1 && ls.life == 5000, "5 ms before the window ends: "
       "one, for 5 ms");

    is_int(gw_limit_lease_max(1000, 100, 2), 5, "1%% of 1000 over two "
           "gateways: 5");
    is_int(gw_limit_lease_max(50, 100, 1), 1, "at least one");

    /* give-backs */

    st.a = base;
    st.b = 10;
    st.c = 7;
    ok(gw_limit_lease_give(&st, base, 4, &next) && next.b == 6
       && next.c == 7, "a give-back lowers the current window's count");
    ok(gw_limit_lease_give(&st, base - 1, 9, &next) && next.b == 10
       && next.c == 0, "or the previous one's, never below 0");
    ok(!gw_limit_lease_give(&st, base - 2, 3, &next)
       && memcmp(&next, &st, sizeof(st)) == 0,
       "an older window is left alone");
}


static void
test_script(redisContext *c)
{
    int                 i, j, k, n, bad, all, granted, refused, pick[3];
    char                keys[NKEYS][32], args[3][6][32];
    const char         *argv[3 + 3 + 18];
    size_t              argvlen[3 + 3 + 18];
    double              now, got[6], want[6], nums[6], give[NKEYS];
    double              gwin[NKEYS];
    redisReply         *reply;
    gw_limit_rule_t     rules[NKEYS];
    gw_limit_state_t    states[NKEYS], next[3], tmp;
    gw_limit_lease_t    ls[3];

    srand(20261123);

    for (i = 0; i < NKEYS; i++) {
        memset(&rules[i], 0, sizeof(gw_limit_rule_t));
        rules[i].kind = GW_LIMIT_QUOTA;
        rules[i].count = 20 + rand() % 100;
        rules[i].period = (1 + rand() % 2) * 1e6;
        memset(&states[i], 0, sizeof(gw_limit_state_t));
        give[i] = 0;
        gwin[i] = 0;
        snprintf(keys[i], sizeof(keys[i]), "gw:limit:l%d:q:k", i);
    }

    bad = 0;
    granted = 0;
    refused = 0;

    for (i = 0; i < ROUNDS && bad < 5; i++) {

        n = 1 + rand() % 3;

        for (j = 0; j < n; j++) {
            do {
                pick[j] = rand() % NKEYS;
                for (k = 0; k < j && pick[k] != pick[j]; k++) { /* void */ }
            } while (k < j);
        }

        argv[0] = "EVAL";
        argvlen[0] = 4;
        argv[1] = gw_limit_lease_script;
        argvlen[1] = strlen(gw_limit_lease_script);
        argv[2] = n == 1 ? "1" : n == 2 ? "2" : "3";
        argvlen[2] = 1;

        for (j = 0; j < n; j++) {
            argv[3 + j] = keys[pick[j]];
            argvlen[3 + j] = strlen(keys[pick[j]]);

            nums[0] = rules[pick[j]].count;
            nums[1] = rules[pick[j]].period;
            nums[2] = rand() % 5 == 0 ? 0 : 1 + rand() % 12;
            nums[3] = 200000 + rand() % 800000;
            nums[4] = give[pick[j]];
            nums[5] = gwin[pick[j]];
            give[pick[j]] = 0;

            for (k = 0; k < 6; k++) {
                argv[3 + n + j * 6 + k] = args[j][k];
                argvlen[3 + n + j * 6 + k] =
                    snprintf(args[j][k], sizeof(args[j][k]), "%.17g",
                             nums[k]);
            }
        }

        reply = redisCommandArgv(c, 3 + n + n * 6, argv, argvlen);

        if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
            || reply->elements != (size_t) (1 + n * 6))
        {
            ok(0, "round %d: the script answers an array (%s)", i,
               reply != NULL && reply->type == REDIS_REPLY_ERROR
               ? reply->str : "?");
            bad++;
            freeReplyObject(reply);
            continue;
        }

        now = (double) reply->element[0]->integer;
        all = 1;

        /* the give-backs first, then the takes */

        for (j = 0; j < n; j++) {
            k = pick[j];

            if (gw_limit_lease_give(&states[k], strtod(args[j][5], NULL),
                                    strtod(args[j][4], NULL), &tmp))
            {
                states[k] = tmp;
            }
        }

        for (j = 0; j < n; j++) {
            k = pick[j];

            memset(&ls[j], 0, sizeof(gw_limit_lease_t));

            if (strtod(args[j][2], NULL) >= 1) {
                gw_limit_lease_take(&rules[k], &states[k], now,
                                    strtod(args[j][2], NULL),
                                    strtod(args[j][3], NULL), &ls[j],
                                    &next[j]);
                if (ls[j].granted < 1) {
                    all = 0;
                }

            } else {
                ls[j].reset = 0;
            }

            want[0] = ls[j].granted;
            want[1] = ls[j].remaining;
            want[2] = strtod(args[j][2], NULL) >= 1 ? ceil(ls[j].reset) : 0;
            want[3] = ceil(ls[j].retry_after);
            want[4] = floor(ls[j].life);
            want[5] = strtod(args[j][2], NULL) >= 1 ? ls[j].window : 0;

            for (k = 0; k < 6; k++) {
                got[k] = (double) reply->element[1 + j * 6 + k]->integer;
            }

            if (memcmp(got, want, sizeof(got)) != 0) {
                diag("round %d key %d at %.0f: script %.0f %.0f %.0f %.0f "
                     "%.0f %.0f, C %.0f %.0f %.0f %.0f %.0f %.0f", i,
                     pick[j], now, got[0], got[1], got[2], got[3], got[4],
                     got[5], want[0], want[1], want[2], want[3], want[4],
                     want[5]);
                bad++;
            }
        }

        freeReplyObject(reply);

        if (all) {
            for (j = 0; j < n; j++) {
                k = pick[j];

                if (ls[j].granted >= 1) {
                    states[k] = next[j];
                    granted++;

                    /* now and then some of it comes back */
                    if (ls[j].granted > 1 && rand() % 3 == 0) {
                        give[k] = 1 + rand() % (int) (ls[j].granted - 1);
                        gwin[k] = ls[j].window;
                    }
                }
            }

        } else {
            refused++;
        }

        if (i % 250 == 0) {
            usleep(20000 + rand() % 300000);
        }
    }

    is_int(bad, 0, "%d runs: the lease script and the C code agree "
           "exactly", i);
    ok(granted > 50 && refused > 50, "leases granted and refused (%d, "
       "%d)", granted, refused);
}


int
main(void)
{
    redisContext  *c;

    test_math();

    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        skip(1, "redis-server is not installed");
        return done_testing();
    }

    c = redis_start();
    if (c == NULL) {
        ok(0, "redis-server starts");
        redis_stop();
        return done_testing();
    }

    test_script(c);

    redisFree(c);
    redis_stop();

    return done_testing();
}
