# Propagation of admin API changes to the gateways (docs/routing.md,
# "Following the admin API"): three gateways of two workers each follow
# one metadata service.  Probers keep long-lived keep-alive connections
# to every gateway and send requests to an unchanged route all along,
# noting which worker answered and the revision it served ($gw_config_
# revision); a writer changes routes through the admin API, first at 1
# change/s, then at 50 changes/s for a minute, while a slow download
# through the gateway runs the whole time.  Printed: the propagation
# time of each change (its 2xx -> the first answer of each of the six
# workers at that revision or later), p50/p99/max per phase.  Asserted:
# every worker of every gateway reaches every revision (loosely bounded
# in time: a busy machine is not a failure), no request to the unchanged
# route fails, no connection of the probers is closed, the download is
# whole, no reload happened (same worker pids, nothing in the error
# log).  Then 100,000 route updates (100 declarative configurations of
# 1,000 changed routes) and the workers' RSS and the zone's use before
# and after, printed and loosely bounded.  Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/backends";

use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Metadata;
use Tollgate::Gateway;
use Tollgate::Routing qw(:all);

skip_unless_built();

my $SLOW = $ENV{TEST_PROPAGATION_MINUTE} // 60;      # seconds at 50/s

my ($redis, $md) = start(env => { DOC_MAX => '1m',
                                  LOG_RETENTION => 1000000 });

# the upstream: answers at once, and a slow download for the long run
my $tmp = tempdir('tollgate-prop-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
my $DOWNLOAD = 16384 * ($SLOW + 20);
{
    open my $out, '>', "$tmp/download" or die "$tmp/download: $!";
    print $out 'x' x $DOWNLOAD;
    close $out;
    chmod 0644, "$tmp/download";
}
my $up = Tollgate::Gateway->start(http => <<"_EOC_");
    server {
        listen \$PORT;
        keepalive_requests 1000000;
        location / { return 200 "ok \$uri\\n"; }
        location = /stable/download {
            alias $tmp/download;
            limit_rate 16k;
        }
    }
_EOC_
my $upaddr = '127.0.0.1:' . $up->port;

my ($st, $base_rev, $res) = put('upstreams', 'up1',
    { targets => [ { address => $upaddr } ] }, 1);
is($st, 201, 'the upstream is created') or diag explain $res;
($st, $base_rev, $res) = put('routes', 'stable',
    { paths => [ '/stable/*' ], upstream => 'up1' }, 1);
is($st, 201, 'the unchanged route is created') or diag explain $res;

my @gws = map {
    gateway(workers => 2, log_level => 'warn', zone => 'gw_config:64m',
            interval => '1s', upstream => 'keepalive 16;',
            http => <<"_EOC_") } 1 .. 3;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen \$PORT reuseport;
        location / {
            gw_router;
            proxy_pass http://gw_dynamic;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            add_header X-Rev \$gw_config_revision always;
            add_header X-Worker \$pid always;
        }
        location = /gw/config { gw_config_status; }
    }
_EOC_

my @pids = map { [ $_->workers ] } @gws;
is(scalar(map { @$_ } @pids), 6, 'three gateways of two workers');

ok(until_applied($base_rev, 20, @gws),
   'every gateway applied the first revision');

# ---- probers: one process per gateway, eight keep-alive connections ----

