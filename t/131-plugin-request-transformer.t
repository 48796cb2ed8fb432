# vi:ft=perl
#
# The shipped request-transformer plugin (plugins/request-transformer.lua,
# docs/plugins-shipped.md): request headers removed, renamed (every copy),
# replaced, added and appended; query arguments rewritten as text (a name
# percent-encoded still matches, the other arguments kept byte for byte);
# JSON body members; bodies that cannot be rewritten refused (or passed,
# body_failure "pass"); values at the caps; configurations nginx -t
# refuses (CR/LF in a value, framing headers, caps).  The upstream is
# Tollgate::Echo, which answers with the request line and the header
# lines it received; bodies reach /sink through a header of /up.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::Echo;
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);

no_shuffle();

our $echo = Tollgate::Echo->start;
$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;

our $v2048 = 'v' x 2048;

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['CR LF in a header value',
         '{"add":{"headers":{"X-A":"a\\r\\nX-Injected: 1"}}}',
         qr{/add/headers/X-A}],
        ['LF in a query value', '{"add":{"query":{"a":"b\\nc"}}}',
         qr{/add/query/a}],
        ['Content-Length', '{"add":{"headers":{"content-length":"0"}}}',
         qr{/add/headers}],
        ['Transfer-Encoding renamed to',
         '{"rename":{"headers":{"X-A":"Transfer-Encoding"}}}',
         qr{/rename/headers/X-A}],
        ['a header name with a space',
         '{"remove":{"headers":["X A"]}}', qr{/remove/headers/0}],
        ['a header value past 2048 bytes',
         '{"add":{"headers":{"X-A":"' . ('v' x 2049) . '"}}}',
         qr{/add/headers/X-A}],
        ['append to the body', '{"append":{"body":{"a":"b"}}}',
         qr{/append}],
        ['an unknown operation', '{"set":{"headers":{"a":"b"}}}',
         qr{set}],
        ['a bad body_failure', '{"body_failure":"maybe"}',
         qr{/body_failure}],
        ['33 removals', '{"remove":{"headers":['
         . join(',', map { "\"X-$_\"" } 1 .. 33) . ']}}',
         qr{/remove/headers}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('request-transformer', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*request-transformer[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }
}

run_tests();

__DATA__

=== TEST 1: headers: remove (every copy), rename (every copy), replace, add, append
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"headers":["X-Secret"]},"rename":{"headers":{"X-Old":"X-New"}},"replace":{"headers":{"X-Rep":"replaced","X-Absent":"no"}},"add":{"headers":{"X-Added":"yes","X-Rep":"not added"}},"append":{"headers":{"X-List":"third"}}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- more_headers
X-Secret: one
x-secret: two
X-Old: a
X-Old: b
X-Rep: original
X-List: first
--- response_body_like eval
qr/\A(?=(?:.*\n)?X-New:[ ]a\n(?:.*\n)?X-New:[ ]b\n)
    (?=(?:.*\n)?X-Rep:[ ]replaced\n)
    (?=(?:.*\n)?X-Added:[ ]yes\n)
    (?=(?:.*\n)?X-List:[ ]first\n(?:.*\n)?X-List:[ ]third\n)
    (?!(?:.*\n)?(?i:x-secret|x-old|x-absent):)
    (?!(?:.*\n)?X-Rep:[ ]original)/sx
--- no_error_log
[error]



=== TEST 2: query: a percent-encoded name is removed too, others kept byte for byte
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"query":["admin"]},"rename":{"query":{"q":"search"}},"replace":{"query":{"page":"1"}},"add":{"query":{"v":"2 & more"}},"append":{"query":{"tag":"x"}}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t?admin=1&q=a%20b&%61dmin=2&page=9&keep=%41+b&flag&ad%6Din&tag=w
--- response_body_like eval
qr{\AGET /t\?search=a%20b&page=1&keep=%41\+b&flag&tag=w&v=2%20%26%20more&tag=x HTTP/1\.[01]\n}
--- no_error_log
[error]



