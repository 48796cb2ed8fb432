# vi:ft=perl
#
# Identity headers (docs/key-auth.md, "Identity headers"; docs/jwt.md):
# once an authentication directive is in the http block, no location of
# any server forwards a client's X-Consumer-* header (any name, any case,
# any number of copies) or a header named by any gw_jwt_claim_header, on
# a location with JWT only, key auth, or no authentication at all; only
# the gateway's own values reach the upstream, also after an internal
# redirect into a location without authentication.  gw_identity_headers
# pass lets them through; $gw_identity_stripped counts what went.
#
# Also: subrequests skip the access phase, as with nginx's own access
# modules, so an auth_request into a location protected by gw_key_auth or
# gw_jwt is not authenticated there (the documented unsafe configuration);
# and gw_auth_satisfy any without any credential offers both challenges.
#
# Upstreams are Tollgate::Echo, which answers with the request head it
# received, so that a block sees every header line that reached it.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Echo;
use Tollgate::Gwctl;
use Tollgate::JWT qw(jwt keys_dir problem_re nginx_t now);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $echo = Tollgate::Echo->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

$ctl->consumer_add('bob', plan => 'gold');
our $key = $ctl->key_create('bob');
our $tok = jwt(alg => 'RS256',
               payload => { sub => 'alice', exp => now() + 3600 });

# what a client may try: consumer headers and the claim header, mixed
# case, repeated
our $forged = join("\n", 'X-Consumer-ID: admin', 'x-consumer-id: root',
                   'X-CONSUMER-PLAN: platinum', 'X-Consumer-Plan: gold',
                   'X-Consumer-Name: Root', 'X-Consumer-Roles: admin',
                   'X-User: admin', 'x-user: root', 'X-Other: kept');

# up_re(has => [lines], lacks => [names], once => [names]): a pattern for
# the request Tollgate::Echo received (as in t/060-keyauth.t)
sub up_re {
    my (%o) = @_;
    my $re = '\A';
    $re .= '(?=(?:.*\n)?' . quotemeta($_) . '\n)' for @{ $o{has} || [] };
    $re .= '(?!(?:.*\n)?(?i:' . quotemeta($_) . '):)'
        for @{ $o{lacks} || [] };
    $re .= '(?!(?:.*\n)?(?i:' . quotemeta($_) . '):.*\n(?:.*\n)*(?i:'
           . quotemeta($_) . '):)' for @{ $o{once} || [] };
    return qr/$re/s;
}

our @consumer = qw(X-Consumer-ID X-Consumer-Plan X-Consumer-Name
                   X-Consumer-Roles);

our $HTTP = <<'_EOC_';
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
_EOC_

our $CONF = <<'_EOC_';
    location /jwt {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }

    location /key {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }

    location /none {
        proxy_set_header X-Stripped $gw_identity_stripped;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }

    location /pass {
        gw_identity_headers pass;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $HTTP)
        unless defined $block->http_config;
    $block->set_value('config', $CONF)
        unless defined $block->config;
});


# --- directives, checked by nginx -t ----------------------------------------

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my ($ok, $out) = nginx_t('gw_identity_headers maybe;');
    ok(!$ok, 'nginx -t fails: gw_identity_headers maybe');
    like($out, qr/\[emerg\][^\n]*invalid value "maybe"/,
         'the [emerg] line names it');

    ($ok, $out) = nginx_t('gw_identity_headers strip; server {'
                          . ' location / { gw_identity_headers pass; } }');
    ok($ok, 'nginx -t passes: gw_identity_headers strip and pass')
        or diag($out);
}

run_tests();

__DATA__

=== TEST 1: JWT only: the client's consumer and claim headers never reach the upstream
--- request
GET /jwt
--- more_headers eval
"Authorization: Bearer $::tok\n$::forged"
--- response_body_like eval
main::up_re(has => ['X-User: alice', 'X-Other: kept'],
            once => ['X-User'], lacks => [@::consumer])
--- no_error_log
[error]



=== TEST 2: no authentication in the location: none of them reach the upstream either
--- request
GET /none
--- more_headers eval
$::forged
--- response_body_like eval
main::up_re(has => ['X-Other: kept', 'X-Stripped: 8'],
            lacks => [@::consumer, 'X-User'])
--- no_error_log
[error]



=== TEST 3: key auth: only the gateway's X-Consumer-ID, no client claim header
--- request
GET /key
--- more_headers eval
"X-API-Key: $::key\n$::forged"
--- response_body_like eval
main::up_re(has => ['X-Consumer-ID: bob', 'X-Consumer-Name: bob',
                    'X-Other: kept'],
            once => ['X-Consumer-ID', 'X-Consumer-Name'],
            lacks => ['X-Consumer-Plan', 'X-Consumer-Roles', 'X-User',
                      'X-API-Key'])
--- no_error_log
[error]



=== TEST 4: a request without any identity header: $gw_identity_stripped is 0
--- request
GET /none
--- more_headers
X-Other: kept
--- response_body_like eval
main::up_re(has => ['X-Other: kept', 'X-Stripped: 0'])
--- no_error_log
[error]



