# vi:ft=perl
#
# Lease mode of global quotas (docs/limit.md): two gateways (one with two
# workers) share a quota through Redis, spending admissions from leases
# in their own shared memory: never more than the quota in all, fewer
# Redis scripts than requests, the unspent part of a lease given back to
# Redis once it expires (so the other gateway can have it), a refusal
# answered from this gateway until Redis' Retry-After (no script per
# refused request), an admission a later limit refuses given back to the
# lease, the response fields, and Redis going away (the fallback of
# global mode).  Waits only for what it then observes (Redis' count), up
# to a bound.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::More;
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::Redis;

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;

my $http = <<"_EOC_";
    gw_redis 127.0.0.1:$rport;
    gw_redis_timeout 500ms;
    gw_limit_nodes 2;
    gw_limit_lease_ttl 300ms;
    gw_limit_lease_max 50%;

    server {
        listen \$PORT;

        location = /up {
            return 200 "ok\\n";
        }

        location /l {
            gw_limit l key=\$arg_k quota=20/h mode=lease;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /mix {
            gw_limit lq key=\$arg_k quota=10/h mode=lease;
            gw_limit loc key=\$arg_k rate=1r/m;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
    }
_EOC_

my $gw = Tollgate::Gateway->start(workers => 2, http => $http);
my $gw2 = Tollgate::Gateway->start(workers => 1, http => $http);

sub scripts {
    my $n = 0;
    for (split /\r?\n/, $redis->cli('INFO', 'commandstats')) {
        $n += $1 if /^cmdstat_eval(?:sha)?:calls=(\d+)/;
    }
    return $n;
}

sub counted {
    my ($key) = @_;
    return $redis->cli('HGET', $key, 'b') || 0;
}

# waits (up to 5 s) until Redis' count of key is $want; the count
sub count_settles {
    my ($key, $want) = @_;
    my $t0 = time;
    while (time - $t0 < 5) {
        my $n = counted($key);
        return $n if $n == $want;
        sleep 0.05;
    }
    return counted($key);
}

# --- one quota, two gateways, leases ----------------------------------------

my $s0 = scripts();
my %n;
my $r;
for (1 .. 12) {
    $r = $gw->get('/l?k=a');
    $n{ $r->{status} }++;
}
is($n{200}, 12, 'gateway 1: 12 of quota=20/h admitted');
is($r->{headers}{'x-limit'}, 'passed', '$gw_limit_status passed');
is($r->{headers}{'ratelimit-policy'}, '"l";q=20;w=3600',
   'RateLimit-Policy: the whole quota');
like($r->{headers}{'ratelimit'}, qr/^"l";r=\d+;t=\d+$/, 'RateLimit');
my $used = scripts() - $s0;
ok($used < 12, "fewer Redis scripts than requests ($used for 12)");

my $held = counted('gw:limit:l:q:a');
ok($held >= 12 && $held <= 17,
   "Redis counts the 12 and the lease held ($held, at most 5 more)");

is(count_settles('gw:limit:l:q:a', 12), 12,
   'the lease expires and its unspent admissions go back to Redis');

%n = ();
for (1 .. 12) {
    $r = $gw2->get('/l?k=a');
    $n{ $r->{status} }++;
}
is($n{200}, 8, 'gateway 2: the 8 left, nothing lost to the other\'s lease');
is($n{429}, 4, 'then refused');
is(counted('gw:limit:l:q:a'), 20, 'Redis: exactly the quota');

is($r->{status}, 429, 'the refusal: 429');
ok($r->{headers}{'retry-after'} >= 1, 'with Retry-After '
   . ($r->{headers}{'retry-after'} // 'none'));
is($r->{headers}{'x-limit'}, 'rejected', '$gw_limit_status rejected');
like($r->{body}, qr/^\{"type":"urn:tollgate:problem:rate-limited","title":"Too many requests","status":429,"detail":"limit \\"l\\" exceeded; retry in \d+ s"/,
     'a rate-limited problem');
like($r->{headers}{'ratelimit'}, qr/^"l";r=0;t=\d+$/, 'RateLimit: r=0');

my $s1 = scripts();
is(join(' ', map { $gw2->get('/l?k=a')->{status} } 1 .. 5),
   '429 429 429 429 429', 'refused again');
is(scripts() - $s1, 0, 'from this gateway, without asking Redis');

%n = ();
$n{ $gw->get('/l?k=a')->{status} }++ for 1 .. 5;
is($n{429}, 5, 'the first gateway too: the quota holds across gateways');

# --- a later limit refuses: the admission goes back ---------------------------

is($gw2->get('/mix?k=m')->{status}, 200, 'mix: the first passes both');
$r = $gw2->get('/mix?k=m');
is($r->{status}, 429, 'mix: the local rate refuses the second');
like($r->{headers}{'ratelimit'}, qr/^"lq";r=\d+;t=\d+, "loc";r=0;t=\d+$/,
     'mix: both limits in RateLimit');
is(count_settles('gw:limit:lq:q:m', 1), 1,
   'mix: only the admitted request stays counted in Redis');

# --- a lease that expired unspent: the next ones still lease ----------------

is($gw2->get('/l?k=idle')->{status}, 200, 'a key leased once');
is(count_settles('gw:limit:l:q:idle', 1), 1,
   'its lease expires unspent and goes back');
$s1 = scripts();
is(join(' ', map { $gw2->get('/l?k=idle')->{status} } 1 .. 10),
   join(' ', ('200') x 10), 'ten more');
$used = scripts() - $s1;
ok($used < 10, "still leased: $used Redis scripts for 10 requests");

# --- Redis away: the fallback of global mode ----------------------------------

$redis->kill;
sleep 0.2;

$r = $gw2->get('/l?k=down');
is($r->{status}, 200, 'Redis down: a new key is admitted');
is($r->{headers}{'x-limit'}, 'degraded', 'by the local fallback');
is($r->{headers}{'ratelimit-policy'}, '"l";q=10;w=3600',
   'which announces its share (20 / gw_limit_nodes 2)');

my @log = $gw2->error_log;
is(scalar(grep { /global limits fall back to a local share/ } @log), 1,
   'one warn line for the incident');

$redis->restart;
$redis->wait_ready(10) or BAIL_OUT('redis did not come back');

my $back = 0;
my $t0 = time;
while (time - $t0 < 10) {
    $r = $gw2->get('/l?k=back');
    if (($r->{headers}{'x-limit'} // '') eq 'passed') {
        $back = 1;
        last;
    }
    sleep 0.1;
}
ok($back, 'Redis back: leased from Redis again');

# --- the logs -----------------------------------------------------------------

@log = ($gw->error_log, $gw2->error_log);
ok((grep { /\[info\].*gw_limit: limit "l" exceeded, client/ } @log),
   'a refusal logs at info, naming the limit');
ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ && !/gw_redis: / } @log),
   'no error but the Redis client\'s own about the kill')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @log;

$gw->stop;
$gw2->stop;

done_testing();
