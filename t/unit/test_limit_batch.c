
/*
 * Copyright (C) Tollgate
 *
 * The coalescing script (gw_limit_batch_script) against n calls of
 * gw_limit_decide(): a private redis-server (skipped when redis-server is
 * not installed) runs it for thousands of batches of 1 to 80 requests on
 * random rates and quotas, interleaved with single requests run by
 * gw_limit_script on the same keys.  Given the time the script read from
 * Redis' clock, a batch of n must answer exactly what n requests decided
 * one after the other by the C code at that instant answer: the same k
 * admitted (the first k), the same five integers for each of them and
 * for the refused ones, and the same state left in Redis.
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "gw_limit.h"
#include "tap.h"
#include "redis_server.h"


#define NLIMITS  10
#define ROUNDS   4000
#define NMAX     80


static gw_limit_rule_t
random_rule(void)
{
    gw_limit_rule_t  r;

    memset(&r, 0, sizeof(r));

    if (rand() % 2) {
        r.kind = GW_LIMIT_RATE;
        r.count = 1 + rand() % 20000;
        r.period = (rand() % 2 ? 1 : 60) * 1e6;
        r.burst = rand() % 40;
        r.delay = rand() % 2 ? r.burst : rand() % ((int) r.burst + 1);

        if (rand() % 4 == 0) {
            r.count /= 3;                   /* a node's share */
            r.burst /= 3;
            r.delay /= 3;
        }

    } else {
        r.kind = GW_LIMIT_QUOTA;
        r.count = 1 + rand() % 600;
        r.period = (1 + rand() % 3) * 1e6;
    }

    return r;
}


/* the five integers the scripts give for one decision */

static void
expect(gw_limit_result_t *res, double *want)
{
    want[0] = res->admit;
    want[1] = res->remaining;
    want[2] = ceil(res->reset);
    want[3] = ceil(res->retry_after);
    want[4] = ceil(res->delay);
}


/* runs script (numkeys 1) on key with the rule's numbers and n, if n */

static redisReply *
run(redisContext *c, const char *script, const char *key,
    gw_limit_rule_t *r, int n)
{
    int          k, argc;
    char         args[6][32];
    double       nums[6];
    const char  *argv[4 + 6];
    size_t       argvlen[4 + 6];

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = strlen(script);
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = key;
    argvlen[3] = strlen(key);

    nums[0] = r->kind;
    nums[1] = r->count;
    nums[2] = r->period;
    nums[3] = r->burst;
    nums[4] = r->delay;
    nums[5] = n;

    argc = n ? 6 : 5;

    for (k = 0; k < argc; k++) {
        argv[4 + k] = args[k];
        argvlen[4 + k] = snprintf(args[k], sizeof(args[k]), "%.17g",
                                  nums[k]);
    }

    return redisCommandArgv(c, 4 + argc, argv, argvlen);
}


