# vi:ft=perl
#
# Lua plugins: failures (docs/plugins.md, "Failures").  An error in
# access or the header filter gets the failure answer: a problem+json of
# type urn:tollgate:problem:plugin-failed naming the plugin, never the
# Lua message, which goes to error.log (escaped); gw_plugin_failure sets
# its status.  A header-filter failure replaces the whole response (the
# upstream's status, headers and body are gone).  A body-filter failure
# aborts the response; a log failure is logged only.  A yield outside
# gw.redis, a budget spent and a body_filter returning a table fail as
# errors do.  The worker serves the next request.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

our $Plugins = <<'_EOP_';
>>> plugins/boom.lua
local P = {}
function P.access(conf, ctx)
    if conf.where == "access" then error("secret \1 detail") end
end
function P.header_filter(conf, ctx)
    if conf.where == "header" then error("header boom") end
end
function P.body_filter(conf, ctx, chunk, eof)
    if conf.where == "body" then error("body boom") end
    if conf.where == "table" then return {} end
    return chunk
end
function P.log(conf, ctx)
    if conf.where == "log" then error("log boom") end
end
return P
>>> plugins/boom.schema.json
{"type": "object", "properties": {"where": {"type": "string"}}}
>>> plugins/yielder.lua
return { access = function() coroutine.yield() end }
>>> plugins/yielder.schema.json
{}
>>> plugins/spin.lua
return { access = function() local i = 0 while true do i = i + 1 end end }
>>> plugins/spin.schema.json
{}
_EOP_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $Plugins)
        unless defined $block->user_files;
    $block->set_value('http_config', <<'_EOC_')
    gw_plugin_path html/plugins;
    gw_plugin_budget instructions=100000 time=1000ms;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location /up {
            add_header X-Up yes;
            return 200 "upstream body\n";
        }
    }
_EOC_
        unless defined $block->http_config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an error in access: the failure answer, the message logged
--- config
    location /t {
        gw_plugin boom '{"where": "access"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- error_code: 500
--- response_headers
Content-Type: application/problem+json
--- response_body_like: ^\{"type":"urn:tollgate:problem:plugin-failed","title":"Plugin Failed","status":500,"detail":"the plugin \\"boom\\" failed"
--- response_body_unlike: secret
--- error_log eval
qr/\[error\] .*plugin "boom" failed in access: error: boom:3: secret \? detail/



=== TEST 2: gw_plugin_failure sets the status
--- config
    location /t {
        gw_plugin_failure 503;
        gw_plugin boom '{"where": "access"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- error_code: 503
--- response_body_like: "status":503,"detail":"the plugin \\"boom\\" failed"
--- error_log
plugin "boom" failed in access



=== TEST 3: an error in the header filter replaces the response
--- config
    location /t {
        gw_plugin boom '{"where": "header"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- error_code: 500
--- response_headers
Content-Type: application/problem+json
X-Up:
--- response_body_like: ^\{"type":"urn:tollgate:problem:plugin-failed".*"detail":"the plugin \\"boom\\" failed".*\}$
--- response_body_unlike: upstream body
--- error_log
plugin "boom" failed in header_filter: error: boom:6: header boom



=== TEST 4: an error in the body filter aborts the response
--- config
    location /t {
        gw_plugin boom '{"where": "body"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- ignore_response
--- error_log
plugin "boom" failed in body_filter: error: boom:9: body boom



=== TEST 5: a body filter returning a table fails
--- config
    location /t {
        gw_plugin boom '{"where": "table"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- ignore_response
--- error_log
plugin "boom" failed in body_filter: error: body_filter returned a table, not a string



=== TEST 6: an error in log is logged only
--- config
    location /t {
        gw_plugin boom '{"where": "log"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- response_body
upstream body
--- error_log
plugin "boom" failed in log: error: boom:14: log boom



=== TEST 7: a yield outside gw.redis
--- config
    location /t {
        gw_plugin yielder;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- error_code: 500
--- response_body_like: plugin-failed
--- error_log
plugin "yielder" failed in access: error: yielded outside gw.redis



=== TEST 8: a budget spent
--- config
    location /t {
        gw_plugin spin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- request
GET /t
--- error_code: 500
--- response_body_like: plugin-failed
--- error_log eval
qr/plugin "spin" failed in access: budget: /



=== TEST 9: the worker serves the next request
--- config
    location /t {
        gw_plugin spin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
    location /ok {
        gw_plugin boom;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- pipelined_requests eval
["GET /t", "GET /ok"]
--- error_code eval
[500, 200]
--- response_body_like eval
["plugin-failed", "upstream body"]
--- no_error_log
[alert]
[crit]
