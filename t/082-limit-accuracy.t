# vi:ft=perl
#
# Rate-limit accuracy (docs/limit.md), issue 4's measure: two gateways on
# two ports sharing one Redis, concurrent clients hammering both over
# several windows: no window admits more than the global limit, and every
# window admits at least 99% of what an exact limiter admits from what the
# clients offered (all of the limit when they offer enough; on a loaded
# machine they may not, and the limiter is not to blame).  The same in
# lease mode (admissions leased to each gateway), with far fewer Redis
# scripts than requests, whether the clients offer more than the limit or
# less.  The same in local mode shows each
# gateway keeping its own count (together about twice the limit).  Also: a
# zone too small for its keys never forgets a state that still holds a
# limit (new keys get 503 limit-zone-full instead), and reuses the room of
# states that are fresh again.  Tollgate::LimitAccuracy does the hammering
# and counting.

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

accurate('global', $g);

# --- lease: as exact, with fewer round trips --------------------------------

my $s = Tollgate::LimitAccuracy::run(mode => 'lease', limit => $limit,
                                     window => 2, windows => 4,
                                     clients => 6);
diag $s->{summary};

is($s->{errors}, 0, 'lease: every answer is 200 or 429');
ok($s->{refused} > 0, "lease: the clients asked for more than the limit "
   . "($s->{requests} requests)");
accurate('lease', $s);
ok($s->{scripts} < 0.5 * $s->{requests},
   "lease: $s->{scripts} Redis scripts for $s->{requests} requests");

# under the limit: every request offered is admitted, mostly from leases

my $big = 100000;
my $u = Tollgate::LimitAccuracy::run(mode => 'lease', limit => $big,
                                     window => 2, windows => 2,
                                     clients => 2);
diag $u->{summary};

is($u->{refused} + $u->{errors}, 0, 'lease, under the limit: every '
   . "answer is 200 ($u->{requests} requests)");
for my $w (@{ $u->{windows} }) {
    is($w->{low}, $w->{offered}, "lease, under the limit: window at "
       . "$w->{start}: every request offered admitted ($w->{offered})");
}
ok($u->{scripts} < 0.2 * $u->{requests},
   "lease, under the limit: $u->{scripts} Redis scripts for "
   . "$u->{requests} requests");

# --- local: each gateway on its own -----------------------------------------

my $l = Tollgate::LimitAccuracy::run(mode => 'local', limit => $limit,
                                     window => 2, windows => 2,
                                     clients => 6);
diag $l->{summary};

is($l->{errors}, 0, 'local: every answer is 200 or 429');

