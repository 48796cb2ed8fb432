# common: request ids, problem+json responses, shared helpers
gw_names="$gw_names ngx_http_gw_module ngx_http_gw_log_module"
gw_deps="$gw_deps $ngx_addon_dir/common/ngx_http_gw.h"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_module.c"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_log.c"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_log_module.c"
gw_lib_dirs="$gw_lib_dirs problem trace"
gw_libs="$gw_libs -ljansson -lcrypto"

# identity headers no client may send (X-Consumer-*, JWT claim headers)
gw_names="$gw_names ngx_http_gw_identity_module"
gw_deps="$gw_deps $ngx_addon_dir/common/ngx_http_gw_identity.h"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_identity.c"

# the one combination of authentication mechanisms (gw_auth_satisfy)
gw_names="$gw_names ngx_http_gw_auth_module"
gw_deps="$gw_deps $ngx_addon_dir/common/ngx_http_gw_auth.h"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_auth.c"

# a directive parser's message as a route policy's error
gw_deps="$gw_deps $ngx_addon_dir/common/ngx_http_gw_policy_err.h"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_policy_err.c"

# a request body's copy, made by a request body filter as it is read
gw_deps="$gw_deps $ngx_addon_dir/common/ngx_http_gw_body.h"
gw_srcs="$gw_srcs $ngx_addon_dir/common/ngx_http_gw_body.c"
