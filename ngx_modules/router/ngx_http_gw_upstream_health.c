
/*
 * Copyright (C) Tollgate
 *
 * Passive and active health of upstream targets.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
