# vi:ft=perl
#
# Push channel authorization (docs/push.md, gw_push_authorize): in the
# access phase after gw_key_auth and gw_jwt, "consumer" allows only
# c.<consumer id> (an API key's consumer, or a token's sub), "claim=NAME"
# only g.<v> for a string v of that claim (a string or an array of
# strings), "any" only p.<something>; several directives are
# alternatives; anything else is 403 push-channel-forbidden, logged at
# info.  A channel name outside [A-Za-z0-9_.:-]{1,128} is 400 whatever
# the rules, a request without an identity is 401 (from the key check,
# or from gw_push_authorize itself where no authentication runs).
#
# The locations here proxy an allowed request to /ok, which echoes the
# channel; t/151-push-nchan.t puts the same check in front of nchan.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Gwctl;
use Tollgate::JWT qw(jwt keys_dir problem_re nginx_t now);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

our %key;
$ctl->consumer_add('alice', name => 'Alice');
$key{alice} = $ctl->key_create('alice');
$ctl->consumer_add('bob', name => 'Bob');
$key{bob} = $ctl->key_create('bob');

our $now = now();

# tk(%claims): an RS256 token for sub alice, valid for an hour
sub tk {
    my %c = (sub => 'alice', exp => $now + 3600, @_);
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    return jwt(alg => 'RS256', payload => \%c);
}

our %tok = (
    groups   => tk(groups => ['ops', 'dev']),
    group    => tk(groups => 'ops'),
    numbers  => tk(groups => [1, 2]),
    object   => tk(groups => { ops => 1 }),
    none     => tk(),
    nosub    => tk(sub => undef, groups => ['ops']),
);

# the location of every block: $rules in front of /ok
sub push_loc {
    my ($auth, @rules) = @_;
    my $r = join '', map { "        gw_push_authorize \$push_channel $_;\n" }
            @rules;
    return <<"_EOC_";
    location ~ ^/push/(?<push_channel>[^/]*)\$ {
$auth
$r        proxy_pass http://127.0.0.1:\$server_port/ok?\$push_channel;
    }
    location = /ok { return 200 "ok \$args\\n"; }
_EOC_
}

our $KEY = 'gw_key_auth api;';
our $JWT = "gw_jwt api;\n        gw_jwt_key_file \$TEST_NGINX_KEYS/rsa.pem;";

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config',
                      'gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;')
        unless defined $block->http_config;
});


# --- directives, checked by nginx -t ----------------------------------------

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)', 3
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['a channel that is not a variable',
         'server { location / { gw_push_authorize c.alice consumer; } }',
         qr/"gw_push_authorize": the channel must be a variable/],
        ['an unknown rule',
         'server { location / { gw_push_authorize $uri everyone; } }',
         qr/"everyone" is not consumer, claim=<name>/],
        ['an empty claim name',
         'server { location / { gw_push_authorize $uri claim=; } }',
         qr/"claim=" is not consumer, claim=<name>/],
    );
    for my $c (@bad) {
        my ($ok, $out) = nginx_t($c->[1]);
        ok(!$ok && $out =~ $c->[2], "nginx -t refuses $c->[0]")
            or diag $out;
    }
}

run_tests();

__DATA__

=== TEST 1: consumer: the key's own channel is allowed
--- config eval: main::push_loc($::KEY, 'consumer')
--- more_headers eval
"X-API-Key: $::key{alice}"
--- request
GET /push/c.alice
--- response_body
ok c.alice
--- no_error_log
[error]
gw_push_authorize



=== TEST 2: consumer: another consumer's channel is 403, logged at info
--- config eval: main::push_loc($::KEY, 'consumer')
--- more_headers eval
"X-API-Key: $::key{bob}"
--- request
GET /push/c.alice
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('push-channel-forbidden', 403)
--- error_log
[info]
gw_push_authorize: 403 for channel "c.alice"
--- no_error_log
[error]



=== TEST 3: consumer: a group or public channel is not the consumer's
--- config eval: main::push_loc($::KEY, 'consumer')
--- more_headers eval
"X-API-Key: $::key{alice}"
--- pipelined_requests eval
["GET /push/g.alice", "GET /push/p.alice", "GET /push/c.alice2",
 "GET /push/c.alic", "GET /push/alice"]
--- error_code eval
[403, 403, 403, 403, 403]
--- no_error_log
[error]



=== TEST 4: no key: 401 from the key check, before the channel check
--- config eval: main::push_loc($::KEY, 'consumer')
--- request
GET /push/c.alice
--- error_code: 401
--- response_body_like eval
Tollgate::JWT::problem_re('key-missing', 401)
--- no_error_log
[error]
gw_push_authorize



