# validate: JSON Schema validation of bodies, arguments, headers
# (docs/validate.md)
gw_names="$gw_names ngx_http_gw_validate_module"
gw_deps="$gw_deps $ngx_addon_dir/validate/ngx_http_gw_validate.h"
gw_srcs="$gw_srcs $ngx_addon_dir/validate/ngx_http_gw_validate_module.c
          $ngx_addon_dir/validate/ngx_http_gw_validate_body.c
          $ngx_addon_dir/validate/ngx_http_gw_validate_json.c
          $ngx_addon_dir/validate/ngx_http_gw_validate_args.c"
gw_lib_dirs="$gw_lib_dirs jsonschema problem"
gw_libs="$gw_libs -lpcre2-8 -lm -ljansson"
