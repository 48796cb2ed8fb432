# trace: W3C Trace Context, continued or started at the edge (docs/metrics.md)
gw_names="$gw_names ngx_http_gw_trace_module"
gw_srcs="$gw_srcs $ngx_addon_dir/trace/ngx_http_gw_trace_module.c"
gw_lib_dirs="$gw_lib_dirs trace"
gw_libs="$gw_libs -lcrypto"
