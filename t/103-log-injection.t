# vi:ft=perl
#
# Log injection (docs/development.md, "Log escaping"): a request that puts
# CR, LF, NUL and ESC into what the gateway may log -- a JSON member name,
# a query argument's name, a malformed body near its error, a
# Content-Type, a header value, an API key, a JWT's kid and claims, a
# limit key, the decoded URI of a denied request -- never gets those bytes
# into error.log.  Each event is exactly one line, the value escaped as
# \xNN and cut after 200 bytes, and the "[emerg]" line the request
# carries never starts a line of its own.
#
# Every block checks, besides its own event line: no CR, NUL, ESC or DEL
# anywhere in the log, every line starting as nginx starts its lines
# (a time and a level), the forged line's time never at a line's start,
# and nothing at [error].  The log is at info, where client-caused
# denials are; at debug nginx's own lines show the raw request.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(jwt keys_dir now);
use Tollgate::Redis;

our $redis = Tollgate::Redis->start;

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

# the line a request tries to add, and its escaped form on the real line
our $FORGED = "1999/12/31 23:59:59 [emerg] 1#1: FORGED";
our $FORGED_LOG = '\x0a' . $FORGED . '\x0d\x1b[31m';

# the same in a JSON pointer (instanceLocation), where "/" is "~1"
(our $FORGED_PTR = $FORGED_LOG) =~ s{/}{~1}g;

# a token with a hostile kid and hostile claims, signed by a key the
# gateway does not have
our $tok = jwt(alg => 'HS256', secret => 'not the key',
               kid => "k\n$FORGED\r\e[31m",
               payload => { sub => "s\n$FORGED\r\e", iss => "\e[2J",
                            exp => now() + 3600 });

our $SCHEMAS = <<'_EOF_';
>>> body.json
{"type": "object", "additionalProperties": false,
 "properties": {"amount": {"type": "number"}}}
>>> args.json
{"type": "object", "additionalProperties": false,
 "properties": {"limit": {"type": "integer"}}}
>>> headers.json
{"type": "object", "properties": {"x-tenant": {"pattern": "^[a-z]+$"}}}
_EOF_

our $UP = <<'_EOC_';
    location /up {
        return 200 "ok\n";
    }
_EOC_

