# The saga pattern end to end (issue 20, point 3; docs/workflow.md,
# "Compensation (sagas)"): a trip that reserves a flight, a hotel and a
# car with tollgate:http tasks against a receiver.  The car answers 409:
# the Catch sends the execution to its compensation, which undoes what
# was reserved in reverse order (the hotel, then the flight), each undo
# retried on States.ALL until it succeeds (the hotel's cancel answers 503
# twice first); the execution ends FAILED with the car's error.  The same
# compensation runs when an execution parked in a Wait after two
# reservations is stopped with "compensate": the cancels are sent and it
# ends ABORTED; an execution waiting for a callback is compensated too,
# and its token is void afterwards.  A stop while a task is in flight:
# the task's late answer changes nothing.  And a redrive: an execution
# failed at a task (500, no Retry) is redriven once the target is fixed
# and succeeds, redrives 1, its history showing ExecutionRedriven.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin";
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Redis;
use WfReceiver;
use Workflow;

Workflow::skip_unless_built();

my $T = JSON::PP::true;

my $redis = Tollgate::Redis->start;
my $rx = WfReceiver->new(default => 200);
my $svc = Workflow::start(env => { REDIS => $redis->address,
                                   MOCKS => undef });

sub http {
    my ($path, %more) = @_;
    return { Type => 'Task', Resource => 'tollgate:http',
             Parameters => {
                 method => 'POST', url => $rx->url($path),
                 headers => { 'Content-Type' => 'application/json' },
                 body => { 'trip.$' => '$.trip' },
                 timeout_seconds => 10 },
             %more };
}

sub undo {
    my ($path, %more) = @_;
    return http($path, ResultPath => undef,
                Retry => [ { ErrorEquals => ['States.ALL'],
                             IntervalSeconds => 1, BackoffRate => 1,
                             MaxAttempts => 10 } ],
                %more);
}

# the trip: every reservation's failure goes to Compensate, which undoes
# what the input says was reserved, newest first; StopExecution with
# "compensate" enters Compensate too (the definition's "compensation")
sub trip {
    my (%opt) = @_;
    my $catch = [ { ErrorEquals => ['States.ALL'], ResultPath => '$.error',
                    Next => 'Compensate' } ];
    my %states = (
        ReserveFlight => http('/reserve-flight', ResultPath => '$.flight',
                              Catch => $catch,
                              Next => 'ReserveHotel'),
        ReserveHotel => http('/reserve-hotel', ResultPath => '$.hotel',
                             Catch => $catch,
                             Next => $opt{hold} ? 'Hold' : 'ReserveCar'),
        ReserveCar => http('/reserve-car', ResultPath => '$.car',
                           Catch => $catch, Next => 'Booked'),
        Booked => { Type => 'Succeed' },
        Compensate => { Type => 'Choice',
                        Choices => [
                            { Variable => '$.hotel', IsPresent => $T,
                              Next => 'CancelHotel' },
                            { Variable => '$.flight', IsPresent => $T,
                              Next => 'CancelFlight' } ],
                        Default => 'Undone' },
        CancelHotel => undo('/cancel-hotel', Next => 'CancelFlight'),
        CancelFlight => undo('/cancel-flight', Next => 'Undone'),
        Undone => { Type => 'Choice',
                    Choices => [ { Variable => '$.error',
                                   IsPresent => $T,
                                   Next => 'TripFailed' } ],
                    Default => 'Compensated' },
        TripFailed => { Type => 'Fail', ErrorPath => '$.error.Error',
                        CausePath => '$.error.Cause' },
        Compensated => { Type => 'Succeed' },
    );
    $states{Hold} = { Type => 'Wait', Seconds => 3600, Next => 'ReserveCar' }
        if $opt{hold};
    return { Comment => 'a trip: flight, hotel, car; undone on failure',
             StartAt => 'ReserveFlight', States => \%states };
}

sub paths { join ' ', $rx->paths }

my @audit;      # [execution id, action]: the audit events expected

# ---- the saga: the car fails, the hotel then the flight are undone ---------

