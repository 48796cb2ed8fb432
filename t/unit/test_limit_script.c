
/*
 * Copyright (C) Tollgate
 *
 * The Redis script of global limits (gw_limit_script) against
 * gw_limit_decide(): a private redis-server (on a unix socket in a
 * temporary folder; skipped when redis-server is not installed) runs the
 * script for thousands of requests of one, two or three random limits at
 * once, and each answer, given the time the script read from Redis' clock,
 * must be exactly what the C code computes from the same states: admit,
 * remaining, reset, retry and delay, and the state left in Redis (or no
 * key, once the state is a fresh one's and the key has expired).  Exact
 * quotas (the sliding log of gw_limit_log.c) are among the random limits,
 * their ring in Redis compared with the C one byte for byte; and the give
 * back script (gw_limit_refund_script) undoes an admission as
 * gw_limit_log_remove() and friends do.
 */


#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "gw_limit.h"
#include "gw_limit_log.h"
#include "tap.h"
#include "redis_server.h"


#define NLIMITS  12
#define ROUNDS   3000


static gw_limit_rule_t
random_rule(void)
{
    gw_limit_rule_t  r;

    memset(&r, 0, sizeof(r));

    if (rand() % 2) {
        r.kind = GW_LIMIT_RATE;
        r.count = 1 + rand() % 2000;
        r.period = (rand() % 2 ? 1 : 60) * 1e6;
        r.burst = rand() % 8;
        r.delay = rand() % 2 ? r.burst : rand() % ((int) r.burst + 1);

        if (rand() % 4 == 0) {
            r.count /= 3;                   /* a node's share */
            r.burst /= 3;
            r.delay /= 3;
        }

    } else {
        r.kind = rand() % 2 ? GW_LIMIT_QUOTA : GW_LIMIT_LOG;
        r.count = 1 + rand() % 40;
        r.period = (1 + rand() % 3) * 1e6;
    }

    return r;
}


/*
 * Whether the string Redis holds is the C ring, byte for byte (a
 * little-endian machine), or no key once the log is a fresh one's.
 */

static int
log_stored(redisReply *st, gw_limit_log_t *log, double now, double period)
{
    double    v;
    uint32_t  head[3], j, slot;

    if (st != NULL && st->type == REDIS_REPLY_NIL) {
        return log->n == 0
               || log->t[(log->head + log->n - 1) % log->cap] + period
                  <= now + 2000;
    }

    if (st == NULL || st->type != REDIS_REPLY_STRING
        || st->len < 12 + 8 * (size_t) log->n)
    {
        return 0;
    }

    memcpy(head, st->str, 12);

    if (head[0] != log->cap || head[1] != log->head || head[2] != log->n) {
        return 0;
    }

    for (j = 0; j < log->n; j++) {
        slot = (log->head + j) % log->cap;
        memcpy(&v, st->str + 12 + 8 * slot, 8);

        if (v != log->t[slot]) {
            return 0;
        }
    }

    return 1;
}


/* runs the give back script for the n limits picked, admitted at now */

static int
give_back(redisContext *c, gw_limit_rule_t *rules, char keys[][32],
    int *pick, int n, double now)
{
    int          j, k, rc;
    char         args[1 + 3 * 3][32];
    const char  *argv[4 + 3 + 1 + 3 * 3];
    size_t       argvlen[4 + 3 + 1 + 3 * 3];
    redisReply  *reply;

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = gw_limit_refund_script;
    argvlen[1] = strlen(gw_limit_refund_script);
    argv[2] = n == 1 ? "1" : n == 2 ? "2" : "3";
    argvlen[2] = 1;

    for (j = 0; j < n; j++) {
        argv[3 + j] = keys[pick[j]];
        argvlen[3 + j] = strlen(keys[pick[j]]);
    }

    k = 3 + n;
    argv[k] = args[0];
    argvlen[k++] = snprintf(args[0], 32, "%.17g", now);

    for (j = 0; j < n; j++) {
        argv[k] = args[1 + j * 3];
        argvlen[k++] = snprintf(args[1 + j * 3], 32, "%d",
                                rules[pick[j]].kind);
        argv[k] = args[2 + j * 3];
        argvlen[k++] = snprintf(args[2 + j * 3], 32, "%.17g",
                                rules[pick[j]].count);
        argv[k] = args[3 + j * 3];
        argvlen[k++] = snprintf(args[3 + j * 3], 32, "%.17g",
                                rules[pick[j]].period);
    }

    reply = redisCommandArgv(c, k, argv, argvlen);
    rc = (reply != NULL && reply->type == REDIS_REPLY_INTEGER) ? 0 : -1;

    if (rc != 0 && reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        diag("give back: %s", reply->str);
    }

    freeReplyObject(reply);

    return rc;
}


