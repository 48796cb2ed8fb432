# Revoking a key, disabling or enabling a consumer with gwctl reaches every
# worker of every gateway within a second, without a reload
# (docs/key-auth.md): two nginx instances of two workers each share one
# private Redis; every worker caches a key's answer for 60 s, then gwctl
# changes it, and each instance is polled on new connections (reuseport
# spreads them over its workers, X-Worker names the one that answered)
# until every worker gives the new answer.  The time from starting gwctl to
# the first new answer of each instance, and to the last worker's, is
# printed and must stay under 1 s; a control key, changed in Redis without
# a message, must keep its cached answer meanwhile (so a new answer comes
# from the invalidation, not from a cache miss).  A lookup that Redis
# answers just before a revoke, its reply read after the message, must not
# leave the revoked key cached either.  Then Redis is killed
# while both instances are loaded, and started again: every worker logs
# one [error] for the incident, not one per request, and comes back by
# itself.
#
# Plain Test::More: Test::Nginx runs one nginx.  TEST_NGINX_LOAD_MODULES
# and TEST_NGINX_BINARY are honoured as by the Test::Nginx files.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET ();
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use Tollgate::Gateway;
use Tollgate::Gwctl qw(key_hash random_key gwctl_binary);
use Tollgate::Redis;

my @modules = Tollgate::Gateway::modules();
plan skip_all => "the module is not built (run make)"
    unless -f $modules[0];
plan skip_all => gwctl_binary() . ' is not built (run make)'
    unless -x gwctl_binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $LIMIT = 1.0;            # seconds: the promise of docs/key-auth.md
my $WORKERS = 2;

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);

$ctl->consumer_add('acme', name => 'Acme', plan => 'gold');
$ctl->consumer_add('ctrl', name => 'Control');
$ctl->consumer_add('globex', name => 'Globex');
my %key = (
    revoked => $ctl->key_create('acme'),
    acme    => $ctl->key_create('acme'),
    ctrl    => $ctl->key_create('ctrl'),
    globex  => $ctl->key_create('globex'),
);
my $snapshot = $ctl->snapshot;

my $http = <<"_EOC_";
    gw_redis 127.0.0.1:${\ $redis->port };
    gw_redis_backoff_max 200ms;
    gw_redis_timeout 1s;

    server {
        listen 127.0.0.1:\$PORT reuseport;

        location = /api {
            gw_key_auth api;
            gw_key_auth_cache_ttl 60s;
            gw_key_auth_negative_ttl 60s;
            add_header X-Worker \$pid always;
            proxy_pass http://127.0.0.1:\$PORT/who;
        }
        location = /who { return 200 "ok \$http_x_consumer_id\\n"; }
        location = /status { gw_redis_status; }
    }
_EOC_

my %gw;
$gw{$_} = Tollgate::Gateway->start(workers => $WORKERS, http => $http)
    for qw(A B);

for my $name (sort keys %gw) {
    is(scalar(my @w = $gw{$name}->workers), $WORKERS,
       "instance $name runs $WORKERS workers");
}

# every worker of both instances subscribed to gw:events
{
    my $want = $WORKERS * keys %gw;
    my $n = 0;
    for (1 .. 200) {
        my $r = $ctl->redis('PUBSUB', 'NUMSUB', 'gw:events');
        $n = $r->[1];
        last if $n == $want;
        sleep 0.05;
    }
    is($n, $want, "$want workers subscribed to gw:events");
}

# resp([cmd...], ...): the commands in Redis' protocol
sub resp {
    return join '', map {
        my @a = @$_;
        '*' . @a . "\r\n" . join '', map { '$' . length($_) . "\r\n$_\r\n" } @a;
    } @_;
}

sub ask {
    my ($gw, $key) = @_;
    my $res = $gw->get('/api', 'X-API-Key' => $key);
    return ($res->{status}, $res->{headers}{'x-worker'} // '?',
            $res->{body});
}

# warm($key, $status): every worker of every instance answers $key with
# $status (and caches it); true when each did within 600 tries
sub warm {
    my ($key, $status, $body) = @_;
    my $ok = 1;
    for my $name (sort keys %gw) {
        my %want = map { $_ => 1 } $gw{$name}->workers;
        for (1 .. 600) {
            last unless %want;
            my ($st, $w, $b) = ask($gw{$name}, $key);
            if ($st != $status || (defined $body && $b ne $body)) {
                diag("instance $name worker $w: $st $b while warming");
                $ok = 0;
                last;
            }
            delete $want{$w};
        }
        $ok = 0 if %want;
    }
    return $ok;
}

