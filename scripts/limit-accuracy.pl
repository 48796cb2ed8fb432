#!/usr/bin/perl
# How exactly two gateways share a rate limit (t/lib/Tollgate/LimitAccuracy.pm):
#     perl scripts/limit-accuracy.pl [--mode global|lease|local] [--limit N]
#         [--window SECONDS] [--windows N] [--clients N]
# prints each window's admitted requests, then one summary line.
# Needs a built module (make), redis-server and nginx.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Getopt::Long;
use Tollgate::LimitAccuracy;

my %opt = (mode => 'global');
GetOptions(\%opt, 'mode=s', 'limit=i', 'window=i', 'windows=i',
           'clients=i') or die "usage: $0 [--mode global|lease|local] ...\n";

my $res = Tollgate::LimitAccuracy::run(%opt);

for my $w (@{ $res->{windows} }) {
    printf "window at %d: admitted %d (%d to %d counting requests across "
        . "its edges; by gateway: %s); offered %d, an exact limiter "
        . "admits %d of them\n", $w->{start}, $w->{low}, $w->{low},
        $w->{high}, join('/', map { $_ // 0 } @{ $w->{per_gw} }),
        $w->{offered}, $w->{ideal};
}
printf "requests %d, refused %d, other answers %d\n", $res->{requests},
    $res->{refused}, $res->{errors};
print $res->{summary}, "\n";
