# vi:ft=perl
#
# The shipped response-transformer plugin
# (plugins/response-transformer.lua, docs/plugins-shipped.md): response
# headers removed, renamed, replaced, added, appended; JSON body members
# rewritten with the length fixed (no stale Content-Length); bodies that
# pass unchanged (not JSON, past body_max, a long number, encoded) and the
# info line saying so; configurations nginx -t refuses.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);

no_shuffle();

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['CR LF in a header value',
         '{"add":{"headers":{"X-A":"a\\r\\nSet-Cookie: s=1"}}}',
         qr{/add/headers/X-A}],
        ['Content-Length', '{"replace":{"headers":{"Content-Length":"1"}}}',
         qr{/replace/headers}],
        ['body_max below 1024', '{"body_max":1023}', qr{/body_max}],
        ['body_max past 8 MiB', '{"body_max":8388609}', qr{/body_max}],
        ['query (a request thing)', '{"remove":{"query":["a"]}}',
         qr{/remove}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('response-transformer', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*response-transformer[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }
}

run_tests();

__DATA__

=== TEST 1: headers: remove, rename, replace, add, append
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin response-transformer '{"remove":{"headers":["X-Powered-By"]},"rename":{"headers":{"X-Old":"X-New"}},"replace":{"headers":{"X-Rep":"replaced"}},"add":{"headers":{"X-Added":"yes","X-Rep":"no"}},"append":{"headers":{"X-List":"two"}}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        add_header X-Powered-By php;
        add_header X-Old a;
        add_header X-Rep original;
        add_header X-List one;
        return 200 "upstream\n";
    }
--- request
GET /t
--- response_headers
X-New: a
X-Rep: replaced
X-Added: yes
!X-Powered-By
!X-Old
--- raw_response_headers_like: (?m)^X-List: one\r\n(?:.*\r\n)*?X-List: two\r\n
--- response_body
upstream
--- no_error_log
[error]



=== TEST 2: a JSON body rewritten; the length is the new body's
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin response-transformer '{"remove":{"body":["password"]},"rename":{"body":{"uid":"id"}},"replace":{"body":{"role":"user"}},"add":{"body":{"v":2}}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        default_type application/json;
        return 200 '{"uid":7,"password":"hunter2","role":"admin","list":[1,2,{"a":null}]}';
    }
--- request
GET /t
--- response_headers
Content-Type: application/json
--- raw_response_headers_unlike: (?i)content-length: 6[0-9]\r
--- response_body_like eval
qr/\A\{(?=.*"id":\s*7[,}])(?=.*"role":\s*"user")(?=.*"v":\s*2[,}])
    (?=.*"list":\s*\[1,\s*2,\s*\{"a":\s*null\}\])(?!.*password)(?!.*uid).*\}\z/sx
--- no_error_log
[error]



=== TEST 3: a long number, past body_max: unchanged, said at info; not JSON: unchanged
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin response-transformer '{"remove":{"body":["password"]},"body_max":1024}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up$arg_u;
    }
    location /up1 {
        default_type application/json;
        return 200 '{"id":90071992547409931,"password":"x"}';
    }
    location /up2 {
        default_type application/json;
        root html;
        try_files /big.json =404;
    }
--- user_files eval
">>> big.json\n{\"password\":\"x\",\"pad\":\"" . ('p' x 2000) . "\"}"
--- request eval
["GET /t?u=1", "GET /t?u=2"]
--- response_body_like eval
['\A\{"id":90071992547409931,"password":"x"\}\z',
 '\A\{"password":"x","pad":"p{2000}"\}\n?\z']
--- error_log eval
qr/body not rewritten: (?:a number of 16 digits or more|too large)/
--- no_error_log
[error]



=== TEST 4: a body of another media type passes unchanged
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin response-transformer '{"remove":{"body":["password"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        default_type text/plain;
        return 200 '{"password":"x"}';
    }
--- request
GET /t
--- response_body: {"password":"x"}
--- no_error_log
[error]



=== TEST 5: a body past body_max without Content-Length passes whole, in order
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin response-transformer '{"remove":{"body":["password"]},"body_max":1024}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        default_type application/json;
        ssi on;
        ssi_types application/json;
        root html;
        try_files /big.json =404;
    }
--- user_files eval
">>> big.json\n{\"password\":\"x\",\"pad\":\"" . ('0123456789' x 300) . "\"}"
--- request
GET /t
--- response_body_like eval
qr/\A\{"password":"x","pad":"(?:0123456789){300}"\}\n?\z/
--- error_log
body not rewritten: larger than 1024 bytes
--- no_error_log
[error]



=== TEST 6: a HEAD request and a 204 are left alone
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin response-transformer '{"remove":{"body":["password"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up$arg_u;
    }
    location /up1 {
        default_type application/json;
        return 200 '{"password":"x"}';
    }
    location /up2 {
        return 204;
    }
--- request eval
["HEAD /t?u=1", "GET /t?u=2"]
--- error_code eval
[200, 204]
--- response_body eval
["", ""]
--- no_error_log
[error]
