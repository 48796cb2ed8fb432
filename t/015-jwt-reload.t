# vi:ft=perl
#
# JWT authentication: key files change under a running nginx.  Each
# worker checks its files every gw_jwt_key_check_interval (1s here); a
# changed file replaces the old keys, a file that fails to load keeps the
# last good keys and logs one error until it changes again.
#
# A block is one client request to /t, an SSI page whose includes run in
# order, each a separate request through nginx itself:
#   /as-a, /as-b   call the protected /api with token A or B; they print
#                  the token's sub, or "denied" for a 401 or 403
#   /rotate        rewrites the key file (proxy_store of /new-key)
#   /delete        deletes it (WebDAV DELETE)
#   /pause         returns at once the first time, then after 2 seconds
#                  (limit_req at 30r/m), time enough for two checks
# so a block needs no runner feature beyond one request and its error log.
# The key files are written by this file into a temporary folder, with a
# modification time an hour old, so that a rewrite always looks changed.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use File::Temp qw(tempdir);
use JSON::PP ();
use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();
$ENV{TEST_NGINX_JWT_DATA} = data_dir();

my $tmp = tempdir(CLEANUP => 1);
mkdir "$tmp/tmp" or die "mkdir $tmp/tmp: $!";
$ENV{TEST_NGINX_JWT_TMP} = $tmp;

my $now = now();
my %claims = (exp => $now + 3600);

# A: the key in t/data/keys/rsa.key; B: t/data/jwt/rsa2.key
$ENV{TEST_NGINX_TOK_A} = jwt(alg => 'RS256', kid => 'k1',
                             payload => { %claims, sub => 'alice' });
$ENV{TEST_NGINX_TOK_B} = jwt(alg => 'RS256', kid => 'k1',
                             key => data_file('rsa2.key'),
                             payload => { %claims, sub => 'bob' });
# the same pair for JWKS files, where each key has its own kid
$ENV{TEST_NGINX_TOK_JA} = jwt(alg => 'RS256', kid => 'rsa-1',
                              payload => { %claims, sub => 'alice' });
$ENV{TEST_NGINX_TOK_JB} = jwt(alg => 'RS256', kid => 'rsa-2',
                              key => data_file('rsa2.key'),
                              payload => { %claims, sub => 'bob' });

# one key file per block, each starting as rsa.pem, an hour old
my $old = $now - 3600;
for my $n (1 .. 6) {
    spew("$tmp/key$n.pem", slurp(key_file('rsa.pem')), $old);
}

my $json = JSON::PP->new->canonical;
spew("$tmp/jwks-a.json",
     $json->encode({ keys => [public_jwk(key_file('rsa.pem'),
                                         kid => 'rsa-1', use => 'sig')] }),
     $old);
spew("$tmp/jwks-b.json",
     $json->encode({ keys => [public_jwk(data_file('rsa2.pem'),
                                         kid => 'rsa-2', use => 'sig')] }),
     $old);
spew("$tmp/jwks7.json", slurp("$tmp/jwks-a.json"), $old);

run_tests();

__DATA__

=== TEST 1: a rewritten PEM file replaces the old key within the interval
--- http_config
    gw_jwt_key_check_interval 1s;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key1.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /as-b {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_B";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/key1.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_DATA/rsa2.pem; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" -->b1:<!--# include virtual="/as-b" wait="yes" --><!--# include virtual="/pause" wait="yes" -->rotate:<!--# include virtual="/rotate" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" -->b2:<!--# include virtual="/as-b" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\nb1:denied\nrotate:-----BEGIN PUBLIC KEY.*\na2:denied\nb2:bob\nend\n\z/s
--- error_log eval
[qr/\[notice\] .*gw_jwt_key_file ".*key1\.pem": loaded 1 key/]
--- no_error_log
[error]



=== TEST 2: a broken file keeps the last good keys and logs one error, until it changes again
--- http_config
    gw_jwt_key_check_interval 1s;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key2.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /as-b {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_B";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /break {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/broken-key;
        proxy_store $TEST_NGINX_JWT_TMP/key2.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /broken-key { alias $TEST_NGINX_JWT_DATA/broken.pem; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/key2.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_DATA/rsa2.pem; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" -->break:<!--# include virtual="/break" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" -->b2:<!--# include virtual="/as-b" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a3:<!--# include virtual="/as-a" wait="yes" -->rotate:<!--# include virtual="/rotate" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a4:<!--# include virtual="/as-a" wait="yes" -->b4:<!--# include virtual="/as-b" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\nbreak:.*\na2:alice\nb2:denied\na3:alice\nrotate:.*\na4:denied\nb4:bob\nend\n\z/s
--- grep_error_log eval
qr/gw_jwt_key_file "[^"]*key2\.pem": [^\n]*?(?:keeping the last good keys|loaded \d+ key\S*)/
--- grep_error_log_out eval
qr/\Agw_jwt_key_file "[^"]*key2\.pem": [^\n]+, keeping the last good keys\ngw_jwt_key_file "[^"]*key2\.pem": loaded 1 key\S*\n\z/
--- error_log eval
[qr/\[error\] .*gw_jwt_key_file ".*key2\.pem": .*keeping the last good keys/]
--- no_error_log
[alert]
[crit]



=== TEST 3: a deleted file keeps the last good keys and logs one error
--- http_config
    gw_jwt_key_check_interval 1s;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key3.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /delete {
        proxy_method DELETE;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/dav/key3.pem;
    }
    location /dav/ {
        alias $TEST_NGINX_JWT_TMP/;
        dav_methods DELETE;
    }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" -->delete:<!--# include virtual="/delete" wait="yes" --><!--# include virtual="/pause" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a3:<!--# include virtual="/as-a" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\ndelete:.*a2:alice\na3:alice\nend\n\z/s
--- grep_error_log eval
qr/gw_jwt_key_file "[^"]*key3\.pem"[^\n]*?keeping the last good keys/
--- grep_error_log_out eval
qr/\Agw_jwt_key_file "[^"]*key3\.pem"[^\n]+keeping the last good keys\n\z/
--- no_error_log
[alert]
[crit]



