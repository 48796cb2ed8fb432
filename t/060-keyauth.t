# vi:ft=perl
#
# API keys and consumers (docs/key-auth.md), with Redis up: what each kind
# of key gets (valid, missing, empty, unknown, revoked, expired, of a
# disabled consumer), the problem+json bodies and the ApiKey challenge,
# what reaches the upstream (X-Consumer-ID and X-Consumer-Name, never the
# client's own copies, never the credential, in a header or in the query
# argument), $gw_consumer_id/_name/_plan, hostile key headers (control
# bytes, oversized, 7 KB, given twice), gw_auth_satisfy all/any beside
# gw_jwt, gw_consumer_claim, and the directives' checks.
#
# Consumers and keys are made by build/gwctl in a private redis-server
# (Tollgate::Redis, Tollgate::Gwctl) before the blocks run, and reach the
# blocks as $::key{...}.  Upstreams are Tollgate::Echo, which answers with
# the request it received, so that a block sees every header line that
# reached it (nginx's $http_* variables show only the first copy).

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Time::HiRes ();
use Tollgate::Echo;
use Tollgate::Gwctl qw(random_key);
use Tollgate::JWT qw(jwt keys_dir problem_re nginx_t now);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $echo = Tollgate::Echo->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

our %key;

# first, so that it has expired when its block runs
$key{expired} = do {
    $ctl->consumer_add('erin', name => 'Erin');
    $ctl->key_create('erin', expires => '1s');
};
our $expired_at = Time::HiRes::time() + 1;

$ctl->consumer_add('alice', name => 'Alice Smith', plan => 'gold',
                   tags => 'eu,internal');
$key{alice} = $ctl->key_create('alice');
$key{alice2} = $ctl->key_create('alice', expires => '30d');

$ctl->consumer_add('bob');                       # no name: the id; no plan
$key{bob} = $ctl->key_create('bob');

$key{revoked} = $ctl->key_create('alice');
$ctl->key_revoke('alice', $key{revoked});

$ctl->consumer_add('carol', name => 'Carol', plan => 'silver');
$key{carol} = $ctl->key_create('carol');
$ctl->consumer_disable('carol');

# consumers named by a JWT claim
$ctl->consumer_add('svc-orders', name => 'Orders service', plan => 'bronze');
$ctl->consumer_add('svc-old', name => 'Old service');
$ctl->consumer_disable('svc-old');

$key{unknown} = random_key();

our $now = now();
our %tok;
for my $sub (qw(svc-orders svc-old svc-nobody alice)) {
    $tok{$sub} = jwt(alg => 'RS256',
                     payload => { sub => $sub, exp => $now + 3600 });
}
$tok{badsub} = jwt(alg => 'RS256',
                   payload => { sub => 'not an id!', exp => $now + 3600 });
$tok{numsub} = jwt(alg => 'RS256', payload => { sub => 42, exp => $now + 3600 });
$tok{nested} = jwt(alg => 'RS256',
                   payload => { sub => 'x', app => { id => 'svc-orders' },
                                exp => $now + 3600 });
$tok{expired} = jwt(alg => 'RS256',
                    payload => { sub => 'alice', exp => $now - 600 });

# waits until $key{expired} has expired by the gateway's clock (seconds)
sub wait_expired {
    my $left = $expired_at + 1.1 - Time::HiRes::time();
    Time::HiRes::sleep($left) if $left > 0;
}

# up_re(line => 'GET /up HTTP/1.0', has => [lines], lacks => [names],
# once => [names]): a pattern for the request Tollgate::Echo received:
# its request line, these header lines exactly, no header of these names
# (any case), and these names exactly once.
sub up_re {
    my (%o) = @_;
    my $re = '\A';
    $re .= quotemeta($o{line}) . '\n' if defined $o{line};
    $re .= '(?=(?:.*\n)?' . quotemeta($_) . '\n)' for @{ $o{has} || [] };
    $re .= '(?!(?:.*\n)?(?i:' . quotemeta($_) . '):)'
        for @{ $o{lacks} || [] };
    $re .= '(?!(?:.*\n)?(?i:' . quotemeta($_) . '):.*\n(?i:'
           . quotemeta($_) . '):)' for @{ $o{once} || [] };
    return qr/$re/s;
}

