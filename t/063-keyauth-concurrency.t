# vi:ft=perl
#
# API keys under concurrency (docs/key-auth.md, docs/redis.md): a hundred
# clients at once on one worker, whose lookups all share the worker's one
# Redis connection (pipelined), each getting its own consumer, with Redis
# answering at once or stalled until all hundred wait; and clients that
# go away while their request waits for Redis, alone or twenty at a time,
# after which the worker keeps serving and logs no [alert] or [crit].
# The blocks are meant to pass under TEST_NGINX_USE_VALGRIND=1 too.
#
# The hundred clients are real sockets opened by this script against an
# nginx of its own (Tollgate::Gateway, worker_processes 1): Test::Nginx
# sends one request at a time.  Consumers c000..c099 and their keys are
# made by build/gwctl, so every lookup is a different key and goes to
# Redis.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use IO::Select ();
use IO::Socket::INET ();
use Test::Nginx::Socket 'no_plan';
use Time::HiRes ();
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Redis;

no_shuffle();
worker_connections(1024);

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;

$ctl->consumer_add('alice', name => 'Alice');
our $alice = $ctl->key_create('alice');

my $N = 100;
my @ids = map { sprintf 'c%03d', $_ } 0 .. $N - 1;
my (%key, %key2);
for my $id (@ids) {
    $ctl->consumer_add($id);
    $key{$id} = $ctl->key_create($id);
    $key2{$id} = $ctl->key_create($id);
}

# hundred($gw, $keys): $N clients, one per consumer, connected together,
# then each sends its request with its key of %$keys, then all answers are
# read; returns (consumer => "status body") and the seconds it took
sub hundred {
    my ($gw, $keys) = @_;
    my (%sock, %resp);
    my $t0 = Time::HiRes::time();
    for my $id (@ids) {
        $sock{$id} = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $gw->port,
                                           Proto => 'tcp', Timeout => 5)
            or die "connect: $!";
    }
    for my $id (@ids) {
        syswrite $sock{$id}, "GET /api HTTP/1.1\r\nHost: localhost\r\n"
                             . "X-API-Key: $keys->{$id}\r\n"
                             . "Connection: close\r\n\r\n";
        $resp{$id} = '';
    }
    my $sel = IO::Select->new(values %sock);
    my %by_fh = map { fileno($sock{$_}) => $_ } @ids;
    my $deadline = $t0 + 10;
    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $fh ($sel->can_read(1)) {
            my $id = $by_fh{fileno $fh};
            my $n = sysread $fh, my $buf, 65536;
            if ($n) {
                $resp{$id} .= $buf;
            } else {
                $sel->remove($fh);
                close $fh;
            }
        }
    }
    my $took = Time::HiRes::time() - $t0;
    my %out;
    for my $id (@ids) {
        my $res = Tollgate::Gateway::parse_response($resp{$id});
        $out{$id} = "$res->{status} $res->{body}";
    }
    return (\%out, $took);
}

