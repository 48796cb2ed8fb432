# Conflicting writers (docs/admin-api.md, "Entities"): 8 clients PUT the
# same entity with the same If-Match at once, round after round.  The
# commit script compares the version and writes in one step, so each
# round exactly one PUT wins (200) and the other 7 get 412; nothing is
# lost or doubled: the entity has one change per round, the change log
# one entry per success, and the revision counts them exactly.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Handle;
use JSON::PP ();
use Test::More;

use Metadata;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();

my $N = 8;
my $ROUNDS = 30;
my $URL = '/v1/upstreams/hot';

my $redis = Tollgate::Redis->start;
my $svc = Metadata::start(redis => $redis->address);

my ($st, $json) = Metadata::call($svc, 'PUT', $URL,
    { targets => [{ address => '10.0.0.1:80' }], tags => ['round-0'] },
    'If-None-Match' => '*');
is($st, 201, 'the entity');
my $version = $json->{version};

# the workers: each reads "round version" lines, PUTs, answers
# "round worker status version" on the shared pipe (short lines: atomic)
pipe my $res_r, my $res_w or die "pipe: $!";
$res_w->autoflush(1);
my (@to, @pids);
for my $w (1 .. $N) {
    pipe my $r, my $wr or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $wr;
        close $res_r;
        while (my $line = <$r>) {
            my ($round, $v) = split ' ', $line;
            my ($s, $j) = eval { Metadata::call($svc, 'PUT', $URL,
                { targets => [{ address => '10.0.0.1:80' }],
                  tags => ["round-$round", "worker-$w"] },
                'If-Match' => qq("$v")) };
            my $nv = ref $j eq 'HASH' ? ($j->{version} // 0) : 0;
            print {$res_w} join(' ', $round, $w, $s // 0, $nv), "\n";
        }
        POSIX::_exit(0);
    }
    close $r;
    $wr->autoflush(1);
    push @to, $wr;
    push @pids, $pid;
}
close $res_w;

my ($rounds_ok, $wins, $losses, $other) = (0, 0, 0, 0);
for my $round (1 .. $ROUNDS) {
    print {$_} "$round $version\n" for @to;
    my (@won, @lost);
    for (1 .. $N) {
        my $line = <$res_r> // last;
        my ($rd, $w, $s, $nv) = split ' ', $line;
        if ($s == 200) { push @won, [$w, $nv] }
        elsif ($s == 412) { push @lost, $w }
        else { $other++; diag "round $round worker $w: $s" }
    }
    $wins += @won;
    $losses += @lost;
    if (@won == 1 && @lost == $N - 1) {
        $rounds_ok++;
        $version = $won[0][1];
    } else {
        diag "round $round: " . scalar(@won) . ' won, ' . scalar(@lost)
             . ' lost';
        last unless @won;
        $version = $won[-1][1];
    }
}
close $_ for @to;
waitpid $_, 0 for @pids;

is($rounds_ok, $ROUNDS, "each of $ROUNDS rounds: exactly one 200, "
   . ($N - 1) . ' times 412');
is($wins, $ROUNDS, 'successes');
is($losses, $ROUNDS * ($N - 1), 'conflicts');
is($other, 0, 'no other status');

($st, $json) = Metadata::call($svc, 'GET', $URL);
is($json->{version}, $version, 'the last winner\'s version is current');
is($json->{tags}[0], "round-$ROUNDS", 'the last round\'s data');

my @log = grep { $_->{id} eq 'hot' } Metadata::md_log($redis);
is(scalar @log, $ROUNDS + 1, 'the log: the create and one entry per win');
is(scalar(grep { $_->{vb} > 0 } @log), $ROUNDS, 'updates logged');
my @chain = map { [$_->{vb}, $_->{va}] } @log;
my $linked = grep { $chain[$_][0] == $chain[$_ - 1][1] } 1 .. $#chain;
is($linked, $ROUNDS, 'each update starts from the version before it');
is($redis->cli('GET', 'gw:md:rev'), $ROUNDS + 1, 'gw:md:rev');
is(scalar(grep { ($_->{resource} // '') eq $URL }
          Metadata::audit_events($redis)),
   $ROUNDS + 1, 'one audit event per change');

my @err = grep { ($_->{level} // '') eq 'error' } Metadata::log_lines($svc);
is(scalar @err, 0, 'nothing logged at error');

Metadata::stop($svc);
done_testing();
