# vi:ft=perl
#
# Lua plugins: the phases and their order (docs/plugins.md, "Phases and
# order").  Access, header filter, body filter (streaming, eof) and log
# run in priority order (higher first, then by name) with one ctx table
# per plugin kept across the phases of a request; gw.exit answers from
# access with no further plugin and no upstream; early plugins run
# before authentication (gw_key_auth), the others after it; a body = true
# plugin reads the request body, capped by gw_plugin_body_max; a
# location's gw_plugin replaces the server's of the same name and keeps
# the others; the configuration passes through init() once.
#
# Plugins live in the servroot (user_files, html/plugins).  The access
# phase runs in precontent, which "return" in the same location would
# skip: tested locations proxy to /up.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

our $Plugins = <<'_EOP_';
>>> plugins/alpha.lua
local P = { priority = 20 }
function P.init(conf)
    conf.inits = (conf.inits or 0) + 1
    return conf
end
function P.access(conf, ctx)
    ctx.seen = "alpha"
    gw.req.set_header("X-Alpha", conf.v .. "/" .. conf.inits)
    if gw.req.arg("exit") then
        gw.exit(tonumber(gw.req.arg("exit")), "bye from alpha\n",
                { ["X-Exit"] = "alpha" })
    end
end
function P.header_filter(conf, ctx)
    gw.resp.set_header("X-Order", (gw.resp.header("X-Order") or "")
                       .. "alpha(" .. ctx.seen .. ")")
end
function P.body_filter(conf, ctx, chunk, eof)
    return chunk:upper()
end
function P.log(conf, ctx)
    gw.log.info("log", ctx.seen, gw.resp.status())
end
return P
>>> plugins/alpha.schema.json
{"type": "object", "properties": {"v": {"type": "string"}},
 "required": ["v"]}
>>> plugins/beta.lua
local P = { priority = 10 }
function P.access(conf, ctx)
    ctx.seen = "beta"
    gw.req.set_header("X-Beta", gw.req.header("X-Alpha") or "none")
end
function P.header_filter(conf, ctx)
    gw.resp.set_header("X-Order", (gw.resp.header("X-Order") or "")
                       .. "beta(" .. (ctx.seen or "-") .. ")")
end
function P.body_filter(conf, ctx, chunk, eof)
    ctx.chunks = (ctx.chunks or 0) + 1
    if eof then
        return chunk .. "[" .. ctx.chunks .. " eof]"
    end
    return chunk
end
return P
>>> plugins/beta.schema.json
{"type": "object"}
>>> plugins/aardvark.lua
local P = { priority = 10 }
function P.header_filter(conf, ctx)
    gw.resp.set_header("X-Order", (gw.resp.header("X-Order") or "")
                       .. "aardvark")
end
return P
>>> plugins/aardvark.schema.json
{}
>>> plugins/early.lua
local P = { priority = 1, early = true }
function P.access(conf, ctx)
    if gw.req.header("X-Early-Exit") then
        gw.exit(204, nil, { ["X-Early"] = "yes" })
    end
end
return P
>>> plugins/early.schema.json
{}
>>> plugins/body.lua
local P = { body = true }
function P.access(conf, ctx)
    local b, err = gw.req.body()
    gw.exit(200, "body=" .. tostring(b) .. " err=" .. tostring(err) .. "\n")
end
return P
>>> plugins/body.schema.json
{}
>>> plugins/problem.lua
return { access = function(conf, ctx)
    gw.problem(403, "Not Today", "the plugin says no")
end }
>>> plugins/problem.schema.json
{}
>>> plugins/onlypost.lua
return {
    access_methods = { "POST", "PUT" },
    access = function(conf, ctx) ctx.seen = gw.req.method() end,
    header_filter = function(conf, ctx)
        gw.resp.set_header("X-Access", ctx.seen or "skipped")
    end,
}
>>> plugins/onlypost.schema.json
{}
_EOP_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $Plugins)
        unless defined $block->user_files;
    $block->set_value('http_config', <<'_EOC_')
    gw_plugin_path html/plugins;
    gw_plugin_body_max 16;
