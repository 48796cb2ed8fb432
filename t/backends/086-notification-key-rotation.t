# The rotation of a webhook subscription's Ed25519 key (v1a), docs/
# notification-webhooks.md, "Secrets and rotation": POST .../rotate with
# {"key": "ed25519"} makes a new key pair, and during secret_overlap
# every delivery carries both v1a signatures (the new key's first), both
# public keys listed by GET with their key ids and validity; after the
# overlap only the new key signs and the old one is no longer listed.
# The signatures are checked by node's crypto (t/js/webhooks.mjs), the
# v1 one by npm standardwebhooks, as t/backends/083 does.  A rotate of
# the secret leaves the key alone; a subscription without a key is 409,
# a bad body 422; the old private key stays sealed at rest.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use File::Temp ();
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Notification;
use NtfReceiver;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (make backends)'
    unless -x Notification::binary();

my $JSON = JSON::PP->new->canonical;
my $redis = Tollgate::Redis->start;
my $rx = NtfReceiver->start;
my $svc = Notification::start(env => { REDIS => $redis->address,
                                       SECRET_OVERLAP => '3s' });

my %c1 = ('X-Consumer-ID' => 'c1');
my %c2 = ('X-Consumer-ID' => 'c2');

sub call { Notification::call($svc, @_) }

my $have_node = -d "$FindBin::Bin/../js/node_modules/standardwebhooks"
    && `node -e 'console.log(1)' 2>/dev/null` =~ /1/;

