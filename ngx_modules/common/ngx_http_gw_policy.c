
/*
 * Copyright (C) Tollgate
 *
 * Route policies: the registry and a route's location configuration.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
