# vi:ft=perl
#
# JWT authentication under attack: "alg": "none" in any case, algorithm
# confusion (HS256 keyed with the public key's text), hostile kids (paths,
# SQL), embedded keys (jwk, jku, x5u, x5c), tampered and spliced segments,
# characters outside the base64url alphabet, padding, truncated and
# oversized tokens, malformed and duplicate-member JSON, crit and b64,
# out-of-range dates.  Every one must be a 401 (never a 200, never a 5xx)
# and must leave nothing at [error] in the log.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use MIME::Base64 qw(encode_base64);
use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $now = now();
our (%tok, @none, @confused, @kids, @tampered, @alphabet, @padded,
     @shape, @truncated, @dup, @crit, @embedded, @json, @dates);

my %claims = (sub => 'alice', exp => $now + 3600);

$tok{good} = jwt(alg => 'RS256', payload => \%claims);
my ($H, $P, $S) = segments($tok{good});

# --- alg none, in any case; signed or not ----------------------------------
for my $alg (qw(none None NONE nOnE)) {
    push @none, jwt(header => { alg => $alg, typ => 'JWT' },
                    payload => \%claims);
}
push @none, jwt(header => { alg => 'none', typ => 'JWT' }, sign => 'HS256',
                payload => \%claims);
push @none, jwt(header => { alg => 'none', typ => 'JWT' }, sign => 'RS256',
                payload => \%claims);

# --- algorithm confusion: HS256 keyed with the public key itself ------------
{
    my $pem = slurp(key_file('rsa.pem'));
    (my $pem_nonl = $pem) =~ s/\n\z//;
    my $der = public_der(key_file('rsa.pem'));
    my $jwk = public_jwk(key_file('rsa.pem'), kid => 'rsa-1');
    for my $secret ($pem, $pem_nonl, $der, b64url_decode($jwk->{n})) {
        for my $alg (qw(HS256 HS384 HS512)) {
            push @confused, jwt(alg => $alg, secret => $secret,
                                payload => \%claims);
        }
    }
    # the same with the kid of the RSA key in the JWKS
    push @confused, jwt(alg => 'HS256', kid => 'rsa-1', secret => $pem,
                        payload => \%claims);
    push @confused, jwt(alg => 'HS256', kid => 'rsa-1',
                        secret => slurp(key_file('jwks.json')),
                        payload => \%claims);
}
our @confused_ec = map {
    jwt(alg => 'HS256', secret => $_, payload => \%claims)
} slurp(key_file('ec256.pem')), slurp(key_file('ed25519.pem'));
our @confused_crt = map {
    jwt(alg => $_, secret => slurp(key_file('rsa.crt')), payload => \%claims)
} qw(HS256 HS512);

# --- hostile kids (all signed by the RSA key, so a wrong lookup passes) -----
for my $kid ('../../etc/passwd', '/etc/passwd', '../../../../dev/null',
             "' OR 1=1 --", "rsa-1' OR '1'='1", '"; DROP TABLE keys; --',
             "rsa-1\x00", "rsa-1\x00../../etc/passwd", 'RSA-1', ' rsa-1',
             'rsa-1 ', 'rsa-1%00', '%2e%2e%2fetc%2fpasswd', '*', 'rsa-*',
             '', 'k' x 4000)
{
    push @kids, jwt(alg => 'RS256', kid => $kid, payload => \%claims);
}
for my $kid (1, ['rsa-1'], { kid => 'rsa-1' }, JSON::PP::true) {
    push @kids, jwt(alg => 'RS256', kid => $kid, payload => \%claims);
}
push @kids, jwt(alg => 'RS256', header => { alg => 'RS256', kid => undef },
                payload => \%claims);

