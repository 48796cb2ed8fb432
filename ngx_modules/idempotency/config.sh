# idempotency: Idempotency-Key for POST and PATCH (docs/idempotency.md).
# The precontent handler is listed before lua, validate and limit, so it
# runs after them; the filter module is registered last, so its filters
# see the content handler's answer before any other filter changes it.
gw_names="$gw_names ngx_http_gw_idempotency_module"
gw_names_last="$gw_names_last ngx_http_gw_idempotency_filter_module"
gw_deps="$gw_deps $ngx_addon_dir/idempotency/ngx_http_gw_idempotency.h"
gw_srcs="$gw_srcs $ngx_addon_dir/idempotency/ngx_http_gw_idempotency_module.c
          $ngx_addon_dir/idempotency/ngx_http_gw_idempotency_answer.c
          $ngx_addon_dir/idempotency/ngx_http_gw_idempotency_filter.c"
gw_lib_dirs="$gw_lib_dirs idem problem model"
gw_libs="$gw_libs -lcrypto"
