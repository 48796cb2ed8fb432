# The workflow service's API (backends/workflow/wf_def*.c, wf_api*.c,
# docs/workflow.md "The service"): definitions and their versions, a
# start's idempotency by name, describe, lists with cursors, history
# pages, stop (abort and compensate), redrive after a mocked failure,
# the task-token calls, owners kept apart, and bad inputs refused with a
# problem each.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin";
use lib "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Redis;
use Workflow;

Workflow::skip_unless_built();

my $JSON = Workflow::json();
my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my $svc = Workflow::start(env => { REDIS => $redis->address }, wait => 1);

sub r { Service::resp_cmd($port, @_) }
sub call { Workflow::call($svc, @_) }

my $alice = Workflow::as('alice');
my $bob = Workflow::as('bob');

my $pass = { StartAt => 'A', States => { A => { Type => 'Pass', End => \1 } } };
my $wait = { StartAt => 'W',
             States => { W => { Type => 'Wait', Seconds => 3600,
                                End => \1 } } };

# ---- definitions ----------------------------------------------------------

{
    my ($st, $b) = call('POST', '/v1/definitions',
                        { name => 'p1', definition => $pass,
                          description => 'a pass' });
    is($st, 201, 'definition created');
    is($b->{version}, 1, 'version 1');
    is($b->{name}, 'p1', 'its name');

    ($st, $b) = call('POST', '/v1/definitions',
                     { name => 'p1', definition => $pass });
    is($st, 409, 'the same name again: 409');

    ($st, $b) = call('PUT', '/v1/definitions/p1', { definition => $wait });
    is($st, 201, 'a new version by PUT');
    is($b->{version}, 2, 'version 2');

    ($st, $b) = call('GET', '/v1/definitions/p1');
    is($b->{version}, 2, 'GET: the latest');
    ($st, $b) = call('GET', '/v1/definitions/p1/versions/1');
    is($st, 200, 'version 1 kept');
    is($b->{definition}{StartAt}, 'A', 'version 1 as stored');
    ($st, $b) = call('GET', '/v1/definitions/p1/versions/9');
    is($st, 404, 'no version 9');

    ($st, $b) = call('POST', '/v1/definitions',
                     { name => 'p2', definition => $pass }, $alice);
    is($st, 403, 'writes need an admin');

    ($st, $b) = call('POST', '/v1/definitions',
                     { name => 'bad', definition => { StartAt => 'X',
                                                      States => {} } });
    is($st, 422, 'an invalid definition: 422');
    ok(defined $b->{pointer}, 'the refusal names a pointer');

    ($st, $b) = call('POST', '/v1/definitions',
                     { name => 'p3', definition => $pass,
                       compensation => 'Nope' });
    is($st, 422, 'compensation must name a top state');

    ($st, $b) = call('POST', '/v1/definitions',
                     { name => 'gone', definition => $pass });
    ($st) = call('DELETE', '/v1/definitions/gone');
    is($st, 204, 'deleted');
    ($st) = call('GET', '/v1/definitions/gone');
    is($st, 404, 'a deleted definition is not listed');
    ($st, $b) = Workflow::start_execution($svc, 'gone');
    is($st, 409, 'a deleted definition starts nothing');
    ($st, $b) = Workflow::start_execution($svc, 'never');
    is($st, 404, 'an unknown definition: 404');

    for my $i (1 .. 5) {
        call('POST', '/v1/definitions',
             { name => "list$i", definition => $pass });
    }
    my (@names, $cursor);
    for (1 .. 20) {
        my $q = '/v1/definitions?limit=2'
                . (defined $cursor ? "&cursor=$cursor" : '');
        ($st, $b) = call('GET', $q);
        push @names, @{ $b->{definitions} };
        $cursor = $b->{next};
        last unless defined $cursor;
    }
    is(scalar(grep { /^list\d$/ } @names), 5, 'all names by pages of 2');
}

# ---- starts: idempotency, describe ----------------------------------------