/* the C twin of the give back script, on the test's states */

static void
undo(gw_limit_rule_t *r, gw_limit_state_t *st, gw_limit_log_t *log,
    double at)
{
    double  idx;

    if (r->kind == GW_LIMIT_LOG) {
        gw_limit_log_remove(log, at);

    } else if (r->kind == GW_LIMIT_RATE) {
        st->a = st->a - r->period / r->count;

    } else {
        idx = floor(at / r->period);

        if (st->a == idx && st->b > 0) {
            st->b = st->b - 1;

        } else if (st->a == idx + 1 && st->c > 0) {
            st->c = st->c - 1;
        }
    }
}


int
main(void)
{
    int                 i, j, k, n, all, bad, admitted, refused, pick[3];
    int                 logs_in, logs_out, refunds;
    char                keys[NLIMITS][32], args[3][5][32];
    const char         *argv[3 + 3 + 15];
    size_t              argvlen[3 + 3 + 15];
    double              now, got[5], want[5], v;
    redisReply         *reply, *st;
    redisContext       *c;
    gw_limit_rule_t     rules[NLIMITS];
    gw_limit_log_t      logs[NLIMITS];
    gw_limit_state_t    states[NLIMITS], next[3];
    gw_limit_result_t   res[3];

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

    srand(20261122);

    for (i = 0; i < NLIMITS; i++) {
        rules[i] = random_rule();
        memset(&states[i], 0, sizeof(gw_limit_state_t));
        memset(&logs[i], 0, sizeof(gw_limit_log_t));
        logs[i].cap = gw_limit_log_cap(&rules[i]);
        logs[i].t = calloc(logs[i].cap, sizeof(double));
        if (logs[i].t == NULL) {
            ok(0, "memory");
            return done_testing();
        }
        snprintf(keys[i], sizeof(keys[i]), "gw:limit:t%d:%c:k", i,
                 rules[i].kind == GW_LIMIT_RATE ? 'r'
                 : rules[i].kind == GW_LIMIT_LOG ? 'l' : 'q');
    }

    bad = 0;
    logs_in = 0;
    refunds = 0;
    logs_out = 0;
    admitted = 0;
    refused = 0;

    for (i = 0; i < ROUNDS && bad < 5; i++) {

        /* one to three distinct limits for this request */

        n = 1 + rand() % 3;

        for (j = 0; j < n; j++) {
            do {
                pick[j] = rand() % NLIMITS;
                for (k = 0; k < j && pick[k] != pick[j]; k++) { /* void */ }
            } while (k < j);
        }

        argv[0] = "EVAL";
        argvlen[0] = 4;
        argv[1] = gw_limit_script;
        argvlen[1] = strlen(gw_limit_script);
        argv[2] = n == 1 ? "1" : n == 2 ? "2" : "3";
        argvlen[2] = 1;

        for (j = 0; j < n; j++) {
            argv[3 + j] = keys[pick[j]];
            argvlen[3 + j] = strlen(keys[pick[j]]);
        }

        for (j = 0; j < n; j++) {
            gw_limit_rule_t  *r = &rules[pick[j]];
            double            nums[5];

            nums[0] = r->kind;
            nums[1] = r->count;
            nums[2] = r->period;
            nums[3] = r->burst;
            nums[4] = r->delay;

            for (k = 0; k < 5; k++) {
                argv[3 + n + j * 5 + k] = args[j][k];
                argvlen[3 + n + j * 5 + k] =
                    snprintf(args[j][k], sizeof(args[j][k]), "%.17g",
                             nums[k]);
            }
        }

        reply = redisCommandArgv(c, 3 + n + n * 5, argv, argvlen);

        if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
            || reply->elements != (size_t) (1 + n * 5))
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

        for (j = 0; j < n; j++) {
            if (rules[pick[j]].kind == GW_LIMIT_LOG) {
                gw_limit_log_decide(&rules[pick[j]], &logs[pick[j]], now,
                                    &res[j]);

            } else {
                gw_limit_decide(&rules[pick[j]], &states[pick[j]], now,
                                &res[j], &next[j]);
            }

            if (!res[j].admit) {
                all = 0;
            }

            if (rules[pick[j]].kind == GW_LIMIT_LOG) {
                logs_in += res[j].admit;
                logs_out += !res[j].admit;
            }
        }

        for (j = 0; j < n; j++) {
            if (!all && rules[pick[j]].kind == GW_LIMIT_LOG) {
                gw_limit_log_unconsumed(&rules[pick[j]], &res[j]);

            } else if (!all) {
                gw_limit_unconsumed(&rules[pick[j]], &res[j]);
            }

            want[0] = res[j].admit;
            want[1] = res[j].remaining;
            want[2] = ceil(res[j].reset);
            want[3] = ceil(res[j].retry_after);
            want[4] = ceil(res[j].delay);

            for (k = 0; k < 5; k++) {
                got[k] = (double) reply->element[1 + j * 5 + k]->integer;
            }

            if (memcmp(got, want, sizeof(got)) != 0) {
                diag("round %d limit %d (kind %d count %.17g period %.0f "
                     "burst %.17g delay %.17g) at %.0f: script %.0f %.0f "
                     "%.0f %.0f %.0f, C %.0f %.0f %.0f %.0f %.0f", i,
                     pick[j], rules[pick[j]].kind, rules[pick[j]].count,
                     rules[pick[j]].period, rules[pick[j]].burst,
                     rules[pick[j]].delay, now, got[0], got[1], got[2],
                     got[3], got[4], want[0], want[1], want[2], want[3],
                     want[4]);
                bad++;
            }
        }

        freeReplyObject(reply);

        if (all) {
            admitted++;

            for (j = 0; j < n; j++) {
                if (rules[pick[j]].kind == GW_LIMIT_LOG) {
                    gw_limit_log_commit(&logs[pick[j]], now);

                } else {
                    states[pick[j]] = next[j];
                }
            }

            /* now and then the admission is given back */

            if (rand() % 5 == 0) {
                if (give_back(c, rules, keys, pick, n, now) != 0) {
                    diag("round %d: the give back script failed", i);
                    bad++;
                }

                for (j = 0; j < n; j++) {
                    undo(&rules[pick[j]], &states[pick[j]], &logs[pick[j]],
                         now);
                }

                refunds++;
            }

        } else {
            refused++;
        }

        /* now and then, the state stored must be the C one, to the bit */

        if (i % 97 == 0) {
            for (j = 0; j < n; j++) {
                k = pick[j];

                if (rules[k].kind == GW_LIMIT_LOG) {
                    st = redisCommand(c, "GET %s", keys[k]);

                    if (!log_stored(st, &logs[k], now, rules[k].period)) {
                        diag("round %d: the stored log of limit %d is not "
                             "the C one", i, k);
                        bad++;
                    }

                } else if (rules[k].kind == GW_LIMIT_RATE) {
                    st = redisCommand(c, "GET %s", keys[k]);
                    v = (st != NULL && st->type == REDIS_REPLY_STRING)
                        ? strtod(st->str, NULL) : 0;

                    /* an expired key is a fresh state: a past TAT */
                    if (v != states[k].a
                        && !(st != NULL && st->type == REDIS_REPLY_NIL
                             && states[k].a <= now + 2000))
                    {
                        diag("round %d: stored TAT %.17g, C %.17g", i, v,
                             states[k].a);
                        bad++;
                    }

                } else {
                    st = redisCommand(c, "HGET %s b", keys[k]);
                    v = (st != NULL && st->type == REDIS_REPLY_STRING)
                        ? strtod(st->str, NULL) : 0;

                    if (v != states[k].b
                        && !(st != NULL && st->type == REDIS_REPLY_NIL
                             && states[k].a + 2
                                <= floor(now / rules[k].period) + 1))
                    {
                        diag("round %d: stored count %.17g, C %.17g", i, v,
                             states[k].b);
                        bad++;
                    }
                }

                freeReplyObject(st);
            }
        }

        if (i % 500 == 0) {
            usleep(20000 + rand() % 200000);
        }
    }

    is_int(bad, 0, "%d requests: the script and gw_limit_decide() agree "
           "exactly", i);
    ok(admitted > 100 && refused > 100, "both verdicts exercised (%d "
       "admitted, %d refused)", admitted, refused);
    ok(refunds > 10, "%d admissions given back, decisions still the same",
       refunds);
    ok(logs_in > 100 && logs_out > 100, "exact quotas: both verdicts (%d "
       "admitted, %d refused by the log)", logs_in, logs_out);

    redisFree(c);
    redis_stop();

    return done_testing();
}
