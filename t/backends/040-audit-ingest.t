# The audit service's ingest (backends/audit, docs/audit.md): POST
# batches (all or nothing, 400 problem+json naming the bad event's index,
# a single object, the batch cap), deduplication by event id within a
# batch, across batches and across a restart, and the Redis stream: the
# consumer group created with MKSTREAM, entries stored and acknowledged
# (nothing left in XPENDING), a bad entry moved to gw:audit:dead and
# acknowledged, this consumer's own pending entries read again at start,
# a dead consumer's idle entries claimed, duplicates never stored twice.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);

use Audit;
use Kit;
use Tollgate::Redis;

plan skip_all => Audit::binary() . ' is not built (run make backends)'
    unless -x Audit::binary();

my $redis = Tollgate::Redis->start;
my ($key) = Audit::keygen('audit.test/log');
my $dir = tempdir(DIR => Audit::tmp()) . '/data';
my %env = (REDIS => $redis->address, CONSUMER => 'c1',
           FSYNC_INTERVAL => '2ms', CLAIM_IDLE => '300ms');

my $svc = Audit::start(dir => $dir, key => $key, env => \%env);
ok($svc->{port}, "listening on $svc->{port}");

# ---- POST ------------------------------------------------------------------

my ($st, $b) = Audit::post($svc, '/v1/audit/events',
                           [ map { Audit::event("e$_") } 1 .. 10 ]);
is($st, 200, 'a batch of 10 is stored');
is($b->{stored}, 10, 'stored 10');
is_deeply([ map { $_->{seq} } @{ $b->{records} } ], [ 0 .. 9 ],
          'record indexes 0 to 9, in batch order');

($st, $b) = Audit::post($svc, '/v1/audit/events', Audit::event('e11'));
is($st, 200, 'a single event object');
is($b->{records}[0]{seq}, 10, 'gets index 10');

($st, $b) = Audit::post($svc, '/v1/audit/events',
                        [ Audit::event('e3'), Audit::event('e12'),
                          Audit::event('e12') ]);
is($st, 200, 'a batch with duplicates');
is($b->{stored}, 1, 'one new record');
is($b->{duplicates}, 2, 'two duplicates');
is($b->{records}[0]{seq}, 2, 'the duplicate names the first record');
ok($b->{records}[0]{duplicate} && !$b->{records}[1]{duplicate}
   && $b->{records}[2]{duplicate}, 'flags');
is($b->{records}[2]{seq}, 11, 'a duplicate within the batch too');

my @bad = (
    [ { %{ Audit::event('x1') }, time => '17' }, qr/"time"/ ],
    [ { %{ Audit::event('x2') }, status => 'ok' }, qr/"status"/ ],
    [ { %{ Audit::event('bad id') } }, qr/"id"/ ],
    [ { %{ Audit::event('x' x 65) } }, qr/"id"/ ],
    [ do { my $e = Audit::event('x3'); delete $e->{actor}; $e },
      qr/"actor"/ ],
    [ { %{ Audit::event('x4') }, auth => 'maybe' }, qr/"auth"/ ],
    [ { %{ Audit::event('x5') }, latency_ms => 'slow' }, qr/"latency_ms"/ ],
    [ { %{ Audit::event('x6') }, seq => 1 }, qr/"seq"/ ],
    [ [ 1 ], qr/object/ ],
);

for my $case (@bad) {
    my ($ev, $re) = @$case;
    ($st, $b) = Audit::post($svc, '/v1/audit/events',
                            [ Audit::event('ok-before'), $ev ]);
    is($st, 400, "rejected: $re");
    is($b->{type}, 'urn:tollgate:problem:event-invalid', 'problem type');
    is($b->{errors}[0]{index}, 1, 'names the index of the bad event');
    like($b->{errors}[0]{message}, $re, 'and why');
}

($st, $b) = Audit::get($svc, '/v1/audit/records?limit=1000');
is(scalar @{ $b->{records} }, 12, 'nothing of a rejected batch was stored');

($st, $b) = Audit::post($svc, '/v1/audit/events', '{"id": ');
is($st, 400, 'not JSON: 400');
is($b->{type}, 'urn:tollgate:problem:body-invalid', 'body-invalid');
($st) = Audit::post($svc, '/v1/audit/events', '[]');
is($st, 400, 'empty batch: 400');
($st) = Audit::post($svc, '/v1/audit/events',
                    '[{"id":"d","id":"e","time":1}]');
is($st, 400, 'duplicate member names: 400');

# other members are kept; the record is the canonical form
($st, $b) = Audit::post($svc, '/v1/audit/events',
                        { %{ Audit::event('extra') }, zeta => { b => 1,
                          a => [ 1.5, 'x' ] }, request_id => 'r-1' });
