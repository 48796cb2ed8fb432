# The workflow engine (backends/workflow/wf_engine*.c, wf_fork.c,
# wf_mock.c): executions are written into Redis as wf.h lays them out
# (a definition's version, an execution's hash in phase "enter" with seq
# 0, its id due now), so that these checks see the engine alone: the
# claim loop, one script per transition, Wait timers, Retry and Catch
# with mocks, Map with MaxConcurrency and tolerated failures, Parallel,
# a child whose root was stopped, a stale commit refused.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin";
use lib "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Redis;
use WfReceiver;
use Workflow;

Workflow::skip_unless_built();

my $JSON = Workflow::json();
my $T = JSON::PP::true;
my $redis = Tollgate::Redis->start;
our $port = $redis->port;
my $svc = Workflow::start(env => { REDIS => $redis->address }, wait => 1);

sub r { Service::resp_cmd($port, @_) }

my $n = 0;

# a definition's version 1, as the definitions' API stores it
sub define {
    my ($name, $asl) = @_;
    r('HSET', "gw:wf:def:$name", 'latest', 1, 1,
      $JSON->encode({ name => $name, version => 1, definition => $asl,
                      created => int(time * 1000) }));
    r('ZADD', 'gw:wf:defs', 0, $name);
}

# an execution as wf_start() writes it: phase enter at StartAt, due now
sub run {
    my ($def, $asl, $input, $mocks, %extra) = @_;
    my $id = sprintf 'wx_0000000000000000000000%04d', ++$n;
    my $now = int(time * 1000);
    my $in = $JSON->encode($input);
    r('HSET', "gw:wf:x:$id", id => $id, root => $id, def => $def,
      ver => 1, owner => 'wf-admin', status => 'RUNNING', start => $now,
      input => $in, machine => '', state => $asl->{StartAt}, sin => $in,
      entered => $now, phase => 'enter', seq => 0,
      defined $mocks ? (mocks => $JSON->encode($mocks)) : (), %extra);
    r('ZADD', "gw:wf:ls:$def", $now, $id);
    r('ZADD', "gw:wf:ls:$def:RUNNING", $now, $id);
    r('ZADD', 'gw:wf:due', $now, $id);
    return $id;
}

sub hash {
    my ($id) = @_;
    my $a = r('HGETALL', "gw:wf:x:$id") || [];
    return { @$a };
}

sub ended {
    my ($id, $limit) = @_;
    return Service::eventually(sub {
        my $h = hash($id);
        return ($h->{status} // 'RUNNING') ne 'RUNNING' ? $h : undef;
    }, $limit // 15);
}

sub events {
    my ($id) = @_;
    return map { $JSON->decode($_) } @{ r('LRANGE', "gw:wf:h:$id", 0, -1)
                                        || [] };
}

sub out { $JSON->decode($_[0]{output}) }

# ---- a Pass/Choice chain ---------------------------------------------------

my $chain = {
    StartAt => 'Init',
    States => {
        Init => { Type => 'Pass', Result => { i => 0 }, Next => 'Loop' },
        Loop => { Type => 'Choice',
                  Choices => [ { Variable => '$.i', NumericGreaterThanEquals
                                 => 5, Next => 'Done' } ],
                  Default => 'Inc' },
        Inc => { Type => 'Pass',
                 Parameters => { 'i.$' => 'States.MathAdd($.i, 1)' },
                 Next => 'Loop' },
        Done => { Type => 'Succeed' },
    },
};
define('chain', $chain);
my $id = run('chain', $chain, {});
my $h = ended($id);
is($h->{status}, 'SUCCEEDED', 'chain: succeeded');
is_deeply(out($h), { i => 5 }, 'chain: the loop ran to 5');
my @ev = events($id);
is($ev[-1]{type}, 'ExecutionSucceeded', 'chain: the last event');
is(scalar(grep { $_->{type} eq 'ChoiceStateEntered' } @ev), 6,
   'chain: six choices entered');
like($ev[0]{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'chain: timestamps in RFC 3339 with ms');
is(r('ZSCORE', 'gw:wf:ls:chain:SUCCEEDED', $id), $h->{start},
   'chain: listed as SUCCEEDED');
ok(!r('ZSCORE', 'gw:wf:ls:chain:RUNNING', $id), 'chain: no longer RUNNING');
ok(!r('ZSCORE', 'gw:wf:due', $id), 'chain: not due');
cmp_ok(r('PTTL', "gw:wf:x:$id"), '>', 0, 'chain: the hash expires');

# ---- Wait ------------------------------------------------------------------

my $wait = {
    StartAt => 'W',
    States => { W => { Type => 'Wait', Seconds => 1, Next => 'E' },
                E => { Type => 'Pass', End => $T } },
};
define('wait', $wait);
my $t0 = time;
$id = run('wait', $wait, { w => 1 });
ok(Service::eventually(sub { hash($id)->{phase} eq 'wait' }, 5),
   'wait: waiting');
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'wait: succeeded');
cmp_ok(time - $t0, '>=', 0.9, 'wait: after its second');
ok(grep({ $_->{type} eq 'WaitStarted' } events($id)), 'wait: WaitStarted');

# ---- Retry, then success; Catch --------------------------------------------

my $retry = {
    StartAt => 'T',
    States => {
        T => { Type => 'Task', Resource => 'tollgate:http',
               Retry => [ { ErrorEquals => ['Boom'], IntervalSeconds => 1,
                            BackoffRate => 1, MaxAttempts => 2 } ],
               Catch => [ { ErrorEquals => ['States.ALL'],
                            ResultPath => '$.err', Next => 'Caught' } ],
               End => $T },
        Caught => { Type => 'Pass', End => $T },
    },
};
define('retry', $retry);
$id = run('retry', $retry, { a => 1 },
          { T => [ { Throw => { Error => 'Boom', Cause => 'once' } },
                   { Return => { ok => 1 } } ] });
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'retry: succeeded');
is_deeply(out($h), { ok => 1 }, 'retry: the second answer');
is(scalar(grep { $_->{type} eq 'StateRetried' } events($id)), 1,
   'retry: one retry');
is(hash($id)->{'mu:T'}, 2, 'retry: two mocks taken');

$id = run('retry', $retry, { a => 1 },
          { T => [ { Throw => { Error => 'Other', Cause => 'no' } } ] });
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'catch: succeeded');
is_deeply(out($h), { a => 1, err => { Error => 'Other', Cause => 'no' } },
          'catch: the error at its ResultPath');
