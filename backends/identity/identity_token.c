
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


const char *
identity_form_get(identity_form_t *form, const char *name)
{
    return NULL;
}


void
identity_token_issue(gw_svc_req_t *req, const identity_issue_t *is)
{
    gw_svc_reply_problem(req, 503, "unavailable", "Not available", NULL);
}


void
identity_token_error(gw_svc_req_t *req, int status, const char *error,
    const char *description)
{
    gw_svc_reply_json(req, status, json_pack("{s:s}", "error", error));
}


void
identity_token_check_revoked(const char *jti, identity_revoked_pt done,
    void *data)
{
    done(data, -1);
}
