# vi:ft=perl
#
# JWT authentication: claims as variables ($gw_jwt_sub, $gw_jwt_alg,
# $gw_jwt_kid, $gw_jwt_claim_<name>, gw_jwt_claim_var with nested paths
# and escaped dots, arrays joined by gw_jwt_claim_separator, numbers,
# booleans, null, objects) and as upstream request headers
# (gw_jwt_claim_header), where a header of the same name sent by the
# client must never reach the upstream.  The upstream location echoes
# what it received.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $now = now();
our %tok;

my %claims = (
    sub          => 'alice',
    exp          => $now + 3600,
    email        => 'alice@example.com',
    age          => 42,
    ratio        => 1.5,
    admin        => JSON::PP::true,
    banned       => JSON::PP::false,
    nothing      => undef,
    groups       => ['dev', 'ops'],
    empty        => [],
    realm_access => { roles => ['user', 'admin'] },
    address      => { city => 'Paris', zip => '75001' },
    name         => "Jos\x{e9}",
    'https://example.com/tenant' => 'acme',
    'a.b'        => 'dotted',
    a            => { b => 'nested' },
);

$tok{full} = jwt(alg => 'RS256', kid => 'k1', payload => \%claims);
$tok{bare} = jwt(alg => 'RS256', payload => { exp => $now + 3600 });
$tok{crlf} = jwt(alg => 'RS256',
                 payload => { exp => $now + 3600,
                              sub => "alice\r\nX-Injected: yes" });
$tok{nul}  = jwt(alg => 'RS256',
                 payload => { exp => $now + 3600, sub => "alice\x00admin" });
$tok{expired} = jwt(alg => 'RS256',
                    payload => { %claims, exp => $now - 600 });

run_tests();

__DATA__

=== TEST 1: $gw_jwt_sub, $gw_jwt_alg, $gw_jwt_kid
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem kid=k1;
        proxy_set_header X-Vars "sub=$gw_jwt_sub alg=$gw_jwt_alg kid=$gw_jwt_kid";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
sub=alice alg=RS256 kid=k1
--- no_error_log
[error]



=== TEST 2: $gw_jwt_claim_<name>: strings, numbers, booleans, null, missing
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "email=$gw_jwt_claim_email age=$gw_jwt_claim_age ratio=$gw_jwt_claim_ratio admin=$gw_jwt_claim_admin banned=$gw_jwt_claim_banned nothing=[$gw_jwt_claim_nothing] missing=[$gw_jwt_claim_missing]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
email=alice@example.com age=42 ratio=1.5 admin=true banned=false nothing=[] missing=[]
--- no_error_log
[error]



