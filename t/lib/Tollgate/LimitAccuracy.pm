package Tollgate::LimitAccuracy;

# How exactly two gateways share a rate limit: both start with a quota of
# LIMIT requests per WINDOW seconds on one key, in global mode (one Redis),
# lease mode (one Redis, admissions leased to each gateway: gw_limit_nodes
# 2) or local mode (each its own zone), and CLIENTS processes hammer them
# (half on each) with keep-alive requests for WINDOWS whole windows.  Each
# admitted request is put in the window (aligned to the epoch, as the
# limit's are) of the moment it was decided.  That moment lies between
# sending the request and its answer, and the answer's RateLimit field
# says (t=, whole seconds, rounded up) how far it was from its window's
# end: a window k fits when its last t seconds meet that interval.  A
# request that more than one window fits (an answer slower than a second)
# is counted in each for the upper bound and in none for the lower.
#
# What the clients offered decides what a window can admit: a loaded
# machine may send fewer requests than the limit.  So every answered
# request (admitted or refused) is also replayed, at the midpoint of its
# exchange, through the limit's own definition (the sliding-window counter
# of lib/limit/gw_limit.c): "ideal" is what an exact limiter admits in the
# window from what was offered, "offered" what was answered in it.  A
# limiter is accurate when each window admits at least 99% of its ideal
# (and never more than the limit), whatever the load.
#
#     my $res = Tollgate::LimitAccuracy::run(mode => 'global');
#     $res->{windows}: [ { start, low, high, offered, ideal,
#                          per_gw => [n, n], ideal_gw => [n, n] } ... ]
#     (ideal_gw: each gateway's offered replayed alone, for local mode)
#     $res->{limit}, $res->{requests}, $res->{refused}, $res->{errors}
#     $res->{scripts}: the limit scripts Redis ran (global, lease)
#     $res->{summary}: one line, e.g. "accuracy: global: ..."
#
# Redis (global mode) and the gateways are this process's children,
# through Tollgate::Redis and Tollgate::Gateway.  Used by
# t/082-limit-accuracy.t and by `make bench` (scripts/limit-accuracy.pl).

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(floor);
use Time::HiRes qw(time sleep);
use Tollgate::Gateway;
use Tollgate::Redis;

