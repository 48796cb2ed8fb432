# vi:ft=perl
#
# The "gw" API plugins call (docs/plugins-api.md): every function in the
# phases it allows, and the error it raises in one it does not; the
# attacks a plugin's values could carry towards nginx (CR/LF in a header
# value, a header name with a space, a value past the cap, 101 query
# arguments, statuses 99, 600 and 1xx, a body past gw_plugin_body_max),
# duplicated headers (header() the first, headers() an array, set_header
# replacing them all), nginx's own view of a header a plugin changed
# ($http_user_agent, $http_cookie, $host), gw.consumer() with an API key
# and gw.claims() with a JWT.
#
# Each block's "--- plugin" section is a plugin file t.lua (its schema
# accepts any object) written to html/plugins of the server root, and
# "--- body_plugin" one with body = true, tb.lua.  Upstreams are
# Tollgate::Echo, which answers with the request line and headers it got.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Echo;
use Tollgate::Gwctl;
use Tollgate::JWT qw(jwt keys_dir now);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $echo = Tollgate::Echo->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

our %key;
$ctl->consumer_add('alice', name => 'Alice Smith', plan => 'gold',
                   tags => 'eu,ops_team');
$key{alice} = $ctl->key_create('alice');
$ctl->consumer_add('bob');
$key{bob} = $ctl->key_create('bob');

our $tok = jwt(alg => 'RS256',
               payload => { sub => 'alice', exp => now() + 3600,
                            roles => ['a', 'b'], org => { id => 7 } });

our $args101 = join '&', map { "a$_=$_" } 1 .. 101;
our $long = 'v' x 8192;

# TEST_GW_TRUSTED=1 (t/139 runs this file so): the plugins are trusted
# (JIT on, the FFI) and get the compiled calls (docs/plugins-api.md), and
# each block runs three times: a name is cached at its first call, a value
# at its second, and from then on the compiled calls take them
my $TRUST = $ENV{TEST_GW_TRUSTED} ? " trusted" : "";

repeat_each(3) if $ENV{TEST_GW_TRUSTED};

my $SCHEMA = qq({"type": "object"}\n);

