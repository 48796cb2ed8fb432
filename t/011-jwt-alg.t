# vi:ft=perl
#
# JWT authentication: every algorithm of RFC 7518 that docs/jwt.md lists
# (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA),
# each with a good and a changed signature; which key fits which
# algorithm (HMAC secret sizes, curves, key types); gw_jwt_algorithms;
# key files as PEM public keys, X.509 certificates, JWKS and HMAC
# secrets; key selection by kid across several files; alg= pins.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use File::Temp qw(tempdir);
use JSON::PP ();
use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();
$ENV{TEST_NGINX_JWT_DATA} = data_dir();

our $now = now();
our (%tok, %bad);

my %claims = (sub => 'alice', exp => $now + 3600);

for my $alg (qw(HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512
                ES256 ES384 ES512 EdDSA))
{
    $tok{$alg} = jwt(alg => $alg, payload => \%claims);

    # the same token with the first signature byte changed
    my ($h, $p, $s) = segments($tok{$alg});
    my $sig = b64url_decode($s);
    substr($sig, 0, 1) = chr(ord(substr $sig, 0, 1) ^ 0x01);
    $bad{$alg} = "$h.$p." . b64url($sig);
}

# right algorithm, wrong key of the right type
$tok{rs256_other} = jwt(alg => 'RS256', key => data_file('rsa2.key'),
                        payload => \%claims);
$tok{es256_other} = jwt(alg => 'ES256', key => data_file('ec256b.key'),
                        payload => \%claims);
$tok{hs256_other} = jwt(alg => 'HS256', secret => 'x' x 40,
                        payload => \%claims);

# ECDSA signatures that are not the fixed-width r || s of RFC 7518
{
    my ($h, $p, $s) = segments($tok{ES256});
    my $der = jose_to_der(b64url_decode($s));
    $tok{es256_der} = "$h.$p." . b64url($der);
    $tok{es256_zero} = "$h.$p." . b64url("\0" x 64);
    $tok{es256_short} = "$h.$p." . b64url(substr b64url_decode($s), 0, 63);
    ($h, $p, $s) = segments($tok{EdDSA});
    $tok{eddsa_zero} = "$h.$p." . b64url("\0" x 64);
}

# HMAC secrets shorter than the algorithm needs (HS384 >= 48, HS512 >= 64)
$tok{hs384_short} = jwt(alg => 'HS384', key => key_file('hmac.secret'),
                        payload => \%claims);
$tok{hs512_short} = jwt(alg => 'HS512', key => key_file('hmac.secret'),
                        payload => \%claims);
$tok{hs256_long} = jwt(alg => 'HS256', key => key_file('hmac64.secret'),
                       payload => \%claims);

# "alg" must be spelled exactly; each is signed as the real algorithm
our @misspelled = (
    [hs256 => 'HS256'], [Hs256 => 'HS256'], [rs256 => 'RS256'],
    [Rs256 => 'RS256'], [EDDSA => 'EdDSA'], [eddsa => 'EdDSA'],
    [Ed25519 => 'EdDSA'], [ES256K => 'ES256'], ['RS256 ' => 'RS256'],
    [' RS256' => 'RS256'], ["RS256\x00" => 'RS256'],
);
our @misspelled_tok = map {
    jwt(header => { alg => $_->[0], typ => 'JWT' }, sign => $_->[1],
        payload => \%claims)
} @misspelled;

# JWKS (t/data/keys/jwks.json): kids rsa-1, rsa-enc (use "enc"), ec256-1
# (alg ES256), ec384-1, ec521-1, ed25519-1
$tok{jwks_rsa}   = jwt(alg => 'RS256', kid => 'rsa-1', payload => \%claims);
$tok{jwks_ps}    = jwt(alg => 'PS384', kid => 'rsa-1', payload => \%claims);
$tok{jwks_ec256} = jwt(alg => 'ES256', kid => 'ec256-1', payload => \%claims);
$tok{jwks_ec384} = jwt(alg => 'ES384', kid => 'ec384-1', payload => \%claims);
$tok{jwks_ec521} = jwt(alg => 'ES512', kid => 'ec521-1', payload => \%claims);
$tok{jwks_ed}    = jwt(alg => 'EdDSA', kid => 'ed25519-1',
                       payload => \%claims);
$tok{jwks_enc}   = jwt(alg => 'RS256', kid => 'rsa-enc', payload => \%claims);
$tok{jwks_unknown} = jwt(alg => 'RS256', kid => 'rsa-2', payload => \%claims);
$tok{jwks_nokid} = jwt(alg => 'ES256', payload => \%claims);
$tok{jwks_wrongcurve} = jwt(alg => 'ES384', kid => 'ec256-1',
                            payload => \%claims);
