
/*
 * Copyright (C) Tollgate
 *
 * The token endpoint, introspection and revocation (to be written: see
 * identity.h).
 */


#include "identity.h"


int
identity_token_setup(gw_svc_t *svc)
{
    return 0;
}


void
identity_token_start(struct event_base *base)
{
}


void
identity_token_stop(void)
{
}
