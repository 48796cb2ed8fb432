# The NATS JetStream connectors through the engine, end to end
# (docs/processing-nats.md), against a three-node nats-server cluster
# with JetStream (Tollgate::Nats; skipped when nats-server is missing):
#   - a pipeline with a "nats" sink (beside a redis sink) mirrors every
#     record to a stream of 3 replicas; the service is killed (kill -9)
#     once mid-run and started again: the stream holds exactly one
#     message per record (the records' ids dedupe the replay);
#   - a windowed pipeline with a "nats" sink: each window result once;
#   - the topic run again in batches of another size: both streams
#     unchanged (the ids are per source entry, not per batch);
#   - a pipeline document with "nats_in" moves a JetStream stream into
#     its topic, which the same pipeline reads into a redis sink: every
#     message counted exactly once per key, across a kill -9, with two
#     instances running and only one connector at a time (its lease).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Processing;
use Tollgate::Nats;
use Tollgate::Redis;

my $D = "$FindBin::Bin/../../build/proc/test_proc_nats";

plan skip_all => 'nats-server is not installed: the JetStream tests need it'
    unless Tollgate::Nats::available();
plan skip_all => Processing::binary() . ' is not built (run make backends)'
    unless -x Processing::binary() && -x $D;

my $nats = Tollgate::Nats->start(nodes => 3);
my $S = $nats->servers;
my @urls = split /,/, $S;
my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my $TMP = Processing::tmp();

sub drv {
    my $out = `$D @{[ join ' ', map { "'$_'" } @_ ]} 2>>$TMP/drv.err`;
    chomp $out;
    return $out;
}

sub msgs {
    my ($stream) = @_;
    return drv('info', $S, $stream) =~ /^msgs (\d+)/ ? $1 : -1;
}

is(drv('stream', $S, 'OUT', 'out.rec', 3), 'created', 'stream OUT');
is(drv('stream', $S, 'IN', 'in.>', 3), 'created', 'stream IN');
is(drv('stream', $S, 'WIN', 'win.rec', 1), 'created', 'stream WIN');

my $M = 2000;
is(drv('publish', $S, 'in.orders', $M, 7), "published $M",
   "$M messages in IN");

my $dir = Processing::pipelines(
    {
        name => 'nout',
        source => { topic => 'n', partitions => 2 },
        steps => [ { type => 'map',
                     lua => 'return function (r) r.m = true; '
                            . 'return r end' } ],
        sinks => [ { type => 'nats', name => 'mirror', servers => \@urls,
                     subject => 'out.rec', stream => 'OUT' },
                   { type => 'redis', command => 'incrby',
                     key => 'ntotal' } ],
    },
    {
        name => 'nwin',
        source => { topic => 'n', partitions => 2 },
        window => { type => 'tumbling', size => 20,
                    aggregate => [ { op => 'count', as => 'n' } ] },
        sinks => [ { type => 'nats', name => 'w', servers => \@urls,
                     subject => 'win.rec', stream => 'WIN' },
                   { type => 'redis', command => 'hset',
                     key => 'nwin:{/key}', field => '{/start}',
                     value => '/n' } ],
    },
    {
        name => 'nin',
        nats_in => { servers => \@urls, stream => 'IN', durable => 'tg-in',
                     subject => 'in.>', topic => 'fromnats',
                     partitions => 2, key => '/customer', batch => 50 },
        source => { topic => 'fromnats', partitions => 2 },
        sinks => [ { type => 'redis', command => 'hincrby',
                     key => 'per-customer', field => '{/customer}' } ],
    });

my ($out, $rc) = Processing::run(env => { REDIS => $redis->address,
                                          PIPELINES => $dir },
                                 args => ['-t']);
is($rc, 0, 'the documents pass -t') or diag($out);

my $bad = Processing::pipelines(
    { name => 'bad', source => { topic => 'x' },
      nats_in => { servers => \@urls, stream => 'IN', durable => 'd',
                   subject => 'in.>', topic => 'x', colour => 1 },
      sinks => [ { type => 'redis', command => 'incrby', key => 'k' } ] },
    { name => 'bad2', source => { topic => 'x' },
      sinks => [ { type => 'nats', servers => \@urls, subject => 'a.*',
                   stream => 'OUT' } ] });
($out, $rc) = Processing::run(env => { REDIS => $redis->address,
                                       PIPELINES => $bad }, args => ['-t']);
is($rc, 2, 'a bad nats_in member is refused');
like($out, qr{00\.json: /nats_in/colour: }, '... with its pointer');

my $N = 6000;
my @ev = map { [ "u" . ($_ % 13), { i => $_ } ] } 0 .. $N - 1;
Processing::publish($port, 'n', 2, @ev);