# --- tampered and spliced ----------------------------------------------------
{
    my $other = jwt(alg => 'RS256', payload => { %claims, sub => 'bob' });
    my ($h2, $p2, $s2) = segments($other);
    @tampered = (
        tamper_payload($tok{good}, { %claims, sub => 'admin' }),
        tamper_payload($tok{good}, { %claims, exp => $now + 86400 * 365 }),
        with_segment($tok{good}, 0,
                     b64url(json_text({ alg => 'RS256', typ => 'JWT',
                                        kid => 'x' }))),
        "$H.$p2.$S",                            # payload of another token
        "$h2.$P.$s2",
        "$P.$H.$S",                             # segments swapped
        "$H.$P.$s2",                            # signature of another token
    );
}

# --- characters outside the base64url alphabet -------------------------------
for my $c ('+', '/', '*', '%', '!', '~', '"', '\\', ',', ';', '$', "\xc3\xa9") {
    push @alphabet, insert_chars($tok{good}, 10, $c);                 # header
    push @alphabet, insert_chars($tok{good}, length($H) + 10, $c);    # payload
    push @alphabet, insert_chars($tok{good}, -10, $c);                # sig
}
push @alphabet, insert_chars($tok{good}, -10, ' ');
push @alphabet, insert_chars($tok{good}, length($H), '.');   # four segments
# the signature in the standard alphabet (+ and / for - and _)
{
    my $t = $tok{good};
    my $i = 0;
    while ((segments($t))[2] !~ /[-_]/) {
        $t = jwt(alg => 'RS256', payload => { %claims, n => $i++ });
    }
    my ($h, $p, $s) = segments($t);
    (my $std = $s) =~ tr{-_}{+/};
    push @alphabet, "$h.$p.$std";
}

# --- padding -----------------------------------------------------------------
@padded = (
    add_padding($tok{good}, 0), add_padding($tok{good}, 1),
    add_padding($tok{good}, 2), add_padding($tok{good}, 2, '=='),
    add_padding($tok{good}, 0, '=='),
);
{
    # the fully padded standard encoding of every segment
    my @s = map { my $b = encode_base64(b64url_decode($_), ''); $b }
            segments($tok{good});
    push @padded, join '.', @s;
}

# --- segments ---------------------------------------------------------------
@shape = ('..', "$H..$S", ".$P.$S", "$H.$P.", "$H.$P", "$H.$P.$S.",
          "$H.$P.$S.$S", "$H.$P.$S.$S.$S", '.', 'a', "$H.$P..$S",
          "$H.$P.$S\x7f");

# --- truncated ----------------------------------------------------------------
@truncated = (
    truncate_token($tok{good}, -1), truncate_token($tok{good}, -2),
    truncate_token($tok{good}, -4), truncate_token($tok{good}, -100),
    "$H.$P." . substr($S, 0, 1),
    truncate_token($tok{good}, length($H) + 1 + length($P)),
    substr($H, 0, -1) . ".$P.$S",
    "$H." . substr($P, 0, -1) . ".$S",
);

