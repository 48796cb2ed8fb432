# vi:ft=perl
#
# JWT authentication: gw_jwt_type (docs/jwt.md), the token type a location
# requires, so an ID token or any other JWT signed by the same issuer is
# never taken for an access token (RFC 8725 section 3.11, RFC 9068 section
# 2.1).  The header's "typ" is compared as a media type: ASCII case does
# not count, and "application/" may be left out on either side.  A missing
# typ, one of another type, one that is not a string, or one with
# parameters is refused with 401 invalid_token.  Both ways through the
# header are exercised: the plain matcher (a header of the usual shape)
# and jansson (an escape in the typ, a typ that is a number).  The
# verified-token cache and the worker's memo must not let a token of the
# wrong type through a location that requires one, whatever another
# location accepted and cached before.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $now = now();
my %claims = (sub => 'alice', exp => $now + 3600, jti => 'j-1');

# tt($typ): an RS256 token whose header has typ $typ (undef: none)
sub tt {
    my ($typ) = @_;
    my %h = (alg => 'RS256');
    $h{typ} = $typ if defined $typ;
    return jwt(header => \%h, payload => { %claims, n => int rand 1e9 });
}

sub bearer { [map { "Authorization: Bearer $_" } @_] }

# WWW-Authenticate of a 401 with this exact description
sub invalid {
    my ($why) = @_;
    return 'WWW-Authenticate: Bearer realm="api", error="invalid_token", '
           . qq{error_description="\Q$why\E"};
}

our %tok;
$tok{at}        = tt('at+jwt');
$tok{app}       = tt('application/at+jwt');
$tok{upper}     = tt('AT+JWT');
$tok{mixed}     = tt('Application/At+Jwt');
$tok{jwt}       = tt('JWT');
$tok{none}      = tt(undef);
$tok{app_jwt}   = tt('application/jwt');
$tok{param}     = tt('at+jwt; charset=utf-8');
$tok{prefix}    = tt('at+jwtx');
$tok{empty}     = tt('');
$tok{app_only}  = tt('application/');
$tok{long}      = tt('at+jwt' . ('x' x 80));

# the jansson way: a typ with an escape (the same value), or a number
$tok{escaped} = jwt(alg => 'RS256',
                    header => '{"alg":"RS256","typ":"at\u002bjwt"}',
                    payload => { %claims, n => 1 });
$tok{number}  = jwt(alg => 'RS256', header => '{"alg":"RS256","typ":1}',
                    payload => { %claims, n => 2 });
$tok{array}   = jwt(alg => 'RS256',
                    header => '{"alg":"RS256","typ":["at+jwt"]}',
                    payload => { %claims, n => 3 });

run_tests();

__DATA__

=== TEST 1: gw_jwt_type at+jwt: the same media type in any spelling passes
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_type at+jwt;
        gw_jwt_cache off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok\n"; }
--- more_headers eval
::bearer(@::tok{qw(at app upper mixed escaped)})
--- request eval
[("GET /t") x 5]
--- error_code eval
[200, 200, 200, 200, 200]
--- no_error_log
[error]



=== TEST 2: gw_jwt_type at+jwt: no typ, another type, a number, parameters fail
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_type at+jwt;
        gw_jwt_cache off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok\n"; }
--- more_headers eval
::bearer(@::tok{qw(none jwt app_jwt param prefix empty app_only long number
                   array)})
--- request eval
[("GET /t") x 10]
--- error_code eval
[(401) x 10]
--- response_headers_like eval
[::invalid('token has no type'), (::invalid('token type not allowed')) x 9]
--- no_error_log
[error]



=== TEST 3: a JWT-typed token: the exact challenge, problem and log line
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_type at+jwt;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok\n"; }
--- more_headers eval
"Authorization: Bearer $::tok{jwt}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token type not allowed"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('token-invalid', 401, 'token type not allowed')
--- error_log
gw_jwt: request denied: token type not allowed
--- no_error_log
[error]



=== TEST 4: configured as application/at+jwt, the short form passes too
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_type application/AT+JWT;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok\n"; }
--- more_headers eval
::bearer(@::tok{qw(at app jwt)})
--- request eval
[("GET /t") x 3]
--- error_code eval
[200, 200, 401]
--- no_error_log
[error]



=== TEST 5: without gw_jwt_type, or with it off below, any typ passes
--- config
    gw_jwt_type at+jwt;

    location = /t {
        gw_jwt api;
        gw_jwt_type off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok\n"; }
--- more_headers eval
::bearer(@::tok{qw(at jwt none number)})
--- request eval
[("GET /t") x 4]
--- error_code eval
[200, 200, 200, 200]
--- no_error_log
[error]



=== TEST 6: cache on: a token cached by a location without the rule is still refused where it applies
--- http_config
    gw_jwt_cache_zone 1m;
--- config
    location = /open {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /typed {
        gw_jwt api;
        gw_jwt_type at+jwt;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Cache $gw_jwt_cache_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok $http_x_cache\n"; }
--- more_headers eval
::bearer(@::tok{qw(jwt jwt jwt none none at at at)})
--- request eval
["GET /open", "GET /typed", "GET /typed", "GET /open", "GET /typed",
 "GET /typed", "GET /typed", "GET /typed"]
--- error_code eval
[200, 401, 401, 200, 401, 200, 200, 200]
--- response_body_like eval
["ok ", "token type not allowed", "token type not allowed", "ok ",
 "token has no type", "ok MISS", "ok HIT", "ok HIT"]
--- no_error_log
[error]



=== TEST 7: cache off: the same answers
--- config
    location = /open {
        gw_jwt api;
        gw_jwt_cache off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /typed {
        gw_jwt api;
        gw_jwt_cache off;
        gw_jwt_type at+jwt;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "ok\n"; }
--- more_headers eval
::bearer(@::tok{qw(jwt jwt at at)})
--- request eval
["GET /open", "GET /typed", "GET /typed", "GET /typed"]
--- error_code eval
[200, 401, 200, 200]
--- no_error_log
[error]
