# The push channel end to end (docs/push.md): POST /v1/notifications
# with channel "push" reaches an EventSource subscriber of the gateway's
# own transport (gw_push_subscribe behind gw_key_auth and
# gw_push_authorize) through the service's POST
# to the publisher location at push_url, as {"id": the delivery id,
# "type", "data"} under the event name of its type; the notification
# ends delivered, its attempt recorded.  push_url is on the loopback
# while webhook_allow is empty: the operator's own address does not go
# through the webhook guard.  A publisher that is not there leaves the
# delivery to its retries (status 0, result retry).
#
# Skips without the module, gwctl or the service.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Notification;
use Tollgate::Gateway;
use Tollgate::Gwctl qw(gwctl_binary);
use Tollgate::Redis;

my @modules = Tollgate::Gateway::modules();

plan skip_all => Notification::binary() . ' is not built (make backends)'
    unless -x Notification::binary();
plan skip_all => 'the module is not built (make module)'
    unless -f $modules[0];
plan skip_all => gwctl_binary() . ' is not built (make)'
    unless -x gwctl_binary();


my $WAIT = 15;
my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
$ctl->consumer_add('alice', name => 'Alice');
my $key = $ctl->key_create('alice');
my $rport = $redis->port;

my $gw = Tollgate::Gateway->start(http => <<"_EOC_");
    gw_redis 127.0.0.1:$rport;
    server {
        listen 127.0.0.1:\$PORT;
        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_key_auth api;
            gw_push_authorize \$push_channel consumer;
            gw_push_subscribe \$push_channel;
        }
        location ~ ^/pub/(?<pub_channel>[^/]+)\$ {
            allow 127.0.0.1;
            deny all;
            gw_push_publish \$pub_channel history=100 ttl=1h;
        }
    }
_EOC_

my $port = $gw->port;
# the workers' Redis subscription is up once a message published on a
# probe channel reaches a subscriber of it
my $up = 0;
for (1 .. 50) {
    my $p = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    print $p "GET /push/c.alice HTTP/1.1\r\nHost: t\r\n"
             . "Accept: text/event-stream\r\nX-API-Key: $key\r\n\r\n";
    sleep 0.2;
    $gw->request("POST /pub/c.alice HTTP/1.1\r\nHost: localhost\r\n"
                 . "Content-Length: 11\r\nConnection: close\r\n\r\n"
                 . '{"probe":1}');
    my $got = '';
    my $sel = IO::Select->new($p);
    my $until = time + 1;
    while (time < $until && $got !~ /probe/) {
        last unless $sel->can_read($until - time);
        last unless sysread($p, $got, 4096, length $got);
    }
    close $p;
    $up = 1, last if $got =~ /probe/;
}
ok($up, 'the gateway takes push messages through Redis');

my $svc = Notification::start(env => {
    REDIS => $redis->address,
    WEBHOOK_ALLOW => '',
    PUSH_URL => "http://127.0.0.1:$port/pub",
});

sub call { Notification::call($svc, @_) }

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
    or die "connect: $!";
print $s "GET /push/c.alice HTTP/1.1\r\nHost: t\r\n"
         . "Accept: text/event-stream\r\nX-API-Key: $key\r\n\r\n";

sub read_until {
    my ($re, $buf) = @_;
    my $sel = IO::Select->new($s);
    my $until = time + $WAIT;
    while ($$buf !~ $re) {
        my $left = $until - time;
        return 0 if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($s, my $chunk, 65536);
        return 0 unless $n;
        $$buf .= $chunk;
    }
    return 1;
}

my $buf = '';
ok(read_until(qr/\r\n\r\n/, \$buf) && $buf =~ m{\AHTTP/1\.1 200 },
   'alice subscribes to c.alice');

my ($st, $b) = call('POST', '/v1/notifications',
                    { channel => 'push', type => 'invoice.paid',
                      body => { data => { invoice => 'in_1', total => 42 } },
                      recipients => ['c.alice'] },
                    { 'X-Consumer-ID' => 'alice' });
is($st, 202, 'the push notification is accepted') or diag explain $b;
my $nid = ref $b ? $b->{id} : '';

ok(read_until(qr/\ndata: [^\n]*\n\n/, \$buf),
   'the subscriber gets a message') or diag $buf;
my ($event) = $buf =~ /^event: (.*)$/m;
my ($data) = $buf =~ /^data: (.*)$/m;
is($event, 'invoice.paid', 'named by the event type');
is_deeply(eval { JSON::PP->new->decode($data // '') },
          { id => "$nid.0", type => 'invoice.paid',
            data => { invoice => 'in_1', total => 42 } },
          'its data: the delivery id, the type and the data');

# a consumer pushes to its own channel only; an admin to any
for my $c ('c.bob', 'g.staff', 'p.news', 'c.alice2') {
    my ($fs, $fb) = call('POST', '/v1/notifications',
                         { channel => 'push', type => 't.x',
                           body => { data => 1 }, recipients => [$c] },
                         { 'X-Consumer-ID' => 'alice' });
    is($fs, 403, "alice may not push to $c");
    is(ref $fb && $fb->{errors}[0]{pointer}, '/recipients/0',
       '... the recipient named');
}
($st, $b) = call('POST', '/v1/notifications',
                 { channel => 'push', type => 't.x', body => { data => 1 },
                   recipients => ['c.bob', 'p.news'] },
                 { 'X-Consumer-ID' => 'ops',
                   'X-Consumer-Scope' => 'notify:admin' });
is($st, 202, 'an admin pushes to any channel');

my $n;
ok(Notification::eventually(sub {
       my ($gs, $gb) = call('GET', "/v1/notifications/$nid", undef,
                            { 'X-Consumer-ID' => 'alice' });
       $n = $gb;
       return $gs == 200 && ref $gb && $gb->{state} eq 'delivered';
   }, $WAIT), 'the notification ends delivered') or diag explain $n;
my ($att) = ref $n ? @{ $n->{attempts} || [] } : ();
is($att && $att->{result}, 'ok', 'its attempt: ok');
like($att && $att->{status}, qr/^20[12]$/, 'with the publisher\'s 201/202');

Notification::stop($svc);

# a publisher that is not there: the attempt is a retry, without an answer
my $dead = Tollgate::Gateway::free_port();
my $svc2 = Notification::start(env => {
    REDIS => $redis->address,
    PUSH_URL => "http://127.0.0.1:$dead/pub",
});
($st, $b) = Notification::call($svc2, 'POST', '/v1/notifications',
                               { channel => 'push', type => 't.x',
                                 body => { data => 1 },
                                 recipients => ['c.alice'] },
                               { 'X-Consumer-ID' => 'alice' });
is($st, 202, 'accepted while the publisher is down');
my $id2 = ref $b ? $b->{id} : '';
my $a2;
ok(Notification::eventually(sub {
       my ($gs, $gb) = Notification::call($svc2, 'GET',
                           "/v1/notifications/$id2", undef,
                           { 'X-Consumer-ID' => 'alice' });
       ($a2) = ref $gb ? @{ $gb->{attempts} || [] } : ();
       return $a2;
   }, $WAIT), 'an attempt is recorded');
is($a2 && $a2->{result}, 'retry', 'a retry');
is($a2 && $a2->{status}, 0, 'no status: no answer');

my @e = Notification::errors($svc2);
is(scalar @e, 0, 'the service logged no error') or diag explain \@e;
Notification::stop($svc2);

my @bad = grep { /\[(error|crit|alert|emerg)\]/ } $gw->error_log;
is(scalar @bad, 0, 'nginx: nothing at [error] or above') or diag @bad;
$gw->stop;

done_testing();