=== TEST 5: gw_identity_headers pass: the client's headers go through, as sent
--- request
GET /pass
--- more_headers eval
$::forged
--- response_body_like eval
main::up_re(has => ['X-Consumer-ID: admin', 'x-consumer-id: root',
                    'X-CONSUMER-PLAN: platinum', 'X-User: admin',
                    'x-user: root', 'X-Other: kept'])
--- no_error_log
[error]



=== TEST 6: other servers: no authentication there, stripped all the same; pass at a server level
--- config
    location /jwt {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        return 204;
    }

    location /s1/ {
        gw_identity_headers pass;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
    }

    location /s2/ {
        gw_identity_headers pass;
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;

    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;

        location / {
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
        }
    }

    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        gw_identity_headers pass;

        location / {
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
        }

        location /strip {
            gw_identity_headers strip;
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
        }
    }
--- request eval
["GET /s1/a", "GET /s2/a", "GET /s2/strip"]
--- more_headers eval
[$::forged, $::forged, $::forged]
--- response_body_like eval
[main::up_re(has => ['X-Other: kept'], lacks => [@::consumer, 'X-User']),
 main::up_re(has => ['X-Consumer-ID: admin', 'X-User: admin']),
 main::up_re(has => ['X-Other: kept'], lacks => [@::consumer, 'X-User'])]
--- no_error_log
[error]



=== TEST 7: no authentication directive in the http block: nothing is stripped
--- http_config
--- config
    location /none {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /none
--- more_headers eval
$::forged
--- response_body_like eval
main::up_re(has => ['X-Consumer-ID: admin', 'X-User: admin'])
--- no_error_log
[error]



=== TEST 8: an internal redirect after authentication keeps the gateway's headers, never the client's
--- config
    location /jwt {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        try_files /nonexistent @up;
    }

    location /key {
        gw_key_auth api;
        try_files /nonexistent @up;
    }

    location /jwt-uri {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        try_files /nonexistent /fallback;
    }

    location = /fallback {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }

    location @up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["GET /jwt", "GET /key", "GET /jwt-uri"]
--- more_headers eval
["Authorization: Bearer $::tok\n$::forged", "X-API-Key: $::key\n$::forged",
 "Authorization: Bearer $::tok\n$::forged"]
--- response_body_like eval
[main::up_re(has => ['X-User: alice', 'X-Other: kept'],
             once => ['X-User'], lacks => [@::consumer]),
 main::up_re(has => ['X-Consumer-ID: bob', 'X-Other: kept'],
             once => ['X-Consumer-ID', 'X-Consumer-Name'],
             lacks => ['X-Consumer-Plan', 'X-Consumer-Roles', 'X-User']),
 main::up_re(has => ['GET /fallback HTTP/1.0', 'X-User: alice',
                     'X-Other: kept'],
             once => ['X-User'], lacks => [@::consumer])]
--- no_error_log
[error]



=== TEST 9: pass where the request starts, strip where it is redirected: the client's go there
--- config
    location /key {
        gw_identity_headers pass;
        gw_key_auth api;
        error_page 418 = @up;
        return 418;
    }

    location @up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /key
--- more_headers eval
"X-API-Key: $::key\n$::forged"
--- response_body_like eval
main::up_re(has => ['X-Other: kept'], lacks => [@::consumer])
--- no_error_log
[error]



=== TEST 10: subrequests skip the access phase: auth_request into a gw_key_auth or gw_jwt location is NOT authenticated there
--- config
    location /front-key {
        auth_request /check-key;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }

    location /front-jwt {
        auth_request /check-jwt;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }

    location = /check-key {
        internal;
        gw_key_auth api;
        return 204;
    }

    location = /check-jwt {
        internal;
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        return 204;
    }

    location = /safe {
        gw_key_auth api;
        auth_request /check-jwt;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /front-key", "GET /front-jwt", "GET /safe", "GET /safe"]
--- more_headers eval
["", "", "", "X-API-Key: $::key"]
--- error_code eval
[200, 200, 401, 200]
--- response_body_like eval
[qr/\AGET \/up HTTP\/1\.0\n/, qr/\AGET \/up HTTP\/1\.0\n/,
 Tollgate::JWT::problem_re('key-missing', 401),
 main::up_re(has => ['X-Consumer-ID: bob'])]
--- no_error_log
[error]



=== TEST 11: gw_auth_satisfy any and no credential: 401 with both challenges
--- config
    location /any {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_key_auth keys;
        gw_auth_satisfy any;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }

    location /all {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_key_auth keys;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /any", "GET /all", "GET /any"]
--- more_headers eval
["", "", "X-API-Key: nope"]
--- error_code eval
[401, 401, 401]
--- raw_response_headers_like eval
[qr/\r\nWWW-Authenticate: ApiKey realm="keys", header="X-API-Key"\r\n(?:.*\r\n)*WWW-Authenticate: Bearer realm="api"\r\n/s,
 qr/\r\nWWW-Authenticate: Bearer realm="api"\r\n(?!(?:.*\r\n)*WWW-Authenticate)/s,
 qr/\r\nWWW-Authenticate: ApiKey realm="keys", header="X-API-Key"\r\n(?!(?:.*\r\n)*WWW-Authenticate)/s]
--- response_body_like eval
[Tollgate::JWT::problem_re("key-missing", 401),
 Tollgate::JWT::problem_re("token-missing", 401),
 Tollgate::JWT::problem_re('key-invalid', 401)]
--- no_error_log
[error]
