package Workflow;

# Helpers for the workflow service's tests (t/backends/09x-*.t): start
# build/backends/workflow as a service on port 0 with its configuration
# as TOLLGATE_WORKFLOW_* variables (a secret key file of its own, test
# mode with mocks, a short poll and lease, the loopback allowed for
# tollgate:http tasks), call its API as an admin unless told otherwise,
# create definitions, start executions, wait for a status, read a whole
# history, and talk to Redis over RESP.
#
#     my $svc = Workflow::start(env => { REDIS => $redis->address });
#     Workflow::define($svc, 'orders', { StartAt => ..., States => ... });
#     my $id = Workflow::start_execution($svc, 'orders', input => {...});
#     my $x = Workflow::wait_status($svc, $id, 'SUCCEEDED', 20);
#     my @events = Workflow::history($svc, $id);
#     $svc = Workflow::restart($svc);        # the same configuration
#
# TEST_WORKFLOW_BINARY runs another binary; TEST_WORKFLOW_KEEP=1 keeps
# the logs (their folder is printed).

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

use Service;

our $BIN = $ENV{TEST_WORKFLOW_BINARY}
    // "$FindBin::Bin/../../build/backends/workflow";
our $TMP = tempdir('tollgate-wf-XXXXXX', TMPDIR => 1,
                   CLEANUP => !$ENV{TEST_WORKFLOW_KEEP});
our $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# the caller every call() is made as unless its headers say otherwise
our %ADMIN = ('X-Consumer-ID' => 'wf-admin',
              'X-Consumer-Scope' => 'workflow:admin');

our @TERMINAL = qw(SUCCEEDED FAILED TIMED_OUT ABORTED);

my $n = 0;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

print STDERR "# logs kept in $TMP\n" if $ENV{TEST_WORKFLOW_KEEP};

sub binary { $BIN }
sub tmp { $TMP }
sub json { $JSON }

*slurp = \&Service::slurp;
*log_lines = \&Service::log_lines;
*wait_exit = \&Service::wait_exit;
*stop = \&Service::stop;
*kill9 = \&Service::kill9;
*eventually = \&Service::eventually;
*resp_connect = \&Service::resp_connect;
*resp_encode = \&Service::resp_encode;
*resp_read = \&Service::resp_read;
*cmd = \&Service::resp_cmd;

# skip_unless_built(): skips the whole file when the binary is missing
sub skip_unless_built {
    return if -x $BIN;
    require Test::More;
    Test::More::plan(skip_all => "$BIN is not built "
                                 . '(make build/backends/workflow)');
}

# secret_key(): a file holding a new 32-byte master key, hex, mode 0600
sub secret_key {
    my $file = "$TMP/secret" . ++$n . '.key';
    open my $out, '>', $file or croak "$file: $!";
    print $out join('', map { sprintf '%02x', int rand 256 } 1 .. 32), "\n";
    close $out;
    chmod 0600, $file;
    return $file;
}