# --- JSON: duplicate members, not objects, not JSON -----------------------------
my $c = json_text(\%claims);
(my $cbody = $c) =~ s/^\{//;
@dup = (
    jwt(alg => 'RS256', header => '{"alg":"RS256","alg":"none"}',
        payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":"none","alg":"RS256"}',
        payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":"RS256","alg":"RS256"}',
        payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":"RS256","\u0061lg":"HS256"}',
        payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":"RS256","kid":"a","kid":"b"}',
        payload => \%claims),
    jwt(alg => 'RS256', payload => '{"sub":"alice","sub":"admin",' . $cbody),
    jwt(alg => 'RS256', payload => '{"exp":1,' . $cbody),
    jwt(alg => 'RS256', payload => '{"s\u0075b":"admin",' . $cbody),
    jwt(alg => 'RS256',
        payload => '{"realm_access":{"roles":["user"],"roles":["admin"]},'
                   . $cbody),
);
@json = (
    jwt(alg => 'RS256', header => 'not json', payload => \%claims),
    jwt(alg => 'RS256', header => '["RS256"]', payload => \%claims),
    jwt(alg => 'RS256', header => '"RS256"', payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":"RS256"}x', payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":"RS256"', payload => \%claims),
    jwt(alg => 'RS256', header => '{}', payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":256}', sign => 'RS256',
        payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":null}', sign => 'RS256',
        payload => \%claims),
    jwt(alg => 'RS256', header => '{"alg":["RS256"]}', sign => 'RS256',
        payload => \%claims),
    jwt(alg => 'RS256', payload => '[' . $c . ']'),
    jwt(alg => 'RS256', payload => 'null'),
    jwt(alg => 'RS256', payload => $c . ' {}'),
    jwt(alg => 'RS256', payload => "{\"sub\":\"al\xffice\"," . $cbody),
    jwt(alg => 'RS256', payload => "{\"sub\":\"a\x01\"," . $cbody),
    jwt(alg => 'RS256', payload => '{"a":' . ('[' x 3000) . (']' x 3000)
                                    . ',' . $cbody),
    jwt(alg => 'RS256', payload => '{"exp":1e400,"sub":"alice"}'),
    # what the one-pass payload scanner leaves to jansson, which refuses it
    jwt(alg => 'RS256', payload => "{\"sub\":\"\xc0\xaf\"," . $cbody),
    jwt(alg => 'RS256', payload => "{\"sub\":\"\xed\xa0\x80\"," . $cbody),
    jwt(alg => 'RS256', payload => "{\"sub\":\"\xf4\x90\x80\x80\"," . $cbody),
    jwt(alg => 'RS256', payload => '{"n":99999999999999999999,' . $cbody),
    jwt(alg => 'RS256', payload => '{"n":01,' . $cbody),
    jwt(alg => 'RS256', payload => '{"n":1.,' . $cbody),
    jwt(alg => 'RS256', payload => '{"n":truex,' . $cbody),
    jwt(alg => 'RS256', payload => '{"n":[1,],' . $cbody),
    jwt(alg => 'RS256', payload => '{"sub":"alice",}'),
    jwt(alg => 'RS256', payload => $c . '}'),
);

# --- payloads the one-pass scanner leaves to jansson, which takes them ----------
our $iss = 'https://id.example.com';
my $base = qq{"exp":@{[ $now + 3600 ]},"aud":"orders","scope":"read"};
our @jansson = map { jwt(alg => 'RS256', payload => $_) } (
    qq({"iss":"https:\\/\\/id.example.com",$base}),
    qq({"iss":"$iss","sub":"\\u0061lice",$base}),
    qq({"iss":"$iss","exp":@{[ $now + 3600 ]},"aud":"\\u006frders",)
        . qq("scope":"re\\u0061d"}),
    qq({"iss":"$iss","n":1234567890123456789,$base}),
    qq({"iss":"$iss","n":-9223372036854775808,$base}),
    qq({"iss":"$iss","a":) . ('[' x 40) . (']' x 40) . qq(,$base}),
    qq({"iss":"$iss",) . join('', map { qq("k$_":0,) } 1 .. 70) . qq($base}),
    qq(\t{ "iss" : "$iss" ,\r\n "exp" : @{[ $now + 3600 ]}.5 , )
        . qq("aud" : [ "x" , "orders" ] , "scope" : [ "read" ] }\n),
);
our @jansson_no = map { jwt(alg => 'RS256', payload => $_) } (
    qq({"iss":"https:\\/\\/id.example.com\\/",$base}),
    qq({"iss":"$iss","a":) . ('[' x 40) . (']' x 40)
        . qq(,"exp":@{[ $now - 3600 ]},"aud":"orders"}),
    qq({"iss":"$iss",) . join('', map { qq("k$_":0,) } 1 .. 70)
        . qq("exp":@{[ $now + 3600 ]},"aud":"0rders","scope":"read"}),
);

# --- crit and b64 -----------------------------------------------------------------
@crit = (
    jwt(alg => 'RS256', header => { alg => 'RS256', crit => ['exp'],
                                    exp => $now + 3600 },
        payload => \%claims),
    jwt(alg => 'RS256', header => { alg => 'RS256', crit => ['x-unknown'],
                                    'x-unknown' => 1 },
        payload => \%claims),
    jwt(alg => 'RS256', header => { alg => 'RS256', crit => [] },
        payload => \%claims),
    jwt(alg => 'RS256', header => { alg => 'RS256', crit => 'b64' },
        payload => \%claims),
    jwt(alg => 'RS256', header => { alg => 'RS256', crit => ['b64'],
                                    b64 => JSON::PP::false },
        payload => \%claims),
    jwt(alg => 'RS256', header => { alg => 'RS256', b64 => JSON::PP::false },
        payload => \%claims),
    jwt(alg => 'RS256', header => { alg => 'RS256', b64 => 'true' },
        payload => \%claims),
);
$tok{b64_true} = jwt(alg => 'RS256',
                     header => { alg => 'RS256', b64 => JSON::PP::true },
                     payload => \%claims);

# --- keys embedded in the token are ignored (signed by the attacker) ----------
{
    my $k2 = data_file('rsa2.key');
    my $jwk = public_jwk(data_file('rsa2.pem'));
    (my $crt = slurp(data_file('rsa2.crt'))) =~ s/-----[^-]+-----|\s+//g;
    my $evil = "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/evil.json"
        if defined $ENV{TEST_NGINX_SERVER_PORT};
    $evil //= 'http://127.0.0.1:1984/evil.json';
    @embedded = (
        jwt(alg => 'RS256', key => $k2, payload => \%claims,
            header => { alg => 'RS256', jwk => $jwk }),
        jwt(alg => 'RS256', key => $k2, payload => \%claims,
            header => { alg => 'RS256', jwk => { %$jwk, kid => 'rsa-1' },
                        kid => 'rsa-1' }),
        jwt(alg => 'RS256', key => $k2, payload => \%claims,
            header => { alg => 'RS256', jku => $evil }),
        jwt(alg => 'RS256', key => $k2, payload => \%claims,
            header => { alg => 'RS256', x5u => $evil }),
        jwt(alg => 'RS256', key => $k2, payload => \%claims,
            header => { alg => 'RS256', x5c => [$crt] }),
        jwt(alg => 'HS256', secret => 'attacker-chosen-secret-of-32-bytes!',
            payload => \%claims,
            header => { alg => 'HS256',
                        jwk => { kty => 'oct',
                                 k => b64url('attacker-chosen-secret-of-32-bytes!') } }),
    );
}

# --- dates and claims ----------------------------------------------------------------
my %iss_aud = (iss => 'https://id.example.com', aud => 'orders');
our @dates_why = ('expired', 'not yet valid', 'future', 'expired', 'exp',
                  'future', 'issuer', 'audience');
@dates = (
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => $now - 1 }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => $now + 3600, nbf => $now + 600 }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => $now + 3600, iat => $now + 600 }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => -1e300 }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => "$now" . '0' }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => $now + 3600, iat => 1e300 }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => $now + 3600,
                                     iss => 'https://evil.example.com' }),
    jwt(alg => 'RS256', payload => { %iss_aud, sub => 'alice',
                                     exp => $now + 3600, aud => 'billing' }),
);
$tok{far_future} = jwt(alg => 'RS256',
                       payload => { sub => 'alice', exp => 1e300 });

