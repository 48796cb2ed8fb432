
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER: replaced by the part that owns this file (ntf.h).
 */


#include "ntf.h"


int
ntf_stream_start(void)
{
    return 0;
}


void
ntf_stream_stop(void)
{
}
