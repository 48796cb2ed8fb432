
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


gw_asl_rule_t *
gw_asl_rule_compile(json_t *rule, int top, const char *pointer,
    gw_asl_err_t *err)
{
    gw_asl_error(err, GW_ASL_E_INVALID, pointer, "not built yet");
    return NULL;
}


void
gw_asl_rule_free(gw_asl_rule_t *rule)
{
}


int
gw_asl_rule_eval(gw_asl_rule_t *rule, json_t *input, json_t *context,
    gw_asl_err_t *err)
{
    return gw_asl_error(err, GW_ASL_E_RUNTIME, NULL, "not built yet");
}
