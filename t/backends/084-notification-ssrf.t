# The notification service's outbound HTTP (docs/notification.md,
# "Outbound HTTP"): the address guard on the connected address (a
# loopback, private, link-local or IPv6 loopback destination refused
# unless webhook_allow names it, a host name resolving to 127.0.0.1
# included), no redirects, the response cap, the timeout of a receiver
# that never answers, the per-endpoint concurrency limit (a slow
# endpoint holds only its own queue), and TLS verification (a receiver
# whose CA is unknown refused; with webhook_ca naming it accepted).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use HookReceiver;
use Notification;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (make backends)'
    unless -x Notification::binary();

my $redis = Tollgate::Redis->start;
my $rcv = HookReceiver->new;
my $key = Notification::secret_key();
my %c1 = ('X-Consumer-ID' => 'c1');

sub svc {
    my (%env) = @_;
    return Notification::start(env => { REDIS => $redis->address,
                                        SECRET_KEY_FILE => $key, %env });
}

sub create {
    my ($svc, $url) = @_;
    my ($s, $b) = Notification::call($svc, 'POST', '/v1/subscriptions',
                                     { url => $url, event_types => ['*'] },
                                     \%c1);
    is($s, 201, "created $url") or diag explain $b;
    return $b->{id};
}

sub test_send {
    my ($svc, $sid) = @_;
    my ($s, $b) = Notification::call($svc, 'POST',
                                     "/v1/subscriptions/$sid/test", undef,
                                     \%c1);
    is($s, 200, "a test delivery to $sid") or diag explain $b;
    return $b;
}

sub paths { map { $_->{path} } $rcv->requests }

# ---- the address guard -------------------------------------------------------

my $port = $rcv->port;

# made while the allow list names them, sent after it no longer does
my $open = svc(WEBHOOK_ALLOW => '127.0.0.0/8, 10.0.0.0/8, 169.254.0.0/16, '
                                . '[::1]');
my %sid;
$sid{loopback} = create($open, "http://127.0.0.1:$port/ok/loopback");
$sid{private} = create($open, 'http://10.255.255.1:9/ok/private');
$sid{metadata} = create($open, 'http://169.254.169.254/latest/meta-data/');
$sid{v6} = create($open, "http://[::1]:$port/ok/v6");
$sid{name} = create($open, "http://localhost:$port/ok/name");
is(test_send($open, $sid{loopback})->{result}, 'ok',
   'allowed: 127.0.0.1 delivered');
Notification::stop($open);

my $svc = svc(WEBHOOK_ALLOW => '', WEBHOOK_CONNECT_TIMEOUT => '1s');

my %want = (loopback => qr/^address refused: 127\.0\.0\.1 \(loopback\)$/,
            private => qr/^address refused: 10\.255\.255\.1 \(private\)$/,
            metadata => qr/^address refused: 169\.254\.169\.254 \(link-local\)$/,
            v6 => qr/^address refused: ::1 \(loopback\)$/,
            name => qr/^address refused: (127\.0\.0\.1|::1) \(loopback\)$/);

for my $what (sort keys %want) {
    my $t = test_send($svc, $sid{$what});
    is($t->{result}, 'retry', "$what: not delivered (retry)");
    like($t->{error}, $want{$what}, "$what: $t->{error}");
    is($t->{status}, 0, "$what: no answer");
}
ok(!grep({ m{^/ok/(v6|name)} } paths()),
   'the receiver got nothing from the refused ones');
is(scalar(grep { $_ eq '/ok/loopback' } paths()), 1,
   'only the allowed delivery arrived');
is(Notification::metric($svc,
       'gw_ntf_http_requests_total{outcome="refused"}'), 5,
   'counted: 5 refused');

for my $url ("http://127.0.0.1:$port/ok", 'http://10.0.0.1/',
             'http://169.254.169.254/', "http://[::1]:$port/",
             'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/',
             'http://[fd00::1]/', 'http://[fe80::1]/', 'http://224.0.0.1/',
             'http://100.64.0.1/') {
    my ($s, $b) = Notification::call($svc, 'POST', '/v1/subscriptions',
                                     { url => $url, event_types => ['*'] },
                                     \%c1);
    is($s, 422, "refused at creation without an allow list: $url");
}
my ($s, $b) = Notification::call($svc, 'POST', '/v1/subscriptions',
                                 { url => 'https://93.184.215.14/hook',
                                   event_types => ['*'] }, \%c1);
is($s, 201, 'a public address: accepted');
Notification::stop($svc);

my ($out, $rc) = Notification::run(env => { WEBHOOK_ALLOW => '10.0.0.0/33' },
                                   args => ['-t']);
isnt($rc, 0, 'a malformed webhook_allow: refused at start');
like($out, qr{webhook_allow: .*10\.0\.0\.0/33}, '... naming it');

# ---- redirects, caps, timeouts -----------------------------------------------

$svc = svc(WEBHOOK_TIMEOUT => '1s', WEBHOOK_RESPONSE_MAX => '64k');

my $t = test_send($svc, create($svc, $rcv->url('/redirect')));
is($t->{result}, 'retry', 'a redirect: retry');
is($t->{status}, 302, '... 302 seen');
ok(!grep({ $_ eq '/ok-redirected' } paths()), '... and not followed');

$t = test_send($svc, create($svc, $rcv->url('/big')));
is($t->{result}, 'retry', 'a 1 MiB answer: retry');
is($t->{error}, 'response too large', '... response too large');

