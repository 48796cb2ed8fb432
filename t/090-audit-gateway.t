# vi:ft=perl
#
# Audit events from the gateway (docs/audit.md, gw_audit): each request of
# an audited location becomes one event on the gw:audit stream, with the
# members of the audit service's contract (a random id, the time, the
# consumer, method, path without its query, status, request id, latency,
# client, auth outcome); while Redis is away the request is not delayed
# and events wait in the worker's queue, delivered once Redis is back; a
# full queue drops events, counted, with one warning per incident and a
# notice when it drains.  gw_audit without gw_redis fails nginx -t.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use JSON::PP ();
use Test::More;
use Time::HiRes qw(time sleep);
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::JWT qw(nginx_t);
use Tollgate::Redis;

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;
my $ctl = Tollgate::Gwctl->new($redis);

$ctl->consumer_add('acme');
my $key = $ctl->key_create('acme');
$ctl->consumer_add('gone');
my $gone = $ctl->key_create('gone');
$ctl->consumer_disable('gone');

my $gw = Tollgate::Gateway->start(workers => 1, http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    gw_redis_timeout 300ms;
    gw_audit_queue 20;

    server {
        listen \$PORT;
        gw_audit on;

        location = /up {
            gw_audit off;
            return 200 "ok\\n";
        }
        location /open {
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
        location /key {
            gw_key_auth api;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
        location /quiet {
            gw_audit off;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
    }
_EOC_

my $json = JSON::PP->new;

# the events on the stream, parsed, waiting up to 2 s for $n of them
sub events {
    my ($n) = @_;
    my $t0 = time;
    my @ev;
    while (1) {
        my $out = $redis->cli('--no-raw', 'XRANGE', 'gw:audit', '-', '+');
        @ev = map { $json->decode(eval $_) }
              grep { /^"\{/ } map { s/^\s*\d+\)\s*//r } split /\n/, $out;
        last if @ev >= $n || time - $t0 > 2;
        sleep 0.05;
    }
    return @ev;
}

is($gw->get('/open/a?secret=1', 'X-Request-ID' => 'req-1')->{status}, 200,
   'an audited request');
is($gw->get('/key', 'X-API-Key' => $key)->{status}, 200, 'a keyed one');
is($gw->get('/key')->{status}, 401, 'no key');
is($gw->get('/key', 'X-API-Key' => 'tg_' . ('A' x 43))->{status}, 401,
   'an unknown key');
is($gw->get('/key', 'X-API-Key' => $gone)->{status}, 403, 'disabled');
is($gw->get('/quiet')->{status}, 200, 'gw_audit off');

my @ev = events(5);
is(scalar @ev, 5, 'five events, none for gw_audit off nor for /up');

my $e = $ev[0];
like($e->{id}, qr/^[0-9a-f]{32}$/, 'id: 32 hex digits');
ok(abs($e->{time} - time * 1000) < 10_000, 'time: milliseconds now');
is($e->{actor}, '', 'actor: none');
is($e->{action}, 'GET', 'action: the method');
is($e->{resource}, '/open/a', 'resource: the path, without the query');
is($e->{status}, 200, 'status');
is($e->{request_id}, 'req-1', 'request_id: the client\'s');
ok($e->{latency_ms} >= 0, 'latency_ms');
is($e->{client}, '127.0.0.1', 'client');
is($e->{auth}, 'none', 'auth: none');
is($e->{source}, 'gateway', 'source: gateway');

is("$ev[1]{actor} $ev[1]{auth} $ev[1]{status}", 'acme ok 200',
   'a key: the consumer, ok');
is("$ev[2]{auth} $ev[2]{status}", 'missing 401', 'no key: missing');
is("$ev[3]{auth} $ev[3]{status}", 'invalid 401', 'unknown key: invalid');
is("$ev[4]{auth} $ev[4]{status}", 'forbidden 403', 'disabled: forbidden');

my %ids = map { $_->{id} => 1 } @ev;
is(scalar keys %ids, 5, 'every id differs');

# --- Redis away: requests are not delayed; the queue waits, then drops --

$redis->kill;
sleep 0.2;

my $t0 = time;
my @codes = map { $gw->get("/open/$_")->{status} } 1 .. 30;
my $took = time - $t0;
is("@codes", join(' ', ('200') x 30), 'Redis away: requests still answer');
ok($took < 3, sprintf('and are not held (30 requests in %.0f ms)',
                      $took * 1000));

$redis->restart;
$redis->wait_ready(10) or BAIL_OUT('redis did not come back');

@ev = events(20);
sleep 0.5;
@ev = events(20);
is(scalar @ev, 20, 'Redis back: the 20 queued events arrive, in order');
is(join(',', map { $_->{resource} =~ s{^/open/}{}r } @ev),
   join(',', 1 .. 20), 'the first 20, in order');

my @log = $gw->error_log;
is(scalar(grep { /gw_audit: queue full \(20 events/ } @log), 1,
   'one warning for the incident');
like((grep { /gw_audit: queue full/ } @log)[0] // '', qr/\[warn\]/,
     'at warn');
is(scalar(grep { /gw_audit: queue drained; 10 events dropped/ } @log), 1,
   'one notice when it drains, with the count');
ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ && !/gw_redis: / } @log),
   'no other error');

$gw->stop;

# --- configuration ----------------------------------------------------------

my ($ok, $out) = nginx_t('server { location / { gw_audit on; } }');
ok(!$ok && $out =~ /gw_audit needs gw_redis/, 'gw_audit without gw_redis')
    or diag $out;
($ok, $out) = nginx_t('gw_redis 127.0.0.1:1; gw_audit_queue_size 1k; '
                      . 'server { location / { gw_audit on; } }');
ok(!$ok && $out =~ /gw_audit_queue_size: at least 64k/,
   'a queue too small') or diag $out;
($ok, $out) = nginx_t('gw_redis 127.0.0.1:1; gw_audit_queue 0;');
ok(!$ok, 'gw_audit_queue 0') or diag $out;
($ok, $out) = nginx_t('gw_redis 127.0.0.1:1; gw_audit_stream audit:x; '
                      . 'gw_audit_queue 100; gw_audit_queue_size 1m; '
                      . 'gw_audit_maxlen 100000; gw_audit on; '
                      . 'server { location / { gw_audit off; } }');
ok($ok, 'every directive') or diag $out;

done_testing();
