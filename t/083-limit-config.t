# vi:ft=perl
#
# Rate limits: directive values, checked by "nginx -t" (docs/limit.md).
# Every bad value fails the configuration test with an [emerg] line that
# names what is wrong; good ones pass.  Plain Test::More, as
# t/017-jwt-config.t, so it runs the same under either runner.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::More;
use Tollgate::JWT qw(nginx_t);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

sub loc {
    my ($d, $http) = @_;
    return ($http // '') . " server { location / { $d proxy_pass "
           . "http://127.0.0.1:1; } }";
}

my @bad = (
    ['no key', loc('gw_limit a rate=1r/s;'), qr/key= is required/],
    ['no rate or quota', loc('gw_limit a key=$uri;'),
     qr/rate= .* or quota= .* is required/],
    ['rate and quota', loc('gw_limit a key=$uri rate=1r/s quota=1/h;'),
     qr/one rate= or quota= per limit/],
    ['a rate per hour', loc('gw_limit a key=$uri rate=1r/h;'),
     qr/invalid "rate=1r\/h": a rate ends in r\/s or r\/m/],
    ['a quota given as rate=', loc('gw_limit a key=$uri rate=10/h;'),
     qr/rate= takes Nr\/s or Nr\/m/],
    ['a rate given as quota=', loc('gw_limit a key=$uri quota=10r/s;'),
     qr/quota= takes N\/window/],
    ['a zero rate', loc('gw_limit a key=$uri rate=0r/s;'),
     qr/a count of 1 to 1000000000/],
    ['too fast', loc('gw_limit a key=$uri rate=100001r/s;'),
     qr/at most 100000r\/s/],
    ['a window in years', loc('gw_limit a key=$uri quota=1/1y;'),
     qr/one unit: s, m, h or d/],
    ['a window over 366 days', loc('gw_limit a key=$uri quota=1/367d;'),
     qr/at most 366 days/],
    ['burst with a quota', loc('gw_limit a key=$uri quota=1/h burst=2;'),
     qr/burst= and delay= go with rate=/],
    ['a negative burst', loc('gw_limit a key=$uri rate=1r/s burst=-1;'),
     qr/invalid "burst=-1"/],
    ['delay over burst', loc('gw_limit a key=$uri rate=1r/s burst=2 '
                             . 'delay=3;'), qr/delay=3 is more than burst=2/],
    ['an exact quota leased', loc('gw_limit a key=$uri quota=10/h exact '
                                  . 'mode=lease;',
                                  'gw_redis 127.0.0.1:6379;'),
     qr/mode=lease takes quota= without "exact" only/],
    ['exact with a rate', loc('gw_limit a key=$uri rate=1r/s exact;'),
     qr/"exact" goes with quota=, not rate=/],
    ['an exact quota just past its cap',
     loc('gw_limit a key=$uri quota=10001/h exact;'),
     qr/an exact quota counts at most 10000 requests per window/],
    ['an exact plan just past its cap',
     loc('gw_limit a key=$uri quota=1/h;',
         'gw_limit_plan gold a quota=10001/h exact;'),
     qr/an exact quota counts at most 10000 requests per window/],
    ['an unknown parameter', loc('gw_limit a key=$uri rate=1r/s foo=1;'),
     qr/invalid parameter "foo=1"/],
    ['a bad mode', loc('gw_limit a key=$uri rate=1r/s mode=cluster;'),
     qr/invalid "mode=cluster": local, global or lease/],
    ['a leased rate', loc('gw_limit a key=$uri rate=1r/s mode=lease;',
                          'gw_redis 127.0.0.1:6379;'),
     qr/gw_limit "a": mode=lease takes quota= without "exact" only/],
    ['gw_limit_mode lease over a rate',
     loc('gw_limit_mode lease; gw_limit a key=$uri rate=1r/s;',
         'gw_redis 127.0.0.1:6379;'), qr/mode=lease takes quota= without "exact" only/],
    ['lease without gw_redis', loc('gw_limit a key=$uri quota=1/h '
                                   . 'mode=lease;'),
     qr/global mode needs gw_redis/],
    ['gw_limit_lease_ttl 5ms', loc('gw_limit_lease_ttl 5ms;'),
     qr/gw_limit_lease_ttl: 10ms to 60s/],
    ['gw_limit_lease_ttl 2m', loc('gw_limit_lease_ttl 2m;'),
     qr/gw_limit_lease_ttl: 10ms to 60s/],
    ['gw_limit_lease_max without %', loc('gw_limit_lease_max 5;'),
     qr/gw_limit_lease_max: invalid "5"/],
    ['gw_limit_lease_max 0%', loc('gw_limit_lease_max 0%;'),
     qr/gw_limit_lease_max: invalid "0%"/],
    ['gw_limit_lease_max 101%', loc('gw_limit_lease_max 101%;'),
     qr/gw_limit_lease_max: invalid "101%"/],
    ['gw_limit_lease_zone too small', loc('gw_limit a key=$uri quota=1/h '
                                          . 'mode=lease;',
                                          'gw_redis 127.0.0.1:6379; '
                                          . 'gw_limit_lease_zone 4k;'),
     qr/gw_limit_lease_zone: at least/],
    ['a bad name', loc('gw_limit "a b" key=$uri rate=1r/s;'),
     qr/invalid name "a b"/],
    ['a name too long', loc('gw_limit ' . ('n' x 33) . ' key=$uri '
                            . 'rate=1r/s;'), qr/invalid name/],
    ['the same name twice', loc('gw_limit a key=$uri rate=1r/s; '
                                . 'gw_limit a key=$uri quota=1/h;'),
     qr/"a" is already limited here/],
    ['17 limits', loc(join ' ', map { "gw_limit l$_ key=\$uri rate=1r/s;" }
                      1 .. 17), qr/at most 16 limits/],
    ['global without gw_redis', loc('gw_limit a key=$uri rate=1r/s '
                                    . 'mode=global;'),
     qr/global mode needs gw_redis/],
    ['gw_limit_mode global without gw_redis',
     loc('gw_limit_mode global; gw_limit a key=$uri rate=1r/s;'),
     qr/global mode needs gw_redis/],
    ['a bad gw_limit_mode', loc('gw_limit_mode both;'), qr/invalid value "both"/],
    ['gw_limit_nodes 0', loc('gw_limit_nodes 0;'), qr/must be between 1 and 1024|value must be/],
    ['gw_limit_nodes 1025', loc('gw_limit_nodes 1025;'), qr/between 1 and 1024|value must be/],
    ['gw_limit_status 200', loc('gw_limit_status 200;'), qr/between 400 and 599|value must be/],
    ['a bad gw_limit_redis_down', loc('gw_limit_redis_down maybe;'),
     qr/invalid value "maybe"/],
    ['a bad gw_limit_zone_full', loc('gw_limit_zone_full evict;'),
     qr/invalid value "evict"/],
    ['gw_limit_key_max 8', loc('gw_limit_key_max 8;'),
     qr/gw_limit_key_max: 16 to 4096 bytes/],
    ['a zone without size', 'gw_limit_zone z;', qr/is not name:size/],
    ['a zone too small', 'gw_limit_zone z:4k;', qr/invalid size "4k"/],
    ['a zone twice', 'gw_limit_zone z:1m; gw_limit_zone z:2m;',
     qr/conflicts|already defined/],
    ['a zone never defined', loc('gw_limit a key=$uri rate=1r/s zone=nope;'),
     qr/zero size shared memory zone "nope"/],
    ['a plan with a key', 'gw_limit_plan gold a key=$uri rate=1r/s;',
     qr/a plan sets only rate=/],
    ['a plan twice', 'gw_limit_plan gold a rate=1r/s; '
                     . 'gw_limit_plan gold a quota=1/h;',
     qr/plan "gold" already sets limit "a"/],
    ['a plan with a bad limit name', 'gw_limit_plan gold "a b" rate=1r/s;',
     qr/invalid limit name "a b"/],
    ['a plan without values', 'gw_limit_plan gold a burst=3;',
     qr/rate= .* or quota= .* is required/],
    ['gw_limit_plan in a server', 'server { gw_limit_plan g a rate=1r/s; }',
     qr/"gw_limit_plan" directive is not allowed here/],
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok(!$ok, "nginx -t fails: $name");
    like($out, qr/\[emerg\].*$re/, "  and says why: $name") or diag $out;
}

my @good = (
    ['every parameter', loc('gw_limit a key=$uri rate=10r/s burst=20 '
                            . 'delay=5 mode=local zone=z; '
                            . 'gw_limit b key=$host$uri quota=1000/h; '
                            . 'gw_limit c key=$uri quota=5/30s; '
                            . 'gw_limit d key=$uri rate=600r/m nodelay;',
                            'gw_limit_zone z:1m;')],
    ['an exact quota at its cap', loc('gw_limit a key=$uri '
                                      . 'quota=10000/h exact;')],
    ['an exact plan at its cap', loc('gw_limit a key=$uri quota=1/h;',
                                     'gw_limit_plan gold a '
                                     . 'quota=10000/h exact;')],
    ['a zone defined after its use', loc('gw_limit a key=$uri rate=1r/s '
                                         . 'zone=late;')
                                     . ' gw_limit_zone late:64k;'],
    ['the default zone sized by hand', loc('gw_limit a key=$uri rate=1r/s;',
                                           'gw_limit_zone gw_limit:1m;')],
    ['global with gw_redis', loc('gw_limit a key=$uri rate=1r/s '
                                 . 'mode=global;',
                                 'gw_redis 127.0.0.1:6379;')],
    ['lease and its directives', loc('gw_limit a key=$uri quota=100/m '
                                     . 'mode=lease; gw_limit_lease_ttl '
                                     . '250ms; gw_limit_lease_max 0.5%;',
                                     'gw_redis 127.0.0.1:6379; '
                                     . 'gw_limit_lease_zone 64k; '
                                     . 'gw_limit_lease_max 2%;')],
    ['gw_limit_mode lease, and a plan making a lease a rate',
     loc('gw_limit_mode lease; gw_limit a key=$uri quota=100/m;',
         'gw_redis 127.0.0.1:6379; gw_limit_plan gold a rate=5r/s;')],
    ['plans and every other directive', <<'EOC'],
        gw_redis 127.0.0.1:6379;
        gw_limit_plan gold a rate=100r/s burst=50 delay=10;
        gw_limit_plan gold b quota=1000000/d;
        gw_limit_plan free a rate=1r/s;
        gw_limit_plan intern b off;
        gw_limit_mode global;
        gw_limit_nodes 3;
        gw_limit_redis_down deny;
        gw_limit_status 503;
        gw_limit_headers off;
        gw_limit_legacy_headers on;
        gw_limit_dry_run on;
        gw_limit_key_max 1k;
        gw_limit_log_level warn;
        gw_limit_zone_full allow;
        gw_limit_plan_key $http_x_plan;
        gw_limit b key=$uri quota=10/m;
        server {
            gw_limit_redis_down allow;
            location / {
                gw_limit a key=$uri rate=1r/s mode=local;
                gw_limit_redis_down fallback;
                gw_limit_zone_full reject;
                proxy_pass http://127.0.0.1:1;
            }
            location /inherit {
                proxy_pass http://127.0.0.1:1;
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
