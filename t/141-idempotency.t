# vi:ft=perl
#
# Idempotency-Key (docs/idempotency.md) on proxied POST and PATCH: the
# first answer is stored and replayed (same status, headers, body, plus
# Idempotent-Replayed: true) without reaching the upstream again; the
# same key with another method, target or body is a 422, a retry while
# the first is in flight a 409, a missing key where one is required a
# 400; GET and PUT pass untouched; Redis down is a 503 (fail closed).
# Also: answers larger than the cap (kept as "unstored": 409 on retry),
# answers that ask for a retry (503 from the upstream, 502 from nginx)
# give the key back, a client gone mid-flight leaves the key locked until
# gw_idempotency_lock_ttl, the body cap, chunked bodies, bodies read
# first by gw_validate, the default scope ($gw_consumer_id of gw_key_auth)
# and the Redis record's name and TTLs.
#
# The upstream (Tollgate::CountingUpstream) counts the requests it gets,
# and numbers its answers, so every replay is checked against the count.
# The strict parsing of the header and the attack cases are the blocks at
# the end (Test::Nginx); the flows run on a gateway of their own
# (Tollgate::Gateway), since their requests depend on each other.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Digest::SHA qw(sha256_hex);
use IO::Socket::INET ();
use JSON::PP ();
use Test::Nginx::Socket 'no_plan';
use Time::HiRes ();
use Tollgate::CountingUpstream;
use Tollgate::Echo;
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $up = Tollgate::CountingUpstream->start;
our $echo = Tollgate::Echo->start;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_UP_PORT} = $up->port;

my $dead = Tollgate::Gateway::free_port();     # nobody listens there
my $schema = "$FindBin::Bin/data/idem-order.json";