=== TEST 3: a UTF-8 string claim is its bytes
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
        proxy_set_header X-Name $gw_jwt_claim_name;
    }
    location = /up {
        return 200 "name=$http_x_name\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body eval
"name=Jos\xc3\xa9\n"
--- no_error_log
[error]



=== TEST 4: an array claim is joined by "," by default, an empty one is empty
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "groups=$gw_jwt_claim_groups empty=[$gw_jwt_claim_empty]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
groups=dev,ops empty=[]
--- no_error_log
[error]



=== TEST 5: gw_jwt_claim_separator joins arrays
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim_separator " | ";
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "groups=$gw_jwt_claim_groups";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
groups=dev | ops
--- no_error_log
[error]



=== TEST 6: an object claim is compact JSON
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "address=$gw_jwt_claim_address";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
address={"city":"Paris","zip":"75001"}
--- no_error_log
[error]



=== TEST 7: gw_jwt_claim_var: nested path, escaped dot, missing path
--- http_config
    gw_jwt_claim_var $jwt_roles   realm_access.roles;
    gw_jwt_claim_var $jwt_tenant  https://example\.com/tenant;
    gw_jwt_claim_var $jwt_city    address.city;
    gw_jwt_claim_var $jwt_dotted  a\.b;
    gw_jwt_claim_var $jwt_nested  a.b;
    gw_jwt_claim_var $jwt_nowhere realm_access.groups.x;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "roles=$jwt_roles tenant=$jwt_tenant city=$jwt_city dotted=$jwt_dotted nested=$jwt_nested nowhere=[$jwt_nowhere]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
roles=user,admin tenant=acme city=Paris dotted=dotted nested=nested nowhere=[]
--- no_error_log
[error]



=== TEST 8: gw_jwt_claim_var arrays follow the location's separator
--- http_config
    gw_jwt_claim_var $jwt_roles realm_access.roles;
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim_separator ";";
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "roles=$jwt_roles";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
roles=user;admin
--- no_error_log
[error]



=== TEST 9: variables are empty where gw_jwt is off, even with a valid token
--- http_config
    gw_jwt_claim_var $jwt_roles realm_access.roles;
--- config
    location = /t {
        gw_jwt off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_set_header X-Vars "sub=[$gw_jwt_sub] alg=[$gw_jwt_alg] email=[$gw_jwt_claim_email] roles=[$jwt_roles]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "$http_x_vars\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
sub=[] alg=[] email=[] roles=[]
--- no_error_log
[error]



=== TEST 10: variables in a log line of a denied request are empty ("-")
--- http_config
    log_format jwt "jwt sub=[$gw_jwt_sub] email=[$gw_jwt_claim_email]";
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        access_log logs/jwt.log jwt;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
    location = /log {
        gw_jwt off;
        alias logs/jwt.log;
    }
--- more_headers eval
["Authorization: Bearer $::tok{expired}", ""]
--- request eval
["GET /t", "GET /log"]
--- error_code eval
[401, 200]
--- response_body_like eval
["token-invalid", "^jwt sub=\\[-?\\] email=\\[-?\\]\n\\z"]
--- no_error_log
[error]



=== TEST 11: gw_jwt_claim_header sends a claim upstream
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        gw_jwt_claim_header X-Email email;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=$http_x_user email=$http_x_email\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
user=alice email=alice@example.com
--- no_error_log
[error]



=== TEST 12: a client-sent header of that name (any case, repeated) is removed
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=$http_x_user other=$http_x_other\n";
    }
--- more_headers eval
"X-User: mallory
x-user: eve
Authorization: Bearer $::tok{full}
X-USER: trudy
X-Other: kept"
--- request
GET /t
--- response_body
user=alice other=kept
--- no_error_log
[error]



=== TEST 13: the client's header is removed even when the claim is absent
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        gw_jwt_claim_header X-Tenant tenant;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=[$http_x_user] tenant=[$http_x_tenant]\n";
    }
--- more_headers eval
"X-User: mallory
X-Tenant: evil-corp
Authorization: Bearer $::tok{bare}"
--- request
GET /t
--- response_body
user=[] tenant=[]
--- no_error_log
[error]



=== TEST 14: claim headers from arrays, nested paths and escaped dots
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_separator " ";
        gw_jwt_claim_header X-Roles realm_access.roles;
        gw_jwt_claim_header X-Tenant https://example\.com/tenant;
        gw_jwt_claim_header X-Groups groups;
        gw_jwt_claim_header X-Age age;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "roles=$http_x_roles tenant=$http_x_tenant groups=$http_x_groups age=$http_x_age\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
roles=user admin tenant=acme groups=dev ops age=42
--- no_error_log
[error]



=== TEST 15: a claim holding CR LF cannot inject a header
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=[$http_x_user] injected=[$http_x_injected]\n";
    }
--- more_headers eval
"X-User: mallory\nAuthorization: Bearer $::tok{crlf}"
--- request
GET /t
--- response_body
user=[] injected=[]
--- error_log
gw_jwt: claim "sub" not sent as header "X-User"
--- no_error_log
[error]



=== TEST 16: a claim holding NUL is refused or not sent, never forwarded
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_claim_header X-User sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=[$http_x_user]\n";
    }
--- more_headers eval
"X-User: mallory\nAuthorization: Bearer $::tok{nul}"
--- request
GET /t
--- error_code_like: ^(200|401)$
--- response_body_like: ^(user=\[\]\n|.*token-invalid.*)$
--- no_error_log
[error]



=== TEST 17: claim headers set at server level are inherited
--- config
    gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
    gw_jwt_claim_header X-User sub;

    location = /t {
        gw_jwt api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=[$http_x_user]\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{full}"
--- request
GET /t
--- response_body
user=[alice]
--- no_error_log
[error]



=== TEST 18: a client's claim header is removed even where gw_jwt is off ("always removed")
--- config
    gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
    gw_jwt_claim_header X-User sub;

    location = /public {
        gw_jwt off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "user=[$http_x_user]\n";
    }
--- more_headers
X-User: mallory
--- request
GET /public
--- response_body
user=[]
--- no_error_log
[error]
