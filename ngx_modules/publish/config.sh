# publish: request bodies to Redis streams, a topic's partitions (docs/publish.md)
gw_names="$gw_names ngx_http_gw_publish_module"
gw_deps="$gw_deps $ngx_addon_dir/publish/ngx_http_gw_publish.h"
gw_srcs="$gw_srcs $ngx_addon_dir/publish/ngx_http_gw_publish_module.c"
gw_srcs="$gw_srcs $ngx_addon_dir/publish/ngx_http_gw_publish_body.c"
gw_srcs="$gw_srcs $ngx_addon_dir/publish/ngx_http_gw_publish_metrics.c"
gw_lib_dirs="$gw_lib_dirs model problem trace"
