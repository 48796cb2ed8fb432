# The service kit over real HTTP, through the example service
# (backends/example) and a private redis-server: routing, 404 and 405 as
# problem+json, a HEAD without a body, the body cap (413), X-Request-ID
# kept, generated and replaced when malformed, W3C traceparent continued
# or started, the JSON log lines, /metrics (through promtool when it is
# installed), /healthz, /readyz going 503 while Redis is down and 200
# when it is back, the service's own ready hook, a unix socket listener,
# and the same requests under valgrind with no leak at exit.  Plain
# Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Socket::INET ();
use IO::Socket::UNIX ();
use HTTP::Tiny;
use JSON::PP qw(decode_json);
use Test::More;
use Time::HiRes qw(sleep);

use Kit;
use Tollgate::Redis;

plan skip_all => Kit::binary() . ' is not built (run make backends)'
    unless -x Kit::binary();

my $redis = Tollgate::Redis->start(unix => 1);
my $svc = Kit::start(env => { REDIS => $redis->address, BODY_MAX => 1024,
                              REDIS_RETRY => '100ms' });
my $http = HTTP::Tiny->new(timeout => 10);

ok($svc->{port}, "listening on port $svc->{port}");

sub get  { $http->get(Kit::url($svc, $_[0]), { headers => $_[1] || {} }) }

sub req {
    my ($method, $path, $body, $headers) = @_;
    return $http->request($method, Kit::url($svc, $path),
                          { headers => $headers || {},
                            defined $body ? (content => $body) : () });
}

sub problem {
    my ($r, $status, $type, $name) = @_;
    is($r->{status}, $status, "$name: status $status");
    is($r->{headers}{'content-type'}, 'application/problem+json',
       "$name: problem+json");
    my $p = eval { decode_json($r->{content}) } || {};
    is($p->{type}, "urn:tollgate:problem:$type", "$name: type $type");
    is($p->{status}, $status, "$name: status member");
    is($p->{request_id}, $r->{headers}{'x-request-id'},
       "$name: request_id is the X-Request-ID");
    return $p;
}

# ---- probes ---------------------------------------------------------------

my $r = get('/healthz');
is($r->{status}, 200, '/healthz 200');
is_deeply(decode_json($r->{content}), { status => 'alive' }, '/healthz body');
is($r->{headers}{'content-type'}, 'application/json', 'JSON content type');

ok(Kit::eventually(sub { get('/readyz')->{status} == 200 }), '/readyz 200');

# ---- routing --------------------------------------------------------------

$r = req('PUT', '/v1/kv/k1', 'value one');
is($r->{status}, 200, 'PUT stores');
is_deeply(decode_json($r->{content}), { key => 'k1', stored => JSON::PP::true },
          'PUT answer');
like($redis->cli('GET', 'gw:example:k1'), qr/^value one\s*$/,
     'in Redis, namespaced');

$r = get('/v1/kv/k1');
is($r->{status}, 200, 'GET finds');
is_deeply(decode_json($r->{content}), { key => 'k1', value => 'value one' },
          'GET answer');

is(req('DELETE', '/v1/kv/k1')->{status}, 204, 'DELETE');
problem(get('/v1/kv/k1'), 404, 'key-not-found', 'GET after DELETE');
problem(get('/v1/kv/bad%20key'), 400, 'key-invalid', 'malformed key');

my $p = problem(get('/nowhere'), 404, 'not-found', 'unknown path');
is($p->{title}, 'Not found', '404 title');
problem(get('/v1/kv'), 404, 'not-found', 'prefix route needs its slash');
problem(get('/v1/echo/more'), 404, 'not-found', 'exact route is exact');
problem(get('/v1/kv/a%00b'), 400, 'bad-request', 'NUL in the decoded path');
is(get('/v1/kv/a%2Eb')->{status}, 404, 'the path is percent-decoded');

$r = req('POST', '/v1/kv/k1', 'x');
problem($r, 405, 'method-not-allowed', 'POST on kv');
is($r->{headers}{allow}, 'GET, PUT, DELETE', '405 Allow header');
$r = req('PATCH', '/healthz', 'x');
problem($r, 405, 'method-not-allowed', 'PATCH on /healthz');
is($r->{headers}{allow}, 'GET, HEAD', '405 Allow for a probe');

