# vi:ft=perl
#
# Global rate limits (docs/limit.md): the state in Redis (its keys, their
# expiry), one script run per request for all its global limits, the
# script loaded again after SCRIPT FLUSH (NOSCRIPT), gateways sharing a
# limit, a long key's digest kept apart from the same characters sent as
# a key, Redis' clock, a consumer's plan from its record (a change applied
# on the gw:events message, without reload), and Redis going away:
# gw_limit_redis_down fallback (limit / gw_limit_nodes, logged once, back
# to global when Redis is), deny (503) and allow.  What the refusals log.
#
# Plain Test::More with Tollgate::Gateway instances (workers, a master, a
# second gateway), so Redis can be killed and restarted between requests.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Redis;

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;
my $ctl = Tollgate::Gwctl->new($redis);

my $http = <<"_EOC_";
    gw_redis 127.0.0.1:$rport;
    gw_redis_timeout 500ms;
    gw_limit_nodes 2;

    gw_limit_plan gold burst rate=1r/m burst=5;
    gw_limit_plan gold hourly quota=100/h;
    gw_limit_plan free hourly quota=1/h;

    server {
        listen \$PORT;

        location = /up {
            return 200 "ok\\n";
        }

        location /g {
            gw_limit burst key=\$arg_k rate=1r/m burst=3 mode=global;
            gw_limit hourly key=\$arg_k quota=6/h mode=global;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /mixed {
            gw_limit loc key=\$arg_k rate=1r/m burst=1;
            gw_limit glob key=\$arg_k quota=1/h mode=global;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /deny {
            gw_limit_mode global;
            gw_limit_redis_down deny;
            gw_limit d key=\$arg_k quota=100/h;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /allow {
            gw_limit_mode global;
            gw_limit_redis_down allow;
            gw_limit a key=\$arg_k rate=1r/m;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /key {
            gw_key_auth api;
            gw_limit burst key=\$gw_consumer_id rate=1r/m burst=1
                     mode=global;
            gw_limit hourly key=\$gw_consumer_id quota=3/h mode=global;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
    }
_EOC_

my $gw = Tollgate::Gateway->start(workers => 2, http => $http);
my $gw2 = Tollgate::Gateway->start(workers => 1, http => $http);

sub codes {
    my ($g, $path, $n, %h) = @_;
    return join ' ', map { $g->get($path, %h)->{status} } 1 .. $n;
}

# --- one limit across workers and gateways ----------------------------------

is(codes($gw, '/g?k=a', 4), '200 200 200 200', 'burst=3: four at once');

my $r = $gw->get('/g?k=a');
is($r->{status}, 429, 'the fifth is refused');
is($r->{headers}{'retry-after'}, 60, 'Retry-After: 60');
is($r->{headers}{'x-limit'}, 'rejected', '$gw_limit_status rejected');
like($r->{body}, qr/"type":"urn:tollgate:problem:rate-limited"/,
     'a problem body');
is($r->{headers}{'ratelimit-policy'},
   '"burst";q=1;w=60, "hourly";q=6;w=3600', 'RateLimit-Policy');
like($r->{headers}{'ratelimit'}, qr/^"burst";r=0;t=240, "hourly";r=2;t=\d+$/,
     'RateLimit: the refused request took nothing from the quota');

is($gw2->get('/g?k=a')->{status}, 429,
   'the other gateway shares the limit');
is($gw2->get('/g?k=b')->{status}, 200, 'another key is its own');

is($redis->cli('EXISTS', 'gw:limit:burst:r:a'), 1,
   'the rate is in Redis under gw:limit:burst:r:a');
is($redis->cli('HGET', 'gw:limit:hourly:q:a', 'b'), 4,
   'the quota counted 4 in this window');
my $ttl = $redis->cli('PTTL', 'gw:limit:burst:r:a');
ok($ttl > 230_000 && $ttl <= 241_000,
   "the rate's key expires when it is fresh again ($ttl ms)");
$ttl = $redis->cli('PTTL', 'gw:limit:hourly:q:a');
ok($ttl > 3_600_000 && $ttl <= 7_201_000,
   "the quota's key expires after two windows at most ($ttl ms)");

# --- a long key's digest is no key a client can send ---------------------------

my $long = 'L' x 300;
my $hex = sha256_hex($long);
is(codes($gw, "/g?k=$long", 5), '200 200 200 200 429',
   'a key over gw_limit_key_max: burst=3, the fifth is refused');
is($redis->cli('EXISTS', "gw:limit:burst:rh:$hex"), 1,
   'its state is under gw:limit:burst:rh:<sha256-hex>');
is(codes($gw, "/g?k=$hex", 2), '200 200',
   'its digest sent as a key is another key');
is($redis->cli('EXISTS', "gw:limit:burst:r:$hex"), 1,
   'whose state is under gw:limit:burst:r:<key>');

# --- NOSCRIPT: the script is loaded again -------------------------------------

is($redis->cli('SCRIPT', 'FLUSH'), 'OK', 'SCRIPT FLUSH');
is(codes($gw, '/g?k=c', 2), '200 200', 'after SCRIPT FLUSH: still decided');
is($redis->cli('HGET', 'gw:limit:hourly:q:c', 'b'), 2, 'and counted');

# --- a local limit and a global one on one request ------------------------------

is(codes($gw, '/mixed?k=m', 3), '200 429 429',
   'mixed: the global quota of 1 refuses the second');
like($gw->get('/mixed?k=m')->{headers}{'ratelimit'},
     qr/^"loc";r=1;t=60, "glob";r=0;t=\d+$/,
     'mixed: a global refusal takes nothing from the local rate');

# --- plans from the consumer's record -------------------------------------------

$ctl->consumer_add('acme', plan => 'gold');
my $key = $ctl->key_create('acme');
$ctl->consumer_add('bob');
my $bkey = $ctl->key_create('bob');

is(codes($gw, '/key', 6, 'X-API-Key' => $key), '200 200 200 200 200 200',
   'gold: burst=5 instead of 1');
is($gw->get('/key', 'X-API-Key' => $key)->{status}, 429,
   'gold: the seventh refused by the rate');
is(codes($gw, '/key', 3, 'X-API-Key' => $bkey), '200 200 429',
   'no plan: the defaults (burst=1)');

# a plan change with gwctl: the record and the gw:events message
my ($st, $t0) = (0, time);
$ctl->consumer_plan('bob', 'free');
while (time - $t0 < 1) {
    my $res = $gw->get('/key', 'X-API-Key' => $bkey);
    last if ($res->{headers}{'ratelimit-policy'} // '') =~ /"hourly";q=1;/;
    sleep 0.02;
}
my $took = time - $t0;
ok($took < 1, sprintf('gwctl consumer plan: applies within 1 s (%.0f ms, '
                      . 'gwctl included)', $took * 1000));
diag sprintf 'plan change to the first request under the new plan: '
             . '%.0f ms', $took * 1000;
like($gw->get('/key', 'X-API-Key' => $bkey)->{headers}{'ratelimit-policy'},
     qr/"hourly";q=1;w=3600/, 'the free plan: quota=1/h');

# --- Redis away: fallback, deny, allow; back again -----------------------------

$redis->kill;
sleep 0.2;

my @codes = map { $gw2->get("/g?k=f")->{status} } 1 .. 4;
is("@codes", '200 200 429 429',
   'fallback: half the burst (1.5) on this node: two at once');
$r = $gw2->get('/g?k=f');
is($r->{headers}{'x-limit'}, 'rejected', 'fallback refusal: rejected');
is($r->{headers}{'ratelimit-policy'},
   '"burst";q=1;w=120, "hourly";q=3;w=3600',
   'fallback: the fields announce the share');

$r = $gw2->get('/g?k=h');
is($r->{headers}{'x-limit'}, 'degraded', 'fallback admission: degraded');

$r = $gw2->get('/deny?k=x');
is($r->{status}, 503, 'deny: 503');
like($r->{body}, qr/"type":"urn:tollgate:problem:limit-unavailable"/,
     'deny: a limit-unavailable problem');

is(codes($gw2, '/allow?k=x', 3), '200 200 200', 'allow: unlimited');
is($gw2->get('/allow?k=x')->{headers}{'x-limit'}, 'degraded',
   'allow: degraded');

$redis->restart;
$redis->wait_ready(10) or BAIL_OUT('redis did not come back');

my $back = 0;
$t0 = time;
while (time - $t0 < 10) {
    my $res = $gw2->get('/allow?k=y');
    if (($res->{headers}{'x-limit'} // '') eq 'passed') {
        $back = 1;
        last;
    }
    sleep 0.1;
}
ok($back, 'Redis back: global again');
is($gw2->get('/allow?k=y')->{status}, 429,
   'and limited by Redis again');

# --- the logs -----------------------------------------------------------------

my @log = $gw2->error_log;
my @down = grep { /global limits fall back to a local share/ } @log;
is(scalar @down, 1, 'one warn line for the incident (one worker)')
    or diag join '', @down;
like($down[0] // '', qr/\[warn\]/, 'at warn');
is(scalar(grep { /Redis answers again, global limits are global again/ }
           @log), 1, 'one notice when Redis is back');
ok((grep { /\[info\].*gw_limit: limit "burst" exceeded \(local fallback\)/ }
    @log), 'a fallback refusal logs at info');
ok(!(grep { /\[(?:error|crit|alert|emerg)\].*gw_limit/ } @log),
   'no gw_limit line at error or above');

@log = $gw->error_log;
ok((grep { /\[info\].*gw_limit: limit "burst" exceeded, client/ } @log),
   'a refusal logs at info, naming the limit');
ok((grep { /gw_limit: limit "burst" exceeded/ } @log)
   && !(grep { /gw_limit: limit.*acme/ } @log),
   'never the key (the consumer id acme)');
ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ && !/gw_redis: / } @log),
   'no error but the Redis client\'s own about the kill')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @log;

$gw->stop;
$gw2->stop;

done_testing();
