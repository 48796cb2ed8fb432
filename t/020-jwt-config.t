# Bad directive values and key files must fail "nginx -t" with an [emerg]
# line that names the problem, and never load.  Plain Test::More: it runs
# nginx -t itself, so it works the same under any Test::Nginx.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES};
my $keys = "$FindBin::Bin/data/keys";

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (run make test)'
    unless $module && -f (split ' ', $module)[0];

my $dir = tempdir(CLEANUP => 1);

sub write_file {
    my ($path, $data) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $data;
    close $fh;
}

write_file("$dir/short.secret", "0123456789");
write_file("$dir/bad.json", '{"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]}');
write_file("$dir/garbage.pem", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n");
write_file("$dir/dup.json", '{"kty":"oct","k":"AAAA","k":"BBBB"}');

# nginx -t on a location body (and optional http-level lines)
sub conf_test {
    my ($loc, $http) = @_;
    $http //= '';
    my $load = join '', map { "load_module $_;\n" } split ' ', $module;
    write_file("$dir/nginx.conf", <<"CONF");
$load
error_log $dir/error.log;
pid $dir/nginx.pid;
events {}
http {
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    access_log off;
    $http
    server {
        listen 127.0.0.1:1;
        location / {
            $loc
        }
    }
}
CONF
    my $out = `$nginx -t -p $dir/ -c $dir/nginx.conf 2>&1`;
    return ($? == 0, $out);
}

my ($ok, $out) = conf_test("gw_jwt api; gw_jwt_key_file $keys/rsa.pem;");
ok($ok, 'a good configuration loads') or diag $out;

($ok, $out) = conf_test("gw_jwt api; gw_jwt_key_file $keys/jwks.json; "
    . "gw_jwt_key_file $keys/hmac.secret format=hmac kid=h1; "
    . "gw_jwt_algorithms RS256 ES256 EdDSA HS256; gw_jwt_scope a b; "
    . "gw_jwt_scope_mode any; gw_jwt_max_age 1h; gw_jwt_leeway 30s; "
    . "gw_jwt_claim_header X-User sub; gw_jwt_claim role admin;",
    "gw_jwt_cache_zone 2m ttl=1m; gw_jwt_key_check_interval 1s; "
    . "gw_jwt_claim_var \$roles realm_access.roles;");
ok($ok, 'every directive together loads') or diag $out;

my @bad = (
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem; gw_jwt_algorithms none;",
      qr/\[emerg\].*unknown algorithm "none"/, 'alg none' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem; gw_jwt_algorithms hs256;",
      qr/\[emerg\].*unknown algorithm "hs256"/, 'lower-case alg' ],
    [ "gw_jwt api;",
      qr/\[emerg\].*no "gw_jwt_key_file"/, 'gw_jwt without keys' ],
    [ "gw_jwt api; gw_jwt_key_file $dir/missing.pem;",
      qr/\[emerg\].*missing\.pem" cannot be read/, 'missing key file' ],
    [ "gw_jwt api; gw_jwt_key_file $dir/short.secret format=hmac;",
      qr/\[emerg\].*short\.secret/, 'HMAC secret under 32 bytes' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa1024.pem;",
      qr/\[emerg\].*rsa1024\.pem/, 'RSA key under 2048 bits' ],
    [ "gw_jwt api; gw_jwt_key_file $dir/bad.json;",
      qr/\[emerg\].*bad\.json/, 'JWKS with a bad modulus' ],
    [ "gw_jwt api; gw_jwt_key_file $dir/garbage.pem;",
      qr/\[emerg\].*garbage\.pem/, 'PEM garbage' ],
    [ "gw_jwt api; gw_jwt_key_file $dir/dup.json;",
      qr/\[emerg\].*dup\.json/, 'JWK with duplicate members' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem format=der;",
      qr/\[emerg\].*invalid key format "der"/, 'unknown key format' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem bogus=1;",
      qr/\[emerg\].*invalid parameter "bogus=1"/, 'unknown parameter' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem alg=HS256;",
      qr/\[emerg\].*rsa\.pem/, 'alg= that does not fit the key' ],
    [ "gw_jwt 'a\"b'; gw_jwt_key_file $keys/rsa.pem;",
      qr/\[emerg\].*invalid realm/, 'realm with a quote' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem; gw_jwt_max_age soon;",
      qr/\[emerg\].*invalid max age "soon"/, 'bad max age' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem; "
      . "gw_jwt_claim_header 'X User' sub;",
      qr/\[emerg\].*invalid header name/, 'bad header name' ],
    [ "gw_jwt api; gw_jwt_key_file $keys/rsa.pem; gw_jwt_max_size big;",
      qr/\[emerg\].*"gw_jwt_max_size" directive invalid value/,
      'bad max size' ],
);

for my $case (@bad) {
    my ($loc, $re, $name) = @$case;
    my ($ok, $out) = conf_test($loc);
    note $out;
    ok(!$ok, "$name: nginx -t fails");
    like($out, $re, "$name: the error names it");
}

($ok, $out) = conf_test("gw_jwt api; gw_jwt_key_file $keys/rsa.pem;",
                        "gw_jwt_cache_zone 1k;");
ok(!$ok, 'tiny cache zone fails');
like($out, qr/\[emerg\].*invalid cache size "1k"/, 'tiny cache zone named');

($ok, $out) = conf_test("gw_jwt api; gw_jwt_key_file $keys/rsa.pem;",
                        "gw_jwt_cache_zone 1m ttl=never;");
ok(!$ok, 'bad cache ttl fails');
like($out, qr/\[emerg\].*invalid cache ttl "never"/, 'bad cache ttl named');

unlike($out, qr/BEGIN|PRIVATE/, 'no key material in errors');

done_testing();
