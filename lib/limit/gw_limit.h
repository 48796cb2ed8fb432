
/*
 * Copyright (C) Tollgate
 *
 * Rate-limit arithmetic: the decisions, with no storage and no clock, so
 * the nginx module (shared memory, local mode), the Redis script (global
 * mode) and the unit tests all agree on one definition.
 *
 * Two algorithms:
 *
 *   rate    GCRA (the generic cell rate algorithm, a token bucket kept as
 *           one number): "count requests per period, burst excess".  The
 *           state is the theoretical arrival time (TAT).  A request at
 *           time now is admitted when TAT - now <= burst * T, where
 *           T = period / count is the emission interval, and then moves
 *           TAT to max(TAT, now) + T.  So burst + 1 requests may arrive at
 *           once (the meaning of burst in nginx's limit_req), and then one
 *           per T.  Excess requests past the first "delay" ones may be
 *           delayed instead of admitted at once (limit_req's delay=).
 *
 *   quota   a sliding-window counter: "count requests per window".  The
 *           state is the window index (now / window, rounded down), the
 *           count of the current window and that of the previous one.
 *           The estimate is previous * (1 - elapsed / window) + current;
 *           a request is admitted when estimate + 1 <= count.  Since the
 *           estimate is never below the current count, no fixed window
 *           ever admits more than count requests.
 *
 * Times are microseconds since the epoch, as doubles: that is the number
 * type of Redis' Lua, whose script (gw_limit_script) must compute exactly
 * what gw_limit_decide() computes; 2^53 microseconds is 285 years.
 *
 * A decision never changes the state in place: gw_limit_decide() returns
 * the next state, which the caller stores only when every limit of the
 * request admitted it, so a rejected request costs no limit anything.
 */


#ifndef _GW_LIMIT_H_INCLUDED_
#define _GW_LIMIT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define GW_LIMIT_RATE       1
#define GW_LIMIT_QUOTA      2

#define GW_LIMIT_COUNT_MAX  1000000000      /* requests per period */
#define GW_LIMIT_RATE_MAX   100000          /* a rate's requests per second:
                                               T >= 10 microseconds, far
                                               above a double's resolution
                                               of times since the epoch */
#define GW_LIMIT_PERIOD_MAX 31622400000000.0    /* microseconds: 366 days */
#define GW_LIMIT_NAME_MAX   32              /* bytes of a limit's name */


typedef struct {
    int         kind;           /* GW_LIMIT_RATE or GW_LIMIT_QUOTA */
    double      count;          /* requests per period */
    double      period;         /* microseconds */
    double      burst;          /* rate: excess requests admitted at once */
    double      delay;          /* rate: excess requests not delayed; equal
                                   to burst: none delayed ("nodelay") */
} gw_limit_rule_t;


typedef struct {
    double      a;              /* rate: TAT; quota: window index */
    double      b;              /* quota: count of the current window */
    double      c;              /* quota: count of the previous window */
} gw_limit_state_t;


typedef struct {
    int         admit;
    double      remaining;      /* requests left now, after this one */
    double      reset;          /* microseconds until the limit is whole
                                   again (rate) or the window ends (quota) */
    double      retry_after;    /* microseconds, when rejected */
    double      delay;          /* microseconds to hold an admitted request */
    double      expires;        /* microseconds since the epoch after which
                                   the next state equals a fresh one */
} gw_limit_result_t;


/*
 * Decides one request at time now against state (a zeroed state is a
 * fresh one); fills res and next.  next is meaningful only when
 * res->admit is set.
 */
void gw_limit_decide(const gw_limit_rule_t *rule, const gw_limit_state_t *st,
    double now, gw_limit_result_t *res, gw_limit_state_t *next);

/*
 * res of an admitting decision whose next state is not stored (another
 * limit of the request refused it): the request took nothing, so one
 * more remains, and a rate is whole again one interval sooner.
 */
void gw_limit_unconsumed(const gw_limit_rule_t *rule, gw_limit_result_t *res);

/*
 * Parses "10r/s", "600r/m" (rate: count per second or minute, as
 * limit_req) or "1000/h", "5000/d", "300/10s", "50/m" (quota: count per
 * window; the window is an nginx time such as 10s, 5m, 1h, 2d, or a bare
 * unit s, m, h, d meaning one of it).  Fills kind, count and period;
 * burst and delay are set to 0.  Returns 0, or -1 with a message in err.
 */
int gw_limit_parse(const char *s, size_t len, gw_limit_rule_t *rule,
    const char **err);

/* a limit's name: 1 to GW_LIMIT_NAME_MAX bytes of [A-Za-z0-9._-] */
int gw_limit_name_valid(const char *s, size_t len);

/* the rule as the RateLimit-Policy "q" (quota) and "w" (window, seconds) */
void gw_limit_policy(const gw_limit_rule_t *rule, uint64_t *q, uint64_t *w);

/* the rule divided among n nodes: count, burst and delay over n (for the
   local fallback of a global limit; fractions are kept) */
void gw_limit_share(const gw_limit_rule_t *rule, unsigned n,
    gw_limit_rule_t *share);


/*
 * The Redis script of global mode: KEYS are the limits' Redis keys; ARGV
 * holds five numbers per key: kind (GW_LIMIT_RATE, GW_LIMIT_QUOTA or
 * gw_limit_log.h's GW_LIMIT_LOG), count, period, burst, delay.  It reads
 * Redis' clock (TIME), decides every limit as gw_limit_decide() does,
 * stores the new states only when all admit (otherwise reports the
 * admitting ones as gw_limit_unconsumed() does), and returns the time,
 * then five integers per key: admit (0/1), remaining, reset, retry_after,
 * delay (microseconds, rounded up).
 */
extern const char  gw_limit_script[];

#define GW_LIMIT_SCRIPT_ARGS  5     /* ARGV entries per key */
#define GW_LIMIT_REPLY_ITEMS  5     /* reply integers per key */


/*
 * The coalescing script (gw_limit_batch.c): one key, a rate or a quota
 * (not an exact one); ARGV kind, count, period, burst, delay, n (1 to
 * GW_LIMIT_BATCH_MAX).  Decides n requests in order at one instant as n
 * runs of gw_limit_script for that key alone would, stores the state the
 * admitted ones leave, and returns the time, k (how many, the first k,
 * were admitted), GW_LIMIT_REPLY_ITEMS integers for each of the k, then,
 * when k < n, GW_LIMIT_REPLY_ITEMS for every refused one (all alike).
 */
extern const char  gw_limit_batch_script[];

#define GW_LIMIT_BATCH_ARGS   6     /* ARGV entries */
#define GW_LIMIT_BATCH_MAX    1024  /* requests per run */


#endif /* _GW_LIMIT_H_INCLUDED_ */