$tok{jwks_wrongtype} = jwt(alg => 'RS256', kid => 'ec256-1',
                           payload => \%claims);

# several PEM files, kids given by the directive: r1 = rsa.pem,
# e1 = ec256.pem, e2 = t/data/jwt/ec256b.pem
$tok{kid_e2} = jwt(alg => 'ES256', kid => 'e2', key => data_file('ec256b.key'),
                   payload => \%claims);
$tok{kid_e1_signed_e2} = jwt(alg => 'ES256', kid => 'e1',
                             key => data_file('ec256b.key'),
                             payload => \%claims);
$tok{kid_none_e2} = jwt(alg => 'ES256', key => data_file('ec256b.key'),
                        payload => \%claims);
$tok{kid_r1} = jwt(alg => 'RS256', kid => 'r1', payload => \%claims);
$tok{kid_e1} = jwt(alg => 'ES256', kid => 'e1', payload => \%claims);

# an HMAC secret file that ends with one newline, which is not key material
my $tmp = tempdir(CLEANUP => 1);
$ENV{TEST_NGINX_JWT_TMP} = $tmp;
spew("$tmp/newline.secret", slurp(key_file('hmac.secret')) . "\n");

# a single JWK (not a JWKS), with and without format=jwk
spew("$tmp/one.jwk", JSON::PP->new->canonical->encode(
    public_jwk(key_file('ec256.pem'), kid => 'one', use => 'sig')));
$tok{jwk_one} = jwt(alg => 'ES256', kid => 'one', payload => \%claims);
$tok{jwk_two} = jwt(alg => 'ES256', kid => 'two', payload => \%claims);

# a kid that no key has falls back to the keys configured without a kid
$tok{fb_zzz_ec256b} = jwt(alg => 'ES256', kid => 'zzz',
                          key => data_file('ec256b.key'), payload => \%claims);
$tok{fb_zzz_ec256}  = jwt(alg => 'ES256', kid => 'zzz', payload => \%claims);
$tok{fb_ec256_1_ec256b} = jwt(alg => 'ES256', kid => 'ec256-1',
                              key => data_file('ec256b.key'),
                              payload => \%claims);
$tok{fb_r2}     = jwt(alg => 'RS256', kid => 'r2', key => data_file('rsa2.key'),
                      payload => \%claims);
$tok{fb_zzz_r2} = jwt(alg => 'RS256', kid => 'zzz',
                      key => data_file('rsa2.key'), payload => \%claims);
$tok{fb_none_ec256b} = jwt(alg => 'ES256', key => data_file('ec256b.key'),
                           payload => \%claims);
$tok{fb_none_rsa} = jwt(alg => 'RS256', payload => \%claims);

# nine HMAC secrets: without a kid, at most 8 signature checks are made
for my $i (1 .. 9) {
    my $secret = join '', map { chr(65 + ($i * 7 + $_) % 26) } 1 .. 40;
    spew("$tmp/s$i.secret", $secret);
    $tok{"cap_$i"} = jwt(alg => 'HS256', secret => $secret,
                         payload => \%claims);
    $tok{"cap_kid_$i"} = jwt(alg => 'HS256', secret => $secret, kid => "s$i",
                             payload => \%claims);
}

run_tests();

__DATA__

=== TEST 1: HS256 verifies with a 40-byte secret
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{HS256}"
--- request
GET /t
--- response_body
alg=HS256 sub=alice
--- no_error_log
[error]



=== TEST 2: HS256 with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{HS256}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 3: HS384 verifies with a 64-byte secret
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac64.secret format=hmac;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{HS384}"
--- request
GET /t
--- response_body
alg=HS384 sub=alice
--- no_error_log
[error]



=== TEST 4: HS384 with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac64.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{HS384}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 5: HS512 verifies with a 64-byte secret
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac64.secret format=hmac;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{HS512}"
--- request
GET /t
--- response_body
alg=HS512 sub=alice
--- no_error_log
[error]



=== TEST 6: HS512 with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac64.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{HS512}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 7: RS256 verifies with RSA 2048
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{RS256}"
--- request
GET /t
--- response_body
alg=RS256 sub=alice
--- no_error_log
[error]



=== TEST 8: RS256 with a changed signature byte is rejected
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
"Authorization: Bearer $::bad{RS256}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 9: RS384 verifies with RSA 2048
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{RS384}"
--- request
GET /t
--- response_body
alg=RS384 sub=alice
--- no_error_log
[error]



