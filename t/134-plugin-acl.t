# vi:ft=perl
#
# The shipped acl plugin (plugins/acl.lua, docs/plugins-shipped.md):
# consumer groups from the consumer's tags (API keys, build/gwctl
# --tags) and from a JWT claim (an array, a space-separated string, a
# nested claim, a namespaced claim name), allow and deny lists (deny
# first), the 403 problem, no identity refused, after authentication
# (a missing key still gets its 401); hostile claims (a number, objects,
# a group that differs in case, more groups than are looked at); configurations
# nginx -t refuses.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::Nginx::Socket 'no_plan';
use Tollgate::Gwctl;
use Tollgate::JWT qw(jwt keys_dir now);
use Tollgate::Plugins qw(plugin_problem_re plugin_nginx_t);
use Tollgate::Redis;

no_shuffle();

our $redis = Tollgate::Redis->start;
our $ctl = Tollgate::Gwctl->new($redis);

$ENV{TEST_NGINX_REDIS_PORT} = $redis->port;
$ENV{TEST_NGINX_KEYS} = keys_dir();

our %key;
$ctl->consumer_add('alice', name => 'Alice', tags => 'eu,internal');
$key{alice} = $ctl->key_create('alice');
$ctl->consumer_add('bob');
$key{bob} = $ctl->key_create('bob');
$ctl->consumer_add('mallory', tags => 'internal,banned');
$key{mallory} = $ctl->key_create('mallory');
$ctl->consumer_add('carl', tags => 'Internal');
$key{carl} = $ctl->key_create('carl');

our %tok;
my $exp = now() + 3600;
$tok{groups} = jwt(alg => 'RS256', payload => { sub => 'u1', exp => $exp,
                                groups => ['staff', 'internal'] });
$tok{scope} = jwt(alg => 'RS256', payload => { sub => 'u2', exp => $exp,
                               scope => 'read internal write' });
$tok{nested} = jwt(alg => 'RS256', payload => { sub => 'u3', exp => $exp,
                                realm_access => { roles => ['internal'] } });
$tok{ns} = jwt(alg => 'RS256', payload => { sub => 'u4', exp => $exp,
                            'https://example.com/roles' => ['internal'] });
$tok{none} = jwt(alg => 'RS256', payload => { sub => 'u5', exp => $exp });
$tok{number} = jwt(alg => 'RS256', payload => { sub => 'u6', exp => $exp, groups => 42 });
$tok{objects} = jwt(alg => 'RS256', payload => { sub => 'u7', exp => $exp,
                                 groups => [{ internal => 1 }, ['internal']] });
$tok{many} = jwt(alg => 'RS256', payload => { sub => 'u8', exp => $exp,
                              groups => [(map { "g$_" } 1 .. 300),
                                         'internal'] });
$tok{banned} = jwt(alg => 'RS256', payload => { sub => 'u9', exp => $exp,
                                groups => ['internal', 'banned'] });

our $refused = plugin_problem_re(403, 'Access denied',
    q{the consumer's groups are not allowed here});
our $anonymous = plugin_problem_re(403, 'Access denied',
    'the request has no authenticated identity');

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my @bad = (
        ['neither allow nor deny', '{"claim":"groups"}', qr{\(root\)}],
        ['an empty group', '{"allow":[""]}', qr{/allow/0}],
        ['a group with a comma', '{"allow":["a,b"]}', qr{/allow/0}],
        ['a group with a space', '{"deny":["a b"]}', qr{/deny/0}],
        ['a group with LF', '{"deny":["a\\nb"]}', qr{/deny/0}],
        ['a claim path of 9', '{"allow":["a"],"claim":'
         . '["a","b","c","d","e","f","g","h","i"]}', qr{/claim}],
        ['a claim of a number', '{"allow":["a"],"claim":1}', qr{/claim}],
        ['an unknown member', '{"allow":["a"],"groups":["b"]}', qr{groups}],
    );

    for my $case (@bad) {
        my ($name, $json, $re) = @$case;
        my ($ok, $out) = plugin_nginx_t('acl', $json);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*acl[^\n]*$re/,
             "the [emerg] line names the plugin and the value: $name");
    }
}

run_tests();

__DATA__

=== TEST 1: consumer tags: allowed, not in the list, denied first, case matters, no key
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_key_auth api;
        gw_plugin acl '{"allow":["internal"],"deny":["banned"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 5]
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{bob}",
 "X-API-Key: $::key{mallory}", "X-API-Key: $::key{carl}", ""]
--- error_code eval
[200, 403, 403, 403, 401]
--- response_body_like eval
["upstream", $::refused, $::refused, $::refused, "key-missing"]
--- no_error_log
[error]



=== TEST 2: a deny-only list
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
    gw_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /t {
        gw_key_auth api;
        gw_plugin acl '{"deny":["banned"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 3]
--- more_headers eval
["X-API-Key: $::key{alice}", "X-API-Key: $::key{bob}",
 "X-API-Key: $::key{mallory}"]
--- error_code eval
[200, 200, 403]
--- no_error_log
[error]



=== TEST 3: JWT claims: an array, a scope string, nested, a namespaced name
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /groups {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin acl '{"allow":["internal"],"deny":["banned"],"claim":"groups"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /scope {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin acl '{"allow":["internal"],"claim":"scope"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /nested {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin acl '{"allow":["internal"],"claim":["realm_access","roles"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /ns {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin acl '{"allow":["internal"],"claim":"https://example.com/roles"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
["GET /groups", "GET /scope", "GET /nested", "GET /ns", "GET /groups",
 "GET /scope", "GET /nested"]
--- more_headers eval
["Authorization: Bearer $::tok{groups}", "Authorization: Bearer $::tok{scope}",
 "Authorization: Bearer $::tok{nested}", "Authorization: Bearer $::tok{ns}",
 "Authorization: Bearer $::tok{banned}", "Authorization: Bearer $::tok{groups}",
 "Authorization: Bearer $::tok{scope}"]
--- error_code eval
[200, 200, 200, 200, 403, 403, 403]
--- no_error_log
[error]



=== TEST 4: hostile claims: absent, a number, objects, 300 groups (past the 256 looked at) before the one allowed
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_plugin acl '{"allow":["internal"],"claim":"groups"}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request eval
[("GET /t") x 4]
--- more_headers eval
["Authorization: Bearer $::tok{none}", "Authorization: Bearer $::tok{number}",
 "Authorization: Bearer $::tok{objects}", "Authorization: Bearer $::tok{many}"]
--- error_code eval
[403, 403, 403, 403]
--- response_body_like eval
[$::refused, $::refused, $::refused, $::refused]
--- no_error_log
[error]



=== TEST 5: no authentication in front: no identity, refused
--- http_config
    gw_plugin_path $TEST_NGINX_PLUGINS trusted;
--- config
    location /t {
        gw_plugin acl '{"deny":["banned"]}';
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location /up {
        return 200 "upstream\n";
    }
--- request
GET /t
--- error_code: 403
--- response_body_like eval
$::anonymous
--- error_log
no consumer or claims: denied
--- no_error_log
[error]
