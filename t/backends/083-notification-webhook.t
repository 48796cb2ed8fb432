# The notification service's webhook subscriptions and signatures
# (docs/notification.md, "Webhooks"): the subscriptions API and its owner
# scoping, secrets sealed at rest, Standard Webhooks signatures as npm
# standardwebhooks, npm svix and node's crypto (v1a, Ed25519) verify
# them, rotation (both v1 signatures during the overlap, the old one gone
# after it), 410 disabling a subscription, failures for disable_after
# disabling it with its owner told (gw:ntf:events, an email request on
# gw:ntf:in), and deliveries of POST /v1/notifications to the
# subscriptions whose event types match, verified the same way.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp ();
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use HookReceiver;
use Notification;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (make backends)'
    unless -x Notification::binary();

my $JSON = JSON::PP->new->canonical;
my $UTF8 = JSON::PP->new->canonical->utf8;
my $redis = Tollgate::Redis->start;
my $rcv = HookReceiver->new;
my $svc = Notification::start(env => { REDIS => $redis->address,
                                       SECRET_OVERLAP => '3s',
                                       DISABLE_AFTER => '1s',
                                       SMTP_URL => 'smtp://127.0.0.1:1',
                                       SMTP_FROM => 'gw@example.com' });

my %SECRETS;
my %c1 = ('X-Consumer-ID' => 'c1');
my %c2 = ('X-Consumer-ID' => 'c2');
my %admin = ('X-Consumer-Subject' => 'ops', 'X-Consumer-Scope'
             => 'read notify:admin');

sub call { Notification::call($svc, @_) }