=== TEST 10: RS384 with a changed signature byte is rejected
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
"Authorization: Bearer $::bad{RS384}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 11: RS512 verifies with RSA 2048
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{RS512}"
--- request
GET /t
--- response_body
alg=RS512 sub=alice
--- no_error_log
[error]



=== TEST 12: RS512 with a changed signature byte is rejected
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
"Authorization: Bearer $::bad{RS512}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 13: PS256 verifies with RSA 2048
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{PS256}"
--- request
GET /t
--- response_body
alg=PS256 sub=alice
--- no_error_log
[error]



=== TEST 14: PS256 with a changed signature byte is rejected
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
"Authorization: Bearer $::bad{PS256}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 15: PS384 verifies with RSA 2048
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{PS384}"
--- request
GET /t
--- response_body
alg=PS384 sub=alice
--- no_error_log
[error]



=== TEST 16: PS384 with a changed signature byte is rejected
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
"Authorization: Bearer $::bad{PS384}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 17: PS512 verifies with RSA 2048
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{PS512}"
--- request
GET /t
--- response_body
alg=PS512 sub=alice
--- no_error_log
[error]



=== TEST 18: PS512 with a changed signature byte is rejected
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
"Authorization: Bearer $::bad{PS512}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 19: ES256 verifies with P-256
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{ES256}"
--- request
GET /t
--- response_body
alg=ES256 sub=alice
--- no_error_log
[error]



=== TEST 20: ES256 with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{ES256}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 21: ES384 verifies with P-384
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec384.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{ES384}"
--- request
GET /t
--- response_body
alg=ES384 sub=alice
--- no_error_log
[error]



=== TEST 22: ES384 with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec384.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{ES384}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 23: ES512 verifies with P-521
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec521.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{ES512}"
--- request
GET /t
--- response_body
alg=ES512 sub=alice
--- no_error_log
[error]



=== TEST 24: ES512 with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec521.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{ES512}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 25: EdDSA verifies with Ed25519
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ed25519.pem;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg sub=$http_x_sub\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{EdDSA}"
--- request
GET /t
--- response_body
alg=EdDSA sub=alice
--- no_error_log
[error]



=== TEST 26: EdDSA with a changed signature byte is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ed25519.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::bad{EdDSA}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- error_log eval
qr/\[info\] .*gw_jwt: request denied: [^,]*signature/
--- no_error_log
[error]



=== TEST 27: RS256 signed by another RSA key is rejected
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
"Authorization: Bearer $::tok{rs256_other}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- no_error_log
[error]



=== TEST 28: ES256 signed by another P-256 key is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{es256_other}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- no_error_log
[error]



=== TEST 29: HS256 signed with another secret is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{hs256_other}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- no_error_log
[error]



=== TEST 30: ES256 with a DER signature, an all-zero r || s, a short one
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{es256_der}",
 "Authorization: Bearer $::tok{es256_zero}",
 "Authorization: Bearer $::tok{es256_short}"]
--- request eval
["GET /t", "GET /t", "GET /t"]
--- error_code eval
[401, 401, 401]
--- response_headers_like eval
['WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]+"',
 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]+"',
 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]+"']
--- no_error_log
[error]



