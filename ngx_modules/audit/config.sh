# audit: audit events to the gw:audit stream (docs/audit.md)
gw_names="$gw_names ngx_http_gw_audit_module"
gw_deps="$gw_deps $ngx_addon_dir/audit/ngx_http_gw_audit.h"
gw_srcs="$gw_srcs $ngx_addon_dir/audit/ngx_http_gw_audit_module.c"
gw_lib_dirs="$gw_lib_dirs model problem"
gw_libs="$gw_libs -lcrypto"