# returns once the Test::Nginx server's worker has both its Redis
# connections up (under valgrind it starts slowly, and a stall during its
# handshake would be an outage of its own)
sub wait_connected {
    for (1 .. 300) {
        my $res = Tollgate::Gateway::raw_request($ENV{TEST_NGINX_SERVER_PORT},
            "GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n", 5);
        return 1 if $res->{body} =~ /"connected":true,"state":"up",.*"subscriber":\{"connected":true,/;
        Time::HiRes::sleep(0.05);
    }
    die 'nginx did not connect to Redis';
}

# nginx's connections on Redis, by the last command each ran
sub redis_clients {
    my %cmd;
    for (split /\n/, $ctl->redis('CLIENT', 'LIST')) {
        next if /\bcmd=(?:client\|list|debug)\b/;
        my ($c) = /\bcmd=(\S+)/;
        $cmd{$c // '?'}++;
    }
    return \%cmd;
}

{
    my $gw = Tollgate::Gateway->start(workers => 1, http => <<"_EOC_");
    gw_redis 127.0.0.1:${\ $redis->port };
    gw_redis_timeout 5s;
    server {
        listen 127.0.0.1:\$PORT;
        location = /api {
            gw_key_auth api;
            proxy_pass http://127.0.0.1:\$PORT/who;
        }
        location = /who { return 200 "ok \$http_x_consumer_id"; }
        location = /status { gw_redis_status; }
    }
_EOC_

    my %want = map { $_ => "200 ok $_" } @ids;

    my ($got, $took) = hundred($gw, \%key);
    is_deeply($got, \%want, "$N clients at once: each gets its consumer");
    Test::More::note(sprintf "%d clients answered in %.0f ms", $N, $took * 1000);

    like($gw->get('/status')->{body},
         qr/"connected":true,"state":"up","pending":0,"commands":$N,"timeouts":0,"failed":0,/,
         "the worker sent $N commands on its connection, none left");

    # a hundred other keys, whose lookups wait together behind a stalled
    # Redis
    $redis->cli_bg('DEBUG', 'SLEEP', '0.6');
    $ctl->wait_stalled;
    ($got, $took) = hundred($gw, \%key2);
    is_deeply($got, \%want, "$N clients at once while Redis is stalled: "
              . 'each gets its consumer');
    Test::More::note(sprintf "%d clients answered in %.0f ms (Redis stalled 600 ms)",
         $N, $took * 1000);
    ok($took > 0.2 && $took < 2, 'they waited for Redis, and no longer');

    like($gw->get('/status')->{body},
         qr/"pending":0,"commands":${\ ($N * 2) },"timeouts":0,"failed":0,"reconnects":0,"errors":0,/,
         "$N more commands on the same connection, no reconnect");

    is_deeply(redis_clients(), { evalsha => 1, subscribe => 1 },
              "nginx holds two Redis connections: one for all lookups, "
              . 'one subscriber');

    my @bad = grep { /\[(?:error|crit|alert|emerg)\]/ } $gw->error_log;
    ok(!@bad, 'nothing logged at [error] or worse') or diag(@bad);
    $gw->stop;
}

run_tests();

__DATA__

=== TEST 1: a client that closes its connection while its lookup waits for Redis
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 5s;
--- config
    location = /api {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/who;
    }
    location = /who { return 200 "ok $http_x_consumer_id\n"; }
    location = /status { gw_redis_status; }
--- init
main::wait_connected();
$::redis->cli_bg('DEBUG', 'SLEEP', '1');
$::ctl->wait_stalled;
--- more_headers eval
"X-API-Key: $::alice"
--- request
GET /api
--- timeout: 0.3
--- abort
--- ignore_response
--- wait: 1.5
--- error_log
client prematurely closed connection
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: twenty clients leave while their lookups wait; the late replies are dropped and the worker goes on
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 5s;
--- config eval
my $page = 'a:{/k}{/ctl/bg?DEBUG&SLEEP&1}{/ctl/sleep?ms=100}'
           . ('{&/leave}' x 20) . '{/ctl/sleep?ms=400}b:{/status}'
           . '{/ctl/ready}{/ctl/sleep?ms=100}c:{/k}d:{/k0}e:{/status}';
$page =~ s/\{(&?)([^{}]+)\}/'<!--# include virtual="' . $2 . '"'
                             . ($1 ? '' : ' wait="yes"') . ' -->'/ge;
<<"_EOC_";
    location = /api {
        gw_key_auth api;
        gw_key_auth_cache_ttl 0;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/who;
    }
    location = /who { return 200 "ok \$http_x_consumer_id\\n"; }
    location = /k {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/api;
        proxy_set_header X-API-Key $::alice;
    }
    location = /k0 {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/api;
        proxy_set_header X-API-Key $::alice;
    }
    # a client that gives up after 200 ms and closes its connection
    location = /leave {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/api;
        proxy_set_header X-API-Key $::alice;
        proxy_read_timeout 200ms;
        proxy_intercept_errors on;
        error_page 504 = /left;
    }
    location = /left { return 200 "left\\n"; }
    location = /status { gw_redis_status; }
    location /ctl/ { proxy_pass http://127.0.0.1:\$TEST_NGINX_REDIS_CTL/; }
    location = /t {
        default_type text/html;
        ssi on;
        return 200 '$page';
    }
_EOC_
--- init
main::wait_connected();
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok alice\nstarted\nslept\n(?:left\n){20}slept\nb:\{[^\n]*"pending":20,"commands":21,[^\n]*\}\nready\nslept\nc:ok alice\nd:ok alice\ne:\{[^\n]*"connected":true,"state":"up","pending":0,"commands":23,"timeouts":0,"failed":0,"reconnects":0,"errors":0,[^\n]*\}\n\z/
--- error_log
client prematurely closed connection
--- no_error_log eval
[qr/\[error\](?! [^\n]*upstream timed out [^\n]*subrequest: "\/leave")/,
 '[alert]', '[crit]', '[warn]']
