
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


int
gw_asl_error_matches(const char **errors, size_t nerrors, const char *error)
{
    return 0;
}


int
gw_asl_retrier_find(const gw_asl_state_t *st, const char *error)
{
    return -1;
}


int
gw_asl_catcher_find(const gw_asl_state_t *st, const char *error)
{
    return -1;
}


int64_t
gw_asl_retry_delay(const gw_asl_retrier_t *r, unsigned attempt, double rnd)
{
    return -1;
}
