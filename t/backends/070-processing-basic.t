# The processing service (backends/processing, docs/processing.md):
# pipeline documents checked against their schema at start and by -t
# ("<file>: <pointer>: <why>"); a topic's partitions read through the
# pipeline's consumer group; filter, map and flat_map Lua steps; enrich
# from Redis (HGETALL and GET); key_by and a window on RFC 3339 event
# times; the redis sink (hincrby, hset, set, sadd, xadd) and the
# stream sink (a topic's partitions by key), both exactly once: a
# redelivered batch (the group rewound) writes nothing again; fan-out to
# two pipelines; a restart goes on from the stored position; nothing is
# left pending; the metrics.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;
use Time::Local ();

use Processing;
use Tollgate::Redis;

plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary();

# ---- documents refused -----------------------------------------------------

my %sink = (type => 'redis', command => 'incrby', key => 'n');

my @bad = (
    [ { name => 'x', source => { topic => 't' } },
      qr{^00\.json: : .*sinks}m, 'a missing member' ],
    [ { name => 'x', source => { topic => 't' },
        sinks => [ { %sink, command => 'nope' } ] },
      qr{^00\.json: /sinks/0/command: }m, 'a bad sink command' ],
    [ { name => 'x', source => { topic => 't' }, sinks => [ \%sink ],
        steps => [ { type => 'map' } ] },
      qr{^00\.json: /steps/0: .*lua}m, 'a map without its Lua' ],
    [ { name => 'x', source => { topic => 't', partitions => 0 },
        sinks => [ \%sink ] },
      qr{^00\.json: /source/partitions: }m, 'no partitions' ],
    [ { name => 'x', source => { topic => 't' }, sinks => [ \%sink ],
        steps => [ { type => 'filter', lua => 'return function (' } ] },
      qr{^00\.json: /steps/0/lua: }m, 'a Lua syntax error' ],
    [ { name => 'x', source => { topic => 't' }, sinks => [ \%sink ],
        steps => [ { type => 'map', lua => 'return 42' } ] },
      qr{^00\.json: /steps/0/lua: }m, 'a chunk that returns no function' ],
    [ '{"name": "x", ', qr{^00\.json: : not JSON}m, 'not JSON' ],
);

for my $case (@bad) {
    my ($doc, $re, $what) = @$case;
    my $dir = Processing::pipelines($doc);
    my ($out, $rc) = Processing::run(env => { PIPELINES => $dir },
                                     args => [ '-t' ]);
    is($rc, 2, "-t refuses $what");
    like($out, $re, '... naming the member');
}

{
    my $dir = Processing::pipelines({ name => 'x', source => { topic => 't' },
                                       sinks => [ \%sink ] },
                                     { name => 'x', source => { topic => 'u' },
                                       sinks => [ \%sink ] });
    my ($out, $rc) = Processing::run(env => { PIPELINES => $dir },
                                     args => [ '-t' ]);
    is($rc, 2, 'two pipelines of one name are refused');
    like($out, qr{01\.json: /name: }, '... naming the second');
}

# ---- running ---------------------------------------------------------------

my $redis = Tollgate::Redis->start;
my $port = $redis->port;

my $count = {
    name => 'count',
    source => { topic => 'ev', partitions => 3 },
    steps => [
        { type => 'filter',
          lua => 'return function (rec) return rec.n % 10 ~= 0 end' },
        { type => 'map',
          lua => 'return function (rec, ctx) rec.c = ctx.consumer; '
                 . 'rec.id = ctx.id; return rec end' },
        { type => 'flat_map',
          lua => 'return function (rec, ctx) ctx.emit(rec); '
                 . 'if rec.n % 7 == 0 then '
                 . 'return {{c = rec.c, id = rec.id .. "b", n = 0}} end end' },
        { type => 'enrich', key => 'user:{/c}', as => 'user',
          lookup => 'hgetall' },
    ],
    sinks => [
        { type => 'redis', command => 'hincrby', key => 'count:{/c}',
          field => 'events' },
        { type => 'redis', command => 'hset', key => 'plan:{/c}',
          field => '{/id}', value => '/user/plan' },
        { type => 'stream', topic => 'out', partitions => 2, key => '/c' },
    ],
};

my $copy = {
    name => 'copy',
    source => { topic => 'ev', partitions => 3 },
    sinks => [ { type => 'redis', command => 'sadd', key => 'seen',
                 value => '/n' },
               { type => 'redis', command => 'xadd', key => 'copied' } ],
};

