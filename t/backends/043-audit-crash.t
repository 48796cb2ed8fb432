# Crash safety of the audit service: rounds of load (HTTP batches from
# two clients, with redeliveries, and a backlog in the Redis stream)
# ended by kill -9 at a random moment.  After each crash, the events the
# service acknowledged (a 2xx to a POST, an XACK of a stream entry) are
# noted; after the restart every one of them is in the log exactly once,
# no event is in it twice, and in the end the whole stream is stored and
# `verify` passes.  Then a torn tail (a frame cut short, as a crash in
# the middle of a write leaves it) is cut off at start and reported.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP qw(encode_json);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

use Audit;
use Kit;
use Tollgate::Redis;

plan skip_all => Audit::binary() . ' is not built (run make backends)'
    unless -x Audit::binary();

my $ROUNDS = $ENV{TEST_AUDIT_CRASH_ROUNDS} || 5;
my $BACKLOG = 8000;     # stream entries added each round
my $redis = Tollgate::Redis->start;
my ($key) = Audit::keygen('audit.test/crash');
my $base = tempdir(DIR => Audit::tmp());
my $dir = "$base/data";
my %env = (REDIS => $redis->address, CONSUMER => 'c1', FSYNC_BATCH => 64,
           FSYNC_INTERVAL => '3ms', STREAM_COUNT => 100,
           SEGMENT_SIZE => '64k', CHECKPOINT_INTERVAL => '200ms',
           CLAIM_IDLE => '200ms');

my (%acked, %entry_event, @entries);

sub id_le {
    my ($a, $b) = @_;
    my ($am, $as) = split /-/, $a;
    my ($bm, $bs) = split /-/, $b;
    return $am < $bm || ($am == $bm && $as <= $bs);
}

# stream entries acknowledged so far: delivered and not pending
sub stream_acked {
    my $groups = Audit::resp_cmd($redis->port, 'XINFO', 'GROUPS',
                                 'gw:audit');
    my %g = @{ $groups->[0] };
    my $pend = Audit::resp_cmd($redis->port, 'XPENDING', 'gw:audit', 'audit',
                               '-', '+', 1000000);
    my %pending = map { $_->[0] => 1 } @$pend;
    return grep { !$pending{$_} && id_le($_, $g{'last-delivered-id'}) }
           @entries;
}

sub check_log {
    my ($svc, $name) = @_;
    my @recs = Audit::all_records($svc);
    my %count;
    $count{ $_->{id} }++ for @recs;
    my @lost = grep { !$count{$_} } sort keys %acked;
    my @twice = grep { $count{$_} > 1 } keys %count;
    is(scalar @lost, 0, "$name: no acknowledged event lost ("
                        . scalar(keys %acked) . ' acknowledged)')
        or diag "lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]";
    is(scalar @twice, 0, "$name: no event twice") or diag "twice: @twice";
    is_deeply([ map { $_->{seq} } @recs ], [ 0 .. $#recs ],
              "$name: record indexes dense");
    return \%count;
}

# an HTTP client: batches of 20 (one event of the batch before again),
# the ids of each 2xx batch appended to $file; ends at the first failure
sub client {
    my ($round, $c, $file) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $http = HTTP::Tiny->new(timeout => 5, keep_alive => 1);
    my $prev;
    for my $k (1 .. 400) {
        my @evs = map { Audit::event("h$round-$c-$k-$_") } 1 .. 20;
        push @evs, $prev if $prev;
        $prev = $evs[5];
        my $r = $http->post($_[3], { content => encode_json(\@evs) });
        last unless $r->{status} == 200;
        open my $out, '>>', $file or last;
        print $out map { "$_->{id}\n" } @evs;
        close $out;
    }
    POSIX::_exit(0);
}

my $svc = Audit::start(dir => $dir, key => $key, env => \%env);

for my $round (1 .. $ROUNDS) {
    my @evs = map { Audit::event("s$round-$_") } 1 .. $BACKLOG;
    my @ids = Audit::xadd_events($redis->port, 'gw:audit', @evs);
    @entry_event{@ids} = map { $_->{id} } @evs;
    push @entries, @ids;

    my $url = Audit::url($svc, '/v1/audit/events');
    my @files = map { "$base/acked-$round-$_" } 1 .. 2;
    my @pids = map { client($round, $_, $files[$_ - 1], $url) } 1 .. 2;

    sleep 0.05 + rand(0.5);
    Audit::kill9($svc);
    waitpid($_, 0) for @pids;

    for my $f (@files) {
        open my $in, '<', $f or next;
        chomp(my @l = <$in>);
        $acked{$_} = 1 for @l;
    }
    my @sa = stream_acked();
    $acked{ $entry_event{$_} } = 1 for @sa;
    note("round $round: " . scalar(@sa) . ' of ' . scalar(@entries)
         . ' stream entries acknowledged');

    $svc = Audit::start(dir => $dir, key => $key, env => \%env);
    check_log($svc, "after crash $round");
}

# the stream drains, then everything is there once
ok(Kit::eventually(sub {
       my $p = Audit::resp_cmd($redis->port, 'XPENDING', 'gw:audit',
                               'audit');
       my %g = @{ Audit::resp_cmd($redis->port, 'XINFO', 'GROUPS',
                                  'gw:audit')->[0] };
       $p->[0] == 0 && $g{'last-delivered-id'} eq $entries[-1]
   }, 30), 'the stream is drained and acknowledged');
$acked{ $entry_event{$_} } = 1 for @entries;
my $count = check_log($svc, 'in the end');
is(scalar(grep { /^s/ } keys %$count), $BACKLOG * $ROUNDS,
   'every stream event stored');

is(Audit::stop($svc), 0, 'graceful stop');
my ($out, $rc) = Audit::run('verify', $dir);
is($rc, 0, 'verify passes after the crashes') or diag $out;

# ---- a torn tail -------------------------------------------------------

my @segs = sort glob("$dir/seg-*");
my $size = -s $segs[-1];
open my $seg, '>>:raw', $segs[-1] or die;
print $seg pack('NN', 400, 12345), 'x' x 150;
close $seg;
open my $cp, '>>:raw', "$dir/checkpoints" or die;
print $cp "\0\0";
close $cp;

($out, $rc) = Audit::run('verify', $dir);
is($rc, 1, 'verify reports the torn tail');
like($out, qr/^record \d+: truncated/m, 'at the record after the last');

$svc = Audit::start(dir => $dir, key => $key, env => \%env);
my ($rep) = grep { ($_->{message} // '') eq 'torn tail repaired' }
                 Audit::log_lines($svc);
ok($rep, 'the start reports a torn tail repaired');
is($rep->{fields}{bytes_dropped}, 158, '158 bytes dropped');
is(-s $segs[-1], $size, 'the segment is back to its last whole record');
my ($st) = Audit::post($svc, '/v1/audit/events', Audit::event('after-tear'));
is($st, 200, 'and takes events again');
check_log($svc, 'after the repair');
is(Audit::stop($svc), 0, 'graceful stop');
($out, $rc) = Audit::run('verify', $dir);
is($rc, 0, 'verify passes after the repair') or diag $out;

done_testing();
