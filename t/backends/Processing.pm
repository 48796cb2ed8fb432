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
use JSON::PP ();
use POSIX ();
use Compress::Zlib ();
use Time::HiRes qw(sleep time);

use Service;

our $BIN = $ENV{TEST_PROCESSING_BINARY}
    // "$FindBin::Bin/../../build/backends/processing";
our $TMP = tempdir('tollgate-proc-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical;

my $n = 0;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub binary { $BIN }
sub tmp { $TMP }

# the process, log and RESP helpers every service's tests share
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

# run(env => {...}, args => [...]): (output, exit code)
sub run {
    my (%opt) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        Service::set_env('TOLLGATE_PROCESSING_', %{ $opt{env} || {} });
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
    return Service::start(
        name => 'processing', bin => $BIN,
        prefix => 'TOLLGATE_PROCESSING_', log => "$TMP/proc" . ++$n . '.log',
        env => { LISTEN => '127.0.0.1:0', REDIS_RETRY => '200ms',
                 READ_BLOCK => '20ms', LEASE => '1500ms',
                 RETRY_BACKOFF => '5ms', %{ $opt{env} || {} } },
        wait => $opt{wait});
}

# log lines at error level
sub errors {
    my ($svc) = @_;
    return grep { ($_->{level} // '') eq 'error' } log_lines($svc);
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

1;
