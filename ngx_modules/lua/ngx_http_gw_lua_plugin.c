
/*
 * Copyright (C) Tollgate
 *
 * Placeholder: replaced by its owner (ngx_http_gw_lua.h).
 */


#include "ngx_http_gw_lua.h"
