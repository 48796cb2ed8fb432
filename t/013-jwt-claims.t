# vi:ft=perl
#
# JWT authentication: the claim checks of docs/jwt.md, "What is checked",
# step 6: exp (and gw_jwt_require_exp), nbf, iat, gw_jwt_leeway,
# gw_jwt_max_age, gw_jwt_issuer, gw_jwt_audience (string and array),
# gw_jwt_claim (presence, values, arrays, nested and escaped paths),
# gw_jwt_scope with gw_jwt_scope_mode all/any from "scope" strings and
# "scp" arrays (403), and the order: a bad claim is a 401 before a
# missing scope is a 403.  Dates are minted relative to the start of the
# file with margins of minutes, so slow runs cannot flip them.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(:all);

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $now = now();

# tk(%claims): an RS256 token for sub alice valid for an hour, with %claims
# added (a claim given as undef is left out)
sub tk {
    my %c = (sub => 'alice', exp => $now + 3600, @_);
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    return jwt(alg => 'RS256', payload => \%c);
}

sub bearer { [map { "Authorization: Bearer $_" } @_] }
sub gets { [("GET /t") x scalar @_] }
sub codes { [@_] }

# WWW-Authenticate of a 401 whose description contains $why
sub invalid {
    my ($why) = @_;
    return 'WWW-Authenticate: Bearer realm="api", error="invalid_token", '
           . qq{error_description="[^"]*\Q$why\E[^"]*"};
}

our %tok;

# exp
$tok{exp_ok}      = tk();
$tok{exp_past}    = tk(exp => $now - 600);
$tok{exp_none}    = tk(exp => undef);
$tok{exp_string}  = tk(exp => '' . ($now + 3600));
$tok{exp_float}   = tk(exp => $now + 3600.5);
$tok{exp_bool}    = tk(exp => JSON::PP::true);
$tok{exp_null} = jwt(alg => 'RS256',
                     payload => '{"exp":null,"sub":"alice"}');

# nbf, iat
$tok{nbf_future}  = tk(nbf => $now + 600);
$tok{nbf_past}    = tk(nbf => $now - 600);
$tok{nbf_string}  = tk(nbf => '' . ($now - 600));
$tok{iat_future}  = tk(iat => $now + 600);
$tok{iat_past}    = tk(iat => $now - 600);
$tok{iat_string}  = tk(iat => '' . ($now - 600));

# leeway: 10 minutes late or early
$tok{late}        = tk(exp => $now - 600);
$tok{early_nbf}   = tk(nbf => $now + 600);
$tok{early_iat}   = tk(iat => $now + 600);

# max age
$tok{age_young}   = tk(iat => $now - 60);
$tok{age_old}     = tk(iat => $now - 7200);
$tok{age_noiat}   = tk();

# iss, aud
$tok{iss_ok}      = tk(iss => 'https://id.example.com');
$tok{iss_other}   = tk(iss => 'https://other.example.com');
$tok{iss_evil}    = tk(iss => 'https://evil.example.com');
$tok{iss_none}    = tk();
$tok{iss_slash}   = tk(iss => 'https://id.example.com/');
$tok{iss_case}    = tk(iss => 'https://ID.example.com');
$tok{iss_array}   = tk(iss => ['https://id.example.com']);
$tok{iss_prefix}  = tk(iss => 'https://id.example.com.evil.example');
$tok{aud_ok}      = tk(aud => 'orders');
$tok{aud_other}   = tk(aud => 'billing');
$tok{aud_arr_ok}  = tk(aud => ['billing', 'orders']);
$tok{aud_arr_no}  = tk(aud => ['billing', 'shipping']);
$tok{aud_arr_empty} = tk(aud => []);
$tok{aud_none}    = tk();
$tok{aud_substr}  = tk(aud => 'orders billing');
$tok{aud_number}  = tk(aud => 42);

