# vi:ft=perl
#
# JWT authentication: where the token comes from, where the check applies,
# and the shape of every denial (status, WWW-Authenticate, problem+json
# body with request_id), and what a denial writes to the log.
# docs/jwt.md is the spec.  Tokens are minted below by Tollgate::JWT and
# passed to the blocks by "--- more_headers eval" ($::tok{...}).

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $now = now();
our %tok;

$tok{good} = jwt(alg => 'RS256',
                 payload => { sub => 'alice', exp => $now + 3600 });
$tok{expired} = jwt(alg => 'RS256',
                    payload => { sub => 'alice', exp => $now - 600 });
$tok{read} = jwt(alg => 'RS256',
                 payload => { sub => 'alice', exp => $now + 3600,
                              scope => 'orders.write profile' });

# the two segments that must never reach the log
our ($sig_seg) = (segments($tok{expired}))[2];
our ($payload_seg) = (segments($tok{expired}))[1];

run_tests();

__DATA__

=== TEST 1: a valid token in Authorization: Bearer reaches the upstream
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{good}"
--- request
GET /t
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 2: no token: 401, Bearer realm without error, problem+json
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('token-missing', 401)
--- no_error_log
[error]



=== TEST 3: a token that is not a JWS: 401 invalid_token with a description
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers
Authorization: Bearer not-a-token
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]+"
Content-Type: application/problem\+json
--- response_body_like eval
Tollgate::JWT::problem_re('token-invalid', 401)
--- no_error_log
[error]



=== TEST 4: an expired token: error_description="token expired"
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{expired}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token expired"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('token-invalid', 401)
--- no_error_log
[error]



=== TEST 5: the realm is the directive's value
--- config
    location = /t {
        gw_jwt orders;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="orders"
--- no_error_log
[error]



=== TEST 6: the client's well-formed X-Request-ID is the problem's request_id
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers
X-Request-ID: req-42.a_b:c
--- request
GET /t
--- error_code: 401
--- response_body_like: "request_id"\s*:\s*"req-42\.a_b:c"
--- no_error_log
[error]



=== TEST 7: a malformed X-Request-ID is replaced by nginx's $request_id
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers
X-Request-ID: a"b<c>
--- request
GET /t
--- error_code: 401
--- response_body_like: "request_id"\s*:\s*"[0-9a-f]{32}"
--- no_error_log
[error]



=== TEST 8: the Bearer scheme is case-insensitive (bearer)
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: bearer $::tok{good}"
--- request
GET /t
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 9: the Bearer scheme is case-insensitive (BEARER)
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: BEARER $::tok{good}"
--- request
GET /t
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 10: another scheme (Basic) carries no token: 401 token-missing
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers
Authorization: Basic YWxpY2U6c2VjcmV0
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
--- response_body_like eval
Tollgate::JWT::problem_re('token-missing', 401)
--- no_error_log
[error]



=== TEST 11: gw_jwt_token from a cookie
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $cookie_access_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- more_headers eval
"Cookie: theme=dark; access_token=$::tok{good}; lang=en"
--- request
GET /t
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 12: with gw_jwt_token set, an Authorization header is not read
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $cookie_access_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{good}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
--- response_body_like eval
Tollgate::JWT::problem_re('token-missing', 401)
--- no_error_log
[error]



=== TEST 13: gw_jwt_token from a query argument
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $arg_access_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- request eval
"GET /t?x=1&access_token=$::tok{good}"
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 14: gw_jwt_token from a request header variable
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $http_x_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- more_headers eval
"X-Token: $::tok{good}"
--- request
GET /t
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 15: gw_jwt_token with a complex value (prefix stripped by map)
--- http_config
    map $http_x_auth $test_token {
        "~^Token (?<t>.+)$"  $t;
        default              "";
    }
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $test_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub\n";
    }
--- more_headers eval
"X-Auth: Token $::tok{good}"
--- request
GET /t
--- response_body
sub=alice
--- no_error_log
[error]



=== TEST 16: gw_jwt_token whose value is empty means no token
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $cookie_access_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers
Cookie: access_token=
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
--- response_body_like eval
Tollgate::JWT::problem_re('token-missing', 401)
--- no_error_log
[error]



=== TEST 17: gw_jwt off in a nested location needs no token
--- config
    location /api/ {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;

        location /api/health {
            gw_jwt off;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
        }
    }
    location = /up {
        return 200 "reached\n";
    }
--- request
GET /api/health
--- response_body
reached
--- no_error_log
[error]



=== TEST 18: ... while its parent location still requires one
--- config
    location /api/ {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;

        location /api/health {
            gw_jwt off;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
        }
    }
    location = /up {
        return 200 "reached\n";
    }
--- request
GET /api/orders
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
--- no_error_log
[error]



=== TEST 19: gw_jwt at server level is inherited by locations
--- config
    gw_jwt api;
    gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;

    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        gw_jwt off;
        return 200 "reached\n";
    }
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
--- no_error_log
[error]



=== TEST 20: gw_jwt off in a location under a server-level gw_jwt
--- config
    gw_jwt api;
    gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;

    location = /public {
        gw_jwt off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        gw_jwt off;
        return 200 "reached\n";
    }
--- request
GET /public
--- response_body
reached
--- no_error_log
[error]



=== TEST 21: missing scope: 403 insufficient_scope with scope=, problem+json
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_scope orders.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{read}"
--- request
GET /t
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders.read"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('insufficient-scope', 403)
--- no_error_log
[error]



=== TEST 22: a denial is logged at info with its reason, never the token
--- log_level: info
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{expired}"
--- request
GET /t
--- error_code: 401
--- error_log eval
[qr/\[info\] .*token expired/]
--- no_error_log eval
["[error]", $::sig_seg, $::payload_seg]



=== TEST 23: a denied token from a query argument is not logged either
--- log_level: info
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_token $arg_access_token;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- request eval
"GET /t?access_token=$::tok{expired}"
--- error_code: 401
--- error_log eval
[qr/\[info\] .*token expired/]
--- no_error_log eval
["[error]", $::sig_seg, $::payload_seg]



=== TEST 24: a denied POST: 401, the body is discarded
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- request
POST /t
{"order": 1}
--- error_code: 401
--- response_body_like eval
Tollgate::JWT::problem_re('token-missing', 401)
--- no_error_log
[error]
