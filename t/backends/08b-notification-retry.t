# Webhook deliveries end to end (docs/notification.md, "Retries" and
# "Dead letters"), with scripted receivers: the fan-out to the owner's
# matching subscriptions (none: 202 with no delivery), a 500 then a 200
# retried on the schedule (0s, 1s, 2s as Notification.pm configures it:
# the gaps are at least the delays), a receiver's Retry-After longer
# than the schedule's delay, the schedule spent (three attempts, the
# dead-letter list), a replay delivered, a discarded dead letter, a 410
# dead at once; every attempt shown by GET.

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
my $svc = Notification::start(env => { REDIS => $redis->address });

my %c1 = ('X-Consumer-ID' => 'c1');

sub call { Notification::call($svc, @_) }

sub subscribe {
    my ($rx, $types, $who) = @_;
    my ($st, $b) = call('POST', '/v1/subscriptions',
                        { url => $rx->url, event_types => $types },
                        $who || \%c1);
    is($st, 201, "a subscription to @$types");
    return $b->{id};
}

sub notify {
    my ($type, %more) = @_;
    my ($st, $b) = call('POST', '/v1/notifications',
                        { channel => 'webhook', type => $type,
                          body => { data => { t => $type } }, %more },
                        \%c1);
    is($st, 202, "$type accepted");
    return $b;
}

sub get {
    my ($id) = @_;
    my ($st, $b) = call('GET', "/v1/notifications/$id", undef, \%c1);
    return $b;
}

sub settled {
    my ($id, $state) = @_;
    return Notification::eventually(sub { get($id)->{state} eq $state },
                                    20);
}

# ---- fan-out ---------------------------------------------------------------

my $rx_inv = NtfReceiver->start;
my $rx_ord = NtfReceiver->start;
my $s_inv = subscribe($rx_inv, [ 'invoice.*' ]);
my $s_ord = subscribe($rx_ord, [ 'order.created' ]);

my $n = notify('invoice.paid');
is($n->{deliveries}, 1, 'one matching subscription, one delivery');
ok(settled($n->{id}, 'delivered'), '... delivered');
my @r = $rx_inv->requests;
is(scalar @r, 1, '... one request to its receiver');
is($r[0]{'webhook-id'}, "$n->{id}.0", '... webhook-id is the delivery id');
is(scalar($rx_ord->requests), 0, '... none to the other');

$n = notify('shipment.sent');
is($n->{deliveries}, 0, 'no matching subscription: no delivery');
is(get($n->{id})->{state}, 'delivered', '... and nothing to do');

$n = notify('order.created', recipients => [ $s_inv ]);
is($n->{deliveries}, 0, 'recipients restrict the fan-out');

# ---- a 500, then a 200 -----------------------------------------------------

my $rx = NtfReceiver->start(script => [ 500 ]);
subscribe($rx, [ 'retry.once' ]);
$n = notify('retry.once');
ok(settled($n->{id}, 'delivered'), '500 then 200: delivered');
@r = $rx->requests;
is(scalar @r, 2, '... in two attempts');
is($r[1]{'webhook-id'}, $r[0]{'webhook-id'}, '... the same webhook-id');
cmp_ok($r[1]{t} - $r[0]{t}, '>=', 0.99, '... a second apart at least');

my $g = get($n->{id});
is_deeply([ map { $_->{result} } @{ $g->{attempts} } ], [ 'retry', 'ok' ],
          'GET shows both attempts');
is_deeply([ map { $_->{status} } @{ $g->{attempts} } ], [ 500, 200 ],
          '... with their statuses');
