# vi:ft=perl
#
# The shipped cors plugin (plugins/cors.lua, docs/plugins-shipped.md):
# preflights answered before authentication (204 with the allowed origin,
# methods, headers, max age and Vary; a 403 problem without any CORS
# header for an origin not allowed), actual responses (the origin echoed
# with Vary: Origin, credentials, exposed headers, "*"), and the attacks:
# an origin differing only in case or by a trailing dot, Origin given
# twice, an upstream's own permissive headers, hostile
# Access-Control-Request-Headers; configurations nginx -t refuses, with
# the JSON pointer of the bad value.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(keys_dir);
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);

no_shuffle();

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $forbidden = plugin_problem_re(403, 'Origin not allowed');

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['"*" with credentials', '{"origins":["*"],"credentials":true}',
         qr{/origins}],
        ['an origin in capitals', '{"origins":["https://App.example"]}',
         qr{/origins/0}],
        ['an origin with a trailing dot',
         '{"origins":["https://app.example."]}', qr{/origins/0}],
        ['an origin with a path', '{"origins":["https://app.example/"]}',
         qr{/origins/0}],
        ['an origin with the default port',
         '{"origins":["https://app.example:443"]}', qr{/origins/0}],
        ['the origin "null"', '{"origins":["null"]}', qr{/origins/0}],
        ['no origins', '{"origins":[]}', qr{/origins}],
        ['CR LF in an exposed header',
         '{"origins":["https://a.example"],'
         . '"exposed_headers":["X-A\\r\\nSet-Cookie: x=1"]}',
         qr{/exposed_headers/0}],
        ['max_age past a day',
         '{"origins":["https://a.example"],"max_age":86401}',
         qr{/max_age}],
        ['a member the schema lacks',
         '{"origins":["https://a.example"],"origin":"x"}', qr{origin}],
        ['a lowercase method', '{"origins":["https://a.example"],'
         . '"methods":["get"]}', qr{/methods/0}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('cors', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*cors[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }

    my ($ok, $out) = plugin_nginx_t('cors',
        '{"origins":["https://a.example","http://localhost:8080",'
        . '"http://[::1]:3000","capacitor://localhost"],'
        . '"methods":["GET","POST"],"headers":["Content-Type"],'
        . '"exposed_headers":["X-Request-ID"],"credentials":true,'
        . '"max_age":0}');
    ok($ok, 'nginx -t passes: every member') or diag($out);
}

run_tests();

__DATA__

=== TEST 1: a preflight from an allowed origin: 204 before the upstream
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"],"credentials":true,"max_age":300,"exposed_headers":["X-Request-ID"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request
OPTIONS /api/items
--- more_headers
Origin: https://app.example
Access-Control-Request-Method: PUT
Access-Control-Request-Headers: content-type, x-trace
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://app.example
Access-Control-Allow-Credentials: true
Access-Control-Allow-Methods: GET, HEAD, PUT, PATCH, POST, DELETE
Access-Control-Allow-Headers: content-type, x-trace
Access-Control-Max-Age: 300
Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers
--- response_body
--- no_error_log
[error]



=== TEST 2: a preflight from an origin not allowed: 403 problem, no CORS header
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request
OPTIONS /api/items
--- more_headers
Origin: https://evil.example
Access-Control-Request-Method: DELETE
--- error_code: 403
--- response_headers
Content-Type: application/problem+json
--- raw_response_headers_unlike: (?i)access-control-
--- response_body_like eval
$::forbidden
--- error_log
preflight from an origin not allowed
--- no_error_log
[error]



=== TEST 3: the same origin in other letters, or with a trailing dot, is another origin
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"],"credentials":true}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request eval
["GET /api/a", "GET /api/a", "OPTIONS /api/a", "GET /api/a"]
--- more_headers eval
["Origin: https://APP.example",
 "Origin: https://app.example.",
 "Origin: https://app.example.\nAccess-Control-Request-Method: GET",
 "Origin: https://app.example:443"]
--- error_code eval
[200, 200, 403, 200]
--- raw_response_headers_unlike eval
["(?i)access-control-allow", "(?i)access-control-allow",
 "(?i)access-control-allow", "(?i)access-control-allow"]
--- response_body_like eval
["upstream", "upstream", "Origin not allowed", "upstream"]
--- no_error_log
[error]



=== TEST 4: an actual request from an allowed origin: echoed, with Vary, credentials, exposed headers
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://a.example","https://app.example"],"credentials":true,"exposed_headers":["X-Request-ID","X-Total"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        add_header Vary Accept-Encoding;
        return 200 "upstream\n";
    }
--- request
GET /api/items
--- more_headers
Origin: https://app.example
--- response_headers
Access-Control-Allow-Origin: https://app.example
Access-Control-Allow-Credentials: true
Access-Control-Expose-Headers: X-Request-ID, X-Total
--- raw_response_headers_like: (?mi)^vary: accept-encoding\r\n(?:.*\r\n)*?vary: origin\r\n
--- response_body
upstream
--- no_error_log
[error]



