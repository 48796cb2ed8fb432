# The notification service's API (backends/notification,
# docs/notification.md): who calls (X-Consumer-ID, X-Consumer-Subject,
# an admin scope acting for another owner, a header sent twice), bad
# input answered by problem+json 4xx naming the member by a JSON pointer
# (never a 500), the Idempotency-Key (same key and body: the first
# answer again; another body: 422), GET of one notification (404 for
# someone else's) and the owner's list with its cursor.  The push
# channel is used: its deliveries need no subscription.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep);

use Notification;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (run make backends)'
    unless -x Notification::binary();

my $redis = Tollgate::Redis->start;
my $svc = Notification::start(env => { REDIS => $redis->address,
                                       BODY_MAX => '16k' });

my %c1 = ('X-Consumer-ID' => 'c1');
my %push = (channel => 'push', type => 'order.created',
            body => { data => { n => 1 } }, recipients => [ 'c.c1' ]);

sub post {
    my ($body, $h) = @_;
    return Notification::call($svc, 'POST', '/v1/notifications', $body,
                              $h || \%c1);
}

# ---- callers ---------------------------------------------------------------

my ($st, $b, $h) = post(\%push, {});
is($st, 401, 'no identity: 401');
like($h->{'content-type'}, qr{^application/problem\+json}, '... a problem');

($st) = post(\%push, { 'X-Consumer-ID' => [ 'c1', 'c2' ] });
is($st, 400, 'X-Consumer-ID twice: 400');

($st) = post(\%push, { %c1, 'X-Consumer-Scope' => [ 'a', 'b' ] });
is($st, 400, 'X-Consumer-Scope twice: 400');

($st) = post(\%push, { %c1, 'Idempotency-Key' => [ '"a"', '"b"' ] });
is($st, 400, 'Idempotency-Key twice: 400');

($st, $b) = post({ %push, recipients => [ 'c.user-7' ] },
                 { 'X-Consumer-Subject' => 'user-7' });
is($st, 202, 'a JWT subject is an owner');
my $sub_id = $b->{id};

($st) = post({ %push, owner => 'c2' });
is($st, 403, 'acting for another owner without the admin scope: 403');

($st, $b) = post({ %push, owner => 'c2' },
                 { %c1, 'X-Consumer-Scope' => 'read notify:admin' });
is($st, 202, 'an admin acts for another owner');
my $c2_id = $b->{id};

($st, $b) = Notification::call($svc, 'GET', "/v1/notifications/$c2_id",
                               undef, { 'X-Consumer-ID' => 'c2' });
is($st, 200, '... the owner sees it');
is($b->{owner}, 'c2', '... as its owner');

($st) = Notification::call($svc, 'GET', "/v1/notifications/$c2_id", undef,
                           \%c1);
is($st, 404, "someone else's notification: 404");

($st) = Notification::call($svc, 'GET', "/v1/notifications/$sub_id", undef,
                           { 'X-Consumer-ID' => 'c9',
                             'X-Consumer-Scope' => 'admin:write' });
is($st, 200, 'an admin sees any');

# ---- bad input -------------------------------------------------------------

my @bad = (
    [ '{"channel": "push",', 400, undef, 'not JSON' ],
    [ '{"channel": "push", "channel": "push"}', 400, undef,
      'a member twice' ],
    [ [ 1 ], 422, '', 'not an object' ],
    [ { %push, channel => 'fax' }, 422, '/channel', 'an unknown channel' ],
    [ { %push, type => 'Bad Type' }, 422, '/type', 'a bad type' ],
    [ { %push, type => undef }, 422, '/type', 'a null type' ],
    [ { %push, template => 'welcome' }, 422, '/body',
      'both template and body' ],
    [ { channel => 'push', type => 'x', recipients => [ 'c.c1' ] }, 422, '',
      'neither template nor body' ],
    [ { %push, body => { data => 1, extra => 2 } }, 422, '/body',
      'a body member unknown' ],
    [ { %push, data => [ 1 ] }, 422, '/data', 'data not an object' ],
    [ { %push, recipients => [ map { "c.$_" } 1 .. 101 ] }, 422,
      '/recipients', 'too many recipients' ],
    [ { %push, recipients => [] }, 422, '/recipients', 'no recipient' ],
    [ { %push, recipients => [ 'a', 'b', "c\nd" ] }, 422, '/recipients/2',
      'a bad push channel' ],
    [ { %push, recipients => [ 'a', 'a' ] }, 422, '/recipients/1',
      'a recipient twice' ],
    [ { %push, attachments => [] }, 422, '/attachments',
      'attachments outside email' ],
    [ { %push, colour => 'red' }, 422, '', 'an unknown member' ],
    [ { channel => 'email', body => { subject => 's', text => 't' },
        recipients => [ 'a@example.com', { name => 'x' } ] }, 422,
      '/recipients/1', 'a recipient without its address' ],
    [ { channel => 'email', body => { text => 't' },
        recipients => [ 'a@example.com' ] }, 422, '/body/subject',
      'an email without its subject' ],
    [ { channel => 'email', body => { subject => 's', text => 't' },
        recipients => [ 'a@example.com' ],
        attachments => [ { filename => 'a' } ] }, 422, '/attachments/0',
      'a malformed attachment' ],
    [ { %push, owner => '' }, 422, '/owner', 'an empty owner' ],
    [ { %push, owner => "c1\n" }, 422, '/owner', 'an owner with a LF' ],
);

