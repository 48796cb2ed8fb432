# gwctl client (cli/gwctl_client.c, docs/gwctl.md): the identity service's
# clients in Redis.  A secret is printed once and stored only as
# HMAC-SHA-256 under the pepper (checked here with Digest::SHA); every
# change is one transaction with the "client <id>" event (seen by a
# subscriber); listings page like consumer list; rotate-secret keeps the
# previous hash for the grace; set-key takes a public JWK only.  Every
# usage error exits 1 before Redis is asked, a state error 2.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(hmac_sha256_hex);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use Test::More;
use Time::HiRes qw(time);

use Identity;
use Tollgate::Gwctl;
use Tollgate::JWT qw(key_file public_jwk spew slurp);
use Tollgate::Redis;

plan skip_all => 'build/gwctl is not built (run make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $redis = Tollgate::Redis->start;
my $ctl = Tollgate::Gwctl->new($redis);
my $tmp = tempdir(DIR => Identity::tmp());
my $pepper_file = Identity::secret_file('pepper', 32);
my $pepper = slurp($pepper_file);

my $sub = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                PeerPort => $redis->port, Proto => 'tcp')
    or die "subscriber: $!";
syswrite $sub, "SUBSCRIBE gw:events\r\n";
{ my $b = ''; sysread $sub, $b, 4096 until $b =~ /:1\r\n/; }

sub events {
    my $buf = '';
    my $sel = IO::Select->new($sub);
    while ($sel->can_read(0.3)) {
        sysread($sub, $buf, 4096, length $buf) or last;
    }
    return [ $buf =~ /\$\d+\r\n(client [^\r]*)\r\n/g ];
}

sub rec { return { @{ $ctl->redis('HGETALL', "gw:client:$_[0]") } } }

# ---- add ------------------------------------------------------------------------

my ($code, $out, $err) = $ctl->run('client', 'add', 'svc-a', '--pepper',
    $pepper_file, '--scopes', 'read write', '--default-scopes', 'read',
    '--audiences', 'https://a.test https://b.test',
    '--default-audience', 'https://a.test', '--name', 'Service A');
is($code, 0, 'add: exit 0') or diag $err;
my ($secret) = $out =~ /^client_secret: (\S+)$/m;
like($secret, qr/^tgs_[A-Za-z0-9_-]{43}$/, 'a 256-bit secret, shown once');
like($err, qr/shown once/, 'with a warning on stderr');

my $r = rec('svc-a');
is($r->{secret}, hmac_sha256_hex($secret, $pepper),
   'stored as HMAC-SHA-256 under the pepper');
is_deeply([ @$r{qw(status auth scopes default_scopes audiences
                   default_audience name)} ],
          [ 'active', 'client_secret_basic', 'read write', 'read',
            'https://a.test https://b.test', 'https://a.test', 'Service A' ],
          'the record');
ok(!grep({ index($_, substr($secret, 4)) >= 0 }
         map { @{ $ctl->redis('HGETALL', $_) } }
         @{ $ctl->redis('KEYS', 'gw:client:*') }),
   'the secret itself is nowhere in Redis');
is_deeply($ctl->redis('ZRANGE', 'gw:clients', 0, -1), [ 'svc-a' ],
          'gw:clients');
is_deeply(events(), [ 'client svc-a' ], 'the event');

{
    local $ENV{TOLLGATE_IDENTITY_PEPPER_FILE} = $pepper_file;
    ($code, $out) = $ctl->run('client', 'add', 'svc-b', '--auth',
                              'client_secret_post private_key_jwt');
    is($code, 0, 'the pepper from $TOLLGATE_IDENTITY_PEPPER_FILE');
}

($code) = $ctl->run('client', 'add', 'svc-j', '--auth', 'private_key_jwt');
is($code, 0, 'a private_key_jwt client needs no pepper');
is(rec('svc-j')->{secret}, '', 'and has no secret');
events();

my $short = "$tmp/short";
spew($short, 'x' x 16);

for my $case (
    [ 'an existing id', 2, 'svc-a', '--pepper', $pepper_file ],
    [ 'a bad id', 1, "bad id", '--pepper', $pepper_file ],
    [ 'no pepper', 1, 'svc-c' ],
    [ 'a short pepper', 1, 'svc-c', '--pepper', $short ],
    [ 'default scopes not allowed', 1, 'svc-c', '--pepper', $pepper_file,
      '--scopes', 'a', '--default-scopes', 'b' ],
    [ 'default audience not allowed', 1, 'svc-c', '--pepper', $pepper_file,
      '--audiences', 'https://a.test', '--default-audience',
      'https://b.test' ],
    [ 'an audience with a fragment', 1, 'svc-c', '--pepper', $pepper_file,
      '--audiences', 'https://a.test#x' ],
    [ 'a scope with a quote', 1, 'svc-c', '--pepper', $pepper_file,
      '--scopes', 'a"b' ],
    [ 'an unknown method', 1, 'svc-c', '--pepper', $pepper_file,
      '--auth', 'none' ],
    [ 'an unknown grant', 1, 'svc-c', '--pepper', $pepper_file,
      '--grants', 'password' ])
{
    my ($name, $want, @args) = @$case;
    my ($c, undef, $e) = $ctl->run('client', 'add', @args);
    is($c, $want, "add: $name: exit $want") or diag $e;
}
is_deeply(events(), [], 'no event for a refused add');
ok(!@{ $ctl->redis('KEYS', 'gw:client:svc-c') }, 'and no record');