=== TEST 5: Origin given twice: no CORS headers, even with an allowed first copy
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request eval
["GET /api/a", "OPTIONS /api/a"]
--- more_headers eval
["Origin: https://app.example\nOrigin: https://evil.example",
 "Origin: https://app.example\nOrigin: https://evil.example\nAccess-Control-Request-Method: GET"]
--- error_code eval
[200, 403]
--- raw_response_headers_unlike eval
["(?i)access-control-allow", "(?i)access-control-allow"]
--- no_error_log
[error]



=== TEST 6: a request without Origin: no CORS headers but Vary: Origin (caches)
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request
GET /api/a
--- response_headers
Vary: Origin
--- raw_response_headers_unlike: (?i)access-control-
--- response_body
upstream
--- no_error_log
[error]



=== TEST 7: "*": every origin gets "*", never an echo, and no Vary
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["*"],"methods":["GET"],"headers":["Content-Type"],"max_age":0}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request eval
["GET /api/a", "GET /api/a", "OPTIONS /api/a"]
--- more_headers eval
["Origin: https://anyone.example", "",
 "Origin: null\nAccess-Control-Request-Method: GET\nAccess-Control-Request-Headers: x-evil"]
--- error_code eval
[200, 200, 204]
--- response_headers eval
["Access-Control-Allow-Origin: *\n!Access-Control-Allow-Credentials",
 "Access-Control-Allow-Origin: *",
 "Access-Control-Allow-Origin: *\nAccess-Control-Allow-Methods: GET\nAccess-Control-Allow-Headers: Content-Type\nAccess-Control-Max-Age: 0"]
--- raw_response_headers_unlike eval
["(?i)vary: origin", "(?i)vary: origin", "(?i)x-evil"]
--- no_error_log
[error]



=== TEST 8: requested headers are echoed only when they are a list of names of at most 1024 bytes
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request eval
["OPTIONS /api/a", "OPTIONS /api/a", "OPTIONS /api/a"]
--- more_headers eval
["Origin: https://app.example\nAccess-Control-Request-Method: GET\nAccess-Control-Request-Headers: x-a\"<script>",
 "Origin: https://app.example\nAccess-Control-Request-Method: GET\nAccess-Control-Request-Headers: " . ("x" x 1025),
 "Origin: https://app.example\nAccess-Control-Request-Method: GET\nAccess-Control-Request-Headers: " . ("x" x 1024)]
--- error_code eval
[204, 204, 204]
--- raw_response_headers_unlike eval
["(?i)access-control-allow-headers", "(?i)access-control-allow-headers",
 "(?i)access-control-allow-headers: x{1025}"]
--- response_headers eval
["", "", "Access-Control-Allow-Headers: " . ("x" x 1024)]
--- no_error_log
[error]



=== TEST 9: a disallowed origin gets none of the upstream's own CORS headers
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        add_header Access-Control-Allow-Origin $http_origin;
        add_header Access-Control-Allow-Credentials true;
        return 200 "upstream\n";
    }
--- request eval
["GET /api/a", "GET /api/a"]
--- more_headers eval
["Origin: https://evil.example", "Origin: https://app.example"]
--- raw_response_headers_unlike eval
["(?i)access-control-allow", "(?i)access-control-allow-origin:[^\\n]*\\n(?:.*\\n)*access-control-allow-origin:"]
--- response_headers eval
["", "Access-Control-Allow-Origin: https://app.example"]
--- no_error_log
[error]



=== TEST 10: a preflight is answered before authentication; the 401 of an actual request still carries CORS headers
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin cors '{"origins":["https://app.example"],"credentials":true}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream\n";
    }
--- request eval
["OPTIONS /api/a", "GET /api/a"]
--- more_headers eval
["Origin: https://app.example\nAccess-Control-Request-Method: GET\nAccess-Control-Request-Headers: authorization",
 "Origin: https://app.example"]
--- error_code eval
[204, 401]
--- response_headers eval
["Access-Control-Allow-Origin: https://app.example\nAccess-Control-Allow-Headers: authorization",
 "Access-Control-Allow-Origin: https://app.example\nAccess-Control-Allow-Credentials: true"]
--- no_error_log
[error]



=== TEST 11: OPTIONS without Access-Control-Request-Method is not a preflight: the upstream answers
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /api/ {
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
    }
    location /up/ {
        return 200 "upstream $request_method\n";
    }
--- request
OPTIONS /api/a
--- more_headers
Origin: https://app.example
--- response_headers
Access-Control-Allow-Origin: https://app.example
--- response_body
upstream OPTIONS
--- no_error_log
[error]