for my $case (@bad) {
    my ($body, $want, $pointer, $what) = @$case;
    ($st, $b, $h) = post($body);
    is($st, $want, "$what: $want");
    like($h->{'content-type'} // '', qr{^application/problem\+json},
         '... problem+json');
    is($b->{errors}[0]{pointer}, $pointer, "... pointer '$pointer'")
        if defined $pointer;
}

($st, $b, $h) = post({ %push, body => { data => 'x' x 20000 } });
is($st, 413, 'a body over body_max: 413');
like($h->{'content-type'} // '', qr{^application/problem\+json},
     '... problem+json');

($st) = Notification::call($svc, 'POST', '/v1/notifications', '{}',
                           { %c1, 'Content-Type' => 'text/plain' });
is($st, 415, 'not JSON by its media type: 415');

# ---- accepted, idempotency -------------------------------------------------

# a consumer pushes to c.<itself> only; an admin to any channel
($st, $b) = post({ %push, recipients => [ 'c.c1', 'g.ops' ] });
is($st, 403, 'c1 pushing to g.ops: 403');
is($b->{errors}[0]{pointer}, '/recipients/1', '... g.ops named');
($st, $b) = post({ %push, recipients => [ 'c.c2' ] });
is($st, 403, 'c1 pushing to c.c2: 403');

($st, $b, $h) = post({ %push, recipients => [ 'c.c1', 'g.ops' ] },
                     { %c1, 'X-Consumer-Scope' => 'notify:admin' });
is($st, 202, 'accepted');
like($b->{id}, qr/^ntf_[0-9A-HJKMNP-TV-Z]{26}$/, '... an id');
is($b->{deliveries}, 2, '... one delivery per push channel');
is($b->{state}, 'accepted', '... state accepted');
is($h->{location}, "/v1/notifications/$b->{id}", '... its Location');

my %k = (%c1, 'Idempotency-Key' => '"order-1"');
($st, $b, $h) = post(\%push, \%k);
is($st, 202, 'with an Idempotency-Key');
my $first = $b->{id};
ok(!exists $h->{'idempotent-replayed'}, '... not a replay');

($st, $b, $h) = post(\%push, \%k);
is($st, 202, 'the same key and body again');
is($b->{id}, $first, '... the same id');
is($h->{'idempotent-replayed'}, 'true', '... Idempotent-Replayed');

($st, $b) = post(\%push, { 'X-Consumer-ID' => 'c3',
                           'Idempotency-Key' => '"order-1"' });
isnt($b->{id}, $first, "the same key of another owner is another's");

($st, $b) = post({ %push, body => { data => { n => 2 } } }, \%k);
is($st, 422, 'the same key with another body: 422');
like($b->{type}, qr/idempotency/, '... its type');

($st) = post(\%push, { %c1, 'Idempotency-Key' => 'order-1' });
is($st, 400, 'an Idempotency-Key not an sf-string: 400');

# ---- GET -------------------------------------------------------------------

($st, $b) = Notification::call($svc, 'GET', "/v1/notifications/$first",
                               undef, \%c1);
is($st, 200, 'GET one');
is($b->{id}, $first, '... its id');
is($b->{channel}, 'push', '... its channel');
is($b->{type}, 'order.created', '... its type');
like($b->{state}, qr/^(accepted|delivering|delivered|failed)$/,
     '... a state');
is(scalar @{ $b->{deliveries} }, 1, '... its deliveries');
is($b->{deliveries}[0]{id}, "$first.0", '... the delivery id');
is($b->{deliveries}[0]{target}, 'c.c1', '... its target');
is_deeply($b->{request}{body}, $push{body}, '... the request');
ok(ref $b->{attempts} eq 'ARRAY', '... its attempts');

