
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER: replaced by the part that owns this file (ntf.h).
 */


#include "ntf.h"


int
ntf_tmpl_render(const char *channel, json_t *request, ntf_tmpl_done_pt done,
    void *data)
{
    return -1;
}
