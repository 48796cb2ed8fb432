# A scrape at scale (docs/metrics.md, "Cost"): 1,000 routes, each with
# answers in every status class a response ends with (2xx to 5xx), served
# by two workers, plus JWT and key decisions, consumer series and the
# Redis client (a private redis-server), so that every metric family is
# in it.  The scrape must sum both workers' slices, pass `promtool check
# metrics` (Debian's prometheus package), answer within 50 ms (the median
# of several), and leave other connections served while it runs.
# conf/prometheus.yml must pass `promtool check config`.
# Plain Test::More: nginx runs with a master and two workers, which the
# block format does not give.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

use lib "$FindBin::Bin/lib";
use Tollgate::Gwctl;
use Tollgate::JWT qw(keys_dir);
use Tollgate::Redis;

my $top = "$FindBin::Bin/..";
my $module = $ENV{TEST_NGINX_LOAD_MODULES} || "$top/build/ngx_http_gw_module.so";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $routes = 1000;

plan skip_all => 'the module is not built (run make)' unless -f $module;

my $promtool = (grep { -x "$_/promtool" } split /:/, $ENV{PATH})[0];
$promtool = "$promtool/promtool" if defined $promtool;

sub free_port {
    for (1 .. 50) {
        my $p = 20000 + int(rand(20000));
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      ReuseAddr => 1, Listen => 1);
        if ($s) { close $s; return $p }
    }
    die "no free port";
}