sub prober {
    my ($i, $gw) = @_;
    my $out = "$tmp/probe$i";
    my $pid = fork // die "fork: $!";
    return $pid if $pid;

    open my $log, '>', $out or POSIX::_exit(1);
    my @socks;
    my ($closed, $failed, $sent) = (0, 0, 0);
    for (1 .. 8) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $gw->port, Proto => 'tcp')
            or POSIX::_exit(2);
        push @socks, { s => $s, buf => '' };
    }
    my $stop = 0;
    local $SIG{TERM} = sub { $stop = 1 };
    my $req = "GET /stable/probe HTTP/1.1\r\nHost: gw\r\n\r\n";
    syswrite $_->{s}, $req for @socks;
    my $sel = IO::Select->new(map { $_->{s} } @socks);
    my %by = map { fileno($_->{s}) => $_ } @socks;

    while (!$stop && $sel->count) {
        for my $fh ($sel->can_read(1)) {
            my $c = $by{fileno $fh};
            my $n = sysread $fh, $c->{buf}, 65536, length $c->{buf};
            if (!$n) {
                $closed++;
                $sel->remove($fh);
                next;
            }
            while ((my $e = index($c->{buf}, "\r\n\r\n")) >= 0) {
                my $head = substr($c->{buf}, 0, $e);
                my ($len) = $head =~ /\r\ncontent-length: *(\d+)/i;
                $len //= 0;
                last if length($c->{buf}) < $e + 4 + $len;
                substr($c->{buf}, 0, $e + 4 + $len, '');
                my ($code) = $head =~ m{^HTTP/1\.1 (\d+)};
                my ($rev) = $head =~ /\r\nX-Rev: *(\d*)/i;
                my ($w) = $head =~ /\r\nX-Worker: *(\d+)/i;
                $failed++ if ($code // 0) != 200;
                printf $log "%.4f %d %d %d\n", time, $w // 0, $rev || 0,
                    $code // 0;
                syswrite $fh, $req unless $stop;
            }
        }
    }
    print $log "end closed=$closed failed=$failed\n";
    close $log;
    POSIX::_exit(0);
}

# the slow download through gateway 1, read in a process of its own
my $dl = fork // die "fork: $!";
if ($dl == 0) {
    my $r = $gws[0]->request(
        "GET /stable/download HTTP/1.0\r\nHost: gw\r\n\r\n", $SLOW + 60);
    open my $out, '>', "$tmp/download.got" or POSIX::_exit(1);
    print $out $r->{status}, ' ', length($r->{body}), "\n";
    close $out;
    POSIX::_exit(0);
}

my @probers = map { prober($_, $gws[$_]) } 0 .. 2;
sleep 1;

# ---- the writer ----

my $n = 0;

# one route changed (or created) every 1/rate s for secs: [time, revision]
sub write_changes {
    my ($rate, $secs, $routes) = @_;
    my @changes;
    my $t0 = time;
    my $k = 0;
    while (time - $t0 < $secs) {
        my $due = $t0 + $k / $rate;
        sleep($due - time) if $due > time;
        my $id = 'chg' . ($k % $routes);
        $n++;
        my ($st, $version) = put('routes', $id,
            { paths => [ "/chg/$id" ], upstream => 'up1',
              tags => [ "n$n" ] });
        if ($st == 200 || $st == 201) {
            push @changes, [ time, $version ];
        } else {
            diag "admin PUT $id: $st";
        }
        $k++;
    }
    return \@changes;
}

# PUT without If-Match on an absent entity: create it first
for my $i (0 .. 49) {
    put('routes', "chg$i", { paths => [ "/chg/chg$i" ], upstream => 'up1' },
        1);
}

my $slow = write_changes(1, 15, 50);
my $fast = write_changes(50, $SLOW, 50);
sleep 3;

kill 'TERM', @probers;
waitpid $_, 0 for @probers;
waitpid $dl, 0;

# ---- what the probers saw ----

my %first;
my ($closed, $failed, $answers) = (0, 0, 0);
for my $i (0 .. 2) {
    open my $in, '<', "$tmp/probe$i" or die "probe$i: $!";
    while (<$in>) {
        if (/^end closed=(\d+) failed=(\d+)/) {
            $closed += $1;
            $failed += $2;
            next;
        }
        my ($t, $w, $rev) = split;
        $answers++;
        # the first time each worker answered at each revision
        $first{"$i/$w"}{$rev} //= $t;
    }
}

# for a change (t, rev): each worker's first answer at rev or later
my @workers = sort keys %first;
is(scalar @workers, 6, 'the probers reached all six workers')
    or diag "workers seen: @workers";

