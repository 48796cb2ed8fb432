# The identity service's signing keys (backends/identity/identity_keys*.c,
# docs/identity.md "Keys"): the first key on an empty Redis, the JWKS of
# each algorithm (kid = RFC 7638 thumbprint, no private member), its
# strong ETag and 304 on If-None-Match (exact, lists, W/, *), its
# Cache-Control; the metadata documents; the record in Redis (schedule,
# no plaintext private key, decrypts with the KEK and the kid as AAD and
# only so); two instances agreeing on one active kid and never both
# adding a key; `identity rotate` publishing a key that signs only after
# the lead, refused while one is pending, --now refused; the retired key
# published until token_ttl + leeway after its retirement, then dropped;
# a wrong KEK (not ready, one error per key) and a KEK of the wrong
# length; Redis down at start.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(sha256);
use JSON::PP ();
use MIME::Base64 qw(encode_base64url decode_base64url);
use Test::More;
use Time::HiRes qw(sleep time);

use Identity;
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();

my $KEYS = 'gw:identity:keys';
my $redis = Tollgate::Redis->start;

# lead = jwks_max_age + keys_poll (whole seconds) + 1 = 3 s;
# hold = token_ttl + leeway = 10 s
my %fast = (JWKS_MAX_AGE => 1, KEYS_POLL => '200ms', TOKEN_TTL => 10,
            LEEWAY => 0, ROTATION_INTERVAL => 3600);

sub thumbprint {
    my ($k) = @_;
    my @m = $k->{kty} eq 'EC'  ? qw(crv kty x y)
          : $k->{kty} eq 'RSA' ? qw(e kty n)
          :                      qw(crv kty x);
    my $json = '{' . join(',', map { qq("$_":"$k->{$_}") } @m) . '}';
    return encode_base64url(sha256($json));
}

sub records {
    my %h = split /\n/, $redis->cli('HGETALL', $KEYS);
    return { map { $_ => JSON::PP::decode_json($h{$_}) } keys %h };
}

sub jwks {
    my ($svc) = @_;
    my ($st, $j, $r) = Identity::get($svc, '/.well-known/jwks.json');
    return ($st, $j, $r);
}

sub jwks_kids {
    my ($svc) = @_;
    my (undef, $j) = jwks($svc);
    return join ' ', sort map { $_->{kid} } @{ $j->{keys} || [] };
}

sub errors {
    my ($svc) = @_;
    return grep { $_->{level} eq 'error' } Identity::log_lines($svc);
}

# ---- the first key, ES256 ----------------------------------------------------

my $sa = Identity::start(redis => $redis->address, env => \%fast);
my $k1 = Identity::wait_for(sub { Identity::active_kid($sa) }, 10);
ok($k1, "an empty Redis gets a first key, active at once: $k1");

my ($st, $j, $r) = jwks($sa);
is($st, 200, 'JWKS 200');
is(scalar @{ $j->{keys} }, 1, 'one key');
my $jwk = $j->{keys}[0];
is_deeply([ @$jwk{qw(kty crv alg use kid)} ], [ 'EC', 'P-256', 'ES256', 'sig',
                                                 $k1 ],
          'EC P-256, ES256, use sig, the active kid');
is($jwk->{kid}, thumbprint($jwk), 'kid is the RFC 7638 thumbprint');
ok(!grep({ exists $jwk->{$_} } qw(d p q dp dq qi)), 'no private member');

my $etag = $r->{headers}{etag};
like($etag, qr/^"[A-Za-z0-9_-]+"$/, "a strong ETag: $etag");
is($r->{headers}{'cache-control'}, 'public, max-age=1',
   'Cache-Control: max-age = jwks_max_age');

for my $inm ($etag, qq("nope", $etag), "W/$etag", '*', qq( "x" ,W/$etag)) {
    ($st, undef, $r) = Identity::get($sa, '/.well-known/jwks.json',
                                     'If-None-Match' => $inm);
    is($st, 304, "304 for If-None-Match: $inm");
}
is($r->{headers}{etag}, $etag, '304 carries the ETag');
for my $inm ('"nope"', 'W/"nope"', substr($etag, 0, -2) . '"', 'garbage') {
    ($st) = Identity::get($sa, '/.well-known/jwks.json',
                          'If-None-Match' => $inm);
    is($st, 200, "200 for If-None-Match: $inm");
}

# ---- metadata ----------------------------------------------------------------