ok(grep({ $_->{type} eq 'StateCaught' } events($id)), 'catch: StateCaught');

$id = run('retry', $retry, {}, {});
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'no mocks: caught States.TaskFailed');
is(out($h)->{err}{Error}, 'States.TaskFailed', 'no mocks: TaskFailed');

# ---- Map: MaxConcurrency, tolerated failures -------------------------------

my $map = {
    StartAt => 'M',
    States => {
        M => { Type => 'Map', ItemsPath => '$.items', MaxConcurrency => 2,
               ItemProcessor => {
                   StartAt => 'C',
                   States => {
                       C => { Type => 'Choice',
                              Choices => [ { Variable => '$', NumericEquals
                                             => 3, Next => 'Bad' } ],
                              Default => 'Good' },
                       Good => { Type => 'Pass',
                                 Parameters => { 'v.$' => '$' },
                                 End => $T },
                       Bad => { Type => 'Fail', Error => 'Three',
                                Cause => 'three' },
                   } },
               End => $T },
    },
};
define('map', $map);
$id = run('map', $map, { items => [1, 2, 4, 5, 6] });
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'map: succeeded');
is_deeply(out($h), [ map { { v => $_ } } 1, 2, 4, 5, 6 ],
          'map: outputs in order');
ok(!r('EXISTS', "gw:wf:x:$id.0"), 'map: children deleted');

$id = run('map', $map, { items => [1, 3, 4] });
$h = ended($id);
is($h->{status}, 'FAILED', 'map: an item failed');
is($h->{error}, 'Three', 'map: with its error');

my $tol = { %$map };
$tol->{States} = { M => { %{ $map->{States}{M} },
                          ToleratedFailureCount => 1 } };
define('tol', $tol);
$id = run('tol', $tol, { items => [1, 3, 4] });
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'tolerated: succeeded');
is_deeply(out($h), [ { v => 1 }, { Error => 'Three', Cause => 'three' },
                     { v => 4 } ], 'tolerated: the failure as output');
$id = run('tol', $tol, { items => [3, 3, 4] });
$h = ended($id);
is($h->{error}, 'States.ExceedToleratedFailureThreshold',
   'tolerated: past the threshold');

my $big = { %$map };
$big->{States} = { M => { %{ $map->{States}{M} }, MaxConcurrency => 0 } };
define('big', $big);
$id = run('big', $big, { items => [ map { 10 + $_ } 1 .. 150 ] });
$h = ended($id, 30);
is($h->{status}, 'SUCCEEDED', 'map of 150 items (past batch): succeeded');
is(scalar(@{ out($h) }), 150, 'map of 150: 150 outputs');

# ---- Parallel --------------------------------------------------------------

