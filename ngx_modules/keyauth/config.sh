# keyauth: API-key authentication and consumers (docs/key-auth.md)
gw_names="$gw_names ngx_http_gw_keyauth_module"
gw_deps="$gw_deps $ngx_addon_dir/keyauth/ngx_http_gw_keyauth.h
          $ngx_addon_dir/keyauth/ngx_http_gw_keyauth_int.h"
gw_srcs="$gw_srcs $ngx_addon_dir/keyauth/ngx_http_gw_keyauth_module.c
          $ngx_addon_dir/keyauth/ngx_http_gw_keyauth_reply.c
          $ngx_addon_dir/keyauth/ngx_http_gw_keyauth_cache.c
          $ngx_addon_dir/keyauth/ngx_http_gw_keyauth_route.c"
gw_lib_dirs="$gw_lib_dirs model"
gw_libs="$gw_libs -lcrypto"