{
    my ($st, $b) = Workflow::define($svc, 'trip', trip(),
                                    compensation => 'Compensate');
    is $st, 201, 'the trip is defined, with its compensation'
        or diag explain $b;

    $rx->script('/reserve-car', [409]);
    $rx->script('/cancel-hotel', [503, 503], 200);

    my $id = Workflow::start_execution($svc, 'trip',
                                       input => { trip => 't-1' });
    my $x = Workflow::wait_status($svc, $id, undef, 40);
    is $x->{status}, 'FAILED', 'the trip ends FAILED' or diag explain $x;
    is $x->{error}, 'States.Http.StatusCode.409',
        "with the car's error (the final Fail's ErrorPath)";
    is paths(), '/reserve-flight /reserve-hotel /reserve-car '
                . '/cancel-hotel /cancel-hotel /cancel-hotel /cancel-flight',
        'reserved flight, hotel, car; then cancelled the hotel (retried '
        . 'twice) and the flight, in that order';

    my @req = $rx->requests;
    is scalar(grep { ($_->{headers}{'idempotency-key'} // '') ne '' } @req),
        scalar @req, 'every task request carries an Idempotency-Key';
    my %keys = map { ($_->{headers}{'idempotency-key'} // '') => 1 }
               grep { $_->{path} eq '/cancel-hotel' } @req;
    is scalar(keys %keys), 3, 'each retry of the cancel is an attempt of '
        . 'its own (its own key)';
    ok !grep({ !$_->{headers}{traceparent} } @req),
        'every task request carries a traceparent';
    is_deeply [ map { $_->{body} } @req[0 .. 2] ],
        [ ('{"trip":"t-1"}') x 3 ], 'the payload is the Parameters\' body'
        or diag explain [ map { $_->{body} } @req ];

    my @ev = Workflow::history($svc, $id, limit => 7);
    is join(',', map { $_->{id} } @ev), join(',', 1 .. scalar @ev),
        'the history read by pages of 7: ids 1 to n, each once';
    my @bad = grep { !($_->{type} && ($_->{timestamp} // '')
                       =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/) } @ev;
    is scalar(@bad), 0, 'every event has a type and an RFC 3339 timestamp'
        or diag explain [ @bad[0 .. 2] ];
    @bad = grep { ($_->{type} // '') =~ /^(Task|State)/ && !$_->{state} } @ev;
    is scalar(@bad), 0, "every state's or task's event names its state"
        or diag explain [ @bad[0 .. 2] ];
    my @types = Workflow::types(@ev);
    ok scalar(grep { $_ eq 'StateRetried' } @types) >= 2,
        'the history shows the retries' or diag "@types";
    is $types[0], 'ExecutionStarted', 'the history starts with '
        . 'ExecutionStarted';
    is $types[-1], 'ExecutionFailed', 'and ends with ExecutionFailed';
    # a retry enters the state again (as lib/asl's local runner records
    # it): consecutive entries of one state count once
    my @entered;
    for (grep { ($_->{type} // '') =~ /StateEntered$/ } @ev) {
        my $s = $_->{state} // $_->{name} // '';
        push @entered, $s unless @entered && $entered[-1] eq $s;
    }
    is "@entered", 'ReserveFlight ReserveHotel ReserveCar Compensate '
                   . 'CancelHotel CancelFlight Undone TripFailed',
        'the states entered, in order' or diag explain \@ev;
}

# ---- StopExecution with compensate, parked in a Wait -----------------------

{
    $rx->reset;
    $rx->script('/reserve-car', []);
    $rx->script('/cancel-hotel', []);
    my ($st, $b) = Workflow::define($svc, 'trip-hold', trip(hold => 1),
                                    compensation => 'Compensate');
    is $st, 201, 'a trip that holds after the hotel is defined'
        or diag explain $b;

    my $id = Workflow::start_execution($svc, 'trip-hold',
                                       input => { trip => 't-2' });
    my $x = Workflow::eventually(sub {
        my $x = Workflow::describe($svc, $id);
        return $x && ($x->{state} // '') eq 'Hold' ? $x : undef;
    }, 20);
    is $x && $x->{status}, 'RUNNING', 'parked in the Wait, RUNNING'
        or diag explain $x;
    is paths(), '/reserve-flight /reserve-hotel', 'after two reservations';

    push @audit, [ $id, 'stop|compensate' ];
    ($st, $b) = Workflow::call($svc, 'POST', "/v1/executions/$id/stop",
                               { error => 'Trip.Cancelled',
                                 cause => 'the traveller changed plans',
                                 compensate => $T });
    ok $st == 200 || $st == 202, "stop with compensate: $st"
        or diag explain $b;

    $x = Workflow::wait_status($svc, $id, undef, 30);
    is $x->{status}, 'ABORTED', 'the execution ends ABORTED'
        or diag explain $x;
    is $x->{error}, 'Trip.Cancelled', 'with the stop\'s error';
    is paths(), '/reserve-flight /reserve-hotel /cancel-hotel '
                . '/cancel-flight',
        'its compensation ran: the hotel, then the flight, cancelled; the '
        . 'car never reserved'
        or diag explain [ map { "$_->{type} " . ($_->{state} // '') }
                         Workflow::history($svc, $id) ];
    my @types = Workflow::types(Workflow::history($svc, $id));
    is $types[-1], 'ExecutionAborted', 'its history ends with '
        . 'ExecutionAborted' or diag "@types";

    # a stop without compensate: aborted at once, nothing sent
    $rx->reset;
    $id = Workflow::start_execution($svc, 'trip-hold',
                                    input => { trip => 't-3' });
    Workflow::eventually(sub {
        ((Workflow::describe($svc, $id) || {})->{state} // '') eq 'Hold'
    }, 20);
    Workflow::eventually(sub { $rx->requests == 2 }, 20);
    ($st) = Workflow::call($svc, 'POST', "/v1/executions/$id/stop", {});
    ok $st == 200 || $st == 202, "a plain stop: $st";
    $x = Workflow::wait_status($svc, $id, undef, 10);
    is $x->{status}, 'ABORTED', 'ends ABORTED';
    sleep 0.5;
    is paths(), '/reserve-flight /reserve-hotel', 'no compensation ran';

    ($st, $b) = Workflow::call($svc, 'POST', "/v1/executions/$id/stop", {});
    ok $st == 409 || $st == 200, "a second stop of an ended execution: $st";
}

# ---- a stop while a task is in flight: its late answer changes nothing -----

{
    $rx->reset;
    $rx->script('/slow-reserve', [], 200, 1.5);
    my ($st, $b) = Workflow::define($svc, 'slow', {
        StartAt => 'Reserve',
        States => {
            Reserve => http('/slow-reserve', ResultPath => '$.r',
                            Next => 'After'),
            After => http('/after', ResultPath => '$.a', End => $T),
        } }, compensation => undef);
    is $st, 201, 'a slow reservation is defined' or diag explain $b;
    my $id = Workflow::start_execution($svc, 'slow',
                                       input => { trip => 't-5' });
    ok Workflow::eventually(sub { scalar $rx->requests }, 10),
        'its task is in flight';
    ($st) = Workflow::call($svc, 'POST', "/v1/executions/$id/stop",
                           { error => 'Stop.Now' });
    ok $st == 200 || $st == 202, "stopped meanwhile: $st";
    sleep 2.5;      # the answer came back meanwhile
    my $x = Workflow::describe($svc, $id);
    is $x->{status}, 'ABORTED', 'still ABORTED after the late answer';
    is $x->{error}, 'Stop.Now', 'with the stop\'s error';
    is paths(), '/slow-reserve', 'the next state never ran';
    my @types = Workflow::types(Workflow::history($svc, $id));
    is $types[-1], 'ExecutionAborted', 'nothing recorded after the abort'
        or diag "@types";
}

# ---- compensation of an execution waiting for a callback -------------------

{
    $rx->reset;
    my $catch = [ { ErrorEquals => ['States.ALL'], ResultPath => '$.error',
                    Next => 'Undo' } ];
    my ($st, $b) = Workflow::define($svc, 'approve', {
        StartAt => 'Reserve',
        States => {
            Reserve => http('/reserve-room', ResultPath => '$.room',
                            Catch => $catch, Next => 'Approve'),
            Approve => { Type => 'Task',
                         Resource => 'tollgate:http.waitForTaskToken',
                         Parameters => { method => 'POST',
                                         url => $rx->url('/approve'),
                                         body => { 'token.$' =>
                                                   '$$.Task.Token' } },
                         ResultPath => '$.approval', Catch => $catch,
                         End => $T },
            Undo => undo('/cancel-room', End => $T),
        } }, compensation => 'Undo');
    is $st, 201, 'a reservation waiting for an approval' or diag explain $b;
    my $id = Workflow::start_execution($svc, 'approve',
                                       input => { trip => 't-6' });
    my $token = Workflow::eventually(sub {
        for ($rx->requests) {
            next unless $_->{path} eq '/approve';
            my $b = eval { Workflow::json()->decode($_->{body}) };
            return $b->{token} if $b && $b->{token};
        }
        return undef;
    }, 10);
    ok $token, 'it waits for its approval (token sent)';
    ($st) = Workflow::call($svc, 'POST', "/v1/executions/$id/stop",
                           { compensate => $T,
                             error => 'Approval.Withdrawn' });
    ok $st == 200 || $st == 202, "stopped with compensate: $st";
    my $x = Workflow::wait_status($svc, $id, undef, 20);
    is $x->{status}, 'ABORTED', 'ABORTED once compensated';
    is paths(), '/reserve-room /approve /cancel-room',
        'the room was cancelled';
    ($st) = Workflow::call($svc, 'POST', '/v1/tasks/success',
                           { token => $token, output => {} });
    ok $st == 404 || $st == 409, "the approval's token is void: $st";
    is Workflow::describe($svc, $id)->{status}, 'ABORTED', 'still ABORTED';
}

# ---- the caller's trace goes on into the tasks ------------------------------

{
    $rx->reset;
    my $trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    my $id = Workflow::start_execution($svc, 'trip',
        input => { trip => 't-7' },
        headers => { traceparent => "00-$trace-00f067aa0ba902b7-01" });
    Workflow::wait_status($svc, $id, undef, 30);
    my @req = $rx->requests;
    ok @req >= 3, 'the trip ran its tasks';
    is scalar(grep { ($_->{headers}{traceparent} // '') =~ /^00-$trace-/ }
              @req), scalar @req,
        "every task request continues the caller's trace"
        or diag explain [ map { $_->{headers}{traceparent} } @req ];
    my %span = map { ($_->{headers}{traceparent} // '') => 1 } @req;
    ok !$span{"00-$trace-00f067aa0ba902b7-01"},
        "each with a span of the service's own";
}

# ---- redrive: failed at a task, redriven once fixed ------------------------

{
    $rx->reset;
    $rx->script('/charge', [500]);
    my ($st, $b) = Workflow::define($svc, 'pay', {
        StartAt => 'Prepare',
        States => {
            Prepare => { Type => 'Pass', Result => 'ready',
                         ResultPath => '$.prepared', Next => 'Charge' },
            Charge => http('/charge', ResultPath => '$.charge',
                           Next => 'Ship'),
            Ship => http('/ship', ResultPath => '$.ship', End => $T),
        } });
    is $st, 201, 'a payment is defined' or diag explain $b;

    my $id = Workflow::start_execution($svc, 'pay',
                                       input => { trip => 't-4' });
    my $x = Workflow::wait_status($svc, $id, undef, 20);
    is $x->{status}, 'FAILED', 'the charge answered 500: FAILED';
    is $x->{error}, 'States.Http.StatusCode.500', 'with its status code';

    # the target is fixed (the script is spent: 200 from now on)
    push @audit, [ $id, 'start' ], [ $id, 'redrive' ];
    ($st, $b) = Workflow::call($svc, 'POST', "/v1/executions/$id/redrive");
    ok $st == 200 || $st == 202, "redrive: $st" or diag explain $b;
    $x = Workflow::wait_status($svc, $id, undef, 20);
    is $x->{status}, 'SUCCEEDED', 'the redriven execution succeeds'
        or diag explain $x;
    is $x->{redrives} // $x->{redrive_count}, 1, 'redrives: 1';
    is paths(), '/charge /charge /ship', 'from the failed state: Prepare '
        . 'not run again, the charge sent again, then the shipping';
    my @req = grep { $_->{path} eq '/charge' } $rx->requests;
    isnt $req[0]{headers}{'idempotency-key'},
        $req[1]{headers}{'idempotency-key'},
        'the redriven charge is a new attempt (a key of its own)';
    my @types = Workflow::types(Workflow::history($svc, $id));
    ok scalar(grep { $_ eq 'ExecutionRedriven' } @types),
        'the history shows ExecutionRedriven' or diag "@types";
    is $types[-1], 'ExecutionSucceeded', 'and ends with ExecutionSucceeded';

    ($st, $b) = Workflow::call($svc, 'POST', "/v1/executions/$id/redrive");
    is $st, 409, 'a succeeded execution cannot be redriven';
}

# metrics per definition
ok Workflow::metric($svc, 'workflow_executions_started_total'
                          . '{definition="trip"}') >= 2,
    'metrics: trips started';
ok Workflow::metric($svc, 'workflow_executions_ended_total'
                          . '{definition="trip",status="FAILED"}') >= 1,
    'metrics: a trip failed';
ok Workflow::metric($svc, 'workflow_executions_ended_total'
                          . '{definition="trip-hold",status="ABORTED"}') >= 2,
    'metrics: trips aborted';
ok Workflow::metric($svc, 'workflow_execution_seconds_count'
                          . '{definition="pay"}') >= 1,
    'metrics: the durations of the payments';

# the audit stream: an event per start, stop and redrive, by the caller
{
    my %seen;
    for my $e (@{ Workflow::cmd($redis->port, 'XRANGE', 'gw:audit', '-',
                                '+') || [] }) {
        my %f = @{ $e->[1] };
        my $ev = eval { Workflow::json()->decode($f{event}) } or next;
        my ($xid) = ($ev->{resource} // '') =~ m{^/v1/executions/([^/]+)};
        $seen{"$xid $ev->{action}"} = $ev if $xid;
    }
    for (@audit) {
        my ($id, $re) = @$_;
        my ($ev) = map { $seen{$_} }
                   grep { /^\Q$id\E (?:$re)$/ } keys %seen;
        ok $ev && $ev->{actor} eq 'wf-admin' && $ev->{status} =~ /^20/,
            "audit: $_->[1] of $_->[0], by its caller"
            or diag explain [ sort keys %seen ];
    }
}

ok !kill(0, $svc->{pid}) || Workflow::stop($svc) == 0,
    'the service stops cleanly';
is scalar(Workflow::errors($svc)), 0, 'no error logged'
    or diag explain [ Workflow::errors($svc) ];

done_testing;