my $par = {
    StartAt => 'P',
    States => {
        P => { Type => 'Parallel', ResultPath => '$.r', End => $T,
               Branches => [
                   { StartAt => 'A',
                     States => { A => { Type => 'Pass', Result => 'a',
                                        End => $T } } },
                   { StartAt => 'B',
                     States => { B => { Type => 'Task',
                                        Resource => 'tollgate:http',
                                        End => $T } } },
               ] },
    },
};
define('par', $par);
$id = run('par', $par, { x => 1 }, { B => [ { Return => 'b' } ] });
$h = ended($id);
is($h->{status}, 'SUCCEEDED', 'parallel: succeeded');
is_deeply(out($h), { x => 1, r => ['a', 'b'] }, 'parallel: both branches');
$id = run('par', $par, { x => 1 },
          { B => [ { Throw => { Error => 'BErr', Cause => 'b' } } ] });
$h = ended($id);
is($h->{status}, 'FAILED', 'parallel: a branch failed');
is($h->{error}, 'BErr', 'parallel: its error');

# ---- a child whose root was stopped is dropped -----------------------------

my $slow = {
    StartAt => 'M',
    States => {
        M => { Type => 'Map', ItemsPath => '$', End => $T,
               ItemProcessor => {
                   StartAt => 'W',
                   States => { W => { Type => 'Wait', Seconds => 2,
                                      End => $T } } } },
    },
};
define('slow', $slow);
$id = run('slow', $slow, [1]);
ok(Service::eventually(sub { (hash("$id.0")->{phase} // "") eq "wait" }, 5),
   'stopped root: its child waits');
r('HSET', "gw:wf:x:$id", status => 'ABORTED', phase => 'done');
r('HINCRBY', "gw:wf:x:$id", 'seq', 1);
r('ZREM', 'gw:wf:due', $id);
ok(Service::eventually(sub { !r('ZSCORE', 'gw:wf:due', "$id.0") }, 6),
   'stopped root: the child left gw:wf:due');
is(hash("$id.0")->{phase}, 'wait', 'stopped root: the child never ran on');

# ---- a child workflow's end is its parent's task result ------------------

my $parent = {
    StartAt => 'T',
    States => { T => { Type => 'Task', Resource => 'tollgate:workflow:kid',
                       ResultPath => '$.kid', End => $T } },
};
my $kid = {
    StartAt => 'K',
    States => { K => { Type => 'Choice',
                       Choices => [ { Variable => '$.fail', IsPresent => $T,
                                      Next => 'Bad' } ],
                       Default => 'Good' },
                Good => { Type => 'Pass', Result => { k => 1 }, End => $T },
                Bad => { Type => 'Fail', Error => 'KidErr', Cause => 'no' } },
};
define('parent', $parent);
define('kid', $kid);

# the parent waits in its task (seq 5) as wf_task_run leaves it
sub waiting {
    my ($asl, $def, %f) = @_;
    my $later = int(time * 1000) + 60000;
    my $pid = run($def, $asl, { p => 1 }, undef, phase => 'callback',
                  seq => 5, deadline => $later, %f);
    r('ZADD', 'gw:wf:due', $later, $pid);
    return $pid;
}

for my $fail (0, 1) {
    my $pid = waiting($parent, 'parent');
    my $kin = $fail ? { fail => 1 } : {};
    run('kid', $kid, $kin, undef, parent => $pid, slot => 't', pseq => 5);
    $h = ended($pid);
    if ($fail) {
        is($h->{status}, 'FAILED', 'child workflow failed: the parent too');
        is($h->{error}, 'KidErr', 'child workflow failed: its error');
    } else {
        is($h->{status}, 'SUCCEEDED', 'child workflow: the parent resumed');
        is_deeply(out($h), { p => 1, kid => { k => 1 } },
                  'child workflow: its output is the result');
        ok(grep({ $_->{type} eq 'TaskSucceeded' } events($pid)),
           'child workflow: TaskSucceeded in the parent\'s history');
    }
}

# ---- a callback past its deadlines -----------------------------------------

my $cb = {
    StartAt => 'T',
    States => { T => { Type => 'Task',
                       Resource => 'tollgate:callback.waitForTaskToken',
                       HeartbeatSeconds => 1, TimeoutSeconds => 50,
                       Catch => [ { ErrorEquals => ['States.ALL'],
                                    Next => 'C' } ],
                       End => $T },
                C => { Type => 'Pass', End => $T } },
};
define('cb', $cb);
for my $hb (0, 1) {
    my $now = int(time * 1000);
    my $pid = waiting($cb, 'cb', $hb ? (hbdl => $now - 5, hb => 1)
                                     : (deadline => $now - 5));
    r('ZADD', 'gw:wf:due', $now, $pid);
    $h = ended($pid);
    is($h->{status}, 'SUCCEEDED', "callback timed out ($hb): caught");
    is(out($h)->{Error}, $hb ? 'States.HeartbeatTimeout' : 'States.Timeout',
       "callback timed out ($hb): the error");
}

# ---- the execution's TimeoutSeconds ----------------------------------------

my $slowtop = {
    TimeoutSeconds => 1,
    StartAt => 'W',
    States => { W => { Type => 'Wait', Seconds => 30, End => $T } },
};
define('slowtop', $slowtop);
$id = run('slowtop', $slowtop, {});
$h = ended($id, 10);
is($h->{status}, 'TIMED_OUT', 'TimeoutSeconds: TIMED_OUT');
is($h->{error}, 'States.Timeout', 'TimeoutSeconds: States.Timeout');
ok(grep({ $_->{type} eq 'ExecutionTimedOut' } events($id)),
   'TimeoutSeconds: ExecutionTimedOut');

# ---- a stale commit is refused ---------------------------------------------

my $stale = $JSON->encode({ id => $id, root => $id, seq => 0,
                            now => int(time * 1000),
                            set => { state => 'X' }, del => [],
                            ev => [] });
# the service loaded the step script: run it by its text's hash
my $seq0 = hash($id)->{seq};
r('HSET', "gw:wf:x:$id", status => 'RUNNING');
my $res = r('EVAL', step_text(), 0, $stale);
is($res->[0], 'lost', 'stale commit: refused');
is(hash($id)->{seq}, $seq0, 'stale commit: seq unchanged');
isnt(hash($id)->{state}, 'X', 'stale commit: nothing written');

# the step script's text, read from the source (the C string literal)
sub step_text {
    my $src = Service::slurp("$FindBin::Bin/../../backends/workflow/"
                             . 'wf_engine_script.c');
    my ($body) = $src =~ /wf_script_step = \{ \.text =\n(.*?)\n\};/s;
    my $text = '';
    while ($body =~ /"((?:[^"\\]|\\.)*)"/g) {
        my $s = $1;
        $s =~ s/\\n/\n/g;
        $s =~ s/\\(.)/$1/g;
        $text .= $s;
    }
    return $text;
}