for my $path ('/.well-known/oauth-authorization-server',
              '/.well-known/openid-configuration')
{
    ($st, $j) = Identity::get($sa, $path);
    is($st, 200, "$path 200");
    my $iss = $sa->{issuer};
    is_deeply([ @$j{qw(issuer token_endpoint jwks_uri introspection_endpoint
                       revocation_endpoint)} ],
              [ $iss, "$iss/oauth2/token", "$iss/.well-known/jwks.json",
                "$iss/oauth2/introspect", "$iss/oauth2/revoke" ],
              "$path: issuer and endpoints");
    is_deeply($j->{grant_types_supported},
              [ 'client_credentials',
                'urn:ietf:params:oauth:grant-type:token-exchange' ],
              "$path: grant types");
    is_deeply($j->{token_endpoint_auth_methods_supported},
              [ qw(client_secret_basic client_secret_post private_key_jwt) ],
              "$path: client authentication methods");
    ok(!grep({ $_ eq 'none' || /^HS/ }
             @{ $j->{token_endpoint_auth_signing_alg_values_supported} }),
       "$path: no none, no HMAC for assertions");
    is_deeply($j->{revocation_endpoint_auth_methods_supported},
              $j->{token_endpoint_auth_methods_supported},
              "$path: revocation authenticates as the token endpoint");
}

# ---- the record --------------------------------------------------------------

my $recs = records();
my $rec = $recs->{$k1};
ok($rec, 'the record is in gw:identity:keys under its kid');
is($rec->{activate}, $rec->{publish}, 'the first key activates as published');
is_deeply([ @$rec{qw(retire drop enc alg kid)} ],
          [ 0, 0, 'A256GCM', 'ES256', $k1 ], 'retire 0, drop 0, A256GCM');
is_deeply($rec->{jwk}, $jwk, 'the record holds the public JWK');
my $raw = $redis->cli('HGET', $KEYS, $k1);
unlike($raw, qr/"d"|PRIVATE|BEGIN/, 'no plaintext private key');

SKIP: {
    skip 'python3 with cryptography is needed to decrypt', 3
        unless system('python3 -c "import cryptography" 2>/dev/null') == 0;

    my $decrypt = sub {
        my ($kek_file, $aad) = @_;
        my $py = <<'PY';
import sys, base64
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_private_key
kek = open(sys.argv[1], 'rb').read()
d = lambda s: base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
try:
    der = AESGCM(kek).decrypt(d(sys.argv[2]), d(sys.argv[3]),
                              sys.argv[4].encode())
except Exception:
    print('fail'); sys.exit(0)
n = load_der_private_key(der, None).public_key().public_numbers()
print(base64.urlsafe_b64encode(n.x.to_bytes(32, 'big')).decode().rstrip('='))
PY
        open my $p, '-|', 'python3', '-c', $py, $kek_file, $rec->{iv},
            $rec->{private}, $aad or die "python3: $!";
        my $out = do { local $/; <$p> };
        close $p;
        chomp $out;
        return $out;
    };

    is($decrypt->(Identity::secret_file('kek', 32), $k1), $jwk->{x},
       'decrypts with the KEK: the private key of the published x');
    is($decrypt->(Identity::secret_file('kek-other', 32), $k1), 'fail',
       'another KEK does not decrypt it');
    is($decrypt->(Identity::secret_file('kek', 32), 'another-kid'), 'fail',
       'the kid is the additional data');
}

# ---- two instances, rotation -------------------------------------------------

my $sb = Identity::start(redis => $redis->address, env => \%fast);
is(Identity::active_kid($sb), $k1, 'a second instance signs with the same key');
is(scalar keys %{ records() }, 1, 'and added none');

my ($out, $rc) = Identity::run($sa->{env}, 'rotate', '--now');
is($rc, 2, 'rotate --now is refused');
like($out, qr/--now is refused/, 'and says why');

my $t0 = time;
($out, $rc) = Identity::run($sa->{env}, 'rotate');
is($rc, 0, 'identity rotate') or diag $out;
my $new = eval { JSON::PP::decode_json($out) } || {};
my $k2 = $new->{kid} // '';
ok($k2 && $k2 ne $k1, "a new kid: $k2");
is($new->{activate} - $new->{publish}, 3, 'it activates after the lead');

($out, $rc) = Identity::run($sa->{env}, 'rotate');
is($rc, 1, 'a second rotate is refused while a key is pending');
like($out, qr/\Q$k2\E is still pending/, 'naming the pending key');

for my $svc ($sa, $sb) {
    ok(Identity::wait_for(sub { jwks_kids($svc) eq join ' ', sort $k1, $k2 },
                          5),
       "instance $svc->{port}: the JWKS has both keys");
}
SKIP: {
    skip 'the lead passed already (slow machine)', 2
        if time - $t0 >= 2.5;
    is(Identity::active_kid($sa), $k1, 'the new key does not sign yet (a)');
    is(Identity::active_kid($sb), $k1, 'the new key does not sign yet (b)');
}

$recs = records();
is($recs->{$k1}{retire}, $recs->{$k2}{activate},
   'the old key retires when the new one activates');
is($recs->{$k1}{drop}, $recs->{$k2}{activate} + 10,
   'and is dropped token_ttl + leeway later');

for my $svc ($sa, $sb) {
    is(Identity::wait_for(sub {
           my $k = Identity::active_kid($svc);
           $k eq $k2 ? $k : undef }, 10),
       $k2, "instance $svc->{port}: the new key signs after the lead");
}
ok(Identity::wait_for(sub { time >= $recs->{$k2}{activate} + 1 }, 5)
   && jwks_kids($sa) eq join(' ', sort $k1, $k2),
   'the retired key stays published');

