
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER: replaced by the part that owns this file (ntf.h).
 */


#include "ntf.h"


int
ntf_subs_routes(gw_svc_t *svc)
{
    return 0;
}


int
ntf_subs_configure(gw_svc_t *svc)
{
    return 0;
}


int
ntf_subs_match(const char *owner, const char *type, json_t *only,
    ntf_subs_match_pt done, void *data)
{
    return -1;
}
