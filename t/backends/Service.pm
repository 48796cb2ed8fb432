package Service;

# What the backend services' test helpers share (Audit.pm, Processing.pm):
# a service process started with its configuration as TOLLGATE_<NAME>_*
# variables and its log in a file, waited for until it logs "started"
# (its port from its "listening" line), its JSON log lines, stopping it
# (SIGTERM) or killing it (SIGKILL), polling, and Redis over RESP.
#
#     my $svc = Service::start(name => 'audit', bin => $bin,
#                              prefix => 'TOLLGATE_AUDIT_', log => $file,
#                              env => { LISTEN => '127.0.0.1:0', ... });
#     Service::log_lines($svc);  Service::stop($svc);
#
# Whatever is still running at exit is killed.

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my @running;

# set_env($prefix, %env): the variables named $prefix* are exactly %env
sub set_env {
    my ($prefix, %env) = @_;
    delete $ENV{$_} for grep { /^\Q$prefix\E/ } keys %ENV;
    $ENV{"$prefix$_"} = $env{$_} for keys %env;
}

# start(name, bin, prefix, log, env => {...}, wait => 1): once "started"
# is logged (wait => 0: at once)
sub start {
    my (%o) = @_;

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        set_env($o{prefix}, %{ $o{env} || {} });
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $o{log};
        open STDERR, '>>', $o{log};
        exec $o{bin} or POSIX::_exit(127);
    }

    my $svc = { pid => $pid, log => $o{log} };
    push @running, $svc;
    return $svc if defined $o{wait} && !$o{wait};

    my $deadline = time + 30;
    while (time < $deadline) {
        for my $l (log_lines($svc)) {
            $svc->{port} //= $l->{fields}{port}
                if ($l->{message} // '') eq 'listening';
            return $svc if ($l->{message} // '') eq 'started';
        }
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    croak "the $o{name} service did not start:\n" . slurp($o{log});
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    local $/;
    return <$in> // '';
}

# the service's log lines that are JSON objects
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

# its exit status once it exited, undef after $limit seconds (30)
sub wait_exit {
    my ($svc, $limit) = @_;
    my $deadline = time + ($limit // 30);
    while (time < $deadline) {
        if (waitpid($svc->{pid}, WNOHANG) == $svc->{pid}) {
            @running = grep { $_ != $svc } @running;
            return $?;
        }
        sleep 0.02;
    }
    return undef;
}

sub stop {
    my ($svc) = @_;
    kill 'TERM', $svc->{pid};
    return wait_exit($svc);
}

sub kill9 {
    my ($svc) = @_;
    kill 'KILL', $svc->{pid};
    return wait_exit($svc);
}

# polls $code->() until it returns true or $limit seconds (10) pass
sub eventually {
    my ($code, $limit) = @_;
    my $deadline = time + ($limit // 10);
    while (time < $deadline) {
        my $r = $code->();
        return $r if $r;
        sleep 0.05;
    }
    return $code->();
}

# ---- RESP ------------------------------------------------------------------

sub resp_connect {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 30);
    croak "redis: $!" unless $s;
    return $s;
}

sub resp_encode {
    my (@args) = @_;
    my $s = '*' . scalar(@args) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @args;
    return $s;
}

# reads one reply (simple types and arrays, nested); an error is "ERR:..."
sub resp_read {
    my ($sock) = @_;
    my $line = <$sock>;
    croak "redis closed" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $t eq '+' || $t eq ':';
    return "ERR:$rest" if $t eq '-';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length($buf) < $rest + 2) {
            read($sock, $buf, $rest + 2 - length($buf), length($buf))
                or croak "redis closed";
        }
        return substr($buf, 0, $rest);
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [ map { resp_read($sock) } 1 .. $rest ];
    }
    croak "redis: unexpected reply $line";
}

# resp_cmd($port, @args): one command's reply, on a connection of its own
sub resp_cmd {
    my ($port, @args) = @_;
    my $s = resp_connect($port);
    print $s resp_encode(@args);
    my $r = resp_read($s);
    close $s;
    return $r;
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
