# vi:ft=perl
#
# The per-worker asynchronous Redis client (docs/redis.md): connecting in
# the worker, suspending requests while Redis answers, timeouts, Redis
# stalled, stopped by SIGSTOP, killed and restarted, AUTH and SELECT, scripts, the cap on
# commands in flight, a client that goes away while it waits, and the
# directives' checks.
#
# Each run starts two private redis-servers (Tollgate::Redis): one plain,
# with a unix socket too, one with a password.  gw_redis_status shows a
# worker's state without calling Redis; gw_redis_check sends a PING (or a
# script) from the access phase, so it is the request path under test.
#
# A block is mostly one request to /t, an SSI page whose includes run in
# order ({/uri}, wait="yes") or side by side ({&/uri}), each a separate
# request through nginx:
#   /load        a request through gw_redis_check: prints ok, down (503)
#                or timeout (504)
#   /status      this worker's gw_redis_status
#   /ctl/...     Tollgate::Redis' control server for the plain Redis
#                (/ctl2/... for the one with a password): kill, start,
#                cli?ARGS, bg?ARGS, ready, sleep?ms=N, mark, elapsed?under=MS
# so that a block needs no runner feature beyond one request, and runs
# the same under t/lib's runner and CPAN's.  Mind how SSI orders things:
# every include starts when the parser reaches it; wait="yes" only stops
# the parser until that include is done, and an include is done only
# after the includes before it.  So after {&/uri} steps, the next action
# that must come later is a {/ctl/sleep?ms=N}, and a kill meant to land
# while requests are in flight is sent first, delayed: {&/ctl/kill?after=MS}.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use IO::Socket::INET ();
use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(nginx_t);
use Tollgate::Redis;

no_shuffle();
worker_connections(1024);

our $redis = Tollgate::Redis->start(unix => 1);
our $pwredis = Tollgate::Redis->start(password => 's3cret');

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_SOCK} = $redis->unix_socket;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;
$ENV{TEST_NGINX_REDIS_PW_PORT} = $pwredis->port;
$ENV{TEST_NGINX_REDIS_PW_CTL} = $pwredis->control;
$ENV{TEST_NGINX_DEAD_PORT} = Tollgate::Redis::free_port();

# a block that failed midway must not leave the next one a paused Redis
add_block_preprocessor(sub { $redis->resume });

# a server that accepts connections (the kernel does) and never answers
our $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 1, Proto => 'tcp')
    or die "cannot listen: $!";
$ENV{TEST_NGINX_SILENT_PORT} = $silent->sockport;

# the locations every block has, besides its own /t
our $common = <<'_EOC_';
    location = /status { gw_redis_status; }
    location = /ok.txt {
        gw_redis_check;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /script.txt {
        gw_redis_check script;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "ok\n"; }
    location = /load {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok.txt;
        proxy_intercept_errors on;
        error_page 503 = /down;
        error_page 504 = /timeout;
    }
    location = /load-script {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/script.txt;
        proxy_intercept_errors on;
        error_page 503 = /down;
        error_page 504 = /timeout;
    }
    location = /down { return 200 "down\n"; }
    location = /timeout { return 200 "timeout\n"; }
    location = /plain { return 200 "plain\n"; }
    location = /plain-proxied {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/plain;
    }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
    location /ctl2/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_PW_CTL/; }
_EOC_

sub include {
    my ($uri, $wait) = @_;
    return "<!--# include virtual=\"$uri\"" . ($wait ? ' wait="yes"' : '')
           . ' -->';
}

# ssi($page): the /t location serving $page, where {/uri} includes /uri
# and waits for it, {&/uri} includes it without waiting
sub ssi {
    my ($page) = @_;
    $page =~ s/\{(&?)([^{}]+)\}/include($2, $1 eq '')/ge;
    return $common . <<"_EOC_";
    location = /t {
        default_type text/html;
        ssi on;
        return 200 '$page';
    }
_EOC_
}

# status_re(%fields): a pattern for one gw_redis_status line whose
# members have these values (patterns), the others any value
sub status_re {
    my (%want) = @_;
    my $re = '\{"worker":\d+,"address":"[^"]+"';
    for my $k (qw(connected state pending commands timeouts failed
                  reconnects errors subscriber))
    {
        my $v = exists $want{$k} ? $want{$k}
              : $k eq 'state' ? '"[a-z]+"'
              : $k eq 'subscriber' ? '(?:null|\{[^{}]*\})' : '[^,]+';
        $re .= ",\"$k\":$v";
    }
    return "$re\\}\\n";
}


