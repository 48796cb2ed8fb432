# Delivery guarantees (docs/notification.md, "At least once"): the
# service is killed with kill -9 while it delivers 200 webhook
# notifications to a slow receiver, then started again: every accepted
# notification reaches the receiver at least once (counted by distinct
# webhook-id).  Then notifications accepted just before Redis (AOF on,
# fsync always) and the service are both killed with kill -9 are
# delivered once both are back: an accepted notification is in Redis
# before its 202.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Notification;
use NtfReceiver;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (run make backends)'
    unless -x Notification::binary();

my $redis = Tollgate::Redis->start(aof => 1);
my $port = $redis->port;

like(Notification::cmd($port, 'INFO', 'persistence'), qr/aof_enabled:1/,
     'AOF on');

# a slow receiver; few attempts in flight, so that none waits long for
# the receiver and the schedule (three attempts) is never spent
my $rx = NtfReceiver->start(delay => 0.02);
# one master key for every run: the subscription's secret stays readable
my %env = (REDIS => $redis->address, INFLIGHT => '16',
           REDIS_RETRY => '100ms',
           SECRET_KEY_FILE => Notification::secret_key());
my %c1 = ('X-Consumer-ID' => 'c1');

my $svc = Notification::start(env => \%env);

my ($st, $b) = Notification::call($svc, 'POST', '/v1/subscriptions',
                                  { url => $rx->url,
                                    event_types => [ '*' ] }, \%c1);
is($st, 201, 'a subscription');

sub notify {
    my ($n) = @_;
    my @ids;
    for my $i (1 .. $n) {
        my ($st, $b) = Notification::call($svc, 'POST', '/v1/notifications',
            { channel => 'webhook', type => 'crash.test',
              body => { data => { i => $i } } }, \%c1);
        push @ids, $b->{id} if $st == 202;
    }
    return @ids;
}

sub delivered {
    my %seen = map { ($_->{'webhook-id'} // '') => 1 } $rx->requests;
    return \%seen;
}

my @ids = notify(200);
is(scalar @ids, 200, '200 notifications accepted');

ok(Notification::eventually(sub { keys(%{ delivered() }) >= 20 }, 30),
   'deliveries under way');
isnt(Notification::kill9($svc), undef, 'kill -9 of the service');
my $before = keys %{ delivered() };
cmp_ok($before, '<', 200, "... with deliveries left ($before done)");

$svc = Notification::start(env => \%env);

ok(Notification::eventually(sub {
       my $d = delivered();
       !grep { !$d->{"$_.0"} } @ids
   }, 90), 'every accepted notification delivered at least once')
    or diag(scalar(keys %{ delivered() }) . ' delivered');
ok(Notification::eventually(sub {
       (Notification::cmd($port, 'ZCARD', 'gw:ntf:due') // -1) == 0 }, 30),
   '... nothing due any more');

# ---- Redis killed too ------------------------------------------------------

@ids = notify(30);
is(scalar @ids, 30, '30 more accepted');
isnt(Notification::kill9($svc), undef, 'kill -9 of the service');
$redis->kill;
ok(!$redis->running, 'kill -9 of Redis');
$redis->restart;
ok(Notification::eventually(sub {
       (Notification::cmd($port, 'PING') // '') eq 'PONG' }, 20),
   'Redis back from its AOF');

$svc = Notification::start(env => \%env);

ok(Notification::eventually(sub {
       my $d = delivered();
       !grep { !$d->{"$_.0"} } @ids
   }, 60), 'every notification accepted before the crash delivered')
    or diag(scalar(keys %{ delivered() }) . ' delivered');

ok(Notification::eventually(sub {
       (Notification::call($svc, 'GET', "/v1/notifications/$ids[-1]", undef,
                           \%c1))[1]{state} eq 'delivered' }, 20),
   '... and shown delivered');

is(Notification::stop($svc), 0, 'stopped gracefully');
is(scalar(Notification::errors($svc)), 0, "no error in the log")
    or diag explain [ (Notification::errors($svc))[0 .. 2] ];

done_testing();
