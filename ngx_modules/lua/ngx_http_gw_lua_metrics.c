
/*
 * Copyright (C) Tollgate
 *
 * Placeholder: replaced by its owner (ngx_http_gw_lua.h).
 */


#include "ngx_http_gw_lua.h"


/* core's stub until the shared helper's metrics land */

void
ngx_http_gw_lua_metrics_call(ngx_http_gw_lua_plugin_t *plugin,
    ngx_uint_t phase, uint64_t ns, gw_lua_rc_e rc)
{
}


void
ngx_http_gw_lua_metrics_memory(ngx_http_gw_lua_plugin_t *plugin,
    size_t bytes)
{
}


ngx_int_t
ngx_http_gw_lua_metrics_init(ngx_conf_t *cf, ngx_array_t *plugins)
{
    return NGX_OK;
}
