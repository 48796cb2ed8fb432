
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


int
gw_asl_path_check(const char *path, int kind, gw_asl_err_t *err)
{
    return gw_asl_error(err, GW_ASL_E_INVALID, NULL, "not built yet");
}


json_t *
gw_asl_path_get(const char *path, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "not built yet");
    return NULL;
}


json_t *
gw_asl_path_put(const char *ref, json_t *input, json_t *value,
    gw_asl_err_t *err)
{
    gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "not built yet");
    return NULL;
}
