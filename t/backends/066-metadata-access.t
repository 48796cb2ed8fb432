# The metadata service's access and projection (metadata_access.c,
# metadata_project.c; docs/admin-api.md, "Access"):
#
# - the listen address: a TCP address that is not loopback is refused
#   (exit 2) unless listen_public = on; loopback and unix sockets start;
# - roles from the identity headers the gateway sets: admin:read reads
#   and gets 403 on a write, admin:write writes, no identity 401 (with a
#   challenge), a token without an admin scope 403, anonymous_role read;
#   an API key's consumer by its entity's tags (admin:write, admin:read,
#   none, unknown, disabled: at once, nothing cached);
# - duplicate, over-long or control-byte identity headers: 400, and the
#   log holds the value escaped and cut;
# - the actor in created_by / updated_by: X-Consumer-ID, else "sub:" and
#   the token's subject;
# - the projection: a consumer and a key made through the API are in
#   gw:consumer / gw:key with gwctl's fields and the "consumer <id>" /
#   "key <hash>" invalidations are published (a subscriber sees them); a
#   revoked key's record says revoked; a delete removes the record; the
#   key's secret is returned once (a GET has none) and hashes to its id;
#   a client's secret is stored as HMAC-SHA-256 under the pepper, and a
#   service without a pepper makes no client secret.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use IO::Select;
use IO::Socket::INET;
use Test::More;

use Identity;
use Metadata;
use Tollgate::Gwctl;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $redis = Tollgate::Redis->start;
my $pepper_file = Identity::secret_file('pepper', 32);
my $pepper = do { open my $f, '<:raw', $pepper_file or die; local $/; <$f> };

# ---- the listen address ------------------------------------------------------

{
    my ($out, $code) = Metadata::run({ LISTEN => '0.0.0.0:1',
                                       REDIS => $redis->address });
    is($code, 2, 'a public listen address: exit 2');
    like($out, qr/"level":"error".*not a loopback address.*listen_public/,
         'with a clear log line');
    ($out, $code) = Metadata::run({ LISTEN => '0.0.0.0:1',
                                    LISTEN_PUBLIC => 'on' }, '-t');
    is($code, 0, 'listen_public = on allows it') or diag $out;
    for my $addr ('127.0.0.2:1', 'localhost:1', '[::1]:1',
                  'unix:' . Metadata::tmp() . '/md.sock')
    {
        ($out, $code) = Metadata::run({ LISTEN => $addr }, '-t');
        is($code, 0, "$addr is fine") or diag $out;
    }
}

my $svc = Metadata::start(redis => $redis->address,
                          env => { IDENTITY_PEPPER_FILE => $pepper_file });

# a subscriber to gw:events, as the gateway's
my $sub = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                PeerPort => $redis->port, Proto => 'tcp')
    or die "subscriber: $!";
syswrite $sub, "SUBSCRIBE gw:events\r\n";
{ my $b = ''; sysread $sub, $b, 4096, length $b until $b =~ /:1\r\n/; }

sub events {
    my $buf = '';
    my $sel = IO::Select->new($sub);
    while ($sel->can_read(0.3)) {
        sysread($sub, $buf, 4096, length $buf) or last;
    }
    return [ $buf =~ /\$\d+\r\n((?:consumer|key|client) [^\r]*)\r\n/g ];
}

my $ctl = Tollgate::Gwctl->new($redis);

sub hgetall { return { @{ $ctl->redis('HGETALL', $_[0]) } } }

