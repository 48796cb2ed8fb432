
/*
 * Copyright (C) Tollgate
 *
 * What gw_asl_exec.c shares with gw_asl_local.c, and nothing else.
 */


#ifndef _GW_ASL_EXEC_INT_H_INCLUDED_
#define _GW_ASL_EXEC_INT_H_INCLUDED_


#include "gw_asl.h"


/*
 * RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", an uppercase
 * T and Z, fractions past the millisecond dropped: 0 with *ms (epoch
 * milliseconds), or -1.
 */
int gw_asl_timestamp_parse(const char *s, int64_t *ms);


#endif /* _GW_ASL_EXEC_INT_H_INCLUDED_ */