# --- directives, checked by nginx -t ----------------------------------------

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my $long = '/' . ('x' x 120);
    my @bad = (
        ['a host name', 'gw_redis localhost:6379;',
         qr/invalid address "localhost:6379"/],
        ['a port out of range', 'gw_redis 127.0.0.1:70000;',
         qr/invalid address "127\.0\.0\.1:70000"/],
        ['unix: without a path', 'gw_redis unix:;',
         qr/no socket path in "unix:"/],
        ['a socket path too long', "gw_redis unix:$long;",
         qr/socket path "\Q$long\E" is too long/],
        ['gw_redis twice', 'gw_redis 127.0.0.1:6379; gw_redis 127.0.0.1;',
         qr/"gw_redis" directive is duplicate/],
        ['gw_redis in a server', 'server { gw_redis 127.0.0.1:6379; }',
         qr/"gw_redis" directive is not allowed here/],
        ['gw_redis_timeout 0', 'gw_redis 127.0.0.1; gw_redis_timeout 0;',
         qr/"gw_redis_timeout" directive must be more than 0/],
        ['gw_redis_timeout abc', 'gw_redis 127.0.0.1; gw_redis_timeout abc;',
         qr/"gw_redis_timeout" directive invalid value/],
        ['gw_redis_connect_timeout 0',
         'gw_redis 127.0.0.1; gw_redis_connect_timeout 0;',
         qr/"gw_redis_connect_timeout" directive must be more than 0/],
        ['gw_redis_connect_timeout -1s',
         'gw_redis 127.0.0.1; gw_redis_connect_timeout -1s;',
         qr/"gw_redis_connect_timeout" directive invalid value/],
        ['gw_redis_backoff_max 0',
         'gw_redis 127.0.0.1; gw_redis_backoff_max 0;',
         qr/"gw_redis_backoff_max" directive must be more than 0/],
        ['gw_redis_max_pending 0',
         'gw_redis 127.0.0.1; gw_redis_max_pending 0;',
         qr/"gw_redis_max_pending" directive must be at least 1/],
        ['gw_redis_stall_timeouts -1',
         'gw_redis 127.0.0.1; gw_redis_stall_timeouts -1;',
         qr/"gw_redis_stall_timeouts" directive invalid number/],
        ['gw_redis_stall_timeouts x',
         'gw_redis 127.0.0.1; gw_redis_stall_timeouts x;',
         qr/"gw_redis_stall_timeouts" directive invalid number/],
        ['gw_redis_database -1', 'gw_redis 127.0.0.1; gw_redis_database -1;',
         qr/"gw_redis_database" directive invalid number/],
        ['an empty password', 'gw_redis 127.0.0.1; gw_redis_password "";',
         qr/"gw_redis_password" directive must not be empty/],
        ['gw_redis_status without gw_redis',
         'server { location / { gw_redis_status; } }',
         qr/"gw_redis_status" needs "gw_redis"/],
        ['gw_redis_check without gw_redis',
         'server { location / { gw_redis_check; } }',
         qr/"gw_redis_check" needs "gw_redis"/],
        ['gw_redis_check bogus',
         'gw_redis 127.0.0.1; server { location / { gw_redis_check x; } }',
         qr/invalid value "x", use ping, script or off/],
    );

    for my $case (@bad) {
        my ($name, $http, $re) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*$re/, "the [emerg] line names it: $name");
    }

    # "nginx -t" never connects: only workers do
    my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                         LocalPort => 0, Listen => 8,
                                         Proto => 'tcp')
        or die "listen: $!";
    my $port = $listener->sockport;

    my @good = (
        ['an IP without a port', "gw_redis 127.0.0.1:$port;"],
        ['an IPv6 address', 'gw_redis [::1]:6379;'],
        ['a unix socket and every directive',
         'gw_redis unix:/nonexistent/redis.sock; gw_redis_password p;'
         . ' gw_redis_database 15; gw_redis_connect_timeout 2s;'
         . ' gw_redis_timeout 100ms; gw_redis_backoff_max 30s;'
         . ' gw_redis_max_pending 10; gw_redis_stall_timeouts 0;'
         . ' server { location /s { gw_redis_status; }'
         . ' location /c { gw_redis_check script; }'
         . ' location /o { gw_redis_check off; } }'],
    );

    for my $case (@good) {
        my ($name, $http) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok($ok, "nginx -t passes: $name") or diag($out);
    }

    $listener->blocking(0);
    ok(!$listener->accept, 'nginx -t did not connect to Redis');
}

