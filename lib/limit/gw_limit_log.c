
/*
 * Copyright (C) Tollgate
 *
 * The exact quota's sliding log; see gw_limit_log.h.  Every expression of
 * gw_limit_log_decide() and gw_limit_log_commit() has a twin in the same
 * order in gw_limit_log_lua.h, so the Redis script gives the same answers
 * (t/unit/test_limit_script.c holds the two to it).
 */


#include <math.h>
#include <string.h>

#include "gw_limit_log.h"


#define GW_LIMIT_LOG_AT(log, j)  ((log)->t[((log)->head + (j)) % (log)->cap])


static uint32_t gw_limit_log_first(const gw_limit_log_t *log, double edge);


uint32_t
gw_limit_log_cap(const gw_limit_rule_t *rule)
{
    double  c;

    c = floor(rule->count);

    return c < 1 ? 1 : (uint32_t) c;
}


/* the index (from the oldest) of the first time after edge; n if none */

static uint32_t
gw_limit_log_first(const gw_limit_log_t *log, double edge)
{
    uint32_t  lo, hi, mid;

    lo = 0;
    hi = log->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (GW_LIMIT_LOG_AT(log, mid) > edge) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return lo;
}


void
gw_limit_log_decide(const gw_limit_rule_t *rule, const gw_limit_log_t *log,
    double now, gw_limit_result_t *res)
{
    double    w, newest, stamp;
    uint32_t  cap, first, in;

    memset(res, 0, sizeof(gw_limit_result_t));

    cap = gw_limit_log_cap(rule);
    w = rule->period;

    first = gw_limit_log_first(log, now - w);
    in = log->n - first;

    newest = log->n ? GW_LIMIT_LOG_AT(log, log->n - 1) : 0;
    stamp = newest > now ? newest : now;

    if (in >= cap) {
        /* the window is full: the oldest admission in it leaves first */
        res->admit = 0;
        res->remaining = 0;
        res->retry_after = GW_LIMIT_LOG_AT(log, first) + w - now;
        res->reset = res->retry_after;
        res->expires = newest + w;
        return;
    }

    res->admit = 1;
    res->remaining = cap - in - 1;
    res->reset = (in ? GW_LIMIT_LOG_AT(log, first) : stamp) + w - now;
    res->expires = stamp + w;
}


void
gw_limit_log_commit(gw_limit_log_t *log, double now)
{
    double  newest;

    if (log->n) {
        newest = GW_LIMIT_LOG_AT(log, log->n - 1);
        if (newest > now) {
            now = newest;
        }
    }

    if (log->n < log->cap) {
        GW_LIMIT_LOG_AT(log, log->n) = now;
        log->n++;
        return;
    }

    log->t[log->head] = now;
    log->head = (log->head + 1) % log->cap;
}


/* one more remains; with none left in the window, nothing is to come back */

void
gw_limit_log_unconsumed(const gw_limit_rule_t *rule, gw_limit_result_t *res)
{
    if (!res->admit) {
        return;
    }

    res->remaining += 1;

    if (res->remaining >= gw_limit_log_cap(rule)) {
        res->reset = 0;
    }
}


void
gw_limit_log_move(gw_limit_log_t *to, const gw_limit_log_t *from)
{
    uint32_t  k, j;

    k = from->n < to->cap ? from->n : to->cap;

    for (j = 0; j < k; j++) {
        to->t[j] = GW_LIMIT_LOG_AT(from, from->n - k + j);
    }

    to->head = 0;
    to->n = k;
}


int
gw_limit_log_remove(gw_limit_log_t *log, double at)
{
    uint32_t  j;

    for (j = 0; j < log->n; j++) {
        if (GW_LIMIT_LOG_AT(log, j) >= at) {
            break;
        }
    }

    if (j == log->n) {
        return -1;
    }

    for ( /* void */ ; j + 1 < log->n; j++) {
        GW_LIMIT_LOG_AT(log, j) = GW_LIMIT_LOG_AT(log, j + 1);
    }

    log->n--;

    return 0;
}
