# Durability (issue 20, points 4 and 6; docs/workflow.md, "The
# service"), on a Redis with AOF (appendfsync always):
#
# (a) timers and callbacks survive restarts: an execution in a Wait of
#     24 h and one waiting for its task token survive a kill -9 of the
#     service AND of Redis (started again on the same folder and port):
#     both RUNNING afterwards, the Wait still due ~ start + 86,400 s,
#     the callback completed by /v1/tasks/success; a Wait of 2 s started
#     before the restart fires after it.
# (b) kill -9 under load: two instances on one Redis with a 2 s lease
#     run 200 executions of three HTTP tasks each (the target answers in
#     ~20 ms); one is killed mid-way and started again later.  Every
#     execution succeeds; every task state of every execution was
#     delivered at least once, always with one Idempotency-Key per
#     (execution, state): a redelivery reuses the key; each history
#     holds each state once.  Duplicate deliveries are counted (diag),
#     not asserted.  The same with 20 Maps of 10 HTTP items each.
# (c) Redis down (kill -9) while executions run, some parked in a Wait,
#     some with HTTP tasks answering during the outage: the API answers
#     503 problem+json, nothing crashes, the work resumes once Redis is
#     back, every task delivered with one Idempotency-Key per state.
# (d) SIGTERM with HTTP tasks in flight: the service drains them, exits 0,
#     and its executions finish after a restart, nothing sent twice.

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
my $redis = Tollgate::Redis->start(aof => 1);
my $rx = WfReceiver->new(default => 200);
my $key = Workflow::secret_key();
my %env = (REDIS => $redis->address, SECRET_KEY_FILE => $key,
           MOCKS => undef, LEASE => '2s');

my $svc = Workflow::start(env => \%env);
my $T = JSON::PP::true;

sub ok_define {
    my ($name, $def) = @_;
    my ($st, $b) = Workflow::define($svc, $name, $def);
    is $st, 201, "$name is defined" or diag explain $b;
}

# the token a waitForTaskToken task sent the receiver, in its body
sub token_sent {
    my ($path) = @_;
    for my $r (reverse $rx->requests) {
        next unless $r->{path} eq $path;
        my $b = eval { $JSON->decode($r->{body}) } or next;
        return $b->{token} if $b->{token};
    }
    return undef;
}

# ---- (a) a 24 h Wait and a callback survive both restarts ------------------

ok_define('day', { StartAt => 'Sleep', States => {
    Sleep => { Type => 'Wait', Seconds => 86400, Next => 'Done' },
    Done => { Type => 'Succeed' } } });
ok_define('two', { StartAt => 'Sleep', States => {
    Sleep => { Type => 'Wait', Seconds => 2, Next => 'Done' },
    Done => { Type => 'Pass', Result => 'woke', End => $T } } });
ok_define('ask', { StartAt => 'Ask', States => {
    Ask => { Type => 'Task', Resource => 'tollgate:http.waitForTaskToken',
             Parameters => { method => 'POST', url => $rx->url('/ask'),
                             body => { 'token.$' => '$$.Task.Token',
                                       'q.$' => '$.q' } },
             HeartbeatSeconds => 600, TimeoutSeconds => 86400,
             Next => 'Done' },
    Done => { Type => 'Succeed' } } });

# a callback whose heartbeat deadline (3 s) passes while the service is
# down: it fails with States.HeartbeatTimeout after the restart
ok_define('beat', { StartAt => 'Ask', States => {
    Ask => { Type => 'Task', Resource => 'tollgate:http.waitForTaskToken',
             Parameters => { method => 'POST', url => $rx->url('/beat'),
                             body => { 'token.$' => '$$.Task.Token' } },
             HeartbeatSeconds => 3, TimeoutSeconds => 600,
             Next => 'Done' },
    Done => { Type => 'Succeed' } } });

my $t0 = time * 1000;
my $day = Workflow::start_execution($svc, 'day', input => {});
my $t1 = time * 1000;
my $ask = Workflow::start_execution($svc, 'ask', input => { q => 'ok?' });

my $score = Workflow::eventually(sub {
    my $s = Workflow::cmd($redis->port, 'ZSCORE', 'gw:wf:due', $day);
    return defined $s && $s > $t0 + 3_600_000 ? $s : undef;
}, 10);
ok $score && $score >= $t0 + 86_400_000 - 1000
          && $score <= $t1 + 86_400_000 + 1000,
    'the 24 h Wait is due a day after its start'
    or diag "score $score, start between $t0 and $t1";
my $token = Workflow::eventually(sub { token_sent('/ask') }, 10);
ok $token, 'the callback task sent its token' or diag explain [$rx->requests];

my $two = Workflow::start_execution($svc, 'two', input => {});
my $beat = Workflow::start_execution($svc, 'beat', input => {});
ok Workflow::eventually(sub { token_sent('/beat') }, 10),
    'the heartbeat callback sent its token';

