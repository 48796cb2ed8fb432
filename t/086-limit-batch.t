# vi:ft=perl
#
# Coalesced global limits (gw_limit_batch, docs/limit.md): concurrent
# requests of one key decided by fewer script runs, each answered exactly
# as if decided alone.  A burst on one key, with one worker and with two,
# admits exactly what an exact limiter admits (burst + 1 of a rate, the
# quota of a quota), counted from the answers and from Redis' state; each
# admitted request carries its own RateLimit (remaining burst - i, reset
# (i + 1) intervals: one each, none twice), each refused one Retry-After.
# gw_limit_batch 1 gives the same answers with one script per request.
# Redis paused with a batch waiting: every member fails closed as before
# (deny: 503; fallback: the local share).  Clients that go away while
# their batch waits leave it cleanly.  An exact quota is never batched.
#
# Plain Test::More with Tollgate::Gateway instances, many sockets at once.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::Redis;

$SIG{PIPE} = 'IGNORE';

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;

my $http = <<"_EOC_";
    gw_redis 127.0.0.1:$rport;
    gw_redis_timeout 3s;
    gw_redis_stall_timeouts 0;
    gw_limit_nodes 2;

    server {
        listen \$PORT reuseport;

        location = /up {
            return 200 "ok\\n";
        }

        location /r {
            gw_limit b key=\$arg_k rate=1r/m burst=19 mode=global;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /r1 {
            gw_limit_batch 1;
            gw_limit b key=\$arg_k rate=1r/m burst=19 mode=global;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /q {
            gw_limit hq key=\$arg_k quota=10/h mode=global;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /x {
            gw_limit hx key=\$arg_k quota=10/h exact mode=global;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /deny {
            gw_limit_redis_down deny;
            gw_limit d key=\$arg_k rate=1r/m burst=19 mode=global;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /fallback {
            gw_limit f key=\$arg_k rate=1r/m burst=9 mode=global;
            add_header X-Limit \$gw_limit_status always;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
    }
_EOC_

my $gw1 = Tollgate::Gateway->start(workers => 1, http => $http);
my $gw2 = Tollgate::Gateway->start(workers => 2, http => $http);

# the limit scripts Redis ran to the end since the last reset
sub scripts {
    my $n = 0;
    for (split /\r?\n/, $redis->cli('INFO', 'commandstats')) {
        next unless /^cmdstat_eval(?:sha)?:calls=(\d+)/;
        my $calls = $1;
        my ($failed) = /failed_calls=(\d+)/;
        my ($rejected) = /rejected_calls=(\d+)/;
        $n += $calls - ($failed // 0) - ($rejected // 0);
    }
    return $n;
}

# opens n connections and sends a GET of path on each, at once
sub send_all {
    my ($gw, $path, $n) = @_;
    my @s;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $gw->port, Timeout => 10)
            or die "connect: $!";
        push @s, $s;
    }
    syswrite $_, "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for @s;
    return @s;
}

# reads every answer (each connection to its end): the parsed answers
sub read_all {
    my (@s) = @_;
    my %buf;
    my $sel = IO::Select->new(@s);
    my $deadline = time + 15;
    while ($sel->count && time < $deadline) {
        for my $s ($sel->can_read(1)) {
            my $n = sysread $s, my $b, 65536;
            if ($n) {
                $buf{$s} .= $b;
            } else {
                $sel->remove($s);
                close $s;
            }
        }
    }
    return map { Tollgate::Gateway::parse_response($buf{$_} // '') } @s;
}

sub burst {
    my ($gw, $path, $n) = @_;
    return read_all(send_all($gw, $path, $n));
}

# what Redis' TAT says was admitted at once: (TAT - now) / interval
sub admitted_by_redis {
    my ($key, $interval) = @_;
    my $tat = $redis->cli('GET', $key) || 0;
    my ($s, $us) = split /\n/, $redis->cli('TIME');
    my $now = $s * 1e6 + $us;
    return $tat > $now ? int(($tat - $now) / $interval + 0.999) : 0;
}

sub statuses {
    my %n;
    $n{ $_->{status} }++ for @_;
    return join ' ', map { "$_:$n{$_}" } sort keys %n;
}

# each admitted answer's RateLimit: remaining burst - i and reset
# (i + 1) minutes, i from 0 to burst, each once; each refusal 429 with
# Retry-After 60 and r=0
sub check_answers {
    my ($what, $name, $burst, @res) = @_;
    my ($ok_t, $ok_refused, @r) = (1, 1);
    for my $res (@res) {
        my ($r, $t) = ($res->{headers}{ratelimit} // '')
                      =~ /^"\Q$name\E";r=(\d+);t=(\d+)$/;
        if ($res->{status} == 200) {
            push @r, $r // -1;
            $ok_t = 0 unless defined $t && $t == ($burst + 1 - $r) * 60;
        } else {
            $ok_refused = 0 unless $res->{status} == 429
                && ($res->{headers}{'retry-after'} // '') eq '60'
                && defined $r && $r == 0 && $t == ($burst + 1) * 60;
        }
    }
    is(join(',', sort { $a <=> $b } @r), join(',', 0 .. $burst),
       "$what: the admitted ones got remaining $burst down to 0, one each");
    ok($ok_t, "$what: and reset (i + 1) intervals, each its own");
    ok($ok_refused, "$what: every refused one 429, Retry-After 60, r=0");
}

# --- a burst on one key, one worker and two -----------------------------------

for my $case ([$gw1, 'one worker', 'w1'], [$gw2, 'two workers', 'w2']) {
    my ($gw, $what, $k) = @$case;

    $redis->cli('CONFIG', 'RESETSTAT');

    # Redis paused while the burst arrives: what comes waits, gathered
    $redis->pause;
    my @s = send_all($gw, "/r?k=$k", 60);
    sleep 0.3;          # lets nginx read them; not asserted on
    $redis->resume;
    my @res = read_all(@s);

    is(statuses(@res), '200:20 429:40',
       "$what: 60 at once on rate=1r/m burst=19: exactly 20 admitted");
    is(admitted_by_redis("gw:limit:b:r:$k", 60e6), 20,
       "$what: Redis' state counts exactly 20");
    check_answers($what, 'b', 19, @res);

    my $runs = scripts();
    ok($runs < 60, "$what: fewer script runs than requests ($runs for 60)");

    # the same burst, batching off: the same answers, a script each

    $redis->cli('CONFIG', 'RESETSTAT');
    @res = burst($gw, "/r1?k=$k-single", 60);
    is(statuses(@res), '200:20 429:40',
       "$what, gw_limit_batch 1: exactly 20 admitted");
    check_answers("$what, gw_limit_batch 1", 'b', 19, @res);
    is(scripts(), 60, "$what, gw_limit_batch 1: one script per request");

    my $r = $gw->get("/r?k=$k");
    is($r->{status}, 429, "$what: the key is spent for the next one too");
    is($r->{headers}{'x-limit'}, 'rejected', '$gw_limit_status rejected');
}

# --- a quota, batched the same way ---------------------------------------------

$redis->pause;
my @s = send_all($gw2, '/q?k=q', 30);
sleep 0.3;
$redis->resume;
my @res = read_all(@s);
is(statuses(@res), '200:10 429:20', 'quota=10/h: 30 at once, exactly 10 admitted');
is($redis->cli('HGET', 'gw:limit:hq:q:q', 'b'), 10, 'Redis counts 10');
is(join(',', sort { $a <=> $b } map {
       ($_->{headers}{ratelimit} // '') =~ /r=(\d+)/ ? $1 : -1
   } grep { $_->{status} == 200 } @res), join(',', 0 .. 9),
   'the admitted ones got remaining 9 down to 0, one each');

# --- an exact quota is decided request by request ------------------------------

$redis->cli('CONFIG', 'RESETSTAT');
@res = burst($gw1, '/x?k=x', 15);
is(statuses(@res), '200:10 429:5', 'exact quota=10/h: exactly 10 of 15');
is(scripts(), 15, 'one script per request: an exact quota is not batched');

# --- Redis paused with a batch waiting: every member fails closed --------------

$redis->pause;
@res = burst($gw1, '/deny?k=p', 12);
$redis->resume;
is(statuses(@res), '503:12', 'deny: all 12 members of the stalled batch 503');
is(scalar(grep { $_->{body} =~ /limit-unavailable/ } @res), 12,
   'each a limit-unavailable problem');

$redis->pause;
@res = burst($gw1, '/fallback?k=p', 12);
$redis->resume;
is(statuses(@res), '200:5 429:7',
   'fallback: the local share (burst 9 / 2 nodes: 5 of 12)');
is(scalar(grep { ($_->{headers}{'x-limit'} // '') =~ /degraded|rejected/ }
          @res), 12, '$gw_limit_status degraded or rejected');

is($gw1->get('/fallback?k=after')->{status}, 200,
   'Redis answers again: the next request is decided');
is($gw1->get('/fallback?k=after')->{headers}{'x-limit'}, 'passed',
   'globally again');

# --- clients that go away while their batch waits -------------------------------

my ($wpid) = $gw1->workers;
$redis->pause;
@s = send_all($gw1, '/r?k=abort', 8);
sleep 0.3;
close $_ for @s[0 .. 4];
sleep 0.3;          # lets nginx notice; not asserted on
$redis->resume;
@res = read_all(@s[5 .. 7]);
is(statuses(@res), '200:3', 'the 3 that stayed are answered');
my $n = admitted_by_redis('gw:limit:b:r:abort', 60e6);
ok($n >= 3 && $n <= 8, "Redis counted those and at most the others ($n)");
is($gw1->get('/r?k=abort')->{status}, 200, 'the key still works');

# every member of a waiting batch gone: the batch is dropped
$redis->pause;
@s = send_all($gw1, '/r?k=gone', 5);
sleep 0.3;
close $_ for @s;
sleep 0.3;
$redis->resume;
my $r = $gw1->get('/r?k=gone');
is($r->{status}, 200, 'a batch whose members all left: the key works after');
my ($rem) = ($r->{headers}{ratelimit} // '') =~ /r=(\d+)/;
ok(defined $rem && $rem >= 19 - 5 && $rem <= 18,
   "and counts what Redis saw (remaining $rem)");
is(($gw1->workers)[0], $wpid, 'the worker is the same one: nothing crashed');

my @log = ($gw1->error_log, $gw2->error_log);
ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ } @log), 'no error in the logs')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @log;
ok(!(grep { /signal \d+|exited on/ } @log), 'no worker died');

# --- configuration --------------------------------------------------------------

for my $bad (0, 1025, 'x') {
    my $g = eval {
        Tollgate::Gateway->start(http => "gw_limit_batch $bad;\n$http");
    };
    ok(!$g, "gw_limit_batch $bad is refused");
    $g->stop if $g;
}

$gw1->stop;
$gw2->stop;

done_testing();
