
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


json_t *
gw_asl_template_apply(json_t *tmpl, json_t *input, json_t *context,
    const char *error_name, gw_asl_err_t *err)
{
    gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "not built yet");
    return NULL;
}


int
gw_asl_template_check(json_t *tmpl, const char *pointer, gw_asl_err_t *err)
{
    return gw_asl_error(err, GW_ASL_E_INVALID, pointer, "not built yet");
}
