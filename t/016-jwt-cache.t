# vi:ft=perl
#
# JWT authentication: the verified-token cache (gw_jwt_cache_zone,
# gw_jwt_cache).  A cached token skips only the signature check, so
# everything else must still hold on every request and in every location:
# expiry, the location's keys (a rotated-out key stops matching at once),
# its algorithms, size cap, issuer and scopes.  A small zone evicts
# without running out of memory.
#
# The SSI scaffolding (/as-a, /rotate, /pause) is the one of
# t/015-jwt-reload.t.  Blocks run in file order: TEST 1 waits for a token
# minted at start-up to expire, so it must come first.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use File::Temp qw(tempdir);
use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

no_shuffle();

$ENV{TEST_NGINX_KEYS} = keys_dir();
$ENV{TEST_NGINX_JWT_DATA} = data_dir();

my $tmp = tempdir(CLEANUP => 1);
mkdir "$tmp/tmp" or die "mkdir $tmp/tmp: $!";
$ENV{TEST_NGINX_JWT_TMP} = $tmp;

our $now = now();
my %claims = (sub => 'alice', exp => $now + 3600);

$ENV{TEST_NGINX_TOK_A} = jwt(alg => 'RS256', kid => 'k1', payload => \%claims);
$ENV{TEST_NGINX_TOK_B} = jwt(alg => 'RS256', kid => 'k1',
                             key => data_file('rsa2.key'),
                             payload => { %claims, sub => 'bob' });

our %tok;
$tok{a} = $ENV{TEST_NGINX_TOK_A};
$tok{big} = token_of_length(2000, alg => 'RS256', payload => \%claims);

# many distinct tokens for a small zone
our @many = map {
    jwt(alg => 'HS256', payload => { %claims, n => $_ })
} 1 .. 300;

my $old = $now - 3600;
spew("$tmp/key$_.pem", slurp(key_file('rsa.pem')), $old) for 1 .. 3;

# last: a token that expires 5 seconds from now (TEST 1 outlives it)
$ENV{TEST_NGINX_TOK_SHORT} = jwt(alg => 'RS256', kid => 'k1',
                                 payload => { sub => 'carol',
                                              exp => now() + 5 });

run_tests();

__DATA__

=== TEST 1: a cached token is refused once it expires
--- http_config
    gw_jwt_cache_zone 1m ttl=5m;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-short {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_SHORT";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 's1:<!--# include virtual="/as-short" wait="yes" -->s2:<!--# include virtual="/as-short" wait="yes" --><!--# include virtual="/pause" wait="yes" --><!--# include virtual="/pause" wait="yes" --><!--# include virtual="/pause" wait="yes" --><!--# include virtual="/pause" wait="yes" -->s3:<!--# include virtual="/as-short" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body
s1:carol
s2:carol
s3:denied
end
--- error_log
gw_jwt: request denied: token expired
--- no_error_log
[error]



=== TEST 2: a repeated token is served every time, with its claims
--- http_config
    gw_jwt_cache_zone 1m;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Cache $gw_jwt_cache_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub alg=$http_x_alg cache=$http_x_cache\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{a}"
--- request eval
["GET /t", "GET /t", "GET /t"]
--- response_body eval
["sub=alice alg=RS256 cache=MISS\n",
 ("sub=alice alg=RS256 cache=HIT\n") x 2]
--- no_error_log
[error]



=== TEST 3: the default zone (no gw_jwt_cache_zone) serves repeated tokens too
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
"Authorization: Bearer $::tok{a}"
--- request eval
["GET /t", "GET /t"]
--- response_body eval
[("sub=alice\n") x 2]
--- no_error_log
[error]



=== TEST 4: cached in one location, the token still meets each other location's policy
--- http_config
    gw_jwt_cache_zone 1m;
--- config
    location = /open {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_max_size 4k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /other-key {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_DATA/rsa2.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /issuer {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_issuer https://id.example.com;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /scope {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_scope orders.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /alg {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_algorithms PS256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /small {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_max_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /pinned {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem alg=PS256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
[("Authorization: Bearer $::tok{big}") x 8]
--- request eval
["GET /open", "GET /open", "GET /other-key", "GET /issuer", "GET /scope",
 "GET /alg", "GET /small", "GET /pinned"]
--- error_code eval
[200, 200, 401, 401, 403, 401, 401, 401]
--- no_error_log
[error]



=== TEST 5: a token whose key was rotated out is refused even when cached
--- http_config
    gw_jwt_cache_zone 1m ttl=1h;
    gw_jwt_key_check_interval 1s;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key1.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /as-b {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_B";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/key1.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_DATA/rsa2.pem; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" -->rotate:<!--# include virtual="/rotate" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a3:<!--# include virtual="/as-a" wait="yes" -->b3:<!--# include virtual="/as-b" wait="yes" -->b4:<!--# include virtual="/as-b" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\na2:alice\nrotate:-----BEGIN PUBLIC KEY.*\na3:denied\nb3:bob\nb4:bob\nend\n\z/s
--- no_error_log
[error]



=== TEST 6: rotating back to a key makes its cached tokens good again
--- http_config
    gw_jwt_cache_zone 1m ttl=1h;
    gw_jwt_key_check_interval 1s;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key2.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/key2.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_DATA/rsa2.pem; }
    location = /rotate-back {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/old-key;
        proxy_store $TEST_NGINX_JWT_TMP/key2.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /old-key { alias $TEST_NGINX_KEYS/rsa.pem; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" -->rotate:<!--# include virtual="/rotate" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" -->back:<!--# include virtual="/rotate-back" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a3:<!--# include virtual="/as-a" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\nrotate:.*\na2:denied\nback:.*\na3:alice\nend\n\z/s
--- no_error_log
[error]



=== TEST 7: gw_jwt_cache off: the location verifies every time
--- http_config
    gw_jwt_cache_zone 1m;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_cache off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_set_header X-Cache $gw_jwt_cache_status;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "sub=$http_x_sub cache=$http_x_cache\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{a}"
--- request eval
["GET /t", "GET /t"]
--- response_body eval
[("sub=alice cache=BYPASS\n") x 2]
--- no_error_log
[error]



=== TEST 8: a 32k zone (about 190 entries) and 300 distinct tokens: eviction, never "no memory"
--- http_config
    gw_jwt_cache_zone 32k ttl=1h;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
[map { "Authorization: Bearer $_" } @::many, $::many[0], $::many[-1]]
--- pipelined_requests eval
[("GET /t") x (@::many + 2)]
--- response_body eval
[("ok\n") x (@::many + 2)]
--- timeout: 60
--- no_error_log
[error]
[crit]
[alert]
no memory
