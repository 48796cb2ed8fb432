
/*
 * Copyright (C) Tollgate
 *
 * What the files of the interpreter share (gw_asl_exec.c, the steps;
 * gw_asl_exec_fork.c, Parallel and Map; gw_asl_exec_field.c, the
 * fields read at run time) and gw_asl_local.c uses; nothing else.
 */


#ifndef _GW_ASL_EXEC_INT_H_INCLUDED_
#define _GW_ASL_EXEC_INT_H_INCLUDED_


#include "gw_asl.h"


#define GW_ASL_WAIT_MAX_S     (100LL * 366 * 86400)  /* seconds of a Wait */
#define GW_ASL_TIMEOUT_MAX_S  99999999LL             /* TimeoutSeconds,
                                                        HeartbeatSeconds */


/* a path's value (new): "$" is input itself, without a call */
json_t *gw_asl_exec_path(const char *path, json_t *input, json_t *context,
    gw_asl_err_t *err);
/* InputPath over the raw input: absent "$", null {}; new, or NULL */
json_t *gw_asl_exec_input(const gw_asl_state_t *st, json_t *input,
    json_t *context, gw_asl_err_t *err);
/* Parameters (not Map's) over the effective input; new, or NULL */
json_t *gw_asl_exec_parameters(const gw_asl_state_t *st, json_t *eff,
    json_t *context, gw_asl_err_t *err);
/* 0 when value is at most GW_ASL_PAYLOAD_MAX bytes of compact JSON and
 * nests at most GW_ASL_JSON_DEPTH_MAX deep, else -1 with
 * States.DataLimitExceeded naming what */
int gw_asl_exec_size(json_t *value, const char *what, gw_asl_err_t *err);
/* the error in step->err, of the state's own processing: States.Runtime
 * fails, any other goes to the catchers (never the retriers) */
gw_asl_next_e gw_asl_exec_error(const gw_asl_state_t *st, json_t *input,
    gw_asl_step_t *step);

/* Parallel and Map entered (gw_asl_exec_fork.c) */
gw_asl_next_e gw_asl_exec_fork(const gw_asl_state_t *st, json_t *input,
    json_t *context, gw_asl_step_t *step);

/*
 * gw_asl_exec_field.c.  An integer field name, or its name"Path" form
 * over input: in [min, max] or -1 with States.Runtime; *value left as
 * is when neither is there.
 */
int gw_asl_exec_int_field(const gw_asl_state_t *st, const char *name,
    json_t *input, json_t *context, int64_t min, int64_t max,
    int64_t *value, gw_asl_err_t *err);
/*
 * A string field name, or its name"Path" form (a path over input or an
 * intrinsic call) giving a string, else -1 with States.Runtime; buf
 * left as is when neither is there.
 */
int gw_asl_exec_string_field(const gw_asl_state_t *st, const char *name,
    json_t *input, json_t *context, char *buf, size_t size,
    gw_asl_err_t *err);


#endif /* _GW_ASL_EXEC_INT_H_INCLUDED_ */
