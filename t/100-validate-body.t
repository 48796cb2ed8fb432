# vi:ft=perl
#
# JSON request bodies against a schema (docs/validate.md, gw_validate_body):
# a valid body reaches the upstream byte for byte (in memory, spooled to
# a temporary file, chunked, Unicode); a schema violation is a 400
# validation-failed with errors[] of instanceLocation, keywordLocation and
# message, capped by gw_validate_errors; a body that is not JSON by its
# Content-Type is a 415, malformed JSON a 400 with line and column (also
# for duplicate keys, nesting past gw_validate_depth, bytes that are not
# UTF-8, an empty body), a body over gw_validate_body_max a 413, by its
# Content-Length or, chunked, as it is read.  A wide object (5,000
# members) goes through the one-pass check and its duplicate-key search
# by sorting, and the worker's memory is reused after it.
#
# The upstream is a small echo server started here: it answers each
# request with the body it received, so a test sees the exact bytes that
# went past the gateway.  The check runs in the precontent phase, which
# "return" in the location itself would skip: each validated location
# proxies.

use strict;
use warnings;

use IO::Socket::INET ();
use POSIX ();
use Test::Nginx::Socket 'no_plan';

# --- the echo upstream ------------------------------------------------------

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 64, Proto => 'tcp',
                                   ReuseAddr => 1)
    or die "echo: cannot listen: $!";
$ENV{TEST_NGINX_ECHO_PORT} = $listen->sockport;

my $owner = $$;
my $echo = fork;
die "fork: $!" unless defined $echo;
if ($echo == 0) {
    $SIG{TERM} = sub { POSIX::_exit(0) };
    while (1) {
        my $c = $listen->accept or next;
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            my $n = sysread $c, my $buf, 65536;
            last unless $n;
            $req .= $buf;
        }
        my ($head, $body) = split /\r\n\r\n/, $req, 2;
        $body //= '';
        my ($len) = ($head // '') =~ /^Content-Length:\s*(\d+)/mi;
        $len //= 0;
        while (length $body < $len) {
            my $n = sysread $c, my $buf, 65536;
            last unless $n;
            $body .= $buf;
        }
        print $c "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                 . "\r\nContent-Length: " . length($body)
                 . "\r\nConnection: close\r\n\r\n$body";
        close $c;
    }
}
close $listen;
END { if ($$ == $owner && $echo) { kill 'TERM', $echo; waitpid $echo, 0 } }

# --- bodies -----------------------------------------------------------------

# an order of about 8 KiB, spooled past a client_body_buffer_size of 1k
our $big = '{"id":"o-1","items":['
    . join(',', map { qq({"sku":"sku-$_","qty":$_,"note":"item number $_ of )
                      . qq(a long order, padded to make it bigger"}) } 1 .. 80)
    . ']}';

# an object of 5,000 members, and the same with one key twice (found by
# sorting the keys: a wide object is never compared pair by pair)
our $wide = '{' . join(',', map { qq("k$_":$_) } 0 .. 4999) . '}';
our $wide_dup = '{' . join(',', map { qq("k$_":$_) } 0 .. 4999, 7) . '}';

# a chunked body of these chunks, with its last chunk
sub chunked {
    return join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) } @_)
           . "0\r\n\r\n";
}

our $SCHEMAS = <<'_EOF_';
>>> order.json
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "items"],
  "properties": {
    "id": {"type": "string", "minLength": 1},
    "name": {"type": "string", "maxLength": 3},
    "items": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["sku", "qty"],
        "properties": {
          "sku": {"type": "string"},
          "qty": {"type": "integer", "minimum": 1}
        }
      }
    }
  }
}
>>> any.json
true
>>> wide.json
{"type": "object", "required": ["k4999"],
 "additionalProperties": {"type": "integer"}}
_EOF_