# change($what, $key, $from, $to, $run, $ctrl): runs gwctl ($run), then
# polls both instances with $key (and the control key $ctrl, which must
# keep answering 200) for 1.5 s.  Every worker must answer $to, the first
# within $LIMIT, and never $from again afterwards.
sub change {
    my ($what, $key, $from, $to, $run, $ctrl) = @_;
    my (%first, %last_from, %worker_first, %bad, %ctrl_bad);

    my $t0 = time;
    $run->();
    my $t_cmd = time - $t0;

    while (time - $t0 < $LIMIT + 0.5) {
        for my $name (sort keys %gw) {
            my ($st, $w) = ask($gw{$name}, $key);
            my $t = time - $t0;
            if ($st == $to) {
                $first{$name} //= $t;
                $worker_first{$name}{$w} //= $t;
            } elsif ($st == $from) {
                $last_from{$name}{$w} = $t;
            } else {
                $bad{$name}{$st}++;
            }
            my ($cst) = ask($gw{$name}, $ctrl);
            $ctrl_bad{$name}++ if $cst != 200;
        }
    }

    for my $name (sort keys %gw) {
        my @workers = $gw{$name}->workers;
        my $wf = $worker_first{$name} || {};
        my $all = (grep { !defined $wf->{$_} } @workers)
                  ? undef : (sort { $b <=> $a } map { $wf->{$_} } @workers)[0];
        diag(sprintf "%s: instance %s: gwctl took %.0f ms; first %d after "
                     . "%s ms; every worker after %s ms (%s)",
                     $what, $name, $t_cmd * 1000, $to,
                     defined $first{$name}
                         ? sprintf('%.0f', $first{$name} * 1000) : 'never',
                     defined $all ? sprintf('%.0f', $all * 1000) : 'never',
                     join ', ', map { "worker $_: "
                         . (defined $wf->{$_}
                            ? sprintf('%.0f ms', $wf->{$_} * 1000) : 'never')
                     } @workers);

        ok(defined $first{$name} && $first{$name} < $LIMIT,
           "$what: instance $name answers $to within ${LIMIT}s");
        ok(defined $all && $all < $LIMIT,
           "$what: every worker of instance $name answers $to within "
           . "${LIMIT}s");
        my @late = grep {
            defined $last_from{$name}{$_}
            && (!defined $wf->{$_} || $last_from{$name}{$_} > $wf->{$_})
        } @workers;
        ok(!@late, "$what: no worker of instance $name answers $from "
                   . "after its first $to") or diag("late: @late");
        ok(!$bad{$name}, "$what: instance $name gave no other status")
            or diag(explain($bad{$name}));
        ok(!$ctrl_bad{$name}, "$what: the control key kept its cached "
                              . "answer on instance $name");
    }
}

# a key changed in Redis without a message: its cached "valid" stays
ok(warm($key{ctrl}, 200, "ok ctrl\n"), 'the control key is cached by '
   . 'every worker');
$ctl->redis('HSET', 'gw:key:' . key_hash($key{ctrl}), 'status', 'revoked');

# 1. gwctl key revoke
ok(warm($key{revoked}, 200, "ok acme\n"), 'the key to revoke is cached '
   . 'by every worker');
change('key revoke', $key{revoked}, 200, 401,
       sub { $ctl->key_revoke('acme', $key{revoked}) }, $key{ctrl});

# 2. gwctl consumer disable: every key of the consumer
ok(warm($key{acme}, 200, "ok acme\n"), "the consumer's other key is cached "
   . 'by every worker');
change('consumer disable', $key{acme}, 200, 403,
       sub { $ctl->consumer_disable('acme') }, $key{ctrl});

# 3. gwctl consumer enable: the cached 403 (a negative entry) goes too
ok(warm($key{acme}, 403), 'its 403 is cached by every worker');
change('consumer enable', $key{acme}, 403, 200,
       sub { $ctl->consumer_enable('acme') }, $key{ctrl});