my $t0 = time;
$t = test_send($svc, create($svc, $rcv->url('/slow')));
is($t->{result}, 'retry', 'a receiver that never answers: retry');
is($t->{error}, 'timeout', '... timeout');
ok(grep({ $_ eq '/slow' } paths()), '... after it got the request');
for (['3xx', 1], ['too_large', 1], ['timeout', 1]) {
    is(Notification::metric($svc, "gw_ntf_http_requests_total{outcome="
                                  . "\"$_->[0]\"}"), $_->[1],
       "counted: $_->[0]");
}
Notification::stop($svc);

# ---- per-endpoint concurrency ------------------------------------------------

my $fast = HookReceiver->new;
$svc = svc(WEBHOOK_CONCURRENCY => 2, LEASE => '60s');
my $hold = create($svc, $rcv->url('/hold'));
my $quick = create($svc, $fast->url('/ok/fast'));

# test deliveries in parallel, each from a child of its own
my @kids;
for my $sid (($hold) x 4, ($quick) x 6) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($st, $r) = Notification::call($svc, 'POST',
                                          "/v1/subscriptions/$sid/test",
                                          undef, \%c1);
        POSIX::_exit(($r->{result} // '') eq 'ok' ? 0 : 1);
    }
    push @kids, $pid;
    sleep 0.05 if $sid eq $hold;
}

ok(Notification::eventually(sub { $fast->requests == 6 }),
   'the fast endpoint got all 6 deliveries');
is(scalar(grep { $_ eq '/hold' } paths()), 2,
   '... while the slow one holds 2 (webhook_concurrency), the rest queued');
$rcv->release;
my $failed = 0;
for (@kids) {
    waitpid $_, 0;
    $failed++ if $?;
}
is($failed, 0, 'all 10 delivered once the slow one answers');
is(scalar(grep { $_ eq '/hold' } paths()), 4, 'the slow one got its 4');
Notification::stop($svc);

# a queued delivery waits at most lease / 2: then "endpoint busy"
my $busy = HookReceiver->new;
$svc = svc(WEBHOOK_CONCURRENCY => 1, LEASE => '2s', WEBHOOK_TIMEOUT => '5s');
my $slow = create($svc, $busy->url('/slow'));
my $pid = fork // die;
if ($pid == 0) {
    Notification::call($svc, 'POST', "/v1/subscriptions/$slow/test", undef,
                       \%c1);
    POSIX::_exit(0);
}
ok(Notification::eventually(sub { $busy->requests == 1 }), 'one in flight');
$t = test_send($svc, $slow);
is($t->{result}, 'retry', 'the next one waited');
is($t->{error}, 'endpoint busy', '... and gave up: endpoint busy');
is(scalar $busy->requests, 1, '... without reaching the endpoint');
is(Notification::metric($svc, 'gw_ntf_http_requests_total{outcome="busy"}'),
   1, 'counted: busy');
kill 'KILL', $pid;
waitpid $pid, 0;
Notification::stop($svc);

# ---- TLS ---------------------------------------------------------------------

SKIP: {
    my $node = `node -e 'console.log(1)' 2>/dev/null` =~ /1/;
    skip 'node is not installed', 7 unless $node;

    my $dir = Notification::tmp();
    my $ssl = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
              . " -nodes -days 2 -subj /CN=test-ca -keyout $dir/ca.key"
              . " -out $dir/ca.pem 2>&1 && openssl req -newkey ec -pkeyopt"
              . " ec_paramgen_curve:P-256 -nodes -subj /CN=localhost"
              . " -keyout $dir/srv.key -out $dir/srv.csr 2>&1 && printf"
              . " 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' >"
              . " $dir/ext && openssl x509 -req -in $dir/srv.csr -CA"
              . " $dir/ca.pem -CAkey $dir/ca.key -CAcreateserial -days 2"
              . " -extfile $dir/ext -out $dir/srv.pem 2>&1";
    system("($ssl) >/dev/null") == 0 or skip 'openssl failed', 7;

    my $js = "const https = require('https'); const fs = require('fs');"
             . "const s = https.createServer({key: fs.readFileSync("
             . "'$dir/srv.key'), cert: fs.readFileSync('$dir/srv.pem')},"
             . " (q, r) => { q.resume(); q.on('end', () => r.end('ok')); });"
             . " s.listen(0, '127.0.0.1', () => console.log("
             . "s.address().port));";
    my $npid = open my $nfh, '-|', 'node', '-e', $js or die $!;
    my $tport = <$nfh>;
    chomp $tport;

    $svc = svc();
    my $tls = create($svc, "https://127.0.0.1:$tport/hook");
    $t = test_send($svc, $tls);
    is($t->{result}, 'retry', 'a receiver of an unknown CA: retry');
    like($t->{error}, qr/^tls: /, "... $t->{error}");
    is(Notification::metric($svc,
           'gw_ntf_http_requests_total{outcome="tls"}'), 1, 'counted: tls');
    Notification::stop($svc);

    $svc = svc(WEBHOOK_CA => "$dir/ca.pem");
    $t = test_send($svc, $tls);
    is($t->{result}, 'ok', 'with webhook_ca naming its CA: delivered');
    is($t->{status}, 200, '... 200');
    is_deeply([ Notification::errors($svc) ], [], 'no error logged');
    Notification::stop($svc);

    ($out, $rc) = Notification::run(env => { WEBHOOK_CA => "$dir/none.pem" },
                                    args => ['-t']);
    isnt($rc, 0, 'a webhook_ca that cannot be read: refused at start');
    kill 'TERM', $npid;
    close $nfh;
}

done_testing();