# a HEAD: the GET's status and headers, not a byte of body on the wire
# (libevent would send it, and a kept-alive client would read it as the
# next answer)
for my $path ('/healthz', '/nothing') {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $svc->{port})
        or die "connect: $!";
    print {$s} "HEAD $path HTTP/1.1\r\nHost: x\r\n"
               . "Connection: close\r\n\r\n";
    my $got = do { local $/; <$s> } // '';
    my ($head, $rest) = split /\r\n\r\n/, $got, 2;
    like($head, qr{^HTTP/1\.1 (200|404) }, "HEAD $path: answered");
    is($rest, '', "HEAD $path: no body");
}

# ---- body cap -------------------------------------------------------------

$r = req('POST', '/v1/echo', 'a' x 1024);
is($r->{status}, 200, 'body at the cap accepted');
is(length(decode_json($r->{content})->{body}), 1024, 'whole body seen');
$p = problem(req('POST', '/v1/echo', 'a' x 1025), 413, 'body-too-large',
             'body one byte over the cap');
is($p->{title}, 'Body too large', '413 title');
is(req('POST', '/v1/echo', 'a' x 70000)->{status}, 413,
   'body over the hard limit: 413 too');
is(get('/healthz')->{status}, 200, 'still serving after 413s');
is(get('/healthz', { 'X-Big' => 'a' x 20000 })->{status}, 400,
   'headers over header_max: 400');

# ---- request ids ----------------------------------------------------------

my $id_re = qr/^[0-9a-f]{32}$/;

$r = req('POST', '/v1/echo', '', { 'X-Request-ID' => 'abc-123:x.y_Z' });
is($r->{headers}{'x-request-id'}, 'abc-123:x.y_Z', 'X-Request-ID echoed');
is(decode_json($r->{content})->{request_id}, 'abc-123:x.y_Z',
   'handler sees the client id');

my $long = 'x' x 128;
is(get('/healthz', { 'X-Request-ID' => $long })->{headers}{'x-request-id'},
   $long, '128-byte id kept');

for my $bad ('x' x 129, 'has space', 'semi;colon', 'slash/', 'quote"',
             'at@', 'comma,')
{
    my $got = get('/healthz', { 'X-Request-ID' => $bad })
              ->{headers}{'x-request-id'};
    like($got, $id_re, 'malformed id "' . substr($bad, 0, 12)
                       . '" replaced by a generated one');
}

my $id1 = get('/healthz')->{headers}{'x-request-id'};
my $id2 = get('/healthz')->{headers}{'x-request-id'};
like($id1, $id_re, 'id generated when absent: 32 hex');
isnt($id1, $id2, 'generated ids differ');

# ---- trace context --------------------------------------------------------

my $tid = '4bf92f3577b34da6a3ce929d0e0e4736';
my $in = "00-$tid-00f067aa0ba902b7-01";

$r = req('POST', '/v1/echo', '', { traceparent => $in });
my $tp = $r->{headers}{traceparent} // '';
like($tp, qr/^00-$tid-[0-9a-f]{16}-01$/, 'trace continued, sampled kept');
isnt((split /-/, $tp)[2], '00f067aa0ba902b7', 'a new span id of our own');
my $echo = decode_json($r->{content});
is($echo->{traceparent}, $tp, 'handler passes on the same traceparent');
is($echo->{trace_id}, $tid, 'handler sees the trace id');

$tp = get('/healthz', { traceparent => "00-$tid-00f067aa0ba902b7-00" })
      ->{headers}{traceparent};
like($tp, qr/^00-$tid-[0-9a-f]{16}-00$/, 'not sampled kept');

$tp = get('/healthz', { traceparent => "00-$tid-00f067aa0ba902b7-ff" })
      ->{headers}{traceparent};
like($tp, qr/^00-$tid-[0-9a-f]{16}-01$/, 'unknown flags dropped');

$tp = get('/healthz', { traceparent => "cc-$tid-00f067aa0ba902b7-01-later" })
      ->{headers}{traceparent};
like($tp, qr/^00-$tid-[0-9a-f]{16}-01$/, 'a later version continued as 00');

for my $bad ("00-\U$tid\E-00f067aa0ba902b7-01",
             "ff-$tid-00f067aa0ba902b7-01",
             '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
             "00-$tid-0000000000000000-01",
             "00-$tid-00f067aa0ba902b7-01-extra",
             'garbage')
{
    $tp = get('/healthz', { traceparent => $bad })->{headers}{traceparent};
    like($tp, qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
         "invalid \"$bad\": a new trace");
    unlike($tp, qr/$tid/i, "invalid \"$bad\": not continued");
}

