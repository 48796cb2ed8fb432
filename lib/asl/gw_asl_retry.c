
/*
 * Copyright (C) Tollgate
 *
 * Retry and Catch at run time (docs/workflow-language.md, "Errors"):
 * which retrier or catcher of a state takes an error (the first whose
 * ErrorEquals matches, in order), and the delay before a retry.
 *
 * Error names match as the spec and AWS's guide say:
 *   - a name matches itself;
 *   - States.ALL matches every error but States.Runtime and
 *     States.DataLimitExceeded, which no wildcard catches (AWS: they
 *     end the execution);
 *   - States.TaskFailed matches every error but the timeouts
 *     (States.Timeout, States.HeartbeatTimeout) and those two;
 *   - States.Timeout also matches States.HeartbeatTimeout (a heartbeat
 *     missed is a timeout of the task).
 */


#include <math.h>
#include <string.h>

#include "gw_asl.h"


#define GW_ASL_DELAY_MAX_MS  (366LL * 86400 * 1000)  /* a retry's delay */


static int gw_asl_name_matches(const char *pattern, const char *error);


int
gw_asl_error_matches(const char **errors, size_t nerrors, const char *error)
{
    size_t  i;

    if (error == NULL) {
        return 0;
    }

    for (i = 0; i < nerrors; i++) {
        if (gw_asl_name_matches(errors[i], error)) {
            return 1;
        }
    }

    return 0;
}


static int
gw_asl_name_matches(const char *pattern, const char *error)
{
    int  terminal, timeout;

    if (strcmp(pattern, error) == 0) {
        return 1;
    }

    terminal = strcmp(error, GW_ASL_E_RUNTIME) == 0
               || strcmp(error, GW_ASL_E_DATA_LIMIT) == 0;

    if (terminal) {
        return 0;
    }

    if (strcmp(pattern, GW_ASL_E_ALL) == 0) {
        return 1;
    }

    timeout = strcmp(error, GW_ASL_E_TIMEOUT) == 0
              || strcmp(error, GW_ASL_E_HEARTBEAT) == 0;

    if (strcmp(pattern, GW_ASL_E_TASK_FAILED) == 0) {
        return !timeout;
    }

    if (strcmp(pattern, GW_ASL_E_TIMEOUT) == 0) {
        return strcmp(error, GW_ASL_E_HEARTBEAT) == 0;
    }

    return 0;
}


int
gw_asl_retrier_find(const gw_asl_state_t *st, const char *error)
{
    size_t  i;

    for (i = 0; i < st->nretry; i++) {
        if (gw_asl_error_matches(st->retry[i].errors, st->retry[i].nerrors,
                                 error))
        {
            return (int) i;
        }
    }

    return -1;
}


int
gw_asl_catcher_find(const gw_asl_state_t *st, const char *error)
{
    size_t  i;

    for (i = 0; i < st->ncatches; i++) {
        if (gw_asl_error_matches(st->catches[i].errors,
                                 st->catches[i].nerrors, error))
        {
            return (int) i;
        }
    }

    return -1;
}


/*
 * IntervalSeconds * BackoffRate^attempt, at most MaxDelaySeconds when
 * given, times rnd with FULL jitter; in milliseconds, rounded to the
 * nearest, at most GW_ASL_DELAY_MAX_MS (a growing backoff never
 * overflows).
 */

int64_t
gw_asl_retry_delay(const gw_asl_retrier_t *r, unsigned attempt, double rnd)
{
    double  d;

    if (attempt >= r->max_attempts) {
        return -1;
    }

    d = r->interval * pow(r->backoff, (double) attempt);

    if (r->max_delay > 0 && d > r->max_delay) {
        d = r->max_delay;
    }

    if (r->jitter_full) {
        if (!(rnd >= 0.0)) {
            rnd = 0.0;
        }

        if (rnd >= 1.0) {
            rnd = nextafter(1.0, 0.0);
        }

        d *= rnd;
    }

    d *= 1000.0;

    if (!(d < (double) GW_ASL_DELAY_MAX_MS)) {
        return GW_ASL_DELAY_MAX_MS;
    }

    return (int64_t) (d + 0.5);
}
