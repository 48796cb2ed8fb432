
/*
 * Copyright (C) Tollgate
 *
 * Placeholder: replaced by its owner (ngx_http_gw_lua.h).
 */


#include "ngx_http_gw_lua.h"


/* core's stub until the shared helper's dictionary lands */

char *
ngx_http_gw_lua_shdict_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return "is not implemented yet";
}