call('POST', '/v1/definitions', { name => 'w', definition => $wait });

{
    my ($st, $b) = Workflow::start_execution($svc, 'w', name => 'n1',
                                             input => { a => 1, b => 2 },
                                             headers => $alice);
    is($st, 201, 'started');
    like($b->{id}, qr/^wx_[0-9A-HJKMNP-TV-Z]{26}$/, 'an id');
    my $id = $b->{id};

    ($st, $b) = Workflow::start_execution($svc, 'w', name => 'n1',
                                          input => { b => 2, a => 1 },
                                          headers => $alice);
    is($st, 200, 'same name, same input: 200');
    is($b->{id}, $id, 'the same execution');

    ($st, $b) = Workflow::start_execution($svc, 'w', name => 'n1',
                                          input => { a => 2 },
                                          headers => $alice);
    is($st, 409, 'same name, another input: 409');
    ($st, $b) = Workflow::start_execution($svc, 'w', name => 'n1',
                                          input => { a => 1, b => 2 },
                                          headers => $bob);
    is($st, 409, "alice's name, bob's start: 409");
    ok(!exists $b->{id}, 'naming nothing of hers');

    my $x = Workflow::describe($svc, $id, $alice);
    is($x->{status}, 'RUNNING', 'described: RUNNING');
    is($x->{definition}, 'w', 'its definition');
    is($x->{version}, 1, 'its version');
    is_deeply($x->{input}, { a => 1, b => 2 }, 'its input');
    like($x->{start}, qr/^\d{4}-\d\d-\d\dT/, 'start in RFC 3339');

    ok(!Workflow::describe($svc, $id, $bob), "bob does not see alice's");
    ($st) = call('POST', "/v1/executions/$id/stop", {}, $bob);
    is($st, 404, "bob cannot stop alice's");

    # history
    sleep 0.3;
    my @ev = Workflow::history($svc, $id, limit => 1);
    is($ev[0]{type}, 'ExecutionStarted', 'history begins with the start');
    ok(@ev >= 2, 'and the engine wrote more');
    ($st, $b) = call('GET', "/v1/executions/$id/history?order=desc&limit=1");
    is($b->{events}[0]{id}, scalar(@ev), 'desc: the newest first');
    my ($cur, @desc) = ('');
    for (1 .. 100) {
        ($st, $b) = call('GET', "/v1/executions/$id/history?order=desc"
                         . "&limit=1&cursor=$cur");
        push @desc, @{ $b->{events} };
        last unless defined $b->{next};
        $cur = $b->{next};
    }
    is_deeply([map { $_->{id} } @desc], [reverse map { $_->{id} } @ev],
              'desc pages: every event, newest first');

    # stop
    ($st, $b) = call('POST', "/v1/executions/$id/stop",
                     { error => 'Halt', cause => 'test' }, $alice);
    is($st, 200, 'stopped');
    is($b->{status}, 'ABORTED', 'ABORTED at once');
    is($b->{error}, 'Halt', 'with its error');
    ($st) = call('POST', "/v1/executions/$id/stop", {}, $alice);
    is($st, 409, 'stopping an ended one: 409');
    @ev = Workflow::history($svc, $id);
    is($ev[-1]{type}, 'ExecutionAborted', 'ExecutionAborted recorded');
}

# ---- lists ----------------------------------------------------------------