=== TEST 31: EdDSA with an all-zero signature is rejected
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ed25519.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{eddsa_zero}"
--- request
GET /t
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*signature[^"]*"
--- no_error_log
[error]



=== TEST 32: HS384 and HS512 do not fit a 40-byte secret
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{hs384_short}",
 "Authorization: Bearer $::tok{hs512_short}"]
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[401, 401]
--- response_headers eval
['WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="no key for the algorithm"',
 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="no key for the algorithm"']
--- no_error_log
[error]



=== TEST 33: HS256 fits a 64-byte secret
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac64.secret format=hmac;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{hs256_long}"
--- request
GET /t
--- response_body
alg=HS256
--- no_error_log
[error]



=== TEST 34: a key fits only its own curve and type
--- config
    location = /p256 {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /p384 {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec384.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /rsa {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{ES384}",
 "Authorization: Bearer $::tok{ES256}",
 "Authorization: Bearer $::tok{ES512}",
 "Authorization: Bearer $::tok{EdDSA}",
 "Authorization: Bearer $::tok{ES256}",
 "Authorization: Bearer $::tok{HS256}"]
--- request eval
["GET /p256", "GET /p384", "GET /p384", "GET /rsa", "GET /rsa", "GET /rsa"]
--- error_code eval
[401, 401, 401, 401, 401, 401]
--- response_headers eval
[('WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="no key for the algorithm"') x 6]
--- no_error_log
[error]



=== TEST 35: gw_jwt_algorithms: an algorithm outside the list is refused
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        gw_jwt_algorithms RS256 ES256;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{RS256}",
 "Authorization: Bearer $::tok{ES256}",
 "Authorization: Bearer $::tok{PS256}",
 "Authorization: Bearer $::tok{RS512}"]
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- error_code eval
[200, 200, 401, 401]
--- response_body_like eval
["^alg=RS256\n\\z", "^alg=ES256\n\\z", "token-invalid", "token-invalid"]
--- no_error_log
[error]



=== TEST 36: gw_jwt_algorithms in a server block is inherited
--- config
    gw_jwt_algorithms EdDSA;

    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ed25519.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{EdDSA}",
 "Authorization: Bearer $::tok{HS256}"]
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[200, 401]
--- response_headers eval
["", 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="algorithm not allowed"']
--- no_error_log
[error]



=== TEST 37: "alg" is case-sensitive and exact (hs256, Rs256, EDDSA, "RS256 ", ...)
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/ed25519.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
[map { "Authorization: Bearer $_" } @::misspelled_tok]
--- request eval
[("GET /t") x @::misspelled_tok]
--- error_code eval
[(401) x @::misspelled_tok]
--- response_body_like eval
[("token-invalid") x @::misspelled_tok]
--- no_error_log
[error]



=== TEST 38: a PEM X.509 certificate as a key file
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.crt;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{RS256}", "Authorization: Bearer $::tok{PS512}",
 "Authorization: Bearer $::bad{RS256}"]
--- request eval
["GET /t", "GET /t", "GET /t"]
--- error_code eval
[200, 200, 401]
--- response_body_like eval
["^alg=RS256\n\\z", "^alg=PS512\n\\z", "token-invalid"]
--- no_error_log
[error]



=== TEST 39: format=pem given explicitly, kid= given by the directive
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec384.pem format=pem kid=mine;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Kid $gw_jwt_kid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg kid=$http_x_kid\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{ES384}"
--- request
GET /t
--- response_body_like: ^alg=ES384 kid=(mine)?\n\z
--- no_error_log
[error]



=== TEST 40: JWKS: each key is selected by its kid
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/jwks.json;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Kid $gw_jwt_kid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg kid=$http_x_kid\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{jwks_rsa}",
 "Authorization: Bearer $::tok{jwks_ps}",
 "Authorization: Bearer $::tok{jwks_ec256}",
 "Authorization: Bearer $::tok{jwks_ec384}",
 "Authorization: Bearer $::tok{jwks_ec521}",
 "Authorization: Bearer $::tok{jwks_ed}"]
--- request eval
[("GET /t") x 6]
--- response_body eval
["alg=RS256 kid=rsa-1\n", "alg=PS384 kid=rsa-1\n", "alg=ES256 kid=ec256-1\n",
 "alg=ES384 kid=ec384-1\n", "alg=ES512 kid=ec521-1\n",
 "alg=EdDSA kid=ed25519-1\n"]
--- no_error_log
[error]



=== TEST 41: JWKS: an unknown kid and a kid of a "use": "enc" key are refused
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{jwks_unknown}",
 "Authorization: Bearer $::tok{jwks_enc}"]
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[401, 401]
--- response_headers eval
[('WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="unknown key id"') x 2]
--- error_log
gw_jwt: request denied: unknown key id
--- no_error_log
[error]



=== TEST 42: JWKS: without a kid every fitting key is tried
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/jwks.json;
        proxy_set_header X-Kid $gw_jwt_kid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "kid=$http_x_kid\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{jwks_nokid}"
--- request
GET /t
--- response_body_like: ^kid=(ec256-1)?\n\z
--- no_error_log
[error]



=== TEST 43: JWKS: a kid does not make a key fit another curve or type
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/jwks.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{jwks_wrongcurve}",
 "Authorization: Bearer $::tok{jwks_wrongtype}"]
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[401, 401]
--- response_body_like eval
["token-invalid", "token-invalid"]
--- no_error_log
[error]



=== TEST 44: several key files: the kid selects exactly one key
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem kid=r1;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem kid=e1;
        gw_jwt_key_file $TEST_NGINX_JWT_DATA/ec256b.pem kid=e2;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_set_header X-Kid $gw_jwt_kid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg kid=$http_x_kid\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{kid_e2}",
 "Authorization: Bearer $::tok{kid_e1}",
 "Authorization: Bearer $::tok{kid_r1}",
 "Authorization: Bearer $::tok{kid_e1_signed_e2}",
 "Authorization: Bearer $::tok{kid_none_e2}"]