sub problem_type { ($_[0] // {})->{type} // '' }

# ---- roles from the token's scope -------------------------------------------

# the plans the consumers below name
for my $plan (qw(gold silver)) {
    my ($pst) = Metadata::call($svc, 'PUT', "/v1/plans/$plan",
                               { name => $plan }, 'If-None-Match' => '*');
    is($pst, 201, "plan $plan created");
}

my ($st, $j, $r) = Metadata::call($svc, 'PUT', '/v1/consumers/c1',
    { name => 'C one', tags => ['a', 'b'], plan => 'gold' },
    'If-None-Match' => '*');
is($st, 201, 'admin:write creates') or diag explain $j;
is($j->{created_by}, 'tester', 'created_by: the X-Consumer-ID');
my $etag = Metadata::etag($r);

($st, $j) = Metadata::call($svc, 'GET', '/v1/consumers/c1', undef,
                           as => 'read');
is($st, 200, 'admin:read reads');
($st, $j) = Metadata::call($svc, 'PUT', '/v1/consumers/c1', { name => 'x' },
                           as => 'read', 'If-Match' => $etag);
is($st, 403, 'admin:read cannot write: 403');
like(problem_type($j), qr/forbidden$/, 'a forbidden problem');
($st, $j) = Metadata::call($svc, 'DELETE', '/v1/consumers/c1', undef,
                           as => 'read', 'If-Match' => $etag);
is($st, 403, 'nor delete');

($st, $j, $r) = Metadata::call($svc, 'GET', '/v1/consumers/c1', undef,
                               as => undef);
is($st, 401, 'no identity: 401');
like(problem_type($j), qr/unauthorized$/, 'an unauthorized problem');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer realm="admin"$/,
     'with a challenge');
like($r->{headers}{'content-type'}, qr{^application/problem\+json},
     'problem+json');

($st, $j) = Metadata::call($svc, 'GET', '/v1/consumers/c1', undef,
    as => undef, 'X-Consumer-Scope' => 'orders.read admin:readx',
    'X-Consumer-Subject' => 'svc-1');
is($st, 403, 'a token without an admin scope: 403');

($st, $j) = Metadata::call($svc, 'GET', '/v1/consumers/c1', undef,
    as => undef, 'X-Consumer-Subject' => 'svc-1');
is($st, 403, 'a subject alone: 403');

($st, $j) = Metadata::call($svc, 'PUT', '/v1/consumers/c2', { name => 'Two' },
    as => undef, 'X-Consumer-Scope' => 'openid admin:read admin:write',
    'X-Consumer-Subject' => 'ops-client', 'If-None-Match' => '*');
is($st, 201, 'admin:write among other scopes writes');
is($j->{created_by}, 'sub:ops-client', 'the actor: sub: and the subject');
is($j->{updated_by}, 'sub:ops-client', 'updated_by too');

# ---- refused identity headers -----------------------------------------------

($st, $j) = Metadata::raw($svc, 'GET', '/v1/consumers/c1', undef,
    'X-Consumer-Scope' => ['admin:read', 'admin:write']);
is($st, 400, 'two X-Consumer-Scope headers: 400, no guess');
like($j->{detail} // '', qr/more than once/, 'says why');
($st) = Metadata::raw($svc, 'GET', '/v1/consumers/c1', undef,
    'X-Consumer-Scope' => 'admin:write', 'X-Consumer-ID' => ['a', 'b']);
is($st, 400, 'two X-Consumer-ID headers: 400');

# HTTP::Tiny refuses to send control bytes: a raw request
sub raw_get {
    my ($path, @headers) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $svc->{port}, Proto => 'tcp')
        or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
             . join('', map { "$_\r\n" } @headers)
             . "Connection: close\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    return $resp =~ m{^HTTP/1\.\d (\d+)} ? $1 : 0;
}

is(raw_get('/v1/consumers/c1', 'X-Consumer-Scope: admin:write',
           "X-Consumer-Subject: evil\x01\x7f\"}{\x1b[31m"), 400,
   'control bytes in the subject: 400');
($st) = Metadata::raw($svc, 'GET', '/v1/consumers/c1', undef,
    'X-Consumer-Scope' => 'admin:write', 'X-Consumer-ID' => 'a:b');
is($st, 400, 'an X-Consumer-ID that is no id: 400');
($st) = Metadata::raw($svc, 'GET', '/v1/consumers/c1', undef,
    'X-Consumer-Scope' => 'admin:write ' . ('x' x 5000));
is($st, 400, 'an over-long scope: 400');
($st) = Metadata::raw($svc, 'GET', '/v1/consumers/c1', undef,
    'X-Consumer-Scope' => 'admin:write', 'X-Consumer-Subject' => 'y' x 300);
is($st, 400, 'an over-long subject: 400');

{
    my $log = Metadata::slurp($svc->{log});
    unlike($log, qr/[\x00-\x09\x0b-\x1f\x7f]/, 'no control byte in the log');
    my @refused = grep { ($_->{message} // '') eq 'identity header refused' }
                  Metadata::log_lines($svc);
    is(scalar @refused, 6, 'each refusal logged');
    ok(!(grep { length($_->{fields}{value} // '') > 64 * 4 } @refused),
       'values cut');
    like($log, qr/"value":"evil\\u0001\\u007f\\"\}\{\\u001[bB]\[31m"/,
         'the subject logged escaped');
    is(scalar(grep { $_->{level} eq 'info' } @refused), 6, 'at info');
    is_deeply([ sort map { $_->{fields}{header} } @refused ],
              [ ('X-Consumer-ID') x 2, ('X-Consumer-Scope') x 2,
                ('X-Consumer-Subject') x 2 ], 'naming the header');
}

# ---- an API key's consumer: its entity's tags ------------------------------

for ([ops => ['admin:write']], [viewer => ['x', 'admin:read']],
     [plain => ['other']])
{
    ($st, $j) = Metadata::call($svc, 'PUT', "/v1/consumers/$_->[0]",
        { name => $_->[0], tags => $_->[1] }, 'If-None-Match' => '*');
    is($st, 201, "consumer $_->[0]") or diag explain $j;
}

sub as_key {
    my ($who, $method, $path, $body, %h) = @_;
    return Metadata::call($svc, $method, $path, $body, as => undef,
                          'X-Consumer-ID' => $who, %h);
}

($st, $j, $r) = as_key('ops', 'PUT', '/v1/consumers/k1', { name => 'K' },
                       'If-None-Match' => '*');
is($st, 201, 'a consumer tagged admin:write writes');
is($j->{created_by}, 'ops', 'as itself');
($st) = as_key('viewer', 'GET', '/v1/consumers/k1');
is($st, 200, 'admin:read reads');
($st, $j) = as_key('viewer', 'PATCH', '/v1/consumers/k1', { name => 'V' },
    'Content-Type' => 'application/merge-patch+json',
    'If-Match' => Metadata::etag($r));
is($st, 403, 'and cannot write');
($st) = as_key('plain', 'GET', '/v1/consumers/k1');
is($st, 403, 'no admin tag: 403');
($st) = as_key('nobody', 'GET', '/v1/consumers/k1');
is($st, 403, 'no such consumer: 403');

($st, $j, $r) = Metadata::call($svc, 'GET', '/v1/consumers/ops');
($st, $j) = Metadata::call($svc, 'PATCH', '/v1/consumers/ops',
    { status => 'disabled' },
    'Content-Type' => 'application/merge-patch+json',
    'If-Match' => Metadata::etag($r));
is($st, 200, 'ops disabled') or diag explain $j;
($st) = as_key('ops', 'GET', '/v1/consumers/k1');
is($st, 403, 'a disabled consumer has no role, at once');

{
    my $anon = Metadata::start(redis => $redis->address,
                               env => { ANONYMOUS_ROLE => 'read' });
    ($st, $j) = Metadata::call($anon, 'GET', '/v1/consumers/c1', undef,
                               as => undef);
    is($st, 200, 'anonymous_role read: reads without identity');
    ($st, $j) = Metadata::call($anon, 'PUT', '/v1/consumers/c9',
        { name => 'n' }, as => undef, 'If-None-Match' => '*');
    is($st, 401, 'and writes get 401');
    Metadata::stop($anon);
}

# ---- the projection ---------------------------------------------------------

events();   # what came so far

($st, $j) = Metadata::call($svc, 'PUT', '/v1/consumers/p1',
    { name => 'Partner', tags => ['x', 'y'], plan => 'silver' },
    'If-None-Match' => '*');
is($st, 201, 'consumer p1 created');
my $c = hgetall('gw:consumer:p1');
is_deeply([ @$c{qw(id name status tags plan)} ],
          [ 'p1', 'Partner', 'active', 'x,y', 'silver' ],
          'gw:consumer:p1 as gwctl writes it');
like($c->{created}, qr/^\d{10}$/, 'created: seconds');
is($redis->cli('ZSCORE', 'gw:consumers', 'p1'), '0', 'in gw:consumers');
is_deeply(events(), ['consumer p1'], 'the invalidation published');

($st, $j, $r) = Metadata::call($svc, 'POST', '/v1/keys',
    { consumer => 'p1', expires => 4102444800 });
is($st, 201, 'a key created') or diag explain $j;
my $secret = $j->{secret} // '';
my $hash = $j->{id} // '';
like($secret, qr/^tg_[A-Za-z0-9_-]{43}$/, 'its secret, as gwctl makes keys');
is($hash, sha256_hex($secret), 'the id: its SHA-256 hex');
is($j->{prefix}, substr($secret, 0, 8), 'prefix set');
my $k = hgetall("gw:key:$hash");
is_deeply([ @$k{qw(consumer status expires prefix)} ],
          [ 'p1', 'active', '4102444800', substr($secret, 0, 8) ],
          'gw:key:<hash> as gwctl writes it');
ok(!exists $k->{revoked}, 'not revoked');
ok(defined $redis->cli('ZSCORE', 'gw:consumer:p1:keys', $hash)
   && $redis->cli('ZSCORE', 'gw:consumer:p1:keys', $hash) eq $k->{created},
   'in the consumer\'s keys, scored by creation');
is_deeply(events(), ["key $hash"], 'the key invalidation published');

($st, $j, $r) = Metadata::call($svc, 'GET', "/v1/keys/$hash");
is($st, 200, 'the key reads back');
ok(!exists $j->{secret}, 'without its secret');
{
    my $all = $redis->cli('--scan') . "\n"
              . join "\n", map { $redis->cli('HGETALL', $_) }
                           split /\n/, $redis->cli('KEYS', 'gw:md:e:*');
    unlike($all . $redis->cli('XRANGE', 'gw:md:log', '-', '+')
           . $redis->cli('XRANGE', 'gw:audit', '-', '+')
           . Metadata::slurp($svc->{log}), qr/\Q$secret\E/,
           'the secret is nowhere: entities, log, audit, service log');
}

($st, $j) = Metadata::call($svc, 'PATCH', "/v1/keys/$hash",
    { status => 'revoked' },
    'Content-Type' => 'application/merge-patch+json',
    'If-Match' => Metadata::etag($r));
is($st, 200, 'the key revoked') or diag explain $j;
$k = hgetall("gw:key:$hash");
is($k->{status}, 'revoked', 'gw:key says revoked');
like($k->{revoked} // '', qr/^\d{10}$/, 'with the time');
is_deeply(events(), ["key $hash"], 'and published');

($st, $j, $r) = Metadata::call($svc, 'GET', '/v1/consumers/p1');
($st) = Metadata::call($svc, 'PATCH', '/v1/consumers/p1',
    { status => 'disabled', plan => undef },
    'Content-Type' => 'application/merge-patch+json',
    'If-Match' => Metadata::etag($r));
is($st, 200, 'p1 disabled, plan removed');
$c = hgetall('gw:consumer:p1');
is_deeply([ @$c{qw(status plan)} ], [ 'disabled', '' ], 'the record follows');
is_deeply(events(), ['consumer p1'], 'published');

($st, $j, $r) = Metadata::call($svc, 'GET', "/v1/keys/$hash");
($st) = Metadata::call($svc, 'DELETE', "/v1/keys/$hash", undef,
                       'If-Match' => Metadata::etag($r));
is($st, 204, 'the key deleted');
is($redis->cli('EXISTS', "gw:key:$hash"), '0', 'its record removed');
is($redis->cli('ZSCORE', 'gw:consumer:p1:keys', $hash), '',
   'and its index entry');
is_deeply(events(), ["key $hash"], 'published');

# ---- clients -----------------------------------------------------------------

($st, $j) = Metadata::call($svc, 'POST', '/v1/clients',
    { id => 'svc-b', name => 'Service B', scopes => ['read', 'write'],
      default_scopes => ['read'], audiences => ['https://b.test'],
      default_audience => 'https://b.test' });
is($st, 201, 'a client created') or diag explain $j;
my $csecret = $j->{secret} // '';
like($csecret, qr/^tgs_[A-Za-z0-9_-]{43}$/, 'its secret, as gwctl makes them');
is($j->{secret_hash}, hmac_sha256_hex($csecret, $pepper),
   'the entity holds its HMAC under the pepper');
my $cl = hgetall('gw:client:svc-b');
is_deeply([ @$cl{qw(id name status secret scopes default_scopes audiences
                    default_audience)} ],
          [ 'svc-b', 'Service B', 'active', hmac_sha256_hex($csecret, $pepper),
            'read write', 'read', 'https://b.test', 'https://b.test' ],
          'gw:client as gwctl writes it');
is($redis->cli('ZSCORE', 'gw:clients', 'svc-b'), '0', 'in gw:clients');
is_deeply(events(), ['client svc-b'], 'published');
($st, $j) = Metadata::call($svc, 'GET', '/v1/clients/svc-b');
ok(!exists $j->{secret}, 'a GET has no secret');

{
    my $nopep = Metadata::start(redis => $redis->address);
    ($st, $j) = Metadata::call($nopep, 'POST', '/v1/clients',
                               { id => 'svc-c', name => 'C' });
    is($st, 409, 'no pepper: the client is refused with a 409');
    is(problem_type($j), 'urn:tollgate:problem:conflict', 'a conflict');
    like($j->{detail} // '', qr/identity_pepper_file/, 'saying why');
    is_deeply([ grep { $_->{level} eq 'error' } Metadata::log_lines($nopep) ],
              [], 'not logged as the service\'s fault');
    is($redis->cli('EXISTS', 'gw:client:svc-c'), '0', 'nothing written');
    Metadata::stop($nopep);
}

($st, $j) = Metadata::call($svc, 'POST', '/v1/clients',
    { id => 'svc-jwt', auth => ['private_key_jwt'],
      jwk => { kty => 'OKP', crv => 'Ed25519',
               x => '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } });
is($st, 201, 'a private_key_jwt client') or diag explain $j;
ok(!defined $j->{secret}, 'gets no secret');
$cl = hgetall('gw:client:svc-jwt');
is($cl->{secret}, '', 'none stored');
like($cl->{jwk}, qr/^\{.*"kty":"OKP".*\}$/, 'its JWK as JSON text');
is($cl->{auth}, 'private_key_jwt', 'its methods');

# ---- no error ---------------------------------------------------------------

is_deeply([ map { $_->{message} } grep { $_->{level} eq 'error' }
            Metadata::log_lines($svc) ], [],
          'the service logged nothing at error');

Metadata::stop($svc);
done_testing();