{
    my @ids = map { scalar Workflow::start_execution($svc, 'w',
                                                    headers => $bob) }
              1 .. 5;
    my ($seen, $cursor) = ([]);
    for (1 .. 20) {
        my ($st, $b) = call('GET', '/v1/executions?limit=2'
                            . (defined $cursor ? "&cursor=$cursor" : ''),
                            undef, $bob);
        is($st, 200, 'a page') if !@$seen;
        push @$seen, map { $_->{id} } @{ Workflow::listed($b) };
        $cursor = $b->{next};
        last unless defined $cursor;
    }
    is_deeply($seen, [reverse @ids], "bob's, newest first, by pages");

    my ($st, $b) = call('GET', '/v1/executions?definition=w&status=ABORTED');
    ok(scalar(@{ Workflow::listed($b) }) >= 1, 'an admin lists by status');
    ($st, $b) = call('GET', '/v1/executions?status=NOPE');
    is($st, 400, 'a bad status: 400');
    ($st, $b) = call('GET', '/v1/executions?cursor=zz');
    is($st, 400, 'a bad cursor: 400');
    ($st, $b) = call('GET', '/v1/executions?limit=1001');
    is($st, 400, 'a limit past 1000: 400');
}

# ---- compensation ---------------------------------------------------------

{
    my $saga = { StartAt => 'T', States => {
        T => { Type => 'Task', Resource => 'tollgate:callback.waitForTaskToken',
               Catch => [ { ErrorEquals => ['States.ALL'], Next => 'Undo' } ],
               Next => 'Done' },
        Done => { Type => 'Succeed' },
        Undo => { Type => 'Pass', ResultPath => '$.undone', Result => 1,
                  End => \1 } } };
    my ($st, $b) = call('POST', '/v1/definitions',
                        { name => 'saga', definition => $saga,
                          compensation => 'Undo' });
    is($st, 201, 'a definition with compensation');
    my $id = Workflow::start_execution($svc, 'saga', input => { k => 1 });
    Workflow::wait_status($svc, $id, 'RUNNING', 5);
    sleep 0.3;
    ($st, $b) = call('POST', "/v1/executions/$id/stop",
                     { compensate => JSON::PP::true, error => 'E',
                       cause => 'c' });
    is($st, 200, "compensation started") or diag explain $b;
    my $x = Workflow::wait_status($svc, $id, 'ABORTED', 10);
    is($x->{status}, 'ABORTED', 'ended ABORTED after compensating');
    is($x->{error}, 'E', 'with the stop\'s error');
    is_deeply($x->{output}, { k => 1, undone => 1,
                              Stopped => { Error => 'E', Cause => 'c',
                                           State => 'T' } },
              'the compensation saw what stopped it');
    my @ev = Workflow::history($svc, $id);
    ok((grep { $_->{type} eq 'CompensationStarted' } @ev),
       'CompensationStarted recorded');
    ($st) = call('POST', "/v1/executions/$id/stop",
                 { compensate => JSON::PP::true });
    is($st, 409, 'an ended one is not compensated');

    $id = Workflow::start_execution($svc, 'w');
    ($st, $b) = call('POST', "/v1/executions/$id/stop",
                     { compensate => JSON::PP::true });
    is($st, 409, 'no compensation in the definition: 409');
}

# ---- a child workflow stopped: its parent's task fails --------------------

{
    my $par = { StartAt => 'Child', States => {
        Child => { Type => 'Task', Resource => 'tollgate:workflow:w',
                   End => \1 } } };
    my ($st, $b) = call('POST', '/v1/definitions',
                        { name => 'par', definition => $par });
    is($st, 201, 'a parent definition');
    my $pid = Workflow::start_execution($svc, 'par', headers => $alice);
    my $child = Workflow::eventually(sub {
        my (undef, $l) = call('GET', '/v1/executions?definition=w'
                              . '&status=RUNNING&limit=1000');
        my ($c) = grep { index($_->{name}, $pid) == 0 }
                  @{ Workflow::listed($l) };
        return $c ? $c->{id} : undef;
    }, 10);
    ok($child, 'the child started');
    my $cx = Workflow::describe($svc, $child, $alice);
    is(($cx || {})->{parent}, $pid, 'alice owns it, its parent named');
    ($st, $b) = call('POST', "/v1/executions/$child/stop", {}, $alice);
    is($st, 200, 'the child stopped');
    my $x = Workflow::wait_status($svc, $pid, undef, 10);
    is($x->{status}, 'FAILED', 'the parent failed');
    is($x->{error}, 'States.TaskFailed', 'with States.TaskFailed');
}