# the checks every block makes
our @CLEAN = (
    '[error]',
    qr/[\x00\x0d\x1b\x7f]/,
    qr{^1999/12/31},
    qr{^(?!\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] \d+#\d+: )},
);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('user_files', $SCHEMAS)
        unless defined $block->user_files;
    $block->set_value('config', $UP . $block->config)
        if defined $block->config;
    $block->set_value('no_error_log', [@CLEAN])
        unless defined $block->no_error_log;
    $block->set_value('log_level', 'info')
        unless defined $block->log_level;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a member name with CR, LF and ESC: one escaped line, JSON-escaped in the body
--- config
    location /v {
        gw_validate_body ../html/body.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v
{\"amount\":1,\"x\\n$::FORGED\\r\\u001b[31m\":1}"
--- error_code: 400
--- response_body_like eval
qr/"instanceLocation":"\/x\\u000a1999~112~131 23:59:59 \[emerg\] 1#1: FORGED\\u000d\\u001b\[31m","keywordLocation":"\/additionalProperties","message":"property \\"x\\u000a1999[^"]*FORGED\\u000d\\u001b\[31m\\" is not allowed"/
--- error_log eval
qq{at "/x$::FORGED_PTR": property \\"x$::FORGED_LOG\\" is not allowed}
--- grep_error_log eval
qr/gw_validate: the JSON body does not match\b/
--- grep_error_log_out
gw_validate: the JSON body does not match



=== TEST 2: a malformed body quoted near its error, with ESC and NUL
--- config
    location /v {
        gw_validate_body ../html/body.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v
{\"amount\":1}\e[31m\0\r\n$::FORGED"
--- error_code: 400
--- error_log eval
qr/gw_validate: malformed JSON body: line 1, column \d+: .*\\x1b/
--- grep_error_log eval
qr/gw_validate: malformed JSON body/
--- grep_error_log_out
gw_validate: malformed JSON body



=== TEST 3: a Content-Type with ESC and the forged line
--- config
    location /v {
        gw_validate_body ../html/body.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"Content-Type: text/plain\e[31m $::FORGED\e[0m"
--- request
POST /v
{"amount": 1}
--- error_code: 415
--- error_log eval
qq{body of Content-Type "text/plain\\x1b[31m $::FORGED\\x1b[0m" is not JSON}
--- grep_error_log eval
qr/gw_validate: body of Content-Type/
--- grep_error_log_out
gw_validate: body of Content-Type



=== TEST 4: a query argument's name, percent-encoded CR, LF and ESC
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /a?limit=1&x%0a1999/12/31%2023:59:59%20[emerg]%201%231:%20FORGED%0d%1b[31m=1
--- error_code: 400
--- error_log eval
qq{at "/x$::FORGED_PTR": property \\"x$::FORGED_LOG\\" is not allowed}
--- grep_error_log eval
qr/gw_validate: the query arguments do not match\b/
--- grep_error_log_out
gw_validate: the query arguments do not match



=== TEST 5: a header value with ESC, refused by its pattern
--- config
    location /h {
        gw_validate_headers ../html/headers.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"X-Tenant: a\e[31m $::FORGED"
--- request
GET /h
--- error_code: 400
--- grep_error_log eval
qr/gw_validate: the request headers do not match\b/
--- grep_error_log_out
gw_validate: the request headers do not match



=== TEST 6: a denied API key: the decoded URI escaped, the key never logged
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /k {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"X-API-Key: k\e[31m$::FORGED"
--- request
GET /k%0a1999/12/31%2023:59:59%20[emerg]%201%231:%20FORGED%0d%1b[31m
--- error_code: 401
--- error_log eval
qq{gw_key_auth: request denied: API key malformed, client: 127.0.0.1, uri: "/k$::FORGED_LOG"}
--- grep_error_log eval
qr/gw_key_auth: request denied/
--- grep_error_log_out
gw_key_auth: request denied



=== TEST 7: an unknown API key looked up in Redis, hostile URI
--- http_config
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /k {
        gw_key_auth api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers
X-API-Key: tg_not_a_key_of_anyone_0123456789abcdef
--- request
GET /k%0a1999/12/31%2023:59:59%20[emerg]%201%231:%20FORGED%0d%1b[31m
--- error_code: 401
--- error_log eval
qq{uri: "/k$::FORGED_LOG"}
--- grep_error_log eval
qr/gw_key_auth: request denied/
--- grep_error_log_out
gw_key_auth: request denied



=== TEST 8: a JWT with a hostile kid and claims, hostile URI
--- config
    location /j {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"Authorization: Bearer $::tok"
--- request
GET /j%0a1999/12/31%2023:59:59%20[emerg]%201%231:%20FORGED%0d%1b[31m
--- error_code: 401
--- error_log eval
qq{, uri: "/j$::FORGED_LOG"}
--- grep_error_log eval
qr/gw_jwt: request denied/
--- grep_error_log_out
gw_jwt: request denied



=== TEST 9: a limit key with ESC: the refusal logged on one line
--- config
    location /l {
        gw_limit api key=$http_x_user rate=1r/m;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"X-User: u\e[31m $::FORGED"
--- request eval
["GET /l", "GET /l"]
--- error_code eval
[200, 429]
--- grep_error_log eval
qr/gw_limit: limit "api" exceeded/
--- grep_error_log_out eval
qr/\A(?:gw_limit: limit "api" exceeded\n)?\z/



=== TEST 10: a query argument's name with NUL, CR and ESC
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request
GET /a?limit=1&x%0d%1b[2J%00%0a1999/12/31%20FORGED=1
--- error_code: 400
--- error_log
at "/x\x0d\x1b[2J": property \"x\x0d\x1b[2J\" is not allowed
--- grep_error_log eval
qr/gw_validate: the query arguments do not match\b/
--- grep_error_log_out
gw_validate: the query arguments do not match



=== TEST 11: a long name is cut after 200 bytes, "..." saying so
--- config
    location /a {
        gw_validate_args ../html/args.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- request eval
"GET /a?limit=1&" . ('n' x 198) . "%0a%0d" . ('m' x 100) . "=1"
--- error_code: 400
--- error_log eval
qq{at "/} . ('n' x 198) . q{\x0a...": property}
--- grep_error_log eval
qr/gw_validate: the query arguments do not match\b/
--- grep_error_log_out
gw_validate: the query arguments do not match



=== TEST 12: nginx's own context on a line (request, host, referrer) is escaped too
--- config
    location /v {
        gw_validate_body ../html/body.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"Content-Type: application/json\nReferer: http://r.test/\e[31mred\x7f\xff\"q\\b\nHost: h.test"
--- request eval
"POST /v/%1b%5b2J\xff
{\"amount\":\"x\"}"
--- error_code: 400
--- error_log eval
[qr/gw_validate: the JSON body does not match[^\n]*, request: "POST \/v\/%1b%5b2J\\xff HTTP\/1\.1", host: "h\.test", referrer: "http:\/\/r\.test\/\\x1b\[31mred\\x7f\\xff\\"q\\\\b"$/m]



=== TEST 13: a Content-Encoding with ESC and the forged line
--- config
    location /v {
        gw_validate_body ../html/body.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
--- more_headers eval
"Content-Type: application/json\nContent-Encoding: gzip\e[31m $::FORGED\e[0m"
--- request
POST /v
{"amount":1}
--- error_code: 415
--- error_log eval
qq{gw_validate: body refused: Content-Encoding "gzip\\x1b[31m $::FORGED\\x1b[0m"}
--- grep_error_log eval
qr/gw_validate: body refused/
--- grep_error_log_out
gw_validate: body refused
