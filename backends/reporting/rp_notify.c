
/*
 * Copyright (C) Tollgate
 *
 * Delivery by the notification service: not yet (docs/reporting.md).
 */


#include "rp.h"


int
rp_notify_configure(gw_svc_t *svc)
{
    return 0;
}


void
rp_notify_run(rp_job_t *job)
{
}
