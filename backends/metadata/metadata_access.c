
/*
 * Copyright (C) Tollgate
 *
 * Access (placeholder until it lands: everyone may write, as "local").
 */


#include "metadata.h"


void
md_access(gw_svc_req_t *req, md_role_e need, md_access_pt cb, void *data)
{
    cb(req, "local", data);
}
