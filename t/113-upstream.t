# gw_upstream end to end (docs/routing.md, "gw_upstream"): Redis, the
# metadata service and a gateway of two workers with gw_config, gw_router
# and "upstream gw_dynamic { gw_upstream; keepalive 16; }"; the targets
# are server blocks of the same nginx on ports of their own, each
# answering its name and the number of the connection it came on.
# Upstreams are made and changed through the admin API, never reloaded:
# weighted shares, hash stickiness by a header, least_conn, passive
# health (a target refusing connections goes out, comes back after
# fail_timeout_ms when it listens again), active health (a check path
# answering 500 takes a target out, 200 brings it back), the 503 problem
# when no target is up, keepalive reuse, a target added and one removed
# while a slow request to it is in flight (it finishes), the 502 of a
# location that proxies to gw_upstream without gw_router, and a "server"
# in a gw_upstream block refused.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Gateway;
use Tollgate::Routing qw(:all);

skip_unless_built();

my ($redis, $md) = start();

# the targets: name => port; "dead" has nobody listening (yet)
my %port = map { $_ => Tollgate::Gateway::free_port() }
           qw(a b c d e slow sick dead);
my $flags = tempdir('tollgate-113-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $flags;    # the workers (nobody) look in it

my $targets = join "\n", map {
    my $n = $_;
    <<"_EOC_";
    server {
        listen 127.0.0.1:$port{$n};
        keepalive_requests 10000;
        location = /health {
            if (-f $flags/$n.sick) { return 500; }
            return 200 "ok\\n";
        }
        location / {
            add_header X-Target $n always;
            add_header X-Conn \$connection always;
            return 200 "$n\\n";
        }
    }
_EOC_
} grep { $_ ne 'dead' && $_ ne 'slow' } sort keys %port;

my $big = 'x' x 3000;

my $gw = gateway(workers => 2, upstream => 'keepalive 16;',
                 http => <<"_EOC_");
    gw_metrics_zone 1m;
    server {
        listen 127.0.0.1:\$PORT;
        location / {
            gw_router;
            proxy_pass http://gw_dynamic;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            add_header X-Rev \$gw_config_revision always;
        }
        location /plain/ {
            proxy_pass http://gw_dynamic;
        }
        location = /metrics {
            gw_metrics off;
            gw_metrics_endpoint;
        }
    }
$targets
    server {
        listen 127.0.0.1:$port{slow};
        location / {
            limit_rate 1000;
            add_header X-Target slow always;
            return 200 "$big";
        }
    }
_EOC_

sub get { ask($gw, @_) }

sub target_of { $_[0]{headers}{'x-target'} // '' }

sub addr { "127.0.0.1:$port{$_[0]}" }

sub targets { [ map { ref $_ ? { address => addr($_->[0]),
                                 weight => $_->[1] }
                             : { address => addr($_) } } @_ ] }

# the targets of n requests to $path: name => count
sub spread {
    my ($path, $n, %h) = @_;
    my %c;
    $c{ target_of(get($path, %h)) }++ for 1 .. $n;
    return \%c;
}

# ---- weighted round robin --------------------------------------------------

create('upstreams', 'wrr', { targets => targets([ 'a', 1 ], [ 'b', 3 ],
                                                 [ 'c', 4 ]) });
create('routes', 'wrr', { paths => ['/wrr'], upstream => 'wrr' });

ok(until_true(sub { get('/wrr')->{status} == 200 }), 'the route is served')
    or diag explain get('/wrr');

# each worker keeps its own smooth WRR state: exact shares per worker per
# round of 8, so the total is within a few requests of 1:3:4
my $c = spread('/wrr', 160);
cmp_ok(abs(($c->{a} // 0) - 20), '<=', 4, "weight 1: about 20 of 160")
    or diag explain $c;
cmp_ok(abs(($c->{b} // 0) - 60), '<=', 6, "weight 3: about 60 of 160")
    or diag explain $c;
cmp_ok(abs(($c->{c} // 0) - 80), '<=', 6, "weight 4: about 80 of 160")
    or diag explain $c;
is(scalar(keys %$c), 3, 'only the three targets') or diag explain $c;

# ---- keepalive: connections to the targets are reused ---------------------

create('upstreams', 'ka', { targets => targets('d') });
create('routes', 'ka', { paths => ['/ka'], upstream => 'ka' });
ok(until_true(sub { target_of(get('/ka')) eq 'd' }), 'ka served');

my %conn;
$conn{ get('/ka')->{headers}{'x-conn'} // '' }++ for 1 .. 30;
cmp_ok(scalar(keys %conn), '<=', 2,
       '30 requests on at most one upstream connection per worker')
    or diag explain \%conn;

# ---- hash by a header: sticky ----------------------------------------------

create('upstreams', 'hash', { targets => targets('a', 'b', 'c', 'd'),
                              algorithm => 'hash',
                              hash_on => 'header:X-User' });
create('routes', 'hash', { paths => ['/hash'], upstream => 'hash' });
ok(until_true(sub { get('/hash', 'X-User' => 'u0')->{status} == 200 }),
   'hash served');

my (%of, $moved, %used);
for my $u (map { "user-$_" } 1 .. 24) {
    for (1 .. 4) {
        my $t = target_of(get('/hash', 'X-User' => $u));
        $moved++ if defined $of{$u} && $of{$u} ne $t;
        $of{$u} = $t;
        $used{$t}++;
    }
}
ok(!$moved, 'every user stays on one target');
cmp_ok(scalar(keys %used), '>=', 2, 'users are spread over targets')
    or diag explain \%used;

# the same users on the same targets after an unrelated change (a new
# snapshot: the ring is the upstream's, not the snapshot's)
create('routes', 'unrelated', { paths => ['/unrelated'], upstream => 'ka' });
ok(until_true(sub { target_of(get('/unrelated')) eq 'd' }), 'new snapshot');
my $same = grep { target_of(get('/hash', 'X-User' => $_)) eq $of{$_} }
           keys %of;
is($same, scalar(keys %of), 'stickiness survives a new snapshot');

# ---- least_conn ------------------------------------------------------------

create('upstreams', 'least', { targets => targets('a', 'b'),
                               algorithm => 'least_conn' });
create('routes', 'least', { paths => ['/least'], upstream => 'least' });
ok(until_true(sub { get('/least')->{status} == 200 }), 'least served');
$c = spread('/least', 20);
ok($c->{a} && $c->{b}, 'idle targets share the requests')
    or diag explain $c;

# ---- passive health --------------------------------------------------------

create('upstreams', 'passive', {
    targets => targets('a', 'dead'),
    passive => { max_fails => 1, window_ms => 10000,
                 fail_timeout_ms => 5000 } });
my $refused = qr/connect\(\) failed .*127\.0\.0\.1:$port{dead}/;
my $before = log_count($gw, $refused);
create('routes', 'passive', { paths => ['/passive'], upstream => 'passive' });
ok(until_true(sub { get('/passive')->{status} == 200 }), 'passive served');

$c = spread('/passive', 20);
is($c->{a}, 20, 'every request answered by the live target (next try)')
    or diag explain $c;
my $tries = log_count($gw, $refused) - $before;
cmp_ok($tries, '>=', 1, "the refusing target was tried ($tries)");
cmp_ok($tries, '<=', 2,
       "and is out after its failure (one try, two if both workers raced)");
ok(log_count($gw,
             qr/target \Q@{[addr('dead')]}\E of upstream "passive" is out/),
   'logged: out');

# it listens again: back after fail_timeout_ms
my $late = Tollgate::Gateway->start(http => <<"_EOC_");
    server {
        listen 127.0.0.1:\$PORT;
        listen 127.0.0.1:$port{dead};
        location / { add_header X-Target dead always; return 200 "dead\\n"; }
    }
_EOC_
ok(until_true(sub { target_of(get('/passive')) eq 'dead'
                    || target_of(get('/passive')) eq 'dead' }, 15),
   'the target is back after fail_timeout_ms');
$late->stop;

# no target up: 503 problem, no try
create('upstreams', 'down', {
    targets => targets('dead'),
    passive => { max_fails => 1, fail_timeout_ms => 60000 } });
create('routes', 'down', { paths => ['/down'], upstream => 'down' });
ok(until_true(sub { get('/down')->{status} >= 500 }), 'down served');
my $r;
ok(until_true(sub { $r = get('/down'); $r->{status} == 503 }),
   'every target out: 503') or diag explain $r;
is(problem($r)->{type}, 'urn:tollgate:problem:upstream-unavailable',
   'the upstream-unavailable problem');
$before = log_count($gw, $refused);
get('/down') for 1 .. 5;
is(log_count($gw, $refused) - $before, 0, 'no try while every target is out');

# the targets' metrics
my $m = get('/metrics')->{body};
my $dead = addr('dead');
like($m, qr/^gw_upstream_target_up\{upstream="down",target="\Q$dead\E"\} 0$/m,
     'metrics: the refusing target is down');
like($m, qr/^gw_upstream_target_up\{upstream="wrr",target="\Q@{[addr('a')]}\E"\} 1$/m,
     'metrics: a live target is up');
like($m, qr/^gw_upstream_target_failures_total\{upstream="down",target="\Q$dead\E"\} [1-9]/m,
     'metrics: its failures are counted');
like($m, qr/^gw_upstream_target_failures_total\{upstream="wrr",target="\Q@{[addr('a')]}\E"\} 0$/m,
     'metrics: none for a live target');
like($m, qr/^gw_upstream_target_connections\{upstream="wrr",target="\Q@{[addr('a')]}\E"\} 0$/m,
     'metrics: nothing in flight once answered');

# ---- active health ---------------------------------------------------------

create('upstreams', 'active', {
    targets => targets('e', 'sick'),
    health_check => { path => '/health', interval_ms => 100,
                      timeout_ms => 1000, healthy => 2, unhealthy => 2 } });
create('routes', 'active', { paths => ['/active'], upstream => 'active' });
ok(until_true(sub { get('/active')->{status} == 200 }), 'active served');

open my $f, '>', "$flags/sick.sick" or die $!;
close $f;
ok(until_true(sub { !grep { $_ eq 'sick' } keys %{ spread('/active', 6) } }),
   'a check path answering 500 takes the target out');
ok(log_count($gw,
             qr/target \Q@{[addr('sick')]}\E of upstream "active" is out/),
   'logged: out (active)');
$c = spread('/active', 20);
is($c->{e}, 20, 'every request to the other target') or diag explain $c;

unlink "$flags/sick.sick";
ok(until_true(sub { grep { $_ eq 'sick' } keys %{ spread('/active', 6) } }),
   'answering 200 again brings it back');

# ---- targets added and removed without reload -------------------------------

create('upstreams', 'moving', { targets => targets('a') });
create('routes', 'moving', { paths => ['/moving'], upstream => 'moving' });
ok(until_true(sub { target_of(get('/moving')) eq 'a' }), 'moving served');

update('upstreams', 'moving', { targets => targets('a', 'b') });
ok(until_true(sub { spread('/moving', 4)->{b} }),
   'an added target receives traffic');

create('upstreams', 'slow', { targets => targets('slow') });
create('routes', 'slow', { paths => ['/slow'], upstream => 'slow' });
ok(until_true(sub { get('/slow')->{status} == 200 }, 15), 'slow served');

# a slow answer (3 s at 1000 bytes/s) in flight while its target goes
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->port,
                              Proto => 'tcp') or die $!;
syswrite $s, "GET /slow HTTP/1.1\r\nHost: api.test\r\nConnection: close"
             . "\r\n\r\n";
my $first = '';
IO::Select->new($s)->can_read(5) and sysread $s, $first, 65536;
like($first, qr/^HTTP\/1\.1 200/, 'the slow answer has started');

update('upstreams', 'slow', { targets => targets('c') });
ok(until_true(sub { target_of(get('/slow')) eq 'c' }),
   'new requests go to the new target');

my $rest = '';
my $sel = IO::Select->new($s);
my $deadline = time + 15;
while (time < $deadline) {
    last unless $sel->can_read($deadline - time);
    my $n = sysread $s, my $buf, 65536;
    last unless $n;
    $rest .= $buf;
}
my $slow = Tollgate::Gateway::parse_response($first . $rest);
is($slow->{headers}{'x-target'}, 'slow', 'the in-flight request stayed');
is(length($slow->{body}), 3000, 'and finished whole');

# ---- no router, no balance -------------------------------------------------

$r = get('/plain/x');
is($r->{status}, 502, 'gw_upstream without gw_router: 502');
ok(log_count($gw,
             qr/gw_upstream: nothing to balance: the request was not routed/),
   'logged why');

# ---- configuration ---------------------------------------------------------

my $bad = eval {
    Tollgate::Gateway->start(http => <<'_EOC_');
    upstream u { gw_upstream; server 127.0.0.1:1; }
    server { listen 127.0.0.1:$PORT; location / { proxy_pass http://u; } }
_EOC_
};
ok(!$bad, 'a "server" in a gw_upstream block is refused');
like($@, qr/takes no "server"/, 'with its reason');

$gw->stop;
ok(!grep({ /\[(alert|crit|emerg)\]/ } $gw->error_log),
   'nothing at crit or above') or diag grep { /\[(alert|crit|emerg)\]/ }
                                    $gw->error_log;

done_testing();
