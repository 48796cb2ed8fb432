# vi:ft=perl
#
# The shipped ip-restriction plugin (plugins/ip-restriction.lua,
# docs/plugins-shipped.md): allow and deny lists of IPv4 and IPv6 blocks
# (the most specific rule decides, deny at a tie), IPv4-mapped IPv6, a
# 403 problem before authentication; behind trusted proxies, the
# X-Forwarded-For walk from the right and its attacks: a spoofed chain, a
# header given twice, an untrusted peer's header, malformed entries,
# ports and zones; IPv6 prefix bounds (/0, /128 pass, /129 refused) and
# the other configurations nginx -t refuses.  The test client is
# 127.0.0.1; IPv6 clients come through a trusted 127.0.0.1.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(keys_dir);
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);

no_shuffle();

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $denied = plugin_problem_re(403, 'Address not allowed');

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['an IPv6 prefix of 129', '{"allow":["2001:db8::/129"]}',
         qr{/allow/0}],
        ['an IPv4 prefix of 33', '{"deny":["10.0.0.0/33"]}', qr{/deny/0}],
        ['an octet of 256', '{"deny":["10.0.0.256"]}', qr{/deny/0}],
        ['a leading zero', '{"deny":["10.0.0.010"]}', qr{/deny/0}],
        ['two "::"', '{"allow":["1::2::3"]}', qr{/allow/0}],
        ['nine groups', '{"allow":["1:2:3:4:5:6:7:8:9"]}', qr{/allow/0}],
        ['a zone', '{"allow":["fe80::1%eth0"]}', qr{/allow/0}],
        ['a name', '{"allow":["localhost"]}', qr{/allow/0}],
        ['a trailing LF', '{"allow":["10.0.0.1\\n"]}', qr{/allow/0}],
        ['a bad proxy', '{"allow":["10.0.0.0/8"],'
         . '"trusted_proxies":["10.0.0.0/8 "]}', qr{/trusted_proxies/0}],
        ['neither allow nor deny', '{"trusted_proxies":["10.0.0.0/8"]}',
         qr{\(root\)}],
        ['an empty allow', '{"allow":[]}', qr{/allow}],
        ['a bad forwarded_header', '{"allow":["::/0"],'
         . '"forwarded_header":"X-F\\r\\nX"}', qr{/forwarded_header}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('ip-restriction', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*ip-restriction[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }

    for my $json ('{"allow":["::/0"]}', '{"allow":["::1/128"]}',
                  '{"deny":["0.0.0.0/0","::ffff:0:0/96"]}',
                  '{"allow":["2001:db8::1.2.3.4/120","1:2:3:4:5:6:7:8"]}')
    {
        my ($ok, $out) = plugin_nginx_t('ip-restriction', $json);
        ok($ok, "nginx -t passes: $json") or diag($out);
    }
}

run_tests();

__DATA__

=== TEST 1: allow lists: the client 127.0.0.1 in and out; a 403 problem
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /in {
        gw_plugin ip-restriction '{"allow":["127.0.0.0/8"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /out {
        gw_plugin ip-restriction '{"allow":["10.0.0.0/8","2001:db8::/32"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /in", "GET /out"]
--- error_code eval
[200, 403]
--- response_body_like eval
["upstream", $::denied]
--- no_error_log
[error]



=== TEST 2: the most specific rule decides; deny wins a tie; IPv4-mapped rules hold IPv4 clients
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /a {
        gw_plugin ip-restriction '{"deny":["127.0.0.0/8"],"allow":["127.0.0.1/32"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /b {
        gw_plugin ip-restriction '{"allow":["127.0.0.0/8"],"deny":["127.0.0.1"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /c {
        gw_plugin ip-restriction '{"allow":["127.0.0.1"],"deny":["127.0.0.1/32"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /d {
        gw_plugin ip-restriction '{"deny":["::ffff:127.0.0.0/104"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /e {
        gw_plugin ip-restriction '{"deny":["::/0"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /f {
        gw_plugin ip-restriction '{"deny":["2001:db8::/32","0.0.0.0/1"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /a", "GET /b", "GET /c", "GET /d", "GET /e", "GET /f"]
--- error_code eval
[200, 403, 403, 403, 403, 403]
--- no_error_log
[error]



=== TEST 3: behind a trusted proxy: the walk from the right, IPv6 clients, bounds
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin ip-restriction '{"allow":["203.0.113.0/24","2001:db8::/32","2001:db8:1::1/128"],"deny":["2001:db8:dead::/48"],"trusted_proxies":["127.0.0.1","10.0.0.0/8","fd00::/8"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 12]
--- more_headers eval
["X-Forwarded-For: 203.0.113.9",
 "X-Forwarded-For: 203.0.113.9, 10.1.1.1, fd00::5",
 "X-Forwarded-For: 2001:db8:ffff::1",
 "X-Forwarded-For: ::ffff:203.0.113.7",
 "X-Forwarded-For: 2001:db8:dead:1::1",
 "X-Forwarded-For: 2001:db9::1",
 "X-Forwarded-For: 2001:0db8:0000:0000:0000:0000:0000:0001",
 "X-Forwarded-For: 198.51.100.1",
 "X-Forwarded-For: 203.0.113.9, 198.51.100.1",
 "X-Forwarded-For: 203.0.113.300",
 "X-Forwarded-For: 10.0.0.1, 127.0.0.1",
 ""]
--- error_code eval
[200, 200, 200, 200, 403, 403, 200, 403, 403, 403, 403, 403]
--- no_error_log
[error]



=== TEST 4: spoofed chains: the client's own entries left of an untrusted hop count for nothing
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin ip-restriction '{"allow":["10.0.0.0/8"],"trusted_proxies":["127.0.0.1"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /untrusted {
        gw_plugin ip-restriction '{"allow":["10.0.0.0/8"],"trusted_proxies":["192.0.2.1"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /untrusted"]
--- more_headers eval
["X-Forwarded-For: 10.0.0.1, 198.51.100.7",
 "X-Forwarded-For: 10.0.0.1\nX-Forwarded-For: 198.51.100.7",
 "X-Forwarded-For: 198.51.100.7\nX-Forwarded-For: 10.0.0.1",
 "X-Forwarded-For: 10.0.0.1"]
--- error_code eval
[403, 403, 200, 403]
--- no_error_log
[error]



=== TEST 5: malformed entries make the client unknown: denied, even by a deny-only list
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin ip-restriction '{"deny":["198.51.100.0/24"],"trusted_proxies":["127.0.0.1"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 8]
--- more_headers eval
["X-Forwarded-For: unknown",
 "X-Forwarded-For: 203.0.113.1:8080",
 "X-Forwarded-For: [2001:db8::1]",
 "X-Forwarded-For: fe80::1%eth0",
 "X-Forwarded-For: 203.0.113.1,",
 "X-Forwarded-For: ,",
 "X-Forwarded-For: 0x7f.1",
 "X-Forwarded-For: " . ("1" x 46)]
--- error_code eval
[403, 403, 403, 403, 403, 403, 403, 403]
--- error_log
client address unknown: denied
--- no_error_log
[error]



=== TEST 6: a long chain: only the trusted hops on the right are read
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin ip-restriction '{"allow":["203.0.113.0/24"],"trusted_proxies":["127.0.0.1","10.0.0.0/8"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["X-Forwarded-For: " . join(", ", ("garbage") x 500, "203.0.113.5", "10.0.0.1"),
 "X-Forwarded-For: " . join(", ", "203.0.113.5", ("10.0.0.1") x 40)]
--- error_code eval
[200, 403]
--- no_error_log
[error]



=== TEST 7: early: the 403 comes before authentication
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin ip-restriction '{"deny":["127.0.0.1"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request
GET /t
--- error_code: 403
--- response_body_like eval
$::denied
--- no_error_log
[error]
