# The audit service's indexes (docs/audit.md, "Queries and indexes"):
# on a log of random events in small segments (so that most of it is in
# sealed segments with index files, and the rest in the open segment's
# index in memory), every filter and combination of filters, paged with
# cursors, gives exactly the records a brute-force reading of the whole
# log gives, in the same order.  After kill -9 in the middle of appends
# and a restart, the same holds and no event is stored twice; the start
# re-indexes only the open segment's records (none after a graceful
# stop, which wrote that segment's index too), and an index file that
# does not describe its segment any more is rebuilt.  The id table
# starts at 1,024 slots, so it grows (incrementally) several times on
# the way; the bloom filters let a query for an unknown actor skip the
# sealed segments.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use POSIX ();
use Test::More;

use Audit;

plan skip_all => Audit::binary() . ' is not built (run make backends)'
    unless -x Audit::binary();

srand(44);

my ($key) = Audit::keygen('audit.test/index');
my $dir = tempdir(DIR => Audit::tmp()) . '/data';
my %env = (REDIS => '127.0.0.1:1', SEGMENT_SIZE => '64k',
           STREAM_INGEST => 'off', FSYNC_INTERVAL => '1ms');

my @actors = ('', 'alice', 'bob', 'carol', map { "u$_" } 1 .. 200);
my @actions = qw(GET POST PUT DELETE);
my @statuses = (200, 200, 200, 201, 204, 403, 404, 500);
my $n = 0;

sub random_event {
    my $i = $n++;
    my $a = rand() < 0.3 ? $actors[int rand 4] : $actors[int rand @actors];
    return { id => sprintf('ev-%06d', $i),
             time => 1700000000000 + $i * 10 + int(rand 5000),
             actor => $a, action => $actions[int rand @actions],
             resource => '/r/' . int(rand 30),
             status => $statuses[int rand @statuses] };
}

sub post_events {
    my ($svc, $count) = @_;
    my @ok;
    while ($count > 0) {
        my $k = $count < 100 ? $count : 100;
        my @b = map { random_event() } 1 .. $k;
        my ($st) = Audit::post($svc, '/v1/audit/events', \@b);
        return @ok unless defined $st && $st == 200;
        push @ok, @b;
        $count -= $k;
    }
    return @ok;
}

sub uri_esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# every query of the round: each field, pairs, a time range, all together
sub queries {
    my ($recs) = @_;
    my @q;
    my $pick = sub { $recs->[int rand @$recs] };
    for (1 .. 4) {
        my $r = $pick->();
        push @q, { actor => $r->{actor} }, { action => $r->{action} },
                 { resource => $r->{resource} }, { status => $r->{status} };
        my $o = $pick->();
        push @q, { actor => $r->{actor}, status => $o->{status} },
                 { actor => $o->{actor}, resource => $r->{resource} },
                 { actor => $r->{actor}, status => $r->{status} },
                 { action => $r->{action}, resource => $r->{resource},
                   status => $r->{status} };
        my $t = $r->{time};
        push @q, { from => $t - 20000, to => $t + 3000 },
                 { actor => $r->{actor}, from => $t - 100000,
                   to => $t + 100000 };
    }
    push @q, { actor => 'nobody' }, { status => 999 },
             { actor => 'alice', action => 'GET', resource => '/r/1',
               status => 200, from => 1700000000000,
               to => 1700000000000 + 10 * $n / 2 };
    return @q;
}

sub brute {
    my ($recs, $q) = @_;
    return [ map { $_->{seq} } grep {
        my $r = $_;
        (!exists $q->{actor} || $r->{actor} eq $q->{actor})
        && (!exists $q->{action} || $r->{action} eq $q->{action})
        && (!exists $q->{resource} || $r->{resource} eq $q->{resource})
        && (!exists $q->{status} || $r->{status} == $q->{status})
        && (!exists $q->{from} || $r->{time} >= $q->{from})
        && (!exists $q->{to} || $r->{time} < $q->{to})
    } @$recs ];
}

