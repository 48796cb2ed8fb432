# vi:ft=perl
#
# gw_publish behind gw_idempotency (docs/publish.md, docs/idempotency.md):
# a retry with the same Idempotency-Key and body is answered from the
# stored 202, with the same event id, and publishes nothing more; the
# same key with another body is a 422; where a key is required, a publish
# without one is a 400; nothing of a refused request reaches the stream.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;

our $http = <<'_EOC_';
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_topic orders;
_EOC_

our $config = <<'_EOC_';
    location = /p {
        gw_idempotency on;
        gw_idempotency_scope $http_x_tenant;
        gw_publish orders;
    }
    location = /r {
        gw_idempotency required;
        gw_idempotency_scope $http_x_tenant;
        gw_publish orders;
    }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $redis->wait_ready(10) or die "redis did not come back";
    $redis->cli('FLUSHALL');
    $block->set_value('http_config', $http);
    $block->set_value('config', $config);
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a retry gets the stored 202 (the same id) and publishes nothing more
--- request eval
["POST /p\n{\"n\": 1}", "POST /p\n{\"n\": 1}",
 "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers
X-Tenant: t1
Idempotency-Key: "order-1"
Content-Type: application/json
--- error_code eval
[202, 202, 200]
--- response_headers_like eval
["Idempotent-Replayed: \\A\\z", "Idempotent-Replayed: true", ""]
--- response_body_like eval
["^\\{\"id\":\"orders:0:\\d{13}-\\d+\",\"topic\":\"orders\",\"partition\":0\\}\n\\z",
 "^\\{\"id\":\"orders:0:\\d{13}-\\d+\",\"topic\":\"orders\",\"partition\":0\\}\n\\z",
 "^1\n\\z"]



=== TEST 2: Redis down: 503, fail closed; once it is back the same key publishes once
--- request eval
["GET /ctl/stop", "POST /p\n{\"n\": 2}", "GET /ctl/start", "GET /ctl/ready",
 "POST /p\n{\"n\": 2}", "POST /p\n{\"n\": 2}",
 "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers
X-Tenant: t1
Idempotency-Key: "order-2"
Content-Type: application/json
--- error_code eval
[200, 503, 200, 200, 202, 202, 200]
--- response_body_like eval
["", "\"status\":503", "", "", "", "", "^1\n\\z"]
--- no_error_log
[crit]
--- wait: 0.3



=== TEST 3: the same key with another body is a 422, and is not published
--- request eval
["POST /p\n{\"n\": 3}", "POST /p\n{\"n\": 4}",
 "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers
X-Tenant: t1
Idempotency-Key: "order-3"
Content-Type: application/json
--- error_code eval
[202, 422, 200]
--- response_body_like eval
["", "application/problem\\+json|\"status\":422", "^1\n\\z"]



=== TEST 4: another consumer's same key is another record: published again
--- request eval
["POST /p\n{\"n\": 5}", "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers eval
["X-Tenant: t2\nIdempotency-Key: \"order-1\"\nContent-Type: application/json",
 ""]
--- error_code eval
[202, 200]
--- response_body_like eval
["", "^1\n\\z"]



=== TEST 5: where a key is required, a publish without one is a 400 and publishes nothing
--- request eval
["POST /r\n{\"n\": 6}", "GET /ctl/cli?XLEN&gw:topic:orders:0"]
--- more_headers
X-Tenant: t1
Content-Type: application/json
--- error_code eval
[400, 200]
--- response_body_like eval
["\"status\":400", "^0\n\\z"]
