# router: dynamic routing from the admin API (docs/routing.md): the
# configuration snapshot one builder per gateway makes from the metadata
# service's change log (gw_config), the router over it (gw_router), the
# balancer of its upstreams (gw_upstream)
gw_names="$gw_names ngx_http_gw_config_module ngx_http_gw_router_module
          ngx_http_gw_upstream_module ngx_http_gw_route_state_module"
gw_deps="$gw_deps $ngx_addon_dir/router/ngx_http_gw_snapshot.h
          $ngx_addon_dir/router/ngx_http_gw_config.h
          $ngx_addon_dir/router/ngx_http_gw_router.h
          $ngx_addon_dir/router/ngx_http_gw_router_int.h
          $ngx_addon_dir/router/ngx_http_gw_upstream.h
          $ngx_addon_dir/router/ngx_http_gw_router_state.h
          $ngx_addon_dir/common/ngx_http_gw_policy.h"
gw_srcs="$gw_srcs $ngx_addon_dir/router/ngx_http_gw_config_module.c
          $ngx_addon_dir/router/ngx_http_gw_config_follow.c
          $ngx_addon_dir/router/ngx_http_gw_config_model.c
          $ngx_addon_dir/router/ngx_http_gw_config_build.c
          $ngx_addon_dir/router/ngx_http_gw_config_route.c
          $ngx_addon_dir/router/ngx_http_gw_config_health.c
          $ngx_addon_dir/router/ngx_http_gw_config_status.c
          $ngx_addon_dir/router/ngx_http_gw_router_module.c
          $ngx_addon_dir/router/ngx_http_gw_router_conf.c
          $ngx_addon_dir/router/ngx_http_gw_router_life.c
          $ngx_addon_dir/router/ngx_http_gw_router_split.c
          $ngx_addon_dir/router/ngx_http_gw_router_state.c
          $ngx_addon_dir/router/ngx_http_gw_upstream_module.c
          $ngx_addon_dir/router/ngx_http_gw_upstream_health.c
          $ngx_addon_dir/router/ngx_http_gw_upstream_check.c
          $ngx_addon_dir/router/ngx_http_gw_upstream_metrics.c
          $ngx_addon_dir/common/ngx_http_gw_policy.c"
gw_lib_dirs="$gw_lib_dirs router balance"
gw_libs="$gw_libs -lpcre2-8 -ljansson"
