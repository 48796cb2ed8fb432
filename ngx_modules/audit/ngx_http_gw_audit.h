
/*
 * Copyright (C) Tollgate
 *
 * Audit events from the gateway's log phase to the gw:audit stream
 * (docs/audit.md): what other features read of it.
 */


#ifndef _NGX_HTTP_GW_AUDIT_H_INCLUDED_
#define _NGX_HTTP_GW_AUDIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


extern ngx_module_t  ngx_http_gw_audit_module;


#endif /* _NGX_HTTP_GW_AUDIT_H_INCLUDED_ */