# the service, then Redis, killed; both started again
is Workflow::kill9($svc) & 127, 9, 'the service is killed (-9)';
$redis->kill;
$redis->restart;
sleep 3;            # down past the 2 s Wait and the 3 s heartbeat
$svc = Workflow::restart($svc);

for ([$day, 'the 24 h Wait'], [$ask, 'the callback']) {
    my $x = Workflow::describe($svc, $_->[0]);
    is $x && $x->{status}, 'RUNNING', "$_->[1] is still RUNNING"
        or diag explain $x;
}
is Workflow::cmd($redis->port, 'ZSCORE', 'gw:wf:due', $day), $score,
    'the Wait is due when it was';

my $x = Workflow::wait_status($svc, $two, undef, 20);
is $x->{status}, 'SUCCEEDED', 'the 2 s Wait started before the restart '
    . 'fired after it' or diag explain $x;
is_deeply $x->{output}, 'woke', 'its output';

$x = Workflow::wait_status($svc, $beat, undef, 20);
is $x->{status}, 'FAILED', 'the callback without heartbeats fails after '
    . 'the restarts' or diag explain $x;
is $x->{error}, 'States.HeartbeatTimeout', 'with States.HeartbeatTimeout';

my ($st, $b) = Workflow::call($svc, 'POST', '/v1/tasks/heartbeat',
                              { token => $token });
is $st, 200, 'a heartbeat with the token after the restarts'
    or diag explain $b;
($st, $b) = Workflow::call($svc, 'POST', '/v1/tasks/success',
                           { token => $token, output => { answer => 'yes' } });
is $st, 200, 'the callback is completed after the restarts'
    or diag explain $b;
$x = Workflow::wait_status($svc, $ask, undef, 20);
is $x->{status}, 'SUCCEEDED', 'the callback execution succeeds';
is_deeply $x->{output}, { answer => 'yes' }, 'with the output sent';

($st) = Workflow::call($svc, 'POST', "/v1/executions/$day/stop", {});
ok $st == 200 || $st == 202, 'the 24 h Wait is stopped';

# ---- (b) kill -9 under load, two instances sharing leases ------------------

my $N = 200;
sub step {
    my ($name, $next) = @_;
    return { Type => 'Task', Resource => 'tollgate:http',
             Parameters => { method => 'POST', url => $rx->url("/$name"),
                             body => { 'x.$' => '$$.Execution.Id',
                                       's.$' => '$$.State.Name' } },
             ResultPath => undef,
             $next ? (Next => $next) : (End => $T) };
}
ok_define('three', { StartAt => 'One', States => {
    One => step('one', 'Two'), Two => step('two', 'Three'),
    Three => step('three') } });

$rx->reset;
$rx->configure(delay => 0.02);

my $other = Workflow::start(env => \%env);
my %ids;
my ($killed, $seen, $back, $mid);
for my $i (1 .. $N) {
    # half started on each instance; once half of them are started, the
    # other instance is killed (-9) in the middle of its work, and
    # started again 1.5 s later (its leases run out meanwhile)
    my $to = $killed && !$back ? $svc : ($svc, $other)[$i % 2];
    my $id = Workflow::start_execution($to, 'three', name => "load-$i",
                                       input => { i => $i });
    $ids{$id} = $i;
    if (!$killed && $i >= $N / 2) {
        $seen = $rx->requests;
        Workflow::kill9($other);
        $killed = time;
    }
    if ($killed && !$back && time - $killed > 1.5) {
        $mid = $rx->requests;
        $other = Workflow::restart($other);
        $back = 1;
    }
}
if (!$back) {
    sleep 1.5 - (time - $killed) if time - $killed < 1.5;
    $mid = $rx->requests;
    $other = Workflow::restart($other);
}
is scalar(keys %ids), $N, "$N executions started on two instances, one "
    . 'killed (-9) and started again meanwhile';
note "requests when killed: $seen; when started again: $mid";

