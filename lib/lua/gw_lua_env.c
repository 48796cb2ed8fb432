
/*
 * Copyright (C) Tollgate
 *
 * Placeholder: replaced by its owner (gw_lua.h).
 */


#include "gw_lua.h"