int
main(void)
{
    int                 i, j, k, n, l, bad, kwant, batches, singles;
    int                 partial, full, none;
    char                keys[NLIMITS][32];
    double              now, got[5], want[5], refused[5], v;
    redisReply         *reply, *st;
    redisContext       *c;
    gw_limit_rule_t     rules[NLIMITS];
    gw_limit_state_t    states[NLIMITS], next;
    gw_limit_result_t   res;

    if (access("/usr/bin/redis-server", X_OK) != 0
        && system("command -v redis-server >/dev/null 2>&1") != 0)
    {
        skip(1, "redis-server is not installed");
        return done_testing();
    }

    c = redis_start();
    if (c == NULL) {
        ok(0, "redis-server starts");
        redis_stop();
        return done_testing();
    }

    srand(20261123);

    for (i = 0; i < NLIMITS; i++) {
        rules[i] = random_rule();
        memset(&states[i], 0, sizeof(gw_limit_state_t));
        snprintf(keys[i], sizeof(keys[i]), "gw:limit:b%d:%c:k", i,
                 rules[i].kind == GW_LIMIT_RATE ? 'r' : 'q');
    }

    bad = 0;
    batches = 0;
    singles = 0;
    partial = 0;
    full = 0;
    none = 0;

    for (i = 0; i < ROUNDS && bad < 5; i++) {
        l = rand() % NLIMITS;

        /* now and then a single request, by the per-request script */

        if (rand() % 4 == 0) {
            reply = run(c, gw_limit_script, keys[l], &rules[l], 0);

            if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
                || reply->elements != 6)
            {
                ok(0, "round %d: the single script answers", i);
                bad++;
                freeReplyObject(reply);
                continue;
            }

            now = (double) reply->element[0]->integer;
            gw_limit_decide(&rules[l], &states[l], now, &res, &next);
            expect(&res, want);

            for (k = 0; k < 5; k++) {
                got[k] = (double) reply->element[1 + k]->integer;
            }

            if (memcmp(got, want, sizeof(got)) != 0) {
                diag("round %d: single on limit %d differs", i, l);
                bad++;
            }

            if (res.admit) {
                states[l] = next;
            }

            singles++;
            freeReplyObject(reply);
            continue;
        }

        n = rand() % 3 ? 1 + rand() % 12 : 1 + rand() % NMAX;

        reply = run(c, gw_limit_batch_script, keys[l], &rules[l], n);

        if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
            || reply->elements < 2)
        {
            ok(0, "round %d: the batch script answers an array (%s)", i,
               reply != NULL && reply->type == REDIS_REPLY_ERROR
               ? reply->str : "?");
            bad++;
            freeReplyObject(reply);
            continue;
        }

        for (j = 0; j < (int) reply->elements; j++) {
            if (reply->element[j]->type != REDIS_REPLY_INTEGER) {
                break;
            }
        }

        if (j < (int) reply->elements) {
            ok(0, "round %d: only integers", i);
            bad++;
            freeReplyObject(reply);
            continue;
        }

        now = (double) reply->element[0]->integer;

        /* n requests, one after the other, at that instant, in C */

        kwant = -1;

        for (j = 0; j < n; j++) {
            gw_limit_decide(&rules[l], &states[l], now, &res, &next);
            expect(&res, want);

            if (res.admit) {
                if (kwant >= 0) {
                    diag("round %d: C admitted request %d after refusing "
                         "request %d", i, j, kwant);
                    bad++;
                }

                states[l] = next;

                if (2 + 5 * (size_t) j + 5 > reply->elements) {
                    bad++;
                    break;
                }

                for (k = 0; k < 5; k++) {
                    got[k] = (double) reply->element[2 + 5 * j + k]->integer;
                }

                if (memcmp(got, want, sizeof(got)) != 0) {
                    diag("round %d request %d of %d (limit %d kind %d count "
                         "%.17g period %.0f burst %.17g delay %.17g) at %.0f:"
                         " script %.0f %.0f %.0f %.0f %.0f, C %.0f %.0f %.0f"
                         " %.0f %.0f", i, j, n, l, rules[l].kind,
                         rules[l].count, rules[l].period, rules[l].burst,
                         rules[l].delay, now, got[0], got[1], got[2],
                         got[3], got[4], want[0], want[1], want[2], want[3],
                         want[4]);
                    bad++;
                }

                continue;
            }

            if (kwant < 0) {
                kwant = j;
                memcpy(refused, want, sizeof(refused));

            } else if (memcmp(refused, want, sizeof(refused)) != 0) {
                diag("round %d: C refused request %d otherwise", i, j);
                bad++;
            }
        }

        if (kwant < 0) {
            kwant = n;
        }

        if (reply->element[1]->integer != kwant
            || reply->elements
               != (size_t) (2 + 5 * kwant + (kwant < n ? 5 : 0)))
        {
            diag("round %d: %d of %d admitted by the script, %d by C "
                 "(%zu elements)", i, (int) reply->element[1]->integer, n,
                 kwant, reply->elements);
            bad++;
            freeReplyObject(reply);
            continue;
        }

        if (kwant < n) {
            for (k = 0; k < 5; k++) {
                got[k] = (double) reply->element[2 + 5 * kwant + k]->integer;
            }

            if (memcmp(got, refused, sizeof(got)) != 0) {
                diag("round %d: the refused ones' answer differs: script "
                     "%.0f %.0f %.0f %.0f %.0f, C %.0f %.0f %.0f %.0f %.0f",
                     i, got[0], got[1], got[2], got[3], got[4], refused[0],
                     refused[1], refused[2], refused[3], refused[4]);
                bad++;
            }
        }

        batches++;
        partial += (kwant > 0 && kwant < n);
        full += (kwant == n);
        none += (kwant == 0);

        freeReplyObject(reply);

        /* now and then, the state stored must be the C one, to the bit */

        if (i % 53 == 0) {
            if (rules[l].kind == GW_LIMIT_RATE) {
                st = redisCommand(c, "GET %s", keys[l]);
                v = (st != NULL && st->type == REDIS_REPLY_STRING)
                    ? strtod(st->str, NULL) : 0;

                if (v != states[l].a
                    && !(st != NULL && st->type == REDIS_REPLY_NIL
                         && states[l].a <= now + 2000))
                {
                    diag("round %d: stored TAT %.17g, C %.17g", i, v,
                         states[l].a);
                    bad++;
                }

            } else {
                st = redisCommand(c, "HGET %s b", keys[l]);
                v = (st != NULL && st->type == REDIS_REPLY_STRING)
                    ? strtod(st->str, NULL) : 0;

                if (v != states[l].b
                    && !(st != NULL && st->type == REDIS_REPLY_NIL
                         && states[l].a + 2
                            <= floor(now / rules[l].period) + 1))
                {
                    diag("round %d: stored count %.17g, C %.17g", i, v,
                         states[l].b);
                    bad++;
                }
            }

            freeReplyObject(st);
        }

        if (i % 40 == 0) {
            usleep(1000 + rand() % 20000);
        }
    }

    is_int(bad, 0, "%d rounds (%d batches, %d single requests): a batch "
           "of n answers as n requests decided one after the other", i,
           batches, singles);
    ok(partial > 100 && full > 100 && none > 50, "batches admitted in "
       "part (%d), in full (%d) and not at all (%d)", partial, full, none);

    /* what the script refuses to run */

    rules[0].kind = 3;
    reply = run(c, gw_limit_batch_script, keys[0], &rules[0], 2);
    ok(reply != NULL && reply->type == REDIS_REPLY_ERROR,
       "an exact quota is not batched");
    freeReplyObject(reply);

    rules[0].kind = GW_LIMIT_RATE;
    reply = run(c, gw_limit_batch_script, keys[0], &rules[0],
                GW_LIMIT_BATCH_MAX + 1);
    ok(reply != NULL && reply->type == REDIS_REPLY_ERROR,
       "no more than %d requests in one run", GW_LIMIT_BATCH_MAX);
    freeReplyObject(reply);

    redisFree(c);
    redis_stop();

    return done_testing();
}
