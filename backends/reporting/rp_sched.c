
/*
 * Copyright (C) Tollgate
 *
 * Schedules: not yet (docs/reporting.md).
 */


#include "rp.h"


void
rp_sched_start(void)
{
}


void
rp_sched_stop(void)
{
}