is($st, 200, 'extra members accepted');
my $seq = $b->{records}[0]{seq};
($st, $b) = Audit::get($svc, "/v1/audit/records/$seq");
is($st, 200, 'the record by index');
like($b->{canonical}, qr/^\{"action":"GET","actor":"c1","id":"extra",/,
     'members sorted, no white space');
like($b->{canonical}, qr/"seq":$seq,.*"zeta":\{"a":\[1\.5,"x"\],"b":1\}\}$/,
     'seq added, other members kept');
like($b->{canonical}, qr/"received":\d{13},/, 'received added');

# ---- the stream ------------------------------------------------------------

ok(Kit::eventually(sub {
       ($redis->cli('XINFO', 'GROUPS', 'gw:audit') // '') =~ /audit/
   }, 10), 'the consumer group is created (MKSTREAM)');

my @sev = map { Audit::event("s$_", source => 'stream') } 1 .. 50;
my @ids = Audit::xadd_events($redis->port, 'gw:audit', @sev,
                             '{"id":"bad-one","time":"never"}', 'not json',
                             Audit::event('e1'));
is(scalar @ids, 53, '53 entries added');

ok(Kit::eventually(sub {
       my ($s, $r) = Audit::get($svc, '/v1/audit/records?limit=1000');
       scalar @{ $r->{records} } == 63
   }, 10), 'the 50 good new stream events are stored');

ok(Kit::eventually(sub {
       my $p = Audit::resp_cmd($redis->port, 'XPENDING', 'gw:audit',
                               'audit');
       $p->[0] == 0
   }, 5), 'every entry acknowledged: XPENDING is empty');

my $dead = Audit::resp_cmd($redis->port, 'XRANGE', 'gw:audit:dead', '-',
                           '+');
is(scalar @$dead, 2, 'two entries in the dead-letter stream');
my %dl = @{ $dead->[0][1] };
like($dl{error}, qr/"time"/, 'with the reason');
is($dl{entry}, $ids[50], 'and the entry id');

# pending entries of this consumer are read again at start: read some
# with the same consumer name while the service is down
is(Audit::stop($svc), 0, 'graceful stop');
@ids = Audit::xadd_events($redis->port, 'gw:audit',
                          map { Audit::event("p$_") } 1 .. 5);
my $read = Audit::resp_cmd($redis->port, 'XREADGROUP', 'GROUP', 'audit',
                           'c1', 'COUNT', 3, 'STREAMS', 'gw:audit', '>');
is(scalar @{ $read->[0][1] }, 3, 'three entries read by c1, not acked');
$read = Audit::resp_cmd($redis->port, 'XREADGROUP', 'GROUP', 'audit',
                        'ghost', 'COUNT', 2, 'STREAMS', 'gw:audit', '>');
is(scalar @{ $read->[0][1] }, 2, 'two read by a dead consumer');
# one of c1's is a redelivery of an event stored already
Audit::xadd_events($redis->port, 'gw:audit', Audit::event('s1'));

$svc = Audit::start(dir => $dir, key => $key, env => \%env);
ok(Kit::eventually(sub {
       my ($s, $r) = Audit::get($svc, '/v1/audit/records?limit=1000');
       scalar @{ $r->{records} } == 68
   }, 10), 'after a restart: own pending, claimed and new entries stored');
ok(Kit::eventually(sub {
       Audit::resp_cmd($redis->port, 'XPENDING', 'gw:audit', 'audit')->[0]
       == 0
   }, 10), 'and all acknowledged, the dead consumer\'s too');

my @all = Audit::all_records($svc);
my %count;
$count{ $_->{id} }++ for @all;
is(scalar(grep { $count{$_} > 1 } keys %count), 0, 'no id twice');
is_deeply([ map { $_->{seq} } @all ], [ 0 .. $#all ], 'indexes dense');

($st, $b) = Audit::post($svc, '/v1/audit/events',
                        [ map { Audit::event("e$_") } 1 .. 10 ]);
is($b->{duplicates}, 10, 'dedup survives a restart');

# ---- metrics ---------------------------------------------------------------

($st, $b) = Audit::get($svc, '/metrics');
like($b, qr/^audit_records 68$/m, 'audit_records');
like($b, qr/^audit_events_total\{source="http",result="duplicate"\} 10$/m,
     'events by source and result');
like($b, qr/^audit_commits_total \d+$/m, 'commits counted');
SKIP: {
    skip 'promtool is not installed', 1
        unless grep { -x "$_/promtool" } split /:/, $ENV{PATH} // '';
    my $file = Audit::tmp() . '/metrics.txt';
    open my $out, '>', $file or die;
    print $out $b;
    close $out;
    my $lint = `promtool check metrics < '$file' 2>&1`;
    is($?, 0, 'promtool check metrics passes') or diag $lint;
}

is(Audit::stop($svc), 0, 'graceful stop');
my ($out, $rc) = Audit::run('verify', '--key', "$dir/audit.pub", $dir);
is($rc, 0, 'verify passes') or diag $out;

done_testing();
