
/*
 * Copyright (C) Tollgate
 *
 * Entities to one snapshot block.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