my %pending = %ids;
my %status;
my $deadline = time + 60;
while (%pending && time < $deadline) {
    for my $id (keys %pending) {
        my $x = Workflow::describe($svc, $id) or next;
        next if ($x->{status} // '') eq 'RUNNING';
        $status{ $x->{status} }++;
        diag "$id: $x->{status} $x->{error}: $x->{cause}"
            if $x->{status} ne 'SUCCEEDED';
        delete $pending{$id};
    }
    sleep 0.2 if %pending;
}
is $status{SUCCEEDED} // 0, $N, "all $N executions succeeded"
    or diag explain { %status, pending => scalar keys %pending };

my (%keys, %count);
for my $r ($rx->requests) {
    my $body = eval { $JSON->decode($r->{body}) } or next;
    my $k = "$body->{x} $body->{s}";
    $count{$k}++;
    $keys{$k}{ $r->{headers}{'idempotency-key'} // '' } = 1;
}
my @missing;
for my $id (sort keys %ids) {
    for my $s (qw(One Two Three)) {
        push @missing, "$id $s" unless $count{"$id $s"};
    }
}
is scalar(@missing), 0, 'every task state of every execution was '
    . 'delivered at least once' or diag explain [ @missing[0 .. 9] ];
my @two_keys = grep { keys %{ $keys{$_} } != 1 } sort keys %keys;
is scalar(@two_keys), 0, 'one Idempotency-Key per (execution, state): '
    . 'a redelivery reuses it'
    or diag explain { map { $_ => [ sort keys %{ $keys{$_} } ] }
                      @two_keys[0 .. 4] };
ok !grep({ !$_ } map { keys %$_ } values %keys),
    'every request carried an Idempotency-Key';
# each transition stored once: per execution, each state entered once and
# succeeded once in the history, whatever the deliveries
my @twice;
for my $id (sort keys %ids) {
    my %n;
    $n{"$_->{type} " . ($_->{state} // '')}++
        for grep { ($_->{type} // '') =~ /^(TaskStateEntered|TaskSucceeded)$/ }
            Workflow::history($svc, $id);
    my @bad = grep { $n{$_} != 1 } map { ("TaskStateEntered $_",
                                          "TaskSucceeded $_") }
                                     qw(One Two Three);
    push @twice, "$id: @bad" if @bad;
}
is scalar(@twice), 0, 'every history holds each state entered once and '
    . 'succeeded once' or diag explain [ @twice[0 .. 4] ];

my $dups = 0;
$dups += $_ - 1 for values %count;
diag "duplicate deliveries (at-least-once after the kill -9): $dups of "
    . scalar($rx->requests) . ' requests';

# the same with a Map: 20 executions of 10 items each (at most 4 at once),
# each item an HTTP task; the other instance killed (-9) again mid-way
ok_define('fan', { StartAt => 'Each', States => {
    Each => { Type => 'Map', ItemsPath => '$.items', MaxConcurrency => 4,
              ItemProcessor => { StartAt => 'Call', States => {
                  Call => { Type => 'Task', Resource => 'tollgate:http',
                            Parameters => { method => 'POST',
                                            url => $rx->url('/item'),
                                            body => { 'item.$' => '$' } },
                            ResultSelector => { 'status.$' => '$.StatusCode' },
                            End => $T } } },
              End => $T } } });
$rx->reset;
my %fan;
for my $i (1 .. 20) {
    my $id = Workflow::start_execution(($svc, $other)[$i % 2], 'fan',
        input => { items => [ map { "f$i-$_" } 1 .. 10 ] });
    $fan{$id} = $i;
}
Workflow::eventually(sub { $rx->requests >= 60 }, 20);
Workflow::kill9($other);
sleep 1;
$other = Workflow::restart($other);
my %fst;
$deadline = time + 60;
my %fleft = %fan;
while (%fleft && time < $deadline) {
    for my $id (keys %fleft) {
        my $x = Workflow::describe($svc, $id) or next;
        next if ($x->{status} // '') eq 'RUNNING';
        $fst{ $x->{status} }++;
        diag "$id: $x->{status} $x->{error}: $x->{cause}"
            if $x->{status} ne 'SUCCEEDED';
        is_deeply $x->{output}, [ ({ status => 200 }) x 10 ],
            "$id: ten results in order" if $x->{status} eq 'SUCCEEDED';
        delete $fleft{$id};
    }
    sleep 0.2 if %fleft;
}
is $fst{SUCCEEDED} // 0, 20, 'the 20 Maps succeeded across the kill -9'
    or diag explain { %fst, pending => scalar keys %fleft };
my (%ik, %ic);
for my $r ($rx->requests) {
    my $body = eval { $JSON->decode($r->{body}) } or next;
    $ic{ $body->{item} }++;
    $ik{ $body->{item} }{ $r->{headers}{'idempotency-key'} // '' } = 1;
}
is scalar(keys %ic), 200, 'each of the 200 items was delivered';
is scalar(grep { keys %{ $ik{$_} } != 1 } keys %ik), 0,
    'one Idempotency-Key per item';
my $fdup = 0;
$fdup += $_ - 1 for values %ic;
diag "Map items delivered again after the kill -9: $fdup";

Workflow::stop($other);

# ---- (c) Redis down while executions run -----------------------------------

# ten parked in a 2 s Wait, and twenty running their three tasks (the
# target answers in 100 ms): answers come back while Redis is down
my @pause;
push @pause, scalar Workflow::start_execution($svc, 'two', input => {})
    for 1 .. 10;
$rx->reset;
$rx->configure(delay => 0.1);
my @busy;
push @busy, scalar Workflow::start_execution($svc, 'three', input => {})
    for 1 .. 20;
Workflow::eventually(sub { $rx->requests >= 10 }, 10);
$redis->kill;

($st, $b, my $h) = Workflow::call($svc, 'GET', "/v1/executions/$pause[0]");
is $st, 503, 'Redis down: a describe answers 503' or diag explain $b;
like $h->{'content-type'} // '', qr{^application/problem\+json},
    'as problem+json';
($st, $b, $h) = Workflow::call($svc, 'POST', '/v1/executions',
                               { definition => 'two', input => {} });
is $st, 503, 'a start answers 503';
ok ref $b && $b->{status} && $b->{status} == 503 && $b->{title},
    'a problem document' or diag explain $b;
($st) = Workflow::call($svc, 'POST', '/v1/tasks/success',
                       { token => $token, output => {} });
is $st, 503, 'a task-token call answers 503';

sleep 2.5;      # the waits come due meanwhile
ok kill(0, $svc->{pid}), 'the service still runs';

$redis->restart;
my %left = map { $_ => 1 } @pause, @busy;
$deadline = time + 30;
while (%left && time < $deadline) {
    for my $id (keys %left) {
        my $x = Workflow::describe($svc, $id) or next;
        delete $left{$id} if ($x->{status} // '') eq 'SUCCEEDED';
    }
    sleep 0.2 if %left;
}
is scalar(keys %left), 0, 'every execution succeeds once Redis is back'
    or diag explain [ map { Workflow::describe($svc, $_) } keys %left ];
($st) = Workflow::call($svc, 'POST', '/v1/executions',
                       { definition => 'two', input => {} });
is $st, 201, 'and new ones start';
my %busy = map { $_ => 1 } @busy;
my (%k, %c);
for my $r ($rx->requests) {
    my $body = eval { $JSON->decode($r->{body}) } or next;
    next unless $busy{ $body->{x} };
    $c{"$body->{x} $body->{s}"}++;
    $k{"$body->{x} $body->{s}"}{ $r->{headers}{'idempotency-key'} } = 1;
}
is scalar(keys %c), 60, 'each task of the twenty was delivered';
is scalar(grep { keys %{ $k{$_} } != 1 } keys %k), 0,
    'one Idempotency-Key per (execution, state) across the outage';
my $again = 0;
$again += $_ - 1 for values %c;
diag "deliveries again across the Redis outage: $again";

# ---- (d) SIGTERM with tasks in flight ---------------------------------------

# the tasks answer in 1 s; the stop comes while they are out: the service
# waits for them (drain_timeout 5 s), exits 0, and its executions go on
# after a restart without a task sent twice by another key
ok_define('slow', { StartAt => 'Call', States => {
    Call => { Type => 'Task', Resource => 'tollgate:http',
              Parameters => { method => 'POST', url => $rx->url('/slow'),
                              body => { 'x.$' => '$$.Execution.Id' } },
              ResultPath => undef, Next => 'Then' },
    Then => { Type => 'Task', Resource => 'tollgate:http',
              Parameters => { method => 'POST', url => $rx->url('/then'),
                              body => { 'x.$' => '$$.Execution.Id' } },
              ResultPath => undef, End => $T } } });
$rx->reset;
$rx->configure(delay => 0);
$rx->script('/slow', [], 200, 1);
$svc->{env}{DRAIN_TIMEOUT} = '5s';
$svc = Workflow::restart($svc);
my @slow = map { scalar Workflow::start_execution($svc, 'slow') } 1 .. 10;
Workflow::eventually(sub { $rx->requests >= 10 }, 10);
is Workflow::stop($svc), 0, 'SIGTERM with ten tasks in flight: exit 0';
$svc = Workflow::restart($svc);
%left = map { $_ => 1 } @slow;
$deadline = time + 30;
while (%left && time < $deadline) {
    for my $id (keys %left) {
        my $x = Workflow::describe($svc, $id) or next;
        delete $left{$id} if ($x->{status} // '') eq 'SUCCEEDED';
    }
    sleep 0.2 if %left;
}
is scalar(keys %left), 0, 'the ten succeed after the restart';
my %sk;
for my $r ($rx->requests) {
    my $body = eval { $JSON->decode($r->{body}) } or next;
    $sk{"$body->{x} $r->{path}"}{ $r->{headers}{'idempotency-key'} } = 1;
}
is scalar(keys %sk), 20, 'each task of each sent';
is scalar(grep { keys %{ $sk{$_} } != 1 } keys %sk), 0,
    'one Idempotency-Key each';
is scalar(grep { $_->{path} eq '/slow' } $rx->requests), 10,
    'the tasks in flight at the stop were not sent again (drained)';

is Workflow::stop($svc), 0, 'the service stops cleanly';

done_testing;