# pages of $limit through the cursors
sub paged {
    my ($svc, $q, $limit) = @_;
    my $qs = join '', map { "&$_=" . uri_esc($q->{$_}) } sort keys %$q;
    my (@seq, $cursor, $pages);
    while (1) {
        my ($st, $b) = Audit::get($svc, "/v1/audit/records?limit=$limit$qs"
                                        . (defined $cursor
                                           ? "&cursor=$cursor" : ''));
        return "status $st" unless $st == 200;
        return 'page too long' if @{ $b->{records} } > $limit;
        push @seq, map { $_->{seq} } @{ $b->{records} };
        $cursor = $b->{next};
        last unless defined $cursor;
        return 'too many pages' if ++$pages > 100000;
    }
    return \@seq;
}

sub check_round {
    my ($svc, $name) = @_;
    my @recs = Audit::all_records($svc);
    is_deeply([ map { $_->{seq} } @recs ], [ 0 .. $#recs ],
              "$name: " . scalar(@recs) . ' records, indexes dense');
    my %ids;
    $ids{ $_->{id} }++ for @recs;
    is(scalar(grep { $_ > 1 } values %ids), 0, "$name: no event twice");
    my ($bad, $total) = (0, 0);
    for my $q (queries(\@recs)) {
        my $want = brute(\@recs, $q);
        my $limit = (1, 7, 100, 1000)[$total % 4];
        my $got = paged($svc, $q, $limit);
        $total++;
        next if ref $got && "@$got" eq "@$want";
        $bad++;
        diag "$name: query " . join('&', map { "$_=$q->{$_}" } sort keys %$q)
             . " (limit $limit): got "
             . (ref $got ? scalar(@$got) : $got) . ', want ' . scalar(@$want);
    }
    is($bad, 0, "$name: $total queries, paged, equal a full scan's answer");
    return scalar @recs;
}

sub open_line {
    my ($svc) = @_;
    my ($l) = grep { ($_->{message} // '') eq 'store open' }
              Audit::log_lines($svc);
    return $l->{fields} // {};
}

# ---- a log of 4,000 events in 64k segments --------------------------------

my $svc = Audit::start(dir => $dir, key => $key, env => \%env);
my @sent = post_events($svc, 4000);
is(scalar @sent, 4000, '4000 events stored');
my $total = check_round($svc, 'first run');
sub skipped {
    my (undef, $m) = Audit::get($_[0], "/metrics");
    my ($v) = $m
        =~ /^audit_index_segments_skipped_total (\d+)$/m;
    return $v // 0;
}
my $sk0 = skipped($svc);
my ($st0, $b0) = Audit::get($svc, '/v1/audit/records?actor=nobody');
is($b0->{scanned}, 0, 'an actor no record has: no record read');
my $nsealed = () = glob("$dir/idx-*[0-9]");
ok(skipped($svc) - $sk0 >= $nsealed - 1,
   'the bloom filters skipped ' . (skipped($svc) - $sk0)
   . " of $nsealed sealed segments");

# an actor and a status that both occur, never in one record: the pairs
# in the bloom filters skip (nearly) every sealed segment
my (%has500, %count);
for (@sent) {
    $count{ $_->{actor} }++;
    $has500{ $_->{actor} } = 1 if $_->{status} == 500;
}
my ($lone) = grep { $_ ne '' && $count{$_} >= 5 && !$has500{$_} }
             sort keys %count;
SKIP: {
    skip 'every frequent actor has a 500', 2 unless defined $lone;
    $sk0 = skipped($svc);
    ($st0, $b0) = Audit::get($svc, "/v1/audit/records?actor=$lone&status=500");
    is(scalar @{ $b0->{records} }, 0, "actor $lone with status 500: none");
    ok(skipped($svc) - $sk0 >= $nsealed - 1,
       "the pairs skipped " . (skipped($svc) - $sk0)
       . " of $nsealed sealed segments");
}
($st0, $b0) = Audit::get($svc, '/v1/audit/records?actor=alice&limit=5');
is($b0->{scanned}, 5, 'a page of 5 by actor: 5 records read');
my @idx = glob("$dir/idx-*");
ok(@idx >= 10, scalar(@idx) . ' segment index files written');
is(Audit::stop($svc), 0, 'stopped');
ok(-s "$dir/ids" >= 4096 + 8192 * 16, 'the id table grew from 1,024 slots '
   . 'to ' . ((-s "$dir/ids") - 4096) / 16);
ok(!-e "$dir/ids.tmp", 'no growth left half done');

# a graceful restart: only the open segment is read
$svc = Audit::start(dir => $dir, key => $key, env => \%env);
my $f = open_line($svc);
my @segs = sort glob("$dir/seg-*");
my ($last_first) = $segs[-1] =~ /seg-0*(\d+)$/;
$last_first //= 0;
is($f->{records_indexed}, 0, 'a restart after a graceful stop indexes no '
   . 'record');
is($f->{open_index_records}, $total - $last_first,
   "the open segment's index of $f->{open_index_records} records was "
   . 'read back');
is($f->{indexes_rebuilt}, 0, 'no index file rebuilt');
is($f->{ids_reinserted}, 0, 'no id put back (the id index was synced)');
check_round($svc, 'after a restart');

# ---- kill -9 during appends -----------------------------------------------

for my $round (1 .. 3) {
    $n += 100000;       # the child's ids are new ones
    my $pid = fork // die;
    if ($pid == 0) {
        post_events($svc, 1_000_000);
        POSIX::_exit(0);
    }
    select(undef, undef, undef, 0.5 + rand 1.5);
    Audit::kill9($svc);
    kill 'KILL', $pid;
    waitpid $pid, 0;

    $svc = Audit::start(dir => $dir, key => $key, env => \%env);
    $f = open_line($svc);
    @segs = sort glob("$dir/seg-*");
    ($last_first) = $segs[-1] =~ /seg-0*(\d+)$/;
    $last_first //= 0;
    # a kill while the segment sealed last had its index file written in
    # the background leaves that one to rebuild too: then the last two
    my ($prev_first) = @segs > 1 ? $segs[-2] =~ /seg-0*(\d+)$/ : (0);
    $prev_first //= 0;
    my $from = $f->{indexes_rebuilt} ? $prev_first : $last_first;
    ok($f->{records} > $total, "crash $round: $f->{records} records");
    ok($f->{records_indexed} <= $f->{records} - $from
       && $f->{indexes_rebuilt} <= 1,
       "crash $round: $f->{records_indexed} records re-indexed, "
       . "$f->{indexes_rebuilt} index files rebuilt (the tail only, or "
       . "the tail and the segment sealed last)");

    # events sent again after the crash are duplicates, never stored twice
    my @again = map { Audit::event($_->{id}) } @sent[0 .. 99];
    my ($st, $b) = Audit::post($svc, '/v1/audit/events', \@again);
    is($b->{duplicates}, 100, "crash $round: 100 resent events are "
                              . 'duplicates');
    $total = check_round($svc, "crash $round");
}
is(Audit::stop($svc), 0, 'stopped');

# ---- an index file that no longer describes its segment --------------------

my $seg = (sort glob("$dir/seg-*"))[2];
utime(time, time + 100, $seg) or die;
unlink((sort glob("$dir/idx-*"))[4]) or die;
open my $fh, '+<', (sort glob("$dir/idx-*"))[6] or die;
seek $fh, 200, 0;
print $fh "\xff" x 8;
close $fh;
$svc = Audit::start(dir => $dir, key => $key, env => \%env);
$f = open_line($svc);
is($f->{indexes_rebuilt}, 3, 'a touched segment, a missing index file and '
   . 'a damaged one: 3 indexes rebuilt');
check_round($svc, 'after rebuilding');
is(Audit::stop($svc), 0, 'stopped');

# the id index lost: put back from the records, duplicates still found
unlink "$dir/ids" or die;
$svc = Audit::start(dir => $dir, key => $key, env => \%env);
$f = open_line($svc);
is($f->{ids_reinserted}, $total, "no id index: $total ids put back");
my ($st, $b) = Audit::post($svc, '/v1/audit/events',
                           [ map { Audit::event($_->{id}) } @sent[0 .. 9] ]);
is($b->{duplicates}, 10, 'duplicates found in the rebuilt id index');
is(Audit::stop($svc), 0, 'stopped');

done_testing();
