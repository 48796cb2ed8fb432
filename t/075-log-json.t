# vi:ft=perl
#
# The JSON access log (docs/metrics.md, "Access log"): conf/log-json.conf's
# gw_json writes the line with $gw_log_json in one pass; gw_json_vars is
# the same line from nginx's variables with escape=json.  Each block logs
# its request with both formats into one file, gw_json_vars first, and a
# second request reads the file back: the two lines must be the same
# bytes.  The requests put hostile bytes (CR, LF, TAB, other control
# bytes, DEL, quotes, backslashes, UTF-8) into every field a client can
# reach -- the path, the method, the client address through realip,
# X-Request-ID and traceparent (refused, so replaced) -- and each block
# also checks the escaped form of those bytes and that no raw control
# byte reaches the file.

use strict;
use warnings;

use Cwd qw(abs_path);
use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();
$ENV{TEST_NGINX_GW_CONF} = abs_path("$FindBin::Bin/../conf");

our $tok = jwt(alg => 'RS256',
               payload => { sub => 'alice', exp => now() + 3600 });

# both lines in the file, the same bytes; nothing else
our $SAME = qr/\A(\{"time":"[^\n]*\})\n\1\n\z/;

# no raw control byte but the two line feeds
our $CLEAN = qr/[\x00-\x09\x0b-\x1f]/;

our $HTTP_CONFIG = <<'_EOC_';
    include $TEST_NGINX_GW_CONF/log-json.conf;
    gw_metrics_zone 1m;
_EOC_

our $CONFIG = <<'_EOC_';
    access_log logs/both.log gw_json_vars;
    access_log logs/both.log gw_json;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
    gw_trace on;
    gw_request_id on;

    location /api/ {
        gw_route orders;
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_limit lj key=$binary_remote_addr rate=100r/s burst=100;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }

    location /open/ {
        gw_route "open.v1";
        return 204;
    }

    location /up/ {
        access_log off;
        return 200 "ok\n";
    }

    location = /log {
        access_log off;
        default_type text/plain;
        alias logs/both.log;
    }
_EOC_

run_tests();

__DATA__

=== TEST 1: a proxied, authenticated, limited request with a hostile path: the same line
--- http_config eval: $::HTTP_CONFIG
--- config eval: $::CONFIG
--- request eval
["POST /api/a%01b%1fc%22d%5ce%7f%c3%a9f%0ag%09h%0di\n{\"n\":1}",
 "GET /log"]
--- more_headers eval
["Authorization: Bearer $::tok\nX-Request-ID: x\"y\\\x01z\n"
 . "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"
 . "X-Real-IP: 2001:db8::1",
 ""]
--- response_body_like eval
[qr/^ok$/,
 qr/(?=$::SAME)(?=.*"request_id":"[0-9a-f]{32}")
    (?=.*"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"[0-9a-f]{16}")
    (?=.*"client":"2001:db8::1","method":"POST")
    (?=.*"path":"\/api\/a\\u0001b\\u001Fc\\"d\\\\e\x7f\xc3\xa9f\\ng\\th\\ri")
    (?=.*"route":"orders","consumer":"","status":200,"request_time":\d+\.\d{3},)
    (?=.*"upstream_time":"\d+\.\d{3}","auth":"jwt","auth_outcome":"ok")
    (?=.*"limit":"passed","bytes_in":\d+,"bytes_out":\d+\}\n)/xis]
--- response_body_unlike eval
[qr/^$/, $::CLEAN]
--- no_error_log
[error]



=== TEST 2: a NUL in the path: 400 before the path is known, "path":""
--- http_config eval: $::HTTP_CONFIG
--- config eval: $::CONFIG
--- request eval
["GET /api/%22%5c%5c%00%1b[31m",
 "GET /log"]
--- error_code eval
[400, 200]
--- response_body_like eval
[qr/^/,
 qr/(?=$::SAME)(?=.*"client":"127\.0\.0\.1","method":"GET","path":"",)
    (?=.*"route":"","consumer":"","status":400,)/xs]
--- response_body_unlike eval
[qr/^\x00$/, $::CLEAN]
--- no_error_log
[error]



=== TEST 3: a token missing: 401, the auth fields, no upstream time
--- http_config eval: $::HTTP_CONFIG
--- config eval: $::CONFIG
--- request eval
["DELETE /api/x%5C%22%0A%7F",
 "GET /log"]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/^/,
 qr/(?=$::SAME)(?=.*"method":"DELETE","path":"\/api\/x\\\\\\"\\n\x7f")
    (?=.*"status":401,)(?=.*"upstream_time":"","auth":"jwt")
    (?=.*"auth_outcome":"missing")/xs]
--- response_body_unlike eval
[qr/^\x00$/, $::CLEAN]
--- no_error_log
[error]



=== TEST 4: an unusual method, a route with a dot, no auth or limit: empty strings
--- http_config eval: $::HTTP_CONFIG
--- config eval: $::CONFIG
--- request eval
["X-Y_Z /open/%E2%80%AE%C2%85",
 "GET /log"]
--- error_code eval
[204, 200]
--- response_body_like eval
[qr/^$/,
 qr/(?=$::SAME)(?=.*"method":"X-Y_Z","path":"\/open\/\xe2\x80\xae\xc2\x85")
    (?=.*"route":"open\.v1","consumer":"","status":204,)
    (?=.*"upstream_time":"","auth":"","auth_outcome":"","limit":"",)/xs]
--- response_body_unlike eval
[qr/^\x00$/, $::CLEAN]
--- no_error_log
[error]



=== TEST 5: $gw_log_json outside the log phase: the same object as the log line's format
--- http_config eval: $::HTTP_CONFIG
--- config
    location /t {
        gw_route t;
        return 200 "$gw_log_json\n";
    }
--- request
GET /t%22%01
--- response_body_like
^\{"time":"[^"]+","request_id":"[0-9a-f]{32}","trace_id":"","span_id":"","client":"127\.0\.0\.1","method":"GET","path":"/t\\"\\u0001","route":"t","consumer":"","status":\d+,"request_time":\d+\.\d{3},"upstream_time":"","auth":"","auth_outcome":"","limit":"","bytes_in":\d+,"bytes_out":\d+\}$
--- no_error_log
[error]



=== TEST 6: a hostile X-Real-IP and X-Request-ID are refused; no trace before "return"
--- http_config eval: $::HTTP_CONFIG
--- config eval: $::CONFIG
--- request eval
["GET /open/x",
 "GET /log"]
--- more_headers eval
["X-Real-IP: 1.2.3.4\"\\\x1b\ntraceparent: 00-\x1b-\"\\-01\n"
 . "X-Request-ID: \x1b[31m\"", ""]
--- error_code eval
[204, 200]
--- response_body_like eval
[qr/^$/,
 qr/(?=$::SAME)(?=.*"request_id":"[0-9a-f]{32}")
    (?=.*"trace_id":"","span_id":"")
    (?=.*"client":"127\.0\.0\.1","method":"GET","path":"\/open\/x")/xs]
--- response_body_unlike eval
[qr/^\x00$/, $::CLEAN]
--- no_error_log
[error]
