# vi:ft=perl
#
# Rate limits in local mode (docs/limit.md): a rate with its burst, a
# quota, several limits on one request (a refusal by one takes nothing
# from the others), the RateLimit-Policy / RateLimit fields and the legacy
# ones, 429 with Retry-After and a problem body, gw_limit_status, dry run,
# delay=, empty keys, keys told apart by their bytes (odd bytes, huge keys
# capped by hashing, not truncating, and never sharing state with their
# digest sent as a key), plans chosen by gw_limit_plan_key,
# the fields on an upstream's error answer, shared and inherited limits,
# and $gw_limit_status in the access log.  (What refusals log is checked
# in t/082-limit-accuracy.t: here each request's log lines are checked
# apart, and only the refused ones log.)
#
# Requests of one block go one after the other to the same nginx, so a
# block sees the state its earlier requests left.  Each limited location
# proxies to /up: the check runs in the precontent phase, which "return"
# in the location itself would skip.

use strict;
use warnings;

use Digest::SHA ();
use Test::Nginx::Socket 'no_plan';

no_shuffle();

our $UP = <<'_EOC_';
    location = /up {
        return 200 "ok\n";
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $UP . $block->config)
        if defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: a rate with a burst: burst + 1 at once, then 429
--- config
    location /a {
        gw_limit api key=$arg_k rate=1r/m burst=2;
        add_header X-Limit $gw_limit_status always;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 200, 200, 429]
--- response_headers eval
["RateLimit-Policy: \"api\";q=1;w=60\nRateLimit: \"api\";r=2;t=60\nX-Limit: passed\n!Retry-After",
 "RateLimit: \"api\";r=1;t=120\nX-Limit: passed",
 "RateLimit: \"api\";r=0;t=180\nX-Limit: passed",
 "RateLimit: \"api\";r=0;t=180\nRetry-After: 60\nX-Limit: rejected\nContent-Type: application/problem+json"]
--- response_body_like eval
["ok", "ok", "ok",
 qr/^\{"type":"urn:tollgate:problem:rate-limited","title":"Too many requests","status":429,"detail":"limit \\"api\\" exceeded; retry in 60 s","request_id":"[0-9a-f]{32}"\}$/]
--- no_error_log
[error]



