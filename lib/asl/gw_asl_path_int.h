
/*
 * Copyright (C) Tollgate
 *
 * What gw_asl_template.c uses of gw_asl_path.c beyond the contract.
 */


#ifndef _GW_ASL_PATH_INT_H_INCLUDED_
#define _GW_ASL_PATH_INT_H_INCLUDED_


#include "gw_asl.h"


/*
 * gw_asl_path_get() that also tells, in *missing (may be NULL), whether
 * it failed because the path names nothing (1) rather than for another
 * reason (0): a bad path, too much work, no memory.
 */
json_t *gw_asl_path_select(const char *path, json_t *input, json_t *context,
    int *missing, gw_asl_err_t *err);

/* v as compact JSON in buf (size > 4), cut with "..." when it is longer */
void gw_asl_path_dump(json_t *v, char *buf, size_t size);


#endif /* _GW_ASL_PATH_INT_H_INCLUDED_ */
