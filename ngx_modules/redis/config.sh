# redis: the per-worker asynchronous Redis client (docs/redis.md)
gw_names="$gw_names ngx_http_gw_redis_module"
gw_deps="$gw_deps $ngx_addon_dir/redis/ngx_http_gw_redis.h
          $ngx_addon_dir/redis/ngx_http_gw_redis_int.h"
gw_srcs="$gw_srcs $ngx_addon_dir/redis/ngx_http_gw_redis_module.c
          $ngx_addon_dir/redis/ngx_http_gw_redis_conn.c
          $ngx_addon_dir/redis/ngx_http_gw_redis_cmd.c
          $ngx_addon_dir/redis/ngx_http_gw_redis_status.c"
# hiredis linked in, its symbols kept local: Debian's nchan module carries
# its own hiredis (1.x, another ABI) and exports it, so with one shared
# libhiredis both modules' calls would go to whichever copy the dynamic
# linker found first, and one of them would crash (docs/push.md)
gw_libs="$gw_libs -l:libhiredis.a -Wl,--exclude-libs,libhiredis.a"
