
/*
 * Copyright (C) Tollgate
 *
 * PLACEHOLDER of the workflow contract: replaced whole by its owner.
 */


#include "gw_asl.h"


void
gw_asl_step_init(gw_asl_step_t *step)
{
}


void
gw_asl_step_free(gw_asl_step_t *step)
{
}


gw_asl_next_e
gw_asl_enter(const gw_asl_state_t *st, json_t *input, json_t *context,
    int64_t now_ms, gw_asl_step_t *step)
{
    gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL, "not built yet");
    return GW_ASL_FAILED;
}


gw_asl_next_e
gw_asl_resume(const gw_asl_state_t *st, json_t *input, json_t *context,
    json_t *result, gw_asl_step_t *step)
{
    gw_asl_error(&step->err, GW_ASL_E_RUNTIME, NULL, "not built yet");
    return GW_ASL_FAILED;
}


gw_asl_next_e
gw_asl_fail(const gw_asl_state_t *st, json_t *input, const char *error,
    const char *cause, const unsigned *retries, double rnd,
    gw_asl_step_t *step)
{
    gw_asl_error(&step->err, error, NULL, "%s", cause);
    return GW_ASL_FAILED;
}
