
/*
 * Copyright (C) Tollgate
 *
 * Placeholder until this part lands.
 */


#include "metadata.h"


int
md_rev_setup(gw_svc_t *svc)
{
    return 0;
}
