# key_by with repartitioning (docs/processing.md, "Repartitioning"):
# events partitioned by one key (an order id) are aggregated by another
# (the user) across two instances: a first stage writes every record to
# gw:proc:<pipeline>:rp:<crc32(user) mod N> with a partitioned stream
# sink, a second stage reads those partitions and counts per user and
# window.  Every user's windows come from one task, so the counts equal
# the reference computed here.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();

my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my $hour = 3_600_000;

my $dir = Processing::pipelines(
    {
        name => 'agg',
        source => { topic => 'orders', partitions => 4 },
        steps => [ { type => 'filter',
                     lua => 'return function (r) return r.user end' } ],
        sinks => [ { type => 'stream', stream => 'gw:proc:agg:rp',
                     partitions => 3, key => '/user' } ],
    },
    {
        name => 'agg-by-user',
        source => { stream => 'gw:proc:agg:rp', partitions => 3 },
        time => '/t',
        window => { type => 'tumbling', size => '1m', lateness => '1h',
                    aggregate => [ { op => 'count', as => 'n' },
                                   { op => 'distinct', field => '/order',
                                     as => 'orders' } ] },
        sinks => [ { type => 'redis', command => 'hset', key => 'by:{/key}',
                     field => '{/start}', value => '/n' } ],
    });

my %env = (REDIS => $redis->address, PIPELINES => $dir, LEASE => '1500ms');
my @svc = map { Processing::start(env => { %env, INSTANCE => "r$_" }) }
          1 .. 2;

ok(Processing::eventually(sub {
       Processing::metric($svc[0], 'proc_tasks_owned{pipeline="agg"}') == 2
       && Processing::metric($svc[1], 'proc_tasks_owned{pipeline="agg"}')
          == 2
   }, 20), 'two instances split the first stage');

srand(74);
my @users = map { "user$_" } 1 .. 12;
my $t0 = 1_700_000_000_000;
my (@events, %want, $tmax);
for my $i (1 .. 3000) {
    my $u = $users[int rand @users];
    my $t = $t0 + int rand(20 * 60_000);
    $tmax = $t if !defined $tmax || $t > $tmax;
    push @events, [ "order$i", { user => $u, order => "order$i", t => $t } ];
    $want{$u}{ int($t / 60_000) * 60_000 }++;
}

Processing::publish($port, 'orders', 4, @events);

# once all went through the first stage (the order of the partitions'
# records in the repartition streams is arbitrary), one event per user
# far later, to close every window
ok(Processing::eventually(sub {
       my $n = 0;
       $n += Processing::cmd($port, 'XLEN', "gw:proc:agg:rp:$_") for 0 .. 2;
       $n == 3000;
   }, 60), 'the first stage wrote every record to the repartition streams');

Processing::publish($port, 'orders', 4,
                    map { [ "flush$_", { user => $_, order => 'f',
                                         t => $tmax + 3 * $hour } ] }
                    @users);

ok(Processing::eventually(sub {
       my $n = 0;
       for my $u (@users) {
           $n += $_ for values %{ Processing::hash($port, "by:$u") };
       }
       $n == 3000;
   }, 60), 'every order counted once');

my %got;
$got{$_} = Processing::hash($port, "by:$_") for @users;
is_deeply(\%got, \%want, 'the counts per user and minute equal the '
          . 'reference (aggregation by key across instances)');

Processing::stop($_) for @svc;
is(scalar(map { Processing::errors($_) } @svc), 0, 'no error in the logs');

done_testing();
