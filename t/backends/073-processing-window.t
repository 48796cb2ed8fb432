# The window step (docs/processing.md, "Windows"): a tumbling window on
# event time per key (key_by) with count, sum and a Lua reducer, fed
# shuffled, out-of-order and late events; the results in an
# exactly-once redis sink equal a reference computed here independently
# (a window's result is out once the watermark, the largest time seen on
# the partition minus the lateness, passes its end; a record whose
# window has closed is late and goes to the late stream), although the
# service is killed with kill -9 in the middle and started again: the
# window state is committed with each batch and loaded at the start.
# The late stream is at least once (counted by source id).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use List::Util qw(max);
use Test::More;

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();

my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my ($size, $late_ms, $parts) = (1000, 500, 2);

my $dir = Processing::pipelines({
    name => 'win',
    source => { topic => 'w', partitions => $parts },
    time => '/t',
    steps => [ { type => 'key_by', key => '/user' } ],
    window => { type => 'tumbling', size => $size, lateness => $late_ms,
                aggregate => [ { op => 'count', as => 'n' },
                               { op => 'sum', field => '/v', as => 'total' },
                               { op => 'reduce', as => 'maxv' } ],
                reduce => 'return function (acc, rec) '
                          . 'if acc == nil or rec.v > acc then '
                          . 'return rec.v end return acc end' },
    sinks => [ { type => 'redis', command => 'hset', key => 'win:{/key}',
                 field => '{/start}' } ],
});

# the events: 6 users, times stepping on with jitter back of up to 900 ms
srand(18);
my @users = map { "u$_" } 1 .. 6;
my (@events, $tm);
$tm = 1_700_000_000_000;
for my $i (0 .. 3999) {
    $tm += 7;
    my $u = $users[int rand @users];
    my $t = $tm - int rand 900;
    push @events, [ $u, { user => $u, t => $t, v => int rand 1000 } ];
}

# the reference, per partition in publish order
my (%want, %maxt, $lates);
for my $ev (@events) {
    my ($u, $d) = @$ev;
    my $p = Processing::partition($u, $parts);
    my $end = int($d->{t} / $size) * $size + $size;
    if (defined $maxt{$p} && $end <= $maxt{$p} - $late_ms) {
        $lates++;
        next;
    }
    $maxt{$p} = max($maxt{$p} // $d->{t}, $d->{t});
    my $w = $want{$u}{ $end - $size } //= { n => 0, total => 0, maxv => -1 };
    $w->{n}++;
    $w->{total} += $d->{v};
    $w->{maxv} = $d->{v} if $d->{v} > $w->{maxv};
}
for my $u (keys %want) {
    my $wm = $maxt{ Processing::partition($u, $parts) } - $late_ms;
    for my $start (keys %{ $want{$u} }) {
        delete $want{$u}{$start} if $start + $size > $wm;
    }
}
ok($lates > 0, "the input has late events ($lates)");

my %env = (REDIS => $redis->address, PIPELINES => $dir, INSTANCE => 'w1',
           BATCH => '50');
my @ids = Processing::publish($port, 'w', $parts, @events);
my %last;
for my $i (0 .. $#events) {
    $last{ Processing::partition($events[$i][0], $parts) } = $ids[$i];
}

my $svc = Processing::start(env => \%env);
ok(Processing::eventually(sub {
       Processing::metric($svc, 'proc_events_total{pipeline="win",'
                                . 'outcome="processed"}') >= 1000 }, 30),
   'under way');
isnt(Processing::kill9($svc), undef, 'kill -9 in the middle');

$svc = Processing::start(env => \%env);
ok(Processing::eventually(sub {
       my $pos = Processing::hash($port, 'gw:proc:win:pos');
       !grep { ($pos->{"0:$_"} // '') ne $last{$_} } keys %last
   }, 60), 'every entry committed after the restart');

my %got;
for my $u (@users) {
    my $h = Processing::hash($port, "win:$u");
    for my $start (keys %$h) {
        my $r = JSON::PP::decode_json($h->{$start});
        $got{$u}{$start} = { n => $r->{n}, total => $r->{total},
                             maxv => $r->{maxv} };
    }
}

is_deeply(\%got, \%want, 'the window results equal the reference');
# at least once: a batch run again after the kill may add its late
# records again, so they are counted by source (stream and id)
my $late = Processing::cmd($port, 'XRANGE', 'gw:proc:win:late', '-', '+');
my %late_ids = map { my %f = @{ $_->[1] }; ("$f{source} $f{source_id}" => 1) }
               @$late;
is(scalar keys %late_ids, $lates, 'every late event in the late stream');

my $state = Processing::cmd($port, 'GET', 'gw:proc:win:state:0');
ok(defined $state && eval { JSON::PP::decode_json($state) },
   'the window state checkpoint is JSON');

is(Processing::stop($svc), 0, 'stopped gracefully');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

done_testing();