# 4. a lookup that Redis answered just before the revoke, whose reply the
# worker reads just after the invalidation message: the answer it caches
# is already stale and must not outlive the promise either.  Redis is
# stalled so that the lookup and a revoke (the MULTI/EXEC that gwctl
# ends with) are run back to back when it wakes; the worker then gets the
# message and the reply in the same event loop iteration.
{
    my $gw = Tollgate::Gateway->start(workers => 1, http => $http);
    my $probe = $ctl->key_create('globex');
    is((ask($gw, $probe))[0], 200, 'race: the lookup script is loaded');

    my @stale;
    for my $trial (1 .. 5) {
        my $k = $ctl->key_create('globex');
        my $h = key_hash($k);
        my $w = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $redis->port,
                                      Proto => 'tcp')
            or die "redis: $!";
        print $w "PING\r\n";
        my $pong = <$w>;

        $redis->cli_bg('DEBUG', 'SLEEP', '0.3');
        $ctl->wait_stalled;
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            $gw->get('/api', 'X-API-Key' => $k);
            POSIX::_exit(0);
        }
        sleep 0.05;                     # the lookup is on its way first
        print $w resp(['MULTI'],
                      ['HSET', "gw:key:$h", 'status', 'revoked',
                       'revoked', time],
                      ['PUBLISH', 'gw:events', "key $h"], ['EXEC']);
        my $t0 = time;
        waitpid($pid, 0);
        close $w;

        my $left = $LIMIT - (time - $t0);
        sleep $left if $left > 0;
        my ($st) = ask($gw, $k);
        push @stale, $trial if $st != 401;
    }
    ok(!@stale, "race: a key revoked while its lookup was answered is "
                . "refused ${LIMIT}s later")
        or diag('still accepted (cached before the message, kept for the '
                . 'cache TTL) in trials ' . join(', ', @stale) . ' of 5');
    $gw->stop;
}

# nothing at [error] or worse so far
for my $name (sort keys %gw) {
    my @bad = grep { /\[(?:error|crit|alert|emerg)\]/ } $gw{$name}->error_log;
    ok(!@bad, "instance $name logged nothing at [error] or worse")
        or diag(@bad);
}


# --- Redis killed under load, then started again ------------------------

my %lines_before = map { $_ => scalar(my @l = $gw{$_}->error_log) } keys %gw;

# load: unknown keys, never cached, so every request asks Redis
sub load {
    my ($seconds) = @_;
    my %count;
    my $end = time + $seconds;
    while (time < $end) {
        for my $name (sort keys %gw) {
            my ($st) = ask($gw{$name}, random_key());
            $count{$name}{$st}++;
        }
    }
    return \%count;
}

my $before = load(0.3);
is_deeply([sort map { keys %$_ } values %$before], [401, 401],
          'under load: unknown keys get 401 while Redis is up');

$redis->kill;
my $down = load(0.8);
for my $name (sort keys %gw) {
    my $c = $down->{$name};
    ok(($c->{503} // 0) > 10 && keys %$c == 1,
       "instance $name: Redis killed: every lookup gets 503 ("
       . join(', ', map { "$_ x$c->{$_}" } sort keys %$c) . ')');
}

$redis->restart;
$ctl->restore($snapshot);
my $t0 = time;
my %back;
while (time - $t0 < 5 && keys %back < keys %gw) {
    for my $name (sort keys %gw) {
        my %w = map { $_ => 0 } $gw{$name}->workers;
        for (1 .. 50) {
            my ($st, $w) = ask($gw{$name}, random_key());
            $w{$w} = 1 if $st == 401;
        }
        $back{$name} //= time - $t0 unless grep { !$_ } values %w;
    }
    sleep 0.05;
}
for my $name (sort keys %gw) {
    ok(defined $back{$name}, "instance $name: every worker answers from "
       . 'Redis again, without help')
        and note(sprintf 'instance %s back after %.0f ms', $name,
                 $back{$name} * 1000);
    my ($st, undef, $body) = ask($gw{$name}, $key{globex});
    is("$st $body", "200 ok globex\n", "instance $name: a valid key "
       . 'passes again');
}
load(0.3);

for my $name (sort keys %gw) {
    my @all = $gw{$name}->error_log;
    my @log = @all[$lines_before{$name} .. $#all];
    my @workers = $gw{$name}->workers;
    my %errors;
    for (grep { /\[error\]/ } @log) {
        my ($pid) = /\[error\] (\d+)#/;
        push @{ $errors{$pid // '?'} }, $_;
    }
    for my $w (@workers) {
        my $e = $errors{$w} || [];
        is(scalar @$e, 1, "instance $name worker $w: one [error] for the "
           . 'incident') or diag(@$e);
        like($e->[0] // '', qr/gw_redis: (?:subscriber )?connection to 127\.0\.0\.1:\d+ lost/,
             "instance $name worker $w: it says the connection was lost");
        ok((grep { /\[notice\] $w#\d+: gw_redis: (?:subscriber )?reconnected to/ }
            @log), "instance $name worker $w: the end of the incident is "
                   . 'logged');
    }
    is(scalar(keys %errors), scalar @workers,
       "instance $name: no [error] from anything but its workers");
    my @bad = grep { /\[(?:crit|alert|emerg)\]/ } $gw{$name}->error_log;
    ok(!@bad, "instance $name: nothing at [crit] or worse") or diag(@bad);
}

$gw{$_}->stop for keys %gw;

done_testing();
