# metrics: Prometheus counters in shared memory, route names, the request
# outcomes other features report (docs/metrics.md)
gw_names="$gw_names ngx_http_gw_metrics_module"
gw_deps="$gw_deps $ngx_addon_dir/metrics/ngx_http_gw_metrics.h
          $ngx_addon_dir/metrics/ngx_http_gw_metrics_int.h"
gw_srcs="$gw_srcs $ngx_addon_dir/metrics/ngx_http_gw_metrics_module.c
          $ngx_addon_dir/metrics/ngx_http_gw_metrics_conf.c
          $ngx_addon_dir/metrics/ngx_http_gw_metrics_export.c
          $ngx_addon_dir/metrics/ngx_http_gw_metrics_log.c"