for my $path ('/v1/notifications/nope', '/v1/notifications/ntf_'
              . ('0' x 26), "/v1/notifications/$first/x") {
    ($st, $b, $h) = Notification::call($svc, 'GET', $path, undef, \%c1);
    is($st, 404, "GET $path: 404");
}

# an email's attachments are shown by their length
($st, $b) = post({ channel => 'email',
                   body => { subject => 'Report', text => 'attached' },
                   recipients => [ 'a@example.com' ],
                   attachments => [ { filename => 'r.csv',
                                      content_type => 'text/csv',
                                      content => 'YSxiCg==' } ] });
is($st, 202, 'an email with an attachment accepted');
($st, $b) = Notification::call($svc, 'GET', "/v1/notifications/$b->{id}",
                               undef, \%c1);
is_deeply($b->{request}{attachments},
          [ { filename => 'r.csv', content_type => 'text/csv',
              content_length => 8 } ],
          '... GET shows its length, not its content');

# ---- the list --------------------------------------------------------------

my %c5 = ('X-Consumer-ID' => 'c5');
my @ids;
for (1 .. 5) {
    ($st, $b) = post({ %push, recipients => [ 'c.c5' ] }, \%c5);
    push @ids, $b->{id};
}

my (@seen, $cursor);
for my $page (1 .. 4) {
    my $q = '?limit=2' . (defined $cursor ? "&cursor=$cursor" : '');
    ($st, $b) = Notification::call($svc, 'GET', "/v1/notifications$q",
                                   undef, \%c5);
    is($st, 200, "list page $page");
    push @seen, map { $_->{id} } @{ $b->{items} };
    $cursor = $b->{next_cursor};
    last unless defined $cursor;
}
is_deeply(\@seen, [ reverse @ids ], 'the list: all, newest first');

($st) = Notification::call($svc, 'GET', '/v1/notifications?limit=0', undef,
                           \%c5);
is($st, 400, 'limit 0: 400');

($st) = Notification::call($svc, 'GET', '/v1/notifications?owner=c1',
                           undef, \%c5);
is($st, 403, "another owner's list without the admin scope: 403");

($st, $b) = Notification::call($svc, 'GET', '/v1/notifications?owner=c5',
                               undef, { 'X-Consumer-ID' => 'adm',
                                        'X-Consumer-Scope' =>
                                            'notify:admin' });
is(scalar @{ $b->{items} }, 5, "an admin lists another owner's");

# ---- Redis down: 503, never 500 -------------------------------------------

$redis->stop;
($st, $b, $h) = post(\%push);
is($st, 503, 'Redis down: POST answers 503');
like($h->{'content-type'} // '', qr{^application/problem\+json},
     '... problem+json');
($st) = Notification::call($svc, 'GET', "/v1/notifications/$first", undef,
                           \%c1);
is($st, 503, '... GET too');
$redis->restart;
ok(Notification::eventually(sub { (post(\%push))[0] == 202 }, 20),
   'Redis back: accepted again');

# ---- the log ---------------------------------------------------------------

is(Notification::metric($svc, 'gw_ntf_accepted_total{channel="push"}') > 0,
   1, 'gw_ntf_accepted_total counts');
is(Notification::stop($svc), 0, 'stopped gracefully');
ok(!grep({ ($_->{status} // 0) >= 500 } Notification::log_lines($svc)),
   'no answer was a 5xx');
is(scalar(Notification::errors($svc)), 0, 'no error in the log');

# ---- indexes trimmed past keep ---------------------------------------------

my $short = Notification::start(env => { REDIS => $redis->address,
                                         KEEP => '1s' });
my %c7 = ('X-Consumer-ID' => 'c7');
Notification::call($short, 'POST', '/v1/notifications',
                   { %push, recipients => [ 'c.c7' ] }, \%c7)
    for 1 .. 3;
is(Notification::cmd($redis->port, 'ZCARD', 'gw:ntf:by:c7'), 3,
   "the owner's index");
sleep 1.2;
($st, $b) = Notification::call($short, 'POST', '/v1/notifications',
                               { %push, recipients => [ 'c.c7' ] }, \%c7);
is(Notification::cmd($redis->port, 'ZRANGE', 'gw:ntf:by:c7', 0, -1)->[0],
   $b->{id}, '... older than keep: trimmed as it grows');
is(Notification::stop($short), 0, 'stopped gracefully');
is(scalar(Notification::errors($short)), 0, 'no error in the log');

done_testing();