# the receiver's request of one /test delivery
sub test_send {
    my ($sid) = @_;
    my ($s, $b) = call('POST', "/v1/subscriptions/$sid/test", undef, \%c1);
    is($s, 200, 'a test delivery') or diag explain $b;
    is($b->{result}, 'ok', '... delivered');
    my ($r) = grep { ($_->{'webhook-id'} // '') eq ($b->{webhook_id} // '-') }
              $rx->requests;
    return $r;
}

# node's verdicts on one request: standardwebhooks (v1, secret) and v1a
# (Ed25519, public key)
sub node_check {
    my ($r, $secret, $pk) = @_;
    my $tmp = File::Temp->new;
    print {$tmp} $JSON->encode({
        secret => $secret, public_key => $pk,
        requests => [ { headers => { map { ($_ => $r->{$_}) }
                                     grep { /^webhook-/ } keys %$r },
                        body => $r->{body} } ] });
    close $tmp;
    my $out = `node $FindBin::Bin/../js/webhooks.mjs < $tmp 2>&1`;
    my $v = eval { $JSON->decode((grep { /^\{/ } split /\n/, $out)[-1]) };
    return $v ? $v->{results}[0] : { error => $out };
}

sub sigs {
    my ($r, $kind) = @_;
    return grep { /^\Q$kind\E,/ } split / /, $r->{'webhook-signature'} // '';
}

# ---- before any rotation -------------------------------------------------

my ($s, $sub) = call('POST', '/v1/subscriptions',
                     { url => $rx->url, event_types => ['*'],
                       ed25519 => JSON::PP::true }, \%c1);
is($s, 201, 'a subscription with an Ed25519 key');
my $old_pk = $sub->{public_key};
my $sid = $sub->{id};

my ($g, $b);
($s, $g) = call('GET', "/v1/subscriptions/$sid", undef, \%c1);
is(scalar @{ $g->{public_keys} || [] }, 1, 'one public key listed');
is($g->{public_keys}[0]{public_key}, $old_pk, '... the key');
like($g->{public_keys}[0]{key_id}, qr/^k_[0-9a-f]{16}$/, '... its id');
ok(exists $g->{public_keys}[0]{valid_until}
   && !defined $g->{public_keys}[0]{valid_until}, '... valid, no end');
my $old_kid = $g->{public_keys}[0]{key_id};

# ---- refusals -------------------------------------------------------------

($s, $b) = call('POST', "/v1/subscriptions/$sid/rotate", { key => 'rsa' },
                \%c1);
is($s, 422, 'rotate {"key": "rsa"}: 422');
is($b->{pointer}, '/key', '... naming /key');
($s, $b) = call('POST', "/v1/subscriptions/$sid/rotate", { what => 1 },
                \%c1);
is($s, 422, 'rotate with another member: 422');
like($b->{detail} // '', qr/unknown member "what"/, '... naming it');
($s) = call('POST', "/v1/subscriptions/$sid/rotate", '[1', \%c1);
is($s, 400, 'rotate with a body that is not JSON: 400');
($s) = call('POST', "/v1/subscriptions/$sid/rotate", { key => 'ed25519' },
            \%c2);
is($s, 404, "rotate of another owner's key: 404");

my ($s2, $plain) = call('POST', '/v1/subscriptions',
                        { url => $rx->url('/plain'), event_types => ['x'] },
                        \%c1);
($s, $b) = call('POST', "/v1/subscriptions/$plain->{id}/rotate",
                { key => 'ed25519' }, \%c1);
is($s, 409, 'a subscription without a key: 409');
like($b->{detail} // '', qr/Ed25519/, '... saying why');

# ---- the secret's rotation leaves the key alone -----------------------------

($s, $b) = call('POST', "/v1/subscriptions/$sid/rotate", { key => 'secret' },
                \%c1);
is($s, 200, 'the secret rotated ({"key": "secret"})');
my $secret = $b->{secret};
like($secret, qr/^whsec_/, '... a new secret');
($s, $g) = call('GET', "/v1/subscriptions/$sid", undef, \%c1);
is($g->{public_key}, $old_pk, '... the public key unchanged');
is(scalar @{ $g->{public_keys} }, 1, '... one key listed');

# ---- the key's rotation -----------------------------------------------------

($s, $b) = call('POST', "/v1/subscriptions/$sid/rotate", { key => 'ed25519' },
                \%c1);
is($s, 200, 'the Ed25519 key rotated') or diag explain $b;
my $new_pk = $b->{public_key};
like($new_pk, qr{^whpk_[A-Za-z0-9+/]{43}=$}, '... a new public key');
isnt($new_pk, $old_pk, '... another one');
like($b->{key_id}, qr/^k_[0-9a-f]{16}$/, '... its id');
isnt($b->{key_id}, $old_kid, '... another id');
ok($b->{previous_valid_until}, '... the old one valid until');
ok(!exists $b->{secret}, '... no secret in the answer');

my $raw = $redis->cli('HGET', "gw:ntf:sub:$sid", 'ed25519_key_old');
ok(length($raw // '') > 40, 'the old private key kept');
unlike($raw // '', qr/whsk_/, '... sealed at rest');
unlike($redis->cli('HGET', "gw:ntf:sub:$sid", 'ed25519_key') // '',
       qr/whsk_/, 'the new one sealed too');

($s, $g) = call('GET', "/v1/subscriptions/$sid", undef, \%c1);
is($g->{public_key}, $new_pk, 'GET: the current public key');
is(scalar @{ $g->{public_keys} }, 2, 'GET: two public keys listed');
is($g->{public_keys}[0]{public_key}, $new_pk, '... the new one first');
ok(!defined $g->{public_keys}[0]{valid_until}, '... without an end');
is($g->{public_keys}[1]{public_key}, $old_pk, '... then the old one');
is($g->{public_keys}[1]{key_id}, $old_kid, '... its id as before');
is($g->{public_keys}[1]{valid_until}, $b->{previous_valid_until},
   '... valid until the overlap ends');
ok(!grep({ /whsk_|whsec_/ } map { ref $_ ? '' : $_ // '' } values %$g),
   'GET shows no private key');

my $r = test_send($sid);
is(scalar(sigs($r, 'v1a')), 2, 'two v1a signatures during the overlap');
is(scalar(sigs($r, 'v1')), 2,
   '... and two v1 (the secret rotated just before)');

SKIP: {
    skip 'node and t/js/node_modules (make deps-test)', 4 unless $have_node;
    my $v = node_check($r, $secret, $new_pk);
    ok($v->{v1a}, 'the new key verifies during the overlap')
        or diag explain $v;
    ok($v->{standardwebhooks}, '... and standardwebhooks the v1');
    $v = node_check($r, $secret, $old_pk);
    ok($v->{v1a}, 'the old key verifies during the overlap');
    my %one = %$r;
    $one{'webhook-signature'} = (sigs($r, 'v1a'))[0];
    $v = node_check(\%one, $secret, $new_pk);
    ok($v->{v1a}, 'the first v1a is the new key\'s');
}

# ---- after the overlap -------------------------------------------------------

sleep 3.2;

$r = test_send($sid);
is(scalar(sigs($r, 'v1a')), 1, 'one v1a signature after the overlap');
is(scalar(sigs($r, 'v1')), 1, '... and one v1');

SKIP: {
    skip 'node and t/js/node_modules (make deps-test)', 3 unless $have_node;
    my $v = node_check($r, $secret, $new_pk);
    ok($v->{v1a}, 'the new key verifies');
    ok($v->{standardwebhooks}, '... and the v1 with the secret');
    $v = node_check($r, $secret, $old_pk);
    ok(!$v->{v1a}, 'the old key no longer');
}

($s, $g) = call('GET', "/v1/subscriptions/$sid", undef, \%c1);
is(scalar @{ $g->{public_keys} }, 1, 'one public key listed after it');
is($g->{public_keys}[0]{public_key}, $new_pk, '... the new one');

# rotating twice: the middle key is the previous one, the first is gone
($s, $b) = call('POST', "/v1/subscriptions/$sid/rotate", { key => 'ed25519' },
                \%c1);
my $third = $b->{public_key};
($s, $g) = call('GET', "/v1/subscriptions/$sid", undef, \%c1);
is_deeply([ map { $_->{public_key} } @{ $g->{public_keys} } ],
          [ $third, $new_pk ], 'rotated again: the new and the previous');

is(scalar(Notification::errors($svc)), 0, 'nothing logged at error');

is(Notification::stop($svc), 0, 'stopped');

done_testing;