# required claims
$tok{tenant}      = tk(tenant => 'acme');
$tok{no_tenant}   = tk();
$tok{role_editor} = tk(role => 'editor');
$tok{role_viewer} = tk(role => 'viewer');
$tok{role_arr}    = tk(role => ['viewer', 'admin']);
$tok{role_arr_no} = tk(role => ['viewer', 'guest']);
$tok{role_case}   = tk(role => 'Admin');
$tok{roles_ok}    = tk(realm_access => { roles => ['user', 'admin'] });
$tok{roles_no}    = tk(realm_access => { roles => ['user'] });
$tok{roles_flat}  = tk('realm_access.roles' => ['admin']);
$tok{dotted_ok}   = tk('https://example.com/tenant' => 'acme');
$tok{dotted_no}   = tk('https://example.com/tenant' => 'other');
$tok{dotted_nest} = tk('https://example' => { 'com/tenant' => 'acme' });
$tok{level_3}     = tk(level => 3);
$tok{level_4}     = tk(level => 4);
$tok{verified}    = tk(email_verified => JSON::PP::true);
$tok{unverified}  = tk(email_verified => JSON::PP::false);
$tok{both}        = tk(tenant => 'acme', role => 'admin');
$tok{one_of_two}  = tk(tenant => 'acme', role => 'guest');

# scopes
$tok{sc_both}     = tk(scope => 'orders.read orders.write');
$tok{sc_both_rev} = tk(scope => 'profile orders.write  orders.read');
$tok{sc_read}     = tk(scope => 'orders.read');
$tok{sc_write}    = tk(scope => 'orders.write');
$tok{sc_other}    = tk(scope => 'profile email');
$tok{sc_none}     = tk();
$tok{sc_prefix}   = tk(scope => 'orders.readx orders.writex');
$tok{sc_joined}   = tk(scope => 'orders.read,orders.write');
$tok{scp_both}    = tk(scp => ['orders.read', 'orders.write']);
$tok{scp_read}    = tk(scp => ['orders.read']);
$tok{scp_string}  = tk(scp => 'orders.read orders.write');
$tok{scope_arr}   = tk(scope => ['orders.read', 'orders.write']);
$tok{scp_spaced}  = tk(scp => ['orders.read orders.write']);
$tok{scp_other}   = tk(scp => ['profile']);
$tok{sc_number}   = tk(scope => 42);

# a bad claim and a missing scope together
$tok{expired_noscope} = tk(exp => $now - 600, scope => 'profile');
$tok{badiss_noscope}  = tk(iss => 'https://evil.example.com',
                           scope => 'profile');

run_tests();

__DATA__

=== TEST 1: exp: in the future passes, past / missing / not a number fail
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(exp_ok exp_float exp_past exp_none exp_string exp_bool exp_null)})
--- request eval
::gets(1 .. 7)
--- error_code eval
[200, 200, 401, 401, 401, 401, 401]
--- response_headers_like eval
["", "", ::invalid('token expired'), ::invalid('exp'), ::invalid('exp'),
 ::invalid('exp'), ::invalid('exp')]
--- no_error_log
[error]



=== TEST 2: exp: the expired token's exact challenge and problem type
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{exp_past}"
--- request
GET /t
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="token expired"
Content-Type: application/problem+json
--- response_body_like eval
Tollgate::JWT::problem_re('token-invalid', 401, 'token expired')
--- no_error_log
[error]



=== TEST 3: gw_jwt_require_exp off: a token without exp passes, a past exp still fails
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_require_exp off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(exp_none exp_past exp_string)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[200, 401, 401]
--- no_error_log
[error]



=== TEST 4: nbf: in the future fails, in the past passes, a string fails
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(nbf_future nbf_past nbf_string)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[401, 200, 401]
--- response_headers_like eval
[::invalid('not yet valid'), "", ::invalid('nbf')]
--- no_error_log
[error]