is($g->{attempts}[0]{target}, $rx->url, '... their target');
like($g->{attempts}[0]{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     '... their time');
ok(defined $g->{attempts}[0]{latency_ms}, '... their latency');
is($g->{deliveries}[0]{state}, 'delivered', '... the delivery delivered');
is($g->{delivered}, 1, '... counted');

# ---- Retry-After -----------------------------------------------------------

$rx = NtfReceiver->start(script => [ 503 ],
                         headers => { 'Retry-After' => 3 });
subscribe($rx, [ 'retry.after' ]);
$n = notify('retry.after');
ok(settled($n->{id}, 'delivered'), '503 with Retry-After: delivered');
@r = $rx->requests;
is(scalar @r, 2, '... in two attempts');
cmp_ok($r[1]{t} - $r[0]{t}, '>=', 2.99, '... after Retry-After at least');

# ---- the schedule spent, replayed ------------------------------------------

$rx = NtfReceiver->start(script => [ 500, 500, 500 ]);
subscribe($rx, [ 'retry.spent' ]);
$n = notify('retry.spent');
ok(settled($n->{id}, 'failed'), 'three 500s: failed');
@r = $rx->requests;
is(scalar @r, 3, '... after three attempts');
cmp_ok($r[1]{t} - $r[0]{t}, '>=', 0.99, '... the second a second later');
cmp_ok($r[2]{t} - $r[1]{t}, '>=', 1.99, '... the third two seconds later');
is(get($n->{id})->{deliveries}[0]{state}, 'dead', '... the delivery dead');

my ($st, $b) = call('GET', '/v1/dlq', undef, \%c1);
my ($dead) = grep { $_->{id} eq "$n->{id}.0" } @{ $b->{items} };
ok($dead, 'in the dead-letter list');
is($dead->{attempts}, 3, '... with its attempts');
is($dead->{notification}, $n->{id}, '... its notification');

($st) = call('POST', "/v1/dlq/$n->{id}.0/replay", undef,
             { 'X-Consumer-ID' => 'c2' });
is($st, 404, "replaying someone else's dead letter: 404");

($st) = call('POST', "/v1/dlq/$n->{id}.0/replay", undef, \%c1);
is($st, 202, 'replayed');
ok(settled($n->{id}, 'delivered'), '... and delivered');
is(scalar($rx->requests), 4, '... by a fourth attempt');
is(scalar(@{ get($n->{id})->{attempts} }), 4, '... shown by GET');
($st, $b) = call('GET', '/v1/dlq', undef, \%c1);
ok(!grep({ $_->{id} eq "$n->{id}.0" } @{ $b->{items} }),
   '... out of the dead-letter list');
($st) = call('POST', "/v1/dlq/$n->{id}.0/replay", undef, \%c1);
is($st, 404, '... a second replay: 404');

# ---- discarded -------------------------------------------------------------

$rx = NtfReceiver->start(default => 500);
subscribe($rx, [ 'retry.discard' ]);
$n = notify('retry.discard');
ok(settled($n->{id}, 'failed'), 'failed again');
($st) = call('DELETE', "/v1/dlq/$n->{id}.0", undef, \%c1);
is($st, 204, 'a dead letter discarded');
($st, $b) = call('GET', '/v1/dlq', undef, \%c1);
ok(!grep({ $_->{id} eq "$n->{id}.0" } @{ $b->{items} }),
   '... out of the list');
($st) = call('POST', "/v1/dlq/$n->{id}.0/replay", undef, \%c1);
is($st, 404, '... not replayable');
($st) = call('DELETE', "/v1/dlq/$n->{id}.0", undef, \%c1);
is($st, 404, '... not there twice');

# ---- 410 -------------------------------------------------------------------

$rx = NtfReceiver->start(default => 410);
subscribe($rx, [ 'gone.once' ]);
$n = notify('gone.once');
ok(settled($n->{id}, 'failed'), '410: failed');
is(scalar($rx->requests), 1, '... at once');
is(get($n->{id})->{attempts}[0]{result}, 'gone', '... the attempt gone');

cmp_ok(Notification::metric($svc, 'gw_ntf_delivered_total{channel="webhook"}'),
       '>=', 4, 'gw_ntf_delivered_total');
cmp_ok(Notification::metric($svc,
           'gw_ntf_attempts_total{channel="webhook",result="retry"}'),
       '>=', 4, 'gw_ntf_attempts_total');

is(Notification::stop($svc), 0, 'stopped gracefully');
is(scalar(Notification::errors($svc)), 0, 'no error in the log');

done_testing();
