# vi:ft=perl
#
# JWT authentication: directive values, checked by "nginx -t".  Every bad
# value must fail the configuration test with an [emerg] line that names
# the directive or the value; keys that fail to load at start-up fail it
# too (docs/jwt.md, gw_jwt_key_file).  Test::Nginx's "--- must_die" is not
# in t/lib's runner, so this file runs nginx -t itself (Tollgate::JWT's
# nginx_t) and uses plain Test::More: it runs the same under either
# runner, and needs only TEST_NGINX_LOAD_MODULES.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;
use Tollgate::JWT qw(:all);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $K = keys_dir();
my $D = data_dir();
my $tmp = tempdir(CLEANUP => 1);
my $json = JSON::PP->new->canonical;

# files for the key checks
my $jwk = public_jwk("$K/ec256.pem", kid => 'one');
spew("$tmp/one.jwk", $json->encode($jwk));
spew("$tmp/65.json", $json->encode({ keys => [
    map { { %$jwk, kid => "k$_" } } 1 .. 65 ] }));
spew("$tmp/64.json", $json->encode({ keys => [
    map { { %$jwk, kid => "k$_" } } 1 .. 64 ] }));
spew("$tmp/enc.json", $json->encode({ keys => [
    { %$jwk, use => 'enc' } ] }));
spew("$tmp/empty.json", '{"keys": []}');
spew("$tmp/not.json", "hello\n");
spew("$tmp/big.pem", slurp("$K/rsa.pem") . ('#' x (1024 * 1024)) . "\n");
spew("$tmp/short.secret", 'x' x 16);
spew("$tmp/empty.secret", '');
mkdir "$tmp/dir";

# loc($directives): a server with one protected location
sub loc {
    my ($d) = @_;
    return "server { location / { gw_jwt api; $d } }";
}

my $key = "gw_jwt_key_file $K/rsa.pem;";

