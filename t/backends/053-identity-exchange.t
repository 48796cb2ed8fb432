# The identity service's token exchange (RFC 8693, docs/identity.md,
# "Token exchange"): subject tokens from external issuers (a fake OpenID
# provider: nginx serving discovery documents and key sets over HTTP and
# HTTPS, counted in its access log), checked under the gateway's rules;
# the target and the scope narrowing; the keys' cache (one fetch for an
# unknown kid, at most one per cooldown for a storm of bogus kids, stale
# keys while the provider is down, 503 when no keys were ever had); the
# discovery checks (issuer equal, jwks_uri on an allowed origin).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use Identity;
use IdP;
use Tollgate::Gwctl;
use Tollgate::JWT qw(jwt public_jwk key_file b64url b64url_decode slurp);
use Tollgate::Redis;

plan skip_all => Identity::binary() . ' is not built (run make backends)'
    unless -x Identity::binary();
plan skip_all => Tollgate::Gwctl::gwctl_binary() . ' is not built (make)'
    unless -x Tollgate::Gwctl::gwctl_binary();

my $TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
my $AT = 'urn:ietf:params:oauth:token-type:access_token';
my $AUD = 'tollgate-exchange';

my $redis = Tollgate::Redis->start;
my $idp = IdP->start;
my ($H, $S) = ($idp->http_port, $idp->https_port);
my $dead = Identity::free_port();

my $rsa = public_jwk(key_file('rsa.pem'), kid => 'k1', use => 'sig');
my $ec = public_jwk(key_file('ec256.pem'), kid => 'k2', use => 'sig');

my %iss = (
    good      => "http://127.0.0.1:$H/good",
    badiss    => "http://127.0.0.1:$H/badiss",
    otherhost => "http://127.0.0.1:$H/otherhost",
    tls       => "https://localhost:$S/tls",
    tlsbad    => "https://localhost:$S/tlsbad",
    direct    => 'https://direct.example/tenant/',
    down      => "http://127.0.0.1:$dead/down",
    redirect  => 'https://redirect.example',
    big       => 'https://big.example',
);

