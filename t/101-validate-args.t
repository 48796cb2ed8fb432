# vi:ft=perl
#
# Query arguments and request headers against a schema (docs/validate.md,
# gw_validate_args, gw_validate_headers): each value becomes the type its
# property's schema declares (integer, number, boolean; else a string the
# schema's "type" refuses), names and values are URL-decoded, a repeated
# argument is an array (of converted items when the schema says array,
# refused by a scalar type otherwise), header names are lowercased, a
# repeated header is an array where declared so, refused where declared a
# scalar (the upstream may read either copy), joined with ", " where the
# schema does not name it.  Failures are 400
# validation-failed with errors[]; text that is not UTF-8 is refused
# with an error naming the member.  Arguments are checked before headers,
# and both before the body.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

our $SCHEMAS = <<'_EOF_';
>>> args.json
{
  "type": "object",
  "required": ["limit"],
  "additionalProperties": false,
  "properties": {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    "ratio": {"type": "number", "exclusiveMaximum": 1},
    "full": {"type": "boolean"},
    "q": {"type": "string", "maxLength": 5},
    "tag": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    "when": {"type": ["integer", "string"]},
    "a/b~c": {"type": "string"}
  }
}
>>> headers.json
{
  "type": "object",
  "required": ["x-tenant"],
  "properties": {
    "x-tenant": {"type": "string", "pattern": "^[a-z]+$"},
    "x-version": {"type": "integer", "minimum": 2},
    "x-debug": {"type": "boolean"},
    "x-multi": {"type": "string"},
    "x-list": {"type": "array", "items": {"type": "integer"}}
  }
}
>>> body.json
{"type": "object", "required": ["id"]}
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

=== TEST 1: arguments converted by their declared types pass
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?limit=10", "GET /a?limit=1&ratio=0.5&full=true&q=h%C3%A9+y",
 "GET /a?limit=100&ratio=-2.5e-3&full=false&tag=1&tag=2&tag=3",
 "GET /a?limit=5&when=now", "GET /a?limit=5&when=17&a%2Fb~c=x&&"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body eval
["ok\n", "ok\n", "ok\n", "ok\n", "ok\n"]
--- no_error_log
[error]



=== TEST 2: a value outside its schema: 400 with errors[]
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request
GET /a?limit=101
--- error_code: 400
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
qr/^\{"type":"urn:tollgate:problem:validation-failed","title":"Validation failed","status":400,"detail":"the query arguments do not match the schema","request_id":"[0-9a-f]{32}","errors":\[\{"instanceLocation":"\/limit","keywordLocation":"\/properties\/limit\/maximum","message":"[^"]+"\}\]\}$/
--- error_log
gw_validate: the query arguments do not match the schema
--- no_error_log
[error]



=== TEST 3: text where a type is declared stays a string: "type" fails
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?limit=ten", "GET /a?limit=1&full=yes", "GET /a?limit=1&ratio=.5",
 "GET /a?limit=01", "GET /a?limit=1.0"]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body_like eval
[qr/"instanceLocation":"\/limit","keywordLocation":"\/properties\/limit\/type"/,
 qr/"instanceLocation":"\/full","keywordLocation":"\/properties\/full\/type"/,
 qr/"instanceLocation":"\/ratio","keywordLocation":"\/properties\/ratio\/type"/,
 qr/"instanceLocation":"\/limit","keywordLocation":"\/properties\/limit\/type"/,
 qr/"instanceLocation":"\/limit","keywordLocation":"\/properties\/limit\/type"/]
--- no_error_log
[error]



=== TEST 4: missing, unknown, and URL-decoded before checking
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a", "GET /a?limit=1&other=1", "GET /a?limit=1&q=%61%62%63%64%65%66",
 "GET /a?limit=1&q=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"]
--- error_code eval
[400, 400, 400, 200]
--- response_body_like eval
[qr/"instanceLocation":"","keywordLocation":"\/required"/,
 qr/"keywordLocation":"\/additionalProperties"/,
 qr/"instanceLocation":"\/q","keywordLocation":"\/properties\/q\/maxLength"/,
 qr/^ok$/]
--- no_error_log
[error]



=== TEST 5: repeated arguments: an array where declared, refused where not
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?limit=1&tag=1&tag=x", "GET /a?limit=1&tag=1&tag=2&tag=3&tag=4",
 "GET /a?limit=1&limit=2", "GET /a?limit=1&tag=7"]
--- error_code eval
[400, 400, 400, 200]
--- response_body_like eval
[qr/"instanceLocation":"\/tag\/1","keywordLocation":"\/properties\/tag\/items\/type"/,
 qr/"instanceLocation":"\/tag","keywordLocation":"\/properties\/tag\/maxItems"/,
 qr/"instanceLocation":"\/limit","keywordLocation":"\/properties\/limit\/type"/,
 qr/^ok$/]
