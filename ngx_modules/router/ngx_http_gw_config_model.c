
/*
 * Copyright (C) Tollgate
 *
 * The builder's entities and the changes applied to them.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