my %env = (REDIS => $redis->address, PIPELINES => $dir, BATCH => '100',
           REDIS_RETRY => '100ms');
my $a = Processing::start(env => { %env, INSTANCE => 'na' });
my $b = Processing::start(env => { %env, INSTANCE => 'nb' });

sub ntotal { Processing::cmd($port, 'GET', 'ntotal') // 0 }
sub per_total {
    my $h = Processing::hash($port, 'per-customer');
    my $t = 0;
    $t += $_ for values %$h;
    return $t;
}

ok(Processing::eventually(sub { ntotal() >= 1000 }, 60), 'under way')
    or diag(ntotal());

sub started_in {
    return scalar grep { ($_->{message} // '') eq 'nats_in started' }
                  Processing::log_lines($_[0]);
}

ok(Processing::eventually(sub { started_in($a) + started_in($b) == 1 }, 10),
   'one connector runs for the two instances');

# kill the instance that runs the connector, mid-run
my $owner = Processing::cmd($port, 'GET', 'gw:proc:owner:nats-in:tg-in')
            // '';
like($owner, qr/^n[ab]$/, "the connector's lease is held by $owner");
my $victim = $owner eq 'nb' ? $b : $a;
isnt(Processing::kill9($victim), undef, "kill -9 of $owner");
$victim = Processing::start(env => { %env, INSTANCE => $owner });
($owner eq 'nb' ? $b : $a) = $victim;

ok(Processing::eventually(sub {
       ntotal() == $N
       && !grep { Processing::pending($port, "gw:topic:n:$_", 'nout') }
               0 .. 1 }, 90),
   "every record committed ($N)") or diag(ntotal());
ok(Processing::eventually(sub { msgs('OUT') == $N }, 30),
   "the nats sink: exactly $N messages in OUT") or diag(msgs('OUT'));

ok(Processing::eventually(sub { per_total() == $M }, 90),
   "nats_in -> topic -> pipeline: $M counted") or diag(per_total());
my %want;
$want{ 'c' . ($_ % 7) }++ for 0 .. $M - 1;
is_deeply(Processing::hash($port, 'per-customer'), \%want,
          '... exactly once per key');
my $entries = 0;
$entries += Processing::cmd($port, 'XLEN', "gw:topic:fromnats:$_")
    for 0 .. 1;
is($entries, $M, 'the topic holds one entry per message');

ok(started_in($a) + started_in($b) >= 1,
   'the connector ran again after the kill');

is(Processing::stop($_), 0, 'stopped') for $a, $b;
is(scalar(map { Processing::errors($_) } $a, $b), 0, 'no error in the logs');

# the group has read everything and acknowledged it
sub drained {
    my ($g) = @_;
    for my $p (0 .. 1) {
        my $info = Processing::cmd($port, 'XINFO', 'GROUPS', "gw:topic:n:$p");
        my ($grp) = grep { my %h = @$_; $h{name} eq $g } @{ $info || [] };
        my %h = @{ $grp || [] };
        return 0 unless defined $h{lag} && $h{lag} == 0 && $h{pending} == 0;
    }
    return 1;
}

sub windows {
    my $c = 0;
    $c += scalar keys %{ Processing::hash($port, "nwin:u$_") } for 0 .. 12;
    return $c;
}

ok(Processing::eventually(sub { drained('nwin') }, 30),
   'the window pipeline is done');
my $w = windows();
ok($w > 0, "$w window results");
is(msgs('WIN'), $w, '... each once in WIN');

# the whole topic again, in batches of another size, with the redis
# sinks' positions (and the window state) gone: the redis sink counts
# every record again, the nats sinks' ids (per source entry, not per
# batch; a window result's is the entry that closed it) dedupe them all

for my $g (qw(nout nwin)) {
    Processing::cmd($port, 'XGROUP', 'SETID', "gw:topic:n:$_", $g, '0')
        for 0 .. 1;
    Processing::cmd($port, 'DEL', "gw:proc:$g:pos", "gw:proc:$g:state:0",
                    "gw:proc:$g:state:1");
}
my $c = Processing::start(env => { %env, INSTANCE => 'nc', BATCH => '37' });
ok(Processing::eventually(sub { ntotal() == 2 * $N }, 90),
   'the topic ran again') or diag(ntotal());
is(msgs('OUT'), $N, "still $N messages in OUT: the replay was deduped");
ok(Processing::eventually(sub { drained('nwin') }, 30),
   'the window pipeline ran again');
is(windows(), $w, 'the same window results');
is(msgs('WIN'), $w, "still $w messages in WIN: window results deduped");
is(Processing::stop($c), 0, 'stopped');
is(scalar(Processing::errors($c)), 0, 'no error in the log');

done_testing();
