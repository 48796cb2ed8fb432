# vi:ft=perl
#
# The shipped request-termination plugin
# (plugins/request-termination.lua, docs/plugins-shipped.md): the default
# 503 problem, a status and message of the operator's with Retry-After,
# a body with its content type, an empty answer, no upstream reached and
# no authentication asked for (early); configurations nginx -t refuses
# (CR/LF in the content type or the message, body with message, a body
# with 204, a message with a status below 400).

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(keys_dir);
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);

no_shuffle();

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $unavailable = plugin_problem_re(503, 'Service unavailable',
                                     'the service is not available');
our $retired = $::retired;

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['CR LF in the content type',
         '{"body":"x","content_type":"text/html\\r\\nSet-Cookie: a=b"}',
         qr{/content_type}],
        ['LF in the message', '{"message":"a\\nb"}', qr{/message}],
        ['a body and a message', '{"body":"x","message":"y"}', qr{}],
        ['a content type without a body',
         '{"content_type":"text/html"}', qr{content_type|body}],
        ['a body with 204', '{"status":204,"body":"x"}', qr{}],
        ['a message with 200', '{"status":200,"message":"x"}',
         qr{/status}],
        ['status 600', '{"status":600}', qr{/status}],
        ['status 199', '{"status":199}', qr{/status}],
        ['retry_after past a week', '{"retry_after":604801}',
         qr{/retry_after}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('request-termination', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*request-termination[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }
}

run_tests();

__DATA__

=== TEST 1: the default: a 503 problem, before authentication, no upstream
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin request-termination '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request
POST /t
{"a":1}
--- error_code: 503
--- response_headers
Content-Type: application/problem+json
--- response_body_like eval
$::unavailable
--- no_error_log
[error]



=== TEST 2: a status, title and message of the operator's, with Retry-After
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-termination '{"status":410,"title":"Retired","message":"use /v2 instead","retry_after":3600}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request
GET /t
--- error_code: 410
--- response_headers
Retry-After: 3600
--- response_body_like eval
$::retired
--- no_error_log
[error]



=== TEST 3: a body with its content type; an empty answer
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /html {
        gw_plugin request-termination '{"status":503,"body":"<h1>Back soon</h1>\\n","content_type":"text/html; charset=utf-8","retry_after":60}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /empty {
        gw_plugin request-termination '{"status":204}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /html", "GET /empty"]
--- error_code eval
[503, 204]
--- response_headers eval
["Content-Type: text/html; charset=utf-8\nRetry-After: 60", ""]
--- response_body eval
["<h1>Back soon</h1>\n", ""]
--- no_error_log
[error]



=== TEST 4: beside cors: the preflight is cors's 204, the maintenance answer carries CORS headers
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-termination '{"message":"maintenance"}';
        gw_plugin cors '{"origins":["https://app.example"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["OPTIONS /t", "GET /t"]
--- more_headers eval
["Origin: https://app.example\nAccess-Control-Request-Method: GET",
 "Origin: https://app.example"]
--- error_code eval
[204, 503]
--- response_headers eval
["Access-Control-Allow-Origin: https://app.example",
 "Access-Control-Allow-Origin: https://app.example\nVary: Origin"]
--- response_body_like eval
["\\A\\z", "maintenance"]
--- no_error_log
[error]
