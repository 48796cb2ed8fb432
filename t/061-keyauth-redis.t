# vi:ft=perl
#
# API keys and Redis (docs/key-auth.md, docs/redis.md): the worker's cache
# of lookups (positive and negative, their TTLs, gw_key_auth_cache_ttl 0,
# gw_key_auth_cache_size 0, invalidation messages on gw:events, a key
# that expires while cached) and failing closed when Redis is down,
# stalled or killed under load: 503 auth-unavailable with Retry-After for
# a key that is not cached, a cached key passing (gw_key_auth_redis_down
# cached) or not (deny), other locations unaffected by a stall, and one
# [error] per incident.
#
# Consumers and keys are made by build/gwctl before the blocks run; every
# block starts from that state again (a snapshot restored before it, as
# blocks change records behind the gateway's back and Redis restarted by
# a block comes back empty).
#
# Most blocks are one request to /t, an SSI page whose includes run in
# order ({/uri}) or side by side ({&/uri}), as in t/040-redis.t:
#   /k/x         a client of the gateway: sends $key{x} as X-API-Key to the
#                block's /api; prints "ok CONSUMER" (what the upstream
#                got as X-Consumer-ID), or the denial's status and its
#                Retry-After: "401 ra=", "403 ra=", "503 ra=1"
#   /status      this worker's gw_redis_status
#   /ctl/...     Tollgate::Redis' control server: kill, start, cli?ARGS,
#                bg?ARGS, ready, sleep?ms=N, mark, elapsed?under=MS,
#                get?port=P&path=/p&under=MS
# The page is built with main::ssi(), where HASH_A in the text stands for
# the hash of $key{a}, KEY_A for the key itself, and so on, and
# {cli:ARG ARG} runs redis-cli (through /ctl/cli) with those arguments.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Gwctl qw(key_hash random_key ctl_args);
use Tollgate::JWT ();
use Tollgate::Redis;

no_shuffle();
worker_connections(1024);

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;

our %key;

$ctl->consumer_add('alice', name => 'Alice Smith', plan => 'gold');
$key{$_} = $ctl->key_create('alice') for qw(a b c e);
$ctl->consumer_add('dave', name => 'Dave');
$key{d} = $ctl->key_create('dave');
$ctl->consumer_disable('dave');
$key{u} = random_key();            # never created

our $snapshot = $ctl->snapshot;

$ENV{TEST_NGINX_KEY_A} = $key{a};

# every block starts with Redis up and holding exactly what gwctl made
add_block_preprocessor(sub {
    $redis->resume;                 # a block that failed midway may have
    $redis->restart unless $redis->running;     # left it paused
    $redis->wait_ready(10) or die "redis did not come back";
    $ctl->restore($snapshot);
});

# the locations every block has, besides its own /api and /t: /k/x for
# each $key{x} (SSI subrequests share their parent's cached variables, so
# the key is written in each location rather than taken from a variable)
our $common = join('', map { <<"_EOC_" } sort keys %key) . <<'_EOC_';
    location = /k/$_ {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/api;
        proxy_set_header X-API-Key $key{$_};
        proxy_intercept_errors on;
        error_page 401 403 500 502 503 504 = \@denied;
    }
_EOC_
    location @denied {
        return 200 "$upstream_status ra=$upstream_http_retry_after\n";
    }
    location = /who { return 200 "ok $http_x_consumer_id\n"; }
    location = /plain { return 200 "plain\n"; }
    location = /status { gw_redis_status; }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
_EOC_

# text with KEY_X and HASH_X replaced by $key{x} and its hash
sub subst {
    my ($s) = @_;
    $s =~ s/\bKEY_([A-Z])\b/$key{lc $1}/g;
    $s =~ s/\bHASH_([A-Z])\b/key_hash($key{lc $1})/ge;
    return $s;
}

sub include {
    my ($uri, $wait) = @_;
    return "<!--# include virtual=\"$uri\"" . ($wait ? ' wait="yes"' : '')
           . ' -->';
}

# {cli:ARG ARG ...}: a /ctl/cli include running redis-cli with those
# arguments (split on spaces; "_" in an argument stands for a space)
sub cli {
    my @args = map { s/_/ /gr } split ' ', $_[0];
    return '/ctl/cli?' . ctl_args(@args);
}

