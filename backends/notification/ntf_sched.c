
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER: replaced by the part that owns this file (ntf.h).
 */


#include "ntf.h"


int
ntf_sched_configure(gw_svc_t *svc)
{
    return 0;
}


int
ntf_sched_start(void)
{
    return 0;
}


void
ntf_sched_stop(void)
{
}
