
/*
 * Copyright (C) Tollgate
 *
 * The language's errors (lib/asl/gw_asl.h): a name, a cause and, for a
 * definition, the JSON pointer of the value refused.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw_asl.h"


int
gw_asl_error(gw_asl_err_t *err, const char *error, const char *pointer,
    const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return -1;
    }

    snprintf(err->error, sizeof(err->error), "%s", error ? error : "");
    snprintf(err->pointer, sizeof(err->pointer), "%s",
             pointer ? pointer : "");

    err->cause[0] = '\0';

    if (fmt != NULL) {
        va_start(ap, fmt);
        vsnprintf(err->cause, sizeof(err->cause), fmt, ap);
        va_end(ap);
    }

    return -1;
}
