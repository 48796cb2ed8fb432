
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


void
identity_exchange_grant(gw_svc_req_t *req, const identity_client_t *client,
    identity_form_t *form)
{
    identity_token_error(req, 400, "unsupported_grant_type", NULL);
}
