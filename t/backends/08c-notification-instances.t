# Several instances on one Redis (docs/notification.md, "How a
# notification travels"): notifications accepted by either are claimed
# by one instance each, so without a crash every delivery reaches the
# receiver exactly once, whichever instance sends it; both stop
# gracefully with nothing left due.

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

my $redis = Tollgate::Redis->start;
my $rx = NtfReceiver->start;
my %env = (REDIS => $redis->address,
           SECRET_KEY_FILE => Notification::secret_key());
my @svc = map { Notification::start(env => { %env, INSTANCE => "i$_" }) }
          1 .. 2;
my %c1 = ('X-Consumer-ID' => 'c1');

my ($st) = Notification::call($svc[0], 'POST', '/v1/subscriptions',
                              { url => $rx->url, event_types => [ '*' ] },
                              \%c1);
is($st, 201, 'a subscription');

my @ids;
for my $i (1 .. 100) {
    my ($st, $b) = Notification::call($svc[$i % 2], 'POST',
                                      '/v1/notifications',
                                      { channel => 'webhook', type => 'x',
                                        body => { data => { i => $i } } },
                                      \%c1);
    push @ids, $b->{id} if $st == 202;
}
is(scalar @ids, 100, '100 accepted by two instances');

ok(Notification::eventually(sub { scalar($rx->requests) >= 100 }, 30),
   'all delivered');
ok(Notification::eventually(sub {
       (Notification::cmd($redis->port, 'ZCARD', 'gw:ntf:due') // -1) == 0
   }, 10), '... nothing due');

my %n;
$n{ $_->{'webhook-id'} }++ for $rx->requests;
is(scalar(keys %n), 100, 'every delivery reached the receiver');
is(scalar(grep { $_ > 1 } values %n), 0, '... once each');
is_deeply([ sort keys %n ], [ sort map { "$_.0" } @ids ],
          '... the accepted ones');

my $sent = 0;
$sent += Notification::metric($_,
             'gw_ntf_attempts_total{channel="webhook",result="ok"}')
    for @svc;
is($sent, 100, 'the instances counted 100 attempts between them');

for my $s (@svc) {
    is(Notification::stop($s), 0, 'stopped gracefully');
    is(scalar(Notification::errors($s)), 0, '... no error in the log');
}

done_testing();
