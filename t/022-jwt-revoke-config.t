# vi:ft=perl
#
# JWT token type and revocation list: directive values, checked by
# "nginx -t" (docs/jwt.md: gw_jwt_type, gw_jwt_revocation,
# gw_jwt_revocation_zone).  Every bad value fails the configuration test
# with the [emerg] line that names what is wrong; good ones pass.  Plain
# Test::More, as t/017-jwt-config.t: t/lib's runner has no "--- must_die",
# so Tollgate::JWT's nginx_t runs nginx -t itself.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::JWT

use Test::More;
use Tollgate::JWT qw(key_file nginx_t);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $KEY = key_file('hmac.secret');
my $REDIS = 'gw_redis 127.0.0.1:6379;';     # nginx -t does not connect

# loc($directives, $http): a server with one protected location
sub loc {
    my ($d, $http) = @_;
    return ($http // '') . " server { location / { gw_jwt api; "
           . "gw_jwt_key_file $KEY format=hmac; $d } }";
}

my $typ64 = 'a' x 64;                       # GW_TYP_MAX bytes
my $typ65 = 'a' x 65;

sub typ_error {
    my ($v) = @_;
    return qr/invalid token type "\Q$v\E" \(a media type such as "at\+jwt", at most 64 bytes\)/;
}

# [ name, http{} text, what the [emerg] line must say ]
my @bad = (
    # gw_jwt_type
    ['gw_jwt_type with a parameter (;)', loc('gw_jwt_type "at+jwt;q=1";'),
     typ_error('at+jwt;q=1')],
    ['gw_jwt_type with a space', loc('gw_jwt_type "at jwt";'),
     typ_error('at jwt')],
    ['gw_jwt_type empty', loc('gw_jwt_type "";'), typ_error('')],
    ['gw_jwt_type of 65 bytes', loc("gw_jwt_type $typ65;"),
     typ_error($typ65)],
    ['gw_jwt_type with a byte over 0x7e', loc("gw_jwt_type at+jwt\xc3\xa9;"),
     typ_error("at+jwt\xc3\xa9")],
    ['gw_jwt_type twice', loc('gw_jwt_type at+jwt; gw_jwt_type jwt;'),
     qr/"gw_jwt_type" directive is duplicate/],
    ['gw_jwt_type without a value', loc('gw_jwt_type;'),
     qr/invalid number of arguments in "gw_jwt_type" directive/],

    # gw_jwt_revocation
    ['gw_jwt_revocation on without gw_redis', loc('gw_jwt_revocation on;'),
     qr/"gw_jwt_revocation" needs "gw_redis" in the http block/],
    ['gw_jwt_revocation on in http{} without gw_redis',
     'gw_jwt_revocation on;' . loc(''),
     qr/"gw_jwt_revocation" needs "gw_redis" in the http block/],
    ['gw_jwt_revocation maybe', loc('gw_jwt_revocation maybe;', $REDIS),
     qr/invalid value "maybe" in "gw_jwt_revocation" directive/],
    ['gw_jwt_revocation_require_jti maybe',
     loc('gw_jwt_revocation on; gw_jwt_revocation_require_jti maybe;',
         $REDIS),
     qr/invalid value "maybe" in "gw_jwt_revocation_require_jti" directive/],

    # gw_jwt_revocation_zone
    ['gw_jwt_revocation_zone below 32k', 'gw_jwt_revocation_zone 8k;',
     qr/invalid revocation zone size "8k", at least 32k/],
    ['gw_jwt_revocation_zone of 32767 bytes',
     'gw_jwt_revocation_zone 32767;',
     qr/invalid revocation zone size "32767", at least 32k/],
    ['gw_jwt_revocation_zone abc', 'gw_jwt_revocation_zone abc;',
     qr/invalid revocation zone size "abc", at least 32k/],
    ['gw_jwt_revocation_zone with a bad ttl',
     'gw_jwt_revocation_zone 1m ttl=abc;',
     qr/invalid revocation ttl "abc"/],
    ['gw_jwt_revocation_zone with ttl=0', 'gw_jwt_revocation_zone 1m ttl=0;',
     qr/invalid revocation ttl "0"/],
    ['gw_jwt_revocation_zone with an empty ttl',
     'gw_jwt_revocation_zone 1m ttl=;', qr/invalid revocation ttl ""/],
    ['gw_jwt_revocation_zone with an unknown parameter',
     'gw_jwt_revocation_zone 1m size=2m;', qr/invalid parameter "size=2m"/],
    ['gw_jwt_revocation_zone twice',
     'gw_jwt_revocation_zone 1m; gw_jwt_revocation_zone 2m;',
     qr/"gw_jwt_revocation_zone" directive is duplicate/],
    ['gw_jwt_revocation_zone in a server',
     'server { gw_jwt_revocation_zone 1m; }',
     qr/"gw_jwt_revocation_zone" directive is not allowed here/],
    ['gw_jwt_revocation_zone with three values',
     'gw_jwt_revocation_zone 1m ttl=1h 2m;',
     qr/invalid number of arguments in "gw_jwt_revocation_zone" directive/],
);

for my $case (@bad) {
    my ($name, $http, $says) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok(!$ok, "nginx -t fails: $name") or diag $out;
    like($out, qr/\[emerg\][^\n]*$says/,
         "... the [emerg] line says why: $name") unless $ok;
}

# [ name, http{} text ] that must pass
my @good = (
    ['gw_jwt_type at+jwt', loc('gw_jwt_type at+jwt;')],
    ['gw_jwt_type application/at+jwt', loc('gw_jwt_type application/at+jwt;')],
    ['gw_jwt_type of 64 bytes', loc("gw_jwt_type $typ64;")],
    ['gw_jwt_type off under a type', 'gw_jwt_type at+jwt;'
     . loc('gw_jwt_type off;')],
    ['gw_jwt_revocation on with gw_redis', loc('gw_jwt_revocation on;',
                                               $REDIS)],
    ['gw_jwt_revocation on where gw_jwt is off (no gw_redis needed)',
     'server { location / { gw_jwt_revocation on; } }'],
    ['gw_jwt_revocation off without gw_redis', loc('gw_jwt_revocation off;')],
    ['every revocation directive with a good value',
     loc('gw_jwt_revocation on; gw_jwt_revocation_require_jti off;',
         "$REDIS gw_jwt_revocation_zone 32k ttl=30s;")],
    ['gw_jwt_revocation_zone without gw_jwt_revocation',
     'gw_jwt_revocation_zone 1m;'],
);

for my $case (@good) {
    my ($name, $http) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok($ok, "nginx -t passes: $name") or diag $out;
}

done_testing();