--- request eval
[("GET /t") x 5]
--- error_code eval
[200, 200, 200, 401, 200]
--- response_body_like eval
["^alg=ES256 kid=e2\n\\z", "^alg=ES256 kid=e1\n\\z", "^alg=RS256 kid=r1\n\\z",
 "token-invalid", "^alg=ES256 kid=(e2)?\n\\z"]
--- no_error_log
[error]



=== TEST 45: several key files: an unknown kid is refused
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem kid=r1;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem kid=e1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{kid_e2}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="unknown key id"
--- no_error_log
[error]



=== TEST 46: alg= pins a key to one algorithm
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem alg=PS256;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{PS256}",
 "Authorization: Bearer $::tok{RS256}",
 "Authorization: Bearer $::tok{PS384}"]
--- request eval
[("GET /t") x 3]
--- error_code eval
[200, 401, 401]
--- response_body_like eval
["^alg=PS256\n\\z", "token-invalid", "token-invalid"]
--- no_error_log
[error]



=== TEST 47: an HMAC secret file's one trailing newline is not part of the key
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/newline.secret format=hmac;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{HS256}"
--- request
GET /t
--- response_body
alg=HS256
--- no_error_log
[error]



=== TEST 48: key files differ per location
--- config
    location = /rsa {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /ec {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{RS256}", "Authorization: Bearer $::tok{RS256}",
 "Authorization: Bearer $::tok{ES256}", "Authorization: Bearer $::tok{ES256}"]
--- request eval
["GET /rsa", "GET /ec", "GET /ec", "GET /rsa"]
--- error_code eval
[200, 401, 200, 401]
--- no_error_log
[error]



=== TEST 49: a single JWK file, with or without format=jwk
--- config
    location = /auto {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/one.jwk;
        proxy_set_header X-Kid $gw_jwt_kid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /jwk {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/one.jwk format=jwk;
        proxy_set_header X-Kid $gw_jwt_kid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "kid=$http_x_kid\n";
    }
--- more_headers eval
["Authorization: Bearer $::tok{jwk_one}", "Authorization: Bearer $::tok{jwk_one}",
 "Authorization: Bearer $::tok{ES256}", "Authorization: Bearer $::tok{jwk_two}"]
--- request eval
["GET /auto", "GET /jwk", "GET /jwk", "GET /jwk"]
--- error_code eval
[200, 200, 200, 401]
--- response_body_like eval
["^kid=one\n\\z", "^kid=one\n\\z", "^kid=(one)?\n\\z", "unknown key id|token-invalid"]
--- no_error_log
[error]



=== TEST 50: a kid that no key has falls back to the keys configured without one
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/jwks.json;
        gw_jwt_key_file $TEST_NGINX_JWT_DATA/ec256b.pem;
        gw_jwt_key_file $TEST_NGINX_JWT_DATA/rsa2.pem kid=r2;
        proxy_set_header X-Alg $gw_jwt_alg;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "alg=$http_x_alg\n";
    }
--- more_headers eval
[map { "Authorization: Bearer $::tok{$_}" }
 qw(fb_zzz_ec256b fb_zzz_ec256 fb_ec256_1_ec256b fb_r2 fb_zzz_r2
    fb_none_ec256b fb_none_rsa)]
--- request eval
[("GET /t") x 7]
--- error_code eval
[200, 401, 401, 200, 401, 200, 200]
--- response_body_like eval
["^alg=ES256\n\\z", "token-invalid", "token-invalid", "^alg=RS256\n\\z",
 "token-invalid", "^alg=ES256\n\\z", "^alg=RS256\n\\z"]
--- no_error_log
[error]



=== TEST 51: without a kid at most 8 keys are tried; a kid reaches any key
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s1.secret format=hmac kid=s1;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s2.secret format=hmac kid=s2;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s3.secret format=hmac kid=s3;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s4.secret format=hmac kid=s4;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s5.secret format=hmac kid=s5;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s6.secret format=hmac kid=s6;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s7.secret format=hmac kid=s7;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s8.secret format=hmac kid=s8;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/s9.secret format=hmac kid=s9;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
[map { "Authorization: Bearer $::tok{$_}" }
 qw(cap_1 cap_8 cap_9 cap_kid_9 cap_kid_1)]
--- request eval
[("GET /t") x 5]
--- error_code eval
[200, 200, 401, 200, 200]
--- no_error_log
[error]
