# vi:ft=perl
#
# gw_publish (docs/publish.md): a location publishes the request body to
# its topic's partition stream gw:topic:<t>:<p>, p = crc32(key) mod N,
# and answers 202 {"id": "<t>:<p>:<ms>-<seq>", "topic", "partition"}.
# The entry's fields are read back from Redis; keys land on their
# partition (stable, spread), one key's events keep their order; Redis
# stopped or paused is a 503 problem, never a silent drop; what the
# request gets wrong (method, empty body, headers, key) is refused with
# its problem and not published; the counters and the stream length in
# /metrics, and trimming at the cap with its warning.
#
# Expected partitions are computed here, with zlib's CRC-32.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Compress::Zlib qw(crc32);
use Test::Nginx::Socket 'no_plan';
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_REDIS_CTL} = $redis->control;
$ENV{TEST_NGINX_DEAD_PORT} = Tollgate::Redis::free_port();

# the partition of a key in a topic of n partitions
sub part { my ($key, $n) = @_; return crc32($key) % $n }

our @keys = map { "k$_" } 0 .. 11;
our @count = (0) x 4;
$count[part($_, 4)] += 2 for @keys;     # each key is published twice

our $http = <<'_EOC_';
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    gw_redis_timeout 300ms;
    gw_metrics_zone 1m;
    gw_topic orders partitions=4;
    gw_topic one;
    gw_topic small maxlen=10;
    gw_publish_check_interval 100ms;
_EOC_

our $config = <<'_EOC_';
    location = /p { gw_publish orders key=$http_x_tenant; }
    location = /pk { gw_publish orders key=$arg_k; }
    location = /one { gw_publish one; }
    location = /small { gw_publish small; }
    location = /metrics { gw_metrics_endpoint; }
    location /ctl/ { proxy_pass http://127.0.0.1:$TEST_NGINX_REDIS_CTL/; }
    location /via/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/;
        proxy_method POST;
        proxy_set_header X-Tenant a;
        proxy_set_body '{"n": $arg_n}';
    }
_EOC_

# ssi(@uris): a location /t whose page includes each uri in turn, each
# waited for; a block can then check the log lines of one request
sub ssi {
    my $page = join '', map { "<!--# include virtual=\"$_\" wait=\"yes\" -->" }
                       @_;
    return $config . <<"_EOC_";
    location = /t {
        default_type text/html;
        ssi on;
        return 200 '$page';
    }
_EOC_
}

# every block starts with Redis up and empty
add_block_preprocessor(sub {
    my $block = shift;
    $redis->resume;
    $redis->restart unless $redis->running;
    $redis->wait_ready(10) or die "redis did not come back";
    $redis->cli('FLUSHALL');
    $redis->cli('CONFIG', 'SET', 'stream-node-max-entries', '100');
    $block->set_value('http_config', $http)
        unless defined $block->http_config;
    $block->set_value('config', $config) unless defined $block->config;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log || defined $block->error_log;
});

run_tests();

__DATA__

=== TEST 1: 202 with the event's id, topic and partition; the entry is in its partition's stream
--- request eval
["POST /p\n{\"n\": 1}",
 "GET /ctl/cli?XLEN&gw:topic:orders:" . main::part("a", 4),
 "GET /ctl/cli?EXISTS&gw:topic:orders:" . ((main::part("a", 4) + 1) % 4)]
--- more_headers
X-Tenant: a
Content-Type: application/json
--- error_code eval
[202, 200, 200]
--- response_body_like eval
my $p = main::part("a", 4);
["^\\{\"id\":\"orders:$p:\\d{13}-\\d+\",\"topic\":\"orders\",\"partition\":$p\\}\n\\z",
 "^1\n\\z", "^0\n\\z"]
--- response_headers_like eval
["Content-Type: application/json", "", ""]



=== TEST 2: the entry's fields: data as sent, key, consumer, rid, traceparent, time, ctype
--- request eval
["POST /p\n{\"order\": 42, \"items\": [1, 2]}",
 "GET /ctl/cli?XRANGE&gw:topic:orders:" . main::part("t1", 4) . "&-&%2B"]