# --- size ------------------------------------------------------------------------------
$tok{size_1024} = token_of_length(1024, alg => 'RS256', payload => \%claims);
$tok{size_1025} = token_of_length(1025, alg => 'RS256', payload => \%claims);
$tok{size_8192} = token_of_length(8192, alg => 'RS256', payload => \%claims);
$tok{size_8193} = token_of_length(8193, alg => 'RS256', payload => \%claims);
$tok{size_30000} = token_of_length(30000, alg => 'RS256', payload => \%claims);

our $good_sig = $S;

sub bearer { [map { "Authorization: Bearer $_" } @_] }
sub gets { [("GET /t") x scalar @_] }
sub codes { my $code = shift; [($code) x scalar @_] }

run_tests();

__DATA__

=== TEST 1: the untouched token passes (the baseline of this file)
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



=== TEST 2: alg none in any case (none, None, NONE, nOnE), signed or not
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/hmac.secret format=hmac;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::none)
--- request eval
::gets(@::none)
--- error_code eval
::codes(401, @::none)
--- response_headers_like eval
[('WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]+"') x @::none]
--- response_body_like eval
[("token-invalid") x @::none]
--- no_error_log
[error]



=== TEST 3: algorithm confusion: HS* keyed with the RSA public key (PEM, DER, n)
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
::bearer(@::confused)
--- request eval
::gets(@::confused)
--- error_code eval
::codes(401, @::confused)
--- response_body_like eval
[("token-invalid") x @::confused]
--- no_error_log
[error]



