# The processing service's failures (docs/processing.md, "Failures"):
# an entry that is not a JSON object goes to the DLQ at once; a step
# that throws, loops past its instruction budget or exhausts its memory
# cap is tried again (retries, with backoff) and then goes to the DLQ
# with its error, attempt count, step and source; a step that fails
# twice and then works is not dead-lettered; none of this stops the
# pipeline or delays another event.  The dlq tool lists, replays (to the
# source partition, read again) and drops dead letters.

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

my $lua = <<'LUA';
local flaky = 0
return function (rec, ctx)
    if rec.kind == "throw" then
        error("boom " .. rec.n)
    elseif rec.kind == "loop" then
        local i = 0
        while true do i = i + 1 end
    elseif rec.kind == "memory" then
        local t = {}
        for i = 1, 64 do t[i] = string.rep("x", 1024 * 1024) .. i end
    elseif rec.kind == "flaky" then
        flaky = flaky + 1
        if flaky % 3 ~= 0 then error("not yet") end
    end
    rec.ok = true
    return rec
end
LUA

my $dir = Processing::pipelines({
    name => 'fail',
    source => { topic => 'f', partitions => 1 },
    retries => 3,
    steps => [ { type => 'map', lua => $lua } ],
    sinks => [ { type => 'redis', command => 'incrby', key => 'good' },
               { type => 'redis', command => 'sadd', key => 'ns',
                 value => '/n' } ],
});

my %env = (REDIS => $redis->address, PIPELINES => $dir,
           LUA_BUDGET => '200000', LUA_MEMORY => '8m', LUA_TIME => '2s');
my $svc = Processing::start(env => \%env);

my @kinds = qw(good throw good loop good memory good flaky good);
my @ids = Processing::publish($port, 'f', 1,
                              (map { [ '', { n => $_, kind => $kinds[$_] } ] }
                               0 .. $#kinds),
                              [ '', 'not json {' ],
                              [ '', '[1, 2]' ],
                              (map { [ '', { n => $_, kind => 'good' } ] }
                               100 .. 149));

ok(Processing::eventually(sub {
       Processing::pending($port, 'gw:topic:f:0', 'fail') == 0
       && Processing::cmd($port, 'XLEN', 'gw:proc:fail:dlq') == 5
   }, 30), 'all read and acknowledged; 5 dead letters');

is(Processing::cmd($port, 'GET', 'good'), 5 + 1 + 50,
   'every good event and the flaky one went through');
ok(Processing::cmd($port, 'SISMEMBER', 'ns', 7), 'the flaky one: after 2 '
   . 'failures, the third attempt worked');
ok(Processing::cmd($port, 'SISMEMBER', 'ns', 149), 'events after the bad '
   . 'ones went through');
is(Processing::metric($svc, 'proc_events_total{pipeline="fail",'
                            . 'outcome="dlq"}'), 5, 'dlq outcome counted');
is(Processing::metric($svc, 'proc_dlq_total{pipeline="fail"}'), 5,
   'proc_dlq_total');
ok(Processing::metric($svc, 'proc_events_total{pipeline="fail",'
                            . 'outcome="retried"}') >= 3 * 3 + 2,
   'retries counted');

my $dlq = Processing::cmd($port, 'XRANGE', 'gw:proc:fail:dlq', '-', '+');
my %by;
for my $e (@$dlq) {
    my %f = @{ $e->[1] };
    $by{ $f{source_id} } = { %f, dlq_id => $e->[0] };
}

my $throw = $by{ $ids[1] };
ok($throw, 'the throwing one is in the DLQ');
like($throw->{error}, qr/^error: .*boom 1/, '... with its error');
is($throw->{attempts}, 4, '... its attempts (1 + 3 retries)');
is($throw->{step}, '/steps/0', '... its step');
is($throw->{source}, 'gw:topic:f:0', '... its source stream');
like($throw->{data}, qr/"kind":"throw"/, '... and its source fields');
ok($throw->{failed_at} > 0, '... and when');

like($by{ $ids[3] }{error}, qr/^budget: /, 'the loop hit its budget');
is($by{ $ids[3] }{attempts}, 4, '... tried 4 times');
like($by{ $ids[5] }{error}, qr/^memory: /, 'the hog hit its memory cap');

my $nj = $by{ $ids[9] };
is($nj->{step}, '/source', 'not JSON: step /source');
is($nj->{attempts}, 1, '... at once');
like($nj->{error}, qr/not a JSON object/, '... why');
like($by{ $ids[10] }{error}, qr/not a JSON object/,
     'a JSON array is not an object either');

# ---- the dlq tool ----------------------------------------------------------

my %cli = (REDIS => $redis->address);
my ($out, $rc) = Processing::run(env => \%cli,
                                 args => [ qw(dlq list fail) ]);
is($rc, 0, 'dlq list');
my @lines = map { JSON::PP::decode_json($_) } split /\n/, $out;
is(scalar @lines, 5, '... one line per dead letter');
is($lines[0]{fields}{source_id}, $ids[1], '... in order, with the fields');

($out, $rc) = Processing::run(env => \%cli,
                              args => [ qw(dlq list fail 1-1) ]);
is($rc, 1, 'an unknown id fails');

($out, $rc) = Processing::run(env => \%cli,
                              args => [ qw(dlq bogus fail) ]);
is($rc, 2, 'an unknown subcommand is refused');

my $before = Processing::cmd($port, 'XLEN', 'gw:topic:f:0');
($out, $rc) = Processing::run(env => \%cli,
                              args => [ 'dlq', 'replay', 'fail',
                                        $throw->{dlq_id} ]);
is($rc, 0, 'dlq replay of one') or diag $out;
like($out, qr/^\Q$throw->{dlq_id}\E -> gw:topic:f:0 \d+-\d+$/m,
     '... says where it went');
is(Processing::cmd($port, 'XLEN', 'gw:topic:f:0'), $before + 1,
   '... added to its source partition');
ok(Processing::eventually(sub {
       Processing::metric($svc, 'proc_dlq_total{pipeline="fail"}') == 6
   }, 20), '... read again by the pipeline (and dead again: it throws)');
is(Processing::cmd($port, 'XLEN', 'gw:proc:fail:dlq'), 5,
   '... removed from the DLQ, then added once more');

($out, $rc) = Processing::run(env => \%cli,
                              args => [ qw(dlq drop fail) ]);
is($rc, 0, 'dlq drop of all');
is(Processing::cmd($port, 'XLEN', 'gw:proc:fail:dlq'), 0, '... empty');

is(Processing::stop($svc), 0, 'stopped gracefully');
is(scalar(Processing::errors($svc)), 0, 'no error in the log');

done_testing();