ok(Identity::wait_for(sub { jwks_kids($sa) eq $k2 && jwks_kids($sb) eq $k2 },
                      20),
   'then leaves both JWKS');
ok(Identity::wait_for(sub { !exists records()->{$k1} }, 5),
   'and Redis');
ok(time >= $recs->{$k1}{drop}, 'not before its drop time');

# ---- a wrong KEK ---------------------------------------------------------------

my $c = Identity::start(redis => $redis->address, env => \%fast,
                        kek => Identity::secret_file('kek-other', 32),
                        ready => 0);
ok(Identity::wait_for(sub { scalar errors($c) }, 5), 'a wrong KEK is logged');
sleep 1;
($st) = Identity::get($c, '/readyz');
is($st, 503, 'and the instance is not ready');
my @err = errors($c);
is(scalar @err, 1, 'one error for the key, not one per read');
is($err[0]{message}, 'signing key unusable', 'signing key unusable');
like($err[0]{fields}{error}, qr/another key-encryption key/, 'says why');
is(jwks_kids($c), $k2, 'it still publishes the key');
Identity::stop($c);

my (undef, %wrong) = Identity::env_for(redis => $redis->address,
                                       kek => Identity::secret_file(
                                           'kek-other', 32));
($out, $rc) = Identity::run(\%wrong, 'rotate');
is($rc, 1, 'rotate with a wrong KEK is refused');

my $short = Identity::secret_file('kek-short', 31);
my (undef, %short) = Identity::env_for(redis => $redis->address,
                                       kek => $short);
($out, $rc) = Identity::run(\%short, '-t');
is($rc, 2, 'a KEK of 31 bytes is refused at start');
like($out, qr/exactly 32 bytes/, 'saying so');

ok(!grep({ $_->{level} eq 'error' } map { Identity::log_lines($_) } $sa, $sb),
   'no error in the good instances');
Identity::stop($_) for $sa, $sb;

# ---- automatic rotation by two instances ------------------------------------

$redis->cli('DEL', $KEYS);
my %auto = (%fast, ROTATION_INTERVAL => 2);
my @two = map { Identity::start(redis => $redis->address, env => \%auto,
                                wait => 0) } 1 .. 2;
Identity::wait_for(sub { keys %{ records() } >= 3 }, 20);
my @act = sort { $a <=> $b } map { $_->{activate} } values %{ records() };
ok(@act >= 3, scalar(@act) . ' keys added by two instances');
ok(!grep({ $act[$_] - $act[$_ - 1] < 3 } 1 .. $#act),
   'never two keys within one lead: each added once')
    or diag "@act";
my $pending = grep { $_ > time + 0.5 } @act;
ok($pending <= 1, 'at most one key pending');
my $added = 0;
$added += Identity::metrics($_)->{identity_key_rotations_total} // 0 for @two;
cmp_ok($added, '>=', scalar @act, 'every key in Redis added by one of them');
Identity::stop($_) for @two;

# ---- each algorithm ----------------------------------------------------------

for my $alg ([ 'EdDSA', { kty => 'OKP', crv => 'Ed25519' } ],
             [ 'RS256', { kty => 'RSA', e => 'AQAB' } ])
{
    $redis->cli('DEL', $KEYS);
    my $svc = Identity::start(redis => $redis->address,
                              env => { %fast, SIGNING_ALG => $alg->[0] });
    ($st, $j) = jwks($svc);
    my $k = $j->{keys}[0];
    is_deeply({ map { $_ => $k->{$_} } keys %{ $alg->[1] }, 'alg' },
              { %{ $alg->[1] }, alg => $alg->[0] }, "$alg->[0]: the JWK");
    is($k->{kid}, thumbprint($k), "$alg->[0]: kid is the thumbprint");
    ok(!exists $k->{d}, "$alg->[0]: no private member");
    is(length(decode_base64url($k->{n} // $k->{x})),
       $alg->[0] eq 'RS256' ? 256 : 32, "$alg->[0]: key size");
    is(Identity::active_kid($svc), $k->{kid}, "$alg->[0]: active");
    Identity::stop($svc);
}

# ---- Redis down at start -----------------------------------------------------

$redis->stop;
my $d = Identity::start(redis => $redis->address, env => \%fast, ready => 0);
($st) = Identity::get($d, '/readyz');
is($st, 503, 'Redis down at start: not ready');
($st, $j) = Identity::get($d, '/.well-known/jwks.json');
is($st, 503, 'no JWKS before the keys are read');
$redis->restart;
ok(Identity::wait_for(sub { (Identity::get($d, '/readyz'))[0] == 200 }, 10),
   'ready once Redis is up');
is(jwks_kids($d), Identity::active_kid($d), 'with the key that signs');
Identity::stop($d);

done_testing();
