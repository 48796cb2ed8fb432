# redis: the per-worker asynchronous Redis client (docs/redis.md)
gw_names="$gw_names ngx_http_gw_redis_module"
gw_deps="$gw_deps $ngx_addon_dir/redis/ngx_http_gw_redis.h
          $ngx_addon_dir/redis/ngx_http_gw_redis_int.h"
gw_srcs="$gw_srcs $ngx_addon_dir/redis/ngx_http_gw_redis_module.c
          $ngx_addon_dir/redis/ngx_http_gw_redis_conn.c
          $ngx_addon_dir/redis/ngx_http_gw_redis_cmd.c
          $ngx_addon_dir/redis/ngx_http_gw_redis_status.c"
gw_libs="$gw_libs -lhiredis"