sub discovery {
    my ($name, %doc) = @_;
    (my $path = $iss{$name}) =~ s{^https?://[^/]+}{};
    $idp->put("$path/.well-known/openid-configuration",
              { issuer => $iss{$name},
                jwks_uri => "http://127.0.0.1:$H/keys/$name.json", %doc });
}

discovery('good');
discovery('badiss', issuer => "http://127.0.0.1:$H/someone-else");
discovery('otherhost', jwks_uri => "http://localhost:$H/keys/otherhost.json");
discovery('tls', jwks_uri => "https://localhost:$S/keys/tls.json");
discovery('tlsbad', jwks_uri => "https://localhost:$S/keys/tlsbad.json");
$idp->put("/keys/$_.json", { keys => [$rsa] })
    for qw(good badiss otherhost tls tlsbad direct);

my @entries = map {
    { name => $_, issuer => $iss{$_}, audiences => [$AUD],
      algorithms => ['RS256', 'ES256'] }
} sort keys %iss;
$_->{ca_file} = $idp->ca for grep { $_->{name} eq 'tls' } @entries;
$_->{jwks_uri} = "http://127.0.0.1:$H/keys/direct.json"
    for grep { $_->{name} eq 'direct' } @entries;
$_->{subject_prefix} = 'corp/' for grep { $_->{name} eq 'tls' } @entries;
$_->{jwks_uri} = "http://127.0.0.1:$H/redirect/keys.json"
    for grep { $_->{name} eq 'redirect' } @entries;
$_->{jwks_uri} = "http://127.0.0.1:$H/keys/big.json"
    for grep { $_->{name} eq 'big' } @entries;
# a key set over exchange_fetch_max (8k): white space is still JSON
$idp->put('/keys/big.json', '{"keys": [' . JSON::PP->new->encode($rsa)
          . (' ' x 9000) . ']}');

my $file = Identity::tmp() . '/issuers.json';
open my $fh, '>', $file or die "$file: $!";
print {$fh} JSON::PP->new->encode({ issuers => \@entries });
close $fh;

# the client that exchanges, and one whose tokens it is handed
my $gwctl = Tollgate::Gwctl->new($redis);
$ENV{TOLLGATE_IDENTITY_PEPPER_FILE} = Identity::secret_file('pepper', 32);

sub client_add {
    my ($id, @opt) = @_;
    my $out = $gwctl->ok('client', 'add', $id, @opt);
    my ($secret) = $out =~ /client_secret: (\S+)/;
    return { id => $id, secret => $secret };
}

my ($ORDERS, $BILLING, $PAYROLL) = map { "https://$_.example" }
                                   qw(orders billing payroll);
my $a = client_add('svc-a', '--scopes', 'read write delete',
                   '--audiences', "$ORDERS $BILLING",
                   '--default-audience', $ORDERS,
                   '--grants', "client_credentials $TE");
my $b = client_add('svc-b', '--scopes', 'read write admin',
                   '--audiences', 'https://svc-a.example',
                   '--grants', 'client_credentials');
my %client = %$a;

my $svc = Identity::start(
    redis => $redis->address,
    env => { EXCHANGE_ISSUERS => $file, EXCHANGE_REFRESH_COOLDOWN => 3600,
             EXCHANGE_KEYS_MIN_TTL => 600, EXCHANGE_FETCH_MAX => '8k' });

sub fetched {
    my ($name) = @_;
    return grep { ($_->{message} // '') =~ /keys fetched/
                  && ($_->{fields}{issuer} // '') eq $name }
           Identity::log_lines($svc);
}

# the start fetches every issuer's keys: wait for those that can work
my $deadline = time + 20;
sleep 0.1 while time < $deadline
    && !(fetched('good') && fetched('direct') && fetched('tls'));
ok(fetched('good') && fetched('direct') && fetched('tls'),
   'keys fetched at start over http and https (discovery and jwks_uri)');

sub ext_token {
    my (%o) = @_;
    my $now = time;
    my %claims = (iss => $iss{ $o{issuer} // 'good' }, sub => 'alice',
                  aud => $AUD, iat => $now, exp => $now + 300,
                  scope => 'read write admin', %{ $o{claims} || {} });
    delete @claims{ @{ $o{drop} || [] } };
    return jwt(alg => $o{alg} // 'RS256', kid => $o{kid} // 'k1',
               payload => \%claims,
               ($o{key} ? (key => $o{key}) : ()),
               ($o{header} ? (header => $o{header}) : ()),
               map { exists $o{$_} ? ($_ => $o{$_}) : () }
                   qw(sign secret signature));
}

sub exchange {
    my ($token, @more) = @_;
    my ($st, $body, $r) = Identity::form($svc, '/oauth2/token',
        [ grant_type => $TE, subject_token => $token,
          subject_token_type => $AT, @more ],
        auth => [ $client{id}, $client{secret} ]);
    return ($st, $body, $r);
}

# the new token's claims
sub claims {
    my ($body) = @_;
    my (undef, $p) = split /\./, $body->{access_token} // '';
    return JSON::PP::decode_json(b64url_decode($p // ''));
}

sub is_error {
    my ($got, $status, $error, $name) = @_;
    my ($st, $body) = @$got;
    is($st, $status, "$name: $status");
    is(ref $body ? $body->{error} : $body, $error, "$name: $error");
}

# --- an external token becomes ours ----------------------------------------

my ($st, $body) = exchange(ext_token(), audience => $BILLING,
                           scope => 'read');
is($st, 200, 'external token exchanged') or diag explain $body;
my $c = claims($body);
is($c->{sub}, 'good:alice', 'sub: the entry name as prefix');
is($c->{aud}, $BILLING, 'aud: the audience asked');
is($c->{client_id}, 'svc-a', 'client_id: the client that exchanged');
is($c->{iss}, $svc->{issuer}, 'iss: ours');
is($c->{scope}, 'read', 'scope: narrowed to the one asked');
is_deeply($c->{act}, { sub => 'svc-a' }, 'act names the client');
is($body->{issued_token_type} // $c->{issued_token_type}, $AT,
   'issued_token_type');

($st, $body) = exchange(ext_token());
is($st, 200, 'no scope, no audience');
$c = claims($body);
is($c->{scope}, 'read write', 'no scope asked: subject and client in common');
is($c->{aud}, $ORDERS, 'no audience asked: the default one');

($st, $body) = exchange(ext_token(), resource => $ORDERS,
                        resource => $BILLING);
is($st, 200, 'resources name the audiences too');
is_deeply(claims($body)->{aud}, [$ORDERS, $BILLING], '... both');

($st, $body) = exchange(ext_token(issuer => 'direct'));
is($st, 200, 'an issuer with a configured jwks_uri');

($st, $body) = exchange(ext_token(issuer => 'tls'));
is($st, 200, 'an issuer over https, its CA from ca_file');
is(claims($body)->{sub}, 'corp/alice', 'subject_prefix');

# --- one of our tokens for another audience ----------------------------------

sub cc_token {
    my ($cl, @more) = @_;
    my ($st, $body) = Identity::form($svc, '/oauth2/token',
        [ grant_type => 'client_credentials', @more ],
        auth => [ $cl->{id}, $cl->{secret} ]);
    diag explain $body unless $st == 200;
    return $body->{access_token};
}

sub header {
    my ($token) = @_;
    my ($h) = split /\./, $token;
    return JSON::PP::decode_json(b64url_decode($h));
}

my $ours = cc_token($b, scope => 'read write admin',
                    resource => 'https://svc-a.example');
($st, $body) = exchange($ours, audience => $BILLING, scope => 'read');
is($st, 200, 'our token exchanged') or diag explain $body;
$c = claims($body);
is($c->{sub}, 'svc-b', 'sub: the subject token\'s');
is($c->{client_id}, 'svc-a', 'client_id: the exchanging client');
is($c->{aud}, $BILLING, 'aud: the new audience');
is($c->{scope}, 'read', 'scope: narrowed');
is_deeply($c->{act}, { sub => 'svc-a' }, 'act: the client acts for svc-b');
is(header($body->{access_token})->{typ}, 'at+jwt', 'typ at+jwt');
is($body->{issued_token_type}, $AT, 'issued_token_type');
my $exchanged = $body->{access_token};

($st, $body) = exchange($ours);
is($st, 200, 'our token, no scope asked');
is(claims($body)->{scope}, 'read write',
   'the scopes both the subject token and the client have');

($st, $body) = exchange($exchanged, audience => $ORDERS);
is($st, 200, 'an exchanged token exchanged again');
is_deeply(claims($body)->{act}, { sub => 'svc-a', act => { sub => 'svc-a' } },
          '... act nests the prior actor');

($st, $body) = exchange(cc_token($a, scope => 'read'));
is($st, 200, 'the client\'s own token');
ok(!exists claims($body)->{act}, '... no act: nobody acts for another');

is_error([exchange($ours, scope => 'admin')], 400, 'invalid_scope',
         'ours: a scope the client lacks');
is_error([exchange($ours, scope => 'read delete')], 400, 'invalid_scope',
         'ours: a scope the subject token lacks');
is_error([exchange($ours, audience => $PAYROLL)], 400, 'invalid_target',
         'ours: an audience not allowed');

my $forged = jwt(alg => 'RS256', kid => header($ours)->{kid},
                 header => { typ => 'at+jwt' },
                 payload => { %{ claims({ access_token => $ours }) },
                              sub => 'root' });
is_error([exchange($forged)], 400, 'invalid_grant',
         'our issuer, our kid, another key');
my ($h, $p, $sig) = split /\./, $ours;
my %pl = %{ claims({ access_token => $ours }) };
$pl{scope} = 'read write admin delete';
is_error([exchange(join '.', $h, b64url(JSON::PP->new->canonical->encode(
                   \%pl)), $sig)], 400, 'invalid_grant',
         'ours with its payload changed');

# revoked as the revocation endpoint does it (docs/identity.md): the jti
# in gw:jwt:revoked and "jti <jti>" on gw:events; every instance knows
# within a second
my $jti = claims({ access_token => $ours })->{jti};
$redis->cli('ZADD', 'gw:jwt:revoked', time + 3600, $jti);
$redis->cli('PUBLISH', 'gw:events', "jti $jti");
my @got;
$deadline = time + 2;
do { @got = exchange($ours) } while ($got[0] == 200 && time < $deadline
                                     && sleep 0.1);
is_error(\@got, 400, 'invalid_grant', 'a revoked subject token');

# --- the request --------------------------------------------------------------

is_error([exchange(ext_token(), scope => 'admin')], 400, 'invalid_scope',
         'a scope the client lacks');
is_error([exchange(ext_token(), scope => 'delete')], 400, 'invalid_scope',
         'a scope the subject token lacks');
is_error([exchange(ext_token(claims => { scope => 'admin' }))], 400,
         'invalid_scope', 'nothing in common');
is_error([exchange(ext_token(), audience => $PAYROLL)], 400,
         'invalid_target', 'an audience not allowed');
is_error([exchange(ext_token(), audience => $ORDERS,
                   resource => $PAYROLL)], 400, 'invalid_target',
         'one resource of two not allowed');
is_error([exchange(ext_token(), actor_token => ext_token(),
                   actor_token_type => $AT)], 400, 'invalid_request',
         'actor_token refused');
is_error([exchange(ext_token(), requested_token_type =>
                   'urn:ietf:params:oauth:token-type:id_token')], 400,
         'invalid_request', 'requested_token_type other than access_token');
is_error([Identity::form($svc, '/oauth2/token',
          [ grant_type => $TE, subject_token => ext_token() ],
          auth => [ $client{id}, $client{secret} ])], 400,
         'invalid_request', 'no subject_token_type');

# --- unknown kid: one fetch, then the key is there -------------------------------

my $before = $idp->hits('/keys/good.json');
$idp->put('/keys/good.json', { keys => [$rsa, $ec] });
($st, $body) = exchange(ext_token(alg => 'ES256', kid => 'k2',
                                  key => key_file('ec256.key')));
is($st, 200, 'a new kid: the request waited for one fetch')
    or diag explain $body;
is($idp->hits('/keys/good.json') - $before, 1, 'exactly one fetch');

# --- the subject token ----------------------------------------------------------

is_error([exchange(ext_token(claims => { aud => 'someone-else' }))], 400,
         'invalid_grant', 'wrong aud');
is_error([exchange(ext_token(claims => { exp => time - 3600,
                                         iat => time - 7200 }))],
         400, 'invalid_grant', 'expired');
is_error([exchange(ext_token(drop => ['exp']))], 400, 'invalid_grant',
         'no exp');
is_error([exchange(ext_token(claims => { iss => 'https://nobody.example' }))],
         400, 'invalid_grant', 'an issuer not configured');
is_error([exchange(ext_token(alg => 'none', signature => ''))], 400,
         'invalid_grant', 'alg none');
is_error([exchange(ext_token(alg => 'HS256',
                             secret => slurp(key_file('rsa.pem'))))],
         400, 'invalid_grant', 'HS256 keyed with the public key');
is_error([exchange(ext_token(key => key_file('ec256.key'), alg => 'ES256',
                             kid => 'k1'))], 400, 'invalid_grant',
         'signed by another key under a known kid');
my $t = ext_token();
substr($t, -6, 3) = substr($t, -6, 3) eq 'AAA' ? 'BBB' : 'AAA';
is_error([exchange($t)], 400, 'invalid_grant', 'bad signature');

# --- 100 bogus kids: at most one fetch per cooldown ----------------------------------

$before = $idp->hits('/keys/direct.json');
my $refused = 0;
for my $i (1 .. 100) {
    my ($s, $b) = exchange(ext_token(issuer => 'direct', kid => "bogus-$i"));
    $refused++ if $s == 400 && ($b->{error} // '') eq 'invalid_grant';
}
is($refused, 100, '100 bogus kids refused with invalid_grant');
is($idp->hits('/keys/direct.json') - $before, 1,
   'one fetch for them all (the cooldown is an hour)');

my $before_good = $idp->hits('/keys/good.json');

# --- discovery rules ---------------------------------------------------------------

is_error([exchange(ext_token(issuer => 'badiss'))], 503,
         'temporarily_unavailable', 'discovery naming another issuer');
is($idp->hits('/keys/badiss.json'), 0, '... its jwks_uri never fetched');
is_error([exchange(ext_token(issuer => 'otherhost'))], 503,
         'temporarily_unavailable', 'jwks_uri on another host');
is($idp->hits('/keys/otherhost.json'), 0, '... never fetched');
is_error([exchange(ext_token(issuer => 'tlsbad'))], 503,
         'temporarily_unavailable', 'https without the CA: not trusted');
is($idp->hits('/keys/tlsbad.json'), 0, '... never fetched');

is_error([exchange(ext_token(issuer => 'redirect'))], 503,
         'temporarily_unavailable', 'a redirect is not followed');
is($idp->hits('/keys/good.json') - $before_good, 0, '... its target never '
   . 'fetched');
is_error([exchange(ext_token(issuer => 'big'))], 503,
         'temporarily_unavailable', 'a key set over exchange_fetch_max');

my @why = map { $_->{fields}{reason} // '' }
          grep { ($_->{message} // '') =~ /cannot be fetched/ }
          Identity::log_lines($svc);
ok((grep { /issuer is not the configured one/ } @why),
   'logged: the discovery issuer differs');
ok((grep { /origin not allowed/ } @why), 'logged: the jwks_uri origin');
ok((grep { /too large/ } @why), 'logged: the answer too large');

# --- the provider down ---------------------------------------------------------------

my ($s503, $b503, $r503) = exchange(ext_token(issuer => 'down'));
is_error([$s503, $b503], 503, 'temporarily_unavailable',
         'no keys ever obtained');
like($r503->{headers}{'retry-after'} // '', qr/^\d+$/, '... Retry-After');

$idp->stop;
($st, $body) = exchange(ext_token());
is($st, 200, 'provider down: the cached keys still verify');

my @errors = grep { ($_->{level} // '') =~ /^(error|fatal)/ }
             Identity::log_lines($svc);
is(scalar @errors, 0, 'nothing logged at error') or diag explain \@errors;

Identity::stop($svc);

done_testing;
