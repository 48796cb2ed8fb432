
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include <stdio.h>

#include "gw_asl.h"


int
main(int argc, char **argv)
{
    fprintf(stderr, "workflow: not built yet\n");
    return 2;
}
