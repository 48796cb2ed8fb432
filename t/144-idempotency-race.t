# vi:ft=perl
#
# Two gateways racing on one Idempotency-Key (docs/idempotency.md): two
# nginx instances with two workers each share one Redis; ten clients,
# five on each gateway, send the same key and body at the same moment to
# a slow upstream.  Exactly one request reaches the upstream (it counts
# them); every other client gets 409 (in flight) or, if it came after
# the first completed, the replay.  Then every retry, on either gateway,
# gets the stored answer; a second race on a fresh key with ten
# different bodies lets one through and answers the nine others 422.
# Last, a gateway killed (SIGKILL) in the middle of a request leaves the
# key locked for its gw_idempotency_lock_ttl, and then another gateway
# runs the request.
#
# Real sockets opened together by this script (Test::Nginx sends one
# request at a time), against instances of Tollgate::Gateway.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Digest::SHA ();
use IO::Select ();
use IO::Socket::INET ();
use Test::More;
use Time::HiRes ();
use Tollgate::CountingUpstream;
use Tollgate::Gateway;
use Tollgate::Redis;

my $redis = Tollgate::Redis->start;
my $up = Tollgate::CountingUpstream->start;

my $http = <<"_EOC_";
    gw_redis 127.0.0.1:${\ $redis->port };
    gw_redis_timeout 5s;
    server {
        listen 127.0.0.1:\$PORT reuseport;
        location /api/ {
            gw_idempotency required;
            gw_idempotency_scope \$http_x_tenant;
            proxy_pass http://127.0.0.1:${\ $up->port };
        }
    }
_EOC_

my @gw = map { Tollgate::Gateway->start(workers => 2, http => $http) } 1 .. 2;

# race(\@requests): each [$gateway, $raw] on its own socket, all connected
# first, then all written, then all read; the parsed answers in order
sub race {
    my ($reqs) = @_;
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $_->[0]->port,
                              Proto => 'tcp', Timeout => 5)
            or die "connect: $!"
    } @$reqs;
    syswrite $socks[$_], $reqs->[$_][1] for 0 .. $#socks;
    my @resp = ('') x @socks;
    my %idx = map { fileno($socks[$_]) => $_ } 0 .. $#socks;
    my $sel = IO::Select->new(@socks);
    my $deadline = Time::HiRes::time() + 10;
    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $fh ($sel->can_read(1)) {
            my $n = sysread $fh, my $buf, 65536;
            if ($n) {
                $resp[$idx{fileno $fh}] .= $buf;
            } else {
                $sel->remove($fh);
                close $fh;
            }
        }
    }
    return map { Tollgate::Gateway::parse_response($_) } @resp;
}

sub req {
    my ($key, $body) = @_;
    return "POST /api/orders?delay=1000 HTTP/1.1\r\nHost: localhost\r\n"
           . "Connection: close\r\nX-Tenant: t1\r\n"
           . "Idempotency-Key: $key\r\nContent-Type: application/json\r\n"
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

# --- one key, one body, ten clients on two gateways ----------------------

my @res = race([ map { [ $gw[$_ % 2], req('"race-1"', '{"n":1}') ] } 0 .. 9 ]);

my @first = grep { $_->{status} == 201
                   && !exists $_->{headers}{'idempotent-replayed'} } @res;
my @busy = grep { $_->{status} == 409 } @res;
my @again = grep { $_->{status} == 201
                   && ($_->{headers}{'idempotent-replayed'} // '') eq 'true' }
            @res;

is(scalar @first, 1, 'exactly one client got the first answer');
is(@first + @busy + @again, 10,
   'each of the others got 409 (in flight) or the replay')
    or diag(join ', ', map { $_->{status} } @res);
note(scalar @busy . ' got 409, ' . scalar @again . ' the replay');
ok(!grep({ $_->{body} !~ /in-flight/ } @busy), 'the 409s say in flight');
ok(!grep({ $_->{body} ne $first[0]{body} } @again),
   'the replays carry the first body');
is($up->hits, 1, 'the upstream saw exactly one request');

# every retry, on either gateway, gets the stored answer

@res = race([ map { [ $gw[$_ % 2], req('"race-1"', '{"n":1}') ] } 0 .. 5 ]);
is(scalar(grep { $_->{status} == 201 && $_->{body} eq $first[0]{body}
                 && $_->{headers}{'idempotent-replayed'} eq 'true' } @res),
   6, 'six retries on both gateways: six replays of the first answer');
is($up->hits, 1, 'still one request upstream');

# --- a fresh key, ten different bodies --------------------------------

@res = race([ map { [ $gw[$_ % 2], req('"race-2"', "{\"n\":$_}") ] } 0 .. 9 ]);
is(scalar(grep { $_->{status} == 201 } @res), 1, 'one body wins the key');
is(scalar(grep { $_->{status} == 422 } @res), 9,
   'the nine others are 422 (the key holds another body)');
is($up->hits, 2, 'one more request upstream');

# --- a gateway that dies mid-request: its lock TTL frees the key ---------

(my $short = $http) =~ s/gw_idempotency required;/gw_idempotency required;
            gw_idempotency_lock_ttl 1s;/;
my $doomed = Tollgate::Gateway->start(workers => 1, http => $short);
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $doomed->port,
                              Proto => 'tcp') or die "connect: $!";
syswrite $s, req('"race-3"', '{"n":3}');
for (1 .. 100) {
    last if $up->hits > 2;
    Time::HiRes::sleep(0.02);
}
is($up->hits, 3, 'a third gateway took race-3 to the upstream');
kill 'KILL', -$doomed->pid;
waitpid($doomed->pid, 0);
delete $doomed->{pid};
close $s;

my ($r) = race([ [ $gw[0], req('"race-3"', '{"n":3}') ] ]);
is($r->{status}, 409, 'it died (kill -9): the key stays locked, 409');
my $pttl = $redis->cli('PTTL', 'gw:idem:'
                       . Digest::SHA::sha256_hex("t1\0race-3"));
ok($pttl > 0 && $pttl <= 1000, "for its lock TTL, 1s ($pttl ms left)");
Time::HiRes::sleep($pttl / 1000 + 0.2);
($r) = race([ [ $gw[1], req('"race-3"', '{"n":3}') ] ]);
is($r->{status}, 201, 'then another gateway runs the request');
is($up->hits, 4, 'which reaches the upstream');

for my $g (@gw) {
    my @bad = grep { /\[(?:error|crit|alert|emerg)\]/ } $g->error_log;
    ok(!@bad, 'gateway ' . $g->port . ': nothing logged at [error] or worse')
        or diag(@bad);
    $g->stop;
}

done_testing();