# ---- redrive --------------------------------------------------------------

{
    my $t = { StartAt => 'T', States => {
        T => { Type => 'Task', Resource => 'tollgate:http', End => \1 } } };
    call('POST', '/v1/definitions', { name => 'flaky', definition => $t });
    my $id = Workflow::start_execution($svc, 'flaky', mocks => {
        T => [ { Throw => { Error => 'Boom', Cause => 'first' } },
               { Return => { ok => 1 } } ] });
    my $x = Workflow::wait_status($svc, $id, undef, 10);
    is($x->{status}, 'FAILED', 'failed first');
    is($x->{error}, 'Boom', 'with the mock\'s error');

    my ($st, $b) = call('POST', "/v1/executions/$id/redrive");
    is($st, 200, 'redriven');
    $x = Workflow::wait_status($svc, $id, 'SUCCEEDED', 10);
    is($x->{status}, 'SUCCEEDED', 'then succeeded');
    is($x->{redrives}, 1, 'one redrive');
    is_deeply($x->{output}, { ok => 1 }, 'the second answer');
    ($st) = call('POST', "/v1/executions/$id/redrive");
    is($st, 409, 'a succeeded one is not redriven');
}

# ---- task tokens ----------------------------------------------------------

{
    my $cb = { StartAt => 'C', States => {
        C => { Type => 'Task', Resource => 'tollgate:callback.waitForTaskToken',
               Parameters => { 'token.$' => '$$.Task.Token' },
               HeartbeatSeconds => 60, End => \1 } } };
    call('POST', '/v1/definitions', { name => 'cb', definition => $cb });
    my $id = Workflow::start_execution($svc, 'cb');

    # the token, as the service makes it: HMAC(key, "<id> <seq>")
    my $x = Workflow::eventually(sub {
        my $ph = r('HGET', "gw:wf:x:$id", 'phase') // '';
        return $ph eq 'callback' ? 1 : undef;
    }, 10);
    my $seq = r('HGET', "gw:wf:x:$id", 'seq');
    my $tok = token($id, $seq);
    my ($st, $b) = call('POST', '/v1/tasks/heartbeat', { token => $tok });
    is($st, 200, 'heartbeat');
    ($st, $b) = call('POST', '/v1/tasks/success',
                     { token => $tok, output => { done => 1 } }, $bob);
    is($st, 200, 'success (any caller holding the token)');
    $x = Workflow::wait_status($svc, $id, 'SUCCEEDED', 10);
    is_deeply($x->{output}, { done => 1 }, 'the output sent');
    ($st, $b) = call('POST', '/v1/tasks/success',
                     { token => $tok, output => 1 });
    is($st, 404, 'a used token: 404');
    is($b->{type}, 'urn:tollgate:problem:task-not-found', 'task-not-found');
    ($st) = call('POST', '/v1/tasks/failure', { token => 'x' x 43 });
    is($st, 404, 'an unknown token: 404');
    ($st) = call('POST', '/v1/tasks/failure', { token => 'short' });
    is($st, 400, 'a malformed token: 400');
}

sub token {
    my ($id, $seq) = @_;
    my $file = $svc->{env}{SECRET_KEY_FILE};
    open my $in, '<', $file or die "$file: $!";
    my $hex = <$in>;
    chomp $hex;
    require Digest::SHA;
    my $mac = Digest::SHA::hmac_sha256("$id $seq", pack('H*', $hex));
    require MIME::Base64;
    my $t = MIME::Base64::encode_base64url($mac);
    $t =~ s/=+$//;
    return $t;
}

# ---- bad inputs -----------------------------------------------------------