# [ name, http{} text, what the [emerg] line must mention ]
my @bad = (
    # key files
    ['a key file that does not exist',
     loc("gw_jwt_key_file $tmp/missing.pem;"), qr/missing\.pem/],
    ['a key file that is a directory',
     loc("gw_jwt_key_file $tmp/dir;"), qr/\Q$tmp\E\/dir/],
    ['an RSA key of 1024 bits',
     loc("gw_jwt_key_file $K/rsa1024.pem;"), qr/rsa1024\.pem/],
    ['an RSA key with exponent 1 (any padded digest would verify)',
     loc("gw_jwt_key_file $K/rsa-e1.pem;"), qr/rsa-e1\.pem.*exponent/],
    ['a secret file without format=hmac',
     loc("gw_jwt_key_file $K/hmac.secret;"), qr/hmac\.secret/],
    ['an HMAC secret of 16 bytes',
     loc("gw_jwt_key_file $tmp/short.secret format=hmac;"),
     qr/short\.secret/],
    ['an empty HMAC secret',
     loc("gw_jwt_key_file $tmp/empty.secret format=hmac;"),
     qr/empty\.secret/],
    ['a PEM file read as format=jwk',
     loc("gw_jwt_key_file $K/rsa.pem format=jwk;"), qr/rsa\.pem/],
    ['a JSON key file read as format=pem',
     loc("gw_jwt_key_file $K/jwks.json format=pem;"), qr/jwks\.json/],
    ['an unknown format=',
     loc("gw_jwt_key_file $K/rsa.pem format=der;"), qr/der/],
    ['an unknown alg=',
     loc("gw_jwt_key_file $K/rsa.pem alg=RS1024;"), qr/RS1024/],
    ['alg=none',
     loc("gw_jwt_key_file $K/rsa.pem alg=none;"), qr/none/],
    ['alg=HS256 on an RSA public key (algorithm confusion in the config)',
     loc("gw_jwt_key_file $K/rsa.pem alg=HS256;"), qr/rsa\.pem|HS256/],
    ['alg=ES384 on a P-256 key',
     loc("gw_jwt_key_file $K/ec256.pem alg=ES384;"), qr/ec256\.pem|ES384/],
    ['an empty kid=',
     loc("gw_jwt_key_file $K/rsa.pem kid=;"), qr/kid/],
    ['an unknown parameter',
     loc("gw_jwt_key_file $K/rsa.pem colour=blue;"), qr/colour/],
    ['a file that is not JSON nor PEM',
     loc("gw_jwt_key_file $tmp/not.json;"), qr/not\.json/],
    ['a JWKS of 65 keys',
     loc("gw_jwt_key_file $tmp/65.json;"), qr/65\.json/],
    ['a JWKS whose only key is for encryption',
     loc("gw_jwt_key_file $tmp/enc.json;"), qr/enc\.json/],
    ['a JWKS without keys',
     loc("gw_jwt_key_file $tmp/empty.json;"), qr/empty\.json/],
    ['a key file over 1 MiB',
     loc("gw_jwt_key_file $tmp/big.pem;"), qr/big\.pem/],

    # the other directives
    ['gw_jwt_algorithms none', loc("$key gw_jwt_algorithms none;"),
     qr/none/],
    ['gw_jwt_algorithms hs256 (case)', loc("$key gw_jwt_algorithms hs256;"),
     qr/hs256/],
    ['gw_jwt_algorithms without a value', loc("$key gw_jwt_algorithms;"),
     qr/gw_jwt_algorithms/],
    ['gw_jwt_scope_mode some', loc("$key gw_jwt_scope_mode some;"),
     qr/some|gw_jwt_scope_mode/],
    ['gw_jwt_leeway abc', loc("$key gw_jwt_leeway abc;"),
     qr/abc|gw_jwt_leeway/],
    ['gw_jwt_max_age 5x', loc("$key gw_jwt_max_age 5x;"),
     qr/5x|gw_jwt_max_age/],
    ['gw_jwt_max_size big', loc("$key gw_jwt_max_size big;"),
     qr/big|gw_jwt_max_size/],
    ['gw_jwt_require_exp maybe', loc("$key gw_jwt_require_exp maybe;"),
     qr/maybe|gw_jwt_require_exp/],
    ['gw_jwt_cache maybe', loc("$key gw_jwt_cache maybe;"),
     qr/maybe|gw_jwt_cache/],
    ['gw_jwt_issuer without a value', loc("$key gw_jwt_issuer;"),
     qr/gw_jwt_issuer/],
    ['gw_jwt_audience without a value', loc("$key gw_jwt_audience;"),
     qr/gw_jwt_audience/],
    ['gw_jwt_scope without a value', loc("$key gw_jwt_scope;"),
     qr/gw_jwt_scope/],
    ['gw_jwt_claim without a path', loc("$key gw_jwt_claim;"),
     qr/gw_jwt_claim/],
    ['gw_jwt_claim_header with a space in the name',
     loc(qq{$key gw_jwt_claim_header "X User" sub;}), qr/X User/],
    ['gw_jwt_claim_header with a colon in the name',
     loc("$key gw_jwt_claim_header X-User: sub;"), qr/X-User:/],
    ['gw_jwt_claim_header without a path',
     loc("$key gw_jwt_claim_header X-User;"), qr/gw_jwt_claim_header/],
    ['gw_jwt_claim_var without a $',
     "gw_jwt_claim_var roles realm_access.roles;", qr/roles/],
    ['gw_jwt_claim_var in a location',
     loc("$key gw_jwt_claim_var \$roles realm_access.roles;"),
     qr/gw_jwt_claim_var/],
    ['gw_jwt_cache_zone below 32k', 'gw_jwt_cache_zone 8k;',
     qr/8k|gw_jwt_cache_zone/],
    ['gw_jwt_cache_zone with a bad ttl', 'gw_jwt_cache_zone 1m ttl=abc;',
     qr/abc/],
    ['gw_jwt_cache_zone with an unknown parameter',
     'gw_jwt_cache_zone 1m size=2m;', qr/size=2m/],
    ['gw_jwt_cache_zone in a server',
     'server { gw_jwt_cache_zone 1m; }', qr/gw_jwt_cache_zone/],
    ['gw_jwt_key_check_interval in a server',
     'server { gw_jwt_key_check_interval 1s; }',
     qr/gw_jwt_key_check_interval/],
    ['gw_jwt_key_check_interval abc', 'gw_jwt_key_check_interval abc;',
     qr/abc|gw_jwt_key_check_interval/],
    ['gw_jwt without a value', 'server { location / { gw_jwt; } }',
     qr/gw_jwt/],
);