# a chain of 80 "$ref"s to an object schema: more hops than the one-pass
# check follows (64), well within the validator's evaluation depth (1,024)
$SCHEMAS .= ">>> chain.json\n" . '{"$ref": "#/$defs/a0", "$defs": {'
    . join(', ', map { '"a' . $_ . '": {"$ref": "#/$defs/a' . ($_ + 1) . '"}' }
                 0 .. 79)
    . ', "a80": {"type": "object", "required": ["id"]}}}' . "\n";

our $UP = <<'_EOC_';
    location /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $SCHEMAS)
        unless defined $block->user_files;
    $block->set_value('config', $UP . $block->config)
        if defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid body reaches the upstream byte for byte
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request
POST /v
{"id": "o-1",  "items": [{"sku": "a", "qty": 2}],
  "extra": [1, 2.50, 1e3, null, true]}
--- response_body chomp
{"id": "o-1",  "items": [{"sku": "a", "qty": 2}],
  "extra": [1, 2.50, 1e3, null, true]}
--- error_code: 200
--- no_error_log
[error]



=== TEST 2: a schema violation: 400 validation-failed with errors[]
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request
POST /v
{"id": "o-1", "items": [{"sku": "a", "qty": 0}]}
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
qr/^\{"type":"urn:tollgate:problem:validation-failed","title":"Validation failed","status":400,"detail":"the JSON body does not match the schema","request_id":"[0-9a-f]{32}","errors":\[\{"instanceLocation":"\/items\/0\/qty","keywordLocation":"\/properties\/items\/items\/properties\/qty\/minimum","message":"[^"]+"\}\]\}$/
--- error_log
gw_validate: the JSON body does not match the schema
--- no_error_log
[error]



=== TEST 3: several errors, capped by gw_validate_errors, "truncated"
--- config
    location /v {
        gw_validate_body ../html/order.json;
        gw_validate_errors 2;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request
POST /v
{"id": "", "name": "long", "items": [{"sku": 1, "qty": "x"}, {}]}
--- error_code: 400
--- response_body_like eval
qr/"errors":\[\{"instanceLocation":"[^"]*","keywordLocation":"[^"]*","message":"[^"]+"\},\{"instanceLocation":"[^"]*","keywordLocation":"[^"]*","message":"[^"]+"\}\],"truncated":true\}$/
--- no_error_log
[error]



=== TEST 4: every error up to the default cap of 10, not truncated
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request
POST /v
{"id": "", "items": [{"sku": "a", "qty": 0}]}
--- error_code: 400
--- response_body_like eval
qr/"errors":\[\{"instanceLocation":"\/id",[^{}]*\},\{"instanceLocation":"\/items\/0\/qty",[^{}]*\}\]\}$/
--- no_error_log
[error]



=== TEST 5: not JSON by its Content-Type: 415
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["POST /v\n{}", "POST /v\n{}", "POST /v\n{}"]
--- more_headers eval
["Content-Type: text/plain", "X-None: none",
 "Content-Type: application/json; charset=iso-8859-1"]
--- error_code eval
[415, 415, 415]
--- response_body_like eval
[qr/^\{"type":"urn:tollgate:problem:unsupported-media-type","title":"Unsupported media type","status":415,"detail":"the body must be UTF-8 JSON, with Content-Type application\/json or application\/\*\+json","request_id":"[0-9a-f]{32}"\}$/,
 qr/unsupported-media-type/, qr/unsupported-media-type/]
--- no_error_log
[error]



=== TEST 6: JSON media types: application/*+json, parameters, any case
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["POST /v\n[1]", "POST /v\n[2]", "POST /v\n[3]"]
--- more_headers eval
["Content-Type: application/problem+json",
 "Content-Type: Application/JSON ; charset=\"UTF-8\"",
 "Content-Type: application/vnd.api+json;charset=utf-8"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["[1]", "[2]", "[3]"]
--- no_error_log
[error]



=== TEST 7: gw_validate_content_types replaces the list
--- config
    location /v {
        gw_validate_body ../html/any.json;
        gw_validate_content_types application/x-ndjson text/*;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["POST /v\n{}", "POST /v\n{}", "POST /v\n{}"]
--- more_headers eval
["Content-Type: text/plain", "Content-Type: application/x-ndjson",
 "Content-Type: application/json"]
--- error_code eval
[200, 200, 415]
--- response_body_like eval
[qr/^\{\}$/, qr/^\{\}$/,
 qr/"detail":"the body must be UTF-8 JSON, with Content-Type application\/x-ndjson or text\/\*"/]
--- no_error_log
[error]



=== TEST 8: malformed JSON: 400 with line and column
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request
POST /v
{"a": 1,
 "b": [1, 2,, 3]}
--- error_code: 400
--- response_body_like eval
qr/^\{"type":"urn:tollgate:problem:malformed-json","title":"Malformed JSON","status":400,"detail":"line 2, column 1[0-9]: [^"]+","request_id":"[0-9a-f]{32}","line":2,"column":1[0-9]\}$/
--- error_log
gw_validate: malformed JSON body: line 2
--- no_error_log
[error]



=== TEST 9: a duplicate key is malformed, with its position
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request
POST /v
{"a": {"x": 1, "y": 2}, "b": [{"k": 1,
  "k": 2}]}
--- error_code: 400
--- response_body_like eval
qr/"detail":"line 2, column \d+: duplicate object key[^"]*".*"line":2,/
--- no_error_log
[error]



=== TEST 10: nesting past gw_validate_depth is refused at its bracket
--- config
    location /v {
        gw_validate_body ../html/any.json;
        gw_validate_depth 3;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n{\"a\": [{\"b\": 1}]}", "POST /v\n{\"a\": [{\"b\": [1]}]}",
 "POST /v\n{\"a\": \"[[[[[[\"}",
 "POST /v\n{\"a\": \"q\\\"[[[:\", \"b\": \"\\\\\", \"c\": \":[[[\"}"]
--- error_code eval
[200, 400, 200, 200]
--- response_body_like eval
[qr/^\{"a": \[\{"b": 1\}\]\}$/,
 qr/"detail":"line 1, column 14: JSON nested deeper than 3 levels".*"line":1,"column":14\}$/,
 qr/^\{"a": "\[\[\[\[\[\["\}$/,
 qr/^\{"a": "q\\"\[\[\[:", "b": "\\\\", "c": ":\[\[\["\}$/]
--- no_error_log
[error]



=== TEST 11: the default depth, 128
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n" . ("[" x 128) . ("]" x 128),
 "POST /v\n" . ("[" x 129) . ("]" x 129)]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^\[+\]+$/, qr/JSON nested deeper than 128 levels/]
--- no_error_log
[error]



=== TEST 12: over gw_validate_body_max by Content-Length: 413
--- config
    location /v {
        gw_validate_body ../html/any.json;
        gw_validate_body_max 16;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n[1,2,3,4,5,6,78]", "POST /v\n[1,2,3,4,5,6,7,8]"]
--- error_code eval
[200, 413]
--- response_body_like eval
[qr/^\[1,2,3,4,5,6,78\]$/,
 qr/^\{"type":"urn:tollgate:problem:body-too-large","title":"Request body too large","status":413,"detail":"the body is larger than 16 bytes","request_id":"[0-9a-f]{32}"\}$/]
--- no_error_log
[error]



=== TEST 13: over gw_validate_body_max, chunked: 413 once read
--- config
    location /v {
        gw_validate_body ../html/any.json;
        gw_validate_body_max 16;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- request eval
"POST /v\n" . main::chunked('[1,2,3,4,', '5,6,7,8]')
--- error_code: 413
--- response_body_like: "detail":"the body is larger than 16 bytes"
--- no_error_log
[error]



=== TEST 14: a chunked body is validated and passed on whole
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- request eval
"POST /v\n" . main::chunked('{"id": "', 'o-7", "items": [{"sku": "',
                             'z", "qty": 3}]}   ')
--- error_code: 200
--- response_body eval
"{\"id\": \"o-7\", \"items\": [{\"sku\": \"z\", \"qty\": 3}]}   "
--- no_error_log
[error]



=== TEST 15: a chunked body that fails the schema
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- request eval
"POST /v\n" . main::chunked('{"id"', ': "x"', '}')
--- error_code: 400
--- response_body_like: "errors":\[\{"instanceLocation":"","keywordLocation":"/required","message":".*items
--- no_error_log
[error]



=== TEST 16: a body spooled to a temporary file, byte for byte
--- config
    location /v {
        client_body_buffer_size 1k;
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v\n$::big"
--- error_code: 200
--- response_body eval
$::big
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]



=== TEST 17: a spooled body that fails the schema
--- config
    location /v {
        client_body_buffer_size 1k;
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
my $b = $::big; $b =~ s/"qty":77/"qty":-77/; "POST /v\n$b"
--- error_code: 400
--- response_body_like: "instanceLocation":"/items/76/qty"
--- no_error_log
[error]



=== TEST 18: a chunked body spooled to a file
--- config
    location /v {
        client_body_buffer_size 1k;
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- request eval
"POST /v\n" . main::chunked($::big =~ /(.{1,700})/gs)
--- error_code: 200
--- response_body eval
$::big
--- no_error_log
[error]



=== TEST 19: an empty body: 400 for POST, PUT and PATCH; GET goes through
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["POST /v", "PUT /v", "GET /v", "DELETE /v"]
--- more_headers eval
["Content-Length: 0", "Content-Type: application/json\nContent-Length: 0",
 "X-None: none", "X-None: none"]
--- error_code eval
[400, 400, 200, 200]
--- response_body_like eval
[qr/^\{"type":"urn:tollgate:problem:malformed-json","title":"Malformed JSON","status":400,"detail":"a JSON body is required","request_id":"[0-9a-f]{32}"\}$/,
 qr/a JSON body is required/, qr/^$/, qr/^$/]
--- no_error_log
[error]



=== TEST 20: an empty chunked body is empty too
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- request eval
"POST /v\n" . main::chunked()
--- error_code: 400
--- response_body_like: a JSON body is required
--- no_error_log
[error]



=== TEST 21: Unicode: UTF-8 and escapes, lengths in code points
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json; charset=utf-8
--- request eval
["POST /v\n{\"id\": \"\xe6\x97\xa5\xe6\x9c\xac\", \"name\": \"\xc3\xa9t\xc3\xa9\", \"items\": [], \"\xf0\x9f\x98\x80\": \"\\u00e9\\ud83d\\ude00\"}",
 "POST /v\n{\"id\": \"x\", \"name\": \"\xc3\xa9t\xc3\xa9s\", \"items\": []}"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^\{"id": "\xe6\x97\xa5\xe6\x9c\xac", "name": "\xc3\xa9t\xc3\xa9", "items": \[\], "\xf0\x9f\x98\x80": "\\u00e9\\ud83d\\ude00"\}$/,
 qr/"instanceLocation":"\/name","keywordLocation":"\/properties\/name\/maxLength"/]
--- no_error_log
[error]



=== TEST 22: bytes that are not UTF-8 are malformed JSON
--- config
    location /v {
        gw_validate_body ../html/any.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v\n{\"a\": \"\xc3\x28\"}"
--- error_code: 400
--- response_body_like: "type":"urn:tollgate:problem:malformed-json".*"line":1,
--- no_error_log
[error]



=== TEST 23: gw_validate_body off in a nested location; inheritance
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;

        location /v/free {
            gw_validate_body off;
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
        }

        location /v/inherited {
            proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
        }
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v/free\n{\"id\": 1}", "POST /v/inherited\n{\"id\": 1}"]
--- error_code eval
[200, 400]
--- no_error_log
[error]



=== TEST 24: a body read before (try_files' redirect) is validated too
--- config
    location /v {
        client_body_buffer_size 1k;
        gw_validate_body ../html/any.json;
        try_files /nowhere @second;
    }
    location @second {
        client_body_buffer_size 1k;
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v\n$::big"
--- error_code: 200
--- response_body eval
$::big
--- no_error_log
[error]



=== TEST 25: keep-alive: the next request on the connection is served
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- pipelined_requests eval
["POST /v\n{\"id\": 1}", "POST /v\n{\"id\": \"a\", \"items\": []}"]
--- error_code eval
[400, 200]
--- response_body_like eval
[qr/validation-failed/, qr/^\{"id": "a", "items": \[\]\}$/]
--- no_error_log
[error]



=== TEST 26: every refusal counts in gw_validation_failures_total
--- http_config
    gw_metrics_zone 1m;
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location /v {
        gw_route orders;
        gw_validate_body ../html/order.json;
        gw_validate_body_max 64;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request eval
["POST /v\n{\"id\": 1}", "POST /v\n{", "POST /v\n{\"id\": \"a\", \"items\": []}",
 "GET /metrics"]
--- more_headers eval
["Content-Type: application/json", "Content-Type: application/json",
 "Content-Type: application/json", "X-None: none"]
--- error_code eval
[400, 400, 200, 200]
--- response_body_like eval
[qr/validation-failed/, qr/malformed-json/, qr/^\{"id"/,
 qr/^gw_validation_failures_total\{route="orders"\} 2$/m]
--- no_error_log
[error]



=== TEST 27: a body that arrives later, in pieces: the phases wait for it
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- raw_request eval
my @part = ('{"id": "o-9", ', '"items": [{"sku": "b", "qty": 1}]}');
["POST /v HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Content-Length: " . length($part[0] . $part[1]) . "\r
\r
$part[0]", $part[1]]
--- raw_request_middle_delay: 0.2
--- error_code: 200
--- response_body: {"id": "o-9", "items": [{"sku": "b", "qty": 1}]}
--- no_error_log
[error]



=== TEST 28: a chunked body in pieces that fails the schema
--- config
    location /v {
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- raw_request eval
["POST /v HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
" . main::chunked('{"id": "o-9", ') =~ s/0\r\n\r\n$//r,
main::chunked('"items": [{"sku": "b", "qty": 0}]}')]
--- raw_request_middle_delay: 0.2
--- error_code: 400
--- response_body_like: "instanceLocation":"/items/0/qty"
--- no_error_log
[error]



=== TEST 29: proxy_request_buffering off: the body read here goes upstream
--- config
    location /v {
        client_body_buffer_size 1k;
        proxy_request_buffering off;
        gw_validate_body ../html/order.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v\n$::big"
--- error_code: 200
--- response_body eval
$::big
--- no_error_log
[error]



=== TEST 30: a wide object: valid, one key twice, valid again
--- config
    location /v {
        gw_validate_body ../html/wide.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n$::wide", "POST /v\n$::wide_dup", "POST /v\n$::wide"]
--- error_code eval
[200, 400, 200]
--- response_body_like eval
[qr/^\{"k0":0,.*"k4999":4999\}$/,
 qr/^\{"type":"urn:tollgate:problem:malformed-json",.*duplicate object key.*\}$/,
 qr/^\{"k0":0,.*"k4999":4999\}$/]
--- no_error_log
[error]



=== TEST 31: past the one pass's "$ref" hops, the validator decides
--- config
    location /v {
        gw_validate_body ../html/chain.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n{\"id\":1}", "POST /v\n{\"di\":1}"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/^\{"id":1\}$/,
 qr/^\{"type":"urn:tollgate:problem:validation-failed",.*"instanceLocation":"","keywordLocation":"(\/\$ref|\/\$defs\/a\d+\/\$ref)+\/required",.*\}$/]
--- no_error_log
[error]