run_tests();

__DATA__

=== TEST 1: a worker connects at start; a request waits for PING in the access phase
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /t {
        gw_redis_check;
        gw_redis_status;
    }
--- request
GET /t
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr/\A${\ main::status_re(connected => 'true', state => '"up"',
                         pending => 0, commands => 1, timeouts => 0,
                         failed => 0, reconnects => 0, errors => 0) }\z/
--- error_log eval
qr/\[info\] [^\n]*gw_redis: connected to 127\.0\.0\.1:\d+/
--- no_error_log
[error]
[warn]



=== TEST 2: gw_redis_status never calls Redis
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location = /status { gw_redis_status; }
--- request
GET /status
--- response_body_like eval
qr/\A${\ main::status_re(commands => 0, pending => 0) }\z/
--- no_error_log
[error]



=== TEST 3: nginx starts and serves without Redis; one error however many retries
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    gw_redis_backoff_max 100ms;
--- config eval
main::ssi('a:{/plain}b:{/status}c:{/load}{/ctl/sleep?ms=700}d:{/load}e:{/plain-proxied}f:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:plain\nb:${\ main::status_re(connected => 'false', errors => 1)
    }c:down\nslept\nd:down\ne:plain\nf:${\ main::status_re(
    connected => 'false', commands => 0, failed => 2, errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?cannot connect to 127\.0\.0\.1:\d+: Connection refused\n\z/
--- error_log eval
[qr/\[info\] [^\n]*gw_redis: (?:subscriber )?cannot connect to/,
 qr/\[info\] [^\n]*gw_redis_check: not connected to Redis/]



=== TEST 4: Redis killed, then started again: requests fail at once meanwhile, and the worker reconnects by itself
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_backoff_max 200ms;
--- config eval
main::ssi('a:{/load}b:{/ctl/kill}{/ctl/sleep?ms=300}c:{/status}d:{/load}e:{/ctl/start}{/ctl/sleep?ms=800}f:{/load}g:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok\nb:killed\nslept\nc:${\ main::status_re(connected => 'false',
    errors => 1) }d:down\ne:started\nslept\nf:ok\ng:${\ main::status_re(
    connected => 'true', state => '"up"', pending => 0, reconnects => 1,
    errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost: [^\n]+\n\[notice\] [^\n]*gw_redis: (?:subscriber )?reconnected to 127\.0\.0\.1:\d+ after \d+ retr(?:y|ies)\n\z/



=== TEST 5: Redis killed under load: the commands in flight fail at once, one error for all of them
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 5s;
    gw_redis_backoff_max 200ms;
--- config eval
main::ssi('a:{/load}{/ctl/bg?DEBUG&SLEEP&2}{/ctl/sleep?ms=100}'
          . 'b:{&/ctl/kill?after=300}' . ('{&/load}' x 20)
          . 'c:{/ctl/start}{/ctl/sleep?ms=800}' . ('{&/load}' x 20)
          . '{/ctl/sleep?ms=100}d:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok\nstarted\nslept\nb:killed\n(?:down\n){20}c:started\nslept\n(?:ok\n){20}slept\nd:${\ main::status_re(
    connected => 'true', pending => 0, commands => 41, timeouts => 0,
    failed => 20, reconnects => 1, errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost: [^\n]+\n\[notice\] [^\n]*gw_redis: (?:subscriber )?reconnected to [^\n]+\n\z/



=== TEST 6: Redis stalled by DEBUG SLEEP 2: Redis requests time out, the late replies are dropped
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 400ms;
--- config eval
main::ssi('a:{/load}{/ctl/bg?DEBUG&SLEEP&2}{/ctl/sleep?ms=100}b:{&/load}c:{/plain-proxied}d:{/load}{/ctl/ready}f:{/load}g:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok\nstarted\nslept\nb:timeout\nc:plain\nd:timeout\nready\nf:ok\ng:${\ main::status_re(
    connected => 'true', state => '"up"', timeouts => 2, failed => 0,
    errors => 0) }\z/
--- error_log eval
qr/\[info\] [^\n]*gw_redis: no reply within 400 ms/
--- no_error_log
[error]
[warn]



=== TEST 7: a unix socket
--- http_config
    gw_redis unix:$TEST_NGINX_REDIS_SOCK;
--- config
    location = /t {
        gw_redis_check;
        gw_redis_status;
    }
--- request
GET /t
--- response_body_like eval
qr/\A\{"worker":\d+,"address":"unix:\Q$ENV{TEST_NGINX_REDIS_SOCK}\E","connected":true,"state":"up","pending":0,"commands":1,/
--- no_error_log
[error]



=== TEST 8: AUTH and SELECT go first on the connection
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PW_PORT;
    gw_redis_password s3cret;
    gw_redis_database 3;
--- config eval
main::ssi('a:{/load}b:{/load-script}c:{/ctl2/cli?CLIENT&LIST}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:ok\nb:ok\nc:(?:[^\n]*\n)*?id=\d+ addr=127\.0\.0\.1:\d+ [^\n]* db=3 [^\n]*cmd=eval(?:sha)?\b/
--- no_error_log
[error]



=== TEST 9: a wrong password is logged once and treated as Redis down
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PW_PORT;
    gw_redis_password wrong;
    gw_redis_backoff_max 100ms;
--- config eval
main::ssi('a:{/load}{/ctl/sleep?ms=600}b:{/load}c:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:down\nslept\nb:down\nc:${\ main::status_re(connected => 'false',
    reconnects => 0, errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?cannot connect to 127\.0\.0\.1:\d+: authentication failed: (?:WRONGPASS|ERR invalid password)[^\n]*\n\z/



=== TEST 10: a script is sent by EVALSHA, and once by EVAL after NOSCRIPT
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config eval
main::ssi('{/ctl/cli?SCRIPT&FLUSH}{/ctl/cli?CONFIG&RESETSTAT}a:{/load-script}b:{/load-script}c:{/ctl/cli?INFO&commandstats}')
--- request
GET /t
--- response_body_like eval
qr/\AOK\nOK\na:ok\nb:ok\nc:(?=[^\0]*^cmdstat_evalsha:calls=2,)(?=[^\0]*^cmdstat_eval:calls=1,)/m
--- no_error_log
[error]



=== TEST 11: past gw_redis_max_pending commands in flight, requests fail at once
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_max_pending 2;
    gw_redis_timeout 500ms;
--- config eval
main::ssi('a:{/load}{/ctl/bg?DEBUG&SLEEP&1}{/ctl/sleep?ms=100}'
          . ('{&/load}' x 5) . '{/ctl/ready}b:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok\nstarted\nslept\n(?:(?:timeout|down)\n){5}ready\nb:${\ main::status_re(
    commands => 3, timeouts => 2, failed => 3, errors => 0) }\z/
--- grep_error_log eval
qr/\[warn\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[warn\] [^\n]*gw_redis: 2 commands in flight[^\n]*gw_redis_max_pending[^\n]*\n\z/
--- no_error_log
[error]



=== TEST 12: a client that goes away while its request waits is forgotten
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 5s;
--- config eval
$::common
--- init
$::redis->cli_bg('DEBUG', 'SLEEP', '1');
select(undef, undef, undef, 0.1);
--- request
GET /ok.txt
--- timeout: 0.3
--- abort
--- ignore_response
--- wait: 1.5
--- error_log
client prematurely closed connection
--- no_error_log
[error]
[alert]



=== TEST 13: a server that never answers: the connect timeout covers AUTH, one error
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_SILENT_PORT;
    gw_redis_password s3cret;
    gw_redis_connect_timeout 200ms;
    gw_redis_backoff_max 100ms;
--- config eval
main::ssi('a:{/load}{/ctl/sleep?ms=800}b:{/load}c:{/status}')
--- request
GET /t
--- response_body_like eval
qr/\Aa:down\nslept\nb:down\nc:${\ main::status_re(connected => 'false',
    commands => '[01]', timeouts => 0, failed => 2, errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: (?:subscriber )?cannot connect to 127\.0\.0\.1:\d+: connection timed out\n\z/



=== TEST 14: Redis stopped by SIGSTOP: connected but silent; after 3 timeouts in a row the connection is replaced, requests fail at once, the reconnect waits for PONG
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 200ms;
    gw_redis_connect_timeout 300ms;
    gw_redis_backoff_max 200ms;
--- config eval
main::ssi('a:{/load}{/ctl/pause}b:{/load}c:{/load}d:{/load}e:{/status}f:{/load}g:{/ctl/sleep?ms=700}h:{/load}i:{/status}{/ctl/resume}{/ctl/sleep?ms=900}j:{/load}k:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok\npaused\nb:timeout\nc:timeout\nd:timeout\ne:${\ main::status_re(
    connected => 'false', timeouts => 3, errors => 1) }f:down\ng:slept\nh:down\ni:${\ main::status_re(
    connected => 'false', reconnects => 0, errors => 1)
    }resumed\nslept\nj:ok\nk:${\ main::status_re(connected => 'true',
    state => '"up"', pending => 0, timeouts => 3, reconnects => 1,
    errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: connection to 127\.0\.0\.1:\d+ lost: no reply to 3 commands in a row[^\n]*\n\[notice\] [^\n]*gw_redis: reconnected to 127\.0\.0\.1:\d+ after \d+ retr(?:y|ies)\n\z/
--- error_log eval
qr/\[info\] [^\n]*gw_redis: cannot connect to 127\.0\.0\.1:\d+: connection timed out/



=== TEST 15: Redis stopped by SIGSTOP under load: the commands in flight end (timeout, or down once the connection is replaced), one error for all
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 300ms;
    gw_redis_connect_timeout 300ms;
    gw_redis_backoff_max 200ms;
--- config eval
main::ssi('a:{/load}{/ctl/pause}b:' . ('{&/load}' x 20)
          . '{/ctl/sleep?ms=600}c:{/status}{/ctl/resume}{/ctl/sleep?ms=900}'
          . 'd:{/load}e:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok\npaused\nb:(?:timeout\n|down\n){20}slept\nc:${\ main::status_re(
    connected => 'false', pending => 0, errors => 1)
    }resumed\nslept\nd:ok\ne:${\ main::status_re(connected => 'true',
    state => '"up"', pending => 0, commands => 22, reconnects => 1,
    errors => 1) }\z/
--- grep_error_log eval
qr/\[(?:error|notice)\] [^\n]*gw_redis: [^\n]*/
--- grep_error_log_out eval
qr/\A\[error\] [^\n]*gw_redis: connection to 127\.0\.0\.1:\d+ lost: no reply to 3 commands in a row[^\n]*\n\[notice\] [^\n]*gw_redis: reconnected to [^\n]+\n\z/



=== TEST 16: Redis stopped (SIGSTOP): other requests are served meanwhile, whatever the machine's load
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 300ms;
--- config eval
main::ssi('a:{/load}{/ctl/pause}b:{&/load}c:{/ctl/get?port=$TEST_NGINX_SERVER_PORT&path=/plain&under=8000}d:{/load}{/ctl/resume}e:{/load}f:{/status}')
--- request
GET /t
--- timeout: 20
--- response_body_like eval
qr/\Aa:ok\npaused\nb:timeout\nc:fast plain\nd:timeout\nresumed\ne:ok\nf:${\ main::status_re(
    connected => 'true', state => '"up"', timeouts => 2, failed => 0,
    errors => 0) }\z/
--- no_error_log
[error]
[warn]



=== TEST 17: gw_redis_stall_timeouts 0: a silent Redis only times requests out, the connection stays
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 200ms;
    gw_redis_stall_timeouts 0;
--- config eval
main::ssi('a:{/load}{/ctl/pause}b:{/load}c:{/load}d:{/load}e:{/load}{/ctl/resume}{/ctl/sleep?ms=100}f:{/load}g:{/status}')
--- request
GET /t
--- timeout: 10
--- response_body_like eval
qr/\Aa:ok\npaused\nb:timeout\nc:timeout\nd:timeout\ne:timeout\nresumed\nslept\nf:ok\ng:${\ main::status_re(
    connected => 'true', state => '"up"', timeouts => 4, failed => 0,
    reconnects => 0, errors => 0) }\z/
--- no_error_log
[error]
[warn]