sub propagation {
    my ($changes) = @_;
    my (@lag, $missing);
    for my $w (@workers) {
        my @revs = sort { $a <=> $b } keys %{ $first{$w} };
        my @best;       # suffix minimum of first-seen times
        my $min;
        for my $j (reverse 0 .. $#revs) {
            my $t = $first{$w}{ $revs[$j] };
            $min = $t if !defined $min || $t < $min;
            $best[$j] = $min;
        }
        for my $c (@$changes) {
            my ($t, $rev) = @$c;
            my ($j) = grep { $revs[$_] >= $rev } 0 .. $#revs;
            if (!defined $j) {
                $missing++;
                next;
            }
            push @lag, $best[$j] - $t < 0 ? 0 : $best[$j] - $t;
        }
    }
    @lag = sort { $a <=> $b } @lag;
    return ($missing // 0, @lag);
}

sub pct {
    my ($p, @v) = @_;
    return @v ? $v[int($p * $#v + 0.5)] : -1;
}

for my $phase ([ '1 change/s', $slow, 2 ], [ '50 changes/s', $fast, 10 ]) {
    my ($name, $changes, $bound) = @$phase;
    my ($missing, @lag) = propagation($changes);
    diag sprintf "propagation at %s: %d changes x %d workers: p50 %.0f ms,"
        . " p99 %.0f ms, max %.0f ms", $name, scalar @$changes,
        scalar @workers, 1000 * pct(0.5, @lag), 1000 * pct(0.99, @lag),
        1000 * pct(1, @lag);
    is($missing, 0, "$name: every worker served every revision");
    cmp_ok(pct(0.99, @lag), '<', $bound,
           "$name: p99 under $bound s (loosely: the target is far lower)");
}

diag "probers: $answers answers to the unchanged route";
is($failed, 0, 'no request to the unchanged route failed');
is($closed, 0, 'no prober connection was closed');

open my $got, '<', "$tmp/download.got";
my $line = $got ? <$got> : '';
is($line, "200 $DOWNLOAD\n", 'the slow download through the gateway is whole');

is_deeply([ map { [ $_->workers ] } @gws ], \@pids,
          'no worker was replaced: no reload, no crash');

# ---- 100,000 updates: memory stays flat ----

sub config {
    my ($round) = @_;
    my @routes = ({ id => 'stable', paths => [ '/stable/*' ],
                    upstream => 'up1' });
    push @routes, map { { id => "bulk$_", paths => [ "/bulk/$_" ],
                          upstream => 'up1', tags => [ "r$round" ] } }
                  0 .. 999;
    my ($st, $cur) = api('GET', '/v1/revisions?limit=1');
    my ($st2, $res) = api('PUT', '/v1/config',
        { expected_revision => $cur->{revision},
          entities => { routes => \@routes } });
    return $st2 == 200 ? $res->{revision} : undef;
}

my $rev = config(0);
ok($rev, 'a configuration of 1,001 routes is applied');
until_applied($rev, 30, @gws);
# warm each worker's side of the snapshot
$_->request("GET /stable/x HTTP/1.0\r\nHost: x\r\n\r\n") for (@gws) x 8;
my ($rss0, $zone0) = (rss(map { $_->workers } @gws),
                      status($gws[0])->{zone_used});

my $updates = 0;
for my $round (1 .. 100) {
    $rev = config($round) or last;
    $updates += 1000;
}
is($updates, 100000, '100,000 route updates went through the admin API');
ok(until_applied($rev, 60, @gws),
   'every gateway applied the last of them');
$_->request("GET /stable/x HTTP/1.0\r\nHost: x\r\n\r\n") for (@gws) x 8;
my ($rss1, $zone1) = (rss(map { $_->workers } @gws),
                      status($gws[0])->{zone_used});

diag sprintf "after 100,000 updates: RSS of the six workers %d -> %d kB,"
    . " zone used %d -> %d bytes", $rss0, $rss1, $zone0 // -1, $zone1 // -1;
cmp_ok($rss1 - $rss0, '<', 6 * 8192, 'worker RSS is flat (under 8 MB each)');
cmp_ok(($zone1 // 0) - ($zone0 // 0), '<', 2 * 1048576,
       'the zone is flat (a replaced snapshot is freed)');

my @bad = grep { /\[(alert|crit|emerg|error)\]|reconfiguring/ }
          map { $_->error_log } @gws;
is(scalar @bad, 0, 'nothing at error or above, no reload, in the logs')
    or diag @bad[0 .. ($#bad < 9 ? $#bad : 9)];

$_->stop for @gws, $up;
Metadata::stop($md);
$redis->stop;

done_testing;