# the consumer headers exactly as the gateway sends them for $id
sub consumer_lines {
    my ($id, $name) = @_;
    return ("X-Consumer-ID: $id", "X-Consumer-Name: $name");
}


# --- directives, checked by nginx -t ----------------------------------------

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['gw_key_auth without gw_redis',
         'server { location / { gw_key_auth api; } }',
         qr/"gw_key_auth" and "gw_consumer_claim" need "gw_redis"/],
        ['gw_consumer_claim without gw_redis',
         'server { location / { gw_consumer_claim sub; } }',
         qr/need "gw_redis"/],
        ['a realm with a quote',
         'gw_redis 127.0.0.1; server { location / { gw_key_auth \'a"b\'; } }',
         qr/invalid realm "a"b"/],
        ['a realm with a control byte',
         "gw_redis 127.0.0.1; server { location / { gw_key_auth \"a\tb\"; } }",
         qr/invalid realm/],
        ['an empty realm',
         'gw_redis 127.0.0.1; server { location / { gw_key_auth ""; } }',
         qr/"gw_key_auth" directive takes a realm or "off"/],
        ['gw_key_auth twice',
         'gw_redis 127.0.0.1; server { location / { gw_key_auth a;'
         . ' gw_key_auth b; } }',
         qr/"gw_key_auth" directive is duplicate/],
        ['gw_key_auth_redis_down bogus',
         'gw_redis 127.0.0.1; gw_key_auth_redis_down maybe;',
         qr/invalid value "maybe"/],
        ['gw_auth_satisfy bogus',
         'gw_redis 127.0.0.1; gw_auth_satisfy some;',
         qr/invalid value "some"/],
        ['gw_key_auth_cache_size in a server',
         'gw_redis 127.0.0.1; server { gw_key_auth_cache_size 10; }',
         qr/"gw_key_auth_cache_size" directive is not allowed here/],
        ['gw_key_auth_cache_ttl abc',
         'gw_redis 127.0.0.1; gw_key_auth_cache_ttl abc;',
         qr/"gw_key_auth_cache_ttl" directive invalid value/],
        ['gw_key_auth_max_size abc',
         'gw_redis 127.0.0.1; gw_key_auth_max_size abc;',
         qr/"gw_key_auth_max_size" directive invalid value/],
    );

    for my $case (@bad) {
        my ($name, $http, $re) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*$re/, "the [emerg] line names it: $name");
    }

    my @good = (
        ['gw_redis after gw_key_auth in the http block',
         'gw_key_auth api; gw_redis 127.0.0.1:6379;'
         . ' server { location / { } }'],
        ['every directive',
         'gw_redis 127.0.0.1; gw_key_auth_cache_size 0;'
         . ' server { gw_key_auth_header X-Key; gw_key_auth_query key;'
         . ' location /a { gw_key_auth api; gw_key_auth_cache_ttl 0;'
         . ' gw_key_auth_negative_ttl 1s; gw_key_auth_redis_down deny;'
         . ' gw_key_auth_max_size 64; gw_auth_satisfy any;'
         . ' gw_consumer_claim sub; }'
         . ' location /b { gw_key_auth off; gw_key_auth_query off; } }'],
    );

    for my $case (@good) {
        my ($name, $http) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok($ok, "nginx -t passes: $name") or diag($out);
    }
}

run_tests();

__DATA__

=== TEST 1: a valid key: the upstream gets the consumer's headers, never the key
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-API-Key: $::key{alice}"
--- request
GET /t
--- response_body_like eval
main::up_re(line => 'GET /up HTTP/1.0',
            has => [main::consumer_lines('alice', 'Alice Smith')],
            once => ['X-Consumer-ID', 'X-Consumer-Name'],
            lacks => ['X-API-Key'])
--- no_error_log
[error]
[warn]



