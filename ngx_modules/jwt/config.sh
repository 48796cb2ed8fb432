# jwt: JWT authentication (docs/jwt.md)
gw_names="$gw_names ngx_http_gw_jwt_module ngx_http_gw_jwt_remote_module"
gw_deps="$gw_deps $ngx_addon_dir/jwt/ngx_http_gw_jwt.h
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_remote.h
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_revoke.h"
gw_srcs="$gw_srcs $ngx_addon_dir/jwt/ngx_http_gw_jwt_module.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_keys.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_cache.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_vars.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_revoke.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_revoke_sync.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_revoke_check.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_remote.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_remote_wait.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_fetch.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_zone.c
          $ngx_addon_dir/jwt/ngx_http_gw_jwt_route.c"
gw_lib_dirs="$gw_lib_dirs jose model http"
gw_libs="$gw_libs -lcrypto -lssl"