_EOC_
        unless defined $block->http_config;
    $block->set_value('no_error_log', '[error]')
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: every phase, in priority order, one ctx per plugin
--- config
    location /up { return 200 "up $http_x_alpha $http_x_beta\n"; }
    location /t {
        gw_plugin beta;
        gw_plugin alpha '{"v": "one"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t
--- response_headers
X-Order: alpha(alpha)beta(beta)
--- response_body chomp
UP ONE/1 ONE/1
[2 eof]
--- error_log
plugin alpha: log alpha 200



=== TEST 2: same priority: by name
--- config
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin beta;
        gw_plugin aardvark;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t
--- response_headers
X-Order: aardvarkbeta(beta)



=== TEST 3: gw.exit answers: no further plugin, no upstream
--- config
    location /up { return 500 "the upstream was asked\n"; }
    location /t {
        gw_plugin beta;
        gw_plugin alpha '{"v": "one"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t?exit=418
--- error_code: 418
--- response_headers
X-Exit: alpha
--- response_body chomp
BYE FROM ALPHA
[1 eof]



=== TEST 4: gw.problem answers a problem+json
--- config
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin problem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- response_body_like: "title":"Not Today".*"detail":"the plugin says no"



=== TEST 5: an early plugin answers before the access phase's checks
--- config
    location /up { return 200 "up\n"; }
    location /t {
        deny all;
        gw_plugin early;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t
--- more_headers
X-Early-Exit: 1
--- error_code: 204
--- response_headers
X-Early: yes
--- no_error_log
[error]



=== TEST 6: a late plugin comes after the access phase's checks
--- config
    location /up { return 200 "up\n"; }
    location /t {
        deny all;
        gw_plugin problem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t
--- error_code: 403
--- response_body_unlike: Not Today
--- no_error_log
plugin



=== TEST 7: a body = true plugin reads the body
--- config
    location /t {
        gw_plugin body;
        proxy_pass http://127.0.0.1:1;
    }
--- request
POST /t
0123456789
--- response_body
body=0123456789 err=nil



=== TEST 8: a body past gw_plugin_body_max
--- config
    location /t {
        gw_plugin body;
        proxy_pass http://127.0.0.1:1;
    }
--- request
POST /t
0123456789abcdefghij
--- response_body
body=nil err=too large



=== TEST 9: a location's gw_plugin replaces the server's of that name
--- http_config
    gw_plugin_path html/plugins;
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location /up { return 200 "up $http_x_alpha\n"; }
    }
--- config
    gw_plugin alpha '{"v": "server"}';
    gw_plugin aardvark;
    location /t {
        gw_plugin alpha '{"v": "loc"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
    location /s {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/up;
    }
--- pipelined_requests eval
["GET /t", "GET /s"]
--- response_body eval
["UP LOC/1\n", "UP SERVER/1\n"]
--- response_headers_like eval
["X-Order: alpha\\(alpha\\)aardvark", "X-Order: alpha\\(alpha\\)aardvark"]



=== TEST 10: init runs once per configuration per worker
--- config
    location /up { return 200 "up $http_x_alpha\n"; }
    location /t {
        gw_plugin alpha '{"v": "x"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- pipelined_requests eval
["GET /t", "GET /t", "GET /t"]
--- response_body eval
["UP X/1\n", "UP X/1\n", "UP X/1\n"]



=== TEST 11: no plugin in a location: nothing runs
--- config
    location /up { return 200 "up [$http_x_alpha]\n"; }
    location /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /t
--- response_body
up []
--- response_headers
X-Order:



=== TEST 12: access_methods: the access handler runs for those only
--- config
    location /up { return 200 "up\n"; }
    location /t {
        gw_plugin onlypost;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- pipelined_requests eval
["GET /t", "POST /t", "PUT /t", "DELETE /t"]
--- more_headers
Content-Length: 0
--- response_headers eval
["X-Access: skipped", "X-Access: POST", "X-Access: PUT",
 "X-Access: skipped"]
