# limit: rate limits, local and global (docs/limit.md)
gw_names="$gw_names ngx_http_gw_limit_module ngx_http_gw_limit_lease_module"
gw_deps="$gw_deps $ngx_addon_dir/limit/ngx_http_gw_limit.h
          $ngx_addon_dir/limit/ngx_http_gw_limit_lease.h"
gw_srcs="$gw_srcs $ngx_addon_dir/limit/ngx_http_gw_limit_module.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_conf.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_zone.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_redis.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_batch.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_once.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_lease.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_lease_zone.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_headers.c
          $ngx_addon_dir/limit/ngx_http_gw_limit_route.c"
gw_lib_dirs="$gw_lib_dirs limit model"
gw_libs="$gw_libs -lcrypto -lm"
