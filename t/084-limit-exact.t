# vi:ft=perl
#
# Exact quotas and requests counted once (docs/limit.md, issue 13):
#
#   - "quota=5/2s exact", local and global: keys started at several
#     offsets into a window, each hammered by two clients at once; in
#     every 2-second span of the times the gateway admitted a key's
#     requests at, at most 5.  Local: the time is the answer's $msec,
#     which is the decision's own clock reading (the answer is made in the
#     same pass as the decision).  Global: the times are read from the
#     key's log in Redis after each admission, and every admission the
#     clients saw must be there.
#   - an internal redirect (try_files to a named location, error_page
#     after an upstream's 404) into a location with limits of its own does
#     not count the request again;
#   - a local limit refusing a request that also has a global limit: Redis
#     is not asked (its count stays), and when the local limit refuses
#     only after Redis admitted (two requests racing for the last local
#     room while Redis was paused), Redis' admission is given back.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;
use Tollgate::Redis;

my $N = 5;
my $W = 2;

my $redis = Tollgate::Redis->start;
my $rport = $redis->port;

my $gw = Tollgate::Gateway->start(workers => 2, http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    gw_redis_timeout 5s;

    server {
        listen \$PORT;

        location = /up {
            return 200 "ok\\n";
        }

        location = /missing {
            return 404;
        }

        location /local {
            gw_limit x key=\$arg_k quota=$N/${W}s exact;
            add_header X-Msec \$msec always;
            empty_gif;
        }

        location /global {
            gw_limit x key=\$arg_k quota=$N/${W}s exact mode=global;
            empty_gif;
        }

        location /try {
            gw_limit a key=\$arg_k quota=3/h;
            root /nonexistent;
            try_files /nothing-here \@named;
        }

        location \@named {
            gw_limit b key=\$arg_k quota=1/h;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /err {
            gw_limit e key=\$arg_k quota=2/h;
            proxy_intercept_errors on;
            error_page 404 = \@fallback;
            proxy_pass http://127.0.0.1:\$server_port/missing;
        }

        location \@fallback {
            gw_limit f key=\$arg_k quota=1/h;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }

        location /mixed {
            gw_limit loc key=\$arg_k rate=1r/m;
            gw_limit glob key=\$arg_k quota=10/h mode=global;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
    }
_EOC_

$SIG{PIPE} = 'IGNORE';

# one GET on its own connection: (status, headers)
sub exchange {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $gw->port,
                                  Timeout => 10) or return (0, {});
    print $s "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    my ($head) = split /\r\n\r\n/, $resp, 2;
    my ($st) = ($head // '') =~ m{^HTTP/1\.1 (\d+)};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () }
            split /\r\n/, $head // '';
    return ($st // 0, \%h);
}

# a RESP GET of a binary value on a connection of our own
my $rs;
sub redis_get {
    my ($key) = @_;
    $rs //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $rport) or die "redis: $!";
    print $rs '*2' . "\r\n\$3\r\nGET\r\n\$" . length($key) . "\r\n$key\r\n";
    my $line = <$rs>;
    return undef if $line =~ /^\$-1/;
    my ($len) = $line =~ /^\$(\d+)/ or die "redis: $line";
    my $buf = '';
    read($rs, $buf, $len + 2, 0) while length($buf) < $len + 2;
    return substr($buf, 0, $len);
}

# the times of an exact log's ring, in microseconds
sub ring_times {
    my ($v) = @_;
    return () unless defined $v && length $v >= 12;
    my ($cap, $head, $n) = unpack 'VVV', $v;
    return map { unpack 'd<', substr($v, 12 + 8 * (($head + $_) % $cap), 8) }
           0 .. $n - 1;
}

# the most times (sorted) in a half-open span of length $w
sub max_in_span {
    my ($w, @t) = @_;
    my ($j, $best) = (0, 0);
    for my $i (0 .. $#t) {
        $j++ while $t[$i] - $t[$j] >= $w;
        $best = $i - $j + 1 if $i - $j + 1 > $best;
    }
    return $best;
}

# keys started at several offsets into a window, two clients each for
# 4.5 s; each client writes "status time" lines to a file of its own
sub hammer {
    my ($mode) = @_;
    my $dir = $gw->dir;
    my @offsets = (0.1, 0.5, 0.9, 1.3, 1.7);
    my $base = (int(time / $W) + 1) * $W;
    my @pids;

    for my $i (0 .. $#offsets) {
        for my $c (0, 1) {
            my $pid = fork // die "fork: $!";
            if ($pid == 0) {
                my $key = "$mode-$i";
                my $start = $base + $offsets[$i];
                sleep $start - time if $start > time;
                open my $out, '>', "$dir/$mode-$i-$c" or POSIX::_exit(1);
                while (time < $start + 4.5) {
                    my ($st, $h) = exchange("/$mode?k=$key");
                    my $t = $h->{'x-msec'} // '';
                    if ($mode eq 'global' && $st == 200) {
                        $t = join ',', ring_times(redis_get(
                            "gw:limit:x:l:$key"));
                    }
                    print $out "$st $t\n";
                }
                close $out;
                POSIX::_exit(0);
            }
            push @pids, $pid;
        }
    }

    waitpid $_, 0 for @pids;

    my %r;
    for my $i (0 .. $#offsets) {
        for my $c (0, 1) {
            open my $in, '<', "$dir/$mode-$i-$c" or next;
            while (<$in>) {
                my ($st, $t) = split;
                push @{ $r{$i}{st} }, $st;
                push @{ $r{$i}{t} }, split /,/, $t // '' if $st == 200;
            }
        }
    }

    return \%r;
}

# --- exact, local: the answers' own times -----------------------------------

my $r = hammer('local');

for my $i (sort keys %$r) {
    my @st = @{ $r->{$i}{st} };
    my @t = sort { $a <=> $b } @{ $r->{$i}{t} };
    my $ok = grep { $_ == 200 } @st;
    is(scalar(grep { $_ != 200 && $_ != 429 } @st), 0,
       "local key $i: every answer 200 or 429");
    ok($ok >= $N && (grep { $_ == 429 } @st),
       "local key $i: hammered ($ok admitted of " . @st . ')');
    is(scalar @t, $ok, "local key $i: each admission has its time");
    my $most = max_in_span($W, @t);
    ok($most <= $N, "local key $i: at most $most <= $N admitted in any "
       . "${W} s span");
}

# --- exact, global: the log in Redis ----------------------------------------

$r = hammer('global');

for my $i (sort keys %$r) {
    my @st = @{ $r->{$i}{st} };
    my %seen = map { $_ => 1 } @{ $r->{$i}{t} };
    my @t = sort { $a <=> $b } keys %seen;
    my $ok = grep { $_ == 200 } @st;
    is(scalar(grep { $_ != 200 && $_ != 429 } @st), 0,
       "global key $i: every answer 200 or 429");
    ok($ok >= $N && (grep { $_ == 429 } @st),
       "global key $i: hammered ($ok admitted of " . @st . ')');
    is(scalar @t, $ok, "global key $i: every admission is in Redis' log "
       . "(" . scalar(@t) . " times)");
    my $most = max_in_span($W * 1e6, @t);
    ok($most <= $N, "global key $i: at most $most <= $N admitted in any "
       . "${W} s span");
}

my $v = redis_get('gw:limit:x:l:global-0');
ok(!defined $v || length $v == 12 + 8 * $N,
   'the log in Redis: 12 + 8 N bytes');

# --- counted once across internal redirects --------------------------------

is(join(' ', map { (exchange('/try?k=t'))[0] } 1 .. 4), '200 200 200 429',
   'try_files into a named location with its own quota=1/h: counted by '
   . 'the first location only (3/h)');
my (undef, $h) = exchange('/try?k=t2');
like($h->{'ratelimit-policy'} // '', qr/^"a";q=3;w=3600$/,
     'the answer carries the fields of the limit that decided');

is(join(' ', map { (exchange('/err?k=e'))[0] } 1 .. 3), '200 200 429',
   'error_page after an upstream 404 into a location with quota=1/h: '
   . 'counted once (2/h)');

# --- local limits first; Redis' admission given back -----------------------

is(join(' ', map { (exchange('/mixed?k=m'))[0] } 1 .. 3), '200 429 429',
   'mixed: the local rate refuses the second and third');
is($redis->cli('HGET', 'gw:limit:glob:q:m', 'b'), 1,
   'Redis was not asked for the refused ones: the global count is 1');

# two requests race for the one local admission while Redis is paused:
# both pass the local check, both are admitted by Redis, one then finds the
# local room taken and gives Redis' admission back

$redis->pause;
my @kids;
for (1 .. 2) {
    my $pid = fork // die;
    if ($pid == 0) {
        my ($st) = exchange('/mixed?k=race');
        POSIX::_exit($st == 200 ? 0 : $st == 429 ? 1 : 2);
    }
    push @kids, $pid;
}
sleep 0.5;          # lets both reach Redis' queue; not asserted on
$redis->resume;
my @rc = map { waitpid($_, 0); $? >> 8 } @kids;
is(join(' ', sort @rc), '0 1', 'the race: one 200, one 429');

my $count;
for (1 .. 50) {
    $count = $redis->cli('HGET', 'gw:limit:glob:q:race', 'b');
    last if $count == 1;
    sleep 0.1;
}
is($count, 1, 'the global quota counts the admitted request only');

my @log = $gw->error_log;
is(scalar(grep { /\[info\].*a local limit refused what Redis admitted: 1 /
               } @log), 1, 'the give back is logged once, at info');
ok(!(grep { /\[(?:error|crit|alert|emerg)\]/ } @log), 'no error in the log')
    or diag join '', grep { /\[(?:error|crit|alert|emerg)\]/ } @log;

$gw->stop;

done_testing();