--- more_headers
X-Tenant: t1
X-Request-ID: rid-0123456789
traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
Content-Type: application/json; charset=utf-8
--- error_code eval
[202, 200]
--- response_body_like eval
["\"partition\":" . main::part("t1", 4),
 "^\\d{13}-\\d+\ndata\n\\{\"order\": 42, \"items\": \\[1, 2\\]\\}\nkey\nt1\n"
 . "consumer\n\nrid\nrid-0123456789\ntraceparent\n"
 . "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n"
 . "time\n\\d{13}\nctype\napplication/json; charset=utf-8\n\\z"]



=== TEST 3: no key: partition 0 of a one-partition topic; an invalid traceparent is not stored
--- request eval
["POST /one\nhello", "GET /ctl/cli?XRANGE&gw:topic:one:0&-&%2B"]
--- more_headers
traceparent: 00-zzzz-b7ad6b7169203331-01
--- error_code eval
[202, 200]
--- response_body_like eval
["^\\{\"id\":\"one:0:\\d{13}-\\d+\",\"topic\":\"one\",\"partition\":0\\}\n\\z",
 "^\\d{13}-\\d+\ndata\nhello\nkey\n\nconsumer\n\nrid\n[0-9a-f]{32}\n"
 . "traceparent\n\ntime\n\\d{13}\nctype\n\\z"]



=== TEST 4: keys land on crc32(key) mod 4, the same partition each time, spread over the four
--- request eval
[(map { ("POST /pk?k=$_\nx", "POST /pk?k=$_\ny") } @main::keys),
 (map { "GET /ctl/cli?XLEN&gw:topic:orders:$_" } 0 .. 3)]
--- error_code eval
[(202) x 24, (200) x 4]
--- response_body_like eval
[(map { my $p = main::part($_, 4); ("\"partition\":$p\\}", "\"partition\":$p\\}") } @main::keys),
 (map { "^$main::count[$_]\n\\z" } 0 .. 3)]



=== TEST 5: one key's events keep their order in its partition
--- request eval
[(map { "POST /pk?k=ord\nevent-$_" } 1 .. 12),
 "GET /ctl/cli?XRANGE&gw:topic:orders:" . main::part("ord", 4) . "&-&%2B"]
--- error_code eval
[(202) x 12, 200]
--- response_body_like eval
[(map { "\"partition\":" . main::part("ord", 4) } 1 .. 12),
 join("", map { "\\d+-\\d+\ndata\nevent-$_\nkey\nord\n(?:[a-z]+\n[^\n]*\n?){5}" } 1 .. 12) . "\\z"]



=== TEST 6: Redis stopped: 503 problem+json, logged once per incident; nothing silently dropped
--- config eval
main::ssi("/via/p?n=1", "/ctl/stop", "/via/p?n=2", "/via/p?n=3")
--- request
GET /t
--- response_body_like eval
qr/^\{"id":"orders:\d:[^}]+\}\nstopped\n\{"type":"urn:tollgate:problem:publish-unavailable","title":"Event not published","status":503,[^}]+\}\{"type":"urn:tollgate:problem:publish-unavailable"[^}]+\}\z/
--- grep_error_log eval: qr/gw_publish: cannot publish to topic "orders": Redis is down; answering 503 until it can/
--- grep_error_log_out
gw_publish: cannot publish to topic "orders": Redis is down; answering 503 until it can
--- no_error_log
[alert]
[crit]



=== TEST 7: 503 with Retry-After and application/problem+json
--- config eval
main::ssi("/ctl/stop")
--- request eval
["GET /t", "POST /p\n{}"]
--- error_code eval
[200, 503]
--- response_headers_like eval
["", "Retry-After: 1"]
--- response_body_like eval
["stopped", "\"status\":503"]
--- no_error_log
[alert]
[crit]



=== TEST 8: Redis paused: 503 after gw_redis_timeout; resumed, the next event is published
--- config eval
main::ssi("/via/p?n=1", "/ctl/pause", "/via/p?n=2", "/ctl/resume",
          "/via/p?n=3", "/ctl/cli?XRANGE&gw:topic:orders:" . main::part("a", 4) . "&-&%2B")
--- request
GET /t
--- response_body_like eval
qr/^\{"id":"orders:\d:[^}]+\}\npaused\n\{"type":"urn:tollgate:problem:publish-unavailable"[^}]+\}resumed\n\{"id":"orders:\d:[^}]+\}\n\d+-\d+\ndata\n\{"n": 1\}\n.*data\n\{"n": 3\}\n/s
--- error_log
Redis did not answer in time; answering 503 until it can
gw_publish: publishing again