=== TEST 4: a rewritten JWKS replaces its keys: the old kid is unknown, the new one works
--- http_config
    gw_jwt_key_check_interval 1s;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/jwks7.json;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_JA";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /as-b {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_JB";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/jwks7.json;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_TMP/jwks-b.json; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" -->b1:<!--# include virtual="/as-b" wait="yes" --><!--# include virtual="/pause" wait="yes" -->rotate:<!--# include virtual="/rotate" wait="yes" -->\n<!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" -->b2:<!--# include virtual="/as-b" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\nb1:denied\nrotate:\{.*\}\s*\na2:denied\nb2:bob\nend\n\z/s
--- error_log eval
[qr/\[notice\] .*gw_jwt_key_file ".*jwks7\.json": loaded 1 key/]
--- no_error_log
[error]



=== TEST 5: gw_jwt_key_check_interval 0 turns reloading off
--- http_config
    gw_jwt_key_check_interval 0;
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key5.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /as-b {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_B";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/key5.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_DATA/rsa2.pem; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'a1:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" -->rotate:<!--# include virtual="/rotate" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" -->b2:<!--# include virtual="/as-b" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Aa1:alice\nrotate:.*\na2:alice\nb2:denied\nend\n\z/s
--- no_error_log
[error]
loaded 1 key



=== TEST 6: the default interval is 5s: a rewrite is not seen after 2s
--- http_config
    limit_req_zone $server_port zone=pause:1m rate=30r/m;
    limit_req_log_level info;
--- config
    location = /api {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_JWT_TMP/key6.pem kid=k1;
        proxy_set_header X-Sub $gw_jwt_sub;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { return 200 "$http_x_sub\n"; }

    location = /as-a {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_A";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /as-b {
        proxy_set_header Authorization "Bearer $TEST_NGINX_TOK_B";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/api;
        proxy_intercept_errors on;
        error_page 401 403 = /denied;
    }
    location = /denied { return 200 "denied\n"; }
    location = /rotate {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/new-key;
        proxy_store $TEST_NGINX_JWT_TMP/key6.pem;
        proxy_temp_path $TEST_NGINX_JWT_TMP/tmp;
    }
    location = /new-key { alias $TEST_NGINX_JWT_DATA/rsa2.pem; }
    location = /pause {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/pause-inner;
    }
    location = /pause-inner {
        limit_req zone=pause burst=10;
        alias $TEST_NGINX_JWT_DATA/empty.txt;
    }

    location = /t {
        default_type text/html;
        ssi on;
        return 200 'rotate:<!--# include virtual="/rotate" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a1:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a2:<!--# include virtual="/as-a" wait="yes" --><!--# include virtual="/pause" wait="yes" --><!--# include virtual="/pause" wait="yes" --><!--# include virtual="/pause" wait="yes" -->a3:<!--# include virtual="/as-a" wait="yes" -->b3:<!--# include virtual="/as-b" wait="yes" -->end\n';
    }
--- request
GET /t
--- timeout: 30
--- response_body_like eval
qr/\Arotate:.*\na1:alice\na2:alice\na3:denied\nb3:bob\nend\n\z/s
--- no_error_log
[error]
