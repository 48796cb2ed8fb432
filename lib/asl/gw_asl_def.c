
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


gw_asl_def_t *
gw_asl_def_parse(const char *text, size_t len, gw_asl_err_t *err)
{
    gw_asl_error(err, GW_ASL_E_INVALID, "", "not built yet");
    return NULL;
}


void
gw_asl_def_free(gw_asl_def_t *def)
{
}


gw_asl_state_t *
gw_asl_state_find(gw_asl_machine_t *m, const char *name)
{
    return NULL;
}


const char *
gw_asl_type_name(gw_asl_type_e type)
{
    return "";
}
