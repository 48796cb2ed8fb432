
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER: replaced by the part that owns this file (ntf.h).
 */


#include "ntf.h"


static int
ntf_push_send(ntf_delivery_t *d, ntf_outcome_t *out)
{
    out->result = NTF_FAIL;
    return -1;
}


const ntf_channel_t  ntf_push_channel = { "push", ntf_push_send };
