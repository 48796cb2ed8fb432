
/*
 * Copyright (C) Tollgate
 *
 * Leases of a global quota: a gateway takes several admissions from Redis
 * at once and spends them locally, so most requests cost no round trip.
 *
 * The key design decision: an admission is spent only once it has been
 * counted in Redis, in the window it is spent in.  A lease of g is taken
 * exactly as g requests at once would be (the sliding-window counter of
 * gw_limit.h: cur + g <= count and estimate + g <= count, then cur += g),
 * and it may be spent only until the end of the window it was counted in
 * (and at most for a TTL): so no window ever admits more than the quota,
 * whatever the gateways do.  What a lease costs is the other way round:
 * admissions held by one gateway while another's clients are refused.
 * That is bounded by the lease's size, which the caller caps (1% of the
 * quota across the gateways by default), and which the script halves
 * again against what is left (g <= max(1, floor(available / 2))): when
 * little is left, leases shrink to one, and the last admissions of a
 * window are given exactly.  Unspent admissions are given back (the
 * count of the window they were taken in is lowered by as many) when the
 * lease expires unspent.
 *
 * Only quotas are leased: a rate's admission (GCRA) spent later than it
 * was counted can break its burst whatever the lease's size, since the
 * other gateways' requests were judged as if it had already been spent.
 */


#ifndef _GW_LIMIT_LEASE_H_INCLUDED_
#define _GW_LIMIT_LEASE_H_INCLUDED_


#include "gw_limit.h"


/* microseconds: a window with less left than this gives no lease beyond
   the request itself (it would expire before it could be spent) */
#define GW_LIMIT_LEASE_LIFE_MIN  10000.0


typedef struct {
    double      granted;        /* admissions taken now, 0: refused */
    double      remaining;      /* left in the window after them */
    double      reset;          /* microseconds until the window ends */
    double      retry_after;    /* microseconds, when refused */
    double      life;           /* microseconds the lease may be spent:
                                   the TTL, or until the window ends */
    double      window;         /* the index of the window counted in */
    double      expires;        /* as gw_limit_result_t's */
} gw_limit_lease_t;


/*
 * Takes up to want (>= 1) admissions of the quota rule at time now from
 * state st, for a lease of at most ttl microseconds; fills res and next
 * (meaningful when res->granted >= 1).  With want 1 it admits exactly
 * what gw_limit_decide() admits, and reports the same remaining.
 */
void gw_limit_lease_take(const gw_limit_rule_t *rule,
    const gw_limit_state_t *st, double now, double want, double ttl,
    gw_limit_lease_t *res, gw_limit_state_t *next);

/*
 * Gives back n unspent admissions taken in window into st (next: the new
 * state): the count of that window, whether it is the current or the
 * previous one now, is lowered by n (never below 0).  Returns 1 when the
 * state changed, 0 when that window is no longer in it.
 */
int gw_limit_lease_give(const gw_limit_state_t *st, double window, double n,
    gw_limit_state_t *next);

/*
 * A lease's largest size for a quota of count: share (in ten-thousandths
 * of the quota, 100: 1%) divided among nodes gateways, rounded down, at
 * least 1.
 */
double gw_limit_lease_max(double count, unsigned share, unsigned nodes);


/*
 * The Redis script of leases: KEYS are quota keys (as global mode's);
 * ARGV holds six numbers per key: count, period, want, ttl, give, window.
 * For each key it first gives back "give" admissions taken in "window"
 * (give 0: none), then, when want >= 1, takes a lease as
 * gw_limit_lease_take() does, on Redis' clock.  The leases are stored only
 * when every key with want >= 1 granted at least one (otherwise none is,
 * and a key's granted says what it would have given).  Returns the time,
 * then six integers per key: granted, remaining, reset, retry_after,
 * life (microseconds, rounded up but life down) and window.
 */
extern const char  gw_limit_lease_script[];

#define GW_LIMIT_LEASE_ARGS   6     /* ARGV entries per key */
#define GW_LIMIT_LEASE_ITEMS  6     /* reply integers per key */


#endif /* _GW_LIMIT_LEASE_H_INCLUDED_ */
