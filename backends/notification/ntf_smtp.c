
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER: replaced by the part that owns this file (ntf.h).
 */


#include "ntf.h"


int
ntf_smtp_configure(gw_svc_t *svc)
{
    return 0;
}


static int
ntf_email_send(ntf_delivery_t *d, ntf_outcome_t *out)
{
    out->result = NTF_FAIL;
    return -1;
}


const ntf_channel_t  ntf_email_channel = { "email", ntf_email_send };


int
ntf_mime_check(json_t *payload, char *pointer, size_t plen, char *err,
    size_t elen)
{
    return -1;
}
