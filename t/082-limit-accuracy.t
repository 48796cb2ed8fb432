# vi:ft=perl
#
# Rate-limit accuracy (docs/limit.md), issue 4's measure: two gateways on
# two ports sharing one Redis, concurrent clients hammering both over
# several windows: no window admits more than the global limit, and every
# window admits at least 99% of it.  The same in local mode shows each
# gateway keeping its own count (together about twice the limit).  Also: a
# zone far too small for its keys evicts the oldest and keeps answering.
# Tollgate::LimitAccuracy does the hammering and counting.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use IO::Socket::INET;
use Test::More;
use Tollgate::Gateway;
use Tollgate::LimitAccuracy;

my $limit = 1000;

# --- global: exact across gateways ------------------------------------------

my $g = Tollgate::LimitAccuracy::run(mode => 'global', limit => $limit,
                                     window => 2, windows => 4,
                                     clients => 6);
diag $g->{summary};

is($g->{errors}, 0, 'global: every answer is 200 or 429');
ok($g->{refused} > 0, "global: the clients asked for more than the limit "
   . "($g->{requests} requests)");

for my $w (@{ $g->{windows} }) {
    my $per = join '/', map { $_ // 0 } @{ $w->{per_gw} };
    ok($w->{high} <= $limit,
       "global: window at $w->{start}: at most $w->{high} <= $limit");
    ok($w->{low} >= 0.99 * $limit,
       "global: window at $w->{start}: at least $w->{low} >= 99% "
       . "(by gateway $per)");
    ok((grep { ($_ // 0) > 0 } @{ $w->{per_gw} }) == 2,
       "global: both gateways admitted some ($per)");
}

ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ } @{ $g->{log} }),
   'global: no error in the logs')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @{ $g->{log} };

# --- local: each gateway on its own -----------------------------------------

my $l = Tollgate::LimitAccuracy::run(mode => 'local', limit => $limit,
                                     window => 2, windows => 2,
                                     clients => 6);
diag $l->{summary};

is($l->{errors}, 0, 'local: every answer is 200 or 429');

for my $w (@{ $l->{windows} }) {
    my @per = map { $_ // 0 } @{ $w->{per_gw} };
    ok($per[0] <= $limit && $per[1] <= $limit,
       "local: window at $w->{start}: each gateway at most the limit "
       . "(@per)");
    ok($w->{low} > 1.9 * $limit,
       "local: window at $w->{start}: together about twice the limit "
       . "($w->{low})");
}

# --- a full zone ------------------------------------------------------------

my $gw = Tollgate::Gateway->start(workers => 2, http => <<'_EOC_');
    gw_limit_zone tiny:32k;
    server {
        listen $PORT;
        location = /up {
            return 200 "ok\n";
        }
        location /z {
            gw_limit z key=$arg_k rate=1r/m zone=tiny;
            proxy_pass http://127.0.0.1:$server_port/up;
        }
    }
_EOC_

$SIG{PIPE} = 'IGNORE';

my %codes;
for my $i (1 .. 3000) {
    my $st = exchange($gw->port, "/z?k=key-$i");
    $codes{$st}++;
}
is_deeply(\%codes, { 200 => 3000 },
          '3000 keys through a 32 KB zone: every first request passes');
is(exchange($gw->port, '/z?k=key-3000'), 429,
   'the newest key is still held');
is(exchange($gw->port, '/z?k=key-1'), 200, 'the oldest was evicted: fresh');

my @log = $gw->error_log;
ok(!(grep { /\[(?:error|crit|alert|emerg)\]|no room|signal/ } @log),
   'no error, no crash')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @log;
ok((grep { /\[info\].*gw_limit: limit "z" exceeded, client/ } @log),
   'the refusal is logged at info, naming the limit');
$gw->stop;

done_testing();


# one request on a kept-alive connection, opened again when nginx closes
# it (keepalive_requests)
my $sock;

sub exchange {
    my ($port, $path) = @_;
    $sock //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                    PeerPort => $port, Proto => 'tcp')
        or die "connect: $!";
    my $s = $sock;
    print $s "GET $path HTTP/1.1\r\nHost: z\r\n\r\n";
    my $buf = '';
    while ($buf !~ /\r\n\r\n/) {
        sysread($s, $buf, 4096, length $buf) or return 0;
    }
    my ($h, $body) = split /\r\n\r\n/, $buf, 2;
    my ($len) = $h =~ /^Content-Length:\s*(\d+)/mi;
    while (length $body < ($len // 0)) {
        sysread($s, $body, 4096, length $body) or last;
    }
    my ($st) = $h =~ m{^HTTP/1\.1 (\d+)};
    undef $sock if $h =~ /^Connection:\s*close/mi;
    return $st;
}
