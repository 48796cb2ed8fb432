#!/usr/bin/perl
#
# The memory an exact quota ("quota=N/window exact", docs/limit.md) takes
# per key, measured: local mode, a 1 MB zone filled with new keys (one
# request each) until it answers 503 limit-zone-full, so bytes per key is
# the zone's size over the keys it held; global mode, Redis' MEMORY USAGE
# of one key's log once it holds N admissions.  For N = 10, 100, 1000 and
# the plain sliding-window counter beside them.  Run by `make bench`.
#
# Environment: TEST_NGINX_LOAD_MODULES (else the build's module).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Tollgate::Gateway;
use Tollgate::Redis;

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;
my @cases = (['counter', 'quota=10/h'], map { ["exact N=$_", "quota=$_/h exact"] }
             10, 100, 1000);

my $locs = '';
for my $i (0 .. $#cases) {
    $locs .= "location /l$i { gw_limit m$i key=\$arg_k $cases[$i][1] "
           . "zone=z$i; empty_gif; }\n"
           . "location /g$i { gw_limit m$i key=\$arg_k $cases[$i][1] "
           . "mode=global; empty_gif; }\n";
}
my $zones = join '', map { "gw_limit_zone z$_:1m;\n" } 0 .. $#cases;

my $gw = Tollgate::Gateway->start(log_level => 'warn', http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    $zones
    server {
        listen \$PORT;
        $locs
    }
_EOC_

printf "%-12s %18s %22s\n", 'limit', 'local B/key (1 MB)', 'Redis MEMORY USAGE B';

for my $i (0 .. $#cases) {
    my $keys = 0;
    while (1) {
        my $st = $gw->get("/l$i?k=key-$keys")->{status};
        last if $st != 200;
        $keys++;
        last if $keys > 100_000;
    }

    my ($n) = $cases[$i][1] =~ /quota=(\d+)/;
    $gw->get("/g$i?k=one") for 1 .. $n;
    my $kind = $cases[$i][1] =~ /exact/ ? 'l' : 'q';
    my $mem = $redis->cli('MEMORY', 'USAGE', "gw:limit:m$i:$kind:one");

    printf "%-12s %18.0f %22s\n", $cases[$i][0],
           $keys ? 1048576 / $keys : 0, $mem;
}

$gw->stop;