=== TEST 2: no key: 401 key-missing, the ApiKey challenge, problem+json, no upstream
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: ApiKey realm="api", header="X-API-Key"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('key-missing', 401, 'no API key')
--- error_log
gw_key_auth: request denied: no API key
--- no_error_log
[error]



=== TEST 3: an empty key header is no key
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers
X-API-Key:
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: ApiKey realm="api", header="X-API-Key"
--- response_body_like eval
Tollgate::JWT::problem_re('key-missing', 401)
--- no_error_log
[error]



=== TEST 4: an unknown key: 401 key-invalid
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth orders;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-API-Key: $::key{unknown}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: ApiKey realm="orders", header="X-API-Key"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('key-invalid', 401, 'unknown API key')
--- no_error_log
[error]



=== TEST 5: a key revoked by gwctl: 401 key-invalid
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-API-Key: $::key{revoked}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: ApiKey realm="api", header="X-API-Key"
--- response_body_like eval
Tollgate::JWT::problem_re('key-invalid', 401, 'API key revoked')
--- no_error_log
[error]



=== TEST 6: a key made with gwctl key create --expires 1s, once past: 401 key-invalid
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- init
main::wait_expired();
--- more_headers eval
"X-API-Key: $::key{expired}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: ApiKey realm="api", header="X-API-Key"
--- response_body_like eval
Tollgate::JWT::problem_re('key-invalid', 401, 'API key expired')
--- no_error_log
[error]



=== TEST 7: a key with an expiry still ahead passes
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-API-Key: $::key{alice2}"
--- request
GET /t
--- response_body_like eval
main::up_re(has => ['X-Consumer-ID: alice'], lacks => ['X-API-Key'])
--- no_error_log
[error]



=== TEST 8: a key of a disabled consumer: 403 consumer-disabled, no upstream
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-API-Key: $::key{carol}"
--- request
GET /t
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('consumer-disabled', 403, 'the consumer is disabled')
--- no_error_log
[error]



=== TEST 9: the client's own X-Consumer-ID and X-Consumer-Name never reach the upstream
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-Consumer-ID: admin
x-consumer-id: root
X-CONSUMER-NAME: Administrator
X-Consumer-Name: Root
X-API-Key: $::key{bob}
X-Other: kept"
--- request
GET /t
--- response_body_like eval
main::up_re(has => ['X-Consumer-ID: bob', 'X-Consumer-Name: bob',
                    'X-Other: kept'],
            once => ['X-Consumer-ID', 'X-Consumer-Name'],
            lacks => ['X-API-Key'])
--- no_error_log
[error]



=== TEST 10: a denied request with the client's consumer headers: denied all the same
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers
X-Consumer-ID: alice
X-Consumer-Name: Alice Smith
--- request
GET /t
--- error_code: 401
--- response_body_like eval
Tollgate::JWT::problem_re('key-missing', 401)
--- no_error_log
[error]



=== TEST 11: $gw_consumer_id, $gw_consumer_name and $gw_consumer_plan
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_set_header X-Vars "id=$gw_consumer_id name=$gw_consumer_name plan=$gw_consumer_plan";
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{bob}"]
--- response_body_like eval
[main::up_re(has => ['X-Vars: id=alice name=Alice Smith plan=gold']),
 main::up_re(has => ['X-Vars: id=bob name=bob plan='])]
--- no_error_log
[error]