=== TEST 2: keys are counted apart
--- config
    location /a {
        gw_limit api key=$arg_k rate=1r/m;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=y", "GET /a?k=x", "GET /a?k=y", "GET /a?k=z"]
--- error_code eval
[200, 200, 429, 429, 200]
--- no_error_log
[error]



=== TEST 3: an empty key is not limited
--- config
    location /a {
        gw_limit api key=$arg_k rate=1r/m;
        add_header X-Limit "[$gw_limit_status]" always;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a", "GET /a", "GET /a?k=", "GET /a?k=x"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["!RateLimit\nX-Limit: []", "X-Limit: []", "X-Limit: []",
 "X-Limit: [passed]\nRateLimit: \"api\";r=0;t=60"]
--- no_error_log
[error]



=== TEST 4: a quota: the count per window, then 429 until it slides
--- config
    location /a {
        gw_limit daily key=$arg_k quota=3/d;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 200, 200, 429]
--- response_headers_like eval
["RateLimit-Policy: \"daily\";q=3;w=86400\nRateLimit: \"daily\";r=2;t=\\d+",
 "RateLimit: \"daily\";r=1;t=\\d+",
 "RateLimit: \"daily\";r=0;t=\\d+",
 "RateLimit: \"daily\";r=0;t=\\d+\nRetry-After: \\d+"]
--- no_error_log
[error]



=== TEST 5: several limits: the third request is refused by the quota
alone, and the rate's count does not move for it
--- config
    location /a {
        gw_limit burst key=$arg_k rate=10r/m burst=5;
        gw_limit hourly key=$arg_k quota=2/h;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 200, 429, 429]
--- response_headers_like eval
["RateLimit-Policy: \"burst\";q=10;w=60, \"hourly\";q=2;w=3600\nRateLimit: \"burst\";r=5;t=6, \"hourly\";r=1;t=\\d+",
 "RateLimit: \"burst\";r=4;t=12, \"hourly\";r=0;t=\\d+",
 "RateLimit: \"burst\";r=4;t=12, \"hourly\";r=0;t=\\d+",
 "RateLimit: \"burst\";r=4;t=12, \"hourly\";r=0;t=\\d+"]
--- no_error_log
gw_limit: limit "burst" exceeded
[error]



=== TEST 6: a refusal by the rate takes nothing from the quota
--- config
    location /a {
        gw_limit burst key=$arg_k rate=1r/m;
        gw_limit hourly key=$arg_k quota=5/h;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 429, 429]
--- response_headers_like eval
["RateLimit: \"burst\";r=0;t=60, \"hourly\";r=4;t=\\d+",
 "RateLimit: \"burst\";r=0;t=60, \"hourly\";r=4;t=\\d+",
 "RateLimit: \"burst\";r=0;t=60, \"hourly\";r=4;t=\\d+"]
--- no_error_log
[error]



=== TEST 7: legacy fields describe the limit with the fewest left;
gw_limit_headers off drops the draft's fields
--- config
    location /a {
        gw_limit burst key=$arg_k rate=10r/s burst=9;
        gw_limit hourly key=$arg_k quota=2/h;
        gw_limit_headers off;
        gw_limit_legacy_headers on;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 200, 429]
--- response_headers_like eval
["X-RateLimit-Limit: 2\nX-RateLimit-Remaining: 1\nX-RateLimit-Reset: \\d+",
 "X-RateLimit-Limit: 2\nX-RateLimit-Remaining: 0",
 "X-RateLimit-Limit: 2\nX-RateLimit-Remaining: 0"]
--- raw_response_headers_unlike eval
["(?im)^RateLimit", "(?im)^RateLimit", "(?im)^RateLimit"]
--- no_error_log
[error]



=== TEST 8: dry run: counted, fields sent, nothing refused
--- config
    location /a {
        gw_limit api key=$arg_k rate=1r/m;
        gw_limit_dry_run on;
        add_header X-Limit $gw_limit_status always;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Limit: passed\nRateLimit: \"api\";r=0;t=60",
 "X-Limit: dry_run\nRateLimit: \"api\";r=0;t=60\n!Retry-After",
 "X-Limit: dry_run"]
--- no_error_log
[error]



=== TEST 9: gw_limit_status sets the refusal's status
--- config
    location /a {
        gw_limit api key=$arg_k rate=1r/m;
        gw_limit_status 503;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 503]
--- response_body_like eval
["ok", qr/"status":503/]
--- no_error_log
[error]



=== TEST 10: delay=: the excess past it is held, not refused
--- config
    location /a {
        gw_limit api key=$arg_k rate=4r/s burst=3 delay=1;
        add_header X-Limit $gw_limit_status always;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a?k=x", "GET /a?k=x"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Limit: passed", "X-Limit: passed", "X-Limit: delayed",
 "X-Limit: delayed"]
--- no_error_log
[error]



=== TEST 11: keys are bytes: odd bytes are keys like any other
--- config
    location /a {
        gw_limit api key=$http_x_k rate=1r/m;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a", "GET /a", "GET /a", "GET /a", "GET /a"]
--- more_headers eval
["X-K: \xff\xfe\x01 \"'\\\\", "X-K: \xff\xfe\x01 \"'\\\\", "X-K: \xff\xfe\x02",
 "X-K: \xff\xfe\x01 \"'\\", "X-K: \xc3\xa9t\xc3\xa9"]
--- error_code eval
[200, 429, 200, 200, 200]
--- no_error_log
[error]



=== TEST 12: a huge key is hashed, not truncated: two keys alike in their
first 4 KB are still two keys, and each is counted
--- config
    location /a {
        gw_limit api key=$http_x_k rate=1r/m;
        gw_limit_key_max 64;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a", "GET /a", "GET /a", "GET /a"]
--- more_headers eval
["X-K: " . ("a" x 4096) . "1", "X-K: " . ("a" x 4096) . "2",
 "X-K: " . ("a" x 4096) . "1", "X-K: " . ("a" x 4096) . "2"]
--- error_code eval
[200, 200, 429, 429]
--- no_error_log
[error]



=== TEST 13: a plan replaces a limit's values, or lifts it (off); an
unknown plan keeps the defaults
--- http_config
    gw_limit_plan gold api rate=1r/m burst=2;
    gw_limit_plan free api quota=1/h;
    gw_limit_plan intern api off;
--- config
    location /a {
        gw_limit api key=$arg_k rate=1r/m;
        gw_limit_plan_key $arg_plan;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=g&plan=gold", "GET /a?k=g&plan=gold", "GET /a?k=g&plan=gold",
 "GET /a?k=g&plan=gold",
 "GET /a?k=f&plan=free", "GET /a?k=f&plan=free",
 "GET /a?k=i&plan=intern", "GET /a?k=i&plan=intern",
 "GET /a?k=n&plan=none", "GET /a?k=n&plan=none"]
--- error_code eval
[200, 200, 200, 429, 200, 429, 200, 200, 200, 429]
--- response_headers_like eval
["RateLimit-Policy: \"api\";q=1;w=60", "", "", "",
 "RateLimit-Policy: \"api\";q=1;w=3600", "", "!RateLimit-Policy", "",
 "RateLimit-Policy: \"api\";q=1;w=60", ""]
--- no_error_log
[error]



=== TEST 14: an upstream's error answer gets the fields too
--- config
    location = /err {
        return 503 "busy\n";
    }
    location /a {
        gw_limit api key=$arg_k rate=1r/m;
        proxy_pass http://127.0.0.1:$server_port/err;
    }
--- request
GET /a?k=x
--- error_code: 503
--- response_headers
RateLimit: "api";r=0;t=60
--- no_error_log
[error]



=== TEST 15: two locations with a limit of the same name share its state;
an inner location's own gw_limit replaces the outer ones
--- config
    gw_limit shared key=$arg_k quota=2/h;
    location /a {
        proxy_pass http://127.0.0.1:$server_port/up;
    }
    location /b {
        proxy_pass http://127.0.0.1:$server_port/up;
    }
    location /c {
        gw_limit other key=$arg_k rate=100r/s;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?k=x", "GET /b?k=x", "GET /a?k=x", "GET /c?k=x"]
--- error_code eval
[200, 200, 429, 200]
--- response_headers_like eval
["", "", "", "RateLimit-Policy: \"other\";q=100;w=1"]
--- no_error_log
[error]



=== TEST 16: $gw_limit_status in the access log
--- http_config
    log_format lim "$uri $status $gw_limit_status";
--- config
    location /a {
        access_log logs/lim.log lim;
        gw_limit api key=$arg_k rate=1r/m;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
    location = /log {
        alias logs/lim.log;
    }
--- request eval
["GET /a?k=x", "GET /a?k=x", "GET /a", "GET /log"]
--- error_code eval
[200, 429, 200, 200]
--- response_body_like eval
["ok", "", "ok", qr{^/a 200 passed\n/a 429 rejected\n/a 200 -\n$}]
--- no_error_log
[error]



=== TEST 17: a hashed key and its digest sent as a key are two keys, in
either order: the digest stands for the long key apart from any literal
--- config
    location /a {
        gw_limit api key=$http_x_k rate=1r/m;
        gw_limit_key_max 64;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a", "GET /a", "GET /a", "GET /a", "GET /a", "GET /a", "GET /a",
 "GET /a"]
--- more_headers eval
my ($l1, $l2) = ("k" x 100 . "1", "k" x 100 . "2");
my ($d1, $d2) = map { Digest::SHA::sha256_hex($_) } $l1, $l2;
["X-K: $l1", "X-K: $l1", "X-K: $d1", "X-K: $d1",
 "X-K: $d2", "X-K: $d2", "X-K: $l2", "X-K: $l2"]
--- error_code eval
[200, 429, 200, 429, 200, 429, 200, 429]
--- no_error_log
[error]



=== TEST 18: a key of one variable is read as the complex value reads it
(no value: an empty key, not limited); a key with text around a variable
stays a complex value, "k:" when the variable is empty
--- config
    location /one {
        gw_limit api key=$arg_k rate=1r/m;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
    location /two {
        gw_limit api2 key=k:$arg_k rate=1r/m;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /one", "GET /one?k=", "GET /one?k=a", "GET /one?k=a",
 "GET /two", "GET /two?k=", "GET /two?k=a", "GET /two?k=a"]
--- error_code eval
[200, 200, 200, 429, 200, 429, 200, 429]
--- no_error_log
[error]