# req(%o): the raw request.  path, method (POST), key (a header value or
# an array of them), tenant (X-Tenant), body, chunked, apikey, headers
# (more header lines)
sub req {
    my (%o) = @_;
    my $m = $o{method} // 'POST';
    my $h = "$m $o{path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $h .= "X-Tenant: $o{tenant}\r\n" if defined $o{tenant};
    $h .= "X-API-Key: $o{apikey}\r\n" if defined $o{apikey};
    $h .= "$_\r\n" for @{ $o{headers} // [] };
    my @keys = ref $o{key} ? @{ $o{key} } : defined $o{key} ? ($o{key}) : ();
    $h .= "Idempotency-Key: $_\r\n" for @keys;
    my $body = $o{body} // '';
    if ($o{chunked}) {
        my $half = int(length($body) / 2);
        my @parts = grep { length } (substr($body, 0, $half),
                                     substr($body, $half));
        $h .= "Transfer-Encoding: chunked\r\n";
        $h .= "Content-Type: application/json\r\n\r\n";
        $h .= sprintf("%x\r\n%s\r\n", length $_, $_) for @parts;
        return $h . "0\r\n\r\n";
    }
    $h .= "Content-Type: application/json\r\n" if length $body;
    $h .= "Content-Length: " . length($body) . "\r\n"
        if $m ne 'GET' || length $body;
    return "$h\r\n$body";
}

sub problem_type {
    my ($res) = @_;
    my $j = eval { JSON::PP::decode_json($res->{body}) } or return '';
    return $j->{type} // '';
}

sub record { 'gw:idem:' . sha256_hex("$_[0]\0$_[1]") }

my $gw = Tollgate::Gateway->start(workers => 1, http => <<"_EOC_");
    gw_redis 127.0.0.1:${\ $redis->port };
    gw_redis_timeout 2s;
    server {
        listen 127.0.0.1:\$PORT;
        gw_idempotency_scope \$http_x_tenant;

        location /api/ {
            gw_idempotency on;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
        location /req/ {
            gw_idempotency required;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
        location /small/ {
            gw_idempotency on;
            gw_idempotency_store_max 100;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
        location /short/ {
            gw_idempotency on;
            gw_idempotency_lock_ttl 1s;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
        location /cap/ {
            gw_idempotency on;
            gw_idempotency_body_max 10;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
        location /dead/ {
            gw_idempotency on;
            proxy_pass http://127.0.0.1:$dead;
        }
        location /echo/ {
            gw_idempotency on;
            proxy_pass http://127.0.0.1:${\ $echo->port };
        }
        location /valid/ {
            gw_validate_body $schema;
            gw_idempotency on;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
        location /rid/ {
            gw_request_id on;
            gw_idempotency on;
            proxy_pass http://127.0.0.1:${\ $echo->port };
        }
        location /ka/ {
            gw_key_auth api;
            gw_idempotency required;
            gw_idempotency_scope \$gw_consumer_id;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
    }
_EOC_

my ($r, $r2, $n);

# --- the first answer, its replay, 422 ------------------------------------

$n = $up->hits;
$r = $gw->request(req(path => '/api/orders', key => '"k1"', tenant => 't1',
                      body => '{"a":1}'));
is($r->{status}, 201, 'first request: the upstream answers 201');
is($up->hits, $n + 1, 'it reached the upstream');
ok(!exists $r->{headers}{'idempotent-replayed'}, 'not a replay');

$r2 = $gw->request(req(path => '/api/orders', key => '"k1"', tenant => 't1',
                       body => '{"a":1}'));
is($r2->{status}, 201, 'retry: the same status');
is($r2->{body}, $r->{body}, 'the same body');
is($r2->{headers}{'x-order'}, $r->{headers}{'x-order'}, 'the same X-Order');
is($r2->{headers}{location}, $r->{headers}{location}, 'the same Location');
is($r2->{headers}{'content-type'}, 'application/json', 'the Content-Type');
is($r2->{headers}{'idempotent-replayed'}, 'true',
   'Idempotent-Replayed: true');
ok(!exists $r2->{headers}{'set-cookie'}, 'Set-Cookie is not replayed');
is($up->hits, $n + 1, 'the retry did not reach the upstream');

$r = $gw->request(req(path => '/api/orders', key => '"k1"', tenant => 't1',
                      body => '{"a":2}'));
is($r->{status}, 422, 'same key, another body: 422');
is(problem_type($r), 'urn:tollgate:problem:idempotency-key-reused',
   'problem type idempotency-key-reused');
like($r->{headers}{'content-type'}, qr{^application/problem\+json},
     'as problem+json');

$r = $gw->request(req(path => '/api/other', key => '"k1"', tenant => 't1',
                      body => '{"a":1}'));
is($r->{status}, 422, 'same key and body, another target: 422');

$r = $gw->request(req(path => '/api/orders', method => 'PATCH', key => '"k1"',
                      tenant => 't1', body => '{"a":1}'));
is($r->{status}, 422, 'same key and body, another method (PATCH): 422');
is($up->hits, $n + 1, 'none of them reached the upstream');

my $ttl = $redis->cli('PTTL', record('t1', 'k1'));
ok($ttl > 86_000_000 && $ttl <= 86_400_000,
   "the record gw:idem:<sha256(scope NUL key)> lives 24h ($ttl ms)");
is($redis->cli('HGET', record('t1', 'k1'), 'state'), 'done',
   'its state is done');

# another consumer's identical key is another record

$r = $gw->request(req(path => '/api/orders', key => '"k1"', tenant => 't2',
                      body => '{"a":2}'));
is($r->{status}, 201, "another scope's k1 is its own: 201");
is($up->hits, $n + 2, 'and reaches the upstream');

# the scope and the key are hashed with a separator: moving bytes from
# the key to the scope does not reach t1's record

$r = $gw->request(req(path => '/api/orders', key => '"1"', tenant => 't1k',
                      body => '{"a":1}'));
is($r->{status}, 201, 'scope "t1k" + key "1" is not scope "t1" + key "k1"');
ok(!exists $r->{headers}{'idempotent-replayed'}, 'no replay of t1\'s answer');
is($up->hits, $n + 3, 'it reached the upstream');

# --- PATCH is covered; GET and PUT pass untouched ----------------------

$n = $up->hits;
$r = $gw->request(req(path => '/api/p', method => 'PATCH', key => '"p1"',
                      tenant => 't1', body => '{"x":1}'));
$r2 = $gw->request(req(path => '/api/p', method => 'PATCH', key => '"p1"',
                       tenant => 't1', body => '{"x":1}'));
is($r2->{headers}{'idempotent-replayed'}, 'true', 'PATCH is replayed');
is($up->hits, $n + 1, 'PATCH reached the upstream once');

for my $m (qw(GET PUT DELETE)) {
    $n = $up->hits;
    for (1 .. 2) {
        $r = $gw->request(req(path => '/api/g', method => $m, key => '"g1"',
                              tenant => 't1'));
    }
    is($up->hits, $n + 2, "$m with a key: both reach the upstream");
    ok(!exists $r->{headers}{'idempotent-replayed'}, "$m: no replay");
}

$n = $up->hits;
$r = $gw->request(req(path => '/api/g', method => 'GET', key => 'not quoted',
                      tenant => 't1'));
is($r->{status}, 201, 'GET with a malformed key: untouched');

# --- required, missing --------------------------------------------------

$r = $gw->request(req(path => '/req/x', tenant => 't1', body => '{}'));
is($r->{status}, 400, 'required, no key: 400');
is(problem_type($r), 'urn:tollgate:problem:idempotency-key-missing',
   'problem type idempotency-key-missing');

$n = $up->hits;
$r = $gw->request(req(path => '/api/x', tenant => 't1', body => '{}'));
is($r->{status}, 201, 'on, no key: the request goes on');
is($up->hits, $n + 1, 'to the upstream');

$r = $gw->request(req(path => '/api/x', key => '"s1"', body => '{}'));
is($r->{status}, 403, 'a key without a scope (no consumer): 403');
is(problem_type($r), 'urn:tollgate:problem:idempotency-no-scope',
   'problem type idempotency-no-scope');

# --- in flight: 409, then the replay -------------------------------------

$n = $up->hits;
my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $gw->port, Proto => 'tcp')
    or die "connect: $!";
syswrite $slow, req(path => '/api/slow?delay=1500', key => '"f1"',
                    tenant => 't1', body => '{"f":1}');
for (1 .. 100) {
    last if $up->hits > $n;
    Time::HiRes::sleep(0.02);
}
$r = $gw->request(req(path => '/api/slow?delay=1500', key => '"f1"',
                      tenant => 't1', body => '{"f":1}'));
is($r->{status}, 409, 'a retry while the first is in flight: 409');
is(problem_type($r), 'urn:tollgate:problem:idempotency-key-in-flight',
   'problem type idempotency-key-in-flight');
my $first = '';
while (sysread $slow, my $buf, 65536) { $first .= $buf }
close $slow;
$r = Tollgate::Gateway::parse_response($first);
is($r->{status}, 201, 'the first gets its answer');
$r2 = $gw->request(req(path => '/api/slow?delay=1500', key => '"f1"',
                       tenant => 't1', body => '{"f":1}'));
is($r2->{status}, 201, 'a retry after it: the replay');
is($r2->{body}, $r->{body}, 'of the same body');
is($up->hits, $n + 1, 'the upstream saw one request');

# --- chunked and Content-Length bodies have one fingerprint ---------------

$n = $up->hits;
$gw->request(req(path => '/api/c', key => '"c1"', tenant => 't1',
                 body => '{"chunked":true}', chunked => 1));
$r = $gw->request(req(path => '/api/c', key => '"c1"', tenant => 't1',
                      body => '{"chunked":true}'));
is($r->{headers}{'idempotent-replayed'}, 'true',
   'the same body chunked, then with Content-Length: replayed');
is($up->hits, $n + 1, 'one request upstream');

# --- the body cap --------------------------------------------------------

$r = $gw->request(req(path => '/cap/x', key => '"b1"', tenant => 't1',
                      body => '01234567890'));
is($r->{status}, 413, 'a body past gw_idempotency_body_max: 413');
$r = $gw->request(req(path => '/cap/x', key => '"b2"', tenant => 't1',
                      body => '0123456789', chunked => 1));
is($r->{status}, 201, 'a chunked body at the cap: 201');
$r = $gw->request(req(path => '/cap/x', key => '"b3"', tenant => 't1',
                      body => '01234567890', chunked => 1));
is($r->{status}, 413, 'a chunked body past it: 413');

# --- answers larger than the cap -------------------------------------------

$n = $up->hits;
$r = $gw->request(req(path => '/small/x?size=101&status=200', key => '"l1"',
                      tenant => 't1', body => '{}'));
is($r->{status}, 200, 'an answer larger than gw_idempotency_store_max');
is(length $r->{body}, 101, 'reaches the client whole');
$r = $gw->request(req(path => '/small/x?size=101&status=200', key => '"l1"',
                      tenant => 't1', body => '{}'));
is($r->{status}, 409, 'its retry: 409');
is(problem_type($r), 'urn:tollgate:problem:idempotency-answer-not-stored',
   'problem type idempotency-answer-not-stored');
like($r->{body}, qr/"original_status":200/, 'with the original status');
is($up->hits, $n + 1, 'the upstream saw one request');

$r = $gw->request(req(path => '/small/x?size=100&status=200', key => '"l2"',
                      tenant => 't1', body => '{}'));
$r = $gw->request(req(path => '/small/x?size=100&status=200', key => '"l2"',
                      tenant => 't1', body => '{}'));
is($r->{status}, 200, 'an answer at the cap is replayed');
is($r->{body}, 'x' x 100, 'whole');

# --- answers that ask for a retry give the key back ---------------------------

$n = $up->hits;
$r = $gw->request(req(path => '/api/x?status=503', key => '"e1"',
                      tenant => 't1', body => '{}'));
is($r->{status}, 503, 'the upstream answers 503');
is($redis->cli('EXISTS', record('t1', 'e1')), '0', 'the key is given back');
$r = $gw->request(req(path => '/api/x?status=503', key => '"e1"',
                      tenant => 't1', body => '{}'));
is($up->hits, $n + 2, 'so the retry reaches the upstream again');

$n = $up->hits;
$gw->request(req(path => '/api/x?status=500', key => '"e2"', tenant => 't1',
                 body => '{}'));
$r = $gw->request(req(path => '/api/x?status=500', key => '"e2"',
                      tenant => 't1', body => '{}'));
is($r->{status}, 500, 'a 500 of the upstream is an answer: replayed');
is($r->{headers}{'idempotent-replayed'}, 'true', 'as a replay');
is($up->hits, $n + 1, 'the upstream saw one request');

$r = $gw->request(req(path => '/dead/x', key => '"e3"', tenant => 't1',
                      body => '{}'));
is($r->{status}, 502, 'no upstream: nginx answers 502');
is($redis->cli('EXISTS', record('t1', 'e3')), '0', 'the key is given back');

$n = $up->hits;
$r = $gw->request(req(path => '/api/x?close=1', key => '"e4"', tenant => 't1',
                      body => '{}'));
is($r->{status}, 502, 'the upstream closes without answering: 502');
is($redis->cli('EXISTS', record('t1', 'e4')), '0', 'the key is given back');

# --- the client goes away: the lock TTL frees the key ---------------------

$n = $up->hits;
$slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->port,
                              Proto => 'tcp') or die "connect: $!";
syswrite $slow, req(path => '/short/x?delay=600', key => '"a1"',
                    tenant => 't1', body => '{}');
for (1 .. 100) {
    last if $up->hits > $n;
    Time::HiRes::sleep(0.02);
}
close $slow;
Time::HiRes::sleep(0.8);    # the upstream has answered to nobody
my $pttl = $redis->cli('PTTL', record('t1', 'a1'));
is($redis->cli('HGET', record('t1', 'a1'), 'state'), 'pending',
   "a client gone mid-flight leaves the key pending ($pttl ms left)");
ok($pttl > 0 && $pttl <= 1000, 'under gw_idempotency_lock_ttl');
$r = $gw->request(req(path => '/short/x?delay=600', key => '"a1"',
                      tenant => 't1', body => '{}'));
is($r->{status}, 409, 'a retry meanwhile: 409');
Time::HiRes::sleep($pttl / 1000 + 0.2);
$r = $gw->request(req(path => '/short/x', key => '"a1"', tenant => 't1',
                      body => '{}'));
is($r->{status}, 201, 'once the lock expired, the key is free again');
is($up->hits, $n + 2, 'and the request reached the upstream');

# --- a body read first by gw_validate ------------------------------------

$n = $up->hits;
$r = $gw->request(req(path => '/valid/o', key => '"v1"', tenant => 't1',
                      body => '{"qty":2}'));
is($r->{status}, 201, 'validated body: 201');
$r = $gw->request(req(path => '/valid/o', key => '"v1"', tenant => 't1',
                      body => '{"qty":2}'));
is($r->{headers}{'idempotent-replayed'}, 'true', 'replayed');
$r = $gw->request(req(path => '/valid/o', key => '"v1"', tenant => 't1',
                      body => '{"qty":3}'));
is($r->{status}, 422, 'another body: 422');
$r = $gw->request(req(path => '/valid/o', key => '"v2"', tenant => 't1',
                      body => '{"qty":"x"}'));
is($r->{status}, 400, 'an invalid body is refused by gw_validate');
is($redis->cli('EXISTS', record('t1', 'v2')), '0', 'and takes no key');
is($up->hits, $n + 1, 'the upstream saw one request');

# --- another content handler's answer: the echo upstream ------------------

$r = $gw->request(req(path => '/echo/e', key => '"x1"', tenant => 't1',
                      body => '{}'));
like($r->{body}, qr/^Idempotency-Key: "x1"$/m,
     'the upstream gets the Idempotency-Key header');
$r2 = $gw->request(req(path => '/echo/e', key => '"x1"', tenant => 't1',
                       body => '{}'));
is($r2->{body}, $r->{body}, 'its answer is replayed');
is($r2->{headers}{'content-type'}, 'text/plain', 'with its Content-Type');

# --- the gateway's own headers are made again for a replay ----------------

$r = $gw->request(req(path => '/rid/e', key => '"r1"', tenant => 't1',
                      body => '{}', headers => ['X-Request-ID: first-id']));
is($r->{headers}{'x-request-id'}, 'first-id', 'first: its request id');
$r2 = $gw->request(req(path => '/rid/e', key => '"r1"', tenant => 't1',
                       body => '{}', headers => ['X-Request-ID: retry-id']));
is($r2->{headers}{'idempotent-replayed'}, 'true', 'the retry is a replay');
is($r2->{headers}{'x-request-id'}, 'retry-id',
   "with the retry's own request id, once");
is($r2->{body}, $r->{body}, 'and the stored body (what the upstream saw)');

# --- the default scope: the consumer of gw_key_auth ------------------------

my $ctl = Tollgate::Gwctl->new($redis);
$ctl->consumer_add('alice');
$ctl->consumer_add('bob');
my $ka = $ctl->key_create('alice');
my $kb = $ctl->key_create('bob');

$n = $up->hits;
$r = $gw->request(req(path => '/ka/o', key => '"same"', apikey => $ka,
                      body => '{"o":1}'));
is($r->{status}, 201, 'alice: 201');
$r = $gw->request(req(path => '/ka/o', key => '"same"', apikey => $kb,
                      body => '{"o":2}'));
is($r->{status}, 201, "bob's identical key is his own: 201, not 422");
$r = $gw->request(req(path => '/ka/o', key => '"same"', apikey => $ka,
                      body => '{"o":1}'));
is($r->{headers}{'idempotent-replayed'}, 'true', "alice's retry: replayed");
is($up->hits, $n + 2, 'two requests upstream');
is($redis->cli('EXISTS', record('alice', 'same')), '1',
   'the record is scoped by the consumer id');

# --- a flood of keys does not evict another consumer's answer -------------

for my $i (1 .. 300) {
    $gw->request(req(path => '/api/flood', key => "\"fl$i\"", tenant => 'evil',
                     body => '{}'));
}
$r = $gw->request(req(path => '/api/orders', key => '"k1"', tenant => 't1',
                      body => '{"a":1}'));
is($r->{headers}{'idempotent-replayed'}, 'true',
   "after 300 keys of another consumer, t1's answer is still replayed");

# --- Redis down: 503, nothing reaches the upstream --------------------------

$redis->stop;
$n = $up->hits;
$r = $gw->request(req(path => '/api/d', key => '"d1"', tenant => 't1',
                      body => '{}'));
is($r->{status}, 503, 'Redis down: 503');
is(problem_type($r), 'urn:tollgate:problem:idempotency-unavailable',
   'problem type idempotency-unavailable');
is($up->hits, $n, 'the upstream saw nothing');
$r = $gw->request(req(path => '/api/d', tenant => 't1', body => '{}'));
is($r->{status}, 201, 'a request without a key still goes on');
$redis->restart;

# nginx's own errors for the upstream that closed without answering and
# the closed port, and the Redis client's for the outage, are expected
my @bad = grep { /\[(?:error|crit|alert|emerg)\]/
                 && !/gw_redis|upstream prematurely closed|connect\(\) failed/ }
          $gw->error_log;
ok(!@bad, 'nothing else logged at [error] or worse') or diag(@bad);
$gw->stop;

run_tests();

__DATA__

=== TEST 1: a key that is not an sf-string (a token) is a 400
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_scope t;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers
Idempotency-Key: abc
--- request
POST /t
{}
--- error_code: 400
--- response_body_like: "type":"urn:tollgate:problem:idempotency-key-invalid".*"detail":"the value is not a quoted string"
--- error_log
invalid Idempotency-Key "abc"
--- no_error_log
[error]



=== TEST 2: two Idempotency-Key headers are a 400
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_scope t;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers
Idempotency-Key: "a"
idempotency-key: "a"
--- request
POST /t
{}
--- error_code: 400
--- response_body_like: more than one Idempotency-Key header
--- no_error_log
[error]



=== TEST 3: a control byte in the key is a 400, logged escaped
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_scope t;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers eval
"Idempotency-Key: \"a\x01b\""
--- request
POST /t
{}
--- error_code: 400
--- response_body_like: not printable ASCII
--- error_log
invalid Idempotency-Key "\"a\x01b\""
--- no_error_log
[error]



=== TEST 4: DEL, a tab and UTF-8 in the key are 400s
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_scope t;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers eval
["Idempotency-Key: \"a\x7fb\"", "Idempotency-Key: \"a\tb\"",
 "Idempotency-Key: \"caf\xc3\xa9\""]
--- request eval
["POST /t\n{}", "POST /t\n{}", "POST /t\n{}"]
--- error_code eval
[400, 400, 400]
--- no_error_log
[error]



=== TEST 5: parameters, an empty string, a bad escape, a lone quote: 400
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_scope t;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers eval
['Idempotency-Key: "abc";p=1', 'Idempotency-Key: ""',
 'Idempotency-Key: "a\\nb"', 'Idempotency-Key: "abc']
--- request eval
["POST /t\n{}", "POST /t\n{}", "POST /t\n{}", "POST /t\n{}"]
--- error_code eval
[400, 400, 400, 400]
--- no_error_log
[error]



=== TEST 6: a key at the cap (255) is taken, one past it is a 400
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_scope "cap-$msec";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers eval
['Idempotency-Key: "' . ('k' x 255) . '"',
 'Idempotency-Key: "' . ('k' x 256) . '"']
--- request eval
["POST /t\n{}", "POST /t\n{}"]
--- error_code eval
[201, 400]
--- response_body_like eval
['"order":', 'the key is longer than the gateway accepts']
--- no_error_log
[error]



=== TEST 7: gw_idempotency_key_max: escapes count as one byte
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_idempotency on;
        gw_idempotency_key_max 4;
        gw_idempotency_scope "cap-$msec";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UP_PORT;
    }
--- more_headers eval
['Idempotency-Key: "\\"\\\\\\"\\\\"', 'Idempotency-Key: "abcde"']
--- request eval
["POST /t\n{}", "POST /t\n{}"]
--- error_code eval
[201, 400]
--- no_error_log
[error]

