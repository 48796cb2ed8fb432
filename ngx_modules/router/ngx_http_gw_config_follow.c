
/*
 * Copyright (C) Tollgate
 *
 * The builder's election and the change log follower.
 * (placeholder: replaced by its part of issue 16)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