=== TEST 5: iat: issued in the future fails, in the past passes, a string fails
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(iat_future iat_past iat_string)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[401, 200, 401]
--- response_headers_like eval
[::invalid('future'), "", ::invalid('iat')]
--- no_error_log
[error]



=== TEST 6: gw_jwt_leeway 15m forgives 10 minutes of skew on exp, nbf and iat
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_leeway 15m;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(late early_nbf early_iat)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[200, 200, 200]
--- no_error_log
[error]



=== TEST 7: gw_jwt_leeway 5m does not forgive 10 minutes
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_leeway 5m;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(late early_nbf early_iat)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[401, 401, 401]
--- response_headers_like eval
[::invalid('expired'), ::invalid('not yet valid'), ::invalid('future')]
--- no_error_log
[error]



=== TEST 8: gw_jwt_max_age 30m: a young token passes, an old one or one without iat fails
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_max_age 30m;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(age_young age_old age_noiat)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[200, 401, 401]
--- response_headers_like eval
["", ::invalid('old'), ::invalid('iat')]
--- no_error_log
[error]



=== TEST 9: gw_jwt_max_age with leeway: 2h old passes max age 1h30m + leeway 45m
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_max_age 90m;
        gw_jwt_leeway 45m;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{age_old}"
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]



=== TEST 10: gw_jwt_max_age off (the default) needs no iat
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_max_age off;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(age_noiat age_old)})
--- request eval
::gets(1 .. 2)
--- error_code eval
[200, 200]
--- no_error_log
[error]



=== TEST 11: gw_jwt_issuer: iss must equal one of the values, byte for byte
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_issuer https://id.example.com https://other.example.com;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(iss_ok iss_other iss_evil iss_none iss_slash iss_case
                   iss_array iss_prefix)})
--- request eval
::gets(1 .. 8)
--- error_code eval
[200, 200, 401, 401, 401, 401, 401, 401]
--- response_headers_like eval
["", "", ::invalid('iss'), ::invalid('iss'), ::invalid('iss'),
 ::invalid('iss'), ::invalid('iss'), ::invalid('iss')]
--- no_error_log
[error]



=== TEST 12: gw_jwt_audience: a string equal to one, or an array holding one
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_audience orders shipping-admin;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(aud_ok aud_arr_ok aud_other aud_arr_no aud_arr_empty
                   aud_none aud_substr aud_number)})
--- request eval
::gets(1 .. 8)
--- error_code eval
[200, 200, 401, 401, 401, 401, 401, 401]
--- response_headers_like eval
["", "", ::invalid('aud'), ::invalid('aud'), ::invalid('aud'),
 ::invalid('aud'), ::invalid('aud'), ::invalid('aud')]
--- no_error_log
[error]



=== TEST 13: gw_jwt_issuer and gw_jwt_audience set at server level are inherited
--- config
    gw_jwt_issuer https://id.example.com;
    gw_jwt_audience orders;

    location = /t {
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(iss_ok aud_ok)})
--- request eval
::gets(1 .. 2)
--- error_code eval
[401, 401]
--- response_headers_like eval
[::invalid('aud'), ::invalid('iss')]
--- no_error_log
[error]



=== TEST 14: gw_jwt_claim path: the claim must be present
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim tenant;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(tenant no_tenant)})
--- request eval
::gets(1 .. 2)
--- error_code eval
[200, 401]
--- response_headers_like eval
["", ::invalid('claim')]
--- no_error_log
[error]



=== TEST 15: gw_jwt_claim path values: equal to one value, or an array element equal
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim role admin editor;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(role_editor role_arr role_viewer role_arr_no role_case
                   no_tenant)})
--- request eval
::gets(1 .. 6)
--- error_code eval
[200, 200, 401, 401, 401, 401]
--- response_headers_like eval
["", "", ::invalid('claim'), ::invalid('claim'), ::invalid('claim'),
 ::invalid('claim')]
--- no_error_log
[error]



