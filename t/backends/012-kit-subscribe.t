# The service kit's subscriptions (gw_svc_subscribe(), gw_svc_sub.c),
# through the example service subscribed to the channel its "events" key
# names, and a private redis-server with a password (the subscription
# sends AUTH as the kit's own connection does): messages delivered with
# their exact bytes; Redis killed and started again -> the subscription
# is lost (on_subscribed(0)), made again (on_subscribed(1) once more) and
# messages flow again; one warning per outage however many retries
# fail; a service started while Redis is down warns once; an early
# gw_svc_sub_free() unsubscribes; the stop frees everything (valgrind).
# Plain Test::More.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use HTTP::Tiny;
use JSON::PP qw(decode_json);
use Test::More;

use Kit;
use Tollgate::Redis;

plan skip_all => Kit::binary() . ' is not built (run make backends)'
    unless -x Kit::binary();

my $CHANNEL = 'gw:test:events';

my $redis = Tollgate::Redis->start(password => 's3cret');
my %env = (REDIS => $redis->address, REDIS_PASSWORD => 's3cret',
           REDIS_RETRY => '100ms', EVENTS => $CHANNEL);
my $svc = Kit::start(env => \%env);
my $http = HTTP::Tiny->new(timeout => 10);

sub get { $http->get(Kit::url($svc, $_[0])) }

sub events {
    my $r = get('/v1/events');
    return $r->{status} == 200 ? decode_json($r->{content}) : {};
}

sub publish { $redis->cli('PUBLISH', $CHANNEL, $_[0]) }

# the log lines about this channel's subscription, by message
sub sub_lines {
    my ($message, $s) = @_;
    return grep { ($_->{message} // '') eq $message
                  && ($_->{fields}{channel} // '') eq $CHANNEL }
           Kit::log_lines($s || $svc);
}

# the main connection's failed connects, to know retries happened
sub connect_errors {
    my ($s) = @_;
    my $m = $http->get(Kit::url($s || $svc, '/metrics'))->{content} // '';
    return $m =~ /^gw_redis_connects_total\{result="error"\} (\d+)/m
           ? $1 : 0;
}

# ---- messages ---------------------------------------------------------------

ok(Kit::eventually(sub { events()->{subscribed} == 1 }),
   'subscribed once: on_subscribed(1) ran');
is(events()->{lost}, 0, 'nothing lost yet');
is($redis->cli('PUBSUB', 'NUMSUB', $CHANNEL), "$CHANNEL\n1",
   'one subscriber in Redis');
is(scalar sub_lines('redis subscribed'), 1, '"redis subscribed" logged');

publish('hello world');
publish("two\tlines\nand \x{7f}bytes");
ok(Kit::eventually(sub { @{ events()->{messages} || [] } == 2 }),
   'both messages delivered');
is_deeply(events()->{messages},
          ['hello world', "two\tlines\nand \x{7f}bytes"],
          'in order, byte for byte');

$redis->cli('PUBLISH', 'gw:test:other', 'not ours');
publish('three');
ok(Kit::eventually(sub { @{ events()->{messages} || [] } == 3 }),
   'a third message');
is(events()->{messages}[2], 'three', 'other channels are not delivered');

# ---- Redis down and back -------------------------------------------------------

for my $outage (1, 2) {
    $redis->kill;

    ok(Kit::eventually(sub { events()->{lost} == $outage }),
       "outage $outage: on_subscribed(0) ran");

    # several retries fail, each redis_retry (100 ms)
    my $errors = connect_errors();
    ok(Kit::eventually(sub { connect_errors() >= $errors + 5 }, 10),
       "outage $outage: retries fail");

    my @warn = grep { $_->{level} eq 'warn' }
               sub_lines('redis subscription lost'),
               sub_lines('redis subscription failed');
    is(scalar @warn, $outage, "outage $outage: one warning per outage");

    $redis->restart;

    ok(Kit::eventually(sub { events()->{subscribed} == 1 + $outage }),
       "outage $outage: subscribed again, on_subscribed(1) ran again");
    publish("after $outage");
    ok(Kit::eventually(sub {
           (events()->{messages}[-1] // '') eq "after $outage" }),
       "outage $outage: messages flow again");
}

is(scalar sub_lines('redis subscribed'), 3, 'logged each subscription');
is(scalar sub_lines('redis subscription failed'), 0,
   'a lost subscription warns as lost, its retries stay quiet');

# ---- started while Redis is down --------------------------------------------

{
    my $dead = Tollgate::Redis::free_port();
    my $down = Kit::start(env => { %env, REDIS => "127.0.0.1:$dead" });

    ok(Kit::eventually(sub { connect_errors($down) >= 5 }, 10),
       'Redis down at start: retries fail');
    my @warn = grep { $_->{level} eq 'warn' }
               sub_lines('redis subscription failed', $down);
    is(scalar @warn, 1, 'Redis down at start: one warning');
    is(Kit::stop($down), 0, 'Redis down at start: stops, exit 0');
}

# ---- gw_svc_sub_free() and the stop ------------------------------------------

is($http->request('DELETE', Kit::url($svc, '/v1/events'))->{status}, 204,
   'gw_svc_sub_free()');
ok(Kit::eventually(sub {
       $redis->cli('PUBSUB', 'NUMSUB', $CHANNEL) eq "$CHANNEL\n0" }),
   'unsubscribed in Redis');
is(events()->{active}, JSON::PP::false, 'no subscription left');

is(Kit::stop($svc), 0, 'exit 0');
ok(!grep({ $_->{level} eq 'error' } Kit::log_lines($svc)),
   'nothing logged at error');

# ---- valgrind: the kit frees the subscription as the loop ends ---------------

SKIP: {
    skip 'valgrind is not installed', 5 unless Kit::have_valgrind();
    $svc = Kit::start(valgrind => 1, env => \%env);

    ok(Kit::eventually(sub { (events()->{subscribed} // 0) == 1 }, 20),
       'valgrind: subscribed');
    publish('vg');
    ok(Kit::eventually(sub { @{ events()->{messages} || [] } == 1 }, 20),
       'valgrind: delivered');
    $redis->restart;
    ok(Kit::eventually(sub { (events()->{subscribed} // 0) == 2 }, 20),
       'valgrind: subscribed again');
    is(Kit::stop($svc, 60), 0, 'valgrind: exit 0, no error, no leak')
        or diag(Kit::slurp($svc->{log}));
    ok(!grep({ /^==\d+==/ } split /\n/, Kit::slurp($svc->{log})),
       'valgrind: silent');
}

done_testing();
