# vi:ft=perl
#
# The shipped quota plugin (plugins/quota.lua, docs/plugins-shipped.md):
# a daily request quota per consumer counted in Redis (gw.redis, in the
# gw:plugin:quota: namespace): RateLimit-Policy and RateLimit on each
# counted request, the 429 problem with Retry-After past the limit, one
# consumer's count apart from another's, quotas of other names apart,
# the key's expiry, the report endpoint (today and the days before, not
# counted), counting by address, Redis away (allow: uncounted, logged;
# deny: 503), requests without a consumer; configurations nginx -t
# refuses.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::Gwctl;
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);
our $control_port = $redis->control;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_CONTROL_PORT} = $control_port;
$ENV{TEST_NGINX_DEAD_PORT} = Tollgate::Redis::free_port();   # no Redis

our %key;
for my $id (qw(alice bob carol dave erin)) {
    $ctl->consumer_add($id);
    $key{$id} = $ctl->key_create($id);
}

our $today = int(time() / 86400);

# yesterday's and the day before's counts of carol, for the report
$redis->cli('SET', "gw:plugin:quota:daily:carol:" . ($today - 1), 17);
$redis->cli('SET', "gw:plugin:quota:daily:carol:" . ($today - 2), 5);

# the client address at its limit already
$redis->cli('SET', "gw:plugin:quota:full:127.0.0.1:$today", 5);

our $exceeded = plugin_problem_re(429, 'Quota exceeded');

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['no limit', '{}', qr{limit}],
        ['a limit of 0', '{"limit":0}', qr{/limit}],
        ['a fractional limit', '{"limit":1.5}', qr{/limit}],
        ['a name with a colon', '{"limit":1,"name":"a:b"}', qr{/name}],
        ['history of 63 days', '{"limit":1,"history":63}', qr{/history}],
        ['a relative report path', '{"limit":1,"report_path":"quota"}',
         qr{/report_path}],
        ['a report path with LF', '{"limit":1,"report_path":"/q\\n"}',
         qr{/report_path}],
        ['a bad redis_down', '{"limit":1,"redis_down":"maybe"}',
         qr{/redis_down}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('quota', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*quota[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }
}

run_tests();

__DATA__

=== TEST 1: three requests a day: the headers count down, the fourth gets 429
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_key_auth api;
        gw_plugin quota '{"limit":3}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 5]
--- more_headers eval
[("X-API-Key: $::key{alice}") x 4, "X-API-Key: $::key{bob}"]
--- error_code eval
[200, 200, 200, 429, 200]
--- response_headers_like eval
[("RateLimit-Policy: \"daily\";q=3;w=86400") x 5]
--- raw_response_headers_like eval
['RateLimit: "daily";r=2;t=\d+\r\n', 'RateLimit: "daily";r=1;t=\d+\r\n',
 'RateLimit: "daily";r=0;t=\d+\r\n',
 '(?=.*RateLimit: "daily";r=0;t=\d+\r\n)(?=.*Retry-After: \d+\r\n)',
 'RateLimit: "daily";r=2;t=\d+\r\n']
--- response_body_like eval
["upstream", "upstream", "upstream", $::exceeded, "upstream"]
--- no_error_log
[error]



=== TEST 2: the day's key: counted in the plugin's namespace, with an expiry
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_key_auth api;
        gw_plugin quota '{"limit":100,"name":"ns","history":2}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
    location /cli {
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- request eval
["GET /t", "GET /t", "GET /cli?GET&gw:plugin:quota:ns:dave:$::today",
 "GET /cli?TTL&gw:plugin:quota:ns:dave:$::today"]
--- more_headers eval
["X-API-Key: $::key{dave}", "X-API-Key: $::key{dave}", "", ""]
--- response_body_like eval
["upstream", "upstream", '\A2\s*\z', '\A(?:25[0-9]{4}|259200)\s*\z']
--- no_error_log
[error]



=== TEST 3: the report: today and the days before, not counted
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /api/ {
        gw_key_auth api;
        gw_plugin quota '{"limit":50,"report_path":"/api/quota","history":3}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request eval
["GET /api/x", "GET /api/quota", "GET /api/quota"]
--- more_headers eval
[("X-API-Key: $::key{carol}") x 3]
--- response_headers eval
["", "Content-Type: application/json\nCache-Control: no-store",
 "Content-Type: application/json"]
--- response_body_like eval
["upstream",
 qr/\A\{(?=.*"consumer":\s*"carol")(?=.*"limit":\s*50[,}])(?=.*"used":\s*1[,}])
    (?=.*"remaining":\s*49[,}])(?=.*"reset":\s*"\d{4}-\d\d-\d\dT00:00:00Z")
    (?=.*"reset_in":\s*\d+)
    (?=.*"days":\s*\[\s*\{[^}]*"used":\s*1[,}][^]]*"used":\s*17[,}][^]]*"used":\s*5[,}])/sx,
 qr/"used":\s*1[,}]/]
--- no_error_log
[error]



=== TEST 4: counting by address, without authentication
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_plugin quota '{"limit":1,"by":"ip","name":"byip"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[200, 429]
--- no_error_log
[error]



=== TEST 5: no consumer: neither counted nor refused
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_plugin quota '{"limit":1,"name":"anon"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[200, 200]
--- raw_response_headers_unlike eval
["(?i)ratelimit", "(?i)ratelimit"]
--- no_error_log
[error]



=== TEST 6: past the limit: said at info
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_plugin quota '{"limit":5,"by":"ip","name":"full"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request
GET /t
--- error_code: 429
--- response_body_like eval
$::exceeded
--- error_log
plugin quota: daily quota of 5 exceeded
--- no_error_log
[error]



=== TEST 7: Redis away: "allow" lets requests through uncounted (logged), "deny" refuses with 503
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
--- config
    location /allow {
        gw_plugin quota '{"limit":5,"by":"ip"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /deny {
        gw_plugin quota '{"limit":5,"by":"ip","redis_down":"deny"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /allow", "GET /deny"]
--- error_code eval
[200, 503]
--- response_body_like eval
["upstream", "Quota unavailable"]
--- raw_response_headers_unlike eval
["(?i)ratelimit", "(?i)ratelimit"]
--- error_log
plugin quota: redis: redis unavailable