for my $w (@{ $l->{windows} }) {
    my @per = map { $_ // 0 } @{ $w->{per_gw} };
    my @ideal = @{ $w->{ideal_gw} };
    ok($per[0] <= $limit && $per[1] <= $limit,
       "local: window at $w->{start}: each gateway at most the limit "
       . "(@per)");
    ok($per[0] >= 0.99 * $ideal[0] && $per[1] >= 0.99 * $ideal[1],
       "local: window at $w->{start}: each gateway admits its own count "
       . "of what it was offered (@per, an exact limiter each: @ideal)");
}

# --- a full zone: no client's keys make it forget another's ----------------
#
# Issue 12: a consumer who has used up a quota of 2 an hour, then 1,500
# fresh keys of the client's choosing, first on another route sharing the
# zone, then on the same route.  The zone fills with live states; the
# consumer stays refused, and the flood's new keys get 503
# limit-zone-full, counted and logged once.  Every state here holds for an
# hour or more, so nothing depends on how fast the requests go.

my $gw = Tollgate::Gateway->start(workers => 2, http => <<'_EOC_');
    gw_limit_zone tiny:32k;
    gw_limit_zone fast:32k;
    gw_metrics_zone 1m;
    server {
        listen $PORT;
        location = /up {
            gw_metrics off;
            return 200 "ok\n";
        }
        location = /metrics {
            gw_metrics off;
            gw_metrics_endpoint;
        }
        location /x {
            gw_route x;
            gw_limit quota key=$http_x_key quota=2/h zone=tiny;
            add_header X-Limit $gw_limit_status always;
            proxy_pass http://127.0.0.1:$server_port/up;
        }
        location /y {
            gw_route y;
            gw_limit other key=$http_x_key quota=1/h zone=tiny;
            add_header X-Limit $gw_limit_status always;
            proxy_pass http://127.0.0.1:$server_port/up;
        }
        location /both {
            gw_route both;
            gw_limit quota key=$http_x_key quota=2/h zone=tiny;
            gw_limit other key=$http_x_other quota=1/h zone=tiny;
            proxy_pass http://127.0.0.1:$server_port/up;
        }
        location /open {
            gw_route open;
            gw_limit_zone_full allow;
            gw_limit other key=$http_x_key quota=1/h zone=tiny;
            add_header X-Limit $gw_limit_status always;
            proxy_pass http://127.0.0.1:$server_port/up;
        }
        location /fast {
            gw_route fast;
            gw_limit f key=$arg_k rate=1000r/s zone=fast;
            proxy_pass http://127.0.0.1:$server_port/up;
        }
    }
_EOC_

$SIG{PIPE} = 'IGNORE';

my @victim = ('X-Key' => 'consumer-a');

is(join(' ', map { scalar exchange($gw->port, '/x', @victim) } 1 .. 3),
   '200 200 429', 'the consumer uses up quota=2/h');

my (%codes, $full);
for my $i (1 .. 1500) {
    my ($st, $h, $body) = exchange($gw->port, '/y', 'X-Key' => "y-$i");
    $codes{$st}++;
    $full //= [$h, $body] if $st == 503;
}
ok($codes{200} && $codes{503} && keys %codes == 2,
   'another route: fresh keys pass until the zone is full, then 503 '
   . '(' . join(', ', map { "$_: $codes{$_}" } sort keys %codes) . ')');
my $admitted = $codes{200} // 0;
my $refused_y = $codes{503} // 0;
like($full->[1] // '',
     qr/^\{"type":"urn:tollgate:problem:limit-zone-full","title":"Rate limit zone full","status":503,"detail":"limit \\"other\\" cannot count a new key now; try again later","request_id":"[0-9a-f]{32}"\}$/,
     'the answer once the zone is full: a limit-zone-full problem');
like($full->[0] // '', qr/^X-Limit: zone_full\r?$/mi,
     '$gw_limit_status is zone_full');

is(scalar exchange($gw->port, '/x', @victim), 429,
   'after the flood on another route the consumer is still refused');
is(scalar exchange($gw->port, '/y', 'X-Key' => 'y-1'), 429,
   'a key the zone holds is still decided (the flood\'s first, at 1/h)');

%codes = ();
for my $i (1 .. 1500) {
    $codes{ exchange($gw->port, '/x', 'X-Key' => "x-$i") }++;
}
is_deeply(\%codes, { 503 => 1500 },
          'the same route: every fresh key is refused with 503');
is(scalar exchange($gw->port, '/x', @victim), 429,
   'after the flood on the same route the consumer is still refused');

is(scalar exchange($gw->port, '/both', @victim, 'X-Other' => 'new-1'), 429,
   'a request refused by one limit is told so (429), though another has '
   . 'no room for its new key');

my ($st, $h) = exchange($gw->port, '/open', 'X-Key' => 'open-1');
is($st, 200, 'gw_limit_zone_full allow: a new key passes unlimited');
like($h, qr/^X-Limit: zone_full\r?$/mi, 'and is marked zone_full');

my (undef, undef, $m) = exchange($gw->port, '/metrics');
like($m, qr/^gw_limit_decisions_total\{route="y",decision="zone_full"\} $refused_y\r?$/m,
     "the metric counts the $refused_y refused on /y");
like($m, qr/^gw_limit_decisions_total\{route="x",decision="zone_full"\} 1500\r?$/m,
     'and the 1500 on /x');
like($m, qr/^gw_limit_decisions_total\{route="open",decision="zone_full"\} 1\r?$/m,
     'and the one let through on /open');

# a zone of states that have become fresh again reuses their room

%codes = ();
for my $i (1 .. 3000) {
    $codes{ exchange($gw->port, "/fast?k=key-$i") }++;
}
is_deeply(\%codes, { 200 => 3000 },
          '3000 keys at 1000r/s through a 32 KB zone: entries that are '
          . 'fresh again make room, every first request passes');

my @log = $gw->error_log;
ok(!(grep { /\[(?:error|crit|alert|emerg)\]|signal/ } @log),
   'no error, no crash')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @log;
is(scalar(grep { /\[warn\].*gw_limit: zone "tiny" has no room for new keys/ }
          @log), 1, 'the full zone is logged once, at warn')
    or diag join '', grep { /no room/ } @log;
ok(!(grep { /zone "fast" has no room/ } @log),
   'the zone of fresh states never ran out of room');
is(scalar(grep { /\[info\].*gw_limit: limit "other": zone "tiny" has no room for a new key, refused, client/ }
          @log), $refused_y, 'each refusal for want of room is logged at info');
ok((grep { /\[info\].*gw_limit: limit "quota" exceeded, client/ } @log),
   'the refusal is logged at info, naming the limit');
$gw->stop;

done_testing();


# a shared limit's windows against the limit and against what the clients
# offered (an exact limiter's admissions, replayed)
sub accurate {
    my ($mode, $res) = @_;
    for my $w (@{ $res->{windows} }) {
        my $per = join '/', map { $_ // 0 } @{ $w->{per_gw} };
        ok($w->{high} <= $limit,
           "$mode: window at $w->{start}: at most $w->{high} <= $limit");
        ok($w->{low} >= 0.99 * $w->{ideal},
           "$mode: window at $w->{start}: admitted $w->{low} >= 99% of "
           . "the $w->{ideal} an exact limiter admits from the "
           . "$w->{offered} offered (by gateway $per)");
        ok((grep { ($_ // 0) > 0 } @{ $w->{per_gw} }) == 2,
           "$mode: both gateways admitted some ($per)");
    }
    ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ } @{ $res->{log} }),
       "$mode: no error in the logs")
        or diag join '',
               grep { /\[(?:error|crit|alert|emerg)\]/ } @{ $res->{log} };
}


# one request on a kept-alive connection, opened again when nginx closes
# it (keepalive_requests): the status, or (status, header, body)
my $sock;

sub exchange {
    my ($port, $path, %h) = @_;
    my $more = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    $sock //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                    PeerPort => $port, Proto => 'tcp')
        or die "connect: $!";
    my $s = $sock;
    print $s "GET $path HTTP/1.1\r\nHost: z\r\n$more\r\n";
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
    return wantarray ? ($st, $h, $body) : $st;
}