=== TEST 9: Redis nowhere: 503 at once
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT;
    gw_metrics_zone 1m;
    gw_topic orders partitions=4;
    gw_topic one;
    gw_topic small;
--- request
POST /p
{"n": 1}
--- error_code: 503
--- response_body_like: publish-unavailable
--- error_log
Redis is down; answering 503



=== TEST 10: Redis answers with an error (the key is not a stream): 503, Redis' words in the log
--- init
$main::redis->cli('SET', 'gw:topic:one:0', 'not a stream');
--- request
POST /one
{"n": 1}
--- error_code: 503
--- response_body_like: publish-unavailable
--- error_log
gw_publish: cannot publish to topic "one": Redis refused the event: WRONGTYPE



=== TEST 11: only POST: GET and PUT are 405 with Allow: POST, and publish nothing
--- request eval
["GET /p", "PUT /p\n{\"n\": 1}", "DELETE /p",
 "GET /ctl/cli?EXISTS&gw:topic:orders:" . main::part("a", 4)]
--- more_headers
X-Tenant: a
--- error_code eval
[405, 405, 405, 200]
--- response_headers_like eval
["Allow: POST", "Allow: POST", "Content-Type: application/problem\\+json", ""]
--- response_body_like eval
["method-not-allowed", "method-not-allowed", "\"status\":405", "^0\n\\z"]



=== TEST 12: an empty body is 400 problem+json, chunked or not, and publishes nothing
--- request eval
["POST /one", "GET /ctl/cli?EXISTS&gw:topic:one:0"]
--- more_headers
Content-Length: 0
--- error_code eval
[400, 200]
--- response_body_like eval
["urn:tollgate:problem:empty-body", "^0\n\\z"]



=== TEST 13: an empty chunked body is 400 too
--- raw_request eval
"POST /one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
--- error_code: 400
--- response_body_like: "urn:tollgate:problem:empty-body"



=== TEST 14: a chunked body is published whole
--- raw_request eval
"POST /one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
--- error_code: 202
--- response_body_like: "topic":"one"



=== TEST 15: a key with a control byte is 400 and publishes nothing
--- raw_request eval
"POST /p HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Tenant: a\x01b\r\nContent-Length: 2\r\n\r\n{}"
--- error_code: 400
--- response_body_like: "urn:tollgate:problem:invalid-partition-key"



=== TEST 16: a key of 1024 bytes is taken, one of 1025 is 400
--- request eval
["POST /pk?k=" . ("x" x 1024) . "\n{}", "POST /pk?k=" . ("x" x 1025) . "\n{}",
 "GET /ctl/cli?XLEN&gw:topic:orders:" . main::part("x" x 1024, 4)]
--- error_code eval
[202, 400, 200]
--- response_body_like eval
["\"id\"", "invalid-partition-key", "^1\n\\z"]



=== TEST 17: two Content-Type headers are 400 ambiguous-body; a Content-Encoding is 415
--- request eval
["POST /one\n{}", "GET /ctl/cli?EXISTS&gw:topic:one:0"]
--- more_headers
Content-Type: application/json
Content-Type: text/plain
--- error_code eval
[400, 200]
--- response_body_like eval
["urn:tollgate:problem:ambiguous-body", "^0\n\\z"]



=== TEST 18: Content-Encoding gzip is 415
--- request eval
["POST /one\n{}"]
--- more_headers
Content-Encoding: gzip
--- error_code: 415
--- response_body_like: "urn:tollgate:problem:unsupported-content-encoding"