add_block_preprocessor(sub {
    my $block = shift;
    my $files = '';

    if (defined $block->plugin) {
        $files .= ">>> plugins/t.lua\n" . $block->plugin
                  . ">>> plugins/t.schema.json\n$SCHEMA";
    }

    if (defined $block->body_plugin) {
        $files .= ">>> plugins/tb.lua\n" . $block->body_plugin
                  . ">>> plugins/tb.schema.json\n$SCHEMA";
    }

    return if $files eq '';

    $block->set_value('user_files', $files);
    $block->set_value('http_config', "    gw_plugin_path html/plugins$TRUST;\n"
                      . ($block->http_config // ''));
});

run_tests();

__DATA__

=== TEST 1: the request's reads in access
--- plugin
local P = {}
function P.access(conf, ctx)
    local a = gw.req.args()
    local h = gw.req.headers()
    gw.exit(200, table.concat({
        gw.req.method(), gw.req.path(), gw.req.uri(),
        a.x, tostring(a.flag), a.y[1] .. '+' .. a.y[2], a.sp,
        gw.req.arg('y'), tostring(gw.req.arg('none')),
        gw.req.header('x-dup'), h['x-dup'][1] .. '|' .. h['x-dup'][2],
        h['x-one'], gw.req.client_ip(), gw.req.scheme(), gw.req.host(),
        tostring(#gw.request_id()), tostring(gw.time() > 1.7e9),
        tostring(gw.route()), tostring(gw.consumer()), tostring(gw.claims()),
    }, ' ') .. '\n')
end
return P
--- config
    location /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t/a%20b?x=1&flag&y=2&y=3&sp=a+b%21
--- more_headers
X-Dup: one
X-Dup: two
X-One: 1
Host: Example.COM:8080
--- response_body
GET /t/a b /t/a%20b?x=1&flag&y=2&y=3&sp=a+b%21 1 true 2+3 a b! 2 nil one one|two 1 127.0.0.1 http example.com 32 true nil nil nil
--- no_error_log
[error]



=== TEST 2: headers set for the upstream, and nginx's own view of them
--- plugin
local P = {}
function P.access(conf, ctx)
    gw.req.set_header('X-Dup', 'replaced')
    gw.req.add_header('X-Added', 'a1')
    gw.req.add_header('X-Added', 'a2')
    gw.req.remove_header('X-Gone')
    gw.req.set_header('User-Agent', 'plugin/1')
    gw.req.set_header('Cookie', 'c=2')
    gw.req.set_header('Host', 'Up.Example:81')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_set_header X-UA $http_user_agent;
        proxy_set_header X-Cookie $http_cookie;
        proxy_set_header X-Host $host;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- more_headers
X-Dup: one
X-Dup: two
X-Gone: 1
User-Agent: client/9
Cookie: c=1
--- response_body_like eval
qr{\AGET /up HTTP/1.0\n(?!(?:.*\n)?X-Gone:)(?!(?:.*\n)?X-Dup: one)(?=(?:.*\n)?X-UA: plugin/1\n)(?=(?:.*\n)?X-Cookie: c=2\n)(?=(?:.*\n)?X-Host: up.example\n)(?=(?:.*\n)?X-Dup: replaced\n)(?=(?:.*\n)?X-Added: a1\nX-Added: a2\n)}s
--- no_error_log
[error]



=== TEST 3: attacks on request headers: CR/LF, a name with a space, the cap
--- plugin
local P = {}
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.access(conf, ctx)
    local cap = string.rep('v', 8192)
    gw.exit(200, table.concat({
        try(gw.req.set_header, 'X-A', 'a\r\nX-Evil: 1'),
        try(gw.req.set_header, 'X-A', 'a\nb'),
        try(gw.req.add_header, 'X A', 'a'),
        try(gw.req.set_header, '', 'a'),
        try(gw.req.set_header, 'X-Cap', cap),
        try(gw.req.set_header, 'X-Cap', cap .. 'v'),
        try(gw.req.set_header, 'Content-Length', '5'),
        try(gw.req.set_header, 'Host', 'a b'),
        try(gw.req.set_header, 'X-A', {}),
    }, '\n') .. '\n')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- response_body
gw.req.set_header: control character in the header value
gw.req.set_header: control character in the header value
gw.req.add_header: invalid header name
gw.req.set_header: invalid header name
ok
gw.req.set_header: header value longer than 8192 bytes
gw.req.set_header: the body's framing is set by gw.req.set_body()
gw.req.set_header: invalid Host
gw.req.set_header: the header value must be a string
--- no_error_log
[error]



=== TEST 4: 101 query arguments: args() stops at 100; set_args refuses 101
--- plugin
local P = {}
function P.access(conf, ctx)
    local a, more = gw.req.args()
    local n = 0
    for _ in pairs(a) do n = n + 1 end
    local t = {}
    for i = 1, 101 do t['k' .. i] = i end
    local ok, err = pcall(gw.req.set_args, t)
    gw.exit(200, n .. ' ' .. tostring(more) .. ' ' .. gw.req.arg('a101')
                 .. ' ' .. err .. '\n')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
"GET /t?$::args101"
--- response_body
100 truncated 101 gw.req.set_args: more than 100 arguments
--- no_error_log
[error]



=== TEST 5: set_args rewrites what the upstream gets; a bad string refused
--- plugin
local P = {}
function P.access(conf, ctx)
    local ok, err = pcall(gw.req.set_args, 'a=1#frag')
    gw.req.set_header('X-Err', err)
    gw.req.set_args({ z = 'last', a = { '1', 2 }, ['sp ace'] = 'a&b=c',
                      bare = true })
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t?old=1
--- response_body_like eval
qr{\AGET /t\?a=1&a=2&bare&sp%20ace=a%26b%3Dc&z=last HTTP/1\.0\n(?=(?:.*\n)?X-Err: gw\.req\.set_args: invalid character in the arguments\n)}s
--- no_error_log
[error]



=== TEST 6: gw.exit with a table body and headers; statuses at the bounds
--- plugin
local P = {}
function P.access(conf, ctx)
    local r = {}
    for _, s in ipairs({ 99, 100, 101, 199, 600, 200.5 }) do
        local ok, err = pcall(gw.exit, s)
        r[#r + 1] = err
    end
    local ok, err = pcall(gw.exit, 200, 'x', { ['X-A'] = 'a\r\nb' })
    r[#r + 1] = err
    ok, err = pcall(gw.exit, 200, 'x', { ['Content-Length'] = '1' })
    r[#r + 1] = err
    gw.exit(599, { errors = r }, { ['X-Plugin'] = 'yes' })
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- error_code: 599
--- response_headers
X-Plugin: yes
Content-Type: application/json
--- response_body_like eval
qr{^\{"errors":\["gw\.exit: the status must be an integer 200\.\.599","gw\.exit: the status must be an integer 200\.\.599","gw\.exit: the status must be an integer 200\.\.599","gw\.exit: the status must be an integer 200\.\.599","gw\.exit: the status must be an integer 200\.\.599","gw\.exit: the status must be an integer 200\.\.599","gw\.exit: control character in the header value","gw\.exit: header \\"Content-Length\\" is not the plugin's to set"\]\}$}
--- no_error_log
[error]



=== TEST 7: gw.problem answers problem+json
--- plugin
local P = {}
function P.access(conf, ctx)
    gw.problem(403, 'Forbidden by plugin', 'not today')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
qr/"title":"Forbidden by plugin".*"detail":"not today"/
--- no_error_log
[error]



=== TEST 8: header filter: status and headers of the response, duplicates
--- plugin
local P = {}
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.header_filter(conf, ctx)
    local h = gw.resp.headers()
    gw.resp.set_header('X-First', gw.resp.header('x-dup'))
    gw.resp.set_header('X-All', table.concat(h['x-dup'], ','))
    gw.resp.set_header('X-Status', gw.resp.status())
    gw.resp.set_header('X-Dup', 'one')
    gw.resp.add_header('X-Two', '1')
    gw.resp.add_header('X-Two', '2')
    gw.resp.remove_header('X-Gone')
    gw.resp.set_header('Content-Type', 'text/x-plugin')
    gw.resp.set_header('X-Errors', table.concat({
        try(gw.req.set_header, 'X-A', '1'),
        try(gw.exit, 200),
        try(gw.req.body),
        try(gw.resp.set_status, 99),
        try(gw.resp.set_status, 600),
        try(gw.resp.set_status, 101),
        try(gw.resp.set_header, 'X-A', 'a\rb'),
        try(gw.resp.set_header, 'Transfer-Encoding', 'x'),
    }, '|'))
    gw.resp.set_status(202)
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/src;
    }
    location = /src {
        add_header X-Dup d1;
        add_header X-Dup d2;
        add_header X-Gone g;
        return 200 "body\n";
    }
--- request
GET /t
--- error_code: 202
--- raw_response_headers_like
X-First: d1\r
(?s:.*)X-All: d1,d2\r
(?s:.*)X-Status: 200\r
--- response_headers
X-Dup: one
X-Gone:
Content-Type: text/x-plugin
X-Errors: gw.req.set_header: not allowed in the header_filter phase|gw.exit: not allowed in the header_filter phase|gw.req.body: not allowed in the header_filter phase|gw.resp.set_status: the status must be an integer 200..599|gw.resp.set_status: the status must be an integer 200..599|gw.resp.set_status: the status must be an integer 200..599|gw.resp.set_header: control character in the header value|gw.resp.set_header: header "Transfer-Encoding" is not the plugin's to set
--- response_body
body
--- no_error_log
[error]



=== TEST 9: a response header at and past the cap; headers set in access
--- plugin
local P = {}
function P.access(conf, ctx)
    gw.resp.set_header('X-From-Access', 'yes')
end
function P.header_filter(conf, ctx)
    local cap = string.rep('v', 8192)
    gw.resp.set_header('X-Cap', cap)
    local ok, err = pcall(gw.resp.set_header, 'X-Over', cap .. 'v')
    gw.resp.set_header('X-Over-Err', err)
    gw.resp.set_header('X-Cap-Len', #gw.resp.header('X-Cap'))
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- response_headers
X-From-Access: yes
X-Cap-Len: 8192
X-Over:
X-Over-Err: gw.resp.set_header: header value longer than 8192 bytes
--- no_error_log
[error]



=== TEST 10: body filter and log: reads allowed, writes refused
--- plugin
local P = {}
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.body_filter(conf, ctx, chunk, eof)
    if not eof then return chunk end
    return (chunk or '') .. table.concat({
        gw.resp.status(), gw.resp.header('X-Up'), gw.req.method(),
        try(gw.resp.set_header, 'X-A', '1'),
        try(gw.resp.set_status, 200),
    }, '|') .. '\n'
end
function P.log(conf, ctx)
    gw.log.info('log phase', gw.resp.status(), gw.req.path(), true, nil,
                try(gw.req.set_args, 'a=1'), try(gw.resp.add_header, 'a', 'b'))
    gw.log.warn('a "quoted"\nvalue')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/src;
    }
    location = /src {
        add_header X-Up u;
        return 200 "body\n";
    }
--- request
GET /t
--- response_body
body
200|u|GET|gw.resp.set_header: not allowed in the body_filter phase|gw.resp.set_status: not allowed in the body_filter phase
--- error_log
plugin t: log phase 200 /t true nil gw.req.set_args: not allowed in the log phase gw.resp.add_header: not allowed in the log phase
plugin t: a \"quoted\"\x0avalue
--- no_error_log
[error]



=== TEST 11: gw.log caps the message and escapes it
--- plugin
local P = {}
function P.access(conf, ctx)
    gw.log.err(string.rep('x', 300) .. '\r\n')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- error_log eval
qr/\[error\].*plugin t: x{200}\.\.\./
--- no_error_log
\r\n



=== TEST 12: the body of a body = true plugin, replaced; caps
--- http_config
    gw_plugin_body_max 64;
--- body_plugin
local P = { body = true }
function P.access(conf, ctx)
    local b, err = gw.req.body()
    if not b then
        return gw.exit(200, 'body: ' .. err .. '\n')
    end
    local ok, e = pcall(gw.req.set_body, string.rep('y', 65))
    gw.req.set_header('X-Err', e)
    gw.req.set_body('{"new":"' .. b .. '"}')
end
return P
--- config
    location = /t {
        gw_plugin tb '{}';
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["POST /t\nhello", "POST /t\n" . ("z" x 65)]
--- response_body_like eval
[qr{\APOST /up HTTP/1\.0\n(?=(?:.*\n)?Content-Length: 15\n)(?=(?:.*\n)?X-Body: \{"new":"hello"\}\n)(?=(?:.*\n)?X-Err: gw\.req\.set_body: body longer than gw_plugin_body_max\n)}s,
 qr{\Abody: too large\n\z}]
--- no_error_log
[error]



=== TEST 13: gw.req.body in a plugin without body = true is an error
--- plugin
local P = {}
function P.access(conf, ctx)
    local ok, err = pcall(gw.req.body)
    gw.exit(200, err .. '\n')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
POST /t
abc
--- response_body
gw.req.body: the plugin does not say body = true
--- no_error_log
[error]



=== TEST 14: gw.consumer with an API key: id, name, plan, tags
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- plugin
local P = {}
function P.access(conf, ctx)
    local c = gw.consumer()
    gw.exit(200, c.id .. '|' .. c.name .. '|' .. tostring(c.plan) .. '|'
                 .. table.concat(c.tags, ',') .. '|' .. #c.tags .. '\n')
end
return P
--- config
    location = /t {
        gw_key_auth api;
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{bob}"]
--- response_body eval
["alice|Alice Smith|gold|eu,ops_team|2\n", "bob|bob|nil||0\n"]
--- no_error_log
[error]



=== TEST 15: $gw_consumer_tags
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_set_header X-Tags $gw_consumer_tags;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers eval
"X-API-Key: $::key{alice}"
--- request
GET /t
--- response_body_like
X-Tags: eu,ops_team
--- no_error_log
[error]



=== TEST 16: gw.claims with a verified JWT
--- plugin
local P = {}
function P.access(conf, ctx)
    local c = gw.claims()
    gw.exit(200, c.sub .. '|' .. table.concat(c.roles, ',') .. '|'
                 .. c.org.id .. '|' .. gw.json.encode(c.roles) .. '\n')
end
return P
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers eval
"Authorization: Bearer $::tok"
--- request
GET /t
--- response_body
alice|a,b|7|["a","b"]
--- no_error_log
[error]



=== TEST 17: gw.json encode and decode, errors as values
--- plugin
local P = {}
function P.access(conf, ctx)
    local v = gw.json.decode('{"a":[1,2,{"b":null}],"c":"d"}')
    local bad, err = gw.json.decode('{"a":')
    local f, ferr = gw.json.encode({ f = function() end })
    gw.exit(200, table.concat({
        tostring(v.a[3].b == gw.json.null), v.c, tostring(bad),
        tostring(err ~= nil), tostring(f), tostring(ferr ~= nil),
        gw.json.encode({ 1, 'x', true }),
    }, ' ') .. '\n')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- response_body
true d nil true nil true [1,"x",true]
--- no_error_log
[error]



=== TEST 18: header(name, true) counts the repeats; one result without it
--- plugin
local P = {}
function P.access(conf, ctx)
    local v, n = gw.req.header('X-Dup', true)
    local w, m = gw.req.header('X-None', true)
    local one = select('#', gw.req.header('X-Dup'))
    ctx.len = tonumber(gw.req.header('X-Len'))
    gw.exit(200, table.concat({ v, n, tostring(w), m, one, ctx.len },
                              ' ') .. '\n')
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- more_headers
X-Dup: one
X-Dup: two
X-Dup: three
X-Len: 17
--- response_body
one 3 nil 0 1 17
--- no_error_log
[error]



=== TEST 19: header names are the plugin's bytes, checked at every call
--- plugin
local P = {}
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.access(conf, ctx)
    local out = {}
    for i = 1, 2 do
        -- the same names twice: the second call finds them known
        gw.req.set_header('X-Case', 'upper')
        gw.req.add_header('x-case', 'lower')
        gw.req.set_header('X-Abcdefgh-1', 'one')
        gw.req.set_header('X-Abcdefgh-2', 'two')
        gw.req.set_header('X-' .. 'Built', 'b' .. i)
        out[#out + 1] = try(gw.req.set_header, 'X-Case ', 'a')
        out[#out + 1] = try(gw.req.set_header, 'X-Case:', 'a')
        out[#out + 1] = try(gw.req.set_header, 'content-length', '1')
        out[#out + 1] = try(gw.req.set_header, 'Transfer-Encoding', 'x')
        out[#out + 1] = try(gw.resp.set_header, 'Connection', 'close')
        out[#out + 1] = try(gw.resp.set_header, 'X-R', 'a\r\nb')
        gw.resp.set_header('Content-Type', 'text/x-t' .. i)
        gw.resp.set_header('X-Resp', 'r' .. i)
    end
    gw.req.set_header('X-Out', table.concat(out, '|'))
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- response_headers
X-Resp: r2
--- response_body_like eval
my $one = 'gw.req.set_header: invalid header name|'
          . 'gw.req.set_header: invalid header name|'
          . "gw.req.set_header: the body's framing is set by gw.req.set_body()|"
          . "gw.req.set_header: the body's framing is set by gw.req.set_body()|"
          . 'gw.resp.set_header: header "Connection" is not the plugin\'s to set|'
          . 'gw.resp.set_header: control character in the header value';
qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-Case: upper\nx-case: lower\n)(?=(?:.*\n)?X-Abcdefgh-1: one\nX-Abcdefgh-2: two\nX-Built: b2\n)(?=(?:.*\n)?X-Out: \Q$one|$one\E\n)}s
--- no_error_log
[error]



=== TEST 20: past the worker's 256 known names, names are checked and copied per call
--- plugin
local P = {}
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.access(conf, ctx)
    -- names differing in their last bytes: more than the cache holds
    for i = 1, 300 do
        gw.req.set_header('X-N-' .. i, tostring(i))
    end
    gw.req.set_header('X-Late', 'late')
    gw.resp.set_header('X-Late-Resp', 'late')
    gw.resp.set_header('Content-Type', 'text/x-late')
    gw.req.set_header('X-Out', table.concat({
        try(gw.req.set_header, 'Content-Length', '1'),
        try(gw.req.set_header, 'X N', '1'),
        try(gw.resp.set_header, 'Keep-Alive', '1'),
        try(gw.req.add_header, 'Host', 'a'),
    }, '|'))
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t"]
--- response_headers eval
["X-Late-Resp: late", "X-Late-Resp: late"]
--- response_body_like eval
[qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-N-1: 1\nX-N-2: 2\n)(?=(?:.*\n)?X-N-256: 256\nX-N-257: 257\n)(?=(?:.*\n)?X-N-300: 300\nX-Late: late\n)(?=(?:.*\n)?X-Out: gw.req.set_header: the body's framing is set by gw.req.set_body\(\)\|gw.req.set_header: invalid header name\|gw.resp.set_header: header "Keep-Alive" is not the plugin's to set\|gw.req.add_header: one Host only\n)}s,
 qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-N-1: 1\nX-N-2: 2\n)(?=(?:.*\n)?X-N-256: 256\nX-N-257: 257\n)(?=(?:.*\n)?X-N-300: 300\nX-Late: late\n)(?=(?:.*\n)?X-Out: gw.req.set_header: the body's framing is set by gw.req.set_body\(\)\|gw.req.set_header: invalid header name\|gw.resp.set_header: header "Keep-Alive" is not the plugin's to set\|gw.req.add_header: one Host only\n)}s]
--- no_error_log
[error]



=== TEST 21: gw.resp.set_headers sets pairs in one call, each checked before any is set
--- plugin
local P = {}
local many = {}
for i = 1, 33 do
    many[#many + 1] = 'X-M-' .. i
    many[#many + 1] = 'm'
end
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.access(conf, ctx)
    gw.resp.set_header('X-Up', 'u')
    gw.req.set_header('X-Out', table.concat({
        try(gw.resp.set_headers, 'X-C', 'c', 'Connection', 'x'),
        try(gw.resp.set_headers, 'X-C', 'c', 'X-D', 'd\r\nX-Evil: 1'),
        try(gw.resp.set_headers, 'X-C', 'c', 'X D', 'd'),
        try(gw.resp.set_headers, 'X-C'),
        try(gw.resp.set_headers, unpack(many)),
        try(gw.resp.set_headers),
    }, '|'))
end
function P.header_filter(conf, ctx)
    gw.resp.set_headers('X-A', 'a', 'X-B', 2, 'X-Up', nil, 'X-A', 'a2')
end
function P.log(conf, ctx)
    local ok, err = pcall(gw.resp.set_headers, 'X-L', 'l')
    if not ok then gw.log.warn(err) end
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- response_headers
X-A: a2
X-B: 2
!X-Up
!X-C
!X-D
!X-M-1
--- response_body_like eval
qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-Out: \Qgw.resp.set_headers: header "Connection" is not the plugin's to set|gw.resp.set_headers: control character in the header value|gw.resp.set_headers: invalid header name|gw.resp.set_headers: a name without a value|gw.resp.set_headers: more than 32 headers|ok\E\n)}s
--- error_log
gw.resp.set_headers: not allowed in the log phase
--- no_error_log
[error]



=== TEST 22: header values given again and again (the worker's cache) and once each reach the upstream and the client as set: 64 bytes (cached) and 65 (copied), a number, a control byte after a cached value of the same bytes, strings the collector frees and reuses
--- plugin
local P = {}
local V64 = string.rep('a', 63) .. 'b'
local V65 = string.rep('a', 64) .. 'c'
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
function P.access(conf, ctx)
    for i = 1, 3 do
        gw.req.set_header('X-Const', 'constant value')
        gw.req.set_header('X-64', V64)
        gw.req.set_header('X-65', V65)
        gw.req.add_header('X-Made', 'made-' .. i)
        gw.req.set_header('X-Num', 42)
    end
    local last
    for i = 1, 2000 do
        last = 'r' .. (i % 7) .. string.rep('x', i % 50)
        gw.req.set_header('X-R', last)
        gw.req.set_header('X-R', last)
    end
    gw.req.set_header('X-Out', try(gw.req.set_header, 'X-Bad',
                                   'constant value\r\nX-Evil: 1')
                               .. '|' .. try(gw.req.set_header, 'X-Tab',
                                             'a\tb'))
end
function P.header_filter(conf, ctx)
    for i = 1, 3 do
        gw.resp.set_header('X-Const', 'constant value')
        gw.resp.set_header('X-64', V64)
        gw.resp.set_headers('X-65', V65, 'X-N', 7)
    end
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- response_headers eval
["X-Const: constant value", "X-64: " . ('a' x 63) . "b",
 "X-65: " . ('a' x 64) . "c", "X-N: 7"]
--- response_body_like eval
my $v64 = ('a' x 63) . 'b';
my $v65 = ('a' x 64) . 'c';
my $r = 'r' . (2000 % 7) . ('x' x (2000 % 50));
qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-Const: constant value\n)(?=(?:.*\n)?X-64: $v64\n)(?=(?:.*\n)?X-65: $v65\n)(?=(?:.*\n)?X-Made: made-1\n)(?=(?:.*\n)?X-Made: made-2\n)(?=(?:.*\n)?X-Made: made-3\n)(?=(?:.*\n)?X-Num: 42\n)(?=(?:.*\n)?X-R: $r\n)(?=(?:.*\n)?X-Out: gw.req.set_header: control character in the header value\|ok\n)(?=(?:.*\n)?X-Tab: a\tb\n)(?!(?:.*\n)?X-Evil)(?!(?:.*\n)?X-Bad)}s
--- no_error_log
[error]



=== TEST 23: a flood of values each given twice fills the worker's value cache: what comes after is still set right, and a control byte still refused
--- plugin
local P = {}
function P.access(conf, ctx)
    local keep = {}
    for i = 1, 600 do
        local v = 'flood-' .. i
        keep[i] = v
        gw.req.add_header('X-Flood', v)
        gw.req.remove_header('X-Flood')
        gw.req.set_header('X-Flood', v)
    end
    for i = 1, 3 do
        gw.req.set_header('X-After', 'after the flood')
    end
    gw.req.set_header('X-First', keep[1])
    gw.req.set_header('X-Last', keep[600])
    local ok, err = pcall(gw.req.set_header, 'X-Bad', 'flood-1\n')
    gw.req.set_header('X-Err', err)
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- response_body_like eval
qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-Flood: flood-600\n)(?=(?:.*\n)?X-After: after the flood\n)(?=(?:.*\n)?X-First: flood-1\n)(?=(?:.*\n)?X-Last: flood-600\n)(?=(?:.*\n)?X-Err: gw.req.set_header: control character in the header value\n)(?!(?:.*\n)?X-Bad)}s
--- no_error_log
[error]



=== TEST 24: gw.resp.prepare checks headers once (at load), gw.resp.apply sets and adds them in one call; a set the collector frees after apply still answers; 32 headers and a value of 8192 bytes pass, every bad set is refused at prepare
--- plugin
local P = {}
local many = {}
for i = 1, 33 do
    many[#many + 1] = 'X-M-' .. i
    many[#many + 1] = 'm'
end
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
local S = gw.resp.prepare({ 'X-Up', 'new', 'X-N', 7 }, { 'Vary', 'Origin' })
local at = { unpack(many, 1, 40) }
local errs = table.concat({
    try(gw.resp.prepare, at, { unpack(many, 41, 64) }),
    try(gw.resp.prepare, { 'X-C', string.rep('v', 8192) }),
    try(gw.resp.prepare, { 'Connection', 'x' }),
    try(gw.resp.prepare, { 'X-C', 'c' }, { 'X-D', 'd\r\nX-Evil: 1' }),
    try(gw.resp.prepare, { 'X D', 'd' }),
    try(gw.resp.prepare, { 'X-C' }),
    try(gw.resp.prepare, many),
    try(gw.resp.prepare, {}),
    try(gw.resp.prepare, 'X-C'),
    try(gw.resp.prepare, { 'X-C', {} }),
    try(gw.resp.prepare, { 'X-C', string.rep('v', 8193) }),
    try(gw.resp.apply, S),
}, '|')
function P.access(conf, ctx)
    gw.resp.set_header('X-Up', 'old')
    gw.resp.add_header('Vary', 'Accept')
    gw.req.set_header('X-Out', errs .. '|' .. try(gw.resp.apply, {}) .. '|'
                               .. try(gw.resp.apply, 'x'))
end
function P.header_filter(conf, ctx)
    gw.resp.apply(S)
    local T = gw.resp.prepare({ 'X-T', string.rep('t', 100) })
    gw.resp.apply(T)
    T = nil
    for i = 1, 20000 do
        local g = { i, tostring(i) }
    end
end
function P.log(conf, ctx)
    local ok, err = pcall(gw.resp.apply, S)
    if not ok then gw.log.warn(err) end
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- raw_response_headers_like eval
qr{(?=[\s\S]*\r\nX-Up: new\r\n)(?![\s\S]*X-Up: old)(?=[\s\S]*\r\nX-N: 7\r\n)(?=[\s\S]*\r\nVary: Accept\r\n)(?=[\s\S]*\r\nVary: Origin\r\n)(?=[\s\S]*\r\nX-T: t{100}\r\n)}
--- response_body_like eval
qr{\AGET /up HTTP/1.0\n(?=(?:.*\n)?X-Out: \Qok|ok|gw.resp.prepare: header "Connection" is not the plugin's to set|gw.resp.prepare: add: control character in the header value|gw.resp.prepare: set: invalid header name|gw.resp.prepare: set: a name without a value|gw.resp.prepare: 1 to 32 headers|gw.resp.prepare: 1 to 32 headers|gw.resp.prepare: set must be an array of names and values|gw.resp.prepare: set: the header value must be a string|gw.resp.prepare: set: header value longer than 8192 bytes|gw.resp.apply: not allowed outside a plugin call|gw.resp.apply: not a prepared set (gw.resp.prepare)|gw.resp.apply: not a prepared set (gw.resp.prepare)\E\n)}s
--- error_log
gw.resp.apply: not allowed in the log phase
--- no_error_log
[error]



=== TEST 25: the calls a trusted state compiles (t/139 runs this file trusted): after 300 calls of each, the same answers, and the same errors for what only the C functions decide (a bad value, the framing, Host, a number, a removal, a phase, a forged set)
--- plugin
local P = {}
local function try(f, ...)
    local ok, err = pcall(f, ...)
    return ok and 'ok' or err
end
local S = gw.resp.prepare({ 'X-S', 's' }, { 'X-SA', 'a' })
local forged = setmetatable({}, { __metatable = 'gw.prepared' })
function P.access(conf, ctx)
    local n, first
    for i = 1, 300 do
        gw.req.set_header('X-Loop', 'last')
        gw.req.add_header('X-Many', 'm')
        first, n = gw.req.header('x-many', true)
    end
    local none, zero = gw.req.header('x-none', true)
    local origin, two = gw.req.header('ORIGIN', true)
    gw.req.set_header('X-Count', tostring(n) .. ' ' .. first)
    gw.req.set_header('X-Reads', tostring(none) .. ' ' .. zero .. ' '
                                 .. origin .. ' ' .. two .. ' '
                                 .. tostring(gw.req.header('bad name')))
    gw.req.set_header('X-Tag', tostring(getmetatable(S)))
    for i = 1, 299 do
        gw.req.remove_header('X-Many')
        gw.req.add_header('X-Many', 'm')
    end
    gw.req.set_header('X-Errs', table.concat({
        try(gw.req.set_header, 'X-Loop', 'a\r\nX-Evil: 1'),
        try(gw.req.add_header, 'X-Loop', 'a\nb'),
        try(gw.req.set_header, 'Content-Length', '5'),
        try(gw.req.add_header, 'Host', 'h.example'),
        try(gw.req.set_header, 'X Loop', 'last'),
        try(gw.req.set_header, 'X-Loop', {}),
        try(gw.resp.apply, forged),
        try(gw.resp.apply, {}),
    }, '|'))
    gw.req.set_header('Host', 'Up.Example')
    gw.req.set_header('X-Num', 42)
    gw.req.set_header('X-Gone', 'last')
    gw.req.set_header('X-Gone')
end
function P.header_filter(conf, ctx)
    for i = 1, 300 do
        gw.resp.set_header('X-Loop', 'last')
        gw.resp.apply(S)
    end
    local a, n = gw.resp.header('x-sa', true)
    gw.resp.set_header('X-SA-Count', n .. ' ' .. a)
    for i = 1, 3 do
        gw.resp.add_header('X-Added', 'a')
    end
    gw.resp.set_header('X-Phase', try(gw.req.set_header, 'X-Loop', 'last'))
    gw.resp.set_header('X-Refused', try(gw.resp.set_header, 'Connection',
                                        'last'))
end
return P
--- config
    location = /t {
        gw_plugin t '{}';
        proxy_set_header X-Host $host;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- more_headers
Origin: https://a.example
Origin: https://b.example
--- raw_response_headers_like eval
qr{\A(?![\s\S]*X-Loop: last\r\n[\s\S]*X-Loop: last\r\n)(?=[\s\S]*\r\nX-Loop: last\r\n)(?![\s\S]*X-S: s\r\n[\s\S]*X-S: s\r\n)(?=[\s\S]*\r\nX-S: s\r\n)(?=[\s\S]*\r\nX-SA-Count: 300 a\r\n)(?=[\s\S]*\r\nX-Added: a\r\nX-Added: a\r\nX-Added: a\r\n)(?=[\s\S]*\r\nX-Phase: gw.req.set_header: not allowed in the header_filter phase\r\n)(?=[\s\S]*\r\nX-Refused: gw.resp.set_header: header "Connection" is not the plugin's to set\r\n)}
--- response_body_like eval
qr{\AGET /up HTTP/1.0\n(?!(?:.*\n)?X-Gone:)(?=(?:.*\n)?X-Loop: last\n)(?!(?:.*\n)?X-Loop: last\n(?:.*\n)?X-Loop:)(?=(?:.*\n)?X-Count: 300 m\n)(?=(?:.*\n)?X-Reads: nil 0 https://a.example 2 nil\n)(?=(?:.*\n)?X-Tag: gw.prepared\n)(?=(?:.*\n)?X-Many: m\n)(?!(?:.*\n)?X-Many: m\n(?:.*\n)?X-Many:)(?=(?:.*\n)?X-Host: up.example\n)(?=(?:.*\n)?X-Num: 42\n)(?=(?:.*\n)?X-Errs: \Qgw.req.set_header: control character in the header value|gw.req.add_header: control character in the header value|gw.req.set_header: the body's framing is set by gw.req.set_body()|gw.req.add_header: one Host only|gw.req.set_header: invalid header name|gw.req.set_header: the header value must be a string|gw.resp.apply: not a prepared set (gw.resp.prepare)|gw.resp.apply: not a prepared set (gw.resp.prepare)\E\n)}s
--- no_error_log
[error]