=== TEST 4: algorithm confusion against a JWKS (kid of the RSA key)
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
::bearer(@::confused)
--- request eval
::gets(@::confused)
--- error_code eval
::codes(401, @::confused)
--- no_error_log
[error]



=== TEST 5: algorithm confusion: HS256 keyed with an EC or Ed25519 PEM
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem;
        gw_jwt_key_file $TEST_NGINX_KEYS/ed25519.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::confused_ec)
--- request eval
::gets(@::confused_ec)
--- error_code eval
::codes(401, @::confused_ec)
--- no_error_log
[error]



=== TEST 6: algorithm confusion: HS* keyed with the certificate's PEM text
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.crt;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::confused_crt)
--- request eval
::gets(@::confused_crt)
--- error_code eval
::codes(401, @::confused_crt)
--- no_error_log
[error]



=== TEST 7: hostile kids (paths, SQL, NUL, near misses, non-strings) with a JWKS
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
::bearer(@::kids)
--- request eval
::gets(@::kids)
--- error_code eval
::codes(401, @::kids)
--- response_body_like eval
[("token-invalid") x @::kids]
--- no_error_log
[error]
open()



=== TEST 8: hostile kids with PEM key files named by kid=
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem kid=rsa-1;
        gw_jwt_key_file $TEST_NGINX_KEYS/ec256.pem kid=passwd;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::kids)
--- request eval
::gets(@::kids)
--- error_code eval
::codes(401, @::kids)
--- no_error_log
[error]
open()



=== TEST 9: tampered payload or header, spliced and swapped segments
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
::bearer(@::tampered)
--- request eval
::gets(@::tampered)
--- error_code eval
::codes(401, @::tampered)
--- response_body_like eval
[("token-invalid") x @::tampered]
--- no_error_log
[error]



=== TEST 10: characters outside the base64url alphabet, in each segment
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
::bearer(@::alphabet)
--- request eval
::gets(@::alphabet)
--- error_code eval
::codes(401, @::alphabet)
--- response_body_like eval
[("token-invalid") x @::alphabet]
--- no_error_log
[error]



=== TEST 11: base64 padding on any segment
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
::bearer(@::padded)
--- request eval
::gets(@::padded)
--- error_code eval
::codes(401, @::padded)
--- response_body_like eval
[("token-invalid") x @::padded]
--- no_error_log
[error]



=== TEST 12: empty, missing and extra segments
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
::bearer(@::shape)
--- request eval
::gets(@::shape)
--- error_code eval
::codes(401, @::shape)
--- response_body_like eval
[("token-invalid") x @::shape]
--- no_error_log
[error]



=== TEST 13: truncated tokens
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
::bearer(@::truncated)
--- request eval
::gets(@::truncated)
--- error_code eval
::codes(401, @::truncated)
--- response_body_like eval
[("token-invalid") x @::truncated]
--- no_error_log
[error]



