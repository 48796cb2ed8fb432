
/*
 * Copyright (C) Tollgate
 *
 * What the files of ngx_http_gw_config_module share (placeholder: written
 * by its part of issue 16).
 */


#ifndef _NGX_HTTP_GW_CONFIG_H_INCLUDED_
#define _NGX_HTTP_GW_CONFIG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gw_snapshot.h"


#endif /* _NGX_HTTP_GW_CONFIG_H_INCLUDED_ */
