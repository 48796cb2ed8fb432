
/*
 * Copyright (C) Tollgate
 *
 * Placeholder: replaced by its owner (ngx_http_gw_lua.h).
 */


#include "ngx_http_gw_lua.h"


static ngx_http_module_t  ngx_http_gw_lua_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_http_gw_lua_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_lua_module_ctx,
    NULL,
    NGX_HTTP_MODULE,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


ngx_module_t  ngx_http_gw_lua_early_module = {
    NGX_MODULE_V1,
    &ngx_http_gw_lua_module_ctx,
    NULL,
    NGX_HTTP_MODULE,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};
