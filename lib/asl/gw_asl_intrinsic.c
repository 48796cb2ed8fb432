
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


int
gw_asl_intrinsic_check(const char *call, gw_asl_err_t *err)
{
    return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "not built yet");
}


json_t *
gw_asl_intrinsic_eval(const char *call, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    gw_asl_error(err, GW_ASL_E_INTRINSIC, NULL, "not built yet");
    return NULL;
}


int
gw_asl_intrinsic_is_call(const char *s)
{
    return 0;
}
