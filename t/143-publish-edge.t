# vi:ft=perl
#
# gw_publish behind the edge's other phases (docs/publish.md): with key
# authentication and body validation in the location, only an
# authenticated request with a valid body is published, with its
# consumer; a missing key (401), an invalid or malformed body (400) are
# answered before the content phase and publish nothing.  Bodies nginx
# spools to a temporary file, with or without validation, chunked or
# not, are published whole.  With gw_trace on, the entry's traceparent
# is the one the edge sends upstream.  A client that goes away while the
# event waits for Redis is forgotten without harm.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Gwctl ();
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;

$ctl->consumer_add('alice', name => 'Alice');
$ENV{TEST_NGINX_KEY} = $ctl->key_create('alice');

our $snapshot = $ctl->snapshot;

# a body of about 20 KB, over client_body_buffer_size 1k
our $pad = 'x' x 20000;
our $big = qq({"qty": 3, "pad": "$pad"});

our $files = <<'_EOF_';
>>> order.json
{"type": "object", "required": ["qty"],
 "properties": {"qty": {"type": "integer", "minimum": 1}}}
_EOF_

our $http = <<'_EOC_';
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 5s;
    gw_topic orders;
_EOC_

our $config = <<'_EOC_';
    client_body_buffer_size 1k;
    location = /orders {
        gw_key_auth api;
        gw_validate_body ../html/order.json;
        gw_publish orders key=$gw_consumer_id;
    }
    location = /raw { gw_publish orders; }
    location = /traced { gw_trace on; gw_publish orders; }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $redis->resume;
    $redis->restart unless $redis->running;
    $redis->wait_ready(10) or die "redis did not come back";
    $ctl->restore($snapshot);
    $redis->cli('DEL', 'gw:topic:orders:0');
    $block->set_value('user_files', $files) unless $block->user_files;
    $block->set_value('http_config', $http)
        unless defined $block->http_config;
    $block->set_value('config', $config) unless defined $block->config;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log || defined $block->error_log;
});

run_tests();

__DATA__

=== TEST 1: an authenticated, valid body is published with its consumer, keyed by it
--- request eval
["POST /orders\n{\"qty\": 2}", "GET /ctl/cli?XRANGE&gw:topic:orders:0&-&%2B"]
--- more_headers eval
"X-API-Key: $ENV{TEST_NGINX_KEY}\nContent-Type: application/json"
--- error_code eval
[202, 200]
--- response_body_like eval
["^\\{\"id\":\"orders:0:\\d+-\\d+\",\"topic\":\"orders\",\"partition\":0\\}\n\\z",
 "^\\d+-\\d+\ndata\n\\{\"qty\": 2\\}\nkey\nalice\nconsumer\nalice\nrid\n"]



=== TEST 2: no key: 401, nothing published
--- request eval
["POST /orders\n{\"qty\": 2}", "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers
Content-Type: application/json
--- error_code eval
[401, 200]
--- response_body_like eval
["", "^0\n\\z"]



=== TEST 3: an invalid body (qty 0) and a malformed one: 400, nothing published
--- request eval
["POST /orders\n{\"qty\": 0}", "POST /orders\n{\"qty\": ",
 "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers eval
"X-API-Key: $ENV{TEST_NGINX_KEY}\nContent-Type: application/json"
--- error_code eval
[400, 400, 200]
--- response_body_like eval
["validation-failed", "malformed-json", "^0\n\\z"]



=== TEST 4: a validated body spooled to a temporary file is published whole
--- request eval
["POST /orders\n$main::big", "GET /ctl/cli?XRANGE&gw:topic:orders:0&-&%2B"]
--- more_headers eval
"X-API-Key: $ENV{TEST_NGINX_KEY}\nContent-Type: application/json"
--- error_code eval
[202, 200]
--- response_body_like eval
["\"partition\":0", "\ndata\n\\{\"qty\": 3, \"pad\": \"x{20000}\"\\}\nkey\nalice\n"]



=== TEST 5: a body spooled to a temporary file without validation, published whole
--- request eval
["POST /raw\n$main::big", "GET /ctl/cli?XRANGE&gw:topic:orders:0&-&%2B"]
--- error_code eval
[202, 200]
--- response_body_like eval
["\"partition\":0", "\ndata\n\\{\"qty\": 3, \"pad\": \"x{20000}\"\\}\nkey\n\n"]



=== TEST 6: a chunked body of 20 KB, spooled, published whole
--- raw_request eval
"POST /raw HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
. join("", map { sprintf("%x\r\n%s\r\n", length $_, $_) } ("a" x 10000, "b" x 10000))
. "0\r\n\r\n"
--- error_code: 202
--- response_body_like: "topic":"orders"



=== TEST 7: with gw_trace on, the entry's traceparent continues the client's trace with the edge's span
--- request eval
["POST /traced\nhello", "GET /ctl/cli?XRANGE&gw:topic:orders:0&-&%2B"]
--- more_headers
traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
--- error_code eval
[202, 200]
--- response_body_like eval
["\"id\"", "\ntraceparent\n00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-01\n"]



=== TEST 8: a client gone while its event waits for Redis: forgotten; the event is still written
--- request eval
["GET /ctl/pause", "POST /raw\nlate", "GET /ctl/resume", "POST /raw\nnext",
 "GET /ctl/cli?XRANGE&gw:topic:orders:0&-&%2B"]
--- timeout: 1
--- abort
--- error_code eval
[200, "", 200, 202, 200]
--- response_body_like eval
["paused", "", "resumed", "\"id\"", "data\nlate\n.*data\nnext\n"]
--- no_error_log
[error]
[alert]



=== TEST 9: what is published is what the upstream would get: a plugin's gw.req.set_body() included
--- user_files
>>> plugins/up.lua
local P = { body = true }
function P.access(conf, ctx)
    local b = gw.req.body()
    gw.req.set_body(string.upper(b))
end
return P
>>> plugins/up.schema.json
{"type": "object"}
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_topic orders;
    gw_plugin_path html/plugins;
--- config
    location = /up { gw_plugin up '{}'; gw_publish orders; }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
--- request eval
["POST /up\nhello", "GET /ctl/cli?XRANGE&gw:topic:orders:0&-&%2B"]
--- error_code eval
[202, 200]
--- response_body_like eval
["\"id\"", "\ndata\nHELLO\n"]