# start(env => {KEY => v}, wait => 1): once "started" is logged.  The
# defaults: a key file of its own (pass SECRET_KEY_FILE to share one),
# mocks on, poll 20 ms, lease 2 s, tollgate:http allowed to the loopback.
# The returned handle remembers its configuration for restart().
# (REDIS_RETRY stays the service's: at 200 ms, one PING answered late by
# a Redis busy with the engine's commands is enough for the kit to call
# Redis down and answer 503.)
sub start {
    my (%opt) = @_;
    my %env = (LISTEN => '127.0.0.1:0',
               SECRET_KEY_FILE => secret_key(), MOCKS => 'on',
               POLL => '20', LEASE => '2s', HTTP_ALLOW => '127.0.0.0/8',
               DRAIN_TIMEOUT => '2s',
               %{ $opt{env} || {} });
    my %given = %env;       # with its undefs, for restart()
    delete $env{$_} for grep { !defined $env{$_} } keys %env;
    my $svc = Service::start(
        name => 'workflow', bin => $BIN, prefix => 'TOLLGATE_WORKFLOW_',
        log => $opt{log} // "$TMP/wf" . ++$n . '.log',
        env => \%env, wait => $opt{wait});
    $svc->{env} = \%given;
    # "started" comes before the first connection to Redis: a call made
    # at once could meet a 503; wait (a little) for "redis up" too
    if (!defined $opt{wait} || $opt{wait}) {
        eventually(sub { grep { ($_->{message} // '') eq 'redis up' }
                         log_lines($svc) }, 5);
    }
    return $svc;
}

# restart($svc): stops it (SIGKILL with kill => 1, else SIGTERM) unless
# it exited, then starts it again with the same configuration and log
# file (LISTEN => '127.0.0.1:0' gives it a new port)
sub restart {
    my ($svc, %opt) = @_;
    if (kill 0, $svc->{pid}) {
        $opt{kill} ? kill9($svc) : stop($svc);
    }
    # "started" must be the new process's: the log starts again
    my $log = $svc->{log};
    rename $log, $log . '.' . time . '.' . ++$n if -e $log;
    return start(env => $svc->{env}, log => $log, wait => $opt{wait});
}

# call($svc, $method, $path, $body (ref: JSON-encoded, else as is),
# \%headers): (status, decoded body or raw text, headers).  The headers
# go over %ADMIN's (a header given undef is not sent; an array ref sends
# it several times).
sub call {
    my ($svc, $method, $path, $body, $headers) = @_;
    my %h = (%ADMIN, %{ $headers || {} });
    delete $h{$_} for grep { !defined $h{$_} } keys %h;
    my %o = (headers => \%h);
    if (defined $body) {
        $o{content} = ref $body ? $JSON->encode($body) : $body;
        $h{'Content-Type'} //= 'application/json';
    }
    my $r = $http->request($method, "http://127.0.0.1:$svc->{port}$path",
                           \%o);
    my $c = $r->{content} // '';
    my $d = eval { $JSON->decode($c) };
    return ($r->{status}, defined $d ? $d : $c, $r->{headers});
}

# as($owner, %extra): headers of a caller that is not an admin
sub as {
    my ($owner, %extra) = @_;
    return { 'X-Consumer-ID' => $owner, 'X-Consumer-Scope' => undef,
             %extra };
}

# raw($svc, $bytes): sends $bytes as they are (a whole request) and
# returns (status, body text) of the answer
sub raw {
    my ($svc, $bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $svc->{port},
                                  Proto => 'tcp', Timeout => 10)
        or croak "connect: $!";
    $s->autoflush(1);
    print $s $bytes;
    my $resp = '';
    while (1) {
        my $got = sysread $s, my $buf, 65536;
        last unless $got;
        $resp .= $buf;
    }
    close $s;
    my ($status) = $resp =~ m{^HTTP/1\.\d (\d{3})};
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return ($status // 0, $body // '');
}

# define($svc, $name, $definition, compensation => STATE,
# headers => {...}): POST /v1/definitions; when the name exists (409),
# a new version by PUT.  (status, body)
sub define {
    my ($svc, $name, $def, %opt) = @_;
    my %doc = (name => $name, definition => $def);
    $doc{compensation} = $opt{compensation} if defined $opt{compensation};
    my ($st, $b) = call($svc, 'POST', '/v1/definitions', \%doc,
                        $opt{headers});
    if ($st == 409 && !$opt{no_put}) {
        delete $doc{name};
        ($st, $b) = call($svc, 'PUT', "/v1/definitions/$name", \%doc,
                         $opt{headers});
    }
    return ($st, $b);
}

# start_execution($svc, $def, input => ..., name => ..., mocks => ...,
# version => N, headers => {...}): in list context (status, body); in
# scalar context the new id (croaks unless 201 or 200)
sub start_execution {
    my ($svc, $def, %opt) = @_;
    my %doc = (definition => $def);
    for my $k (qw(input name mocks version)) {
        $doc{$k} = $opt{$k} if exists $opt{$k};
    }
    my ($st, $b) = call($svc, 'POST', '/v1/executions', \%doc,
                        $opt{headers});
    return ($st, $b) if wantarray;
    croak "start $def: $st " . (ref $b ? $JSON->encode($b) : $b)
        unless ($st == 201 || $st == 200) && ref $b && $b->{id};
    return $b->{id};
}

# describe($svc, $id, \%headers): the execution's body (undef unless 200)
sub describe {
    my ($svc, $id, $headers) = @_;
    my ($st, $b) = call($svc, 'GET', "/v1/executions/$id", undef,
                        $headers);
    return $st == 200 && ref $b ? $b : undef;
}

# wait_status($svc, $id, $status, $seconds): polls until the execution
# has $status (undef: any end); the last body read (undef when none),
# whatever its status.  $status may be an array ref of statuses.
sub wait_status {
    my ($svc, $id, $want, $limit) = @_;
    my %want = map { $_ => 1 } ref $want ? @$want
                                         : defined $want ? ($want)
                                         : @TERMINAL;
    my $deadline = time + ($limit // 20);
    my $last;
    while (1) {
        my $x = eval { describe($svc, $id) };
        $last = $x if $x;
        return $last if $x && $want{ $x->{status} // '' };
        last if time > $deadline;
        sleep 0.1;
    }
    return $last;
}

# history($svc, $id, limit => N): every event, all pages followed
sub history {
    my ($svc, $id, %opt) = @_;
    my @events;
    my $cursor;
    for (1 .. 10000) {
        my $q = "/v1/executions/$id/history?limit=" . ($opt{limit} // 100);
        $q .= "&cursor=$cursor" if defined $cursor && length $cursor;
        my ($st, $b) = call($svc, 'GET', $q);
        croak "history $id: $st " . (ref $b ? $JSON->encode($b) : $b)
            unless $st == 200 && ref $b;
        push @events, @{ $b->{events} || [] };
        $cursor = $b->{next};
        last unless defined $cursor && length $cursor
                    && @{ $b->{events} || [] };
    }
    return @events;
}

# the executions of a list's answer (an array ref, empty when none)
sub listed {
    my ($b) = @_;
    return [] unless ref $b eq 'HASH';
    for my $k (qw(executions items)) {
        return $b->{$k} if ref $b->{$k} eq 'ARRAY';
    }
    return [];
}

# event types of a history, in order
sub types { map { $_->{type} } @_ }

# log lines at error level
sub errors {
    my ($svc) = @_;
    return grep { ($_->{level} // '') eq 'error' } log_lines($svc);
}

# a metric's value from /metrics: metric($svc, 'name{a="b",...}')
sub metric {
    my ($svc, $series) = @_;
    my (undef, $text) = call($svc, 'GET', '/metrics');
    for my $line (split /\n/, $text // '') {
        return $1 if $line =~ /^\Q$series\E (\S+)$/;
    }
    return 0;
}

# an http task state: http_task(url, Next => ..., Retry => [...], ...)
sub http_task {
    my ($url, %more) = @_;
    return { Type => 'Task', Resource => 'tollgate:http',
             Parameters => { method => 'POST', url => $url,
                             body => { 'execution.$' => '$$.Execution.Id',
                                       'state.$' => '$$.State.Name' } },
             %more };
}

1;
