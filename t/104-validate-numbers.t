# vi:ft=perl
#
# Numbers at the bounds (docs/validate.md, Numbers): a body's numbers are
# decided as written, not as the double nearest them.
# {"amount": 100.00000000000000001} is above "maximum": 100 and refused
# with 400 validation-failed, though its double is 100; 1e-400 is not an
# integer, though its double is 0; numbers just inside a bound still
# pass, and a number past the double range is malformed JSON.  Query
# arguments declared numbers that a double does not hold stay strings,
# which "type" refuses.  Each body is refused by the full validator after
# the one pass gave up on it, and passes by the one pass.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

our $SCHEMAS = <<'_EOF_';
>>> pay.json
{
  "type": "object",
  "properties": {
    "amount": {"type": "number", "maximum": 100, "exclusiveMinimum": 0},
    "fee": {"type": "number", "maximum": 10, "multipleOf": 0.01},
    "count": {"type": "integer"}
  }
}
>>> args.json
{
  "type": "object",
  "properties": {
    "ratio": {"type": "number", "exclusiveMaximum": 1}
  }
}
_EOF_

our $UP = <<'_EOC_';
    location /up {
        return 200 "ok\n";
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

=== TEST 1: the issue's bodies: just past a bound, refused with 400
--- config
    location /v {
        gw_validate_body ../html/pay.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n{\"amount\": 100.00000000000000001}",
 "POST /v\n{\"fee\": 10.0000000000000000001}",
 "POST /v\n{\"count\": 1e-400}",
 "POST /v\n{\"amount\": 1e-400, \"count\": 1.0000000000000000001}",
 "POST /v\n{\"amount\": -0.00000000000000000000000001}",
 "POST /v\n{\"fee\": 0.30000000000000004}"]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body_like eval
[qr/"errors":\[\{"instanceLocation":"\/amount","keywordLocation":"\/properties\/amount\/maximum","message":"must be <= 100"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/fee","keywordLocation":"\/properties\/fee\/maximum","message":"must be <= 10"\},\{"instanceLocation":"\/fee","keywordLocation":"\/properties\/fee\/multipleOf","message":"must be a multiple of 0.01"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/count","keywordLocation":"\/properties\/count\/type","message":"must be integer"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/count","keywordLocation":"\/properties\/count\/type","message":"must be integer"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/amount","keywordLocation":"\/properties\/amount\/exclusiveMinimum","message":"must be > 0"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/fee","keywordLocation":"\/properties\/fee\/multipleOf","message":"[^"]+"\}\]\}$/]
--- no_error_log
[error]



=== TEST 2: at and just inside the bounds: passed
--- config
    location /v {
        gw_validate_body ../html/pay.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n{\"amount\": 100, \"fee\": 10, \"count\": 1e2}",
 "POST /v\n{\"amount\": 100.000000000000000000, \"count\": 1E+2}",
 "POST /v\n{\"amount\": 99.99999999999999999999, \"fee\": 9.99}",
 "POST /v\n{\"amount\": 1e-400, \"count\": -0}",
 "POST /v\n{\"amount\": 0.0000000000000000000000000000000000001}"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
["ok\n", "ok\n", "ok\n", "ok\n", "ok\n"]
--- no_error_log
[error]



=== TEST 3: past the double range: malformed JSON
--- config
    location /v {
        gw_validate_body ../html/pay.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- more_headers
Content-Type: application/json
--- request eval
["POST /v\n{\"amount\": 1e400}", "POST /v\n{\"amount\": -1e400}"]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/^\{"type":"urn:tollgate:problem:malformed-json",.*"line":1,/,
 qr/^\{"type":"urn:tollgate:problem:malformed-json",.*"line":1,/]
--- no_error_log
[error]



=== TEST 4: arguments a double does not hold stay strings
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?ratio=0.5", "GET /a?ratio=0.99999999999999999999",
 "GET /a?ratio=1e400", "GET /a?ratio=1e-400"]
--- error_code eval
[200, 400, 400, 400]
--- response_body_like eval
["ok",
 qr/"errors":\[\{"instanceLocation":"\/ratio","keywordLocation":"\/properties\/ratio\/type","message":"must be number"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/ratio","keywordLocation":"\/properties\/ratio\/type","message":"must be number"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"\/ratio","keywordLocation":"\/properties\/ratio\/type","message":"must be number"\}\]\}$/]
--- no_error_log
[error]