# ssi($api, $page): the block's config: $api (its /api location), the
# common locations, and /t serving $page, where {/uri} includes /uri and
# waits for it, {&/uri} includes it without waiting, {cli:ARGS} runs
# redis-cli ARGS; it first waits (silently) for the worker's subscriber
sub ssi {
    my ($api, $page) = @_;
    # the subscriber's first resync empties the caches: a block starts
    # once it is done, however long the machine takes to get there
    $page = '{/ctl/await-subscriber?port=$TEST_NGINX_SERVER_PORT}' . $page;
    $page = subst($page);
    $page =~ s/\{cli:([^{}]+)\}/'{' . cli($1) . '}'/ge;
    $page =~ s/\{(&?)([^{}]+)\}/include($2, $1 eq '')/ge;
    return $common . $api . <<"_EOC_";
    location = /t {
        default_type text/html;
        ssi on;
        return 200 '$page';
    }
_EOC_
}

# the /api location, with these directives added
sub api {
    my ($more) = @_;
    $more //= '';
    return <<"_EOC_";
    location = /api {
        gw_key_auth api;
        $more
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/who;
    }
_EOC_
}

# the commands that write key $x's record and its consumer's again, from
# the snapshot (after a Redis restart, which loses them)
sub restore_key {
    my ($x) = @_;
    my $k = "gw:key:" . key_hash($key{$x});
    my ($rec) = grep { $_->[1] eq $k } @$snapshot;
    my %f = @{$rec}[2 .. $#$rec];
    my ($c) = grep { $_->[1] eq "gw:consumer:$f{consumer}" } @$snapshot;
    my @cmds;
    for my $cmd ($rec, $c) {
        # the control server drops empty arguments: leave out empty fields
        my ($op, $name, %fields) = @$cmd;
        push @cmds, [$op, $name, map { ($_, $fields{$_}) }
                                 grep { length $fields{$_} } sort keys %fields];
    }
    return join '', map { '{/ctl/cli?' . ctl_args(@$_) . '}' } @cmds;
}


# a pattern for one gw_redis_status line with these member values
sub status_re {
    my (%want) = @_;
    my $re = '\{"worker":\d+,"address":"[^"]+"';
    for my $k (qw(connected state pending commands timeouts failed
                  reconnects errors subscriber))
    {
        my $v = exists $want{$k} ? $want{$k}
              : $k eq 'state' ? '"[a-z]+"'
              : $k eq 'subscriber' ? '(?:null|\{[^{}]*\})' : '[^,]+';
        $re .= ",\"$k\":$v";
    }
    return "$re\\}\\n";
}

run_tests();

__DATA__

=== TEST 1: a valid answer is cached: a record changed without a message is not seen; the message ends it
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api(), 'a:{/k/a}{cli:HSET gw:key:HASH_A status revoked}b:{/k/a}{cli:PUBLISH gw:events key_HASH_A}{/ctl/sleep?ms=200}c:{/k/a}d:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok alice\n0\nb:ok alice\n1\nslept\nc:401 ra=\nd:${\ main::status_re(
    commands => 2, subscriber => '\{"connected":true,[^{}]*"channels":1,[^{}]*\}') }\z/
--- no_error_log
[error]
[warn]



=== TEST 2: a consumer message drops every key of that consumer
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api(), 'a:{/k/a}b:{/k/b}{cli:HSET gw:consumer:alice status disabled}c:{/k/a}{cli:PUBLISH gw:events consumer_alice}{/ctl/sleep?ms=200}d:{/k/a}e:{/k/b}f:{/k/c}')
--- request
GET /t
--- response_body
a:ok alice
b:ok alice
0
c:ok alice
1
slept
d:403 ra=
e:403 ra=
f:403 ra=
--- no_error_log
[error]



=== TEST 3: an unknown key is cached for gw_key_auth_negative_ttl
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_negative_ttl 2s;'), 'a:{/k/u}{cli:HSET gw:key:HASH_U consumer alice status active expires 0}b:{/k/u}{/ctl/sleep?ms=2100}c:{/k/u}')
--- request
GET /t
--- response_body
a:401 ra=
3
b:401 ra=
slept
c:ok alice
--- no_error_log
[error]



=== TEST 4: gw_key_auth_negative_ttl 0: an unknown key is asked again at once
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_negative_ttl 0;'), 'a:{/k/u}{cli:HSET gw:key:HASH_U consumer alice status active expires 0}b:{/k/u}')
--- request
GET /t
--- response_body
a:401 ra=
3
b:ok alice
--- no_error_log
[error]



=== TEST 5: a key message drops a negative entry too (as gwctl key create sends)
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_negative_ttl 60s;'), 'a:{/k/u}{cli:HSET gw:key:HASH_U consumer alice status active expires 0}b:{/k/u}{cli:PUBLISH gw:events key_HASH_U}{/ctl/sleep?ms=200}c:{/k/u}')
--- request
GET /t
--- response_body
a:401 ra=
3
b:401 ra=
1
slept
c:ok alice
--- no_error_log
[error]