# enrich by GET (a JSON value decoded, a string kept), and event times
# as RFC 3339 strings in a window
my $gets = {
    name => 'gets',
    source => { topic => 'ev', partitions => 3 },
    time => '/when',
    steps => [
        { type => 'map',
          lua => 'return function (rec, ctx) rec.c = ctx.consumer; '
                 . 'rec.when = string.format('
                 . '"2026-12-06T%02d:00:%02d.500+01:00", rec.hour or 10, '
                 . 'rec.n % 60); '
                 . 'return rec end' },
        { type => 'enrich', key => 'cfg:{/c}', as => 'cfg' },
        { type => 'key_by', key => '/cfg/level' },
    ],
    window => { type => 'tumbling', size => '1h',
                aggregate => [ { op => 'count', as => 'n' } ] },
    sinks => [ { type => 'redis', command => 'set', key => 'lvl:{/key}:{/start}',
                 value => '/n' } ],
};

my $dir = Processing::pipelines($count, $copy, $gets);
my ($out, $rc) = Processing::run(env => { PIPELINES => $dir },
                                 args => [ '-t' ]);
is($rc, 0, '-t accepts the pipelines') or diag $out;

Processing::cmd($port, 'HSET', 'user:alice', 'plan', 'gold');
Processing::cmd($port, 'HSET', 'user:bob', 'plan', 'free');
Processing::cmd($port, 'SET', 'cfg:alice', '{"level": "high"}');
Processing::cmd($port, 'SET', 'cfg:bob', '{"level": "low"}');

my @users = qw(alice bob carol);
my @events = map { [ $users[$_ % 3], { n => $_ } ] } 1 .. 300;
Processing::publish($port, 'ev', 3, @events);

my %env = (REDIS => $redis->address, PIPELINES => $dir, INSTANCE => 'i1');
my $svc = Processing::start(env => \%env);

# expected, computed here: n % 10 != 0 kept; n % 7 == 0 gives 2 records
my (%want, $records);
for my $i (1 .. 300) {
    next if $i % 10 == 0;
    my $k = $i % 7 == 0 ? 2 : 1;
    $want{ $users[$i % 3] } += $k;
    $records += $k;
}

ok(Processing::eventually(sub {
       Processing::metric($svc, 'proc_events_total{pipeline="copy",'
                                . 'outcome="processed"}') == 300
       && Processing::metric($svc, 'proc_events_total{pipeline="count",'
                                   . 'outcome="processed"}') == 270
   }, 20), 'every event processed by both pipelines (fan-out)');

my ($stat) = Processing::get($svc, '/readyz');
is($stat, 200, '/readyz once the leases are taken');

for my $u (@users) {
    is(Processing::hash($port, "count:$u")->{events}, $want{$u},
       "hincrby: ${u}'s count");
}

is(Processing::metric($svc, 'proc_events_total{pipeline="count",'
                            . 'outcome="dropped"}'), 30,
   'the filter dropped 30');
is(scalar keys %{ Processing::hash($port, 'plan:alice') }, $want{alice},
   'hset: one field per record');
my ($one) = grep { /b$/ } keys %{ Processing::hash($port, 'plan:alice') };
ok(defined $one, 'flat_map: the extra records are there');
is((values %{ Processing::hash($port, 'plan:alice') })[0], 'gold',
   'enrich: the HGETALL merged under "user"');

is(Processing::cmd($port, 'SCARD', 'seen'), 300, 'sadd: every n');

# gets: all 300 events are in 2026-12-06T09:00Z's hour; nothing closes it
# until the restart below publishes later ones
is(Processing::metric($svc, 'proc_events_total{pipeline="gets",'
                            . 'outcome="windowed"}'), 300,
   'RFC 3339 event times taken by the window');
is(Processing::cmd($port, 'XLEN', 'copied'), 300, 'xadd: every event');

my $out_len = Processing::cmd($port, 'XLEN', 'gw:topic:out:0')
              + Processing::cmd($port, 'XLEN', 'gw:topic:out:1');
is($out_len, $records, 'stream sink: every record once');

my $e = Processing::cmd($port, 'XRANGE', 'gw:topic:out:'
                        . Processing::partition('alice', 2), '-', '+');
my ($alice) = grep { my %f = @{ $_->[1] }; $f{key} eq 'alice' } @$e;
ok($alice, 'stream sink: alice on the partition of her key');
my %f = @{ $alice->[1] };
like($f{data}, qr/"c":"alice"/, 'stream sink: the record as data');

for my $p (0 .. 2) {
    is(Processing::pending($port, "gw:topic:ev:$p", 'count'), 0,
       "nothing pending on partition $p (count)");
    is(Processing::pending($port, "gw:topic:ev:$p", 'copy'), 0,
       "nothing pending on partition $p (copy)");
}

