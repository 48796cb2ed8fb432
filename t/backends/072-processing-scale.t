# The processing service at scale (docs/processing.md, "Tasks and
# leases"): instances share a pipeline's partitions by leases (two, then
# three split six partitions evenly); an instance killed with kill -9
# loses its partitions to the others after the lease, which claim its
# pending entries; every event is processed and the exactly-once redis
# and stream sinks hold exactly one effect per event (counted), in key
# order.  Then a 50,000-entry backlog in one partition drains with flat
# memory (one batch in flight per task).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;
use Time::HiRes ();

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();

my $redis = Tollgate::Redis->start;
my $port = $redis->port;

my $dir = Processing::pipelines({
    name => 'scale',
    source => { topic => 's', partitions => 6 },
    steps => [ { type => 'map',
                 lua => 'return function (rec, ctx) rec.k = ctx.key; '
                        . 'return rec end' } ],
    sinks => [ { type => 'redis', command => 'incrby', key => 'total' },
               { type => 'redis', command => 'hincrby', key => 'per',
                 field => '{/k}' },
               { type => 'stream', stream => 'gw:ordered' } ],
});

my %env = (REDIS => $redis->address, PIPELINES => $dir, LEASE => '1500ms',
           BATCH => '200');

sub owned {
    my ($svc) = @_;
    return Processing::metric($svc, 'proc_tasks_owned{pipeline="scale"}');
}

my @keys = map { "k$_" } 1 .. 30;
my ($n, %want) = (0);

sub publish {
    my ($count) = @_;
    my @ev;
    for (1 .. $count) {
        my $k = $keys[$n % @keys];
        push @ev, [ $k, { n => $n } ];
        $want{$k}++;
        $n++;
    }
    Processing::publish($port, 's', 6, @ev);
}

my @svc = map { Processing::start(env => { %env, INSTANCE => "i$_" }) }
          1 .. 2;

ok(Processing::eventually(sub { owned($svc[0]) == 3 && owned($svc[1]) == 3 },
                          20), 'two instances: 3 partitions each');

publish(3000);
ok(Processing::eventually(sub {
       (Processing::cmd($port, 'GET', 'total') // 0) == 3000 }, 30),
   '3000 events processed');

push @svc, Processing::start(env => { %env, INSTANCE => 'i3' });
ok(Processing::eventually(sub {
       owned($svc[0]) == 2 && owned($svc[1]) == 2 && owned($svc[2]) == 2
   }, 20), 'a third instance: 2 partitions each');

is(scalar(Processing::cmd($port, 'ZCARD', 'gw:proc:instances:scale')), 3,
   'three live instances in the heartbeat set');

publish(20000);
ok(Processing::eventually(sub {
       (Processing::cmd($port, 'GET', 'total') // 0) >= 6000 }, 30),
   'processing under way');
isnt(Processing::kill9($svc[1]), undef, 'kill -9 of the second instance');
my $left = 0;
for my $p (0 .. 5) {
    my $r = Processing::cmd($port, 'XPENDING', "gw:topic:s:$p", 'scale');
    $left += $_->[1] for grep { $_->[0] eq 'i2' } @{ $r->[3] || [] };
}
diag("the killed instance left $left entries pending");
publish(3000);

ok(Processing::eventually(sub {
       owned($svc[0]) == 3 && owned($svc[2]) == 3 }, 20),
   'after the lease, the survivors hold 3 partitions each');

ok(Processing::eventually(sub {
       (Processing::cmd($port, 'GET', 'total') // 0) >= $n
       && !grep { Processing::pending($port, "gw:topic:s:$_", 'scale') }
               0 .. 5
   }, 60), 'every event processed, nothing pending');

is(Processing::cmd($port, 'GET', 'total'), $n,
   "redis sink: exactly $n increments, none twice");
is_deeply(Processing::hash($port, 'per'), \%want,
          'redis sink: the count per key');
is(Processing::cmd($port, 'XLEN', 'gw:ordered'), $n,
   "stream sink: exactly $n entries, none twice");

# per-key order: each key's n increase along the output stream
my ($last, $order_ok, %seen) = ('-', 1);
while (1) {
    my $r = Processing::cmd($port, 'XRANGE', 'gw:ordered',
                            $last eq '-' ? '-' : "($last", '+',
                            'COUNT', 5000);
    last unless @$r;
    for my $e (@$r) {
        my %f = @{ $e->[1] };
        my $rec = JSON::PP::decode_json($f{data});
        $order_ok = 0 if exists $seen{ $rec->{k} }
                         && $seen{ $rec->{k} } >= $rec->{n};
        $seen{ $rec->{k} } = $rec->{n};
        $last = $e->[0];
    }
}
ok($order_ok, 'per-key order held across the handover');

Processing::stop($_) for $svc[0], $svc[2];
is(scalar(map { Processing::errors($_) } @svc), 0, 'no error in the logs');

# ---- a backlog drains with flat memory -------------------------------------

my $bdir = Processing::pipelines({
    name => 'backlog',
    source => { topic => 'b', partitions => 1 },
    steps => [ { type => 'map',
                 lua => 'return function (rec) rec.pad = nil; '
                        . 'return rec end' } ],
    sinks => [ { type => 'redis', command => 'incrby', key => 'drained' } ],
});

my $pad = 'x' x 200;
for my $chunk (1 .. 50) {
    Processing::publish($port, 'b', 1,
                        map { [ '', { n => $_, pad => $pad } ] } 1 .. 1000);
}

my $b = Processing::start(env => { %env, PIPELINES => $bdir,
                                   INSTANCE => 'b1', BATCH => '512' });
my $began = Time::HiRes::time();
my $rss0 = Processing::rss_kb($b);
my $peak = $rss0;
ok(Processing::eventually(sub {
       my $r = Processing::rss_kb($b);
       $peak = $r if $r > $peak;
       (Processing::cmd($port, 'GET', 'drained') // 0) == 50000
   }, 120), 'a 50,000-entry backlog drained');
my $took = Time::HiRes::time() - $began;
my $rss1 = Processing::rss_kb($b);
diag(sprintf 'drained in %.1f s (%.0f entries/s, map + redis sink, '
     . 'shared machine: not a benchmark)', $took, 50000 / $took);
diag("RSS: ${rss0} KiB at start, ${peak} KiB at most, ${rss1} KiB after "
     . '50,000 entries');
cmp_ok($peak - $rss0, '<', 32 * 1024,
       'memory stays flat (less than 32 MiB above the start)');
is(Processing::pending($port, 'gw:topic:b:0', 'backlog'), 0,
   'nothing pending');

is(Processing::stop($b), 0, 'stopped gracefully');
is(scalar(Processing::errors($b)), 0, 'no error in the log');

done_testing();
