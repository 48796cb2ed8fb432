
/*
 * Copyright (C) Tollgate
 *
 * Placeholder while the processing service is written (replaced as a
 * whole).
 */


#include <stdio.h>

#include "proc_sink.h"


int
main(void)
{
    fprintf(stderr, "tollgate-processing: not built yet\n");

    return 1;
}
