#!/usr/bin/perl

# The workflow service's Task resources (docs/workflow.md, "Task
# resources") against a local HTTP receiver and a private Redis:
# tollgate:http (method, headers, Idempotency-Key, traceparent, the
# body; the AWS result shape; a 503 retried by Retry on
# States.Http.StatusCode.503; an address http_allow does not name
# refused), tollgate:stream (the XADD read back, the edge's fields),
# tollgate:callback with .waitForTaskToken completed by POST
# /v1/tasks/success, tollgate:workflow (a child's output as the
# parent's result), and an unknown resource refused with the definition.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Tollgate::Redis;
use Workflow;

Workflow::skip_unless_built();

my $J = JSON::PP->new->utf8->canonical->allow_nonref;


# ---- a receiver: logs each request as a JSON line, answers by path -------
#   /json...   200 application/json {"ok": true, "n": <n>}
#   /flaky...  503 the first time, then as /json
#   /text...   200 text/plain "plain words"
#   /err...    422 application/json {"error": "no"}
#   /slow...   answers after 5 s

my $dir = tempdir('wf-tasks-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 64, ReuseAddr => 1)
    or die "listen: $!";
my $port = $listen->sockport;

my $rpid = fork // die "fork: $!";
if ($rpid == 0) {
    my $n = 0;
    while (my $c = $listen->accept) {
        $n++;
        my $pid = fork;
        if (defined $pid && $pid == 0) {
            serve($c, $n);
            POSIX::_exit(0);
        }
        close $c;
        1 while waitpid(-1, POSIX::WNOHANG()) > 0;
    }
    POSIX::_exit(0);
}
close $listen;

sub serve {
    my ($c, $n) = @_;
    local $/ = "\r\n";
    my $line = <$c> // return;
    my ($method, $path) = split ' ', $line;
    my %h;
    while (defined(my $l = <$c>)) {
        $l =~ s/\r\n\z//;
        last if $l eq '';
        my ($k, $v) = split /:\s*/, $l, 2;
        $h{ lc $k } = $v;
    }
    my $body = '';
    read($c, $body, $h{'content-length'} // 0);
    if (open my $log, '>>', "$dir/requests") {
        print $log $J->encode({ method => $method, path => $path,
                                headers => \%h, body => $body }), "\n";
        close $log;
    }

    my ($status, $ct, $answer) = (200, 'application/json',
                                  $J->encode({ ok => JSON::PP::true,
                                               n => $n }));
    if ($path =~ m{^/flaky}) {
        my $mark = "$dir/flaky" . ($path =~ s{\W}{_}gr);
        if (!-e $mark) {
            open my $m, '>', $mark; close $m;
            ($status, $answer) = (503, '{"busy":"try later"}');
        }
    } elsif ($path =~ m{^/text}) {
        ($ct, $answer) = ('text/plain', 'plain words');
    } elsif ($path =~ m{^/err}) {
        ($status, $answer) = (422, '{"error":"no"}');
    } elsif ($path =~ m{^/slow}) {
        sleep 5;
    }
    print $c "HTTP/1.1 $status X\r\nContent-Type: $ct\r\n"
             . "Content-Length: " . length($answer)
             . "\r\nConnection: close\r\n\r\n$answer";
}

sub requests {
    open my $in, '<', "$dir/requests" or return ();
    return map { $J->decode($_) } <$in>;
}

sub url { "http://127.0.0.1:$port$_[0]" }

END { kill 'TERM', $rpid if $rpid; }


my $redis = Tollgate::Redis->start;
my $svc = Workflow::start(env => { REDIS => $redis->address,
                                   MOCKS => 'off',
                                   NOTIFY_URL => url('/ntf/') });

sub run_def {
    my ($name, $def, $input, $limit) = @_;
    my ($st, $b) = Workflow::define($svc, $name, $def);
    is($st, 201, "$name: defined") or diag explain $b;
    my $id = Workflow::start_execution($svc, $name, input => $input // {});
    my $x = Workflow::wait_status($svc, $id, undef, $limit // 20);
    return ($id, $x);
}

sub output { my ($x) = @_; ref $x->{output} ? $x->{output}
                                            : eval { $J->decode($x->{output}) } }


# ---- tollgate:http: what is sent, what comes back ---------------------------

my ($id, $x) = run_def('http1', {
    StartAt => 'Call',
    States => {
        Call => { Type => 'Task', Resource => 'tollgate:http',
                  Parameters => { method => 'PUT', url => url('/json/a'),
                                  headers => { 'X-Custom' => 'yes' },
                                  'body.$' => '$.order' },
                  End => JSON::PP::true } } },
    { order => { sku => 'a-1', qty => 2 } });

is($x->{status}, 'SUCCEEDED', 'http: succeeded')
    or diag explain $x;
my $out = output($x);
is($out->{StatusCode}, 200, '... StatusCode 200');
is($out->{ResponseBody}{ok}, JSON::PP::true, '... ResponseBody parsed JSON');
like($out->{Headers}{'content-type'} // '', qr{^application/json},
     '... Headers: content-type');

my ($r) = grep { $_->{path} eq '/json/a' } requests();
ok($r, 'the receiver got the call') or BAIL_OUT('no request');
is($r->{method}, 'PUT', '... the method');
is($r->{headers}{'x-custom'}, 'yes', '... the payload\'s header');
is_deeply($J->decode($r->{body}), { sku => 'a-1', qty => 2 },
          '... the body, JSON');
like($r->{headers}{'content-type'}, qr{^application/json},
     '... Content-Type application/json');
like($r->{headers}{'idempotency-key'} // '', qr/^"\Q$id\E:\d+"$/,
     '... Idempotency-Key <execution>:<seq>');
like($r->{headers}{traceparent} // '',
     qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, '... a traceparent');
is($r->{headers}{'x-tollgate-execution'}, $id, '... X-Tollgate-Execution');

# a string body as is, a text answer as text
($id, $x) = run_def('http2', {
    StartAt => 'Call',
    States => {
        Call => { Type => 'Task', Resource => 'tollgate:http',
                  Parameters => { method => 'POST', url => url('/text/b'),
                                  headers => { 'Content-Type' =>
                                               'text/plain' },
                                  body => 'raw words' },
                  End => JSON::PP::true } } });
is($x->{status}, 'SUCCEEDED', 'http, a string body: succeeded')
    or diag explain $x;
is(output($x)->{ResponseBody}, 'plain words', '... a text answer as text');
($r) = grep { $_->{path} eq '/text/b' } requests();
is($r->{body}, 'raw words', '... the string sent as is');

# ---- a 503, then 200: Retry on States.Http.StatusCode.503 -------------------

($id, $x) = run_def('http3', {
    StartAt => 'Call',
    States => {
        Call => { Type => 'Task', Resource => 'tollgate:http',
                  Parameters => { url => url('/flaky/c'), body => {} },
                  Retry => [ { ErrorEquals => ['States.Http.StatusCode.503'],
                               IntervalSeconds => 1, MaxAttempts => 2 } ],
                  End => JSON::PP::true } } }, {}, 30);
is($x->{status}, 'SUCCEEDED', 'a 503 retried: succeeded')
    or diag explain $x;
my @c = grep { $_->{path} eq '/flaky/c' } requests();
is(scalar @c, 2, '... two calls');
isnt($c[0]{headers}{'idempotency-key'}, $c[1]{headers}{'idempotency-key'},
     '... each attempt its own Idempotency-Key')
    if @c == 2;

# a status no Retry names: the task fails with it
($id, $x) = run_def('http4', {
    StartAt => 'Call',
    States => {
        Call => { Type => 'Task', Resource => 'tollgate:http',
                  Parameters => { url => url('/err/d'), body => {} },
                  End => JSON::PP::true } } });
is($x->{status}, 'FAILED', 'a 422: failed');
is($x->{error}, 'States.Http.StatusCode.422', '... error by status');
like($x->{cause} // '', qr/no/, '... the cause an excerpt of the body');

# no answer within timeout_seconds: States.Timeout
($id, $x) = run_def('http6', {
    StartAt => 'Call',
    States => {
        Call => { Type => 'Task', Resource => 'tollgate:http',
                  Parameters => { url => url('/slow/t'), body => {},
                                  timeout_seconds => 1 },
                  End => JSON::PP::true } } });
is($x->{status}, 'FAILED', 'a slow answer: failed');
is($x->{error}, 'States.Timeout', '... States.Timeout');

# bad payloads fail the task, not the service
($id, $x) = run_def('http5', {
    StartAt => 'Call',
    States => {
        Call => { Type => 'Task', Resource => 'tollgate:http',
                  Parameters => { url => url('/json/e'),
                                  headers => { Host => 'evil' } },
                  End => JSON::PP::true } } });
is($x->{status}, 'FAILED', 'a Host header: failed');
is($x->{error}, 'States.TaskFailed', '... States.TaskFailed');
like($x->{cause} // '', qr/Host/, '... naming the header');

# ---- an address http_allow does not name -------------------------------------

# an instance of another configuration needs a Redis of its own: every
# instance on one Redis claims every due execution
my $redis2 = Tollgate::Redis->start;
my $svc2 = Workflow::start(env => { REDIS => $redis2->address,
                                    MOCKS => 'off', HTTP_ALLOW => '' });
{
    my $def = {
        StartAt => 'Call',
        States => {
            Call => { Type => 'Task', Resource => 'tollgate:http',
                      Parameters => { url => url('/json/refused') },
                      End => JSON::PP::true } } };
    my ($st) = Workflow::define($svc2, 'refused', $def);
    is($st, 201, 'refused: defined');
    my $rid = Workflow::start_execution($svc2, 'refused');
    my $rx = Workflow::wait_status($svc2, $rid, undef, 20);
    is($rx->{status}, 'FAILED', 'a loopback URL without http_allow: failed');
    is($rx->{error}, 'States.TaskFailed', '... States.TaskFailed');
    like($rx->{cause} // '', qr/loopback.*http_allow/,
         '... the cause says why');
    ok(!grep({ $_->{path} eq '/json/refused' } requests()),
       '... and nothing was sent');

    # tollgate:notify without notify_url
    Workflow::define($svc2, 'nonotify', {
        StartAt => 'N',
        States => { N => { Type => 'Task', Resource => 'tollgate:notify',
                           Parameters => { channel => 'webhook' },
                           End => JSON::PP::true } } });
    $rid = Workflow::start_execution($svc2, 'nonotify');
    $rx = Workflow::wait_status($svc2, $rid, undef, 20);
    is($rx->{status}, 'FAILED', 'notify without notify_url: failed');
    like($rx->{cause} // '', qr/notify_url is not configured/,
         '... saying so');

    # a host name resolving there: refused at connect time
    $def->{States}{Call}{Parameters}{url} = "http://localhost:$port/json/l";
    Workflow::define($svc2, 'refused2', $def);
    $rid = Workflow::start_execution($svc2, 'refused2');
    $rx = Workflow::wait_status($svc2, $rid, undef, 20);
    is($rx->{status}, 'FAILED', 'localhost without http_allow: failed');
    like($rx->{cause} // '', qr/address refused: .*loopback/,
         '... refused at connect time');
}
Workflow::stop($svc2);

# ---- tollgate:stream ----------------------------------------------------------

($id, $x) = run_def('stream1', {
    StartAt => 'Put',
    States => {
        Put => { Type => 'Task', Resource => 'tollgate:stream:orders.v1',
                 Parameters => { 'data.$' => '$', key => 'k1' },
                 End => JSON::PP::true } } }, { a => 1 });
is($x->{status}, 'SUCCEEDED', 'stream: succeeded') or diag explain $x;
$out = output($x);
like($out->{Id} // '', qr/^orders\.v1:0:\d+-\d+$/, '... Id <topic>:0:<entry>');
{
    my $got = Workflow::cmd($redis->port, 'XRANGE', 'gw:topic:orders.v1:0',
                            '-', '+');
    is(scalar @$got, 1, '... one entry in gw:topic:orders.v1:0');
    my %f = @{ $got->[0][1] || [] };
    is_deeply($J->decode($f{data}), { a => 1 }, '... data');
    is($f{key}, 'k1', '... key');
    is($f{ctype}, 'application/json', '... ctype');
    is($f{consumer}, 'wf-admin', '... consumer: the owner');
    like($f{traceparent}, qr/^00-[0-9a-f]{32}-/, '... traceparent');
    like($f{time}, qr/^\d{13}$/, '... time');
    is(join(',', map { $_ } @{ $got->[0][1] }[grep { !($_ % 2) } 0 .. 13]),
       'data,key,consumer,rid,traceparent,time,ctype',
       '... the edge\'s fields in its order');
}

# partitions: crc32("k1") mod 8, as the edge picks
($id, $x) = run_def('stream2', {
    StartAt => 'Put',
    States => {
        Put => { Type => 'Task', Resource => 'tollgate:stream:orders',
                 Parameters => { data => 'x', key => 'k1', partitions => 8 },
                 End => JSON::PP::true } } });
my $crc = crc32('k1') % 8;
like(output($x)->{Id} // '', qr/^orders:$crc:/, "... partition $crc of 8");

sub crc32 {
    my ($s) = @_;
    my $c = 0xffffffff;
    for my $b (unpack 'C*', $s) {
        $c ^= $b;
        $c = ($c >> 1) ^ (0xedb88320 & -($c & 1) & 0xffffffff)
            for 1 .. 8;
    }
    return $c ^ 0xffffffff;
}

# ---- tollgate:notify ------------------------------------------------------------

($id, $x) = run_def('notify1', {
    StartAt => 'N',
    States => {
        N => { Type => 'Task', Resource => 'tollgate:notify',
               Parameters => { channel => 'webhook', type => 'order.paid',
                               'data.$' => '$' },
               End => JSON::PP::true } } }, { o => 7 });
is($x->{status}, 'SUCCEEDED', 'notify: succeeded') or diag explain $x;
is(output($x)->{ok}, JSON::PP::true, '... the service\'s answer as result');
($r) = grep { $_->{path} eq '/ntf/v1/notifications' } requests();
ok($r, '... POST notify_url + /v1/notifications') or diag explain [requests()];
is($r->{method}, 'POST', '... a POST');
is($r->{headers}{'x-consumer-id'}, 'wf-admin', '... X-Consumer-ID: owner');
like($r->{headers}{'idempotency-key'} // '', qr/^"\Q$id\E:\d+"$/,
     '... Idempotency-Key');
is_deeply($J->decode($r->{body} || '{}'),
          { channel => 'webhook', type => 'order.paid', data => { o => 7 } },
          '... the payload as the body');

# ---- tollgate:callback.waitForTaskToken ----------------------------------------

{
    my ($st) = Workflow::define($svc, 'cb', {
        StartAt => 'Wait',
        States => {
            Wait => { Type => 'Task',
                      Resource => 'tollgate:callback.waitForTaskToken',
                      Parameters => { 'token.$' => '$$.Task.Token' },
                      TimeoutSeconds => 3600,
                      End => JSON::PP::true } } });
    is($st, 201, 'callback: defined');
    my $t0 = int(time * 1000);
    my $cid = Workflow::start_execution($svc, 'cb');
    my $token;
    Workflow::eventually(sub {
        for my $e (Workflow::history($svc, $cid)) {
            my $blob = $J->encode($e);
            $token = $1 if $blob =~ /"token":"([A-Za-z0-9_-]{43})"/;
        }
        return defined $token;
    }, 10);
    ok($token, 'callback: the token in the scheduled payload');
    my $cx = Workflow::describe($svc, $cid);
    is($cx->{status}, 'RUNNING', '... waits');
    # parked until its deadline (an hour), not claimed again after every
    # lease (2 s here), and marked sent
    my $due;
    Workflow::eventually(sub {
        $due = Workflow::cmd($redis->port, 'ZSCORE', 'gw:wf:due', $cid);
        return defined $due && $due > $t0 + 600_000;
    }, 10);
    cmp_ok($due // 0, '>', $t0 + 3_500_000, '... due at its deadline');
    is(Workflow::cmd($redis->port, 'HGET', "gw:wf:x:$cid", 'sent'), '1',
       '... marked sent');
    my ($s2, $b2) = Workflow::call($svc, 'POST', '/v1/tasks/success',
                                   { token => $token,
                                     output => { done => 1 } });
    ok($s2 == 200 || $s2 == 204, 'POST /v1/tasks/success') or diag explain $b2;
    $cx = Workflow::wait_status($svc, $cid, undef, 20);
    is($cx->{status}, 'SUCCEEDED', '... then succeeded');
    is_deeply(output($cx), { done => 1 }, '... with the output sent');
}

# ---- tollgate:http.waitForTaskToken: the call goes out, the token answers ----

{
    Workflow::define($svc, 'httpcb', {
        StartAt => 'Ask',
        States => {
            Ask => { Type => 'Task',
                     Resource => 'tollgate:http.waitForTaskToken',
                     Parameters => { url => url('/json/ask'),
                                     body => { 'token.$' =>
                                               '$$.Task.Token' } },
                     End => JSON::PP::true } } });
    my $cid = Workflow::start_execution($svc, 'httpcb');
    my $req;
    Workflow::eventually(sub {
        ($req) = grep { $_->{path} eq '/json/ask' } requests();
        return $req;
    }, 10);
    ok($req, 'http.waitForTaskToken: the call went out');
    my $token = eval { $J->decode($req->{body})->{token} };
    like($token // '', qr/^[A-Za-z0-9_-]{43}$/, '... with the token');
    sleep 0.3;
    is(Workflow::describe($svc, $cid)->{status}, 'RUNNING',
       '... the answer is not the result: it waits');
    my ($s2) = Workflow::call($svc, 'POST', '/v1/tasks/success',
                              { token => $token, output => 'yes' });
    my $cx = Workflow::wait_status($svc, $cid, undef, 20);
    is($cx->{status}, 'SUCCEEDED', '... the token\'s output ends it');
    is(output($cx) // $cx->{output}, 'yes', '... as the result');
}

# ---- tollgate:workflow:<def> ----------------------------------------------------

{
    Workflow::define($svc, 'child', {
        StartAt => 'Double',
        States => {
            Double => { Type => 'Pass',
                        Parameters => { 'twice.$' =>
                                        'States.MathAdd($.n, $.n)' },
                        End => JSON::PP::true } } });
    ($id, $x) = run_def('parent', {
        StartAt => 'Run',
        States => {
            Run => { Type => 'Task', Resource => 'tollgate:workflow:child',
                     Parameters => { 'n.$' => '$.n' },
                     ResultPath => '$.child',
                     End => JSON::PP::true } } }, { n => 21 }, 30);
    is($x->{status}, 'SUCCEEDED', 'child workflow: the parent succeeded')
        or diag explain $x;
    is_deeply(output($x), { n => 21, child => { twice => 42 } },
              '... with the child\'s output as its result');
}

# ---- an unknown resource: the definition refused -----------------------------

{
    my ($st, $b) = Workflow::define($svc, 'unknown', {
        StartAt => 'T',
        States => { T => { Type => 'Task', Resource => 'arn:aws:lambda:x',
                           End => JSON::PP::true } } });
    is($st, 422, 'an unknown resource: the definition refused')
        or diag explain $b;
    ($st, $b) = Workflow::define($svc, 'badtopic', {
        StartAt => 'T',
        States => { T => { Type => 'Task',
                           Resource => 'tollgate:stream:Bad Topic',
                           End => JSON::PP::true } } });
    is($st, 422, 'a malformed topic: refused');
}

cmp_ok(Workflow::metric($svc, 'workflow_tasks_total{kind="tollgate:http",'
                              . 'result="ok"}'), '>=', 3,
       'workflow_tasks_total counts http tasks');

my @e = Workflow::errors($svc);
is(scalar @e, 0, 'the service logged no error') or diag explain \@e;

Workflow::stop($svc);

done_testing;