=== TEST 3: a JSON body: members removed, renamed, replaced, added; Content-Length follows
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"body":["is_admin"]},"rename":{"body":{"user":"username"}},"replace":{"body":{"plan":"free"}},"add":{"body":{"source":"gateway","n":3,"flag":true}}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        proxy_set_header X-Body $request_body;
        proxy_set_header X-Len $content_length;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location /sink {
        return 200 "$http_x_len $http_x_body\n";
    }
--- request
POST /t
{"user":"alice","is_admin":true,"plan":"gold","keep":[1,2]}
--- more_headers
Content-Type: application/json; charset=utf-8
--- response_body_like eval
qr/\A(\d+)[ ](?=.*"username":\s*"alice")(?=.*"plan":\s*"free")
    (?=.*"source":\s*"gateway")(?=.*"n":\s*3[,}])(?=.*"flag":\s*true)
    (?=.*"keep":\s*\[\s*1,\s*2\s*\])(?!.*is_admin)(?!.*"user")
    (\{.*\})\n\z(??{ length($2) == $1 ? '' : '(*FAIL)' })/sx
--- no_error_log
[error]



=== TEST 4: a body that is not a JSON object, or holds a long number: 400, never forwarded
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"body":["is_admin"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["POST /t\n{\"is_admin\":true,", "POST /t\n[{\"is_admin\":true}]",
 "POST /t\n{\"id\":12345678901234567,\"is_admin\":true}"]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[("Body not rewritable") x 3]
--- error_log eval
qr/body not rewritten: (?:not a JSON object|a number of 16 digits or more)/
--- no_error_log
[error]



=== TEST 5: sixteen digits inside a string are not a number: rewritten
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"body":["is_admin"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location /sink {
        return 200 "$http_x_body\n";
    }
--- request
POST /t
{"card":"4111111111111111","is_admin":true,"q":"a\"1234567890123456\""}
--- more_headers
Content-Type: application/json
--- response_body_like eval
qr/\A\{(?=.*"card":"4111111111111111")(?!.*is_admin).*\}\n\z/
--- no_error_log
[error]



=== TEST 6: a body past gw_plugin_body_max: 413 (body_failure reject), unchanged with "pass"
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_plugin_body_max 64;
--- config
    location /reject {
        gw_plugin request-transformer '{"remove":{"body":["is_admin"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /pass {
        gw_plugin request-transformer '{"remove":{"body":["is_admin"]},"body_failure":"pass"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location /sink {
        return 200 "$http_x_body\n";
    }
--- request eval
my $body = '{"is_admin":true,"pad":"' . ('x' x 100) . '"}';
["POST /reject\n$body", "POST /pass\n$body"]
--- more_headers
Content-Type: application/json
--- error_code eval
[413, 200]
--- response_body_like eval
["Body too large", "is_admin"]
--- no_error_log
[error]



=== TEST 7: a body of another media type is not looked at
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"body":["is_admin"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        proxy_set_header X-Body $request_body;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location /sink {
        return 200 "$http_x_body\n";
    }
--- request
POST /t
is_admin=true
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body
is_admin=true
--- no_error_log
[error]



=== TEST 8: a header value of 2048 bytes (the cap) is added whole
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config eval
"location /t {
    gw_plugin request-transformer '{\"add\":{\"headers\":{\"X-Big\":\"$::v2048\"}}}';
    proxy_pass http://127.0.0.1:\$TEST_NGINX_ECHO_PORT;
}"
--- request
GET /t
--- response_body_like eval
qr/\nX-Big: v{2048}\n/
--- no_error_log
[error]



=== TEST 9: a renamed header keeps its value byte for byte, the old name goes
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"rename":{"headers":{"X-In":"X-Out"}}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t
--- more_headers
X-In: a b
--- response_body_like eval
qr/\nX-Out: a b\n(?!.*X-In)/s
--- no_error_log
[error]



=== TEST 10: client bytes a query may not hold are percent-encoded when the query is rebuilt
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin request-transformer '{"remove":{"query":["admin"]}}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT;
    }
--- request
GET /t?a=%zz&b="x"&admin=1&c=%4&d=a|b
--- response_body_like eval
qr{\AGET /t\?a=%25zz&b=%22x%22&c=%254&d=a%7Cb HTTP/1\.[01]\n}
--- no_error_log
[error]
