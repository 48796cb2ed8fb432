# Self-test of the Test::Nginx::Socket runner in t/lib, with stock nginx
# directives only (no Tollgate module).  Each block checks behaviour of real
# nginx that a broken runner would get wrong, and the file passes unchanged
# under CPAN's Test::Nginx::Socket too:
#
#     prove -I t/lib t/000-harness.t
#     prove -I /path/to/test-nginx/lib -I t/lib t/000-harness.t

use Test::Nginx::Socket;
use IO::Socket::INET;

repeat_each(2);
master_on();
workers(2);
log_level('debug');
no_shuffle();
no_long_string();
env_to_nginx('TG_HARNESS_ENV=yes');

$ENV{TEST_NGINX_TG_WORD} = 'tollgate';

# An upstream that accepts connections and never answers, for "timeout".
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 16, Proto => 'tcp')
    or die "cannot listen: $!";
$ENV{TEST_NGINX_TG_SILENT_PORT} = $silent->sockport;

# Blocks that say nothing about the error log must not log at [error].
add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->error_log && !defined $block->no_error_log) {
        $block->set_value('no_error_log', "[error]\n");
    }
});

# Tests per repetition, block by block (see each block's "tests:" line).
plan tests => repeat_each() * (3 + 5 + 3 + 3 + 6 + 4 + 4 + 4 + 3 + 5 + 3
                               + 9 + 9 + 9 + 4 + 3 + 3 + 3 + 3 + 3 + 4 + 1
                               + 3 + 3 + 4);

run_tests();

__DATA__

=== TEST 1: default Host and Connection headers, $TEST_NGINX_* in config
tests: status, body, no_error_log
--- config
    location = /t {
        return 200
            "host=$host conn=$http_connection word=$TEST_NGINX_TG_WORD\n";
    }
--- request
GET /t
--- response_body
host=localhost conn=close word=tollgate
--- wait: 0.1



=== TEST 2: the default "location /" serves html/index.html
tests: status, 2 headers, body, no_error_log
--- config
--- request
GET /
--- response_headers
Content-Type: text/html
!X-Powered-By
--- response_body chomp
<html><head><title>It works!</title></head><body>It works!</body></html>



=== TEST 3: a request body gets a Content-Length of its trimmed length
tests: status, body, no_error_log
--- config
    location = /echo {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
    }
    location = /back {
        return 200
            "$request_method len=$http_content_length body=[$http_x_body]\n";
    }
--- request
POST /echo
   hello world
--- response_body
POST len=11 body=[hello world]
--- timeout: 5s



=== TEST 4: more_headers add headers and can replace Host
tests: status, body, no_error_log
--- config
    location = /t {
        return 200 "host=$host foo=$http_x_foo conn=$http_connection\n";
    }
--- more_headers
# a comment line is not sent
Host: api.example.com
X-Foo: bar
--- request
GET /t
--- response_body
host=api.example.com foo=bar conn=close



