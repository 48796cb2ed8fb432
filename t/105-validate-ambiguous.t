# vi:ft=perl
#
# A validated body has one reading (docs/validate.md, gw_validate_body):
# nginx keeps the first Content-Type but forwards every copy, so a body
# checked as JSON could be parsed by an upstream that reads the last one
# as a form (amount=1000&role=admin, values the schema forbids); the
# gateway does not decode a Content-Encoding, so it would have checked the
# encoded bytes.  More than one Content-Type or Content-Encoding header is
# a 400 ambiguous-body, a Content-Encoding other than identity a 415
# unsupported-content-encoding with Accept-Encoding: identity, before the
# upstream sees anything.  One Content-Type with parameters, or
# Content-Encoding: identity, still passes.
#
# The upstream is Tollgate::Echo, which answers with the request head it
# received: a block that passes sees the request line there; a refused one
# gets the gateway's problem+json instead.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Echo;

our $echo = Tollgate::Echo->start;
$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;

# valid JSON for the schema, and a form whose last amount is 1000
our $body = '{"amount":10,"note":"&role=admin&amount=1000&"}';

# a problem body of this type and status
sub problem {
    my ($type, $status) = @_;
    return qr/\A\{"type":"urn:tollgate:problem:\Q$type\E","title":"[^"]+",/
           . qr/"status":$status,/;
}

# a chunked body of these chunks, with its last chunk
sub chunked {
    return join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) } @_)
           . "0\r\n\r\n";
}

our $SCHEMAS = <<'_EOF_';
>>> pay.json
{
  "type": "object",
  "required": ["amount"],
  "additionalProperties": {"type": "string"},
  "properties": {
    "amount": {"type": "integer", "maximum": 100},
    "role": {"not": {"const": "admin"}}
  }
}
_EOF_

our $CONF = <<'_EOC_';
    location /pay {
        gw_validate_body ../html/pay.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $SCHEMAS)
        unless defined $block->user_files;
    $block->set_value('config', $CONF)
        unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: two Content-Type headers, JSON first: 400 ambiguous-body, no upstream
--- request eval
"POST /pay\n$::body"
--- more_headers
Content-Type: application/json
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
main::problem('ambiguous-body', 400)
--- error_log
gw_validate: body refused: 2 Content-Type and 0 Content-Encoding headers
--- no_error_log
[error]



=== TEST 2: two Content-Type headers, form first, in any case: 400 ambiguous-body
--- request eval
["POST /pay\n$::body", "POST /pay\n$::body", "POST /pay\n$::body"]
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded\nContent-Type: application/json",
 "Content-Type: application/json\ncontent-type: application/json",
 "Content-Type: application/json; charset=utf-8\nCONTENT-TYPE: text/plain"]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[main::problem('ambiguous-body', 400), main::problem('ambiguous-body', 400),
 main::problem('ambiguous-body', 400)]
--- no_error_log
[error]



=== TEST 3: a chunked body with two Content-Type headers: 400
--- request eval
"POST /pay\n" . main::chunked(substr($::body, 0, 10), substr($::body, 10))
--- more_headers
Transfer-Encoding: chunked
Content-Type: application/json
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body_like eval
main::problem('ambiguous-body', 400)
--- no_error_log
[error]



=== TEST 4: one Content-Type with parameters, or Content-Encoding identity: passes to the upstream
--- request eval
["POST /pay\n$::body", "POST /pay\n$::body", "POST /pay\n$::body"]
--- more_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: Application/JSON ; charset=\"UTF-8\"",
 "Content-Type: application/json\nContent-Encoding: identity"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/\APOST \/up HTTP\/1\.0\n/, qr/\APOST \/up HTTP\/1\.0\n/,
 qr/\APOST \/up HTTP\/1\.0\n/]
--- no_error_log
[error]



=== TEST 5: an encoded body: 415 unsupported-content-encoding, Accept-Encoding: identity
--- request eval
"POST /pay\n$::body"
--- more_headers
Content-Type: application/json
Content-Encoding: gzip
--- error_code: 415
--- response_headers
Accept-Encoding: identity
Content-Type: application/problem+json
--- response_body_like eval
main::problem('unsupported-content-encoding', 415)
--- error_log
gw_validate: body refused: Content-Encoding "gzip"
--- no_error_log
[error]



=== TEST 6: deflate, "identity, gzip", br, x-identity: 415
--- request eval
["POST /pay\n$::body", "POST /pay\n$::body", "POST /pay\n$::body",
 "POST /pay\n$::body"]
--- more_headers eval
["Content-Type: application/json\nContent-Encoding: deflate",
 "Content-Type: application/json\nContent-Encoding: identity, gzip",
 "Content-Type: application/json\ncontent-encoding: br",
 "Content-Type: application/json\nContent-Encoding: x-identity"]
--- error_code eval
[415, 415, 415, 415]
--- response_body_like eval
[main::problem('unsupported-content-encoding', 415),
 main::problem('unsupported-content-encoding', 415),
 main::problem('unsupported-content-encoding', 415),
 main::problem('unsupported-content-encoding', 415)]
--- no_error_log
[error]



=== TEST 7: two Content-Encoding headers, even identity twice: 400 ambiguous-body
--- request eval
["POST /pay\n$::body", "POST /pay\n$::body"]
--- more_headers eval
["Content-Type: application/json\nContent-Encoding: identity\nContent-Encoding: gzip",
 "Content-Type: application/json\nContent-Encoding: identity\nContent-Encoding: identity"]
--- error_code eval
[400, 400]
--- response_body_like eval
[main::problem('ambiguous-body', 400), main::problem('ambiguous-body', 400)]
--- no_error_log
[error]



=== TEST 8: the form reading is what the schema forbids: one JSON Content-Type passes, the values checked are the JSON ones
--- config
    location /pay {
        gw_validate_body ../html/pay.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request eval
["POST /pay\n$::body", "POST /pay\n{\"amount\":1000}"]
--- more_headers eval
["Content-Type: application/json", "Content-Type: application/json"]
--- error_code eval
[200, 400]
--- response_body_like eval
[qr/\APOST \/up HTTP\/1\.0\n(?:.*\n)?Content-Type: application\/json\n/s,
 main::problem('validation-failed', 400)]
--- no_error_log
[error]
