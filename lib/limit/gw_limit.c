
/*
 * Copyright (C) Tollgate
 *
 * Rate-limit decisions (GCRA and the sliding-window counter) and the
 * parsing of limit values; see gw_limit.h.  Every expression here has a
 * twin, in the same order of operations, in the Redis script of
 * gw_limit_script.c: IEEE doubles then give both the same answers.
 */


#include <math.h>
#include <string.h>

#include "gw_limit.h"


#define GW_LIMIT_USEC  1000000.0


static void gw_limit_rate(const gw_limit_rule_t *rule,
    const gw_limit_state_t *st, double now, gw_limit_result_t *res,
    gw_limit_state_t *next);
static void gw_limit_quota(const gw_limit_rule_t *rule,
    const gw_limit_state_t *st, double now, gw_limit_result_t *res,
    gw_limit_state_t *next);
static int gw_limit_parse_number(const char **p, const char *end,
    double max, double *n);


void
gw_limit_decide(const gw_limit_rule_t *rule, const gw_limit_state_t *st,
    double now, gw_limit_result_t *res, gw_limit_state_t *next)
{
    memset(res, 0, sizeof(gw_limit_result_t));
    memset(next, 0, sizeof(gw_limit_state_t));

    if (rule->kind == GW_LIMIT_RATE) {
        gw_limit_rate(rule, st, now, res, next);

    } else {
        gw_limit_quota(rule, st, now, res, next);
    }
}


/*
 * GCRA.  The tolerance of one microsecond absorbs the rounding of TAT + T
 * at epoch magnitudes (a quarter microsecond per step), so a request
 * arriving exactly on time is never refused for it.
 */

static void
gw_limit_rate(const gw_limit_rule_t *rule, const gw_limit_state_t *st,
    double now, gw_limit_result_t *res, gw_limit_state_t *next)
{
    double  t, tau, tat, excess, left;

    t = rule->period / rule->count;
    tau = rule->burst * t;

    tat = st->a;
    if (tat < now) {
        tat = now;
    }

    excess = tat - now;

    if (excess > tau + 1) {
        res->admit = 0;
        res->remaining = 0;
        res->reset = excess;
        res->retry_after = excess - tau;
        res->expires = tat;
        return;
    }

    next->a = tat + t;

    left = floor((tau - excess + 1) / t);

    res->admit = 1;
    res->remaining = left > 0 ? left : 0;
    res->reset = next->a - now;
    res->retry_after = 0;
    res->delay = excess - rule->delay * t;
    if (res->delay < 1) {
        res->delay = 0;
    }
    res->expires = next->a;
}


/*
 * The sliding-window counter.  "cur + 1 <= count" alone keeps every fixed
 * window within count; the weighted previous window spreads the next
 * window's admissions over it instead of letting them all through at its
 * start.
 */

static void
gw_limit_quota(const gw_limit_rule_t *rule, const gw_limit_state_t *st,
    double now, gw_limit_result_t *res, gw_limit_state_t *next)
{
    double  w, idx, cur, prev, start, est, left, wait;

    w = rule->period;
    idx = floor(now / w);
    start = idx * w;

    if (st->a == idx) {
        cur = st->b;
        prev = st->c;

    } else if (st->a == idx - 1) {
        cur = 0;
        prev = st->b;

    } else {
        cur = 0;
        prev = 0;
    }

    est = prev * ((w - (now - start)) / w) + cur;

    res->reset = start + w - now;

    if (cur + 1 > rule->count || est + 1 > rule->count) {

        if (cur + 1 > rule->count) {
            /* the next window, once enough of this one has slid away */
            wait = start + w - now;
            if (cur > 0 && rule->count - 1 < cur) {
                wait += w * (1 - (rule->count - 1) / cur);
            }

        } else {
            /* later in this window, as the previous one slides away */
            wait = start + w * (1 - (rule->count - cur - 1) / prev) - now;
        }

        res->admit = 0;
        res->remaining = 0;
        res->retry_after = wait > 0 ? wait : 0;
        res->expires = start + 2 * w;
        return;
    }

    next->a = idx;
    next->b = cur + 1;
    next->c = prev;

    left = floor(rule->count - (est + 1));

    res->admit = 1;
    res->remaining = left > 0 ? left : 0;
    res->expires = start + 2 * w;
}