# ---- show, list -------------------------------------------------------------------

($code, $out) = $ctl->run('client', 'show', 'svc-a', '--json');
my $j = JSON::PP::decode_json($out);
is($j->{secret}, JSON::PP::true(), 'show --json: secret: true');
unlike($out, qr/$r->{secret}/, 'but never its hash');
is($j->{scopes}, 'read write', 'the scopes');

($code, $out) = $ctl->run('client', 'show', 'svc-a');
like($out, qr/^secret\s+set$/m, 'show: secret set');
($code) = $ctl->run('client', 'show', 'nobody');
is($code, 2, 'show: an unknown client: exit 2');

($code, $out) = $ctl->run('client', 'list', '--limit', '2', '--json');
$j = JSON::PP::decode_json($out);
is_deeply([ map { $_->{id} } @{ $j->{clients} } ], [ 'svc-a', 'svc-b' ],
          'list: the first page');
is($j->{next}, 'svc-b', 'and the cursor');
($code, $out) = $ctl->run('client', 'list', '--cursor', 'svc-b');
like($out, qr/^svc-j\s+active\s+private_key_jwt$/m, 'the next page');

# ---- disable, enable ----------------------------------------------------------------

is($ctl->ok('client', 'disable', 'svc-a'), 'client svc-a disabled',
   'disable');
is(rec('svc-a')->{status}, 'disabled', 'status disabled');
is_deeply(events(), [ 'client svc-a' ], 'the event');
($code) = $ctl->run('client', 'disable', 'svc-a');
is($code, 2, 'disable again: exit 2');
is($ctl->ok('client', 'enable', 'svc-a'), 'client svc-a enabled', 'enable');
is(rec('svc-a')->{status}, 'active', 'status active');
events();

# ---- rotate-secret ---------------------------------------------------------------------

my $t0 = time;
($code, $out) = $ctl->run('client', 'rotate-secret', 'svc-a', '--pepper',
                          $pepper_file);
my ($new) = $out =~ /^client_secret: (\S+)$/m;
like($new, qr/^tgs_[A-Za-z0-9_-]{43}$/, 'rotate-secret: a new secret');
my $r2 = rec('svc-a');
is($r2->{secret}, hmac_sha256_hex($new, $pepper), 'stored by its hash');
is($r2->{secret_old}, $r->{secret}, 'the previous hash kept');
ok(abs($r2->{secret_old_until} - ($t0 + 86400)) < 5,
   'for the default grace, a day');
is_deeply(events(), [ 'client svc-a' ], 'the event');

$ctl->ok('client', 'rotate-secret', 'svc-a', '--pepper', $pepper_file,
         '--grace', '1h');
ok(abs(rec('svc-a')->{secret_old_until} - ($t0 + 3600)) < 5, '--grace 1h');
$ctl->ok('client', 'rotate-secret', 'svc-a', '--pepper', $pepper_file,
         '--grace', '0');
is(rec('svc-a')->{secret_old}, '', '--grace 0: no previous secret');
($code) = $ctl->run('client', 'rotate-secret', 'svc-a', '--pepper',
                    $pepper_file, '--grace', 'soon');
is($code, 1, 'a bad --grace: exit 1');
($code) = $ctl->run('client', 'rotate-secret', 'nobody', '--pepper',
                    $pepper_file);
is($code, 2, 'an unknown client: exit 2');
events();

# ---- set-key --------------------------------------------------------------------------

my $ec = public_jwk(key_file('ec256.pem'), kid => 'k1', alg => 'ES256');
spew("$tmp/ec.jwk", JSON::PP::encode_json($ec));
is($ctl->ok('client', 'set-key', 'svc-a', "$tmp/ec.jwk"),
   'client svc-a key set', 'set-key: a public EC JWK');
is_deeply(JSON::PP::decode_json(rec('svc-a')->{jwk}), $ec, 'stored');
is(rec('svc-a')->{auth}, 'client_secret_basic private_key_jwt',
   'private_key_jwt added to the methods');
is_deeply(events(), [ 'client svc-a' ], 'the event');

my %bad = (
    'a private EC JWK' => { %$ec, d => 'AAAA' },
    'a symmetric JWK' => { kty => 'oct', k => 'c2VjcmV0' x 6 },
    'an RSA key of 1024 bits' => public_jwk(key_file('rsa1024.pem')),
    'an alg of another key type' => { %$ec, alg => 'RS256' },
    'an unknown curve' => { %$ec, crv => 'P-192' },
);
for my $name (sort keys %bad) {
    spew("$tmp/bad.jwk", JSON::PP::encode_json($bad{$name}));
    my ($c, undef, $e) = $ctl->run('client', 'set-key', 'svc-a',
                                   "$tmp/bad.jwk");
    is($c, 1, "set-key: $name: exit 1") or diag $e;
}
spew("$tmp/bad.jwk", 'not json');
($code) = $ctl->run('client', 'set-key', 'svc-a', "$tmp/bad.jwk");
is($code, 1, 'set-key: not JSON: exit 1');
($code) = $ctl->run('client', 'set-key', 'nobody', "$tmp/ec.jwk");
is($code, 2, 'set-key: an unknown client: exit 2');
is_deeply(events(), [], 'no event for a refused change');

done_testing();
