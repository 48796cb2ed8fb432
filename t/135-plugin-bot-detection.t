# vi:ft=perl
#
# The shipped bot-detection plugin (plugins/bot-detection.lua,
# docs/plugins-shipped.md): the built-in list of crawlers and scanners
# (HTTP libraries pass), deny and allow lists of substrings (any case) or
# Lua patterns (anchored), allow first, a missing User-Agent, the cap on
# the bytes looked at (a deny word past it is not seen, a pathological
# pattern stays cheap), before authentication; configurations nginx -t
# refuses.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(keys_dir);
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);

no_shuffle();

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $denied = plugin_problem_re(403, 'Client not allowed');

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['an empty entry', '{"deny":[""]}', qr{/deny/0}],
        ['an entry with LF', '{"deny":["a\\nb"]}', qr{/deny/0}],
        ['an entry past 128 bytes', '{"deny":["' . ('a' x 129) . '"]}',
         qr{/deny/0}],
        ['a pattern with three quantifiers',
         '{"patterns":true,"deny":["a.-b.-c.-"]}', qr{/deny/0}],
        ['patterns looking at 257 bytes',
         '{"patterns":true,"deny":["a"],"max_length":257}', qr{/max_length}],
        ['max_length below 64', '{"max_length":63}', qr{/max_length}],
        ['max_length past 1024', '{"max_length":1025}', qr{/max_length}],
        ['a bad missing', '{"missing":"block"}', qr{/missing}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('bot-detection', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*bot-detection[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }

    my ($ok, $out) = plugin_nginx_t('bot-detection', '{}');
    ok($ok, 'nginx -t passes: {} (the built-in list)') or diag($out);
}

run_tests();

__DATA__

=== TEST 1: the built-in list: crawlers and scanners refused, libraries and browsers pass
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin bot-detection '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 7]
--- more_headers eval
["User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
 "User-Agent: sqlmap/1.7#stable (https://sqlmap.org)",
 "User-Agent: Mozilla/5.0 (compatible; GPTBot/1.0)",
 "User-Agent: curl/8.5.0",
 "User-Agent: python-requests/2.31",
 "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
 ""]
--- error_code eval
[403, 403, 403, 200, 200, 200, 200]
--- response_body_like eval
[$::denied, $::denied, $::denied, "upstream", "upstream", "upstream",
 "upstream"]
--- no_error_log
[error]



=== TEST 2: substrings in any case; allow first; the built-in list off
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin bot-detection '{"deny":["Curl/","EvilScraper"],"allow":["curl/8.5.0-internal"],"builtin":false}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 4]
--- more_headers eval
["User-Agent: curl/8.5.0", "User-Agent: x EVILSCRAPER y",
 "User-Agent: curl/8.5.0-internal", "User-Agent: Googlebot/2.1"]
--- error_code eval
[403, 403, 200, 200]
--- no_error_log
[error]



=== TEST 3: Lua patterns, anchored
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin bot-detection '{"patterns":true,"deny":["^go%-http%-client/","^mozilla/4%.0$"],"builtin":false}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 4]
--- more_headers eval
["User-Agent: Go-http-client/1.1", "User-Agent: my Go-http-client/1.1",
 "User-Agent: Mozilla/4.0", "User-Agent: Mozilla/4.0 (x)"]
--- error_code eval
[403, 200, 403, 200]
--- no_error_log
[error]



=== TEST 4: a missing User-Agent refused with "missing": "deny"; before authentication
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin bot-detection '{"missing":"deny"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t"]
--- more_headers eval
["", "User-Agent: ", "User-Agent: curl/8"]
--- error_code eval
[403, 403, 401]
--- no_error_log
[error]



=== TEST 5: only max_length bytes are looked at; a long User-Agent against a backtracking pattern stays cheap
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin bot-detection '{"deny":["scraper"],"builtin":false,"max_length":64}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /p {
        gw_plugin bot-detection '{"patterns":true,"deny":["a.-a.-b"],"builtin":false}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t", "GET /p"]
--- more_headers eval
["User-Agent: " . ("x" x 64) . "scraper", "User-Agent: " . ("x" x 50) . "scraper",
 "User-Agent: " . ("a" x 4000)]
--- error_code eval
[200, 403, 200]
--- no_error_log
[error]



=== TEST 6: a refusal is said at info
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin bot-detection '{}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request
GET /t
--- more_headers
User-Agent: Nikto/2.5
--- error_code: 403
--- error_log
plugin bot-detection: User-Agent denied
--- no_error_log
[error]
