
/*
 * Copyright (C) Tollgate
 *
 * Token exchange and external issuers (to be written: see identity.h).
 */


#include "identity.h"


int
identity_exchange_setup(gw_svc_t *svc)
{
    return 0;
}


void
identity_exchange_start(struct event_base *base)
{
}


void
identity_exchange_stop(void)
{
}
