# Crash safety (docs/processing.md, "Delivery and exactly once"): under
# load, the processing service is killed with kill -9 and started again,
# then Redis itself (AOF on, fsync always) is killed with kill -9 and
# started again from its AOF: no event is lost, the exactly-once redis
# and stream sinks hold exactly one effect per event (counted), the
# windows' results equal a reference computed here, and nothing is left
# pending.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();

my $redis = Tollgate::Redis->start(aof => 1);
my $port = $redis->port;

like(Processing::cmd($port, 'INFO', 'persistence'), qr/aof_enabled:1/,
     'AOF on');

my $dir = Processing::pipelines(
    {
        name => 'crash',
        source => { topic => 'c', partitions => 3 },
        steps => [ { type => 'map',
                     lua => 'return function (r) r.seen = true; '
                            . 'return r end' } ],
        sinks => [ { type => 'redis', command => 'incrby', key => 'total' },
                   { type => 'redis', command => 'hincrby', key => 'per',
                     field => '{/k}' },
                   { type => 'stream', stream => 'gw:crash:out' } ],
    },
    {
        name => 'crash-win',
        source => { topic => 'c', partitions => 3 },
        time => '/t',
        steps => [ { type => 'key_by', key => '/k' } ],
        window => { type => 'tumbling', size => 1000,
                    aggregate => [ { op => 'count', as => 'n' } ] },
        sinks => [ { type => 'redis', command => 'hset', key => 'w:{/key}',
                     field => '{/start}', value => '/n' } ],
    });

my @keys = map { "k$_" } 1 .. 9;
my ($n, %want, %wwant) = (0);
my $t0 = 1_700_000_000_000;

sub publish {
    my ($count) = @_;
    my @ev;
    for (1 .. $count) {
        my $k = $keys[$n % @keys];
        my $t = $t0 + $n * 10;
        push @ev, [ $k, { k => $k, n => $n, t => $t } ];
        $want{$k}++;
        $wwant{$k}{ int($t / 1000) * 1000 }++;
        $n++;
    }
    Processing::publish($port, 'c', 3, @ev);
}

my %env = (REDIS => $redis->address, PIPELINES => $dir, INSTANCE => 'c1',
           BATCH => '100', REDIS_RETRY => '100ms');

publish(20000);
my $svc = Processing::start(env => \%env);

sub total { Processing::cmd($port, 'GET', 'total') // 0 }

ok(Processing::eventually(sub { total() >= 3000 }, 30), 'under way');
isnt(Processing::kill9($svc), undef, 'kill -9 of the service');
$svc = Processing::start(env => \%env);

ok(Processing::eventually(sub { total() >= 10000 }, 30), 'going on');
$redis->kill;
my $killed_at = $redis->running ? -1 : 'down';
is($killed_at, 'down', 'kill -9 of Redis under load');
$redis->restart;
ok(Processing::eventually(sub {
       (Processing::cmd($port, 'PING') // '') eq 'PONG' }, 20),
   'Redis back from its AOF');

publish(5000);

# a final event per partition far later, to close every window
my @last = map { [ $_, { k => $_, n => -1, t => $t0 + 1e9 } ] } @keys;
$want{$_}++ for @keys;
$n += @keys;
Processing::publish($port, 'c', 3, @last);

ok(Processing::eventually(sub {
       total() == $n
       && !grep { Processing::pending($port, "gw:topic:c:$_", 'crash')
                  || Processing::pending($port, "gw:topic:c:$_",
                                         'crash-win') } 0 .. 2
   }, 60), "all $n events processed, nothing pending")
    or diag('total ' . total());

is(total(), $n, 'redis sink: one increment per event');
is_deeply(Processing::hash($port, 'per'), \%want, '... per key');
is(Processing::cmd($port, 'XLEN', 'gw:crash:out'), $n,
   'stream sink: one entry per event');

# nothing pending on the window pipeline: its results are committed
my %got;
$got{$_} = Processing::hash($port, "w:$_") for @keys;
is_deeply(\%got, \%wwant,
          'window results equal those of a run without crashes');

is(Processing::stop($svc), 0, 'stopped gracefully');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

done_testing();
