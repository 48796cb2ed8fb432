# vi:ft=perl
#
# The request id travelling (docs/metrics.md, "Request ids"): with
# gw_request_id on, the upstream gets exactly one X-Request-ID, the id
# ($gw_request_id: the client's when well formed, else 32 hex digits),
# and every response carries it back: proxied, denied (with the same id
# in the problem body), and over an upstream's own X-Request-ID.  Off (the
# default), nothing is added.  Upstreams are Tollgate::Echo, which answers
# with the request it received, header lines and all.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Echo;
use Tollgate::JWT qw(keys_dir);

our $echo = Tollgate::Echo->start;

$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

run_tests();

__DATA__

=== TEST 1: the client's well-formed id reaches the upstream once and comes back
--- config
    gw_request_id on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers
X-Request-ID: req-42.a_b:c
--- request
GET /t
--- response_headers
X-Request-ID: req-42.a_b:c
--- response_body_like eval
qr/\AGET \/up HTTP\/1\.0\n(?:(?!x-request-id).*\n)*X-Request-ID: req-42\.a_b:c\n(?:(?!x-request-id).*\n)*\z/i
--- no_error_log
[error]



=== TEST 2: no client id: a generated one, the same upstream and back
--- config
    gw_request_id on;
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
        add_header X-Logged $gw_request_id;
    }
--- request
GET /t
--- response_headers_like
X-Request-ID: [0-9a-f]{32}
X-Logged: [0-9a-f]{32}
--- response_body_like eval
qr/^x-request-id: [0-9a-f]{32}$/mi
--- no_error_log
[error]



=== TEST 3: a malformed client id never reaches the upstream
--- config
    gw_request_id on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers
X-Request-ID: a"b<c>
--- request
GET /t
--- response_headers_like
X-Request-ID: [0-9a-f]{32}
--- response_body_like eval
qr/\A(?!.*a"b)(?=.*^x-request-id: [0-9a-f]{32}$)/msi
--- no_error_log
[error]



=== TEST 4: two client ids, a malformed one first: the upstream sees one, the valid one
--- config
    gw_request_id on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers
X-Request-ID: bad id
X-Request-ID: good-id
--- request
GET /t
--- response_headers
X-Request-ID: good-id
--- response_body_like eval
qr/\A(?!.*bad id)(?!(?:.*\n)?x-request-id:.*\n(?:.*\n)*x-request-id:)(?=.*^x-request-id: good-id$)/msi
--- no_error_log
[error]



=== TEST 5: a denial carries the id in the header and in the problem body
--- config
    gw_request_id on;
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers
X-Request-ID: deny-7
--- request
GET /t
--- error_code: 401
--- response_headers
X-Request-ID: deny-7
--- response_body_like: "request_id"\s*:\s*"deny-7"
--- no_error_log
[error]



=== TEST 6: the gateway's id replaces an upstream's own
--- config
    gw_request_id on;
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        gw_request_id off;
        add_header X-Request-ID from-upstream;
        return 200 "up\n";
    }
--- more_headers
X-Request-ID: mine
--- request
GET /t
--- response_headers
X-Request-ID: mine
--- response_body
up
--- no_error_log
[error]



=== TEST 7: off by default: nothing added either way
--- config
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- request
GET /t
--- response_headers
!X-Request-ID
--- response_body_like eval
qr/\A(?!.*x-request-id)/si
--- no_error_log
[error]
