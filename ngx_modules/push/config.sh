# push: who may subscribe to which push channel (docs/push.md).  Listed
# before keyauth and jwt, so its access handler runs after theirs.
gw_names="$gw_names ngx_http_gw_push_module"
gw_srcs="$gw_srcs $ngx_addon_dir/push/ngx_http_gw_push_module.c"
