# Notifications from the stream gw:ntf:in (docs/notification.md,
# "From a stream"): entries written before the service started are read
# (the group "notification" starts at the stream's beginning); each is
# accepted for the owner it names and acknowledged; a bad entry is
# logged at info, copied with its error to gw:ntf:in:rejected and
# acknowledged; an entry read twice (the group rewound, as after a crash
# between the accept and the XACK) is accepted once (its id is its
# Idempotency-Key); an entry a dead consumer left pending is claimed
# after a lease, and the consumer then deleted.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;

use Notification;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (run make backends)'
    unless -x Notification::binary();

my $redis = Tollgate::Redis->start;
my $port = $redis->port;
my $json = JSON::PP->new->canonical;

sub entry {
    my ($doc) = @_;
    return Notification::cmd($port, 'XADD', 'gw:ntf:in', '*',
                             'notification',
                             ref $doc ? $json->encode($doc) : $doc);
}

sub listed {
    my ($owner) = @_;
    my ($st, $b) = Notification::call($svc::svc, 'GET',
                                      '/v1/notifications?limit=100', undef,
                                      { 'X-Consumer-ID' => $owner });
    return $st == 200 ? @{ $b->{items} } : ();
}

sub pending {
    my $r = Notification::cmd($port, 'XPENDING', 'gw:ntf:in',
                              'notification');
    return ref $r ? $r->[0] : -1;
}

my %n = (channel => 'push', type => 'job.done', body => { data => {} },
         recipients => [ 'c.s1' ]);

# before the service: read once it starts
entry({ %n, owner => 's1' });

# a dead consumer's pending entry
Notification::cmd($port, 'XGROUP', 'CREATE', 'gw:ntf:in', 'notification',
                  '0', 'MKSTREAM');
my $ghost = entry({ %n, owner => 's2' });
Notification::cmd($port, 'XREADGROUP', 'GROUP', 'notification', 'ghost',
                  'COUNT', '10', 'STREAMS', 'gw:ntf:in', '>');
is(pending(), 2, 'two entries pending with a dead consumer');

$svc::svc = Notification::start(env => { REDIS => $redis->address });

ok(Notification::eventually(sub { listed('s1') == 1 && listed('s2') == 1 },
                            15),
   "the dead consumer's entries are claimed and accepted");
ok(Notification::eventually(sub { pending() == 0 }, 10),
   '... and acknowledged');

ok(Notification::eventually(sub {
       my $c = Notification::cmd($port, 'XINFO', 'CONSUMERS', 'gw:ntf:in',
                                 'notification');
       ref $c && !grep { my %f = @$_; $f{name} eq 'ghost' } @$c
   }, 10), '... and the emptied dead consumer deleted');

my @s2 = listed('s2');
my ($st, $b) = Notification::call($svc::svc, 'GET',
                                  "/v1/notifications/$s2[0]{id}", undef,
                                  { 'X-Consumer-ID' => 's2' });
is($b->{owner}, 's2', 'the owner is the entry\'s');
is($b->{type}, 'job.done', '... the request the entry\'s');
is_deeply($b->{request}{recipients}, [ 'c.s1' ], '... its recipients');

# new entries, good and bad
entry({ %n, owner => 's3' }) for 1 .. 3;
entry('{"owner": "s3", ');
entry({ %n });
entry({ %n, owner => 's3', channel => 'fax' });
entry({ %n, owner => 's3', recipients => [ "a\r\nb" ] });
Notification::cmd($port, 'XADD', 'gw:ntf:in', '*', 'other', 'x');

ok(Notification::eventually(sub { listed('s3') == 3 }, 10),
   'three good entries accepted');
ok(Notification::eventually(sub {
       (Notification::cmd($port, 'XLEN', 'gw:ntf:in:rejected') // 0) == 5
   }, 10), 'five bad entries copied to gw:ntf:in:rejected');
ok(Notification::eventually(sub { pending() == 0 }, 10),
   'every entry acknowledged');

my $rej = Notification::cmd($port, 'XRANGE', 'gw:ntf:in:rejected', '-',
                            '+');
my %why = map { my %f = @{ $_->[1] }; ($f{pointer} => $f{error}) } @$rej;
ok(exists $why{'/owner'}, 'a missing owner rejected at /owner');
ok(exists $why{'/channel'}, 'a bad channel rejected at /channel');
ok(exists $why{'/recipients/0'}, 'a bad recipient at /recipients/0');

my @info = grep { ($_->{message} // '') eq 'stream entry rejected' }
           Notification::log_lines($svc::svc);
is(scalar @info, 5, 'each rejection logged');
is(scalar(grep { $_->{level} ne 'info' } @info), 0, '... at info');

# the group rewound: every entry read again, none accepted twice
Notification::cmd($port, 'XGROUP', 'SETID', 'gw:ntf:in', 'notification',
                  '0');
ok(Notification::eventually(sub {
       (Notification::cmd($port, 'XLEN', 'gw:ntf:in:rejected') // 0) == 10
       && pending() == 0
   }, 10), 'the group rewound: every entry read again');
is(scalar(listed('s3')), 3, '... no notification accepted twice');
is(scalar(listed('s1')), 1, '... nor the first');

is(Notification::stop($svc::svc), 0, 'stopped gracefully');
is(scalar(Notification::errors($svc::svc)), 0, 'no error in the log');

done_testing();