=== TEST 5: response_headers_like, repeated headers joined with ", "
tests: status, 3 headers, body, no_error_log
--- config
    location = /t {
        add_header X-Time $msec;
        add_header X-Multi a;
        add_header X-Multi b;
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers_like
X-Time: \d+\.\d{3}
X-Multi: a, b
Content-Length: 3
--- response_body
ok



=== TEST 6: a missing file: 404, error_log, grep_error_log
tests: status, 2 error_log, grep_error_log_out
--- config
--- request
GET /nope.txt
--- error_code: 404
--- error_log
open()
No such file or directory
--- grep_error_log eval
qr/open\(\) "\K[^"]+(?=" failed \(2: No such file or directory\))/
--- grep_error_log_out
$TEST_NGINX_SERVER_ROOT/html/nope.txt



=== TEST 7: --- log_level keeps debug lines out of error.log
tests: status, body, 2 no_error_log
--- log_level: notice
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
[debug]
[error]



=== TEST 8: the default level is debug
tests: status, body, 2 error_log
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t
--- response_body
ok
--- error_log
[debug]
http finalize request



=== TEST 9: response_body_like
tests: status, body, no_error_log
--- config
    location = /t {
        return 200 "now $msec\n";
    }
--- request
GET /t
--- response_body_like: ^now \d+\.\d{3}$



=== TEST 10: a chunked response body is decoded
tests: status, 2 headers, body, no_error_log
--- config
    location = /chunked {
        ssi on;
        ssi_types text/plain;
        return 200 '[<!--# echo var="uri" -->]';
    }
--- request
GET /chunked
--- response_headers
Transfer-Encoding: chunked
!Content-Length
--- response_body chomp
[/chunked]



=== TEST 11: response_body_unlike
tests: status, body, no_error_log
--- config
    location = /t {
        return 200 "fine\n";
    }
--- request
GET /t
--- response_body_unlike: error|fail|It works



=== TEST 12: user_files, in a folder, with a modification time
tests: 2 x (status, body, no_error_log) + 1 + 2 headers
--- user_files
>>> a.txt
hello $TEST_NGINX_TG_WORD
>>> sub/b.txt 199801171935.33
bee
--- config
--- request eval
["GET /a.txt", "GET /sub/b.txt"]
--- response_headers eval
["Content-Length: 15",
 "Last-Modified: Sat, 17 Jan 1998 19:35:33 GMT\nContent-Length: 4"]
--- response_body eval
["hello tollgate\n", "bee\n"]



=== TEST 13: pipelined requests share one keep-alive connection
tests: 3 x (status, body, no_error_log)
--- config
    location = /a {
        return 200 "a $connection_requests\n";
    }
    location = /b {
        return 404;
    }
--- pipelined_requests eval
["GET /a", "GET /b", "GET /a"]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
["^a 1\n\$", "404 Not Found", "^a 3\n\$"]



=== TEST 14: requests of an array each use their own connection
tests: 3 x (status, body, error_log): each request logs its own lines
--- config
    location = /c {
        return 200 "$connection_requests\n";
    }
--- request eval
["GET /c", "GET /nope.txt", "GET /c"]
--- error_code eval
[200, 404, 200]
--- response_body_like eval
["^1\$", "Not Found", "^1\$"]
--- error_log
http finalize request



=== TEST 15: raw_request, sent in two packets
tests: status, raw headers, body, no_error_log
--- config
    location = /t {
        return 200 "proto=$server_protocol host=$host\n";
    }
--- raw_request eval
["GET /t HTTP/1.0\r\n", "Host: raw.example\r\n\r\n"]
--- raw_request_middle_delay: 0.05
--- raw_response_headers_like: ^HTTP/1\.1 200 OK\r\n
--- response_body
proto=HTTP/1.0 host=raw.example



=== TEST 16: timeout and abort: the upstream never answers
tests: status, body, no_error_log; a 300 s timeout would see the 504
--- config
    location = /slow {
        proxy_read_timeout 1s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_TG_SILENT_PORT;
    }
--- request
GET /slow
--- timeout: 300ms
--- abort
--- error_code:
--- response_body:



=== TEST 17: http_config goes in http{}, main_config at the top level
tests: status, body, no_error_log
--- main_config
    thread_pool tg_harness_pool threads=1;
--- http_config
    map $arg_x $tg_mapped {
        default "none";
        1       "one";
    }
    upstream tg_self {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
    }
--- config
    location = /t {
        aio threads=tg_harness_pool;
        proxy_pass http://tg_self/back?x=$arg_x;
    }
    location = /back {
        return 200 "mapped=$tg_mapped\n";
    }
--- request
GET /t?x=1
--- response_body
mapped=one



=== TEST 18: --- server_name names the test server
tests: status, body, no_error_log
--- server_name: tollgate.test
--- config
    location = /t {
        return 200 "$server_name\n";
    }
--- request
GET /t
--- response_body
tollgate.test



=== TEST 19: an expected [crit] line, claimed by error_log eval
tests: status, 2 error_log
--- config
    location = /t {
        proxy_pass http://unix:$TEST_NGINX_SERVER_ROOT/no-such.sock:/;
    }
--- request
GET /t
--- error_code: 502
--- error_log eval
[qr/\[crit\].*no-such\.sock/, "while connecting to upstream"]



=== TEST 20: a chunked request body is sent as given
tests: status, body, no_error_log
--- config
    location = /echo {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
    }
    location = /back {
        return 200 "len=$http_content_length body=[$http_x_body]\n";
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /echo
5\r
hello\r
0\r
\r
"
--- response_body
len=5 body=[hello]



=== TEST 21: HEAD gets headers only
tests: status, header, body, no_error_log
--- config
    location = /t {
        return 200 "twelve bytes";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 12
--- response_body:



=== TEST 22: ignore_response leaves only the error log checks
tests: no_error_log
--- config
    location = /t {
        return 404;
    }
--- request
GET /t
--- ignore_response



=== TEST 23: --- SKIP leaves a block out
tests: none
--- SKIP
--- config
--- request
GET /nope
--- error_code: 200



=== TEST 24: skip_eval skips the given number of tests
tests: 3 skipped
--- skip_eval: 3: 1
--- config
    location = /t {
        return 200 "x\n";
    }
--- request
GET /t
--- error_code: 500



=== TEST 25: skip_nginx skips on the nginx version
tests: 3 skipped
--- skip_nginx: 3: >= 1.0.0
--- config
    location = /t {
        return 200 "x\n";
    }
--- request
GET /t
--- error_code: 500



=== TEST 26: $ServerPort and $TEST_NGINX_SERVER_PORT in expected values
tests: status, header, body, no_error_log
--- config
    location = /t {
        add_header X-Port $server_port;
        return 200 "$server_port $server_port\n";
    }
--- request
GET /t
--- response_headers
X-Port: $ServerPort
--- response_body
$ServerPort $TEST_NGINX_SERVER_PORT