# ---- an endless loop meets history_max ---------------------------------

{
    my $redis2 = Tollgate::Redis->start;
    local $port = $redis2->port;
    my $svc2 = Workflow::start(env => { REDIS => $redis2->address,
                                        HISTORY_MAX => 100 }, wait => 1);
    my $loop = {
        StartAt => 'A',
        States => { A => { Type => 'Pass', Next => 'B' },
                    B => { Type => 'Pass', Next => 'A' } },
    };
    define('loop', $loop);
    my $lid = run('loop', $loop, {});
    my $lh = ended($lid);
    is($lh->{status}, 'FAILED', 'endless loop: failed');
    is($lh->{error}, 'States.Runtime', 'endless loop: States.Runtime');
    cmp_ok(r('LLEN', "gw:wf:h:$lid"), '<=', 110, 'endless loop: bounded');
    Workflow::stop($svc2);
}

is(scalar(Workflow::errors($svc)), 0, 'no error logged');

# ---- a drain waits for the task in flight to answer and commit -------------

{
    my $rx = WfReceiver->new(default => 200, delay => 1.5);
    my $http = {
        StartAt => 'Call',
        States => { Call => Workflow::http_task($rx->url('/slow'),
                                                ResultPath => '$.r',
                                                Next => 'After'),
                    After => { Type => 'Wait', Seconds => 3600,
                               End => $T } },
    };
    define('http', $http);
    my $hid = run('http', $http, { h => 1 });
    ok(Service::eventually(sub { scalar $rx->requests }, 10),
       'drain: the task is in flight');
    my $t1 = time;
    Workflow::stop($svc);
    my $hh = hash($hid);
    is($hh->{state}, 'After', 'drain: its answer was committed before the '
       . 'service stopped');
    is($hh->{phase}, 'enter', 'drain: the next state left to enter');
    cmp_ok(r('ZSCORE', 'gw:wf:due', $hid), '<=', int(time * 1000),
           'drain: due at once, for another instance');
    cmp_ok(time - $t1, '<', 5, 'drain: within the drain timeout');
    ok(!grep({ $_->{level} =~ /^(warn|error)$/ }
             Workflow::log_lines($svc)), 'drain: nothing to warn about');
    $rx->stop;
}


done_testing();
