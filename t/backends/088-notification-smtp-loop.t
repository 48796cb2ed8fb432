# An SMTP send never holds the notification service's loop
# (docs/notification-email.md, "Threads"): libcurl waits for the answer
# to the message's end in a blocking state machine, so each transaction
# runs on a worker thread.  A server that holds its answer to DATA back
# (t/smtp/server.py --delay, DIR/held written once the message is in and
# the answer waits): /healthz and the API answer while the answer is
# still held, i.e. before the message's files exist, which the server
# writes when it answers; then the delivery is recorded once and the
# message received once.  A SIGTERM while the answer is held, with a
# short drain_timeout: the process exits before the server answered,
# the attempt left to its lease.  Through the channel's driver: the message
# received byte for byte as built, several over smtp_threads 2 with
# smtp_concurrency 3, each once, at most two connections at once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep);

use Notification;
use Smtp;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (make backends)'
    unless -x Notification::binary();
plan skip_all => Smtp::binary() . ' is not built (make ntf-mail-test)'
    unless -x Smtp::binary();
plan skip_all => 'python3-aiosmtpd is missing' unless Smtp::available();

my %c1 = ('X-Consumer-ID' => 'c1');
my $FROM = 'Billing <billing@tollgate.test>';

sub held {
    my ($srv) = @_;
    my $f = $srv->dir . '/held';
    return -f $f ? scalar(split /\n/, Smtp::slurp($f)) : 0;
}

# ---- the loop answers while DATA's answer is held -----------------------

my $smtp = Smtp::start(args => ['--delay', '2']);
my $redis = Tollgate::Redis->start;
my $svc = Notification::start(env => {
    REDIS => $redis->address, SMTP_URL => $smtp->url, SMTP_TLS => 'off',
    SMTP_FROM => $FROM, SMTP_TIMEOUT => '10s', LEASE => '10s' });

my ($st, $b) = Notification::call($svc, 'POST', '/v1/notifications',
    { channel => 'email', recipients => ['ops@example.com'],
      body => { subject => 'slow server', text => "held\n" } }, \%c1);
is($st, 202, 'an email accepted') or diag explain $b;
my $id = $b->{id};

ok(Notification::eventually(sub { held($smtp) == 1 }, 20),
   'the message is in, its answer held');

my ($hs) = Notification::call($svc, 'GET', '/healthz');
my $before = () = $smtp->messages;
is($hs, 200, '/healthz answered during the send');
is($before, 0, '... before the server answered the message');

my ($gs, $g) = Notification::call($svc, 'GET', "/v1/notifications/$id",
                                  undef, \%c1);
$before = () = $smtp->messages;
is($gs, 200, 'the API answered during the send');
is($before, 0, '... before the server answered the message');
isnt($g->{state}, 'delivered', '... not yet delivered');

ok(Notification::eventually(sub {
       my (undef, $n) = Notification::call($svc, 'GET',
                                           "/v1/notifications/$id",
                                           undef, \%c1);
       ref $n && ($n->{state} // '') eq 'delivered' }, 20),
   'then delivered');

my @m = $smtp->messages;
is(scalar @m, 1, 'received once');
like($m[0]{eml}, qr/\r\nSubject: slow server\r\n/, 'the message');
is_deeply($m[0]{meta}{rcpt_tos}, ['ops@example.com'], 'its recipient');
sleep 0.5;
is(scalar($smtp->messages), 1, 'not sent again');
is(scalar(Notification::errors($svc)), 0, 'nothing logged at error');

kill 'TERM', $svc->{pid};
is(Notification::wait_exit($svc, 20), 0, 'stops, exit 0');
$smtp->stop;

# ---- SIGTERM while DATA's answer is held, drain_timeout shorter -------------

$smtp = Smtp::start(args => ['--delay', '4']);
$svc = Notification::start(env => {
    REDIS => $redis->address, SMTP_URL => $smtp->url, SMTP_TLS => 'off',
    SMTP_FROM => $FROM, SMTP_TIMEOUT => '10s', LEASE => '10s',
    DRAIN_TIMEOUT => '300ms' });

($st, $b) = Notification::call($svc, 'POST', '/v1/notifications',
    { channel => 'email', recipients => ['ops@example.com'],
      body => { subject => 'stopped', text => "held\n" } }, \%c1);
is($st, 202, 'an email accepted');
ok(Notification::eventually(sub { held($smtp) == 1 }, 20),
   'the message is in, its answer held');

kill 'TERM', $svc->{pid};
is(Notification::wait_exit($svc, 20), 0, 'SIGTERM during the send: exit 0');
$before = () = $smtp->messages;
is($before, 0, '... before the server answered the message');
my @left = grep { ($_->{message} // '') =~ /^drain_timeout reached/ }
           Notification::log_lines($svc);
is(scalar @left, 1, 'logged: the attempt left to its lease');
is(scalar(Notification::errors($svc)), 0, 'nothing logged at error');
$smtp->stop;

# ---- the driver: byte for byte, threads and the FIFO --------------------

$smtp = Smtp::start(args => ['--delay', '0.5']);
my %env = (SMTP_URL => $smtp->url, SMTP_FROM => $FROM, SMTP_TLS => 'off',
           SMTP_TIMEOUT => '10s');
my $payload = { to => ['a@example.com', { email => 'b@example.org',
                                          name => 'B' }],
                subject => 'threads', text => "one\ntwo\n",
                html => '<p>one</p>' };

my ($o, $dir) = Smtp::send(env => \%env, payload => $payload,
                           id => 'ntf_01loop');
is($o->[0]{result}, 'ok', 'delivered through a thread') or diag explain $o;
is($o->[0]{status}, 250, '250 after DATA');
@m = $smtp->messages;
is(scalar @m, 1, 'one message');
ok($m[0]{eml} eq Smtp::slurp("$dir/ntf_01loop.0.eml"),
   'received byte for byte as built');
$smtp->stop;

$smtp = Smtp::start(args => ['--delay', '0.3']);
$env{SMTP_URL} = $smtp->url;
($o, $dir) = Smtp::send(env => { %env, SMTP_THREADS => 2,
                                 SMTP_CONCURRENCY => 3 },
                        payload => $payload, id => 'ntf_02loop', n => 5);
is(scalar(grep { $_->{result} eq 'ok' } @$o), 5,
   '5 over 2 threads: all delivered');
@m = $smtp->messages;
is(scalar @m, 5, 'each received once');
my %built = map { Smtp::slurp("$dir/ntf_02loop.$_.eml") => 1 } 0 .. 4;
is(scalar(grep { $built{$_->{eml}} } @m), 5, 'each one as built');
is(Smtp::slurp($smtp->dir . '/maxconn'), "2\n", 'two at once at most');

done_testing();