--- no_error_log
[error]



=== TEST 6: JSON pointers escape "/" and "~" in names
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request
GET /a?limit=1&a%2Fb~c=1&x~%2Fy=2
--- error_code: 400
--- response_body_like: "instanceLocation":"/x~0~1y"|"keywordLocation":"/additionalProperties"
--- no_error_log
[error]



=== TEST 7: a value that is not UTF-8 is refused, by name
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?limit=1&q=%C3%28", "GET /a?limit=1&%FF=1"]
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/"errors":\[\{"instanceLocation":"\/q","keywordLocation":"","message":"the value is not valid UTF-8"\}\]\}$/,
 qr/"errors":\[\{"instanceLocation":"","keywordLocation":"","message":"an argument name is not valid UTF-8"\}\]\}$/]
--- no_error_log
[error]



=== TEST 8: headers: lowercased names, converted values
--- config
    location /h {
        gw_validate_headers ../html/headers.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /h", "GET /h", "GET /h", "GET /h", "GET /h"]
--- more_headers eval
["X-Tenant: acme\nX-Version: 3\nX-Debug: true",
 "x-tenant: acme\nX-Version: 1",
 "X-Tenant: Acme",
 "X-Version: 2",
 "X-Tenant: acme\nX-Version: two"]
--- error_code eval
[200, 400, 400, 400, 400]
--- response_body_like eval
[qr/^ok$/,
 qr/^\{"type":"urn:tollgate:problem:validation-failed","title":"Validation failed","status":400,"detail":"the request headers do not match the schema","request_id":"[0-9a-f]{32}","errors":\[\{"instanceLocation":"\/x-version","keywordLocation":"\/properties\/x-version\/minimum","message":"[^"]+"\}\]\}$/,
 qr/"instanceLocation":"\/x-tenant","keywordLocation":"\/properties\/x-tenant\/pattern"/,
 qr/"instanceLocation":"","keywordLocation":"\/required"/,
 qr/"instanceLocation":"\/x-version","keywordLocation":"\/properties\/x-version\/type"/]
--- no_error_log
[error]



=== TEST 9: repeated headers: an array where declared, refused where declared a scalar, joined where undeclared
--- config
    location /h {
        gw_validate_headers ../html/headers.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /h", "GET /h", "GET /h", "GET /h", "GET /h", "GET /h"]
--- more_headers eval
["X-Tenant: acme\nX-List: 1\nX-List: 2\nX-Other: a\nX-Other: b",
 "X-Tenant: acme\nX-List: 1\nX-List: x",
 "X-Tenant: acme\nX-Multi: a\nX-Multi: b",
 "X-Tenant: acme\nx-tenant: admin",
 "X-Tenant: acme\nX-Tenant: acme",
 "X-Tenant: acme\nX-Version: 3\nX-VERSION: 1"]
--- error_code eval
[200, 400, 400, 400, 400, 400]
--- response_body_like eval
[qr/^ok$/,
 qr/"instanceLocation":"\/x-list\/1","keywordLocation":"\/properties\/x-list\/items\/type"/,
 qr/"errors":\[\{"instanceLocation":"\/x-multi","keywordLocation":"","message":"the header is given more than once"\}\]\}$/,
 qr/"instanceLocation":"\/x-tenant","keywordLocation":"","message":"the header is given more than once"/,
 qr/"instanceLocation":"\/x-tenant","keywordLocation":"","message":"the header is given more than once"/,
 qr/"instanceLocation":"\/x-version","keywordLocation":"","message":"the header is given more than once"/]
--- no_error_log
[error]



=== TEST 10: arguments first, then headers, then the body
--- config
    location /all {
        gw_validate_args ../html/args.json;
        gw_validate_headers ../html/headers.json;
        gw_validate_body ../html/body.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["POST /all?limit=0\n{}", "POST /all?limit=1\n{}", "POST /all?limit=1\n{}",
 "POST /all?limit=1\n{\"id\": 1}"]
--- more_headers eval
["Content-Type: application/json", "Content-Type: application/json",
 "Content-Type: application/json\nX-Tenant: a",
 "Content-Type: application/json\nX-Tenant: a"]
--- error_code eval
[400, 400, 400, 200]
--- response_body_like eval
[qr/the query arguments do not match/, qr/the request headers do not match/,
 qr/the JSON body does not match/, qr/^ok$/]
--- no_error_log
[error]



=== TEST 11: validation runs after the rate limit
--- config
    location /a {
        gw_limit api key=$uri rate=1r/m;
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$server_port/up;
    }
--- request eval
["GET /a?limit=0", "GET /a?limit=0"]
--- error_code eval
[400, 429]
--- no_error_log
[error]
