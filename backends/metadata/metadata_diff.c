
/*
 * Copyright (C) Tollgate
 *
 * JSON diffs (placeholder until it lands: an empty patch).
 */


#include "metadata.h"


json_t *
md_diff(json_t *before, json_t *after)
{
    return json_array();
}
