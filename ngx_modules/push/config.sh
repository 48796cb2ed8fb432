# push: who may subscribe to which push channel (docs/push.md).  Listed
# before keyauth and jwt, so its access handler runs after theirs.
gw_names="$gw_names ngx_http_gw_push_module"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_module.c"
# push: the transport, EventSource subscribers fed from Redis
gw_names="$gw_names ngx_http_gw_push_stream_module"
gw_deps="$gw_deps $ngx_addon_dir/push/ngx_http_gw_push_stream.h"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_stream_module.c"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_sub.c"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_fanout.c"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_walk.c"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_publish.c"
# push: WebSocket subscribers on the same locations (lib/ws: RFC 6455)
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_ws.c"
gw_lib_dirs="$gw_lib_dirs ws"
