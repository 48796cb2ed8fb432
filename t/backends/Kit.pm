package Kit;

# Helpers for the service kit's tests (t/backends/*.t): start the example
# service (build/backends/example) with a configuration given as
# environment variables, find the port it bound from its "listening" log
# line (it listens on port 0, so no port is ever guessed), read its JSON
# log lines, and stop it.
#
#     my $svc = Kit::start(env => { REDIS => "127.0.0.1:$port" });
#     $svc->{port}; $svc->{pid}; Kit::url($svc, '/healthz');
#     my @lines = Kit::log_lines($svc);   # decoded JSON objects
#     my $status = Kit::stop($svc);       # SIGTERM, then the wait status
#
# TEST_KIT_BINARY runs another binary.  Kit::start(valgrind => 1) runs it
# under valgrind with leak checking, a leak or error giving exit code 99;
# TEST_KIT_VALGRIND=1 does so for every start (tests that leave requests
# unanswered on purpose skip then).

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $BIN = $ENV{TEST_KIT_BINARY}
    // "$FindBin::Bin/../../build/backends/example";
our $TMP = tempdir('tollgate-kit-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my $n = 0;
my @running;

sub binary { $BIN }

sub have_valgrind {
    return grep { -x "$_/valgrind" } split /:/, $ENV{PATH} // '';
}

# start(env => {KEY => value}, args => [...], valgrind => 1, wait => 0)
# env keys are the config keys upper-cased, set as TOLLGATE_EXAMPLE_<KEY>;
# listen defaults to 127.0.0.1:0.  Unless wait => 0, returns once the
# service logged "started" (dies with its log otherwise).
sub start {
    my (%opt) = @_;
    my $log = "$TMP/svc" . ++$n . '.log';
    my %env = (LISTEN => '127.0.0.1:0', %{ $opt{env} || {} });
    my @cmd = ($BIN, @{ $opt{args} || [] });
    $opt{valgrind} ||= $ENV{TEST_KIT_VALGRIND};
    unshift @cmd, qw(valgrind -q --leak-check=full --show-leak-kinds=all
                     --errors-for-leak-kinds=all --error-exitcode=99)
        if $opt{valgrind};

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        delete $ENV{$_} for grep { /^TOLLGATE_EXAMPLE_/ } keys %ENV;
        $ENV{"TOLLGATE_EXAMPLE_$_"} = $env{$_} for keys %env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        exec @cmd or POSIX::_exit(127);
    }

    my $svc = { pid => $pid, log => $log };
    push @running, $svc;
    return $svc if defined $opt{wait} && !$opt{wait};

    my $deadline = time + ($opt{valgrind} ? 60 : 10);
    while (time < $deadline) {
        for my $l (log_lines($svc)) {
            $svc->{port} //= $l->{fields}{port}
                if ($l->{message} // '') eq 'listening';
            return $svc if ($l->{message} // '') eq 'started';
        }
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    croak "the service did not start:\n" . slurp($log);
}

sub url {
    my ($svc, $path) = @_;
    return "http://127.0.0.1:$svc->{port}$path";
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    local $/;
    return <$in> // '';
}

# every complete line of the log that is a JSON object, decoded; lines
# that are not (valgrind's) are left out
sub log_lines {
    my ($svc) = @_;
    my @out;
    for my $line (split /\n/, slurp($svc->{log})) {
        next unless $line =~ /^\{/;
        my $o = eval { JSON::PP::decode_json($line) };
        push @out, $o if ref $o eq 'HASH';
    }
    return @out;
}

# raw lines of the log, for the checks that every line is JSON
sub raw_lines {
    my ($svc) = @_;
    return grep { !/^==\d+==/ } split /\n/, slurp($svc->{log});
}

# waits for the process to exit: its wait status, or undef after $limit s
sub wait_exit {
    my ($svc, $limit) = @_;
    my $deadline = time + ($limit // 10);
    while (time < $deadline) {
        my $r = waitpid($svc->{pid}, WNOHANG);
        if ($r == $svc->{pid}) {
            $svc->{status} = $?;
            @running = grep { $_ != $svc } @running;
            return $?;
        }
        sleep 0.02;
    }
    return undef;
}

sub stop {
    my ($svc, $limit) = @_;
    kill 'TERM', $svc->{pid};
    return wait_exit($svc, $limit // 30);
}

# polls $code->() until it returns true or $limit seconds pass
sub eventually {
    my ($code, $limit) = @_;
    my $deadline = time + ($limit // 5);
    while (time < $deadline) {
        my $r = $code->();
        return $r if $r;
        sleep 0.05;
    }
    return $code->();
}

END {
    # waitpid() sets $?, the exit status the test file is about to end
    # with (Test::More's verdict): kept
    local $?;

    for my $svc (@running) {
        kill 'KILL', $svc->{pid};
        waitpid($svc->{pid}, 0);
    }
}

1;
