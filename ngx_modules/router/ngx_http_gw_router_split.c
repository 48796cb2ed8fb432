
/*
 * Copyright (C) Tollgate
 *
 * Canary splits, sticky per consumer.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