=== TEST 5: a bad channel name is 400, whatever the rules
--- config eval: main::push_loc($::KEY, 'consumer', 'any')
--- more_headers eval
"X-API-Key: $::key{alice}"
--- pipelined_requests eval
["GET /push/c.al%20ice", "GET /push/", "GET /push/p.a%0Ab",
 "GET /push/p.%C3%A9", "GET /push/p.a;b", "GET /push/p." . ('x' x 127),
 "GET /push/p." . ('x' x 126)]
--- error_code eval
[400, 400, 400, 400, 400, 400, 200]
--- response_body_like eval
[qr/push-channel-invalid/, qr/push-channel-invalid/,
 qr/push-channel-invalid/, qr/push-channel-invalid/,
 qr/push-channel-invalid/, qr/push-channel-invalid/, qr/^ok p\.x{126}$/]
--- no_error_log
[error]



=== TEST 5b: the 400 is logged at info, the name escaped
--- config eval: main::push_loc($::KEY, 'consumer')
--- more_headers eval
"X-API-Key: $::key{alice}"
--- request
GET /push/p.a%0Ab%22
--- error_code: 400
--- error_log
[info]
gw_push_authorize: 400 for channel "p.a\x0ab\""
--- no_error_log
[error]



=== TEST 6: any: public channels only, not an empty name after "p."
--- config eval: main::push_loc($::KEY, 'any')
--- more_headers eval
"X-API-Key: $::key{alice}"
--- pipelined_requests eval
["GET /push/p.news", "GET /push/p.", "GET /push/c.alice",
 "GET /push/p.a:b-c_d.e"]
--- error_code eval
[200, 403, 403, 200]
--- no_error_log
[error]



=== TEST 7: claim: a group in the token's array is allowed, others not
--- config eval: main::push_loc($::JWT, 'claim=groups')
--- more_headers eval
"Authorization: Bearer $::tok{groups}"
--- pipelined_requests eval
["GET /push/g.ops", "GET /push/g.dev", "GET /push/g.sales",
 "GET /push/g.op", "GET /push/c.alice", "GET /push/p.ops"]
--- error_code eval
[200, 200, 403, 403, 403, 403]
--- no_error_log
[error]



=== TEST 8: claim: a string claim is one group
--- config eval: main::push_loc($::JWT, 'claim=groups')
--- more_headers eval
"Authorization: Bearer $::tok{group}"
--- pipelined_requests eval
["GET /push/g.ops", "GET /push/g.dev"]
--- error_code eval
[200, 403]
--- no_error_log
[error]



=== TEST 9: claim: numbers, objects or no claim allow nothing
--- config eval: main::push_loc($::JWT, 'claim=groups')
--- pipelined_requests eval
["GET /push/g.1", "GET /push/g.ops", "GET /push/g.ops"]
--- more_headers eval
["Authorization: Bearer $::tok{numbers}",
 "Authorization: Bearer $::tok{object}",
 "Authorization: Bearer $::tok{none}"]
--- error_code eval
[403, 403, 403]
--- no_error_log
[error]



=== TEST 10: claim with key auth only: no token, no group
--- config eval: main::push_loc($::KEY, 'claim=groups')
--- more_headers eval
"X-API-Key: $::key{alice}"
--- request
GET /push/g.ops
--- error_code: 403
--- no_error_log
[error]



=== TEST 11: consumer with a token: its sub names the consumer
--- config eval: main::push_loc($::JWT, 'consumer')
--- pipelined_requests eval
["GET /push/c.alice", "GET /push/c.bob", "GET /push/c.alice"]
--- more_headers eval
["Authorization: Bearer $::tok{none}",
 "Authorization: Bearer $::tok{none}",
 "Authorization: Bearer $::tok{nosub}"]
--- error_code eval
[200, 403, 403]
--- no_error_log
[error]



=== TEST 12: several directives: any one allowing is enough
--- config eval: main::push_loc($::JWT, 'consumer', 'claim=groups', 'any')
--- more_headers eval
"Authorization: Bearer $::tok{groups}"
--- pipelined_requests eval
["GET /push/c.alice", "GET /push/g.dev", "GET /push/p.all",
 "GET /push/c.bob", "GET /push/g.sales"]
--- error_code eval
[200, 200, 200, 403, 403]
--- no_error_log
[error]



=== TEST 13: without authentication in the location: 401 from the check
--- config eval: main::push_loc('', 'any')
--- request
GET /push/p.news
--- error_code: 401
--- response_body_like eval
Tollgate::JWT::problem_re('push-unauthenticated', 401)
--- error_log
gw_push_authorize: 401 for channel "p.news"
--- no_error_log
[error]



=== TEST 14: a bad token is refused by gw_jwt first
--- config eval: main::push_loc($::JWT, 'claim=groups')
--- more_headers
Authorization: Bearer not.a.token
--- request
GET /push/g.ops
--- error_code: 401
--- no_error_log
[error]
gw_push_authorize