# sends the request bytes, reads to EOF; returns (response, seconds)
sub exchange {
    my ($port, $bytes) = @_;
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or return ('', 0);
    print $s $bytes;
    local $/;
    my $r = <$s>;
    close $s;
    return ($r // '', time - $t0);
}

sub get {
    my ($port, $path) = @_;
    return exchange($port, "GET $path HTTP/1.1\r\nHost: t\r\n"
                           . "Connection: close\r\n\r\n");
}

my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/$_" for qw(conf logs tmp);
my $port = free_port();

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
$ctl->consumer_add('alice');
my $key = $ctl->key_create('alice');
my $rport = $redis->port;
my $keys = keys_dir();

my $locs = '';
for my $i (1 .. $routes) {
    $locs .= "        location /r$i/ { gw_route route-$i; return 200;\n"
           . "            location /r$i/c3 { return 302 /; }\n"
           . "            location /r$i/c4 { return 404; }\n"
           . "            location /r$i/c5 { return 503; } }\n";
}

open my $cf, '>', "$dir/conf/nginx.conf" or die;
print $cf <<"EOF";
load_module $module;
worker_processes 2;
error_log $dir/logs/error.log info;
pid $dir/logs/nginx.pid;
events { worker_connections 1024; accept_mutex off; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    gw_metrics_zone 16m;
    gw_metrics_consumers 10;
    gw_redis 127.0.0.1:$rport;
    server {
        listen 127.0.0.1:$port;
        location = /metrics { gw_metrics_endpoint; gw_metrics off; }
        location = /ping { gw_metrics off; return 200 "pong\\n"; }
        location /up/ { gw_metrics off; return 200 "up\\n"; }
        location = /keyed {
            gw_route keyed;
            gw_key_auth api;
            proxy_pass http://127.0.0.1:$port/up/;
        }
        location = /jwt {
            gw_route jwt;
            gw_jwt api;
            gw_jwt_key_file $keys/rsa.pem;
            proxy_pass http://127.0.0.1:$port/up/;
        }
$locs
    }
}
EOF
close $cf;

my $pid = fork // die "fork: $!";
if ($pid == 0) {
    setpgrp(0, 0);
    exec $nginx, '-p', "$dir/", '-c', "$dir/conf/nginx.conf",
         '-e', "$dir/logs/error.log", '-g', 'daemon off;' or exit 127;
}

my $up = 0;
for (1 .. 100) {
    last if waitpid($pid, WNOHANG) == $pid;
    if (-s "$dir/logs/nginx.pid" && (get($port, '/ping'))[0] =~ /pong/) {
        $up = 1;
        last;
    }
    sleep 0.1;
}
ok($up, 'nginx with 1,000 routes and two workers starts')
    or BAIL_OUT('nginx did not start: '
                . `grep emerg $dir/logs/error.log 2>/dev/null`);

# every route in every class, 100 pipelined requests per connection,
# several connections so both workers take some
my @paths = map { my $i = $_; map { "/r$i/c$_" } 2 .. 5 } 1 .. $routes;
my $answered = 0;
while (my @batch = splice @paths, 0, 100) {
    my $bytes = '';
    for my $k (0 .. $#batch) {
        $bytes .= "GET $batch[$k] HTTP/1.1\r\nHost: t\r\n"
                . ($k == $#batch ? "Connection: close\r\n" : '') . "\r\n";
    }
    my ($r) = exchange($port, $bytes);
    $answered += () = $r =~ m{^HTTP/1\.1 \d{3} }mg;
}
is($answered, 4 * $routes, 'every request answered');

my @codes;
for my $req (['/keyed', "X-API-Key: $key\r\n"], ['/keyed', "X-API-Key: tg_nope\r\n"],
             ['/jwt', ''], ['/jwt', ''])
{
    my ($r) = exchange($port, "GET $req->[0] HTTP/1.1\r\nHost: t\r\n$req->[1]"
                              . "Connection: close\r\n\r\n");
    push @codes, $r =~ m{^HTTP/1\.1 (\d{3}) } ? $1 : 'none';
}
is(join(',', @codes), '200,401,401,401', 'the auth requests answered');

# The last request of a pipelined batch is logged (and counted) after a
# lingering close, possibly after the client saw the end: wait for it.
my ($body, $lines, $sum, %classes);
for my $try (1 .. 50) {
    ($body) = get($port, '/metrics');
    $body =~ s/\A.*?\r\n\r\n//s;
    ($lines, $sum, %classes) = (0, 0);
    while ($body =~ /^gw_http_requests_total\{route="route-\d+",method="GET",
                      status="(\dxx)"\}\x20(\d+)$/mgx) {
        $lines++;
        $sum += $2;
        $classes{$1}++;
    }
    last if $sum >= 4 * $routes;
    sleep 0.1;
}
is($lines, 4 * $routes, 'one series per route and class');
is($sum, 4 * $routes, 'the counts of both workers add up');
is(join(',', sort keys %classes), '2xx,3xx,4xx,5xx', 'every class');
like($body, qr/^gw_metrics_workers 2$/m, 'two worker slices');
like($body, qr/^gw_auth_decisions_total\{route="keyed",mechanism="key",outcome="ok"\} 1$/m,
     'a key decision');
like($body, qr/^gw_auth_decisions_total\{route="jwt",mechanism="jwt",outcome="missing"\} 2$/m,
     'JWT decisions');
like($body, qr/^gw_consumer_requests_total\{consumer="alice",status="2xx"\} 1$/m,
     'a consumer series');
like($body, qr/^gw_redis_connected\{worker="1"\} [01]$/m,
     'the Redis client of each worker');
like($body, qr/^gw_http_request_duration_seconds_count\{route="route-$routes"\} 4$/m,
     'the histogram of the last route');

SKIP: {
    skip 'promtool not found (apt-get install prometheus)', 2
        unless $promtool;

    open my $pt, '|-', "$promtool check metrics > $dir/promtool.out 2>&1"
        or die "promtool: $!";
    print $pt $body;
    close $pt;
    is($?, 0, 'promtool check metrics accepts the scrape');
    is(do { local (@ARGV, $/) = "$dir/promtool.out"; <> } // '', '',
       'with no lint remark');
}

# the scrape's time: the median of 7
my @times = sort { $a <=> $b } map { (get($port, '/metrics'))[1] } 1 .. 7;
my $median = $times[3];
diag(sprintf 'scrape of %d bytes: median %.1f ms (min %.1f, max %.1f)',
     length $body, $median * 1000, $times[0] * 1000, $times[-1] * 1000);
cmp_ok($median * 1000, '<', 50, 'a scrape of 1,000 routes answers in 50 ms');

# other connections while a child scrapes over and over
my $scraper = fork // die "fork: $!";
if ($scraper == 0) {
    get($port, '/metrics') for 1 .. 20;
    POSIX::_exit(0);
}

my (@lat, $ok);
$ok = 0;
while (waitpid($scraper, WNOHANG) != $scraper) {
    my ($r, $l) = get($port, '/ping');
    $ok++ if $r =~ /pong/;
    push @lat, $l;
}
@lat = sort { $a <=> $b } @lat;
my $worst = $lat[-1] // 0;
diag(sprintf '%d requests during 20 scrapes: median %.1f ms, worst %.1f ms',
     scalar @lat, ($lat[@lat / 2] // 0) * 1000, $worst * 1000);
is($ok, scalar @lat, 'every request during the scrapes answered');
# the bound is a scrape's own budget plus the noise of a shared machine
cmp_ok($worst * 1000, '<', 250, 'no request waits for the scrapes');

kill 'QUIT', $pid;
for (1 .. 100) {
    last if waitpid($pid, WNOHANG) == $pid;
    sleep 0.05;
}
kill 'KILL', -$pid;

my @bad = grep { /\[(error|crit|alert|emerg)\]/ }
          do { open my $in, '<', "$dir/logs/error.log"; <$in> };
is(scalar @bad, 0, 'nothing at [error] or above in the log') or diag(@bad);

SKIP: {
    skip 'promtool not found (apt-get install prometheus)', 1
        unless $promtool;
    my $out = `$promtool check config $top/conf/prometheus.yml 2>&1`;
    is($?, 0, 'promtool check config accepts conf/prometheus.yml')
        or diag($out);
}

done_testing();
