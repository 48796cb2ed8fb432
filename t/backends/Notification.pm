package Notification;

# Helpers for the notification service's tests (t/backends/08x-*.t):
# start build/backends/notification on port 0 with its configuration as
# TOLLGATE_NOTIFICATION_* variables (a secret key file of its own, the
# loopback allowed for webhooks, a short retry schedule), call its API,
# read its metrics, talk to Redis over RESP.
#
#     my $svc = Notification::start(env => { REDIS => $redis->address });
#     my ($status, $body, $headers) = Notification::call($svc, 'POST',
#         '/v1/notifications', { channel => 'webhook', ... },
#         { 'X-Consumer-ID' => 'c1' });
#
# TEST_NOTIFICATION_BINARY runs another binary.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use HTTP::Tiny;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(sleep time);

use Service;

our $BIN = $ENV{TEST_NOTIFICATION_BINARY}
    // "$FindBin::Bin/../../build/backends/notification";
our $TMP = tempdir('tollgate-ntf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical->allow_nonref;

my $n = 0;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub binary { $BIN }
sub tmp { $TMP }

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

# secret_key(): a file holding a new 32-byte master key, hex
sub secret_key {
    my $file = "$TMP/secret" . ++$n . '.key';
    open my $out, '>', $file or croak "$file: $!";
    print $out join('', map { sprintf '%02x', int rand 256 } 1 .. 32), "\n";
    close $out;
    chmod 0600, $file;
    return $file;
}

# start(env => {KEY => v}, wait => 1): once "started" is logged; the
# defaults allow the loopback for webhooks and retry after 0, 1 and 2 s
sub start {
    my (%opt) = @_;
    return Service::start(
        name => 'notification', bin => $BIN,
        prefix => 'TOLLGATE_NOTIFICATION_',
        log => "$TMP/ntf" . ++$n . '.log',
        env => { LISTEN => '127.0.0.1:0', REDIS_RETRY => '200ms',
                 SECRET_KEY_FILE => secret_key(),
                 WEBHOOK_ALLOW => '127.0.0.0/8',
                 RETRY_SCHEDULE => '0s,1s,2s', RETRY_JITTER => '0',
                 LEASE => '2s', POLL => '20',
                 %{ $opt{env} || {} } },
        wait => $opt{wait});
}

# run(env => {...}, args => [...]): (output, exit code)
sub run {
    my (%opt) = @_;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        Service::set_env('TOLLGATE_NOTIFICATION_',
                         SECRET_KEY_FILE => secret_key(),
                         %{ $opt{env} || {} });
        open STDERR, '>&', \*STDOUT;
        exec $BIN, @{ $opt{args} || [] } or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($out, $? >> 8);
}

# call($svc, $method, $path, $body (ref: JSON-encoded), \%headers):
# (status, decoded body or raw text, headers)
sub call {
    my ($svc, $method, $path, $body, $headers) = @_;
    my %h = %{ $headers || {} };
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

1;
