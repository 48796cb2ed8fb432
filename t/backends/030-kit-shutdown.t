# The service kit's graceful stop: on SIGTERM the listener closes at once,
# a request in flight (a timer-answered /v1/sleep) still gets its answer,
# a request arriving on an open keep-alive connection meanwhile gets a
# 503 from /readyz and "Connection: close", idle connections do not hold
# the exit, and the process exits 0 once the last answer is written.
# Then: shutdown_timeout ends a drain that takes too long, a second
# signal stops at once, and SIGINT works as SIGTERM.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Select ();
use IO::Socket::INET ();
use Test::More;
use Time::HiRes qw(sleep time);

use Kit;
use Tollgate::Redis;

plan skip_all => Kit::binary() . ' is not built (run make backends)'
    unless -x Kit::binary();

my $redis = Tollgate::Redis->start;

sub connect_to {
    my ($svc) = @_;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $svc->{port}, Proto => 'tcp',
                                 Timeout => 2);
}

sub send_get {
    my ($s, $path) = @_;
    print $s "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
}

# one response from $s (headers and a Content-Length body), or '' after
# $limit seconds
sub read_response {
    my ($s, $limit) = @_;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + ($limit // 10);
    while (time < $deadline) {
        if ($buf =~ /\r\n\r\n/ && $buf =~ /Content-Length: (\d+)/i) {
            my $len = $1;
            my $head = index($buf, "\r\n\r\n") + 4;
            return $buf if length($buf) >= $head + $len;
        }
        next unless $sel->can_read(0.1);
        my $n = sysread $s, $buf, 65536, length $buf;
        last unless $n;
    }
    return $buf;
}

sub ready {
    my ($svc) = @_;
    return Kit::eventually(sub {
        my $s = connect_to($svc) or return 0;
        send_get($s, '/readyz');
        return read_response($s, 2) =~ m{^HTTP/1\.1 200 };
    });
}

# ---- a drain that completes ------------------------------------------------

my $svc = Kit::start(env => { REDIS => $redis->address,
                              SHUTDOWN_TIMEOUT => '5s' });
ok(ready($svc), 'ready');

my $idle = connect_to($svc);
send_get($idle, '/healthz');
like(read_response($idle), qr{^HTTP/1\.1 200 }, 'keep-alive connection open');

my $slow = connect_to($svc);
send_get($slow, '/v1/sleep?ms=1200');
sleep 0.3;

my $t0 = time;
kill 'TERM', $svc->{pid};

ok(Kit::eventually(sub { !connect_to($svc) }, 2),
   'new connections refused after SIGTERM');

send_get($idle, '/readyz');
my $resp = read_response($idle);
like($resp, qr{^HTTP/1\.1 503 }, 'in-drain request on a kept connection: '
                                 . '/readyz 503');
like($resp, qr/shutting down/, '/readyz says it is shutting down');
like($resp, qr/^Connection: close\r$/mi, 'and closes the connection');

$resp = read_response($slow, 5);
like($resp, qr{^HTTP/1\.1 200 }, 'the request in flight is answered');
like($resp, qr/\{"slept":1200\}/, 'with its body');

my $status = Kit::wait_exit($svc, 5);
my $took = time - $t0;
is($status, 0, 'exit 0 after the drain');
ok($took >= 0.8, sprintf('exit after the answer (%.2f s after SIGTERM)',
                         $took));
ok($took < 3, 'and soon after it');

my @lines = Kit::log_lines($svc);
my ($down) = grep { $_->{message} eq 'shutting down' } @lines;
is($down->{fields}{in_flight}, 1, '"shutting down" logged with 1 in flight');
my ($stopped) = grep { $_->{message} eq 'stopped' } @lines;
is($stopped->{fields}{unanswered}, 0, '"stopped" logged, none unanswered');
ok(!grep({ $_->{level} eq 'warn' || $_->{level} eq 'error' } @lines),
   'nothing at warn or error');

# ---- idle connections only -------------------------------------------------

$svc = Kit::start(env => { REDIS => $redis->address });
$idle = connect_to($svc);
send_get($idle, '/healthz');
read_response($idle);
$t0 = time;
is(Kit::stop($svc, 5), 0, 'idle keep-alive connection: exit 0');
ok(time - $t0 < 1, 'without waiting for the idle connection');

# ---- the deadline, a second signal -----------------------------------------

SKIP: {
    # both leave a request unanswered, and what its handler holds unfreed
    skip 'requests left unanswered on purpose leak under valgrind', 7
        if $ENV{TEST_KIT_VALGRIND};

    $svc = Kit::start(env => { REDIS => $redis->address,
                               SHUTDOWN_TIMEOUT => '300ms' });
    $slow = connect_to($svc);
    send_get($slow, '/v1/sleep?ms=10000');
    sleep 0.3;
    $t0 = time;
    is(Kit::stop($svc, 5), 0, 'deadline passed: exit 0');
    $took = time - $t0;
    ok($took >= 0.25 && $took < 2, sprintf('after shutdown_timeout (%.2f s)',
                                           $took));
    my ($late) = grep { $_->{message} eq 'shutdown deadline reached' }
                 Kit::log_lines($svc);
    is($late->{level}, 'warn', 'deadline logged as warn');
    is($late->{fields}{unanswered}, 1, 'with the count left unanswered');

    $svc = Kit::start(env => { REDIS => $redis->address,
                               SHUTDOWN_TIMEOUT => '10s' });
    $slow = connect_to($svc);
    send_get($slow, '/v1/sleep?ms=10000');
    sleep 0.3;
    $t0 = time;
    kill 'TERM', $svc->{pid};
    sleep 0.2;
    kill 'TERM', $svc->{pid};
    is(Kit::wait_exit($svc, 5), 0, 'second SIGTERM: exit 0');
    ok(time - $t0 < 2, 'at once');
}

$svc = Kit::start(env => { REDIS => $redis->address });
kill 'INT', $svc->{pid};
is(Kit::wait_exit($svc, 5), 0, 'SIGINT: exit 0');

done_testing();