sub create {
    my ($body, $who) = @_;
    my ($s, $b, $h) = call('POST', '/v1/subscriptions', $body, $who // \%c1);
    is($s, 201, "created $body->{url}") or diag explain $b;
    $SECRETS{ $b->{id} // '' } = $b->{secret};
    return ($b, $h);
}

sub test_send {
    my ($sid, $who, $body) = @_;
    my ($s, $b) = call('POST', "/v1/subscriptions/$sid/test",
                       $UTF8->encode($body // {
                           type => 'invoice.paid',
                           data => { n => 1, s => "\x{e9}t\x{e9}" } }),
                       $who // \%c1);
    is($s, 200, "test delivery to $sid answered") or diag explain $b;
    return $b;
}

sub node_check {
    my ($input) = @_;
    my $tmp = File::Temp->new;
    print {$tmp} $JSON->encode($input);
    close $tmp;
    my $out = `node $FindBin::Bin/../js/webhooks.mjs < $tmp 2>&1`;
    my $r = eval { $JSON->decode((grep { /^\{/ } split /\n/, $out)[-1]) };
    return $r // { error => $out };
}

my $have_node = -d "$FindBin::Bin/../js/node_modules/standardwebhooks"
    && -d "$FindBin::Bin/../js/node_modules/svix"
    && `node -e 'console.log(1)' 2>/dev/null` =~ /1/;

# ---- the API and its scoping --------------------------------------------

my ($sub, $h) = create({ url => $rcv->url('/ok/1'),
                         event_types => ['invoice.*', 'user.created'],
                         description => 'billing', ed25519 => JSON::PP::true,
                         owner_email => 'owner@example.com' });
like($sub->{id}, qr/^sub_[0-9A-HJKMNP-TV-Z]{26}$/, 'a sub_ id');
like($sub->{secret}, qr{^whsec_[A-Za-z0-9+/]{32}$}, 'a whsec_ of 24 bytes');
like($sub->{public_key}, qr{^whpk_[A-Za-z0-9+/]{43}=$}, 'a whpk_ key');
is($h->{location}, "/v1/subscriptions/$sub->{id}", 'Location');

my $raw = $redis->cli('HGET', "gw:ntf:sub:$sub->{id}", 'secret');
unlike($raw, qr/whsec_|\Q$sub->{secret}\E/, 'the secret is sealed at rest');
ok(length $raw > 40, 'sealed: nonce, ciphertext, tag');
my $edraw = $redis->cli('HGET', "gw:ntf:sub:$sub->{id}", 'ed25519_key');
unlike($edraw, qr/whsk_/, 'the Ed25519 key is sealed at rest');

my ($s, $b) = call('GET', "/v1/subscriptions/$sub->{id}", undef, \%c1);
is($s, 200, 'GET own');
is($b->{url}, $rcv->url('/ok/1'), 'GET: url');
is_deeply($b->{event_types}, ['invoice.*', 'user.created'], 'event types');
is($b->{status}, 'enabled', 'enabled');
ok(!exists $b->{secret} && !grep({ /whsec_|whsk_/ } map { $_ // '' }
                                  values %$b),
   'GET never shows a secret');
is($b->{public_key}, $sub->{public_key}, 'GET shows the public key');

($s) = call('GET', "/v1/subscriptions/$sub->{id}", undef, \%c2);
is($s, 404, "another owner's subscription: 404");
($s) = call('PATCH', "/v1/subscriptions/$sub->{id}", { url =>
            $rcv->url('/x') }, \%c2);
is($s, 404, "PATCH of another owner's: 404");
($s) = call('DELETE', "/v1/subscriptions/$sub->{id}", undef, \%c2);
is($s, 404, "DELETE of another owner's: 404");
($s) = call('POST', "/v1/subscriptions/$sub->{id}/rotate", undef, \%c2);
is($s, 404, "rotate of another owner's: 404");
($s) = call('POST', "/v1/subscriptions/$sub->{id}/test", undef, \%c2);
is($s, 404, "test of another owner's: 404");
($s) = call('GET', '/v1/subscriptions/sub_00000000000000000000000000',
            undef, \%c1);
is($s, 404, 'an unknown id: 404');
($s, $b) = call('GET', '/v1/subscriptions', undef, {});
is($s, 401, 'no consumer: 401');
is($b->{type}, 'urn:tollgate:problem:unauthorized', 'problem+json');
($s) = call('GET', "/v1/subscriptions/$sub->{id}", undef, \%admin);
is($s, 200, 'an admin sees any');

($s, $b) = call('GET', '/v1/subscriptions', undef, \%c2);
is_deeply($b->{subscriptions}, [], "c2 lists none of c1's");
($s, $b) = call('GET', '/v1/subscriptions', undef, \%c1);
is(scalar @{ $b->{subscriptions} }, 1, 'c1 lists its one');
($s, $b) = call('GET', '/v1/subscriptions?owner=c1', undef, \%admin);
is(scalar @{ $b->{subscriptions} }, 1, 'an admin lists c1\'s');

for my $bad ([{ url => 'ftp://x.example/', event_types => ['*'] }, '/url'],
             [{ url => 'https://u:p@x.example/', event_types => ['*'] },
              '/url'],
             [{ url => 'http://10.1.2.3/', event_types => ['*'] }, '/url'],
             [{ url => 'http://169.254.169.254/latest', event_types =>
                ['*'] }, '/url'],
             [{ url => 'http://[::1]:80/', event_types => ['*'] }, '/url'],
             [{ url => 'http://[::ffff:10.0.0.1]/', event_types => ['*'] },
              '/url'],
             [{ url => "https://x.example/a\r\nX-Injected: 1",
                event_types => ['*'] }, '/url'],
             [{ url => 'https://x.example/a b', event_types => ['*'] },
              '/url'],
             [{ url => 'https://' . ('a' x 256) . '.example/',
                event_types => ['*'] }, '/url'],
             [{ url => 'https://x.example/', event_types => ['A b'] },
              '/event_types/0'],
             [{ url => 'https://x.example/', event_types => [] },
              '/event_types'],
             [{ url => 'https://x.example/' }, '/event_types'],
             [{ url => 'https://x.example/', event_types => ['*'],
                owner_email => "a\r\nBcc: x\@y" }, '/owner_email'],
             [{ url => 'https://x.example/', event_types => ['*'],
                owner => 'c2' }, '/owner'],
             [{ url => 'https://x.example/', event_types => ['*'],
                extra => 1 }, '']) {
    my ($body, $ptr) = @$bad;
    ($s, $b) = call('POST', '/v1/subscriptions', $body, \%c1);
    is($s, 422, "refused: " . $JSON->encode($body));
    is($b->{pointer}, $ptr, "  pointer $ptr");
}
($s) = call('POST', '/v1/subscriptions', '{"url":', \%c1);
is($s, 400, 'malformed JSON: 400');
($s) = call('GET', '/v1/subscriptions', undef,
            { 'X-Consumer-ID' => ['c1', 'c2'] });
is($s, 400, 'two X-Consumer-ID: 400');

# an admin creates one for another owner
my ($other) = create({ url => $rcv->url('/ok/other'), event_types => ['*'],
                       owner => 'c2' }, \%admin);
($s, $b) = call('GET', "/v1/subscriptions/$other->{id}", undef, \%c2);
is($b->{owner}, 'c2', 'created for c2 by an admin');

# ---- signatures ------------------------------------------------------------

my $t = test_send($sub->{id});
is($t->{result}, 'ok', 'delivered');
is($t->{status}, 200, 'status 200');
my ($req) = grep { $_->{path} eq '/ok/1' } $rcv->requests;
ok($req, 'the receiver got it');
is($req->{method}, 'POST', 'POST');
is($req->{headers}{'webhook-id'}, $t->{webhook_id}, 'webhook-id');
like($req->{headers}{'webhook-timestamp'}, qr/^\d{10}$/, 'a timestamp');
ok(abs($req->{headers}{'webhook-timestamp'} - time) < 60, '... now');
is($req->{headers}{'content-type'}, 'application/json', 'Content-Type');
is($req->{headers}{'user-agent'}, 'Tollgate-Webhooks/1', 'User-Agent');
my $payload = $UTF8->decode($req->{body});
is($payload->{type}, 'invoice.paid', 'payload type');
is_deeply($payload->{data}, { n => 1, s => "\x{e9}t\x{e9}" }, 'payload data');
like($payload->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'payload timestamp');
like($req->{headers}{'webhook-signature'},
     qr{^v1,[A-Za-z0-9+/]{43}= v1a,[A-Za-z0-9+/]{86}==$},
     'one v1 and one v1a signature');

SKIP: {
    skip 'node and t/js/node_modules (make deps-test)', 8 unless $have_node;

    my $r = node_check({ secret => $sub->{secret},
                         public_key => $sub->{public_key},
                         requests => [ { headers => $req->{headers},
                                         body => $req->{body} } ] });
    ok($r->{results}[0]{standardwebhooks}, 'npm standardwebhooks verifies')
        or diag explain $r;
    ok($r->{results}[0]{svix}, 'npm svix verifies');
    ok($r->{results}[0]{v1a}, "node's crypto verifies v1a (Ed25519)");

    # a tampered body and a wrong secret fail, so the checks check
    my %h2 = %{ $req->{headers} };
    $r = node_check({ secret => $sub->{secret},
                      public_key => $sub->{public_key},
                      requests => [ { headers => \%h2,
                                      body => $req->{body} . ' ' } ] });
    ok(!$r->{results}[0]{standardwebhooks}, 'a changed body: refused');
    ok(!$r->{results}[0]{svix}, '... by svix too');
    ok(!$r->{results}[0]{v1a}, '... and v1a');
    $r = node_check({ secret => $other->{secret},
                      requests => [ { headers => $req->{headers},
                                      body => $req->{body} } ] });
    ok(!$r->{results}[0]{standardwebhooks}, 'another secret: refused');
    ok(!$r->{results}[0]{svix}, '... by svix too');
}

# ---- rotation --------------------------------------------------------------

($s, $b) = call('POST', "/v1/subscriptions/$sub->{id}/rotate", undef, \%c1);
is($s, 200, 'rotated');
my $new = $b->{secret};
like($new, qr/^whsec_/, 'a new secret');
isnt($new, $sub->{secret}, '... another one');
ok($b->{previous_valid_until}, 'the old one valid until');

$t = test_send($sub->{id});
my @got = grep { $_->{headers}{'webhook-id'} eq $t->{webhook_id} }
          $rcv->requests;
my @v1 = grep { /^v1,/ } split / /, $got[0]{headers}{'webhook-signature'};
is(scalar @v1, 2, 'two v1 signatures during the overlap');

SKIP: {
    skip 'node and t/js/node_modules', 4 unless $have_node;
    for my $secret ($new, $sub->{secret}) {
        my $r = node_check({ secret => $secret,
                             requests => [ { headers => $got[0]{headers},
                                             body => $got[0]{body} } ] });
        ok($r->{results}[0]{standardwebhooks},
           'standardwebhooks verifies with ' . ($secret eq $new
                                                ? 'the new' : 'the old'));
        ok($r->{results}[0]{svix}, '... and svix');
    }
}

sleep 3.2;
$t = test_send($sub->{id});
@got = grep { $_->{headers}{'webhook-id'} eq $t->{webhook_id} }
       $rcv->requests;
@v1 = grep { /^v1,/ } split / /, $got[0]{headers}{'webhook-signature'};
is(scalar @v1, 1, 'one v1 signature after the overlap');

SKIP: {
    skip 'node and t/js/node_modules', 2 unless $have_node;
    my $r = node_check({ secret => $sub->{secret},
                         requests => [ { headers => $got[0]{headers},
                                         body => $got[0]{body} } ] });
    ok(!$r->{results}[0]{standardwebhooks}, 'the old secret no longer');
    $r = node_check({ secret => $new,
                      requests => [ { headers => $got[0]{headers},
                                      body => $got[0]{body} } ] });
    ok($r->{results}[0]{svix}, 'the new one does');
}

# ---- PATCH -----------------------------------------------------------------

($s, $b) = call('PATCH', "/v1/subscriptions/$sub->{id}",
                { event_types => ['user.*'], description => 'users' }, \%c1);
is($s, 200, 'PATCH');
is_deeply($b->{event_types}, ['user.*'], 'PATCH: event types');
($s, $b) = call('PATCH', "/v1/subscriptions/$sub->{id}",
                { url => 'http://192.168.1.1/' }, \%c1);
is($s, 422, 'PATCH to a private address: 422');
($s, $b) = call('PATCH', "/v1/subscriptions/$sub->{id}",
                { status => 'paused' }, \%c1);
is($s, 422, 'PATCH: a bad status');

# ---- 410 disables ----------------------------------------------------------

my ($gone) = create({ url => $rcv->url('/gone'), event_types => ['*'],
                      owner_email => 'ops@example.com' });
$t = test_send($gone->{id});
is($t->{result}, 'gone', '410: gone');
is($t->{status}, 410, '... status 410');
ok(Notification::eventually(sub {
    my (undef, $g) = call('GET', "/v1/subscriptions/$gone->{id}", undef,
                          \%c1);
    ($g->{status} // '') eq 'disabled'
}), 'the subscription is disabled');
(undef, $b) = call('GET', "/v1/subscriptions/$gone->{id}", undef, \%c1);
is($b->{disabled_reason}, 'gone', 'reason gone');
$t = test_send($gone->{id});
is($t->{result}, 'fail', 'a disabled subscription: fail');
is($t->{error}, 'subscription disabled', '... subscription disabled');
is(scalar(grep { $_->{path} eq '/gone' } $rcv->requests), 1,
   'nothing sent to a disabled subscription');
is(Notification::metric($svc,
       'gw_ntf_subscriptions_disabled_total{reason="gone"}'), 1,
   'counted: gone');

# ---- failing for disable_after ---------------------------------------------

my ($failing) = create({ url => $rcv->url('/fail'), event_types => ['*'],
                         owner_email => 'owner@example.com' });
$t = test_send($failing->{id});
is($t->{result}, 'retry', '500: retry');
is($t->{status}, 500, '... 500');
is($t->{retry_after_ms}, 7000, "... the receiver's Retry-After kept");
ok(Notification::eventually(sub {
    my (undef, $g) = call('GET', "/v1/subscriptions/$failing->{id}", undef,
                          \%c1);
    defined $g->{failing_since}
}), 'failing_since set');
(undef, $b) = call('GET', "/v1/subscriptions/$failing->{id}", undef, \%c1);
is($b->{status}, 'enabled', 'still enabled');
sleep 1.1;
test_send($failing->{id});
ok(Notification::eventually(sub {
    my (undef, $g) = call('GET', "/v1/subscriptions/$failing->{id}", undef,
                          \%c1);
    ($g->{status} // '') eq 'disabled'
}), 'disabled after disable_after of failures');
(undef, $b) = call('GET', "/v1/subscriptions/$failing->{id}", undef, \%c1);
is($b->{disabled_reason}, 'failing', 'reason failing');

my $events = $redis->cli('XRANGE', 'gw:ntf:events', '-', '+');
like($events, qr/subscription\.disabled.*?\Q$gone->{id}\E.*?gone/s,
     'an event for the 410');
like($events, qr/subscription\.disabled.*?\Q$failing->{id}\E.*?failing/s,
     'an event for the failing one');
my $in = $redis->cli('XRANGE', 'gw:ntf:in', '-', '+');
my @mails = map { $JSON->decode($_) } grep { /^\{/ } split /\n/, $in;
my ($mail) = grep { ($_->{data}{subscription} // '') eq $failing->{id} }
             @mails;
ok($mail, 'an email request for the owner on gw:ntf:in');
is($mail->{channel}, 'email', '... channel email');
is_deeply($mail->{recipients}, ['owner@example.com'], '... to the owner');
is($mail->{owner}, 'c1', '... as the owner');
like($mail->{body}{text}, qr/\Q$failing->{id}\E.*kept failing/s,
     '... saying why');
is(Notification::metric($svc,
       'gw_ntf_subscriptions_disabled_total{reason="failing"}'), 1,
   'counted: failing');

# re-enabling clears failing_since
($s, $b) = call('PATCH', "/v1/subscriptions/$failing->{id}",
                { status => 'enabled', url => $rcv->url('/ok/again') },
                \%c1);
is($b->{status}, 'enabled', 're-enabled');
ok(!defined $b->{failing_since}, 'failing_since cleared');
ok(!exists $b->{disabled_reason}, 'the reason cleared');
is(test_send($failing->{id})->{result}, 'ok', 'delivered again');

# ---- through POST /v1/notifications ------------------------------------------

# the accept path (ntf_accept.c, templates) delivering to subscriptions
# matched by event type, signed as above
SKIP: {
    my $inv = (create({ url => $rcv->url('/ok/e2e-invoice'),
                        event_types => ['invoice.*'],
                        ed25519 => JSON::PP::true }))[0]{id};
    my ($inv_sub) = grep { $_->{id} eq $inv }
                    @{ (call('GET', '/v1/subscriptions', undef,
                             \%c1))[1]{subscriptions} };
    my $ord = (create({ url => $rcv->url('/ok/e2e-order'),
                        event_types => ['order.created'] }))[0]{id};
    my ($st, $n) = call('POST', '/v1/notifications',
                        { channel => 'webhook', type => 'invoice.paid',
                          body => { data => { amount => 42 } } }, \%c1);
    skip "POST /v1/notifications cannot render here ($st)", 9
        if $st == 503;
    is($st, 202, 'a notification accepted');
    ok(Notification::eventually(sub {
        grep { $_->{path} eq '/ok/e2e-invoice' } $rcv->requests }),
       'delivered to the invoice.* subscription');
    ok(!grep({ $_->{path} eq '/ok/e2e-order' } $rcv->requests),
       'not to the order.created one');
    my ($got) = grep { $_->{path} eq '/ok/e2e-invoice' } $rcv->requests;
    like($got->{headers}{'webhook-id'}, qr/^\Q$n->{id}\E\.\d+$/,
         'webhook-id: a delivery id of the notification');
    is_deeply($UTF8->decode($got->{body})->{data}, { amount => 42 },
              'the data');
    is($UTF8->decode($got->{body})->{type}, 'invoice.paid', 'the type');

    skip 'node and t/js/node_modules', 3 unless $have_node;
    my $r = node_check({ secret => $SECRETS{$inv},
                         public_key => $inv_sub->{public_key},
                         requests => [ { headers => $got->{headers},
                                         body => $got->{body} } ] });
    ok($r->{results}[0]{standardwebhooks}, 'standardwebhooks verifies it');
    ok($r->{results}[0]{svix}, 'svix verifies it');
    ok($r->{results}[0]{v1a}, 'node verifies its v1a');
}

# ---- DELETE ----------------------------------------------------------------

($s) = call('DELETE', "/v1/subscriptions/$failing->{id}", undef, \%c1);
is($s, 204, 'deleted');
($s) = call('GET', "/v1/subscriptions/$failing->{id}", undef, \%c1);
is($s, 404, 'gone after DELETE');
is($redis->cli('ZSCORE', 'gw:ntf:subs:c1', $failing->{id}), '',
   'out of the owner\'s list');

is_deeply([ Notification::errors($svc) ], [], 'no error logged');

Notification::stop($svc);

# ---- the key file ----------------------------------------------------------

my $dir = Notification::tmp();
open my $fh, '>', "$dir/open.key" or die $!;
print $fh 'ab' x 32, "\n";
close $fh;
chmod 0644, "$dir/open.key";
my ($out, $rc) = Notification::run(env => { SECRET_KEY_FILE =>
                                            "$dir/open.key" },
                                   args => ['-t']);
isnt($rc, 0, 'a key file others may read: refused');
like($out, qr/secret_key_file.*owner only/, '... saying so');
chmod 0600, "$dir/open.key";
($out, $rc) = Notification::run(env => { SECRET_KEY_FILE =>
                                         "$dir/open.key" }, args => ['-t']);
is($rc, 0, 'mode 600: accepted') or diag $out;
open $fh, '>', "$dir/short.key" or die $!;
print $fh 'abcd';
close $fh;
chmod 0600, "$dir/short.key";
($out, $rc) = Notification::run(env => { SECRET_KEY_FILE =>
                                         "$dir/short.key" }, args => ['-t']);
isnt($rc, 0, 'not 64 hex digits: refused');
($out, $rc) = Notification::run(env => { SECRET_KEY_FILE =>
                                         "$dir/none.key" }, args => ['-t']);
isnt($rc, 0, 'a missing key file: refused');

done_testing();