=== TEST 14: gw_jwt_max_size 1k: 1024 bytes pass, 1025 are "token too large"
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_max_size 1k;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer($::tok{size_1024}, $::tok{size_1025})
--- request eval
["GET /t", "GET /t"]
--- error_code eval
[200, 401]
--- response_headers eval
["", 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token too large"']
--- no_error_log
[error]



=== TEST 15: the default size cap is 8k (8192 bytes pass, 8193 and 30000 do not)
--- config
    large_client_header_buffers 4 64k;

    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer($::tok{size_8192}, $::tok{size_8193}, $::tok{size_30000})
--- request eval
["GET /t", "GET /t", "GET /t"]
--- error_code eval
[200, 401, 401]
--- response_headers eval
["", 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token too large"',
 'WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token too large"']
--- no_error_log
[error]



=== TEST 16: duplicate JSON member names in the header or the payload
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
::bearer(@::dup)
--- request eval
::gets(@::dup)
--- error_code eval
::codes(401, @::dup)
--- response_body_like eval
[("token-invalid") x @::dup]
--- no_error_log
[error]



=== TEST 17: header or payload that is not a JSON object (or has bad bytes)
--- config
    large_client_header_buffers 4 64k;

    location = /t {
        gw_jwt api;
        gw_jwt_max_size 64k;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::json)
--- request eval
::gets(@::json)
--- error_code eval
::codes(401, @::json)
--- response_body_like eval
[("token-invalid") x @::json]
--- no_error_log
[error]



=== TEST 18: crit (any), b64 other than true
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
::bearer(@::crit)
--- request eval
::gets(@::crit)
--- error_code eval
::codes(401, @::crit)
--- response_body_like eval
[("token-invalid") x @::crit]
--- no_error_log
[error]



=== TEST 19: "b64": true is the default and is accepted
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
"Authorization: Bearer $::tok{b64_true}"
--- request
GET /t
--- response_body
reached
--- no_error_log
[error]



=== TEST 20: keys embedded in the token (jwk, jku, x5u, x5c) are ignored
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem kid=rsa-1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
    location = /evil.json {
        return 200 '{"keys":[]}';
    }
--- more_headers eval
::bearer(@::embedded)
--- request eval
::gets(@::embedded)
--- error_code eval
::codes(401, @::embedded)
--- response_body_like eval
[("token-invalid") x @::embedded]
--- no_error_log
[error]
evil.json



=== TEST 21: expired, not yet valid, issued in the future, wrong iss or aud
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_issuer https://id.example.com;
        gw_jwt_audience orders;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::dates)
--- request eval
::gets(@::dates)
--- error_code eval
::codes(401, @::dates)
--- response_headers_like eval
[map { qq{WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="[^"]*$_\[^"]*"} } @::dates_why]
--- response_body_like eval
[("token-invalid") x @::dates]
--- no_error_log
[error]



=== TEST 22: an exp far in the future (1e300) is a valid number
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
["Authorization: Bearer $::tok{far_future}",
 "Authorization: Bearer $::tok{far_future}"]
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["reached\n", "reached\n"]
--- no_error_log
[error]



=== TEST 23: payloads the one-pass scanner leaves to jansson are judged as ever
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_issuer https://id.example.com;
        gw_jwt_audience orders;
        gw_jwt_scope read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "reached\n";
    }
--- more_headers eval
::bearer(@::jansson, @::jansson_no)
--- request eval
::gets(@::jansson, @::jansson_no)
--- error_code eval
[::codes(200, @::jansson)->@*, ::codes(401, @::jansson_no)->@*]
--- no_error_log
[error]



=== TEST 24: a denied attack logs its reason at info, never the token
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
"Authorization: Bearer $::tampered[0]"
--- request
GET /t
--- error_code: 401
--- error_log eval
[qr/\[info\] .*gw_jwt: request denied: /]
--- no_error_log eval
["[error]", $::good_sig, (Tollgate::JWT::segments($::tampered[0]))[1]]