=== TEST 6: a disabled consumer's 403 is cached; enabling it (with its message) ends that
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_negative_ttl 60s;'), 'a:{/k/d}{cli:HSET gw:consumer:dave status active}b:{/k/d}{cli:PUBLISH gw:events consumer_dave}{/ctl/sleep?ms=200}c:{/k/d}')
--- request
GET /t
--- response_body
a:403 ra=
0
b:403 ra=
1
slept
c:ok dave
--- no_error_log
[error]



=== TEST 7: gw_key_auth_cache_ttl 0: every request asks Redis
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_cache_ttl 0;'), 'a:{/k/a}b:{/k/a}{cli:HSET gw:key:HASH_A status revoked}c:{/k/a}d:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok alice\nb:ok alice\n0\nc:401 ra=\nd:${\ main::status_re(commands => 3) }\z/
--- no_error_log
[error]



=== TEST 8: gw_key_auth_cache_size 0: no cache at all, positive or negative
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_key_auth_cache_size 0;
--- config eval
main::ssi(main::api(), 'a:{/k/a}{cli:HSET gw:key:HASH_A status revoked}b:{/k/a}c:{/k/u}{cli:HSET gw:key:HASH_U consumer alice status active expires 0}d:{/k/u}e:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok alice\n0\nb:401 ra=\nc:401 ra=\n3\nd:ok alice\ne:${\ main::status_re(commands => 4) }\z/
--- no_error_log
[error]



=== TEST 9: gw_key_auth_cache_ttl bounds how long a silent change goes unseen
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_cache_ttl 2s;'), 'a:{/k/a}{cli:HSET gw:key:HASH_A status revoked}b:{/k/a}{/ctl/sleep?ms=2100}c:{/k/a}')
--- request
GET /t
--- response_body
a:ok alice
0
b:ok alice
slept
c:401 ra=
--- no_error_log
[error]



=== TEST 10: a key that expires while cached is refused from the cache
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_cache_ttl 60s;'), q{{cli:EVAL redis.call('HSET',KEYS[1],'expires',tonumber(redis.call('TIME')[1])+2)_return_1 1 gw:key:HASH_E}a:{/k/e}{/ctl/sleep?ms=2100}b:{/k/e}c:{/status}})
--- request
GET /t
--- response_body_like eval
qr/\A1\na:ok alice\nslept\nb:401 ra=\nc:${\ main::status_re(commands => 1) }\z/
--- no_error_log
[error]



=== TEST 11: the cache holds gw_key_auth_cache_size entries, the least recently used dropped first
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_key_auth_cache_size 2;
--- config eval
main::ssi(main::api(), 'a:{/k/a}b:{/k/b}c:{/k/a}d:{/k/c}{cli:HSET gw:key:HASH_A status revoked}{cli:HSET gw:key:HASH_B status revoked}{cli:HSET gw:key:HASH_C status revoked}e:{/k/a}f:{/k/c}g:{/k/b}h:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok alice\nb:ok alice\nc:ok alice\nd:ok alice\n0\n0\n0\ne:ok alice\nf:ok alice\ng:401 ra=\nh:${\ main::status_re(commands => 4) }\z/
--- no_error_log
[error]



=== TEST 12: gw_key_auth_cache_ttl 0 in a location: an answer cached for another location is not used
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api() . <<'_EOC_', 'a:{/k/a}{cli:HSET gw:key:HASH_A status revoked}b:{/k0/a}c:{/status}')
    location = /api0 {
        gw_key_auth api;
        gw_key_auth_cache_ttl 0;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/who;
    }
    location = /k0/a {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api0;
        proxy_set_header X-API-Key $TEST_NGINX_KEY_A;
        proxy_intercept_errors on;
        error_page 401 403 500 502 503 504 = @denied;
    }
_EOC_
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok alice\n0\nb:401 ra=\nc:${\ main::status_re(commands => 2) }\z/
--- no_error_log
[error]



=== TEST 13: Redis down, a key not cached: 503 auth-unavailable, Retry-After, problem+json
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::api() . $::common
--- init
$::redis->kill;
select(undef, undef, undef, 0.3);
--- more_headers eval
"X-API-Key: $::key{a}"
--- request
GET /api
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/problem+json
!WWW-Authenticate
--- response_body_like eval
Tollgate::JWT::problem_re('auth-unavailable', 503, 'the consumer store is unreachable')
--- grep_error_log eval
qr/\[error\] [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?(?:connection to 127\.0\.0\.1:\d+ lost|cannot connect to 127\.0\.0\.1:\d+)[^\n]*\n\z/



=== TEST 14: Redis killed: a cached key keeps working, cached denials stay, an uncached key gets 503
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api(), 'a:{/k/a}b:{/k/u}c:{/k/d}{/ctl/kill}{/ctl/sleep?ms=300}d:{/k/a}e:{/k/u}f:{/k/d}g:{/k/b}h:{/k/a}')
--- request
GET /t
--- response_body
a:ok alice
b:401 ra=
c:403 ra=
killed
slept
d:ok alice
e:401 ra=
f:403 ra=
g:503 ra=1
h:ok alice
--- grep_error_log eval
qr/\[error\] [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost[^\n]*\n\z/



=== TEST 15: gw_key_auth_redis_down deny: Redis down, a cached key gets 503 too
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_redis_down deny;'), 'a:{/k/a}b:{/k/a}{/ctl/kill}{/ctl/sleep?ms=300}c:{/k/a}d:{/k/b}{/ctl/start}' . main::restore_key('a') . '{/ctl/sleep?ms=700}e:{/k/a}')
--- request
GET /t
--- response_body
a:ok alice
b:ok alice
killed
slept
c:503 ra=1
d:503 ra=1
started
5
5
slept
e:ok alice
--- grep_error_log eval
qr/\[error\] [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost[^\n]*\n\z/



=== TEST 16: gw_key_auth_redis_down cached: a cached key passes only until its TTL ends
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi(main::api('gw_key_auth_cache_ttl 3s; gw_key_auth_redis_down cached;'), 'a:{/k/a}{/ctl/kill}{/ctl/sleep?ms=300}b:{/k/a}{/ctl/sleep?ms=3000}c:{/k/a}')
--- request
GET /t
--- timeout: 10
--- response_body
a:ok alice
killed
slept
b:ok alice
slept
c:503 ra=1
--- grep_error_log eval
qr/\[error\] [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost[^\n]*\n\z/



=== TEST 17: Redis stopped (SIGSTOP): key lookups get 503 after gw_redis_timeout, everything else goes on meanwhile
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 300ms;
--- config eval
main::ssi(main::api(), 'a:{/k/a}{/ctl/pause}b:{&/k/b}c:{/ctl/get?port=$TEST_NGINX_SERVER_PORT&path=/plain&under=8000}d:{/k/a}e:{/k/c}g:{/ctl/get?port=$TEST_NGINX_SERVER_PORT&path=/plain&under=8000}{/ctl/resume}{/ctl/ready}h:{/k/b}i:{/status}')
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\Aa:ok alice\npaused\nb:503 ra=1\nc:fast plain\nd:ok alice\ne:503 ra=1\ng:fast plain\nresumed\nready\nh:ok alice\ni:${\ main::status_re(
    connected => 'true', timeouts => 2, failed => 0, errors => 0) }\z/
--- error_log eval
qr/\[info\] [^\n]*gw_redis: no reply within 300 ms/
--- no_error_log
[error]
[warn]



=== TEST 18: Redis stalled: the 503 says the store did not answer in time
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 200ms;
--- config eval
main::api() . $::common
--- init
$::redis->cli_bg('DEBUG', 'SLEEP', '1');
$::ctl->wait_stalled;
--- more_headers eval
"X-API-Key: $::key{a}"
--- request
GET /api
--- error_code: 503
--- response_headers
Retry-After: 1
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('auth-unavailable', 503, 'the consumer store did not answer in time')
--- no_error_log
[error]
[warn]



=== TEST 19: Redis killed under load and started again: one [error], failures meanwhile, recovery without help
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 5s;
    gw_redis_backoff_max 200ms;
--- config eval
main::ssi(main::api(), 'a:{/k/a}{/ctl/bg?DEBUG&SLEEP&2}{/ctl/sleep?ms=100}'
          . 'b:{&/ctl/kill?after=300}' . ('{&/k/b}' x 20)
          . 'c:{/ctl/start}' . main::restore_key('b') . '{/ctl/sleep?ms=800}'
          . ('{&/k/b}' x 20) . '{/ctl/sleep?ms=100}d:{/k/a}e:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok alice\nstarted\nslept\nb:killed\n(?:503 ra=1\n){20}c:started\n\d+\n\d+\nslept\n(?:ok alice\n){20}slept\nd:401 ra=\ne:${\ main::status_re(
    connected => 'true', state => '"up"', pending => 0, timeouts => 0,
    reconnects => 1, errors => 1,
    subscriber => '\{"connected":true,[^{}]*\}') }\z/
--- grep_error_log eval
qr/\[error\] [^\n]*|\[notice\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost: [^\n]+\n\[notice\] [^\n]*gw_redis: (?:subscriber )?reconnected to 127\.0\.0\.1:\d+ after \d+ retr(?:y|ies)\n\z/