=== TEST 12: the variables are empty where gw_key_auth is off, and after a denial
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /open {
        proxy_set_header X-Vars "id=$gw_consumer_id name=$gw_consumer_name plan=$gw_consumer_plan";
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
    location = /t {
        gw_key_auth api;
        add_header X-Vars "id=$gw_consumer_id plan=$gw_consumer_plan" always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /open", "GET /t"]
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{carol}"]
--- error_code eval
[200, 403]
--- response_headers eval
["", "X-Vars: id= plan="]
--- response_body_like eval
[main::up_re(has => ['X-Vars: id= name= plan=']), '"status":\s*403']
--- no_error_log
[error]



=== TEST 13: gw_key_auth_header names the header; the challenge says so
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        gw_key_auth_header X-Key;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["x-key: $::key{alice}", "X-API-Key: $::key{alice}"]
--- error_code eval
[200, 401]
--- response_headers eval
["", qq{WWW-Authenticate: ApiKey realm="api", header="X-Key"}]
--- response_body_like eval
[main::up_re(has => ['X-Consumer-ID: alice'], lacks => ['X-Key']),
 Tollgate::JWT::problem_re('key-missing', 401)]
--- no_error_log
[error]



=== TEST 14: gw_key_auth_query: the argument is dropped, the others kept in order
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        gw_key_auth_query api_key;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
"GET /t?a=1&api_key=$::key{alice}&b=two&api_key2=x&c"
--- response_body_like eval
main::up_re(line => 'GET /up?a=1&b=two&api_key2=x&c HTTP/1.0',
            has => ['X-Consumer-ID: alice'])
--- no_error_log
[error]



=== TEST 15: gw_key_auth_query with proxy_pass without a URI (nginx would send the client's request line)
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /api/ {
        gw_key_auth api;
        gw_key_auth_query key;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
"GET /api/orders?key=$::key{bob}&page=2 HTTP/1.1"
--- response_body_like eval
main::up_re(line => 'GET /api/orders?page=2 HTTP/1.0',
            has => ['X-Consumer-ID: bob'])
--- no_error_log
[error]



=== TEST 16: gw_key_auth_query alone, and every copy of the argument dropped, any case
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        gw_key_auth_query api_key;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t?api_key=$::key{alice}", "GET /t?API_KEY=$::key{alice}&x=1&api_key=junk&api_key"]
--- response_body_like eval
[main::up_re(line => 'GET /up HTTP/1.0', has => ['X-Consumer-ID: alice']),
 main::up_re(line => 'GET /up?x=1 HTTP/1.0', has => ['X-Consumer-ID: alice'])]
--- no_error_log
[error]



=== TEST 17: the query argument is not read unless gw_key_auth_query names it
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
    location = /off {
        gw_key_auth api;
        gw_key_auth_query off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t?api_key=$::key{alice}", "GET /off?off=$::key{alice}"]
--- error_code eval
[401, 401]
--- response_body_like eval
[Tollgate::JWT::problem_re('key-missing', 401), Tollgate::JWT::problem_re('key-missing', 401)]
--- no_error_log
[error]



=== TEST 18: the header wins over the query argument, and both are removed
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        gw_key_auth_query api_key;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t?api_key=$::key{alice}&z=9", "GET /t?api_key=$::key{alice}"]
--- more_headers eval
["X-API-Key: $::key{bob}", "X-API-Key: $::key{unknown}"]
--- error_code eval
[200, 401]
--- response_body_like eval
[main::up_re(line => 'GET /up?z=9 HTTP/1.0', has => ['X-Consumer-ID: bob'],
             lacks => ['X-API-Key']),
 Tollgate::JWT::problem_re('key-invalid', 401, 'unknown API key')]
--- no_error_log
[error]



=== TEST 19: control bytes in the key header: 401 key-invalid, even around a valid key
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["X-API-Key: $::key{alice}\x01",
 "X-API-Key: \x1b[31m$::key{alice}",
 "X-API-Key: $::key{alice}\x7f",
 "X-API-Key: tg_\x08\x08\x08",
 "X-API-Key: a\x0bb"]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_headers eval
[(qq{WWW-Authenticate: ApiKey realm="api", header="X-API-Key"}) x 5]
--- response_body_like eval
[(Tollgate::JWT::problem_re('key-invalid', 401, 'API key malformed')) x 5]
--- no_error_log
[error]



=== TEST 20: bytes outside ASCII: 401; a NUL: nginx itself answers 400; never a pass nor a 500
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-API-Key: tg_\xff\xfe\xc3\xa9", "X-API-Key: $::key{alice}\x00"]
--- error_code_like eval
['^401$', '^400$']
--- response_body_unlike eval
['X-Consumer-ID', 'X-Consumer-ID']
--- no_error_log
[error]



=== TEST 21: a key longer than gw_key_auth_max_size is refused before any lookup
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t45 {
        gw_key_auth api;
        gw_key_auth_max_size 45;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
    location = /t46 {
        gw_key_auth api;
        gw_key_auth_max_size 46;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t45", "GET /t46", "GET /t"]
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{alice}",
 "X-API-Key: $::key{alice}" . ('A' x 211)]
--- error_code eval
[401, 200, 401]
--- response_body_like eval
[Tollgate::JWT::problem_re('key-invalid', 401, 'API key too large'),
 main::up_re(has => ['X-Consumer-ID: alice']),
 Tollgate::JWT::problem_re('key-invalid', 401, 'API key too large')]
--- no_error_log
[error]



=== TEST 22: a 7 KB key header: 401, not a 500
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"X-API-Key: " . ('tg_' . ('A' x 7165))
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: ApiKey realm="api", header="X-API-Key"
--- response_body_like eval
Tollgate::JWT::problem_re('key-invalid', 401, 'API key too large')
--- no_error_log
[error]



=== TEST 23: the key header twice: the first one decides (one key per request), both are removed
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["X-API-Key: $::key{alice}\nX-API-Key: $::key{unknown}",
 "X-API-Key: $::key{unknown}\nX-API-Key: $::key{alice}",
 "X-API-Key: $::key{bob}\nx-api-key: $::key{alice}"]
--- error_code eval
[200, 401, 200]
--- response_body_like eval
[main::up_re(has => ['X-Consumer-ID: alice'], once => ['X-Consumer-ID'],
             lacks => ['X-API-Key']),
 Tollgate::JWT::problem_re('key-invalid', 401, 'unknown API key'),
 main::up_re(has => ['X-Consumer-ID: bob'], once => ['X-Consumer-ID'],
             lacks => ['X-API-Key'])]
--- no_error_log
[error]



=== TEST 24: gw_key_auth off in a nested location; the server's setting inherited elsewhere
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    gw_key_auth api;
    location /public/ {
        gw_key_auth off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
    location /private/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["GET /public/x", "GET /private/x"]
--- error_code eval
[200, 401]
--- response_body_like eval
[main::up_re(line => 'GET /public/x HTTP/1.0', lacks => ['X-Consumer-ID']),
 Tollgate::JWT::problem_re('key-missing', 401)]
--- no_error_log
[error]



=== TEST 25: gw_auth_satisfy all: a token and a key are both needed
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{alice}\nX-API-Key: $::key{bob}",
 "Authorization: Bearer $::tok{alice}",
 "X-API-Key: $::key{bob}",
 "Authorization: Bearer $::tok{alice}\nX-API-Key: $::key{unknown}",
 "Authorization: Bearer $::tok{expired}\nX-API-Key: $::key{bob}"]
--- error_code eval
[200, 401, 401, 401, 401]
--- response_headers_like eval
["",
 qq{WWW-Authenticate: ApiKey realm="api", header="X-API-Key"},
 qq{WWW-Authenticate: Bearer realm="api"},
 qq{WWW-Authenticate: ApiKey realm="api", header="X-API-Key"},
 qq{WWW-Authenticate: Bearer realm="api", error="invalid_token".*}]
--- response_body_like eval
[main::up_re(has => ['X-Consumer-ID: bob'], lacks => ['X-API-Key']),
 Tollgate::JWT::problem_re('key-missing', 401),
 Tollgate::JWT::problem_re('token-missing', 401),
 Tollgate::JWT::problem_re('key-invalid', 401),
 Tollgate::JWT::problem_re('token-invalid', 401)]
--- no_error_log
[error]



=== TEST 26: gw_auth_satisfy any: either credential will do, neither is 401
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_key_auth api;
        gw_auth_satisfy any;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{alice}\nX-Consumer-ID: admin",
 "X-API-Key: $::key{bob}",
 "X-Consumer-ID: admin",
 "Authorization: Bearer $::tok{alice}\nX-API-Key: $::key{bob}"]
--- error_code eval
[200, 200, 401, 200]
--- response_body_like eval
[main::up_re(has => ['X-Sub: alice'], lacks => ['X-Consumer-ID']),
 main::up_re(has => ['X-Consumer-ID: bob'], lacks => ['X-API-Key']),
 Tollgate::JWT::problem_re('key-missing', 401),
 main::up_re(has => ['X-Sub: alice', 'X-Consumer-ID: bob'],
             once => ['X-Consumer-ID'], lacks => ['X-API-Key'])]
--- no_error_log
[error]



=== TEST 27: gw_auth_satisfy any: a bad credential is refused even beside a good one
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_key_auth api;
        gw_auth_satisfy any;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{expired}\nX-API-Key: $::key{bob}",
 "Authorization: Bearer $::tok{alice}\nX-API-Key: $::key{unknown}",
 "Authorization: Bearer $::tok{alice}\nX-API-Key: $::key{carol}",
 "Authorization: Bearer not-a-token"]
--- error_code eval
[401, 401, 403, 401]
--- response_body_like eval
[Tollgate::JWT::problem_re('token-invalid', 401),
 Tollgate::JWT::problem_re('key-invalid', 401),
 Tollgate::JWT::problem_re('consumer-disabled', 403),
 Tollgate::JWT::problem_re('token-invalid', 401)]
--- no_error_log
[error]



=== TEST 28: gw_consumer_claim: the token's sub names an active consumer
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_consumer_claim sub;
        proxy_set_header X-Plan $gw_consumer_plan;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"Authorization: Bearer $::tok{'svc-orders'}\nX-Consumer-ID: admin"
--- request
GET /t
--- response_body_like eval
main::up_re(has => ['X-Consumer-ID: svc-orders',
                    'X-Consumer-Name: Orders service', 'X-Plan: bronze'],
            once => ['X-Consumer-ID'], lacks => ['X-API-Key'])
--- no_error_log
[error]



=== TEST 29: gw_consumer_claim: an unknown consumer is 401, a disabled one 403, a bad claim 401
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_consumer_claim sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{'svc-nobody'}",
 "Authorization: Bearer $::tok{'svc-old'}",
 "Authorization: Bearer $::tok{badsub}",
 "Authorization: Bearer $::tok{numsub}"]
--- error_code eval
[401, 403, 401, 401]
--- response_body_like eval
[Tollgate::JWT::problem_re('token-invalid', 401, 'unknown consumer'),
 Tollgate::JWT::problem_re('consumer-disabled', 403),
 Tollgate::JWT::problem_re('token-invalid', 401),
 Tollgate::JWT::problem_re('token-invalid', 401)]
--- no_error_log
[error]



=== TEST 30: gw_consumer_claim with a nested path, beside gw_key_auth with satisfy any
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_key_auth api;
        gw_auth_satisfy any;
        gw_consumer_claim app.id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{nested}",
 "X-API-Key: $::key{alice}",
 "Authorization: Bearer $::tok{alice}"]
--- error_code eval
[200, 200, 401]
--- response_body_like eval
[main::up_re(has => ['X-Consumer-ID: svc-orders']),
 main::up_re(has => ['X-Consumer-ID: alice'], lacks => ['X-API-Key']),
 Tollgate::JWT::problem_re('token-invalid', 401)]
--- no_error_log
[error]



=== TEST 31: a 401 for an unknown or malformed consumer claim carries a WWW-Authenticate challenge (RFC 7235)
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_consumer_claim sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Authorization: Bearer $::tok{'svc-nobody'}",
 "Authorization: Bearer $::tok{badsub}"]
--- error_code eval
[401, 401]
--- response_headers_like eval
[qq{WWW-Authenticate: Bearer realm="api"(?:, .*)?},
 qq{WWW-Authenticate: Bearer realm="api"(?:, .*)?}]
--- response_body_like eval
[Tollgate::JWT::problem_re('token-invalid', 401, 'unknown consumer'),
 Tollgate::JWT::problem_re('token-invalid', 401)]
--- no_error_log
[error]