my $pos = Processing::hash($port, 'gw:proc:count:pos');
my %parts = map { Processing::partition($_, 3) => 1 } @users;
is(scalar keys %$pos, 3 * keys %parts,
   'a position per sink and partition read');

# ---- a redelivery writes nothing twice ------------------------------------

for my $p (0 .. 2) {
    Processing::cmd($port, 'XGROUP', 'SETID', "gw:topic:ev:$p", 'count',
                    '0');
}

ok(Processing::eventually(sub {
       Processing::metric($svc, 'proc_events_total{pipeline="count",'
                                . 'outcome="skipped"}') == 300
   }), 'the group rewound: 300 entries read again, all skipped');

for my $u (@users) {
    is(Processing::hash($port, "count:$u")->{events}, $want{$u},
       "${u}'s count unchanged");
}

$out_len = Processing::cmd($port, 'XLEN', 'gw:topic:out:0')
           + Processing::cmd($port, 'XLEN', 'gw:topic:out:1');
is($out_len, $records, 'the stream sink added nothing');

# ---- the commit script alone skips an old position -----------------------

# a sink's stored position moved ahead (as if a batch had been committed
# by another instance): a batch at or before it writes nothing
my $p0 = "gw:topic:ev:0";
my $last = Processing::cmd($port, 'XADD', $p0, '*', data => '{"n":1001}',
                           key => '', consumer => 'alice');
Processing::cmd($port, 'HSET', 'gw:proc:count:pos', '0:0', '99999999999999-0');
ok(Processing::eventually(sub {
       Processing::pending($port, $p0, 'count') == 0
       && Processing::metric($svc, 'proc_events_total{pipeline="count",'
                                   . 'outcome="processed"}') == 271
   }), 'the new entry processed');
is(Processing::hash($port, 'count:alice')->{events}, $want{alice},
   'but the sink behind its position wrote nothing');
ok(Processing::hash($port, 'plan:alice')->{"$last"} // 0,
   'while a sink before it took the record');
Processing::cmd($port, 'HSET', 'gw:proc:count:pos', '0:0', $last);

# ---- a restart goes on from the position ---------------------------------

is(Processing::stop($svc), 0, 'stopped gracefully');

@events = map { [ $users[$_ % 3], { n => $_ } ] } 301 .. 330;
Processing::publish($port, 'ev', 3, @events);
for my $i (301 .. 330) {
    next if $i % 10 == 0;
    $want{ $users[$i % 3] } += $i % 7 == 0 ? 2 : 1;
}

$svc = Processing::start(env => \%env);
ok(Processing::eventually(sub {
       Processing::metric($svc, 'proc_events_total{pipeline="copy",'
                                . 'outcome="processed"}') == 30
   }, 20), 'after a restart: the new events only');

ok(Processing::eventually(sub {
       Processing::hash($port, 'count:carol')->{events} == $want{carol}
   }), 'counts go on');
for my $u (@users) {
    is(Processing::hash($port, "count:$u")->{events}, $want{$u},
       "${u}'s count exact");
}

my $m;
Processing::eventually(sub {
    (undef, $m) = Processing::get($svc, '/metrics');
    $m =~ /^proc_lag\{pipeline="count",partition="0"\} /m;
});
like($m, qr/^proc_tasks_owned\{pipeline="count"\} 3$/m, 'tasks owned');

is(Processing::cmd($port, 'KEYS', 'lvl:*')->[0], undef,
   'no window closed yet: the watermark stays in the hour');

# an event two hours later on alice's and bob's partitions closes the hour
Processing::publish($port, 'ev', 3, map { [ $_, { n => 0, hour => 12 } ] }
                                    qw(alice bob));
my $hour = Time::Local::timegm(0, 0, 9, 6, 11, 2026) * 1000;
ok(Processing::eventually(sub {
       defined Processing::cmd($port, 'GET', "lvl:high:$hour")
       && defined Processing::cmd($port, 'GET', "lvl:low:$hour") }),
   'the hour closed');
is(Processing::cmd($port, 'GET', "lvl:high:$hour"), 110,
   'enrich by GET: alice\'s 110 events under the key "high"');
is(Processing::cmd($port, 'GET', "lvl:low:$hour"), 110,
   '... bob\'s under "low"');
like($m, qr/^proc_lag\{pipeline="count",partition="0"\} 0$/m,
     'lag per partition');
like($m, qr/^proc_batch_seconds_count\{pipeline="count"\} \d+/m,
     'batch time');

is(Processing::stop($svc), 0, 'stopped gracefully');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

done_testing();