=== TEST 19: two Content-Encoding headers (identity both) are 400 ambiguous-body
--- request eval
["POST /one\n{}", "GET /ctl/cli?EXISTS&gw:topic:one:0"]
--- more_headers
Content-Encoding: identity
Content-Encoding: identity
--- error_code eval
[400, 200]
--- response_body_like eval
["urn:tollgate:problem:ambiguous-body", "^0\n\\z"]



=== TEST 20: one Content-Encoding: identity is taken
--- request eval
["POST /one\n{}", "GET /ctl/cli?XLEN&gw:topic:one:0"]
--- more_headers
Content-Encoding: identity
--- error_code eval
[202, 200]
--- response_body_like eval
["\"id\"", "^1\n\\z"]



=== TEST 21: two Content-Length headers, or one beside Transfer-Encoding: 400 by nginx, nothing published
--- raw_request eval
["POST /one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
 "POST /one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"]
--- error_code eval
[400, 400]
--- no_error_log
[error]



=== TEST 22: a malformed X-Request-ID is not stored: the entry gets the generated id
--- request eval
["POST /one\nx", "GET /ctl/cli?XRANGE&gw:topic:one:0&-&%2B"]
--- more_headers
X-Request-ID: bad id with spaces
--- error_code eval
[202, 200]
--- response_body_like eval
["\"id\"", "\nrid\n[0-9a-f]{32}\n"]



=== TEST 23: a Content-Type with a control byte is 400
--- raw_request eval
"POST /one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: text/\x7fplain\r\nContent-Length: 2\r\n\r\n{}"
--- error_code: 400
--- response_body_like: "urn:tollgate:problem:invalid-content-type"



=== TEST 24: a body over client_max_body_size is 413, by nginx
--- config
    location = /one { client_max_body_size 10; gw_publish one; }
--- request
POST /one
0123456789ABC
--- error_code: 413
--- no_error_log
[alert]



=== TEST 25: metrics: published, failed and refused counts per topic; the stream length gauge
--- request eval
["POST /p\n{}", "POST /p\n{}", "GET /p", "GET /ctl/sleep?ms=400", "GET /metrics"]
--- more_headers
X-Tenant: a
--- error_code eval
[202, 202, 405, 200, 200]
--- response_body_like eval
["", "", "", "",
 "gw_publish_events_total\\{topic=\"orders\",outcome=\"published\"\\} 2\n"
 . "gw_publish_events_total\\{topic=\"orders\",outcome=\"failed\"\\} 0\n"
 . "gw_publish_events_total\\{topic=\"orders\",outcome=\"refused\"\\} 1\n"
 . ".*gw_publish_stream_length\\{topic=\"orders\",partition=\"" . main::part("a", 4) . "\"\\} 2\n"
 . ".*gw_publish_stream_maxlen\\{topic=\"orders\"\\} 1000000\n"
 . ".*gw_publish_stream_maxlen\\{topic=\"small\"\\} 10\n"]



=== TEST 26: the cap trims the stream (approximately): the newest entries stay
--- request eval
["GET /ctl/cli?CONFIG&SET&stream-node-max-entries&4",
 (map { "POST /small\nevent-$_" } 1 .. 40),
 "GET /ctl/cli?XLEN&gw:topic:small:0",
 "GET /ctl/cli?XREVRANGE&gw:topic:small:0&%2B&-&COUNT&1"]
--- error_code eval
[200, (202) x 40, 200, 200]
--- response_body_like eval
["OK", (map { "\"id\"" } 1 .. 40), "^1[0-4]\n\\z", "data\nevent-40\n"]



=== TEST 27: a stream at 80% of its cap: one warning (the stream is filled as the checks run)
--- init
$main::redis->cli('XADD', 'gw:topic:small:0', '*', 'data', $_) for 1 .. 9;
--- request
GET /ctl/sleep?ms=500
--- response_body_like: slept
--- grep_error_log eval: qr/gw_publish: topic "small" partition 0 holds \d+ entries, 80% of its maxlen 10/
--- grep_error_log_out eval
qr/^gw_publish: topic "small" partition 0 holds [89] entries, 80% of its maxlen 10\n\z/
--- no_error_log
[error]
