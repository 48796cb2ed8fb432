
/*
 * Copyright (C) Tollgate
 *
 * API versions: Deprecation, Sunset, Link, the sunset status.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