sub run {
    my (%opt) = @_;
    my $mode = $opt{mode} // 'global';
    my $limit = $opt{limit} // 1000;
    my $window = $opt{window} // 2;
    my $windows = $opt{windows} // 4;
    my $clients = $opt{clients} // 6;
    my $workers = $opt{workers} // 2;

    croak "mode is global, lease or local"
        unless $mode =~ /^(?:global|lease|local)$/;

    my ($redis, $redis_conf) = (undef, '');
    if ($mode ne 'local') {
        $redis = Tollgate::Redis->start;
        $redis_conf = 'gw_redis 127.0.0.1:' . $redis->port . ';'
            . ' gw_limit_nodes 2;';
    }

    my $http = <<"_EOC_";
    $redis_conf
    server {
        listen \$PORT reuseport;
        location = /up {
            return 200 "ok\\n";
        }
        location = /acc {
            gw_limit acc key=shared quota=$limit/${window}s mode=$mode;
            proxy_pass http://127.0.0.1:\$server_port/up;
        }
    }
_EOC_

    my @gw = map { Tollgate::Gateway->start(workers => $workers,
                                            http => $http) } 1 .. 2;

    # start on a window's edge, plus a little, and run WINDOWS + 1 windows
    # so that WINDOWS whole ones lie in between
    my $now = time;
    my $t0 = (floor($now / $window) + 1) * $window + 0.05;
    my $t1 = $t0 + ($windows + 1) * $window;

    my $dir = tempdir(CLEANUP => 1);
    my @pids;
    for my $c (0 .. $clients - 1) {
        my $g = $c % 2;
        my $pid = fork;
        croak "fork: $!" unless defined $pid;
        if ($pid == 0) {
            _client($gw[$g]->port, $t0, $t1, "$dir/$c", $g);
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    waitpid $_, 0 for @pids;

    my (@ok, @answered);
    my ($requests, $refused, $errors) = (0, 0, 0);
    for my $c (0 .. $clients - 1) {
        open my $fh, '<', "$dir/$c" or croak "client $c left no results";
        while (<$fh>) {
            my ($g, $st, $sent, $got, $t) = split;
            $requests++;
            if ($st == 200 || $st == 429) {
                my @fit = _windows($sent, $got, $t, $window);
                push @ok, [$g, @fit] if $st == 200;
                push @answered, [($sent + $got) / 2, $g, @fit];
            }
            if ($st == 429) {
                $refused++;
            } elsif ($st != 200) {
                $errors++;
            }
        }
    }

    my %ideal = _replay($limit, $window, map { $_->[0] } @answered);
    my @ideal_gw = map {
        my $g = $_;
        +{ _replay($limit, $window,
                   map { $_->[1] == $g ? $_->[0] : () } @answered) };
    } 0, 1;

    # the whole windows: from the first edge after t0
    my $first = floor($t0 / $window) + 1;
    my @w;
    for my $i (0 .. $windows - 1) {
        my $idx = $first + $i;
        my ($low, $high, @per) = (0, 0, 0, 0);
        for my $r (@ok) {
            my ($g, @fit) = @$r;
            next unless grep { $_ == $idx } @fit;
            $high++;
            next unless @fit == 1;
            $low++;
            $per[$g]++;
        }
        my $offered = grep { @$_ == 3 && $_->[2] == $idx } @answered;
        push @w, { start => $idx * $window, low => $low, high => $high,
                   per_gw => \@per, offered => $offered,
                   ideal => $ideal{$idx} // 0,
                   ideal_gw => [ map { $_->{$idx} // 0 } @ideal_gw ] };
    }

    my @log = map { $_->error_log } @gw;
    $_->stop for @gw;
    my $scripts;
    if ($redis) {
        $scripts = 0;
        for (split /\r?\n/, $redis->cli('INFO', 'commandstats')) {
            $scripts += $1 if /^cmdstat_eval(?:sha)?:calls=(\d+)/;
        }
        $redis->stop;
    }

    my ($min, $max) = (undef, 0);
    for (@w) {
        $min = $_->{low} if !defined $min || $_->{low} < $min;
        $max = $_->{high} if $_->{high} > $max;
    }

    my $summary;
    if ($mode ne 'local') {
        my $worst;
        for (@w) {
            my $r = $_->{ideal} ? $_->{low} / $_->{ideal} : 1;
            $worst = $r if !defined $worst || $r < $worst;
        }
        $summary = sprintf 'accuracy: %s: two gateways, %d windows of '
            . '%d s, limit %d: admitted per window %d to %d (lowest %.1f%% '
            . 'of the limit, %.1f%% of what an exact limiter admits from '
            . 'what was offered), %s; %.3f Redis scripts per request',
            $mode, $windows, $window, $limit, $min, $max,
            100 * $min / $limit, 100 * $worst,
            $max <= $limit ? 'never above it' : 'ABOVE IT',
            $requests ? $scripts / $requests : 0;
    } else {
        my ($pmax) = (0);
        for (@w) {
            for my $n (@{ $_->{per_gw} }) { $pmax = $n if $n > $pmax }
        }
        $summary = sprintf 'accuracy: local: two gateways, %d windows of '
            . '%d s, limit %d each: admitted per window %d to %d in all '
            . '(%.0f%% of one limit), at most %d by one gateway', $windows,
            $window, $limit, $min, $max, 100 * $max / $limit, $pmax;
    }

    return { windows => \@w, limit => $limit, requests => $requests,
             refused => $refused, errors => $errors, summary => $summary,
             log => \@log, mode => $mode, scripts => $scripts };
}

# what an exact limiter admits from the requests offered at @times: the
# sliding-window counter of lib/limit/gw_limit.c, as admissions per window
# index
sub _replay {
    my ($count, $w, @times) = @_;
    my ($at, $cur, $prev) = (-1, 0, 0);
    my %n;
    for my $t (sort { $a <=> $b } @times) {
        my $idx = floor($t / $w);
        if ($idx == $at + 1) {
            ($prev, $cur) = ($cur, 0);
        } elsif ($idx != $at) {
            ($prev, $cur) = (0, 0);
        }
        $at = $idx;
        my $est = $prev * (($w - ($t - $idx * $w)) / $w) + $cur;
        next if $cur + 1 > $count || $est + 1 > $count;
        $cur++;
        $n{$idx}++;
    }
    return %n;
}

# one client: keep-alive GET /acc from t0 to t1, a line per answer:
# "gateway status sent received"
sub _client {
    my ($port, $t0, $t1, $file, $g) = @_;
    open my $out, '>', $file or die "$file: $!";
    local $SIG{PIPE} = 'IGNORE';
    my $sock;
    my $req = "GET /acc HTTP/1.1\r\nHost: acc\r\n\r\n";
    my $wait = $t0 - time;
    sleep $wait if $wait > 0;

    while ((my $sent = time) < $t1) {
        $sock //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                        PeerPort => $port, Proto => 'tcp');
        last unless $sock;
        my ($status, $ok, $t) = _exchange($sock, $req);
        my $got = time;
        unless ($ok) {
            undef $sock;
            $status //= 0;
        }
        printf $out "%d %d %.6f %.6f %d\n", $g, $status, $sent, $got,
            $t // -1;
    }
    close $out;
}

# the windows that may have decided a request sent at $sent and answered
# at $got, whose RateLimit field said t=$t (-1: none)
sub _windows {
    my ($sent, $got, $t, $w) = @_;
    my @fit;
    for my $k (floor($sent / $w) .. floor($got / $w)) {
        # decided in window k with t: within [end - t, end - t + 1)
        my $end = ($k + 1) * $w;
        if ($t < 0
            || ($end - $t < $got + 0.001 && $end - $t + 1 > $sent - 0.001))
        {
            push @fit, $k;
        }
    }
    # no window fits: a field that contradicts the clock; count it
    # everywhere it could be, so it can only make the check fail
    return @fit ? @fit : (floor($sent / $w) .. floor($got / $w));
}

# writes a request, reads one answer (Content-Length bodies); returns
# (status, keep-alive still usable, the RateLimit field's t=)
sub _exchange {
    my ($sock, $req) = @_;
    print $sock $req or return (undef, 0);
    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        my $n = sysread $sock, $head, 4096, length $head;
        return (undef, 0) unless $n;
    }
    my ($h, $body) = split /\r\n\r\n/, $head, 2;
    my ($status) = $h =~ m{^HTTP/1\.1 (\d{3})};
    my ($len) = $h =~ /^Content-Length:\s*(\d+)/mi;
    $len //= 0;
    while (length $body < $len) {
        my $n = sysread $sock, $body, $len - length $body, length $body;
        return ($status, 0) unless $n;
    }
    my $close = $h =~ /^Connection:\s*close/mi;
    my ($t) = $h =~ /^RateLimit:.*;t=(\d+)/mi;
    return ($status, !$close, $t);
}

1;
