# lua: Lua plugins on LuaJIT, sandboxed (docs/plugins.md): the plugin
# files, the phases that run them, the "gw" API, the shared dictionary,
# Redis from Lua, per-plugin metrics.  The early module runs the access
# handlers of plugins that ask to come before authentication.
gw_names="$gw_names ngx_http_gw_lua_module"
gw_names_last="$gw_names_last ngx_http_gw_lua_early_module"
gw_incs="$gw_incs $(pkg-config --cflags-only-I luajit | sed 's/-I//g')"
gw_deps="$gw_deps $ngx_addon_dir/lua/ngx_http_gw_lua.h
          $ngx_addon_dir/lua/ngx_http_gw_lua_int.h
          $ngx_addon_dir/lua/ngx_http_gw_lua_api.h
          $ngx_addon_dir/router/ngx_http_gw_router.h"
gw_srcs="$gw_srcs $ngx_addon_dir/lua/ngx_http_gw_lua_module.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_plugin.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_lib.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_run.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_body.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_filter.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_inst.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_reload.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_exit.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_req.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_args.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_resp.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_hname.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_hvalue.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_hset.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_api_jit.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_shdict.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_redis.c
          $ngx_addon_dir/lua/ngx_http_gw_lua_metrics.c"
gw_lib_dirs="$gw_lib_dirs lua jsonschema problem"
gw_libs="$gw_libs $(pkg-config --libs luajit) -lpthread -ljansson"