for my $case (@bad) {
    my ($name, $http, $mention) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok(!$ok, "nginx -t fails: $name") or diag $out;
    like($out, qr/\[emerg\][^\n]*$mention/,
         "... the [emerg] line names it: $name") unless $ok;
}

# [ name, http{} text ] that must pass
my @good = (
    ['the example of docs/jwt.md, on the test keys', <<"EOC"],
    gw_jwt_cache_zone 10m;
    gw_jwt_key_check_interval 5s;
    gw_jwt_claim_var \$jwt_roles realm_access.roles;
    gw_jwt_claim_var \$jwt_tenant https://example\\.com/tenant;

    server {
        listen 127.0.0.1:8080;

        location /api/ {
            gw_jwt            api;
            gw_jwt_key_file   $K/jwks.json;
            gw_jwt_issuer     https://id.example.com;
            gw_jwt_audience   orders;
            gw_jwt_scope      orders.read;
            gw_jwt_claim_header X-User-ID sub;
            proxy_pass        http://127.0.0.1:8081;
        }

        location /api/health {
            gw_jwt off;
            proxy_pass http://127.0.0.1:8081;
        }
    }
EOC
    ['every directive with a good value', <<"EOC"],
    gw_jwt_cache_zone 32k ttl=30s;
    gw_jwt_key_check_interval 0;
    gw_jwt_algorithms RS256 PS256 ES256 ES384 ES512 EdDSA HS256 HS384 HS512;

    server {
        gw_jwt api;
        gw_jwt_token \$http_x_token;
        gw_jwt_key_file $K/rsa.pem format=pem kid=r1 alg=RS256;
        gw_jwt_key_file $K/rsa.crt kid=c1;
        gw_jwt_key_file $K/ec256.pem;
        gw_jwt_key_file $K/ec384.pem;
        gw_jwt_key_file $K/ec521.pem;
        gw_jwt_key_file $K/ed25519.pem;
        gw_jwt_key_file $K/hmac.secret format=hmac kid=h1;
        gw_jwt_key_file $K/hmac64.secret format=hmac alg=HS512;
        gw_jwt_key_file $K/jwks.json format=jwk;
        gw_jwt_key_file $tmp/one.jwk;
        gw_jwt_key_file $tmp/64.json;
        gw_jwt_issuer a b c;
        gw_jwt_audience x y;
        gw_jwt_leeway 30s;
        gw_jwt_max_age 1h;
        gw_jwt_require_exp off;
        gw_jwt_claim tenant;
        gw_jwt_claim role admin editor;
        gw_jwt_claim https://example\\.com/tenant acme;
        gw_jwt_scope a b;
        gw_jwt_scope_mode any;
        gw_jwt_max_size 16k;
        gw_jwt_cache off;
        gw_jwt_claim_separator " ";
        gw_jwt_claim_header X-User sub;

        location / {
            gw_jwt_max_age off;
            gw_jwt_scope_mode all;
        }
        location /off {
            gw_jwt off;
        }
    }
EOC
);

for my $case (@good) {
    my ($name, $http) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok($ok, "nginx -t passes: $name") or diag $out;
}

done_testing();
