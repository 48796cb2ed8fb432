
/*
 * Copyright (C) Tollgate
 *
 * The exact quota ("quota=N/window exact"): a sliding log of the times of
 * the last N admissions of a key, so that no span of one window, wherever
 * it starts, admits more than N.  The sliding-window counter of gw_limit.c
 * keeps every epoch-aligned window at N but, at an offset, a span of one
 * window may see up to about 2N - 1; the log is what a quota people bill
 * against needs, at the price of N times per key.
 *
 * The rule, with W the window: a request at time now is admitted when
 * fewer than N admissions lie in (now - W, now], a half-open span: an
 * admission at time t counts until t + W and no longer.  Equivalently,
 * any N + 1 consecutive admissions are at least W apart from first to
 * last, and every half-open span [a, a + W) holds at most N of them.
 * Only the last N times can ever matter, so the log is a ring of N
 * doubles (microseconds since the epoch, as in gw_limit.h), oldest first.
 * N is at most GW_LIMIT_LOG_MAX: 8 bytes a slot.
 *
 * A clock that steps back is taken as standing still: a time earlier than
 * the newest one stored is stored as that newest one, so the ring stays
 * sorted.  As in gw_limit_decide(), a decision changes nothing:
 * gw_limit_log_commit() appends the admission once every limit of the
 * request admitted it.  The Redis script (gw_limit_script.c, whose exact
 * part is gw_limit_log_lua.h) computes the same, expression for
 * expression, over a string holding the same ring.
 */


#ifndef _GW_LIMIT_LOG_H_INCLUDED_
#define _GW_LIMIT_LOG_H_INCLUDED_


#include "gw_limit.h"


#define GW_LIMIT_LOG       3            /* rule kind: an exact quota */
#define GW_LIMIT_LOG_MAX   10000        /* an exact quota's count: 80,000
                                           bytes of times per key */


typedef struct {
    double     *t;              /* cap times, a ring, sorted from head */
    uint32_t    cap;            /* gw_limit_log_cap() of the rule */
    uint32_t    head;           /* the oldest time */
    uint32_t    n;              /* times stored, at most cap */
} gw_limit_log_t;


/* the ring's size for rule: its count rounded down, at least 1 (a local
   fallback's share may be a fraction) */
uint32_t gw_limit_log_cap(const gw_limit_rule_t *rule);

/*
 * Decides a request at time now against log (log->cap must be the rule's
 * gw_limit_log_cap(); a log with n == 0 is a fresh one); fills res:
 * remaining after this one, reset (microseconds until the oldest
 * admission in the window leaves it, this one included), retry_after
 * when refused, expires (after which the log equals a fresh one).
 */
void gw_limit_log_decide(const gw_limit_rule_t *rule,
    const gw_limit_log_t *log, double now, gw_limit_result_t *res);

/* records an admission at now (the newest time if now is earlier) */
void gw_limit_log_commit(gw_limit_log_t *log, double now);

/* res of an admitting decision that was not committed */
void gw_limit_log_unconsumed(const gw_limit_rule_t *rule,
    gw_limit_result_t *res);

/* copies the newest min(from->n, to->cap) times of from into to, whose
   t has room for to->cap (a plan changed the count) */
void gw_limit_log_move(gw_limit_log_t *to, const gw_limit_log_t *from);

/*
 * Gives back an admission made at time at: removes the oldest time not
 * earlier than at.  0, or -1 when there is none (already out of the log).
 */
int gw_limit_log_remove(gw_limit_log_t *log, double at);


/*
 * The give back script of global limits (gw_limit_refund.c): KEYS are the
 * limits' Redis keys, ARGV[1] the time (Redis', microseconds) the limit
 * script admitted the request at, then three numbers per key: kind,
 * count, period.  Undoes that admission in each; returns 1.
 */
extern const char  gw_limit_refund_script[];

#define GW_LIMIT_REFUND_ARGS  3     /* ARGV entries per key, after the time */


#endif /* _GW_LIMIT_LOG_H_INCLUDED_ */