{
    my ($st, $b) = call('POST', '/v1/executions', '{"definition":');
    is($st, 400, 'bad JSON: 400');
    is($b->{type}, 'urn:tollgate:problem:bad-request', 'a problem');

    ($st) = call('POST', '/v1/executions',
                 '{"definition":"w","definition":"w"}');
    is($st, 400, 'duplicate keys: 400');

    ($st) = call('POST', '/v1/executions',
                 { definition => 'w', name => 'n' x 81 });
    is($st, 400, 'a name of 81: 400');

    ($st) = call('POST', '/v1/executions',
                 { definition => 'w', name => "a\x01b" });
    is($st, 400, 'a control byte in a name: 400');

    ($st) = call('GET', '/v1/executions', undef,
                 { 'X-Consumer-ID' => ['a', 'b'] });
    is($st, 400, 'X-Consumer-ID twice: 400');

    ($st) = call('GET', '/v1/executions', undef,
                 { 'X-Consumer-ID' => undef, 'X-Consumer-Scope' => undef });
    is($st, 401, 'no caller: 401');

    ($st) = call('POST', '/v1/executions',
                 { definition => 'w', input => { s => 'x' x (256 * 1024) } });
    is($st, 413, 'an input past 256 KiB: 413');

    ($st, $b) = call('POST', '/v1/definitions',
                     { name => 'unk', definition => { StartAt => 'T',
                       States => { T => { Type => 'Task',
                                          Resource => 'arn:nope',
                                          End => \1 } } } });
    if ($svc->{env}{MOCKS} eq 'on') {
        is($st, 201, 'an unknown resource passes in test mode (mocks)');
    }

    ($st) = call('POST', '/v1/executions', { definition => 'w' },
                 { 'Content-Type' => 'text/plain' });
    is($st, 415, 'not JSON by its type: 415');

    ($st) = call('GET', '/v1/executions/nope');
    is($st, 400, 'not an id: 400');
    ($st) = call('GET', '/v1/executions/wx_00000000000000000000000000');
    is($st, 404, 'an unknown id: 404');
}

# ---- an unknown resource refused outside test mode ------------------------

{
    my $strict = Workflow::start(env => { REDIS => $redis->address,
                                          MOCKS => 'off' }, wait => 1);
    my ($st, $b) = Workflow::call($strict, 'POST', '/v1/definitions',
                     { name => 'unk2', definition => { StartAt => 'T',
                       States => { T => { Type => 'Task',
                                          Resource => 'arn:nope',
                                          End => \1 } } } });
    is($st, 422, 'an unknown resource: 422');
    is($b->{pointer}, '/definition/States/T/Resource', 'named by pointer');
    ($st, $b) = Workflow::start_execution($strict, 'w', mocks => {});
    is($st, 422, 'mocks refused outside test mode');
    Workflow::stop($strict);

    my $nokey = Service::start(
        name => 'workflow', bin => Workflow::binary(),
        prefix => 'TOLLGATE_WORKFLOW_', log => Workflow::tmp() . '/nokey.log',
        env => { LISTEN => '127.0.0.1:0', REDIS => $redis->address },
        wait => 0);
    my $rc = Workflow::wait_exit($nokey, 10);
    ok(defined $rc && $rc != 0, 'no secret_key_file: it refuses to start');
    like(Workflow::slurp(Workflow::tmp() . '/nokey.log'),
         qr/secret_key_file/, 'and says why');
}

# ---- the audit stream -------------------------------------------------------

{
    my $entries = r('XRANGE', 'gw:audit', '-', '+');
    my %actions;
    for my $e (@{ $entries || [] }) {
        my %f = @{ $e->[1] };
        my $ev = eval { $JSON->decode($f{event}) } or next;
        next unless ($ev->{source} // '') eq 'workflow';
        $actions{ $ev->{action} }++;
        like($ev->{id}, qr/^workflow-/, 'an audit id') if !$actions{seen}++;
    }
    ok($actions{$_}, "audited: $_")
        for qw(create update delete start stop compensate redrive);
}

is(scalar(Workflow::errors($svc)), 0, 'no error logged');

Workflow::stop($svc);

done_testing();
