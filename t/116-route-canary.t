# Canary splits end to end (docs/routing.md, "Canary splits"): Redis, the
# metadata service and a gateway of two workers with gw_config, gw_router,
# gw_upstream and gw_route_state; a route sends a share of its traffic to
# a "canary" upstream, sticky by a header (X-User).  The realised share
# over 2,000 distinct users is near the weight (loosely: the exact
# ±0.5 point proof over 100,000 keys is t/unit/test_split.c); a user keeps
# its side; when the weight moves from 5% to 10%, at least 99.9% of the
# users already seen keep their side while new users get about 10%; the
# sides are kept in Redis (gw:split:<route>), so a second gateway with an
# empty zone gives the users already seen their sides after one request;
# weight 0 sends everybody back.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use Test::More;

use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Routing qw(:all);

skip_unless_built('gwctl');

my ($redis, $md) = start();
my $ctl = Tollgate::Gwctl->new($redis);
my %port = map { $_ => Tollgate::Gateway::free_port() } qw(stable canary);

sub shop_gateway {
    my ($with_targets) = @_;
    my $targets = !$with_targets ? '' : join "\n", map { <<"_EOC_" } keys %port;
    server {
        listen 127.0.0.1:$port{$_};
        location / {
            add_header X-Target $_ always;
            return 200 "$_\\n";
        }
    }
_EOC_
    return gateway(workers => 2, upstream => '', http => <<"_EOC_");
    gw_route_state zone=gw_routes:2m;
    gw_metrics_zone 1m;
    server {
        listen 127.0.0.1:\$PORT;
        location / {
            gw_router;
            proxy_pass http://gw_dynamic;
            add_header X-Rev \$gw_config_revision always;
        }
        location = /metrics {
            gw_metrics_endpoint;
        }
    }
$targets
_EOC_
}

my $gw = shop_gateway(1);

sub answer {
    my ($g, $user) = @_;
    return ask($g, '/shop', 'X-User' => $user);
}

sub side {
    my $r = answer(@_);
    return $r->{headers}{'x-target'} // "status $r->{status}";
}

sub rev { answer($gw, 'probe')->{headers}{'x-rev'} // 0 }

sub route {
    my ($weight) = @_;
    return { paths => ['/shop'], upstream => 'stable',
             splits => [ { upstream => 'canary', weight => $weight } ],
             sticky => 'header:X-User' };
}

# the sides of users "$prefix-1" .. "$prefix-$n" on gateway $g
sub sides {
    my ($g, $prefix, $n) = @_;
    return { map { ("$prefix-$_" => side($g, "$prefix-$_")) } 1 .. $n };
}

sub share {
    my ($s) = @_;
    my $c = grep { $_ eq 'canary' } values %$s;
    return 100 * $c / scalar(keys %$s);
}

create('upstreams', $_,
       { targets => [ { address => "127.0.0.1:$port{$_}" } ] })
    for qw(stable canary);
create('routes', 'shop', route(5));

ok(until_true(sub { side($gw, 'probe') =~ /^(stable|canary)$/ }),
   'the route is served') or diag side($gw, 'probe');

# ---- the share, and stickiness ------------------------------------------

my $n = 2000;
my $before = sides($gw, 'u', $n);
my $s = share($before);
cmp_ok(abs($s - 5), '<=', 2.5, "5%: $s% of $n users on the canary");
is(scalar(grep { !/^(stable|canary)$/ } values %$before), 0,
   'every request answered by one side');

my $moved = grep { side($gw, $_) ne $before->{$_} }
            map { "u-$_" } 1 .. 100;
is($moved, 0, 'users keep their side, request after request');

# ---- 5% -> 10%: only new users move -------------------------------------

my $rev = rev();
update('routes', 'shop', route(10));
ok(until_true(sub { rev() > $rev }), 'both workers have the new weight');
my $after = sides($gw, 'u', $n);
my $same = grep { $after->{$_} eq $before->{$_} } keys %$before;
cmp_ok($same, '>=', 0.999 * $n,
       "5% -> 10%: $same of $n users seen keep their side (>= 99.9%)");

my $new = sides($gw, 'new', $n);
$s = share($new);
cmp_ok(abs($s - 10), '<=', 3, "10%: $s% of $n new users on the canary");

# ---- Redis holds the sides: a second gateway, an empty zone ------------

my $hlen = $ctl->redis('HLEN', 'gw:split:shop');
cmp_ok($hlen, '>=', 2 * $n, "gw:split:shop holds every user ($hlen)");

my $gw2 = shop_gateway(0);
ok(until_true(sub { side($gw2, 'probe') =~ /^(stable|canary)$/ }),
   'a second gateway serves the route');

# its first request of a user goes by the weights (the request never
# waits for Redis) and fetches the side in the background; the next ones
# use it
sides($gw2, 'u', $n);
my $second = sides($gw2, 'u', $n);
$same = grep { $second->{$_} eq $before->{$_} } keys %$before;
cmp_ok($same, '>=', 0.999 * $n,
       "the second gateway: $same of $n users on the side they were given "
       . 'on the first (>= 99.9%)');

# ---- weight 0: everybody back ---------------------------------------------

update('routes', 'shop', route(0));
ok(until_true(sub { side($gw, 'u-1') eq 'stable'
                    && !grep { side($gw, "u-$_") ne 'stable' } 1 .. 200 }),
   'weight 0: every user back on stable');

# ---- metrics and the log ----------------------------------------------------

my $m = $gw->request("GET /metrics HTTP/1.1\r\nHost: x\r\n"
                     . "Connection: close\r\n\r\n")->{body};
like($m, qr/^gw_route_split_keys\{state="remembered"\} (\d+)$/m,
     'the remembered keys are exported');
my ($kept) = $m =~ /^gw_route_split_keys\{state="remembered"\} (\d+)$/m;
cmp_ok($kept // 0, '>=', 2 * $n, "at least the $n + $n users ($kept)");

for my $g ($gw, $gw2) {
    my @bad = errors($g);
    is(scalar @bad, 0, 'nothing at error or above') or diag @bad;
}

done_testing();