void
gw_limit_unconsumed(const gw_limit_rule_t *rule, gw_limit_result_t *res)
{
    if (!res->admit) {
        return;
    }

    res->remaining += 1;
    res->delay = 0;

    if (rule->kind == GW_LIMIT_RATE) {
        res->reset -= rule->period / rule->count;
        if (res->reset < 0) {
            res->reset = 0;
        }
    }
}


int
gw_limit_parse(const char *s, size_t len, gw_limit_rule_t *rule,
    const char **err)
{
    double       count, n, unit;
    const char  *p, *end;

    memset(rule, 0, sizeof(gw_limit_rule_t));

    p = s;
    end = s + len;

    if (gw_limit_parse_number(&p, end, GW_LIMIT_COUNT_MAX, &count) != 0
        || count < 1)
    {
        *err = "expects a count of 1 to 1000000000 first";
        return -1;
    }

    if (end - p >= 3 && p[0] == 'r' && p[1] == '/') {

        /* a rate: "r/s" or "r/m", exactly */

        if (end - p != 3 || (p[2] != 's' && p[2] != 'm')) {
            *err = "a rate ends in r/s or r/m";
            return -1;
        }

        rule->kind = GW_LIMIT_RATE;
        rule->count = count;
        rule->period = (p[2] == 's' ? 1 : 60) * GW_LIMIT_USEC;

        if (count / (rule->period / GW_LIMIT_USEC) > GW_LIMIT_RATE_MAX) {
            *err = "a rate is at most 100000r/s";
            return -1;
        }

        return 0;
    }

    if (p == end || *p != '/') {
        *err = "expects r/s, r/m (a rate) or /window (a quota) after the "
               "count";
        return -1;
    }

    p++;

    /* a quota's window: [N]unit */

    n = 1;

    if (p < end && *p >= '0' && *p <= '9') {
        if (gw_limit_parse_number(&p, end, 1000000, &n) != 0 || n < 1) {
            *err = "a window's length is 1 to 1000000 units";
            return -1;
        }
    }

    if (end - p != 1) {
        *err = "a window ends in one unit: s, m, h or d";
        return -1;
    }

    switch (*p) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    default:
        *err = "a window ends in one unit: s, m, h or d";
        return -1;
    }

    rule->kind = GW_LIMIT_QUOTA;
    rule->count = count;
    rule->period = n * unit * GW_LIMIT_USEC;

    if (rule->period > GW_LIMIT_PERIOD_MAX) {
        *err = "a window is at most 366 days";
        return -1;
    }

    return 0;
}


/* decimal digits, no sign, no leading zero but "0" itself, at most max */

static int
gw_limit_parse_number(const char **p, const char *end, double max, double *n)
{
    const char  *s;

    s = *p;
    *n = 0;

    if (s == end || *s < '0' || *s > '9') {
        return -1;
    }

    if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9') {
        return -1;
    }

    while (s < end && *s >= '0' && *s <= '9') {
        *n = *n * 10 + (*s - '0');

        if (*n > max) {
            return -1;
        }

        s++;
    }

    *p = s;

    return 0;
}


int
gw_limit_name_valid(const char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len == 0 || len > GW_LIMIT_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'
              || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A share's count may be a fraction (2.5r/s, 0.5r/m): the smallest
 * multiple of the window that holds a whole count is announced instead
 * (5 per 2 s, 1 per 2 m); failing that, the count rounded down, at least
 * one, over the window that takes.
 */

void
gw_limit_policy(const gw_limit_rule_t *rule, uint64_t *q, uint64_t *w)
{
    double    c, k;

    for (k = 1; k <= 1024; k++) {
        c = rule->count * k;

        if (fabs(c - floor(c + 0.5)) < 1e-6) {
            *q = (uint64_t) floor(c + 0.5);
            *w = (uint64_t) ceil(rule->period * k / GW_LIMIT_USEC);
            return;
        }
    }

    c = rule->count < 1 ? 1 : floor(rule->count);

    *q = (uint64_t) c;
    *w = (uint64_t) ceil(rule->period * c / rule->count / GW_LIMIT_USEC);
}


void
gw_limit_share(const gw_limit_rule_t *rule, unsigned n,
    gw_limit_rule_t *share)
{
    *share = *rule;

    if (n > 1) {
        share->count = rule->count / n;
        share->burst = rule->burst / n;
        share->delay = rule->delay / n;
    }
}
