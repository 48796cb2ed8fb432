# vi:ft=perl
#
# Metrics of API-key authentication and of the Redis client
# (docs/metrics.md): key decisions by outcome (ok, missing, invalid,
# forbidden for a disabled consumer, unavailable with Redis down), the
# consumer label with its cap and "other" bucket, and the Redis gauges and
# counters.  Consumers and keys are made by build/gwctl in a private
# redis-server before the blocks run.  With Redis down, the one [error]
# the client logs per outage is the only one allowed.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Gwctl qw(random_key);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;

our %key;

$ctl->consumer_add('alice', name => 'Alice');
$key{alice} = $ctl->key_create('alice');
$ctl->consumer_add('bob');
$key{bob} = $ctl->key_create('bob');
$ctl->consumer_add('carol');
$key{carol} = $ctl->key_create('carol');
$ctl->consumer_disable('carol');
$key{unknown} = random_key();

run_tests();

__DATA__

=== TEST 1: key decisions by outcome; the consumer label, capped at one
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_metrics_zone 1m;
    gw_metrics_consumers 1;
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location /k/ {
        gw_route keyed;
        gw_key_auth api;
        add_header X-Outcome "$gw_auth_mechanism:$gw_auth_outcome" always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ { gw_metrics off; return 200 "ok\n"; }
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{alice}",
 "X-API-Key: $::key{bob}", "", "X-API-Key: $::key{unknown}",
 "X-API-Key: $::key{carol}", ""]
--- request eval
["GET /k/1", "GET /k/2", "GET /k/3", "GET /k/4", "GET /k/5", "GET /k/6",
 "GET /metrics"]
--- error_code eval
[200, 200, 200, 401, 401, 403, 200]
--- response_headers eval
["X-Outcome: key:ok", "X-Outcome: key:ok", "X-Outcome: key:ok",
 "X-Outcome: key:missing", "X-Outcome: key:invalid",
 "X-Outcome: key:forbidden", "X-Outcome: "]
--- response_body_like eval
[".*", ".*", ".*", ".*", ".*", ".*",
 qr/\A(?=.*^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="ok"\}\x20 3$)
     (?=.*^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="missing"\}\x20 1$)
     (?=.*^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="invalid"\}\x20 1$)
     (?=.*^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="forbidden"\}\x20 1$)
     (?=.*^gw_consumer_requests_total\{consumer="alice",status="2xx"\}\x20 2$)
     (?=.*^gw_consumer_requests_total\{consumer="other",status="2xx"\}\x20 1$)
     (?!.*consumer="bob")(?!.*consumer="carol")
     (?=.*^gw_redis_connected\{worker="0"\}\x20 1$)
     (?=.*^gw_redis_in_flight\x20 0$)
     (?=.*^gw_redis_commands_total\x20 [1-9]\d*$)
     (?=.*^gw_redis_errors_total\{error="timeout"\}\x20 0$)
     (?=.*^\#\x20 TYPE\x20 gw_redis_reconnects_total\x20 counter$)/msx]
--- no_error_log
[error]



=== TEST 2: Redis down: key decisions "unavailable", the client reported down
--- http_config
    gw_redis 127.0.0.1:1;
    gw_redis_connect_timeout 100ms;
    gw_metrics_zone 1m;
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location /k/ {
        gw_route keyed;
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ { gw_metrics off; return 200 "ok\n"; }
--- more_headers eval
["X-API-Key: $::key{alice}", ""]
--- request eval
["GET /k/1", "GET /metrics"]
--- error_code eval
[503, 200]
--- response_body_like eval
[".*",
 qr/\A(?=.*^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="unavailable"\}\x20 1$)
     (?=.*^gw_redis_connected\{worker="0"\}\x20 0$)
     (?=.*^gw_redis_outages_total\x20 1$)/msx]
--- grep_error_log eval
qr/\[error\] [^\n]*/
--- grep_error_log_out eval
qr/\A(?:\[error\] [^\n]*gw_redis: cannot connect to 127\.0\.0\.1:1\b[^\n]*\n)?\z/