=== TEST 16: gw_jwt_claim with a nested path (realm_access.roles)
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim realm_access.roles admin;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(roles_ok roles_no roles_flat)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[200, 401, 401]
--- no_error_log
[error]



=== TEST 17: gw_jwt_claim with an escaped dot in a member name
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim https://example\.com/tenant acme;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(dotted_ok dotted_no dotted_nest)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[200, 401, 401]
--- no_error_log
[error]



=== TEST 18: gw_jwt_claim compares numbers and booleans by their JSON text
--- config
    location = /level {
        gw_jwt api;
        gw_jwt_claim level 3;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /verified {
        gw_jwt api;
        gw_jwt_claim email_verified true;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(level_3 level_4 verified unverified)})
--- request eval
["GET /level", "GET /level", "GET /verified", "GET /verified"]
--- error_code eval
[200, 401, 200, 401]
--- no_error_log
[error]



=== TEST 19: several gw_jwt_claim rules must all hold
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_claim tenant acme;
        gw_jwt_claim role admin;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(both one_of_two tenant)})
--- request eval
::gets(1 .. 3)
--- error_code eval
[200, 401, 401]
--- no_error_log
[error]



=== TEST 20: gw_jwt_scope (mode all) from a scope string or an scp array
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_scope orders.read orders.write;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(sc_both sc_both_rev scp_both scp_string scope_arr)})
--- request eval
::gets(1 .. 5)
--- error_code eval
[200, 200, 200, 200, 200]
--- no_error_log
[error]



=== TEST 21: gw_jwt_scope (mode all): a missing scope is 403 insufficient_scope
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_scope orders.read orders.write;
        gw_jwt_scope_mode all;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(sc_read sc_write scp_read sc_other sc_none sc_prefix
                   sc_joined scp_spaced)})
--- request eval
::gets(1 .. 8)
--- error_code eval
[(403) x 8]
--- response_headers eval
[('WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders.read orders.write"') x 8]
--- response_body_like eval
[(Tollgate::JWT::problem_re('insufficient-scope', 403)) x 8]
--- no_error_log
[error]



=== TEST 22: gw_jwt_scope_mode any: one of the scopes is enough
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_scope orders.read orders.write;
        gw_jwt_scope_mode any;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(sc_read sc_write scp_read sc_both sc_other scp_other
                   sc_none sc_prefix)})
--- request eval
::gets(1 .. 8)
--- error_code eval
[200, 200, 200, 200, 403, 403, 403, 403]
--- response_headers eval
["", "", "", "",
 ('WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders.read orders.write"') x 4]
--- no_error_log
[error]



=== TEST 23: a scope claim that is neither a string nor an array of strings
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_scope orders.read;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
"Authorization: Bearer $::tok{sc_number}"
--- request
GET /t
--- error_code_like: ^40[13]$
--- no_error_log
[error]



=== TEST 24: a bad claim is 401 even when a scope is missing too
--- config
    location = /t {
        gw_jwt api;
        gw_jwt_issuer https://id.example.com;
        gw_jwt_scope orders.read;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(expired_noscope badiss_noscope)})
--- request eval
::gets(1 .. 2)
--- error_code eval
[401, 401]
--- response_headers_like eval
[::invalid('expired'), ::invalid('iss')]
--- no_error_log
[error]



=== TEST 25: a nested location's gw_jwt_scope replaces the outer one
--- config
    location /api/ {
        gw_jwt api;
        gw_jwt_scope orders.read;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;

        location /api/write {
            gw_jwt_scope orders.write;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
        }
    }
    location /up {
        return 200 "ok\n";
    }
--- more_headers eval
::bearer(@::tok{qw(sc_read sc_read sc_write sc_write)})
--- request eval
["GET /api/read", "GET /api/write", "GET /api/read", "GET /api/write"]
--- error_code eval
[200, 403, 403, 200]
--- response_headers eval
["", 'WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders.write"',
 'WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="orders.read"', ""]
--- no_error_log
[error]