$tp = get('/healthz')->{headers}{traceparent};
like($tp, qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'absent: a new trace');

# ---- logs -----------------------------------------------------------------

my @raw = Kit::raw_lines($svc);
ok(@raw > 10, 'the service logged');
is(scalar(grep { !eval { decode_json($_); 1 } } @raw), 0,
   'every log line is one JSON object');

my @lines = Kit::log_lines($svc);
my ($started) = grep { $_->{message} eq 'started' } @lines;
ok($started, '"started" logged');
like($started->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'time is RFC 3339 UTC with milliseconds');
is($started->{level}, 'info', 'level');
is($started->{service}, 'example', 'service');

my ($access) = grep { ($_->{request_id} // '') eq 'abc-123:x.y_Z' } @lines;
ok($access, 'access line found by request id');
is($access->{message}, 'request', 'access line message');
is($access->{fields}{method}, 'POST', 'access line method');
is($access->{fields}{path}, '/v1/echo', 'access line path');
is($access->{fields}{route}, '/v1/echo', 'access line route');
is($access->{fields}{status}, 200, 'access line status');
like($access->{trace_id}, qr/^[0-9a-f]{32}$/, 'access line trace_id');
ok(defined $access->{fields}{duration_ms}, 'access line duration');

my ($traced) = grep { ($_->{trace_id} // '') eq $tid } @lines;
ok($traced, 'the continued trace id is in the log');
ok(!grep({ ($_->{fields}{path} // '') eq '/healthz'
           && $_->{fields}{status} == 200 } @lines),
   'probes are not logged at info');

# ---- metrics --------------------------------------------------------------

$r = get('/metrics');
is($r->{status}, 200, '/metrics 200');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     'exposition content type');
my $m = $r->{content};
like($m, qr/^# TYPE gw_http_requests_total counter$/m, 'counter type');
my $req_total = 'gw_http_requests_total';
my $duration = 'gw_http_request_duration_seconds';
like($m, qr/^$req_total\{route="\/v1\/kv\/\*",method="PUT",status="2xx"\} 1$/m,
     'PUT counted by route and class');
like($m, qr/^$req_total\{route="none",method="GET",status="4xx"\} [1-9]/m,
     'unrouted 404s counted');
like($m, qr/^${duration}_bucket\{route="\/v1\/echo",le="\+Inf"\} \d+$/m,
     'latency histogram');
like($m, qr/^${duration}_count\{route="\/v1\/echo"\} \d+$/m,
     'histogram count');
like($m, qr/^gw_redis_up 1$/m, 'gw_redis_up 1');
like($m, qr/^gw_http_requests_in_flight 1$/m, 'in flight: this request');
like($m, qr/^example_kv_operations_total\{method="DELETE",result="ok"\} 1$/m,
     "the service's own counter");

SKIP: {
    my ($promtool) = grep { -x } map { "$_/promtool" }
                     split(/:/, $ENV{PATH} // ''), '/usr/bin';
    skip 'promtool is not installed (apt-get install prometheus)', 2
        unless $promtool;
    my $file = "$Kit::TMP/metrics.txt";
    open my $out, '>', $file or die "$file: $!";
    print $out $m;
    close $out;
    my $res = `$promtool check metrics < $file 2>&1`;
    is($?, 0, 'promtool check metrics passes') or diag $res;
    is($res, '', 'promtool has no remark');
}

# ---- TCP_NODELAY on kept-alive connections ---------------------------------

# once per connection: two requests on one new kept-alive connection add 1
sub nodelay_count {
    my ($v) = get('/metrics')->{content}
        =~ /^gw_http_tcp_nodelay_total (\d+)$/m;
    return $v;
}
my $nd0 = nodelay_count();
ok(defined $nd0 && $nd0 >= 1, 'the connections so far were set TCP_NODELAY');
my $ka = HTTP::Tiny->new(timeout => 10, keep_alive => 1);
is($ka->get(Kit::url($svc, '/healthz'))->{status}, 200, 'kept alive: 1st');
is($ka->get(Kit::url($svc, '/healthz'))->{status}, 200, 'kept alive: 2nd');
is(nodelay_count(), $nd0 + 1, 'one new connection set TCP_NODELAY once');

# ---- Redis down and back ---------------------------------------------------

$redis->kill;

ok(Kit::eventually(sub { get('/readyz')->{status} == 503 }),
   '/readyz 503 once Redis is killed');
$p = problem(get('/readyz'), 503, 'not-ready', '/readyz down');
is($p->{detail}, 'redis is not reachable', '/readyz says why');
is(get('/healthz')->{status}, 200, '/healthz still 200: alive');
problem(get('/v1/kv/k2'), 503, 'redis-unavailable', 'kv without Redis');
like(get('/metrics')->{content}, qr/^gw_redis_up 0$/m, 'gw_redis_up 0');
ok(grep({ $_->{message} eq 'redis down' && $_->{level} eq 'warn' }
        Kit::log_lines($svc)), '"redis down" logged as warn');

ok(Kit::eventually(sub {
       get('/metrics')->{content}
       =~ /^gw_redis_connects_total\{result="error"\} [1-9]/m }, 3),
   'failed reconnects counted');

$redis->restart;

ok(Kit::eventually(sub { get('/readyz')->{status} == 200 }),
   '/readyz 200 again once Redis is back');
is(req('PUT', '/v1/kv/k2', 'back')->{status}, 200, 'kv works again');


# a stalled Redis (DEBUG SLEEP): not ready while it does not answer, the
# connection dropped after 5 unanswered PINGs, and back after
$redis->cli_bg('DEBUG', 'SLEEP', '1.5');
ok(Kit::eventually(sub { get('/readyz')->{status} == 503 }, 2),
   '/readyz 503 while Redis stalls');
problem(get('/v1/kv/k2'), 503, 'redis-unavailable', 'kv while Redis stalls');
ok(Kit::eventually(sub { get('/readyz')->{status} == 200 }, 6),
   '/readyz 200 once Redis answers again');
ok(grep({ $_->{message} eq 'redis not answering, reconnecting' }
        Kit::log_lines($svc)), 'the stalled connection was dropped');
is(get('/v1/kv/k2')->{status}, 200, 'kv works after the stall');
$redis->reap_children;

is(Kit::stop($svc), 0, 'SIGTERM: exit 0');

# ---- the service's ready hook, a unix socket -------------------------------

my $sock = "$Kit::TMP/example.sock";
my $svc2 = Kit::start(env => { LISTEN => "unix:$sock",
                               REDIS => 'unix:' . $redis->unix_socket,
                               WARMUP => '1500ms' });
ok(-S $sock, 'listening on a unix socket');

sub unix_get {
    my ($path) = @_;
    my $s = IO::Socket::UNIX->new(Peer => $sock) or return '';
    print $s "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    local $/;
    return <$s> // '';
}

like(unix_get('/healthz'), qr{^HTTP/1\.1 200 .*"alive"}s,
     '/healthz over the unix socket');
my $resp = unix_get('/readyz');
like($resp, qr{^HTTP/1\.1 503 }, '/readyz 503 during warmup');
like($resp, qr/the service is not ready/, 'the ready hook said no');
ok(Kit::eventually(sub { unix_get('/readyz') =~ m{^HTTP/1\.1 200 } }, 5),
   '/readyz 200 after warmup, Redis on a unix socket');
is(Kit::stop($svc2), 0, 'exit 0');
ok(!-e $sock, 'socket file removed at exit');

# ---- valgrind --------------------------------------------------------------

SKIP: {
    skip 'valgrind is not installed', 4 unless Kit::have_valgrind();
    my $vg = Kit::start(valgrind => 1,
                        env => { REDIS => $redis->address,
                                 BODY_MAX => 64 });
    $svc = $vg;
    ok(Kit::eventually(sub { get('/readyz')->{status} == 200 }, 20),
       'valgrind: ready');
    req('PUT', '/v1/kv/vg', 'v');
    get('/v1/kv/vg');
    get('/v1/kv/none');
    req('POST', '/v1/echo', 'x' x 100);
    req('POST', '/v1/echo', 'x', { traceparent => $in,
                                   'X-Request-ID' => 'vg' });
    req('POST', '/v1/kv/vg', 'x');
    get('/metrics');
    is(get('/v1/sleep?ms=10')->{status}, 200, 'valgrind: timer request');
    is(Kit::stop($vg, 60), 0, 'valgrind: exit 0, no error, no leak')
        or diag(Kit::slurp($vg->{log}));
    ok(!grep({ /^==\d+==/ } split /\n/, Kit::slurp($vg->{log})),
       'valgrind: silent');
}

done_testing();
