package Processing;

# Helpers for the processing service's tests (t/backends/07x-*.t): write
# pipeline documents into a folder, start build/backends/processing on
# port 0 with its configuration as TOLLGATE_PROCESSING_* variables, find
# its port in its "listening" log line, publish events to a topic's
# partitions as the edge does (the stream format of docs/publish.md),
# talk to Redis over RESP, run the dlq tool.
#
#     my $dir = Processing::pipelines({ name => 'p', ... }, ...);
#     my $svc = Processing::start(env => { REDIS => $redis->address,
#                                          PIPELINES => $dir });
#     Processing::publish($port, 'topic', $partitions, [$key, $data], ...);
#     Processing::cmd($port, 'HGETALL', 'k');
#
# TEST_PROCESSING_BINARY runs another binary.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Compress::Zlib ();
use Time::HiRes qw(sleep time);

our $BIN = $ENV{TEST_PROCESSING_BINARY}
    // "$FindBin::Bin/../../build/backends/processing";
our $TMP = tempdir('tollgate-proc-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical;

my $n = 0;
my @running;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub binary { $BIN }
sub tmp { $TMP }

# pipelines(\%doc or 'text', ...): a new folder with one file per document
sub pipelines {
    my (@docs) = @_;
    my $dir = tempdir(DIR => $TMP);
    my $i = 0;
    for my $d (@docs) {
        my $file = sprintf '%s/%02d.json', $dir, $i++;
        open my $out, '>', $file or croak "$file: $!";
        print $out ref $d ? $JSON->encode($d) : $d;
        close $out;
    }
    return $dir;
}

sub _env {
    my (%env) = @_;
    delete $ENV{$_} for grep { /^TOLLGATE_PROCESSING_/ } keys %ENV;
    $ENV{"TOLLGATE_PROCESSING_$_"} = $env{$_} for keys %env;
}

# run(env => {...}, args => [...]): (output, exit code)
sub run {
    my (%opt) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        _env(%{ $opt{env} || {} });
        open STDERR, '>&', \*STDOUT;
        exec $BIN, @{ $opt{args} || [] } or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($out, $? >> 8);
}

# start(env => {KEY => v}, wait => 1): once "started" is logged
sub start {
    my (%opt) = @_;
    my $log = "$TMP/proc" . ++$n . '.log';
    my %env = (LISTEN => '127.0.0.1:0', REDIS_RETRY => '200ms',
               READ_BLOCK => '20ms', LEASE => '1500ms',
               RETRY_BACKOFF => '5ms', %{ $opt{env} || {} });

    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        _env(%env);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        exec $BIN or POSIX::_exit(127);
    }

    my $svc = { pid => $pid, log => $log };
    push @running, $svc;
    return $svc if defined $opt{wait} && !$opt{wait};

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
    croak "the processing service did not start:\n" . slurp($log);
}

sub slurp {
    my ($file) = @_;
    open my $in, '<', $file or return '';
    local $/;
    return <$in> // '';
}

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

# log lines at error level
sub errors {
    my ($svc) = @_;
    return grep { ($_->{level} // '') eq 'error' } log_lines($svc);
}

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

sub get {
    my ($svc, $path) = @_;
    my $r = $http->get("http://127.0.0.1:$svc->{port}$path");
    return ($r->{status}, $r->{content});
}

# a metric's value from /metrics: metric($svc, 'name{a="b",...}')
sub metric {
    my ($svc, $series) = @_;
    my (undef, $text) = get($svc, '/metrics');
    for my $line (split /\n/, $text // '') {
        return $1 if $line =~ /^\Q$series\E (\S+)$/;
    }
    return 0;
}

# rss_kb($svc): the process's resident set, in KiB
sub rss_kb {
    my ($svc) = @_;
    my $s = slurp("/proc/$svc->{pid}/status");
    return $s =~ /^VmRSS:\s+(\d+)/m ? $1 : 0;
}

# polls $code->() until it returns true or $limit seconds pass
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

# cmd($port, @args): one command's reply
sub cmd {
    my ($port, @args) = @_;
    my $s = resp_connect($port);
    print $s resp_encode(@args);
    my $r = resp_read($s);
    close $s;
    return $r;
}

# hash($port, $key): HGETALL as a hash reference
sub hash {
    my ($port, $key) = @_;
    my $r = cmd($port, 'HGETALL', $key);
    return { @{ $r || [] } };
}

sub partition {
    my ($key, $parts) = @_;
    return 0 if !defined $key || $key eq '';
    return Compress::Zlib::crc32($key) % $parts;
}

# publish($port, $topic, $parts, [$key, $data, %more], ...): entry ids
# ($data is encoded unless a string); pipelined, 1000 at a time
sub publish {
    my ($port, $topic, $parts, @events) = @_;
    my $s = resp_connect($port);
    my @ids;
    while (my @chunk = splice @events, 0, 1000) {
        print $s join '', map {
            my ($key, $data, %more) = @$_;
            resp_encode('XADD',
                        "gw:topic:$topic:" . partition($key, $parts), '*',
                        data => ref $data ? $JSON->encode($data) : $data,
                        key => $key // '', consumer => $key // '',
                        rid => 'r', time => int(time * 1000), %more)
        } @chunk;
        push @ids, map { resp_read($s) } @chunk;
    }
    close $s;
    return @ids;
}

# pending($port, $stream, $group): entries read but not acknowledged
sub pending {
    my ($port, $stream, $group) = @_;
    my $r = cmd($port, 'XPENDING', $stream, $group);
    return ref $r ? $r->[0] : -1;
}

END {
    for my $svc (@running) {
        kill 'KILL', $svc->{pid};
        waitpid($svc->{pid}, 0);
    }
}

1;
